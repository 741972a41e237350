/**
 * Projects, their prompt cards and their chat (see `projects.ts` for the data model and limits).
 *
 * Access: only the owner of a project, or a member of the admin group, reads or changes it, its
 * cards and its chats; anyone else gets a 403, and a project nobody has is a 404.
 *
 * A card is two writes — its text in S3, then its metadata row — and is never left half-written:
 * the text goes first, and when the row cannot be written the text is removed again (an update
 * puts the previous text back). A project is deleted with its cards' text, its cards and its
 * chat history; the project row goes last, so a delete that fails half-way can be repeated.
 *
 * A chat call shows the model the project's active cards in step order as its system prompt
 * (one block per card), then the session's newest exchanges, then the input; the answer streams
 * as `delta` events and the exchange is stored in the chat history with a TTL.
 */
import { mapSettled } from './concurrency';
import { badRequest, forbidden, notFound } from './errors';
import type { Caller, ChatModel, ChatTurn, Clock, Telemetry, TokenUsage } from './ports';
import {
  CARDS_PER_PROJECT_MAX,
  CHAT_ANSWER_STORED_MAX,
  CHAT_HISTORY_MAX_CHARS,
  CHAT_HISTORY_MESSAGES,
  CHAT_SYSTEM_MAX_BYTES,
  STEP_ORDER_MAX,
  cardCreateSchema,
  cardItem,
  cardUpdateSchema,
  chatHistoryQuerySchema,
  chatRequestSchema,
  pathIdSchema,
  projectCreateSchema,
  projectListQuerySchema,
  projectUpdateSchema,
  type CardRecord,
  type CardTextStore,
  type ChatRecord,
  type ProjectRecord,
  type ProjectStore,
} from './projects';
import { isAdmin } from './routes';
import type { ProgressEvent } from './story-service';
import type { z } from 'zod';

export interface ProjectsDeps {
  store: ProjectStore;
  texts: CardTextStore;
  chat: ChatModel;
  /** The chat's Bedrock model id (without `bedrock/`). */
  chatModelId: string;
  /** Days a chat history item is kept (its `expires_at`). */
  historyTtlDays: number;
  telemetry: Pick<Telemetry, 'log' | 'count' | 'measure'>;
  clock: Clock;
  newId: () => string;
}

export interface ChatContext {
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
}

/** Card texts read at once for a chat. */
const TEXT_READS = 8;

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw badRequest(parsed.error.issues[0]?.message ?? 'Invalid request');
  return parsed.data;
}

function checkId(name: string, value: string | undefined): string {
  const parsed = pathIdSchema(name).safeParse(value);
  if (!parsed.success) throw badRequest(`${name} in the path must be a UUID (lower-case, as the API made it)`);
  return parsed.data;
}

/** Step order, then creation time, then id: a stable order for cards. */
export function cardOrder(a: CardRecord, b: CardRecord): number {
  return a.stepOrder - b.stepOrder || (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0) || (a.promptId < b.promptId ? -1 : a.promptId > b.promptId ? 1 : 0);
}

/** One system block of the chat: the card's title as a heading, then its text. */
export const cardBlock = (title: string, text: string): string => `## ${title}\n${text.trim()}`;

const projectJson = (p: ProjectRecord) => ({
  project_id: p.projectId,
  owner_id: p.ownerId,
  name: p.name,
  description: p.description,
  settings: p.settings,
  status: p.status,
  created_at: p.createdAt,
  updated_at: p.updatedAt,
});

const usageJson = (u: TokenUsage | undefined) => (u ? { input_tokens: u.inputTokens, output_tokens: u.outputTokens } : null);
const cardsUsedJson = (r: Pick<ChatRecord, 'cardsUsed'>) => r.cardsUsed.map((c) => ({ prompt_id: c.promptId, title: c.title }));

/**
 * The conversation the model is shown: the exchanges (oldest first) as alternating user and
 * assistant messages, the oldest left out first beyond `maxChars`.
 */
export function conversationOf(exchanges: readonly ChatRecord[], maxChars = CHAT_HISTORY_MAX_CHARS): { messages: ChatTurn[]; exchanges: number } {
  const kept: ChatRecord[] = [];
  let used = 0;
  for (let i = exchanges.length - 1; i >= 0; i--) {
    const e = exchanges[i] as ChatRecord;
    const size = e.input.length + e.answer.length;
    if (used + size > maxChars) break;
    used += size;
    kept.unshift(e);
  }
  // A model refuses blank text: an empty answer is shown as what it was.
  const messages = kept.flatMap((e): ChatTurn[] => [
    { role: 'user', text: e.input },
    { role: 'assistant', text: e.answer.trim() === '' ? '(no answer)' : e.answer },
  ]);
  return { messages, exchanges: kept.length };
}

export class ProjectsService {
  constructor(private readonly deps: ProjectsDeps) {}

  /** The chat engine's name (`bedrock`, `offline-chat-responder`). */
  get chatProvider(): string {
    return this.deps.chat.provider;
  }

  private now(): { ms: number; iso: string } {
    const ms = this.deps.clock.now();
    return { ms, iso: new Date(ms).toISOString() };
  }

  /** The project, if the caller may use it: 404 when nobody has it, 403 when another user does (admins may). */
  private async project(caller: Caller, projectIdRaw: string | undefined): Promise<ProjectRecord> {
    const projectId = checkId('project_id', projectIdRaw);
    const project = await this.deps.store.getProject(projectId);
    if (!project) throw notFound(`Project ${projectId} not found`);
    if (project.ownerId !== caller.sub && !isAdmin(caller)) throw forbidden('This project belongs to another user');
    return project;
  }

  // ---- projects ------------------------------------------------------------------------------

  async create(caller: Caller, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const input = parse(projectCreateSchema, body);
    const { iso } = this.now();
    const project: ProjectRecord = { projectId: this.deps.newId(), ownerId: caller.sub, ...input, createdAt: iso, updatedAt: iso };
    await this.deps.store.createProject(project);
    this.deps.telemetry.count('projects_created');
    return projectJson(project);
  }

  async list(caller: Caller, query: Record<string, string | undefined>): Promise<Record<string, unknown>> {
    const q = parse(projectListQuerySchema, query);
    const page = await this.deps.store.listProjects(caller.sub, q.limit ?? 20, q.cursor);
    return { projects: page.items.map(projectJson), next_cursor: page.nextCursor ?? null };
  }

  async get(caller: Caller, projectId: string | undefined): Promise<Record<string, unknown>> {
    return projectJson(await this.project(caller, projectId));
  }

  async update(caller: Caller, projectIdRaw: string | undefined, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const projectId = checkId('project_id', projectIdRaw);
    const changes = parse(projectUpdateSchema, body);
    await this.project(caller, projectId);
    const updated = await this.deps.store.updateProject(projectId, changes, this.now().iso);
    if (!updated) throw notFound(`Project ${projectId} not found`);
    return projectJson(updated);
  }

  /** The project, its cards (rows and text) and its chat history; the project row last. */
  async delete(caller: Caller, projectIdRaw: string | undefined): Promise<Record<string, unknown>> {
    const { projectId } = await this.project(caller, projectIdRaw);
    const { store, texts } = this.deps;
    const objects = await texts.deleteProject(projectId);
    const chats = await store.deleteProjectChats(projectId);
    const cards = await store.deleteCards(projectId);
    await store.deleteProject(projectId);
    this.deps.telemetry.count('projects_deleted');
    return { project_id: projectId, deleted_cards: cards, deleted_card_objects: objects, deleted_chat_messages: chats };
  }

  // ---- prompt cards --------------------------------------------------------------------------

  async createCard(caller: Caller, projectIdRaw: string | undefined, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const projectId = checkId('project_id', projectIdRaw);
    const input = parse(cardCreateSchema, body);
    await this.project(caller, projectId);
    const { store, texts } = this.deps;
    const existing = await store.listCards(projectId);
    if (existing.length >= CARDS_PER_PROJECT_MAX) throw badRequest(`A project has at most ${CARDS_PER_PROJECT_MAX} prompt cards`);
    const last = existing.reduce((n, c) => Math.max(n, c.stepOrder), -1);
    const { iso } = this.now();
    const card: CardRecord = {
      projectId,
      promptId: this.deps.newId(),
      title: input.title,
      tags: input.tags,
      isActive: input.is_active,
      stepOrder: input.step_order ?? Math.min(STEP_ORDER_MAX, last + 1),
      textBytes: Buffer.byteLength(input.text, 'utf8'),
      createdAt: iso,
      updatedAt: iso,
    };
    // The text first; without its row it is removed again, so no card is ever half-written.
    await texts.put(projectId, card.promptId, input.text);
    try {
      await store.createCard(card);
    } catch (err) {
      await this.undo(() => texts.delete(projectId, card.promptId), 'remove the text of a card whose row could not be written', card);
      throw err;
    }
    return this.cardWithText(card, input.text);
  }

  async listCards(caller: Caller, projectIdRaw: string | undefined): Promise<Record<string, unknown>> {
    const { projectId } = await this.project(caller, projectIdRaw);
    const cards = await this.deps.store.listCards(projectId);
    return { project_id: projectId, prompt_cards: [...cards].sort(cardOrder).map(cardItem) };
  }

  private async card(caller: Caller, projectIdRaw: string | undefined, promptIdRaw: string | undefined): Promise<CardRecord> {
    const projectId = checkId('project_id', projectIdRaw);
    const promptId = checkId('prompt_id', promptIdRaw);
    await this.project(caller, projectId);
    const card = await this.deps.store.getCard(projectId, promptId);
    if (!card) throw notFound(`Prompt card ${promptId} not found in project ${projectId}`);
    return card;
  }

  async getCard(caller: Caller, projectId: string | undefined, promptId: string | undefined): Promise<Record<string, unknown>> {
    const card = await this.card(caller, projectId, promptId);
    return this.cardWithText(card, await this.textOf(card));
  }

  async updateCard(caller: Caller, projectIdRaw: string | undefined, promptIdRaw: string | undefined, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    checkId('project_id', projectIdRaw);
    checkId('prompt_id', promptIdRaw);
    const input = parse(cardUpdateSchema, body);
    const card = await this.card(caller, projectIdRaw, promptIdRaw);
    const { store, texts } = this.deps;
    const changes = {
      ...(input.title !== undefined ? { title: input.title } : {}),
      ...(input.tags !== undefined ? { tags: input.tags } : {}),
      ...(input.is_active !== undefined ? { isActive: input.is_active } : {}),
      ...(input.step_order !== undefined ? { stepOrder: input.step_order } : {}),
      ...(input.text !== undefined ? { textBytes: Buffer.byteLength(input.text, 'utf8') } : {}),
    };
    let previous: string | undefined;
    if (input.text !== undefined) {
      previous = await texts.get(card.projectId, card.promptId);
      await texts.put(card.projectId, card.promptId, input.text);
    }
    let updated: CardRecord | undefined;
    try {
      updated = await store.updateCard(card.projectId, card.promptId, changes, this.now().iso);
    } catch (err) {
      // The row kept its old values: so does the text.
      if (input.text !== undefined) {
        const old = previous;
        await this.undo(() => (old === undefined ? texts.delete(card.projectId, card.promptId) : texts.put(card.projectId, card.promptId, old)), 'restore the text of a card whose row could not be updated', card);
      }
      throw err;
    }
    if (!updated) {
      // Deleted meanwhile: the text written above goes too.
      if (input.text !== undefined) await this.undo(() => texts.delete(card.projectId, card.promptId), 'delete the text of a card deleted meanwhile', card);
      throw notFound(`Prompt card ${card.promptId} not found in project ${card.projectId}`);
    }
    return this.cardWithText(updated, input.text ?? (await this.textOf(updated)));
  }

  async deleteCard(caller: Caller, projectIdRaw: string | undefined, promptIdRaw: string | undefined): Promise<Record<string, unknown>> {
    const projectId = checkId('project_id', projectIdRaw);
    const promptId = checkId('prompt_id', promptIdRaw);
    await this.project(caller, projectId);
    // The row first: a card without its row is invisible, and its text goes with the project at the latest.
    if (!(await this.deps.store.deleteCard(projectId, promptId))) throw notFound(`Prompt card ${promptId} not found in project ${projectId}`);
    const removed = await this.undo(() => this.deps.texts.delete(projectId, promptId), 'delete the text of a deleted card', { projectId, promptId });
    return { project_id: projectId, prompt_id: promptId, deleted_card_objects: removed ? 1 : 0 };
  }

  private cardWithText(card: CardRecord, text: string): Record<string, unknown> {
    return { ...cardItem(card), text, s3_uri: `s3://${this.deps.texts.bucket}/${this.deps.texts.keyOf(card.projectId, card.promptId)}` };
  }

  private async textOf(card: CardRecord): Promise<string> {
    const text = await this.deps.texts.get(card.projectId, card.promptId);
    if (text === undefined) {
      this.deps.telemetry.count('card_text_missing');
      this.deps.telemetry.log('warn', 'prompt card: its text is missing', { project_id: card.projectId, prompt_id: card.promptId });
      return '';
    }
    return text;
  }

  /** A compensating step: done, or logged and counted (the original failure is what the caller sees). */
  private async undo(step: () => Promise<void>, what: string, card: { projectId: string; promptId: string }): Promise<boolean> {
    try {
      await step();
      return true;
    } catch (err) {
      this.deps.telemetry.count('card_text_cleanup_failures');
      this.deps.telemetry.log('error', `prompt card: could not ${what}`, { project_id: card.projectId, prompt_id: card.promptId, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
      return false;
    }
  }

  // ---- chat ----------------------------------------------------------------------------------

  async chat(caller: Caller, projectIdRaw: string | undefined, body: Record<string, unknown>, ctx: ChatContext = {}): Promise<Record<string, unknown>> {
    const projectId = checkId('project_id', projectIdRaw);
    const request = parse(chatRequestSchema, body);
    const started = this.deps.clock.now();
    await this.project(caller, projectId);
    const { store, chat, telemetry } = this.deps;
    const sessionId = request.session_id ?? this.deps.newId();
    const [recent, cards] = await Promise.all([request.session_id ? store.recentChat(sessionId, CHAT_HISTORY_MESSAGES) : Promise.resolve([]), store.listCards(projectId)]);
    if (recent.some((r) => r.projectId !== projectId)) throw notFound(`Chat session ${sessionId} not found in project ${projectId}`);
    const active = cards.filter((c) => c.isActive).sort(cardOrder);
    const read = await mapSettled(active, TEXT_READS, (c) => this.textOf(c));
    const system: string[] = [];
    const used: Array<{ promptId: string; title: string }> = [];
    read.forEach((r, i) => {
      if (!r.ok) throw r.error;
      const card = active[i] as CardRecord;
      if (r.value.trim() === '') return;
      system.push(cardBlock(card.title, r.value));
      used.push({ promptId: card.promptId, title: card.title });
    });
    const systemBytes = system.reduce((n, s) => n + Buffer.byteLength(s, 'utf8'), 0);
    if (systemBytes > CHAT_SYSTEM_MAX_BYTES) {
      throw badRequest(`The active prompt cards hold ${systemBytes} bytes of text, over the ${CHAT_SYSTEM_MAX_BYTES} a chat may use: deactivate some`);
    }
    const history = conversationOf([...recent].reverse());
    ctx.onProgress?.({ type: 'stage', stage: 'context', detail: `${used.length} active prompt cards, ${history.exchanges} earlier exchanges` });
    const modelStarted = this.deps.clock.now();
    const reply = await chat.chat({
      system,
      messages: history.messages,
      input: request.input,
      modelId: this.deps.chatModelId,
      seed: `${sessionId}:${recent.length}`,
      signal: ctx.signal,
      onDelta: (text) => ctx.onProgress?.({ type: 'delta', text, field: 'answer', segment: 1 }),
      onRestart: () => ctx.onProgress?.({ type: 'stage', stage: 'restarted', detail: 'the model started its answer over: drop the text so far' }),
    });
    const done = this.deps.clock.now();
    telemetry.count('chat_exchanges');
    telemetry.measure('model_latency_ms', done - modelStarted, 'Milliseconds');
    if (reply.usage) {
      telemetry.count('input_tokens', reply.usage.inputTokens);
      telemetry.count('output_tokens', reply.usage.outputTokens);
    }
    const cut = reply.text.length > CHAT_ANSWER_STORED_MAX;
    const stored = await store.appendChat({
      sessionId,
      timestamp: done,
      projectId,
      userId: caller.sub,
      input: request.input,
      answer: cut ? reply.text.slice(0, CHAT_ANSWER_STORED_MAX) : reply.text,
      ...(cut ? { answerTruncated: true } : {}),
      cardsUsed: used,
      processingMs: done - started,
      usage: reply.usage,
      engine: chat.provider,
      model: reply.model,
      createdAt: new Date(done).toISOString(),
      expiresAt: Math.floor(done / 1000) + this.deps.historyTtlDays * 86_400,
    });
    return {
      project_id: projectId,
      session_id: sessionId,
      answer: reply.text,
      engine: chat.provider,
      model: reply.model,
      cards_used: cardsUsedJson(stored),
      history_messages: history.exchanges,
      usage: usageJson(reply.usage),
      processing_ms: stored.processingMs,
      timestamp: stored.timestamp,
      created_at: stored.createdAt,
    };
  }

  /** A session's exchanges, oldest first, a page at a time. */
  async history(caller: Caller, projectIdRaw: string | undefined, sessionIdRaw: string | undefined, query: Record<string, string | undefined>): Promise<Record<string, unknown>> {
    const projectId = checkId('project_id', projectIdRaw);
    const sessionId = checkId('session_id', sessionIdRaw);
    const q = parse(chatHistoryQuerySchema, query);
    await this.project(caller, projectId);
    const page = await this.deps.store.chatPage(sessionId, q.limit ?? 20, q.cursor);
    if ((q.cursor === undefined && page.items.length === 0) || page.items.some((r) => r.projectId !== projectId)) {
      throw notFound(`Chat session ${sessionId} not found in project ${projectId}`);
    }
    return {
      project_id: projectId,
      session_id: sessionId,
      messages: page.items.map((r) => ({
        timestamp: r.timestamp,
        created_at: r.createdAt,
        user_id: r.userId,
        user_input: r.input,
        answer: r.answer,
        ...(r.answerTruncated ? { answer_truncated: true } : {}),
        cards_used: cardsUsedJson(r),
        processing_ms: r.processingMs,
        usage: usageJson(r.usage),
        engine: r.engine,
        model: r.model,
        expires_at: r.expiresAt,
      })),
      next_cursor: page.nextCursor ?? null,
    };
  }
}
