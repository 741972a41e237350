/**
 * The offline writer honours the request: names, setting and things from the idea, genre, tone
 * and reading level that visibly change the text, no sentence twice, every speaker speaking, and
 * every result already normal for the core's normaliser.
 */
import fc from 'fast-check';
import { normaliseOutline, normaliseStory, outlineSpeakers } from '../src/core/normalise';
import { storyTask } from '../src/core/prompts';
import { NARRATOR, outlineResultSchema, storyResultSchema, type OutlineRequest, type OutlineResult, type StoryRequest, type StoryResult } from '../src/core/schemas';
import type { StoryShape } from '../src/core/shape';
import { namesIn, placesIn, readIdea, splitSentences } from '../src/offline/names';
import { OfflineStoryWriter, TONE_INTERJECTIONS } from '../src/offline/writer';

const writer = new OfflineStoryWriter();

interface Written {
  outline: OutlineResult;
  story: StoryResult;
  speakers: string[];
  shape: StoryShape;
  text: string;
  sentences: string[];
}

/** Outline, then the story from the outline (as a client would: without the idea unless `withIdea`). */
function write(input: OutlineRequest, seed: string, withIdea = false): Written {
  const outline = outlineResultSchema.parse(writer.write({ kind: 'outline', input }, seed));
  const checkedOutline = normaliseOutline(outline, input);
  if (!checkedOutline.ok) throw new Error(`outline: ${checkedOutline.problem}`);
  expect(checkedOutline.value).toEqual(outline);
  const { user_input_description, ...rest } = input;
  const storyInput: StoryRequest = { ...rest, ...(withIdea ? { user_input_description } : {}), story_outline_description: outline.story_parts };
  const speakers = outlineSpeakers(outline.story_parts);
  const task = storyTask(storyInput, speakers);
  if (task.kind !== 'story') throw new Error('unreachable');
  const story = storyResultSchema.parse(writer.write(task, seed));
  const checked = normaliseStory(story, speakers, task.shape);
  if (!checked.ok) throw new Error(`story: ${checked.problem}`);
  expect(checked.value.story_parts).toEqual(story.story_parts); // nothing to repair
  const segments = story.story_parts.flatMap((p) => p.sections.flatMap((s) => s.segments));
  const text = segments.map((s) => s.segment_content).join(' ');
  return { outline, story, speakers, shape: task.shape, text, sentences: segments.flatMap((s) => splitSentences(s.segment_content)) };
}

const request = (over: Partial<OutlineRequest> & { user_input_description: string }): OutlineRequest => ({
  genre: 'fantasy',
  reading_level: 'grade 3',
  tone: 'whimsical',
  story_type: 'visual',
  panels: 6,
  number_of_speakers: 3,
  ...over,
});

const words = (s: string): string[] => s.split(/\s+/).filter(Boolean);
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const letters = (w: string): number => w.replace(/[^\p{L}]/gu, '').length;

// ---- generated requests ---------------------------------------------------------------------

const NAMES = ['Lina', 'Kofi', 'Juniper', 'Oskar', 'Suki', 'Zara', 'Detective Maya', 'Captain Rosa Vega', 'Dr. Ada Lovelace', 'Professor Plum', 'Amara', 'Tobiah'];
const ROLES = ['girl', 'boy', 'dragon', 'robot', 'fox', 'friend', 'pirate', 'owl'];
const PLACES: Array<[string, string]> = [
  ['in', 'the old lighthouse'],
  ['in', 'Paris'],
  ['on', 'Mars'],
  ['at', 'Mount Fuji'],
  ['in', 'the Whispering Woods'],
  ['under', 'the deep sea'],
  ['at', 'the busy market'],
];
const QUESTS = ['a lost star', 'a golden key', 'the Crystal Crown', 'a missing painting', 'a secret map', 'a singing shell'];
const OBJECTS = ['a brass compass', 'a paper boat', 'a tiny lantern', 'a striped scarf'];
const GENRES = ['fantasy', 'fairy tale', 'mystery', 'science fiction', 'adventure', 'non-fiction', 'realistic fiction', 'drama'];
const LEVELS = ['grade 1', 'grade 3', 'grade 5', 'grade 8', 'kindergarten', 'ages 9-11', 'young adult', 'r'];
const TONES = ['whimsical', 'spooky', 'calm', 'funny', 'exciting', 'warm', 'mysterious', 'sad', 'informative', 'zany'];

interface Idea {
  text: string;
  names: string[];
  place: string;
  quest: string;
  object: string;
}

/** An idea naming 1-4 characters (some with a role), a place, a quest and an object, in one of several shapes. */
const ideaArb: fc.Arbitrary<Idea> = fc
  .record({
    names: fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 4 }),
    roles: fc.array(fc.option(fc.constantFrom(...ROLES), { nil: undefined }), { minLength: 4, maxLength: 4 }),
    place: fc.constantFrom(...PLACES),
    quest: fc.constantFrom(...QUESTS),
    object: fc.constantFrom(...OBJECTS),
    shape: fc.integer({ min: 0, max: 2 }),
  })
  .map(({ names, roles, place: [prep, place], quest, object, shape }) => {
    const who = names.map((n, i) => {
      const role = roles[i];
      if (!role || n.includes(' ')) return n;
      return i % 2 === 0 ? `a ${role} named ${n}` : `${i === 1 ? 'her' : 'their'} ${role} ${n}`;
    });
    const list = who.length > 1 ? `${who.slice(0, -1).join(', ')} and ${who.at(-1) as string}` : (who[0] as string);
    const text = [
      `${list.charAt(0).toUpperCase()}${list.slice(1)} search for ${quest} ${prep} ${place}, carrying ${object}.`,
      `${prep.charAt(0).toUpperCase()}${prep.slice(1)} ${place}, ${list} must find ${quest}. They have ${object}.`,
      `${names[0] as string} lives ${prep} ${place}. ${list.charAt(0).toUpperCase()}${list.slice(1)} want to find ${quest} with ${object}.`,
    ][shape] as string;
    return { text, names, place, quest, object };
  });

const requestArb = fc
  .record({
    idea: ideaArb,
    genre: fc.constantFrom(...GENRES),
    level: fc.constantFrom(...LEVELS),
    tone: fc.constantFrom(...TONES),
    speakers: fc.integer({ min: 1, max: 4 }),
    visual: fc.boolean(),
    panels: fc.integer({ min: 3, max: 12 }),
    minutes: fc.integer({ min: 1, max: 12 }),
    seed: fc.stringMatching(/^[a-z0-9]{1,10}$/),
    withIdea: fc.boolean(),
  })
  .map((r) => ({
    ...r,
    input: request({
      genre: r.genre,
      reading_level: r.level,
      tone: r.tone,
      number_of_speakers: r.speakers,
      user_input_description: r.idea.text,
      ...(r.visual ? { story_type: 'visual' as const, panels: r.panels } : { story_type: 'audio' as const, audio_length: r.minutes, panels: undefined }),
    }),
  }));

describe('offline writer: stories follow the idea', () => {
  it('every named character, the setting and the quest appear; places are never speakers; results are already normal', () => {
    fc.assert(
      fc.property(requestArb, ({ idea, input, seed, withIdea }) => {
        const { outline, text } = write(input, seed, withIdea);
        // The outline's speakers are the idea's characters first.
        const cast = outline.speaker_names.slice(1);
        expect(cast.slice(0, idea.names.length)).toEqual(idea.names.slice(0, cast.length));
        expect(cast).not.toContain(idea.place);
        for (const name of idea.names) expect(text).toContain(name);
        expect(text).toContain(idea.place);
        expect(text.toLowerCase()).toContain(idea.quest.replace(/^(?:a|the) /, '').toLowerCase());
        expect(text.toLowerCase()).toContain(idea.object.replace(/^a /, ''));
      }),
      { numRuns: 150 },
    );
  });

  it('never repeats a sentence within a story, even a 30-minute one for the earliest readers', () => {
    fc.assert(
      fc.property(requestArb, fc.constantFrom(1, 12, 30), ({ input, seed }, minutes) => {
        const long = { ...input, story_type: 'audio' as const, audio_length: minutes, panels: undefined };
        for (const req of [input, long]) {
          const { sentences } = write(req, seed);
          const seen = new Set<string>();
          for (const s of sentences) {
            const key = s.toLowerCase();
            expect(seen.has(key) ? `repeated: ${s}` : 'new').toBe('new');
            seen.add(key);
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it('writes outline summaries the story reads back exactly: the same characters, place, quest and things', () => {
    const bare = (phrase: string): string => phrase.toLowerCase().replace(/^(?:a|an|the) /, '');
    fc.assert(
      fc.property(requestArb, ({ idea, input, seed }) => {
        const outline = outlineResultSchema.parse(writer.write({ kind: 'outline', input }, seed));
        const [opening, ...rest] = outline.story_parts.map((p) => readIdea(p.story_part_summary));
        if (!opening) throw new Error('no opening');
        const cast = outline.speaker_names.slice(1);
        // The opening names the whole cast (speakers and the idea's other characters); it invents
        // names only to fill the speaker slots, or a companion for a lone hero.
        expect(opening.characters.slice(0, cast.length)).toEqual(cast);
        for (const name of idea.names) expect(opening.characters).toContain(name);
        const invented = opening.characters.filter((n) => !idea.names.includes(n));
        expect(invented.length).toBeLessThanOrEqual(Math.max(0, Math.max(2, cast.length) - idea.names.length));
        for (const part of rest) for (const name of part.characters) expect(opening.characters).toContain(name);
        expect(opening.places[0]?.text).toBe(idea.place);
        expect(bare(opening.quest ?? '')).toBe(bare(idea.quest));
        expect(opening.things.map(bare).sort()).toEqual([bare(idea.quest), bare(idea.object)].sort());
      }),
      { numRuns: 150 },
    );
  });

  it('lets every speaker of the outline speak', () => {
    fc.assert(
      fc.property(requestArb, ({ input, seed }) => {
        const { story, speakers } = write(input, seed);
        const spoke = new Set(story.story_parts.flatMap((p) => p.sections.flatMap((s) => s.segments.map((g) => g.speaker))));
        for (const s of speakers) expect(spoke.has(s) ? s : `${s} never speaks`).toBe(s);
      }),
      { numRuns: 120 },
    );
  });

  it('writes grammatical-looking sentences: capitalised, ended, no doubled words or empty slots', () => {
    fc.assert(
      fc.property(requestArb, ({ input, seed }) => {
        for (const s of write(input, seed).sentences) {
          expect(s).toMatch(/^["'(]?[A-Z0-9]/);
          expect(s).toMatch(/[.!?]["')]?$/);
          expect(s).not.toMatch(/[{}[\]]|\s[,.!?]|,,|\b(the|a|an|and) \1\b|\ban [bcdfgjklmnpqrstvwxyz]/i);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('reads the example idea: Lina and Ember speak, the lost star and the lighthouse appear', () => {
    const { outline, text, story } = write(request({ user_input_description: 'A girl named Lina and her dragon Ember search for a lost star in the old lighthouse' }), 'job-1');
    expect(outline.speaker_names).toEqual([NARRATOR, 'Lina', 'Ember']);
    expect(outline.story_parts[0]?.story_part_summary).toContain('a lost star');
    expect(text).toContain('the lost star');
    expect(text).toContain('the old lighthouse');
    expect(text).toContain('Ember the dragon');
    const speakers = new Set(story.story_parts.flatMap((p) => p.sections.flatMap((s) => s.segments.map((g) => g.speaker))));
    expect([...speakers].sort()).toEqual(['Ember', 'Lina', NARRATOR]);
  });

  it('keeps titled names whole and places out of the cast', () => {
    const { outline, text } = write(request({ number_of_speakers: 4, user_input_description: 'Detective Maya and Captain Rosa Vega travel from Paris to Mount Fuji with Dr. Ada Lovelace to find the Crystal Crown.' }), 'job-t');
    expect(outline.speaker_names).toEqual([NARRATOR, 'Detective Maya', 'Captain Rosa Vega', 'Dr. Ada Lovelace']);
    expect(text).toContain('Paris');
    expect(text).toContain('the Crystal Crown');
    expect(namesIn(text)).not.toContain('Paris');
    expect(placesIn(outline.story_parts[0]?.story_part_summary ?? '')).toContain('Paris');
  });

  it('names characters beyond the speaker slots in the story too', () => {
    const { outline, text } = write(request({ number_of_speakers: 2, user_input_description: 'Lina, Kofi, Suki and Oskar explore the harbour town to find a golden key.' }), 'job-x');
    expect(outline.speaker_names).toEqual([NARRATOR, 'Lina']);
    for (const name of ['Lina', 'Kofi', 'Suki', 'Oskar']) expect(text).toContain(name);
  });

  it('invents characters when the idea names none, and gives them what the idea says they are', () => {
    const { outline, text } = write(request({ genre: 'science fiction', number_of_speakers: 3, user_input_description: 'robots learning to paint on Mars' }), 'job-r');
    expect(outline.speaker_names).toHaveLength(3);
    expect(text).toMatch(/robots named|the robot/);
    expect(text).toContain('on Mars');
  });

  it('is deterministic for a job id and differs between job ids', () => {
    const input = request({ story_type: 'audio', audio_length: 3, panels: undefined, user_input_description: 'robots learning to paint' });
    expect(write(input, 'job-a').story).toEqual(write(input, 'job-a').story);
    const texts = new Set(['job-a', 'job-b', 'job-c', 'job-d'].map((s) => write(input, s).text));
    expect(texts.size).toBe(4);
  });
});

describe('offline writer: genre, tone and reading level change the text', () => {
  /** The request's own words (names, place, quest, object), removed before sentences are compared. */
  function templateOf(sentence: string, own: readonly string[]): string {
    let s = sentence.toLowerCase();
    for (const w of own) s = s.split(w.toLowerCase()).join('_');
    return s.replace(/[^a-z_]+/g, ' ').trim();
  }

  const interjections = new Set(TONE_INTERJECTIONS.flatMap((ex) => [ex, ...ex.split(',')]).map((ex) => templateOf(ex, [])));

  it('shares no template sentence between the stories of two genres', () => {
    const genres = ['fantasy', 'fairy tale', 'mystery', 'science fiction', 'adventure', 'non-fiction', 'realistic fiction'];
    fc.assert(
      fc.property(ideaArb, fc.constantFrom(...LEVELS), fc.constantFrom(...TONES), fc.stringMatching(/^[a-z]{1,6}$/), (idea, level, tone, seed) => {
        const own = [...idea.names.flatMap((n) => [n, ...n.split(' ')]), idea.place, idea.quest, idea.quest.replace(/^(?:a|the) /, ''), idea.object, idea.object.replace(/^a /, '')].sort((a, b) => b.length - a.length);
        const byGenre = genres.map((genre) => {
          const input = request({ genre, reading_level: level, tone, number_of_speakers: 4, story_type: 'audio', audio_length: 4, panels: undefined, user_input_description: idea.text });
          // A bare interjection ("Wait!", "Oh, look.", or a clause of one) is the tone's, shared by every genre in that tone by design.
          return new Set(write(input, seed).sentences.map((s) => templateOf(s, own)).filter((t) => !interjections.has(t)));
        });
        for (let a = 0; a < genres.length; a++) {
          for (let b = a + 1; b < genres.length; b++) {
            const shared = [...(byGenre[a] as Set<string>)].filter((s) => (byGenre[b] as Set<string>).has(s));
            expect({ genres: [genres[a], genres[b]], shared }).toEqual({ genres: [genres[a], genres[b]], shared: [] });
          }
        }
      }),
      { numRuns: 15 },
    );
  });

  it('writes longer sentences and longer words for older readers', () => {
    const stats: Record<string, { sentence: number[]; word: number[] }> = {};
    fc.assert(
      fc.property(requestArb, ({ input, seed }) => {
        const per: Record<string, number> = {};
        for (const level of ['grade 1', 'grade 3', 'grade 5', 'grade 8']) {
          const { sentences } = write({ ...input, reading_level: level }, seed);
          const sentenceLength = mean(sentences.map((s) => words(s).length));
          const all = sentences.flatMap(words);
          const wordLength = mean(all.map(letters));
          (stats[level] ??= { sentence: [], word: [] }).sentence.push(sentenceLength);
          stats[level].word.push(wordLength);
          per[level] = sentenceLength;
        }
        // Every single story: grade 8 sentences are clearly longer than grade 1 ones.
        expect(per['grade 8']).toBeGreaterThan((per['grade 1'] as number) * 1.3);
      }),
      { numRuns: 60 },
    );
    const avg = (level: string, key: 'sentence' | 'word'): number => mean(stats[level]?.[key] ?? []);
    expect(avg('grade 1', 'sentence')).toBeLessThan(avg('grade 3', 'sentence'));
    expect(avg('grade 3', 'sentence')).toBeLessThan(avg('grade 5', 'sentence'));
    expect(avg('grade 5', 'sentence')).toBeLessThan(avg('grade 8', 'sentence'));
    expect(avg('grade 8', 'word')).toBeGreaterThan(avg('grade 1', 'word') + 0.05);
    expect(avg('grade 8', 'word')).toBeGreaterThan(avg('grade 3', 'word') + 0.05);
  });

  it('keeps the earliest readers to short sentences', () => {
    const { sentences } = write(request({ reading_level: 'grade 1', story_type: 'audio', audio_length: 5, panels: undefined, user_input_description: 'Lina and Kofi look for a golden key' }), 'job-g1');
    expect(mean(sentences.map((s) => words(s).length))).toBeLessThan(11);
  });

  it('lets the tone show in the words', () => {
    const spookyWords = /\b(eerie|creepy|ghostly|nervously|warily|shh|psst|creaked|shivers|pale mist)\b/gi;
    const calmWords = /\b(calm|peaceful|gentle|gently|softly|lullaby|rest|soft light)\b/gi;
    let spookyInSpooky = 0;
    let spookyInCalm = 0;
    let calmInCalm = 0;
    let calmInSpooky = 0;
    for (const seed of ['a', 'b', 'c', 'd', 'e']) {
      for (const genre of ['fantasy', 'mystery', 'adventure']) {
        const base = request({ genre, story_type: 'audio', audio_length: 4, panels: undefined, user_input_description: 'Lina and Kofi look for a golden key in the old mill' });
        const spooky = write({ ...base, tone: 'spooky' }, seed).text;
        const calm = write({ ...base, tone: 'calm and gentle' }, seed).text;
        expect(spooky).not.toBe(calm);
        spookyInSpooky += spooky.match(spookyWords)?.length ?? 0;
        spookyInCalm += calm.match(spookyWords)?.length ?? 0;
        calmInCalm += calm.match(calmWords)?.length ?? 0;
        calmInSpooky += spooky.match(calmWords)?.length ?? 0;
      }
    }
    expect(spookyInSpooky).toBeGreaterThan(spookyInCalm + 10);
    expect(calmInCalm).toBeGreaterThan(calmInSpooky + 10);
  });

  it('writes a different story for each genre from the same idea', () => {
    const idea = 'Lina and Kofi look for a golden key';
    const texts = GENRES.map((genre) => write(request({ genre, user_input_description: idea }), 'job-g').text);
    expect(new Set(texts).size).toBe(GENRES.length - 1); // "drama" and "realistic fiction" share the everyday kit
  });
});

describe('offline writer: worst-case ideas within the caps', () => {
  const huge = [
    ['one huge word', 'Q'.padEnd(5000, 'x')],
    ['many capitalised words', 'Zorblax Quint Vantor '.repeat(240).slice(0, 5000)],
    ['many listed names', Array.from({ length: 800 }, (_, i) => `Na${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26) % 26)}o`).join(', ').slice(0, 5000)],
    ['pathological punctuation', '!?.,;:()[]{}"\'-'.repeat(350).slice(0, 5000)],
    ['one sentence of titles', 'Dr. '.repeat(1250)],
  ] as const;

  it.each(huge)('%s: a valid outline and story, with sensible names', (_label, idea) => {
    expect(idea.length).toBeLessThanOrEqual(5000);
    const input = request({ number_of_speakers: 4, story_type: 'audio', audio_length: 5, panels: undefined, user_input_description: idea });
    const { outline, sentences, speakers } = write(input, 'job-huge');
    expect(outline.speaker_names).toHaveLength(4);
    for (const name of speakers) {
      expect(name.length).toBeLessThanOrEqual(60);
      expect(name).not.toMatch(/[!?;:()[\]{}"]/);
    }
    expect(new Set(sentences.map((s) => s.toLowerCase())).size).toBe(sentences.length);
  });

  it('takes listed names in order, as many as there are speakers', () => {
    const idea = huge[2][1];
    const { outline } = write(request({ number_of_speakers: 4, user_input_description: idea }), 'job-list');
    expect(outline.speaker_names).toEqual([NARRATOR, 'Naaao', 'Nabao', 'Nacao']);
  });
});

describe('offline writer: streaming and identity', () => {
  it('streams its JSON in small pieces and reports itself', async () => {
    const input = request({ user_input_description: 'Lina and Kofi look for a golden key' });
    const pieces: string[] = [];
    const out = await writer.generate({
      task: { kind: 'outline', input },
      prompt: { system: '', user: 'x', resultName: 'story_outline', jsonSchema: {} },
      modelId: 'm',
      seed: 'job-s',
      attempt: 1,
      onDelta: (p) => pieces.push(p),
    });
    expect(writer.provider).toBe('offline-story-writer');
    expect(out.model).toBe('offline-story-writer-v1');
    expect(pieces.length).toBeGreaterThan(5);
    expect(pieces.every((p) => p.length <= 48)).toBe(true);
    expect(JSON.parse(pieces.join(''))).toEqual(out.data);
  });
});
