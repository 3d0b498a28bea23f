/**
 * `snap check B --against A`: the review gate for a legitimate new version of a dataset. A record
 * diff (`diff-sets.ts`) is held against thresholds (`thresholds.ts`); each threshold crossed is a
 * breach, and any breach fails the gate. Pure.
 */
import { categoriesChangeText, classNamesChangeText, columnOrderText, columnSetTexts, typeChangeText } from './column-types.js';
import type { RecordsReport } from './diff-sets.js';
import type { RecordSetDiff } from './record-report.js';
import type { LabelShift } from './stats.js';
import type { Thresholds } from './thresholds.js';
import ignore from 'ignore';
import { labelText } from './key-text.js';
import { escapePath } from '../core/display.js';

/** One threshold crossed. */
export interface Breach {
  /** The record set's name, or `*` for the whole dataset. */
  set: string;
  /** The threshold's name (`maxLabelChanges`, …), or `unavailable` / `newLabels` / `vanishedLabels` / `links` / `unrecordable`. */
  rule: string;
  /**
   * The measured value; for `newLabels` / `vanishedLabels`, every such label; for `links` and
   * `unrecordable`, every such entry's path; for `unavailable`, why.
   * `null` for `maxAddedShare` when A's set has no records: any addition breaches it, and the share
   * has no number (JSON has no Infinity, which `--json` printed as `null` unsaid).
   */
  value: number | string[] | string | null;
  limit?: number | boolean;
  /** One line for a person; it names at most {@link LABELS_NAMED} labels (`value` has them all). */
  message: string;
}

/**
 * Labels a breach's message names at most (a set may have up to `MAX_LABELS`, 4,096, each up to
 * 256 bytes): the same cap as the human lists of record diffs (`RECORDS_LISTED`).
 */
export const LABELS_NAMED = 20;
/** Type changes named in a `maxTypeChanges` breach's message (all are in the set's `types`). */
export const TYPE_CHANGES_NAMED = 20;

/**
 * `a, b, c` — or the first {@link LABELS_NAMED} and `… and N more`; a label that could not be told
 * apart bare (empty, a comma or quote, a space at an end) as its JSON string (`labelText`).
 */
function labelList(labels: readonly string[]): string {
  const rest = labels.length - LABELS_NAMED;
  return labels.slice(0, LABELS_NAMED).map(labelText).join(', ') + (rest > 0 ? `, … and ${rest} more` : '');
}

/** Groups of B that A does not have (by identity for duplicates, by features for conflicts). */
function newOnB(d: RecordSetDiff): { duplicates: number; conflicts: number } {
  const dupA = new Set(d.duplicates.filter((g) => g.side === 'a').map((g) => `${g.identity}\u0000${g.label ?? ''}`));
  const conA = new Set(d.conflicts.filter((g) => g.side === 'a').map((g) => g.features));
  return {
    duplicates: d.duplicates.filter((g) => g.side === 'b' && !dupA.has(`${g.identity}\u0000${g.label ?? ''}`)).length,
    conflicts: d.conflicts.filter((g) => g.side === 'b' && !conA.has(g.features)).length,
  };
}

function shiftBreaches(set: string, s: LabelShift, t: Thresholds, out: Breach[]): void {
  const over = (rule: keyof Thresholds, value: number | null, limit: number | undefined, what: string) => {
    if (limit === undefined || value === null || !(value > limit)) return;
    out.push({ set, rule, value, limit, message: `${what} ${value.toFixed(4)} is above ${limit}` });
  };
  over('maxShift', s.lInf, t.maxShift, "a label's share moved by (L∞)");
  over('maxJsDistance', s.jsDistance, t.maxJsDistance, 'Jensen–Shannon distance');
  over('maxPsi', s.psi, t.maxPsi, 'PSI');
  if (t.minChiSquareP !== undefined && s.chiSquare && s.chiSquare.p < t.minChiSquareP) {
    out.push({ set, rule: 'minChiSquareP', value: s.chiSquare.p, limit: t.minChiSquareP, message: `χ² test p-value ${s.chiSquare.p.toExponential(2)} is below ${t.minChiSquareP}` });
  }
  if (!t.allowNewLabels && s.newLabels.length > 0) out.push({ set, rule: 'newLabels', value: s.newLabels, limit: false, message: `new labels: ${labelList(s.newLabels)}` });
  if (!t.allowVanishedLabels && s.vanishedLabels.length > 0) out.push({ set, rule: 'vanishedLabels', value: s.vanishedLabels, limit: false, message: `vanished labels: ${labelList(s.vanishedLabels)}` });
}

/**
 * The breaches of a records report against thresholds. Duplicates and conflicting labels count
 * only when new in B (A, the reviewed baseline, already had the others); a set that could not be
 * compared is a breach (fail closed).
 */
export function checkRecords(r: RecordsReport, t: Thresholds): Breach[] {
  const out: Breach[] = [];
  const over = (set: string, rule: keyof Thresholds, value: number, limit: number | undefined, what: string) => {
    if (limit !== undefined && value > limit) out.push({ set, rule, value, limit, message: `${what}: ${value} (at most ${limit})` });
  };
  for (const u of r.unavailable) out.push({ set: u.name, rule: 'unavailable', value: u.reason, message: `not compared: ${u.reason}` });
  for (const d of r.sets) {
    const s = d.summary;
    over(d.name, 'maxLabelChanges', s.labelChanges, t.maxLabelChanges, 'labels changed on existing records');
    over(d.name, 'maxModified', s.modified, t.maxModified, 'records modified');
    over(d.name, 'maxRemoved', s.removed, t.maxRemoved, 'records removed');
    const fresh = newOnB(d);
    over(d.name, 'maxDuplicates', fresh.duplicates, t.maxDuplicates, 'new duplicate keys or records');
    over(d.name, 'maxConflicts', fresh.conflicts, t.maxConflicts, 'new groups of conflicting labels');
    // The same records in another order: a loader that splits by position (`train[:N]`) reads other records.
    // Measured whenever maxReordered is set (the CLI asks diff for the order: `DiffOptions.order`).
    if (t.maxReordered !== undefined && d.order && d.order.moved !== null && d.order.moved > t.maxReordered) {
      out.push({ set: d.name, rule: 'maxReordered', value: d.order.moved, limit: t.maxReordered, message: `records moved out of their order (rows reordered): ${d.order.moved} of ${d.order.common} (at most ${t.maxReordered})` });
    }
    if (t.maxAddedShare !== undefined && s.added > 0) {
      const share = d.a.records > 0 ? s.added / d.a.records : null; // null: A had none, every record is added
      if (share === null || share > t.maxAddedShare) out.push({ set: d.name, rule: 'maxAddedShare', value: share, limit: t.maxAddedShare, message: `records added: ${s.added}, ${share !== null ? `${(100 * share).toFixed(1)} %` : 'all'} of ${d.a.records} (at most ${(100 * t.maxAddedShare).toFixed(1)} %)` });
    }
    // Column types a side signed but whose object the store lacks, or a side over the bounds against
    // one whose types are known, cannot be compared: fail closed.
    if (d.types?.unknown?.missing || d.types?.unknown?.overBounds) out.push({ set: d.name, rule: 'unavailable', value: d.types.unknown.reason, message: `not compared: column types: ${d.types.unknown.reason}` });
    // A column's ClassLabel names are part of its type as a loader reads it (FORMAT §19.11): each change counts.
    // So is the columns' order, to a loader that reads by position (`df.iloc[:, -1]`): a reorder counts once;
    // and so is each column added or removed, which moves what such a loader reads (`columns added: extra`).
    const names = d.types?.classNames ?? [];
    const order = d.types?.order;
    const moved = d.types?.columns;
    // And a pandas categorical's categories, whose order `.cat.codes` index: each column whose list or `ordered` changed counts.
    const cats = d.types?.categories ?? [];
    const changes = [...(order ? [columnOrderText(order)] : []), ...(moved ? columnSetTexts(moved) : []), ...(d.types?.changes ?? []).map(typeChangeText), ...names.map(classNamesChangeText), ...cats.map(categoriesChangeText)];
    // One text for the columns added (and one for those removed), one count for each of them.
    const count = (order ? 1 : 0) + (moved ? moved.added.length + moved.removed.length : 0) + (d.types?.changes.length ?? 0) + names.length + cats.length;
    if (t.maxTypeChanges !== undefined && count > t.maxTypeChanges) {
      const named = changes.slice(0, TYPE_CHANGES_NAMED).join(', ') + (changes.length > TYPE_CHANGES_NAMED ? `, and ${changes.length - TYPE_CHANGES_NAMED} more` : '');
      const what = ['type', ...(names.length > 0 ? ['ClassLabel names'] : []), ...(cats.length > 0 ? ['pandas categories'] : []), ...(order ? ['order'] : [])];
      const whose = `columns whose ${what.length > 2 ? `${what.slice(0, -1).join(', ')} or ${what[what.length - 1]}` : what.join(' or ')} changed${moved ? ', or added or removed' : ''}`;
      out.push({ set: d.name, rule: 'maxTypeChanges', value: count, limit: t.maxTypeChanges, message: `${whose}: ${count} (at most ${t.maxTypeChanges}): ${named}` });
    }
    if (d.shift) shiftBreaches(d.name, d.shift, t, out);
  }
  if (r.dataset && r.sets.filter((d) => d.shift).length > 1) shiftBreaches('*', r.dataset, t, out);
  return out;
}

/** Folder depths below a link at which {@link linkBreaches} looks for a path a record rule matches (a link to a folder). */
export const LINK_PROBE_DEPTH = 4;

/**
 * The symbolic links B added (or changed) within reach of a record rule, as breaches `links`, one per
 * record set: a link is recorded, never followed, and is no record, yet a training job that globs a
 * label folder or walks it (following links, as torchvision's ImageFolder does) reads what it points
 * to — records no index has (a link in `mail/spam/` to a folder of poisoned files). A link is within
 * reach when a rule's pattern matches its path, or a path below it (a folder link) up to
 * {@link LINK_PROBE_DEPTH} levels down.
 * @param links the paths of B's links that A does not have with the same target
 * @param rules the record rules of both sides and the label-folder sets' patterns; `files` for a
 *   label-folder rule (its pattern names the set), else the link's path names the set it would be
 */
export function linkBreaches(links: readonly string[], rules: readonly { pattern: string; files: boolean }[]): Breach[] {
  const bySet = new Map<string, string[]>();
  const matchers = rules.map((r) => ({ ...r, ig: ignore().add(r.pattern) }));
  for (const link of links) {
    const probes = [link];
    for (let depth = 1, dir = link; depth <= LINK_PROBE_DEPTH; depth++, dir += '/x') for (const n of PROBE_NAMES) probes.push(`${dir}/${n}`);
    const hit = matchers.find((m) => probes.some((p) => m.ig.ignores(p)));
    if (!hit) continue;
    const set = hit.files ? hit.pattern : link;
    const paths = bySet.get(set);
    if (paths) paths.push(link); // not a copy per link: B may add a million
    else bySet.set(set, [link]);
  }
  return [...bySet].map(([set, paths]) => ({ set, rule: 'links', value: paths, message: linksMessage(paths) }));
}

/** How a breach's message writes a path: `escapePath` in `--json` (its `message` as it has always been), `escapeListedPath` on a terminal. */
export type PathText = (path: string) => string;

/** `a, b, c` of paths, each written by `pathText` — or the first {@link LABELS_NAMED} and `… and N more`. */
function pathList(paths: readonly string[], pathText: PathText): string {
  return paths.slice(0, LABELS_NAMED).map((p) => pathText(p)).join(', ') + (paths.length > LABELS_NAMED ? `, … and ${paths.length - LABELS_NAMED} more` : '');
}

/**
 * The message of a breach `links` ({@link linkBreaches}): what the links are, then at most
 * {@link LABELS_NAMED} of their paths, each written by `pathText` (default `escapePath`, as
 * `--json` has it; `check`'s human lines give `escapeListedPath`, so that a link named
 * `l (row 3), m.txt` reads as one path, not two).
 */
export function linksMessage(paths: readonly string[], pathText: PathText = escapePath): string {
  return `symbolic links within reach of its record rule, which a reader that follows them reads as records no index has: ${pathList(paths, pathText)}`;
}

/**
 * The breach `unrecordable` (set `*`, no threshold): entries of a folder B that no snapshot can
 * record — a name seal refuses (not UTF-8, a control character, too long; SPEC §2), a link whose
 * target is not UTF-8, a socket, FIFO or device (`DiffReport.extra` of side b). seal refuses B while
 * it holds one and verify names each as extra, but a training job that reads the folder takes a
 * file there as a sample no record diff saw: `ham/evil\xff.txt` injected a sample and check passed.
 * @param paths their paths, decoded without loss (`decodeNameBytes`)
 * @returns no breach when `paths` is empty
 */
export function unrecordableBreaches(paths: readonly string[]): Breach[] {
  return paths.length === 0 ? [] : [{ set: '*', rule: 'unrecordable', value: [...paths], message: unrecordableMessage(paths) }];
}

/** The message of a breach `unrecordable` ({@link unrecordableBreaches}), each path written by `pathText` (as {@link linksMessage}). */
export function unrecordableMessage(paths: readonly string[], pathText: PathText = escapePath): string {
  return `entries of B that no snapshot can record, though a reader of the folder takes them (seal refuses them, verify names them extra): ${paths.length}: ${pathList(paths, pathText)}`;
}

/** One file added, removed or changed between A and B that no record set covers (`unindexedFiles` of `check --json`). */
export interface UnindexedFile {
  /**
   * Its dataset path. A renamed file is its removal (the old path) and its addition (the new one).
   * A path ending in `/` is a label folder of a folder B that holds no sample of its set
   * (`cli/label-folders.ts`): a new class to a folder reader, `added`, `data` true.
   */
  path: string;
  change: 'added' | 'removed' | 'modified';
  /** Whether it looks like data ({@link looksLikeData}, or it lies in a label folder): such a file counts for `maxUnindexedFiles`. */
  data: boolean;
}

/**
 * File name endings (case-insensitive) of the files snap reads as records, and `.json`: snap's
 * record formats (FORMAT §19.1), and `.json`, which `pandas.read_json` and
 * `datasets.load_dataset("json")` read as records. A record rule's pattern matches only these
 * (a table rule) or any name (a `files` rule): {@link linkBreaches} probes below a link with them.
 */
export const RECORD_FILE_ENDINGS: readonly string[] = ['.csv', '.tsv', '.tab', '.jsonl', '.ndjson', '.json', '.parquet'];

/**
 * File name endings (case-insensitive) of files that look like data to a training job:
 * {@link RECORD_FILE_ENDINGS}, then the formats loaders read as samples — Arrow IPC and Feather
 * (`datasets`' own cache, `load_dataset("arrow")`), TFRecord, WebDataset and other shards in
 * archives (`.tar`, `.tgz`, `.zip`: `datasets` reads zipped data files), NumPy, pickle, PyTorch
 * (`torch.save`), HDF5, Avro, ORC, safetensors, msgpack, Lance, MosaicML `.mds` shards, LMDB's
 * `data.mdb`, Megatron's indexed `.bin`/`.idx`, Parquet's short `.pq`, Arrow's `.ipc`, `.txt`
 * (`load_dataset("text")`, wikitext's `train.txt`: one sample a line), and the rest of `datasets`'
 * extension table (`_EXTENSION_TO_MODULE`: `.geoparquet` and `.gpq` read as Parquet, `.xml`, `.eval`). Fail closed: a `LICENSE.txt`
 * or a `.zip` of code changed outside every record set is counted too (`maxUnindexedFiles` lets a
 * review take such changes).
 */
export const DATA_FILE_ENDINGS: readonly string[] = [
  ...RECORD_FILE_ENDINGS,
  '.pq', '.arrow', '.feather', '.ipc', '.tfrecord', '.tfrecords', '.tar', '.tgz', '.zip',
  '.npy', '.npz', '.pkl', '.pickle', '.pt', '.pth', '.h5', '.hdf5', '.avro', '.orc',
  '.safetensors', '.msgpack', '.lance', '.mds', '.mdb', '.bin', '.idx', '.txt',
  '.geoparquet', '.gpq', '.xml', '.eval',
];
/**
 * The file names {@link linkBreaches} tries at each depth below a link: one of each
 * {@link RECORD_FILE_ENDINGS} ending, and one of none — a table rule matches only those endings;
 * the longer {@link DATA_FILE_ENDINGS} would make the probe four times as long for no rule more.
 */
const PROBE_NAMES: readonly string[] = ['x', ...RECORD_FILE_ENDINGS.map((e) => `x${e}`)];
/** Compression endings that may follow a {@link DATA_FILE_ENDINGS} ending (`train.csv.gz`): pandas and `datasets` read such files as they are. */
export const COMPRESSED_ENDINGS: readonly string[] = ['.gz', '.bz2', '.xz', '.zst', '.zstd', '.lz4', '.zip'];

/** Whether a path's name ends in a {@link DATA_FILE_ENDINGS} ending, alone or followed by one of {@link COMPRESSED_ENDINGS}, in any case. */
export function looksLikeData(path: string): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  const data = (n: string) => DATA_FILE_ENDINGS.some((e) => n.endsWith(e) && n.length > e.length);
  const z = COMPRESSED_ENDINGS.find((e) => name.endsWith(e));
  return data(name) || (z !== undefined && data(name.slice(0, -z.length)));
}

/**
 * File names (case-insensitive) that Hugging Face's `imagefolder` and `audiofolder` loaders read, at
 * any level of the folder they load, as the labels and features of the files each row names
 * (`file_name`), not as samples: https://huggingface.co/docs/datasets/en/image_dataset ("ImageFolder",
 * metadata) and https://huggingface.co/docs/hub/datasets-image ("Additional columns").
 */
export const FOLDER_METADATA_NAMES: readonly string[] = ['metadata.csv', 'metadata.jsonl', 'metadata.parquet'];

/** Whether a path's name is one of {@link FOLDER_METADATA_NAMES}, in any case. */
export function isFolderMetadata(path: string): boolean {
  return FOLDER_METADATA_NAMES.includes(path.slice(path.lastIndexOf('/') + 1).toLowerCase());
}

/** The dataset card at the dataset root whose YAML front matter Hugging Face's `load_dataset` reads. */
export const DATASET_CARD = 'README.md';

/**
 * Whether a dataset path is the root dataset card ({@link DATASET_CARD}) in any case (`Readme.md`,
 * `README.MD`): on a file system that ignores case (macOS, Windows) `load_dataset` opens it as
 * `README.md`, so it is judged as the card (fail closed on a case-sensitive one).
 */
export function isDatasetCard(path: string): boolean {
  return path.toLowerCase() === DATASET_CARD.toLowerCase();
}

/**
 * The standalone card metadata at the dataset root (`config.REPOYAML_FILENAME`): `load_dataset` of a
 * folder reads it as YAML and merges it over the card's front matter, `configs:` → `data_files:`
 * (which file is which split) included. It is nothing but such metadata, so it is data whenever it
 * is added, removed or changed (in any case, as {@link isDatasetCard}).
 */
export const DATASET_CARD_YAML = '.huggingface.yaml';

/** Whether a dataset path is the root {@link DATASET_CARD_YAML}, in any case. */
export function isDatasetCardYaml(path: string): boolean {
  return path.toLowerCase() === DATASET_CARD_YAML;
}

/**
 * Bytes of a dataset card read from its start to find its front matter (`cli/dataset-card.ts`): a
 * card whose first {@link CARD_HEAD_BYTES} bytes are all white space is taken to have front matter
 * (fail closed), since `huggingface_hub` lets any white space come before the opening `---`.
 */
export const CARD_HEAD_BYTES = 4096;

/**
 * The characters Python's `\s` matches in a `str` pattern (those `str.isspace()` is true of), which
 * `huggingface_hub`'s `^\s*---[\r\n]+` skips before a card's front matter: ASCII white space, U+001C
 * to U+001F, U+0085, the no-break spaces (U+00A0, U+202F), U+1680, U+2000 to U+200A, the line and
 * paragraph separators, U+205F and U+3000.
 */
const PYTHON_SPACE = /[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u;

/**
 * Whether the first bytes of a dataset card open a YAML front matter block, as `huggingface_hub`
 * finds one (`^\s*---[\r\n]+` on the card read as UTF-8 text, the card metadata `load_dataset`
 * reads its `configs:` → `data_files:` splits from): after a UTF-8 byte-order mark and white space
 * as Python's `\s` takes it ({@link PYTHON_SPACE}: a no-break space too), a line `---`.
 * @param head the card's first bytes (at most {@link CARD_HEAD_BYTES})
 * @param whole whether `head` is the whole card: if not, and it is all white space, the answer is true (fail closed)
 */
export function opensFrontMatter(head: Uint8Array, whole: boolean): boolean {
  // A character cut at the end of a head that is not the whole card is left out (stream), not read as U+FFFD.
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(head, { stream: !whole });
  let i = text.startsWith('\ufeff') ? 1 : 0;
  while (i < text.length && PYTHON_SPACE.test(text[i] as string)) i++;
  if (i === text.length) return !whole;
  if (!text.startsWith('---', i)) return false;
  const next = text[i + 3];
  return next === '\n' || next === '\r' || (next === undefined && !whole);
}

/** What the record sets of a check cover. */
export interface RecordCoverage {
  /** Paths of tabular record sets, and names of sets not compared (`unavailable`: already a breach). */
  tables: readonly string[];
  /** Label-folder sets: their pattern and label segment (FORMAT §19.1). */
  labelFolders: readonly { pattern: string; labelSegment: number }[];
}

/**
 * A matcher of the label folders of a label-folder set: the first `labelSegment + 1` segments of
 * its pattern, anchored at the dataset root (`mail/*` of a pattern `mail/<label>/<file>` whose
 * label segment is 1), tried on a path's first `labelSegment + 1` segments. Undefined when the pattern has no segment below its
 * label segment (it matches at any depth, `*.png`): its folders are not known from it.
 */
function labelFolderMatcher(pattern: string, labelSegment: number): ((path: string) => boolean) | undefined {
  const segs = pattern.replace(/^\//, '').split('/');
  if (segs.length <= labelSegment + 1) return undefined;
  const ig = ignore().add('/' + segs.slice(0, labelSegment + 1).join('/'));
  return (path) => {
    const parts = path.split('/');
    if (parts.length < labelSegment + 2) return false;
    const dir = parts.slice(0, labelSegment + 1).join('/');
    return ig.ignores(dir) || ig.ignores(`${dir}/`);
  };
}

/**
 * The files of `changes` that no record set covers, in the order given. A file in a label folder
 * (below the label segment of a label-folder set's pattern, or matched by that pattern) is covered
 * only as a record of that set: one that its pattern leaves out (`mail/spam/x.jpg` where the pattern
 * takes `.txt` files only), that a table rule reads (`mail/spam/p.jsonl`, a rule put before the set's, even
 * A's own), or that the pattern matches with no segment below the label segment (`mail/metadata.csv`
 * of `mail/**` with label segment 1: no record, `fileForms`), or that is named like a Hugging Face
 * metadata file ({@link FOLDER_METADATA_NAMES}: `mail/spam/metadata.jsonl` of `mail/*\/*`) is listed, and looks like data — a reader of the label folders (torchvision's
 * `ImageFolder`, a glob of `mail/spam/*`) takes it as a sample of that label, and Hugging Face's
 * `imagefolder` reads a `metadata.csv` above them as the labels of the files it names. Elsewhere a file is
 * covered when it is a tabular set's file; it looks like data when {@link looksLikeData}.
 */
export function unindexedFiles(changes: readonly { path: string; change: UnindexedFile['change'] }[], cover: RecordCoverage): UnindexedFile[] {
  const tables = new Set(cover.tables);
  const folders = cover.labelFolders.map((f) => ({ ig: ignore().add(f.pattern), labelSegment: f.labelSegment, inFolder: labelFolderMatcher(f.pattern, f.labelSegment) }));
  const out: UnindexedFile[] = [];
  for (const { path, change } of changes) {
    const holding = folders.filter((f) => f.ig.ignores(path) || f.inFolder?.(path));
    if (holding.length > 0) {
      // A sample of the set: its pattern matches it and it has a segment below the label segment
      // (`fileForms`); one above the label folders (`mail/metadata.csv` of `mail/**`) is no record.
      // Nor is a Hugging Face metadata file (`isFolderMetadata`), which a folder loader reads as labels.
      const sample = (f: (typeof folders)[number]) => f.ig.ignores(path) && path.split('/').length > f.labelSegment + 1 && !isFolderMetadata(path);
      if (!tables.has(path) && holding.some(sample)) continue;
      out.push({ path, change, data: true });
    } else if (!tables.has(path)) out.push({ path, change, data: looksLikeData(path) || isDatasetCardYaml(path) });
  }
  return out;
}

/**
 * The breach `maxUnindexedFiles` (set `*`): more files that look like data outside every record set
 * than `limit`; its message names at most {@link LABELS_NAMED} of them. None when `limit` is undefined.
 */
export function unindexedBreaches(files: readonly UnindexedFile[], limit: number | undefined): Breach[] {
  const data = files.filter((f) => f.data).map((f) => f.path);
  if (limit === undefined || data.length <= limit) return [];
  return [{ set: '*', rule: 'maxUnindexedFiles', value: data.length, limit, message: unindexedMessage(files, limit) }];
}

/**
 * The message of the breach `maxUnindexedFiles` ({@link unindexedBreaches}): how many of `files`
 * look like data, the limit, and at most {@link LABELS_NAMED} of their paths, each written by
 * `pathText` (default `escapePath`, as `--json` has it; `check`'s human lines give `escapeListedPath`).
 */
export function unindexedMessage(files: readonly UnindexedFile[], limit: number, pathText: PathText = escapePath): string {
  const data = files.filter((f) => f.data).map((f) => f.path);
  return `files outside every record set that look like data (a data format's ending, or in a label folder; a path ending in / is a label folder with no sample), added, removed or changed: ${data.length} (at most ${limit}): ${pathList(data, pathText)}`;
}
