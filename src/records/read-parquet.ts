/**
 * Parquet records (docs/FORMAT.md §19.2), through hyparquet (pure JavaScript) with
 * hyparquet-compressors, one row group at a time. Values keep their exact type (see
 * `canonical.ts` `parquetValue`): the timestamp and date parsers here return the stored integers
 * with their unit applied (`ParquetInstant`, `ParquetDate`), times are made text from their column's
 * unit, strings are decoded as strict UTF-8, other byte arrays stay bytes.
 *
 * Parquet is not read as a stream (its footer comes first), so the file is hashed in a first pass
 * over one open descriptor, and its size, inode and times are compared after the rows were read.
 */
import type { FileHandle } from 'node:fs/promises';
import { parquetMetadata, parquetRead, parquetSchema, type AsyncBuffer, type Compressors, type FileMetaData, type ParquetParsers } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { decompressPage } from 'hyparquet/src/datapage.js';
import { readPlain } from 'hyparquet/src/plain.js';
import { deltaBinaryUnpack } from 'hyparquet/src/delta.js';
import { readRleBitPackedHybrid } from 'hyparquet/src/encoding.js';
import { compressors } from 'hyparquet-compressors';
import { Decompress } from 'fzstd';
import { SnapError, isSnapError } from '../core/errors.js';
import { isoDuration, isoTime, listColumns, MAX_DEPTH, ObjectShapes, ParquetDate, ParquetInstant, parquetValue, type RecordFields } from './canonical.js';
import { located, newHash, openDataFile, MAX_COLUMNS, READ_CHUNK, type ReadResult, type RecordSink } from './read-common.js';
import { ioError } from '../io/errors.js';
import { walkThriftStruct } from './thrift-bounds.js';
import { categoriesWithinBound, parquetColumnTypes, type ColumnType, type TypedNode } from './column-types.js';
import { HF_METADATA_KEY, hfClassLabels, MAX_CLASS_NAME_BYTES, MAX_CLASS_NAMES, type ClassLabels } from './class-names.js';
import { arrowSchemaFields, holdsDuration, TYPE_LISTS, TYPE_STRINGS, TYPE_STRUCT, type ArrowField, type ArrowKeyValue } from './arrow-schema.js';
import { utf8Length } from '../core/paths.js';

/** Largest row group, uncompressed, in bytes (a row group is held in memory while it is read). */
export const MAX_ROW_GROUP_BYTES = 256 << 20;
/**
 * Most values a row group may decode to, every page of every column together (a row group's
 * columns are held decoded, one JS value each, while its rows are read). Run-length and dictionary
 * encodings hold millions of equal values in a few bytes, so the byte bound alone does not bound
 * this; at 4 bytes a value (INT32) a row group of {@link MAX_ROW_GROUP_BYTES} holds 64 Mi values.
 */
export const MAX_ROW_GROUP_VALUES = 64 << 20;
/**
 * Most bytes a row group's column chunks may declare as stored (`total_compressed_size`, summed):
 * each chunk is read whole into memory. Its pages hold at most {@link MAX_ROW_GROUP_BYTES}
 * uncompressed, which no codec Parquet uses expands by more than a sixth (Snappy's worst case,
 * n + n/6 + 32), and page headers are small; a quarter more is room enough.
 */
export const MAX_ROW_GROUP_STORED_BYTES = MAX_ROW_GROUP_BYTES + MAX_ROW_GROUP_BYTES / 4;
/** Largest footer (file metadata), in bytes. */
export const MAX_METADATA_BYTES = 64 << 20;
/**
 * Most Thrift values (fields, list elements, structs) the footer may hold, counted before it is
 * decoded (`thrift-bounds.ts`). hyparquet makes a JavaScript value of each: about 35 bytes of heap
 * a value for a real footer (100 or 1,000 columns with statistics: 2.7 bytes a value on disk, so
 * this admits footers of about 22 MB, thousands of row groups of 1,000 columns), and about 200 for
 * one-byte empty structs — 1.6 GB at this bound, where a 60 MB footer of them exhausted node's heap.
 */
export const MAX_METADATA_VALUES = 8 << 20;
/** Most Thrift values one page header may hold (a real one has about 20). */
export const MAX_PAGE_HEADER_VALUES = 4096;
/**
 * Deepest nesting of a schema (groups in groups, the root not counted): three levels for each of
 * the {@link MAX_DEPTH} levels a value may nest (a LIST is a group, a repeated group and its
 * element), so no schema whose values could be read is refused. hyparquet builds the schema tree by
 * recursion, and each leaf's path is as long as its depth: a 50 KB footer nesting 5,000 groups took
 * 400 MB and ended in "Maximum call stack size exceeded".
 */
export const MAX_SCHEMA_DEPTH = 3 * MAX_DEPTH;
/**
 * Bytes of values a file may decode to (strings and byte arrays by their length, other values 8
 * bytes each, and {@link ROW_DECODED_BYTES} a row, summed over every row): this many for each byte
 * of the file, and at least {@link MIN_DECODED_BYTES}; `$SNAP_PARQUET_DECODED_RATIO` (a whole number)
 * raises or lowers the ratio. Dictionary and run-length encodings repeat one stored value in row
 * after row, and every row's canonical form is made and hashed (and indexed: a line in the store):
 * an 8 KB file whose dictionary held one value of 8 MiB, named by 200,000 rows, was 1.6 TB of work
 * (the seal ran for hours, holding the store's lock); a 2 KB file of 33 Mi delta-encoded ids sealed
 * in 194 s into 6 GB of index. Real files decode to a few times their size, more under a dictionary:
 * 1 M rows that each repeat a 600-character system prompt, 8.9 MB, decode to 67 ×.
 */
export const DECODED_BYTES_PER_STORED_BYTE = 256;
/** See {@link DECODED_BYTES_PER_STORED_BYTE}: the budget of a small file (64 MiB). */
export const MIN_DECODED_BYTES = 64 << 20;
/** See {@link DECODED_BYTES_PER_STORED_BYTE}: what each row counts besides its values (its index line and canonical form's framing). */
export const ROW_DECODED_BYTES = 32;
/**
 * See {@link DECODED_BYTES_PER_STORED_BYTE}: what each level entry of a repeated leaf (an element
 * of a LIST or another repeated field, or an empty or null one; a list of structs has an entry per field) counts before
 * its row group is decoded, as its data pages declare them. hyparquet holds a row group's entries at
 * once, about 110 bytes each for a list of numbers or of empty strings (its level arrays and the
 * assembled lists), where the rows, made after, count 8 bytes an element or a string's length: a
 * 323-byte file whose one row listed 8 M zeros counted 64 MB and sealed at a 950 MB peak (30 M, at
 * 2.56 GB). Counted so, a file within its budget holds at most 1/32 of it in entries.
 */
export const REPEATED_ENTRY_DECODED_BYTES = 32;
/** The environment variable that sets {@link DECODED_BYTES_PER_STORED_BYTE} for one run. */
const DECODED_RATIO_ENV = 'SNAP_PARQUET_DECODED_RATIO';
/** Most digits of a DECIMAL that hyparquet's doubles hold exactly. */
const MAX_DECIMAL_DIGITS = 15;
const MAGIC = 0x31524150; // "PAR1", little-endian

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decompress a Zstandard page (RFC 8878) into at most `size` bytes, its header's uncompressed size:
 * the frame is decoded a block (at most 128 KiB) at a time and refused at the first block past
 * `size`. hyparquet-compressors' ZSTD (fzstd `decompress`) ignores the size it is given and grows
 * its output for as long as the frame goes on: a 192 KB file whose page declared 12 bytes held
 * run-length blocks of 3,000 MiB, all decoded (6.3 GB peak, 16 s) before hyparquet compared the
 * lengths. Its other codecs already write into an array of the declared size.
 * @returns the bytes decoded (fewer than `size` when the frame is shorter: the caller compares)
 * @throws Error when the frame holds more than `size` bytes, or is not Zstandard
 */
export function zstdBounded(input: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  const decoder = new Decompress((block) => {
    if (block.length > size - at) throw new Error(`a Zstandard frame holds more than the ${size} bytes its page header declares`);
    out.set(block, at);
    at += block.length;
  });
  decoder.push(input, true);
  return at === size ? out : out.subarray(0, at);
}

/**
 * The codecs pages are decompressed with: hyparquet-compressors' gzip, Brotli and LZ4 (each writes
 * into an array of the declared size), Zstandard bounded ({@link zstdBounded}), and Snappy by
 * hyparquet's own decoder (no entry here), which writes into an array of the declared size and
 * refuses a stream of any other length. hysnappy's WebAssembly decoder, which hyparquet-compressors
 * gives, grew a memory that is never given back to the largest page read (a 12 MB file of one row
 * group at the bound: 904 MB peak, 637 MB without it) and returned the declared bytes of a longer
 * stream, the rest unread, without a word.
 */
const { SNAPPY: _wasmSnappy, ...boundedCodecs } = compressors;
const CODECS: Compressors = { ...boundedCodecs, ZSTD: zstdBounded };

/** INT64 -2^63: pandas' NaT, its missing time (and pyarrow's `to_pylist()` of nanoseconds gives NaT). */
const NAT = -(2n ** 63n);

/**
 * `v`, a stored timestamp or duration, unless it is -2^63: Arrow reads a value there and pandas
 * NaT, as it reads a null (`[1970-01-01, NaT, NaT]` of 0, -2^63, null), so a null changed into it,
 * or it into a null, was a record modified to snap and the same record to the training job.
 * @throws SnapError `RECORDS_UNSUPPORTED`
 */
function notNaT(v: bigint, what: 'timestamp' | 'duration'): bigint {
  if (v === NAT) throw new SnapError('RECORDS_UNSUPPORTED', `a ${what} of INT64 -2^63: pandas reads it as NaT, a missing value, and Arrow as a value, which snap does not sign`);
  return v;
}

/**
 * Parsers that keep every value exact: a timestamp as its nanoseconds (its unit applied: the stored
 * integers alone read 2020-01-01T00:00:00.123 in milliseconds and 1970-01-19T06:17:16.800123 in
 * microseconds alike), a date as its day number, strict UTF-8, and a JSON value as its text — as
 * pyarrow and pandas read a column of logical type JSON (a string). Parsed, the texts `1`, `1.0` and
 * ` 1` were one label to snap and three to them. INT96 comes as nanoseconds, and one beyond a signed
 * 64-bit integer of them (the years 1677 to 2262; a TIMESTAMP(NANOS) is an INT64, always within) is
 * `RECORDS_UNSUPPORTED`: Arrow (pyarrow, pandas) reads INT96 in nanoseconds wrapped around 64 bits
 * (3000-01-01 as 1830-11-23T00:50:52.580896768), and hyparquet reads a Julian day or a nanosecond of
 * the day with its top bit set as a negative number, which also lands there.
 */
const PARSERS: Partial<ParquetParsers> = {
  timestampFromMilliseconds: (v: bigint) => new ParquetInstant(notNaT(BigInt(v), 'timestamp') * 1_000_000n),
  timestampFromMicroseconds: (v: bigint) => new ParquetInstant(notNaT(BigInt(v), 'timestamp') * 1_000n),
  timestampFromNanoseconds: (v: bigint) => {
    const ns = notNaT(BigInt(v), 'timestamp');
    if (ns !== BigInt.asIntN(64, ns)) throw new SnapError('RECORDS_UNSUPPORTED', `an INT96 timestamp outside the years 1677 to 2262 (${ns} ns from 1970): Arrow (pyarrow, pandas) reads it in nanoseconds wrapped around 64 bits, another instant, which snap does not sign`);
    return new ParquetInstant(ns);
  },
  dateFromDays: (d: number) => new ParquetDate(d),
  stringFromBytes: (b: Uint8Array) => (b ? strict.decode(b) : b),
  jsonFromBytes: (b: Uint8Array) => (b ? strict.decode(b) : b),
};

async function readFully(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesRead } = await fh.read(buf, off, buf.length - off, position + off);
    if (bytesRead === 0) throw new SnapError('FILE_CHANGED', 'the file became shorter while it was read');
    off += bytesRead;
  }
}

/** Nanoseconds in one unit of a Parquet TIME or TIMESTAMP (LogicalTypes.md `TimeUnit`). */
const NANOS_PER_UNIT: Record<string, bigint> = { MILLIS: 1_000_000n, MICROS: 1_000n, NANOS: 1n };

/**
 * How a file's values are made canonical beyond what the decoder gives (see {@link columnReadings}).
 */
interface Readings {
  /** Top-level columns whose timestamps are local times (not adjusted to UTC, or INT96): written without `Z`. */
  local: Set<string>;
  /** Top-level columns of one value a row (not repeated): a conversion of each value that is not null. */
  flat: Map<string, (v: unknown) => unknown>;
  /** Other leaf columns, by their path (`JSON.stringify`): a conversion of each value that is not null, made on the decoded pages. */
  nested: Map<string, (v: unknown) => unknown>;
}

/** Arrow's reading of an INTEGER of `bits` < 32 stored as INT32: the low bits, as a signed or unsigned number. */
function narrowInteger(bits: 8 | 16, signed: boolean): (v: unknown) => unknown {
  const shift = 32 - bits;
  const mask = (1 << bits) - 1;
  return signed ? (v) => ((v as number) << shift) >> shift : (v) => (v as number) & mask;
}

/**
 * How each column's values are read, as Arrow (pyarrow, pandas) reads them: by the logical type when
 * there is one, else by the converted type (Parquet LogicalTypes.md; a converted TIMESTAMP_MILLIS or
 * TIMESTAMP_MICROS alone is adjusted to UTC, and pyarrow reads INT96 as a naive, local time).
 * hyparquet reads by the converted type first (a timestamp's unit, an integer's sign) or only (a
 * DATE, a JSON text): each leaf's converted type is set here to the one its logical type means —
 * a converted TIMESTAMP_MILLIS beside a logical TIMESTAMP(MICROS) was milliseconds to snap and
 * microseconds to pyarrow, a converted UINT_32 beside a logical INT(32, signed) 4294967295 to snap
 * and -1 to pyarrow — before any row group is read. What the decoder leaves as stored integers is
 * converted from them: a TIME to its text, and an INTEGER of 8 or 16 bits to its low bits, as Arrow
 * casts it (a stored 300 is 44 as UINT_8, a stored 200 is -56 as INT_8).
 * @throws SnapError `RECORDS_MALFORMED` (a converted type of a time, date or timestamp beside a
 *   logical type of another kind, or a type stored in a physical type Parquet does not allow for it) |
 *   `RECORDS_UNSUPPORTED` (a column holding timestamps both adjusted to UTC and not)
 */
function columnReadings(leaves: readonly Leaf[], rel: string): Readings {
  const readings: Readings = { local: new Set(), flat: new Map(), nested: new Map() };
  const utcOf = new Map<string, boolean>();
  const malformed = (leaf: Leaf, why: string) => new SnapError('RECORDS_MALFORMED', `${rel}: column ${JSON.stringify(leaf.path.join('.'))} ${why}`, { path: rel, column: leaf.path.join('.') });
  for (const leaf of leaves) {
    const el = leaf.element as FileMetaData['schema'][number] & { converted_type?: string };
    const lt = el.logical_type as { type?: string; unit?: string; isAdjustedToUTC?: boolean; bitWidth?: number; isSigned?: boolean } | undefined;
    const ct = el.converted_type as string | undefined;
    const top = leaf.path[0] as string;
    const convert = (f: (v: unknown) => unknown) => {
      if (leaf.path.length === 1 && el.repetition_type !== 'REPEATED') readings.flat.set(top, f);
      else readings.nested.set(JSON.stringify(leaf.path), f);
    };
    const ctKind = ct?.startsWith('TIMESTAMP_') ? 'TIMESTAMP' : ct?.startsWith('TIME_') ? 'TIME' : ct?.startsWith('INT_') || ct?.startsWith('UINT_') ? 'INTEGER' : ct;
    const kind = lt?.type ?? ctKind;
    if (lt && (ctKind === 'TIMESTAMP' || ctKind === 'TIME' || ctKind === 'DATE' || ctKind === 'INTEGER') && kind !== ctKind) {
      throw malformed(leaf, `is a ${ct} by its converted type but ${lt.type} by its logical type: Arrow (pyarrow, pandas) reads the logical type, snap's reader the converted type`);
    }
    let utc: boolean | undefined;
    if (kind === 'TIMESTAMP') {
      const unit = lt ? lt.unit : ct === 'TIMESTAMP_MILLIS' ? 'MILLIS' : 'MICROS';
      if (el.type !== 'INT64' || unit === undefined || !(unit in NANOS_PER_UNIT)) throw malformed(leaf, `is a TIMESTAMP of unit ${String(unit)} stored as ${el.type}; Parquet stores one as INT64 in MILLIS, MICROS or NANOS`);
      utc = lt ? lt.isAdjustedToUTC === true : true;
      // What hyparquet reads first: the converted type of the logical type's unit (NANOS has none).
      el.converted_type = unit === 'NANOS' ? undefined : (`TIMESTAMP_${unit}` as never);
    } else if (el.type === 'INT96' && !lt && !ct) {
      utc = false;
    } else if (kind === 'DATE') {
      if (el.type !== 'INT32') throw malformed(leaf, `is a DATE stored as ${el.type}; Parquet stores one as INT32`);
      el.converted_type = 'DATE' as never;
    } else if (kind === 'TIME') {
      const unit = lt ? lt.unit : ct === 'TIME_MILLIS' ? 'MILLIS' : 'MICROS';
      if (unit === undefined || !(unit in NANOS_PER_UNIT) || el.type !== (unit === 'MILLIS' ? 'INT32' : 'INT64')) throw malformed(leaf, `is a TIME of unit ${String(unit)} stored as ${el.type}; Parquet stores one in MILLIS as INT32, in MICROS or NANOS as INT64`);
      const nanos = NANOS_PER_UNIT[unit] as bigint;
      convert((v) => isoTime(BigInt(v as number | bigint) * nanos));
    } else if (kind === 'INTEGER') {
      const bits = lt ? lt.bitWidth : Number(ct?.split('_')[1]);
      const signed = lt ? lt.isSigned === true : ct?.startsWith('INT_') === true;
      if (!(bits === 8 || bits === 16 || bits === 32 || bits === 64) || el.type !== (bits === 64 ? 'INT64' : 'INT32')) throw malformed(leaf, `is an INTEGER of ${String(bits)} bits stored as ${el.type}; Parquet stores one of 8, 16 or 32 bits as INT32, of 64 as INT64`);
      el.converted_type = `${signed ? 'INT' : 'UINT'}_${bits}` as never;
      if (bits === 8 || bits === 16) convert(narrowInteger(bits, signed));
    } else if (lt?.type === 'JSON' || lt?.type === 'STRING' || lt?.type === 'ENUM') {
      // hyparquet reads JSON by its converted type alone (without it the text was read as hex bytes),
      // and a converted UTF8 as text whatever the logical type (Arrow reads an ENUM as bytes).
      el.converted_type = (lt.type === 'STRING' ? 'UTF8' : lt.type) as never;
    } else if (lt?.type === 'UUID' || lt?.type === 'FLOAT16') {
      el.converted_type = undefined;
    }
    if (utc === undefined) continue;
    if (utcOf.has(top) && utcOf.get(top) !== utc) {
      throw new SnapError('RECORDS_UNSUPPORTED', `${rel}: column ${JSON.stringify(top)} holds timestamps adjusted to UTC and timestamps that are not; store them in columns of their own`, { path: rel, column: top });
    }
    utcOf.set(top, utc);
    if (!utc) readings.local.add(top);
  }
  return readings;
}

/**
 * Convert, in place, the values of a decoded page of a leaf column inside a group or repeated
 * (arrays of arrays, one level a repetition): each value that is not null or undefined, by `f`.
 * @throws SnapError `RECORDS_MALFORMED` for nesting deeper than {@link MAX_SCHEMA_DEPTH}
 */
function convertInPlace(data: unknown[], f: (v: unknown) => unknown, depth = 0): void {
  if (depth > MAX_SCHEMA_DEPTH) throw new SnapError('RECORDS_MALFORMED', `values nested deeper than ${MAX_SCHEMA_DEPTH} levels`);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v === null || v === undefined) continue;
    if (Array.isArray(v)) convertInPlace(v, f, depth + 1);
    else data[i] = f(v);
  }
}

/** The key-value metadata key under which pyarrow stores the Arrow schema of a table. */
const ARROW_SCHEMA_KEY = 'ARROW:schema';

/**
 * The leaf columns that pyarrow reads as durations: pyarrow writes a DURATION as a plain INT64 and
 * keeps its unit only in the Arrow schema it stores under `ARROW:schema`, which it applies field by
 * field, by position (not by name), when it has as many fields as the file has top-level columns
 * (`parquet/arrow/schema.cc`, `ApplyOriginalMetadata`). The same integers were 1 s to pyarrow in one
 * file and 1 ms in another that differed only there, and one record to snap. Arrow fields are
 * matched to the schema as Arrow reads it: a struct's members in order, a list's element (a LIST
 * group's repeated group's one child, or a repeated leaf itself).
 * @param units filled with each such leaf's unit (nanoseconds), by the same key
 * @param zones filled with the time zone Arrow gives each timestamp leaf stored adjusted to UTC (the
 *   zone its Arrow field names, when it names one), by the same key: part of its type (§19.11)
 * @param categoricals filled with each top-level column pandas reads as a categorical (a BYTE_ARRAY
 *   leaf whose Arrow field is a dictionary of strings or binaries), name → its `ordered` flag
 * @returns leaf path (`JSON.stringify`) → its conversion: the duration's ISO 8601 text
 * @throws SnapError `RECORDS_MALFORMED` (an Arrow schema that cannot be read — pyarrow refuses the
 *   file too —, or given twice) | `RECORDS_UNSUPPORTED` (a duration whose place in the schema snap
 *   cannot match, or on a column that is not a plain INT64) | `RECORDS_LIMIT`
 */
function arrowDurations(meta: FileMetaData, rel: string, units?: Map<string, bigint>, zones?: Map<string, string>, categoricals?: Map<string, boolean>, extensions?: Map<string, string>): Map<string, (v: unknown) => unknown> {
  const out = new Map<string, (v: unknown) => unknown>();
  const stored = (meta.key_value_metadata ?? []).filter((kv) => kv.key === ARROW_SCHEMA_KEY);
  if (stored.length === 0) return out;
  if (stored.length > 1) throw new SnapError('RECORDS_MALFORMED', `${rel}: its key-value metadata holds "${ARROW_SCHEMA_KEY}" ${stored.length} times`, { path: rel });
  let fields: ArrowField[];
  try {
    fields = arrowSchemaFields(stored[0]?.value ?? '', 4 * MAX_COLUMNS, MAX_SCHEMA_DEPTH);
  } catch (e) {
    throw located(e, rel, {});
  }
  const root = parquetSchema(meta); // its depth checked (checkFieldNames)
  if (fields.length !== root.children.length) return out; // pyarrow applies none of it
  type Node = ReturnType<typeof parquetSchema>;
  const unsupported = (node: Node, why: string) => new SnapError('RECORDS_UNSUPPORTED', `${rel}: column ${JSON.stringify(node.path.join('.'))} ${why} (by its Arrow schema, key-value metadata "${ARROW_SCHEMA_KEY}"), which snap cannot read as pyarrow does`, { path: rel, column: node.path.join('.') });
  const leaf = (f: ArrowField, node: Node) => {
    if (f.timezone !== undefined && zones) {
      // pyarrow gives the zone to a timestamp Parquet stores adjusted to UTC, and to no other column.
      const lt = node.element.logical_type as { type?: string; isAdjustedToUTC?: boolean } | undefined;
      const ct = node.element.converted_type;
      if (lt?.type === 'TIMESTAMP' ? lt.isAdjustedToUTC === true : lt?.type === undefined && (ct === 'TIMESTAMP_MILLIS' || ct === 'TIMESTAMP_MICROS')) zones.set(JSON.stringify(node.path), f.timezone);
    }
    if (f.durationUnit === undefined) {
      if (holdsDuration(f)) throw unsupported(node, 'is a leaf column where its Arrow field holds a duration');
      return;
    }
    const el = node.element;
    const lt = el.logical_type as { type?: string; bitWidth?: number; isSigned?: boolean } | undefined;
    const int64 = el.type === 'INT64' && (lt ? lt.type === 'INTEGER' && lt.bitWidth === 64 && lt.isSigned === true : el.converted_type === undefined || el.converted_type === 'INT_64');
    if (!int64) throw unsupported(node, 'is a duration but not stored as a plain INT64');
    const unit = f.durationUnit;
    units?.set(JSON.stringify(node.path), unit);
    out.set(JSON.stringify(node.path), (v) => isoDuration(notNaT(BigInt(v as bigint), 'duration') * unit));
  };
  const match = (f: ArrowField, node: Node): void => {
    const el = node.element;
    const mismatch = (why: string) => {
      if (holdsDuration(f)) throw unsupported(node, `holds a duration where ${why}`);
    };
    if (node.children.length === 0 && el.repetition_type !== 'REPEATED') return leaf(f, node);
    if (node.children.length === 0 || el.repetition_type === 'REPEATED') {
      // A repeated field outside a LIST group: a list of it (Parquet LogicalTypes.md, "Lists", backward compatibility).
      if (!TYPE_LISTS.has(f.type) || f.children.length !== 1) return mismatch('its Arrow field is not a list');
      return node.children.length === 0 ? leaf(f.children[0] as ArrowField, node) : matchGroup(f.children[0] as ArrowField, node);
    }
    if (el.converted_type === 'LIST') {
      const repeated = node.children[0] as Node;
      if (!TYPE_LISTS.has(f.type) || f.children.length !== 1 || node.children.length !== 1 || repeated.element.repetition_type !== 'REPEATED') return mismatch('its Arrow field and its schema are not both a list');
      // The standard three levels only: a repeated group of one child, neither named "array" nor "<list>_tuple".
      if (repeated.children.length !== 1 || repeated.element.name === 'array' || repeated.element.name === `${el.name}_tuple`) return mismatch('its list is written in a legacy form');
      return match(f.children[0] as ArrowField, repeated.children[0] as Node);
    }
    return matchGroup(f, node);
  };
  const matchGroup = (f: ArrowField, node: Node): void => {
    if (f.type !== TYPE_STRUCT || f.children.length !== node.children.length) {
      if (holdsDuration(f)) throw unsupported(node, 'holds a duration where its Arrow field is not a struct of its members');
      return;
    }
    node.children.forEach((child, i) => match(f.children[i] as ArrowField, child));
  };
  fields.forEach((f, i) => {
    const node = root.children[i] as Node;
    // A top-level BYTE_ARRAY leaf its Arrow field makes a dictionary of strings or binaries: pandas reads a categorical (§19.11).
    if (categoricals && f.dictionary && TYPE_STRINGS.has(f.type) && node.children.length === 0 && node.element.repetition_type !== 'REPEATED' && node.element.type === 'BYTE_ARRAY') categoricals.set(node.element.name, f.dictionary.ordered);
    // A top-level extension type (pandas.period: its stored integers read as periods of its freq) is part of the column's type (§19.11).
    if (extensions && f.extension) extensions.set(node.element.name, extensionText(f.extension));
    match(f, node);
  });
  return out;
}

/** What a column type text ends with for a top-level Arrow extension type: `(extension "pandas.period", "{\"freq\": \"D\"}")`. */
function extensionText(e: { name: string; metadata?: string }): string {
  return `(extension ${JSON.stringify(e.name)}${e.metadata !== undefined ? `, ${JSON.stringify(e.metadata)}` : ''})`;
}

/** The Arrow schema's own metadata of each file's footer read (`arrowSchemaMetadata`), undefined when it has no ARROW:schema. */
const embeddedMetadata = new WeakMap<FileMetaData, ArrowKeyValue[] | undefined>();

/**
 * The metadata of an ARROW:schema's schema (`custom_metadata`), or undefined when the file has no ARROW:schema.
 * @throws SnapError as `arrowDurations` (an Arrow schema that cannot be read, or given twice)
 */
function arrowSchemaMetadata(meta: FileMetaData, rel: string): ArrowKeyValue[] | undefined {
  if (embeddedMetadata.has(meta)) return embeddedMetadata.get(meta);
  const stored = (meta.key_value_metadata ?? []).filter((kv) => kv.key === ARROW_SCHEMA_KEY);
  let out: ArrowKeyValue[] | undefined;
  if (stored.length > 1) throw new SnapError('RECORDS_MALFORMED', `${rel}: its key-value metadata holds "${ARROW_SCHEMA_KEY}" ${stored.length} times`, { path: rel });
  if (stored.length === 1) {
    out = [];
    try {
      arrowSchemaFields(stored[0]?.value ?? '', 4 * MAX_COLUMNS, MAX_SCHEMA_DEPTH, out);
    } catch (e) {
      throw located(e, rel, {});
    }
  }
  embeddedMetadata.set(meta, out);
  return out;
}

/**
 * The values of the table metadata `key` (`huggingface`, `pandas`), as every reader reads them.
 * pyarrow (so pandas and Hugging Face `datasets`) reads a file that has an ARROW:schema with the
 * metadata stored inside that schema, and not the file's key-value metadata, which other readers
 * (and snap) read; pyarrow writes the same values in both places. A file whose two places
 * disagree on `key` (other values, or the key in one place only) reads one way to pyarrow and
 * another to snap: refused.
 * @returns the key-value metadata's values of `key`, in order (none: [])
 * @throws SnapError `RECORDS_MALFORMED` (the two places disagree; an ARROW:schema that cannot be read) | `RECORDS_LIMIT`
 */
function tableMetadata(meta: FileMetaData, key: string, rel: string): string[] {
  const outside = (meta.key_value_metadata ?? []).filter((kv) => kv.key === key).map((kv) => kv.value ?? '');
  const embedded = arrowSchemaMetadata(meta, rel);
  if (embedded === undefined) return outside;
  const inside = embedded.filter((kv) => kv.key === key).map((kv) => kv.value);
  if (inside.length !== outside.length || inside.some((v, i) => v !== outside[i])) {
    const where = (n: number) => (n === 0 ? 'does not have it' : n === 1 ? 'has one value' : `has ${n} values`);
    throw new SnapError('RECORDS_MALFORMED', `${rel}: its metadata "${key}" differs between the key-value metadata (which ${where(outside.length)}) and the Arrow schema stored in "${ARROW_SCHEMA_KEY}" (which ${where(inside.length)}${inside.length > 0 && outside.length > 0 ? ', another' : ''}): pyarrow, pandas and Hugging Face datasets read only the one inside "${ARROW_SCHEMA_KEY}", other readers the other, so the file means two things; pyarrow writes the same in both`, { path: rel });
  }
  return outside;
}

/**
 * The Hugging Face ClassLabel names of the file's top-level columns, and those nested in their
 * structs and lists (class-names.ts, FORMAT §19.11), from its key-value metadata "huggingface".
 * @throws SnapError `RECORDS_MALFORMED` | `RECORDS_LIMIT` | `RECORDS_UNSUPPORTED`
 */
function classNamesOf(meta: FileMetaData, rel: string): ClassLabels {
  const values = tableMetadata(meta, HF_METADATA_KEY, rel);
  return hfClassLabels(values, parquetSchema(meta).children.map((c) => c.element.name), rel);
}

/**
 * numpy_type values of the pandas metadata that pyarrow applies no pandas dtype for (numpy dtypes,
 * pandas_compat `_pandas_supported_numpy_types` and the rest, a categorical, whose reading comes
 * from ARROW:schema): pandas reads the column by its Arrow type.
 */
const NUMPY_DTYPES = /^(?:u?int(?:8|16|32|64)|float(?:16|32|64|128)|complex(?:64|128|256)|object|bool|bytes|category|(?:datetime64|timedelta64)(?:\[[a-z]+\])?)$/;

/** pandas extension dtypes (their numpy_type) whose values are the column's as snap reads them, by the column type (column-types.ts) they go with. */
const PANDAS_DTYPE_TYPES = new Map<string, string>([
  ...['str', 'string', 'string[python]', 'string[pyarrow]', 'string[pyarrow_numpy]', 'large_string[pyarrow]', 'string_view[pyarrow]'].map((d): [string, string] => [d, 'STRING']),
  ...[8, 16, 32, 64].flatMap((n): [string, string][] => [[`Int${n}`, `INT${n}`], [`UInt${n}`, `UINT${n}`], [`int${n}[pyarrow]`, `INT${n}`], [`uint${n}[pyarrow]`, `UINT${n}`]]),
  ['Float32', 'FLOAT'], ['float[pyarrow]', 'FLOAT'], ['Float64', 'DOUBLE'], ['double[pyarrow]', 'DOUBLE'],
  ['boolean', 'BOOLEAN'], ['bool[pyarrow]', 'BOOLEAN'], ['binary[pyarrow]', 'BINARY'], ['date32[day][pyarrow]', 'DATE'],
]);

/**
 * Whether a pandas dtype named in the metadata goes with a column type (pandas reads such a column's
 * values as they are; any other dtype: false): pyarrow (pandas_compat `_get_extension_dtypes`)
 * casts a column to the extension dtype its `numpy_type` names — an INT64 `label` named `string`
 * read as the strings "1", "0", "1", every record and type as snap signs them the same, and
 * `check` passed. An INT32 written as `Int64` would read the same values, but pandas writes the dtype its column's type has.
 */
function pandasDtypeFits(dtype: string, type: string): boolean {
  const exact = PANDAS_DTYPE_TYPES.get(dtype) ?? PANDAS_DTYPE_TYPES.get(dtype.replace(/^(large_)?binary\[pyarrow\]$/, 'binary[pyarrow]'));
  if (exact !== undefined) return exact === type;
  // pandas' pyarrow-backed dtypes of times (`ArrowDtype`): an instant read in another unit is the same instant (a cast that would lose one fails).
  const time = /^(timestamp|duration)\[(?:s|ms|us|ns)(, tz=[^\]]+)?\]\[pyarrow\]$/.exec(dtype);
  if (time?.[1] === 'timestamp') return type.startsWith('TIMESTAMP(') && (time[2] === undefined) === !type.includes(', UTC');
  if (time?.[1] === 'duration') return type.startsWith('DURATION(');
  return false;
}

/** Each top-level column's type text (column-types.ts), durations from ARROW:schema included, for {@link pandasDtypeFits}; an ARROW:schema that cannot be read is refused where its durations are read. */
function pandasCheckTypes(meta: FileMetaData, rel: string): Map<string, string> {
  const units = new Map<string, bigint>();
  try {
    arrowDurations(meta, rel, units);
  } catch {
    units.clear();
  }
  return new Map((parquetColumnTypes(parquetSchema(meta) as TypedNode, units) ?? []).map((t) => [t.name, t.type]));
}

/** The extension types pandas registers with pyarrow, which pyarrow reads a column as (`pandas.period`, `pandas.interval`): pandas' own dtype, whatever the pandas metadata says. */
const PANDAS_EXTENSIONS: ReadonlySet<string> = new Set(['pandas.period', 'pandas.interval']);

/**
 * The top-level columns whose ARROW:schema field is of a pandas extension type ({@link PANDAS_EXTENSIONS}),
 * when pyarrow applies the ARROW:schema (as many fields as `top`); none when it cannot be read (refused where it is read for its types).
 */
function pandasExtensions(meta: FileMetaData, top: readonly string[]): Set<string> {
  const stored = (meta.key_value_metadata ?? []).filter((kv) => kv.key === ARROW_SCHEMA_KEY);
  if (stored.length !== 1) return new Set();
  let fields: ArrowField[];
  try {
    fields = arrowSchemaFields(stored[0]?.value ?? '', 4 * MAX_COLUMNS, MAX_SCHEMA_DEPTH);
  } catch {
    return new Set();
  }
  if (fields.length !== top.length) return new Set();
  return new Set(fields.flatMap((f, i) => (f.extension !== undefined && PANDAS_EXTENSIONS.has(f.extension.name) ? [top[i] as string] : [])));
}

/** The key-value metadata key under which pyarrow stores how pandas names a table's columns. */
const PANDAS_METADATA_KEY = 'pandas';

/**
 * Whether pandas, reading a column stored as `field`, labels it `name` (from the `pandas`
 * metadata): a string the same string, a number the number that `field` writes (pandas writes the
 * column labelled 0 as "0"), a boolean Python's `True`/`False`, and null (a column labelled None,
 * which no pipeline looks a label up by) alike.
 */
function pandasNamesAsStored(name: unknown, field: string): boolean {
  if (name === null || name === undefined) return true;
  if (typeof name === 'string') return name === field;
  if (typeof name === 'number') return field.trim() !== '' && Number(field) === name;
  if (typeof name === 'boolean') return field === (name ? 'True' : 'False');
  return false;
}

/**
 * Refuse a file whose `pandas` key-value metadata (pyarrow's pandas_compat) names a column other
 * than by its Parquet name: `pandas.read_parquet` labels each column by the metadata's `name` for
 * its `field_name`, so a file whose metadata swapped the names of `label` and another column read,
 * in pandas, the other column as the label, while snap read every record unchanged and `check`
 * passed. pandas writes every column under its own name (a column labelled 0 as "0"); index columns
 * go to the DataFrame's index, not its columns, and may have any name. Metadata that is not JSON is
 * refused too (Python's json reads `NaN`, which JSON.parse does not: skipping it would skip the check).
 * @throws SnapError `RECORDS_MALFORMED`
 */
function checkPandasNames(meta: FileMetaData, top: readonly string[], rel: string): void {
  const columns = new Set(top);
  let types: Map<string, string> | undefined;
  let extensions: Set<string> | undefined;
  for (const value of tableMetadata(meta, PANDAS_METADATA_KEY, rel)) {
    let md: unknown;
    try {
      md = JSON.parse(value);
    } catch {
      throw new SnapError('RECORDS_MALFORMED', `${rel}: its pandas metadata (key-value metadata "${PANDAS_METADATA_KEY}") is not JSON as JSON.parse reads it, so how pandas names its columns cannot be checked`, { path: rel });
    }
    if (typeof md !== 'object' || md === null) continue;
    const { columns: described, index_columns: indexColumns } = md as { columns?: unknown; index_columns?: unknown };
    if (!Array.isArray(described)) continue;
    const index = new Set(Array.isArray(indexColumns) ? indexColumns.filter((c): c is string => typeof c === 'string') : []);
    for (const c of described) {
      if (typeof c !== 'object' || c === null) continue;
      const { name, field_name: field } = c as { name?: unknown; field_name?: unknown };
      if (typeof field !== 'string' || !columns.has(field) || index.has(field)) continue;
      if (!pandasNamesAsStored(name, field)) {
        throw new SnapError('RECORDS_MALFORMED', `${rel}: its pandas metadata names column ${JSON.stringify(field)} ${JSON.stringify(name) ?? String(name)}: pandas.read_parquet reads the column under that name, snap under its own; pandas writes every column under its own name`, { path: rel, column: field });
      }
      const dtype = (c as { numpy_type?: unknown }).numpy_type;
      if (typeof dtype !== 'string' || NUMPY_DTYPES.test(dtype)) continue;
      // A pandas extension type in ARROW:schema (a period, an interval) gives the dtype, not the metadata.
      extensions ??= pandasExtensions(meta, top);
      if (extensions.has(field)) continue;
      types ??= pandasCheckTypes(meta, rel);
      const type = types.get(field);
      if (type !== undefined && !pandasDtypeFits(dtype, type)) {
        throw new SnapError('RECORDS_UNSUPPORTED', `${rel}: its pandas metadata gives column ${JSON.stringify(field)} the dtype ${JSON.stringify(dtype)} (numpy_type), which pandas.read_parquet casts its ${type} values to (the string "1" for 1, a date for a number of days), while snap signs the values and type the Parquet file stores; pandas writes a dtype its column's type has`, { path: rel, column: field });
      }
    }
  }
}

/**
 * Refuse a schema that cannot be read exactly (INTERVAL, BSON, MAP, too wide a DECIMAL), field
 * names the decoder would lose, and a key or label column it does not have.
 * @returns its leaf columns, in schema order (see {@link checkColumnChunks})
 * @throws SnapError `RECORDS_UNSUPPORTED` | `RECORDS_MALFORMED` | `RECORDS_LIMIT` | `RECORDS_KEY_MISSING` | `RECORDS_LABEL_MISSING`
 */
function checkSchema(meta: FileMetaData, rel: string, fields: RecordFields): Leaf[] {
  for (const el of meta.schema) {
    const ct = el.converted_type as string | undefined;
    if (ct === 'INTERVAL' || ct === 'BSON') throw new SnapError('RECORDS_UNSUPPORTED', `${rel}: column ${JSON.stringify(el.name)} has type ${ct}, which cannot be read exactly`, { path: rel });
    // The decoder makes a map a plain object: a key written twice keeps one value, a key "__proto__"
    // is lost, so a change to either would change no fingerprint. Keys are data: no schema check helps.
    if (ct === 'MAP' || ct === 'MAP_KEY_VALUE' || (el.logical_type as { type?: string } | undefined)?.type === 'MAP') {
      throw new SnapError('RECORDS_UNSUPPORTED', `${rel}: column ${JSON.stringify(el.name)} is a MAP, which cannot be read exactly (a key written twice, or the key "__proto__", would be lost); declare no record set on this file, or store the map as a list of key-value structs`, { path: rel });
    }
    // Arrow (pyarrow, pandas) reads a DECIMAL by its logical type when it has one; hyparquet by its
    // converted type and the element's scale. A logical scale of 0 beside a scale of 2 was 123 to
    // pyarrow and 1.23 to snap, as in the file before the logical type was changed.
    const lt = el.logical_type as { type?: string; scale?: number; precision?: number } | undefined;
    if (lt?.type === 'DECIMAL' && ct !== 'DECIMAL') {
      throw new SnapError('RECORDS_MALFORMED', `${rel}: column ${JSON.stringify(el.name)} is a DECIMAL by its logical type but not by its converted type (${ct ?? 'none'}): Arrow (pyarrow, pandas) reads the one, snap's reader the other`, { path: rel });
    }
    if (ct === 'DECIMAL' && lt !== undefined && (lt.type !== 'DECIMAL' || lt.scale !== (el.scale ?? 0) || lt.precision !== el.precision)) {
      const logical = lt.type === 'DECIMAL' ? `a DECIMAL of scale ${lt.scale} and precision ${lt.precision}` : `${lt.type}`;
      throw new SnapError('RECORDS_MALFORMED', `${rel}: column ${JSON.stringify(el.name)} is a DECIMAL of scale ${el.scale ?? 0} and precision ${el.precision} by its converted type but ${logical} by its logical type: Arrow (pyarrow, pandas) reads the logical type, snap's reader the converted type, so they would read different values`, { path: rel });
    }
    if (ct === 'DECIMAL' && (el.precision ?? 0) > MAX_DECIMAL_DIGITS) {
      throw new SnapError('RECORDS_UNSUPPORTED', `${rel}: column ${JSON.stringify(el.name)} is a DECIMAL of ${el.precision} digits; more than ${MAX_DECIMAL_DIGITS} cannot be read exactly`, { path: rel });
    }
    // Without a precision, or with a scale outside 0..precision (Parquet format, LogicalTypes.md
    // "DECIMAL"), the values' digits have no bound to be held to: an INT64 of 2^60 + 1 read as 2^60.
    const precision = el.precision as number | undefined;
    const scale = el.scale ?? 0;
    if (ct === 'DECIMAL' && !(Number.isSafeInteger(precision) && (precision as number) >= 1 && Number.isSafeInteger(scale) && scale >= 0 && scale <= (precision as number))) {
      throw new SnapError('RECORDS_UNSUPPORTED', `${rel}: column ${JSON.stringify(el.name)} is a DECIMAL of precision ${String(precision)} and scale ${String(scale)}; it cannot be read exactly without a precision of 1 to ${MAX_DECIMAL_DIGITS} and a scale from 0 to its precision`, { path: rel });
    }
  }
  const { top, leaves } = checkFieldNames(meta, rel);
  checkPandasNames(meta, top, rel);
  for (const leaf of leaves) {
    if (leaf.element.converted_type !== 'DECIMAL' || leaf.element.type === 'INT32') continue;
    // An INT64 or a byte array can hold more digits than the precision claims; each value is held to it (decimalProblem).
    if (leaf.path.length > 1) {
      throw new SnapError('RECORDS_UNSUPPORTED', `${rel}: column ${JSON.stringify(leaf.path.join('.'))} is a DECIMAL stored as ${leaf.element.type} inside a group, whose values cannot be checked to hold no more digits than its precision; store it as INT32 or as a top-level column`, { path: rel });
    }
  }
  for (const k of fields.key ?? []) if (!top.includes(k)) throw new SnapError('RECORDS_KEY_MISSING', `${rel}: key column ${JSON.stringify(k)} is not in the schema (columns: ${listColumns(top)})`, { path: rel, column: k });
  if (fields.label !== undefined && !top.includes(fields.label)) {
    throw new SnapError('RECORDS_LABEL_MISSING', `${rel}: label column ${JSON.stringify(fields.label)} is not in the schema (columns: ${listColumns(top)})`, { path: rel, column: fields.label });
  }
  return leaves;
}

/**
 * Refuse field names that the decoder would not keep as members of a record: two fields of one
 * group with the same name (`RECORDS_MALFORMED`, like a CSV header naming a column twice: their
 * values land in one place, the one read last winning) and a nested field named `__proto__`
 * (`RECORDS_UNSUPPORTED`: hyparquet assembles structs as plain objects, where that name sets the
 * prototype and the field is lost). Either way a change in the lost field would change no
 * fingerprint. Also refused (`RECORDS_MALFORMED`): a field with no name, and a schema whose groups
 * declare more fields than it holds (a 40-byte file declaring 2,000,000,000 fields cost seconds of
 * CPU to list its columns). Groups nested deeper than {@link MAX_SCHEMA_DEPTH} are `RECORDS_LIMIT`,
 * and so are more than {@link MAX_COLUMNS} leaf columns, as a CSV
 * header of more columns: hyparquet looks each column up among its siblings (`getTreePath`,
 * `Array.find`), which is quadratic in the columns of each row group. The schema is walked once,
 * without recursion (its depth comes from the file), and each leaf's levels computed on the way
 * (a schema tree built again for each column chunk made a 5.5 MB file of 20,000 columns run past
 * five minutes).
 * @returns the top-level column names (the root's children), in schema order, and the leaf
 *   columns, in schema order (what each row group's column chunks must name, in that order)
 * @throws SnapError `RECORDS_MALFORMED` | `RECORDS_UNSUPPORTED` | `RECORDS_LIMIT`
 */
function checkFieldNames(meta: FileMetaData, rel: string): { top: string[]; leaves: Leaf[] } {
  const schema = meta.schema;
  const top: string[] = [];
  const leaves: Leaf[] = [];
  const malformed = (why: string) => new SnapError('RECORDS_MALFORMED', `${rel}: the schema ${why}`, { path: rel });
  // Open groups: the names of the children seen so far, how many are still to come, their depth,
  // their path and levels (as hyparquet's getMaxDefinitionLevel and getMaxRepetitionLevel count
  // them: the root's repetition counts, its definition does not).
  const open: { names: Set<string>; left: number; depth: number; path: string[]; maxDef: number; maxRep: number }[] = [
    { names: new Set(), left: Number(schema[0]?.num_children ?? 0), depth: 1, path: [], maxDef: 0, maxRep: schema[0]?.repetition_type === 'REPEATED' ? 1 : 0 },
  ];
  if ((open[0] as (typeof open)[number]).left <= 0) open.pop();
  for (let i = 1; i < schema.length && open.length > 0; i++) {
    const parent = open[open.length - 1] as (typeof open)[number];
    const el = schema[i] as { name?: unknown; num_children?: number; repetition_type?: string };
    if (typeof el.name !== 'string') throw malformed(`has a field with no name (element ${i})`);
    if (parent.names.has(el.name)) throw new SnapError('RECORDS_MALFORMED', `${rel}: the schema names field ${JSON.stringify(el.name)} twice in one group`, { path: rel });
    if (parent.depth === 1) top.push(el.name);
    parent.names.add(el.name);
    if (parent.depth > 1 && el.name === '__proto__') throw new SnapError('RECORDS_UNSUPPORTED', `${rel}: a nested field is named "__proto__", which cannot be read as a member of a record`, { path: rel });
    parent.left--;
    while (open.length > 0 && (open[open.length - 1] as (typeof open)[number]).left <= 0) open.pop();
    const children = Number(el.num_children ?? 0);
    const path = [...parent.path, el.name];
    const maxDef = parent.maxDef + (el.repetition_type !== 'REQUIRED' ? 1 : 0);
    const maxRep = parent.maxRep + (el.repetition_type === 'REPEATED' ? 1 : 0);
    if (children > 0 && parent.depth >= MAX_SCHEMA_DEPTH) throw new SnapError('RECORDS_LIMIT', `${rel}: the schema nests groups deeper than ${MAX_SCHEMA_DEPTH} levels`, { path: rel });
    if (children > 0) open.push({ names: new Set(), left: children, depth: parent.depth + 1, path, maxDef, maxRep });
    else if (leaves.push({ path, element: el as FileMetaData['schema'][number], maxDef, maxRep }) > MAX_COLUMNS) throw new SnapError('RECORDS_LIMIT', `${rel}: the schema has more than ${MAX_COLUMNS} columns`, { path: rel });
  }
  if (open.length > 0) throw malformed(`declares more fields than it holds (${schema.length} elements)`);
  return { top, leaves };
}

/**
 * What is wrong with a value of a top-level DECIMAL column stored as INT64 or as bytes, or
 * undefined: hyparquet reads a DECIMAL as a double (the stored integer divided by 10^scale), which
 * holds it exactly only while the integer has at most {@link MAX_DECIMAL_DIGITS} digits; the
 * precision that checkSchema holds to that is only what the writer claims. A stored integer of
 * more digits than the precision (2^60 and 2^60 + 1 under DECIMAL(10, 0) were both read as
 * 1152921504606847000) is refused.
 */
function decimalProblem(v: unknown, element: Leaf['element']): string | undefined {
  if (typeof v !== 'number') return undefined; // null
  const precision = element.precision as number;
  const scale = element.scale ?? 0;
  return Math.abs(v) * 10 ** scale < 10 ** precision ? undefined : `column ${JSON.stringify(element.name)} holds a value of more digits than its DECIMAL precision ${precision} (scale ${scale}), which cannot be read exactly`;
}

/** A leaf column of the schema: its path, its element, and its highest definition and repetition levels. */
interface Leaf {
  path: string[];
  element: FileMetaData['schema'][number];
  maxDef: number;
  maxRep: number;
}

/**
 * Refuse a row group whose column chunks are not the schema's leaf columns, one each, in schema
 * order (Parquet format, `RowGroup.columns`: "one column chunk per leaf, in the order of the
 * schema"). hyparquet decodes every chunk listed but assembles only those the schema claims: the
 * decoding of an unclaimed chunk was never awaited, so its failure escaped as an unhandled
 * rejection that ended the process (found by fuzzing, hyparquet 1.33.0), and a column whose chunk
 * was missing or misnamed was simply absent from the records.
 * @throws SnapError `RECORDS_MALFORMED`
 */
function checkColumnChunks(rg: RowGroup, g: number, leafColumns: readonly Leaf[], rel: string): void {
  const leaves = leafColumns.map((l) => l.path);
  const named = rg.columns.map((c) => c.meta_data?.path_in_schema);
  const same = (a: unknown, b: readonly string[]) => Array.isArray(a) && a.length === b.length && a.every((x, i) => x === b[i]);
  if (named.length !== leaves.length || !named.every((p, i) => same(p, leaves[i] as string[]))) {
    const i = named.findIndex((p, k) => !same(p, leaves[k] ?? []));
    const at = i < 0 ? named.length : i;
    throw new SnapError('RECORDS_MALFORMED', `${rel}: row group ${g}: its column chunks are not the schema's ${leaves.length} columns in order (chunk ${at} of ${named.length} names ${JSON.stringify(named[at] ?? null)}, the schema ${JSON.stringify(leaves[at] ?? null)}) (truncated or corrupt?)`, { path: rel });
  }
}

type RowGroup = FileMetaData['row_groups'][number];

/**
 * Check what a row group's pages declare before any is decoded — the sizes the decoder allocates
 * and the number of values it decodes, summed over every page (dictionary and data) of every
 * column chunk — against {@link MAX_ROW_GROUP_BYTES} and {@link MAX_ROW_GROUP_VALUES}, and the
 * stored sizes of its column chunks (each read whole) against {@link MAX_ROW_GROUP_STORED_BYTES}
 * before any is read; the row group's own `total_byte_size` and `num_rows` are only what its
 * writer claims. Each data page's run-length/bit-packed streams are checked too ({@link pageRunProblem}).
 * @throws SnapError `RECORDS_LIMIT` | `RECORDS_MALFORMED` (a page header that cannot be read)
 */
/** A whole number of at least 0 that a JavaScript number holds exactly. */
const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/**
 * What is wrong with a page header's shape, for hyparquet to decode its page safely, or undefined.
 * The Thrift fields are read as whatever the file holds: a header of type DATA_PAGE_V2 without its
 * level lengths made hyparquet compute an offset of NaN and loop for ever on the first byte
 * (found by fuzzing; hyparquet 1.33.0), so every field it computes offsets or counts from is checked
 * here to be present and a count, and the level lengths to fit in the page (Parquet format,
 * `PageHeader`, `DataPageHeaderV2`: the levels are stored uncompressed before the values).
 */
function pageShapeProblem(h: ReturnType<typeof parquetHeader>, size: number, stored: number): string | undefined {
  switch (h.type) {
    case 'DATA_PAGE':
      return h.data_page_header && isCount(h.data_page_header.num_values) ? undefined : 'of a data page has no data page header';
    case 'DICTIONARY_PAGE':
      return h.dictionary_page_header && isCount(h.dictionary_page_header.num_values) ? undefined : 'of a dictionary page has no dictionary page header';
    case 'DATA_PAGE_V2': {
      const v2 = h.data_page_header_v2;
      if (!v2) return 'of a data page (v2) has no data page header';
      const { num_values: values, num_nulls: nulls, num_rows: rows, definition_levels_byte_length: def, repetition_levels_byte_length: rep, is_compressed: compressed } = v2;
      if (![values, nulls, rows, def, rep].every(isCount)) return 'of a data page (v2) lacks a count or a level length, or holds one that is not a whole number';
      if (typeof compressed !== 'boolean') return 'of a data page (v2) says neither that it is compressed nor that it is not';
      if (def + rep > stored || def + rep > size) return `of a data page (v2) declares ${def + rep} bytes of levels in a page of ${Math.min(stored, size)}`;
      return undefined;
    }
    default:
      return undefined; // an index page is skipped; an unknown type is refused by hyparquet when read
  }
}

/**
 * What is wrong with a run-length/bit-packed hybrid stream (Parquet format, Encodings.md "Run Length
 * Encoding / Bit-Packing Hybrid") that is to give `n` values of `width` bits, read from `bytes` at
 * `start` as hyparquet 1.33.0 reads it (`readRleBitPackedHybrid`: runs until it has `n` values,
 * 32-bit varint headers), or undefined. hyparquet writes an RLE run's value `count` times into an
 * array made for `n`, without looking at `n`: a run of 2^30 in a page of 8 values grew that array
 * until V8 ended the process (an 858-byte file: SIGTRAP, 1.6 GB; found by fuzzing). A bit-packed
 * run of width 0 whose count overflows to a negative number is a loop that never ends. So a run
 * may not give more than the values still wanted (a bit-packed one: its last group of 8 padded).
 * Reading past the end is left to hyparquet, which throws there.
 */
export function hybridRunProblem(bytes: Uint8Array, start: number, width: number, n: number): string | undefined {
  let pos = start;
  let seen = 0;
  while (seen < n) {
    let header = 0;
    let shift = 0;
    let byte: number;
    do {
      if (pos >= bytes.length) return undefined;
      byte = bytes[pos++] as number;
      header |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    if (header & 1) {
      const count = (header >> 1) << 3;
      if (count < 0 || count > n - seen + 7) return `a bit-packed run of ${count} values where ${n - seen} are left`;
      pos += Math.max(1, (count * width) / 8);
      seen = Math.min(n, seen + count);
    } else {
      const count = header >>> 1;
      if (count > n - seen) return `a run of ${count} values where ${n - seen} are left`;
      pos += (width + 7) >> 3;
      seen += count;
    }
  }
  return undefined;
}

/** The 1 bits of each byte. */
const BIT_COUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let x = b; x; x >>= 1) n += x & 1;
  return n;
});

/**
 * How many of the first `n` values of a run-length/bit-packed hybrid stream of `width` bits (from
 * `start`; its runs already checked by {@link hybridRunProblem}) are 0: on a column's repetition
 * levels, how many records begin. Bytes past the end read as 0 (hyparquet throws there when it reads).
 */
export function hybridZeros(bytes: Uint8Array, start: number, width: number, n: number): number {
  const byteWidth = (width + 7) >> 3;
  let pos = start;
  let seen = 0;
  let zeros = 0;
  while (seen < n && pos < bytes.length) {
    let header = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = bytes[pos++] ?? 0;
      header |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80 && pos < bytes.length);
    if (header & 1) {
      const count = (header >>> 1) << 3;
      const take = Math.min(count, n - seen);
      let i = 0;
      if (width === 1) {
        // A list that does not nest: a byte at a time, each 0 bit a record begun.
        for (; i + 8 <= take; i += 8) zeros += 8 - (BIT_COUNT[bytes[pos + (i >> 3)] ?? 0] as number);
      }
      for (; i < take; i++) {
        let v = 0;
        for (let b = 0; b < width; b++) {
          const bit = i * width + b;
          v |= (((bytes[pos + (bit >> 3)] ?? 0) >> (bit & 7)) & 1) << b;
        }
        if (v === 0) zeros++;
      }
      pos += (count * width) >> 3;
      seen += take;
    } else {
      const count = header >>> 1;
      let v = 0;
      for (let b = 0; b < byteWidth; b++) v |= (bytes[pos + b] ?? 0) << (8 * b);
      pos += byteWidth;
      const take = Math.min(count, n - seen);
      if (v === 0) zeros += take;
      seen += take;
    }
  }
  return zeros;
}

/**
 * How many records begin among the first `limit` level entries of a data page of a repeated column
 * (its repetition levels that are 0), or undefined for a page that is not a data page. A data page
 * (v1) is decompressed unless `decompressed` is given (the page {@link pageRunProblem} decompressed).
 */
function pageRecords(h: ReturnType<typeof parquetHeader>, raw: Uint8Array, c: PageContext, limit: number, decompressed?: Uint8Array): number | undefined {
  const width = levelWidth(c.maxRep);
  if (h.type === 'DATA_PAGE' && h.data_page_header) {
    const page = decompressed ?? decompressPage(raw, h.uncompressed_page_size, c.codec as never, CODECS);
    return hybridZeros(page, 4, width, Math.min(limit, h.data_page_header.num_values)); // after the stream's 4-byte length
  }
  if (h.type === 'DATA_PAGE_V2' && h.data_page_header_v2) return hybridZeros(raw.subarray(0, h.data_page_header_v2.repetition_levels_byte_length), 0, width, Math.min(limit, h.data_page_header_v2.num_values));
  return undefined;
}

/** Bits of a level of at most `max` (as hyparquet computes them). */
const levelWidth = (max: number) => 32 - Math.clz32(max);

/** The page's levels and values after its header, as the decoder will read them. */
interface PageContext {
  codec: string;
  type: string | undefined;
  maxDef: number;
  maxRep: number;
}

/**
 * What is wrong with the run-length/bit-packed hybrid streams of a data page (its levels and its
 * dictionary indices or RLE booleans), see {@link hybridRunProblem}, or undefined. `raw` is the page
 * as stored; it is decompressed here (as hyparquet will) only when such a stream is compressed.
 */
function pageRunProblem(h: ReturnType<typeof parquetHeader>, raw: Uint8Array, c: PageContext, decompressed: { page?: Uint8Array } = {}): string | undefined {
  const u32 = (b: Uint8Array, at: number) => (at + 4 <= b.length ? new DataView(b.buffer, b.byteOffset + at, 4).getUint32(0, true) : undefined);
  if (h.type === 'DATA_PAGE' && h.data_page_header) {
    const d = h.data_page_header;
    const hybridValues = d.encoding === 'RLE' || d.encoding === 'RLE_DICTIONARY' || d.encoding === 'PLAIN_DICTIONARY';
    if (!c.maxRep && !c.maxDef && !hybridValues) return undefined;
    const page = decompressPage(raw, h.uncompressed_page_size, c.codec as never, CODECS);
    decompressed.page = page;
    let at = 0;
    for (const max of [c.maxRep, c.maxDef]) {
      if (!max) continue;
      const length = u32(page, at);
      if (length === undefined) return undefined;
      const p = hybridRunProblem(page, at + 4, levelWidth(max), d.num_values);
      if (p) return `(levels) ${p}`;
      at += 4 + length;
    }
    if (!hybridValues) return undefined;
    // Without the nulls counted, num_values bounds the values: an array grows at most to it.
    let p: string | undefined;
    if (c.type === 'BOOLEAN') p = at + 4 <= page.length ? hybridRunProblem(page, at + 4, 1, d.num_values) : undefined; // length-prefixed
    else if (page[at]) p = hybridRunProblem(page, at + 1, page[at] as number, d.num_values); // a bit width of 0 reads no stream
    return p && `(values) ${p}`;
  }
  if (h.type === 'DATA_PAGE_V2' && h.data_page_header_v2) {
    const d = h.data_page_header_v2;
    const rep = d.repetition_levels_byte_length;
    const def = d.definition_levels_byte_length;
    if (c.maxRep) {
      const p = hybridRunProblem(raw, 0, levelWidth(c.maxRep), d.num_values);
      if (p) return `(levels) ${p}`;
    }
    if (c.maxDef) {
      const p = hybridRunProblem(raw, rep, levelWidth(c.maxDef), d.num_values);
      if (p) return `(levels) ${p}`;
    }
    if (d.encoding !== 'RLE' && d.encoding !== 'RLE_DICTIONARY' && d.encoding !== 'PLAIN_DICTIONARY') return undefined;
    const size = h.uncompressed_page_size - rep - def;
    let page = raw.subarray(rep + def);
    if (d.is_compressed !== false && size) page = decompressPage(page, size, c.codec as never, CODECS);
    const n = d.num_values - d.num_nulls;
    let p: string | undefined;
    if (d.encoding === 'RLE') p = page.length >= 4 ? hybridRunProblem(page, 4, 1, n) : undefined; // length-prefixed
    else if (page.length >= 1) p = hybridRunProblem(page, 1, page[0] as number, n); // read even at a bit width of 0
    return p && `(values) ${p}`;
  }
  return undefined;
}

/** The bytes each value of a FIXED_LEN_BYTE_ARRAY leaf decodes to (its `type_length`; one when absent or not a count), 0 for any other type. */
function fixedWidth(leaf: Leaf): number {
  if (leaf.element.type !== 'FIXED_LEN_BYTE_ARRAY') return 0;
  const w = leaf.element.type_length;
  return isCount(w) ? Math.max(1, w) : 1;
}

/**
 * The bytes a decoded value stands for, for {@link DECODED_BYTES_PER_STORED_BYTE}: a string's or
 * byte array's length, a typed array's bytes, a list's or group's members summed, 8 for any other.
 */
function decodedBytes(v: unknown, depth = 0): number {
  if (typeof v === 'string') return v.length;
  if (v === null || typeof v !== 'object') return 8;
  if (ArrayBuffer.isView(v)) return v.byteLength;
  if (depth > MAX_DEPTH) return 8; // parquetValue refuses it
  let n = 8;
  for (const x of Array.isArray(v) ? v : Object.values(v)) n += decodedBytes(x, depth + 1);
  return n;
}

/**
 * Bytes the DELTA_BYTE_ARRAY values of a data page make beyond the page itself (Parquet format,
 * Encodings.md "Delta Strings (DELTA_BYTE_ARRAY = 7)"), or what is wrong with them; 0 for a page of
 * another encoding. Each value is `prefix` bytes of the value before it then a suffix from the page:
 * hyparquet 1.33.0 (`deltaByteArray`) makes a new array of prefix + suffix bytes for every value
 * with a prefix, so a 140 KB page of 2,000 values of 8 MiB each decoded to 16 GB and V8 ended the
 * process (exit 134). Its two length streams (DELTA_BINARY_PACKED) are decoded here as hyparquet
 * decodes them — as many lengths as the page has non-null values, its definition levels counted —
 * and each prefix checked to be no longer than the value before it. `decompressed` is the page as
 * {@link pageRunProblem} decompressed it, if it did.
 */
function deltaPageBytes(h: ReturnType<typeof parquetHeader>, raw: Uint8Array, c: PageContext, decompressed: { page?: Uint8Array }): number | string {
  let page: Uint8Array;
  let at = 0;
  let count: number;
  if (h.type === 'DATA_PAGE' && h.data_page_header?.encoding === 'DELTA_BYTE_ARRAY') {
    const d = h.data_page_header;
    page = decompressed.page ?? decompressPage(raw, h.uncompressed_page_size, c.codec as never, CODECS);
    const reader = { view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: 0 };
    count = d.num_values;
    try {
      if (c.maxRep) readRleBitPackedHybrid(reader, levelWidth(c.maxRep), new Array(d.num_values));
      if (c.maxDef) {
        const levels = new Array<number>(d.num_values);
        readRleBitPackedHybrid(reader, levelWidth(c.maxDef), levels);
        for (const l of levels) if (l !== c.maxDef) count--;
      }
    } catch (e) {
      return `cannot be read (${(e as Error).message})`;
    }
    at = reader.offset;
  } else if (h.type === 'DATA_PAGE_V2' && h.data_page_header_v2?.encoding === 'DELTA_BYTE_ARRAY') {
    const d = h.data_page_header_v2;
    const levels = d.repetition_levels_byte_length + d.definition_levels_byte_length;
    const size = h.uncompressed_page_size - levels;
    page = raw.subarray(levels);
    if (d.is_compressed !== false && size) page = decompressPage(page, size, c.codec as never, CODECS);
    count = d.num_values - d.num_nulls;
  } else return 0;
  if (count < 0) return `count ${count} values`;
  const reader = { view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: at };
  const prefixes = new Int32Array(count);
  const suffixes = new Int32Array(count);
  try {
    deltaBinaryUnpack(reader, count, prefixes);
    deltaBinaryUnpack(reader, count, suffixes);
  } catch (e) {
    return `have lengths that cannot be read (${(e as Error).message})`;
  }
  let made = 0;
  let suffixBytes = 0;
  let before = 0;
  for (let i = 0; i < count; i++) {
    const prefix = prefixes[i] as number;
    const suffix = suffixes[i] as number;
    if (prefix < 0 || suffix < 0) return `give value ${i + 1} a negative length`;
    if (prefix > before) return `give value ${i + 1} a prefix of ${prefix} bytes of a value of ${before}`;
    suffixBytes += suffix;
    if (prefix > 0) made += prefix + suffix;
    before = prefix + suffix;
  }
  if (suffixBytes > page.length - reader.offset) return `declare ${suffixBytes} bytes of suffixes where the page holds ${page.length - reader.offset}`;
  return made;
}

/**
 * Check a row group's column chunks and page headers against the bounds before hyparquet decodes it.
 * @returns the level entries its repeated leaves (in lists and other repeated fields) declare in their data pages,
 *   summed over the leaves (see {@link REPEATED_ENTRY_DECODED_BYTES})
 * @throws SnapError `RECORDS_LIMIT` | `RECORDS_MALFORMED`
 */
async function checkRowGroupPages(file: AsyncBuffer, leaves: readonly Leaf[], rg: RowGroup, g: number, rel: string, maxValues: number, maxHeaderValues: number, dictionaries?: ReadonlyMap<number, (values: Uint8Array[]) => void>, categoricalLeaves?: ReadonlySet<number>): Promise<number> {
  const limit = (what: string) => new SnapError('RECORDS_LIMIT', `${rel}: row group ${g} ${what}`, { path: rel });
  const malformed = (why: string) => new SnapError('RECORDS_MALFORMED', `${rel}: row group ${g}: ${why} (truncated or corrupt?)`, { path: rel });
  const rows = Number(rg.num_rows);
  if (!Number.isSafeInteger(rows) || rows < 0) throw malformed(`its row count ${String(rg.num_rows)} is not a whole number`);
  if (rows * Math.max(1, rg.columns.length) > maxValues) throw limit(`holds ${rows} rows of ${rg.columns.length} columns, more than ${maxValues} values`);
  // Where each column chunk lies, and what they declare together, before any is read.
  const spans: { start: number; length: number; context: PageContext; column: string; entries: number; leaf: number }[] = [];
  let stored = 0;
  for (const [i, chunk] of rg.columns.entries()) {
    const meta = chunk.meta_data;
    if (!meta) throw malformed('a column chunk has no metadata');
    // hyparquet starts a chunk at its dictionary page offset whenever one is set (and not 0); Arrow
    // (pyarrow, pandas) at its data page offset unless a dictionary page offset above 0 comes before
    // it. A dictionary page declared after the data page made them read two different runs of pages:
    // pyarrow read the labels of one page, snap those of another appended to the file. A chunk of
    // no values in a row group of no rows is read by neither: pyarrow writes an empty table so, a
    // dictionary page and no data page, its data page offset 0.
    const dict = meta.dictionary_page_offset;
    const nothingRead = rows === 0 && meta.num_values === 0n;
    if (dict !== undefined && dict !== 0n && dict > meta.data_page_offset && !nothingRead) {
      throw malformed(`column chunk ${i + 1} (${JSON.stringify((leaves[i] as Leaf).path.join('.'))}) declares a dictionary page at byte ${dict}, after its first data page at byte ${meta.data_page_offset}: Arrow (pyarrow, pandas) reads the chunk from its data page and snap's reader from the dictionary page, so they would read different values`);
    }
    const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
    const length = Number(meta.total_compressed_size);
    if (!Number.isSafeInteger(start) || start < 0 || !Number.isSafeInteger(length) || length < 0 || start + length > file.byteLength) throw malformed('a column chunk lies outside the file');
    stored += length;
    const { maxDef, maxRep, path } = leaves[i] as Leaf; // checkColumnChunks: chunk i is leaf i
    const column = `column chunk ${i + 1} (${JSON.stringify(path.join('.'))})`;
    // Arrow (pyarrow, pandas) reads a chunk's num_values level entries, whatever the row group's
    // row count; hyparquet reads the row count: a file of six records that declared three was
    // three records to snap and six to pyarrow. A column that does not repeat has a record an entry.
    const entries = Number(meta.num_values);
    if (!Number.isSafeInteger(entries) || entries < 0) throw malformed(`${column} declares ${String(meta.num_values)} values`);
    if (maxRep === 0 && entries !== rows) throw malformed(`${column} holds ${entries} values where the row group has ${rows} rows: Arrow (pyarrow, pandas) reads every value of the column, snap's reader the row group's rows`);
    spans.push({ start, length, context: { codec: String(meta.codec), type: meta.type, maxDef, maxRep }, column, entries, leaf: i });
  }
  if (stored > MAX_ROW_GROUP_STORED_BYTES) throw limit(`declares ${stored} bytes of column chunks, more than ${MAX_ROW_GROUP_STORED_BYTES}`);
  let bytes = 0;
  let values = 0;
  /** Bytes DELTA_BYTE_ARRAY pages make beyond their own (see {@link deltaPageBytes}). */
  let deltaBytes = 0;
  /** Bytes of FIXED_LEN_BYTE_ARRAY values declared: values × type_length. */
  let fixedBytes = 0;
  /** Level entries the data pages of repeated leaves declare, all summed. */
  let repeated = 0;
  for (const { start, length, context, column, entries, leaf } of spans) {
    let leafEntries = 0;
    const onDictionary = dictionaries?.get(leaf);
    const categorical = categoricalLeaves?.has(leaf) === true;
    // A repeated column's records, counted on the repetition levels of its first `entries` level entries.
    let records = 0;
    let left = entries;
    const reader = { view: new DataView(await file.slice(start, start + length)), offset: 0 };
    const bytesOf = new Uint8Array(reader.view.buffer, reader.view.byteOffset, reader.view.byteLength);
    let pages = 0;
    // A categorical chunk's dictionary page not yet followed by a data page of values.
    let dictionaryPending = false;
    while (reader.offset < reader.view.byteLength - 1) {
      let h;
      try {
        walkThriftStruct(bytesOf, reader.offset, maxHeaderValues);
      } catch (e) {
        if (isSnapError(e) && e.code === 'RECORDS_LIMIT') throw new SnapError('RECORDS_LIMIT', `${rel}: row group ${g}: a page header ${e.message.replace(/^a Thrift structure /, '')}`, { path: rel });
        throw malformed(`a page header cannot be read (${(e as Error).message})`);
      }
      try {
        h = parquetHeader(reader);
      } catch (e) {
        throw malformed(`a page header cannot be read (${(e as Error).message})`);
      }
      // The Parquet format puts a chunk's one dictionary page first. Arrow (pyarrow, pandas) reads
      // one after PLAIN data pages too, and starts a new dictionary there: a categorical's categories
      // were the plain pages' values first ([dog, cat]) where snap took the dictionary's first
      // ([cat, dog]), every .cat.codes integer flipped and the check passed (FORMAT §19.11).
      if (h.type === 'DICTIONARY_PAGE' && pages > 0) throw malformed(`a dictionary page after a data page of ${column}: the Parquet format puts it first; Arrow (pyarrow, pandas) starts a new dictionary there, so a pandas categorical's categories (what .cat.codes means) would not be those snap signs`);
      pages++;
      if (categorical && h.type === 'DICTIONARY_PAGE') dictionaryPending = true;
      const encoding = h.data_page_header?.encoding ?? h.data_page_header_v2?.encoding;
      if (dictionaryPending && encoding !== undefined && (h.data_page_header?.num_values ?? h.data_page_header_v2?.num_values ?? 0) > 0) {
        // pyarrow's categorical reading takes the dictionary when it reads a dictionary-encoded page:
        // PLAIN pages before one gave the first categories ([dog, cat] where snap took [cat, dog]).
        // A writer that falls back to PLAIN writes its dictionary-encoded pages first.
        if (encoding !== 'RLE_DICTIONARY' && encoding !== 'PLAIN_DICTIONARY') throw malformed(`the first data page after the dictionary page of ${column} is ${encoding}, not dictionary-encoded: Arrow (pyarrow, pandas) takes the dictionary only at a dictionary-encoded page, so a pandas categorical's categories (what .cat.codes means) would begin with that page's values, not the dictionary's that snap signs`);
        dictionaryPending = false;
      }
      const size = h.uncompressed_page_size;
      const stored = h.compressed_page_size;
      const n = h.data_page_header?.num_values ?? h.data_page_header_v2?.num_values ?? h.dictionary_page_header?.num_values ?? 0;
      if (![size, stored, n].every(isCount)) throw malformed('a page header declares a negative or impossible size');
      if (stored > reader.view.byteLength - reader.offset) throw malformed('a page runs past the end of its column chunk');
      const shape = pageShapeProblem(h, size, stored);
      if (shape) throw malformed(`a page header ${shape}`);
      // Counted before the page is decompressed (for its run-length streams, below): a page of a
      // gzip stream declaring 1,000 MiB was inflated whole (1.1 GB) before the bound refused it.
      bytes += size;
      values += n;
      if (h.type !== 'DICTIONARY_PAGE') leafEntries += n;
      // A FIXED_LEN_BYTE_ARRAY value is decoded into type_length bytes whatever the page holds
      // (hyparquet's byteStreamSplit: a 4 KB page of a column declared 4,096 wide took 4 GB).
      fixedBytes += n * fixedWidth(leaves[leaf] as Leaf);
      if (fixedBytes > MAX_ROW_GROUP_BYTES) throw limit(`declares fixed-length values of more than ${MAX_ROW_GROUP_BYTES} bytes (values × type_length)`);
      if (bytes > MAX_ROW_GROUP_BYTES) throw limit(`declares more than ${MAX_ROW_GROUP_BYTES} bytes of uncompressed pages`);
      if (values > maxValues) throw limit(`declares more than ${maxValues} values in its pages`);
      let runs: string | undefined;
      const decompressed: { page?: Uint8Array } = {};
      try {
        runs = pageRunProblem(h, bytesOf.subarray(reader.offset, reader.offset + stored), context, decompressed);
      } catch (e) {
        throw malformed(`a page cannot be decompressed (${(e as Error).message})`);
      }
      if (runs) throw malformed(`a page's run-length encoded ${runs}`);
      let delta: number | string;
      try {
        delta = deltaPageBytes(h, bytesOf.subarray(reader.offset, reader.offset + stored), context, decompressed);
      } catch (e) {
        throw malformed(`a page cannot be decompressed (${(e as Error).message})`);
      }
      if (typeof delta === 'string') throw malformed(`a page's DELTA_BYTE_ARRAY values ${delta}`);
      deltaBytes += delta;
      if (deltaBytes > MAX_ROW_GROUP_BYTES) throw limit(`holds DELTA_BYTE_ARRAY values that decode to more than ${MAX_ROW_GROUP_BYTES} bytes (each value's prefix copied from the one before it)`);
      if (onDictionary && h.type === 'DICTIONARY_PAGE' && h.dictionary_page_header) {
        // A dictionary page of byte arrays (a categorical's, §19.11, or any other): its values in order, within the bounds just checked.
        try {
          const page = decompressPage(bytesOf.subarray(reader.offset, reader.offset + stored), size, context.codec as never, CODECS);
          // Each value has a 4-byte length: a page that declares more values than that cannot hold them (no array made for them).
          if (n > page.byteLength / 4) throw malformed(`a dictionary page declares ${n} values in ${page.byteLength} bytes`);
          onDictionary(readPlain({ view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: 0 }, 'BYTE_ARRAY', n, undefined) as Uint8Array[]);
        } catch (e) {
          if (isSnapError(e)) throw e;
          throw malformed(`a dictionary page cannot be read (${(e as Error).message})`);
        }
      }
      if (context.maxRep > 0 && left > 0) {
        let begun: number | undefined;
        try {
          begun = pageRecords(h, bytesOf.subarray(reader.offset, reader.offset + stored), context, left, decompressed.page);
        } catch (e) {
          throw malformed(`a page cannot be decompressed (${(e as Error).message})`);
        }
        if (begun !== undefined) {
          records += begun;
          left -= Math.min(left, n);
        }
      }
      reader.offset += stored;
    }
    if (context.maxRep > 0 && records !== rows) throw malformed(`${column} holds ${records} records where the row group has ${rows} rows: Arrow (pyarrow, pandas) reads every record of the column, snap's reader the row group's rows`);
    if (context.maxRep > 0) repeated += leafEntries;
  }
  return repeated;
}

/**
 * The column types (docs/FORMAT.md §19.11) of a Parquet file that must have the SHA-256
 * `expectSha256`: a store object whose digest a manifest signs, for a snapshot sealed before its
 * types were signed. Every byte is hashed (a store writer's other bytes are not believed); only the
 * footer is parsed.
 * @returns the types, or undefined when they cannot be read (over a bound, a schema snap refuses)
 * @throws SnapError `OBJECT_CORRUPT` (not the bytes `expectSha256` names) | `NOT_FOUND` | `IO_ERROR`
 */
export async function storedParquetColumnTypes(abs: string, rel: string, expectSha256: string): Promise<ColumnType[] | undefined> {
  const fh = await openDataFile(abs);
  try {
    const size = Number((await fh.stat()).size);
    if ((await hashWhole(fh, size)).digest('hex') !== expectSha256) {
      throw new SnapError('OBJECT_CORRUPT', `the store object ${expectSha256.slice(0, 12)}… of ${rel} (${abs}) is not the bytes its name says: the store is damaged (snap fsck names what is). Its column types were being read from it (FORMAT §19.11)`, { path: rel, sha256: expectSha256 });
    }
    if (size < 12) return undefined;
    const tail = Buffer.alloc(8);
    await readFully(fh, tail, size - 8);
    const metaLen = tail.readUInt32LE(0);
    if (tail.readUInt32LE(4) !== MAGIC || metaLen > size - 12 || metaLen > MAX_METADATA_BYTES) return undefined;
    const footer = Buffer.alloc(metaLen + 8);
    await readFully(fh, footer, size - 8 - metaLen);
    try {
      walkThriftStruct(footer.subarray(0, metaLen), 0, MAX_METADATA_VALUES);
      const meta = parquetMetadata(footer);
      checkSchema(meta, rel, {});
      const units = new Map<string, bigint>();
      const zones = new Map<string, string>();
      const extensions = new Map<string, string>();
      arrowDurations(meta, rel, units, zones, undefined, extensions);
      return parquetColumnTypes(parquetSchema(meta) as TypedNode, units, classNamesOf(meta, rel), zones, extensions);
    } catch {
      return undefined;
    }
  } catch (e) {
    if (isSnapError(e)) throw e;
    throw ioError(e, abs, 'cannot read');
  } finally {
    await fh.close();
  }
}

/**
 * The categories of one pandas categorical column as pyarrow builds them (FORMAT §19.11): each text
 * kept where it first appears. Past {@link MAX_CATEGORIES} categories, or a category longer than
 * `MAX_CLASS_NAME_BYTES`, it keeps none and says so (`over`): a B that padded its dictionary past the
 * bound is then a change against an A within it, not a column left uncompared.
 */
class CategoryCollector {
  private readonly seen = new Set<string>();
  values: string[] = [];
  over = false;
  constructor(readonly ordered: boolean) {}

  add(category: string): void {
    if (this.over || this.seen.has(category)) return;
    if (this.values.length >= MAX_CATEGORIES || utf8Length(category) > MAX_CLASS_NAME_BYTES) {
      this.over = true;
      this.seen.clear();
      this.values = [];
      return;
    }
    this.seen.add(category);
    this.values.push(category);
  }
}

/** Most UTF-16 code units of a category a message shows. */
const CATEGORY_SHOWN = 64;

/** Most categories of a pandas categorical column signed (FORMAT §19.11): as many as a ClassLabel's names. */
export const MAX_CATEGORIES = MAX_CLASS_NAMES;

/** SHA-256 of the first `size` bytes of `fh`, read in {@link READ_CHUNK} pieces (the digest not yet taken). */
async function hashWhole(fh: FileHandle, size: number): Promise<ReturnType<typeof newHash>> {
  const hash = newHash();
  const chunk = Buffer.allocUnsafe(READ_CHUNK);
  for (let pos = 0; pos < size; ) {
    const n = Math.min(READ_CHUNK, size - pos);
    await readFully(fh, chunk.subarray(0, n), pos);
    hash.update(chunk.subarray(0, n));
    pos += n;
  }
  return hash;
}

/**
 * Read the records of a Parquet file into `sink`, one row group at a time (each row group's pages
 * checked against the bounds first, see `checkRowGroupPages`; its rows made one at a time from its
 * decoded columns).
 * @param options.maxRowGroupValues the bound on a row group's values (default {@link MAX_ROW_GROUP_VALUES}; smaller in tests)
 * @param options.maxPageHeaderValues the bound on a page header's Thrift values (default {@link MAX_PAGE_HEADER_VALUES}; smaller in tests)
 * @throws SnapError `RECORDS_MALFORMED` (not Parquet, truncated, undecodable) | `RECORDS_UNSUPPORTED` |
 *   `RECORDS_LIMIT` | `RECORDS_KEY_*` | `RECORDS_LABEL_MISSING` | `FILE_CHANGED` | `NOT_FOUND` | `IO_ERROR`
 */
export async function readParquet(abs: string, rel: string, fields: RecordFields, sink: RecordSink, options: { maxRowGroupValues?: number; maxPageHeaderValues?: number } = {}): Promise<ReadResult> {
  let fh: FileHandle;
  fh = await openDataFile(abs);
  try {
    const before = await fh.stat({ bigint: true });
    const size = Number(before.size);
    const hash = await hashWhole(fh, size);
    const malformed = (why: string) => new SnapError('RECORDS_MALFORMED', `${rel}: ${why}`, { path: rel });
    if (size < 12) throw malformed('not a Parquet file (too short; truncated?)');
    const tail = Buffer.alloc(8);
    await readFully(fh, tail, size - 8);
    if (tail.readUInt32LE(4) !== MAGIC) throw malformed('not a Parquet file (no PAR1 at its end; truncated?)');
    const metaLen = tail.readUInt32LE(0);
    if (metaLen > size - 12) throw malformed(`its footer claims ${metaLen} bytes of metadata, more than the file holds (truncated?)`);
    if (metaLen > MAX_METADATA_BYTES) throw new SnapError('RECORDS_LIMIT', `${rel}: its metadata is larger than ${MAX_METADATA_BYTES} bytes`, { path: rel });
    // The footer's Thrift values are counted before hyparquet decodes them (MAX_METADATA_VALUES).
    const footer = Buffer.alloc(metaLen + 8);
    await readFully(fh, footer, size - 8 - metaLen);
    try {
      walkThriftStruct(footer.subarray(0, metaLen), 0, MAX_METADATA_VALUES);
    } catch (e) {
      if (isSnapError(e) && e.code === 'RECORDS_LIMIT') throw new SnapError('RECORDS_LIMIT', `${rel}: its metadata ${e.message.replace(/^a Thrift structure /, '')}`, { path: rel });
      throw malformed(`cannot read its metadata (${(e as Error).message})`);
    }
    const file: AsyncBuffer = {
      byteLength: size,
      async slice(start: number, end?: number): Promise<ArrayBuffer> {
        const stop = Math.min(end ?? size, size);
        // A buffer of its own, handed over as it is (slicing it would copy it).
        const buf = new Uint8Array(Math.max(0, stop - start));
        await readFully(fh, buf, start);
        return buf.buffer;
      },
    };
    let meta: FileMetaData;
    try {
      // Default parsers here: column statistics of a binary column need not be UTF-8 (and do not make records).
      meta = parquetMetadata(footer);
    } catch (e) {
      if (isSnapError(e)) throw located(e, rel, {});
      throw malformed(`cannot read its metadata (${(e as Error).message}; truncated?)`);
    }
    const leaves = checkSchema(meta, rel, fields);
    // The column types Arrow reads (§19.11), from the annotations as the file has them (columnReadings rewrites them for the decoder).
    const durationUnits = new Map<string, bigint>();
    const timeZones = new Map<string, string>();
    const categoricals = new Map<string, boolean>();
    const extensions = new Map<string, string>();
    const durations = arrowDurations(meta, rel, durationUnits, timeZones, categoricals, extensions);
    let columnTypes = parquetColumnTypes(parquetSchema(meta) as TypedNode, durationUnits, classNamesOf(meta, rel), timeZones, extensions);
    // pandas categoricals (§19.11): their categories as pyarrow builds them — each row group's
    // dictionary page in order, then the group's values in row order, each kept where it first appears.
    const categories = new Map<string, CategoryCollector>();
    const dictionaryPages = new Map<number, (values: Uint8Array[]) => void>();
    for (const [name, ordered] of categoricals) {
      const i = leaves.findIndex((l) => l.path.length === 1 && l.path[0] === name);
      if (i < 0) continue;
      const el = (leaves[i] as Leaf).element;
      const text = el.converted_type === 'UTF8' || (el.logical_type as { type?: string } | undefined)?.type === 'STRING';
      const collector = new CategoryCollector(ordered);
      categories.set(name, collector);
      dictionaryPages.set(i, (values) => {
        // A value twice in one page: pyarrow's categorical reading keeps it once, so every index past
        // it names the next value ([aaa, aaa, ccc, ddd]: index 2 read ddd) where the page, snap's
        // reader and pyarrow's plain reading give ccc. No writer writes a value twice.
        const page = new Set<string>();
        for (const v of values) {
          let category: string;
          try {
            category = text ? strict.decode(v) : (parquetValue(v) as string);
          } catch {
            throw malformed(`column ${JSON.stringify(name)} has a dictionary value that is not UTF-8`);
          }
          if (page.has(category)) throw malformed(`column ${JSON.stringify(name)} has a dictionary page that holds ${JSON.stringify(category.slice(0, CATEGORY_SHOWN))}${category.length > CATEGORY_SHOWN ? '…' : ''} twice: pandas keeps each category once, so the indices after it would name other labels than the page's (which snap reads)`);
          page.add(category);
          collector.add(category);
        }
      });
    }
    // Any other column of byte arrays whose dictionary page holds a value twice: pyarrow reads a
    // column as a dictionary not only as a pandas categorical but where ARROW:schema makes a nested
    // field one (a struct member, a list's element) or a reader asks (read_dictionary=), and its
    // dictionary reading keeps each value once: a struct member's page [aaa, aaa, ccc, ddd] with
    // indices [2, 2, 0] read ddd, ddd, aaa to pyarrow and pandas, ccc, ccc, aaa to snap, and check
    // passed. No writer writes a value twice.
    const categoricalLeaves = new Set(dictionaryPages.keys());
    leaves.forEach((leaf, i) => {
      if (leaf.element.type !== 'BYTE_ARRAY' || dictionaryPages.has(i)) return;
      const column = leaf.path.join('.');
      dictionaryPages.set(i, (values) => {
        const page = new Set<string>();
        for (const v of values) {
          const bytes = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
          const key = bytes.toString('latin1');
          if (page.has(key)) {
            let shown: string;
            try {
              shown = JSON.stringify(strict.decode(v).slice(0, CATEGORY_SHOWN));
            } catch {
              shown = `0x${bytes.subarray(0, CATEGORY_SHOWN).toString('hex')}`;
            }
            throw malformed(`column ${JSON.stringify(column)} has a dictionary page that holds ${shown}${bytes.length > CATEGORY_SHOWN ? '…' : ''} twice: pyarrow's dictionary reading (a dictionary field of ARROW:schema, read_dictionary=) keeps each value once, so the indices after it would name other values than the page's (which snap reads)`);
          }
          page.add(key);
        }
      });
    });
    const readings = columnReadings(leaves, rel);
    for (const [key, convert] of durations) {
      const path = JSON.parse(key) as string[];
      const flat = leaves.find((l) => l.path.length === 1 && l.path[0] === path[0] && l.element.repetition_type !== 'REPEATED');
      if (path.length === 1 && flat) readings.flat.set(path[0] as string, convert);
      else readings.nested.set(key, convert);
    }
    const decimals = new Map(leaves.filter((l) => l.path.length === 1 && l.element.converted_type === 'DECIMAL' && l.element.type !== 'INT32').map((l) => [l.path[0] as string, l.element]));
    const shapes = new ObjectShapes(fields);
    const ratioText = process.env[DECODED_RATIO_ENV];
    const ratio = ratioText !== undefined && /^[1-9][0-9]{0,8}$/.test(ratioText) ? Number(ratioText) : DECODED_BYTES_PER_STORED_BYTE;
    const budget = Math.max(MIN_DECODED_BYTES, ratio * size);
    let decoded = 0;
    let rowStart = 0;
    let row = 0;
    for (let g = 0; g < meta.row_groups.length; g++) {
      const rg = meta.row_groups[g] as FileMetaData['row_groups'][number];
      if (rg.total_byte_size > BigInt(MAX_ROW_GROUP_BYTES)) throw new SnapError('RECORDS_LIMIT', `${rel}: row group ${g} holds ${rg.total_byte_size} bytes uncompressed, more than ${MAX_ROW_GROUP_BYTES}`, { path: rel });
      checkColumnChunks(rg, g, leaves, rel);
      const entries = await checkRowGroupPages(file, leaves, rg, g, rel, options.maxRowGroupValues ?? MAX_ROW_GROUP_VALUES, options.maxPageHeaderValues ?? MAX_PAGE_HEADER_VALUES, dictionaryPages, categoricalLeaves);
      const rows = Number(rg.num_rows);
      // Before the group is decoded: its rows and its lists' entries, which it holds all at once.
      if (decoded + rows * ROW_DECODED_BYTES + entries * REPEATED_ENTRY_DECODED_BYTES > budget) {
        throw new SnapError('RECORDS_LIMIT', `${rel}: row group ${g} declares ${rows} rows and ${entries} entries of repeated columns (lists), more than ${budget} bytes to decode (${ROW_DECODED_BYTES} a row and ${REPEATED_ENTRY_DECODED_BYTES} an entry), ${ratio} × the file's ${size} bytes (or ${MIN_DECODED_BYTES}) less the ${decoded} its earlier rows decoded to (${DECODED_RATIO_ENV}=N sets the ratio for a file that holds them)`, { path: rel });
      }
      // The group's columns, decoded (one list of chunks per top-level column, in schema order);
      // its rows are made from them one at a time, so only one row object is alive at once.
      const columns = new Map<string, { data: ArrayLike<unknown>; start: number }[]>();
      try {
        await parquetRead({
          file,
          metadata: meta,
          rowStart,
          rowEnd: rowStart + rows,
          compressors: CODECS,
          utf8: false,
          parsers: PARSERS,
          // A leaf inside a group: its values converted on each decoded page, before they are assembled.
          onPage: (p) => {
            const f = readings.nested.get(JSON.stringify(p.pathInSchema));
            if (!f) return;
            if (!Array.isArray(p.columnData)) throw new SnapError('RECORDS_UNSUPPORTED', `${rel}: column ${JSON.stringify(p.pathInSchema.join('.'))} was decoded in a form snap's reader does not convert`, { path: rel });
            convertInPlace(p.columnData, f);
          },
          onChunk: (c) => {
            let list = columns.get(c.columnName);
            if (!list) columns.set(c.columnName, (list = []));
            list.push({ data: c.columnData as ArrayLike<unknown>, start: c.rowStart });
          },
        });
      } catch (e) {
        if (isSnapError(e)) throw located(e, rel, { row: row + 1 });
        throw malformed(`row group ${g} cannot be read (${(e as Error).message}; truncated or corrupt?)`);
      }
      // Each column must give a value for every row of the group, its chunks one after another.
      const cursors = [...columns].map(([name, chunks]) => {
        const decimal = decimals.get(name);
        let at = rowStart;
        for (const c of chunks) {
          if (c.start !== at) throw malformed(`row group ${g}: column ${JSON.stringify(name)} does not give its rows in order`);
          at += c.data.length;
        }
        if (at < rowStart + rows) throw malformed(`row group ${g} gave ${at - rowStart} rows of column ${JSON.stringify(name)} where its metadata says ${rows}`);
        return { name, chunks, chunk: 0, offset: 0, decimal, convert: readings.flat.get(name), local: readings.local.has(name), categories: categories.get(name) };
      });
      if (rows > 0 && cursors.length === 0) throw malformed(`row group ${g} gave no columns for its ${rows} rows`);
      for (let i = 0; i < rows; i++) {
        const r: Record<string, unknown> = Object.create(null); // a column named __proto__ is a column, not the prototype
        for (const c of cursors) {
          let ch = c.chunks[c.chunk] as { data: ArrayLike<unknown> };
          while (c.offset >= ch.data.length) {
            c.chunk++;
            c.offset = 0;
            ch = c.chunks[c.chunk] as { data: ArrayLike<unknown> };
          }
          const v = ch.data[c.offset++];
          if (c.decimal) {
            const problem = decimalProblem(v, c.decimal);
            if (problem) throw located(new SnapError('RECORDS_MALFORMED', problem), rel, { row: row + 1 });
          }
          r[c.name] = v;
          decoded += decodedBytes(v);
        }
        row++;
        decoded += ROW_DECODED_BYTES;
        if (decoded > budget) {
          throw new SnapError('RECORDS_LIMIT', `${rel}: row ${row} (row group ${g}): its rows decode to more than ${budget} bytes, ${ratio} × the file's ${size} bytes (or ${MIN_DECODED_BYTES}): values repeated by dictionary, run-length or delta encoding past what snap reads (${DECODED_RATIO_ENV}=N sets the ratio for a file that holds them)`, { path: rel, row });
        }
        try {
          for (const c of cursors) {
            const v = r[c.name];
            r[c.name] = v === null || v === undefined ? null : c.convert ? c.convert(v) : parquetValue(v, 1, c.local);
            if (c.categories && typeof r[c.name] === 'string') c.categories.add(r[c.name] as string);
          }
          sink(shapes.forms(r), row, 0);
        } catch (e) {
          throw located(e, rel, { row });
        }
      }
      columns.clear();
      rowStart += rows;
    }
    if (columnTypes && categories.size > 0) {
      for (const c of columnTypes) {
        const collected = categories.get(c.name);
        if (collected) c.categories = collected.over ? { ordered: collected.ordered, overBounds: true } : { ordered: collected.ordered, values: collected.values };
      }
      columnTypes = categoriesWithinBound(columnTypes);
    }
    const after = await fh.stat({ bigint: true });
    if (after.size !== before.size || after.mtimeNs !== before.mtimeNs || after.ctimeNs !== before.ctimeNs || after.ino !== before.ino) {
      throw new SnapError('FILE_CHANGED', `${rel} changed while its records were read`, { path: rel });
    }
    return { sha256: hash.digest('hex'), bytes: size, records: row, ...(columnTypes ? { columnTypes } : {}) };
  } catch (e) {
    if (isSnapError(e)) throw e;
    throw ioError(e, abs, 'cannot read');
  } finally {
    await fh.close();
  }
}
