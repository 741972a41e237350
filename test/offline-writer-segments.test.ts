/**
 * /regenerate-segment with the offline writer: the new segment follows the user's request
 * plausibly, keeps its number, changes speaker only when asked, and is already normal.
 */
import fc from 'fast-check';
import { normaliseSegment, outlineSpeakers } from '../src/core/normalise';
import { NARRATOR, segmentResultSchema, type Segment, type SegmentRequest } from '../src/core/schemas';
import { countWords } from '../src/core/shape';
import { splitSentences } from '../src/offline/names';
import { OfflineStoryWriter } from '../src/offline/writer';

const writer = new OfflineStoryWriter();

const STORY: Segment[] = [
  { segment_num: 1, segment_content: 'The sky was dark over the old lighthouse. Lina held the lantern high, and the wind howled.', speaker: NARRATOR },
  { segment_num: 2, segment_content: "I'm scared. Where is the lost star, Ember?", speaker: 'Lina' },
  { segment_num: 3, segment_content: 'Lina, look! The star is glowing in the tower.', speaker: 'Ember' },
  { segment_num: 4, segment_content: 'They climbed the stairs together.', speaker: NARRATOR },
];

function regenerate(num: number, user_request: string, over: Partial<SegmentRequest> = {}, seed = 'job-seg') {
  const segments = over.original_story_segments ?? STORY;
  const original = segments.find((s) => s.segment_num === num) as Segment;
  const input: SegmentRequest = {
    genre: 'fantasy',
    reading_level: 'grade 3',
    tone: 'whimsical',
    user_request,
    original_story_segments: segments,
    original_story_segment_num: num,
    original_story_segment: original,
    ...over,
  };
  // The speakers the core passes: the segment's own, then everyone in the story.
  const speakers = outlineSpeakers([], [input.original_story_segment.speaker, ...segments.map((s) => s.speaker)]);
  const raw = segmentResultSchema.parse(writer.write({ kind: 'segment', input, speakers }, seed));
  const checked = normaliseSegment(raw, input, speakers);
  if (!checked.ok) throw new Error(checked.problem);
  expect(checked.value.new_story_segment).toEqual(raw.new_story_segment); // nothing to repair
  return { ...raw.new_story_segment, original: input.original_story_segment.segment_content };
}

const BRAVE = /not afraid|I can do this|face it head-on|bravest|without a single shiver|stepped forward first|toward the danger|led the way/i;

describe('regenerate-segment follows the request', () => {
  it('"make Lina braver" on her own line: a braver line, still spoken by Lina, without the fear', () => {
    const out = regenerate(2, 'make Lina braver');
    expect(out.speaker).toBe('Lina');
    expect(out.segment_content).toMatch(BRAVE);
    expect(out.segment_content).not.toMatch(/scared/);
    expect(out.segment_content).toContain('Where is the lost star, Ember?');
  });

  it('"make Lina braver" on narration: the narration shows Lina being brave', () => {
    const out = regenerate(1, 'make Lina braver');
    expect(out.speaker).toBe(NARRATOR);
    expect(out.segment_content).toMatch(/Lina (took a deep breath|squared)|Without a moment of doubt, Lina/);
  });

  it('"make Lina braver" on someone else\'s line: they speak, about Lina', () => {
    const out = regenerate(3, 'make Lina braver');
    expect(out.speaker).toBe('Ember');
    expect(out.segment_content).toMatch(/Lina.*(bravest|without a single shiver)|without a single shiver/);
  });

  it('"let Ember say this instead": Ember says it, and no longer calls herself by name', () => {
    const out = regenerate(2, 'let Ember say this instead');
    expect(out.speaker).toBe('Ember');
    expect(out.segment_content).toContain('Where is the lost star, Lina?');
    const fromNarration = regenerate(1, 'Ember should say this');
    expect(fromNarration.speaker).toBe('Ember');
    expect(fromNarration.segment_content).toMatch(/^Look, the sky was dark/);
  });

  it('hands a line to the narrator as reported speech, never naming the narrator', () => {
    const out = regenerate(3, 'give this line to the narrator');
    expect(out.speaker).toBe(NARRATOR);
    expect(out.segment_content).toBe('Ember said, "Lina, look! The star is glowing in the tower."');
  });

  it('keeps the speaker when another character is only mentioned', () => {
    expect(regenerate(3, 'make Lina braver').speaker).toBe('Ember');
    expect(regenerate(3, 'instead of Lina, keep it as it is but add snow').speaker).toBe('Ember');
  });

  it('"add falling snow" adds falling snow, in narration or in a line', () => {
    const narration = regenerate(1, 'add falling snow');
    expect(narration.segment_content).toContain('Falling snow');
    expect(narration.segment_content.startsWith(narration.original)).toBe(true);
    const line = regenerate(2, 'please add falling snow and a tiny lantern');
    expect(line.speaker).toBe('Lina');
    expect(line.segment_content).toMatch(/falling snow/);
    expect(line.segment_content).toMatch(/tiny lantern/);
    expect(regenerate(4, 'make it rain').segment_content).toMatch(/Rain pattered/);
  });

  it('"make it funnier" keeps the scene and adds a joke', () => {
    const out = regenerate(4, 'make it funnier');
    expect(out.segment_content.startsWith('They climbed the stairs together.')).toBe(true);
    expect(out.segment_content).toMatch(/somersault|sneezed|confused duck|sock|goose|trumpet/);
  });

  it('"shorter" and "longer" do what they say', () => {
    const shorter = regenerate(1, 'make it shorter');
    expect(countWords(shorter.segment_content)).toBeLessThan(countWords(shorter.original));
    expect(regenerate(4, 'shorter please').segment_content).toBe('They climbed the stairs together.');
    const oneClause = regenerate(1, 'shorter', { original_story_segment: { segment_num: 1, segment_content: 'Lina held the lantern high, and the wind howled all night long.', speaker: NARRATOR } });
    expect(oneClause.segment_content).toBe('Lina held the lantern high.');
    const longer = regenerate(3, 'make it longer');
    expect(countWords(longer.segment_content)).toBeGreaterThan(countWords(longer.original) + 8);
    expect(longer.segment_content.startsWith(longer.original)).toBe(true);
  });

  it('"simpler" uses plain words and short sentences', () => {
    const out = regenerate(1, 'make it simpler', {
      original_story_segment: { segment_num: 1, segment_content: 'Lina discovered an enormous door, and the ancient hinges creaked.', speaker: NARRATOR },
    });
    expect(out.segment_content).toBe('Lina found a big door. The old hinges creaked.');
  });

  it('writes something new for a request it cannot read', () => {
    const out = regenerate(1, 'something different please');
    expect(out.segment_content).not.toBe(out.original);
    expect(out.speaker).toBe(NARRATOR);
  });
});

describe('regenerate-segment: properties', () => {
  const REQUESTS = [
    'make Lina braver',
    'make Ember funnier',
    'let Ember say this instead',
    'give this line to Lina',
    'the narrator should say this',
    'add falling snow',
    'add a red kite and more rain',
    'make it shorter',
    'make it longer',
    'make it scarier',
    'less scary please',
    'make it simpler',
    'rewrite it',
    'make Lina kinder and add a rainbow',
    'Ember says this, and make it exciting',
  ];

  it('always answers with a normal segment: same number, an allowed speaker, text that does not repeat itself', () => {
    fc.assert(
      fc.property(fc.constantFrom(...REQUESTS), fc.constantFrom(1, 2, 3, 4), fc.constantFrom('fantasy', 'mystery', 'science fiction', 'fairy tale', 'drama'), fc.constantFrom('grade 1', 'grade 8'), fc.string({ minLength: 1, maxLength: 8 }), (request, num, genre, level, seed) => {
        const out = regenerate(num, request, { genre, reading_level: level }, seed);
        expect(out.segment_num).toBe(num);
        expect(['Narrator', 'Lina', 'Ember']).toContain(out.speaker);
        expect(out.segment_content.trim()).not.toBe('');
        const sentences = splitSentences(out.segment_content).map((s) => s.toLowerCase());
        expect(new Set(sentences).size).toBe(sentences.length);
        const original = STORY[num - 1] as Segment;
        const asked = /\b(?:say|says|line to)\b/.test(request);
        if (!asked) expect(out.speaker).toBe(original.speaker);
      }),
      { numRuns: 200 },
    );
  });
});

describe('regenerate-segment: worst-case inputs within the caps', () => {
  it('a 2,000-character request full of names and punctuation', () => {
    const request = `${'Lina, Ember! (a+)+b? '.repeat(90)}let Ember say this`.slice(-2000);
    const out = regenerate(2, request);
    expect(out.speaker).toBe('Ember');
    const noise = regenerate(2, '!?.,;:()[]{}'.repeat(166));
    expect(noise.speaker).toBe('Lina');
    expect(noise.segment_content).not.toBe(noise.original);
  });

  it('2,000 segments with 100-character speaker names, one of them asked for', () => {
    const names = Array.from({ length: 2000 }, (_, i) => `${'Ab'.repeat(47)}x${String(i).padStart(5, '0')}`);
    const segments: Segment[] = names.map((speaker, i) => ({ segment_num: i + 1, segment_content: `Line ${i}.`, speaker }));
    const out = regenerate(10, `let ${names[1500] as string} say this instead`, { original_story_segments: segments });
    expect(out.speaker).toBe(names[1500]);
    const same = regenerate(10, `add snow ${'Ab'.repeat(900)}`, { original_story_segments: segments });
    expect(same.speaker).toBe(names[9]);
    expect(same.segment_content).toMatch(/snow/i);
  });

  it('a 20,000-character segment: one huge word, or many sentences', () => {
    const word = 'w'.repeat(20_000);
    const huge = regenerate(1, 'add falling snow', { original_story_segment: { segment_num: 1, segment_content: word, speaker: NARRATOR } });
    expect(huge.segment_content).toBe(`${word} Falling snow drifted down and dusted everything white.`);
    const many = 'Lina ran. '.repeat(2000).trim();
    const shorter = regenerate(1, 'make it shorter', { original_story_segment: { segment_num: 1, segment_content: many, speaker: NARRATOR } });
    expect(countWords(shorter.segment_content)).toBe(2000);
  });
});
