/**
 * The offline speech synthesizer's worker thread: eSpeak NG (its WASM build from npm) speaks
 * the text into a WAV file in its in-memory file system, and LAME (`@breezystack/lamejs`)
 * encodes the samples to MP3. Both are synchronous and CPU-bound, so they run here, in a
 * worker of a Piscina pool, never on the event loop that serves requests.
 *
 * Node runs this file directly (its built-in type stripping), so it imports no module of ours
 * and uses only erasable TypeScript.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Mp3Encoder } from '@breezystack/lamejs';
import ESpeakNg from 'espeak-ng';

export interface SpeechJob {
  /** Plain text, or SSML when `ssml` is set. */
  text: string;
  ssml: boolean;
  /** eSpeak voice and variant, e.g. `en-us+Michael`. */
  espeakVoice: string;
  /** eSpeak pitch (0-99) and speed (words per minute). */
  pitch: number;
  speed: number;
  /** Silence after the speech. */
  pauseMs: number;
  /** Output sample rate (eSpeak speaks at 22050 Hz; other rates are resampled). */
  sampleRate: number;
  kbps: number;
}

export interface SpeechResult {
  mp3: Uint8Array;
  samples: number;
  sampleRate: number;
}

const ESPEAK_RATE = 22_050;
const WAV_FILE = 'speech.wav';

const require = createRequire(import.meta.url);
const wasmFile = path.join(path.dirname(require.resolve('espeak-ng')), 'espeak-ng.wasm');
// Compiled once per worker; every job instantiates it afresh (the eSpeak CLI runs once per instance).
let compiled: Promise<object> | undefined;

/** The two WebAssembly calls used here (the project's type libraries carry no WebAssembly types). */
interface Wasm {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: object): Promise<object>;
}
const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

async function speakWav(job: SpeechJob): Promise<Uint8Array> {
  compiled ??= wasm.compile(readFileSync(wasmFile));
  const module = await compiled;
  const instantiateWasm = (imports: object, done: (instance: object, module: object) => void): object => {
    void wasm.instantiate(module, imports).then((instance) => done(instance, module));
    return {};
  };
  const args = ['-w', WAV_FILE, '-v', job.espeakVoice, '-p', String(job.pitch), '-s', String(job.speed), ...(job.ssml ? ['-m'] : []), '--', job.text];
  const errors: string[] = [];
  const espeak = await ESpeakNg({ arguments: args, print: () => undefined, printErr: (line: string) => void errors.push(line), instantiateWasm });
  try {
    return espeak.FS.readFile(WAV_FILE);
  } catch {
    throw new Error(`eSpeak NG wrote no audio${errors.length > 0 ? `: ${errors.slice(0, 3).join('; ')}` : ''}`);
  }
}

/** The 16-bit mono samples of eSpeak's WAV (its `data` chunk). */
function samplesOf(wav: Uint8Array): Int16Array {
  const view = new DataView(wav.buffer, wav.byteOffset, wav.byteLength);
  let offset = 12;
  while (offset + 8 <= wav.byteLength) {
    const id = String.fromCharCode(wav[offset] ?? 0, wav[offset + 1] ?? 0, wav[offset + 2] ?? 0, wav[offset + 3] ?? 0);
    const size = view.getUint32(offset + 4, true);
    if (id === 'data') {
      // eSpeak streams its WAV and may leave the size at a placeholder: take what is there.
      const bytes = Math.min(size, wav.byteLength - offset - 8) & ~1;
      return new Int16Array(wav.slice(offset + 8, offset + 8 + bytes).buffer);
    }
    offset += 8 + size + (size & 1);
  }
  throw new Error('eSpeak NG wrote a WAV without samples');
}

/** Linear resampling (speech only; good enough for 22.05 → 24 or 44.1 kHz). */
function resample(input: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return input;
  const out = new Int16Array(Math.floor((input.length * to) / from));
  const step = from / to;
  for (let i = 0; i < out.length; i++) {
    const x = i * step;
    const j = Math.floor(x);
    const a = input[j] ?? 0;
    const b = input[j + 1] ?? a;
    out[i] = Math.round(a + (b - a) * (x - j));
  }
  return out;
}

function encodeMp3(samples: Int16Array, sampleRate: number, kbps: number): Uint8Array {
  const encoder = new Mp3Encoder(1, sampleRate, kbps);
  const chunks: Uint8Array[] = [];
  const block = 1152 * 16;
  for (let i = 0; i < samples.length; i += block) {
    const out = encoder.encodeBuffer(samples.subarray(i, i + block));
    if (out.length > 0) chunks.push(out);
  }
  chunks.push(encoder.flush());
  const mp3 = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    mp3.set(c, at);
    at += c.length;
  }
  return mp3;
}

export default async function synthesize(job: SpeechJob): Promise<SpeechResult> {
  const spoken = resample(samplesOf(await speakWav(job)), ESPEAK_RATE, job.sampleRate);
  const pause = Math.round((job.pauseMs / 1000) * job.sampleRate);
  const samples = new Int16Array(spoken.length + pause);
  samples.set(spoken);
  return { mp3: encodeMp3(samples, job.sampleRate, job.kbps), samples: samples.length, sampleRate: job.sampleRate };
}
