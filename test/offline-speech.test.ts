/**
 * The offline speech synthesizer (eSpeak NG in worker threads, LAME MP3): real speech at the
 * pace stories are sized for, voices that sound different, pauses, and deadlines.
 */
import { EspeakPool, OfflineSpeechSynthesizer, OFFLINE_VOICE_IDS } from '../src/offline/speech';
import { decodeMp3, medianPitch, rms } from './support/audio';

const SENTENCE = 'Once upon a time, a small dragon named Ember lived at the edge of a quiet town, where the bells rang every evening.';

describe('offline speech synthesizer', () => {
  const pool = new EspeakPool({ threads: 2, timeoutMs: 30_000 });
  const speech = new OfflineSpeechSynthesizer(pool);
  afterAll(() => pool.close());

  it('speaks: an MP3 of audible speech whose length is what it reports', async () => {
    const audio = await speech.synthesize({ text: SENTENCE, voice: 'en-us-michael', pauseAfterMs: 0 });
    expect(audio.model).toBe('espeak-ng');
    const decoded = await decodeMp3(audio.mp3);
    expect(decoded.sampleRate).toBe(24_000);
    expect(Math.abs(decoded.durationSeconds - audio.durationSeconds)).toBeLessThan(0.1);
    expect(audio.durationSeconds).toBeGreaterThan(4);
    expect(audio.durationSeconds).toBeLessThan(12);
    expect(rms(decoded.samples)).toBeGreaterThan(0.02);
    // A voice: a fundamental frequency in the range of human speech, not silence or a tone generator's.
    const f0 = medianPitch(decoded.samples, decoded.sampleRate);
    expect(f0).toBeGreaterThan(60);
    expect(f0).toBeLessThan(300);
  });

  it('speaks at about the 150 words a minute audio stories are sized for', async () => {
    const text = Array.from({ length: 10 }, () => 'The bees flew over the green hill to find the sweet flowers.').join(' ');
    const audio = await speech.synthesize({ text, voice: 'en-us-michael', pauseAfterMs: 0 });
    const wordsPerMinute = 120 / (audio.durationSeconds / 60);
    expect(wordsPerMinute).toBeGreaterThan(120);
    expect(wordsPerMinute).toBeLessThan(190);
  });

  it('the Narrator and the first four speakers of a cast sound different (their pitch differs by at least 10 %)', async () => {
    const cast = OFFLINE_VOICE_IDS.slice(0, 5);
    const pitches = await Promise.all(
      cast.map(async (voice) => {
        const audio = await speech.synthesize({ text: SENTENCE, voice, pauseAfterMs: 0 });
        const d = await decodeMp3(audio.mp3);
        return medianPitch(d.samples, d.sampleRate);
      }),
    );
    for (let i = 0; i < pitches.length; i++) {
      for (let j = i + 1; j < pitches.length; j++) {
        const [a, b] = [pitches[i] as number, pitches[j] as number];
        expect(Math.abs(a - b) / Math.min(a, b)).toBeGreaterThan(0.1);
      }
    }
  });

  it('a pause after the speech is silence of that length', async () => {
    const [plain, paused] = await Promise.all([
      speech.synthesize({ text: 'Hello there.', voice: 'en-gb-linda', pauseAfterMs: 0 }),
      speech.synthesize({ text: 'Hello there.', voice: 'en-gb-linda', pauseAfterMs: 1000 }),
    ]);
    expect(paused.durationSeconds - plain.durationSeconds).toBeCloseTo(1, 1);
    const tail = await decodeMp3(paused.mp3);
    expect(rms(tail.samples.subarray(tail.samples.length - Math.round(tail.sampleRate * 0.8)))).toBeLessThan(0.005);
  });

  it('rejects a voice it does not have', async () => {
    await expect(speech.synthesize({ text: 'Hi.', voice: 'no-such-voice', pauseAfterMs: 0 })).rejects.toThrow(/unknown offline voice/);
    expect(() => new OfflineSpeechSynthesizer(pool, ['en-us-michael', 'robot-9000'])).toThrow(/no voice robot-9000/);
  });

  it('a synthesis over its deadline is stopped with a clear error, and the pool keeps working', async () => {
    const slow = new EspeakPool({ threads: 1, timeoutMs: 5 });
    try {
      await expect(slow.speak({ text: SENTENCE.repeat(20), ssml: false, espeakVoice: 'en-us', pitch: 50, speed: 155, pauseMs: 0, sampleRate: 24_000, kbps: 48 })).rejects.toThrow(/took longer than 5 ms/);
    } finally {
      await slow.close();
    }
    await expect(speech.synthesize({ text: 'Still here.', voice: 'en-us-michael', pauseAfterMs: 0 })).resolves.toMatchObject({ model: 'espeak-ng' });
  });

  it("the caller's abort stops a synthesis", async () => {
    const controller = new AbortController();
    const pending = speech.synthesize({ text: SENTENCE.repeat(30), voice: 'en-us-michael', pauseAfterMs: 0, signal: controller.signal });
    controller.abort(new Error('client went away'));
    await expect(pending).rejects.toThrow();
  });
});
