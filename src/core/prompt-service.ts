/**
 * The prompts a process uses (`PromptService`, see prompt-store.ts): a per-process cache in
 * front of the prompts bucket, with the repository's bundled copies as the fallback.
 *
 * - A prompt is served from the cache for `ttlMs` after it was fetched; then the next `get`
 *   asks the bucket again with a conditional GET (`If-None-Match` with the cached ETag), so an
 *   unchanged prompt costs a 304, not a download.
 * - Concurrent `get`s of a prompt share one in-flight fetch.
 * - The bucket fails (down, slow, refused text): the last good copy is kept for another TTL,
 *   else the bundled copy is served. A fallback is logged and counted (`prompt_fallbacks`)
 *   once per TTL per prompt — it is cached like any copy — never per request.
 * - No bucket configured: the bundled prompts only (source `fallback`), logged once.
 * - `reload()` expires every cached prompt now (the last good copies stay for failures).
 *
 * Names are checked by `promptKey` first: an invalid name is a 400 before any I/O.
 */
import type { Clock, Telemetry } from './ports';
import { promptKey, type FetchedPrompt, type PromptService, type PromptSource, type ResolvedPrompt } from './prompt-store';

/** A prompt file of the repository, as the process ships it. */
export interface BundledPrompt {
  text: string;
  /** `bundled:` + the first 12 hex digits of the text's SHA-256. */
  version: string;
}

/** The bundled prompts (`prompts/` of the repository, shipped in every image). */
export interface BundledPromptReader {
  /** The bundled copy, or undefined when there is none. */
  get(assistant: string, name: string): BundledPrompt | undefined;
  /** Every bundled prompt. */
  list(): Array<{ assistant: string; name: string }>;
}

export const DEFAULT_PROMPT_CACHE_TTL_MS = 300_000;

export interface CachedPromptServiceOptions {
  /** The prompts bucket; absent: the bundled prompts only. */
  source?: PromptSource;
  bundled: BundledPromptReader;
  ttlMs: number;
  clock: Clock;
  telemetry: Pick<Telemetry, 'count' | 'log'>;
  /** Why a stored text cannot be used (undefined: it can). A refused text counts as a failed read. */
  check?: (assistant: string, name: string, text: string) => string | undefined;
}

interface Entry {
  prompt: ResolvedPrompt;
  /** The stored copy's ETag (for the conditional GET); absent for a fallback. */
  etag?: string;
  /** When this copy was fetched or confirmed (clock ms); it is served until `fetchedAt + ttl`. */
  fetchedAt: number;
}

/** Counts of what the cache did (the bench and the tests read them). */
export interface PromptCacheStats {
  hits: number;
  fetches: number;
  notModified: number;
  failures: number;
  fallbacks: number;
}

export class CachedPromptService implements PromptService {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<ResolvedPrompt>>();
  /** Bumped by `reload`: a fetch started before it does not fill the cache. */
  private generation = 0;
  private noBucketLogged = false;
  readonly stats: PromptCacheStats = { hits: 0, fetches: 0, notModified: 0, failures: 0, fallbacks: 0 };

  constructor(private readonly opts: CachedPromptServiceOptions) {
    if (!Number.isFinite(opts.ttlMs) || opts.ttlMs < 0) throw new Error('the prompt cache TTL must be a non-negative number of milliseconds');
  }

  /** The bucket behind the cache, if any. */
  get source(): PromptSource | undefined {
    return this.opts.source;
  }

  get(assistant: string, name: string): Promise<ResolvedPrompt> {
    let key: string;
    try {
      key = promptKey(assistant, name);
    } catch (err) {
      return Promise.reject(err);
    }
    const entry = this.entries.get(key);
    if (entry && this.opts.clock.now() - entry.fetchedAt < this.opts.ttlMs) {
      this.stats.hits += 1;
      return Promise.resolve(entry.prompt);
    }
    const pending = this.inflight.get(key);
    if (pending) {
      this.stats.hits += 1;
      return pending;
    }
    const fetching = this.refresh(key, assistant, name, entry).finally(() => {
      if (this.inflight.get(key) === fetching) this.inflight.delete(key);
    });
    this.inflight.set(key, fetching);
    return fetching;
  }

  /** Expires every cached prompt: the next `get` of each asks the bucket again. Returns how many were cached. */
  reload(): number {
    this.generation += 1;
    this.inflight.clear();
    for (const entry of this.entries.values()) entry.fetchedAt = Number.NEGATIVE_INFINITY;
    return this.entries.size;
  }

  private async refresh(key: string, assistant: string, name: string, entry: Entry | undefined): Promise<ResolvedPrompt> {
    const generation = this.generation;
    const keep = (next: Entry): ResolvedPrompt => {
      if (generation === this.generation) this.entries.set(key, next);
      return next.prompt;
    };
    const { source, clock, telemetry } = this.opts;
    if (!source) {
      if (!this.noBucketLogged) {
        this.noBucketLogged = true;
        telemetry.log('info', 'no prompts bucket is configured (STORY42_PROMPTS_BUCKET): serving the bundled prompts');
      }
      return keep(this.bundledEntry(assistant, name, undefined));
    }
    const cached = entry?.prompt.source === 's3' ? entry : undefined;
    this.stats.fetches += 1;
    let fetched: FetchedPrompt;
    try {
      fetched = await source.get(key, cached?.etag);
    } catch (err) {
      return keep(this.failed(assistant, name, cached, 'the prompts bucket could not be read', err));
    }
    const now = clock.now();
    switch (fetched.kind) {
      case 'not-modified':
        if (!cached) return keep(this.failed(assistant, name, undefined, 'the prompts bucket answered 304 to an unconditional read'));
        this.stats.notModified += 1;
        return keep({ ...cached, fetchedAt: now });
      case 'missing':
        return keep(this.fallback(assistant, name, 'the prompt is not in the prompts bucket'));
      case 'found': {
        const problem = this.opts.check?.(assistant, name, fetched.text);
        if (problem) return keep(this.failed(assistant, name, cached, `the stored prompt was refused: ${problem}`));
        const prompt: ResolvedPrompt = { assistant, name, text: fetched.text, version: fetched.versionId ?? fetched.etag, source: 's3' };
        return keep({ prompt, etag: fetched.etag, fetchedAt: now });
      }
    }
  }

  /** The bucket failed: the last good copy for another TTL, else the bundled copy (else the failure). */
  private failed(assistant: string, name: string, cached: Entry | undefined, reason: string, err?: unknown): Entry {
    const { telemetry, clock } = this.opts;
    this.stats.failures += 1;
    telemetry.count('prompt_refresh_failures');
    if (cached) {
      telemetry.log('warn', 'prompt refresh failed; serving the last good copy', { prompt: `${assistant}/${name}`, version: cached.prompt.version, reason, error: errorText(err) });
      return { ...cached, fetchedAt: clock.now() };
    }
    return this.fallback(assistant, name, reason, err);
  }

  private fallback(assistant: string, name: string, reason: string, err?: unknown): Entry {
    const entry = this.bundledEntry(assistant, name, err);
    this.stats.fallbacks += 1;
    this.opts.telemetry.count('prompt_fallbacks');
    this.opts.telemetry.log('warn', 'prompt served from the bundled fallback', { prompt: `${assistant}/${name}`, version: entry.prompt.version, reason, error: errorText(err) });
    return entry;
  }

  private bundledEntry(assistant: string, name: string, err: unknown): Entry {
    const bundled = this.opts.bundled.get(assistant, name);
    if (!bundled) {
      if (err !== undefined) throw err;
      throw new Error(`prompt ${assistant}/${name} is neither in the prompts bucket nor bundled`);
    }
    return { prompt: { assistant, name, text: bundled.text, version: bundled.version, source: 'fallback' }, fetchedAt: this.opts.clock.now() };
  }
}

function errorText(err: unknown): string | undefined {
  if (err === undefined) return undefined;
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.name} ${err.cause.message}` : '';
  return err instanceof Error ? `${err.name}: ${err.message}${cause}` : String(err);
}
