/**
 * Server-Sent Events on /generate-story and /generate-story-image: event order, text deltas
 * from ConverseStream, panels as they are stored, the final envelope, and cancellation when
 * the client goes away. Through the local gateway and through the Express agent.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createAgentApp } from '../../agent/app';
import { lambdaHandler } from '../../src/lambda/adapter';
import { LocalBedrockServer } from '../../src/local/bedrock-server';
import { invokeStreaming } from '../../src/local/lambda-invoke';
import { createLocalPlatform } from '../../src/local/providers';
import { TokenVerifier } from '../../src/platform/auth';
import { jobId, quietTelemetry, startTestGateway, testConfig, type TestGateway } from '../support/local';
import { parseEvents, readEvents } from '../support/sse';

const bedrock = new LocalBedrockServer();
let gw: TestGateway;
let agent: Server;
let agentUrl: string;

const outline = ['beginning', 'middle', 'end'].map((p) => ({ story_part: p, story_part_summary: `The ${p} of the trip.`, story_part_speakers: ['Narrator', 'Mira'] }));
const storyBody = () => ({ genre: 'adventure', reading_level: 'grade 4', tone: 'brave', story_type: 'visual', panels: 3, number_of_speakers: 2, story_outline_description: outline, job_id: jobId('sse') });
const imageBody = () => ({
  story_segments: [1, 2, 3].map((n) => ({ story_segment_content: `Panel ${n}: a red kite over hill ${n}.`, story_segment_number: n })),
  art_style: 'pastel',
  number_of_panels: 3,
  job_id: jobId('sse'),
});

beforeAll(async () => {
  const endpoint = await bedrock.listen();
  const config = testConfig({ STORY42_TEXT_PROVIDER: 'bedrock', STORY42_BEDROCK_ENDPOINT: endpoint, STORY42_MODEL_BACKOFF_MS: '1' });
  gw = await startTestGateway({ config });
  if (!config.auth) throw new Error('no auth');
  const app = createAgentApp({ platform: createLocalPlatform(config, { telemetry: quietTelemetry() }), verifier: new TokenVerifier(config.auth) });
  agent = app.listen(0, '127.0.0.1');
  await new Promise((r) => agent.once('listening', r));
  agentUrl = `http://127.0.0.1:${(agent.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await gw.stop();
  await new Promise((r) => agent.close(r));
  await bedrock.close();
});
beforeEach(() => bedrock.reset());

describe.each([
  ['local gateway', () => gw.url],
  ['story agent', () => agentUrl],
])('SSE through the %s', (_name, base) => {
  it('/generate-story: progress, text deltas from ConverseStream, then the envelope', async () => {
    const { status, contentType, events } = await readEvents(`${base()}/generate-story`, storyBody());
    expect(status).toBe(200);
    expect(contentType).toMatch(/^text\/event-stream/);
    const names = events.map((e) => e.event);
    expect(names[0]).toBe('progress');
    expect(events[1]).toEqual({ event: 'progress', data: { stage: 'writing', detail: null } });
    expect(names.filter((n) => n === 'delta').length).toBeGreaterThan(0);
    expect(names.at(-1)).toBe('result');
    expect(names.indexOf('delta')).toBeLessThan(names.indexOf('result'));
    const envelope = events.at(-1)?.data as { success: boolean; route: string; result: { story_parts: unknown[] } };
    expect(envelope).toMatchObject({ success: true, route: 'generate_entire_story' });
    expect(envelope.result.story_parts).toHaveLength(3);
    expect(bedrock.counters.converseStream).toBe(1);
    // Deltas are prose, segment by segment — never JSON fragments.
    const deltas = events.filter((e) => e.event === 'delta').map((e) => e.data as { text: string; field: string; segment: number });
    expect(deltas.every((d) => d.field === 'segment_content' && d.segment >= 1 && !/[{}"]|segment_content/.test(d.text))).toBe(true);
    const segments = (envelope.result.story_parts as Array<{ sections: Array<{ segments: Array<{ segment_num: number; segment_content: string }> }> }>).flatMap((p) => p.sections.flatMap((s) => s.segments));
    expect(segments.length).toBeGreaterThan(2);
    for (const seg of segments) {
      expect([seg.segment_num, deltas.filter((d) => d.segment === seg.segment_num).map((d) => d.text).join('')]).toEqual([seg.segment_num, seg.segment_content]);
    }
  });

  it('/generate-story-image: each panel as soon as it is stored, then the envelope', async () => {
    const { events } = await readEvents(`${base()}/generate-story-image`, imageBody());
    const panels = events.filter((e) => e.event === 'panel');
    expect(panels.map((p) => p.data.panel)).toEqual([1, 2, 3]);
    for (const p of panels) expect(p.data).toMatchObject({ of: 3, story_segment: { image_s3_uri: expect.stringMatching(/^s3:\/\//) } });
    // Each panel event names its story segment, whatever order the panels finish in.
    expect(panels.map((p) => p.data.story_segment_number).sort()).toEqual([1, 2, 3]);
    for (const p of panels) expect((p.data.story_segment as { story_segment_number: number }).story_segment_number).toBe(p.data.story_segment_number);
    expect(events.at(-1)?.event).toBe('result');
    expect((events.at(-1)?.data as { result: { story_segments: unknown[] } }).result.story_segments).toHaveLength(3);
  });

  it('broken JSON from the stream is repaired by asking again', async () => {
    bedrock.knobs.malformed = 1;
    const { events } = await readEvents(`${base()}/generate-story`, storyBody());
    expect(events.at(-1)?.event).toBe('result');
    expect(events.filter((e) => e.event === 'progress' && e.data.stage === 'writing').map((e) => e.data.detail)).toEqual([null, 'attempt 2']);
    expect(bedrock.counters.converseStream).toBe(2);
  });

  it('persistent throttling ends the stream with a 429 error event carrying Retry-After', async () => {
    bedrock.knobs.failures = Array(4).fill('ThrottlingException');
    const { events } = await readEvents(`${base()}/generate-story`, storyBody());
    expect(events.at(-1)).toEqual({ event: 'error', data: { status: 429, error: expect.stringContaining('throttling'), request_id: expect.any(String), retry_after: expect.any(Number) } });
    expect(bedrock.counters.converseStream).toBe(4);
  });

  it('reports a bad request as an error event with the spec body', async () => {
    const { events } = await readEvents(`${base()}/generate-story`, { genre: 'x' });
    expect(events.at(-1)).toEqual({ event: 'error', data: expect.objectContaining({ status: 400, error: expect.stringContaining('Missing required parameters') }) });
  });

  it('a client that goes away cancels the model call', async () => {
    bedrock.knobs.firstTokenMs = 10_000;
    const received = new Promise<void>((resolve) => bedrock.events.once('request', () => resolve()));
    const { events } = await readEvents(`${base()}/generate-story`, storyBody(), {
      stopAfter: (e) => e.event === 'progress' && e.data.stage === 'writing',
      beforeAbort: () => received,
    });
    expect(events.map((e) => e.event)).toEqual(['progress', 'progress']);
    await bedrock.abortedCalls(1);
    expect(bedrock.counters).toMatchObject({ converseStream: 1, aborted: 1 });
  });
});

describe('the Lambda handler, invoked as API Gateway response streaming invokes it', () => {
  const event = (accept: string | undefined, requestId: string) => ({
    resource: '/generate-story',
    path: '/generate-story',
    httpMethod: 'POST',
    headers: { ...(accept ? { Accept: accept } : {}), 'Content-Type': 'application/json' },
    body: JSON.stringify(storyBody()),
    isBase64Encoded: false,
    requestContext: { requestId, authorizer: { claims: { sub: 'lambda-user-1', email: 'l@example.com', 'cognito:username': 'l', 'cognito:groups': 'user' } } },
  });
  const read = async (body: NodeJS.ReadableStream) => {
    let text = '';
    for await (const chunk of body) text += String(chunk);
    return text;
  };

  it('streams Server-Sent Events after the HTTP prelude when the client asks for them', async () => {
    const handler = lambdaHandler('text-regen', () => gw.platform);
    const res = await invokeStreaming(handler, event('text/event-stream', 'lambda-sse-test'), { requestId: 'lambda-sse-test', functionName: 'text-regen' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['Content-Type']).toMatch(/^text\/event-stream/);
    const events = parseEvents(await read(res.body));
    await res.done;
    expect(events[0]).toEqual({ event: 'progress', data: { stage: 'accepted', detail: 'generate_entire_story' } });
    expect(events.some((e) => e.event === 'delta')).toBe(true);
    expect(events.at(-1)).toMatchObject({ event: 'result', data: { success: true, route: 'generate_entire_story', request_id: 'lambda-sse-test', authenticated_user: { sub: 'lambda-user-1' } } });
    expect(bedrock.counters).toMatchObject({ converse: 0, converseStream: 1 });
  });

  it('answers plain JSON (v1.2) when the client does not ask for a stream', async () => {
    const handler = lambdaHandler('text-regen', () => gw.platform);
    const res = await invokeStreaming(handler, event(undefined, 'lambda-json-test'), { requestId: 'lambda-json-test', functionName: 'text-regen' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['Content-Type']).toBe('application/json');
    expect(JSON.parse(await read(res.body))).toMatchObject({ success: true, route: 'generate_entire_story', request_id: 'lambda-json-test' });
    expect(bedrock.counters).toMatchObject({ converse: 1, converseStream: 0 });
  });

  it('a route of another Lambda is a 404 from this one', async () => {
    const handler = lambdaHandler('image-regen', () => gw.platform);
    const res = await invokeStreaming(handler, event(undefined, 'lambda-404-test'), { requestId: 'lambda-404-test', functionName: 'image-regen' });
    expect([res.statusCode, JSON.parse(await read(res.body))]).toEqual([404, { error: 'No route for POST /generate-story', request_id: 'lambda-404-test' }]);
  });
});
