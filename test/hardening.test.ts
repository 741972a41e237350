/**
 * Bounded, safe handling of every input and every dependency: only validated data is stored
 * (and always fits), every string and array has a cap, a dependency that is down or stalled is
 * a 503 with Retry-After (never a hang, never blamed on the model), and jobs say when a call
 * stored artifacts without completing.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { dynamoDocumentClient } from '../src/aws/clients';
import type { GeneratedImage, ImageEditRequest, ImageModel, ImageRequest } from '../src/core/ports';
import { ROUTES, routeNamed } from '../src/core/routes';
import { OfflineIllustrator } from '../src/offline/illustrator';
import { TokenVerifier } from '../src/platform/auth';
import { jobId, quietTelemetry, startTestGateway, testConfig, tokenFor, type TestGateway } from './support/local';
import { stalledServer } from './support/stalled-server';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.stop());

/** The caller's tracking rows of a job, straight from the table. */
async function rowsOf(job: string): Promise<Array<Record<string, unknown>>> {
  const config = testConfig();
  const out = await dynamoDocumentClient(config).send(
    new QueryCommand({ TableName: config.sessionsTable, KeyConditionExpression: 'user_id = :u AND begins_with(session_id, :p)', ExpressionAttributeValues: { ':u': gw.sub, ':p': `${job}#` }, ConsistentRead: true }),
  );
  return out.Items ?? [];
}

describe('every string and array of every request has a cap', () => {
  type Json = { type?: string | string[]; maxLength?: number; maxItems?: number; enum?: unknown[]; pattern?: string; properties?: Record<string, Json>; items?: Json; anyOf?: Json[]; oneOf?: Json[]; allOf?: Json[] };
  function uncapped(s: Json, path: string): string[] {
    const here: string[] = [];
    const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
    if (types.includes('string') && s.maxLength === undefined && s.enum === undefined) here.push(`${path}: string without maxLength`);
    if (types.includes('array') && s.maxItems === undefined) here.push(`${path}: array without maxItems`);
    const nested = [
      ...Object.entries(s.properties ?? {}).map(([k, v]) => uncapped(v, `${path}.${k}`)),
      ...(s.items ? [uncapped(s.items, `${path}[]`)] : []),
      ...[...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])].map((v, i) => uncapped(v, `${path}|${i}`)),
    ];
    return [...here, ...nested.flat()];
  }

  it.each(ROUTES.filter((r) => r.body || r.query).map((r) => [r.name, r] as const))('%s', (_name, route) => {
    for (const schema of [route.body, route.query]) {
      if (schema) expect(uncapped(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json, route.name)).toEqual([]);
    }
  });

  it('the 2,000-character cap on topics holds for the list form too', async () => {
    const res = await gw.call('POST', routeNamed('generate_topics_ideas').path, { body: { genre: 'fiction', topics: Array.from({ length: 20 }, () => 'y'.repeat(150)) } });
    expect([res.status, res.body.error]).toEqual([400, 'topics must be at most 2000 characters']);
  });
});

describe('only validated data is stored, and a request that answers 200 is always tracked', () => {
  const nested = (depth: number): unknown => (depth === 0 ? 'bottom' : { deeper: nested(depth - 1) });

  it.each([
    ['20 nesting levels', { extra: nested(20) }],
    ['300 KB of unknown fields', Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`unknown_${i}`, 'u'.repeat(1000)]))],
    ['a 50,000-item array', { many: Array.from({ length: 50_000 }, (_, i) => i) }],
    ['a user_id (ignored, never stored)', { user_id: { claims: nested(10) } }],
    ['700 KB of unknown fields (a raw row would pass DynamoDB\'s item limit)', Object.fromEntries(Array.from({ length: 700 }, (_, i) => [`unknown_${i}`, 'u'.repeat(1000)]))],
    ['3,000 nesting levels in a user_id and an unknown field', { user_id: nested(3000), extra: nested(3000) }],
  ])('%s: answered, tracked, and the stored request is the parsed one', async (_what, noise) => {
    const job = jobId('only-valid');
    const res = await gw.call('POST', routeNamed('generate_topics_ideas').path, { body: { genre: 'fiction', topics: 'otters, rivers', job_id: job, ...noise } });
    expect(res.status).toBe(200);
    const rows = await rowsOf(job);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.request).toEqual({ genre: 'fiction', topics: 'otters, rivers', job_id: job });
  });

  it('a request at the caps whose row would pass DynamoDB\'s item limit is stored truncated, with a marker', async () => {
    const job = jobId('big');
    const segs = Array.from({ length: 60 }, (_, i) => ({ segment_num: i + 1, segment_content: `${'word '.repeat(2_900)}end ${i}`, speaker: i % 2 ? 'Lina' : 'Narrator' }));
    const res = await gw.call('POST', routeNamed('regenerate_story_segment').path, {
      body: { genre: 'fantasy', reading_level: 'grade 3', tone: 'warm', job_id: job, user_request: 'add snow', original_story_segments: segs, original_story_segment_num: 1, original_story_segment: segs[0] },
    });
    expect(res.status).toBe(200);
    const rows = await rowsOf(job);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.truncated).toBe(true);
    expect(JSON.stringify(rows[0]).length).toBeLessThan(400_000);
    expect(JSON.stringify(rows[0]?.request)).toContain('[truncated ');
    const got = await gw.call('GET', `/jobs/${job}`);
    expect((got.body.result as { records: Array<{ truncated?: boolean }> }).records[0]?.truncated).toBe(true);
  });
});

describe('client mistakes are 400s, never 502s', () => {
  it.each([
    ['a section without segments', [{ story_part: 'beginning', sections: [{ section_num: 1, segments: [] }] }], 'every section of complete_story_parts must have segments'],
    ['segments without text', [{ story_part: 'beginning', sections: [{ section_num: 1, segments: [{ segment_num: 1, segment_content: '   ', speaker: 'Narrator' }] }] }], 'complete_story_parts has no segment text to illustrate'],
  ])('%s', async (_what, parts, message) => {
    const res = await gw.call('POST', routeNamed('generate_entire_story_image').path, { body: { art_style: 'ink', number_of_panels: 1, job_id: jobId('mistake'), complete_story_parts: parts } });
    expect([res.status, res.body.error]).toEqual([400, message]);
  });
});


describe('a dependency that is down or stalled is a 503 with Retry-After, in bounded time', () => {
  const segment = { story_segments: [{ story_segment_content: 'A lantern by the sea.', story_segment_number: 1 }], art_style: 'ink', number_of_panels: 1 };

  it.each([
    ['S3 refuses connections', { STORY42_S3_ENDPOINT: 'http://127.0.0.1:9' }],
    ['DynamoDB refuses connections', { STORY42_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' }],
  ])('%s: the image route answers 503 "Storage is unavailable", not an image-model error', async (_what, env) => {
    const broken = await startTestGateway({ config: testConfig({ ...env, STORY42_STORAGE_TIMEOUT_MS: '500' }) });
    try {
      const res = await broken.call('POST', routeNamed('generate_entire_story_image').path, { body: { ...segment, job_id: jobId('down') } });
      expect([res.status, res.body.error, res.headers.get('retry-after')]).toEqual([503, 'Storage is unavailable; try again shortly', expect.stringMatching(/^\d+$/)]);
    } finally {
      await broken.stop();
    }
  });

  it('DynamoDB down: a text route still answers (tracking never fails a story) and the failure is counted', async () => {
    const telemetry = quietTelemetry();
    const broken = await startTestGateway({ config: testConfig({ STORY42_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9', STORY42_STORAGE_TIMEOUT_MS: '500' }), parts: { telemetry } });
    try {
      const res = await broken.call('POST', routeNamed('generate_topics_ideas').path, { body: { genre: 'fiction', topics: 'owls' } });
      expect(res.status).toBe(200);
      expect(telemetry.get('tracking_failures')).toBe(1);
      const jobs = await broken.call('GET', routeNamed('list_jobs').path);
      expect([jobs.status, jobs.headers.get('retry-after')]).toEqual([503, expect.any(String)]);
    } finally {
      await broken.stop();
    }
  });

  it('S3 stalled (accepts, never answers): 503 after the storage deadline, not a hang', async () => {
    const stalled = await stalledServer();
    const broken = await startTestGateway({ config: testConfig({ STORY42_S3_ENDPOINT: stalled.url, STORY42_STORAGE_TIMEOUT_MS: '300', STORY42_STORAGE_MAX_ATTEMPTS: '1' }) });
    try {
      const uri = `s3://${broken.platform.config.imagesBucket}/users/${broken.sub}/jobs/j1/segment_1.png`;
      const res = await broken.call('POST', routeNamed('regenerate_segment_image').path, { body: { user_request: 'night', original_segment_image_s3_uri: uri, job_id: jobId('stall') } });
      expect([res.status, res.body.error]).toEqual([503, 'Storage is unavailable; try again shortly']);
    } finally {
      await Promise.all([broken.stop(), stalled.close()]);
    }
  });

  it('Cognito\'s key set stalled: a 503 from the verifier, not a 401 and not a hang', async () => {
    const stalled = await stalledServer();
    try {
      const auth = testConfig().auth;
      if (!auth) throw new Error('no auth');
      const verifier = new TokenVerifier({ ...auth, jwksUri: `${stalled.url}/.well-known/jwks.json`, timeoutMs: 300 });
      await expect(verifier.verify(`Bearer ${await tokenFor()}`)).rejects.toMatchObject({ status: 503, headers: { 'Retry-After': expect.any(String) } });
    } finally {
      await stalled.close();
    }
  });
});

/** An illustrator whose panel 2 waits until released (to look at a job mid-request). */
class HeldIllustrator implements ImageModel {
  readonly provider = 'held-test-illustrator';
  private readonly inner = new OfflineIllustrator();
  release!: () => void;
  readonly released = new Promise<void>((r) => (this.release = r));
  reachedHold!: () => void;
  readonly holding = new Promise<void>((r) => (this.reachedHold = r));

  async generate(req: ImageRequest): Promise<GeneratedImage> {
    if (req.seed.endsWith(':2')) {
      this.reachedHold();
      await this.released;
    }
    return this.inner.generate(req);
  }

  edit(req: ImageEditRequest): Promise<GeneratedImage> {
    return this.inner.edit(req);
  }
}

describe('jobs stay consistent', () => {
  it('a call that stores artifacts is recorded incomplete before the first and completed after the last', async () => {
    const image = new HeldIllustrator();
    const held = await startTestGateway({ config: testConfig({ STORY42_IMAGE_CONCURRENCY: '1' }), parts: { image } });
    const job = jobId('consistent');
    try {
      const body = { story_segments: [1, 2].map((n) => ({ story_segment_content: `Panel ${n}: a boat.`, story_segment_number: n })), art_style: 'ink', number_of_panels: 2, job_id: job };
      const call = held.call('POST', routeNamed('generate_entire_story_image').path, { body });
      await image.holding;
      const during = (await held.call('GET', `/jobs/${job}`)).body.result as { status: string; records: Array<{ status: string }>; images: Array<{ s3_uri: string }> };
      expect(during.status).toBe('incomplete');
      expect(during.records.map((r) => r.status)).toEqual(['incomplete']);
      expect(during.images.map((i) => i.s3_uri.split('/').pop())).toEqual(['segment_1.png']);
      image.release();
      expect((await call).status).toBe(200);
      const after = (await held.call('GET', `/jobs/${job}`)).body.result as { status: string; records: Array<{ status: string }>; images: unknown[] };
      expect([after.status, after.records.map((r) => r.status), after.images.length]).toEqual(['complete', ['success'], 2]);
    } finally {
      image.release();
      await held.stop();
    }
  });

  it('GET /jobs/{job_id} is paginated: records and images each page with their own cursor, without repeats', async () => {
    const job = jobId('pages');
    for (let i = 0; i < 7; i++) expect((await gw.call('POST', routeNamed('generate_topics_ideas').path, { body: { genre: 'fiction', topics: `topic ${i}`, job_id: job } })).status).toBe(200);
    const panels = Array.from({ length: 5 }, (_, i) => ({ story_segment_content: `Panel ${i + 1}.`, story_segment_number: i + 1 }));
    expect((await gw.call('POST', routeNamed('generate_entire_story_image').path, { body: { story_segments: panels, art_style: 'ink', number_of_panels: 5, job_id: job } })).status).toBe(200);
    /** Follows one list's cursor to its end (a client pages records and images independently). */
    const follow = async <T>(cursorName: 'records' | 'images', pick: (r: Record<string, unknown>) => T[]): Promise<T[]> => {
      const seen: T[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 10; pages++) {
        const q = new URLSearchParams({ limit: '3', ...(cursor ? { [`${cursorName}_cursor`]: cursor } : {}) });
        const res = await gw.call('GET', `/jobs/${job}?${q}`);
        expect([res.status, res.body.error]).toEqual([200, undefined]);
        const page = res.body.result as Record<string, unknown>;
        const items = pick(page);
        expect(items.length).toBeLessThanOrEqual(3);
        seen.push(...items);
        cursor = page[`next_${cursorName}_cursor`] as string | null;
        if (!cursor) return seen;
      }
      throw new Error('more pages than there are items');
    };
    const records = await follow('records', (p) => (p.records as Array<{ request_id: string }>).map((r) => r.request_id));
    const images = await follow('images', (p) => (p.images as Array<{ s3_uri: string }>).map((i) => i.s3_uri));
    expect([records.length, new Set(records).size]).toEqual([8, 8]);
    expect([images.length, new Set(images).size]).toEqual([5, 5]);
    expect((await gw.call('GET', `/jobs/${job}?records_cursor=bm90LWEtY3Vyc29y`)).status).toBe(400);
  });

  it('a page of records never passes the byte budget that keeps answers under Lambda\'s 6 MB', async () => {
    const job = jobId('heavy');
    const segs = Array.from({ length: 40 }, (_, i) => ({ segment_num: i + 1, segment_content: `${'tale '.repeat(1_600)}${i}`, speaker: 'Narrator' }));
    const body = { genre: 'fantasy', reading_level: 'grade 3', tone: 'warm', job_id: job, user_request: 'add snow', original_story_segments: segs, original_story_segment_num: 1, original_story_segment: segs[0] };
    for (let i = 0; i < 16; i++) expect((await gw.call('POST', routeNamed('regenerate_story_segment').path, { body })).status).toBe(200);
    const res = await fetch(`${gw.url}/jobs/${job}?limit=50`, { headers: { Authorization: `Bearer ${await tokenFor()}` } });
    const text = await res.text();
    const page = JSON.parse(text) as { result: { records: unknown[]; next_records_cursor: string | null } };
    expect(Buffer.byteLength(text)).toBeLessThan(6 * 1024 * 1024);
    expect(page.result.records.length).toBeLessThan(16);
    expect(page.result.next_records_cursor).not.toBeNull();
  }, 60_000);
});
