/**
 * Load and faults, bounded in time: a short concurrent load (no errors, memory back near where
 * it started); storage stopped and resumed (503 with Retry-After while stopped, normal answers
 * after, nothing lost); a crash in the middle of an image request, then a restart (the job says
 * it is incomplete and lists exactly the images that exist; earlier jobs intact).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { routeNamed } from '../src/core/routes';
import { serveGateway, type RunningGateway } from '../src/local/platform';
import { createLocalPlatform } from '../src/local/providers';
import { DEMO_USER, freePort, idTokenFor, startLocalServices, type LocalServices } from '../src/local/services';
import { loadConfig } from '../src/platform/config';
import { quietTelemetry } from './support/local';

const ROOT = path.resolve(__dirname, '..');
let services: LocalServices;
let dataDir: string;
let token: string;
let gateway: RunningGateway;

const env = (extra: Record<string, string> = {}) => ({ ...services.env, STORY42_LOG_FORMAT: 'silent', STORY42_METRICS: 'off', STORY42_STORAGE_TIMEOUT_MS: '500', ...extra });

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(ROOT, '.tmp', 'faults-'));
  services = await startLocalServices({ dataDir, ports: { s3: await freePort(), dynamodb: await freePort(), cognito: await freePort() } });
  token = await idTokenFor(services.ports.cognito, services.clientId, DEMO_USER);
  gateway = await serveGateway(createLocalPlatform(loadConfig(env()), { telemetry: quietTelemetry() }));
}, 60_000);
afterAll(async () => {
  await gateway.stop();
  await services.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function call(base: string, name: string, body?: unknown, params: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown>; retryAfter: string | null }> {
  const r = routeNamed(name);
  const res = await fetch(`${base}${r.path.replace(/\{(\w+)\}/g, (_m, k: string) => params[k] ?? '')}`, {
    method: r.method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, retryAfter: res.headers.get('retry-after') };
}

const panels = (n: number) => Array.from({ length: n }, (_, i) => ({ story_segment_content: `Panel ${i + 1}: a lantern over the bay.`, story_segment_number: i + 1 }));
let counter = 0;
const job = (p: string) => `${p}-${process.pid}-${(counter += 1)}`;

describe('a short concurrent load', () => {
  it('answers every request, and memory returns near where it started', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const burst = async (n: number) => {
      const results = await Promise.all(Array.from({ length: n }, (_, i) => call(gateway.url, 'generate_topics_ideas', { genre: 'fiction', topics: `load ${i}`, job_id: job('load') })));
      return results.filter((r) => r.status !== 200).length;
    };
    expect(await burst(20)).toBe(0); // warm
    gc();
    const before = process.memoryUsage().heapUsed;
    let errors = 0;
    for (let round = 0; round < 10; round++) errors += await burst(25);
    gc();
    const after = process.memoryUsage().heapUsed;
    expect(errors).toBe(0);
    expect(after - before).toBeLessThan(25 * 1024 * 1024);
  }, 60_000);
});

describe('storage stopped and resumed', () => {
  it('S3 down: 503 with Retry-After; back up: normal answers, earlier images still there', async () => {
    const before = job('s3-before');
    expect((await call(gateway.url, 'generate_entire_story_image', { story_segments: panels(2), art_style: 'ink', number_of_panels: 2, job_id: before })).status).toBe(200);
    await services.suspend('s3');
    try {
      const down = await call(gateway.url, 'generate_entire_story_image', { story_segments: panels(1), art_style: 'ink', number_of_panels: 1, job_id: job('s3-down') });
      expect([down.status, down.body.error, down.retryAfter]).toEqual([503, 'Storage is unavailable; try again shortly', expect.stringMatching(/^\d+$/)]);
      expect((await call(gateway.url, 'get_job', undefined, { job_id: before })).status).toBe(503);
    } finally {
      await services.resume('s3');
    }
    expect((await call(gateway.url, 'generate_entire_story_image', { story_segments: panels(1), art_style: 'ink', number_of_panels: 1, job_id: job('s3-after') })).status).toBe(200);
    const earlier = await call(gateway.url, 'get_job', undefined, { job_id: before });
    const images = (earlier.body.result as { images: Array<{ presigned_url: string }> }).images;
    expect(images).toHaveLength(2);
    const png = await fetch(images[0]?.presigned_url ?? '');
    expect([png.status, Buffer.from(await png.arrayBuffer()).subarray(1, 4).toString()]).toEqual([200, 'PNG']);
  }, 60_000);

  it('DynamoDB down: image routes 503, text routes still answer; back up: earlier jobs intact', async () => {
    const before = job('ddb-before');
    expect((await call(gateway.url, 'generate_topics_ideas', { genre: 'fiction', topics: 'owls', job_id: before })).status).toBe(200);
    await services.suspend('dynamodb');
    try {
      const image = await call(gateway.url, 'generate_entire_story_image', { story_segments: panels(1), art_style: 'ink', number_of_panels: 1, job_id: job('ddb-down') });
      expect([image.status, image.retryAfter]).toEqual([503, expect.any(String)]);
      expect((await call(gateway.url, 'generate_topics_ideas', { genre: 'fiction', topics: 'owls' })).status).toBe(200);
      expect((await call(gateway.url, 'list_jobs')).status).toBe(503);
    } finally {
      await services.resume('dynamodb');
    }
    const earlier = await call(gateway.url, 'get_job', undefined, { job_id: before });
    expect([earlier.status, (earlier.body.result as { records: unknown[] }).records.length]).toEqual([200, 1]);
  }, 60_000);
});

describe('a crash in the middle of an image request', () => {
  it('leaves a job that says incomplete, with exactly the images that exist; earlier jobs intact', async () => {
    const earlier = job('before-crash');
    expect((await call(gateway.url, 'generate_entire_story_image', { story_segments: panels(2), art_style: 'ink', number_of_panels: 2, job_id: earlier })).status).toBe(200);

    // One process (node with tsx's loader, not the tsx CLI, which would run the script in a child of its own).
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/crashable-gateway.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...env({ STORY42_OFFLINE_IMAGE_LATENCY_MS: '400', STORY42_IMAGE_CONCURRENCY: '1' }) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          const line = /^(http:\S+)\n/m.exec(out);
          if (line?.[1]) resolve(line[1]);
        });
        child.once('exit', (code) => reject(new Error(`the gateway exited (${code}) before listening`)));
      });
      const crashed = job('crash');
      const res = await fetch(`${url}${routeNamed('generate_entire_story_image').path}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'text/event-stream' },
        body: JSON.stringify({ story_segments: panels(4), art_style: 'ink', number_of_panels: 4, job_id: crashed }),
      });
      // Read until the first panel is stored, then kill the process: kill -9, no clean-up.
      const reader = res.body?.getReader();
      let text = '';
      while (!text.includes('event: panel')) {
        const chunk = await reader?.read();
        if (!chunk || chunk.done) throw new Error(`stream ended early: ${text}`);
        text += new TextDecoder().decode(chunk.value);
      }
      child.kill('SIGKILL');
      await exited;
      await reader?.cancel().catch(() => undefined);

      // "Restart": a fresh platform over the same storage.
      const restarted = await serveGateway(createLocalPlatform(loadConfig(env()), { telemetry: quietTelemetry() }));
      try {
        const got = await call(restarted.url, 'get_job', undefined, { job_id: crashed });
        const result = got.body.result as { status: string; records: Array<{ status: string }>; images: Array<{ s3_uri: string }> };
        expect([got.status, result.status, result.records.map((r) => r.status)]).toEqual([200, 'incomplete', ['incomplete']]);
        expect(result.images.length).toBeGreaterThanOrEqual(1);
        expect(result.images.length).toBeLessThan(4);
        for (const img of result.images) expect(img.s3_uri).toMatch(/segment_[1-4]\.png$/);
        const before = await call(restarted.url, 'get_job', undefined, { job_id: earlier });
        expect([(before.body.result as { status: string }).status, (before.body.result as { images: unknown[] }).images.length]).toEqual(['complete', 2]);
      } finally {
        await restarted.stop();
      }
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);
});
