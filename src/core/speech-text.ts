/**
 * Story text cut into pieces a speech provider takes in one call: whole sentences packed up to
 * the provider's limit; a sentence longer than the limit is cut between words, never inside
 * one. Sentences and words are found by `Intl.Segmenter` (ICU's rules, linear in the text).
 */
import { badRequest } from './errors';

const sentences = new Intl.Segmenter('en', { granularity: 'sentence' });
const words = new Intl.Segmenter('en', { granularity: 'word' });

/** Text as it will be spoken: control characters out, whitespace runs as one space. */
export function speakable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
}

/** Packs pieces (each at most `max` long) into as few chunks of at most `max` characters as they fit. */
function pack(pieces: Iterable<string>, max: number, into: string[]): void {
  let current = '';
  for (const piece of pieces) {
    if (current.length + piece.length > max && current.trim()) {
      into.push(current.trim());
      current = '';
    }
    current += piece;
  }
  if (current.trim()) into.push(current.trim());
}

/** A sentence over the limit, cut between words (a word over the limit is the caller's mistake). */
function betweenWords(sentence: string, max: number, what: string): string[] {
  const pieces: string[] = [];
  for (const { segment } of words.segment(sentence)) {
    if (segment.length > max) throw badRequest(`${what} has a word of ${segment.length} characters, longer than the ${max} characters the speech provider takes at once`);
    pieces.push(segment);
  }
  const out: string[] = [];
  pack(pieces, max, out);
  return out;
}

/** The text in chunks of at most `max` characters, split at sentence boundaries where it can be. */
export function speechChunks(text: string, max: number, what: string): string[] {
  const clean = speakable(text);
  if (clean.length <= max) return clean ? [clean] : [];
  const out: string[] = [];
  const pieces: string[] = [];
  for (const { segment } of sentences.segment(clean)) {
    if (segment.length <= max) pieces.push(segment);
    else {
      pack(pieces.splice(0), max, out);
      out.push(...betweenWords(segment, max, what));
    }
  }
  pack(pieces, max, out);
  return out;
}
