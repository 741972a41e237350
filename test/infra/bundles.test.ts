/**
 * The container images without a Docker engine: build the bundles the Dockerfiles copy,
 * invoke each Lambda bundle's handler in a plain Node process with an API Gateway event,
 * start the agent bundle and hit /health, and check every Dockerfile against the build.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildImages, bundlePath, IMAGES, type ImageName } from '../../scripts/build-images';
import { freePort } from '../../src/local/services';
import { tokenFor, testState, claimsOf } from '../support/local';

const ROOT = path.resolve(__dirname, '../..');
const run = promisify(execFile);
let sizes: Record<string, number>;

beforeAll(async () => {
  sizes = await buildImages();
}, 120_000);

/** Runs `handler(event)` from a bundle in a fresh node process (no jest, no tsx). */
async function invoke(image: ImageName, event: Record<string, unknown>, env: Record<string, string>): Promise<{ statusCode: number; body: string }> {
  const script = `require(${JSON.stringify(bundlePath(image))}).handler(JSON.parse(process.argv[1])).then((r) => process.stdout.write(JSON.stringify(r)))`;
  const { stdout } = await run(process.execPath, ['-e', script, JSON.stringify(event)], { cwd: '/', env: { PATH: process.env.PATH ?? '', ...env } });
  return JSON.parse(stdout) as { statusCode: number; body: string };
}

function apiEvent(resource: string, method: string, body: unknown, claims?: Record<string, string>): Record<string, unknown> {
  return {
    resource,
    path: resource,
    httpMethod: method,
    headers: {},
    body: body === undefined ? null : JSON.stringify(body),
    isBase64Encoded: false,
    queryStringParameters: null,
    pathParameters: null,
    requestContext: { requestId: 'bundle-test', authorizer: claims ? { claims } : undefined },
  };
}

describe('container bundles', () => {
  it('builds one bundle per image and records its size', () => {
    expect(Object.keys(sizes).sort()).toEqual(Object.keys(IMAGES).sort());
    for (const [image, bytes] of Object.entries(sizes)) {
      expect([image, bytes > 10_000]).toEqual([image, true]);
      process.stdout.write(`bundle ${image}: ${(bytes / 1024).toFixed(0)} KiB\n`);
    }
  });

  it('each Lambda bundle answers an API Gateway event: 401 without claims, a real route with them', async () => {
    const claims = Object.fromEntries(Object.entries(claimsOf(await tokenFor())).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]));
    const env = testState().env;
    const cases: Array<[ImageName, string, string, unknown]> = [
      ['story-text-regen', '/generate-topics-ideas', 'POST', { genre: 'fiction', topics: 'bundles' }],
      ['story-image-regen', '/generate-story-image', 'POST', { story_segments: [{ story_segment_content: 'A ship at dawn.', story_segment_number: 1 }], art_style: 'pixel', number_of_panels: 1, job_id: 'bundle-job' }],
      ['data-ops', '/jobs', 'GET', undefined],
    ];
    for (const [image, resource, method, body] of cases) {
      const anonymous = await invoke(image, apiEvent(resource, method, body), env);
      expect([image, anonymous.statusCode, JSON.parse(anonymous.body)]).toEqual([image, 401, { message: 'Unauthorized' }]);
      const ok = await invoke(image, apiEvent(resource, method, body, claims), env);
      expect([image, ok.statusCode]).toEqual([image, 200]);
      expect(JSON.parse(ok.body)).toMatchObject({ success: true });
      const bad = await invoke(image, { ...apiEvent(resource, method, undefined, claims), body: '{not json', httpMethod: 'POST' }, env);
      expect([image, bad.statusCode]).toEqual([image, image === 'data-ops' ? 404 : 400]);
    }
  }, 60_000);

  it('the agent bundle starts and answers /health', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [bundlePath('story-agent')], { cwd: '/', env: { PATH: process.env.PATH ?? '', ...testState().env, PORT: String(port) }, stdio: 'ignore' });
    try {
      let status = 0;
      for (let i = 0; i < 200 && status !== 200; i++) {
        status = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status, () => 0);
        if (status !== 200) await new Promise((r) => setTimeout(r, 50));
      }
      expect(status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('Dockerfiles', () => {
  const dockerfiles = Object.keys(IMAGES).map((image) => [image, path.join(ROOT, 'docker', image, 'Dockerfile')] as const);

  it.each(dockerfiles)('%s: every COPY source exists after the build and CMD runs the bundle', (image, file) => {
    // Instructions, with backslash continuations joined.
    const lines = readFileSync(file, 'utf8')
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const copies = lines.filter((l) => /^COPY\s/i.test(l));
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      const sources = c.split(/\s+/).slice(1, -1).filter((s) => !s.startsWith('--'));
      for (const src of sources) expect([src, existsSync(path.join(ROOT, src))]).toEqual([src, true]);
    }
    const cmd = JSON.parse(lines.find((l) => l.startsWith('CMD '))?.slice(4) ?? 'null') as string[];
    if (image === 'story-agent') {
      expect(lines[0]).toMatch(/^FROM node:20-slim/);
      expect(cmd).toEqual(['node', 'index.js']);
      expect(lines.some((l) => /^USER\s+(?!root\b)\w+/.test(l))).toBe(true);
      expect(lines.some((l) => l.startsWith('HEALTHCHECK'))).toBe(true);
    } else {
      expect(lines[0]).toBe('FROM public.ecr.aws/lambda/nodejs:20');
      expect(cmd).toEqual(['index.handler']);
      const mod = require(bundlePath(image as ImageName)) as { handler?: unknown };
      expect(typeof mod.handler).toBe('function');
    }
  });
});
