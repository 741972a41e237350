/** The Bedrock image provider (InvokeModel, Nova Canvas format) against the local server. */
import { PNG } from 'pngjs';
import { LocalBedrockServer } from '../../src/local/bedrock-server';
import { jobId, startTestGateway, testConfig, type TestGateway } from '../support/local';

const bedrock = new LocalBedrockServer();
let gw: TestGateway;

beforeAll(async () => {
  const endpoint = await bedrock.listen();
  gw = await startTestGateway({
    config: testConfig({ STORY42_IMAGE_PROVIDER: 'bedrock', STORY42_BEDROCK_ENDPOINT: endpoint, STORY42_MODEL_BACKOFF_MS: '1', STORY42_MODEL_MAX_BACKOFF_MS: '4', STORY42_MODEL_MAX_ATTEMPTS: '3' }),
  });
});
afterAll(async () => {
  await gw.stop();
  await bedrock.close();
});
beforeEach(() => bedrock.reset());

const segments = Array.from({ length: 6 }, (_, i) => ({ story_segment_content: `Scene ${i + 1}: lanterns over river ${i}.`, story_segment_number: i + 1 }));

describe('Bedrock image provider', () => {
  it('draws every panel with TEXT_IMAGE through InvokeModel and stores real PNGs', async () => {
    const res = await gw.call('POST', '/generate-story-image', { body: { story_segments: segments, art_style: 'watercolor', number_of_panels: 6, job_id: jobId('bimg') } });
    expect(res.status).toBe(200);
    const result = res.body.result as { story_segments: Array<{ image_presigned_url: string }>; metadata: Record<string, unknown> };
    expect(result.story_segments).toHaveLength(6);
    expect(result.metadata.provider).toBe('bedrock');
    expect(bedrock.counters.invoke).toBe(6);
    expect(new Set(bedrock.counters.models)).toEqual(new Set(['amazon.nova-canvas-v1:0']));
    const png = PNG.sync.read(Buffer.from(await (await fetch(result.story_segments[0]?.image_presigned_url ?? '')).arrayBuffer()));
    expect(png.width).toBe(512);
  });

  it('a throttled panel is retried alone; the others are drawn once', async () => {
    bedrock.knobs.failures = ['ThrottlingException'];
    const res = await gw.call('POST', '/generate-story-image', { body: { story_segments: segments, art_style: 'comic', number_of_panels: 6, job_id: jobId('bimg') } });
    expect(res.status).toBe(200);
    expect((res.body.result as { story_segments: unknown[] }).story_segments).toHaveLength(6);
    expect(bedrock.counters.invoke).toBe(7);
  });

  it('regenerates from the original with IMAGE_VARIATION', async () => {
    const job = jobId('bimg');
    const first = await gw.call('POST', '/generate-story-image', { body: { story_segments: segments.slice(0, 1), art_style: 'x', number_of_panels: 1, job_id: job } });
    const uri = (first.body.result as { story_segments: Array<{ image_s3_uri: string }> }).story_segments[0]?.image_s3_uri;
    const res = await gw.call('POST', '/regenerate-segment-image', { body: { user_request: 'make it snow', original_segment_image_s3_uri: uri, job_id: job } });
    expect(res.status).toBe(200);
    expect(bedrock.counters.invoke).toBe(2);
  });

  it('persistent throttling on every panel answers 429 with Retry-After', async () => {
    bedrock.knobs.failures = Array(3).fill('ThrottlingException');
    const res = await gw.call('POST', '/generate-story-image', { body: { story_segments: segments.slice(0, 1), art_style: 'x', number_of_panels: 1, job_id: jobId('bimg') } });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).not.toBeNull();
  });
});
