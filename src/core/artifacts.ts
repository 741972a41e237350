/**
 * Agent sessions and their artifacts: the rules (ids, paths, content types, sizes, the
 * conversation window) and the `AgentSessionStore` port. No AWS SDK here; the S3
 * implementation is `src/aws/s3-agent-sessions.ts`.
 *
 * Layout, in the media bucket, under `users/<sub>/sessions/<session_id>/`:
 * - `metadata.json` — {@link AgentSessionMeta};
 * - `conversation.json` — the persisted conversation (an array of {@link ConversationMessage}), windowed;
 * - `artifacts/<path>` — files the agent writes ({@link validateArtifactPath});
 * - `logs/<timestamp>-<n>.json` — small log entries.
 *
 * A session id is claimed in the sessions table (`SessionStore.claimJob(sessionOwnerKey(id), sub)`)
 * by its creator: another user's session is a 403, one nobody has a 404.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { HttpError, badRequest } from './errors';

// ---------------------------------------------------------------------------------------------
// Limits

/** Bytes one artifact may hold. */
export const ARTIFACT_MAX_BYTES = 5 * 1024 * 1024;
/** Artifacts one session may hold. */
export const ARTIFACT_MAX_COUNT = 200;
export const ARTIFACT_PATH_MAX_CHARS = 200;
export const ARTIFACT_SEGMENT_MAX_CHARS = 64;
export const ARTIFACT_MAX_SEGMENTS = 8;
/** Messages the persisted conversation keeps at most (the newest). */
export const CONVERSATION_MAX_MESSAGES = 40;
/** Bytes of JSON the persisted conversation keeps at most. */
export const CONVERSATION_MAX_BYTES = 256 * 1024;
/** A stored conversation larger than this is not read (treated as corrupt). */
export const CONVERSATION_READ_MAX_BYTES = 1024 * 1024;
/** Bytes of JSON one log entry keeps at most (longer values are cut, see `fitJson`). */
export const LOG_ENTRY_MAX_BYTES = 8 * 1024;
export const SESSION_TITLE_MAX_CHARS = 200;
export const SESSION_LIST_MAX_LIMIT = 50;
export const SESSION_LIST_DEFAULT_LIMIT = 20;
/** S3 presigned URLs live at most 7 days. */
export const PRESIGN_MAX_SECONDS = 7 * 24 * 3600;

// ---------------------------------------------------------------------------------------------
// Session ids

/**
 * `s` + 9 base-36 digits of (10^13 − creation epoch ms) + `-` + 8 random base-36 characters:
 * S3's key order lists the newest session first.
 */
export const SESSION_ID_PATTERN = /^s[0-9a-z]{9}-[0-9a-z]{8}$/;
const SESSION_EPOCH_LIMIT = 10 ** 13;
const STAMP_WIDTH = 9;
const RANDOM_PATTERN = /^[0-9a-z]{8}$/;

/** `n` random base-36 characters (crypto-random). */
export function randomBase36(n = 8): string {
  let out = '';
  while (out.length < n) {
    // 252 = 7 × 36: bytes above it are skipped so every character is equally likely.
    for (const b of randomBytes(n)) if (b < 252 && out.length < n) out += (b % 36).toString(36);
  }
  return out;
}

/** A new, time-ordered session id; `random` must return 8 base-36 characters. */
export function newSessionId(now: number, random: () => string = () => randomBase36(8)): string {
  if (!Number.isInteger(now) || now < 0 || now >= SESSION_EPOCH_LIMIT) throw new RangeError(`session ids need an epoch time in ms below 10^13 (got ${now})`);
  const suffix = random();
  if (!RANDOM_PATTERN.test(suffix)) throw new Error('the session id suffix must be 8 base-36 characters');
  return `s${(SESSION_EPOCH_LIMIT - now).toString(36).padStart(STAMP_WIDTH, '0')}-${suffix}`;
}

/** The creation time (epoch ms) a valid session id carries. */
export function sessionIdTime(id: string): number {
  return SESSION_EPOCH_LIMIT - Number.parseInt(id.slice(1, 1 + STAMP_WIDTH), 36);
}

/** A session id from outside (path, body, cursor): 400 unless it has the pattern. */
export function validateSessionId(raw: unknown): string {
  if (typeof raw !== 'string' || !SESSION_ID_PATTERN.test(raw)) throw badRequest('session_id is not a valid session id');
  return raw;
}

/** The job id under which the sessions table records a session's owner (job ids allow ':'). */
export const sessionOwnerKey = (id: string): string => `agent-session:${id}`;

const SUB_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@:+-]{0,127}$/;

/** `users/<sub>/sessions/`: the caller's sessions. `sub` comes from a verified token; anything odd is a bug. */
export function sessionsPrefix(sub: string): string {
  if (!SUB_PATTERN.test(sub)) throw new Error('the caller id cannot be used in a storage key');
  return `users/${sub}/sessions/`;
}

/** `users/<sub>/sessions/<id>/`. */
export const sessionPrefix = (sub: string, id: string): string => `${sessionsPrefix(sub)}${id}/`;
export const ARTIFACTS_FOLDER = 'artifacts/';
export const LOGS_FOLDER = 'logs/';
export const METADATA_FILE = 'metadata.json';
export const CONVERSATION_FILE = 'conversation.json';

// ---------------------------------------------------------------------------------------------
// Artifact paths and content types

const SEGMENT_PATTERN = /^[A-Za-z0-9._-]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL_PATTERN = /[\u0000-\u001f\u007f]/;

const invalidPath = (rule: string): HttpError => badRequest(`artifact path is not valid: ${rule}`);

/**
 * A relative POSIX path of 1–200 characters: at most 8 segments of 1–64 characters from
 * `[A-Za-z0-9._-]`, none `.` or `..` or starting with `.`; no leading `/`, no backslashes, no
 * control characters, no empty segments. Paths are never URL-decoded (`%2e%2e` is rejected for
 * its `%`). Anything else is a 400 naming the rule.
 */
export function validateArtifactPath(path: string): string {
  if (typeof path !== 'string' || path.length === 0) throw invalidPath('it must not be empty');
  if (path.length > ARTIFACT_PATH_MAX_CHARS) throw invalidPath(`it must be at most ${ARTIFACT_PATH_MAX_CHARS} characters`);
  if (CONTROL_PATTERN.test(path)) throw invalidPath('it must not contain control characters (NUL included)');
  if (path.includes('\\')) throw invalidPath('it must use "/" as the separator, never "\\"');
  if (path.startsWith('/')) throw invalidPath('it must be relative (no leading "/")');
  const segments = path.split('/');
  if (segments.length > ARTIFACT_MAX_SEGMENTS) throw invalidPath(`it must have at most ${ARTIFACT_MAX_SEGMENTS} segments`);
  for (const segment of segments) {
    if (segment.length === 0) throw invalidPath('it must not have empty segments ("//" or a trailing "/")');
    if (segment === '.' || segment === '..') throw invalidPath('it must not have "." or ".." segments');
    if (segment.startsWith('.')) throw invalidPath('no segment may start with "." (no hidden files)');
    if (segment.length > ARTIFACT_SEGMENT_MAX_CHARS) throw invalidPath(`each segment must be at most ${ARTIFACT_SEGMENT_MAX_CHARS} characters`);
    if (!SEGMENT_PATTERN.test(segment)) throw invalidPath('segments may only use letters, digits, ".", "_" and "-"');
  }
  return path;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  md: 'text/markdown',
  txt: 'text/plain',
  json: 'application/json',
  html: 'text/html',
  csv: 'text/csv',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  svg: 'image/svg+xml',
};

/** The content type of a path, by its extension (case-insensitive); `application/octet-stream` otherwise. */
export function contentTypeFor(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return 'application/octet-stream';
  return CONTENT_TYPES[name.slice(dot + 1).toLowerCase()] ?? 'application/octet-stream';
}

const CONTENT_TYPE_PATTERN = /^[a-z0-9][a-z0-9.+-]{0,63}\/[a-z0-9][a-z0-9.+-]{0,63}(; ?charset=[a-z0-9-]{1,32})?$/i;

/** An explicit content type (`type/subtype`, optionally `; charset=…`), else the path's by extension. */
export function artifactContentType(path: string, explicit?: string): string {
  if (explicit === undefined) return contentTypeFor(path);
  if (!CONTENT_TYPE_PATTERN.test(explicit)) throw badRequest('content_type must look like "type/subtype" (e.g. text/plain), optionally with "; charset=…"');
  return explicit;
}

/** 413: an artifact over the byte cap (checked before any I/O). */
export const artifactTooLarge = (size: number, limit = ARTIFACT_MAX_BYTES): HttpError =>
  new HttpError(413, `artifact is ${size} bytes; at most ${limit} bytes are allowed`);

/** 409: the session already holds the most artifacts it may (overwriting one is still allowed). */
export const tooManyArtifacts = (limit: number): HttpError =>
  new HttpError(409, `this session already holds ${limit} artifacts, the most it may; overwrite an existing path instead`);

// ---------------------------------------------------------------------------------------------
// Metadata

export const sessionMetaSchema = z.object({
  session_id: z.string().regex(SESSION_ID_PATTERN),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  title: z.string().max(SESSION_TITLE_MAX_CHARS),
  message_count: z.number().int().min(0).max(100_000),
});
export type AgentSessionMeta = z.infer<typeof sessionMetaSchema>;

const TITLE_MESSAGE = `title must be a string of at most ${SESSION_TITLE_MAX_CHARS} characters without control characters`;
/** A session title from outside: trimmed, at most 200 characters, no control characters (400 otherwise). */
export function validateTitle(raw: unknown): string {
  if (raw === undefined) return '';
  if (typeof raw !== 'string') throw badRequest(TITLE_MESSAGE);
  const title = raw.trim();
  if (title.length > SESSION_TITLE_MAX_CHARS || CONTROL_PATTERN.test(title)) throw badRequest(TITLE_MESSAGE);
  return title;
}

/** A page request from outside: `limit` 1–50 (default 20), `cursor` a session id (400 otherwise). */
export function validateSessionPage(page: { limit?: number; cursor?: string | null } = {}): { limit: number; cursor?: string } {
  const limit = page.limit ?? SESSION_LIST_DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > SESSION_LIST_MAX_LIMIT) throw badRequest(`limit must be an integer between 1 and ${SESSION_LIST_MAX_LIMIT}`);
  if (page.cursor === undefined || page.cursor === null) return { limit };
  if (!SESSION_ID_PATTERN.test(page.cursor)) throw badRequest('cursor is not valid; pass the next_cursor of a previous page');
  return { limit, cursor: page.cursor };
}

/** `GET /agent/sessions?limit=&cursor=` (query strings), for the routes. */
export const sessionListQuerySchema = z.object({
  limit: z
    .string()
    .max(3, { error: `limit must be an integer between 1 and ${SESSION_LIST_MAX_LIMIT}` })
    .regex(/^\d{1,3}$/, { error: `limit must be an integer between 1 and ${SESSION_LIST_MAX_LIMIT}` })
    .transform(Number)
    .pipe(z.number().int().min(1).max(SESSION_LIST_MAX_LIMIT, { error: `limit must be an integer between 1 and ${SESSION_LIST_MAX_LIMIT}` }))
    .optional(),
  cursor: z.string().max(19, { error: 'cursor is not valid; pass the next_cursor of a previous page' }).regex(SESSION_ID_PATTERN, { error: 'cursor is not valid; pass the next_cursor of a previous page' }).optional(),
});

// ---------------------------------------------------------------------------------------------
// The conversation

/** One message as the agent framework produces it; content blocks are opaque JSON. */
export interface ConversationMessage {
  role: 'user' | 'assistant';
  content: unknown[];
}

/** The shape a persisted conversation must have (extra fields of a message are kept). */
export const conversationSchema = z
  .array(z.looseObject({ role: z.enum(['user', 'assistant']), content: z.array(z.unknown()).max(10_000) }))
  .max(100_000);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A tool result block: Bedrock Converse / Strands JSON (`{ toolResult: … }`) or a Strands block instance (`type: 'toolResultBlock'`). */
function isToolResult(block: unknown): boolean {
  return isObject(block) && ('toolResult' in block || block.type === 'toolResultBlock' || block.type === 'tool_result');
}
function isToolUse(block: unknown): boolean {
  return isObject(block) && ('toolUse' in block || block.type === 'toolUseBlock' || block.type === 'tool_use');
}

/** The text blocks of a message's content, joined by `separator` (empty blocks left out). */
export function contentText(content: readonly unknown[], separator: string): string {
  return content
    .map((b) => (isObject(b) && typeof b.text === 'string' ? b.text : ''))
    .filter(Boolean)
    .join(separator);
}

/** The names of the tools a message's content calls (`{ toolUse: { name } }` blocks). */
export function toolNames(content: readonly unknown[]): string[] {
  return content.flatMap((b) => {
    const use = isObject(b) && isObject(b.toolUse) ? b.toolUse : undefined;
    return use && typeof use.name === 'string' ? [use.name] : [];
  });
}

/** Where a turn may start: a user message carrying no tool result. */
export const startsTurn = (m: ConversationMessage): boolean => m.role === 'user' && !m.content.some(isToolResult);

export interface ConversationWindow {
  maxMessages: number;
  maxBytes: number;
}

export interface WindowedConversation {
  messages: ConversationMessage[];
  /** Messages of the input not kept. */
  dropped: number;
  /** Long strings had to be cut (only when even the newest turn alone was too large). */
  truncated: boolean;
}

const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');

/** The value with every string longer than `maxChars` cut, with a marker saying how much was dropped. */
function capStrings(value: unknown, maxChars: number, depth = 0): unknown {
  if (typeof value === 'string') return value.length > maxChars ? `${value.slice(0, maxChars)}…[truncated ${value.length - maxChars} characters]` : value;
  if (value === null || typeof value !== 'object' || depth > 64) return value;
  if (Array.isArray(value)) return value.map((v) => capStrings(v, maxChars, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, capStrings(v, maxChars, depth + 1)]));
}

function longestString(value: unknown, depth = 0): number {
  if (typeof value === 'string') return value.length;
  if (value === null || typeof value !== 'object' || depth > 64) return 0;
  let max = 0;
  for (const v of Array.isArray(value) ? value : Object.values(value)) max = Math.max(max, longestString(v, depth + 1));
  return max;
}

/** The messages with long strings cut so the whole fits `maxBytes`, or undefined when no cut of at least 256 characters fits. */
function fitStrings(messages: ConversationMessage[], maxBytes: number): ConversationMessage[] | undefined {
  let lo = 256;
  let hi = longestString(messages);
  let best: unknown;
  while (lo <= hi) {
    const mid = Math.floor((lo + hi) / 2);
    const candidate = capStrings(messages, mid);
    if (jsonBytes(candidate) <= maxBytes) {
      best = candidate;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (best === undefined) return undefined;
  const parsed = conversationSchema.safeParse(best);
  return parsed.success ? parsed.data : undefined;
}

/**
 * The conversation fitted into the window: at most `maxMessages` of the newest messages and at
 * most `maxBytes` of JSON, dropping the oldest whole turns. It always starts at a user message
 * carrying no tool result, so no tool result is left without its tool use and no assistant
 * message leads. Messages are never cut in half; only when even the newest turn alone does not
 * fit is that turn reduced to its request and its final answer, with long strings cut.
 */
export function windowConversation(messages: readonly ConversationMessage[], window: ConversationWindow): WindowedConversation {
  const n = messages.length;
  const sizes = messages.map(jsonBytes);
  const suffixBytes = new Array<number>(n + 1).fill(0);
  for (let i = n - 1; i >= 0; i--) suffixBytes[i] = (suffixBytes[i + 1] as number) + (sizes[i] as number) + 1;
  // JSON of messages[i..]: brackets plus each message and its comma (one comma fewer than messages; +1 for "[" "]").
  const bytesFrom = (i: number): number => (i >= n ? 2 : (suffixBytes[i] as number) + 1);
  const nextStart = (from: number): number => {
    for (let i = from; i < n; i++) if (startsTurn(messages[i] as ConversationMessage)) return i;
    return n;
  };
  let start = nextStart(Math.max(0, n - window.maxMessages));
  while (start < n && bytesFrom(start) > window.maxBytes) start = nextStart(start + 1);
  if (start < n) return { messages: messages.slice(start), dropped: start, truncated: false };

  // Nothing fits whole: keep the newest turn's request and its final answer (when it has one), cut to fit.
  let last = -1;
  for (let i = n - 1; i >= 0; i--) {
    if (startsTurn(messages[i] as ConversationMessage)) {
      last = i;
      break;
    }
  }
  if (last < 0 || window.maxMessages < 1) return { messages: [], dropped: n, truncated: false };
  const tail = messages[n - 1] as ConversationMessage;
  const answer = n - 1 > last && tail.role === 'assistant' && !tail.content.some(isToolUse) && window.maxMessages >= 2 ? [tail] : [];
  const kept = [messages[last] as ConversationMessage, ...answer];
  if (jsonBytes(kept) <= window.maxBytes) return { messages: kept, dropped: n - kept.length, truncated: false };
  const fitted = fitStrings(kept, window.maxBytes);
  return fitted ? { messages: fitted, dropped: n - fitted.length, truncated: true } : { messages: [], dropped: n, truncated: false };
}

// ---------------------------------------------------------------------------------------------
// The port

export interface SessionPage {
  /** Newest first. */
  sessions: AgentSessionMeta[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
}

export interface StoredArtifact {
  path: string;
  size: number;
  content_type: string;
  s3_uri: string;
}

export interface ArtifactInfo {
  path: string;
  size: number;
  /** By the path's extension. */
  content_type: string;
  last_modified: string;
}

export interface ArtifactContent {
  bytes: Uint8Array;
  content_type: string;
}

/**
 * The agent's sessions. Every method takes the caller's `sub` (from a verified token) and
 * validates ids and paths from outside first (400, before any I/O). A session of another user
 * is a 403, one nobody has a 404; storage failures are 503s (`StorageUnavailableError`).
 */
export interface AgentSessionStore {
  /** A new session of the caller's (claims its id, writes its metadata). */
  create(sub: string, title?: string): Promise<AgentSessionMeta>;
  get(sub: string, sessionId: string): Promise<AgentSessionMeta>;
  /** The caller's sessions, newest first: at most `limit` (1–50, default 20) after `cursor`. */
  list(sub: string, page?: { limit?: number; cursor?: string | null }): Promise<SessionPage>;
  /** Removes every object of the session (artifacts, logs, conversation, metadata) and releases its id. */
  delete(sub: string, sessionId: string): Promise<{ deleted_objects: number }>;
  /** The persisted conversation; empty when there is none or it is unreadable (logged). */
  loadConversation(sub: string, sessionId: string): Promise<ConversationMessage[]>;
  /** Persists the conversation fitted into the window; updates the metadata's `updated_at` and `message_count` (and `title`, when given and the session has none), and returns it. */
  saveConversation(sub: string, sessionId: string, messages: readonly ConversationMessage[], title?: string): Promise<{ message_count: number; dropped: number; session: AgentSessionMeta }>;
  /** 413 over the byte cap, 409 over the count cap (overwrites are allowed). */
  writeArtifact(sub: string, sessionId: string, path: string, bytes: Uint8Array, contentType?: string): Promise<StoredArtifact>;
  /** 404 when the session has no such artifact. */
  readArtifact(sub: string, sessionId: string, path: string): Promise<ArtifactContent>;
  /** At most the count cap, by path. */
  listArtifacts(sub: string, sessionId: string): Promise<ArtifactInfo[]>;
  /** A presigned GET URL of an existing artifact (404 otherwise); `seconds` 1 to 7 days, default the store's. */
  presignArtifact(sub: string, sessionId: string, path: string, seconds?: number): Promise<string>;
  /** Best effort: a failure is logged, never thrown. Whether the entry was stored. */
  appendLog(sub: string, sessionId: string, entry: Record<string, unknown>): Promise<boolean>;
}
