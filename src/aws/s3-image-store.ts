/** Story images in S3 (or any server speaking the S3 protocol, such as s3rver locally). */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsCommand,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { badRequest } from '../core/errors';
import type { ImageStore, ObjectPage, PageRequest, StoredObject } from '../core/ports';
import { storeCall } from './unavailable';

export class S3ImageStore implements ImageStore {
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
  ) {}

  async put(key: string, body: Uint8Array, contentType: string): Promise<void> {
    await storeCall(() => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType })));
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      const out = await storeCall(() => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })));
      return out.Body ? await out.Body.transformToByteArray() : null;
    } catch (err) {
      if (err instanceof NoSuchKey || (err instanceof Error && err.name === 'NoSuchKey')) return null;
      throw err;
    }
  }

  presignGet(key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: expiresInSeconds });
  }

  /**
   * One page of the objects under a prefix, after the key the cursor names. ListObjects (v1)
   * with `Marker` pages by the last key seen, which is exactly our cursor — and, unlike v2's
   * continuation tokens, the local S3 emulator can answer it on Node 24 (s3rver ciphers v2
   * tokens with DES, which Node 24's OpenSSL 3 no longer offers).
   */
  async listPage(prefix: string, page: Omit<PageRequest, 'maxBytes'>): Promise<ObjectPage> {
    const marker = page.cursor === undefined ? undefined : this.keyAfter(prefix, page.cursor);
    const out = await this.listObjects(prefix, page.limit, marker, '/');
    const last = out.objects.at(-1);
    return { objects: out.objects, ...(out.truncated && last ? { nextCursor: Buffer.from(last.key.slice(prefix.length)).toString('base64url') } : {}) };
  }

  /** One ListObjects call; with a delimiter, only the prefix's own objects (not its sub-folders'). */
  private async listObjects(prefix: string, limit: number, marker: string | undefined, delimiter?: string): Promise<{ objects: StoredObject[]; truncated: boolean; nextMarker?: string }> {
    const out = await storeCall(() =>
      this.client.send(new ListObjectsCommand({ Bucket: this.bucket, Prefix: prefix, MaxKeys: limit, ...(marker ? { Marker: marker } : {}), ...(delimiter ? { Delimiter: delimiter } : {}) })),
    );
    const objects = (out.Contents ?? []).flatMap((o) => (o.Key ? [{ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) }] : []));
    return { objects, truncated: out.IsTruncated === true, nextMarker: objects.at(-1)?.key };
  }

  /** A cursor names the last key of the previous page, relative to the prefix (so it cannot reach outside it). */
  private keyAfter(prefix: string, cursor: string): string {
    const rest = Buffer.from(cursor, 'base64url').toString('utf8');
    if (cursor.length > 2048 || rest.includes('/') || rest.includes('..') || rest.length === 0) throw badRequest('images_cursor is not valid; pass the next_images_cursor of a previous page');
    return `${prefix}${rest}`;
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await this.listObjects(prefix, 1000, marker);
      out.push(...page.objects);
      if (!page.truncated || !page.nextMarker) return out;
      marker = page.nextMarker;
    }
  }

  async deleteMany(keys: string[]): Promise<number> {
    let deleted = 0;
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      const out = await storeCall(() => this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: false } }),
      ));
      if (out.Errors?.length) {
        throw new Error(`could not delete ${out.Errors.length} objects: ${out.Errors[0]?.Code ?? 'unknown'}`);
      }
      deleted += out.Deleted?.length ?? chunk.length;
    }
    return deleted;
  }
}
