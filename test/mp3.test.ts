/**
 * The MP3 frame walker: lengths that match what a real decoder (mpg123) plays, joins that keep
 * every frame in order, tags and encoder header frames dropped, and junk skipped.
 */
import { joinMp3, Mp3JoinError, mp3Info } from '../src/core/mp3';
import { EspeakPool } from '../src/offline/speech';
import type { SpeechJob } from '../src/offline/speech-worker.mjs';
import { decodeMp3 } from './support/audio';

const job = (text: string, sampleRate: number, kbps = 48): SpeechJob => ({ text, ssml: false, espeakVoice: 'en-us', pitch: 50, speed: 130, pauseMs: 0, sampleRate, kbps });

/** A Xing header frame as LAME writes it first: a valid MPEG-2 Layer III frame (24 kHz, 48 kbit/s, mono) whose payload starts with "Xing". */
function xingFrame(): Uint8Array {
  const frame = new Uint8Array(144); // 72 * 48000 / 24000
  frame.set([0xff, 0xf3, 0x64, 0xc4]);
  frame.set(Buffer.from('Xing'), 4 + 9);
  return frame;
}

/** An ID3v2.4 tag of `size` body bytes (a syncsafe size). */
function id3(size: number): Uint8Array {
  const tag = new Uint8Array(10 + size);
  tag.set([0x49, 0x44, 0x33, 4, 0, 0, (size >> 21) & 0x7f, (size >> 14) & 0x7f, (size >> 7) & 0x7f, size & 0x7f]);
  tag.fill(0xff, 10); // sync-like bytes inside the tag must not be read as frames
  return tag;
}

const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

describe('MP3 frames', () => {
  const pool = new EspeakPool({ threads: 2, timeoutMs: 30_000 });
  let a: Uint8Array;
  let b: Uint8Array;
  let other: Uint8Array;
  beforeAll(async () => {
    [a, b, other] = await Promise.all([pool.speak(job('The first part of the story.', 24_000)), pool.speak(job('And here is the second part, a little longer than the first.', 24_000)), pool.speak(job('A different rate.', 22_050))]).then((r) =>
      r.map((x) => x.mp3),
    );
  });
  afterAll(() => pool.close());

  it('measures what mpg123 plays, to the frame', async () => {
    for (const bytes of [a, b, other]) {
      const info = mp3Info(bytes);
      const decoded = await decodeMp3(bytes);
      expect(info.sampleRate).toBe(decoded.sampleRate);
      expect(Math.abs(info.durationSeconds - decoded.durationSeconds)).toBeLessThanOrEqual(1152 / info.sampleRate);
      expect(info.frames).toBeGreaterThan(10);
    }
  });

  it('joins parts into one file as long as the parts together, which a decoder plays whole', async () => {
    const joined = await joinMp3([a, b, a]);
    const expected = mp3Info(a).durationSeconds * 2 + mp3Info(b).durationSeconds;
    expect(joined.info.durationSeconds).toBeCloseTo(expected, 6);
    expect(joined.info.frames).toBe(mp3Info(a).frames * 2 + mp3Info(b).frames);
    expect(mp3Info(joined.mp3)).toEqual(joined.info);
    expect(Math.abs((await decodeMp3(joined.mp3)).durationSeconds - expected)).toBeLessThan(0.1);
  });

  it('drops an ID3 tag and a leading Xing frame, and skips bytes that are not frames', async () => {
    const tagged = concat(id3(300), xingFrame(), a);
    expect(mp3Info(tagged)).toEqual(mp3Info(a));
    const junk = concat(new Uint8Array([1, 2, 3, 0xff, 0xfb, 9]), a);
    expect(mp3Info(junk)).toEqual(mp3Info(a));
    const joined = await joinMp3([tagged, concat(xingFrame(), b)]);
    // The second part's Xing frame is its own first frame: dropped too.
    expect(joined.info.frames).toBe(mp3Info(a).frames + mp3Info(b).frames);
  });

  it('finds no frames in bytes that are not MP3', () => {
    expect(mp3Info(new Uint8Array(0))).toEqual({ durationSeconds: 0, sampleRate: 0, frames: 0 });
    expect(mp3Info(new TextEncoder().encode('<html>not audio</html>'.repeat(50))).frames).toBe(0);
    expect(mp3Info(new Uint8Array(4096).fill(0xff)).frames).toBe(0);
  });

  it('refuses to join parts of different sample rates', async () => {
    await expect(joinMp3([a, other])).rejects.toThrow(Mp3JoinError);
  });
});
