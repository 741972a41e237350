/**
 * The web search cache in DynamoDB (dynalite locally), shared by every task: one item per
 * normalised query, holding the bounded results as a JSON string, the engine that made them,
 * when, and `expires_at` (epoch seconds) — the table's TTL attribute.
 *
 * DynamoDB deletes expired items lazily (up to days later), so `get` ignores an item whose
 * `expires_at` has passed. Every call has the store deadlines of `src/aws/clients.ts`; a
 * transient failure is a StorageUnavailableError (`storeCall`) — callers that can live
 * without the cache (the search providers) catch it and go on.
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { Clock, SearchResult } from '../core/ports';
import { normaliseQuery, searchResultsSchema } from '../core/search-results';
import { storeCall } from './unavailable';

/** The table's key and TTL attribute, for the infrastructure and the local bootstrap. */
export const SEARCH_CACHE_SCHEMA = {
  hashKey: 'query',
  attributes: [{ name: 'query', type: 'S' }],
  ttlAttribute: 'expires_at',
} as const;

/** The JSON of 10 bounded results is well under this; anything larger is not written. */
export const MAX_CACHED_JSON_BYTES = 64 * 1024;

const itemSchema = z.object({
  query: z.string(),
  results: z.string().max(MAX_CACHED_JSON_BYTES),
  engine: z.string().min(1).max(100),
  cached_at: z.number(),
  [SEARCH_CACHE_SCHEMA.ttlAttribute]: z.number(),
});

export interface CachedSearch {
  results: SearchResult[];
  engine: string;
  /** Epoch milliseconds. */
  cachedAt: number;
  /** Epoch seconds. */
  expiresAt: number;
}

const systemClock: Clock = { now: () => Date.now() };

export class SearchCache {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly table: string,
    private readonly clock: Clock = systemClock,
  ) {}

  /** The unexpired results cached for the query (normalised here too), else undefined. Unreadable items count as absent. */
  async get(query: string, signal?: AbortSignal): Promise<CachedSearch | undefined> {
    const key = normaliseQuery(query);
    if (!key) return undefined;
    const out = await storeCall(() => this.doc.send(new GetCommand({ TableName: this.table, Key: { [SEARCH_CACHE_SCHEMA.hashKey]: key } }), { abortSignal: signal }));
    if (!out.Item) return undefined;
    const item = itemSchema.safeParse(out.Item);
    if (!item.success) return undefined;
    const expiresAt = item.data[SEARCH_CACHE_SCHEMA.ttlAttribute];
    if (expiresAt * 1000 <= this.clock.now()) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(item.data.results);
    } catch {
      return undefined;
    }
    const results = searchResultsSchema.safeParse(json);
    if (!results.success) return undefined;
    return { results: results.data, engine: item.data.engine, cachedAt: item.data.cached_at, expiresAt };
  }

  /** Caches bounded results for `ttlSeconds` (results that fail the port's bounds are not written). */
  async put(query: string, results: SearchResult[], ttlSeconds: number, engine: string, signal?: AbortSignal): Promise<void> {
    const key = normaliseQuery(query);
    const checked = searchResultsSchema.safeParse(results);
    if (!key || !checked.success) return;
    const json = JSON.stringify(checked.data);
    if (Buffer.byteLength(json, 'utf8') > MAX_CACHED_JSON_BYTES) return;
    const now = this.clock.now();
    await storeCall(() =>
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            [SEARCH_CACHE_SCHEMA.hashKey]: key,
            results: json,
            engine,
            cached_at: now,
            [SEARCH_CACHE_SCHEMA.ttlAttribute]: Math.floor(now / 1000) + Math.max(1, Math.floor(ttlSeconds)),
          },
        }),
        { abortSignal: signal },
      ),
    );
  }
}
