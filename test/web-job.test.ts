/**
 * The studio's reading of a job (web/src/library/job.ts): GET /jobs/{job_id} records, images
 * and narration back into the story the studio shows. Records are shaped as the story core
 * tracks them (route names, parsed requests, results without presigned URLs).
 */
import { jobView, mergeJobPages, panelOfUri, storyDocFromJob, type Job, type JobRecord } from '../web/src/library/job';

const SUB = '8772594b-3903-4bee-9913-5b5fe24ea82e';
const BUCKET = 'story42-local-story-images';
const uri = (job: string, file: string) => `s3://${BUCKET}/users/${SUB}/jobs/${job}/${file}`;
const url = (job: string, file: string) => `http://127.0.0.1:3343/${BUCKET}/users/${SUB}/jobs/${job}/${file}?X-Amz-Signature=fresh-${file}`;
const T0 = Date.UTC(2026, 11, 2, 13, 18, 31);

let requestCounter = 0;
function record(route: string, at: number, request: unknown, response: unknown, over: Partial<JobRecord> = {}): JobRecord {
  requestCounter += 1;
  return {
    route,
    timestamp: T0 + at,
    created_at: new Date(T0 + at).toISOString(),
    request_id: `req-${requestCounter}`,
    status: 'success',
    provider: route.includes('image') ? 'offline-illustrator' : 'offline-story-writer',
    usage: [],
    prompts: [],
    request,
    response,
    ...over,
  };
}

const meta = (job: string, extra: Record<string, unknown> = {}) => ({ ...extra, job_id: job, user_id: SUB, created_timestamp: new Date(T0).toISOString(), provider: 'offline-story-writer', model_id: 'offline-story-writer-v1' });

const VISUAL = { genre: 'fantasy', reading_level: 'grade 3', tone: 'whimsical', story_type: 'visual', panels: 3, number_of_speakers: 2 };
const OUTLINE_PARTS = [
  { story_part: 'beginning', story_part_summary: 'Lina and Ember hear of a lost star.', story_part_speakers: ['Lina'] },
  { story_part: 'middle', story_part_summary: 'They cross the troll bridge.', story_part_speakers: ['Ember'] },
  { story_part: 'end', story_part_summary: 'The star shines again.', story_part_speakers: ['Lina', 'Ember'] },
];

/** A three-panel visual story: one section per panel, a Narrator line and a spoken line each. */
function storyParts(first = 'A girl named Lina and Ember the dragon lived in the whispering forest.') {
  return [
    { story_part: 'beginning', sections: [{ section_num: 1, segments: [{ segment_num: 1, segment_content: first, speaker: 'Narrator' }, { segment_num: 2, segment_content: 'Let us find the lost star!', speaker: 'Lina' }] }] },
    { story_part: 'middle', sections: [{ section_num: 2, segments: [{ segment_num: 3, segment_content: 'Hmm, a riddle first.', speaker: 'Ember' }, { segment_num: 4, segment_content: 'A troll under the stone bridge demanded a riddle.', speaker: 'Narrator' }] }] },
    { story_part: 'end', sections: [{ section_num: 3, segments: [{ segment_num: 5, segment_content: 'At last the lost star shone in Lina\'s hands.', speaker: 'Narrator' }, { segment_num: 6, segment_content: 'We did it!', speaker: 'Ember' }] }] },
  ];
}

function illustratedJob(): Job {
  const job = 'demo-1';
  const parts = storyParts();
  const description = 'A girl named Lina and her dragon Ember search for a lost star';
  const regenerated = uri(job, 'segment_1_regenerated_1796217579770.png');
  const records: JobRecord[] = [
    record('generate_story_outline_description', 0, { ...VISUAL, job_id: job, user_input_description: description }, { story_parts: OUTLINE_PARTS, speaker_names: ['Lina', 'Ember'], metadata: meta(job) }),
    record('generate_entire_story', 1000, { ...VISUAL, job_id: job, user_input_description: description, story_outline_description: OUTLINE_PARTS }, { story_parts: parts, speaker_names: ['Lina', 'Ember'], metadata: meta(job, VISUAL) }),
    // Panels from the whole story: one scene per section, numbered 1..3 (its Narrator lines).
    record(
      'generate_entire_story_image',
      2000,
      { art_style: 'watercolor', number_of_panels: 3, job_id: job, complete_story_parts: parts },
      {
        story_segments: [1, 2, 3].map((n) => ({
          story_segment_content: ['A girl named Lina…', 'A troll under the stone bridge demanded a riddle.', 'At last the lost star shone…'][n - 1],
          story_segment_number: n,
          story_segment_speaker: 'Narrator',
          image_s3_uri: uri(job, `segment_${n}.png`),
        })),
        metadata: { ...meta(job), provider: 'offline-illustrator', art_style: 'watercolor', number_of_panels: 3 },
      },
    ),
    record(
      'regenerate_story_segment',
      3000,
      { genre: 'fantasy', reading_level: 'grade 3', tone: 'whimsical', job_id: job, user_request: 'add falling snow', original_story_segments: parts.flatMap((p) => p.sections.flatMap((s) => s.segments)), original_story_segment_num: 1, original_story_segment: parts[0]!.sections[0]!.segments[0] },
      { new_story_segment: { segment_num: 1, segment_content: 'Snow fell softly as Lina and Ember set out from the whispering forest.', speaker: 'Narrator' }, metadata: meta(job) },
    ),
    record(
      'regenerate_segment_image',
      4000,
      { job_id: job, user_request: 'make it night', original_segment_image_s3_uri: uri(job, 'segment_1.png') },
      { new_story_segment_image_s3_uri: regenerated, metadata: { ...meta(job), provider: 'offline-illustrator', user_request: 'make it night', original_segment_image_s3_uri: uri(job, 'segment_1.png') } },
    ),
    // A failed call changes nothing.
    record('regenerate_story_segment', 5000, { job_id: job, original_story_segment_num: 5 }, { error: 'The story model is busy' }, { status: 'error' }),
  ];
  const files = ['segment_1.png', 'segment_1_regenerated_1796217579770.png', 'segment_2.png', 'segment_3.png'];
  return {
    job_id: job,
    status: 'complete',
    next_records_cursor: null,
    next_images_cursor: null,
    records,
    images: files.map((f) => ({ s3_uri: uri(job, f), presigned_url: url(job, f), size: 150_000, last_modified: new Date(T0 + 5000).toISOString() })),
    audio: null,
  };
}

describe('storyDocFromJob', () => {
  it('reads a story with a rewritten segment and a redrawn panel: the new text and the new picture', () => {
    const doc = storyDocFromJob(illustratedJob());
    expect(doc).toBeDefined();
    if (!doc) return;
    expect(doc.jobId).toBe('demo-1');
    expect(doc.request).toMatchObject({ genre: 'fantasy', story_type: 'visual', panels: 3, number_of_speakers: 2, user_input_description: 'A girl named Lina and her dragon Ember search for a lost star' });
    expect(doc.request).not.toHaveProperty('story_outline_description');
    expect(doc.provider).toBe('offline-story-writer');
    expect(doc.speakerNames).toEqual(['Lina', 'Ember']);
    expect(doc.artStyle).toBe('watercolor');
    const segments = doc.parts.flatMap((p) => p.sections.flatMap((s) => s.segments));
    expect(segments).toHaveLength(6);
    expect(segments[0]).toEqual({ segment_num: 1, segment_content: 'Snow fell softly as Lina and Ember set out from the whispering forest.', speaker: 'Narrator' });
    expect(segments[4]?.segment_content).toBe("At last the lost star shone in Lina's hands.");
    // A panel is a section (by its place in the story); panel 1 is the redrawn one, with its fresh URL.
    expect(Object.keys(doc.images).map(Number).sort((a, b) => a - b)).toEqual([1, 2, 3]);
    expect(doc.images[1]).toEqual({ s3Uri: uri('demo-1', 'segment_1_regenerated_1796217579770.png'), url: url('demo-1', 'segment_1_regenerated_1796217579770.png') });
    expect(doc.images[2]).toEqual({ s3Uri: uri('demo-1', 'segment_2.png'), url: url('demo-1', 'segment_2.png') });
    expect(doc.images[3]?.url).toBe(url('demo-1', 'segment_3.png'));
    expect(doc.narration).toBeUndefined();
  });

  it('applies records in time order, whatever order they come in, and only rewrites made after the story', () => {
    const job = illustratedJob();
    const story = job.records[1]!;
    const rewrite = job.records[3]!;
    // The story written again after the rewrite: the rewrite belonged to the older story.
    const again = { ...story, timestamp: story.timestamp + 10_000, request_id: 'again', response: { ...(story.response as object), story_parts: storyParts('Once upon a time, Lina found a map.') } };
    const shuffled: Job = { ...job, records: [again, ...job.records.slice().reverse()] };
    const doc = storyDocFromJob(shuffled);
    expect(doc?.parts[0]?.sections[0]?.segments[0]?.segment_content).toBe('Once upon a time, Lina found a map.');
    // …and without the second story, the rewrite applies though it came first in the list.
    const doc2 = storyDocFromJob({ ...job, records: [rewrite, ...job.records.filter((r) => r !== rewrite)] });
    expect(doc2?.parts[0]?.sections[0]?.segments[0]?.segment_content).toMatch(/^Snow fell softly/);
  });

  it('maps scenes the caller numbered (story_segments) to the section with their text, and follows a redraw of a redraw', () => {
    const job = illustratedJob();
    const records = job.records.filter((r) => r.route !== 'generate_entire_story_image' && r.route !== 'regenerate_segment_image');
    // The caller numbered its one scene 7; its text is section 2's narration, so it is panel 2.
    const first = uri('demo-1', 'segment_7.png');
    const redraw1 = uri('demo-1', 'segment_7_regenerated_100.png');
    const redraw2 = uri('demo-1', 'segment_7_regenerated_200.png');
    const scene = { story_segment_content: 'A troll under the stone bridge demanded a riddle.', story_segment_number: 7, story_segment_speaker: 'Narrator' };
    records.push(
      record(
        'generate_entire_story_image',
        2000,
        { art_style: 'comic', number_of_panels: 1, job_id: 'demo-1', story_segments: [scene] },
        { story_segments: [{ ...scene, image_s3_uri: first }], metadata: { ...meta('demo-1'), art_style: 'comic', number_of_panels: 1 } },
      ),
      record('regenerate_segment_image', 2500, { job_id: 'demo-1', user_request: 'brighter', original_segment_image_s3_uri: first }, { new_story_segment_image_s3_uri: redraw1, metadata: meta('demo-1') }),
      record('regenerate_segment_image', 2600, { job_id: 'demo-1', user_request: 'at night', original_segment_image_s3_uri: redraw1 }, { new_story_segment_image_s3_uri: redraw2, metadata: meta('demo-1') }),
      // A scene with text of no section: its number is the panel.
      record(
        'generate_entire_story_image',
        2700,
        { art_style: 'comic', number_of_panels: 1, job_id: 'demo-1', story_segments: [{ ...scene, story_segment_content: 'A dragon over the sea.', story_segment_number: 3 }] },
        { story_segments: [{ ...scene, story_segment_content: 'A dragon over the sea.', story_segment_number: 3, image_s3_uri: uri('demo-1', 'segment_3.png') }], metadata: meta('demo-1') },
      ),
    );
    const images = [first, redraw1, redraw2, uri('demo-1', 'segment_3.png')].map((u) => ({ s3_uri: u, presigned_url: `${u}?signed`, size: 1, last_modified: '' }));
    const doc = storyDocFromJob({ ...job, records, images });
    expect(doc?.images).toEqual({ 2: { s3Uri: redraw2, url: `${redraw2}?signed` }, 3: { s3Uri: uri('demo-1', 'segment_3.png'), url: `${uri('demo-1', 'segment_3.png')}?signed` } });
    expect(doc?.artStyle).toBe('comic');
  });

  it('keeps the newest picture that still exists, and finds pictures no record names by their file names', () => {
    const job = illustratedJob();
    // The redrawn picture is gone (no fresh URL): panel 1 shows the drawn one. Panel 2's record is past the pages read.
    const images = job.images.filter((f) => !f.s3_uri.includes('regenerated'));
    const records = job.records.map((r) => (r.route === 'generate_entire_story_image' ? { ...r, response: { ...(r.response as { story_segments: unknown[] }), story_segments: (r.response as { story_segments: unknown[] }).story_segments.filter((_, i) => i !== 1) } } : r));
    const doc = storyDocFromJob({ ...job, records, images });
    expect(doc?.images[1]?.s3Uri).toBe(uri('demo-1', 'segment_1.png'));
    expect(doc?.images[2]?.s3Uri).toBe(uri('demo-1', 'segment_2.png'));
  });

  it('gives the narration with fresh URLs when the job has one', () => {
    const job = illustratedJob();
    const story = { audio_s3_uri: uri('demo-1', 'audio/story.mp3'), audio_presigned_url: url('demo-1', 'audio/story.mp3'), duration_seconds: 61.2 };
    const sections = [1, 2, 3].map((n) => ({ section_num: n, audio_s3_uri: uri('demo-1', `audio/section_${n}.mp3`), audio_presigned_url: url('demo-1', `audio/section_${n}.mp3`), duration_seconds: 20.4 }));
    const withAudio: Job = {
      ...job,
      records: [...job.records, record('narrate_story', 6000, { job_id: 'demo-1', story_parts: storyParts(), format: 'mp3' }, { job_id: 'demo-1', format: 'mp3', voices: { Narrator: 'en-us-michael' }, metadata: { ...meta('demo-1'), narrated_sections: [1, 2, 3], format: 'mp3' } })],
      audio: { provider: 'offline-speech-synthesizer', model_id: 'espeak-ng', voices: { Narrator: 'en-us-michael', Lina: 'en-us-steph' }, sections, story, total_duration_seconds: 61.2, updated_at: new Date(T0 + 6000).toISOString() },
    };
    const doc = storyDocFromJob(withAudio);
    expect(doc?.narration?.story).toEqual(story);
    expect(doc?.narration?.sections.map((s) => [s.section_num, s.audio_presigned_url, s.narrated])).toEqual(sections.map((s) => [s.section_num, s.audio_presigned_url, false]));
    expect(doc?.narration?.metadata).toMatchObject({ job_id: 'demo-1', provider: 'offline-speech-synthesizer', narrated_sections: [1, 2, 3] });
    const view = jobView(withAudio);
    expect(view.storyAudio?.url).toBe(story.audio_presigned_url);
    expect(view.sectionAudio.map((a) => a.fileName)).toEqual(['demo-1-section_1.mp3', 'demo-1-section_2.mp3', 'demo-1-section_3.mp3']);
  });

  it('reads a job with only an outline: no story, the outline to show', () => {
    const job: Job = {
      job_id: 'demo-3',
      status: 'complete',
      next_records_cursor: null,
      next_images_cursor: null,
      records: [
        record(
          'generate_story_outline_description',
          0,
          { genre: 'mystery', reading_level: 'grade 5', tone: 'spooky', story_type: 'audio', audio_length: 2, number_of_speakers: 2, job_id: 'demo-3', user_input_description: 'Who keeps ringing the old lighthouse bell?' },
          { story_parts: OUTLINE_PARTS, speaker_names: ['Lina', 'Ember'], metadata: meta('demo-3') },
        ),
      ],
      images: [],
      audio: null,
    };
    expect(storyDocFromJob(job)).toBeUndefined();
    const view = jobView(job);
    expect(view.stage).toBe('outline');
    expect(view.kind).toBe('audio');
    expect(view.title).toBe('Who keeps ringing the old lighthouse bell?');
    expect(view.outline?.parts).toEqual(OUTLINE_PARTS);
    expect(view.outline?.request).toMatchObject({ story_type: 'audio', audio_length: 2 });
    expect(view.panels).toEqual([]);
    expect(view.provider).toBe('offline-story-writer');
  });
});

describe('jobView', () => {
  it('titles, kinds and panels of an illustrated story', () => {
    const view = jobView(illustratedJob());
    expect(view.title).toBe('A girl named Lina and her dragon Ember search for a lost star');
    expect(view.kind).toBe('illustrated');
    expect(view.stage).toBe('story');
    expect(view.panels.map((p) => [p.panel, p.fileName])).toEqual([
      [1, 'demo-1-segment_1_regenerated_1796217579770.png'],
      [2, 'demo-1-segment_2.png'],
      [3, 'demo-1-segment_3.png'],
    ]);
    expect(view.createdAt).toBe(new Date(T0).toISOString());
  });

  it('titles a job of topic ideas by its topics, and a story without a description by its first words', () => {
    const topics: Job = {
      job_id: 'demo-4',
      status: 'complete',
      next_records_cursor: null,
      next_images_cursor: null,
      records: [
        record(
          'generate_topics_ideas',
          0,
          { genre: 'fiction', topics: 'dragons, friendship', job_id: 'demo-4' },
          { subject_category: 'Fiction', scope_coverage: 'A class', structure: 'Three acts', source_types: 'Folk tales', target_audience: '11-14', tone: 'Lively', metadata: meta('demo-4', { genre: 'fiction', topics: 'dragons, friendship' }) },
        ),
      ],
      images: [],
      audio: null,
    };
    const view = jobView(topics);
    expect(view).toMatchObject({ title: 'Topic ideas: dragons, friendship', kind: 'topics', stage: 'topics' });
    expect(view.topics?.result.structure).toBe('Three acts');

    const job = illustratedJob();
    const records = job.records.filter((r) => r.route !== 'generate_story_outline_description').map((r) => (r.route === 'generate_entire_story' ? { ...r, request: { ...(r.request as object), user_input_description: undefined } } : r));
    expect(jobView({ ...job, records }).title).toBe('Snow fell softly as Lina and Ember set out from…');
    expect(jobView({ ...job, records: [], images: [] }).title).toBe('demo-1');
  });
});

describe('mergeJobPages', () => {
  it('joins pages, skipping a list whose cursor had run out', () => {
    const job = illustratedJob();
    const page1: Job = { ...job, records: job.records.slice(0, 3), images: job.images.slice(0, 2), next_records_cursor: 'r2', next_images_cursor: 'i2' };
    const page2: Job = { ...job, records: job.records.slice(3), images: job.images.slice(2, 3), next_records_cursor: null, next_images_cursor: 'i3' };
    // Read for images only: its records are the first page again.
    const page3: Job = { ...job, records: job.records.slice(0, 3), images: job.images.slice(3), next_records_cursor: 'r2', next_images_cursor: null };
    const merged = mergeJobPages([
      { page: page1, records: true, images: true },
      { page: page2, records: true, images: true },
      { page: page3, records: false, images: true },
    ]);
    expect(merged.records).toHaveLength(job.records.length);
    expect(merged.images.map((i) => i.s3_uri)).toEqual(job.images.map((i) => i.s3_uri));
    expect(merged.next_records_cursor).toBeNull();
    expect(merged.next_images_cursor).toBeNull();
    expect(storyDocFromJob(merged)).toEqual(storyDocFromJob(job));
  });
});

describe('panelOfUri', () => {
  it('reads the panel of a drawn and a redrawn image', () => {
    expect(panelOfUri(uri('j', 'segment_12.png'))).toEqual({ panel: 12 });
    expect(panelOfUri(uri('j', 'segment_3_regenerated_1796217579770.png'))).toEqual({ panel: 3, regenerated: 1796217579770 });
    expect(panelOfUri(uri('j', 'audio/story.mp3'))).toBeUndefined();
  });
});
