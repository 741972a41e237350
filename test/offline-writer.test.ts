import fc from 'fast-check';
import { normaliseOutline, normaliseSegment, normaliseStory, normaliseTopics, outlineSpeakers } from '../src/core/normalise';
import { storyTask } from '../src/core/prompts';
import { outlineResultSchema, segmentResultSchema, storyResultSchema, topicsResultSchema, type OutlineRequest } from '../src/core/schemas';
import { OfflineStoryWriter } from '../src/offline/writer';

const writer = new OfflineStoryWriter();

const outlineRequest = fc
  .record({
    genre: fc.constantFrom('fantasy', 'mystery', 'science'),
    reading_level: fc.constantFrom('grade 2', 'grade 5'),
    tone: fc.constantFrom('whimsical', 'spooky', 'calm'),
    number_of_speakers: fc.integer({ min: 1, max: 4 }),
    user_input_description: fc.constantFrom(
      'A girl named Lina and her dragon Ember search for a lost star',
      'robots learning to paint',
      'Two friends explore the deep sea to find a glowing whale',
      'a narrator-free tale about Oslo and Kai',
    ),
    visual: fc.boolean(),
    panels: fc.integer({ min: 3, max: 12 }),
    audio_length: fc.integer({ min: 1, max: 30 }),
  })
  .map(({ visual, panels, audio_length, ...rest }): OutlineRequest =>
    visual ? { ...rest, story_type: 'visual', panels } : { ...rest, story_type: 'audio', audio_length },
  );

describe('offline story writer', () => {
  it('writes outlines and stories that pass the structure rules untouched, for any valid request', () => {
    fc.assert(
      fc.property(outlineRequest, fc.string({ minLength: 1, maxLength: 12 }), (input, seed) => {
        const outline = outlineResultSchema.parse(writer.write({ kind: 'outline', input }, seed));
        const checkedOutline = normaliseOutline(outline, input);
        expect(checkedOutline).toEqual({ ok: true, value: outline });

        const storyInput = { ...input, story_outline_description: outline.story_parts };
        const speakers = outlineSpeakers(outline.story_parts);
        const task = storyTask(storyInput, speakers);
        if (task.kind !== 'story') throw new Error('unreachable');
        const story = storyResultSchema.parse(writer.write(task, seed));
        const checked = normaliseStory(story, speakers, task.shape);
        if (!checked.ok) throw new Error(checked.problem);
        // Already normal: the normaliser had nothing to repair.
        expect(checked.value.story_parts).toEqual(story.story_parts);
      }),
      { numRuns: 120 },
    );
  });

  it('is deterministic for a job id and differs between job ids', () => {
    const input: OutlineRequest = { genre: 'fantasy', reading_level: 'grade 3', tone: 'calm', story_type: 'visual', panels: 6, number_of_speakers: 3, user_input_description: 'robots learning to paint' };
    expect(writer.write({ kind: 'outline', input }, 'job-a')).toEqual(writer.write({ kind: 'outline', input }, 'job-a'));
    const stories = new Set(['job-a', 'job-b', 'job-c', 'job-d'].map((s) => JSON.stringify(writer.write({ kind: 'outline', input }, s))));
    expect(stories.size).toBeGreaterThan(1);
  });

  it('builds results from the request: names from the idea, topics from the topic list', () => {
    const outline = outlineResultSchema.parse(
      writer.write({ kind: 'outline', input: { genre: 'f', reading_level: 'r', tone: 'warm', story_type: 'visual', panels: 3, number_of_speakers: 3, user_input_description: 'A girl named Lina and her dragon Ember search for a lost star' } }, 's'),
    );
    expect(outline.speaker_names).toEqual(['Narrator', 'Lina', 'Ember']);
    expect(outline.story_parts[0]?.story_part_summary).toContain('a lost star');
    const topics = topicsResultSchema.parse(writer.write({ kind: 'topics', input: { genre: 'non-fiction', topics: 'volcanoes, tides' } }, 's'));
    expect(normaliseTopics(topics).ok).toBe(true);
    expect(topics.subject_category).toContain('volcanoes and tides');
  });

  it('regenerates a segment in place, keeping number and speaker unless another is named', () => {
    const input = {
      genre: 'f',
      reading_level: 'r',
      tone: 't',
      user_request: 'add more rain and thunder',
      original_story_segments: [
        { segment_num: 3, segment_content: 'We walked home.', speaker: 'Mira' },
        { segment_num: 4, segment_content: 'Hello.', speaker: 'Theo' },
      ],
      original_story_segment_num: 3,
      original_story_segment: { segment_num: 3, segment_content: 'We walked home. It was late.', speaker: 'Mira' },
    };
    const speakers = ['Narrator', 'Mira', 'Theo'];
    const raw = segmentResultSchema.parse(writer.write({ kind: 'segment', input, speakers }, 's'));
    expect(raw.new_story_segment).toMatchObject({ segment_num: 3, speaker: 'Mira' });
    expect(raw.new_story_segment.segment_content).toMatch(/rain/);
    expect(raw.new_story_segment.segment_content).not.toBe(input.original_story_segment.segment_content);
    expect(normaliseSegment(raw, input, speakers).ok).toBe(true);
    const swapped = segmentResultSchema.parse(writer.write({ kind: 'segment', input: { ...input, user_request: 'give this line to Theo' }, speakers }, 's'));
    expect(swapped.new_story_segment.speaker).toBe('Theo');
  });
});

describe('offline writer grammar', () => {
  it('uses "an" before a vowel sound, also after richer words replace plain ones', () => {
    fc.assert(
      fc.property(outlineRequest, fc.constantFrom('grade 1', 'grade 5', 'grade 8', 'young adult'), fc.constantFrom('fairy tale', 'mystery', 'fantasy', 'adventure'), fc.string({ minLength: 1, maxLength: 6 }), (input, level, genre, seed) => {
        const req = { ...input, reading_level: level, genre };
        const outline = outlineResultSchema.parse(writer.write({ kind: 'outline', input: req }, seed));
        const task = storyTask({ ...req, story_outline_description: outline.story_parts }, outlineSpeakers(outline.story_parts));
        const text = JSON.stringify(writer.write(task, seed));
        expect(text.match(/\b[Aa] (?!one\b|once\b|eu|uni|use|usu|ur)[aeiou]\w*/g) ?? []).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });
});
