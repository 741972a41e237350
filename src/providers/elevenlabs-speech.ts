/**
 * ElevenLabs text-to-speech through the official `@elevenlabs/elevenlabs-js` SDK
 * (`textToSpeech.convert`, MP3 at 44.1 kHz / 128 kbps). The API key is read from Secrets
 * Manager on first use and cached; it is never logged, and no error this module throws
 * carries it. The SDK makes one attempt per call (`maxRetries: 0`); `resilient` retries.
 */
import { ElevenLabsClient, ElevenLabsError } from '@elevenlabs/elevenlabs-js';
import { z } from 'zod';
import type { SpeechAudio, SpeechModel, SpeechRequest } from '../core/ports';
import { ELEVENLABS_MAX_CHARS } from '../platform/speech-providers';
import type { ResilienceSettings } from './bedrock-text';
import { resilient } from './resilience';
import { asAttempt, readAudio, requireMp3 } from './speech-audio';

/** ElevenLabs' longest `<break>` tag. */
const MAX_BREAK_MS = 3_000;

/** The text, then ElevenLabs' break tag for the pause (seconds, at most 3; none when 0). */
export function elevenLabsText(text: string, pauseAfterMs: number): string {
  const pause = Math.min(MAX_BREAK_MS, Math.max(0, Math.round(pauseAfterMs)));
  return pause > 0 ? `${text} <break time="${Number((pause / 1000).toFixed(3))}s" />` : text;
}

/** What ElevenLabs' error bodies say: `{"detail": {"status", "message"}}`, or a validation list. */
const errorBodySchema = z.object({
  detail: z.union([
    z.object({ status: z.string().optional(), message: z.string().optional() }),
    z.array(z.object({ msg: z.string().optional(), loc: z.array(z.union([z.string(), z.number()])).optional() })),
    z.string(),
  ]),
});

/**
 * An error answer from ElevenLabs, rebuilt from its status and the body's `detail` only (never
 * the SDK's raw response or headers). `statusCode` is what the retries classify it by.
 */
export class ElevenLabsApiError extends Error {
  constructor(
    readonly statusCode: number | undefined,
    readonly detailStatus: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'ElevenLabsApiError';
  }
}

function describe(err: ElevenLabsError): { status?: string; message?: string } {
  const parsed = errorBodySchema.safeParse(err.body);
  if (!parsed.success) return {};
  const d = parsed.data.detail;
  if (typeof d === 'string') return { message: d };
  if (Array.isArray(d)) return { status: 'validation_error', message: d.map((i) => `${(i.loc ?? []).join('.')}: ${i.msg ?? 'invalid'}`).join('; ') };
  return { status: d.status, message: d.message };
}

/** Turns the SDK's status errors into ElevenLabsApiErrors with the key scrubbed from anything the service echoed. */
function apiError(err: unknown, apiKey: string): unknown {
  if (!(err instanceof ElevenLabsError) || err.statusCode === undefined) return err;
  const { status, message } = describe(err);
  const text = `ElevenLabs answered ${err.statusCode}${status ? ` ${status}` : ''}${message ? `: ${message}` : ''}`.split(apiKey).join('[redacted]');
  return new ElevenLabsApiError(err.statusCode, status, text);
}

export interface ElevenLabsOptions {
  /** Model id, e.g. `eleven_multilingual_v2`. */
  model: string;
  /** The API's base URL (a local server in tests); the SDK's production URL when absent. */
  baseUrl?: string;
  voices: readonly string[];
}

export class ElevenLabsSpeechModel implements SpeechModel {
  readonly provider = 'elevenlabs';
  readonly maxChars = ELEVENLABS_MAX_CHARS;
  readonly voices: readonly string[];
  private sdk?: Promise<{ client: ElevenLabsClient; apiKey: string }>;

  constructor(
    private readonly apiKey: () => Promise<string>,
    private readonly options: ElevenLabsOptions,
    private readonly resilience: ResilienceSettings,
  ) {
    this.voices = options.voices;
  }

  /** The client, built once the key is read (a failed read is retried by the next call). */
  private client(): Promise<{ client: ElevenLabsClient; apiKey: string }> {
    this.sdk ??= this.apiKey().then((apiKey) => ({
      client: new ElevenLabsClient({ apiKey, maxRetries: 0, ...(this.options.baseUrl ? { baseUrl: this.options.baseUrl } : {}) }),
      apiKey,
    }));
    this.sdk.catch(() => {
      this.sdk = undefined;
    });
    return this.sdk;
  }

  async synthesize(req: SpeechRequest): Promise<SpeechAudio> {
    const { client, apiKey } = await this.client();
    const text = elevenLabsText(req.text, req.pauseAfterMs);
    const timeoutInSeconds = this.resilience.policy.timeoutMs / 1000;
    return resilient(
      'ElevenLabs speech',
      (attemptSignal) =>
        asAttempt('ElevenLabs', attemptSignal, async () => {
          let stream: ReadableStream<Uint8Array>;
          try {
            stream = await client.textToSpeech.convert(
              req.voice,
              { text, modelId: this.options.model, outputFormat: 'mp3_44100_128' },
              { abortSignal: attemptSignal, timeoutInSeconds, maxRetries: 0 },
            );
          } catch (err) {
            throw apiError(err, apiKey);
          }
          const mp3 = await readAudio(stream, 'ElevenLabs');
          const info = requireMp3(mp3, 'ElevenLabs');
          return { mp3, durationSeconds: info.durationSeconds, model: `elevenlabs/${this.options.model}` };
        }),
      { ...this.resilience, signal: req.signal },
    );
  }
}
