/**
 * Resilience of the provider calls, through the real SDKs against our local servers:
 * backoff with full jitter, the per-provider concurrency limit, unusable model output
 * (broken JSON, non-PNG images) retried and then a 502, and a client that goes away during
 * the panels cancelling the image calls still running.
 */
import { renderPrompt } from '../../src/core/prompts';
import { bundledPromptService } from '../../src/platform/prompt-wiring';
import { bedrockRuntimeClient } from '../../src/aws/model-clients';
import { LocalBedrockServer } from '../../src/local/bedrock-server';
import { LocalGeminiServer } from '../../src/local/gemini-server';
import { LocalSecretsServer } from '../../src/local/secrets-server';
import { BedrockTextModel } from '../../src/providers/bedrock-text';
import { Semaphore, type Failure } from '../../src/providers/resilience';
import { jobId, startTestGateway, testConfig, type TestGateway } from '../support/local';
import { readEvents } from '../support/sse';

const bedrock = new LocalBedrockServer();
let endpoint: string;
let gw: TestGateway;

const settings = (extra: Record<string, string> = {}) =>
  testConfig({
    STORY42_TEXT_PROVIDER: 'bedrock',
    STORY42_IMAGE_PROVIDER: 'bedrock',
    STORY42_BEDROCK_ENDPOINT: endpoint,
    STORY42_MODEL_BACKOFF_MS: '1',
    STORY42_MODEL_MAX_BACKOFF_MS: '4',
    STORY42_MODEL_MAX_ATTEMPTS: '3',
    ...extra,
  });

beforeAll(async () => {
  endpoint = await bedrock.listen();
  gw = await startTestGateway({ config: settings({ STORY42_MODEL_CONCURRENCY: '2' }) });
});
afterAll(async () => {
  await gw.stop();
  await bedrock.close();
});
beforeEach(() => bedrock.reset());

const outline = { genre: 'fantasy', reading_level: 'grade 3', tone: 'warm', story_type: 'visual', panels: 4, number_of_speakers: 3, user_input_description: 'A fox named Rin and an owl named Odo look for the moon' };
const segments = (n: number) => Array.from({ length: n }, (_, i) => ({ story_segment_content: `Scene ${i + 1}: a paper boat on canal ${i}.`, story_segment_number: i + 1 }));
const topicsTask = { kind: 'topics' as const, input: { genre: 'fiction' as const, topics: 'comets, kites' } };

describe('backoff', () => {
  it.each([
    [0.999, [1, 3, 7]],
    [0, [0, 0, 0]],
  ])('waits a random time in [0, base * 2^n) between attempts (random = %s)', async (r, expected) => {
    const retries: Array<{ attempt: number; failure: Failure; delay: number }> = [];
    const model = new BedrockTextModel(bedrockRuntimeClient(settings()), {
      policy: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 1000, timeoutMs: 5000 },
      limiter: new Semaphore(1),
      random: () => r,
      onRetry: (attempt, failure, delay) => retries.push({ attempt, failure, delay }),
    });
    bedrock.knobs.failures = ['ThrottlingException', 'InternalServerException', 'ModelTimeoutException'];
    const out = await model.generate({ task: topicsTask, prompt: await renderPrompt(topicsTask, bundledPromptService()), modelId: 'us.amazon.nova-pro-v1:0', seed: 's', attempt: 1 });
    expect(out.data).toMatchObject({ subject_category: expect.any(String) });
    expect(retries).toEqual([
      { attempt: 1, failure: 'throttled', delay: expected[0] },
      { attempt: 2, failure: 'unavailable', delay: expected[1] },
      { attempt: 3, failure: 'unavailable', delay: expected[2] },
    ]);
    expect(bedrock.counters).toMatchObject({ converse: 4, errors: 3 });
  });

  it.each([
    ['ThrottlingException', 'throttled'],
    ['ModelStreamErrorException', 'unavailable'],
  ] as const)('a ConverseStream that fails mid-stream with %s is streamed again', async (name, failure) => {
    const retries: Failure[] = [];
    const model = new BedrockTextModel(bedrockRuntimeClient(settings()), {
      policy: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1, timeoutMs: 5000 },
      limiter: new Semaphore(1),
      onRetry: (_attempt, f) => retries.push(f),
    });
    bedrock.knobs.streamFailures = [name];
    const deltas: string[] = [];
    const out = await model.generate({ task: topicsTask, prompt: await renderPrompt(topicsTask, bundledPromptService()), modelId: 'us.amazon.nova-pro-v1:0', seed: 's', attempt: 1, onDelta: (d) => deltas.push(d) });
    expect(retries).toEqual([failure]);
    expect(bedrock.counters).toMatchObject({ converseStream: 2, errors: 1 });
    expect(out.data).toMatchObject({ subject_category: expect.any(String) });
    // The failed attempt's first delta came through before the exception; the second attempt streamed in full.
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('').endsWith(JSON.stringify(out.data))).toBe(true);
  });

  it('a model id outside STORY42_ALLOWED_MODELS is a 400 and Bedrock is never called', async () => {
    const res = await gw.call('POST', '/generate-topics-ideas', { body: { genre: 'fiction', topics: 'owls', model_id: 'bedrock/amazon.titan-text-express-v1' } });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: expect.stringContaining('is not supported'), request_id: expect.any(String) });
    expect(bedrock.counters.models).toEqual([]);
  });

  it('a validation error is not retried', async () => {
    bedrock.knobs.failures = ['ValidationException'];
    const res = await gw.call('POST', '/generate-topics-ideas', { body: { genre: 'fiction', topics: 'owls' } });
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ error: 'Internal server error', request_id: expect.any(String) });
    expect(bedrock.counters.converse).toBe(1);
  });
});

describe('concurrency limit per provider', () => {
  it('never has more image calls in flight than STORY42_MODEL_CONCURRENCY', async () => {
    bedrock.knobs.latencyMs = 40;
    const res = await gw.call('POST', '/generate-story-image', { body: { story_segments: segments(6), art_style: 'ink', number_of_panels: 6, job_id: jobId('conc') } });
    expect(res.status).toBe(200);
    expect((res.body.result as { story_segments: unknown[] }).story_segments).toHaveLength(6);
    expect(bedrock.counters.invoke).toBe(6);
    expect(bedrock.counters.maxInFlight).toBe(2);
  });
});

describe('timeouts', () => {
  it('an attempt\'s timeout starts when it leaves the semaphore queue, not while it waits', async () => {
    // All 12 panels start at once; the provider lets one call through at a time and the server
    // holds each 100 ms, so the 12th waits >= 1.1 s in the queue — longer than the 1 s
    // per-attempt timeout — yet no attempt may time out.
    const serial = await startTestGateway({
      config: settings({ STORY42_IMAGE_CONCURRENCY: '12', STORY42_MODEL_CONCURRENCY: '1', STORY42_MODEL_TIMEOUT_MS: '1000', STORY42_MODEL_MAX_ATTEMPTS: '1' }),
    });
    try {
      bedrock.knobs.latencyMs = 100;
      const res = await serial.call('POST', '/generate-story-image', { body: { story_segments: segments(12), art_style: 'ink', number_of_panels: 12, job_id: jobId('queue') } });
      expect(res.status).toBe(200);
      expect((res.body.result as { story_segments: unknown[] }).story_segments).toHaveLength(12);
      expect(bedrock.counters).toMatchObject({ invoke: 12, aborted: 0, maxInFlight: 1 });
    } finally {
      await serial.stop();
    }
  });
});

describe('unusable model output', () => {
  it('a Converse answer of prose and cut-off JSON instead of the tool call is asked again', async () => {
    bedrock.knobs.brokenJson = 1;
    const job = jobId('broken');
    const res = await gw.call('POST', '/generate-story-outline', { body: { ...outline, job_id: job } });
    expect(res.status).toBe(200);
    expect(bedrock.counters.converse).toBe(2);
    const records = await gw.call('GET', `/jobs/${job}`);
    const usage = (records.body.result as { records: Array<{ usage: Array<Record<string, unknown>> }> }).records[0]?.usage;
    // Both attempts are tracked, each with its tokens, model and latency.
    expect(usage).toEqual([
      expect.objectContaining({ model: 'bedrock/us.amazon.nova-pro-v1:0', inputTokens: expect.any(Number), outputTokens: expect.any(Number), latencyMs: expect.any(Number) }),
      expect.objectContaining({ model: 'bedrock/us.amazon.nova-pro-v1:0', latencyMs: expect.any(Number) }),
    ]);
  });

  it('output that stays malformed ends in a 502 in the spec error shape, not a 500', async () => {
    bedrock.knobs.malformed = 2;
    bedrock.knobs.brokenJson = 1;
    const res = await gw.call('POST', '/generate-story-outline', { body: { ...outline, job_id: jobId('broken') } });
    expect(res.status).toBe(502);
    expect(res.body).toEqual({ error: expect.stringContaining('after 3 attempts'), request_id: expect.any(String) });
    expect(bedrock.counters.converse).toBe(3);
  });

  it('an image that is not a PNG is drawn again, for that panel alone', async () => {
    bedrock.knobs.badImages = 1;
    const res = await gw.call('POST', '/generate-story-image', { body: { story_segments: segments(3), art_style: 'ink', number_of_panels: 3, job_id: jobId('badimg') } });
    expect(res.status).toBe(200);
    const result = res.body.result as { story_segments: unknown[]; metadata: Record<string, unknown> };
    expect(result.story_segments).toHaveLength(3);
    expect(result.metadata.panel_count_warning).toBeUndefined();
    expect(bedrock.counters.invoke).toBe(4);
  });

  it('images that are never PNGs end in a 502', async () => {
    bedrock.knobs.badImages = 3;
    const res = await gw.call('POST', '/generate-story-image', { body: { story_segments: segments(1), art_style: 'ink', number_of_panels: 1, job_id: jobId('badimg') } });
    expect(res.status).toBe(502);
    expect(res.body).toEqual({ error: expect.stringContaining('unusable output'), request_id: expect.any(String) });
    expect(bedrock.counters.invoke).toBe(3);
  });
});

describe('client disconnect during the panels', () => {
  it('aborts the image calls still running (SSE through the local gateway)', async () => {
    bedrock.knobs.latencyMs = 30_000;
    const started = new Promise<void>((resolve) => {
      let n = 0;
      bedrock.events.on('request', () => {
        n += 1;
        if (n === 2) resolve();
      });
    });
    const { events } = await readEvents(`${gw.url}/generate-story-image`, { story_segments: segments(2), art_style: 'ink', number_of_panels: 2, job_id: jobId('gone') }, {
      stopAfter: (e) => e.event === 'progress' && e.data.stage === 'illustrating',
      beforeAbort: () => started,
    });
    expect(events.map((e) => e.event)).toEqual(['progress', 'progress']);
    await bedrock.abortedCalls(2);
    expect(bedrock.counters).toMatchObject({ invoke: 2, aborted: 2 });
  });
});

describe('Gemini', () => {
  const gemini = new LocalGeminiServer();
  const secrets = new LocalSecretsServer();
  let ggw: TestGateway;
  beforeAll(async () => {
    secrets.secrets.set('story42/key', 'AIza-resilience-test-key');
    const [g, s] = await Promise.all([gemini.listen(), secrets.listen()]);
    ggw = await startTestGateway({
      config: settings({ STORY42_IMAGE_PROVIDER: 'gemini', STORY42_GEMINI_BASE_URL: g, STORY42_SECRETSMANAGER_ENDPOINT: s, STORY42_IMAGE_API_KEY_SECRET: 'story42/key' }),
    });
  });
  afterAll(async () => {
    await ggw.stop();
    await Promise.all([gemini.close(), secrets.close()]);
  });

  it('an answer without an image is asked again; the SDK itself makes one attempt per call', async () => {
    gemini.knobs.noImage = 1;
    const res = await ggw.call('POST', '/generate-story-image', { body: { story_segments: segments(1), art_style: 'ink', number_of_panels: 1, job_id: jobId('gem') } });
    expect(res.status).toBe(200);
    expect(gemini.counters.generate).toBe(2);
  });

  it('persistent UNAVAILABLE is a 503 with Retry-After after exactly STORY42_MODEL_MAX_ATTEMPTS calls', async () => {
    gemini.reset();
    gemini.knobs.failures = ['UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE'];
    const res = await ggw.call('POST', '/generate-story-image', { body: { story_segments: segments(1), art_style: 'ink', number_of_panels: 1, job_id: jobId('gem') } });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(gemini.counters.errors).toBe(3);
    expect(gemini.knobs.failures).toHaveLength(1);
  });
});
