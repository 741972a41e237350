export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

/**
 * Runs `fn` over `items` with at most `limit` calls in flight, keeping input order in the
 * result. One item's failure does not stop the others.
 */
export async function mapSettled<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<Settled<R>[]> {
  const results: Settled<R>[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = { ok: true, value: await fn(items[index] as T, index) };
      } catch (error) {
        results[index] = { ok: false, error };
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker);
  await Promise.all(workers);
  return results;
}

/**
 * A bounded first-in-first-out queue read as an async iterable by one consumer: a producer
 * `push`es items as they become available and `close`s it at the end (with an error to end
 * the reading with that error, after the items already queued).
 * - `push` after `close` throws; `push` when `capacity` items are already waiting throws.
 * - Once the consumer has stopped reading (it left its `for await` early), pushes are dropped
 *   and `push` returns false.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  readonly #readers: Array<{ resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }> = [];
  #closed = false;
  #failure: { error: unknown } | undefined;
  #stopped = false;

  constructor(readonly capacity = 1000) {}

  /** Items waiting to be read. */
  get size(): number {
    return this.#items.length;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Queues `item`; false if the consumer has stopped reading (the item is dropped). */
  push(item: T): boolean {
    if (this.#closed) throw new Error('AsyncQueue: push after close');
    if (this.#stopped) return false;
    const reader = this.#readers.shift();
    if (reader) {
      reader.resolve({ value: item, done: false });
      return true;
    }
    if (this.#items.length >= this.capacity) throw new Error(`AsyncQueue: more than ${this.capacity} items waiting`);
    this.#items.push(item);
    return true;
  }

  /** No more items; with `error`, reading ends with that error once the queued items are read. Closing twice is a no-op. */
  close(...error: [] | [unknown]): void {
    if (this.#closed) return;
    this.#closed = true;
    if (error.length > 0) this.#failure = { error: error[0] };
    for (const reader of this.#readers.splice(0)) this.#end(reader);
  }

  #end(reader: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }): void {
    const failure = this.#failure;
    this.#failure = undefined;
    if (failure && !this.#stopped) reader.reject(failure.error);
    else reader.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () =>
        new Promise<IteratorResult<T>>((resolve, reject) => {
          if (this.#items.length > 0) resolve({ value: this.#items.shift() as T, done: false });
          else if (this.#closed || this.#stopped) this.#end({ resolve, reject });
          else this.#readers.push({ resolve, reject });
        }),
      return: () => {
        this.#stopped = true;
        this.#items.length = 0;
        for (const reader of this.#readers.splice(0)) reader.resolve({ value: undefined, done: true });
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
