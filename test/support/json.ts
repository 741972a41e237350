/** JSON text with every non-ASCII character and every "/" escaped (surrogate pairs as two \u escapes): streamed-JSON scanners must decode both forms alike. */
export function asciiJson(json: string): string {
  let out = '';
  for (const ch of json.split('')) {
    const c = ch.charCodeAt(0);
    if (c > 0x7e) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else if (ch === '/') out += '\\/';
    else out += ch;
  }
  return out;
}

/** Splits `text` at the given (unsorted, possibly out-of-range) cut positions: a stream's fragments. */
export function split(text: string, cuts: readonly number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const pieces: string[] = [];
  let last = 0;
  for (const p of points) {
    pieces.push(text.slice(last, p));
    last = p;
  }
  pieces.push(text.slice(last));
  return pieces;
}
