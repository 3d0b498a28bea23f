/**
 * The `records` member of the snapshot predicate (docs/FORMAT.md §19.6): for each record set of a
 * dataset — one tabular file (CSV, TSV, JSONL, Parquet), or the files under label folders — how its
 * records are identified and labelled, how many there are, the digest and RFC 9162 Merkle root of
 * its record index (a content-addressed store object), and its label counts.
 *
 * Pure: types, limits and the strict validation used when a statement is parsed.
 */
import { SnapError } from './errors.js';
import { compareUtf8, utf8Length, validatePath } from './paths.js';
import { isObject } from './is-object.js';

/** Tabular formats read record by record, and `files` (one record per file, labelled by a folder). */
export const RECORD_FORMATS = ['csv', 'tsv', 'jsonl', 'parquet', 'files'] as const;
export type RecordFormat = (typeof RECORD_FORMATS)[number];

/**
 * How a record is identified: `key` (declared key fields), `features` (SHA-256 of the record
 * without its label: a flipped label pairs the old and new record), `position` (the record's
 * 1-based number in the file), `path` (files: the path without its label segment).
 */
export const RECORD_IDENTITIES = ['key', 'features', 'position', 'path'] as const;
export type RecordIdentity = (typeof RECORD_IDENTITIES)[number];

/**
 * How the quote character `"` is read in a TSV file (docs/FORMAT.md §19.2), when not the default.
 * The default (no `quoting` member) reads every byte but tab and line end as data and refuses a
 * field that begins with `"`, which the common readers take for an opening quote. `none`: no
 * quoting at all, a `"` anywhere is data (IANA text/tab-separated-values; Python's csv with
 * `quoting=csv.QUOTE_NONE`, pandas `quoting=3`, as GLUE-style TSV loaders read). `csv`: quoted as
 * in CSV, with tab for comma (RFC 4180 quoting; Python's csv `excel-tab` dialect, pandas
 * `read_csv(sep="\t")` as it reads by default).
 */
export const TSV_QUOTINGS = ['none', 'csv'] as const;
export type TsvQuoting = (typeof TSV_QUOTINGS)[number];

/**
 * The canonical record form (docs/FORMAT.md §19.3) snap writes today, per format: the form whose
 * SHA-256 is each record's fingerprint. 1 is the first form; a format's number goes up whenever a
 * record that was read before gets another canonical form. Parquet is 2 since times, dates,
 * timestamps and durations became ISO 8601 text and integers, JSON and ENUM columns are read by
 * their logical type (§19.3, "Indexes made by older versions"); JSONL is 2 since a whole number
 * written as a float (`1.0`, `1e2`, `-0.0`: a float to Python's `json`) is written with `.0`, not as
 * the integer RFC 8785 makes of it; CSV, TSV and `files` never changed. A set's `form` member says which form made its index (absent for the first), so that a
 * record diff never compares fingerprints made by different forms.
 */
export const RECORD_FORMS: Readonly<Record<RecordFormat, number>> = { csv: 1, tsv: 1, jsonl: 2, parquet: 2, files: 1 };
/** The first canonical form of every format: a set indexed by it has no `form` member. */
export const FIRST_RECORD_FORM = 1;

/** The canonical form a set's index was made by ({@link RECORD_FORMS}): its `form` member, else the first. */
export function formOf(m: Pick<RecordSetMember, 'form'>): number {
  return m.form ?? FIRST_RECORD_FORM;
}

/** The `form` member of a set indexed today in `format`: nothing for the first form (statements of formats whose form never changed stay as they were). */
export function currentFormMember(format: RecordFormat): { form?: number } {
  const form = RECORD_FORMS[format];
  return form === FIRST_RECORD_FORM ? {} : { form };
}

/**
 * Upper bound on one record index line, in bytes, used to bound an index member by its signed
 * record count: two 64-hex digests and member names (~190), a key whose RFC 8785 text is at most
 * 4,096 bytes (a `files` path of 4,096 bytes, escaped, at most twice that), a label of at most 256
 * bytes (escaped, at most 6 × 256), a row number of at most 16 digits. 16 KiB leaves room.
 */
export const MAX_INDEX_LINE_BYTES = 16384;
/** Most record sets in one snapshot. */
export const MAX_RECORD_SETS = 256;
/** Most key fields of one record set. */
export const MAX_KEY_FIELDS = 16;
/** Longest field name (key or label column), in UTF-8 bytes. */
export const MAX_FIELD_NAME_BYTES = 256;
/** Most distinct labels in one record set (ImageNet-1k has 1,000 classes). */
export const MAX_LABELS = 4096;
/** Longest label value, in UTF-8 bytes. */
export const MAX_LABEL_BYTES = 256;
/** Largest index summary (docs/FORMAT.md §19.10), 64 MiB: about 20 million records; a larger one is not written, and not read. */
export const MAX_INDEX_SUMMARY_BYTES = 64 << 20;
/**
 * Largest column-types ("schema") object of a Parquet, CSV or TSV set (docs/FORMAT.md §19.11), 16 MiB: a file
 * whose object would be larger has none signed (its set is compared as before, "types not recorded").
 */
export const MAX_SCHEMA_OBJECT_BYTES = 16 << 20;
/** Largest label segment index of a `files` set (a path has at most 2,048 segments). */
export const MAX_LABEL_SEGMENT = 2048;
/** Longest pattern of a `files` set, in UTF-8 bytes (a manifest path's limit, MAX_PATH_BYTES). */
export const MAX_PATTERN_BYTES = 4096;

/** The digests of one record index object. */
export interface RecordIndexDigest {
  /** SHA-256 of the index bytes, 64 lowercase hex: the store object's name. */
  sha256: string;
  /** RFC 9162 Merkle root over the index lines, 64 lowercase hex. */
  merkleRoot: string;
  /** SHA-256 of the index summary object (docs/FORMAT.md §19.10), 64 lowercase hex; identities `key` and `path` only, optional. */
  summary?: string;
}

/** One record set as the signed statement describes it. Optional members are omitted. */
export interface RecordSetMember {
  /** Tabular sets: the file's path in the dataset (a manifest path). */
  path?: string;
  /** `files` sets: the gitignore-syntax pattern that selected the files. */
  pattern?: string;
  format: RecordFormat;
  identity: RecordIdentity;
  /** identity `key`: the key fields, in order. */
  key?: string[];
  /** Tabular sets with a label: the label field. */
  label?: string;
  /** `files` sets: which `/`-separated segment of the path (0-based) is the label. */
  labelSegment?: number;
  /** TSV sets: how `"` is read ({@link TsvQuoting}); absent for the default. */
  quoting?: TsvQuoting;
  /** The canonical form its index was made by ({@link RECORD_FORMS}), from 2; absent for the first. */
  form?: number;
  /** Parquet, CSV and TSV sets: SHA-256 of the set's column-types object (docs/FORMAT.md §19.11: its columns in order, with their types), 64 lowercase hex; absent when sealed by an older snap or too large. */
  schema?: string;
  /** Number of records (index lines). */
  count: number;
  index: RecordIndexDigest;
  /** Records per label (with a label, or for `files` sets); sums to `count`. */
  labels?: Record<string, number>;
}

const HEX64 = /^[0-9a-f]{64}$/;

function invalid(why: string): never {
  throw new SnapError('STATEMENT_INVALID', `invalid statement: predicate.records ${why}`);
}


function checkName(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0 || utf8Length(v) > MAX_FIELD_NAME_BYTES || !isWellFormed(v)) invalid(`${what} must be a non-empty field name of at most ${MAX_FIELD_NAME_BYTES} bytes`);
  return v;
}

/** True when a string has no lone surrogate (it has a UTF-8 form). */
export function isWellFormed(s: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

/** Where a record set's name comes from: its path, or its pattern. */
export function recordSetName(m: Pick<RecordSetMember, 'path' | 'pattern'>): string {
  return (m.path ?? m.pattern) as string;
}

/**
 * Check the `records` member of a predicate (docs/FORMAT.md §19.6): at most {@link MAX_RECORD_SETS}
 * sets, sorted by name (path or pattern, UTF-8 byte order) and unique; each with exactly the members
 * its format and identity need; label counts within the limits and summing to `count`.
 * @throws SnapError `STATEMENT_INVALID`
 */
export function validateRecordsMember(value: unknown): RecordSetMember[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_RECORD_SETS) invalid(`must be an array of 1 to ${MAX_RECORD_SETS} record sets`);
  let prev: string | undefined;
  value.forEach((v, i) => {
    const where = `[${i}]`;
    if (!isObject(v)) invalid(`${where} must be an object`);
    const format = v.format as RecordFormat;
    if (!RECORD_FORMATS.includes(format)) invalid(`${where}.format must be one of ${RECORD_FORMATS.join(', ')}`);
    const identity = v.identity as RecordIdentity;
    if (!RECORD_IDENTITIES.includes(identity)) invalid(`${where}.identity must be one of ${RECORD_IDENTITIES.join(', ')}`);
    const files = format === 'files';
    if (files !== (identity === 'path')) invalid(`${where}: identity "path" goes with format "files" and only with it`);
    const allowed = new Set(['format', 'identity', 'count', 'index', 'labels', files ? 'pattern' : 'path', ...(files ? ['labelSegment'] : ['label']), ...(identity === 'key' ? ['key'] : []), ...(format === 'tsv' ? ['quoting'] : []), ...(format === 'parquet' || format === 'csv' || format === 'tsv' || format === 'jsonl' ? ['schema'] : []), 'form']);
    for (const k of Object.keys(v)) if (!allowed.has(k)) invalid(`${where} has a member ${JSON.stringify(k)} that a ${format} set with identity ${identity} does not take`);
    let name: string;
    if (files) {
      if (typeof v.pattern !== 'string' || v.pattern.length === 0 || utf8Length(v.pattern) > MAX_PATTERN_BYTES || !isWellFormed(v.pattern)) invalid(`${where}.pattern must be a non-empty string`);
      name = v.pattern;
      if (!Number.isSafeInteger(v.labelSegment) || (v.labelSegment as number) < 0 || (v.labelSegment as number) > MAX_LABEL_SEGMENT) invalid(`${where}.labelSegment must be an integer from 0 to ${MAX_LABEL_SEGMENT}`);
    } else {
      try {
        name = validatePath(v.path as string);
      } catch {
        invalid(`${where}.path must be a dataset path`);
      }
      if ('label' in v) checkName(v.label, `${where}.label`);
      if ('quoting' in v && !TSV_QUOTINGS.includes(v.quoting as TsvQuoting)) invalid(`${where}.quoting must be one of ${TSV_QUOTINGS.join(', ')}`);
    }
    if ('form' in v) {
      // Fail closed: fingerprints of a form this snap does not know cannot be compared with its own.
      const form = v.form;
      if (!Number.isSafeInteger(form) || (form as number) < FIRST_RECORD_FORM) invalid(`${where}.form must be an integer from ${FIRST_RECORD_FORM + 1}`);
      if (form === FIRST_RECORD_FORM) invalid(`${where}.form is absent for the first form (${FIRST_RECORD_FORM})`);
      const known = RECORD_FORMS[format];
      if ((form as number) > known) invalid(`${where}: its records were indexed by canonical form ${String(form)} of ${format} records (docs/FORMAT.md §19.3), a newer snap's: this snap knows ${known === FIRST_RECORD_FORM ? `form ${known} only` : `forms ${FIRST_RECORD_FORM} to ${known}`}, and cannot compare its fingerprints; use a newer snap`);
    }
    if (prev !== undefined && compareUtf8(prev, name) >= 0) invalid(`must be sorted by path or pattern, each once (${JSON.stringify(name)})`);
    prev = name;
    if (identity === 'key') {
      const key = v.key;
      if (!Array.isArray(key) || key.length === 0 || key.length > MAX_KEY_FIELDS) invalid(`${where}.key must be an array of 1 to ${MAX_KEY_FIELDS} field names`);
      key.forEach((k, j) => checkName(k, `${where}.key[${j}]`));
      if (new Set(key).size !== key.length) invalid(`${where}.key names a field twice`);
      if (typeof v.label === 'string' && key.includes(v.label)) invalid(`${where}.label is also a key field`);
    }
    if ('schema' in v && (typeof v.schema !== 'string' || !HEX64.test(v.schema))) invalid(`${where}.schema must be 64 lowercase hex`);
    if (!Number.isSafeInteger(v.count) || (v.count as number) < 0) invalid(`${where}.count must be a non-negative integer`);
    const idx = v.index;
    const summarised = identity === 'key' || identity === 'path';
    if (!isObject(idx) || !(Object.keys(idx).sort().join() === 'merkleRoot,sha256' || (summarised && Object.keys(idx).sort().join() === 'merkleRoot,sha256,summary')) || typeof idx.sha256 !== 'string' || !HEX64.test(idx.sha256) || typeof idx.merkleRoot !== 'string' || !HEX64.test(idx.merkleRoot) || ('summary' in idx && (typeof idx.summary !== 'string' || !HEX64.test(idx.summary)))) {
      invalid(`${where}.index must be {merkleRoot, sha256}${summarised ? ' or {merkleRoot, sha256, summary}' : ''}, each 64 lowercase hex`);
    }
    const labelled = files || 'label' in v;
    if (labelled !== 'labels' in v) invalid(`${where}.labels is there exactly when the set has a label`);
    if (labelled) {
      const labels = v.labels;
      if (!isObject(labels)) invalid(`${where}.labels must be an object`);
      const names = Object.keys(labels);
      if (names.length > MAX_LABELS) invalid(`${where}.labels has more than ${MAX_LABELS} labels`);
      let sum = 0;
      for (const l of names) {
        const n = labels[l];
        if (utf8Length(l) > MAX_LABEL_BYTES || !isWellFormed(l)) invalid(`${where}.labels has a label longer than ${MAX_LABEL_BYTES} bytes`);
        if (!Number.isSafeInteger(n) || (n as number) < 1) invalid(`${where}.labels[${JSON.stringify(l)}] must be a positive integer`);
        sum += n as number;
      }
      if (sum !== v.count) invalid(`${where}.labels must sum to count (${sum} ≠ ${String(v.count)})`);
    }
  });
  return value as RecordSetMember[];
}
