/**
 * The offline illustrator: a small procedural image engine that needs no model and no
 * network. It reads a scene from the words of a panel's text (time of day, weather,
 * setting, characters, the things it names), lays it out with a PRNG seeded by the text and
 * the seed, paints it into an RGBA buffer, applies the art style as a rendering pass and
 * writes a PNG with a caption strip of whole words. Named characters look the same in every
 * panel of a job: their look comes from the job part of the seed and the name. Edits decode
 * the original PNG and re-grade / decorate it from the words of the instruction, so the
 * result keeps the original's composition.
 *
 * Every text path is linear in its input (prompts may be ~100,000 characters): one pass per
 * tokenisation, set and map look-ups per word, no re-scanning of the text per word or per match.
 *
 * Deterministic for a given (prompt, artStyle, seed) and (original, instruction, seed).
 */
import { PNG } from 'pngjs';
import type { GeneratedImage, ImageEditRequest, ImageModel, ImageRequest } from '../core/ports';
import { drawText, fontText, GLYPH_HEIGHT, glyphsThatFit, textWidth } from './png-font';
import { namesIn as namesInText } from './names';
import { hashString, Random } from './random';

const OFFLINE_IMAGE_MODEL = 'offline-illustrator-v1';
const MIN_SIDE = 64;
const MAX_SIDE = 1024;

type RGB = readonly [number, number, number];
type Point = readonly [number, number];

// ---------------------------------------------------------------------------------------
// Colour helpers

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

function hsl(h: number, s: number, l: number): RGB {
  const hue = (((h % 360) + 360) % 360) / 360;
  const sat = clamp(s, 0, 1);
  const lig = clamp(l, 0, 1);
  if (sat === 0) return [lig * 255, lig * 255, lig * 255];
  const q = lig < 0.5 ? lig * (1 + sat) : lig + sat - lig * sat;
  const p = 2 * lig - q;
  const channel = (t0: number): number => {
    const t = t0 < 0 ? t0 + 1 : t0 > 1 ? t0 - 1 : t0;
    if (t < 1 / 6) return p + (q - p) * 6 * t;
    if (t < 1 / 2) return q;
    if (t < 2 / 3) return p + (q - p) * (2 / 3 - t) * 6;
    return p;
  };
  return [channel(hue + 1 / 3) * 255, channel(hue) * 255, channel(hue - 1 / 3) * 255];
}

const mix = (a: RGB, b: RGB, t: number): RGB => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
const shade = (c: RGB, f: number): RGB => [c[0] * f, c[1] * f, c[2] * f];
const luma = (r: number, g: number, b: number): number => 0.299 * r + 0.587 * g + 0.114 * b;

const WHITE: RGB = [255, 255, 255];
const INK: RGB = [28, 24, 32];

/** Clamps a requested side length to the supported range (64..1024). */
function clampSide(n: number): number {
  if (!Number.isFinite(n)) return 512;
  return Math.round(clamp(n, MIN_SIDE, MAX_SIDE));
}

// ---------------------------------------------------------------------------------------
// Raster canvas

class Canvas {
  readonly data: Uint8ClampedArray;

  constructor(
    readonly width: number,
    readonly height: number,
    data?: Uint8ClampedArray,
  ) {
    this.data = data ?? new Uint8ClampedArray(width * height * 4).fill(255);
  }

  /** Fills row `y` from x0 (inclusive) to x1 (exclusive), blending with alpha `a`. */
  span(y: number, x0: number, x1: number, c: RGB, a = 1): void {
    // Rounding and clamping without Math.* calls: this runs for every pixel of thin strokes.
    if (y < -0.5 || a <= 0) return;
    const row = (y + 0.5) | 0;
    if (row >= this.height) return;
    const from = x0 <= 0 ? 0 : (x0 + 0.5) | 0;
    const to = x1 >= this.width ? this.width : x1 <= 0 ? 0 : (x1 + 0.5) | 0;
    if (to <= from) return;
    const d = this.data;
    const end = (row * this.width + to) * 4;
    const [r, g, b] = c;
    if (a >= 1) {
      for (let i = (row * this.width + from) * 4; i < end; i += 4) {
        d[i] = r;
        d[i + 1] = g;
        d[i + 2] = b;
      }
    } else {
      for (let i = (row * this.width + from) * 4; i < end; i += 4) {
        d[i] = d[i]! + (r - d[i]!) * a;
        d[i + 1] = d[i + 1]! + (g - d[i + 1]!) * a;
        d[i + 2] = d[i + 2]! + (b - d[i + 2]!) * a;
      }
    }
  }

  rect(x: number, y: number, w: number, h: number, c: RGB, a = 1): void {
    const y0 = Math.max(0, Math.round(y));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let row = y0; row < y1; row++) this.span(row, x, x + w, c, a);
  }

  ellipse(cx: number, cy: number, rx: number, ry: number, c: RGB, a = 1): void {
    if (rx <= 0 || ry <= 0) return;
    const y0 = Math.max(0, Math.floor(cy - ry));
    const y1 = Math.min(this.height - 1, Math.ceil(cy + ry));
    for (let y = y0; y <= y1; y++) {
      const dy = (y + 0.5 - cy) / ry;
      if (dy <= -1 || dy >= 1) continue;
      const half = rx * Math.sqrt(1 - dy * dy);
      this.span(y, cx - half, cx + half, c, a);
    }
  }

  circle(cx: number, cy: number, r: number, c: RGB, a = 1): void {
    this.ellipse(cx, cy, r, r, c, a);
  }

  /** Even-odd scanline fill of a polygon. */
  polygon(points: readonly Point[], c: RGB, a = 1): void {
    if (points.length < 3) return;
    let minY = Infinity;
    let maxY = -Infinity;
    for (const [, y] of points) {
      minY = Math.min(minY, y);
      maxY = Math.max(maxY, y);
    }
    const y0 = Math.max(0, Math.floor(minY));
    const y1 = Math.min(this.height - 1, Math.ceil(maxY));
    const xs: number[] = [];
    for (let y = y0; y <= y1; y++) {
      const yc = y + 0.5;
      xs.length = 0;
      for (let k = 0; k < points.length; k++) {
        const p = points[k] as Point;
        const q = points[(k + 1) % points.length] as Point;
        if ((p[1] <= yc && q[1] > yc) || (q[1] <= yc && p[1] > yc)) {
          xs.push(p[0] + ((yc - p[1]) * (q[0] - p[0])) / (q[1] - p[1]));
        }
      }
      xs.sort((m, n) => m - n);
      for (let k = 0; k + 1 < xs.length; k += 2) this.span(y, xs[k] as number, xs[k + 1] as number, c, a);
    }
  }

  /** A straight stroke; thin strokes are drawn pixel by pixel, thick ones as a quad with round caps. */
  line(x0: number, y0: number, x1: number, y1: number, thickness: number, c: RGB, a = 1): void {
    const dx = x1 - x0;
    const dy = y1 - y0;
    const len = Math.hypot(dx, dy);
    if (thickness <= 1.5 || len === 0) {
      const steps = Math.max(1, Math.ceil(Math.max(Math.abs(dx), Math.abs(dy))));
      for (let k = 0; k <= steps; k++) {
        const x = x0 + (dx * k) / steps;
        this.span(y0 + (dy * k) / steps, x, x + 1, c, a);
      }
      return;
    }
    const nx = (-dy / len) * (thickness / 2);
    const ny = (dx / len) * (thickness / 2);
    this.polygon(
      [
        [x0 + nx, y0 + ny],
        [x1 + nx, y1 + ny],
        [x1 - nx, y1 - ny],
        [x0 - nx, y0 - ny],
      ],
      c,
      a,
    );
    if (a >= 1) {
      this.circle(x0, y0, thickness / 2, c);
      this.circle(x1, y1, thickness / 2, c);
    }
  }
}

/** Fills every column x from `tops[x]` down to `bottom`, one colour per row (`colorAt(y)`). */
function fillBelow(cv: Canvas, tops: Float64Array, bottom: number, colorAt: (y: number) => RGB): void {
  const { width: w, data: d } = cv;
  const start = new Int32Array(w);
  let highest = Infinity;
  for (let x = 0; x < w; x++) {
    start[x] = Math.round(tops[x]!);
    highest = Math.min(highest, start[x]!);
  }
  for (let y = Math.max(0, highest); y < Math.min(cv.height, Math.round(bottom)); y++) {
    const [r, g, b] = colorAt(y);
    for (let x = 0, i = y * w * 4; x < w; x++, i += 4) {
      if (y < start[x]!) continue;
      d[i] = r;
      d[i + 1] = g;
      d[i + 2] = b;
    }
  }
}

function gradientAt(stops: readonly RGB[], t: number): RGB {
  if (stops.length === 1) return stops[0] as RGB;
  const pos = clamp(t, 0, 1) * (stops.length - 1);
  const k = Math.min(stops.length - 2, Math.floor(pos));
  return mix(stops[k] as RGB, stops[k + 1] as RGB, pos - k);
}

// ---------------------------------------------------------------------------------------
// Scene description from text

type TimeOfDay = 'day' | 'sunset' | 'night';
type Weather = 'clear' | 'rain' | 'snow' | 'storm';
type FigureKind = 'person' | 'royal' | 'wizard' | 'robot' | 'cat' | 'dog' | 'fox' | 'rabbit' | 'bear' | 'dragon' | 'bird' | 'horse' | 'unicorn';

export interface FigureSpec {
  kind: FigureKind;
  dress: boolean;
  /** The name the text gives this character: its look then comes from the job and the name (see `characterLook`). */
  name?: string;
}

/** Things the renderer draws when the text names them. */
export type Thing =
  | 'moon'
  | 'star'
  | 'rainbow'
  | 'balloon'
  | 'kite'
  | 'cloud'
  | 'lantern'
  | 'campfire'
  | 'tent'
  | 'boat'
  | 'ship'
  | 'bridge'
  | 'windmill'
  | 'mushroom'
  | 'treasure'
  | 'butterfly'
  | 'snowman'
  | 'fish';

export interface Scene {
  time: TimeOfDay;
  weather: Weather;
  space: boolean;
  rocket: boolean;
  /** 0 = none, otherwise roughly how many trees. */
  trees: number;
  autumn: boolean;
  flowers: boolean;
  water: 'none' | 'sea' | 'river' | 'lake';
  beach: boolean;
  mountains: boolean;
  buildings: 'none' | 'city' | 'village' | 'castle' | 'lighthouse';
  figures: FigureSpec[];
  /** The things the text names, in order of first mention. */
  things: Thing[];
  /** The text of the caption strip: it shows as many whole words of it as fit (see `layoutCaption`). */
  caption: string;
}

const words = (...list: string[]): ReadonlySet<string> => new Set(list);

// The scene's keywords (words added to the vocabulary later go into the `*_WORDS` sets further down).
const NIGHT = words('night', 'nights', 'midnight', 'nighttime', 'moon', 'moons', 'moonlight', 'moonlit', 'star', 'stars', 'starry', 'starlight', 'starlit', 'dark', 'darkness', 'owl');
const SUNSET = words('sunset', 'sunsets', 'sunrise', 'dusk', 'dawn', 'evening', 'twilight', 'golden');
const STORM = words('storm', 'storms', 'stormy', 'thunder', 'thunderstorm', 'lightning', 'tempest', 'hurricane');
const RAIN = words('rain', 'rains', 'raining', 'rainy', 'rainfall', 'drizzle', 'puddle', 'puddles', 'umbrella', 'shower');
const SNOW = words('snow', 'snowy', 'snowing', 'snowfall', 'snowflake', 'snowflakes', 'snowman', 'winter', 'frost', 'frosty', 'frozen', 'ice', 'icy', 'blizzard');
const SPACE = words('space', 'planet', 'planets', 'galaxy', 'orbit', 'alien', 'aliens', 'comet', 'asteroid', 'spaceship', 'rocket', 'rockets', 'astronaut', 'astronauts', 'cosmos', 'universe');
const ROCKET = words('rocket', 'rockets', 'spaceship', 'astronaut', 'astronauts');
const FOREST = words('forest', 'forests', 'woods', 'woodland', 'jungle', 'grove', 'wilderness');
const TREE = words('tree', 'trees', 'orchard', 'park', 'garden', 'gardens', 'oak', 'pine', 'willow', 'meadow');
const AUTUMN = words('autumn', 'fall', 'leaves', 'harvest', 'pumpkin');
const FLOWERS = words('flower', 'flowers', 'garden', 'gardens', 'meadow', 'spring', 'blossom', 'blossoms', 'rose', 'roses', 'tulips');
const SEA = words('sea', 'seas', 'ocean', 'oceans', 'bay', 'harbour', 'harbor', 'beach', 'shore', 'coast', 'island', 'waves', 'wave', 'lighthouse', 'boat', 'ship', 'sail', 'seaside', 'pirate', 'pirates');
const BEACH = words('beach', 'shore', 'coast', 'island', 'sand', 'sandy', 'seaside');
const RIVER = words('river', 'rivers', 'stream', 'brook', 'creek', 'riverbank');
const LAKE = words('lake', 'lakes', 'pond', 'pool', 'water', 'lagoon');
const MOUNTAIN = words('mountain', 'mountains', 'hill', 'hills', 'hillside', 'peak', 'peaks', 'valley', 'cliff', 'cliffs', 'volcano', 'alps', 'pass');
const CITY = words('city', 'cities', 'town', 'towns', 'street', 'streets', 'skyline', 'market', 'skyscraper', 'skyscrapers', 'rooftop', 'downtown', 'harbour-town');
const VILLAGE = words('house', 'houses', 'home', 'cottage', 'village', 'villages', 'farm', 'hut', 'cabin', 'barn', 'farmhouse');
const CASTLE = words('castle', 'castles', 'palace', 'tower', 'towers', 'fortress', 'kingdom');
const LIGHTHOUSE = words('lighthouse', 'lighthouses');

interface FigureWord {
  kind: FigureKind;
  count?: number;
  dress?: boolean;
}

/** Words that draw a figure (a person or an animal). */
const FIGURE_WORDS: Record<string, FigureWord> = {
  girl: { kind: 'person', dress: true },
  girls: { kind: 'person', count: 2, dress: true },
  boy: { kind: 'person' },
  boys: { kind: 'person', count: 2 },
  woman: { kind: 'person', dress: true },
  man: { kind: 'person' },
  child: { kind: 'person' },
  kid: { kind: 'person' },
  children: { kind: 'person', count: 2 },
  kids: { kind: 'person', count: 2 },
  friends: { kind: 'person', count: 2 },
  twins: { kind: 'person', count: 2 },
  family: { kind: 'person', count: 3 },
  people: { kind: 'person', count: 3 },
  mother: { kind: 'person', dress: true },
  mom: { kind: 'person', dress: true },
  grandma: { kind: 'person', dress: true },
  sister: { kind: 'person', dress: true },
  father: { kind: 'person' },
  dad: { kind: 'person' },
  grandpa: { kind: 'person' },
  brother: { kind: 'person' },
  teacher: { kind: 'person' },
  explorer: { kind: 'person' },
  pirate: { kind: 'person' },
  sailor: { kind: 'person' },
  farmer: { kind: 'person' },
  knight: { kind: 'person' },
  astronaut: { kind: 'person' },
  king: { kind: 'royal' },
  prince: { kind: 'royal' },
  queen: { kind: 'royal', dress: true },
  princess: { kind: 'royal', dress: true },
  wizard: { kind: 'wizard', dress: true },
  witch: { kind: 'wizard', dress: true },
  sorcerer: { kind: 'wizard', dress: true },
  robot: { kind: 'robot' },
  robots: { kind: 'robot', count: 2 },
  cat: { kind: 'cat' },
  cats: { kind: 'cat', count: 2 },
  kitten: { kind: 'cat' },
  dog: { kind: 'dog' },
  dogs: { kind: 'dog', count: 2 },
  puppy: { kind: 'dog' },
  fox: { kind: 'fox' },
  foxes: { kind: 'fox', count: 2 },
  rabbit: { kind: 'rabbit' },
  bunny: { kind: 'rabbit' },
  hare: { kind: 'rabbit' },
  bear: { kind: 'bear' },
  dragon: { kind: 'dragon' },
  dragons: { kind: 'dragon', count: 2 },
  bird: { kind: 'bird' },
  birds: { kind: 'bird', count: 3 },
  owl: { kind: 'bird' },
  parrot: { kind: 'bird' },
};


const SPACE_CHAR = /\s/;

/** The characters a text names (see ./names): "Captain Rosa Vega" is one, "Paris" is none. */
export function namesIn(prompt: string): string[] {
  return namesInText(prompt);
}

// ---------------------------------------------------------------------------------------
// The scene vocabulary: the lists above plus the words added since.

const more = (base: ReadonlySet<string>, ...list: string[]): ReadonlySet<string> => new Set([...base, ...list]);

const NIGHT_WORDS = more(NIGHT, 'moonbeam', 'moonbeams', 'moonrise', 'crescent', 'stargazing', 'owls', 'bedtime', 'nightfall');
const SUNSET_WORDS = more(SUNSET, 'sundown', 'daybreak', 'sunrises');
const STORM_WORDS = more(STORM, 'thunderstorms', 'gale', 'hurricanes');
const RAIN_WORDS = more(RAIN, 'raindrop', 'raindrops', 'rained', 'showers', 'drizzling', 'umbrellas', 'downpour');
const SNOW_WORDS = more(SNOW, 'snowmen', 'snowball', 'snowballs', 'sled', 'sledge', 'icicle', 'icicles', 'snowflake');
const FOREST_WORDS = more(FOREST, 'woodlands', 'jungles', 'groves', 'thicket');
const TREE_WORDS = more(TREE, 'oaks', 'pines', 'willows', 'orchards', 'parks', 'meadows', 'treehouse', 'branch', 'branches');
const AUTUMN_WORDS = more(AUTUMN, 'pumpkins', 'acorn', 'acorns');
const FLOWER_WORDS = more(FLOWERS, 'tulip', 'daisy', 'daisies', 'sunflower', 'sunflowers', 'petals', 'bloom', 'blooms', 'blooming');
/** "wave(s)" is mostly the gesture and a boat can be on a lake or a river: neither makes a sea. */
const SEA_WORDS: ReadonlySet<string> = new Set([...more(SEA, 'ships', 'sails', 'sailing', 'sailboat', 'sailboats', 'whale', 'whales', 'dolphin', 'dolphins', 'mermaid', 'mermaids', 'seashell', 'seashells', 'harbours', 'harbors')].filter((w) => w !== 'wave' && w !== 'waves' && w !== 'boat'));
const BEACH_WORDS = more(BEACH, 'beaches', 'shores', 'sandcastle', 'seashell', 'seashells');
const RIVER_WORDS = more(RIVER, 'streams', 'brooks', 'creeks', 'bridge', 'bridges', 'waterfall');
const LAKE_WORDS = more(LAKE, 'ponds', 'lagoons', 'boat', 'boats', 'rowboat', 'canoe', 'canoes', 'raft', 'rafts', 'kayak');
const MOUNTAIN_WORDS = more(MOUNTAIN, 'mount', 'volcanoes', 'valleys', 'ridge', 'slopes');
const CITY_WORDS = more(CITY, 'markets', 'rooftops');
const VILLAGE_WORDS = more(VILLAGE, 'cottages', 'huts', 'cabins', 'farms', 'barns', 'homes');
const CASTLE_WORDS = more(CASTLE, 'palaces', 'fortresses', 'kingdoms');

/** Figure words the scene reads (a Map, so `constructor` and friends are not figures). */
const FIGURES: ReadonlyMap<string, FigureWord> = new Map<string, FigureWord>([
  ...Object.entries(FIGURE_WORDS),
  ['baby', { kind: 'person' }],
  ['grandmother', { kind: 'person', dress: true }],
  ['grandfather', { kind: 'person' }],
  ['aunt', { kind: 'person', dress: true }],
  ['uncle', { kind: 'person' }],
  ['captain', { kind: 'person' }],
  ['fairy', { kind: 'person', dress: true }],
  ['fairies', { kind: 'person', count: 2, dress: true }],
  ['mermaid', { kind: 'person', dress: true }],
  ['knights', { kind: 'person', count: 2 }],
  ['pirates', { kind: 'person', count: 2 }],
  ['princesses', { kind: 'royal', count: 2, dress: true }],
  ['wizards', { kind: 'wizard', count: 2, dress: true }],
  ['witches', { kind: 'wizard', count: 2, dress: true }],
  ['kitty', { kind: 'cat' }],
  ['kittens', { kind: 'cat', count: 2 }],
  ['puppies', { kind: 'dog', count: 2 }],
  ['wolf', { kind: 'dog' }],
  ['wolves', { kind: 'dog', count: 2 }],
  ['rabbits', { kind: 'rabbit', count: 2 }],
  ['bunnies', { kind: 'rabbit', count: 2 }],
  ['bears', { kind: 'bear', count: 2 }],
  ['owls', { kind: 'bird', count: 2 }],
  ['parrots', { kind: 'bird', count: 2 }],
  ['duck', { kind: 'bird' }],
  ['ducks', { kind: 'bird', count: 3 }],
  ['swan', { kind: 'bird' }],
  ['seagull', { kind: 'bird' }],
  ['seagulls', { kind: 'bird', count: 3 }],
  ['horse', { kind: 'horse' }],
  ['horses', { kind: 'horse', count: 2 }],
  ['pony', { kind: 'horse' }],
  ['ponies', { kind: 'horse', count: 2 }],
  ['unicorn', { kind: 'unicorn' }],
  ['unicorns', { kind: 'unicorn', count: 2 }],
]);

const THING_WORDS: ReadonlyMap<string, Thing> = new Map<string, Thing>(
  (
    [
      ['moon', 'moon moons moonlight moonlit moonbeam moonbeams moonrise crescent'],
      ['star', 'star'],
      ['rainbow', 'rainbow rainbows'],
      ['balloon', 'balloon balloons'],
      ['kite', 'kite kites'],
      ['cloud', 'cloud clouds cloudy'],
      ['lantern', 'lantern lanterns lamp lamps torch torches candle candles'],
      ['campfire', 'campfire campfires bonfire fire fires flames'],
      ['tent', 'tent tents camp camping campsite'],
      ['boat', 'boat boats rowboat canoe canoes raft rafts kayak sailboat sailboats'],
      ['ship', 'ship ships pirate pirates sails'],
      ['bridge', 'bridge bridges'],
      ['windmill', 'windmill windmills'],
      ['mushroom', 'mushroom mushrooms toadstool toadstools'],
      ['treasure', 'treasure treasures chest chests'],
      ['butterfly', 'butterfly butterflies'],
      ['snowman', 'snowman snowmen'],
      ['fish', 'fish fishes whale whales dolphin dolphins'],
    ] as const
  ).flatMap(([thing, list]) => list.split(' ').map((word): [string, Thing] => [word, thing])),
);

const MAX_FIGURES = 5;

/** The scene's word categories, one bit each. */
const CATEGORY_LISTS = {
  space: SPACE,
  rocket: ROCKET,
  night: NIGHT_WORDS,
  sunset: SUNSET_WORDS,
  storm: STORM_WORDS,
  rain: RAIN_WORDS,
  snow: SNOW_WORDS,
  forest: FOREST_WORDS,
  tree: TREE_WORDS,
  autumn: AUTUMN_WORDS,
  flowers: FLOWER_WORDS,
  sea: SEA_WORDS,
  beach: BEACH_WORDS,
  river: RIVER_WORDS,
  lake: LAKE_WORDS,
  mountain: MOUNTAIN_WORDS,
  lighthouse: LIGHTHOUSE,
  castle: CASTLE_WORDS,
  city: CITY_WORDS,
  village: VILLAGE_WORDS,
} as const;
type Category = keyof typeof CATEGORY_LISTS;
const CATEGORY_BIT = Object.fromEntries(Object.keys(CATEGORY_LISTS).map((name, k) => [name, 1 << k])) as Record<Category, number>;

interface Entry {
  /** The categories the word belongs to (bits of CATEGORY_BIT). */
  mask: number;
  figure?: FigureWord;
  thing?: Thing;
}

/** Every word the scene reads, with all it means: one look-up per word of the text. */
const LEXICON: ReadonlyMap<string, Entry> = (() => {
  const lexicon = new Map<string, Entry>();
  const entry = (word: string): Entry => {
    let e = lexicon.get(word);
    if (e === undefined) {
      e = { mask: 0 };
      lexicon.set(word, e);
    }
    return e;
  };
  for (const [name, list] of Object.entries(CATEGORY_LISTS) as Array<[Category, ReadonlySet<string>]>) {
    for (const word of list) entry(word).mask |= CATEGORY_BIT[name];
  }
  for (const [word, figure] of FIGURES) entry(word).figure = figure;
  for (const [word, thing] of THING_WORDS) entry(word).thing = thing;
  return lexicon;
})();

const GAP_SPACE = 0;
const GAP_COMMA = 1;
const GAP_OTHER = 2;

/** The prompt's words, in one pass (linear). */
interface Tokens {
  /** As written, without a trailing `'s`. */
  words: string[];
  /** Lower case, without a trailing `'s`. */
  keys: string[];
  /** What separates each word from the previous one: spaces only, spaces and commas, or anything else. */
  gaps: number[];
}

/** What lies in `text[from, to)`: only whitespace, whitespace and commas, or something else. O(to - from). */
function gapKind(text: string, from: number, to: number): number {
  let kind = GAP_SPACE;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || (c >= 9 && c <= 13)) continue;
    if (c === 44) kind = GAP_COMMA;
    else if (c < 128 || !SPACE_CHAR.test(text.charAt(i))) return GAP_OTHER;
  }
  return kind;
}

function tokenize(prompt: string): Tokens {
  const tokens: Tokens = { words: [], keys: [], gaps: [] };
  const pattern = /[A-Za-z][A-Za-z'-]*/g;
  let end = 0;
  for (let m = pattern.exec(prompt); m !== null; m = pattern.exec(prompt)) {
    const raw = m[0];
    const word = raw.endsWith("'s") ? raw.slice(0, -2) : raw;
    // Each gap is read once, so this stays linear.
    tokens.gaps.push(gapKind(prompt, end, m.index));
    tokens.words.push(word);
    tokens.keys.push(word.toLowerCase());
    end = m.index + raw.length;
  }
  return tokens;
}

/** Words between a name and a figure word that still describe that name ("Ember, the little dragon"). */
const DETERMINERS = words('the', 'a', 'an', 'her', 'his', 'their', 'our', 'my', 'your', 'its');

/**
 * The figure word a name (token `i`) is introduced with, if any: "her dragon Ember", "the fox
 * Theo", "Ember, the little dragon". Only singular figure words bind. Reads at most five tokens.
 */
function boundFigure(tokens: Tokens, i: number): { key: string; hit: FigureWord } | undefined {
  const { keys, gaps } = tokens;
  const single = (k: number): { key: string; hit: FigureWord } | undefined => {
    const key = keys[k];
    const hit = key === undefined ? undefined : LEXICON.get(key)?.figure;
    return key !== undefined && hit !== undefined && (hit.count ?? 1) === 1 ? { key, hit } : undefined;
  };
  if (gaps[i] === GAP_SPACE && i > 0) {
    const before = single(i - 1);
    if (before !== undefined) return before;
  }
  const next = keys[i + 1];
  if (next === undefined || gaps[i + 1] === GAP_OTHER || !DETERMINERS.has(next)) return undefined;
  for (let k = i + 2; k < Math.min(keys.length, i + 5); k++) {
    if (gaps[k] === GAP_OTHER) return undefined;
    const found = single(k);
    if (found !== undefined) return found;
    if (LEXICON.get(keys[k] as string)?.figure !== undefined) return undefined;
  }
  return undefined;
}

/**
 * Reads a scene from the words of a panel's text. Linear in the text: one tokenising pass, one
 * lexicon look-up per word, and the names pass (stopped after the names that are drawn).
 */
export function describeScene(prompt: string): Scene {
  const tokens = tokenize(prompt);
  const { words: written, keys } = tokens;
  const entries: Array<Entry | undefined> = keys.map((key) => LEXICON.get(key));
  let mask = 0;
  for (const e of entries) if (e !== undefined) mask |= e.mask;
  const is = (category: Category): boolean => (mask & CATEGORY_BIT[category]) !== 0;

  const space = is('space');
  const time: TimeOfDay = space || is('night') ? 'night' : is('sunset') ? 'sunset' : 'day';
  const weather: Weather = space ? 'clear' : is('storm') ? 'storm' : is('snow') ? 'snow' : is('rain') ? 'rain' : 'clear';
  const water = is('sea') ? 'sea' : is('river') ? 'river' : is('lake') ? 'lake' : 'none';
  const buildings = is('lighthouse') ? 'lighthouse' : is('castle') ? 'castle' : is('city') ? 'city' : is('village') ? 'village' : 'none';

  // Named characters first (at most MAX_FIGURES are drawn), each as the figure word it is
  // introduced with, if any; that word is then not drawn a second time.
  const names: string[] = [];
  for (const name of namesIn(prompt)) {
    // Words of the scene vocabulary ("Fish jump.", "Butterflies dance.") are things, not names, here.
    if (LEXICON.has(name.toLowerCase())) continue;
    names.push(name);
    if (names.length === MAX_FIGURES) break;
  }
  const bound = new Map<string, FigureWord>();
  /** Figure words that introduce a name: not drawn a second time. */
  const usedWords = new Set<string>();
  if (names.length > 0) {
    // A name may be several words ("Captain Rosa Vega"): it is found by its first or last word.
    const wanted = new Map<string, string>();
    for (const n of names) {
      const parts = n.split(' ');
      wanted.set(parts[0] as string, n);
      wanted.set(parts.at(-1) as string, n);
    }
    for (let i = 0; i < written.length && bound.size < names.length; i++) {
      const name = wanted.get(written[i] as string);
      if (name === undefined || bound.has(name)) continue;
      const found = boundFigure(tokens, i);
      if (found === undefined) continue;
      bound.set(name, found.hit);
      usedWords.add(found.key);
    }
  }
  const figures: FigureSpec[] = [];
  const add = (spec: FigureSpec): void => {
    if (figures.length < MAX_FIGURES) figures.push(spec);
  };
  for (const name of names) {
    const hit = bound.get(name);
    const kind = hit?.kind ?? 'person';
    // A named person's clothes depend on the name only, so every panel agrees.
    const dress = kind === 'person' ? hashString(name.toLowerCase()) % 2 === 0 : (hit?.dress ?? false);
    add({ kind, dress, name });
  }
  const seenWords = new Set<string>();
  const things: Thing[] = [];
  const seenThings = new Set<Thing>();
  entries.forEach((e, i) => {
    if (e === undefined) return;
    const key = keys[i] as string;
    if (e.figure !== undefined && figures.length < MAX_FIGURES && !seenWords.has(key)) {
      seenWords.add(key);
      if (!usedWords.has(key)) for (let k = 0; k < (e.figure.count ?? 1); k++) add({ kind: e.figure.kind, dress: e.figure.dress ?? false });
    }
    if (e.thing !== undefined && !seenThings.has(e.thing)) {
      seenThings.add(e.thing);
      things.push(e.thing);
    }
  });

  return {
    time,
    weather,
    space,
    rocket: is('rocket'),
    trees: is('forest') ? 14 : is('tree') ? 3 : 0,
    autumn: is('autumn'),
    flowers: is('flowers'),
    water,
    beach: is('beach'),
    mountains: is('mountain'),
    buildings,
    figures,
    things,
    caption: prompt,
  };
}

// ---------------------------------------------------------------------------------------
// Painting

interface Ctx {
  cv: Canvas;
  rng: Random;
  scene: Scene;
  w: number;
  h: number;
  /** Bottom of the picture area (top of the caption strip). */
  sceneH: number;
  horizon: number;
  /** Size unit: 1 at 512 px. */
  u: number;
  /** Maps a daylight colour to the scene's lighting. */
  tone: (c: RGB) => RGB;
  sky: readonly RGB[];
  /** Per column: the y where land (or sea) begins. */
  ground: Float64Array;
  waterAt: (x: number, y: number) => boolean;
  /** A point on open water for boats and fish (`far`: towards the horizon), or null without water. */
  waterSpot: (far: boolean) => Point | null;
  /** The river's centre and half width at row y, when there is a river. */
  river: ((y: number) => readonly [number, number]) | null;
  dark: boolean;
  /** The job part of the seed: named characters look the same in every panel of a job. */
  jobKey: string;
}

function skyAt(ctx: Ctx, y: number): RGB {
  return gradientAt(ctx.sky, y / Math.max(1, ctx.horizon));
}

function makeTone(scene: Scene): (c: RGB) => RGB {
  const base = (c: RGB): RGB => {
    if (scene.space) return mix(shade(c, 0.55), [20, 16, 48], 0.3);
    if (scene.time === 'night') return mix(shade(c, 0.32), [16, 22, 58], 0.38);
    if (scene.time === 'sunset') return shade(mix(c, [255, 130, 70], 0.2), 0.8);
    return c;
  };
  if (scene.weather === 'storm') return (c) => shade(mix(base(c), [96, 100, 112], 0.35), 0.72);
  if (scene.weather === 'rain') return (c) => shade(mix(base(c), [120, 126, 138], 0.25), 0.86);
  if (scene.weather === 'snow') return (c) => mix(base(c), [215, 225, 240], 0.15);
  return base;
}

function skyStops(scene: Scene, rng: Random): RGB[] {
  const hue = rng.next() * 40;
  let stops: RGB[];
  if (scene.space) stops = [hsl(250 + hue, 0.5, 0.03), hsl(265 + hue, 0.45, 0.1), hsl(280 + hue, 0.4, 0.2)];
  else if (scene.time === 'night') stops = [hsl(218 + hue / 2, 0.65, 0.06), hsl(228 + hue / 2, 0.5, 0.15), hsl(236 + hue / 2, 0.4, 0.27)];
  else if (scene.time === 'sunset') stops = [hsl(250 + hue, 0.4, 0.3), hsl(340 + hue / 2, 0.55, 0.55), hsl(20 + hue / 2, 0.9, 0.6), hsl(42 + hue / 4, 0.95, 0.7)];
  else stops = [hsl(196 + hue / 1.6, 0.7, 0.5), hsl(200 + hue / 1.6, 0.65, 0.68), hsl(195 + hue / 2, 0.55, 0.86)];
  if (scene.weather === 'storm') stops = stops.map((c) => shade(mix(c, [88, 92, 104], 0.65), 0.8));
  else if (scene.weather === 'rain') stops = stops.map((c) => mix(c, [140, 148, 160], 0.45));
  else if (scene.weather === 'snow') stops = stops.map((c) => mix(c, [205, 212, 225], 0.35));
  return stops;
}

function paintSky(ctx: Ctx): void {
  for (let y = 0; y < ctx.sceneH; y++) ctx.cv.span(y, 0, ctx.w, skyAt(ctx, y));
}

function paintStars(ctx: Ctx, density: number): void {
  const { cv, rng, w, horizon, u } = ctx;
  const n = Math.round((w * horizon * density) / 900);
  for (let k = 0; k < n; k++) {
    const x = rng.next() * w;
    const y = rng.next() * horizon * 0.95;
    const b = 0.45 + rng.next() * 0.55;
    const c: RGB = mix([255, 250, 225], [200, 215, 255], rng.next());
    if (rng.next() < 0.06) {
      const r = (1.5 + rng.next() * 2.5) * u;
      cv.line(x - r * 2, y, x + r * 2, y, 1, c, 0.8 * b);
      cv.line(x, y - r * 2, x, y + r * 2, 1, c, 0.8 * b);
      cv.circle(x, y, Math.max(1, r * 0.6), c);
    } else {
      cv.span(y, x, x + Math.max(1, u * 1.2), c, b);
    }
  }
}

function paintMoon(ctx: Ctx): void {
  const { cv, rng, w, horizon, u } = ctx;
  const r = 30 * u * (0.8 + rng.next() * 0.5);
  const cx = w * (0.15 + rng.next() * 0.7);
  const cy = horizon * (0.18 + rng.next() * 0.2);
  const moon: RGB = [242, 238, 214];
  cv.circle(cx, cy, r, moon);
  if (rng.next() < 0.5) {
    // Crescent: cover part of the disc with the sky colour of each row.
    const ox = cx + r * 0.45 * (rng.next() < 0.5 ? -1 : 1);
    const oy = cy - r * 0.15;
    const rr = r * 0.9;
    for (let y = Math.floor(oy - rr); y <= Math.ceil(oy + rr); y++) {
      const dy = (y + 0.5 - oy) / rr;
      if (dy <= -1 || dy >= 1) continue;
      const half = rr * Math.sqrt(1 - dy * dy);
      cv.span(y, ox - half, ox + half, skyAt(ctx, y));
    }
  } else {
    for (let k = 0; k < 4; k++) {
      const a = rng.next() * Math.PI * 2;
      const d = rng.next() * r * 0.6;
      cv.circle(cx + Math.cos(a) * d, cy + Math.sin(a) * d, r * (0.1 + rng.next() * 0.12), [214, 208, 186]);
    }
  }
  // The glow last, so it also softens the crescent's shadow edge.
  for (let k = 4; k >= 1; k--) cv.circle(cx, cy, r * (1 + k * 0.35), [200, 210, 255], 0.05);
}

function paintSun(ctx: Ctx): void {
  const { cv, rng, w, horizon, u, scene } = ctx;
  const sunset = scene.time === 'sunset';
  const r = (sunset ? 48 : 34) * u * (0.85 + rng.next() * 0.35);
  const cx = w * (0.12 + rng.next() * 0.76);
  const cy = sunset ? horizon - r * (0.2 + rng.next() * 0.5) : horizon * (0.18 + rng.next() * 0.25);
  const core: RGB = sunset ? [255, 120, 60] : [255, 238, 150];
  const glow: RGB = sunset ? [255, 180, 90] : [255, 250, 210];
  const dim = scene.weather === 'clear' ? 1 : 0.45;
  for (let k = 5; k >= 1; k--) cv.circle(cx, cy, r * (1 + k * 0.4), glow, 0.08 * dim);
  cv.circle(cx, cy, r, core, dim);
  if (!sunset && scene.weather === 'clear') {
    for (let k = 0; k < 12; k++) {
      const a = (k / 12) * Math.PI * 2 + rng.next() * 0.1;
      cv.line(cx + Math.cos(a) * r * 1.25, cy + Math.sin(a) * r * 1.25, cx + Math.cos(a) * r * 1.6, cy + Math.sin(a) * r * 1.6, 3 * u, core, 0.8);
    }
  }
}

function paintCloud(cv: Canvas, cx: number, cy: number, size: number, c: RGB, a: number, rng: Random): void {
  const puffs = 4 + Math.floor(rng.next() * 3);
  for (let k = 0; k < puffs; k++) {
    const t = puffs === 1 ? 0.5 : k / (puffs - 1);
    const px = cx + (t - 0.5) * size * 2;
    const pr = size * (0.35 + Math.sin(t * Math.PI) * 0.35 + rng.next() * 0.15);
    cv.circle(px, cy - pr * 0.35, pr, c, a);
  }
  cv.ellipse(cx, cy, size * 1.2, size * 0.3, c, a);
}

function paintClouds(ctx: Ctx): void {
  const { cv, rng, w, horizon, u, scene } = ctx;
  let count: number;
  let color: RGB;
  let alpha = 0.92;
  if (scene.weather === 'storm') {
    count = 5 + rng.int(0, 2);
    color = [70, 72, 84];
  } else if (scene.weather === 'rain' || scene.weather === 'snow') {
    count = 4 + rng.int(0, 2);
    color = scene.time === 'night' ? [58, 62, 80] : [168, 172, 182];
  } else if (scene.time === 'night') {
    count = rng.int(0, 2);
    color = [60, 66, 100];
    alpha = 0.55;
  } else if (scene.time === 'sunset') {
    count = rng.int(1, 3);
    color = [250, 170, 160];
    alpha = 0.7;
  } else {
    count = rng.int(1, 4);
    color = [255, 255, 255];
  }
  if (mentions(scene, 'cloud')) count += 2;
  for (let k = 0; k < count; k++) {
    const size = (26 + rng.next() * 30) * u;
    paintCloud(cv, rng.next() * w, horizon * (0.12 + rng.next() * 0.45), size, color, alpha, rng);
  }
}

function paintPlanets(ctx: Ctx): void {
  const { cv, rng, w, horizon, u } = ctx;
  const n = rng.int(1, 3);
  for (let k = 0; k < n; k++) {
    const r = (22 + rng.next() * 55) * u;
    const cx = w * (0.1 + rng.next() * 0.8);
    const cy = horizon * (0.15 + rng.next() * 0.55);
    const hue = rng.next() * 360;
    const base = hsl(hue, 0.55, 0.55);
    const ringed = rng.next() < 0.5;
    const ring = hsl(hue + 40, 0.45, 0.72);
    const drawRing = (front: boolean): void => {
      for (let y = Math.floor(cy - r * 0.5); y <= Math.ceil(cy + r * 0.5); y++) {
        if (front !== y >= cy) continue;
        const dy = (y + 0.5 - cy) / (r * 0.45);
        if (dy <= -1 || dy >= 1) continue;
        const outer = r * 1.9 * Math.sqrt(1 - dy * dy);
        const dyi = (y + 0.5 - cy) / (r * 0.3);
        const inner = dyi > -1 && dyi < 1 ? r * 1.45 * Math.sqrt(1 - dyi * dyi) : 0;
        cv.span(y, cx - outer, cx - inner, ring, 0.85);
        cv.span(y, cx + inner, cx + outer, ring, 0.85);
      }
    };
    if (ringed) drawRing(false);
    // Banded sphere lit from the upper left.
    const d = cv.data;
    for (let y = Math.max(0, Math.floor(cy - r)); y <= Math.min(cv.height - 1, Math.ceil(cy + r)); y++) {
      const ny = (y + 0.5 - cy) / r;
      const band = Math.sin(ny * 9 + hue) > 0.55 ? 0.82 : 1;
      for (let x = Math.max(0, Math.floor(cx - r)); x <= Math.min(cv.width - 1, Math.ceil(cx + r)); x++) {
        const nx = (x + 0.5 - cx) / r;
        const nz2 = 1 - nx * nx - ny * ny;
        if (nz2 <= 0) continue;
        const lambert = -0.5 * nx - 0.45 * ny + 0.74 * nz2 ** 0.5;
        const light = (lambert < 0.12 ? 0.12 : lambert) * band * 1.2;
        const i = (y * cv.width + x) * 4;
        d[i] = base[0] * light;
        d[i + 1] = base[1] * light;
        d[i + 2] = base[2] * light;
      }
    }
    if (ringed) drawRing(true);
  }
}

function paintRocket(ctx: Ctx): void {
  const { cv, rng, w, horizon, u } = ctx;
  const s = (60 + rng.next() * 30) * u;
  const cx = w * (0.2 + rng.next() * 0.6);
  const top = horizon * (0.1 + rng.next() * 0.35);
  const body: RGB = [232, 232, 240];
  const red: RGB = [220, 60, 60];
  cv.polygon([[cx, top + s * 1.5], [cx - s * 0.22, top + s * 1.95], [cx + s * 0.22, top + s * 1.95]], [255, 200, 80]);
  cv.polygon([[cx, top + s * 1.5], [cx - s * 0.12, top + s * 1.75], [cx + s * 0.12, top + s * 1.75]], [255, 250, 200]);
  cv.polygon([[cx - s * 0.2, top + s * 1.05], [cx - s * 0.42, top + s * 1.55], [cx - s * 0.2, top + s * 1.45]], red);
  cv.polygon([[cx + s * 0.2, top + s * 1.05], [cx + s * 0.42, top + s * 1.55], [cx + s * 0.2, top + s * 1.45]], red);
  cv.rect(cx - s * 0.2, top + s * 0.45, s * 0.4, s * 1.05, body);
  cv.polygon([[cx, top], [cx - s * 0.2, top + s * 0.46], [cx + s * 0.2, top + s * 0.46]], red);
  cv.circle(cx, top + s * 0.75, s * 0.11, [60, 70, 90]);
  cv.circle(cx, top + s * 0.75, s * 0.08, [120, 200, 255]);
}

function paintFarHills(ctx: Ctx): void {
  const { cv, rng, w, horizon, u, tone, sky, sceneH } = ctx;
  const base = mix(tone(hsl(150 + rng.next() * 60, 0.25, 0.5)), sky[sky.length - 1] as RGB, 0.45);
  const amp = (10 + rng.next() * 22) * u;
  const f1 = (1.5 + rng.next() * 3) / w;
  const f2 = (5 + rng.next() * 6) / w;
  const p1 = rng.next() * 7;
  const p2 = rng.next() * 7;
  const tops = new Float64Array(w);
  for (let x = 0; x < w; x++) {
    tops[x] = horizon - amp * (0.6 + 0.6 * Math.sin(x * f1 * Math.PI * 2 + p1) + 0.25 * Math.sin(x * f2 * Math.PI * 2 + p2));
  }
  fillBelow(cv, tops, sceneH, () => base);
}

function paintMountains(ctx: Ctx): void {
  const { cv, rng, w, horizon, u, tone, scene, sky } = ctx;
  const layers = [0.5, 0.2];
  for (let li = 0; li < layers.length; li++) {
    const haze = layers[li] as number;
    const rock = mix(tone(hsl(215 + rng.next() * 30, 0.16, 0.45 - li * 0.08)), sky[sky.length - 1] as RGB, haze);
    const snow = mix(tone(scene.time === 'sunset' ? [255, 215, 200] : [245, 248, 255]), sky[sky.length - 1] as RGB, haze * 0.6);
    const peaks = rng.int(2, 4);
    for (let k = 0; k < peaks; k++) {
      const px = w * ((k + 0.2 + rng.next() * 0.6) / peaks) + (li - 0.5) * w * 0.15;
      const ph = horizon * (0.28 + rng.next() * 0.3) * (li === 0 ? 1.1 : 0.85);
      const wl = ph * (0.9 + rng.next() * 0.9);
      const wr = ph * (0.9 + rng.next() * 0.9);
      const py = horizon - ph;
      cv.polygon([[px - wl, horizon + 4 * u], [px, py], [px + wr, horizon + 4 * u]], rock);
      // Shadow side.
      cv.polygon([[px, py], [px + wr, horizon + 4 * u], [px + wr * 0.25, horizon + 4 * u]], shade(rock, 0.82));
      const cap = 0.24 + rng.next() * 0.1;
      const jag = ph * cap;
      cv.polygon(
        [
          [px, py],
          [px + wr * cap, py + jag],
          [px + wr * cap * 0.45, py + jag * 0.78],
          [px, py + jag * 1.05],
          [px - wl * cap * 0.5, py + jag * 0.8],
          [px - wl * cap, py + jag],
        ],
        snow,
      );
    }
  }
}

function paintCity(ctx: Ctx): void {
  const { cv, rng, w, horizon, u, tone, dark, sky } = ctx;
  for (let layer = 0; layer < 2; layer++) {
    let x = -rng.next() * 30 * u;
    while (x < w) {
      const bw = w * (0.06 + rng.next() * 0.08);
      const bh = horizon * (layer === 0 ? 0.3 + rng.next() * 0.4 : 0.12 + rng.next() * 0.3);
      const wall = layer === 0 ? mix(tone(hsl(200 + rng.next() * 60, 0.12, 0.55 + rng.next() * 0.15)), sky[sky.length - 1] as RGB, 0.35) : tone(hsl(rng.next() * 360, 0.2, 0.4 + rng.next() * 0.25));
      const top = horizon - bh;
      cv.rect(x, top, bw - 2 * u, bh + 6 * u, wall);
      if (rng.next() < 0.25) cv.line(x + bw / 2, top, x + bw / 2, top - 18 * u, Math.max(1, 2 * u), shade(wall, 0.7));
      if (layer === 1) {
        const cell = Math.max(4, Math.round(11 * u));
        const win = Math.max(2, Math.round(cell * 0.5));
        for (let wy = top + cell * 0.6; wy + win < horizon; wy += cell) {
          for (let wx = x + cell * 0.5; wx + win < x + bw - 2 * u - cell * 0.3; wx += cell) {
            const lit = dark ? rng.next() < 0.55 : false;
            cv.rect(wx, wy, win, win, lit ? [255, 214, 120] : tone([196, 220, 236]), dark && !lit ? 0.35 : 0.9);
          }
        }
      }
      x += bw;
    }
  }
}

function paintGround(ctx: Ctx): void {
  const { cv, rng, w, sceneH, horizon, u, tone, scene, ground } = ctx;
  const flat = scene.buildings === 'city' || scene.space;
  const amp = (flat ? 3 : 8 + rng.next() * 14) * u;
  const f1 = (0.8 + rng.next() * 2) / w;
  const p1 = rng.next() * 7;
  const f2 = (3 + rng.next() * 4) / w;
  const p2 = rng.next() * 7;
  let grass: RGB;
  if (scene.space) grass = hsl(rng.next() * 360, 0.08, 0.55);
  else if (scene.weather === 'snow') grass = [236, 240, 248];
  else if (scene.beach) grass = [232, 208, 152];
  else if (scene.autumn) grass = hsl(45 + rng.next() * 25, 0.45, 0.45);
  else grass = hsl(88 + rng.next() * 45, 0.42 + rng.next() * 0.15, 0.42);
  const near = shade(grass, 0.72);

  const seaDepth = scene.water === 'sea' ? (sceneH - horizon) * (0.38 + rng.next() * 0.2) : 0;
  if (scene.water === 'sea') {
    const deep = tone(hsl(200 + rng.next() * 20, 0.6, 0.38));
    const shallow = tone(hsl(185 + rng.next() * 15, 0.55, 0.55));
    for (let y = Math.round(horizon); y < horizon + seaDepth + amp * 2; y++) {
      cv.span(y, 0, w, mix(deep, shallow, (y - horizon) / (seaDepth + amp * 2)));
    }
  }

  const landTop = new Float64Array(w);
  let highest = Infinity;
  for (let x = 0; x < w; x++) {
    const wave = Math.sin(x * f1 * Math.PI * 2 + p1) + 0.35 * Math.sin(x * f2 * Math.PI * 2 + p2);
    const top = horizon + seaDepth + amp * (scene.water === 'sea' ? 0.4 * wave + 1 : wave);
    landTop[x] = top;
    ground[x] = scene.water === 'sea' ? horizon : top;
    highest = Math.min(highest, top);
  }
  fillBelow(cv, landTop, sceneH + 1, (y) => tone(mix(grass, near, (y - highest) / Math.max(1, sceneH - highest))));
  if (scene.water === 'sea') {
    // Surf line and waves.
    for (let x = 0; x < w; x++) {
      const wave = Math.sin(x * f1 * Math.PI * 2 + p1) + 0.35 * Math.sin(x * f2 * Math.PI * 2 + p2);
      const top = horizon + seaDepth + amp * (0.4 * wave + 1);
      cv.rect(x, top - 2 * u, 1, 3 * u, tone([250, 252, 255]), 0.8);
    }
    const n = Math.round((w * seaDepth) / (900 * u * u));
    for (let k = 0; k < n; k++) {
      const y = horizon + 3 * u + rng.next() * (seaDepth - 6 * u);
      const len = (6 + rng.next() * 14) * u * (0.4 + (y - horizon) / seaDepth);
      const x = rng.next() * w;
      cv.line(x, y, x + len, y, Math.max(1, u * 1.5), tone([235, 245, 255]), 0.55);
    }
  }
  if (!scene.space && scene.weather !== 'snow' && !scene.beach) {
    // Grass tufts.
    const n = Math.round((w * (sceneH - horizon)) / (700 * u * u));
    const blade = shade(tone(grass), 0.75);
    for (let k = 0; k < n; k++) {
      const x = rng.next() * w;
      const y = horizon + rng.next() * (sceneH - horizon);
      if (y < (ground[Math.floor(x)] ?? horizon) + 4 * u + seaDepth) continue;
      const s = (2 + ((y - horizon) / (sceneH - horizon)) * 6) * u;
      cv.line(x, y, x - s * 0.4, y - s, 1, blade);
      cv.line(x, y, x + s * 0.4, y - s, 1, blade);
    }
  }
  if (scene.space) {
    for (let k = 0; k < 7; k++) {
      const y = horizon + (0.15 + rng.next() * 0.8) * (sceneH - horizon);
      const depth = (y - horizon) / (sceneH - horizon);
      const r = (8 + rng.next() * 20) * u * (0.4 + depth);
      const x = rng.next() * w;
      cv.ellipse(x, y, r, r * 0.35, shade(tone(grass), 0.75));
      cv.ellipse(x, y + r * 0.06, r * 0.8, r * 0.24, shade(tone(grass), 0.6));
    }
  }
  if (scene.water === 'lake') {
    const cx = w * (0.3 + rng.next() * 0.4);
    const cy = horizon + (sceneH - horizon) * (0.32 + rng.next() * 0.12);
    const rx = w * (0.22 + rng.next() * 0.12);
    const ry = (sceneH - horizon) * 0.16;
    cv.ellipse(cx, cy, rx + 4 * u, ry + 3 * u, tone([120, 110, 90]));
    cv.ellipse(cx, cy, rx, ry, tone(hsl(200 + rng.next() * 15, 0.55, 0.5)));
    cv.ellipse(cx - rx * 0.2, cy - ry * 0.3, rx * 0.5, ry * 0.18, tone([230, 245, 255]), 0.35);
    ctx.waterAt = (x, y) => ((x - cx) / (rx + 10 * u)) ** 2 + ((y - cy) / (ry + 10 * u)) ** 2 < 1;
    ctx.waterSpot = (far) => [cx + (rng.next() - 0.5) * rx * 0.9, cy + ry * (far ? -0.2 : 0.3)];
  } else if (scene.water === 'river') {
    const phase = rng.next() * 6;
    const base = w * (0.35 + rng.next() * 0.3);
    const water = tone(hsl(200 + rng.next() * 15, 0.55, 0.5));
    const bank = tone([150, 130, 95]);
    const centre = (y: number): [number, number] => {
      const t = (y - horizon) / (sceneH - horizon);
      return [base + w * 0.18 * Math.sin(t * 3.2 + phase) * t, w * (0.01 + 0.13 * t)];
    };
    for (let y = Math.round(horizon + amp); y < sceneH; y++) {
      const [c, half] = centre(y);
      cv.span(y, c - half - 3 * u, c + half + 3 * u, bank);
      cv.span(y, c - half, c + half, mix(water, tone([220, 240, 255]), Math.sin(y * 0.35) > 0.9 ? 0.3 : 0));
    }
    ctx.waterAt = (x, y) => {
      const [c, half] = centre(y);
      return Math.abs(x - c) < half + 14 * u;
    };
    ctx.river = centre;
    ctx.waterSpot = (far) => {
      const y = horizon + (sceneH - horizon) * (far ? 0.3 + rng.next() * 0.15 : 0.6 + rng.next() * 0.25);
      return [centre(y)[0], y];
    };
  } else if (scene.water === 'sea') {
    ctx.waterAt = (x, y) => {
      const top = horizon + seaDepth + amp * 2;
      return y < top + 8 * u || x < -1;
    };
    ctx.waterSpot = (far) => [w * (0.1 + rng.next() * 0.8), horizon + seaDepth * (far ? 0.12 + rng.next() * 0.15 : 0.45 + rng.next() * 0.3)];
  }
}

function paintTree(ctx: Ctx, x: number, y: number, hgt: number, pine: boolean): void {
  const { cv, tone, rng, scene } = ctx;
  const trunk = tone([110, 76, 48]);
  if (pine) {
    const green = tone(hsl(130 + rng.next() * 30, 0.45, 0.24 + rng.next() * 0.08));
    cv.rect(x - hgt * 0.05, y - hgt * 0.22, hgt * 0.1, hgt * 0.22, trunk);
    for (let k = 0; k < 3; k++) {
      const top = y - hgt * (1 - k * 0.22);
      const half = hgt * (0.2 + k * 0.07);
      const bottom = y - hgt * (0.48 - k * 0.12);
      cv.polygon([[x, top], [x - half, bottom], [x + half, bottom]], k === 1 ? shade(green, 0.9) : green);
      if (scene.weather === 'snow') cv.polygon([[x, top], [x - half * 0.35, top + (bottom - top) * 0.35], [x + half * 0.35, top + (bottom - top) * 0.35]], tone(WHITE));
    }
  } else {
    const leafy = scene.autumn ? hsl(18 + rng.next() * 30, 0.75, 0.45) : hsl(95 + rng.next() * 40, 0.45, 0.33 + rng.next() * 0.08);
    const green = tone(leafy);
    cv.polygon([[x - hgt * 0.06, y], [x - hgt * 0.035, y - hgt * 0.55], [x + hgt * 0.035, y - hgt * 0.55], [x + hgt * 0.06, y]], trunk);
    cv.circle(x - hgt * 0.16, y - hgt * 0.6, hgt * 0.2, shade(green, 0.85));
    cv.circle(x + hgt * 0.16, y - hgt * 0.62, hgt * 0.21, shade(green, 0.92));
    cv.circle(x, y - hgt * 0.78, hgt * 0.24, green);
    cv.circle(x - hgt * 0.06, y - hgt * 0.84, hgt * 0.1, mix(green, WHITE, 0.15));
    if (scene.weather === 'snow') cv.ellipse(x, y - hgt * 0.98, hgt * 0.16, hgt * 0.05, tone(WHITE));
    if (!scene.autumn && rng.next() < 0.4) {
      for (let k = 0; k < 5; k++) cv.circle(x + (rng.next() - 0.5) * hgt * 0.45, y - hgt * (0.6 + rng.next() * 0.3), hgt * 0.025, tone([220, 50, 50]));
    }
  }
}

function paintHouse(ctx: Ctx, x: number, y: number, s: number): void {
  const { cv, tone, rng, dark } = ctx;
  const wall = tone(hsl(20 + rng.next() * 40, 0.45, 0.72));
  const roof = tone(hsl(rng.next() * 25, 0.55, 0.38));
  const w2 = s * 0.55;
  cv.rect(x + w2 * 0.45, y - s * 1.1, s * 0.12, s * 0.3, shade(roof, 0.8));
  cv.rect(x - w2, y - s * 0.65, w2 * 2, s * 0.65, wall);
  cv.polygon([[x - w2 - s * 0.1, y - s * 0.62], [x, y - s * 1.15], [x + w2 + s * 0.1, y - s * 0.62]], roof);
  cv.rect(x - s * 0.09, y - s * 0.36, s * 0.18, s * 0.36, tone([100, 62, 40]));
  const win: RGB = dark ? [255, 210, 110] : tone([170, 210, 235]);
  cv.rect(x + s * 0.18, y - s * 0.5, s * 0.2, s * 0.18, win);
  cv.rect(x - s * 0.38, y - s * 0.5, s * 0.2, s * 0.18, win);
}

function paintCastle(ctx: Ctx): void {
  const { cv, rng, w, horizon, u, tone, dark, sceneH } = ctx;
  const cx = w * (0.3 + rng.next() * 0.4);
  const base = horizon + (sceneH - horizon) * 0.18;
  const s = Math.min(w, sceneH) * (0.34 + rng.next() * 0.08);
  const stone = tone(hsl(30 + rng.next() * 30, 0.08, 0.62));
  const dim = shade(stone, 0.85);
  const roof = tone(hsl(rng.next() < 0.5 ? 220 : 355, 0.55, 0.4));
  const crenels = (x0: number, x1: number, top: number): void => {
    const step = Math.max(3, (x1 - x0) / 7);
    for (let x = x0; x + step * 0.5 <= x1 + 0.5; x += step) cv.rect(x, top - step * 0.5, step * 0.5, step * 0.5, stone);
  };
  const wallTop = base - s * 0.45;
  cv.rect(cx - s * 0.5, wallTop, s, s * 0.45 + 4 * u, stone);
  crenels(cx - s * 0.5, cx + s * 0.5, wallTop);
  const keepTop = base - s * 0.75;
  cv.rect(cx - s * 0.17, keepTop, s * 0.34, s * 0.3, dim);
  crenels(cx - s * 0.17, cx + s * 0.17, keepTop);
  for (const side of [-1, 1]) {
    const tx = cx + side * s * 0.5;
    const ttop = base - s * 0.68;
    cv.rect(tx - s * 0.1, ttop, s * 0.2, s * 0.68, dim);
    cv.polygon([[tx - s * 0.13, ttop], [tx, ttop - s * 0.28], [tx + s * 0.13, ttop]], roof);
    cv.line(tx, ttop - s * 0.28, tx, ttop - s * 0.4, Math.max(1, 2 * u), tone([80, 60, 40]));
    cv.polygon([[tx, ttop - s * 0.4], [tx + side * s * 0.1, ttop - s * 0.37], [tx, ttop - s * 0.34]], tone([230, 60, 60]));
    cv.rect(tx - s * 0.02, ttop + s * 0.12, s * 0.04, s * 0.08, dark ? [255, 210, 110] : [50, 40, 40]);
  }
  cv.rect(cx - s * 0.08, base - s * 0.2, s * 0.16, s * 0.2 + 4 * u, [50, 36, 30]);
  cv.circle(cx, base - s * 0.2, s * 0.08, [50, 36, 30]);
  cv.rect(cx - s * 0.03, keepTop + s * 0.08, s * 0.06, s * 0.1, dark ? [255, 210, 110] : [50, 40, 40]);
}

function paintLighthouse(ctx: Ctx): void {
  const { cv, rng, w, horizon, u, tone, dark, sceneH } = ctx;
  const left = rng.next() < 0.5;
  const x = w * (left ? 0.14 + rng.next() * 0.1 : 0.76 + rng.next() * 0.1);
  const base = horizon + (sceneH - horizon) * 0.3;
  const hgt = sceneH * 0.5;
  const top = base - hgt;
  cv.ellipse(x, base, hgt * 0.28, hgt * 0.07, tone([110, 100, 96]));
  const bands = 5;
  for (let k = 0; k < bands; k++) {
    const y0 = top + (hgt * k) / bands;
    const y1 = top + (hgt * (k + 1)) / bands;
    const half0 = hgt * (0.06 + 0.04 * (k / bands));
    const half1 = hgt * (0.06 + 0.04 * ((k + 1) / bands));
    cv.polygon([[x - half0, y0], [x + half0, y0], [x + half1, y1], [x - half1, y1]], tone(k % 2 === 0 ? [220, 60, 55] : [245, 245, 240]));
  }
  const lamp: RGB = [255, 230, 140];
  if (dark) cv.polygon([[x, top - hgt * 0.07], [left ? w * 1.1 : -w * 0.1, top - hgt * 0.3], [left ? w * 1.1 : -w * 0.1, top + hgt * 0.1]], lamp, 0.25);
  cv.rect(x - hgt * 0.055, top - hgt * 0.11, hgt * 0.11, hgt * 0.11, dark ? lamp : tone(lamp));
  cv.polygon([[x - hgt * 0.08, top - hgt * 0.11], [x, top - hgt * 0.19], [x + hgt * 0.08, top - hgt * 0.11]], tone([60, 50, 60]));
  cv.rect(x - hgt * 0.08, top, hgt * 0.16, 3 * u, tone([60, 50, 60]));
}

// ---------------------------------------------------------------------------------------
// Characters

const SKIN: readonly RGB[] = [
  [250, 214, 180],
  [232, 180, 140],
  [196, 140, 100],
  [150, 100, 70],
  [110, 72, 50],
];
const HAIR: readonly RGB[] = [
  [40, 28, 20],
  [90, 56, 30],
  [200, 150, 70],
  [160, 60, 30],
  [30, 30, 36],
  [225, 210, 170],
];
const HAIR_STYLES = ['short', 'long', 'bun', 'curly', 'ponytail'] as const;
const ACCESSORIES = ['none', 'scarf', 'hat', 'bow', 'glasses'] as const;

/** How a character looks: everything but the pose, which each panel picks. */
export interface CharacterLook {
  skin: RGB;
  hair: RGB;
  hairStyle: (typeof HAIR_STYLES)[number];
  shirt: RGB;
  pants: RGB;
  shoes: RGB;
  /** Scarf, hat or bow colour. */
  accent: RGB;
  accessory: (typeof ACCESSORIES)[number];
  /** Height relative to a standard figure (0.85..1.15). */
  size: number;
  /** 0..1: picks an animal's coat, a dragon's scales, a wizard's robe. */
  coat: number;
}

/** A look drawn from `rng` (the same draws, in the same order, for named and unnamed figures). */
function lookFrom(rng: Random): CharacterLook {
  const skin = rng.pick(SKIN);
  let hair = rng.pick(HAIR);
  // Keep the face readable against the hair.
  if (Math.abs(luma(...hair) - luma(...skin)) < 50) hair = luma(...skin) > 110 ? shade(hair, 0.45) : mix(hair, [235, 225, 200], 0.6);
  const hairStyle = rng.pick(HAIR_STYLES);
  const shirt = hsl(rng.next() * 360, 0.55 + rng.next() * 0.2, 0.45 + rng.next() * 0.1);
  const pants = hsl(200 + rng.next() * 60, 0.3 + rng.next() * 0.15, 0.25 + rng.next() * 0.1);
  const shoes = hsl(rng.next() * 40, 0.3, 0.18 + rng.next() * 0.1);
  const accent = hsl(rng.next() * 360, 0.7, 0.55);
  const accessory = rng.pick(ACCESSORIES);
  const size = 0.85 + rng.next() * 0.3;
  const coat = rng.next();
  return { skin, hair, hairStyle, shirt, pants, shoes, accent, accessory, size, coat };
}

/**
 * The job part of an image seed. Panels are seeded `<job_id>:<panel n>` (edits add `:<time>`),
 * so a trailing `:<digits>` is the panel and the rest is the job. Seeds of other shapes are
 * used whole.
 */
export function jobOf(seed: string): string {
  const cut = seed.lastIndexOf(':');
  if (cut <= 0) return seed;
  const tail = seed.slice(cut + 1);
  return /^\d+$/.test(tail) ? seed.slice(0, cut) : seed;
}

function lookOf(jobKey: string, name: string): CharacterLook {
  return lookFrom(new Random(hashString(`look\u0000${jobKey}\u0000${name.toLowerCase()}`)));
}

/**
 * The look of a named character in the job an image seed belongs to: the same in every panel of
 * the job (it depends on the job and the name, not the panel), different across jobs and names.
 */
export function characterLook(seed: string, name: string): CharacterLook {
  return lookOf(jobOf(seed), name);
}

function paintPerson(ctx: Ctx, x: number, y: number, H: number, spec: FigureSpec, look: CharacterLook): void {
  const { cv, rng, tone } = ctx;
  const skin = tone(look.skin);
  const hair = tone(look.hair);
  const shirt = tone(spec.kind === 'wizard' ? hsl(250 + look.coat * 40, 0.5, 0.35) : look.shirt);
  const pants = tone(look.pants);
  const shoes = tone(look.shoes);
  const accent = tone(look.accent);
  const limb = Math.max(2, H * 0.07);
  // The pose (facing, waving) is the panel's own.
  const dir = rng.next() < 0.5 ? -1 : 1;
  const wave = rng.next() < 0.5;
  const hr = H * 0.12;
  const hcy = y - H * 0.87;
  // Hair behind the body.
  if (look.hairStyle === 'long') cv.rect(x - hr * 1.08, hcy - hr * 0.2, hr * 2.16, hr * 1.9, hair);
  else if (look.hairStyle === 'ponytail') cv.ellipse(x - dir * hr * 1.05, hcy + hr * 0.35, hr * 0.38, hr * 0.95, hair);
  // Legs and shoes.
  cv.line(x - H * 0.05, y - H * 0.42, x - H * 0.07, y - limb * 0.5, limb, spec.dress ? skin : pants);
  cv.line(x + H * 0.05, y - H * 0.42, x + H * 0.07, y - limb * 0.5, limb, spec.dress ? skin : pants);
  cv.ellipse(x - H * 0.08, y - limb * 0.3, limb * 0.9, limb * 0.5, shoes);
  cv.ellipse(x + H * 0.08, y - limb * 0.3, limb * 0.9, limb * 0.5, shoes);
  // Arms (one may wave).
  cv.line(x - dir * H * 0.1, y - H * 0.7, x - dir * H * 0.22, y - H * 0.45, limb * 0.9, shirt);
  const hx = x + dir * (wave ? H * 0.26 : H * 0.22);
  const hy = y - (wave ? H * 0.95 : H * 0.45);
  cv.line(x + dir * H * 0.1, y - H * 0.7, hx, hy, limb * 0.9, shirt);
  cv.circle(x - dir * H * 0.22, y - H * 0.45, limb * 0.6, skin);
  cv.circle(hx, hy, limb * 0.6, skin);
  // Body.
  if (spec.dress) {
    const hem = spec.kind === 'wizard' ? y - limb * 0.6 : y - H * 0.3;
    cv.polygon([[x - H * 0.1, y - H * 0.74], [x + H * 0.1, y - H * 0.74], [x + H * 0.21, hem], [x - H * 0.21, hem]], shirt);
  } else {
    cv.polygon([[x - H * 0.12, y - H * 0.74], [x + H * 0.12, y - H * 0.74], [x + H * 0.11, y - H * 0.4], [x - H * 0.11, y - H * 0.4]], shirt);
    cv.rect(x - H * 0.11, y - H * 0.44, H * 0.22, H * 0.05, shade(pants, 0.8));
  }
  if (look.accessory === 'scarf') {
    cv.rect(x - H * 0.11, y - H * 0.77, H * 0.22, H * 0.055, accent);
    cv.line(x + dir * H * 0.06, y - H * 0.75, x + dir * H * 0.1, y - H * 0.6, Math.max(1, H * 0.045), accent);
  }
  // Head and hair.
  if (look.hairStyle === 'curly') {
    for (let k = 0; k < 7; k++) {
      const a = Math.PI * (0.95 + (k / 6) * 1.1);
      cv.circle(x + Math.cos(a) * hr * 0.95, hcy - hr * 0.15 + Math.sin(a) * hr * 0.95, hr * 0.42, hair);
    }
  }
  cv.circle(x, hcy - hr * 0.2, hr * 1.08, hair);
  if (look.hairStyle === 'bun') cv.circle(x, hcy - hr * 1.3, hr * 0.45, hair);
  cv.ellipse(x, hcy + hr * 0.12, hr * 0.9, hr * 0.88, skin);
  // Fringe over the forehead, then a simple face.
  cv.ellipse(x - dir * hr * 0.2, hcy - hr * 0.62, hr * 0.75, hr * 0.3, hair);
  const eye = Math.max(1, hr * 0.13);
  const ex = x + dir * hr * 0.12;
  if (look.accessory === 'glasses') {
    for (const side of [-1, 1]) {
      cv.circle(ex + side * hr * 0.33, hcy + hr * 0.1, hr * 0.27, INK);
      cv.circle(ex + side * hr * 0.33, hcy + hr * 0.1, hr * 0.19, mix(skin, WHITE, 0.35));
    }
  }
  cv.circle(ex - hr * 0.33, hcy + hr * 0.1, eye, INK);
  cv.circle(ex + hr * 0.33, hcy + hr * 0.1, eye, INK);
  cv.ellipse(x - hr * 0.55, hcy + hr * 0.42, hr * 0.16, hr * 0.1, tone([240, 130, 130]), 0.6);
  cv.ellipse(x + hr * 0.55, hcy + hr * 0.42, hr * 0.16, hr * 0.1, tone([240, 130, 130]), 0.6);
  cv.ellipse(ex, hcy + hr * 0.55, hr * 0.22, Math.max(1, hr * 0.08), tone([170, 60, 60]));
  if (spec.kind === 'royal') {
    const top = hcy - hr * 0.95;
    cv.polygon(
      [
        [x - hr * 0.8, top + hr * 0.35],
        [x - hr * 0.8, top - hr * 0.35],
        [x - hr * 0.4, top],
        [x, top - hr * 0.5],
        [x + hr * 0.4, top],
        [x + hr * 0.8, top - hr * 0.35],
        [x + hr * 0.8, top + hr * 0.35],
      ],
      tone([245, 200, 60]),
    );
  } else if (spec.kind === 'wizard') {
    cv.ellipse(x, hcy - hr * 0.8, hr * 1.6, hr * 0.28, shirt);
    cv.polygon([[x - hr * 0.9, hcy - hr * 0.8], [x + dir * hr * 0.5, hcy - hr * 3.4], [x + hr * 0.9, hcy - hr * 0.8]], shirt);
    cv.circle(x + dir * hr * 0.1, hcy - hr * 1.8, hr * 0.2, tone([255, 230, 100]));
  } else if (look.accessory === 'hat') {
    cv.ellipse(x, hcy - hr * 0.75, hr * 1.45, hr * 0.22, accent);
    cv.rect(x - hr * 0.8, hcy - hr * 1.55, hr * 1.6, hr * 0.82, accent);
    cv.rect(x - hr * 0.8, hcy - hr * 0.98, hr * 1.6, hr * 0.18, shade(accent, 0.7));
  } else if (look.accessory === 'bow') {
    const bx = x - dir * hr * 0.75;
    const by = hcy - hr * 0.85;
    cv.polygon([[bx, by], [bx - hr * 0.45, by - hr * 0.28], [bx - hr * 0.45, by + hr * 0.28]], accent);
    cv.polygon([[bx, by], [bx + hr * 0.45, by - hr * 0.28], [bx + hr * 0.45, by + hr * 0.28]], accent);
    cv.circle(bx, by, hr * 0.12, shade(accent, 0.8));
  }
}

function paintRobot(ctx: Ctx, x: number, y: number, H: number, look: CharacterLook): void {
  const { cv, tone } = ctx;
  const metal = tone(hsl(200 + look.coat * 40, 0.12, 0.65));
  const dark = shade(metal, 0.6);
  cv.rect(x - H * 0.13, y - H * 0.3, H * 0.08, H * 0.3, dark);
  cv.rect(x + H * 0.05, y - H * 0.3, H * 0.08, H * 0.3, dark);
  cv.rect(x - H * 0.3, y - H * 0.66, H * 0.06, H * 0.28, dark);
  cv.rect(x + H * 0.24, y - H * 0.66, H * 0.06, H * 0.28, dark);
  cv.rect(x - H * 0.22, y - H * 0.7, H * 0.44, H * 0.42, metal);
  cv.rect(x - H * 0.08, y - H * 0.6, H * 0.16, H * 0.12, tone([240, 90, 80]));
  cv.rect(x - H * 0.16, y - H * 0.98, H * 0.32, H * 0.26, metal);
  cv.rect(x - H * 0.1, y - H * 0.9, H * 0.07, H * 0.07, [90, 230, 255]);
  cv.rect(x + H * 0.03, y - H * 0.9, H * 0.07, H * 0.07, [90, 230, 255]);
  cv.line(x, y - H * 0.98, x, y - H * 1.1, Math.max(1, H * 0.02), dark);
  cv.circle(x, y - H * 1.12, H * 0.035, [255, 70, 70]);
}


const COATS: Partial<Record<FigureKind, readonly RGB[]>> = {
  cat: [
    [120, 120, 128],
    [40, 38, 42],
    [232, 140, 60],
    [236, 226, 210],
  ],
  dog: [
    [150, 100, 60],
    [200, 160, 110],
    [90, 60, 40],
    [235, 230, 220],
  ],
  fox: [[228, 114, 38]],
  rabbit: [
    [225, 220, 215],
    [170, 150, 130],
  ],
  bear: [
    [110, 70, 42],
    [70, 50, 36],
  ],
  horse: [
    [140, 90, 55],
    [230, 225, 215],
    [60, 45, 35],
    [190, 150, 100],
  ],
  unicorn: [[250, 248, 252]],
};

const coatOf = (kind: FigureKind, look: CharacterLook): RGB => {
  const list = COATS[kind] ?? [[150, 110, 80]];
  return list[Math.min(list.length - 1, Math.floor(look.coat * list.length))] as RGB;
};

function paintAnimal(ctx: Ctx, x: number, y: number, H: number, kind: FigureKind, look: CharacterLook): void {
  const { cv, tone, rng } = ctx;
  const dir = rng.next() < 0.5 ? -1 : 1;
  const fur = tone(coatOf(kind, look));
  const belly = tone(mix(fur, WHITE, 0.45));
  const leg = Math.max(2, H * 0.09);
  const bodyY = y - H * 0.42;
  const hx = x + dir * H * 0.42;
  const hy = y - H * (kind === 'rabbit' ? 0.62 : 0.68);
  const hr = H * (kind === 'bear' ? 0.22 : 0.19);
  // Tail.
  if (kind === 'cat') cv.line(x - dir * H * 0.4, bodyY, x - dir * H * 0.62, y - H * 0.95, Math.max(2, H * 0.06), fur);
  else if (kind === 'dog') cv.line(x - dir * H * 0.4, bodyY, x - dir * H * 0.58, y - H * 0.72, Math.max(2, H * 0.07), fur);
  else if (kind === 'fox') {
    cv.polygon([[x - dir * H * 0.35, bodyY - H * 0.08], [x - dir * H * 0.85, y - H * 0.62], [x - dir * H * 0.95, y - H * 0.35], [x - dir * H * 0.4, bodyY + H * 0.08]], fur);
    cv.circle(x - dir * H * 0.9, y - H * 0.48, H * 0.1, tone(WHITE));
  }
  // Legs, body, head.
  for (const lx of [-0.3, -0.14, 0.14, 0.3]) cv.rect(x + lx * H - leg / 2, bodyY, leg, y - bodyY, shade(fur, 0.85));
  cv.ellipse(x, bodyY, H * 0.45, H * (kind === 'bear' ? 0.26 : 0.2), fur);
  cv.ellipse(x + dir * H * 0.05, bodyY + H * 0.08, H * 0.28, H * 0.09, belly);
  if (kind === 'rabbit') {
    cv.circle(x - dir * H * 0.45, bodyY - H * 0.05, H * 0.1, tone(WHITE));
    cv.ellipse(hx - hr * 0.35, hy - hr * 1.6, hr * 0.25, hr * 0.85, fur);
    cv.ellipse(hx + hr * 0.35, hy - hr * 1.6, hr * 0.25, hr * 0.85, fur);
  } else if (kind === 'bear') {
    cv.circle(hx - hr * 0.7, hy - hr * 0.75, hr * 0.35, fur);
    cv.circle(hx + hr * 0.7, hy - hr * 0.75, hr * 0.35, fur);
  } else if (kind === 'cat' || kind === 'fox') {
    for (const side of [-1, 1]) cv.polygon([[hx + side * hr * 0.9, hy - hr * 0.3], [hx + side * hr * 0.65, hy - hr * 1.35], [hx + side * hr * 0.1, hy - hr * 0.75]], fur);
  }
  cv.circle(hx, hy, hr, fur);
  if (kind === 'dog') {
    cv.ellipse(hx - dir * hr * 0.75, hy + hr * 0.2, hr * 0.3, hr * 0.65, shade(fur, 0.7));
  }
  if (kind === 'dog' || kind === 'fox' || kind === 'bear') {
    cv.ellipse(hx + dir * hr * 0.75, hy + hr * 0.3, hr * 0.5, hr * 0.35, kind === 'fox' ? tone(WHITE) : belly);
    cv.circle(hx + dir * hr * 1.2, hy + hr * 0.2, Math.max(1, hr * 0.16), INK);
  }
  cv.circle(hx + dir * hr * 0.4, hy - hr * 0.2, Math.max(1, hr * 0.14), INK);
  // A named pet wears a collar in its accent colour.
  if (look.accessory !== 'none' && (kind === 'cat' || kind === 'dog')) cv.ellipse(hx - dir * hr * 0.3, hy + hr * 0.85, hr * 0.55, Math.max(1, hr * 0.18), tone(look.accent));
}

function paintHorse(ctx: Ctx, x: number, y: number, H: number, horn: boolean, look: CharacterLook): void {
  const { cv, tone, rng } = ctx;
  const dir = rng.next() < 0.5 ? -1 : 1;
  const coat = tone(coatOf(horn ? 'unicorn' : 'horse', look));
  const mane = tone(horn ? hsl(280 + look.coat * 80, 0.7, 0.7) : shade(look.hair, 0.9));
  const leg = Math.max(2, H * 0.08);
  const bodyY = y - H * 0.55;
  // Tail, legs, body.
  cv.line(x - dir * H * 0.42, bodyY - H * 0.05, x - dir * H * 0.58, bodyY + H * 0.3, Math.max(2, H * 0.09), mane);
  for (const lx of [-0.32, -0.2, 0.2, 0.32]) cv.rect(x + lx * H - leg / 2, bodyY, leg, y - bodyY - leg * 0.4, shade(coat, 0.88));
  for (const lx of [-0.32, -0.2, 0.2, 0.32]) cv.rect(x + lx * H - leg * 0.6, y - leg * 0.6, leg * 1.2, leg * 0.6, tone([60, 50, 44]));
  cv.ellipse(x, bodyY, H * 0.45, H * 0.19, coat);
  // Neck, head, mane, eye.
  const nx = x + dir * H * 0.38;
  cv.polygon([[nx - dir * H * 0.12, bodyY - H * 0.02], [nx + dir * H * 0.08, bodyY - H * 0.1], [nx + dir * H * 0.2, bodyY - H * 0.5], [nx + dir * H * 0.04, bodyY - H * 0.52]], coat);
  const hx = nx + dir * H * 0.2;
  const hy = bodyY - H * 0.48;
  cv.ellipse(hx + dir * H * 0.08, hy + H * 0.04, H * 0.16, H * 0.08, coat);
  cv.polygon([[hx - dir * H * 0.02, hy - H * 0.06], [hx, hy - H * 0.18], [hx + dir * H * 0.05, hy - H * 0.05]], coat);
  cv.line(nx + dir * H * 0.02, bodyY - H * 0.5, nx - dir * H * 0.1, bodyY - H * 0.06, Math.max(2, H * 0.07), mane);
  cv.circle(hx + dir * H * 0.05, hy, Math.max(1, H * 0.02), INK);
  if (horn) cv.polygon([[hx + dir * H * 0.02, hy - H * 0.06], [hx + dir * H * 0.14, hy - H * 0.3], [hx + dir * H * 0.09, hy - H * 0.04]], tone([250, 215, 110]));
}

function paintDragon(ctx: Ctx, x: number, y: number, H: number, look: CharacterLook): void {
  const { cv, tone, rng } = ctx;
  const dir = rng.next() < 0.5 ? -1 : 1;
  const hues = [120, 140, 0, 270, 200];
  const scale = hsl((hues[Math.min(hues.length - 1, Math.floor(look.coat * hues.length))] as number) + look.size * 20, 0.55, 0.4);
  const body = tone(scale);
  const wing = tone(shade(scale, 0.7));
  const belly = tone(hsl(45, 0.7, 0.7));
  const bodyY = y - H * 0.35;
  // Wing behind.
  cv.polygon([[x - dir * H * 0.05, bodyY - H * 0.1], [x - dir * H * 0.45, y - H * 1.05], [x + dir * H * 0.05, y - H * 0.8], [x + dir * H * 0.2, bodyY - H * 0.12]], wing);
  // Tail.
  cv.polygon([[x - dir * H * 0.3, bodyY - H * 0.1], [x - dir * H * 0.95, y - H * 0.12], [x - dir * H * 0.3, bodyY + H * 0.1]], body);
  cv.polygon([[x - dir * H * 0.95, y - H * 0.12], [x - dir * H * 1.05, y - H * 0.24], [x - dir * H * 1.08, y - H * 0.04]], wing);
  // Legs and body.
  cv.rect(x - H * 0.22, bodyY, H * 0.1, y - bodyY, shade(body, 0.85));
  cv.rect(x + H * 0.12, bodyY, H * 0.1, y - bodyY, shade(body, 0.85));
  cv.ellipse(x, bodyY, H * 0.4, H * 0.2, body);
  cv.ellipse(x + dir * H * 0.05, bodyY + H * 0.08, H * 0.28, H * 0.09, belly);
  for (let k = 0; k < 4; k++) {
    const sx = x - dir * H * (0.25 - k * 0.13);
    cv.polygon([[sx - H * 0.05, bodyY - H * 0.17], [sx, bodyY - H * 0.3], [sx + H * 0.05, bodyY - H * 0.17]], wing);
  }
  // Neck and head.
  cv.line(x + dir * H * 0.25, bodyY - H * 0.05, x + dir * H * 0.48, y - H * 0.78, H * 0.12, body);
  const hx = x + dir * H * 0.56;
  const hy = y - H * 0.82;
  cv.polygon([[hx - dir * H * 0.05, hy - H * 0.08], [hx - dir * H * 0.12, hy - H * 0.22], [hx + dir * H * 0.02, hy - H * 0.09]], belly);
  cv.ellipse(hx, hy, H * 0.15, H * 0.09, body);
  cv.ellipse(hx + dir * H * 0.12, hy + H * 0.02, H * 0.08, H * 0.06, body);
  cv.circle(hx + dir * H * 0.02, hy - H * 0.03, Math.max(1, H * 0.022), INK);
  cv.circle(hx + dir * H * 0.18, hy, Math.max(1, H * 0.012), INK);
}

function paintBird(cv: Canvas, x: number, y: number, s: number, c: RGB): void {
  const t = Math.max(1, s * 0.12);
  cv.line(x - s, y - s * 0.35, x - s * 0.45, y - s * 0.05, t, c);
  cv.line(x - s * 0.45, y - s * 0.05, x, y + s * 0.15, t, c);
  cv.line(x, y + s * 0.15, x + s * 0.45, y - s * 0.05, t, c);
  cv.line(x + s * 0.45, y - s * 0.05, x + s, y - s * 0.35, t, c);
}

function paintFlowers(ctx: Ctx): void {
  const { cv, rng, w, horizon, sceneH, u, tone } = ctx;
  const n = Math.round(w / (18 * u));
  for (let k = 0; k < n; k++) {
    const x = rng.next() * w;
    const y = horizon + (0.35 + rng.next() * 0.62) * (sceneH - horizon);
    if (ctx.waterAt(x, y) || y < (ctx.ground[Math.floor(x)] ?? horizon) + 4 * u) continue;
    const r = (2 + ((y - horizon) / (sceneH - horizon)) * 4) * u;
    cv.line(x, y, x, y + r * 2.5, Math.max(1, r * 0.35), tone([60, 130, 60]));
    const petal = tone(hsl(rng.pick([0, 50, 300, 330, 270, 30]), 0.8, 0.65));
    for (let p = 0; p < 5; p++) {
      const a = (p / 5) * Math.PI * 2;
      cv.circle(x + Math.cos(a) * r, y + Math.sin(a) * r, r * 0.7, petal);
    }
    cv.circle(x, y, r * 0.55, tone([250, 220, 70]));
  }
}

function findGroundSpot(ctx: Ctx, minT: number, maxT: number, xHint?: number): Point {
  const { rng, w, horizon, sceneH, u } = ctx;
  let best: Point = [xHint ?? w / 2, horizon + (sceneH - horizon) * maxT];
  for (let tries = 0; tries < 12; tries++) {
    const x = xHint !== undefined && tries < 6 ? xHint + (rng.next() - 0.5) * w * 0.08 * (tries + 1) : rng.next() * w;
    const y = horizon + (sceneH - horizon) * (minT + rng.next() * (maxT - minT));
    const top = ctx.ground[clamp(Math.floor(x), 0, w - 1)] ?? horizon;
    if (y > top + 6 * u && !ctx.waterAt(x, y)) return [x, y];
    if (tries === 0) best = [x, Math.max(y, top + 8 * u)];
  }
  return best;
}

interface Prop {
  y: number;
  paint: () => void;
}

function paintProps(ctx: Ctx): void {
  const { rng, w, horizon, sceneH, u, scene } = ctx;
  const props: Prop[] = [];
  const depth = (y: number): number => clamp((y - horizon) / Math.max(1, sceneH - horizon), 0, 1);
  const treeCount = scene.trees === 0 ? 0 : scene.trees + rng.int(-2, 3);
  const treeScale = scene.trees > 5 ? 130 : 190;
  for (let k = 0; k < treeCount; k++) {
    const [x, y] = findGroundSpot(ctx, 0.02, scene.trees > 5 ? 0.75 : 0.55);
    const hgt = treeScale * u * (0.35 + depth(y) * 0.9) * (0.8 + rng.next() * 0.4);
    const pine = scene.weather === 'snow' || scene.mountains ? rng.next() < 0.75 : rng.next() < 0.4;
    props.push({ y, paint: () => paintTree(ctx, x, y, hgt, pine) });
  }
  if (scene.buildings === 'village') {
    const n = rng.int(2, 4);
    for (let k = 0; k < n; k++) {
      const [x, y] = findGroundSpot(ctx, 0.08, 0.4, (w * (k + 0.5)) / n);
      const s = 95 * u * (0.4 + depth(y) * 0.9);
      props.push({ y, paint: () => paintHouse(ctx, x, y, s) });
    }
  }
  // Things on the ground, sized by their distance.
  const grounded: Array<[Thing, number, number, number, (x: number, y: number, s: number) => void]> = [
    ['windmill', 0.04, 0.2, 150, (x, y, s) => paintWindmill(ctx, x, y, s)],
    ['tent', 0.25, 0.55, 80, (x, y, s) => paintTent(ctx, x, y, s)],
    ['snowman', 0.4, 0.75, 95, (x, y, s) => paintSnowman(ctx, x, y, s)],
    ['campfire', 0.5, 0.8, 34, (x, y, s) => paintCampfire(ctx, x, y, s)],
    ['treasure', 0.55, 0.85, 42, (x, y, s) => paintTreasure(ctx, x, y, s)],
    ['mushroom', 0.6, 0.95, 34, (x, y, s) => paintMushrooms(ctx, x, y, s)],
  ];
  for (const [thing, minT, maxT, size, paint] of grounded) {
    if (!mentions(scene, thing)) continue;
    const [x, y] = findGroundSpot(ctx, minT, maxT);
    const s = size * u * (0.45 + depth(y) * 0.9);
    props.push({ y, paint: () => paint(x, y, s) });
  }
  const figures = scene.figures;
  const walkers = figures.filter((f) => f.kind !== 'bird');
  const unit = Math.min(w, sceneH) * 0.3;
  let lanternAt: Point | null = null;
  for (const [k, spec] of walkers.entries()) {
    const slot = (w * (k + 0.5)) / walkers.length;
    const [x, y] = findGroundSpot(ctx, 0.62, 0.92, slot + (rng.next() - 0.5) * (w / walkers.length) * 0.3);
    // A named character has its job's look and always the same size; others vary per panel.
    const look = spec.name !== undefined ? lookOf(ctx.jobKey, spec.name) : lookFrom(rng);
    const base = spec.name !== undefined ? unit * look.size : unit * (0.75 + depth(y) * 0.4) * (walkers.length > 3 ? 0.8 : 1);
    if (lanternAt === null && mentions(scene, 'lantern')) lanternAt = [x + (rng.next() < 0.5 ? -1 : 1) * base * 0.34, y + 2 * u];
    let paint: () => void;
    switch (spec.kind) {
      case 'person':
      case 'royal':
      case 'wizard':
        paint = () => paintPerson(ctx, x, y, base, spec, look);
        break;
      case 'robot':
        paint = () => paintRobot(ctx, x, y, base * 0.85, look);
        break;
      case 'dragon':
        paint = () => paintDragon(ctx, x, y, base * 1.1, look);
        break;
      case 'horse':
      case 'unicorn':
        paint = () => paintHorse(ctx, x, y, base * 0.75, spec.kind === 'unicorn', look);
        break;
      default:
        paint = () => paintAnimal(ctx, x, y, base * 0.5, spec.kind, look);
    }
    props.push({ y, paint });
  }
  if (mentions(scene, 'lantern')) {
    const [x, y] = lanternAt ?? findGroundSpot(ctx, 0.5, 0.85);
    props.push({ y: y + 0.5, paint: () => paintLantern(ctx, x, y, 26 * u * (0.6 + depth(y) * 0.6)) });
  }
  props.sort((a, b) => a.y - b.y);
  for (const p of props) p.paint();
  if (mentions(scene, 'butterfly')) paintButterflies(ctx);
  const birds = figures.filter((f) => f.kind === 'bird').length;
  const birdColor = ctx.dark ? ([20, 20, 30] as RGB) : ([45, 40, 50] as RGB);
  for (let k = 0; k < birds; k++) paintBird(ctx.cv, w * (0.15 + rng.next() * 0.7), horizon * (0.2 + rng.next() * 0.5), (9 + rng.next() * 8) * u, birdColor);
}

function paintWeather(ctx: Ctx): void {
  const { cv, rng, w, sceneH, u, scene } = ctx;
  if (scene.weather === 'rain' || scene.weather === 'storm') {
    const n = Math.round((w * sceneH) / (scene.weather === 'storm' ? 260 : 380) / (u * u));
    const c: RGB = [205, 215, 235];
    for (let k = 0; k < n; k++) {
      const x = rng.next() * (w + 40 * u) - 20 * u;
      const y = rng.next() * sceneH;
      const len = (8 + rng.next() * 12) * u;
      cv.line(x, y, x - len * 0.25, y + len, Math.max(1, u), c, 0.45);
    }
  }
  if (scene.weather === 'storm') {
    let x = w * (0.2 + rng.next() * 0.6);
    let y = ctx.horizon * 0.12;
    const pts: Point[] = [[x, y]];
    while (y < ctx.horizon * 0.75) {
      x += (rng.next() - 0.5) * 50 * u;
      y += (15 + rng.next() * 20) * u;
      pts.push([x, y]);
    }
    for (let k = 0; k + 1 < pts.length; k++) {
      const a = pts[k] as Point;
      const b = pts[k + 1] as Point;
      cv.line(a[0], a[1], b[0], b[1], 9 * u, [200, 210, 255], 0.25);
    }
    for (let k = 0; k + 1 < pts.length; k++) {
      const a = pts[k] as Point;
      const b = pts[k + 1] as Point;
      cv.line(a[0], a[1], b[0], b[1], Math.max(2, 3 * u), [255, 255, 230]);
    }
  }
  if (scene.weather === 'snow') {
    const n = Math.round((w * sceneH) / 450 / (u * u));
    for (let k = 0; k < n; k++) {
      const r = Math.max(1, (0.8 + rng.next() * 2) * u);
      cv.circle(rng.next() * w, rng.next() * sceneH, r, WHITE, 0.85);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Things the text names

const mentions = (scene: Scene, thing: Thing): boolean => scene.things.includes(thing);

/** A warm light: soft glow rings (stronger at night). */
function paintGlow(ctx: Ctx, x: number, y: number, r: number, c: RGB): void {
  const a = ctx.dark ? 0.045 : 0.022;
  for (let k = 7; k >= 1; k--) ctx.cv.circle(x, y, r * (1 + k * 0.3), c, a);
}

/** A big five-pointed star in the sky ("a lost star"). */
function paintBigStar(ctx: Ctx): void {
  const { cv, rng, w, horizon, u } = ctx;
  const R = (20 + rng.next() * 8) * u;
  const cx = w * (0.2 + rng.next() * 0.6);
  const cy = horizon * (0.16 + rng.next() * 0.2);
  paintGlow(ctx, cx, cy, R, [255, 236, 160]);
  const star = (outer: number, c: RGB): void => {
    const pts: Point[] = [];
    for (let k = 0; k < 10; k++) {
      const a = -Math.PI / 2 + (k * Math.PI) / 5;
      const r = k % 2 === 0 ? outer : outer * 0.45;
      pts.push([cx + Math.cos(a) * r, cy + Math.sin(a) * r]);
    }
    cv.polygon(pts, c);
  };
  star(R, [255, 214, 80]);
  star(R * 0.55, [255, 246, 200]);
}

function paintRainbow(ctx: Ctx): void {
  const { cv, rng, w, horizon, u } = ctx;
  const cx = w * (0.25 + rng.next() * 0.5);
  const colors: RGB[] = [
    [230, 50, 50],
    [250, 150, 40],
    [250, 230, 60],
    [60, 190, 80],
    [60, 120, 230],
    [130, 70, 200],
  ];
  const outer = Math.min(w * 0.42, horizon * 0.95);
  const band = 6 * u;
  for (let y = Math.max(0, Math.round(horizon - outer)); y < horizon; y++) {
    const dy = horizon - y;
    colors.forEach((c, k) => {
      const ro = outer - k * band;
      const ri = ro - band;
      if (dy >= ro) return;
      const xo = Math.sqrt(ro * ro - dy * dy);
      const xi = dy < ri ? Math.sqrt(ri * ri - dy * dy) : 0;
      cv.span(y, cx - xo, cx - xi, c, 0.5);
      cv.span(y, cx + xi, cx + xo, c, 0.5);
    });
  }
}

/** A hot-air balloon. */
function paintBalloon(ctx: Ctx): void {
  const { cv, rng, w, horizon, u, tone } = ctx;
  const r = (22 + rng.next() * 10) * u;
  const x = w * (0.15 + rng.next() * 0.7);
  const y = horizon * (0.25 + rng.next() * 0.25);
  const a = tone(hsl(rng.next() * 360, 0.75, 0.55));
  const b = tone(hsl(rng.next() * 360, 0.75, 0.7));
  cv.polygon([[x - r * 0.75, y + r * 0.5], [x + r * 0.75, y + r * 0.5], [x + r * 0.25, y + r * 1.25], [x - r * 0.25, y + r * 1.25]], a);
  cv.ellipse(x, y, r, r * 1.05, a);
  cv.ellipse(x, y, r * 0.5, r * 1.05, b);
  cv.ellipse(x, y, r * 0.15, r * 1.05, a);
  const ink = tone([90, 70, 50]);
  cv.line(x - r * 0.25, y + r * 1.25, x - r * 0.2, y + r * 1.6, 1, ink);
  cv.line(x + r * 0.25, y + r * 1.25, x + r * 0.2, y + r * 1.6, 1, ink);
  cv.rect(x - r * 0.25, y + r * 1.6, r * 0.5, r * 0.35, tone([150, 100, 60]));
}

function paintKite(ctx: Ctx): void {
  const { cv, rng, w, horizon, u, tone } = ctx;
  const s = (16 + rng.next() * 6) * u;
  const x = w * (0.2 + rng.next() * 0.6);
  const y = horizon * (0.2 + rng.next() * 0.25);
  const c = tone(hsl(rng.next() * 360, 0.8, 0.55));
  const line = tone([70, 60, 60]);
  cv.line(x, y + s * 1.3, x + (rng.next() < 0.5 ? -1 : 1) * w * 0.2, horizon + (ctx.sceneH - horizon) * 0.7, 1, line, 0.8);
  cv.polygon([[x, y - s], [x + s * 0.75, y], [x, y + s * 1.3], [x - s * 0.75, y]], c);
  cv.polygon([[x, y - s], [x + s * 0.75, y], [x, y]], shade(c, 0.8));
  cv.line(x, y - s, x, y + s * 1.3, 1, line);
  cv.line(x - s * 0.75, y, x + s * 0.75, y, 1, line);
  for (let k = 1; k <= 4; k++) {
    const tx = x + Math.sin(k * 1.3) * s * 0.4;
    const ty = y + s * 1.3 + k * s * 0.45;
    cv.polygon([[tx - s * 0.18, ty - s * 0.12], [tx + s * 0.18, ty + s * 0.12], [tx + s * 0.18, ty - s * 0.12], [tx - s * 0.18, ty + s * 0.12]], tone(hsl(k * 70, 0.8, 0.6)));
  }
}

/** A wooden footbridge over the river. */
function paintBridge(ctx: Ctx): void {
  const { cv, horizon, sceneH, u, tone, river } = ctx;
  if (river === null) return;
  const y = horizon + (sceneH - horizon) * 0.42;
  const [c, half] = river(y);
  const x0 = c - half - 14 * u;
  const x1 = c + half + 14 * u;
  const rise = Math.max(6 * u, (x1 - x0) * 0.18);
  const wood = tone([140, 96, 58]);
  const dark = shade(wood, 0.7);
  const at = (t: number): Point => [x0 + (x1 - x0) * t, y - Math.sin(Math.PI * t) * rise];
  const steps = 16;
  for (let k = 0; k < steps; k++) {
    const [ax, ay] = at(k / steps);
    const [bx, by] = at((k + 1) / steps);
    cv.line(ax, ay, bx, by, Math.max(2, 6 * u), wood);
    cv.line(ax, ay - 12 * u, bx, by - 12 * u, Math.max(1, 2 * u), dark);
  }
  for (let k = 0; k <= 6; k++) {
    const [px, py] = at(k / 6);
    cv.line(px, py, px, py - 12 * u, Math.max(1, 2 * u), dark);
  }
}

function paintBoat(ctx: Ctx, x: number, y: number, s: number, ship: boolean): void {
  const { cv, rng, tone } = ctx;
  const hull = tone(ship ? [110, 62, 40] : hsl(rng.next() * 360, 0.55, 0.45));
  const sail = tone([248, 244, 232]);
  const len = ship ? s * 1.6 : s;
  cv.polygon([[x - len * 0.55, y - s * 0.22], [x + len * 0.55, y - s * 0.22], [x + len * 0.4, y + s * 0.05], [x - len * 0.4, y + s * 0.05]], hull);
  cv.rect(x - len * 0.55, y - s * 0.26, len * 1.1, s * 0.05, shade(hull, 0.75));
  const masts = ship ? [-0.22, 0.2] : [0];
  for (const m of masts) {
    const mx = x + m * len;
    const top = y - s * (ship ? 1.25 : 0.95);
    cv.line(mx, y - s * 0.22, mx, top, Math.max(1, s * 0.04), tone([80, 56, 40]));
    if (ship) {
      cv.rect(mx - s * 0.28, top + s * 0.12, s * 0.56, s * 0.38, sail);
      cv.rect(mx - s * 0.24, top + s * 0.55, s * 0.48, s * 0.36, sail);
    } else {
      cv.polygon([[mx + s * 0.04, top], [mx + s * 0.45, y - s * 0.3], [mx + s * 0.04, y - s * 0.3]], sail);
    }
    if (ship) cv.polygon([[mx, top], [mx + s * 0.2, top + s * 0.06], [mx, top + s * 0.12]], tone([30, 30, 34]));
  }
  cv.ellipse(x, y + s * 0.08, len * 0.6, s * 0.06, tone([235, 245, 255]), 0.5);
}

function paintFish(ctx: Ctx, x: number, y: number, s: number): void {
  const { cv, rng, tone } = ctx;
  const dir = rng.next() < 0.5 ? -1 : 1;
  const c = tone(hsl(rng.pick([20, 40, 200, 330]), 0.75, 0.55));
  cv.ellipse(x, y - s * 0.6, s * 0.5, s * 0.25, c);
  cv.polygon([[x - dir * s * 0.4, y - s * 0.6], [x - dir * s * 0.8, y - s * 0.85], [x - dir * s * 0.8, y - s * 0.35]], c);
  cv.circle(x + dir * s * 0.28, y - s * 0.66, Math.max(1, s * 0.06), INK);
  for (let k = 0; k < 3; k++) cv.circle(x + (k - 1) * s * 0.35, y + s * 0.05, s * 0.1, tone([230, 245, 255]), 0.8);
}

function paintLantern(ctx: Ctx, x: number, y: number, s: number): void {
  const { cv, tone } = ctx;
  const light: RGB = [255, 214, 110];
  const frame = tone([60, 44, 36]);
  paintGlow(ctx, x, y - s * 0.55, s * 0.9, light);
  cv.rect(x - s * 0.3, y - s * 0.95, s * 0.6, s * 0.85, frame);
  cv.rect(x - s * 0.22, y - s * 0.87, s * 0.44, s * 0.69, light);
  cv.polygon([[x - s * 0.4, y - s * 0.95], [x, y - s * 1.25], [x + s * 0.4, y - s * 0.95]], frame);
  cv.rect(x - s * 0.36, y - s * 0.12, s * 0.72, s * 0.12, frame);
  cv.circle(x, y - s * 1.35, s * 0.12, frame);
}

function paintCampfire(ctx: Ctx, x: number, y: number, s: number): void {
  const { cv, rng, tone } = ctx;
  paintGlow(ctx, x, y - s * 0.4, s, [255, 150, 60]);
  const log = tone([100, 66, 40]);
  cv.line(x - s * 0.6, y - s * 0.05, x + s * 0.6, y - s * 0.25, Math.max(2, s * 0.16), log);
  cv.line(x - s * 0.6, y - s * 0.25, x + s * 0.6, y - s * 0.05, Math.max(2, s * 0.16), shade(log, 0.85));
  const flame = (hw: number, hh: number, c: RGB): void => {
    const lean = (rng.next() - 0.5) * hw * 0.6;
    cv.polygon([[x - hw, y - s * 0.2], [x - hw * 0.4, y - s * 0.2 - hh * 0.6], [x + lean, y - s * 0.2 - hh], [x + hw * 0.45, y - s * 0.2 - hh * 0.55], [x + hw, y - s * 0.2]], c);
  };
  flame(s * 0.45, s * 1.1, [240, 90, 40]);
  flame(s * 0.3, s * 0.8, [255, 170, 50]);
  flame(s * 0.15, s * 0.45, [255, 240, 150]);
}

function paintTent(ctx: Ctx, x: number, y: number, s: number): void {
  const { cv, rng, tone } = ctx;
  const cloth = tone(hsl(rng.pick([15, 35, 120, 200, 280]), 0.6, 0.5));
  cv.polygon([[x - s * 0.7, y], [x, y - s], [x + s * 0.7, y]], cloth);
  cv.polygon([[x, y - s], [x + s * 0.7, y], [x + s * 0.25, y]], shade(cloth, 0.8));
  cv.polygon([[x - s * 0.18, y], [x, y - s * 0.6], [x + s * 0.18, y]], tone([50, 36, 30]));
  cv.line(x, y - s, x, y - s * 1.15, Math.max(1, s * 0.04), tone([90, 70, 50]));
}

function paintWindmill(ctx: Ctx, x: number, y: number, s: number): void {
  const { cv, rng, tone } = ctx;
  const wall = tone([236, 228, 214]);
  cv.polygon([[x - s * 0.22, y], [x - s * 0.13, y - s], [x + s * 0.13, y - s], [x + s * 0.22, y]], wall);
  cv.polygon([[x - s * 0.17, y - s], [x, y - s * 1.2], [x + s * 0.17, y - s]], tone([150, 60, 50]));
  cv.rect(x - s * 0.06, y - s * 0.25, s * 0.12, s * 0.25, tone([100, 66, 44]));
  const hubY = y - s * 0.95;
  const turn = rng.next() * Math.PI;
  const blade = tone([120, 84, 56]);
  const sail = tone([250, 246, 236]);
  for (let k = 0; k < 4; k++) {
    const a = turn + (k * Math.PI) / 2;
    const ex = x + Math.cos(a) * s * 0.75;
    const ey = hubY + Math.sin(a) * s * 0.75;
    cv.line(x, hubY, ex, ey, Math.max(1, s * 0.04), blade);
    const px = -Math.sin(a) * s * 0.12;
    const py = Math.cos(a) * s * 0.12;
    const mx = x + Math.cos(a) * s * 0.25;
    const my = hubY + Math.sin(a) * s * 0.25;
    cv.polygon([[mx, my], [ex, ey], [ex + px, ey + py], [mx + px, my + py]], sail, 0.9);
  }
  cv.circle(x, hubY, s * 0.05, blade);
}

function paintMushrooms(ctx: Ctx, x: number, y: number, s: number): void {
  const { cv, rng, tone } = ctx;
  const n = rng.int(2, 3);
  for (let k = 0; k < n; k++) {
    const mx = x + (k - (n - 1) / 2) * s * 0.8;
    const ms = s * (k === 0 ? 1 : 0.65);
    cv.rect(mx - ms * 0.12, y - ms * 0.55, ms * 0.24, ms * 0.55, tone([245, 236, 215]));
    const cap = tone([215, 45, 40]);
    const top = y - ms * 0.55;
    for (let row = Math.floor(top - ms * 0.45); row <= Math.ceil(top); row++) {
      const dy = (top - (row + 0.5)) / (ms * 0.45);
      if (dy < 0 || dy >= 1) continue;
      const half = ms * 0.5 * Math.sqrt(1 - dy * dy);
      cv.span(row, mx - half, mx + half, cap);
    }
    for (const [dx, dy] of [
      [-0.25, 0.18],
      [0.12, 0.3],
      [0.3, 0.12],
    ] as const) {
      cv.circle(mx + dx * ms, top - dy * ms, ms * 0.06, tone(WHITE));
    }
  }
}

function paintTreasure(ctx: Ctx, x: number, y: number, s: number): void {
  const { cv, tone } = ctx;
  const wood = tone([120, 74, 40]);
  const gold = tone([240, 196, 60]);
  paintGlow(ctx, x, y - s * 0.5, s * 0.7, [255, 220, 120]);
  for (let k = 0; k < 5; k++) cv.circle(x - s * 0.7 + k * s * 0.12, y - s * 0.05, s * 0.09, gold);
  cv.rect(x - s * 0.5, y - s * 0.55, s, s * 0.55, wood);
  cv.ellipse(x, y - s * 0.55, s * 0.5, s * 0.25, shade(wood, 0.85));
  cv.rect(x - s * 0.5, y - s * 0.6, s, s * 0.06, gold);
  cv.rect(x - s * 0.36, y - s * 0.8, s * 0.06, s * 0.8, gold);
  cv.rect(x + s * 0.3, y - s * 0.8, s * 0.06, s * 0.8, gold);
  cv.rect(x - s * 0.07, y - s * 0.5, s * 0.14, s * 0.14, gold);
}

function paintSnowman(ctx: Ctx, x: number, y: number, s: number): void {
  const { cv, rng, tone } = ctx;
  const snow = tone([246, 248, 255]);
  const shadow = tone([214, 222, 238]);
  cv.circle(x, y - s * 0.3, s * 0.32, shadow);
  cv.circle(x, y - s * 0.32, s * 0.3, snow);
  cv.circle(x, y - s * 0.78, s * 0.22, snow);
  cv.circle(x, y - s * 1.12, s * 0.16, snow);
  const stick = tone([100, 70, 44]);
  cv.line(x - s * 0.2, y - s * 0.8, x - s * 0.55, y - s * 1.0, Math.max(1, s * 0.03), stick);
  cv.line(x + s * 0.2, y - s * 0.8, x + s * 0.55, y - s * 1.0, Math.max(1, s * 0.03), stick);
  cv.circle(x - s * 0.06, y - s * 1.16, Math.max(1, s * 0.025), INK);
  cv.circle(x + s * 0.06, y - s * 1.16, Math.max(1, s * 0.025), INK);
  cv.polygon([[x, y - s * 1.13], [x + s * 0.2, y - s * 1.1], [x, y - s * 1.08]], tone([245, 130, 40]));
  cv.rect(x - s * 0.17, y - s * 0.96, s * 0.34, s * 0.06, tone(hsl(rng.next() * 360, 0.7, 0.5)));
  cv.rect(x - s * 0.18, y - s * 1.3, s * 0.36, s * 0.04, tone([30, 30, 34]));
  cv.rect(x - s * 0.12, y - s * 1.5, s * 0.24, s * 0.2, tone([30, 30, 34]));
}

function paintButterflies(ctx: Ctx): void {
  const { cv, rng, w, horizon, sceneH, u, tone } = ctx;
  const n = rng.int(3, 5);
  for (let k = 0; k < n; k++) {
    const x = w * (0.08 + rng.next() * 0.84);
    const y = horizon + (sceneH - horizon) * (0.1 + rng.next() * 0.6) - 20 * u;
    const s = (5 + rng.next() * 3) * u;
    const c = tone(hsl(rng.pick([0, 30, 50, 200, 280, 320]), 0.85, 0.6));
    cv.ellipse(x - s * 0.6, y - s * 0.3, s * 0.6, s * 0.5, c);
    cv.ellipse(x + s * 0.6, y - s * 0.3, s * 0.6, s * 0.5, c);
    cv.ellipse(x - s * 0.45, y + s * 0.35, s * 0.4, s * 0.35, shade(c, 0.85));
    cv.ellipse(x + s * 0.45, y + s * 0.35, s * 0.4, s * 0.35, shade(c, 0.85));
    cv.line(x, y - s * 0.6, x, y + s * 0.6, Math.max(1, s * 0.18), INK);
  }
}

/** Sky things: drawn after the clouds, before the hills. */
function paintSkyThings(ctx: Ctx): void {
  const { scene } = ctx;
  if (mentions(scene, 'rainbow')) paintRainbow(ctx);
  if (mentions(scene, 'star')) paintBigStar(ctx);
  if (mentions(scene, 'balloon')) paintBalloon(ctx);
  if (mentions(scene, 'kite')) paintKite(ctx);
}

/** Water things: a bridge over the river, boats, ships and fish on the water. */
function paintWaterThings(ctx: Ctx): void {
  const { scene, u, horizon, sceneH } = ctx;
  if (mentions(scene, 'bridge')) paintBridge(ctx);
  const scale = (y: number): number => 0.45 + clamp((y - horizon) / Math.max(1, sceneH - horizon), 0, 1) * 1.1;
  if (mentions(scene, 'ship')) {
    const spot = ctx.waterSpot(true);
    if (spot !== null) paintBoat(ctx, spot[0], spot[1], 56 * u * scale(spot[1]), true);
  }
  if (mentions(scene, 'boat')) {
    const spot = ctx.waterSpot(false);
    if (spot !== null) paintBoat(ctx, spot[0], spot[1], 56 * u * scale(spot[1]), false);
  }
  if (mentions(scene, 'fish')) {
    const spot = ctx.waterSpot(false);
    if (spot !== null) paintFish(ctx, spot[0] + 40 * u, spot[1], 24 * u * scale(spot[1]));
  }
}

// ---------------------------------------------------------------------------------------
// Art styles (rendering passes)

interface StyleFlags {
  soft: boolean;
  bold: boolean;
  pixel: boolean;
  noir: boolean;
  sketch: boolean;
  /** For styles the engine does not know: a hash-based hue rotation (degrees) and saturation factor. */
  hue: number;
  saturation: number;
}

/** How an art style string changes the rendering. */
export function styleFlags(artStyle: string): StyleFlags {
  const s = artStyle.toLowerCase();
  const soft = /watercolou?r|pastel|soft|dreamy|gouache|impression/.test(s);
  const bold = /comic|cartoon|manga|anime|pop[ -]?art|graphic|cel/.test(s);
  const pixel = /pixel|8[ -]?bit|16[ -]?bit|retro game|voxel|mosaic/.test(s);
  const sketch = /sketch|pencil|charcoal|line art|drawing/.test(s);
  const noir = !sketch && /noir|ink|black and white|black & white|monochrome|gr[ae]yscale/.test(s);
  const known = soft || bold || pixel || sketch || noir;
  const h = hashString(`style:${s.trim()}`);
  let hue = 0;
  let saturation = 1;
  if (!known) {
    hue = (h % 60) - 30;
    if (Math.abs(hue) < 8) hue += hue < 0 ? -10 : 10;
    saturation = 0.85 + ((h >>> 8) % 40) / 100;
  }
  return { soft, bold, pixel, noir, sketch, hue, saturation };
}

/** Marks pixels on colour edges (luma steps), thickened to `thickness`. */
function edgeMask(cv: Canvas, limit: number, thickness: number): Uint8Array {
  const { width: w, height: h, data: d } = cv;
  const lum = new Float32Array(w * h);
  for (let p = 0, i = 0; p < w * h; p++, i += 4) lum[p] = luma(d[i]!, d[i + 1]!, d[i + 2]!);
  const edge = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      const l = lum[p]!;
      const dx = x + 1 < w ? l - lum[p + 1]! : 0;
      const dy = y + 1 < h ? l - lum[p + w]! : 0;
      if (dx > limit || dx < -limit || dy > limit || dy < -limit) edge[p] = 1;
    }
  }
  if (thickness <= 1) return edge;
  const r = thickness - 1;
  const thick = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (edge[y * w + x] === 0) continue;
      const y0 = y - r < 0 ? 0 : y - r;
      const x0 = x - r < 0 ? 0 : x - r;
      for (let yy = y0; yy <= y; yy++) {
        for (let xx = x0; xx <= x; xx++) thick[yy * w + xx] = 1;
      }
    }
  }
  return thick;
}

/**
 * Converts to gray and spreads the tones by (partial) histogram equalisation, so grayscale
 * styles keep their detail in dark (night) or washed-out scenes. `amount` 0 = plain gray.
 */
function grayEqualize(cv: Canvas, amount: number): void {
  const d = cv.data;
  const hist = new Uint32Array(256);
  for (let i = 0; i < d.length; i += 4) hist[(0.299 * d[i]! + 0.587 * d[i + 1]! + 0.114 * d[i + 2]!) | 0]!++;
  const total = d.length / 4;
  const lut = new Uint8ClampedArray(256);
  for (let v = 0, acc = 0; v < 256; v++) {
    acc += hist[v]!;
    lut[v] = v * (1 - amount) + ((amount * 255 * acc) / total);
  }
  for (let i = 0; i < d.length; i += 4) {
    const g = lut[(0.299 * d[i]! + 0.587 * d[i + 1]! + 0.114 * d[i + 2]!) | 0]!;
    d[i] = g;
    d[i + 1] = g;
    d[i + 2] = g;
  }
}

/** Separable box blur of the RGB channels (row-major passes, sliding sums). */
function boxBlur(cv: Canvas, radius: number): void {
  const { width: w, height: h, data: d } = cv;
  const tmp = new Float32Array(w * h * 3);
  const norm = 1 / (radius * 2 + 1);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let r = 0;
    let g = 0;
    let b = 0;
    for (let x = -radius; x <= radius; x++) {
      const i = (row + (x < 0 ? 0 : x > w - 1 ? w - 1 : x)) * 4;
      r += d[i]!;
      g += d[i + 1]!;
      b += d[i + 2]!;
    }
    for (let x = 0; x < w; x++) {
      const o = (row + x) * 3;
      tmp[o] = r * norm;
      tmp[o + 1] = g * norm;
      tmp[o + 2] = b * norm;
      const add = (row + (x + radius + 1 > w - 1 ? w - 1 : x + radius + 1)) * 4;
      const sub = (row + (x - radius < 0 ? 0 : x - radius)) * 4;
      r += d[add]! - d[sub]!;
      g += d[add + 1]! - d[sub + 1]!;
      b += d[add + 2]! - d[sub + 2]!;
    }
  }
  const sums = new Float32Array(w * 3);
  for (let y = -radius; y <= radius; y++) {
    const row = Math.min(h - 1, Math.max(0, y)) * w * 3;
    for (let k = 0; k < w * 3; k++) sums[k] = sums[k]! + tmp[row + k]!;
  }
  for (let y = 0; y < h; y++) {
    const add = Math.min(h - 1, y + radius + 1) * w * 3;
    const sub = Math.max(0, y - radius) * w * 3;
    for (let x = 0, k = 0, i = y * w * 4; x < w; x++, k += 3, i += 4) {
      d[i] = sums[k]! * norm;
      d[i + 1] = sums[k + 1]! * norm;
      d[i + 2] = sums[k + 2]! * norm;
      sums[k] = sums[k]! + tmp[add + k]! - tmp[sub + k]!;
      sums[k + 1] = sums[k + 1]! + tmp[add + k + 1]! - tmp[sub + k + 1]!;
      sums[k + 2] = sums[k + 2]! + tmp[add + k + 2]! - tmp[sub + k + 2]!;
    }
  }
}

const GRAIN_SIZE = 128;

/**
 * A tileable 128x128 noise tile in [-1, 1) for paper and film grain. Per-pixel passes index
 * it instead of hashing (and avoid `Math.*` calls, which are slow in some sandboxes).
 */
function grainTile(salt: number): Float32Array {
  const rng = new Random(salt ^ 0x9e3779b9);
  const tile = new Float32Array(GRAIN_SIZE * GRAIN_SIZE);
  for (let k = 0; k < tile.length; k++) tile[k] = rng.next() * 2 - 1;
  return tile;
}

function hueRotate(cv: Canvas, degrees: number, saturation: number): void {
  const a = (degrees * Math.PI) / 180;
  const cos = Math.cos(a);
  const sin = Math.sin(a);
  const m = [
    0.213 + cos * 0.787 - sin * 0.213,
    0.715 - cos * 0.715 - sin * 0.715,
    0.072 - cos * 0.072 + sin * 0.928,
    0.213 - cos * 0.213 + sin * 0.143,
    0.715 + cos * 0.285 + sin * 0.14,
    0.072 - cos * 0.072 - sin * 0.283,
    0.213 - cos * 0.213 - sin * 0.787,
    0.715 - cos * 0.715 + sin * 0.715,
    0.072 + cos * 0.928 + sin * 0.072,
  ] as const;
  const d = cv.data;
  for (let i = 0; i < d.length; i += 4) {
    const r = d[i]!;
    const g = d[i + 1]!;
    const b = d[i + 2]!;
    const nr = r * m[0] + g * m[1] + b * m[2];
    const ng = r * m[3] + g * m[4] + b * m[5];
    const nb = r * m[6] + g * m[7] + b * m[8];
    const l = luma(nr, ng, nb);
    d[i] = l + (nr - l) * saturation;
    d[i + 1] = l + (ng - l) * saturation;
    d[i + 2] = l + (nb - l) * saturation;
  }
}

/**
 * The colour a flat area of `c` has after the art style's pass, for styles whose pass works pixel
 * by pixel on the colour alone (an unknown style's hue turn); undefined for styles that blur,
 * posterise with outlines, pixelate, add grain or hatch.
 */
export function styleColor(artStyle: string, c: readonly [number, number, number]): [number, number, number] | undefined {
  const style = styleFlags(artStyle);
  if (style.soft || style.bold || style.pixel || style.noir || style.sketch) return undefined;
  const cv = new Canvas(1, 1);
  cv.span(0, 0, 1, c);
  if (style.hue !== 0 || style.saturation !== 1) hueRotate(cv, style.hue, style.saturation);
  return [cv.data[0]!, cv.data[1]!, cv.data[2]!];
}

function applyStyle(cv: Canvas, style: StyleFlags, edges: Uint8Array | null, salt: number): void {
  const { width: w, height: h, data: d } = cv;
  const u = Math.min(w, h) / 512;
  const tile = grainTile(salt);
  const at = (x: number, y: number): number => tile[(y & (GRAIN_SIZE - 1)) * GRAIN_SIZE + (x & (GRAIN_SIZE - 1))]!;
  if (style.hue !== 0 || style.saturation !== 1) hueRotate(cv, style.hue, style.saturation);
  if (style.bold) {
    // Punchier, posterised colours with bold ink outlines.
    const steps = 5;
    const q = steps / 255;
    const back = 255 / steps;
    for (let i = 0; i < d.length; i += 4) {
      const l = 0.299 * d[i]! + 0.587 * d[i + 1]! + 0.114 * d[i + 2]!;
      for (let c = i; c < i + 3; c++) {
        let v = l + (d[c]! - l) * 1.3;
        v = v < 0 ? 0 : v > 255 ? 255 : v;
        d[c] = ((v * q + 0.5) | 0) * back;
      }
    }
  }
  if (style.soft) {
    boxBlur(cv, Math.max(1, Math.round(2 * u)));
    // Wash toward warm paper, with a coarse paper grain.
    for (let y = 0, i = 0; y < h; y++) {
      for (let x = 0; x < w; x++, i += 4) {
        const n = tile[((y >> 2) & (GRAIN_SIZE - 1)) * GRAIN_SIZE + ((x >> 2) & (GRAIN_SIZE - 1))]! * 6;
        d[i] = d[i]! * 0.7 + 76.5 + n;
        d[i + 1] = d[i + 1]! * 0.7 + 75.3 + n;
        d[i + 2] = d[i + 2]! * 0.7 + 72.6 + n;
      }
    }
  }
  if (style.pixel) {
    const block = Math.max(3, Math.round(Math.min(w, h) / 64));
    const step = 255 / 5;
    for (let by = 0; by < h; by += block) {
      for (let bx = 0; bx < w; bx += block) {
        let r = 0;
        let g = 0;
        let b = 0;
        let n = 0;
        const ye = Math.min(h, by + block);
        const xe = Math.min(w, bx + block);
        for (let y = by; y < ye; y++) {
          for (let x = bx; x < xe; x++) {
            const i = (y * w + x) * 4;
            r += d[i]!;
            g += d[i + 1]!;
            b += d[i + 2]!;
            n++;
          }
        }
        const cr = Math.round(r / n / step) * step;
        const cg = Math.round(g / n / step) * step;
        const cb = Math.round(b / n / step) * step;
        for (let y = by; y < ye; y++) {
          for (let x = bx; x < xe; x++) {
            const i = (y * w + x) * 4;
            d[i] = cr;
            d[i + 1] = cg;
            d[i + 2] = cb;
          }
        }
      }
    }
  }
  if (style.noir) {
    for (let y = 0, i = 0; y < h; y++) {
      for (let x = 0; x < w; x++, i += 4) {
        const dx = x / w - 0.5;
        const dy = y / h - 0.5;
        const vignette = 1 - 1.3 * (dx * dx + dy * dy);
        const v = ((luma(d[i]!, d[i + 1]!, d[i + 2]!) - 128) * 1.45 + 128) * vignette + at(x, y) * 6;
        d[i] = v;
        d[i + 1] = v;
        d[i + 2] = v;
      }
    }
  }
  if (style.sketch) {
    const spacing = Math.max(4, Math.round(6 * u));
    for (let y = 0, i = 0; y < h; y++) {
      for (let x = 0; x < w; x++, i += 4) {
        const l = luma(d[i]!, d[i + 1]!, d[i + 2]!);
        let v = 246 - (255 - l) * 0.28 + at(x >> 1, y >> 1) * 4;
        if (l < 110 && (x + y) % spacing === 0) v -= 80;
        if (l < 50 && (((x - y) % spacing) + spacing) % spacing === 0) v -= 70;
        d[i] = v;
        d[i + 1] = v - 2;
        d[i + 2] = v - 8;
      }
    }
  }
  if (edges) {
    const ink: RGB = style.sketch ? [58, 56, 60] : [18, 14, 22];
    for (let p = 0, i = 0; p < edges.length; p++, i += 4) {
      if (edges[p] === 0) continue;
      d[i] = ink[0];
      d[i + 1] = ink[1];
      d[i + 2] = ink[2];
    }
  }
}

// ---------------------------------------------------------------------------------------
// Caption strip

const ELLIPSIS = '...';
const CAPTION_INK: RGB = [250, 246, 232];

function captionScale(w: number, h: number): number {
  return Math.max(1, Math.floor(Math.min(w, h) / 170));
}

/** Two caption lines from 256 px up, one below. */
function captionLineCount(w: number, h: number): number {
  return Math.min(w, h) >= 256 ? 2 : 1;
}

function captionHeight(w: number, h: number): number {
  const s = captionScale(w, h);
  const lines = captionLineCount(w, h);
  return lines * GLYPH_HEIGHT * s + (lines - 1) * 3 * s + 2 * Math.max(2, 2 * s);
}

/** `word` cut to `max` glyphs, the cut marked with an ellipsis. */
function shortened(word: string, max: number): string {
  return max <= ELLIPSIS.length ? ELLIPSIS.slice(0, Math.max(0, max)) : `${word.slice(0, max - ELLIPSIS.length)}${ELLIPSIS}`;
}

/** `line` (words joined by single spaces) with an ellipsis, dropping whole words from its end until it fits `max`. */
function withEllipsis(line: string, max: number): string {
  let end = line.length;
  while (end + ELLIPSIS.length > max) {
    const space = line.lastIndexOf(' ', end - 1);
    if (space < 0) break;
    end = space;
  }
  // A single word that leaves no room for the ellipsis is shortened instead.
  return end + ELLIPSIS.length <= max ? `${line.slice(0, end)}${ELLIPSIS}` : shortened(line.slice(0, end), max);
}

/**
 * Lays `text` out as at most `maxLines` lines of at most `maxChars` glyphs, in the font's
 * alphabet (`fontText`: upper case, unknown characters as `?`). Lines hold whole words
 * separated by single spaces, filled greedily. When the text does not fit, the last line ends
 * at a word boundary with `...`; a word longer than a line is shown shortened to the line with
 * `...` and ends the caption. Nothing is cut without an ellipsis.
 *
 * Linear in the text, and usually much less: words are read one at a time (each mapped to the
 * font once) and reading stops at the first word that does not fit.
 */
export function layoutCaption(text: string, maxChars: number, maxLines = 1): string[] {
  const max = Math.floor(maxChars);
  const lineLimit = Math.floor(maxLines);
  const lines: string[] = [];
  if (!(max > 0) || !(lineLimit > 0)) return lines;
  const wordPattern = /\S+/g;
  const nextWord = (): string | undefined => {
    for (let m = wordPattern.exec(text); m !== null; m = wordPattern.exec(text)) {
      const word = fontText(m[0]);
      if (word.length > 0) return word;
    }
    return undefined;
  };
  let line = '';
  let word = nextWord();
  while (word !== undefined) {
    if (line === '') {
      if (word.length > max) {
        lines.push(shortened(word, max));
        return lines;
      }
      line = word;
      word = nextWord();
    } else if (line.length + 1 + word.length <= max) {
      line = `${line} ${word}`;
      word = nextWord();
    } else if (lines.length + 1 < lineLimit) {
      lines.push(line);
      line = '';
    } else {
      lines.push(withEllipsis(line, max));
      return lines;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** The caption lines an image of this size shows for `text` (sizes are clamped like the image's). */
export function captionLines(text: string, width: number, height: number): string[] {
  const w = clampSide(width);
  const h = clampSide(height);
  const s = captionScale(w, h);
  const pad = Math.max(2, 2 * s);
  return layoutCaption(text, glyphsThatFit(w - 2 * pad, s), captionLineCount(w, h));
}

function paintCaption(cv: Canvas, text: string): void {
  const { width: w, height: h } = cv;
  const s = captionScale(w, h);
  const pad = Math.max(2, 2 * s);
  const strip = captionHeight(w, h);
  const top = h - strip;
  cv.rect(0, top, w, strip, [14, 12, 24], 0.72);
  cv.rect(0, top, w, Math.max(1, Math.round(s / 2)), [255, 214, 120], 0.9);
  captionLines(text, w, h).forEach((line, k) => {
    drawText(cv, line, pad, top + pad + k * (GLYPH_HEIGHT + 3) * s, s, CAPTION_INK);
  });
}

// ---------------------------------------------------------------------------------------
// Rendering entry points

export interface RenderInput {
  prompt: string;
  artStyle: string;
  seed: string;
  width: number;
  height: number;
}

/** Paints the scene into raw RGBA pixels (before PNG encoding). */
function renderPixels(input: RenderInput): { width: number; height: number; data: Uint8ClampedArray } {
  const w = clampSide(input.width);
  const h = clampSide(input.height);
  const scene = describeScene(input.prompt);
  const rng = new Random(hashString(`${input.prompt}\u0000${input.seed}`));
  const cv = new Canvas(w, h);
  const sceneH = h - captionHeight(w, h);
  const horizonT = scene.space ? 0.74 + rng.next() * 0.08 : scene.water === 'sea' ? 0.45 + rng.next() * 0.1 : 0.5 + rng.next() * 0.14;
  const ctx: Ctx = {
    cv,
    rng,
    scene,
    w,
    h,
    sceneH,
    horizon: Math.round(sceneH * horizonT),
    u: Math.min(w, h) / 512,
    tone: makeTone(scene),
    sky: skyStops(scene, rng),
    ground: new Float64Array(w),
    waterAt: () => false,
    waterSpot: () => null,
    river: null,
    dark: scene.time === 'night' || scene.space,
    jobKey: jobOf(input.seed),
  };

  paintSky(ctx);
  if (ctx.dark) paintStars(ctx, scene.space ? 2.2 : 1);
  if (scene.space) paintPlanets(ctx);
  // The moon shows when the text names it; the sun on clear or cloudy days.
  if (mentions(scene, 'moon')) paintMoon(ctx);
  else if (!scene.space && scene.time !== 'night' && scene.weather !== 'storm') paintSun(ctx);
  if (!scene.space) paintClouds(ctx);
  paintSkyThings(ctx);
  if (scene.rocket) paintRocket(ctx);
  if (!scene.space) paintFarHills(ctx);
  if (scene.mountains) paintMountains(ctx);
  if (scene.buildings === 'city') paintCity(ctx);
  paintGround(ctx);
  paintWaterThings(ctx);
  if (scene.buildings === 'castle') paintCastle(ctx);
  if (scene.buildings === 'lighthouse') paintLighthouse(ctx);
  if (scene.flowers) paintFlowers(ctx);
  paintProps(ctx);

  const style = styleFlags(input.artStyle);
  if (style.sketch) grayEqualize(cv, 0.85);
  else if (style.noir) grayEqualize(cv, 0.45);
  const edges = style.bold || style.sketch ? edgeMask(cv, style.sketch ? 22 : 30, Math.max(1, Math.round((style.bold ? 2.2 : 1.2) * ctx.u))) : null;
  paintWeather(ctx);
  applyStyle(cv, style, edges, hashString(input.seed));
  paintCaption(cv, scene.caption);
  return { width: w, height: h, data: cv.data };
}

/**
 * Writes RGBA pixels as a PNG. Pixels are packed to the output layout here so pngjs takes its
 * no-conversion path (its generic converter is the slow part); opaque images are written as
 * RGB. The "Up" filter with pngjs' RLE deflate keeps flat illustrations small (Paeth is
 * smaller still but pngjs' Paeth path is ~100x slower under jest's module sandbox).
 */
function encodePng(width: number, height: number, rgba: Uint8ClampedArray): Uint8Array {
  let opaque = true;
  for (let i = 3; i < rgba.length; i += 4) {
    if (rgba[i] !== 255) {
      opaque = false;
      break;
    }
  }
  const png = new PNG({ width: 1, height: 1 });
  png.width = width;
  png.height = height;
  let out: Buffer;
  if (opaque) {
    const rgb = Buffer.allocUnsafe(width * height * 3);
    for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
      rgb[j] = rgba[i]!;
      rgb[j + 1] = rgba[i + 1]!;
      rgb[j + 2] = rgba[i + 2]!;
    }
    png.data = rgb;
    out = PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false, filterType: 2 });
  } else {
    png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
    out = PNG.sync.write(png, { colorType: 6, inputColorType: 6, inputHasAlpha: true, filterType: 2 });
  }
  return new Uint8Array(out);
}

/** Renders a panel's scene and returns the PNG bytes. */
export function renderPng(input: RenderInput): Uint8Array {
  const { width, height, data } = renderPixels(input);
  return encodePng(width, height, data);
}

// ---------------------------------------------------------------------------------------
// Edits

const COLOR_WORDS: Record<string, RGB> = {
  red: [220, 40, 40],
  crimson: [180, 20, 50],
  orange: [250, 140, 30],
  yellow: [250, 220, 40],
  gold: [240, 190, 50],
  golden: [240, 190, 50],
  green: [50, 180, 70],
  blue: [40, 90, 230],
  teal: [20, 160, 160],
  turquoise: [40, 200, 200],
  purple: [140, 50, 200],
  violet: [150, 80, 220],
  pink: [250, 110, 170],
  brown: [140, 90, 50],
  silver: [200, 205, 215],
  gray: [128, 128, 128],
  grey: [128, 128, 128],
};

/** Decodes `original`, changes it as the instruction's words ask and returns the new PNG bytes. */
function editPng(original: Uint8Array, instruction: string, seed: string): Uint8Array {
  let decoded: PNG;
  try {
    decoded = PNG.sync.read(Buffer.from(original.buffer, original.byteOffset, original.byteLength));
  } catch (err) {
    throw new Error(`offline illustrator: the original is not a readable PNG (${(err as Error).message})`);
  }
  const w = decoded.width;
  const h = decoded.height;
  const cv = new Canvas(w, h, new Uint8ClampedArray(decoded.data));
  const lower = instruction.toLowerCase();
  const tokens = new Set(lower.match(/[a-z]+/g) ?? []);
  const hasAny = (...list: string[]): boolean => list.some((t) => tokens.has(t));
  const rng = new Random(hashString(`${instruction}\u0000${seed}\u0000edit`));
  const u = Math.min(w, h) / 512;
  const d = cv.data;
  const sceneH = h - captionHeight(w, h);
  const horizon = sceneH * 0.6;
  let changed = false;

  if (hasAny('flip', 'mirror', 'mirrored')) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w >> 1; x++) {
        const a = (y * w + x) * 4;
        const b = (y * w + (w - 1 - x)) * 4;
        for (let c = 0; c < 4; c++) {
          const t = d[a + c]!;
          d[a + c] = d[b + c]!;
          d[b + c] = t;
        }
      }
    }
    changed = true;
  }

  const night = hasAny('night', 'midnight', 'dark', 'darker', 'moon', 'moonlight', 'moonlit', 'stars', 'starry', 'nighttime');
  const sunset = !night && hasAny('sunset', 'sunrise', 'evening', 'dusk', 'dawn', 'twilight', 'warm', 'warmer');
  const day = !night && !sunset && hasAny('day', 'daytime', 'sun', 'sunny', 'sunshine', 'morning', 'bright', 'brighter', 'daylight', 'noon', 'lighter');
  const stormy = hasAny('storm', 'stormy', 'thunder', 'lightning');
  const rainy = stormy || hasAny('rain', 'rainy', 'raining', 'drizzle', 'wet');
  const snowy = hasAny('snow', 'snowy', 'snowing', 'winter', 'frost', 'frosty', 'icy', 'blizzard');

  for (const [word, color] of Object.entries(COLOR_WORDS)) {
    if (!tokens.has(word)) continue;
    for (let i = 0; i < d.length; i += 4) {
      d[i] = d[i]! + (color[0] - d[i]!) * 0.28;
      d[i + 1] = d[i + 1]! + (color[1] - d[i + 1]!) * 0.28;
      d[i + 2] = d[i + 2]! + (color[2] - d[i + 2]!) * 0.28;
    }
    changed = true;
  }

  if (night) {
    for (let i = 0; i < d.length; i += 4) {
      d[i] = d[i]! * 0.4;
      d[i + 1] = d[i + 1]! * 0.45;
      d[i + 2] = d[i + 2]! * 0.6 + 22;
    }
    const n = Math.round((w * horizon) / 900);
    for (let k = 0; k < n; k++) {
      const x = Math.floor(rng.next() * w);
      const y = Math.floor(rng.next() * horizon * 0.8);
      const i = (y * w + x) * 4;
      if (luma(d[i]!, d[i + 1]!, d[i + 2]!) < 110) cv.span(y, x, x + Math.max(1, u * 1.2), [255, 250, 225], 0.5 + rng.next() * 0.5);
    }
    const r = 26 * u;
    const mx = w * (0.15 + rng.next() * 0.7);
    const my = horizon * (0.15 + rng.next() * 0.15);
    // The crescent's shadow takes the colour of the sky just beside the moon.
    const si = (Math.round(my) * w + Math.round(clamp(mx + r * (mx < w / 2 ? 2.2 : -2.2), 0, w - 1))) * 4;
    const shadow: RGB = [d[si]!, d[si + 1]!, d[si + 2]!];
    for (let k = 3; k >= 1; k--) cv.circle(mx, my, r * (1 + k * 0.4), [200, 210, 255], 0.06);
    cv.circle(mx, my, r, [242, 238, 214]);
    cv.circle(mx + r * 0.45, my - r * 0.2, r * 0.85, shadow);
    changed = true;
  } else if (sunset) {
    for (let y = 0; y < h; y++) {
      const a = 0.42 - (0.3 * y) / h;
      cv.span(y, 0, w, [255, 130, 60], a);
    }
    const r = 40 * u;
    const sx = w * (0.2 + rng.next() * 0.6);
    for (let k = 4; k >= 1; k--) cv.circle(sx, horizon - r * 0.3, r * (1 + k * 0.4), [255, 180, 90], 0.08);
    cv.circle(sx, horizon - r * 0.3, r, [255, 120, 60], 0.9);
    changed = true;
  } else if (day) {
    for (let i = 0; i < d.length; i += 4) {
      d[i] = d[i]! * 0.82 + 52;
      d[i + 1] = d[i + 1]! * 0.82 + 46;
      d[i + 2] = d[i + 2]! * 0.82 + 34;
    }
    const r = 30 * u;
    const sx = w * (0.12 + rng.next() * 0.25) * (rng.next() < 0.5 ? 1 : 3.2);
    const sy = horizon * 0.22;
    for (let k = 5; k >= 1; k--) cv.circle(sx, sy, r * (1 + k * 0.4), [255, 250, 210], 0.08);
    cv.circle(sx, sy, r, [255, 238, 150]);
    changed = true;
  }

  if (rainy) {
    for (let i = 0; i < d.length; i += 4) {
      const l = luma(d[i]!, d[i + 1]!, d[i + 2]!);
      for (let c = 0; c < 3; c++) d[i + c] = (l + (d[i + c]! - l) * 0.7) * 0.88;
    }
    const n = Math.round((w * h) / 400 / (u * u));
    for (let k = 0; k < n; k++) {
      const x = rng.next() * w;
      const y = rng.next() * sceneH;
      const len = (8 + rng.next() * 12) * u;
      cv.line(x, y, x - len * 0.25, y + len, Math.max(1, u), [210, 220, 240], 0.5);
    }
    if (stormy) {
      let x = w * (0.2 + rng.next() * 0.6);
      let y = 0;
      while (y < horizon * 0.7) {
        const nx = x + (rng.next() - 0.5) * 50 * u;
        const ny = y + (15 + rng.next() * 20) * u;
        cv.line(x, y, nx, ny, Math.max(2, 3 * u), [255, 255, 230]);
        x = nx;
        y = ny;
      }
    }
    changed = true;
  }

  if (snowy) {
    const from = Math.round(sceneH * 0.55);
    for (let y = from; y < sceneH; y++) cv.span(y, 0, w, [240, 244, 252], (0.45 * (y - from)) / (sceneH - from));
    const n = Math.round((w * h) / 450 / (u * u));
    for (let k = 0; k < n; k++) cv.circle(rng.next() * w, rng.next() * sceneH, Math.max(1, (0.8 + rng.next() * 2) * u), WHITE, 0.85);
    changed = true;
  }

  // Elements the instruction asks for.
  if (hasAny('rainbow')) {
    const cx = w * (0.3 + rng.next() * 0.4);
    const colors: RGB[] = [
      [230, 50, 50],
      [250, 150, 40],
      [250, 230, 60],
      [60, 190, 80],
      [60, 120, 230],
      [130, 70, 200],
    ];
    const outer = w * 0.45;
    const band = 7 * u;
    for (let y = Math.round(horizon - outer); y < horizon; y++) {
      const dy = horizon - y;
      colors.forEach((c, k) => {
        const ro = outer - k * band;
        const ri = ro - band;
        if (dy >= ro) return;
        const xo = Math.sqrt(ro * ro - dy * dy);
        const xi = dy < ri ? Math.sqrt(ri * ri - dy * dy) : 0;
        cv.span(y, cx - xo, cx - xi, c, 0.45);
        cv.span(y, cx + xi, cx + xo, c, 0.45);
      });
    }
    changed = true;
  }
  if (hasAny('cloud', 'clouds', 'cloudy')) {
    for (let k = 0; k < 3; k++) paintCloud(cv, rng.next() * w, horizon * (0.15 + rng.next() * 0.35), (22 + rng.next() * 25) * u, [250, 250, 255], 0.9, rng);
    changed = true;
  }
  if (hasAny('bird', 'birds')) {
    for (let k = 0; k < 4; k++) paintBird(cv, w * (0.15 + rng.next() * 0.7), horizon * (0.15 + rng.next() * 0.5), (8 + rng.next() * 8) * u, [40, 36, 46]);
    changed = true;
  }
  if (hasAny('balloon', 'balloons')) {
    const bx = w * (0.15 + rng.next() * 0.7);
    const by = horizon * (0.25 + rng.next() * 0.3);
    const br = 22 * u;
    cv.line(bx, by + br, bx + 6 * u, by + br * 3.5, 1, [60, 60, 60]);
    cv.ellipse(bx, by, br * 0.85, br, rng.pick(Object.values(COLOR_WORDS)));
    cv.ellipse(bx - br * 0.3, by - br * 0.35, br * 0.2, br * 0.3, WHITE, 0.5);
    changed = true;
  }
  if (hasAny('heart', 'hearts', 'love')) {
    const hx = w * (0.2 + rng.next() * 0.6);
    const hy = horizon * (0.3 + rng.next() * 0.3);
    const hs = 16 * u;
    cv.circle(hx - hs * 0.5, hy, hs * 0.6, [235, 60, 90]);
    cv.circle(hx + hs * 0.5, hy, hs * 0.6, [235, 60, 90]);
    cv.polygon([[hx - hs * 1.08, hy + hs * 0.2], [hx + hs * 1.08, hy + hs * 0.2], [hx, hy + hs * 1.3]], [235, 60, 90]);
    changed = true;
  }
  if (hasAny('flower', 'flowers', 'garden', 'blossom', 'blossoms')) {
    const n = Math.round(w / (22 * u));
    for (let k = 0; k < n; k++) {
      const x = rng.next() * w;
      const y = sceneH * (0.8 + rng.next() * 0.16);
      const r = (3 + rng.next() * 3) * u;
      const petal = hsl(rng.pick([0, 50, 300, 330, 270, 30]), 0.8, 0.65);
      cv.line(x, y, x, y + r * 2.5, Math.max(1, r * 0.35), [60, 130, 60]);
      for (let p = 0; p < 5; p++) cv.circle(x + Math.cos((p / 5) * Math.PI * 2) * r, y + Math.sin((p / 5) * Math.PI * 2) * r, r * 0.7, petal);
      cv.circle(x, y, r * 0.55, [250, 220, 70]);
    }
    changed = true;
  }
  const addKinds: FigureKind[] = [];
  for (const t of tokens) {
    const hit = FIGURES.get(t);
    if (hit !== undefined && hit.kind !== 'bird') addKinds.push(hit.kind);
  }
  const wantsTree = hasAny('tree', 'trees', 'forest');
  if (addKinds.length > 0 || wantsTree) {
    const ctx: Ctx = {
      cv,
      rng,
      scene: { ...describeScene(''), weather: snowy ? 'snow' : 'clear' },
      w,
      h,
      sceneH,
      horizon,
      u,
      tone: night ? (c) => mix(shade(c, 0.45), [16, 22, 58], 0.3) : (c) => c,
      sky: [[128, 160, 200]],
      ground: new Float64Array(w).fill(horizon),
      waterAt: () => false,
      waterSpot: () => null,
      river: null,
      dark: night,
      jobKey: jobOf(seed),
    };
    if (wantsTree) {
      const x = w * (rng.next() < 0.5 ? 0.08 + rng.next() * 0.15 : 0.77 + rng.next() * 0.15);
      paintTree(ctx, x, sceneH * 0.95, 200 * u, rng.next() < 0.5);
    }
    addKinds.slice(0, 3).forEach((kind, k) => {
      const x = w * (0.2 + 0.3 * k + rng.next() * 0.1);
      const y = sceneH * (0.9 + rng.next() * 0.06);
      const base = Math.min(w, sceneH) * 0.26;
      const look = lookFrom(rng);
      if (kind === 'person' || kind === 'royal' || kind === 'wizard') paintPerson(ctx, x, y, base, { kind, dress: kind !== 'person' || rng.next() < 0.5 }, look);
      else if (kind === 'robot') paintRobot(ctx, x, y, base * 0.85, look);
      else if (kind === 'dragon') paintDragon(ctx, x, y, base, look);
      else if (kind === 'horse' || kind === 'unicorn') paintHorse(ctx, x, y, base * 0.9, kind === 'unicorn', look);
      else paintAnimal(ctx, x, y, base * 0.5, kind, look);
    });
    changed = true;
  }

  if (!changed) {
    // No word we know: a visible, instruction-specific palette shift with a few sparkles.
    const hash = hashString(lower.trim());
    const deg = (20 + (hash % 25)) * (hash & 1 ? 1 : -1);
    hueRotate(cv, deg, 1.15);
    for (let k = 0; k < 6; k++) {
      const x = w * (0.1 + rng.next() * 0.8);
      const y = sceneH * (0.1 + rng.next() * 0.6);
      const s = (5 + rng.next() * 6) * u;
      cv.line(x - s, y, x + s, y, Math.max(1, 1.5 * u), [255, 250, 220], 0.9);
      cv.line(x, y - s, x, y + s, Math.max(1, 1.5 * u), [255, 250, 220], 0.9);
    }
  }

  paintBadge(cv);
  return encodePng(w, h, cv.data);
}

/** A small "EDIT" badge in the top-right corner. */
function paintBadge(cv: Canvas): void {
  const { width: w, height: h } = cv;
  const s = captionScale(w, h);
  const pad = Math.max(2, 2 * s);
  const bw = textWidth('EDIT', s) + pad * 2;
  const bh = GLYPH_HEIGHT * s + pad * 2;
  const x = w - bw - pad * 2;
  const y = pad * 2;
  const r = Math.min(bh / 2, pad * 2);
  const badge: RGB = [230, 70, 90];
  cv.rect(x + r, y, bw - 2 * r, bh, badge);
  cv.rect(x, y + r, bw, bh - 2 * r, badge);
  for (const [cx, cy] of [
    [x + r, y + r],
    [x + bw - r, y + r],
    [x + r, y + bh - r],
    [x + bw - r, y + bh - r],
  ] as const) {
    cv.circle(cx, cy, r, badge);
  }
  drawText(cv, 'EDIT', x + pad, y + pad, s, [255, 255, 255]);
}

// ---------------------------------------------------------------------------------------
// The ImageModel

export interface OfflineIllustratorOptions {
  /** Simulated per-image latency in milliseconds (default 0). */
  latencyMs?: number;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** Waits `ms` milliseconds; rejects with the signal's reason as soon as it aborts. */
function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  if (!(ms > 0)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Drawing is synchronous CPU work: panels drawn "concurrently" would otherwise run back to back
 * in one turn of the event loop (their continuations all become ready together) and block the
 * process for the sum of their times. One lane for the process: each drawing starts in a turn
 * of its own, after the previous one has finished. (Hand-written rather than
 * `node:timers/promises`: the tests drive these timers with jest's fake clock.)
 */
let lane: Promise<unknown> = Promise.resolve();
function drawInTurn<T>(draw: () => T, signal: AbortSignal | undefined): Promise<T> {
  const result = lane.then(
    () =>
      new Promise<T>((resolve, reject) => {
        setImmediate(() => {
          try {
            signal?.throwIfAborted();
            resolve(draw());
          } catch (err) {
            reject(err);
          }
        });
      }),
  );
  lane = result.catch(() => undefined);
  return result;
}

export class OfflineIllustrator implements ImageModel {
  readonly provider = 'offline-illustrator';
  private readonly latencyMs: number;

  constructor(options: OfflineIllustratorOptions = {}) {
    const latency = options.latencyMs ?? 0;
    this.latencyMs = Number.isFinite(latency) && latency > 0 ? latency : 0;
  }

  async generate(req: ImageRequest): Promise<GeneratedImage> {
    await wait(this.latencyMs, req.signal);
    const png = await drawInTurn(() => renderPng(req), req.signal);
    return { png, model: OFFLINE_IMAGE_MODEL };
  }

  async edit(req: ImageEditRequest): Promise<GeneratedImage> {
    await wait(this.latencyMs, req.signal);
    const png = await drawInTurn(() => editPng(req.original, req.instruction, req.seed), req.signal);
    return { png, model: OFFLINE_IMAGE_MODEL };
  }
}
