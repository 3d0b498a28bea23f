/**
 * The column types of a Parquet record set, and the column order of a Parquet, CSV or TSV set (docs/FORMAT.md §19.11): for each top-level column, the
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
 * The object lists the columns in file order, so a reorder shows too (a loader that reads by
 * position, `df.iloc[:, -1]`, reads another column while every record is the same by name); a CSV or
 * TSV set gets an object of the same form, its header's names in order, each `STRING`.
 *
 * Pure: the schema tree in, texts and bytes out; bytes in, checked columns out.
 */
import { hash as oneShot } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.js';
import { SnapError } from '../core/errors.js';
import { isObject } from '../core/is-object.js';
import { isWellFormed, MAX_SCHEMA_OBJECT_BYTES } from '../core/records.js';
import { utf8Length } from '../core/paths.js';
import { MAX_CLASS_LABEL_PATH_BYTES, MAX_CLASS_NAME_BYTES, MAX_CLASS_NAMES, MAX_FILE_CLASS_NAMES, MAX_NESTED_CLASS_LABELS, type ClassLabels } from './class-names.js';
import { labelText } from './key-text.js';

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

/**
 * One column and its type, as a schema object lists it; `classNames`: its Hugging Face ClassLabel
 * names, when it has them; `nestedClassNames`: those of the ClassLabels nested in its structs and
 * lists, by path below the column (`.category[]`), when it has any (class-names.ts).
 */
export interface ColumnType {
  name: string;
  type: string;
  classNames?: string[];
  nestedClassNames?: Record<string, string[]>;
  /** A pandas categorical's categories in the order pandas reads them, and `ordered` (read-parquet.ts). */
  categories?: CategoryList;
}

/**
 * The categories of a column pandas reads as a categorical (FORMAT §19.11): `values` in the order
 * `.cat.codes` index, or `overBounds` when there are more, or longer ones, than are signed.
 */
export interface CategoryList {
  ordered: boolean;
  values?: string[];
  overBounds?: true;
}

/** A column whose pandas categories (or their `ordered` flag) differ between two sides (null: not a categorical on that side). */
export interface CategoriesChange {
  column: string;
  a: CategoryList | null;
  b: CategoryList | null;
}

/**
 * A parsed schema object: its columns, and whether it records ClassLabel names (an object written
 * before they were signed has no `classNames` member: its names are not known, not absent).
 */
export interface SchemaObject {
  columns: ColumnType[];
  classNamesRecorded: boolean;
  /** Whether it records the names of ClassLabels nested in structs and lists (`nestedClassNames`). */
  nestedClassNamesRecorded: boolean;
  /** Whether it records pandas categories (`categories`). */
  categoriesRecorded: boolean;
}

/**
 * Which members a schema object has: `columns` only (the first form), `classNames` too, or
 * `nestedClassNames` too (a Parquet set's object now; a CSV or TSV set's keeps the `classNames`
 * form, since its columns have no ClassLabels and its object's bytes stay as they were).
 */
export type SchemaObjectForm = 'columns' | 'classNames' | 'nestedClassNames' | 'categories';

/**
 * A column whose ClassLabel names differ between two sides (null: that side has none); `path`: the
 * ClassLabel nested in the column's structs and lists that changed, by its path below the column
 * (`.category[]`, class-names.ts `classLabelPathStep`); absent for the column's own names.
 */
export interface ClassNamesChange {
  column: string;
  path?: string;
  a: string[] | null;
  b: string[] | null;
}

/** A column whose type differs between two sides. */
export interface TypeChange {
  column: string;
  a: string;
  b: string;
}

/**
 * The columns both sides have, each side's in its own order, when those orders differ (a column
 * moved: a loader that reads by position, `df.iloc[:, -1]`, now reads another column).
 */
export interface ColumnOrderChange {
  a: string[];
  b: string[];
}

/**
 * The columns only one side has: `added` B's that A lacks (in B's order), `removed` A's that B
 * lacks (in A's order). A loader that reads by position (`df.iloc[:, -1]`) reads another column.
 */
export interface ColumnSetChange {
  added: string[];
  removed: string[];
}

/**
 * The column comparison of a set (a Parquet set's types; a CSV or TSV set's header, every column
 * `STRING`): its changed columns, and a side whose types are not known (and why); `order` the
 * shared columns in each side's order when they differ (absent when they do not); `classNames` the
 * columns whose ClassLabel names changed (absent when none did), and `classNamesUnknown` a side
 * whose names are not known (its object predates them).
 */
export interface SetTypes {
  changes: TypeChange[];
  order?: ColumnOrderChange;
  /** The columns added or removed (absent when none were). */
  columns?: ColumnSetChange;
  classNames?: ClassNamesChange[];
  /**
   * `missing`: a side signs a column-types object the store does not have; `overBounds`: one side's
   * file, read here, has a schema over the bounds of §19.11 while the other side's types are known
   * (either way `check` breaches, rule `unavailable`).
   */
  unknown?: { side: 'a' | 'b' | 'both'; reason: string; missing?: true; overBounds?: true };
  /** `nested`: only the names of ClassLabels nested in structs and lists are not known; the columns' own were compared. */
  classNamesUnknown?: { side: 'a' | 'b' | 'both'; reason: string; nested?: true };
  /** The columns whose pandas categories changed (absent when none did). */
  categories?: CategoriesChange[];
  /** A side whose pandas categories are not known (its object predates them, or its types were read from a footer alone). */
  categoriesUnknown?: { side: 'a' | 'b' | 'both'; reason: string };
}

/** Why a side has no ClassLabel names: its column-types object has no `classNames` member. */
export const CLASS_NAMES_NOT_RECORDED = 'class names not recorded (sealed by an older snap)';
/** Why a side has no pandas categories: its column-types object has no `categories` member, or its types were read from its file's footer alone. */
export const CATEGORIES_NOT_RECORDED = 'pandas categories not recorded (sealed by an older snap)';
/** Why a side has no nested ClassLabel names: its column-types object has no `nestedClassNames` member. */
export const NESTED_CLASS_NAMES_NOT_RECORDED = 'ClassLabel names nested in structs and lists not recorded (sealed by an older snap)';
/** Most class names of one side a change's text shows (`--json` has all). */
export const CLASS_NAMES_SHOWN = 10;

/** Why a side has no types: its statement has no `schema` member. */
export const TYPES_NOT_RECORDED = 'types not recorded (sealed by an older snap)';
/** Why a CSV, TSV or JSONL side has no column order: its statement has no `schema` member. */
export const COLUMN_ORDER_NOT_RECORDED = 'column order not recorded (sealed by an older snap)';
/** The type text of every column of a CSV or TSV set (every field is a string, §19.3). */
export const DELIMITED_COLUMN_TYPE = 'STRING';
/** The type text of every column of a JSONL set (a member's value is any JSON value; its type is in its RFC 8785 text, §19.3). */
export const JSONL_COLUMN_TYPE = 'JSON';
/** Most column names of each side a column order change's text shows (`--json` has all). */
export const COLUMN_ORDER_SHOWN = 20;

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

/** The time zone Arrow gives a timestamp adjusted to UTC when its Arrow field names none: written as before, `TIMESTAMP(MICROS, UTC)`. */
const ARROW_UTC = 'UTC';

/**
 * A leaf's type text: its logical type, else its converted type, else its physical type; a
 * timestamp adjusted to UTC whose Arrow field names another zone ends with it, `TIMESTAMP(MICROS, UTC, "Asia/Tokyo")`.
 */
function leafType(el: TypedElement, durationUnit: bigint | undefined, zone: string | undefined): string {
  if (durationUnit !== undefined) return `DURATION(${UNIT_NAMES.get(durationUnit) ?? String(durationUnit)})`;
  const text = physicalOrLogical(el);
  return zone !== undefined && zone !== ARROW_UTC && text.startsWith('TIMESTAMP(') && text.endsWith(', UTC)') ? `${text.slice(0, -1)}, ${JSON.stringify(zone)})` : text;
}

/** A leaf's type text without its Arrow zone. */
function physicalOrLogical(el: TypedElement): string {
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
function nodeType(node: TypedNode, durations: ReadonlyMap<string, bigint>, zones: ReadonlyMap<string, string>, inList = false): string {
  const el = node.element;
  if (el.repetition_type === 'REPEATED' && !inList) return `LIST<${nodeType(node, durations, zones, true)}>`;
  if (node.children.length === 0) return leafType(el, durations.get(JSON.stringify(node.path)), zones.get(JSON.stringify(node.path)));
  const listed = el.converted_type === 'LIST' || (el.logical_type as { type?: string } | undefined)?.type === 'LIST';
  if (listed && node.children.length === 1) {
    const repeated = node.children[0] as TypedNode;
    // The standard three levels (a repeated group of one child), else the repeated field is the element.
    const element = repeated.children.length === 1 && repeated.element.name !== 'array' && repeated.element.name !== `${el.name}_tuple` ? (repeated.children[0] as TypedNode) : repeated;
    return `LIST<${nodeType(element, durations, zones, element === repeated)}>`;
  }
  return `STRUCT<${node.children.map((c) => `${JSON.stringify(c.element.name)}: ${nodeType(c, durations, zones)}`).join(', ')}>`;
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
 * @param classLabels each column's own ClassLabel names, and those nested in its structs and lists (class-names.ts `hfClassLabels`)
 * @param zones leaf path (`JSON.stringify`) → the time zone Arrow gives that timestamp (from ARROW:schema)
 * @param extensions top-level column → what its type text ends with for its Arrow extension type
 *   (`(extension "pandas.period", "{\"freq\": \"D\"}")`, from ARROW:schema): pyarrow reads the stored
 *   values as that type
 * @returns undefined when the file's schema object would be over a bound ({@link MAX_SCHEMA_COLUMNS},
 *   {@link MAX_SCHEMA_NAME_BYTES}, `MAX_SCHEMA_OBJECT_BYTES`): no types are signed for it
 */
export function parquetColumnTypes(root: TypedNode, durations: ReadonlyMap<string, bigint>, classLabels: ClassLabels = { own: new Map(), nested: new Map() }, zones: ReadonlyMap<string, string> = new Map(), extensions: ReadonlyMap<string, string> = new Map()): ColumnType[] | undefined {
  if (root.children.length > MAX_SCHEMA_COLUMNS) return undefined;
  const out: ColumnType[] = [];
  for (const c of root.children) {
    if (utf8Length(c.element.name) > MAX_SCHEMA_NAME_BYTES || !isWellFormed(c.element.name)) return undefined;
    const names = classLabels.own.get(c.element.name);
    const nested = classLabels.nested.get(c.element.name);
    const extension = extensions.get(c.element.name);
    out.push({ name: c.element.name, type: bounded(`${nodeType(c, durations, zones)}${extension !== undefined ? ` ${extension}` : ''}`), ...(names ? { classNames: names } : {}), ...(nested ? { nestedClassNames: nested } : {}) });
  }
  return schemaObjectBytes(out).length > MAX_SCHEMA_OBJECT_BYTES ? undefined : out;
}

/**
 * The columns of a CSV or TSV file's header, in order, each {@link DELIMITED_COLUMN_TYPE}: what its
 * column object signs (§19.11), so that a reorder is seen. A JSONL file's columns alike, each
 * {@link JSONL_COLUMN_TYPE}: its members in order of first appearance across lines.
 * @param header the header's fields as the reader parsed them (names unique: `CsvShape` refuses a name twice)
 * @param type the type text of every column ({@link DELIMITED_COLUMN_TYPE} unless given)
 * @returns undefined when the object would be over a bound ({@link MAX_SCHEMA_COLUMNS},
 *   {@link MAX_SCHEMA_NAME_BYTES}, `MAX_SCHEMA_OBJECT_BYTES`): no order is signed for it
 */
export function delimitedColumnTypes(header: readonly string[], type: string = DELIMITED_COLUMN_TYPE): ColumnType[] | undefined {
  if (header.length > MAX_SCHEMA_COLUMNS) return undefined;
  if (header.some((n) => utf8Length(n) > MAX_SCHEMA_NAME_BYTES || !isWellFormed(n))) return undefined;
  const out = header.map((name) => ({ name, type }));
  return schemaObjectBytes(out, DELIMITED_FORM).length > MAX_SCHEMA_OBJECT_BYTES ? undefined : out;
}

/**
 * A Parquet file's columns, their pandas categories read, made to fit its column object within
 * `MAX_SCHEMA_OBJECT_BYTES` (FORMAT §19.11): while it is over, the categorical whose values take
 * the most bytes has them replaced by `{"ordered": …, "overBounds": true}`, as a column with too many
 * categories has. So categories cannot push a file's types out of its statement: a B that padded
 * its dictionaries with 17 MB of unused categories was sealed with no column object, and `check` of
 * that snapshot took it for one sealed before types were signed and passed it against an A whose
 * categories, `.cat.codes` and types it no longer compared.
 * @param columns the columns, `categories` set on each categorical (changed in place)
 * @returns the columns, or undefined when the object is over its bound even with every categorical's values left out
 */
export function categoriesWithinBound(columns: ColumnType[]): ColumnType[] | undefined {
  let size = schemaObjectBytes(columns).length;
  if (size <= MAX_SCHEMA_OBJECT_BYTES) return columns;
  // What leaving out each column's values saves: the object's bytes are the sum of its members' (RFC 8785).
  const saving = (c: ColumnType) => Buffer.byteLength(canonicalJson(c.categories)) - Buffer.byteLength(canonicalJson({ ordered: c.categories?.ordered, overBounds: true }));
  const listed = columns.filter((c) => c.categories?.values).map((c) => ({ c, saves: saving(c) }));
  listed.sort((x, y) => y.saves - x.saves);
  for (const { c, saves } of listed) {
    if (size <= MAX_SCHEMA_OBJECT_BYTES) break;
    c.categories = { ordered: (c.categories as CategoryList).ordered, overBounds: true };
    size -= saves;
  }
  return schemaObjectBytes(columns).length > MAX_SCHEMA_OBJECT_BYTES ? undefined : columns;
}

/** The form of a Parquet set's column object: every member (ClassLabel names, nested ones, pandas categories). */
export const PARQUET_FORM: SchemaObjectForm = 'categories';
/** The form of a CSV or TSV set's column object: no ClassLabels, so no `nestedClassNames` (its bytes as before they were read). */
export const DELIMITED_FORM: SchemaObjectForm = 'classNames';

/**
 * The schema object's bytes: `{"classNames":{column:[names…],…},"columns":[{"name":…,"type":…},…],
 * "nestedClassNames":{column:{path:[names…],…},…}}` in RFC 8785 form, the columns in schema order,
 * `classNames` the columns that have their own ClassLabel names, `nestedClassNames` the columns that
 * have ClassLabels nested in their structs and lists.
 * Since pandas categories are signed, a Parquet set's object begins with `"categories":{column:{"ordered":…,"values":[…]},…}`
 * (or `{"ordered":…,"overBounds":true}` for a column over their bounds).
 * @param form the members written: `categories` (a Parquet set's object), `nestedClassNames` (one written before categories), `classNames` (a CSV
 *   or TSV set's, {@link DELIMITED_FORM}; and the form written before nested names were signed), `columns`
 *   (the form written before any names were signed) — older forms for parsing only
 */
export function schemaObjectBytes(columns: readonly ColumnType[], form: SchemaObjectForm = PARQUET_FORM): Buffer {
  const list = columns.map((c) => ({ name: c.name, type: c.type }));
  if (form === 'columns') return Buffer.from(canonicalJson({ columns: list }), 'utf8');
  const named: Record<string, string[]> = {};
  for (const c of columns) if (c.classNames) named[c.name] = c.classNames;
  if (form === 'classNames') return Buffer.from(canonicalJson({ classNames: named, columns: list }), 'utf8');
  const nested: Record<string, Record<string, string[]>> = {};
  for (const c of columns) if (c.nestedClassNames && Object.keys(c.nestedClassNames).length > 0) nested[c.name] = c.nestedClassNames;
  if (form === 'nestedClassNames') return Buffer.from(canonicalJson({ classNames: named, columns: list, nestedClassNames: nested }), 'utf8');
  const categories: Record<string, CategoryList> = {};
  for (const c of columns) if (c.categories) categories[c.name] = c.categories;
  return Buffer.from(canonicalJson({ categories, classNames: named, columns: list, nestedClassNames: nested }), 'utf8');
}

/**
 * Parse a schema object's bytes (already checked against the signed digest).
 * @returns its columns (with their class names), and whether it has a `classNames` member
 * @throws SnapError `RECORDS_INDEX_MALFORMED`: over `MAX_SCHEMA_OBJECT_BYTES`, not JSON, not in its
 *   one RFC 8785 form, more than {@link MAX_SCHEMA_COLUMNS} columns, a name twice or over its bound,
 *   class names of a column it does not list, over their bounds or not strings
 */
export function parseSchemaObject(bytes: Uint8Array, name: string): SchemaObject {
  const bad = (why: string) => new SnapError('RECORDS_INDEX_MALFORMED', `the column-types (schema) object of ${name} is malformed: ${why}`, { path: name });
  if (bytes.length > MAX_SCHEMA_OBJECT_BYTES) throw bad(`it is larger than ${MAX_SCHEMA_OBJECT_BYTES} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw bad('it is not JSON');
  }
  const members = isObject(v) ? Object.keys(v).sort().join() : '';
  const form = FORMS.get(members);
  if (!isObject(v) || form === undefined || !Array.isArray(v.columns) || v.columns.length > MAX_SCHEMA_COLUMNS) throw bad(`it is not {"classNames": {...}, "columns": [...], "nestedClassNames": {...}} of at most ${MAX_SCHEMA_COLUMNS} columns`);
  const seen = new Set<string>();
  const columns = (v.columns as unknown[]).map((c) => {
    if (!isObject(c) || Object.keys(c).sort().join() !== 'name,type' || typeof c.name !== 'string' || typeof c.type !== 'string') throw bad('a column is not {"name", "type"}, both strings');
    if (seen.has(c.name) || utf8Length(c.name) > MAX_SCHEMA_NAME_BYTES || utf8Length(c.type) > MAX_COLUMN_TYPE_BYTES) throw bad(`column ${JSON.stringify(c.name)} is named twice or over its bounds`);
    seen.add(c.name);
    return { name: c.name, type: c.type } as ColumnType;
  });
  const recorded = form !== 'columns';
  const names = (list: unknown, what: string): string[] => {
    if (!Array.isArray(list) || list.length > MAX_CLASS_NAMES || !list.every((n) => typeof n === 'string' && utf8Length(n) <= MAX_CLASS_NAME_BYTES)) throw bad(`the class names of ${what} are not a list of at most ${MAX_CLASS_NAMES} strings of at most ${MAX_CLASS_NAME_BYTES} bytes`);
    return list as string[];
  };
  if (recorded) {
    const named = v.classNames;
    if (!isObject(named) || Object.keys(named).length > MAX_SCHEMA_COLUMNS) throw bad('its "classNames" is not an object');
    for (const c of columns) {
      if (!Object.prototype.hasOwnProperty.call(named, c.name)) continue;
      c.classNames = names(named[c.name], `column ${JSON.stringify(c.name)}`);
    }
  }
  if (form === 'nestedClassNames' || form === 'categories') {
    // The bounds a file's metadata is read within (class-names.ts), so no object holds more than a file could.
    const nested = v.nestedClassNames;
    if (!isObject(nested) || Object.keys(nested).length > MAX_SCHEMA_COLUMNS) throw bad('its "nestedClassNames" is not an object');
    let labels = 0;
    let total = columns.reduce((n, c) => n + (c.classNames?.length ?? 0), 0);
    for (const c of columns) {
      if (!Object.prototype.hasOwnProperty.call(nested, c.name)) continue;
      const paths = nested[c.name];
      if (!isObject(paths)) throw bad(`the nested class names of column ${JSON.stringify(c.name)} are not an object`);
      const out: Record<string, string[]> = {};
      for (const path of Object.keys(paths)) {
        if (++labels > MAX_NESTED_CLASS_LABELS || utf8Length(path) > MAX_CLASS_LABEL_PATH_BYTES || !(path.startsWith('.') || path.startsWith('['))) throw bad(`column ${JSON.stringify(c.name)} has a nested ClassLabel path over its bounds or not a path`);
        out[path] = names(paths[path], `column ${JSON.stringify(c.name)} at ${path}`);
        total += out[path].length;
      }
      c.nestedClassNames = out;
    }
    if (total > MAX_FILE_CLASS_NAMES) throw bad(`it has more than ${MAX_FILE_CLASS_NAMES} class names`);
  }
  if (form === 'categories') {
    const cats = v.categories;
    if (!isObject(cats) || Object.keys(cats).length > MAX_SCHEMA_COLUMNS) throw bad('its "categories" is not an object');
    for (const c of columns) {
      if (!Object.prototype.hasOwnProperty.call(cats, c.name)) continue;
      const x = cats[c.name];
      const keys = isObject(x) ? Object.keys(x).sort().join() : '';
      if (!isObject(x) || typeof x.ordered !== 'boolean' || (keys !== 'ordered,values' && keys !== 'ordered,overBounds') || (keys === 'ordered,overBounds' && x.overBounds !== true)) throw bad(`the categories of column ${JSON.stringify(c.name)} are not {"ordered", "values"} or {"ordered", "overBounds": true}`);
      c.categories = keys === 'ordered,values' ? { ordered: x.ordered, values: names(x.values, `column ${JSON.stringify(c.name)} (categories)`) } : { ordered: x.ordered, overBounds: true };
    }
  }
  // A classNames, nestedClassNames or categories key of a column not listed is not written back: the canonical check refuses it.
  if (!schemaObjectBytes(columns, form).equals(Buffer.from(bytes))) throw bad('it is not in its one canonical form (RFC 8785), or names class names or categories of a column it does not list');
  return { columns, classNamesRecorded: recorded, nestedClassNamesRecorded: form === 'nestedClassNames' || form === 'categories', categoriesRecorded: form === 'categories' };
}

/** A schema object's sorted member names → its form. */
const FORMS = new Map<string, SchemaObjectForm>([
  ['columns', 'columns'],
  ['classNames,columns', 'classNames'],
  ['classNames,columns,nestedClassNames', 'nestedClassNames'],
  ['categories,classNames,columns,nestedClassNames', 'categories'],
]);

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

/**
 * The columns both sides have, in A's order and in B's, when the two orders differ; undefined when
 * they do not. A column only one side has is left out: it changes every record, and shows there.
 */
export function columnOrderChange(a: readonly ColumnType[], b: readonly ColumnType[]): ColumnOrderChange | undefined {
  const inA = new Set(a.map((c) => c.name));
  const inB = new Set(b.map((c) => c.name));
  const sa = a.map((c) => c.name).filter((n) => inB.has(n));
  const sb = b.map((c) => c.name).filter((n) => inA.has(n));
  return sa.every((n, i) => sb[i] === n) ? undefined : { a: sa, b: sb };
}

/** The columns only one side has; undefined when both have the same columns. */
export function columnSetChange(a: readonly ColumnType[], b: readonly ColumnType[]): ColumnSetChange | undefined {
  const inA = new Set(a.map((c) => c.name));
  const inB = new Set(b.map((c) => c.name));
  const added = b.map((c) => c.name).filter((n) => !inA.has(n));
  const removed = a.map((c) => c.name).filter((n) => !inB.has(n));
  return added.length + removed.length > 0 ? { added, removed } : undefined;
}

/**
 * The columns added and removed as lines, each given when not empty: `columns added: extra`,
 * `columns removed: x` — at most {@link COLUMN_ORDER_SHOWN} names a line (`…` for the rest), a name
 * that could not be told apart bare as its JSON string (`labelText`). Not escaped: the caller escapes.
 */
export function columnSetTexts(c: ColumnSetChange): string[] {
  const list = (names: readonly string[]) => [...names.slice(0, COLUMN_ORDER_SHOWN).map(labelText), ...(names.length > COLUMN_ORDER_SHOWN ? ['…'] : [])].join(', ');
  return [...(c.added.length > 0 ? [`columns added: ${list(c.added)}`] : []), ...(c.removed.length > 0 ? [`columns removed: ${list(c.removed)}`] : [])];
}

/**
 * A column order change as one line: `column order: id, x, label → id, label, x` — from the column
 * before the first that moved, at most {@link COLUMN_ORDER_SHOWN} names a side (`…` for those left
 * out), a name that could not be told apart bare as its JSON string (`labelText`). Not escaped:
 * the caller escapes.
 */
export function columnOrderText(o: ColumnOrderChange): string {
  const first = o.a.findIndex((n, i) => o.b[i] !== n);
  const from = Math.max(0, first - 1);
  const side = (names: readonly string[]) => {
    const shown = names.slice(from, from + COLUMN_ORDER_SHOWN).map(labelText);
    return [...(from > 0 ? ['…'] : []), ...shown, ...(from + COLUMN_ORDER_SHOWN < names.length ? ['…'] : [])].join(', ');
  };
  return `column order: ${side(o.a)} → ${side(o.b)}`;
}

/** A type change as one line: `label: INT64 → STRING`, a column name that could not be told apart bare as its JSON string (`labelText`; not escaped: the caller escapes). */
export function typeChangeText(c: TypeChange): string {
  return `${labelText(c.column)}: ${c.a} → ${c.b}`;
}

/**
 * The columns of both sides whose ClassLabel names differ (order, text or presence), in B's column
 * order: each column's own names, then (with `nested`) those nested in its structs and lists, one
 * change per path, by path in code-unit order.
 * @param nested whether to compare the nested names (both sides' objects record them)
 */
export function classNamesChanges(a: readonly ColumnType[], b: readonly ColumnType[], nested = true): ClassNamesChange[] {
  const before = new Map(a.map((c) => [c.name, c]));
  const out: ClassNamesChange[] = [];
  const same = (x: string[] | null, y: string[] | null) => JSON.stringify(x) === JSON.stringify(y);
  for (const c of b) {
    const old = before.get(c.name);
    if (!old) continue;
    const was = old.classNames ?? null;
    const now = c.classNames ?? null;
    if (!same(was, now)) out.push({ column: c.name, a: was, b: now });
    if (!nested) continue;
    const pa = old.nestedClassNames ?? {};
    const pb = c.nestedClassNames ?? {};
    for (const path of [...new Set([...Object.keys(pa), ...Object.keys(pb)])].sort()) {
      const x = Object.prototype.hasOwnProperty.call(pa, path) ? (pa[path] as string[]) : null;
      const y = Object.prototype.hasOwnProperty.call(pb, path) ? (pb[path] as string[]) : null;
      if (!same(x, y)) out.push({ column: c.name, path, a: x, b: y });
    }
  }
  return out;
}

/** The columns of both sides whose pandas categories differ (values, their order, `ordered`, or presence), in B's column order. */
export function categoriesChanges(a: readonly ColumnType[], b: readonly ColumnType[]): CategoriesChange[] {
  const before = new Map(a.map((c) => [c.name, c]));
  const out: CategoriesChange[] = [];
  for (const c of b) {
    const old = before.get(c.name);
    if (!old) continue;
    const x = old.categories ?? null;
    const y = c.categories ?? null;
    if (canonicalJson(x) !== canonicalJson(y)) out.push({ column: c.name, a: x, b: y });
  }
  return out;
}

/** One side's categories as text: `[neg, pos]`, `ordered [neg, pos]`, `over bounds`, or `none`. */
function categoriesText(c: CategoryList | null): string {
  if (c === null) return 'none';
  return `${c.ordered ? 'ordered ' : ''}${c.values ? namesText(c.values) : `over bounds (more than ${MAX_CLASS_NAMES} categories, or one longer than ${MAX_CLASS_NAME_BYTES} bytes)`}`;
}

/** A categories change as one line: `label: pandas categories [neg, pos] → [pos, neg]`, names as `labelText` writes them (not escaped: the caller escapes). */
export function categoriesChangeText(c: CategoriesChange): string {
  return `${labelText(c.column)}: pandas categories ${categoriesText(c.a)} → ${categoriesText(c.b)}`;
}

/**
 * One side's class names as text: `[neg, pos]` (at most {@link CLASS_NAMES_SHOWN}, then how many
 * more), or `none`; a name that could not be told apart bare (`cat, dog` beside `cat` and `dog`, `]`
 * is no mark: names are joined by `, `) as its JSON string (`labelText`).
 */
function namesText(names: string[] | null): string {
  if (names === null) return 'none';
  const more = names.length - CLASS_NAMES_SHOWN;
  return `[${names.slice(0, CLASS_NAMES_SHOWN).map(labelText).join(', ')}${more > 0 ? `, … ${more} more` : ''}]`;
}

/**
 * A ClassLabel names change as one line: `label: ClassLabel names [neg, pos] → [pos, neg]`, a nested
 * one by the column and its path, `objects.category[]: ClassLabel names [cat, dog] → [dog, cat]`
 * (not escaped: the caller escapes).
 */
export function classNamesChangeText(c: ClassNamesChange): string {
  return `${labelText(`${c.column}${c.path ?? ''}`)}: ClassLabel names ${namesText(c.a)} → ${namesText(c.b)}`;
}
