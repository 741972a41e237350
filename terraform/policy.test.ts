/**
 * The policy suite: each rule a named test, run over every resource of its type in every
 * environment and both phases (test names: "<rule> › <stack> phase <n>"), and over each
 * phase-2 stack with the other speech provider ("… phase 2 (speech <provider>)").
 */

import { agentModelId, allowedModelIds, imageModelId, SPEECH_PROVIDERS, type SpeechProvider } from './environment';
import { PROJECT_TABLE_KEYS, PROJECT_TABLES, type ProjectTable, type ProjectTableSchema } from './foundation';
import { ACTIONS_REQUIRING_STAR_RESOURCE, MANAGED_POLICY_ALLOWLIST, type Statement } from './iam';
import { allows, type Request } from './policy-eval';
import { ref, resourcesOf, synthAll, synthesize, targets, variant, type ResourceJson, type Synthesized } from './synth-support';

/** Narration's grants depend on the speech provider: every phase-2 stack with the other one too. */
const SPEECH_VARIANTS = targets()
  .filter((t) => t.phase === 2)
  .map((t) => {
    const other = SPEECH_PROVIDERS.find((p) => p !== t.cfg.speech.provider) as SpeechProvider;
    return variant(t, `speech ${other}`, { speech: { provider: other } });
  });
const ALL = [...targets(), ...SPEECH_VARIANTS];
const PHASE2 = ALL.filter((t) => t.phase === 2);
let stacks: Map<string, Synthesized>;
beforeAll(() => {
  stacks = synthAll(SPEECH_VARIANTS);
});
const stack = (label: string): Synthesized => stacks.get(label) as Synthesized;

const statementsOf = (policy: unknown): Statement[] => {
  const doc = JSON.parse(String(policy)) as { Statement: Statement | Statement[] };
  return Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
};
const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const one = (s: Synthesized, type: string, pick: (r: ResourceJson, name: string) => boolean = () => true): [string, ResourceJson] => {
  const found = resourcesOf(s, type).filter(([name, r]) => pick(r, name));
  expect([type, found.length]).toEqual([type, 1]);
  return found[0] as [string, ResourceJson];
};

/** Every policy document in the stack: IAM role inline policies, bucket policies, ECR repository policies. */
function policyDocuments(s: Synthesized): Array<{ where: string; statements: Statement[] }> {
  const docs: Array<{ where: string; statements: Statement[] }> = [];
  for (const [type, field] of [['aws_iam_role_policy', 'policy'], ['aws_s3_bucket_policy', 'policy'], ['aws_ecr_repository_policy', 'policy'], ['aws_iam_role', 'assume_role_policy']] as const) {
    for (const [name, r] of resourcesOf(s, type)) docs.push({ where: `${type}.${name}`, statements: statementsOf(r[field]) });
  }
  return docs;
}

/** The inline policy statements of the role an ARN reference (`${aws_iam_role.X.arn}`) points to. */
function roleStatements(s: Synthesized, roleArnRef: unknown): Statement[] {
  const roleName = /^\$\{aws_iam_role\.([^.]+)\.arn\}$/.exec(String(roleArnRef))?.[1];
  expect(roleName).toBeDefined();
  const policies = resourcesOf(s, 'aws_iam_role_policy').filter(([, p]) => p.role === ref('aws_iam_role', roleName ?? '?'));
  expect(policies.length).toBeGreaterThan(0);
  return policies.flatMap(([, p]) => statementsOf(p.policy));
}

describe('S3: every bucket blocks public access', () => {
  it.each(ALL)('$label', ({ label }) => {
    const s = stack(label);
    expect(resourcesOf(s, 'aws_s3_bucket')).toHaveLength(3);
    for (const [name] of resourcesOf(s, 'aws_s3_bucket')) {
      const [, pab] = one(s, 'aws_s3_bucket_public_access_block', (r) => r.bucket === ref('aws_s3_bucket', name));
      expect([name, pab]).toEqual([name, expect.objectContaining({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true })]);
    }
  });
});

describe('S3: every bucket encrypts at rest (SSE)', () => {
  it.each(ALL)('$label', ({ label }) => {
    const s = stack(label);
    for (const [name] of resourcesOf(s, 'aws_s3_bucket')) {
      const [, sse] = one(s, 'aws_s3_bucket_server_side_encryption_configuration', (r) => r.bucket === ref('aws_s3_bucket', name));
      expect([name, JSON.stringify(sse.rule)]).toEqual([name, expect.stringMatching(/"sse_algorithm":"(AES256|aws:kms)"/)]);
    }
  });
});

describe('S3: every bucket is versioned and has lifecycle rules', () => {
  it.each(ALL)('$label', ({ label }) => {
    const s = stack(label);
    for (const [name] of resourcesOf(s, 'aws_s3_bucket')) {
      const [, ver] = one(s, 'aws_s3_bucket_versioning', (r) => r.bucket === ref('aws_s3_bucket', name));
      expect([name, ver.versioning_configuration]).toEqual([name, { status: 'Enabled' }]);
      const [, lc] = one(s, 'aws_s3_bucket_lifecycle_configuration', (r) => r.bucket === ref('aws_s3_bucket', name));
      expect([name, JSON.stringify(lc.rule)]).toEqual([name, expect.stringContaining('"noncurrent_version_expiration"')]);
    }
  });
});

describe('S3: every bucket policy denies non-TLS requests', () => {
  it.each(ALL)('$label', ({ label }) => {
    const s = stack(label);
    for (const [name] of resourcesOf(s, 'aws_s3_bucket')) {
      const [, policy] = one(s, 'aws_s3_bucket_policy', (r) => r.bucket === ref('aws_s3_bucket', name));
      const deny = statementsOf(policy.policy).find((st) => st.Effect === 'Deny' && st.Principal === '*' && list(st.Action).includes('s3:*'));
      expect([name, deny?.Condition]).toEqual([name, { Bool: { 'aws:SecureTransport': 'false' } }]);
      expect([name, list(deny?.Resource)]).toEqual([name, [ref('aws_s3_bucket', name, 'arn'), `${ref('aws_s3_bucket', name, 'arn')}/*`]]);
    }
  });
});

describe('Resource policies: no Allow to an anonymous principal ("*")', () => {
  it.each(ALL)('$label', ({ label }) => {
    for (const { where, statements } of policyDocuments(stack(label))) {
      for (const st of statements.filter((x) => x.Effect === 'Allow')) {
        expect([where, st.Principal === '*' || JSON.stringify(st.Principal ?? {}).includes('"*"')]).toEqual([where, false]);
      }
    }
  });
});

describe('CloudFront: HTTPS to viewers, origin access control to the site bucket', () => {
  it.each(ALL)('$label', ({ label }) => {
    const s = stack(label);
    for (const [name, d] of resourcesOf(s, 'aws_cloudfront_distribution')) {
      expect([name, (d.default_cache_behavior as ResourceJson).viewer_protocol_policy]).toEqual([name, 'redirect-to-https']);
      for (const o of d.origin as ResourceJson[]) {
        // The site bucket through origin access control; the one custom origin is the agent's ALB
        // (its security group admits only CloudFront's origin-facing ranges: web-limits.test.ts).
        if (o.custom_origin_config) expect([name, String(o.domain_name)]).toEqual([name, expect.stringMatching(/^\$\{aws_lb\./)]);
        else expect([name, String(o.origin_access_control_id)]).toEqual([name, expect.stringContaining('aws_cloudfront_origin_access_control.')]);
      }
      const cert = d.viewer_certificate as ResourceJson;
      if (cert.acm_certificate_arn) expect(cert).toMatchObject({ ssl_support_method: 'sni-only', minimum_protocol_version: expect.stringMatching(/^TLSv1\.2/) });
    }
  });
});

describe('DynamoDB: the search cache table has the application\'s key, TTL on expires_at, PITR, SSE and the configured deletion protection', () => {
  it.each(ALL)('$label', ({ label }) => {
    const s = stack(label);
    const [, t] = one(s, 'aws_dynamodb_table', (x) => String(x.name).endsWith('-search-cache'));
    expect(t).toEqual(expect.objectContaining({
      name: `${s.name}-search-cache`,
      billing_mode: 'PAY_PER_REQUEST',
      hash_key: 'query',
      attribute: [{ name: 'query', type: 'S' }],
      ttl: { attribute_name: 'expires_at', enabled: true },
      point_in_time_recovery: { enabled: true },
      server_side_encryption: { enabled: true },
      deletion_protection_enabled: s.cfg.deletion_protection ?? s.cfg.environment === 'prod',
    }));
    expect(t.range_key).toBeUndefined();
  });
});

describe('DynamoDB: every table has point-in-time recovery and SSE', () => {
  it.each(ALL)('$label', ({ label }) => {
    const tables = resourcesOf(stack(label), 'aws_dynamodb_table');
    expect(tables.length).toBeGreaterThan(0);
    for (const [name, t] of tables) expect([name, t]).toEqual([name, expect.objectContaining({ point_in_time_recovery: { enabled: true }, server_side_encryption: { enabled: true } })]);
  });
});

describe('ECR: every repository scans on push, has immutable tags and keeps the last N images', () => {
  it.each(ALL)('$label', ({ label }) => {
    const s = stack(label);
    const repos = resourcesOf(s, 'aws_ecr_repository');
    expect(repos).toHaveLength(4);
    for (const [name, r] of repos) {
      expect([name, r]).toEqual([name, expect.objectContaining({ image_tag_mutability: 'IMMUTABLE', image_scanning_configuration: { scan_on_push: true } })]);
      const [, lc] = one(s, 'aws_ecr_lifecycle_policy', (p) => p.repository === ref('aws_ecr_repository', name, 'name'));
      expect(JSON.parse(String(lc.policy))).toMatchObject({ rules: [{ selection: { countType: 'imageCountMoreThan', countNumber: s.cfg.ecr_keep_images }, action: { type: 'expire' } }] });
    }
  });
});

describe('Logs: every log group has a retention; each Lambda and the agent log to their own', () => {
  it.each(ALL)('$label', ({ label }) => {
    const s = stack(label);
    const groups = resourcesOf(s, 'aws_cloudwatch_log_group');
    for (const [name, g] of groups) expect([name, g.retention_in_days]).toEqual([name, s.cfg.log_retention_days]);
    for (const [name, f] of resourcesOf(s, 'aws_lambda_function')) {
      expect([name, groups.filter(([, g]) => g.name === `/aws/lambda/${String(f.function_name)}`).length]).toEqual([name, 1]);
    }
    for (const [, t] of resourcesOf(s, 'aws_ecs_task_definition')) {
      const containers = JSON.parse(String(t.container_definitions)) as Array<{ logConfiguration: { logDriver: string; options: Record<string, string> } }>;
      for (const c of containers) {
        expect(c.logConfiguration.logDriver).toBe('awslogs');
        expect(groups.some(([name]) => c.logConfiguration.options['awslogs-group'] === ref('aws_cloudwatch_log_group', name, 'name'))).toBe(true);
      }
    }
    if (s.phase === 2) expect(groups.length).toBeGreaterThanOrEqual(5); // three Lambdas, the agent, API access logs
  });
});

describe('IAM: no statement allows a wildcard action', () => {
  it.each(ALL)('$label', ({ label }) => {
    for (const { where, statements } of policyDocuments(stack(label))) {
      for (const st of statements.filter((x) => x.Effect === 'Allow')) {
        for (const action of list(st.Action)) expect([where, action]).not.toEqual([where, expect.stringMatching(/\*/)]);
        // Identity and bucket policies name their resources; trust and ECR repository policies have none.
        if (/^aws_(iam_role_policy|s3_bucket_policy)\./.test(where)) expect([where, list(st.Resource).length > 0]).toEqual([where, true]);
      }
    }
  });
});

describe('IAM: statement ids are unique within each policy document (IAM rejects duplicates)', () => {
  it.each(ALL)('$label', ({ label }) => {
    for (const { where, statements } of policyDocuments(stack(label))) {
      const sids = statements.flatMap((st) => (st.Sid === undefined ? [] : [st.Sid]));
      expect([where, sids.filter((sid, i) => sids.indexOf(sid) !== i)]).toEqual([where, []]);
      for (const sid of sids) expect([where, sid]).toEqual([where, expect.stringMatching(/^[A-Za-z0-9]+$/)]);
    }
  });
});

describe(`IAM: no "*" resource, except for the actions AWS requires it for (${Object.keys(ACTIONS_REQUIRING_STAR_RESOURCE).join(', ')})`, () => {
  it.each(ALL)('$label', ({ label }) => {
    for (const { where, statements } of policyDocuments(stack(label))) {
      for (const st of statements.filter((x) => x.Effect === 'Allow' && list(x.Resource).includes('*'))) {
        expect([where, list(st.Action).filter((a) => !(a in ACTIONS_REQUIRING_STAR_RESOURCE))]).toEqual([where, []]);
      }
    }
  });
});

describe(`IAM: managed policies only from the allowlist (${Object.keys(MANAGED_POLICY_ALLOWLIST).map((a) => a.split('/').at(-1)).join(', ')})`, () => {
  it.each(ALL)('$label', ({ label }) => {
    const s = stack(label);
    for (const [name, a] of resourcesOf(s, 'aws_iam_role_policy_attachment')) expect([name, String(a.policy_arn) in MANAGED_POLICY_ALLOWLIST]).toEqual([name, true]);
    for (const [name, r] of resourcesOf(s, 'aws_iam_role')) expect([name, r.managed_policy_arns]).toEqual([name, undefined]);
    expect(resourcesOf(s, 'aws_iam_policy')).toEqual([]);
  });
});

/**
 * The agreed least-privilege contract with the application code: exactly these actions per
 * workload (the synthesized roles must match it, no more, no less).
 */
const LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
type LambdaWorkload = 'text-regen' | 'image-regen' | 'data-ops';
/** Narration (image-regen and the agent): Polly, or the external TTS API's key. */
const SPEECH: Record<SpeechProvider, string[]> = { polly: ['polly:SynthesizeSpeech'], external: ['secretsmanager:GetSecretValue'] };
const CONTRACT = (speech: SpeechProvider): Record<LambdaWorkload, string[]> => ({
  // The story routes only write tracking rows and the job-owner claim (conditional puts). Every
  // workload reads its system prompts (s3:GetObject). The project chat reads the project
  // (GetItem), its cards (Query, and their text) and writes and reads its history (PutItem, Query).
  'text-regen': ['dynamodb:PutItem', 'bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream', 's3:GetObject', 'dynamodb:GetItem', 'dynamodb:Query', ...LOGS],
  // Images and narration audio (users/<sub>/jobs/<job_id>/audio/) are the same users/*/jobs/* objects.
  'image-regen': ['s3:GetObject', 's3:PutObject', 'dynamodb:PutItem', 'secretsmanager:GetSecretValue', 'bedrock:InvokeModel', ...SPEECH[speech], ...LOGS],
  // Lists, reads (narration.json, presigned audio) and deletes a job's objects under users/*/jobs/*;
  // the prompt admin routes (list, versions, write) and the cards' text; project/card/history CRUD.
  'data-ops': [
    'dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem',
    's3:ListBucket', 's3:ListBucketVersions', 's3:GetObject', 's3:GetObjectVersion', 's3:PutObject', 's3:DeleteObject', ...LOGS,
  ],
});
const allowed = (statements: Statement[]) => statements.filter((st) => st.Effect === 'Allow');
const denied = (statements: Statement[]) => statements.filter((st) => st.Effect === 'Deny');
/**
 * The agent beyond the story routes: session owners read and deleted, a session's records
 * queried and batch-deleted (sessions table); the search cache read and written; session files
 * deleted and listed (media bucket).
 */
const AGENT_EXTRA = ['dynamodb:GetItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem', 's3:DeleteObject', 's3:ListBucket'];
const WORKLOAD_OF: Record<string, LambdaWorkload> = { 'story-text-regen': 'text-regen', 'story-image-regen': 'image-regen', 'data-ops': 'data-ops' };
const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();
const secretArn = (s: Synthesized, suffix: string) => ref('aws_secretsmanager_secret', one(s, 'aws_secretsmanager_secret', (x) => String(x.name).endsWith(suffix))[0], 'arn');

const ACCOUNT = '${data.aws_caller_identity.account.account_id}';
/** The suite's own copy of the geographies our environments' inference profiles use, and where they route. */
const PROFILE_REGIONS: Record<string, string> = { us: 'us-*', eu: 'eu-*', apac: 'ap-*' };
/** The Bedrock ARNs a model id may be granted as: the in-region model, or the profile and its geography's model. */
function modelArns(region: string, id: string): { direct: string; routed?: string } {
  const m = /^(us|eu|apac)\.(.+)$/.exec(id);
  if (!m) return { direct: `arn:aws:bedrock:${region}::foundation-model/${id}` };
  return { direct: `arn:aws:bedrock:${region}:${ACCOUNT}:inference-profile/${id}`, routed: `arn:aws:bedrock:${PROFILE_REGIONS[m[1] as string]}::foundation-model/${m[2]}` };
}

/** The stack's tables, media bucket and secrets, as the JSON refers to them. */
function stackTargets(s: Synthesized) {
  const [table] = one(s, 'aws_dynamodb_table', (t) => String(t.name).endsWith('-story-sessions'));
  const [searchTable] = one(s, 'aws_dynamodb_table', (t) => String(t.name).endsWith('-search-cache'));
  const [bucket] = one(s, 'aws_s3_bucket', (b) => String(b.bucket).includes('-story-images-'));
  const [prompts] = one(s, 'aws_s3_bucket', (b) => String(b.bucket).includes('-prompts-'));
  const projectTableArns = Object.fromEntries(
    PROJECT_TABLE_KEYS.map((key) => [key, ref('aws_dynamodb_table', one(s, 'aws_dynamodb_table', (t) => t.name === `${s.name}-${PROJECT_TABLES[key].suffix}`)[0], 'arn')]),
  ) as Record<ProjectTable, string>;
  return {
    tableArn: ref('aws_dynamodb_table', table, 'arn'),
    searchTableArn: ref('aws_dynamodb_table', searchTable, 'arn'),
    bucketArn: ref('aws_s3_bucket', bucket, 'arn'),
    promptsArn: ref('aws_s3_bucket', prompts, 'arn'),
    projectTableArns,
  };
}

/** A project table's index ARNs, as PROJECT_TABLES names them. */
const indexArnsOf = (tableArn: string, key: ProjectTable) => (PROJECT_TABLES[key].schema as ProjectTableSchema).indexes.map((i) => `${tableArn}/index/${i.name}`);
/** A card's key shape (lower-case UUIDs, `?` one character): `<project_id>/<prompt_id>.txt`, and a project's folder. */
const UUID_SHAPE = '????????-????-????-????-????????????';
const CARD_SHAPE = `${UUID_SHAPE}/${UUID_SHAPE}.txt`;

/** Where each action may point, given the stack's tables, images bucket, models and the two key secrets. */
function resourceRules(s: Synthesized): Array<[RegExp, (r: string) => boolean]> {
  const { tableArn, searchTableArn, bucketArn, promptsArn, projectTableArns } = stackTargets(s);
  const projectArns = new Set(PROJECT_TABLE_KEYS.flatMap((key) => [projectTableArns[key], ...indexArnsOf(projectTableArns[key], key)]));
  const secrets = [secretArn(s, '/google-api-key'), secretArn(s, '/tts-api-key')];
  const models = [...allowedModelIds(s.cfg), agentModelId(s.cfg), imageModelId(s.cfg)].map((id) => modelArns(s.cfg.region, id));
  const bedrockArns = new Set(models.flatMap((m) => [m.direct, ...(m.routed ? [m.routed] : [])]));
  return [
    // Which workload may use the search cache: the agent and Lambda tests below.
    // The project tables by name, their indexes by name (which workload gets which: tests below).
    [/^dynamodb:/, (r) => r === tableArn || r === `${tableArn}/index/*` || r === searchTableArn || projectArns.has(r)],
    // Jobs' media, or (the agent only: tests below) sessions; in the prompts bucket, the prompts and the cards' text.
    [/^s3:(Get|Put|Delete)Object(Version)?$/, (r) => [`${bucketArn}/users/*/jobs/*`, `${bucketArn}/users/*/sessions/*`, `${promptsArn}/prompts/*`, `${promptsArn}/${CARD_SHAPE}`].includes(r)],
    [/^s3:ListBucket(Versions)?$/, (r) => r === bucketArn || r === promptsArn],
    // Which workload may read which secret: the narration test below.
    [/^secretsmanager:GetSecretValue$/, (r) => secrets.includes(r)],
    // No resource-level permissions (ACTIONS_REQUIRING_STAR_RESOURCE); the condition is checked below.
    [/^polly:SynthesizeSpeech$/, (r) => r === '*'],
    // Named models only: the allowed text models, the agent's, the image model.
    [/^bedrock:/, (r) => bedrockArns.has(r)],
  ];
}

function checkResources(s: Synthesized, who: string, statements: Statement[], ownLogGroup?: string): void {
  const rules = resourceRules(s);
  const { promptsArn } = stackTargets(s);
  for (const st of statements) {
    for (const action of list(st.Action)) {
      for (const resource of list(st.Resource)) {
        if (action.startsWith('logs:')) {
          expect([who, action, resource]).toEqual([who, action, `${ownLogGroup ?? '?'}:*`]);
          continue;
        }
        const rule = rules.find(([re]) => re.test(action));
        if (rule) expect([who, action, resource, rule[1](resource)]).toEqual([who, action, resource, true]);
      }
      // Models in other regions only through the one inference profile (of this account and region) that routes there.
      if (action.startsWith('bedrock:') && list(st.Resource).some((r) => !r.startsWith(`arn:aws:bedrock:${s.cfg.region}:`))) {
        const routed = list(st.Resource);
        expect([who, routed.length]).toEqual([who, 1]);
        const model = String(routed[0]).split('foundation-model/')[1];
        expect([who, st.Condition]).toEqual([who, { StringEquals: { 'bedrock:InferenceProfileArn': expect.stringMatching(new RegExp(`^arn:aws:bedrock:${s.cfg.region}:\\$\\{[^}]+\\}:inference-profile/[a-z]+\\.${String(model).replace(/[.:]/g, '\\$&')}$`)) } }]);
      }
      // Listing only under jobs' or sessions' prefixes, or under prompts/ in the prompts bucket (which workload gets which: tests below).
      if (/^s3:ListBucket(Versions)?$/.test(action)) {
        const prefix = list(st.Resource).includes(promptsArn) ? expect.stringMatching(/^(prompts\/\*|\?{8}-\?{4}-\?{4}-\?{4}-\?{12}\/)$/) : expect.stringMatching(/^users\/\*\/(jobs|sessions)\/\*$/);
        expect([who, list(st.Resource).length, st.Condition]).toEqual([who, 1, { StringLike: { 's3:prefix': prefix } }]);
      }
      if (action.startsWith('polly:')) expect([who, action, st.Condition]).toEqual([who, action, { StringEquals: { 'aws:RequestedRegion': s.cfg.region } }]);
    }
  }
}

describe('IAM: each Lambda has its own role with exactly the agreed actions, on its own resources', () => {
  it.each(PHASE2)('$label', ({ label }) => {
    const s = stack(label);
    const fns = resourcesOf(s, 'aws_lambda_function');
    expect(new Set(fns.map(([, f]) => f.role)).size).toBe(3);
    for (const [name, f] of fns) {
      const workload = WORKLOAD_OF[String(f.function_name).slice(s.name.length + 1)];
      expect([name, workload]).toEqual([name, expect.any(String)]);
      const statements = roleStatements(s, f.role);
      expect([workload, sorted(allowed(statements).flatMap((st) => list(st.Action)))]).toEqual([workload, sorted(CONTRACT(s.cfg.speech.provider)[workload as LambdaWorkload])]);
      expect([workload, denied(statements)]).toEqual([workload, []]);
      const [group] = one(s, 'aws_cloudwatch_log_group', (g) => g.name === `/aws/lambda/${String(f.function_name)}`);
      checkResources(s, String(workload), statements, ref('aws_cloudwatch_log_group', group, 'arn'));
    }
  });
});

describe('IAM: the ECS task role has text-regen + image-regen access plus the agent\'s own; the execution role pulls its own repository and writes its own logs', () => {
  it.each(PHASE2)('$label', ({ label }) => {
    const s = stack(label);
    const [, task] = one(s, 'aws_ecs_task_definition');
    const taskStatements = roleStatements(s, task.task_role_arn);
    const dataActions = (w: LambdaWorkload) => CONTRACT(s.cfg.speech.provider)[w].filter((a) => !a.startsWith('logs:'));
    expect(sorted(allowed(taskStatements).flatMap((st) => list(st.Action)))).toEqual(sorted([...dataActions('text-regen'), ...dataActions('image-regen'), ...AGENT_EXTRA]));
    expect(denied(taskStatements)).toEqual([]);
    checkResources(s, 'agent task', taskStatements);

    const execStatements = roleStatements(s, task.execution_role_arn);
    expect(sorted(execStatements.flatMap((st) => list(st.Action)))).toEqual(sorted(['ecr:GetAuthorizationToken', 'ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage', ...LOGS]));
    const [agentRepo] = one(s, 'aws_ecr_repository', (r) => String(r.name).endsWith('-story-agent'));
    const [agentLogs] = one(s, 'aws_cloudwatch_log_group', (g) => String(g.name).startsWith('/ecs/'));
    for (const st of execStatements) {
      for (const action of list(st.Action)) {
        const expected = action === 'ecr:GetAuthorizationToken' ? ['*'] : action.startsWith('ecr:') ? [ref('aws_ecr_repository', agentRepo, 'arn')] : [`${ref('aws_cloudwatch_log_group', agentLogs, 'arn')}:*`];
        expect([action, list(st.Resource)]).toEqual([action, expected]);
      }
    }
  });
});

/** Each workload's data statements (its role's inline policies), by workload. */
function workloadStatements(s: Synthesized): Record<LambdaWorkload | 'agent', Statement[]> {
  const out = {} as Record<LambdaWorkload | 'agent', Statement[]>;
  for (const [, f] of resourcesOf(s, 'aws_lambda_function')) {
    out[WORKLOAD_OF[String(f.function_name).slice(s.name.length + 1)] as LambdaWorkload] = roleStatements(s, f.role);
  }
  out.agent = roleStatements(s, one(s, 'aws_ecs_task_definition')[1].task_role_arn);
  expect(Object.keys(out).sort()).toEqual(['agent', 'data-ops', 'image-regen', 'text-regen']);
  return out;
}

const SESSION = '20260101t000000-abcd1234';
/** Every file the agent's session store reads, writes or deletes (src/aws/s3-agent-sessions.ts). */
const SESSION_KEYS = ['metadata.json', 'conversation.json', 'artifacts/notes/outline.md', 'logs/0001767225600000-000001ab12.json'].map((f) => `users/u-1/sessions/${SESSION}/${f}`);
/** The prefixes it lists: a user's sessions (with "/" as delimiter), one session, its artifacts. */
const SESSION_LIST_PREFIXES = ['users/u-1/sessions/', `users/u-1/sessions/${SESSION}/`, `users/u-1/sessions/${SESSION}/artifacts/`];
const JOB_KEYS = ['users/u-1/jobs/job-1/segment_1.png', 'users/u-1/jobs/job-1/audio/section_1.mp3', 'users/u-1/jobs/job-1/audio/narration.json'];
const OBJECT_ACTIONS = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'];
/** System prompts in the prompts bucket (src/core/prompt-store.ts promptKey: prompts/<assistant>/<name>.md). */
const PROMPT_KEYS = ['prompts/story/system.md', 'prompts/story-agent/instructions.md', 'prompts/x.md'];
/** Prompt cards' text: <project_id>/<prompt_id>.txt, both ids UUIDs (src/aws/s3-card-text.ts). */
const PROJECT_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const CARD_KEYS = [`${PROJECT_ID}/7c9e6679-7425-40de-944b-e07fc1f90ae7.txt`, '16fd2706-8baf-433b-82eb-8c7fada847da/886313e1-3b8a-4372-9b90-0c9aee199e5d.txt'];
/** Keys in the prompts bucket that are neither: nobody may touch them. */
const OTHER_PROMPT_BUCKET_KEYS = [
  'index.html', 'x.txt', 'proj-1/card-1.txt', `${PROJECT_ID}/7c9e6679-7425-40de-944b-e07fc1f90ae7.md`, `${PROJECT_ID}/7c9e6679-7425-40de-944b-e07fc1f90ae7.txt.bak`,
  `${PROJECT_ID}/x/7c9e6679-7425-40de-944b-e07fc1f90ae7.txt`, 'prompt-history/story/system/0000000000001-0a1b2c3d.md', 'users/u-1/jobs/job-1/segment_1.png',
];
/** Every object action on a versioned bucket's objects. */
const ALL_OBJECT_ACTIONS = [...OBJECT_ACTIONS, 's3:GetObjectVersion', 's3:DeleteObjectVersion', 's3:PutObjectAcl', 's3:PutObjectTagging', 's3:RestoreObject'];
const TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:DescribeTable'];
const INVOKE = ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'];
/** Models no role may call: not allowed, not the agent's, not the image model. */
const OTHER_MODELS = ['amazon.titan-text-express-v1', 'us.anthropic.claude-3-7-sonnet-20250219-v1:0', 'anthropic.claude-3-haiku-20240307-v1:0', 'us.meta.llama3-3-70b-instruct-v1:0'];

/** "<who> may <action> <resource> [context]" for every request, compared as one list so a failure names them all. */
function expectAccess(who: string, statements: Statement[], requests: Request[], allowed: boolean): void {
  const show = (r: Request) => `${who} ${r.action} ${r.resource}${r.context ? ` ${JSON.stringify(r.context)}` : ''}`;
  expect(requests.map((r) => [show(r), allows(statements, r)])).toEqual(requests.map((r) => [show(r), allowed]));
}

/** How a model is called: the profile in this region, and the model wherever the profile routes (with the profile in the context); or the model here. */
function modelCalls(region: string, id: string, actions = INVOKE): Request[] {
  const m = /^(us|eu|apac|global)\.(.+)$/.exec(id);
  if (!m) return actions.map((action) => ({ action, resource: `arn:aws:bedrock:${region}::foundation-model/${id}` }));
  const profile = `arn:aws:bedrock:${region}:${ACCOUNT}:inference-profile/${id}`;
  const routedTo = m[1] === 'us' ? ['us-east-1', 'us-east-2', 'us-west-2'] : [region];
  return actions.flatMap((action) => [
    { action, resource: profile },
    ...routedTo.map((r) => ({ action, resource: `arn:aws:bedrock:${r}::foundation-model/${m[2]}`, context: { 'bedrock:InferenceProfileArn': profile } })),
  ]);
}

describe('IAM: the agent reaches its sessions (users/*/sessions/*), the search cache and its model — and nothing it did not have besides', () => {
  it.each(PHASE2)('$label', ({ label }) => {
    const s = stack(label);
    const { tableArn, searchTableArn, bucketArn, promptsArn } = stackTargets(s);
    const agent = workloadStatements(s).agent;
    const region = s.cfg.region;

    // Sessions: read, write, delete every file; list under every prefix the store lists.
    expectAccess('agent', agent, SESSION_KEYS.flatMap((key) => OBJECT_ACTIONS.map((action) => ({ action, resource: `${bucketArn}/${key}` }))), true);
    expectAccess('agent', agent, SESSION_LIST_PREFIXES.map((prefix) => ({ action: 's3:ListBucket', resource: bucketArn, context: { 's3:prefix': prefix } })), true);
    // ... and S3 answers a missing session file 404, not 403: ListBucket holds with the key as prefix.
    expectAccess('agent', agent, SESSION_KEYS.map((key) => ({ action: 's3:ListBucket', resource: bucketArn, context: { 's3:prefix': key } })), true);
    // Jobs' media: read and written by the story routes, as before; never deleted or listed.
    expectAccess('agent', agent, JOB_KEYS.flatMap((key) => ['s3:GetObject', 's3:PutObject'].map((action) => ({ action, resource: `${bucketArn}/${key}` }))), true);
    expectAccess('agent', agent, JOB_KEYS.map((key) => ({ action: 's3:DeleteObject', resource: `${bucketArn}/${key}` })), false);
    // Nothing outside users/<sub>/jobs|sessions/, no other bucket, no listing beyond sessions.
    const elsewhere = ['users/u-1/profile.json', 'users/u-1/other/x.json', 'shared/x.json', 'x.json', `sessions/${SESSION}/metadata.json`];
    expectAccess('agent', agent, elsewhere.flatMap((key) => OBJECT_ACTIONS.map((action) => ({ action, resource: `${bucketArn}/${key}` }))), false);
    // In the prompts bucket it reads the prompts only (the prompts tests below): no sessions there, no cards, no writes.
    expectAccess('agent', agent, [...SESSION_KEYS, ...CARD_KEYS].flatMap((key) => OBJECT_ACTIONS.map((action) => ({ action, resource: `${promptsArn}/${key}` }))), false);
    expectAccess('agent', agent, PROMPT_KEYS.flatMap((key) => ['s3:PutObject', 's3:DeleteObject'].map((action) => ({ action, resource: `${promptsArn}/${key}` }))), false);
    expectAccess('agent', agent, [
      ...['users/u-1/jobs/', 'users/u-1/jobs/job-1/', 'users/', 'users/u-1/', ''].map((prefix) => ({ action: 's3:ListBucket', resource: bucketArn, context: { 's3:prefix': prefix } })),
      { action: 's3:ListBucket', resource: bucketArn },
      { action: 's3:ListBucket', resource: promptsArn, context: { 's3:prefix': 'users/u-1/sessions/' } },
    ], false);

    // The search cache: GetItem and PutItem (src/aws/search-cache.ts), nothing else.
    expectAccess('agent', agent, ['dynamodb:GetItem', 'dynamodb:PutItem'].map((action) => ({ action, resource: searchTableArn })), true);
    expectAccess('agent', agent, TABLE_ACTIONS.filter((a) => !['dynamodb:GetItem', 'dynamodb:PutItem'].includes(a)).map((action) => ({ action, resource: searchTableArn })), false);
    expectAccess('agent', agent, TABLE_ACTIONS.map((action) => ({ action, resource: `${searchTableArn}/index/any` })), false);
    // The sessions table: claims (puts), a session's owner item read and deleted, its records queried and batch-deleted...
    expectAccess('agent', agent, [
      { action: 'dynamodb:PutItem', resource: tableArn },
      ...['dynamodb:GetItem', 'dynamodb:DeleteItem'].map((action) => ({ action, resource: tableArn, context: { 'dynamodb:LeadingKeys': [`#job#agent-session:${SESSION}`] } })),
      ...['dynamodb:Query', 'dynamodb:BatchWriteItem'].map((action) => ({ action, resource: tableArn, context: { 'dynamodb:LeadingKeys': ['u-1'] } })),
    ], true);
    // ... but not the story jobs' owner items, no updates, scans or indexes.
    expectAccess('agent', agent, [
      ...['dynamodb:GetItem', 'dynamodb:DeleteItem'].map((action) => ({ action, resource: tableArn, context: { 'dynamodb:LeadingKeys': ['#job#job-1'] } })),
      ...['dynamodb:UpdateItem', 'dynamodb:Scan', 'dynamodb:BatchGetItem'].map((action) => ({ action, resource: tableArn })),
      ...TABLE_ACTIONS.map((action) => ({ action, resource: `${tableArn}/index/TimestampIndex` })),
    ], false);
    // No other table.
    const other = `arn:aws:dynamodb:${region}:${ACCOUNT}:table/${s.name}-other`;
    expectAccess('agent', agent, TABLE_ACTIONS.map((action) => ({ action, resource: other })), false);

    // Its own model (and the story routes' allowed models), streamed or not; no other model.
    expectAccess('agent', agent, modelCalls(region, agentModelId(s.cfg)), true);
    expectAccess('agent', agent, allowedModelIds(s.cfg).flatMap((id) => modelCalls(region, id)), true);
    expectAccess('agent', agent, OTHER_MODELS.flatMap((id) => modelCalls(region, id)), false);
    // A profile's model only through that profile (not called directly elsewhere, not through another profile).
    const routed = /^us\.(.+)$/.exec(agentModelId(s.cfg))?.[1];
    if (routed) {
      expectAccess('agent', agent, [
        ...INVOKE.map((action) => ({ action, resource: `arn:aws:bedrock:us-east-2::foundation-model/${routed}` })),
        ...INVOKE.map((action) => ({ action, resource: `arn:aws:bedrock:us-east-2::foundation-model/${routed}`, context: { 'bedrock:InferenceProfileArn': `arn:aws:bedrock:${region}:${ACCOUNT}:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0` } })),
        ...INVOKE.map((action) => ({ action, resource: `arn:aws:bedrock:eu-west-1::foundation-model/${routed}`, context: { 'bedrock:InferenceProfileArn': `arn:aws:bedrock:${region}:${ACCOUNT}:inference-profile/${agentModelId(s.cfg)}` } })),
        ...INVOKE.map((action) => ({ action, resource: `arn:aws:bedrock:${region}:999999999999:inference-profile/${agentModelId(s.cfg)}` })),
      ], false);
    }
  });
});

describe('IAM: the Lambdas cannot reach the agent\'s sessions or the search cache; each reaches only its own prefix and models', () => {
  it.each(PHASE2)('$label', ({ label }) => {
    const s = stack(label);
    const { tableArn, searchTableArn, bucketArn } = stackTargets(s);
    const roles = workloadStatements(s);
    const region = s.cfg.region;
    for (const workload of ['text-regen', 'image-regen', 'data-ops'] as const) {
      const statements = roles[workload];
      expectAccess(workload, statements, SESSION_KEYS.flatMap((key) => OBJECT_ACTIONS.map((action) => ({ action, resource: `${bucketArn}/${key}` }))), false);
      expectAccess(workload, statements, [...SESSION_LIST_PREFIXES, ...SESSION_KEYS].map((prefix) => ({ action: 's3:ListBucket', resource: bucketArn, context: { 's3:prefix': prefix } })), false);
      expectAccess(workload, statements, TABLE_ACTIONS.map((action) => ({ action, resource: searchTableArn })), false);
      expect([workload, JSON.stringify(statements).includes(searchTableArn)]).toEqual([workload, false]);
      expectAccess(workload, statements, OTHER_MODELS.flatMap((id) => modelCalls(region, id)), false);
    }
    // What each still does: text models (text-regen), job media and the image model (image-regen), jobs' listing and deletes (data-ops).
    expectAccess('text-regen', roles['text-regen'], allowedModelIds(s.cfg).flatMap((id) => modelCalls(region, id)), true);
    expectAccess('text-regen', roles['text-regen'], [{ action: 'dynamodb:PutItem', resource: tableArn }], true);
    expectAccess('image-regen', roles['image-regen'], [...JOB_KEYS.flatMap((key) => ['s3:GetObject', 's3:PutObject'].map((action) => ({ action, resource: `${bucketArn}/${key}` }))), ...modelCalls(region, imageModelId(s.cfg), ['bedrock:InvokeModel'])], true);
    // The image Lambda calls the image model only (no text model, no streaming).
    expectAccess('image-regen', roles['image-regen'], [...allowedModelIds(s.cfg).flatMap((id) => modelCalls(region, id)), ...modelCalls(region, imageModelId(s.cfg), ['bedrock:InvokeModelWithResponseStream'])], false);
    expectAccess('data-ops', roles['data-ops'], [
      ...JOB_KEYS.flatMap((key) => ['s3:GetObject', 's3:DeleteObject'].map((action) => ({ action, resource: `${bucketArn}/${key}` }))),
      ...['users/u-1/jobs/job-1/', 'users/u-1/jobs/job-1/audio/'].map((prefix) => ({ action: 's3:ListBucket', resource: bucketArn, context: { 's3:prefix': prefix } })),
    ], true);
    expectAccess('data-ops', roles['data-ops'], [
      ...['users/u-1/', 'users/', 'users/u-1/profile/'].map((prefix) => ({ action: 's3:ListBucket', resource: bucketArn, context: { 's3:prefix': prefix } })),
      ...['users/u-1/profile.json', 'users/u-1/other/x.json'].map((key) => ({ action: 's3:DeleteObject', resource: `${bucketArn}/${key}` })),
    ], false);
  });
});

/** Every role's inline policies, by the role's logical name, labelled with its workload where it has one. */
function everyRole(s: Synthesized): Array<{ role: string; who: string; statements: Statement[] }> {
  const roleName = (reference: unknown) => /^\$\{aws_iam_role\.([^.]+)\.(arn|id)\}$/.exec(String(reference))?.[1] ?? `? ${String(reference)}`;
  const workloadOf = new Map<string, string>();
  for (const [, f] of resourcesOf(s, 'aws_lambda_function')) workloadOf.set(roleName(f.role), WORKLOAD_OF[String(f.function_name).slice(s.name.length + 1)] ?? '?');
  for (const [, t] of resourcesOf(s, 'aws_ecs_task_definition')) workloadOf.set(roleName(t.task_role_arn), 'agent');
  const byRole = new Map<string, Statement[]>();
  for (const [, p] of resourcesOf(s, 'aws_iam_role_policy')) byRole.set(roleName(p.role), [...(byRole.get(roleName(p.role)) ?? []), ...statementsOf(p.policy)]);
  for (const [name] of resourcesOf(s, 'aws_iam_role')) if (!byRole.has(name)) byRole.set(name, []);
  return [...byRole].map(([role, statements]) => ({ role, who: workloadOf.get(role) ?? role, statements }));
}

describe('IAM: the prompts bucket — every Lambda and the agent read prompts/*; only data-ops writes prompts (and never deletes them); text-regen reads the cards and writes nothing; nobody else writes the bucket', () => {
  it.each(PHASE2)('$label', ({ label }) => {
    const s = stack(label);
    const { promptsArn } = stackTargets(s);
    const roles = workloadStatements(s);
    const objects = (keys: string[], actions: string[]): Request[] => keys.flatMap((key) => actions.map((action) => ({ action, resource: `${promptsArn}/${key}` })));
    const listing = (prefixes: Array<string | undefined>, actions = ['s3:ListBucket', 's3:ListBucketVersions']): Request[] =>
      prefixes.flatMap((prefix) => actions.map((action) => ({ action, resource: promptsArn, ...(prefix === undefined ? {} : { context: { 's3:prefix': prefix } }) })));

    // Every workload reads the prompts (a conditional GetObject); nothing in the bucket is anyone's beyond its grants.
    for (const workload of ['text-regen', 'image-regen', 'data-ops', 'agent'] as const) {
      const statements = roles[workload];
      expectAccess(workload, statements, objects(PROMPT_KEYS, ['s3:GetObject']), true);
      expectAccess(workload, statements, objects(OTHER_PROMPT_BUCKET_KEYS, ALL_OBJECT_ACTIONS), false);
      expectAccess(workload, statements, objects([...PROMPT_KEYS, ...CARD_KEYS], ['s3:DeleteObjectVersion', 's3:PutObjectAcl', 's3:PutObjectTagging', 's3:RestoreObject']), false);
      expectAccess(workload, statements, [...listing([undefined, '', 'proj-1/', 'users/', 'x.txt', 'prompts', 'prompt-history/']), ...listing([`${PROJECT_ID}/`], ['s3:ListBucketVersions'])], false);
    }
    // Readers only: no versions, no writes, no cards, no listing.
    for (const workload of ['image-regen', 'agent'] as const) {
      expectAccess(workload, roles[workload], [...objects(PROMPT_KEYS, ['s3:GetObjectVersion', 's3:PutObject', 's3:DeleteObject']), ...objects(CARD_KEYS, OBJECT_ACTIONS)], false);
      expectAccess(workload, roles[workload], listing(['prompts/', 'prompts/story/', `${PROJECT_ID}/`]), false);
    }
    // The chat (text-regen) reads the cards' text too, and writes nothing.
    expectAccess('text-regen', roles['text-regen'], objects(CARD_KEYS, ['s3:GetObject']), true);
    expectAccess('text-regen', roles['text-regen'], [...objects([...PROMPT_KEYS, ...CARD_KEYS], ['s3:PutObject', 's3:DeleteObject', 's3:GetObjectVersion']), ...listing(['prompts/', 'prompts/story/', `${PROJECT_ID}/`])], false);
    // data-ops: the admin routes (list, versions, one version, a new version) and the cards' text (read, write, delete; a project's listed to delete them).
    expectAccess('data-ops', roles['data-ops'], [
      ...objects(PROMPT_KEYS, ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject']),
      ...objects(CARD_KEYS, ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']),
      ...listing(['prompts/', 'prompts/story/', 'prompts/story/system.md']),
      ...listing([`${PROJECT_ID}/`], ['s3:ListBucket']),
    ], true);
    // ... but never deletes a prompt or a version of one: the cards' grants cannot reach prompts/ (a card key is two UUIDs).
    expectAccess('data-ops', roles['data-ops'], [
      ...objects([...PROMPT_KEYS, 'prompts/story/system.txt', `prompts/${CARD_KEYS[0]}`, `prompts/${PROJECT_ID}/x.txt`], ['s3:DeleteObject', 's3:DeleteObjectVersion']),
      ...objects(CARD_KEYS, ['s3:GetObjectVersion', 's3:DeleteObjectVersion']),
    ], false);

    // Whatever the role (the Lambdas, the agent's task and execution roles, API Gateway's): only data-ops writes or deletes anything in the bucket.
    const writes = objects([...PROMPT_KEYS, ...CARD_KEYS, ...OTHER_PROMPT_BUCKET_KEYS], ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion']);
    const writers = everyRole(s).filter(({ statements }) => writes.some((r) => allows(statements, r))).map(({ who }) => who);
    expect(writers).toEqual(['data-ops']);
    // And the bucket policy allows no one anything (its only statement denies plain HTTP).
    const [prompts] = one(s, 'aws_s3_bucket', (b) => String(b.bucket).includes('-prompts-'));
    const [, policy] = one(s, 'aws_s3_bucket_policy', (p) => p.bucket === ref('aws_s3_bucket', prompts));
    expect(statementsOf(policy.policy).map((st) => st.Effect)).toEqual(['Deny']);
  });
});

/**
 * The project tables: who may do what. The suite's own copy of the grants (the application
 * engineer's plan for issue 11), against the tables and indexes PROJECT_TABLES declares.
 */
const PROJECT_GRANTS: Record<LambdaWorkload | 'agent', Partial<Record<ProjectTable, { table: string[]; indexes: string[] }>>> = {
  'data-ops': {
    projects: { table: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'], indexes: ['dynamodb:Query'] },
    promptCards: { table: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem'], indexes: ['dynamodb:Query'] }, // (any index it gets)
    chatHistory: { table: ['dynamodb:Query', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem'], indexes: ['dynamodb:Query'] },
  },
  'text-regen': {
    projects: { table: ['dynamodb:GetItem'], indexes: [] },
    promptCards: { table: ['dynamodb:Query'], indexes: [] },
    chatHistory: { table: ['dynamodb:PutItem', 'dynamodb:Query'], indexes: [] },
  },
  'image-regen': {},
  agent: {},
};
const MORE_TABLE_ACTIONS = [...TABLE_ACTIONS, 'dynamodb:ConditionCheckItem', 'dynamodb:PartiQLSelect', 'dynamodb:PartiQLInsert', 'dynamodb:UpdateTimeToLive', 'dynamodb:DeleteTable', 'dynamodb:ExportTableToPointInTime'];

describe('IAM: the project tables (projects, prompt cards, chat history) — data-ops and text-regen reach exactly their grants; no other role reaches them', () => {
  it('the grants name every project table', () => {
    expect(sorted(Object.keys(PROJECT_GRANTS['data-ops']))).toEqual(sorted(PROJECT_TABLE_KEYS));
    expect(sorted(Object.keys(PROJECT_GRANTS['text-regen']))).toEqual(sorted(PROJECT_TABLE_KEYS));
  });

  it.each(PHASE2)('$label', ({ label }) => {
    const s = stack(label);
    const { projectTableArns } = stackTargets(s);
    const roles = workloadStatements(s);
    for (const workload of ['text-regen', 'image-regen', 'data-ops', 'agent'] as const) {
      for (const key of PROJECT_TABLE_KEYS) {
        const grant = PROJECT_GRANTS[workload][key] ?? { table: [], indexes: [] };
        const tableArn = projectTableArns[key];
        const requests = MORE_TABLE_ACTIONS.map((action) => ({ action, resource: tableArn, context: { 'dynamodb:LeadingKeys': ['p-1'] } }));
        // Every index the table has, and one it has not.
        const indexes = indexArnsOf(tableArn, key);
        const indexRequests = indexes.flatMap((resource) => MORE_TABLE_ACTIONS.map((action) => ({ action, resource })));
        const show = (r: Request) => `${workload} ${r.action} ${r.resource}`;
        expect(requests.map((r) => [show(r), allows(roles[workload], r)])).toEqual(requests.map((r) => [show(r), grant.table.includes(r.action)]));
        expect(indexRequests.map((r) => [show(r), allows(roles[workload], r)])).toEqual(indexRequests.map((r) => [show(r), grant.indexes.includes(r.action)]));
        expectAccess(workload, roles[workload], MORE_TABLE_ACTIONS.map((action) => ({ action, resource: `${tableArn}/index/other-index` })), false);
        expectAccess(workload, roles[workload], MORE_TABLE_ACTIONS.map((action) => ({ action, resource: `${tableArn}/stream/2026-01-01T00:00:00.000` })), false);
      }
    }
    // No other role names a project table at all (the agent's task and execution roles, API Gateway's).
    const naming = everyRole(s)
      .filter(({ statements }) => PROJECT_TABLE_KEYS.some((key) => JSON.stringify(statements).includes(projectTableArns[key])))
      .map(({ who }) => who);
    expect(sorted(naming)).toEqual(['data-ops', 'text-regen']);
  });
});

describe('DynamoDB: the projects, prompt cards and chat history tables have the application\'s key schemas (PROJECT_TABLES); chat history expires by TTL on expires_at; PITR, SSE and the configured deletion protection on all three', () => {
  it.each(ALL)('$label', ({ label }) => {
    const s = stack(label);
    for (const key of PROJECT_TABLE_KEYS) {
      const { suffix, schema }: { suffix: string; schema: ProjectTableSchema } = PROJECT_TABLES[key];
      const [name, t] = one(s, 'aws_dynamodb_table', (x) => x.name === `${s.name}-${suffix}`);
      expect([key, t]).toEqual([key, expect.objectContaining({
        billing_mode: 'PAY_PER_REQUEST',
        hash_key: schema.hashKey,
        attribute: schema.attributes.map((a) => ({ ...a })),
        point_in_time_recovery: { enabled: true },
        server_side_encryption: { enabled: true },
        deletion_protection_enabled: s.cfg.deletion_protection ?? s.cfg.environment === 'prod',
      })]);
      expect([key, t.range_key]).toEqual([key, schema.rangeKey]);
      // Declared attributes are exactly the key attributes of the table and its indexes (DynamoDB rejects any other).
      const indexes = (t.global_secondary_index as ResourceJson[] | undefined) ?? [];
      const keyNames = [t.hash_key, t.range_key, ...indexes.flatMap((i) => [i.hash_key, i.range_key])].filter((n) => n !== undefined).map(String);
      expect([key, sorted((t.attribute as Array<{ name: string }>).map((a) => a.name))]).toEqual([key, sorted(keyNames)]);
      expect([key, indexes]).toEqual([key, schema.indexes.map((i) => expect.objectContaining({ name: i.name, hash_key: i.hashKey, range_key: i.rangeKey, projection_type: i.projectionType }))]);
      expect([key, t.ttl]).toEqual([key, schema.ttlAttribute ? { attribute_name: schema.ttlAttribute, enabled: true } : undefined]);
      expect([key, s.json.output?.[`${suffix.replace(/-/g, '_')}_table_name`]?.value]).toEqual([key, ref('aws_dynamodb_table', name, 'name')]);
      expect([key, s.json.output?.[`${suffix.replace(/-/g, '_')}_table_arn`]?.value]).toEqual([key, ref('aws_dynamodb_table', name, 'arn')]);
    }
    // The chat history's exchanges expire (STORY42_CHAT_HISTORY_TTL_DAYS sets expires_at); projects and cards stay.
    const ttls = Object.fromEntries(resourcesOf(s, 'aws_dynamodb_table').map(([, t]) => [String(t.name).slice(s.name.length + 1), t.ttl]));
    expect(ttls).toMatchObject({ 'chat-history': { attribute_name: 'expires_at', enabled: true }, projects: undefined, 'prompt-cards': undefined });
  });
});

describe('S3: the prompts bucket keeps replaced versions prompts.noncurrent_version_days at most; every bucket aborts incomplete uploads after 7 days', () => {
  const lifecycleOf = (s: Synthesized, suffix: string) => {
    // Names end with the account id (globally unique): <prefix><suffix>-${data.aws_caller_identity…}.
    const [bucket] = one(s, 'aws_s3_bucket', (b) => String(b.bucket).includes(`${suffix}-\${data.aws_caller_identity.`));
    return one(s, 'aws_s3_bucket_lifecycle_configuration', (r) => r.bucket === ref('aws_s3_bucket', bucket))[1].rule as ResourceJson[];
  };
  const promptRules = (days: number) => [
    expect.objectContaining({ id: 'expire-old-versions', status: 'Enabled', filter: [{ prefix: '' }], noncurrent_version_expiration: [{ noncurrent_days: days }], abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }] }),
  ];

  it.each(ALL)('$label', ({ label }) => {
    const s = stack(label);
    expect(lifecycleOf(s, '-prompts')).toEqual(promptRules(s.cfg.prompts.noncurrent_version_days));
    // Every environment file today: the defaults.
    expect(s.cfg.prompts).toMatchObject({ noncurrent_version_days: 90 });
    for (const [name] of resourcesOf(s, 'aws_s3_bucket')) {
      const [, lc] = one(s, 'aws_s3_bucket_lifecycle_configuration', (r) => r.bucket === ref('aws_s3_bucket', name));
      expect([name, (lc.rule as ResourceJson[])[0]?.abort_incomplete_multipart_upload]).toEqual([name, [{ days_after_initiation: 7 }]]);
    }
    // One rule per bucket.
    for (const suffix of ['-prompts', '-story-images', '-site']) expect([suffix, lifecycleOf(s, suffix).length]).toEqual([suffix, 1]);
  });

  it('other settings reach the rules as they are', () => {
    const base = targets()[0] as (typeof ALL)[number];
    const s = synthesize(variant(base, 'prompt history 7 days', { prompts: { ...base.cfg.prompts, noncurrent_version_days: 7 } }));
    expect(lifecycleOf(s, '-prompts')).toEqual(promptRules(7));
  });
});

describe('IAM: narration — image-regen and the agent get exactly the configured speech engine (Polly or the TTS key), no other role either', () => {
  it('the suite covers every deployable speech provider', () => {
    expect(sorted(PHASE2.map((t) => t.cfg.speech.provider))).toEqual(sorted(SPEECH_PROVIDERS));
  });

  it.each(PHASE2)('$label', ({ label }) => {
    const s = stack(label);
    const provider = s.cfg.speech.provider;
    const roleName = (reference: unknown) => /^\$\{aws_iam_role\.([^.]+)\.(arn|id)\}$/.exec(String(reference))?.[1] ?? `? ${String(reference)}`;
    const fnRole = (suffix: string) => roleName(one(s, 'aws_lambda_function', (f) => f.function_name === `${s.name}-${suffix}`)[1].role);
    const [, task] = one(s, 'aws_ecs_task_definition');
    const narrating = sorted([fnRole('story-image-regen'), roleName(task.task_role_arn)]);
    const imageKey = secretArn(s, '/google-api-key');
    const ttsKey = secretArn(s, '/tts-api-key');

    // Every role's grants, whatever the role: who may call Polly, who may read which secret.
    const polly = new Set<string>();
    const secretReaders = new Map<string, string[]>();
    for (const [, p] of resourcesOf(s, 'aws_iam_role_policy')) {
      const role = roleName(p.role);
      for (const st of statementsOf(p.policy).filter((x) => x.Effect === 'Allow')) {
        if (list(st.Action).some((a) => a.startsWith('polly:'))) {
          polly.add(role);
          expect([role, st]).toEqual([role, { Sid: 'PollySpeech', Effect: 'Allow', Action: 'polly:SynthesizeSpeech', Resource: '*', Condition: { StringEquals: { 'aws:RequestedRegion': s.cfg.region } } }]);
        }
        if (list(st.Action).some((a) => a.startsWith('secretsmanager:'))) {
          expect([role, list(st.Action)]).toEqual([role, ['secretsmanager:GetSecretValue']]);
          secretReaders.set(role, [...(secretReaders.get(role) ?? []), ...list(st.Resource)]);
        }
      }
    }
    const ttsReaders = [...secretReaders].filter(([, resources]) => resources.includes(ttsKey)).map(([role]) => role);
    if (provider === 'polly') {
      expect(sorted(polly)).toEqual(narrating);
      expect(ttsReaders).toEqual([]);
    } else {
      expect(sorted(polly)).toEqual([]);
      expect(sorted(ttsReaders)).toEqual(narrating);
    }
    // The narrating roles read the image key (Gemini) and, with the external TTS API, exactly its secret too; nobody else reads any.
    expect(sorted(secretReaders.keys())).toEqual(narrating);
    for (const role of narrating) expect([role, (secretReaders.get(role) ?? []).sort()]).toEqual([role, (provider === 'external' ? [imageKey, ttsKey] : [imageKey]).sort()]);
  });
});

describe('IAM: Lambda repositories let only this stack\'s functions pull', () => {
  it.each(ALL)('$label', ({ label }) => {
    const s = stack(label);
    const policies = resourcesOf(s, 'aws_ecr_repository_policy');
    expect(policies).toHaveLength(3);
    for (const [name, p] of policies) {
      for (const st of statementsOf(p.policy)) {
        expect([name, st.Principal, sorted(list(st.Action)), st.Resource]).toEqual([name, { Service: 'lambda.amazonaws.com' }, ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], undefined]);
        expect([name, st.Condition]).toEqual([name, { StringLike: { 'aws:sourceArn': expect.stringMatching(new RegExp(`^arn:aws:lambda:${s.cfg.region}:.*:function:${s.name}-\\*$`)) } }]);
      }
    }
  });
});

describe('Lambda: pinned image tags, no reserved environment variables', () => {
  it.each(PHASE2)('$label', ({ label }) => {
    const s = stack(label);
    for (const [name, f] of resourcesOf(s, 'aws_lambda_function')) {
      expect([name, String(f.image_uri)]).toEqual([name, expect.not.stringMatching(/:latest$|^[^:]+$/)]);
      const vars = Object.keys((f.environment as { variables: Record<string, string> }).variables);
      expect([name, vars.filter((v) => /^(AWS_|_HANDLER$|LAMBDA_)/.test(v))]).toEqual([name, []]);
    }
  });
});

/** The only routes anyone may call without a token: liveness and the API's own description. */
const PUBLIC_GETS = ['health', 'openapi.json'];

describe('API Gateway: the Cognito authorizer on every method except OPTIONS and the public GETs', () => {
  it.each(PHASE2)('$label', ({ label }) => {
    const s = stack(label);
    const [authorizer, a] = one(s, 'aws_api_gateway_authorizer');
    expect(a).toMatchObject({ type: 'COGNITO_USER_POOLS', provider_arns: [expect.stringContaining('aws_cognito_user_pool.')] });
    const pathPart = new Map(resourcesOf(s, 'aws_api_gateway_resource').map(([name, r]) => [ref('aws_api_gateway_resource', name), String(r.path_part)]));
    const methods = resourcesOf(s, 'aws_api_gateway_method');
    expect(methods.filter(([, m]) => m.http_method !== 'OPTIONS').length).toBeGreaterThanOrEqual(11);
    const open: string[] = [];
    for (const [name, m] of methods) {
      if (m.http_method === 'OPTIONS') expect([name, m.authorization]).toEqual([name, 'NONE']);
      else if (m.authorization === 'NONE') open.push(`${String(m.http_method)} ${pathPart.get(String(m.resource_id)) ?? '?'}`);
      else expect([name, m.authorization, m.authorizer_id]).toEqual([name, 'COGNITO_USER_POOLS', ref('aws_api_gateway_authorizer', authorizer)]);
    }
    expect(open.sort()).toEqual(PUBLIC_GETS.map((p) => `GET ${p}`));
    // OPTIONS is only ever a MOCK (CORS preflight), never a Lambda.
    for (const [name, i] of resourcesOf(s, 'aws_api_gateway_integration')) {
      if (i.type !== 'AWS_PROXY') expect([name, i.type]).toEqual([name, 'MOCK']);
    }
  });
});

describe('API Gateway: stage throttling and access logs on', () => {
  it.each(PHASE2)('$label', ({ label }) => {
    const s = stack(label);
    const stages = resourcesOf(s, 'aws_api_gateway_stage');
    expect(stages).toHaveLength(1);
    for (const [, st] of stages) {
      expect(st.access_log_settings).toMatchObject({ destination_arn: expect.stringContaining('aws_cloudwatch_log_group.'), format: expect.stringContaining('$context.requestId') });
    }
    const settings = resourcesOf(s, 'aws_api_gateway_method_settings').map(([, m]) => [m.method_path, m.settings]);
    expect(settings).toEqual([['*/*', expect.objectContaining({ throttling_rate_limit: s.cfg.api.throttle_rate_limit, throttling_burst_limit: s.cfg.api.throttle_burst_limit, metrics_enabled: true })]]);
  });
});

describe('ALB: no plain HTTP when a certificate is configured (HTTP only redirects)', () => {
  it.each(PHASE2)('$label', ({ label }) => {
    const s = stack(label);
    const listeners = resourcesOf(s, 'aws_lb_listener').map(([, l]) => l);
    if (s.cfg.domain?.certificate_arn) {
      expect(listeners.filter((l) => l.protocol === 'HTTPS').map((l) => l.certificate_arn)).toEqual([s.cfg.domain.certificate_arn]);
      for (const l of listeners.filter((x) => x.protocol === 'HTTP')) {
        expect(l.default_action).toEqual([expect.objectContaining({ type: 'redirect', redirect: expect.objectContaining({ protocol: 'HTTPS' }) })]);
      }
    } else {
      expect(listeners.map((l) => l.protocol)).toEqual(['HTTP']);
    }
  });
});

describe('ECS: only the ALB reaches the agent tasks; tasks run as non-root with a read-only root filesystem', () => {
  it.each(PHASE2)('$label', ({ label }) => {
    const s = stack(label);
    const [, svc] = one(s, 'aws_ecs_service');
    const sgRefs = list((svc.network_configuration as { security_groups: string[] }).security_groups);
    expect(sgRefs).toHaveLength(1);
    const taskSg = resourcesOf(s, 'aws_security_group').find(([n]) => ref('aws_security_group', n) === sgRefs[0])?.[1] as { ingress: Array<Record<string, unknown>> };
    const [albSgName] = one(s, 'aws_security_group', (_, n) => n.includes('alb-sg'));
    expect(taskSg.ingress).toEqual([expect.objectContaining({ security_groups: [ref('aws_security_group', albSgName)], from_port: s.cfg.ecs.container_port, to_port: s.cfg.ecs.container_port })]);
    expect(taskSg.ingress[0]?.cidr_blocks ?? []).toEqual([]);
    const [, task] = one(s, 'aws_ecs_task_definition');
    for (const c of JSON.parse(String(task.container_definitions)) as Array<Record<string, unknown>>) {
      expect(c).toMatchObject({ user: 'node', readonlyRootFilesystem: true, healthCheck: expect.any(Object) });
    }
  });
});

describe('Secrets: no secret value anywhere in the synthesized JSON', () => {
  it.each(ALL)('$label', ({ label }) => {
    const s = stack(label);
    expect(resourcesOf(s, 'aws_secretsmanager_secret')).toHaveLength(2);
    expect(resourcesOf(s, 'aws_secretsmanager_secret_version')).toEqual([]);
    for (const [, u] of resourcesOf(s, 'aws_cognito_user')) {
      expect(u.temporary_password).toBeUndefined();
      expect(u.password).toBeUndefined();
    }
    expect(s.raw).not.toMatch(/"secret_string"|"secret_binary"|"(temporary_)?password"\s*:|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{20,}|-----BEGIN [A-Z ]*PRIVATE KEY-----|"client_secret"/);
    // Secrets reach the code by name only, in the Lambdas and in the agent.
    const envs = [
      ...resourcesOf(s, 'aws_lambda_function').map(([, f]) => (f.environment as { variables: Record<string, string> }).variables),
      ...resourcesOf(s, 'aws_ecs_task_definition').flatMap(([, t]) =>
        (JSON.parse(String(t.container_definitions)) as Array<{ environment: Array<{ name: string; value: string }> }>).map((c) => Object.fromEntries(c.environment.map((e) => [e.name, e.value]))),
      ),
    ];
    for (const vars of envs) {
      for (const [k, v] of Object.entries(vars)) {
        if (/SECRET|KEY/.test(k)) expect([k, v]).toEqual([k, expect.stringMatching(/^\$\{aws_secretsmanager_secret\.[^}]+\.name\}$/)]);
      }
    }
    expect(Object.keys(s.json.data ?? {}).filter((type) => type.startsWith('aws_secretsmanager_'))).toEqual([]);
  });
});

describe('Alarms: the topic is encrypted with a rotated customer-managed key CloudWatch may use; only this stack\'s alarms may publish', () => {
  it.each(PHASE2)('$label', ({ label }) => {
    const s = stack(label);
    if (!s.cfg.alarm_email) return;
    const [topicName, topic] = one(s, 'aws_sns_topic');
    const [keyName, key] = one(s, 'aws_kms_key');
    // Not the AWS-managed alias/aws/sns key: its policy does not let CloudWatch publish, so alarms never arrive.
    expect(topic.kms_master_key_id).toBe(ref('aws_kms_key', keyName, 'arn'));
    expect(key.enable_key_rotation).toBe(true);
    const account = '${data.aws_caller_identity.account.account_id}';
    const keyPolicy = statementsOf(key.policy);
    const cloudwatch = (action: string, sourceAccount: string) => ({ action, resource: '*', context: { 'aws:SourceAccount': sourceAccount } });
    const asService = (svc: string) => keyPolicy.filter((st) => JSON.stringify(st.Principal) === JSON.stringify({ Service: svc }));
    for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
      expect([action, allows(asService('cloudwatch.amazonaws.com'), cloudwatch(action, account))]).toEqual([action, true]);
      expect([action, allows(asService('cloudwatch.amazonaws.com'), cloudwatch(action, '111122223333'))]).toEqual([action, false]);
    }
    expect(allows(asService('cloudwatch.amazonaws.com'), cloudwatch('kms:ScheduleKeyDeletion', account))).toBe(false);
    // The account administers its key (else the key becomes unmanageable).
    const root = keyPolicy.filter((st) => JSON.stringify(st.Principal) === JSON.stringify({ AWS: `arn:aws:iam::${account}:root` }));
    expect(allows(root, { action: 'kms:PutKeyPolicy', resource: '*' })).toBe(true);
    for (const st of keyPolicy) expect(st.Principal === '*' || JSON.stringify(st.Principal ?? {}).includes('"*"')).toBe(false);

    const [, topicPolicy] = one(s, 'aws_sns_topic_policy');
    expect(topicPolicy.arn).toBe(ref('aws_sns_topic', topicName, 'arn'));
    const statements = statementsOf(topicPolicy.policy);
    for (const st of statements) expect(st.Principal).toEqual({ Service: 'cloudwatch.amazonaws.com' });
    const topicArn = ref('aws_sns_topic', topicName, 'arn');
    const publish = (alarmName: string, sourceAccount = account) => ({
      action: 'sns:Publish',
      resource: topicArn,
      context: { 'aws:SourceAccount': sourceAccount, 'aws:SourceArn': `arn:aws:cloudwatch:${s.cfg.region}:${account}:alarm:${alarmName}` },
    });
    for (const [, a] of resourcesOf(s, 'aws_cloudwatch_metric_alarm')) expect([a.alarm_name, allows(statements, publish(String(a.alarm_name)))]).toEqual([a.alarm_name, true]);
    expect(allows(statements, publish('someone-elses-alarm'))).toBe(false);
    expect(allows(statements, publish(`${s.name}-text-regen-errors`, '111122223333'))).toBe(false);
    expect(allows(statements, { action: 'sns:Publish', resource: topicArn })).toBe(false);
  });
});

describe('API Gateway: the execution log group is ours (retention) and exists before the stage; execution logging and metrics on', () => {
  it.each(PHASE2)('$label', ({ label }) => {
    const s = stack(label);
    const [apiName] = one(s, 'aws_api_gateway_rest_api');
    const [, stage] = one(s, 'aws_api_gateway_stage');
    const [groupName, group] = one(s, 'aws_cloudwatch_log_group', (g) => String(g.name).startsWith('API-Gateway-Execution-Logs_'));
    expect(group).toMatchObject({ name: `API-Gateway-Execution-Logs_${ref('aws_api_gateway_rest_api', apiName)}/${String(stage.stage_name)}`, retention_in_days: s.cfg.log_retention_days });
    expect(stage.depends_on).toEqual(expect.arrayContaining([`aws_cloudwatch_log_group.${groupName}`]));
    const [, settings] = one(s, 'aws_api_gateway_method_settings');
    expect(settings.settings).toMatchObject({ logging_level: expect.stringMatching(/^(ERROR|INFO)$/), metrics_enabled: true });
  });
});
