/**
 * Panels drawn while the story is written: `section_text` events from the story's model
 * stream, and `storyImagesAsWritten` drawing scenes from a queue that is still open.
 * Ordering is proven with promises and events, never with sleeps.
 */
import { AsyncQueue } from '../src/core/concurrency';
import type { Caller, GeneratedImage, ImageEditRequest, ImageModel, ImageRequest } from '../src/core/ports';
import { requestRules, validateRequest, type ImageSegmentInput, type StoryPart } from '../src/core/schemas';
import { imagesAsWrittenOperation, type CallContext, type ProgressEvent } from '../src/core/story-service';
import { DEMO_USER } from '../src/local/services';
import { OfflineIllustrator } from '../src/offline/illustrator';
import { progressFrame } from '../src/platform/sse';
import { jobId, startTestGateway, testConfig, type TestGateway } from './support/local';
import { readEvents } from './support/sse';

type PanelEvent = Extract<ProgressEvent, { type: 'panel' }>;
type SectionTextEvent = Extract<ProgressEvent, { type: 'section_text' }>;

/** Progress events as they come, and promises for the ones a test waits for. */
class Progress {
  readonly events: ProgressEvent[] = [];
  private readonly waiting: Array<{ match: (e: ProgressEvent) => boolean; resolve: (e: ProgressEvent) => void }> = [];

  readonly on = (e: ProgressEvent): void => {
    this.events.push(e);
    for (const w of [...this.waiting]) {
      if (w.match(e)) {
        this.waiting.splice(this.waiting.indexOf(w), 1);
        w.resolve(e);
      }
    }
  };

  /** The first event (already seen or still to come) that matches. */
  next<E extends ProgressEvent>(match: (e: ProgressEvent) => e is E): Promise<E> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen as E);
    return new Promise<E>((resolve) => this.waiting.push({ match, resolve: (e) => resolve(e as E) }));
  }

  get panels(): PanelEvent[] {
    return this.events.filter((e): e is PanelEvent => e.type === 'panel');
  }
}

const panelShowing = (text: string) => (e: ProgressEvent): e is PanelEvent => e.type === 'panel' && e.segment.story_segment_content === text;

/** The offline illustrator, recording every call; drawings of held prompts wait until released. */
class RecordingIllustrator implements ImageModel {
  readonly provider = 'recording-test-illustrator';
  readonly calls: ImageRequest[] = [];
  private readonly inner = new OfflineIllustrator();
  private readonly holds = new Map<string, { reached: () => void; released: Promise<void>; release: () => void; reachedP: Promise<void> }>();

  /** Holds drawings of `prompt`; returns when one reaches the model, and how to let it go. */
  hold(prompt: string): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const reachedP = new Promise<void>((r) => (reached = r));
    const released = new Promise<void>((r) => (release = r));
    this.holds.set(prompt, { reached, released, release, reachedP });
    return { reached: reachedP, release };
  }

  async generate(req: ImageRequest): Promise<GeneratedImage> {
    this.calls.push(req);
    const hold = this.holds.get(req.prompt);
    if (hold) {
      hold.reached();
      await hold.released;
    }
    return this.inner.generate(req);
  }

  edit(req: ImageEditRequest): Promise<GeneratedImage> {
    return this.inner.edit(req);
  }

  seeds(): string[] {
    return this.calls.map((c) => c.seed);
  }
}

const scene = (n: number, text: string): ImageSegmentInput => ({ story_segment_number: n, story_segment_content: text, story_segment_speaker: 'Narrator' });

async function download(url: string): Promise<Buffer> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

function contextFor(gw: TestGateway, onProgress: (e: ProgressEvent) => void, signal?: AbortSignal): CallContext {
  const caller: Caller = { sub: gw.sub, email: DEMO_USER.email, username: DEMO_USER.email, groups: ['user'] };
  return { caller, requestId: `req-${jobId('r')}`, onProgress, signal };
}

interface JobView {
  status: string;
  records: Array<{ route: string; status: string }>;
  images: Array<{ s3_uri: string }>;
}
async function jobView(gw: TestGateway, job: string): Promise<JobView> {
  const res = await gw.call('GET', `/jobs/${job}`);
  expect(res.status).toBe(200);
  return res.body.result as JobView;
}

interface ImagesResult {
  story_segments: Array<ImageSegmentInput & { image_s3_uri: string; image_presigned_url: string }>;
  metadata: Record<string, unknown>;
}

const outline = ['beginning', 'middle', 'end'].map((p) => ({ story_part: p, story_part_summary: `The ${p}: Mira follows the map.`, story_part_speakers: ['Narrator', 'Mira'] }));
const storyBody = { genre: 'fantasy', reading_level: 'grade 3', tone: 'whimsical', story_type: 'visual', number_of_speakers: 2, panels: 6, story_outline_description: outline };

describe('section_text while the story is written', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw.stop();
  });

  it('story() emits one section_text per section, as each section is finished, equal to the result', async () => {
    const progress = new Progress();
    const job = jobId('sections');
    const input = validateRequest({ ...storyBody, job_id: job }, requestRules.story);
    let resolvedAt = -1;
    const outcome = await gw.platform.story.story(input, contextFor(gw, progress.on), job).then((o) => {
      resolvedAt = progress.events.length;
      return o;
    });
    const parts = outcome.result.story_parts as StoryPart[];
    const expected = parts.flatMap((part) => part.sections.map((s) => ({ type: 'section_text', section: s.section_num, storyPart: part.story_part, segments: s.segments })));
    expect(expected).toHaveLength(6);
    const texts = progress.events.filter((e): e is SectionTextEvent => e.type === 'section_text');
    expect(texts).toEqual(expected);
    // All before the result, and each as soon as its section is done: before the prose of the next section streams.
    const at = (e: ProgressEvent) => progress.events.indexOf(e);
    for (const t of texts) expect(at(t)).toBeLessThan(resolvedAt);
    const firstDeltaOf = (segmentNum: number) => progress.events.findIndex((e) => e.type === 'delta' && e.field === 'segment_content' && e.segment === segmentNum);
    const lastDeltaOf = (segmentNum: number) => progress.events.findLastIndex((e) => e.type === 'delta' && e.field === 'segment_content' && e.segment === segmentNum);
    for (const [i, t] of texts.entries()) {
      const last = t.segments.at(-1)!.segment_num;
      expect(at(t)).toBeGreaterThan(lastDeltaOf(last));
      const next = texts[i + 1];
      if (next) expect(at(t)).toBeLessThan(firstDeltaOf(next.segments[0]!.segment_num));
    }
  });

  it('reaches SSE clients of /generate-story as section_text {section, story_part, segments}', async () => {
    const { status, events } = await readEvents(`${gw.url}/generate-story`, { ...storyBody, job_id: jobId('sse-sections') });
    expect(status).toBe(200);
    const result = events.at(-1);
    expect(result?.event).toBe('result');
    const parts = (result?.data.result as { story_parts: StoryPart[] }).story_parts;
    const expected = parts.flatMap((part) => part.sections.map((s) => ({ event: 'section_text', data: { section: s.section_num, story_part: part.story_part, segments: s.segments } })));
    expect(events.filter((e) => e.event === 'section_text')).toEqual(expected);
    expect(events.findLastIndex((e) => e.event === 'section_text')).toBeLessThan(events.length - 1);
  });

  it('progressFrame maps section_text to its SSE event', () => {
    const segments = [{ segment_num: 1, segment_content: 'Hi.', speaker: 'Narrator' }];
    expect(progressFrame({ type: 'section_text', section: 2, storyPart: 'middle', segments })).toEqual(['section_text', { section: 2, story_part: 'middle', segments }]);
  });
});

describe('storyImagesAsWritten', () => {
  let gw: TestGateway;
  const image = new RecordingIllustrator();
  beforeAll(async () => {
    gw = await startTestGateway({ config: testConfig({ STORY42_IMAGE_CONCURRENCY: '2' }), parts: { image } });
  });
  afterAll(async () => {
    await gw.stop();
  });

  it('draws scenes while the queue is open, skips an identical re-push, redraws a changed one, ignores extra panels, and is tracked', async () => {
    const job = jobId('as-written');
    const progress = new Progress();
    const queue = new AsyncQueue<ImageSegmentInput>();
    const ctx = contextFor(gw, progress.on);
    const call = gw.platform.story.run('generate_entire_story_image', { art_style: 'ink', number_of_panels: 3, job_id: job }, ctx, imagesAsWrittenOperation(queue));
    let finished = false;
    void call.then(
      () => (finished = true),
      () => (finished = true),
    );

    const first = 'A fox waits by the silver river at dawn.';
    expect(queue.push(scene(1, first))).toBe(true);
    // The first panel is drawn and stored while the queue is still open (close() has not been called).
    const drawn = await progress.next(panelShowing(first));
    expect([queue.closed, finished]).toEqual([false, false]);
    expect(drawn).toMatchObject({ panel: 1, of: 3, segmentNumber: 1 });
    const during = await jobView(gw, job);
    expect(during.status).toBe('incomplete');
    expect(during.records).toEqual([expect.objectContaining({ route: 'generate_entire_story_image', status: 'incomplete' })]);
    expect(during.images.map((i) => i.s3_uri.split('/').pop())).toEqual(['segment_1.png']);
    const firstBytes = await download(String(drawn.segment.image_presigned_url));

    const changed = 'The fox swims across the silver river at night.';
    queue.push(scene(1, first)); // identical: skipped
    queue.push(scene(1, changed)); // changed: drawn again under the same key
    const redrawn = await progress.next(panelShowing(changed));
    expect(redrawn).toMatchObject({ panel: 1, of: 3, segmentNumber: 1 });
    expect(redrawn.segment.image_s3_uri).toBe(drawn.segment.image_s3_uri);
    const secondBytes = await download(String(redrawn.segment.image_presigned_url));
    expect(secondBytes.equals(firstBytes)).toBe(false);
    expect(finished).toBe(false);

    queue.push(scene(2, 'Mira opens the old map.'));
    queue.push(scene(3, 'The map glows under the moon.'));
    queue.push(scene(4, 'A fourth scene that does not fit.'));
    queue.push(scene(2, 'Mira opens the old map.')); // identical again
    queue.close();
    const result = (await call) as unknown as { story_segments: ImagesResult['story_segments']; metadata: Record<string, unknown> };

    expect(result.story_segments.map((s) => [s.story_segment_number, s.story_segment_content])).toEqual([
      [1, changed],
      [2, 'Mira opens the old map.'],
      [3, 'The map glows under the moon.'],
    ]);
    expect(result.metadata).toMatchObject({ art_style: 'ink', number_of_panels: 3, job_id: job, provider: 'recording-test-illustrator' });
    expect(result.metadata.panel_count_warning).toBeUndefined();
    const seeds = image.seeds().filter((s) => s.startsWith(`${job}:`));
    expect(seeds.sort()).toEqual([`${job}:1`, `${job}:1`, `${job}:2`, `${job}:3`]);
    // Two events for panel 1 (drawn, redrawn), then panels 2 and 3 in the order they finish: `panel` counts distinct panels.
    const panels = progress.panels;
    expect(panels.every((p) => p.of === 3)).toBe(true);
    expect(panels.map((p) => p.panel)).toEqual([1, 1, 2, 3]);
    expect(panels.map((p) => p.segmentNumber).slice(0, 2)).toEqual([1, 1]);
    expect(panels.map((p) => p.segmentNumber).slice(2).sort()).toEqual([2, 3]);
    expect((await download(result.story_segments[0]!.image_presigned_url)).equals(secondBytes)).toBe(true);

    const after = await jobView(gw, job);
    expect(after.status).toBe('complete');
    expect(after.records).toEqual([expect.objectContaining({ route: 'generate_entire_story_image', status: 'success' })]);
    expect(after.images.map((i) => i.s3_uri.split('/').pop()).sort()).toEqual(['segment_1.png', 'segment_2.png', 'segment_3.png']);
  });

  it('never lets an older drawing that finishes later replace a newer one', async () => {
    const job = jobId('older');
    const progress = new Progress();
    const queue = new AsyncQueue<ImageSegmentInput>();
    const older = 'A lighthouse in a storm, drawn first.';
    const newer = 'A lighthouse on a calm sunny morning.';
    const held = image.hold(older);
    const call = gw.platform.story.run('generate_entire_story_image', { art_style: 'ink', number_of_panels: 1, job_id: job }, contextFor(gw, progress.on), imagesAsWrittenOperation(queue));
    queue.push(scene(1, older));
    await held.reached; // the older drawing is in flight
    queue.push(scene(1, newer));
    const stored = await progress.next(panelShowing(newer)); // the newer one is stored first
    const newerBytes = await download(String(stored.segment.image_presigned_url));
    held.release();
    queue.close();
    const result = (await call) as unknown as ImagesResult;
    expect(image.calls.filter((c) => c.seed === `${job}:1`).map((c) => c.prompt)).toEqual([older, newer]);
    expect(result.story_segments.map((s) => s.story_segment_content)).toEqual([newer]);
    expect(progress.panels.map((p) => p.segment.story_segment_content)).toEqual([newer]);
    expect((await download(result.story_segments[0]!.image_presigned_url)).equals(newerBytes)).toBe(true);
  });

  it('an abort stops taking scenes: nothing drawn is an abort, tracked as an error', async () => {
    const job = jobId('abort');
    const controller = new AbortController();
    const queue = new AsyncQueue<ImageSegmentInput>();
    const progress = new Progress();
    const call = gw.platform.story.run('generate_entire_story_image', { art_style: 'ink', number_of_panels: 2, job_id: job }, contextFor(gw, progress.on, controller.signal), imagesAsWrittenOperation(queue));
    await progress.next((e): e is ProgressEvent => e.type === 'stage' && e.stage === 'illustrating'); // reading the queue
    controller.abort();
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    expect(queue.push(scene(1, 'Too late.'))).toBe(false); // the reader has stopped
    expect(image.calls.filter((c) => c.seed.startsWith(`${job}:`))).toEqual([]);
    expect((await jobView(gw, job)).records.map((r) => r.status)).toEqual(['error']);
  });

  it('a queue closed with nothing in it is a 502, like a story with no panel drawn', async () => {
    const queue = new AsyncQueue<ImageSegmentInput>();
    queue.close();
    await expect(gw.platform.story.run('generate_entire_story_image', { art_style: 'ink', number_of_panels: 2, job_id: jobId('empty') }, contextFor(gw, () => undefined), imagesAsWrittenOperation(queue))).rejects.toMatchObject({
      status: 502,
      message: 'The image model could not draw any panel',
    });
  });

  it.each([
    [{ art_style: 'ink', number_of_panels: 3 }, 'Missing required parameters: job_id'],
    [{ art_style: 'ink', number_of_panels: 13, job_id: 'j1' }, 'number_of_panels must be between 1 and 12'],
    [{ art_style: ' ', number_of_panels: 3, job_id: 'j1' }, 'Missing required parameters: art_style'],
    [{ art_style: 'ink', number_of_panels: 3, job_id: 'a/b' }, 'job_id must be'],
  ])('validates %j as the image route does', async (body, message) => {
    const queue = new AsyncQueue<ImageSegmentInput>();
    await expect(gw.platform.story.run('generate_entire_story_image', body, contextFor(gw, () => undefined), imagesAsWrittenOperation(queue))).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining(message),
    });
  });
});

describe('AsyncQueue', () => {
  it('hands items to a waiting reader in order, ends on close, and ends with the error it was closed with', async () => {
    const queue = new AsyncQueue<number>(3);
    const read = (async () => {
      const seen: number[] = [];
      for await (const n of queue) seen.push(n);
      return seen;
    })();
    queue.push(1);
    queue.push(2);
    queue.close();
    expect(await read).toEqual([1, 2]);
    expect(() => queue.push(3)).toThrow('push after close');

    const failing = new AsyncQueue<number>();
    failing.push(1);
    failing.close(new Error('the story failed'));
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const n of failing) seen.push(n);
      })(),
    ).rejects.toThrow('the story failed');
    expect(seen).toEqual([1]);
  });

  it('is bounded: a push beyond the capacity throws', () => {
    const queue = new AsyncQueue<number>(2);
    queue.push(1);
    queue.push(2);
    expect(() => queue.push(3)).toThrow('more than 2 items waiting');
    expect(queue.size).toBe(2);
  });

  it('drops pushes once the reader has stopped', async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1);
    for await (const n of queue) {
      expect(n).toBe(1);
      break;
    }
    expect(queue.push(2)).toBe(false);
    expect(queue.size).toBe(0);
  });
});
