/**
 * Per environment/region settings: `environments/<env>/<region>.json`, validated by one zod
 * schema. A bad file fails synth with a message naming the file and the field.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_MODELS, loadConfig } from '../src/platform/config';
import { modelsOfferedIn, offeredIn } from './bedrock-models';

/** The speech providers a deployed environment can run (`offline` is local only). */
export const SPEECH_PROVIDERS = ['polly', 'external'] as const;
export type SpeechProvider = (typeof SPEECH_PROVIDERS)[number];

/** The retention periods CloudWatch Logs accepts. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653];

/** Fargate's valid task sizes: cpu units -> memory range (MiB) and step. */
const FARGATE_MEMORY: Record<number, { min: number; max: number; step: number }> = {
  256: { min: 512, max: 2048, step: 512 },
  512: { min: 1024, max: 4096, step: 1024 },
  1024: { min: 2048, max: 8192, step: 1024 },
  2048: { min: 4096, max: 16384, step: 1024 },
  4096: { min: 8192, max: 30720, step: 1024 },
};

/**
 * `<project>-<env>-<region>` prefixes every resource name. ALB and target-group names are
 * capped at 32 characters and we append at most "-alb", so the prefix may be 28 long.
 */
export const MAX_PREFIX_LENGTH = 28;

const positive = (max: number) => z.number().int().min(1).max(max);

/**
 * How often the agent writes an SSE comment on an open stream (a keep-alive). The ALB idle
 * timeout must leave room for several of them (see `agent.idle_timeout_seconds`).
 */
export const AGENT_SSE_KEEPALIVE_SECONDS = 15;
/** The ALB accepts idle timeouts of 1-4000 seconds; below 4 keep-alives a stream would be at risk. */
const AGENT_IDLE_TIMEOUT = { min: 4 * AGENT_SSE_KEEPALIVE_SECONDS, max: 4000, fallback: 900 } as const;
/** The agent's web search settings: the application's ranges and defaults (`loadSearchConfig`). */
const SEARCH_CACHE_TTL = { min: 60, max: 30 * 86400, fallback: 86400 } as const;
const SEARCH_BUDGET = { min: 2, max: 10_000, fallback: 30 } as const;
/** STORY42_PROMPT_CACHE_TTL_MS: how long a process serves a prompt before asking the bucket again (a conditional GET). */
const PROMPT_CACHE_TTL_MS = { min: 1000, max: 3_600_000, fallback: 300_000 } as const;
/** The prompts bucket's old versions: days a version is kept once replaced, and how many replaced versions are kept at most. */
const PROMPT_NONCURRENT_DAYS = { min: 1, max: 3650, fallback: 90 } as const;
/** S3 accepts 1-100 for NewerNoncurrentVersions. */
/** STORY42_CHAT_HISTORY_TTL_DAYS: how long a chat message stays in the chat history table (its `expires_at`). */
const CHAT_HISTORY_TTL_DAYS = { min: 1, max: 3650, fallback: 90 } as const;
const intIn = (r: { min: number; max: number }) => z.number().int().min(r.min).max(r.max);

/** `bedrock/` is the application's provider prefix; the grants and the agent take the bare Bedrock id. */
export const bareModelId = (id: string): string => id.replace(/^bedrock\//, '');
/**
 * A Bedrock model id (`amazon.nova-canvas-v1:0`) or a system-defined cross-region inference
 * profile id (`us.amazon.nova-pro-v1:0`), with or without `bedrock/`. Not an ARN: the IAM grants
 * are built from the id (terraform/access.ts).
 */
const modelId = z
  .string()
  .regex(/^[A-Za-z0-9/._:-]{3,200}$/, { error: 'must be a Bedrock model id' })
  .refine((v) => !bareModelId(v).startsWith('arn:'), { error: 'must be a Bedrock model id or inference profile id, not an ARN (the IAM grants are built from the id)' });
const certificateArn = z.string().regex(/^arn:aws:acm:[a-z0-9-]+:\d{12}:certificate\/.+$/, { error: 'must be an ACM certificate ARN' });
/** Words Cognito refuses in a hosted-UI domain prefix. */
export const COGNITO_DOMAIN_FORBIDDEN = ['aws', 'amazon', 'cognito'] as const;
/** WAF rate-based rules count requests over 5 minutes and accept limits of 10 or more. */
const WAF_LIMIT = { min: 10, max: 2_000_000_000 } as const;
export const WAF_DEFAULTS = { requests_per_user_5min: 1000, requests_per_ip_5min: 3000 } as const;
const hostname = z.string().regex(/^(?=.{3,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, { error: 'must be a lowercase DNS name such as stories.example.com' });

export const environmentSchema = z
  .object({
    project_name: z.string().regex(/^[a-z][a-z0-9-]{1,20}$/, { error: 'must be 2-21 lowercase letters, digits or "-"' }),
    environment: z.string().regex(/^[a-z][a-z0-9]{1,9}$/, { error: 'must be 2-10 lowercase letters or digits' }),
    region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, { error: 'must be an AWS region such as us-west-2' }),
    admin_email: z.email(),
    images_ready: z.boolean(),
    image_tag: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,128}$/, { error: 'must be an image tag (letters, digits, "_", ".", "-")' })
      .refine((t) => t !== 'latest', { error: 'must name a pushed image, not "latest"' }),
    /** STORY42_TEXT_PROVIDER / STORY42_IMAGE_PROVIDER in AWS: text is Bedrock; images Bedrock (Nova Canvas) or Gemini. */
    providers: z
      .object({ text: z.literal('bedrock').default('bedrock'), image: z.enum(['bedrock', 'gemini']).default('bedrock') })
      .strict()
      .default({ text: 'bedrock', image: 'bedrock' }),
    /** STORY42_ALLOWED_MODELS (Bedrock model ids, with or without the `bedrock/` prefix); the application's default list when absent. */
    allowed_models: z.array(modelId).min(1).optional(),
    /**
     * STORY42_BEDROCK_IMAGE_MODEL: the Bedrock image model (the application's default, Nova Canvas,
     * when absent). It must be offered in the stack's region (terraform/bedrock-models.ts).
     */
    bedrock_image_model: modelId.optional(),
    /**
     * Per-user limits: a WAF web ACL on the API stage and the agent's ALB. Requests are counted
     * per 5 minutes per bearer token (Authorization header: one signed-in user's session) and,
     * as a fallback for requests without a token and for token rotation, per client IP.
     */
    waf: z
      .object({
        requests_per_user_5min: intIn(WAF_LIMIT).default(WAF_DEFAULTS.requests_per_user_5min),
        requests_per_ip_5min: intIn(WAF_LIMIT).default(WAF_DEFAULTS.requests_per_ip_5min),
      })
      .strict()
      .default({ ...WAF_DEFAULTS }),
    /**
     * HTTPS on the agent's ALB without a custom site domain (for example dev): an ACM certificate in
     * this region and the host name it covers, which you point at the ALB (CNAME). Absent (and no
     * domain.certificate_arn): the ALB serves plain HTTP, reached only through CloudFront (/agent/*).
     */
    alb: z.object({ certificate_arn: certificateArn, host: hostname }).strict().optional(),
    /** STORY42_IMAGE_CONCURRENCY: images generated at once per request. */
    image_concurrency: z.number().int().min(1).max(32).default(6),
    /**
     * Narration (STORY42_SPEECH_*): Amazon Polly (neural voices) or the external TTS API, whose key
     * is the `<prefix>/tts-api-key` secret. `offline` is local only (not in the Lambda/agent images).
     */
    speech: z
      .object({
        provider: z
          .enum(SPEECH_PROVIDERS, {
            error: (issue) =>
              issue.input === 'offline'
                ? 'offline is the local speech engine and is not in the Lambda or agent images; use "polly" or "external"'
                : `must be one of: ${SPEECH_PROVIDERS.join(', ')}`,
          })
          .default('polly'),
        /** STORY42_SPEECH_VOICES: the voice ids to cast from (the provider's own list when absent). */
        voices: z
          .array(z.string().regex(/^[A-Za-z0-9_.+-]{1,64}$/, { error: 'must be a voice id (letters, digits, "_", ".", "+", "-")' }))
          .min(2, { error: 'must list 2 to 32 voice ids' })
          .max(32, { error: 'must list 2 to 32 voice ids' })
          .refine((v) => new Set(v).size === v.length, { error: 'must not repeat a voice' })
          .refine((v) => v.join(',').length <= 2000, { error: 'must be at most 2000 characters comma-joined' })
          .optional(),
        /** STORY42_SPEECH_CONCURRENCY: sections synthesized at once (the application's default, 4, when absent). */
        concurrency: z.number().int().min(1).max(32).optional(),
      })
      .strict()
      .default({ provider: 'polly' }),
    /**
     * The story agent (ECS): its own model (STORY42_AGENT_MODEL; one of the allowed models, the
     * first by default), its web search (DuckDuckGo, cached in the search cache table) and the
     * ALB idle timeout its streams live with.
     */
    agent: z
      .object({
        model: modelId.optional(),
        search: z
          .object({
            /** STORY42_SEARCH_CACHE_TTL_SECONDS: how long a cached result set is served. */
            cache_ttl_seconds: z.number().int().min(SEARCH_CACHE_TTL.min).max(SEARCH_CACHE_TTL.max).default(SEARCH_CACHE_TTL.fallback),
            /** STORY42_SEARCH_BUDGET_PER_MINUTE: DuckDuckGo requests per minute per task. */
            budget_per_minute: z.number().int().min(SEARCH_BUDGET.min).max(SEARCH_BUDGET.max).default(SEARCH_BUDGET.fallback),
          })
          .strict()
          .default({ cache_ttl_seconds: SEARCH_CACHE_TTL.fallback, budget_per_minute: SEARCH_BUDGET.fallback }),
        /** The ALB's idle timeout (seconds): how long a connection may carry no bytes either way. */
        idle_timeout_seconds: z.number().int().min(AGENT_IDLE_TIMEOUT.min).max(AGENT_IDLE_TIMEOUT.max).default(AGENT_IDLE_TIMEOUT.fallback),
      })
      .strict()
      .default({ search: { cache_ttl_seconds: SEARCH_CACHE_TTL.fallback, budget_per_minute: SEARCH_BUDGET.fallback }, idle_timeout_seconds: AGENT_IDLE_TIMEOUT.fallback }),
    /**
     * Prompts as data (the prompts bucket, `prompts/<assistant>/<name>.md`): the processes' cache
     * and how much history of each prompt the bucket keeps.
     */
    prompts: z
      .object({
        /** STORY42_PROMPT_CACHE_TTL_MS, in every Lambda and the agent. */
        cache_ttl_ms: intIn(PROMPT_CACHE_TTL_MS).default(PROMPT_CACHE_TTL_MS.fallback),
        /** A replaced (noncurrent) version of any object in the prompts bucket expires this many days after it was replaced. */
        noncurrent_version_days: intIn(PROMPT_NONCURRENT_DAYS).default(PROMPT_NONCURRENT_DAYS.fallback),
      })
      .strict()
      .default({ cache_ttl_ms: PROMPT_CACHE_TTL_MS.fallback, noncurrent_version_days: PROMPT_NONCURRENT_DAYS.fallback }),
    /** Project chat (POST /projects/{id}/chat on text-regen; history reads and deletes on data-ops). */
    chat: z
      .object({
        /** STORY42_CHAT_HISTORY_TTL_DAYS, to data-ops and text-regen. */
        history_ttl_days: intIn(CHAT_HISTORY_TTL_DAYS).default(CHAT_HISTORY_TTL_DAYS.fallback),
      })
      .strict()
      .default({ history_ttl_days: CHAT_HISTORY_TTL_DAYS.fallback }),
    lambda: z
      .object({
        memory_mb: z.number().int().min(128).max(10240),
        timeout_seconds: positive(900),
        image_memory_mb: z.number().int().min(128).max(10240),
        image_timeout_seconds: positive(900),
      })
      .strict(),
    api: z
      .object({
        /** The longest any API integration waits; each route waits at most as long as its Lambda may run. Response streaming allows up to 15 minutes. */
        integration_timeout_ms: z.number().int().min(50).max(900000),
        throttle_rate_limit: positive(10000),
        throttle_burst_limit: positive(5000),
      })
      .strict(),
    ecs: z
      .object({
        cpu: z.union([z.literal(256), z.literal(512), z.literal(1024), z.literal(2048), z.literal(4096)], { error: 'must be one of 256, 512, 1024, 2048, 4096' }),
        memory_mb: z.number().int().min(512).max(30720),
        desired_count: z.number().int().min(0).max(50),
        container_port: z.number().int().min(1024).max(65535),
      })
      .strict(),
    network: z
      .object({
        vpc_cidr: z.string().regex(/^\d+\.\d+\.0\.0\/16$/, { error: 'must be a /16 such as 10.42.0.0/16' }),
        /** Agent tasks in private subnets behind a NAT gateway (costs money); public subnets with public IPs otherwise. */
        private_subnets_with_nat: z.boolean(),
      })
      .strict(),
    domain: z
      .object({
        /** The static site's domain (CloudFront alias). */
        name: hostname,
        /** Route 53 hosted zone of `name`: alias records, and DNS validation of a certificate we create. */
        hosted_zone_id: z.string().regex(/^Z[A-Z0-9]{5,31}$/, { error: 'must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ' }).optional(),
        /** The ALB's certificate (in this region). Without it the ALB serves plain HTTP. */
        certificate_arn: certificateArn.optional(),
        /** CloudFront's certificate (must live in us-east-1). Absent with a hosted zone: we create and DNS-validate one. */
        cloudfront_certificate_arn: z.string().regex(/^arn:aws:acm:us-east-1:\d{12}:certificate\/.+$/, { error: 'must be an ACM certificate ARN in us-east-1' }).optional(),
        /** The agent's host name (covered by certificate_arn); gets an alias record to the ALB. */
        agent_host: hostname.optional(),
      })
      .strict()
      .optional(),
    ecr_keep_images: positive(1000),
    image_retention_days: positive(3650),
    log_retention_days: z
      .number()
      .int()
      .refine((n) => LOG_RETENTION_DAYS.includes(n), { error: `must be one of CloudWatch's values: ${LOG_RETENTION_DAYS.join(', ')}` }),
    alarm_email: z.email().optional(),
    /** A monthly AWS Budgets cost budget (USD): email at 80 % actual and 100 % forecasted spend to alarm_email (admin_email without one). Absent: no budget. */
    monthly_budget_usd: z.number().positive().max(1_000_000).optional(),
    /** Deletion protection on the tables (sessions, search cache, projects, prompt cards, chat history), the user pool and the ALB (default: on for prod only). */
    deletion_protection: z.boolean().optional(),
    /** Let `terraform destroy` delete non-empty buckets (all versions) and ECR repositories with images. */
    force_destroy: z.boolean().default(false),
    /** Remote state: an S3 bucket (create it once, before the first deploy), locked by an S3 lock file. Local state otherwise. */
    state_backend: z
      .object({
        bucket: z.string().min(3),
        /** Rejected: the S3 backend locks with a lock file in the bucket (use_lockfile, Terraform >= 1.10); no DynamoDB lock table. */
        lock_table: z.never({ error: 'is no longer used: the S3 backend locks state with a lock file in the bucket (use_lockfile), so remove lock_table (and delete the old DynamoDB lock table if you made one)' }).optional(),
        key_prefix: z.string().min(1),
        region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const prefix = `${cfg.project_name}-${cfg.environment}-${cfg.region}`;
    if (prefix.length > MAX_PREFIX_LENGTH) {
      ctx.addIssue({ code: 'custom', path: ['project_name'], message: `"${prefix}" is ${prefix.length} characters; project_name-environment-region may be at most ${MAX_PREFIX_LENGTH} (ALB names)` });
    }
    const mem = FARGATE_MEMORY[cfg.ecs.cpu];
    if (mem && (cfg.ecs.memory_mb < mem.min || cfg.ecs.memory_mb > mem.max || cfg.ecs.memory_mb % mem.step !== 0)) {
      ctx.addIssue({ code: 'custom', path: ['ecs', 'memory_mb'], message: `with cpu ${cfg.ecs.cpu} Fargate takes ${mem.min}-${mem.max} MiB in steps of ${mem.step}` });
    }
    if (cfg.api.throttle_burst_limit < cfg.api.throttle_rate_limit) {
      ctx.addIssue({ code: 'custom', path: ['api', 'throttle_burst_limit'], message: 'must be at least throttle_rate_limit' });
    }
    if (cfg.domain?.agent_host && !(cfg.domain.hosted_zone_id && cfg.domain.certificate_arn)) {
      ctx.addIssue({ code: 'custom', path: ['domain', 'agent_host'], message: 'needs domain.hosted_zone_id (alias record) and domain.certificate_arn (HTTPS)' });
    }
    if (cfg.domain?.certificate_arn && !cfg.domain.agent_host) {
      ctx.addIssue({ code: 'custom', path: ['domain', 'certificate_arn'], message: 'needs domain.agent_host (the host name the certificate covers, which the browser calls the agent on)' });
    }
    if (cfg.alb && cfg.domain?.certificate_arn) {
      ctx.addIssue({ code: 'custom', path: ['alb'], message: 'set either alb or domain.certificate_arn/agent_host, not both' });
    }
    if (cfg.alb && !cfg.alb.certificate_arn.startsWith(`arn:aws:acm:${cfg.region}:`)) {
      ctx.addIssue({ code: 'custom', path: ['alb', 'certificate_arn'], message: `the ALB's certificate must be in ${cfg.region}` });
    }
    const domainPrefix = cognitoDomainPrefix(cfg);
    const word = COGNITO_DOMAIN_FORBIDDEN.find((w) => domainPrefix.includes(w));
    if (word) {
      ctx.addIssue({ code: 'custom', path: ['project_name'], message: `the Cognito domain prefix "${domainPrefix}-<account id>" would contain "${word}", which Cognito refuses (${COGNITO_DOMAIN_FORBIDDEN.join(', ')}); change project_name or environment` });
    }
    const offered = (field: (string | number)[], id: string) => {
      if (!offeredIn(cfg.region, bareModelId(id))) {
        ctx.addIssue({ code: 'custom', path: field, message: `"${id}" is not offered in ${cfg.region} (terraform/bedrock-models.ts); models there: ${modelsOfferedIn(cfg.region).join(', ') || 'none listed'}` });
      }
    };
    if (cfg.allowed_models) cfg.allowed_models.forEach((id, i) => offered(['allowed_models', i], id));
    else for (const id of DEFAULT_MODELS) offered(['allowed_models'], id);
    if (cfg.agent.model !== undefined) offered(['agent', 'model'], cfg.agent.model);
    offered(['bedrock_image_model'], cfg.bedrock_image_model ?? defaultImageModel());
    if (cfg.domain?.certificate_arn && !cfg.domain.certificate_arn.startsWith(`arn:aws:acm:${cfg.region}:`)) {
      ctx.addIssue({ code: 'custom', path: ['domain', 'certificate_arn'], message: `the ALB's certificate must be in ${cfg.region}` });
    }
    const allowed = allowedModelIds(cfg);
    if (cfg.agent.model !== undefined && !allowed.includes(bareModelId(cfg.agent.model))) {
      ctx.addIssue({ code: 'custom', path: ['agent', 'model'], message: `must be one of the allowed models: ${allowed.join(', ')} (got "${cfg.agent.model}")` });
    }
  });

export type EnvironmentConfig = z.infer<typeof environmentSchema>;

/** The text models the story routes may use (STORY42_ALLOWED_MODELS, else the application's list), as bare Bedrock ids. */
export function allowedModelIds(cfg: Pick<EnvironmentConfig, 'allowed_models'>): string[] {
  return [...new Set((cfg.allowed_models ?? DEFAULT_MODELS).map(bareModelId))];
}

/** The agent's own model (STORY42_AGENT_MODEL), a bare Bedrock id: `agent.model`, else the first allowed model. */
export function agentModelId(cfg: Pick<EnvironmentConfig, 'allowed_models' | 'agent'>): string {
  return cfg.agent.model !== undefined ? bareModelId(cfg.agent.model) : (allowedModelIds(cfg)[0] as string);
}

/** The application's default Bedrock image model (STORY42_BEDROCK_IMAGE_MODEL unset), from its own configuration. */
export function defaultImageModel(): string {
  return loadConfig({ STORY42_IMAGES_BUCKET: 'synth', STORY42_SESSIONS_TABLE: 'synth' }).bedrockImageModel;
}

/** The Bedrock image model the stack runs (bare id): `bedrock_image_model`, else the application's default. */
export function imageModelId(cfg: Pick<EnvironmentConfig, 'bedrock_image_model'>): string {
  return bareModelId(cfg.bedrock_image_model ?? defaultImageModel());
}

/** The Cognito hosted-UI domain prefix before its account suffix: `<project>-<env>-<region>-users`. */
export function cognitoDomainPrefix(cfg: Pick<EnvironmentConfig, 'project_name' | 'environment' | 'region'>): string {
  return `${cfg.project_name}-${cfg.environment}-${cfg.region}-users`;
}

export class EnvironmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvironmentError';
  }
}

export function stackName(cfg: Pick<EnvironmentConfig, 'project_name' | 'environment' | 'region'>): string {
  return `${cfg.project_name}-${cfg.environment}-${cfg.region}`;
}

export interface Overrides {
  images_ready?: boolean;
  image_tag?: string;
}

/** Parses one environment file; errors name the file and the field. */
export function parseEnvironment(file: string, text: string, overrides: Overrides = {}): EnvironmentConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text) as unknown;
  } catch (err) {
    throw new EnvironmentError(`${file}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new EnvironmentError(`${file}: (root): must be a JSON object`);
  const merged = { ...(raw as Record<string, unknown>), ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
  const parsed = environmentSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${file}: ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new EnvironmentError(lines.join('\n'));
  }
  const cfg = parsed.data;
  const [envDir, regionFile] = file.split(/[\\/]/).slice(-2);
  if (envDir !== cfg.environment || regionFile !== `${cfg.region}.json`) {
    throw new EnvironmentError(`${file}: environment, region: (${cfg.environment}/${cfg.region}) must match the file's path environments/<environment>/<region>.json`);
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

/** The environment files: `environments/<env>/<region>.json`, sorted. */
export function environmentFiles(dir: string): string[] {
  if (!existsSync(dir)) throw new EnvironmentError(`${dir}: no environments folder`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .flatMap((env) =>
      readdirSync(path.join(dir, env))
        .filter((n) => n.endsWith('.json'))
        .sort()
        .map((f) => path.join(dir, env, f)),
    );
}

/** Does `selector` (a stack name, an env, or env/region) pick this config? */
export function matches(cfg: EnvironmentConfig, selector?: string): boolean {
  return !selector || selector === stackName(cfg) || selector === cfg.environment || selector === `${cfg.environment}/${cfg.region}`;
}

/** Every environment file, optionally only those `selector` picks. All files are validated either way. */
export function loadEnvironments(dir: string, selector?: string, overrides: Overrides = {}): EnvironmentConfig[] {
  const all = environmentFiles(dir).map((file) => parseEnvironment(path.relative(process.cwd(), file) || file, readFileSync(file, 'utf8'), overrides));
  const names = new Map<string, number>();
  for (const cfg of all) names.set(stackName(cfg), (names.get(stackName(cfg)) ?? 0) + 1);
  const dup = [...names].find(([, n]) => n > 1);
  if (dup) throw new EnvironmentError(`two environment files make the stack ${dup[0]}`);
  const out = all.filter((cfg) => matches(cfg, selector));
  if (out.length === 0) throw new EnvironmentError(`no environment matches "${selector ?? '*'}" in ${dir}`);
  return out;
}
