/**
 * What every route answers, as zod schemas: the `result` inside the v1.2 envelope for the
 * story and job routes, the raw body for the public ones, and the error shapes. The route
 * table names one per route; the OpenAPI document and the contract tests are built from them.
 */
import { z } from 'zod';
import { outlineResultSchema, segmentSchema, storyPartSchema, topicsResultSchema } from './schemas';

/** `metadata` of the story routes: the request echoed, plus who made it and when. */
const metadata = z
  .object({
    user_id: z.string(),
    job_id: z.string(),
    created_timestamp: z.string().describe('ISO 8601'),
    provider: z.string().describe('the engine that made the result, e.g. bedrock, offline-story-writer'),
    model_id: z.string().optional().describe('the model (or offline engine) that wrote the text'),
  })
  .catchall(z.unknown());

export const topicsResponse = topicsResultSchema.extend({ metadata: metadata.extend({ genre: z.string(), topics: z.string() }) });
export const outlineResponse = outlineResultSchema.extend({ metadata });
export const storyResponse = z.object({ story_parts: z.array(storyPartSchema), speaker_names: z.array(z.string()).optional(), metadata });
export const segmentResponse = z.object({ new_story_segment: segmentSchema, metadata });

const imageSegment = z.object({
  story_segment_content: z.string(),
  story_segment_number: z.number().int(),
  story_segment_speaker: z.string(),
  image_s3_uri: z.string(),
  image_presigned_url: z.string().describe('presigned GET URL, valid one hour'),
});
export const storyImageResponse = z.object({
  story_segments: z.array(imageSegment),
  metadata: metadata.extend({ art_style: z.string(), number_of_panels: z.number().int(), panel_count_warning: z.string().optional() }),
});
export const regenerateImageResponse = z.object({
  new_story_segment_image_s3_uri: z.string(),
  new_story_segment_image_presigned_url: z.string(),
  metadata: metadata.extend({ user_request: z.string(), original_segment_image_s3_uri: z.string() }),
});

const audioFile = z.object({
  audio_s3_uri: z.string(),
  audio_presigned_url: z.string().describe('presigned GET URL, valid one hour'),
  duration_seconds: z.number(),
});
export const narrateResponse = z.object({
  job_id: z.string(),
  format: z.literal('mp3'),
  voices: z.record(z.string(), z.string()).describe('speaker -> voice id: the job\'s voice cast, kept for later narrations'),
  sections: z.array(audioFile.extend({ section_num: z.number().int(), narrated: z.boolean().describe('spoken by this call (false: the stored file was kept)') })),
  story: audioFile.describe('the whole story: the sections joined in order'),
  total_duration_seconds: z.number(),
  metadata: metadata.extend({ format: z.string(), narrated_sections: z.array(z.number().int()) }),
});

/** A job's narration as GET /jobs/{job_id} shows it (fresh URLs). */
const jobAudio = z
  .object({
    provider: z.string(),
    model_id: z.string(),
    voices: z.record(z.string(), z.string()),
    sections: z.array(audioFile.extend({ section_num: z.number().int() })),
    story: audioFile.nullable().describe('null when the last narration stored some sections and then failed'),
    total_duration_seconds: z.number().nullable(),
    updated_at: z.string(),
  })
  .nullable();

export const jobListResponse = z.object({
  jobs: z.array(z.object({ job_id: z.string(), last_route: z.string(), last_timestamp: z.number(), last_created_at: z.string() })),
  next_cursor: z.string().nullable(),
});
export const jobResponse = z.object({
  job_id: z.string(),
  status: z.enum(['complete', 'incomplete']).describe('incomplete while a call has stored artifacts but not completed (or crashed)'),
  next_records_cursor: z.string().nullable(),
  next_images_cursor: z.string().nullable(),
  records: z.array(
    z.object({
      route: z.string(),
      timestamp: z.number(),
      created_at: z.string(),
      request_id: z.string(),
      status: z.enum(['success', 'error', 'incomplete']),
      truncated: z.boolean().optional().describe('request or response was cut to fit the tracking item limit'),
      provider: z.string().nullable(),
      usage: z.array(z.object({ model: z.string(), latencyMs: z.number(), inputTokens: z.number(), outputTokens: z.number() })),
      prompts: z
        .array(z.object({ prompt: z.string().describe('<assistant>/<name>'), version: z.string().describe('the S3 version id (else ETag), or bundled:<sha256 prefix>'), source: z.enum(['s3', 'fallback']) }))
        .describe('the prompts the call used, with the version of each'),
      request: z.unknown(),
      response: z.unknown(),
    }),
  ),
  images: z.array(z.object({ s3_uri: z.string(), presigned_url: z.string(), size: z.number(), last_modified: z.string() })),
  audio: jobAudio.describe('the job\'s narration (null if it has none)'),
});
export const jobDeleteResponse = z.object({ job_id: z.string(), deleted_images: z.number().int(), deleted_audio: z.number().int(), deleted_records: z.number().int() });

// ---- the story agent ---------------------------------------------------------------------

const agentSession = z.object({
  session_id: z.string(),
  created_at: z.string().describe('ISO 8601'),
  updated_at: z.string().describe('ISO 8601'),
  title: z.string(),
  message_count: z.number().int().describe('messages the persisted conversation keeps (a window of the newest)'),
});
export const agentSessionResponse = agentSession;
export const agentSessionListResponse = z.object({ sessions: z.array(agentSession), next_cursor: z.string().nullable() });
export const agentSessionDetailResponse = z.object({
  session: agentSession,
  messages: z.array(z.object({ role: z.enum(['user', 'assistant']), text: z.string(), tools: z.array(z.string()).describe('tools the agent called in this message') })),
  artifacts: z.array(z.object({ path: z.string(), size: z.number().int(), content_type: z.string(), last_modified: z.string(), url: z.string().describe('presigned GET URL, valid one hour') })),
  story: z.string().describe("the session's current story, in one line"),
  story_job_id: z.string().nullable().describe("the current story's job (get_job gives its pictures and narration), or null"),
});
export const agentSessionDeleteResponse = z.object({ deleted_objects: z.number().int() });
export const agentMessageResponse = z.object({
  session: agentSession,
  text: z.string().describe("the agent's answer"),
  stop_reason: z.string(),
  model: z.string().describe('the model the agent thinks with'),
  story: z.string(),
  story_job_id: z.string().nullable().describe("the current story's job, or null"),
  dropped_messages: z.number().int().describe('old messages that left the conversation window'),
  failures: z.array(z.string()).optional().describe('work the tools left running that failed (e.g. a picture)'),
});

export const healthResponse = z
  .object({
    status: z.literal('ok'),
    node: z.string(),
    providers: z.object({ text: z.string(), image: z.string(), speech: z.string() }),
    /** The voices narration may cast (the speech provider's, the narrator's default first). */
    speech_voices: z.array(z.string()),
  })
  .catchall(z.unknown());
export const openApiResponse = z.object({ openapi: z.string(), info: z.object({ title: z.string(), version: z.string() }) }).catchall(z.unknown());

/** The v1.2 success envelope around a route's result. */
export function envelopeSchema(result: z.ZodType) {
  return z.object({
    success: z.literal(true),
    route: z.string(),
    result,
    authenticated_user: z.object({ email: z.string(), sub: z.string(), username: z.string() }),
    request_id: z.string(),
  });
}

/** Every error body: 400–499 and 502/503 carry `error`; 401 only `message`; 500 all three. */
export const errorResponse = z.object({
  error: z.string().optional(),
  message: z.string().optional(),
  request_id: z.string().optional(),
});
