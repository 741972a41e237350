/** Running `npm start`'s entry as a user does, for the tests of the local platform's life cycle. */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

export interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Every process group a test started, so a failed test can still end everything it started. */
const started: ChildProcess[] = [];

export function launch(command: string, args: string[], env: Record<string, string>): Running {
  // Its own process group (detached), so `endGroup` reaches its children too.
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  started.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/**
 * `npm start`'s own command without npm: one Node process with tsx's loader. (The tsx CLI would
 * run it as a child and SIGKILL it, exiting 130, when it has not answered a SIGINT within 30 ms.)
 */
export const boot = (env: Record<string, string>): Running => launch(process.execPath, ['--import', 'tsx', 'src/local/start.ts'], env);

/** Ends what a test started, whatever state it is in. */
export function endGroup(run: Running | ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  const pid = 'child' in run ? run.child.pid : run.pid;
  try {
    if (pid !== undefined) process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** For an `afterAll`: ends every process group the file's tests started. */
export function endAllStarted(): void {
  for (const child of started) endGroup(child);
}

/** Waits until /health answers 200 (or the process dies). */
export async function ready(port: number, run: Running, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (run.child.exitCode !== null) throw new Error(`start exited early:\n${run.output()}`);
    const status = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready in time:\n${run.output()}`);
}

export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
