/**
 * A job as GET /jobs/{job_id} gives it, read back into what the studio shows: the story (a
 * StoryDoc: the latest written story, its rewritten segments, the newest picture of each panel
 * with a fresh URL, the narration), or what there is of it (an outline, topic ideas), and a
 * title, kind and date for the library. Pure: no React, no DOM, no network (the jest tests run
 * it in node).
 *
 * What the records look like (src/core/story-service.ts, narration.ts, jobs-service.ts):
 * - `route` is the route *name* (generate_entire_story, …); each record keeps the request as the
 *   schema parsed it and the route's result (without presigned URLs), oldest first;
 * - panel images are `users/<sub>/jobs/<job>/segment_<n>.png` (a redraw of the whole story
 *   writes the same key again); a redrawn panel is `segment_<n>_regenerated_<ms>.png`, where n
 *   is the panel of the original image;
 * - a panel is a section (StoryDoc.images is keyed by the section's place in the story); the
 *   image route numbers its scenes: with `complete_story_parts`, one scene per section that has
 *   text (its Narrator lines, else all its lines); with `story_segments`, as the caller chose
 *   (the story agent: by section).
 */
import type { Body, Result } from '../api/client';
import type { Narration, OutlinePart, PanelImage, Segment, StoryDoc, StoryPart, StoryRequest } from '../story/model';
import { allSegments, panelsOf, withSegment } from '../story/model';

export type Job = Result<'/jobs/{job_id}', 'get'>;
export type JobRecord = Job['records'][number];
export type JobImage = Job['images'][number];
export type JobAudio = NonNullable<Job['audio']>;
export type JobListItem = Result<'/jobs', 'get'>['jobs'][number];
export type TopicsRequest = Omit<Body<'/generate-topics-ideas', 'post'>, 'user_id' | 'job_id'>;
export type TopicsResult = Omit<Result<'/generate-topics-ideas', 'post'>, 'metadata'>;
export type OutlineRequest = Omit<Body<'/generate-story-outline', 'post'>, 'user_id' | 'job_id'>;

/** The route names the records carry (the route table's names; paths accepted too). */
export const ROUTE_NAMES = {
  topics: ['generate_topics_ideas', '/generate-topics-ideas'],
  outline: ['generate_story_outline_description', '/generate-story-outline'],
  story: ['generate_entire_story', '/generate-story'],
  segment: ['regenerate_story_segment', '/regenerate-segment'],
  images: ['generate_entire_story_image', '/generate-story-image'],
  image: ['regenerate_segment_image', '/regenerate-segment-image'],
  narrate: ['narrate_story', '/narrate-story'],
} as const;
export type RouteKind = keyof typeof ROUTE_NAMES;

export function routeKind(route: string): RouteKind | undefined {
  for (const [kind, names] of Object.entries(ROUTE_NAMES) as [RouteKind, readonly string[]][]) if (names.includes(route)) return kind;
  return undefined;
}

/** What a job is, for the library: an illustrated or audio story (or, before either, topic ideas). */
export type JobKind = 'illustrated' | 'audio' | 'topics' | 'unknown';
export const KIND_LABELS: Record<JobKind, string> = { illustrated: 'Illustrated', audio: 'Audio', topics: 'Topic ideas', unknown: 'Story' };

/** How far the job got. */
export type JobStage = 'topics' | 'outline' | 'story' | 'empty';

export interface OutlineView {
  request: OutlineRequest;
  parts: OutlinePart[];
  speakerNames: string[];
}

export interface TopicsView {
  request: TopicsRequest;
  result: TopicsResult;
}

/** One panel picture to show or download. */
export interface PanelFile {
  /** The panel: its section's place in the story (1-based). */
  panel: number;
  s3Uri: string;
  url: string;
  fileName: string;
}

/** One narration file to play or download. */
export interface AudioFile {
  /** Absent: the whole story. */
  sectionNum?: number;
  s3Uri: string;
  url: string;
  durationSeconds: number;
  fileName: string;
}

export interface JobView {
  jobId: string;
  title: string;
  kind: JobKind;
  stage: JobStage;
  /** ISO time of the job's first and latest call. */
  createdAt?: string;
  updatedAt?: string;
  /** Which engine wrote the text (else the newest call's provider). */
  provider?: string;
  status: Job['status'];
  doc?: StoryDoc;
  outline?: OutlineView;
  topics?: TopicsView;
  /** The panels in story order (the newest picture of each). */
  panels: PanelFile[];
  /** The whole story's narration, then each section's. */
  storyAudio?: AudioFile;
  sectionAudio: AudioFile[];
}

// ---- reading unknown JSON --------------------------------------------------------------------

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const strings = (v: unknown): string[] => arr(v).filter((x): x is string => typeof x === 'string');

function segmentOf(v: unknown): Segment | undefined {
  if (!isObj(v)) return undefined;
  const segment_num = num(v.segment_num);
  const segment_content = str(v.segment_content);
  const speaker = str(v.speaker);
  if (segment_num === undefined || segment_content === undefined || speaker === undefined) return undefined;
  return { segment_num, segment_content, speaker };
}

/** A written story's parts, or undefined when they are not one (e.g. a truncated record). */
export function storyPartsOf(v: unknown): StoryPart[] | undefined {
  if (!Array.isArray(v) || v.length === 0) return undefined;
  const parts: StoryPart[] = [];
  for (const p of v) {
    if (!isObj(p) || typeof p.story_part !== 'string' || !Array.isArray(p.sections)) return undefined;
    const sections: StoryPart['sections'] = [];
    for (const s of p.sections) {
      if (!isObj(s) || num(s.section_num) === undefined || !Array.isArray(s.segments)) return undefined;
      const segments: Segment[] = [];
      for (const g of s.segments) {
        const seg = segmentOf(g);
        if (!seg) return undefined;
        segments.push(seg);
      }
      sections.push({ section_num: s.section_num as number, segments });
    }
    parts.push({ story_part: p.story_part, sections });
  }
  return parts;
}

function outlinePartsOf(v: unknown): OutlinePart[] | undefined {
  if (!Array.isArray(v) || v.length === 0) return undefined;
  const parts: OutlinePart[] = [];
  for (const p of v) {
    if (!isObj(p) || typeof p.story_part !== 'string' || typeof p.story_part_summary !== 'string') return undefined;
    parts.push({ story_part: p.story_part, story_part_summary: p.story_part_summary, story_part_speakers: strings(p.story_part_speakers) });
  }
  return parts;
}

/** The fields of a story or outline request the studio shows (shared by both routes). */
function storyRequestOf(v: unknown): StoryRequest | undefined {
  if (!isObj(v)) return undefined;
  const genre = str(v.genre);
  const reading_level = str(v.reading_level);
  const tone = str(v.tone);
  const story_type = v.story_type === 'visual' || v.story_type === 'audio' ? v.story_type : undefined;
  const number_of_speakers = num(v.number_of_speakers);
  if (genre === undefined || reading_level === undefined || tone === undefined || story_type === undefined || number_of_speakers === undefined) return undefined;
  const request: StoryRequest = { genre, reading_level, tone, story_type, number_of_speakers };
  const panels = num(v.panels);
  if (panels !== undefined) request.panels = panels;
  const audio_length = num(v.audio_length);
  if (audio_length !== undefined) request.audio_length = audio_length;
  const model_id = str(v.model_id);
  if (model_id !== undefined) request.model_id = model_id;
  const description = str(v.user_input_description);
  if (description !== undefined) request.user_input_description = description;
  const sources = arr(v.sources).flatMap((s) => (isObj(s) && typeof s.title === 'string' && typeof s.url === 'string' ? [{ title: s.title, url: s.url }] : []));
  if (sources.length > 0) request.sources = sources;
  return request;
}

function topicsOf(rec: JobRecord): TopicsView | undefined {
  const req = rec.request;
  const res = rec.response;
  if (!isObj(req) || !isObj(res)) return undefined;
  const genre = req.genre === 'fiction' || req.genre === 'non-fiction' ? req.genre : undefined;
  const topics = str(req.topics);
  const fields = ['subject_category', 'scope_coverage', 'structure', 'source_types', 'target_audience', 'tone'] as const;
  if (genre === undefined || topics === undefined || fields.some((f) => typeof res[f] !== 'string')) return undefined;
  const result: TopicsResult = {
    subject_category: String(res.subject_category),
    scope_coverage: String(res.scope_coverage),
    structure: String(res.structure),
    source_types: String(res.source_types),
    target_audience: String(res.target_audience),
    tone: String(res.tone),
  };
  const request: TopicsRequest = { genre, topics };
  const model_id = str(req.model_id);
  if (model_id !== undefined) request.model_id = model_id;
  return { request, result };
}

function outlineOf(rec: JobRecord): OutlineView | undefined {
  const request = storyRequestOf(rec.request);
  const res = rec.response;
  if (!request || !isObj(res)) return undefined;
  const parts = outlinePartsOf(res.story_parts);
  if (!parts) return undefined;
  return { request: { ...request, user_input_description: request.user_input_description ?? '' }, parts, speakerNames: strings(res.speaker_names) };
}

const metadataOf = (v: unknown): Obj => (isObj(v) && isObj(v.metadata) ? v.metadata : {});

// ---- the story -----------------------------------------------------------------------------

/** Successful records in time order (equal times keep the job's order). */
function successful(job: Job): JobRecord[] {
  return job.records
    .map((r, i) => ({ r, i }))
    .filter(({ r }) => r.status === 'success')
    .sort((a, b) => a.r.timestamp - b.r.timestamp || a.i - b.i)
    .map(({ r }) => r);
}

const SEGMENT_KEY = /(?:^|\/)segment_(\d+)(?:_regenerated_(\d+))?\.png$/;

/** The panel number an image URI names (segment_<n>.png, segment_<n>_regenerated_<ms>.png). */
export function panelOfUri(uri: string): { panel: number; regenerated?: number } | undefined {
  const m = SEGMENT_KEY.exec(uri);
  if (!m) return undefined;
  return { panel: Number(m[1]), ...(m[2] ? { regenerated: Number(m[2]) } : {}) };
}

/** The file name at the end of an s3:// URI. */
export const fileNameOf = (uri: string): string => uri.slice(uri.lastIndexOf('/') + 1) || uri;

const isNarrator = (speaker: string) => speaker.trim().toLowerCase() === 'narrator';

/** The scene the image route draws for a section: its Narrator lines, else all its lines, joined ('' when it has no text). */
function sceneText(segments: readonly Segment[]): string {
  const narration = segments.filter((s) => isNarrator(s.speaker));
  return (narration.length > 0 ? narration : segments)
    .map((s) => s.segment_content.trim())
    .filter(Boolean)
    .join(' ');
}

/** Scene n → the section_num it was drawn from, as the image route numbers scenes of `complete_story_parts`. */
function scenesOf(parts: readonly StoryPart[]): Map<number, number> {
  const map = new Map<number, number>();
  for (const part of parts) for (const section of part.sections) if (sceneText(section.segments)) map.set(map.size + 1, section.section_num);
  return map;
}

/**
 * The newest image of each panel (a panel is a section: its place in the story, 1-based), from
 * the image records in time order, and, for panels no record names, from the files.
 */
function panelImages(records: readonly JobRecord[], parts: readonly StoryPart[], files: readonly JobImage[]): Record<number, PanelImage> {
  const urlOf = new Map(files.map((f) => [f.s3_uri, f.presigned_url]));
  const panels = panelsOf(parts);
  const panelOfSection = new Map(panels.map((p) => [p.section.section_num, p.panel]));
  const panelOfScene = new Map(panels.map((p) => [sceneText(p.section.segments), p.panel]));
  const history = new Map<number, string[]>();
  const uriPanel = new Map<string, number>();
  /** Panel numbers of the image route (its story_segment_number) → the story's panels. */
  const drawnPanel = new Map<number, number>();
  const note = (panel: number, uri: string) => {
    history.set(panel, [...(history.get(panel) ?? []).filter((u) => u !== uri), uri]);
    uriPanel.set(uri, panel);
  };

  for (const rec of records) {
    const kind = routeKind(rec.route);
    if (kind === 'images') {
      const req = isObj(rec.request) ? rec.request : {};
      const sent = arr(req.story_segments);
      const sentParts = storyPartsOf(req.complete_story_parts);
      const scenes = sent.length === 0 && sentParts ? scenesOf(sentParts) : undefined;
      for (const s of arr(isObj(rec.response) ? rec.response.story_segments : undefined)) {
        if (!isObj(s)) continue;
        const n = num(s.story_segment_number);
        const uri = str(s.image_s3_uri);
        if (n === undefined || uri === undefined) continue;
        // From the whole story: scene n is a section. Scenes the caller (or the agent) numbered:
        // the section with that text, else the number is the panel.
        const section = scenes?.get(n);
        const panel = (section !== undefined ? panelOfSection.get(section) : undefined) ?? panelOfScene.get(str(s.story_segment_content)?.trim() ?? '') ?? n;
        drawnPanel.set(n, panel);
        note(panel, uri);
      }
    } else if (kind === 'image') {
      const res = isObj(rec.response) ? rec.response : {};
      const uri = str(res.new_story_segment_image_s3_uri);
      if (uri === undefined) continue;
      const original = (isObj(rec.request) ? str(rec.request.original_segment_image_s3_uri) : undefined) ?? str(metadataOf(res).original_segment_image_s3_uri);
      let panel = original !== undefined ? uriPanel.get(original) : undefined;
      if (panel === undefined) {
        const named = panelOfUri(original ?? uri);
        if (named) panel = drawnPanel.get(named.panel) ?? named.panel;
      }
      if (panel !== undefined) note(panel, uri);
    }
  }

  // Pictures no record names (records past the pages read, or cut): by their file names, newest redraw last.
  const loose = files
    .map((f) => ({ f, named: panelOfUri(f.s3_uri) }))
    .filter((x): x is { f: JobImage; named: { panel: number; regenerated?: number } } => x.named !== undefined && !uriPanel.has(x.f.s3_uri))
    .sort((a, b) => (a.named.regenerated ?? 0) - (b.named.regenerated ?? 0));
  for (const { f, named } of loose) {
    const panel = drawnPanel.get(named.panel) ?? named.panel;
    if (!history.has(panel) || named.regenerated !== undefined) note(panel, f.s3_uri);
  }

  const images: Record<number, PanelImage> = {};
  for (const [panel, uris] of history) {
    // The newest picture that still exists (has a fresh URL).
    for (let i = uris.length - 1; i >= 0; i--) {
      const uri = uris[i] as string;
      const url = urlOf.get(uri);
      if (url) {
        images[panel] = { s3Uri: uri, url };
        break;
      }
    }
  }
  return images;
}

/** The job's narration in the shape the narrate route answers (fresh URLs), when it has a whole-story file. */
function narrationOf(job: Job, records: readonly JobRecord[]): Narration | undefined {
  const audio = job.audio;
  if (!audio || !audio.story) return undefined;
  const last = [...records].reverse().find((r) => routeKind(r.route) === 'narrate');
  const meta = metadataOf(last?.response);
  return {
    job_id: job.job_id,
    format: 'mp3',
    voices: audio.voices,
    sections: audio.sections.map((s) => ({ ...s, narrated: false })),
    story: audio.story,
    total_duration_seconds: audio.total_duration_seconds ?? audio.story.duration_seconds,
    metadata: {
      ...meta,
      job_id: job.job_id,
      user_id: str(meta.user_id) ?? '',
      created_timestamp: str(meta.created_timestamp) ?? audio.updated_at,
      provider: audio.provider,
      model_id: audio.model_id,
      format: 'mp3',
      narrated_sections: arr(meta.narrated_sections).filter((n): n is number => typeof n === 'number'),
    },
  };
}

/**
 * The job's story as the studio edits it: the latest successful written story (request, parts,
 * speakers, provider) with the segments rewritten after it (in time order), the newest picture
 * of each panel with a fresh URL, and the narration. Undefined when no story was written.
 */
export function storyDocFromJob(job: Job): StoryDoc | undefined {
  const records = successful(job);
  let storyAt = -1;
  let story: { request: StoryRequest; parts: StoryPart[]; speakerNames?: string[]; provider?: string } | undefined;
  for (const [i, rec] of records.entries()) {
    if (routeKind(rec.route) !== 'story' || !isObj(rec.response)) continue;
    const found = storyPartsOf(rec.response.story_parts);
    const request = storyRequestOf(rec.request) ?? storyRequestOf(metadataOf(rec.response));
    if (!found || !request) continue;
    const speakers = strings(rec.response.speaker_names);
    const provider = rec.provider ?? str(metadataOf(rec.response).provider);
    story = { request, parts: found, ...(speakers.length > 0 ? { speakerNames: speakers } : {}), ...(provider ? { provider } : {}) };
    storyAt = i;
  }
  if (!story) return undefined;

  // Segments rewritten after that story, in time order (a rewrite of an older story does not apply).
  let parts = story.parts;
  for (const rec of records.slice(storyAt + 1)) {
    if (routeKind(rec.route) !== 'segment' || !isObj(rec.response)) continue;
    const seg = segmentOf(rec.response.new_story_segment);
    if (!seg) continue;
    const wanted = isObj(rec.request) ? num(rec.request.original_story_segment_num) : undefined;
    parts = withSegment(parts, wanted !== undefined ? { ...seg, segment_num: wanted } : seg);
  }

  const imageRecords = records.filter((r) => {
    const k = routeKind(r.route);
    return k === 'images' || k === 'image';
  });
  let artStyle: string | undefined;
  for (const rec of imageRecords) {
    const style = (isObj(rec.request) ? str(rec.request.art_style) : undefined) ?? str(metadataOf(rec.response).art_style);
    if (style) artStyle = style;
  }
  const narration = narrationOf(job, records);
  return {
    jobId: job.job_id,
    request: story.request,
    ...(artStyle ? { artStyle } : {}),
    parts,
    ...(story.speakerNames ? { speakerNames: story.speakerNames } : {}),
    ...(story.provider ? { provider: story.provider } : {}),
    images: panelImages(imageRecords, parts, job.images),
    ...(narration ? { narration } : {}),
  };
}

// ---- the library's view --------------------------------------------------------------------

const firstLine = (text: string) => text.trim().split('\n')[0]?.trim() ?? '';

/** At most `max` characters, cut at a word. */
export function clip(text: string, max = 80): string {
  const t = text.replace(/\s+/g, ' ').trim();
  if (t.length <= max) return t;
  const cut = t.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[\s,.;:!?-]+$/, '')}…`;
}

/** The first words of a story. */
const firstWords = (parts: readonly StoryPart[], words = 10): string | undefined => {
  const text = allSegments(parts).find((s) => s.segment_content.trim())?.segment_content.trim();
  if (!text) return undefined;
  const list = text.split(/\s+/);
  return list.length > words ? `${list.slice(0, words).join(' ')}…` : text;
};

/** The newest successful record of a kind whose content reads. */
function latest<T>(records: readonly JobRecord[], kind: RouteKind, read: (r: JobRecord) => T | undefined): T | undefined {
  for (let i = records.length - 1; i >= 0; i--) {
    const rec = records[i] as JobRecord;
    if (routeKind(rec.route) !== kind) continue;
    const v = read(rec);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Everything the library and the job page show of a job. */
export function jobView(job: Job): JobView {
  const records = successful(job);
  const doc = storyDocFromJob(job);
  const outline = latest(records, 'outline', outlineOf);
  const topics = latest(records, 'topics', topicsOf);

  const description = doc?.request.user_input_description?.trim() || outline?.request.user_input_description.trim();
  const title = clip(
    description
      ? firstLine(description)
      : topics
        ? `Topic ideas: ${topics.request.topics}`
        : (doc && firstWords(doc.parts)) || job.job_id,
  );

  const storyType = doc?.request.story_type ?? outline?.request.story_type;
  const hasImages = job.images.some((f) => panelOfUri(f.s3_uri) !== undefined);
  const kind: JobKind = storyType === 'visual' || (!storyType && hasImages) ? 'illustrated' : storyType === 'audio' || job.audio ? 'audio' : topics ? 'topics' : 'unknown';
  const stage: JobStage = doc ? 'story' : outline ? 'outline' : topics ? 'topics' : 'empty';

  const panels: PanelFile[] = doc
    ? Object.entries(doc.images)
        .map(([panel, img]) => ({ panel: Number(panel), s3Uri: img.s3Uri, url: img.url, fileName: fileNameOf(img.s3Uri) }))
        .sort((a, b) => a.panel - b.panel)
    : job.images
        .flatMap((f) => {
          const named = panelOfUri(f.s3_uri);
          return named && named.regenerated === undefined ? [{ panel: named.panel, s3Uri: f.s3_uri, url: f.presigned_url, fileName: fileNameOf(f.s3_uri) }] : [];
        })
        .sort((a, b) => a.panel - b.panel);

  const audio = job.audio;
  const storyAudio: AudioFile | undefined = audio?.story
    ? { s3Uri: audio.story.audio_s3_uri, url: audio.story.audio_presigned_url, durationSeconds: audio.story.duration_seconds, fileName: `${job.job_id}-${fileNameOf(audio.story.audio_s3_uri)}` }
    : undefined;
  const sectionAudio: AudioFile[] = (audio?.sections ?? [])
    .map((s) => ({ sectionNum: s.section_num, s3Uri: s.audio_s3_uri, url: s.audio_presigned_url, durationSeconds: s.duration_seconds, fileName: `${job.job_id}-${fileNameOf(s.audio_s3_uri)}` }))
    .sort((a, b) => a.sectionNum - b.sectionNum);

  const times = job.records.map((r) => r.created_at).sort();
  const provider = doc?.provider ?? [...records].reverse().find((r) => r.provider)?.provider ?? undefined;
  return {
    jobId: job.job_id,
    title,
    kind,
    stage,
    ...(times[0] ? { createdAt: times[0] } : {}),
    ...(times.length > 0 ? { updatedAt: times[times.length - 1] } : {}),
    ...(provider ? { provider } : {}),
    status: job.status,
    ...(doc ? { doc } : {}),
    ...(outline ? { outline } : {}),
    ...(topics ? { topics } : {}),
    panels: panels.map((p) => ({ ...p, fileName: `${job.job_id}-${p.fileName}` })),
    ...(storyAudio ? { storyAudio } : {}),
    sectionAudio,
  };
}

/**
 * Pages of one job merged into one: records and images of every page read, in order, without
 * repeats. A page read for one list only (the other's cursor had run out) passes
 * `{ records: false }` or `{ images: false }` so its restarted first page of the other is skipped.
 */
export function mergeJobPages(pages: ReadonlyArray<{ page: Job; records: boolean; images: boolean }>): Job {
  const first = pages[0];
  if (!first) throw new Error('no pages');
  const seenRecords = new Set<string>();
  const seenImages = new Set<string>();
  const records: JobRecord[] = [];
  const images: JobImage[] = [];
  for (const { page, records: takeRecords, images: takeImages } of pages) {
    if (takeRecords)
      for (const r of page.records) {
        const key = `${r.timestamp}#${r.route}#${r.request_id}`;
        if (seenRecords.has(key)) continue;
        seenRecords.add(key);
        records.push(r);
      }
    if (takeImages)
      for (const f of page.images) {
        if (seenImages.has(f.s3_uri)) continue;
        seenImages.add(f.s3_uri);
        images.push(f);
      }
  }
  const last = pages[pages.length - 1] as (typeof pages)[number];
  const lastRecords = [...pages].reverse().find((p) => p.records)?.page ?? first.page;
  const lastImages = [...pages].reverse().find((p) => p.images)?.page ?? first.page;
  return { ...first.page, status: last.page.status, audio: last.page.audio, records, images, next_records_cursor: lastRecords.next_records_cursor, next_images_cursor: lastImages.next_images_cursor };
}

/** Seconds as m:ss (or h:mm:ss). */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
