/**
 * What the local platform needs to know about processes to clean up after itself safely: is a
 * pid alive, is it still the very process we started (not another one that reused the pid),
 * what is its command line; ending one (TERM, then KILL after a bounded wait); and noticing
 * that the processes that launched `npm start` are gone.
 *
 * Linux answers from /proc; other systems (macOS) from `ps`; where neither exists, only whether
 * a pid exists is known, and then nothing is ever ended.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** One-letter state (`R`, `S`, `Z` …). */
  state: string;
  /** Identifies this process among all that ever had its pid: boot id + start time. */
  startId: string | undefined;
  /** Its arguments (on `ps`-only systems: the command line split on spaces). */
  args: string[];
}

let bootId: string | undefined | null = null;
function linuxBootId(): string | undefined {
  if (bootId === null) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootId = undefined;
    }
  }
  return bootId;
}

function fromProc(pid: number): ProcessInfo | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = rest[0] ?? '?';
  const ppid = Number(rest[1]);
  const starttime = rest[19]; // field 22 of stat: start time in clock ticks after boot
  let args: string[] = [];
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    // a process that set its title (npm: "npm start") leaves its old arguments' room as NULs
    while (args.at(-1) === '') args.pop();
  } catch {
    // gone meanwhile, or a zombie: no arguments
  }
  return { pid, ppid, state, startId: starttime === undefined ? undefined : `${linuxBootId() ?? ''}:${starttime}`, args };
}

/** Where neither /proc nor `ps` answers: only whether the pid exists (never enough to end it). */
function fromSignal(pid: number): ProcessInfo | undefined {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (!(err instanceof Error && 'code' in err && err.code === 'EPERM')) return undefined;
  }
  return { pid, ppid: 0, state: '?', startId: undefined, args: [] };
}

function fromPs(pid: number): ProcessInfo | undefined {
  const out = spawnSync('ps', ['-o', 'ppid=', '-o', 'stat=', '-o', 'lstart=', '-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
  if (out.error) return fromSignal(pid);
  const line = out.status === 0 ? out.stdout.trim() : '';
  if (!line) return undefined;
  const words = line.split(/\s+/);
  // ppid, stat, lstart ("Mon Jan  1 00:00:00 2024": five words), then the command.
  return { pid, ppid: Number(words[0]), state: (words[1] ?? '?').charAt(0), startId: words.slice(2, 7).join(' '), args: words.slice(7) };
}

/** The process with this pid, or `undefined` when there is none. */
export function processInfo(pid: number): ProcessInfo | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (process.platform === 'linux') return fromProc(pid);
  return process.platform === 'win32' ? fromSignal(pid) : fromPs(pid);
}

/** Exists and is not a zombie (an exited process its parent has not reaped holds no ports and no files). */
export function isRunning(info: ProcessInfo | undefined): info is ProcessInfo {
  return info !== undefined && info.state !== 'Z' && info.state !== 'X';
}

/** The running process with this pid, if it is the one identified by `startId` (when one was recorded). */
export function sameProcess(pid: number, startId: string | undefined): ProcessInfo | undefined {
  const info = processInfo(pid);
  if (!isRunning(info)) return undefined;
  if (startId !== undefined && info.startId !== undefined && info.startId !== startId) return undefined;
  return info;
}

/** The start id of a process (this one by default), recorded so a reused pid is never mistaken for it. */
export function startIdOf(pid = process.pid): string | undefined {
  return processInfo(pid)?.startId;
}

/** Whether a command line holds `arg` as one whole argument (from `ps`: between spaces, as it cannot tell them apart). */
export function hasArg(info: ProcessInfo, arg: string): boolean {
  return info.args.includes(arg) || ` ${info.args.join(' ')} `.includes(` ${arg} `);
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `done()` or the deadline; true when done. */
export async function until(done: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await done()) return true;
    if (Date.now() >= deadline) return false;
    await pause(everyMs);
  }
}

/**
 * Ends a process that `stillOurs()` vouches for: SIGTERM (and SIGCONT, so a stopped one can
 * act on it), SIGKILL after `graceMs`. Never signals a process that is no longer ours. Returns
 * how it ended: 'term', 'kill', or 'gone' (it was not there, or not ours, to begin with).
 */
export async function endProcess(pid: number, stillOurs: () => boolean, graceMs = 3000): Promise<'term' | 'kill' | 'gone'> {
  const signal = (sig: NodeJS.Signals): boolean => {
    if (!stillOurs()) return false;
    try {
      process.kill(pid, sig);
      return true;
    } catch {
      return false;
    }
  };
  if (!signal('SIGTERM')) return 'gone';
  signal('SIGCONT');
  if (await until(() => !stillOurs(), graceMs)) return 'term';
  signal('SIGKILL');
  await until(() => !stillOurs(), 2000);
  return 'kill';
}

/**
 * The processes that launched this one for a script, nearest first: the parents whose command
 * line names `entry` (tsx's runner, `sh -c tsx …`), then npm itself when npm ran the script.
 * Always at least the direct parent.
 */
export function launchers(entry: string): ProcessInfo[] {
  const rel = path.relative(process.cwd(), entry);
  const names = (info: ProcessInfo) => info.args.some((a) => a === entry || a === rel || a.endsWith(` ${rel}`) || a.endsWith(`/${rel}`));
  const isNpm = (info: ProcessInfo) => path.basename((info.args[0] ?? '').split(' ')[0] ?? '') === 'npm' || info.args.some((a) => a.endsWith('npm-cli.js'));
  const parent = processInfo(process.ppid);
  if (!parent) return [];
  const chain = [parent];
  let info = parent;
  while (names(info) && info.ppid > 1 && chain.length < 6) {
    const up = processInfo(info.ppid);
    if (!up) break;
    if (names(up) || isNpm(up)) chain.push(up);
    if (!names(up)) break;
    info = up;
  }
  return chain;
}

/**
 * Calls `onGone` once when any of `watched` exits (polling: no OS tells a process that its
 * grandparent died). The timer does not keep the process alive; the return value stops it.
 */
export function watchProcesses(watched: ProcessInfo[], onGone: (gone: ProcessInfo) => void, everyMs = 1000): () => void {
  const timer = setInterval(() => {
    const gone = watched.find((w) => !sameProcess(w.pid, w.startId));
    if (gone) {
      clearInterval(timer);
      onGone(gone);
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
