/**
 * Resilient provider calls: a timeout per attempt, retries with exponential backoff and full
 * jitter on throttling and 5xx, a bounded number of calls in flight per provider, and — when
 * the provider stays throttled or down — a ProviderUnavailableError (429/503 + Retry-After).
 *
 * The SDK clients are built with `maxAttempts: 1`, so retries happen here only, never twice.
 */
import { badGateway, isAbortError, ProviderUnavailableError } from '../core/errors';
import { isNetworkFailure, isThrottled, statusOf } from '../platform/failures';

/**
 * The provider answered, but with something unusable (no image, bytes that are not a PNG).
 * Retried like a 5xx; when every attempt is unusable the route answers 502.
 */
export class MalformedOutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedOutputError';
  }
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The bytes, if they start like a PNG; else a MalformedOutputError. */
export function requirePng(bytes: Uint8Array, what: string): Uint8Array {
  if (bytes.length <= PNG_SIGNATURE.length || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new MalformedOutputError(`${what} returned ${bytes.length} bytes that are not a PNG`);
  }
  return bytes;
}

export interface RetryPolicy {
  /** Attempts in all (1 = no retry). */
  maxAttempts: number;
  /** Backoff base: attempt n waits a random time in [0, min(maxDelayMs, baseDelayMs * 2^n)). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Per-attempt timeout. */
  timeoutMs: number;
}

/** A counting semaphore: at most `limit` calls in flight. */
export class Semaphore {
  private active = 0;
  private readonly queue: Array<() => void> = [];

  constructor(readonly limit: number) {}

  get inFlight(): number {
    return this.active;
  }

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.active >= this.limit) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const i = this.queue.indexOf(go);
          if (i >= 0) this.queue.splice(i, 1);
          reject(signal?.reason ?? new Error('aborted'));
        };
        const go = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        this.queue.push(go);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
    this.active += 1;
    try {
      return await fn();
    } finally {
      this.active -= 1;
      this.queue.shift()?.();
    }
  }
}

export type Failure = 'throttled' | 'unavailable' | 'timeout' | 'malformed' | 'fatal';

/** An attempt that ran out of time: the platform's `AbortSignal.timeout`, or an SDK's own timeout (ElevenLabs). */
const TIMEOUT_NAMES = new Set(['TimeoutError', 'ElevenLabsTimeoutError']);
const UNAVAILABLE_NAMES = new Set(['ServiceUnavailableException', 'InternalServerException', 'ModelNotReadyException', 'ModelTimeoutException', 'ModelStreamErrorException']);

/** Classifies an SDK error by its name, HTTP status, or network failure. */
export function classify(err: unknown): Failure {
  if (!(err instanceof Error)) return 'fatal';
  if (isNetworkFailure(err)) return 'unavailable';
  if (TIMEOUT_NAMES.has(err.name)) return 'timeout';
  if (err instanceof MalformedOutputError) return 'malformed';
  const status = statusOf(err);
  if (isThrottled(err)) return 'throttled';
  if (UNAVAILABLE_NAMES.has(err.name) || (status !== undefined && status >= 500) || status === 408) return 'unavailable';
  return 'fatal';
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface ResilientOptions {
  policy: RetryPolicy;
  limiter: Semaphore;
  /** The caller's signal: aborting it stops at once, with no retry. */
  signal?: AbortSignal;
  /** For tests of the jitter; defaults to Math.random. */
  random?: () => number;
  onRetry?: (attempt: number, failure: Failure, delayMs: number) => void;
  /** Every failed attempt that may be retried (the last one included), for counters. */
  onFailure?: (failure: Failure) => void;
}

export async function resilient<T>(provider: string, fn: (signal: AbortSignal) => Promise<T>, opts: ResilientOptions): Promise<T> {
  const { policy, limiter, signal } = opts;
  const random = opts.random ?? Math.random;
  let last: Failure = 'unavailable';
  for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
    signal?.throwIfAborted();
    // The attempt's clock starts when it leaves the semaphore's queue, not while it waits there.
    let attemptSignal: AbortSignal | undefined;
    try {
      return await limiter.run(() => {
        attemptSignal = signal ? AbortSignal.any([signal, AbortSignal.timeout(policy.timeoutMs)]) : AbortSignal.timeout(policy.timeoutMs);
        return fn(attemptSignal);
      }, signal);
    } catch (err) {
      if (signal?.aborted) throw signal.reason ?? err;
      const failure = attemptSignal?.aborted && isAbortError(err) ? 'timeout' : classify(err);
      if (failure === 'fatal') throw err;
      opts.onFailure?.(failure);
      last = failure;
      if (attempt === policy.maxAttempts) break;
      const delay = Math.floor(random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt));
      opts.onRetry?.(attempt, failure, delay);
      await sleep(delay, signal);
    }
  }
  if (last === 'malformed') throw badGateway(`The ${provider} model kept returning unusable output`);
  const retryAfter = Math.max(1, Math.ceil(policy.maxDelayMs / 1000));
  if (last === 'throttled') throw new ProviderUnavailableError(429, `The ${provider} model is throttling requests; try again shortly`, retryAfter);
  throw new ProviderUnavailableError(503, last === 'timeout' ? `The ${provider} model did not answer in time` : `The ${provider} model is unavailable`, retryAfter);
}
