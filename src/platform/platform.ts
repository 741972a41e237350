/**
 * Builds the story core's dependencies from the one config object: the only place where
 * providers and stores are chosen.
 */
import { randomUUID } from 'node:crypto';
import { bedrockRuntimeClient, dynamoDocumentClient, s3Client, secretsManagerClient } from '../aws/clients';
import { DynamoSessionStore } from '../aws/dynamo-session-store';
import { S3ImageStore } from '../aws/s3-image-store';
import { JobsService } from '../core/jobs-service';
import type { ImageModel, ImageStore, SessionStore, TextModel } from '../core/ports';
import { StoryService } from '../core/story-service';
import { OfflineIllustrator } from '../offline/illustrator';
import { OfflineStoryWriter } from '../offline/writer';
import { BedrockImageModel } from '../providers/bedrock-image';
import { BedrockTextModel } from '../providers/bedrock-text';
import { GeminiImageModel, secretKeySource } from '../providers/gemini-image';
import { Semaphore, type RetryPolicy } from '../providers/resilience';
import type { Config } from './config';
import { ConsoleTelemetry } from './telemetry';

export interface Platform {
  config: Config;
  story: StoryService;
  jobs: JobsService;
  telemetry: ConsoleTelemetry;
}

export function retryPolicy(config: Config): RetryPolicy {
  const m = config.models;
  return { maxAttempts: m.maxAttempts, baseDelayMs: m.backoffMs, maxDelayMs: m.maxBackoffMs, timeoutMs: m.timeoutMs };
}

export function createTextModel(config: Config): TextModel {
  switch (config.textProvider) {
    case 'offline':
      return new OfflineStoryWriter();
    case 'bedrock':
      return new BedrockTextModel(bedrockRuntimeClient(config), { policy: retryPolicy(config), limiter: new Semaphore(config.models.concurrency) });
  }
}

export function createImageModel(config: Config): ImageModel {
  switch (config.imageProvider) {
    case 'offline':
      return new OfflineIllustrator({ latencyMs: config.offlineImageLatencyMs });
    case 'bedrock':
      return new BedrockImageModel(bedrockRuntimeClient(config), config.bedrockImageModel, {
        policy: retryPolicy(config),
        limiter: new Semaphore(config.models.concurrency),
      });
    case 'gemini':
      return new GeminiImageModel(
        secretKeySource(secretsManagerClient(config), config.gemini.apiKeySecret ?? ''),
        config.gemini.model,
        config.endpoints.gemini,
        { policy: retryPolicy(config), limiter: new Semaphore(config.models.concurrency) },
      );
  }
}

export interface PlatformParts {
  text?: TextModel;
  image?: ImageModel;
  images?: ImageStore;
  sessions?: SessionStore;
  telemetry?: ConsoleTelemetry;
}

export function createPlatform(config: Config, parts: PlatformParts = {}): Platform {
  const telemetry = parts.telemetry ?? new ConsoleTelemetry();
  const images = parts.images ?? new S3ImageStore(s3Client(config), config.imagesBucket);
  const sessions = parts.sessions ?? new DynamoSessionStore(dynamoDocumentClient(config), config.sessionsTable, config.trackingTtlDays);
  const story = new StoryService({
    text: parts.text ?? createTextModel(config),
    image: parts.image ?? createImageModel(config),
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
    },
  });
  const jobs = new JobsService({ sessions, images, presignSeconds: config.presignSeconds });
  return { config, story, jobs, telemetry };
}
