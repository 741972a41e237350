/**
 * The local platform survives its own faults: a `kill -9` leaves nothing that blocks the next
 * start (what it left running is found through its pid file and ended, with a message), the
 * pid-file check never touches a process that is not ours, `npm run token` finds Cognito
 * without /health, and a storage server can be stopped and started again with its data.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_CREDENTIALS } from '../src/aws/clients';
import { isRunning, processInfo, startIdOf } from '../src/local/processes';
import { AlreadyRunningError, readRunFile, runFilePath, type RunFile } from '../src/local/run-file';
import { boot, endGroup, launch, portOpen, ready, ROOT, type Running } from './support/boot';
import { COGNITO_BIN, DEMO_USER, freePort, idTokenFor, PortInUseError, startLocalServices, type LocalPorts, type LocalServices } from '../src/local/services';


const tmpDir = (prefix: string) => mkdtempSync(path.join(ROOT, '.tmp', prefix));

const alive = (pid: number) => isRunning(processInfo(pid));



async function waitFor(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function runFile(dataDir: string): RunFile {
  const run = readRunFile(dataDir);
  if (typeof run !== 'object') throw new Error(`no readable pid file in ${dataDir}`);
  return run;
}

async function platformEnv(dataDir: string): Promise<{ port: number; env: Record<string, string>; ports: number[] }> {
  const port = await freePort();
  const ports = [await freePort(), await freePort(), await freePort()] as const;
  return {
    port,
    ports: [port, ...ports],
    env: { PORT: String(port), STORY42_DATA_DIR: dataDir, STORY42_S3_PORT: String(ports[0]), STORY42_DYNAMODB_PORT: String(ports[1]), STORY42_COGNITO_PORT: String(ports[2]) },
  };
}

async function demoToken(dataDir: string): Promise<string> {
  const { cognito } = runFile(dataDir);
  if (!cognito) throw new Error('the pid file does not say where Cognito is');
  return idTokenFor(Number(new URL(cognito.endpoint).port), cognito.clientId, DEMO_USER);
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('kill -9 of npm start', () => {
  it('the next start ends the child the killed run left behind, says so, and has the data from before', async () => {
    const dataDir = tmpDir('faults-kill-');
    dirs.push(dataDir);
    const { port, env, ports } = await platformEnv(dataDir);
    const first = boot(env);
    let second: Running | undefined;
    try {
      await ready(port, first);
      const token = await demoToken(dataDir);
      const made = await fetch(`http://127.0.0.1:${port}/generate-topics-ideas`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ genre: 'fiction', topics: 'lanterns', job_id: 'before-kill' }),
      });
      expect(made.status).toBe(200);

      const run = runFile(dataDir);
      const cognito = run.children.find((c) => c.name === 'cognito-local');
      if (!cognito) throw new Error('the pid file names no cognito-local child');
      // A hung child cannot notice that its parent died: it keeps its port.
      process.kill(cognito.pid, 'SIGSTOP');
      process.kill(run.pid, 'SIGKILL');
      await first.exited;
      await waitFor('the killed platform to be gone', () => !alive(run.pid));
      expect(alive(cognito.pid)).toBe(true);
      expect(await portOpen(cognito.port)).toBe(true);

      second = boot(env);
      await ready(port, second);
      expect(second.output()).toMatch(new RegExp(`cleaned up after the previous run \\(pid ${run.pid}, .*ended cognito-local \\(pid ${cognito.pid}, port ${cognito.port}\\)`));
      expect(alive(cognito.pid)).toBe(false);
      const job = await fetch(`http://127.0.0.1:${port}/jobs/before-kill`, { headers: { Authorization: `Bearer ${await demoToken(dataDir)}` } });
      expect(job.status).toBe(200);

      second.child.kill('SIGINT');
      expect(await second.exited).toBe(0);
      expect(existsSync(runFilePath(dataDir))).toBe(false);
      for (const p of ports) expect(await portOpen(p)).toBe(false);
    } finally {
      endGroup(first);
      if (second) endGroup(second);
    }
  });

  it('killing npm itself stops the platform it started, so the next start is not blocked', async () => {
    const dataDir = tmpDir('faults-npm-');
    dirs.push(dataDir);
    const { port, env, ports } = await platformEnv(dataDir);
    const npm = launch('npm', ['start'], env);
    let again: Running | undefined;
    try {
      await ready(port, npm);
      const run = runFile(dataDir);
      const children = run.children.map((c) => c.pid);
      if (npm.child.pid === undefined) throw new Error('npm has no pid');
      process.kill(npm.child.pid, 'SIGKILL');
      await npm.exited;
      // The platform process and its cognito-local notice, stop, and free every port.
      await waitFor('the orphaned platform to stop', async () => !alive(run.pid) && children.every((c) => !alive(c)) && !(await Promise.all(ports.map(portOpen))).some(Boolean));
      expect(npm.output()).toContain(`the process that started Story42 (pid ${npm.child.pid}) ended: stopping Story42`);

      again = boot(env);
      await ready(port, again);
      again.child.kill('SIGINT');
      expect(await again.exited).toBe(0);
    } finally {
      endGroup(npm);
      if (again) endGroup(again);
    }
  });
});

describe('the pid-file check and the storage servers', () => {
  let dataDir: string;
  let ports: LocalPorts;
  let sleeper: ChildProcess;
  let services: LocalServices;
  const logged: string[] = [];

  /** A pid file as a killed run would leave it, naming processes that are not ours. */
  function foreignRunFile(dir: string, children: Array<{ pid: number; port: number }>): void {
    const run: RunFile = {
      // this very process under another start time: a pid the killed run had and someone reused
      pid: process.pid,
      startId: 'another-boot:1',
      started: new Date(0).toISOString(),
      dataDir: dir,
      ports,
      children: children.map((c) => ({ name: 'cognito-local', pid: c.pid, startId: startIdOf(c.pid), marker: COGNITO_BIN, port: c.port, started: new Date(0).toISOString() })),
    };
    writeFileSync(runFilePath(dir), JSON.stringify(run));
  }

  beforeAll(async () => {
    dataDir = tmpDir('faults-pidfile-');
    dirs.push(dataDir);
    ports = { s3: await freePort(), dynamodb: await freePort(), cognito: await freePort() };
    sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    await waitFor('sleep to start', () => sleeper.pid !== undefined && alive(sleeper.pid));
    foreignRunFile(dataDir, [
      { pid: sleeper.pid ?? 0, port: ports.cognito },
      { pid: process.pid, port: ports.cognito },
    ]);
    services = await startLocalServices({ dataDir, ports, log: (line) => logged.push(line) });
  });
  afterAll(async () => {
    await services?.stop();
    sleeper.kill('SIGKILL');
  });

  it('never ends a live process that is not ours, even when the pid file names it', () => {
    expect(alive(sleeper.pid ?? 0)).toBe(true);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(`pid ${sleeper.pid} is no longer cognito-local (left alone)`);
    expect(logged[0]).toContain(`pid ${process.pid} is no longer cognito-local (left alone)`);
    // The file now describes this run.
    expect(runFile(dataDir).pid).toBe(process.pid);
    expect(runFile(dataDir).startId).toBe(startIdOf());
  });

  it('a second start on a data directory in use fails with a clear message and ends nothing', async () => {
    const other = { s3: await freePort(), dynamodb: await freePort(), cognito: await freePort() };
    await expect(startLocalServices({ dataDir, ports: other, log: () => undefined })).rejects.toThrow(AlreadyRunningError);
    await expect(startLocalServices({ dataDir, ports: other, log: () => undefined })).rejects.toThrow(`Story42 is already running with the data directory ${dataDir} (pid ${process.pid}`);
    const cognito = runFile(dataDir).children[0];
    expect(cognito && alive(cognito.pid)).toBe(true);
    expect(await portOpen(ports.cognito)).toBe(true);
  });

  it('a port held by a process that is not ours fails with the port message and leaves that process alone', async () => {
    const dir = tmpDir('faults-port-');
    dirs.push(dir);
    const held = { s3: await freePort(), dynamodb: await freePort(), cognito: await freePort() };
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(held.cognito, '127.0.0.1', () => resolve()));
    const lines: string[] = [];
    try {
      writeFileSync(
        runFilePath(dir),
        JSON.stringify({ pid: process.pid, startId: 'another-boot:1', started: new Date(0).toISOString(), dataDir: dir, ports: held, children: [{ name: 'cognito-local', pid: sleeper.pid, startId: startIdOf(sleeper.pid), marker: COGNITO_BIN, port: held.cognito, started: new Date(0).toISOString() }] }),
      );
      const start = startLocalServices({ dataDir: dir, ports: held, log: (line) => lines.push(line) });
      await expect(start).rejects.toThrow(PortInUseError);
      await expect(start).rejects.toThrow(`Port ${held.cognito} is already in use. Set STORY42_COGNITO_PORT`);
      expect(lines.join('\n')).toContain(`pid ${sleeper.pid} is no longer cognito-local (left alone)`);
      expect(alive(sleeper.pid ?? 0)).toBe(true);
      expect(existsSync(runFilePath(dir))).toBe(false);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('suspend closes a storage server (requests refused), resume brings it back with the data written before', async () => {
    const s3 = new S3Client({ endpoint: `http://127.0.0.1:${ports.s3}`, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    const ddb = new DynamoDBClient({ endpoint: `http://127.0.0.1:${ports.dynamodb}`, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    const key = { user_id: { S: 'suspend-user' }, session_id: { S: 'suspend-session' } };
    await s3.send(new PutObjectCommand({ Bucket: services.bucket, Key: 'suspend/before.txt', Body: 'written before suspend' }));
    await ddb.send(new PutItemCommand({ TableName: services.table, Item: { ...key, note: { S: 'written before suspend' } } }));

    for (const name of ['s3', 'dynamodb'] as const) {
      await services.suspend(name);
      expect(await portOpen(ports[name])).toBe(false);
    }
    await expect(s3.send(new GetObjectCommand({ Bucket: services.bucket, Key: 'suspend/before.txt' }))).rejects.toThrow(/ECONNREFUSED|connect/);
    await expect(ddb.send(new GetItemCommand({ TableName: services.table, Key: key }))).rejects.toThrow(/ECONNREFUSED|connect/);
    await services.suspend('s3'); // suspending twice is harmless

    for (const name of ['s3', 'dynamodb'] as const) await services.resume(name);
    await services.resume('dynamodb'); // so is resuming twice
    const object = await s3.send(new GetObjectCommand({ Bucket: services.bucket, Key: 'suspend/before.txt' }));
    expect(await object.Body?.transformToString()).toBe('written before suspend');
    const item = await ddb.send(new GetItemCommand({ TableName: services.table, Key: key }));
    expect(item.Item?.note?.S).toBe('written before suspend');
    s3.destroy();
    ddb.destroy();
  });
});

describe('npm run --silent token', () => {
  it('without a running platform on that data directory: a clear message, nothing on stdout, exit 1', async () => {
    const dir = tmpDir('faults-token-');
    dirs.push(dir);
    const env = { ...process.env, STORY42_DATA_DIR: dir, PORT: String(await freePort()) };
    const none = spawnSync('npm', ['run', '--silent', 'token'], { cwd: ROOT, env, encoding: 'utf8' });
    expect({ status: none.status, stdout: none.stdout }).toEqual({ status: 1, stdout: '' });
    expect(none.stderr).toContain(`No Story42 platform is running with the data directory ${dir}`);
    // A pid file a killed run left behind (its process is gone) is not a running platform.
    const gone = spawnSync('true');
    writeFileSync(runFilePath(dir), JSON.stringify({ pid: gone.pid, startId: 'gone', started: new Date(0).toISOString(), dataDir: dir, ports: { s3: 1, dynamodb: 2, cognito: 3 }, children: [], cognito: { endpoint: 'http://127.0.0.1:3', clientId: 'x' } }));
    const stale = spawnSync('npm', ['run', '--silent', 'token'], { cwd: ROOT, env, encoding: 'utf8' });
    expect({ status: stale.status, stdout: stale.stdout }).toEqual({ status: 1, stdout: '' });
    expect(stale.stderr).toContain('No Story42 platform is running');
  });
});
