import fc from 'fast-check';
import { MAX_TRACKED_DEPTH } from '../src/core/prose-stream';
import { MAX_SECTION_CHARS, SectionStream, type SectionEvent } from '../src/core/section-stream';
import { asciiJson, split } from './support/json';

/** Feeds `pieces` in order and returns every section, plus the sections of each push. */
function run(pieces: readonly string[], stream?: (emit: (s: SectionEvent) => void) => SectionStream): { sections: SectionEvent[]; perPush: SectionEvent[][] } {
  const sections: SectionEvent[] = [];
  const perPush: SectionEvent[][] = [];
  const s = stream ? stream((e) => sections.push(e)) : new SectionStream((e) => sections.push(e));
  for (const p of pieces) {
    const before = sections.length;
    s.push(p);
    perPush.push(sections.slice(before));
  }
  return { sections, perPush };
}

const seg = (segment_num: number, segment_content: string, speaker = 'Narrator') => ({ segment_num, segment_content, speaker });

const STORY = {
  speaker_names: ['Narrator', 'Mira'],
  story_parts: [
    {
      story_part: 'beginning',
      sections: [
        { section_num: 1, segments: [seg(1, 'Once upon a time, Mira found a map — "old" and torn.\nShe smiled. 😀'), seg(2, 'Where does {it} lead? [x]', 'Mira')] },
        { section_num: 2, segments: [seg(3, 'A back\\slash, a tab\t and a slash /.')] },
      ],
    },
    { story_part: 'middle', sections: [{ section_num: 3, segments: [seg(4, 'They walked to the café. 𝄞 ✨')] }] },
    { sections: [{ section_num: 4, segments: [seg(5, 'The end.')] }], story_part: 'end' },
  ],
};
const STORY_JSON = JSON.stringify(STORY);
const EXPECTED: SectionEvent[] = [
  { section: 1, storyPart: 'beginning', raw: STORY.story_parts[0]!.sections[0] },
  { section: 2, storyPart: 'beginning', raw: STORY.story_parts[0]!.sections[1] },
  { section: 3, storyPart: 'middle', raw: STORY.story_parts[1]!.sections[0] },
  // story_part comes after the sections in this part: not known yet when the section closes.
  { section: 4, storyPart: '', raw: STORY.story_parts[2]!.sections[0] },
];

describe('SectionStream on a story document', () => {
  it('emits each section once, in order, with its ordinal across parts and its part', () => {
    expect(run([STORY_JSON]).sections).toEqual(EXPECTED);
  });

  it('emits each section as soon as its closing brace arrives, not before', () => {
    const firstEnd = STORY_JSON.indexOf('}]}', STORY_JSON.indexOf('section_num":1')) + 3; // after section 1's last segment, its array and itself
    const { perPush } = run([STORY_JSON.slice(0, firstEnd - 1), STORY_JSON.slice(firstEnd - 1, firstEnd), STORY_JSON.slice(firstEnd)]);
    expect(perPush).toEqual([[], [EXPECTED[0]], EXPECTED.slice(1)]);
  });

  it('emits the same sections when the document is split at any one position', () => {
    for (const doc of [STORY_JSON, asciiJson(STORY_JSON)]) {
      for (let cut = 0; cut <= doc.length; cut++) {
        expect(run([doc.slice(0, cut), doc.slice(cut)]).sections).toEqual(EXPECTED);
      }
    }
  });

  it('emits the same sections one character (one UTF-16 unit) at a time: escapes and surrogate pairs split', () => {
    for (const doc of [STORY_JSON, asciiJson(STORY_JSON), JSON.stringify(STORY, null, 2)]) {
      expect(run(doc.split('')).sections).toEqual(EXPECTED);
    }
  });

  it('emits the same sections however the document is split', () => {
    fc.assert(
      fc.property(fc.constantFrom(STORY_JSON, JSON.stringify(STORY, null, 2), asciiJson(STORY_JSON)), fc.array(fc.nat(), { maxLength: 80 }), (doc, cuts) => {
        expect(run(split(doc, cuts)).sections).toEqual(EXPECTED);
      }),
    );
  });

  it('decodes escaped keys and part names as JSON.parse does', () => {
    const doc = '{"story\\u005fparts":[{"story_part":"caf\\u00e9 \\"one\\" \\ud83d\\ude00","sect\\u0069ons":[{"segments":[{"segment_content":"\\\\\\/\\n"}]}]}]}';
    const parsed = JSON.parse(doc) as { story_parts: Array<{ story_part: string; sections: unknown[] }> };
    const expected = [{ section: 1, storyPart: parsed.story_parts[0]!.story_part, raw: parsed.story_parts[0]!.sections[0] }];
    expect(parsed.story_parts[0]!.story_part).toBe('café "one" 😀');
    for (let cut = 0; cut <= doc.length; cut++) expect(run([doc.slice(0, cut), doc.slice(cut)]).sections).toEqual(expected);
  });

  it('keeps lone surrogates inside a section as JSON.parse does', () => {
    const doc = '{"story_parts":[{"sections":[{"s":"a\\ud83d b \uDE00 c \uD83D"}]}]}';
    const expected = [{ section: 1, storyPart: '', raw: (JSON.parse(doc) as { story_parts: Array<{ sections: unknown[] }> }).story_parts[0]!.sections[0] }];
    expect(run(doc.split('')).sections).toEqual(expected);
  });
});

describe('SectionStream structure', () => {
  it('emits only element objects of story_parts[i].sections: not other arrays named sections, nor non-objects', () => {
    const doc = JSON.stringify({
      sections: [{ a: 1 }],
      other: { story_parts: [{ sections: [{ b: 2 }] }] },
      story_parts: [{ story_part: 'p', meta: { sections: [{ c: 3 }] }, sections: [1, 'two', [3], { d: 4 }, null, { e: 5 }] }, 'not a part', [{ sections: [{ f: 6 }] }]],
    });
    expect(run([doc]).sections).toEqual([
      { section: 1, storyPart: 'p', raw: { d: 4 } },
      { section: 2, storyPart: 'p', raw: { e: 5 } },
    ]);
  });

  it('takes the last story_part before the section, and a part name that is not a string as unknown', () => {
    const doc = '{"story_parts":[{"story_part":"a","story_part":"b","sections":[{"n":1}],"story_part":"c","sections":[{"n":2}]},{"story_part":7,"sections":[{"n":3}]}]}';
    expect(run([doc]).sections).toEqual([
      { section: 1, storyPart: 'b', raw: { n: 1 } },
      { section: 2, storyPart: 'c', raw: { n: 2 } },
      { section: 3, storyPart: '', raw: { n: 3 } },
    ]);
  });

  it('scans only the first JSON value', () => {
    const part = '{"story_parts":[{"sections":[{"n":1}]}]}';
    expect(run([part + part]).sections).toEqual([{ section: 1, storyPart: '', raw: { n: 1 } }]);
    expect(run(['"a string" ', part]).sections).toEqual([]);
    expect(run(['42 ', part]).sections).toEqual([]);
    expect(run(['[', part, ']']).sections).toEqual([]); // a root array is not a story
  });

  it('skips a section whose text does not parse, and still counts it', () => {
    const doc = '{"story_parts":[{"sections":[{"n":1,},{"n":2 "m":3},{"n":tru},{\'n\':4},{"n":5}]}]}';
    const { sections } = run([doc]);
    expect(sections.map((s) => [s.section, s.raw])).toEqual([[5, { n: 5 }]]);
  });

  it('skips a section longer than the cap, still counts it, and emits the next one', () => {
    const big = 'x'.repeat(MAX_SECTION_CHARS);
    const doc = `{"story_parts":[{"story_part":"p","sections":[{"n":1,"t":"${big}"},{"n":2}]}]}`;
    const expected = [{ section: 2, storyPart: 'p', raw: { n: 2 } }];
    expect(run([doc]).sections).toEqual(expected);
    expect(run(split(doc, [10, 60, 5000, 100_000, MAX_SECTION_CHARS, MAX_SECTION_CHARS + 40])).sections).toEqual(expected);
    // Just under the cap is kept.
    const fits = 'y'.repeat(MAX_SECTION_CHARS - '{"t":""}'.length);
    const ok = `{"story_parts":[{"sections":[{"t":"${fits}"}]}]}`;
    expect(run(split(ok, [40, 70_000])).sections.map((s) => (s.raw as { t: string }).t.length)).toEqual([fits.length]);
  });

  it('follows nesting deeper than it tracks without losing its place', () => {
    const deep = '['.repeat(MAX_TRACKED_DEPTH * 2) + '"]}"' + ']'.repeat(MAX_TRACKED_DEPTH * 2);
    const doc = `{"story_parts":[{"sections":[{"deep":${deep}},{"n":2}]}]}`;
    const { sections } = run(doc.split(''));
    expect(sections.map((s) => s.section)).toEqual([1, 2]);
    expect(sections[0]!.raw).toEqual(JSON.parse(`{"deep":${deep}}`));
  });

  it('reset starts a new document: ordinals and part names start again', () => {
    const sections: SectionEvent[] = [];
    const stream = new SectionStream((e) => sections.push(e));
    stream.push(STORY_JSON.slice(0, STORY_JSON.indexOf('"middle"'))); // the first part, and into the second
    expect(sections.map((s) => s.section)).toEqual([1, 2]);
    stream.reset();
    for (const piece of split(STORY_JSON, [7, 99, 150])) stream.push(piece);
    expect(sections.slice(2)).toEqual(EXPECTED);
  });
});

describe('SectionStream never throws', () => {
  it('on any input, split anywhere', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', '\\', ':', ',', 'a', 'u', '0', ' ', 'story_parts', 'sections', 'story_part', '\uD83D', '\uDE00') }), { maxLength: 30 }), (pieces) => {
        expect(() => run(pieces)).not.toThrow();
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { maxLength: 20 }), (pieces) => {
        expect(() => run(pieces)).not.toThrow();
      }),
    );
  });

  it('emits only sections that parse, from a story cut off or garbled anywhere', () => {
    fc.assert(
      fc.property(fc.nat(STORY_JSON.length), fc.nat(STORY_JSON.length), fc.string({ maxLength: 3 }), (at, cut, junk) => {
        const doc = STORY_JSON.slice(0, at) + junk + STORY_JSON.slice(at);
        const { sections } = run(split(doc, [cut]));
        for (const s of sections) expect(typeof s.raw).toBe('object');
      }),
    );
  });

  it('ignores pushes that are not strings', () => {
    const sections: SectionEvent[] = [];
    const stream = new SectionStream((e) => sections.push(e));
    stream.push(undefined as unknown as string);
    stream.push(42 as unknown as string);
    stream.push(STORY_JSON);
    expect(sections).toEqual(EXPECTED);
  });

  it("propagates emit's exception after consuming the fragment; later pushes carry on", () => {
    const seen: number[] = [];
    const stream = new SectionStream((e) => {
      seen.push(e.section);
      if (e.section === 1) throw new Error('listener failed');
    });
    const cut = STORY_JSON.indexOf('"middle"');
    expect(() => stream.push(STORY_JSON.slice(0, cut))).toThrow('listener failed');
    stream.push(STORY_JSON.slice(cut));
    expect(seen).toEqual([1, 3, 4]); // section 2 came in the same fragment as the failing one
  });
});
