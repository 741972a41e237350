/**
 * The one validated configuration object. Every entrypoint builds it from the environment
 * with `loadConfig(process.env)`; providers and stores are chosen from it and nowhere else.
 */
import { z } from 'zod';

export const TEXT_PROVIDERS = ['offline', 'bedrock'] as const;
export const IMAGE_PROVIDERS = ['offline', 'bedrock', 'gemini'] as const;
export const SPEECH_PROVIDERS = ['offline', 'polly', 'external'] as const;
export const LOG_FORMATS = ['json', 'readable', 'silent'] as const;

export const DEFAULT_MODELS = [
  'bedrock/us.amazon.nova-pro-v1:0',
  'bedrock/us.openai.gpt-oss-120b-1:0',
  'bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0',
] as const;

const int = (name: string, min: number, max: number, fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `${name} must be an integer between ${min} and ${max} (got "${v}")` });
        return z.NEVER;
      }
      return n;
    });

const choice = <T extends readonly [string, ...string[]]>(name: string, values: T, fallback: T[number]) =>
  z
    .string()
    .optional()
    .transform((v, ctx): T[number] => {
      const value = v === undefined || v.trim() === '' ? fallback : v.trim();
      if (!(values as readonly string[]).includes(value)) {
        ctx.addIssue({ code: 'custom', message: `${name} must be one of: ${values.join(', ')} (got "${value}")` });
        return z.NEVER;
      }
      return value as T[number];
    });

const optionalUrl = (name: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined;
      try {
        return new URL(v).toString().replace(/\/$/, '');
      } catch {
        ctx.addIssue({ code: 'custom', message: `${name} must be a URL (got "${v}")` });
        return z.NEVER;
      }
    });

const envSchema = z.object({
  STORY42_TEXT_PROVIDER: choice('STORY42_TEXT_PROVIDER', TEXT_PROVIDERS, 'offline'),
  STORY42_IMAGE_PROVIDER: choice('STORY42_IMAGE_PROVIDER', IMAGE_PROVIDERS, 'offline'),
  STORY42_SPEECH_PROVIDER: choice('STORY42_SPEECH_PROVIDER', SPEECH_PROVIDERS, 'offline'),
  STORY42_SPEECH_VOICES: z.string().max(2000).optional(),
  STORY42_SPEECH_CONCURRENCY: int('STORY42_SPEECH_CONCURRENCY', 1, 32, 4),
  STORY42_TTS_API_KEY_SECRET: z.string().trim().min(1).optional(),
  STORY42_TTS_BASE_URL: optionalUrl('STORY42_TTS_BASE_URL'),
  STORY42_TTS_MODEL: z.string().trim().min(3).max(100).default('eleven_multilingual_v2'),
  STORY42_POLLY_ENDPOINT: optionalUrl('STORY42_POLLY_ENDPOINT'),
  AWS_REGION: z.string().optional(),
  AWS_DEFAULT_REGION: z.string().optional(),
  STORY42_IMAGES_BUCKET: z.string({ error: 'STORY42_IMAGES_BUCKET must name the story images bucket' }).trim().min(3, { error: 'STORY42_IMAGES_BUCKET must name the story images bucket' }),
  STORY42_SESSIONS_TABLE: z.string({ error: 'STORY42_SESSIONS_TABLE must name the sessions table' }).trim().min(3, { error: 'STORY42_SESSIONS_TABLE must name the sessions table' }),
  STORY42_S3_ENDPOINT: optionalUrl('STORY42_S3_ENDPOINT'),
  STORY42_DYNAMODB_ENDPOINT: optionalUrl('STORY42_DYNAMODB_ENDPOINT'),
  STORY42_BEDROCK_ENDPOINT: optionalUrl('STORY42_BEDROCK_ENDPOINT'),
  STORY42_GEMINI_BASE_URL: optionalUrl('STORY42_GEMINI_BASE_URL'),
  STORY42_GEMINI_MODEL: z.string().trim().min(3).default('gemini-2.5-flash-image'),
  STORY42_IMAGE_API_KEY_SECRET: z.string().trim().min(1).optional(),
  STORY42_SECRETSMANAGER_ENDPOINT: optionalUrl('STORY42_SECRETSMANAGER_ENDPOINT'),
  STORY42_BEDROCK_IMAGE_MODEL: z.string().trim().min(3).default('amazon.nova-canvas-v1:0'),
  STORY42_MODEL_TIMEOUT_MS: int('STORY42_MODEL_TIMEOUT_MS', 100, 900_000, 120_000),
  STORY42_MODEL_MAX_ATTEMPTS: int('STORY42_MODEL_MAX_ATTEMPTS', 1, 10, 4),
  STORY42_MODEL_BACKOFF_MS: int('STORY42_MODEL_BACKOFF_MS', 0, 60_000, 500),
  STORY42_MODEL_MAX_BACKOFF_MS: int('STORY42_MODEL_MAX_BACKOFF_MS', 0, 300_000, 8_000),
  STORY42_MODEL_CONCURRENCY: int('STORY42_MODEL_CONCURRENCY', 1, 256, 8),
  STORY42_IMAGE_CONCURRENCY: int('STORY42_IMAGE_CONCURRENCY', 1, 32, 6),
  STORY42_OFFLINE_IMAGE_LATENCY_MS: int('STORY42_OFFLINE_IMAGE_LATENCY_MS', 0, 600_000, 0),
  STORY42_TEXT_MAX_ATTEMPTS: int('STORY42_TEXT_MAX_ATTEMPTS', 1, 5, 3),
  STORY42_MAX_BODY_BYTES: int('STORY42_MAX_BODY_BYTES', 1024, 10 * 1024 * 1024, 1024 * 1024),
  STORY42_IMAGE_SIZE: int('STORY42_IMAGE_SIZE', 64, 1024, 512),
  STORY42_TRACKING_TTL_DAYS: int('STORY42_TRACKING_TTL_DAYS', 0, 3650, 0),
  STORY42_ALLOWED_MODELS: z.string().optional(),
  STORY42_COGNITO_USER_POOL_ID: z.string().optional(),
  STORY42_COGNITO_CLIENT_ID: z.string().optional(),
  STORY42_COGNITO_ISSUER: optionalUrl('STORY42_COGNITO_ISSUER'),
  STORY42_COGNITO_JWKS_URI: optionalUrl('STORY42_COGNITO_JWKS_URI'),
  STORY42_STORAGE_TIMEOUT_MS: int('STORY42_STORAGE_TIMEOUT_MS', 100, 60_000, 3_000),
  STORY42_STORAGE_MAX_ATTEMPTS: int('STORY42_STORAGE_MAX_ATTEMPTS', 1, 5, 2),
  STORY42_JWKS_TIMEOUT_MS: int('STORY42_JWKS_TIMEOUT_MS', 100, 60_000, 5_000),
  STORY42_LOG_FORMAT: choice('STORY42_LOG_FORMAT', LOG_FORMATS, 'json'),
  STORY42_METRICS: choice('STORY42_METRICS', ['on', 'off'] as const, 'on'),
  STORY42_ENVIRONMENT: z.string().trim().max(64).optional(),
  STORY42_AGENT_MODEL: z.string().trim().min(3).max(200).optional(),
  STORY42_AGENT_BEDROCK_ENDPOINT: optionalUrl('STORY42_AGENT_BEDROCK_ENDPOINT'),
  STORY42_AGENT_MAX_TURNS: int('STORY42_AGENT_MAX_TURNS', 1, 50, 12),
  STORY42_AGENT_TURN_TIMEOUT_MS: int('STORY42_AGENT_TURN_TIMEOUT_MS', 1000, 3_600_000, 900_000),
  STORY42_PROMPTS_BUCKET: z.string().trim().min(3, { error: 'STORY42_PROMPTS_BUCKET must name the prompts bucket' }).max(63).optional(),
});

export interface Config {
  textProvider: (typeof TEXT_PROVIDERS)[number];
  imageProvider: (typeof IMAGE_PROVIDERS)[number];
  speechProvider: (typeof SPEECH_PROVIDERS)[number];
  /**
   * Narration: the voice ids to cast from (else the provider's own list), sections synthesized
   * at once (also the provider's concurrency limit), and the external TTS API's settings.
   */
  speech: { voices?: string[]; concurrency: number; tts: { apiKeySecret?: string; model: string } };
  region: string;
  imagesBucket: string;
  sessionsTable: string;
  endpoints: { s3?: string; dynamodb?: string; bedrock?: string; gemini?: string; secretsManager?: string; polly?: string; tts?: string };
  gemini: { model: string; apiKeySecret?: string };
  /** Timeouts, retries and concurrency of model calls. */
  bedrockImageModel: string;
  models: { timeoutMs: number; maxAttempts: number; backoffMs: number; maxBackoffMs: number; concurrency: number };
  imageConcurrency: number;
  offlineImageLatencyMs: number;
  textMaxAttempts: number;
  maxBodyBytes: number;
  imageSize: number;
  trackingTtlDays: number;
  allowedModels: string[];
  presignSeconds: number;
  /** Token verification (the agent and the local gateway verify ID tokens themselves). */
  auth?: { issuer: string; clientId: string; jwksUri: string; timeoutMs: number };
  /** Deadlines of every store call (S3, DynamoDB, Secrets Manager): per attempt, and attempts in all. */
  storage: { timeoutMs: number; maxAttempts: number };
  /** Logs: JSON lines (AWS), readable lines (a person at a terminal), or none (tests). */
  logFormat: (typeof LOG_FORMATS)[number];
  /** Publish CloudWatch metrics (EMF) from the counters. */
  metrics: boolean;
  /** The deployment's environment name (a metric dimension), when deployed. */
  environmentName?: string;
  /** Web search (the story agent's `web_search` tool): see `loadSearchConfig`. */
  search: SearchConfig;
  /**
   * The story agent: its Bedrock model (one of the allowed models; default the first), where
   * it reaches Bedrock (default: where the text models do), and its bounds per message.
   */
  agent: { modelId: string; endpoint?: string; maxTurns: number; turnTimeoutMs: number };
  /** The prompt service: cache TTL, how the bucket keeps history, the bundled prompts' folder (see `loadPromptsConfig`). */
  prompts: PromptsConfig;
  /** The prompts bucket: system prompts (`prompts/`) and prompt cards' text (`<project_id>/<prompt_id>.txt`). */
  promptsBucket?: string;
  /** Projects, prompt cards and chat: see `loadProjectsConfig`. */
  projects?: ProjectsConfig;
  /** The project chat's model (one of the allowed models; default the first) and how long its history is kept. */
  chat: { modelId: string; historyTtlDays: number };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`Invalid configuration:\n${parsed.error.issues.map((i) => `  - ${i.message}`).join('\n')}`);
  }
  const e = parsed.data;
  const region = e.AWS_REGION ?? e.AWS_DEFAULT_REGION ?? 'us-east-1';
  const allowedModels = (e.STORY42_ALLOWED_MODELS ?? DEFAULT_MODELS.join(','))
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean)
    .map((m) => (m.startsWith('bedrock/') ? m : `bedrock/${m}`));
  if (e.STORY42_IMAGE_PROVIDER === 'gemini' && !e.STORY42_IMAGE_API_KEY_SECRET) {
    throw new ConfigError('Invalid configuration:\n  - STORY42_IMAGE_API_KEY_SECRET must name the Secrets Manager secret holding the Gemini API key');
  }
  if (e.STORY42_SPEECH_PROVIDER === 'external' && !e.STORY42_TTS_API_KEY_SECRET) {
    throw new ConfigError('Invalid configuration:\n  - STORY42_TTS_API_KEY_SECRET must name the Secrets Manager secret holding the text-to-speech API key');
  }
  const voices = e.STORY42_SPEECH_VOICES?.split(',').map((v) => v.trim()).filter(Boolean);
  if (voices && (voices.length < 2 || voices.length > 32 || voices.some((v) => !/^[A-Za-z0-9_.+-]{1,64}$/.test(v)) || new Set(voices).size !== voices.length)) {
    throw new ConfigError('Invalid configuration:\n  - STORY42_SPEECH_VOICES must list 2 to 32 distinct voice ids (letters, digits, "_", ".", "+", "-"), comma-separated');
  }
  if (allowedModels.length === 0) throw new ConfigError('Invalid configuration:\n  - STORY42_ALLOWED_MODELS must list at least one model id');
  const agentModel = e.STORY42_AGENT_MODEL ? (e.STORY42_AGENT_MODEL.startsWith('bedrock/') ? e.STORY42_AGENT_MODEL : `bedrock/${e.STORY42_AGENT_MODEL}`) : (allowedModels[0] as string);
  if (!allowedModels.includes(agentModel)) {
    throw new ConfigError(`Invalid configuration:\n  - STORY42_AGENT_MODEL must be one of the allowed models: ${allowedModels.join(', ')} (got "${e.STORY42_AGENT_MODEL}")`);
  }
  let auth: Config['auth'];
  if (e.STORY42_COGNITO_CLIENT_ID && (e.STORY42_COGNITO_ISSUER || e.STORY42_COGNITO_USER_POOL_ID)) {
    const issuer = e.STORY42_COGNITO_ISSUER ?? `https://cognito-idp.${region}.amazonaws.com/${e.STORY42_COGNITO_USER_POOL_ID}`;
    auth = { issuer, clientId: e.STORY42_COGNITO_CLIENT_ID, jwksUri: e.STORY42_COGNITO_JWKS_URI ?? `${issuer}/.well-known/jwks.json`, timeoutMs: e.STORY42_JWKS_TIMEOUT_MS };
  }
  return {
    textProvider: e.STORY42_TEXT_PROVIDER,
    imageProvider: e.STORY42_IMAGE_PROVIDER,
    speechProvider: e.STORY42_SPEECH_PROVIDER,
    speech: {
      voices: voices && voices.length > 0 ? voices : undefined,
      concurrency: e.STORY42_SPEECH_CONCURRENCY,
      tts: { apiKeySecret: e.STORY42_TTS_API_KEY_SECRET, model: e.STORY42_TTS_MODEL },
    },
    region,
    imagesBucket: e.STORY42_IMAGES_BUCKET,
    sessionsTable: e.STORY42_SESSIONS_TABLE,
    endpoints: {
      s3: e.STORY42_S3_ENDPOINT,
      dynamodb: e.STORY42_DYNAMODB_ENDPOINT,
      bedrock: e.STORY42_BEDROCK_ENDPOINT,
      gemini: e.STORY42_GEMINI_BASE_URL,
      secretsManager: e.STORY42_SECRETSMANAGER_ENDPOINT,
      polly: e.STORY42_POLLY_ENDPOINT,
      tts: e.STORY42_TTS_BASE_URL,
    },
    gemini: { model: e.STORY42_GEMINI_MODEL, apiKeySecret: e.STORY42_IMAGE_API_KEY_SECRET },
    bedrockImageModel: e.STORY42_BEDROCK_IMAGE_MODEL,
    models: {
      timeoutMs: e.STORY42_MODEL_TIMEOUT_MS,
      maxAttempts: e.STORY42_MODEL_MAX_ATTEMPTS,
      backoffMs: e.STORY42_MODEL_BACKOFF_MS,
      maxBackoffMs: e.STORY42_MODEL_MAX_BACKOFF_MS,
      concurrency: e.STORY42_MODEL_CONCURRENCY,
    },
    imageConcurrency: e.STORY42_IMAGE_CONCURRENCY,
    offlineImageLatencyMs: e.STORY42_OFFLINE_IMAGE_LATENCY_MS,
    textMaxAttempts: e.STORY42_TEXT_MAX_ATTEMPTS,
    maxBodyBytes: e.STORY42_MAX_BODY_BYTES,
    imageSize: e.STORY42_IMAGE_SIZE,
    trackingTtlDays: e.STORY42_TRACKING_TTL_DAYS,
    allowedModels,
    presignSeconds: 3600,
    auth,
    storage: { timeoutMs: e.STORY42_STORAGE_TIMEOUT_MS, maxAttempts: e.STORY42_STORAGE_MAX_ATTEMPTS },
    logFormat: e.STORY42_LOG_FORMAT,
    metrics: e.STORY42_METRICS === 'on',
    environmentName: e.STORY42_ENVIRONMENT || undefined,
    search: loadSearchConfig(env),
    agent: {
      modelId: agentModel.replace(/^bedrock\//, ''),
      endpoint: e.STORY42_AGENT_BEDROCK_ENDPOINT ?? e.STORY42_BEDROCK_ENDPOINT,
      maxTurns: e.STORY42_AGENT_MAX_TURNS,
      turnTimeoutMs: e.STORY42_AGENT_TURN_TIMEOUT_MS,
    },
    promptsBucket: e.STORY42_PROMPTS_BUCKET || undefined,
    prompts: loadPromptsConfig(env),
    ...loadProjectsConfig(env, allowedModels),
  };
}

// ---- Web search (the story agent's web_search tool) ----------------------------------------

export const SEARCH_PROVIDERS = ['offline', 'duckduckgo'] as const;

export interface SearchConfig {
  /** `offline`: the built-in offline search index; `duckduckgo`: DuckDuckGo through duck-duck-scrape. */
  provider: (typeof SEARCH_PROVIDERS)[number];
  /** The DynamoDB table caching results per normalised query (required for `duckduckgo`). */
  cacheTable?: string;
  cacheTtlSeconds: number;
  /** DuckDuckGo requests per minute per process (a search attempt makes two). */
  budgetPerMinute: number;
  /** An HTTP proxy every DuckDuckGo request goes through (the local DuckDuckGo server in tests and `npm start`); unset: DuckDuckGo directly. */
  duckduckgoProxy?: string;
}

const searchEnvSchema = z.object({
  STORY42_SEARCH_PROVIDER: choice('STORY42_SEARCH_PROVIDER', SEARCH_PROVIDERS, 'offline'),
  STORY42_SEARCH_CACHE_TABLE: z.string().trim().max(255).optional(),
  STORY42_SEARCH_CACHE_TTL_SECONDS: int('STORY42_SEARCH_CACHE_TTL_SECONDS', 60, 30 * 86400, 86400),
  STORY42_SEARCH_BUDGET_PER_MINUTE: int('STORY42_SEARCH_BUDGET_PER_MINUTE', 2, 10_000, 30),
  STORY42_DUCKDUCKGO_PROXY: optionalUrl('STORY42_DUCKDUCKGO_PROXY'),
});

export function loadSearchConfig(env: Record<string, string | undefined>): SearchConfig {
  const parsed = searchEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`Invalid configuration:\n${parsed.error.issues.map((i) => `  - ${i.message}`).join('\n')}`);
  }
  const e = parsed.data;
  const cacheTable = e.STORY42_SEARCH_CACHE_TABLE || undefined;
  if (cacheTable !== undefined && !/^[A-Za-z0-9_.-]{3,255}$/.test(cacheTable)) {
    throw new ConfigError('Invalid configuration:\n  - STORY42_SEARCH_CACHE_TABLE must be a DynamoDB table name (3-255 letters, digits, "_", "-", ".")');
  }
  if (e.STORY42_SEARCH_PROVIDER === 'duckduckgo' && !cacheTable) {
    throw new ConfigError('Invalid configuration:\n  - STORY42_SEARCH_CACHE_TABLE must name the search cache table when STORY42_SEARCH_PROVIDER=duckduckgo');
  }
  const proxy = e.STORY42_DUCKDUCKGO_PROXY;
  if (proxy !== undefined && !/^https?:$/.test(new URL(proxy).protocol)) {
    throw new ConfigError(`Invalid configuration:\n  - STORY42_DUCKDUCKGO_PROXY must be an http(s) URL (got "${proxy}")`);
  }
  return {
    provider: e.STORY42_SEARCH_PROVIDER,
    cacheTable,
    cacheTtlSeconds: e.STORY42_SEARCH_CACHE_TTL_SECONDS,
    budgetPerMinute: e.STORY42_SEARCH_BUDGET_PER_MINUTE,
    duckduckgoProxy: proxy,
  };
}

// ---- Projects, prompt cards and chat -------------------------------------------------------

/** The three tables of projects, prompt cards and chat history (with the prompts bucket: required where the project routes run). */
export interface ProjectsConfig {
  table: string;
  cardsTable: string;
  chatHistoryTable: string;
}

const tableName = (name: string) =>
  z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_.-]{3,255}$/, { error: `${name} must be a DynamoDB table name (3-255 letters, digits, "_", "-", ".")` })
    .optional()
    .or(z.literal('').transform(() => undefined));

const projectsEnvSchema = z.object({
  STORY42_PROJECTS_TABLE: tableName('STORY42_PROJECTS_TABLE'),
  STORY42_PROMPT_CARDS_TABLE: tableName('STORY42_PROMPT_CARDS_TABLE'),
  STORY42_CHAT_HISTORY_TABLE: tableName('STORY42_CHAT_HISTORY_TABLE'),
  STORY42_CHAT_HISTORY_TTL_DAYS: int('STORY42_CHAT_HISTORY_TTL_DAYS', 1, 3650, 90),
  STORY42_CHAT_MODEL: z.string().trim().min(3).max(200).optional(),
});

/** The project tables (all three or none) and the chat's model and history TTL. */
export function loadProjectsConfig(env: Record<string, string | undefined>, allowedModels: readonly string[]): Pick<Config, 'projects' | 'chat'> {
  const parsed = projectsEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`Invalid configuration:\n${parsed.error.issues.map((i) => `  - ${i.message}`).join('\n')}`);
  }
  const e = parsed.data;
  const tables = [e.STORY42_PROJECTS_TABLE, e.STORY42_PROMPT_CARDS_TABLE, e.STORY42_CHAT_HISTORY_TABLE];
  if (tables.some((t) => t !== undefined) && tables.some((t) => t === undefined)) {
    throw new ConfigError('Invalid configuration:\n  - STORY42_PROJECTS_TABLE, STORY42_PROMPT_CARDS_TABLE and STORY42_CHAT_HISTORY_TABLE must be set together (or none of them)');
  }
  const chatModel = e.STORY42_CHAT_MODEL ? (e.STORY42_CHAT_MODEL.startsWith('bedrock/') ? e.STORY42_CHAT_MODEL : `bedrock/${e.STORY42_CHAT_MODEL}`) : (allowedModels[0] as string);
  if (!allowedModels.includes(chatModel)) {
    throw new ConfigError(`Invalid configuration:\n  - STORY42_CHAT_MODEL must be one of the allowed models: ${allowedModels.join(', ')} (got "${e.STORY42_CHAT_MODEL}")`);
  }
  const [table, cardsTable, chatHistoryTable] = tables;
  return {
    projects: table && cardsTable && chatHistoryTable ? { table, cardsTable, chatHistoryTable } : undefined,
    chat: { modelId: chatModel.replace(/^bedrock\//, ''), historyTtlDays: e.STORY42_CHAT_HISTORY_TTL_DAYS },
  };
}

// ---- Prompts (system prompts and instruction templates; the bucket is STORY42_PROMPTS_BUCKET) ----

export const PROMPT_HISTORY = ['versioning', 'objects'] as const;

export interface PromptsConfig {
  /** How long a process serves a prompt before asking the bucket again (a conditional GET); 0: every use asks. */
  cacheTtlMs: number;
  /** `versioning`: the bucket's S3 versioning (AWS); `objects`: history copies under `prompt-history/` (a store without versioning, e.g. s3rver). */
  history: (typeof PROMPT_HISTORY)[number];
  /** The bundled prompts' folder (default: the first `prompts/` up from the code). */
  dir?: string;
}

const promptsEnvSchema = z.object({
  STORY42_PROMPT_CACHE_TTL_MS: int('STORY42_PROMPT_CACHE_TTL_MS', 0, 3_600_000, 300_000),
  STORY42_PROMPTS_HISTORY: choice('STORY42_PROMPTS_HISTORY', PROMPT_HISTORY, 'versioning'),
  STORY42_PROMPTS_DIR: z.string().trim().max(4096).optional(),
});

export function loadPromptsConfig(env: Record<string, string | undefined>): PromptsConfig {
  const parsed = promptsEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`Invalid configuration:\n${parsed.error.issues.map((i) => `  - ${i.message}`).join('\n')}`);
  }
  const e = parsed.data;
  return { cacheTtlMs: e.STORY42_PROMPT_CACHE_TTL_MS, history: e.STORY42_PROMPTS_HISTORY, dir: e.STORY42_PROMPTS_DIR || undefined };
}
