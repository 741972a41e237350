/**
 * The offline illustrator's text paths: the caption layout (whole words, an ellipsis whenever
 * something is cut), `namesIn` and inputs at
 * the request schemas' caps. Results only: a separate test measures event-loop blocking.
 */
import fc from 'fast-check';
import { PNG } from 'pngjs';
import { wholeWordPattern } from '../src/core/regex';
import { captionLines, describeScene, layoutCaption, namesIn, renderPng } from '../src/offline/illustrator';
import { drawText, fontText } from '../src/offline/png-font';

const ELLIPSIS = '...';

/** The words a caption may show: the text's whitespace-separated words in the font's alphabet. */
const fontWords = (text: string): string[] =>
  text
    .split(/\s+/)
    .map((w) => fontText(w))
    .filter((w) => w.length > 0);

/**
 * Checks a caption layout against the text's words and returns the problems found (none = ok):
 * lines fit, break only between words, show a prefix of the words, and end with an ellipsis
 * exactly when something was cut (the cut at a word boundary, or a word longer than a line
 * shortened to the line).
 */
function layoutProblems(text: string, lines: readonly string[], max: number, maxLines: number): string[] {
  const words = fontWords(text);
  const problems: string[] = [];
  if (lines.length > maxLines) problems.push(`${lines.length} lines > ${maxLines}`);
  for (const line of lines) {
    if (line.length > max) problems.push(`"${line}" longer than ${max}`);
    if (line.length === 0 || line !== line.trim() || line.includes('  ')) problems.push(`"${line}" is not words separated by single spaces`);
  }
  if (words.length === 0) {
    if (lines.length > 0) problems.push('lines for a text without words');
    return problems;
  }
  if (lines.length === 0) return [...problems, 'no lines for a text with words'];
  if (lines.join(' ') === words.join(' ')) {
    // Everything is shown. Greedy: a line break only where the next word did not fit.
    let next = 0;
    lines.forEach((line, k) => {
      next += line.split(' ').length;
      if (k < lines.length - 1 && line.length + 1 + (words[next] as string).length <= max) problems.push(`line "${line}" could have taken "${words[next]}"`);
    });
    return problems;
  }
  // Something is cut: only the last line may end with the ellipsis, and it must.
  let next = 0;
  for (const [k, line] of lines.entries()) {
    const last = k === lines.length - 1;
    if (!last) {
      for (const token of line.split(' ')) {
        if (token !== words[next]) problems.push(`line ${k}: "${token}" is not the next whole word "${words[next]}"`);
        next++;
      }
      if (words[next] !== undefined && line.length + 1 + (words[next] as string).length <= max) problems.push(`line "${line}" could have taken "${words[next]}"`);
      continue;
    }
    if (!line.endsWith(ELLIPSIS)) {
      problems.push(`cut caption without an ellipsis: ${JSON.stringify(lines)}`);
      continue;
    }
    const body = line.slice(0, -ELLIPSIS.length);
    const tokens = body === '' ? [] : body.split(' ');
    let shortened = false;
    for (const token of tokens) {
      const word = words[next] as string | undefined;
      if (token === word) {
        next++;
        continue;
      }
      // Only a word too long to show with the ellipsis may be cut, alone on its line, using the whole line.
      shortened = word !== undefined && tokens.length === 1 && word.startsWith(token) && word.length + ELLIPSIS.length > max && line.length === max;
      if (!shortened) problems.push(`last line: "${token}" is neither the next whole word "${word}" nor that word shortened`);
    }
    if (!shortened && next >= words.length) problems.push(`ellipsis although every word is shown: ${JSON.stringify(lines)}`);
  }
  return problems;
}

const WORDS = ['Mira', 'walks', 'through', 'the', 'forest', 'a', 'I', 'Ember', 'dragon', 'co-operate', "isn't", 'Café', 'naïve', '—', '…', '"Hi!"', 'x', '12', '(ok)'];
const textArb = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...WORDS) },
      { weight: 2, arbitrary: fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }) },
      { weight: 1, arbitrary: fc.constantFrom('a', 'b', '.', 'Z').chain((c) => fc.integer({ min: 15, max: 60 }).map((n) => c.repeat(n))) },
    ),
    { maxLength: 30 },
  )
  .chain((parts) => fc.array(fc.constantFrom(' ', '  ', '\n', '\t', '\u00a0', ' \u3000 '), { minLength: parts.length, maxLength: parts.length }).map((gaps) => parts.map((p, k) => `${p}${gaps[k]}`).join('')));

describe('layoutCaption', () => {
  it('keeps whole words and ends with an ellipsis exactly when something is cut', () => {
    fc.assert(
      fc.property(textArb, fc.integer({ min: 4, max: 40 }), fc.integer({ min: 1, max: 3 }), (text, max, maxLines) => {
        const lines = layoutCaption(text, max, maxLines);
        expect(layoutProblems(text, lines, max, maxLines)).toEqual([]);
      }),
      { numRuns: 600 },
    );
  });

  it('shows all of a text that fits, and nothing is cut without an ellipsis', () => {
    expect(layoutCaption('Hi  there,\n Mira!', 20)).toEqual(['HI THERE, MIRA!']);
    expect(layoutCaption('Mira walks through the forest', 12)).toEqual(['MIRA...']);
    expect(layoutCaption('Mira walks through the forest', 14)).toEqual(['MIRA WALKS...']);
    expect(layoutCaption('one two three four', 9, 2)).toEqual(['ONE TWO', 'THREE...']);
    expect(layoutCaption('one two three', 9, 2)).toEqual(['ONE TWO', 'THREE']);
    expect(layoutCaption('Once upon a time Supercalifragilistic arrived', 16, 2)).toEqual(['ONCE UPON A TIME', 'SUPERCALIFRAG...']);
    expect(layoutCaption('Supercalifragilistic', 10, 3)).toEqual(['SUPERCA...']);
    // A word that fits a line but not with the ellipsis, when more follows on the last line.
    expect(layoutCaption('abcdefgh ij', 9)).toEqual(['ABCDEF...']);
    expect(layoutCaption('', 10)).toEqual([]);
    expect(layoutCaption(' \n\t ', 10)).toEqual([]);
    expect(layoutCaption('\u0301\u0302 Mira', 10)).toEqual(['MIRA']);
    // Degenerate sizes: nothing, or only the cut mark.
    expect(layoutCaption('hello', 0)).toEqual([]);
    expect(layoutCaption('hello', 10, 0)).toEqual([]);
    expect(layoutCaption('hello', 2)).toEqual(['..']);
  });

  it('is what the image shows: the strip holds exactly the ink of the laid-out lines', () => {
    const prompt = 'Lina and her dragon Ember search the whole valley for a lost star, and the night is long.';
    const lines = captionLines(prompt, 512, 512);
    expect(lines).toEqual(['LINA AND HER DRAGON EMBER', 'SEARCH THE WHOLE VALLEY...']);
    const img = PNG.sync.read(Buffer.from(renderPng({ prompt, artStyle: 'storybook', seed: 'cap:1', width: 512, height: 512 })));
    expect(captionInk(img)).toBe(inkOf(lines, 3));
  });
});

/** Pixels of the caption colour in the bottom strip of a decoded image. */
function captionInk(img: PNG): number {
  let n = 0;
  for (let y = Math.round(img.height * 0.85); y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * 4;
      if (img.data[i] === 250 && img.data[i + 1] === 246 && img.data[i + 2] === 232) n++;
    }
  }
  return n;
}

/** Ink pixels of `lines` drawn at `scale` on a blank image. */
function inkOf(lines: readonly string[], scale: number): number {
  const image = { width: 1024, height: 64 * lines.length, data: new Uint8ClampedArray(1024 * 64 * lines.length * 4) };
  lines.forEach((line, k) => drawText(image, line, 0, k * 64, scale, [250, 246, 232]));
  let n = 0;
  for (let i = 0; i < image.data.length; i += 4) if (image.data[i] === 250) n++;
  return n;
}

// ---------------------------------------------------------------------------------------
// Inputs at the schemas' caps (a scene prompt joins narrator segments: up to ~100,000 chars).

/** Distinct capitalised words: Name + four letters. */
const capitalised = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => {
    let tail = '';
    for (let k = 0, v = i; k < 4; k++, v = Math.floor(v / 26)) tail += String.fromCharCode(97 + (v % 26));
    return `Name${tail}`;
  });

describe('worst-case inputs', () => {
  const render = (prompt: string): PNG => PNG.sync.read(Buffer.from(renderPng({ prompt, artStyle: 'storybook', seed: 'big:1', width: 512, height: 512 })));

  it('renders a 100,000-character word with the word shortened and marked', () => {
    const prompt = 'a'.repeat(100_000);
    const lines = captionLines(prompt, 512, 512);
    expect(lines).toEqual([`${'A'.repeat(24)}...`]);
    const img = render(prompt);
    expect([img.width, img.height]).toEqual([512, 512]);
    expect(captionInk(img)).toBe(inkOf(lines, 3));
    expect(describeScene(prompt).figures).toEqual([]);
  });

  it('renders 20,000 capitalised words: as a list every name found once and the first five drawn, as one run no names; the caption cut between words', () => {
    const names = capitalised(20_000);

    // Written as a list, each word is a name: every one found once (a repeat adds nothing), in
    // order, and only the first five drawn.
    const list = `${names.join(', ')}, ${names.slice(0, 1000).join(', ')}`;
    expect(namesIn(list)).toEqual(names);
    expect(describeScene(list).figures.map((f) => f.name)).toEqual(names.slice(0, 5));
    const listLines = captionLines(list, 512, 512);
    expect(listLines).toEqual(['NAMEAAAA, NAMEBAAA,', 'NAMECAAA, NAMEDAAA,...']);
    expect(layoutProblems(list, listLines, 27, 2)).toEqual([]);
    expect(captionInk(render(list))).toBe(inkOf(listLines, 3));

    // Written as one unpunctuated run, the words are title-case text, not names: the name reader
    // (src/offline/names.ts) takes at most three capitalised words as a name, four with a title,
    // and none from a run longer than eight. No figure is drawn, and the caption is unchanged.
    const run = names.join(' ');
    expect(namesIn(run)).toEqual([]);
    expect(describeScene(run).figures).toEqual([]);
    const lines = captionLines(run, 512, 512);
    expect(lines).toEqual(['NAMEAAAA NAMEBAAA NAMECAAA', 'NAMEDAAA NAMEEAAA...']);
    expect(layoutProblems(run, lines, 27, 2)).toEqual([]);
    const img = render(run);
    expect(captionInk(img)).toBe(inkOf(lines, 3));

    // As sentence openers, with every other name also written in lower case somewhere: a word
    // seen in lower case is an ordinary word that opens a sentence, not a name.
    const sentences = `${names.join('. ')}. ${names.filter((_, k) => k % 2 === 1).map((n) => n.toLowerCase()).join(' ')}`;
    expect(namesIn(sentences)).toEqual(names.filter((_, k) => k % 2 === 0));
    expect(describeScene(sentences).figures.map((f) => f.name)).toEqual(names.filter((_, k) => k % 2 === 0).slice(0, 5));
    expect(captionLines(sentences, 512, 512)).toEqual(['NAMEAAAA. NAMEBAAA.', 'NAMECAAA. NAMEDAAA....']);
  });

  it('renders 50,000 punctuation marks, as one run and as many short words', () => {
    const run = '.,;:!?"\'()[]-'.repeat(3847).slice(0, 50_000);
    const deep = `${'('.repeat(25_000)}${')'.repeat(25_000)}`;
    const spaced = '!? '.repeat(16_667);
    expect(captionLines(run, 512, 512)).toEqual([`${fontText(run.slice(0, 24))}...`]);
    expect(captionLines(deep, 512, 512)).toEqual([`${'('.repeat(24)}...`]);
    expect(captionLines(spaced, 512, 512)).toEqual([Array(9).fill('!?').join(' '), `${Array(8).fill('!?').join(' ')}...`]);
    for (const prompt of [run, deep, spaced]) {
      const lines = captionLines(prompt, 512, 512);
      expect(layoutProblems(prompt, lines, 27, 2)).toEqual([]);
      expect(describeScene(prompt).figures).toEqual([]);
      expect(captionInk(render(prompt))).toBe(inkOf(lines, 3));
    }
  });

  it('handles long whitespace runs, long capitalised words and deep quote runs before a name', () => {
    expect(namesIn(`${' '.repeat(99_990)}Lina`)).toEqual(['Lina']);
    expect(namesIn(`${'"'.repeat(50_000)}Lina`)).toEqual(['Lina']);
    // A capitalised word of 100,000 letters is not a plausible name: the name reader takes words
    // of at most 30 characters into a name (about the longest real surnames, such as the
    // 30-letter "Wolfeschlegelsteinhausenberger", which still is one). So no name, no figure
    // labelled with it, and the caption shows the word shortened and marked.
    const long = `A${'a'.repeat(99_999)}`;
    expect(namesIn(long)).toEqual([]);
    expect(describeScene(long).figures).toEqual([]);
    expect(captionLines(long, 512, 512)).toEqual([`${'A'.repeat(24)}...`]);
    expect(namesIn(`A${'a'.repeat(99_990)}1`)).toEqual([]);
    expect(namesIn('Hubert Wolfeschlegelsteinhausenberger waved.')).toEqual(['Hubert Wolfeschlegelsteinhausenberger']);
    expect(captionLines(`${' '.repeat(99_990)}Lina`, 512, 512)).toEqual(['LINA']);
  });
});
