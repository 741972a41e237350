/**
 * The agent's sessions in S3 (the media bucket; s3rver locally), under `users/<sub>/sessions/<id>/`
 * — see `src/core/artifacts.ts` for the layout and the rules. Owners are claimed in the sessions
 * table. Listings use ListObjects v1 with `Marker` (s3rver cannot answer v2 continuation tokens
 * on Node 24). Every call goes through `storeCall` (a 503 on storage failure) on a client with
 * deadlines (`s3Client`).
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  type GetObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { z } from 'zod';
import {
  ARTIFACT_MAX_BYTES,
  ARTIFACT_MAX_COUNT,
  ARTIFACTS_FOLDER,
  CONVERSATION_FILE,
  CONVERSATION_MAX_BYTES,
  CONVERSATION_MAX_MESSAGES,
  CONVERSATION_READ_MAX_BYTES,
  LOG_ENTRY_MAX_BYTES,
  LOGS_FOLDER,
  METADATA_FILE,
  PRESIGN_MAX_SECONDS,
  SESSION_ID_PATTERN,
  artifactContentType,
  artifactTooLarge,
  contentTypeFor,
  conversationSchema,
  newSessionId,
  randomBase36,
  sessionIdTime,
  sessionMetaSchema,
  sessionOwnerKey,
  sessionPrefix,
  sessionsPrefix,
  tooManyArtifacts,
  validateArtifactPath,
  validateSessionId,
  validateSessionPage,
  SESSION_TITLE_MAX_CHARS,
  validateTitle,
  windowConversation,
  type AgentSessionMeta,
  type AgentSessionStore,
  type ArtifactContent,
  type ArtifactInfo,
  type ConversationMessage,
  type SessionPage,
  type StoredArtifact,
} from '../core/artifacts';
import { fitJson } from '../core/bounded';
import { mapSettled } from '../core/concurrency';
import { badRequest, forbidden, notFound } from '../core/errors';
import type { Clock, SessionStore, Telemetry } from '../core/ports';
import { storeCall } from './unavailable';

/** Bytes a metadata.json may have (a title is at most 200 characters). */
const METADATA_READ_MAX_BYTES = 16 * 1024;
/** Metadata files read at once while listing. */
const LIST_CONCURRENCY = 8;
/** Keys one ListObjects / DeleteObjects call handles at most. */
const S3_PAGE = 1000;
/** Delete rounds (of 1000 objects) before giving up on a session that keeps growing. */
const DELETE_MAX_ROUNDS = 1000;

export interface AgentSessionLimits {
  maxArtifacts: number;
  maxArtifactBytes: number;
  maxMessages: number;
  maxConversationBytes: number;
}

export interface S3AgentSessionOptions {
  /** Where unreadable stored files and failed log writes are reported. */
  telemetry?: Pick<Telemetry, 'log' | 'count'>;
  /** 8 base-36 characters for new session ids (crypto-random by default). */
  random?: () => string;
  limits?: Partial<AgentSessionLimits>;
}

type Got = { kind: 'found'; bytes: Uint8Array; contentType?: string } | { kind: 'missing' } | { kind: 'too_large'; size: number };

interface Listed {
  objects: Array<{ key: string; size: number; lastModified: Date }>;
  prefixes: string[];
  truncated: boolean;
}

const errorName = (err: unknown): string => (typeof err === 'object' && err !== null && 'name' in err ? String(err.name) : '');
/** GetObject's NoSuchKey, HeadObject's NotFound (a bare 404). */
const isMissingKey = (err: unknown): boolean => errorName(err) === 'NoSuchKey' || errorName(err) === 'NotFound';

const logEntrySchema = z.record(z.string(), z.unknown());
const presignSecondsSchema = z.number().int().min(1).max(PRESIGN_MAX_SECONDS);

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
}

export class S3AgentSessionStore implements AgentSessionStore {
  private readonly telemetry: Pick<Telemetry, 'log' | 'count'>;
  private readonly random: () => string;
  readonly limits: AgentSessionLimits;
  private logCounter = 0;

  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    private readonly sessions: SessionStore,
    private readonly clock: Clock,
    private readonly presignSeconds: number,
    options: S3AgentSessionOptions = {},
  ) {
    this.telemetry = options.telemetry ?? { log: () => undefined, count: () => undefined };
    this.random = options.random ?? (() => randomBase36(8));
    this.limits = {
      maxArtifacts: ARTIFACT_MAX_COUNT,
      maxArtifactBytes: ARTIFACT_MAX_BYTES,
      maxMessages: CONVERSATION_MAX_MESSAGES,
      maxConversationBytes: CONVERSATION_MAX_BYTES,
      ...options.limits,
    };
    presignSecondsSchema.parse(presignSeconds);
  }

  // -------------------------------------------------------------------------------------------
  // Sessions

  async create(sub: string, title?: string): Promise<AgentSessionMeta> {
    const cleanTitle = validateTitle(title);
    sessionsPrefix(sub);
    // A random suffix makes a taken id all but impossible; the claim still decides.
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = this.clock.now();
      const id = newSessionId(now, this.random);
      await this.sessions.claimJob(sessionOwnerKey(id), sub);
      if ((await this.sessions.jobOwner(sessionOwnerKey(id))) !== sub) continue;
      const at = new Date(now).toISOString();
      const meta: AgentSessionMeta = { session_id: id, created_at: at, updated_at: at, title: cleanTitle, message_count: 0 };
      await this.putJson(this.key(sub, id, METADATA_FILE), meta);
      return meta;
    }
    throw new Error('could not allocate a session id');
  }

  async get(sub: string, sessionId: string): Promise<AgentSessionMeta> {
    const id = validateSessionId(sessionId);
    return this.requireSession(sub, id);
  }

  async list(sub: string, page: { limit?: number; cursor?: string | null } = {}): Promise<SessionPage> {
    const { limit, cursor } = validateSessionPage(page);
    const prefix = sessionsPrefix(sub);
    // Past every key of the cursor's session: "/" sorts before "0", and ids have one width.
    const listed = await this.listObjects(prefix, limit + 1, { delimiter: '/', ...(cursor ? { marker: `${prefix}${cursor}0` } : {}) });
    // Real S3 returns at most MaxKeys prefixes; s3rver returns them all. Either way: sorted, after the cursor, `limit` of them.
    const ids = [...new Set(listed.prefixes.map((p) => p.slice(prefix.length, -1)))]
      .filter((id) => SESSION_ID_PATTERN.test(id) && (cursor === undefined || id > cursor))
      .sort();
    const pageIds = ids.slice(0, limit);
    const more = ids.length > limit || listed.truncated;
    const metas = await mapSettled(pageIds, LIST_CONCURRENCY, (id) => this.readMeta(sub, id));
    const sessions: AgentSessionMeta[] = [];
    for (const m of metas) {
      if (!m.ok) throw m.error;
      // A prefix without metadata (a half-finished delete) is not a session.
      if (m.value) sessions.push(m.value);
    }
    const last = pageIds.at(-1);
    return { sessions, next_cursor: more && last ? last : null };
  }

  async delete(sub: string, sessionId: string): Promise<{ deleted_objects: number }> {
    const id = validateSessionId(sessionId);
    const prefix = sessionPrefix(sub, id);
    let deleted = 0;
    // List and delete until nothing is left: needs no listing order, and catches objects written meanwhile.
    for (let round = 0; ; round++) {
      if (round === DELETE_MAX_ROUNDS) throw new Error(`session ${id} still had objects after ${round} delete rounds`);
      const listed = await this.listObjects(prefix, S3_PAGE, {});
      if (listed.objects.length === 0) {
        if (round === 0) return this.missing(sub, id);
        break;
      }
      deleted += await this.deleteKeys(listed.objects.map((o) => o.key));
      if (!listed.truncated) break;
    }
    // The id is released with the session (it is never reused: ids carry time and randomness).
    await this.sessions.deleteJob(sub, sessionOwnerKey(id));
    return { deleted_objects: deleted };
  }

  // -------------------------------------------------------------------------------------------
  // The conversation

  async loadConversation(sub: string, sessionId: string): Promise<ConversationMessage[]> {
    const id = validateSessionId(sessionId);
    const got = await this.getObject(this.key(sub, id, CONVERSATION_FILE), CONVERSATION_READ_MAX_BYTES);
    if (got.kind === 'missing') {
      await this.requireSession(sub, id);
      return [];
    }
    if (got.kind === 'too_large') {
      this.unreadable('conversation', id, `${got.size} bytes, over the ${CONVERSATION_READ_MAX_BYTES} byte read limit`);
      return [];
    }
    const parsed = conversationSchema.safeParse(parseJson(got.bytes));
    if (!parsed.success) {
      this.unreadable('conversation', id, parsed.error.issues[0]?.message ?? 'not JSON');
      return [];
    }
    return parsed.data;
  }

  async saveConversation(sub: string, sessionId: string, messages: readonly ConversationMessage[], title?: string): Promise<{ message_count: number; dropped: number; session: AgentSessionMeta }> {
    const id = validateSessionId(sessionId);
    // As plain JSON (framework objects serialise themselves), checked for shape.
    let plain: unknown;
    try {
      plain = JSON.parse(JSON.stringify(messages) ?? 'null');
    } catch {
      throw badRequest('conversation is not JSON (cyclic, or holds values JSON cannot carry)');
    }
    const parsed = conversationSchema.safeParse(plain);
    if (!parsed.success) throw badRequest(`conversation is not an array of { role, content[] } messages: ${parsed.error.issues[0]?.message ?? ''}`);
    const meta = await this.requireSession(sub, id);
    const window = windowConversation(parsed.data, { maxMessages: this.limits.maxMessages, maxBytes: this.limits.maxConversationBytes });
    if (window.truncated) this.telemetry.log('warn', 'agent session: the newest turn alone exceeded the conversation window; long strings were cut', { session_id: id });
    await this.putJson(this.key(sub, id, CONVERSATION_FILE), window.messages);
    const named = meta.title === '' && title !== undefined ? validateTitle(title.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, SESSION_TITLE_MAX_CHARS)) : meta.title;
    const updated: AgentSessionMeta = { ...meta, title: named, updated_at: new Date(this.clock.now()).toISOString(), message_count: window.messages.length };
    await this.putJson(this.key(sub, id, METADATA_FILE), updated);
    return { message_count: window.messages.length, dropped: window.dropped, session: updated };
  }

  // -------------------------------------------------------------------------------------------
  // Artifacts

  async writeArtifact(sub: string, sessionId: string, path: string, bytes: Uint8Array, contentType?: string): Promise<StoredArtifact> {
    const id = validateSessionId(sessionId);
    const clean = validateArtifactPath(path);
    if (!(bytes instanceof Uint8Array)) throw badRequest('artifact content must be bytes');
    if (bytes.byteLength > this.limits.maxArtifactBytes) throw artifactTooLarge(bytes.byteLength, this.limits.maxArtifactBytes);
    const type = artifactContentType(clean, contentType);
    await this.requireSession(sub, id);
    const key = this.key(sub, id, `${ARTIFACTS_FOLDER}${clean}`);
    const existing = await this.listObjects(this.key(sub, id, ARTIFACTS_FOLDER), this.limits.maxArtifacts, {});
    if (existing.objects.length >= this.limits.maxArtifacts && !existing.objects.some((o) => o.key === key) && !(await this.exists(key))) {
      throw tooManyArtifacts(this.limits.maxArtifacts);
    }
    await storeCall(() => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentType: type })));
    return { path: clean, size: bytes.byteLength, content_type: type, s3_uri: `s3://${this.bucket}/${key}` };
  }

  async readArtifact(sub: string, sessionId: string, path: string): Promise<ArtifactContent> {
    const id = validateSessionId(sessionId);
    const clean = validateArtifactPath(path);
    const got = await this.getObject(this.key(sub, id, `${ARTIFACTS_FOLDER}${clean}`), this.limits.maxArtifactBytes);
    if (got.kind === 'missing') {
      await this.requireSession(sub, id);
      throw notFound(`artifact ${clean} not found in session ${id}`);
    }
    if (got.kind === 'too_large') throw artifactTooLarge(got.size, this.limits.maxArtifactBytes);
    return { bytes: got.bytes, content_type: got.contentType ?? contentTypeFor(clean) };
  }

  async listArtifacts(sub: string, sessionId: string): Promise<ArtifactInfo[]> {
    const id = validateSessionId(sessionId);
    const prefix = this.key(sub, id, ARTIFACTS_FOLDER);
    const listed = await this.listObjects(prefix, this.limits.maxArtifacts, {});
    if (listed.objects.length === 0) await this.requireSession(sub, id);
    const out: ArtifactInfo[] = [];
    for (const o of listed.objects) {
      const path = o.key.slice(prefix.length);
      try {
        validateArtifactPath(path);
      } catch {
        continue; // not written through this store
      }
      out.push({ path, size: o.size, content_type: contentTypeFor(path), last_modified: o.lastModified.toISOString() });
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async presignArtifact(sub: string, sessionId: string, path: string, seconds: number = this.presignSeconds): Promise<string> {
    const id = validateSessionId(sessionId);
    const clean = validateArtifactPath(path);
    if (!presignSecondsSchema.safeParse(seconds).success) throw badRequest(`seconds must be an integer between 1 and ${PRESIGN_MAX_SECONDS}`);
    const key = this.key(sub, id, `${ARTIFACTS_FOLDER}${clean}`);
    if (!(await this.exists(key))) {
      await this.requireSession(sub, id);
      throw notFound(`artifact ${clean} not found in session ${id}`);
    }
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: seconds });
  }

  // -------------------------------------------------------------------------------------------
  // Logs

  async appendLog(sub: string, sessionId: string, entry: Record<string, unknown>): Promise<boolean> {
    try {
      const id = validateSessionId(sessionId);
      const now = this.clock.now();
      const record = { at: new Date(now).toISOString(), ...logEntrySchema.parse(entry) };
      const fitted = fitJson(record, LOG_ENTRY_MAX_BYTES);
      await this.requireSession(sub, id);
      this.logCounter = (this.logCounter + 1) % 1_000_000;
      const name = `${String(now).padStart(13, '0')}-${String(this.logCounter).padStart(6, '0')}${this.random().slice(0, 4)}.json`;
      await this.putJson(this.key(sub, id, `${LOGS_FOLDER}${name}`), fitted.value);
      return true;
    } catch (err) {
      this.telemetry.count('agent_session_log_failures');
      this.telemetry.log('warn', 'agent session: a log entry could not be stored', { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
      return false;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Helpers

  private key(sub: string, id: string, rest: string): string {
    return `${sessionPrefix(sub, id)}${rest}`;
  }

  /** The session's metadata, or 403 (another user's) / 404 (nobody's). */
  private async requireSession(sub: string, id: string): Promise<AgentSessionMeta> {
    return (await this.readMeta(sub, id)) ?? this.missing(sub, id);
  }

  /** 403 when the id is another user's, 404 when nobody has it (or the caller no longer does). */
  private async missing(sub: string, id: string): Promise<never> {
    const owner = await this.sessions.jobOwner(sessionOwnerKey(id));
    if (owner !== undefined && owner !== sub) throw forbidden('This session belongs to another user');
    throw notFound(`Session ${id} not found`);
  }

  /**
   * The metadata under the caller's prefix; undefined when there is none. Unreadable metadata
   * is logged and rebuilt from the id (which carries the creation time), so the session can
   * still be listed, read and deleted.
   */
  private async readMeta(sub: string, id: string): Promise<AgentSessionMeta | undefined> {
    const got = await this.getObject(this.key(sub, id, METADATA_FILE), METADATA_READ_MAX_BYTES);
    if (got.kind === 'missing') return undefined;
    if (got.kind === 'found') {
      const parsed = sessionMetaSchema.safeParse(parseJson(got.bytes));
      if (parsed.success && parsed.data.session_id === id) return parsed.data;
      this.unreadable('metadata', id, parsed.success ? 'another session id' : (parsed.error.issues[0]?.message ?? 'not JSON'));
    } else {
      this.unreadable('metadata', id, `${got.size} bytes`);
    }
    const created = new Date(sessionIdTime(id)).toISOString();
    return { session_id: id, created_at: created, updated_at: created, title: '', message_count: 0 };
  }

  private unreadable(what: string, id: string, reason: string): void {
    this.telemetry.count('agent_session_unreadable');
    this.telemetry.log('warn', `agent session: stored ${what} is unreadable; treated as empty`, { session_id: id, reason: reason.slice(0, 300) });
  }

  private async putJson(key: string, value: unknown): Promise<void> {
    const body = Buffer.from(JSON.stringify(value), 'utf8');
    await storeCall(() => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/json' })));
  }

  /** An object's bytes, reading at most `maxBytes` (a larger object is reported, not read). */
  private async getObject(key: string, maxBytes: number): Promise<Got> {
    let out: GetObjectCommandOutput;
    try {
      out = await storeCall(() => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })));
    } catch (err) {
      if (isMissingKey(err)) return { kind: 'missing' };
      throw err;
    }
    const body = out.Body;
    if (!body) return { kind: 'found', bytes: new Uint8Array(), contentType: out.ContentType };
    if (out.ContentLength !== undefined && out.ContentLength > maxBytes) {
      await body.transformToWebStream().cancel().catch(() => undefined);
      return { kind: 'too_large', size: out.ContentLength };
    }
    const bytes = await storeCall(() => body.transformToByteArray());
    if (bytes.byteLength > maxBytes) return { kind: 'too_large', size: bytes.byteLength };
    return { kind: 'found', bytes, contentType: out.ContentType };
  }

  private async exists(key: string): Promise<boolean> {
    try {
      await storeCall(() => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
      return true;
    } catch (err) {
      if (isMissingKey(err)) return false;
      throw err;
    }
  }

  /** One ListObjects (v1) call. */
  private async listObjects(prefix: string, maxKeys: number, opts: { delimiter?: string; marker?: string }): Promise<Listed> {
    const out = await storeCall(() =>
      this.client.send(
        new ListObjectsCommand({
          Bucket: this.bucket,
          Prefix: prefix,
          MaxKeys: Math.min(maxKeys, S3_PAGE),
          ...(opts.delimiter ? { Delimiter: opts.delimiter } : {}),
          ...(opts.marker ? { Marker: opts.marker } : {}),
        }),
      ),
    );
    return {
      objects: (out.Contents ?? []).flatMap((o) => (o.Key?.startsWith(prefix) ? [{ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) }] : [])),
      prefixes: (out.CommonPrefixes ?? []).flatMap((p) => (p.Prefix?.startsWith(prefix) ? [p.Prefix] : [])),
      truncated: out.IsTruncated === true,
    };
  }

  private async deleteKeys(keys: string[]): Promise<number> {
    let deleted = 0;
    for (let i = 0; i < keys.length; i += S3_PAGE) {
      const chunk = keys.slice(i, i + S3_PAGE);
      const out = await storeCall(() => this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: false } })));
      if (out.Errors?.length) throw new Error(`could not delete ${out.Errors.length} objects: ${out.Errors[0]?.Code ?? 'unknown'}`);
      deleted += out.Deleted?.length ?? chunk.length;
    }
    return deleted;
  }
}
