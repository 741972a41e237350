/**
 * The agent page's data: the session shapes from the generated API types, and a turn's
 * transcript built from the stream's events as they come (append-only, so an item's index is
 * its key; pictures, narration and files gather into one item each, updated in place).
 */
import type { Ok, Result } from '../api/client';
import type { StreamEvent } from '../api/events';

export type SessionList = Result<'/agent/sessions', 'get'>;
export type SessionInfo = SessionList['sessions'][number];
export type SessionDetail = Result<'/agent/sessions/{session_id}', 'get'>;
export type HistoryMessage = SessionDetail['messages'][number];
export type ArtifactInfo = SessionDetail['artifacts'][number];
/** The `result` event's envelope, and its result. */
export type MessageEnvelope = Ok<'/agent/sessions/{session_id}/messages', 'post'>;
export type AgentResult = Result<'/agent/sessions/{session_id}/messages', 'post'>;

export interface Picture {
  panel: number;
  url: string | null;
}

export interface NarrationPart {
  /** null: the whole story in one file. */
  section: number | null;
  url: string | null;
  seconds: number | null;
}

export interface FileLink {
  path: string;
  size: number;
  contentType: string;
  url: string | null;
}

export type TurnItem =
  | { kind: 'text'; text: string }
  | { kind: 'call'; tool: string; summary: string }
  | { kind: 'progress'; tool: string; stage: string; detail: string | null; section: number | null; text: string | null; done: number | null; of: number | null }
  | { kind: 'result'; tool: string; status: string; summary: string }
  | { kind: 'sources'; query: string; ok: boolean; engine: string | null; results: { title: string; url: string }[]; reason: string | null }
  | { kind: 'pictures'; jobId: string; of: number; pictures: Picture[] }
  | { kind: 'narration'; jobId: string; done: number; of: number; parts: NarrationPart[] }
  | { kind: 'files'; files: FileLink[] };

export type TurnStatus = 'running' | 'done' | 'failed';

export interface Turn {
  id: number;
  message: string;
  items: TurnItem[];
  status: TurnStatus;
  /** What is happening now, in words (announced politely). */
  activity: string;
  error?: unknown;
  result?: AgentResult;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1).trimEnd()}…`;
}

/**
 * The top-level fields of a JSON object, even when the text was cut short (the stream
 * summarises tool inputs and results to a few hundred characters): whatever parses, else the
 * string, number and boolean fields (and array lengths are unknown) found before the cut.
 */
export function jsonFields(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    if (!text.trimStart().startsWith('{')) return undefined;
  }
  const out: Record<string, unknown> = {};
  // Depth-aware: only the object's own fields, not those of the objects inside it.
  let depth = 0;
  let i = 0;
  const str = /"((?:[^"\\]|\\.)*)"/y;
  const prim = /\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/y;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '"') {
      str.lastIndex = i;
      const m = str.exec(text);
      if (!m) break;
      i = str.lastIndex;
      if (depth !== 1) continue;
      prim.lastIndex = i;
      const v = prim.exec(text);
      if (!v) continue;
      i = prim.lastIndex;
      try {
        const key = JSON.parse(`"${m[1] as string}"`) as string;
        if (!(key in out)) out[key] = JSON.parse(v[1] as string) as unknown;
      } catch {
        // a piece that does not parse: skipped
      }
      continue;
    }
    if (c === '{' || c === '[') depth += 1;
    else if (c === '}' || c === ']') depth -= 1;
    i += 1;
  }
  return Object.keys(out).length ? out : undefined;
}

/** The fields of a tool's input worth a glance, in one short line. */
const INPUT_KEYS = ['query', 'title', 'panels', 'audio_length', 'story_type', 'genre', 'reading_level', 'panel', 'segment_number', 'request', 'art_style', 'sections', 'path', 'topics', 'idea'];

export function inputSummary(input: unknown): string {
  const record = typeof input === 'string' ? jsonFields(input) : typeof input === 'object' && input !== null && !Array.isArray(input) ? (input as Record<string, unknown>) : undefined;
  if (!record) return typeof input === 'string' ? clip(input, 120) : input === undefined || input === null ? '' : clip(JSON.stringify(input), 120);
  const parts: string[] = [];
  for (const key of INPUT_KEYS) {
    const v = record[key];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') parts.push(`${key.replace(/_/g, ' ')}: ${clip(String(v), 60)}`);
    else if (Array.isArray(v)) parts.push(`${key.replace(/_/g, ' ')}: ${v.length}`);
    if (parts.length >= 4) break;
  }
  return clip(parts.join(' · '), 160);
}

/** A tool result's summary in a line: its JSON's main fields, or its text. */
export function resultSummary(summary: string | undefined): string {
  if (!summary) return '';
  const r = jsonFields(summary);
  if (r) {
    const bits: string[] = [];
    if (typeof r.title === 'string') bits.push(`“${clip(r.title, 60)}”`);
    if (typeof r.sections === 'number') bits.push(`${r.sections} sections`);
    if (typeof r.panels_illustrating === 'number' && r.panels_illustrating > 0) bits.push(`${r.panels_illustrating} pictures`);
    if (typeof r.panels === 'number') bits.push(`${r.panels} pictures`);
    if (typeof r.sources === 'number' && r.sources > 0) bits.push(`${r.sources} sources`);
    if (Array.isArray(r.results)) bits.push(`${r.results.length} results`);
    else if (typeof r.engine === 'string') bits.push(`via ${r.engine}`);
    if (typeof r.total_seconds === 'number') bits.push(`${Math.round(r.total_seconds)} s of audio`);
    if (typeof r.segment_number === 'number') bits.push(`segment ${r.segment_number}`);
    if (typeof r.panel === 'number') bits.push(`panel ${r.panel}`);
    if (typeof r.path === 'string') bits.push(r.path);
    if (typeof r.reason === 'string') bits.push(clip(r.reason, 120));
    if (typeof r.error === 'string') bits.push(clip(r.error, 120));
    if (bits.length) return bits.join(', ');
  }
  return clip(summary, 160);
}

const TOOL_WORDS: Record<string, string> = {
  web_search: 'Searching the web',
  topic_ideas: 'Thinking of topics',
  outline_story: 'Outlining the story',
  write_story: 'Writing the story',
  rewrite_segment: 'Rewriting a segment',
  illustrate_story: 'Drawing the pictures',
  redraw_panel: 'Redrawing a panel',
  narrate_story: 'Narrating the story',
  write_artifact: 'Saving a file',
  read_artifact: 'Reading a file',
  list_artifacts: 'Listing the files',
};

export const toolWords = (tool: string): string => TOOL_WORDS[tool] ?? `Using ${tool.replace(/_/g, ' ')}`;

/** The turn after one event: its items and what is happening now. */
export function applyEvent(turn: Turn, e: StreamEvent): Turn {
  const items = turn.items.slice();
  let activity = turn.activity;
  switch (e.event) {
    case 'progress':
      activity = e.data.stage === 'accepted' ? 'The agent is working…' : `${e.data.stage}${e.data.detail ? `: ${e.data.detail}` : ''}`;
      break;
    case 'text': {
      const last = items.at(-1);
      if (last?.kind === 'text') items[items.length - 1] = { kind: 'text', text: last.text + e.data.delta };
      else items.push({ kind: 'text', text: e.data.delta });
      activity = 'The agent is answering…';
      break;
    }
    case 'tool_call':
      items.push({ kind: 'call', tool: e.data.tool, summary: inputSummary(e.data.input) });
      activity = `${toolWords(e.data.tool)}…`;
      break;
    case 'tool_progress': {
      const d = e.data;
      const item: TurnItem = { kind: 'progress', tool: d.tool, stage: str(d.stage) ?? 'working', detail: str(d.detail), section: num(d.section), text: str(d.text), done: num(d.done), of: num(d.of) };
      items.push(item);
      activity = item.section !== null && item.stage === 'section written' ? `Section ${item.section} written` : `${toolWords(d.tool)}: ${item.stage}${item.detail ? ` (${item.detail})` : ''}`;
      break;
    }
    case 'tool_result':
      items.push({ kind: 'result', tool: e.data.tool, status: e.data.status, summary: resultSummary(e.data.summary) });
      activity = `${toolWords(e.data.tool)}: ${e.data.status === 'success' ? 'done' : e.data.status}`;
      break;
    case 'sources': {
      const d = e.data;
      const ok = d.status === 'ok';
      items.push({ kind: 'sources', query: d.query, ok, engine: d.engine ?? null, results: (d.results ?? []).filter((r) => typeof r.url === 'string' && /^https?:\/\//i.test(r.url)).map((r) => ({ title: r.title || r.url, url: r.url })), reason: d.reason ?? null });
      activity = ok ? `Found ${d.results?.length ?? 0} sources` : 'Search is unavailable';
      break;
    }
    case 'media': {
      const d = e.data;
      const url = str(d.url);
      if (d.kind === 'image') {
        const panel = num(d.panel) ?? (num(d.done) ?? 1);
        const at = items.findIndex((i) => i.kind === 'pictures' && i.jobId === d.job_id);
        const prev = at >= 0 ? (items[at] as Extract<TurnItem, { kind: 'pictures' }>) : { kind: 'pictures' as const, jobId: d.job_id, of: 0, pictures: [] };
        const pictures = [...prev.pictures.filter((p) => p.panel !== panel), { panel, url }].sort((a, b) => a.panel - b.panel);
        const next: TurnItem = { kind: 'pictures', jobId: d.job_id, of: Math.max(prev.of, num(d.of) ?? 0, pictures.length), pictures };
        if (at >= 0) items[at] = next;
        else items.push(next);
        activity = `Picture ${pictures.length} of ${next.of} stored`;
      } else {
        const section = num(d.section);
        const at = items.findIndex((i) => i.kind === 'narration' && i.jobId === d.job_id);
        const prev = at >= 0 ? (items[at] as Extract<TurnItem, { kind: 'narration' }>) : { kind: 'narration' as const, jobId: d.job_id, done: 0, of: 0, parts: [] };
        const parts = [...prev.parts.filter((p) => p.section !== section), { section, url, seconds: num((d as Record<string, unknown>).duration_seconds) }].sort((a, b) => (a.section ?? -1) - (b.section ?? -1));
        const sections = parts.filter((p) => p.section !== null).length;
        const next: TurnItem = { kind: 'narration', jobId: d.job_id, done: Math.max(sections, num(d.done) ?? 0), of: Math.max(prev.of, num(d.of) ?? 0, sections), parts };
        if (at >= 0) items[at] = next;
        else items.push(next);
        activity = section === null ? 'The whole narration is stored' : `Section ${sections} of ${next.of} narrated`;
      }
      break;
    }
    case 'artifact': {
      const d = e.data;
      const file: FileLink = { path: d.path, size: d.size, contentType: d.content_type, url: str(d.url) };
      const at = items.findIndex((i) => i.kind === 'files');
      if (at >= 0) {
        const prev = items[at] as Extract<TurnItem, { kind: 'files' }>;
        items[at] = { kind: 'files', files: [...prev.files.filter((f) => f.path !== file.path), file] };
      } else items.push({ kind: 'files', files: [file] });
      activity = `Saved ${d.path}`;
      break;
    }
    default:
      return turn;
  }
  return { ...turn, items, activity };
}

/** The text the agent streamed in a turn. */
export const streamedText = (items: readonly TurnItem[]): string =>
  items
    .filter((i): i is Extract<TurnItem, { kind: 'text' }> => i.kind === 'text')
    .map((i) => i.text)
    .join('');

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function formatWhen(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

