/**
 * Server-Sent Events framing for the streaming routes (`Accept: text/event-stream`):
 * `progress` (stage), `delta` (prose as the model writes it), `section_text` (each story section's
 * segments as soon as the model has finished writing that section), `panel` (each image as soon as
 * it is stored), `section` (each narrated section as soon as it is stored), the story agent's
 * own events (`text`, `tool_call`, `tool_progress`, `tool_result`, `sources`, `media`,
 * `artifact`: see agent-service.ts), then one `result` with the same envelope as the JSON answer
 * (or `error`).
 */
import type { ProgressEvent } from '../core/story-service';

export const SSE_HEADERS: Record<string, string> = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
};

export const wantsEventStream = (accept: string | undefined): boolean => (accept ?? '').includes('text/event-stream');

export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function progressFrame(e: ProgressEvent): [string, unknown] {
  switch (e.type) {
    case 'stage':
      return ['progress', { stage: e.stage, detail: e.detail ?? null }];
    case 'delta':
      return ['delta', { text: e.text, field: e.field, segment: e.segment }];
    case 'panel':
      return ['panel', { panel: e.panel, of: e.of, story_segment_number: e.segmentNumber, story_segment: e.segment }];
    case 'section':
      return ['section', { done: e.done, of: e.of, section: e.audio }];
    case 'section_text':
      return ['section_text', { section: e.section, story_part: e.storyPart, segments: e.segments }];
    case 'agent':
      return [e.event, e.data];
  }
}
