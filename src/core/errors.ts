/**
 * Errors the core raises on purpose. Each carries the HTTP status and the spec's body shape;
 * anything else that escapes is an internal error (500) and its detail is not shown.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }

  /** The response body in the spec's error shape. */
  body(requestId: string): Record<string, string> {
    if (this.status === 401) return { message: 'Unauthorized' };
    if (this.status >= 500 && this.status !== 502 && this.status !== 503) {
      return { error: 'Internal server error', message: this.message, request_id: requestId };
    }
    return { error: this.message, request_id: requestId };
  }
}

export const badRequest = (message: string): HttpError => new HttpError(400, message);
export const unauthorized = (): HttpError => new HttpError(401, 'Unauthorized');
export const forbidden = (message: string): HttpError => new HttpError(403, message);
export const notFound = (message: string): HttpError => new HttpError(404, message);
export const payloadTooLarge = (limit: number): HttpError =>
  new HttpError(413, `Request body exceeds the ${limit} byte limit`);
/** The model's output could not be repaired within the attempt budget. */
export const badGateway = (message: string): HttpError => new HttpError(502, message);

/** The model provider throttles (429) or is unavailable (503); carries Retry-After. */
export class ProviderUnavailableError extends HttpError {
  constructor(status: 429 | 503, message: string, readonly retryAfterSeconds: number) {
    super(status, message, { 'Retry-After': String(retryAfterSeconds) });
    this.name = 'ProviderUnavailableError';
  }
}

/** A service the platform depends on is down, too slow or unreachable: a 503 with Retry-After. */
export class DependencyUnavailableError extends HttpError {
  constructor(
    message: string,
    readonly retryAfterSeconds = 5,
  ) {
    super(503, message, { 'Retry-After': String(retryAfterSeconds) });
    this.name = 'DependencyUnavailableError';
  }
}

/** Storage (S3, DynamoDB) is down, too slow or unreachable — never blamed on a model. */
export class StorageUnavailableError extends DependencyUnavailableError {
  constructor(retryAfterSeconds = 5) {
    super('Storage is unavailable; try again shortly', retryAfterSeconds);
    this.name = 'StorageUnavailableError';
  }
}

/** The caller went away; remaining work should stop. */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

export function isAbortError(err: unknown): boolean {
  return err instanceof CancelledError || (err instanceof Error && err.name === 'AbortError');
}
