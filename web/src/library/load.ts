/** The library's calls: the caller's jobs, one job (every page, up to a cap), deleting a job. */
import type { Api } from '../api/client';
import { unwrap } from '../api/client';
import { mergeJobPages, type Job, type JobListItem } from './job';

export const JOBS_PAGE = 12;
/** Records and images per page of one job (the route allows up to 50). */
const JOB_PAGE_LIMIT = '50';
/** Pages of one job read at most: 20 × 50 records and images is far more than a story makes. */
export const JOB_MAX_PAGES = 20;

export async function listJobs(api: Api['api'], cursor: string | undefined, signal?: AbortSignal): Promise<{ jobs: JobListItem[]; nextCursor: string | null }> {
  const out = await unwrap(api.GET('/jobs', { params: { query: { limit: String(JOBS_PAGE), ...(cursor ? { cursor } : {}) } }, ...(signal ? { signal } : {}) }));
  return { jobs: out.result.jobs, nextCursor: out.result.next_cursor };
}

/** The first page of a job (enough for a library card: its title, first panel, narration). */
export async function jobFirstPage(api: Api['api'], jobId: string, signal?: AbortSignal): Promise<Job> {
  const out = await unwrap(api.GET('/jobs/{job_id}', { params: { path: { job_id: jobId }, query: { limit: '20' } }, ...(signal ? { signal } : {}) }));
  return out.result;
}

/**
 * A whole job: its pages followed (records and images each by their own cursor) up to
 * JOB_MAX_PAGES. `complete` is false when the cap stopped the reading.
 */
export async function loadJob(api: Api['api'], jobId: string, signal?: AbortSignal): Promise<{ job: Job; complete: boolean }> {
  const pages: Array<{ page: Job; records: boolean; images: boolean }> = [];
  let recordsCursor: string | undefined;
  let imagesCursor: string | undefined;
  let recordsDone = false;
  let imagesDone = false;
  for (let i = 0; i < JOB_MAX_PAGES; i++) {
    const query = { limit: JOB_PAGE_LIMIT, ...(recordsCursor ? { records_cursor: recordsCursor } : {}), ...(imagesCursor ? { images_cursor: imagesCursor } : {}) };
    const out = await unwrap(api.GET('/jobs/{job_id}', { params: { path: { job_id: jobId }, query }, ...(signal ? { signal } : {}) }));
    const page = out.result;
    pages.push({ page, records: !recordsDone, images: !imagesDone });
    if (!recordsDone) {
      recordsCursor = page.next_records_cursor ?? undefined;
      recordsDone = recordsCursor === undefined;
    }
    if (!imagesDone) {
      imagesCursor = page.next_images_cursor ?? undefined;
      imagesDone = imagesCursor === undefined;
    }
    if (recordsDone && imagesDone) return { job: mergeJobPages(pages), complete: true };
  }
  return { job: mergeJobPages(pages), complete: false };
}

export async function deleteJob(api: Api['api'], jobId: string): Promise<void> {
  await unwrap(api.DELETE('/jobs/{job_id}', { params: { path: { job_id: jobId } } }));
}
