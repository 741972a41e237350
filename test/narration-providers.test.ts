/**
 * POST /narrate-story with a real speech provider's protocol: Amazon Polly through its SDK
 * against the local Polly server. Long turns are cut at sentence boundaries to fit the
 * provider's limit; a provider that stays throttled is a 429 with Retry-After, and what was
 * stored before it failed is recorded, not lost.
 */
import { LocalPollyServer, ssmlText } from '../src/local/polly-server';
import { decodeMp3 } from './support/audio';
import { jobId, startTestGateway, testConfig, type TestGateway } from './support/local';

const sentence = (i: number) => `The bees of hive number ${i} flew across the meadow, over the river and past the old mill, looking for the sweetest clover they could find.`;
const LONG_TURN = Array.from({ length: 19 }, (_, i) => sentence(i + 1)).join(' ');

const story = (sections: Array<Array<[string, string]>>) => [
  {
    story_part: 'beginning',
    sections: sections.map((turns, i) => ({
      section_num: i + 1,
      segments: turns.map(([speaker, text], j) => ({ segment_num: i * 10 + j + 1, speaker, segment_content: text })),
    })),
  },
];

describe('POST /narrate-story through Amazon Polly (local Polly server)', () => {
  let polly: LocalPollyServer;
  let gw: TestGateway;
  beforeAll(async () => {
    polly = new LocalPollyServer();
    const url = await polly.listen();
    gw = await startTestGateway({
      config: testConfig({ STORY42_SPEECH_PROVIDER: 'polly', STORY42_POLLY_ENDPOINT: url, STORY42_SPEECH_CONCURRENCY: '1', STORY42_MODEL_MAX_ATTEMPTS: '2', STORY42_MODEL_BACKOFF_MS: '10', STORY42_MODEL_MAX_BACKOFF_MS: '2000' }),
    });
  });
  afterAll(async () => {
    await gw.stop();
    await polly.close();
  });
  beforeEach(() => polly.reset());

  it('speaks a turn longer than Polly takes in sentence-bounded pieces, in the cast voices, and says Polly spoke', async () => {
    expect(LONG_TURN.length).toBeGreaterThan(2500);
    const job = jobId('polly-long');
    const res = await gw.call('POST', '/narrate-story', { body: { job_id: job, story_parts: story([[['Narrator', LONG_TURN], ['Mia', 'Look, the bees are coming home!']]]) } });
    expect(res.status).toBe(200);
    const result = res.body.result as { voices: Record<string, string>; story: { audio_presigned_url: string; duration_seconds: number }; metadata: { provider: string; model_id: string } };
    expect(result.voices).toEqual({ Narrator: 'Matthew', Mia: 'Joanna' });
    expect(result.metadata).toMatchObject({ provider: 'polly', model_id: 'polly/neural' });

    const pieces = polly.counters.texts.map(ssmlText);
    const narratorPieces = pieces.slice(0, -1);
    expect(narratorPieces.length).toBeGreaterThanOrEqual(2);
    for (const p of narratorPieces) {
      expect(p.length).toBeLessThanOrEqual(2500);
      expect(p).toMatch(/\.$/); // whole sentences only
    }
    expect(narratorPieces.join(' ')).toBe(LONG_TURN);
    expect(polly.counters.voices).toEqual([...narratorPieces.map(() => 'Matthew'), 'Joanna']);

    const audio = await decodeMp3(new Uint8Array(await (await fetch(result.story.audio_presigned_url)).arrayBuffer()));
    expect(audio.sampleRate).toBe(24_000);
    expect(Math.abs(audio.durationSeconds - result.story.duration_seconds)).toBeLessThan(0.5);
  });

  it('Polly throttling after the first section: 429 with Retry-After; the stored section is recorded, with no story.mp3', async () => {
    const job = jobId('polly-throttled');
    const firstArrived = polly.nextRequest().then(() => {
      // Runs after the first request has passed the server's failure check: only later ones are throttled.
      polly.knobs.failures = Array.from({ length: 10 }, () => 'ThrottlingException' as const);
    });
    const res = await gw.call('POST', '/narrate-story', { body: { job_id: job, story_parts: story([[['Narrator', 'The hive was quiet.']], [['Narrator', 'Then the bees woke up.']]]) } });
    await firstArrived;
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(String(res.body.error)).toMatch(/Polly speech model is throttling/);

    const got = await gw.call('GET', `/jobs/${job}`);
    expect(got.status).toBe(200);
    const result = got.body.result as { audio: { sections: Array<{ section_num: number }>; story: unknown }; records: Array<{ route: string; status: string }> };
    expect(result.audio.sections.map((s) => s.section_num)).toEqual([1]);
    expect(result.audio.story).toBeNull();
    expect(result.records).toEqual([expect.objectContaining({ route: 'narrate_story', status: 'error' })]);
  });

  it('an unknown Polly voice is a 400 naming the valid ones, before any call to Polly', async () => {
    const res = await gw.call('POST', '/narrate-story', { body: { job_id: jobId('polly-voice'), story_parts: story([[['Narrator', 'Hello.']]]), voices: { Narrator: 'Hal9000' } } });
    expect(res.status).toBe(400);
    expect(String(res.body.error)).toContain('Matthew, Joanna, Stephen, Ruth, Kevin, Danielle, Gregory, Salli');
    expect(polly.counters.requests).toBe(0);
  });
});
