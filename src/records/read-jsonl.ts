/**
 * JSON Lines records (docs/FORMAT.md §19.2): one JSON object per line, `\n`-separated; a `\r`
 * before the `\n` is dropped, a UTF-8 BOM at the start is skipped, the final `\n` is optional; a
 * blank line, a line that is not JSON or not an object, an object that names a member twice, an
 * integer that JSON numbers cannot hold exactly, and a whole number written as a float with more
 * digits than a double holds ({@link isOverlongWholeFloat}) are errors. A whole number written as a float
 * (`1.0`, `1e2`, `-0.0`) is handed on as a {@link WholeFloat}. Bytes are hashed as they are read.
 */
import { isUtf8 } from 'node:buffer';
import { SnapError } from '../core/errors.js';
import { findDuplicateMember } from '../core/json-strict.js';
import { MAX_DEPTH, ObjectShapes, WholeFloat, type RecordFields } from './canonical.js';
import { hashedChunks, lineOfInvalidUtf8, located, newHash, MAX_RECORD_BYTES, type ReadResult, type RecordSink } from './read-common.js';
import { delimitedColumnTypes, JSONL_COLUMN_TYPE, MAX_SCHEMA_COLUMNS, type ColumnType } from './column-types.js';

/** Sixteen digits in a row: the only lines that may hold an integer beyond 2^53. */
const LONG_DIGITS = /\d{16}/;

/**
 * Whether a JSON text writes an integer (no fraction, no exponent) whose value is beyond
 * ±(2^53 − 1): JSON.parse would round it to another integer, so two different records could get
 * one canonical form.
 */
export function hasInexactInteger(text: string): boolean {
  if (!LONG_DIGITS.test(text)) return false;
  return someNumber(text, (tok) => {
    if (!/^-?\d+$/.test(tok)) return false;
    const digits = tok.replace(/^-?0*/, '');
    return digits.length > 16 || (digits.length === 16 && BigInt(digits) > BigInt(Number.MAX_SAFE_INTEGER));
  });
}

/** An exponent of -100 or below: with {@link LONG_DIGITS}, the only lines that may write a number a double reads as 0. */
const SMALL_EXPONENT = /[eE]-0*[1-9]\d{2}/;

/**
 * Whether a JSON text writes a number that is not zero but too small for a double (below about
 * 2.5e-324), which JSON.parse reads as 0: `1e-400` and `0` would be one canonical form, where
 * `1e400` (Infinity) is refused as not finite. A number that underflows needs either an exponent of
 * three digits or hundreds of digits in a row.
 */
export function hasUnderflow(text: string): boolean {
  if (!SMALL_EXPONENT.test(text) && !LONG_DIGITS.test(text)) return false;
  return someNumber(text, (tok) => Number(tok) === 0 && /[1-9]/.test(tok.split(/[eE]/)[0] as string));
}

/**
 * Lines that may hold an inexact integer, an underflow or an overlong whole float: sixteen digits
 * in a row, or sixteen digits and points ({@link hasOverlongWholeFloat} needs sixteen significant
 * digits, {@link LONG_DIGITS} is one such run), or {@link SMALL_EXPONENT}, in one scan of the line.
 * A line it does not match holds none, so the read takes {@link hasInexactInteger},
 * {@link hasUnderflow} and {@link hasOverlongWholeFloat} only on lines it matches: one
 * regular-expression scan per line instead of three (about 0.18 µs a line of 90 characters, some
 * 3 % of a seal with an index; docs/PERFORMANCE.md, nineteenth session).
 */
export const NUMBER_SUSPECT = /\d[\d.]{15}|[eE]-0*[1-9]\d{2}/;

/** The significant digits of a JSON number token (or of a number's `String`): its mantissa's digits, without the point and without leading and trailing zeros (`""` for zero). */
function significantDigits(token: string): string {
  const mantissa = (token.split(/[eE]/)[0] as string).replace(/^-/, '').replace('.', '');
  return mantissa.replace(/^0+/, '').replace(/0+$/, '');
}

/**
 * Whether a JSON number token is written as a float ({@link isWholeFloatToken}: a whole value) with
 * other significant digits than its value's shortest round-trip form: `0.99999999999999999999`,
 * `1.00000000000000000001` and `9007199254740993e0` hold more digits than a double, and round to 1,
 * 1 and 9007199254740992. Readers disagree on them: JSON.parse and Python's `json` round correctly
 * (to the float 1.0, for Python), pandas.read_json's parser, which does not, reads
 * `0.99999999999999999999` as 0.9999999999999991 (`astype(int)`: 0). A whole float written with
 * the digits it holds (`1.0`, `1e0`, `100.000`, `1.5e1`, `1e23`) is not overlong; such a token
 * has at least sixteen significant digits (fifteen always round-trip).
 */
export function isOverlongWholeFloat(token: string): boolean {
  return isWholeFloatToken(token) && significantDigits(token) !== significantDigits(String(Math.abs(Number(token))));
}

/** The first overlong whole float ({@link isOverlongWholeFloat}) a JSON text writes (strings skipped), or undefined. */
export function hasOverlongWholeFloat(text: string): string | undefined {
  let found: string | undefined;
  someNumber(text, (tok) => (isOverlongWholeFloat(tok) ? ((found = tok), true) : false));
  return found;
}

/** Whether `test` holds for some number token of a JSON text (strings and their escapes skipped). */
function someNumber(text: string, test: (token: string) => boolean): boolean {
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip a string, with its escapes.
      i++;
      while (i < n && text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c ? 2 : 1;
      i++;
      continue;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if ((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) i++;
        else break;
      }
      if (test(text.slice(start, i))) return true;
      continue;
    }
    i++;
  }
  return false;
}

/**
 * A digit, a point and only zeros (`1.0`, `2.000`), or a digit and an exponent (`1e2`): the only
 * lines that may write a whole number as a float. A line it does not match is read by JSON.parse
 * alone.
 */
export const WHOLE_FLOAT_SUSPECT = /\d\.0*(?![0-9])|\d[eE]/;

/** Whether a JSON number token is written as a float (a fraction or an exponent) and its value is whole (or -0). */
export function isWholeFloatToken(token: string): boolean {
  return /[.eE]/.test(token) && Number.isInteger(Number(token));
}

/** Whether a JSON text writes a whole number as a float (strings skipped): {@link isWholeFloatToken} of some number. */
export function hasWholeFloat(text: string): boolean {
  return WHOLE_FLOAT_SUSPECT.test(text) && someNumber(text, isWholeFloatToken);
}

/**
 * Parse JSON text that JSON.parse accepted and whose nesting the caller has bounded (it recurses once
 * a level), as JSON.parse does, except that every whole number written as a float
 * ({@link isWholeFloatToken}) becomes a {@link WholeFloat}. Members are defined as own properties, so
 * a member `__proto__` is a member, as JSON.parse makes it.
 */
export function parseMarkingWholeFloats(text: string): unknown {
  let i = 0;
  const space = () => {
    for (let c = text.charCodeAt(i); c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d; c = text.charCodeAt(++i));
  };
  const string = (): string => {
    const end = stringEnd(text, i);
    const s = JSON.parse(text.slice(i, end)) as string;
    i = end;
    return s;
  };
  const value = (): unknown => {
    space();
    const c = text.charCodeAt(i);
    if (c === 0x7b) {
      i++;
      const o: Record<string, unknown> = {};
      space();
      if (text.charCodeAt(i) === 0x7d) {
        i++;
        return o;
      }
      for (;;) {
        space();
        const name = string();
        space();
        i++; // the colon
        Object.defineProperty(o, name, { value: value(), enumerable: true, writable: true, configurable: true });
        space();
        if (text.charCodeAt(i++) === 0x7d) return o;
      }
    }
    if (c === 0x5b) {
      i++;
      const a: unknown[] = [];
      space();
      if (text.charCodeAt(i) === 0x5d) {
        i++;
        return a;
      }
      for (;;) {
        a.push(value());
        space();
        if (text.charCodeAt(i++) === 0x5d) return a;
      }
    }
    if (c === 0x22) return string();
    if (c === 0x74) return (i += 4), true;
    if (c === 0x66) return (i += 5), false;
    if (c === 0x6e) return (i += 4), null;
    const start = i;
    for (let d = c; (d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d; d = text.charCodeAt(++i));
    const token = text.slice(start, i);
    return isWholeFloatToken(token) ? new WholeFloat(Number(token)) : Number(token);
  };
  return value();
}

/** Number of members in a parsed JSON value: the own names of every object in it. */
function membersOf(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0;
  let n = 0;
  if (Array.isArray(v)) {
    for (const x of v) n += membersOf(x);
    return n;
  }
  for (const k in v as Record<string, unknown>) n += 1 + membersOf((v as Record<string, unknown>)[k]);
  return n;
}

/** The end (one past the closing quote) of the JSON string that starts at `q` in valid JSON text. */
function stringEnd(text: string, q: number): number {
  for (let j = q + 1; ; ) {
    const k = text.indexOf('"', j);
    if (k < 0) return text.length;
    let b = k - 1;
    while (text.charCodeAt(b) === 0x5c) b--;
    if ((k - 1 - b) % 2 === 0) return k + 1; // an even run of backslashes: the quote closes
    j = k + 1;
  }
}

/**
 * Lines longer than this (characters) are measured before `JSON.parse`, their nesting and their
 * values ({@link tooDeepOrLarge}): a line of 16 MiB nested 8 million levels deep took 897 MB to
 * parse before the depth check of `jcs` could refuse it, and one object of 1.2 million members
 * 566 MB. A shorter line parses into a few megabytes whatever it holds.
 */
export const DEPTH_SCAN_FROM = 64 << 10;

/**
 * Most values (members and array elements, nested ones included) in one JSON record: 262,144,
 * at a few hundred bytes of heap each when parsed, tens of megabytes. A tabular record holds far
 * fewer (an embedding of 4,096 numbers is 4,096).
 */
export const MAX_RECORD_VALUES = 1 << 18;

/**
 * Why a line (to parse as JSON) is refused before parsing: it opens more than `o.depth` arrays or
 * objects inside one another, or holds more than `o.values` values (commas, `[` and `{`,
 * outside strings); undefined when neither.
 */
export function tooDeepOrLarge(text: string, o: { depth: number; values: number }): 'depth' | 'values' | undefined {
  let depth = 0;
  let values = 0;
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      i = stringEnd(text, i);
      continue;
    }
    if (c === 0x5b || c === 0x7b) {
      if (++depth > o.depth) return 'depth';
      if (++values > o.values) return 'values';
    } else if (c === 0x2c) {
      if (++values > o.values) return 'values';
    } else if (c === 0x5d || c === 0x7d) depth--;
    i++;
  }
  return undefined;
}

/** Every colon in the text, strings included: at least one per member written. */
function colonsIn(text: string): number {
  let n = 0;
  for (let i = text.indexOf(':'); i >= 0; i = text.indexOf(':', i + 1)) n++;
  return n;
}

/**
 * Refuse JSON text (already parsed into `value`) that names a member twice in one object:
 * JSON.parse keeps the last value, other readers the first, so the record would not be what every
 * reader reads. Cheap first: the colons of the text are at least the members written, so when they
 * equal the members parsed none was written twice (about 0.04 µs a typical line); only otherwise
 * is the text scanned by core `findDuplicateMember` (about 0.15 µs).
 * @param what what names the member, for the message ("an object", "a JSON object")
 * @throws SnapError `RECORDS_MALFORMED`
 */
function refuseDuplicateMember(text: string, value: unknown, what: string): void {
  if (colonsIn(text) === membersOf(value)) return;
  const dup = findDuplicateMember(text);
  if (dup?.depth) throw new SnapError('RECORDS_MALFORMED', `values nested deeper than ${MAX_DEPTH} levels`);
  if (dup) throw new SnapError('RECORDS_MALFORMED', `${what} names the member ${JSON.stringify(dup.name)} twice (RFC 8785 reads I-JSON, RFC 7493: names are unique)`);
}

/** Whether a member name is one JavaScript lists before the others in an object, whatever its place (an array index: `0`, `17`; not `01`, `-1`). */
const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;

/**
 * The names of the top-level members of a JSON object text (valid JSON, as JSON.parse took it), in
 * the order the text writes them. `Object.keys` of the parsed object lists names that are array
 * indices (`"2"`) first; Python's `json`, pandas and pyarrow keep the text's order.
 */
export function memberNamesInTextOrder(text: string): string[] {
  const names: string[] = [];
  let depth = 0;
  let expectName = false;
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const end = stringEnd(text, i);
      if (depth === 1 && expectName) names.push(JSON.parse(text.slice(i, end)) as string);
      expectName = false;
      i = end;
      continue;
    }
    if (c === 0x7b || c === 0x5b) {
      depth++;
      expectName = depth === 1 && c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x2c && depth === 1) expectName = true;
    i++;
  }
  return names;
}

/**
 * The columns of a JSONL file as pandas.read_json(lines=True), a DataFrame of `json.loads` lines and
 * pyarrow's (Hugging Face datasets') JSON reader make them: every top-level member name, in order
 * of first appearance across lines (FORMAT §19.11). Fed each line's names as `ObjectShapes` holds
 * them (`shapeNames`: the same array while lines keep one shape), a line of the shape before costs
 * one comparison.
 */
class FirstAppearance {
  private readonly seen = new Set<string>();
  private last: readonly string[] | undefined;
  /** More names than a column object holds: no order is signed. */
  over = false;

  add(names: readonly string[], text: string): void {
    if (this.over || names === this.last) return;
    this.last = names;
    if (names.every((n) => this.seen.has(n))) return;
    for (const n of names.some((x) => ARRAY_INDEX.test(x)) ? memberNamesInTextOrder(text) : names) this.seen.add(n);
    if (this.seen.size > MAX_SCHEMA_COLUMNS) this.over = true;
  }

  /** The columns in order, each {@link JSONL_COLUMN_TYPE}; undefined when over a bound of the column object. */
  columns(): ColumnType[] | undefined {
    return this.over ? undefined : delimitedColumnTypes([...this.seen], JSONL_COLUMN_TYPE);
  }
}

/**
 * Read the records of a JSON Lines file into `sink`, and its columns (top-level member names in
 * order of first appearance, {@link FirstAppearance}) for its column object.
 * @throws SnapError `RECORDS_MALFORMED` | `RECORDS_LIMIT` | `RECORDS_KEY_MISSING` |
 *   `RECORDS_KEY_EMPTY` | `RECORDS_LABEL_MISSING` | `NOT_FOUND` | `IO_ERROR`, each naming the file,
 *   line and record
 */
export async function readJsonl(abs: string, rel: string, fields: RecordFields, sink: RecordSink): Promise<ReadResult> {
  const hash = newHash();
  let bytes = 0;
  let line = 0;
  let row = 0;
  let carry: Buffer = Buffer.alloc(0);
  let first = true;
  const shapes = new ObjectShapes(fields);
  const columns = new FirstAppearance();
  const takeLine = (text: string) => {
    line++;
    if (first) {
      first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (text.charCodeAt(text.length - 1) === 0x0d) text = text.slice(0, -1);
    row++;
    try {
      // The read loop bounds a line only while its end has not arrived: a line ending in a later
      // chunk could pass by up to a chunk. Each line is held to the bound here (UTF-8 bytes; a
      // string of at most MAX_RECORD_BYTES / 3 UTF-16 units cannot exceed it).
      if (text.length > MAX_RECORD_BYTES / 3 && Buffer.byteLength(text) > MAX_RECORD_BYTES) throw new SnapError('RECORDS_LIMIT', `a line is longer than ${MAX_RECORD_BYTES} bytes`);
      if (text.trim() === '') throw new SnapError('RECORDS_MALFORMED', 'a blank line (every line of a JSONL file is one JSON object)');
      const refused = text.length > DEPTH_SCAN_FROM ? tooDeepOrLarge(text, { depth: MAX_DEPTH, values: MAX_RECORD_VALUES }) : undefined;
      if (refused === 'depth') throw new SnapError('RECORDS_MALFORMED', `values nested deeper than ${MAX_DEPTH} levels`);
      if (refused === 'values') throw new SnapError('RECORDS_LIMIT', `a record holds more than ${MAX_RECORD_VALUES} values (members and array elements)`);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        throw new SnapError('RECORDS_MALFORMED', `not valid JSON (${(e as Error).message})`);
      }
      if (NUMBER_SUSPECT.test(text)) {
        if (hasInexactInteger(text)) throw new SnapError('RECORDS_MALFORMED', 'an integer beyond ±2^53 cannot be read exactly as a JSON number; write it as a string');
        if (hasUnderflow(text)) throw new SnapError('RECORDS_MALFORMED', 'a number too small for a double would be read as 0 (as one too large is not finite); write it as a string');
        const overlong = hasOverlongWholeFloat(text);
        if (overlong !== undefined) {
          const value = Number(overlong);
          const whole = Object.is(value, -0) ? '-0.0' : Number.isSafeInteger(value) ? `${value}.0` : String(value);
          throw new SnapError('RECORDS_MALFORMED', `the number ${overlong} is written with more digits than a double holds, and rounds to a whole number: JSON.parse and Python's json read the float ${whole}, while pandas.read_json, whose parser does not round correctly, may read another number across the integer (0.99999999999999999999 as 0.9999999999999991, 0 to astype(int)); write it as ${whole}, or as a string`);
        }
      }
      // JSON.parse reads 1.0 as 1; Python's json as a float. Such a line is parsed again, keeping which
      // (form 2) — unless nested deeper than the forms take, which they then refuse on JSON.parse's value.
      const marked = hasWholeFloat(text) && tooDeepOrLarge(text, { depth: 2 * MAX_DEPTH, values: Infinity }) === undefined ? parseMarkingWholeFloats(text) : value;
      const forms = shapes.forms(marked); // (nesting checked here, before membersOf recurses)
      refuseDuplicateMember(text, value, 'an object');
      columns.add(shapes.shapeNames, text);
      sink(forms, row, line);
    } catch (e) {
      throw located(e, rel, { line, row });
    }
  };
  const takeText = (buf: Buffer) => {
    if (!isUtf8(buf)) {
      const at = lineOfInvalidUtf8(buf, line + 1);
      throw new SnapError('RECORDS_MALFORMED', `${rel}: line ${at}: not valid UTF-8`, { path: rel, line: at });
    }
    const lines = buf.toString('utf8').split('\n');
    for (const l of lines) takeLine(l);
  };
  for await (const chunk of hashedChunks(abs, hash)) {
    bytes += chunk.length;
    const nl = chunk.lastIndexOf(0x0a);
    if (nl < 0) {
      carry = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
      if (carry.length > MAX_RECORD_BYTES + 1) throw new SnapError('RECORDS_LIMIT', `${rel}: line ${line + 1}: a line is longer than ${MAX_RECORD_BYTES} bytes`, { path: rel, line: line + 1 });
      continue;
    }
    // Every line up to the last '\n' of this chunk is complete (0x0A never occurs inside a UTF-8 sequence).
    const head = carry.length === 0 ? chunk.subarray(0, nl) : Buffer.concat([carry, chunk.subarray(0, nl)]);
    carry = chunk.subarray(nl + 1);
    takeText(head);
  }
  if (carry.length > 0) takeText(carry);
  const columnTypes = columns.columns();
  return { sha256: hash.digest('hex'), bytes, records: row, ...(columnTypes ? { columnTypes } : {}) };
}
