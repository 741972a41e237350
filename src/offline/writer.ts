/**
 * The offline story writer: a rule-following text engine that needs no model and no network.
 *
 * It reads the request the way a writer would: the characters, places and things the idea names
 * (`./names`), the genre (each genre has its own sentence banks, so no template sentence is
 * shared between genres), the tone (its own words and asides) and the reading level (short
 * sentences and plain words for early readers; longer sentences, openers and richer words for
 * older ones). It obeys every structure rule of the spec, never repeats a sentence within a
 * story, lets every speaker of the outline speak, and regenerates a segment the way the user
 * asks ("make Lina braver", "let Ember say this instead", "add falling snow", "shorter").
 *
 * Deterministic for a given seed (the job id). Every pass over the request's text is linear:
 * the text is split into words once (`tokenize`), names are found with a rolling hash
 * (`findMentions`), and no regular expression is built from user text except through
 * `src/core/regex.ts`.
 */
import type { TextCall, TextModel, TextOutput } from '../core/ports';
import type { TextTask } from '../core/prompts';
import { wholeWordPattern } from '../core/regex';
import { NARRATOR, STORY_PARTS, type OutlineRequest, type SegmentRequest, type StoryRequest, type TopicsRequest } from '../core/schemas';
import { AUDIO_WORDS_BAND, countWords, type StoryShape } from '../core/shape';
import { findMentions, isPersonRole, isTitle, namesIn, readIdea, shortName, splitSentences, tokenize, topicOf, type PlaceMention, type Token } from './names';
import { hashString, Random } from './random';

/** Characters per streamed piece of the offline writer's output. */
const DELTA_CHARS = 48;

const NARRATOR_WORD = /\bnarrator\b/i;
/** No text the writer returns names the narrator (the normaliser rejects it); whitespace collapsed. */
const clean = (s: string): string => s.replace(/\bnarrator\b/gi, 'storyteller').replace(/\s+/g, ' ').trim();

// ---------------------------------------------------------------------------------------
// What the writer knows: genres, tones, reading levels

type Part = 0 | 1 | 2;
type Tier = 0 | 1 | 2 | 3;
type Three<T> = readonly [T, T, T];

/**
 * Everything one genre writes with. Templates fill slots in braces and keep text in [brackets]
 * only above the earliest reading level. Every sentence a story contains comes from its own
 * genre's kit, so no template sentence is shared between two genres.
 *
 * Slots: {hero} {pal} (the first two characters), {x} {y} (two different characters, {x} the
 * section's focus), {voc} (who a line is spoken to), {cast} (every character, with what they
 * are), {place} {atPlace} {dest} {atDest}, {quest} ("the lost star") {aQuest} ("a lost star"),
 * {obj} (one object, in turn) {objs} (all of them), {mood} {moodly} (the tone), and the
 * reading-level words of VOCABULARY ({found}, {saw}, {big}, …).
 */
interface GenreKit {
  /** Names for characters the idea does not name. */
  names: readonly string[];
  /** Settings, as [preposition, place]. */
  places: ReadonlyArray<readonly [string, string]>;
  /** Things a story in this genre may be about, when the idea names none. */
  quests: readonly string[];
  objects: readonly string[];
  /** Outline summaries (present tense), per part. */
  summary: Three<readonly string[]>;
  /** The story's first sentence: who lives where. */
  intro: readonly string[];
  /** Its second: what they look for and carry. */
  questIntro: readonly string[];
  narration: Three<readonly string[]>;
  lines: Three<readonly string[]>;
  /** Older readers: how a sentence may begin. */
  openers: readonly string[];
  /** Older readers: a clause a sentence may end with. */
  extensions: readonly string[];
  /** Older readers: a clause a spoken line may end with. */
  lineTails: readonly string[];
  /** Material for more sentences once the hand-written ones are used. */
  agents: readonly string[];
  actions: readonly string[];
  props: readonly string[];
  propVerbs: readonly string[];
  spots: readonly string[];
  asks: readonly string[];
  hopes: readonly string[];
}

type GenreName = 'fantasy' | 'fairytale' | 'mystery' | 'scifi' | 'adventure' | 'explainer' | 'everyday';

const KITS: Record<GenreName, GenreKit> = {
  fantasy: {
    names: ['Bramble', 'Elowen', 'Tamsin', 'Corin', 'Wren', 'Alder'],
    places: [['in', 'the whispering forest'], ['at', 'the moonlit tower'], ['in', 'the hidden valley']],
    quests: ['a lost star', 'a silver crown', 'a singing sword'],
    objects: ['a glowing pebble', 'an enchanted key', 'a feather cloak', 'a spell book'],
    summary: [
      ['{cast} live {atPlace}, where old magic sleeps. {hero} packs {objs} and sets out to search for {aQuest}.', '{atPlace}, an owl tells {cast} where to find {aQuest}. {hero} gathers {objs}, and the journey begins.'],
      ['On the way, {hero} and {pal} meet a grumpy troll and a spell that goes wrong, and they learn to trust each other.', '{hero} and {pal} lose the trail among the brambles, but a riddle shows them the way forward.'],
      ['{hero} and {pal} bring {quest} home, and the magic returns {atPlace}. The mood is {mood} as everyone celebrates.', 'With {quest} safe at last, {hero} and {pal} share the story of the journey, and everyone sings for them.'],
    ],
    intro: ['{cast} lived {atPlace}[, where the trees hummed whenever magic was near].', '[Long ago, ]{cast} made a home {atPlace}[, beside a well that granted very small wishes].'],
    questIntro: ['[One {quiet} morning, ]{hero} {found} {objs}[, and the wind whispered of {aQuest}]. {hero} wanted to find {aQuest}.', '{hero} kept {objs} close[, because the {old} rhymes spoke of {aQuest}]. The rhymes told of {aQuest}.'],
    narration: [
      [
        'A silver owl landed on the windowsill and blinked at {hero}[ three times].',
        '{x} traced the {strange} runes carved around the door[ with one finger].',
        'Sparks of green light danced over {obj}[ like tiny fireflies].',
        'The {old} spell book fell open at a page about {quest}.',
        '{pal} packed bread, string and a {small} lantern for the road.',
        'Far away, a bell rang once, and the forest {began} to listen.',
      ],
      [
        'The path twisted into brambles that grabbed at every sleeve.',
        'A troll under the stone bridge demanded a riddle before anyone could cross.',
        '{x} whispered a spell, but it only turned the leaves purple.',
        'Clouds swallowed the moon, and {hero} held {obj} up to light the way.',
        "The map in {pal}'s pocket changed the road to {dest} while nobody was looking.",
        'A {big} shadow swept over the treetops, and everyone froze.',
      ],
      [
        "At last {quest} shone in {hero}'s hands, warm as a summer morning.",
        'The troll laughed so hard at the final riddle that the bridge stopped shaking.',
        '{x} spoke the last word of the spell, and the {dark} sky turned gold.',
        'Every lantern {atPlace} lit up at once to welcome the travellers home.',
        '{pal} tucked {obj} into a nest of moss for safekeeping.',
        'That night the whole forest sang, and {hero} sang along.',
      ],
    ],
    lines: [
      ['{voc}, {obj} just flickered with green light!', "If we follow the runes, I'm {sure} we will find {quest}.", 'Grandmother always said the forest keeps its secrets for the brave.', 'Pack your cloak, {voc}. We leave at first light.', 'I have never felt magic this {strange} before.'],
      ['Stay behind me, {voc}. Trolls hate being interrupted.', 'My spell went wrong again, but I am not giving up.', 'Which way now? The map keeps changing its mind.', 'Hold {obj} higher, {voc}, so the shadows cannot hide.', 'The answer to the riddle is hidden {atPlace}, I know it.'],
      ['We did it, {voc}! We brought {quest} home!', 'I will never forget how brave you were on the bridge.', "Let's plant a wish tree right here, so the magic always remembers us.", 'Thank you for believing in my wobbly spells, {voc}.', 'The forest is singing for us. Can you hear it?'],
    ],
    openers: ['As the {old} trees creaked and murmured overhead,', 'Beneath a sky scattered with slow, silver stars,', 'With the smell of moss and woodsmoke in the air,', 'While the enchanted river muttered its endless rhymes,', 'Long after the last candle in the tower had gone out,'],
    extensions: ['while the runes along the path glowed faintly', 'as if the forest itself were holding its breath', 'and a trail of glittering dust drifted behind', 'though nobody could say where the music came from', 'just as the wind carried the scent of rain and honey'],
    lineTails: ['before the spell wears off', 'because the old magic is listening', 'no matter what the trolls say', 'if the forest lets us'],
    agents: ['a silver owl', 'the old wizard', 'a curious fox'],
    actions: ['polished', 'studied', 'guarded', 'followed', 'enchanted', 'counted', 'carried'],
    props: ['the rune-stones', 'the wishing well', 'the spell book', 'the moonflower seeds', "the troll's bridge", 'the crystal wand', "the wizard's hat"],
    propVerbs: ['glowed softly', 'hummed a tune', 'sparkled like frost', 'shivered with magic', 'whispered old words'],
    spots: ['beside the wishing well', 'under the oak trees', 'near the mossy stones', 'by the misty river', 'at the edge of the glade'],
    asks: ['look at', 'hold on to', 'keep an eye on', 'be careful with'],
    hopes: ['can lead us to {quest}', 'will show us the way', 'might remember the old spells', 'could help us now'],
  },
  fairytale: {
    names: ['Rosalind', 'Petal', 'Godfrey', 'Marigold', 'Tobias', 'Clover'],
    places: [['in', 'the sleepy kingdom'], ['at', 'the gingerbread cottage'], ['in', 'the rose-covered castle']],
    quests: ['a golden key', 'a magic bean', 'a glass slipper'],
    objects: ['a red ribbon', 'a silver thimble', 'a basket of apples', 'a spinning top'],
    summary: [
      ['Once upon a time, {cast} live {atPlace}. A fairy asks {hero} to find {aQuest}, and {hero} sets off with {objs}.', '{atPlace}, {cast} dream of {aQuest}. One morning {hero} takes {objs} and goes to search for {aQuest}.'],
      ['A wicked witch and a grumpy goose stand in the way, and {hero} and {pal} must be kind as well as brave.', 'The journey is long, and {hero} and {pal} have to answer three riddles from a grumpy goose.'],
      ['Kindness breaks the spell, {hero} and {pal} find {quest}, and everyone {atPlace} lives happily ever after.', '{hero} and {pal} return with {quest}, and everyone holds a {mood} feast.'],
    ],
    intro: ['Once upon a time, {cast} lived {atPlace}[, where the roses bloomed all year round].', '[In a faraway land, ]{cast} made their home {atPlace}[, beside a pond full of wishing frogs].'],
    questIntro: ['Every evening {hero} polished {objs}[ and dreamed of {aQuest}]. {hero} wished for {aQuest}.', 'A fairy godmother [once ]told {hero} about {aQuest}. She left {objs} on the doorstep.'],
    narration: [
      [
        'A frog in a tiny crown hopped onto the garden wall and bowed to {hero}.',
        "The queen's herald read a {strange} proclamation in the village square.",
        '{x} found three breadcrumbs in a row, then three more[ leading into the woods].',
        'The {old} clock in the hall struck thirteen, which it had never done before.',
        '{pal} tied {obj} with a ribbon so that nothing would be lost.',
        'A kindly baker handed {hero} a warm loaf[ for the journey].',
      ],
      [
        'A wicked witch had turned the path to {dest} into a maze of thorny hedges.',
        "The giant's footsteps shook the ground, and {x} hid behind a pumpkin.",
        'Seven ravens circled overhead, calling out warnings in rhyme.',
        '{pal} had to answer three questions from a grumpy goose to pass the gate.',
        'The spell said that {quest} could only be found by someone with a kind heart.',
        'Night fell, and the enchanted wolves began to howl beyond the well.',
      ],
      [
        'The moment {hero} shared the last crumb with a hungry sparrow, the spell broke.',
        '{quest} appeared in a shaft of moonlight, just as the fairy had promised.',
        "The witch's thorny hedges melted into a field of daisies.",
        '{x} and {y} danced in the great hall until the candles burned low.',
        'The grumpy goose laid a golden egg and honked with pride.',
        'And from that day on, everyone {atPlace} lived happily ever after.',
      ],
    ],
    lines: [
      ['Mirror, mirror, tell me true: where shall I find {quest}?', '{voc}, a talking frog just bowed to me!', 'Grandmother says kind hearts always find their way home.', 'We must leave before the clock strikes midnight.', 'Will you come with me, {voc}? I cannot go alone.'],
      ["Don't eat the apples, {voc}! They look far too shiny.", 'If we are kind to the goose, perhaps it will help us.', 'Quick, hide behind the pumpkin before the giant sees us!', 'I am {scared}, but I promised to be brave.', 'Dear goose, may we please pass through your gate?'],
      ['We found {quest} at last, just as the fairy promised!', 'Thank you, little sparrow. You broke the spell!', "Let's dance until the candles burn out, {voc}!", 'Home has never looked so lovely.', 'I knew kindness would win in the end.'],
    ],
    openers: ['Long, long ago, when wishes still came true,', 'As the village bells rang out across the meadows,', 'While the fairy godmother watched from behind a cloud,', 'In the hour when the moon grew round and golden,', 'Just as the kitchen fire crackled its last crackle,'],
    extensions: ['just as the old stories said it would', 'while a choir of bluebirds sang from the rooftops', 'and the scent of fresh bread drifted from the cottage', 'though the wicked witch was watching from afar', 'as three white doves circled the tower'],
    lineTails: ['as sure as the sun rises', "just like in Grandmother's stories", 'before the spell grows stronger', 'for a promise is a promise'],
    agents: ['a talking frog', 'the kindly baker', 'a grumpy goose'],
    actions: ['admired', 'guarded', 'wrapped', 'polished', 'carried', 'mended', 'counted'],
    props: ['the golden apples', 'the spinning wheel', 'the glass lantern', 'the royal invitation', 'the magic beanstalk', 'the gingerbread door', "the fairy's wand"],
    propVerbs: ['twinkled', 'creaked politely', 'shimmered like dew', 'chimed three times', 'gave off a sweet smell'],
    spots: ['by the wishing pond', 'in the palace garden', 'under the rose arch', 'beside the cottage gate', 'on the castle steps'],
    asks: ['look at', "don't touch", 'mind', 'bring me'],
    hopes: ['can break the spell', 'will lead us to {quest}', 'might grant a wish', 'could help a kind heart'],
  },
  mystery: {
    names: ['Quinn', 'Iris', 'Jasper', 'Poppy', 'Felix', 'Otto'],
    places: [['in', 'the foggy harbour town'], ['at', 'the old museum'], ['at', 'the seaside hotel']],
    quests: ['a missing painting', 'a stolen necklace', 'a secret code'],
    objects: ['a magnifying glass', 'a torn ticket', 'a pocket notebook', 'a brass key'],
    summary: [
      ['{cast} live {atPlace}, where nothing ever goes missing until this week. {hero} takes {objs} and begins to search for {aQuest}.', '{atPlace}, {cast} start a case: they must find {aQuest}. {hero} brings {objs}.'],
      ['The clues point in every direction, suspects have alibis, and {hero} and {pal} must look again at what they missed.', 'A coded message and a trail of sand lead {hero} and {pal} into trouble before the pieces fit.'],
      ['{hero} and {pal} put the clues together, find {quest}, and reveal the surprising culprit.', 'The case is cracked: {quest} turns up, and {hero} and {pal} explain how every clue fits.'],
    ],
    intro: ['{cast} solved puzzles {atPlace}[, where nothing ever went missing until this week].', 'Everyone {atPlace} knew {cast}[, the sharpest eyes in town].'],
    questIntro: ['[When news spread about {aQuest}, ]{hero} grabbed {objs} and a pencil[ and started taking notes]. The case was about {aQuest}.', 'The newspaper ran a story about {aQuest}. {hero} had {objs} ready.'],
    narration: [
      [
        '{x} noticed a muddy footprint on the polished floor[ that nobody else had seen].',
        'The night guard yawned and swore that nothing had happened all night.',
        "A torn ticket lay under the bench, stamped with yesterday's date.",
        '{pal} wrote every detail in a notebook[ and underlined the strangest ones].',
        'The clock on the wall had stopped at exactly half past nine.',
        'Someone had left a trail of sand from the back door to the stairs.',
      ],
      [
        'The first suspect had an alibi, and so did the second.',
        '{x} found a coded message tucked inside a library book.',
        'A shadow slipped past the window, and the lights flickered out.',
        'The footprints led toward {dest} and then simply stopped.',
        '{hero} compared the handwriting on two notes[ under the lamp].',
        'Just when the case seemed solved, a new clue turned everything upside down.',
      ],
      [
        '{hero} laid out every clue on the table, and suddenly the pattern was clear.',
        'The sand, the stopped clock and the torn ticket all pointed the same way.',
        'Behind a loose panel in the wall sat {quest}, exactly where {x} had guessed.',
        "The real culprit turned out to be the {quiet} caretaker's parrot, who loved shiny things.",
        '{pal} closed the notebook with a satisfied snap.',
        'By evening the whole town was talking about how the case was cracked.',
      ],
    ],
    lines: [
      ['{voc}, look at this footprint. It is far too small for a grown-up.', 'Nobody touches anything until we have checked it twice.', 'Write this down: the clock stopped at half past nine.', "Something about that guard's story doesn't add up.", 'Every clue tells a story if you listen carefully.'],
      ['The code is a simple swap of letters, {voc}. Watch.', 'If the footprints just stop like that, the thief must have had a boat.', 'Wait. Why would anyone carry sand into a museum?', 'We are close, {voc}. I can feel it.', 'Keep your voice down. Someone might be listening.'],
      ['Elementary, {voc}! The parrot took {quest} to its nest.', 'The answer was hiding in plain sight the whole time.', 'Case closed. Who wants hot chocolate?', 'I knew that stopped clock was the key.', "Next time, {voc}, the mystery won't stand a chance."],
    ],
    openers: ['Under the flickering glow of the street lamps,', 'While the fog rolled thickly in from the harbour,', 'As the town clock ticked toward midnight,', 'With a notebook open and a pencil ready,', 'Long after the last visitor had gone home,'],
    extensions: ['which seemed very suspicious indeed', 'though the reason was not yet clear', 'as if someone had wanted it to be found', 'while the rain tapped on the windows like a code', 'and that small detail changed everything'],
    lineTails: ['and I intend to prove it', 'unless someone is lying to us', 'if my hunch is right', 'before the trail goes cold'],
    agents: ['the night guard', 'a nosy neighbour', "the caretaker's parrot"],
    actions: ['examined', 'photographed', 'dusted', 'compared', 'searched', 'measured', 'sketched'],
    props: ['the fingerprints', 'the torn map', 'the locked drawer', 'the suspect list', 'the coded letter', 'the muddy boots', 'the broken lock'],
    propVerbs: ['looked out of place', 'held a faint smell of salt', 'had been moved', 'hid a second secret', 'caught the lamplight'],
    spots: ['behind the curtain', 'under the stairs', 'near the front desk', 'by the harbour wall', 'in the dusty archive'],
    asks: ['check', "don't smudge", 'look closely at', 'take a picture of'],
    hopes: ['can tell us who was here', 'will crack the case', 'might point to the thief', 'could be the missing link'],
  },
  scifi: {
    names: ['Nova', 'Orion', 'Zara', 'Kip', 'Lumen', 'Juno'],
    places: [['on', 'the orbital station'], ['on', 'the red planet'], ['in', 'the moon colony']],
    quests: ['a lost signal', 'a power crystal', 'a missing satellite'],
    objects: ['a pocket scanner', 'a solar lantern', 'a data chip', 'a repair kit'],
    summary: [
      ['{cast} live {atPlace}, far from home. Strange beeps send {hero} to search for {aQuest}, and {hero} packs {objs} for the trip.', '{atPlace}, {cast} get ready to find {aQuest}, and {hero} checks {objs} twice.'],
      ['An asteroid storm, failing gravity and a curious alien test {hero} and {pal}, and the mission nearly fails.', 'The signal fades, the power fails, and {hero} and {pal} must fix the ship together.'],
      ['{hero} and {pal} recover {quest}, the engines roar back to life, and the crew heads home as heroes.', 'With {quest} safe on board, {hero} and {pal} watch the stars and plan the next mission.'],
    ],
    intro: ['{cast} worked {atPlace}[, where the lights hummed day and night].', '[In the year three thousand, ]{cast} served {atPlace}[, a long way from Earth].'],
    questIntro: ['The radar blinked with news of {aQuest}. {hero} powered up {objs}.', '{hero} checked {objs}[ twice before the mission]. The mission was to find {aQuest}.'],
    narration: [
      [
        'The control panel blinked red, then green, then a colour nobody had a name for.',
        '{x} tapped the screen, and a star map bloomed in the air[ like a glowing flower].',
        'A {small} repair drone zipped past, beeping a cheerful warning.',
        '{pal} checked the oxygen levels and gave a thumbs-up.',
        'Outside the window, a comet drew a silver line across the dark.',
        "The ship's computer announced a message from the edge of the galaxy.",
      ],
      [
        'An asteroid storm rattled the hull like hail on a tin roof.',
        'The gravity switched off, and everything {began} to float.',
        '{x} rerouted the power while the alarms wailed.',
        'The mysterious signal grew louder, then faded into static.',
        '{hero} floated through a narrow tunnel toward {dest}[ with a torch held steady].',
        'A friendly alien with six eyes blinked from behind a crate.',
      ],
      [
        'The final code clicked into place, and the engines roared back to life.',
        '{quest} glowed on the main screen, safe and sound.',
        'The six-eyed alien waved goodbye with all of its hands.',
        '{x} and {y} watched the planet turn blue and green below them.',
        'Mission control sent a message of pure celebration.',
        'Back {atPlace}, everyone cheered[ until the walls shook].',
      ],
    ],
    lines: [
      ['{voc}, the sensors are picking up something {strange}.', 'Systems check complete. We are ready for launch.', "I've never seen a signal pattern like this.", 'Strap in, {voc}. This could get bumpy.', 'If the data is right, we can find {quest} out there.'],
      ['Shields are down to half, {voc}! Hold on!', 'The gravity is gone. Grab something!', 'Reroute the power to the engines, now!', "Hang on, that alien looks friendly, doesn't it?", 'I can fix this, but I need two more minutes.'],
      ['Engines online. Mission accomplished, {voc}!', 'Mission control, we have {quest}. Repeat, mission complete.', "I'll never forget the view from up here.", 'Set a course for home, please.', 'Next stop: the stars beyond the stars.'],
    ],
    openers: ['Somewhere between the rings of a distant planet,', "As the station's lights dimmed for the night cycle,", 'While the engines hummed their steady, endless song,', 'Three hundred days into the voyage,', 'Under the cold glow of a hundred monitors,'],
    extensions: ['while the engines purred beneath the floor', 'as numbers scrolled across every screen', 'though the sensors could not explain why', 'and the stars outside seemed to blink in reply', 'just as the computer logged a new discovery'],
    lineTails: ['according to my calculations', 'if the sensors are right', 'before the oxygen runs low', "so let's stay sharp"],
    agents: ['a repair drone', "the ship's computer", 'a six-eyed alien'],
    actions: ['scanned', 'recharged', 'calibrated', 'analysed', 'rebooted', 'tracked', 'decoded'],
    props: ['the star charts', 'the airlock door', 'the fuel cells', 'the hologram map', 'the radio dish', 'the landing lights', 'the escape pod'],
    propVerbs: ['beeped twice', 'flashed blue', 'whirred into motion', 'sparked and fizzed', 'hummed with power'],
    spots: ['on the control deck', 'near the airlock', 'in the engine room', 'beside the observation window', 'in the cargo bay'],
    asks: ['scan', 'stay away from', 'keep an eye on', 'plug in'],
    hopes: ['can boost the signal', 'will guide us to {quest}', 'might save the mission', 'could open a path home'],
  },
  adventure: {
    names: ['Rio', 'Jonah', 'Tess', 'Beck', 'Ash', 'Sol'],
    places: [['on', 'the windswept island'], ['in', 'the jungle valley'], ['in', 'the red canyon']],
    quests: ['a hidden treasure', 'a pirate chest', 'a lost map'],
    objects: ['a coil of rope', 'a water flask', 'a pocket knife', 'a battered compass'],
    summary: [
      ['{cast} arrive {atPlace} with a plan and a lot of nerve. {hero} packs {objs} and sets off to search for {aQuest}.', '{atPlace}, {cast} learn where to find {aQuest}. {hero} packs {objs}, and off they go.'],
      ['On the trail, quicksand, rockslides and a wobbly rope put {hero} and {pal} in danger, and they must rely on each other.', 'The trail vanishes, the water runs low, and {hero} and {pal} have to find another way forward.'],
      ['{hero} and {pal} find {quest} at the end of a hidden tunnel and make it home with a tale to tell.', 'With {quest} in hand, {hero} and {pal} sail home, already dreaming of the next expedition.'],
    ],
    intro: ['{cast} arrived {atPlace}[ with nothing but a plan and a lot of nerve].', '[For weeks, ]{cast} had been camping {atPlace}[, listening to tales of buried riches].'],
    questIntro: ['[Inside a bottle on the shore, ]{hero} {found} a note about {aQuest}. {hero} packed {objs}[ at once].', '{hero} slung {objs} over one shoulder. The hunt for {aQuest} was on.'],
    narration: [
      [
        'The sun was already hot when {x} climbed the first ridge.',
        'Parrots screeched from the treetops as the trail disappeared into green.',
        '{pal} studied the faded map and pointed at a skull-shaped rock.',
        'A rope bridge swayed high above a roaring river.',
        'The campfire crackled while {hero} sharpened a stick for the morning.',
        'Far off, the mountain wore a crown of {dark} clouds.',
      ],
      [
        'Halfway across the bridge, a plank snapped and fell into the foam.',
        "Quicksand sucked at {x}'s boots until {y} threw a rope.",
        'A rockslide thundered down and blocked the path to {dest}.',
        'The water ran out, and the sun beat down without mercy.',
        '{x} spotted a hidden cave behind a curtain of vines.',
        'Bats burst out of the dark in a flapping cloud.',
      ],
      [
        'At the end of the tunnel, {quest} glittered in a beam of sunlight.',
        '{x} and {y} hauled their prize out into the fresh air.',
        'The rope bridge held firm on the way back, as if it had learned its lesson.',
        'A rescue boat bobbed in the bay, right where the map had promised.',
        'Around the last campfire, {hero} told the whole story twice.',
        'The coastline faded into the sunset as the boat sailed home.',
      ],
    ],
    lines: [
      ["{voc}, grab the rope. We're going over that ridge.", 'According to the map, we head for the skull-shaped rock.', "Listen to those parrots! They sound like they're laughing at us.", 'Nobody said treasure hunting would be easy.', 'Last one to the bridge makes breakfast!'],
      ["Don't look down, {voc}! Just keep moving!", "Grab my hand! I'll pull you out of the quicksand!", "The path is blocked. We'll have to climb.", 'Is that a cave behind those vines?', 'Save your water. It has to last until sunset.'],
      ['We found it, {voc}! We actually found {quest}!', 'That was the wildest trip of my whole life.', "I'd do it all again tomorrow.", "Next time, I'm carrying the snacks.", 'Look at that sunset, {voc}. We earned it.'],
    ],
    openers: ['With the sun blazing high overhead,', 'As the jungle buzzed and chattered all around,', 'Before anyone had time to catch a breath,', 'Halfway between the cliffs and the roaring sea,', 'Under a sky full of circling gulls,'],
    extensions: ['while sweat trickled down every forehead', 'and the wind carried the smell of salt and adventure', 'though the hardest part was still ahead', 'as a distant drumbeat echoed through the trees', 'and not a single step could be wasted'],
    lineTails: ['before the tide comes in', 'if we move fast', 'no matter how steep it gets', 'so stay close and keep your eyes open'],
    agents: ['a noisy parrot', 'an old sea captain', 'a mountain goat'],
    actions: ['climbed over', 'dragged', 'tied up', 'hauled', 'dug around', 'balanced on', 'unrolled'],
    props: ['the rope ladder', 'the treasure map', 'the heavy backpack', 'the old canoe', 'the signal flare', 'the rusty shovel', 'the skull-shaped rock'],
    propVerbs: ['wobbled dangerously', 'creaked in the wind', 'glinted in the sun', 'slid a little', 'stayed stubbornly stuck'],
    spots: ['at the top of the ridge', 'beside the waterfall', 'near the campfire', 'along the riverbank', 'deep in the jungle'],
    asks: ['grab', 'watch out for', 'hold on to', 'pass me'],
    hopes: ['can get us across', 'will lead us to {quest}', 'might save our skins', 'could help us climb higher'],
  },
  explainer: {
    names: ['Leo', 'Sana', 'Omar', 'Ruby', 'Finn', 'Priya'],
    places: [['at', 'the science museum'], ['in', 'the school garden'], ['at', 'the town library']],
    quests: ['the water cycle', 'the solar system', 'the life of a honeybee'],
    objects: ['a field notebook', 'a pair of binoculars', 'a measuring tape', 'a hand lens'],
    summary: [
      ['{cast} meet {atPlace} with one big question. {hero} brings {objs} and wants to learn about {aQuest}.', '{atPlace}, {cast} set out to learn about {aQuest}, carrying {objs} to record what they find.'],
      ['With experiments and careful measuring, {hero} and {pal} see how each part of the topic works.', '{hero} and {pal} test their ideas, compare results and find a pattern hiding in the facts.'],
      ['{hero} and {pal} can now explain {quest} in simple steps and share what they learned with everyone.', 'The friends sum up the big ideas about {quest} and plan their next investigation.'],
    ],
    intro: ['{cast} met {atPlace}[ with one big question to answer].', '[Every Saturday, ]{cast} spent the morning {atPlace}[, asking questions about everything].'],
    questIntro: ['[This week ]the question was all about {aQuest}. {hero} brought {objs}.', '{hero} packed {objs} in a school bag[ and wrote a title at the top of a fresh page]. The topic was {aQuest}.'],
    narration: [
      [
        'Scientists have studied {quest} for hundreds of years, and they are still learning.',
        '{x} drew a diagram with arrows[ to show how each part connects].',
        'The first step in any investigation is to observe carefully.',
        '{pal} made a list of questions, starting with the simplest one.',
        'A good explorer writes down what they see before guessing why.',
        'The guide explained that examples of {quest} can be found all around us.',
      ],
      [
        'Next came an experiment with a jar, some water and a lamp.',
        '{x} measured everything twice, because good scientists check their work.',
        'The results were surprising, so everyone looked for a pattern.',
        'A guide from {dest} showed a model that made the idea easier to see.',
        '{hero} compared two pictures and spotted the difference straight away.',
        'Some parts of {quest} are too small or too slow to see without tools.',
      ],
      [
        'By the end of the day, {hero} could explain {quest} in three simple steps.',
        'The diagram on the board now had every arrow in the right place.',
        '{x} and {y} agreed that the best part was asking their own questions.',
        'Here is the big idea: what they learned about {quest} connects to everyday life.',
        '{pal} made a poster so the whole class could learn it too.',
        'The friends left {place} already planning their next investigation.',
      ],
    ],
    lines: [
      ['{voc}, what do you think we will discover about {quest}?', 'Did you know scientists ask questions for a living?', "Let's write down what we notice first.", "My guess is that it's all connected somehow.", 'A good question is the start of every discovery.'],
      ['Look at the results, {voc}! They make a pattern!', "So that's why it happens. It all makes sense now.", "Let's test it again, just to be sure.", "I didn't know that {quest} could be so surprising.", 'Can we zoom in closer? I want to see every detail.'],
      ['Now I can explain {quest} to anyone, {voc}!', 'The best part is that we can test it ourselves at home.', 'Every answer gives us a brand-new question.', "Let's make a poster so everyone can learn this.", 'I love how curious this makes me feel.'],
    ],
    openers: ['According to the museum guide,', 'In the bright light of the laboratory,', 'After a careful look through the hand lens,', 'With notebooks open and pencils ready,', 'Step by careful step,'],
    extensions: ['which is exactly how real scientists work', 'and each fact fitted neatly into the bigger picture', 'as the answers slowly became clear', 'because careful observation always comes first', 'and the notebook filled up with sketches and notes'],
    lineTails: ['according to the guidebook', 'if we measure carefully', 'because evidence matters', 'and we can prove it'],
    agents: ['the museum guide', 'a friendly scientist', 'the class teacher'],
    actions: ['measured', 'labelled', 'recorded', 'sketched', 'sorted', 'weighed', 'compared'],
    props: ['the test tubes', 'the bar chart', 'the microscope slides', 'the rock samples', 'the weather chart', 'the seed trays', 'the model volcano'],
    propVerbs: ['showed a clear pattern', 'changed colour slowly', 'proved the idea', 'needed another look', 'matched the prediction'],
    spots: ['on the lab bench', 'next to the window', 'in the school garden', 'beside the display case', 'at the front of the class'],
    asks: ['look at', 'measure', 'write down', 'compare'],
    hopes: ['can explain {quest}', 'will prove our idea', 'might surprise us', 'could answer the big question'],
  },
  everyday: {
    names: ['Mia', 'Leo', 'Ava', 'Noah', 'Zoe', 'Ben'],
    places: [['in', 'the busy neighbourhood'], ['at', 'the community garden'], ['at', 'the corner bakery']],
    quests: ['a lost kitten', 'a birthday surprise', 'a missing library book'],
    objects: ['a bright red bike', 'a packed lunch', 'a handmade card', 'a skipping rope'],
    summary: [
      ['{cast} live {atPlace}, where everybody waves hello. {hero} has {objs} and a plan to find {aQuest}.', 'Every day, {cast} meet {atPlace}. This week {hero} wants to search for {aQuest}, armed with {objs}.'],
      ['Rain, a locked door and a small argument get in the way, and {hero} and {pal} have to work things out.', 'The plan goes wrong when a dog runs off with the posters, and {hero} and {pal} must try again.'],
      ['{hero} and {pal} finally find {quest}, the neighbours join in, and the day ends {mood} and happy.', 'With {quest} sorted out, {hero} and {pal} celebrate with the neighbours and feel proud of their teamwork.'],
    ],
    intro: ['{cast} were neighbours {atPlace}[, where everybody waved hello from their windows].', '[Every day after school, ]{cast} met up {atPlace}[ to share their news].'],
    questIntro: ['[This particular week, ]{hero} was thinking about {aQuest}. {hero} had {objs} packed and ready to go.', '{hero} grabbed {objs} from the hallway. The big plan was about {aQuest}.'],
    narration: [
      [
        'The school bell rang, and {x} was first out of the gate.',
        'The neighbour next door waved from the garden[ with a trowel in hand].',
        '{pal} had a list of ideas written on the back of a cereal box.',
        'A bus rumbled past, full of sleepy faces.',
        'The smell of fresh bread drifted out of the bakery.',
        '{hero} counted the coins in a jam jar[ and frowned a little].',
      ],
      [
        'Then it started to rain, and the plan got soggy.',
        '{x} and {y} had a small argument about who was right.',
        'The shop on the way to {dest} was closed for the afternoon.',
        "A neighbour's dog ran off with one of the posters.",
        '{hero} sat on the steps, feeling {scared} that nothing would work out.',
        '{pal} said sorry first, and things felt lighter straight away.',
      ],
      [
        'By Saturday, everything had come together better than expected.',
        '{x} and {y} laughed until their sides ached.',
        'The whole street came out to see what the fuss was about.',
        '{hero} finally had {quest}, and it felt wonderful.',
        "The neighbour's dog returned the poster, only a little chewed.",
        'That evening, {pal} wrote about the day in a {small} diary.',
      ],
    ],
    lines: [
      ["{voc}, I've got the best idea ever.", 'Can we ask if we can stay out a bit later?', 'If we work together, this will be easy.', "I made a list. It's a very long list.", 'Race you to the corner!'],
      ["I'm sorry, {voc}. I shouldn't have shouted.", 'Everything is soaked! What do we do now?', 'Come back here, you silly dog!', 'Maybe we should ask for help.', 'We can still fix this, I promise.'],
      ['This is the best day ever, {voc}!', "I'm so glad we didn't give up.", 'Same time tomorrow?', 'Thank you for sticking with me, {voc}.', 'Look how many people came to help!'],
    ],
    openers: ['Right after the school bell rang,', 'As the streetlights flickered on one by one,', 'While the smell of dinner drifted from open windows,', 'On the walk home past the corner shop,', 'Before anyone had finished breakfast,'],
    extensions: ['while a radio played somewhere down the street', 'and the whole neighbourhood seemed to be watching', 'though nobody had expected it', 'as the afternoon sun warmed the pavement', 'which made the day feel a little bit special'],
    lineTails: ['if you want to', "because that's what friends do", 'before it gets dark', 'and I really mean it'],
    agents: ['the bus driver', "a neighbour's dog", 'the lollipop lady'],
    actions: ['decorated', 'tidied', 'painted', 'swept', 'watered', 'fixed up', 'stacked'],
    props: ['the lemonade stand', 'the garden fence', 'the paper posters', 'the bike bell', 'the flower pots', 'the chalk drawings', 'the window boxes'],
    propVerbs: ['looked brand new', 'rattled in the breeze', 'brightened the street', 'wobbled a bit', "caught everyone's eye"],
    spots: ['on the front steps', 'at the bus stop', 'by the park gate', 'outside the bakery', 'along the pavement'],
    asks: ['look at', 'help me with', 'hold', 'come and see'],
    hopes: ['can cheer everyone up', 'will help us find {quest}', 'might make the street happier', 'could be our best idea yet'],
  },
};

/** Which kit a request's genre (free text) uses; unknown genres get everyday fiction. */
function genreOf(genre: string): GenreName {
  const g = ` ${genre.toLowerCase().replace(/[^a-z]+/g, ' ').trim()} `;
  const has = (...keys: string[]): boolean => keys.some((k) => g.includes(` ${k} `));
  if (has('science fiction', 'sci fi', 'scifi', 'sf', 'space', 'space opera', 'futuristic', 'cyberpunk', 'dystopian', 'robot', 'robots', 'aliens')) return 'scifi';
  if (has('non fiction', 'nonfiction', 'informational', 'informative', 'educational', 'explainer', 'science', 'history', 'biography', 'nature', 'documentary', 'facts', 'stem', 'how to')) return 'explainer';
  if (has('mystery', 'mysteries', 'detective', 'whodunit', 'crime', 'sleuth', 'thriller', 'noir', 'puzzle', 'horror', 'ghost', 'spooky', 'suspense')) return 'mystery';
  if (has('fairy tale', 'fairytale', 'fairy tales', 'fairy', 'fable', 'fables', 'folk tale', 'folktale', 'folklore', 'bedtime', 'nursery')) return 'fairytale';
  if (has('fantasy', 'magic', 'magical', 'dragons', 'wizard', 'wizards', 'sword', 'myth', 'mythology', 'legend', 'epic')) return 'fantasy';
  if (has('adventure', 'adventures', 'action', 'quest', 'pirate', 'pirates', 'exploration', 'survival', 'journey', 'western', 'expedition')) return 'adventure';
  return 'everyday';
}

interface ToneKit {
  mood: readonly string[];
  moodly: readonly string[];
  /** What a line may start with ("Ooh, …"). */
  ex: readonly string[];
  /** Clauses narration may end with. */
  tails: readonly string[];
}

const TONES: Record<string, ToneKit> = {
  whimsical: { mood: ['whimsical', 'playful', 'giddy'], moodly: ['playfully', 'merrily'], ex: ['Ooh', 'Oh, how lovely'], tails: ['and somewhere a teapot seemed to giggle', 'as if the whole day were playing a game', 'and even the clouds looked ready to dance'] },
  funny: { mood: ['silly', 'ridiculous', 'giggly'], moodly: ['clumsily', 'comically'], ex: ['Ha', "Oh, for goodness' sake"], tails: ["and somebody's tummy rumbled loudly", 'which made everyone snort with laughter', 'and a sock flew off for no reason at all'] },
  spooky: { mood: ['eerie', 'creepy', 'ghostly'], moodly: ['nervously', 'warily'], ex: ['Shh', 'Psst'], tails: ['and somewhere a door creaked', 'while cold shivers ran down every spine', 'as a pale mist curled along the ground'] },
  calm: { mood: ['calm', 'peaceful', 'gentle'], moodly: ['gently', 'softly'], ex: ['Mm', 'Oh, look'], tails: ['and the breeze hummed a slow lullaby', 'while the world seemed to rest', 'as soft light settled over everything'] },
  exciting: { mood: ['thrilling', 'electric', 'wild'], moodly: ['boldly', 'eagerly'], ex: ['Whoa', 'Quick'], tails: ['and every heart began to race', 'and there was no time to lose', 'as the excitement built and built'] },
  warm: { mood: ['warm', 'hopeful', 'cosy'], moodly: ['kindly', 'warmly'], ex: ['Oh', 'Aw'], tails: ['and everyone felt a little braver together', 'and kindness filled the air like sunshine', 'as friendly smiles went all around'] },
  mysterious: { mood: ['mysterious', 'puzzling', 'secretive'], moodly: ['curiously', 'quietly'], ex: ['Hmm', 'Wait'], tails: ['though nobody knew quite why', 'as if someone were keeping a secret', 'and the question hung in the air'] },
  sad: { mood: ['wistful', 'bittersweet', 'lonely'], moodly: ['sadly', 'slowly'], ex: ['Oh', 'Ah'], tails: ['and a small ache settled in every heart', 'like a goodbye that had not happened yet', 'as grey clouds drifted slowly past'] },
  informative: { mood: ['curious', 'clear', 'fascinating'], moodly: ['carefully', 'closely'], ex: ['Look', 'Aha'], tails: ['which is exactly how scientists learn', 'and each detail told them something new', 'as every answer led to a new question'] },
  lively: { mood: ['lively', 'bright', 'cheerful'], moodly: ['happily', 'eagerly'], ex: ['Oh', 'Hey'], tails: ['and the day felt full of possibility', 'as the sun peeked out to watch', 'and something good seemed just around the corner'] },
};

/** What lines may start with in every tone: shared by all genres in that tone by design. */
export const TONE_INTERJECTIONS: readonly string[] = Object.values(TONES).flatMap((t) => t.ex);

function toneOf(tone: string): ToneKit {
  const t = ` ${tone.toLowerCase().replace(/[^a-z]+/g, ' ').trim()} `;
  const has = (...keys: string[]): boolean => keys.some((k) => t.includes(` ${k} `));
  const pick = (name: string): ToneKit => TONES[name] as ToneKit;
  if (has('spooky', 'scary', 'eerie', 'creepy', 'dark', 'haunting', 'ominous', 'gothic', 'chilling', 'horror', 'frightening')) return pick('spooky');
  if (has('funny', 'humorous', 'humourous', 'comic', 'comedy', 'comedic', 'hilarious', 'witty', 'goofy', 'silly', 'zany', 'wacky')) return pick('funny');
  if (has('whimsical', 'playful', 'quirky', 'magical', 'lighthearted', 'light hearted', 'fun', 'fanciful', 'dreamy')) return pick('whimsical');
  if (has('calm', 'gentle', 'soothing', 'peaceful', 'quiet', 'cozy', 'cosy', 'relaxing', 'bedtime', 'tender', 'soft', 'serene')) return pick('calm');
  if (has('exciting', 'thrilling', 'action', 'adventurous', 'fast', 'energetic', 'epic', 'dramatic', 'intense', 'bold', 'suspenseful')) return pick('exciting');
  if (has('mysterious', 'mystery', 'suspense', 'tense', 'intriguing', 'puzzling', 'curious', 'enigmatic')) return pick('mysterious');
  if (has('sad', 'bittersweet', 'melancholy', 'melancholic', 'wistful', 'emotional', 'poignant', 'somber', 'sombre', 'nostalgic')) return pick('sad');
  if (has('informative', 'educational', 'factual', 'neutral', 'serious', 'clear', 'instructive', 'scientific', 'academic', 'formal')) return pick('informative');
  if (has('warm', 'heartwarming', 'hopeful', 'uplifting', 'kind', 'sweet', 'friendly', 'cheerful', 'joyful', 'happy', 'inspiring', 'optimistic', 'loving', 'wholesome')) return pick('warm');
  return pick('lively');
}

/** Words by reading level: earliest readers, early primary, middle grades, older readers. */
const VOCABULARY: Record<string, readonly [string, string, string, string]> = {
  found: ['found', 'found', 'discovered', 'unearthed'],
  saw: ['saw', 'spotted', 'noticed', 'glimpsed'],
  see: ['see', 'spot', 'notice', 'glimpse'],
  went: ['went', 'headed', 'ventured', 'journeyed'],
  ran: ['ran', 'raced', 'dashed', 'hurtled'],
  big: ['big', 'huge', 'enormous', 'colossal'],
  small: ['small', 'tiny', 'miniature', 'minuscule'],
  old: ['old', 'old', 'ancient', 'venerable'],
  quickly: ['fast', 'quickly', 'swiftly', 'hastily'],
  slowly: ['slowly', 'slowly', 'cautiously', 'deliberately'],
  happy: ['happy', 'glad', 'delighted', 'jubilant'],
  scared: ['scared', 'afraid', 'nervous', 'apprehensive'],
  quiet: ['quiet', 'quiet', 'hushed', 'tranquil'],
  dark: ['dark', 'dim', 'gloomy', 'murky'],
  bright: ['bright', 'shiny', 'gleaming', 'luminous'],
  strange: ['odd', 'strange', 'peculiar', 'enigmatic'],
  began: ['began', 'started', 'began', 'commenced'],
  sure: ['sure', 'sure', 'certain', 'convinced'],
  very: ['very', 'really', 'remarkably', 'extraordinarily'],
  carefully: ['carefully', 'carefully', 'cautiously', 'meticulously'],
};
/**
 * Richer words for the template's own text at the two upper levels (never for the request's
 * words): same part of speech, same inflection, same first-letter sound, so grammar and
 * articles hold.
 */
const RICHER: readonly [ReadonlyMap<string, string>, ReadonlyMap<string, string>] = (() => {
  const pairs: Array<[string, string, string]> = [
    ['found', 'discovered', 'uncovered'],
    ['saw', 'noticed', 'observed'],
    ['quickly', 'swiftly', 'hastily'],
    ['slowly', 'gradually', 'deliberately'],
    ['very', 'remarkably', 'exceedingly'],
    ['happy', 'delighted', 'jubilant'],
    ['big', 'large', 'massive'],
    ['old', 'elderly', 'ancient'],
    ['bright', 'brilliant', 'luminous'],
    ['strange', 'peculiar', 'bewildering'],
    ['quiet', 'hushed', 'tranquil'],
    ['showed', 'displayed', 'revealed'],
    ['tried', 'attempted', 'endeavoured'],
    ['helped', 'assisted', 'aided'],
    ['wonderful', 'marvellous', 'magnificent'],
    ['shiny', 'gleaming', 'lustrous'],
    ['careful', 'cautious', 'meticulous'],
    ['carefully', 'cautiously', 'meticulously'],
    ['smiled', 'grinned', 'beamed'],
    ['laughed', 'chuckled', 'chortled'],
    ['shouted', 'yelled', 'bellowed'],
    ['walked', 'strolled', 'wandered'],
    ['looking', 'searching', 'scrutinising'],
    ['tiny', 'miniature', 'minuscule'],
    ['scary', 'frightening', 'formidable'],
    ['clever', 'cunning', 'ingenious'],
    ['funny', 'comical', 'hilarious'],
    ['little', 'little', 'diminutive'],
    ['watched', 'watched', 'observed'],
    ['noticed', 'noticed', 'perceived'],
    ['whispered', 'murmured', 'murmured'],
    ['hidden', 'hidden', 'concealed'],
    ['spotted', 'spotted', 'detected'],
    ['checked', 'checked', 'inspected'],
    ['rang', 'rang', 'resounded'],
    ['huge', 'gigantic', 'gigantic'],
    ['friendly', 'friendly', 'cordial'],
    ['cheerful', 'cheerful', 'jovial'],
    ['tired', 'weary', 'weary'],
    ['really', 'really', 'genuinely'],
    ['maybe', 'perhaps', 'perhaps'],
    ['wanted', 'wished', 'yearned'],
    // Not swapped: words that are also verbs or idioms ("answer", "question", "as sure as"), where a synonym breaks the sentence.
    ['ready', 'prepared', 'prepared'],
    ['grumpy', 'grouchy', 'cantankerous'],
    ['sleepy', 'drowsy', 'drowsy'],
    ['whole', 'entire', 'entire'],
    ['seemed', 'seemed', 'appeared'],
    ['started', 'started', 'commenced'],
    ['happened', 'happened', 'transpired'],
    ['happens', 'happens', 'occurs'],
    ['explained', 'explained', 'elucidated'],
    ['laughing', 'giggling', 'chortling'],
    ['talking', 'chattering', 'chattering'],
    ['shaking', 'trembling', 'trembling'],
    ['cheered', 'cheered', 'rejoiced'],
    ['watching', 'watching', 'observing'],
    ['lovely', 'delightful', 'exquisite'],
    ['brave', 'brave', 'valiant'],
    ['great', 'grand', 'magnificent'],
    ['silly', 'silly', 'ridiculous'],
    ['simple', 'simple', 'straightforward'],
    ['glowed', 'glowed', 'radiated'],
    ['sparkled', 'glittered', 'glistened'],
    ['shone', 'gleamed', 'gleamed'],
  ];
  return [new Map(pairs.map(([w, mid]) => [w, mid])), new Map(pairs.map(([w, , rich]) => [w, rich]))];
})();

/** How older readers' characters may start a line ("Honestly, …"). */
const SPOKEN_ADVERBS = ['Honestly', 'Evidently', 'Seriously', 'Apparently', 'Frankly', 'Obviously', 'Unbelievably'];

/** Words a sentence may take at each reading level, even when a section's share is smaller. */
const LONG_SENTENCE: Readonly<Record<Tier, number>> = { 0: 8, 1: 10, 2: 16, 3: 22 };

/**
 * Words a section takes at the least (one plain narration sentence and one plain line) at each
 * reading level, a little over what the kits' longest plain sentences give: what an audio story
 * keeps in reserve for the sections still to come before it dresses a sentence up.
 */
const BARE_SECTION: Readonly<Record<Tier, number>> = { 0: 20, 1: 26, 2: 30, 3: 34 };

/** Share of an audio story's target the dressing (openers, asides, tails) may take it to. */
const SOFT_CEILING = 1.4;

/**
 * Older readers: the most words two sentences may have between them to be folded into one
 * ("A. B." → "A, and b."). Folding costs at most a word, so it lengthens older readers'
 * sentences even when an audio story's budget leaves no room for dressing them up.
 */
const FOLD_CAP: Readonly<Record<Tier, number>> = { 0: 0, 1: 0, 2: 24, 3: 46 };

/** The earliest readers' stories take the template with the shortest sentences of this many next in a deck. */
const EARLY_DRAW = 3;

/** Sentences that cannot follow a comma: they start with a conjunction or a quotation. */
const NO_FOLD = /^(?:["'(]|(?:and|but|so|or|yet|nor)\b)/i;

/** How older readers' sentences may begin ("Remarkably, …"). */
const SENTENCE_ADVERBS: readonly [readonly string[], readonly string[]] = [
  ['Luckily', 'Meanwhile', 'Afterwards', 'Naturally', 'Soon'],
  ['Remarkably', 'Unexpectedly', 'Meanwhile', 'Eventually', 'Astonishingly', 'Fortunately', 'Curiously', 'Gradually', 'Undoubtedly', 'Consequently'],
];

/** The template's own words, richer for older readers (see RICHER). */
function enrich(text: string, tier: Tier): string {
  if (tier < 2) return text;
  const map = RICHER[tier === 2 ? 0 : 1];
  const phrased = tier === 3 ? text.replace(/\blooked at\b/g, 'scrutinised').replace(/\bwent wrong\b/g, 'went awry').replace(/\bgot soggy\b/g, 'became waterlogged') : text.replace(/\blooked at\b/g, 'gazed at');
  return phrased.replace(/[A-Za-z]+/g, (w) => map.get(w) ?? w);
}

/** From any level's word back to the earliest readers' word ("discovered" → "found"). */
const SIMPLER: ReadonlyMap<string, string> = new Map(Object.values(VOCABULARY).flatMap((w) => w.slice(1).map((rich) => [rich, w[0]] as [string, string])).filter(([rich, plain]) => rich !== plain));

/** Reading level (free text) → one of four tiers. */
function tierOf(level: string): Tier {
  const l = level.toLowerCase().slice(0, 200);
  const fromGrade = (g: number): Tier => (g <= 1 ? 0 : g <= 3 ? 1 : g <= 6 ? 2 : 3);
  const grade = /\b(?:grade|year|yr|gr|class|level)\s*(\d{1,2})\b/.exec(l) ?? /\b(\d{1,2})(?:st|nd|rd|th)?\s*grade\b/.exec(l);
  if (grade?.[1]) return fromGrade(Number(grade[1]));
  if (/\b(?:grade|year)\s*k\b|kindergarten|pre-?k\b|pre-?school|preschool|nursery|toddler|picture book|early reader|beginner|emergent|first reader/.test(l)) return 0;
  const age = /\b(?:age|ages|aged)\s*(\d{1,2})\b/.exec(l) ?? /\b(\d{1,2})\s*(?:-|to|–)\s*\d{1,2}\s*(?:years|yrs|y\/o|year olds?)\b/.exec(l) ?? /\b(\d{1,2})\s*(?:years?|yrs|y\/o)\b/.exec(l);
  if (age?.[1]) return fromGrade(Number(age[1]) - 6);
  if (/\b(?:young adult|ya|teen|teens|teenager|high school|secondary|advanced|adult|college|university|expert|mature|proficient)\b/.test(l)) return 3;
  if (/\b(?:middle grade|middle school|tween|upper elementary|upper primary|intermediate)\b/.test(l)) return 2;
  return 1;
}
// ---------------------------------------------------------------------------------------
// The world of a story: who, where, what

interface Place {
  text: string;
  preposition: string;
}

interface World {
  kit: GenreKit;
  genre: GenreName;
  tone: ToneKit;
  tier: Tier;
  /** Characters, speakers first, each once (at most MAX_CHARACTERS). */
  characters: string[];
  /** Lower-case name → what the character is ("dragon"). */
  roles: Map<string, string>;
  place: Place;
  dest: Place;
  /** What the story is about, as first introduced ("a lost star"). */
  quest: string;
  /** The same, once known ("the lost star"; "volcanoes" stays). */
  questThe: string;
  /** Things to show, as first introduced ("a brass compass"). */
  objects: string[];
}

const MAX_CHARACTERS = 8;
const MAX_OBJECTS = 4;

const PREPOSITIONS_KEPT = new Set(['in', 'at', 'on', 'near', 'inside', 'under', 'beneath', 'aboard', 'within', 'above', 'below', 'beyond']);
const ON_PLACES = new Set(['island', 'isle', 'planet', 'moon', 'asteroid', 'ship', 'spaceship', 'starship', 'station', 'mountain', 'hill', 'beach', 'farm', 'street', 'shore', 'coast', 'bridge']);
const AT_PLACES = new Set(['lighthouse', 'harbour', 'harbor', 'port', 'market', 'school', 'museum', 'library', 'bakery', 'zoo', 'fair', 'carnival', 'circus', 'airport', 'hospital', 'mill', 'inn', 'tavern', 'shop', 'cottage', 'hotel', 'gate', 'well']);
const ON_NAMES = new Set(['mercury', 'venus', 'earth', 'mars', 'jupiter', 'saturn', 'uranus', 'neptune', 'pluto', 'hawaii', 'iceland', 'greenland', 'easter island']);

function placeOf(mention: PlaceMention): Place {
  const last = (mention.text.split(' ').at(-1) ?? '').toLowerCase();
  const given = mention.preposition && PREPOSITIONS_KEPT.has(mention.preposition) ? mention.preposition : undefined;
  const fallback = ON_NAMES.has(mention.text.toLowerCase()) || ON_PLACES.has(last) ? 'on' : AT_PLACES.has(last) ? 'at' : 'in';
  return { text: mention.text, preposition: given ?? fallback };
}

/** "a lost star" → "the lost star"; "treasure" → "the treasure"; "the Crystal Crown" stays. */
function definite(phrase: string): string {
  const space = phrase.indexOf(' ');
  const first = (space < 0 ? phrase : phrase.slice(0, space)).toLowerCase();
  if (first === 'the') return phrase;
  if (first === 'a' || first === 'an' || first === 'some' || first === 'one') return `the ${phrase.slice(space + 1)}`;
  return `the ${phrase}`;
}

const keyOf = (phrase: string): string => definite(phrase).toLowerCase();

/** The article for a noun: "an owl", "a unicorn". */
const article = (noun: string): string => (/^(?:[aeio]|u(?!n[ie]|s[eu]))/i.test(noun) ? 'an' : 'a');

const IRREGULAR_PLURALS: Record<string, string> = { child: 'children', man: 'men', woman: 'women', mouse: 'mice', person: 'people', fish: 'fish', sheep: 'sheep', goose: 'geese', elf: 'elves', wolf: 'wolves', dwarf: 'dwarves' };
function plural(noun: string): string {
  const irregular = IRREGULAR_PLURALS[noun];
  if (irregular) return irregular;
  if (/[^aeiou]y$/.test(noun)) return `${noun.slice(0, -1)}ies`;
  if (/(?:s|sh|ch|x|z)$/.test(noun)) return `${noun}es`;
  return `${noun}s`;
}

const COUNT_WORDS = ['', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight'];

function listOf(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1) as string}`;
}

interface WorldInput {
  /** The idea and any outline text. */
  text: string;
  /** Speakers (without the narrator), who come first. */
  cast: readonly string[];
  genre: string;
  tone: string;
  level: string;
  seed: string;
  /** At least this many characters (invented when the text names too few). */
  minCharacters: number;
  /** Give unnamed kinds of character in the text ("robots") to characters without a role. */
  useUnnamedRoles: boolean;
  /** Where to read the quest and the objects, when not from all of `text`. */
  thingsText?: string;
}

function buildWorld(input: WorldInput): World {
  const genre = genreOf(input.genre);
  const kit = KITS[genre];
  const rng = new Random(hashString(`world:${input.seed}`));
  const reading = readIdea(input.text);
  // Things and the quest come from the idea (and the outline's opening) only, not from every summary.
  const focus = input.thingsText === undefined ? reading : readIdea(input.thingsText);

  const characters: string[] = [];
  const taken = new Set<string>();
  /** Other ways the text may call a character already listed ("Captain Vega", "Rosa"). */
  const aliases = new Set<string>();
  const add = (name: string, speaker: boolean): void => {
    const clean = name.trim().replace(/\s+/g, ' ');
    const key = clean.toLowerCase();
    if (!clean || taken.has(key) || (!speaker && aliases.has(key)) || NARRATOR_WORD.test(clean) || characters.length >= MAX_CHARACTERS) return;
    taken.add(key);
    characters.push(clean);
    aliases.add(shortName(clean).toLowerCase());
    for (const part of clean.split(' ')) if (!isTitle(part)) aliases.add(part.toLowerCase());
  };
  for (const name of input.cast) add(name, true);
  for (const name of reading.characters) add(name, false);
  const placeKeys = new Set(reading.places.map((p) => p.text.toLowerCase()));
  for (const name of rng.shuffle(kit.names)) {
    if (characters.length >= Math.max(2, input.minCharacters)) break;
    if (!placeKeys.has(name.toLowerCase())) add(name, false);
  }

  const roles = new Map<string, string>();
  for (const name of characters) {
    const role = reading.roles.get(name.toLowerCase());
    if (role) roles.set(name.toLowerCase(), role);
  }
  if (input.useUnnamedRoles && reading.unnamedRoles.length > 0) {
    let k = 0;
    for (const name of characters) {
      if (roles.has(name.toLowerCase()) || isTitle(name.split(' ')[0] ?? '')) continue;
      roles.set(name.toLowerCase(), reading.unnamedRoles[k % reading.unnamedRoles.length] as string);
      k += 1;
    }
  }

  const places = reading.places.filter((p) => !taken.has(p.text.toLowerCase()));
  const fallbackPlace = rng.pick(kit.places);
  const place = places[0] ? placeOf(places[0]) : { text: fallbackPlace[1], preposition: fallbackPlace[0] };

  const characterKeys = new Set(characters.map((c) => c.toLowerCase()));
  const usable = (phrase: string): boolean => !characterKeys.has(phrase.toLowerCase()) && !placeKeys.has(definite(phrase).toLowerCase()) && !placeKeys.has(phrase.toLowerCase());
  let quest = focus.quest !== undefined && usable(focus.quest) ? focus.quest : undefined;
  const questPlace = focus.quest !== undefined && !usable(focus.quest) ? places.find((p) => p.text.toLowerCase() === definite(focus.quest as string).toLowerCase()) : undefined;
  const things = focus.things.filter(usable);
  quest ??= things[0];
  let bare = false;
  if (quest === undefined && genre === 'explainer') {
    // An explainer is about the idea's subject even without an article: "how volcanoes work".
    const subject = reading.unnamedRoles[0] ? plural(reading.unnamedRoles[0]) : topicOf(input.thingsText ?? input.text);
    if (subject && usable(subject)) {
      quest = subject;
      bare = true;
    }
  }
  quest ??= rng.pick(kit.quests);
  const objects: string[] = [];
  const seen = new Set([keyOf(quest)]);
  for (const thing of things) {
    if (objects.length >= MAX_OBJECTS || seen.has(keyOf(thing))) continue;
    seen.add(keyOf(thing));
    objects.push(thing);
  }
  if (objects.length === 0) objects.push(rng.pick(kit.objects.filter((o) => keyOf(o) !== keyOf(quest as string))));
  // Where the journey leads: the idea's next place, else one of the genre's (never the setting).
  const second = places[1] ?? (questPlace !== places[0] ? questPlace : undefined);
  const elsewhere = kit.places.filter(([, p]) => p.toLowerCase() !== place.text.toLowerCase());
  const away = rng.pick(elsewhere.length > 0 ? elsewhere : kit.places);
  const dest = second ? placeOf(second) : { text: away[1], preposition: away[0] };

  return { kit, genre, tone: toneOf(input.tone), tier: tierOf(input.level), characters, roles, place, dest, quest, questThe: bare || (genre === 'explainer' && !/^(?:a|an|the|some) /i.test(quest)) ? quest : definite(quest), objects };
}

/** "a girl named Lina", "Ember the dragon", "two robots named Mira and Theo", "Captain Rosa Vega". */
function castList(world: World): string {
  const groups: Array<{ role?: string; names: string[] }> = [];
  for (const name of world.characters) {
    const role = world.roles.get(name.toLowerCase());
    const last = groups.at(-1);
    if (role && last?.role === role) last.names.push(name);
    else groups.push({ ...(role ? { role } : {}), names: [name] });
  }
  return listOf(
    groups.map(({ role, names }) => {
      if (!role) return listOf(names);
      if (names.length > 1) return `${COUNT_WORDS[names.length] ?? 'several'} ${plural(role)} named ${listOf(names)}`;
      const name = names[0] as string;
      return isPersonRole(role) ? `${article(role)} ${role} named ${name}` : `${name} the ${role}`;
    }),
  );
}

// ---------------------------------------------------------------------------------------
// Filling templates

const upperFirst = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
/** Lower-cases a sentence's first letter, unless it starts with "I" or a name. */
function lowerFirst(s: string): string {
  if (/^I(?:\b|')/.test(s)) return s;
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/**
 * Replaces {slots}, keeps [optional parts] only above the earliest reading level, and uses
 * richer words for the template's own text at the upper levels. One pass over the template.
 */
function fill(template: string, slot: (key: string) => string, tier: Tier): { text: string; slotFirst: boolean } {
  let out = '';
  let literal = '';
  /** The sentence starts with a slot whose value starts with a capital (a name): keep it when something is put before it. */
  let slotFirst = false;
  let i = 0;
  const n = template.length;
  while (i < n) {
    const ch = template[i] as string;
    if (ch === '[') {
      if (tier === 0) {
        const close = template.indexOf(']', i);
        i = close < 0 ? n : close + 1;
      } else {
        i += 1;
      }
      continue;
    }
    if (ch === ']') {
      i += 1;
      continue;
    }
    if (ch === '{') {
      const close = template.indexOf('}', i);
      const key = template.slice(i + 1, close);
      out += enrich(literal, tier);
      literal = '';
      const value = slot(key);
      if (out.trim() === '') slotFirst = value !== value.charAt(0).toLowerCase() + value.slice(1);
      out += value;
      i = close + 1;
      continue;
    }
    literal += ch;
    i += 1;
  }
  out += enrich(literal, tier);
  return { text: upperFirst(withArticles(out.replace(/\s+/g, ' ').trim())), slotFirst };
}

/** "a" before a vowel sound becomes "an" ("a odd" → "an odd"; "a unicorn" and "a one" keep "a"). One pass. */
function withArticles(text: string): string {
  return text.replace(/\b([Aa]) (?![oO]ne\b|[oO]nce\b|[eE]u)(?=[aeioAEIO]|u[^nst]|un[^i]|ho(?:ur|nest|nour)|Ho(?:ur|nest|nour))/g, '$1n ');
}

/**
 * The earliest readers' clauses: "A, and B." → ["A.", "B."], "A: b?" → ["A.", "B?"]. A sentence
 * cut at its coordinating conjunctions (not a question's) and at a colon between two clauses of
 * three words or more.
 */
function splitClauses(sentence: string): string[] {
  const end = sentence.at(-1);
  if (end !== '.' && end !== '!' && end !== '?') return [sentence];
  const body = sentence.slice(0, -1);
  const pieces = (end === '?' ? [body] : body.split(/, (?:and|but|so) /))
    .flatMap((p) => {
      const at = p.indexOf(': ');
      return at > 0 && countWords(p.slice(0, at)) >= 3 && countWords(p.slice(at + 2)) >= 3 ? [p.slice(0, at), p.slice(at + 2)] : [p];
    })
    .map((p) => p.trim())
    .filter((p) => p !== '');
  return pieces.length < 2 ? [sentence] : pieces.map((p, i) => `${upperFirst(p)}${i === pieces.length - 1 ? end : '.'}`);
}

/**
 * Older readers: a template's sentences run together, so a two-sentence line or introduction
 * reads as one: narration "A. B." → "A, and b."; a line "A. B." → "A; b." and "A! B." → "A; b!".
 * Only on the kits' own templates, where a sentence after the first starts with a literal word
 * or a name slot; a question stays a sentence of its own.
 */
function joinTemplate(template: string, kind: 'narration' | 'line'): string {
  let exclaimed = false;
  const joined = template.replace(kind === 'line' ? /([.!]) (?:(I\b|I'|\{)|([A-Z]))/g : /(\.) (?:(I\b|I'|\{)|([A-Z]))/g, (_m, stop: string, keep: string | undefined, lower: string | undefined) => {
    if (stop === '!') exclaimed = true;
    return `${kind === 'line' ? '; ' : ', and '}${keep ?? (lower as string).toLowerCase()}`;
  });
  return exclaimed && joined.endsWith('.') ? `${joined.slice(0, -1)}!` : joined;
}

/** A sentence ending in "." with a clause before the full stop. */
function extend(sentence: string, clause: string): string {
  return sentence.endsWith('.') ? `${sentence.slice(0, -1)}, ${clause}.` : sentence;
}

const normal = (sentence: string): string => sentence.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();

/**
 * Writes the sentences of one story (or one segment): hand-written ones first, then ones put
 * together from the kit's parts, never the same sentence twice.
 */
class Teller {
  private readonly used = new Set<string>();
  private readonly mentioned = new Map<string, number>();
  private readonly narrationDecks: string[][];
  private readonly lineDecks: string[][];
  private objectTurn = 0;
  private readonly rotations = new Map<readonly string[], string[]>();
  /** Who {x}, {y} and {voc} are. */
  focus: { x: string; y: string; voc: string };
  /** Always the full name (outline summaries, which the story reads back). */
  fullNames = false;
  /** Names a sentence may start with (characters, places, things) that keep their capital, longest first. */
  private readonly properNames: string[];

  constructor(
    private readonly world: World,
    private readonly rng: Random,
  ) {
    this.narrationDecks = world.kit.narration.map((d) => rng.shuffle(d));
    this.lineDecks = world.kit.lines.map((d) => rng.shuffle(d));
    const hero = world.characters[0] as string;
    const pal = world.characters[1] ?? hero;
    this.focus = { x: hero, y: pal, voc: pal };
    const names = [...world.characters.flatMap((c) => [c, shortName(c)]), world.place.text, world.dest.text, world.quest, world.questThe, ...world.objects];
    this.properNames = [...new Set(names.filter((n) => /^\p{Lu}/u.test(n)))].sort((a, b) => b.length - a.length);
  }

  /** The next item of a list, in a shuffled order, each once before any comes again. */
  private next(list: readonly string[]): string {
    let deck = this.rotations.get(list);
    if (!deck || deck.length === 0) {
      deck = this.rng.shuffle(list);
      this.rotations.set(list, deck);
    }
    return deck.shift() as string;
  }

  /** Marks sentences as already written (a segment's neighbours). */
  remember(sentences: readonly string[]): void {
    for (const s of sentences) this.used.add(normal(s));
  }

  /** First mention: the full name; later, mostly the short one ("Captain Vega"). */
  name(full: string): string {
    const count = this.mentioned.get(full) ?? 0;
    this.mentioned.set(full, count + 1);
    const short = shortName(full);
    return this.fullNames || count === 0 || short === full || count % 3 === 0 ? full : short;
  }

  private atPlace(p: Place): string {
    return `${p.preposition} ${p.text}`;
  }

  slot = (key: string): string => {
    const w = this.world;
    const tier = w.tier;
    switch (key) {
      case 'hero':
        return this.name(w.characters[0] as string);
      case 'pal':
        return this.name(w.characters[1] ?? (w.characters[0] as string));
      case 'x':
        return this.name(this.focus.x);
      case 'y':
        return this.name(this.focus.y);
      case 'voc':
        return shortName(this.focus.voc);
      case 'cast': {
        for (const c of w.characters) this.mentioned.set(c, (this.mentioned.get(c) ?? 0) + 1);
        return castList(w);
      }
      case 'place':
        return w.place.text;
      case 'atPlace':
        return this.atPlace(w.place);
      case 'dest':
        return w.dest.text;
      case 'atDest':
        return this.atPlace(w.dest);
      case 'quest':
        return w.questThe;
      case 'aQuest':
        return w.quest;
      case 'obj': {
        const o = w.objects[this.objectTurn % w.objects.length] as string;
        this.objectTurn += 1;
        return definite(o);
      }
      case 'objs':
        return listOf(w.objects);
      case 'mood':
        return this.rng.pick(w.tone.mood);
      case 'moodly':
        return this.rng.pick(w.tone.moodly);
      default: {
        const words = VOCABULARY[key];
        if (!words) throw new Error(`unknown template slot {${key}}`);
        return words[tier];
      }
    }
  };

  private accept(sentence: string): boolean {
    const key = normal(sentence);
    if (key === '' || this.used.has(key)) return false;
    this.used.add(key);
    return true;
  }

  /**
   * A filled template, dressed for the reading level and the tone (openers, asides, a tone word)
   * as far as `maxWords` allows, or undefined when that sentence was already written.
   */
  private render(template: string, kind: 'narration' | 'line', maxWords: number): string | undefined {
    const w = this.world;
    // The oldest readers' two-sentence templates read as one sentence.
    const { text, slotFirst } = fill(w.tier === 3 ? joinTemplate(template, kind) : template, this.slot, w.tier);
    if (this.used.has(normal(text))) return undefined;
    const fits = (candidate: string): boolean => countWords(candidate) <= maxWords;
    const lead = (word: string, sentence: string): string => `${word}, ${slotFirst ? sentence : lowerFirst(sentence)}`;
    let out = text;
    if (kind === 'narration' && w.tier === 0) {
      // The earliest readers get one clause per sentence: "The gravity switched off. Everything began to float."
      const pieces = splitClauses(text);
      // The tone, in one word: "Softly, the gravity switched off."
      if (this.rng.next() < 0.15) {
        const first = lead(upperFirst(this.next(w.tone.moodly)), pieces[0] as string);
        if (fits([first, ...pieces.slice(1)].join(' '))) pieces[0] = first;
      }
      if (pieces.some((p) => this.used.has(normal(p)))) return undefined;
      for (const p of pieces) this.used.add(normal(p));
      this.used.add(normal(text));
      return pieces.join(' ');
    }
    const tryOn = (candidate: string): void => {
      if (fits(candidate)) out = candidate;
    };
    if (kind === 'narration') {
      const roll = this.rng.next();
      if (roll < 0.2) tryOn(extend(out, enrich(this.next(w.tone.tails), w.tier)));
      else if (w.tier >= 2 && roll < ([0, 0, 0.65, 0.95][w.tier] as number)) tryOn(extend(out, enrich(this.next(w.kit.extensions), w.tier)));
      if (w.tier === 3 && this.rng.next() < 0.7) tryOn(`${fill(this.next(w.kit.openers), this.slot, w.tier).text} ${slotFirst ? out : lowerFirst(out)}`);
      if (out.startsWith(text) && w.tier >= 2 && this.rng.next() < (w.tier === 3 ? 1 : 0.3)) tryOn(lead(this.next(SENTENCE_ADVERBS[w.tier === 3 ? 1 : 0]), out));
    } else {
      if (w.tier >= 2 && this.rng.next() < (w.tier === 3 ? 0.85 : 0.5)) tryOn(extend(out, enrich(this.next(w.kit.lineTails), w.tier)));
      const roll = this.rng.next();
      if (roll < 0.3) tryOn(lead(this.next(w.tone.ex), out));
      else if (w.tier === 3 && roll < 0.7) tryOn(lead(this.next(SPOKEN_ADVERBS), out));
      // The earliest readers' lines, like their narration, one clause per sentence.
      const pieces = w.tier === 0 ? splitClauses(out) : [];
      if (pieces.length > 1) {
        if (this.used.has(normal(out)) || pieces.some((p) => this.used.has(normal(p)))) return undefined;
        for (const p of pieces) this.used.add(normal(p));
        this.used.add(normal(out));
        this.used.add(normal(text));
        return pieces.join(' ');
      }
    }
    if (!this.accept(out)) return undefined;
    this.used.add(normal(text));
    return out;
  }

  /** The story's first two sentences: who lives where, and what they look for. */
  intro(): string[] {
    const w = this.world;
    const first = fill(this.rng.pick(w.kit.intro), this.slot, w.tier).text;
    const quest = this.rng.pick(w.kit.questIntro);
    const second = fill(w.tier === 3 ? joinTemplate(quest, 'narration') : quest, this.slot, w.tier).text;
    this.accept(first);
    this.accept(second);
    return [first, second];
  }

  /**
   * Older readers: consecutive sentences of one narration folded into one ("A. B." → "A, and
   * b."), while the two have fewer than FOLD_CAP words between them. Adds at most a word a fold,
   * so it makes older readers' sentences longer even where a short audio story has no words to
   * spare. Readers up to grade 3 keep their sentences as they are.
   */
  fold(sentences: readonly string[]): string[] {
    const cap = FOLD_CAP[this.world.tier];
    if (cap === 0) return [...sentences];
    const out: string[] = [];
    for (const s of sentences) {
      const prev = out.at(-1);
      const [a, b] = [countWords(prev ?? ''), countWords(s)];
      // Two sentences, one of them short, that make one sentence of fewer than `cap` words.
      if (prev !== undefined && prev.endsWith('.') && /[.!]$/.test(s) && !NO_FOLD.test(s) && Math.min(a, b) < LONG_SENTENCE[this.world.tier] && a + b < cap) {
        // A semicolon where an "and" would follow another.
        const joiner = prev.includes(', and ') || s.includes(', and ') || this.rng.next() < 0.25 ? '; ' : ', and ';
        const joined = `${prev.slice(0, -1)}${joiner}${this.startsWithName(s) ? s : lowerFirst(s)}`;
        this.used.add(normal(joined));
        out[out.length - 1] = joined;
      } else {
        out.push(s);
      }
    }
    return out;
  }

  /** Whether a sentence starts with a name (a character, a place, a thing), whose capital stays. */
  private startsWithName(sentence: string): boolean {
    for (const name of this.properNames) {
      if (sentence.startsWith(name) && !/[\p{L}\p{N}]/u.test(sentence.charAt(name.length))) return true;
    }
    return false;
  }

  /**
   * The next template of a shuffled deck. Among the next few, the earliest readers take the one
   * with the shortest sentences, the oldest readers one that reads as a single sentence (a
   * question inside a line stays a sentence of its own), so reading level shows even where a
   * story has no words to spare.
   */
  private draw(deck: string[], kind: 'narration' | 'line'): string {
    const tier = this.world.tier;
    if (tier === 1 || tier === 2) return deck.shift() as string;
    const pieces = (t: string): number => 1 + (t.match(/[.!?] |, (?:and|but|so) |: /g)?.length ?? 0);
    // The earliest readers: fewest letters a sentence (short sentences of short words); a slot counts as a short name.
    const letters = (t: string): number => t.replace(/\[[^\]]*\]/g, '').replace(/\{[^}]*\}/g, 'name').replace(/[^A-Za-z]/g, '').length;
    const score = tier === 0 ? (t: string): number => letters(t) / pieces(t) : (t: string): number => (joinTemplate(t, kind).match(/[.!?] /g)?.length ?? 0);
    let best = 0;
    for (let i = 1; i < Math.min(tier === 0 ? EARLY_DRAW : 2, deck.length); i++) if (score(deck[i] as string) < score(deck[best] as string)) best = i;
    return deck.splice(best, 1)[0] as string;
  }

  /** One narration sentence for a part of the story (more for the earliest readers' split clauses). */
  narrate(part: Part, maxWords = Number.POSITIVE_INFINITY): string {
    const deck = this.narrationDecks[part] as string[];
    while (deck.length > 0) {
      const s = this.render(this.draw(deck, 'narration'), 'narration', maxWords);
      if (s) return s;
    }
    return this.made('narration', maxWords);
  }

  /** One spoken line for a part of the story, said to `focus.voc`. */
  speak(part: Part, maxWords = Number.POSITIVE_INFINITY): string {
    const deck = this.lineDecks[part] as string[];
    while (deck.length > 0) {
      const s = this.render(this.draw(deck, 'line'), 'line', maxWords);
      if (s) return s;
    }
    return this.made('line', maxWords);
  }

  /** A sentence put together from the kit's parts (agents, actions, props, places), never repeated. */
  private made(kind: 'narration' | 'line', maxWords: number): string {
    const k = this.world.kit;
    const frames = kind === 'narration' ? NARRATION_FRAMES : LINE_FRAMES;
    for (let attempt = 0; attempt < 40; attempt++) {
      const s = this.render(this.rng.pick(frames)(k, this.rng), kind, maxWords);
      if (s) return s;
    }
    // Every combination in turn: the space (thousands) is larger than any story.
    for (const frame of frames) {
      for (const template of frame.all(k)) {
        const s = this.render(template, kind, maxWords);
        if (s) return s;
      }
    }
    // Unreachable in practice; still a sentence rather than nothing.
    for (const frame of frames) {
      for (const template of frame.all(k)) {
        for (const clause of k.extensions) {
          const s = extend(fill(template, this.slot, this.world.tier).text, clause);
          if (this.accept(s)) return s;
        }
      }
    }
    return fill(k.narration[1][0] as string, this.slot, this.world.tier).text;
  }
}

interface Frame {
  (kit: GenreKit, rng: Random): string;
  all(kit: GenreKit): Iterable<string>;
}

function frame(parts: (kit: GenreKit) => ReadonlyArray<readonly string[]>, join: (choice: readonly string[]) => string): Frame {
  const f = ((kit: GenreKit, rng: Random) => join(parts(kit).map((list) => rng.pick(list)))) as Frame;
  f.all = function* (kit: GenreKit) {
    const lists = parts(kit);
    const idx = lists.map(() => 0);
    for (;;) {
      yield join(lists.map((list, i) => list[idx[i] as number] as string));
      let i = 0;
      while (i < lists.length) {
        idx[i] = (idx[i] as number) + 1;
        if ((idx[i] as number) < (lists[i] as readonly string[]).length) break;
        idx[i] = 0;
        i += 1;
      }
      if (i === lists.length) return;
    }
  };
  return f;
}

const WHO = ['{x}', '{y}', '{hero}', '{pal}'];
const NARRATION_FRAMES: Frame[] = [
  frame((k) => [[...WHO, ...k.agents], k.actions, k.props, ['', ...k.spots]], ([a, b, c, d]) => `${a} ${b} ${c}${d ? ` ${d}` : ''}.`),
  frame((k) => [k.props, k.propVerbs, ['', ...k.spots]], ([a, b, c]) => `${a} ${b}${c ? ` ${c}` : ''}.`),
  frame((k) => [k.spots, [...WHO, ...k.agents], k.actions, k.props], ([a, b, c, d]) => `${a}, ${b} ${c} ${d}.`),
];
const LINE_FRAMES: Frame[] = [
  frame((k) => [k.asks, k.props], ([a, b]) => `{voc}, ${a} ${b}!`),
  frame((k) => [k.props, k.spots], ([a, b]) => `Did you {see} ${a} ${b}?`),
  frame((k) => [k.props, k.hopes], ([a, b]) => `I think ${a} ${b}.`),
  frame((k) => [k.props, k.propVerbs], ([a, b]) => `Look, ${a} ${b} again!`),
];
// ---------------------------------------------------------------------------------------
// Regenerating one segment: what the user asked for

type TraitName = 'brave' | 'funny' | 'spooky' | 'sad' | 'happy' | 'kind' | 'calm' | 'exciting' | 'mysterious' | 'clever' | 'grumpy';

const TRAIT_WORDS: ReadonlyMap<string, TraitName> = new Map(
  (
    [
      ['brave', 'braver brave bravely bravest bolder bold boldly courageous courage fearless fearlessly heroic confident confidently'],
      ['funny', 'funnier funny funniest sillier silly humorous humour humor hilarious jokes joke laugh laughs comic comedic goofier goofy'],
      ['spooky', 'scarier scary spookier spooky creepier creepy eerier eerie frightening darker'],
      ['sad', 'sadder sad gloomier gloomy tearful melancholy emotional'],
      ['happy', 'happier happy cheerful cheerier joyful joyous merrier'],
      ['kind', 'kinder kind nicer nice gentler gentle friendlier friendly warmer sweeter caring'],
      ['calm', 'calmer calm quieter peaceful softer relaxed soothing'],
      ['exciting', 'exciting thrilling dramatic intense action faster'],
      ['mysterious', 'mysterious mystery suspense suspenseful intriguing secretive'],
      ['clever', 'smarter smart clever cleverer wiser wise brilliant'],
      ['grumpy', 'angrier angry grumpier grumpy crankier cranky meaner rude'],
    ] as const
  ).flatMap(([trait, list]) => list.split(' ').map((w) => [w, trait] as [string, TraitName])),
);
const OPPOSITE: Partial<Record<TraitName, TraitName>> = { spooky: 'calm', sad: 'happy', happy: 'sad', exciting: 'calm', calm: 'exciting', grumpy: 'kind', kind: 'grumpy', funny: 'calm' };

interface TraitBank {
  /** Spoken by the character the wish is about. */
  self: readonly string[];
  /** Spoken by someone else about {t}. */
  about: readonly string[];
  /** Narration about {t}. */
  scene: readonly string[];
  /** Words whose sentences no longer fit. */
  against: readonly string[];
}

const TRAITS: Record<TraitName, TraitBank> = {
  brave: {
    self: ["I'm not afraid anymore, and I'll go first!", 'Stand behind me, because I can do this.', 'Whatever is out there, I will face it head-on.'],
    about: ['Look at {t}, stepping forward without a single shiver!', '{t}, you are the bravest friend anyone could ask for!'],
    scene: ['{t} took a deep breath and stepped forward first, steady as a rock.', '{t} squared both shoulders and walked straight toward the danger.', 'Without a moment of doubt, {t} led the way.'],
    against: ['scared', 'afraid', 'frightened', 'terrified', 'nervous', 'trembled', 'trembling', 'shaking', 'hid', 'hide', 'hiding', 'timid', 'worried', 'whimpered', 'fear'],
  },
  funny: {
    self: ['I tried to look serious, but my sock just fell off.', 'And that is why I never let a goose hold my sandwich!', 'Did anyone else hear my tummy? It sounded like a trumpet.'],
    about: ['{t}, your hat is on backwards, and it suits you!', 'Only {t} could trip over a shadow and land in a bow.'],
    scene: ['{t} tripped over a bucket, did a perfect somersault and landed with a bow.', 'Just then {t} sneezed so loudly that a pigeon fell off the roof in surprise.', 'A very confused duck waddled in, looked at {t}, and waddled straight back out.'],
    against: [],
  },
  spooky: {
    self: ['Did you hear that? Something is breathing in the dark.', "I don't like this, because the shadows are moving."],
    about: ['{t}, why is there a cold hand on my shoulder?', "Don't move, {t}, something is right behind you."],
    scene: ['A cold draught slid under the door, and {t} heard a floorboard creak.', 'Shadows stretched long and thin across the walls, and {t} shivered.', 'Somewhere far away a bell tolled, and {t} held very still.'],
    against: ['sunny', 'cheerful', 'laughed', 'giggled'],
  },
  sad: {
    self: ['I miss how things used to be.', "I wish we didn't have to say goodbye."],
    about: ['{t}, it is all right to feel sad sometimes.', "Come here, {t}, you don't have to be alone."],
    scene: ['{t} looked down at the ground, and a single tear rolled away.', 'For a long moment {t} said nothing at all, feeling small and far from home.'],
    against: ['laughed', 'giggled', 'cheered', 'happy', 'hooray'],
  },
  happy: {
    self: ["This is the happiest I've ever been!", 'I feel like I could dance all the way home!'],
    about: ['{t}, your smile is brighter than the sun today!', "Look how happy {t} is, it's catching!"],
    scene: ['{t} laughed out loud, bright as sunshine.', 'A grin spread across the face of {t} and would not go away.'],
    against: ['sad', 'cried', 'tear', 'tears', 'gloomy', 'miserable'],
  },
  kind: {
    self: ['Here, take my coat, you need it more than I do.', "Don't worry, I'll help you carry that."],
    about: ['{t}, that was the kindest thing anyone has done for me.', 'Thank you, {t}, for always looking out for others.'],
    scene: ['{t} shared the last piece of bread without a second thought.', '{t} knelt down to help a tiny beetle back onto its feet.'],
    against: ['shouted', 'snapped', 'grumbled', 'rude', 'mean'],
  },
  calm: {
    self: ["Let's take a slow breath together, because we're safe now.", 'Everything is all right, so there is no need to hurry.'],
    about: ['{t}, sit with me a while and listen to the quiet.', 'Easy now, {t}, one step at a time.'],
    scene: ['Everything grew still and soft, and {t} breathed slowly.', 'A gentle breeze settled around {t} like a warm blanket.'],
    against: ['screamed', 'shouted', 'panicked', 'crashed', 'roared'],
  },
  exciting: {
    self: ["Go, go, go! There's no time to lose!", 'Hold on tight, because this is where it gets wild!'],
    about: ['Run, {t}, run! It is right behind us!', "{t}, catch! Now jump, and don't look back!"],
    scene: ['Suddenly everything happened at once, and {t} sprang into action!', '{t} leapt over the gap just as the ground gave way behind.'],
    against: ['slowly', 'sleepy', 'yawned', 'dozed'],
  },
  mysterious: {
    self: ["Something here doesn't add up, so look closer.", 'I have a feeling someone has been here before us.'],
    about: ['{t}, did you see that? It vanished the moment I looked.', 'Keep your voice down, {t}, because we are being watched.'],
    scene: ['Nobody else noticed the small, strange mark that {t} found on the wall.', 'A door that had been locked was now open a crack, and {t} wondered why.'],
    against: [],
  },
  clever: {
    self: ["Wait, I've got it! If we turn the map over, the path appears!", "I've worked it out, and it's simpler than it looks."],
    about: ['{t}, that is the smartest idea anyone has had all day!', 'Only {t} would think of using the moon as a clock.'],
    scene: ['{t} studied the problem for a moment and found a clever way around it.', 'With a quick sketch, {t} worked out exactly where to go.'],
    against: ['confused', 'puzzled', 'stuck'],
  },
  grumpy: {
    self: ['Hmph, I still think this is a terrible idea.', "Fine, but don't expect me to smile about it."],
    about: ['{t}, stop being so cheerful, because it is far too early.', 'Honestly, {t}, you never listen.'],
    scene: ['{t} folded both arms and scowled at everyone.', '{t} stomped ahead, muttering under every breath.'],
    against: ['smiled', 'laughed', 'giggled', 'cheerful'],
  },
};

interface Weather {
  keys: readonly string[];
  /** Narration; {P} is the user's phrase at the start of the sentence, {p} elsewhere. */
  scene: string;
  line: string;
}

/** What "add snow" / "make it rain" adds, by the words that ask for it. */
const WEATHERS: readonly Weather[] = [
  { keys: ['snow', 'snowy', 'snowing', 'snowflakes', 'snowflake', 'snowfall'], scene: '{P} drifted down and dusted everything white.', line: 'Look at the {p}, everything is turning white!' },
  { keys: ['rain', 'rainy', 'raining', 'drizzle', 'raindrops'], scene: '{P} pattered on the roofs and made little puddles everywhere.', line: "Feel that? It's the {p}, so let's find some shelter!" },
  { keys: ['thunder', 'thunderstorm'], scene: '{P} rumbled across the sky like a giant drum.', line: "Did you hear the {p}? It's getting closer!" },
  { keys: ['lightning'], scene: '{P} flashed across the clouds, bright as day for a moment.', line: 'Whoa, did you see the {p}? Count the seconds!' },
  { keys: ['storm', 'stormy'], scene: '{P} rolled in, bending the trees and rattling every window.', line: 'Hold on, the {p} is nearly here!' },
  { keys: ['wind', 'windy', 'breeze', 'gust', 'gale'], scene: '{P} swept through, tugging at coats and scattering leaves.', line: 'Hold on to your hat, the {p} is picking up!' },
  { keys: ['fog', 'foggy', 'mist', 'misty'], scene: '{P} rolled in and softened every shape.', line: 'I can hardly see through the {p}!' },
  { keys: ['stars', 'starry', 'star'], scene: '{P} twinkled high overhead, one after another.', line: 'Look up at the {p}, there are so many!' },
  { keys: ['moon', 'moonlight', 'moonlit'], scene: '{P} rose, round and silver, above the rooftops.', line: 'Look how the {p} lights up the whole path!' },
  { keys: ['sun', 'sunshine', 'sunny', 'sunlight'], scene: '{P} broke through the clouds and warmed every face.', line: 'Feel the {p}, it is warm at last!' },
  { keys: ['rainbow', 'rainbows'], scene: '{P} arched across the sky in every colour.', line: 'Look, the {p} has every colour in it!' },
  { keys: ['night', 'nighttime', 'dark', 'darkness'], scene: '{P} fell, and the first lamps glowed in the windows.', line: 'The {p} is here, so stay close to the lantern.' },
];
const WEATHER_BY_WORD: ReadonlyMap<string, Weather> = new Map(WEATHERS.flatMap((w) => w.keys.map((k) => [k, w] as [string, Weather])));
/** The noun a weather word stands for when it is not one ("snowy" → "snow"). */
const WEATHER_NOUN: Record<string, string> = { snowy: 'snow', snowing: 'snow', rainy: 'rain', raining: 'rain', stormy: 'storm', windy: 'wind', foggy: 'fog', misty: 'mist', starry: 'stars', star: 'stars', moonlit: 'moonlight', sunny: 'sunshine', nighttime: 'night', dark: 'night' };

const SPEECH_WORDS = new Set(['say', 'says', 'said', 'saying', 'speak', 'speaks', 'speaking', 'spoken', 'line', 'lines', 'instead', 'voice', 'voiced', 'read', 'reads', 'tell', 'tells', 'give', 'gives', 'hand', 'assign', 'dialogue', 'talk', 'talks', 'ask', 'asks', 'narrate', 'narrates']);
const NOT_THE_SPEAKER = new Set(['of', 'from', 'than', 'not', 'without']);
const ADD_WORDS = new Set(['add', 'adds', 'adding', 'include', 'includes', 'put', 'show', 'shows', 'mention', 'mentions', 'bring', 'insert', 'with', 'more', 'feature', 'there']);
const ADD_FILLER = new Set(['in', 'some', 'more', 'a', 'an', 'the', 'lots', 'lot', 'of', 'plenty', 'bit', 'extra', 'also', 'few', 'should', 'be', 'is', 'are', 'and']);
const ADD_STOP = new Set(['to', 'in', 'on', 'at', 'for', 'with', 'so', 'but', 'then', 'please', 'make', 'let', 'give', 'into', 'onto', 'from', 'because', 'while', 'when', 'it', 'this', 'that', 'them', 'there', 'here', 'too', 'as', 'if', 'instead', 'say', 'says', 'speak', 'and', 'or']);
const SHORTER_WORDS = new Set(['shorter', 'short', 'shorten', 'brief', 'briefer', 'trim', 'cut', 'concise', 'condense', 'tighter', 'fewer']);
const LONGER_WORDS = new Set(['longer', 'lengthen', 'expand', 'extend', 'elaborate', 'detailed', 'detail', 'details', 'fuller']);
const SIMPLER_WORDS = new Set(['simpler', 'simple', 'simplify', 'easier', 'easy', 'younger', 'plainer']);
const MASS_NOUNS = new Set(['snow', 'rain', 'water', 'music', 'light', 'fire', 'smoke', 'sand', 'gold', 'treasure', 'magic', 'fog', 'mist', 'wind', 'sunshine', 'laughter', 'bread', 'food', 'candy', 'thunder', 'lightning', 'moonlight', 'sunlight', 'glitter', 'confetti', 'dust', 'ice', 'grass', 'honey', 'chocolate', 'cake', 'tea', 'soup', 'mud', 'steam', 'sparkles', 'darkness', 'night']);

interface Wish {
  speaker?: string;
  traits: Array<{ trait: TraitName; target?: string }>;
  additions: string[];
  shorter: boolean;
  longer: boolean;
  simpler: boolean;
}

/** Reads a request such as "make Lina braver", "let Ember say this instead", "add falling snow". */
function readWish(request: string, speakers: readonly string[], from: string): Wish {
  const tokens = tokenize(request);
  const lower = tokens.map((t) => t.lower);
  const mentions = findMentions(request, speakers, 32);
  const tokenAt = (offset: number): number => {
    // The first token starting at or after `offset` (tokens are in order): a binary search.
    let lo = 0;
    let hi = tokens.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((tokens[mid] as Token).start < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  // Traits, and whom they are about.
  const traits: Wish['traits'] = [];
  const seenTraits = new Set<TraitName>();
  const namesInRequest = namesIn(request);
  for (let i = 0; i < tokens.length; i++) {
    const base = TRAIT_WORDS.get(lower[i] as string);
    if (!base) continue;
    const negated = i > 0 && (lower[i - 1] === 'less' || lower[i - 1] === 'not' || lower[i - 1] === 'no');
    const trait = negated ? OPPOSITE[base] : base;
    if (!trait || seenTraits.has(trait)) continue;
    seenTraits.add(trait);
    const start = (tokens[i] as Token).start;
    let target: string | undefined;
    for (const m of mentions) if (m.index + m.length <= start && start - (m.index + m.length) <= 24 && m.name !== NARRATOR) target = m.name;
    target ??= namesInRequest.find((n) => !NARRATOR_WORD.test(n));
    traits.push({ trait, ...(target ? { target } : {}) });
  }
  const targets = new Set(traits.map((t) => t.target));

  // A new speaker: named, with a word about speaking.
  const speech = lower.some((w) => SPEECH_WORDS.has(w));
  let speaker: string | undefined;
  for (const m of mentions) {
    if (m.name.toLowerCase() === from.toLowerCase()) continue;
    const at = tokenAt(m.index);
    const before = lower[at - 1] ?? '';
    const after = lower[tokenAt(m.index + m.length)] ?? '';
    if (NOT_THE_SPEAKER.has(before) || (before === 'of' && lower[at - 2] === 'instead')) continue;
    const direct = ['say', 'says', 'speak', 'speaks', 'read', 'reads', 'tell', 'tells', 'narrate', 'narrates', 'should'].includes(after) || ['to', 'let', 'have', 'by'].includes(before);
    if (!direct && (!speech || targets.has(m.name))) continue;
    if (!wholeWordPattern(m.name, 'i').test(request)) continue; // exactly the normaliser's rule
    speaker = m.name;
    break;
  }

  // Things to add: "add falling snow and a lantern", "more rain and thunder", "make it snowy".
  const additions: string[] = [];
  const addKeys = new Set<string>();
  const pushAddition = (phrase: string): void => {
    const key = phrase.toLowerCase().replace(/^(?:a|an|the|some) /, '');
    if (key === '' || addKeys.has(key) || additions.length >= 3 || NARRATOR_WORD.test(phrase)) return;
    addKeys.add(key);
    additions.push(phrase);
  };
  for (let i = 0; i < tokens.length; i++) {
    if (!ADD_WORDS.has(lower[i] as string)) continue;
    if (lower[i] === 'there' && lower[i + 1] !== 'should' && lower[i + 1] !== 'is' && lower[i + 1] !== 'are') continue;
    if (lower[i] === 'with' && i !== 0) continue;
    let j = i + 1;
    while (j < tokens.length && ADD_FILLER.has(lower[j] as string) && j - i < 4) j += 1;
    let phrase: string[] = [];
    const article = (tokens[j - 1] && ['a', 'an', 'the'].includes(lower[j - 1] as string) ? (tokens[j - 1] as Token).text.toLowerCase() : '') as string;
    let art = article;
    for (; j < tokens.length && j - i < 14; j++) {
      const t = tokens[j] as Token;
      const w = lower[j] as string;
      if (t.punctBefore !== '' && t.punctBefore !== '-' && phrase.length > 0) break;
      if (w === 'and' || w === 'or') {
        if (phrase.length > 0) pushAddition([art, ...phrase].filter(Boolean).join(' '));
        phrase = [];
        art = '';
        while (j + 1 < tokens.length && ADD_FILLER.has(lower[j + 1] as string) && lower[j + 1] !== 'and') {
          if (['a', 'an', 'the'].includes(lower[j + 1] as string)) art = lower[j + 1] as string;
          j += 1;
        }
        continue;
      }
      if (ADD_STOP.has(w) || TRAIT_WORDS.has(w) || SHORTER_WORDS.has(w) || LONGER_WORDS.has(w) || w.length > 30 || phrase.length >= 4) break;
      phrase.push(t.text);
    }
    if (phrase.length > 0) pushAddition([art, ...phrase].filter(Boolean).join(' '));
    i = j - 1;
  }
  for (const w of lower) {
    if (!WEATHER_BY_WORD.has(w)) continue;
    const noun = WEATHER_NOUN[w] ?? w;
    if (![...addKeys].some((k) => k.split(' ').some((part) => WEATHER_BY_WORD.get(part) === WEATHER_BY_WORD.get(w)))) pushAddition(noun);
  }

  return {
    ...(speaker ? { speaker } : {}),
    traits,
    additions,
    shorter: lower.some((w) => SHORTER_WORDS.has(w)),
    longer: lower.some((w) => LONGER_WORDS.has(w)),
    simpler: lower.some((w) => SIMPLER_WORDS.has(w)),
  };
}

/** A sentence that adds what the user asked for, as narration or as something a character says. */
function additionSentence(phrase: string, spoken: boolean): string {
  const words = phrase.toLowerCase().split(' ');
  const weather = words.map((w) => WEATHER_BY_WORD.get(w)).find((w) => w !== undefined);
  const bare = words[0] !== 'a' && words[0] !== 'an' && words[0] !== 'the' && words[0] !== 'some';
  const lastWord = words.at(-1) ?? '';
  const countable = !MASS_NOUNS.has(lastWord) && !lastWord.endsWith('s') && !weather;
  const np = bare && countable ? `${article(phrase)} ${phrase}` : phrase;
  if (weather) {
    const p = phrase.replace(/^(?:a|an|the|some) /i, '');
    const needsArticle = ['rainbow', 'moon', 'storm'].includes(lastWord) && bare;
    const lead = needsArticle ? `${article(p)} ${p}` : p;
    return spoken ? weather.line.replace('{p}', p) : upperFirst(weather.scene.replace('{P}', lead));
  }
  return spoken ? `Look over there at ${definite(np)}!` : `Then ${np} appeared nearby, and everyone turned to look.`;
}

/** "Lina found the key." said by Lina: "I found the key." */
function toFirstPerson(sentence: string, speaker: string): string {
  for (const name of [speaker, shortName(speaker)]) {
    if (sentence.startsWith(`${name}'s `)) return `My ${sentence.slice(name.length + 3)}`;
    if (sentence.startsWith(`${name} `)) return `I ${sentence.slice(name.length + 1)}`;
  }
  return sentence;
}

/** Replaces whole-word mentions of `names` in a text by `by`. Linear. */
function replaceMentions(text: string, names: readonly string[], by: string): string {
  const found = findMentions(text, names, 64);
  if (found.length === 0) return text;
  let out = '';
  let last = 0;
  for (const m of found) {
    if (m.index < last) continue;
    out += text.slice(last, m.index) + by;
    last = m.index + m.length;
  }
  return out + text.slice(last);
}

/** Splits long sentences and uses the earliest readers' words ("an enormous door" → "a big door"). */
function simplify(sentence: string): string[] {
  const easy = sentence.replace(/\b(?:([Aa]n?) )?([A-Za-z]+)/g, (whole: string, art: string | undefined, w: string) => {
    const plain = SIMPLER.get(w.toLowerCase());
    if (!plain) return whole;
    const word = w.charAt(0) === w.charAt(0).toUpperCase() ? upperFirst(plain) : plain;
    if (!art) return word;
    const fixed = article(plain);
    return `${art.charAt(0) === 'A' ? upperFirst(fixed) : fixed} ${word}`;
  });
  const end = /[.!?]$/.test(easy) ? (easy.at(-1) as string) : '.';
  return easy
    .split(/,\s+(?:and|but|so|while|as)\s+|;\s+/)
    .map((p) => p.trim().replace(/[.!?]+$/, ''))
    .filter((p) => p !== '')
    .map((p) => `${upperFirst(p)}${end}`);
}

/** About half as long: fewer sentences, or one sentence cut at its first clause. */
function shorten(sentences: readonly string[]): string[] {
  if (sentences.length >= 2) return sentences.slice(0, Math.min(sentences.length - 1, Math.ceil(sentences.length / 2)));
  const only = sentences[0] ?? '';
  const end = /[.!?]$/.test(only) ? (only.at(-1) as string) : '.';
  for (const cut of [', ', '; ', ' and ', ' but ', ' while ', ' because ']) {
    const at = only.indexOf(cut);
    if (at > 0 && countWords(only.slice(0, at)) >= 3) return [`${only.slice(0, at)}${end}`];
  }
  return [only];
}

// ---------------------------------------------------------------------------------------
// The engine

export class OfflineStoryWriter implements TextModel {
  readonly provider = 'offline-story-writer';

  async generate(call: TextCall): Promise<TextOutput> {
    call.signal?.throwIfAborted();
    const data = this.write(call.task, call.seed);
    const text = JSON.stringify(data);
    // Streamed in small pieces, as a model writes, so listeners see the prose grow.
    if (call.onDelta) for (let i = 0; i < text.length; i += DELTA_CHARS) call.onDelta(text.slice(i, i + DELTA_CHARS));
    return { data, model: 'offline-story-writer-v1', usage: { inputTokens: countWords(call.prompt.user), outputTokens: countWords(text) } };
  }

  write(task: TextTask, seed: string): unknown {
    const rng = new Random(hashString(`${task.kind}:${seed}`));
    switch (task.kind) {
      case 'topics':
        return this.topics(task.input, rng);
      case 'outline':
        return this.outline(task.input, rng, seed);
      case 'story': {
        const story = this.story(task.input, task.speakers, task.shape, rng, seed, false);
        const target = task.shape.targetWords;
        if (!target) return story;
        // Short audio stories are mostly fixed cost (the introduction, a sentence for every
        // segment); should the dressing still have taken one past what the normaliser accepts,
        // write it again, the same way but with plain sentences only.
        const words = story.story_parts.reduce((n, p) => n + p.sections.reduce((m, s) => m + s.segments.reduce((k, g) => k + countWords(g.segment_content), 0), 0), 0);
        if (words <= Math.floor(target * AUDIO_WORDS_BAND.max)) return story;
        return this.story(task.input, task.speakers, task.shape, new Random(hashString(`${task.kind}:${seed}`)), seed, true);
      }
      case 'segment':
        return this.segment(task.input, task.speakers, rng, seed);
    }
  }

  private topics(input: TopicsRequest, rng: Random) {
    const topics = input.topics.split(',').map((t) => t.trim()).filter(Boolean);
    const list = topics.length > 1 ? `${topics.slice(0, -1).join(', ')} and ${topics.at(-1)}` : (topics[0] ?? 'discovery');
    const fiction = input.genre === 'fiction';
    return {
      subject_category: fiction ? `Fiction: an original story about ${list}` : `Non-fiction: an explainer on ${list}`,
      scope_coverage: fiction
        ? `Follows ${rng.pick(['one young hero', 'two unlikely friends', 'a small family', 'a curious class'])} as ${list} shape a single adventure from start to finish.`
        : `Covers what ${list} ${topics.length > 1 ? 'are' : 'is'}, how ${topics.length > 1 ? 'they work' : 'it works'}, and why ${topics.length > 1 ? 'they matter' : 'it matters'} in everyday life.`,
      structure: fiction
        ? 'Beginning that sets up the world and the wish, a middle where the plan goes wrong, and an end where the hero changes.'
        : 'Opening question, three short explanations with examples, and a closing summary with one thing to try.',
      source_types: fiction ? `Folk tales, picture books and real facts about ${list} woven into the plot.` : `Encyclopedias, museum guides and interviews with people who work with ${list}.`,
      target_audience: rng.pick(['Readers aged 6-8 and the adults who read with them', 'Confident readers aged 8-11', 'Young teens aged 11-14']),
      tone: rng.pick(['Warm and curious', 'Playful and brave', 'Calm and wondering', 'Lively and funny']),
    };
  }

  private outline(input: OutlineRequest, rng: Random, seed: string) {
    const castSize = input.number_of_speakers - 1;
    const world = buildWorld({
      text: input.user_input_description,
      cast: [],
      genre: input.genre,
      tone: input.tone,
      level: input.reading_level,
      seed,
      minCharacters: castSize,
      useUnnamedRoles: true,
    });
    const cast = world.characters.slice(0, castSize);
    // Summaries in plain words and full names, so the story can read them back.
    const teller = new Teller({ ...world, tier: 1 }, rng);
    teller.fullNames = true;
    return {
      speaker_names: [NARRATOR, ...cast],
      story_parts: STORY_PARTS.map((part, i) => ({
        story_part: part,
        story_part_summary: clean(fill(rng.pick(world.kit.summary[i] as readonly string[]), teller.slot, 1).text),
        story_part_speakers: [NARRATOR, ...(i === 0 ? cast.slice(0, 2) : cast)],
      })),
    };
  }

  /** A whole story; `plain` writes every sentence undressed (no openers, asides or tails). */
  private story(input: StoryRequest, speakers: string[], shape: StoryShape, rng: Random, seed: string, plain: boolean) {
    const cast = speakers.filter((n) => n !== NARRATOR);
    const byKey = new Map(cast.map((n) => [n.toLowerCase(), n]));
    const text = [input.user_input_description ?? '', ...input.story_outline_description.map((p) => p.story_part_summary)].join('\n');
    const opening = input.story_outline_description.find((o) => o.story_part.trim().toLowerCase() === 'beginning') ?? input.story_outline_description[0];
    const thingsText = `${input.user_input_description ?? ''}\n${opening?.story_part_summary ?? ''}`;
    const world = buildWorld({ text, thingsText, cast, genre: input.genre, tone: input.tone, level: input.reading_level, seed, minCharacters: 2, useUnnamedRoles: false });
    const teller = new Teller(world, rng);
    const target = shape.targetWords;
    const spoken = new Set<string>();
    let written = 0;
    let sectionNum = 0;
    let segmentNum = 0;
    let turn = 0;

    const story_parts = STORY_PARTS.map((part, p) => {
      const outlinePart = input.story_outline_description.find((o) => o.story_part.trim().toLowerCase() === part);
      const listed: string[] = [];
      for (const name of outlinePart?.story_part_speakers ?? []) {
        const canonical = byKey.get(name.trim().replace(/\s+/g, ' ').toLowerCase());
        if (canonical && !listed.includes(canonical)) listed.push(canonical);
      }
      const actors = listed.length > 0 ? listed : cast;
      const count = shape.sectionsPerPart[p] as number;
      const sections: Array<{ section_num: number; segments: Array<{ segment_num: number; segment_content: string; speaker: string }> }> = [];
      for (let k = 0; k < count; k++) {
        sectionNum += 1;
        /** Sections still to come after this one. */
        const after = shape.totalSections - sectionNum;
        const budget = target ? Math.max(0, (target - written) / (after + 1)) : 0;
        // Who speaks here: first those of this part who have not spoken yet, then in turn.
        const pending = actors.filter((a) => !spoken.has(a));
        let lines = actors.length === 0 ? 0 : Math.max(1, Math.ceil(pending.length / (count - k)));
        if (target && actors.length > 1 && budget >= 70) lines = Math.max(lines, 2);
        lines = Math.min(lines, Math.max(1, actors.length));
        const who: string[] = [];
        for (const a of pending) if (who.length < lines) who.push(a);
        for (let r = 0; who.length < lines && r < actors.length; r++) {
          const a = actors[(turn + r) % actors.length] as string;
          if (!who.includes(a)) who.push(a);
        }
        turn += 1;
        const others = world.characters.filter((c) => !who.includes(c));
        const x = who[0] ?? (world.characters[sectionNum % world.characters.length] as string);
        const y = who.find((c) => c !== x) ?? others.find((c) => c !== x) ?? (world.characters.find((c) => c !== x) as string | undefined) ?? x;

        // The introduction first: in a short audio story it is much of the first section's share.
        const narration: string[] = sectionNum === 1 ? teller.intro() : [];
        /** Words of this section written so far. */
        let sectionWords = narration.reduce((n, s) => n + countWords(s), 0);
        const spokenLines: Array<{ speaker: string; text: string }> = [];
        // Audio: a line gets a share of the section's words, narration the rest; older readers'
        // sentences keep their length while the story stays well inside the accepted band: a
        // sentence is dressed up only while what is written, the sentence and a bare reserve for
        // every section still to come fit under the soft ceiling (the budget alone cannot see
        // that a short story's fixed cost is spent, and goes to zero once it is).
        const roomy = (extra: number): boolean => !plain && target !== undefined && written + sectionWords + extra + after * BARE_SECTION[world.tier] <= target * SOFT_CEILING;
        const floor = LONG_SENTENCE[world.tier];
        for (const speaker of who) {
          const listener = who.find((c) => c !== speaker) ?? world.characters.find((c) => c !== speaker) ?? speaker;
          teller.focus = { x, y, voc: listener };
          const lineRoom = !target ? Number.POSITIVE_INFINITY : plain ? 1 : Math.max(roomy(floor) ? floor : 8, Math.floor(budget * 0.35));
          const text = clean(teller.speak(p as Part, lineRoom));
          spokenLines.push({ speaker, text });
          sectionWords += countWords(text);
          spoken.add(speaker);
        }
        teller.focus = { x, y, voc: y };
        if (target) {
          while (narration.length === 0 || sectionWords < budget) {
            const s = teller.narrate(p as Part, plain ? 1 : Math.max(1, budget - sectionWords, roomy(floor) ? floor : 0));
            narration.push(s);
            sectionWords += countWords(s);
          }
        } else {
          while (narration.length < 2) narration.push(teller.narrate(p as Part));
        }
        // Older readers, where the story has no words left to dress sentences up: fewer, longer
        // sentences instead, so reading level still shows in a short audio story.
        if (target && (plain || !roomy(0))) narration.splice(0, narration.length, ...teller.fold(narration));

        // Narration first, then the lines; in audio, narration between the lines too.
        const segments: Array<{ segment_num: number; segment_content: string; speaker: string }> = [];
        const push = (speaker: string, content: string): void => {
          segmentNum += 1;
          written += countWords(content);
          segments.push({ segment_num: segmentNum, segment_content: content, speaker });
        };
        const chunks = target ? Math.max(1, Math.min(narration.length, spokenLines.length)) : 1;
        let next = 0;
        for (let c = 0; c < chunks; c++) {
          const take = Math.ceil((narration.length - next) / (chunks - c));
          push(NARRATOR, clean(narration.slice(next, next + take).join(' ')));
          next += take;
          if (chunks > 1) push((spokenLines[c] as { speaker: string }).speaker, (spokenLines[c] as { text: string }).text);
        }
        for (const line of spokenLines.slice(chunks > 1 ? chunks : 0)) push(line.speaker, line.text);
        sections.push({ section_num: sectionNum, segments });
      }
      return { story_part: part, sections };
    });
    return { speaker_names: speakers, story_parts };
  }

  private segment(input: SegmentRequest, speakers: string[], rng: Random, seed: string) {
    const original = input.original_story_segment;
    const canonical = (name: string): string => {
      const key = name.trim().replace(/\s+/g, ' ').toLowerCase();
      return speakers.find((s) => s.toLowerCase() === key) ?? name;
    };
    const from = canonical(original.speaker);

    // The neighbourhood of the segment: who and where, and which sentences are already taken.
    const all = input.original_story_segments;
    let at = -1;
    for (let i = 0; i < all.length; i++) if (all[i]?.segment_num === input.original_story_segment_num) at = i;
    const around = at < 0 ? all.slice(0, 8) : all.slice(Math.max(0, at - 4), at + 5);
    const context = [original.segment_content.slice(0, 4000), ...around.map((s) => s.segment_content.slice(0, 1000))].join('\n');
    const part: Part = at < 0 || all.length === 0 ? 1 : at * 3 < all.length ? 0 : at * 3 < all.length * 2 ? 1 : 2;
    const cast = speakers.filter((s) => s !== NARRATOR).slice(0, MAX_CHARACTERS);
    const world = buildWorld({ text: context, cast, genre: input.genre, tone: input.tone, level: input.reading_level, seed, minCharacters: 1, useUnnamedRoles: false });
    const teller = new Teller(world, rng);
    for (const s of around) teller.remember(splitSentences(s.segment_content.slice(0, 1000)));

    const wish = readWish(input.user_request, speakers, from);
    const speaker = wish.speaker ?? from;
    const spokenByCharacter = speaker !== NARRATOR;
    const listener = world.characters.find((c) => c !== speaker) ?? world.characters[0] ?? speaker;
    teller.focus = { x: spokenByCharacter ? speaker : (world.characters[0] as string), y: listener, voc: listener };

    let sentences = splitSentences(original.segment_content);
    teller.remember(sentences);

    // Who says it.
    if (speaker !== from) {
      if (from === NARRATOR) {
        const mine = sentences.map((s) => toFirstPerson(s, speaker));
        const first = mine[0] ?? '';
        sentences = [/^(?:I|My)\b/.test(first) ? first : `Look, ${lowerFirst(first)}`, ...mine.slice(1)];
      } else if (speaker === NARRATOR) {
        sentences = [`${shortName(from)} said, "${sentences.join(' ')}"`];
      } else {
        sentences = splitSentences(replaceMentions(sentences.join(' '), [speaker, shortName(speaker)], shortName(from)));
      }
    }
    if (wish.simpler) sentences = sentences.flatMap(simplify);
    if (wish.shorter) sentences = shorten(sentences);

    const added: string[] = [];
    for (const { trait, target } of wish.traits) {
      const bank = TRAITS[trait];
      const against = new Set(bank.against);
      const kept = sentences.filter((s) => !tokenize(s).some((t) => against.has(t.lower)));
      sentences = kept;
      const about = target && canonical(target);
      const t = about ?? (spokenByCharacter ? speaker : (world.characters[0] as string));
      const pool = !spokenByCharacter ? bank.scene : !about || about.toLowerCase() === speaker.toLowerCase() ? bank.self : bank.about;
      added.push(rng.pick(pool).replaceAll('{t}', shortName(t)));
    }
    for (const phrase of wish.additions) added.push(additionSentence(phrase, spokenByCharacter));
    if (wish.longer) for (let k = 0; k < 2; k++) added.push(spokenByCharacter ? teller.speak(part) : teller.narrate(part));

    const changed = speaker !== from || wish.simpler || wish.shorter || added.length > 0;
    if (!changed) {
      // Nothing we could read: keep the start, write a fresh ending.
      if (sentences.length > 1) sentences = sentences.slice(0, -1);
      added.push(spokenByCharacter ? teller.speak(part) : teller.narrate(part));
    }
    let content = clean([...sentences, ...added].join(' '));
    const mayStay = (wish.simpler || wish.shorter) && added.length === 0 && speaker === from;
    if (content === '' || (!mayStay && normal(content) === normal(original.segment_content))) {
      content = clean(`${content} ${spokenByCharacter ? teller.speak(part) : teller.narrate(part)}`);
    }
    return { new_story_segment: { segment_num: input.original_story_segment_num, segment_content: content, speaker } };
  }
}
