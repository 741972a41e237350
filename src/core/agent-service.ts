/**
 * The story agent's sessions: create, list, read, delete, and one message's turn — the
 * persisted conversation, the tools bound to the verified caller, the agent loop (an
 * `AgentRunner`: the agent framework, outside the core), events as they happen, and the
 * conversation saved after the turn so any process can continue it.
 */
import { agentCreateSchema, agentMessageSchema, agentSystemPrompt } from './agent-prompt';
import { AgentToolbox, type AgentEvent, type AgentTool, type AgentToolDeps } from './agent-tools';
import { contentText, sessionListQuerySchema, toolNames, validateSessionId, type AgentSessionMeta, type AgentSessionStore, type ConversationMessage } from './artifacts';
import { badRequest, HttpError, isAbortError } from './errors';
import type { Caller, Telemetry } from './ports';
import type { PromptService } from './prompt-store';

/** One turn of the agent loop, as the runner sees it. */
export interface AgentRun {
  /** The persisted conversation before this message. */
  history: ConversationMessage[];
  message: string;
  systemPrompt: string;
  tools: AgentTool[];
  signal: AbortSignal;
  onText(delta: string): void;
  onToolCall(name: string, input: unknown): void;
  onToolResult(name: string, status: 'success' | 'error', summary: string): void;
}

export interface AgentRunResult {
  /** The whole conversation after the turn (history included), as plain JSON messages. */
  messages: ConversationMessage[];
  /** The agent's last message's text. */
  text: string;
  stopReason: string;
}

/** The agent loop (the Strands agent in `agent/`; a test may run another). */
export interface AgentRunner {
  /** The model the agent thinks with, as results report it. */
  readonly model: string;
  run(turn: AgentRun): Promise<AgentRunResult>;
}

export interface AgentServiceDeps extends AgentToolDeps {
  runner: AgentRunner;
  telemetry: Telemetry;
  /** The prompts: the agent's system prompt is `story-agent/system`. */
  prompts: PromptService;
  /** The longest one turn may take (its tools included). */
  turnTimeoutMs: number;
}

export type AgentStreamEvent = AgentEvent | { event: 'text'; data: { delta: string } } | { event: 'tool_call' | 'tool_result'; data: Record<string, unknown> };

const summarise = (value: unknown, max = 300): string => {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? '';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
};

export class AgentService {
  /** Sessions with a turn running in this process: a second message waits its turn (409). */
  private readonly running = new Set<string>();

  constructor(private readonly deps: AgentServiceDeps) {}

  get model(): string {
    return this.deps.runner.model;
  }

  create(caller: Caller, body: Record<string, unknown>): Promise<AgentSessionMeta> {
    const parsed = agentCreateSchema.safeParse(body);
    if (!parsed.success) throw badRequest(parsed.error.issues[0]?.message ?? 'invalid body');
    return this.deps.sessions.create(caller.sub, parsed.data.title);
  }

  list(caller: Caller, query: Record<string, string | undefined>) {
    const parsed = sessionListQuerySchema.safeParse(query);
    if (!parsed.success) throw badRequest(parsed.error.issues[0]?.message ?? 'invalid query');
    return this.deps.sessions.list(caller.sub, parsed.data);
  }

  /** The session, its conversation as messages a person reads, its files with fresh URLs, and its current story. */
  async get(caller: Caller, rawId: string | undefined): Promise<Record<string, unknown>> {
    const id = validateSessionId(rawId);
    const { sessions, presignSeconds } = this.deps;
    const meta = await sessions.get(caller.sub, id);
    const [conversation, files] = await Promise.all([sessions.loadConversation(caller.sub, id), sessions.listArtifacts(caller.sub, id)]);
    const artifacts = await Promise.all(files.map(async (f) => ({ ...f, url: await sessions.presignArtifact(caller.sub, id, f.path, presignSeconds) })));
    const messages = conversation
      .map((m) => ({ role: m.role, text: contentText(m.content, '\n'), tools: toolNames(m.content) }))
      .filter((m) => m.text || m.tools.length > 0);
    const tools = this.toolbox(caller, id, new AbortController().signal, () => undefined, () => undefined);
    const [story, current] = await Promise.all([tools.summary(), tools.currentStory()]);
    return { session: meta, messages, artifacts, story, story_job_id: current?.job_id ?? null };
  }

  delete(caller: Caller, rawId: string | undefined) {
    return this.deps.sessions.delete(caller.sub, validateSessionId(rawId));
  }

  private toolbox(caller: Caller, sessionId: string, signal: AbortSignal, emit: (e: AgentEvent) => void, background: (label: string, work: Promise<unknown>) => void, requestId = 'agent'): AgentToolbox {
    return new AgentToolbox(this.deps, { caller, sessionId, requestId, signal, emit, background });
  }

  /**
   * One message: the agent reads the persisted conversation, works with its tools (every event
   * reported through `emit` as it happens), waits for work its tools left running, and saves
   * the conversation. Returns the final state.
   */
  async message(caller: Caller, rawId: string | undefined, body: Record<string, unknown>, opts: { requestId: string; signal?: AbortSignal; emit: (e: AgentStreamEvent) => void }): Promise<Record<string, unknown>> {
    const id = validateSessionId(rawId);
    const parsed = agentMessageSchema.safeParse(body);
    if (!parsed.success) throw badRequest(parsed.error.issues[0]?.message ?? 'invalid body');
    const { sessions, runner, telemetry } = this.deps;
    // Ownership first (403/404), before anything runs.
    await sessions.get(caller.sub, id);
    if (this.running.has(id)) throw new HttpError(409, 'This session is already answering a message; send the next one when it is done');
    this.running.add(id);
    const signal = AbortSignal.any([opts.signal ?? new AbortController().signal, AbortSignal.timeout(this.deps.turnTimeoutMs)]);
    const pending: Array<{ label: string; work: Promise<unknown> }> = [];
    const started = Date.now();
    try {
      const tools = this.toolbox(caller, id, signal, opts.emit, (label, work) => {
        // Observed at once, so a failure is never unhandled; reported when the turn gathers it.
        work.catch(() => undefined);
        pending.push({ label, work });
      }, opts.requestId);
      const [history, state] = await Promise.all([sessions.loadConversation(caller.sub, id), tools.summary()]);
      const system = await agentSystemPrompt(this.deps.prompts, state);
      const result = await runner.run({
        history,
        message: parsed.data.message,
        systemPrompt: system.text,
        tools: tools.tools(),
        signal,
        onText: (delta) => opts.emit({ event: 'text', data: { delta } }),
        onToolCall: (name, input) => opts.emit({ event: 'tool_call', data: { tool: name, input: summarise(input, 500) } }),
        onToolResult: (name, status, summary) => opts.emit({ event: 'tool_result', data: { tool: name, status, summary: summarise(summary) } }),
      });
      // The conversation is saved while the pictures the tools left running are still being
      // drawn (a session without a title is named after its first message); the turn ends when
      // both are done.
      const saving = sessions.saveConversation(caller.sub, id, result.messages, parsed.data.message);
      saving.catch(() => undefined);
      const failures: string[] = [];
      for (let i = 0; i < pending.length; i++) {
        const job = pending[i] as { label: string; work: Promise<unknown> };
        try {
          await job.work;
        } catch (err) {
          if (isAbortError(err) || signal.aborted) throw err;
          failures.push(`${job.label}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      const saved = await saving;
      telemetry.count('agent_turns');
      telemetry.measure('agent_turn_ms', Date.now() - started, 'Milliseconds');
      const meta = saved.session;
      return {
        session: meta,
        text: result.text,
        stop_reason: result.stopReason,
        model: runner.model,
        story: await tools.summary(),
        story_job_id: (await tools.currentStory())?.job_id ?? null,
        dropped_messages: saved.dropped,
        ...(failures.length > 0 ? { failures } : {}),
      };
    } finally {
      this.running.delete(id);
    }
  }
}
