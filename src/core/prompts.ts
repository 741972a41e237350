/**
 * The text tasks the core asks a model to do, and their rendering as prompts for real
 * language models. Offline engines read the typed task; model providers read the prompt. The
 * prompts' words are the story writer's prompts (`prompts/story-writer/*.md`, served by the
 * prompt service); this file computes the values of their placeholders.
 */
import { z } from 'zod';
import type { PromptText } from './ports';
import { renderNamed, type RenderedNamedPrompt } from './prompt-catalogue';
import type { PromptService, PromptUse } from './prompt-store';
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

/** What to write, as the outline and story prompts say it (`{{length}}`). */
function describeLength(input: { story_type?: string; panels?: number; audio_length?: number }): string {
  if (input.story_type === 'visual') return `a visual story told in ${input.panels} illustrated panels`;
  if (input.story_type === 'audio') return `an audio story of about ${input.audio_length} minutes of narration`;
  return 'a story';
}

/** The task's user prompt (the story writer's prompt named after the task) with the values its placeholders need. */
function userPrompt(task: TextTask, prompts: PromptService): Promise<RenderedNamedPrompt> {
  switch (task.kind) {
    case 'topics':
      return renderNamed(prompts, 'story-writer/topics', { genre: task.input.genre, topics: task.input.topics });
    case 'outline': {
      const i = task.input;
      return renderNamed(prompts, 'story-writer/outline', {
        length: describeLength(i),
        genre: i.genre,
        reading_level: i.reading_level,
        tone: i.tone,
        idea: i.user_input_description,
        number_of_speakers: String(i.number_of_speakers),
        narrator: NARRATOR,
      });
    }
    case 'story': {
      const i = task.input;
      const shape = task.shape;
      return renderNamed(prompts, 'story-writer/story', {
        length: describeLength(i),
        genre: i.genre,
        reading_level: i.reading_level,
        tone: i.tone,
        outline_json: JSON.stringify(i.story_outline_description),
        speakers: task.speakers.join(', '),
        sections: shape.sectionsPerPart.map((n, idx) => `${['beginning', 'middle', 'end'][idx]}: ${n} sections`).join(', '),
        total_sections: String(shape.totalSections),
        size_rule: shape.targetWords
          ? `Aim for about ${shape.targetWords} words of story text in total (about 150 words per minute of narration).`
          : 'Each section is one illustrated panel: a short scene.',
        narrator: NARRATOR,
      });
    }
    case 'segment': {
      const i = task.input;
      return renderNamed(prompts, 'story-writer/segment', {
        segment_number: String(i.original_story_segment_num),
        genre: i.genre,
        reading_level: i.reading_level,
        tone: i.tone,
        user_request: i.user_request,
        original_speaker: i.original_story_segment.speaker,
        original_text: i.original_story_segment.segment_content,
        surrounding_json: JSON.stringify(i.original_story_segments.map((s) => ({ n: s.segment_num, speaker: s.speaker, text: s.segment_content }))),
        speakers: task.speakers.join(', '),
      });
    }
  }
}

/** Marks the line carrying the task as JSON (models read it well; local servers parse it). */
export const TASK_JSON_MARKER = 'Request (JSON): ';

/** A rendered prompt and the prompts (with their versions) it was made from. */
export type RenderedPrompt = PromptText & { uses: PromptUse[] };

/**
 * The task as a language model reads it: the story writer's system prompt, and the task's user
 * prompt followed by one line with the task as JSON (after `TASK_JSON_MARKER`).
 */
export async function renderPrompt(task: TextTask, prompts: PromptService): Promise<RenderedPrompt> {
  const [system, user] = await Promise.all([renderNamed(prompts, 'story-writer/system', { narrator: NARRATOR }), userPrompt(task, prompts)]);
  return {
    system: system.text,
    user: `${user.text}\n${TASK_JSON_MARKER}${JSON.stringify(task)}`,
    resultName: resultNames[task.kind],
    jsonSchema: resultJsonSchema(task.kind),
    uses: [system.use, user.use],
  };
}

export function storyTask(input: StoryRequest, speakers: string[]): TextTask {
  return { kind: 'story', input, speakers, shape: storyShape(input) };
}
