/**
 * A local DuckDuckGo that answers in DuckDuckGo's own formats, as `duck-duck-scrape` requests
 * and parses them, from the offline search index (src/offline/search-index.ts):
 *
 *  - `GET https://duckduckgo.com/?q=…&ia=web` — the search page, whose script carries the
 *    query's `vqd` token (`vqd="4-…"`);
 *  - `GET https://links.duckduckgo.com/d.js?q=…&vqd=…` — the results script, with the results
 *    in `DDG.pageLayout.load('d',[…])` (`t` title, `a` abstract with `<b>` marks, `u` URL,
 *    `i` host…, then the `n` next-page item) followed by `DDG.duckbar.loadModule(…)`.
 *
 * It is reached as an HTTP proxy: duck-duck-scrape hands its request options to needle, and
 * needle's `proxy` option sends each request here in absolute form (the request line names
 * `https://duckduckgo.com/…`), so nothing has to speak TLS. Plain requests (`GET /?q=…`,
 * `GET /d.js?…`) work too, for a look with curl.
 *
 * Knobs script DuckDuckGo's hard rate limiting:
 *  - `rateLimit`: the next N results requests (`d.js`) get the anomaly block (HTTP 202,
 *    `DDG.deep.anomalyDetectionBlock`), which duck-duck-scrape reports as "DDG detected an
 *    anomaly in the request, you are likely making requests too quickly.";
 *  - `blockPages`: the next N search page requests get the block page (HTTP 202, no `vqd`),
 *    which it reports as "Failed to get the VQD for query …";
 *  - `latencyMs`: every answer waits this long (unless the client goes away first);
 *  - `extraResults`: raw results appended to every results answer (to test the bounds).
 */
import http from 'node:http';
import { createHash } from 'node:crypto';
import { OFFLINE_INDEX_HOST, rankOffline } from '../offline/search-index';
import { closeServer, listenLocal, waitUnlessClosed } from './http-util';

/** One result item of `d.js` (the fields duck-duck-scrape reads, and a few it does not). */
export interface DdgRawResult {
  t: string;
  a: string;
  u: string;
  i?: string;
}

export interface DuckDuckGoKnobs {
  latencyMs: number;
  rateLimit: number;
  blockPages: number;
  extraResults: DdgRawResult[];
}

export interface DuckDuckGoCounters {
  /** Every request received. */
  requests: number;
  /** Search pages answered with a `vqd` token. */
  vqd: number;
  /** `d.js` answers with results (or DuckDuckGo's "no results"). */
  results: number;
  /** Anomaly blocks and block pages sent. */
  rateLimited: number;
  /** `d.js` requests whose `vqd` did not belong to their query. */
  badVqd: number;
  /** The `q` of every request, in order. */
  queries: string[];
  /** The request targets as received (absolute when proxied). */
  targets: string[];
}

const freshKnobs = (): DuckDuckGoKnobs => ({ latencyMs: 0, rateLimit: 0, blockPages: 0, extraResults: [] });
const freshCounters = (): DuckDuckGoCounters => ({ requests: 0, vqd: 0, results: 0, rateLimited: 0, badVqd: 0, queries: [], targets: [] });

/** DuckDuckGo's token for a query: a version digit and a long number, stable per query here. */
export function vqdFor(query: string): string {
  const digest = createHash('sha256').update(query).digest();
  let digits = '';
  for (const byte of digest) digits += String(byte % 10);
  return `4-${digits.slice(0, 38)}`;
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#x27;');
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The abstract as DuckDuckGo marks it: HTML-escaped, the query's words in `<b>`. */
function markAbstract(text: string, query: string): string {
  let html = escapeHtml(text);
  const words = [...new Set(query.split(/\s+/).filter((w) => w.length > 2))];
  for (const w of words) html = html.replace(new RegExp(`\\b(${escapeRegExp(escapeHtml(w))})`, 'gi'), '<b>$1</b>');
  return html;
}

function searchPage(query: string, vqd: string): string {
  const q = escapeHtml(query);
  return [
    '<!DOCTYPE html><html lang="en-US"><head><meta charset="utf-8">',
    `<title>${q} at DuckDuckGo</title>`,
    '<link rel="stylesheet" href="/dist/s.css" type="text/css">',
    '</head><body class="body--serp"><div id="links_wrapper"><div class="results--main"><div id="links" class="results"></div></div></div>',
    `<script type="text/javascript">DDG.deep.initialize('/d.js?q=${encodeURIComponent(query)}&l=us-en&s=0&dl=en&ct=US&ss_mkt=us&p_ent=&ex=-1&sp=0&vqd=${vqd}');</script>`,
    `<script>nrj('/t.js?q=${encodeURIComponent(query)}&l=us-en&s=0&dl=en&ct=US&ss_mkt=us&vqd=${vqd}&p_ent=&ex=-1&sp=0');DDG.ready(function () {DDG.duckbar.future_signal_tab({signal:'medium',from:'deep_answer'});});vqd="${vqd}";</script>`,
    '</body></html>',
  ].join('\n');
}

/** DuckDuckGo's block page: a challenge instead of the search page, with no token. */
const BLOCK_PAGE = [
  '<!DOCTYPE html><html lang="en-US"><head><meta charset="utf-8"><title>DuckDuckGo</title></head>',
  '<body><div class="anomaly-modal__mask"><div class="anomaly-modal__modal" data-testid="anomaly-modal">',
  '<div class="anomaly-modal__title">Unfortunately, bots use DuckDuckGo too.</div>',
  '<div class="anomaly-modal__description">Please complete the following challenge to confirm this search was made by a human.</div>',
  '</div></div></body></html>',
].join('\n');

function anomalyBlock(query: string): string {
  return `if (DDG.deep && DDG.deep.anomalyDetectionBlock) { DDG.deep.anomalyDetectionBlock({"query":${JSON.stringify(query)},"cc":"sre","tk":"${createHash('sha1').update(query).digest('hex')}"}); }`;
}

function resultsScript(query: string, vqd: string, items: DdgRawResult[]): string {
  const q = encodeURIComponent(query);
  const data =
    items.length === 0
      ? [{ t: 'EOF', a: '', c: '', d: '', i: '', u: '', h: 0, k: null, m: 0, s: 'offline-index' }]
      : [
          ...items.map((r, m) => {
            const host = r.i ?? (() => {
              try {
                return new URL(r.u).hostname;
              } catch {
                return '';
              }
            })();
            return { a: r.a, ae: null, c: r.u, d: `${host}${r.u.replace(/^[a-z]+:\/\/[^/]+/i, '')}`, da: '', h: 0, i: host, k: null, m, o: '', p: 0, s: 'offline-index', t: r.t, u: r.u };
          }),
          { n: `/d.js?q=${q}&t=D&l=us-en&s=${items.length}&dl=en&ct=US&vqd=${vqd}&p=1&sp=0&ex=-2` },
        ];
  return [
    'if (DDG.deep && DDG.deep.setUpstream) DDG.deep.setUpstream("offline-index");',
    "DDG.deep.bn={'ivc':1};",
    `if (DDG.pageLayout) DDG.pageLayout.initialize({"mainline":{"items":[["organic"]]}}, { start: 0 });`,
    // One line, as duck-duck-scrape's pattern needs: the results array, then the duckbar module.
    `if (DDG.pageLayout) DDG.pageLayout.load('d',${JSON.stringify(data)});DDG.duckbar.loadModule('related_searches');`,
  ].join('');
}

export class LocalDuckDuckGoServer {
  readonly knobs: DuckDuckGoKnobs = freshKnobs();
  readonly counters: DuckDuckGoCounters = freshCounters();
  private readonly server: http.Server;

  constructor() {
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  /** The server's URL: give it to duck-duck-scrape's needle options as `proxy`. */
  listen(port = 0): Promise<string> {
    return listenLocal(this.server, port);
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  reset(): void {
    Object.assign(this.knobs, freshKnobs());
    Object.assign(this.counters, freshCounters());
  }

  private send(res: http.ServerResponse, status: number, contentType: string, body: string): void {
    res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-cache', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    req.resume();
    this.counters.requests += 1;
    const target = req.url ?? '/';
    this.counters.targets.push(target);
    let url: URL;
    try {
      url = new URL(target, `http://${req.headers.host ?? 'duckduckgo.com'}`);
    } catch {
      return this.send(res, 400, 'text/plain', 'bad request target');
    }
    const query = url.searchParams.get('q') ?? '';
    this.counters.queries.push(query);
    if (this.knobs.latencyMs > 0 && !(await waitUnlessClosed(this.knobs.latencyMs, res))) return;
    if (req.method !== 'GET') return this.send(res, 405, 'text/plain', 'method not allowed');

    const isResults = url.pathname === '/d.js';
    if (isResults) {
      if (this.knobs.rateLimit > 0) {
        this.knobs.rateLimit -= 1;
        this.counters.rateLimited += 1;
        return this.send(res, 202, 'application/x-javascript', anomalyBlock(query));
      }
      if (!query || url.searchParams.get('vqd') !== vqdFor(query)) {
        this.counters.badVqd += 1;
        return this.send(res, 200, 'application/x-javascript', "if (DDG.deep) DDG.deep.is506 = 1;if (DDG.deep && DDG.deep.pageLayoutError) DDG.deep.pageLayoutError();");
      }
      this.counters.results += 1;
      const items: DdgRawResult[] = rankOffline(query, 10).map((e) => ({ t: e.title, a: markAbstract(e.snippet, query), u: e.url, i: OFFLINE_INDEX_HOST }));
      return this.send(res, 200, 'application/x-javascript', resultsScript(query, vqdFor(query), [...items, ...this.knobs.extraResults]));
    }
    if (url.pathname === '/' && query) {
      if (this.knobs.blockPages > 0) {
        this.knobs.blockPages -= 1;
        this.counters.rateLimited += 1;
        return this.send(res, 202, 'text/html; charset=UTF-8', BLOCK_PAGE);
      }
      this.counters.vqd += 1;
      return this.send(res, 200, 'text/html; charset=UTF-8', searchPage(query, vqdFor(query)));
    }
    return this.send(res, 404, 'text/html; charset=UTF-8', '<!DOCTYPE html><html><body>Not found</body></html>');
  }
}
