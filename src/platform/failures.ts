/**
 * What kind of failure an SDK call met, read from the error's name, HTTP status or network
 * code — shared by the model providers' retries and the stores' 503s.
 */

/** Network failures: the service could not be reached (refused, reset, unresolvable, an HTTP/2 session torn down). */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Errors are read by shape, not `instanceof Error`: Node's own network errors may come from
 * another realm (a test runner's sandbox, a worker), where `instanceof` is false.
 */
interface ErrorShape {
  name?: unknown;
  code?: unknown;
  cause?: unknown;
  status?: unknown;
  /** ElevenLabs' SDK (`ElevenLabsError.statusCode`). */
  statusCode?: unknown;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

const shape = (err: unknown): ErrorShape | undefined => (typeof err === 'object' && err !== null ? (err as ErrorShape) : undefined);

export function isNetworkFailure(err: unknown): boolean {
  for (let e = shape(err), depth = 0; e && depth < 5; e = shape(e.cause), depth++) {
    if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || e.code.startsWith('ERR_HTTP2_'))) return true;
  }
  return false;
}

/** The HTTP status an SDK error carries, if any (AWS `$metadata.httpStatusCode`, `status`, or `statusCode`). */
export function statusOf(err: unknown): number | undefined {
  const e = shape(err);
  if (typeof e?.$metadata?.httpStatusCode === 'number') return e.$metadata.httpStatusCode;
  if (typeof e?.status === 'number') return e.status;
  return typeof e?.statusCode === 'number' ? e.statusCode : undefined;
}

const nameOf = (err: unknown): string => String(shape(err)?.name ?? '');

const THROTTLE_NAMES = new Set(['ThrottlingException', 'TooManyRequestsException', 'RESOURCE_EXHAUSTED', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'SlowDown']);
const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'AbortError']);

export function isThrottled(err: unknown): boolean {
  return THROTTLE_NAMES.has(nameOf(err)) || statusOf(err) === 429;
}

/**
 * An AWS SDK call that was sent (the retry layer counted its attempts) but never got an HTTP
 * answer: the service is unreachable or too slow, whatever shape the transport error took.
 */
function unanswered(err: unknown): boolean {
  const meta = shape(err)?.$metadata;
  return meta !== undefined && typeof meta.attempts === 'number' && meta.httpStatusCode === undefined;
}

/** Down, throttled, slow or unreachable: worth a 503 with Retry-After (a retry later may work). */
export function isTransientFailure(err: unknown): boolean {
  const status = statusOf(err);
  return isNetworkFailure(err) || unanswered(err) || isThrottled(err) || TIMEOUT_NAMES.has(nameOf(err)) || (status !== undefined && (status >= 500 || status === 408));
}
