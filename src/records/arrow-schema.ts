/**
 * The durations of an Arrow schema that pyarrow stores in a Parquet file's key-value metadata
 * (`ARROW:schema`): pyarrow writes a DURATION as a plain INT64, its unit only there, and reads the
 * column back as `timedelta`s of that unit (`parquet/arrow/schema.cc`, `ApplyOriginalMetadata`).
 * So the same integers are 1 second or 1 millisecond depending on these bytes alone.
 *
 * The value is the base64 of an Arrow IPC message (Arrow Columnar Format, "Encapsulated message
 * format": an optional 0xFFFFFFFF continuation marker, a 32-bit little-endian length, then a
 * FlatBuffers `Message` whose header is a `Schema`, format/Schema.fbs and Message.fbs). Only what
 * finding durations needs is read: each field's type and children. Every offset is checked
 * against the buffer, and the fields visited are bounded (a FlatBuffer can name one table from
 * many places, so a small buffer can describe an exponentially large tree), and so are the bytes of
 * the names read, to the message's own length (a schema as Arrow writes it stores each field's name
 * once): one name of 1 MB named by 40,000 fields was 40 GB of strings, and a Parquet file of 3.6 MB
 * took node past its heap.
 *
 * Pure: bytes in, a description out. Errors are SnapErrors without a location.
 */
import { SnapError } from '../core/errors.js';

/** Arrow `Type` union tag of `Duration` (format/Schema.fbs: NONE 0, Null 1, … Map 17, Duration 18). */
export const TYPE_DURATION = 18;
/** Arrow `Type` union tag of `Timestamp` (format/Schema.fbs). */
export const TYPE_TIMESTAMP = 10;
/** Arrow `Type` union tag of `Struct_`. */
export const TYPE_STRUCT = 13;
/** Arrow `Type` union tags of the lists: List 12, FixedSizeList 16, LargeList 21, ListView 25, LargeListView 26. */
export const TYPE_LISTS: ReadonlySet<number> = new Set([12, 16, 21, 25, 26]);
/** The `Type` tags of strings and binaries (Binary, Utf8, LargeBinary, LargeUtf8, BinaryView, Utf8View): a dictionary of them is what pyarrow gives pandas as a categorical. */
export const TYPE_STRINGS: ReadonlySet<number> = new Set([4, 5, 19, 20, 23, 24]);
/** Arrow `MessageHeader` union tag of `Schema` (format/Message.fbs). */
const HEADER_SCHEMA = 1;
/**
 * The `MetadataVersion`s (format/Schema.fbs: V1 0 … V4 3, V5 4; absent is V1) pyarrow reads: it
 * refuses the file for any other ("Old metadata version not supported", "Unsupported future
 * MetadataVersion"), so snap does not read durations from such a schema either.
 */
const READ_METADATA_VERSIONS: ReadonlySet<number> = new Set([3, 4]);
/** Nanoseconds in each Arrow `TimeUnit` (SECOND 0, MILLISECOND 1, MICROSECOND 2, NANOSECOND 3). */
const TIME_UNIT_NANOS = [1_000_000_000n, 1_000_000n, 1_000n, 1n] as const;
/** Base64 as pyarrow (25) takes it: the RFC 4648 §4 alphabet, `=` padding at the end only (a space, a line feed, the URL-safe alphabet or a missing pad fails its read). */
const STRICT_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Arrow's default `Duration.unit`: MILLISECOND. */
const DEFAULT_TIME_UNIT = 1;

/** A field of the Arrow schema: its name, its type, and the fields inside it. */
export interface ArrowField {
  name: string;
  /** Its `Type` union tag (format/Schema.fbs). */
  type: number;
  /** The field is a DURATION: nanoseconds in one of its units. */
  durationUnit?: bigint;
  /**
   * The field is a TIMESTAMP with a time zone (`Timestamp.timezone`, not empty): pyarrow gives it to
   * a column Parquet stores adjusted to UTC (`ApplyOriginalMetadata`), so pandas shows its times there.
   */
  timezone?: string;
  /**
   * The field is dictionary-encoded (`Field.dictionary`, a `DictionaryEncoding`): `type` is then its
   * values' type, and `ordered` its `isOrdered` — what pandas reads as a categorical's `ordered`.
   */
  dictionary?: { ordered: boolean };
  /**
   * The field's extension type (`ARROW:extension:name` of `Field.custom_metadata`, and its
   * `ARROW:extension:metadata` when given), when it has one: pandas' `pandas.period` and
   * `pandas.interval`, Arrow's `arrow.uuid`, …, which pyarrow reads as that type (a period of days
   * for its stored integers).
   */
  extension?: { name: string; metadata?: string };
  /** A list's element, a struct's members, …, in order. */
  children: ArrowField[];
}

/** The key of a field's `custom_metadata` that names its extension type (Arrow's columnar format, "Extension Types"). */
export const EXTENSION_NAME_KEY = 'ARROW:extension:name';
/** The key of a field's `custom_metadata` that holds its extension type's parameters (pandas' `{"freq": "D"}`). */
export const EXTENSION_METADATA_KEY = 'ARROW:extension:metadata';

/** One pair of the schema's own key-value metadata (`Schema.custom_metadata`: pyarrow's `schema.metadata`). */
export interface ArrowKeyValue {
  key: string;
  value: string;
}

/** Whether `f`, or a field inside it, is a DURATION. */
export function holdsDuration(f: ArrowField): boolean {
  return f.durationUnit !== undefined || f.children.some(holdsDuration);
}

/**
 * The top-level fields of the Arrow schema in an `ARROW:schema` value, in order.
 * @param maxFields most fields (top-level and nested, each visit counted) read before `RECORDS_LIMIT`
 * @param maxDepth deepest nesting of fields before `RECORDS_LIMIT`
 * @param metadata filled, when given, with the schema's own key-value metadata (`custom_metadata`), in
 *   order: what pyarrow reads as the table's metadata (`huggingface`, `pandas`) when the file has an
 *   ARROW:schema, in place of the file's key-value metadata
 * @throws SnapError `RECORDS_MALFORMED` (not strict base64, not an Arrow schema message, or one of
 *   a metadata version before V4 or after V5: pyarrow refuses such a file too, "Invalid base64
 *   input", "Invalid flatbuffers message", "Old metadata version not supported") | `RECORDS_LIMIT` (more fields or deeper than these, or
 *   names that add up to more bytes than the message holds)
 */
export function arrowSchemaFields(base64: string, maxFields: number, maxDepth: number, metadata?: ArrowKeyValue[]): ArrowField[] {
  const bad = (why: string): never => {
    throw new SnapError('RECORDS_MALFORMED', `its Arrow schema (key-value metadata "ARROW:schema") cannot be read: ${why}`);
  };
  // Strict base64 (RFC 4648 §4, padded), as Arrow decodes it: Buffer.from skips any other character
  // and reads what is left, where pyarrow refuses the file ("Invalid base64 input").
  if (base64.length % 4 !== 0 || !STRICT_BASE64.test(base64)) bad('its value is not base64 (RFC 4648, padded, no other character), which pyarrow refuses too');
  const all = Buffer.from(base64, 'base64');
  const le = (b: Buffer, at: number) => (at >= 0 && at + 4 <= b.length ? b.readUInt32LE(at) : bad('it is cut short'));
  let start = 4;
  let length = le(all, 0);
  if (length === 0xffffffff) {
    start = 8;
    length = le(all, 4);
  }
  if (length > all.length - start) bad(`its message declares ${length} bytes, more than it holds`);
  const b = all.subarray(start, start + length);
  const u32 = (at: number) => le(b, at);
  const u16 = (at: number) => (at >= 0 && at + 2 <= b.length ? b.readUInt16LE(at) : bad('it is cut short'));
  const i32 = (at: number) => (at >= 0 && at + 4 <= b.length ? b.readInt32LE(at) : bad('it is cut short'));
  /** Where field `k` of the table at `table` is, or undefined (absent: its default). */
  const slot = (table: number, k: number): number | undefined => {
    const vt = table - i32(table);
    const size = u16(vt);
    if (size < 4 || vt + size > b.length) bad('a table has no valid vtable');
    if (4 + 2 * k + 2 > size) return undefined;
    const off = u16(vt + 4 + 2 * k);
    return off === 0 ? undefined : table + off;
  };
  const ref = (at: number) => {
    const to = at + u32(at);
    if (to >= b.length) bad('an offset points past its end');
    return to;
  };
  const vector = (table: number, k: number): number[] => {
    const at = slot(table, k);
    if (at === undefined) return [];
    const v = ref(at);
    const n = u32(v);
    if (n > (b.length - v - 4) / 4) bad('a vector holds more elements than it has bytes');
    return Array.from({ length: n }, (_, i) => ref(v + 4 + 4 * i));
  };
  const byte = (table: number, k: number, dflt: number) => {
    const at = slot(table, k);
    return at === undefined ? dflt : at < b.length ? (b[at] as number) : bad('it is cut short');
  };

  const message = ref(0);
  const versionAt = slot(message, 0);
  const version = versionAt === undefined ? 0 : versionAt >= 0 && versionAt + 2 <= b.length ? b.readInt16LE(versionAt) : bad('it is cut short');
  if (!READ_METADATA_VERSIONS.has(version)) bad(`its message has the metadata version ${version} (V${version + 1}); pyarrow reads V4 and V5 only, and refuses the file`);
  if (byte(message, 1, 0) !== HEADER_SCHEMA) bad('its message is not a schema');
  const headerAt = slot(message, 2);
  if (headerAt === undefined) bad('its message has no schema');
  const schema = ref(headerAt as number);
  let visited = 0;
  let nameBytes = 0;
  const visit = (depth: number) => {
    if (++visited > maxFields) throw new SnapError('RECORDS_LIMIT', `its Arrow schema (key-value metadata "ARROW:schema") has more than ${maxFields} fields`);
    if (depth > maxDepth) throw new SnapError('RECORDS_LIMIT', `its Arrow schema (key-value metadata "ARROW:schema") nests fields deeper than ${maxDepth} levels`);
  };
  /** Nanoseconds in one unit of the field at `field` when it is a DURATION, else undefined. */
  const durationUnit = (field: number): bigint | undefined => {
    if (byte(field, 2, 0) !== TYPE_DURATION) return undefined;
    const typeAt = slot(field, 3);
    let unit = DEFAULT_TIME_UNIT;
    if (typeAt !== undefined) {
      const u = slot(ref(typeAt), 0);
      if (u !== undefined) unit = u16(u);
    }
    return TIME_UNIT_NANOS[unit as 0 | 1 | 2 | 3] ?? bad(`a duration has the unknown time unit ${unit}`);
  };
  /** The time zone of the field at `field` when it is a TIMESTAMP that has one (`Timestamp.timezone`, slot 1), else undefined. */
  const timezone = (field: number): string | undefined => {
    if (byte(field, 2, 0) !== TYPE_TIMESTAMP) return undefined;
    const typeAt = slot(field, 3);
    if (typeAt === undefined) return undefined;
    const at = slot(ref(typeAt), 1);
    if (at === undefined) return undefined;
    const s = ref(at);
    const n = u32(s);
    if (n > b.length - s - 4) bad('a time zone runs past its end');
    nameBytes += n; // bounded with the names: many fields can name one long zone
    if (nameBytes > b.length) throw new SnapError('RECORDS_LIMIT', `its Arrow schema (key-value metadata "ARROW:schema") has names and time zones that add up to more than its ${b.length} bytes (one string read for many fields)`);
    return b.subarray(s + 4, s + 4 + n).toString('utf8') || undefined;
  };
  /** A string of the schema at `at` (its length, then its bytes), counted with the names. */
  const stringAt = (at: number): string => {
    const s = ref(at);
    const n = u32(s);
    if (n > b.length - s - 4) bad('a string runs past its end');
    nameBytes += n;
    if (nameBytes > b.length) throw new SnapError('RECORDS_LIMIT', `its Arrow schema (key-value metadata "ARROW:schema") has names and metadata that add up to more than its ${b.length} bytes (one string read for many fields)`);
    return b.subarray(s + 4, s + 4 + n).toString('utf8');
  };
  /** The values of `ARROW:extension:name` and `ARROW:extension:metadata` in the field's `custom_metadata` (slot 6: KeyValue tables, key slot 0, value slot 1); undefined without a name. */
  const extensionOf = (field: number): { name: string; metadata?: string } | undefined => {
    let name: string | undefined;
    let metadata: string | undefined;
    for (const kv of vector(field, 6)) {
      const key = slot(kv, 0);
      const value = slot(kv, 1);
      if (key === undefined || value === undefined) continue;
      const k = stringAt(key);
      if (k === EXTENSION_NAME_KEY) name = stringAt(value);
      else if (k === EXTENSION_METADATA_KEY) metadata = stringAt(value);
    }
    return name === undefined ? undefined : { name, ...(metadata ? { metadata } : {}) };
  };
  /** The field at `field`, and the fields inside it. */
  const fieldAt = (field: number, depth: number): ArrowField => {
    visit(depth);
    const nameAt = slot(field, 0);
    let name = '';
    if (nameAt !== undefined) {
      const s = ref(nameAt);
      const n = u32(s);
      if (n > b.length - s - 4) bad('a name runs past its end');
      nameBytes += n;
      if (nameBytes > b.length) throw new SnapError('RECORDS_LIMIT', `its Arrow schema (key-value metadata "ARROW:schema") has names that add up to more than its ${b.length} bytes (one name read for many fields)`);
      name = b.subarray(s + 4, s + 4 + n).toString('utf8');
    }
    const unit = durationUnit(field);
    const zone = timezone(field);
    // Field.dictionary (slot 4): a DictionaryEncoding table, its isOrdered in slot 2 (format/Schema.fbs).
    const dictAt = slot(field, 4);
    const dictionary = dictAt === undefined ? undefined : { ordered: byte(ref(dictAt), 2, 0) !== 0 };
    const children = vector(field, 5).map((child) => fieldAt(child, depth + 1));
    const extension = extensionOf(field);
    return { name, type: byte(field, 2, 0), ...(unit !== undefined ? { durationUnit: unit } : {}), ...(zone ? { timezone: zone } : {}), ...(dictionary ? { dictionary } : {}), ...(extension !== undefined ? { extension } : {}), children };
  };
  const fields = vector(schema, 1).map((field) => fieldAt(field, 1));
  if (metadata) {
    // Schema.custom_metadata (slot 2): KeyValue tables of key (slot 0) and value (slot 1). Bounded
    // like the names: many entries can name one long string.
    let textBytes = 0;
    const text = (table: number, k: number): string => {
      const at = slot(table, k);
      if (at === undefined) return '';
      const s = ref(at);
      const n = u32(s);
      if (n > b.length - s - 4) bad('a metadata string runs past its end');
      textBytes += n;
      if (textBytes > b.length) throw new SnapError('RECORDS_LIMIT', `its Arrow schema (key-value metadata "ARROW:schema") has metadata that adds up to more than its ${b.length} bytes (one string read for many entries)`);
      return b.subarray(s + 4, s + 4 + n).toString('utf8');
    };
    for (const kv of vector(schema, 2)) metadata.push({ key: text(kv, 0), value: text(kv, 1) });
  }
  return fields;
}
