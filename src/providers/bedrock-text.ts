/**
 * The Bedrock text provider: Converse, or ConverseStream when the caller wants deltas.
 *
 * Structured output uses tool use: one tool whose input schema is the result's JSON schema,
 * and `toolChoice: { any: {} }` (Bedrock's "use some tool" choice), so the model must
 * answer by "calling" it with arguments shaped like the result. Unlike "answer only with JSON" instructions, this is supported the same
 * way by Nova, Claude and gpt-oss on Bedrock, the model never wraps the JSON in prose or
 * code fences, and the arguments arrive already parsed (or, streamed, as one JSON string).
 * A model that still answers with text is parsed leniently; anything unusable is handed to
 * the core as-is, whose schema check rejects it and asks again with the reason.
 *
 * The project chat's model (`BedrockChatModel`) lives here too: plain-text ConverseStream on the
 * same client, resilience and output budgets, in the same chunk of the text Lambda's bundle.
 */
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, type ContentBlock, type Message, type ToolConfiguration } from '@aws-sdk/client-bedrock-runtime';
import type { ChatCall, ChatModel, ChatReply, TextCall, TextModel, TextOutput, TokenUsage } from '../core/ports';
import { resilient, type ResilientOptions } from './resilience';

export type ResilienceSettings = Omit<ResilientOptions, 'signal'>;

/**
 * Output token budget per model family: Amazon Nova (v1) rejects `maxTokens` above 5,000
 * with a ValidationException; Claude 3.5 Sonnet v2 allows 8,192; gpt-oss more.
 */
export function maxOutputTokens(modelId: string): number {
  if (/(^|\.)amazon\.nova-/.test(modelId)) return 5000;
  return 8192;
}

/** Text of a model answer, without code fences, parsed as JSON if it is JSON. */
export function parseLenient(text: string): unknown {
  const body = text.trim().replace(/^```(?:json)?\s*/i, '').replace(/```\s*$/, '');
  try {
    return JSON.parse(body);
  } catch {
    const start = body.indexOf('{');
    const end = body.lastIndexOf('}');
    if (start >= 0 && end > start) {
      try {
        return JSON.parse(body.slice(start, end + 1));
      } catch {
        // fall through
      }
    }
    return { unparseable_model_output: text.slice(0, 200) };
  }
}

export class BedrockTextModel implements TextModel {
  readonly provider = 'bedrock';

  constructor(
    private readonly client: BedrockRuntimeClient,
    private readonly resilience: ResilienceSettings,
  ) {}

  private request(call: TextCall): { modelId: string; messages: Message[]; system: Array<{ text: string }>; toolConfig: ToolConfiguration } {
    // The rendered `story-writer/repair` prompt when the core sends one; else the same words inline.
    const repairText = call.repairPrompt ?? (call.repairHint ? `Your previous answer was rejected: ${call.repairHint}. Answer again, following every rule.` : undefined);
    const repair = repairText ? `\n\n${repairText}` : '';
    return {
      modelId: call.modelId,
      system: [{ text: call.prompt.system }],
      messages: [{ role: 'user', content: [{ text: `${call.prompt.user}${repair}` }] }],
      toolConfig: {
        tools: [{ toolSpec: { name: call.prompt.resultName, description: `Return the ${call.prompt.resultName.replace(/_/g, ' ')}.`, inputSchema: { json: call.prompt.jsonSchema as never } } }],
        toolChoice: { any: {} },
      },
    };
  }

  async generate(call: TextCall): Promise<TextOutput> {
    let streams = 0;
    return resilient(
      'Bedrock',
      (signal) => {
        if (!call.onDelta) return this.converse(call, signal);
        // A retried stream starts the JSON over: the listener drops what the failed attempt sent.
        if (streams++ > 0) call.onRestart?.();
        return this.stream(call, signal);
      },
      { ...this.resilience, signal: call.signal },
    );
  }

  private async converse(call: TextCall, signal: AbortSignal): Promise<TextOutput> {
    const out = await this.client.send(new ConverseCommand({ ...this.request(call), inferenceConfig: { maxTokens: maxOutputTokens(call.modelId), temperature: 0.7 } }), { abortSignal: signal });
    const content: ContentBlock[] = out.output?.message?.content ?? [];
    const tool = content.find((c) => c.toolUse)?.toolUse;
    const text = content.map((c) => c.text ?? '').join('');
    return {
      data: tool ? tool.input : parseLenient(text),
      model: `bedrock/${call.modelId}`,
      usage: usageOf(out.usage),
    };
  }

  private async stream(call: TextCall, signal: AbortSignal): Promise<TextOutput> {
    const out = await this.client.send(new ConverseStreamCommand({ ...this.request(call), inferenceConfig: { maxTokens: maxOutputTokens(call.modelId), temperature: 0.7 } }), { abortSignal: signal });
    let toolInput = '';
    let text = '';
    let sawTool = false;
    let usage: TokenUsage | undefined;
    for await (const event of out.stream ?? []) {
      if (event.contentBlockStart?.start?.toolUse) sawTool = true;
      const delta = event.contentBlockDelta?.delta;
      if (delta?.toolUse?.input !== undefined) {
        toolInput += delta.toolUse.input;
        call.onDelta?.(delta.toolUse.input);
      } else if (delta?.text !== undefined) {
        text += delta.text;
        call.onDelta?.(delta.text);
      }
      if (event.metadata?.usage) usage = usageOf(event.metadata.usage);
    }
    return { data: parseLenient(sawTool ? toolInput : text), model: `bedrock/${call.modelId}`, usage };
  }
}

/**
 * The Bedrock chat model (project chat): ConverseStream with plain text — the system blocks, the
 * conversation so far, the input — streamed as it arrives, with the same timeouts, retries and
 * 429/503 mapping as the text model (a retried stream starts the answer over: `onRestart`).
 */
export class BedrockChatModel implements ChatModel {
  readonly provider = 'bedrock';

  constructor(
    private readonly client: BedrockRuntimeClient,
    private readonly resilience: ResilienceSettings,
  ) {}

  async chat(call: ChatCall): Promise<ChatReply> {
    let streams = 0;
    return resilient(
      'Bedrock',
      (signal) => {
        if (streams++ > 0) call.onRestart?.();
        return this.stream(call, signal);
      },
      { ...this.resilience, signal: call.signal },
    );
  }

  private async stream(call: ChatCall, signal: AbortSignal): Promise<ChatReply> {
    const messages: Message[] = [...call.messages.map((m): Message => ({ role: m.role, content: [{ text: m.text }] })), { role: 'user', content: [{ text: call.input }] }];
    const out = await this.client.send(
      new ConverseStreamCommand({
        modelId: call.modelId,
        ...(call.system.length > 0 ? { system: call.system.map((text) => ({ text })) } : {}),
        messages,
        inferenceConfig: { maxTokens: maxOutputTokens(call.modelId), temperature: 0.7 },
      }),
      { abortSignal: signal },
    );
    let text = '';
    let usage: TokenUsage | undefined;
    for await (const event of out.stream ?? []) {
      const delta = event.contentBlockDelta?.delta?.text;
      if (delta !== undefined && delta !== '') {
        text += delta;
        call.onDelta?.(delta);
      }
      if (event.metadata?.usage) usage = usageOf(event.metadata.usage);
    }
    return { text, model: `bedrock/${call.modelId}`, usage };
  }
}

function usageOf(u: { inputTokens?: number; outputTokens?: number } | undefined): TokenUsage | undefined {
  return u ? { inputTokens: u.inputTokens ?? 0, outputTokens: u.outputTokens ?? 0 } : undefined;
}
