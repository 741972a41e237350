/**
 * The whole platform on one machine: local AWS servers, the Lambda handlers they back, and
 * the gateway in front. `npm start`, the tests and the bench all use this.
 */
import type http from 'node:http';
import { createAgentApp } from '../../agent/app';
import { LAMBDA_NAMES, type LambdaName } from '../core/routes';
import { lambdaHandler } from '../lambda/adapter';
import type { StreamingHandler } from '../lambda/runtime';
import { TokenVerifier } from '../platform/auth';
import { loadConfig, type Config } from '../platform/config';
import type { Platform, PlatformParts } from '../platform/platform';
import { LocalBedrockServer } from './bedrock-server';
import { createGateway } from './gateway';
import { closeServer, listenAt } from './http-util';
import { createLocalPlatform } from './providers';
import { siteHandler, type SiteHandler } from './site';
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

/**
 * Serves a platform through the local gateway (on loopback), with the Lambda handlers built over
 * it — and, when the platform runs the story agent, the agent's Express app for its own routes.
 */
export async function serveGateway(platform: Platform, port = 0, host = '127.0.0.1', site?: SiteHandler): Promise<RunningGateway> {
  if (!platform.config.auth) throw new Error('token verification settings (STORY42_COGNITO_*) are missing');
  const verifier = new TokenVerifier(platform.config.auth);
  const agent = platform.services.agent ? createAgentApp({ platform, verifier }) : undefined;
  const server = createGateway({ routes: platform.routes, handlers: lambdaHandlers(platform), verifier, agent, site });
  const url = await listenAt(server, port, host);
  return { url, port: Number(new URL(url).port), server, stop: () => closeServer(server) };
}

export interface LocalPlatform {
  url: string;
  port: number;
  services: LocalServices;
  platform: Platform;
  /** The local Bedrock server playing the agent's model, when no Bedrock endpoint was configured for it. */
  agentModel?: { url: string; server: LocalBedrockServer };
  stop(): Promise<void>;
}

export interface LocalPlatformOptions {
  dataDir: string;
  port: number;
  /** The gateway's bind address: a loopback address (start.ts refuses any other). */
  host?: string;
  ports: LocalPorts;
  parts?: PlatformParts;
  /** Where the built studio is (default web/dist). */
  studioDir?: string;
}

/** Starts everything: the local AWS servers, then the platform and its gateway. */
export async function startLocalPlatform(opts: LocalPlatformOptions): Promise<LocalPlatform> {
  const services = await startLocalServices({ dataDir: opts.dataDir, ports: opts.ports });
  let agentModel: LocalBedrockServer | undefined;
  try {
    let config = loadConfig({ STORY42_LOG_FORMAT: 'readable', STORY42_METRICS: 'off', ...process.env, ...services.env });
    // The agent thinks with a Bedrock model. With no AWS in play (offline text, no Bedrock
    // endpoint) that is the local Bedrock server playing the agent's model, and results say so.
    if (!config.agent.endpoint && config.textProvider === 'offline') {
      agentModel = new LocalBedrockServer();
      const url = await agentModel.listen();
      config = { ...config, agent: { ...config.agent, endpoint: url } };
    }
    const { localStoryAgent } = await import('./story-agent.js');
    const platform = createLocalPlatform(config, { agent: localStoryAgent(config, agentModel ? 'local Bedrock server' : undefined), ...opts.parts });
    await platform.ready();
    const site = siteHandler({
      ...(opts.studioDir ? { dir: opts.studioDir } : {}),
      region: config.region,
      userPoolId: services.userPoolId,
      clientId: services.clientId,
      cognitoOrigin: `http://127.0.0.1:${services.ports.cognito}`,
      s3Origin: `http://127.0.0.1:${services.ports.s3}`,
    });
    const gateway = await serveGateway(platform, opts.port, opts.host, site);
    const model = agentModel;
    return {
      url: gateway.url,
      port: gateway.port,
      services,
      platform,
      ...(model && config.agent.endpoint ? { agentModel: { url: config.agent.endpoint, server: model } } : {}),
      stop: async () => {
        await gateway.stop();
        await model?.close();
        await services.stop();
      },
    };
  } catch (err) {
    await agentModel?.close();
    await services.stop();
    throw err;
  }
}
