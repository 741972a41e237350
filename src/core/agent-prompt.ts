/**
 * The story agent's words, in one place: its system prompt (the prompt `story-agent/system`),
 * and each tool's name, description and input schema (zod; the agent framework sends them to the model as JSON
 * schema). The tools' work is in `agent-tools.ts`; the framework adapter in `agent/`.
 *
 * Every string and array a model may send is capped here, so a tool never sees unbounded input.
 */
import { z } from 'zod';
import { PANELS_MAX, PANELS_MIN, SPEAKERS_MAX, SPEAKERS_MIN, AUDIO_MINUTES_MAX, AUDIO_MINUTES_MIN } from './schemas';
import { ARTIFACT_PATH_MAX_CHARS } from './artifacts';
import { renderNamed, type RenderedNamedPrompt } from './prompt-catalogue';
import type { PromptService } from './prompt-store';

/** Characters of text one `write_artifact` call may carry (the store's byte cap is larger). */
export const ARTIFACT_TEXT_MAX_CHARS = 200_000;
/** Characters of one user message. */
export const AGENT_MESSAGE_MAX_CHARS = 4000;

/** `POST /agent/sessions/{id}/messages` and `POST /agent/sessions` bodies. */
export const agentMessageSchema = z.object({
  message: z
    .string({ error: 'message must be a string' })
    .trim()
    .min(1, { error: 'message must not be empty' })
    .max(AGENT_MESSAGE_MAX_CHARS, { error: `message must be at most ${AGENT_MESSAGE_MAX_CHARS} characters` }),
});
export const agentCreateSchema = z.object({ title: z.string({ error: 'title must be a string' }).max(200, { error: 'title must be at most 200 characters' }).optional() });

export const AGENT_TOOL = {
  webSearch: 'web_search',
  topicIdeas: 'topic_ideas',
  outlineStory: 'outline_story',
  writeStory: 'write_story',
  rewriteSegment: 'rewrite_segment',
  illustrateStory: 'illustrate_story',
  redrawPanel: 'redraw_panel',
  narrateStory: 'narrate_story',
  writeArtifact: 'write_artifact',
  readArtifact: 'read_artifact',
  listArtifacts: 'list_artifacts',
} as const;
export type AgentToolName = (typeof AGENT_TOOL)[keyof typeof AGENT_TOOL];

const str = (max: number, description: string) => z.string().trim().min(1).max(max).describe(description);

/** What every story tool needs to know about the story wanted. */
const brief = {
  genre: str(200, 'fiction, non-fiction, or a genre such as fantasy, mystery, science fiction'),
  reading_level: str(200, 'the reader, e.g. "grade 3", "early reader", "young adult"'),
  tone: str(200, 'e.g. playful, gentle, adventurous, informative'),
  story_type: z.enum(['visual', 'audio']).describe('visual: a story told in illustrated panels; audio: a story told in spoken sections'),
  number_of_speakers: z.number().int().min(SPEAKERS_MIN).max(SPEAKERS_MAX).describe('speakers besides the Narrator'),
  panels: z.number().int().min(PANELS_MIN).max(PANELS_MAX).optional().describe('visual stories: how many panels'),
  audio_length: z.number().int().min(AUDIO_MINUTES_MIN).max(AUDIO_MINUTES_MAX).optional().describe('audio stories: minutes'),
};

const outlinePart = z.object({
  story_part: str(50, 'beginning, middle or end'),
  story_part_summary: str(5000, 'what happens in this part'),
  story_part_speakers: z.array(str(100, 'a speaker name')).max(8).default([]),
});

export const agentToolInputs = {
  [AGENT_TOOL.webSearch]: z.object({
    query: str(300, 'what to look up, in a few words'),
    max_results: z.number().int().min(1).max(10).optional().describe('1-10, default 5'),
  }),
  [AGENT_TOOL.topicIdeas]: z.object({
    genre: z.enum(['fiction', 'non-fiction']),
    topics: str(2000, 'subjects the user is interested in'),
  }),
  [AGENT_TOOL.outlineStory]: z.object({
    ...brief,
    idea: str(5000, "the user's idea, with any facts the research found"),
  }),
  [AGENT_TOOL.writeStory]: z.object({
    ...brief,
    title: z.string().trim().min(1).max(120).optional().describe("the story's title, a few words"),
    idea: str(5000, "the user's idea, with any facts the research found"),
    outline: z
      .array(outlinePart)
      .min(1)
      .max(3)
      .optional()
      .describe('the outline to follow (beginning, middle, end); when left out, the tool outlines the idea first'),
    illustrate: z.boolean().default(false).describe('draw a picture for every panel while the story is being written'),
    art_style: z.string().trim().max(200).optional().describe('the illustrations\' style, e.g. "watercolor"'),
  }),
  [AGENT_TOOL.rewriteSegment]: z.object({
    segment_number: z.number().int().min(1).max(10_000).describe("the segment's number in the current story"),
    request: str(2000, 'what to change'),
  }),
  [AGENT_TOOL.illustrateStory]: z.object({
    art_style: z.string().trim().max(200).optional(),
    panels: z.number().int().min(1).max(PANELS_MAX).optional().describe('how many panels to draw (default: one per section)'),
  }),
  [AGENT_TOOL.redrawPanel]: z.object({
    panel: z.number().int().min(1).max(10_000).describe("the panel's number in the current story"),
    request: str(2000, 'what to change in the picture'),
  }),
  [AGENT_TOOL.narrateStory]: z.object({
    voices: z.record(z.string().trim().min(1).max(100), z.string().trim().min(1).max(64)).optional().describe('speaker name to voice id, to override the cast'),
    sections: z.array(z.number().int().min(1).max(10_000)).min(1).max(45).optional().describe('only these sections again (after a rewrite)'),
  }),
  [AGENT_TOOL.writeArtifact]: z.object({
    path: z.string().min(1).max(ARTIFACT_PATH_MAX_CHARS).describe('a relative path such as notes/research.md'),
    content: z.string().max(ARTIFACT_TEXT_MAX_CHARS),
    content_type: z.string().max(100).optional(),
  }),
  [AGENT_TOOL.readArtifact]: z.object({ path: z.string().min(1).max(ARTIFACT_PATH_MAX_CHARS) }),
  [AGENT_TOOL.listArtifacts]: z.object({}),
} satisfies Record<AgentToolName, z.ZodType>;

export type AgentToolInput<N extends AgentToolName> = z.infer<(typeof agentToolInputs)[N]>;

export const agentToolDescriptions: Record<AgentToolName, string> = {
  [AGENT_TOOL.webSearch]:
    'Searches the web (DuckDuckGo) and returns titles, URLs and snippets. Use it before writing non-fiction, or when the user asks for research. If it answers "unavailable", tell the user that search is unavailable right now and go on from what you know.',
  [AGENT_TOOL.topicIdeas]: 'Suggests how to approach a topic: subject, scope, structure, sources, audience and tone.',
  [AGENT_TOOL.outlineStory]: 'Writes a three-part outline (beginning, middle, end) with speakers. Use it when the user wants to see or change an outline before the story.',
  [AGENT_TOOL.writeStory]:
    'Writes the whole story (and, with illustrate, draws every panel as soon as its text is written). Pass the outline when you have one. The story becomes the session\'s current story; the research found in this session is listed as its sources.',
  [AGENT_TOOL.rewriteSegment]: 'Rewrites one segment of the current story as the user asks; the rest of the story stays as it is.',
  [AGENT_TOOL.illustrateStory]: 'Draws a picture for every panel of the current story.',
  [AGENT_TOOL.redrawPanel]: 'Redraws one panel picture of the current story as the user asks (e.g. "at night"); the other pictures stay as they are.',
  [AGENT_TOOL.narrateStory]: 'Narrates the current story: one MP3 per section with a voice per speaker, and the whole story as one MP3. With sections, speaks only those again.',
  [AGENT_TOOL.writeArtifact]: 'Saves a text file (notes, a draft, a summary) in this session. Paths are relative, like notes/bees.md.',
  [AGENT_TOOL.readArtifact]: 'Reads a text file saved in this session.',
  [AGENT_TOOL.listArtifacts]: "Lists the files saved in this session, the story's files included.",
};

/**
 * The agent's system prompt (the `story-agent/system` prompt, from the prompt service); `state`
 * is the session's current story, summarised (see `AgentToolbox.summary`).
 */
export function agentSystemPrompt(prompts: PromptService, state: string): Promise<RenderedNamedPrompt> {
  return renderNamed(prompts, 'story-agent/system', { state });
}
