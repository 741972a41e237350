/**
 * `npm run bench`: figures measured side by side in one run on this machine.
 *
 *  (a) /generate-story-outline through the local gateway (token verification + tracking on,
 *      offline writer) against a bare Express JSON route: requests/s, p50/p99, ratio.
 *  (b) a 6-panel /generate-story-image with the illustrator's simulated per-image latency L,
 *      as a multiple of L — concurrent panels (configured limit) beside serial (limit 1).
 *  (c) a full visual story (outline, story, 6 panel images) through the local Bedrock server
 *      with per-call latency L, as a multiple of L, beside the same pipeline run serially
 *      (the old platform's shape); and the time to the first SSE events of /generate-story
 *      against the server's first-token latency.
 */
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import { LocalBedrockServer } from '../src/local/bedrock-server';
import { serveGateway } from '../src/local/platform';
import { DEMO_USER, freePort, idTokenFor, startLocalServices } from '../src/local/services';
import { loadConfig } from '../src/platform/config';
import { createPlatform } from '../src/platform/platform';
import { ConsoleTelemetry } from '../src/platform/telemetry';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const LATENCY_MS = Number(process.env.BENCH_IMAGE_LATENCY_MS ?? 400);

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function post(url: URL, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A bounded closed-loop load: `total` requests, `concurrency` at a time. */
async function load(url: string, body: (i: number) => string, headers: Record<string, string>, total: number): Promise<LoadResult> {
  const target = new URL(url);
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) {
        const i = next++;
        const s = performance.now();
        const status = await post(target, body(i), headers);
        latencies.push(performance.now() - s);
        if (status !== 200) errors++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return { rps: total / seconds, p50: pct(0.5), p99: pct(0.99), errors };
}

const fmt = (n: number, d = 1) => n.toFixed(d);

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..');
  mkdirSync(path.join(root, '.tmp'), { recursive: true });
  const dataDir = mkdtempSync(path.join(root, '.tmp', 'bench-'));
  const services = await startLocalServices({ dataDir, ports: { s3: await freePort(), dynamodb: await freePort(), cognito: await freePort() } });
  const stops: Array<() => Promise<void>> = [];
  try {
    const token = await idTokenFor(services.ports.cognito, services.clientId, DEMO_USER);
    const auth = { Authorization: `Bearer ${token}` };

    // (a) gateway vs bare Express
    const platform = createPlatform(loadConfig(services.env), { telemetry: new ConsoleTelemetry(true) });
    const gateway = await serveGateway(platform);
    stops.push(gateway.stop);
    const bare = express();
    bare.use(express.json());
    bare.post('/generate-story-outline', (req, res) => {
      res.json({ success: true, route: 'bare', result: { echo: req.body as unknown } });
    });
    const bareServer = bare.listen(0, '127.0.0.1');
    await new Promise((r) => bareServer.once('listening', r));
    stops.push(() => new Promise((r) => bareServer.close(() => r())));
    const bareUrl = `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}`;

    const outline = (i: number) =>
      JSON.stringify({ genre: 'fantasy', reading_level: 'grade 3', tone: 'warm', story_type: 'visual', panels: 6, number_of_speakers: 3, user_input_description: 'A fox and an owl look for the moon', job_id: `bench-${i % 50}` });
    // Warm both sides (JIT, JWKS cache, connections) before measuring.
    await load(`${gateway.url}/generate-story-outline`, outline, auth, 100);
    await load(`${bareUrl}/generate-story-outline`, outline, {}, 100);
    const g = await load(`${gateway.url}/generate-story-outline`, outline, auth, REQUESTS);
    const b = await load(`${bareUrl}/generate-story-outline`, outline, {}, REQUESTS);

    // (b) 6 panels with simulated latency L: concurrent vs serial
    const panelsBody = JSON.stringify({
      story_segments: Array.from({ length: 6 }, (_, i) => ({ story_segment_content: `Panel ${i + 1}: a lantern glows over the sea.`, story_segment_number: i + 1 })),
      art_style: 'watercolor',
      number_of_panels: 6,
      job_id: 'bench-panels',
    });
    const timePanels = async (concurrency: number) => {
      const p = createPlatform(loadConfig({ ...services.env, STORY42_OFFLINE_IMAGE_LATENCY_MS: String(LATENCY_MS), STORY42_IMAGE_CONCURRENCY: String(concurrency) }), {
        telemetry: new ConsoleTelemetry(true),
      });
      const gw = await serveGateway(p);
      try {
        await post(new URL(`${gw.url}/generate-story-image`), panelsBody, auth); // warm-up
        const t0 = performance.now();
        const status = await post(new URL(`${gw.url}/generate-story-image`), panelsBody, auth);
        if (status !== 200) throw new Error(`panels request failed: ${status}`);
        return performance.now() - t0;
      } finally {
        await gw.stop();
      }
    };
    const parallel = await timePanels(6);
    const serial = await timePanels(1);

    // (c) full visual story through the local Bedrock runtime
    const bedrock = new LocalBedrockServer();
    const bedrockUrl = await bedrock.listen();
    stops.push(() => bedrock.close());
    const BEDROCK_L = Number(process.env.BENCH_BEDROCK_LATENCY_MS ?? 300);
    const FIRST_TOKEN = Number(process.env.BENCH_FIRST_TOKEN_MS ?? 200);
    const storyPipeline = async (concurrency: number) => {
      const p = createPlatform(
        loadConfig({ ...services.env, STORY42_TEXT_PROVIDER: 'bedrock', STORY42_IMAGE_PROVIDER: 'bedrock', STORY42_BEDROCK_ENDPOINT: bedrockUrl, STORY42_IMAGE_CONCURRENCY: String(concurrency) }),
        { telemetry: new ConsoleTelemetry(true) },
      );
      const gw = await serveGateway(p);
      const call = async (route: string, body: unknown) => {
        const res = await fetch(`${gw.url}${route}`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
        if (res.status !== 200) throw new Error(`${route} answered ${res.status}`);
        return (await res.json()) as { result: { story_parts: unknown[] } };
      };
      try {
        bedrock.knobs.latencyMs = 0;
        await call('/generate-topics-ideas', { genre: 'fiction', topics: 'warm-up' });
        bedrock.knobs.latencyMs = BEDROCK_L;
        const base = { genre: 'fantasy', reading_level: 'grade 3', tone: 'warm', story_type: 'visual', panels: 6, number_of_speakers: 3, job_id: `bench-story-${concurrency}` };
        const t0 = performance.now();
        const outlineRes = await call('/generate-story-outline', { ...base, user_input_description: 'A fox named Rin and an owl named Odo look for the moon' });
        const t1 = performance.now();
        const storyRes = await call('/generate-story', { ...base, story_outline_description: outlineRes.result.story_parts });
        const t2 = performance.now();
        await call('/generate-story-image', { complete_story_parts: storyRes.result.story_parts, art_style: 'watercolor', number_of_panels: 6, job_id: base.job_id });
        const t3 = performance.now();
        return { total: t3 - t0, outline: t1 - t0, story: t2 - t1, images: t3 - t2 };
      } finally {
        await gw.stop();
      }
    };
    const stages = (t: { outline: number; story: number; images: number }) =>
      `outline ${fmt(t.outline / BEDROCK_L, 2)} L, story ${fmt(t.story / BEDROCK_L, 2)} L, 6 panels ${fmt(t.images / BEDROCK_L, 2)} L`;
    const storyParallel = await storyPipeline(6);
    const storySerial = await storyPipeline(1);

    // Time to the first SSE events of /generate-story against the model's first token.
    const ssePlatform = createPlatform(loadConfig({ ...services.env, STORY42_TEXT_PROVIDER: 'bedrock', STORY42_BEDROCK_ENDPOINT: bedrockUrl }), { telemetry: new ConsoleTelemetry(true) });
    const sseGw = await serveGateway(ssePlatform);
    stops.push(sseGw.stop);
    bedrock.knobs.latencyMs = BEDROCK_L;
    bedrock.knobs.firstTokenMs = FIRST_TOKEN;
    const outlineParts = ['beginning', 'middle', 'end'].map((p) => ({ story_part: p, story_part_summary: `The ${p}.`, story_part_speakers: ['Narrator', 'Rin'] }));
    const t0 = performance.now();
    const sse = await fetch(`${sseGw.url}/generate-story`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json', Accept: 'text/event-stream' },
      body: JSON.stringify({ genre: 'fantasy', reading_level: 'grade 3', tone: 'warm', story_type: 'visual', panels: 3, number_of_speakers: 2, story_outline_description: outlineParts, job_id: 'bench-sse' }),
    });
    let firstEvent = 0;
    let firstDelta = 0;
    let done = 0;
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of sse.body ?? []) {
      text += decoder.decode(chunk as Uint8Array, { stream: true });
      const now = performance.now() - t0;
      if (!firstEvent && text.includes('event: ')) firstEvent = now;
      if (!firstDelta && text.includes('event: delta')) firstDelta = now;
      if (text.includes('event: result')) done = now;
    }

    const lines = [
      '',
      `Story42 bench — ${new Date().toISOString()} — node ${process.version}, ${REQUESTS} requests, ${CONCURRENCY} concurrent`,
      '',
      '(a) POST /generate-story-outline: local gateway (JWT verify + tracking to dynalite + offline writer) vs bare Express JSON route',
      `    gateway : ${fmt(g.rps, 0).padStart(6)} req/s   p50 ${fmt(g.p50, 2)} ms   p99 ${fmt(g.p99, 2)} ms   errors ${g.errors}`,
      `    express : ${fmt(b.rps, 0).padStart(6)} req/s   p50 ${fmt(b.p50, 2)} ms   p99 ${fmt(b.p99, 2)} ms   errors ${b.errors}`,
      `    ratio   : gateway throughput = ${fmt(g.rps / b.rps, 3)} x bare Express; p50 latency = ${fmt(g.p50 / b.p50, 2)} x`,
      '',
      `(b) POST /generate-story-image, 6 panels, simulated image latency L = ${LATENCY_MS} ms`,
      `    concurrent (limit 6): ${fmt(parallel, 0)} ms = ${fmt(parallel / LATENCY_MS, 2)} x L`,
      `    serial     (limit 1): ${fmt(serial, 0)} ms = ${fmt(serial / LATENCY_MS, 2)} x L`,
      `    speed-up           : ${fmt(serial / parallel, 2)} x`,
      '',
      `(c) full visual story (outline + story + 6 panels) through the local Bedrock server, per-call latency L = ${BEDROCK_L} ms`,
      `    concurrent panels : ${fmt(storyParallel.total, 0)} ms = ${fmt(storyParallel.total / BEDROCK_L, 2)} x L  (${stages(storyParallel)})`,
      `    serial (old shape): ${fmt(storySerial.total, 0)} ms = ${fmt(storySerial.total / BEDROCK_L, 2)} x L  (${stages(storySerial)})`,
      `    ratio             : serial / concurrent = ${fmt(storySerial.total / storyParallel.total, 2)} x; 6 panels alone ${fmt(storySerial.images / storyParallel.images, 2)} x`,
      `    SSE /generate-story, model first token at ${FIRST_TOKEN} ms: first event ${fmt(firstEvent, 1)} ms, first text delta ${fmt(firstDelta, 1)} ms (${fmt(firstDelta - FIRST_TOKEN, 1)} ms after the first token), result ${fmt(done, 0)} ms`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } finally {
    for (const s of stops.reverse()) await s();
    agent.destroy();
    await services.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
