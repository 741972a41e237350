/**
 * The Gemini image provider through @google/genai against our local Gemini server, with its
 * API key read from a Secrets Manager endpoint (real JSON 1.1 wire format) once and cached.
 */
import { LocalGeminiServer } from '../../src/local/gemini-server';
import { LocalSecretsServer } from '../../src/local/secrets-server';
import { ConfigError, loadConfig } from '../../src/platform/config';
import { PlatformTelemetry } from '../../src/platform/telemetry';
import { jobId, startTestGateway, testConfig, type TestGateway } from '../support/local';

const SECRET_ID = 'story42/test/google-api-key';
const API_KEY = 'AIzaSyTEST-not-a-real-key-0123456789abcdef';
const gemini = new LocalGeminiServer();
const secrets = new LocalSecretsServer();
let gw: TestGateway;
const logged: string[] = [];
let restore: () => void;

beforeAll(async () => {
  secrets.secrets.set(SECRET_ID, API_KEY);
  const [geminiUrl, secretsUrl] = await Promise.all([gemini.listen(), secrets.listen()]);
  // Capture everything the platform logs (its telemetry, and anything on stderr), to prove the key never appears.
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    logged.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  restore = () => {
    process.stderr.write = write;
  };
  gw = await startTestGateway({
    config: testConfig({
      STORY42_IMAGE_PROVIDER: 'gemini',
      STORY42_GEMINI_BASE_URL: geminiUrl,
      STORY42_SECRETSMANAGER_ENDPOINT: secretsUrl,
      STORY42_IMAGE_API_KEY_SECRET: SECRET_ID,
      STORY42_MODEL_BACKOFF_MS: '1',
      STORY42_MODEL_MAX_BACKOFF_MS: '4',
      STORY42_MODEL_MAX_ATTEMPTS: '3',
    }),
    parts: { telemetry: new PlatformTelemetry({ service: 'test', format: 'json', metrics: true, write: (line) => logged.push(line) }) },
  });
});
afterAll(async () => {
  restore();
  await gw.stop();
  await Promise.all([gemini.close(), secrets.close()]);
});
beforeEach(() => gemini.reset());

const segments = [1, 2, 3].map((n) => ({ story_segment_content: `Scene ${n}: a whale sings under the moon ${n}.`, story_segment_number: n }));

describe('Gemini image provider', () => {
  it('draws panels with the key from Secrets Manager, fetched once and cached', async () => {
    const res = await gw.call('POST', '/generate-story-image', { body: { story_segments: segments, art_style: 'storybook', number_of_panels: 3, job_id: jobId('gem') } });
    expect(res.status).toBe(200);
    expect((res.body.result as { metadata: Record<string, unknown> }).metadata.provider).toBe('gemini');
    expect(gemini.counters.generate).toBe(3);
    expect(gemini.counters.apiKeys).toEqual([API_KEY, API_KEY, API_KEY]);
    expect(gemini.counters.models).toEqual(Array(3).fill('gemini-2.5-flash-image'));
    // The rendered illustrator/panel prompt, not the provider's own wording.
    expect(gemini.counters.texts.sort()).toEqual(segments.map((s) => `Illustrate this story panel in a storybook style, with no text in the picture: ${s.story_segment_content}`).sort());
    const again = await gw.call('POST', '/generate-story-image', { body: { story_segments: segments.slice(0, 1), art_style: 'x', number_of_panels: 1, job_id: jobId('gem') } });
    expect(again.status).toBe(200);
    expect(secrets.counters.getSecretValue).toBe(1);
  });

  it('retries a throttled panel alone and regenerates from the original', async () => {
    gemini.knobs.failures = ['RESOURCE_EXHAUSTED'];
    const job = jobId('gem');
    const res = await gw.call('POST', '/generate-story-image', { body: { story_segments: segments, art_style: 'x', number_of_panels: 3, job_id: job } });
    expect(res.status).toBe(200);
    expect(gemini.counters.generate).toBe(3);
    expect(gemini.counters.errors).toBe(1);
    const uri = (res.body.result as { story_segments: Array<{ image_s3_uri: string }> }).story_segments[0]?.image_s3_uri;
    const edit = await gw.call('POST', '/regenerate-segment-image', { body: { user_request: 'add falling snow', original_segment_image_s3_uri: uri, job_id: job } });
    expect(edit.status).toBe(200);
    expect(gemini.counters.edits).toBe(1);
    expect(gemini.counters.texts.at(-1)).toBe('Edit this illustration: add falling snow. Keep its composition, characters and style.');
  });

  it('persistent RESOURCE_EXHAUSTED is a 429 with Retry-After, logged without the key', async () => {
    gemini.knobs.failures = Array(3).fill('RESOURCE_EXHAUSTED');
    const res = await gw.call('POST', '/generate-story-image', { body: { story_segments: segments.slice(0, 1), art_style: 'x', number_of_panels: 1, job_id: jobId('gem') } });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).not.toBeNull();
    expect(logged.join('').length).toBeGreaterThan(0);
  });

  it('never writes the API key to the logs', () => {
    expect(logged.some((line) => line.includes('panel image failed'))).toBe(true);
    expect(logged.join('\n')).not.toContain(API_KEY);
  });

  it('refuses to start without the secret name', () => {
    expect(() => loadConfig({ STORY42_IMAGES_BUCKET: 'b42', STORY42_SESSIONS_TABLE: 't42', STORY42_IMAGE_PROVIDER: 'gemini' })).toThrow(ConfigError);
  });
});
