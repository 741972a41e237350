/**
 * The escaping helper every user-text regular expression goes through, and the offline writer
 * that used to build `new RegExp(`\\b${name}\\b`)` from speaker names (a 500 for `Mr (Bob`).
 */
import fc from 'fast-check';
import { segmentResultSchema, type SegmentRequest } from '../src/core/schemas';
import { escapeRegExp, fallbackEscapeRegExp, wholeWordPattern } from '../src/core/regex';
import { OfflineStoryWriter } from '../src/offline/writer';

type Escape = (text: string) => string;
const builtin = (RegExp as RegExpConstructor & { escape?: Escape }).escape;

/** Strings rich in regular-expression syntax, next to letters, digits, spaces and astral characters. */
const META = [...'\\^$.*+?()[]{}|-/', 'a', 'B', '0', '_', ' ', '\n', 'é', 'ë', '\u0308', '😀', ',', '=', '#', '&', ':', '<', '>', '\'', '"', '`', '~', '!'];
const tricky = fc.string({ unit: fc.constantFrom(...META), maxLength: 24 });
/** Any UTF-16, lone surrogates included. */
const anyText = fc.oneof(tricky, fc.string({ unit: 'binary', maxLength: 24 }), fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 24 }));
/** The same, without lone surrogates (the `u` flag reads code points, `indexOf` code units). */
const wellFormed = fc.oneof(tricky, fc.string({ unit: 'binary', maxLength: 24 }));
/** A request that names `w`. */
const text0 = (w: string) => `give this line to ${w} please`;

describe.each([
  ['escapeRegExp', escapeRegExp],
  ['the fallback without RegExp.escape', fallbackEscapeRegExp],
])('%s', (_name, escape) => {
  it('round-trips any string: the pattern matches the string itself, with or without u/i', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        for (const flags of ['', 'u', 'i', 'iu', 'v']) {
          expect(new RegExp(escape(s), flags).test(s)).toBe(true);
          expect(new RegExp(`^(?:${escape(s)})$`, flags).test(s)).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('matches only the literal: never another string, and inside a text exactly at its first occurrence', () => {
    fc.assert(
      fc.property(anyText, anyText, (s, t) => {
        expect(new RegExp(`^(?:${escape(s)})$`).test(t)).toBe(s === t);
        expect(new RegExp(`^(?:${escape(s)})$`, 'u').test(t)).toBe(s === t);
      }),
      { numRuns: 400 },
    );
    fc.assert(
      fc.property(wellFormed, wellFormed, wellFormed, (before, s, after) => {
        const text = `${before}${s}${after}`;
        const m = new RegExp(escape(s)).exec(text);
        expect(m?.[0]).toBe(s);
        expect(m?.index).toBe(text.indexOf(s));
        // Read as a pattern, the metacharacters would have matched here; escaped, they do not.
        if (/[.*+?()[\]{}|^$\\]/.test(s)) expect(new RegExp(`^(?:${escape(s)})$`).test(s.replace(/[.*+?()[\]{}|^$\\]/g, 'a'))).toBe(false);
      }),
      { numRuns: 400 },
    );
  });

  it('escapes the cases that used to throw or backtrack', () => {
    expect(() => new RegExp(`\\b${'Mr (Bob'}\\b`)).toThrow(SyntaxError); // the bug
    expect(new RegExp(escape('Mr (Bob')).test('tell Mr (Bob')).toBe(true);
    expect(new RegExp(`^${escape('(a+)+b')}$`).test('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab')).toBe(false);
    expect(new RegExp(`^${escape('a-b/c')}$`, 'u').test('a-b/c')).toBe(true);
    expect(new RegExp(`^${escape('$5 \\ back')}$`).test('$5 \\ back')).toBe(true);
  });
});

describe('escapeRegExp', () => {
  (builtin ? it : it.skip)('is RegExp.escape where the runtime has it (Node 24)', () => {
    fc.assert(fc.property(anyText, (s) => expect(escapeRegExp(s)).toBe(builtin?.(s))));
  });

  it('falls back to its own escaping where RegExp.escape is missing (Node 20)', () => {
    const saved = Object.getOwnPropertyDescriptor(RegExp, 'escape');
    Reflect.deleteProperty(RegExp, 'escape');
    try {
      jest.isolateModules(() => {
        // A fresh copy of the module, loaded while the runtime has no RegExp.escape.
        const fresh = require('../src/core/regex') as typeof import('../src/core/regex');
        expect(fresh.escapeRegExp('Mr (Bob-1/x')).toBe('Mr \\(Bob\\x2d1\\/x');
        expect(fresh.wholeWordPattern('(a+)+b').test('to (a+)+b!')).toBe(true);
      });
    } finally {
      if (saved) Object.defineProperty(RegExp, 'escape', saved);
    }
  });
});

describe('wholeWordPattern', () => {
  const matches = (word: string, text: string, flags?: string) => wholeWordPattern(word, flags).test(text);

  it('matches words that start or end with punctuation, where \\b never matches', () => {
    expect(matches('Bob(', 'I saw Bob( today')).toBe(true);
    expect(matches('Bob(', 'Bob(')).toBe(true);
    expect(matches('Bob(', 'Bob(x')).toBe(false);
    expect(matches('Bob(', 'xBob(')).toBe(false);
    expect(matches('Bob(', 'Bob')).toBe(false);
    expect(new RegExp(`\\b${escapeRegExp('Bob(')}\\b`).test('I saw Bob( today')).toBe(false); // why not \b

    expect(matches('(a+)+b', 'give it to (a+)+b.')).toBe(true);
    expect(matches('(a+)+b', 'aab')).toBe(false);
    expect(matches('(a+)+b', '(a+)+bc')).toBe(false);
    expect(matches('(a+)+b', `${'a'.repeat(40)}c`)).toBe(false); // a literal: no catastrophic backtracking

    expect(matches('Mr (Bob', 'let Mr (Bob speak')).toBe(true);
    expect(matches('Mr (Bob', 'let mr (bob speak', 'i')).toBe(true);
    expect(matches('Mr (Bob', 'let mr (bob speak')).toBe(false);
    expect(matches('Mr (Bob', 'Mr (Bobby')).toBe(false);
  });

  it('treats letters of every script as word characters', () => {
    expect(matches('Zoë', 'ask Zoë now')).toBe(true);
    expect(matches('Zoë', 'ask ZOË now', 'i')).toBe(true);
    expect(matches('Zoë', 'Zoëlle')).toBe(false);
    expect(matches('Zoë', 'Zoe')).toBe(false);
    expect(matches('Zo', 'Zoë')).toBe(false);
    expect(/\bZo\b/.test('Zoë')).toBe(true); // what \b did
    expect(matches('Zoe', 'Zoe\u0308')).toBe(false); // ë written as e + combining diaeresis
    expect(matches('Kofi', 'Kofi2')).toBe(false);
    expect(matches('Kofi', 'Kofi_')).toBe(false);
    expect(matches('Kofi', 'Kofi-san')).toBe(true);
  });

  it('matches names with $ and \\ literally', () => {
    expect(matches('Ca$h', 'pay Ca$h now')).toBe(true);
    expect(matches('Ca$h', 'pay Cah now')).toBe(false);
    expect(matches('$$', 'a $$ b')).toBe(true);
    expect(matches('$&', 'it is $& here')).toBe(true);
    expect(matches('Back\\slash', 'ask Back\\slash')).toBe(true);
    expect(matches('Back\\slash', 'ask Backslash')).toBe(false);
    expect(matches('\\d+', 'a 123 b')).toBe(false);
    expect(matches('\\d+', 'a \\d+ b')).toBe(true);
  });

  it('a blank word matches nothing', () => {
    expect(matches('', 'anything at all')).toBe(false);
    expect(matches('  ', 'a  b')).toBe(false);
  });

  it('honours the flags it is given', () => {
    expect('Bob( and bob( and Bob(x'.match(wholeWordPattern('Bob(', 'gi'))).toEqual(['Bob(', 'bob(']);
    expect(wholeWordPattern('x', 'i').flags).toBe('iu');
    expect(wholeWordPattern('x', 'v').flags).toBe('v');
  });

  it('never throws, and finds any word standing between spaces or at the ends of the text', () => {
    fc.assert(
      fc.property(anyText.filter((w) => w.trim() !== ''), (w) => {
        for (const text of [w, ` ${w} `, `say ${w}.`, `(${w})`]) expect(matches(w, text)).toBe(true);
        expect(matches(w, text0(w), 'i')).toBe(true);
      }),
      { numRuns: 400 },
    );
    // A word of word characters only is never found inside a longer word.
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'Z', 'é', 'ß', 'Ω', '中', '7', '_'), minLength: 1, maxLength: 12 }), fc.constantFrom('x', 'é', '7', '_'), (w, c) => {
        expect(matches(w, `${c}${w}`)).toBe(false);
        expect(matches(w, `${w}${c}`)).toBe(false);
      }),
    );
  });
});

describe('offline writer: speaker names are text, not patterns', () => {
  const writer = new OfflineStoryWriter();
  const speakers = ['Narrator', 'Mr (Bob', '(a+)+b', 'Zoë'];
  const request = (user_request: string, speaker: string): SegmentRequest => ({
    genre: 'fantasy',
    reading_level: 'grade 3',
    tone: 'warm',
    user_request,
    original_story_segments: [
      { segment_num: 1, segment_content: 'The lantern flickered.', speaker: 'Narrator' },
      { segment_num: 2, segment_content: 'Who goes there? It is late.', speaker },
    ],
    original_story_segment_num: 2,
    original_story_segment: { segment_num: 2, segment_content: 'Who goes there? It is late.', speaker },
  });
  const regenerate = (user_request: string, speaker: string, names = speakers) =>
    segmentResultSchema.parse(writer.write({ kind: 'segment', input: request(user_request, speaker), speakers: names }, 'job-regex')).new_story_segment;

  it('returns a segment for names full of regex syntax, and picks the one the request names', () => {
    expect(regenerate('give this line to (a+)+b', 'Mr (Bob')).toMatchObject({ segment_num: 2, speaker: '(a+)+b' });
    expect(regenerate('let Mr (Bob say it instead', '(a+)+b')).toMatchObject({ segment_num: 2, speaker: 'Mr (Bob' });
    expect(regenerate('let mr (bob say it', '(a+)+b').speaker).toBe('Mr (Bob');
    expect(regenerate('zoë should say this', 'Mr (Bob').speaker).toBe('Zoë');
    // Named by no one (or only inside a longer word): the original speaker stays.
    expect(regenerate('add falling snow', 'Mr (Bob')).toMatchObject({ segment_num: 2, speaker: 'Mr (Bob' });
    expect(regenerate('give it to Mr (Bobby', '(a+)+b').speaker).toBe('(a+)+b');
    expect(regenerate(`${'a'.repeat(40)}c`, 'Mr (Bob').speaker).toBe('Mr (Bob');
  });

  it('never throws for any speaker name, and a named speaker is picked', () => {
    fc.assert(
      fc.property(
        anyText.filter((n) => n.trim() !== '' && n !== 'Mira' && !wholeWordPattern('Narrator', 'i').test(n) && !wholeWordPattern(n, 'i').test('add more rain')),
        (name) => {
          const names = ['Narrator', 'Mira', name];
          expect(() => regenerate('add more rain', name, names)).not.toThrow();
          expect(regenerate('add more rain', 'Mira', names).speaker).toBe('Mira');
          expect(regenerate(text0(name), 'Mira', names).speaker).toBe(name);
        },
      ),
      { numRuns: 300 },
    );
  });
});
