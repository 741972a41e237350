/**
 * The local platform's pid file, `<data dir>/local-platform.pid.json`: who is running with
 * this data directory (our pid, its start time), the child processes we started (pid, the
 * marker of their command line, port) and where the local Cognito is, for `npm run token`.
 *
 * Written when the local servers start, removed when they stop. When a run is ended without
 * stopping (`kill -9`, a crash, a power cut) the next start finds the file, ends the children
 * that are still alive AND still ours — the same process (pid and start time) running the
 * command we started, on this data directory — and says so in one line. A process that merely
 * reuses a recorded pid is never touched.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { portFree } from './http-util';
import { endProcess, hasArg, sameProcess, startIdOf, until, type ProcessInfo } from './processes';

export const RUN_FILE = 'local-platform.pid.json';

export const runFilePath = (dataDir: string): string => path.join(path.resolve(dataDir), RUN_FILE);

const childSchema = z.object({
  name: z.string(),
  pid: z.number().int(),
  startId: z.string().optional(),
  /** The argument that names what the child runs (checked with the data directory before ending it). */
  marker: z.string(),
  port: z.number().int(),
  started: z.string(),
});
export type RunChild = z.infer<typeof childSchema>;

const runSchema = z.object({
  pid: z.number().int(),
  startId: z.string().optional(),
  started: z.string(),
  dataDir: z.string(),
  ports: z.object({ s3: z.number().int(), dynamodb: z.number().int(), cognito: z.number().int() }),
  children: z.array(childSchema),
  cognito: z.object({ endpoint: z.string(), clientId: z.string() }).optional(),
  api: z.object({ url: z.string() }).optional(),
});
export type RunFile = z.infer<typeof runSchema>;

/** The arguments that mark a child as one this data directory's platform started. */
export const dataDirArg = (dataDir: string): string => `--story42-data-dir=${path.resolve(dataDir)}`;

/** The pid file's content; `undefined` when there is none, `'unreadable'` when it is not ours to parse. */
export function readRunFile(dataDir: string): RunFile | 'unreadable' | undefined {
  const file = runFilePath(dataDir);
  if (!existsSync(file)) return undefined;
  try {
    const parsed = runSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

export class AlreadyRunningError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    readonly url?: string,
  ) {
    super(
      `Story42 is already running with the data directory ${dataDir} (pid ${pid}${url ? `, API on ${url}` : ''}). ` +
        `Stop it first (Ctrl-C where it runs, or kill ${pid}), or give this one its own STORY42_DATA_DIR.`,
    );
    this.name = 'AlreadyRunningError';
  }
}

/** Creates the pid file for this process; fails when another run created one meanwhile. */
export function createRunFile(run: RunFile): void {
  try {
    writeFileSync(runFilePath(run.dataDir), `${JSON.stringify(run, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'EEXIST') {
      const other = readRunFile(run.dataDir);
      throw new AlreadyRunningError(run.dataDir, typeof other === 'object' ? other.pid : 0);
    }
    throw err;
  }
}

const mine = (run: RunFile | 'unreadable' | undefined): run is RunFile => typeof run === 'object' && run.pid === process.pid && run.startId === startIdOf();

/** Changes this process's pid file (atomically); leaves another run's file alone. */
export function updateRunFile(dataDir: string, change: (run: RunFile) => RunFile): void {
  const run = readRunFile(dataDir);
  if (!mine(run)) return;
  const file = runFilePath(dataDir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(change(run), null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

/** Removes this process's pid file (never another run's). */
export function removeRunFile(dataDir: string): void {
  if (mine(readRunFile(dataDir))) rmSync(runFilePath(dataDir), { force: true });
}

/** The running process that wrote the file, if it is still that process. */
export function runOwner(run: RunFile): ProcessInfo | undefined {
  return sameProcess(run.pid, run.startId);
}

/** A recorded child, if it is still the process we started: same pid and start time, our command, our data directory. */
export function ourChild(child: RunChild, dataDir: string, markers: readonly string[]): ProcessInfo | undefined {
  const info = sameProcess(child.pid, child.startId);
  if (!info || !markers.includes(child.marker)) return undefined;
  return hasArg(info, child.marker) && hasArg(info, dataDirArg(dataDir)) ? info : undefined;
}

export interface ReclaimOptions {
  /** The command markers a child of ours may carry (what we start today). */
  markers: readonly string[];
  /** Where the one-line report goes. */
  log: (line: string) => void;
  /** How long a live previous run gets to finish stopping before this one gives up. */
  waitForOwnerMs?: number;
}

/**
 * Cleans up after a previous run on this data directory that did not stop: ends its children
 * that are still alive and ours, removes its pid file and logs one line saying what was done.
 * A previous run that is still alive (and still that process) is given a moment to finish
 * stopping, then this fails with AlreadyRunningError. Returns the line logged, if any.
 */
export async function reclaimStaleRun(dataDir: string, opts: ReclaimOptions): Promise<string | undefined> {
  const run = readRunFile(dataDir);
  if (run === undefined) return undefined;
  const file = runFilePath(dataDir);
  if (run === 'unreadable') {
    rmSync(file, { force: true });
    const line = `Story42: removed the unreadable pid file ${file} left by an earlier run.`;
    opts.log(line);
    return line;
  }
  if (runOwner(run) && !(await until(() => !runOwner(run), run.pid === process.pid ? 0 : (opts.waitForOwnerMs ?? 5000), 100))) {
    throw new AlreadyRunningError(path.resolve(dataDir), run.pid, run.api?.url);
  }
  const done: string[] = [];
  for (const child of run.children) {
    const what = `${child.name} (pid ${child.pid}, port ${child.port})`;
    if (ourChild(child, dataDir, opts.markers)) {
      const how = await endProcess(child.pid, () => ourChild(child, dataDir, opts.markers) !== undefined);
      // The kernel may take a moment to release the ended process's listening port.
      await until(() => portFree(child.port), 5000, 50);
      done.push(how === 'gone' ? `${what} had already exited` : `ended ${what}${how === 'kill' ? ' with SIGKILL' : ''}`);
    } else if (sameProcess(child.pid, undefined)) {
      done.push(`pid ${child.pid} is no longer ${child.name} (left alone)`);
    } else {
      done.push(`${what} had already exited`);
    }
  }
  rmSync(file, { force: true });
  const line = `Story42: cleaned up after the previous run (pid ${run.pid}, started ${run.started}) that did not stop: ${done.length ? done.join('; ') : 'no child processes'}.`;
  opts.log(line);
  return line;
}
