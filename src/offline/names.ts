/**
 * Reading what a free-text idea names: its characters, places and things.
 *
 * "A girl named Lina and her dragon Ember search for a lost star in the old lighthouse" names two
 * characters (Lina, a girl; Ember, a dragon), a place (the old lighthouse) and a thing they look
 * for (a lost star). Titles belong to the name ("Detective Maya", "Captain Rosa Vega", "Dr. Ada
 * Lovelace"); places are never characters ("Paris", "the Old Lighthouse", "Mount Fuji", "Mars");
 * a name at a sentence start is still a name ("Lina found…"), an ordinary capitalised word is not
 * ("The", "Once", "Suddenly").
 *
 * Everything here is linear in its input: one hand-written scan splits the text into words, and
 * every later pass walks those words once, looking at most a few words to either side. No
 * regular expression is built from the text, and none that could backtrack runs over it.
 * `findMentions` finds many known names in a text at once with a rolling hash.
 */

// ---------------------------------------------------------------------------------------
// Lexicons (lower case)

const words = (...lists: string[]): ReadonlySet<string> => new Set(lists.join(' ').split(' ').filter((w) => w !== ''));

/** Articles, prepositions, pronouns, auxiliaries, conjunctions and adverbs: they end a noun phrase. */
const FUNCTION_WORDS = words(
  'the a an and but or nor so yet then than when while once in on at of to by for with from into onto upon as after before during until till since about above below under over across through along around beneath beside besides between among amongst without within toward towards near inside outside beyond behind against via per off out up down away back',
  'i me my mine myself you your yours yourself we us our ours ourselves they them their theirs themselves he him his himself she her hers herself it its itself this that these those there here who whom whose what which where why how whoever whatever whichever',
  'is are was were be been being am has have had having do does did done doing can could will would shall should must may might',
  'not no yes if because although though unless whether either neither both each every all any some many much more most few several such other another same own only just even also too very quite rather really almost nearly still already again ever never always often sometimes usually soon now today tonight tomorrow yesterday later earlier finally suddenly meanwhile together alone maybe perhaps indeed instead else etc ok okay oh ah ooh wow hey hi hello goodbye bye please thanks thank sorry well',
  'named called whose home twice thrice',
);

const NUMBER_WORDS = words('one two three four five six seven eight nine ten eleven twelve twenty hundred thousand million dozen');

/** Words that are never names on their own. */
const NAME_STOPS = words(
  [...FUNCTION_WORDS].join(' '),
  [...NUMBER_WORDS].join(' '),
  'first second third fourth fifth last next zero half upon ago far long everyone everybody everything someone somebody something nothing nobody anyone anybody anything none everywhere somewhere anywhere nowhere',
  'monday tuesday wednesday thursday friday saturday sunday january february march april may june july august september october november december spring summer autumn fall winter christmas easter halloween',
  'story stories tale tales chapter page part panel scene narrator storyteller illustration picture image idea plot end beginning middle title moral lesson',
  'new old young little big small great good bad best worst tiny huge giant brave kind wise happy sad angry scared lost lonely clever curious magic magical secret hidden ancient dark bright strange mysterious wonderful beautiful silly funny golden silver shiny',
  'let lets look listen come go see wait stop meanwhile nevertheless however therefore furthermore moreover anyway afterwards eventually',
  'robots learning explorers friends animals kids children pirates',
);

/** Titles that belong to a name when a name follows: "Detective Maya", "Captain Rosa Vega". */
const TITLES = words(
  'detective captain doctor professor mister miss missus madam madame mademoiselle sir dame lady lord king queen prince princess duke duchess count countess baron baroness emperor empress tsar sultan',
  'aunt auntie uncle grandma grandpa granny grandad grandmother grandfather nana papa mama',
  'officer inspector sergeant agent commander general admiral chief mayor judge coach nurse sheriff marshal ranger',
  'wizard witch sorcerer sorceress master mistress sister brother father mother lieutenant colonel major corporal private president senator governor chancellor',
  'pastor rabbi imam reverend bishop chef farmer pilot sensei señor señora senor senora herr frau monsieur signor signora',
  'dr mr mrs ms mx prof capt lt sgt gen col cmdr insp det rev',
);

/** Words that take a period without ending the sentence ("Dr. Ada Lovelace"). */
const ABBREVIATIONS = words('dr mr mrs ms mx prof capt lt sgt gen col cmdr insp det rev st mt ft jr sr vs etc');

/** People nouns: "a girl named Lina". */
const PERSON_NOUNS = words(
  'girl boy kid child baby toddler teen teenager woman man lady gentleman person friend sister brother cousin twin mother father mom mum dad mommy daddy grandma grandpa grandmother grandfather granny aunt uncle niece nephew son daughter wife husband neighbour neighbor classmate student pupil teacher',
  'baker farmer pilot sailor scientist inventor detective knight princess prince king queen wizard witch pirate captain doctor nurse explorer astronaut engineer artist painter musician chef cook librarian keeper ranger shepherd fisherman hunter guard soldier spy thief emperor empress hero heroine villain magician sorcerer sorceress inspector officer professor poet writer singer dancer gardener miner blacksmith merchant traveller traveler stranger orphan apprentice',
);

/** Creatures and machines: "Ember the dragon". */
const CREATURE_NOUNS = words(
  'dragon cat kitten dog puppy pup fox owl bear cub rabbit bunny hare mouse rat horse pony foal bird parrot penguin whale dolphin turtle tortoise frog toad lion tiger elephant monkey ape gorilla wolf squirrel hedgehog badger duck duckling goose hen chicken rooster pig piglet cow calf goat sheep lamb raccoon otter beaver crab octopus shark fish bee butterfly spider ant snail worm caterpillar ladybird ladybug',
  'dinosaur monster creature beast spirit ghost genie fairy elf dwarf giant troll ogre goblin gnome pixie mermaid merman unicorn griffin phoenix yeti sprite imp centaur',
  'robot android droid alien cyborg drone',
  'pet sidekick companion partner assistant helper',
);

/** Nouns that head a place: "the old lighthouse", "Whispering Woods", "Lake Silver". */
const PLACE_HEADS = words(
  'lighthouse forest wood woods jungle rainforest desert island isle mountain mountains hill hills valley canyon cave cavern caves river lake sea ocean beach shore coast bay harbour harbor port pond stream creek waterfall falls marsh swamp meadow prairie glacier volcano reef lagoon',
  'castle palace tower fortress fort kingdom empire realm village town city street road lane avenue square market bazaar park garden gardens zoo farm barn orchard school academy classroom library museum gallery theatre theater cinema hospital station airport bridge temple church cathedral abbey chapel monastery shrine ruins tomb pyramid',
  'house cottage cabin hut mansion manor hall inn tavern shop bakery workshop factory mill mine lab laboratory observatory attic cellar basement kitchen treehouse burrow',
  'spaceship starship station planet asteroid galaxy nebula colony outpost',
  'country continent universe dimension maze labyrinth arena stadium circus carnival playground neighbourhood neighborhood camp',
);

/** Leading words of a proper place: "Mount Fuji", "Lake Geneva", "New York", "Port Royal". */
const PLACE_PREFIXES = words('mount mt lake port fort cape isle saint san santa los las new north south east west upper lower st glen loch');

/** Things that are scenery rather than objects to carry. */
const SCENERY_NOUNS = words('moon sun sky earth world weather night day morning evening afternoon dawn dusk sunset sunrise air wind rain snow fog mist cloud storm thunder lightning light dark darkness shadow water ground floor wall door window space');

/** Heads of noun phrases that are ideas rather than things to show. */
const ABSTRACT_NOUNS = words(
  'idea story tale adventure journey quest mission trip voyage way time week year life plan clue setback problem lesson mood moment friendship courage kindness love help hope fear fun luck chance answer question truth lie fact reason thing stuff lot bit kind sort part end beginning middle rest place side secret mystery surprise dream wish trouble danger challenge task job work game rule power magic science history nature learning team group family case spell trust test riddle path trail piece clue hush way forward hero tale crew trek feast',
);
/** Abstract heads too vague even for a quest ("find a way"). */
const VAGUE_NOUNS = words('way time thing stuff lot bit kind sort part rest end side place day week year moment reason');

/** Places the idea may name without a head noun: planets, continents, countries, well-known cities. */
const GAZETTEER = words(
  'mercury venus earth mars jupiter saturn uranus neptune pluto',
  'africa antarctica antarctic arctic asia europe australia america americas oceania',
  'afghanistan argentina austria belgium brazil canada chile china colombia cuba denmark egypt england ethiopia finland france germany ghana greece greenland hawaii iceland india indonesia iran iraq ireland israel italy jamaica japan kenya korea mexico morocco nepal netherlands holland nigeria norway pakistan peru philippines poland portugal russia scotland spain sweden switzerland thailand turkey ukraine vietnam wales alaska texas california florida',
  'paris london tokyo rome berlin madrid lisbon athens cairo oslo stockholm copenhagen helsinki dublin edinburgh amsterdam brussels vienna prague warsaw moscow istanbul dubai delhi mumbai beijing shanghai seoul bangkok singapore sydney melbourne auckland toronto vancouver montreal chicago boston seattle miami venice florence milan naples barcelona seville marrakesh nairobi lagos lima bogota havana kyoto osaka manila jakarta hanoi kathmandu reykjavik',
  'atlantis narnia avalon camelot lilliput wonderland neverland oz eldorado timbuktu',
  'sahara amazon nile everest kilimanjaro himalayas alps andes rockies pacific atlantic mediterranean caribbean galapagos serengeti mississippi thames danube yukon patagonia siberia',
  'new_york los_angeles san_francisco hong_kong rio_de_janeiro buenos_aires cape_town mexico_city new_zealand south_africa north_pole south_pole great_barrier_reef grand_canyon milky_way el_dorado united_states united_kingdom new_delhi las_vegas north_america south_america great_wall easter_island',
);

/** Words before a capitalised word that make it a place when nothing says it is someone. */
const PLACE_PREPOSITIONS = words('in at on near into inside outside across toward towards around beyond through above below under beneath within aboard visit visits visited visiting explore explores explored exploring reach reaches reached');
/** Prepositions a story can reuse before a place ("in the old lighthouse", "on Mars"). */
const REAL_PREPOSITIONS = words('in at on near into inside outside across around beyond through above below under beneath within aboard');
const DETERMINERS = words('the a an this that these those');
const POSSESSIVES = words('my your his her its our their');
/** Verbs after a capitalised word that say it is someone ("Maya says", "Kai wants"). */
const AGENT_VERBS = words(
  'says said asks asked replies replied shouts shouted whispers whispered laughs laughed smiles smiled cries cried sings sang thinks thought knows knew wants wanted loves loved likes liked hopes hoped wonders wondered decides decided meets met finds found helps helped learns learned dreams dreamed dreamt feels felt tries tried runs ran walks walked flies flew swims swam jumps jumped climbs climbed builds built paints painted writes wrote reads plays played lives lived goes went gets got takes took makes made sees saw hears heard looks looked searches searched discovers discovered explores explored travels traveled travelled must can will would should could',
);
/** Verb forms that end a noun phrase ("a dragon searches …"). */
const VERB_STOPS = words(
  [...AGENT_VERBS].join(' '),
  'arrive arrives arrived join joins joined hear hears set sets sit sits stand stands wait waits spend spends stay stays share shares race races ride rides work works happen happens form forms move moves change changes go get make take see find search look meet help learn discover explore save rescue try want need needs love like live come comes run walk fly swim sail sails travel play build begin begins start starts turn turns return returns follow follows chase chases catch catches protect protects visit visits reach reaches climb cross crosses escape escapes decide hope dream wonder keep keeps hold holds bring brings carry carries give gives tell tells say ask think know feel feels become becomes paint write sing sings dance dances bake bakes fix fixes solve solves open opens hide hides lose loses win wins grow grows',
);
/** Verbs whose object is what the story is about: "search for a lost star", "save the kingdom". */
const QUEST_VERBS = words(
  'reach reaches reaching search searches searching searched look looks looking hunt hunts hunting seek seeks seeking find finds finding save saves saving rescue rescues rescuing recover recovers recovering discover discovers discovering protect protects protecting deliver delivers delivering return returns returning build builds building fix fixes fixing repair repairs repairing catch catches catching chase chases chasing solve solves solving win wins winning collect collects collecting retrieve retrieves free frees freeing restore restores restoring uncover uncovers track tracks tracking learn learns learning study studies studying explore explores exploring invent invents inventing bake bakes baking plant plants planting grow grows growing',
);
const QUEST_PARTICLES = words('for about back out up the');
/** Joining words that may sit inside a name or a place ("Leonardo da Vinci", "Isle of Skye"). */
const PARTICLES = words('da de del della di van von der den du le la ibn bin al');

const inLexicon = (set: ReadonlySet<string>, word: string): boolean => set.has(word) || set.has(singularOf(word));

/**
 * `singular`, remembered: the same words come back again and again. Bounded in entries and, as
 * only words a lexicon could hold are kept (`singular` leaves longer ones as they are), in size:
 * a 100,000-character word must not stay in memory after its request.
 */
const singularCache = new Map<string, string>();
function singularOf(word: string): string {
  if (word.length > MAX_WORD) return word;
  let s = singularCache.get(word);
  if (s === undefined) {
    s = singular(word);
    if (singularCache.size >= 20_000) singularCache.clear();
    singularCache.set(word, s);
  }
  return s;
}

/** A plural's singular, roughly ("dragons" → "dragon", "stories" → "story", "wolves" → "wolf"). */
function singular(word: string): string {
  const n = word.length;
  if (n < 4 || n > MAX_WORD) return word;
  if (word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.endsWith('ves') && n > 4) return `${word.slice(0, -3)}f`;
  if (word.endsWith('ches') || word.endsWith('shes') || word.endsWith('sses') || word.endsWith('xes')) return word.slice(0, -2);
  if (word.endsWith('s') && !word.endsWith('ss') && !word.endsWith('us') && !word.endsWith('is')) return word.slice(0, -1);
  return word;
}

/** "girl", "dragon", "robots": a noun for a kind of character. */
const isRoleNoun = (w: string): boolean => inLexicon(PERSON_NOUNS, w) || inLexicon(CREATURE_NOUNS, w);
/** Whether a role reads as "a girl named Lina" (people) rather than "Ember the dragon". */
export const isPersonRole = (role: string): boolean => inLexicon(PERSON_NOUNS, role);
/** "lighthouse", "forest", "planet": a noun that heads a place. */
const isPlaceHead = (w: string): boolean => inLexicon(PLACE_HEADS, w);
/** Whether a title such as "Captain" or "Dr." opens this name. */
export const isTitle = (w: string): boolean => TITLES.has(w.toLowerCase().replace(/\.$/, ''));

const lexicalCache = new Map<string, boolean>();
/** An ordinary word: never a name by itself. Remembered (bounded, and only words a lexicon could hold). */
function isLexical(w: string): boolean {
  if (w.length > MAX_WORD) return false;
  let known = lexicalCache.get(w);
  if (known === undefined) {
    known = lexical(w);
    if (lexicalCache.size >= 20_000) lexicalCache.clear();
    lexicalCache.set(w, known);
  }
  return known;
}
const lexical = (w: string): boolean =>
  NAME_STOPS.has(w) ||
  TITLES.has(w) ||
  isRoleNoun(w) ||
  isPlaceHead(w) ||
  PLACE_PREFIXES.has(w) ||
  inLexicon(SCENERY_NOUNS, w) ||
  inLexicon(ABSTRACT_NOUNS, w) ||
  VERB_STOPS.has(w) ||
  QUEST_VERBS.has(w);

// ---------------------------------------------------------------------------------------
// Tokens

export interface Token {
  /** The word as written; a title abbreviation keeps its period ("Dr."), a possessive loses its "'s". */
  text: string;
  /** Lower case of the word, without the abbreviation's period. */
  lower: string;
  start: number;
  end: number;
  /** Starts with an upper-case letter and is not all upper case ("Lina", "McKay"; not "A", "NASA"). */
  capital: boolean;
  /** Starts with a lower-case letter. */
  lowerCase: boolean;
  /** First word of a sentence, a line or the text. */
  sentenceStart: boolean;
  /** The first punctuation mark between the previous word and this one ('' when only spaces). */
  punctBefore: string;
  /** A line break between the previous word and this one. */
  newlineBefore: boolean;
  /** Written with "'s" ("Lina's"). */
  possessive: boolean;
}

/** Longest word that can be part of a name or a phrase the writer repeats. */
const MAX_WORD = 30;
/** Longest name (characters) and most words in one, title included. */
const MAX_NAME_CHARS = 60;
const MAX_NAME_WORDS = 4;
/** A run of more capitalised words than this is title-case text, not names. */
const MAX_RUN = 8;

const WORD_CHAR = /^[\p{L}\p{M}\p{N}]$/u;
const SPACE_CHAR = /^\s$/u;

function isWordCode(cp: number): boolean {
  if (cp < 128) return (cp >= 48 && cp <= 57) || (cp >= 65 && cp <= 90) || (cp >= 97 && cp <= 122);
  return WORD_CHAR.test(String.fromCodePoint(cp));
}

function isSpaceCode(cp: number): boolean {
  if (cp < 128) return cp === 32 || (cp >= 9 && cp <= 13);
  return SPACE_CHAR.test(String.fromCodePoint(cp));
}

const SENTENCE_MARKS = '.!?:;\u2026';

/** Splits a text into words in one pass: letters, digits and marks, joined by inner ' ’ and -. */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  const n = text.length;
  let i = 0;
  let sentenceStart = true;
  let punctBefore = '';
  let newlineBefore = false;
  while (i < n) {
    const cp = text.codePointAt(i) as number;
    const width = cp > 0xffff ? 2 : 1;
    if (!isWordCode(cp)) {
      if (cp === 10 || cp === 13) {
        newlineBefore = true;
        sentenceStart = true;
      } else if (!isSpaceCode(cp)) {
        const ch = text.slice(i, i + width);
        if (punctBefore === '') punctBefore = ch;
        if (SENTENCE_MARKS.includes(ch)) sentenceStart = true;
      }
      i += width;
      continue;
    }
    const start = i;
    i += width;
    while (i < n) {
      const c = text.codePointAt(i) as number;
      if (isWordCode(c)) {
        i += c > 0xffff ? 2 : 1;
      } else if ((c === 39 || c === 0x2019 || c === 45) && i + 1 < n && isWordCode(text.codePointAt(i + 1) as number)) {
        i += 1;
      } else {
        break;
      }
    }
    let word = text.slice(start, i);
    let possessive = false;
    const tail = word.slice(-2);
    if (word.length > 2 && (tail === "'s" || tail === '\u2019s')) {
      word = word.slice(0, -2);
      possessive = true;
    }
    const lower = word.toLowerCase();
    if (!possessive && text.charCodeAt(i) === 46 && ABBREVIATIONS.has(lower)) {
      word += '.';
      i += 1;
    }
    const c0 = word.charCodeAt(0);
    let upperFirst: boolean;
    let lowerFirst: boolean;
    let firstWidth = 1;
    if (c0 < 128) {
      upperFirst = c0 >= 65 && c0 <= 90;
      lowerFirst = c0 >= 97 && c0 <= 122;
    } else {
      const first = String.fromCodePoint(word.codePointAt(0) as number);
      firstWidth = first.length;
      upperFirst = first === first.toUpperCase() && first !== first.toLowerCase();
      lowerFirst = first === first.toLowerCase() && first !== first.toUpperCase();
    }
    const capital = upperFirst && hasLowerLetter(word, firstWidth);
    const lowerCase = lowerFirst;
    out.push({ text: word, lower, start, end: i, capital, lowerCase, sentenceStart, punctBefore, newlineBefore, possessive });
    sentenceStart = false;
    punctBefore = '';
    newlineBefore = false;
  }
  return out;
}

/** Whether a capitalised word can be part of a name or a place ("Lina", "Captain", "Lighthouse"; not "The"). */
const keeps = (tok: Token): boolean => tok.lower.length <= MAX_WORD && (!isLexical(tok.lower) || TITLES.has(tok.lower) || isPlaceHead(tok.lower) || PLACE_PREFIXES.has(tok.lower));

/** Words of a noun phrase from `from` on, at most `max`: lower-case, no function words or verbs. */
function collectPhrase(tokens: readonly Token[], from: number, max: number, afterArticle: boolean): Token[] {
  const got: Token[] = [];
  let q = from;
  while (q < tokens.length && got.length < max) {
    const tok = tokens[q] as Token;
    if (!tight(tok) && (got.length > 0 || afterArticle)) break;
    if (!tok.lowerCase || tok.lower.length > MAX_WORD || FUNCTION_WORDS.has(tok.lower) || VERB_STOPS.has(tok.lower) || QUEST_VERBS.has(tok.lower) || NUMBER_WORDS.has(tok.lower)) break;
    got.push(tok);
    q += 1;
    if (tok.possessive) break;
  }
  return got;
}

/** Whether a word has a lower-case letter after its first character (so it is not all capitals). */
function hasLowerLetter(word: string, from: number): boolean {
  for (let k = from; k < word.length; k++) {
    const c = word.charCodeAt(k);
    if (c >= 97 && c <= 122) return true;
    if (c >= 128) {
      const ch = word[k] as string;
      if (ch !== ch.toUpperCase()) return true;
    }
  }
  return false;
}

/** Only spaces between this word and the previous one. */
const tight = (t: Token | undefined): boolean => t !== undefined && t.punctBefore === '' && !t.newlineBefore;

// ---------------------------------------------------------------------------------------
// Reading an idea

export interface PlaceMention {
  /** As written for proper places ("Paris", "the Old Lighthouse"); "the …" for common ones ("the old lighthouse"). */
  text: string;
  /** The preposition the text used before it ("in", "at", "on"), if any. */
  preposition?: string;
  /** A name ("Paris", "Mount Fuji") rather than a description ("the old lighthouse"). */
  proper: boolean;
}

export interface IdeaReading {
  /** Characters, each once, in order of first mention ("Captain Rosa Vega", "Lina"). */
  characters: string[];
  /** What each character is, by lower-case name ("ember" → "dragon"). */
  roles: ReadonlyMap<string, string>;
  /** Kinds of character the text mentions without naming them ("robot" in "robots learning to paint"). */
  unnamedRoles: string[];
  /** Places, each once, in order of first mention. */
  places: PlaceMention[];
  /** What the story is about, if a verb says so: "a lost star" in "search for a lost star". */
  quest?: string;
  /** Things to show, as written ("a lost star", "a brass compass", "the Crystal Crown"), each once. */
  things: string[];
}

interface Candidate {
  text: string;
  at: number;
  character: boolean;
  plain: boolean;
  place?: PlaceMention;
  thing?: string;
}

const NARRATOR_WORD = /\bnarrator\b/i;

const joinTokens = (tokens: readonly Token[]): string => tokens.map((t) => t.text).join(' ');

/** Words `from`..`to` (inclusive) joined by `sep`, as written or in lower case. */
function wordsOf(tokens: readonly Token[], from: number, to: number, sep: string, lower: boolean): string {
  let out = '';
  for (let k = from; k <= to; k++) {
    const t = tokens[k] as Token;
    out += (k > from ? sep : '') + (lower ? t.lower : t.text);
  }
  return out;
}
const upperFirst = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** Everything a text names (see the module comment). Linear in the length of the text. */
export function readIdea(text: string): IdeaReading {
  const tokens = tokenize(text);
  const n = tokens.length;
  const lowerSeen = new Set<string>();
  for (const t of tokens) if (t.lowerCase) lowerSeen.add(t.lower);

  const candidates = new Map<string, Candidate>();
  /** Capitalised things by the index of their first word ("the Crystal Crown" after "the"). */
  const thingAt = new Map<number, string>();
  /** The role a "named" phrase gave, for a second name joined by "and": "two robots named Mira and Theo". */
  let namedRole: { end: number; roleAt: number } | undefined;
  /** Roles given that way, used only when nothing closer says what the character is. */
  const sharedRole = new Map<string, number>();
  const roles = new Map<string, string>();
  const attachedRole = new Set<number>();

  const candidate = (name: string, at: number): Candidate => {
    const key = name.toLowerCase();
    let c = candidates.get(key);
    if (!c) {
      c = { text: name, at, character: false, plain: false };
      candidates.set(key, c);
    }
    return c;
  };
  const setRole = (name: string, roleAt: number): void => {
    const tok = tokens[roleAt];
    if (!tok) return;
    attachedRole.add(roleAt);
    const key = name.toLowerCase();
    if (!roles.has(key)) roles.set(key, singular(tok.lower));
  };
  const roleNounAt = (k: number): boolean => {
    const tok = tokens[k];
    return tok !== undefined && tok.lowerCase && isRoleNoun(tok.lower);
  };
  /** A role noun for one character ("a young pilot", not "the neighbours"). */
  const oneRoleAt = (k: number): boolean => roleNounAt(k) && singularOf((tokens[k] as Token).lower) === (tokens[k] as Token).lower;

  // 1. Capitalised runs (and lower-case names after "named"/"called").
  let i = 0;
  while (i < n) {
    const t = tokens[i] as Token;
    if ((t.lower === 'named' || t.lower === 'called') && i + 1 < n) {
      const next = tokens[i + 1] as Token;
      if (next.lowerCase && tight(next) && next.lower.length <= MAX_WORD && !FUNCTION_WORDS.has(next.lower) && !NARRATOR_WORD.test(next.text)) {
        const c = candidate(upperFirst(next.text), next.start);
        c.character = true;
        if (roleNounAt(i - 1)) setRole(c.text, i - 1);
        i += 2;
        continue;
      }
    }
    if (!t.capital) {
      i += 1;
      continue;
    }
    let j = i;
    let size = 1;
    while (j + 1 < n) {
      const next = tokens[j + 1] as Token;
      if (next.capital && tight(next)) {
        j += 1;
        size += 1;
        continue;
      }
      const after = tokens[j + 2];
      const joins = next.lowerCase && tight(next) && after !== undefined && after.capital && tight(after);
      if (joins && (PARTICLES.has(next.lower) || (next.lower === 'of' && size <= MAX_RUN && runHasPlaceWord(i, j)))) {
        j += 2;
        size += 2;
        continue;
      }
      break;
    }
    if (size <= MAX_RUN) classifyRun(i, j);
    i = j + 1;
  }

  function runHasPlaceWord(from: number, to: number): boolean {
    for (let k = from; k <= to && k < from + MAX_RUN; k++) {
      const w = (tokens[k] as Token).lower;
      if (isPlaceHead(w) || PLACE_PREFIXES.has(w)) return true;
    }
    return false;
  }

  /** Splits a run at ordinary words ("Once Lina" → "Lina") and classifies each piece. */
  function classifyRun(from: number, to: number): void {
    let s = from;
    while (s <= to) {
      if (!keeps(tokens[s] as Token)) {
        s += 1;
        continue;
      }
      let e = s;
      while (e + 1 <= to) {
        const next = tokens[e + 1] as Token;
        if (!keeps(next) && !PARTICLES.has(next.lower) && next.lower !== 'of') break;
        e += 1;
      }
      classifyPiece(from, s, e);
      s = e + 1;
    }
  }

  function classifyPiece(runFrom: number, s: number, e: number): void {
    const first = tokens[s] as Token;
    const last = tokens[e] as Token;
    const single = s === e;
    const prevTok = tight(first) ? tokens[s - 1] : undefined;
    const prev = prevTok?.lower ?? '';
    const named = prev === 'named' || prev === 'called';
    const roleBefore = !named && prevTok !== undefined && prevTok.lowerCase && isRoleNoun(prev);
    const titled = TITLES.has(first.lower) && e > s;

    // Places: a place noun, a place prefix, or a well-known place.
    let isPlace = GAZETTEER.has(single ? first.lower : wordsOf(tokens, s, e, '_', true)) || (PLACE_PREFIXES.has(first.lower) && !single);
    for (let k = s; k <= e && !isPlace; k++) isPlace = isPlaceHead((tokens[k] as Token).lower);
    if (!named && !roleBefore && !titled && isPlace) {
      let from = s;
      while (from > runFrom && !DETERMINERS.has((tokens[from - 1] as Token).lower) && !FUNCTION_WORDS.has((tokens[from - 1] as Token).lower)) from -= 1;
      const det = tokens[from - 1];
      const hasDet = det !== undefined && DETERMINERS.has(det.lower) && tight(tokens[from]);
      const prep = hasDet ? tokens[from - 2] : det;
      const preposition = prep && tight(hasDet ? det : tokens[from]) && REAL_PREPOSITIONS.has(prep.lower) ? prep.lower : undefined;
      const c = candidate(single ? first.text : wordsOf(tokens, s, e, ' ', false), first.start);
      c.place ??= { text: `${hasDet ? 'the ' : ''}${wordsOf(tokens, from, e, ' ', false)}`, proper: true, ...(preposition ? { preposition } : {}) };
      return;
    }
    let allLexical = !named && !roleBefore;
    for (let k = s; k <= e && allLexical; k++) allLexical = isLexical((tokens[k] as Token).lower);
    if (allLexical) return; // "Captain", "New", "Lake"
    if (e - s + 1 > (titled ? MAX_NAME_WORDS : MAX_NAME_WORDS - 1)) return; // title-case text
    const name = single ? first.text : wordsOf(tokens, s, e, ' ', false);
    if (name.length > MAX_NAME_CHARS || NARRATOR_WORD.test(name)) return;
    const c = candidate(name, first.start);
    if (named || roleBefore || titled) {
      c.character = true;
      if (roleBefore) setRole(name, s - 1);
      if (named && roleNounAt(s - 2)) {
        setRole(name, s - 2);
        namedRole = { end: e, roleAt: s - 2 };
      }
    } else if (namedRole && prev === 'and' && namedRole.end === s - 2) {
      c.character = true;
      sharedRole.set(name.toLowerCase(), namedRole.roleAt);
    }
    // "Ember the dragon", "Kai, a young pilot," (not "the Crystal Crown, the neighbours")
    const a1 = tokens[e + 1];
    const aThing = DETERMINERS.has(prev) || prev === 'of';
    if (!aThing && a1 && (a1.lower === 'the' || a1.lower === 'a' || a1.lower === 'an')) {
      if (tight(tokens[e + 2]) && oneRoleAt(e + 2)) {
        setRole(name, e + 2);
        c.character = true;
      } else if (tight(tokens[e + 2]) && tight(tokens[e + 3]) && oneRoleAt(e + 3)) {
        setRole(name, e + 3);
        c.character = true;
      }
    }
    if (last.possessive) c.character = true;
    if (a1 && tight(a1) && AGENT_VERBS.has(a1.lower)) c.character = true;
    if (DETERMINERS.has(prev) || prev === 'of') {
      c.thing ??= prev === 'of' ? name : `the ${name}`;
      if (prev !== 'of') thingAt.set(s, `the ${name}`);
      return;
    }
    if (PLACE_PREPOSITIONS.has(prev) && !last.possessive) {
      c.place ??= { text: name, proper: true, ...(REAL_PREPOSITIONS.has(prev) ? { preposition: prev } : {}) };
      return;
    }
    // A single word opening a sentence is a name only when it does not look like an ordinary word.
    if (first.sentenceStart && e === s && !c.character) {
      if (lowerSeen.has(first.lower) || lowerSeen.has(singular(first.lower)) || (first.lower.length > 5 && (first.lower.endsWith('ly') || first.lower.endsWith('ing')))) return;
    }
    c.plain = true;
  }

  // 2. Noun phrases: common-noun places ("in the old lighthouse"), things, and the quest.
  const commonPlaces: Array<PlaceMention & { at: number }> = [];
  const phraseThings: Array<{ text: string; at: number }> = [];
  let quest: string | undefined;
  let questIsPlace = false;
  let questUntil = -1;
  const notePlace = (headIndex: number, questHere: boolean): void => {
    const place = commonPlaceAt(headIndex);
    if (!place) return;
    commonPlaces.push(place);
    if (questHere && quest === undefined) {
      quest = place.text;
      questIsPlace = true;
    }
  };
  for (let k = 0; k < n; k++) {
    const t = tokens[k] as Token;
    if (t.lowerCase && QUEST_VERBS.has(t.lower)) {
      questUntil = k + 2;
      continue;
    }
    const article = t.lower === 'a' || t.lower === 'an' || t.lower === 'the';
    const starts = (t.lowerCase && (DETERMINERS.has(t.lower) || POSSESSIVES.has(t.lower) || NUMBER_WORDS.has(t.lower) || t.lower === 'some')) || (article && !t.lowerCase);
    const inQuest = k <= questUntil && t.lowerCase && !QUEST_PARTICLES.has(t.lower) && !FUNCTION_WORDS.has(t.lower);
    if (starts && k <= questUntil && (quest === undefined || questIsPlace) && thingAt.has(k + 1)) {
      quest = thingAt.get(k + 1);
      questIsPlace = false;
      continue;
    }
    if (starts || inQuest) {
      const phrase = nounPhraseAt(starts ? k + 1 : k, starts ? t : undefined);
      if (phrase) {
        const questHere = k <= questUntil && (quest === undefined || questIsPlace);
        if (isPlaceHead(phrase.head)) {
          notePlace(phrase.headIndex, questHere);
        } else {
          if (questHere && !VAGUE_NOUNS.has(phrase.head)) {
            quest = phrase.text;
            questIsPlace = false;
          }
          if (!isRoleNoun(phrase.head) && !inLexicon(SCENERY_NOUNS, phrase.head) && !inLexicon(ABSTRACT_NOUNS, phrase.head)) {
            phraseThings.push({ text: phrase.text, at: t.start });
          }
        }
        if (phrase.tailHead !== undefined && isPlaceHead(phrase.tailHead.word)) notePlace(phrase.tailHead.index, false);
        k = phrase.next - 1;
        continue;
      }
    }
    // A place without an article: "at school", "in space".
    if (t.lowerCase && isPlaceHead(t.lower) && t.lower.length <= MAX_WORD) {
      const next = tokens[k + 1];
      if (!(next && next.lowerCase && tight(next) && isPlaceHead(next.lower))) notePlace(k, false);
    }
  }

  function commonPlaceAt(k: number): (PlaceMention & { at: number }) | undefined {
    let from = k;
    while (from > k - 3 && from > 0) {
      const p = tokens[from - 1] as Token;
      if (!tight(tokens[from]) || !p.lowerCase || p.lower.length > MAX_WORD || FUNCTION_WORDS.has(p.lower) || NUMBER_WORDS.has(p.lower) || VERB_STOPS.has(p.lower) || QUEST_VERBS.has(p.lower) || isRoleNoun(p.lower)) break;
      from -= 1;
    }
    const det = tokens[from - 1];
    const hasDet = det !== undefined && tight(tokens[from]) && (DETERMINERS.has(det.lower) || POSSESSIVES.has(det.lower));
    const prep = hasDet ? tokens[from - 2] : det;
    const preposition = prep !== undefined && REAL_PREPOSITIONS.has(prep.lower) ? prep.lower : undefined;
    if (!hasDet && !(prep !== undefined && PLACE_PREPOSITIONS.has(prep.lower))) return undefined;
    const phrase = tokens.slice(from, k + 1).map((x) => x.text).join(' ');
    return { text: `the ${phrase}`, proper: false, ...(preposition ? { preposition } : {}), at: (tokens[from] as Token).start };
  }

  /** A short noun phrase from word `p` on: up to four words (and "of …"), without verbs. */
  function nounPhraseAt(p: number, det: Token | undefined): { text: string; head: string; headIndex: number; tailHead?: { word: string; index: number }; next: number } | undefined {
    const collect = (from: number, max: number): Token[] => collectPhrase(tokens, from, max, det !== undefined);
    const main = collect(p, 4);
    for (let k = 0; k < main.length - 1; k++) {
      const w = (main[k] as Token).lower;
      if (singularOf(w) !== w && isRoleNoun(w)) {
        main.length = k + 1; // "the neighbours join": a plural character noun ends the phrase
        break;
      }
    }
    while (main.length > 0) {
      const lastWord = (main.at(-1) as Token).lower;
      // "the dog barking", "the fox quickly": a verb or adverb after a noun is not part of the phrase.
      const before = main.length > 1 ? (main.at(-2) as Token).lower : '';
      const afterNoun = before !== '' && (isRoleNoun(before) || isPlaceHead(before) || inLexicon(SCENERY_NOUNS, before) || inLexicon(ABSTRACT_NOUNS, before));
      const verbish = main.length > 1 && ((lastWord.endsWith('ed') && lastWord.length > 4) || (afterNoun && (lastWord.endsWith('ly') || (lastWord.endsWith('ing') && lastWord.length > 4))));
      const singularVerb = det !== undefined && (det.lower === 'a' || det.lower === 'an') && main.length > 1 && lastWord.endsWith('s') && !lastWord.endsWith('ss') && !lastWord.endsWith('us');
      if (verbish || singularVerb) main.pop();
      else break;
    }
    if (main.length === 0) return undefined;
    const head = singular((main.at(-1) as Token).lower);
    const headIndex = p + main.length - 1;
    let next = p + main.length;
    let text = joinTokens(main);
    let tailHead: { word: string; index: number } | undefined;
    // "a map of the stars", "the secret of the old mill"
    const of = tokens[next];
    if (of && of.lower === 'of' && tight(of) && main.length <= 3) {
      const d = tokens[next + 1];
      const hasD = d !== undefined && tight(d) && (DETERMINERS.has(d.lower) || POSSESSIVES.has(d.lower));
      const tailFrom = hasD ? next + 2 : next + 1;
      const tail = collect(tailFrom, 3);
      if (tail.length > 0) {
        text = `${text} of ${hasD ? `${POSSESSIVES.has((d as Token).lower) ? 'the' : (d as Token).lower} ` : ''}${joinTokens(tail)}`;
        next = tailFrom + tail.length;
        tailHead = { word: (tail.at(-1) as Token).lower, index: next - 1 };
      }
    }
    const article = det === undefined ? '' : POSSESSIVES.has(det.lower) ? 'the ' : `${det.lower} `;
    return { text: `${article}${text}`, head, headIndex, ...(tailHead ? { tailHead } : {}), next };
  }

  for (const [key, roleAt] of sharedRole) if (!roles.has(key)) roles.set(key, singular((tokens[roleAt] as Token).lower));

  // 3. Decide every capitalised candidate.
  const found: string[] = [];
  const proper: Array<PlaceMention & { at: number }> = [];
  const things: Array<{ text: string; at: number }> = [];
  for (const c of candidates.values()) {
    if (c.character) found.push(c.text);
    else if (c.place) proper.push({ ...c.place, at: c.at });
    else if (c.thing) {
      if (!inLexicon(SCENERY_NOUNS, c.text.toLowerCase())) things.push({ text: c.thing, at: c.at });
    } else if (c.plain) found.push(c.text);
  }
  // "Rosa" after "Captain Rosa Vega" is the same person.
  const aliases = new Set<string>();
  for (const name of found) {
    const parts = name.split(' ');
    if (parts.length > 1) for (const part of parts) if (!isTitle(part)) aliases.add(part.toLowerCase());
  }
  const characters = found.filter((name) => name.includes(' ') || !aliases.has(name.toLowerCase()));

  const unnamedRoles: string[] = [];
  const seenRoles = new Set<string>();
  for (let k = 0; k < n; k++) {
    const t = tokens[k] as Token;
    if (attachedRole.has(k) || !t.lowerCase || !isRoleNoun(t.lower)) continue;
    const role = singular(t.lower);
    if (!seenRoles.has(role)) {
      seenRoles.add(role);
      unnamedRoles.push(role);
    }
  }

  const places = mergeInOrder(proper, commonPlaces).map(({ text: placeText, preposition, proper: isProper }) => ({ text: placeText, proper: isProper, ...(preposition ? { preposition } : {}) }));
  const thingList = mergeInOrder(things, phraseThings).map((x) => x.text);
  return { characters, roles, unnamedRoles, places, ...(quest !== undefined ? { quest } : {}), things: thingList };
}

/** Merges two lists already in text order into one, each text once. Linear. */
function mergeInOrder<T extends { text: string; at: number }>(a: readonly T[], b: readonly T[]): T[] {
  const out: T[] = [];
  const seen = new Set<string>();
  let x = 0;
  let y = 0;
  // `a` is in insertion order of first mention, which is text order; sort-free merge.
  while (x < a.length || y < b.length) {
    const pa = a[x];
    const pb = b[y];
    let next: T;
    if (pa !== undefined && (pb === undefined || pa.at <= pb.at)) {
      next = pa;
      x += 1;
    } else {
      next = pb as T;
      y += 1;
    }
    const key = next.text.toLowerCase().replace(/^(?:the|a|an|some) /, '');
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(next);
  }
  return out;
}

/**
 * The first few content words of a text, for a topic with no article ("how volcanoes work" →
 * "volcanoes"): up to three words that are not function words or common verbs. One pass.
 */
export function topicOf(text: string): string | undefined {
  const got: string[] = [];
  for (const t of tokenize(text)) {
    const plain = t.lowerCase && t.lower.length <= MAX_WORD && !FUNCTION_WORDS.has(t.lower) && !NUMBER_WORDS.has(t.lower) && !VERB_STOPS.has(t.lower) && !QUEST_VERBS.has(t.lower) && !t.lower.endsWith('ly') && !NARRATOR_WORD.test(t.text);
    if (plain && (got.length === 0 || tight(t))) got.push(t.text);
    else if (got.length > 0) break;
    if (got.length === 3) break;
  }
  return got.length > 0 ? got.join(' ') : undefined;
}

/** The characters a text names, in order of first mention, each once (see the module comment). */
export function namesIn(text: string): string[] {
  return readIdea(text).characters;
}

/** The places a text names, in order of first mention ("Paris", "Mount Fuji", "the old lighthouse"). */
export function placesIn(text: string): string[] {
  return readIdea(text).places.map((p) => p.text);
}

/**
 * How a story calls a character after the first mention: "Captain Vega" for "Captain Rosa Vega",
 * "Detective Maya" stays, "Ada" for "Dr. Ada Lovelace" (no abbreviation to end a sentence on),
 * "Rosa" for "Rosa Vega".
 */
export function shortName(name: string): string {
  const parts = name.split(' ').filter(Boolean);
  if (parts.length < 2 || parts.length > MAX_NAME_WORDS) return name;
  const first = parts[0] as string;
  if (isTitle(first)) {
    if (first.endsWith('.')) return parts[1] as string;
    return parts.length === 2 ? name : `${first} ${parts.at(-1) as string}`;
  }
  return first;
}

// ---------------------------------------------------------------------------------------
// Sentences

const CLOSERS = '.!?\u2026"\')]\u201d\u2019';

/**
 * Splits a text into sentences after . ! ? or … (and closing quotes or brackets) followed by a
 * space or the end, but not after a title abbreviation ("Dr. Ada Lovelace smiled." is one
 * sentence). One pass.
 */
export function splitSentences(text: string): string[] {
  const out: string[] = [];
  const n = text.length;
  let start = 0;
  let wordStart = -1;
  let lastWord = '';
  let i = 0;
  while (i < n) {
    const code = text.charCodeAt(i);
    if ((code >= 65 && code <= 90) || (code >= 97 && code <= 122)) {
      if (wordStart < 0) wordStart = i;
      i += 1;
      continue;
    }
    if (wordStart >= 0) {
      lastWord = i - wordStart <= 4 ? text.slice(wordStart, i).toLowerCase() : '';
      wordStart = -1;
    } else if (code !== 46) {
      lastWord = '';
    }
    if (code === 46 || code === 33 || code === 63 || code === 0x2026) {
      const abbreviation = code === 46 && ABBREVIATIONS.has(lastWord);
      let j = i + 1;
      while (j < n && CLOSERS.includes(text[j] as string)) j += 1;
      if (!abbreviation && (j >= n || isSpaceCode(text.charCodeAt(j)))) {
        const sentence = text.slice(start, j).trim();
        if (sentence) out.push(sentence);
        start = j;
      }
      lastWord = '';
      i = j;
      continue;
    }
    i += 1;
  }
  const rest = text.slice(start).trim();
  if (rest) out.push(rest);
  return out;
}

// ---------------------------------------------------------------------------------------
// Finding known names in a text

export interface Mention {
  name: string;
  index: number;
  length: number;
}

const HASH_MOD = 67108859; // a prime below 2^26: every product stays exact in a double
const HASH_BASE = 911;

const foldCache = new Map<number, number>();
/** One UTF-16 unit, lower-cased when that keeps it one unit. */
function fold(code: number): number {
  if (code < 128) return code >= 65 && code <= 90 ? code + 32 : code;
  let f = foldCache.get(code);
  if (f === undefined) {
    const low = String.fromCharCode(code).toLowerCase();
    f = low.length === 1 ? low.charCodeAt(0) : code;
    foldCache.set(code, f);
  }
  return f;
}

/** Whether the code point ending just before `i` is a letter, digit, mark or underscore. */
function wordBefore(text: string, i: number): boolean {
  if (i <= 0) return false;
  let cp = text.charCodeAt(i - 1);
  if (cp >= 0xdc00 && cp <= 0xdfff && i >= 2) {
    const hi = text.charCodeAt(i - 2);
    if (hi >= 0xd800 && hi <= 0xdbff) cp = (hi - 0xd800) * 0x400 + (cp - 0xdc00) + 0x10000;
  }
  return cp === 95 || isWordCode(cp);
}

/** Whether the code point starting at `i` is a letter, digit, mark or underscore. */
function wordAt(text: string, i: number): boolean {
  if (i >= text.length) return false;
  const cp = text.codePointAt(i) as number;
  return cp === 95 || isWordCode(cp);
}

/**
 * Where `names` occur in `text` as whole words, ignoring case — the rule of
 * `wholeWordPattern(name, 'i')`: not touching a letter, digit, mark or underscore. Earliest first
 * and, at one place, longest first; at most `limit` mentions. Time: the text's length times the
 * number of distinct name lengths, whatever the names contain (no pattern is built from them).
 */
export function findMentions(text: string, names: readonly string[], limit = 32): Mention[] {
  const byLength = new Map<number, Map<number, string[]>>();
  for (const name of names) {
    if (name.trim() === '' || name.length > text.length) continue;
    let h = 0;
    for (let k = 0; k < name.length; k++) h = (h * HASH_BASE + fold(name.charCodeAt(k))) % HASH_MOD;
    let table = byLength.get(name.length);
    if (!table) {
      table = new Map();
      byLength.set(name.length, table);
    }
    const list = table.get(h);
    if (!list) table.set(h, [name]);
    else if (!list.includes(name)) list.push(name);
  }
  if (byLength.size === 0) return [];
  const n = text.length;
  const prefix = new Float64Array(n + 1);
  const power = new Float64Array(n + 1);
  power[0] = 1;
  for (let k = 0; k < n; k++) {
    prefix[k + 1] = ((prefix[k] as number) * HASH_BASE + fold(text.charCodeAt(k))) % HASH_MOD;
    power[k + 1] = ((power[k] as number) * HASH_BASE) % HASH_MOD;
  }
  const lengths = [...byLength.keys()].sort((a, b) => b - a);
  const out: Mention[] = [];
  for (let s = 0; s < n; s++) {
    if (wordBefore(text, s)) continue;
    for (const len of lengths) {
      const e = s + len;
      if (e > n || wordAt(text, e)) continue;
      const h = ((prefix[e] as number) - (((prefix[s] as number) * (power[len] as number)) % HASH_MOD) + HASH_MOD) % HASH_MOD;
      const list = byLength.get(len)?.get(h);
      if (!list) continue;
      for (const name of list) {
        if (!sameFolded(text, s, name)) continue;
        out.push({ name, index: s, length: len });
        if (out.length >= limit) return out;
      }
    }
  }
  return out;
}

function sameFolded(text: string, at: number, name: string): boolean {
  for (let k = 0; k < name.length; k++) if (fold(text.charCodeAt(at + k)) !== fold(name.charCodeAt(k))) return false;
  return true;
}
