/**
 * The text tasks the core asks a model to do, and their rendering as prompts for real
 * language models. Offline engines read the typed task; model providers read the prompt.
 */
import { z } from 'zod';
import type { PromptText } from './ports';
import {
  NARRATOR,
  outlineResultSchema,
  segmentResultSchema,
  storyResultSchema,
  topicsResultSchema,
  type OutlineRequest,
  type SegmentRequest,
  type StoryRequest,
  type TopicsRequest,
} from './schemas';
import { storyShape, type StoryShape } from './shape';

export type TextTask =
  | { kind: 'topics'; input: TopicsRequest }
  | { kind: 'outline'; input: OutlineRequest }
  | { kind: 'story'; input: StoryRequest; speakers: string[]; shape: StoryShape }
  | { kind: 'segment'; input: SegmentRequest; speakers: string[] };

export type TextTaskKind = TextTask['kind'];

const resultSchemas = {
  topics: topicsResultSchema,
  outline: outlineResultSchema,
  story: storyResultSchema,
  segment: segmentResultSchema,
} as const;

const resultNames: Record<TextTaskKind, string> = {
  topics: 'topic_ideas',
  outline: 'story_outline',
  story: 'story',
  segment: 'story_segment',
};

const jsonSchemaCache = new Map<TextTaskKind, Record<string, unknown>>();
export function resultJsonSchema(kind: TextTaskKind): Record<string, unknown> {
  let schema = jsonSchemaCache.get(kind);
  if (!schema) {
    schema = z.toJSONSchema(resultSchemas[kind]) as Record<string, unknown>;
    delete schema.$schema;
    jsonSchemaCache.set(kind, schema);
  }
  return schema;
}

const SYSTEM = [
  'You are Story42, a children\'s and young-adult story studio writer.',
  'You always answer with exactly one JSON object that matches the given JSON schema, with no prose around it.',
  `The narrator's lines use the speaker name "${NARRATOR}". Never write the word "${NARRATOR}" inside any text.`,
].join(' ');

function describeLength(input: { story_type?: string; panels?: number; audio_length?: number }): string {
  if (input.story_type === 'visual') return `a visual story told in ${input.panels} illustrated panels`;
  if (input.story_type === 'audio') return `an audio story of about ${input.audio_length} minutes of narration`;
  return 'a story';
}

function userPrompt(task: TextTask): string {
  switch (task.kind) {
    case 'topics':
      return [
        `Suggest a ${task.input.genre} story topic built from these topics: ${task.input.topics}.`,
        'Describe its subject category, scope and coverage, structure, source types, target audience and tone, one short paragraph each.',
      ].join('\n');
    case 'outline': {
      const i = task.input;
      return [
        `Outline ${describeLength(i)}. Genre: ${i.genre}. Reading level: ${i.reading_level}. Tone: ${i.tone}.`,
        `Idea from the user: ${i.user_input_description}`,
        `Use exactly ${i.number_of_speakers} speakers including "${NARRATOR}" (list them in speaker_names, ${NARRATOR} first).`,
        'Give exactly three story_parts in this order: beginning, middle, end; each with a summary and the speakers who appear in it.',
      ].join('\n');
    }
    case 'story': {
      const i = task.input;
      const shape = task.shape;
      const sections = shape.sectionsPerPart.map((n, idx) => `${['beginning', 'middle', 'end'][idx]}: ${n} sections`).join(', ');
      return [
        `Write ${describeLength(i)}. Genre: ${i.genre}. Reading level: ${i.reading_level}. Tone: ${i.tone}.`,
        `Follow this outline: ${JSON.stringify(i.story_outline_description)}`,
        `Speakers (use only these names): ${task.speakers.join(', ')}.`,
        `Exactly three story_parts in order beginning, middle, end, with ${sections} (${shape.totalSections} sections in total).`,
        shape.targetWords
          ? `Aim for about ${shape.targetWords} words of story text in total (about 150 words per minute of narration).`
          : 'Each section is one illustrated panel: a short scene.',
        `Every section starts with a ${NARRATOR} segment describing the scene; characters may then speak in their own segments.`,
        'Number section_num and segment_num from 1 across the whole story with no gaps.',
      ].join('\n');
    }
    case 'segment': {
      const i = task.input;
      return [
        `Rewrite story segment ${i.original_story_segment_num} of a ${i.genre} story (reading level ${i.reading_level}, tone ${i.tone}).`,
        `The user asks: ${i.user_request}`,
        `Original segment (speaker ${i.original_story_segment.speaker}): ${i.original_story_segment.segment_content}`,
        `Surrounding story: ${JSON.stringify(i.original_story_segments.map((s) => ({ n: s.segment_num, speaker: s.speaker, text: s.segment_content })))}`,
        `Keep segment_num ${i.original_story_segment_num} and the same speaker unless the user asks otherwise; allowed speakers: ${task.speakers.join(', ')}.`,
      ].join('\n');
    }
  }
}

/** Marks the line carrying the task as JSON (models read it well; local servers parse it). */
export const TASK_JSON_MARKER = 'Request (JSON): ';

export function renderPrompt(task: TextTask): PromptText {
  return {
    system: SYSTEM,
    user: `${userPrompt(task)}\n${TASK_JSON_MARKER}${JSON.stringify(task)}`,
    resultName: resultNames[task.kind],
    jsonSchema: resultJsonSchema(task.kind),
  };
}

export function storyTask(input: StoryRequest, speakers: string[]): TextTask {
  return { kind: 'story', input, speakers, shape: storyShape(input) };
}
