/**
 * DuckDuckGo search through the real `duck-duck-scrape` (and its HTTP client, needle) against
 * the local DuckDuckGo server, reached through needle's own `proxy` option, with the results
 * cache in the test DynamoDB (dynalite): mapping and bounds, the cache (hits, expiry, a cache
 * that is down), backoff on DuckDuckGo's rate-limit answers, graceful degradation, the
 * per-minute budget and the deadlines.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDocumentClient } from '../../src/aws/clients';
import { SEARCH_CACHE_SCHEMA, SearchCache } from '../../src/aws/search-cache';
import { normaliseQuery, SEARCH_LIMITS } from '../../src/core/search-results';
import { LocalDuckDuckGoServer } from '../../src/local/duckduckgo-server';
import { freePort } from '../../src/local/services';
import { OFFLINE_INDEX_HOST } from '../../src/offline/search-index';
import { DuckDuckGoSearch, SEARCH_REASONS, type DuckDuckGoSearchSettings } from '../../src/providers/duckduckgo-search';
import type { PlatformTelemetry } from '../../src/platform/telemetry';
import { quietTelemetry, testConfig } from '../support/local';

const ddg = new LocalDuckDuckGoServer();
let proxy: string;
let cache: SearchCache;
let table: string;
let telemetry: PlatformTelemetry;
const doc = () => dynamoDocumentClient(testConfig());

beforeAll(async () => {
  proxy = await ddg.listen();
  const config = testConfig({ STORY42_SEARCH_PROVIDER: 'duckduckgo', STORY42_DUCKDUCKGO_PROXY: proxy });
  table = config.search.cacheTable ?? '';
  expect(table).toBe('story42-local-search-cache');
  cache = new SearchCache(dynamoDocumentClient(config), table);
});
afterAll(() => ddg.close());
beforeEach(() => {
  ddg.reset();
  telemetry = quietTelemetry();
});

let counter = 0;
/** A query unique to this run (the cache is shared by every test), about a topic of the index. */
function unique(topic: string): string {
  counter += 1;
  return `${topic} t${process.pid}x${Date.now().toString(36)}n${counter}`;
}

function engine(extra: Partial<DuckDuckGoSearchSettings> = {}): DuckDuckGoSearch {
  return new DuckDuckGoSearch({
    cache,
    ttlSeconds: 3600,
    budgetPerMinute: 1000,
    proxy,
    telemetry,
    policy: { deadlineMs: 10_000, requestTimeoutMs: 3_000, maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
    ...extra,
  });
}

function ok(answer: Awaited<ReturnType<DuckDuckGoSearch['search']>>) {
  if (answer.status !== 'ok') throw new Error(`expected results, got unavailable: ${answer.reason}`);
  return answer;
}

describe('DuckDuckGoSearch through duck-duck-scrape and the local DuckDuckGo', () => {
  it('fetches the vqd page and d.js through the proxy and maps the results', async () => {
    const q = unique('How do bees make honey');
    const answer = ok(await engine().search(q, {}));
    expect(answer).toMatchObject({ engine: 'duckduckgo', cached: false });
    expect(answer.results[0]).toEqual({
      title: 'How honey bees make honey',
      url: `https://${OFFLINE_INDEX_HOST}/bees/how-bees-make-honey`,
      snippet: expect.stringMatching(/^Forager bees sip nectar from flowers/),
    });
    // DuckDuckGo's <b> marks are gone from the snippets.
    expect(answer.results.every((r) => !/[<>]/.test(r.snippet) && r.url.startsWith('https://'))).toBe(true);
    expect(answer.results.length).toBeGreaterThanOrEqual(3);
    expect(ddg.counters).toMatchObject({ requests: 2, vqd: 1, results: 1, rateLimited: 0, badVqd: 0 });
    // Sent to the proxy in absolute form, to DuckDuckGo's real hosts, with the normalised query, safe search strict.
    const [page, results] = ddg.counters.targets.map((t) => new URL(t));
    expect(page?.origin).toBe('https://duckduckgo.com');
    expect(results?.origin).toBe('https://links.duckduckgo.com');
    expect(results?.pathname).toBe('/d.js');
    expect(results?.searchParams.get('p')).toBe('1');
    expect(ddg.counters.queries).toEqual([normaliseQuery(q), normaliseQuery(q)]);
    expect(telemetry.get('search_requests')).toBe(2);
  });

  it('answers a repeat of the query (other spacing and case) from the DynamoDB cache, with no request', async () => {
    const q = unique('volcano eruption');
    const first = ok(await engine().search(q, {}));
    expect(first.cached).toBe(false);
    const requests = ddg.counters.requests;
    const other = engine();
    const again = ok(await other.search(`   ${q.toUpperCase().replace(/ /g, '  \t ')}  `, {}));
    expect(again).toEqual({ status: 'ok', results: first.results, engine: 'duckduckgo', cached: true });
    expect(ddg.counters.requests).toBe(requests);
    expect(telemetry.get('search_cache_hits')).toBe(1);
    // A smaller limit is served from the same item.
    expect(ok(await other.search(q, { limit: 2 })).results).toEqual(first.results.slice(0, 2));
    expect(ddg.counters.requests).toBe(requests);

    const item = (await doc().send(new GetCommand({ TableName: table, Key: { query: normaliseQuery(q) } }))).Item ?? {};
    expect(item.engine).toBe('duckduckgo');
    expect(JSON.parse(String(item.results))).toEqual(first.results);
    const expiresAt = Number(item[SEARCH_CACHE_SCHEMA.ttlAttribute]);
    expect(Math.abs(expiresAt - (Math.floor(Date.now() / 1000) + 3600))).toBeLessThanOrEqual(5);
  });

  it('ignores an expired cache item (TTL deletion is lazy) and replaces it', async () => {
    const q = normaliseQuery(unique('dinosaur fossils'));
    const stale = [{ title: 'Stale result', url: 'https://stale.story42.invalid/old', snippet: 'from long ago' }];
    await doc().send(
      new PutCommand({ TableName: table, Item: { query: q, results: JSON.stringify(stale), engine: 'duckduckgo', cached_at: Date.now() - 7200_000, expires_at: Math.floor(Date.now() / 1000) - 60 } }),
    );
    expect(await cache.get(q)).toBeUndefined();
    const answer = ok(await engine().search(q, {}));
    expect(answer.cached).toBe(false);
    expect(answer.results.map((r) => r.url)).not.toContain(stale[0]?.url);
    expect(answer.results[0]?.url).toMatch(/\/dinosaurs\//);
    expect(ddg.counters.requests).toBe(2);
    const fresh = await cache.get(q);
    expect(fresh?.results).toEqual(answer.results);
    expect(fresh && fresh.expiresAt * 1000).toBeGreaterThan(Date.now());
  });

  it('backs off and retries on DuckDuckGo rate-limit answers, then succeeds', async () => {
    ddg.knobs.rateLimit = 2;
    const started = performance.now();
    // Jitter fixed at half the window (base·2^attempt): waits of 20 ms, then 40 ms.
    const answer = ok(await engine({ random: () => 0.5, policy: { deadlineMs: 10_000, requestTimeoutMs: 3_000, maxAttempts: 4, baseDelayMs: 20, maxDelayMs: 1_000 } }).search(unique('moon phases'), {}));
    const elapsed = performance.now() - started;
    expect(answer.results[0]?.url).toMatch(/\/space\/moon-phases$/);
    expect(ddg.counters).toMatchObject({ rateLimited: 2, vqd: 3, results: 1, requests: 6 });
    expect(telemetry.get('search_rate_limited')).toBe(2);
    expect(telemetry.get('search_retries')).toBe(2);
    expect(elapsed).toBeGreaterThanOrEqual(58);
  });

  it("retries DuckDuckGo's block page (no vqd token) too", async () => {
    ddg.knobs.blockPages = 1;
    const answer = ok(await engine().search(unique('rainforest animals'), {}));
    expect(answer.results.length).toBeGreaterThan(0);
    expect(ddg.counters).toMatchObject({ rateLimited: 1, vqd: 1, results: 1 });
    expect(telemetry.get('search_blocked')).toBe(1);
  });

  it('persistent rate limiting resolves unavailable with a reason (no throw), after the attempts', async () => {
    ddg.knobs.rateLimit = 100;
    const started = performance.now();
    const answer = await engine().search(unique('coral reef'), {});
    expect(answer).toEqual({ status: 'unavailable', reason: SEARCH_REASONS.rateLimited, engine: 'duckduckgo' });
    expect(answer.status === 'unavailable' && answer.reason).toMatch(/DuckDuckGo is limiting how often we can search/);
    expect(ddg.counters.rateLimited).toBe(3);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(telemetry.get('search_unavailable')).toBe(1);
    // Nothing was cached: the next search asks again.
    ddg.knobs.rateLimit = 0;
    expect(ok(await engine().search(unique('coral reef'), {})).cached).toBe(false);
  });

  it('gives up early when the backoff would run past the deadline', async () => {
    ddg.knobs.rateLimit = 100;
    const started = performance.now();
    const answer = await engine({ random: () => 0.99, policy: { deadlineMs: 400, requestTimeoutMs: 300, maxAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 10_000 } }).search(unique('whales'), {});
    expect(answer).toEqual({ status: 'unavailable', reason: SEARCH_REASONS.rateLimited, engine: 'duckduckgo' });
    expect(ddg.counters.rateLimited).toBe(1);
    expect(performance.now() - started).toBeLessThan(400);
  });

  it('the per-minute budget answers unavailable without any request, and refills after a minute', async () => {
    let now = 1_000_000;
    const clock = { now: () => now };
    const search = engine({ budgetPerMinute: 2, clock });
    ok(await search.search(unique('penguins'), {}));
    expect(ddg.counters.requests).toBe(2);
    const answer = await search.search(unique('penguins'), {});
    expect(answer).toEqual({ status: 'unavailable', reason: SEARCH_REASONS.budget, engine: 'duckduckgo' });
    expect(answer.status === 'unavailable' && answer.reason).toMatch(/search budget for this minute is used up/);
    expect(ddg.counters.requests).toBe(2);
    expect(telemetry.get('search_budget_exhausted')).toBe(1);
    now += 60_001;
    ok(await search.search(unique('penguins'), {}));
    expect(ddg.counters.requests).toBe(4);
  });

  it('a cache table that is down does not fail the search', async () => {
    const closed = await freePort();
    const deadCache = new SearchCache(dynamoDocumentClient(testConfig({ STORY42_DYNAMODB_ENDPOINT: `http://127.0.0.1:${closed}`, STORY42_STORAGE_TIMEOUT_MS: '500', STORY42_STORAGE_MAX_ATTEMPTS: '1' })), table);
    const started = performance.now();
    const answer = ok(await engine({ cache: deadCache }).search(unique('water cycle'), {}));
    expect(answer).toMatchObject({ cached: false, engine: 'duckduckgo' });
    expect(answer.results[0]?.url).toMatch(/\/water\/the-water-cycle$/);
    expect(telemetry.get('search_cache_errors')).toBe(2);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('bounds the results: long titles and snippets cut, non-http(s) URLs dropped, at most 10', async () => {
    ddg.knobs.extraResults = [
      { t: `A very long title ${'about penguins '.repeat(40)}`, a: `Long &amp; <b>marked</b> ${'snippet text '.repeat(200)}`, u: 'https://long.story42.invalid/page' },
      { t: 'Script link', a: 'never shown', u: 'javascript:alert(1)' },
      { t: 'File server', a: 'never shown', u: 'ftp://files.story42.invalid/a' },
      { t: 'Huge URL', a: 'never shown', u: `https://huge.story42.invalid/${'x'.repeat(2100)}` },
      ...Array.from({ length: 12 }, (_, i) => ({ t: `Extra &quot;${i}&quot;`, a: `extra ${i}`, u: `http://extra.story42.invalid/${i}` })),
    ];
    const answer = ok(await engine().search(unique('penguins'), {}));
    expect(answer.results).toHaveLength(SEARCH_LIMITS.results);
    for (const r of answer.results) {
      expect(r.title.length).toBeLessThanOrEqual(300);
      expect(r.snippet.length).toBeLessThanOrEqual(1000);
      expect(r.url.length).toBeLessThanOrEqual(2048);
      expect(r.url).toMatch(/^https?:\/\//);
    }
    const long = answer.results.find((r) => r.url === 'https://long.story42.invalid/page');
    expect(long?.title.endsWith('…')).toBe(true);
    expect(long?.snippet.startsWith('Long & marked snippet')).toBe(true);
    expect(long?.snippet.endsWith('…')).toBe(true);
    expect(answer.results.map((r) => r.title)).toContain('Extra "0"');
    expect(answer.results.some((r) => /javascript:|ftp:|huge\./.test(r.url))).toBe(false);
    expect(ok(await engine().search(unique('penguins'), { limit: 3 })).results).toHaveLength(3);
  });

  it('every request has a deadline: a DuckDuckGo that does not answer is unavailable in bounded time', async () => {
    ddg.knobs.latencyMs = 5_000;
    const started = performance.now();
    const answer = await engine({ policy: { deadlineMs: 2_000, requestTimeoutMs: 200, maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 10 } }).search(unique('the sun'), {});
    expect(answer).toEqual({ status: 'unavailable', reason: SEARCH_REASONS.timeout, engine: 'duckduckgo' });
    expect(ddg.counters.requests).toBe(2);
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it('a proxy that is not there is unavailable, not an exception', async () => {
    const closed = await freePort();
    const answer = await engine({ proxy: `http://127.0.0.1:${closed}` }).search(unique('magnets'), {});
    // duck-duck-scrape wraps the refused connection into its "Failed to get the VQD" error.
    expect(answer).toEqual({ status: 'unavailable', reason: SEARCH_REASONS.blocked, engine: 'duckduckgo' });
  });

  it("the caller's abort ends the search at once (it rejects with the caller's reason)", async () => {
    ddg.knobs.latencyMs = 5_000;
    const controller = new AbortController();
    // No cache: the first thing the search waits for is DuckDuckGo's (slow) page.
    const pending = engine({ cache: undefined }).search(unique('castles'), { signal: controller.signal });
    setImmediate(() => controller.abort(new Error('user went away')));
    const started = performance.now();
    await expect(pending).rejects.toThrow('user went away');
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('an empty query is unavailable without a request', async () => {
    expect(await engine().search('  \n\t ', {})).toEqual({ status: 'unavailable', reason: 'empty query', engine: 'duckduckgo' });
    expect(ddg.counters.requests).toBe(0);
  });
});
