/**
 * Data operations over a caller's jobs: list, inspect (with fresh image URLs), delete.
 */
import { badRequest, forbidden, notFound } from './errors';
import type { Caller, ImageStore, SessionStore } from './ports';
import { JOB_ID_PATTERN, jobListQuerySchema } from './schemas';
import { imageKey } from './story-service';

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

  /** The caller's view of a job; 403 when the id is another user's, 404 when unknown. */
  private async load(caller: Caller, jobIdRaw: string | undefined) {
    const jobId = this.checkJobId(jobIdRaw);
    const [records, objects] = await Promise.all([
      this.deps.sessions.jobRecords(caller.sub, jobId),
      this.deps.images.list(imageKey(caller.sub, jobId, '')),
    ]);
    if (records.length === 0 && objects.length === 0) {
      const owner = await this.deps.sessions.jobOwner(jobId);
      if (owner && owner !== caller.sub) throw forbidden('This job belongs to another user');
      throw notFound(`Job ${jobId} not found`);
    }
    return { jobId, records, objects };
  }

  async get(caller: Caller, jobIdRaw: string | undefined): Promise<Record<string, unknown>> {
    const { jobId, records, objects } = await this.load(caller, jobIdRaw);
    const images = await Promise.all(
      objects.map(async (o) => ({
        s3_uri: `s3://${this.deps.images.bucket}/${o.key}`,
        presigned_url: await this.deps.images.presignGet(o.key, this.deps.presignSeconds),
        size: o.size,
        last_modified: o.lastModified.toISOString(),
      })),
    );
    const result = {
      job_id: jobId,
      records: records.map((r) => ({
        route: r.route,
        timestamp: r.timestamp,
        created_at: r.createdAt,
        request_id: r.requestId,
        status: r.status,
        provider: r.provider ?? null,
        usage: r.usage ?? [],
        request: r.request,
        response: r.response,
      })),
      images,
    };
    return result;
  }

  async delete(caller: Caller, jobIdRaw: string | undefined): Promise<Record<string, unknown>> {
    const { jobId, objects } = await this.load(caller, jobIdRaw);
    // Images first: a failure leaves the records, so the job can still be found and retried.
    const deletedImages = await this.deps.images.deleteMany(objects.map((o) => o.key));
    const deletedRecords = await this.deps.sessions.deleteJob(caller.sub, jobId);
    return { job_id: jobId, deleted_images: deletedImages, deleted_records: deletedRecords };
  }
}
