/**
 * Projects, prompt-card metadata and chat history in DynamoDB (dynalite locally); key schemas in
 * `projects-schema.ts`. Every call goes through `storeCall` (a 503 with Retry-After when
 * DynamoDB is down, slow or unreachable) on a client with deadlines (`dynamoDocumentClient`).
 *
 * - projects: one item per project (`project_id`); the `OwnerCreatedIndex` (owner_id,
 *   created_at) lists a user's projects newest first.
 * - prompt cards: one item per card (`project_id`, `prompt_id`); its text lives in S3.
 * - chat history: one item per exchange (`session_id`, `timestamp` in epoch ms, unique within
 *   the session), with `expires_at` (epoch seconds) for DynamoDB's TTL; the
 *   `ProjectTimestampIndex` (project_id, timestamp; keys only) finds a project's exchanges
 *   when the project is deleted.
 *
 * No transactions are used (dynalite has none).
 */
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { badRequest } from '../core/errors';
import { cardItem, PROJECT_STATUSES, UUID_PATTERN, type CardRecord, type ChatRecord, type Page, type ProjectRecord, type ProjectStore } from '../core/projects';
import { CHAT_HISTORY_SCHEMA, PROJECTS_SCHEMA } from './projects-schema';
import { decodeCursor, deleteKeys, encodeCursor, isConditionFailure, queryAll } from './dynamo-util';
import { storeCall } from './unavailable';

export const OWNER_CREATED_INDEX = PROJECTS_SCHEMA.indexes[0].name;
export const PROJECT_TIMESTAMP_INDEX = CHAT_HISTORY_SCHEMA.indexes[0].name;
/** Tries at the next millisecond when two exchanges of a session land on the same one. */
const APPEND_ATTEMPTS = 20;

export interface ProjectTables {
  projects: string;
  cards: string;
  chatHistory: string;
}

const projectItem = z.object({
  project_id: z.string(),
  owner_id: z.string(),
  name: z.string(),
  description: z.string().default(''),
  settings: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  status: z.enum(PROJECT_STATUSES).default('active'),
  created_at: z.string(),
  updated_at: z.string(),
});

const cardItemSchema = z.object({
  project_id: z.string(),
  prompt_id: z.string(),
  title: z.string(),
  tags: z.array(z.string()).default([]),
  is_active: z.boolean(),
  step_order: z.number(),
  text_bytes: z.number().default(0),
  created_at: z.string(),
  updated_at: z.string(),
});

const chatItem = z.object({
  session_id: z.string(),
  timestamp: z.number(),
  project_id: z.string(),
  user_id: z.string(),
  user_input: z.string(),
  answer: z.string(),
  answer_truncated: z.boolean().optional(),
  cards_used: z.array(z.object({ prompt_id: z.string(), title: z.string() })).default([]),
  processing_ms: z.number().default(0),
  usage: z.object({ input_tokens: z.number(), output_tokens: z.number() }).optional(),
  engine: z.string(),
  model: z.string(),
  created_at: z.string(),
  expires_at: z.number(),
});

const toProject = (item: Record<string, unknown>): ProjectRecord => {
  const i = projectItem.parse(item);
  return { projectId: i.project_id, ownerId: i.owner_id, name: i.name, description: i.description, settings: i.settings, status: i.status, createdAt: i.created_at, updatedAt: i.updated_at };
};

const toCard = (item: Record<string, unknown>): CardRecord => {
  const i = cardItemSchema.parse(item);
  return { projectId: i.project_id, promptId: i.prompt_id, title: i.title, tags: i.tags, isActive: i.is_active, stepOrder: i.step_order, textBytes: i.text_bytes, createdAt: i.created_at, updatedAt: i.updated_at };
};

const toChat = (item: Record<string, unknown>): ChatRecord => {
  const i = chatItem.parse(item);
  return {
    sessionId: i.session_id,
    timestamp: i.timestamp,
    projectId: i.project_id,
    userId: i.user_id,
    input: i.user_input,
    answer: i.answer,
    ...(i.answer_truncated ? { answerTruncated: true } : {}),
    cardsUsed: i.cards_used.map((c) => ({ promptId: c.prompt_id, title: c.title })),
    processingMs: i.processing_ms,
    ...(i.usage ? { usage: { inputTokens: i.usage.input_tokens, outputTokens: i.usage.output_tokens } } : {}),
    engine: i.engine,
    model: i.model,
    createdAt: i.created_at,
    expiresAt: i.expires_at,
  };
};

const projectCursor = z.object({ p: z.string().regex(UUID_PATTERN), o: z.string().max(256), c: z.string().max(64) });
const chatCursor = z.object({ t: z.number().int().nonnegative() });

/** `SET #a = :a, …` for the fields given (undefined ones are left as they are). */
function setExpression(fields: Record<string, unknown>): { UpdateExpression: string; ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues: Record<string, unknown> } {
  const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
  return {
    UpdateExpression: `SET ${entries.map((_e, i) => `#f${i} = :f${i}`).join(', ')}`,
    ExpressionAttributeNames: Object.fromEntries(entries.map(([k], i) => [`#f${i}`, k])),
    ExpressionAttributeValues: Object.fromEntries(entries.map(([, v], i) => [`:f${i}`, v])),
  };
}

export class DynamoProjectStore implements ProjectStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tables: ProjectTables,
  ) {}

  // ---- projects ------------------------------------------------------------------------------

  async createProject(p: ProjectRecord): Promise<void> {
    await storeCall(() =>
      this.doc.send(
        new PutCommand({
          TableName: this.tables.projects,
          Item: { project_id: p.projectId, owner_id: p.ownerId, name: p.name, description: p.description, settings: p.settings, status: p.status, created_at: p.createdAt, updated_at: p.updatedAt },
          ConditionExpression: 'attribute_not_exists(project_id)',
        }),
      ),
    );
  }

  async getProject(projectId: string): Promise<ProjectRecord | undefined> {
    const out = await storeCall(() => this.doc.send(new GetCommand({ TableName: this.tables.projects, Key: { project_id: projectId }, ConsistentRead: true })));
    return out.Item ? toProject(out.Item) : undefined;
  }

  async listProjects(ownerId: string, limit: number, cursor?: string): Promise<Page<ProjectRecord>> {
    let start: Record<string, unknown> | undefined;
    if (cursor !== undefined) {
      const c = decodeCursor(cursor, projectCursor);
      if (!c || c.o !== ownerId) throw badRequest('cursor is not valid; pass the next_cursor of a previous page');
      start = { project_id: c.p, owner_id: c.o, created_at: c.c };
    }
    const items: Record<string, unknown>[] = [];
    // One more than asked: a next page is promised only when there is one.
    while (items.length <= limit) {
      const out: QueryCommandOutput = await storeCall(() =>
        this.doc.send(
          new QueryCommand({
            TableName: this.tables.projects,
            IndexName: OWNER_CREATED_INDEX,
            KeyConditionExpression: 'owner_id = :o',
            ExpressionAttributeValues: { ':o': ownerId },
            ScanIndexForward: false,
            ExclusiveStartKey: start,
            Limit: limit + 1 - items.length,
          }),
        ),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
      if (!start) break;
    }
    const projects = items.slice(0, limit).map(toProject);
    const last = projects.at(-1);
    return { items: projects, ...(items.length > limit && last ? { nextCursor: encodeCursor({ p: last.projectId, o: last.ownerId, c: last.createdAt }) } : {}) };
  }

  async updateProject(projectId: string, changes: Partial<Pick<ProjectRecord, 'name' | 'description' | 'settings' | 'status'>>, updatedAt: string): Promise<ProjectRecord | undefined> {
    const set = setExpression({ name: changes.name, description: changes.description, settings: changes.settings, status: changes.status, updated_at: updatedAt });
    try {
      const out = await storeCall(() =>
        this.doc.send(new UpdateCommand({ TableName: this.tables.projects, Key: { project_id: projectId }, ...set, ConditionExpression: 'attribute_exists(project_id)', ReturnValues: 'ALL_NEW' })),
      );
      return out.Attributes ? toProject(out.Attributes) : undefined;
    } catch (err) {
      if (isConditionFailure(err)) return undefined;
      throw err;
    }
  }

  async deleteProject(projectId: string): Promise<void> {
    await storeCall(() => this.doc.send(new DeleteCommand({ TableName: this.tables.projects, Key: { project_id: projectId } })));
  }

  // ---- prompt cards --------------------------------------------------------------------------

  async createCard(c: CardRecord): Promise<void> {
    await storeCall(() =>
      this.doc.send(
        new PutCommand({
          TableName: this.tables.cards,
          Item: cardItem(c),
          ConditionExpression: 'attribute_not_exists(prompt_id)',
        }),
      ),
    );
  }

  async getCard(projectId: string, promptId: string): Promise<CardRecord | undefined> {
    const out = await storeCall(() => this.doc.send(new GetCommand({ TableName: this.tables.cards, Key: { project_id: projectId, prompt_id: promptId }, ConsistentRead: true })));
    return out.Item ? toCard(out.Item) : undefined;
  }

  async listCards(projectId: string): Promise<CardRecord[]> {
    return (await this.queryAll(this.tables.cards, 'project_id = :p', { ':p': projectId })).map(toCard);
  }

  async updateCard(projectId: string, promptId: string, changes: Partial<Pick<CardRecord, 'title' | 'tags' | 'isActive' | 'stepOrder' | 'textBytes'>>, updatedAt: string): Promise<CardRecord | undefined> {
    const set = setExpression({ title: changes.title, tags: changes.tags, is_active: changes.isActive, step_order: changes.stepOrder, text_bytes: changes.textBytes, updated_at: updatedAt });
    try {
      const out = await storeCall(() =>
        this.doc.send(
          new UpdateCommand({ TableName: this.tables.cards, Key: { project_id: projectId, prompt_id: promptId }, ...set, ConditionExpression: 'attribute_exists(prompt_id)', ReturnValues: 'ALL_NEW' }),
        ),
      );
      return out.Attributes ? toCard(out.Attributes) : undefined;
    } catch (err) {
      if (isConditionFailure(err)) return undefined;
      throw err;
    }
  }

  async deleteCard(projectId: string, promptId: string): Promise<boolean> {
    const out = await storeCall(() => this.doc.send(new DeleteCommand({ TableName: this.tables.cards, Key: { project_id: projectId, prompt_id: promptId }, ReturnValues: 'ALL_OLD' })));
    return out.Attributes !== undefined;
  }

  async deleteCards(projectId: string): Promise<number> {
    const items = await this.queryAll(this.tables.cards, 'project_id = :p', { ':p': projectId }, 'project_id, prompt_id');
    return deleteKeys(this.doc, this.tables.cards, items.map((i) => ({ project_id: String(i.project_id), prompt_id: String(i.prompt_id) })));
  }

  // ---- chat history --------------------------------------------------------------------------

  async appendChat(rec: ChatRecord): Promise<ChatRecord> {
    for (let attempt = 0; attempt < APPEND_ATTEMPTS; attempt++) {
      const stored = { ...rec, timestamp: rec.timestamp + attempt };
      try {
        await storeCall(() =>
          this.doc.send(
            new PutCommand({
              TableName: this.tables.chatHistory,
              Item: {
                session_id: stored.sessionId,
                timestamp: stored.timestamp,
                project_id: stored.projectId,
                user_id: stored.userId,
                user_input: stored.input,
                answer: stored.answer,
                ...(stored.answerTruncated ? { answer_truncated: true } : {}),
                cards_used: stored.cardsUsed.map((c) => ({ prompt_id: c.promptId, title: c.title })),
                processing_ms: stored.processingMs,
                ...(stored.usage ? { usage: { input_tokens: stored.usage.inputTokens, output_tokens: stored.usage.outputTokens } } : {}),
                engine: stored.engine,
                model: stored.model,
                created_at: stored.createdAt,
                [CHAT_HISTORY_SCHEMA.ttlAttribute]: stored.expiresAt,
              },
              ConditionExpression: 'attribute_not_exists(session_id)',
            }),
          ),
        );
        return stored;
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
      }
    }
    throw new Error(`chat session ${rec.sessionId}: no free millisecond for the exchange after ${APPEND_ATTEMPTS} tries`);
  }

  async recentChat(sessionId: string, limit: number): Promise<ChatRecord[]> {
    const out = await storeCall(() =>
      this.doc.send(
        new QueryCommand({
          TableName: this.tables.chatHistory,
          KeyConditionExpression: 'session_id = :s',
          ExpressionAttributeValues: { ':s': sessionId },
          ScanIndexForward: false,
          ConsistentRead: true,
          Limit: limit,
        }),
      ),
    );
    return (out.Items ?? []).map(toChat);
  }

  async chatPage(sessionId: string, limit: number, cursor?: string): Promise<Page<ChatRecord>> {
    let start: Record<string, unknown> | undefined;
    if (cursor !== undefined) {
      const c = decodeCursor(cursor, chatCursor);
      if (!c) throw badRequest('cursor is not valid; pass the next_cursor of a previous page');
      start = { session_id: sessionId, timestamp: c.t };
    }
    const out = await storeCall(() =>
      this.doc.send(
        new QueryCommand({
          TableName: this.tables.chatHistory,
          KeyConditionExpression: 'session_id = :s',
          ExpressionAttributeValues: { ':s': sessionId },
          ScanIndexForward: true,
          ConsistentRead: true,
          ExclusiveStartKey: start,
          Limit: limit + 1,
        }),
      ),
    );
    const all = out.Items ?? [];
    const records = all.slice(0, limit).map(toChat);
    const last = records.at(-1);
    return { items: records, ...(all.length > limit && last ? { nextCursor: encodeCursor({ t: last.timestamp }) } : {}) };
  }

  async deleteProjectChats(projectId: string): Promise<number> {
    // The index is eventually consistent: an exchange stored a moment ago may be missed (its TTL ends it).
    const items = await this.queryAll(this.tables.chatHistory, 'project_id = :p', { ':p': projectId }, undefined, PROJECT_TIMESTAMP_INDEX);
    return deleteKeys(this.doc, this.tables.chatHistory, items.map((i) => ({ session_id: String(i.session_id), timestamp: Number(i.timestamp) })));
  }

  // ---- helpers -------------------------------------------------------------------------------

  /** Every item whose key matches (strongly consistent on the table; an index is eventually consistent). */
  private queryAll(table: string, condition: string, values: Record<string, unknown>, projection?: string, index?: string): Promise<Record<string, unknown>[]> {
    return queryAll(this.doc, {
      TableName: table,
      ...(index ? { IndexName: index } : { ConsistentRead: true }),
      KeyConditionExpression: condition,
      ExpressionAttributeValues: values,
      ...(projection ? { ProjectionExpression: projection } : {}),
    });
  }
}
