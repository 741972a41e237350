/**
 * Prompt cards' text in the prompts bucket (s3rver locally): `<project_id>/<prompt_id>.txt`,
 * beside the prompt store's `prompts/` folder (ids are UUIDs, so the two never meet). Every call
 * goes through `storeCall` (a 503 on storage failure) on a client with deadlines (`s3Client`).
 * Listings use ListObjects v1 with `Marker` (s3rver cannot answer v2 continuation tokens on Node 24).
 */
import { DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CARD_TEXT_MAX_BYTES, UUID_PATTERN, type CardTextStore } from '../core/projects';
import { storeCall } from './unavailable';

/** Keys one ListObjects / DeleteObjects call handles at most. */
const S3_PAGE = 1000;
/** Delete rounds (of 1000 objects) before giving up on a project that keeps growing. */
const DELETE_MAX_ROUNDS = 100;

const errorName = (err: unknown): string => (typeof err === 'object' && err !== null && 'name' in err ? String(err.name) : '');

function projectPrefix(projectId: string): string {
  // Keys are built from checked ids only: never from raw input.
  if (!UUID_PATTERN.test(projectId)) throw new Error(`not a project id: ${projectId.slice(0, 40)}`);
  return `${projectId}/`;
}

export class S3CardTextStore implements CardTextStore {
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
  ) {}

  keyOf(projectId: string, promptId: string): string {
    if (!UUID_PATTERN.test(promptId)) throw new Error(`not a prompt card id: ${promptId.slice(0, 40)}`);
    return `${projectPrefix(projectId)}${promptId}.txt`;
  }

  async put(projectId: string, promptId: string, text: string): Promise<void> {
    const key = this.keyOf(projectId, promptId);
    await storeCall(() => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: Buffer.from(text, 'utf8'), ContentType: 'text/plain; charset=utf-8' })));
  }

  async get(projectId: string, promptId: string): Promise<string | undefined> {
    const key = this.keyOf(projectId, promptId);
    try {
      const out = await storeCall(() => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })));
      if (!out.Body) return '';
      // Written through this store, so within the cap; anything far larger was not.
      if (out.ContentLength !== undefined && out.ContentLength > 4 * CARD_TEXT_MAX_BYTES) {
        await out.Body.transformToWebStream().cancel().catch(() => undefined);
        throw new Error(`card text ${key} is ${out.ContentLength} bytes, not written by this store`);
      }
      const body = out.Body;
      return await storeCall(() => body.transformToString('utf-8'));
    } catch (err) {
      if (errorName(err) === 'NoSuchKey' || errorName(err) === 'NotFound') return undefined;
      throw err;
    }
  }

  async delete(projectId: string, promptId: string): Promise<void> {
    const key = this.keyOf(projectId, promptId);
    await storeCall(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
  }

  async deleteProject(projectId: string): Promise<number> {
    const prefix = projectPrefix(projectId);
    let deleted = 0;
    // List and delete until nothing is left: catches objects written meanwhile.
    for (let round = 0; round < DELETE_MAX_ROUNDS; round++) {
      const out = await storeCall(() => this.client.send(new ListObjectsCommand({ Bucket: this.bucket, Prefix: prefix, MaxKeys: S3_PAGE })));
      const keys = (out.Contents ?? []).flatMap((o) => (o.Key?.startsWith(prefix) ? [o.Key] : []));
      if (keys.length === 0) return deleted;
      const del = await storeCall(() => this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: false } })));
      if (del.Errors?.length) throw new Error(`could not delete ${del.Errors.length} card texts: ${del.Errors[0]?.Code ?? 'unknown'}`);
      deleted += del.Deleted?.length ?? keys.length;
      if (out.IsTruncated !== true) return deleted;
    }
    throw new Error(`project ${projectId} still had card texts after ${DELETE_MAX_ROUNDS} delete rounds`);
  }
}
