/**
 * POST /narrate-story end to end on the local platform (offline writer, offline speech, local
 * S3): an audio story written and narrated, sections streamed as they are stored, the voice
 * cast kept across re-narration, the job's audio in GET/DELETE /jobs, and every bad input a 400
 * with nothing stored.
 */
import { createHash } from 'node:crypto';
import { ADMIN_USER } from '../src/local/services';
import { decodeMp3, rms } from './support/audio';
import { jobId, startTestGateway, testConfig, tokenFor, type TestGateway } from './support/local';
import { readEvents } from './support/sse';

interface Segment {
  segment_num: number;
  segment_content: string;
  speaker: string;
}
interface Section {
  section_num: number;
  segments: Segment[];
}
interface Part {
  story_part: string;
  sections: Section[];
}
interface AudioFile {
  audio_s3_uri: string;
  audio_presigned_url: string;
  duration_seconds: number;
}
interface Narration {
  job_id: string;
  voices: Record<string, string>;
  sections: Array<AudioFile & { section_num: number; narrated: boolean }>;
  story: AudioFile;
  total_duration_seconds: number;
  metadata: { provider: string; model_id: string; narrated_sections: number[] };
}

const SHARED = { genre: 'fiction', reading_level: 'grade 3', tone: 'warm', story_type: 'audio', number_of_speakers: 2 };

async function download(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
}

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function writeAudioStory(gw: TestGateway, job: string, minutes: number): Promise<Part[]> {
  const outline = await gw.call('POST', '/generate-story-outline', { body: { ...SHARED, audio_length: minutes, user_input_description: 'Two friends, Mia and Leo, follow the bees to find where honey comes from.', job_id: job } });
  expect(outline.status).toBe(200);
  const parts = (outline.body.result as { story_parts: unknown[] }).story_parts;
  const story = await gw.call('POST', '/generate-story', { body: { ...SHARED, audio_length: minutes, story_outline_description: parts, job_id: job } });
  expect(story.status).toBe(200);
  return (story.body.result as { story_parts: Part[] }).story_parts;
}

const sectionCount = (parts: Part[]) => parts.reduce((n, p) => n + p.sections.length, 0);

describe('POST /narrate-story (offline speech)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ config: testConfig({ STORY42_SPEECH_CONCURRENCY: '3' }) });
  });
  afterAll(() => gw.stop());

  describe('a 3-minute audio story, written then narrated', () => {
    const job = jobId('narrate');
    let parts: Part[];
    let first: Narration;
    const streamedAtEvent: number[] = [];

    beforeAll(async () => {
      parts = await writeAudioStory(gw, job, 3);
      // SSE: each section's event carries a URL that already plays while the call is still running.
      const { status, events } = await readEvents(`${gw.url}/narrate-story`, { story_parts: parts, job_id: job });
      expect(status).toBe(200);
      for (const e of events) {
        if (e.event !== 'section') continue;
        const section = e.data.section as AudioFile;
        const res = await fetch(section.audio_presigned_url);
        streamedAtEvent.push(res.status);
        await res.arrayBuffer();
      }
      const result = events.find((e) => e.event === 'result');
      expect(result).toBeDefined();
      first = (result?.data as { result: Narration }).result;
      expect(events.findIndex((e) => e.event === 'section')).toBeLessThan(events.findIndex((e) => e.event === 'result'));
    });

    it('streams one section event per section, each already stored when it arrives', () => {
      expect(streamedAtEvent).toHaveLength(sectionCount(parts));
      expect(streamedAtEvent.every((s) => s === 200)).toBe(true);
    });

    it('stores one MP3 per section and the whole story under the caller\'s job, with one-hour URLs', () => {
      expect(first.sections.map((s) => s.section_num)).toEqual(parts.flatMap((p) => p.sections.map((s) => s.section_num)));
      for (const s of first.sections) {
        expect(s.audio_s3_uri).toMatch(new RegExp(`/users/${gw.sub}/jobs/${job}/audio/section_${s.section_num}\\.mp3$`));
        expect(s.audio_presigned_url).toMatch(/X-Amz-Expires=3600/);
        expect(s.narrated).toBe(true);
      }
      expect(first.story.audio_s3_uri).toMatch(new RegExp(`/users/${gw.sub}/jobs/${job}/audio/story\\.mp3$`));
      expect(first.metadata.provider).toBe('offline-speech-synthesizer');
      expect(first.metadata.model_id).toBe('espeak-ng');
    });

    it('story.mp3 plays as speech for 3 minutes ± 40 %, as long as its sections together', async () => {
      const story = await decodeMp3(await download(first.story.audio_presigned_url));
      expect(story.durationSeconds).toBeGreaterThan(180 * 0.6);
      expect(story.durationSeconds).toBeLessThan(180 * 1.4);
      expect(Math.abs(story.durationSeconds - first.total_duration_seconds)).toBeLessThan(0.5);
      const sum = first.sections.reduce((n, s) => n + s.duration_seconds, 0);
      expect(Math.abs(sum - first.total_duration_seconds)).toBeLessThan(0.5);
      expect(rms(story.samples)).toBeGreaterThan(0.02);
    });

    it('sections are different audio, each as long as reported', async () => {
      const files = await Promise.all(first.sections.slice(0, 3).map((s) => download(s.audio_presigned_url)));
      expect(new Set(files.map(sha)).size).toBe(3);
      for (const [i, bytes] of files.entries()) {
        const d = await decodeMp3(bytes);
        expect(Math.abs(d.durationSeconds - (first.sections[i] as AudioFile).duration_seconds)).toBeLessThan(0.1);
      }
    });

    it('casts distinct voices: the Narrator and each speaker', () => {
      const speakers = new Set(parts.flatMap((p) => p.sections.flatMap((s) => s.segments.map((g) => g.speaker))));
      expect(Object.keys(first.voices).sort()).toEqual([...speakers].sort());
      expect(new Set(Object.values(first.voices)).size).toBe(speakers.size);
      expect(first.voices.Narrator).toBe('en-us-michael');
    });

    it('re-narrating one changed section speaks only that one, with the same voices, and rebuilds story.mp3', async () => {
      const changed = structuredClone(parts);
      const target = changed[1]?.sections[0] as Section;
      (target.segments[0] as Segment).segment_content = 'Then, quite suddenly, the whole hive began to hum a brand new song, louder than ever before, and everyone stopped to listen.';
      const before = await Promise.all(first.sections.map((s) => download(s.audio_presigned_url).then(sha)));
      const res = await gw.call('POST', '/narrate-story', { body: { story_parts: changed, job_id: job, sections: [target.section_num] } });
      expect(res.status).toBe(200);
      const again = res.body.result as Narration;
      expect(again.voices).toEqual(first.voices);
      expect(again.metadata.narrated_sections).toEqual([target.section_num]);
      expect(again.sections.filter((s) => s.narrated).map((s) => s.section_num)).toEqual([target.section_num]);
      const after = await Promise.all(again.sections.map((s) => download(s.audio_presigned_url).then(sha)));
      for (const [i, s] of again.sections.entries()) {
        if (s.section_num === target.section_num) expect(after[i]).not.toBe(before[i]);
        else expect(after[i]).toBe(before[i]);
      }
      const story = await decodeMp3(await download(again.story.audio_presigned_url));
      const sum = again.sections.reduce((n, s) => n + s.duration_seconds, 0);
      expect(Math.abs(story.durationSeconds - sum)).toBeLessThan(0.5);
    });

    it('a voice asked for replaces the cast entry, is kept, and re-speaks the sections that speaker is in', async () => {
      const res = await gw.call('POST', '/narrate-story', { body: { story_parts: parts, job_id: job, sections: [1], voices: { Narrator: 'en-gb-robert' } } });
      expect(res.status).toBe(200);
      const recast = res.body.result as Narration;
      expect(recast.voices.Narrator).toBe('en-gb-robert');
      // Every section has the Narrator, so every section is spoken again in the new voice.
      expect(recast.metadata.narrated_sections).toHaveLength(sectionCount(parts));
      const next = await gw.call('POST', '/narrate-story', { body: { story_parts: parts, job_id: job, sections: [1] } });
      expect((next.body.result as Narration).voices).toEqual(recast.voices);
      expect((next.body.result as Narration).metadata.narrated_sections).toEqual([1]);
    });

    it('GET /jobs/{id} lists the audio with fresh URLs (not among the images); DELETE removes it', async () => {
      const got = await gw.call('GET', `/jobs/${job}`);
      expect(got.status).toBe(200);
      const audio = got.body.result as { audio: { sections: AudioFile[]; story: AudioFile; voices: Record<string, string>; total_duration_seconds: number }; images: unknown[] };
      expect(audio.images).toEqual([]);
      expect(audio.audio.sections).toHaveLength(sectionCount(parts));
      expect(audio.audio.voices.Narrator).toBe('en-gb-robert');
      await download(audio.audio.story.audio_presigned_url);
      const other = await gw.call('GET', `/jobs/${job}`, { token: await tokenFor(ADMIN_USER) });
      expect(other.status).toBe(403);

      const del = await gw.call('DELETE', `/jobs/${job}`);
      expect(del.status).toBe(200);
      expect((del.body.result as { deleted_audio: number }).deleted_audio).toBe(sectionCount(parts) + 2);
      expect((await fetch(audio.audio.story.audio_presigned_url)).status).toBe(404);
    });
  });

  describe('bad input: a clear 400, nothing stored', () => {
    const part = (sections: Section[]) => ({ story_part: 'beginning', sections });
    const section = (n: number, text = 'The bees woke up.', speaker = 'Narrator'): Section => ({ section_num: n, segments: [{ segment_num: n, segment_content: text, speaker }] });

    it.each<[string, Record<string, unknown>, RegExp]>([
      ['no story_parts', {}, /Missing required parameters: story_parts/],
      ['empty story_parts', { story_parts: [] }, /story_parts must have at least one part/],
      ['a section with no text', { story_parts: [part([section(1), section(2, '   ')])] }, /section 2 of story_parts has no text to narrate/],
      ['a repeated section number', { story_parts: [part([section(1), section(1)])] }, /section_num 1 appears twice/],
      ['too many sections', { story_parts: [part(Array.from({ length: 46 }, (_, i) => section(i + 1)))] }, /more than 45 sections/],
      ['an unknown voice id', { story_parts: [part([section(1)])], voices: { Narrator: 'robot-9000' } }, /unknown voice "robot-9000".*en-us-michael, en-us-steph/],
      ['a voice for someone who does not speak', { story_parts: [part([section(1)])], voices: { Zed: 'en-us-steph' } }, /"Zed", who does not speak/],
      ['a format it does not make', { story_parts: [part([section(1)])], format: 'wav' }, /format must be one of: mp3/],
      ['a section the story does not have', { story_parts: [part([section(1)])], sections: [7] }, /has no section 7/],
      ['a repeated section in sections', { story_parts: [part([section(1)])], sections: [1, 1] }, /must not repeat/],
      ['a word longer than the provider takes at once', { story_parts: [part([section(1, `A ${'z'.repeat(2500)} word.`)])] }, /word of 2500 characters/],
      ['voices that is not an object', { story_parts: [part([section(1)])], voices: ['en-us-steph'] }, /voices must be an object/],
    ])('%s', async (_name, body, message) => {
      const job = jobId('narrate-bad');
      const res = await gw.call('POST', '/narrate-story', { body: { job_id: job, ...body } });
      expect(res.status).toBe(400);
      expect(String(res.body.error)).toMatch(message);
      expect((await gw.call('GET', `/jobs/${job}`)).status).toBe(404);
    });
  });
});
