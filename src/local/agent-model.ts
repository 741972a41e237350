/**
 * The story agent's model, played offline: from a Converse conversation and the tools on
 * offer, decide deterministically which tool to call next, or what to answer in text.
 *
 * The contract is `src/core/agent-prompt.ts` (tool names and input schemas, the system
 * prompt). The local Bedrock server answers the agent's Converse / ConverseStream calls with
 * `agentReply`, so the agent runs end to end without a real model.
 *
 * How it decides:
 *  - The current turn is everything after the last user message that carries text and no
 *    tool result. Its text says which plan applies (see `planFor`); the tool calls and results
 *    already in the turn say which step of the plan is next.
 *  - A step runs only when its tool is offered. A result with status error (or an error the
 *    framework reports as text) ends the plan with a text naming what failed.
 *  - When every step is done, the answer is a short text made from the tools' results.
 *
 * Pure and bounded: no clock, no randomness; at most the last 200 messages and 20 KB of any
 * one text are read.
 */
import { AGENT_TOOL, type AgentToolName } from '../core/agent-prompt';
import { hashString } from '../core/hash';
import { AUDIO_MINUTES_MAX, AUDIO_MINUTES_MIN, PANELS_MAX, PANELS_MIN, SPEAKERS_MAX, SPEAKERS_MIN, type OutlineRequest } from '../core/schemas';
import { OfflineStoryWriter } from '../offline/writer';

export interface AgentModelMessage {
  role: string;
  content: Record<string, unknown>[];
}

export interface AgentModelRequest {
  system?: { text: string }[];
  messages: AgentModelMessage[];
  /** The names of the tools on offer. */
  tools: string[];
}

export interface AgentToolCall {
  toolUseId: string;
  name: string;
  input: Record<string, unknown>;
}

export type AgentReply = { kind: 'tool'; calls: AgentToolCall[] } | { kind: 'text'; text: string };

/** What the model reads, at most. */
export const AGENT_MODEL_LIMITS = {
  /** Messages read from the end of the conversation. */
  messages: 200,
  /** Content blocks read per message (and per tool result). */
  blocks: 100,
  /** Characters read of any one text (user text, a tool result's text). */
  textChars: 20_000,
  /** Characters of an error quoted back to the user. */
  errorChars: 300,
  /** Search results used (facts, sources). */
  sources: 5,
  /** Messages scanned for the tool use ids already taken. */
  idMessages: 10_000,
} as const;

const IDEA_MAX_CHARS = 5000;
const QUERY_MAX_CHARS = 200;
const REQUEST_MAX_CHARS = 2000;
const TOPICS_MAX_CHARS = 2000;
const DEFAULT_PANELS = 6;
const DEFAULT_AUDIO_MINUTES = 3;
const DEFAULT_SPEAKERS = 2;
const DEFAULT_ART_STYLE = 'storybook watercolor';
/** Parallel calls for one message (e.g. redraws of several panels). */
const MAX_TARGETS = 6;

type Json = Record<string, unknown>;

const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first `max` UTF-16 units, one fewer when the cut would split a surrogate pair. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** Whitespace collapsed, at most `max` characters, with an ellipsis when cut. */
function quote(text: string, max: number): string {
  const flat = cut(text, max * 2).replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${cut(flat, max - 1).trimEnd()}…`;
}

const clamp = (n: number, min: number, max: number) => Math.min(max, Math.max(min, n));

// ---------------------------------------------------------------------------------------
// Tool use ids

/**
 * Tool use ids unique across the conversation: `tooluse_<n>`, numbered on from the ids (and
 * the number of tool calls) already in it, skipping any id that is taken.
 */
export function toolUseIds(messages: readonly AgentModelMessage[]): () => string {
  const used = new Set<string>();
  let n = 0;
  for (const message of messages.slice(-AGENT_MODEL_LIMITS.idMessages)) {
    for (const block of message.content.slice(0, AGENT_MODEL_LIMITS.blocks)) {
      const use = block.toolUse;
      if (!isRecord(use) || typeof use.toolUseId !== 'string') continue;
      used.add(use.toolUseId);
      n += 1;
      const numbered = /^tooluse_(\d{1,9})$/.exec(use.toolUseId);
      if (numbered) n = Math.max(n, Number(numbered[1]));
    }
  }
  return () => {
    let id: string;
    do {
      n += 1;
      id = `tooluse_${n}`;
    } while (used.has(id));
    used.add(id);
    return id;
  };
}

// ---------------------------------------------------------------------------------------
// The current turn

interface Outcome {
  ok: boolean;
  /** The result's JSON document (a `json` block, or a text block holding a JSON object). */
  json?: Json;
  /** The result's text blocks, joined. */
  text: string;
}

interface TurnCall {
  name: string;
  input: Json;
  outcome?: Outcome;
}

interface Turn {
  /** The user's words (at most 20 KB). */
  text: string;
  /** The tool calls made since, in order, with their results. */
  calls: TurnCall[];
}

function texts(content: readonly Record<string, unknown>[]): string[] {
  const out: string[] = [];
  for (const block of content.slice(0, AGENT_MODEL_LIMITS.blocks)) if (typeof block.text === 'string') out.push(cut(block.text, AGENT_MODEL_LIMITS.textChars));
  return out;
}

const isUserText = (m: AgentModelMessage) => m.role === 'user' && m.content.some((b) => typeof b.text === 'string') && !m.content.some((b) => b.toolResult !== undefined);

/** Tool results the framework writes itself when a call fails (Bedrock drops `status` for most models). */
const FRAMEWORK_ERROR = /^\s*(?:error\b|tool '[^']{0,100}' (?:not found|did not return))/i;

function outcomeOf(result: Json): Outcome {
  const content = Array.isArray(result.content) ? (result.content as unknown[]).slice(0, AGENT_MODEL_LIMITS.blocks) : [];
  let json: Json | undefined;
  const parts: string[] = [];
  for (const block of content) {
    if (!isRecord(block)) continue;
    if (json === undefined && isRecord(block.json)) json = block.json;
    if (typeof block.text === 'string') parts.push(cut(block.text, AGENT_MODEL_LIMITS.textChars));
  }
  const text = cut(parts.join('\n'), AGENT_MODEL_LIMITS.textChars);
  if (json === undefined && /^\s*\{/.test(text)) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (isRecord(parsed)) json = parsed;
    } catch {
      // not JSON: the text is the result
    }
  }
  const failed =
    result.status === 'error' ||
    (result.status === undefined && json === undefined && FRAMEWORK_ERROR.test(text)) ||
    (json !== undefined && (typeof json.error === 'string' || json.status === 'error'));
  return { ok: !failed, json, text };
}

function currentTurn(messages: readonly AgentModelMessage[]): Turn | undefined {
  const recent = messages.slice(-AGENT_MODEL_LIMITS.messages);
  let start = -1;
  for (let i = recent.length - 1; i >= 0; i--) {
    if (isUserText(recent[i] as AgentModelMessage)) {
      start = i;
      break;
    }
  }
  if (start < 0) return undefined;
  const text = cut(texts((recent[start] as AgentModelMessage).content).join('\n'), AGENT_MODEL_LIMITS.textChars).trim();
  const calls: TurnCall[] = [];
  const byId = new Map<string, TurnCall>();
  for (const message of recent.slice(start + 1)) {
    for (const block of message.content.slice(0, AGENT_MODEL_LIMITS.blocks)) {
      const use = block.toolUse;
      if (isRecord(use) && typeof use.toolUseId === 'string' && typeof use.name === 'string') {
        const call: TurnCall = { name: use.name, input: isRecord(use.input) ? use.input : {} };
        calls.push(call);
        byId.set(use.toolUseId, call);
      }
      const result = block.toolResult;
      if (isRecord(result) && typeof result.toolUseId === 'string') {
        const call = byId.get(result.toolUseId);
        if (call) call.outcome = outcomeOf(result);
      }
    }
  }
  return { text, calls };
}

// ---------------------------------------------------------------------------------------
// Reading the request

const NUMBER_WORDS: Record<string, number> = { one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, eleven: 11, twelve: 12 };
const ORDINAL_WORDS: Record<string, number> = { first: 1, second: 2, third: 3, fourth: 4, fifth: 5, sixth: 6, seventh: 7, eighth: 8, ninth: 9, tenth: 10, eleventh: 11, twelfth: 12 };
const NUM = `(?:\\d{1,5}|${Object.keys(NUMBER_WORDS).join('|')})`;
const ORDINAL = `(?:\\d{1,5}(?:st|nd|rd|th)|${Object.keys(ORDINAL_WORDS).join('|')})`;

function numberOf(word: string): number | undefined {
  const w = word.toLowerCase();
  if (/^\d+/.test(w)) return Number.parseInt(w, 10);
  return NUMBER_WORDS[w] ?? ORDINAL_WORDS[w];
}

/**
 * The numbers of the things `noun` names: "panel 2", "panels 2 and 4", "the third picture".
 * `noun` is a regex fragment of ours (a word or PICTURE_NOUN's alternation), never user text: it is not escaped.
 */
function targets(lower: string, noun: string): number[] {
  const list = new RegExp(`\\b${noun}s?\\s*(?:#\\s*|no\\.?\\s*|number\\s*)?(${NUM}(?:\\s*(?:,\\s*and|,|&|and)\\s*(?:${noun}s?\\s*)?${NUM}){0,11})\\b`, 'g');
  const ordinal = new RegExp(`\\b(${ORDINAL})\\s+${noun}\\b`, 'g');
  const found: number[] = [];
  for (const m of lower.matchAll(list)) for (const w of (m[1] ?? '').match(new RegExp(NUM, 'g')) ?? []) found.push(numberOf(w) ?? 0);
  for (const m of lower.matchAll(ordinal)) found.push(numberOf(m[1] ?? '') ?? 0);
  return [...new Set(found.filter((n) => n >= 1 && n <= 10_000))].slice(0, MAX_TARGETS);
}

const PICTURE_NOUN = '(?:panel|picture|image|illustration|drawing|pic)';

const TONES = ['playful', 'gentle', 'adventurous', 'informative', 'funny', 'silly', 'calm', 'cozy', 'spooky', 'exciting', 'warm', 'serious', 'whimsical', 'mysterious', 'dramatic', 'heartwarming', 'cheerful', 'hopeful', 'thoughtful', 'curious', 'lighthearted', 'light-hearted', 'scary', 'sad', 'happy'];
const TONE_PATTERN = new RegExp(`\\b(${TONES.join('|')})\\b`);

const ART_STYLES = ['watercolor', 'watercolour', 'pencil sketch', 'pencil', 'crayon', 'cartoon', 'comic book', 'comic', 'anime', 'manga', 'pixel art', 'oil painting', 'collage', 'claymation', 'clay', 'ink', 'pastel', 'chalk', 'papercut', 'paper cut', 'woodcut', '3d', 'charcoal', 'gouache', 'line art', 'photorealistic', 'storybook'];
const ART_STYLE_PATTERN = new RegExp(`\\b(${ART_STYLES.join('|')})\\b`);

const STORY_NOUN = '(?:story|stories|tale|tales|fable|podcast|audiobook)';
/** "a story", "an audio story", "a 6-panel non-fiction story", "another tale", "a story about …" */
const NEW_STORY = new RegExp(`\\b(?:a|an|new|another|one|some)\\s+(?:[a-z0-9'’,-]+\\s+){0,6}?${STORY_NOUN}\\b|(?<!\\b(?:the|this|that|my|your|our|its)\\s)\\b${STORY_NOUN}\\s+(?:about|on|where)\\b`);
const OUTLINE_ONLY = /\b(?:outline|plan)\s+(?:a|an|the|my|me\s+an?)\b|\b(?:an|the|just\s+the|only\s+the|just\s+an|only\s+an)\s+outline\b/;
const OUTLINE_TO_FOLLOW = /\b(?:follow|following|using|use|from|with|based\s+on)\s+(?:this|my|the|an|that|your)\s+outline\b/;
const WHOLE_STORY = /\b(?:whole|full|complete|entire)\s+(?:story|thing)\b|\b(?:then|and|also)\s+(?:write|tell|make)\b/;
const NARRATE = /\b(?:narrat\w*|read\s+(?:it\s+|this\s+|that\s+|the\s+story\s+)?(?:aloud|out\s+loud)|aloud|out\s+loud|voice-?over|voices?|audio|audiobook|podcast|listen\w*)\b/;
const ILLUSTRATE = /\b(?:illustrat\w*|draw|drawn|drawings?|paint|painted|paintings?|pictures?|images?|panels?|pics?)\b/;
const RESEARCH = /\b(?:research\w*|look\s+(?:it\s+|them\s+|this\s+)?up|look\s+into|search\w*|find\s+(?:out|facts|information))\b/;
const TOPIC_IDEAS = /\b(?:ideas?\s+for|suggest\w*|topic\s+ideas?|what\s+(?:should|could|can)\s+i\s+write)\b/;
const AUDIO_STORY = /\baudio(?:book)?\b|\bpodcast\b|\bradio\s+play\b/;

/** Where a subject stops: "how bees make honey| for grade 3, with pictures". */
const SUBJECT_END =
  /\s+(?:for\s+(?:grade|year|kids|children|readers|ages?|my|a|an|the|young|early|little|\d)|with\s|in\s+(?:\d|a\s|an\s|the\s+style)|as\s+(?:a|an)\s|and\s+(?:illustrate|narrate|read|draw|make|add|include|then|also|show|put|give|use|keep)|that\s+(?:is|has|includes)\b|please\b)|[,.;!?(:\n]|\s[-–—]\s/i;

/** What the user wants the story (or the search) to be about, in a few words. */
function subjectOf(text: string): string {
  const flat = cut(text, 4000).replace(/\s+/g, ' ').trim();
  const starts = [/\babout\s+/i, new RegExp(`\\b${STORY_NOUN}\\s+(?:on|of)\\s+`, 'i'), /\b(?:research|look\s+up|look\s+into|search\s+for|search|find\s+out\s+about|find\s+out|ideas?\s+for)\s+/i];
  for (const start of starts) {
    const m = start.exec(flat);
    if (!m) continue;
    const rest = flat.slice(m.index + m[0].length);
    const end = SUBJECT_END.exec(rest);
    const subject = (end ? rest.slice(0, end.index) : rest).replace(/^(?:the\s+topic\s+of\s+)/i, '').trim();
    if (subject) return quote(subject, QUERY_MAX_CHARS);
  }
  const bare = flat.replace(/^(?:please\s+|(?:can|could|would)\s+you\s+|i\s+(?:want|would\s+like|'d\s+like)\s+)*(?:write|make|create|tell|give|generate|compose|research|outline)?\s*(?:me\s+)?/i, '');
  const end = SUBJECT_END.exec(bare);
  return quote((end && end.index > 0 ? bare.slice(0, end.index) : bare) || flat || 'story ideas', QUERY_MAX_CHARS);
}

/** A title from the subject: "how bees make honey" → "How Bees Make Honey" (short words stay small). */
function titleOf(subject: string): string {
  const small = new Set(['a', 'an', 'and', 'at', 'for', 'in', 'of', 'on', 'or', 'the', 'to', 'with']);
  const words = cut(subject, 120).split(' ').filter(Boolean);
  return words.map((w, i) => (i > 0 && small.has(w.toLowerCase()) ? w.toLowerCase() : `${w.charAt(0).toUpperCase()}${w.slice(1)}`)).join(' ') || 'A New Story';
}

interface Brief {
  genre: 'fiction' | 'non-fiction';
  reading_level: string;
  tone: string;
  story_type: 'visual' | 'audio';
  number_of_speakers: number;
  panels?: number;
  audio_length?: number;
}

function readingLevelOf(lower: string): string {
  const grade = /\b(grade|year)\s*(\d{1,2})\b/.exec(lower);
  if (grade) return `${grade[1]} ${Number(grade[2])}`;
  const nth = new RegExp(`\\b(${ORDINAL})[\\s-]*grade(?:rs?)?\\b`).exec(lower);
  if (nth) return `grade ${numberOf(nth[1] ?? '') ?? 3}`;
  if (/\bkindergarten\b/.test(lower)) return 'kindergarten';
  if (/\bpre-?school\w*\b/.test(lower)) return 'preschool';
  if (/\bearly\s+readers?\b/.test(lower)) return 'early reader';
  if (/\byoung\s+adults?\b/.test(lower)) return 'young adult';
  if (/\bteen(?:s|agers?)?\b/.test(lower)) return 'teen';
  const ages = /\bages?\s+(\d{1,2})(?:\s*(?:-|–|to)\s*(\d{1,2}))?\b/.exec(lower);
  if (ages) return ages[2] ? `ages ${ages[1]}-${ages[2]}` : `age ${ages[1]}`;
  const old = /\b(\d{1,2})[\s-]*years?[\s-]*olds?\b/.exec(lower);
  if (old) return `age ${old[1]}`;
  return 'grade 3';
}

function countBefore(lower: string, nouns: string): number | undefined {
  const m = new RegExp(`\\b(${NUM})[\\s-]*(?:${nouns})\\b`).exec(lower);
  return m ? numberOf(m[1] ?? '') : undefined;
}

function briefOf(lower: string): Brief {
  const explicitNonFiction = /\bnon[\s-]?fiction\b/.test(lower);
  const explicitFiction = /\bfiction\b/.test(lower.replace(/\bnon[\s-]?fiction\b/g, ' '));
  const factual = /\bfacts?\b|\bfactual\b|\btrue\s+story\b|\beducational\b|\bhow\s+(?:[\w'’-]+\s+){0,5}?(?:work|works|worked|make|makes|made|grow|grows)\b/.test(lower);
  const genre = explicitNonFiction || (!explicitFiction && factual) ? 'non-fiction' : 'fiction';
  const panelsSaid = countBefore(lower, 'panels?|pictures?|scenes?|pages?');
  const pictures = ILLUSTRATE.test(lower);
  const story_type = AUDIO_STORY.test(lower) && panelsSaid === undefined && !pictures ? 'audio' : 'visual';
  const tone = TONE_PATTERN.exec(lower)?.[1] ?? (genre === 'non-fiction' ? 'informative' : 'playful');
  const speakers = countBefore(lower, 'speakers?|characters?|voices?');
  const brief: Brief = {
    genre,
    reading_level: readingLevelOf(lower),
    tone,
    story_type,
    number_of_speakers: clamp(speakers ?? DEFAULT_SPEAKERS, SPEAKERS_MIN, SPEAKERS_MAX),
  };
  if (story_type === 'visual') brief.panels = clamp(panelsSaid ?? DEFAULT_PANELS, PANELS_MIN, PANELS_MAX);
  else brief.audio_length = clamp(countBefore(lower, 'minutes?|mins?') ?? DEFAULT_AUDIO_MINUTES, AUDIO_MINUTES_MIN, AUDIO_MINUTES_MAX);
  return brief;
}

const wantsResearch = (lower: string, brief: Brief) => brief.genre === 'non-fiction' || RESEARCH.test(lower) || /\bfacts?\b/.test(lower);
const artStyleOf = (lower: string): string | undefined => ART_STYLE_PATTERN.exec(lower)?.[1];

// ---------------------------------------------------------------------------------------
// Tool results

interface Done {
  tool: AgentToolName;
  input: Json;
  outcome?: Outcome;
}

const resultOf = (done: readonly Done[], tool: AgentToolName): Json | undefined => done.find((d) => d.tool === tool)?.outcome?.json;

interface Source {
  title: string;
  url: string;
  snippet: string;
}

type SearchNews = { kind: 'ok'; sources: Source[] } | { kind: 'unavailable'; reason: string } | { kind: 'none' };

function searchNews(done: readonly Done[]): SearchNews {
  const step = done.find((d) => d.tool === AGENT_TOOL.webSearch);
  if (!step) return { kind: 'none' };
  const json = step.outcome?.json;
  if (json?.status === 'unavailable') return { kind: 'unavailable', reason: quote(typeof json.reason === 'string' ? json.reason : 'no reason given', AGENT_MODEL_LIMITS.errorChars) };
  const results = Array.isArray(json?.results) ? (json.results as unknown[]) : [];
  const sources: Source[] = [];
  for (const r of results.slice(0, 10)) {
    if (sources.length >= AGENT_MODEL_LIMITS.sources) break;
    if (!isRecord(r) || typeof r.url !== 'string') continue;
    const url = quote(r.url, 2048);
    sources.push({ title: quote(typeof r.title === 'string' && r.title.trim() ? r.title : url, 300), url, snippet: quote(typeof r.snippet === 'string' ? r.snippet : '', 1000) });
  }
  return { kind: 'ok', sources };
}

function factsOf(done: readonly Done[]): string {
  const news = searchNews(done);
  if (news.kind !== 'ok') return '';
  return news.sources
    .map((s) => s.snippet)
    .filter(Boolean)
    .join(' ');
}

function ideaOf(text: string, done: readonly Done[]): string {
  const facts = factsOf(done);
  const idea = facts ? `${text}\n\nFacts: ${facts}` : text;
  return cut(idea, IDEA_MAX_CHARS).trim() || 'a story';
}

function searchSentence(done: readonly Done[], made: string): string {
  const news = searchNews(done);
  if (news.kind === 'unavailable') return `Search is unavailable right now (${news.reason}), so ${made} from what I already know.`;
  if (news.kind === 'ok' && news.sources.length === 0) return `The search found nothing useful, so ${made} from what I already know.`;
  if (news.kind === 'ok') return `Sources: ${news.sources.map((s) => `${s.title} (${s.url})`).join('; ')}.`;
  return '';
}

function countOf(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.floor(v);
  if (Array.isArray(v)) return v.length;
  return undefined;
}

const field = (json: Json | undefined, key: string, max = 200): string | undefined => {
  const v = json?.[key];
  return typeof v === 'string' && v.trim() ? quote(v, max) : undefined;
};

function seconds(v: unknown): string | undefined {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return undefined;
  const s = Math.round(v);
  return s >= 60 ? `${s} seconds (${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')})` : `${s} seconds`;
}

function failureText(done: Done): string {
  const o = done.outcome;
  const message = field(o?.json, 'error', AGENT_MODEL_LIMITS.errorChars) ?? field(o?.json, 'message', AGENT_MODEL_LIMITS.errorChars) ?? (o?.text.trim() ? quote(o.text, AGENT_MODEL_LIMITS.errorChars) : undefined) ?? (o?.json ? quote(JSON.stringify(o.json), AGENT_MODEL_LIMITS.errorChars) : 'no reason given');
  return `Sorry, ${done.tool} failed: “${message.replace(/^error:\s*/i, '')}”. I stopped there; tell me what to change and I'll try again.`;
}

// ---------------------------------------------------------------------------------------
// Plans

interface Step {
  tool: AgentToolName;
  /** The input, from the user's words and the steps done before it. */
  input: (done: readonly Done[]) => Json;
}

interface Plan {
  /** The tool the plan cannot do without. */
  needs: AgentToolName;
  /** Groups of steps in order; the steps of a group are called together. */
  groups: Step[][];
  /** The final answer, from the steps done. */
  summary: (done: readonly Done[]) => string;
}

let writer: OfflineStoryWriter | undefined;

/** The outline the model "writes" itself: the offline story writer's, in write_story's shape. */
function outlineFor(brief: Brief, idea: string): Json[] | undefined {
  writer ??= new OfflineStoryWriter();
  const input: OutlineRequest = { ...brief, user_input_description: idea };
  let result: unknown;
  try {
    result = writer.write({ kind: 'outline', input }, String(hashString(idea)));
  } catch {
    return undefined;
  }
  const parts = isRecord(result) && Array.isArray(result.story_parts) ? (result.story_parts as unknown[]) : [];
  const outline: Json[] = [];
  for (const p of parts.slice(0, 3)) {
    if (!isRecord(p) || typeof p.story_part !== 'string' || typeof p.story_part_summary !== 'string') continue;
    const part = quote(p.story_part, 50);
    const summary = cut(p.story_part_summary.trim(), 5000).trim();
    if (!part || !summary) continue;
    const speakers = (Array.isArray(p.story_part_speakers) ? (p.story_part_speakers as unknown[]) : [])
      .filter((s): s is string => typeof s === 'string' && s.trim().length > 0)
      .map((s) => quote(s, 100))
      .slice(0, 8);
    outline.push({ story_part: part, story_part_summary: summary, story_part_speakers: speakers });
  }
  return outline.length > 0 ? outline : undefined;
}

const NEXT = 'You can ask me to rewrite a segment, redraw a panel, or narrate the story.';

function storyPlan(text: string, lower: string, offered: ReadonlySet<string>): Plan {
  const brief = briefOf(lower);
  const illustrate = brief.story_type === 'visual' && ILLUSTRATE.test(lower);
  const narrate = NARRATE.test(lower);
  const groups: Step[][] = [];
  if (wantsResearch(lower, brief)) groups.push([{ tool: AGENT_TOOL.webSearch, input: () => ({ query: subjectOf(text), max_results: AGENT_MODEL_LIMITS.sources }) }]);
  groups.push([
    {
      tool: AGENT_TOOL.writeStory,
      input: (done) => {
        const idea = ideaOf(text, done);
        const outline = outlineFor(brief, idea);
        return { ...brief, title: titleOf(subjectOf(text)), idea, ...(outline ? { outline } : {}), illustrate, art_style: artStyleOf(lower) ?? DEFAULT_ART_STYLE };
      },
    },
  ]);
  if (narrate) groups.push([{ tool: AGENT_TOOL.narrateStory, input: () => ({}) }]);
  return {
    needs: AGENT_TOOL.writeStory,
    groups,
    summary: (done) => {
      const story = resultOf(done, AGENT_TOOL.writeStory);
      const title = field(story, 'title');
      const sections = countOf(story?.sections);
      const pictures = story?.panels_illustrating === true ? 'the pictures are being drawn' : countOf(story?.panels_illustrating) ? `${countOf(story?.panels_illustrating)} pictures are being drawn` : '';
      const job = field(story, 'job_id', 128);
      const lines = [`I wrote ${title ? `“${title}”` : 'your story'}${sections ? ` in ${sections} sections` : ''}${pictures ? `, and ${pictures}` : ''}.${job ? ` (Story job ${job}.)` : ''}`];
      const narration = done.find((d) => d.tool === AGENT_TOOL.narrateStory);
      if (narration) {
        const length = seconds(narration.outcome?.json?.total_seconds);
        lines.push(length ? `I narrated it: ${length} of audio.` : 'I narrated it.');
      }
      const search = searchSentence(done, 'I wrote it');
      if (search) lines.push(search);
      lines.push(offered.has(AGENT_TOOL.narrateStory) && !narration ? NEXT : 'You can ask me to rewrite a segment or redraw a panel.');
      return lines.join(' ');
    },
  };
}

function outlinePlan(text: string, lower: string): Plan {
  const brief = briefOf(lower);
  const groups: Step[][] = [];
  if (wantsResearch(lower, brief)) groups.push([{ tool: AGENT_TOOL.webSearch, input: () => ({ query: subjectOf(text), max_results: AGENT_MODEL_LIMITS.sources }) }]);
  groups.push([{ tool: AGENT_TOOL.outlineStory, input: (done) => ({ ...brief, idea: ideaOf(text, done) }) }]);
  return {
    needs: AGENT_TOOL.outlineStory,
    groups,
    summary: (done) => {
      const outline = resultOf(done, AGENT_TOOL.outlineStory);
      const parts = (Array.isArray(outline?.story_parts) ? (outline.story_parts as unknown[]) : []).filter(isRecord).slice(0, 3);
      const described = parts
        .map((p) => (typeof p.story_part === 'string' && typeof p.story_part_summary === 'string' ? `${quote(p.story_part, 50)}: ${quote(p.story_part_summary, 300)}` : ''))
        .filter(Boolean);
      const lines = [described.length ? `Here is the outline. ${described.join(' ')}` : 'The outline is ready.'];
      const search = searchSentence(done, 'I outlined it');
      if (search) lines.push(search);
      lines.push('Tell me what to change, or ask me to write the whole story.');
      return lines.join(' ');
    },
  };
}

function redrawPlan(text: string, panels: number[]): Plan {
  const request = quote(text, REQUEST_MAX_CHARS);
  return {
    needs: AGENT_TOOL.redrawPanel,
    groups: [panels.map((panel) => ({ tool: AGENT_TOOL.redrawPanel, input: () => ({ panel, request }) }))],
    summary: (done) => {
      const lines = done
        .filter((d) => d.tool === AGENT_TOOL.redrawPanel)
        .map((d) => {
          const json = d.outcome?.json;
          const picture = isRecord(json?.panel) ? json.panel : json;
          const where = field(picture, 's3_uri', 2048) ?? field(picture, 'url', 2048) ?? field(picture, 'image_url', 2048);
          return `I redrew panel ${String(d.input.panel)}${where ? `; the new picture is at ${where}` : ''}.`;
        });
      return `${lines.join(' ')} The other pictures stay as they are.`;
    },
  };
}

function rewritePlan(text: string, segments: number[]): Plan {
  const request = quote(text, REQUEST_MAX_CHARS);
  return {
    needs: AGENT_TOOL.rewriteSegment,
    // One at a time: a rewrite reads the story as the one before it left it.
    groups: segments.map((segment_number) => [{ tool: AGENT_TOOL.rewriteSegment, input: () => ({ segment_number, request }) }]),
    summary: (done) => {
      const lines = done
        .filter((d) => d.tool === AGENT_TOOL.rewriteSegment)
        .map((d) => {
          const json = d.outcome?.json;
          const segment = isRecord(json?.segment) ? json.segment : json;
          const content = field(segment, 'segment_content', 300) ?? field(segment, 'text', 300);
          return `I rewrote segment ${String(d.input.segment_number)}${content ? `: “${content}”` : ''}.`;
        });
      return `${lines.join(' ')} The rest of the story stays as it is.`;
    },
  };
}

function illustrateNarratePlan(lower: string, illustrate: boolean, narrate: boolean): Plan {
  const style = artStyleOf(lower);
  const groups: Step[][] = [];
  if (illustrate) groups.push([{ tool: AGENT_TOOL.illustrateStory, input: () => (style ? { art_style: style } : {}) }]);
  if (narrate) groups.push([{ tool: AGENT_TOOL.narrateStory, input: () => ({}) }]);
  return {
    needs: illustrate ? AGENT_TOOL.illustrateStory : AGENT_TOOL.narrateStory,
    groups,
    summary: (done) => {
      const lines: string[] = [];
      const pictures = resultOf(done, AGENT_TOOL.illustrateStory);
      if (done.some((d) => d.tool === AGENT_TOOL.illustrateStory)) {
        const n = countOf(pictures?.panels_illustrating) ?? countOf(pictures?.panels) ?? countOf(pictures?.pictures);
        lines.push(n ? `I'm drawing ${n} pictures for the story.` : "I'm drawing the pictures for the story.");
      }
      const narration = resultOf(done, AGENT_TOOL.narrateStory);
      if (done.some((d) => d.tool === AGENT_TOOL.narrateStory)) {
        const length = seconds(narration?.total_seconds);
        lines.push(length ? `The narration is ready: ${length} of audio.` : 'The narration is ready.');
      }
      lines.push('You can ask me to redraw a panel or rewrite a segment.');
      return lines.join(' ');
    },
  };
}

function researchPlan(text: string): Plan {
  const query = subjectOf(text);
  return {
    needs: AGENT_TOOL.webSearch,
    groups: [[{ tool: AGENT_TOOL.webSearch, input: () => ({ query, max_results: AGENT_MODEL_LIMITS.sources }) }]],
    summary: (done) => {
      const news = searchNews(done);
      if (news.kind === 'unavailable') return `Search is unavailable right now (${news.reason}). I can still write a story about ${query} from what I know.`;
      if (news.kind === 'ok' && news.sources.length) return `I looked up “${query}”. Sources: ${news.sources.map((s) => `${s.title} (${s.url})`).join('; ')}. Ask me for a story about it when you're ready.`;
      return `I looked up “${query}” but found nothing useful. Ask me for a story about it and I'll write from what I know.`;
    },
  };
}

function topicsPlan(text: string, lower: string): Plan {
  const genre = briefOf(lower).genre;
  const topics = cut(subjectOf(text), TOPICS_MAX_CHARS);
  return {
    needs: AGENT_TOOL.topicIdeas,
    groups: [[{ tool: AGENT_TOOL.topicIdeas, input: () => ({ genre, topics }) }]],
    summary: (done) => {
      const ideas = resultOf(done, AGENT_TOOL.topicIdeas);
      const parts = ['subject_category', 'scope_coverage', 'structure', 'tone'].map((k) => field(ideas, k, 300)).filter(Boolean);
      return `${parts.length ? `${parts.join(' ')} ` : 'Here are some ideas. '}Ask me to write the story when you like one.`;
    },
  };
}

/**
 * The plan the user's words ask for, first match wins:
 *  1. topic ideas ("ideas for …", "suggest …") → topic_ideas
 *  2. an outline only ("outline a story about …", "just the outline") → [web_search] → outline_story
 *  3. a new story ("a story …", "a 6-panel story …", "story about …") → [web_search] → write_story → [narrate_story]
 *  4. one or more panels named ("make panel 2 at night") → redraw_panel for each, together
 *  5. one or more segments named ("rewrite segment 4 …") → rewrite_segment for each, in turn
 *  6. illustrate and/or narrate the current story → illustrate_story, narrate_story
 *  7. research alone ("look up …") → web_search
 */
function planFor(text: string, offered: ReadonlySet<string>): Plan | undefined {
  const lower = text.toLowerCase().replace(/\s+/g, ' ');
  if (TOPIC_IDEAS.test(lower)) return topicsPlan(text, lower);
  if (OUTLINE_ONLY.test(lower) && !OUTLINE_TO_FOLLOW.test(lower) && !WHOLE_STORY.test(lower)) return outlinePlan(text, lower);
  if (NEW_STORY.test(lower)) return storyPlan(text, lower, offered);
  const panels = targets(lower, PICTURE_NOUN);
  if (panels.length) return redrawPlan(text, panels);
  const segments = targets(lower, 'segment');
  if (segments.length) return rewritePlan(text, segments);
  const illustrate = ILLUSTRATE.test(lower);
  const narrate = NARRATE.test(lower);
  if (illustrate || narrate) return illustrateNarratePlan(lower, illustrate, narrate);
  if (RESEARCH.test(lower)) return researchPlan(text);
  return undefined;
}

function helpText(offered: ReadonlySet<string>): string {
  const can: string[] = [];
  if (offered.has(AGENT_TOOL.writeStory)) can.push('write a new story (with research, pictures and narration)');
  if (offered.has(AGENT_TOOL.outlineStory)) can.push('outline one first');
  if (offered.has(AGENT_TOOL.rewriteSegment)) can.push('rewrite one segment');
  if (offered.has(AGENT_TOOL.redrawPanel)) can.push('redraw one panel');
  if (offered.has(AGENT_TOOL.illustrateStory)) can.push('illustrate the story');
  if (offered.has(AGENT_TOOL.narrateStory)) can.push('narrate it');
  const list = can.length > 1 ? `${can.slice(0, -1).join(', ')} or ${can.at(-1)}` : (can[0] ?? 'talk about stories');
  return `I can ${list}. Try: “Write a 6-panel non-fiction story about how bees make honey for grade 3, with pictures.”`;
}

/**
 * The model's next answer: the tool calls of the plan's next step (ids from `ids`), or the
 * final text once every step is done, a step failed, or no plan applies.
 */
export function agentReply(request: AgentModelRequest, ids: () => string): AgentReply {
  const offered = new Set(request.tools);
  const turn = currentTurn(request.messages);
  const plan = turn?.text ? planFor(turn.text, offered) : undefined;
  if (!turn || !plan) return { kind: 'text', text: helpText(offered) };
  if (!offered.has(plan.needs)) return { kind: 'text', text: `I can't do that here: ${plan.needs} is not one of my tools right now. ${helpText(offered)}` };
  const done: Done[] = [];
  let cursor = 0;
  for (const group of plan.groups) {
    const pending: Step[] = [];
    for (const step of group) {
      if (!offered.has(step.tool)) continue;
      const at = turn.calls.findIndex((c, i) => i >= cursor && c.name === step.tool);
      if (at < 0) {
        pending.push(step);
        continue;
      }
      cursor = at + 1;
      const call = turn.calls[at] as TurnCall;
      const finished: Done = { tool: step.tool, input: call.input, outcome: call.outcome };
      if (call.outcome && !call.outcome.ok) return { kind: 'text', text: failureText(finished) };
      done.push(finished);
    }
    if (pending.length) return { kind: 'tool', calls: pending.map((step) => ({ toolUseId: ids(), name: step.tool, input: step.input(done) })) };
  }
  return { kind: 'text', text: plan.summary(done) };
}
