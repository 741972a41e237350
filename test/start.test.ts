/**
 * `npm start`'s entry as a user runs it: boots, serves, hands out a token, keeps data
 * across a restart, stops cleanly on Ctrl-C, and explains a taken port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../src/local/services';

const ROOT = path.resolve(__dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function boot(env: Record<string, string>): Running {
  const child = spawn(TSX, ['src/local/start.ts'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** Waits until /health answers 200 (or the process dies). */
async function ready(port: number, run: Running): Promise<void> {
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline) {
    if (run.child.exitCode !== null) throw new Error(`start exited early:\n${run.output()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready in time:\n${run.output()}`);
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function token(port: number, silent = true): string {
  // Exactly as a user or a tool runs it: `npm run --silent token` prints the token and nothing else.
  const out = spawnSync('npm', ['run', ...(silent ? ['--silent'] : []), 'token'], { cwd: ROOT, env: { ...process.env, PORT: String(port) }, encoding: 'utf8' });
  expect(out.status).toBe(0);
  return out.stdout;
}

describe('npm start', () => {
  const dataDir = mkdtempSync(path.join(ROOT, '.tmp', 'start-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('boots, serves a route with the demo token, keeps data across a restart, and stops cleanly', async () => {
    const port = await freePort();
    const ports = { STORY42_S3_PORT: String(await freePort()), STORY42_DYNAMODB_PORT: String(await freePort()), STORY42_COGNITO_PORT: String(await freePort()) };
    const env = { PORT: String(port), STORY42_DATA_DIR: dataDir, ...ports };

    const first = boot(env);
    await ready(port, first);
    expect(first.output()).toContain(`http://127.0.0.1:${port}`);
    expect(first.output()).toContain('demo@story42.local');
    expect(first.output()).toContain('npm run --silent token');

    expect(first.output()).toMatch(/Node: +v24\./);
    const raw = token(port);
    expect(raw).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    // npm itself is not silenced: without --silent it announces the script, and the token is the last line.
    const loud = token(port, false);
    expect(loud).toContain('> story42@');
    expect(loud.trim().split('\n').at(-1)).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { node: string };
    expect(health.node).toMatch(/^v24\./);
    const res = await fetch(`http://127.0.0.1:${port}/generate-topics-ideas`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${raw.trim()}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ genre: 'fiction', topics: 'comets', job_id: 'restart-job' }),
    });
    expect(res.status).toBe(200);

    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    for (const p of [port, ...Object.values(ports).map(Number)]) expect(await portOpen(p)).toBe(false);

    const second = boot(env);
    try {
      await ready(port, second);
      const job = await fetch(`http://127.0.0.1:${port}/jobs/restart-job`, { headers: { Authorization: `Bearer ${token(port).trim()}` } });
      expect(job.status).toBe(200);
    } finally {
      second.child.kill('SIGINT');
      expect(await second.exited).toBe(0);
    }
  });

  it('`npm start` itself runs on the project\'s Node 24 (not the machine\'s)', async () => {
    const port = await freePort();
    const env = { PORT: String(port), STORY42_DATA_DIR: mkdtempSync(path.join(ROOT, '.tmp', 'start-npm-')), STORY42_S3_PORT: String(await freePort()), STORY42_DYNAMODB_PORT: String(await freePort()), STORY42_COGNITO_PORT: String(await freePort()) };
    const child = spawn('npm', ['start'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const run: Running = { child, output: () => out, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
    try {
      await ready(port, run);
      const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { node: string };
      expect(health.node).toMatch(/^v24\./);
      expect(out).not.toMatch(/EBADENGINE|Unsupported engine|NodeVersionSupportWarning/);
    } finally {
      if (child.pid) process.kill(-child.pid, 'SIGINT');
      await run.exited;
      rmSync(env.STORY42_DATA_DIR, { recursive: true, force: true });
    }
  });

  it('says which port is taken and how to change it', async () => {
    const blocker = net.createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', () => resolve()));
    try {
      const run = boot({ PORT: String(port), STORY42_DATA_DIR: dataDir });
      expect(await run.exited).toBe(2);
      expect(run.output()).toContain(`Port ${port} is already in use. Set PORT`);
    } finally {
      blocker.close();
    }
  });

  it('refuses an unknown provider, listing the valid ones', async () => {
    const run = boot({ PORT: String(await freePort()), STORY42_DATA_DIR: dataDir, STORY42_TEXT_PROVIDER: 'magic' });
    expect(await run.exited).toBe(2);
    expect(run.output()).toContain('STORY42_TEXT_PROVIDER must be one of: offline');
  });
});
