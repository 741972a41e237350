/**
 * The local stand-in for API Gateway's REST front door: it matches the route table, verifies
 * the Cognito ID token as the Cognito authorizer does, builds the proxy event and invokes the
 * very Lambda handler functions, streaming their answer as API Gateway's STREAM mode does.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { pipeline } from 'node:stream/promises';
import { HttpError, notFound, unauthorized } from '../core/errors';
import { routesAt, type LambdaName, type Route } from '../core/routes';
import type { StreamingHandler } from '../lambda/runtime';
import { claimsAsStrings, type TokenVerifier } from '../platform/auth';
import { errorAnswer, findRoute, preflightHeaders, stderrLog } from '../platform/door';
import { restEvent } from './apigw-event';
import { readBody } from './http-util';
import { invokeStreaming } from './lambda-invoke';
import type { SiteHandler } from './site';

/** API Gateway's own payload limit. */
const GATEWAY_MAX_BODY = 10 * 1024 * 1024;
const tooLarge = () => new HttpError(413, 'Request body exceeds the 10 MB API Gateway limit');

export interface GatewayOptions {
  routes: readonly Route[];
  handlers: Record<LambdaName, StreamingHandler>;
  verifier: TokenVerifier;
  /** The story agent's request handler (its Express app), for the routes without a Lambda. */
  agent?: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  /** Story42 Studio (the web app) for the GETs no route takes: its files, its pages, its config.json. */
  site?: SiteHandler;
}

async function handle(opts: GatewayOptions, req: http.IncomingMessage, res: http.ServerResponse, requestId: string): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://local');
  const method = (req.method ?? 'GET').toUpperCase();
  const here = method === 'OPTIONS' ? routesAt(url.pathname, opts.routes) : [];
  if (here.length > 0) {
    res.writeHead(204, preflightHeaders(here.map((h) => h.route))).end();
    return;
  }
  const match = findRoute(opts.routes, method, url.pathname);
  if ('error' in match) {
    const { error } = match;
    const site = opts.site;
    if (!site || error.status !== 404 || (method !== 'GET' && method !== 'HEAD')) throw error;
    // No route here: the studio's file or page, or the gateway's own 404 when it has none either.
    await new Promise<void>((resolve, reject) => {
      res.once('close', resolve);
      site(req, res, (err) => reject(err ?? error));
    });
    return;
  }
  const lambda = match.route.lambda;
  if (!lambda) {
    // The agent's own routes: to the story agent, as the ALB forwards them (it verifies the token itself).
    if (!opts.agent) throw notFound(`No route for ${method} ${url.pathname}: the story agent does not run here`);
    opts.agent(req, res);
    return;
  }
  const claims = match.route.access === 'public' ? undefined : await opts.verifier.verify(req.headers.authorization);
  if (match.route.access !== 'public' && !claims) throw unauthorized();
  const headers = Object.fromEntries(Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const event = restEvent({ route: match.route, path: url.pathname, headers, query: Object.fromEntries(url.searchParams), params: match.params, body: await readBody(req, GATEWAY_MAX_BODY, tooLarge), claims: claims && claimsAsStrings(claims), requestId, sourceIp: req.socket.remoteAddress ?? '127.0.0.1' });
  const out = await invokeStreaming(opts.handlers[lambda], event, { requestId, functionName: lambda });
  res.on('close', () => res.writableFinished || out.abort());
  res.writeHead(out.statusCode, out.headers);
  res.flushHeaders();
  await pipeline(out.body, res).catch(() => undefined);
}

export function createGateway(opts: GatewayOptions): http.Server {
  return http.createServer((req, res) => {
    const requestId = randomUUID();
    handle(opts, req, res, requestId).catch((err: unknown) => {
      if (res.headersSent) return void res.end();
      const a = errorAnswer(err, requestId, stderrLog);
      res.writeHead(a.status, a.headers).end(JSON.stringify(a.body));
    });
  });
}
