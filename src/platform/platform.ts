/**
 * Builds the story core's dependencies from the one config object and the providers the
 * process ships: the only place where providers and stores are chosen.
 */
import { randomUUID } from 'node:crypto';
import { dynamoDocumentClient, s3Client } from '../aws/clients';
import { DynamoSessionStore } from '../aws/dynamo-session-store';
import { S3ImageStore } from '../aws/s3-image-store';
import { JobsService } from '../core/jobs-service';
import { buildOpenApi } from '../core/openapi';
import type { ImageModel, ImageStore, SessionStore, SpeechModel, TextModel } from '../core/ports';
import { ROUTES, type Route, type RouteServices } from '../core/routes';
import { StoryService } from '../core/story-service';
import type { Config } from './config';
import { modelsFor, type ProviderSet } from './providers';
import type { AgentWiring } from './agent-wiring';
import { PlatformTelemetry } from './telemetry';

export interface Platform {
  config: Config;
  story: StoryService;
  jobs: JobsService;
  telemetry: PlatformTelemetry;
  /** The route table this platform serves (the real one, or a test's extended copy). */
  routes: readonly Route[];
  /** What the route handlers call into. */
  services: RouteServices;
  /** Loads the configured providers now (a warm-up), instead of on the first request. */
  ready(): Promise<void>;
}

export interface PlatformParts {
  /** Replace a configured model (tests). */
  text?: TextModel;
  image?: ImageModel;
  speech?: SpeechModel;
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
}

export function telemetryFor(config: Config, service: string): PlatformTelemetry {
  return new PlatformTelemetry({ service, format: config.logFormat, metrics: config.metrics, environment: config.environmentName });
}

export function createPlatform(config: Config, providers: ProviderSet, parts: PlatformParts = {}): Platform {
  const telemetry = parts.telemetry ?? telemetryFor(config, parts.service ?? 'story42');
  const models = modelsFor(config, providers, telemetry);
  const images = parts.images ?? new S3ImageStore(s3Client(config), config.imagesBucket);
  const sessions = parts.sessions ?? new DynamoSessionStore(dynamoDocumentClient(config), config.sessionsTable, config.trackingTtlDays);
  const story = new StoryService({
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
  const routes = parts.routes ?? ROUTES;
  let openapi: Record<string, unknown> | undefined;
  const services: RouteServices = {
    story,
    jobs,
    agent: undefined,
    health: () => ({ status: 'ok', node: process.version, providers: story.provider, ...(services.agent ? { agent: services.agent.model } : {}), counters: Object.fromEntries(telemetry.counters), ...(parts.health?.() ?? {}) }),
    openapi: () => (openapi ??= buildOpenApi(routes)),
  };
  if (parts.agent) services.agent = parts.agent({ config, telemetry, sessions, services });
  return {
    config,
    story,
    jobs,
    telemetry,
    routes,
    services,
    ready: async () => {
      await Promise.all([parts.text ? undefined : models.text.ready(), parts.image ? undefined : models.image.ready(), parts.speech ? undefined : models.speech.ready()]);
    },
  };
}
