/**
 * The sessions table in DynamoDB (or dynalite locally).
 *
 * Key schema (spec): partition `user_id`, sort `session_id`; GSIs `TimestampIndex`
 * (user_id, timestamp) and `RouteTimestampIndex` (route, timestamp).
 *
 * One item per route call. Its `session_id` is `<job_id>#<timestamp, 13 digits>#<route>#<request id>`
 * so a job's calls sort oldest-first under the job id and never overwrite each other; the
 * plain job id is kept in `job_id`. The first user of a job id is recorded in an owner item
 * (`user_id` = `#job#<job_id>`, `session_id` = `owner`), which has no `timestamp` or `route`
 * and so stays out of both indexes. No transactions are used (dynalite has none).
 */
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  paginateQuery,
  type DynamoDBDocumentClient,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { fitJson } from '../core/bounded';
import { badRequest } from '../core/errors';
import { TRACKED_PROMPTS_MAX } from '../core/prompt-catalogue';
import type { JobPage, JobSummary, PageRequest, RecordPage, SessionStore, TrackingRecord } from '../core/ports';
import { SESSIONS_SCHEMA } from './sessions-schema';
import { decodeCursor, deleteKeys, encodeCursor, isConditionFailure, queryAll } from './dynamo-util';
import { storeCall } from './unavailable';

export const TIMESTAMP_INDEX = SESSIONS_SCHEMA.indexes[0].name;
export const ROUTE_TIMESTAMP_INDEX = SESSIONS_SCHEMA.indexes[1].name;
/** Request and response of one item fit in this many bytes of JSON (DynamoDB's item limit is 400 KB). */
export const MAX_TRACKED_BYTES = 350_000;

const ownerKey = (jobId: string) => ({ user_id: `#job#${jobId}`, session_id: 'owner' });

const itemSchema = z.object({
  user_id: z.string(),
  session_id: z.string(),
  job_id: z.string(),
  route: z.string(),
  timestamp: z.number(),
  created_at: z.string(),
  request_id: z.string().default(''),
  request: z.unknown(),
  response: z.unknown(),
  status: z.enum(['success', 'error', 'incomplete']).default('success'),
  truncated: z.boolean().optional(),
  provider: z.string().optional(),
  usage: z.array(z.object({ model: z.string(), latencyMs: z.number(), inputTokens: z.number(), outputTokens: z.number() })).optional(),
  prompts: z.array(z.object({ prompt: z.string(), version: z.string(), source: z.enum(['s3', 'fallback']) })).optional(),
});

const recordCursorSchema = z.object({ s: z.string().max(400) });

const cursorSchema = z.object({
  k: z.object({ user_id: z.string(), session_id: z.string(), timestamp: z.number() }),
});

function toRecord(item: Record<string, unknown>): TrackingRecord {
  const i = itemSchema.parse(item);
  return {
    userId: i.user_id,
    jobId: i.job_id,
    route: i.route,
    timestamp: i.timestamp,
    createdAt: i.created_at,
    requestId: i.request_id,
    request: i.request,
    response: i.response,
    status: i.status,
    provider: i.provider,
    usage: i.usage,
    prompts: i.prompts,
    ...(i.truncated ? { truncated: true } : {}),
  };
}

const sessionIdOf = (rec: Pick<TrackingRecord, 'jobId' | 'timestamp' | 'route' | 'requestId'>) => `${rec.jobId}#${String(rec.timestamp).padStart(13, '0')}#${rec.route}#${rec.requestId}`;

export class DynamoSessionStore implements SessionStore {
  /** Job ids this process has already claimed (or seen claimed): saves a write per call. */
  private readonly claimed = new Set<string>();

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly ttlDays = 0,
  ) {}

  /** Writes (or overwrites: same job, time, route and request id) one tracking item, fitted into the item limit. */
  async record(rec: TrackingRecord): Promise<void> {
    const fitted = fitJson({ request: rec.request, response: rec.response }, MAX_TRACKED_BYTES);
    const { request, response } = fitted.value as { request: unknown; response: unknown };
    await storeCall(() =>
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            user_id: rec.userId,
            session_id: sessionIdOf(rec),
            job_id: rec.jobId,
            route: rec.route,
            timestamp: rec.timestamp,
            created_at: rec.createdAt,
            request_id: rec.requestId,
            request,
            response,
            status: rec.status,
            provider: rec.provider,
            usage: rec.usage,
            // A few entries (the story core keeps at most TRACKED_PROMPTS_MAX), each a short name and version id: well inside the item's headroom.
            prompts: rec.prompts?.slice(0, TRACKED_PROMPTS_MAX),
            ...(fitted.truncated || rec.truncated ? { truncated: true } : {}),
            ...(this.ttlDays > 0 ? { [SESSIONS_SCHEMA.ttlAttribute]: Math.floor(rec.timestamp / 1000) + this.ttlDays * 86400 } : {}),
          },
        }),
      ),
    );
  }

  async claimJob(jobId: string, userId: string): Promise<void> {
    const key = `${userId}\u0000${jobId}`;
    if (this.claimed.has(key)) return;
    try {
      await storeCall(() => this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...ownerKey(jobId), owner: userId, created_at: new Date().toISOString() },
          ConditionExpression: 'attribute_not_exists(session_id)',
        }),
      ));
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    if (this.claimed.size >= 10_000) this.claimed.clear();
    this.claimed.add(key);
  }

  async jobOwner(jobId: string): Promise<string | undefined> {
    const out = await storeCall(() => this.doc.send(new GetCommand({ TableName: this.table, Key: ownerKey(jobId), ConsistentRead: true })));
    const owner = out.Item?.owner;
    return typeof owner === 'string' ? owner : undefined;
  }

  /** The job's records: all of them, oldest first, or only the newest (one query of one item). */
  private async queryJob(userId: string, jobId: string, newestOnly: boolean): Promise<Record<string, unknown>[]> {
    const input = {
      TableName: this.table,
      KeyConditionExpression: 'user_id = :u AND begins_with(session_id, :p)',
      ExpressionAttributeValues: { ':u': userId, ':p': `${jobId}#` },
      ConsistentRead: true,
    };
    if (!newestOnly) return queryAll(this.doc, input);
    const out = await storeCall(() => this.doc.send(new QueryCommand({ ...input, ScanIndexForward: false, Limit: 1 })));
    return out.Items ?? [];
  }

  async hasIncomplete(userId: string, jobId: string): Promise<boolean> {
    const input = {
      TableName: this.table,
      KeyConditionExpression: 'user_id = :u AND begins_with(session_id, :p)',
      FilterExpression: '#s = :incomplete',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: { ':u': userId, ':p': `${jobId}#`, ':incomplete': 'incomplete' },
      ProjectionExpression: 'session_id',
      ConsistentRead: true,
    };
    // Page by page, stopping at the first page that holds one.
    return storeCall(async () => {
      for await (const page of paginateQuery({ client: this.doc }, input)) if ((page.Items ?? []).length > 0) return true;
      return false;
    });
  }

  /** One page of a job's records, oldest first: at most `limit` records and `maxBytes` of them. */
  async jobRecords(userId: string, jobId: string, page: PageRequest): Promise<RecordPage> {
    let start: Record<string, unknown> | undefined;
    if (page.cursor !== undefined) {
      const c = decodeCursor(page.cursor, recordCursorSchema);
      if (!c || !c.s.startsWith(`${jobId}#`)) throw badRequest('records_cursor is not valid; pass the next_records_cursor of a previous page');
      start = { user_id: userId, session_id: c.s };
    }
    const out: QueryCommandOutput = await storeCall(() =>
      this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'user_id = :u AND begins_with(session_id, :p)',
          ExpressionAttributeValues: { ':u': userId, ':p': `${jobId}#` },
          ConsistentRead: true,
          ExclusiveStartKey: start,
          Limit: page.limit,
        }),
      ),
    );
    const items = out.Items ?? [];
    const records: TrackingRecord[] = [];
    let used = 0;
    for (const item of items) {
      const size = Buffer.byteLength(JSON.stringify(item), 'utf8');
      if (records.length > 0 && used + size > page.maxBytes) break;
      used += size;
      records.push(toRecord(item));
    }
    const more = records.length < items.length || out.LastEvaluatedKey !== undefined;
    const last = records.at(-1);
    return { records, ...(more && last ? { nextCursor: encodeCursor({ s: sessionIdOf(last) }) } : {}) };
  }

  private jobsCursor(userId: string, cursor: string | undefined): z.infer<typeof cursorSchema> | undefined {
    if (cursor === undefined) return undefined;
    const parsed = decodeCursor(cursor, cursorSchema);
    // Another user's cursor is as invalid as a malformed one.
    if (!parsed || parsed.k.user_id !== userId) throw badRequest('cursor is not valid; pass the next_cursor of a previous page');
    return parsed;
  }

  /**
   * The caller's jobs, newest activity first. A job sits at the position of its newest
   * record; later pages skip jobs whose newest record came before the cursor.
   */
  async listJobs(userId: string, limit: number, cursor?: string): Promise<JobPage> {
    const from = this.jobsCursor(userId, cursor);
    const jobs: JobSummary[] = [];
    const seen = new Set<string>();
    let start: Record<string, unknown> | undefined = from?.k;
    for (;;) {
      const out: QueryCommandOutput = await storeCall(() => this.doc.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: TIMESTAMP_INDEX,
          KeyConditionExpression: 'user_id = :u',
          ExpressionAttributeValues: { ':u': userId },
          ScanIndexForward: false,
          ExclusiveStartKey: start,
          Limit: 100,
        }),
      ));
      for (const item of out.Items ?? []) {
        const rec = toRecord(item);
        if (seen.has(rec.jobId)) continue;
        seen.add(rec.jobId);
        if (from) {
          const newest = (await this.queryJob(userId, rec.jobId, true))[0];
          // Listed on an earlier page: its newest record lies before the cursor.
          if (newest && (Number(newest.timestamp) > from.k.timestamp || newest.session_id === from.k.session_id)) continue;
        }
        jobs.push({ jobId: rec.jobId, lastRoute: rec.route, lastTimestamp: rec.timestamp, lastCreatedAt: rec.createdAt });
        if (jobs.length === limit) {
          const k = { user_id: rec.userId, session_id: String(item.session_id), timestamp: rec.timestamp };
          return { jobs, nextCursor: encodeCursor({ k }) };
        }
      }
      start = out.LastEvaluatedKey;
      if (!start) return { jobs };
    }
  }

  async deleteJob(userId: string, jobId: string): Promise<number> {
    const items = await this.queryJob(userId, jobId, false);
    const keys = items.map((i) => ({ user_id: String(i.user_id), session_id: String(i.session_id) }));
    await deleteKeys(this.doc, this.table, keys);
    this.claimed.delete(`${userId}\u0000${jobId}`);
    if ((await this.jobOwner(jobId)) === userId) {
      await storeCall(() => this.doc.send(new DeleteCommand({ TableName: this.table, Key: ownerKey(jobId), ConditionExpression: '#o = :u', ExpressionAttributeNames: { '#o': 'owner' }, ExpressionAttributeValues: { ':u': userId } })));
    }
    return keys.length;
  }
}
