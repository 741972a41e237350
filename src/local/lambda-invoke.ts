/**
 * Invokes a streaming Lambda handler the way API Gateway does with `STREAM` transfer mode:
 * the function writes a JSON prelude {statusCode, headers}, eight NUL bytes, then the body;
 * the status line and headers go out as soon as the prelude has arrived, the body as it comes.
 * Used by the local gateway, the tests and the bench.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import type { StreamingHandler } from '../lambda/runtime';

const MAX_PRELUDE = 64 * 1024;
const preludeSchema = z.object({ statusCode: z.number().int().min(100).max(599), headers: z.record(z.string(), z.string()).default({}) });

export interface StreamedResponse {
  statusCode: number;
  headers: Record<string, string>;
  /** The body as the function writes it. */
  body: Readable;
  /** Settles when the function has returned. */
  done: Promise<void>;
  /** The client went away: closes the function's response stream, as API Gateway does. */
  abort(): void;
}

function lambdaContext(requestId: string, functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 900_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** What API Gateway answers when the function fails or writes no valid prelude. */
function badGatewayResponse(done: Promise<void>, abort: () => void): StreamedResponse {
  const body = new PassThrough();
  body.end(JSON.stringify({ message: 'Internal server error' }));
  return { statusCode: 502, headers: { 'Content-Type': 'application/json' }, body, done, abort };
}

export function invokeStreaming(handler: StreamingHandler, event: unknown, opts: { requestId: string; functionName: string }): Promise<StreamedResponse> {
  const responseStream = new PassThrough();
  const done = handler(event, responseStream, lambdaContext(opts.requestId, opts.functionName)).then(
    () => {
      if (!responseStream.writableEnded) responseStream.end();
    },
    (err: unknown) => {
      responseStream.destroy(err instanceof Error ? err : new Error(String(err)));
    },
  );
  const abort = () => responseStream.destroy();
  return new Promise((resolve) => {
    let head = Buffer.alloc(0);
    let settled = false;
    const finish = (res: StreamedResponse) => {
      if (settled) return;
      settled = true;
      responseStream.off('data', onData);
      resolve(res);
    };
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const at = head.indexOf(Buffer.alloc(8));
      if (at < 0) {
        if (head.length > MAX_PRELUDE) finish(badGatewayResponse(done, abort));
        return;
      }
      let prelude: z.infer<typeof preludeSchema>;
      try {
        prelude = preludeSchema.parse(JSON.parse(head.subarray(0, at).toString('utf8')));
      } catch {
        finish(badGatewayResponse(done, abort));
        return;
      }
      responseStream.pause();
      const body = new PassThrough();
      const rest = head.subarray(at + 8);
      if (rest.length > 0) body.write(rest);
      responseStream.pipe(body);
      responseStream.once('error', (err) => body.destroy(err));
      finish({ statusCode: prelude.statusCode, headers: prelude.headers, body, done, abort });
      responseStream.resume();
    };
    responseStream.on('data', onData);
    responseStream.once('end', () => finish(badGatewayResponse(done, abort)));
    responseStream.once('error', () => finish(badGatewayResponse(done, abort)));
  });
}
