/**
 * (d) of `npm run bench`: each Lambda's bundle size and module initialisation — import plus the
 * first handler call with the warm-up event, in a fresh Node process — for the lean bundles
 * `npm run build:images` makes, beside the bundles as they were before (every provider and
 * both offline engines in one file), rebuilt here for the comparison.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { buildImages, bundlePath, type BundleSize, type ImageName } from '../scripts/build-images';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');

const LAMBDAS: Array<{ image: ImageName; lambda: string; env?: Record<string, string>; label?: string }> = [
  { image: 'story-text-regen', lambda: 'text-regen' },
  { image: 'story-image-regen', lambda: 'image-regen' },
  { image: 'story-image-regen', lambda: 'image-regen', env: { STORY42_IMAGE_PROVIDER: 'gemini', STORY42_IMAGE_API_KEY_SECRET: 'bench/key' }, label: 'image-regen (gemini)' },
  { image: 'story-image-regen', lambda: 'image-regen', env: { STORY42_SPEECH_PROVIDER: 'external', STORY42_TTS_API_KEY_SECRET: 'bench/tts' }, label: 'image-regen (elevenlabs)' },
  { image: 'data-ops', lambda: 'data-ops' },
];

/** Settings of a Lambda that must not reach AWS (the warm-up builds clients but calls nothing). */
const ENV: Record<string, string> = {
  AWS_REGION: 'us-west-2',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'not-a-real-secret',
  STORY42_IMAGES_BUCKET: 'bench-images',
  STORY42_SESSIONS_TABLE: 'bench-sessions',
  STORY42_PROJECTS_TABLE: 'bench-projects',
  STORY42_PROMPT_CARDS_TABLE: 'bench-prompt-cards',
  STORY42_CHAT_HISTORY_TABLE: 'bench-chat-history',
  STORY42_PROMPTS_BUCKET: 'bench-prompts',
  STORY42_TEXT_PROVIDER: 'bedrock',
  STORY42_IMAGE_PROVIDER: 'bedrock',
  STORY42_SPEECH_PROVIDER: 'polly',
  STORY42_LOG_FORMAT: 'silent',
};

const PROBE = `
const t0 = performance.now();
const { PassThrough } = require('node:stream');
import(process.argv[1]).then(async (m) => {
  const t1 = performance.now();
  const stream = new PassThrough();
  stream.resume();
  await m.handler({ story42: 'warm-up' }, stream, { awsRequestId: 'bench' });
  const t2 = performance.now();
  process.stdout.write(JSON.stringify({ importMs: t1 - t0, warmMs: t2 - t1 }));
});`;

async function initOnce(file: string, env: Record<string, string>): Promise<{ importMs: number; warmMs: number }> {
  const { stdout } = await run(process.execPath, ['-e', PROBE, file], { cwd: path.dirname(file), env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 });
  return JSON.parse(stdout) as { importMs: number; warmMs: number };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export interface InitRow {
  label: string;
  leanBytes: number;
  leanLoadedBytes: number;
  fatBytes: number;
  leanMs: number;
  fatMs: number;
}

export async function measureLambdaInit(runs: number): Promise<InitRow[]> {
  const built = await buildImages();
  const fatDir = path.join(ROOT, '.tmp', 'bench-fat-bundles');
  mkdirSync(fatDir, { recursive: true });
  const rows: InitRow[] = [];
  for (const { image, lambda, env = {}, label = lambda } of LAMBDAS) {
    const fatFile = path.join(fatDir, `${lambda}.js`);
    await build({
      entryPoints: [path.join(ROOT, 'bench', 'fat-lambda.ts')],
      outfile: fatFile,
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'cjs',
      minify: true,
      mainFields: ['module', 'main'],
      logLevel: 'warning',
      define: { 'process.env.BENCH_LAMBDA': JSON.stringify(lambda) },
      external: ['s3rver', 'dynalite', 'cognito-local'],
    });
    const size = (built[image] as { size: BundleSize }).size;
    // The chunks the warm-up loads: the configured providers' (the media Lambda also warms Polly) and the SDK clients'.
    const drawing = label.includes('gemini') ? ['gemini-image', 'secret-key'] : ['bedrock-image'];
    const speaking = label.includes('elevenlabs') ? ['elevenlabs-speech', 'secret-key'] : ['polly-speech'];
    const providers = lambda === 'text-regen' ? ['bedrock-text'] : lambda === 'image-regen' ? [...drawing, ...speaking, 'speech-audio'] : [];
    const onDemand = Object.entries(size.onDemand)
      .filter(([f]) => providers.length > 0 && [...providers, 'model-clients'].some((p) => path.basename(f).startsWith(`${p}-`)))
      .reduce((n, [, b]) => n + b, 0);
    const lean: number[] = [];
    const fat: number[] = [];
    // Interleaved, so both see the same machine load.
    for (let i = 0; i < runs; i++) {
      const a = await initOnce(bundlePath(image), { ...ENV, ...env });
      const b = await initOnce(fatFile, { ...ENV, ...env });
      lean.push(a.importMs + a.warmMs);
      fat.push(b.importMs + b.warmMs);
    }
    rows.push({ label, leanBytes: size.total, leanLoadedBytes: size.initial + onDemand, fatBytes: statSync(fatFile).size, leanMs: median(lean), fatMs: median(fat) });
  }
  return rows;
}
