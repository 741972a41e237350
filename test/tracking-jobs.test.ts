/**
 * Tracking rows in the sessions table (queried back through both GSIs) and the data-ops
 * routes over them.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDocumentClient } from '../src/aws/clients';
import { DynamoSessionStore, ROUTE_TIMESTAMP_INDEX, TIMESTAMP_INDEX } from '../src/aws/dynamo-session-store';
import { PlatformTelemetry } from '../src/platform/telemetry';
import { jobId, startTestGateway, testConfig, tokenFor, type TestGateway } from './support/local';
import { OTHER_USER } from './support/users';

let gw: TestGateway;
let sub: string;
beforeAll(async () => {
  gw = await startTestGateway();
  sub = gw.sub;
});
afterAll(() => gw.stop());

const doc = () => dynamoDocumentClient(testConfig());
const topics = (job: string) => ({ genre: 'fiction', topics: 'lighthouses', job_id: job });

describe('tracking', () => {
  it('records each call with the spec attributes, findable through TimestampIndex and RouteTimestampIndex', async () => {
    const job = jobId('track');
    const before = Date.now();
    const res = await gw.call('POST', '/generate-topics-ideas', { body: topics(job) });
    expect(res.status).toBe(200);
    const table = gw.platform.config.sessionsTable;

    const byUser = await doc().send(
      new QueryCommand({ TableName: table, IndexName: TIMESTAMP_INDEX, KeyConditionExpression: 'user_id = :u AND #t >= :t', ExpressionAttributeNames: { '#t': 'timestamp' }, ExpressionAttributeValues: { ':u': sub, ':t': before } }),
    );
    const row = byUser.Items?.find((i) => i.job_id === job);
    expect(row).toMatchObject({
      user_id: sub,
      route: 'generate_topics_ideas',
      request: topics(job),
      status: 'success',
      provider: 'offline-story-writer',
      request_id: res.body.request_id,
    });
    expect(String(row?.session_id)).toMatch(new RegExp(`^${job}#`));
    expect(typeof row?.timestamp).toBe('number');
    expect(Date.parse(String(row?.created_at))).toBe(row?.timestamp);
    expect((row?.response as Record<string, unknown>).subject_category).toBe((res.body.result as Record<string, unknown>).subject_category);
    expect(row?.usage).toEqual([expect.objectContaining({ model: 'offline-story-writer-v1', inputTokens: expect.any(Number), outputTokens: expect.any(Number) })]);

    const byRoute = await doc().send(
      new QueryCommand({ TableName: table, IndexName: ROUTE_TIMESTAMP_INDEX, KeyConditionExpression: '#r = :r AND #t >= :t', ExpressionAttributeNames: { '#r': 'route', '#t': 'timestamp' }, ExpressionAttributeValues: { ':r': 'generate_topics_ideas', ':t': before } }),
    );
    expect(byRoute.Items?.some((i) => i.job_id === job && i.user_id === sub)).toBe(true);
  });

  it('does not store presigned URLs in image tracking rows', async () => {
    const job = jobId('track');
    await gw.call('POST', '/generate-story-image', { body: { story_segments: [{ story_segment_content: 'A kite on a hill.', story_segment_number: 1 }], art_style: 'pixel', number_of_panels: 1, job_id: job } });
    const rec = (await gw.platform.jobs.get({ sub, email: '', username: '', groups: [] }, job)) as { records: Array<{ response: unknown }> };
    expect(JSON.stringify(rec.records[0]?.response)).toContain('image_s3_uri');
    expect(JSON.stringify(rec.records[0]?.response)).not.toContain('X-Amz-Signature');
  });

  it('a tracking failure is logged and counted, and the story still succeeds', async () => {
    const telemetry = new PlatformTelemetry({ service: 'test', format: 'silent', metrics: false });
    const config = testConfig();
    const broken = await startTestGateway({
      config,
      parts: { telemetry, sessions: new DynamoSessionStore(dynamoDocumentClient(config), 'no-such-table') },
    });
    try {
      const res = await broken.call('POST', '/generate-topics-ideas', { body: topics(jobId('track')) });
      expect(res.status).toBe(200);
      expect(telemetry.get('tracking_failures')).toBe(1);
      expect(telemetry.get('tracking_records')).toBe(0);
    } finally {
      await broken.stop();
    }
  });
});

describe('data-ops: GET /jobs, GET /jobs/{job_id}, DELETE /jobs/{job_id}', () => {
  it('lists the caller\'s jobs newest first, paginated without repeats', async () => {
    const other = await tokenFor(OTHER_USER);
    const jobs = [jobId('list'), jobId('list'), jobId('list')];
    for (const j of jobs) expect((await gw.call('POST', '/generate-topics-ideas', { token: other, body: topics(j) })).status).toBe(200);
    // More activity on the first job moves it to the front.
    expect((await gw.call('POST', '/generate-topics-ideas', { token: other, body: topics(jobs[0] as string) })).status).toBe(200);

    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const q: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : '?limit=2';
      const res = await gw.call('GET', `/jobs${q}`, { token: other });
      expect(res.status).toBe(200);
      expect(res.body.route).toBe('list_jobs');
      const result = res.body.result as { jobs: Array<{ job_id: string }>; next_cursor: string | null };
      expect(result.jobs.length).toBeLessThanOrEqual(2);
      seen.push(...result.jobs.map((j) => j.job_id));
      cursor = result.next_cursor;
      if (!cursor) break;
    }
    const ours = seen.filter((j) => jobs.includes(j));
    expect(ours).toEqual([jobs[0], jobs[2], jobs[1]]);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it.each([
    ['?limit=0', 'limit must be an integer between 1 and 100'],
    ['?limit=abc', 'limit must be an integer between 1 and 100'],
    ['?cursor=garbage', 'cursor is not valid'],
  ])('GET /jobs%s is a 400', async (q, message) => {
    const res = await gw.call('GET', `/jobs${q}`);
    expect(res.status).toBe(400);
    expect(String(res.body.error)).toContain(message);
  });

  it('rejects a cursor forged for another user', async () => {
    const forged = Buffer.from(JSON.stringify({ k: { user_id: 'someone-else', session_id: 'x', timestamp: 1 } })).toString('base64url');
    const res = await gw.call('GET', `/jobs?cursor=${forged}`);
    expect(res.status).toBe(400);
  });

  it('gets a job with its records and fresh image URLs, then deletes images and records', async () => {
    const job = jobId('del');
    await gw.call('POST', '/generate-topics-ideas', { body: topics(job) });
    await gw.call('POST', '/generate-story-image', {
      body: { story_segments: [1, 2].map((n) => ({ story_segment_content: `Scene ${n} with a red balloon.`, story_segment_number: n })), art_style: 'comic', number_of_panels: 2, job_id: job },
    });
    const got = await gw.call('GET', `/jobs/${job}`);
    expect(got.status).toBe(200);
    const result = got.body.result as { job_id: string; records: Array<{ route: string }>; images: Array<{ s3_uri: string; presigned_url: string }> };
    expect(result.job_id).toBe(job);
    expect(result.records.map((r) => r.route)).toEqual(['generate_topics_ideas', 'generate_entire_story_image']);
    expect(result.images.map((i) => i.s3_uri.split('/').pop()).sort()).toEqual(['segment_1.png', 'segment_2.png']);
    expect((await fetch(result.images[0]?.presigned_url ?? '')).status).toBe(200);

    const del = await gw.call('DELETE', `/jobs/${job}`);
    expect(del.status).toBe(200);
    expect(del.body.result).toEqual({ job_id: job, deleted_images: 2, deleted_audio: 0, deleted_records: 2 });
    expect((await fetch(result.images[0]?.presigned_url ?? '')).status).toBe(404);
    expect((await gw.call('GET', `/jobs/${job}`)).status).toBe(404);
    const listed = await gw.call('GET', '/jobs?limit=100');
    expect((listed.body.result as { jobs: Array<{ job_id: string }> }).jobs.map((j) => j.job_id)).not.toContain(job);
  });

  it('404 for an unknown job, 400 for a malformed job id', async () => {
    expect((await gw.call('GET', '/jobs/never-made-this-one')).status).toBe(404);
    expect((await gw.call('GET', '/jobs/a%23b')).status).toBe(400);
  });
});
