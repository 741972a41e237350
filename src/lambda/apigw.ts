/**
 * The thin adapter between API Gateway REST proxy events and the story core: identity from
 * the Cognito authorizer's claims, body parsing and limits, and the spec's response shapes.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { z } from 'zod';
import { badRequest, HttpError, payloadTooLarge, unauthorized } from '../core/errors';
import type { Caller } from '../core/ports';
import { ConfigError, loadConfig } from '../platform/config';
import { createPlatform, type Platform } from '../platform/platform';

export type ApiEvent = APIGatewayProxyEvent;
export type ApiResult = APIGatewayProxyResult;

const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Headers': 'Content-Type,Authorization',
  'Access-Control-Allow-Methods': 'GET,POST,DELETE,OPTIONS',
};

export function respond(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResult {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json', ...CORS_HEADERS, ...headers },
    body: JSON.stringify(body),
  };
}

const claimsSchema = z.object({
  sub: z.string().min(1),
  email: z.string().optional(),
  'cognito:username': z.string().optional(),
  'cognito:groups': z.union([z.string(), z.array(z.string())]).optional(),
});

/** Groups arrive as "a,b", "[a b]" or an array depending on the gateway flavour. */
function parseGroups(raw: string | string[] | undefined): string[] {
  if (raw === undefined) return [];
  const list = Array.isArray(raw) ? raw : raw.replace(/^\[|\]$/g, '').split(/[,\s]+/);
  return list.map((g) => g.trim()).filter(Boolean);
}

/** The caller, from the verified claims only (never from the body). */
export function callerFromEvent(event: ApiEvent): Caller {
  const claims = claimsSchema.safeParse(event.requestContext?.authorizer?.claims);
  if (!claims.success) throw unauthorized();
  const c = claims.data;
  return {
    sub: c.sub,
    email: c.email ?? '',
    username: c['cognito:username'] ?? c.sub,
    groups: parseGroups(c['cognito:groups']),
  };
}

export function parseJsonBody(event: ApiEvent, maxBytes: number): Record<string, unknown> {
  if (event.body === null || event.body === undefined || event.body === '') return {};
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (raw.length > maxBytes) throw payloadTooLarge(maxBytes);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw badRequest('Request body must be valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badRequest('Request body must be a JSON object');
  return parsed as Record<string, unknown>;
}

export function requestIdOf(event: ApiEvent): string {
  return event.requestContext?.requestId || `req-${Date.now().toString(36)}`;
}

/** The route path without stage, as API Gateway names the resource. */
export function routeOf(event: ApiEvent): string {
  return (event.resource || event.path || '').replace(/\/+$/, '') || '/';
}

export function errorResult(err: unknown, requestId: string, log: (msg: string, fields: Record<string, unknown>) => void): ApiResult {
  if (err instanceof HttpError) return respond(err.status, err.body(requestId), err.headers);
  const detail = err instanceof ConfigError ? 'The service is misconfigured' : 'An unexpected error occurred';
  log('unhandled error', { request_id: requestId, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err), stack: err instanceof Error ? err.stack : undefined });
  return respond(500, { error: 'Internal server error', message: detail, request_id: requestId });
}

let cached: Platform | undefined;
/** The platform for this Lambda container, built from the environment on first use. */
export function platformFromEnv(): Platform {
  cached ??= createPlatform(loadConfig(process.env));
  return cached;
}

export type RouteHandler = (event: ApiEvent) => Promise<ApiResult>;

/** Wraps a route implementation: identity, errors, and the platform chosen for this process. */
export function apiHandler(getPlatform: () => Platform, run: (p: Platform, event: ApiEvent, caller: Caller, requestId: string) => Promise<ApiResult>): RouteHandler {
  return async (event) => {
    const requestId = requestIdOf(event);
    let platform: Platform | undefined;
    try {
      if (event.httpMethod === 'OPTIONS') return { ...respond(204, {}), body: '' };
      const caller = callerFromEvent(event);
      platform = getPlatform();
      return await run(platform, event, caller, requestId);
    } catch (err) {
      return errorResult(err, requestId, (msg, fields) => {
        if (platform) platform.telemetry.log('error', msg, fields);
        else process.stderr.write(`${JSON.stringify({ level: 'error', message: msg, ...fields })}\n`);
      });
    }
  };
}
