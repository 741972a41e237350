/**
 * `npm run test:deploy`: the apply rehearsal. Applies the dev stack to the moto AWS emulator with
 * the real terraform binary and the AWS provider from the machine's filesystem plugin mirror
 * (never downloading anything): phase 1, images "pushed" to the emulator's ECR, phase 2, a
 * second plan that must be clean but for the known emulator artefacts, then destroy. Also runs
 * `terraform validate` on every environment file in both phases. Everything it bends is listed,
 * with its reason, in scripts/deploy-rehearsal-artefacts.json.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { App } from 'cdktf';
import { escapeRegExp } from '../src/core/regex';
import { scriptArgs } from '../src/local/cli';
import { closeServer, freePort, listenLocal } from '../src/local/http-util';
import { EnvironmentError, environmentFiles, parseEnvironment, stackName, type EnvironmentConfig } from '../terraform/environment';
import { Story42Stack } from '../terraform/stack';

const ROOT = path.resolve(__dirname, '..');
export const ARTEFACTS_FILE = path.join(ROOT, 'scripts', 'deploy-rehearsal-artefacts.json');
const ENVIRONMENTS_DIR = path.join(ROOT, 'environments');
/** The environment file the rehearsal applies (every file is validated). */
const REHEARSED_FILE = path.join(ENVIRONMENTS_DIR, 'dev', 'us-west-2.json');
const WORK_DIR = path.join(ROOT, '.tmp', 'deploy-rehearsal');
export const AWS_PROVIDER = 'registry.terraform.io/hashicorp/aws';
/** Terraform's parallelism: the emulator answers at once, so more operations in flight shorten the run. */
const PARALLELISM = 20;
/** No single terraform command may take longer (the whole rehearsal should stay under 5 minutes). */
const STEP_TIMEOUT_MS = 240_000;

export const USAGE = `Usage: npm run test:deploy

The apply rehearsal: deploys the dev stack (environments/dev/us-west-2.json) to the moto AWS
emulator with the real terraform binary and the hashicorp/aws provider from this machine's
filesystem plugin mirror, and never downloads anything:
  1. checks its prerequisites: terraform on PATH; python3 with moto (python3 -m moto.server)
     and boto3; a filesystem plugin mirror holding ${AWS_PROVIDER};
  2. writes the stacks (every environment file, phase 1 and phase 2) into its own folder,
     .tmp/deploy-rehearsal/run-*/, and rewrites only those copies: local state, the provider
     pointed at moto on a free 127.0.0.1 port with fake credentials, the provider version
     the mirror has (it says so when that differs from the version the stack pins), and the
     arguments the mirror's provider does not know that the artefacts list names;
  3. terraform validate on every environment file in both phases;
  4. phase 1 apply; a minimal image pushed to each ECR repository with the stack's image_tag;
     phase 2 apply (images_ready); a check that every Lambda and the agent task run a pushed
     image; a second plan that must show no changes but the known emulator artefacts;
     terraform destroy (after deleting the pushed images: dev has no force_destroy);
  5. prints each step's time and the resource counts; stops moto whatever happens.
Exits 1 when a step fails or a prerequisite is missing (naming it), 0 when all passed. The run's
folder (logs with timestamps, state) is kept when it fails and removed when it passes.

What the rehearsal tolerates or changes, each with its reason: scripts/deploy-rehearsal-artefacts.json

Arguments: none.  -h, --help  prints this text.

Environment:
  STORY42_TF_MIRROR  the filesystem plugin mirror to use (a folder holding
                     registry.terraform.io/hashicorp/aws/<version>/<os>_<arch>/); default: the
                     first that has the provider among a filesystem_mirror path in the
                     TF_CLI_CONFIG_FILE (or ~/.terraformrc) file, /opt/tf-plugins,
                     ~/.terraform.d/plugins, XDG_DATA_HOME/terraform/plugins (default
                     ~/.local/share/terraform/plugins) and each XDG_DATA_DIRS/terraform/plugins
                     (default /usr/local/share and /usr/share). Terraform then runs with the
                     rehearsal's own CLI config file: that mirror only, direct installs excluded.
  STORY42_REHEARSAL_KEEP=1  keeps the run's folder when the rehearsal passes too
`;

// ---- The artefacts list ----------------------------------------------------------------------

export interface EmulatorSetting {
  name: string;
  value: string;
  reason: string;
}
export interface AttributeEntry {
  /** A resource (or data source) type, `provider.aws` for the provider block. */
  resource: string;
  /** Attribute path, nested blocks and list indexes as `*`: `origin.*.origin_access_control_id`. */
  path: string;
  reason: string;
}
export interface Artefacts {
  emulator_settings: EmulatorSetting[];
  unsupported_attributes: AttributeEntry[];
  /** What moto does not implement at all: left out of the rehearsal's copies (path "*": every resource of the type; else that argument). */
  emulator_unsupported: AttributeEntry[];
  plan_differences: AttributeEntry[];
}

/** Reads and checks the artefacts list: every entry well-formed, with a reason, no duplicates. */
export function loadArtefacts(file = ARTEFACTS_FILE): Artefacts {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const problems: string[] = [];
  const list = (key: keyof Artefacts, fields: string[]): Array<Record<string, string>> => {
    const v = raw[key];
    if (!Array.isArray(v)) {
      problems.push(`${key}: must be a list`);
      return [];
    }
    const seen = new Set<string>();
    v.forEach((entry: unknown, i) => {
      const e = entry as Record<string, unknown>;
      for (const f of [...fields, 'reason']) if (typeof e?.[f] !== 'string' || (e[f] as string).trim() === '') problems.push(`${key}[${i}].${f}: must be a non-empty string`);
      if (typeof e?.reason === 'string' && e.reason.trim().length < 20) problems.push(`${key}[${i}].reason: say why (at least a sentence)`);
      const id = fields.map((f) => String(e?.[f])).join(' ');
      if (seen.has(id)) problems.push(`${key}[${i}]: duplicate entry ${id}`);
      seen.add(id);
    });
    return v as Array<Record<string, string>>;
  };
  const artefacts = {
    emulator_settings: list('emulator_settings', ['name', 'value']),
    unsupported_attributes: list('unsupported_attributes', ['resource', 'path']),
    emulator_unsupported: list('emulator_unsupported', ['resource', 'path']),
    plan_differences: list('plan_differences', ['resource', 'path']),
  } as unknown as Artefacts;
  for (const k of Object.keys(raw)) if (!['$comment', 'emulator_settings', 'unsupported_attributes', 'emulator_unsupported', 'plan_differences'].includes(k)) problems.push(`${k}: unknown section`);
  if (problems.length) throw new Error(`${path.relative(ROOT, file)}:\n  ${problems.join('\n  ')}`);
  return artefacts;
}

// ---- The plugin mirror and the CLI config -----------------------------------------------------

export interface Mirror {
  dir: string;
  version: string;
  platform: string;
}

export function platform(): string {
  const arch = ({ x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' } as Record<string, string>)[process.arch] ?? process.arch;
  return `${process.platform}_${arch}`;
}

/** `1.2.10` > `1.2.9`: numeric comparison of dotted versions (pre-release suffixes sort first). */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.split(/[.-]/).map((p) => (/^\d+$/.test(p) ? Number(p) : -1));
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The filesystem_mirror paths of a Terraform CLI config file. */
export function mirrorPathsIn(cliConfigText: string): string[] {
  return [...cliConfigText.matchAll(/filesystem_mirror\s*\{[^}]*?\bpath\s*=\s*"([^"]+)"/g)].map((m) => m[1] as string);
}

/** Where to look for the mirror, in order (the override alone when it is set). */
export function mirrorCandidates(env: Record<string, string | undefined>, home = os.homedir()): string[] {
  if (env.STORY42_TF_MIRROR) return [env.STORY42_TF_MIRROR];
  const out: string[] = [];
  const cliFile = env.TF_CLI_CONFIG_FILE || path.join(home, '.terraformrc');
  if (existsSync(cliFile)) out.push(...mirrorPathsIn(readFileSync(cliFile, 'utf8')));
  out.push('/opt/tf-plugins', path.join(home, '.terraform.d', 'plugins'), path.join(env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'terraform', 'plugins'));
  for (const d of (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':').filter(Boolean)) out.push(path.join(d, 'terraform', 'plugins'));
  return [...new Set(out)];
}

/** The newest hashicorp/aws for this platform in `dir` (unpacked or packed layout), if any. */
export function awsProviderIn(dir: string, plat = platform()): Mirror | undefined {
  const base = path.join(dir, ...AWS_PROVIDER.split('/'));
  if (!existsSync(base) || !statSync(base).isDirectory()) return undefined;
  const versions: string[] = [];
  for (const entry of readdirSync(base)) {
    const unpacked = path.join(base, entry, plat);
    if (existsSync(unpacked) && readdirSync(unpacked).some((f) => f.startsWith('terraform-provider-aws'))) versions.push(entry);
    const packed = new RegExp(`^terraform-provider-aws_(.+)_${escapeRegExp(plat)}\\.zip$`).exec(entry);
    if (packed) versions.push(packed[1] as string);
  }
  const version = versions.sort(compareVersions).at(-1);
  return version ? { dir, version, platform: plat } : undefined;
}

/** Terraform's CLI config: the AWS provider from the mirror only; nothing is ever installed directly. */
export function cliConfig(mirrorDir: string): string {
  return `# Written by the deploy rehearsal (scripts/test-deploy.ts): providers come from the local
# filesystem mirror only; direct installation from any registry is excluded.
disable_checkpoint = true

provider_installation {
  filesystem_mirror {
    path    = ${JSON.stringify(mirrorDir)}
    include = [${JSON.stringify(AWS_PROVIDER)}]
  }
  direct {
    exclude = ["*/*/*"]
  }
}
`;
}

// ---- The rehearsal's copy of a stack ------------------------------------------------------------

type Json = Record<string, unknown>;
export interface StackJson {
  terraform: { required_providers: Record<string, { source?: string; version?: string }>; backend?: Json };
  provider?: Record<string, Json[]>;
  resource?: Record<string, Record<string, Json>>;
  data?: Record<string, Record<string, Json>>;
  [key: string]: unknown;
}

/**
 * The provider's endpoint settings for each resource/data type the stack may use: its own service,
 * and any other its create or read calls (a request that misses the emulator is caught, named and
 * fails the rehearsal: see `leakCatcher`).
 */
const ENDPOINT_BY_TYPE: Array<[RegExp, string | string[]]> = [
  [/^aws_api_gateway_/, 'apigateway'],
  [/^aws_cloudfront_/, 'cloudfront'],
  [/^aws_cloudwatch_log_/, 'logs'],
  [/^aws_cloudwatch_(metric_alarm|composite_alarm|dashboard)$/, 'cloudwatch'],
  [/^aws_cognito_/, 'cognitoidp'],
  // Reading a table with server-side encryption, the provider describes its KMS key.
  [/^aws_dynamodb_table$/, ['dynamodb', 'kms']],
  [/^aws_dynamodb_/, 'dynamodb'],
  [/^aws_ecr_/, 'ecr'],
  [/^aws_ecs_/, 'ecs'],
  [/^aws_iam_/, 'iam'],
  [/^aws_lambda_/, 'lambda'],
  [/^aws_lb(_|$)/, 'elbv2'],
  [/^aws_s3_/, 's3'],
  [/^aws_secretsmanager_/, 'secretsmanager'],
  [/^aws_sns_/, 'sns'],
  [/^aws_kms_/, 'kms'],
  [/^aws_ssm_/, 'ssm'],
  [/^aws_wafv2_/, 'wafv2'],
  [/^aws_budgets_/, 'budgets'],
  [/^aws_route53_/, 'route53'],
  [/^aws_acm_/, 'acm'],
  [/^aws_ec2_managed_prefix_list$/, 'ec2'],
  [/^aws_(vpc(_\w+)?|subnet|internet_gateway|nat_gateway|eip|route_table|route_table_association|route|security_group|security_group_rule|availability_zones)$/, 'ec2'],
  [/^aws_caller_identity$/, 'sts'],
];

/** The endpoints the stack needs (STS always: the provider and aws_caller_identity use it); throws naming any type with no known endpoint. */
export function endpointsFor(stack: StackJson): string[] {
  const types = [...Object.keys(stack.resource ?? {}), ...Object.keys(stack.data ?? {})];
  const unmapped = types.filter((t) => !ENDPOINT_BY_TYPE.some(([re]) => re.test(t)));
  if (unmapped.length) throw new Error(`no emulator endpoint known for ${unmapped.join(', ')}: add the provider's endpoint name to ENDPOINT_BY_TYPE in scripts/test-deploy.ts`);
  const names = new Set(['sts']);
  for (const t of types) for (const e of [(ENDPOINT_BY_TYPE.find(([re]) => re.test(t)) as [RegExp, string | string[]])[1]].flat()) names.add(e);
  return [...names].sort();
}

interface SchemaBlock {
  attributes?: Record<string, unknown>;
  block_types?: Record<string, { block: SchemaBlock }>;
}
export interface ProviderSchema {
  provider: { block: SchemaBlock };
  resource_schemas: Record<string, { block: SchemaBlock }>;
  data_source_schemas: Record<string, { block: SchemaBlock }>;
}

/** Terraform meta-arguments and cdktf's metadata: not provider arguments. */
const META = new Set(['//', 'depends_on', 'count', 'for_each', 'provider', 'lifecycle', 'provisioner', 'connection', 'alias']);

/** Paths (`a.*.b`) of the arguments in `config` that `block` does not know. */
function unknownPaths(config: unknown, block: SchemaBlock, prefix = ''): string[] {
  if (Array.isArray(config)) return config.flatMap((c) => unknownPaths(c, block, prefix));
  if (typeof config !== 'object' || config === null) return [];
  const out: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (!prefix && META.has(key)) continue;
    const p = prefix ? `${prefix}.*.${key}` : key;
    if (block.attributes?.[key] !== undefined) continue;
    const nested = block.block_types?.[key];
    if (nested) out.push(...unknownPaths(value, nested.block, p));
    else out.push(p);
  }
  return out;
}

export interface UnknownArgument {
  /** `aws_api_gateway_integration.compute_integration-…`, or `provider.aws`. */
  address: string;
  resource: string;
  path: string;
}

/** Every argument of the stack the given provider schema does not know (a type it lacks entirely: path `*`). */
export function unknownArguments(stack: StackJson, schema: ProviderSchema): UnknownArgument[] {
  const out: UnknownArgument[] = [];
  for (const p of stack.provider?.aws ?? []) for (const u of unknownPaths(p, schema.provider.block)) out.push({ address: 'provider.aws', resource: 'provider.aws', path: u });
  for (const [kind, schemas] of [
    ['resource', schema.resource_schemas],
    ['data', schema.data_source_schemas],
  ] as const) {
    for (const [type, byName] of Object.entries(stack[kind] ?? {})) {
      for (const [name, config] of Object.entries(byName as Record<string, Json>)) {
        const address = `${kind === 'data' ? 'data.' : ''}${type}.${name}`;
        const s = schemas[type];
        if (!s) out.push({ address, resource: type, path: '*' });
        else for (const u of unknownPaths(config, s.block)) out.push({ address, resource: type, path: u });
      }
    }
  }
  return out;
}

/** Deletes `a.*.b` from `obj` (through arrays at `*`). */
function deletePath(obj: unknown, parts: string[]): void {
  if (Array.isArray(obj)) return obj.forEach((o) => deletePath(o, parts));
  if (typeof obj !== 'object' || obj === null) return;
  const [head, ...rest] = parts.filter((p) => p !== '*');
  if (head === undefined) return;
  const o = obj as Json;
  if (rest.length === 0) delete o[head];
  else deletePath(o[head], rest);
}

export interface CopyOptions {
  /** The emulator's URL. */
  endpoint: string;
  /** The mirror's provider version. */
  providerVersion: string;
  /** Unknown arguments (from `unknownArguments`) to leave out: each must be in the artefacts list. */
  drop?: UnknownArgument[];
  /** What the emulator does not implement (the artefacts list's emulator_unsupported): whole resource types (path "*") or arguments. */
  emulatorUnsupported?: Array<Pick<AttributeEntry, 'resource' | 'path'>>;
}

export interface RehearsalCopy {
  json: StackJson;
  /** The version constraint the stack pins. */
  pinned: string;
  endpoints: string[];
}

/**
 * The rehearsal's copy of a synthesized stack: local state; every AWS provider block pointed at
 * the emulator with fake credentials; the provider version the mirror has; the listed unknown
 * arguments left out. Nothing else changes; the input is not modified.
 */
export function rehearsalCopy(stack: StackJson, opts: CopyOptions): RehearsalCopy {
  const json = structuredClone(stack);
  const aws = json.terraform.required_providers.aws;
  if (!aws) throw new Error('the stack requires no aws provider');
  const pinned = aws.version ?? '(none)';
  aws.version = opts.providerVersion;
  json.terraform.backend = { local: { path: 'terraform.tfstate' } };
  const endpoints = endpointsFor(json);
  const blocks = json.provider?.aws ?? [];
  if (blocks.length === 0) throw new Error('the stack configures no aws provider');
  for (const p of blocks) {
    Object.assign(p, {
      access_key: 'rehearsal',
      secret_key: 'rehearsal',
      skip_credentials_validation: true,
      skip_requesting_account_id: true,
      skip_metadata_api_check: true,
      s3_use_path_style: true,
      endpoints: [Object.fromEntries(endpoints.map((e) => [e, opts.endpoint]))],
    });
  }
  for (const u of opts.drop ?? []) {
    if (u.address === 'provider.aws') for (const p of blocks) deletePath(p, u.path.split('.'));
    else {
      const [kind, type, name] = u.address.startsWith('data.') ? ['data', ...u.address.slice(5).split('.')] : ['resource', ...u.address.split('.')];
      deletePath((json[kind as 'resource' | 'data'] as Record<string, Record<string, Json>> | undefined)?.[type as string]?.[name as string], u.path.split('.'));
    }
  }
  for (const e of opts.emulatorUnsupported ?? []) {
    const byName = json.resource?.[e.resource];
    if (!byName) continue;
    if (e.path === '*') delete json.resource?.[e.resource];
    else for (const r of Object.values(byName)) deletePath(r, e.path.split('.'));
  }
  return { json, pinned, endpoints };
}

/**
 * The resources phase 2 changes on purpose (their configuration differs between the phase 1 and
 * phase 2 copies, e.g. the site's CSP and CloudFront's /agent/* route once the API and the ALB
 * exist), as `type.name` addresses: the phase 2 apply may update these in place.
 */
export function changedBetweenPhases(phase1: StackJson, phase2: StackJson): string[] {
  const out: string[] = [];
  for (const [type, byName] of Object.entries(phase1.resource ?? {})) {
    for (const [name, config] of Object.entries(byName)) {
      const after = phase2.resource?.[type]?.[name];
      if (after !== undefined && !isDeepStrictEqual(config, after)) out.push(`${type}.${name}`);
    }
  }
  return out.sort();
}

// ---- The second plan -----------------------------------------------------------------------------

interface ResourceChange {
  address: string;
  type: string;
  mode?: string;
  change: { actions: string[]; before?: unknown; after?: unknown; after_unknown?: unknown };
}
export interface PlanJson {
  resource_changes?: ResourceChange[];
  output_changes?: Record<string, { actions: string[] }>;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The attribute paths (`a.*.b`) an update changes: `before` vs `after`, and whatever becomes unknown. */
export function changedPaths(before: unknown, after: unknown, afterUnknown: unknown, prefix = ''): string[] {
  if (afterUnknown === true) return [prefix];
  let out: string[];
  if (Array.isArray(before) && Array.isArray(after)) {
    const unknown = Array.isArray(afterUnknown) ? afterUnknown : [];
    out = before.length !== after.length ? [prefix] : before.flatMap((b, i) => changedPaths(b, after[i], unknown[i], prefix ? `${prefix}.*` : '*'));
  } else if (isObject(before) && isObject(after)) {
    const unknown = isObject(afterUnknown) ? afterUnknown : {};
    const keys = new Set([...Object.keys(before), ...Object.keys(after), ...Object.keys(unknown)]);
    out = [...keys].flatMap((k) => changedPaths(before[k], after[k], unknown[k], prefix ? `${prefix}.${k}` : k));
  } else {
    out = isDeepStrictEqual(before, after) ? [] : [prefix];
  }
  return [...new Set(out)];
}

export interface PlanVerdict {
  /** Differences the artefacts list explains: [address, path, reason]. */
  tolerated: Array<{ address: string; path: string; reason: string }>;
  /** Everything else: a line each. */
  unexpected: string[];
  /** Artefact entries this plan did not need. */
  unused: AttributeEntry[];
}

export function judgePlan(plan: PlanJson, known: AttributeEntry[]): PlanVerdict {
  const verdict: PlanVerdict = { tolerated: [], unexpected: [], unused: [] };
  const used = new Set<AttributeEntry>();
  for (const rc of plan.resource_changes ?? []) {
    const actions = rc.change.actions;
    if (actions.every((a) => a === 'no-op' || a === 'read')) continue;
    if (!isDeepStrictEqual(actions, ['update'])) {
      verdict.unexpected.push(`${rc.address}: ${actions.join(' + ')}`);
      continue;
    }
    for (const p of changedPaths(rc.change.before, rc.change.after, rc.change.after_unknown)) {
      const entry = known.find((e) => e.resource === rc.type && (p === e.path || p.startsWith(`${e.path}.`)));
      if (entry) {
        used.add(entry);
        verdict.tolerated.push({ address: rc.address, path: p, reason: entry.reason });
      } else verdict.unexpected.push(`${rc.address}: ${p || '(the whole resource)'} changes`);
    }
  }
  for (const [name, oc] of Object.entries(plan.output_changes ?? {})) {
    if (!oc.actions.every((a) => a === 'no-op')) verdict.unexpected.push(`output ${name}: ${oc.actions.join(' + ')}`);
  }
  verdict.unused = known.filter((e) => !used.has(e));
  return verdict;
}

// ---- Processes ---------------------------------------------------------------------------------------

const out = (s = '') => process.stdout.write(`${s}\n`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

class StepError extends Error {}

interface RunResult {
  code: number | null;
  ms: number;
}

/**
 * Runs a command with stdout (and stderr, unless given its own file) into files; kills it after
 * `timeoutMs`. `stamp`: each line is prefixed with the seconds since the start (`[+12.3s] `).
 */
function run(cmd: string, args: string[], o: { cwd: string; env: NodeJS.ProcessEnv; stdout: string; stderr?: string; timeoutMs?: number; stamp?: boolean }): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let child: ReturnType<typeof spawn>;
    let finish: () => Promise<void>;
    if (o.stamp) {
      const sink = createWriteStream(o.stdout);
      child = spawn(cmd, args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
      const stampLines = (stream: NodeJS.ReadableStream) => {
        let rest = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => {
          const lines = (rest + chunk).split('\n');
          rest = lines.pop() ?? '';
          const at = `[+${((Date.now() - started) / 1000).toFixed(1)}s] `;
          sink.write(lines.map((l) => `${at}${l}\n`).join(''));
        });
        return new Promise<void>((done) => stream.once('end', () => (rest ? sink.write(`${rest}\n`, () => done()) : done())));
      };
      const ended = Promise.all([stampLines(child.stdout as NodeJS.ReadableStream), stampLines(child.stderr as NodeJS.ReadableStream)]);
      finish = () => ended.then(() => new Promise<void>((done) => sink.end(() => done())));
    } else {
      const fdOut = openSync(o.stdout, 'w');
      const fdErr = o.stderr ? openSync(o.stderr, 'w') : fdOut;
      child = spawn(cmd, args, { cwd: o.cwd, env: o.env, stdio: ['ignore', fdOut, fdErr] });
      closeSync(fdOut);
      if (fdErr !== fdOut) closeSync(fdErr);
      finish = () => Promise.resolve();
    }
    const timer = setTimeout(() => child.kill('SIGTERM'), o.timeoutMs ?? STEP_TIMEOUT_MS);
    running.add(child);
    child.once('error', (err) => {
      clearTimeout(timer);
      running.delete(child);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      running.delete(child);
      void finish().then(() => resolve({ code, ms: Date.now() - started }));
    });
  });
}

/** Child processes still running: stopped on exit, whatever happens. */
const running = new Set<ReturnType<typeof spawn>>();
function stopAll(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const child of running) child.kill(signal);
}

/**
 * The proxy for every request that is not for the emulator (loopback never goes through a proxy):
 * it records the host and refuses, so a call whose endpoint the rehearsal did not set fails and is
 * named instead of reaching AWS (or retrying against nothing).
 */
function leakCatcher(onLeak: (host: string) => void): Promise<{ url: string; close: () => void }> {
  const srv = http.createServer((req, res) => {
    onLeak(req.headers.host ?? req.url ?? '?');
    res.writeHead(403).end('deploy rehearsal: nothing outside the emulator\n');
  });
  srv.on('connect', (req: http.IncomingMessage, socket: net.Socket) => {
    onLeak(req.url ?? '?');
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  return listenLocal(srv).then((url) => ({ url, close: () => void closeServer(srv) }));
}

const lastLines = (file: string, n: number) => (existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n) : []);

/** Terraform's error blocks in a log (each "Error: …" paragraph), or its last lines. */
function errorsIn(file: string): string {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const blocks = text.split(/\n(?=(?:\[\+[\d.]+s\] )?(?:│ )?Error: )/).slice(1).map((b) => b.split('\n').slice(0, 12).join('\n'));
  return (blocks.length ? blocks.slice(0, 8) : lastLines(file, 30)).join('\n');
}

// ---- The ECR helper (boto3, which moto's installation carries) ------------------------------------------

const ECR_HELPER = `
import hashlib, json, sys
import boto3
a = json.loads(sys.argv[1])
ecr = boto3.client('ecr', endpoint_url=a['endpoint'], region_name=a['region'], aws_access_key_id='rehearsal', aws_secret_access_key='rehearsal')
def split(uri):
    repo, tag = uri.rsplit(':', 1)
    return repo.split('/', 1)[1], tag
out = {}
for uri in a['images']:
    repo, tag = split(uri)
    if a['action'] == 'push':
        config = json.dumps({'architecture': 'amd64', 'os': 'linux', 'rootfs': {'type': 'layers', 'diff_ids': []}, 'config': {'Labels': {'story42.rehearsal': repo}}})
        manifest = json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.docker.distribution.manifest.v2+json',
            'config': {'mediaType': 'application/vnd.docker.container.image.v1+json', 'size': len(config), 'digest': 'sha256:' + hashlib.sha256(config.encode()).hexdigest()},
            'layers': []})
        ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag=tag)
        out[uri] = True
    elif a['action'] == 'check':
        try:
            out[uri] = len(ecr.describe_images(repositoryName=repo, imageIds=[{'imageTag': tag}])['imageDetails']) > 0
        except (ecr.exceptions.ImageNotFoundException, ecr.exceptions.RepositoryNotFoundException):
            out[uri] = False
    elif a['action'] == 'delete':
        out[uri] = len(ecr.batch_delete_image(repositoryName=repo, imageIds=[{'imageTag': tag}])['imageIds']) > 0
print(json.dumps(out))
`;

// ---- State ---------------------------------------------------------------------------------------------

interface TfState {
  outputs?: Record<string, { value: unknown }>;
  resources?: Array<{ mode: string; type: string; name: string; instances: Array<{ attributes: Json }> }>;
}
const readState = (dir: string): TfState => {
  const file = path.join(dir, 'terraform.tfstate');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as TfState) : {};
};
const managedCount = (s: TfState) => (s.resources ?? []).filter((r) => r.mode === 'managed').reduce((n, r) => n + r.instances.length, 0);

/** The images the deployed compute runs: each Lambda's image_uri and each task definition's container images. */
function imagesInUse(s: TfState): string[] {
  const images: string[] = [];
  for (const r of s.resources ?? []) {
    for (const i of r.instances) {
      if (r.type === 'aws_lambda_function' && typeof i.attributes.image_uri === 'string') images.push(i.attributes.image_uri);
      if (r.type === 'aws_ecs_task_definition') for (const c of JSON.parse(String(i.attributes.container_definitions)) as Array<{ image: string }>) images.push(c.image);
    }
  }
  return images;
}

// ---- The rehearsal ---------------------------------------------------------------------------------------

interface Target {
  label: string;
  phase: 1 | 2;
  cfg: EnvironmentConfig;
  file: string;
}

/** Every environment file in both phases, each synthesized into its own folder under `dir`. */
function synthAll(dir: string): Array<Target & { stack: StackJson }> {
  const targets: Target[] = [];
  for (const phase of [1, 2] as const) {
    for (const file of environmentFiles(ENVIRONMENTS_DIR)) {
      const cfg = parseEnvironment(path.relative(ROOT, file), readFileSync(file, 'utf8'), { images_ready: phase === 2 });
      targets.push({ label: `${stackName(cfg)} phase ${phase}`, phase, cfg, file });
    }
  }
  return ([1, 2] as const).flatMap((phase) => {
    const outdir = path.join(dir, `phase${phase}`);
    mkdirSync(outdir, { recursive: true });
    const app = new App({ outdir, stackTraces: false });
    const mine = targets.filter((t) => t.phase === phase);
    for (const t of mine) new Story42Stack(app, t.cfg);
    app.synth();
    return mine.map((t) => ({ ...t, stack: JSON.parse(readFileSync(path.join(outdir, 'stacks', stackName(t.cfg), 'cdk.tf.json'), 'utf8')) as StackJson }));
  });
}

interface Prerequisites {
  terraform: string;
  moto: string;
  mirror: Mirror;
}

function checkPrerequisites(): Prerequisites {
  const missing: string[] = [];
  const tf = spawnSync('terraform', ['version', '-json'], { encoding: 'utf8' });
  let terraform = '';
  if (tf.error || tf.status !== 0) missing.push(`terraform: not found on PATH (${tf.error?.message ?? tf.stderr.trim()})`);
  else terraform = (JSON.parse(tf.stdout) as { terraform_version: string }).terraform_version;
  const py = spawnSync('python3', ['-c', 'import moto, moto.server, boto3; print(moto.__version__)'], { encoding: 'utf8' });
  let moto = '';
  if (py.error) missing.push(`python3: not found on PATH, so no moto AWS emulator (${py.error.message})`);
  else if (py.status !== 0) missing.push(`moto: the AWS emulator is not installed for python3 (python3 -m pip install 'moto[server]'): ${py.stderr.trim().split('\n').at(-1) ?? ''}`);
  else moto = py.stdout.trim();
  const candidates = mirrorCandidates(process.env);
  const mirror = candidates.map((d) => awsProviderIn(d)).find((m) => m !== undefined);
  if (!mirror) {
    missing.push(
      process.env.STORY42_TF_MIRROR
        ? `the Terraform plugin mirror: STORY42_TF_MIRROR=${process.env.STORY42_TF_MIRROR} holds no ${AWS_PROVIDER} for ${platform()}`
        : `a Terraform filesystem plugin mirror holding ${AWS_PROVIDER} for ${platform()}: none in ${candidates.join(', ')} (set STORY42_TF_MIRROR)`,
    );
  }
  if (missing.length) throw new StepError(`the deploy rehearsal cannot run; missing:\n  - ${missing.join('\n  - ')}`);
  return { terraform, moto, mirror: mirror as Mirror };
}

async function rehearse(runDir: string, artefacts: Artefacts, pre: Prerequisites): Promise<number> {
  const t0 = Date.now();
  const timings: Array<[string, number]> = [];
  const timed = async <T>(label: string, f: () => Promise<T> | T): Promise<T> => {
    const s = Date.now();
    try {
      return await f();
    } finally {
      timings.push([label, Date.now() - s]);
    }
  };
  const logs = path.join(runDir, 'logs');
  mkdirSync(logs, { recursive: true });
  const cliFile = path.join(runDir, 'terraform.rc');
  writeFileSync(cliFile, cliConfig(pre.mirror.dir));

  // The emulator: a free loopback port, its settings from the artefacts list.
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const motoEnv: NodeJS.ProcessEnv = { ...process.env, ...Object.fromEntries(artefacts.emulator_settings.map((s) => [s.name, s.value])) };
  const motoLog = path.join(logs, 'moto.log');
  const motoStarted = Date.now();
  const motoFd = openSync(motoLog, 'w');
  const moto = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { cwd: runDir, env: motoEnv, stdio: ['ignore', motoFd, motoFd] });
  closeSync(motoFd);
  running.add(moto);
  let motoExited = false;
  const closers: Array<() => void> = [];
  moto.once('exit', () => {
    motoExited = true;
    running.delete(moto);
  });
  try {
    // Terraform's environment: our CLI config, fake credentials, nothing from the caller's TF_* or AWS profile, and a proxy
    // that refuses and records whatever is not for the emulator: the first such request stops terraform and fails the step.
    const leaks = new Set<string>();
    const catcher = await leakCatcher((host) => {
      leaks.add(host);
      for (const child of running) if (child.spawnargs[0] === 'terraform') child.kill('SIGKILL');
    });
    closers.push(catcher.close);
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(TF_|AWS_)|^(https?|no|all)_proxy$/i.test(k)));
    Object.assign(env, {
      TF_CLI_CONFIG_FILE: cliFile,
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      CHECKPOINT_DISABLE: '1',
      AWS_ACCESS_KEY_ID: 'rehearsal',
      AWS_SECRET_ACCESS_KEY: 'rehearsal',
      AWS_EC2_METADATA_DISABLED: 'true',
      HTTPS_PROXY: catcher.url,
      HTTP_PROXY: catcher.url,
      NO_PROXY: '127.0.0.1,localhost',
    });
    // Terraform's plugin sockets go to TMPDIR: the run's own folder, unless that path is too long for a unix socket.
    const tfTmp = path.join(runDir, 't');
    if (`${tfTmp}/plugin0123456789`.length <= 100) {
      mkdirSync(tfTmp, { recursive: true });
      env.TMPDIR = tfTmp;
    }
    const tf = (step: string, cwd: string, args: string[], o: { stdout?: string; allow?: number[] } = {}) =>
      run('terraform', args, { cwd, env, stdout: o.stdout ?? path.join(logs, `${step}.log`), stderr: o.stdout ? path.join(logs, `${step}.stderr.log`) : undefined, stamp: !o.stdout }).then((r) => {
        if (leaks.size) {
          throw new StepError(
            `terraform ${args[0]} (${step}) called ${[...leaks].join(', ')}, outside the emulator (stopped): the provider has no emulator endpoint for it. ` +
              'Add the endpoint to the resource type that needs it in ENDPOINT_BY_TYPE (scripts/test-deploy.ts).',
          );
        }
        if (!(o.allow ?? [0]).includes(r.code ?? -1)) {
          const log = path.join(logs, o.stdout ? `${step}.stderr.log` : `${step}.log`);
          throw new StepError(`terraform ${args[0]} (${step}) failed with exit code ${r.code ?? 'none (timed out or killed)'} after ${secs(r.ms)}:\n${errorsIn(log)}\n(full log: ${path.relative(ROOT, log)})`);
        }
        return r;
      });
    const ecr = async (action: 'push' | 'check' | 'delete', images: string[], region: string): Promise<Record<string, boolean>> => {
      const file = path.join(logs, `ecr-${action}.log`);
      const r = await run('python3', ['-c', ECR_HELPER, JSON.stringify({ action, images, endpoint, region })], { cwd: runDir, env, stdout: file, stderr: path.join(logs, `ecr-${action}.stderr.log`) });
      if (r.code !== 0) throw new StepError(`ECR ${action} failed:\n${lastLines(path.join(logs, `ecr-${action}.stderr.log`), 15).join('\n')}`);
      return JSON.parse(readFileSync(file, 'utf8')) as Record<string, boolean>;
    };

    // The provider's schema, from a scratch folder that needs only the provider (while moto starts and the stacks are written).
    const validateDir = path.join(runDir, 'validate');
    mkdirSync(validateDir, { recursive: true });
    writeFileSync(path.join(validateDir, 'cdk.tf.json'), JSON.stringify({ terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: pre.mirror.version } } } }));
    const schemaFile = path.join(logs, 'provider-schema.json');
    const schemaRun = tf('init-validate', validateDir, ['init', '-backend=false', '-input=false', '-no-color']).then(() => tf('provider-schema', validateDir, ['providers', 'schema', '-json'], { stdout: schemaFile }));
    schemaRun.catch(() => undefined); // awaited below

    out(`Deploy rehearsal: terraform ${pre.terraform}, ${AWS_PROVIDER} ${pre.mirror.version} (${pre.mirror.platform}) from the mirror ${pre.mirror.dir}, moto ${pre.moto} on ${endpoint}`);
    const synthDir = path.join(runDir, 'synth');
    const targets = await timed('synth (every env file, both phases)', () => synthAll(synthDir));
    out(`  synth: ${targets.map((t) => t.label).join(', ')} -> ${path.relative(ROOT, synthDir)}/ (${secs(timings.at(-1)?.[1] ?? 0)})`);

    await timed('provider schema', () => schemaRun);
    const schema = (JSON.parse(readFileSync(schemaFile, 'utf8')) as { provider_schemas: Record<string, ProviderSchema> }).provider_schemas[AWS_PROVIDER];
    if (!schema) throw new StepError(`terraform providers schema -json has no ${AWS_PROVIDER}`);

    // The rehearsal's copies: what the mirror's provider does not know is left out only when the artefacts list names it.
    const copies = targets.map((t) => {
      const emulatorUnsupported = artefacts.emulator_unsupported;
      const first = rehearsalCopy(t.stack, { endpoint, providerVersion: pre.mirror.version, emulatorUnsupported });
      const unknown = unknownArguments(first.json, schema);
      const listed = unknown.filter((u) => artefacts.unsupported_attributes.some((e) => e.resource === u.resource && e.path === u.path));
      const unlisted = unknown.filter((u) => !listed.includes(u));
      return { ...t, ...rehearsalCopy(t.stack, { endpoint, providerVersion: pre.mirror.version, drop: listed, emulatorUnsupported }), dropped: listed, unlisted };
    });
    const pins = [...new Set(copies.map((c) => c.pinned))];
    if (pins.some((p) => p !== pre.mirror.version)) {
      out(`  NOTE provider version: the stack pins ${AWS_PROVIDER} "${pins.join('", "')}"; the mirror has ${pre.mirror.version}, so the rehearsal's own copies`);
      out(`       require "${pre.mirror.version}" instead (only that constraint is rewritten; the committed stack is unchanged).`);
      out(`  NOTE lock file: the committed terraform/.terraform.lock.hcl records ${pins.join(', ')} with its official hashes; the copies do not use it:`);
      out(`       terraform init writes each copy's own lock file for the mirror's ${pre.mirror.version} (in the run's folder only).`);
    } else out(`  provider version: the stack pins "${pins.join('", "')}", which the mirror has.`);
    const dropped = new Map<string, number>();
    for (const c of copies) for (const d of c.dropped) dropped.set(`${d.resource}.${d.path}`, (dropped.get(`${d.resource}.${d.path}`) ?? 0) + 1);
    for (const [what, n] of dropped) {
      const entry = artefacts.unsupported_attributes.find((e) => `${e.resource}.${e.path}` === what) as AttributeEntry;
      out(`  NOTE left out of the rehearsal's copies (the mirror's provider ${pre.mirror.version} does not know it): ${what} (${n}x in all stacks): ${entry.reason}`);
    }
    const unlisted = copies.flatMap((c) => c.unlisted.map((u) => `${c.label}: ${u.address}${u.path === '*' ? ' (the whole resource type)' : `: ${u.path}`}`));
    if (unlisted.length) {
      throw new StepError(
        `the mirror's provider ${pre.mirror.version} does not know these arguments of the stack, and the artefacts list does not name them:\n  ${[...new Set(unlisted)].join('\n  ')}\n` +
          `Use a mirror with the provider the stack pins (${pins.join(', ')}), or list them under unsupported_attributes in ${path.relative(ROOT, ARTEFACTS_FILE)} with the reason.`,
      );
    }
    for (const s of artefacts.emulator_settings) out(`  emulator setting ${s.name}=${s.value}: ${s.reason}`);
    for (const e of artefacts.emulator_unsupported) {
      if (copies.some((c) => c.stack.resource?.[e.resource])) out(`  NOTE left out of the rehearsal's copies (moto does not implement it): ${e.resource}${e.path === '*' ? '' : `.${e.path}`}: ${e.reason}`);
    }
    const copyDir = path.join(runDir, 'copies');
    mkdirSync(copyDir, { recursive: true });
    const fileOf = (c: (typeof copies)[number]) => path.join(copyDir, `${stackName(c.cfg)}-phase${c.phase}.tf.json`);
    for (const c of copies) writeFileSync(fileOf(c), `${JSON.stringify(c.json, null, 2)}\n`);

    // Wait for moto (it has had the synth to start).
    await timed('moto start', async () => {
      for (;;) {
        if (motoExited) throw new StepError(`moto exited before it answered:\n${lastLines(motoLog, 15).join('\n')}`);
        const ok = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) }).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) return;
        if (Date.now() - motoStarted > 30_000) throw new StepError(`moto did not answer on ${endpoint} within 30 s:\n${lastLines(motoLog, 15).join('\n')}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    });

    // terraform validate on every env file and phase, in the background once phase 1 has planned and
    // mostly waits for the emulator (both need the CPU for their provider starts).
    let phase1Creating: () => void = () => undefined;
    const validation = (async () => {
      await new Promise<void>((r) => (phase1Creating = r));
      const s = Date.now();
      const lines: string[] = [];
      let failed = false;
      for (const c of copies) {
        writeFileSync(path.join(validateDir, 'cdk.tf.json'), readFileSync(fileOf(c)));
        const step = `validate-${stackName(c.cfg)}-phase${c.phase}`;
        const jsonOut = path.join(logs, `${step}.json`);
        await tf(step, validateDir, ['validate', '-json', '-no-color'], { stdout: jsonOut, allow: [0, 1] });
        const v = JSON.parse(readFileSync(jsonOut, 'utf8')) as { valid: boolean; diagnostics: Array<{ severity: string; summary: string; detail?: string; address?: string }> };
        const errors = v.diagnostics.filter((d) => d.severity === 'error');
        const warnings = v.diagnostics.filter((d) => d.severity === 'warning');
        failed ||= !v.valid;
        lines.push(`    ${c.label}: ${v.valid ? 'valid' : 'INVALID'}${warnings.length ? ` (${warnings.length} warning${warnings.length > 1 ? 's' : ''}: ${[...new Set(warnings.map((w) => w.summary))].join('; ')})` : ''}`);
        for (const e of errors.slice(0, 10)) lines.push(`      error: ${e.summary}${e.address ? ` (${e.address})` : ''}${e.detail ? `: ${e.detail.split('\n')[0]}` : ''}`);
      }
      timings.push([`terraform validate x${copies.length} (beside phase 1)`, Date.now() - s]);
      return { lines, failed };
    })();
    validation.catch(() => undefined); // awaited below

    const dev = copies.filter((c) => c.file === REHEARSED_FILE);
    const [p1, p2] = [dev.find((c) => c.phase === 1), dev.find((c) => c.phase === 2)];
    if (!p1 || !p2) throw new StepError(`no environment file ${path.relative(ROOT, REHEARSED_FILE)}`);
    const region = p1.cfg.region;
    const applyDir = path.join(runDir, 'apply');
    mkdirSync(applyDir, { recursive: true });
    const use = (c: typeof p1) => writeFileSync(path.join(applyDir, 'cdk.tf.json'), readFileSync(fileOf(c)));
    const summary = (step: string, re: RegExp) => re.exec(readFileSync(path.join(logs, `${step}.log`), 'utf8'));
    const applied = (step: string) => {
      const m = summary(step, /Apply complete! Resources: (\d+) added, (\d+) changed, (\d+) destroyed/);
      return { added: Number(m?.[1] ?? NaN), changed: Number(m?.[2] ?? NaN), destroyed: Number(m?.[3] ?? NaN) };
    };
    const counts: Record<string, number | string> = {};

    out(`\n==> Phase 1 (foundation): ${stackName(p1.cfg)} -> ${path.relative(ROOT, applyDir)}`);
    use(p1);
    await timed('terraform init', () => tf('init', applyDir, ['init', '-input=false', '-no-color']));
    const phase1Log = path.join(logs, 'apply-phase1.log');
    const watch = setInterval(() => {
      if (existsSync(phase1Log) && readFileSync(phase1Log, 'utf8').includes('Creating...')) phase1Creating();
    }, 500);
    try {
      await timed('phase 1 apply', () => tf('apply-phase1', applyDir, ['apply', '-auto-approve', '-input=false', '-no-color', `-parallelism=${PARALLELISM}`]));
    } finally {
      clearInterval(watch);
    }
    phase1Creating(); // if phase 1 went by without the log showing it
    const a1 = applied('apply-phase1');
    counts['phase 1: created'] = a1.added;
    out(`  applied: ${a1.added} created, ${a1.changed} changed, ${a1.destroyed} destroyed; ${managedCount(readState(applyDir))} resources in state (${secs(timings.at(-1)?.[1] ?? 0)})`);
    if (a1.changed || a1.destroyed || a1.added !== managedCount(readState(applyDir))) throw new StepError('phase 1 on an empty emulator should only create');

    const v = await validation;
    out(`\n==> terraform validate, every environment file in both phases (the same copies):`);
    for (const l of v.lines) out(l);
    if (v.failed) throw new StepError('terraform validate failed (above)');

    const state1 = readState(applyDir);
    const tag = String(state1.outputs?.image_tag?.value ?? '');
    const repos = Object.entries(state1.outputs ?? {})
      .filter(([k]) => k.endsWith('_ecr_repository_url'))
      .map(([, o]) => String(o.value));
    if (!tag || repos.length === 0) throw new StepError('phase 1 has no image_tag or *_ecr_repository_url outputs to push to');
    const pushed = repos.map((r) => `${r}:${tag}`);
    out(`\n==> Images -> the emulator's ECR: a minimal manifest per repository, tag ${tag}`);
    await timed('push images', () => ecr('push', pushed, region));
    for (const p of pushed) out(`  pushed ${p}`);

    out(`\n==> Phase 2 (compute, images_ready): ${stackName(p2.cfg)}`);
    use(p2);
    await timed('phase 2 apply', () => tf('apply-phase2', applyDir, ['apply', '-auto-approve', '-input=false', '-no-color', `-parallelism=${PARALLELISM}`]));
    const a2 = applied('apply-phase2');
    counts['phase 2: created'] = a2.added;
    counts['phase 2: changed'] = a2.changed;
    const state2 = readState(applyDir);
    counts['in state after phase 2'] = managedCount(state2);
    out(`  applied: ${a2.added} created, ${a2.changed} changed, ${a2.destroyed} destroyed; ${managedCount(state2)} resources in state (${secs(timings.at(-1)?.[1] ?? 0)})`);
    // Phase 2 adds the compute and leaves the foundation alone: it may only re-apply what moto does
    // not round-trip (the plan_differences types); a replace or destroy would hit live data.
    const transition = readFileSync(path.join(logs, 'apply-phase2.log'), 'utf8');
    const touched = [...transition.matchAll(/# (\S+) (will be updated in-place|must be replaced|will be destroyed|will be replaced)/g)].map((m) => ({ address: m[1] as string, action: m[2] as string }));
    const artefactTypes = new Set(artefacts.plan_differences.map((e) => e.resource));
    const intended = new Set(changedBetweenPhases(p1.json, p2.json));
    const expected = (t: { address: string; action: string }) => t.action === 'will be updated in-place' && (intended.has(t.address) || artefactTypes.has(t.address.split('.')[0] as string));
    for (const t of touched.filter(expected)) out(`  updated ${t.address}: ${intended.has(t.address) ? 'phase 2 changes its configuration (the API and the agent now exist)' : 'emulator drift from phase 1 (a type with known artefacts)'}`);
    const wrong = touched.filter((t) => !expected(t));
    if (wrong.length) throw new StepError(`phase 2 changes the foundation:\n  ${wrong.map((t) => `${t.address} ${t.action}`).join('\n  ')}`);
    const inUse = [...new Set(imagesInUse(state2))];
    const present = await ecr('check', inUse, region);
    const absent = inUse.filter((i) => !present[i]);
    if (inUse.length === 0 || absent.length) throw new StepError(`the compute runs images that are not in the emulator's ECR: ${absent.join(', ') || '(no images found in state)'}`);
    out(`  every Lambda and the agent task run a pushed image (${inUse.length} images: ${inUse.map((i) => i.split('/').at(-1)).join(', ')})`);

    out(`\n==> Second plan: must show no changes but the known emulator artefacts`);
    const planFile = path.join(applyDir, 'rehearsal.tfplan');
    const plan = await timed('second plan', () => tf('plan', applyDir, ['plan', '-detailed-exitcode', '-input=false', '-no-color', `-parallelism=${PARALLELISM}`, `-out=${planFile}`], { allow: [0, 2] }));
    // The destroy starts now, beside `terraform show -json` of the saved plan (a file the destroy does not
    // touch). dev has no force_destroy, so first, as an operator would, the pushed images go (ECR
    // deletes no repository that holds images).
    const showFile = path.join(logs, 'plan.json');
    const show = plan.code === 2 ? tf('plan-show', applyDir, ['show', '-json', '-no-color', planFile], { stdout: showFile }) : undefined;
    show?.catch(() => undefined);
    await ecr('delete', pushed, region);
    // -refresh=false: the second plan has just read every resource back, so the destroy does not read them all again.
    const destroy = timed('destroy', () => tf('destroy', applyDir, ['destroy', '-auto-approve', '-input=false', '-no-color', '-refresh=false', `-parallelism=${PARALLELISM}`]));
    destroy.catch(() => undefined);
    let verdict: PlanVerdict = { tolerated: [], unexpected: [], unused: artefacts.plan_differences };
    if (show) {
      await show;
      verdict = judgePlan(JSON.parse(readFileSync(showFile, 'utf8')) as PlanJson, artefacts.plan_differences);
    }
    const planLine = summary('plan', /Plan: .*|No changes\..*/)?.[0] ?? '';
    out(`  terraform: ${planLine} (${secs(plan.ms)})`);
    for (const t of verdict.tolerated) out(`  emulator artefact ${t.address}: ${t.path}`);
    if (verdict.tolerated.length) out(`  (${verdict.tolerated.length} known emulator artefacts; reasons in ${path.relative(ROOT, ARTEFACTS_FILE)})`);
    for (const u of verdict.unused) out(`  note: listed artefact not seen this run: ${u.resource} ${u.path}`);
    const planFailure = verdict.unexpected.length ? `the second plan wants changes that are not known emulator artefacts:\n  ${verdict.unexpected.join('\n  ')}\n(full plan: ${path.relative(ROOT, path.join(logs, 'plan.log'))})` : '';
    if (planFailure) out(`  FAILED: ${planFailure}`);
    else out('  clean: nothing to change but the known emulator artefacts');

    out(`\n==> Destroy`);
    out(`  deleted the ${pushed.length} pushed images first (ECR deletes no repository that holds images, and dev has no force_destroy)`);
    await destroy;
    const destroyed = Number(summary('destroy', /Destroy complete! Resources: (\d+) destroyed/)?.[1] ?? NaN);
    counts.destroyed = destroyed;
    const left = managedCount(readState(applyDir));
    out(`  destroyed ${destroyed}; ${left} left in state (${secs(timings.at(-1)?.[1] ?? 0)})`);
    if (left !== 0) throw new StepError(`${left} resources are still in state after destroy`);
    if (planFailure) throw new StepError(planFailure);

    out(`\n==> Timings`);
    for (const [label, ms] of timings) out(`  ${label.padEnd(44)} ${secs(ms).padStart(8)}`);
    out(`  ${'total'.padEnd(44)} ${secs(Date.now() - t0).padStart(8)}`);
    out(`==> Resources: ${Object.entries(counts)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`);
    out(`\nDeploy rehearsal passed in ${secs(Date.now() - t0)}: ${stackName(p1.cfg)} applied in both phases, re-planned clean (${verdict.tolerated.length} known emulator artefacts), destroyed.`);
    return 0;
  } finally {
    for (const close of closers) close();
    moto.kill('SIGTERM');
    const stopped = motoExited || (await Promise.race([new Promise<boolean>((r) => moto.once('exit', () => r(true))), new Promise<boolean>((r) => setTimeout(() => r(false), 3000))]));
    if (!stopped) moto.kill('SIGKILL');
  }
}

async function main(): Promise<number> {
  if (!scriptArgs(USAGE)) return process.exitCode === undefined ? 0 : Number(process.exitCode);
  let artefacts: Artefacts;
  let pre: Prerequisites;
  try {
    artefacts = loadArtefacts();
    pre = checkPrerequisites();
  } catch (err) {
    process.stderr.write(`Deploy rehearsal FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  mkdirSync(WORK_DIR, { recursive: true });
  const runDir = path.join(WORK_DIR, `run-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
  mkdirSync(runDir, { recursive: true });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stopAll('SIGTERM');
      process.stderr.write(`\ndeploy rehearsal: ${signal}, stopped (moto and terraform too); the run's folder stays: ${path.relative(ROOT, runDir)}\n`);
      process.exit(130);
    });
  }
  try {
    const code = await rehearse(runDir, artefacts, pre);
    if (process.env.STORY42_REHEARSAL_KEEP === '1') out(`(kept the run's folder: ${path.relative(ROOT, runDir)})`);
    else rmSync(runDir, { recursive: true, force: true });
    return code;
  } catch (err) {
    stopAll('SIGTERM');
    const msg = err instanceof StepError || err instanceof EnvironmentError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`\nDeploy rehearsal FAILED: ${msg}\n(the run's folder stays for inspection: ${path.relative(ROOT, runDir)})\n`);
    return 1;
  }
}

if (require.main === module) {
  process.once('exit', () => stopAll('SIGKILL'));
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
