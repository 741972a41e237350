/**
 * The seams of the story core. Every provider and store the core talks to sits behind one
 * of these small interfaces; implementations live outside `src/core` (AWS SDK, offline
 * engines) and are chosen by the validated config in `src/platform/config.ts`.
 *
 * Nothing in `src/core` imports the AWS SDK or Express.
 */
import type { PromptUse } from './prompt-store';
import type { TextTask } from './prompts';

/** Who is calling, taken only from a verified ID token's claims. */
export interface Caller {
  sub: string;
  email: string;
  username: string;
  groups: string[];
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

/** A rendered prompt for providers that talk to a real language model. */
export interface PromptText {
  system: string;
  user: string;
  /** Name of the structured result (used as a tool name by tool-use providers). */
  resultName: string;
  /** JSON schema of the structured result the model must return. */
  jsonSchema: Record<string, unknown>;
}

export interface TextCall {
  /** The typed task: offline engines work from these fields directly. */
  task: TextTask;
  /** The same task rendered for a language model. */
  prompt: PromptText;
  /** Provider-local model id (the part after `bedrock/`). */
  modelId: string;
  /** Stable seed for deterministic engines (the job id). */
  seed: string;
  /** 1-based attempt number; above 1 the previous output failed validation. */
  attempt: number;
  /** Why the previous attempt was rejected, for repair prompts. */
  repairHint?: string;
  /** The rendered repair instruction (the `story-writer/repair` prompt with `repairHint`): model providers append it to the user prompt. */
  repairPrompt?: string;
  signal?: AbortSignal;
  /** Streaming providers report the structured output's JSON text as it arrives. */
  onDelta?: (jsonFragment: string) => void;
  /** A streaming provider started over (a retried connection): what came before is void. */
  onRestart?: () => void;
}

export interface TextOutput {
  /** The parsed structured result; the core validates and normalises it. */
  data: unknown;
  /** What made the text, as reported in `metadata.model_id`: `bedrock/<model id>`, or the offline engine's name. */
  model: string;
  usage?: TokenUsage;
}

/** A text model that returns structured (JSON) results. */
export interface TextModel {
  /** Provider name reported in results' metadata, e.g. `offline-story-writer`, `bedrock`. */
  readonly provider: string;
  generate(call: TextCall): Promise<TextOutput>;
}

/** One earlier message of a chat, as the model is shown it. */
export interface ChatTurn {
  role: 'user' | 'assistant';
  text: string;
}

/** One chat call: system text (one block each, in order), the conversation so far, the new input. */
export interface ChatCall {
  system: string[];
  /** Oldest first; alternating user / assistant, starting with the user. */
  messages: ChatTurn[];
  input: string;
  /** Provider-local model id (the part after `bedrock/`). */
  modelId: string;
  /** Stable seed for deterministic engines. */
  seed: string;
  signal?: AbortSignal;
  /** The answer's text as it arrives. */
  onDelta?: (text: string) => void;
  /** A streaming provider started over (a retried connection): what came before is void. */
  onRestart?: () => void;
}

export interface ChatReply {
  text: string;
  /** What answered: `bedrock/<model id>`, or the offline engine's model name. */
  model: string;
  usage?: TokenUsage;
}

/** A conversational model: free text out, streamed. */
export interface ChatModel {
  /** Provider name reported in results, e.g. `bedrock`, `offline-chat-responder`. */
  readonly provider: string;
  chat(call: ChatCall): Promise<ChatReply>;
}

export interface ImageRequest {
  /** Scene description. */
  prompt: string;
  artStyle: string;
  /** Stable seed (job id + panel number) for deterministic engines. */
  seed: string;
  width: number;
  height: number;
  signal?: AbortSignal;
  /**
   * The rendered instruction for an image model (the `illustrator/panel` or `illustrator/edit`
   * prompt); model providers send it instead of their own wording. Offline engines ignore it.
   */
  modelPrompt?: string;
}

export interface ImageEditRequest extends ImageRequest {
  /** The original PNG the edit starts from. */
  original: Uint8Array;
  /** What the user asked to change. */
  instruction: string;
}

export interface GeneratedImage {
  png: Uint8Array;
  model: string;
}

/** An image model: text-to-image and edit-from-original. */
export interface ImageModel {
  readonly provider: string;
  generate(req: ImageRequest): Promise<GeneratedImage>;
  edit(req: ImageEditRequest): Promise<GeneratedImage>;
}

export interface SpeechRequest {
  /** Plain text (never markup), at most the provider's `maxChars`, cut at sentence or word boundaries. */
  text: string;
  /** One of the provider's voice ids. */
  voice: string;
  /** Silence after the speech (a pause between speakers), in milliseconds. */
  pauseAfterMs: number;
  signal?: AbortSignal;
}

export interface SpeechAudio {
  /** MPEG audio frames (an MP3 file). */
  mp3: Uint8Array;
  durationSeconds: number;
  /** What spoke, as reported in results (e.g. `polly/neural`, `espeak-ng`). */
  model: string;
}

/** A text-to-speech engine: one voice, one piece of text, one MP3. */
export interface SpeechModel {
  /** Provider name reported in results' metadata, e.g. `offline-speech-synthesizer`, `polly`. */
  readonly provider: string;
  /** The voice ids it speaks with, in default casting order (the narrator's first). */
  readonly voices: readonly string[];
  /** The longest text one call may carry, in characters. */
  readonly maxChars: number;
  synthesize(req: SpeechRequest): Promise<SpeechAudio>;
}

export interface StoredObject {
  key: string;
  size: number;
  lastModified: Date;
}

/** One page of a listing: at most `limit` entries (and `maxBytes` of them where a store can tell), after `cursor`. */
export interface PageRequest {
  limit: number;
  cursor?: string;
  maxBytes: number;
}

export interface ObjectPage {
  objects: StoredObject[];
  nextCursor?: string;
}

/** Object storage for a job's media — panel images and narration (S3 in every environment). */
export interface ImageStore {
  readonly bucket: string;
  put(key: string, body: Uint8Array, contentType: string): Promise<void>;
  /** The object's bytes, or `null` when there is no such object. */
  get(key: string): Promise<Uint8Array | null>;
  presignGet(key: string, expiresInSeconds: number): Promise<string>;
  /** One page of the objects directly under a prefix (not in its sub-folders), in key order. */
  listPage(prefix: string, page: Omit<PageRequest, 'maxBytes'>): Promise<ObjectPage>;
  /** Every object under a prefix, sub-folders included (for deletes). */
  list(prefix: string): Promise<StoredObject[]>;
  deleteMany(keys: string[]): Promise<number>;
}

/** One tracked route call. */
export interface TrackingRecord {
  userId: string;
  jobId: string;
  route: string;
  timestamp: number;
  createdAt: string;
  requestId: string;
  /** The request as the route's schema parsed it (never the raw body). */
  request: unknown;
  response: unknown;
  /** `incomplete`: written before the call's first artifact, and not (yet) completed. */
  status: 'success' | 'error' | 'incomplete';
  /** Request or response were cut to fit the item limit. */
  truncated?: boolean;
  provider?: string;
  usage?: Array<TokenUsage & { model: string; latencyMs: number }>;
  /** The prompts the call used, each with the version in use and where it came from. */
  prompts?: PromptUse[];
}

export interface JobSummary {
  jobId: string;
  lastRoute: string;
  lastTimestamp: number;
  lastCreatedAt: string;
}

export interface RecordPage {
  records: TrackingRecord[];
  nextCursor?: string;
}

export interface JobPage {
  jobs: JobSummary[];
  nextCursor?: string;
}

/** The sessions table: every route call is recorded here. */
export interface SessionStore {
  record(rec: TrackingRecord): Promise<void>;
  /** Records the first user of a job id (best effort; conditional write). */
  claimJob(jobId: string, userId: string): Promise<void>;
  /** The user who first used a job id, if any. */
  jobOwner(jobId: string): Promise<string | undefined>;
  listJobs(userId: string, limit: number, cursor?: string): Promise<JobPage>;
  /** One page of a job's records, oldest first. */
  jobRecords(userId: string, jobId: string, page: PageRequest): Promise<RecordPage>;
  /** Whether any call of the job is still `incomplete`. */
  hasIncomplete(userId: string, jobId: string): Promise<boolean>;
  deleteJob(userId: string, jobId: string): Promise<number>;
}

export type MetricUnit = 'Count' | 'Milliseconds';

/** Counters, measurements and structured logs; never carries secrets or tokens. */
export interface Telemetry {
  count(metric: string, by?: number): void;
  /** A measured value (model latency in ms, tokens) published as a metric. */
  measure(metric: string, value: number, unit: MetricUnit): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void;
}

export interface Clock {
  now(): number;
}

/**
 * One web search hit, bounded by the engine that made it: title ≤ 300 characters, snippet
 * ≤ 1000, url ≤ 2048 and http(s) only; an answer carries at most 10 of them.
 */
export interface SearchResult {
  title: string;
  url: string;
  snippet: string;
}

/**
 * A search's outcome. Search is allowed to be unavailable (rate-limited, down, over its
 * budget, out of time): it then says so in `reason`, a sentence a model can repeat to the user.
 * `engine` names what answered (`duckduckgo`, `offline-search-index`); `cached` is true when
 * the results came from the shared cache without asking the engine.
 */
export type SearchAnswer =
  | { status: 'ok'; results: SearchResult[]; engine: string; cached: boolean }
  | { status: 'unavailable'; reason: string; engine: string };

export interface WebSearchOptions {
  /** The caller's signal: aborting it abandons the search (the promise rejects with its reason). */
  signal?: AbortSignal;
  /** At most this many results (1–10; default 10). */
  limit?: number;
}

/** Web research for the story agent. Never throws for an unavailable engine: it resolves `unavailable`. */
export interface WebSearch {
  /** The engine's name, as answers report it. */
  readonly engine: string;
  search(query: string, opts: WebSearchOptions): Promise<SearchAnswer>;
}
