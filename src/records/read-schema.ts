/**
 * Reading a Parquet set's signed column-types object (docs/FORMAT.md §19.11) from a store, and the
 * types of both sides of a set compared (`diff`, `verify`, `check`).
 */
import { createHash } from 'node:crypto';
import { SnapError } from '../core/errors.js';
import { MAX_SCHEMA_OBJECT_BYTES } from '../core/records.js';
import { readSmallFile } from '../io/small-file.js';
import { CATEGORIES_NOT_RECORDED, categoriesChanges, CLASS_NAMES_NOT_RECORDED, classNamesChanges, columnOrderChange, columnSetChange, NESTED_CLASS_NAMES_NOT_RECORDED, parseSchemaObject, TYPES_NOT_RECORDED, typeChanges, type ColumnType, type SchemaObject, type SetTypes } from './column-types.js';

/** The error for a column-types object whose bytes are not the signed ones (as for an index summary: the store was altered). */
function schemaAltered(name: string, path: string, sha256: string): SnapError {
  return new SnapError('OBJECT_CORRUPT', `the column-types (schema) object of ${name} (${path}) does not hash to the digest the statement signed (${sha256.slice(0, 12)}…): it was altered`, { path, expected: sha256 });
}

/**
 * Read a column-types object and check it against its signed digest.
 * @param name the record set's name, for messages
 * @throws SnapError `OBJECT_CORRUPT` (other bytes, not a regular file) | `RECORDS_INDEX_MALFORMED` | `IO_ERROR`
 */
export async function readSchemaObject(path: string, sha256: string, name: string): Promise<SchemaObject> {
  const bytes = await readSmallFile(path, MAX_SCHEMA_OBJECT_BYTES + 1, 'cannot read the column-types object', (shown) => new SnapError('OBJECT_CORRUPT', `the column-types (schema) object of ${name} (${shown}) is not a regular file: it was altered`, { path, expected: sha256 }));
  if (createHash('sha256').update(bytes).digest('hex') !== sha256) throw schemaAltered(name, path, sha256);
  return parseSchemaObject(bytes, name);
}

/**
 * One side's column types (and whether its ClassLabel names are known), or why they are not known;
 * `missing`: its statement signs a column-types object the store does not have (not an older snap's
 * set: a gate must not pass it, §19.11).
 */
export type SideTypes = { columns: ColumnType[]; classNamesRecorded: boolean; nestedClassNamesRecorded: boolean; categoriesRecorded: boolean } | UnknownTypes;

/**
 * Why a side's types are not known; `missing`: a signed object the store lacks; `overBounds`: its
 * file's schema, read here, is over the bounds of §19.11 (a gate must not pass that side against a
 * side whose types are known: a few KiB of metadata can name millions of classes).
 */
export interface UnknownTypes {
  reason: string;
  missing?: true;
  overBounds?: true;
}

/** Why a side read here has no types: its schema object would be over the bounds of FORMAT §19.11. */
export const TYPES_OVER_BOUNDS = "types not recorded (the file's schema is over the bounds of FORMAT §19.11)";

/**
 * A side's types from what its statement signed: its set's `schema` member and the store object
 * of that digest (`objectPath`, undefined when the store does not have it).
 * @param notRecorded why there are none when there is no `schema` member (a CSV or TSV set: `COLUMN_ORDER_NOT_RECORDED`)
 * @throws SnapError as {@link readSchemaObject}
 */
export async function signedTypes(schema: string | undefined, objectPath: string | undefined, name: string, notRecorded = TYPES_NOT_RECORDED): Promise<SideTypes> {
  if (schema === undefined) return { reason: notRecorded };
  if (objectPath === undefined) return { reason: `its signed column-types object ${schema.slice(0, 12)}… is not in the store`, missing: true };
  return readSchemaObject(objectPath, schema, name);
}

/**
 * A side's types from its file's bytes, as its reader saw them (`columnTypes` of a built index).
 * @param categoriesRecorded false for types read from a Parquet footer alone (`storedParquetColumnTypes`): a categorical's categories are in its pages
 */
export function readTypes(columns: ColumnType[] | undefined, categoriesRecorded = true): SideTypes {
  return columns ? { columns, classNamesRecorded: true, nestedClassNamesRecorded: true, categoriesRecorded } : { reason: TYPES_OVER_BOUNDS, overBounds: true };
}

/**
 * The two sides' types compared: their changed columns, column order, columns added or removed, and ClassLabel names (the
 * columns' own, and those nested in their structs and lists), or which side's types (or names) are
 * not known and why. A side whose object predates nested names has `classNamesUnknown` with
 * `nested: true`, its columns' own names still compared (said when the other side has nested
 * names); one whose categories are not known, `categoriesUnknown` (said when the other side has a
 * categorical).
 * @param withNames whether the sides can have ClassLabel names (a Parquet set; a CSV or TSV set cannot: false)
 */
export function compareTypes(a: SideTypes, b: SideTypes, withNames = true): SetTypes {
  if ('columns' in a && 'columns' in b) {
    const order = columnOrderChange(a.columns, b.columns);
    const columns = columnSetChange(a.columns, b.columns);
    const out: SetTypes = { changes: typeChanges(a.columns, b.columns), ...(order ? { order } : {}), ...(columns ? { columns } : {}) };
    if (!withNames) return out;
    const side = (x: boolean, y: boolean) => (!x && !y ? 'both' : x ? 'b' : 'a');
    if (a.classNamesRecorded && b.classNamesRecorded) {
      const nested = a.nestedClassNamesRecorded && b.nestedClassNamesRecorded;
      const changed = classNamesChanges(a.columns, b.columns, nested);
      if (changed.length > 0) out.classNames = changed;
      // Said only when the side that records them has some: an older object against a file without any is as before.
      const known = a.nestedClassNamesRecorded ? a : b.nestedClassNamesRecorded ? b : undefined;
      if (!nested && known?.columns.some((c) => c.nestedClassNames && Object.keys(c.nestedClassNames).length > 0)) out.classNamesUnknown = { side: side(a.nestedClassNamesRecorded, b.nestedClassNamesRecorded), reason: NESTED_CLASS_NAMES_NOT_RECORDED, nested: true };
    } else {
      out.classNamesUnknown = { side: side(a.classNamesRecorded, b.classNamesRecorded), reason: CLASS_NAMES_NOT_RECORDED };
    }
    if (a.categoriesRecorded && b.categoriesRecorded) {
      const changed = categoriesChanges(a.columns, b.columns);
      if (changed.length > 0) out.categories = changed;
    } else {
      // Said only when the side that records them has a categorical (as for nested names above).
      const known = a.categoriesRecorded ? a : b.categoriesRecorded ? b : undefined;
      if (known?.columns.some((c) => c.categories)) out.categoriesUnknown = { side: side(a.categoriesRecorded, b.categoriesRecorded), reason: CATEGORIES_NOT_RECORDED };
    }
    return out;
  }
  const side = !('columns' in a) && !('columns' in b) ? 'both' : 'columns' in a ? 'b' : 'a';
  const unknown = [a, b].filter((s): s is UnknownTypes => 'reason' in s);
  // A missing signed object is named first: it is what a gate must not pass; so is a side over the
  // bounds against a side whose types are known (both over them: nothing to compare, no breach).
  const named = unknown.find((s) => s.missing) ?? (side !== 'both' ? unknown.find((s) => s.overBounds) : undefined) ?? (unknown[0] as UnknownTypes);
  const flag = named.missing ? { missing: true as const } : named.overBounds && side !== 'both' ? { overBounds: true as const } : {};
  return { changes: [], unknown: { side, reason: named.reason, ...flag } };
}
