/**
 * A local Amazon Bedrock runtime that answers in the real wire format, for tests, the bench
 * and `npm run local-bedrock`:
 *
 *  - `POST /model/{id}/converse`         Converse JSON (text or toolUse content)
 *  - `POST /model/{id}/converse-stream`  ConverseStream as `application/vnd.amazon.eventstream`
 *                                        frames (messageStart, contentBlockStart/Delta/Stop,
 *                                        messageStop, metadata)
 *  - `POST /model/{id}/invoke`           InvokeModel for the image models (Nova Canvas /
 *                                        Titan Image v2: TEXT_IMAGE, IMAGE_VARIATION)
 *  - errors as Bedrock sends them: status code, `x-amzn-ErrorType`, `{"message": ...}`.
 *
 * It speaks HTTP/2 (cleartext, prior knowledge) because the SDK's Bedrock runtime client
 * does: its default request handler is HTTP/2.
 *
 * Answers are real: text comes from the offline story writer working from the task the
 * prompt carries as JSON, images from the offline illustrator. A conversation that offers the
 * story agent's tools (`write_story` among them) and carries no task is the agent talking to
 * its model: the offline agent model (`agent-model.ts`) answers with tool calls, then text.
 * A plain chat — no tools offered, no task — (the project chat's Bedrock model) is answered with
 * text that says what the model received: its system blocks and messages. `lastRequests` keeps
 * the newest Converse requests as received, for tests to inspect.
 * Knobs script latency, failures and malformed output; counters tell tests what happened.
 */
import { EventEmitter } from 'node:events';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { waitUnlessClosed } from './http-util';
import { z } from 'zod';
import { AGENT_TOOL } from '../core/agent-prompt';
import { TASK_JSON_MARKER, type TextTask } from '../core/prompts';
import { OfflineIllustrator } from '../offline/illustrator';
import { hashString } from '../offline/random';
import { OfflineStoryWriter } from '../offline/writer';
import { agentReply, toolUseIds, type AgentReply } from './agent-model';

export type BedrockErrorName =
  | 'ThrottlingException'
  | 'ValidationException'
  | 'ModelTimeoutException'
  | 'ServiceUnavailableException'
  | 'InternalServerException'
  | 'AccessDeniedException'
  | 'ModelStreamErrorException';

const ERROR_STATUS: Record<BedrockErrorName, number> = {
  ThrottlingException: 429,
  ValidationException: 400,
  ModelTimeoutException: 408,
  ServiceUnavailableException: 503,
  InternalServerException: 500,
  AccessDeniedException: 403,
  ModelStreamErrorException: 424,
};

export interface BedrockKnobs {
  /** Delay before any answer (ms). */
  latencyMs: number;
  /** ConverseStream: delay before the first event; then `latencyMs` is spread over the deltas. */
  firstTokenMs: number;
  /** Failures to answer, in order, one per call (any operation). */
  failures: BedrockErrorName[];
  /** Number of next text calls whose answer is valid JSON of the wrong shape. */
  malformed: number;
  /**
   * Number of next text calls whose answer is not JSON at all: ConverseStream sends a
   * truncated tool-input string; Converse answers with a text block of truncated JSON
   * instead of calling the tool (as models sometimes do).
   */
  brokenJson: number;
  /** Number of next image calls that return bytes that are not a PNG. */
  badImages: number;
  /**
   * ConverseStream failures after the first delta, in order, one per stream call: sent as an
   * event-stream `exception` message (`:exception-type` e.g. `throttlingException`).
   */
  streamFailures: BedrockErrorName[];
}

export interface BedrockCounters {
  converse: number;
  converseStream: number;
  invoke: number;
  errors: number;
  /** Calls whose client went away before the answer was complete. */
  aborted: number;
  /** Requests' model ids, in order. */
  models: string[];
  /** Model calls being answered right now, and the most at any one time since reset. */
  inFlight: number;
  maxInFlight: number;
  /** Calls answered by the offline agent model (the story agent's conversations). */
  agentCalls: number;
}

/** One answer of the offline agent model: text, or the tools it called. */
export interface AgentReplyRecord {
  kind: AgentReply['kind'];
  tools: string[];
}

/** One Converse / ConverseStream request as the server received it (text content only). */
export interface ConverseRecord {
  op: 'converse' | 'converse-stream';
  modelId: string;
  system: string[];
  messages: Array<{ role: 'user' | 'assistant'; text: string }>;
  tools: string[];
}

/** Converse requests `lastRequests` keeps (the newest). */
const RECORDED_REQUESTS = 50;

/** Events: `request` (operation, model id) when a call arrives, `aborted` when its client goes away. */
export interface BedrockServerEvents {
  request: [op: string, modelId: string];
  aborted: [op: string];
}

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => new Uint8Array(Buffer.from(text, 'utf8')),
);

const toolUseSchema = z.object({ toolUseId: z.string().min(1).max(64), name: z.string().min(1).max(64), input: z.unknown() });
const toolResultSchema = z.object({
  toolUseId: z.string().min(1).max(64),
  status: z.enum(['success', 'error']).optional(),
  content: z.array(z.record(z.string(), z.unknown())),
});
/** A content block is a union: exactly one member; text, toolUse and toolResult are checked. */
const contentBlockSchema = z.record(z.string(), z.unknown()).superRefine((block, ctx) => {
  const keys = Object.keys(block);
  if (keys.length !== 1) ctx.addIssue({ code: 'custom', message: `a content block must have exactly one member (got ${keys.length})` });
  else if ('text' in block && typeof block.text !== 'string') ctx.addIssue({ code: 'custom', message: 'text must be a string' });
  else if ('toolUse' in block && !toolUseSchema.safeParse(block.toolUse).success) ctx.addIssue({ code: 'custom', message: 'toolUse needs toolUseId, name and input' });
  else if ('toolResult' in block && !toolResultSchema.safeParse(block.toolResult).success) ctx.addIssue({ code: 'custom', message: 'toolResult needs toolUseId and content' });
});
const cachePointSchema = z.object({ cachePoint: z.object({ type: z.string() }) });

const converseSchema = z.object({
  messages: z.array(z.object({ role: z.enum(['user', 'assistant']), content: z.array(contentBlockSchema).min(1) })).min(1),
  system: z.array(z.union([z.object({ text: z.string() }), cachePointSchema])).optional(),
  toolConfig: z
    .object({
      tools: z.array(
        z.union([
          z.object({ toolSpec: z.object({ name: z.string().min(1).max(64), description: z.string().optional(), inputSchema: z.object({ json: z.unknown() }) }) }),
          cachePointSchema,
        ]),
      ),
      toolChoice: z.unknown().optional(),
    })
    .optional(),
  inferenceConfig: z.object({ maxTokens: z.number().int().positive().optional(), temperature: z.number().optional() }).optional(),
});

type ConverseRequest = z.infer<typeof converseSchema>;

/** One content block of an answer; a tool use carries the input Converse sends and the string ConverseStream streams. */
type AnswerBlock = { toolUse: { toolUseId: string; name: string; input: unknown }; streamedInput: string } | { text: string };

interface Answer {
  blocks: AnswerBlock[];
  inputTokens: number;
  outputTokens: number;
  /** ConverseStream: about this many characters per delta (at most 8 deltas a block). */
  pieceChars: number;
}

const stopReasonOf = (answer: Answer) => (answer.blocks.some((b) => 'toolUse' in b) ? 'tool_use' : 'end_turn');

/** A block's streamed body in at most 8 pieces of about `size` characters (one piece when empty). */
function pieces(body: string, size: number): string[] {
  const count = Math.max(1, Math.min(8, Math.ceil(body.length / size)));
  const each = Math.ceil(body.length / count);
  return Array.from({ length: count }, (_, i) => body.slice(i * each, (i + 1) * each));
}

const imageSchema = z.object({
  taskType: z.enum(['TEXT_IMAGE', 'IMAGE_VARIATION']),
  textToImageParams: z.object({ text: z.string().min(1) }).optional(),
  imageVariationParams: z.object({ text: z.string().optional(), images: z.array(z.string()).min(1) }).optional(),
  imageGenerationConfig: z.object({ width: z.number().int().optional(), height: z.number().int().optional(), seed: z.number().int().optional() }).optional(),
});

export class LocalBedrockServer {
  readonly knobs: BedrockKnobs = { latencyMs: 0, firstTokenMs: 0, failures: [], malformed: 0, brokenJson: 0, badImages: 0, streamFailures: [] };
  readonly counters: BedrockCounters = { converse: 0, converseStream: 0, invoke: 0, errors: 0, aborted: 0, models: [], inFlight: 0, maxInFlight: 0, agentCalls: 0 };
  /** The offline agent model's answers since reset, in order. */
  readonly agentReplies: AgentReplyRecord[] = [];
  /** The newest Converse / ConverseStream requests since reset (at most 50), oldest first. */
  readonly lastRequests: ConverseRecord[] = [];
  readonly events = new EventEmitter<BedrockServerEvents>();
  private readonly server: http2.Http2Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly writer = new OfflineStoryWriter();
  private readonly illustrator = new OfflineIllustrator();

  constructor() {
    this.server = http2.createServer((req, res) => {
      void this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.error(res, 'InternalServerException', err instanceof Error ? err.message : 'internal error');
        else res.end();
      });
    });
    this.server.on('session', (session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    return `http://${host}:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const session of this.sessions) session.destroy();
    });
  }

  /** Resets knobs and counters between tests. */
  reset(): void {
    Object.assign(this.knobs, { latencyMs: 0, firstTokenMs: 0, failures: [], malformed: 0, brokenJson: 0, badImages: 0, streamFailures: [] });
    Object.assign(this.counters, { converse: 0, converseStream: 0, invoke: 0, errors: 0, aborted: 0, models: [], inFlight: 0, maxInFlight: 0, agentCalls: 0 });
    this.agentReplies.length = 0;
    this.lastRequests.length = 0;
    this.events.removeAllListeners();
  }

  /** Resolves when `count` calls in all have been aborted by their clients since reset. */
  abortedCalls(count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.counters.aborted < count) return;
        this.events.off('aborted', check);
        resolve();
      };
      this.events.on('aborted', check);
      check();
    });
  }

  private abort(op: string): void {
    this.counters.aborted += 1;
    this.events.emit('aborted', op);
  }

  private error(res: http2.Http2ServerResponse, name: BedrockErrorName, message: string): void {
    this.counters.errors += 1;
    res.writeHead(ERROR_STATUS[name], { 'Content-Type': 'application/json', 'x-amzn-ErrorType': `${name}:http://internal.amazon.com/coral/com.amazon.bedrock/`, 'x-amzn-RequestId': `local-${Date.now()}` });
    res.end(JSON.stringify({ message }));
  }

  /** Waits `ms`; resolves false early when the client goes away. */
  private wait(ms: number, res: http2.Http2ServerResponse): Promise<boolean> {
    return res.stream.destroyed ? Promise.resolve(false) : waitUnlessClosed(ms, res);
  }

  private async handle(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const m = /^\/model\/([^/]+)\/(converse|converse-stream|invoke)$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !m) return this.error(res, 'ValidationException', `unknown operation ${req.method} ${req.url}`);
    const modelId = decodeURIComponent(m[1] as string);
    const op = m[2] as 'converse' | 'converse-stream' | 'invoke';
    this.counters.inFlight += 1;
    this.counters.maxInFlight = Math.max(this.counters.maxInFlight, this.counters.inFlight);
    try {
      await this.operation(op, modelId, Buffer.concat(chunks), res);
    } finally {
      this.counters.inFlight -= 1;
    }
  }

  private async operation(op: 'converse' | 'converse-stream' | 'invoke', modelId: string, raw: Buffer, res: http2.Http2ServerResponse): Promise<void> {
    this.counters.models.push(modelId);
    this.events.emit('request', op, modelId);
    if (op === 'converse') this.counters.converse += 1;
    else if (op === 'converse-stream') this.counters.converseStream += 1;
    else this.counters.invoke += 1;

    const failure = this.knobs.failures.shift();
    if (failure) return this.error(res, failure, `${failure} (scripted by the local Bedrock server)`);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return this.error(res, 'ValidationException', 'request body is not JSON');
    }
    if (op === 'invoke') return this.invoke(modelId, body, res);
    const parsed = converseSchema.safeParse(body);
    if (!parsed.success) return this.error(res, 'ValidationException', `invalid Converse request: ${parsed.error.issues[0]?.message ?? ''}`);
    this.record(op, modelId, parsed.data);
    const maxTokens = parsed.data.inferenceConfig?.maxTokens;
    // Amazon Nova (v1) accepts at most 5,000 output tokens; Bedrock refuses more up front.
    if (/(^|\.)amazon\.nova-/.test(modelId) && maxTokens !== undefined && maxTokens > 5000) {
      return this.error(res, 'ValidationException', `Malformed input request: maxTokens ${maxTokens} exceeds the model's limit of 5000, please reformat your input and try again.`);
    }
    const answer = this.answer(parsed.data);
    if (op === 'converse') {
      if (!(await this.wait(this.knobs.latencyMs, res))) {
        this.abort(op);
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          output: { message: { role: 'assistant', content: answer.blocks.map((b) => ('toolUse' in b ? { toolUse: b.toolUse } : { text: b.text })) } },
          stopReason: stopReasonOf(answer),
          usage: { inputTokens: answer.inputTokens, outputTokens: answer.outputTokens, totalTokens: answer.inputTokens + answer.outputTokens },
          metrics: { latencyMs: this.knobs.latencyMs },
        }),
      );
      return;
    }
    return this.stream(answer, res);
  }

  /**
   * What the "model" says: for the story agent's conversations, the offline agent model's tool
   * calls or text; else a tool call with the structured result of the prompt's task, or text.
   */
  private answer(request: ConverseRequest): Answer {
    const prompt = request.messages
      .flatMap((msg) => msg.content)
      .map((c) => (typeof c.text === 'string' ? c.text : ''))
      .join('\n');
    const inputTokens = Math.ceil(prompt.length / 4);
    const line = prompt.split('\n').find((l) => l.startsWith(TASK_JSON_MARKER));
    const toolNames = (request.toolConfig?.tools ?? []).flatMap((t) => ('toolSpec' in t ? [t.toolSpec.name] : []));
    if (!line && toolNames.includes(AGENT_TOOL.writeStory)) return this.agentAnswer(request, toolNames, inputTokens);
    if (!line && toolNames.length === 0) return this.chatAnswer(request, inputTokens);
    let result: unknown = { note: 'no task in the prompt' };
    if (line) {
      const task = JSON.parse(line.slice(TASK_JSON_MARKER.length)) as TextTask;
      result = this.writer.write(task, String(hashString(prompt)));
    }
    const malformed = this.knobs.malformed > 0;
    if (malformed) this.knobs.malformed -= 1;
    const text = malformed ? `${JSON.stringify(result).slice(0, 40)}` : JSON.stringify(result);
    // Broken JSON: the model ignores the tool and answers with prose-wrapped, cut-off JSON.
    const broken = !malformed && this.knobs.brokenJson > 0;
    if (broken) this.knobs.brokenJson -= 1;
    const toolName = broken ? undefined : toolNames[0];
    // Malformed: a wrong shape where the wire carries a JSON document (Converse toolUse.input),
    // broken JSON where it carries a string (ConverseStream tool input deltas, text).
    const input = malformed ? { unexpected: 'shape' } : result;
    const streamedInput = malformed ? JSON.stringify(result).slice(0, 40) : JSON.stringify(result);
    const answerText = broken ? `Here is the JSON you asked for: ${JSON.stringify(result).slice(0, 60)}` : text;
    const block: AnswerBlock = toolName ? { toolUse: { toolUseId: 'tooluse_local', name: toolName, input }, streamedInput } : { text: answerText };
    return { blocks: [block], inputTokens, outputTokens: Math.ceil(answerText.length / 4), pieceChars: 200 };
  }

  /** The story agent's model: the offline agent model decides from the conversation and the tools. */
  private agentAnswer(request: ConverseRequest, tools: string[], inputTokens: number): Answer {
    const system = (request.system ?? []).flatMap((b) => ('text' in b ? [{ text: b.text }] : []));
    const reply = agentReply({ system, messages: request.messages, tools }, toolUseIds(request.messages));
    this.counters.agentCalls += 1;
    this.agentReplies.push({ kind: reply.kind, tools: reply.kind === 'tool' ? reply.calls.map((c) => c.name) : [] });
    const blocks: AnswerBlock[] =
      reply.kind === 'tool' ? reply.calls.map((c) => ({ toolUse: { toolUseId: c.toolUseId, name: c.name, input: c.input }, streamedInput: JSON.stringify(c.input) })) : [{ text: reply.text }];
    const outputChars = blocks.reduce((n, b) => n + ('toolUse' in b ? b.streamedInput.length : b.text.length), 0);
    // Text in small pieces, as a model writes it.
    return { blocks, inputTokens, outputTokens: Math.ceil(outputChars / 4), pieceChars: 40 };
  }

  private record(op: 'converse' | 'converse-stream', modelId: string, request: ConverseRequest): void {
    this.lastRequests.push({
      op,
      modelId,
      system: (request.system ?? []).flatMap((b) => ('text' in b ? [b.text] : [])),
      messages: request.messages.map((m) => ({ role: m.role, text: m.content.map((c) => (typeof c.text === 'string' ? c.text : '')).join('') })),
      tools: (request.toolConfig?.tools ?? []).flatMap((t) => ('toolSpec' in t ? [t.toolSpec.name] : [])),
    });
    if (this.lastRequests.length > RECORDED_REQUESTS) this.lastRequests.splice(0, this.lastRequests.length - RECORDED_REQUESTS);
  }

  /** A plain chat: text that says what was received (system blocks, messages, the last message), deterministically. */
  private chatAnswer(request: ConverseRequest, inputTokens: number): Answer {
    const clip = (t: string) => {
      const line = t.replace(/\s+/g, ' ').trim();
      return line.length > 80 ? `${line.slice(0, 79)}…` : line;
    };
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
    const system = (request.system ?? []).flatMap((b) => ('text' in b ? [b.text] : []));
    const texts = request.messages.map((m) => m.content.map((c) => (typeof c.text === 'string' ? c.text : '')).join(''));
    const parts = [`I received ${plural(system.length, 'system block')} and ${plural(request.messages.length, 'message')}.`];
    system.forEach((t, i) => parts.push(`System ${i + 1}: "${clip(t)}".`));
    parts.push(`Your last message: "${clip(texts.at(-1) ?? '')}".`);
    const text = parts.join(' ');
    return { blocks: [{ text }], inputTokens: inputTokens + Math.ceil(system.join('').length / 4), outputTokens: Math.ceil(text.length / 4), pieceChars: 40 };
  }

  private frame(res: http2.Http2ServerResponse, eventType: string, payload: unknown): boolean {
    const bytes = codec.encode({
      headers: {
        ':event-type': { type: 'string', value: eventType },
        ':content-type': { type: 'string', value: 'application/json' },
        ':message-type': { type: 'string', value: 'event' },
      },
      body: new Uint8Array(Buffer.from(JSON.stringify(payload), 'utf8')),
    });
    return res.write(bytes);
  }

  private async stream(answer: Answer, res: http2.Http2ServerResponse): Promise<void> {
    if (!(await this.wait(this.knobs.firstTokenMs, res))) {
      this.abort('converse-stream');
      return;
    }
    const streamFailure = this.knobs.streamFailures.shift();
    res.writeHead(200, { 'Content-Type': 'application/vnd.amazon.eventstream', 'x-amzn-RequestId': `local-${Date.now()}` });
    this.frame(res, 'messageStart', { role: 'assistant' });
    const bodies = answer.blocks.map((b) => pieces('toolUse' in b ? b.streamedInput : b.text, answer.pieceChars));
    // `latencyMs` is spread over every delta of every block.
    const deltaMs = this.knobs.latencyMs / Math.max(1, bodies.reduce((n, p) => n + p.length, 0));
    let sent = 0;
    for (const [index, block] of answer.blocks.entries()) {
      const tool = 'toolUse' in block ? block.toolUse : undefined;
      this.frame(res, 'contentBlockStart', { contentBlockIndex: index, start: tool ? { toolUse: { toolUseId: tool.toolUseId, name: tool.name } } : {} });
      for (const part of bodies[index] ?? []) {
        this.frame(res, 'contentBlockDelta', { contentBlockIndex: index, delta: tool ? { toolUse: { input: part } } : { text: part } });
        sent += 1;
        if (sent === 1 && streamFailure) return this.streamException(res, streamFailure);
        if (!(await this.wait(deltaMs, res))) {
          this.abort('converse-stream');
          return;
        }
      }
      this.frame(res, 'contentBlockStop', { contentBlockIndex: index });
    }
    this.frame(res, 'messageStop', { stopReason: stopReasonOf(answer) });
    this.frame(res, 'metadata', { usage: { inputTokens: answer.inputTokens, outputTokens: answer.outputTokens, totalTokens: answer.inputTokens + answer.outputTokens }, metrics: { latencyMs: this.knobs.firstTokenMs + this.knobs.latencyMs } });
    res.end();
  }

  /** A scripted mid-stream failure: an event-stream `exception` message (`:exception-type` e.g. `throttlingException`), then the end. */
  private streamException(res: http2.Http2ServerResponse, failure: BedrockErrorName): void {
    this.counters.errors += 1;
    const type = `${failure.charAt(0).toLowerCase()}${failure.slice(1)}`;
    res.end(
      codec.encode({
        headers: {
          ':message-type': { type: 'string', value: 'exception' },
          ':exception-type': { type: 'string', value: type },
          ':content-type': { type: 'string', value: 'application/json' },
        },
        body: new Uint8Array(Buffer.from(JSON.stringify({ message: `${failure} (scripted by the local Bedrock server, mid-stream)` }), 'utf8')),
      }),
    );
  }

  private async invoke(modelId: string, body: unknown, res: http2.Http2ServerResponse): Promise<void> {
    if (!/^amazon\.(nova-canvas|titan-image-generator)/.test(modelId)) return this.error(res, 'ValidationException', `model ${modelId} is not an image model here`);
    const parsed = imageSchema.safeParse(body);
    if (!parsed.success) return this.error(res, 'ValidationException', `invalid image request: ${parsed.error.issues[0]?.message ?? ''}`);
    const r = parsed.data;
    const width = r.imageGenerationConfig?.width ?? 512;
    const height = r.imageGenerationConfig?.height ?? 512;
    // Nova Canvas: each side 320..4096 and divisible by 16.
    if (modelId.startsWith('amazon.nova-canvas') && [width, height].some((n) => n < 320 || n > 4096 || n % 16 !== 0)) {
      return this.error(res, 'ValidationException', `Malformed input request: width and height must be between 320 and 4096 and divisible by 16 (got ${width}x${height})`);
    }
    const seed = String(r.imageGenerationConfig?.seed ?? 0);
    let png: Uint8Array;
    if (r.taskType === 'TEXT_IMAGE') {
      if (!r.textToImageParams) return this.error(res, 'ValidationException', 'textToImageParams is required for TEXT_IMAGE');
      png = (await this.illustrator.generate({ prompt: r.textToImageParams.text, artStyle: '', seed, width, height })).png;
    } else {
      const original = r.imageVariationParams?.images[0];
      if (!original) return this.error(res, 'ValidationException', 'imageVariationParams.images is required for IMAGE_VARIATION');
      const text = r.imageVariationParams?.text ?? '';
      png = (await this.illustrator.edit({ original: new Uint8Array(Buffer.from(original, 'base64')), instruction: text, prompt: text, artStyle: '', seed, width, height })).png;
    }
    if (!(await this.wait(this.knobs.latencyMs, res))) {
      this.abort('invoke');
      return;
    }
    const bad = this.knobs.badImages > 0;
    if (bad) this.knobs.badImages -= 1;
    const bytes = bad ? Buffer.from('GIF89a: not the PNG you asked for') : Buffer.from(png);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ images: [bytes.toString('base64')], error: null }));
  }
}
