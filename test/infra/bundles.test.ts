/**
 * The container images without a Docker engine: build the bundles the Dockerfiles copy, then
 * - invoke each Lambda bundle's exported handler in a plain Node process with an API Gateway
 *   REST proxy event (no jest, no tsx, no node_modules within reach: the bundle is copied
 *   outside the repository first, as it sits alone in the image);
 * - start the agent bundle the same way and hit /health;
 * - check every Dockerfile against the build (COPY sources exist, CMD names the handler).
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildImages, bundlePath, IMAGES, type ImageName } from '../../scripts/build-images';
import { freePort } from '../../src/local/services';
import { claimsOf, testState, tokenFor } from '../support/local';

const ROOT = path.resolve(__dirname, '../..');
const run = promisify(execFile);
const LAMBDAS = ['story-text-regen', 'story-image-regen', 'data-ops'] as const;
/** Optional dependencies the SDK and ws load inside try/catch; absent in the images, by design. */
const OPTIONAL_REQUIRES = ['@aws-sdk/signature-v4-crt', 'bufferutil', 'utf-8-validate'];

let sizes: Record<string, number>;
/** A folder outside the repository (no node_modules up the tree), one bundle per image. */
let isolated: string;
const isolatedBundle = (image: ImageName) => path.join(isolated, image, 'index.js');

beforeAll(async () => {
  sizes = await buildImages();
  const base = ['/tmp', '/var/tmp'].find((d) => existsSync(d) && !ROOT.startsWith(d)) ?? '/tmp';
  isolated = mkdtempSync(path.join(base, 'story42-bundles-'));
  for (const image of Object.keys(IMAGES) as ImageName[]) {
    mkdirSync(path.join(isolated, image));
    copyFileSync(bundlePath(image), isolatedBundle(image));
  }
}, 120_000);
afterAll(() => rmSync(isolated, { recursive: true, force: true }));

/** Env for a process that must not reach AWS: fake credentials, closed local endpoints. */
const OFFLINE_ENV: Record<string, string> = {
  AWS_REGION: 'us-west-2',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'not-a-real-secret',
  AWS_EC2_METADATA_DISABLED: 'true',
  STORY42_IMAGES_BUCKET: 'story-42-test-images',
  STORY42_SESSIONS_TABLE: 'story-42-test-sessions',
  STORY42_TEXT_PROVIDER: 'bedrock',
  STORY42_IMAGE_PROVIDER: 'bedrock',
  STORY42_S3_ENDPOINT: 'http://127.0.0.1:9',
  STORY42_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
  STORY42_BEDROCK_ENDPOINT: 'http://127.0.0.1:9',
};

/** Runs `handler(event, context)` from an isolated bundle in a fresh node process. */
async function invoke(image: ImageName, event: Record<string, unknown>, env: Record<string, string>): Promise<{ statusCode: number; headers: Record<string, string>; body: string }> {
  const script = [
    `const { handler } = require(${JSON.stringify(isolatedBundle(image))});`,
    `const context = { awsRequestId: 'bundle-test', functionName: ${JSON.stringify(image)}, getRemainingTimeInMillis: () => 30000 };`,
    'handler(JSON.parse(process.argv[1]), context).then((r) => process.stdout.write(JSON.stringify(r)), (e) => { console.error(e); process.exit(3); });',
  ].join('\n');
  const { stdout } = await run(process.execPath, ['-e', script, JSON.stringify(event)], { cwd: isolated, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 });
  return JSON.parse(stdout) as { statusCode: number; headers: Record<string, string>; body: string };
}

function apiEvent(resource: string, method: string, body: string | null, claims?: Record<string, string>): Record<string, unknown> {
  return {
    resource,
    path: resource,
    httpMethod: method,
    headers: { 'Content-Type': 'application/json' },
    multiValueHeaders: {},
    body,
    isBase64Encoded: false,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: { requestId: 'bundle-test', stage: 'test', httpMethod: method, resourcePath: resource, authorizer: claims ? { claims } : undefined },
  };
}

const ROUTES: Record<(typeof LAMBDAS)[number], { resource: string; method: string; body: unknown }> = {
  'story-text-regen': { resource: '/generate-topics-ideas', method: 'POST', body: { genre: 'fiction', topics: 'bundles' } },
  'story-image-regen': {
    resource: '/generate-story-image',
    method: 'POST',
    body: { story_segments: [{ story_segment_content: 'A ship at dawn.', story_segment_number: 1, story_segment_speaker: 'Narrator' }], art_style: 'pixel', number_of_panels: 1, job_id: 'bundle-job' },
  },
  'data-ops': { resource: '/jobs', method: 'GET', body: undefined },
};

describe('container bundles', () => {
  it('builds one bundle per image and records its size', () => {
    expect(Object.keys(sizes).sort()).toEqual(Object.keys(IMAGES).sort());
    expect(JSON.parse(readFileSync(path.join(ROOT, 'dist', 'images', 'sizes.json'), 'utf8'))).toEqual(sizes);
    for (const [image, bytes] of Object.entries(sizes)) {
      expect([image, bytes > 10_000, bytes < 20 * 1024 * 1024]).toEqual([image, true, true]);
      process.stdout.write(`bundle ${image}: ${(bytes / 1024).toFixed(0)} KiB\n`);
    }
  });

  it.each(Object.keys(IMAGES))('%s requires nothing outside Node but optional modules', (image) => {
    const code = readFileSync(bundlePath(image as ImageName), 'utf8');
    const required = new Set([...code.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1] as string));
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    expect([...required].filter((m) => !builtins.has(m) && !OPTIONAL_REQUIRES.includes(m))).toEqual([]);
  });

  it.each(LAMBDAS)('%s: the handler answers unauthenticated and malformed requests with JSON 4xx, without AWS', async (image) => {
    const { resource, method, body } = ROUTES[image];
    const anonymous = await invoke(image, apiEvent(resource, method, body === undefined ? null : JSON.stringify(body)), OFFLINE_ENV);
    expect([anonymous.statusCode, JSON.parse(anonymous.body)]).toEqual([401, { message: 'Unauthorized' }]);
    expect(anonymous.headers['Content-Type']).toMatch(/^application\/json/);

    const claims = { sub: 'bundle-user', email: 'bundle@example.com', 'cognito:username': 'bundle' };
    const malformed = await invoke(image, apiEvent(resource, 'POST', '{not json', claims), OFFLINE_ENV);
    expect(malformed.statusCode).toBeGreaterThanOrEqual(400);
    expect(malformed.statusCode).toBeLessThan(500);
    expect(JSON.parse(malformed.body)).toEqual(expect.objectContaining({ error: expect.any(String) }));
  });

  it('each Lambda bundle serves a real request against the local emulators', async () => {
    const claims = Object.fromEntries(Object.entries(claimsOf(await tokenFor())).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]));
    for (const image of LAMBDAS) {
      const { resource, method, body } = ROUTES[image];
      const ok = await invoke(image, apiEvent(resource, method, body === undefined ? null : JSON.stringify(body), claims), testState().env);
      expect([image, ok.statusCode]).toEqual([image, 200]);
      expect(JSON.parse(ok.body)).toMatchObject({ success: true });
    }
  }, 60_000);

  it('the agent bundle starts on PORT and answers GET /health with {"status":"ok"}', async () => {
    const port = await freePort();
    const env = { ...OFFLINE_ENV, STORY42_COGNITO_USER_POOL_ID: 'us-west-2_bundle', STORY42_COGNITO_CLIENT_ID: 'bundle-client', PORT: String(port) };
    const child = spawn(process.execPath, [isolatedBundle('story-agent')], { cwd: isolated, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      let res: { status: number; body: unknown } | undefined;
      for (let i = 0; i < 200 && !res && child.exitCode === null; i++) {
        res = await fetch(`http://127.0.0.1:${port}/health`).then(async (r) => ({ status: r.status, body: (await r.json()) as unknown }), () => undefined);
        if (!res) await new Promise((r) => setTimeout(r, 50));
      }
      expect([res, stderr]).toEqual([{ status: 200, body: expect.objectContaining({ status: 'ok' }) }, stderr]);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('Dockerfiles', () => {
  const dockerfiles = Object.keys(IMAGES).map((image) => [image, path.join(ROOT, 'docker', image, 'Dockerfile')] as const);

  /** Instructions, with backslash continuations joined and comments dropped. */
  const instructions = (file: string) =>
    readFileSync(file, 'utf8')
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));

  it.each(dockerfiles)('%s: every COPY source exists after the build and CMD runs the bundle', (image, file) => {
    const lines = instructions(file);
    const copies = lines.filter((l) => /^(COPY|ADD)\s/i.test(l));
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      const args = c.startsWith('COPY [') ? (JSON.parse(c.slice(5)) as string[]) : c.split(/\s+/).slice(1).filter((s) => !s.startsWith('--'));
      for (const src of args.slice(0, -1)) expect([src, existsSync(path.join(ROOT, src))]).toEqual([src, true]);
    }
    // The build context is the repository root; .dockerignore must let the bundles through.
    const ignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    expect(ignore).toContain('!dist/images/');
    const cmd = JSON.parse(lines.find((l) => l.startsWith('CMD '))?.slice(4) ?? 'null') as string[];
    if (image === 'story-agent') {
      expect(lines[0]).toMatch(/^FROM node:20(\.\d+)*-(slim|bookworm-slim)\b/);
      expect(cmd).toEqual(['node', 'index.js']);
      expect(lines.some((l) => /^USER\s+(?!root\b|0\b)\w+/.test(l))).toBe(true);
      expect(lines.find((l) => l.startsWith('HEALTHCHECK'))).toContain('/health');
    } else {
      expect(lines[0]).toBe('FROM public.ecr.aws/lambda/nodejs:20');
      // CMD "<file>.<export>": the file the COPY put in LAMBDA_TASK_ROOT and a function it exports.
      const [fileName, exportName] = (cmd[0] ?? '').split('.');
      expect(cmd).toHaveLength(1);
      expect(copies.some((c) => c.endsWith(`\${LAMBDA_TASK_ROOT}/${fileName}.js`))).toBe(true);
      const mod = require(bundlePath(image as ImageName)) as Record<string, unknown>;
      expect(typeof mod[exportName ?? '']).toBe('function');
    }
  });
});
