/**
 * The offline search engine (`offline-search-index`): a small built-in index of short
 * entries on nature, science and history topics for children's non-fiction, ranked by a
 * deterministic term-overlap score. It is what `npm start` searches with, and what the local
 * DuckDuckGo server (src/local/duckduckgo-server.ts) serves in DuckDuckGo's formats.
 *
 * Every URL is on `offline-index.story42.invalid` (the reserved `.invalid` TLD): these are
 * not real pages, and the engine's name says so in every answer.
 */
import type { SearchAnswer, SearchResult, WebSearch, WebSearchOptions } from '../core/ports';
import { boundResults, normaliseQuery, resultLimit } from '../core/search-results';

export const OFFLINE_SEARCH_ENGINE = 'offline-search-index';
export const OFFLINE_INDEX_HOST = 'offline-index.story42.invalid';

const entry = (slug: string, title: string, snippet: string): SearchResult => ({ title, url: `https://${OFFLINE_INDEX_HOST}/${slug}`, snippet });

/** The index, in a fixed order (ties in the ranking keep this order). */
export const OFFLINE_INDEX: readonly SearchResult[] = [
  entry('bees/how-bees-make-honey', 'How honey bees make honey', 'Forager bees sip nectar from flowers and carry it home in a honey stomach. In the hive, house bees pass the nectar from bee to bee, adding enzymes, then spread it in wax cells and fan it with their wings until most of the water evaporates and it becomes honey.'),
  entry('bees/life-in-the-hive', 'Life inside a beehive', 'A hive holds one queen, thousands of female worker bees and a few hundred male drones. Workers change jobs as they age: cleaning cells, feeding larvae, building wax comb, guarding the entrance and finally foraging for nectar and pollen.'),
  entry('bees/waggle-dance', 'The waggle dance: how bees share directions', 'A forager that finds good flowers dances on the comb. The angle of her waggle run shows the direction to the flowers compared with the sun, and the length of the run tells the other bees how far away they are.'),
  entry('bees/pollination', 'Bees and pollination', 'As bees move from flower to flower collecting nectar, pollen sticks to their hairy bodies and rubs off on the next flower. This pollination helps plants make seeds and fruit, including apples, almonds and blueberries.'),
  entry('bees/beeswax-and-comb', 'Beeswax and the honeycomb', 'Young worker bees make wax flakes from glands on their bellies and chew them into six-sided cells. The hexagon shape holds the most honey with the least wax, and the same cells are used to raise baby bees.'),
  entry('volcanoes/how-volcanoes-erupt', 'How volcanoes erupt', 'Deep underground, rock melts into magma. Because magma is lighter than the solid rock around it, it rises and collects in a magma chamber. When pressure from gas bubbles builds up, the magma bursts out through a vent as lava, ash and gas.'),
  entry('volcanoes/types-of-volcanoes', 'Shield, cinder cone and composite volcanoes', 'Shield volcanoes like Mauna Loa have gentle slopes built from runny lava. Cinder cones are small, steep hills of loose rock. Composite volcanoes such as Mount Fuji are tall cones made of layers of lava and ash.'),
  entry('volcanoes/ring-of-fire', 'The Ring of Fire', 'About three quarters of the world\'s active volcanoes sit around the edge of the Pacific Ocean, in a horseshoe called the Ring of Fire, where the plates of the Earth\'s crust push against each other.'),
  entry('volcanoes/pompeii', 'Pompeii and Mount Vesuvius', 'In the year 79, Mount Vesuvius erupted and buried the Roman town of Pompeii under ash. The ash preserved streets, bakeries and paintings, so archaeologists can see how people lived almost two thousand years ago.'),
  entry('space/the-moon', 'Our Moon', 'The Moon is Earth\'s only natural satellite. It has no air and no liquid water, and its surface is covered with craters and fine grey dust. The same side of the Moon always faces Earth as it travels around us about once a month.'),
  entry('space/moon-phases', 'Why the Moon has phases', 'The Moon does not make its own light; it reflects sunlight. As it travels around Earth we see different amounts of its sunlit half, so it seems to change from new moon to crescent, half moon, gibbous and full moon and back again.'),
  entry('space/apollo-11', 'Apollo 11: the first people on the Moon', 'On 20 July 1969, astronauts Neil Armstrong and Buzz Aldrin landed on the Moon in the lunar module Eagle while Michael Collins orbited above. Armstrong was the first person to step onto the lunar surface.'),
  entry('space/solar-system', 'The Solar System', 'Eight planets travel around the Sun: Mercury, Venus, Earth and Mars are small and rocky, while Jupiter, Saturn, Uranus and Neptune are giant planets made mostly of gas and ice. Dwarf planets, moons, asteroids and comets orbit the Sun too.'),
  entry('space/the-sun', 'The Sun, our star', 'The Sun is a star, a huge ball of hot gas. In its core, hydrogen fuses into helium and releases energy that reaches Earth as light and heat about eight minutes later. Without the Sun there would be no plants, weather or life on Earth.'),
  entry('space/stars-and-constellations', 'Stars and constellations', 'Stars are suns so far away that they look like points of light. Long ago, people joined bright stars into pictures called constellations, such as Orion the hunter and the Great Bear, and used them to find their way at night.'),
  entry('dinosaurs/what-were-dinosaurs', 'What were dinosaurs?', 'Dinosaurs were reptiles that lived on land for more than 160 million years, from about 230 to 66 million years ago. Some were as small as chickens and others, like Argentinosaurus, were longer than three buses.'),
  entry('dinosaurs/fossils', 'How dinosaur fossils form', 'When a dinosaur died near water, mud and sand could cover its bones. Over millions of years, minerals slowly replaced the bone and turned it into stone. Scientists called paleontologists dig up these fossils and study them.'),
  entry('dinosaurs/tyrannosaurus-rex', 'Tyrannosaurus rex', 'Tyrannosaurus rex was one of the largest meat-eating dinosaurs. It walked on two strong legs, had tiny two-fingered arms and a huge head with teeth as long as bananas. It lived in North America about 66 million years ago.'),
  entry('dinosaurs/extinction', 'Why the dinosaurs died out', 'About 66 million years ago an asteroid around ten kilometres wide hit Earth near what is now Mexico. Dust and smoke darkened the sky and the climate changed, and most dinosaurs died out. Birds are the dinosaurs that survived.'),
  entry('dinosaurs/feathered-dinosaurs', 'Feathered dinosaurs and birds', 'Many dinosaurs, such as Velociraptor, had feathers. Fossils from China show feathers on dinosaurs that could not fly, which tells scientists that birds evolved from small meat-eating dinosaurs.'),
  entry('rainforests/layers', 'The layers of the rainforest', 'A tropical rainforest has four layers: the emergent layer of the tallest trees, the thick canopy where most animals live, the dim understory, and the forest floor, where fallen leaves rot quickly in the warm, wet air.'),
  entry('rainforests/animals', 'Rainforest animals', 'More kinds of animals live in rainforests than anywhere else on land: jaguars, sloths, toucans, poison dart frogs, orangutans and millions of insects. Many never touch the ground and spend their whole lives in the canopy.'),
  entry('rainforests/amazon', 'The Amazon rainforest', 'The Amazon is the largest tropical rainforest on Earth. It covers parts of nine countries in South America, and the Amazon River that flows through it carries more water than any other river in the world.'),
  entry('rainforests/why-they-matter', 'Why rainforests matter', 'Rainforest trees take in carbon dioxide and give out oxygen, make rain clouds and shelter about half of the world\'s plant and animal species. Many medicines first came from rainforest plants.'),
  entry('water/the-water-cycle', 'The water cycle', 'The Sun warms water in oceans, lakes and rivers and it evaporates into water vapour. High in the sky the vapour cools and condenses into clouds. When the droplets grow heavy they fall as rain or snow, and the water flows back to the sea.'),
  entry('water/clouds', 'How clouds form', 'Clouds are made of billions of tiny water droplets or ice crystals. They form when warm, moist air rises and cools, and the water vapour condenses on specks of dust. Fluffy cumulus, wispy cirrus and grey stratus are common kinds.'),
  entry('water/rivers', 'How rivers shape the land', 'Rivers begin as springs, melting snow or rain on high ground. As they flow downhill they carve valleys, carry sand and pebbles, and drop them where the water slows down, building deltas where the river meets the sea.'),
  entry('oceans/coral-reefs', 'Coral reefs', 'Coral reefs are built by tiny animals called coral polyps that make hard skeletons of limestone. Reefs grow in warm, clear, shallow seas and are home to a quarter of all ocean fish, even though they cover a tiny part of the sea floor.'),
  entry('oceans/whales', 'Whales, the giants of the ocean', 'Whales are mammals: they breathe air through a blowhole and feed their babies milk. The blue whale is the largest animal that has ever lived, longer than a basketball court, yet it eats tiny shrimp-like animals called krill.'),
  entry('oceans/tides', 'What makes the tides', 'The Moon\'s gravity pulls on Earth\'s oceans, making the water bulge toward it. As Earth spins, coasts pass through these bulges, so most beaches have two high tides and two low tides every day.'),
  entry('animals/butterfly-life-cycle', 'The life cycle of a butterfly', 'A butterfly starts as a tiny egg on a leaf. A caterpillar hatches and eats until it is ready to form a chrysalis. Inside, its body is rebuilt, and after a few weeks an adult butterfly with wings climbs out.'),
  entry('animals/frog-life-cycle', 'From tadpole to frog', 'Frogs lay jelly-covered eggs in water. Tadpoles hatch with tails and gills, then slowly grow legs, lose their tails and develop lungs, until they can hop out onto land as young frogs.'),
  entry('animals/migration', 'Animal migration', 'Some animals travel huge distances every year to find food or a place to raise their young. Arctic terns fly from the Arctic to the Antarctic and back, monarch butterflies fly to Mexico, and wildebeest cross the Serengeti.'),
  entry('animals/penguins', 'Penguins', 'Penguins are birds that cannot fly but are excellent swimmers. Emperor penguins live in Antarctica, where fathers keep the egg warm on their feet for about two months through the dark, freezing winter.'),
  entry('plants/photosynthesis', 'How plants make food', 'Plants make their own food by photosynthesis. Their green leaves use sunlight to turn water from the soil and carbon dioxide from the air into sugar, and they release oxygen that animals and people breathe.'),
  entry('plants/seeds', 'How seeds travel and grow', 'Seeds travel on the wind like dandelion parachutes, float on water like coconuts, or hitch rides in animal fur. When a seed lands in soil with enough water and warmth it germinates, sending a root down and a shoot up.'),
  entry('earth/earthquakes', 'Earthquakes', 'The Earth\'s crust is broken into huge plates that slowly move. When plates get stuck and then suddenly slip, the ground shakes in an earthquake. Scientists measure earthquakes with instruments called seismometers.'),
  entry('earth/rocks-and-minerals', 'Rocks and the rock cycle', 'Igneous rock forms when lava or magma cools, sedimentary rock forms from layers of sand and mud pressed together, and metamorphic rock forms when heat and pressure change other rocks. Over millions of years rocks change from one kind to another.'),
  entry('weather/rainbows', 'How rainbows form', 'A rainbow appears when sunlight shines through raindrops. Each drop bends the light and splits it into colours: red, orange, yellow, green, blue, indigo and violet. You see a rainbow when the Sun is behind you and rain is in front.'),
  entry('weather/thunderstorms', 'Thunder and lightning', 'In a storm cloud, ice and water collide and build up electric charges. Lightning is a giant spark that heats the air so fast that it explodes outward, and that sound is thunder. Light travels faster than sound, so we see lightning first.'),
  entry('history/ancient-egypt-pyramids', 'The pyramids of ancient Egypt', 'The ancient Egyptians built pyramids as tombs for their kings, the pharaohs. The Great Pyramid of Giza, built about 4,500 years ago, was made from more than two million stone blocks and was the tallest building in the world for thousands of years.'),
  entry('history/mummies', 'Egyptian mummies', 'Ancient Egyptians believed the body was needed in the afterlife. Priests dried bodies with a salt called natron, wrapped them in linen bandages and placed them in decorated coffins with food, jewellery and tools.'),
  entry('history/romans', 'Life in ancient Rome', 'Ancient Romans built roads, bridges, aqueducts that carried water to cities, and huge arenas like the Colosseum. Roman children learned to write on wax tablets, and many words we use today come from their language, Latin.'),
  entry('history/vikings', 'The Vikings', 'The Vikings came from Scandinavia more than a thousand years ago. They sailed long wooden ships across the seas to trade, raid and settle, reaching Britain, Iceland, Greenland and even North America.'),
  entry('history/castles', 'Medieval castles', 'Castles were built in the Middle Ages to protect lords and their people. Thick stone walls, towers, a moat and a drawbridge kept attackers out, and the great hall was where everyone ate and celebrated.'),
  entry('history/wright-brothers', 'The Wright brothers and the first aeroplane', 'On 17 December 1903, Orville and Wilbur Wright flew the first powered aeroplane at Kitty Hawk in North Carolina. The first flight lasted only twelve seconds, but it changed how people travel around the world.'),
  entry('science/magnets', 'Magnets', 'A magnet pulls on iron and steel. Every magnet has a north pole and a south pole: opposite poles attract and matching poles push apart. The Earth itself is a giant magnet, which is why a compass needle points north.'),
  entry('science/electricity', 'Electricity', 'Electricity is the flow of tiny charged particles called electrons. It travels along wires made of metal in a loop called a circuit. Power stations make electricity from wind, sunlight, water, or burning fuel.'),
  entry('body/the-heart', 'The human heart', 'The heart is a muscle about the size of your fist. It beats around 100,000 times a day, pumping blood through blood vessels to carry oxygen and food to every part of the body.'),
  entry('body/teeth', 'Teeth', 'Children have 20 baby teeth that fall out and are replaced by up to 32 adult teeth. Sharp incisors bite, pointed canines tear, and flat molars grind food. Brushing removes the sugary film that causes holes called cavities.'),
];

const STOP_WORDS = new Set(
  'a an and are as at be by can do does for from how i in is it its me of on or the their there these this to was were what when where which who why will with you your about make makes made tell facts fact kids children child story stories grade'.split(' '),
);

/** Lower-case word stems: non-letters split words, stop words dropped, a plural `s`/`es` removed. */
export function searchTerms(text: string): string[] {
  const words = text.toLowerCase().normalize('NFKD').replace(/\p{M}/gu, '').split(/[^\p{L}\p{N}]+/u);
  const terms: string[] = [];
  for (const word of words) {
    if (word.length < 2 || STOP_WORDS.has(word)) continue;
    terms.push(stem(word));
  }
  return terms;
}

function stem(word: string): string {
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 4 && /(?:ches|shes|xes|sses|oes)$/.test(word)) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

interface Indexed {
  entry: SearchResult;
  title: ReadonlySet<string>;
  snippet: ReadonlySet<string>;
  path: ReadonlySet<string>;
}

const INDEXED: readonly Indexed[] = OFFLINE_INDEX.map((e) => ({
  entry: e,
  title: new Set(searchTerms(e.title)),
  snippet: new Set(searchTerms(e.snippet)),
  path: new Set(searchTerms(new URL(e.url).pathname)),
}));

/**
 * The entries that share at least one term with the query, best first. Each distinct query
 * term scores 3 in the title, 2 in the URL path (the topic), 1 in the snippet; ties keep
 * the index's order. The same query always ranks the same way.
 */
export function rankOffline(query: string, limit: number = 10): SearchResult[] {
  const terms = [...new Set(searchTerms(query))];
  if (terms.length === 0) return [];
  const scored: Array<{ score: number; order: number; entry: SearchResult }> = [];
  INDEXED.forEach((item, order) => {
    let score = 0;
    for (const t of terms) score += (item.title.has(t) ? 3 : 0) + (item.path.has(t) ? 2 : 0) + (item.snippet.has(t) ? 1 : 0);
    if (score > 0) scored.push({ score, order, entry: item.entry });
  });
  scored.sort((a, b) => b.score - a.score || a.order - b.order);
  return scored.slice(0, resultLimit(limit)).map((s) => s.entry);
}

/** `WebSearch` over the built-in index: always available, never cached, named `offline-search-index`. */
export class OfflineSearchIndex implements WebSearch {
  readonly engine = OFFLINE_SEARCH_ENGINE;

  async search(query: string, opts: WebSearchOptions = {}): Promise<SearchAnswer> {
    opts.signal?.throwIfAborted();
    const q = normaliseQuery(query);
    if (!q) return { status: 'unavailable', reason: 'empty query', engine: this.engine };
    return { status: 'ok', results: boundResults(rankOffline(q, resultLimit(opts.limit)), opts.limit), engine: this.engine, cached: false };
  }
}
