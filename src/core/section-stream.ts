/**
 * Completed story sections from a streamed story JSON document.
 *
 * A model writing a story streams its structured output (`storyResultSchema`:
 * `{"speaker_names":[...],"story_parts":[{"story_part":"beginning","sections":[{...}, ...]}, ...]}`)
 * as JSON text fragments split at arbitrary points (inside keys, strings, escapes, surrogate
 * pairs). `SectionStream` is fed those fragments in order and emits each element object of a
 * `story_parts[i].sections` array as soon as its closing brace arrives, so the work that needs
 * a section (its panel image) can start while the model is still writing the rest.
 *
 * Why hand-written: no library in node_modules hands back completed sub-values of a document
 * that is still arriving. `jsonc-parser`'s scanner and visitor need the complete text;
 * `@streamparser/json` (not installed) throws on malformed input and builds every value of the
 * document, not just the ones asked for. `ProseStream` (prose-stream.ts) is the same kind of
 * scanner, but its state machine decodes string characters for emission and has no hooks for
 * document structure; this scanner never decodes a character itself (the section's text is
 * handed to JSON.parse whole, and so are the few short strings whose value matters), so its
 * lexical state is just "in a string" and "after a backslash", and sharing ProseStream's
 * decoder would only add work to both hot loops. What is shared are ProseStream's caps.
 *
 * Semantics:
 * - Only the first JSON value in the input is scanned; anything after it is ignored.
 * - A section is an object that is an element of the array under the key `sections` of an
 *   object that is an element of the array under the key `story_parts` of the root object.
 *   Keys are compared after decoding escapes.
 * - `section` counts every such object in document order, starting at 1, whether or not it is
 *   emitted (so a skipped section leaves a gap rather than shifting later sections).
 * - `storyPart` is the string value of the enclosing part's `story_part` key if it came before
 *   this section (the last one, if repeated), else ''.
 * - `raw` is JSON.parse of exactly the section object's text (from `{` to `}`). A section
 *   whose text does not parse, or is longer than MAX_SECTION_CHARS, is not emitted.
 * - One pass over each character. Memory: the text of the one section currently open (at most
 *   MAX_SECTION_CHARS; beyond that it is dropped at the end of the fragment), one short
 *   key or part name, and fixed-size state for MAX_TRACKED_DEPTH nested containers; deeper
 *   containers are only counted.
 * - Malformed input never throws: the scanner recovers as best it can and keeps going.
 *   Exceptions thrown by `emit` propagate to the caller of `push`, after the scanner has
 *   consumed the whole fragment (sections are emitted once the fragment has been scanned);
 *   the remaining sections of that fragment are then dropped, and later pushes carry on.
 */
import { MAX_KEY_LENGTH, MAX_TRACKED_DEPTH, BACKSLASH, isWhitespace, QUOTE } from './prose-stream';

export interface SectionEvent {
  /** 1-based ordinal of this section object across the whole story. */
  readonly section: number;
  /** The enclosing part's `story_part`, if it came before this section; else ''. */
  readonly storyPart: string;
  /** The parsed section object (JSON.parse of exactly its text). */
  readonly raw: unknown;
}

/** A section whose text is longer than this (UTF-16 code units) is skipped. */
export const MAX_SECTION_CHARS = 256 * 1024;
/** A `story_part` value longer than this (decoded) is not recorded. */
const MAX_PART_NAME_LENGTH = 256;
/** Every character of a short string may arrive as a six-character \uXXXX escape. */
const ESCAPED = 6;

// Scanner modes.
const M_VALUE = 0; // between tokens
const M_STRING = 1; // inside a string body
const M_ESCAPE = 2; // just after a backslash in a string
const M_DONE = 3; // the document has ended; ignore the rest

// What a string's raw text is kept for.
const S_SKIP = 0; // nothing
const S_KEY = 1; // a key of the root object or of a story part
const S_PART_NAME = 2; // the value of a story part's `story_part`

// What a tracked container is.
const R_OTHER = 0;
const R_ROOT = 1; // the root object
const R_PARTS = 2; // the root's `story_parts` array
const R_PART = 3; // an element object of `story_parts`
const R_SECTIONS = 4; // a part's `sections` array
const R_SECTION = 5; // an element object of `sections`

export class SectionStream {
  readonly #emit: (s: SectionEvent) => void;

  #mode = M_VALUE;
  #sink = S_SKIP;
  /** Tracked open containers, at most MAX_TRACKED_DEPTH. */
  #depth = 0;
  /** Open containers beyond the tracked depth. */
  #overflow = 0;
  readonly #role = new Uint8Array(MAX_TRACKED_DEPTH);
  /** 1 for an object, 0 for an array. */
  readonly #object = new Uint8Array(MAX_TRACKED_DEPTH);
  /** 1 while an object expects a key (after `{` or `,`). */
  readonly #expectKey = new Uint8Array(MAX_TRACKED_DEPTH);

  /** The last key read in the innermost root or part object, until its value starts. */
  #key = '';
  #hasKey = false;
  /** Raw (undecoded) text of the key or part name being read. */
  #text = '';
  #textCap = 0;
  #textTooLong = false;

  /** The current part's `story_part`. */
  #partName = '';
  /** Sections opened so far; the ordinal of the open one. */
  #sections = 0;
  /** Whether the open section's text is being kept. */
  #capturing = false;
  /** Where the open section's text starts in the current fragment (0 if it started in an earlier one). */
  #captureStart = 0;
  /** The open section's text from earlier fragments. */
  #captured = '';

  constructor(emit: (s: SectionEvent) => void) {
    this.#emit = emit;
  }

  /** Forgets everything: the next push starts a new document (a restarted stream). */
  reset(): void {
    this.#mode = M_VALUE;
    this.#sink = S_SKIP;
    this.#depth = 0;
    this.#overflow = 0;
    this.#key = '';
    this.#hasKey = false;
    this.#text = '';
    this.#textTooLong = false;
    this.#partName = '';
    this.#sections = 0;
    this.#capturing = false;
    this.#captureStart = 0;
    this.#captured = '';
  }

  /** Feeds the next fragment of the document. Never throws on any input; only `emit`'s own exceptions propagate. */
  push(fragment: string): void {
    if (typeof fragment !== 'string' || fragment.length === 0) return;
    const found: SectionEvent[] = [];
    const n = fragment.length;
    let i = 0;
    while (i < n && this.#mode !== M_DONE) {
      if (this.#mode === M_STRING) {
        i = this.#scanString(fragment, i);
      } else if (this.#mode === M_ESCAPE) {
        // The escaped character is kept raw (JSON.parse decodes it); \uXXXX's digits are plain string characters.
        this.#keep(fragment, i - 1, i + 1);
        this.#mode = M_STRING;
        i++;
      } else {
        this.#token(fragment, i, found);
        i++;
      }
    }
    if (this.#capturing) {
      if (this.#captured.length + (n - this.#captureStart) > MAX_SECTION_CHARS) {
        this.#capturing = false;
        this.#captured = '';
      } else {
        this.#captured += this.#captureStart === 0 ? fragment : fragment.slice(this.#captureStart);
      }
      this.#captureStart = 0;
    }
    for (const s of found) this.#emit(s);
  }

  /** Scans a string body from `i`; returns where it stopped. */
  #scanString(s: string, i: number): number {
    const n = s.length;
    const run = i;
    let c = 0;
    for (; i < n; i++) {
      c = s.charCodeAt(i);
      if (c === QUOTE || c === BACKSLASH) break;
    }
    if (i > run) this.#keep(s, run, i);
    if (i >= n) return i;
    if (c === BACKSLASH) {
      this.#mode = M_ESCAPE;
      return i + 1;
    }
    this.#mode = M_VALUE;
    this.#stringDone();
    return i + 1;
  }

  /**
   * Keeps `s[start, end)` of a key or part name (the backslash of an escape is passed with its
   * character, so `start` may be -1 when the backslash ended the previous fragment).
   */
  #keep(s: string, start: number, end: number): void {
    if (this.#sink === S_SKIP || this.#textTooLong) return;
    const piece = start < 0 ? `\\${s.slice(0, end)}` : s.slice(start, end);
    if (this.#text.length + piece.length > this.#textCap) {
      this.#textTooLong = true;
      this.#text = '';
      return;
    }
    this.#text += piece;
  }

  /** The kept string decoded as JSON.parse would, or undefined if it is too long or broken. */
  #decoded(): string | undefined {
    if (this.#textTooLong) return undefined;
    if (!this.#text.includes('\\')) return this.#text;
    try {
      const value: unknown = JSON.parse(`"${this.#text}"`);
      return typeof value === 'string' ? value : undefined;
    } catch {
      return undefined;
    }
  }

  #stringDone(): void {
    const sink = this.#sink;
    this.#sink = S_SKIP;
    if (sink === S_KEY) {
      const key = this.#decoded();
      this.#hasKey = key !== undefined && key.length <= MAX_KEY_LENGTH;
      this.#key = this.#hasKey ? (key as string) : '';
    } else if (sink === S_PART_NAME) {
      const name = this.#decoded();
      if (name !== undefined && name.length <= MAX_PART_NAME_LENGTH) this.#partName = name;
    }
    this.#text = '';
    if (this.#depth === 0) this.#mode = M_DONE; // the document was a string
  }

  /** Starts keeping a string's raw text for `sink`. */
  #startString(sink: number, cap: number): void {
    this.#mode = M_STRING;
    this.#sink = sink;
    this.#text = '';
    this.#textCap = cap;
    this.#textTooLong = false;
  }

  /** The key the value starting now belongs to ('' if none); the key is used up. */
  #takeKey(): string {
    const key = this.#hasKey ? this.#key : '';
    this.#hasKey = false;
    return key;
  }

  /** A character between tokens, at `s[i]`. */
  #token(s: string, i: number, found: SectionEvent[]): void {
    const c = s.charCodeAt(i);
    if (isWhitespace(c)) return;
    if (this.#overflow > 0) {
      // Beyond the tracked depth: only follow nesting and skip strings.
      if (c === 0x7b || c === 0x5b) this.#overflow++;
      else if (c === 0x7d || c === 0x5d) this.#overflow--;
      else if (c === QUOTE) this.#startString(S_SKIP, 0);
      return;
    }
    const top = this.#depth - 1;
    switch (c) {
      case 0x7b: // {
      case 0x5b: {
        // [
        const object = c === 0x7b;
        const role = this.#roleOf(object);
        if (this.#depth === MAX_TRACKED_DEPTH) {
          this.#overflow = 1;
          return;
        }
        this.#role[this.#depth] = role;
        this.#object[this.#depth] = object ? 1 : 0;
        this.#expectKey[this.#depth] = object ? 1 : 0;
        this.#depth++;
        if (role === R_PART) this.#partName = '';
        if (role === R_SECTION) {
          this.#sections++;
          this.#capturing = true;
          this.#captureStart = i;
          this.#captured = '';
        }
        return;
      }
      case 0x7d: // }
      case 0x5d: // ]
        if (this.#depth === 0) return; // stray closer before the document
        this.#depth--;
        this.#hasKey = false;
        if (this.#role[this.#depth] === R_SECTION) this.#sectionDone(s, i, found);
        if (this.#depth === 0) this.#mode = M_DONE;
        return;
      case 0x3a: // :
        return;
      case 0x2c: // ,
        if (top >= 0) this.#expectKey[top] = this.#object[top] as number;
        this.#hasKey = false;
        return;
      case QUOTE: {
        if (top >= 0 && this.#expectKey[top] === 1) {
          this.#expectKey[top] = 0;
          this.#hasKey = false;
          const role = this.#role[top];
          this.#startString(role === R_ROOT || role === R_PART ? S_KEY : S_SKIP, MAX_KEY_LENGTH * ESCAPED);
        } else {
          const partName = top >= 0 && this.#role[top] === R_PART && this.#takeKey() === 'story_part';
          this.#hasKey = false;
          this.#startString(partName ? S_PART_NAME : S_SKIP, MAX_PART_NAME_LENGTH * ESCAPED);
        }
        return;
      }
      default:
        // A number, true/false/null or a bare word.
        if (this.#depth === 0) this.#mode = M_DONE; // the document was a literal
        this.#hasKey = false;
    }
  }

  /** What a container opening now in the current one is (uses up the key it is the value of). */
  #roleOf(object: boolean): number {
    const top = this.#depth - 1;
    if (top < 0) return object ? R_ROOT : R_OTHER;
    const parent = this.#role[top];
    const key = this.#takeKey();
    if (this.#object[top] === 1) {
      if (!object && parent === R_ROOT && key === 'story_parts') return R_PARTS;
      if (!object && parent === R_PART && key === 'sections') return R_SECTIONS;
      return R_OTHER;
    }
    if (object && parent === R_PARTS) return R_PART;
    if (object && parent === R_SECTIONS) return R_SECTION;
    return R_OTHER;
  }

  /** The open section ended at `s[i]`: parse its text and queue it for emission. */
  #sectionDone(s: string, i: number, found: SectionEvent[]): void {
    if (!this.#capturing) return; // over the cap
    this.#capturing = false;
    const start = this.#captureStart;
    this.#captureStart = 0;
    const before = this.#captured;
    this.#captured = '';
    if (before.length + (i + 1 - start) > MAX_SECTION_CHARS) return;
    let raw: unknown;
    try {
      raw = JSON.parse(before + s.slice(start, i + 1));
    } catch {
      return;
    }
    found.push({ section: this.#sections, storyPart: this.#partName, raw });
  }
}
