/**
 * Request and result schemas for the six story routes (spec: story-api.md, v1.2).
 * Validation failures become 400s whose `error` text is the spec's wording.
 */
import { z } from 'zod';
import { badRequest } from './errors';

export const STORY_PARTS = ['beginning', 'middle', 'end'] as const;
export type StoryPartName = (typeof STORY_PARTS)[number];
export const NARRATOR = 'Narrator';

export const PANELS_MIN = 3;
export const PANELS_MAX = 12;
export const AUDIO_MINUTES_MIN = 1;
export const AUDIO_MINUTES_MAX = 30;
export const SPEAKERS_MIN = 1;
export const SPEAKERS_MAX = 4;

export const JOB_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
const JOB_ID_MESSAGE = 'job_id must be 1-128 characters: letters, digits, ".", "_", ":" or "-", starting with a letter or digit';

type Body = Record<string, unknown>;

const isMissing = (v: unknown): boolean =>
  v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

/** Integers may arrive as numbers or as digit strings (shell scripts, notebooks). */
const integer = (name: string, min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v),
    z
      .number({ error: `${name} must be an integer` })
      .int({ error: `${name} must be an integer` })
      .min(min, { error: `${name} must be between ${min} and ${max}` })
      .max(max, { error: `${name} must be between ${min} and ${max}` }),
  );

const text = (name: string, max = 20_000) =>
  z
    .string({ error: `${name} must be a string` })
    .trim()
    .min(1, { error: `${name} must not be empty` })
    .max(max, { error: `${name} must be at most ${max} characters` });

const jobId = z.string({ error: 'job_id must be a string' }).max(128, { error: JOB_ID_MESSAGE }).regex(JOB_ID_PATTERN, { error: JOB_ID_MESSAGE });
const modelId = z.string({ error: 'model_id must be a string' }).trim().min(1, { error: 'model_id must not be empty' }).max(200, { error: 'model_id must be at most 200 characters' });
/** A `user_id` in a body is accepted and ignored: identity comes from the verified token only (spec). Never stored. */
const ignoredUserId = z.unknown().transform((): undefined => undefined).optional();

const storyType = z.enum(['visual', 'audio'], { error: 'story_type must be either "visual" or "audio"' });

/** Fields shared by the text routes. */
const sharedShape = {
  genre: text('genre', 200),
  reading_level: text('reading_level', 200),
  tone: text('tone', 200),
  story_type: storyType,
  number_of_speakers: integer('number_of_speakers', SPEAKERS_MIN, SPEAKERS_MAX),
  panels: integer('panels', PANELS_MIN, PANELS_MAX).optional(),
  audio_length: integer('audio_length', AUDIO_MINUTES_MIN, AUDIO_MINUTES_MAX).optional(),
  job_id: jobId.optional(),
  model_id: modelId.optional(),
  user_id: ignoredUserId,
};

const speakerName = text('speaker', 100);

export const outlinePartSchema = z.object({
  story_part: z.string(),
  story_part_summary: z.string(),
  story_part_speakers: z.array(z.string()),
});
export type OutlinePart = z.infer<typeof outlinePartSchema>;

export const segmentSchema = z.object({
  segment_num: z.number().int(),
  segment_content: z.string(),
  speaker: z.string(),
});
export type Segment = z.infer<typeof segmentSchema>;

export const sectionSchema = z.object({
  section_num: z.number().int(),
  segments: z.array(segmentSchema),
});
export type Section = z.infer<typeof sectionSchema>;

export const storyPartSchema = z.object({
  story_part: z.string(),
  sections: z.array(sectionSchema),
});
export type StoryPart = z.infer<typeof storyPartSchema>;

// ---- requests -------------------------------------------------------------------------

export const topicsRequestSchema = z.object({
  genre: z.enum(['fiction', 'non-fiction'], { error: 'genre must be either "fiction" or "non-fiction"' }),
  // The 2,000-character cap holds however topics arrive: as one string, or as a list joined with ", ".
  topics: z.union([
    text('topics', 2000),
    z
      .array(text('topics', 200), { error: 'topics must be a string or an array of strings' })
      .min(1, { error: 'topics must not be empty' })
      .max(100, { error: 'topics must have at most 100 entries' })
      .transform((a) => a.join(', '))
      .pipe(z.string().max(2000, { error: 'topics must be at most 2000 characters' })),
  ]),
  job_id: jobId.optional(),
  model_id: modelId.optional(),
  user_id: ignoredUserId,
});
export type TopicsRequest = z.infer<typeof topicsRequestSchema>;

export const outlineRequestSchema = z.object({
  ...sharedShape,
  user_input_description: text('user_input_description', 5000),
});
export type OutlineRequest = z.infer<typeof outlineRequestSchema>;

export const storyRequestSchema = z.object({
  ...sharedShape,
  user_input_description: z.string().max(5000).optional(),
  story_outline_description: z
    .array(
      z.object({
        story_part: text('story_part', 50),
        story_part_summary: text('story_part_summary', 5000),
        story_part_speakers: z.array(speakerName).max(8).default([]),
      }),
      { error: 'story_outline_description must be the story_parts array of a story outline' },
    )
    .min(1, { error: 'story_outline_description must not be empty' })
    .max(3, { error: 'story_outline_description must have at most 3 parts' }),
  /** Where a non-fiction story's facts come from (the agent's research): echoed in the result's metadata (beyond v1.2). */
  sources: z
    .array(
      z.object({
        title: text('sources[].title', 300),
        url: z.string({ error: 'sources[].url must be a string' }).max(2048, { error: 'sources[].url must be at most 2048 characters' }).regex(/^https?:\/\/\S+$/, { error: 'sources[].url must be an http(s) URL' }),
      }),
      { error: 'sources must be an array of {title, url}' },
    )
    .max(30, { error: 'sources must have at most 30 entries' })
    .optional(),
});
export type StoryRequest = z.infer<typeof storyRequestSchema>;

export const segmentRequestSchema = z.object({
  ...sharedShape,
  story_type: storyType.optional(),
  number_of_speakers: integer('number_of_speakers', SPEAKERS_MIN, SPEAKERS_MAX).optional(),
  user_request: text('user_request', 2000),
  original_story_segments: z
    .array(
      z.object({
        segment_num: integer('segment_num', 1, 10_000),
        segment_content: z.string().max(20_000),
        speaker: speakerName,
      }),
      { error: 'original_story_segments must be an array of {segment_num, segment_content, speaker}' },
    )
    .max(2000),
  original_story_segment_num: integer('original_story_segment_num', 1, 10_000),
  original_story_segment: z.object(
    {
      segment_num: integer('original_story_segment.segment_num', 1, 10_000),
      segment_content: text('original_story_segment.segment_content'),
      speaker: speakerName,
    },
    { error: 'original_story_segment must be an object {segment_num, segment_content, speaker}' },
  ),
});
export type SegmentRequest = z.infer<typeof segmentRequestSchema>;

/** A written story sent back (the /generate-story result's parts) under the field `field`, every field capped. */
const storyPartsInput = (field: string) =>
  z
    .array(
      z.object({
        story_part: text('story_part', 50),
        sections: z
          .array(
            z.object({
              section_num: integer('section_num', 1, 10_000),
              segments: z
                .array(z.object({ segment_num: integer('segment_num', 1, 10_000), segment_content: z.string().max(20_000), speaker: speakerName }))
                .min(1, { error: `every section of ${field} must have segments` })
                .max(50, { error: `a section of ${field} has at most 50 segments` }),
            }),
          )
          .min(1, { error: `every part of ${field} must have sections` })
          .max(60, { error: `a part of ${field} has at most 60 sections` }),
      }),
      { error: `${field} must be the story_parts array of a written story` },
    )
    .max(3, { error: `${field} must have at most 3 parts` });
export type StoryPartsInput = z.infer<ReturnType<typeof storyPartsInput>>;

const imageSegmentSchema = z.object({
  story_segment_content: text('story_segment_content', 5000),
  story_segment_number: integer('story_segment_number', 1, 10_000),
  story_segment_speaker: z.string().max(100).default(NARRATOR),
});
export type ImageSegmentInput = z.infer<typeof imageSegmentSchema>;

export const imageRequestSchema = z.object({
  story_segments: z
    .array(imageSegmentSchema, { error: 'story_segments must be an array of {story_segment_content, story_segment_number, story_segment_speaker}' })
    .max(200)
    .optional(),
  complete_story_parts: storyPartsInput('complete_story_parts').optional(),
  art_style: text('art_style', 200),
  number_of_panels: integer('number_of_panels', 1, PANELS_MAX),
  job_id: jobId,
  user_id: ignoredUserId,
});
export type ImageRequestBody = z.infer<typeof imageRequestSchema>;

/** Images drawn as a story is written (the agent's tools): the image route's fields, without the scenes (they come as the story streams). */
export const imagesAsWrittenRequestSchema = imageRequestSchema.pick({ art_style: true, number_of_panels: true, job_id: true });
export type ImagesAsWrittenRequest = z.infer<typeof imagesAsWrittenRequestSchema>;

export const regenerateImageRequestSchema = z.object({
  user_request: text('user_request', 2000),
  original_segment_image_s3_uri: text('original_segment_image_s3_uri', 2048),
  job_id: jobId,
  art_style: z.string().max(200).optional(),
  user_id: ignoredUserId,
});
export type RegenerateImageRequest = z.infer<typeof regenerateImageRequestSchema>;

/** Narration: at most this many sections in one story (an audio story of the longest length has 45). */
export const NARRATION_MAX_SECTIONS = 45;
/** Characters of story text narrated in one call: about 45 minutes of speech (a 30-minute story has about 27,000). */
export const NARRATION_MAX_CHARS = 40_000;
export const NARRATION_FORMATS = ['mp3'] as const;
/** Voices a request may set: the Narrator and the speakers (the spec allows 4), with room for renamed ones. */
const NARRATION_MAX_VOICES = 12;

export const narrateRequestSchema = z.object({
  story_parts: storyPartsInput('story_parts').min(1, { error: 'story_parts must have at least one part' }),
  job_id: jobId,
  voices: z
    .record(speakerName, z.string({ error: 'voices must map speaker names to voice ids' }).trim().min(1).max(64, { error: 'a voice id is at most 64 characters' }), {
      error: 'voices must be an object mapping speaker names to voice ids',
    })
    .refine((v) => Object.keys(v).length <= NARRATION_MAX_VOICES, { error: `voices names at most ${NARRATION_MAX_VOICES} speakers` })
    .optional(),
  format: z.enum(NARRATION_FORMATS, { error: `format must be one of: ${NARRATION_FORMATS.join(', ')}` }).default('mp3'),
  sections: z
    .array(integer('sections[]', 1, 10_000), { error: 'sections must be an array of section numbers' })
    .min(1, { error: 'sections must name at least one section (or be left out to narrate them all)' })
    .max(NARRATION_MAX_SECTIONS, { error: `sections names at most ${NARRATION_MAX_SECTIONS} sections` })
    .optional(),
  user_id: ignoredUserId,
});
export type NarrateRequest = z.infer<typeof narrateRequestSchema>;

/** A `limit` query parameter: digits, 1..max. */
export function pageLimit(max: number) {
  const message = `limit must be an integer between 1 and ${max}`;
  return z
    .string()
    .max(4, { error: message })
    .regex(/^\d+$/, { error: message })
    .transform(Number)
    .pipe(z.number().int().min(1, { error: message }).max(max, { error: message }))
    .optional();
}

/** `GET /jobs?limit=&cursor=` */
export const jobListQuerySchema = z.object({
  limit: pageLimit(100),
  cursor: z.string().max(4096, { error: 'cursor is too long' }).optional(),
});

/** `GET /jobs/{job_id}?limit=&records_cursor=&images_cursor=` */
export const jobGetQuerySchema = z.object({
  limit: pageLimit(50),
  records_cursor: z.string().max(1024, { error: 'records_cursor is too long' }).optional(),
  images_cursor: z.string().max(2048, { error: 'images_cursor is too long' }).optional(),
});

// ---- validation -----------------------------------------------------------------------

export interface RequestRule<T> {
  schema: z.ZodType<T>;
  required: readonly string[];
  /** Extra checks after the schema passes, in spec order. */
  refine?: (value: T, body: Body) => void;
}

function firstMessage(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'Invalid request';
  if (issue.code === 'unrecognized_keys') return issue.message;
  return issue.message;
}

/** Validates a request body: missing fields first (spec wording), then types and rules. */
export function validateRequest<T>(body: Body, rule: RequestRule<T>): T {
  const missing = rule.required.filter((name) => isMissing(body[name]));
  if (missing.length > 0) throw badRequest(`Missing required parameters: ${missing.join(', ')}`);
  const parsed = rule.schema.safeParse(body);
  if (!parsed.success) throw badRequest(firstMessage(parsed.error));
  rule.refine?.(parsed.data, body);
  return parsed.data;
}

/** `panels` when visual, `audio_length` when audio. */
export function requireLengthForType(value: { story_type?: 'visual' | 'audio'; panels?: number; audio_length?: number }): void {
  if (value.story_type === 'visual' && value.panels === undefined) {
    throw badRequest('panels is required when story_type is "visual"');
  }
  if (value.story_type === 'audio' && value.audio_length === undefined) {
    throw badRequest('audio_length is required when story_type is "audio"');
  }
}

const SHARED_REQUIRED = ['genre', 'reading_level', 'tone', 'story_type', 'number_of_speakers'] as const;

export const requestRules = {
  topics: { schema: topicsRequestSchema, required: ['genre', 'topics'] } satisfies RequestRule<TopicsRequest>,
  outline: {
    schema: outlineRequestSchema,
    required: [...SHARED_REQUIRED, 'user_input_description'],
    refine: requireLengthForType,
  } satisfies RequestRule<OutlineRequest>,
  story: {
    schema: storyRequestSchema,
    required: [...SHARED_REQUIRED, 'story_outline_description'],
    refine: requireLengthForType,
  } satisfies RequestRule<StoryRequest>,
  segment: {
    schema: segmentRequestSchema,
    required: ['genre', 'reading_level', 'tone', 'user_request', 'original_story_segments', 'original_story_segment_num', 'original_story_segment'],
    refine: (v) => {
      requireLengthForType(v);
      if (v.original_story_segment.segment_num !== v.original_story_segment_num) {
        throw badRequest('original_story_segment.segment_num must equal original_story_segment_num');
      }
    },
  } satisfies RequestRule<SegmentRequest>,
  image: {
    schema: imageRequestSchema,
    required: ['art_style', 'number_of_panels', 'job_id'],
    refine: (v) => {
      if (!v.story_segments?.length && !v.complete_story_parts?.length) {
        throw badRequest('Missing required parameters: story_segments');
      }
      const numbers = (v.story_segments ?? []).map((s) => s.story_segment_number);
      if (new Set(numbers).size !== numbers.length) throw badRequest('story_segment_number values must be unique');
    },
  } satisfies RequestRule<ImageRequestBody>,
  imagesAsWritten: {
    schema: imagesAsWrittenRequestSchema,
    required: ['art_style', 'number_of_panels', 'job_id'],
  } satisfies RequestRule<ImagesAsWrittenRequest>,
  narrate: {
    schema: narrateRequestSchema,
    required: ['story_parts', 'job_id'],
    refine: (v) => {
      if (v.sections && new Set(v.sections).size !== v.sections.length) throw badRequest('sections must not repeat a section number');
    },
  } satisfies RequestRule<NarrateRequest>,
  regenerateImage: {
    schema: regenerateImageRequestSchema,
    required: ['user_request', 'original_segment_image_s3_uri', 'job_id'],
  } satisfies RequestRule<RegenerateImageRequest>,
};

// ---- model results (what a text model must return) ------------------------------------

export const topicsResultSchema = z.object({
  subject_category: z.string().min(1),
  scope_coverage: z.string().min(1),
  structure: z.string().min(1),
  source_types: z.string().min(1),
  target_audience: z.string().min(1),
  tone: z.string().min(1),
});
export type TopicsResult = z.infer<typeof topicsResultSchema>;

export const outlineResultSchema = z.object({
  speaker_names: z.array(z.string()),
  story_parts: z.array(outlinePartSchema),
});
export type OutlineResult = z.infer<typeof outlineResultSchema>;

export const storyResultSchema = z.object({
  speaker_names: z.array(z.string()).optional(),
  story_parts: z.array(storyPartSchema),
});
export type StoryResult = z.infer<typeof storyResultSchema>;

export const segmentResultSchema = z.object({
  new_story_segment: z.object({
    segment_num: z.number().int().optional(),
    segment_content: z.string(),
    speaker: z.string(),
  }),
});
export type SegmentResult = z.infer<typeof segmentResultSchema>;
