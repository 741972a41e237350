/**
 * A local ElevenLabs text-to-speech API, answering `POST /v1/text-to-speech/{voice_id}` as
 * the official SDK calls it: the key in `xi-api-key`, a JSON body `{text, model_id, ...}`,
 * `output_format=mp3_<rate>_<kbps>` in the query, and MP3 bytes back (`audio/mpeg`, a
 * `request-id` header). Errors have ElevenLabs' bodies: `{"detail": {"status", "message"}}`,
 * and FastAPI's `{"detail": [{"loc", "msg", "type"}]}` for a request that does not validate.
 * It speaks with eSpeak NG (the offline synthesizer's worker pool), each voice mapped onto one
 * offline voice; `<break time="0.4s" />` tags become pauses. Knobs script latency and failures;
 * it records the API keys it was sent (tests check the secret was used, and only it).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { z } from 'zod';
import { OFFLINE_VOICES, OFFLINE_WORDS_PER_MINUTE } from '../offline/speech-voices';
import { closeServer, listenLocal, readBody } from './http-util';
import { SpeakingRequests } from './speech-requests';

export type ElevenLabsFailure = 429 | 500 | 503;
const FAILURE_DETAIL: Record<ElevenLabsFailure, { status: string; message: string }> = {
  429: { status: 'too_many_concurrent_requests', message: 'Too many concurrent requests for your subscription (scripted by the local ElevenLabs server).' },
  500: { status: 'internal_server_error', message: 'An internal error occurred (scripted by the local ElevenLabs server).' },
  503: { status: 'service_unavailable', message: 'The service is temporarily unavailable (scripted by the local ElevenLabs server).' },
};

/**
 * The voices this ElevenLabs has (real premade voice ids), each spoken by one offline voice.
 * The first eight — the platform's default cast — map onto eight different offline voices.
 */
export const LOCAL_ELEVENLABS_VOICES: Readonly<Record<string, string>> = {
  JBFqnCBsd6RMkjVDRZzb: 'en-us-michael', // George
  '21m00Tcm4TlvDq8ikWAM': 'en-us-steph', // Rachel
  pNInz6obpgDQGcFmaJgB: 'en-029-andy', // Adam
  EXAVITQu4vr4xnSDxsKL: 'en-gb-linda', // Sarah
  TxGEqnHWrfWFTfGW9XjX: 'en-us-max', // Josh
  AZnzlk1XvdvUeBnXmlld: 'en-gb-annie', // Nicole
  ErXwobaYiR0Kefw4mtzv: 'en-gb-robert', // Antoni
  VR6AewLTigWG4xSOukaG: 'en-gb-scotland-john', // Arnold
  XB0fDUnXU5powFXDhCwa: 'en-gb-linda', // Charlotte
  onwK4e9ZLuTAKqWW03F9: 'en-gb-robert', // Daniel
};

/** Characters per request (Multilingual v2's limit). */
export const ELEVENLABS_MAX_TEXT = 10_000;
const DEFAULT_MODEL = 'eleven_multilingual_v2';
const SAMPLE_RATES = [22_050, 24_000, 44_100];
const BITRATES = [32, 48, 64, 96, 128, 192];
/** ElevenLabs' longest break. */
const MAX_BREAK_MS = 3_000;
const MAX_BODY_BYTES = 256 * 1024;

const bodySchema = z.object({
  text: z.string(),
  model_id: z.string().min(1).optional(),
  language_code: z.string().nullish(),
  voice_settings: z
    .object({ stability: z.number().min(0).max(1).nullish(), similarity_boost: z.number().min(0).max(1).nullish(), style: z.number().min(0).max(1).nullish(), use_speaker_boost: z.boolean().nullish(), speed: z.number().nullish() })
    .nullish(),
  seed: z.number().int().min(0).max(4_294_967_295).nullish(),
  previous_text: z.string().nullish(),
  next_text: z.string().nullish(),
  apply_text_normalization: z.enum(['auto', 'on', 'off']).optional(),
});

const BREAK_TAG = /<break\s+time\s*=\s*"(\d+(?:\.\d+)?)\s*(s|ms)"\s*\/>/g;
const TRAILING_BREAKS = /(?:\s*<break\s+time\s*=\s*"\d+(?:\.\d+)?\s*(?:s|ms)"\s*\/>)+\s*$/;
const breakMs = (m: RegExpMatchArray): number => Math.min(MAX_BREAK_MS, Math.round(Number(m[1]) * (m[2] === 's' ? 1000 : 1)));

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The text as eSpeak SSML: break tags become SSML breaks (at most 3 s each), everything else
 * is escaped. Breaks at the very end (the usual pause between two speakers) are returned as
 * `pauseMs` instead — eSpeak shortens silence at the end of its speech, so it is added after.
 */
export function elevenLabsSsml(text: string): { ssml: string; spoken: string; pauseMs: number } {
  const trailing = TRAILING_BREAKS.exec(text);
  const body = trailing ? text.slice(0, trailing.index) : text;
  let pauseMs = 0;
  for (const m of (trailing?.[0] ?? '').matchAll(BREAK_TAG)) pauseMs += breakMs(m);
  let ssml = '';
  let spoken = '';
  let at = 0;
  for (const m of body.matchAll(BREAK_TAG)) {
    const part = body.slice(at, m.index);
    ssml += escapeXml(part);
    spoken += part;
    ssml += `<break time="${breakMs(m)}ms"/>`;
    at = m.index + m[0].length;
  }
  ssml += escapeXml(body.slice(at));
  spoken += body.slice(at);
  return { ssml: `<speak>${ssml}</speak>`, spoken, pauseMs };
}

export class LocalElevenLabsServer {
  readonly knobs = { latencyMs: 0, failures: [] as ElevenLabsFailure[] };
  readonly counters = { requests: 0, errors: 0, aborted: 0, apiKeys: [] as string[], voices: [] as string[], texts: [] as string[], models: [] as string[] };
  private readonly server: http.Server;
  private readonly speech = new SpeakingRequests();

  /** `apiKey`: the one key it accepts in `xi-api-key`. */
  constructor(private readonly apiKey: string) {
    this.server = http.createServer((req, res) => {
      const handled = this.handle(req, res).catch(() => {
        try {
          if (!res.headersSent && !res.destroyed) this.reply(res, 500, { detail: FAILURE_DETAIL[500] });
          else res.destroy();
        } catch {
          // The client went away while the answer was being written.
        }
      });
      this.speech.track(handled);
    });
  }

  listen(port = 0): Promise<string> {
    return listenLocal(this.server, port);
  }

  async close(): Promise<void> {
    await closeServer(this.server);
    await this.speech.close();
  }

  reset(): void {
    Object.assign(this.knobs, { latencyMs: 0, failures: [] });
    Object.assign(this.counters, { requests: 0, errors: 0, aborted: 0, apiKeys: [], voices: [], texts: [], models: [] });
  }

  /** Resolves once every request received so far has been answered (or its client went away). */
  idle(): Promise<void> {
    return this.speech.idle();
  }

  /** Resolves when the next authorised, valid text-to-speech request has been read. */
  nextRequest(): Promise<void> {
    return this.speech.nextRequest();
  }

  private reply(res: http.ServerResponse, status: number, body: unknown): void {
    if (status >= 400) this.counters.errors += 1;
    res.writeHead(status, { 'Content-Type': 'application/json', 'request-id': randomUUID() });
    res.end(JSON.stringify(body));
  }

  private unprocessable(res: http.ServerResponse, detail: Array<{ loc: Array<string | number>; msg: string; type: string }>): void {
    this.reply(res, 422, { detail });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const route = /^\/v1\/text-to-speech\/([^/]+)$/.exec(url.pathname);
    if (req.method !== 'POST' || !route) {
      req.resume();
      return this.reply(res, 404, { detail: 'Not Found' });
    }
    this.counters.requests += 1;
    const voice = decodeURIComponent(route[1] ?? '');
    const key = req.headers['xi-api-key'];
    const sent = Array.isArray(key) ? key.join(',') : (key ?? '');
    this.counters.apiKeys.push(sent);
    const body = await readBody(req, MAX_BODY_BYTES, () => new Error('too large')).catch(() => undefined);
    if (sent !== this.apiKey) return this.reply(res, 401, { detail: { status: 'invalid_api_key', message: 'Invalid API key' } });

    const format = url.searchParams.get('output_format') ?? 'mp3_44100_128';
    const fm = /^mp3_(\d+)_(\d+)$/.exec(format);
    const sampleRate = Number(fm?.[1]);
    const kbps = Number(fm?.[2]);
    if (!fm || !SAMPLE_RATES.includes(sampleRate) || !BITRATES.includes(kbps)) {
      return this.unprocessable(res, [{ loc: ['query', 'output_format'], msg: `this local ElevenLabs makes mp3_<${SAMPLE_RATES.join('|')}>_<${BITRATES.join('|')}>, not ${format}`, type: 'enum' }]);
    }
    let json: unknown;
    try {
      json = JSON.parse(body?.toString('utf8') ?? '');
    } catch {
      return this.unprocessable(res, [{ loc: ['body'], msg: 'JSON decode error (or a body over 256 KB)', type: 'json_invalid' }]);
    }
    const parsed = bodySchema.safeParse(json);
    if (!parsed.success) {
      return this.unprocessable(
        res,
        parsed.error.issues.map((i) => ({ loc: ['body', ...i.path.map((p) => (typeof p === 'number' ? p : String(p)))], msg: i.message, type: i.code })),
      );
    }
    const input = parsed.data;
    const model = input.model_id ?? DEFAULT_MODEL;
    this.counters.voices.push(voice);
    this.counters.texts.push(input.text);
    this.counters.models.push(model);
    this.speech.arrived();

    const failure = this.knobs.failures.shift();
    if (failure) return this.reply(res, failure, { detail: FAILURE_DETAIL[failure] });

    const offlineVoice = OFFLINE_VOICES[LOCAL_ELEVENLABS_VOICES[voice] ?? ''];
    if (!offlineVoice) return this.reply(res, 404, { detail: { status: 'voice_not_found', message: `A voice with the voice_id ${voice} was not found.` } });
    if (input.text.length > ELEVENLABS_MAX_TEXT) {
      return this.reply(res, 400, {
        detail: { status: 'max_character_limit_exceeded', message: `You are sending ${input.text.length} characters with a single request, but the maximum is ${ELEVENLABS_MAX_TEXT} characters.` },
      });
    }
    const { ssml, spoken, pauseMs } = elevenLabsSsml(input.text);

    const mp3 = await this.speech.speak({ text: ssml, ssml: true, espeakVoice: offlineVoice.espeak, pitch: offlineVoice.pitch, speed: OFFLINE_WORDS_PER_MINUTE, pauseMs, sampleRate, kbps }, res, this.knobs.latencyMs, () => res.destroyed);
    if (!mp3) {
      this.counters.aborted += 1;
      return;
    }
    res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'Content-Length': String(mp3.byteLength), 'request-id': randomUUID(), 'x-character-count': String(spoken.length) });
    res.end(mp3);
  }
}
