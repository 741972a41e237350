/**
 * Prompts as data: every system prompt and instruction template is a named prompt of an
 * assistant, `prompts/<assistant>/<name>.md` in the prompts bucket, with the same files in the
 * repository (`prompts/`) as the bundled fallback. This file holds the names' rules and the
 * ports; the cache is `prompt-service.ts`, the S3 side `src/aws/s3-prompt-source.ts`.
 */
import { badRequest } from './errors';

/** An assistant's or a prompt's name: lower-case letters, digits and "-", 1–64 characters, starting with a letter. No "/", no dots. */
export const PROMPT_NAME_PATTERN = /^[a-z][a-z0-9-]{0,63}$/;
/** Bytes a prompt may have. */
export const PROMPT_MAX_BYTES = 64 * 1024;
/** The folder of the prompts in the bucket (and in the repository). */
export const PROMPTS_PREFIX = 'prompts/';

/** `prompts/<assistant>/<name>.md` — after both names are checked (a 400 before any I/O). */
export function promptKey(assistant: string, name: string): string {
  if (typeof assistant !== 'string' || !PROMPT_NAME_PATTERN.test(assistant)) throw badRequest('assistant must be 1-64 characters: lower-case letters, digits and "-", starting with a letter');
  if (typeof name !== 'string' || !PROMPT_NAME_PATTERN.test(name)) throw badRequest('prompt name must be 1-64 characters: lower-case letters, digits and "-", starting with a letter');
  return `${PROMPTS_PREFIX}${assistant}/${name}.md`;
}

/** A prompt as a process uses it. */
export interface ResolvedPrompt {
  assistant: string;
  name: string;
  text: string;
  /** The S3 version id (else the ETag) of the copy in use; `bundled:<sha256 prefix>` for the fallback. */
  version: string;
  source: 's3' | 'fallback';
}

/** What a tracked request records of each prompt it used. */
export interface PromptUse {
  prompt: string;
  version: string;
  source: 's3' | 'fallback';
}

/** One stored version of a prompt (the bucket is versioned). */
export interface PromptVersion {
  version_id: string;
  last_modified: string;
  size: number;
  is_latest: boolean;
}

export type FetchedPrompt =
  | { kind: 'found'; text: string; etag: string; versionId?: string; lastModified: Date }
  | { kind: 'not-modified' }
  | { kind: 'missing' };

/**
 * The prompts bucket, as the prompt service and the admin API use it. Keys are built by
 * `promptKey` (never from raw input). Storage failures are `StorageUnavailableError` (503).
 */
export interface PromptSource {
  readonly bucket: string;
  /** The current object; with `ifNoneMatch`, `not-modified` when its ETag is unchanged (a 304, no body). */
  get(key: string, ifNoneMatch?: string): Promise<FetchedPrompt>;
  /** One version of the object (`missing` if there is no such version). */
  getVersion(key: string, versionId: string): Promise<FetchedPrompt>;
  /** Stores a new version; returns its version id (and ETag). */
  put(key: string, text: string): Promise<{ versionId?: string; etag: string }>;
  /** The object's versions, newest first, at most `limit`. */
  versions(key: string, limit: number): Promise<PromptVersion[]>;
  /** The keys under a prefix (at most `limit`). */
  keys(prefix: string, limit: number): Promise<string[]>;
}

/** The prompts a process uses: cached, conditional refresh, last good copy, bundled fallback. */
export interface PromptService {
  get(assistant: string, name: string): Promise<ResolvedPrompt>;
  /** Drops this process's cache: the next `get` of each prompt asks the bucket again. */
  reload(): void;
}
