/**
 * Incremental prose extraction from a streamed JSON document.
 *
 * A model writing a story streams its structured output as JSON text fragments split at
 * arbitrary points (inside keys, escapes, surrogate pairs). `ProseStream` is fed those
 * fragments in order and emits, per push, only the newly decoded characters of the string
 * values of selected keys ("prose fields"), so users see the story text rather than JSON.
 *
 * Why no library: none in node_modules streams a string value's *new* characters.
 * `@streamparser/json` (not installed) with `emitPartialTokens` re-emits the whole partial
 * string on every write, which is quadratic over a long segment, and it throws on malformed
 * input; `jsonc-parser`'s scanner needs the complete text. So this is a small hand-written
 * scanner: one pass over each character, O(1) state per character, memory bounded by the
 * current fragment plus fixed caps (tracked depth, key length).
 *
 * Semantics:
 * - Only the first JSON value in the input is scanned; anything after it is ignored.
 * - A prose field is an object key (at any tracked depth) exactly equal, after decoding
 *   escapes, to one of `fields`. Its value is emitted only if it is a string.
 * - `ordinal` counts, per field, every occurrence of that key followed by a value (string
 *   or not) in document order, starting at 1; non-string values emit nothing but still count.
 * - Containers nested deeper than MAX_TRACKED_DEPTH are skipped: nothing inside them is
 *   emitted or counted. Keys longer than MAX_KEY_LENGTH never match.
 * - Escapes are decoded as JSON.parse does; a surrogate pair (escaped, raw, or mixed) is
 *   emitted whole, never split across deltas; an unpaired surrogate becomes U+FFFD.
 * - Malformed input never throws: the scanner recovers as best it can and keeps going.
 *   Exceptions thrown by `emit` propagate to the caller of `push`, after the scanner has
 *   consumed the whole fragment (deltas are emitted once the fragment has been scanned);
 *   the remaining deltas of that fragment are then dropped, and later pushes carry on.
 */

export interface ProseDelta {
  /** The prose field (object key) whose string value this text belongs to. */
  readonly field: string;
  /** Newly decoded characters of the value; never empty. */
  readonly text: string;
  /** 1-based ordinal of this field's occurrence across the document (e.g. the 3rd segment_content => 3). */
  readonly ordinal: number;
}

/** Containers nested deeper than this are scanned but never emit. */
export const MAX_TRACKED_DEPTH = 64;
/** Keys longer than this (in UTF-16 code units, decoded) are never prose fields. */
export const MAX_KEY_LENGTH = 64;

// Scanner modes.
const M_VALUE = 0; // between tokens
const M_STRING = 1; // inside a string body
const M_ESCAPE = 2; // just after a backslash in a string
const M_UNICODE = 3; // inside the four hex digits of \uXXXX
const M_LITERAL = 4; // inside a number, true/false/null or a bare word
const M_DONE = 5; // the document has ended; ignore the rest

// What a string's decoded characters are for.
const S_SKIP = 0; // a value we do not emit
const S_KEY = 1; // an object key
const S_PROSE = 2; // a prose field's value

// Container kinds and what an object/array expects next.
const K_OBJECT = 0;
const K_ARRAY = 1;
const E_KEY = 0;
const E_COLON = 1;
const E_VALUE = 2;
const E_COMMA = 3;

/** JSON's lexical bits, shared with the section scanner (section-stream.ts). */
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
const REPLACEMENT = '\uFFFD';

export function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0xfeff;
}

/** Ends a bare literal: whitespace, structural characters, or a quote. */
function endsLiteral(c: number): boolean {
  return isWhitespace(c) || c === 0x7b || c === 0x7d || c === 0x5b || c === 0x5d || c === 0x3a || c === 0x2c || c === QUOTE;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

function simpleEscape(c: number): number {
  switch (c) {
    case 0x6e: return 0x0a; // n
    case 0x74: return 0x09; // t
    case 0x72: return 0x0d; // r
    case 0x62: return 0x08; // b
    case 0x66: return 0x0c; // f
    default: return c; // " \ / decode to themselves; an invalid escape keeps its character
  }
}

export class ProseStream {
  readonly #fields: ReadonlySet<string>;
  readonly #emit: (d: ProseDelta) => void;
  readonly #ordinals = new Map<string, number>();

  #mode = M_VALUE;
  #sink = S_SKIP;
  /** Tracked open containers, at most MAX_TRACKED_DEPTH. */
  #depth = 0;
  /** Open containers beyond the tracked depth. */
  #overflow = 0;
  readonly #kind = new Uint8Array(MAX_TRACKED_DEPTH);
  readonly #expect = new Uint8Array(MAX_TRACKED_DEPTH);

  /** The last key read in the innermost object, until its value starts. */
  #key = '';
  #hasKey = false;
  #keyTooLong = false;

  #hexCount = 0;
  #hexValue = 0;

  /** Field and ordinal of the prose string being read. */
  #field = '';
  #ordinal = 0;
  /** A high surrogate waiting for its low half (-1 if none). */
  #held = -1;
  /** Decoded prose of the current string not yet emitted (bounded by one fragment). */
  #out = '';

  constructor(fields: readonly string[], emit: (d: ProseDelta) => void) {
    this.#fields = new Set(fields);
    this.#emit = emit;
  }

  /** Feeds the next fragment of the document. Never throws on any input; only `emit`'s own exceptions propagate. */
  push(fragment: string): void {
    if (typeof fragment !== 'string' || fragment.length === 0) return;
    const deltas: ProseDelta[] = [];
    const n = fragment.length;
    let i = 0;
    while (i < n && this.#mode !== M_DONE) {
      switch (this.#mode) {
        case M_STRING:
          i = this.#sink === S_PROSE ? this.#scanProse(fragment, i, deltas) : this.#scanOther(fragment, i);
          break;
        case M_ESCAPE: {
          const c = fragment.charCodeAt(i);
          i++;
          if (c === 0x75) {
            // u
            this.#mode = M_UNICODE;
            this.#hexCount = 0;
            this.#hexValue = 0;
          } else {
            this.#mode = M_STRING;
            this.#unit(simpleEscape(c));
          }
          break;
        }
        case M_UNICODE: {
          const h = hexValue(fragment.charCodeAt(i));
          if (h < 0) {
            // A broken \u escape: replace it, then rescan this character as string content
            // (it may be the closing quote).
            this.#mode = M_STRING;
            this.#unit(0xfffd);
            break;
          }
          i++;
          this.#hexValue = this.#hexValue * 16 + h;
          this.#hexCount++;
          if (this.#hexCount === 4) {
            this.#mode = M_STRING;
            this.#unit(this.#hexValue);
          }
          break;
        }
        case M_LITERAL:
          while (i < n && !endsLiteral(fragment.charCodeAt(i))) i++;
          if (i < n) {
            this.#mode = M_VALUE;
            this.#valueDone();
          }
          break;
        default:
          this.#token(fragment.charCodeAt(i));
          i++;
      }
    }
    if (this.#sink === S_PROSE && this.#mode >= M_STRING && this.#mode <= M_UNICODE) this.#flush(deltas);
    for (const d of deltas) this.#emit(d);
  }

  /** Scans a prose string body from `i`; returns where it stopped. */
  #scanProse(s: string, i: number, deltas: ProseDelta[]): number {
    const n = s.length;
    const run = i;
    let c = 0;
    for (; i < n; i++) {
      c = s.charCodeAt(i);
      if (c === QUOTE || c === BACKSLASH || (c & 0xf800) === 0xd800) break;
    }
    if (i > run && this.#held >= 0) {
      // A held high surrogate followed by a plain character: it was unpaired.
      this.#out += REPLACEMENT;
      this.#held = -1;
    }
    if (i > run) this.#out += s.slice(run, i);
    if (i >= n) return i;
    if (c === QUOTE) {
      if (this.#held >= 0) {
        this.#out += REPLACEMENT;
        this.#held = -1;
      }
      this.#flush(deltas);
      this.#mode = M_VALUE;
      this.#sink = S_SKIP;
      this.#valueDone();
    } else if (c === BACKSLASH) {
      this.#mode = M_ESCAPE;
    } else {
      this.#unit(c); // a raw surrogate
    }
    return i + 1;
  }

  /** Scans a key or skipped string body from `i`; returns where it stopped. */
  #scanOther(s: string, i: number): number {
    const n = s.length;
    const key = this.#sink === S_KEY;
    let c = 0;
    for (; i < n; i++) {
      c = s.charCodeAt(i);
      if (c === QUOTE || c === BACKSLASH) break;
      if (key) this.#keyUnit(c);
    }
    if (i >= n) return i;
    if (c === BACKSLASH) {
      this.#mode = M_ESCAPE;
    } else {
      this.#mode = M_VALUE;
      if (key) {
        this.#hasKey = !this.#keyTooLong;
        if (this.#depth > 0) this.#expect[this.#depth - 1] = E_COLON;
      } else {
        this.#valueDone();
      }
      this.#sink = S_SKIP;
    }
    return i + 1;
  }

  /** One decoded UTF-16 code unit of the current string. */
  #unit(c: number): void {
    if (this.#sink === S_KEY) {
      this.#keyUnit(c);
      return;
    }
    if (this.#sink !== S_PROSE) return;
    if (this.#held >= 0) {
      if (c >= 0xdc00 && c <= 0xdfff) {
        this.#out += String.fromCharCode(this.#held, c);
        this.#held = -1;
        return;
      }
      this.#out += REPLACEMENT;
      this.#held = -1;
    }
    if (c >= 0xd800 && c <= 0xdbff) this.#held = c;
    else if (c >= 0xdc00 && c <= 0xdfff) this.#out += REPLACEMENT;
    else this.#out += String.fromCharCode(c);
  }

  #keyUnit(c: number): void {
    if (this.#keyTooLong) return;
    if (this.#key.length >= MAX_KEY_LENGTH) {
      this.#keyTooLong = true;
      this.#key = '';
      return;
    }
    this.#key += String.fromCharCode(c);
  }

  #flush(deltas: ProseDelta[]): void {
    if (this.#out.length === 0) return;
    deltas.push({ field: this.#field, text: this.#out, ordinal: this.#ordinal });
    this.#out = '';
  }

  /** A character between tokens. */
  #token(c: number): void {
    if (isWhitespace(c)) return;
    if (this.#overflow > 0) {
      // Beyond the tracked depth: only follow nesting and skip strings.
      if (c === 0x7b || c === 0x5b) this.#overflow++;
      else if (c === 0x7d || c === 0x5d) {
        this.#overflow--;
        if (this.#overflow === 0) this.#valueDone();
      } else if (c === QUOTE) {
        this.#mode = M_STRING;
        this.#sink = S_SKIP;
      }
      return;
    }
    const top = this.#depth - 1;
    switch (c) {
      case 0x7b: // {
      case 0x5b: // [
        this.#valueStart();
        if (this.#depth === MAX_TRACKED_DEPTH) {
          this.#overflow = 1;
        } else {
          const object = c === 0x7b;
          this.#kind[this.#depth] = object ? K_OBJECT : K_ARRAY;
          this.#expect[this.#depth] = object ? E_KEY : E_VALUE;
          this.#depth++;
        }
        return;
      case 0x7d: // }
      case 0x5d: // ]
        if (this.#depth === 0) return; // stray closer before the document
        this.#depth--;
        this.#hasKey = false;
        if (this.#depth === 0) this.#mode = M_DONE;
        else this.#expect[this.#depth - 1] = E_COMMA;
        return;
      case 0x3a: // :
        if (top >= 0 && this.#kind[top] === K_OBJECT && this.#expect[top] === E_COLON) this.#expect[top] = E_VALUE;
        return;
      case 0x2c: // ,
        if (top >= 0) this.#expect[top] = this.#kind[top] === K_OBJECT ? E_KEY : E_VALUE;
        this.#hasKey = false;
        return;
      case QUOTE:
        this.#mode = M_STRING;
        if (top >= 0 && this.#kind[top] === K_OBJECT && this.#expect[top] !== E_VALUE) {
          this.#sink = S_KEY;
          this.#key = '';
          this.#keyTooLong = false;
          this.#hasKey = false;
        } else {
          this.#sink = this.#valueStart() ? S_PROSE : S_SKIP;
          this.#held = -1;
          this.#out = '';
        }
        return;
      default:
        this.#valueStart();
        this.#mode = M_LITERAL;
    }
  }

  /**
   * A value starts in the current container. If it is a prose field's value, counts the
   * occurrence, records field and ordinal, and returns true.
   */
  #valueStart(): boolean {
    const top = this.#depth - 1;
    const keyed = top >= 0 && this.#hasKey && this.#kind[top] === K_OBJECT && this.#expect[top] === E_VALUE;
    this.#hasKey = false;
    if (!keyed || !this.#fields.has(this.#key)) return false;
    const ordinal = (this.#ordinals.get(this.#key) ?? 0) + 1;
    this.#ordinals.set(this.#key, ordinal);
    this.#field = this.#key;
    this.#ordinal = ordinal;
    return true;
  }

  /** A string or literal value has ended (containers end in #token). */
  #valueDone(): void {
    if (this.#overflow > 0) return;
    if (this.#depth === 0) this.#mode = M_DONE;
    else this.#expect[this.#depth - 1] = E_COMMA;
  }
}
