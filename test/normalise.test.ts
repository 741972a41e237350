import fc from 'fast-check';
import { canonicalSpeaker, normaliseOutline, normaliseSegment, normaliseStory } from '../src/core/normalise';
import { NARRATOR, STORY_PARTS, type StoryResult } from '../src/core/schemas';
import { storyShape, countWords } from '../src/core/shape';

const CAST = ['Narrator', 'Mira', 'Theo', 'Ada'];

/** Structural invariants every normalised story must satisfy. */
function assertStoryRules(result: { story_parts: StoryResult['story_parts']; speaker_names: string[] }, panels?: number) {
  expect(result.story_parts.map((p) => p.story_part)).toEqual([...STORY_PARTS]);
  const sections = result.story_parts.flatMap((p) => p.sections);
  expect(sections.map((s) => s.section_num)).toEqual(sections.map((_, i) => i + 1));
  const segments = sections.flatMap((s) => s.segments);
  expect(segments.map((s) => s.segment_num)).toEqual(segments.map((_, i) => i + 1));
  if (panels !== undefined) expect(sections).toHaveLength(panels);
  for (const s of sections) {
    expect(s.segments.some((g) => g.speaker === NARRATOR)).toBe(true);
    for (const g of s.segments) {
      expect(result.speaker_names).toContain(g.speaker);
      expect(g.segment_content).not.toMatch(/\bnarrator\b/i);
      expect(g.segment_content.trim()).not.toBe('');
    }
  }
}

const sentence = fc.array(fc.constantFrom('The', 'fox', 'ran', 'over', 'a', 'hill', 'and', 'sang', 'softly', 'today'), { minLength: 1, maxLength: 12 }).map((w) => `${w.join(' ')}.`);

const segmentArb = fc.record({
  segment_num: fc.integer({ min: -5, max: 500 }),
  segment_content: fc.oneof(sentence, sentence.map((s) => `Narrator: ${s}`), sentence.map((s) => `  ${s}  `)),
  speaker: fc.constantFrom(...CAST, 'narrator', 'MIRA', ' theo '),
});

/** A section that has at least one narrator segment somewhere in it. */
const sectionArb = fc
  .tuple(fc.array(segmentArb, { maxLength: 4 }), sentence, fc.nat())
  .map(([segs, narration, pos]) => {
    const copy = [...segs];
    copy.splice(pos % (copy.length + 1), 0, { segment_num: 0, segment_content: narration, speaker: 'Narrator' });
    return { section_num: 99, segments: copy };
  });

/** Stories that are valid up to repairable defects: shuffled parts, bad numbering, label prefixes, name case. */
const repairableStory = fc
  .tuple(
    fc.array(sectionArb, { minLength: 1, maxLength: 4 }),
    fc.array(sectionArb, { minLength: 1, maxLength: 4 }),
    fc.array(sectionArb, { minLength: 1, maxLength: 4 }),
    fc.constantFrom([0, 1, 2], [2, 1, 0], [1, 0, 2], [2, 0, 1]),
    fc.constantFrom((s: string) => s, (s: string) => s.toUpperCase(), (s: string) => ` ${s} `),
  )
  .map(([b, m, e, order, label]) => {
    const parts = [
      { story_part: label('beginning'), sections: b },
      { story_part: label('middle'), sections: m },
      { story_part: label('end'), sections: e },
    ];
    return { story_parts: order.map((i) => parts[i] as (typeof parts)[number]) };
  });

describe('story normaliser (property-based)', () => {
  it('repairs order, numbering, speaker case and narrator labels, and the result obeys every rule', () => {
    fc.assert(
      fc.property(repairableStory, (raw) => {
        const panels = raw.story_parts.reduce((n, p) => n + p.sections.length, 0);
        const out = normaliseStory(raw, CAST, storyShape({ story_type: 'visual', panels }));
        expect(out.ok).toBe(true);
        if (out.ok) assertStoryRules(out.value, panels);
      }),
      { numRuns: 300 },
    );
  });

  it('is idempotent: normalising a normalised story changes nothing', () => {
    fc.assert(
      fc.property(repairableStory, (raw) => {
        const panels = raw.story_parts.reduce((n, p) => n + p.sections.length, 0);
        const shape = storyShape({ story_type: 'visual', panels });
        const once = normaliseStory(raw, CAST, shape);
        if (!once.ok) throw new Error(once.problem);
        const twice = normaliseStory(once.value, CAST, shape);
        expect(twice).toEqual(once);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects a story whose panel count differs from the request', () => {
    fc.assert(
      fc.property(repairableStory, fc.integer({ min: 1, max: 3 }), (raw, delta) => {
        const panels = raw.story_parts.reduce((n, p) => n + p.sections.length, 0);
        const out = normaliseStory(raw, CAST, storyShape({ story_type: 'visual', panels: panels + delta }));
        expect(out.ok).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('rejects unknown speakers, missing parts, and sections with no narrator', () => {
    fc.assert(
      fc.property(repairableStory, fc.constantFrom('speaker', 'part', 'narrator'), (raw, defect) => {
        const broken = structuredClone(raw);
        const firstSection = broken.story_parts[0]?.sections[0];
        if (!firstSection) throw new Error('generator gave an empty part');
        if (defect === 'speaker') firstSection.segments.push({ segment_num: 1, segment_content: 'Hello there.', speaker: 'Zed' });
        if (defect === 'part') broken.story_parts.pop();
        if (defect === 'narrator') {
          firstSection.segments = firstSection.segments.filter((s) => s.speaker.trim().toLowerCase() !== 'narrator');
          firstSection.segments.push({ segment_num: 1, segment_content: 'Hello there.', speaker: 'Mira' });
        }
        const panels = raw.story_parts.reduce((n, p) => n + p.sections.length, 0);
        const out = normaliseStory(broken, CAST, storyShape({ story_type: 'visual', panels }));
        expect(out.ok).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('rejects text that names the narrator', () => {
    const raw = {
      story_parts: STORY_PARTS.map((p) => ({
        story_part: p,
        sections: [{ section_num: 1, segments: [{ segment_num: 1, segment_content: 'Then the narrator smiled.', speaker: 'Narrator' }] }],
      })),
    };
    const out = normaliseStory(raw, CAST, storyShape({ story_type: 'visual', panels: 3 }));
    expect(out).toEqual({ ok: false, problem: expect.stringContaining('names the narrator') });
  });

  it('enforces "several" sections per part and the narration length of audio stories', () => {
    const section = (words: number) => ({ section_num: 1, segments: [{ segment_num: 1, segment_content: Array(words).fill('word').join(' '), speaker: 'Narrator' }] });
    const story = (perPart: number, words: number) => ({
      story_parts: STORY_PARTS.map((p) => ({ story_part: p, sections: Array.from({ length: perPart }, () => section(words)) })),
    });
    const shape = storyShape({ story_type: 'audio', audio_length: 2 }); // 300 words
    expect(normaliseStory(story(2, 50), CAST, shape).ok).toBe(true); // 300 words
    expect(normaliseStory(story(1, 100), CAST, shape)).toMatchObject({ ok: false, problem: expect.stringContaining('at least 2') });
    expect(normaliseStory(story(2, 5), CAST, shape)).toMatchObject({ ok: false, problem: expect.stringContaining('words') });
    expect(normaliseStory(story(2, 500), CAST, shape)).toMatchObject({ ok: false, problem: expect.stringContaining('words') });
    expect(countWords('  a b   c ')).toBe(3);
  });
});

describe('outline and segment normalisers', () => {
  const parts = STORY_PARTS.map((p) => ({ story_part: p, story_part_summary: `The ${p}.`, story_part_speakers: ['mira'] }));

  it('puts the narrator first, canonicalises speakers and checks the speaker count', () => {
    const out = normaliseOutline({ speaker_names: ['Mira', 'Theo'], story_parts: [...parts].reverse() }, { number_of_speakers: 3 });
    expect(out).toMatchObject({ ok: true, value: { speaker_names: ['Narrator', 'Mira', 'Theo'] } });
    if (out.ok) {
      expect(out.value.story_parts.map((p) => p.story_part)).toEqual([...STORY_PARTS]);
      expect(out.value.story_parts[0]?.story_part_speakers).toEqual(['Narrator', 'Mira']);
    }
    expect(normaliseOutline({ speaker_names: ['Mira'], story_parts: parts }, { number_of_speakers: 3 }).ok).toBe(false);
  });

  it('keeps the segment number and the speaker unless the user asks for another', () => {
    const input = {
      genre: 'g',
      reading_level: 'r',
      tone: 't',
      user_request: 'make it funnier',
      original_story_segments: [],
      original_story_segment_num: 7,
      original_story_segment: { segment_num: 7, segment_content: 'Hi.', speaker: 'Mira' },
    };
    const kept = normaliseSegment({ new_story_segment: { segment_num: 2, segment_content: 'Theo: Ha!', speaker: 'Theo' } }, input, CAST);
    expect(kept).toEqual({ ok: true, value: { new_story_segment: { segment_num: 7, segment_content: 'Theo: Ha!', speaker: 'Mira' } } });
    const asked = normaliseSegment(
      { new_story_segment: { segment_num: 7, segment_content: 'Ha!', speaker: 'theo' } },
      { ...input, user_request: 'let Theo say this line' },
      CAST,
    );
    expect(asked).toEqual({ ok: true, value: { new_story_segment: { segment_num: 7, segment_content: 'Ha!', speaker: 'Theo' } } });
    expect(canonicalSpeaker(' NARRATOR ', CAST)).toBe('Narrator');
  });
});
