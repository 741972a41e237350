/**
 * The prompts bucket (`PromptSource`, see src/core/prompt-store.ts) through the official S3 SDK.
 * Every call goes through `storeCall` on a client with the storage deadlines (`s3Client`), so a
 * bucket that is down or stalled is a 503 in bounded time.
 *
 * A prompt's history, two ways:
 * - `versioning` (AWS): the bucket is versioned. A put is a new version; versions come from
 *   ListObjectVersions, an old one from GetObject with VersionId.
 * - `objects` (a store without bucket versioning: s3rver, the local S3): each put also writes
 *   `prompt-history/<assistant>/<name>/<id>.md` and tags the current object with that id
 *   (metadata `story42-version`), which is then its version. Ids sort newest first (inverted
 *   time), so one ListObjectsV2 page lists the newest versions.
 */
import { randomBytes } from 'node:crypto';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type GetObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { PROMPT_VERSION_ID_PATTERN } from '../core/prompt-admin';
import { decodePromptBytes } from '../core/prompt-catalogue';
import { PROMPT_MAX_BYTES, PROMPTS_PREFIX, type FetchedPrompt, type PromptSource, type PromptVersion } from '../core/prompt-store';
import { statusOf } from '../platform/failures';
import { storeCall } from './unavailable';

export type PromptHistoryMode = 'versioning' | 'objects';
export const PROMPT_HISTORY_MODES = ['versioning', 'objects'] as const;

/** The folder of the `objects` history (outside `prompts/`, so listings of prompts never see it). */
export const PROMPT_HISTORY_PREFIX = 'prompt-history/';
/** The user metadata naming a current object's version in the `objects` history. */
export const VERSION_METADATA = 'story42-version';
/** An `objects` history id: inverted milliseconds (13 digits) and 8 random hex digits. */
export const HISTORY_ID_PATTERN = /^\d{13}-[0-9a-f]{8}$/;
/** Versions or keys one listing returns at most (one S3 page). */
export const PROMPT_LIST_MAX = 1000;

const MAX_TIME = 9_999_999_999_999;
const CONTENT_TYPE = 'text/markdown; charset=utf-8';

const errorName = (err: unknown): string => (typeof err === 'object' && err !== null && 'name' in err ? String(err.name) : '');
const isMissing = (err: unknown): boolean => ['NoSuchKey', 'NotFound', 'NoSuchVersion'].includes(errorName(err)) || statusOf(err) === 404;
const isNotModified = (err: unknown): boolean => statusOf(err) === 304 || errorName(err) === 'NotModified';

/** A stored prompt that cannot be served (too large, not UTF-8): a failed read, never a 500 of a story. */
export class UnreadablePromptError extends Error {
  constructor(key: string, problem: string) {
    super(`prompt ${key}: ${problem}`);
    this.name = 'UnreadablePromptError';
  }
}

export function historyPrefix(key: string): string {
  if (!key.startsWith(PROMPTS_PREFIX) || !key.endsWith('.md')) throw new Error(`not a prompt key: ${key}`);
  return `${PROMPT_HISTORY_PREFIX}${key.slice(PROMPTS_PREFIX.length, -'.md'.length)}/`;
}

export function newHistoryId(now: number, random: () => string = () => randomBytes(4).toString('hex')): string {
  return `${String(MAX_TIME - Math.max(0, Math.min(MAX_TIME, Math.floor(now)))).padStart(13, '0')}-${random()}`;
}

export interface S3PromptSourceOptions {
  history: PromptHistoryMode;
  /** The clock of `objects` history ids. */
  now?: () => number;
}

export class S3PromptSource implements PromptSource {
  private readonly now: () => number;

  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    private readonly options: S3PromptSourceOptions,
  ) {
    this.now = options.now ?? (() => Date.now());
  }

  get history(): PromptHistoryMode {
    return this.options.history;
  }

  async get(key: string, ifNoneMatch?: string): Promise<FetchedPrompt> {
    return this.read(key, { IfNoneMatch: ifNoneMatch });
  }

  async getVersion(key: string, versionId: string): Promise<FetchedPrompt> {
    if (this.options.history === 'objects') {
      if (!HISTORY_ID_PATTERN.test(versionId)) return { kind: 'missing' };
      const found = await this.read(`${historyPrefix(key)}${versionId}.md`, {});
      return found.kind === 'found' ? { ...found, versionId } : found;
    }
    if (!PROMPT_VERSION_ID_PATTERN.test(versionId)) return { kind: 'missing' };
    try {
      return await this.read(key, { VersionId: versionId });
    } catch (err) {
      // A version id S3 cannot parse is "no such version" for the caller.
      if (statusOf(err) === 400) return { kind: 'missing' };
      throw err;
    }
  }

  private async read(key: string, extra: { IfNoneMatch?: string; VersionId?: string }): Promise<FetchedPrompt> {
    let out: GetObjectCommandOutput;
    try {
      out = await storeCall(() => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, ...extra })));
    } catch (err) {
      if (isNotModified(err)) return { kind: 'not-modified' };
      if (isMissing(err)) return { kind: 'missing' };
      throw err;
    }
    if (!out.Body) throw new UnreadablePromptError(key, 'the object has no body');
    if (out.ContentLength !== undefined && out.ContentLength > PROMPT_MAX_BYTES) {
      try {
        out.Body.transformToWebStream().cancel().catch(() => undefined);
      } catch {
        // already consumed or closed: nothing to stop
      }
      throw new UnreadablePromptError(key, `the object is ${out.ContentLength} bytes; a prompt may have at most ${PROMPT_MAX_BYTES}`);
    }
    const bytes = await storeCall(() => (out.Body as NonNullable<GetObjectCommandOutput['Body']>).transformToByteArray());
    if (bytes.length > PROMPT_MAX_BYTES) throw new UnreadablePromptError(key, `the object is ${bytes.length} bytes; a prompt may have at most ${PROMPT_MAX_BYTES}`);
    const decoded = decodePromptBytes(bytes);
    if ('problem' in decoded) throw new UnreadablePromptError(key, decoded.problem);
    const versionId = this.options.history === 'objects' ? out.Metadata?.[VERSION_METADATA] : out.VersionId && out.VersionId !== 'null' ? out.VersionId : undefined;
    return { kind: 'found', text: decoded.text, etag: out.ETag ?? '', ...(versionId ? { versionId } : {}), lastModified: out.LastModified ?? new Date(0) };
  }

  async put(key: string, text: string): Promise<{ versionId?: string; etag: string }> {
    const body = Buffer.from(text, 'utf8');
    if (this.options.history === 'objects') {
      const id = newHistoryId(this.now());
      // The history copy first: a failure in between leaves an extra history entry, never a current version without one.
      await storeCall(() => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: `${historyPrefix(key)}${id}.md`, Body: body, ContentType: CONTENT_TYPE })));
      const out = await storeCall(() => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: CONTENT_TYPE, Metadata: { [VERSION_METADATA]: id } })));
      return { versionId: id, etag: out.ETag ?? '' };
    }
    const out = await storeCall(() => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: CONTENT_TYPE })));
    return { ...(out.VersionId && out.VersionId !== 'null' ? { versionId: out.VersionId } : {}), etag: out.ETag ?? '' };
  }

  async versions(key: string, limit: number): Promise<PromptVersion[]> {
    const max = Math.max(1, Math.min(PROMPT_LIST_MAX, Math.floor(limit)));
    if (this.options.history === 'objects') {
      const prefix = historyPrefix(key);
      const [listed, current] = await Promise.all([
        storeCall(() => this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, MaxKeys: max }))),
        this.currentVersion(key),
      ]);
      return (listed.Contents ?? []).flatMap((o) => {
        const id = o.Key?.slice(prefix.length, -'.md'.length) ?? '';
        if (!o.Key?.endsWith('.md') || !HISTORY_ID_PATTERN.test(id)) return [];
        return [{ version_id: id, last_modified: (o.LastModified ?? new Date(0)).toISOString(), size: o.Size ?? 0, is_latest: id === current }];
      });
    }
    // One page: the key's versions come newest first (other keys under the same prefix are skipped).
    const out = await storeCall(() => this.client.send(new ListObjectVersionsCommand({ Bucket: this.bucket, Prefix: key, MaxKeys: max })));
    return (out.Versions ?? [])
      .filter((v) => v.Key === key && v.VersionId)
      .slice(0, max)
      .map((v) => ({ version_id: v.VersionId as string, last_modified: (v.LastModified ?? new Date(0)).toISOString(), size: v.Size ?? 0, is_latest: v.IsLatest === true }));
  }

  /** The current object's ETag (quoted, as S3 gives it), or undefined when there is none. */
  async etag(key: string): Promise<string | undefined> {
    try {
      const head = await storeCall(() => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
      return head.ETag;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /** The `objects` history id of the current object (undefined when absent or untagged). */
  private async currentVersion(key: string): Promise<string | undefined> {
    try {
      const head = await storeCall(() => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
      return head.Metadata?.[VERSION_METADATA];
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async keys(prefix: string, limit: number): Promise<string[]> {
    const max = Math.max(1, Math.min(PROMPT_LIST_MAX, Math.floor(limit)));
    const out = await storeCall(() => this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, MaxKeys: max })));
    return (out.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : []));
  }
}
