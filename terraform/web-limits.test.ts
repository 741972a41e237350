/**
 * Issue 12 and 13: sign-up closed, per-user limits (WAF), models per region, the agent's HTTPS,
 * ECS steady state, global names, the provider lock file, ECR lifecycle, and the web studio's
 * CloudFront (CSP, SPA rewrite, /agent/* route).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { COGNITO_DOMAIN_FORBIDDEN, defaultImageModel, parseEnvironment } from './environment';
import { FOUNDATION_MODELS, INFERENCE_PROFILES, offeredIn } from './bedrock-models';
import { PROFILE_GEOGRAPHIES } from './access';
import { CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST } from './compute';
import { MANAGED_POLICIES } from './foundation';
import { cspDirectives, SPA_REWRITE_FUNCTION } from './site';
import { AWS_PROVIDER_VERSION, LOCK_FILE } from './stack';
import { ref, resourcesOf, ROOT, synthesize, targets, variant, type ResourceJson, type Synthesized } from './synth-support';
import { DEFAULT_MODELS } from '../src/platform/config';

const TARGETS = targets();
const PHASE2 = TARGETS.filter((t) => t.phase === 2);
const dev2 = PHASE2.find((t) => t.cfg.environment === 'dev');
if (!dev2) throw new Error('no dev environment file');
const cache = new Map<string, Synthesized>();
const synth = (t: (typeof TARGETS)[number]) => {
  const hit = cache.get(t.label);
  if (hit) return hit;
  const s = synthesize(t);
  cache.set(t.label, s);
  return s;
};
const only = (s: Synthesized, type: string): ResourceJson => {
  const all = resourcesOf(s, type);
  expect(all).toHaveLength(1);
  return (all[0] as [string, ResourceJson])[1];
};
const distribution = (s: Synthesized) => only(s, 'aws_cloudfront_distribution') as {
  default_cache_behavior: Array<Record<string, unknown>> | Record<string, unknown>;
  ordered_cache_behavior?: Array<Record<string, unknown>>;
  origin: Array<Record<string, unknown>>;
  custom_error_response?: unknown;
  wait_for_deployment?: boolean;
};
const first = <T>(v: T[] | T): T => (Array.isArray(v) ? (v[0] as T) : v);
const cspOf = (s: Synthesized) => {
  const headers = only(s, 'aws_cloudfront_response_headers_policy') as { security_headers_config: { content_security_policy: { content_security_policy: string; override: boolean } } };
  return first(first(headers.security_headers_config).content_security_policy);
};
const parseCsp = (csp: string) => Object.fromEntries(csp.split('; ').map((d) => { const [name, ...sources] = d.split(' '); return [name as string, sources]; }));
const ALB_CERT = 'arn:aws:acm:us-west-2:123456789012:certificate/11111111-2222-3333-4444-555555555555';
const withAlbCert = variant(dev2, 'alb certificate', { alb: { certificate_arn: ALB_CERT, host: 'agent.dev.example.com' } });
const env = (patch: Record<string, unknown>, file = 'environments/dev/us-west-2.json') =>
  parseEnvironment(file, JSON.stringify({ ...(JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as Record<string, unknown>), ...patch }));

describe('sign-up is closed: only the admin creates users', () => {
  it.each(TARGETS)('$label', (t) => {
    const pool = only(synth(t), 'aws_cognito_user_pool') as { admin_create_user_config: { allow_admin_create_user_only: boolean } };
    expect(first(pool.admin_create_user_config).allow_admin_create_user_only).toBe(true);
  });
  it('the environment schema has no way to open self sign-up', () => {
    for (const key of ['self_sign_up', 'allow_self_sign_up', 'sign_up']) expect(() => env({ [key]: true })).toThrow(`Unrecognized key: "${key}"`);
  });
  it('the browser app client: no secret, USER_PASSWORD_AUTH and REFRESH_TOKEN_AUTH', () => {
    const client = only(synth(dev2), 'aws_cognito_user_pool_client') as { generate_secret: boolean; explicit_auth_flows: string[] };
    expect(client.generate_secret).toBe(false);
    expect(client.explicit_auth_flows).toEqual(expect.arrayContaining(['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH']));
  });
});

describe('per-user limits: WAF rate rules on the API stage and the ALB', () => {
  it.each(PHASE2)('$label', (t) => {
    const s = synth(t);
    const acls = resourcesOf(s, 'aws_wafv2_web_acl');
    expect(acls).toHaveLength(2);
    for (const [, acl] of acls) {
      expect(acl.scope).toBe('REGIONAL');
      const rules = acl.rule as Array<{ name: string; action: unknown; statement: { rate_based_statement: Record<string, unknown> } }>;
      const [user, ip] = rules.map((r) => first(r.statement).rate_based_statement);
      expect(user).toEqual({ limit: t.cfg.waf.requests_per_user_5min, aggregate_key_type: 'CUSTOM_KEYS', custom_key: [{ header: { name: 'authorization', text_transformation: [{ priority: 0, type: 'NONE' }] } }] });
      expect(ip).toMatchObject({ limit: t.cfg.waf.requests_per_ip_5min });
      for (const r of rules) expect(JSON.stringify(r.action)).toContain('"response_code":429');
    }
    const byName = Object.fromEntries(acls.map(([name, acl]) => [name, acl]));
    const associations = resourcesOf(s, 'aws_wafv2_web_acl_association').map(([, a]) => a);
    const [stage] = resourcesOf(s, 'aws_api_gateway_stage')[0] ?? [];
    const [alb] = resourcesOf(s, 'aws_lb')[0] ?? [];
    expect(associations.map((a) => a.resource_arn).sort()).toEqual([ref('aws_api_gateway_stage', String(stage), 'arn'), ref('aws_lb', String(alb), 'arn')].sort());
    // Behind CloudFront the ALB's peer is an edge: there the IP rule counts the forwarded client address.
    const albAcl = associations.find((a) => a.resource_arn === ref('aws_lb', String(alb), 'arn'));
    const albAclName = /aws_wafv2_web_acl\.([^.]+)\.arn/.exec(String(albAcl?.web_acl_arn))?.[1] as string;
    const albIp = first((byName[albAclName]?.rule as Array<{ statement: { rate_based_statement: Record<string, unknown> } }>)[1]?.statement as { rate_based_statement: Record<string, unknown> }).rate_based_statement;
    expect(albIp.aggregate_key_type).toBe(t.cfg.alb || t.cfg.domain?.certificate_arn ? 'IP' : 'FORWARDED_IP');
  });
  it('the limits come from the environment file (dev and prod set them)', () => {
    for (const t of PHASE2) expect(JSON.parse(readFileSync(path.join(ROOT, 'environments', t.cfg.environment, `${t.cfg.region}.json`), 'utf8')).waf).toBeDefined();
    const s = synthesize(variant(dev2, 'waf 77/88', { waf: { requests_per_user_5min: 77, requests_per_ip_5min: 88 } }));
    const limits = resourcesOf(s, 'aws_wafv2_web_acl').flatMap(([, a]) => (a.rule as Array<{ statement: { rate_based_statement: { limit: number } } }>).map((r) => first(r.statement).rate_based_statement.limit));
    expect(limits).toEqual([77, 88, 77, 88]);
    expect(() => env({ waf: { requests_per_user_5min: 5 } })).toThrow('waf.requests_per_user_5min');
  });
});

describe('models per region (terraform/bedrock-models.ts)', () => {
  it('covers every model the environment files and the application use, in their regions', () => {
    for (const t of PHASE2) {
      const file = JSON.parse(readFileSync(path.join(ROOT, 'environments', t.cfg.environment, `${t.cfg.region}.json`), 'utf8')) as { allowed_models?: string[]; bedrock_image_model?: string };
      for (const id of [...(file.allowed_models ?? []), file.bedrock_image_model ?? defaultImageModel()]) expect([t.cfg.region, id, offeredIn(t.cfg.region, id.replace(/^bedrock\//, ''))]).toEqual([t.cfg.region, id, true]);
    }
    for (const id of DEFAULT_MODELS) expect(offeredIn('us-west-2', id.replace(/^bedrock\//, ''))).toBe(true);
  });
  it('has us. and eu. inference profiles, each routing only inside the geography its IAM grant names', () => {
    expect(INFERENCE_PROFILES['us.amazon.nova-pro-v1:0']?.sources).toContain('us-east-1');
    expect(INFERENCE_PROFILES['eu.amazon.nova-pro-v1:0']?.sources).toContain('eu-west-1');
    for (const [id, p] of Object.entries(INFERENCE_PROFILES)) {
      const geography = id.slice(0, id.indexOf('.'));
      const pattern = new RegExp(`^${(PROFILE_GEOGRAPHIES[geography] ?? '(none)').replace(/\*/g, '.*')}$`);
      for (const r of [...p.sources, ...p.destinations]) expect([id, r, pattern.test(r)]).toEqual([id, r, true]);
    }
    for (const [id, regions] of Object.entries(FOUNDATION_MODELS)) expect([id, regions.length > 0]).toEqual([id, true]);
  });
  it.each([
    [{ allowed_models: ['eu.amazon.nova-pro-v1:0'] }, 'allowed_models.0: "eu.amazon.nova-pro-v1:0" is not offered in us-west-2'],
    [{ allowed_models: ['amazon.nova-pro-v1:0'] }, 'allowed_models.0: "amazon.nova-pro-v1:0" is not offered in us-west-2'],
    [{ bedrock_image_model: 'amazon.nova-canvas-v1:0' }, 'bedrock_image_model: "amazon.nova-canvas-v1:0" is not offered in us-west-2'],
    [{ allowed_models: ['us.amazon.nova-pro-v1:0'], agent: { model: 'bedrock/us.amazon.nova-pro-v1:0' }, bedrock_image_model: 'no.such-model-v1:0' }, 'bedrock_image_model: "no.such-model-v1:0" is not offered in us-west-2'],
  ])('rejects a model the region does not offer: %j', (patch, message) => {
    expect(() => env(patch)).toThrow(message);
  });
  it('accepts the eu. profile in an eu region', () => {
    const file = 'environments/dev/eu-west-1.json';
    const base = JSON.parse(readFileSync(path.join(ROOT, 'environments/dev/us-west-2.json'), 'utf8')) as Record<string, unknown>;
    expect(() => parseEnvironment(file, JSON.stringify({ ...base, region: 'eu-west-1', allowed_models: ['eu.amazon.nova-pro-v1:0'], bedrock_image_model: 'amazon.nova-canvas-v1:0' }))).not.toThrow();
  });
});

describe('the agent over HTTPS: its own certificate, or through CloudFront', () => {
  it('with alb.certificate_arn: HTTPS 443 with a TLS 1.3/1.2 policy, HTTP 80 redirects, the agent URL is its host', () => {
    const s = synthesize(withAlbCert);
    const listeners = resourcesOf(s, 'aws_lb_listener').map(([, l]) => l);
    expect(listeners.map((l) => [l.port, l.protocol]).sort()).toEqual([[443, 'HTTPS'], [80, 'HTTP']]);
    const https = listeners.find((l) => l.port === 443) as ResourceJson;
    expect([https.ssl_policy, https.certificate_arn]).toEqual(['ELBSecurityPolicy-TLS13-1-2-2021-06', ALB_CERT]);
    expect(JSON.stringify(listeners.find((l) => l.port === 80)?.default_action)).toContain('"protocol":"HTTPS"');
    expect(s.json.output?.agent_url?.value).toBe('https://agent.dev.example.com');
    expect(distribution(s).ordered_cache_behavior).toBeUndefined();
    expect(parseCsp(cspOf(s).content_security_policy)['connect-src']).toContain('https://agent.dev.example.com');
  });
  it('without a certificate: plain HTTP from CloudFront only, and CloudFront routes /agent/* to the ALB (the agent is the site\'s origin)', () => {
    const s = synth(dev2);
    const listeners = resourcesOf(s, 'aws_lb_listener').map(([, l]) => l);
    expect(listeners.map((l) => [l.port, l.protocol])).toEqual([[80, 'HTTP']]);
    const sg = resourcesOf(s, 'aws_security_group').map(([, g]) => g).find((g) => String(g.name).endsWith('-alb')) as { ingress: Array<Record<string, unknown>> };
    expect(sg.ingress).toEqual([expect.objectContaining({ from_port: 80, to_port: 80, prefix_list_ids: [expect.stringContaining('data.aws_ec2_managed_prefix_list.')], cidr_blocks: null, ipv6_cidr_blocks: null })]);
    expect(Object.values(s.json.data?.aws_ec2_managed_prefix_list ?? {}).map((d) => d.name)).toEqual([CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST]);
    const d = distribution(s);
    const [agent] = d.ordered_cache_behavior ?? [];
    expect(agent).toMatchObject({
      path_pattern: '/agent/*',
      target_origin_id: 'agent-alb',
      viewer_protocol_policy: 'https-only',
      allowed_methods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'POST', 'PATCH', 'DELETE'],
      compress: false,
      cache_policy_id: MANAGED_POLICIES.cachingDisabled,
      origin_request_policy_id: MANAGED_POLICIES.allViewerExceptHostHeader,
    });
    const albOrigin = d.origin.find((o) => o.origin_id === 'agent-alb') as { domain_name: string; custom_origin_config: unknown };
    expect(albOrigin.domain_name).toMatch(/^\$\{aws_lb\./);
    expect(first(albOrigin.custom_origin_config as Array<Record<string, unknown>>)).toMatchObject({ origin_protocol_policy: 'http-only', http_port: 80 });
    expect(s.json.output?.agent_url?.value).toBe(s.json.output?.website_url?.value);
  });
  it('schema: a certificate needs the host it covers, in this region; alb and domain certificates do not mix', () => {
    expect(() => env({ alb: { certificate_arn: ALB_CERT } })).toThrow('alb.host');
    expect(() => env({ alb: { certificate_arn: ALB_CERT.replace('us-west-2', 'us-east-1'), host: 'a.example.com' } })).toThrow("alb.certificate_arn: the ALB's certificate must be in us-west-2");
    expect(() => env({ domain: { name: 'stories.example.com', hosted_zone_id: 'Z0123456789ABCDEFGHIJ', certificate_arn: ALB_CERT } })).toThrow('domain.certificate_arn: needs domain.agent_host');
  });
});

describe('the ECS service waits for steady state', () => {
  it.each(PHASE2)('$label', (t) => {
    expect(only(synth(t), 'aws_ecs_service').wait_for_steady_state).toBe(true);
  });
});

describe('globally unique names', () => {
  it.each([['project_name', { project_name: 'aws-stories' }], ['project_name', { project_name: 'myamazon' }], ['environment', { environment: 'cognito1' }]])('the schema rejects a Cognito domain prefix with a forbidden word (%s)', (_, patch) => {
    expect(() => env(patch)).toThrow(/Cognito refuses \(aws, amazon, cognito\)/);
  });
  it('lists the words Cognito refuses', () => expect([...COGNITO_DOMAIN_FORBIDDEN]).toEqual(['aws', 'amazon', 'cognito']));
});

describe('the provider lock file', () => {
  const lock = readFileSync(LOCK_FILE, 'utf8');
  it('records hashicorp/aws at exactly the version every stack pins, with official hashes', () => {
    const block = /provider "registry\.terraform\.io\/hashicorp\/aws" \{([\s\S]*?)\n\}/.exec(lock)?.[1] ?? '';
    expect(/version\s+=\s+"([^"]+)"/.exec(block)?.[1]).toBe(AWS_PROVIDER_VERSION);
    expect(/constraints\s+=\s+"([^"]+)"/.exec(block)?.[1]).toBe(AWS_PROVIDER_VERSION);
    expect(block.match(/"h1:[A-Za-z0-9+/]{43}="/g)?.length).toBeGreaterThanOrEqual(1);
    expect(block.match(/"zh:[0-9a-f]{64}"/g)?.length).toBeGreaterThanOrEqual(1);
    for (const t of TARGETS) {
      const aws = (synth(t).json.terraform?.required_providers as Record<string, { version: string }>).aws;
      expect([t.label, aws?.version]).toEqual([t.label, AWS_PROVIDER_VERSION]);
    }
  });
});

describe('ECR lifecycle never expires a live tag', () => {
  it.each(TARGETS)('$label', (t) => {
    const s = synth(t);
    const policies = resourcesOf(s, 'aws_ecr_lifecycle_policy').map(([, p]) => JSON.parse(String(p.policy)) as { rules: Array<{ selection: { tagStatus: string; tagPrefixList?: string[]; tagPatternList?: string[] } }> });
    expect(policies).toHaveLength(4);
    // The tags in use: the image_tag every Lambda and the agent task run.
    const live = t.cfg.image_tag;
    for (const p of policies) {
      for (const r of p.rules) {
        const selectsLive = r.selection.tagStatus === 'any' || (r.selection.tagStatus === 'tagged' && [...(r.selection.tagPrefixList ?? []), ...(r.selection.tagPatternList ?? [])].some((x) => live.startsWith(x.replace(/\*.*$/, ''))));
        expect([r.selection, selectsLive]).toEqual([r.selection, false]);
      }
    }
  });
});

describe('the state backend takes no DynamoDB lock table', () => {
  it('the schema rejects lock_table, saying use_lockfile replaces it', () => {
    expect(() => env({ state_backend: { bucket: 'b-123', key_prefix: 'k', lock_table: 'locks' } })).toThrow('state_backend.lock_table: is no longer used: the S3 backend locks state with a lock file in the bucket (use_lockfile)');
  });
});

describe('the web studio on CloudFront', () => {
  it.each(TARGETS)('$label: the CSP allows exactly the app\'s sources, no wildcard', (t) => {
    const s = synth(t);
    const { content_security_policy: csp, override } = cspOf(s);
    expect(override).toBe(true);
    expect(csp).not.toContain('*');
    const d = parseCsp(csp);
    const bucket = `https://\${aws_s3_bucket.${(resourcesOf(s, 'aws_s3_bucket').find(([, b]) => String(b.bucket).includes('-story-images-')) ?? [''])[0]}.bucket}.s3.${t.cfg.region}.amazonaws.com`;
    const api = t.phase === 2 ? [`https://\${aws_api_gateway_rest_api.${(resourcesOf(s, 'aws_api_gateway_rest_api')[0] ?? [''])[0]}.id}.execute-api.${t.cfg.region}.amazonaws.com`] : [];
    const agent = t.phase === 2 && (t.cfg.domain?.agent_host ?? t.cfg.alb?.host) ? [`https://${t.cfg.domain?.agent_host ?? t.cfg.alb?.host}`] : [];
    expect(d).toEqual({
      'default-src': ["'self'"],
      'script-src': ["'self'"],
      'style-src': ["'self'", "'unsafe-inline'"],
      'connect-src': ["'self'", ...api, `https://cognito-idp.${t.cfg.region}.amazonaws.com`, ...agent, bucket],
      'img-src': ["'self'", 'data:', 'blob:', bucket],
      'media-src': ["'self'", 'blob:', bucket],
      'frame-ancestors': ["'none'"],
      'base-uri': ["'self'"],
      'form-action': ["'self'"],
      'object-src': ["'none'"],
    });
    const headers = first((only(s, 'aws_cloudfront_response_headers_policy') as { security_headers_config: Array<Record<string, unknown>> }).security_headers_config);
    expect(headers).toMatchObject({
      content_type_options: { override: true },
      frame_options: { frame_option: 'DENY', override: true },
      referrer_policy: { referrer_policy: 'strict-origin-when-cross-origin', override: true },
      strict_transport_security: expect.objectContaining({ access_control_max_age_sec: 63072000, include_subdomains: true }),
    });
  });
  it.each(TARGETS)('$label: the SPA rewrite runs on the default behaviour only; no custom error responses', (t) => {
    const s = synth(t);
    const d = distribution(s);
    const fn = Object.keys(s.json.resource?.aws_cloudfront_function ?? {});
    expect(fn).toHaveLength(1);
    expect(first(d.default_cache_behavior).function_association).toEqual([{ event_type: 'viewer-request', function_arn: ref('aws_cloudfront_function', fn[0] as string, 'arn') }]);
    expect(first(d.default_cache_behavior).response_headers_policy_id).toMatch(/^\$\{aws_cloudfront_response_headers_policy\./);
    for (const b of d.ordered_cache_behavior ?? []) expect(b.function_association).toBeUndefined();
    expect(d.custom_error_response).toBeUndefined();
    expect((t.phase === 2 && !t.cfg.domain?.agent_host) === (d.ordered_cache_behavior?.length === 1)).toBe(true);
  });
  it.each(TARGETS)('$label: an apply does not wait for CloudFront to reach every edge', (t) => {
    expect(distribution(synth(t)).wait_for_deployment).toBe(false);
  });
  it('the SPA rewrite: extension-less paths get /index.html, files pass', () => {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const handler = new Function(`${SPA_REWRITE_FUNCTION}; return handler;`)() as (e: { request: { uri: string } }) => { uri: string };
    const uri = (u: string) => handler({ request: { uri: u } }).uri;
    expect(['/', '/projects/42', '/agent-studio', '/index.html', '/config.json', '/assets/app-1a2b.js'].map(uri)).toEqual(['/index.html', '/index.html', '/index.html', '/index.html', '/config.json', '/assets/app-1a2b.js']);
  });
  it('cspDirectives: the agent\'s own origin only when it is not the site', () => {
    const base = { region: 'us-west-2', imagesBucket: 'b' };
    expect(cspDirectives(base).find(([n]) => n === 'connect-src')?.[1]).toEqual(["'self'", 'https://cognito-idp.us-west-2.amazonaws.com', 'https://b.s3.us-west-2.amazonaws.com']);
  });
  it.each(TARGETS)('$label: the images bucket lets the site origin GET (presigned URLs)', (t) => {
    const s = synth(t);
    const cors = first((only(s, 'aws_s3_bucket_cors_configuration') as { cors_rule: Array<Record<string, unknown>> }).cors_rule);
    expect(cors).toMatchObject({ allowed_methods: ['GET', 'HEAD'], allowed_origins: [s.json.output?.website_url?.value] });
  });
  it.each(PHASE2)('$label: web_config is the app\'s /config.json', (t) => {
    const s = synth(t);
    const value = s.json.output?.web_config?.value as Record<string, string>;
    expect(Object.keys(value).sort()).toEqual(['agentUrl', 'apiUrl', 'region', 'userPoolClientId', 'userPoolId']);
    expect(value.apiUrl).toBe(s.json.output?.api_endpoint?.value);
    expect(value.agentUrl).toBe(s.json.output?.agent_url?.value);
    expect(value.region).toBe(t.cfg.region);
  });
});
