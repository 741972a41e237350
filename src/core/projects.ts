/**
 * Projects, prompt cards and chat (the prompt-customisation data model): the limits, the
 * request and response schemas, the records and the ports of their stores. The service is
 * `projects-service.ts`; the stores are `src/aws/dynamo-project-store.ts` (projects, card
 * metadata, chat history) and `src/aws/s3-card-text.ts` (card text).
 *
 * A project belongs to its owner (the `sub` of the token that created it). Its prompt cards are
 * ordered instructions (`step_order`); the active ones, in that order, are the system prompt of
 * the project's chat. Every id is a server-made UUID (lower-case), checked by pattern on input.
 */
import { z } from 'zod';
import type { TokenUsage } from './ports';
import { pageLimit } from './schemas';

/** Ids of projects, prompt cards and chat sessions: a lower-case UUID (as `randomUUID` makes them). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const PROJECT_NAME_MAX = 200;
export const PROJECT_DESCRIPTION_MAX = 2000;
export const SETTINGS_MAX_ENTRIES = 50;
export const SETTING_KEY_MAX = 64;
export const SETTING_VALUE_MAX = 1000;
export const PROJECT_STATUSES = ['active', 'archived'] as const;

export const CARD_TITLE_MAX = 200;
export const CARD_TAGS_MAX = 20;
export const CARD_TAG_MAX = 50;
/** Bytes (UTF-8) of one card's text. */
export const CARD_TEXT_MAX_BYTES = 32 * 1024;
export const STEP_ORDER_MAX = 10_000;
/** Cards one project may have. */
export const CARDS_PER_PROJECT_MAX = 100;

/** Characters of one chat input. */
export const CHAT_INPUT_MAX = 8000;
/** Earlier exchanges (history items, each a user input and its answer) a chat call is shown, newest kept. */
export const CHAT_HISTORY_MESSAGES = 50;
/** Characters of earlier exchanges a chat call is shown at most (older ones are left out first). */
export const CHAT_HISTORY_MAX_CHARS = 200_000;
/** Bytes (UTF-8) the active cards' text may have in all: the chat's system prompt. */
export const CHAT_SYSTEM_MAX_BYTES = 256 * 1024;
/** Characters of an answer the history keeps (a longer one is cut, and marked). */
export const CHAT_ANSWER_STORED_MAX = 60_000;

const noControl = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/;

const text = (name: string, max: number, min = 1) =>
  z
    .string({ error: `${name} must be a string` })
    .trim()
    .min(min, { error: `${name} must not be empty` })
    .max(max, { error: `${name} must be at most ${max} characters` })
    .regex(noControl, { error: `${name} must not contain control characters` });

const id = (name: string) => z.string({ error: `${name} must be a string` }).max(36, { error: `${name} must be a UUID` }).regex(UUID_PATTERN, { error: `${name} must be a UUID (lower-case, as the API made it)` });

const settingKey = z
  .string()
  .min(1, { error: 'settings keys must not be empty' })
  .max(SETTING_KEY_MAX, { error: `settings keys must be at most ${SETTING_KEY_MAX} characters` })
  .regex(/^[A-Za-z0-9_.-]+$/, { error: 'settings keys must be letters, digits, "_", "." or "-"' });
const settingValue = z.union(
  [
    z.string().max(SETTING_VALUE_MAX, { error: `settings values must be at most ${SETTING_VALUE_MAX} characters` }).regex(noControl, { error: 'settings values must not contain control characters' }),
    z.number().finite(),
    z.boolean(),
  ],
  { error: `settings values must be strings (at most ${SETTING_VALUE_MAX} characters), numbers or booleans` },
);
export const settingsSchema = z
  .record(settingKey, settingValue, {
    error: (issue) => (issue.code === 'invalid_type' ? 'settings must be an object' : issue.code === 'invalid_key' ? `settings keys must be 1-${SETTING_KEY_MAX} letters, digits, "_", "." or "-"` : undefined),
  })
  .refine((s) => Object.keys(s).length <= SETTINGS_MAX_ENTRIES, { error: `settings must have at most ${SETTINGS_MAX_ENTRIES} entries` });
export type ProjectSettings = z.infer<typeof settingsSchema>;

const status = z.enum(PROJECT_STATUSES, { error: 'status must be either "active" or "archived"' });

const projectFields = {
  name: text('name', PROJECT_NAME_MAX),
  description: text('description', PROJECT_DESCRIPTION_MAX, 0),
  settings: settingsSchema,
  status,
};

const oneChange = (fields: readonly string[]) => (v: Record<string, unknown>) => fields.some((f) => v[f] !== undefined);

/** `POST /projects` */
export const projectCreateSchema = z.object({
  name: projectFields.name,
  description: projectFields.description.default(''),
  settings: projectFields.settings.default({}),
  status: projectFields.status.default('active'),
});
export type ProjectCreate = z.infer<typeof projectCreateSchema>;

/** `PUT /projects/{project_id}`: the fields given are replaced (settings as a whole); at least one. */
export const projectUpdateSchema = z
  .object({
    name: projectFields.name.optional(),
    description: projectFields.description.optional(),
    settings: projectFields.settings.optional(),
    status: projectFields.status.optional(),
  })
  .refine(oneChange(['name', 'description', 'settings', 'status']), { error: 'Give at least one of: name, description, settings, status' });
export type ProjectUpdate = z.infer<typeof projectUpdateSchema>;

/** `GET /projects?limit=&cursor=` */
export const projectListQuerySchema = z.object({
  limit: pageLimit(100),
  cursor: z.string().max(1024, { error: 'cursor is too long' }).optional(),
});

const tags = z
  .array(text('tags', CARD_TAG_MAX), { error: 'tags must be an array of strings' })
  .max(CARD_TAGS_MAX, { error: `tags must have at most ${CARD_TAGS_MAX} entries` })
  .transform((t) => [...new Set(t)]);
const stepOrder = z
  .number({ error: 'step_order must be an integer' })
  .int({ error: 'step_order must be an integer' })
  .min(0, { error: `step_order must be between 0 and ${STEP_ORDER_MAX}` })
  .max(STEP_ORDER_MAX, { error: `step_order must be between 0 and ${STEP_ORDER_MAX}` });
const cardText = z
  .string({ error: 'text must be a string' })
  .max(CARD_TEXT_MAX_BYTES, { error: `text must be at most ${CARD_TEXT_MAX_BYTES} bytes` })
  .refine((t) => t.trim() !== '', { error: 'text must not be empty' })
  .refine((t) => Buffer.byteLength(t, 'utf8') <= CARD_TEXT_MAX_BYTES, { error: `text must be at most ${CARD_TEXT_MAX_BYTES} bytes` });
const isActive = z.boolean({ error: 'is_active must be true or false' });

/** `POST /projects/{project_id}/prompt-cards`; `step_order` defaults to one after the last card's. */
export const cardCreateSchema = z.object({
  title: text('title', CARD_TITLE_MAX),
  text: cardText,
  tags: tags.default([]),
  is_active: isActive.default(true),
  step_order: stepOrder.optional(),
});
export type CardCreate = z.infer<typeof cardCreateSchema>;

/** `PUT /projects/{project_id}/prompt-cards/{prompt_id}`: the fields given are replaced; at least one. */
export const cardUpdateSchema = z
  .object({
    title: text('title', CARD_TITLE_MAX).optional(),
    text: cardText.optional(),
    tags: tags.optional(),
    is_active: isActive.optional(),
    step_order: stepOrder.optional(),
  })
  .refine(oneChange(['title', 'text', 'tags', 'is_active', 'step_order']), { error: 'Give at least one of: title, text, tags, is_active, step_order' });
export type CardUpdate = z.infer<typeof cardUpdateSchema>;

/** `POST /projects/{project_id}/chat` */
export const chatRequestSchema = z.object({
  input: text('input', CHAT_INPUT_MAX),
  session_id: id('session_id').optional(),
});
export type ChatRequest = z.infer<typeof chatRequestSchema>;

/** `GET /projects/{project_id}/chat/{session_id}?limit=&cursor=` */
export const chatHistoryQuerySchema = z.object({
  limit: pageLimit(100),
  cursor: z.string().max(256, { error: 'cursor is too long' }).optional(),
});

/** The id in a path, or a 400 naming it. */
export const pathIdSchema = (name: string) => id(name);

// ---- records (as the stores keep them) -----------------------------------------------------

export interface ProjectRecord {
  projectId: string;
  ownerId: string;
  name: string;
  description: string;
  settings: ProjectSettings;
  status: (typeof PROJECT_STATUSES)[number];
  createdAt: string;
  updatedAt: string;
}

export interface CardRecord {
  projectId: string;
  promptId: string;
  title: string;
  tags: string[];
  isActive: boolean;
  stepOrder: number;
  /** Bytes of the card's text (in the card text store). */
  textBytes: number;
  createdAt: string;
  updatedAt: string;
}

export interface CardUse {
  promptId: string;
  title: string;
}

/** One exchange of a chat session: the user's input and the model's answer. */
export interface ChatRecord {
  sessionId: string;
  /** Epoch ms; unique within the session (the sort key). */
  timestamp: number;
  projectId: string;
  userId: string;
  input: string;
  answer: string;
  /** The answer was cut to `CHAT_ANSWER_STORED_MAX` characters for the history. */
  answerTruncated?: boolean;
  cardsUsed: CardUse[];
  processingMs: number;
  usage?: TokenUsage;
  /** The provider that answered (`bedrock`, `offline-chat-responder`) and its model. */
  engine: string;
  model: string;
  createdAt: string;
  /** Epoch seconds: when DynamoDB's TTL may remove the item. */
  expiresAt: number;
}

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

// ---- ports -------------------------------------------------------------------------------

/**
 * Projects, card metadata and chat history (DynamoDB). Storage failures are
 * `StorageUnavailableError` (503); a bad cursor is a 400.
 */
export interface ProjectStore {
  /** Stores a new project (fails if the id is taken). */
  createProject(p: ProjectRecord): Promise<void>;
  getProject(projectId: string): Promise<ProjectRecord | undefined>;
  /** The owner's projects, newest first. */
  listProjects(ownerId: string, limit: number, cursor?: string): Promise<Page<ProjectRecord>>;
  /** Replaces the given fields; undefined when the project is gone. */
  updateProject(projectId: string, changes: Partial<Pick<ProjectRecord, 'name' | 'description' | 'settings' | 'status'>>, updatedAt: string): Promise<ProjectRecord | undefined>;
  deleteProject(projectId: string): Promise<void>;

  createCard(c: CardRecord): Promise<void>;
  getCard(projectId: string, promptId: string): Promise<CardRecord | undefined>;
  /** Every card of the project (at most `CARDS_PER_PROJECT_MAX` are ever made), in no particular order. */
  listCards(projectId: string): Promise<CardRecord[]>;
  /** Replaces the given fields; undefined when the card is gone. */
  updateCard(projectId: string, promptId: string, changes: Partial<Pick<CardRecord, 'title' | 'tags' | 'isActive' | 'stepOrder' | 'textBytes'>>, updatedAt: string): Promise<CardRecord | undefined>;
  /** Whether there was such a card. */
  deleteCard(projectId: string, promptId: string): Promise<boolean>;
  /** Deletes every card row of the project; how many. */
  deleteCards(projectId: string): Promise<number>;

  /** Stores an exchange at its timestamp, or the next free millisecond of the session; returns what was stored. */
  appendChat(rec: ChatRecord): Promise<ChatRecord>;
  /** The session's newest exchanges, newest first. */
  recentChat(sessionId: string, limit: number): Promise<ChatRecord[]>;
  /** One page of the session's exchanges, oldest first. */
  chatPage(sessionId: string, limit: number, cursor?: string): Promise<Page<ChatRecord>>;
  /** Deletes every exchange of every session of the project; how many. */
  deleteProjectChats(projectId: string): Promise<number>;
}

/** The cards' text (S3: `<project_id>/<prompt_id>.txt` in the prompts bucket). */
export interface CardTextStore {
  readonly bucket: string;
  keyOf(projectId: string, promptId: string): string;
  put(projectId: string, promptId: string, text: string): Promise<void>;
  /** The text, or undefined when there is none. */
  get(projectId: string, promptId: string): Promise<string | undefined>;
  delete(projectId: string, promptId: string): Promise<void>;
  /** Deletes every object under the project's prefix; how many. */
  deleteProject(projectId: string): Promise<number>;
}

// ---- responses -----------------------------------------------------------------------------

const projectJson = z.object({
  project_id: z.string(),
  owner_id: z.string().describe("the owner's sub"),
  name: z.string(),
  description: z.string(),
  settings: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  status: z.enum(PROJECT_STATUSES),
  created_at: z.string().describe('ISO 8601'),
  updated_at: z.string().describe('ISO 8601'),
});
export const projectResponse = projectJson;
export const projectListResponse = z.object({ projects: z.array(projectJson), next_cursor: z.string().nullable() });
export const projectDeleteResponse = z.object({
  project_id: z.string(),
  deleted_cards: z.number().int(),
  deleted_card_objects: z.number().int().describe('card text objects removed from the prompts bucket'),
  deleted_chat_messages: z.number().int().describe('chat history items (exchanges) removed'),
});

const cardJson = z.object({
  project_id: z.string(),
  prompt_id: z.string(),
  title: z.string(),
  tags: z.array(z.string()),
  is_active: z.boolean(),
  step_order: z.number().int(),
  text_bytes: z.number().int(),
  created_at: z.string().describe('ISO 8601'),
  updated_at: z.string().describe('ISO 8601'),
});
export const cardResponse = cardJson.extend({ text: z.string(), s3_uri: z.string() });
export const cardListResponse = z.object({ project_id: z.string(), prompt_cards: z.array(cardJson).describe('in step order (then creation order); without their text') });
export const cardDeleteResponse = z.object({ project_id: z.string(), prompt_id: z.string(), deleted_card_objects: z.number().int() });

const usageJson = z.object({ input_tokens: z.number().int(), output_tokens: z.number().int() }).nullable();
const cardUseJson = z.object({ prompt_id: z.string(), title: z.string() });
export const chatResponse = z.object({
  project_id: z.string(),
  session_id: z.string(),
  answer: z.string(),
  engine: z.string().describe('what answered: bedrock, or offline-chat-responder'),
  model: z.string(),
  cards_used: z.array(cardUseJson).describe('the active cards, in step order: the system prompt'),
  history_messages: z.number().int().describe('earlier exchanges of the session the model was shown'),
  usage: usageJson,
  processing_ms: z.number().int(),
  timestamp: z.number().int().describe('epoch ms: the exchange in the history'),
  created_at: z.string(),
});
export const chatHistoryResponse = z.object({
  project_id: z.string(),
  session_id: z.string(),
  messages: z.array(
    z.object({
      timestamp: z.number().int(),
      created_at: z.string(),
      user_id: z.string(),
      user_input: z.string(),
      answer: z.string(),
      answer_truncated: z.boolean().optional(),
      cards_used: z.array(cardUseJson),
      processing_ms: z.number().int(),
      usage: usageJson,
      engine: z.string(),
      model: z.string(),
      expires_at: z.number().int().describe('epoch seconds: when the history item expires'),
    }),
  ),
  next_cursor: z.string().nullable(),
});

/** A prompt card's metadata as the API answers it and the cards table stores it (one shape for both). */
export const cardItem = (c: CardRecord) => ({
  project_id: c.projectId,
  prompt_id: c.promptId,
  title: c.title,
  tags: c.tags,
  is_active: c.isActive,
  step_order: c.stepOrder,
  text_bytes: c.textBytes,
  created_at: c.createdAt,
  updated_at: c.updatedAt,
});
