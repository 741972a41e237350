/**
 * The prompt service over the real local S3 (s3rver), every request counted by a proxy in front
 * of it: one GET per TTL window, a 304 for an unchanged prompt, one fetch for 200 concurrent
 * gets, the last good copy while S3 is down, the bundled fallback counted once per TTL, and
 * invalid names that never reach S3. Time is the test's clock: no sleeps.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_CREDENTIALS, s3Client } from '../src/aws/clients';
import { S3PromptSource } from '../src/aws/s3-prompt-source';
import { promptTextProblem } from '../src/core/prompt-catalogue';
import { CachedPromptService } from '../src/core/prompt-service';
import { promptKey } from '../src/core/prompt-store';
import { preparePromptsBucket } from '../src/local/prompts-bucket';
import { bundledPromptsFor } from '../src/platform/prompt-wiring';
import { CountingProxy } from './support/counting-proxy';
import { testConfig, testState } from './support/local';
import { stalledServer } from './support/stalled-server';

const TTL = 60_000;
const BUCKET = `story42-test-prompt-cache-${process.pid}`;
const EMPTY_BUCKET = `story42-test-prompt-empty-${process.pid}`;
const KEY = promptKey('story-writer', 'system');
const bundled = bundledPromptsFor(testConfig());

let proxy: CountingProxy;
/** Straight to the local S3 (for writes the test makes "from elsewhere"). */
let direct: S3PromptSource;
/** Through the proxy, with the platform's storage deadlines (short, so a stall ends soon). */
let proxied: S3PromptSource;

class Recorder {
  readonly counts = new Map<string, number>();
  readonly logs: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  count = (metric: string, by = 1): void => void this.counts.set(metric, (this.counts.get(metric) ?? 0) + by);
  log = (level: string, message: string, fields?: Record<string, unknown>): void => void this.logs.push({ level, message, fields });
  get = (metric: string): number => this.counts.get(metric) ?? 0;
}

function service(source: S3PromptSource | undefined, ttlMs = TTL) {
  const clock = { t: 1_000_000, now: () => clock.t };
  const telemetry = new Recorder();
  const prompts = new CachedPromptService({ source, bundled, ttlMs, clock, telemetry, check: promptTextProblem });
  return { prompts, clock, telemetry };
}

const gets = (fragment = KEY) => proxy.to(fragment).filter((r) => r.method === 'GET');

beforeAll(async () => {
  const endpoint = testState().env.STORY42_S3_ENDPOINT as string;
  const raw = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
  await raw.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await raw.send(new CreateBucketCommand({ Bucket: EMPTY_BUCKET }));
  expect(await preparePromptsBucket(raw, BUCKET, bundled)).toBe('objects'); // s3rver has no bucket versioning
  direct = new S3PromptSource(raw, BUCKET, { history: 'objects' });
  proxy = new CountingProxy(endpoint);
  const url = await proxy.start();
  const config = testConfig({ STORY42_S3_ENDPOINT: url, STORY42_STORAGE_TIMEOUT_MS: '300', STORY42_STORAGE_MAX_ATTEMPTS: '1' });
  proxied = new S3PromptSource(s3Client(config), BUCKET, { history: 'objects' });
});
afterAll(() => proxy.close());
beforeEach(async () => {
  await proxy.start();
  proxy.reset();
});

describe('the cache', () => {
  it('asks S3 once per TTL window; after it, an unchanged prompt costs a 304 (conditional GET), not a download', async () => {
    const { prompts, clock } = service(proxied);
    const first = await prompts.get('story-writer', 'system');
    expect(first).toMatchObject({ assistant: 'story-writer', name: 'system', source: 's3', version: expect.stringMatching(/^\d{13}-[0-9a-f]{8}$/) });
    expect(first.text).toContain('You are Story42');
    for (let i = 0; i < 20; i++) await prompts.get('story-writer', 'system');
    clock.t += TTL - 1;
    await prompts.get('story-writer', 'system');
    expect(gets().map((r) => [r.ifNoneMatch, r.status])).toEqual([[undefined, 200]]);

    clock.t += 1; // the window is over
    const again = await prompts.get('story-writer', 'system');
    expect(again).toEqual(first);
    const etag = gets()[1]?.ifNoneMatch;
    expect(gets().map((r) => [r.ifNoneMatch, r.status])).toEqual([[undefined, 200], [expect.stringMatching(/^"[0-9a-f]{32}"$/), 304]]);
    expect(etag).toBeDefined();
    // The 304 confirmed the copy for another window.
    clock.t += TTL - 1;
    await prompts.get('story-writer', 'system');
    expect(gets()).toHaveLength(2);
    expect(prompts.stats).toMatchObject({ fetches: 2, notModified: 1, failures: 0, fallbacks: 0 });
  });

  it('serves a changed prompt within the TTL: the old text until the window ends, then the new version', async () => {
    const { prompts, clock } = service(proxied);
    const before = await prompts.get('illustrator', 'edit');
    const stored = await direct.put(promptKey('illustrator', 'edit'), `${before.text}\nChanged at ${process.pid}.`);
    clock.t += TTL / 2;
    expect((await prompts.get('illustrator', 'edit')).version).toBe(before.version);
    clock.t += TTL / 2;
    const after = await prompts.get('illustrator', 'edit');
    expect(after).toMatchObject({ version: stored.versionId, source: 's3', text: expect.stringContaining(`Changed at ${process.pid}.`) });
    // A conditional GET that found a new ETag: 200 with the new body.
    expect(gets('illustrator/edit').map((r) => [Boolean(r.ifNoneMatch), r.status])).toEqual([[false, 200], [true, 200]]);
  });

  it('200 concurrent gets of a prompt share one request; after the TTL, 200 more share one conditional GET', async () => {
    const { prompts, clock } = service(proxied);
    const all = await Promise.all(Array.from({ length: 200 }, () => prompts.get('story-writer', 'story')));
    expect(new Set(all.map((p) => p.version)).size).toBe(1);
    expect(gets('story-writer/story')).toHaveLength(1);
    clock.t += TTL;
    await Promise.all(Array.from({ length: 200 }, () => prompts.get('story-writer', 'story')));
    expect(gets('story-writer/story').map((r) => r.status)).toEqual([200, 304]);
  });

  it('reload() expires every cached prompt: the next get asks S3 at once (conditionally)', async () => {
    const { prompts } = service(proxied);
    await prompts.get('story-writer', 'topics');
    await prompts.get('story-writer', 'topics');
    expect(prompts.reload()).toBe(1);
    await prompts.get('story-writer', 'topics');
    expect(gets('story-writer/topics').map((r) => [Boolean(r.ifNoneMatch), r.status])).toEqual([[false, 200], [true, 304]]);
  });
});

describe('invalid names', () => {
  it.each([['../prompts', 'system'], ['story-writer', '../../etc/passwd'], ['Story', 'system'], ['story-writer', 'a.b'], ['', 'system'], ['story-writer', ''], ['a/b', 'c'], ['story-writer', 'x'.repeat(65)], ['1abc', 'system']])(
    '%s / %s: a 400 before any request',
    async (assistant, name) => {
      const { prompts } = service(proxied);
      await expect(prompts.get(assistant, name)).rejects.toMatchObject({ status: 400 });
      expect(proxy.requests).toEqual([]);
    },
  );
});

describe('S3 failing', () => {
  it('S3 stopped: the last good copy is served (no fallback), retried once per TTL, and S3 is asked again when it is back', async () => {
    const { prompts, clock, telemetry } = service(proxied);
    const good = await prompts.get('story-writer', 'outline');
    await proxy.stop();
    clock.t += TTL;
    for (let i = 0; i < 50; i++) expect(await prompts.get('story-writer', 'outline')).toEqual(good);
    expect(prompts.stats).toMatchObject({ fetches: 2, failures: 1, fallbacks: 0 });
    expect([telemetry.get('prompt_refresh_failures'), telemetry.get('prompt_fallbacks')]).toEqual([1, 0]);
    expect(telemetry.logs.filter((l) => l.message.includes('last good copy'))).toHaveLength(1);
    await proxy.start();
    proxy.reset();
    clock.t += TTL;
    expect(await prompts.get('story-writer', 'outline')).toEqual(good);
    expect(gets('story-writer/outline').map((r) => [Boolean(r.ifNoneMatch), r.status])).toEqual([[true, 304]]);
  });

  it('S3 stopped and nothing cached: the bundled copy, logged and counted once per TTL per prompt — never per request', async () => {
    await proxy.stop();
    const { prompts, clock, telemetry } = service(proxied);
    for (let i = 0; i < 30; i++) {
      const [a, b] = await Promise.all([prompts.get('story-writer', 'segment'), prompts.get('illustrator', 'panel')]);
      expect([a.source, b.source]).toEqual(['fallback', 'fallback']);
      expect(a.version).toMatch(/^bundled:[0-9a-f]{12}$/);
      expect(a.text).toBe(bundled.get('story-writer', 'segment')?.text);
    }
    expect(telemetry.get('prompt_fallbacks')).toBe(2);
    expect(telemetry.logs.filter((l) => l.message === 'prompt served from the bundled fallback').map((l) => l.fields?.prompt)).toEqual(['story-writer/segment', 'illustrator/panel']);
    clock.t += TTL - 1;
    await prompts.get('story-writer', 'segment');
    expect(telemetry.get('prompt_fallbacks')).toBe(2);
    clock.t += 1;
    await prompts.get('story-writer', 'segment');
    expect(telemetry.get('prompt_fallbacks')).toBe(3);
    // Back up: the next window reads the bucket's copy.
    await proxy.start();
    clock.t += TTL;
    expect((await prompts.get('story-writer', 'segment')).source).toBe('s3');
  });

  it('S3 stalled: the bundled copy within the storage deadline (the test waits for no timer of its own)', async () => {
    const stalled = await stalledServer();
    try {
      const config = testConfig({ STORY42_S3_ENDPOINT: stalled.url, STORY42_STORAGE_TIMEOUT_MS: '300', STORY42_STORAGE_MAX_ATTEMPTS: '1' });
      const { prompts, telemetry } = service(new S3PromptSource(s3Client(config), BUCKET, { history: 'objects' }));
      const t0 = Date.now();
      const prompt = await prompts.get('story-writer', 'repair');
      expect(prompt.source).toBe('fallback');
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(telemetry.get('prompt_fallbacks')).toBe(1);
    } finally {
      await stalled.close();
    }
  });

  it('a prompt missing from the bucket: the bundled copy, counted once per TTL', async () => {
    const config = testConfig({ STORY42_S3_ENDPOINT: proxy.url });
    const { prompts, clock, telemetry } = service(new S3PromptSource(s3Client(config), EMPTY_BUCKET, { history: 'objects' }));
    for (let i = 0; i < 10; i++) expect((await prompts.get('story-agent', 'system')).source).toBe('fallback');
    expect(gets(`${EMPTY_BUCKET}/prompts/story-agent/system.md`).map((r) => r.status)).toEqual([404]);
    expect(telemetry.get('prompt_fallbacks')).toBe(1);
    clock.t += TTL;
    await prompts.get('story-agent', 'system');
    expect(telemetry.get('prompt_fallbacks')).toBe(2);
  });

  it('a stored text the catalogue refuses (an unknown placeholder) is not used: the last good copy stays', async () => {
    const key = promptKey('story-writer', 'repair');
    const { prompts, clock, telemetry } = service(proxied);
    const good = await prompts.get('story-writer', 'repair');
    await direct.put(key, 'Broken: {{no_such_value}}');
    try {
      clock.t += TTL;
      expect(await prompts.get('story-writer', 'repair')).toEqual(good);
      expect(telemetry.logs.find((l) => l.message.includes('last good copy'))?.fields?.reason).toContain('{{no_such_value}}');
    } finally {
      await direct.put(key, good.text);
    }
  });
});

describe('no prompts bucket configured', () => {
  it('serves the bundled prompts (source fallback), says so once, and counts no failure', async () => {
    const { prompts, telemetry } = service(undefined);
    const all = await Promise.all(['system', 'topics', 'outline', 'story'].map((n) => prompts.get('story-writer', n)));
    expect(all.map((p) => p.source)).toEqual(['fallback', 'fallback', 'fallback', 'fallback']);
    expect(telemetry.logs.filter((l) => l.message.includes('no prompts bucket'))).toHaveLength(1);
    expect(telemetry.get('prompt_fallbacks')).toBe(0);
    await expect(prompts.get('story-writer', 'no-such-prompt')).rejects.toThrow(/neither in the prompts bucket nor bundled/);
  });
});

describe('the history of a prompt in a store without versioning (s3rver)', () => {
  it('keeps every put as a version (newest first, the current one latest) and reads an old one back', async () => {
    const key = promptKey('illustrator', 'panel');
    const one = await direct.put(key, 'Version one: {{scene}} in {{art_style}}.');
    const two = await direct.put(key, 'Version two: {{scene}} in {{art_style}}.');
    const versions = await direct.versions(key, 10);
    expect(versions.slice(0, 2).map((v) => [v.version_id, v.is_latest])).toEqual([
      [two.versionId, true],
      [one.versionId, false],
    ]);
    expect(versions.filter((v) => v.is_latest)).toHaveLength(1);
    expect(await direct.getVersion(key, one.versionId as string)).toMatchObject({ kind: 'found', text: 'Version one: {{scene}} in {{art_style}}.', versionId: one.versionId });
    expect(await direct.getVersion(key, '9999999999999-00000000')).toEqual({ kind: 'missing' });
    expect(await direct.getVersion(key, '../../other')).toEqual({ kind: 'missing' });
    expect(await direct.get(key)).toMatchObject({ kind: 'found', versionId: two.versionId });
  });
});
