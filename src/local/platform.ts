/**
 * The whole platform on one machine: local AWS servers, the Lambda handlers they back, and
 * the gateway in front. `npm start`, the tests and the bench all use this.
 */
import type http from 'node:http';
import { LAMBDA_NAMES, type LambdaName } from '../core/routes';
import { lambdaHandler } from '../lambda/adapter';
import type { StreamingHandler } from '../lambda/runtime';
import { TokenVerifier } from '../platform/auth';
import { loadConfig } from '../platform/config';
import type { Platform, PlatformParts } from '../platform/platform';
import { createGateway } from './gateway';
import { closeServer, listenAt } from './http-util';
import { createLocalPlatform } from './providers';
import { startLocalServices, type LocalPorts, type LocalServices } from './services';

/** The three Lambda functions, each the very handler the Lambda exports, over this platform. */
export function lambdaHandlers(platform: Platform): Record<LambdaName, StreamingHandler> {
  return Object.fromEntries(LAMBDA_NAMES.map((name) => [name, lambdaHandler(name, () => platform)])) as Record<LambdaName, StreamingHandler>;
}

export interface RunningGateway {
  url: string;
  port: number;
  server: http.Server;
  stop(): Promise<void>;
}

/** Serves a platform through the local gateway (on loopback), with the Lambda handlers built over it. */
export async function serveGateway(platform: Platform, port = 0, host = '127.0.0.1'): Promise<RunningGateway> {
  if (!platform.config.auth) throw new Error('token verification settings (STORY42_COGNITO_*) are missing');
  const server = createGateway({ routes: platform.routes, handlers: lambdaHandlers(platform), verifier: new TokenVerifier(platform.config.auth) });
  const url = await listenAt(server, port, host);
  return { url, port: Number(new URL(url).port), server, stop: () => closeServer(server) };
}

export interface LocalPlatform {
  url: string;
  port: number;
  services: LocalServices;
  platform: Platform;
  stop(): Promise<void>;
}

export interface LocalPlatformOptions {
  dataDir: string;
  port: number;
  /** The gateway's bind address: a loopback address (start.ts refuses any other). */
  host?: string;
  ports: LocalPorts;
  parts?: PlatformParts;
}

/** Starts everything: the local AWS servers, then the platform and its gateway. */
export async function startLocalPlatform(opts: LocalPlatformOptions): Promise<LocalPlatform> {
  const services = await startLocalServices({ dataDir: opts.dataDir, ports: opts.ports });
  try {
    const config = loadConfig({ STORY42_LOG_FORMAT: 'readable', STORY42_METRICS: 'off', ...process.env, ...services.env });
    const platform = createLocalPlatform(config, opts.parts);
    await platform.ready();
    const gateway = await serveGateway(platform, opts.port, opts.host);
    return {
      url: gateway.url,
      port: gateway.port,
      services,
      platform,
      stop: async () => {
        await gateway.stop();
        await services.stop();
      },
    };
  } catch (err) {
    await services.stop();
    throw err;
  }
}
