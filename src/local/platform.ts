/**
 * The whole platform on one machine: local AWS servers, the Lambda handlers they back,
 * and the gateway in front. `npm start`, the tests and the bench all use this.
 */
import type http from 'node:http';
import { dataOpsHandler, handler as dataOps } from '../lambda/data-ops';
import { storyRoutesHandler } from '../lambda/story-routes';
import { callerFromEvent, errorResult, parseJsonBody, platformFromEnv, requestIdOf, routeOf, type RouteHandler } from '../lambda/apigw';
import { isStoryPath } from '../core/story-service';
import { STREAMING_PATHS, streamStoryRoute } from '../platform/sse';
import { handler as imageRegen, IMAGE_ROUTES } from '../lambda/image-regen';
import { handler as textRegen, TEXT_ROUTES } from '../lambda/text-regen';
import { TokenVerifier } from '../platform/auth';
import { loadConfig } from '../platform/config';
import type { Platform } from '../platform/platform';
import { createGateway, listen, type GatewayRoute, type StreamHandler } from './gateway';
import { closeServer } from './http-util';
import { startLocalServices, type LocalPorts, type LocalServices } from './services';

/** SSE for the long routes, over the same identity and body rules as the Lambda handlers. */
export function storyStreamHandler(getPlatform: () => Platform): StreamHandler {
  return async (event, send, signal) => {
    const requestId = requestIdOf(event);
    const platform = getPlatform();
    try {
      const caller = callerFromEvent(event);
      const body = parseJsonBody(event, platform.config.maxBodyBytes);
      const path = routeOf(event);
      if (!isStoryPath(path)) throw new Error(`not a story route: ${path}`);
      await streamStoryRoute(platform, path, body, caller, requestId, send, signal);
    } catch (err) {
      const res = errorResult(err, requestId, (msg, fields) => platform.telemetry.log('error', msg, fields));
      send('error', { status: res.statusCode, ...(JSON.parse(res.body) as Record<string, unknown>) });
    }
  };
}

/** The API's routes as API Gateway wires them to the three Lambda functions (+ SSE locally). */
export function gatewayRoutes(text: RouteHandler, image: RouteHandler, data: RouteHandler, stream?: StreamHandler): GatewayRoute[] {
  const withStream = (resource: string) => (stream && (STREAMING_PATHS as readonly string[]).includes(resource) ? { stream } : {});
  return [
    ...TEXT_ROUTES.map((resource) => ({ method: 'POST' as const, resource, handler: text, ...withStream(resource) })),
    ...IMAGE_ROUTES.map((resource) => ({ method: 'POST' as const, resource, handler: image, ...withStream(resource) })),
    { method: 'GET', resource: '/jobs', handler: data },
    { method: 'GET', resource: '/jobs/{job_id}', handler: data },
    { method: 'DELETE', resource: '/jobs/{job_id}', handler: data },
  ];
}

export const LOCAL_ROUTES: GatewayRoute[] = gatewayRoutes(textRegen, imageRegen, dataOps, storyStreamHandler(platformFromEnv));

export interface RunningGateway {
  url: string;
  port: number;
  server: http.Server;
  stop(): Promise<void>;
}

/** Serves a platform through the local gateway, with handlers built over that platform. */
export async function serveGateway(platform: Platform, port = 0, health?: () => Record<string, unknown>): Promise<RunningGateway> {
  if (!platform.config.auth) throw new Error('token verification settings (STORY42_COGNITO_*) are missing');
  const get = () => platform;
  const server = createGateway({
    routes: gatewayRoutes(storyRoutesHandler(TEXT_ROUTES, get), storyRoutesHandler(IMAGE_ROUTES, get), dataOpsHandler(get), storyStreamHandler(get)),
    verifier: new TokenVerifier(platform.config.auth),
    health,
  });
  const bound = await listen(server, port);
  return { url: `http://127.0.0.1:${bound}`, port: bound, server, stop: () => closeServer(server) };
}


export interface LocalPlatform {
  url: string;
  port: number;
  services: LocalServices;
  platform: Platform;
  gateway: http.Server;
  stop(): Promise<void>;
}

export interface LocalPlatformOptions {
  dataDir: string;
  port: number;
  ports: LocalPorts;
}

/**
 * Starts everything. The Lambda handlers read their configuration from `process.env`, just
 * as in AWS, so the local servers' addresses are placed there before the first call.
 */
export async function startLocalPlatform(opts: LocalPlatformOptions): Promise<LocalPlatform> {
  const services = await startLocalServices({ dataDir: opts.dataDir, ports: opts.ports });
  try {
    Object.assign(process.env, services.env);
    const config = loadConfig(process.env);
    const platform = platformFromEnv();
    if (!config.auth) throw new Error('local Cognito settings missing');
    const verifier = new TokenVerifier(config.auth);
    const gateway = createGateway({
      routes: LOCAL_ROUTES,
      verifier,
      health: () => ({
        providers: platform.story.provider,
        cognito: { endpoint: `http://127.0.0.1:${services.ports.cognito}`, user_pool_id: services.userPoolId, client_id: services.clientId },
        counters: Object.fromEntries(platform.telemetry.counters),
      }),
    });
    const port = await listen(gateway, opts.port);
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      services,
      platform,
      gateway,
      stop: async () => {
        await closeServer(gateway);
        await services.stop();
      },
    };
  } catch (err) {
    await services.stop();
    throw err;
  }
}
