/**
 * The Express door of the story agent (ECS Fargate behind the ALB): the route table's agent
 * routes over the same story core as the Lambdas. The ALB does not authenticate, so the agent
 * verifies ID tokens itself — before it reads the body.
 */
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { badRequest, notFound, payloadTooLarge, unauthorized } from '../src/core/errors';
import type { Route } from '../src/core/routes';
import type { TokenVerifier } from '../src/platform/auth';
import { errorAnswer, preflightHeaders, serveRoute, type ResponseSink } from '../src/platform/door';
import type { Platform } from '../src/platform/platform';

export interface AgentOptions {
  platform: Platform;
  verifier: TokenVerifier;
}

const sinkOver = (res: Response): ResponseSink => ({ start: (status, headers) => void res.writeHead(status, headers).flushHeaders(), write: (chunk) => void res.write(chunk), end: () => void res.end() });
const firstValues = (query: Record<string, unknown>) => Object.fromEntries(Object.entries(query).map(([k, v]) => [k, Array.isArray(v) ? String(v[0]) : typeof v === 'string' ? v : undefined]));

const EXPRESS_METHOD = { GET: 'get', POST: 'post', PUT: 'put', DELETE: 'delete' } as const satisfies Record<Route['method'], string>;

export function createAgentApp({ platform, verifier }: AgentOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  const routes = platform.routes.filter((r) => r.agent);
  const expressPath = (r: Route) => r.path.replace(/\{(\w+)\}/g, ':$1');
  const authenticate = (route: Route) => async (req: Request, res: Response, next: NextFunction) => {
    if (route.access === 'public') return next();
    const claims = await verifier.verify(req.headers.authorization);
    if (!claims) return next(unauthorized());
    res.locals.claims = claims;
    next();
  };
  const serve = (route: Route) => async (req: Request, res: Response) => {
    const controller = new AbortController();
    res.on('close', () => res.writableFinished || controller.abort(new Error('client disconnected')));
    const body: unknown = req.body;
    await serveRoute(platform, { route, params: firstValues(req.params), query: firstValues(req.query), accept: req.headers.accept, body: Buffer.isBuffer(body) ? body : undefined, claims: res.locals.claims, requestId: randomUUID(), signal: controller.signal }, sinkOver(res));
  };
  const rawBody = express.raw({ type: () => true, limit: platform.config.maxBodyBytes });
  for (const route of routes) {
    app[EXPRESS_METHOD[route.method]](expressPath(route), authenticate(route), rawBody, serve(route));
  }
  for (const path of new Set(routes.map(expressPath))) {
    const preflight = preflightHeaders(routes.filter((r) => expressPath(r) === path));
    app.options(path, (_req, res) => void res.set(preflight).status(204).end());
  }
  app.use((req, _res, next) => next(notFound(`No route for ${req.method} ${req.path}`)));
  // Express's error handler: the spec's error shapes, never a stack trace.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const type = (err as { type?: string }).type;
    const mapped = type === 'entity.too.large' ? payloadTooLarge(platform.config.maxBodyBytes) : type === 'entity.verify.failed' || type === 'request.aborted' ? badRequest('The request body could not be read') : err;
    const a = errorAnswer(mapped, randomUUID(), (message, fields) => platform.telemetry.log('error', message, fields));
    res.status(a.status).set(a.headers).json(a.body);
  });
  return app;
}
