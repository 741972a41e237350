/**
 * The story agent end to end: the Strands agent (its Bedrock model played by the local Bedrock
 * server, over the real ConverseStream wire format) behind the local gateway's agent routes,
 * the story core with the offline engines, sessions in the suite's S3 and DynamoDB.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { s3Client } from '../src/aws/clients';
import { sessionPrefix } from '../src/core/artifacts';
import { LocalBedrockServer } from '../src/local/bedrock-server';
import { localStoryAgent } from '../src/local/story-agent';
import { LocalDuckDuckGoServer } from '../src/local/duckduckgo-server';
import type { Config } from '../src/platform/config';
import { startTestGateway, testConfig, tokenFor, type TestGateway } from './support/local';
import { readEvents, type SseEvent } from './support/sse';
import { OTHER_USER } from './support/users';

const model = new LocalBedrockServer();
let config: Config;
let gw: TestGateway;

async function agentGateway(cfg: Config): Promise<TestGateway> {
  return startTestGateway({ config: cfg, parts: { agent: localStoryAgent(cfg, 'local Bedrock server') } });
}

beforeAll(async () => {
  const url = await model.listen();
  config = testConfig({ STORY42_AGENT_BEDROCK_ENDPOINT: url, STORY42_MODEL_MAX_ATTEMPTS: '2', STORY42_MODEL_BACKOFF_MS: '1', STORY42_MODEL_MAX_BACKOFF_MS: '5' });
  gw = await agentGateway(config);
});
afterAll(async () => {
  await gw.stop();
  await model.close();
});

async function newSession(g: TestGateway = gw): Promise<string> {
  const res = await g.call('POST', '/agent/sessions', { body: { title: 'bees' } });
  expect(res.status).toBe(200);
  const result = res.body.result as { session_id: string };
  return result.session_id;
}

const say = (g: TestGateway, id: string, message: string) => readEvents(`${g.url}/agent/sessions/${id}/messages`, { message });
const named = (events: SseEvent[], name: string) => events.filter((e) => e.event === name);

async function storyState(sub: string, id: string): Promise<Record<string, unknown>> {
  const out = await s3Client(config).send(new GetObjectCommand({ Bucket: config.imagesBucket, Key: `${sessionPrefix(sub, id)}artifacts/story.json` }));
  return JSON.parse(await (out.Body as { transformToString(): Promise<string> }).transformToString()) as Record<string, unknown>;
}

describe('the story agent', () => {
  let id: string;
  let first: SseEvent[];

  beforeAll(async () => {
    id = await newSession();
    const res = await say(gw, id, 'Make me a 6-panel illustrated non-fiction story about how bees make honey for grade 3, and narrate it.');
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/text\/event-stream/);
    first = res.events;
  }, 120_000);

  it('researches with sources, writes, draws six panels and narrates, streaming each step', () => {
    const calls = named(first, 'tool_call').map((e) => e.data.tool);
    expect(calls).toEqual(['web_search', 'write_story', 'narrate_story']);
    const sources = named(first, 'sources')[0]?.data as { status: string; results: Array<{ url: string }> };
    expect(sources.status).toBe('ok');
    expect(sources.results.length).toBeGreaterThan(0);
    expect(sources.results.every((r) => /^https?:\/\//.test(r.url))).toBe(true);
    const images = named(first, 'media').filter((e) => e.data.kind === 'image');
    expect(new Set(images.map((e) => e.data.panel))).toEqual(new Set([1, 2, 3, 4, 5, 6]));
    expect(images.every((e) => typeof e.data.url === 'string' && String(e.data.s3_uri).endsWith('.png'))).toBe(true);
    const audio = named(first, 'media').filter((e) => e.data.kind === 'audio');
    expect(audio.length).toBeGreaterThan(1);
    expect(audio.some((e) => e.data.section === null && String(e.data.s3_uri).endsWith('story.mp3'))).toBe(true);
    expect(named(first, 'text').map((e) => e.data.delta).join('').length).toBeGreaterThan(0);
    const done = named(first, 'result')[0]?.data.result as { text: string; story: string; story_job_id: string | null; model: string; session: { message_count: number } };
    expect(done.model).toMatch(/local Bedrock server/);
    expect(done.story).toMatch(/pictures for panels 1, 2, 3, 4, 5, 6/);
    expect(done.story).toMatch(/narrated/);
    expect(done.session.message_count).toBeGreaterThan(2);
    expect(done.session).toMatchObject({ title: 'bees' });
    expect(named(first, 'artifact').some((e) => e.data.path === 'story.json')).toBe(true);
  });

  it("names the story's job in the turn's result and in the session view (one read of the story serves both)", async () => {
    const state = await storyState(gw.sub, id);
    const done = named(first, 'result')[0]?.data.result as { story_job_id: string | null };
    expect(done.story_job_id).toBe(state.job_id);
    const got = await gw.call('GET', `/agent/sessions/${id}`);
    expect((got.body.result as { story: string; story_job_id: string | null }).story_job_id).toBe(state.job_id);
    expect(typeof state.job_id).toBe('string');
  });

  it("lists the research as the story's sources", async () => {
    const state = await storyState(gw.sub, id);
    const sources = state.sources as Array<{ url: string }>;
    const found = named(first, 'sources')[0]?.data as { results: Array<{ url: string }> };
    expect(sources.map((s) => s.url)).toEqual(expect.arrayContaining(found.results.map((r) => r.url)));
    expect(state.request).toMatchObject({ genre: 'non-fiction', reading_level: 'grade 3', panels: 6 });
  });

  it('changes only panel 2 for "make panel 2 at night"', async () => {
    const before = (await storyState(gw.sub, id)).panels as Record<string, { s3_uri: string }>;
    const res = await say(gw, id, 'make panel 2 at night');
    expect(named(res.events, 'tool_call').map((e) => e.data.tool)).toEqual(['redraw_panel']);
    const images = named(res.events, 'media');
    expect(images.map((e) => e.data.panel)).toEqual([2]);
    const after = (await storyState(gw.sub, id)).panels as Record<string, { s3_uri: string }>;
    expect(after['2']?.s3_uri).not.toBe(before['2']?.s3_uri);
    expect(after['2']?.s3_uri).toMatch(/segment_2_regenerated_\d+\.png$/);
    for (const n of ['1', '3', '4', '5', '6']) expect(after[n]).toEqual(before[n]);
  });

  it('survives a restart: a new process reads the conversation and continues it', async () => {
    const again = await agentGateway(config);
    try {
      const got = await again.call('GET', `/agent/sessions/${id}`);
      expect(got.status).toBe(200);
      const body = got.body.result as { messages: Array<{ role: string; text: string; tools: string[] }>; artifacts: Array<{ path: string; url: string }> };
      expect(body.messages[0]).toMatchObject({ role: 'user', text: expect.stringMatching(/bees make honey/) });
      expect(body.messages.flatMap((m) => m.tools)).toEqual(expect.arrayContaining(['web_search', 'write_story', 'narrate_story', 'redraw_panel']));
      expect(body.artifacts.map((a) => a.path)).toEqual(expect.arrayContaining(['story.json', 'research/sources.json']));
      const res = await say(again, id, 'make panel 5 brighter');
      expect(named(res.events, 'tool_call').map((e) => e.data.tool)).toEqual(['redraw_panel']);
      expect(named(res.events, 'media').map((e) => e.data.panel)).toEqual([5]);
      // The turn ran on the persisted conversation: the saved one still starts with the first request.
      const after = (await again.call('GET', `/agent/sessions/${id}`)).body.result as { messages: Array<{ role: string; text: string }> };
      expect(after.messages[0]?.text).toMatch(/bees make honey/);
      expect(after.messages.filter((m) => m.role === 'user' && m.text).map((m) => m.text)).toEqual([expect.stringMatching(/bees/), 'make panel 2 at night', 'make panel 5 brighter']);
    } finally {
      await again.stop();
    }
  });

  it("refuses another user's session (403) and lists only the caller's", async () => {
    const other = await tokenFor(OTHER_USER);
    for (const [method, path, body] of [
      ['GET', `/agent/sessions/${id}`, undefined],
      ['DELETE', `/agent/sessions/${id}`, undefined],
      ['POST', `/agent/sessions/${id}/messages`, { message: 'make panel 1 at night' }],
    ] as const) {
      const res = await gw.call(method, path, { token: other, body });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 403 });
    }
    const mine = await gw.call('GET', '/agent/sessions');
    expect((mine.body.result as { sessions: Array<{ session_id: string }> }).sessions.map((s) => s.session_id)).toContain(id);
    const theirs = await gw.call('GET', '/agent/sessions', { token: other });
    expect((theirs.body.result as { sessions: Array<{ session_id: string }> }).sessions.map((s) => s.session_id)).not.toContain(id);
  });
});

describe('the agent routes', () => {
  it('are 401 without a token, 400 for a bad id or message, 404 for nobody\'s session', async () => {
    expect((await gw.call('POST', '/agent/sessions', { token: null, body: {} })).status).toBe(401);
    expect((await gw.call('GET', '/agent/sessions/not-a-session')).status).toBe(400);
    const id = await newSession();
    for (const body of [{}, { message: '' }, { message: 'x'.repeat(4001) }, { message: 42 }]) {
      expect((await gw.call('POST', `/agent/sessions/${id}/messages`, { body })).status).toBe(400);
    }
    expect((await gw.call('GET', '/agent/sessions?limit=0')).status).toBe(400);
    expect((await gw.call('GET', '/agent/sessions/s000000000-00000000')).status).toBe(404);
  });

  it('a session without a title is named after its first message; delete removes it and its files', async () => {
    const id = ((await gw.call('POST', '/agent/sessions', { body: {} })).body.result as { session_id: string; title: string }).session_id;
    const res = await gw.call('POST', `/agent/sessions/${id}/messages`, { body: { message: 'Write an outline for a story about a brave snail.' } });
    expect(res.status).toBe(200);
    expect((res.body.result as { session: { title: string } }).session.title).toBe('Write an outline for a story about a brave snail.');
    const del = await gw.call('DELETE', `/agent/sessions/${id}`);
    expect(del.status).toBe(200);
    expect((del.body.result as { deleted_objects: number }).deleted_objects).toBeGreaterThan(1);
    expect((await gw.call('GET', `/agent/sessions/${id}`)).status).toBe(404);
  });
});

describe("when the agent's model fails", () => {
  it('answers 503 with Retry-After when it is down, 429 when it throttles (JSON), and an SSE error event', async () => {
    const id = await newSession();
    model.knobs.failures = Array(20).fill('ServiceUnavailableException');
    const down = await gw.call('POST', `/agent/sessions/${id}/messages`, { body: { message: 'Write an outline for a story about a kite.' } });
    expect(down.status).toBe(503);
    expect(Number(down.headers.get('retry-after'))).toBeGreaterThan(0);
    model.knobs.failures = Array(20).fill('ThrottlingException');
    const busy = await gw.call('POST', `/agent/sessions/${id}/messages`, { body: { message: 'Write an outline for a story about a kite.' } });
    expect(busy.status).toBe(429);
    model.knobs.failures = Array(20).fill('ServiceUnavailableException');
    const sse = await say(gw, id, 'Write an outline for a story about a kite.');
    expect(named(sse.events, 'error')[0]?.data).toMatchObject({ status: 503, retry_after: expect.any(Number) });
    model.knobs.failures = [];
    // The session still works afterwards.
    expect((await gw.call('POST', `/agent/sessions/${id}/messages`, { body: { message: 'Write an outline for a story about a kite.' } })).status).toBe(200);
  });
});

describe('when web search is rate-limited', () => {
  const ddg = new LocalDuckDuckGoServer();
  let g: TestGateway;
  beforeAll(async () => {
    const proxy = await ddg.listen();
    g = await agentGateway({ ...config, search: { ...config.search, provider: 'duckduckgo', duckduckgoProxy: proxy, budgetPerMinute: 100 } });
  });
  afterAll(async () => {
    await g.stop();
    await ddg.close();
  });

  it('tells the user search is unavailable and still writes the story', async () => {
    ddg.knobs.rateLimit = 100;
    const id = await newSession(g);
    const res = await say(g, id, 'Make a 3-panel non-fiction story about how volcanoes erupt for grade 4.');
    const sources = named(res.events, 'sources')[0]?.data as { status: string; reason: string };
    expect(sources.status).toBe('unavailable');
    expect(ddg.counters.rateLimited).toBeGreaterThan(0);
    expect(named(res.events, 'tool_call').map((e) => e.data.tool)).toEqual(['web_search', 'write_story']);
    const done = named(res.events, 'result')[0]?.data.result as { text: string };
    expect(done.text).toMatch(/search is unavailable/i);
  });
});
