/**
 * The story agent's parts — its session store (S3), its web search (the configured engine) and
 * its loop — wired into a platform. Only the processes that run the agent (the Express agent,
 * `npm start`, tests) import this, so no Lambda bundle carries them.
 */
import { randomUUID } from 'node:crypto';
import { s3Client } from '../aws/clients';
import { S3AgentSessionStore } from '../aws/s3-agent-sessions';
import { AgentService, type AgentRunner } from '../core/agent-service';
import type { AgentSessionStore } from '../core/artifacts';
import type { SessionStore, WebSearch } from '../core/ports';
import type { PromptService } from '../core/prompt-store';
import type { RouteServices } from '../core/routes';
import type { Config } from './config';
import { AWS_SEARCH, webSearchFor, type SearchEngines } from './search-providers';
import type { PlatformTelemetry } from './telemetry';

export interface AgentWiringContext {
  config: Config;
  telemetry: PlatformTelemetry;
  sessions: SessionStore;
  services: RouteServices;
  /** The platform's prompts (the agent's system prompt). */
  prompts: PromptService;
}

/** Builds the agent's service over a platform's services and stores. */
export type AgentWiring = (ctx: AgentWiringContext) => AgentService;

/** `engines`: the web search engines this process ships (a deployed agent: DuckDuckGo only). */
export function agentWiring(runner: AgentRunner, engines: SearchEngines = AWS_SEARCH, replace: { sessions?: AgentSessionStore; search?: WebSearch } = {}): AgentWiring {
  return ({ config, telemetry, sessions, services, prompts }) =>
    new AgentService({
      prompts,
      services,
      runner,
      sessions: replace.sessions ?? new S3AgentSessionStore(s3Client(config), config.imagesBucket, sessions, { now: () => Date.now() }, config.presignSeconds, { telemetry }),
      search: replace.search ?? webSearchFor(config, telemetry, engines),
      newId: () => randomUUID(),
      presignSeconds: config.presignSeconds,
      telemetry,
      turnTimeoutMs: config.agent.turnTimeoutMs,
    });
}
