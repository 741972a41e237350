/**
 * The Bedrock text provider through the real AWS SDK against our local Bedrock server
 * (Converse JSON, ConverseStream event-stream frames, Bedrock's error format).
 */
import { renderPrompt } from '../../src/core/prompts';
import { bundledPromptService } from '../../src/platform/prompt-wiring';
import { LocalBedrockServer } from '../../src/local/bedrock-server';
import { bedrockRuntimeClient } from '../../src/aws/model-clients';
import { BedrockTextModel } from '../../src/providers/bedrock-text';
import { Semaphore } from '../../src/providers/resilience';
import { jobId, startTestGateway, testConfig, type TestGateway } from '../support/local';

const bedrock = new LocalBedrockServer();
let endpoint: string;
let gw: TestGateway;

const settings = (extra: Record<string, string> = {}) =>
  testConfig({ STORY42_TEXT_PROVIDER: 'bedrock', STORY42_BEDROCK_ENDPOINT: endpoint, STORY42_MODEL_BACKOFF_MS: '1', STORY42_MODEL_MAX_BACKOFF_MS: '4', STORY42_MODEL_MAX_ATTEMPTS: '4', ...extra });

beforeAll(async () => {
  endpoint = await bedrock.listen();
  gw = await startTestGateway({ config: settings() });
});
afterAll(async () => {
  await gw.stop();
  await bedrock.close();
});
beforeEach(() => bedrock.reset());

const outline = { genre: 'fantasy', reading_level: 'grade 3', tone: 'warm', story_type: 'visual', panels: 4, number_of_speakers: 3, user_input_description: 'A fox named Rin and an owl named Odo look for the moon' };

describe('Bedrock text provider', () => {
  it('answers a route through Converse with tool use; the result is normalised and its usage tracked', async () => {
    const job = jobId('bedrock');
    const res = await gw.call('POST', '/generate-story-outline', { body: { ...outline, job_id: job } });
    expect(res.status).toBe(200);
    const result = res.body.result as { speaker_names: string[]; metadata: Record<string, unknown> };
    expect(result.speaker_names).toEqual(['Narrator', 'Rin', 'Odo']);
    expect(result.metadata).toMatchObject({ provider: 'bedrock', model_id: 'bedrock/us.amazon.nova-pro-v1:0' });
    expect(bedrock.counters).toMatchObject({ converse: 1, models: ['us.amazon.nova-pro-v1:0'] });
    const job1 = await gw.call('GET', `/jobs/${job}`);
    const usage = (job1.body.result as { records: Array<{ usage: Array<{ inputTokens: number; outputTokens: number; model: string }> }> }).records[0]?.usage;
    expect(usage).toEqual([expect.objectContaining({ model: 'bedrock/us.amazon.nova-pro-v1:0', inputTokens: expect.any(Number), outputTokens: expect.any(Number) })]);
    expect(usage?.[0]?.inputTokens).toBeGreaterThan(0);
  });

  it('passes the chosen model id through (cross-region inference ids included)', async () => {
    const res = await gw.call('POST', '/generate-topics-ideas', { body: { genre: 'fiction', topics: 'owls', model_id: 'bedrock/us.openai.gpt-oss-120b-1:0' } });
    expect(res.status).toBe(200);
    expect(bedrock.counters.models).toEqual(['us.openai.gpt-oss-120b-1:0']);
  });

  it('malformed model output is repaired by asking again', async () => {
    bedrock.knobs.malformed = 1;
    const res = await gw.call('POST', '/generate-story-outline', { body: { ...outline, job_id: jobId('bedrock') } });
    expect(res.status).toBe(200);
    expect(bedrock.counters.converse).toBe(2);
  });

  it('throttling is retried with backoff until it succeeds', async () => {
    bedrock.knobs.failures = ['ThrottlingException', 'ServiceUnavailableException'];
    const before = ['model_retries', 'model_throttled', 'model_unavailable'].map((m) => gw.telemetry.get(m));
    const res = await gw.call('POST', '/generate-topics-ideas', { body: { genre: 'fiction', topics: 'owls' } });
    expect(res.status).toBe(200);
    expect(bedrock.counters).toMatchObject({ converse: 3, errors: 2 });
    // Retries and throttles are counted (and published as metrics).
    expect(['model_retries', 'model_throttled', 'model_unavailable'].map((m, i) => gw.telemetry.get(m) - (before[i] ?? 0))).toEqual([2, 1, 1]);
  });

  it.each([
    ['ThrottlingException', 429],
    ['ServiceUnavailableException', 503],
  ] as const)('persistent %s answers %i with Retry-After, and stored data stays', async (failure, status) => {
    const job = jobId('bedrock');
    expect((await gw.call('POST', '/generate-topics-ideas', { body: { genre: 'fiction', topics: 'owls', job_id: job } })).status).toBe(200);
    bedrock.knobs.failures = Array(4).fill(failure);
    const res = await gw.call('POST', '/generate-topics-ideas', { body: { genre: 'fiction', topics: 'owls', job_id: job } });
    expect(res.status).toBe(status);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(String(res.body.error)).toMatch(/Bedrock model is (throttling|unavailable)/);
    expect(bedrock.counters.converse).toBe(5);
    const kept = await gw.call('GET', `/jobs/${job}`);
    expect((kept.body.result as { records: Array<{ status: string }> }).records.map((r) => r.status)).toEqual(['success', 'error']);
  });

  it('a model that does not answer in time is a 503', async () => {
    const slow = await startTestGateway({ config: settings({ STORY42_MODEL_TIMEOUT_MS: '100', STORY42_MODEL_MAX_ATTEMPTS: '2' }) });
    try {
      bedrock.knobs.latencyMs = 2000;
      const res = await slow.call('POST', '/generate-topics-ideas', { body: { genre: 'fiction', topics: 'owls' } });
      expect(res.status).toBe(503);
      expect(String(res.body.error)).toContain('did not answer in time');
      expect(bedrock.counters.converse).toBe(2);
    } finally {
      await slow.stop();
    }
  });

  it('streams deltas through ConverseStream and returns the same structured result', async () => {
    const model = new BedrockTextModel(bedrockRuntimeClient(settings()), { policy: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, timeoutMs: 5000 }, limiter: new Semaphore(2) });
    const task = { kind: 'topics' as const, input: { genre: 'fiction' as const, topics: 'comets, kites' } };
    const deltas: string[] = [];
    const out = await model.generate({ task, prompt: await renderPrompt(task, bundledPromptService()), modelId: 'us.amazon.nova-pro-v1:0', seed: 's', attempt: 1, onDelta: (d) => deltas.push(d) });
    expect(bedrock.counters.converseStream).toBe(1);
    expect(deltas.length).toBeGreaterThan(0);
    expect(JSON.parse(deltas.join(''))).toEqual(out.data);
    expect(out.data).toMatchObject({ subject_category: expect.stringContaining('comets and kites') });
    expect(out.usage?.outputTokens).toBeGreaterThan(0);
  });
});
