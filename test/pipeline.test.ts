/**
 * Pipeline behaviour behind the routes: bounded concurrent panels, per-panel failures,
 * bounded regeneration of broken model output, and provider selection by config.
 */
import type { GeneratedImage, ImageEditRequest, ImageModel, ImageRequest, TextCall, TextModel, TextOutput } from '../src/core/ports';
import { OfflineIllustrator } from '../src/offline/illustrator';
import { OfflineStoryWriter } from '../src/offline/writer';
import { ConfigError, loadConfig } from '../src/platform/config';
import { LOCAL_PROVIDERS } from '../src/local/providers';
import { AWS_IMAGE } from '../src/platform/image-providers';
import { modelsFor } from '../src/platform/providers';
import { AWS_TEXT } from '../src/platform/text-providers';
import { jobId, quietTelemetry, startTestGateway, testConfig } from './support/local';

/** Lets calls through only once `limit` of them are in flight at the same time. */
class GatedIllustrator implements ImageModel {
  readonly provider = 'gated-test-illustrator';
  inFlight = 0;
  maxInFlight = 0;
  private waiting: Array<() => void> = [];
  private readonly inner = new OfflineIllustrator();

  constructor(
    private readonly limit: number,
    private readonly failOn = new Set<string>(),
  ) {}

  async generate(req: ImageRequest): Promise<GeneratedImage> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const gate = new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.inFlight >= this.limit) for (const release of this.waiting.splice(0)) release();
    await gate;
    this.inFlight -= 1;
    if (this.failOn.has(req.seed.split(':').pop() ?? '')) throw new Error('model refused this panel');
    return this.inner.generate(req);
  }

  edit(req: ImageEditRequest): Promise<GeneratedImage> {
    return this.inner.edit(req);
  }
}

const segments = Array.from({ length: 6 }, (_, i) => ({ story_segment_content: `Scene ${i + 1}: a fox crosses river ${i}.`, story_segment_number: i + 1 }));

describe('panel images', () => {
  it.each([6, 2])('run concurrently up to the configured limit (%i)', async (limit) => {
    const image = new GatedIllustrator(limit);
    const gw = await startTestGateway({ config: testConfig({ STORY42_IMAGE_CONCURRENCY: String(limit) }), parts: { image } });
    try {
      const res = await gw.call('POST', '/generate-story-image', { body: { story_segments: segments, art_style: 'pastel', number_of_panels: 6, job_id: jobId('conc') } });
      expect(res.status).toBe(200);
      expect(image.maxInFlight).toBe(limit);
      expect((res.body.result as { story_segments: unknown[] }).story_segments).toHaveLength(6);
    } finally {
      await gw.stop();
    }
  });

  it('a failed panel is reported in panel_count_warning; the others are kept', async () => {
    const image = new GatedIllustrator(6, new Set(['3']));
    const gw = await startTestGateway({ parts: { image } });
    try {
      const res = await gw.call('POST', '/generate-story-image', { body: { story_segments: segments, art_style: 'pastel', number_of_panels: 6, job_id: jobId('fail') } });
      expect(res.status).toBe(200);
      const result = res.body.result as { story_segments: Array<{ story_segment_number: number }>; metadata: { panel_count_warning: string } };
      expect(result.story_segments.map((s) => s.story_segment_number)).toEqual([1, 2, 4, 5, 6]);
      expect(result.metadata.panel_count_warning).toBe('Only 5 of 6 panels could be generated (1 failed)');
      expect(gw.telemetry.get('panel_failures')).toBe(1);
    } finally {
      await gw.stop();
    }
  });

  it('502 when no panel can be drawn', async () => {
    const image = new GatedIllustrator(1, new Set(['1']));
    const gw = await startTestGateway({ parts: { image } });
    try {
      const res = await gw.call('POST', '/generate-story-image', { body: { story_segments: segments.slice(0, 1), art_style: 'x', number_of_panels: 1, job_id: jobId('fail') } });
      expect(res.status).toBe(502);
      expect(res.body.error).toBe('The image model could not draw any panel');
    } finally {
      await gw.stop();
    }
  });
});

/** A text model that breaks the story rules for the first `badAttempts` calls. */
class FlakyWriter implements TextModel {
  readonly provider = 'flaky-test-writer';
  calls: TextCall[] = [];
  private readonly inner = new OfflineStoryWriter();

  constructor(private readonly badAttempts: number) {}

  async generate(call: TextCall): Promise<TextOutput> {
    this.calls.push(call);
    const good = await this.inner.generate(call);
    if (call.attempt > this.badAttempts) return good;
    const data = structuredClone(good.data) as { story_parts: Array<{ sections: unknown[] }> };
    data.story_parts[1]?.sections.pop(); // one panel short: not repairable
    return { ...good, data };
  }
}

describe('structure enforcement', () => {
  const outline = ['beginning', 'middle', 'end'].map((p) => ({ story_part: p, story_part_summary: `The ${p}.`, story_part_speakers: ['Narrator', 'Mira'] }));
  const body = { genre: 'f', reading_level: 'r', tone: 't', story_type: 'visual', number_of_speakers: 2, panels: 6, story_outline_description: outline };

  it('regenerates output that breaks the rules, telling the model what was wrong', async () => {
    const text = new FlakyWriter(1);
    const gw = await startTestGateway({ parts: { text } });
    try {
      const job = jobId('flaky');
      const res = await gw.call('POST', '/generate-story', { body: { ...body, job_id: job } });
      expect(res.status).toBe(200);
      expect(text.calls.map((c) => c.attempt)).toEqual([1, 2]);
      expect(text.calls[1]?.repairHint).toContain('expected exactly 6 sections');
      // The repair instruction is the story-writer/repair prompt, and the job's record names it.
      expect([text.calls[0]?.repairPrompt, text.calls[1]?.repairPrompt]).toEqual([undefined, `Your previous answer was rejected: ${text.calls[1]?.repairHint}. Answer again, following every rule.`]);
      const record = ((await gw.call('GET', `/jobs/${job}`)).body.result as { records: Array<{ prompts: Array<{ prompt: string }> }> }).records[0];
      expect(record?.prompts.map((p) => p.prompt)).toEqual(['story-writer/system', 'story-writer/story', 'story-writer/repair']);
      expect(gw.telemetry.get('model_output_rejected')).toBe(1);
    } finally {
      await gw.stop();
    }
  });

  it('fails with a clear 502 after the bounded attempts, and tracks the failure', async () => {
    const text = new FlakyWriter(99);
    const gw = await startTestGateway({ config: testConfig({ STORY42_TEXT_MAX_ATTEMPTS: '3' }), parts: { text } });
    try {
      const job = jobId('flaky');
      const res = await gw.call('POST', '/generate-story', { body: { ...body, job_id: job } });
      expect(res.status).toBe(502);
      expect(String(res.body.error)).toContain('after 3 attempts');
      expect(text.calls).toHaveLength(3);
      const got = await gw.call('GET', `/jobs/${job}`);
      expect((got.body.result as { records: Array<{ status: string }> }).records.map((r) => r.status)).toEqual(['error']);
    } finally {
      await gw.stop();
    }
  });
});

describe('config', () => {
  const base = { STORY42_IMAGES_BUCKET: 'bucket', STORY42_SESSIONS_TABLE: 'table' };

  it('selects the offline engines by default and names them in results', () => {
    const config = loadConfig(base);
    const models = modelsFor(config, LOCAL_PROVIDERS, quietTelemetry());
    expect([models.text.provider, models.image.provider]).toEqual(['offline-story-writer', 'offline-illustrator']);
  });

  it('a deployed build has no offline engines: choosing one fails at start-up, naming what it has', () => {
    expect(() => modelsFor(loadConfig(base), { text: AWS_TEXT, image: AWS_IMAGE }, quietTelemetry())).toThrow('STORY42_TEXT_PROVIDER=offline: this build has no text provider "offline" (available: bedrock)');
    const bedrock = modelsFor(loadConfig({ ...base, STORY42_TEXT_PROVIDER: 'bedrock', STORY42_IMAGE_PROVIDER: 'gemini', STORY42_IMAGE_API_KEY_SECRET: 'k' }), { text: AWS_TEXT, image: AWS_IMAGE }, quietTelemetry());
    expect([bedrock.text.provider, bedrock.image.provider]).toEqual(['bedrock', 'gemini']);
    // A process without image routes (the text Lambda) loads no image provider at all.
    expect(modelsFor(loadConfig({ ...base, STORY42_TEXT_PROVIDER: 'bedrock' }), { text: AWS_TEXT }, quietTelemetry()).image.provider).toBe('none');
  });

  it('rejects unknown providers with the list of valid ones', () => {
    expect(() => loadConfig({ ...base, STORY42_TEXT_PROVIDER: 'gpt' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, STORY42_TEXT_PROVIDER: 'gpt' })).toThrow('STORY42_TEXT_PROVIDER must be one of: offline, bedrock (got "gpt")');
    expect(() => loadConfig({ ...base, STORY42_IMAGE_PROVIDER: 'dalle' })).toThrow('STORY42_IMAGE_PROVIDER must be one of: offline, bedrock, gemini');
    expect(() => loadConfig({ ...base, STORY42_IMAGE_CONCURRENCY: '0' })).toThrow('STORY42_IMAGE_CONCURRENCY must be an integer between 1 and 32');
    expect(() => loadConfig({ STORY42_SESSIONS_TABLE: 'table' })).toThrow('STORY42_IMAGES_BUCKET');
  });

  it('derives token verification settings for real Cognito from the pool id', () => {
    const config = loadConfig({ ...base, AWS_REGION: 'us-west-2', STORY42_COGNITO_USER_POOL_ID: 'us-west-2_abc', STORY42_COGNITO_CLIENT_ID: 'client' });
    expect(config.auth).toEqual({
      issuer: 'https://cognito-idp.us-west-2.amazonaws.com/us-west-2_abc',
      clientId: 'client',
      jwksUri: 'https://cognito-idp.us-west-2.amazonaws.com/us-west-2_abc/.well-known/jwks.json',
      timeoutMs: 5000,
    });
  });
});
