/**
 * JSON parsing that refuses duplicate object members (RFC 8259 §4 leaves them undefined; I-JSON,
 * RFC 7493 §2.3, forbids them). `JSON.parse` keeps the last of two equal names, another parser may
 * keep the first: two tools would then disagree on what was verified (`{"payload":A,"payload":B}`).
 * Every JSON document snap reads from a snapshot, archive, store, policy or log goes through here
 * (manifest lines and statements are also held to their RFC 8785 form, which has no duplicates).
 */
import { SnapError, type SnapErrorCode } from './errors.js';

/** Largest nesting depth accepted: snap's documents nest at most 6 deep; this bounds the scan's stack. */
export const MAX_JSON_DEPTH = 64;

/**
 * Parse `text` as JSON (RFC 8259) and refuse any object with two members of the same name (names
 * compared after unescaping, so `"a"` and `"\u0061"` are the same), or nesting deeper than
 * {@link MAX_JSON_DEPTH}.
 * @param code the SnapError code to throw (the caller's "malformed" code, e.g. `ENVELOPE_MALFORMED`)
 * @param what what the document is, for the message (e.g. "the envelope")
 * @throws SnapError `code` when the text is not JSON, holds a duplicate member, or nests too deep
 */
export function parseJsonStrict(text: string, code: SnapErrorCode, what: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SnapError(code, `${what} is not valid JSON`);
  }
  const dup = findDuplicateMember(text);
  if (dup !== undefined) {
    if (dup.depth) throw new SnapError(code, `${what} nests deeper than ${MAX_JSON_DEPTH} levels`);
    throw new SnapError(code, `${what} has the member ${JSON.stringify(dup.name)} twice in one object (duplicate members are refused)`, { member: dup.name });
  }
  return value;
}

/**
 * Scan JSON text that `JSON.parse` has already accepted, and return the first member name that
 * occurs twice in one object (or `{depth: true}` when nesting exceeds {@link MAX_JSON_DEPTH}).
 * Linear in the text; only strings and the structural characters `{ } [ ] :` are looked at, which
 * suffices because the text is known to be valid JSON.
 */
export function findDuplicateMember(text: string): { name: string; depth?: false } | { name: ''; depth: true } | undefined {
  // One entry per open container: a Set of member names for an object, null for an array.
  const stack: (Set<string> | null)[] = [];
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      i++;
      let escaped = false;
      for (; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) {
          escaped = true;
          i++;
        } else if (d === 0x22) break;
      }
      const top = stack[stack.length - 1];
      if (!top) continue;
      // A string directly inside an object is a member name when the next non-space character is ':'.
      let j = i + 1;
      while (j < n && (text.charCodeAt(j) === 0x20 || text.charCodeAt(j) === 0x0a || text.charCodeAt(j) === 0x0d || text.charCodeAt(j) === 0x09)) j++;
      if (text.charCodeAt(j) !== 0x3a /* : */) continue;
      const raw = text.slice(start, i + 1);
      const name = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
      if (top.has(name)) return { name };
      top.add(name);
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= MAX_JSON_DEPTH) return { name: '', depth: true };
      stack.push(c === 0x7b ? new Set() : null);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    }
  }
  return undefined;
}
