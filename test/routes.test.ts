/**
 * The six story routes end to end: gateway (token verification) → Lambda handler → core →
 * s3rver / dynalite, with the offline engines.
 */
import { PNG } from 'pngjs';
import { jobId, startTestGateway, type TestGateway } from './support/local';

let gw: TestGateway;
let sub: string;
beforeAll(async () => {
  gw = await startTestGateway();
  sub = gw.sub;
});
afterAll(() => gw.stop());

const visual = { genre: 'fantasy', reading_level: 'grade 3', tone: 'whimsical', story_type: 'visual', number_of_speakers: 3, panels: 6 };
const idea = 'A girl named Lina and her dragon Ember search for a lost star';

async function outlineFor(job: string, extra: Record<string, unknown> = {}) {
  const res = await gw.call('POST', '/generate-story-outline', { body: { ...visual, user_input_description: idea, job_id: job, ...extra } });
  expect(res.status).toBe(200);
  return res.body.result as { speaker_names: string[]; story_parts: Array<{ story_part: string; story_part_summary: string; story_part_speakers: string[] }> };
}

async function fetchPng(url: string): Promise<PNG> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  const bytes = Buffer.from(await res.arrayBuffer());
  expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  return PNG.sync.read(bytes);
}

describe('POST /generate-topics-ideas', () => {
  it('returns the six topic fields in the v1.2 envelope, identity from the token', async () => {
    const job = jobId();
    const res = await gw.call('POST', '/generate-topics-ideas', { body: { genre: 'non-fiction', topics: 'volcanoes, tides', job_id: job, user_id: 'someone-else' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      success: true,
      route: 'generate_topics_ideas',
      authenticated_user: { email: 'demo@story42.local', sub },
      request_id: expect.any(String),
    });
    const result = res.body.result as Record<string, unknown>;
    for (const f of ['subject_category', 'scope_coverage', 'structure', 'source_types', 'target_audience', 'tone']) {
      expect(typeof result[f]).toBe('string');
      expect(String(result[f]).length).toBeGreaterThan(0);
    }
    expect(result.metadata).toMatchObject({ genre: 'non-fiction', topics: 'volcanoes, tides', user_id: sub, job_id: job, provider: 'offline-story-writer' });
    expect(Date.parse(String((result.metadata as Record<string, unknown>).created_timestamp))).not.toBeNaN();
  });

  it.each([
    [{}, 'Missing required parameters: genre, topics'],
    [{ genre: 'fiction' }, 'Missing required parameters: topics'],
    [{ genre: 'poetry', topics: 'x' }, 'genre must be either "fiction" or "non-fiction"'],
    [{ genre: 'fiction', topics: 'x', model_id: 'bedrock/unknown-model' }, 'model_id "bedrock/unknown-model" is not supported'],
    [{ genre: 'fiction', topics: 'x', job_id: '../../etc' }, 'job_id must be 1-128 characters'],
  ])('400 for %j', async (body, message) => {
    const res = await gw.call('POST', '/generate-topics-ideas', { body });
    expect(res.status).toBe(400);
    expect(String(res.body.error)).toContain(message);
  });

  it('accepts each offered model id, with or without the bedrock/ prefix; metadata names what really wrote the text', async () => {
    for (const model_id of ['bedrock/us.openai.gpt-oss-120b-1:0', 'anthropic.claude-3-5-sonnet-20241022-v2:0']) {
      const res = await gw.call('POST', '/generate-topics-ideas', { body: { genre: 'fiction', topics: 'owls', model_id } });
      expect(res.status).toBe(200);
      // The offline writer made it, so no Bedrock model is named.
      expect((res.body.result as { metadata: Record<string, unknown> }).metadata).toMatchObject({ provider: 'offline-story-writer', model_id: 'offline-story-writer-v1' });
    }
  });
});

describe('POST /generate-story-outline', () => {
  it('returns speakers and three parts, echoing the request in metadata', async () => {
    const job = jobId();
    const res = await gw.call('POST', '/generate-story-outline', { body: { ...visual, user_input_description: idea, job_id: job } });
    expect(res.status).toBe(200);
    expect(res.body.route).toBe('generate_story_outline_description');
    const result = res.body.result as Record<string, unknown> & { speaker_names: string[]; story_parts: Array<Record<string, unknown>> };
    expect(result.speaker_names).toEqual(['Narrator', 'Lina', 'Ember']);
    expect(result.story_parts.map((p) => p.story_part)).toEqual(['beginning', 'middle', 'end']);
    expect(result.metadata).toMatchObject({ ...visual, user_input_description: idea, job_id: job, user_id: sub });
  });

  const base = { ...visual, user_input_description: idea };
  it.each([
    [{ user_input_description: idea, story_type: 'visual', number_of_speakers: 2, panels: 4 }, 'Missing required parameters: genre, reading_level, tone'],
    [{ ...base, number_of_speakers: 5 }, 'number_of_speakers must be between 1 and 4'],
    [{ ...base, number_of_speakers: 0 }, 'number_of_speakers must be between 1 and 4'],
    [{ ...base, number_of_speakers: 2.5 }, 'number_of_speakers must be an integer'],
    [{ ...base, panels: undefined }, 'panels is required when story_type is "visual"'],
    [{ ...base, story_type: 'audio', panels: undefined }, 'audio_length is required when story_type is "audio"'],
    [{ ...base, story_type: 'comic' }, 'story_type must be either "visual" or "audio"'],
    [{ ...base, panels: 40 }, 'panels must be between 3 and 12'],
    [{ ...base, genre: 42 }, 'genre must be a string'],
  ])('400 for %j', async (body, message) => {
    const res = await gw.call('POST', '/generate-story-outline', { body });
    expect(res.status).toBe(400);
    expect(String(res.body.error)).toContain(message);
  });
});

describe('POST /generate-story', () => {
  it('writes a visual story with exactly `panels` sections, numbered 1..N, narrator in each', async () => {
    const job = jobId();
    const outline = await outlineFor(job);
    const res = await gw.call('POST', '/generate-story', { body: { ...visual, job_id: job, story_outline_description: outline.story_parts } });
    expect(res.status).toBe(200);
    expect(res.body.route).toBe('generate_entire_story');
    const result = res.body.result as { story_parts: Array<{ story_part: string; sections: Array<{ section_num: number; segments: Array<{ segment_num: number; speaker: string; segment_content: string }> }> }>; speaker_names: string[]; metadata: Record<string, unknown> };
    expect(result.story_parts.map((p) => p.story_part)).toEqual(['beginning', 'middle', 'end']);
    const sections = result.story_parts.flatMap((p) => p.sections);
    expect(sections.map((s) => s.section_num)).toEqual([1, 2, 3, 4, 5, 6]);
    const segments = sections.flatMap((s) => s.segments);
    expect(segments.map((s) => s.segment_num)).toEqual(segments.map((_, i) => i + 1));
    for (const s of sections) expect(s.segments.some((g) => g.speaker === 'Narrator')).toBe(true);
    for (const g of segments) {
      expect(outline.speaker_names).toContain(g.speaker);
      expect(g.segment_content).not.toMatch(/narrator/i);
    }
    expect(result.speaker_names).toEqual(outline.speaker_names);
    expect(result.metadata).toMatchObject({ job_id: job, panels: 6, user_id: sub, provider: 'offline-story-writer' });
  });

  it('writes an audio story sized to audio_length', async () => {
    const job = jobId();
    const outline = await outlineFor(job, { story_type: 'audio', audio_length: 4, panels: undefined });
    const res = await gw.call('POST', '/generate-story', {
      body: { ...visual, panels: undefined, story_type: 'audio', audio_length: 4, job_id: job, story_outline_description: outline.story_parts },
    });
    expect(res.status).toBe(200);
    const parts = (res.body.result as { story_parts: Array<{ sections: Array<{ segments: Array<{ segment_content: string }> }> }> }).story_parts;
    for (const p of parts) expect(p.sections.length).toBeGreaterThanOrEqual(2);
    const words = parts.flatMap((p) => p.sections.flatMap((s) => s.segments)).reduce((n, s) => n + s.segment_content.split(/\s+/).length, 0);
    expect(words).toBeGreaterThanOrEqual(4 * 150 * 0.6);
    expect(words).toBeLessThanOrEqual(4 * 150 * 1.6);
  });

  it.each([
    [{ ...visual }, 'Missing required parameters: story_outline_description'],
    [{ ...visual, story_outline_description: 'beginning, middle, end' }, 'story_outline_description must be the story_parts array'],
    [{ ...visual, story_outline_description: [] }, 'story_outline_description must not be empty'],
  ])('400 for %j', async (body, message) => {
    const res = await gw.call('POST', '/generate-story', { body });
    expect(res.status).toBe(400);
    expect(String(res.body.error)).toContain(message);
  });
});

describe('POST /regenerate-segment', () => {
  const segs = [
    { segment_num: 1, segment_content: 'The sky was dark over the harbour.', speaker: 'Narrator' },
    { segment_num: 2, segment_content: 'Where is the star?', speaker: 'Lina' },
  ];
  const body = { genre: 'fantasy', reading_level: 'grade 3', tone: 'whimsical', user_request: 'add snow and a lantern', original_story_segments: segs, original_story_segment_num: 1, original_story_segment: segs[0] };

  it('returns a new segment with the same number and speaker', async () => {
    const res = await gw.call('POST', '/regenerate-segment', { body: { ...body, job_id: jobId() } });
    expect(res.status).toBe(200);
    expect(res.body.route).toBe('regenerate_story_segment');
    const result = res.body.result as { new_story_segment: { segment_num: number; speaker: string; segment_content: string }; metadata: Record<string, unknown> };
    expect(result.new_story_segment.segment_num).toBe(1);
    expect(result.new_story_segment.speaker).toBe('Narrator');
    expect(result.new_story_segment.segment_content).not.toBe(segs[0]?.segment_content);
    expect(result.new_story_segment.segment_content).not.toMatch(/narrator/i);
    expect(result.metadata).toMatchObject({ user_request: 'add snow and a lantern', original_story_segment_num: 1, user_id: sub });
  });

  it.each(['Mr (Bob', 'Bob(', '(a+)+b', 'Zoë $1 \\d'])('speaks for a speaker named %j: a normal answer, the named speaker taking over when asked', async (name) => {
    const named = [segs[0], { segment_num: 2, segment_content: 'Where is the star?', speaker: name }];
    const res = await gw.call('POST', '/regenerate-segment', {
      body: { ...body, job_id: jobId(), original_story_segments: named, original_story_segment_num: 1, original_story_segment: segs[0], user_request: `let ${name} say this instead` },
    });
    expect(res.status).toBe(200);
    expect((res.body.result as { new_story_segment: { speaker: string } }).new_story_segment.speaker).toBe(name);
  });

  it.each([
    [{ ...body, user_request: undefined }, 'Missing required parameters: user_request'],
    [{ ...body, original_story_segment_num: 2 }, 'original_story_segment.segment_num must equal original_story_segment_num'],
    [{ ...body, original_story_segment: 'text' }, 'original_story_segment must be an object'],
    [{ ...body, original_story_segments: 'nope' }, 'original_story_segments must be an array'],
  ])('400 for %j', async (b, message) => {
    const res = await gw.call('POST', '/regenerate-segment', { body: b });
    expect(res.status).toBe(400);
    expect(String(res.body.error)).toContain(message);
  });
});

describe('POST /generate-story-image and /regenerate-segment-image', () => {
  const scenes = [
    'At night the moon rose over the quiet sea and the stars shone.',
    'A bright sunny forest full of tall trees and a small fox.',
    'Snow fell on the mountain village where Lina lit a lantern.',
    'The rocket flew past a ringed planet in deep space.',
    'Rain poured on the castle while Ember the dragon waited.',
    'A golden sunset over the beach as the friends walked home.',
  ];
  const segments = scenes.map((c, i) => ({ story_segment_content: c, story_segment_number: i + 1, story_segment_speaker: 'Narrator' }));

  it('draws one PNG per panel under the caller\'s prefix, with one-hour presigned URLs', async () => {
    const job = jobId('img');
    const res = await gw.call('POST', '/generate-story-image', { body: { story_segments: segments, art_style: 'watercolor', number_of_panels: 6, job_id: job } });
    expect(res.status).toBe(200);
    expect(res.body.route).toBe('generate_entire_story_image');
    const result = res.body.result as { story_segments: Array<Record<string, unknown>>; metadata: Record<string, unknown> };
    expect(result.story_segments).toHaveLength(6);
    expect(result.metadata).toMatchObject({ art_style: 'watercolor', number_of_panels: 6, user_id: sub, job_id: job });
    expect(result.metadata.panel_count_warning).toBeUndefined();
    const pixels = new Set<string>();
    for (const [i, seg] of result.story_segments.entries()) {
      expect(seg).toMatchObject(segments[i] as Record<string, unknown>);
      expect(seg.image_s3_uri).toBe(`s3://${gw.platform.config.imagesBucket}/users/${sub}/jobs/${job}/segment_${i + 1}.png`);
      const url = new URL(String(seg.image_presigned_url));
      expect(url.searchParams.get('X-Amz-Expires')).toBe('3600');
      const png = await fetchPng(url.toString());
      expect(png.width).toBe(gw.platform.config.imageSize);
      pixels.add(Buffer.from(png.data).toString('base64'));
    }
    expect(pixels.size).toBe(6); // distinct scenes, distinct images
  });

  it('accepts complete_story_parts and builds one scene per section; warns when fewer panels than asked', async () => {
    const job = jobId('img');
    const complete_story_parts = ['beginning', 'middle', 'end'].map((story_part, p) => ({
      story_part,
      sections: [{ section_num: p + 1, segments: [{ segment_num: 2 * p + 1, segment_content: scenes[p] as string, speaker: 'Narrator' }, { segment_num: 2 * p + 2, segment_content: 'Hello!', speaker: 'Lina' }] }],
    }));
    const res = await gw.call('POST', '/generate-story-image', { body: { complete_story_parts, art_style: 'comic', number_of_panels: 4, job_id: job } });
    expect(res.status).toBe(200);
    const result = res.body.result as { story_segments: Array<Record<string, unknown>>; metadata: Record<string, unknown> };
    expect(result.story_segments.map((s) => s.story_segment_content)).toEqual(scenes.slice(0, 3));
    expect(String(result.metadata.panel_count_warning)).toContain('Only 3 of 4 panels');
  });

  it('regenerates an image from the original, stored beside it', async () => {
    const job = jobId('img');
    const first = await gw.call('POST', '/generate-story-image', { body: { story_segments: segments.slice(0, 3), art_style: 'pastel', number_of_panels: 3, job_id: job } });
    const original = (first.body.result as { story_segments: Array<{ image_s3_uri: string; image_presigned_url: string }> }).story_segments[1];
    if (!original) throw new Error('no panel');
    const res = await gw.call('POST', '/regenerate-segment-image', { body: { user_request: 'make it night with snow', original_segment_image_s3_uri: original.image_s3_uri, job_id: job } });
    expect(res.status).toBe(200);
    expect(res.body.route).toBe('regenerate_segment_image');
    const result = res.body.result as Record<string, string> & { metadata: Record<string, unknown> };
    expect(result.new_story_segment_image_s3_uri).toMatch(new RegExp(`^s3://${gw.platform.config.imagesBucket}/users/${sub}/jobs/${job}/segment_2_regenerated_\\d+\\.png$`));
    expect(result.metadata).toMatchObject({ user_request: 'make it night with snow', original_segment_image_s3_uri: original.image_s3_uri, user_id: sub, job_id: job });
    const before = await fetchPng(original.image_presigned_url);
    const after = await fetchPng(result.new_story_segment_image_presigned_url as string);
    expect(after.width).toBe(before.width);
    expect(Buffer.compare(Buffer.from(after.data), Buffer.from(before.data))).not.toBe(0);
  });

  it.each([
    [{ art_style: 'x', number_of_panels: 2, job_id: 'j1' }, 'Missing required parameters: story_segments'],
    [{ story_segments: segments, art_style: 'x', number_of_panels: 2 }, 'Missing required parameters: job_id'],
    [{ story_segments: segments, art_style: 'x', number_of_panels: 0, job_id: 'j1' }, 'number_of_panels must be between 1 and 12'],
    [{ story_segments: [segments[0], segments[0]], art_style: 'x', number_of_panels: 2, job_id: 'j1' }, 'story_segment_number values must be unique'],
    [{ story_segments: segments, art_style: 'x', number_of_panels: 2, job_id: 'a/b' }, 'job_id must be'],
  ])('image route 400 for %j', async (body, message) => {
    const res = await gw.call('POST', '/generate-story-image', { body });
    expect(res.status).toBe(400);
    expect(String(res.body.error)).toContain(message);
  });

  it.each([
    ['https://example.com/x.png', 400, 'must be an s3:// URI'],
    ['s3://some-other-bucket/users/me/jobs/j/segment_1.png', 403, "not in this platform's image bucket"],
  ])('regenerate-segment-image rejects %s', async (uri, status, message) => {
    const res = await gw.call('POST', '/regenerate-segment-image', { body: { user_request: 'x', original_segment_image_s3_uri: uri, job_id: 'j1' } });
    expect(res.status).toBe(status);
    expect(String(res.body.error)).toContain(message);
  });

  it('404 when the caller\'s original image does not exist; 400 when the key is not a segment image', async () => {
    const bucket = gw.platform.config.imagesBucket;
    const missing = await gw.call('POST', '/regenerate-segment-image', { body: { user_request: 'x', original_segment_image_s3_uri: `s3://${bucket}/users/${sub}/jobs/none/segment_1.png`, job_id: 'j1' } });
    expect(missing.status).toBe(404);
    const odd = await gw.call('POST', '/regenerate-segment-image', { body: { user_request: 'x', original_segment_image_s3_uri: `s3://${bucket}/users/${sub}/jobs/none/cover.png`, job_id: 'j1' } });
    expect(odd.status).toBe(400);
  });
});

describe('request handling', () => {
  it('400 for invalid JSON and non-object bodies, 413 for oversized bodies, 404/405 for unknown routes', async () => {
    const bad = await gw.call('POST', '/generate-topics-ideas', { raw: '{"genre": ' });
    expect(bad).toMatchObject({ status: 400, body: { error: 'Request body must be valid JSON' } });
    const arr = await gw.call('POST', '/generate-topics-ideas', { raw: '[1,2]' });
    expect(arr).toMatchObject({ status: 400, body: { error: 'Request body must be a JSON object' } });
    const big = await gw.call('POST', '/generate-topics-ideas', { body: { genre: 'fiction', topics: 'x'.repeat(gw.platform.config.maxBodyBytes + 10) } });
    expect(big.status).toBe(413);
    expect(String(big.body.error)).toContain('byte limit');
    expect((await gw.call('POST', '/generate-everything', { body: {} })).status).toBe(404);
    expect((await gw.call('GET', '/generate-story')).status).toBe(405);
  });

  it('answers CORS preflight without a token', async () => {
    const res = await fetch(`${gw.url}/generate-story`, { method: 'OPTIONS' });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-headers')).toContain('Authorization');
  });
});
