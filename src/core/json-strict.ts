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
      // The closing quote: the next '"' after an even number of backslashes (found by the native
      // indexOf, not a loop over every character of a long string such as an envelope's payload).
      for (;;) {
        i = text.indexOf('"', i + 1);
        if (i < 0) return undefined; // not reached: the text is valid JSON
        let b = i - 1;
        while (text.charCodeAt(b) === 0x5c /* \ */) b--;
        if ((i - 1 - b) % 2 === 0) break;
      }
      const top = stack[stack.length - 1];
      if (!top) continue;
      // A string directly inside an object is a member name when the next non-space character is ':'.
      let j = i + 1;
      while (j < n && (text.charCodeAt(j) === 0x20 || text.charCodeAt(j) === 0x0a || text.charCodeAt(j) === 0x0d || text.charCodeAt(j) === 0x09)) j++;
      if (text.charCodeAt(j) !== 0x3a /* : */) continue;
      const raw = text.slice(start, i + 1);
      const name = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
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

/** Where a text stops being JSON: offset (UTF-16 units), line and column (from 1, in characters), and why. */
export interface JsonSyntaxError {
  offset: number;
  line: number;
  column: number;
  reason: string;
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isHex = (c: number): boolean => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
/** RFC 8259 §2: the four whitespace characters. */
const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * The first syntax error of `text` read as one JSON value (RFC 8259 §2–§7), or undefined when it
 * is JSON: the same texts `JSON.parse` refuses, located by this scanner rather than taken from the
 * engine's message (V8 gives a position for some errors only, in words that change between
 * versions). Line and column count from 1; lines end at LF, columns count code points. Linear in
 * the text; nesting is kept on an explicit stack (no recursion).
 */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  const n = text.length;
  let i = 0;
  const at = (offset: number, reason: string): JsonSyntaxError => {
    const before = text.slice(0, offset);
    const lineStart = before.lastIndexOf('\n') + 1;
    return { offset, line: before.split('\n').length, column: [...before.slice(lineStart)].length + 1, reason };
  };
  const found = (what: string): JsonSyntaxError => {
    if (i >= n) return at(n, `the text ends where ${what} was expected`);
    const ch = String.fromCodePoint(text.codePointAt(i) as number);
    return at(i, `expected ${what}, found ${JSON.stringify(ch)}`);
  };
  const skipSpace = (): void => {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
  };
  /** A string from its opening quote at `i`; leaves `i` after the closing one. */
  const string = (): JsonSyntaxError | undefined => {
    i++;
    for (;;) {
      if (i >= n) return at(n, 'the text ends inside a string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return undefined;
      }
      if (c < 0x20) return at(i, `a control character (U+${c.toString(16).toUpperCase().padStart(4, '0')}) inside a string: write it escaped`);
      if (c === 0x5c) {
        const e = text.charCodeAt(i + 1);
        if (e === 0x75 /* u */) {
          for (let k = 2; k < 6; k++) if (!isHex(text.charCodeAt(i + k))) return at(Math.min(i + k, n), 'expected four hex digits after \\u');
          i += 6;
        } else if ('"\\/bfnrt'.includes(text[i + 1] ?? 'x')) i += 2;
        else return at(Math.min(i + 1, n), 'expected an escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX) after \\');
      } else i++;
    }
  };
  /** A number starting at `i` (RFC 8259 §6); leaves `i` after it. */
  const number = (): JsonSyntaxError | undefined => {
    if (text.charCodeAt(i) === 0x2d) i++;
    if (text.charCodeAt(i) === 0x30) {
      i++;
      if (isDigit(text.charCodeAt(i))) return at(i, 'a number with a leading zero');
    } else if (isDigit(text.charCodeAt(i))) while (isDigit(text.charCodeAt(i))) i++;
    else return found('a digit');
    if (text.charCodeAt(i) === 0x2e) {
      i++;
      if (!isDigit(text.charCodeAt(i))) return found('a digit after the decimal point');
      while (isDigit(text.charCodeAt(i))) i++;
    }
    if ((text.charCodeAt(i) | 0x20) === 0x65 /* e E */) {
      i++;
      if (text.charCodeAt(i) === 0x2b || text.charCodeAt(i) === 0x2d) i++;
      if (!isDigit(text.charCodeAt(i))) return found('a digit in the exponent');
      while (isDigit(text.charCodeAt(i))) i++;
    }
    return undefined;
  };
  /** A member name and its `:`, at `i` (`expected`: what else may stand there); leaves `i` after the colon. */
  const member = (expected: string): JsonSyntaxError | undefined => {
    if (text.charCodeAt(i) !== 0x22) return found(expected);
    const e = string();
    if (e) return e;
    skipSpace();
    if (text.charCodeAt(i) !== 0x3a) return found('":" after the member name');
    i++;
    return undefined;
  };
  // One entry per open container: true for an object, false for an array.
  const stack: boolean[] = [];
  for (;;) {
    // A value is expected at i.
    skipSpace();
    const c = text.charCodeAt(i);
    let err: JsonSyntaxError | undefined;
    if (c === 0x7b || c === 0x5b) {
      const isObject = c === 0x7b;
      i++;
      skipSpace();
      if (text.charCodeAt(i) === (isObject ? 0x7d : 0x5d)) i++; // an empty container is a whole value
      else {
        stack.push(isObject);
        if (isObject && (err = member('a member name in double quotes or "}"'))) return err;
        continue;
      }
    } else if (c === 0x22) err = string();
    else if (c === 0x2d || isDigit(c)) err = number();
    else {
      const word = ['true', 'false', 'null'].find((w) => text.startsWith(w, i));
      if (word === undefined) return found('a value');
      i += word.length;
    }
    if (err) return err;
    // After a value: close containers, or go on to the next element or member.
    for (;;) {
      skipSpace();
      if (stack.length === 0) return i < n ? found('the end of the text after the JSON value') : undefined;
      const isObject = stack[stack.length - 1] as boolean;
      const d = text.charCodeAt(i);
      if (d === (isObject ? 0x7d : 0x5d)) {
        i++;
        stack.pop();
        continue;
      }
      if (d !== 0x2c) return found(isObject ? '"," or "}"' : '"," or "]"');
      i++;
      if (isObject) {
        skipSpace();
        if ((err = member('a member name in double quotes'))) return err;
      }
      break;
    }
  }
}
