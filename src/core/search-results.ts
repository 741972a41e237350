/**
 * The bounds of the web search port (src/core/ports.ts `WebSearch`), shared by every engine:
 * how a query is normalised (the cache key), and how results are cut to size and filtered
 * (http(s) URLs only, at most 10).
 */
import { z } from 'zod';
import type { SearchResult } from './ports';

export const SEARCH_LIMITS = { queryChars: 300, titleChars: 300, snippetChars: 1000, urlChars: 2048, results: 10 } as const;

/** Trimmed, whitespace collapsed, lower-case, at most 300 characters (a surrogate pair is never split). */
export function normaliseQuery(query: string): string {
  const flat = query.normalize('NFC').replace(/\s+/gu, ' ').trim().toLowerCase();
  return cutAt(flat, SEARCH_LIMITS.queryChars).trim();
}

/** The first `max` UTF-16 units, one fewer when the cut would split a surrogate pair. */
function cutAt(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** The number of results a caller may ask for: 1–10, 10 when not given or not a number. */
export function resultLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return SEARCH_LIMITS.results;
  return Math.min(SEARCH_LIMITS.results, Math.max(1, Math.floor(limit)));
}

/** Text cut to `max` UTF-16 units (the bound's measure) at a word boundary when one is near, with an ellipsis. */
export function cutText(text: string, max: number): string {
  const flat = text.replace(/\s+/gu, ' ').trim();
  if (flat.length <= max) return flat;
  const head = cutAt(flat, max - 1);
  const space = head.lastIndexOf(' ');
  return `${(space >= max * 0.6 ? head.slice(0, space) : head).trimEnd()}…`;
}

/** The URL, normalised, when it is http(s) and at most 2048 characters long; else undefined. */
export function searchUrl(raw: string): string | undefined {
  if (raw.length > SEARCH_LIMITS.urlChars) return undefined;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password) return undefined;
  const text = url.toString();
  return text.length <= SEARCH_LIMITS.urlChars ? text : undefined;
}

/**
 * Results as the port promises them: titles and snippets cut, results without a usable
 * http(s) URL dropped, duplicates (same URL) dropped, at most `limit`.
 */
export function boundResults(results: Iterable<{ title: string; url: string; snippet: string }>, limit: number = SEARCH_LIMITS.results): SearchResult[] {
  const out: SearchResult[] = [];
  const seen = new Set<string>();
  const max = resultLimit(limit);
  for (const r of results) {
    if (out.length >= max) break;
    const url = searchUrl(r.url);
    if (!url || seen.has(url)) continue;
    const title = cutText(r.title, SEARCH_LIMITS.titleChars) || new URL(url).hostname;
    seen.add(url);
    out.push({ title, url, snippet: cutText(r.snippet, SEARCH_LIMITS.snippetChars) });
  }
  return out;
}

/** A bounded result as stored (the search cache) and read back: checked again on the way in. */
export const searchResultSchema = z.object({
  title: z.string().min(1).max(SEARCH_LIMITS.titleChars),
  url: z.string().max(SEARCH_LIMITS.urlChars).refine((u) => searchUrl(u) !== undefined, { message: 'not an http(s) URL' }),
  snippet: z.string().max(SEARCH_LIMITS.snippetChars),
});

export const searchResultsSchema = z.array(searchResultSchema).max(SEARCH_LIMITS.results);
