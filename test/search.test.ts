/**
 * Web search for the story agent: the offline search index (ranking, determinism, bounds),
 * query normalisation and result bounds, the search config, and `webSearchFor` choosing the
 * engine — DuckDuckGo end to end through the local DuckDuckGo server and the test DynamoDB.
 */
import { boundResults, cutText, normaliseQuery, resultLimit, SEARCH_LIMITS } from '../src/core/search-results';
import { LocalDuckDuckGoServer } from '../src/local/duckduckgo-server';
import { OFFLINE_INDEX, OFFLINE_INDEX_HOST, OfflineSearchIndex, rankOffline, searchTerms } from '../src/offline/search-index';
import { ConfigError, loadConfig } from '../src/platform/config';
import { LOCAL_SEARCH } from '../src/local/providers';
import { webSearchFor } from '../src/platform/search-providers';
import { quietTelemetry, testConfig } from './support/local';

const BASE_ENV = { STORY42_IMAGES_BUCKET: 'bucket', STORY42_SESSIONS_TABLE: 'sessions' };
const slugOf = (url: string | undefined) => (url ? new URL(url).pathname.slice(1) : undefined);

describe('offline search index', () => {
  const index = new OfflineSearchIndex();

  it('is a small index of bounded, unique entries on a reserved domain', () => {
    expect(OFFLINE_INDEX.length).toBeGreaterThanOrEqual(30);
    expect(OFFLINE_INDEX.length).toBeLessThanOrEqual(60);
    expect(new Set(OFFLINE_INDEX.map((e) => e.url)).size).toBe(OFFLINE_INDEX.length);
    for (const e of OFFLINE_INDEX) {
      expect(new URL(e.url).hostname).toBe(OFFLINE_INDEX_HOST);
      expect(OFFLINE_INDEX_HOST.endsWith('.invalid')).toBe(true);
      expect(boundResults([e])).toEqual([e]);
    }
  });

  it.each([
    ['How do bees make honey?', 'bees/how-bees-make-honey'],
    ['why does a volcano erupt', 'volcanoes/how-volcanoes-erupt'],
    ['phases of the moon', 'space/moon-phases'],
    ['the water cycle for grade 3', 'water/the-water-cycle'],
    ['T. rex dinosaur', 'dinosaurs/tyrannosaurus-rex'],
    ['rainforest layers canopy', 'rainforests/layers'],
    ['Egyptian pyramids', 'history/ancient-egypt-pyramids'],
  ])('ranks the relevant entry first for %p', async (query, slug) => {
    const answer = await index.search(query, {});
    expect(answer.status).toBe('ok');
    if (answer.status !== 'ok') return;
    expect(slugOf(answer.results[0]?.url)).toBe(slug);
    expect(answer).toMatchObject({ engine: 'offline-search-index', cached: false });
  });

  it('ranks the topic before passing mentions, and is deterministic', async () => {
    const moon = rankOffline('moon');
    // Every entry about the Moon comes before the tides entry, which only mentions it.
    const tides = moon.findIndex((r) => r.url.endsWith('/oceans/tides'));
    const apollo = moon.findIndex((r) => r.url.endsWith('/space/apollo-11'));
    expect(tides).toBeGreaterThan(apollo);
    expect(rankOffline('moon')).toEqual(moon);
    const a = await index.search('  How   do BEES make HONEY ', {});
    const b = await index.search('how do bees make honey', {});
    expect(a).toEqual(b);
  });

  it('answers no results for unrelated queries, limits, and refuses an empty query', async () => {
    expect(await index.search('quantum cryptocurrency blockchain', {})).toEqual({ status: 'ok', results: [], engine: 'offline-search-index', cached: false });
    const three = await index.search('animals', { limit: 3 });
    expect(three.status === 'ok' && three.results.length).toBe(3);
    expect(await index.search('   ', {})).toEqual({ status: 'unavailable', reason: 'empty query', engine: 'offline-search-index' });
  });

  it('stems plurals and drops stop words', () => {
    expect(searchTerms('How do the Bees make Volcanoes and Butterflies?')).toEqual(['bee', 'volcano', 'butterfly']);
  });
});

describe('query normalisation and result bounds', () => {
  it('normalises queries: trimmed, collapsed, lower-case, at most 300 characters', () => {
    expect(normaliseQuery('  How\tDo  BEES\n make honey  ')).toBe('how do bees make honey');
    expect(normaliseQuery('x'.repeat(500))).toHaveLength(300);
    // An astral character is never cut in half.
    const cut = normaliseQuery(`${'a'.repeat(299)}🐝`);
    expect(cut).toBe('a'.repeat(299));
  });

  it('cuts text at a word boundary with an ellipsis, within the bound', () => {
    const cut = cutText('word '.repeat(100), 50);
    expect(cut.length).toBeLessThanOrEqual(50);
    expect(cut.endsWith('word…')).toBe(true);
    expect(cutText('short', 50)).toBe('short');
  });

  it('keeps http(s) results only, drops duplicates, and caps the count', () => {
    const many = Array.from({ length: 15 }, (_, i) => ({ title: `t${i}`, url: `https://a.example/${i}`, snippet: 's' }));
    expect(boundResults(many)).toHaveLength(SEARCH_LIMITS.results);
    expect(boundResults([{ title: 'a', url: 'https://a.example/1', snippet: '' }, { title: 'b', url: 'https://a.example/1', snippet: '' }])).toHaveLength(1);
    expect(boundResults([{ title: 'x', url: 'data:text/html,hi', snippet: '' }, { title: 'y', url: 'https://user:pw@a.example/', snippet: '' }, { title: 'z', url: 'not a url', snippet: '' }])).toEqual([]);
    expect(boundResults([{ title: '  ', url: 'https://fallback.example/p', snippet: 'x' }])[0]?.title).toBe('fallback.example');
    expect([resultLimit(undefined), resultLimit(0), resultLimit(3.7), resultLimit(99)]).toEqual([10, 1, 3, 10]);
  });
});

describe('search config', () => {
  it('defaults to the offline index with a day of cache, 30 requests a minute and no proxy', () => {
    expect(loadConfig(BASE_ENV).search).toEqual({ provider: 'offline', cacheTable: undefined, cacheTtlSeconds: 86400, budgetPerMinute: 30, duckduckgoProxy: undefined });
  });

  it('reads the DuckDuckGo settings', () => {
    const env = { ...BASE_ENV, STORY42_SEARCH_PROVIDER: 'duckduckgo', STORY42_SEARCH_CACHE_TABLE: 'story42-search-cache', STORY42_SEARCH_CACHE_TTL_SECONDS: '600', STORY42_SEARCH_BUDGET_PER_MINUTE: '12', STORY42_DUCKDUCKGO_PROXY: 'http://127.0.0.1:8999' };
    expect(loadConfig(env).search).toEqual({ provider: 'duckduckgo', cacheTable: 'story42-search-cache', cacheTtlSeconds: 600, budgetPerMinute: 12, duckduckgoProxy: 'http://127.0.0.1:8999' });
  });

  it.each([
    [{ STORY42_SEARCH_PROVIDER: 'duckduckgo' }, /STORY42_SEARCH_CACHE_TABLE must name the search cache table/],
    [{ STORY42_SEARCH_PROVIDER: 'google' }, /STORY42_SEARCH_PROVIDER must be one of: offline, duckduckgo/],
    [{ STORY42_SEARCH_CACHE_TTL_SECONDS: '5' }, /STORY42_SEARCH_CACHE_TTL_SECONDS must be an integer between 60/],
    [{ STORY42_SEARCH_BUDGET_PER_MINUTE: '1' }, /STORY42_SEARCH_BUDGET_PER_MINUTE must be an integer between 2/],
    [{ STORY42_DUCKDUCKGO_PROXY: 'not a url' }, /STORY42_DUCKDUCKGO_PROXY must be a URL/],
    [{ STORY42_DUCKDUCKGO_PROXY: 'socks5://127.0.0.1:1080' }, /STORY42_DUCKDUCKGO_PROXY must be an http\(s\) URL/],
    [{ STORY42_SEARCH_CACHE_TABLE: 'bad table!' }, /STORY42_SEARCH_CACHE_TABLE must be a DynamoDB table name/],
  ])('rejects %p', (extra, message) => {
    expect(() => loadConfig({ ...BASE_ENV, ...extra })).toThrow(ConfigError);
    expect(() => loadConfig({ ...BASE_ENV, ...extra })).toThrow(message);
  });
});

describe('webSearchFor', () => {
  const ddg = new LocalDuckDuckGoServer();
  let proxy: string;
  beforeAll(async () => {
    proxy = await ddg.listen();
  });
  afterAll(() => ddg.close());

  it('offline: the offline search index, named as such', async () => {
    const search = webSearchFor(testConfig(), quietTelemetry(), LOCAL_SEARCH);
    expect(search.engine).toBe('offline-search-index');
    const answer = await search.search('volcanoes', {});
    expect(answer).toMatchObject({ status: 'ok', engine: 'offline-search-index', cached: false });
  });

  it('a deployed agent ships no offline index: offline there is a configuration error naming what it has', () => {
    expect(() => webSearchFor(testConfig(), quietTelemetry())).toThrow(/STORY42_SEARCH_PROVIDER=offline is not available here; choose one of: duckduckgo/);
  });

  it('duckduckgo: duck-duck-scrape through the configured proxy, cached in the configured table', async () => {
    const telemetry = quietTelemetry();
    const search = webSearchFor(testConfig({ STORY42_SEARCH_PROVIDER: 'duckduckgo', STORY42_DUCKDUCKGO_PROXY: proxy }), telemetry);
    expect(search.engine).toBe('duckduckgo');
    const q = `how bees make honey w${process.pid}x${Date.now().toString(36)}`;
    const first = await search.search(q, { limit: 4 });
    expect(first).toMatchObject({ status: 'ok', engine: 'duckduckgo', cached: false });
    expect(first.status === 'ok' && first.results.length).toBe(4);
    expect(ddg.counters).toMatchObject({ vqd: 1, results: 1 });
    const again = await search.search(q.toUpperCase(), { limit: 4 });
    expect(again).toMatchObject({ status: 'ok', engine: 'duckduckgo', cached: true });
    expect(again.status === 'ok' && first.status === 'ok' && again.results).toEqual(first.status === 'ok' && first.results);
    expect(ddg.counters.requests).toBe(2);
    expect(telemetry.get('search_cache_hits')).toBe(1);
  });
});
