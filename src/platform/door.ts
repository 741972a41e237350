/**
 * What every front door shares — the Lambda adapter (API Gateway), the Express agent (ALB) and
 * the local gateway: verified claims to a caller, the request body, JSON or Server-Sent
 * Events, and errors in the spec's shapes. A door only translates its transport to a
 * `DoorCall` and a `ResponseSink`.
 */
import { z } from 'zod';
import { CORS_ALLOW_HEADERS, CORS_ALLOW_ORIGIN, corsMethods } from '../core/cors';
import { badRequest, HttpError, notFound, payloadTooLarge, unauthorized } from '../core/errors';
import type { Caller } from '../core/ports';
import { routesAt, type Route, type RouteContext } from '../core/routes';
import { envelope } from '../core/story-service';
import { ConfigError } from './config';
import type { Platform } from './platform';
import { progressFrame, SSE_HEADERS, sseFrame, wantsEventStream } from './sse';

const claimsSchema = z.object({
  sub: z.string().min(1).max(256),
  email: z.string().max(512).optional(),
  'cognito:username': z.string().max(256).optional(),
  'cognito:groups': z.union([z.string().max(4096), z.array(z.string().max(256)).max(100)]).optional(),
});

/**
 * The caller from verified claims — API Gateway's Cognito authorizer claims (every value a
 * string; groups as "a,b" or "[a b]") or a verified ID token's payload (groups as an array).
 */
export function callerFromClaims(claims: unknown): Caller {
  const parsed = claimsSchema.safeParse(claims);
  if (!parsed.success) throw unauthorized();
  const c = parsed.data;
  const rawGroups = c['cognito:groups'] ?? [];
  const groups = (Array.isArray(rawGroups) ? rawGroups : rawGroups.replace(/^\[|\]$/g, '').split(/[,\s]+/)).map((g) => g.trim()).filter(Boolean);
  return { sub: c.sub, email: c.email ?? '', username: c['cognito:username'] ?? c.sub, groups };
}

/** How often a quiet event stream gets a comment line. */
export const SSE_KEEP_ALIVE_MS = 15_000;

export const CORS_HEADERS: Record<string, string> = { 'Access-Control-Allow-Origin': CORS_ALLOW_ORIGIN, 'Access-Control-Allow-Headers': CORS_ALLOW_HEADERS };

/** The answer to a CORS preflight on a path whose routes have these methods. */
export function preflightHeaders(routes: readonly Route[]): Record<string, string> {
  return { ...CORS_HEADERS, 'Access-Control-Allow-Methods': corsMethods(routes.map((r) => r.method)) };
}
const JSON_HEADERS = { 'Content-Type': 'application/json', ...CORS_HEADERS };

export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export type ErrorLog = (message: string, fields: Record<string, unknown>) => void;

/** Where a door logs when it has no platform (yet): one JSON line on stderr. */
export const stderrLog: ErrorLog = (message, fields) => {
  const plain = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v instanceof Error ? `${v.name}: ${v.message}` : v]));
  process.stderr.write(`${JSON.stringify({ level: 'ERROR', message, ...plain })}\n`);
};

/** Any error as the spec's answer; anything unexpected is logged and shown without detail. */
export function errorAnswer(err: unknown, requestId: string, log: ErrorLog): ErrorAnswer {
  if (err instanceof HttpError) return { status: err.status, headers: { ...JSON_HEADERS, ...err.headers }, body: err.body(requestId) };
  const detail = err instanceof ConfigError ? 'The service is misconfigured' : 'An unexpected error occurred';
  log('unhandled error', { request_id: requestId, error: err instanceof Error ? err : String(err) });
  return { status: 500, headers: JSON_HEADERS, body: { error: 'Internal server error', message: detail, request_id: requestId } };
}

/** Where a door writes its answer: a status line with headers once, then the body. */
export interface ResponseSink {
  start(status: number, headers: Record<string, string>): void;
  write(chunk: string): void;
  end(): void;
}

export interface DoorCall {
  route: Route;
  params: Record<string, string | undefined>;
  query: Record<string, string | undefined>;
  accept?: string;
  /** The raw body, exactly as received. */
  body?: string | Buffer | null;
  /** Verified claims (authorizer claims or an ID token's payload); absent for anonymous calls. */
  claims?: unknown;
  requestId: string;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/** The body as a JSON object, within the size limit. */
export function parseBody(raw: string | Buffer | null | undefined, maxBytes: number): Record<string, unknown> {
  if (raw === null || raw === undefined || raw.length === 0) return {};
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  if (bytes.length > maxBytes) throw payloadTooLarge(maxBytes);
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw badRequest('Request body must be valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badRequest('Request body must be a JSON object');
  return parsed as Record<string, unknown>;
}

export type RouteMatch = { route: Route; params: Record<string, string> } | { error: HttpError; allow?: string };

/** The route for a concrete method and path: a 404 when no route has the path, 405 when none has the method. */
export function findRoute(routes: readonly Route[], method: string, path: string): RouteMatch {
  const here = routesAt(path.replace(/\/+$/, '') || '/', routes);
  const hit = here.find((m) => m.route.method === method);
  if (hit) return hit;
  if (here.length === 0) return { error: notFound(`No route for ${method} ${path}`) };
  const allow = corsMethods(here.map((m) => m.route.method));
  return { error: new HttpError(405, `Method ${method} is not allowed on ${path}`, { Allow: allow }), allow };
}

/** Serves one call: identity, body, the handler, and the answer as JSON or as Server-Sent Events. */
export async function serveRoute(platform: Platform, call: DoorCall, sink: ResponseSink): Promise<void> {
  const { route, requestId } = call;
  const { telemetry } = platform;
  const log: ErrorLog = (message, fields) => telemetry.log('error', message, fields);
  const started = Date.now();
  let status = 200;
  await telemetry.withRequest({ request_id: requestId, route: route.name }, async () => {
    const sse = route.streams && wantsEventStream(call.accept);
    let sent = false;
    let keepAlive: NodeJS.Timeout | undefined;
    try {
      const caller = route.access === 'public' ? undefined : callerFromClaims(call.claims);
      if (caller) telemetry.setRequestKeys({ sub: caller.sub });
      const body = route.body ? parseBody(call.body, platform.config.maxBodyBytes) : {};
      const ctx: RouteContext = { caller, requestId, signal: call.signal };
      const wrap = (result: unknown) => (route.envelope && caller ? envelope(route.name, result, caller, requestId) : result);
      if (sse) {
        sink.start(200, { ...SSE_HEADERS, ...CORS_HEADERS });
        sent = true;
        const send = (event: string, data: unknown) => {
          if (!call.signal.aborted) sink.write(sseFrame(event, data));
        };
        send('progress', { stage: 'accepted', detail: route.name });
        // A comment line every 15 s keeps proxies and the ALB from closing a quiet stream (a turn
        // of the agent can think, draw or speak for a while without an event).
        keepAlive = setInterval(() => call.signal.aborted || sink.write(': keep-alive\n\n'), SSE_KEEP_ALIVE_MS);
        ctx.onProgress = (e) => send(...progressFrame(e));
        send('result', wrap(await route.handle(platform.services, { body, query: call.query, params: call.params }, ctx)));
      } else {
        const result = await route.handle(platform.services, { body, query: call.query, params: call.params }, ctx);
        sink.start(200, JSON_HEADERS);
        sent = true;
        sink.write(JSON.stringify(wrap(result)));
      }
    } catch (err) {
      if (call.signal.aborted) {
        // The client went away: nobody to answer.
        status = 499;
      } else {
        const answer = errorAnswer(err, requestId, log);
        status = answer.status;
        if (!sent) {
          sink.start(answer.status, answer.headers);
          sink.write(JSON.stringify(answer.body));
        } else {
          // The status line (200) is already sent: the status and Retry-After travel in the event.
          const retryAfter = answer.headers['Retry-After'];
          sink.write(sseFrame('error', { status: answer.status, ...answer.body, ...(retryAfter ? { retry_after: Number(retryAfter) } : {}) }));
        }
      }
    } finally {
      clearInterval(keepAlive);
      sink.end();
      // One access line per call; health checks and the API description only at debug level (load balancers poll them).
      telemetry.log(status >= 500 ? 'warn' : route.access === 'public' ? 'debug' : 'info', 'request', { status, ms: Date.now() - started, stream: sse });
      telemetry.flush();
    }
  });
}
