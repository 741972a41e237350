/**
 * The policy suite: each rule a named test over every resource of its type, in every
 * environment and both phases.
 */
import { ACTIONS_REQUIRING_STAR_RESOURCE, type Statement } from './iam';
import { resourcesOf, synthAll, type Synthesized } from './synth-support';

let stacks: Synthesized[];
beforeAll(() => {
  stacks = synthAll();
});

const ref = (type: string, name: string, attr = 'id') => `\${${type}.${name}.${attr}}`;
const statementsOf = (policy: unknown): Statement[] => {
  const doc = JSON.parse(String(policy)) as { Statement: Statement | Statement[] };
  return Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
};
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

describe('policy: S3', () => {
  it('every bucket blocks public access, encrypts, versions, has lifecycle rules and a TLS-only policy', () => {
    for (const s of stacks) {
      const buckets = resourcesOf(s, 'aws_s3_bucket');
      expect(buckets.length).toBeGreaterThanOrEqual(3);
      for (const [name] of buckets) {
        const id = ref('aws_s3_bucket', name);
        const pab = resourcesOf(s, 'aws_s3_bucket_public_access_block').find(([, r]) => r.bucket === id)?.[1];
        expect([s.name, name, pab]).toEqual([s.name, name, expect.objectContaining({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true })]);
        const sse = resourcesOf(s, 'aws_s3_bucket_server_side_encryption_configuration').find(([, r]) => r.bucket === id)?.[1];
        expect(JSON.stringify(sse)).toMatch(/"sse_algorithm":"(AES256|aws:kms)"/);
        const ver = resourcesOf(s, 'aws_s3_bucket_versioning').find(([, r]) => r.bucket === id)?.[1];
        expect(ver).toMatchObject({ versioning_configuration: { status: 'Enabled' } });
        expect(resourcesOf(s, 'aws_s3_bucket_lifecycle_configuration').some(([, r]) => r.bucket === id)).toBe(true);
        const policy = resourcesOf(s, 'aws_s3_bucket_policy').find(([, r]) => r.bucket === id)?.[1];
        const deny = statementsOf(policy?.policy).find((st) => st.Effect === 'Deny' && JSON.stringify(st.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }));
        expect([s.name, name, Boolean(deny)]).toEqual([s.name, name, true]);
      }
    }
  });
});

describe('policy: DynamoDB', () => {
  it('every table has point-in-time recovery and server-side encryption', () => {
    for (const s of stacks) {
      for (const [, t] of resourcesOf(s, 'aws_dynamodb_table')) {
        expect(t).toMatchObject({ point_in_time_recovery: { enabled: true }, server_side_encryption: { enabled: true } });
      }
    }
  });
});

describe('policy: ECR', () => {
  it('every repository scans on push and has immutable tags and a lifecycle rule', () => {
    for (const s of stacks) {
      const repos = resourcesOf(s, 'aws_ecr_repository');
      expect(repos).toHaveLength(4);
      for (const [name, r] of repos) {
        expect(r).toMatchObject({ image_tag_mutability: 'IMMUTABLE', image_scanning_configuration: { scan_on_push: true } });
        expect(resourcesOf(s, 'aws_ecr_lifecycle_policy').some(([, p]) => p.repository === ref('aws_ecr_repository', name, 'name'))).toBe(true);
      }
    }
  });
});

describe('policy: logs', () => {
  it('every log group has a retention; every Lambda and the agent log to one', () => {
    for (const s of stacks) {
      const groups = resourcesOf(s, 'aws_cloudwatch_log_group');
      for (const [, g] of groups) expect(g.retention_in_days).toBe(s.cfg.log_retention_days);
      for (const [, f] of resourcesOf(s, 'aws_lambda_function')) {
        expect(groups.some(([, g]) => g.name === `/aws/lambda/${String(f.function_name)}`)).toBe(true);
      }
      for (const [, t] of resourcesOf(s, 'aws_ecs_task_definition')) {
        const containers = JSON.parse(String(t.container_definitions)) as Array<{ logConfiguration: { logDriver: string; options: Record<string, string> } }>;
        for (const c of containers) {
          expect(c.logConfiguration.logDriver).toBe('awslogs');
          expect(groups.some(([name]) => c.logConfiguration.options['awslogs-group'] === ref('aws_cloudwatch_log_group', name, 'name'))).toBe(true);
        }
      }
    }
  });
});

describe('policy: IAM', () => {
  it(`no Allow statement has a wildcard action; "*" resources only for ${ACTIONS_REQUIRING_STAR_RESOURCE.join(', ')}`, () => {
    let checked = 0;
    for (const s of stacks) {
      for (const [name, p] of resourcesOf(s, 'aws_iam_role_policy')) {
        for (const st of statementsOf(p.policy)) {
          checked++;
          if (st.Effect !== 'Allow') continue;
          for (const action of list(st.Action)) expect([name, action]).not.toEqual([name, expect.stringMatching(/(^\*$|:\*$)/)]);
          if (list(st.Resource).includes('*')) {
            expect([name, list(st.Action).every((a) => (ACTIONS_REQUIRING_STAR_RESOURCE as readonly string[]).includes(a))]).toEqual([name, true]);
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('each Lambda may do only what its code does', () => {
    const forbidden: Record<string, RegExp> = {
      'text-regen': /^(s3:|secretsmanager:|dynamodb:(Query|DeleteItem|BatchWriteItem))/,
      'image-regen': /^(dynamodb:(Query|DeleteItem|BatchWriteItem)|s3:(DeleteObject|ListBucket))/,
      'data-ops': /^(bedrock:|secretsmanager:|s3:PutObject|dynamodb:PutItem)/,
    };
    for (const s of stacks.filter((x) => x.phase === 2)) {
      for (const [fn, pattern] of Object.entries(forbidden)) {
        const policy = resourcesOf(s, 'aws_iam_role_policy').find(([name]) => name.includes(`${fn}-policy`))?.[1];
        const actions = statementsOf(policy?.policy).flatMap((st) => list(st.Action));
        expect(actions.length).toBeGreaterThan(2);
        expect([fn, actions.filter((a) => pattern.test(a))]).toEqual([fn, []]);
      }
    }
  });

  it('each Lambda has its own role', () => {
    for (const s of stacks.filter((x) => x.phase === 2)) {
      const roles = resourcesOf(s, 'aws_lambda_function').map(([, f]) => f.role);
      expect(new Set(roles).size).toBe(3);
    }
  });
});

describe('policy: API Gateway', () => {
  it('every method except OPTIONS uses the Cognito authorizer', () => {
    for (const s of stacks.filter((x) => x.phase === 2)) {
      const methods = resourcesOf(s, 'aws_api_gateway_method');
      expect(methods.length).toBeGreaterThanOrEqual(9);
      for (const [name, m] of methods) {
        if (m.http_method === 'OPTIONS') continue;
        expect([name, m.authorization, String(m.authorizer_id)]).toEqual([name, 'COGNITO_USER_POOLS', expect.stringContaining('aws_api_gateway_authorizer')]);
      }
      const authorizers = resourcesOf(s, 'aws_api_gateway_authorizer');
      expect(authorizers.map(([, a]) => a.type)).toEqual(['COGNITO_USER_POOLS']);
    }
  });

  it('stages have throttling and access logs', () => {
    for (const s of stacks.filter((x) => x.phase === 2)) {
      for (const [, st] of resourcesOf(s, 'aws_api_gateway_stage')) expect(st.access_log_settings).toMatchObject({ destination_arn: expect.stringContaining('aws_cloudwatch_log_group') });
      const settings = resourcesOf(s, 'aws_api_gateway_method_settings').map(([, m]) => m.settings as Record<string, unknown>);
      expect(settings).toEqual([expect.objectContaining({ throttling_rate_limit: s.cfg.api.throttle_rate_limit, throttling_burst_limit: s.cfg.api.throttle_burst_limit })]);
    }
  });
});

describe('policy: ALB', () => {
  it('does not serve plain HTTP when a certificate is configured', () => {
    for (const s of stacks.filter((x) => x.phase === 2)) {
      const listeners = resourcesOf(s, 'aws_lb_listener').map(([, l]) => l);
      if (s.cfg.domain?.certificate_arn) {
        expect(listeners.some((l) => l.protocol === 'HTTPS' && l.certificate_arn === s.cfg.domain?.certificate_arn)).toBe(true);
        for (const l of listeners.filter((x) => x.protocol === 'HTTP')) expect(JSON.stringify(l.default_action)).toContain('"type":"redirect"');
      } else {
        expect(listeners.map((l) => l.protocol)).toEqual(['HTTP']);
      }
    }
  });

  it('only the ALB reaches the agent tasks', () => {
    for (const s of stacks.filter((x) => x.phase === 2)) {
      const task = resourcesOf(s, 'aws_security_group').find(([n]) => n.includes('task-sg'))?.[1] as { ingress: Array<Record<string, unknown>> };
      expect(task.ingress).toHaveLength(1);
      expect(task.ingress[0]).toMatchObject({ security_groups: [expect.stringContaining('alb-sg')] });
      expect(task.ingress[0]?.cidr_blocks ?? []).toEqual([]);
    }
  });
});

describe('policy: secrets', () => {
  it('no secret value anywhere in the synthesized JSON', () => {
    for (const s of stacks) {
      expect(resourcesOf(s, 'aws_secretsmanager_secret_version')).toHaveLength(0);
      expect(resourcesOf(s, 'aws_secretsmanager_secret').length).toBe(2);
      for (const [, u] of resourcesOf(s, 'aws_cognito_user')) {
        expect(u.temporary_password).toBeUndefined();
        expect(u.password).toBeUndefined();
      }
      expect(s.raw).not.toMatch(/AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{20,}|-----BEGIN [A-Z ]*PRIVATE KEY-----|"secret_string"|"(temporary_)?password"\s*:/);
    }
  });
});
