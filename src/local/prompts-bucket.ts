/**
 * The local prompts bucket: versioned where the store can do it, and seeded with the bundled
 * prompts on first start (a prompt already in the bucket — an edit — is never overwritten).
 *
 * s3rver (the local S3, 3.7) has no bucket versioning: it does not route `?versioning` (see
 * `enablePromptVersioning`), answers ListObjectVersions with 405 MethodNotAllowed and ignores a
 * GetObject's versionId. The local platform then
 * keeps each prompt's history as objects (`STORY42_PROMPTS_HISTORY=objects`, see
 * src/aws/s3-prompt-source.ts), so versions and rollback work locally on what the store can do.
 */
import { GetBucketVersioningCommand, PutBucketVersioningCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3PromptSource, type PromptHistoryMode } from '../aws/s3-prompt-source';
import { PROMPT_IDS, promptTextProblem, splitPromptId } from '../core/prompt-catalogue';
import type { BundledPromptReader } from '../core/prompt-service';
import { promptKey } from '../core/prompt-store';
import { isTransientFailure } from '../platform/failures';

/**
 * Turns versioning on, and reads it back: `versioning` when the store says it is enabled,
 * `objects` otherwise. (s3rver does not route `?versioning` at all: its PutBucketVersioning is a
 * CreateBucket, answered BucketAlreadyExists, and its GetBucketVersioning a listing, with no
 * status — so the read-back is what tells.)
 */
export async function enablePromptVersioning(s3: S3Client, bucket: string): Promise<PromptHistoryMode> {
  try {
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  } catch (err) {
    if (isTransientFailure(err)) throw err;
  }
  const state = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
  return state.Status === 'Enabled' ? 'versioning' : 'objects';
}

/** Uploads each bundled prompt of the catalogue the bucket does not hold yet; returns the ids uploaded. */
export async function seedPrompts(source: S3PromptSource, bundled: BundledPromptReader): Promise<string[]> {
  const uploaded: string[] = [];
  for (const id of PROMPT_IDS) {
    const { assistant, name } = splitPromptId(id);
    const copy = bundled.get(assistant, name);
    if (!copy) continue;
    const problem = promptTextProblem(assistant, name, copy.text);
    if (problem) throw new Error(`bundled prompt ${id}: ${problem}`);
    const key = promptKey(assistant, name);
    if ((await source.get(key)).kind !== 'missing') continue;
    await source.put(key, copy.text);
    uploaded.push(id);
  }
  return uploaded;
}

/** Versioning (or the objects history) and the first-start upload; returns how the bucket keeps history. */
export async function preparePromptsBucket(s3: S3Client, bucket: string, bundled: BundledPromptReader): Promise<PromptHistoryMode> {
  const history = await enablePromptVersioning(s3, bucket);
  await seedPrompts(new S3PromptSource(s3, bucket, { history }), bundled);
  return history;
}
