/**
 * Web search through DuckDuckGo with `duck-duck-scrape` (the package the design names).
 *
 * DuckDuckGo rate-limits scrapers hard, so a search
 *  - is answered from the shared DynamoDB cache when the normalised query was searched within
 *    the TTL (no request at all);
 *  - spends a per-process budget of requests per minute (an attempt costs two: the page that
 *    carries the `vqd` token, then `d.js`), and answers `unavailable` once it is used up;
 *  - backs off with full jitter and tries again when DuckDuckGo answers with its anomaly
 *    (rate-limit) block, within one deadline for the whole search;
 *  - never throws for DuckDuckGo's or the cache's failures: it resolves
 *    `{ status: 'unavailable', reason }`, a reason a model can repeat to the user.
 *
 * duck-duck-scrape forwards its third argument to needle, its HTTP client, for every request
 * it makes; the options used here are needle's own: `signal` (the deadline), `open_timeout`,
 * `response_timeout` and `read_timeout` (per request), `headers`, and `proxy`. With a proxy
 * needle sends each request to the proxy in absolute form (`GET https://duckduckgo.com/?q=…`),
 * which is how the tests and `npm start` reach the local DuckDuckGo server
 * (src/local/duckduckgo-server.ts) — the package itself is not patched or stubbed.
 */
import { SafeSearchType, search as ddgSearch } from 'duck-duck-scrape';
import { z } from 'zod';
import type { Clock, SearchAnswer, SearchResult, Telemetry, WebSearch, WebSearchOptions } from '../core/ports';
import { boundResults, normaliseQuery, resultLimit, SEARCH_LIMITS } from '../core/search-results';
import type { CachedSearch } from '../aws/search-cache';
import { isNetworkFailure } from '../platform/failures';

export const DUCKDUCKGO_ENGINE = 'duckduckgo';

/** Why a search is unavailable, in words a model can pass on to the user. */
export const SEARCH_REASONS = {
  empty: 'empty query',
  budget: 'The search budget for this minute is used up; web search will work again in a minute.',
  rateLimited: 'DuckDuckGo is limiting how often we can search right now; please try again in a few minutes.',
  blocked: 'DuckDuckGo is refusing or not answering searches right now; please try again in a few minutes.',
  timeout: 'DuckDuckGo did not answer in time; web search is unavailable right now.',
  unreachable: 'DuckDuckGo could not be reached; web search is unavailable right now.',
  serverError: 'DuckDuckGo had a server error; web search is unavailable right now.',
  malformed: 'DuckDuckGo answered in a form we could not read; web search is unavailable right now.',
} as const;

/** The cache as the search uses it (src/aws/search-cache.ts `SearchCache`). */
export interface SearchCachePort {
  get(query: string, signal?: AbortSignal): Promise<CachedSearch | undefined>;
  put(query: string, results: SearchResult[], ttlSeconds: number, engine: string, signal?: AbortSignal): Promise<void>;
}

export interface SearchPolicy {
  /** The whole search (cache, attempts, backoff) ends within this. */
  deadlineMs: number;
  /** Each HTTP request: to connect, to the response's headers, and to its last byte. */
  requestTimeoutMs: number;
  /** Each cache read or write (the store client's own timeouts apply too). */
  cacheTimeoutMs: number;
  /** Attempts in all (1 = no retry). */
  maxAttempts: number;
  /** Backoff before attempt n+1: a random time in [0, min(maxDelayMs, baseDelayMs * 2^n)). */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_SEARCH_POLICY: SearchPolicy = { deadlineMs: 20_000, requestTimeoutMs: 8_000, cacheTimeoutMs: 2_000, maxAttempts: 4, baseDelayMs: 750, maxDelayMs: 6_000 };

export interface DuckDuckGoSearchSettings {
  /** The shared cache; without one every search asks DuckDuckGo. */
  cache?: SearchCachePort;
  ttlSeconds: number;
  /** DuckDuckGo requests this process may make per minute (an attempt makes two). */
  budgetPerMinute: number;
  /** An HTTP proxy URL for every request (needle's `proxy`); unset: DuckDuckGo directly. */
  proxy?: string;
  telemetry: Telemetry;
  policy?: Partial<SearchPolicy>;
  /** For the budget's minute (tests); defaults to the system clock. */
  clock?: Clock;
  /** For the backoff's jitter (tests); defaults to Math.random. */
  random?: () => number;
}

/** Requests per sliding minute. */
export class RequestBudget {
  private readonly stamps: number[] = [];

  constructor(
    readonly perMinute: number,
    private readonly clock: Clock,
  ) {}

  private prune(): void {
    const since = this.clock.now() - 60_000;
    while (this.stamps.length > 0 && (this.stamps[0] ?? 0) <= since) this.stamps.shift();
  }

  get remaining(): number {
    this.prune();
    return Math.max(0, this.perMinute - this.stamps.length);
  }

  /** Spends `n` requests if that many are left in the last minute; else spends none. */
  take(n: number): boolean {
    if (this.remaining < n) return false;
    const now = this.clock.now();
    for (let i = 0; i < n; i++) this.stamps.push(now);
    return true;
  }
}

/** The request options duck-duck-scrape passes to needle (needle's option names). */
interface NeedleRequestOptions {
  headers: Record<string, string>;
  proxy?: string;
  use_proxy_from_env_var?: boolean;
  open_timeout: number;
  response_timeout: number;
  read_timeout: number;
  follow_max: number;
  signal: AbortSignal;
}

/** Like a browser: duck-duck-scrape sends these only when it is given no request options of ours. */
const BROWSER_HEADERS: Record<string, string> = {
  'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36',
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'accept-language': 'en-US,en;q=0.9',
  'sec-fetch-dest': 'document',
  'sec-fetch-mode': 'navigate',
  'sec-gpc': '1',
};

/** One web result as duck-duck-scrape returns it (only what we read). */
const ddgResultSchema = z.object({ title: z.string(), url: z.string(), rawDescription: z.string() });
const ddgAnswerSchema = z.object({ noResults: z.boolean(), results: z.array(z.unknown()) });

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', hellip: '…', mdash: '—', ndash: '–' };

/** DuckDuckGo's titles and abstracts carry `<b>` tags and HTML entities: plain text without them. */
export function plainText(html: string): string {
  return html
    .replace(/<[^>]{0,200}>/g, '')
    .replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,8});/gi, (whole, name: string) => {
      if (name.startsWith('#')) {
        const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
      }
      return ENTITIES[name.toLowerCase()] ?? whole;
    });
}

type Failure = 'rateLimited' | 'blocked' | 'timeout' | 'unreachable' | 'serverError' | 'malformed';

/**
 * How duck-duck-scrape reports DuckDuckGo's answers: the anomaly block in `d.js` (its
 * rate-limit answer) is its "DDG detected an anomaly…" error; a search page without a `vqd`
 * token is "Failed to get the VQD…" — DuckDuckGo's block page, but also any failure to fetch
 * the page (the package wraps the cause away), so it is reported as refused-or-not-answering;
 * `DDG.deep.is506` is "A server error occurred!". An attempt that ran for the request timeout
 * was cut by needle's timeouts (which surface as a hang-up).
 */
function classify(err: unknown, elapsedMs: number, requestTimeoutMs: number): Failure {
  const message = err instanceof Error ? err.message : String(err);
  if (/detected an anomaly/i.test(message)) return 'rateLimited';
  if (elapsedMs >= requestTimeoutMs) return 'timeout';
  if (isNetworkFailure(err)) return 'unreachable';
  if (/failed to get the vqd/i.test(message)) return 'blocked';
  if (/server error occurred/i.test(message)) return 'serverError';
  return 'malformed';
}

const FAILURE_COUNTERS: Record<Failure, string> = {
  rateLimited: 'search_rate_limited',
  blocked: 'search_blocked',
  timeout: 'search_timeout',
  unreachable: 'search_unreachable',
  serverError: 'search_server_error',
  malformed: 'search_malformed',
};

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const systemClock: Clock = { now: () => Date.now() };

export class DuckDuckGoSearch implements WebSearch {
  readonly engine = DUCKDUCKGO_ENGINE;
  readonly budget: RequestBudget;
  private readonly policy: SearchPolicy;
  private readonly random: () => number;

  constructor(private readonly settings: DuckDuckGoSearchSettings) {
    this.policy = { ...DEFAULT_SEARCH_POLICY, ...settings.policy };
    this.budget = new RequestBudget(settings.budgetPerMinute, settings.clock ?? systemClock);
    this.random = settings.random ?? Math.random;
  }

  private unavailable(reason: string): SearchAnswer {
    this.settings.telemetry.count('search_unavailable');
    return { status: 'unavailable', reason, engine: this.engine };
  }

  async search(query: string, opts: WebSearchOptions = {}): Promise<SearchAnswer> {
    const { signal } = opts;
    signal?.throwIfAborted();
    const q = normaliseQuery(query);
    if (!q) return { status: 'unavailable', reason: SEARCH_REASONS.empty, engine: this.engine };
    const limit = resultLimit(opts.limit);
    const started = performance.now();
    const deadline = AbortSignal.timeout(this.policy.deadlineMs);
    const overall = signal ? AbortSignal.any([signal, deadline]) : deadline;

    const hit = await this.cached(q, overall);
    signal?.throwIfAborted();
    if (hit) {
      this.settings.telemetry.count('search_cache_hits');
      return { status: 'ok', results: hit.results.slice(0, limit), engine: hit.engine, cached: true };
    }
    if (this.settings.cache) this.settings.telemetry.count('search_cache_misses');

    const fetched = await this.fetch(q, overall, started, signal);
    if (fetched.status === 'unavailable') return this.unavailable(fetched.reason);
    if (fetched.results.length > 0) await this.store(q, fetched.results, overall);
    signal?.throwIfAborted();
    return { status: 'ok', results: fetched.results.slice(0, limit), engine: this.engine, cached: false };
  }

  private cacheSignal(overall: AbortSignal): AbortSignal {
    return AbortSignal.any([overall, AbortSignal.timeout(this.policy.cacheTimeoutMs)]);
  }

  /** A cache that is down or slow is a miss, counted and logged, never a failed search. */
  private async cached(q: string, overall: AbortSignal): Promise<CachedSearch | undefined> {
    const cache = this.settings.cache;
    if (!cache) return undefined;
    try {
      return await cache.get(q, this.cacheSignal(overall));
    } catch (err) {
      this.cacheFailed('read', err);
      return undefined;
    }
  }

  private async store(q: string, results: SearchResult[], overall: AbortSignal): Promise<void> {
    const cache = this.settings.cache;
    if (!cache) return;
    try {
      await cache.put(q, results, this.settings.ttlSeconds, this.engine, this.cacheSignal(overall));
    } catch (err) {
      this.cacheFailed('write', err);
    }
  }

  private cacheFailed(op: 'read' | 'write', err: unknown): void {
    this.settings.telemetry.count('search_cache_errors');
    this.settings.telemetry.log('warn', `search cache ${op} failed; searching without the cache`, { engine: this.engine, error: err instanceof Error ? err.name : 'unknown' });
  }

  private needleOptions(signal: AbortSignal): NeedleRequestOptions {
    const t = this.policy.requestTimeoutMs;
    return {
      headers: BROWSER_HEADERS,
      ...(this.settings.proxy ? { proxy: this.settings.proxy, use_proxy_from_env_var: false } : {}),
      open_timeout: t,
      response_timeout: t,
      read_timeout: t,
      follow_max: 0,
      signal,
    };
  }

  /** Attempts within the budget and the deadline, with backoff after each failure. */
  private async fetch(q: string, overall: AbortSignal, started: number, signal: AbortSignal | undefined): Promise<{ status: 'ok'; results: SearchResult[] } | { status: 'unavailable'; reason: string }> {
    const telemetry = this.settings.telemetry;
    let last: Failure = 'unreachable';
    for (let attempt = 1; attempt <= this.policy.maxAttempts; attempt++) {
      if (!this.budget.take(2)) {
        telemetry.count('search_budget_exhausted');
        return { status: 'unavailable', reason: SEARCH_REASONS.budget };
      }
      telemetry.count('search_requests', 2);
      const attemptStarted = performance.now();
      try {
        const answer = ddgAnswerSchema.parse(await ddgSearch(q, { safeSearch: SafeSearchType.STRICT }, this.needleOptions(overall)));
        const mapped = answer.noResults ? [] : answer.results.flatMap((r) => {
          const parsed = ddgResultSchema.safeParse(r);
          return parsed.success ? [{ title: plainText(parsed.data.title), url: parsed.data.url, snippet: plainText(parsed.data.rawDescription) }] : [];
        });
        return { status: 'ok', results: boundResults(mapped, SEARCH_LIMITS.results) };
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (overall.aborted) {
          last = 'timeout';
          telemetry.count(FAILURE_COUNTERS.timeout);
          break;
        }
        last = classify(err, performance.now() - attemptStarted, this.policy.requestTimeoutMs);
        telemetry.count(FAILURE_COUNTERS[last]);
        telemetry.log('warn', 'DuckDuckGo search attempt failed', { engine: this.engine, attempt, failure: last, error: err instanceof Error ? err.message.slice(0, 200) : 'unknown' });
      }
      if (attempt === this.policy.maxAttempts) break;
      const delay = Math.floor(this.random() * Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** attempt));
      // No time left for the wait and another attempt: answer with what DuckDuckGo said.
      if (performance.now() - started + delay >= this.policy.deadlineMs) break;
      telemetry.count('search_retries');
      try {
        await sleep(delay, overall);
      } catch (err) {
        if (signal?.aborted) throw signal.reason ?? err;
        last = 'timeout';
        break;
      }
    }
    return { status: 'unavailable', reason: SEARCH_REASONS[last] };
  }
}
