/**
 * Narration: a written story spoken section by section, each speaker in a voice of its own,
 * stored as MP3s next to the job's images, plus the whole story as one file.
 *
 * Files of a job (`users/<sub>/jobs/<job_id>/audio/`): `section_<n>.mp3` per section,
 * `story.mp3` (the sections joined in order) and `narration.json`, the manifest: the voice
 * cast (kept, so a re-narration speaks with the same voices), each section's file and length,
 * and which provider spoke. Sections are synthesized concurrently, at most `concurrency` at a
 * time; each is stored (and streamed as an SSE `section` event) as soon as it is done.
 */
import { z } from 'zod';
import { mapSettled } from './concurrency';
import { badGateway, badRequest, HttpError, isAbortError, StorageUnavailableError } from './errors';
import { joinMp3, Mp3JoinError } from './mp3';
import type { Caller, ImageStore, SpeechModel, Telemetry } from './ports';
import { NARRATION_MAX_CHARS, NARRATION_MAX_SECTIONS, NARRATOR, type NarrateRequest } from './schemas';
import { speakable, speechChunks } from './speech-text';

/** Silence after a speaker's turn, and between the pieces of one long turn. */
const PAUSE_AFTER_TURN_MS = 450;
const PAUSE_IN_TURN_MS = 120;
/** Speakers who get a voice of their own besides the Narrator (the spec allows 4). */
export const DISTINCT_SPEAKER_VOICES = 4;
/** Objects of the job's audio folder (sections, story, manifest) — bounded by the section cap. */
export const AUDIO_FOLDER = 'audio/';

export function jobPrefix(sub: string, jobId: string): string {
  return `users/${sub}/jobs/${jobId}/`;
}

const audioKey = (sub: string, jobId: string, file: string) => `${jobPrefix(sub, jobId)}${AUDIO_FOLDER}${file}`;

const manifestSchema = z.object({
  version: z.literal(1),
  provider: z.string().max(100),
  model: z.string().max(200),
  format: z.literal('mp3'),
  cast: z.record(z.string().max(100), z.string().max(64)).refine((c) => Object.keys(c).length <= 64),
  sections: z.array(z.object({ section_num: z.number().int(), key: z.string().max(1024), duration_seconds: z.number(), bytes: z.number().int() })).max(NARRATION_MAX_SECTIONS),
  /** Null after a narration that stored some sections and then failed: no whole-story file matches them. */
  story: z.object({ key: z.string().max(1024), duration_seconds: z.number(), bytes: z.number().int() }).nullable(),
  updated_at: z.string().max(40),
});
export type NarrationManifest = z.infer<typeof manifestSchema>;
type ManifestSection = NarrationManifest['sections'][number];

/** A job's narration manifest, if it has one (an unreadable one counts as none). */
export async function readNarration(store: ImageStore, sub: string, jobId: string): Promise<NarrationManifest | undefined> {
  const bytes = await store.get(audioKey(sub, jobId, 'narration.json'));
  if (!bytes) return undefined;
  try {
    const parsed = manifestSchema.safeParse(JSON.parse(Buffer.from(bytes).toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

interface Turn {
  speaker: string;
  text: string;
}

export interface StorySection {
  n: number;
  turns: Turn[];
}

const isNarrator = (speaker: string) => speaker.trim().toLowerCase() === NARRATOR.toLowerCase();

/** The story's sections in order, their speakers' turns, and the speakers (Narrator first) — or a 400. */
export function storySections(parts: NarrateRequest['story_parts']): { sections: StorySection[]; speakers: string[] } {
  const sections: StorySection[] = [];
  const speakers = new Set<string>([NARRATOR]);
  let chars = 0;
  for (const part of parts) {
    for (const section of part.sections) {
      if (sections.length === NARRATION_MAX_SECTIONS) throw badRequest(`story_parts has more than ${NARRATION_MAX_SECTIONS} sections; narrate at most ${NARRATION_MAX_SECTIONS} at a time`);
      if (sections.some((s) => s.n === section.section_num)) throw badRequest(`section_num ${section.section_num} appears twice in story_parts`);
      const turns = section.segments.flatMap((seg) => {
        const text = speakable(seg.segment_content);
        const speaker = isNarrator(seg.speaker) ? NARRATOR : seg.speaker.trim();
        return text ? [{ speaker, text }] : [];
      });
      if (turns.length === 0) throw badRequest(`section ${section.section_num} of story_parts has no text to narrate`);
      for (const t of turns) {
        speakers.add(t.speaker);
        chars += t.text.length;
      }
      if (chars > NARRATION_MAX_CHARS) throw badRequest(`story_parts has more than ${NARRATION_MAX_CHARS} characters of text to narrate`);
      sections.push({ n: section.section_num, turns });
    }
  }
  if (sections.length === 0) throw badRequest('story_parts has no sections to narrate');
  return { sections, speakers: [...speakers] };
}

/**
 * Who speaks with which voice: what the caller asked for, else the job's stored cast, else the
 * next voice nobody in the cast has (the Narrator takes the provider's first). Past the
 * provider's distinct voices, speakers share the non-narrator voices in turn.
 */
export function castVoices(speakers: readonly string[], voices: readonly string[], stored: Record<string, string>, requested: Record<string, string>): Record<string, string> {
  const valid = new Set(voices);
  const cast: Record<string, string> = {};
  for (const [speaker, voice] of Object.entries(stored)) if (valid.has(voice)) cast[speaker] = voice;
  for (const [speaker, voice] of Object.entries(requested)) cast[isNarrator(speaker) ? NARRATOR : speaker.trim()] = voice;
  const used = () => new Set(Object.values(cast));
  let shared = 0;
  for (const speaker of speakers) {
    if (cast[speaker]) continue;
    const taken = used();
    const free = (speaker === NARRATOR ? voices : voices.slice(1)).find((v) => !taken.has(v));
    const others = voices.length > 1 ? voices.slice(1) : voices;
    cast[speaker] = free ?? (others[shared++ % others.length] as string);
  }
  return cast;
}

export interface NarrationDeps {
  speech: SpeechModel;
  store: ImageStore;
  telemetry: Telemetry;
  now: () => number;
  concurrency: number;
  presignSeconds: number;
}

export interface NarrationEvents {
  signal?: AbortSignal;
  onStage?: (stage: string, detail: string) => void;
  onSection?: (done: number, of: number, section: Record<string, unknown>) => void;
}

interface SpokenSection {
  n: number;
  key: string;
  mp3: Uint8Array;
  durationSeconds: number;
  narrated: boolean;
}

export class Narrator {
  constructor(private readonly deps: NarrationDeps) {}

  /** The request's checks that need the provider (voice ids, the speakers they name): a 400 before any work. */
  check(input: NarrateRequest): void {
    const { sections, speakers } = storySections(input.story_parts);
    const voices = this.deps.speech.voices;
    for (const [speaker, voice] of Object.entries(input.voices ?? {})) {
      if (!voices.includes(voice)) throw badRequest(`voices.${speaker}: unknown voice "${voice}"; the ${this.deps.speech.provider} voices are: ${voices.join(', ')}`);
      const who = isNarrator(speaker) ? NARRATOR : speaker.trim();
      if (!speakers.includes(who)) throw badRequest(`voices names "${speaker}", who does not speak in story_parts (speakers: ${speakers.join(', ')})`);
    }
    for (const n of input.sections ?? []) {
      if (!sections.some((s) => s.n === n)) throw badRequest(`sections: the story has no section ${n}`);
    }
    // Text the provider cannot take in one call is cut at sentences; a word too long for it is a 400 now.
    for (const s of sections) for (const t of s.turns) speechChunks(t.text, this.deps.speech.maxChars, `section ${s.n}`);
  }

  async narrate(input: NarrateRequest, caller: Caller, jobId: string, events: NarrationEvents = {}): Promise<{ result: Record<string, unknown>; tracked: Record<string, unknown>; model: string }> {
    const { speech, store, concurrency } = this.deps;
    const { sections, speakers } = storySections(input.story_parts);
    const previous = await readNarration(store, caller.sub, jobId);
    // Another provider's voices (and sample rate) do not match: everything is spoken again.
    const sameProvider = previous?.provider === speech.provider;
    const cast = castVoices(speakers, speech.voices, sameProvider ? previous.cast : {}, input.voices ?? {});
    const storedKeys = new Map(sameProvider ? previous.sections.map((s) => [s.section_num, s]) : []);
    const recastSpeakers = new Set(speakers.filter((sp) => sameProvider && previous.cast[sp] !== undefined && previous.cast[sp] !== cast[sp]));
    const wanted = new Set(input.sections ?? sections.map((s) => s.n));
    // A section is spoken now when asked for, never spoken before, or one of its speakers changed voice.
    const toSpeak = sections.filter((s) => wanted.has(s.n) || !storedKeys.has(s.n) || s.turns.some((t) => recastSpeakers.has(t.speaker)));
    const kept = await this.keptSections(sections.filter((s) => !toSpeak.includes(s)), storedKeys, events.signal);
    for (const missing of kept.missing) toSpeak.push(missing);
    toSpeak.sort((a, b) => a.n - b.n);

    events.onStage?.('narrating', `${toSpeak.length} of ${sections.length} sections`);
    let done = 0;
    let model = '';
    const settled = await mapSettled(toSpeak, concurrency, async (section) => {
      events.signal?.throwIfAborted();
      const spoken = await this.speakSection(section, cast, events.signal);
      model = spoken.model;
      const key = audioKey(caller.sub, jobId, `section_${section.n}.mp3`);
      await store.put(key, spoken.mp3, 'audio/mpeg');
      const entry: SpokenSection = { n: section.n, key, mp3: spoken.mp3, durationSeconds: spoken.durationSeconds, narrated: true };
      done += 1;
      events.onSection?.(done, toSpeak.length, await this.sectionView(entry));
      return entry;
    });
    const failures = settled.flatMap((s) => (s.ok ? [] : [s.error]));
    const fresh = settled.flatMap((s) => (s.ok ? [s.value] : []));
    const entry = (s: SpokenSection): ManifestSection => ({ section_num: s.n, key: s.key, duration_seconds: round(s.durationSeconds), bytes: s.mp3.length });
    const manifestOf = (all: ManifestSection[], story: NarrationManifest['story']): NarrationManifest => ({
      version: 1,
      provider: speech.provider,
      model: model || previous?.model || speech.provider,
      format: 'mp3',
      cast,
      sections: [...all].sort((a, b) => a.section_num - b.section_num),
      story,
      updated_at: new Date(this.deps.now()).toISOString(),
    });
    if (failures.length > 0) {
      // What was stored is recorded (GET /jobs lists it, a retry keeps the voices); no story.mp3 matches it.
      if (fresh.length > 0) {
        const now = [...fresh, ...kept.sections].map(entry);
        const untouched = sameProvider ? previous.sections.filter((p) => !now.some((s) => s.section_num === p.section_num)) : [];
        await this.saveManifest(caller.sub, jobId, manifestOf([...now, ...untouched], null)).catch(() => undefined);
      }
      throw this.failure(failures, jobId, settled.length);
    }
    const all = [...fresh, ...kept.sections].sort((a, b) => a.n - b.n);

    events.onStage?.('joining', `${all.length} sections into story.mp3`);
    let joined: Awaited<ReturnType<typeof joinMp3>>;
    try {
      joined = await joinMp3(all.map((s) => s.mp3));
    } catch (err) {
      if (err instanceof Mp3JoinError) throw badGateway(`The narration's sections could not be joined: ${err.message}`);
      throw err;
    }
    const storyKey = audioKey(caller.sub, jobId, 'story.mp3');
    await store.put(storyKey, joined.mp3, 'audio/mpeg');
    const storyFile = { key: storyKey, duration_seconds: round(joined.info.durationSeconds), bytes: joined.mp3.length };
    const manifest = manifestOf(all.map(entry), storyFile);
    await this.saveManifest(caller.sub, jobId, manifest);

    const sectionViews = await Promise.all(all.map((s) => this.sectionView(s)));
    const storyView = { audio_s3_uri: this.uri(storyKey), audio_presigned_url: await store.presignGet(storyKey, this.deps.presignSeconds), duration_seconds: storyFile.duration_seconds };
    const metadata = {
      job_id: jobId,
      user_id: caller.sub,
      created_timestamp: manifest.updated_at,
      provider: speech.provider,
      model_id: manifest.model,
      format: input.format,
      narrated_sections: fresh.map((s) => s.n),
    };
    const voices = Object.fromEntries(speakers.map((sp) => [sp, cast[sp] as string]));
    const result = { job_id: jobId, format: input.format, voices, sections: sectionViews, story: storyView, total_duration_seconds: storyFile.duration_seconds, metadata };
    const tracked = {
      ...result,
      sections: sectionViews.map(({ audio_presigned_url: _url, ...rest }) => rest),
      story: { audio_s3_uri: storyView.audio_s3_uri, duration_seconds: storyView.duration_seconds },
    };
    return { result, tracked, model: manifest.model };
  }

  private saveManifest(sub: string, jobId: string, manifest: NarrationManifest): Promise<void> {
    return this.deps.store.put(audioKey(sub, jobId, 'narration.json'), new TextEncoder().encode(JSON.stringify(manifest)), 'application/json');
  }

  private uri(key: string): string {
    return `s3://${this.deps.store.bucket}/${key}`;
  }

  private async sectionView(s: SpokenSection): Promise<{ section_num: number; audio_s3_uri: string; audio_presigned_url: string; duration_seconds: number; narrated: boolean }> {
    return {
      section_num: s.n,
      audio_s3_uri: this.uri(s.key),
      audio_presigned_url: await this.deps.store.presignGet(s.key, this.deps.presignSeconds),
      duration_seconds: round(s.durationSeconds),
      narrated: s.narrated,
    };
  }

  /** The stored files of sections not spoken again (a file that is gone is spoken again). */
  private async keptSections(sections: StorySection[], stored: Map<number, ManifestSection>, signal?: AbortSignal): Promise<{ sections: SpokenSection[]; missing: StorySection[] }> {
    const got = await mapSettled(sections, this.deps.concurrency, async (section) => {
      signal?.throwIfAborted();
      const entry = stored.get(section.n);
      const mp3 = entry ? await this.deps.store.get(entry.key) : null;
      return { section, entry, mp3 };
    });
    const out: SpokenSection[] = [];
    const missing: StorySection[] = [];
    for (const g of got) {
      if (!g.ok) throw g.error;
      const { section, entry, mp3 } = g.value;
      if (entry && mp3) out.push({ n: section.n, key: entry.key, mp3, durationSeconds: entry.duration_seconds, narrated: false });
      else missing.push(section);
    }
    return { sections: out, missing };
  }

  /** One section: every turn in its speaker's voice, long turns in pieces, joined into one MP3. */
  private async speakSection(section: StorySection, cast: Record<string, string>, signal?: AbortSignal): Promise<{ mp3: Uint8Array; durationSeconds: number; model: string }> {
    const { speech } = this.deps;
    const pieces: Uint8Array[] = [];
    let model = '';
    for (const turn of section.turns) {
      const chunks = speechChunks(turn.text, speech.maxChars, `section ${section.n}`);
      for (const [i, text] of chunks.entries()) {
        const audio = await speech.synthesize({ text, voice: cast[turn.speaker] as string, pauseAfterMs: i === chunks.length - 1 ? PAUSE_AFTER_TURN_MS : PAUSE_IN_TURN_MS, signal });
        model = audio.model;
        pieces.push(audio.mp3);
        this.deps.telemetry.count('speech_characters', text.length);
      }
    }
    const joined = await joinMp3(pieces);
    this.deps.telemetry.count('narrated_sections');
    return { mp3: joined.mp3, durationSeconds: joined.info.durationSeconds, model };
  }

  /** Storage first (503), then the provider's own answer (429/503/400), else a 502 — and the sections already stored are said. */
  private failure(failures: unknown[], jobId: string, attempted: number): unknown {
    const { telemetry } = this.deps;
    telemetry.count('narration_failures', failures.length);
    telemetry.log('warn', 'narration failed', { job_id: jobId, failed: failures.length, attempted, error: failures[0] instanceof Error ? failures[0].message : String(failures[0]) });
    const storage = failures.find((e) => e instanceof StorageUnavailableError);
    if (storage) return storage;
    const first = failures[0];
    if (first instanceof HttpError || isAbortError(first)) return first;
    return badGateway(`The speech provider could not narrate ${failures.length} of ${attempted} sections`);
  }
}

const round = (seconds: number) => Math.round(seconds * 1000) / 1000;
