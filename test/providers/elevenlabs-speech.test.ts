/**
 * The ElevenLabs speech provider through @elevenlabs/elevenlabs-js against the local
 * ElevenLabs server (eSpeak NG speaking), with its API key read from a Secrets Manager
 * endpoint (real JSON 1.1 wire format) once and cached — and never written to a log line or
 * an error. Loaded the way the platform loads it: the ELEVENLABS_SPEECH entry.
 */
import { randomBytes } from 'node:crypto';
import { mp3Info } from '../../src/core/mp3';
import { ProviderUnavailableError } from '../../src/core/errors';
import type { SpeechModel } from '../../src/core/ports';
import { LocalElevenLabsServer } from '../../src/local/elevenlabs-server';
import { LocalSecretsServer } from '../../src/local/secrets-server';
import type { Config } from '../../src/platform/config';
import { AWS_SPEECH, ELEVENLABS_MAX_CHARS, ELEVENLABS_SPEECH, ELEVENLABS_VOICES } from '../../src/platform/speech-providers';
import { PlatformTelemetry } from '../../src/platform/telemetry';
import { decodedSeconds, expectVoicesDiffer } from '../support/audio';
import { testConfig } from '../support/local';

const SECRET_ID = 'test/tts-key';
const API_KEY = `sk_${randomBytes(24).toString('hex')}`;
const WRONG_KEY = `sk_${randomBytes(24).toString('hex')}`;
const eleven = new LocalElevenLabsServer(API_KEY);
const secrets = new LocalSecretsServer();
/** Every line the telemetry writes (JSON logs and EMF metrics). */
const lines: string[] = [];
const telemetry = new PlatformTelemetry({ service: 'test-narration', format: 'json', metrics: true, write: (l) => lines.push(l) });
const errors: unknown[] = [];
let urls: { eleven: string; secrets: string };
let model: SpeechModel;

const SENTENCE = 'The old clock in the hall struck midnight, and the house fell silent.';

function settings(secretId: string, overrides: Record<string, string> = {}): Config {
  return testConfig({
    STORY42_SPEECH_PROVIDER: 'external',
    STORY42_TTS_API_KEY_SECRET: secretId,
    STORY42_TTS_BASE_URL: urls.eleven,
    STORY42_SECRETSMANAGER_ENDPOINT: urls.secrets,
    STORY42_MODEL_BACKOFF_MS: '1',
    STORY42_MODEL_MAX_BACKOFF_MS: '4',
    STORY42_MODEL_MAX_ATTEMPTS: '3',
    ...overrides,
  });
}

/** A failure, logged as the platform logs one (the error object itself, with its stack). */
async function failure(call: Promise<unknown>): Promise<Error> {
  const err = await call.then(
    () => new Error('expected the call to fail'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  errors.push(err);
  telemetry.log('error', 'narration failed', { error: err });
  return err as Error;
}

beforeAll(async () => {
  secrets.secrets.set(SECRET_ID, API_KEY);
  const [elevenUrl, secretsUrl] = await Promise.all([eleven.listen(), secrets.listen()]);
  urls = { eleven: elevenUrl, secrets: secretsUrl };
  model = await ELEVENLABS_SPEECH.load(settings(SECRET_ID), telemetry);
});
afterAll(async () => {
  await Promise.all([eleven.close(), secrets.close()]);
});
beforeEach(async () => {
  await eleven.idle();
  eleven.reset();
});

describe('ElevenLabs speech provider', () => {
  it('is what STORY42_SPEECH_PROVIDER=external names, with its voices known before its SDK loads', () => {
    expect(AWS_SPEECH.external).toBe(ELEVENLABS_SPEECH);
    expect(ELEVENLABS_SPEECH.provider).toBe('elevenlabs');
    expect(ELEVENLABS_SPEECH.voices).toHaveLength(8);
    expect(new Set(ELEVENLABS_SPEECH.voices).size).toBe(8);
    expect(model.provider).toBe('elevenlabs');
    expect(model.voices).toEqual(ELEVENLABS_VOICES);
    expect(model.maxChars).toBe(ELEVENLABS_MAX_CHARS);
  });

  it('speaks real MP3 audio with the key from Secrets Manager, read once for many calls', async () => {
    const plain = await model.synthesize({ text: SENTENCE, voice: 'JBFqnCBsd6RMkjVDRZzb', pauseAfterMs: 0 });
    const paused = await model.synthesize({ text: SENTENCE, voice: 'JBFqnCBsd6RMkjVDRZzb', pauseAfterMs: 800 });
    await model.synthesize({ text: 'And then, a knock.', voice: '21m00Tcm4TlvDq8ikWAM', pauseAfterMs: 0 });
    expect(plain.model).toBe('elevenlabs/eleven_multilingual_v2');
    const seconds = await decodedSeconds(plain.mp3);
    expect(seconds).toBeGreaterThan(1);
    expect(Math.abs(seconds - plain.durationSeconds)).toBeLessThan(0.1);
    expect(mp3Info(plain.mp3).sampleRate).toBe(44_100);
    // The pause is ElevenLabs' break tag, and the audio is longer by about as much.
    expect(eleven.counters.texts).toEqual([SENTENCE, `${SENTENCE} <break time="0.8s" />`, 'And then, a knock.']);
    const longer = (await decodedSeconds(paused.mp3)) - seconds;
    expect(longer).toBeGreaterThan(0.5);
    expect(longer).toBeLessThan(1.1);
    expect(eleven.counters.apiKeys).toEqual([API_KEY, API_KEY, API_KEY]);
    expect(eleven.counters.models).toEqual(Array(3).fill('eleven_multilingual_v2'));
    expect(eleven.counters.voices).toEqual(['JBFqnCBsd6RMkjVDRZzb', 'JBFqnCBsd6RMkjVDRZzb', '21m00Tcm4TlvDq8ikWAM']);
    expect(secrets.counters.getSecretValue).toBe(1);
  });

  it('different voices sound different; the same voice says the same text the same way', async () => {
    const text = 'Who is there, asked the cat.';
    await expectVoicesDiffer(model, text, 'pNInz6obpgDQGcFmaJgB', 'EXAVITQu4vr4xnSDxsKL');
  });

  it("a caller's abort stops the call at once, with no retry", async () => {
    // The SDK (2.73) clears its own request timer only when fetch resolves: after an abort it
    // runs out its time, so this model's is short, and the tests after this one outlast it.
    const aborting = await ELEVENLABS_SPEECH.load(settings(SECRET_ID, { STORY42_MODEL_TIMEOUT_MS: '1000' }), telemetry);
    eleven.knobs.latencyMs = 60_000;
    const caller = new AbortController();
    const call = aborting.synthesize({ text: 'Hello there.', voice: 'VR6AewLTigWG4xSOukaG', pauseAfterMs: 0, signal: caller.signal });
    await eleven.nextRequest();
    caller.abort(new Error('the listener left'));
    await expect(call).rejects.toThrow('the listener left');
    await eleven.idle();
    expect(eleven.counters.requests).toBe(1);
    expect(eleven.counters.aborted).toBe(1);
  });

  it('a 429 is retried and then succeeds', async () => {
    eleven.knobs.failures = [429];
    const audio = await model.synthesize({ text: 'Once upon a time.', voice: 'TxGEqnHWrfWFTfGW9XjX', pauseAfterMs: 0 });
    expect(mp3Info(audio.mp3).frames).toBeGreaterThan(0);
    expect(eleven.counters.requests).toBe(2);
    expect(eleven.counters.errors).toBe(1);
  });

  it('persistent 429s are a 429 ProviderUnavailableError with Retry-After', async () => {
    eleven.knobs.failures = [429, 429, 429];
    const err = await failure(model.synthesize({ text: 'Once upon a time.', voice: 'TxGEqnHWrfWFTfGW9XjX', pauseAfterMs: 0 }));
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect(err).toMatchObject({ status: 429 });
    expect((err as ProviderUnavailableError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(eleven.counters.requests).toBe(3);
  });

  it('persistent 503s are a 503', async () => {
    eleven.knobs.failures = [503, 500, 503];
    const err = await failure(model.synthesize({ text: 'Once upon a time.', voice: 'AZnzlk1XvdvUeBnXmlld', pauseAfterMs: 0 }));
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect(err).toMatchObject({ status: 503, message: expect.stringMatching(/unavailable/) });
    expect(eleven.counters.requests).toBe(3);
  });

  it('an ElevenLabs slower than the timeout is a 503 "did not answer in time", without hanging', async () => {
    const impatient = await ELEVENLABS_SPEECH.load(settings(SECRET_ID, { STORY42_MODEL_TIMEOUT_MS: '300', STORY42_MODEL_MAX_ATTEMPTS: '2' }), telemetry);
    eleven.knobs.latencyMs = 60_000;
    const started = Date.now();
    const err = await failure(impatient.synthesize({ text: 'Hello there.', voice: 'ErXwobaYiR0Kefw4mtzv', pauseAfterMs: 0 }));
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect(err).toMatchObject({ status: 503, message: expect.stringMatching(/did not answer in time/) });
    expect(Date.now() - started).toBeLessThan(10_000);
    await eleven.idle();
    expect(eleven.counters.requests).toBe(2);
    expect(eleven.counters.aborted).toBe(2);
  });

  it('an empty secret is a clear error before any call; once the key is put in, the next call reads it', async () => {
    secrets.secrets.set('test/empty-key', '  ');
    const empty = await ELEVENLABS_SPEECH.load(settings('test/empty-key'), telemetry);
    const err = await failure(empty.synthesize({ text: 'Hello.', voice: 'JBFqnCBsd6RMkjVDRZzb', pauseAfterMs: 0 }));
    expect(err.message).toBe('secret test/empty-key has no value; put the text-to-speech API key in it');
    expect(eleven.counters.requests).toBe(0);
    secrets.secrets.set('test/empty-key', API_KEY);
    const audio = await empty.synthesize({ text: 'Hello.', voice: 'JBFqnCBsd6RMkjVDRZzb', pauseAfterMs: 0 });
    expect(mp3Info(audio.mp3).frames).toBeGreaterThan(0);
    expect(eleven.counters.apiKeys).toEqual([API_KEY]);
  });

  it('a wrong key in the secret is a 401, not retried, and the error does not carry the key', async () => {
    secrets.secrets.set('test/wrong-key', WRONG_KEY);
    const wrong = await ELEVENLABS_SPEECH.load(settings('test/wrong-key'), telemetry);
    const err = await failure(wrong.synthesize({ text: 'Hello.', voice: 'JBFqnCBsd6RMkjVDRZzb', pauseAfterMs: 0 }));
    expect(err).toMatchObject({ name: 'ElevenLabsApiError', statusCode: 401, detailStatus: 'invalid_api_key' });
    expect(err.message).toMatch(/401 invalid_api_key/);
    expect(eleven.counters.requests).toBe(1);
    expect(eleven.counters.apiKeys).toEqual([WRONG_KEY]);
  });

  it('an unknown voice is a 404 voice_not_found, not retried', async () => {
    const err = await failure(model.synthesize({ text: 'Hello.', voice: 'NoSuchVoice000000000', pauseAfterMs: 0 }));
    expect(err).toMatchObject({ statusCode: 404, detailStatus: 'voice_not_found' });
    expect(eleven.counters.requests).toBe(1);
  });

  it('the local ElevenLabs answers bad requests as ElevenLabs does', async () => {
    const post = (path: string, body: unknown, key: string | null = API_KEY) =>
      fetch(`${urls.eleven}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(key === null ? {} : { 'xi-api-key': key }) }, body: JSON.stringify(body) });
    const voice = '/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb';
    const missing = await post(voice, { text: 'Hi' }, null);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ detail: { status: 'invalid_api_key', message: 'Invalid API key' } });
    const badBody = await post(voice, { text: 42, model_id: 'eleven_multilingual_v2' });
    expect(badBody.status).toBe(422);
    expect(await badBody.json()).toMatchObject({ detail: [{ loc: ['body', 'text'] }] });
    const badFormat = await post(`${voice}?output_format=mp3_48000_320`, { text: 'Hi' });
    expect(badFormat.status).toBe(422);
    expect(await badFormat.json()).toMatchObject({ detail: [{ loc: ['query', 'output_format'] }] });
    const long = await post(voice, { text: 'a'.repeat(10_001) });
    expect(long.status).toBe(400);
    expect(await long.json()).toMatchObject({ detail: { status: 'max_character_limit_exceeded' } });
    const low = await post(`${voice}?output_format=mp3_22050_32`, { text: 'Hi there.' });
    expect(low.status).toBe(200);
    expect(low.headers.get('content-type')).toBe('audio/mpeg');
    expect(low.headers.get('request-id')).toBeTruthy();
    expect(mp3Info(new Uint8Array(await low.arrayBuffer())).sampleRate).toBe(22_050);
  });

  it('never writes a key to a log line or an error', () => {
    telemetry.flush();
    expect(errors.length).toBeGreaterThanOrEqual(6);
    expect(lines.filter((l) => l.includes('narration failed'))).toHaveLength(errors.length);
    for (const key of [API_KEY, WRONG_KEY]) {
      expect(lines.join('\n')).not.toContain(key);
      for (const err of errors) {
        expect(String((err as Error).message)).not.toContain(key);
        expect(String((err as Error).stack)).not.toContain(key);
      }
    }
  });
});
