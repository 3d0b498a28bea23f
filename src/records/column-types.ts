/**
 * The column types of a Parquet record set (docs/FORMAT.md §19.11): for each top-level column, the
 * type Arrow (pyarrow, pandas) reads it as — the physical type and its logical (else converted)
 * annotation, a time's unit and UTC flag, a decimal's precision and scale, a duration's unit, and
 * the nesting of lists and structs — as one short text (`INT64`, `STRING`, `DECIMAL(10, 2)`,
 * `TIMESTAMP(MICROS, UTC)`, `LIST<STRUCT<"a": INT32>>`).
 *
 * A record's fingerprint does not see most type changes: the canonical form (§19.3) writes an INT64
 * `3` as the text `"3"`, like a STRING `"3"`. So the seal signs the types too, as a small
 * content-addressed object (the "schema object", RFC 8785 JSON) whose SHA-256 is the set's `schema`
 * member, and `diff`, `verify` and `check` compare them column by column.
 *
 * Pure: the schema tree in, texts and bytes out; bytes in, checked columns out.
 */
import { hash as oneShot } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.js';
import { SnapError } from '../core/errors.js';
import { isObject } from '../core/is-object.js';
import { isWellFormed, MAX_SCHEMA_OBJECT_BYTES } from '../core/records.js';
import { utf8Length } from '../core/paths.js';

/** Most columns a schema object lists (a Parquet file snap reads has at most 10,000 leaf columns, read-common.ts `MAX_COLUMNS`). */
export const MAX_SCHEMA_COLUMNS = 10_000;
/** Longest column name a schema object holds, in UTF-8 bytes; a file with a longer top-level name has no schema object signed. */
export const MAX_SCHEMA_NAME_BYTES = 4096;
/**
 * Longest type text, in UTF-8 bytes (a wide struct's). A longer one is cut, and ends with
 * {@link CUT_TYPE_MARK} and the first 16 hex digits of the whole text's SHA-256: still another text
 * when the type changes.
 */
export const MAX_COLUMN_TYPE_BYTES = 1024;
/** What ends a cut type text, before its digest. */
export const CUT_TYPE_MARK = '… sha256:';

/** One column and its type, as a schema object lists it. */
export interface ColumnType {
  name: string;
  type: string;
}

/** A column whose type differs between two sides. */
export interface TypeChange {
  column: string;
  a: string;
  b: string;
}

/** The type comparison of a Parquet set: its changed columns, and a side whose types are not known (and why). */
export interface SetTypes {
  changes: TypeChange[];
  /** `missing`: a side signs a column-types object the store does not have (`check` breaches, rule `unavailable`). */
  unknown?: { side: 'a' | 'b' | 'both'; reason: string; missing?: true };
}

/** Why a side has no types: its statement has no `schema` member. */
export const TYPES_NOT_RECORDED = 'types not recorded (sealed by an older snap)';

/** The schema element members this module reads (hyparquet's `SchemaElement`). */
export interface TypedElement {
  name: string;
  type?: string;
  type_length?: number;
  repetition_type?: string;
  converted_type?: string;
  logical_type?: unknown;
  scale?: number;
  precision?: number;
}

/** A node of the schema tree (hyparquet's `parquetSchema`). */
export interface TypedNode {
  element: TypedElement;
  children: TypedNode[];
  path: string[];
}

const UNIT_NAMES = new Map<bigint, string>([
  [1_000_000_000n, 'SECONDS'],
  [1_000_000n, 'MILLIS'],
  [1_000n, 'MICROS'],
  [1n, 'NANOS'],
]);

/** A leaf's type text: its logical type, else its converted type, else its physical type. */
function leafType(el: TypedElement, durationUnit: bigint | undefined): string {
  if (durationUnit !== undefined) return `DURATION(${UNIT_NAMES.get(durationUnit) ?? String(durationUnit)})`;
  const lt = el.logical_type as { type?: string; unit?: string; isAdjustedToUTC?: boolean; bitWidth?: number; isSigned?: boolean; scale?: number; precision?: number } | undefined;
  const ct = el.converted_type;
  if (lt?.type) {
    switch (lt.type) {
      case 'INTEGER':
        return `${lt.isSigned ? 'INT' : 'UINT'}${String(lt.bitWidth)}`;
      case 'DECIMAL':
        return `DECIMAL(${String(lt.precision)}, ${String(lt.scale)})`;
      case 'TIMESTAMP':
      case 'TIME':
        return `${lt.type}(${String(lt.unit)}${lt.isAdjustedToUTC ? ', UTC' : ''})`;
      default:
        return lt.type;
    }
  }
  if (ct) {
    if (ct === 'UTF8') return 'STRING';
    if (ct.startsWith('INT_') || ct.startsWith('UINT_')) return ct.replace('_', '');
    if (ct === 'DECIMAL') return `DECIMAL(${String(el.precision)}, ${String(el.scale ?? 0)})`;
    if (ct === 'TIMESTAMP_MILLIS' || ct === 'TIMESTAMP_MICROS') return `TIMESTAMP(${ct.slice(10)}, UTC)`;
    if (ct === 'TIME_MILLIS' || ct === 'TIME_MICROS') return `TIME(${ct.slice(5)}, UTC)`;
    return ct;
  }
  if (el.type === 'BYTE_ARRAY') return 'BINARY';
  if (el.type === 'FIXED_LEN_BYTE_ARRAY') return `FIXED_LEN_BYTE_ARRAY(${String(el.type_length)})`;
  return el.type ?? 'NONE';
}

/** A node's type text, nesting included (a repeated field outside a LIST group is a list of it, as Arrow reads it). */
function nodeType(node: TypedNode, durations: ReadonlyMap<string, bigint>, inList = false): string {
  const el = node.element;
  if (el.repetition_type === 'REPEATED' && !inList) return `LIST<${nodeType(node, durations, true)}>`;
  if (node.children.length === 0) return leafType(el, durations.get(JSON.stringify(node.path)));
  const listed = el.converted_type === 'LIST' || (el.logical_type as { type?: string } | undefined)?.type === 'LIST';
  if (listed && node.children.length === 1) {
    const repeated = node.children[0] as TypedNode;
    // The standard three levels (a repeated group of one child), else the repeated field is the element.
    const element = repeated.children.length === 1 && repeated.element.name !== 'array' && repeated.element.name !== `${el.name}_tuple` ? (repeated.children[0] as TypedNode) : repeated;
    return `LIST<${nodeType(element, durations, element === repeated)}>`;
  }
  return `STRUCT<${node.children.map((c) => `${JSON.stringify(c.element.name)}: ${nodeType(c, durations)}`).join(', ')}>`;
}

/** A type text within {@link MAX_COLUMN_TYPE_BYTES}. */
function bounded(type: string): string {
  if (utf8Length(type) <= MAX_COLUMN_TYPE_BYTES) return type;
  const tail = `${CUT_TYPE_MARK}${oneShot('sha256', type, 'hex').slice(0, 16)}`;
  let head = Buffer.from(type, 'utf8').subarray(0, MAX_COLUMN_TYPE_BYTES - utf8Length(tail)).toString('utf8');
  while (!isWellFormed(head) || head.endsWith('\ufffd') || utf8Length(head) + utf8Length(tail) > MAX_COLUMN_TYPE_BYTES) head = head.slice(0, -1);
  return head + tail;
}

/**
 * The types of a Parquet file's top-level columns, in schema order.
 * @param root the schema tree (hyparquet `parquetSchema`), its converted types as the file has them
 * @param durations leaf path (`JSON.stringify`) → nanoseconds in the unit, for the leaves pyarrow reads as durations
 * @returns undefined when the file's schema object would be over a bound ({@link MAX_SCHEMA_COLUMNS},
 *   {@link MAX_SCHEMA_NAME_BYTES}, `MAX_SCHEMA_OBJECT_BYTES`): no types are signed for it
 */
export function parquetColumnTypes(root: TypedNode, durations: ReadonlyMap<string, bigint>): ColumnType[] | undefined {
  if (root.children.length > MAX_SCHEMA_COLUMNS) return undefined;
  const out: ColumnType[] = [];
  for (const c of root.children) {
    if (utf8Length(c.element.name) > MAX_SCHEMA_NAME_BYTES || !isWellFormed(c.element.name)) return undefined;
    out.push({ name: c.element.name, type: bounded(nodeType(c, durations)) });
  }
  return schemaObjectBytes(out).length > MAX_SCHEMA_OBJECT_BYTES ? undefined : out;
}

/** The schema object's bytes: `{"columns":[{"name":…,"type":…},…]}` in RFC 8785 form, the columns in schema order. */
export function schemaObjectBytes(columns: readonly ColumnType[]): Buffer {
  return Buffer.from(canonicalJson({ columns: columns.map((c) => ({ name: c.name, type: c.type })) }), 'utf8');
}

/**
 * Parse a schema object's bytes (already checked against the signed digest).
 * @throws SnapError `RECORDS_INDEX_MALFORMED`: over `MAX_SCHEMA_OBJECT_BYTES`, not JSON, not in its
 *   one RFC 8785 form, more than {@link MAX_SCHEMA_COLUMNS} columns, a name twice or over its bound
 */
export function parseSchemaObject(bytes: Uint8Array, name: string): ColumnType[] {
  const bad = (why: string) => new SnapError('RECORDS_INDEX_MALFORMED', `the column-types (schema) object of ${name} is malformed: ${why}`, { path: name });
  if (bytes.length > MAX_SCHEMA_OBJECT_BYTES) throw bad(`it is larger than ${MAX_SCHEMA_OBJECT_BYTES} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw bad('it is not JSON');
  }
  if (!isObject(v) || Object.keys(v).join() !== 'columns' || !Array.isArray(v.columns) || v.columns.length > MAX_SCHEMA_COLUMNS) throw bad(`it is not {"columns": [...]} of at most ${MAX_SCHEMA_COLUMNS} columns`);
  const seen = new Set<string>();
  const columns = (v.columns as unknown[]).map((c) => {
    if (!isObject(c) || Object.keys(c).sort().join() !== 'name,type' || typeof c.name !== 'string' || typeof c.type !== 'string') throw bad('a column is not {"name", "type"}, both strings');
    if (seen.has(c.name) || utf8Length(c.name) > MAX_SCHEMA_NAME_BYTES || utf8Length(c.type) > MAX_COLUMN_TYPE_BYTES) throw bad(`column ${JSON.stringify(c.name)} is named twice or over its bounds`);
    seen.add(c.name);
    return { name: c.name, type: c.type };
  });
  if (!schemaObjectBytes(columns).equals(Buffer.from(bytes))) throw bad('it is not in its one canonical form (RFC 8785)');
  return columns;
}

/** The columns of both sides whose types differ, in B's column order (a column only one side has is a record change, not a type change). */
export function typeChanges(a: readonly ColumnType[], b: readonly ColumnType[]): TypeChange[] {
  const before = new Map(a.map((c) => [c.name, c.type]));
  const out: TypeChange[] = [];
  for (const c of b) {
    const was = before.get(c.name);
    if (was !== undefined && was !== c.type) out.push({ column: c.name, a: was, b: c.type });
  }
  return out;
}

/** A type change as one line: `label: INT64 → STRING` (not escaped: the caller escapes). */
export function typeChangeText(c: TypeChange): string {
  return `${c.column}: ${c.a} → ${c.b}`;
}
