/**
 * The prompt service and the prompt admin API of a platform, from the config: the prompts bucket
 * (`STORY42_PROMPTS_BUCKET`, through the S3 client with the storage deadlines), the bundled
 * prompts (`prompts/`, or `STORY42_PROMPTS_DIR`), the cache TTL (`STORY42_PROMPT_CACHE_TTL_MS`)
 * and how the bucket keeps history (`STORY42_PROMPTS_HISTORY`).
 */
import { s3Client } from '../aws/clients';
import { S3PromptSource } from '../aws/s3-prompt-source';
import type { Clock, Telemetry } from '../core/ports';
import { PromptAdmin } from '../core/prompt-admin';
import { promptTextProblem } from '../core/prompt-catalogue';
import { CachedPromptService } from '../core/prompt-service';
import type { PromptService } from '../core/prompt-store';
import { BundledPrompts } from './bundled-prompts';
import type { Config } from './config';

export interface PromptParts {
  /** The prompts the routes and the agent use. */
  service: PromptService;
  /** The admin API over the bucket (and this process's cache). */
  admin: PromptAdmin;
}

/** The bundled prompts per folder: every platform of a process shares one in-memory copy. */
const bundledByDir = new Map<string, BundledPrompts>();

export function bundledPromptsFor(config: Pick<Config, 'prompts'>): BundledPrompts {
  const found = BundledPrompts.fromEnvironment(config.prompts.dir);
  const key = found.dir ?? '';
  let bundled = bundledByDir.get(key);
  if (!bundled) {
    bundled = found;
    bundledByDir.set(key, bundled);
  }
  return bundled;
}

export function promptSourceFor(config: Config): S3PromptSource | undefined {
  return config.promptsBucket ? new S3PromptSource(s3Client(config), config.promptsBucket, { history: config.prompts.history }) : undefined;
}

/** `replace`: a prompt service of the caller's own (tests) in place of the configured one; the admin API still works on the bucket. */
export function promptPartsFor(config: Config, telemetry: Pick<Telemetry, 'count' | 'log'>, replace?: PromptService, clock: Clock = { now: () => Date.now() }): PromptParts {
  const bundled = bundledPromptsFor(config);
  const source = promptSourceFor(config);
  const cached = new CachedPromptService({ source, bundled, ttlMs: config.prompts.cacheTtlMs, clock, telemetry, check: promptTextProblem });
  const service = replace ?? cached;
  return { service, admin: new PromptAdmin({ source, history: config.prompts.history, bundled, prompts: service, cacheTtlMs: config.prompts.cacheTtlMs }) };
}

/** The bundled prompts alone, never cached out of date (tools and tests that render prompts without a bucket). */
export function bundledPromptService(config: Pick<Config, 'prompts'> = { prompts: { cacheTtlMs: 0, history: 'versioning' } }): CachedPromptService {
  return new CachedPromptService({ bundled: bundledPromptsFor(config), ttlMs: Number.MAX_SAFE_INTEGER, clock: { now: () => 0 }, telemetry: { count: () => undefined, log: () => undefined } });
}
