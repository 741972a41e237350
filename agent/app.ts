/**
 * The Express story agent (ECS Fargate behind the ALB). A thin adapter over the same story
 * core the Lambdas use; the ALB does not authenticate, so the agent verifies ID tokens itself.
 */
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { badRequest, HttpError, payloadTooLarge, unauthorized } from '../src/core/errors';
import type { Caller } from '../src/core/ports';
import { isStoryPath, STORY_ROUTES } from '../src/core/story-service';
import type { TokenVerifier } from '../src/platform/auth';
import type { Platform } from '../src/platform/platform';
import { SSE_HEADERS, sseFrame, STREAMING_PATHS, streamStoryRoute, wantsEventStream } from '../src/platform/sse';

export interface AgentOptions {
  platform: Platform;
  verifier: TokenVerifier;
}

function callerOf(claims: Record<string, unknown>): Caller {
  const groups = claims['cognito:groups'];
  return {
    sub: String(claims.sub),
    email: typeof claims.email === 'string' ? claims.email : '',
    username: typeof claims['cognito:username'] === 'string' ? claims['cognito:username'] : String(claims.sub),
    groups: Array.isArray(groups) ? groups.map(String) : [],
  };
}

export function createAgentApp({ platform, verifier }: AgentOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', providers: platform.story.provider });
  });
  app.use(express.json({ limit: platform.config.maxBodyBytes, type: () => true }));

  app.post(Object.keys(STORY_ROUTES), async (req: Request, res: Response, next: NextFunction) => {
    const requestId = randomUUID();
    try {
      const claims = await verifier.verify(req.headers.authorization);
      if (!claims) throw unauthorized();
      const path = req.path.replace(/\/+$/, '');
      if (!isStoryPath(path)) throw badRequest('unknown route');
      const body: unknown = req.body;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('Request body must be a JSON object');
      const controller = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) controller.abort();
      });
      if (wantsEventStream(req.headers.accept) && STREAMING_PATHS.includes(path)) {
        res.writeHead(200, SSE_HEADERS);
        res.flushHeaders();
        await streamStoryRoute(platform, path, body as Record<string, unknown>, callerOf(claims), requestId, (name, data) => res.write(sseFrame(name, data)), controller.signal);
        res.end();
        return;
      }
      const out = await platform.story.call(path, body as Record<string, unknown>, { caller: callerOf(claims), requestId, signal: controller.signal });
      res.json(out);
    } catch (err) {
      next(Object.assign(err instanceof Error ? err : new Error(String(err)), { requestId }));
    }
  });

  app.use((_req, res) => {
    res.status(404).json({ error: 'Not found' });
  });

  // Express error handler: the spec's error shapes, never a stack trace.
  app.use((err: Error & { requestId?: string; type?: string; status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    const requestId = err.requestId ?? randomUUID();
    let httpErr: HttpError | undefined;
    if (err instanceof HttpError) httpErr = err;
    else if (err.type === 'entity.too.large') httpErr = payloadTooLarge(platform.config.maxBodyBytes);
    else if (err.type === 'entity.parse.failed') httpErr = badRequest('Request body must be valid JSON');
    if (httpErr) {
      res.status(httpErr.status).set(httpErr.headers).json(httpErr.body(requestId));
      return;
    }
    platform.telemetry.log('error', 'unhandled agent error', { request_id: requestId, error: `${err.name}: ${err.message}` });
    res.status(500).json({ error: 'Internal server error', message: 'An unexpected error occurred', request_id: requestId });
  });
  return app;
}
