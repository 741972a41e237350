/**
 * The web search engine the config names: DuckDuckGo with the shared DynamoDB cache
 * (`duckduckgo`), or — on the local platform only — the offline search index (`offline`). The implementation is loaded
 * with `import()` on first use, so a bundle carries each in its own chunk and a process loads
 * only the configured one.
 */
import type { SearchAnswer, Telemetry, WebSearch, WebSearchOptions } from '../core/ports';
import { ConfigError, type Config } from './config';
import { Deferred, type ProviderEntry } from './providers';

/** The engines a deployed agent ships: DuckDuckGo, loaded on first use (the offline index is the local platform's, `src/local/providers.ts`). */
export type SearchEngines = Partial<Record<Config['search']['provider'], ProviderEntry<WebSearch>>>;

export const AWS_SEARCH: SearchEngines = {
  duckduckgo: {
    provider: 'duckduckgo',
    async load(config, telemetry) {
      const [{ DuckDuckGoSearch }, { SearchCache }, { dynamoDocumentClient }] = await Promise.all([
        import('../providers/duckduckgo-search.js'),
        import('../aws/search-cache.js'),
        import('../aws/clients.js'),
      ]);
      const table = config.search.cacheTable;
      return new DuckDuckGoSearch({
        cache: table ? new SearchCache(dynamoDocumentClient(config), table) : undefined,
        ttlSeconds: config.search.cacheTtlSeconds,
        budgetPerMinute: config.search.budgetPerMinute,
        proxy: config.search.duckduckgoProxy,
        telemetry,
      });
    },
  },
};

/** The engine, loaded on the first search; one that fails to load answers `unavailable` (and is tried again next time). */
class DeferredWebSearch implements WebSearch {
  readonly engine: string;
  private readonly loaded: Deferred<WebSearch>;

  constructor(
    entry: ProviderEntry<WebSearch>,
    config: Config,
    private readonly telemetry: Telemetry,
  ) {
    this.engine = entry.provider;
    this.loaded = new Deferred(entry, config, telemetry);
  }

  async search(query: string, opts: WebSearchOptions = {}): Promise<SearchAnswer> {
    let engine: WebSearch;
    try {
      engine = await this.loaded.get();
    } catch (err) {
      this.telemetry.count('search_unavailable');
      this.telemetry.log('error', 'web search engine failed to load', { engine: this.engine, error: err instanceof Error ? err.message : 'unknown' });
      return { status: 'unavailable', reason: 'Web search is not available in this process right now.', engine: this.engine };
    }
    return engine.search(query, opts);
  }
}

/** The configured web search among `engines` (not loaded until the first search); an engine this process does not ship is a ConfigError. */
export function webSearchFor(config: Config, telemetry: Telemetry, engines: SearchEngines = AWS_SEARCH): WebSearch {
  const entry = engines[config.search.provider];
  if (!entry) {
    throw new ConfigError(`Invalid configuration:\n  - STORY42_SEARCH_PROVIDER=${config.search.provider} is not available here; choose one of: ${Object.keys(engines).join(', ')}`);
  }
  return new DeferredWebSearch(entry, config, telemetry);
}
