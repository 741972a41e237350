/**
 * The story normaliser: every model output passes through here before a user sees it.
 * It repairs what can be repaired safely (order of parts, numbering, speaker-name case,
 * "Narrator:" prefixes, empty segments) and reports what cannot, so the caller can ask the
 * model again.
 */
import {
  NARRATOR,
  STORY_PARTS,
  type OutlineRequest,
  type OutlineResult,
  type Section,
  type Segment,
  type SegmentRequest,
  type SegmentResult,
  type StoryPart,
  type StoryPartName,
  type StoryResult,
  type TopicsResult,
} from './schemas';
import { escapeRegExp, wholeWordPattern } from './regex';
import { AUDIO_MIN_SECTIONS_PER_PART, AUDIO_WORDS_BAND, countWords, type StoryShape } from './shape';

export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string };

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const fail = <T>(problem: string): Checked<T> => ({ ok: false, problem });

const NARRATOR_WORD = /\bnarrator\b/i;

/** Finds a speaker in the allowed list regardless of case and spacing. */
export function canonicalSpeaker(name: string, speakers: readonly string[]): string | undefined {
  const key = name.trim().replace(/\s+/g, ' ').toLowerCase();
  if (key === NARRATOR.toLowerCase()) return NARRATOR;
  return speakers.find((s) => s.toLowerCase() === key);
}

/** Removes a leading "Speaker:" label, which models like to add to dialogue. */
function stripSpeakerLabel(content: string, speaker: string): string {
  let text = content.trim();
  for (const label of [NARRATOR, speaker]) {
    const re = new RegExp(`^\\(?${escapeRegExp(label)}\\)?\\s*[:\\-–—]\\s*`, 'i');
    text = text.replace(re, '');
  }
  return text.trim();
}

function partName(label: string): StoryPartName | undefined {
  const key = label.trim().toLowerCase();
  return STORY_PARTS.find((p) => p === key);
}

/** Puts three uniquely labelled parts in beginning/middle/end order. */
function orderParts<P extends { story_part: string }>(parts: readonly P[]): Checked<Array<P & { story_part: StoryPartName }>> {
  if (parts.length !== 3) return fail(`expected exactly 3 story parts, got ${parts.length}`);
  const byName = new Map<StoryPartName, P>();
  for (const p of parts) {
    const name = partName(p.story_part);
    if (!name) return fail(`unknown story part "${p.story_part}"`);
    if (byName.has(name)) return fail(`story part "${name}" appears twice`);
    byName.set(name, p);
  }
  return ok(STORY_PARTS.map((name) => ({ ...(byName.get(name) as P), story_part: name })));
}

/** Speakers of a story: the outline's speakers, Narrator first, de-duplicated. */
export function outlineSpeakers(parts: ReadonlyArray<{ story_part_speakers: readonly string[] }>, extra: readonly string[] = []): string[] {
  const names: string[] = [NARRATOR];
  /** Lower-cased names already kept: one look-up per name, so linear in the number of names. */
  const seen = new Set<string>([NARRATOR.toLowerCase()]);
  const add = (name: string): void => {
    const clean = name.trim().replace(/\s+/g, ' ');
    const key = clean.toLowerCase();
    if (!clean || seen.has(key)) return;
    seen.add(key);
    names.push(clean);
  };
  for (const name of extra) add(name);
  for (const part of parts) for (const name of part.story_part_speakers) add(name);
  return names;
}

export function normaliseTopics(raw: TopicsResult): Checked<TopicsResult> {
  const out = {
    subject_category: raw.subject_category.trim(),
    scope_coverage: raw.scope_coverage.trim(),
    structure: raw.structure.trim(),
    source_types: raw.source_types.trim(),
    target_audience: raw.target_audience.trim(),
    tone: raw.tone.trim(),
  };
  const empty = Object.entries(out).find(([, v]) => v === '');
  return empty ? fail(`${empty[0]} is empty`) : ok(out);
}

export function normaliseOutline(raw: OutlineResult, input: Pick<OutlineRequest, 'number_of_speakers'>): Checked<OutlineResult> {
  const ordered = orderParts(raw.story_parts);
  if (!ordered.ok) return ordered;
  const speakers = outlineSpeakers([], raw.speaker_names.filter((n) => !NARRATOR_WORD.test(n)));
  if (speakers.length !== input.number_of_speakers) {
    return fail(`expected ${input.number_of_speakers} speakers including ${NARRATOR}, got ${speakers.length}`);
  }
  const parts = [];
  for (const part of ordered.value) {
    const summary = part.story_part_summary.trim();
    if (!summary) return fail(`story part "${part.story_part}" has an empty summary`);
    const partSpeakers: string[] = [NARRATOR];
    for (const name of part.story_part_speakers) {
      const canonical = canonicalSpeaker(name, speakers);
      if (!canonical) return fail(`story part "${part.story_part}" names unknown speaker "${name}"`);
      if (!partSpeakers.includes(canonical)) partSpeakers.push(canonical);
    }
    parts.push({ story_part: part.story_part, story_part_summary: summary, story_part_speakers: partSpeakers });
  }
  return ok({ speaker_names: speakers, story_parts: parts });
}

function normaliseSegments(segments: readonly Segment[], speakers: readonly string[], where: string): Checked<Segment[]> {
  const out: Segment[] = [];
  for (const seg of segments) {
    const speaker = canonicalSpeaker(seg.speaker, speakers);
    if (!speaker) return fail(`${where} has unknown speaker "${seg.speaker}"`);
    const content = stripSpeakerLabel(seg.segment_content, speaker);
    if (!content) continue;
    if (NARRATOR_WORD.test(content)) return fail(`${where} names the narrator inside the text`);
    out.push({ segment_num: 0, segment_content: content, speaker });
  }
  return ok(out);
}

/** Checks and repairs a whole story against the structure rules of the spec. */
export function normaliseStory(raw: StoryResult, speakers: readonly string[], shape: StoryShape): Checked<{ story_parts: StoryPart[]; speaker_names: string[] }> {
  const ordered = orderParts(raw.story_parts);
  if (!ordered.ok) return ordered;
  const parts: StoryPart[] = [];
  let sectionNum = 0;
  let segmentNum = 0;
  let words = 0;
  for (const part of ordered.value) {
    const sections: Section[] = [];
    for (const section of part.sections) {
      const segs = normaliseSegments(section.segments, speakers, `a section of "${part.story_part}"`);
      if (!segs.ok) return segs;
      if (segs.value.length === 0) continue;
      if (!segs.value.some((s) => s.speaker === NARRATOR)) {
        return fail(`a section of "${part.story_part}" has no ${NARRATOR} segment`);
      }
      sectionNum += 1;
      sections.push({
        section_num: sectionNum,
        segments: segs.value.map((s) => {
          segmentNum += 1;
          words += countWords(s.segment_content);
          return { ...s, segment_num: segmentNum };
        }),
      });
    }
    const minSections = shape.storyType === 'audio' ? AUDIO_MIN_SECTIONS_PER_PART : 1;
    if (sections.length < minSections) {
      return fail(`story part "${part.story_part}" has ${sections.length} sections, needs at least ${minSections}`);
    }
    parts.push({ story_part: part.story_part, sections });
  }
  if (shape.storyType === 'visual' && sectionNum !== shape.totalSections) {
    return fail(`expected exactly ${shape.totalSections} sections (one per panel), got ${sectionNum}`);
  }
  if (shape.storyType === 'audio' && shape.targetWords) {
    const lo = Math.floor(shape.targetWords * AUDIO_WORDS_BAND.min);
    const hi = Math.ceil(shape.targetWords * AUDIO_WORDS_BAND.max);
    if (words < lo || words > hi) return fail(`expected ${lo}-${hi} words of narration, got ${words}`);
  }
  return ok({ story_parts: parts, speaker_names: [...speakers] });
}

/** Which speaker a regenerated segment may use: the original one unless the user named another. */
function allowedSpeaker(returned: string, input: SegmentRequest, speakers: readonly string[]): string {
  const original = canonicalSpeaker(input.original_story_segment.speaker, speakers) ?? input.original_story_segment.speaker;
  if (returned === original) return original;
  const asked = wholeWordPattern(returned, 'i').test(input.user_request);
  return asked ? returned : original;
}

export function normaliseSegment(raw: SegmentResult, input: SegmentRequest, speakers: readonly string[]): Checked<SegmentResult & { new_story_segment: Segment }> {
  const seg = raw.new_story_segment;
  const speaker = canonicalSpeaker(seg.speaker, speakers);
  if (!speaker) return fail(`unknown speaker "${seg.speaker}"`);
  const finalSpeaker = allowedSpeaker(speaker, input, speakers);
  const content = stripSpeakerLabel(seg.segment_content, finalSpeaker);
  if (!content) return fail('the new segment is empty');
  if (NARRATOR_WORD.test(content)) return fail('the new segment names the narrator inside the text');
  return ok({
    new_story_segment: { segment_num: input.original_story_segment_num, segment_content: content, speaker: finalSpeaker },
  });
}
