/**
 * Lambda response streaming. In the Lambda Node.js runtime, `awslambda` is a global of the
 * runtime interface client; elsewhere (the local gateway, tests, the bench) these helpers
 * produce the same wire format themselves: a JSON prelude {statusCode, headers}, eight NUL
 * bytes, then the body — what API Gateway reads from a function with `STREAM` transfer mode.
 */
import type { Writable } from 'node:stream';
import type { Context } from 'aws-lambda';

export type StreamingHandler = (event: unknown, responseStream: Writable, context?: Context) => Promise<void>;

export const PRELUDE_DELIMITER = new Uint8Array(8);

/** The runtime's globals are there (other libraries, such as @aws/lambda-invoke-store, may create an empty `awslambda`). */
const inLambda = (): boolean => typeof awslambda !== 'undefined' && typeof awslambda.streamifyResponse === 'function' && typeof awslambda.HttpResponseStream?.from === 'function';

/** Marks a handler as streaming for the Lambda runtime (a no-op elsewhere). */
export function streamify(handler: StreamingHandler): StreamingHandler {
  // The runtime tags and returns the same function; its declared type names the runtime's own stream class.
  return inLambda() ? (awslambda.streamifyResponse(handler) as unknown as StreamingHandler) : handler;
}

/** Writes the HTTP prelude and returns the stream to write the body to. */
export function httpResponseStream(stream: Writable, prelude: { statusCode: number; headers: Record<string, string> }): Writable {
  if (inLambda()) return awslambda.HttpResponseStream.from(stream, prelude);
  stream.write(JSON.stringify(prelude));
  stream.write(PRELUDE_DELIMITER);
  return stream;
}
