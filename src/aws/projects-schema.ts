/**
 * The key schemas of the projects, prompt-cards and chat-history tables in one place: the local
 * bootstrap creates them with the SDK and the CDKTF stack declares them for AWS (index entries
 * carry their projection as the provider names it, so they can be spread as they are).
 */
export const PROJECTS_SCHEMA = {
  hashKey: 'project_id',
  attributes: [
    { name: 'project_id', type: 'S' },
    { name: 'owner_id', type: 'S' },
    { name: 'created_at', type: 'S' },
  ],
  /** A user's projects, newest first (`created_at` is ISO 8601, so it sorts as time). */
  indexes: [{ name: 'OwnerCreatedIndex', hashKey: 'owner_id', rangeKey: 'created_at', projectionType: 'ALL' }],
} as const;

export const PROMPT_CARDS_SCHEMA = {
  hashKey: 'project_id',
  rangeKey: 'prompt_id',
  attributes: [
    { name: 'project_id', type: 'S' },
    { name: 'prompt_id', type: 'S' },
  ],
  indexes: [],
} as const;

export const CHAT_HISTORY_SCHEMA = {
  hashKey: 'session_id',
  rangeKey: 'timestamp',
  attributes: [
    { name: 'session_id', type: 'S' },
    { name: 'timestamp', type: 'N' },
    { name: 'project_id', type: 'S' },
  ],
  /** A project's exchanges, for deleting them with the project (keys only). */
  indexes: [{ name: 'ProjectTimestampIndex', hashKey: 'project_id', rangeKey: 'timestamp', projectionType: 'KEYS_ONLY' }],
  /** Epoch seconds; `STORY42_CHAT_HISTORY_TTL_DAYS` after the exchange. */
  ttlAttribute: 'expires_at',
} as const;

/** What every table schema here has. */
export interface TableSchema {
  readonly hashKey: string;
  readonly rangeKey?: string;
  readonly attributes: ReadonlyArray<{ readonly name: string; readonly type: 'S' | 'N' }>;
  readonly indexes: ReadonlyArray<{ readonly name: string; readonly hashKey: string; readonly rangeKey: string; readonly projectionType: 'ALL' | 'KEYS_ONLY' }>;
}
