/** A store call whose transient failures (down, slow, throttled, unreachable) become the spec's 503. */
import { StorageUnavailableError } from '../core/errors';
import { isTransientFailure } from '../platform/failures';

export async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (isTransientFailure(err)) throw Object.assign(new StorageUnavailableError(), { cause: err });
    throw err;
  }
}
