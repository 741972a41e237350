/**
 * The prompt admin API (the `admin` group's routes under /admin/prompts): list the prompts, read
 * one, store a new version, list its versions, roll back to one, and drop this process's cache.
 * Names are checked before any I/O (400), then against the catalogue (404 for a prompt it does
 * not list); a text is checked against the catalogue (size, UTF-8, no NUL, known placeholders)
 * before it is stored. Request and response schemas are here; the routes are in routes.ts.
 */
import { z } from 'zod';
import { badRequest, HttpError, notFound } from './errors';
import { checkPromptText, PROMPT_CATALOGUE, PROMPT_IDS, promptSpec, promptTextProblem, splitPromptId, type PromptSpec } from './prompt-catalogue';
import type { BundledPromptReader } from './prompt-service';
import { PROMPT_MAX_BYTES, PROMPTS_PREFIX, promptKey, type PromptService, type PromptSource } from './prompt-store';

/** A version id as the admin API takes it: an S3 version id (or an `objects` history id). */
export const PROMPT_VERSION_ID_PATTERN = /^[A-Za-z0-9._+=-]{1,1024}$/;
/** Versions one `GET …/versions` lists at most. */
export const PROMPT_VERSIONS_MAX = 100;
/** Keys read to tell which prompts the bucket holds. */
const KEYS_MAX = 1000;

const versionId = z
  .string({ error: 'version_id must be a string' })
  .min(1, { error: 'version_id must not be empty' })
  .max(1024, { error: 'version_id must be at most 1024 characters' })
  .regex(PROMPT_VERSION_ID_PATTERN, { error: 'version_id must be an S3 version id (letters, digits, ".", "_", "+", "=", "-")' });

// ---- requests ------------------------------------------------------------------------------

/** `PUT /admin/prompts/{assistant}/{name}` */
export const promptPutSchema = z.object({
  text: z.string({ error: 'text must be a string' }).max(PROMPT_MAX_BYTES, { error: `text must be at most ${PROMPT_MAX_BYTES} characters` }),
});
/** `POST /admin/prompts/{assistant}/{name}/rollback` */
export const promptRollbackSchema = z.object({ version_id: versionId });
/** `GET /admin/prompts/{assistant}/{name}/versions?limit=` */
export const promptVersionsQuerySchema = z.object({
  limit: z
    .string()
    .max(4, { error: `limit must be an integer between 1 and ${PROMPT_VERSIONS_MAX}` })
    .regex(/^\d+$/, { error: `limit must be an integer between 1 and ${PROMPT_VERSIONS_MAX}` })
    .transform(Number)
    .pipe(z.number().int().min(1, { error: `limit must be an integer between 1 and ${PROMPT_VERSIONS_MAX}` }).max(PROMPT_VERSIONS_MAX, { error: `limit must be an integer between 1 and ${PROMPT_VERSIONS_MAX}` }))
    .optional(),
});

// ---- responses -----------------------------------------------------------------------------

const name = z.string().max(64);
const source = z.enum(['s3', 'fallback']).describe('s3: the prompts bucket; fallback: the copy bundled with the code');
const version = z.string().max(1024).describe('the S3 version id (else the ETag); bundled:<sha256 prefix> for the bundled copy');
const history = z.enum(['versioning', 'objects', 'none']).describe('versioning: the bucket\'s S3 versioning; objects: history copies under prompt-history/ (a store without versioning, e.g. the local S3); none: no bucket');

export const promptListResponse = z.object({
  bucket: z.string().max(255).nullable().describe('the prompts bucket (null: none configured; the bundled prompts are served)'),
  history,
  cache_ttl_ms: z.number().int(),
  assistants: z
    .array(
      z.object({
        assistant: name,
        prompts: z
          .array(
            z.object({
              name,
              description: z.string().max(1000),
              placeholders: z.array(z.string().max(64)).max(64),
              stored: z.boolean().describe('the bucket has a copy (else the bundled one is served)'),
            }),
          )
          .max(100),
      }),
    )
    .max(100),
});

export const promptResponse = z.object({
  assistant: name,
  name,
  text: z.string().max(PROMPT_MAX_BYTES),
  version,
  last_modified: z.string().max(64).nullable().describe('ISO 8601; null for the bundled copy'),
  source,
  placeholders: z.array(z.string().max(64)).max(64),
});

export const promptPutResponse = z.object({
  assistant: name,
  name,
  version,
  source: z.literal('s3'),
  restored_from: z.string().max(1024).optional().describe('rollback: the version whose text was stored again'),
  cache_ttl_ms: z.number().int().describe('every process serves the new text within this time (at once after a reload_prompts call that reaches it)'),
});

export const promptVersionsResponse = z.object({
  assistant: name,
  name,
  history,
  versions: z
    .array(z.object({ version_id: z.string().max(1024), last_modified: z.string().max(64), size: z.number().int(), is_latest: z.boolean() }))
    .max(PROMPT_VERSIONS_MAX)
    .describe('newest first'),
});

export const promptReloadResponse = z.object({ reloaded: z.literal(true), cached_prompts: z.number().int().describe("prompts this process had cached (now expired)") });

// ---- the service ---------------------------------------------------------------------------

export interface PromptAdminDeps {
  /** The prompts bucket (absent: none configured — reads answer the bundled copies, writes 409). */
  source?: PromptSource;
  /** How the bucket keeps each prompt's history. */
  history: 'versioning' | 'objects';
  bundled: BundledPromptReader;
  /** This process's prompt cache (`reload`). */
  prompts: PromptService;
  cacheTtlMs: number;
}

interface Target {
  assistant: string;
  name: string;
  key: string;
  spec: PromptSpec;
}

export class PromptAdmin {
  constructor(private readonly deps: PromptAdminDeps) {}

  /** The path's names: a 400 before any I/O when invalid, a 404 when the catalogue has no such prompt. */
  private target(params: Record<string, string | undefined>): Target {
    const assistant = params.assistant ?? '';
    const name = params.name ?? '';
    const key = promptKey(assistant, name);
    const spec = promptSpec(assistant, name);
    if (!spec) throw notFound(`There is no prompt ${assistant}/${name} (the list_prompts route lists them)`);
    return { assistant, name, key, spec };
  }

  private requireSource(): PromptSource {
    if (!this.deps.source) throw new HttpError(409, 'No prompts bucket is configured (STORY42_PROMPTS_BUCKET): the bundled prompts are served and cannot be changed here');
    return this.deps.source;
  }

  private get historyMode(): z.infer<typeof history> {
    return this.deps.source ? this.deps.history : 'none';
  }

  async list(): Promise<z.infer<typeof promptListResponse>> {
    const stored = new Set(this.deps.source ? await this.deps.source.keys(PROMPTS_PREFIX, KEYS_MAX) : []);
    const byAssistant = new Map<string, z.infer<typeof promptListResponse>['assistants'][number]['prompts']>();
    for (const id of PROMPT_IDS) {
      const { assistant, name } = splitPromptId(id);
      const spec: PromptSpec = PROMPT_CATALOGUE[id];
      const list = byAssistant.get(assistant) ?? [];
      list.push({ name, description: spec.description, placeholders: Object.keys(spec.placeholders), stored: stored.has(promptKey(assistant, name)) });
      byAssistant.set(assistant, list);
    }
    return {
      bucket: this.deps.source?.bucket ?? null,
      history: this.historyMode,
      cache_ttl_ms: this.deps.cacheTtlMs,
      assistants: [...byAssistant.entries()].map(([assistant, prompts]) => ({ assistant, prompts })),
    };
  }

  /** The current text: the bucket's copy, else the bundled one. */
  async get(params: Record<string, string | undefined>): Promise<z.infer<typeof promptResponse>> {
    const t = this.target(params);
    const placeholders = Object.keys(t.spec.placeholders);
    const fetched = this.deps.source ? await this.deps.source.get(t.key) : undefined;
    if (fetched?.kind === 'found') {
      return { assistant: t.assistant, name: t.name, text: fetched.text, version: fetched.versionId ?? fetched.etag, last_modified: fetched.lastModified.toISOString(), source: 's3', placeholders };
    }
    const bundled = this.deps.bundled.get(t.assistant, t.name);
    if (!bundled) throw notFound(`Prompt ${t.assistant}/${t.name} is neither in the prompts bucket nor bundled`);
    return { assistant: t.assistant, name: t.name, text: bundled.text, version: bundled.version, last_modified: null, source: 'fallback', placeholders };
  }

  /** Stores a new version after checking it (400 naming the problem). */
  async put(params: Record<string, string | undefined>, body: Record<string, unknown>): Promise<z.infer<typeof promptPutResponse>> {
    const t = this.target(params);
    const parsed = promptPutSchema.safeParse(body);
    if (!parsed.success) throw badRequest(parsed.error.issues[0]?.message ?? 'invalid body');
    checkPromptText(t.assistant, t.name, parsed.data.text);
    const stored = await this.requireSource().put(t.key, parsed.data.text);
    return { assistant: t.assistant, name: t.name, version: stored.versionId ?? stored.etag, source: 's3', cache_ttl_ms: this.deps.cacheTtlMs };
  }

  async versions(params: Record<string, string | undefined>, query: Record<string, string | undefined>): Promise<z.infer<typeof promptVersionsResponse>> {
    const t = this.target(params);
    const parsed = promptVersionsQuerySchema.safeParse(query);
    if (!parsed.success) throw badRequest(parsed.error.issues[0]?.message ?? 'invalid query');
    const limit = parsed.data.limit ?? 20;
    const versions = this.deps.source ? (await this.deps.source.versions(t.key, limit)).slice(0, limit) : [];
    return { assistant: t.assistant, name: t.name, history: this.historyMode, versions };
  }

  /** Stores the text of an older version as the new current version. */
  async rollback(params: Record<string, string | undefined>, body: Record<string, unknown>): Promise<z.infer<typeof promptPutResponse>> {
    const t = this.target(params);
    const parsed = promptRollbackSchema.safeParse(body);
    if (!parsed.success) throw badRequest(parsed.error.issues[0]?.message ?? 'invalid body');
    const source = this.requireSource();
    const old = await source.getVersion(t.key, parsed.data.version_id);
    if (old.kind !== 'found') throw notFound(`Prompt ${t.assistant}/${t.name} has no version ${parsed.data.version_id}`);
    const problem = promptTextProblem(t.assistant, t.name, old.text);
    if (problem) throw badRequest(`version ${parsed.data.version_id} cannot be restored: ${problem}`);
    const stored = await source.put(t.key, old.text);
    return { assistant: t.assistant, name: t.name, version: stored.versionId ?? stored.etag, source: 's3', restored_from: parsed.data.version_id, cache_ttl_ms: this.deps.cacheTtlMs };
  }

  /** Drops this process's prompt cache: its next use of each prompt asks the bucket again. */
  reload(): z.infer<typeof promptReloadResponse> {
    const cached: unknown = this.deps.prompts.reload();
    return { reloaded: true, cached_prompts: typeof cached === 'number' ? cached : 0 };
  }
}
