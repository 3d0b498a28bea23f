/**
 * The class names of a Parquet file's Hugging Face `ClassLabel` columns (docs/FORMAT.md §19.11): a
 * file written by `datasets` keeps its `Features` as JSON in the key-value metadata `huggingface`,
 * `{"info": {"features": {"label": {"names": ["neg", "pos"], "_type": "ClassLabel"}, …}}}`, and
 * `load_dataset` reads it back (`Features.from_arrow_schema`: `json.loads` of the value, then
 * `Features.from_dict` of `info.features`), so label 0 means `names[0]`. The integers are the
 * records; the names are what they mean. Read here so the seal signs them beside the types.
 *
 * Pure: the metadata values in, names per column out.
 */
import { SnapError } from '../core/errors.js';
import { isObject } from '../core/is-object.js';
import { isWellFormed } from '../core/records.js';
import { utf8Length } from '../core/paths.js';

/** The key-value metadata key under which `datasets` stores a table's features. */
export const HF_METADATA_KEY = 'huggingface';
/** Most UTF-8 bytes of `huggingface` metadata read; a file with more is `RECORDS_LIMIT` (its names could not be signed whole). */
export const MAX_HF_METADATA_BYTES = 4 << 20;
/** Most names of one ClassLabel column (`names`, or `num_classes`); more is `RECORDS_LIMIT`. */
export const MAX_CLASS_NAMES = 65_536;
/**
 * Most names of all the ClassLabel columns of one file together; more is `RECORDS_LIMIT`. A
 * `num_classes` of 20 bytes names up to {@link MAX_CLASS_NAMES} classes, so 167 KB of metadata on
 * 3,000 columns named 196 M (node ran out of memory reading the file); four full columns fit.
 */
export const MAX_FILE_CLASS_NAMES = 4 * MAX_CLASS_NAMES;
/** Longest class name, in UTF-8 bytes; a longer one is `RECORDS_LIMIT`. */
export const MAX_CLASS_NAME_BYTES = 1024;

/** The `_type`s of a `datasets` feature that is a list of its `feature` (a Sequence of a ClassLabel: `ner_tags`). */
const LIST_FEATURES = new Set(['Sequence', 'List', 'LargeList']);

/**
 * The ClassLabel names of the top-level columns, from the file's `huggingface` metadata values.
 * A column's names are those of its ClassLabel feature, or of the ClassLabel a Sequence / List /
 * LargeList (or a one-element JSON list) of it holds; `names` as given, else `num_classes` as
 * `datasets` names them ("0", "1", …). Features of columns the file lacks, other features and other
 * metadata (`pandas`, `ARROW:schema`) are not read. A ClassLabel inside a struct is not read.
 * @param values the values of every key-value pair keyed {@link HF_METADATA_KEY} (none: no names)
 * @param columns the file's top-level column names
 * @param rel the file's path, for messages
 * @returns column → names, for the columns that have them
 * @throws SnapError `RECORDS_MALFORMED` (the key twice, not JSON — `datasets` fails on it too —,
 *   a top level, `info` or `features` that is not an object, names that are not strings or disagree
 *   with `num_classes`) | `RECORDS_LIMIT` ({@link MAX_HF_METADATA_BYTES}, {@link MAX_CLASS_NAMES},
 *   {@link MAX_CLASS_NAME_BYTES}, {@link MAX_FILE_CLASS_NAMES}) | `RECORDS_UNSUPPORTED` (names in a `names_file`, which snap cannot read)
 */
export function hfClassNames(values: readonly (string | undefined)[], columns: readonly string[], rel: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const present = values.filter((v): v is string => v !== undefined);
  if (present.length === 0) return out;
  const where = `its key-value metadata "${HF_METADATA_KEY}" (Hugging Face datasets features)`;
  const malformed = (why: string, column?: string) => new SnapError('RECORDS_MALFORMED', `${rel}: ${where} ${why}`, { path: rel, ...(column !== undefined ? { column } : {}) });
  const limit = (why: string, column: string) => new SnapError('RECORDS_LIMIT', `${rel}: ${where}: column ${JSON.stringify(column)} ${why}`, { path: rel, column });
  if (present.length > 1) throw malformed(`is given ${present.length} times`);
  const text = present[0] as string;
  if (utf8Length(text) > MAX_HF_METADATA_BYTES) throw new SnapError('RECORDS_LIMIT', `${rel}: ${where} is larger than ${MAX_HF_METADATA_BYTES} bytes`, { path: rel });
  let md: unknown;
  try {
    md = JSON.parse(text);
  } catch {
    throw malformed('is not JSON as JSON.parse reads it, so what its ClassLabel integers mean cannot be read (load_dataset fails on it too)');
  }
  if (!isObject(md)) throw malformed('is not a JSON object');
  const info = md.info;
  if (info === undefined || info === null) return out;
  if (!isObject(info)) throw malformed('has an "info" that is not an object');
  const features = info.features;
  if (features === undefined || features === null) return out;
  if (!isObject(features)) throw malformed('has "info.features" that is not an object');
  const isClassLabel = (f: unknown): f is Record<string, unknown> => isObject(f) && f._type === 'ClassLabel';
  let total = 0;
  /** Count `n` more names of `column` against {@link MAX_FILE_CLASS_NAMES}, before any is made. */
  const tally = (n: number, column: string) => {
    total += n;
    if (total > MAX_FILE_CLASS_NAMES) throw limit(`brings the file's ClassLabel names to more than ${MAX_FILE_CLASS_NAMES} (all its columns together)`, column);
  };
  for (const column of columns) {
    if (!Object.prototype.hasOwnProperty.call(features, column)) continue;
    const f = features[column];
    const label = isClassLabel(f) ? f : isObject(f) && typeof f._type === 'string' && LIST_FEATURES.has(f._type) && isClassLabel(f.feature) ? f.feature : Array.isArray(f) && f.length === 1 && isClassLabel(f[0]) ? f[0] : undefined;
    if (!label) continue;
    if (label.names_file !== undefined && label.names_file !== null) throw new SnapError('RECORDS_UNSUPPORTED', `${rel}: ${where}: column ${JSON.stringify(column)} is a ClassLabel whose names are in a names_file, which snap cannot read (write them as "names")`, { path: rel, column });
    const count = label.num_classes;
    if (count !== undefined && count !== null && (typeof count !== 'number' || !Number.isInteger(count) || count < 0)) throw malformed(`gives column ${JSON.stringify(column)} a num_classes that is not a whole number`, column);
    let names: string[];
    if (label.names === undefined || label.names === null) {
      if (typeof count !== 'number') names = [];
      else if (count > MAX_CLASS_NAMES) throw limit(`has ${count} classes, more than ${MAX_CLASS_NAMES}`, column);
      else {
        tally(count, column);
        names = Array.from({ length: count }, (_, i) => String(i));
      }
    } else {
      if (!Array.isArray(label.names)) throw malformed(`gives column ${JSON.stringify(column)} ClassLabel names that are not a list`, column);
      if (label.names.length > MAX_CLASS_NAMES) throw limit(`has ${label.names.length} class names, more than ${MAX_CLASS_NAMES}`, column);
      tally(label.names.length, column);
      for (const n of label.names as unknown[]) {
        if (typeof n !== 'string' || !isWellFormed(n)) throw malformed(`gives column ${JSON.stringify(column)} a class name that is not a string of Unicode text`, column);
        if (utf8Length(n) > MAX_CLASS_NAME_BYTES) throw limit(`has a class name longer than ${MAX_CLASS_NAME_BYTES} bytes`, column);
      }
      names = [...(label.names as string[])];
      if (typeof count === 'number' && count !== names.length) throw malformed(`gives column ${JSON.stringify(column)} ${names.length} class names and num_classes ${count} (datasets refuses that)`, column);
    }
    out.set(column, names);
  }
  return out;
}
