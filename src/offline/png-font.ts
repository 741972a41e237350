/**
 * A tiny built-in 5x7 bitmap font for the offline illustrator's captions and badges.
 * Covers A–Z, 0–9 and basic punctuation; lower case is drawn as upper case, accents are
 * stripped and anything else is drawn as `?`.
 */

const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 7;
/** Horizontal advance of one character in font pixels (glyph plus one column of spacing). */
const GLYPH_ADVANCE = GLYPH_WIDTH + 1;

/** An RGBA image buffer the font can draw into. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

// Each glyph is 7 rows of 5 columns; '#' is ink.
const GLYPH_ROWS: Record<string, string> = {
  A: '.###. #...# #...# ##### #...# #...# #...#',
  B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.',
  D: '####. #...# #...# #...# #...# #...# ####.',
  E: '##### #.... #.... ####. #.... #.... #####',
  F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####',
  H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#',
  L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#',
  N: '#...# #...# ##..# #.#.# #..## #...# #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.',
  P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.#',
  R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.#### #.... #.... .###. ....# ....# ####.',
  T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.',
  V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.',
  X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
  Z: '##### ....# ...#. ..#.. .#... #.... #####',
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.',
  '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####',
  '3': '##### ...#. ..#.. ...#. ....# #...# .###.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.',
  '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.',
  '9': '.###. #...# #...# .#### ....# ...#. .##..',
  ' ': '..... ..... ..... ..... ..... ..... .....',
  '.': '..... ..... ..... ..... ..... .##.. .##..',
  ',': '..... ..... ..... ..... .##.. ..#.. .#...',
  '!': '..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#..',
  "'": '..#.. ..#.. .#... ..... ..... ..... .....',
  '"': '.#.#. .#.#. ..... ..... ..... ..... .....',
  '-': '..... ..... ..... .###. ..... ..... .....',
  ':': '..... .##.. .##.. ..... .##.. .##.. .....',
  ';': '..... .##.. .##.. ..... .##.. ..#.. .#...',
  '(': '...#. ..#.. .#... .#... .#... ..#.. ...#.',
  ')': '.#... ..#.. ...#. ...#. ...#. ..#.. .#...',
  '&': '.##.. #..#. #.#.. .#... #.#.# #..#. .##.#',
  '/': '..... ....# ...#. ..#.. .#... #.... .....',
  '+': '..... ..#.. ..#.. ##### ..#.. ..#.. .....',
  '=': '..... ..... ##### ..... ##### ..... .....',
  '*': '..... ..#.. #.#.# .###. #.#.# ..#.. .....',
};

/** Glyph bitmaps: one 5-bit row mask per row, bit 4 is the leftmost column. */
const GLYPHS = new Map<string, readonly number[]>(
  Object.entries(GLYPH_ROWS).map(([ch, rows]) => [
    ch,
    rows.split(' ').map((row) => [...row].reduce((mask, cell) => (mask << 1) | (cell === '#' ? 1 : 0), 0)),
  ]),
);

const FALLBACK = GLYPHS.get('?') as readonly number[];

/**
 * Upper-cases, strips accents, maps typographic quotes/dashes and replaces unknown characters with `?`.
 * The result is ASCII (glyph names only). Linear in the text: every step is one pass.
 */
export function fontText(text: string): string {
  const plain = text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[\u2018\u2019\u201a\u2032]/g, "'")
    .replace(/[\u201c\u201d\u201e]/g, '"')
    .replace(/[\u2013\u2014\u2212]/g, '-')
    .replace(/\u2026/g, '...')
    .replace(/\s+/g, ' ')
    .toUpperCase();
  let out = '';
  for (const ch of plain) out += GLYPHS.has(ch) ? ch : '?';
  return out;
}

/** The row masks of a character's glyph (after `fontText` mapping). */
export function glyphRows(ch: string): readonly number[] {
  return GLYPHS.get(ch) ?? GLYPHS.get(fontText(ch).charAt(0)) ?? FALLBACK;
}

/** Width in image pixels of `text` drawn at `scale` (without trailing spacing). Linear in the text. */
export function textWidth(text: string, scale: number): number {
  // `fontText` only yields ASCII glyph names, so its length is the number of glyphs.
  const n = fontText(text).length;
  return n === 0 ? 0 : (n * GLYPH_ADVANCE - 1) * scale;
}

/**
 * How many glyphs fit in `maxWidth` image pixels at `scale` (the font is monospaced, so a line's
 * width depends only on its length): the largest n with `textWidth` of n glyphs <= maxWidth.
 */
export function glyphsThatFit(maxWidth: number, scale: number): number {
  const s = Math.max(1, Math.floor(scale));
  if (!(maxWidth > 0)) return 0;
  return Math.floor((maxWidth / s + 1) / GLYPH_ADVANCE);
}

/**
 * Draws `text` with its top-left corner at (x, y); every font pixel becomes a `scale`×`scale`
 * block. Pixels outside the image are clipped. Returns the x just past the drawn text.
 */
export function drawText(
  image: RgbaImage,
  text: string,
  x: number,
  y: number,
  scale: number,
  rgb: readonly [number, number, number],
): number {
  const s = Math.max(1, Math.floor(scale));
  const { width, height, data } = image;
  let penX = Math.round(x);
  const top = Math.round(y);
  for (const ch of fontText(text)) {
    const rows = glyphRows(ch);
    for (let row = 0; row < GLYPH_HEIGHT; row++) {
      const mask = rows[row] ?? 0;
      if (mask === 0) continue;
      for (let col = 0; col < GLYPH_WIDTH; col++) {
        if ((mask & (1 << (GLYPH_WIDTH - 1 - col))) === 0) continue;
        const px0 = penX + col * s;
        const py0 = top + row * s;
        for (let py = Math.max(0, py0); py < Math.min(height, py0 + s); py++) {
          for (let px = Math.max(0, px0); px < Math.min(width, px0 + s); px++) {
            const i = (py * width + px) * 4;
            data[i] = rgb[0];
            data[i + 1] = rgb[1];
            data[i + 2] = rgb[2];
            data[i + 3] = 255;
          }
        }
      }
    }
    penX += GLYPH_ADVANCE * s;
  }
  return penX;
}
