/**
 * The deploy rehearsal's pieces that need no emulator: the artefacts list, the Terraform CLI
 * config, finding the plugin mirror, the rehearsal's copy of a stack and the judgement of the
 * second plan. The rehearsal itself runs with `npm run test:deploy`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  ARTEFACTS_FILE,
  awsProviderIn,
  changedBetweenPhases,
  changedPaths,
  cliConfig,
  endpointsFor,
  judgePlan,
  loadArtefacts,
  mirrorCandidates,
  mirrorPathsIn,
  platform,
  rehearsalCopy,
  type StackJson,
} from '../../scripts/test-deploy';
import { synthesize, targets } from '../../terraform/synth-support';

const ROOT = path.resolve(__dirname, '../..');
const stacks = targets().map((t) => ({ label: t.label, json: synthesize(t).json as unknown as StackJson }));
const devPhase2 = stacks.find((s) => s.label === 'story-42-dev-us-west-2 phase 2') as { label: string; json: StackJson };
const devPhase1 = stacks.find((s) => s.label === 'story-42-dev-us-west-2 phase 1') as { label: string; json: StackJson };
const devCfg = targets().find((t) => t.label === 'story-42-dev-us-west-2 phase 2')?.cfg;

let tmp: string;
beforeEach(() => {
  mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
  tmp = mkdtempSync(path.join(ROOT, '.tmp', 'rehearsal-test-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

describe('the artefacts list', () => {
  const artefacts = loadArtefacts();

  it('is well-formed: every entry names what it covers and says why', () => {
    const all = [...artefacts.emulator_settings, ...artefacts.unsupported_attributes, ...artefacts.emulator_unsupported, ...artefacts.plan_differences];
    expect(all.length).toBeGreaterThan(0);
    for (const e of all) expect(e.reason.trim().length).toBeGreaterThanOrEqual(20);
    for (const e of artefacts.emulator_settings) expect(e.name).toMatch(/^MOTO_[A-Z0-9_]+$/);
    for (const e of artefacts.emulator_unsupported) expect([e.resource, e.path]).toEqual([expect.stringMatching(/^aws_[a-z0-9_]+$/), expect.stringMatching(/^(\*|[a-z0-9_]+(\.(\*|[a-z0-9_]+))*)$/)]);
    for (const e of [...artefacts.unsupported_attributes, ...artefacts.plan_differences]) {
      expect(e.resource).toMatch(/^aws_[a-z0-9_]+$/);
      expect(e.path).toMatch(/^[a-z0-9_]+(\.(\*|[a-z0-9_]+))*$/);
    }
  });

  it('names only resource types a stack has (no stale entries)', () => {
    const types = new Set(stacks.flatMap((s) => Object.keys(s.json.resource ?? {})));
    expect([...artefacts.unsupported_attributes, ...artefacts.emulator_unsupported, ...artefacts.plan_differences].map((e) => e.resource).filter((t) => !types.has(t))).toEqual([]);
  });

  it('moto reports exactly the rehearsed dev file\'s desired count as running (so wait_for_steady_state finishes honestly)', () => {
    const running = artefacts.emulator_settings.find((e) => e.name === 'MOTO_ECS_SERVICE_RUNNING');
    expect(running?.value).toBe(String(devCfg?.ecs.desired_count));
    const service = Object.values(devPhase2.json.resource?.aws_ecs_service ?? {})[0] as Record<string, unknown>;
    expect(service.wait_for_steady_state).toBe(true);
  });

  it('rejects an entry without a reason', () => {
    const file = path.join(tmp, 'artefacts.json');
    writeFileSync(file, JSON.stringify({ emulator_settings: [], unsupported_attributes: [], plan_differences: [{ resource: 'aws_lb', path: 'x', reason: '' }] }));
    expect(() => loadArtefacts(file)).toThrow(/plan_differences\[0\]\.reason/);
    expect(path.relative(ROOT, ARTEFACTS_FILE)).toBe('scripts/deploy-rehearsal-artefacts.json');
  });
});

describe('the Terraform CLI config and the plugin mirror', () => {
  it('installs providers from the mirror only and excludes every direct installation', () => {
    const text = cliConfig('/opt/tf-plugins');
    expect(mirrorPathsIn(text)).toEqual(['/opt/tf-plugins']);
    expect(text).toMatch(/filesystem_mirror\s*\{[^}]*include\s*=\s*\["registry\.terraform\.io\/hashicorp\/aws"\]/);
    expect(text).toMatch(/direct\s*\{\s*exclude\s*=\s*\["\*\/\*\/\*"\]\s*\}/);
    expect(text).not.toMatch(/network_mirror|include\s*=\s*\["\*/);
  });

  it('finds the newest hashicorp/aws for this platform, unpacked or packed; nothing in an empty folder', () => {
    const base = path.join(tmp, 'mirror', 'registry.terraform.io', 'hashicorp', 'aws');
    for (const v of ['5.9.0', '5.100.0']) {
      mkdirSync(path.join(base, v, platform()), { recursive: true });
      writeFileSync(path.join(base, v, platform(), `terraform-provider-aws_v${v}_x5`), '');
    }
    mkdirSync(path.join(base, '6.0.0', 'other_os'), { recursive: true });
    expect(awsProviderIn(path.join(tmp, 'mirror'))).toEqual({ dir: path.join(tmp, 'mirror'), version: '5.100.0', platform: platform() });
    writeFileSync(path.join(base, `terraform-provider-aws_5.101.0_${platform()}.zip`), '');
    expect(awsProviderIn(path.join(tmp, 'mirror'))?.version).toBe('5.101.0');
    expect(awsProviderIn(path.join(tmp, 'nothing'))).toBeUndefined();
  });

  it('searches the override alone when set; else the CLI config file first, then the usual places', () => {
    expect(mirrorCandidates({ STORY42_TF_MIRROR: '/x' }, '/home/u')).toEqual(['/x']);
    const rc = path.join(tmp, 'rc');
    writeFileSync(rc, cliConfig('/from/rc'));
    const found = mirrorCandidates({ TF_CLI_CONFIG_FILE: rc }, '/home/u');
    expect(found[0]).toBe('/from/rc');
    expect(found).toEqual(expect.arrayContaining(['/opt/tf-plugins', '/home/u/.terraform.d/plugins', '/home/u/.local/share/terraform/plugins', '/usr/share/terraform/plugins']));
  });
});

describe("the rehearsal's copy of a stack", () => {
  const opts = { endpoint: 'http://127.0.0.1:5555', providerVersion: '5.100.0' };

  it.each(stacks.map((s) => [s.label, s.json] as const))('%s: every resource type has an emulator endpoint', (_label, json) => {
    expect(() => endpointsFor(json)).not.toThrow();
  });

  it('changes only the provider version, the backend and the provider settings; the synthesized JSON is untouched', () => {
    const before = JSON.stringify(devPhase2.json);
    const copy = rehearsalCopy(devPhase2.json, opts);
    expect(JSON.stringify(devPhase2.json)).toBe(before);
    expect(copy.pinned).toBe(devPhase2.json.terraform.required_providers.aws?.version);
    expect(copy.json.terraform).toEqual({ ...devPhase2.json.terraform, backend: { local: { path: 'terraform.tfstate' } }, required_providers: { aws: { ...devPhase2.json.terraform.required_providers.aws, version: '5.100.0' } } });
    const { provider, terraform, ...rest } = copy.json;
    const { provider: p0, terraform: t0, ...rest0 } = devPhase2.json;
    expect(rest).toEqual(rest0);
    expect([provider, terraform, p0, t0].every(Boolean)).toBe(true);
    const aws = copy.json.provider?.aws?.[0] as Record<string, unknown>;
    expect(aws).toMatchObject({ skip_credentials_validation: true, skip_requesting_account_id: true, skip_metadata_api_check: true, s3_use_path_style: true, region: 'us-west-2' });
    const endpoints = (aws.endpoints as Array<Record<string, string>>)[0] as Record<string, string>;
    expect(new Set(Object.values(endpoints))).toEqual(new Set([opts.endpoint]));
    // The DynamoDB table's read describes its KMS key; STS answers aws_caller_identity.
    expect(Object.keys(endpoints)).toEqual(expect.arrayContaining(['apigateway', 'dynamodb', 'kms', 'lambda', 'elbv2', 'ecs', 's3', 'sts']));
  });

  it('leaves out what the emulator does not implement: whole resource types, or one argument', () => {
    const copy = rehearsalCopy(devPhase2.json, { ...opts, emulatorUnsupported: [{ resource: 'aws_cloudfront_function', path: '*' }, { resource: 'aws_cloudfront_distribution', path: 'default_cache_behavior.*.function_association' }] });
    expect(copy.json.resource?.aws_cloudfront_function).toBeUndefined();
    expect(devPhase2.json.resource?.aws_cloudfront_function).toBeDefined();
    const d = Object.values(copy.json.resource?.aws_cloudfront_distribution ?? {})[0] as { default_cache_behavior: Record<string, unknown> };
    expect(d.default_cache_behavior.function_association).toBeUndefined();
    expect(d.default_cache_behavior.target_origin_id).toBe('site-bucket');
  });

  it('knows which resources phase 2 changes on purpose: the site\'s CSP and the CloudFront route to the agent, nothing else of the foundation', () => {
    const changed = changedBetweenPhases(devPhase1.json, devPhase2.json).map((a) => a.split('.')[0]);
    expect([...new Set(changed)].sort()).toEqual(['aws_cloudfront_distribution', 'aws_cloudfront_response_headers_policy']);
  });

  it('leaves out exactly the arguments it is told to', () => {
    const [type, byName] = Object.entries(devPhase2.json.resource ?? {}).find(([t]) => t === 'aws_api_gateway_integration') as [string, Record<string, Record<string, unknown>>];
    const name = Object.keys(byName).find((n) => byName[n]?.response_transfer_mode) as string;
    const copy = rehearsalCopy(devPhase2.json, { ...opts, drop: [{ address: `${type}.${name}`, resource: type, path: 'response_transfer_mode' }] });
    const dropped = copy.json.resource?.[type]?.[name] as Record<string, unknown>;
    expect(dropped.response_transfer_mode).toBeUndefined();
    expect({ ...dropped, response_transfer_mode: byName[name]?.response_transfer_mode }).toEqual(byName[name]);
  });
});

describe('the second plan', () => {
  const known = [{ resource: 'aws_lambda_function', path: 'image_config', reason: 'moto returns an empty ImageConfigResponse.' }];
  const update = (type: string, before: unknown, after: unknown, afterUnknown: unknown = {}) => ({ address: `${type}.x`, type, change: { actions: ['update'], before, after, after_unknown: afterUnknown } });

  it('finds the changed attribute paths, lists and sets as *', () => {
    expect(changedPaths({ a: 1, b: [{ c: 1, d: 2 }] }, { a: 1, b: [{ c: 1, d: 3 }] }, {})).toEqual(['b.*.d']);
    expect(changedPaths({ b: [{ c: 1 }] }, { b: [] }, {})).toEqual(['b']);
    expect(changedPaths({ a: 1 }, { a: 1 }, { id: true })).toEqual(['id']);
  });

  it('tolerates the listed artefacts only; anything else, a create, a replace or an output change fails', () => {
    const tolerated = judgePlan({ resource_changes: [update('aws_lambda_function', { image_config: [{ command: [] }] }, { image_config: [] })] }, known);
    expect(tolerated.unexpected).toEqual([]);
    expect(tolerated.tolerated).toEqual([{ address: 'aws_lambda_function.x', path: 'image_config', reason: known[0]?.reason }]);
    expect(judgePlan({ resource_changes: [update('aws_lambda_function', { timeout: 1 }, { timeout: 2 })] }, known).unexpected).toEqual(['aws_lambda_function.x: timeout changes']);
    expect(judgePlan({ resource_changes: [update('aws_ecs_service', { image_config: 1 }, { image_config: 2 })] }, known).unexpected).toHaveLength(1);
    expect(judgePlan({ resource_changes: [{ address: 'aws_lb.a', type: 'aws_lb', change: { actions: ['delete', 'create'] } }] }, known).unexpected).toEqual(['aws_lb.a: delete + create']);
    expect(judgePlan({ output_changes: { api_endpoint: { actions: ['update'] } } }, known).unexpected).toEqual(['output api_endpoint: update']);
    expect(judgePlan({ resource_changes: [{ address: 'data.aws_caller_identity.a', type: 'aws_caller_identity', change: { actions: ['read'] } }] }, known)).toEqual({ tolerated: [], unexpected: [], unused: known });
  });
});
