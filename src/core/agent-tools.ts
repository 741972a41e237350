/**
 * The story agent's tools: each a thin call into the story core (the very route handlers of
 * the route table, so validation, tracking and ownership are the routes'), the web search port
 * or the session store. The caller is always the verified token's — never anything a model says.
 *
 * A session's current story lives in its artifact `story.json` (the job, the written parts, the
 * pictures, the narration and the research sources), so a later message — in another process —
 * can change one segment or one picture of it.
 */
import { z } from 'zod';
import { contentTypeFor } from './artifacts';
import type { AgentSessionStore } from './artifacts';
import { AGENT_TOOL, agentToolDescriptions, agentToolInputs, type AgentToolInput, type AgentToolName } from './agent-prompt';
import { AsyncQueue } from './concurrency';
import { badRequest, HttpError } from './errors';
import type { Caller, SearchResult, WebSearch } from './ports';
import { routeNamed, type RouteServices } from './routes';
import { NARRATOR, PANELS_MAX, type ImageSegmentInput, type StoryPartsInput } from './schemas';
import { imagesAsWrittenOperation, StoryService, type CallContext, type ProgressEvent } from './story-service';

/** What a tool reports while it works (becomes an SSE event of the agent's stream). */
export type AgentEvent =
  | { event: 'tool_progress'; data: Record<string, unknown> }
  | { event: 'sources'; data: Record<string, unknown> }
  | { event: 'media'; data: Record<string, unknown> }
  | { event: 'artifact'; data: Record<string, unknown> };

/** One tool, framework-neutral: the adapter in `agent/` wraps it for the agent framework. */
export interface AgentTool {
  name: AgentToolName;
  description: string;
  inputSchema: z.ZodType;
  /** Runs the tool on input the schema has parsed; a thrown HttpError becomes the tool's error result. */
  run(input: unknown): Promise<Record<string, unknown>>;
}

export interface AgentTurnContext {
  caller: Caller;
  sessionId: string;
  requestId: string;
  signal: AbortSignal;
  emit(event: AgentEvent): void;
  /** Work that may finish after the tool returns (pictures still being drawn); the turn waits for it. */
  background(label: string, work: Promise<unknown>): void;
}

export interface AgentToolDeps {
  services: RouteServices;
  sessions: AgentSessionStore;
  search: WebSearch;
  newId(): string;
  presignSeconds: number;
}

/** Sources a session keeps at most (the newest). */
const MAX_SOURCES = 30;
/** Characters of story text a tool result hands back to the model. */
const RESULT_TEXT_CHARS = 6000;
/** Characters of an artifact `read_artifact` hands back. */
const READ_TEXT_CHARS = 20_000;
export const STORY_STATE_FILE = 'story.json';
export const SOURCES_FILE = 'research/sources.json';

const segmentState = z.object({ segment_num: z.number().int(), segment_content: z.string().max(20_000), speaker: z.string().max(100) });
const storyStateSchema = z.object({
  job_id: z.string().max(128),
  title: z.string().max(200),
  request: z.object({
    genre: z.string().max(200),
    reading_level: z.string().max(200),
    tone: z.string().max(200),
    story_type: z.enum(['visual', 'audio']),
    number_of_speakers: z.number().int(),
    panels: z.number().int().optional(),
    audio_length: z.number().int().optional(),
  }),
  story_parts: z.array(z.object({ story_part: z.string().max(50), sections: z.array(z.object({ section_num: z.number().int(), segments: z.array(segmentState).max(50) })).max(60) })).max(3),
  speaker_names: z.array(z.string().max(100)).max(16),
  sources: z.array(z.object({ title: z.string().max(300), url: z.string().max(2048) })).max(MAX_SOURCES),
  art_style: z.string().max(200).optional(),
  /** Panel number → its current picture. */
  panels: z.record(z.string().regex(/^\d{1,5}$/), z.object({ s3_uri: z.string().max(2048) })),
  narration: z.object({ story_uri: z.string().max(2048), total_seconds: z.number(), sections: z.number().int() }).optional(),
});
export type StoryState = z.infer<typeof storyStateSchema>;

const sourcesSchema = z.array(z.object({ title: z.string().max(300), url: z.string().max(2048), snippet: z.string().max(1000) })).max(MAX_SOURCES);

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** The story's text for a model: each section on a line, capped. */
function storyText(parts: StoryState['story_parts']): string {
  const lines = parts.flatMap((p) => p.sections.map((s) => `Section ${s.section_num}: ${s.segments.map((g) => (g.speaker === NARRATOR ? g.segment_content : `${g.speaker}: "${g.segment_content}"`)).join(' ')}`));
  return cut(lines.join('\n'), RESULT_TEXT_CHARS);
}

/** A scene to draw from one written section: its narration (else all its lines), as the image route builds scenes. */
function sceneOf(section: { segments: Array<{ segment_content: string; speaker: string }> }, n: number): ImageSegmentInput | undefined {
  const [scene] = StoryService.scenesFromStory([{ story_part: 'part', sections: [{ section_num: n, segments: section.segments.map((s, i) => ({ segment_num: i + 1, ...s })) }] }]);
  return scene && { ...scene, story_segment_number: n };
}

/** The tools of one turn, bound to the caller and the session. */
export class AgentToolbox {
  private state: StoryState | undefined;
  /** The read of the story file, once per turn (settled at once when a tool wrote a new story). */
  private loading: Promise<void> | undefined;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: AgentToolDeps,
    private readonly turn: AgentTurnContext,
  ) {}

  /**
   * The session's current story, loaded once per turn (absent: none yet). Callers at the same
   * time share the one read: each gets the story it loaded, not the state before it arrived.
   */
  async currentStory(): Promise<StoryState | undefined> {
    // A failed read is not kept: the next call reads again.
    this.loading ??= this.loadStory().catch((err: unknown) => {
      this.loading = undefined;
      throw err;
    });
    await this.loading;
    return this.state;
  }

  private async loadStory(): Promise<void> {
    try {
      const { bytes } = await this.deps.sessions.readArtifact(this.turn.caller.sub, this.turn.sessionId, STORY_STATE_FILE);
      const parsed = storyStateSchema.safeParse(JSON.parse(Buffer.from(bytes).toString('utf8')));
      this.state = parsed.success ? parsed.data : undefined;
    } catch (err) {
      if (!(err instanceof HttpError && err.status === 404) && !(err instanceof SyntaxError)) throw err;
    }
  }

  /** One line about the current story for the system prompt. */
  async summary(): Promise<string> {
    const s = await this.currentStory();
    if (!s) return 'no story yet.';
    const sections = s.story_parts.reduce((n, p) => n + p.sections.length, 0);
    const panels = Object.keys(s.panels).map(Number).sort((a, b) => a - b);
    return [
      `the current story is "${s.title}" (job ${s.job_id}, ${s.request.genre}, ${s.request.reading_level}, ${s.request.story_type}) with ${sections} sections`,
      panels.length ? `pictures for panels ${panels.join(', ')}` : 'no pictures yet',
      s.narration ? `narrated (${Math.round(s.narration.total_seconds)} s)` : 'not narrated yet',
      s.sources.length ? `${s.sources.length} sources` : '',
    ]
      .filter(Boolean)
      .join('; ');
  }

  private async requireStory(): Promise<StoryState> {
    const s = await this.currentStory();
    if (!s) throw badRequest('This session has no story yet: write one first (write_story).');
    return s;
  }

  /** Saves the current story (writes are serialised; the last one holds the latest state). */
  private save(): Promise<void> {
    const state = this.state;
    if (!state) return this.saving;
    const body = new TextEncoder().encode(JSON.stringify(state, null, 2));
    this.saving = this.saving.then(async () => {
      await this.writeFile(STORY_STATE_FILE, body);
    });
    return this.saving;
  }

  private async writeFile(path: string, bytes: Uint8Array, contentType?: string): Promise<Record<string, unknown>> {
    const { caller, sessionId } = this.turn;
    const stored = await this.deps.sessions.writeArtifact(caller.sub, sessionId, path, bytes, contentType);
    const url = await this.deps.sessions.presignArtifact(caller.sub, sessionId, path, this.deps.presignSeconds);
    const info = { path: stored.path, size: stored.size, content_type: stored.content_type, s3_uri: stored.s3_uri, url };
    this.turn.emit({ event: 'artifact', data: info });
    return info;
  }

  private ctx(tool: AgentToolName, onProgress?: (e: ProgressEvent) => void): CallContext {
    const { caller, requestId, signal } = this.turn;
    return {
      caller,
      requestId,
      signal,
      onProgress: (e) => {
        if (e.type === 'stage') this.turn.emit({ event: 'tool_progress', data: { tool, stage: e.stage, detail: e.detail ?? null } });
        onProgress?.(e);
      },
    };
  }

  /** A route of the table, called exactly as its door calls it. */
  private call(route: string, body: Record<string, unknown>, ctx: CallContext): Promise<Record<string, unknown>> {
    return routeNamed(route).handle(this.deps.services, { body, query: {}, params: {} }, ctx) as Promise<Record<string, unknown>>;
  }

  private panelEvent(jobId: string) {
    return (e: ProgressEvent) => {
      if (e.type !== 'panel') return;
      const seg = e.segment as { image_s3_uri?: string; image_presigned_url?: string };
      if (this.state?.job_id === jobId && seg.image_s3_uri) this.state.panels[String(e.segmentNumber)] = { s3_uri: seg.image_s3_uri };
      this.turn.emit({ event: 'media', data: { kind: 'image', job_id: jobId, panel: e.segmentNumber, done: e.panel, of: e.of, s3_uri: seg.image_s3_uri ?? null, url: seg.image_presigned_url ?? null } });
    };
  }

  private async sources(): Promise<Array<z.infer<typeof sourcesSchema>[number]>> {
    try {
      const { bytes } = await this.deps.sessions.readArtifact(this.turn.caller.sub, this.turn.sessionId, SOURCES_FILE);
      const parsed = sourcesSchema.safeParse(JSON.parse(Buffer.from(bytes).toString('utf8')));
      return parsed.success ? parsed.data : [];
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) return [];
      if (err instanceof SyntaxError) return [];
      throw err;
    }
  }

  // ---- the tools ---------------------------------------------------------------------------

  async webSearch(input: AgentToolInput<'web_search'>): Promise<Record<string, unknown>> {
    const answer = await this.deps.search.search(input.query, { signal: this.turn.signal, limit: input.max_results ?? 5 });
    if (answer.status === 'unavailable') {
      this.turn.emit({ event: 'sources', data: { query: input.query, status: 'unavailable', engine: answer.engine, reason: answer.reason } });
      return { status: 'unavailable', reason: answer.reason, engine: answer.engine };
    }
    const found: SearchResult[] = answer.results;
    this.turn.emit({ event: 'sources', data: { query: input.query, status: 'ok', engine: answer.engine, cached: answer.cached, results: found.map((r) => ({ title: r.title, url: r.url })) } });
    if (found.length > 0) {
      const known = await this.sources();
      const merged = [...found, ...known.filter((k) => !found.some((f) => f.url === k.url))].slice(0, MAX_SOURCES);
      await this.writeFile(SOURCES_FILE, new TextEncoder().encode(JSON.stringify(merged, null, 2)), 'application/json');
    }
    return { status: 'ok', engine: answer.engine, cached: answer.cached, results: found };
  }

  async topicIdeas(input: AgentToolInput<'topic_ideas'>): Promise<Record<string, unknown>> {
    return this.call('generate_topics_ideas', { genre: input.genre, topics: input.topics }, this.ctx(AGENT_TOOL.topicIdeas));
  }

  private briefBody(input: AgentToolInput<'outline_story'>): Omit<AgentToolInput<'outline_story'>, 'idea'> & { user_input_description: string } {
    const { idea, ...brief } = input;
    const length = brief.story_type === 'visual' ? { panels: brief.panels ?? 6, audio_length: undefined } : { audio_length: brief.audio_length ?? 3, panels: undefined };
    return { ...brief, ...length, user_input_description: idea };
  }

  async outlineStory(input: AgentToolInput<'outline_story'>): Promise<Record<string, unknown>> {
    return this.call('generate_story_outline_description', this.briefBody(input), this.ctx(AGENT_TOOL.outlineStory));
  }

  async writeStory(input: AgentToolInput<'write_story'>): Promise<Record<string, unknown>> {
    const jobId = this.deps.newId();
    const { outline, illustrate, art_style, title, ...rest } = input;
    const body = { ...this.briefBody(rest), job_id: jobId };
    let parts = outline;
    if (!parts) {
      const made = await this.call('generate_story_outline_description', body, this.ctx(AGENT_TOOL.writeStory));
      parts = (made.story_parts as Array<{ story_part: string; story_part_summary: string; story_part_speakers: string[] }>) ?? [];
    }
    const style = art_style || 'storybook watercolor';
    const panels = Math.min(PANELS_MAX, body.panels ?? 6);
    const sources = (await this.sources()).map((s) => ({ title: s.title, url: s.url }));
    this.state = {
      job_id: jobId,
      title: title ?? cut(rest.idea.split(/(?<=[.!?\n])\s/)[0] ?? rest.idea, 120),
      request: { genre: rest.genre, reading_level: rest.reading_level, tone: rest.tone, story_type: rest.story_type, number_of_speakers: rest.number_of_speakers, panels: body.panels, audio_length: body.audio_length },
      story_parts: [],
      speaker_names: [],
      sources,
      art_style: illustrate ? style : undefined,
      panels: {},
    };
    this.loading = Promise.resolve();
    // Pictures start as each section's text is complete in the story stream (pipelined), through
    // the image route's own operation: tracked under its name, like a call of the route.
    const scenes = illustrate ? new AsyncQueue<ImageSegmentInput>(4 * PANELS_MAX) : undefined;
    const pictures = scenes
      ? this.deps.services.story.run('generate_entire_story_image', { art_style: style, number_of_panels: panels, job_id: jobId }, this.ctx(AGENT_TOOL.writeStory, this.panelEvent(jobId)), imagesAsWrittenOperation(scenes))
      : undefined;
    let story: Record<string, unknown>;
    try {
      story = await this.call('generate_entire_story', { ...body, story_outline_description: parts, ...(sources.length > 0 ? { sources } : {}) }, this.ctx(AGENT_TOOL.writeStory, (e) => {
        if (e.type !== 'section_text') return;
        this.turn.emit({ event: 'tool_progress', data: { tool: AGENT_TOOL.writeStory, stage: 'section written', section: e.section, text: cut(e.segments.map((s) => s.segment_content).join(' '), 400) } });
        const scene = sceneOf(e, e.section);
        if (scene && scenes && e.section <= panels) scenes.push(scene);
      }));
    } catch (err) {
      scenes?.close();
      // The pictures' call ends on its own (nothing more to draw); its failure is not this one's.
      if (pictures) this.turn.background('pictures', pictures.catch(() => undefined));
      throw err;
    }
    const written = story.story_parts as StoryPartsInput;
    this.state.story_parts = written.map((p) => ({ story_part: p.story_part, sections: p.sections.map((s) => ({ section_num: s.section_num, segments: s.segments.map((g) => ({ segment_num: g.segment_num, segment_content: g.segment_content, speaker: g.speaker })) })) }));
    this.state.speaker_names = (story.speaker_names as string[] | undefined) ?? [];
    if (scenes) {
      // The final text decides: a panel drawn from text the model later replaced is drawn again.
      for (const scene of StoryService.scenesFromStory(written).slice(0, panels)) scenes.push(scene);
      scenes.close();
    }
    // The story is saved while the agent goes on (the turn waits for it); so are the pictures.
    this.turn.background('story', this.save());
    if (pictures) {
      // Saved again once the pictures are stored (or have failed), so the story lists them.
      this.turn.background('pictures', pictures.finally(() => this.save()));
    }
    const sections = this.state.story_parts.reduce((n, p) => n + p.sections.length, 0);
    return {
      job_id: jobId,
      title: this.state.title,
      sections,
      speaker_names: this.state.speaker_names,
      panels_illustrating: scenes ? Math.min(panels, sections) : 0,
      sources: sources.length,
      story: storyText(this.state.story_parts),
    };
  }

  async rewriteSegment(input: AgentToolInput<'rewrite_segment'>): Promise<Record<string, unknown>> {
    const s = await this.requireStory();
    const all = s.story_parts.flatMap((p) => p.sections.flatMap((sec) => sec.segments));
    const original = all.find((g) => g.segment_num === input.segment_number);
    if (!original) throw badRequest(`The current story has no segment ${input.segment_number} (it has segments 1 to ${all.length}).`);
    const body = {
      ...s.request,
      user_request: input.request,
      original_story_segments: all,
      original_story_segment_num: input.segment_number,
      original_story_segment: original,
      job_id: s.job_id,
    };
    const out = await this.call('regenerate_story_segment', body, this.ctx(AGENT_TOOL.rewriteSegment));
    const next = out.new_story_segment as { segment_content: string; speaker: string };
    original.segment_content = next.segment_content;
    original.speaker = next.speaker;
    const section = s.story_parts.flatMap((p) => p.sections).find((sec) => sec.segments.includes(original));
    await this.save();
    return { segment_number: input.segment_number, section: section?.section_num ?? null, speaker: next.speaker, text: next.segment_content };
  }

  async illustrateStory(input: AgentToolInput<'illustrate_story'>): Promise<Record<string, unknown>> {
    const s = await this.requireStory();
    const scenes = StoryService.scenesFromStory(s.story_parts);
    const style = input.art_style || s.art_style || 'storybook watercolor';
    s.art_style = style;
    const out = await this.call(
      'generate_entire_story_image',
      { complete_story_parts: s.story_parts, art_style: style, number_of_panels: Math.min(PANELS_MAX, input.panels ?? scenes.length), job_id: s.job_id },
      this.ctx(AGENT_TOOL.illustrateStory, this.panelEvent(s.job_id)),
    );
    await this.save();
    const made = out.story_segments as unknown[];
    return { job_id: s.job_id, panels: made.length, warning: (out.metadata as { panel_count_warning?: string }).panel_count_warning ?? null };
  }

  async redrawPanel(input: AgentToolInput<'redraw_panel'>): Promise<Record<string, unknown>> {
    const s = await this.requireStory();
    const current = s.panels[String(input.panel)];
    if (!current) throw badRequest(`Panel ${input.panel} has no picture yet (pictures: ${Object.keys(s.panels).join(', ') || 'none'}).`);
    const out = await this.call(
      'regenerate_segment_image',
      { user_request: input.request, original_segment_image_s3_uri: current.s3_uri, job_id: s.job_id, art_style: s.art_style },
      this.ctx(AGENT_TOOL.redrawPanel),
    );
    const uri = out.new_story_segment_image_s3_uri as string;
    s.panels[String(input.panel)] = { s3_uri: uri };
    this.turn.emit({ event: 'media', data: { kind: 'image', job_id: s.job_id, panel: input.panel, done: 1, of: 1, s3_uri: uri, url: out.new_story_segment_image_presigned_url } });
    await this.save();
    return { panel: input.panel, s3_uri: uri };
  }

  async narrateStory(input: AgentToolInput<'narrate_story'>): Promise<Record<string, unknown>> {
    const s = await this.requireStory();
    const out = await this.call(
      'narrate_story',
      { story_parts: s.story_parts, job_id: s.job_id, voices: input.voices, sections: input.sections },
      this.ctx(AGENT_TOOL.narrateStory, (e) => {
        if (e.type !== 'section') return;
        const a = e.audio as { section_num?: number; audio_s3_uri?: string; audio_presigned_url?: string; duration_seconds?: number };
        this.turn.emit({ event: 'media', data: { kind: 'audio', job_id: s.job_id, section: a.section_num ?? null, done: e.done, of: e.of, s3_uri: a.audio_s3_uri ?? null, url: a.audio_presigned_url ?? null, duration_seconds: a.duration_seconds ?? null } });
      }),
    );
    const whole = out.story as { audio_s3_uri: string; audio_presigned_url: string; duration_seconds: number };
    const sections = (out.sections as unknown[]).length;
    s.narration = { story_uri: whole.audio_s3_uri, total_seconds: out.total_duration_seconds as number, sections };
    this.turn.emit({ event: 'media', data: { kind: 'audio', job_id: s.job_id, section: null, done: sections, of: sections, s3_uri: whole.audio_s3_uri, url: whole.audio_presigned_url, duration_seconds: whole.duration_seconds } });
    await this.save();
    return { job_id: s.job_id, sections, total_seconds: out.total_duration_seconds, voices: out.voices };
  }

  async writeArtifact(input: AgentToolInput<'write_artifact'>): Promise<Record<string, unknown>> {
    if (input.path === STORY_STATE_FILE) throw badRequest(`${STORY_STATE_FILE} is kept by the story tools; choose another path`);
    const info = await this.writeFile(input.path, new TextEncoder().encode(input.content), input.content_type);
    return { path: info.path, size: info.size, content_type: info.content_type };
  }

  async readArtifact(input: AgentToolInput<'read_artifact'>): Promise<Record<string, unknown>> {
    const { bytes, content_type } = await this.deps.sessions.readArtifact(this.turn.caller.sub, this.turn.sessionId, input.path);
    const textual = /^(text\/|application\/json)/.test(content_type) || /^(text\/|application\/json)/.test(contentTypeFor(input.path));
    if (!textual) return { path: input.path, content_type, size: bytes.length, content: null, note: 'not a text file' };
    const text = new TextDecoder().decode(bytes);
    return { path: input.path, content_type, size: bytes.length, content: cut(text, READ_TEXT_CHARS), truncated: text.length > READ_TEXT_CHARS };
  }

  async listArtifacts(): Promise<Record<string, unknown>> {
    const files = await this.deps.sessions.listArtifacts(this.turn.caller.sub, this.turn.sessionId);
    return { artifacts: files.map((f) => ({ path: f.path, size: f.size, content_type: f.content_type })) };
  }

  /** Every tool, for the agent framework. */
  tools(): AgentTool[] {
    const def = <N extends AgentToolName>(name: N, run: (input: AgentToolInput<N>) => Promise<Record<string, unknown>>): AgentTool => ({
      name,
      description: agentToolDescriptions[name],
      inputSchema: agentToolInputs[name],
      run: async (raw) => {
        const parsed = agentToolInputs[name].safeParse(raw);
        if (!parsed.success) throw badRequest(`${name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).slice(0, 3).join('; ')}`);
        this.turn.signal.throwIfAborted();
        return run(parsed.data as AgentToolInput<N>);
      },
    });
    return [
      def(AGENT_TOOL.webSearch, (i) => this.webSearch(i)),
      def(AGENT_TOOL.topicIdeas, (i) => this.topicIdeas(i)),
      def(AGENT_TOOL.outlineStory, (i) => this.outlineStory(i)),
      def(AGENT_TOOL.writeStory, (i) => this.writeStory(i)),
      def(AGENT_TOOL.rewriteSegment, (i) => this.rewriteSegment(i)),
      def(AGENT_TOOL.illustrateStory, (i) => this.illustrateStory(i)),
      def(AGENT_TOOL.redrawPanel, (i) => this.redrawPanel(i)),
      def(AGENT_TOOL.narrateStory, (i) => this.narrateStory(i)),
      def(AGENT_TOOL.writeArtifact, (i) => this.writeArtifact(i)),
      def(AGENT_TOOL.readArtifact, (i) => this.readArtifact(i)),
      def(AGENT_TOOL.listArtifacts, () => this.listArtifacts()),
    ];
  }
}
