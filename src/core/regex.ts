/**
 * The one way a regular expression is built from user text (speaker names, requests, labels):
 * escape it here first. `new RegExp(`\\b${name}\\b`)` with a name like `Mr (Bob` throws, and
 * with `(a+)+b` it backtracks; an escaped name is only ever the literal text.
 */

/** `RegExp.escape` (ES2025, Node >= 24): TypeScript's lib may not declare it, so it is looked up. */
type Escape = (text: string) => string;
const builtinEscape: Escape | undefined = (() => {
  const candidate: unknown = (RegExp as RegExpConstructor & { escape?: unknown }).escape;
  return typeof candidate === 'function' ? (candidate as Escape).bind(RegExp) : undefined;
})();

/**
 * The escaping used where `RegExp.escape` is missing (Node < 24). Syntax characters and `/` get a
 * backslash; `-` becomes `\x2d`, because `\-` is a syntax error outside a class with the `u` flag.
 * Exported for the tests; use `escapeRegExp`.
 */
export function fallbackEscapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&').replace(/-/g, '\\x2d');
}

/** `text` as a pattern that matches exactly that text, with or without the `u`/`i` flags. */
export function escapeRegExp(text: string): string {
  return builtinEscape ? builtinEscape(text) : fallbackEscapeRegExp(text);
}

/** A letter, digit or underscore in any script: what a whole word may not touch. */
const WORD_CHAR = String.raw`[\p{L}\p{N}\p{M}_]`;

/**
 * Matches `word` as a whole word: not preceded or followed by a letter, digit, combining mark or
 * underscore. Unlike `\b`, this works when the word starts or ends with punctuation (`Bob(`,
 * `(a+)+b`) and for non-ASCII letters (`Zoë`). The `u` flag is always added (the lookarounds
 * need it); pass `i` for a case-insensitive match, `g` to find every occurrence. An empty or
 * blank word matches nothing.
 */
export function wholeWordPattern(word: string, flags = ''): RegExp {
  const allFlags = flags.includes('u') || flags.includes('v') ? flags : `${flags}u`;
  if (word.trim() === '') return new RegExp('(?!)', allFlags);
  return new RegExp(`(?<!${WORD_CHAR})${escapeRegExp(word)}(?!${WORD_CHAR})`, allFlags);
}
