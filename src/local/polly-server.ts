/**
 * A local Amazon Polly endpoint for `SynthesizeSpeech`, in the service's REST-JSON wire format
 * as `@aws-sdk/client-polly` speaks it — over HTTP/2 (the client's handler is the SDK's
 * `NodeHttp2Handler`, cleartext to an `http://` endpoint): `POST /v1/speech` with a JSON body, the MP3 bytes as
 * the 200 body (`Content-Type: audio/mpeg`, `x-amzn-RequestCharacters`), and errors as
 * restJson1 has them (status, `x-amzn-ErrorType`, `{"message"}`). It speaks with eSpeak NG
 * (the offline synthesizer's worker pool), each Polly voice mapped onto one offline voice, so
 * the audio is real speech whose length follows the text. Knobs script latency and failures.
 */
import { randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { OFFLINE_VOICES, OFFLINE_WORDS_PER_MINUTE } from '../offline/speech-voices';
import { SpeakingRequests } from './speech-requests';

export type PollyFailure = 'ThrottlingException' | 'ServiceFailureException';

type PollyError = PollyFailure | 'ValidationException' | 'InvalidSsmlException' | 'TextLengthExceededException' | 'InvalidSampleRateException' | 'UnknownOperationException';
const ERROR_STATUS: Record<PollyError, number> = {
  ThrottlingException: 400,
  ServiceFailureException: 500,
  ValidationException: 400,
  InvalidSsmlException: 400,
  TextLengthExceededException: 400,
  InvalidSampleRateException: 400,
  UnknownOperationException: 404,
};

/**
 * The neural voices this Polly has (real Polly voice ids), each spoken by one offline voice.
 * The first eight — the platform's default cast — map onto eight different offline voices.
 */
export const LOCAL_POLLY_VOICES: Readonly<Record<string, string>> = {
  Matthew: 'en-us-michael',
  Joanna: 'en-us-steph',
  Stephen: 'en-029-andy',
  Ruth: 'en-gb-linda',
  Kevin: 'en-us-max',
  Danielle: 'en-gb-annie',
  Gregory: 'en-gb-robert',
  Salli: 'en-gb-scotland-john',
  Ivy: 'en-gb-annie',
  Kendra: 'en-us-steph',
  Kimberly: 'en-gb-linda',
  Joey: 'en-us-max',
  Justin: 'en-029-andy',
  Amy: 'en-gb-linda',
  Brian: 'en-gb-robert',
  Emma: 'en-gb-annie',
};

/** Polly's limits per call: billed characters (text without SSML tags), and characters in all. */
export const POLLY_MAX_BILLED_CHARS = 3000;
export const POLLY_MAX_TOTAL_CHARS = 6000;
/** Sample rates Polly's neural engine makes MP3 at; 24000 when none is asked for. */
const SAMPLE_RATES = ['8000', '16000', '22050', '24000'];
const MAX_BODY_BYTES = 256 * 1024;

const requestSchema = z.object({
  Engine: z.enum(['standard', 'neural', 'long-form', 'generative']).optional(),
  LanguageCode: z.string().optional(),
  LexiconNames: z.array(z.string()).max(5).optional(),
  OutputFormat: z.enum(['json', 'mp3', 'ogg_opus', 'ogg_vorbis', 'pcm', 'mulaw', 'alaw']),
  SampleRate: z.string().optional(),
  SpeechMarkTypes: z.array(z.enum(['sentence', 'ssml', 'viseme', 'word'])).optional(),
  Text: z.string(),
  TextType: z.enum(['ssml', 'text']).optional(),
  VoiceId: z.string().min(1),
});

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Whether SSML is one well-formed `<speak>` document: tags balanced, no stray `<` or `&`.
 * Returns what is wrong, or undefined.
 */
export function ssmlProblem(ssml: string): string | undefined {
  const text = ssml.trim();
  if (!text.startsWith('<speak') || !text.endsWith('</speak>')) return 'SSML must be wrapped in <speak> and </speak>';
  const stack: string[] = [];
  const token = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);|[<&]/g;
  let roots = 0;
  for (const m of text.matchAll(token)) {
    const [whole, closing, name, , selfClosing] = m;
    if (whole === '<' || whole === '&') return `Invalid SSML: unescaped "${whole}" at offset ${m.index}`;
    if (whole.startsWith('&')) {
      const entity = whole.slice(1, -1);
      if (!entity.startsWith('#') && !(entity in ENTITIES)) return `Invalid SSML: unknown entity ${whole}`;
      continue;
    }
    if (closing) {
      if (stack.pop() !== name) return `Invalid SSML: unexpected </${name}>`;
      continue;
    }
    if (stack.length === 0) roots += 1;
    if (!selfClosing) stack.push(name ?? '');
  }
  if (stack.length > 0) return `Invalid SSML: <${stack[stack.length - 1]}> is not closed`;
  if (roots !== 1) return 'Invalid SSML: there must be exactly one <speak> element';
  return undefined;
}

/** SSML's text content (what Polly bills): tags removed, entities decoded. */
export function ssmlText(ssml: string): string {
  return ssml
    .replace(/<[^>]*>/g, '')
    .replace(/&(#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);/g, (whole, e: string) => {
      if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
      if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
      return ENTITIES[e] ?? whole;
    });
}

const BREAK = /<break\s+time\s*=\s*"(\d+(?:\.\d+)?)\s*(ms|s)"\s*\/>/g;
const TRAILING_BREAKS = /((?:\s*<break\s+time\s*=\s*"\d+(?:\.\d+)?\s*(?:ms|s)"\s*\/>)+)\s*<\/speak>\s*$/;
/** Polly's longest break. */
const MAX_BREAK_MS = 10_000;

/**
 * The SSML without the breaks at its very end, and their length: eSpeak shortens silence at
 * the end of its speech, so a closing pause (the usual one, between two speakers) is added
 * as silence after it instead, as long as Polly would make it.
 */
export function trailingPause(ssml: string): { ssml: string; pauseMs: number } {
  const m = TRAILING_BREAKS.exec(ssml);
  if (!m) return { ssml, pauseMs: 0 };
  let pauseMs = 0;
  for (const b of (m[1] ?? '').matchAll(BREAK)) pauseMs += Math.min(MAX_BREAK_MS, Math.round(Number(b[1]) * (b[2] === 's' ? 1000 : 1)));
  return { ssml: `${ssml.slice(0, m.index)}</speak>`, pauseMs };
}

export class LocalPollyServer {
  readonly knobs = { latencyMs: 0, failures: [] as PollyFailure[] };
  readonly counters = { requests: 0, errors: 0, aborted: 0, voices: [] as string[], texts: [] as string[] };
  private readonly server: http2.Http2Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly speech = new SpeakingRequests();

  constructor() {
    this.server = http2.createServer((req, res) => {
      const handled = this.handle(req, res).catch(() => {
        try {
          if (res.stream.destroyed) return;
          if (!res.headersSent) this.fail(res, 'ServiceFailureException', 'The local Polly server failed to synthesize speech');
          else res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        } catch {
          // The client went away while the answer was being written.
        }
      });
      this.speech.track(handled);
    });
    this.server.on('session', (session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
  }

  /** Listens on 127.0.0.1 (port 0 = any free port) and returns the base URL. */
  async listen(port = 0): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const session of this.sessions) session.destroy();
    });
    await this.speech.close();
  }

  reset(): void {
    Object.assign(this.knobs, { latencyMs: 0, failures: [] });
    Object.assign(this.counters, { requests: 0, errors: 0, aborted: 0, voices: [], texts: [] });
  }

  /** Resolves once every request received so far has been answered (or its client went away). */
  idle(): Promise<void> {
    return this.speech.idle();
  }

  /** Resolves when the next valid SynthesizeSpeech request has been read. */
  nextRequest(): Promise<void> {
    return this.speech.nextRequest();
  }

  private fail(res: http2.Http2ServerResponse, type: PollyError, message: string, extra: Record<string, unknown> = {}): void {
    this.counters.errors += 1;
    res.writeHead(ERROR_STATUS[type], { 'Content-Type': 'application/json', 'x-amzn-ErrorType': type, 'x-amzn-RequestId': randomUUID() });
    res.end(JSON.stringify({ message, ...extra }));
  }

  private invalid(res: http2.Http2ServerResponse, field: string, message: string): void {
    this.fail(res, 'ValidationException', message, { reason: 'fieldValidationFailed', fields: [{ name: field, message }] });
  }

  private async handle(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    if (req.method !== 'POST' || path !== '/v1/speech') {
      req.resume();
      return this.fail(res, 'UnknownOperationException', `no operation at ${req.method} ${path}`);
    }
    this.counters.requests += 1;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    }
    let json: unknown;
    try {
      if (size > MAX_BODY_BYTES) throw new Error('too large');
      json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return this.invalid(res, 'Text', 'The request body is not a JSON object of at most 256 KB');
    }
    const parsed = requestSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return this.invalid(res, String(issue?.path[0] ?? 'body'), `1 validation error detected: ${issue?.path.join('.') ?? 'body'}: ${issue?.message ?? 'invalid'}`);
    }
    const input = parsed.data;
    this.counters.voices.push(input.VoiceId);
    this.counters.texts.push(input.Text);
    this.speech.arrived();

    const failure = this.knobs.failures.shift();
    if (failure) return this.fail(res, failure, failure === 'ThrottlingException' ? 'Rate exceeded' : 'The local Polly server failed (scripted)');

    const offlineVoice = OFFLINE_VOICES[LOCAL_POLLY_VOICES[input.VoiceId] ?? ''];
    if (!offlineVoice) {
      return this.invalid(res, 'VoiceId', `1 validation error detected: Value '${input.VoiceId}' at 'voiceId' failed to satisfy constraint: Member must be one of: ${Object.keys(LOCAL_POLLY_VOICES).join(', ')}`);
    }
    if (input.Engine !== 'neural') return this.invalid(res, 'Engine', `This voice does not support the selected engine: ${input.Engine ?? 'standard'}`);
    if (input.OutputFormat !== 'mp3') return this.invalid(res, 'OutputFormat', `this local Polly makes mp3 only, not ${input.OutputFormat}`);
    if (input.SpeechMarkTypes?.length) return this.invalid(res, 'SpeechMarkTypes', 'Speech marks require OutputFormat json');
    const sampleRate = input.SampleRate ?? '24000';
    if (!SAMPLE_RATES.includes(sampleRate)) return this.fail(res, 'InvalidSampleRateException', `Sample rate ${sampleRate} is not valid for mp3 (valid: ${SAMPLE_RATES.join(', ')})`);
    const ssml = input.TextType === 'ssml';
    const billed = ssml ? ssmlText(input.Text) : input.Text;
    if (billed.length > POLLY_MAX_BILLED_CHARS || input.Text.length > POLLY_MAX_TOTAL_CHARS) {
      return this.fail(res, 'TextLengthExceededException', `Maximum text length has been exceeded (${billed.length} billed characters of ${POLLY_MAX_BILLED_CHARS}, ${input.Text.length} in all of ${POLLY_MAX_TOTAL_CHARS})`);
    }
    if (ssml) {
      const problem = ssmlProblem(input.Text);
      if (problem) return this.fail(res, 'InvalidSsmlException', problem);
    }

    const rate = Number(sampleRate);
    const spoken = ssml ? trailingPause(input.Text) : { ssml: input.Text, pauseMs: 0 };
    const mp3 = await this.speech.speak(
      { text: spoken.ssml, ssml, espeakVoice: offlineVoice.espeak, pitch: offlineVoice.pitch, speed: OFFLINE_WORDS_PER_MINUTE, pauseMs: spoken.pauseMs, sampleRate: rate, kbps: rate >= 22_050 ? 48 : 32 },
      res,
      this.knobs.latencyMs,
      () => res.stream.destroyed,
    );
    // The client went away (its stream was reset) before the answer was sent.
    if (!mp3) {
      this.counters.aborted += 1;
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'audio/mpeg',
      'Content-Length': String(mp3.byteLength),
      'x-amzn-RequestCharacters': String(billed.length),
      'x-amzn-RequestId': randomUUID(),
    });
    res.end(mp3);
  }
}
