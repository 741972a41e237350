/**
 * The story core: the six story routes, independent of how they are reached (Lambda,
 * Express agent, CLI) and of which providers and stores sit behind the ports.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { z } from 'zod';
import { badGateway, badRequest, forbidden, HttpError, isAbortError, notFound, ProviderUnavailableError, StorageUnavailableError } from './errors';
import {
  normaliseOutline,
  normaliseSegment,
  normaliseStory,
  normaliseTopics,
  outlineSpeakers,
  type Checked,
} from './normalise';
import { jobPrefix, Narrator } from './narration';
import type { Caller, Clock, ImageModel, ImageStore, SessionStore, SpeechModel, Telemetry, TextModel, TokenUsage, TrackingRecord } from './ports';
import { renderNamed, TRACKED_PROMPTS_MAX, type RenderedNamedPrompt } from './prompt-catalogue';
import type { PromptService, PromptUse } from './prompt-store';
import { renderPrompt, storyTask, type TextTask } from './prompts';
import { ProseStream } from './prose-stream';
import { SectionStream } from './section-stream';
import {
  NARRATOR,
  outlineResultSchema,
  requestRules,
  segmentResultSchema,
  segmentSchema,
  storyResultSchema,
  topicsResultSchema,
  validateRequest,
  type ImageRequestBody,
  type ImageSegmentInput,
  type ImagesAsWrittenRequest,
  type NarrateRequest,
  type OutlineRequest,
  type RegenerateImageRequest,
  type RequestRule,
  type SegmentRequest,
  type StoryRequest,
  type TopicsRequest,
} from './schemas';

export interface StorySettings {
  /** Full model ids, with provider prefix, that callers may choose. The first is the default. */
  allowedModels: readonly string[];
  defaultModelId: string;
  textMaxAttempts: number;
  imageConcurrency: number;
  presignSeconds: number;
  imageWidth: number;
  imageHeight: number;
  /** Narration sections synthesized at once. */
  speechConcurrency: number;
}

export interface StoryDeps {
  text: TextModel;
  image: ImageModel;
  speech: SpeechModel;
  images: ImageStore;
  sessions: SessionStore;
  telemetry: Telemetry;
  clock: Clock;
  newId: () => string;
  settings: StorySettings;
  /** The prompts (system prompts and instruction templates) the routes render. */
  prompts: PromptService;
}

export type ProgressEvent =
  | { type: 'stage'; stage: string; detail?: string }
  /** Prose as the model writes it: the text of segment `segment` (1-based, across the story) or of an outline part. */
  | { type: 'delta'; text: string; field: string; segment: number }
  /** A panel image is stored: `panel` of `of` done; `segmentNumber` is its story segment number. */
  | { type: 'panel'; panel: number; of: number; segmentNumber: number; segment: Record<string, unknown> }
  /** A narrated section is stored: `done` of `of`; `audio` is its entry in the result. */
  | { type: 'section'; done: number; of: number; audio: Record<string, unknown> }
  /**
   * The model has finished writing section `section` (1-based, across the story) of the story
   * part `storyPart` ('' if not yet known): its segments as written (validated, capped).
   */
  | { type: 'section_text'; section: number; storyPart: string; segments: SectionTextSegment[] }
  /** The story agent's turn: an event of its own stream (`text`, `tool_call`, `media`, …; see agent-service.ts). */
  | { type: 'agent'; event: string; data: Record<string, unknown> };

export interface SectionTextSegment {
  segment_num: number;
  segment_content: string;
  speaker: string;
}

/** Fields of a model's JSON whose text is prose a reader can watch being written. */
const PROSE_FIELDS = ['segment_content', 'story_part_summary'] as const;

/** What a `section_text` event carries at most: segments per section, and characters per string. */
const SECTION_TEXT_MAX_SEGMENTS = 50;
const SECTION_TEXT_MAX_CHARS = 20_000;

/** The segments of a section as the model wrote it, or undefined if it does not have a section's shape. */
export function sectionTextSegments(raw: unknown): SectionTextSegment[] | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const segments = (raw as { segments?: unknown }).segments;
  if (!Array.isArray(segments)) return undefined;
  const out: SectionTextSegment[] = [];
  for (const item of segments) {
    if (out.length === SECTION_TEXT_MAX_SEGMENTS) break;
    const parsed = segmentSchema.safeParse(item);
    if (!parsed.success) continue;
    const { segment_num, segment_content, speaker } = parsed.data;
    out.push({ segment_num, segment_content: segment_content.slice(0, SECTION_TEXT_MAX_CHARS), speaker: speaker.slice(0, SECTION_TEXT_MAX_CHARS) });
  }
  return out.length > 0 ? out : undefined;
}

/**
 * Turns the model's streamed JSON into prose `delta` events and, for a story, `section_text`
 * events (fresh extractors per attempt; a restarted stream starts them again).
 */
function streamReporter(onProgress: (event: ProgressEvent) => void, sections: boolean): { push: (fragment: string) => void; restart: () => void } {
  const make = () => new ProseStream(PROSE_FIELDS, (d) => onProgress({ type: 'delta', text: d.text, field: d.field, segment: d.ordinal }));
  let stream = make();
  const written = sections
    ? new SectionStream((s) => {
        const segments = sectionTextSegments(s.raw);
        if (segments) onProgress({ type: 'section_text', section: s.section, storyPart: s.storyPart, segments });
      })
    : undefined;
  return {
    push: (fragment) => {
      try {
        stream.push(fragment);
      } finally {
        written?.push(fragment);
      }
    },
    restart: () => {
      stream = make();
      written?.reset();
      onProgress({ type: 'stage', stage: 'writing', detail: 'the model connection was retried; starting the text again' });
    },
  };
}

/**
 * One story operation: the rule its body must pass, the work on the validated input, and
 * whether it stores artifacts (then a tracking record is written before the first one).
 */
export interface StoryOperation<T> {
  rule: RequestRule<T>;
  /** Checks of the input that need the caller or the platform (a 4xx here is not tracked). */
  check?(story: StoryService, input: T, ctx: CallContext): void;
  execute(story: StoryService, input: T, ctx: CallContext, jobId: string): Promise<RouteOutcome>;
  artifacts: boolean;
  /** The engine that does the work (its provider is recorded with the call). */
  engine: 'text' | 'image' | 'speech';
}

export interface CallContext {
  caller: Caller;
  requestId: string;
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
  /** Filled by the story core while the call runs: the prompts it rendered (its tracking record lists them). */
  promptUses?: PromptUse[];
}

export interface RouteOutcome {
  result: Record<string, unknown>;
  /** What the tracking row stores as the response (no presigned URLs). */
  tracked: Record<string, unknown>;
  usage: UsageRow[];
}

type UsageRow = TokenUsage & { model: string; latencyMs: number };

/** One route call being tracked: who, which route and job, when, the parsed request, and the provider doing the work. */
interface TrackedCall {
  ctx: CallContext;
  route: string;
  jobId: string;
  timestamp: number;
  request: unknown;
  provider: string;
}

const SEGMENT_KEY = /(?:^|\/)segment_(\d+)(?:_regenerated_\d+)?\.png$/;


/** Notes the prompts a call used (once per prompt and version). */
function notePrompts(ctx: CallContext, uses: readonly PromptUse[]): void {
  const list = ctx.promptUses;
  if (!list) return;
  for (const use of uses) {
    if (list.length >= TRACKED_PROMPTS_MAX) return;
    if (!list.some((u) => u.prompt === use.prompt && u.version === use.version && u.source === use.source)) list.push({ ...use });
  }
}

export function imageKey(sub: string, jobId: string, file: string): string {
  return `${jobPrefix(sub, jobId)}${file}`;
}

export function envelope(route: string, result: unknown, caller: Caller, requestId: string): Record<string, unknown> {
  return {
    success: true,
    route,
    result,
    authenticated_user: { email: caller.email, sub: caller.sub, username: caller.username },
    request_id: requestId,
  };
}

type DrawnSegment = ImageSegmentInput & { image_s3_uri: string; image_presigned_url: string };

/** One panel of `storyImagesAsWritten`. */
interface PanelState {
  /** The latest scene this panel was asked to show. */
  scene: ImageSegmentInput;
  /** Drawings started; they are versions 1..started. */
  started: number;
  /** The version stored under the panel's key (0: none yet). */
  stored: number;
  /** What the stored version shows. */
  segment?: DrawnSegment;
  /** Waiting for a drawing slot. */
  queued: boolean;
  /** The panel's stores, chained. */
  storing: Promise<void>;
}

/** The items of an array as an async iterable. */
async function* eachOf<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/** The iterator's next item, or undefined once `signal` is aborted (without waiting for the item). */
async function nextUnlessAborted<T>(iterator: AsyncIterator<T>, signal: AbortSignal | undefined): Promise<IteratorResult<T> | undefined> {
  if (!signal) return iterator.next();
  if (signal.aborted) return undefined;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  const next = iterator.next();
  next.catch(() => undefined); // if the abort wins, a later failure of the source is nobody's to handle
  try {
    return await Promise.race([next, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

export class StoryService {
  private readonly narrator: Narrator;

  constructor(private readonly deps: StoryDeps) {
    this.narrator = new Narrator({
      speech: deps.speech,
      store: deps.images,
      telemetry: deps.telemetry,
      now: () => deps.clock.now(),
      concurrency: deps.settings.speechConcurrency,
      presignSeconds: deps.settings.presignSeconds,
    });
  }

  get provider(): { text: string; image: string; speech: string } {
    return { text: this.deps.text.provider, image: this.deps.image.provider, speech: this.deps.speech.provider };
  }

  /** The voice ids narration may cast (`voices` of /narrate-story), the narrator's default first. */
  get speechVoices(): readonly string[] {
    return this.deps.speech.voices;
  }

  /**
   * Runs one story operation under a route name: validates the body (a 400 is the caller's and
   * is not tracked), then does the work and tracks it with the request as the schema parsed it
   * — never the raw body. An operation that stores artifacts is recorded as `incomplete`
   * before its first artifact (storage down means a 503 before any work) and completed after
   * its last, so a crash in between leaves a job that says so.
   */
  async run<T>(route: string, body: Record<string, unknown>, given: CallContext, op: StoryOperation<T>): Promise<Record<string, unknown>> {
    // The prompts the work renders are noted in this call's own context, for its tracking record.
    const ctx: CallContext = { ...given, promptUses: [] };
    const input = validateRequest(body, op.rule);
    // Large bodies make validation, the model's work and tracking each a sizeable piece of
    // synchronous work: each starts in a turn of its own so they never add up in one.
    await nextTurn();
    op.check?.(this, input, ctx);
    const named = (input as { job_id?: unknown }).job_id;
    const jobId = typeof named === 'string' ? named : this.deps.newId();
    const started = this.deps.clock.now();
    const provider = this.deps[op.engine].provider;
    const call = { ctx, route, jobId, timestamp: started, request: input, provider };
    const track = (response: Record<string, unknown>, status: TrackingRecord['status'], usage: UsageRow[]) => this.track(call, response, status, usage);
    if (op.artifacts) {
      await this.deps.sessions.claimJob(jobId, ctx.caller.sub);
      await this.deps.sessions.record(this.recordOf(call, { started: new Date(started).toISOString() }, 'incomplete', []));
    }
    let outcome: RouteOutcome;
    try {
      outcome = await op.execute(this, input, ctx, jobId);
    } catch (err) {
      this.deps.telemetry.count(`route_error.${route}`);
      // Caller mistakes found during the work are not tracked; model and store failures (throttling included) are.
      const callersFault = err instanceof HttpError && err.status < 500 && !(err instanceof ProviderUnavailableError);
      if (op.artifacts || (!callersFault && !isAbortError(err))) await track({ error: err instanceof Error ? err.message : String(err) }, 'error', []);
      throw err;
    }
    await track(outcome.tracked, 'success', outcome.usage);
    return outcome.result;
  }

  private recordOf(call: TrackedCall, response: Record<string, unknown>, status: TrackingRecord['status'], usage: UsageRow[]): TrackingRecord {
    return {
      userId: call.ctx.caller.sub,
      jobId: call.jobId,
      route: call.route,
      timestamp: call.timestamp,
      createdAt: new Date(call.timestamp).toISOString(),
      requestId: call.ctx.requestId,
      request: call.request,
      response,
      status,
      provider: call.provider,
      usage,
      prompts: [...(call.ctx.promptUses ?? [])],
    };
  }

  /** Records a finished call; a tracking failure is logged and counted, never a failed story. */
  private async track(call: TrackedCall, response: Record<string, unknown>, status: TrackingRecord['status'], usage: UsageRow[]): Promise<void> {
    const { sessions, telemetry } = this.deps;
    try {
      await sessions.claimJob(call.jobId, call.ctx.caller.sub);
      await nextTurn();
      await sessions.record(this.recordOf(call, response, status, usage));
      telemetry.count('tracking_records');
    } catch (err) {
      telemetry.count('tracking_failures');
      telemetry.log('error', 'tracking failed; the story is unaffected', { route: call.route, job_id: call.jobId, error: err instanceof Error ? err : String(err) });
    }
  }

  // ---- helpers --------------------------------------------------------------------------

  /** Resolves `model_id` against the allowlist; returns the provider-local id. */
  resolveModel(requested: string | undefined): { full: string; local: string } {
    const { allowedModels, defaultModelId } = this.deps.settings;
    const wanted = requested ?? defaultModelId;
    const full = allowedModels.find((m) => m === wanted || m === `bedrock/${wanted}`);
    if (!full) throw badRequest(`model_id "${wanted}" is not supported; choose one of: ${allowedModels.join(', ')}`);
    return { full, local: full.replace(/^bedrock\//, '') };
  }

  private stamp(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }

  /** Asks the text model, validates and normalises; bounded regeneration, then 502. */
  private async generateText<R, V>(
    task: TextTask,
    schema: z.ZodType<R>,
    check: (raw: R) => Checked<V>,
    modelId: string,
    seed: string,
    ctx: CallContext,
  ): Promise<{ value: V; usage: UsageRow[]; model: string }> {
    const { text, settings, clock, telemetry, prompts } = this.deps;
    const prompt = await renderPrompt(task, prompts);
    notePrompts(ctx, prompt.uses);
    const usage: UsageRow[] = [];
    let hint: string | undefined;
    for (let attempt = 1; attempt <= settings.textMaxAttempts; attempt++) {
      let repair: RenderedNamedPrompt | undefined;
      if (hint !== undefined) {
        repair = await renderNamed(prompts, 'story-writer/repair', { problem: hint });
        notePrompts(ctx, [repair.use]);
      }
      ctx.onProgress?.({ type: 'stage', stage: 'writing', detail: attempt > 1 ? `attempt ${attempt}` : undefined });
      const prose = ctx.onProgress ? streamReporter(ctx.onProgress, task.kind === 'story') : undefined;
      const t0 = clock.now();
      await nextTurn();
      const out = await text.generate({
        task,
        prompt,
        modelId,
        seed,
        attempt,
        repairHint: hint,
        repairPrompt: repair?.text,
        signal: ctx.signal,
        onDelta: prose?.push,
        onRestart: prose?.restart,
      });
      const row = { model: out.model, latencyMs: clock.now() - t0, inputTokens: out.usage?.inputTokens ?? 0, outputTokens: out.usage?.outputTokens ?? 0 };
      usage.push(row);
      telemetry.measure('model_latency_ms', row.latencyMs, 'Milliseconds');
      telemetry.count('input_tokens', row.inputTokens);
      telemetry.count('output_tokens', row.outputTokens);
      const parsed = schema.safeParse(out.data);
      if (!parsed.success) {
        hint = `the JSON did not match the schema: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).slice(0, 5).join('; ')}`;
      } else {
        const checked = check(parsed.data);
        if (checked.ok) return { value: checked.value, usage, model: out.model };
        hint = checked.problem;
      }
      telemetry.count('model_output_rejected');
      telemetry.log('warn', 'model output rejected', { task: task.kind, attempt, problem: hint });
    }
    throw badGateway(`The story model's output broke the story rules after ${settings.textMaxAttempts} attempts (${hint ?? 'unknown problem'})`);
  }

  private meta(extra: Record<string, unknown>, caller: Caller, provider: string, model?: string): Record<string, unknown> {
    return { ...extra, user_id: caller.sub, created_timestamp: this.stamp(), provider, ...(model ? { model_id: model } : {}) };
  }

  // ---- text routes ----------------------------------------------------------------------

  async topics(input: TopicsRequest, ctx: CallContext, jobId: string): Promise<RouteOutcome> {
    const model = this.resolveModel(input.model_id);
    const { value, usage, model: madeBy } = await this.generateText({ kind: 'topics', input }, topicsResultSchema, normaliseTopics, model.local, jobId, ctx);
    const result = {
      ...value,
      metadata: this.meta({ genre: input.genre, topics: input.topics, job_id: jobId }, ctx.caller, this.deps.text.provider, madeBy),
    };
    return { result, tracked: result, usage };
  }

  async outline(input: OutlineRequest, ctx: CallContext, jobId: string): Promise<RouteOutcome> {
    const model = this.resolveModel(input.model_id);
    const { value, usage, model: madeBy } = await this.generateText(
      { kind: 'outline', input },
      outlineResultSchema,
      (raw) => normaliseOutline(raw, input),
      model.local,
      jobId,
      ctx,
    );
    const { user_id: _ignored, ...echo } = input;
    const result = { ...value, metadata: this.meta({ ...echo, job_id: jobId }, ctx.caller, this.deps.text.provider, madeBy) };
    return { result, tracked: result, usage };
  }

  async story(input: StoryRequest, ctx: CallContext, jobId: string): Promise<RouteOutcome> {
    const model = this.resolveModel(input.model_id);
    const speakers = outlineSpeakers(input.story_outline_description);
    const task = storyTask(input, speakers);
    if (task.kind !== 'story') throw new Error('unreachable');
    const { value, usage, model: madeBy } = await this.generateText(
      task,
      storyResultSchema,
      (raw) => normaliseStory(raw, speakers, task.shape),
      model.local,
      jobId,
      ctx,
    );
    const { user_id: _ignored, story_outline_description: _outline, ...echo } = input;
    const result = {
      story_parts: value.story_parts,
      speaker_names: value.speaker_names,
      metadata: this.meta({ ...echo, job_id: jobId }, ctx.caller, this.deps.text.provider, madeBy),
    };
    return { result, tracked: result, usage };
  }

  async segment(input: SegmentRequest, ctx: CallContext, jobId: string): Promise<RouteOutcome> {
    const model = this.resolveModel(input.model_id);
    const speakers = outlineSpeakers([], [input.original_story_segment.speaker, ...input.original_story_segments.map((s) => s.speaker)]);
    const { value, usage, model: madeBy } = await this.generateText(
      { kind: 'segment', input, speakers },
      segmentResultSchema,
      (raw) => normaliseSegment(raw, input, speakers),
      model.local,
      jobId,
      ctx,
    );
    const { user_id: _ignored, ...echo } = input;
    const result = { ...value, metadata: this.meta({ ...echo, job_id: jobId }, ctx.caller, this.deps.text.provider, madeBy) };
    return { result, tracked: result, usage };
  }

  // ---- image routes ---------------------------------------------------------------------

  /** One scene per section from its Narrator segments (the old service's shape). */
  static scenesFromStory(parts: NonNullable<ImageRequestBody['complete_story_parts']>): ImageSegmentInput[] {
    const scenes: ImageSegmentInput[] = [];
    for (const part of parts) {
      for (const section of part.sections) {
        const narration = section.segments.filter((s) => s.speaker.trim().toLowerCase() === NARRATOR.toLowerCase());
        const chosen = narration.length > 0 ? narration : section.segments;
        const content = chosen.map((s) => s.segment_content.trim()).filter(Boolean).join(' ');
        if (!content) continue;
        scenes.push({ story_segment_content: content, story_segment_number: scenes.length + 1, story_segment_speaker: NARRATOR });
      }
    }
    return scenes;
  }

  /** The scenes to draw: the segments sent, or one per section of the story sent. */
  static scenesOf(input: ImageRequestBody): ImageSegmentInput[] {
    return input.story_segments?.length ? input.story_segments : StoryService.scenesFromStory(input.complete_story_parts ?? []);
  }

  /** A story without any text to draw is the caller's mistake (400), not the image model's. */
  checkScenes(input: ImageRequestBody): void {
    if (StoryService.scenesOf(input).length === 0) throw badRequest('complete_story_parts has no segment text to illustrate');
  }

  async storyImages(input: ImageRequestBody, ctx: CallContext, jobId: string): Promise<RouteOutcome> {
    const scenes = StoryService.scenesOf(input);
    return this.storyImagesAsWritten(eachOf(scenes), input, ctx, jobId, scenes.length);
  }

  /**
   * Draws each scene as it arrives (a story's panels while the story is still being written),
   * with at most `imageConcurrency` drawings in flight, one panel per `story_segment_number`:
   * - numbers beyond the first `number_of_panels` distinct ones are ignored;
   * - a scene with the text its panel was last asked to show is skipped; with other text it is
   *   drawn again and replaces the panel (the same key), and an older drawing never replaces a
   *   newer one, whatever order they finish in;
   * - `panel` events as each drawing is stored (`panel` counts distinct panels stored, of
   *   `number_of_panels`, or of `sceneCount` when the caller knows fewer scenes will come);
   * - an abort (`ctx.signal`) stops taking scenes; the drawings started still end (they get the signal).
   * Returns when `scenes` has ended and every drawing has settled; failures are handled as one
   * failed panel each (storage down: 503; nothing drawn: the first failure, or 502).
   */
  async storyImagesAsWritten(
    scenes: AsyncIterable<ImageSegmentInput>,
    input: { art_style: string; number_of_panels: number },
    ctx: CallContext,
    jobId: string,
    sceneCount?: number,
  ): Promise<RouteOutcome> {
    const { image, images, settings, telemetry } = this.deps;
    const sub = ctx.caller.sub;
    const of = sceneCount === undefined ? input.number_of_panels : Math.min(sceneCount, input.number_of_panels);
    ctx.onProgress?.({ type: 'stage', stage: 'illustrating', detail: `${of} panels` });
    const limit = Math.max(1, settings.imageConcurrency);
    const panels = new Map<number, PanelState>();
    /** Panel numbers waiting for a drawing slot (each at most once: it draws its latest scene). */
    const waiting: number[] = [];
    const running = new Set<Promise<void>>();
    const failures: unknown[] = [];
    let stored = 0;

    const draw = async (n: number, panel: PanelState, version: number, scene: ImageSegmentInput): Promise<void> => {
      ctx.signal?.throwIfAborted();
      const instruction = await renderNamed(this.deps.prompts, 'illustrator/panel', { art_style: input.art_style, scene: scene.story_segment_content });
      notePrompts(ctx, [instruction.use]);
      const generated = await image.generate({
        prompt: scene.story_segment_content,
        artStyle: input.art_style,
        seed: `${jobId}:${n}`,
        width: settings.imageWidth,
        height: settings.imageHeight,
        signal: ctx.signal,
        modelPrompt: instruction.text,
      });
      // One panel's stores run one after another, so a drawing stored earlier never lands after a newer one.
      const store = panel.storing.then(async () => {
        if (panel.stored > version) return; // a newer drawing of this panel is already stored
        const key = imageKey(sub, jobId, `segment_${n}.png`);
        await images.put(key, generated.png, 'image/png');
        const segment: DrawnSegment = {
          ...scene,
          image_s3_uri: `s3://${images.bucket}/${key}`,
          image_presigned_url: await images.presignGet(key, settings.presignSeconds),
        };
        if (panel.stored === 0) stored += 1;
        panel.stored = version;
        panel.segment = segment;
        ctx.onProgress?.({ type: 'panel', panel: stored, of, segmentNumber: n, segment });
      });
      panel.storing = store.catch(() => undefined);
      await store;
    };

    const pump = (): void => {
      while (running.size < limit) {
        const n = waiting.shift();
        if (n === undefined) return;
        const panel = panels.get(n);
        if (!panel) continue;
        panel.queued = false;
        panel.started += 1;
        const drawing: Promise<void> = draw(n, panel, panel.started, panel.scene)
          .catch((err: unknown) => void failures.push(err))
          .finally(() => {
            running.delete(drawing);
            pump();
          });
        running.add(drawing);
      }
    };

    const take = (scene: ImageSegmentInput): void => {
      const n = scene.story_segment_number;
      let panel = panels.get(n);
      if (!panel) {
        if (panels.size >= input.number_of_panels) return;
        panel = { scene, started: 0, stored: 0, queued: false, storing: Promise.resolve() };
        panels.set(n, panel);
      } else if (panel.scene.story_segment_content === scene.story_segment_content) {
        return; // drawn, or being drawn, with this text already
      }
      panel.scene = scene;
      if (!panel.queued) {
        panel.queued = true;
        waiting.push(n);
      }
      pump();
    };

    let inputFailure: { error: unknown } | undefined;
    const iterator = scenes[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await nextUnlessAborted(iterator, ctx.signal);
        if (next === undefined) {
          // Aborted: stop the source (without waiting for it) and take nothing more.
          void Promise.resolve(iterator.return?.()).catch(() => undefined);
          break;
        }
        if (next.done) break;
        take(next.value);
      }
    } catch (error) {
      inputFailure = { error };
    }
    while (running.size > 0) await Promise.all(running);

    for (const err of failures) {
      telemetry.count('panel_failures');
      telemetry.log('warn', 'panel image failed', { job_id: jobId, error: err instanceof Error ? err.message : String(err) });
    }
    if (inputFailure) throw inputFailure.error;
    const made = [...panels.entries()]
      .sort(([a], [b]) => a - b)
      .flatMap(([, panel]) => (panel.segment ? [panel.segment] : []));
    // Storage that fails is storage's failure (503), never blamed on the image model.
    const storage = failures.find((e) => e instanceof StorageUnavailableError);
    if (storage) throw storage;
    if (made.length === 0) {
      const first = failures[0];
      if (first instanceof HttpError || isAbortError(first)) throw first;
      if (failures.length === 0) ctx.signal?.throwIfAborted();
      throw badGateway('The image model could not draw any panel');
    }
    const metadata: Record<string, unknown> = this.meta(
      { art_style: input.art_style, number_of_panels: input.number_of_panels, job_id: jobId },
      ctx.caller,
      image.provider,
    );
    if (made.length < input.number_of_panels) {
      const reason = failures.length > 0 ? `${failures.length} failed` : `the story has ${panels.size} scenes`;
      metadata.panel_count_warning = `Only ${made.length} of ${input.number_of_panels} panels could be generated (${reason})`;
    }
    const result = { story_segments: made, metadata };
    const tracked = { story_segments: made.map(({ image_presigned_url: _url, ...rest }) => rest), metadata };
    return { result, tracked, usage: [] };
  }

  /** The caller's own image key from an s3:// URI, or a 400/403. */
  ownImageKey(uri: string, caller: Caller): string {
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri.trim());
    if (!m) throw badRequest('original_segment_image_s3_uri must be an s3:// URI of a story image');
    const [, bucket, key] = m as unknown as [string, string, string];
    if (bucket !== this.deps.images.bucket) throw forbidden('original_segment_image_s3_uri is not in this platform\'s image bucket');
    const segments = key.split('/');
    if (!key.startsWith(`users/${caller.sub}/`) || segments.some((s) => s === '' || s === '.' || s === '..')) {
      throw forbidden('original_segment_image_s3_uri belongs to another user');
    }
    // Only story images: the caller's agent-session files are not for the image routes.
    if (!key.startsWith(`users/${caller.sub}/jobs/`)) throw badRequest('original_segment_image_s3_uri must name a story image of one of your jobs');
    return key;
  }

  /** The caller's own segment image and its segment number, or a 400/403. */
  originalImage(input: RegenerateImageRequest, caller: Caller): { key: string; n: number } {
    const key = this.ownImageKey(input.original_segment_image_s3_uri, caller);
    const m = SEGMENT_KEY.exec(key);
    if (!m) throw badRequest('original_segment_image_s3_uri must name a segment image (segment_<n>.png)');
    return { key, n: Number(m[1]) };
  }

  async regenerateImage(input: RegenerateImageRequest, ctx: CallContext, jobId: string): Promise<RouteOutcome> {
    const { image, images, settings } = this.deps;
    const { key, n } = this.originalImage(input, ctx.caller);
    const original = await images.get(key);
    if (!original) throw notFound('The original segment image does not exist');
    ctx.onProgress?.({ type: 'stage', stage: 'illustrating', detail: `segment ${n}` });
    const instruction = await renderNamed(this.deps.prompts, 'illustrator/edit', { request: input.user_request });
    notePrompts(ctx, [instruction.use]);
    const ts = this.deps.clock.now();
    const edited = await image.edit({
      original,
      instruction: input.user_request,
      prompt: input.user_request,
      artStyle: input.art_style ?? '',
      seed: `${jobId}:${n}:${ts}`,
      width: settings.imageWidth,
      height: settings.imageHeight,
      signal: ctx.signal,
      modelPrompt: instruction.text,
    });
    const newKey = imageKey(ctx.caller.sub, jobId, `segment_${n}_regenerated_${ts}.png`);
    await images.put(newKey, edited.png, 'image/png');
    const uri = `s3://${images.bucket}/${newKey}`;
    const metadata = this.meta(
      { user_request: input.user_request, original_segment_image_s3_uri: input.original_segment_image_s3_uri, job_id: jobId },
      ctx.caller,
      image.provider,
    );
    const result = {
      new_story_segment_image_s3_uri: uri,
      new_story_segment_image_presigned_url: await images.presignGet(newKey, settings.presignSeconds),
      metadata,
    };
    return { result, tracked: { new_story_segment_image_s3_uri: uri, metadata }, usage: [] };
  }

  // ---- narration --------------------------------------------------------------------------

  /** Voice ids, the speakers they name, section numbers and over-long words: a 400 before any work. */
  checkNarration(input: NarrateRequest): void {
    this.narrator.check(input);
  }

  async narrate(input: NarrateRequest, ctx: CallContext, jobId: string): Promise<RouteOutcome> {
    const out = await this.narrator.narrate(input, ctx.caller, jobId, {
      signal: ctx.signal,
      onStage: (stage, detail) => ctx.onProgress?.({ type: 'stage', stage, detail }),
      onSection: (done, of, audio) => ctx.onProgress?.({ type: 'section', done, of, audio }),
    });
    return { result: out.result, tracked: out.tracked, usage: [] };
  }
}

/**
 * The story-images operation for callers outside the route table (the agent's tools): draws
 * `scenes` as they arrive (see `storyImagesAsWritten`), validated, tracked and recorded as the
 * image route's calls are. Run it under the image route's name:
 * `story.run('generate_entire_story_image', { art_style, number_of_panels, job_id }, ctx, imagesAsWrittenOperation(queue))`.
 * If the body is refused (a 400) or the job cannot be claimed, `scenes` is never read.
 */
export function imagesAsWrittenOperation(scenes: AsyncIterable<ImageSegmentInput>): StoryOperation<ImagesAsWrittenRequest> {
  return {
    rule: requestRules.imagesAsWritten,
    execute: (story, input, ctx, jobId) => story.storyImagesAsWritten(scenes, input, ctx, jobId),
    artifacts: true,
    engine: 'image',
  };
}
