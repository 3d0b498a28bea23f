/**
 * Canonical forms of records (docs/FORMAT.md §19.3). A record's fingerprint is the SHA-256 of its
 * canonical form; its feature hash is the SHA-256 of the canonical form without its key and label
 * fields. Every form is RFC 8785 (JCS) JSON of an object, so a reader in any language can recompute
 * it:
 * - CSV / TSV: `{column: raw field string}` — the fields exactly as the file holds them after CSV
 *   unquoting (no trimming, no number parsing), so `1.0` and `1` are different values;
 * - JSONL: the line's object, as RFC 8785 serializes it, except that a whole number the line writes
 *   as a float (`1.0`, `1e2`, `-0.0`: a float to Python's `json`, where `1` is an int) is written
 *   with `.0` ({@link WholeFloat}; canonical form 2 of JSONL);
 * - Parquet: `{column: value}` with the exact value: INT64 as decimal strings, other integers and
 *   floats as JSON numbers, NaN and ±Infinity as the strings `NaN`, `Infinity`, `-Infinity`,
 *   timestamps, times, dates and durations as ISO 8601 text to the nanosecond whatever unit they are
 *   stored in (a timestamp adjusted to UTC ending in `Z`), byte arrays as lowercase hex, UTF-8 strings as
 *   strings, lists and structs as JSON arrays and objects;
 * - files: `{"label": label segment, "path": path without it, "sha256": content digest}`.
 *
 * Pure: strings in, strings out. Errors are SnapErrors without a location; the readers add the file
 * and line.
 */
import { SnapError } from '../core/errors.js';
import { isWellFormed, MAX_LABEL_BYTES } from '../core/records.js';
import { utf8Length } from '../core/paths.js';

/** Longest key (the RFC 8785 text of its value array), in UTF-8 bytes. */
export const MAX_KEY_BYTES = 4096;
/** Deepest nesting of a JSON or Parquet value. */
export const MAX_DEPTH = 64;

function malformed(why: string): never {
  throw new SnapError('RECORDS_MALFORMED', why);
}

/** RFC 8785 (JCS) serialization of a string: ECMAScript JSON.stringify of a well-formed string. */
export function jcsString(s: string): string {
  const t = JSON.stringify(s);
  // JSON.stringify writes a lone surrogate as a \u escape: only then is the (slower) check needed.
  if (t.indexOf('\\u') >= 0 && !isWellFormed(s)) malformed('a string holds a lone surrogate (not valid Unicode)');
  return t;
}

/**
 * A whole number that a JSON text writes as a float — with a fraction or an exponent (`1.0`, `1e2`,
 * `-0.0`) — as the JSONL reader hands it on (docs/FORMAT.md §19.3, JSONL form 2). Python's `json`
 * reads such a literal as a `float` and `1` as an `int`: equal under `==`, but another type, another
 * `str()` (`"1.0"`), another JSON dump. RFC 8785 writes both `1`, so a label changed from `1` to
 * `1.0` changed no fingerprint and no label text. Its {@link text} is the RFC 8785 number followed
 * by `.0` (`1.0`, `100.0`; `-0.0` for negative zero; a number of 10^21 or more keeps its exponent,
 * `1e+21`, which no integer snap reads can have): valid JSON that no integer serializes to.
 */
export class WholeFloat {
  /** The value (a whole number, or -0). */
  readonly value: number;
  /** Its text in a canonical form, in a label and in the `--json` record: `1.0`, `-0.0`, `1e+21`. */
  readonly text: string;
  constructor(value: number) {
    this.value = value;
    const t = JSON.stringify(value);
    this.text = Object.is(value, -0) ? '-0.0' : t.includes('e') ? t : `${t}.0`;
  }
}

/**
 * RFC 8785 (JCS) serialization of a JSON value as `JSON.parse` returns it: members sorted by UTF-16
 * code units, numbers in ECMAScript form, strings escaped as JSON.stringify does. Equal to the
 * `canonicalize` package on every JSON value (a property test checks this); written here because it
 * runs once per record.
 * @throws SnapError `RECORDS_MALFORMED` for a lone surrogate, a non-finite number, a value that is
 *   not JSON, or nesting deeper than {@link MAX_DEPTH}
 */
export function jcs(v: unknown, depth = 0): string {
  switch (typeof v) {
    case 'string':
      return jcsString(v);
    case 'number':
      if (!Number.isFinite(v)) malformed('a number is not finite');
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'null';
      if (v instanceof WholeFloat) return v.text;
      if (depth >= MAX_DEPTH) malformed(`values nested deeper than ${MAX_DEPTH} levels`);
      if (Array.isArray(v)) {
        let s = '[';
        for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + jcs(v[i], depth + 1);
        return s + ']';
      }
      const o = v as Record<string, unknown>;
      const names = Object.keys(o).sort();
      let s = '{';
      for (let i = 0; i < names.length; i++) {
        const k = names[i] as string;
        s += (i ? ',' : '') + jcsString(k) + ':' + jcs(o[k], depth + 1);
      }
      return s + '}';
    }
    default:
      return malformed(`a value of type ${typeof v} has no JSON form`);
  }
}

/** The three texts every record yields: the inputs of its fingerprint, feature hash and key. */
export interface RecordForms {
  /** Canonical form of the whole record (UTF-8 of it → fingerprint). */
  canonical: string;
  /** Canonical form without key and label fields (→ feature hash). */
  features: string;
  /** RFC 8785 array of the key values (identity `key` / `path`); undefined otherwise. */
  key: string | undefined;
  /** The label as text; undefined without a label. */
  label: string | undefined;
}

/** How one record set is read: its key fields and label field. */
export interface RecordFields {
  /** Key fields, in order; empty or undefined: no declared key. */
  key?: readonly string[];
  /** The label field. */
  label?: string;
}

/** Most column names an error message lists. */
const MAX_LISTED_COLUMNS = 32;
/** Most characters of one column name an error message shows. */
const MAX_LISTED_NAME = 64;

/**
 * Column names for an error message: at most {@link MAX_LISTED_COLUMNS}, each JSON-quoted and cut
 * at {@link MAX_LISTED_NAME} characters (a header of 10,000 long names made a message of megabytes).
 */
export function listColumns(names: readonly string[]): string {
  const shown = names.slice(0, MAX_LISTED_COLUMNS).map((n) => JSON.stringify(n.length > MAX_LISTED_NAME ? `${n.slice(0, MAX_LISTED_NAME)}…` : n));
  return shown.join(', ') + (names.length > MAX_LISTED_COLUMNS ? ` and ${names.length - MAX_LISTED_COLUMNS} more` : '');
}

function checkLabel(label: string): string {
  if (utf8Length(label) > MAX_LABEL_BYTES) throw new SnapError('RECORDS_LIMIT', `a label is longer than ${MAX_LABEL_BYTES} bytes`);
  return label;
}

function checkKey(text: string): string {
  if (utf8Length(text) > MAX_KEY_BYTES) throw new SnapError('RECORDS_LIMIT', `a key is longer than ${MAX_KEY_BYTES} bytes`);
  return text;
}

/**
 * The shape of a CSV or TSV file, from its header row: which column is which, precomputed so that
 * each row costs one string concatenation per field.
 */
export class CsvShape {
  readonly columns: readonly string[];
  private readonly order: { index: number; prefix: string; feature: boolean }[];
  private readonly keyIndex: number[];
  private readonly labelIndex: number;

  /**
   * @param header the header row's fields
   * @throws SnapError `RECORDS_MALFORMED` (a column named twice, or a lone surrogate in a name) |
   *   `RECORDS_KEY_MISSING` (a key column not in the header) | `RECORDS_LABEL_MISSING` (the label column not in the header)
   */
  constructor(header: readonly string[], fields: RecordFields) {
    const seen = new Set<string>();
    for (const h of header) {
      if (seen.has(h)) malformed(`the header names column ${JSON.stringify(h)} twice`);
      seen.add(h);
    }
    this.columns = header;
    const idx = (name: string) => header.indexOf(name);
    this.keyIndex = (fields.key ?? []).map((k) => {
      const i = idx(k);
      if (i < 0) throw new SnapError('RECORDS_KEY_MISSING', `key column ${JSON.stringify(k)} is not in the header (columns: ${listColumns(header)})`, { column: k });
      return i;
    });
    this.labelIndex = fields.label === undefined ? -1 : idx(fields.label);
    if (fields.label !== undefined && this.labelIndex < 0) {
      throw new SnapError('RECORDS_LABEL_MISSING', `label column ${JSON.stringify(fields.label)} is not in the header (columns: ${listColumns(header)})`, { column: fields.label });
    }
    const names = header.map((h, index) => ({ h, index })).sort((a, b) => (a.h < b.h ? -1 : a.h > b.h ? 1 : 0));
    this.order = names.map(({ h, index }) => ({ index, prefix: jcsString(h) + ':', feature: index !== this.labelIndex && !this.keyIndex.includes(index) }));
  }

  /**
   * The forms of one row (as many fields as the header, raw strings).
   * @throws SnapError `RECORDS_KEY_EMPTY` | `RECORDS_LIMIT` | `RECORDS_MALFORMED`
   */
  forms(row: readonly string[]): RecordForms {
    let canonical = '{';
    let features = '{';
    for (let i = 0; i < this.order.length; i++) {
      const o = this.order[i] as (typeof this.order)[number];
      const member = o.prefix + JSON.stringify(row[o.index] as string);
      canonical += (i ? ',' : '') + member;
      if (o.feature) features += (features.length > 1 ? ',' : '') + member;
    }
    let key: string | undefined;
    if (this.keyIndex.length > 0) {
      key = '[';
      for (let j = 0; j < this.keyIndex.length; j++) {
        const v = row[this.keyIndex[j] as number] as string;
        if (v === '') throw new SnapError('RECORDS_KEY_EMPTY', `key column ${JSON.stringify(this.columns[this.keyIndex[j] as number])} is empty`);
        key += (j ? ',' : '') + JSON.stringify(v);
      }
      key = checkKey(key + ']');
    }
    return { canonical: canonical + '}', features: features + '}', key, label: this.labelIndex < 0 ? undefined : checkLabel(row[this.labelIndex] as string) };
  }
}

/** Text of a JSON label value: a string as itself, a number or boolean as its RFC 8785 form, a {@link WholeFloat} as its text (`1.0`). */
function labelText(v: unknown, name: string): string {
  if (typeof v === 'string') return checkLabel(v);
  if (typeof v === 'number' || typeof v === 'boolean') return jcs(v);
  if (v instanceof WholeFloat) return v.text;
  if (v === undefined) throw new SnapError('RECORDS_LABEL_MISSING', `the record has no label field ${JSON.stringify(name)}`, { field: name });
  throw new SnapError('RECORDS_LABEL_MISSING', `label field ${JSON.stringify(name)} is ${v === null ? 'null' : 'not a string, number or boolean'}`, { field: name });
}

/** One member of an object shape: its name, its canonical `"name":` prefix, whether it is a feature. */
interface ShapeMember {
  name: string;
  prefix: string;
  feature: boolean;
}

/**
 * The forms of JSON object records (JSONL lines, Parquet rows after {@link parquetValue}), with the
 * sorted member names and their canonical prefixes kept from one record to the next while records
 * have the same members in the same order (the usual case: one writer, one shape). Key values must
 * be strings (non-empty), numbers or booleans.
 */
export class ObjectShapes {
  private names: string[] = [];
  private order: ShapeMember[] = [];
  private readonly keyFields: readonly string[];

  constructor(private readonly fields: RecordFields) {
    this.keyFields = fields.key ?? [];
  }

  /**
   * The own names (as Object.keys gives them) of the last record {@link forms} took: the same array
   * while records keep one shape, a new one when a record's names differ from the record before.
   */
  get shapeNames(): readonly string[] {
    return this.names;
  }

  /** The sorted members of a record whose own names are `names` (as Object.keys gives them). */
  private shape(names: string[]): ShapeMember[] {
    const prev = this.names;
    let same = prev.length === names.length;
    for (let i = 0; same && i < names.length; i++) same = prev[i] === names[i];
    if (same) return this.order;
    const sorted = [...names].sort();
    this.order = sorted.map((name) => ({ name, prefix: jcsString(name) + ':', feature: name !== this.fields.label && !this.keyFields.includes(name) }));
    this.names = names;
    return this.order;
  }

  /**
   * The forms of one record.
   * @throws SnapError `RECORDS_MALFORMED` (not an object, a value with no JSON form) |
   *   `RECORDS_KEY_MISSING` | `RECORDS_KEY_EMPTY` | `RECORDS_LABEL_MISSING` | `RECORDS_LIMIT`
   */
  forms(o: unknown): RecordForms {
    if (o === null || typeof o !== 'object' || Array.isArray(o)) malformed('a record must be a JSON object');
    const rec = o as Record<string, unknown>;
    const fields = this.fields;
    const keyFields = this.keyFields;
    const order = this.shape(Object.keys(rec));
    let canonical = '{';
    let features = '{';
    for (let i = 0; i < order.length; i++) {
      const m = order[i] as ShapeMember;
      const member = m.prefix + jcs(rec[m.name], 1);
      canonical += (i ? ',' : '') + member;
      if (m.feature) features += (features.length > 1 ? ',' : '') + member;
    }
    let key: string | undefined;
    if (keyFields.length > 0) {
      key = '[';
      for (let j = 0; j < keyFields.length; j++) {
        const k = keyFields[j] as string;
        if (!Object.prototype.hasOwnProperty.call(rec, k)) throw new SnapError('RECORDS_KEY_MISSING', `the record has no key field ${JSON.stringify(k)}`, { field: k });
        const v = rec[k];
        if (v === null || v === '') throw new SnapError('RECORDS_KEY_EMPTY', `key field ${JSON.stringify(k)} is ${v === null ? 'null' : 'empty'}`, { field: k });
        // A key is its value: 1.0 is the key 1 (one key to Python too), its record's fingerprint tells them apart.
        if (v instanceof WholeFloat) {
          key += (j ? ',' : '') + jcs(v.value);
          continue;
        }
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') malformed(`key field ${JSON.stringify(k)} is not a string, number or boolean`);
        key += (j ? ',' : '') + jcs(v);
      }
      key = checkKey(key + ']');
    }
    const label = fields.label === undefined ? undefined : labelText(Object.prototype.hasOwnProperty.call(rec, fields.label) ? rec[fields.label] : undefined, fields.label);
    return { canonical: canonical + '}', features: features + '}', key, label };
  }
}

/**
 * The forms of one JSON object record (see {@link ObjectShapes}; a reader of many records keeps one
 * ObjectShapes instead).
 * @throws SnapError `RECORDS_MALFORMED` (not an object, a value with no JSON form) |
 *   `RECORDS_KEY_MISSING` | `RECORDS_KEY_EMPTY` | `RECORDS_LABEL_MISSING` | `RECORDS_LIMIT`
 */
export function objectForms(o: unknown, fields: RecordFields): RecordForms {
  return new ObjectShapes(fields).forms(o);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lowercase hex of bytes. */
function hexOf(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i] as number];
  return s;
}

/**
 * A Parquet TIMESTAMP value (or INT96), its unit applied: nanoseconds since 1970-01-01T00:00:00 (on
 * the UTC time line when its column is adjusted to UTC, else a local wall-clock time).
 */
export class ParquetInstant {
  constructor(readonly ns: bigint) {}
}

/** A Parquet DATE value: days since 1970-01-01. */
export class ParquetDate {
  constructor(readonly days: number) {}
}

const NS_PER_DAY = 86_400_000_000_000n;

/**
 * ISO 8601 calendar date of a day number (days since 1970-01-01, proleptic Gregorian): `YYYY-MM-DD`
 * for the years 0000 to 9999, and a sign and at least six digits for the year outside them
 * (`+275760-09-13`, `-000001-12-31`: ISO 8601's expanded years, as ECMAScript's `toISOString` writes
 * them). Exact for any whole number of days a JavaScript number holds (H. Hinnant,
 * "chrono-Compatible Low-Level Date Algorithms", `civil_from_days`).
 */
export function isoDate(days: number): string {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097; // [0, 146096]
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365); // [0, 399]
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100)); // [0, 365]
  const mp = Math.floor((5 * doy + 2) / 153); // [0, 11], from March
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const year = y >= 0 && y <= 9999 ? String(y).padStart(4, '0') : (y < 0 ? '-' : '+') + String(Math.abs(y)).padStart(6, '0');
  return `${year}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** `HH:MM:SS.nnnnnnnnn` of a time of day in nanoseconds, 0 ≤ ns < 86,400 s. */
function clockOf(ns: bigint): string {
  const two = (x: bigint) => String(x).padStart(2, '0');
  const s = ns / 1_000_000_000n;
  return `${two(s / 3600n)}:${two((s / 60n) % 60n)}:${two(s % 60n)}.${String(ns % 1_000_000_000n).padStart(9, '0')}`;
}

/**
 * ISO 8601 text of a timestamp, to the nanosecond whatever unit it was stored in:
 * `2020-01-01T00:00:00.123000000Z` for an instant adjusted to UTC, without the `Z` for a local
 * (wall-clock) time — pyarrow reads the first as an aware datetime and the second as a naive one.
 * Years as {@link isoDate} writes them.
 */
export function isoTimestamp(ns: bigint, utc: boolean): string {
  let days = ns / NS_PER_DAY;
  let rest = ns % NS_PER_DAY;
  if (rest < 0n) {
    rest += NS_PER_DAY;
    days -= 1n;
  }
  return `${isoDate(Number(days))}T${clockOf(rest)}${utc ? 'Z' : ''}`;
}

/**
 * ISO 8601 text of a Parquet TIME, to the nanosecond: `HH:MM:SS.nnnnnnnnn`.
 * @throws SnapError `RECORDS_MALFORMED` for a time outside 00:00 to 24:00 (Parquet LogicalTypes.md
 *   "TIME": a time of day; pandas refuses one, while pyarrow's to_pylist() reads it modulo a day)
 */
export function isoTime(ns: bigint): string {
  if (ns < 0n || ns >= NS_PER_DAY) malformed(`a TIME value of ${ns} nanoseconds is not a time of day`);
  return clockOf(ns);
}

/**
 * ISO 8601 text of a duration, to the nanosecond whatever unit it was stored in:
 * `PT1.000000000S`, `-PT0.000000001S` (a sign before a negative one, as ISO 8601-2 allows).
 */
export function isoDuration(ns: bigint): string {
  const abs = ns < 0n ? -ns : ns;
  return `${ns < 0n ? '-' : ''}PT${abs / 1_000_000_000n}.${String(abs % 1_000_000_000n).padStart(9, '0')}S`;
}

/**
 * A Parquet value as hyparquet returns it (with the parsers of `read-parquet.ts`), turned into the
 * JSON value its canonical form uses: bigint → decimal string; NaN, ±Infinity → `"NaN"`,
 * `"Infinity"`, `"-Infinity"`; {@link ParquetInstant} → {@link isoTimestamp} text (with `Z`
 * unless `local`); {@link ParquetDate} → {@link isoDate} text; byte arrays → lowercase hex; typed
 * arrays → arrays; objects and arrays recursively; undefined → null.
 * @param local whether the timestamps in `v` are local times (its column's TIMESTAMP is not
 *   adjusted to UTC, or is INT96)
 * @throws SnapError `RECORDS_UNSUPPORTED` for a value of another kind (e.g. a Date from a parser
 *   this module did not set); `RECORDS_MALFORMED` for nesting deeper than {@link MAX_DEPTH}
 */
export function parquetValue(v: unknown, depth = 0, local = false): unknown {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'bigint':
      return v.toString();
    case 'number':
      // -0 as the string "-0": RFC 8785 writes the number -0 as 0, and a float that turned 0 into
      // -0 (str(-0.0) is '-0.0' in Python; 1/x flips sign) changed no record to snap.
      return Object.is(v, -0) ? '-0' : Number.isFinite(v) ? v : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
    case 'object': {
      if (depth >= MAX_DEPTH) malformed(`values nested deeper than ${MAX_DEPTH} levels`);
      if (v instanceof ParquetInstant) return isoTimestamp(v.ns, !local);
      if (v instanceof ParquetDate) return isoDate(v.days);
      if (v instanceof Uint8Array) return hexOf(v);
      if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<unknown>, (x) => parquetValue(x, depth + 1, local));
      if (Array.isArray(v)) return v.map((x) => parquetValue(x, depth + 1, local));
      if (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null) {
        const out: Record<string, unknown> = Object.create(null); // a column named __proto__ stays a column
        for (const [k, x] of Object.entries(v)) out[k] = parquetValue(x, depth + 1, local);
        return out;
      }
      throw new SnapError('RECORDS_UNSUPPORTED', `a Parquet value of kind ${Object.prototype.toString.call(v)} has no canonical form`);
    }
    default:
      throw new SnapError('RECORDS_UNSUPPORTED', `a Parquet value of type ${typeof v} has no canonical form`);
  }
}

/**
 * The forms of one file of a `files` set: the record `{"label", "path", "sha256"}` with key
 * `[path]` (the path without its label segment) and features `{"sha256"}`.
 * @param path the dataset path
 * @param sha256 its content digest (64 hex)
 * @param labelSegment which `/`-separated segment is the label (0-based)
 * @returns undefined when the path has no such segment (or only that segment)
 */
export function fileForms(path: string, sha256: string, labelSegment: number): RecordForms | undefined {
  const segs = path.split('/');
  if (segs.length <= labelSegment + 1) return undefined;
  const label = checkLabel(segs[labelSegment] as string);
  segs.splice(labelSegment, 1);
  const rest = segs.join('/');
  const p = jcsString(rest);
  return {
    canonical: `{"label":${jcsString(label)},"path":${p},"sha256":"${sha256}"}`,
    features: `{"sha256":"${sha256}"}`,
    key: checkKey(`[${p}]`),
    label,
  };
}
