/**
 * The story agent's tools, one by one, without the agent loop: each is the route table's own
 * call (validated, tracked, owned) on the suite's S3 and DynamoDB with the offline engines.
 */
import { dynamoDocumentClient, s3Client } from '../src/aws/clients';
import { DynamoSessionStore } from '../src/aws/dynamo-session-store';
import { S3AgentSessionStore } from '../src/aws/s3-agent-sessions';
import { AGENT_TOOL, agentToolInputs, agentSystemPrompt } from '../src/core/agent-prompt';
import { AgentToolbox, STORY_STATE_FILE, type AgentEvent, type AgentTool } from '../src/core/agent-tools';
import { HttpError } from '../src/core/errors';
import { routeNamed } from '../src/core/routes';
import type { Caller, WebSearch } from '../src/core/ports';
import { LocalDuckDuckGoServer } from '../src/local/duckduckgo-server';
import { createLocalPlatform, LOCAL_SEARCH } from '../src/local/providers';
import { DEMO_USER } from '../src/local/services';
import type { Platform } from '../src/platform/platform';
import { webSearchFor } from '../src/platform/search-providers';
import { claimsOf, quietTelemetry, testConfig, tokenFor } from './support/local';
import { OTHER_USER } from './support/users';

const config = testConfig();
let platform: Platform;
let store: S3AgentSessionStore;
let me: Caller;
let them: Caller;

const callerOf = async (user = DEMO_USER): Promise<Caller> => {
  const c = claimsOf(await tokenFor(user));
  return { sub: String(c.sub), email: String(c.email ?? ''), username: String(c['cognito:username'] ?? c.sub), groups: [] };
};

beforeAll(async () => {
  const telemetry = quietTelemetry();
  platform = createLocalPlatform(config, { telemetry });
  store = new S3AgentSessionStore(s3Client(config), config.imagesBucket, new DynamoSessionStore(dynamoDocumentClient(config), config.sessionsTable, 0), { now: () => Date.now() }, 3600);
  me = await callerOf();
  them = await callerOf(OTHER_USER);
});

interface Harness {
  box: AgentToolbox;
  events: AgentEvent[];
  background: Array<Promise<unknown>>;
  sessionId: string;
  tool(name: string): AgentTool;
}

async function harness(caller: Caller = me, search: WebSearch = webSearchFor(config, quietTelemetry(), LOCAL_SEARCH), sessionId?: string): Promise<Harness> {
  const id = sessionId ?? (await store.create(caller.sub, 'tools')).session_id;
  const events: AgentEvent[] = [];
  const background: Array<Promise<unknown>> = [];
  const box = new AgentToolbox(
    { services: platform.services, sessions: store, search, newId: () => `agent-tools-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`, presignSeconds: 3600 },
    { caller, sessionId: id, requestId: 'test', signal: new AbortController().signal, emit: (e) => void events.push(e), background: (_l, w) => void background.push(w) },
  );
  const tools = box.tools();
  return { box, events, background, sessionId: id, tool: (name) => tools.find((t) => t.name === name) as AgentTool };
}

const brief = { genre: 'fiction', reading_level: 'grade 2', tone: 'playful', story_type: 'visual', number_of_speakers: 2, panels: 4, idea: 'A snail who wants to see the sea.' };

describe('the tool list', () => {
  it('has every tool of the contract, each with a description and a schema, and the prompt names the state', async () => {
    const h = await harness();
    expect(h.box.tools().map((t) => t.name).sort()).toEqual(Object.values(AGENT_TOOL).sort());
    for (const t of h.box.tools()) expect(t.description.length).toBeGreaterThan(20);
    const system = await agentSystemPrompt(platform.prompts, 'no story yet.');
    expect(system.text).toMatch(/Current session: no story yet\.$/);
    expect(system.use).toEqual({ prompt: 'story-agent/system', version: expect.any(String), source: expect.stringMatching(/^(s3|fallback)$/) });
  });

  it('refuses input its schema refuses, before any work (400)', async () => {
    const h = await harness();
    await expect(h.tool('web_search').run({ query: '' })).rejects.toMatchObject({ status: 400 });
    await expect(h.tool('redraw_panel').run({ panel: 0, request: 'x' })).rejects.toMatchObject({ status: 400 });
    await expect(h.tool('write_artifact').run({ path: 'a.md', content: 'x'.repeat(200_001) })).rejects.toMatchObject({ status: 400 });
    expect(agentToolInputs.write_story.safeParse({ ...brief, panels: 99 }).success).toBe(false);
  });
});

describe('web_search', () => {
  it('answers titles, URLs and snippets, reports the sources and keeps them for the story', async () => {
    const h = await harness();
    const out = (await h.tool('web_search').run({ query: 'how bees make honey' })) as { status: string; results: Array<{ title: string; url: string; snippet: string }> };
    expect(out.status).toBe('ok');
    expect(out.results.length).toBeGreaterThan(0);
    expect(out.results[0]).toEqual({ title: expect.any(String), url: expect.stringMatching(/^https?:\/\//), snippet: expect.any(String) });
    expect(h.events.find((e) => e.event === 'sources')?.data).toMatchObject({ status: 'ok', engine: 'offline-search-index' });
    const saved = await store.readArtifact(me.sub, h.sessionId, 'research/sources.json');
    expect(JSON.parse(Buffer.from(saved.bytes).toString('utf8'))).toEqual(expect.arrayContaining([expect.objectContaining({ url: out.results[0]?.url })]));
  });

  it('passes "unavailable" on as an answer, not a failure (DuckDuckGo rate-limiting, through the local DuckDuckGo server)', async () => {
    const ddg = new LocalDuckDuckGoServer();
    const proxy = await ddg.listen();
    try {
      ddg.knobs.rateLimit = 100;
      const h = await harness(me, webSearchFor({ ...config, search: { ...config.search, provider: 'duckduckgo', duckduckgoProxy: proxy } }, quietTelemetry()));
      const out = (await h.tool('web_search').run({ query: `volcanoes ${process.pid} ${Date.now()}` })) as { status: string; reason: string; engine: string };
      expect(out).toEqual({ status: 'unavailable', reason: expect.stringMatching(/\w/), engine: 'duckduckgo' });
      expect(ddg.counters.rateLimited).toBeGreaterThan(0);
      expect(h.events[0]).toMatchObject({ event: 'sources', data: { status: 'unavailable' } });
    } finally {
      await ddg.close();
    }
  });
});

describe('the story tools', () => {
  let h: Harness;
  let jobId: string;

  beforeAll(async () => {
    h = await harness();
    await h.tool('web_search').run({ query: 'how bees make honey' });
    const out = (await h.tool('write_story').run({ ...brief, illustrate: true, art_style: 'crayon' })) as { job_id: string; sections: number; panels_illustrating: number; sources: number; story: string };
    jobId = out.job_id;
    expect(out.sections).toBeGreaterThanOrEqual(4);
    expect(out.panels_illustrating).toBe(4);
    expect(out.sources).toBeGreaterThan(0);
    expect(out.story).toMatch(/Section 1: /);
    await Promise.all(h.background);
  }, 60_000);

  it('topic_ideas and outline_story are the routes\' calls', async () => {
    const topics = await h.tool('topic_ideas').run({ genre: 'non-fiction', topics: 'bees' });
    expect(topics).toMatchObject({ subject_category: expect.any(String), metadata: expect.objectContaining({ user_id: me.sub }) });
    const outline = (await h.tool('outline_story').run(brief)) as { story_parts: unknown[] };
    expect(outline.story_parts).toHaveLength(3);
  });

  it('write_story draws every panel as its section is written and keeps the story in the session', async () => {
    const images = h.events.filter((e) => e.event === 'media' && e.data.kind === 'image');
    expect(images.map((e) => e.data.panel).sort()).toEqual([1, 2, 3, 4]);
    const written = h.events.filter((e) => e.event === 'tool_progress' && e.data.stage === 'section written');
    expect(written.length).toBeGreaterThanOrEqual(4);
    const state = await h.box.currentStory();
    expect(state?.job_id).toBe(jobId);
    expect(Object.keys(state?.panels ?? {}).sort()).toEqual(['1', '2', '3', '4']);
    expect(state?.sources.length).toBeGreaterThan(0);
    // The story lists its sources in its metadata (and its tracked record).
    const job0 = (await platform.services.jobs.get(me, jobId, {})) as { records: Array<{ route: string; response: { metadata?: { sources?: unknown } } }> };
    expect(job0.records.find((r) => r.route === 'generate_entire_story')?.response.metadata?.sources).toEqual(state?.sources);
    const job = await platform.services.jobs.get(me, jobId, {});
    expect((job as { records: Array<{ route: string; status: string }> }).records.map((r) => [r.route, r.status])).toEqual(
      expect.arrayContaining([
        ['generate_entire_story', 'success'],
        ['generate_entire_story_image', 'success'],
      ]),
    );
  });

  it('rewrite_segment changes one segment only', async () => {
    const before = structuredClone(await h.box.currentStory());
    const out = (await h.tool('rewrite_segment').run({ segment_number: 2, request: 'make it funnier' })) as { text: string };
    const after = await h.box.currentStory();
    const flat = (s: typeof after) => s?.story_parts.flatMap((p) => p.sections.flatMap((x) => x.segments)) ?? [];
    const changed = flat(after).filter((g, i) => g.segment_content !== flat(before)[i]?.segment_content);
    expect(changed).toHaveLength(1);
    expect(changed[0]?.segment_num).toBe(2);
    expect(changed[0]?.segment_content).toBe(out.text);
    await expect(h.tool('rewrite_segment').run({ segment_number: 9999, request: 'x' })).rejects.toMatchObject({ status: 400 });
  });

  it('redraw_panel replaces one picture; illustrate_story draws them all again', async () => {
    const before = structuredClone((await h.box.currentStory())?.panels);
    const out = (await h.tool('redraw_panel').run({ panel: 3, request: 'at night' })) as { s3_uri: string };
    const after = (await h.box.currentStory())?.panels;
    expect(after?.['3']?.s3_uri).toBe(out.s3_uri);
    expect(out.s3_uri).toMatch(/segment_3_regenerated_\d+\.png$/);
    expect({ ...after, 3: undefined }).toEqual({ ...before, 3: undefined });
    await expect(h.tool('redraw_panel').run({ panel: 11, request: 'x' })).rejects.toMatchObject({ status: 400 });
    const all = (await h.tool('illustrate_story').run({ panels: 3 })) as { panels: number };
    expect(all.panels).toBe(3);
  });

  it('narrate_story speaks the story and records it', async () => {
    const out = (await h.tool('narrate_story').run({})) as { sections: number; total_seconds: number };
    expect(out.sections).toBeGreaterThanOrEqual(4);
    expect(out.total_seconds).toBeGreaterThan(1);
    expect((await h.box.currentStory())?.narration?.story_uri).toMatch(/story\.mp3$/);
    expect(await h.box.summary()).toMatch(/narrated/);
  }, 60_000);

  it("the image routes refuse a picture kept as a session file (only the caller's story images)", async () => {
    await h.tool('write_artifact').run({ path: 'segment_1.png', content: 'not a picture' });
    const uri = `s3://${config.imagesBucket}/users/${me.sub}/sessions/${h.sessionId}/artifacts/segment_1.png`;
    const call = routeNamed('regenerate_segment_image').handle(platform.services, { body: { user_request: 'x', original_segment_image_s3_uri: uri, job_id: jobId }, query: {}, params: {} }, { caller: me, requestId: 'test' });
    await expect(call).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/story image of one of your jobs/) });
  });

  it('a new turn (another process) finds the story in the session', async () => {
    const again = await harness(me, undefined, h.sessionId);
    expect((await again.box.currentStory())?.job_id).toBe(jobId);
  });

  it('another user cannot reach the session through the tools (403)', async () => {
    const intruder = await harness(them, undefined, h.sessionId);
    await expect(intruder.tool('redraw_panel').run({ panel: 1, request: 'x' })).rejects.toMatchObject({ status: 403 });
    await expect(intruder.tool('read_artifact').run({ path: STORY_STATE_FILE })).rejects.toMatchObject({ status: 403 });
    await expect(intruder.tool('write_artifact').run({ path: 'x.md', content: 'x' })).rejects.toMatchObject({ status: 403 });
  });
});

describe('the artifact tools', () => {
  it('write, read and list text files, with URLs reported', async () => {
    const h = await harness();
    await expect(h.tool('write_artifact').run({ path: 'notes/bees.md', content: '# Bees\nThey dance.' })).resolves.toMatchObject({ path: 'notes/bees.md', content_type: 'text/markdown' });
    expect(h.events.find((e) => e.event === 'artifact')?.data).toMatchObject({ path: 'notes/bees.md', url: expect.stringMatching(/^http/) });
    await expect(h.tool('read_artifact').run({ path: 'notes/bees.md' })).resolves.toMatchObject({ content: '# Bees\nThey dance.', truncated: false });
    await expect(h.tool('list_artifacts').run({})).resolves.toEqual({ artifacts: [{ path: 'notes/bees.md', size: 18, content_type: 'text/markdown' }] });
  });

  it('refuses path attacks and the story file (400), and missing files are 404', async () => {
    const h = await harness();
    for (const path of ['../x.md', '/etc/passwd', 'a/../../b', 'a\\b.md', '.env', 'a//b', '%2e%2e/x', 'x\u0000.md', 'a/'.repeat(9) + 'b', STORY_STATE_FILE]) {
      const err = await h.tool('write_artifact').run({ path, content: 'x' }).then(() => undefined, (e: unknown) => e);
      expect({ path, status: err instanceof HttpError ? err.status : err }).toEqual({ path, status: 400 });
    }
    await expect(h.tool('read_artifact').run({ path: '../../jobs/x' })).rejects.toMatchObject({ status: 400 });
    await expect(h.tool('read_artifact').run({ path: 'missing.md' })).rejects.toMatchObject({ status: 404 });
  });

  it('the story tools need a story first (400, saying so)', async () => {
    const h = await harness();
    await expect(h.tool('narrate_story').run({})).rejects.toThrow(/no story yet/);
  });
});
