/**
 * A story as the studio shows and edits it: the request it was written for, its parts, the
 * picture of each panel, the narration. Every shape comes from the generated API types.
 */
import type { Body, Result } from '../api/client';

export type StoryRequest = Omit<Body<'/generate-story', 'post'>, 'story_outline_description' | 'user_id' | 'job_id'>;
export type StoryResult = Result<'/generate-story', 'post'>;
export type StoryPart = StoryResult['story_parts'][number];
export type StorySection = StoryPart['sections'][number];
export type Segment = StorySection['segments'][number];
export type OutlinePart = Body<'/generate-story', 'post'>['story_outline_description'][number];
export type Narration = Result<'/narrate-story', 'post'>;

/**
 * The picture of one panel. A panel is a story section: /generate-story-image draws one scene per
 * section (its Narrator's words), numbered 1.. in story order (`story_segment_number`).
 */
export interface PanelImage {
  s3Uri: string;
  url: string;
}

export interface StoryDoc {
  jobId: string;
  request: StoryRequest;
  /** The illustration style of the panels (visual stories). */
  artStyle?: string;
  parts: StoryPart[];
  speakerNames?: string[];
  /** Which engine wrote the text (metadata.provider). */
  provider?: string;
  /** Panel pictures by panel number (the section's place in the story, 1-based: see panelOf). */
  images: Record<number, PanelImage>;
  narration?: Narration;
}

/** Every section of the story in order, each with its panel number (1-based). */
export const panelsOf = (parts: readonly StoryPart[]): { panel: number; section: StorySection }[] =>
  parts.flatMap((p) => p.sections).map((section, i) => ({ panel: i + 1, section }));

/** Every segment of the story in order. */
export const allSegments = (parts: readonly StoryPart[]): Segment[] => parts.flatMap((p) => p.sections.flatMap((s) => s.segments));

/** The story with one segment replaced (matched by its number). */
export function withSegment(parts: readonly StoryPart[], segment: Segment): StoryPart[] {
  return parts.map((p) => ({ ...p, sections: p.sections.map((s) => ({ ...s, segments: s.segments.map((g) => (g.segment_num === segment.segment_num ? segment : g)) })) }));
}

/** The number of the section holding a segment. */
export function sectionOf(parts: readonly StoryPart[], segmentNum: number): number | undefined {
  for (const p of parts) for (const s of p.sections) if (s.segments.some((g) => g.segment_num === segmentNum)) return s.section_num;
  return undefined;
}

/** The story as Markdown: a title line, each part and its segments, with the speakers. */
export function storyMarkdown(doc: StoryDoc): string {
  const title = doc.request.user_input_description?.trim() || `A ${doc.request.tone} ${doc.request.genre} story`;
  const lines = [`# ${title.split('\n')[0]}`, '', `*${doc.request.genre}, ${doc.request.reading_level}, ${doc.request.tone} — job ${doc.jobId}*`, ''];
  for (const part of doc.parts) {
    lines.push(`## ${part.story_part}`, '');
    for (const section of part.sections) {
      const panel = panelsOf(doc.parts).find((p) => p.section === section)?.panel;
      const image = panel === undefined ? undefined : doc.images[panel];
      if (image) lines.push(`![Panel ${panel}](${image.url})`, '');
      for (const seg of section.segments) {
        lines.push(seg.speaker && seg.speaker !== 'Narrator' ? `**${seg.speaker}:** ${seg.segment_content}` : seg.segment_content, '');
      }
    }
  }
  return lines.join('\n');
}
