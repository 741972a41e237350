/** Decoding MP3s in tests (mpg123 compiled to WASM): how long they play and how they sound. */
import { MPEGDecoder } from 'mpg123-decoder';
import type { SpeechModel } from '../../src/core/ports';

export interface Decoded {
  samples: Float32Array;
  sampleRate: number;
  durationSeconds: number;
}

/** The MP3 decoded (a decoding error fails the test). */
export async function decodeMp3(bytes: Uint8Array): Promise<Decoded> {
  const decoder = new MPEGDecoder();
  await decoder.ready;
  try {
    const out = decoder.decode(bytes);
    expect(out.errors).toEqual([]);
    const samples = out.channelData[0] ?? new Float32Array(0);
    return { samples, sampleRate: out.sampleRate, durationSeconds: out.samplesDecoded / Math.max(1, out.sampleRate) };
  } finally {
    decoder.free();
  }
}

/** Root-mean-square level of the samples (0 for silence). */
export function rms(samples: Float32Array): number {
  let sum = 0;
  for (const s of samples) sum += s * s;
  return Math.sqrt(sum / Math.max(1, samples.length));
}

/**
 * The median fundamental frequency (Hz) over the voiced 40 ms windows: autocorrelation between
 * 60 and 400 Hz, windows that are quiet or not periodic skipped. Tells a low voice from a high one.
 */
export function medianPitch(samples: Float32Array, sampleRate: number): number {
  const w = Math.round(sampleRate * 0.04);
  const found: number[] = [];
  for (let start = 0; start + w < samples.length; start += w) {
    const seg = samples.subarray(start, start + w);
    let energy = 0;
    for (const v of seg) energy += v * v;
    if (energy / w < 1e-3) continue;
    let best = 0;
    let bestLag = 0;
    for (let lag = Math.floor(sampleRate / 400); lag <= Math.floor(sampleRate / 60); lag++) {
      let c = 0;
      for (let i = 0; i + lag < w; i++) c += (seg[i] as number) * (seg[i + lag] as number);
      if (c > best) {
        best = c;
        bestLag = lag;
      }
    }
    if (bestLag > 0 && best / energy > 0.3) found.push(sampleRate / bestLag);
  }
  found.sort((a, b) => a - b);
  return found[Math.floor(found.length / 2)] ?? 0;
}

/** The seconds of audio mpg123 decodes from the bytes. */
export async function decodedSeconds(mp3: Uint8Array): Promise<number> {
  return (await decodeMp3(mp3)).durationSeconds;
}

/** The same text in two voices is different audio; in one voice twice, the same audio. */
export async function expectVoicesDiffer(model: SpeechModel, text: string, voice: string, other: string): Promise<void> {
  const [a, b, again] = await Promise.all([
    model.synthesize({ text, voice, pauseAfterMs: 0 }),
    model.synthesize({ text, voice: other, pauseAfterMs: 0 }),
    model.synthesize({ text, voice, pauseAfterMs: 0 }),
  ]);
  expect(Buffer.from(a.mp3).equals(Buffer.from(again.mp3))).toBe(true);
  expect(Buffer.from(a.mp3).equals(Buffer.from(b.mp3))).toBe(false);
}
