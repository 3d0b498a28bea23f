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
 * Most steps (a struct member, a list's element) below its column at which a feature is read for a
 * nested ClassLabel; a container deeper than that is `RECORDS_LIMIT` (not skipped: a ClassLabel
 * below it would go unsigned). The walk is iterative, so a hostile nesting of 4 MiB costs no stack.
 */
export const MAX_CLASS_LABEL_DEPTH = 64;
/** Most ClassLabels nested in structs and lists in one file; more is `RECORDS_LIMIT`. */
export const MAX_NESTED_CLASS_LABELS = 10_000;
/**
 * Longest path below its column ({@link classLabelPathStep}) of a feature the walk looks into — a
 * nested ClassLabel, or a struct or list that could hold one —, in UTF-8 bytes; longer is
 * `RECORDS_LIMIT` (not skipped: a ClassLabel below it would go unsigned).
 */
export const MAX_CLASS_LABEL_PATH_BYTES = 4096;
/** The path step of a list's element (a Sequence, List, LargeList, or a one-element JSON list). */
export const LIST_STEP = '[]';

/**
 * The path step of a struct member (a key of a dict of features): `.` and the name bare when it is
 * letters, digits and `_` only (`.category`), else `.` and its JSON string (`."a.b"`, `.""`), so a
 * path reads back one way.
 */
export function classLabelPathStep(member: string): string {
  return /^[A-Za-z0-9_]+$/.test(member) ? `.${member}` : `.${JSON.stringify(member)}`;
}

/**
 * The ClassLabel names of a file: each top-level column's own (`own`), and those nested below a
 * column in its structs and lists (`nested`: column → path below it → names, in the order met).
 */
export interface ClassLabels {
  own: Map<string, string[]>;
  nested: Map<string, Record<string, string[]>>;
}

/**
 * The ClassLabel names of the top-level columns, from the file's `huggingface` metadata values.
 * A column's own names are those of its ClassLabel feature, or of the ClassLabel a Sequence / List /
 * LargeList (or a one-element JSON list) of it holds (`ner_tags`, `labels`). Every other ClassLabel
 * below the column — a struct member (a dict of features), a list's element, at any depth up to
 * {@link MAX_CLASS_LABEL_DEPTH} — is nested, named by its path below the column: `.category[]` of
 * `objects: {"category": List(ClassLabel)}` (what `datasets` 5 writes for `Sequence({...})`),
 * `[].category` of the older `Sequence` of a dict, `.kind` of a struct, `[][]` of a list of lists.
 * `names` as given, else `num_classes` as `datasets` names them ("0", "1", …). Features of columns
 * the file lacks, other features and other metadata (`pandas`, `ARROW:schema`) are not read; a JSON
 * list of other than one feature is not descended (as at the top level).
 * @param values the values of every key-value pair keyed {@link HF_METADATA_KEY} (none: no names)
 * @param columns the file's top-level column names
 * @param rel the file's path, for messages
 * @returns the columns' own names, and the nested ones by column and path
 * @throws SnapError `RECORDS_MALFORMED` (the key twice, not JSON — `datasets` fails on it too —,
 *   a top level, `info` or `features` that is not an object, names that are not strings or disagree
 *   with `num_classes`) | `RECORDS_LIMIT` ({@link MAX_HF_METADATA_BYTES}, {@link MAX_CLASS_NAMES},
 *   {@link MAX_CLASS_NAME_BYTES}, {@link MAX_FILE_CLASS_NAMES} — own and nested together —,
 *   {@link MAX_CLASS_LABEL_DEPTH}, {@link MAX_NESTED_CLASS_LABELS}, {@link MAX_CLASS_LABEL_PATH_BYTES})
 *   | `RECORDS_UNSUPPORTED` (names in a `names_file`, which snap cannot read)
 */
export function hfClassLabels(values: readonly (string | undefined)[], columns: readonly string[], rel: string): ClassLabels {
  const out: ClassLabels = { own: new Map(), nested: new Map() };
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
  /** The names of one ClassLabel feature of `column` (`at`: its path below the column, for messages). */
  const namesOf = (label: Record<string, unknown>, column: string, at: string): string[] => {
    const what = `column ${JSON.stringify(column)}${at === '' ? '' : ` at ${at}`}`;
    if (label.names_file !== undefined && label.names_file !== null) throw new SnapError('RECORDS_UNSUPPORTED', `${rel}: ${where}: ${what} is a ClassLabel whose names are in a names_file, which snap cannot read (write them as "names")`, { path: rel, column });
    const count = label.num_classes;
    if (count !== undefined && count !== null && (typeof count !== 'number' || !Number.isInteger(count) || count < 0)) throw malformed(`gives ${what} a num_classes that is not a whole number`, column);
    if (label.names === undefined || label.names === null) {
      if (typeof count !== 'number') return [];
      if (count > MAX_CLASS_NAMES) throw limit(`${at === '' ? '' : `at ${at} `}has ${count} classes, more than ${MAX_CLASS_NAMES}`, column);
      tally(count, column);
      return Array.from({ length: count }, (_, i) => String(i));
    }
    if (!Array.isArray(label.names)) throw malformed(`gives ${what} ClassLabel names that are not a list`, column);
    if (label.names.length > MAX_CLASS_NAMES) throw limit(`${at === '' ? '' : `at ${at} `}has ${label.names.length} class names, more than ${MAX_CLASS_NAMES}`, column);
    tally(label.names.length, column);
    for (const n of label.names as unknown[]) {
      if (typeof n !== 'string' || !isWellFormed(n)) throw malformed(`gives ${what} a class name that is not a string of Unicode text`, column);
      if (utf8Length(n) > MAX_CLASS_NAME_BYTES) throw limit(`${at === '' ? '' : `at ${at} `}has a class name longer than ${MAX_CLASS_NAME_BYTES} bytes`, column);
    }
    const names = [...(label.names as string[])];
    if (typeof count === 'number' && count !== names.length) throw malformed(`gives ${what} ${names.length} class names and num_classes ${count} (datasets refuses that)`, column);
    return names;
  };
  let nestedCount = 0;
  for (const column of columns) {
    if (!Object.prototype.hasOwnProperty.call(features, column)) continue;
    const nested: Record<string, string[]> = {};
    // Depth first, children in order, with a stack of its own (a deep nesting costs no call stack).
    const stack: { f: unknown; path: string; depth: number }[] = [{ f: features[column], path: '', depth: 0 }];
    while (stack.length > 0) {
      const { f, path, depth } = stack.pop() as (typeof stack)[number];
      if (isClassLabel(f)) {
        // The column's own: the column is the ClassLabel, or a list directly of it (as before nested names were read).
        if (path === '' || path === LIST_STEP) out.own.set(column, namesOf(f, column, ''));
        else {
          if (++nestedCount > MAX_NESTED_CLASS_LABELS) throw limit(`brings the file's nested ClassLabels to more than ${MAX_NESTED_CLASS_LABELS}`, column);
          nested[path] = namesOf(f, column, path);
        }
        continue;
      }
      const children: { f: unknown; step: string }[] = [];
      if (isObject(f) && typeof f._type === 'string') {
        if (LIST_FEATURES.has(f._type)) children.push({ f: f.feature, step: LIST_STEP });
      } else if (isObject(f)) {
        for (const k of Object.keys(f)) children.push({ f: f[k], step: classLabelPathStep(k) });
      } else if (Array.isArray(f) && f.length === 1) children.push({ f: f[0], step: LIST_STEP });
      const inner = children.filter((c) => isObject(c.f) || Array.isArray(c.f));
      if (inner.length > 0 && depth + 1 > MAX_CLASS_LABEL_DEPTH) throw limit(`has features nested deeper than ${MAX_CLASS_LABEL_DEPTH} levels (structs and lists), which snap does not read for ClassLabels`, column);
      for (const c of inner.reverse()) {
        const p = path + c.step;
        if (utf8Length(p) > MAX_CLASS_LABEL_PATH_BYTES) throw limit(`has a feature path longer than ${MAX_CLASS_LABEL_PATH_BYTES} bytes`, column);
        stack.push({ f: c.f, path: p, depth: depth + 1 });
      }
    }
    if (Object.keys(nested).length > 0) out.nested.set(column, nested);
  }
  return out;
}
