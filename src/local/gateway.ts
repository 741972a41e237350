/**
 * A small local stand-in for API Gateway's REST front door: it verifies the Cognito ID
 * token as the Cognito authorizer does, builds the REST proxy event with the authorizer's
 * claims, and invokes the very handler functions the Lambdas export.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { RouteHandler } from '../lambda/apigw';
import { claimsAsStrings, type TokenVerifier } from '../platform/auth';
import { SSE_HEADERS, sseFrame, wantsEventStream, type SseSink } from '../platform/sse';

/** Answers a route as Server-Sent Events (the ECS/agent path; API Gateway REST cannot stream). */
export type StreamHandler = (event: APIGatewayProxyEvent, send: SseSink, signal: AbortSignal) => Promise<void>;

/** API Gateway's own payload limit. */
const GATEWAY_MAX_BODY = 10 * 1024 * 1024;

export interface GatewayRoute {
  method: 'GET' | 'POST' | 'DELETE';
  /** Resource path as API Gateway names it, e.g. `/jobs/{job_id}`. */
  resource: string;
  handler: RouteHandler;
  stream?: StreamHandler;
}

export interface GatewayOptions {
  routes: GatewayRoute[];
  verifier: TokenVerifier;
  /** Extra fields for GET /health (e.g. counters). */
  health?: () => Record<string, unknown>;
}

function matchResource(resource: string, path: string): Record<string, string> | undefined {
  const r = resource.split('/');
  const p = path.split('/');
  if (r.length !== p.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < r.length; i++) {
    const seg = r[i] as string;
    const val = p[i] as string;
    const m = /^\{(\w+)\}$/.exec(seg);
    if (m) {
      if (!val) return undefined;
      try {
        params[m[1] as string] = decodeURIComponent(val);
      } catch {
        return undefined;
      }
    } else if (seg !== val) return undefined;
  }
  return params;
}

function send(res: http.ServerResponse, status: number, body: string, headers: Record<string, string | number | boolean> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*', ...headers });
  res.end(body);
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function createGateway(opts: GatewayOptions): http.Server {
  return http.createServer((req, res) => {
    void handle(opts, req, res).catch(() => {
      if (!res.headersSent) send(res, 500, JSON.stringify({ error: 'Internal server error', message: 'gateway failure' }));
      else res.end();
    });
  });
}

async function handle(opts: GatewayOptions, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://local');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const method = (req.method ?? 'GET').toUpperCase();

  if (path === '/health' && method === 'GET') {
    send(res, 200, JSON.stringify({ status: 'ok', ...(opts.health?.() ?? {}) }));
    return;
  }
  const candidates = opts.routes.map((r) => ({ r, params: matchResource(r.resource, path) })).filter((c) => c.params);
  if (candidates.length === 0) {
    send(res, 404, JSON.stringify({ error: `No route for ${method} ${path}` }));
    return;
  }
  if (method === 'OPTIONS') {
    res.writeHead(204, {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Headers': 'Content-Type,Authorization',
      'Access-Control-Allow-Methods': [...candidates.map((c) => c.r.method as string), 'OPTIONS'].join(','),
    });
    res.end();
    return;
  }
  const hit = candidates.find((c) => c.r.method === method);
  if (!hit || !hit.params) {
    send(res, 405, JSON.stringify({ error: `Method ${method} is not allowed on ${path}` }));
    return;
  }
  const claims = await opts.verifier.verify(req.headers.authorization);
  if (!claims) {
    await readBody(req, GATEWAY_MAX_BODY);
    send(res, 401, JSON.stringify({ message: 'Unauthorized' }));
    return;
  }
  const body = await readBody(req, GATEWAY_MAX_BODY);
  if (body === 'too-large') {
    send(res, 413, JSON.stringify({ error: 'Request body exceeds the 10 MB API Gateway limit' }));
    return;
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
  const query = Object.fromEntries(url.searchParams.entries());
  const requestId = randomUUID();
  const event: APIGatewayProxyEvent = {
    resource: hit.r.resource,
    path,
    httpMethod: method,
    headers,
    multiValueHeaders: {},
    queryStringParameters: Object.keys(query).length > 0 ? query : null,
    multiValueQueryStringParameters: null,
    pathParameters: Object.keys(hit.params).length > 0 ? hit.params : null,
    stageVariables: null,
    body: body.length > 0 ? body.toString('utf8') : null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: { claims: claimsAsStrings(claims) },
      protocol: 'HTTP/1.1',
      httpMethod: method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        user: null,
        userAgent: headers['user-agent'] ?? null,
        userArn: null,
      },
      path: `/local${path}`,
      stage: 'local',
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: hit.r.resource,
    },
  };
  if (hit.r.stream && wantsEventStream(headers.accept)) {
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(new Error('client disconnected'));
    });
    res.writeHead(200, { ...SSE_HEADERS, 'Access-Control-Allow-Origin': '*' });
    res.flushHeaders();
    await hit.r.stream(event, (name, data) => res.write(sseFrame(name, data)), controller.signal);
    res.end();
    return;
  }
  const result = await hit.r.handler(event);
  const outHeaders: Record<string, string | number | boolean> = { ...(result.headers ?? {}) };
  send(res, result.statusCode, result.body, outHeaders);
}

export function listen(server: http.Server, port: number, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}
