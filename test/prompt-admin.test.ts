/**
 * The prompt admin API end to end through the local gateway (admin token; the demo user gets
 * 403), on a prompts bucket of this test's own in the real local S3, every S3 request counted by
 * a proxy: a PUT is checked, then served within the TTL — at once after a reload — and the next
 * story request uses it, as its tracked prompt version shows (and the model received it); S3
 * stopped, stories still work from the last good copy; invalid names never reach S3. Also the
 * upload script against the local S3.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { uploadPrompts, validatePromptsDir } from '../scripts/upload-prompts';
import { LOCAL_CREDENTIALS } from '../src/aws/clients';
import { S3PromptSource } from '../src/aws/s3-prompt-source';
import { promptListResponse, promptPutResponse, promptReloadResponse, promptResponse, promptVersionsResponse } from '../src/core/prompt-admin';
import { PROMPT_IDS } from '../src/core/prompt-catalogue';
import { ROUTES } from '../src/core/routes';
import { LocalBedrockServer } from '../src/local/bedrock-server';
import { preparePromptsBucket } from '../src/local/prompts-bucket';
import { ADMIN_USER } from '../src/local/services';
import { bundledPromptsFor } from '../src/platform/prompt-wiring';
import { CountingProxy } from './support/counting-proxy';
import { jobId, startTestGateway, testConfig, testState, tokenFor, type TestGateway } from './support/local';

const ROOT = path.resolve(__dirname, '..');
const BUCKET = `story42-test-prompt-admin-${process.pid}`;
const MARK = `PROMPT-EDIT-${process.pid}`;
const bedrock = new LocalBedrockServer();
let proxy: CountingProxy;
let gw: TestGateway;
let admin: string;
let raw: S3Client;

const prompsRequests = () => proxy.requests.filter((r) => r.path.startsWith(`/${BUCKET}`));

beforeAll(async () => {
  const endpoint = testState().env.STORY42_S3_ENDPOINT as string;
  raw = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
  await raw.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await preparePromptsBucket(raw, BUCKET, bundledPromptsFor(testConfig()));
  proxy = new CountingProxy(endpoint);
  const s3 = await proxy.start();
  const bedrockUrl = await bedrock.listen();
  gw = await startTestGateway({
    config: testConfig({
      STORY42_S3_ENDPOINT: s3,
      STORY42_PROMPTS_BUCKET: BUCKET,
      STORY42_PROMPTS_HISTORY: 'objects',
      STORY42_TEXT_PROVIDER: 'bedrock',
      STORY42_BEDROCK_ENDPOINT: bedrockUrl,
      STORY42_STORAGE_TIMEOUT_MS: '500',
      STORY42_STORAGE_MAX_ATTEMPTS: '1',
    }),
  });
  admin = await tokenFor(ADMIN_USER);
});
afterAll(async () => {
  await gw.stop();
  await proxy.close();
  await bedrock.close();
});

const asAdmin = (method: string, p: string, body?: unknown) => gw.call(method, p, { token: admin, body });
const outline = (job: string) =>
  gw.call('POST', '/generate-story-outline', {
    body: { genre: 'fantasy', reading_level: 'grade 2', tone: 'warm', story_type: 'visual', panels: 3, number_of_speakers: 2, user_input_description: 'An owl who is afraid of the dark.', job_id: job },
  });
/** The prompts the job's (only) record says it used. */
async function trackedPrompts(job: string): Promise<Array<{ prompt: string; version: string; source: string }>> {
  const res = await gw.call('GET', `/jobs/${job}`);
  expect(res.status).toBe(200);
  const records = (res.body.result as { records: Array<{ prompts: Array<{ prompt: string; version: string; source: string }> }> }).records;
  expect(records).toHaveLength(1);
  return records[0]?.prompts ?? [];
}
const versionOf = (uses: Array<{ prompt: string; version: string }>, id: string) => uses.find((u) => u.prompt === id)?.version;

describe('who may call the prompt admin API', () => {
  const ADMIN_ROUTES = ROUTES.filter((r) => r.path.startsWith('/admin/prompts'));
  const concrete = (p: string) => p.replace('{assistant}', 'story-writer').replace('{name}', 'system');

  it('has six routes, all on the data-ops Lambda', () => {
    expect(ADMIN_ROUTES.map((r) => `${r.method} ${r.path} ${r.lambda}`).sort()).toEqual(
      [
        'GET /admin/prompts data-ops',
        'POST /admin/prompts/reload data-ops',
        'GET /admin/prompts/{assistant}/{name} data-ops',
        'PUT /admin/prompts/{assistant}/{name} data-ops',
        'GET /admin/prompts/{assistant}/{name}/versions data-ops',
        'POST /admin/prompts/{assistant}/{name}/rollback data-ops',
      ].sort(),
    );
  });

  it.each(ADMIN_ROUTES.map((r) => [r.name, r] as const))('%s: 403 for the demo user, 401 without a token, and no S3 request', async (_name, route) => {
    proxy.reset();
    const body = route.method === 'PUT' ? { text: 'x' } : route.name === 'rollback_prompt' ? { version_id: 'v1' } : undefined;
    const demo = await gw.call(route.method, concrete(route.path), { body });
    expect([demo.status, demo.body.error]).toEqual([403, 'This route is for the admin group only']);
    expect((await gw.call(route.method, concrete(route.path), { token: null, body })).status).toBe(401);
    expect(prompsRequests()).toEqual([]);
  });
});

describe('reading', () => {
  it('GET /admin/prompts lists every assistant and prompt of the catalogue, stored in the bucket', async () => {
    const res = await asAdmin('GET', '/admin/prompts');
    expect(res.status).toBe(200);
    const list = promptListResponse.parse(res.body.result);
    expect(list).toMatchObject({ bucket: BUCKET, history: 'objects', cache_ttl_ms: 300_000 });
    expect(list.assistants.flatMap((a) => a.prompts.map((p) => `${a.assistant}/${p.name}`)).sort()).toEqual([...PROMPT_IDS].sort());
    expect(list.assistants.flatMap((a) => a.prompts).every((p) => p.stored)).toBe(true);
    expect(list.assistants.find((a) => a.assistant === 'story-writer')?.prompts.find((p) => p.name === 'repair')?.placeholders).toEqual(['problem']);
  });

  it('GET one prompt: its current text, version, last change and source', async () => {
    const res = await asAdmin('GET', '/admin/prompts/story-agent/system');
    expect(res.status).toBe(200);
    const p = promptResponse.parse(res.body.result);
    expect(p).toMatchObject({ assistant: 'story-agent', name: 'system', source: 's3', version: expect.stringMatching(/^\d{13}-[0-9a-f]{8}$/), placeholders: ['state'] });
    expect(p.text).toBe(bundledPromptsFor(testConfig()).get('story-agent', 'system')?.text);
    expect(Date.parse(p.last_modified ?? '')).toBeGreaterThan(0);
  });

  it.each([
    ['/admin/prompts/Story-Writer/system', 400],
    ['/admin/prompts/story-writer/system.md', 400],
    ['/admin/prompts/a%2Fb/system', 400],
    [`/admin/prompts/story-writer/${'x'.repeat(65)}`, 400],
    ['/admin/prompts/story-writer/no-such-prompt', 404],
    ['/admin/prompts/nobody/system', 404],
  ])('GET %s: %i, and nothing reaches S3', async (p, status) => {
    proxy.reset();
    for (const [method, suffix, body] of [['GET', '', undefined], ['PUT', '', { text: 'x' }], ['GET', '/versions', undefined], ['POST', '/rollback', { version_id: 'v1' }]] as const) {
      const res = await asAdmin(method, `${p}${suffix}`, body);
      expect([method, suffix, res.status]).toEqual([method, suffix, status]);
    }
    expect(prompsRequests()).toEqual([]);
  });
});

describe('a new version', () => {
  it('is refused (400, naming the problem) with an unknown placeholder, NUL, too many bytes, no text', async () => {
    proxy.reset();
    const put = (text: unknown) => asAdmin('PUT', '/admin/prompts/story-writer/outline', text === undefined ? {} : { text });
    const unknown = await put('Outline {{length}} for {{audience}}.');
    expect([unknown.status, unknown.body.error]).toEqual([400, expect.stringContaining('unknown placeholder {{audience}} in story-writer/outline')]);
    expect((await put('nul\u0000')).body.error).toMatch(/NUL/);
    expect((await put('é'.repeat(40_000))).body.error).toMatch(/a prompt may have at most 65536/);
    expect((await put('x'.repeat(65_537))).status).toBe(400);
    expect((await put(undefined)).status).toBe(400);
    expect((await put('   ')).body.error).toBe('text must not be empty');
    expect(prompsRequests().filter((r) => r.method === 'PUT')).toEqual([]);
  });

  it('is served within the TTL, at once after a reload: the next story request uses it (tracked version; the model received it)', async () => {
    const jobA = jobId('prompt-a');
    expect((await outline(jobA)).status).toBe(200);
    const before = await trackedPrompts(jobA);
    expect(before.map((u) => [u.prompt, u.source])).toEqual([
      ['story-writer/system', 's3'],
      ['story-writer/outline', 's3'],
    ]);
    const v0 = versionOf(before, 'story-writer/outline') as string;

    const current = promptResponse.parse((await asAdmin('GET', '/admin/prompts/story-writer/outline')).body.result);
    const edited = `${current.text}\n${MARK}: keep the owl brave.`;
    const put = await asAdmin('PUT', '/admin/prompts/story-writer/outline', { text: edited });
    expect(put.status).toBe(200);
    const v1 = promptPutResponse.parse(put.body.result).version;
    expect(v1).not.toBe(v0);

    // Within the TTL (5 minutes here) this process still serves the copy it has.
    const jobB = jobId('prompt-b');
    expect((await outline(jobB)).status).toBe(200);
    expect(versionOf(await trackedPrompts(jobB), 'story-writer/outline')).toBe(v0);

    const reload = await asAdmin('POST', '/admin/prompts/reload');
    expect(reload.status).toBe(200);
    expect(promptReloadResponse.parse(reload.body.result).cached_prompts).toBeGreaterThanOrEqual(2);

    proxy.reset();
    const jobC = jobId('prompt-c');
    expect((await outline(jobC)).status).toBe(200);
    expect(await trackedPrompts(jobC)).toEqual([
      { prompt: 'story-writer/system', version: versionOf(before, 'story-writer/system'), source: 's3' },
      { prompt: 'story-writer/outline', version: v1, source: 's3' },
    ]);
    const sent = bedrock.lastRequests.at(-1);
    expect(sent?.messages[0]?.text).toContain(`${MARK}: keep the owl brave.`);
    // The unchanged system prompt cost a 304; the changed one a download.
    const got = prompsRequests().filter((r) => r.method === 'GET').map((r) => [(r.path.split('?')[0] ?? '').split('/').slice(-2).join('/'), r.status]);
    expect(got.sort()).toEqual([['story-writer/outline.md', 200], ['story-writer/system.md', 304]]);

    // Versions, newest first; roll back to the first: a new current version with its text.
    const versions = promptVersionsResponse.parse((await asAdmin('GET', '/admin/prompts/story-writer/outline/versions?limit=5')).body.result);
    expect(versions.versions.slice(0, 2).map((v) => [v.version_id, v.is_latest])).toEqual([
      [v1, true],
      [v0, false],
    ]);
    expect((await asAdmin('GET', '/admin/prompts/story-writer/outline/versions?limit=0')).status).toBe(400);
    const back = await asAdmin('POST', '/admin/prompts/story-writer/outline/rollback', { version_id: v0 });
    expect(back.status).toBe(200);
    const v2 = promptPutResponse.parse(back.body.result);
    expect(v2).toMatchObject({ restored_from: v0, source: 's3' });
    expect(promptResponse.parse((await asAdmin('GET', '/admin/prompts/story-writer/outline')).body.result)).toMatchObject({ version: v2.version, text: current.text });
    expect((await asAdmin('POST', '/admin/prompts/story-writer/outline/rollback', { version_id: '0000000000000-00000000' })).status).toBe(404);
    expect((await asAdmin('POST', '/admin/prompts/story-writer/outline/rollback', { version_id: '../x' })).status).toBe(400);

    await asAdmin('POST', '/admin/prompts/reload');
    const jobD = jobId('prompt-d');
    expect((await outline(jobD)).status).toBe(200);
    expect(versionOf(await trackedPrompts(jobD), 'story-writer/outline')).toBe(v2.version);
    expect(bedrock.lastRequests.at(-1)?.messages[0]?.text).not.toContain(MARK);
  });

  it('S3 stopped: stories still work from the last good copy (same tracked versions)', async () => {
    const warm = jobId('prompt-warm');
    expect((await outline(warm)).status).toBe(200);
    const good = await trackedPrompts(warm);
    await asAdmin('POST', '/admin/prompts/reload'); // every prompt must be asked for again …
    await proxy.stop(); // … and S3 does not answer
    const down = jobId('prompt-down');
    try {
      const failures = gw.telemetry.get('prompt_refresh_failures');
      const res = await outline(down);
      expect(res.status).toBe(200);
      expect(gw.telemetry.get('prompt_refresh_failures')).toBe(failures + 2); // system and outline
      expect((await asAdmin('GET', '/admin/prompts/story-writer/system')).status).toBe(503);
    } finally {
      await proxy.start();
    }
    // The job's record (GET /jobs lists its images in S3 too, so it is read once S3 is back).
    expect(await trackedPrompts(down)).toEqual(good);
  });
});

describe('the admin API\'s schemas', () => {
  type Json = { type?: string | string[]; maxLength?: number; maxItems?: number; enum?: unknown[]; const?: unknown; properties?: Record<string, Json>; items?: Json; anyOf?: Json[] };
  const uncapped = (s: Json, at: string): string[] => {
    const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
    const here = [
      ...(types.includes('string') && s.maxLength === undefined && s.enum === undefined && s.const === undefined ? [`${at}: string without maxLength`] : []),
      ...(types.includes('array') && s.maxItems === undefined ? [`${at}: array without maxItems`] : []),
    ];
    return [...here, ...Object.entries(s.properties ?? {}).flatMap(([k, v]) => uncapped(v, `${at}.${k}`)), ...(s.items ? uncapped(s.items, `${at}[]`) : []), ...(s.anyOf ?? []).flatMap((v, i) => uncapped(v, `${at}|${i}`))];
  };

  it.each(ROUTES.filter((r) => r.path.startsWith('/admin/prompts')).map((r) => [r.name, r] as const))('%s: every string and array of its request and response is capped', (_name, route) => {
    for (const [schema, io] of [[route.body, 'input'], [route.query, 'input'], [route.response, 'output']] as const) {
      if (schema) expect(uncapped(z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json, route.name)).toEqual([]);
    }
  });
});

describe('scripts/upload-prompts', () => {
  const run = promisify(execFile);

  it('uploads the bundled prompts a bucket lacks or holds otherwise, and skips the unchanged ones (MD5 = ETag)', async () => {
    const bucket = `story42-test-prompt-upload-${process.pid}`;
    await raw.send(new CreateBucketCommand({ Bucket: bucket }));
    const source = new S3PromptSource(raw, bucket, { history: 'objects' });
    const dir = mkdtempSync(path.join(ROOT, '.tmp', 'upload-prompts-'));
    try {
      cpSync(path.join(ROOT, 'prompts'), dir, { recursive: true });
      const files = () => validatePromptsDir(dir).files;
      expect((await uploadPrompts(source, files(), true)).map((o) => o.action)).toEqual(Array(PROMPT_IDS.length).fill('would upload'));
      expect((await source.keys('prompts/', 100)).length).toBe(0); // a dry run writes nothing
      expect((await uploadPrompts(source, files(), false)).map((o) => o.action)).toEqual(Array(PROMPT_IDS.length).fill('uploaded'));
      expect((await uploadPrompts(source, files(), false)).map((o) => o.action)).toEqual(Array(PROMPT_IDS.length).fill('unchanged'));
      writeFileSync(path.join(dir, 'illustrator', 'edit.md'), 'Redraw: {{request}}\n');
      const third = await uploadPrompts(source, files(), false);
      expect(third.filter((o) => o.action !== 'unchanged')).toEqual([{ id: 'illustrator/edit', action: 'uploaded', version: expect.stringMatching(/^\d{13}-[0-9a-f]{8}$/) }]);
      expect(await source.get('prompts/illustrator/edit.md')).toMatchObject({ kind: 'found', text: 'Redraw: {{request}}\n' });

      // The command itself, as scripts/upload-prompts.sh runs it (a dry run against the local S3).
      const out = await run('npm', ['run', '--silent', 'upload-prompts', '--', bucket, 'us-east-1', '--dry-run'], {
        cwd: ROOT,
        env: { ...process.env, STORY42_S3_ENDPOINT: testState().env.STORY42_S3_ENDPOINT, STORY42_PROMPTS_HISTORY: 'objects' },
        timeout: 60_000,
      });
      expect(out.stdout).toContain(`${PROMPT_IDS.length} prompts valid`);
      expect(out.stdout).toMatch(/would upload\s+illustrator\/edit/);
      expect(out.stdout).toContain(`Dry run: 1 would be uploaded to s3://${bucket}/prompts/, ${PROMPT_IDS.length - 1} unchanged.`);
      expect(await source.get('prompts/illustrator/edit.md')).toMatchObject({ kind: 'found', text: 'Redraw: {{request}}\n' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
