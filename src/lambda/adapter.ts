/**
 * The Lambda door: API Gateway REST proxy events (response streaming) to the route table.
 * Identity comes from the Cognito authorizer's claims; everything else is `serveRoute`.
 */
import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { ROUTES, type LambdaName } from '../core/routes';
import { loadConfig } from '../platform/config';
import { CORS_HEADERS, errorAnswer, findRoute, serveRoute, stderrLog, type ResponseSink } from '../platform/door';
import { checkRouteNeeds, createPlatform, type Platform } from '../platform/platform';
import type { ProviderSet } from '../platform/providers';
import { httpResponseStream, streamify, type StreamingHandler } from './runtime';

/** Invoke with this event (e.g. from a schedule or the bench) to load config and providers without a request. */
export const WARM_UP_EVENT = { story42: 'warm-up' } as const;

/**
 * The platform of this Lambda container, built from the environment on first use. What its
 * routes need must be configured (e.g. the project tables where the project routes run): else
 * every call, the warm-up too, fails with the variables named in the log.
 */
export function platformFromEnv(lambda: LambdaName, providers: ProviderSet): () => Platform {
  let platform: Platform | undefined;
  return () => {
    if (platform) return platform;
    const config = loadConfig(process.env);
    checkRouteNeeds(config, ROUTES.filter((r) => r.lambda === lambda));
    return (platform = createPlatform(config, providers, { service: `story42-${lambda}` }));
  };
}

function sinkOver(stream: Writable): ResponseSink {
  let body: Writable = stream;
  return { start: (statusCode, headers) => void (body = httpResponseStream(stream, { statusCode, headers })), write: (chunk) => void body.write(chunk), end: () => void body.end() };
}

const header = (headers: Record<string, string | undefined> | null, name: string) => Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === name)?.[1];

export function lambdaHandler(lambda: LambdaName, getPlatform: () => Platform): StreamingHandler {
  return streamify(async (raw, responseStream, context) => {
    const sink = sinkOver(responseStream);
    const event = raw as Partial<APIGatewayProxyEvent> & { story42?: string };
    const requestId = event.requestContext?.requestId || context?.awsRequestId || randomUUID();
    const answer = (status: number, headers: Record<string, string>, body: unknown) => {
      sink.start(status, headers);
      sink.write(body === '' ? '' : JSON.stringify(body));
      sink.end();
    };
    try {
      const platform = getPlatform();
      if (event.story42 === WARM_UP_EVENT.story42) return answer(200, { 'Content-Type': 'application/json' }, { warm: lambda, ready: await platform.ready().then(() => true) });
      if (event.httpMethod === 'OPTIONS') return answer(204, CORS_HEADERS, '');
      const match = findRoute(platform.routes.filter((r) => r.lambda === lambda), event.httpMethod ?? '', event.resource ?? '');
      if ('error' in match) throw match.error;
      const controller = new AbortController();
      responseStream.on('close', () => responseStream.writableFinished || controller.abort(new Error('client disconnected')));
      await serveRoute(
        platform,
        {
          route: match.route,
          params: event.pathParameters ?? {},
          query: event.queryStringParameters ?? {},
          accept: header(event.headers ?? null, 'accept'),
          body: event.body && event.isBase64Encoded ? Buffer.from(event.body, 'base64') : event.body,
          claims: event.requestContext?.authorizer?.claims,
          requestId,
          signal: controller.signal,
        },
        sink,
      );
    } catch (err) {
      const a = errorAnswer(err, requestId, stderrLog);
      answer(a.status, a.headers, a.body);
    }
  });
}
