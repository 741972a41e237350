/**
 * The events of the streaming routes (`Accept: text/event-stream`), as src/platform/sse.ts and
 * the story agent write them (the OpenAPI document describes them in words; their `result`
 * is the route's typed JSON answer).
 */
export interface StorySegment {
  segment_num: number;
  segment_content: string;
  speaker: string;
}

export type StreamEvent =
  | { event: 'progress'; data: { stage: string; detail: string | null } }
  | { event: 'delta'; data: { text: string; field: string; segment: number } }
  | { event: 'section_text'; data: { section: number; story_part: string; segments: StorySegment[] } }
  | { event: 'panel'; data: { panel: number; of: number; story_segment_number: number; story_segment: Record<string, unknown> } }
  | { event: 'section'; data: { done: number; of: number; section: Record<string, unknown> } }
  | { event: 'text'; data: { delta: string } }
  | { event: 'tool_call'; data: { tool: string; input: unknown } }
  | { event: 'tool_progress'; data: { tool: string; stage?: string; [k: string]: unknown } }
  | { event: 'tool_result'; data: { tool: string; status: string; summary?: string } }
  | { event: 'sources'; data: { query: string; status: string; engine?: string; cached?: boolean; results?: { title: string; url: string; snippet?: string }[]; reason?: string } }
  | { event: 'media'; data: { kind: 'image' | 'audio'; job_id: string; panel?: number | null; section?: number | null; done?: number; of?: number; s3_uri: string | null; url: string | null; duration_seconds?: number | null } }
  | { event: 'artifact'; data: { path: string; size: number; content_type: string; s3_uri: string; url: string } };
