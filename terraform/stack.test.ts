/**
 * The synthesized stacks: one per environment file, phase 1 (foundation) and phase 2
 * (compute), the outputs operators look up, names, and the environment-file schema.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import 'cdktf/lib/testing/adapters/jest';
import { Testing } from 'cdktf';
import { AcmCertificate } from '@cdktf/provider-aws/lib/acm-certificate';
import { ApiGatewayAuthorizer } from '@cdktf/provider-aws/lib/api-gateway-authorizer';
import { ApiGatewayRestApi } from '@cdktf/provider-aws/lib/api-gateway-rest-api';
import { ApiGatewayStage } from '@cdktf/provider-aws/lib/api-gateway-stage';
import { CloudfrontDistribution } from '@cdktf/provider-aws/lib/cloudfront-distribution';
import { CognitoUserPool } from '@cdktf/provider-aws/lib/cognito-user-pool';
import { CognitoUserPoolClient } from '@cdktf/provider-aws/lib/cognito-user-pool-client';
import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table';
import { EcrRepository } from '@cdktf/provider-aws/lib/ecr-repository';
import { EcsCluster } from '@cdktf/provider-aws/lib/ecs-cluster';
import { EcsService } from '@cdktf/provider-aws/lib/ecs-service';
import { EcsTaskDefinition } from '@cdktf/provider-aws/lib/ecs-task-definition';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { Lb } from '@cdktf/provider-aws/lib/lb';
import { LbListener } from '@cdktf/provider-aws/lib/lb-listener';
import { LbTargetGroup } from '@cdktf/provider-aws/lib/lb-target-group';
import { NatGateway } from '@cdktf/provider-aws/lib/nat-gateway';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { SecretsmanagerSecret } from '@cdktf/provider-aws/lib/secretsmanager-secret';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { Vpc } from '@cdktf/provider-aws/lib/vpc';
import { agentModelId, EnvironmentError, MAX_PREFIX_LENGTH, overridesFromEnv, parseEnvironment } from './environment';
import { AGENT_DEREGISTRATION_DELAY_SECONDS, PROVIDER_MAX_INTEGRATION_TIMEOUT_MS, streamingInvokeUri } from './compute';
import { LOCAL_STATE_DIR, NOT_DEPLOYED } from './stack';
import { countResources, ref, resourcesOf, ROOT, synthAll, synthesize, targets, variant, type Synthesized } from './synth-support';

Testing.setupJest();

const TARGETS = targets();
let stacks: Map<string, Synthesized>;
const stack = (label: string): Synthesized => stacks.get(label) as Synthesized;
beforeAll(() => {
  stacks = synthAll();
});

// Resource classes the matchers take (they read the class's TF type).
const FOUNDATION = { EcrRepository, Vpc, Subnet, S3Bucket, DynamodbTable, CognitoUserPool, CognitoUserPoolClient, SecretsmanagerSecret, CloudfrontDistribution };
const COMPUTE = { LambdaFunction, ApiGatewayRestApi, ApiGatewayAuthorizer, ApiGatewayStage, EcsCluster, EcsTaskDefinition, EcsService, Lb, LbListener, LbTargetGroup };

const STORY_ROUTE_OUTPUTS = ['generate_topics_ideas', 'generate_story_outline', 'generate_story', 'regenerate_segment', 'generate_story_image', 'regenerate_segment_image', 'narrate_story'].map((r) => `${r}_endpoint`);
const COMPUTE_OUTPUTS = ['api_endpoint', ...STORY_ROUTE_OUTPUTS, 'lambda_function_name', 'story_image_lambda_function_name', 'data_ops_lambda_function_name', 'ecs_cluster_name', 'ecs_service_name', 'ecs_alb_dns_name', 'ecs_service_endpoint', 'ecs_desired_count', 'ecs_log_group_name'];
const FOUNDATION_OUTPUTS = [
  'cognito_user_pool_id', 'cognito_user_pool_client_id', 'cognito_user_pool_domain', 'admin_username',
  'lambda_ecr_repository_url', 'story_image_lambda_ecr_repository_url', 'data_ops_ecr_repository_url', 'ecs_ecr_repository_url',
  'story_images_bucket_name', 's3_bucket_name', 'dynamodb_table_name', 'dynamodb_table_arn', 'search_cache_table_name', 'search_cache_table_arn', 'google_api_key_secret_name', 'tts_api_key_secret_name',
  'projects_table_name', 'projects_table_arn', 'prompt_cards_table_name', 'prompt_cards_table_arn', 'chat_history_table_name', 'chat_history_table_arn', 'prompts_bucket_name',
  'cloudfront_distribution_id', 'cloudfront_domain_name', 'website_url', 'region',
];

describe('stacks', () => {
  it('one stack per environment file, named <project>-<env>-<region>, in both phases', () => {
    expect([...stacks.keys()].sort()).toEqual(['story-42-dev-us-west-2 phase 1', 'story-42-dev-us-west-2 phase 2', 'story-42-prod-us-east-1 phase 1', 'story-42-prod-us-east-1 phase 2']);
    for (const s of stacks.values()) process.stdout.write(`${s.label}: ${countResources(s)} resources\n`);
  });
});

describe.each(TARGETS)('$label', ({ label, phase }) => {
  it(phase === 1 ? 'has the foundation and no compute' : 'has the foundation and all the compute', () => {
    const s = stack(label);
    for (const cls of Object.values(FOUNDATION)) expect(s.raw).toHaveResource(cls);
    for (const cls of Object.values(COMPUTE)) {
      if (phase === 2) expect(s.raw).toHaveResource(cls);
      else expect(s.raw).not.toHaveResource(cls);
    }
  });

  it('has every output; phase 1 compute outputs say how to deploy them', () => {
    const outputs = stack(label).json.output ?? {};
    for (const name of [...FOUNDATION_OUTPUTS, ...COMPUTE_OUTPUTS]) expect([name, name in outputs]).toEqual([name, true]);
    for (const name of FOUNDATION_OUTPUTS) expect([name, outputs[name]?.value]).not.toEqual([name, NOT_DEPLOYED]);
    for (const name of COMPUTE_OUTPUTS) {
      if (phase === 1) expect([name, outputs[name]?.value]).toEqual([name, NOT_DEPLOYED]);
      else expect([name, outputs[name]?.value]).not.toEqual([name, NOT_DEPLOYED]);
    }
  });

  it('names carry project, environment and region', () => {
    const s = stack(label);
    const prefix = `${s.cfg.project_name}-${s.cfg.environment}-${s.cfg.region}`;
    const named: Array<[string, string]> = [
      ['aws_s3_bucket', 'bucket'], ['aws_dynamodb_table', 'name'], ['aws_ecr_repository', 'name'], ['aws_cognito_user_pool', 'name'], ['aws_secretsmanager_secret', 'name'],
      ['aws_lambda_function', 'function_name'], ['aws_ecs_cluster', 'name'], ['aws_ecs_service', 'name'], ['aws_lb', 'name'], ['aws_lb_target_group', 'name'], ['aws_iam_role', 'name'], ['aws_api_gateway_rest_api', 'name'],
    ];
    for (const [type, field] of named) {
      for (const [name, r] of resourcesOf(s, type)) expect([type, name, String(r[field])]).toEqual([type, name, expect.stringMatching(new RegExp(`^${prefix}[-/]`))]);
    }
    expect(resourcesOf(s, 'aws_dynamodb_table').map(([, t]) => t.name).sort()).toEqual([`${prefix}-chat-history`, `${prefix}-projects`, `${prefix}-prompt-cards`, `${prefix}-search-cache`, `${prefix}-story-sessions`]);
    const [sessions = '?'] = resourcesOf(s, 'aws_dynamodb_table').find(([, t]) => t.name === `${prefix}-story-sessions`) ?? [];
    expect(s.json.output?.dynamodb_table_name?.value).toBe(ref('aws_dynamodb_table', sessions, 'name'));
    expect(s.json.output?.dynamodb_table_arn?.value).toBe(ref('aws_dynamodb_table', sessions, 'arn'));
    const [searchCache = '?'] = resourcesOf(s, 'aws_dynamodb_table').find(([, t]) => t.name === `${prefix}-search-cache`) ?? [];
    expect(s.json.output?.search_cache_table_name?.value).toBe(ref('aws_dynamodb_table', searchCache, 'name'));
    expect(s.json.output?.search_cache_table_arn?.value).toBe(ref('aws_dynamodb_table', searchCache, 'arn'));
    // Globally unique names carry the account id (data.aws_caller_identity).
    const account = '${data.aws_caller_identity.account.account_id}';
    expect(resourcesOf(s, 'aws_s3_bucket').map(([, b]) => b.bucket).sort()).toEqual([`${prefix}-prompts-${account}`, `${prefix}-site-${account}`, `${prefix}-story-images-${account}`]);
    expect(resourcesOf(s, 'aws_cognito_user_pool_domain').map(([, d]) => d.domain)).toEqual([`${prefix}-users-${account}`]);
    for (const [, lb] of [...resourcesOf(s, 'aws_lb'), ...resourcesOf(s, 'aws_lb_target_group')]) expect(String(lb.name).length).toBeLessThanOrEqual(32);
  });

  it('the sessions table has the agreed key schema, both GSIs and the TTL attribute', () => {
    expect(stack(label).raw).toHaveResourceWithProperties(DynamodbTable, {
      hash_key: 'user_id',
      range_key: 'session_id',
      billing_mode: 'PAY_PER_REQUEST',
      attribute: expect.arrayContaining([{ name: 'user_id', type: 'S' }, { name: 'session_id', type: 'S' }, { name: 'timestamp', type: 'N' }, { name: 'route', type: 'S' }]),
      global_secondary_index: expect.arrayContaining([
        expect.objectContaining({ name: 'TimestampIndex', hash_key: 'user_id', range_key: 'timestamp', projection_type: 'ALL' }),
        expect.objectContaining({ name: 'RouteTimestampIndex', hash_key: 'route', range_key: 'timestamp', projection_type: 'ALL' }),
      ]),
      ttl: { attribute_name: 'expires_at', enabled: true },
    });
  });

  it('Cognito: strong passwords, email sign-in, USER_PASSWORD_AUTH + SRP client, hosted UI, admin/user groups, the admin user', () => {
    const s = stack(label);
    expect(s.raw).toHaveResourceWithProperties(CognitoUserPool, {
      username_attributes: ['email'],
      password_policy: expect.objectContaining({ minimum_length: 12, require_lowercase: true, require_uppercase: true, require_numbers: true, require_symbols: true }),
    });
    expect(s.raw).toHaveResourceWithProperties(CognitoUserPoolClient, { explicit_auth_flows: expect.arrayContaining(['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_USER_SRP_AUTH']), generate_secret: false });
    expect(resourcesOf(s, 'aws_cognito_user_pool_domain')).toHaveLength(1);
    expect(resourcesOf(s, 'aws_cognito_user_group').map(([, g]) => g.name).sort()).toEqual(['admin', 'user']);
    expect(resourcesOf(s, 'aws_cognito_user').map(([, u]) => u.username)).toEqual([s.cfg.admin_email]);
    expect(resourcesOf(s, 'aws_cognito_user_in_group')).toHaveLength(1);
  });

  it('VPC over two AZs with public subnets; private subnets + NAT only when configured', () => {
    const s = stack(label);
    const subnets = resourcesOf(s, 'aws_subnet').map(([, sn]) => sn);
    const pub = subnets.filter((sn) => sn.map_public_ip_on_launch === true);
    expect(pub).toHaveLength(2);
    expect(new Set(pub.map((sn) => sn.availability_zone)).size).toBe(2);
    if (s.cfg.network.private_subnets_with_nat) {
      expect(s.raw).toHaveResource(NatGateway);
      expect(subnets).toHaveLength(4);
    } else {
      expect(s.raw).not.toHaveResource(NatGateway);
      expect(subnets).toHaveLength(2);
    }
    for (const [, svc] of resourcesOf(s, 'aws_ecs_service')) {
      expect((svc.network_configuration as Record<string, unknown>).assign_public_ip).toBe(!s.cfg.network.private_subnets_with_nat);
    }
  });

  it('a state backend is S3 with S3-native locking (use_lockfile, no DynamoDB table) when configured, local otherwise', () => {
    const s = stack(label);
    const backend = (s.json.terraform?.backend ?? {}) as Record<string, Record<string, unknown>>;
    if (s.cfg.state_backend) {
      expect(backend.s3).toMatchObject({ bucket: s.cfg.state_backend.bucket, use_lockfile: true, encrypt: true, key: `${s.cfg.state_backend.key_prefix}/${s.cfg.environment}/${s.cfg.region}/terraform.tfstate` });
      expect(backend.s3).not.toHaveProperty('dynamodb_table');
      expect(s.json.terraform?.required_version).toBe('>= 1.10.0');
    } else {
      expect(Object.keys(backend)).toEqual(['local']);
      // Relative to the stack's folder, it lands in terraform/state/ (git-ignored), outside cdktf.out.
      const stackDir = path.join(ROOT, '.tmp', 'cdktf-test', 'stacks', s.name);
      expect(path.resolve(stackDir, String(backend.local?.path))).toBe(path.join(LOCAL_STATE_DIR, `${s.name}.tfstate`));
      expect(readFileSync(path.join(LOCAL_STATE_DIR, '.gitignore'), 'utf8')).toMatch(/^\*$/m);
    }
  });

  it('a custom domain gets a us-east-1 certificate validated in its hosted zone, and alias records', () => {
    const s = stack(label);
    const domain = s.cfg.domain;
    const records = resourcesOf(s, 'aws_route53_record').map(([, r]) => r);
    if (!domain?.hosted_zone_id) {
      expect(s.raw).not.toHaveResource(AcmCertificate);
      expect(records).toEqual([]);
      expect(s.json.output?.website_url?.value).toMatch(/^https:\/\/\$\{aws_cloudfront_distribution\./);
      return;
    }
    expect(s.json.output?.website_url?.value).toBe(`https://${domain.name}`);
    expect(records.filter((r) => r.name === domain.name && r.type === 'A')).toHaveLength(1);
    if (!domain.cloudfront_certificate_arn) {
      expect(s.raw).toHaveResourceWithProperties(AcmCertificate, { domain_name: domain.name, validation_method: 'DNS', provider: 'aws.us_east_1' });
      expect(s.json.provider?.aws).toEqual(expect.arrayContaining([expect.objectContaining({ alias: 'us_east_1', region: 'us-east-1' })]));
      expect(resourcesOf(s, 'aws_acm_certificate_validation')).toHaveLength(1);
      const [[, dist] = ['', {}]] = resourcesOf(s, 'aws_cloudfront_distribution');
      expect(JSON.stringify(dist.viewer_certificate)).toContain('aws_acm_certificate_validation.');
    }
    if (phase === 2 && domain.agent_host) {
      expect(records.filter((r) => r.name === domain.agent_host)).toHaveLength(1);
      expect(s.json.output?.ecs_service_endpoint?.value).toBe(`https://${domain.agent_host}`);
    }
  });

  it('data is protected: deletion protection as configured (on for prod), nothing force-destroyed unless asked', () => {
    const s = stack(label);
    const protect = s.cfg.deletion_protection ?? s.cfg.environment === 'prod';
    if (s.cfg.environment === 'prod') expect(protect).toBe(true);
    const tables = resourcesOf(s, 'aws_dynamodb_table');
    expect(tables).toHaveLength(5);
    for (const [name, t] of tables) expect([name, t.deletion_protection_enabled]).toEqual([name, protect]);
    expect(resourcesOf(s, 'aws_cognito_user_pool')[0]?.[1].deletion_protection).toBe(protect ? 'ACTIVE' : 'INACTIVE');
    for (const [, lb] of resourcesOf(s, 'aws_lb')) expect(lb.enable_deletion_protection).toBe(protect);
    for (const [, b] of resourcesOf(s, 'aws_s3_bucket')) expect(b.force_destroy).toBe(s.cfg.force_destroy);
    for (const [, r] of resourcesOf(s, 'aws_ecr_repository')) expect(r.force_delete).toBe(s.cfg.force_destroy);
  });

  if (phase === 2) {
    it('Lambdas run their pinned ECR image with the agreed environment; the agent task too', () => {
      const s = stack(label);
      const [promptsBucket = '?'] = resourcesOf(s, 'aws_s3_bucket').find(([, b]) => String(b.bucket).startsWith(`${s.name}-prompts-`)) ?? [];
      const tableNamed = (suffix: string) => (resourcesOf(s, 'aws_dynamodb_table').find(([, t]) => t.name === `${s.name}-${suffix}`) ?? ['?'])[0];
      const expectedEnv = {
        STORY42_IMAGES_BUCKET: expect.stringContaining('aws_s3_bucket.'),
        STORY42_SESSIONS_TABLE: expect.stringContaining('aws_dynamodb_table.'),
        STORY42_TEXT_PROVIDER: 'bedrock',
        STORY42_IMAGE_PROVIDER: s.cfg.providers.image,
        STORY42_IMAGE_API_KEY_SECRET: expect.stringMatching(/aws_secretsmanager_secret\.foundation_image-key.*\.name/),
        STORY42_TTS_API_KEY_SECRET: expect.stringMatching(/aws_secretsmanager_secret\.foundation_tts-key.*\.name/),
        STORY42_IMAGE_CONCURRENCY: String(s.cfg.image_concurrency),
        ...(s.cfg.bedrock_image_model ? { STORY42_BEDROCK_IMAGE_MODEL: s.cfg.bedrock_image_model } : {}),
        STORY42_SPEECH_PROVIDER: s.cfg.speech.provider,
        ...(s.cfg.speech.voices ? { STORY42_SPEECH_VOICES: s.cfg.speech.voices.join(',') } : {}),
        ...(s.cfg.speech.concurrency !== undefined ? { STORY42_SPEECH_CONCURRENCY: String(s.cfg.speech.concurrency) } : {}),
        STORY42_COGNITO_USER_POOL_ID: expect.stringContaining('aws_cognito_user_pool.'),
        STORY42_COGNITO_CLIENT_ID: expect.stringContaining('aws_cognito_user_pool_client.'),
        STORY42_ENVIRONMENT: s.cfg.environment,
        ...(s.cfg.allowed_models ? { STORY42_ALLOWED_MODELS: s.cfg.allowed_models.join(',') } : {}),
        // Prompts as data: every Lambda and the agent.
        STORY42_PROMPTS_BUCKET: ref('aws_s3_bucket', promptsBucket, 'bucket'),
        STORY42_PROMPT_CACHE_TTL_MS: String(s.cfg.prompts.cache_ttl_ms),
      };
      // Projects, prompt cards and chat: data-ops (CRUD) and text-regen (chat) only.
      const projectEnv = {
        STORY42_PROJECTS_TABLE: ref('aws_dynamodb_table', tableNamed('projects'), 'name'),
        STORY42_PROMPT_CARDS_TABLE: ref('aws_dynamodb_table', tableNamed('prompt-cards'), 'name'),
        STORY42_CHAT_HISTORY_TABLE: ref('aws_dynamodb_table', tableNamed('chat-history'), 'name'),
        STORY42_CHAT_HISTORY_TTL_DAYS: String(s.cfg.chat.history_ttl_days),
      };
      const fns = resourcesOf(s, 'aws_lambda_function');
      expect(fns.map(([, f]) => String(f.function_name).split(`${s.name}-`)[1]).sort()).toEqual(['data-ops', 'story-image-regen', 'story-text-regen']);
      for (const [, f] of fns) {
        expect(f).toMatchObject({ package_type: 'Image', image_uri: expect.stringMatching(new RegExp(`^\\$\\{aws_ecr_repository\\.[^}]+\\.repository_url\\}:${s.cfg.image_tag}$`)) });
        const fn = String(f.function_name).slice(s.name.length + 1);
        expect([fn, (f.environment as { variables: Record<string, string> }).variables]).toEqual([fn, fn === 'story-image-regen' ? expectedEnv : { ...expectedEnv, ...projectEnv }]);
      }
      const [[, task] = ['', {}]] = resourcesOf(s, 'aws_ecs_task_definition');
      const [container] = JSON.parse(String(task.container_definitions)) as Array<{ image: string; environment: Array<{ name: string; value: string }>; healthCheck: { command: string[] } }>;
      expect(container?.image).toMatch(new RegExp(`:${s.cfg.image_tag}$`));
      // The agent: its own model and web search (DuckDuckGo, cached in the search cache table); the Lambdas have neither.
      const [searchCache = '?'] = resourcesOf(s, 'aws_dynamodb_table').find(([, t]) => String(t.name).endsWith('-search-cache')) ?? [];
      expect(Object.fromEntries(container?.environment.map((e) => [e.name, e.value]) ?? [])).toEqual({
        ...expectedEnv,
        AWS_REGION: s.cfg.region,
        PORT: String(s.cfg.ecs.container_port),
        STORY42_AGENT_MODEL: agentModelId(s.cfg),
        STORY42_SEARCH_PROVIDER: 'duckduckgo',
        STORY42_SEARCH_CACHE_TABLE: ref('aws_dynamodb_table', searchCache, 'name'),
        STORY42_SEARCH_CACHE_TTL_SECONDS: String(s.cfg.agent.search.cache_ttl_seconds),
        STORY42_SEARCH_BUDGET_PER_MINUTE: String(s.cfg.agent.search.budget_per_minute),
      });
      // Every environment file today: the first allowed model, a day's cache, 30 searches a minute.
      expect(container?.environment).toEqual(expect.arrayContaining([{ name: 'STORY42_AGENT_MODEL', value: 'us.amazon.nova-pro-v1:0' }]));
      expect(container?.healthCheck.command.join(' ')).toContain('/health');
      expect(s.raw).toHaveResourceWithProperties(EcsService, { desired_count: s.cfg.ecs.desired_count, launch_type: 'FARGATE' });
      expect(s.raw).toHaveResourceWithProperties(LbTargetGroup, { target_type: 'ip', health_check: expect.objectContaining({ path: '/health' }) });
    });

    it('the REST API: every route of the table to its Lambda, streaming, waiting as long as the Lambda may run', () => {
      const s = stack(label);
      const paths = new Map(resourcesOf(s, 'aws_api_gateway_resource').map(([name, r]) => [ref('aws_api_gateway_resource', name), r]));
      const fullPath = (id: string): string => {
        const r = paths.get(id);
        return r ? `${fullPath(String(r.parent_id))}/${String(r.path_part)}` : '';
      };
      const fns = resourcesOf(s, 'aws_lambda_function');
      const fnOf = new Map(fns.map(([name, f]) => [streamingInvokeUri(s.cfg.region, ref('aws_lambda_function', name, 'arn')), String(f.function_name).slice(s.name.length + 1)]));
      const timeoutOf = new Map(fns.map(([, f]) => [String(f.function_name).slice(s.name.length + 1), Number(f.timeout)]));
      const methods = new Map(resourcesOf(s, 'aws_api_gateway_method').map(([name, m]) => [ref('aws_api_gateway_method', name, 'http_method'), String(m.http_method)]));
      const proxies = resourcesOf(s, 'aws_api_gateway_integration').filter(([, i]) => i.type === 'AWS_PROXY');
      for (const [, i] of proxies) {
        const fn = fnOf.get(String(i.uri)) ?? '?';
        expect([fn, i.response_transfer_mode, i.timeout_milliseconds]).toEqual([fn, 'STREAM', Math.min(s.cfg.api.integration_timeout_ms, (timeoutOf.get(fn) ?? 0) * 1000, PROVIDER_MAX_INTEGRATION_TIMEOUT_MS)]);
      }
      const resolved = proxies
        .map(([, i]) => `${methods.get(String(i.http_method)) ?? String(i.http_method)} ${fullPath(String(i.resource_id))} -> ${fnOf.get(String(i.uri))}`)
        .sort();
      expect(resolved).toEqual([
        'DELETE /jobs/{job_id} -> data-ops',
        'DELETE /projects/{project_id} -> data-ops',
        'DELETE /projects/{project_id}/prompt-cards/{prompt_id} -> data-ops',
        // The prompt admin routes (admin group, enforced in code).
        'GET /admin/prompts -> data-ops',
        'GET /admin/prompts/{assistant}/{name} -> data-ops',
        'GET /admin/prompts/{assistant}/{name}/versions -> data-ops',
        'GET /health -> data-ops',
        'GET /jobs -> data-ops',
        'GET /jobs/{job_id} -> data-ops',
        'GET /openapi.json -> data-ops',
        'GET /projects -> data-ops',
        'GET /projects/{project_id} -> data-ops',
        'GET /projects/{project_id}/chat/{session_id} -> data-ops',
        'GET /projects/{project_id}/prompt-cards -> data-ops',
        'GET /projects/{project_id}/prompt-cards/{prompt_id} -> data-ops',
        'POST /admin/prompts/reload -> data-ops',
        'POST /admin/prompts/{assistant}/{name}/rollback -> data-ops',
        'POST /generate-story -> story-text-regen',
        'POST /generate-story-image -> story-image-regen',
        'POST /generate-story-outline -> story-text-regen',
        'POST /generate-topics-ideas -> story-text-regen',
        'POST /narrate-story -> story-image-regen',
        'POST /projects -> data-ops',
        // The project chat: a Bedrock ConverseStream with the text models (text-regen's grants).
        'POST /projects/{project_id}/chat -> story-text-regen',
        'POST /projects/{project_id}/prompt-cards -> data-ops',
        'POST /regenerate-segment -> story-text-regen',
        'POST /regenerate-segment-image -> story-image-regen',
        'PUT /admin/prompts/{assistant}/{name} -> data-ops',
        'PUT /projects/{project_id} -> data-ops',
        'PUT /projects/{project_id}/prompt-cards/{prompt_id} -> data-ops',
      ]);
      // CORS: a preflight on every resource, allowing exactly the methods the resource has.
      const options = resourcesOf(s, 'aws_api_gateway_integration_response');
      expect(options).toHaveLength(paths.size);
      const jobAllow = options.map(([, o]) => (o.response_parameters as Record<string, string>)['method.response.header.Access-Control-Allow-Methods']).sort();
      expect(jobAllow).toContain("'GET,DELETE,OPTIONS'");
      expect(jobAllow).toContain("'POST,OPTIONS'");
    });

    it('the ALB idle timeout follows agent.idle_timeout_seconds; the target group drains and checks health well within it', () => {
      const s = stack(label);
      const [[, lb] = ['', {}]] = resourcesOf(s, 'aws_lb');
      expect(lb.idle_timeout).toBe(s.cfg.agent.idle_timeout_seconds);
      const [[, tg] = ['', {}]] = resourcesOf(s, 'aws_lb_target_group');
      expect(Number(tg.deregistration_delay)).toBe(AGENT_DEREGISTRATION_DELAY_SECONDS);
      expect(Number(tg.deregistration_delay)).toBeLessThan(Number(lb.idle_timeout));
      const hc = tg.health_check as { interval: number; timeout: number; path: string };
      expect(hc).toMatchObject({ path: '/health', interval: 15, timeout: 5 });
      expect(hc.timeout).toBeLessThan(hc.interval);
      // Another value reaches the ALB as it is.
      const base = TARGETS.find((t) => t.label === label) as (typeof TARGETS)[number];
      const longer = synthesize(variant(base, 'idle 3600', { agent: { ...base.cfg.agent, idle_timeout_seconds: 3600 } }));
      expect(resourcesOf(longer, 'aws_lb').map(([, l]) => l.idle_timeout)).toEqual([3600]);
    });

    it('prompts.cache_ttl_ms reaches every Lambda and the agent, chat.history_ttl_days data-ops and text-regen, as they are', () => {
      const base = TARGETS.find((t) => t.label === label) as (typeof TARGETS)[number];
      const v = synthesize(variant(base, 'prompt cache 1 s, chat history 7 days', { prompts: { ...base.cfg.prompts, cache_ttl_ms: 1000 }, chat: { history_ttl_days: 7 } }));
      const envOf = Object.fromEntries(resourcesOf(v, 'aws_lambda_function').map(([, f]) => [String(f.function_name).slice(v.name.length + 1), (f.environment as { variables: Record<string, string> }).variables]));
      const [[, task] = ['', {}]] = resourcesOf(v, 'aws_ecs_task_definition');
      const [container] = JSON.parse(String(task.container_definitions)) as Array<{ environment: Array<{ name: string; value: string }> }>;
      envOf.agent = Object.fromEntries(container?.environment.map((e) => [e.name, e.value]) ?? []);
      const pick = (vars: Record<string, string> = {}) => [vars.STORY42_PROMPT_CACHE_TTL_MS, vars.STORY42_CHAT_HISTORY_TTL_DAYS];
      expect(Object.fromEntries(Object.entries(envOf).map(([fn, vars]) => [fn, pick(vars)]))).toEqual({
        'data-ops': ['1000', '7'],
        'story-text-regen': ['1000', '7'],
        'story-image-regen': ['1000', undefined],
        agent: ['1000', undefined],
      });
      // Every environment file today: the defaults (5 minutes, 90 days).
      const [[, dataOps] = ['', {}]] = resourcesOf(stack(label), 'aws_lambda_function').filter(([, f]) => String(f.function_name).endsWith('-data-ops'));
      expect(pick((dataOps.environment as { variables: Record<string, string> }).variables)).toEqual(['300000', '90']);
    });

    it('alarms on Lambda errors and throttles, API and ALB 5xx and missing agent tasks go to the alarm email', () => {
      const s = stack(label);
      if (!s.cfg.alarm_email) return;
      const alarms = resourcesOf(s, 'aws_cloudwatch_metric_alarm').map(([, a]) => a);
      expect(alarms.map((a) => a.metric_name).sort()).toEqual(
        ['5XXError', 'Errors', 'Errors', 'Errors', 'HTTPCode_ELB_5XX_Count', 'HTTPCode_Target_5XX_Count', ...(s.cfg.ecs.desired_count > 0 ? ['RunningTaskCount'] : []), 'Throttles', 'Throttles', 'Throttles'].sort(),
      );
      const [[topic]] = resourcesOf(s, 'aws_sns_topic') as [[string, unknown]];
      for (const a of alarms) expect([a.alarm_name, a.alarm_actions]).toEqual([a.alarm_name, [ref('aws_sns_topic', topic, 'arn')]]);
      for (const a of alarms) expect(String(a.alarm_name).startsWith(`${s.name}-`)).toBe(true);
      const byMetric = (m: string) => alarms.filter((a) => a.metric_name === m);
      for (const a of [...byMetric('HTTPCode_ELB_5XX_Count'), ...byMetric('HTTPCode_Target_5XX_Count')]) {
        expect(a).toMatchObject({ namespace: 'AWS/ApplicationELB', dimensions: { LoadBalancer: expect.stringMatching(/^\$\{aws_lb\.[^.]+\.arn_suffix\}$/) }, comparison_operator: 'GreaterThanOrEqualToThreshold', treat_missing_data: 'notBreaching' });
      }
      expect(byMetric('Throttles').map((a) => (a.dimensions as Record<string, string>).FunctionName).sort()).toEqual(resourcesOf(s, 'aws_lambda_function').map(([name]) => ref('aws_lambda_function', name, 'function_name')).sort());
      for (const a of byMetric('RunningTaskCount')) {
        expect(a).toMatchObject({
          namespace: 'ECS/ContainerInsights',
          dimensions: { ClusterName: expect.stringContaining('aws_ecs_cluster.'), ServiceName: expect.stringContaining('aws_ecs_service.') },
          comparison_operator: 'LessThanThreshold',
          threshold: s.cfg.ecs.desired_count,
          treat_missing_data: 'breaching',
        });
      }
      expect(resourcesOf(s, 'aws_sns_topic_subscription').map(([, sub]) => sub.endpoint)).toEqual([s.cfg.alarm_email]);
    });
  }
});

describe('narration settings', () => {
  // Keys a careless stack might read from the synth's environment: none may reach the JSON.
  const CANARIES = { STORY42_TTS_API_KEY: 'sk_canary_tts_0123456789abcdef', ELEVENLABS_API_KEY: 'sk_canary_elevenlabs_0123456789', GOOGLE_API_KEY: 'AIza_canary_google_0123456789' };
  let s: Synthesized;
  beforeAll(() => {
    const saved = Object.fromEntries(Object.keys(CANARIES).map((k) => [k, process.env[k]]));
    Object.assign(process.env, CANARIES);
    try {
      const base = TARGETS.find((t) => t.phase === 2) as (typeof TARGETS)[number];
      s = synthesize(variant(base, 'speech external', { speech: { provider: 'external', voices: ['Rachel', 'Adam', 'Bella'], concurrency: 8 } }));
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('the Lambdas and the agent carry STORY42_SPEECH_* from the environment file, the TTS key by its secret\'s name', () => {
    const [[tts] = ['?']] = resourcesOf(s, 'aws_secretsmanager_secret').filter(([, x]) => String(x.name).endsWith('/tts-api-key'));
    const speechEnv = {
      STORY42_SPEECH_PROVIDER: 'external',
      STORY42_SPEECH_VOICES: 'Rachel,Adam,Bella',
      STORY42_SPEECH_CONCURRENCY: '8',
      STORY42_TTS_API_KEY_SECRET: ref('aws_secretsmanager_secret', tts, 'name'),
    };
    const fns = resourcesOf(s, 'aws_lambda_function');
    expect(fns).toHaveLength(3);
    for (const [name, f] of fns) expect([name, (f.environment as { variables: Record<string, string> }).variables]).toEqual([name, expect.objectContaining(speechEnv)]);
    const [[, task] = ['', {}]] = resourcesOf(s, 'aws_ecs_task_definition');
    const [container] = JSON.parse(String(task.container_definitions)) as Array<{ environment: Array<{ name: string; value: string }> }>;
    expect(Object.fromEntries(container?.environment.map((e) => [e.name, e.value]) ?? [])).toEqual(expect.objectContaining(speechEnv));
    // The default (every environment file today): Polly, the application's voices and concurrency.
    for (const t of TARGETS.filter((x) => x.phase === 2 && !x.cfg.speech.voices && x.cfg.speech.concurrency === undefined)) {
      for (const [name, f] of resourcesOf(stack(t.label), 'aws_lambda_function')) {
        const vars = (f.environment as { variables: Record<string, string> }).variables;
        expect([name, vars.STORY42_SPEECH_PROVIDER, 'STORY42_SPEECH_VOICES' in vars, 'STORY42_SPEECH_CONCURRENCY' in vars]).toEqual([name, t.cfg.speech.provider, false, false]);
      }
    }
  });

  it('no secret value in the synthesized JSON: no secret versions, no secret data sources, nothing from the synth\'s environment', () => {
    expect(resourcesOf(s, 'aws_secretsmanager_secret')).toHaveLength(2);
    expect(resourcesOf(s, 'aws_secretsmanager_secret_version')).toEqual([]);
    expect(Object.keys(s.json.data ?? {}).filter((type) => type.startsWith('aws_secretsmanager_'))).toEqual([]);
    expect(s.raw).not.toMatch(/"secret_string"|"secret_binary"/);
    for (const canary of Object.values(CANARIES)) expect(s.raw).not.toContain(canary);
  });
});

describe('environment files', () => {
  const good = {
    project_name: 'story-42', environment: 'dev', region: 'us-west-2', admin_email: 'a@b.co', images_ready: false, image_tag: 't1',
    // us-west-2 has no Nova Canvas (the app's default image model; terraform/bedrock-models.ts).
    bedrock_image_model: 'amazon.titan-image-generator-v2:0',
    lambda: { memory_mb: 1024, timeout_seconds: 60, image_memory_mb: 2048, image_timeout_seconds: 300 },
    api: { integration_timeout_ms: 29000, throttle_rate_limit: 10, throttle_burst_limit: 20 },
    ecs: { cpu: 512, memory_mb: 1024, desired_count: 0, container_port: 8080 },
    network: { vpc_cidr: '10.1.0.0/16', private_subnets_with_nat: false },
    ecr_keep_images: 5, image_retention_days: 30, log_retention_days: 14,
  };
  const file = 'environments/dev/us-west-2.json';
  const text = (patch: Record<string, unknown> = {}) => JSON.stringify({ ...good, ...patch });

  it('accepts a minimal file with defaults (bedrock providers, image concurrency 6, the app\'s model list)', () => {
    const cfg = parseEnvironment(file, text());
    expect(cfg).toMatchObject({ images_ready: false, providers: { text: 'bedrock', image: 'bedrock' }, image_concurrency: 6, speech: { provider: 'polly' } });
    expect(cfg.allowed_models).toBeUndefined();
    expect(cfg.speech.voices).toBeUndefined();
    expect(cfg.speech.concurrency).toBeUndefined();
  });

  it('accepts an agent block; defaults: the first allowed model, a day\'s search cache, 30 searches a minute, a 900 s idle timeout', () => {
    const cfg = parseEnvironment(file, text());
    expect(cfg.agent).toEqual({ search: { cache_ttl_seconds: 86400, budget_per_minute: 30 }, idle_timeout_seconds: 900 });
    expect(agentModelId(cfg)).toBe('us.amazon.nova-pro-v1:0'); // the application's first model
    const models = { allowed_models: ['bedrock/us.openai.gpt-oss-120b-1:0', 'us.amazon.nova-pro-v1:0'] };
    expect(agentModelId(parseEnvironment(file, text(models)))).toBe('us.openai.gpt-oss-120b-1:0');
    const custom = parseEnvironment(file, text({ ...models, agent: { model: 'bedrock/us.amazon.nova-pro-v1:0', search: { cache_ttl_seconds: 3600 }, idle_timeout_seconds: 60 } }));
    expect(custom.agent).toEqual({ model: 'bedrock/us.amazon.nova-pro-v1:0', search: { cache_ttl_seconds: 3600, budget_per_minute: 30 }, idle_timeout_seconds: 60 });
    expect(agentModelId(custom)).toBe('us.amazon.nova-pro-v1:0');
    expect(parseEnvironment(file, text({ agent: { search: { budget_per_minute: 10000, cache_ttl_seconds: 2592000 }, idle_timeout_seconds: 4000 } })).agent.search.budget_per_minute).toBe(10000);
  });

  it('accepts prompts and chat blocks; defaults: a 5-minute prompt cache, 90 days and 20 replaced versions of a prompt, 90 days of chat history', () => {
    const cfg = parseEnvironment(file, text());
    expect(cfg.prompts).toEqual({ cache_ttl_ms: 300000, noncurrent_version_days: 90 });
    expect(cfg.chat).toEqual({ history_ttl_days: 90 });
    expect(parseEnvironment(file, text({ prompts: { cache_ttl_ms: 1000 } })).prompts).toEqual({ cache_ttl_ms: 1000, noncurrent_version_days: 90 });
    expect(parseEnvironment(file, text({ prompts: { cache_ttl_ms: 3600000, noncurrent_version_days: 3650 }, chat: { history_ttl_days: 3650 } }))).toMatchObject({
      prompts: { cache_ttl_ms: 3600000, noncurrent_version_days: 3650 },
      chat: { history_ttl_days: 3650 },
    });
    expect(parseEnvironment(file, text({ prompts: { noncurrent_version_days: 1 }, chat: { history_ttl_days: 1 } }))).toMatchObject({ prompts: { noncurrent_version_days: 1 }, chat: { history_ttl_days: 1 } });
  });

  it('accepts a speech block: the external TTS API, voices and concurrency', () => {
    expect(parseEnvironment(file, text({ speech: { provider: 'external', voices: ['Rachel', 'Adam'], concurrency: 8 } })).speech).toEqual({ provider: 'external', voices: ['Rachel', 'Adam'], concurrency: 8 });
    expect(parseEnvironment(file, text({ speech: { voices: ['Joanna', 'Matthew'] } })).speech).toEqual({ provider: 'polly', voices: ['Joanna', 'Matthew'] });
  });

  it('applies the IMAGES_READY and IMAGE_TAG overrides', () => {
    expect(parseEnvironment(file, text(), overridesFromEnv({ IMAGES_READY: 'true', IMAGE_TAG: 'abc123' }))).toMatchObject({ images_ready: true, image_tag: 'abc123' });
    expect(parseEnvironment(file, text({ images_ready: true }), overridesFromEnv({ IMAGES_READY: 'false' })).images_ready).toBe(false);
    expect(parseEnvironment(file, text(), overridesFromEnv({})).images_ready).toBe(false);
    expect(() => overridesFromEnv({ IMAGES_READY: 'yes' })).toThrow('IMAGES_READY must be "true" or "false"');
    expect(() => parseEnvironment(file, text(), { image_tag: 'latest' })).toThrow(`${file}: image_tag: must name a pushed image`);
  });

  it.each([
    [{ image_tag: 'latest' }, 'image_tag: must name a pushed image'],
    [{ log_retention_days: 13 }, 'log_retention_days: must be one of'],
    [{ ecs: { ...good.ecs, cpu: 300 } }, 'ecs.cpu: must be one of 256'],
    [{ ecs: { ...good.ecs, memory_mb: 8192 } }, 'ecs.memory_mb: with cpu 512 Fargate takes 1024-4096'],
    [{ admin_email: 'nope' }, 'admin_email'],
    [{ surprise: 1 }, 'surprise'],
    [{ lambda: { ...good.lambda, timeout_seconds: 901 } }, 'lambda.timeout_seconds'],
    [{ providers: { text: 'offline', image: 'bedrock' } }, 'providers.text'],
    [{ providers: { image: 'dall-e' } }, 'providers.image'],
    [{ speech: { provider: 'offline' } }, 'speech.provider: offline is the local speech engine and is not in the Lambda or agent images; use "polly" or "external"'],
    [{ speech: { provider: 'elevenlabs' } }, 'speech.provider: must be one of: polly, external'],
    [{ speech: { voices: ['Joanna'] } }, 'speech.voices: must list 2 to 32 voice ids'],
    [{ speech: { voices: ['Joanna', 'Joanna'] } }, 'speech.voices: must not repeat a voice'],
    [{ speech: { voices: ['Joanna', 'not a voice'] } }, 'speech.voices.1: must be a voice id'],
    [{ speech: { concurrency: 33 } }, 'speech.concurrency'],
    [{ speech: { provider: 'polly', model: 'x' } }, 'speech: Unrecognized key: "model"'],
    [{ project_name: 'a-very-long-project' }, `project_name: "a-very-long-project-dev-us-west-2" is 33 characters; project_name-environment-region may be at most ${MAX_PREFIX_LENGTH}`],
    [{ domain: { name: 'stories.example.com', agent_host: 'agent.stories.example.com' } }, 'domain.agent_host: needs domain.hosted_zone_id'],
    [{ domain: { name: 'stories.example.com', certificate_arn: 'arn:aws:acm:us-east-1:123456789012:certificate/x' } }, "domain.certificate_arn: the ALB's certificate must be in us-west-2"],
    [{ api: { ...good.api, throttle_burst_limit: 5 } }, 'api.throttle_burst_limit'],
    [{ environment: 'prod' }, "must match the file's path"],
    [{ agent: { model: 'amazon.titan-text-express-v1' } }, 'agent.model: must be one of the allowed models: us.amazon.nova-pro-v1:0, us.openai.gpt-oss-120b-1:0, anthropic.claude-3-5-sonnet-20241022-v2:0 (got "amazon.titan-text-express-v1")'],
    [{ allowed_models: ['us.openai.gpt-oss-120b-1:0'], agent: { model: 'us.amazon.nova-pro-v1:0' } }, 'agent.model: must be one of the allowed models: us.openai.gpt-oss-120b-1:0'],
    [{ agent: { model: 'arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.amazon.nova-pro-v1:0' } }, 'agent.model: must be a Bedrock model id or inference profile id, not an ARN'],
    [{ agent: { model: 'no spaces allowed' } }, 'agent.model: must be a Bedrock model id'],
    [{ allowed_models: ['arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-pro-v1:0'] }, 'allowed_models.0: must be a Bedrock model id or inference profile id, not an ARN'],
    [{ agent: { search: { cache_ttl_seconds: 59 } } }, 'agent.search.cache_ttl_seconds'],
    [{ agent: { search: { cache_ttl_seconds: 30 * 86400 + 1 } } }, 'agent.search.cache_ttl_seconds'],
    [{ agent: { search: { budget_per_minute: 1 } } }, 'agent.search.budget_per_minute'],
    [{ agent: { search: { budget_per_minute: 2.5 } } }, 'agent.search.budget_per_minute'],
    [{ agent: { search: { provider: 'google' } } }, 'agent.search: Unrecognized key: "provider"'],
    [{ agent: { idle_timeout_seconds: 59 } }, 'agent.idle_timeout_seconds'],
    [{ agent: { idle_timeout_seconds: 4001 } }, 'agent.idle_timeout_seconds'],
    [{ agent: { idle_timeout_seconds: '900' } }, 'agent.idle_timeout_seconds'],
    [{ agent: { keepalive_seconds: 15 } }, 'agent: Unrecognized key: "keepalive_seconds"'],
    [{ prompts: { cache_ttl_ms: 999 } }, 'prompts.cache_ttl_ms: '],
    [{ prompts: { cache_ttl_ms: 3600001 } }, 'prompts.cache_ttl_ms: '],
    [{ prompts: { cache_ttl_ms: 1500.5 } }, 'prompts.cache_ttl_ms: '],
    [{ prompts: { cache_ttl_ms: '300000' } }, 'prompts.cache_ttl_ms: '],
    [{ prompts: { noncurrent_version_days: 0 } }, 'prompts.noncurrent_version_days: '],
    [{ prompts: { noncurrent_version_days: 3651 } }, 'prompts.noncurrent_version_days: '],
    [{ prompts: { max_noncurrent_versions: 20 } }, 'prompts: '],
    [{ prompts: { bucket: 'mine' } }, 'prompts: Unrecognized key: "bucket"'],
    [{ chat: { history_ttl_days: 0 } }, 'chat.history_ttl_days: '],
    [{ chat: { history_ttl_days: 3651 } }, 'chat.history_ttl_days: '],
    [{ chat: { history_ttl_days: 1.5 } }, 'chat.history_ttl_days: '],
    [{ chat: { history_ttl_days: null } }, 'chat.history_ttl_days: '],
    [{ chat: { ttl_days: 30 } }, 'chat: Unrecognized key: "ttl_days"'],
  ])('fails naming the file and the field for %j', (patch, message) => {
    let error: unknown;
    try {
      parseEnvironment(file, text(patch));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(EnvironmentError);
    expect(String(error)).toContain(`${file}: `);
    expect(String(error)).toContain(message);
  });

  it('fails naming the file for broken JSON', () => {
    expect(() => parseEnvironment(file, '{"project_name": ')).toThrow(`${file}: not valid JSON`);
    expect(() => parseEnvironment(file, '[]')).toThrow(`${file}: (root): must be a JSON object`);
  });
});

describe('VPC: S3 and DynamoDB gateway endpoints on the route tables the workloads use (private behind a NAT, else public)', () => {
  it.each(TARGETS)('$label', ({ label }) => {
    const s = stack(label);
    const endpoints = resourcesOf(s, 'aws_vpc_endpoint').map(([, e]) => e);
    expect(endpoints.map((e) => e.service_name).sort()).toEqual([`com.amazonaws.${s.cfg.region}.dynamodb`, `com.amazonaws.${s.cfg.region}.s3`]);
    const tables = resourcesOf(s, 'aws_route_table');
    const wanted = tables.filter(([, t]) => (t.tags as Record<string, string>).Name === `${s.name}-${s.cfg.network.private_subnets_with_nat ? 'private' : 'public'}`);
    expect(wanted).toHaveLength(1);
    for (const e of endpoints) {
      expect(e).toMatchObject({ vpc_endpoint_type: 'Gateway', vpc_id: expect.stringContaining('aws_vpc.') });
      expect(e.route_table_ids).toEqual(wanted.map(([name]) => ref('aws_route_table', name)));
    }
  });
});

describe('Budgets: a monthly cost budget only when monthly_budget_usd is set (80 % actual, 100 % forecasted)', () => {
  it.each(TARGETS)('$label', ({ label }) => {
    const s = stack(label);
    expect(resourcesOf(s, 'aws_budgets_budget')).toHaveLength(s.cfg.monthly_budget_usd === undefined ? 0 : 1);
  });
  it.each(TARGETS)('$label with a budget of 250 USD', (t) => {
    const s = synthesize(variant(t, 'budget', { monthly_budget_usd: 250 }));
    const budgets = resourcesOf(s, 'aws_budgets_budget').map(([, b]) => b);
    expect(budgets).toHaveLength(1);
    const to = [s.cfg.alarm_email ?? s.cfg.admin_email];
    expect(budgets[0]).toMatchObject({ name: `${s.name}-monthly-cost`, budget_type: 'COST', time_unit: 'MONTHLY', limit_amount: '250.00', limit_unit: 'USD' });
    expect(budgets[0]?.notification).toEqual([
      expect.objectContaining({ notification_type: 'ACTUAL', comparison_operator: 'GREATER_THAN', threshold: 80, threshold_type: 'PERCENTAGE', subscriber_email_addresses: to }),
      expect.objectContaining({ notification_type: 'FORECASTED', comparison_operator: 'GREATER_THAN', threshold: 100, threshold_type: 'PERCENTAGE', subscriber_email_addresses: to }),
    ]);
  });
  it('the setting must be a positive amount', () => {
    expect(() => variant(TARGETS[0] as (typeof TARGETS)[number], 'bad budget', { monthly_budget_usd: 0 })).toThrow();
  });
});
