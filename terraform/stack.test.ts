import 'cdktf/lib/testing/adapters/jest';
import { Testing } from 'cdktf';
import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { EnvironmentError, overridesFromEnv, parseEnvironment } from './environment';
import { NOT_DEPLOYED } from './stack';
import { countResources, resourcesOf, synthAll, type Synthesized } from './synth-support';

Testing.setupJest();

let stacks: Synthesized[];
beforeAll(() => {
  stacks = synthAll();
});

const COMPUTE_TYPES = ['aws_lambda_function', 'aws_api_gateway_rest_api', 'aws_api_gateway_authorizer', 'aws_api_gateway_stage', 'aws_ecs_cluster', 'aws_ecs_service', 'aws_ecs_task_definition', 'aws_lb', 'aws_lb_listener', 'aws_lb_target_group'];
const FOUNDATION_TYPES = ['aws_ecr_repository', 'aws_vpc', 'aws_subnet', 'aws_s3_bucket', 'aws_dynamodb_table', 'aws_cognito_user_pool', 'aws_cognito_user_pool_client', 'aws_cognito_user_pool_domain', 'aws_secretsmanager_secret', 'aws_cloudfront_distribution'];
const OUTPUTS = [
  'api_endpoint', 'generate_topics_ideas_endpoint', 'generate_story_outline_endpoint', 'generate_story_endpoint', 'regenerate_segment_endpoint', 'generate_story_image_endpoint', 'regenerate_segment_image_endpoint',
  'cognito_user_pool_id', 'cognito_user_pool_client_id', 'cognito_user_pool_domain', 'admin_username', 'lambda_function_name', 'story_image_lambda_function_name',
  'lambda_ecr_repository_url', 'story_image_lambda_ecr_repository_url', 'data_ops_ecr_repository_url', 'ecs_ecr_repository_url', 'story_images_bucket_name', 'dynamodb_table_name', 'dynamodb_table_arn',
  'google_api_key_secret_name', 'ecs_cluster_name', 'ecs_service_name', 'ecs_alb_dns_name', 'ecs_service_endpoint', 'ecs_desired_count', 'ecs_log_group_name',
  'cloudfront_distribution_id', 'cloudfront_domain_name', 'website_url', 'region',
];
const COMPUTE_OUTPUTS = ['api_endpoint', 'generate_story_endpoint', 'lambda_function_name', 'story_image_lambda_function_name', 'ecs_cluster_name', 'ecs_service_name', 'ecs_alb_dns_name', 'ecs_service_endpoint', 'ecs_desired_count', 'ecs_log_group_name'];

describe('stacks per environment and phase', () => {
  it('synthesizes one stack per env/region file in both phases', () => {
    expect(stacks.map((s) => `${s.name}@${s.phase}`).sort()).toEqual(['story-42-dev-us-west-2@1', 'story-42-dev-us-west-2@2', 'story-42-prod-us-east-1@1', 'story-42-prod-us-east-1@2']);
    for (const s of stacks) process.stdout.write(`${s.name} phase ${s.phase}: ${countResources(s)} resources\n`);
  });

  it('phase 1 has the foundation and no compute; phase 2 has both', () => {
    for (const s of stacks) {
      for (const type of FOUNDATION_TYPES) expect([s.name, type, resourcesOf(s, type).length > 0]).toEqual([s.name, type, true]);
      for (const type of COMPUTE_TYPES) expect([s.name, s.phase, type, resourcesOf(s, type).length > 0]).toEqual([s.name, s.phase, type, s.phase === 2]);
    }
  });

  it('every output exists; compute outputs say how to deploy them in phase 1', () => {
    for (const s of stacks) {
      const outputs = s.json.output ?? {};
      for (const name of OUTPUTS) expect([s.name, name, name in outputs]).toEqual([s.name, name, true]);
      for (const name of COMPUTE_OUTPUTS) {
        const value = outputs[name]?.value;
        if (s.phase === 1) expect([name, value]).toEqual([name, NOT_DEPLOYED]);
        else expect([name, value]).not.toEqual([name, NOT_DEPLOYED]);
      }
    }
  });

  it('names carry project, environment and region', () => {
    for (const s of stacks) {
      const prefix = `${s.cfg.project_name}-${s.cfg.environment}-${s.cfg.region}`;
      for (const [, b] of resourcesOf(s, 'aws_s3_bucket')) expect(String(b.bucket)).toMatch(new RegExp(`^${prefix}-`));
      for (const [, t] of resourcesOf(s, 'aws_dynamodb_table')) expect(String(t.name)).toBe(`${prefix}-story-sessions`);
      for (const [, r] of resourcesOf(s, 'aws_ecr_repository')) expect(String(r.name)).toMatch(new RegExp(`^${prefix}-`));
      for (const [, f] of resourcesOf(s, 'aws_lambda_function')) expect(String(f.function_name)).toMatch(new RegExp(`^${prefix}-`));
    }
  });

  it('the sessions table has the spec key schema and both GSIs; Lambdas run pinned images', () => {
    for (const s of stacks) {
      expect(s.raw).toHaveResourceWithProperties(DynamodbTable, {
        hash_key: 'user_id',
        range_key: 'session_id',
        global_secondary_index: expect.arrayContaining([
          expect.objectContaining({ name: 'TimestampIndex', hash_key: 'user_id', range_key: 'timestamp' }),
          expect.objectContaining({ name: 'RouteTimestampIndex', hash_key: 'route', range_key: 'timestamp' }),
        ]),
      });
      if (s.phase === 2) {
        expect(s.raw).toHaveResourceWithProperties(LambdaFunction, { package_type: 'Image' });
        for (const [, f] of resourcesOf(s, 'aws_lambda_function')) {
          expect(String(f.image_uri)).toMatch(new RegExp(`:${s.cfg.image_tag}$`));
          expect(String(f.image_uri)).not.toMatch(/:latest$/);
        }
      }
    }
  });

  it('phase 2 alarms on Lambda errors and API 5xx go to the alarm email', () => {
    for (const s of stacks.filter((x) => x.phase === 2 && x.cfg.alarm_email)) {
      expect(resourcesOf(s, 'aws_cloudwatch_metric_alarm').map(([, a]) => a.metric_name).sort()).toEqual(['5XXError', 'Errors', 'Errors', 'Errors']);
      expect(resourcesOf(s, 'aws_sns_topic_subscription').map(([, sub]) => sub.endpoint)).toEqual([s.cfg.alarm_email]);
    }
  });

  it('a state backend is S3 + DynamoDB lock when configured, local otherwise', () => {
    for (const s of stacks) {
      const backend = (s.json.terraform?.backend ?? {}) as Record<string, Record<string, unknown>>;
      if (s.cfg.state_backend) expect(backend.s3).toMatchObject({ bucket: s.cfg.state_backend.bucket, dynamodb_table: s.cfg.state_backend.lock_table, encrypt: true });
      else expect(Object.keys(backend)).toEqual(['local']);
    }
  });
});

describe('environment files', () => {
  const good = JSON.stringify({
    project_name: 'story-42', environment: 'dev', region: 'us-west-2', admin_email: 'a@b.co', images_ready: false, image_tag: 't1',
    providers: { text: 'bedrock', image: 'bedrock' }, allowed_models: ['us.amazon.nova-pro-v1:0'],
    lambda: { memory_mb: 1024, timeout_seconds: 60, image_memory_mb: 2048, image_timeout_seconds: 300 },
    api: { integration_timeout_ms: 29000, throttle_rate_limit: 10, throttle_burst_limit: 20 },
    ecs: { cpu: 512, memory_mb: 1024, desired_count: 0, container_port: 8080 },
    network: { vpc_cidr: '10.1.0.0/16', private_subnets_with_nat: false },
    ecr_keep_images: 5, image_retention_days: 30, log_retention_days: 14,
  });
  const file = 'environments/dev/us-west-2.json';

  it('accepts a valid file and applies the IMAGES_READY and IMAGE_TAG overrides', () => {
    expect(parseEnvironment(file, good).images_ready).toBe(false);
    const overridden = parseEnvironment(file, good, overridesFromEnv({ IMAGES_READY: 'true', IMAGE_TAG: 'abc123' }));
    expect(overridden).toMatchObject({ images_ready: true, image_tag: 'abc123' });
    expect(() => overridesFromEnv({ IMAGES_READY: 'yes' })).toThrow('IMAGES_READY must be "true" or "false"');
    expect(() => parseEnvironment(file, good, { image_tag: 'latest' })).toThrow('image_tag');
  });

  it.each([
    [{ image_tag: 'latest' }, 'image_tag: must name a pushed image'],
    [{ log_retention_days: 13 }, 'log_retention_days: must be one of'],
    [{ ecs: { cpu: 300, memory_mb: 1024, desired_count: 0, container_port: 8080 } }, 'ecs.cpu'],
    [{ admin_email: 'nope' }, 'admin_email'],
    [{ surprise: 1 }, 'surprise'],
    [{ region: 'us-east-1' }, 'must match the file\'s path'],
  ])('fails with the file and field for %j', (patch, message) => {
    const text = JSON.stringify({ ...JSON.parse(good), ...patch });
    expect(() => parseEnvironment(file, text)).toThrow(EnvironmentError);
    expect(() => parseEnvironment(file, text)).toThrow(message);
    try {
      parseEnvironment(file, text);
    } catch (err) {
      expect(String(err)).toContain(file);
    }
  });
});
