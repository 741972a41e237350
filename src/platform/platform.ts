/**
 * Builds the story core's dependencies from the one config object and the providers the
 * process ships: the only place where providers and stores are chosen.
 */
import { randomUUID } from 'node:crypto';
import { dynamoDocumentClient, s3Client } from '../aws/clients';
import { DynamoProjectStore } from '../aws/dynamo-project-store';
import { DynamoSessionStore } from '../aws/dynamo-session-store';
import { S3CardTextStore } from '../aws/s3-card-text';
import { S3ImageStore } from '../aws/s3-image-store';
import { JobsService } from '../core/jobs-service';
import { buildOpenApi } from '../core/openapi';
import type { ChatModel, ImageModel, ImageStore, SessionStore, SpeechModel, TextModel } from '../core/ports';
import { ProjectsService } from '../core/projects-service';
import { ROUTES, type Route, type RouteServices } from '../core/routes';
import { StoryService } from '../core/story-service';
import type { PromptService } from '../core/prompt-store';
import { promptPartsFor } from './prompt-wiring';
import { ConfigError, type Config } from './config';
import { modelsFor, type ProviderSet } from './providers';
import type { AgentWiring } from './agent-wiring';
import { PlatformTelemetry } from './telemetry';

export interface Platform {
  config: Config;
  story: StoryService;
  jobs: JobsService;
  /** Projects, prompt cards and chat: present when their tables and the prompts bucket are configured. */
  projects?: ProjectsService;
  telemetry: PlatformTelemetry;
  /** The route table this platform serves (the real one, or a test's extended copy). */
  routes: readonly Route[];
  /** What the route handlers call into. */
  services: RouteServices;
  /** The prompts (cached, with the bundled fallback) the routes and the agent use. */
  prompts: PromptService;
  /** Loads the configured providers now (a warm-up), instead of on the first request. */
  ready(): Promise<void>;
}

export interface PlatformParts {
  /** Replace a configured model (tests). */
  text?: TextModel;
  image?: ImageModel;
  speech?: SpeechModel;
  chat?: ChatModel;
  images?: ImageStore;
  sessions?: SessionStore;
  telemetry?: PlatformTelemetry;
  routes?: readonly Route[];
  /** The name logs and metrics carry (the Lambda or the agent). */
  service?: string;
  /** Extra fields for GET /health (never ids or secrets: it answers without a token). */
  health?: () => Record<string, unknown>;
  /** The story agent (`agentWiring` in agent-wiring.ts): given, this platform serves the agent's routes (the Express agent, `npm start`). */
  agent?: AgentWiring;
  /** Replace the prompt service (tests); the admin API still works on the configured bucket. */
  prompts?: PromptService;
}

export function telemetryFor(config: Config, service: string): PlatformTelemetry {
  return new PlatformTelemetry({ service, format: config.logFormat, metrics: config.metrics, environment: config.environmentName });
}

export function createPlatform(config: Config, providers: ProviderSet, parts: PlatformParts = {}): Platform {
  const telemetry = parts.telemetry ?? telemetryFor(config, parts.service ?? 'story42');
  const models = modelsFor(config, providers, telemetry);
  const images = parts.images ?? new S3ImageStore(s3Client(config), config.imagesBucket);
  const sessions = parts.sessions ?? new DynamoSessionStore(dynamoDocumentClient(config), config.sessionsTable, config.trackingTtlDays);
  const prompts = promptPartsFor(config, telemetry, parts.prompts);
  const story = new StoryService({
    prompts: prompts.service,
    text: parts.text ?? models.text,
    image: parts.image ?? models.image,
    speech: parts.speech ?? models.speech,
    images,
    sessions,
    telemetry,
    clock: { now: () => Date.now() },
    newId: () => randomUUID(),
    settings: {
      allowedModels: config.allowedModels,
      defaultModelId: config.allowedModels[0] as string,
      textMaxAttempts: config.textMaxAttempts,
      imageConcurrency: config.imageConcurrency,
      presignSeconds: config.presignSeconds,
      imageWidth: config.imageSize,
      imageHeight: config.imageSize,
      speechConcurrency: config.speech.concurrency,
    },
  });
  const jobs = new JobsService({ sessions, images, presignSeconds: config.presignSeconds });
  const projects =
    config.projects && config.promptsBucket
      ? new ProjectsService({
          store: new DynamoProjectStore(dynamoDocumentClient(config), { projects: config.projects.table, cards: config.projects.cardsTable, chatHistory: config.projects.chatHistoryTable }),
          texts: new S3CardTextStore(s3Client(config), config.promptsBucket),
          chat: parts.chat ?? models.chat,
          chatModelId: config.chat.modelId,
          historyTtlDays: config.chat.historyTtlDays,
          telemetry,
          clock: { now: () => Date.now() },
          newId: () => randomUUID(),
        })
      : undefined;
  const routes = parts.routes ?? ROUTES;
  let openapi: Record<string, unknown> | undefined;
  const services: RouteServices = {
    story,
    jobs,
    prompts: prompts.admin,
    projects,
    agent: undefined,
    health: () => ({ status: 'ok', node: process.version, providers: story.provider, speech_voices: [...story.speechVoices], ...(services.agent ? { agent: services.agent.model } : {}), counters: Object.fromEntries(telemetry.counters), ...(parts.health?.() ?? {}) }),
    openapi: () => (openapi ??= buildOpenApi(routes)),
  };
  if (parts.agent) services.agent = parts.agent({ config, telemetry, sessions, services, prompts: prompts.service });
  return {
    config,
    story,
    jobs,
    projects,
    telemetry,
    routes,
    services,
    prompts: prompts.service,
    ready: async () => {
      await Promise.all([
        parts.text ? undefined : models.text.ready(),
        parts.image ? undefined : models.image.ready(),
        parts.speech ? undefined : models.speech.ready(),
        parts.chat ? undefined : models.chat.ready(),
      ]);
    },
  };
}

/** What a route needs configured beyond the sessions table and the images bucket (the route table's `needs`). */
const NEEDED: Record<'projects', { has: (c: Config) => boolean; variables: string }> = {
  projects: {
    has: (c) => c.projects !== undefined && c.promptsBucket !== undefined,
    variables: 'STORY42_PROJECTS_TABLE, STORY42_PROMPT_CARDS_TABLE, STORY42_CHAT_HISTORY_TABLE and STORY42_PROMPTS_BUCKET',
  },
};

/** Fails (a ConfigError) when the config lacks what the routes a process serves need: each Lambda checks its own at start. */
export function checkRouteNeeds(config: Config, routes: readonly Route[]): void {
  for (const [need, { has, variables }] of Object.entries(NEEDED) as Array<[keyof typeof NEEDED, (typeof NEEDED)[keyof typeof NEEDED]]>) {
    const served = routes.filter((r) => r.needs?.includes(need));
    if (served.length > 0 && !has(config)) {
      throw new ConfigError(`Invalid configuration:\n  - ${variables} must be set: this process serves ${served.map((r) => r.name).join(', ')}`);
    }
  }
}
