/** Reading Server-Sent Events responses in tests. */
import { tokenFor } from './local';

export interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** The events of a complete Server-Sent Events body. */
export function parseEvents(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.trim() !== '')
    .map(eventOf);
}

/** One frame (the text between blank lines) as an event. */
function eventOf(frame: string): SseEvent {
  return { event: /^event: (.*)$/m.exec(frame)?.[1] ?? 'message', data: JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] ?? '{}') as Record<string, unknown> };
}

/**
 * POSTs `body` with `Accept: text/event-stream` and reads the events; `stopAfter` ends the
 * read early by aborting the request (the client going away), once `beforeAbort` (e.g. "the
 * model server has received the call") has resolved.
 */
export async function readEvents(
  url: string,
  body: unknown,
  opts: { stopAfter?: (e: SseEvent) => boolean; beforeAbort?: () => Promise<void> } = {},
): Promise<{ status: number; contentType: string; events: SseEvent[] }> {
  const controller = new AbortController();
  const res = await fetch(url, {
    method: 'POST',
    headers: { Authorization: `Bearer ${await tokenFor()}`, 'Content-Type': 'application/json', Accept: 'text/event-stream' },
    body: JSON.stringify(body),
    signal: controller.signal,
  });
  const contentType = res.headers.get('content-type') ?? '';
  const events: SseEvent[] = [];
  const reader = res.body?.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const chunk = await reader?.read();
      if (!chunk || chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const parsed = eventOf(frame);
        events.push(parsed);
        if (opts.stopAfter?.(parsed)) {
          await opts.beforeAbort?.();
          controller.abort();
          return { status: res.status, contentType, events };
        }
      }
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err;
  }
  return { status: res.status, contentType, events };
}
