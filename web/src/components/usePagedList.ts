/**
 * A list the API hands out a page at a time (the library, the agent's sessions, the projects):
 * the first page when the component shows (again when `deps` change), the next on request. An
 * item already shown is not shown twice, and a load still running when the list starts over or
 * goes away is aborted.
 */
import { useCallback, useEffect, useRef, useState, type Dispatch, type SetStateAction } from 'react';

export interface Page<T> {
  items: readonly T[];
  /** The next page's cursor; null after the last page. */
  next: string | null;
}

export interface PagedListOptions<T> {
  /** One page: the first for a null cursor. */
  fetchPage: (cursor: string | null, signal: AbortSignal) => Promise<Page<T>>;
  keyOf: (item: T) => string;
  /** The first page loads again when one of these changes. */
  deps: readonly unknown[];
  /** False: nothing loads (and a running load stops). Default true. */
  enabled?: boolean;
  /** After a next page arrived, with how many items it held. */
  onMore?: (count: number) => void;
}

export interface PagedList<T> {
  items: T[];
  /** For edits in place: an item created, changed or deleted. */
  setItems: Dispatch<SetStateAction<T[]>>;
  cursor: string | null;
  loading: boolean;
  /** A first page has arrived. */
  loaded: boolean;
  error: unknown;
  /** The next page. */
  more: () => void;
  /** The page that failed, asked for again. */
  retry: () => void;
}

export function usePagedList<T>({ fetchPage, keyOf, deps, enabled = true, onMore }: PagedListOptions<T>): PagedList<T> {
  const [items, setItems] = useState<T[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(enabled);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<unknown>();
  // The callers' functions as of their latest render: a new closure each render starts no load.
  const latest = useRef({ fetchPage, keyOf, onMore });
  latest.current = { fetchPage, keyOf, onMore };
  const running = useRef<AbortController | undefined>(undefined);
  const asked = useRef<string | null>(null);

  const load = useCallback(async (from: string | null) => {
    running.current?.abort();
    const ctl = new AbortController();
    running.current = ctl;
    asked.current = from;
    setLoading(true);
    setError(undefined);
    try {
      const page = await latest.current.fetchPage(from, ctl.signal);
      if (ctl.signal.aborted) return;
      const key = latest.current.keyOf;
      setItems((old) => {
        const base = from ? old : [];
        const known = new Set(base.map(key));
        return [...base, ...page.items.filter((item) => !known.has(key(item)))];
      });
      setCursor(page.next);
      setLoaded(true);
      if (from) latest.current.onMore?.(page.items.length);
    } catch (err) {
      if (!ctl.signal.aborted) setError(err);
    } finally {
      if (!ctl.signal.aborted) setLoading(false);
    }
  }, []);

  useEffect(() => {
    if (!enabled) return;
    void load(null);
    return () => running.current?.abort();
    // `deps` are the caller's: the first page loads again when one of them changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [enabled, load, ...deps]);

  const more = useCallback(() => void load(cursor), [load, cursor]);
  const retry = useCallback(() => void load(asked.current), [load]);
  return { items, setItems, cursor, loading, loaded, error, more, retry };
}
