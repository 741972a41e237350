/**
 * Data operations over a caller's jobs: list, inspect (with fresh image URLs), delete.
 */
import { badRequest, forbidden, notFound } from './errors';
import { AUDIO_FOLDER, jobPrefix, readNarration, type NarrationManifest } from './narration';
import type { Caller, ImageStore, SessionStore } from './ports';
import { JOB_ID_PATTERN, jobGetQuerySchema, jobListQuerySchema } from './schemas';

/** Bytes of records one page of a job carries at most (Lambda answers at most 6 MB). */
export const JOB_PAGE_RECORD_BYTES = 4_000_000;

export interface JobsDeps {
  sessions: SessionStore;
  images: ImageStore;
  presignSeconds: number;
}

export class JobsService {
  constructor(private readonly deps: JobsDeps) {}

  private checkJobId(jobId: string | undefined): string {
    if (!jobId || !JOB_ID_PATTERN.test(jobId)) throw badRequest('job_id in the path is not a valid job id');
    return jobId;
  }

  async list(caller: Caller, query: Record<string, string | undefined>): Promise<Record<string, unknown>> {
    const parsed = jobListQuerySchema.safeParse(query);
    if (!parsed.success) throw badRequest(parsed.error.issues[0]?.message ?? 'Invalid query');
    const page = await this.deps.sessions.listJobs(caller.sub, parsed.data.limit ?? 20, parsed.data.cursor);
    const result = {
      jobs: page.jobs.map((j) => ({
        job_id: j.jobId,
        last_route: j.lastRoute,
        last_timestamp: j.lastTimestamp,
        last_created_at: j.lastCreatedAt,
      })),
      next_cursor: page.nextCursor ?? null,
    };
    return result;
  }

  /** 403 when the id is another user's, 404 when nobody has it. */
  private async missing(caller: Caller, jobId: string): Promise<never> {
    const owner = await this.deps.sessions.jobOwner(jobId);
    if (owner && owner !== caller.sub) throw forbidden('This job belongs to another user');
    throw notFound(`Job ${jobId} not found`);
  }

  /**
   * One page of the caller's job: its records (oldest first) and its images, each with its own
   * cursor, at most `limit` of each and a bounded number of bytes, so no answer can outgrow
   * Lambda's response limit. `status` is `incomplete` while any call of the job has written
   * its first artifact but not completed (or crashed before completing).
   */
  async get(caller: Caller, jobIdRaw: string | undefined, query: Record<string, string | undefined> = {}): Promise<Record<string, unknown>> {
    const jobId = this.checkJobId(jobIdRaw);
    const parsed = jobGetQuerySchema.safeParse(query);
    if (!parsed.success) throw badRequest(parsed.error.issues[0]?.message ?? 'Invalid query');
    const { limit = 20, records_cursor, images_cursor } = parsed.data;
    const [recs, imgs, incomplete, narration] = await Promise.all([
      this.deps.sessions.jobRecords(caller.sub, jobId, { limit, cursor: records_cursor, maxBytes: JOB_PAGE_RECORD_BYTES }),
      this.deps.images.listPage(jobPrefix(caller.sub, jobId), { limit, cursor: images_cursor }),
      this.deps.sessions.hasIncomplete(caller.sub, jobId),
      readNarration(this.deps.images, caller.sub, jobId),
    ]);
    const firstPage = records_cursor === undefined && images_cursor === undefined;
    if (firstPage && recs.records.length === 0 && imgs.objects.length === 0 && !narration) return this.missing(caller, jobId);
    const images = await Promise.all(
      imgs.objects.map(async (o) => ({
        s3_uri: `s3://${this.deps.images.bucket}/${o.key}`,
        presigned_url: await this.deps.images.presignGet(o.key, this.deps.presignSeconds),
        size: o.size,
        last_modified: o.lastModified.toISOString(),
      })),
    );
    return {
      job_id: jobId,
      status: incomplete ? 'incomplete' : 'complete',
      records: recs.records.map((r) => ({
        route: r.route,
        timestamp: r.timestamp,
        created_at: r.createdAt,
        request_id: r.requestId,
        status: r.status,
        provider: r.provider ?? null,
        usage: r.usage ?? [],
        prompts: r.prompts ?? [],
        request: r.request,
        response: r.response,
        ...(r.truncated ? { truncated: true } : {}),
      })),
      images,
      audio: narration ? await this.audioOf(narration) : null,
      next_records_cursor: recs.nextCursor ?? null,
      next_images_cursor: imgs.nextCursor ?? null,
    };
  }

  /** The narration's files with fresh URLs (the manifest bounds them: at most the section cap). */
  private async audioOf(m: NarrationManifest): Promise<Record<string, unknown>> {
    const { images, presignSeconds } = this.deps;
    const file = async (key: string, duration: number) => ({
      audio_s3_uri: `s3://${images.bucket}/${key}`,
      audio_presigned_url: await images.presignGet(key, presignSeconds),
      duration_seconds: duration,
    });
    return {
      provider: m.provider,
      model_id: m.model,
      voices: m.cast,
      sections: await Promise.all(m.sections.map(async (s) => ({ section_num: s.section_num, ...(await file(s.key, s.duration_seconds)) }))),
      story: m.story ? await file(m.story.key, m.story.duration_seconds) : null,
      total_duration_seconds: m.story?.duration_seconds ?? null,
      updated_at: m.updated_at,
    };
  }

  async delete(caller: Caller, jobIdRaw: string | undefined): Promise<Record<string, unknown>> {
    const jobId = this.checkJobId(jobIdRaw);
    const prefix = jobPrefix(caller.sub, jobId);
    const [first, objects] = await Promise.all([
      this.deps.sessions.jobRecords(caller.sub, jobId, { limit: 1, maxBytes: JOB_PAGE_RECORD_BYTES }),
      this.deps.images.list(prefix),
    ]);
    if (first.records.length === 0 && objects.length === 0) return this.missing(caller, jobId);
    // Media first: a failure leaves the records, so the job can still be found and retried.
    // deleteMany removes every key or throws, so the counts are the listing's.
    await this.deps.images.deleteMany(objects.map((o) => o.key));
    const audio = objects.filter((o) => o.key.startsWith(`${prefix}${AUDIO_FOLDER}`)).length;
    const deletedRecords = await this.deps.sessions.deleteJob(caller.sub, jobId);
    return { job_id: jobId, deleted_images: objects.length - audio, deleted_audio: audio, deleted_records: deletedRecords };
  }
}
