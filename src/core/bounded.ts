/**
 * Fitting a JSON value into a byte budget (a DynamoDB item is at most 400 KB): long strings are
 * cut with a marker saying how much was dropped, long arrays keep their first items and a marker
 * item. Values that already fit are returned as they are.
 */

export interface Fitted {
  value: unknown;
  truncated: boolean;
}

const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');

/** The value with every string cut to `maxChars` and every array to `maxItems` (markers included). */
function capped(value: unknown, maxChars: number, maxItems: number, depth = 0): unknown {
  if (typeof value === 'string') return value.length > maxChars ? `${value.slice(0, maxChars)}…[truncated ${value.length - maxChars} characters]` : value;
  if (depth > 32 || value === null || typeof value !== 'object') return depth > 32 ? '[truncated: nested too deep]' : value;
  if (Array.isArray(value)) {
    const kept = value.slice(0, maxItems).map((v) => capped(v, maxChars, maxItems, depth + 1));
    return value.length > maxItems ? [...kept, { truncated_items: value.length - maxItems }] : kept;
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, capped(v, maxChars, maxItems, depth + 1)]));
}

function longest(value: unknown, depth = 0): { chars: number; items: number } {
  if (typeof value === 'string') return { chars: value.length, items: 0 };
  if (depth > 32 || value === null || typeof value !== 'object') return { chars: 0, items: 0 };
  const children = Array.isArray(value) ? value : Object.values(value);
  let chars = 0;
  let items = Array.isArray(value) ? value.length : 0;
  for (const child of children) {
    const l = longest(child, depth + 1);
    chars = Math.max(chars, l.chars);
    items = Math.max(items, l.items);
  }
  return { chars, items };
}

function stringLengths(value: unknown, out: number[], depth = 0): number[] {
  if (typeof value === 'string') out.push(value.length);
  else if (depth <= 32 && value !== null && typeof value === 'object') for (const child of Array.isArray(value) ? value : Object.values(value)) stringLengths(child, out, depth + 1);
  return out;
}

/** Bytes a truncation marker adds (`…[truncated N characters]`), at most. */
const MARKER_BYTES = 40;

/**
 * The largest string cap whose result should fit: the structure's own bytes, plus every string
 * cut to the cap (with its marker), within the budget. From the sorted string lengths and their
 * prefix sums, by bisection on numbers (no pass over the value).
 */
function stringCap(sorted: number[], prefix: number[], structure: number, budget: number): number {
  const total = (cap: number): number => {
    // Strings of length <= cap keep their length; longer ones become cap + a marker.
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((sorted[mid] as number) <= cap) lo = mid + 1;
      else hi = mid;
    }
    return structure + (prefix[lo] as number) + (sorted.length - lo) * (cap + MARKER_BYTES);
  };
  let lo = 0;
  let hi = sorted.at(-1) ?? 0;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (total(mid) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * The value, fitted into `maxBytes` of JSON. Usually the strings carry the size: one cap for all
 * of them is computed from their lengths, applied in one pass and checked once (retried with a
 * smaller budget where escapes or multi-byte characters made the estimate short). When the
 * structure itself is too large (huge arrays), arrays are cut too, by bisection; if even the
 * smallest caps do not fit, the value is replaced by a marker.
 */
export function fitJson(value: unknown, maxBytes: number): Fitted {
  const size = bytes(value);
  if (size <= maxBytes) return { value, truncated: false };
  const sorted = stringLengths(value, []).sort((a, b) => a - b);
  const prefix = [0];
  for (const n of sorted) prefix.push((prefix.at(-1) as number) + n);
  const structure = Math.max(0, size - (prefix.at(-1) as number));
  let budget = maxBytes;
  for (let attempt = 0; attempt < 4 && structure < budget; attempt++) {
    const cap = stringCap(sorted, prefix, structure, budget);
    if (cap < 16) break;
    const candidate = capped(value, cap, Number.MAX_SAFE_INTEGER);
    const got = bytes(candidate);
    if (got <= maxBytes) return { value: candidate, truncated: true };
    budget -= got - maxBytes + 1024;
  }
  const max = longest(value);
  let lo = 0;
  let hi = 1;
  let best: unknown;
  for (let i = 0; i < 12; i++) {
    const mid = (lo + hi) / 2;
    const candidate = capped(value, Math.max(16, Math.floor(max.chars * mid)), Math.max(1, Math.floor(max.items * mid)));
    if (bytes(candidate) <= maxBytes) {
      best = candidate;
      lo = mid;
    } else hi = mid;
  }
  if (best === undefined) {
    const smallest = capped(value, 16, 1);
    best = bytes(smallest) <= maxBytes ? smallest : { truncated: `the value was ${size} bytes; too large to keep` };
  }
  return { value: best, truncated: true };
}
