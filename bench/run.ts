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
 *  (d) each Lambda bundle's size and module initialisation (import + warm-up call, fresh Node
 *      process), lean bundles beside the pre-lean shape (bench/lambda-init.ts).
 *  (e) offline speech: seconds of compute per minute of audio (real-time factor); a 3-minute
 *      audio story narrated with N sections at once beside serial; time to the first section's
 *      audio over SSE.
 *  (f) the story agent: "a 6-panel illustrated story" as one message to the agent (its model, the
 *      story model and the image model all the local Bedrock server with per-call latency L):
 *      time to the first picture and in all, as multiples of L, beside the separate routes
 *      (outline, story, images) in the same run.
 *  (g) prompts: S3 requests per TTL window per process under 200 concurrent story requests (the
 *      prompt cache's goal: one conditional GET per prompt per window), and the added latency of
 *      a cached prompt read beside a plain Map lookup in the same run.
 */
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import express from 'express';
import { EspeakPool, OfflineSpeechSynthesizer } from '../src/offline/speech';
import { speechThreads } from '../src/offline/speech-voices';
import { LocalBedrockServer } from '../src/local/bedrock-server';
import { serveGateway } from '../src/local/platform';
import { localStoryAgent } from '../src/local/story-agent';
import { DEMO_USER, freePort, idTokenFor, startLocalServices } from '../src/local/services';
import { loadConfig } from '../src/platform/config';
import { s3Client } from '../src/aws/clients';
import { S3PromptSource } from '../src/aws/s3-prompt-source';
import { promptTextProblem } from '../src/core/prompt-catalogue';
import { CachedPromptService } from '../src/core/prompt-service';
import { bundledPromptsFor } from '../src/platform/prompt-wiring';
import { createLocalPlatform } from '../src/local/providers';
import { PlatformTelemetry } from '../src/platform/telemetry';
import { measureLambdaInit, type InitRow } from './lambda-init';
import { scriptArgs } from '../src/local/cli';

const USAGE = `Usage: npm run bench

Boots the local servers (S3, DynamoDB, Cognito, a local Bedrock runtime) on free ports and
prints, measured side by side in one run:
  (a) POST /generate-story-outline through the local gateway vs a bare Express JSON route:
      requests/s, p50/p99, ratio;
  (b) a 6-panel /generate-story-image as a multiple of the illustrator's simulated latency,
      concurrent panels beside serial;
  (c) a full visual story through the local Bedrock server, concurrent beside serial, and the
      time to the first SSE events of /generate-story;
  (d) each Lambda bundle's size and module initialisation (import + first handler call with
      the warm-up event, in a fresh Node process), the lean bundles of \`npm run build:images\`
      beside the old shape (every provider and both offline engines in one file);
  (e) offline speech: compute seconds per minute of audio (one worker thread); a 3-minute
      audio story narrated with BENCH_SPEECH_CONCURRENCY sections at once beside serial; and
      the time to the first section's audio (its SSE event) against the whole narration;
  (f) the story agent making a 6-panel illustrated story in one message, every model call (the
      agent's own, the story's, each picture's) through the local Bedrock server with latency
      L: the first picture and the whole turn as multiples of L, beside the separate routes;
  (g) the prompt cache: S3 requests per TTL window under BENCH_PROMPT_REQUESTS concurrent
      story requests (one process; the windows are the cache's clock, moved by the bench), and
      the µs per cached prompt read beside a plain Map lookup (BENCH_PROMPT_GETS reads each).
Scratch data goes to .tmp/bench-* and is removed at the end.

Arguments: none.  -h, --help  prints this text.

Environment:
  BENCH_REQUESTS            requests per side in (a) (default 1500)
  BENCH_CONCURRENCY         requests in flight in (a) (default 8)
  BENCH_IMAGE_LATENCY_MS    simulated per-image latency L in (b) (default 400)
  BENCH_BEDROCK_LATENCY_MS  local Bedrock per-call latency L in (c) (default 300)
  BENCH_FIRST_TOKEN_MS      local Bedrock first-token latency in (c) (default 200)
  BENCH_INIT_RUNS           fresh processes per bundle in (d), median reported (default 7)
  BENCH_SPEECH_CONCURRENCY  sections narrated at once in (e) (default: this machine's cores, at least 2)
  BENCH_AGENT_LATENCY_MS    local Bedrock per-call latency L in (f) (default 600)
  BENCH_PROMPT_REQUESTS     concurrent story requests per TTL window in (g) (default 200)
  BENCH_PROMPT_GETS         cached prompt reads (and Map lookups) timed in (g) (default 1000000)
  BENCH_SECTIONS            which sections to run, e.g. "d" or "a,b" (default a,b,c,d,e,f,g)
`;

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const LATENCY_MS = Number(process.env.BENCH_IMAGE_LATENCY_MS ?? 400);
const INIT_RUNS = Number(process.env.BENCH_INIT_RUNS ?? 7);
const SECTIONS = new Set((process.env.BENCH_SECTIONS ?? 'a,b,c,d,e,f,g').split(',').map((x) => x.trim()));
const SPEECH_CONCURRENCY = Number(process.env.BENCH_SPEECH_CONCURRENCY ?? Math.max(2, availableParallelism()));

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

/**
 * POSTs with `Accept: text/event-stream` and reads the stream to its end: when (ms after the
 * request started) each event name in `first` was first seen, and when the `result` came.
 */
async function timeEvents(url: string, auth: Auth, body: unknown, first: readonly string[]): Promise<{ first: Record<string, number>; result: number; text: string }> {
  const t0 = performance.now();
  const sse = await fetch(url, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json', Accept: 'text/event-stream' }, body: JSON.stringify(body) });
  const seen: Record<string, number> = {};
  let result = 0;
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of sse.body ?? []) {
    text += decoder.decode(chunk as Uint8Array, { stream: true });
    const now = performance.now() - t0;
    for (const name of first) if (seen[name] === undefined && text.includes(`event: ${name}`)) seen[name] = now;
    if (text.includes('event: result')) result = now;
  }
  return { first: seen, result, text };
}

const quiet = () => new PlatformTelemetry({ service: 'bench', format: 'silent', metrics: false });

type Auth = Record<string, string>;
type Services = Awaited<ReturnType<typeof startLocalServices>>;

/** (a) the gateway (JWT verify + Lambda handler + tracking + offline writer) vs a bare Express JSON route. */
async function sectionA(services: Services, auth: Auth, stops: Array<() => Promise<void>>): Promise<string[]> {
  const gateway = await serveGateway(createLocalPlatform(loadConfig(services.env), { telemetry: quiet() }));
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
  return [
    '(a) POST /generate-story-outline: local gateway (JWT verify + Lambda handler + tracking to dynalite + offline writer) vs bare Express JSON route',
    `    gateway : ${fmt(g.rps, 0).padStart(6)} req/s   p50 ${fmt(g.p50, 2)} ms   p99 ${fmt(g.p99, 2)} ms   errors ${g.errors}`,
    `    express : ${fmt(b.rps, 0).padStart(6)} req/s   p50 ${fmt(b.p50, 2)} ms   p99 ${fmt(b.p99, 2)} ms   errors ${b.errors}`,
    `    ratio   : gateway throughput = ${fmt(g.rps / b.rps, 3)} x bare Express; p50 latency = ${fmt(g.p50 / b.p50, 2)} x`,
  ];
}

/** (b) 6 panels with simulated latency L: concurrent vs serial. */
async function sectionB(services: Services, auth: Auth): Promise<string[]> {
  const panelsBody = JSON.stringify({
    story_segments: Array.from({ length: 6 }, (_, i) => ({ story_segment_content: `Panel ${i + 1}: a lantern glows over the sea.`, story_segment_number: i + 1 })),
    art_style: 'watercolor',
    number_of_panels: 6,
    job_id: 'bench-panels',
  });
  const timePanels = async (concurrency: number) => {
    const p = createLocalPlatform(loadConfig({ ...services.env, STORY42_OFFLINE_IMAGE_LATENCY_MS: String(LATENCY_MS), STORY42_IMAGE_CONCURRENCY: String(concurrency) }), { telemetry: quiet() });
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
  return [
    `(b) POST /generate-story-image, 6 panels, simulated image latency L = ${LATENCY_MS} ms`,
    `    concurrent (limit 6): ${fmt(parallel, 0)} ms = ${fmt(parallel / LATENCY_MS, 2)} x L`,
    `    serial     (limit 1): ${fmt(serial, 0)} ms = ${fmt(serial / LATENCY_MS, 2)} x L`,
    `    speed-up           : ${fmt(serial / parallel, 2)} x`,
  ];
}

/** (c) a full visual story through the local Bedrock runtime, and SSE time to first events. */
async function sectionC(services: Services, auth: Auth, stops: Array<() => Promise<void>>): Promise<string[]> {
  const bedrock = new LocalBedrockServer();
  const bedrockUrl = await bedrock.listen();
  stops.push(() => bedrock.close());
  const BEDROCK_L = Number(process.env.BENCH_BEDROCK_LATENCY_MS ?? 300);
  const FIRST_TOKEN = Number(process.env.BENCH_FIRST_TOKEN_MS ?? 200);
  const storyPipeline = async (concurrency: number) => {
    const p = createLocalPlatform(
      loadConfig({ ...services.env, STORY42_TEXT_PROVIDER: 'bedrock', STORY42_IMAGE_PROVIDER: 'bedrock', STORY42_BEDROCK_ENDPOINT: bedrockUrl, STORY42_IMAGE_CONCURRENCY: String(concurrency) }),
      { telemetry: quiet() },
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
  const sseGw = await serveGateway(createLocalPlatform(loadConfig({ ...services.env, STORY42_TEXT_PROVIDER: 'bedrock', STORY42_BEDROCK_ENDPOINT: bedrockUrl }), { telemetry: quiet() }));
  stops.push(sseGw.stop);
  bedrock.knobs.latencyMs = BEDROCK_L;
  bedrock.knobs.firstTokenMs = FIRST_TOKEN;
  const outlineParts = ['beginning', 'middle', 'end'].map((p) => ({ story_part: p, story_part_summary: `The ${p}.`, story_part_speakers: ['Narrator', 'Rin'] }));
  const timed = await timeEvents(
    `${sseGw.url}/generate-story`,
    auth,
    { genre: 'fantasy', reading_level: 'grade 3', tone: 'warm', story_type: 'visual', panels: 3, number_of_speakers: 2, story_outline_description: outlineParts, job_id: 'bench-sse' },
    ['progress', 'delta'],
  );
  const firstEvent = timed.first.progress ?? 0;
  const firstDelta = timed.first.delta ?? 0;
  const done = timed.result;
  return [
    `(c) full visual story (outline + story + 6 panels) through the local Bedrock server, per-call latency L = ${BEDROCK_L} ms`,
    `    concurrent panels : ${fmt(storyParallel.total, 0)} ms = ${fmt(storyParallel.total / BEDROCK_L, 2)} x L  (${stages(storyParallel)})`,
    `    serial (old shape): ${fmt(storySerial.total, 0)} ms = ${fmt(storySerial.total / BEDROCK_L, 2)} x L  (${stages(storySerial)})`,
    `    ratio             : serial / concurrent = ${fmt(storySerial.total / storyParallel.total, 2)} x; 6 panels alone ${fmt(storySerial.images / storyParallel.images, 2)} x`,
    `    SSE /generate-story, model first token at ${FIRST_TOKEN} ms: first event ${fmt(firstEvent, 1)} ms, first prose delta ${fmt(firstDelta, 1)} ms (${fmt(firstDelta - FIRST_TOKEN, 1)} ms after the first token), result ${fmt(done, 0)} ms`,
  ];
}

/** (e) offline speech: real-time factor, a 3-minute story concurrent vs serial, SSE time to the first section. */
async function sectionE(services: Services, auth: Auth): Promise<string[]> {
  // Real-time factor: one worker, warmed up, speaking about a minute of story text.
  const pool = new EspeakPool({ threads: 1, timeoutMs: 120_000 });
  let rtf: { compute: number; audio: number };
  try {
    const speech = new OfflineSpeechSynthesizer(pool);
    await speech.synthesize({ text: 'Warming up.', voice: 'en-us-michael', pauseAfterMs: 0 });
    const text = Array.from({ length: 16 }, () => 'The bees carried the golden nectar home to the hive, where the young ones waited.').join(' ');
    const t0 = performance.now();
    const audio = await speech.synthesize({ text, voice: 'en-us-michael', pauseAfterMs: 0 });
    rtf = { compute: (performance.now() - t0) / 1000, audio: audio.durationSeconds };
  } finally {
    await pool.close();
  }

  const platformAt = (concurrency: number) => serveGateway(createLocalPlatform(loadConfig({ ...services.env, STORY42_SPEECH_CONCURRENCY: String(concurrency) }), { telemetry: quiet() }));
  const call = async (url: string, body: unknown) => {
    const res = await fetch(url, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as { result: { story_parts: unknown[]; total_duration_seconds: number; sections: unknown[] } };
  };
  const base = { genre: 'fiction', reading_level: 'grade 3', tone: 'warm', story_type: 'audio', audio_length: 3, number_of_speakers: 2, job_id: 'bench-audio' };
  const writer = await platformAt(1);
  let parts: unknown[];
  try {
    const outline = await call(`${writer.url}/generate-story-outline`, { ...base, user_input_description: 'Mia and Leo follow the bees to find where honey comes from' });
    parts = (await call(`${writer.url}/generate-story`, { ...base, story_outline_description: outline.result.story_parts })).result.story_parts;
  } finally {
    await writer.stop();
  }
  const narrate = async (concurrency: number, job: string): Promise<{ ms: number; audio: number; sections: number }> => {
    const gw = await platformAt(concurrency);
    try {
      // Warm this platform's worker threads (each compiles the eSpeak WASM once) before timing.
      await call(`${gw.url}/narrate-story`, { story_parts: parts, job_id: `${job}-warm-up` });
      const t0 = performance.now();
      const out = await call(`${gw.url}/narrate-story`, { story_parts: parts, job_id: job });
      return { ms: performance.now() - t0, audio: out.result.total_duration_seconds, sections: out.result.sections.length };
    } finally {
      await gw.stop();
    }
  };
  // Alternating runs, the faster of two each: whichever runs first pays for the process warming up.
  const serial1 = await narrate(1, 'bench-audio-serial-1');
  const concurrent1 = await narrate(SPEECH_CONCURRENCY, 'bench-audio-concurrent-1');
  const serial2 = await narrate(1, 'bench-audio-serial-2');
  const concurrent2 = await narrate(SPEECH_CONCURRENCY, 'bench-audio-concurrent-2');
  const serial = serial1.ms <= serial2.ms ? serial1 : serial2;
  const concurrent = concurrent1.ms <= concurrent2.ms ? concurrent1 : concurrent2;

  // Time to the first section's audio over SSE.
  const sseGw = await platformAt(SPEECH_CONCURRENCY);
  let firstSection = 0;
  let done = 0;
  try {
    const timed = await timeEvents(`${sseGw.url}/narrate-story`, auth, { story_parts: parts, job_id: 'bench-audio-sse' }, ['section']);
    firstSection = timed.first.section ?? 0;
    done = timed.result;
  } finally {
    await sseGw.stop();
  }
  return [
    `(e) offline speech (eSpeak NG WASM + LAME MP3, worker threads; ${availableParallelism()} cores here)`,
    `    real-time factor   : ${fmt(rtf.compute, 2)} s of compute for ${fmt(rtf.audio, 1)} s of audio = ${fmt((rtf.compute / rtf.audio) * 60, 2)} s per minute of audio (RTF ${fmt(rtf.compute / rtf.audio, 3)})`,
    `    3-minute story (${concurrent.sections} sections, ${fmt(concurrent.audio / 60, 2)} min of audio) through POST /narrate-story (faster of two alternating runs each):`,
    `      ${String(SPEECH_CONCURRENCY).padStart(2)} sections at once (${speechThreads(SPEECH_CONCURRENCY)} worker threads: one core is kept for the event loop): ${fmt(concurrent.ms, 0)} ms`,
    `       serial (1 at once, 1 worker thread): ${fmt(serial.ms, 0)} ms`,
    `      speed-up          : ${fmt(serial.ms / concurrent.ms, 2)} x`,
    `    SSE: first section's audio stored and announced at ${fmt(firstSection, 0)} ms; whole narration (story.mp3 joined) at ${fmt(done, 0)} ms (${fmt((firstSection / done) * 100, 0)} %)`,
  ];
}

/** (f) the story agent's 6-panel illustrated story (pipelined pictures) beside the separate routes, all through one local Bedrock server. */
async function sectionF(services: Services, auth: Auth): Promise<string[]> {
  const L = Number(process.env.BENCH_AGENT_LATENCY_MS ?? 600);
  const bedrock = new LocalBedrockServer();
  const url = await bedrock.listen();
  const config = loadConfig({ ...services.env, STORY42_TEXT_PROVIDER: 'bedrock', STORY42_IMAGE_PROVIDER: 'bedrock', STORY42_BEDROCK_ENDPOINT: url, STORY42_IMAGE_CONCURRENCY: '6' });
  const gw = await serveGateway(createLocalPlatform(config, { telemetry: quiet(), agent: localStoryAgent(config, 'local Bedrock server') }));
  const json = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${gw.url}${route}`, { method, headers: { ...auth, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (res.status !== 200) throw new Error(`${route} answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { result: Record<string, unknown> }).result;
  };
  const ask = 'Make me a 6-panel illustrated story about a fox named Rin and an owl named Odo who look for the moon.';
  const agentRun = async () => {
    const session = (await json('POST', '/agent/sessions', { title: 'bench' })) as { session_id: string };
    return timeEvents(`${gw.url}/agent/sessions/${session.session_id}/messages`, auth, { message: ask }, ['media']);
  };
  const routesRun = async (job: string) => {
    const base = { genre: 'fantasy', reading_level: 'grade 3', tone: 'warm', story_type: 'visual', panels: 6, number_of_speakers: 2, job_id: job };
    const t0 = performance.now();
    const outline = await json('POST', '/generate-story-outline', { ...base, user_input_description: ask });
    const story = await json('POST', '/generate-story', { ...base, story_outline_description: outline.story_parts });
    const t1 = performance.now();
    const images = await timeEvents(`${gw.url}/generate-story-image`, auth, { complete_story_parts: story.story_parts, art_style: 'watercolor', number_of_panels: 6, job_id: job }, ['panel']);
    return { first: t1 - t0 + (images.first.panel ?? 0), total: t1 - t0 + images.result };
  };
  try {
    // Warm both paths (JIT, connections, the SDK) without latency, then measure with it, alternating.
    await agentRun();
    await routesRun('bench-agent-warm');
    bedrock.knobs.latencyMs = L;
    const agentTimes = [];
    const routeTimes = [];
    for (let i = 0; i < 2; i++) {
      const a = await agentRun();
      const pictures = a.text.match(/"kind":"image"/g)?.length ?? 0;
      if (pictures !== 6 || a.result === 0) throw new Error(`the agent's turn drew ${pictures} pictures (6 expected) or did not finish`);
      agentTimes.push({ first: a.first.media ?? Number.NaN, total: a.result });
      routeTimes.push(await routesRun(`bench-agent-routes-${i}`));
    }
    const best = (xs: Array<{ first: number; total: number }>) => xs.reduce((b, x) => (x.total < b.total ? x : b));
    const ag = best(agentTimes);
    const rt = best(routeTimes);
    return [
      `(f) "a 6-panel illustrated story", every model call through the local Bedrock server with per-call latency L = ${L} ms (faster of two alternating runs each)`,
      `    story agent (one message; its model decides and writes the outline, pictures start as sections are written):`,
      `      first picture ${fmt(ag.first, 0)} ms = ${fmt(ag.first / L, 2)} x L   whole turn ${fmt(ag.total, 0)} ms = ${fmt(ag.total / L, 2)} x L   (goal: <= 2.4 L and <= 3.2 L)`,
      `    separate routes (outline, story, then the 6 pictures):`,
      `      first picture ${fmt(rt.first, 0)} ms = ${fmt(rt.first / L, 2)} x L   all done   ${fmt(rt.total, 0)} ms = ${fmt(rt.total / L, 2)} x L`,
      `    ratio: first picture agent / routes = ${fmt(ag.first / rt.first, 2)} x; whole agent / routes = ${fmt(ag.total / rt.total, 2)} x`,
    ];
  } finally {
    await gw.stop();
    await bedrock.close();
  }
}

/** (g) the prompt cache: S3 requests per TTL window under concurrent story requests, and the cost of a cached read. */
async function sectionG(services: Services, auth: Auth): Promise<string[]> {
  const N = Number(process.env.BENCH_PROMPT_REQUESTS ?? 200);
  const GETS = Number(process.env.BENCH_PROMPT_GETS ?? 1_000_000);
  const config = loadConfig(services.env);
  const bucket = config.promptsBucket;
  if (!bucket) throw new Error('the local services set no prompts bucket');
  // Every request the prompt source sends (each attempt), as it leaves: counted by the SDK's middleware stack.
  const sent: Array<{ key: string; conditional: boolean; status: number }> = [];
  const client = s3Client(config);
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { path?: string; headers?: Record<string, string> };
      const entry = { key: decodeURIComponent(request.path ?? '').replace(`/${bucket}/`, ''), conditional: Boolean(request.headers?.['if-none-match']), status: 0 };
      sent.push(entry);
      try {
        const out = await next(args);
        entry.status = (out.response as { statusCode?: number }).statusCode ?? 0;
        return out;
      } catch (err) {
        entry.status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? -1;
        throw err;
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'benchCountPromptRequests' },
  );
  const source = new S3PromptSource(client, bucket, { history: config.prompts.history });
  const clock = { t: Date.now(), now: () => clock.t };
  const prompts = new CachedPromptService({ source, bundled: bundledPromptsFor(config), ttlMs: config.prompts.cacheTtlMs, clock, telemetry: quiet(), check: promptTextProblem });
  const gw = await serveGateway(createLocalPlatform(config, { telemetry: quiet(), prompts }));
  const base = { genre: 'fantasy', reading_level: 'grade 3', tone: 'warm', story_type: 'visual', panels: 6, number_of_speakers: 3, user_input_description: 'A fox and an owl look for the moon' };
  let bursts = 0;
  const burst = async (label: string) => {
    bursts += 1;
    sent.length = 0;
    const t0 = performance.now();
    const statuses = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const res = await fetch(`${gw.url}/generate-story-outline`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ ...base, job_id: `bench-prompts-${bursts}-${i}` }) });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    const errors = statuses.filter((s) => s !== 200).length;
    const perPrompt = new Map<string, string[]>();
    for (const r of sent) perPrompt.set(r.key, [...(perPrompt.get(r.key) ?? []), `${r.conditional ? 'conditional ' : ''}${r.status}`]);
    const detail = [...perPrompt.entries()].map(([k, v]) => `${k.replace(/^prompts\//, '')}: ${v.join(', ')}`).join('; ');
    return `      ${label.padEnd(41)} ${String(sent.length).padStart(2)} S3 requests for ${N} requests (${fmt(performance.now() - t0, 0)} ms, errors ${errors})  [${detail}]`;
  };
  const outlineKey = 'prompts/story-writer/outline.md';
  const rows: string[] = [];
  try {
    rows.push(await burst('window 1 (cold cache)'));
    rows.push(await burst('window 1 again (cached)'));
    clock.t += config.prompts.cacheTtlMs;
    rows.push(await burst('window 2 (TTL passed, prompts unchanged)'));
    const current = await source.get(outlineKey);
    if (current.kind !== 'found') throw new Error('the outline prompt is not in the local prompts bucket');
    await source.put(outlineKey, `${current.text}\n`);
    clock.t += config.prompts.cacheTtlMs;
    rows.push(await burst('window 3 (TTL passed, outline changed)'));
    await source.put(outlineKey, current.text);
  } finally {
    await gw.stop();
  }

  // The cost of a cached read: the same loop over the prompt service and over a plain Map.
  const reader = new CachedPromptService({ source, bundled: bundledPromptsFor(config), ttlMs: Number.MAX_SAFE_INTEGER, clock, telemetry: quiet() });
  const first = await reader.get('story-writer', 'system');
  const map = new Map([['prompts/story-writer/system.md', first]]);
  const viaMap = async (key: string) => map.get(key);
  const time = async (fn: () => Promise<unknown>) => {
    for (let i = 0; i < 50_000; i++) await fn(); // warm (JIT)
    const t0 = performance.now();
    for (let i = 0; i < GETS; i++) await fn();
    return ((performance.now() - t0) * 1000) / GETS;
  };
  let cached = Number.POSITIVE_INFINITY;
  let mapped = Number.POSITIVE_INFINITY;
  // Alternating, the faster of three each.
  for (let round = 0; round < 3; round++) {
    cached = Math.min(cached, await time(() => reader.get('story-writer', 'system')));
    mapped = Math.min(mapped, await time(() => viaMap('prompts/story-writer/system.md')));
  }
  return [
    `(g) prompts: S3 requests per TTL window (one process, cache TTL ${config.prompts.cacheTtlMs} ms; ${N} concurrent POST /generate-story-outline per burst, each using 2 prompts)`,
    ...rows,
    `    goal: 1 GET per prompt per window, conditional (a 304) once the prompt is cached; the read loop below made ${reader.stats.fetches} S3 request(s) in all`,
    `    cached read (await prompts.get): ${fmt(cached, 3)} µs per get   plain Map lookup (await, same loop): ${fmt(mapped, 3)} µs   added: ${fmt(cached - mapped, 3)} µs per get  (${GETS} reads each, faster of 3)`,
  ];
}

/** (d) Lambda bundles: size and module initialisation, lean beside the old shape. */
async function sectionD(): Promise<string[]> {
  const rows: InitRow[] = await measureLambdaInit(INIT_RUNS);
  const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`.padStart(9);
  return [
    `(d) Lambda bundles: size, and module initialisation (import + first handler call with the warm-up event, fresh Node process; median of ${INIT_RUNS})`,
    '    lambda                   before: size     init  |  lean: image   loaded at init     init  |  init ratio',
    ...rows.map(
      (r) =>
        `    ${r.label.padEnd(24)}  ${kib(r.fatBytes)} ${fmt(r.fatMs, 0).padStart(6)} ms  |  ${kib(r.leanBytes)}   ${kib(r.leanLoadedBytes)}      ${fmt(r.leanMs, 0).padStart(6)} ms  |  ${fmt(r.leanMs / r.fatMs, 2)} x`,
    ),
  ];
}

async function main(): Promise<void> {
  if (!scriptArgs(USAGE)) return;
  const root = path.resolve(__dirname, '..');
  mkdirSync(path.join(root, '.tmp'), { recursive: true });
  const lines = ['', `Story42 bench — ${new Date().toISOString()} — node ${process.version}, ${REQUESTS} requests, ${CONCURRENCY} concurrent`, ''];
  if (['a', 'b', 'c', 'e', 'f', 'g'].some((x) => SECTIONS.has(x))) {
    const dataDir = mkdtempSync(path.join(root, '.tmp', 'bench-'));
    const services = await startLocalServices({ dataDir, ports: { s3: await freePort(), dynamodb: await freePort(), cognito: await freePort() } });
    const stops: Array<() => Promise<void>> = [];
    try {
      const token = await idTokenFor(services.ports.cognito, services.clientId, DEMO_USER);
      const auth = { Authorization: `Bearer ${token}` };
      if (SECTIONS.has('a')) lines.push(...(await sectionA(services, auth, stops)), '');
      if (SECTIONS.has('b')) lines.push(...(await sectionB(services, auth)), '');
      if (SECTIONS.has('c')) lines.push(...(await sectionC(services, auth, stops)), '');
      if (SECTIONS.has('e')) lines.push(...(await sectionE(services, auth)), '');
      if (SECTIONS.has('f')) lines.push(...(await sectionF(services, auth)), '');
      if (SECTIONS.has('g')) lines.push(...(await sectionG(services, auth)), '');
    } finally {
      for (const s of stops.reverse()) await s();
      agent.destroy();
      await services.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  if (SECTIONS.has('d')) lines.push(...(await sectionD()), '');
  process.stdout.write(lines.join('\n'));
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
