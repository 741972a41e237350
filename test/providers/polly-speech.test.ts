/**
 * The Polly speech provider through @aws-sdk/client-polly against the local Polly server
 * (SynthesizeSpeech's REST-JSON wire format; eSpeak NG speaking), loaded the way the platform
 * loads it: the POLLY_SPEECH entry. The MP3s are decoded with mpg123 to prove they are audio.
 */
import { SynthesizeSpeechCommand } from '@aws-sdk/client-polly';
import { pollyClient } from '../../src/aws/model-clients';
import { mp3Info } from '../../src/core/mp3';
import { ProviderUnavailableError } from '../../src/core/errors';
import type { SpeechModel } from '../../src/core/ports';
import { LocalPollyServer } from '../../src/local/polly-server';
import type { Config } from '../../src/platform/config';
import { POLLY_MAX_CHARS, POLLY_SPEECH, POLLY_VOICES } from '../../src/platform/speech-providers';
import { decodedSeconds, expectVoicesDiffer } from '../support/audio';
import { quietTelemetry, testConfig } from '../support/local';

const polly = new LocalPollyServer();
let config: Config;
let model: SpeechModel;

const SENTENCE = 'The lighthouse keeper climbed the stairs & looked out at the <stormy> sea.';
const ESCAPED = 'The lighthouse keeper climbed the stairs &amp; looked out at the &lt;stormy&gt; sea.';

function settings(url: string, overrides: Record<string, string> = {}): Config {
  return testConfig({
    STORY42_SPEECH_PROVIDER: 'polly',
    STORY42_POLLY_ENDPOINT: url,
    STORY42_MODEL_BACKOFF_MS: '1',
    STORY42_MODEL_MAX_BACKOFF_MS: '4',
    STORY42_MODEL_MAX_ATTEMPTS: '3',
    ...overrides,
  });
}

beforeAll(async () => {
  const url = await polly.listen();
  config = settings(url);
  model = await POLLY_SPEECH.load(config, quietTelemetry());
});
afterAll(async () => {
  await polly.close();
});
beforeEach(async () => {
  await polly.idle();
  polly.reset();
});

describe('Polly speech provider', () => {
  it('speaks a sentence as real MP3 audio as long as it reports, from escaped SSML', async () => {
    expect(model.provider).toBe('polly');
    expect(model.voices).toEqual(POLLY_VOICES);
    expect(model.maxChars).toBe(POLLY_MAX_CHARS);
    const audio = await model.synthesize({ text: SENTENCE, voice: 'Matthew', pauseAfterMs: 0 });
    expect(audio.model).toBe('polly/neural');
    const seconds = await decodedSeconds(audio.mp3);
    expect(seconds).toBeGreaterThan(1);
    expect(Math.abs(seconds - audio.durationSeconds)).toBeLessThan(0.1);
    expect(mp3Info(audio.mp3).sampleRate).toBe(24_000);
    expect(polly.counters.texts).toEqual([`<speak>${ESCAPED}</speak>`]);
    expect(polly.counters.voices).toEqual(['Matthew']);
  });

  it('a pause after the speech is a <break> that makes the audio longer by about that much', async () => {
    const plain = await model.synthesize({ text: SENTENCE, voice: 'Joanna', pauseAfterMs: 0 });
    const paused = await model.synthesize({ text: SENTENCE, voice: 'Joanna', pauseAfterMs: 900 });
    expect(polly.counters.texts[1]).toBe(`<speak>${ESCAPED}<break time="900ms"/></speak>`);
    const longer = (await decodedSeconds(paused.mp3)) - (await decodedSeconds(plain.mp3));
    expect(longer).toBeGreaterThan(0.6);
    expect(longer).toBeLessThan(1.2);
  });

  it('different voices sound different; the same voice says the same text the same way', async () => {
    const text = 'Good evening, said the fox.';
    await expectVoicesDiffer(model, text, 'Matthew', 'Ruth');
    expect(polly.counters.voices.sort()).toEqual(['Matthew', 'Matthew', 'Ruth']);
  });

  it('every default voice is a neural voice Polly has', async () => {
    const all = await Promise.all(POLLY_VOICES.map((voice) => model.synthesize({ text: 'Hello.', voice, pauseAfterMs: 0 })));
    expect(all.every((a) => mp3Info(a.mp3).frames > 0)).toBe(true);
    expect(new Set(all.map((a) => Buffer.from(a.mp3).toString('base64'))).size).toBe(POLLY_VOICES.length);
    expect(polly.counters.errors).toBe(0);
  });

  it('the local Polly answers the SDK as Polly does: sample rate, billed characters, SSML and length errors', async () => {
    const client = pollyClient(config);
    const out = await client.send(
      new SynthesizeSpeechCommand({ Engine: 'neural', OutputFormat: 'mp3', SampleRate: '16000', TextType: 'ssml', Text: '<speak>Hi &amp; bye<break time="300ms"/></speak>', VoiceId: 'Kendra' }),
    );
    expect(out.ContentType).toBe('audio/mpeg');
    expect(out.RequestCharacters).toBe('Hi & bye'.length);
    expect(mp3Info(await (out.AudioStream as NonNullable<typeof out.AudioStream>).transformToByteArray()).sampleRate).toBe(16_000);
    await expect(client.send(new SynthesizeSpeechCommand({ Engine: 'neural', OutputFormat: 'mp3', TextType: 'ssml', Text: '<speak>Tom & Jerry</speak>', VoiceId: 'Joey' }))).rejects.toMatchObject({
      name: 'InvalidSsmlException',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(client.send(new SynthesizeSpeechCommand({ Engine: 'neural', OutputFormat: 'mp3', TextType: 'ssml', Text: 'no speak element', VoiceId: 'Joey' }))).rejects.toMatchObject({
      name: 'InvalidSsmlException',
    });
    await expect(client.send(new SynthesizeSpeechCommand({ Engine: 'neural', OutputFormat: 'mp3', SampleRate: '44100', Text: 'Hi', VoiceId: 'Joey' }))).rejects.toMatchObject({
      name: 'InvalidSampleRateException',
    });
    client.destroy();
  });

  it('text over Polly\'s limit and an unknown voice fail at once, without retries', async () => {
    await expect(model.synthesize({ text: 'word '.repeat(601), voice: 'Matthew', pauseAfterMs: 0 })).rejects.toMatchObject({ name: 'TextLengthExceededException' });
    await expect(model.synthesize({ text: 'Hello.', voice: 'Nobody', pauseAfterMs: 0 })).rejects.toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    expect(polly.counters.requests).toBe(2);
  });

  it('a throttled call is retried and then succeeds', async () => {
    polly.knobs.failures = ['ThrottlingException'];
    const audio = await model.synthesize({ text: 'Once upon a time.', voice: 'Stephen', pauseAfterMs: 0 });
    expect(mp3Info(audio.mp3).frames).toBeGreaterThan(0);
    expect(polly.counters.requests).toBe(2);
    expect(polly.counters.errors).toBe(1);
  });

  it('persistent throttling is a 429 ProviderUnavailableError with Retry-After', async () => {
    polly.knobs.failures = Array(3).fill('ThrottlingException');
    const err: unknown = await model.synthesize({ text: 'Once upon a time.', voice: 'Stephen', pauseAfterMs: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect(err).toMatchObject({ status: 429 });
    expect((err as ProviderUnavailableError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(polly.counters.requests).toBe(3);
  });

  it('a persistent ServiceFailureException is a 503', async () => {
    polly.knobs.failures = Array(3).fill('ServiceFailureException');
    const err: unknown = await model.synthesize({ text: 'Once upon a time.', voice: 'Stephen', pauseAfterMs: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect(err).toMatchObject({ status: 503, message: expect.stringMatching(/unavailable/) });
    expect(polly.counters.requests).toBe(3);
  });

  it('a Polly slower than the timeout is a 503 "did not answer in time", without hanging', async () => {
    const impatient = await POLLY_SPEECH.load(settings(config.endpoints.polly ?? '', { STORY42_MODEL_TIMEOUT_MS: '300', STORY42_MODEL_MAX_ATTEMPTS: '2' }), quietTelemetry());
    polly.knobs.latencyMs = 60_000;
    const started = Date.now();
    const err: unknown = await impatient.synthesize({ text: 'Hello there.', voice: 'Gregory', pauseAfterMs: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect(err).toMatchObject({ status: 503, message: expect.stringMatching(/did not answer in time/) });
    expect(Date.now() - started).toBeLessThan(10_000);
    await polly.idle();
    expect(polly.counters.requests).toBe(2);
    expect(polly.counters.aborted).toBe(2);
  });

  it("a caller's abort stops the call at once, with no retry", async () => {
    polly.knobs.latencyMs = 60_000;
    const caller = new AbortController();
    const started = Date.now();
    const call = model.synthesize({ text: 'Hello there.', voice: 'Gregory', pauseAfterMs: 0, signal: caller.signal });
    await polly.nextRequest();
    caller.abort(new Error('the reader left'));
    await expect(call).rejects.toThrow('the reader left');
    expect(Date.now() - started).toBeLessThan(10_000);
    await polly.idle();
    expect(polly.counters.requests).toBe(1);
    expect(polly.counters.aborted).toBe(1);
  });
});
