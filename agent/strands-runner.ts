/**
 * The agent loop on the Strands Agents TypeScript SDK: a Bedrock model (ConverseStream) with
 * the story agent's tools. One Strands `Agent` per turn, seeded with the persisted
 * conversation, so any process (any ECS task) can continue any session.
 */
import { Agent, BedrockModel, DefaultModelRetryStrategy, ExponentialBackoff, ModelError, ModelThrottledError, SlidingWindowConversationManager, tool, type AgentResult, type AgentStreamEvent, type MessageData } from '@strands-agents/sdk';
import { clientSettings } from '../src/aws/clients';
import { CONVERSATION_MAX_MESSAGES, contentText, conversationSchema, type ConversationMessage } from '../src/core/artifacts';
import type { AgentRun, AgentRunner, AgentRunResult } from '../src/core/agent-service';
import type { AgentTool } from '../src/core/agent-tools';
import { HttpError, ProviderUnavailableError } from '../src/core/errors';
import { isThrottled, isTransientFailure } from '../src/platform/failures';
import { agentWiring, type AgentWiring } from '../src/platform/agent-wiring';
import type { Config } from '../src/platform/config';
import type { SearchEngines } from '../src/platform/search-providers';

/** The model's answer to one call, at most (tokens). */
const MAX_TOKENS = 4096;

/** A Strands tool over one of ours: the input is parsed by our schema again inside `run`. */
function strandsTool(t: AgentTool, onResult: AgentRun['onToolResult']) {
  return tool({
    name: t.name,
    description: t.description,
    inputSchema: t.inputSchema,
    callback: async (input: unknown) => {
      try {
        const result = await t.run(input);
        onResult(t.name, 'success', JSON.stringify(result));
        return result;
      } catch (err) {
        // The model reads the reason and tells the user; an unexpected error shows no detail.
        const message = err instanceof HttpError ? err.message : 'the tool failed unexpectedly';
        onResult(t.name, 'error', message);
        throw new Error(message);
      }
    },
  });
}

/** Seconds a client should wait before trying a turn again after the model failed it. */
const MODEL_RETRY_AFTER_SECONDS = 10;

/** The agent's model failing (after the retries): 429 when it throttles, 503 when it is down or unreachable (with Retry-After). */
function modelFailure(err: unknown): unknown {
  const cause = err instanceof Error ? err.cause : undefined;
  if (err instanceof ModelThrottledError || isThrottled(err) || isThrottled(cause)) {
    return new ProviderUnavailableError(429, "The story agent's model is throttling requests; try again shortly", MODEL_RETRY_AFTER_SECONDS);
  }
  if (err instanceof ModelError || isTransientFailure(err) || isTransientFailure(cause)) {
    return new ProviderUnavailableError(503, "The story agent's model is unavailable; try again shortly", MODEL_RETRY_AFTER_SECONDS);
  }
  return err;
}

export class StrandsAgentRunner implements AgentRunner {
  readonly model: string;
  private readonly bedrock: BedrockModel;

  private readonly maxTurns: number;
  /** One per agent (a strategy may keep state across an invocation's attempts). */
  private readonly retry: () => DefaultModelRetryStrategy;

  /** `engine` names what answers when it is not Amazon Bedrock itself (the local Bedrock server). */
  constructor(config: Config, engine?: string) {
    const { modelId, endpoint, maxTurns } = config.agent;
    this.model = engine ? `bedrock/${modelId} (${engine})` : `bedrock/${modelId}`;
    this.maxTurns = maxTurns;
    // Throttled model calls are retried as the story models' are: the configured attempts and backoff.
    const m = config.models;
    this.retry = () => new DefaultModelRetryStrategy({ maxAttempts: m.maxAttempts, backoff: new ExponentialBackoff({ baseMs: Math.max(1, m.backoffMs), maxMs: Math.max(1, m.maxBackoffMs) }) });
    this.bedrock = new BedrockModel({
      modelId,
      maxTokens: MAX_TOKENS,
      stream: true,
      requestTimeout: config.models.timeoutMs,
      clientConfig: { ...clientSettings(config, endpoint), maxAttempts: 1 },
    });
  }

  async run(turn: AgentRun): Promise<AgentRunResult> {
    const agent = new Agent({
      model: this.bedrock,
      messages: turn.history as unknown as MessageData[],
      tools: turn.tools.map((t) => strandsTool(t, turn.onToolResult)),
      systemPrompt: turn.systemPrompt,
      printer: false,
      conversationManager: new SlidingWindowConversationManager({ windowSize: CONVERSATION_MAX_MESSAGES }),
      retryStrategy: this.retry(),
    });
    const stream = agent.stream(turn.message, { cancelSignal: turn.signal, limits: { turns: this.maxTurns } });
    let next: IteratorResult<AgentStreamEvent, AgentResult>;
    try {
      next = await stream.next();
      while (!next.done) {
        const e = next.value;
        if (e.type === 'modelStreamUpdateEvent' && e.event.type === 'modelContentBlockDeltaEvent' && e.event.delta.type === 'textDelta') turn.onText(e.event.delta.text);
        else if (e.type === 'beforeToolCallEvent') turn.onToolCall(e.toolUse.name, e.toolUse.input);
        next = await stream.next();
      }
    } catch (err) {
      throw turn.signal.aborted ? err : modelFailure(err);
    }
    const result = next.value;
    turn.signal.throwIfAborted();
    const messages = conversationSchema.parse(JSON.parse(JSON.stringify(agent.messages))) as ConversationMessage[];
    return { messages, text: contentText(result.lastMessage.content, ''), stopReason: result.stopReason };
  }
}

/** The story agent on Strands, wired for a platform (`PlatformParts.agent`), with the web search engines this process ships. */
export function strandsAgent(config: Config, engine?: string, searchEngines?: SearchEngines): AgentWiring {
  return agentWiring(new StrandsAgentRunner(config, engine), searchEngines);
}
