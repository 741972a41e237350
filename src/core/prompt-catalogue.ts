/**
 * Every prompt the platform uses, with its known placeholders and what it is for — and the
 * template rules: a prompt's text is a template with named placeholders `{{name}}` (lower-case
 * letters, digits and "_"), filled in one pass (a value is never read as a template itself).
 * Rendering with a missing value, or a template with an unknown placeholder, is an error; a
 * stored prompt is checked against its entry here before it is used (the admin API and the
 * upload script refuse one that fails, and the prompt service keeps its last good copy).
 *
 * The texts are `prompts/<assistant>/<name>.md` (bucket and repository); see prompt-store.ts.
 */
import { badRequest } from './errors';
import { PROMPT_MAX_BYTES, PROMPT_NAME_PATTERN, type PromptService, type PromptUse } from './prompt-store';

export interface PromptSpec {
  description: string;
  /** Placeholder name -> what the code fills it with. */
  placeholders: Readonly<Record<string, string>>;
}

const length = 'what to write: "a story", "a visual story told in <n> illustrated panels" or "an audio story of about <n> minutes of narration"';
const brief = {
  genre: 'the genre asked for',
  reading_level: 'the reading level asked for',
  tone: 'the tone asked for',
} as const;
const narrator = 'the narrator\'s speaker name ("Narrator")';

export const PROMPT_CATALOGUE = {
  'story-writer/system': {
    description: 'The story writer\'s system prompt for every text route (topics, outline, story, segment).',
    placeholders: { narrator },
  },
  'story-writer/topics': {
    description: 'Topic ideas (generate_topics_ideas): the instruction.',
    placeholders: { genre: 'fiction or non-fiction', topics: 'the topics the user gave' },
  },
  'story-writer/outline': {
    description: 'A three-part outline (generate_story_outline_description): the instruction.',
    placeholders: { length, ...brief, idea: "the user's idea", number_of_speakers: 'how many speakers, the narrator included', narrator },
  },
  'story-writer/story': {
    description: 'The whole story (generate_entire_story): the instruction.',
    placeholders: {
      length,
      ...brief,
      outline_json: 'the outline to follow, as JSON',
      speakers: 'the allowed speaker names, comma-separated',
      sections: 'sections per part, e.g. "beginning: 2 sections, middle: 2 sections, end: 2 sections"',
      total_sections: 'the number of sections in all',
      size_rule:
        'audio: "Aim for about <n> words of story text in total (about 150 words per minute of narration)."; visual: "Each section is one illustrated panel: a short scene."',
      narrator,
    },
  },
  'story-writer/segment': {
    description: 'One segment rewritten (regenerate_story_segment): the instruction.',
    placeholders: {
      segment_number: "the segment's number",
      ...brief,
      user_request: 'what the user asks to change',
      original_speaker: "the segment's speaker",
      original_text: "the segment's text",
      surrounding_json: 'the surrounding segments, as JSON',
      speakers: 'the allowed speaker names, comma-separated',
    },
  },
  'story-writer/repair': {
    description: "Appended to the user prompt when the model's previous answer broke the story rules (attempts after the first).",
    placeholders: { problem: 'what was wrong with the previous answer' },
  },
  'illustrator/panel': {
    description: 'The image model\'s instruction for one story panel (Bedrock and Gemini image providers).',
    placeholders: { art_style: 'the art style asked for', scene: 'the scene: the panel\'s narration' },
  },
  'illustrator/edit': {
    description: 'The image model\'s instruction to redraw a panel from the original (regenerate_segment_image).',
    placeholders: { request: 'what the user asks to change' },
  },
  'story-agent/system': {
    description: "The story agent's system prompt, every turn.",
    placeholders: { state: "the session's current story, in one line" },
  },
} as const satisfies Record<string, PromptSpec>;

export type PromptId = keyof typeof PROMPT_CATALOGUE;

/** Prompt uses one tracking record keeps at most (each distinct prompt and version once). */
export const TRACKED_PROMPTS_MAX = 16;
/** The values a prompt's placeholders need: every one of them, as text. */
export type PromptValues<P extends PromptId> = Record<keyof (typeof PROMPT_CATALOGUE)[P]['placeholders'], string>;

export const PROMPT_IDS = Object.keys(PROMPT_CATALOGUE) as PromptId[];

/** The catalogue's entry of a prompt, or undefined when the catalogue has none. */
export function promptSpec(assistant: string, name: string): PromptSpec | undefined {
  const id = `${assistant}/${name}`;
  return Object.hasOwn(PROMPT_CATALOGUE, id) ? PROMPT_CATALOGUE[id as PromptId] : undefined;
}

export function splitPromptId(id: PromptId): { assistant: string; name: string } {
  const [assistant, name] = id.split('/') as [string, string];
  return { assistant, name };
}

/** A placeholder's name. */
export const PLACEHOLDER_NAME = /^[a-z][a-z0-9_]{0,63}$/;
/** `{{…}}`: a placeholder (its inside must be a name). */
const PLACEHOLDER = /\{\{([^{}]*)\}\}/g;

/** The placeholders a template uses, in order of first use (malformed ones as written, e.g. " name "). */
export function placeholdersOf(template: string): string[] {
  const seen = new Set<string>();
  for (const m of template.matchAll(PLACEHOLDER)) seen.add(m[1] as string);
  return [...seen];
}

/** A template or its values do not fit (a bug in the code or in a bundled prompt: a 500, never a caller's fault). */
export class PromptRenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromptRenderError';
  }
}

/**
 * Fills a template's placeholders with `values` in one pass (trailing white space of the
 * template is dropped: files end with a newline). Throws `PromptRenderError` for a placeholder
 * that is not in `known`, or one `values` does not give.
 */
export function renderTemplate(template: string, values: Readonly<Record<string, string>>, known: readonly string[], label = 'prompt'): string {
  const unknown = placeholdersOf(template).filter((p) => !known.includes(p));
  if (unknown.length > 0) throw new PromptRenderError(`${label} uses unknown placeholder${unknown.length > 1 ? 's' : ''} ${unknown.map((p) => `{{${p}}}`).join(', ')}`);
  return template.replace(/\s+$/, '').replace(PLACEHOLDER, (_m, name: string) => {
    const value = Object.hasOwn(values, name) ? values[name] : undefined;
    if (typeof value !== 'string') throw new PromptRenderError(`${label} needs a value for {{${name}}}`);
    return value;
  });
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why a text cannot be the prompt `assistant/name` (undefined when it can): not in the
 * catalogue, empty, over the size cap, not valid UTF-8 (a lone surrogate), a NUL character, or
 * a placeholder the prompt does not know (named in the answer).
 */
export function promptTextProblem(assistant: string, name: string, text: string): string | undefined {
  const spec = promptSpec(assistant, name);
  if (!spec) return `${assistant}/${name} is not a known prompt`;
  if (text.trim() === '') return 'text must not be empty';
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > PROMPT_MAX_BYTES) return `text is ${bytes} bytes; a prompt may have at most ${PROMPT_MAX_BYTES}`;
  if (LONE_SURROGATE.test(text)) return 'text must be valid UTF-8 (it has a lone surrogate)';
  if (text.includes('\u0000')) return 'text must not contain NUL characters';
  const known = Object.keys(spec.placeholders);
  const unknown = placeholdersOf(text).filter((p) => !known.includes(p));
  if (unknown.length > 0) {
    return `unknown placeholder ${unknown.map((p) => `{{${p}}}`).join(', ')} in ${assistant}/${name}; its placeholders are ${known.map((p) => `{{${p}}}`).join(', ')}`;
  }
  return undefined;
}

/** `promptTextProblem` as a 400. */
export function checkPromptText(assistant: string, name: string, text: string): void {
  const problem = promptTextProblem(assistant, name, text);
  if (problem) throw badRequest(problem);
}

/** Bytes as prompt text: valid UTF-8 or a problem. */
export function decodePromptBytes(bytes: Uint8Array): { text: string } | { problem: string } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes) };
  } catch {
    return { problem: 'the file is not valid UTF-8' };
  }
}

export interface RenderedNamedPrompt {
  text: string;
  use: PromptUse;
}

/** Gets a prompt of the catalogue from the prompt service and renders it with every value it needs. */
export async function renderNamed<P extends PromptId>(prompts: PromptService, id: P, values: PromptValues<P>): Promise<RenderedNamedPrompt> {
  const { assistant, name } = splitPromptId(id);
  const prompt = await prompts.get(assistant, name);
  const text = renderTemplate(prompt.text, values as Readonly<Record<string, string>>, Object.keys(PROMPT_CATALOGUE[id].placeholders), id);
  return { text, use: { prompt: id, version: prompt.version, source: prompt.source } };
}

/** Every catalogue id is a valid `<assistant>/<name>` (checked once, at load). */
for (const id of PROMPT_IDS) {
  const { assistant, name } = splitPromptId(id);
  if (!PROMPT_NAME_PATTERN.test(assistant) || !PROMPT_NAME_PATTERN.test(name)) throw new Error(`prompt catalogue: "${id}" is not a valid prompt id`);
}
