/** How big a story must be: sections per part and, for audio, how many words. */

export const WORDS_PER_MINUTE = 150;
/** Accepted band of total narration words for an audio story, as a share of the target. */
export const AUDIO_WORDS_BAND = { min: 0.6, max: 1.6 } as const;
/** Audio stories have at least this many sections in each part ("several"). */
export const AUDIO_MIN_SECTIONS_PER_PART = 2;

export interface StoryShape {
  storyType: 'visual' | 'audio';
  /** Sections asked for in beginning, middle, end. */
  sectionsPerPart: [number, number, number];
  totalSections: number;
  /** Audio only: target words of narration in total. */
  targetWords?: number;
}

/** Splits n sections over three parts, extra ones going to the middle, then the beginning. */
export function splitInThree(n: number): [number, number, number] {
  const base = Math.floor(n / 3);
  const rest = n - base * 3;
  return [base + (rest >= 2 ? 1 : 0), base + (rest >= 1 ? 1 : 0), base];
}

export function audioSections(minutes: number): number {
  return Math.min(45, Math.max(3 * AUDIO_MIN_SECTIONS_PER_PART, Math.round(minutes * 1.5)));
}

export function storyShape(input: { story_type: 'visual' | 'audio'; panels?: number; audio_length?: number }): StoryShape {
  if (input.story_type === 'visual') {
    const total = input.panels ?? 3;
    return { storyType: 'visual', sectionsPerPart: splitInThree(total), totalSections: total };
  }
  const minutes = input.audio_length ?? 1;
  const total = audioSections(minutes);
  return {
    storyType: 'audio',
    sectionsPerPart: splitInThree(total),
    totalSections: total,
    targetWords: minutes * WORDS_PER_MINUTE,
  };
}

/** Whitespace as `\s` matches it, by character code (a regex test per character is slow on long texts). */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** Words (runs of non-whitespace) in a text: one pass, no allocation per word. */
export function countWords(text: string): number {
  let words = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const space = isSpace(text.charCodeAt(i));
    if (!space && !inWord) words++;
    inWord = !space;
  }
  return words;
}
