/**
 * Per environment/region settings: `environments/<env>/<region>.json`, validated by one zod
 * schema. A bad file fails synth with a message naming the file and the field.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/** The retention periods CloudWatch Logs accepts. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653];

const positive = (max: number) => z.number().int().min(1).max(max);

export const environmentSchema = z
  .object({
    project_name: z.string().regex(/^[a-z][a-z0-9-]{1,20}$/, { error: 'must be 2-21 lowercase letters, digits or "-"' }),
    environment: z.string().regex(/^[a-z][a-z0-9]{1,9}$/, { error: 'must be 2-10 lowercase letters or digits' }),
    region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, { error: 'must be an AWS region such as us-west-2' }),
    admin_email: z.email(),
    images_ready: z.boolean(),
    image_tag: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,128}$/)
      .refine((t) => t !== 'latest', { error: 'must name a pushed image, not "latest"' }),
    providers: z.object({ text: z.enum(['bedrock', 'offline']), image: z.enum(['bedrock', 'gemini', 'offline']) }),
    allowed_models: z.array(z.string().min(3)).min(1),
    lambda: z.object({
      memory_mb: z.number().int().min(128).max(10240),
      timeout_seconds: positive(900),
      image_memory_mb: z.number().int().min(128).max(10240),
      image_timeout_seconds: positive(900),
    }),
    api: z.object({
      integration_timeout_ms: z.number().int().min(50).max(300000),
      throttle_rate_limit: positive(10000),
      throttle_burst_limit: positive(5000),
    }),
    ecs: z.object({
      cpu: z.union([z.literal(256), z.literal(512), z.literal(1024), z.literal(2048), z.literal(4096)]),
      memory_mb: z.number().int().min(512).max(30720),
      desired_count: z.number().int().min(0).max(50),
      container_port: z.number().int().min(1024).max(65535),
    }),
    network: z.object({
      vpc_cidr: z.string().regex(/^\d+\.\d+\.0\.0\/16$/, { error: 'must be a /16 such as 10.42.0.0/16' }),
      private_subnets_with_nat: z.boolean(),
    }),
    domain: z
      .object({
        name: z.string().min(3),
        certificate_arn: z.string().regex(/^arn:aws:acm:[a-z0-9-]+:\d{12}:certificate\/.+$/, { error: 'must be an ACM certificate ARN' }),
        /** For CloudFront the certificate must live in us-east-1. */
        cloudfront_certificate_arn: z.string().regex(/^arn:aws:acm:us-east-1:\d{12}:certificate\/.+$/, { error: 'must be an ACM certificate ARN in us-east-1' }).optional(),
        hosted_zone_id: z.string().min(1).optional(),
      })
      .optional(),
    ecr_keep_images: positive(1000),
    image_retention_days: positive(3650),
    log_retention_days: z
      .number()
      .int()
      .refine((n) => LOG_RETENTION_DAYS.includes(n), { error: `must be one of CloudWatch's values: ${LOG_RETENTION_DAYS.join(', ')}` }),
    alarm_email: z.email().optional(),
    state_backend: z.object({ bucket: z.string().min(3), lock_table: z.string().min(3), key_prefix: z.string().min(1) }).optional(),
  })
  .strict();

export type EnvironmentConfig = z.infer<typeof environmentSchema>;

export class EnvironmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvironmentError';
  }
}

export function stackName(cfg: Pick<EnvironmentConfig, 'project_name' | 'environment' | 'region'>): string {
  return `${cfg.project_name}-${cfg.environment}-${cfg.region}`;
}

/** Parses one environment file; errors name the file and the field. */
export interface Overrides {
  images_ready?: boolean;
  image_tag?: string;
}

export function parseEnvironment(file: string, text: string, overrides: Overrides = {}): EnvironmentConfig {
  let raw: unknown;
  try {
    raw = { ...(JSON.parse(text) as Record<string, unknown>), ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
  } catch (err) {
    throw new EnvironmentError(`${file}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const parsed = environmentSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${file}: ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new EnvironmentError(lines.join('\n'));
  }
  const cfg = parsed.data;
  const [envDir, regionFile] = file.split(path.sep).slice(-2);
  if (envDir !== cfg.environment || regionFile !== `${cfg.region}.json`) {
    throw new EnvironmentError(`${file}: environment/region fields (${cfg.environment}/${cfg.region}) must match the file's path`);
  }
  return cfg;
}

/** `IMAGES_READY=true|false` and `IMAGE_TAG=<tag>` override the files for one synth. */
export function overridesFromEnv(env: Record<string, string | undefined>): Overrides {
  const ready = env.IMAGES_READY;
  if (ready !== undefined && ready !== '' && ready !== 'true' && ready !== 'false') {
    throw new EnvironmentError(`IMAGES_READY must be "true" or "false" (got "${ready}")`);
  }
  return {
    images_ready: ready === 'true' ? true : ready === 'false' ? false : undefined,
    image_tag: env.IMAGE_TAG || undefined,
  };
}

/** Every `environments/<env>/<region>.json`, optionally only those whose stack name or env matches. */
export function loadEnvironments(dir: string, only?: string, overrides: Overrides = {}): EnvironmentConfig[] {
  if (!existsSync(dir)) throw new EnvironmentError(`${dir}: no environments folder`);
  const out: EnvironmentConfig[] = [];
  for (const env of readdirSync(dir).sort()) {
    const envDir = path.join(dir, env);
    for (const f of readdirSync(envDir).filter((n) => n.endsWith('.json')).sort()) {
      const file = path.join(envDir, f);
      const cfg = parseEnvironment(file, readFileSync(file, 'utf8'), overrides);
      if (!only || only === stackName(cfg) || only === cfg.environment || only === `${cfg.environment}/${cfg.region}`) out.push(cfg);
    }
  }
  if (out.length === 0) throw new EnvironmentError(`no environment matches "${only ?? '*'}" in ${dir}`);
  return out;
}
