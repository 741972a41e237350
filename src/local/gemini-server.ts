/**
 * A local Gemini API (`models/{model}:generateContent`) that answers in the real REST format:
 * `candidates[].content.parts[]` with `inlineData` PNGs drawn by the offline illustrator, and
 * Google's error body `{"error": {"code", "message", "status"}}`. Knobs script latency and
 * failures; it also records which API keys it was sent (tests check the secret was used).
 */
import http from 'node:http';
import { closeServer, listenLocal, waitUnlessClosed } from './http-util';
import { z } from 'zod';
import { OfflineIllustrator } from '../offline/illustrator';

export type GeminiFailure = 'RESOURCE_EXHAUSTED' | 'UNAVAILABLE' | 'INVALID_ARGUMENT';
const FAILURE_CODE: Record<GeminiFailure, number> = { RESOURCE_EXHAUSTED: 429, UNAVAILABLE: 503, INVALID_ARGUMENT: 400 };

const requestSchema = z.object({
  contents: z.array(z.object({ role: z.string().optional(), parts: z.array(z.object({ text: z.string().optional(), inlineData: z.object({ mimeType: z.string(), data: z.string() }).optional() })) })).min(1),
});

export class LocalGeminiServer {
  /** `noImage`: number of next calls answered with text only (no inlineData part). */
  readonly knobs = { latencyMs: 0, failures: [] as GeminiFailure[], noImage: 0 };
  /** `texts`: the text of each valid request, in order of arrival. */
  readonly counters = { generate: 0, edits: 0, errors: 0, aborted: 0, apiKeys: [] as string[], models: [] as string[], texts: [] as string[] };
  private readonly server: http.Server;
  private readonly illustrator = new OfflineIllustrator();

  constructor() {
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  listen(port = 0): Promise<string> {
    return listenLocal(this.server, port);
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  reset(): void {
    Object.assign(this.knobs, { latencyMs: 0, failures: [], noImage: 0 });
    Object.assign(this.counters, { generate: 0, edits: 0, errors: 0, aborted: 0, apiKeys: [], models: [], texts: [] });
  }

  private fail(res: http.ServerResponse, status: GeminiFailure, message: string): void {
    this.counters.errors += 1;
    res.writeHead(FAILURE_CODE[status], { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: { code: FAILURE_CODE[status], message, status } }));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const m = /\/models\/([^/:]+):generateContent/.exec(req.url ?? '');
    if (req.method !== 'POST' || !m) return this.fail(res, 'INVALID_ARGUMENT', `unknown method ${req.method} ${req.url}`);
    this.counters.models.push(decodeURIComponent(m[1] as string));
    this.counters.apiKeys.push(String(req.headers['x-goog-api-key'] ?? new URL(req.url ?? '/', 'http://x').searchParams.get('key') ?? ''));
    const failure = this.knobs.failures.shift();
    if (failure) return this.fail(res, failure, `${failure} (scripted by the local Gemini server)`);
    const parsed = requestSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
    if (!parsed.success) return this.fail(res, 'INVALID_ARGUMENT', 'invalid generateContent request');
    const parts = parsed.data.contents.flatMap((c) => c.parts);
    const text = parts.map((p) => p.text ?? '').join(' ').trim();
    this.counters.texts.push(text);
    const original = parts.find((p) => p.inlineData)?.inlineData;
    let png: Uint8Array;
    if (original) {
      this.counters.edits += 1;
      png = (await this.illustrator.edit({ original: new Uint8Array(Buffer.from(original.data, 'base64')), instruction: text, prompt: text, artStyle: '', seed: text, width: 512, height: 512 })).png;
    } else {
      this.counters.generate += 1;
      png = (await this.illustrator.generate({ prompt: text, artStyle: '', seed: text, width: 1024, height: 1024 })).png;
    }
    if (this.knobs.latencyMs > 0) {
      const answered = await waitUnlessClosed(this.knobs.latencyMs, res);
      if (!answered) {
        this.counters.aborted += 1;
        return;
      }
    }
    if (this.knobs.noImage > 0) {
      this.knobs.noImage -= 1;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'I cannot draw that.' }] }, finishReason: 'STOP', index: 0 }], modelVersion: 'gemini-2.5-flash-image' }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({
        candidates: [{ content: { role: 'model', parts: [{ text: 'Here is the illustration.' }, { inlineData: { mimeType: 'image/png', data: Buffer.from(png).toString('base64') } }] }, finishReason: 'STOP', index: 0 }],
        usageMetadata: { promptTokenCount: Math.ceil(text.length / 4), candidatesTokenCount: 1290, totalTokenCount: Math.ceil(text.length / 4) + 1290 },
        modelVersion: 'gemini-2.5-flash-image',
      }),
    );
  }
}
