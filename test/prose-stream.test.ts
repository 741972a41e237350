import fc from 'fast-check';
import { MAX_KEY_LENGTH, MAX_TRACKED_DEPTH, ProseStream, type ProseDelta } from '../src/core/prose-stream';
import { asciiJson, split } from './support/json';

const FIELDS = ['segment_content', 'story_part_summary'] as const;

/** Feeds `pieces` in order and returns every delta, plus the deltas of each push. */
function run(pieces: readonly string[], fields: readonly string[] = FIELDS): { deltas: ProseDelta[]; perPush: ProseDelta[][] } {
  const deltas: ProseDelta[] = [];
  const perPush: ProseDelta[][] = [];
  const stream = new ProseStream(fields, (d) => deltas.push(d));
  for (const p of pieces) {
    const before = deltas.length;
    stream.push(p);
    perPush.push(deltas.slice(before));
  }
  return { deltas, perPush };
}

/** Concatenated text per `field#ordinal`. */
function joined(deltas: readonly ProseDelta[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of deltas) out.set(`${d.field}#${d.ordinal}`, (out.get(`${d.field}#${d.ordinal}`) ?? '') + d.text);
  return out;
}

const chars = (text: string): string[] => text.split('');

/** Lone surrogates replaced by U+FFFD (String.prototype.toWellFormed, which lib ES2023 lacks). */
function wellFormed(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += s[i]! + s[i + 1]!;
        i++;
      } else out += '\uFFFD';
    } else if (c >= 0xdc00 && c <= 0xdfff) out += '\uFFFD';
    else out += s[i]!;
  }
  return out;
}

function expectWellFormedDeltas(deltas: readonly ProseDelta[]): void {
  for (const d of deltas) {
    expect(d.text).not.toBe('');
    expect(wellFormed(d.text)).toBe(d.text);
  }
}

const STORY = {
  story_parts: [
    {
      story_part: 'beginning',
      story_part_summary: 'Mira finds a map.',
      sections: [
        {
          section_num: 1,
          segments: [
            { segment_num: 1, segment_content: 'Once upon a time, Mira found a map — "old" and torn.\nShe smiled. 😀', speaker: 'Narrator' },
            { segment_num: 2, segment_content: 'Where does it lead?', speaker: 'Mira' },
          ],
        },
      ],
    },
    {
      story_part: 'middle',
      story_part_summary: 'The map leads to a café.',
      sections: [{ section_num: 2, segments: [{ segment_num: 3, segment_content: 'They walked to the café\\back door.', speaker: 'Narrator' }] }],
    },
  ],
};
const STORY_JSON = JSON.stringify(STORY);
const STORY_EXPECTED = new Map([
  ['story_part_summary#1', 'Mira finds a map.'],
  ['segment_content#1', 'Once upon a time, Mira found a map — "old" and torn.\nShe smiled. 😀'],
  ['segment_content#2', 'Where does it lead?'],
  ['story_part_summary#2', 'The map leads to a café.'],
  ['segment_content#3', 'They walked to the café\\back door.'],
]);

describe('ProseStream on a story document', () => {
  it('emits each prose field once, in document order, when fed whole', () => {
    const { deltas } = run([STORY_JSON]);
    expect(deltas).toEqual([
      { field: 'story_part_summary', text: 'Mira finds a map.', ordinal: 1 },
      { field: 'segment_content', text: 'Once upon a time, Mira found a map — "old" and torn.\nShe smiled. 😀', ordinal: 1 },
      { field: 'segment_content', text: 'Where does it lead?', ordinal: 2 },
      { field: 'story_part_summary', text: 'The map leads to a café.', ordinal: 2 },
      { field: 'segment_content', text: 'They walked to the café\\back door.', ordinal: 3 },
    ]);
  });

  it('emits the same prose when fed one character at a time, never re-emitting', () => {
    const { deltas, perPush } = run(chars(STORY_JSON));
    expect(joined(deltas)).toEqual(STORY_EXPECTED);
    expectWellFormedDeltas(deltas);
    // At most one delta per push here, and one character (or one whole escape / pair) at a time.
    for (const p of perPush) expect(p.length).toBeLessThanOrEqual(1);
    expect(deltas.map((d) => d.text).join('')).toBe([...STORY_EXPECTED.values()].join(''));
  });

  it('emits exactly the newly decoded text of each push', () => {
    const { perPush } = run(['{"segment_content":"Hel', 'lo', ' wor', 'ld"', ',"speaker":"Mira"}']);
    expect(perPush.map((p) => p.map((d) => d.text))).toEqual([['Hel'], ['lo'], [' wor'], ['ld'], []]);
  });

  it('emits one delta per prose string when a push spans several', () => {
    const { perPush } = run(['{"segment_content":"a', 'b","story_part_summary":"c","segment_content":"d', 'e"}']);
    expect(perPush).toEqual([
      [{ field: 'segment_content', text: 'a', ordinal: 1 }],
      [
        { field: 'segment_content', text: 'b', ordinal: 1 },
        { field: 'story_part_summary', text: 'c', ordinal: 1 },
        { field: 'segment_content', text: 'd', ordinal: 2 },
      ],
      [{ field: 'segment_content', text: 'e', ordinal: 2 }],
    ]);
  });

  it('emits the same prose however the document is split', () => {
    const pretty = JSON.stringify(STORY, null, 2);
    fc.assert(
      fc.property(fc.constantFrom(STORY_JSON, pretty, asciiJson(STORY_JSON)), fc.array(fc.nat(), { maxLength: 60 }), (doc, cuts) => {
        const { deltas } = run(split(doc, cuts));
        expect(joined(deltas)).toEqual(STORY_EXPECTED);
        expectWellFormedDeltas(deltas);
      }),
    );
  });

  it('emits only the requested fields', () => {
    const { deltas } = run([STORY_JSON], ['speaker']);
    expect(deltas.map((d) => `${d.ordinal}:${d.text}`)).toEqual(['1:Narrator', '2:Mira', '3:Narrator']);
    expect(run([STORY_JSON], [])).toEqual({ deltas: [], perPush: [[]] });
  });
});

describe('ProseStream escapes', () => {
  it('decodes every JSON escape, split anywhere inside it', () => {
    const doc = '{"segment_content":"a\\nb\\tc\\"d\\\\e\\/f\\bg\\fh\\ri\\u00e9j\\u00E9k"}';
    const expected = 'a\nb\tc"d\\e/f\bg\fh\ri\u00e9j\u00e9k';
    expect(JSON.parse(doc)).toEqual({ segment_content: expected });
    for (let cut = 0; cut <= doc.length; cut++) {
      for (const pieces of [[doc.slice(0, cut), doc.slice(cut)], chars(doc)]) {
        const { deltas } = run(pieces);
        expect(deltas.map((d) => d.text).join('')).toBe(expected);
        expect(deltas.every((d) => d.ordinal === 1 && d.field === 'segment_content')).toBe(true);
      }
    }
  });

  it('holds an incomplete escape until it is complete', () => {
    const { perPush } = run(['{"segment_content":"caf\\', 'u00', 'e', '9!"}']);
    expect(perPush.map((p) => p.map((d) => d.text))).toEqual([['caf'], [], [], ['é!']]);
  });

  it('emits an escaped surrogate pair whole, even split between fragments', () => {
    const { perPush } = run(['{"segment_content":"hi \\ud83d', '\\ude00', ' there"}']);
    expect(perPush.map((p) => p.map((d) => d.text))).toEqual([['hi '], ['😀'], [' there']]);
    const pair = '{"segment_content":"\\uD83D\\uDE00"}';
    for (let cut = 0; cut <= pair.length; cut++) {
      const { deltas } = run([pair.slice(0, cut), pair.slice(cut)]);
      expect(deltas.map((d) => d.text)).toEqual(['😀']);
    }
  });

  it('emits a raw surrogate pair whole when the fragment boundary splits it', () => {
    const { perPush } = run(['{"segment_content":"x\uD83D', '\uDE00y"}']);
    expect(perPush.map((p) => p.map((d) => d.text))).toEqual([['x'], ['😀y']]);
  });

  it('pairs an escaped high surrogate with a raw low one, as JSON.parse does', () => {
    const doc = '{"segment_content":"\\ud83d\uDE00"}';
    expect(JSON.parse(doc)).toEqual({ segment_content: '😀' });
    expect(run(chars(doc)).deltas.map((d) => d.text).join('')).toBe('😀');
  });

  it('replaces unpaired surrogates with U+FFFD', () => {
    const cases: [string, string][] = [
      ['"\\ud83d x"', '\uFFFD x'],
      ['"\\ude00x"', '\uFFFDx'],
      ['"a\\ud83d"', 'a\uFFFD'],
      ['"\\ud83d\\n"', '\uFFFD\n'],
      ['"\\ud83d\\ud83d\\ude00"', '\uFFFD😀'],
      ['"\uD83Dx"', '\uFFFDx'],
      ['"\uDE00x"', '\uFFFDx'],
      ['"\uD83D"', '\uFFFD'],
    ];
    for (const [value, expected] of cases) {
      const doc = `{"segment_content":${value}}`;
      for (const pieces of [[doc], chars(doc)]) {
        const { deltas } = run(pieces);
        expect(deltas.map((d) => d.text).join('')).toBe(expected);
        expectWellFormedDeltas(deltas);
      }
    }
  });

  it('never emits a held high surrogate before its pair arrives', () => {
    const { perPush } = run(['{"segment_content":"\\ud83d', '', '\\u', 'de00"}']);
    expect(perPush.map((p) => p.map((d) => d.text))).toEqual([[], [], [], ['😀']]);
  });
});

describe('ProseStream keys and values', () => {
  it('emits nothing for a prose key whose value is not a string, but counts it', () => {
    const doc = '{"segment_content":null,"segment_content":12.5e3,"segment_content":{"a":"b"},"segment_content":["x","y"],"segment_content":true,"segment_content":"real"}';
    for (const pieces of [[doc], chars(doc)]) {
      expect(joined(run(pieces).deltas)).toEqual(new Map([['segment_content#6', 'real']]));
    }
  });

  it('finds prose keys at any depth, including inside a prose key’s object value', () => {
    const doc = '[{"a":{"b":[{"segment_content":{"segment_content":"inner"}}]}},{"segment_content":"outer"}]';
    expect(run([doc]).deltas).toEqual([
      { field: 'segment_content', text: 'inner', ordinal: 2 },
      { field: 'segment_content', text: 'outer', ordinal: 3 },
    ]);
  });

  it('matches keys exactly, not keys that merely contain a field name', () => {
    const doc = '{"xsegment_content":"1","segment_contentx":"2","Segment_content":"3","segment content":"4","story_part":"5","a":"segment_content","list":["segment_content","6"],"segment_content":"yes"}';
    for (const pieces of [[doc], chars(doc)]) {
      expect(joined(run(pieces).deltas)).toEqual(new Map([['segment_content#1', 'yes']]));
    }
  });

  it('matches a key split across fragments or written with escapes', () => {
    expect(run(['{"segm', 'ent_con', 'tent":"hi"}']).deltas).toEqual([{ field: 'segment_content', text: 'hi', ordinal: 1 }]);
    expect(run(['{"segment\\u005', 'fcontent":"hi"}']).deltas).toEqual([{ field: 'segment_content', text: 'hi', ordinal: 1 }]);
  });

  it('does not emit an empty string value, but counts it', () => {
    expect(run(['{"segment_content":"","segment_content":"b"}']).deltas).toEqual([{ field: 'segment_content', text: 'b', ordinal: 2 }]);
  });

  it('never matches a key longer than the cap, even if its start is a field name', () => {
    const field = 'f'.repeat(MAX_KEY_LENGTH);
    const doc = `{"${field}g":"too long","${field}":"exact","${'k'.repeat(200_000)}":"huge","${field}":"again"}`;
    expect(run(split(doc, [5, 70, 100, 1000, 150_000]), [field]).deltas).toEqual([
      { field, text: 'exact', ordinal: 1 },
      { field, text: 'again', ordinal: 2 },
    ]);
  });
});

describe('ProseStream robustness', () => {
  it('emits the text of a document that never ends', () => {
    expect(run(['{"story_parts":[{"segment_content":"Once', ' upon']).deltas.map((d) => d.text)).toEqual(['Once', ' upon']);
  });

  it('ignores text after the document', () => {
    const { deltas } = run(['{"segment_content":"a"}  {"segment_content":"b"}', '"segment_content":"c"']);
    expect(deltas).toEqual([{ field: 'segment_content', text: 'a', ordinal: 1 }]);
    expect(run(['"top-level string" {"segment_content":"b"}']).deltas).toEqual([]);
  });

  it('skips containers deeper than the tracked depth and recovers after them', () => {
    const wrap = (n: number, inner: string) => '['.repeat(n) + inner + ']'.repeat(n);
    // MAX_TRACKED_DEPTH - 1 arrays plus the object: the object is at the deepest tracked level.
    expect(run([wrap(MAX_TRACKED_DEPTH - 1, '{"segment_content":"edge"}')]).deltas.map((d) => d.text)).toEqual(['edge']);
    expect(run([wrap(MAX_TRACKED_DEPTH, '{"segment_content":"too deep"}')]).deltas).toEqual([]);

    const deep = `{"a":${wrap(500, '{"segment_content":"deep ]]]}}} \\" [[["}')},"segment_content":"shallow"}`;
    for (const pieces of [[deep], chars(deep)]) {
      expect(joined(run(pieces).deltas)).toEqual(new Map([['segment_content#1', 'shallow']]));
    }
  });

  it('recovers from a broken \\u escape at the closing quote', () => {
    const { deltas } = run(['{"segment_content":"a\\u12","segment_content":"b\\uZZ"}']);
    expect(deltas).toEqual([
      { field: 'segment_content', text: 'a\uFFFD', ordinal: 1 },
      { field: 'segment_content', text: 'b\uFFFDZZ', ordinal: 2 },
    ]);
  });

  it('survives common malformations', () => {
    const docs = [
      '{"segment_content":}',
      '{"segment_content" "x"}',
      '}}}]]]{"segment_content":"after strays"}',
      '{"segment_content":"unterminated',
      '"\\',
      '{"segment_content":"a"]]]]',
      '{,,,:::"segment_content"::"b"}',
      '\uFEFF{"segment_content":"bom"}',
      '{segment_content:"bare"}',
      '',
    ];
    const texts = docs.map((doc) => run(chars(doc)).deltas.map((d) => d.text).join(''));
    expect(texts).toEqual(['', '', 'after strays', 'unterminated', '', 'a', 'b', 'bom', '', '']);
  });

  it('ignores non-string fragments from untyped callers', () => {
    const deltas: ProseDelta[] = [];
    const stream = new ProseStream(FIELDS, (d) => deltas.push(d));
    stream.push('{"segment_content":"a');
    for (const bad of [undefined, null, 42, {}]) stream.push(bad as unknown as string);
    stream.push('b"}');
    expect(deltas.map((d) => d.text).join('')).toBe('ab');
  });

  it('keeps a consistent state when emit throws', () => {
    let calls = 0;
    const texts: string[] = [];
    const stream = new ProseStream(FIELDS, (d) => {
      calls++;
      if (calls === 1) throw new Error('consumer failed');
      texts.push(d.text);
    });
    expect(() => stream.push('{"segment_content":"a","segment_content":"b')).toThrow('consumer failed');
    // The failing push's remaining deltas are dropped; the scanner itself has moved on.
    stream.push('c"}');
    expect(texts).toEqual(['c']);
    expect(calls).toBe(2);
  });

  it('never throws on garbage and only emits well-formed, non-empty text', () => {
    const unit = fc.oneof(
      fc.constantFrom('{', '}', '[', ']', ':', ',', '"', '\\', 'u', 'd', '8', '3', 'e', '0', 'n', 't', ' ', 'segment_content', 'story_part_summary', '"segment_content":"', '\\ud83d', '\\ude00', '\uD83D', '\uDE00'),
      fc.string({ unit: 'binary', maxLength: 3 }),
    );
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 80 }), fc.array(fc.nat(), { maxLength: 20 }), (parts, cuts) => {
        const { deltas } = run(split(parts.join(''), cuts));
        expectWellFormedDeltas(deltas);
        for (const d of deltas) expect(FIELDS).toContain(d.field);
      }),
      { numRuns: 500 },
    );
  });
});

// ---- Property: arbitrary documents, arbitrary splits ----

type Node = { t: 'str'; v: string } | { t: 'lit'; v: string } | { t: 'arr'; items: Node[] } | { t: 'obj'; entries: [string, Node][] };

/** Code units that exercise every decoding path: escapes, controls, BMP, astral, lone surrogates. */
const unitArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('"', '\\', '/', '\n', '\t', '\b', '\f', '\r', '\u0000', '\u001f', ' ', 'é', '—', '😀'),
  fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
);
const textArb = fc.string({ unit: unitArb, maxLength: 30 });
const keyArb = fc.oneof(
  fc.constantFrom(...FIELDS, 'xsegment_content', 'segment_contentx', 'story_part', 'speaker', ''),
  textArb,
);
const { node: nodeArb } = fc.letrec<{ node: Node; arr: Node; obj: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { arbitrary: textArb.map((v): Node => ({ t: 'str', v })), weight: 4 },
    { arbitrary: fc.constantFrom('null', 'true', 'false', '0', '-12.5e+3').map((v): Node => ({ t: 'lit', v })), weight: 1 },
    { arbitrary: tie('arr'), weight: 1 },
    { arbitrary: tie('obj'), weight: 2 },
  ),
  arr: fc.array(tie('node'), { maxLength: 4 }).map((items): Node => ({ t: 'arr', items })),
  obj: fc.array(fc.tuple(keyArb, tie('node')), { maxLength: 5 }).map((entries): Node => ({ t: 'obj', entries })),
}));
const docArb = fc.array(fc.tuple(keyArb, nodeArb), { maxLength: 6 }).map((entries): Node => ({ t: 'obj', entries }));

function serialise(node: Node, ws: string, ascii: boolean): string {
  const str = (s: string) => (ascii ? asciiJson(JSON.stringify(s)) : JSON.stringify(s));
  switch (node.t) {
    case 'str':
      return str(node.v);
    case 'lit':
      return node.v;
    case 'arr':
      return `[${ws}${node.items.map((n) => serialise(n, ws, ascii)).join(`${ws},${ws}`)}${ws}]`;
    case 'obj':
      return `{${ws}${node.entries.map(([k, v]) => `${str(k)}${ws}:${ws}${serialise(v, ws, ascii)}`).join(`${ws},${ws}`)}${ws}}`;
  }
}

/** The expected text per `field#ordinal`, counting every prose key with a value, at tracked depth. */
function expectedProse(doc: Node): Map<string, string> {
  const ordinals = new Map<string, number>();
  const out = new Map<string, string>();
  const fields: readonly string[] = FIELDS;
  const walk = (node: Node, depth: number): void => {
    if (node.t === 'arr') for (const n of node.items) walk(n, depth + 1);
    if (node.t !== 'obj') return;
    for (const [key, value] of node.entries) {
      if (depth + 1 <= MAX_TRACKED_DEPTH && fields.includes(key)) {
        const ordinal = (ordinals.get(key) ?? 0) + 1;
        ordinals.set(key, ordinal);
        if (value.t === 'str' && value.v !== '') out.set(`${key}#${ordinal}`, wellFormed(value.v));
      }
      walk(value, depth + 1);
    }
  };
  walk(doc, 0);
  return out;
}

describe('ProseStream property', () => {
  it('emits, per ordinal, exactly the original field values, however the document is split', () => {
    fc.assert(
      fc.property(docArb, fc.constantFrom('', ' ', '\n  ', '\t\r\n'), fc.boolean(), fc.array(fc.nat(), { maxLength: 40 }), (doc, ws, ascii, cuts) => {
        const json = serialise(doc, ws, ascii);
        // The serialiser produces valid JSON (sanity check of the test itself).
        JSON.parse(json);
        const expected = expectedProse(doc);
        const whole = run([json]).deltas;
        const pieces = run(split(json, cuts)).deltas;
        expect(joined(whole)).toEqual(expected);
        expect(joined(pieces)).toEqual(expected);
        expectWellFormedDeltas(pieces);
      }),
      { numRuns: 300 },
    );
  });

  it('emits the same prose fed one character at a time', () => {
    fc.assert(
      fc.property(docArb, fc.boolean(), (doc, ascii) => {
        const json = serialise(doc, '', ascii);
        const { deltas } = run(chars(json));
        expect(joined(deltas)).toEqual(expectedProse(doc));
        expectWellFormedDeltas(deltas);
      }),
      { numRuns: 100 },
    );
  });
});

describe('ProseStream scale', () => {
  it('handles a 2 MB document fed one character at a time', () => {
    const segment = (i: number) => `Segment ${i}: "Hello," said Mira — café 😀\n\tand the fox ran on. \\ `.repeat(20);
    const segments = Array.from({ length: 1700 }, (_, i) => ({ segment_num: i + 1, segment_content: segment(i), speaker: 'Narrator' }));
    const json = JSON.stringify({ story_parts: [{ story_part: 'beginning', sections: [{ section_num: 1, segments }] }] });
    expect(json.length).toBeGreaterThan(2_000_000);

    const texts: string[] = [];
    let count = 0;
    const stream = new ProseStream(FIELDS, (d) => {
      count++;
      texts[d.ordinal - 1] = (texts[d.ordinal - 1] ?? '') + d.text;
    });
    for (let i = 0; i < json.length; i++) stream.push(json[i]!);
    expect(texts).toEqual(segments.map((s) => s.segment_content));
    expect(count).toBeGreaterThan(1_000_000);
  });
});
