/**
 * Server-Sent Events for the long story routes (`Accept: text/event-stream`): progress
 * (stage, panel n of N), text deltas as the model writes, each panel as soon as it is stored,
 * then one `result` event with the same envelope as the plain JSON answer (or `error`).
 * Used by the Express agent and the local gateway; the caller's disconnect aborts the work.
 */
import { HttpError, isAbortError } from '../core/errors';
import type { Caller } from '../core/ports';
import type { ProgressEvent, StoryPath } from '../core/story-service';
import type { Platform } from './platform';

export const STREAMING_PATHS: readonly StoryPath[] = ['/generate-story', '/generate-story-image'];

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
};

export const wantsEventStream = (accept: string | undefined): boolean => (accept ?? '').includes('text/event-stream');

export type SseSink = (event: string, data: unknown) => void;

export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function progressFrame(e: ProgressEvent): [string, unknown] {
  switch (e.type) {
    case 'stage':
      return ['progress', { stage: e.stage, detail: e.detail ?? null }];
    case 'delta':
      return ['delta', { text: e.text }];
    case 'panel':
      return ['panel', { panel: e.panel, of: e.of, story_segment: e.segment }];
  }
}

/** Runs one story route, reporting as it goes; ends with `result` or `error`. */
export async function streamStoryRoute(
  platform: Platform,
  path: StoryPath,
  body: Record<string, unknown>,
  caller: Caller,
  requestId: string,
  send: SseSink,
  signal: AbortSignal,
): Promise<void> {
  send('progress', { stage: 'accepted', detail: path });
  try {
    const envelope = await platform.story.call(path, body, {
      caller,
      requestId,
      signal,
      onProgress: (e) => {
        if (!signal.aborted) send(...progressFrame(e));
      },
    });
    send('result', envelope);
  } catch (err) {
    if (signal.aborted || isAbortError(err)) return;
    if (err instanceof HttpError) {
      // The status line (200) is already sent: the status and Retry-After travel in the event.
      const retryAfter = err.headers['Retry-After'];
      send('error', { status: err.status, ...err.body(requestId), ...(retryAfter ? { retry_after: Number(retryAfter) } : {}) });
    } else {
      platform.telemetry.log('error', 'unhandled streaming error', { request_id: requestId, error: err instanceof Error ? err.message : String(err) });
      send('error', { status: 500, error: 'Internal server error', message: 'An unexpected error occurred', request_id: requestId });
    }
  }
}
