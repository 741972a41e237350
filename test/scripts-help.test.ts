/**
 * Every runnable script answers `--help` / `-h` with its usage on stdout and exit 0, starting
 * nothing, and a wrong invocation with its usage on stderr and exit 2. The scripts run exactly
 * as a user runs them: `npm run --silent <name> -- --help`, or the shell scripts directly.
 * The npm scripts to check come from package.json, so a new entry point must support --help.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { escapeRegExp, wholeWordPattern } from '../src/core/regex';

const ROOT = path.resolve(__dirname, '..');
/** A script that handles --help answers in a second or two; one that starts its work does not. */
const LIMIT_MS = 30_000;

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

/** npm scripts that are not entry points of ours, and why. */
const NOT_OURS: Record<string, string> = {
  test: 'runs typecheck and jest',
  typecheck: 'tsc',
  jest: 'jest',
  'test:infra': 'jest',
  'test:event-loop': 'jest',
  'test:browser': 'jest',
  'build:web': 'vite build (vite --help is its own)',
  'dev:web': 'the vite dev server (vite --help is its own)',
  deploy: 'scripts/deploy.sh, covered directly below',
  'deploy:code': 'scripts/rebuild_and_deploy.sh, covered directly below',
};
const ENTRY_POINTS = Object.keys(pkg.scripts).filter((name) => !(name in NOT_OURS));

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a command in its own process group; past LIMIT_MS the whole group is killed. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, LIMIT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** `npm start` or `npm run [--silent] <name>` at the start of the usage text. */
const usageLine = (name: string) => new RegExp(`^Usage: npm (?:run (?:--silent )?)?${escapeRegExp(name)}(?![\\w:-])`);

/** What a started entry point prints: a server's address, the platform's banner, a synth or bench result. */
const STARTED = /listening|is running locally|runtime on http:\/\/127\.0\.0\.1:\d|synthesized |synth took|Story42 bench —/i;

/** The environment variables an npm script's entry file reads by name (`process.env.X`, `portFrom('X', …)`). */
function envReadBy(script: string): string[] {
  const file = /\btsx (\S+\.ts)\b/.exec(pkg.scripts[script] ?? '')?.[1];
  if (!file) throw new Error(`npm run ${script} does not run a tsx entry file: ${pkg.scripts[script] ?? ''}`);
  const source = readFileSync(path.join(ROOT, file), 'utf8');
  const names = new Set<string>();
  for (const m of source.matchAll(/process\.env(?:\.|\[')([A-Z][A-Z0-9_]*)|portFrom\('([A-Z][A-Z0-9_]*)'/g)) names.add((m[1] ?? m[2]) as string);
  return [...names];
}

describe('npm scripts: --help', () => {
  let tmp: string;
  let probe: http.Server;
  let probed: string[];
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
    tmp = mkdtempSync(path.join(ROOT, '.tmp', 'scripts-help-'));
    // PORT points at a probe that records every request: a script that ignores --help and goes
    // on to contact the platform, or to listen on PORT, shows up here or fails.
    probed = [];
    probe = http.createServer((req, res) => {
      probed.push(`${req.method ?? ''} ${req.url ?? ''}`);
      res.writeHead(503).end();
    });
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = String((probe.address() as AddressInfo).port);
    env = { ...process.env, PORT: port, STORY42_DATA_DIR: path.join(tmp, 'data'), CDKTF_OUTDIR: path.join(tmp, 'cdktf.out') };
  });
  afterAll(async () => {
    await new Promise((resolve) => probe.close(resolve));
    rmSync(tmp, { recursive: true, force: true });
  });

  it('checks every npm script that is an entry point of ours', () => {
    expect(ENTRY_POINTS).toEqual(expect.arrayContaining(['start', 'token', 'local-bedrock', 'synth', 'bench']));
    // The check of the usage against the variables read sees them (PORT, CDKTF_OUTDIR, …).
    expect(Object.fromEntries(['start', 'token', 'synth', 'bench'].map((n) => [n, envReadBy(n).length > 0]))).toEqual({ start: true, token: true, synth: true, bench: true });
  });

  it.each(ENTRY_POINTS)('npm run %s -- --help prints its usage on stdout, exits 0 and starts nothing', async (name) => {
    const flags = ['--help', '-h'];
    const outs = await Promise.all(flags.map((flag) => run('npm', ['run', '--silent', name, '--', flag], env)));
    outs.forEach((out, i) => {
      expect({ flag: flags[i], timedOut: out.timedOut, code: out.code, stderr: out.stderr }).toEqual({ flag: flags[i], timedOut: false, code: 0, stderr: '' });
      expect(out.stdout).toMatch(usageLine(name));
      expect(out.stdout).toContain('--help');
      expect(out.stdout).not.toMatch(STARTED);
      // The usage names every environment variable the entry file reads.
      expect(envReadBy(name).filter((v) => !wholeWordPattern(v).test(out.stdout))).toEqual([]);
    });
    expect(probed).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]); // no data directory, no synth output
  });

  it.each(ENTRY_POINTS)('npm run %s with an unknown option prints its usage on stderr and exits 2', async (name) => {
    const out = await run('npm', ['run', '--silent', name, '--', '--no-such-option'], env);
    expect({ timedOut: out.timedOut, code: out.code, stdout: out.stdout }).toEqual({ timedOut: false, code: 2, stdout: '' });
    expect(out.stderr).toContain('--no-such-option');
    expect(out.stderr).toMatch(new RegExp(usageLine(name).source, 'm'));
    expect(probed).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  });
});

describe('shell scripts: --help and wrong invocations', () => {
  /** `npm`: the npm script that runs it, if any (bootstrap-state.sh is run once per account, by hand). */
  const SCRIPTS: Array<{ file: string; npm?: string; synopsis: string }> = [
    { file: 'deploy.sh', npm: 'deploy', synopsis: 'scripts/deploy.sh <env> <region> [--dry-run]' },
    { file: 'rebuild_and_deploy.sh', npm: 'deploy:code', synopsis: 'scripts/rebuild_and_deploy.sh <env> <region> [--only' },
    { file: 'bootstrap-state.sh', synopsis: 'scripts/bootstrap-state.sh <env> <region> [--dry-run]' },
    { file: 'upload-prompts.sh', synopsis: 'scripts/upload-prompts.sh <env> <region> [--dry-run]' },
  ];
  const TOOLS = ['aws', 'docker', 'npm', 'terraform', 'git', 'node'];
  let bin: string;
  let log: string;
  let env: NodeJS.ProcessEnv;

  beforeEach(() => {
    // Every tool the scripts call is a fake that only logs: --help must call none of them.
    mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
    bin = mkdtempSync(path.join(ROOT, '.tmp', 'help-bin-'));
    log = path.join(bin, 'calls.log');
    writeFileSync(log, '');
    for (const tool of TOOLS) {
      writeFileSync(path.join(bin, tool), `#!/usr/bin/env bash\nprintf '%s %s\\n' "$(basename "$0")" "$*" >> "${log}"\n`);
      chmodSync(path.join(bin, tool), 0o755);
    }
    env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, TAG: 'abc123' };
  });
  afterEach(() => rmSync(bin, { recursive: true, force: true }));

  describe.each(SCRIPTS)('scripts/$file', ({ file, npm, synopsis }) => {
    const script = path.join(ROOT, 'scripts', file);

    it.each([{ args: ['--help'] }, { args: ['-h'] }, { args: ['dev', 'us-west-2', '--help'] }, { args: ['dev', 'us-west-2', '--dry-run', '-h'] }])('$args prints the usage on stdout, exits 0 and runs nothing', async ({ args }) => {
      const out = await run(script, args, env);
      expect({ timedOut: out.timedOut, code: out.code, stderr: out.stderr }).toEqual({ timedOut: false, code: 0, stderr: '' });
      expect(out.stdout).toContain(synopsis);
      expect(out.stdout).toContain('-h, --help');
      expect(out.stdout).not.toContain('==>');
      expect(readFileSync(log, 'utf8')).toBe('');
    });

    if (npm) {
      it(`npm run ${npm} -- --help prints the usage on stdout and exits 0`, async () => {
        const out = await run('npm', ['run', '--silent', npm, '--', '--help']);
        expect({ timedOut: out.timedOut, code: out.code, stderr: out.stderr }).toEqual({ timedOut: false, code: 0, stderr: '' });
        expect(out.stdout).toContain(synopsis);
      });
    }

    it.each([{ args: [] }, { args: ['dev'] }, { args: ['--dry-run'] }, { args: ['dev', 'us-west-2', '--no-such-option'] }, { args: ['dev', 'us-west-2', 'extra'] }])('a wrong invocation ($args) prints the usage on stderr and exits 2', async ({ args }) => {
      const out = await run(script, args, env);
      expect({ timedOut: out.timedOut, code: out.code, stdout: out.stdout }).toEqual({ timedOut: false, code: 2, stdout: '' });
      expect(out.stderr).toContain(synopsis);
      expect(readFileSync(log, 'utf8')).toBe('');
    });
  });

  it('rebuild_and_deploy.sh: --only without a component is a wrong invocation', async () => {
    const out = await run(path.join(ROOT, 'scripts', 'rebuild_and_deploy.sh'), ['dev', 'us-west-2', '--only'], env);
    expect({ code: out.code, stdout: out.stdout }).toEqual({ code: 2, stdout: '' });
    expect(out.stderr).toContain('scripts/rebuild_and_deploy.sh <env> <region>');
    expect(readFileSync(log, 'utf8')).toBe('');
  });
});
