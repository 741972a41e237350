/**
 * The container images without a Docker engine: build the bundles the Dockerfiles copy, then
 * - check what each contains: only what its routes use on AWS, never an offline engine, and
 *   at most 1.0 MB loaded at module initialisation;
 * - invoke each Lambda bundle's exported handler in a plain Node process (Node 24, no jest,
 *   no tsx, no node_modules within reach: the image folder is copied outside the repository),
 *   the way API Gateway's response streaming invokes it;
 * - start the agent bundle the same way and hit /health;
 * - check every Dockerfile against the build (Node 24 base images, COPY sources, CMD).
 */
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildImages, imageDir, IMAGES, OPENAPI_PATH, type BuiltImage, type ImageName } from '../../scripts/build-images';
import { routeNamed } from '../../src/core/routes';
import { LocalPollyServer } from '../../src/local/polly-server';
import { freePort } from '../../src/local/services';
import { claimsOf, testState, tokenFor } from '../support/local';

const ROOT = path.resolve(__dirname, '../..');
const run = promisify(execFile);
const LAMBDAS = ['story-text-regen', 'story-image-regen', 'data-ops'] as const;
/** Optional dependencies the SDK, ws and node-fetch (under the ElevenLabs SDK) load inside try/catch; absent in the images, by design. */
const OPTIONAL_REQUIRES = ['@aws-sdk/signature-v4-crt', 'bufferutil', 'utf-8-validate', 'encoding'];
const ONE_MB = 1_000_000;

let built: Record<string, BuiltImage>;
/** A folder outside the repository (no node_modules up the tree), one image folder each. */
let isolated: string;
const isolatedBundle = (image: ImageName) => path.join(isolated, image, 'index.mjs');

beforeAll(async () => {
  built = await buildImages();
  const base = ['/tmp', '/var/tmp'].find((d) => existsSync(d) && !ROOT.startsWith(d)) ?? '/tmp';
  isolated = mkdtempSync(path.join(base, 'story42-bundles-'));
  for (const image of Object.keys(IMAGES) as ImageName[]) cpSync(imageDir(image), path.join(isolated, image), { recursive: true });
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
  // Where the project routes run (data-ops, text-regen) their tables and the prompts bucket are required.
  STORY42_PROJECTS_TABLE: 'story-42-test-projects',
  STORY42_PROMPT_CARDS_TABLE: 'story-42-test-prompt-cards',
  STORY42_CHAT_HISTORY_TABLE: 'story-42-test-chat-history',
  STORY42_PROMPTS_BUCKET: 'story-42-test-prompts',
  STORY42_TEXT_PROVIDER: 'bedrock',
  STORY42_IMAGE_PROVIDER: 'bedrock',
  STORY42_SPEECH_PROVIDER: 'polly',
  STORY42_POLLY_ENDPOINT: 'http://127.0.0.1:9',
  STORY42_S3_ENDPOINT: 'http://127.0.0.1:9',
  STORY42_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
  STORY42_BEDROCK_ENDPOINT: 'http://127.0.0.1:9',
  STORY42_LOG_FORMAT: 'silent',
};

interface Invoked {
  node: string;
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Runs the bundle's `handler(event, responseStream, context)` in a fresh node process, as
 * the Lambda runtime does for a streaming function, and splits the answer the way API
 * Gateway does: JSON prelude, eight NUL bytes, body.
 */
async function invoke(image: ImageName, event: Record<string, unknown>, env: Record<string, string>): Promise<Invoked> {
  const script = `
    const { PassThrough } = require('node:stream');
    import(${JSON.stringify(isolatedBundle(image))}).then(async ({ handler }) => {
      const stream = new PassThrough();
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      await handler(JSON.parse(process.argv[1]), stream, { awsRequestId: 'bundle-test', functionName: ${JSON.stringify(image)}, getRemainingTimeInMillis: () => 30000 });
      const all = Buffer.concat(chunks);
      const at = all.indexOf(Buffer.alloc(8));
      const prelude = JSON.parse(all.subarray(0, at).toString());
      process.stdout.write(JSON.stringify({ node: process.version, ...prelude, body: all.subarray(at + 8).toString() }));
    }).catch((e) => { console.error(e); process.exit(3); });`;
  const { stdout } = await run(process.execPath, ['-e', script, JSON.stringify(event)], { cwd: isolated, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 });
  return JSON.parse(stdout) as Invoked;
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

/** The deployed images' providers (no offline engines in them), one attempt each, short deadlines. */
const DEPLOYED_PROVIDERS = { STORY42_LOG_FORMAT: 'silent', STORY42_TEXT_PROVIDER: 'bedrock', STORY42_IMAGE_PROVIDER: 'bedrock', STORY42_SPEECH_PROVIDER: 'polly', STORY42_MODEL_MAX_ATTEMPTS: '1', STORY42_MODEL_TIMEOUT_MS: '2000' };

const ROUTES: Record<(typeof LAMBDAS)[number], { route: string; body: unknown }> = {
  'story-text-regen': { route: 'generate_topics_ideas', body: { genre: 'fiction', topics: 'bundles' } },
  'story-image-regen': {
    route: 'generate_entire_story_image',
    body: { story_segments: [{ story_segment_content: 'A ship at dawn.', story_segment_number: 1, story_segment_speaker: 'Narrator' }], art_style: 'pixel', number_of_panels: 1, job_id: 'bundle-job' },
  },
  'data-ops': { route: 'list_jobs', body: undefined },
};

describe('container bundles', () => {
  it('builds one folder per image, records its sizes, and writes the OpenAPI document for the site', () => {
    expect(Object.keys(built).sort()).toEqual(Object.keys(IMAGES).sort());
    expect(JSON.parse(readFileSync(path.join(ROOT, 'dist', 'images', 'sizes.json'), 'utf8'))).toEqual(Object.fromEntries(Object.entries(built).map(([k, b]) => [k, b.size])));
    for (const [image, { size }] of Object.entries(built)) process.stdout.write(`bundle ${image}: ${(size.initial / 1024).toFixed(0)} KiB at start, ${(size.total / 1024).toFixed(0)} KiB in all\n`);
    expect(JSON.parse(readFileSync(OPENAPI_PATH, 'utf8'))).toMatchObject({ openapi: '3.1.0' });
  });

  it.each(LAMBDAS)('%s loads at most 1.0 MB at start (and with its Bedrock provider) and carries no offline engine', (image) => {
    const { size, inputs } = built[image] as BuiltImage;
    expect(size.initial).toBeLessThanOrEqual(ONE_MB);
    const chunk = (name: string) => Object.entries(size.onDemand).filter(([f]) => path.basename(f).startsWith(`${name}-`)).reduce((n, [, b]) => n + b, 0);
    const bedrock = { 'story-text-regen': 'bedrock-text', 'story-image-regen': 'bedrock-image', 'data-ops': '' }[image];
    if (bedrock) {
      expect(chunk(bedrock)).toBeGreaterThan(0);
      expect(size.initial + chunk(bedrock) + chunk('model-clients')).toBeLessThanOrEqual(ONE_MB);
    }
    expect(inputs.filter((f) => f.startsWith('src/offline/') || f.startsWith('src/local/') || f.includes('node_modules/pngjs/'))).toEqual([]);
    // The engines' own words are nowhere in the image either.
    const files = readdirSync(imageDir(image), { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
    for (const f of files) expect([f.name, readFileSync(path.join(f.parentPath, f.name), 'utf8').includes('a whispering forest')]).toEqual([f.name, false]);
  });

  it('each Lambda carries only the providers of its routes', () => {
    const providers = (image: ImageName) => (built[image] as BuiltImage).inputs.filter((f) => f.startsWith('src/providers/') && f !== 'src/providers/resilience.ts').sort();
    expect(providers('story-text-regen')).toEqual(['src/providers/bedrock-text.ts']);
    expect(providers('story-image-regen')).toEqual(['src/providers/bedrock-image.ts', 'src/providers/elevenlabs-speech.ts', 'src/providers/gemini-image.ts', 'src/providers/polly-speech.ts', 'src/providers/secret-key.ts', 'src/providers/speech-audio.ts']);
    expect(providers('data-ops')).toEqual([]);
    expect((built['story-agent'] as BuiltImage).inputs.some((f) => f.startsWith('src/offline/'))).toBe(false);
  });

  it.each(Object.keys(IMAGES))('%s requires nothing outside Node but optional modules', (image) => {
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    const { externals } = built[image] as BuiltImage;
    expect(externals.length).toBeGreaterThan(0);
    expect(externals.filter((m) => !builtins.has(m) && !OPTIONAL_REQUIRES.includes(m))).toEqual([]);
  });

  it.each(LAMBDAS)('%s: the handler answers unauthenticated and malformed requests with JSON 4xx, without AWS, on Node 24', async (image) => {
    const { route, body } = ROUTES[image];
    const { path: resource, method } = routeNamed(route);
    const anonymous = await invoke(image, apiEvent(resource, method, body === undefined ? null : JSON.stringify(body)), OFFLINE_ENV);
    expect(anonymous.node).toMatch(/^v24\./);
    expect([anonymous.statusCode, JSON.parse(anonymous.body)]).toEqual([401, { message: 'Unauthorized' }]);
    expect(anonymous.headers['Content-Type']).toMatch(/^application\/json/);

    const claims = { sub: 'bundle-user', email: 'bundle@example.com', 'cognito:username': 'bundle' };
    const malformed = await invoke(image, apiEvent(routeNamed('generate_topics_ideas').path, 'POST', '{not json', claims), OFFLINE_ENV);
    expect(malformed.statusCode).toBeGreaterThanOrEqual(400);
    expect(malformed.statusCode).toBeLessThan(500);
    expect(JSON.parse(malformed.body)).toEqual(expect.objectContaining({ error: expect.any(String) }));
  });

  it.each(LAMBDAS)('%s: a warm-up invocation loads the configured providers and answers', async (image) => {
    const warm = await invoke(image, { story42: 'warm-up' }, OFFLINE_ENV);
    expect([warm.statusCode, JSON.parse(warm.body)]).toEqual([200, { warm: image.replace(/^story-/, ''), ready: true }]);
  });

  it('the image-regen bundle narrates a story through Polly (the local Polly server) into the local S3', async () => {
    const polly = new LocalPollyServer();
    const pollyUrl = await polly.listen();
    try {
      const claims = Object.fromEntries(Object.entries(claimsOf(await tokenFor())).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]));
      const body = { job_id: `bundle-narration-${process.pid}`, story_parts: [{ story_part: 'beginning', sections: [{ section_num: 1, segments: [{ segment_num: 1, speaker: 'Narrator', segment_content: 'A ship sailed at dawn.' }] }] }] };
      const { path: resource, method } = routeNamed('narrate_story');
      // A deadline for the wiring, not for speed: the local Polly server speaks with eSpeak, whose first
      // call compiles its WASM — on a busy 2-core CI machine that alone can pass the 2 s of the other calls.
      const env = { ...testState().env, ...DEPLOYED_PROVIDERS, STORY42_MODEL_TIMEOUT_MS: '20000', STORY42_POLLY_ENDPOINT: pollyUrl };
      const res = await invoke('story-image-regen', apiEvent(resource, method, JSON.stringify(body), claims), env);
      expect([res.statusCode, JSON.parse(res.body)]).toEqual([200, expect.objectContaining({ success: true, route: 'narrate_story', result: expect.objectContaining({ voices: { Narrator: 'Matthew' } }) })]);
      expect(polly.counters.voices).toEqual(['Matthew']);
      const story = JSON.parse(res.body) as { result: { story: { audio_presigned_url: string; duration_seconds: number } } };
      expect(story.result.story.duration_seconds).toBeGreaterThan(1);
      expect((await fetch(story.result.story.audio_presigned_url)).headers.get('content-type')).toBe('audio/mpeg');
    } finally {
      await polly.close();
    }
  }, 60_000);

  it('each Lambda bundle serves a real request against the local emulators', async () => {
    const claims = Object.fromEntries(Object.entries(claimsOf(await tokenFor())).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]));
    for (const image of LAMBDAS) {
      const { route, body } = ROUTES[image];
      const { path: resource, method } = routeNamed(route);
      // The deployed images have no offline engines: point them at protocol servers instead (Bedrock is not called by these requests' failures).
      const ok = await invoke(image, apiEvent(resource, method, body === undefined ? null : JSON.stringify(body), claims), { ...testState().env, ...DEPLOYED_PROVIDERS, STORY42_BEDROCK_ENDPOINT: 'http://127.0.0.1:9' });
      if (image === 'data-ops') {
        expect([image, ok.statusCode]).toEqual([image, 200]);
        expect(JSON.parse(ok.body)).toMatchObject({ success: true, route: 'list_jobs' });
      } else {
        // Bedrock is unreachable here: the answer is the spec's 503 with Retry-After, after storage and tracking worked.
        expect([image, ok.statusCode, ok.headers['Retry-After'], ok.body]).toEqual([image, 503, expect.any(String), expect.any(String)]);
      }
    }
  }, 60_000);

  it('each image carries the bundled prompts, and a Lambda with no prompts bucket renders from them (outside the repository)', async () => {
    for (const image of Object.keys(IMAGES) as ImageName[]) {
      expect([image, readFileSync(path.join(isolated, image, 'prompts', 'story-writer', 'system.md'), 'utf8')]).toEqual([image, readFileSync(path.join(ROOT, 'prompts', 'story-writer', 'system.md'), 'utf8')]);
    }
    const claims = { sub: 'bundle-user', email: 'bundle@example.com', 'cognito:username': 'bundle' };
    const { path: resource, method } = routeNamed('generate_topics_ideas');
    // No STORY42_PROMPTS_BUCKET: the prompts come from the image's prompts/; Bedrock is unreachable, so
    // the answer is the model's 503 — a prompt that could not be found would be a 500 before any model call.
    const res = await invoke('story-text-regen', apiEvent(resource, method, JSON.stringify({ genre: 'fiction', topics: 'lanterns' }), claims), { ...OFFLINE_ENV, STORY42_MODEL_MAX_ATTEMPTS: '1', STORY42_STORAGE_MAX_ATTEMPTS: '1' });
    expect([res.statusCode, res.headers['Retry-After'], JSON.parse(res.body)]).toEqual([503, expect.any(String), expect.objectContaining({ error: expect.stringMatching(/Bedrock|model/i) })]);
  });

  it('the agent bundle starts on PORT on Node 24 and answers GET /health with {"status":"ok"}', async () => {
    const port = await freePort();
    // As the stack configures it: DuckDuckGo search with its cache table (a deployed agent has no offline index).
    const env = { ...OFFLINE_ENV, STORY42_COGNITO_USER_POOL_ID: 'us-west-2_bundle', STORY42_COGNITO_CLIENT_ID: 'bundle-client', PORT: String(port), STORY42_SEARCH_PROVIDER: 'duckduckgo', STORY42_SEARCH_CACHE_TABLE: 'bundle-search-cache' };
    const child = spawn(process.execPath, [isolatedBundle('story-agent')], { cwd: isolated, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      let res: { status: number; body: unknown } | undefined;
      for (let i = 0; i < 200 && !res && child.exitCode === null; i++) {
        res = await fetch(`http://127.0.0.1:${port}${routeNamed('health').path}`).then(async (r) => ({ status: r.status, body: (await r.json()) as unknown }), () => undefined);
        if (!res) await new Promise((r) => setTimeout(r, 50));
      }
      expect([res, stderr]).toEqual([{ status: 200, body: expect.objectContaining({ status: 'ok', node: expect.stringMatching(/^v24\./), agent: 'bedrock/us.amazon.nova-pro-v1:0' }) }, stderr]);
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

  it.each(dockerfiles)('%s: Node 24 base image, every COPY source exists after the build, CMD runs the bundle', async (image, file) => {
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
      expect(lines[0]).toMatch(/^FROM node:24(\.\d+)*-(slim|bookworm-slim|trixie-slim)\b/);
      expect(cmd).toEqual(['node', 'index.mjs']);
      expect(copies).toContain('COPY dist/images/story-agent/ /app/');
      expect(lines.some((l) => /^USER\s+(?!root\b|0\b)\w+/.test(l))).toBe(true);
      expect(lines.find((l) => l.startsWith('HEALTHCHECK'))).toContain(routeNamed('health').path);
    } else {
      expect(lines[0]).toBe('FROM public.ecr.aws/lambda/nodejs:24');
      // CMD "<file>.<export>": the module the COPY put in LAMBDA_TASK_ROOT and a function it exports.
      const [fileName, exportName] = (cmd[0] ?? '').split('.');
      expect(cmd).toHaveLength(1);
      expect(copies).toContain(`COPY dist/images/${image}/ \${LAMBDA_TASK_ROOT}/`);
      expect(existsSync(path.join(imageDir(image as ImageName), `${fileName}.mjs`))).toBe(true);
      const { stdout } = await run(process.execPath, ['-e', `import(${JSON.stringify(isolatedBundle(image as ImageName))}).then((m) => process.stdout.write(typeof m[${JSON.stringify(exportName)}]))`], { cwd: isolated, env: { PATH: process.env.PATH ?? '', ...OFFLINE_ENV } });
      expect(stdout).toBe('function');
    }
  });
});
