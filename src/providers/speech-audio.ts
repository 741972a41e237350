/**
 * What the speech providers share: reading a provider's audio stream with a size cap, and
 * making sure the bytes are MP3 frames before anything stores or joins them.
 */
import { mp3Info, type Mp3Info } from '../core/mp3';
import { MalformedOutputError } from './resilience';

/** One call's audio: 2500 characters of speech are ~3 minutes, ~3 MB at 128 kbps; far beyond that is not speech. */
export const MAX_SPEECH_BYTES = 25 * 1024 * 1024;

/** The whole stream, or a MalformedOutputError once it passes `cap` bytes (the rest is not read). */
export async function readAudio(stream: ReadableStream<Uint8Array>, what: string, cap = MAX_SPEECH_BYTES): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > cap) {
        await reader.cancel().catch(() => undefined);
        throw new MalformedOutputError(`${what} sent more than ${cap} bytes of audio`);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return bytes;
}

/** The MP3's frames and length; bytes without a single MPEG audio frame are a MalformedOutputError. */
export function requireMp3(bytes: Uint8Array, what: string): Mp3Info {
  const info = mp3Info(bytes);
  if (info.frames === 0 || info.durationSeconds <= 0) throw new MalformedOutputError(`${what} returned ${bytes.byteLength} bytes that are not MP3 audio`);
  return info;
}

/** An attempt ran out of its time (named `TimeoutError`, so `resilient` counts it as a timeout). */
export class AttemptTimeoutError extends Error {
  constructor(provider: string, options?: { cause?: unknown }) {
    super(`${provider} did not answer within the attempt's time`, options);
    this.name = 'TimeoutError';
  }
}

/**
 * Runs one attempt; when the attempt's signal fired, whatever the SDK threw in its wake (an
 * `AbortError`, a wrapped "user aborted" error, a reset stream) becomes an AttemptTimeoutError.
 * When it fired because the caller went away, `resilient` sees the caller's signal first and
 * throws the caller's reason instead.
 */
export async function asAttempt<T>(provider: string, attemptSignal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (attemptSignal.aborted) throw new AttemptTimeoutError(provider, { cause: err });
    throw err;
  }
}
