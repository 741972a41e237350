/** At most `max` tasks at a time; the rest wait in order. A waiting task whose signal aborts leaves the queue. */
export type Limiter = <T>(task: () => Promise<T>, signal?: AbortSignal) => Promise<T>;

export function createLimiter(max: number): Limiter {
  let active = 0;
  const queue: Array<() => void> = [];
  const next = () => {
    while (active < max) {
      const start = queue.shift();
      if (!start) return;
      active += 1;
      start();
    }
  };
  return <T>(task: () => Promise<T>, signal?: AbortSignal) =>
    new Promise<T>((resolve, reject) => {
      const abortError = () => (signal?.reason instanceof Error ? signal.reason : new DOMException('Aborted', 'AbortError'));
      if (signal?.aborted) {
        reject(abortError());
        return;
      }
      const start = () => {
        signal?.removeEventListener('abort', onAbort);
        task()
          .then(resolve, reject)
          .finally(() => {
            active -= 1;
            next();
          });
      };
      const onAbort = () => {
        const i = queue.indexOf(start);
        if (i >= 0) queue.splice(i, 1);
        reject(abortError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(start);
      next();
    });
}
