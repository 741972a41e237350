/**
 * The offline story writer: a rule-following text engine that needs no model and no network.
 * It builds every result shape from the request's own fields, obeys every structure rule of
 * the spec, and is deterministic for a given seed (the job id).
 */
import type { TextCall, TextModel, TextOutput } from '../core/ports';
import type { TextTask } from '../core/prompts';
import { wholeWordPattern } from '../core/regex';
import { NARRATOR, STORY_PARTS, type OutlineRequest, type SegmentRequest, type StoryRequest, type TopicsRequest } from '../core/schemas';
import { countWords } from '../core/shape';
import { namesIn as illustratorNamesIn } from './illustrator';
import { hashString, Random } from './random';

/** Names of characters in the user's idea (the illustrator reads them the same way). */
const namesIn = (text: string): string[] => illustratorNamesIn(text).filter((n) => n.toLowerCase() !== 'narrator');

const NAMES = ['Mira', 'Theo', 'Juniper', 'Kofi', 'Ada', 'Rowan', 'Lila', 'Oskar', 'Suki', 'Felix', 'Nia', 'Pip', 'Hazel', 'Emeka', 'Iris', 'Bodhi'];
const PLACES = ['the old lighthouse', 'a whispering forest', 'the harbour town', 'a hidden valley', 'the rooftop garden', 'a snowy mountain pass', 'the busy market', 'a quiet riverbank'];
const OBJECTS = ['a brass compass', 'a folded map', 'a glowing pebble', 'a sealed letter', 'a tiny key', 'a painted kite', 'a silver bell', 'a field notebook'];
const STOP = new Set('about after again along also because before being between could every from have into just like more most much other over some such than that their them then there these they this those through under very what when where which while with would your story want wants about'.split(' '));

/** Characters per streamed piece of the offline writer's output. */
const DELTA_CHARS = 48;

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const clean = (s: string): string => s.replace(/\bnarrator\b/gi, 'storyteller').replace(/\s+/g, ' ').trim();

/** Content words of a free-text idea, in order, without duplicates. */
function keywords(text: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const w of text.toLowerCase().match(/[a-z][a-z'-]{3,}/g) ?? []) {
    if (!STOP.has(w) && w !== 'narrator' && !seen.has(w)) {
      seen.add(w);
      out.push(w);
    }
  }
  return out;
}

interface Setting {
  place: string;
  object: string;
  theme: string;
  tone: string;
}

export class OfflineStoryWriter implements TextModel {
  readonly provider = 'offline-story-writer';

  async generate(call: TextCall): Promise<TextOutput> {
    call.signal?.throwIfAborted();
    const data = this.write(call.task, call.seed);
    const text = JSON.stringify(data);
    // Streamed in small pieces, as a model writes, so listeners see the prose grow.
    if (call.onDelta) for (let i = 0; i < text.length; i += DELTA_CHARS) call.onDelta(text.slice(i, i + DELTA_CHARS));
    return { data, model: 'offline-story-writer-v1', usage: { inputTokens: countWords(call.prompt.user), outputTokens: countWords(text) } };
  }

  write(task: TextTask, seed: string): unknown {
    const rng = new Random(hashString(`${task.kind}:${seed}`));
    switch (task.kind) {
      case 'topics':
        return this.topics(task.input, rng);
      case 'outline':
        return this.outline(task.input, rng, seed);
      case 'story':
        return this.story(task.input, task.speakers, task.shape.sectionsPerPart, task.shape.targetWords, rng, seed);
      case 'segment':
        return this.segment(task.input, task.speakers, rng);
    }
  }

  /** The world of a job: the same for every call with the same seed (outline, story, segments). */
  private setting(idea: string, tone: string, seed: string): Setting {
    const rng = new Random(hashString(`setting:${seed}`));
    const names = new Set(namesIn(idea).map((n) => n.toLowerCase()));
    const quest = /\b(?:for|about|to find|find|save|rescue|discover|explore|learn)\s+((?:the|a|an|their|his|her)\s+)?([a-z][a-z' -]{2,40}?)(?=[.,;!?]|$| and | but | who | with )/i.exec(idea);
    const theme = quest ? `${quest[1] ?? 'the '}${quest[2]}`.trim().toLowerCase() : keywords(idea).filter((w) => !names.has(w)).slice(0, 2).join(' and ');
    return { place: rng.pick(PLACES), object: rng.pick(OBJECTS), theme: theme || 'a small mystery', tone: tone.toLowerCase() };
  }

  private topics(input: TopicsRequest, rng: Random) {
    const topics = input.topics.split(',').map((t) => t.trim()).filter(Boolean);
    const list = topics.length > 1 ? `${topics.slice(0, -1).join(', ')} and ${topics.at(-1)}` : (topics[0] ?? 'discovery');
    const fiction = input.genre === 'fiction';
    return {
      subject_category: fiction ? `Fiction: an original story about ${list}` : `Non-fiction: an explainer on ${list}`,
      scope_coverage: fiction
        ? `Follows ${rng.pick(['one young hero', 'two unlikely friends', 'a small family', 'a curious class'])} as ${list} shape a single adventure from start to finish.`
        : `Covers what ${list} ${topics.length > 1 ? 'are' : 'is'}, how ${topics.length > 1 ? 'they work' : 'it works'}, and why ${topics.length > 1 ? 'they matter' : 'it matters'} in everyday life.`,
      structure: fiction
        ? 'Beginning that sets up the world and the wish, a middle where the plan goes wrong, and an end where the hero changes.'
        : 'Opening question, three short explanations with examples, and a closing summary with one thing to try.',
      source_types: fiction
        ? `Folk tales, picture books and real facts about ${list} woven into the plot.`
        : `Encyclopedias, museum guides and interviews with people who work with ${list}.`,
      target_audience: rng.pick(['Readers aged 6-8 and the adults who read with them', 'Confident readers aged 8-11', 'Young teens aged 11-14']),
      tone: rng.pick(['Warm and curious', 'Playful and brave', 'Calm and wondering', 'Lively and funny']),
    };
  }

  private characters(input: { user_input_description?: string }, count: number, rng: Random): string[] {
    const fromIdea = namesIn(input.user_input_description ?? '');
    const names = [...fromIdea];
    const pool = rng.shuffle(NAMES);
    while (names.length < count) names.push(pool[names.length % pool.length] as string);
    return names.slice(0, count);
  }

  private outline(input: OutlineRequest, rng: Random, seed: string) {
    const cast = this.characters(input, input.number_of_speakers - 1, rng);
    const s = this.setting(input.user_input_description, input.tone, seed);
    const hero = cast[0] ?? 'a young traveller';
    const friend = cast[1] ?? 'an unexpected helper';
    const summaries = [
      `At ${s.place}, ${hero} finds ${s.object} and a first clue to ${s.theme}. The mood is ${s.tone}.`,
      `${cap(hero)} and ${friend} follow the clue, but a setback tests them and they must rethink their plan.`,
      `Together they reach ${s.theme}, return to ${s.place} changed, and share what they learned.`,
    ];
    return {
      speaker_names: [NARRATOR, ...cast],
      story_parts: STORY_PARTS.map((part, i) => ({
        story_part: part,
        story_part_summary: summaries[i] as string,
        story_part_speakers: [NARRATOR, ...cast.filter((_, k) => i === 1 || k < 2)],
      })),
    };
  }

  /** Narration sentences for one part of the story, in a shuffled order for this job. */
  private sceneDeck(part: number, s: Setting, cast: string[], rng: Random): string[] {
    const hero = cast[0] ?? 'the traveller';
    const other = cast[1] ?? 'a friend';
    const banks = [
      [
        `Morning light spilled over ${s.place} as ${hero} noticed ${s.object}.`,
        `${cap(hero)} turned ${s.object} over and wondered where it might lead.`,
        `The air at ${s.place} felt ${s.tone}, as if something was about to begin.`,
        `A small mark on ${s.object} pointed toward the far side of ${s.place}.`,
        `Gulls circled overhead while ${hero} packed a bag with bread and string.`,
        `${cap(other)} arrived out of breath, eyes wide at the sight of ${s.object}.`,
        `An old map on the wall showed a path no one had taken for years.`,
        `The first clue to ${s.theme} was hidden in plain sight.`,
      ],
      [
        `The path grew steep, and the way to ${s.theme} seemed to slip away.`,
        `${cap(other)} spotted a shadow moving between the trees.`,
        `Rain began to fall, and ${hero} held ${s.object} close.`,
        `Nothing went to plan, yet ${hero} kept looking for another way.`,
        `A rickety bridge swayed over a rushing stream.`,
        `Night came early, and the friends huddled around a small lantern.`,
        `A riddle carved into a stone door blocked the way forward.`,
        `Far below, the lights of ${s.place} looked tiny and far away.`,
      ],
      [
        `At last the meaning of ${s.object} became clear.`,
        `${cap(hero)} and ${other} laughed as they finally reached ${s.theme}.`,
        `Evening settled over ${s.place}, calm and golden.`,
        `Back home, ${hero} wrote down everything that had happened.`,
        `The stone door swung open onto a room full of warm light.`,
        `Neighbours gathered in the square to hear about the journey.`,
        `${cap(hero)} placed ${s.object} on the windowsill, where it glowed softly.`,
        `Stars came out one by one above ${s.place}.`,
      ],
    ];
    return rng.shuffle(banks[part] as string[]);
  }

  private lineDeck(part: number, s: Setting, rng: Random): string[] {
    const banks = [
      [`Look at this! I think ${s.object} wants us to follow it.`, 'Where do you think it came from?', "Let's find out together.", 'I have never seen anything like it.'],
      ["We can't give up now.", 'Wait, I have an idea.', 'Did you hear that? Stay close to me.', 'Maybe we took a wrong turn.'],
      ['We did it, and we did it together.', `I never knew ${s.theme} could be so wonderful.`, "Let's come back tomorrow.", 'Thank you for not letting me quit.'],
    ];
    return rng.shuffle(banks[part] as string[]);
  }

  private story(input: StoryRequest, speakers: string[], sectionsPerPart: readonly number[], targetWords: number | undefined, rng: Random, seed: string) {
    const cast = speakers.filter((n) => n !== NARRATOR);
    const idea = [input.user_input_description ?? '', ...input.story_outline_description.map((p) => p.story_part_summary)].join(' ');
    const s = this.setting(idea, input.tone, seed);
    const totalSections = sectionsPerPart.reduce((a, b) => a + b, 0);
    const wordsPerSection = targetWords ? Math.max(12, Math.round(targetWords / totalSections)) : 0;
    let sectionNum = 0;
    let segmentNum = 0;
    const story_parts = STORY_PARTS.map((part, p) => {
      const outlinePart = input.story_outline_description.find((o) => o.story_part.trim().toLowerCase() === part);
      const partCast = (outlinePart?.story_part_speakers ?? cast).filter((n) => cast.includes(n));
      const actors = partCast.length > 0 ? partCast : cast;
      const scenes = this.sceneDeck(p, s, cast, rng);
      const lines = this.lineDeck(p, s, rng);
      let nextScene = 0;
      const scene = (): string => scenes[nextScene++ % scenes.length] as string;
      const sections = Array.from({ length: sectionsPerPart[p] as number }, (_, k) => {
        sectionNum += 1;
        const segments: Array<{ segment_num: number; segment_content: string; speaker: string }> = [];
        const push = (speaker: string, text: string) => {
          segmentNum += 1;
          segments.push({ segment_num: segmentNum, segment_content: clean(text), speaker });
        };
        const opener = k === 0 && outlinePart ? `${clean(outlinePart.story_part_summary.split(/(?<=[.!?])\s/)[0] ?? '')} ` : '';
        let narration = `${opener}${scene()}`;
        const speaker = actors.length > 0 ? actors[(sectionNum + k) % actors.length] : undefined;
        const spoken = speaker ? (lines[k % lines.length] as string) : '';
        const budget = wordsPerSection - countWords(spoken);
        while (wordsPerSection > 0 && countWords(narration) < budget) narration += ` ${scene()}`;
        push(NARRATOR, narration);
        if (speaker) push(speaker, spoken);
        return { section_num: sectionNum, segments };
      });
      return { story_part: part, sections };
    });
    return { speaker_names: speakers, story_parts };
  }

  /** A sentence that carries out the user's wish ("add falling snow", "make it funnier"). */
  private requestSentence(request: string, rng: Random): string {
    const wish = request
      .toLowerCase()
      .replace(/[^a-z0-9' ,-]/g, ' ')
      .replace(/\b(please|can you|could you)\b/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    const added = /^(?:add|include|put in|with|show)\s+(?:some\s+|a\s+|an\s+|more\s+)?(.{2,60})$/.exec(wish);
    if (added?.[1]) return rng.pick([`Now there is ${added[1]} all around.`, `Suddenly ${added[1]} appeared everywhere.`]);
    const made = /^make (?:it|this|the \w+)\s+(?:more\s+|a bit\s+)?(.{2,40})$/.exec(wish);
    if (made?.[1]) return rng.pick([`Everything felt ${made[1]} now.`, `The moment turned ${made[1]} in the best way.`]);
    const words = keywords(request).slice(0, 3);
    return `This time the moment is full of ${words.length > 0 ? words.join(' and ') : 'a fresh detail'}.`;
  }

  private segment(input: SegmentRequest, speakers: string[], rng: Random) {
    const original = input.original_story_segment;
    const requested = speakers.find((n) => n !== original.speaker && wholeWordPattern(n, 'i').test(input.user_request));
    const sentences = original.segment_content.split(/(?<=[.!?])\s+/).filter(Boolean);
    const kept = sentences.slice(0, Math.max(1, sentences.length - 1)).join(' ');
    const addition = this.requestSentence(input.user_request, rng);
    return {
      new_story_segment: {
        segment_num: input.original_story_segment_num,
        segment_content: clean(`${kept} ${addition}`),
        speaker: requested ?? original.speaker,
      },
    };
  }
}
