/**
 * Record diffs of every record set two sides share (docs/DESIGN.md, "Record forensics"). A side is a
 * snapshot — its signed `predicate.records` and the index objects in a store — or a dataset folder,
 * whose record files are indexed on the fly, with the snapshot side's definitions (or, for two
 * folders, the sets both folders' `snap.json` rules define; a snapshot side's signed `snap.json`,
 * when given, defines sets its indexes do not). Works with indexes only — so two `--manifest-only`
 * snapshots compare as well as any — except where the two sides' indexes were made by different
 * canonical forms (`form`, docs/FORMAT.md §19.3): the older side's file is then indexed again from
 * its bytes in the store, or the set is `unavailable`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SnapError } from '../core/errors.js';
import { isSymlinkEntry } from '../core/manifest.js';
import { compareUtf8 } from '../core/paths.js';
import { formOf, recordSetName, RECORD_FORMS, type RecordFormat, type RecordIdentity, type RecordSetMember, type TsvQuoting } from '../core/records.js';
import { manifestEntryRuns, rereadEntryRuns } from '../io/manifest-file.js';
import { RuleSet, tabularSpec, type RecordConfig, type RecordSetSpec } from './config.js';
import { FileSetIndexer, type IndexFileOptions } from './index-file.js';
import { fileForms } from './canonical.js';
import { indexStoreObject, indexWorkersFor, RecordIndexPool } from './index-pool.js';
import type { IndexExpectation } from './read-index.js';
import { diffIndexFiles } from './diff-index-files.js';
import { labelFolderSetOf } from './label-flips.js';
import { RecordDiffCollector, type ConflictGroup, type RecordSetDiff } from './record-report.js';
import { diffBySummaries, type SummarySide } from './diff-summaries.js';
import { measuresOrder, type RecordDiffCounts } from './record-diff.js';
import { sumOrders, type SetOrder } from './row-order.js';
import { conflictGroups } from './conflicts.js';
import { labelShift, newLabelCounts, sumLabels, type LabelShift } from './stats.js';
import { makeScratchDir, removeWhenDone } from '../io/scratch-dir.js';
import { compareTypes, readTypes, signedTypes, type SideTypes } from './read-schema.js';
import { COLUMN_ORDER_NOT_RECORDED } from './column-types.js';
import type { BuiltIndex } from './build-index.js';

/** A snapshot side: its record sets, and where index objects may be found. */
export interface SnapshotRecordSide {
  kind: 'snapshot';
  members: readonly RecordSetMember[];
  /** Its manifest (to know which files it has). */
  manifestPath: string;
  /**
   * The hex SHA-256 its statement signed for that manifest: the record diff reads the manifest again
   * and refuses other bytes (`INTEGRITY_FAILURE`). Absent for a dataset in S3, which has no indexes here.
   */
  manifestSha256?: string;
  /** `objects/sha256` folders of stores that may hold its index objects (checked by digest). */
  objectDirs: readonly string[];
  /**
   * Its own signed `snap.json`, when the caller read it (snapshot-config.ts): its rules define, besides
   * its indexes, the sets it would index in either side's files, so that a record file the other
   * side holds and this one's rules match is compared (or `unavailable`), never left out.
   */
  config?: RecordConfig;
  /**
   * Its signed indexes are not believed (no trusted key signed it, and it is the version under
   * review: `check`): each of its record sets that it has an index for is indexed again from its
   * bytes — a tabular file from the store object its manifest names (checked against that digest),
   * a label-folder set from its manifest — and is `unavailable` when those bytes are not at hand
   * ({@link UNVERIFIED_INDEX_UNAVAILABLE}). Else whoever signs with a key of their own could name
   * another version's clean index beside their poisoned file.
   */
  reindex?: true;
}

/** A folder side: its files, as a manifest made by scanning it. */
export interface FolderRecordSide {
  kind: 'folder';
  dir: string;
  manifestPath: string;
  /** The folder's own `snap.json`, used when both sides are folders. */
  config?: RecordConfig;
}

export type RecordSide = SnapshotRecordSide | FolderRecordSide;

/** A record set that could not be compared, and why. */
export interface UnavailableSet {
  name: string;
  side: 'a' | 'b' | 'both';
  reason: string;
}

/** The record part of a diff. */
export interface RecordsReport {
  sets: RecordSetDiff[];
  unavailable: UnavailableSet[];
  /** Totals over the sets. */
  summary: { sets: number; unchanged: number; added: number; removed: number; modified: number; flipped: number; relabelled: number; labelChanges: number; duplicates: { a: number; b: number }; conflicts: { a: number; b: number } };
  /**
   * The sets' `order` summed (`row-order.ts`), when a set has one: records paired, and moved out of
   * A's order — or `moved` null with `notMeasured` when a set's order was not measured.
   */
  order?: SetOrder;
  /** The dataset's label distribution (labelled sets summed) and its shift. */
  dataset?: LabelShift;
}

/** How a set is defined: what a statement member says, less its digests. */
export interface SetDefinition {
  name: string;
  format: RecordFormat;
  identity: RecordIdentity;
  key?: string[];
  label?: string;
  labelSegment?: number;
  /** TSV sets: how `"` is read, when not the default. */
  quoting?: TsvQuoting;
}

const defOf = (m: RecordSetMember): SetDefinition => ({
  name: recordSetName(m),
  format: m.format,
  identity: m.identity,
  ...(m.key ? { key: m.key } : {}),
  ...(m.label !== undefined ? { label: m.label } : {}),
  ...(m.labelSegment !== undefined ? { labelSegment: m.labelSegment } : {}),
  ...(m.quoting !== undefined ? { quoting: m.quoting } : {}),
});

const sameDef = (x: SetDefinition, y: SetDefinition) => JSON.stringify(x) === JSON.stringify(y);
const labelledDef = (d: SetDefinition) => d.label !== undefined || d.format === 'files';
const specOf = (d: SetDefinition): RecordSetSpec => ({ format: d.format, identity: d.identity, ...(d.key ? { key: d.key } : {}), ...(d.label !== undefined ? { label: d.label } : {}), ...(d.quoting !== undefined ? { quoting: d.quoting } : {}) });

/**
 * Where one side of a set's records come from. An index to be built on the fly (`build`, a folder
 * side's file, or a snapshot's file read again from the store) is written at `path` once `ready`
 * settles: the builds of every set are queued at once, so that several files are read at the same
 * time (`index-pool.ts`). `form` is the canonical form its fingerprints were made by (§19.3).
 */
type Source = { kind: 'index'; path: string; x: IndexExpectation; form: number; member?: RecordSetMember; summaryPath?: string; schemaPath?: string; storedCopy?: { path: string; sha256: string }; build?: { options: IndexFileOptions; size: number; fromStore?: true }; ready?: Promise<unknown>; built?: BuiltIndex } | { kind: 'empty' } | { kind: 'unavailable'; reason: string };

/** Why a set is not compared when one side's index was made by an older form and its file's bytes are not at hand. */
export const OLDER_FORM_UNAVAILABLE = 'indexed by an older canonical form (FORMAT §19.3), and its bytes are not at hand to index again (not in the store; the data of an archive is not read for this)';

/** Why a set of a side whose signed index is not believed ({@link SnapshotRecordSide.reindex}) is not compared when its file's bytes are not at hand. */
export const UNVERIFIED_INDEX_UNAVAILABLE = 'its record index is not signed by a trusted key, and the bytes of its file are not at hand to index again (not in the store: sealed --manifest-only, or an archive, whose data is not read for this)';

/** Each snapshot side's record set members by set name, made once (a side may hold thousands). */
const membersByName = new WeakMap<SnapshotRecordSide, Map<string, RecordSetMember>>();

/** The record set member of a snapshot side named `name` (none for a folder side). */
function memberOf(side: RecordSide, name: string): RecordSetMember | undefined {
  if (side.kind !== 'snapshot') return undefined;
  let byName = membersByName.get(side);
  if (!byName) {
    byName = new Map();
    for (const m of side.members) if (!byName.has(recordSetName(m))) byName.set(recordSetName(m), m);
    membersByName.set(side, byName);
  }
  return byName.get(name);
}

/** The path of a store object named `hex`, in the first of `dirs` that has it. */
function findObject(dirs: readonly string[], hex: string): string | undefined {
  for (const d of dirs) {
    const p = join(d, hex.slice(0, 2), hex.slice(2));
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Definitions from a folder's `snap.json` rules applied to its manifest. */
async function definitionsFromRules(config: RecordConfig, manifestPath: string): Promise<SetDefinition[]> {
  const rules = new RuleSet(config.rules);
  const out: SetDefinition[] = [];
  const files = new Set<string>();
  for await (const run of manifestEntryRuns(manifestPath, {})) {
    for (const e of run) {
      if (isSymlinkEntry(e)) continue;
      const rule = rules.match(e.path);
      if (!rule) continue;
      if (rule.format === 'files') {
        if (!files.has(rule.pattern)) {
          files.add(rule.pattern);
          out.push({ name: rule.pattern, format: 'files', identity: 'path', labelSegment: rule.labelSegment as number });
        }
        continue;
      }
      const spec = tabularSpec(rule, e.path);
      if (spec) out.push({ name: e.path, ...spec });
    }
  }
  return out;
}

/**
 * Compare the records of two sides, set by set. A tabular file of a folder side with the same digest
 * as on the snapshot side is not read: the snapshot's signed index describes exactly those bytes.
 * Fingerprints made by different canonical forms are never compared: a snapshot side whose index is
 * of an older form than the other side's is indexed again from the store's object of its file
 * (checked against its manifest digest), or is `unavailable` ({@link OLDER_FORM_UNAVAILABLE}).
 * @param opts.jobs at most this many of a folder side's files are indexed at once (default: the cores)
 * @param opts.order measure the order of every set's records even where that reads both whole
 *   indexes (two signed indexes with summaries, records added or removed: `diffBySummaries`); by
 *   default such a set's `order` says it was not measured. A folder side reads whole indexes anyway,
 *   and is always measured.
 * @returns undefined when neither side defines any record set
 * @throws SnapError from reading or indexing (`RECORDS_*`, `OBJECT_CORRUPT`, `IO_ERROR`, `INTERNAL`
 *   when an indexing worker dies)
 */
export async function diffRecordSides(a: RecordSide, b: RecordSide, opts: { jobs?: number; order?: boolean } = {}): Promise<RecordsReport | undefined> {
  // 1. The sets to compare, and their definitions.
  const defs = new Map<string, SetDefinition>();
  const unavailable: UnavailableSet[] = [];
  /** Each side's `snap.json` rules applied to both sides' files (a side without rules has none). */
  const rulesOf = new Map<RecordSide, Map<string, SetDefinition>>();
  const snapshots = ([a, b] as const).filter((s): s is SnapshotRecordSide => s.kind === 'snapshot');
  if (snapshots.length > 0) {
    for (const s of snapshots) {
      for (const m of s.members) {
        const d = defOf(m);
        const had = defs.get(d.name);
        if (had && !sameDef(had, d)) {
          unavailable.push({ name: d.name, side: 'both', reason: 'the two snapshots index this set differently (format, identity, key, label or quoting)' });
          defs.delete(d.name);
          continue;
        }
        if (!unavailable.some((u) => u.name === d.name)) defs.set(d.name, d);
      }
    }
    // The sets either side's rules define (a snapshot's signed snap.json, a folder's own) in either
    // side's files, where no index defines one: a record file that only the other side holds, or
    // that a version under review left out of its own rules, is compared (or unavailable: a
    // snapshot holding the file without an index of it), not passed over. An index's definition wins
    // over a snapshot's rules; a folder's snap.json that defines an indexed set differently (another
    // key, label or quoting) is the change under review, and the set is not compared (unavailable, a
    // breach for check), as between two folders: read with the snapshot's definition, a TSV whose
    // rule went from quoting "none" to "csv" was "3 → 3 records, no record changed", and 1 record once sealed.
    // A folder's rule that is the snapshot's own (its signed snap.json) is no change, even where the
    // index differs from it: `seal --records` indexes by its flags instead of snap.json.
    const byRules = new Map<string, SetDefinition>();
    for (const side of [a, b]) {
      if (!side.config || side.config.rules.length === 0) continue;
      const mine = new Map<string, SetDefinition>();
      for (const m of [a.manifestPath, b.manifestPath]) for (const d of await definitionsFromRules(side.config, m)) mine.set(d.name, d);
      rulesOf.set(side, mine);
    }
    for (const side of [a, b]) {
      const mine = rulesOf.get(side);
      if (!mine) continue;
      const other = side === a ? b : a;
      for (const d of mine.values()) {
        const indexed = defs.get(d.name);
        const unchanged = other.kind === 'snapshot' && rulesOf.get(other)?.get(d.name) !== undefined && sameDef(rulesOf.get(other)?.get(d.name) as SetDefinition, d);
        if (indexed && side.kind === 'folder' && !sameDef(indexed, d) && !unchanged) {
          unavailable.push({ name: d.name, side: side === a ? 'a' : 'b', reason: "the folder's snap.json defines this set differently from the snapshot's index (format, identity, key, label or quoting)" });
          defs.delete(d.name);
          continue;
        }
        if (defs.has(d.name) || unavailable.some((u) => u.name === d.name)) continue;
        const had = byRules.get(d.name);
        if (had && !sameDef(had, d)) {
          unavailable.push({ name: d.name, side: 'both', reason: "the two sides' snap.json define this set differently (format, identity, key, label or quoting)" });
          byRules.delete(d.name);
          continue;
        }
        byRules.set(d.name, d);
      }
    }
    for (const [name, d] of byRules) if (!unavailable.some((u) => u.name === name)) defs.set(name, d);
  } else {
    // Two folders: the sets A's rules define and the sets B's rules define, each applied to the
    // files of both. B's snap.json is part of the change under review: it may add sets, but it
    // cannot take a set of A's out of the comparison, nor redefine one (a set the two define
    // differently is not compared, like one two snapshots index differently: `check` fails it).
    const byRules = new Map<string, SetDefinition>();
    for (const side of [a, b] as FolderRecordSide[]) {
      const config = side.config;
      if (!config || config.rules.length === 0) continue;
      const mine = new Map<string, SetDefinition>();
      for (const m of [a.manifestPath, b.manifestPath]) for (const d of await definitionsFromRules(config, m)) mine.set(d.name, d);
      rulesOf.set(side, mine);
      for (const d of mine.values()) {
        const had = byRules.get(d.name);
        if (had && !sameDef(had, d)) {
          if (!unavailable.some((u) => u.name === d.name)) unavailable.push({ name: d.name, side: 'both', reason: "the two folders' snap.json define this set differently (format, identity, key, label or quoting)" });
          continue;
        }
        byRules.set(d.name, d);
      }
    }
    for (const [name, d] of byRules) if (!unavailable.some((u) => u.name === name)) defs.set(name, d);
  }
  // A tabular set inside a label-folder set's pattern is carved out of it (the first rule that
  // matches decides, §19.1) — but only by the rules of the side that made it: a rule the version under
  // review put first read its new files in mail/spam/ as header-only CSVs of no records, and 40 spam
  // samples to whoever reads the label folders went unseen. Such a set is compared only when every
  // side that defines the label-folder set also defines it (its index or its rules); else it is
  // unavailable (a breach for check).
  const definers = (d: SetDefinition): Set<'a' | 'b'> => {
    const out = new Set<'a' | 'b'>();
    for (const [tag, side] of [['a', a], ['b', b]] as const) {
      const m = memberOf(side, d.name);
      const r = rulesOf.get(side)?.get(d.name);
      if ((m && sameDef(defOf(m), d)) || (r && sameDef(r, d))) out.add(tag);
    }
    return out;
  };
  const filesSetOfTable = labelFolderSetOf([...defs.values()].filter((d) => d.format === 'files').sort((p, q) => compareUtf8(p.name, q.name)).map((d) => ({ pattern: d.name, d, by: definers(d) })));
  for (const t of [...defs.values()]) {
    if (t.format === 'files') continue;
    const f = filesSetOfTable(t.name);
    if (!f) continue;
    const by = definers(t);
    const without = [...f.by].filter((x) => !by.has(x));
    if (without.length === 0) continue;
    defs.delete(t.name);
    unavailable.push({ name: t.name, side: by.size === 1 ? ([...by][0] as 'a' | 'b') : 'both', reason: `it lies in the label-folder set ${f.d.name}, and only the other side's rules read it as a table: to side ${without.join(' and ')} it is a file of that set (a sample of its label folder), which those rules take out of it` });
  }
  if (defs.size === 0 && unavailable.length === 0) return undefined;

  // A private folder for the indexes a folder side is given on the fly: none between two snapshots,
  // whose signed indexes are read where they are (making, sweeping and removing one cost a diff
  // tens of milliseconds of waiting), unless one was indexed by an older form (read again below).
  const olderForm = snapshots.some((s) => s.reindex || s.members.some((m) => formOf(m) !== RECORD_FORMS[m.format]));
  // Or a set whose signed column object the store lacks: its file's copy is indexed again (below).
  const lostColumns = snapshots.some((s) => s.members.some((m) => (m.format === 'csv' || m.format === 'tsv' || m.format === 'jsonl' || m.format === 'parquet') && m.schema !== undefined && findObject(s.objectDirs, m.schema) === undefined));
  const scratch = a.kind === 'folder' || b.kind === 'folder' || olderForm || lostColumns ? await makeScratchDir('snap-records-') : undefined;
  const removeTmp = scratch ? removeWhenDone(scratch) : async () => {};
  const tmp = (): string => {
    if (scratch === undefined) throw new SnapError('INTERNAL', 'a record index was to be built without a folder side, an index of an older form or a lost column object');
    return scratch;
  };
  let pool: RecordIndexPool | undefined;
  try {
    // 2. One pass over each side's manifest: which record files it has (and their digests), and the
    //    files of label-folder sets (folder sides build those indexes here).
    const tabular = [...defs.values()].filter((d) => d.format !== 'files');
    const tabularNames = new Set(tabular.map((d) => d.name));
    // In the statement's order (sorted by pattern, FORMAT §19.6), whichever side defined them: a
    // file is its tabular set's, else the first label-folder set's of that order that matches it, on
    // either side — as the seal now signs only rules by which it is (seal-records.ts). The sets a
    // folder's snap.json added used to come after the snapshot's, so that a folder's files went to
    // another set than its seal put them in.
    const filesDefs = [...defs.values()].filter((d) => d.format === 'files').sort((p, q) => compareUtf8(p.name, q.name));
    const filesSetOf = labelFolderSetOf(filesDefs.map((d) => ({ pattern: d.name, d })));
    const scan = async (side: RecordSide, tag: string) => {
      const digests = new Map<string, string>();
      const sizes = new Map<string, number>();
      const builders = new Map(side.kind === 'folder' || side.reindex ? filesDefs.filter((d) => side.kind === 'folder' || memberOf(side, d.name)).map((d) => [d.name, new FileSetIndexer(d.name, d.labelSegment as number, { tmpDir: tmp(), strictKeys: false })]) : []);
      // A snapshot side: which label-folder sets it holds a record file of (one it holds none of is an
      // empty set, as a tabular file it does not hold is; one it holds files of without an index of
      // them is unavailable).
      const unindexed = new Set(side.kind === 'snapshot' ? filesDefs.filter((d) => !memberOf(side, d.name)).map((d) => d.name) : []);
      const filesHeld = new Set<string>();
      for await (const run of rereadEntryRuns(side.manifestPath, side.kind === 'snapshot' ? side.manifestSha256 : undefined)) {
        for (const e of run) {
          if (isSymlinkEntry(e)) continue;
          if (tabularNames.has(e.path)) {
            digests.set(e.path, e.sha256);
            sizes.set(e.path, e.size);
            continue;
          }
          const d = filesSetOf(e.path)?.d;
          if (!d) continue;
          const ix = builders.get(d.name);
          if (ix) await ix.add(e);
          else if (unindexed.has(d.name) && fileForms(e.path, e.sha256, d.labelSegment as number)) filesHeld.add(d.name);
        }
      }
      const filesIndexes = new Map<string, string | undefined>();
      for (const [name, ix] of builders) {
        const out = join(tmp(), `files-${tag}-${filesIndexes.size}`);
        filesIndexes.set(name, (await ix.finish(out)) ? out : undefined);
      }
      return { digests, sizes, filesIndexes, filesHeld };
    };
    const seenA = await scan(a, 'a');
    const seenB = await scan(b, 'b');

    let built = 0;
    const source = async (side: RecordSide, seen: typeof seenA, other: RecordSide, otherSeen: typeof seenA, d: SetDefinition): Promise<Source> => {
      const x = (member?: RecordSetMember): IndexExpectation => ({ identity: d.identity, labelled: labelledDef(d), name: d.name, ...(member ? { sha256: member.index.sha256, count: member.count } : {}) });
      if (side.kind === 'snapshot') {
        const m = memberOf(side, d.name);
        if (!m) {
          if (d.format === 'files' ? !seen.filesHeld.has(d.name) : !seen.digests.has(d.name)) return { kind: 'empty' };
          return { kind: 'unavailable', reason: 'this snapshot has no record index for it (sealed without a record rule for it)' };
        }
        if (!side.reindex) {
          const path = findObject(side.objectDirs, m.index.sha256);
          if (!path) return { kind: 'unavailable', reason: `its record index object ${m.index.sha256.slice(0, 12)}… is not in the store` };
          return { kind: 'index', path, x: x(m), form: formOf(m), member: m, ...summaryOf(side.objectDirs, m) };
        }
      }
      // A folder side, or a snapshot side whose index is a claim (reindex): its records come from its bytes.
      if (d.format === 'files') {
        const p = seen.filesIndexes.get(d.name);
        return p ? { kind: 'index', path: p, x: x(), form: RECORD_FORMS.files } : { kind: 'empty' };
      }
      const digest = seen.digests.get(d.name);
      if (digest === undefined) return { kind: 'empty' };
      // The same bytes as the other side's file, whose signed index is believed: it describes them.
      const om = memberOf(other, d.name);
      if (om && other.kind === 'snapshot' && !other.reindex && otherSeen.digests.get(d.name) === digest) {
        const p = findObject(other.objectDirs, om.index.sha256);
        if (p) return { kind: 'index', path: p, x: x(om), form: formOf(om), member: om, ...summaryOf(other.objectDirs, om) };
      }
      if (side.kind === 'snapshot') {
        const object = findObject(side.objectDirs, digest);
        return object ? indexed(object, d, digest, seen.sizes.get(d.name) ?? 0, true) : { kind: 'unavailable', reason: UNVERIFIED_INDEX_UNAVAILABLE };
      }
      return indexed(join(side.dir, ...d.name.split('/')), d, digest, seen.sizes.get(d.name) ?? 0);
    };
    /** An index of a tabular file's bytes at `abs` (which must have the SHA-256 `digest`), built in today's form. */
    const indexed = (abs: string, d: SetDefinition, digest: string, size: number, fromStore?: true): Source => {
      const out = join(tmp(), `index-${built++}`);
      const options: IndexFileOptions = { abs, rel: d.name, spec: specOf(d), tmpDir: tmp(), outPath: out, strictKeys: false, expectSha256: digest };
      return { kind: 'index', path: out, x: { identity: d.identity, labelled: labelledDef(d), name: d.name }, form: RECORD_FORMS[d.format], build: { options, size, ...(fromStore ? { fromStore } : {}) } };
    };
    const sorted = [...defs.values()].sort((p, q) => compareUtf8(p.name, q.name));
    const planned: [Source, Source][] = [];
    for (const d of sorted) planned.push([await source(a, seenA, b, seenB, d), await source(b, seenB, a, seenA, d)]);
    // A Parquet set sealed before its column types were signed (§19.11): its types can be read from
    // its file's copy in the store, the bytes its manifest signs (checked against that digest).
    for (const [i, d] of sorted.entries()) {
      if (d.format === 'files') continue;
      for (const [j, side, seen] of [[0, a, seenA], [1, b, seenB]] as const) {
        const pair = planned[i] as [Source, Source];
        const src = pair[j];
        const digest = seen.digests.get(d.name);
        // Also when its signed column-types object is not in the store (removed by a store writer):
        // the file's copy, checked against the manifest digest, gives the same types.
        if (src.kind !== 'index' || src.build || !src.member || (src.member.schema !== undefined && src.schemaPath !== undefined) || side.kind !== 'snapshot' || digest === undefined) continue;
        const object = findObject(side.objectDirs, digest);
        if (!object) continue;
        if (d.format === 'parquet' && src.member.schema === undefined) src.storedCopy = { path: object, sha256: digest };
        // A set whose signed column object is gone: its copy is indexed again (its header, its
        // types and a Parquet file's pandas categories read with it: its footer alone has no
        // categories, which were then "not recorded (sealed by an older snap)", and check passed a
        // B whose object a store writer removed). A CSV or TSV set sealed before columns were
        // signed is not: "column order not recorded".
        else if (src.member.schema !== undefined) pair[j] = indexed(object, d, digest, seen.sizes.get(d.name) ?? 0, true);
      }
    }
    // A tabular file with the same bytes on both sides holds the same records, whatever its two
    // signed indexes say: indexes that differ were made in different canonical forms (an index sealed
    // by a snap before the form of times and dates changed, FORMAT §19.3), and comparing them named
    // every record holding such a value modified. B's index is compared with itself.
    for (const [i, d] of sorted.entries()) {
      const [sa, sb] = planned[i] as [Source, Source];
      const digest = seenA.digests.get(d.name);
      if (sa.kind === 'index' && sb.kind === 'index' && sa.member && sb.member && digest !== undefined && digest === seenB.digests.get(d.name) && sa.member.index.sha256 !== sb.member.index.sha256) {
        planned[i] = [sb, sb];
      }
    }
    // Fingerprints made by different canonical forms are never compared (every record holding a
    // value whose form changed would be "modified"): a snapshot side indexed by an older form than
    // the other side is indexed again in today's form from its file's bytes in the store (checked
    // against its manifest digest), or, when they are not there (`--manifest-only`), not compared.
    for (const [i, d] of sorted.entries()) {
      const pair = planned[i] as [Source, Source];
      const [sa, sb] = pair;
      if (sa.kind !== 'index' || sb.kind !== 'index' || sa.form === sb.form) continue;
      for (const [j, side, seen] of [[0, a, seenA], [1, b, seenB]] as const) {
        const src = pair[j] as Extract<Source, { kind: 'index' }>;
        if (src.form === RECORD_FORMS[d.format]) continue;
        const digest = seen.digests.get(d.name);
        const object = side.kind === 'snapshot' && d.format !== 'files' && digest !== undefined ? findObject(side.objectDirs, digest) : undefined;
        pair[j] = object !== undefined && digest !== undefined ? indexed(object, d, digest, seen.sizes.get(d.name) ?? 0, true) : { kind: 'unavailable', reason: OLDER_FORM_UNAVAILABLE };
      }
    }
    const builds = planned.flat().filter((src): src is Extract<Source, { kind: 'index' }> => src.kind === 'index' && src.build !== undefined);
    pool = new RecordIndexPool(indexWorkersFor(builds.map((src) => (src.build as { size: number }).size), opts.jobs));
    for (const src of builds) {
      const build = src.build as NonNullable<typeof src.build>;
      const ready = build.fromStore ? indexStoreObject(pool, build.options as IndexFileOptions & { expectSha256: string }) : pool.index(build.options);
      src.ready = ready.then((b) => {
        src.built = b;
      });
      src.ready.catch(() => {}); // awaited in set order below
    }

    // 3. Each set: merge-join, conflicts, label shift.
    const sets: RecordSetDiff[] = [];
    for (const [i, d] of sorted.entries()) {
      const [sa, sb] = planned[i] as [Source, Source];
      // In set order: the first set whose file cannot be indexed is the one reported.
      for (const src of [sa, sb]) if (src.kind === 'index' && src.ready) await src.ready;
      if (sa.kind === 'unavailable' || sb.kind === 'unavailable') {
        const both = sa.kind === 'unavailable' && sb.kind === 'unavailable';
        unavailable.push({ name: d.name, side: both ? 'both' : sa.kind === 'unavailable' ? 'a' : 'b', reason: (sa.kind === 'unavailable' ? sa.reason : (sb as { reason: string }).reason) });
        continue;
      }
      let collector = new RecordDiffCollector(d.identity);
      const side = (src: Source) => ({ path: src.kind === 'index' ? src.path : undefined, x: src.kind === 'index' ? src.x : { identity: d.identity, labelled: labelledDef(d), name: d.name } });
      // Two signed indexes with summaries (§19.10): only the chunks that differ are read.
      const summarySide = (src: Source): SummarySide | undefined =>
        src.kind === 'index' && src.summaryPath && src.member?.index.summary ? { path: src.path, x: src.x as SummarySide['x'], summaryPath: src.summaryPath, summarySha256: src.member.index.summary, ...(src.member.labels ? { labels: src.member.labels } : {}) } : undefined;
      const ssa = summarySide(sa);
      const ssb = summarySide(sb);
      let fast = ssa && ssb && (d.identity === 'key' || d.identity === 'path') ? await diffBySummaries(ssa, ssb, d.identity, collector, { order: opts.order === true }) : undefined;
      // The summary diff could not measure the order of the records (matched chunks in another order
      // on the two sides, which no valid pair of indexes has): the whole indexes are diffed (row-order.ts).
      if (fast && measuresOrder(d.identity) && fast.counts.order === undefined) {
        fast = undefined;
        collector = new RecordDiffCollector(d.identity);
      }
      let counts: RecordDiffCounts;
      let conflicts: ConflictGroup[];
      if (fast) ({ counts, conflicts } = fast);
      else {
        const full = await diffIndexFiles(side(sa), side(sb), d.identity, collector);
        counts = full.counts;
        for (const [s, labels] of [[sa, counts.labelsA], [sb, counts.labelsB]] as const) {
          if (s.kind === 'index' && s.member?.labels && JSON.stringify(sortedCounts(s.member.labels)) !== JSON.stringify(sortedCounts(labels))) {
            throw new SnapError('RECORDS_INDEX_MALFORMED', `the record index of ${d.name} does not have the label counts its statement signed`, { path: d.name });
          }
        }
        conflicts = [
          ...(sa.kind === 'index' ? await conflictGroups(sa.path, sa.x, 'a', full.candidates.a) : []),
          ...(sb.kind === 'index' ? await conflictGroups(sb.path, sb.x, 'b', full.candidates.b) : []),
        ];
      }
      // Label counts in one order whichever way they were found (sorted; JavaScript still lists integer-like labels first).
      counts.labelsA = inLabelOrder(counts.labelsA);
      counts.labelsB = inLabelOrder(counts.labelsB);
      const report = collector.report(d, counts, conflicts);
      // Parquet: the column types of both sides (§19.11), from signed objects or from the bytes just
      // indexed. CSV, TSV: their header's order alike, JSONL its members' order of first appearance,
      // given only when it changed (a column moved, added or removed) or is not known.
      if (d.format === 'parquet') report.types = compareTypes(await typesOf(sa, d.name), await typesOf(sb, d.name));
      else if (d.format === 'csv' || d.format === 'tsv' || d.format === 'jsonl') {
        const types = compareTypes(await typesOf(sa, d.name, COLUMN_ORDER_NOT_RECORDED), await typesOf(sb, d.name, COLUMN_ORDER_NOT_RECORDED), false);
        if (types.order || types.columns || types.unknown) report.types = types;
      }
      sets.push(report);
    }
    const total = (f: (s: RecordSetDiff) => number) => sets.reduce((n, s) => n + f(s), 0);
    const labelled = sets.filter((s) => s.a.labels && s.b.labels);
    const order = sumOrders(sets.flatMap((s) => (s.order ? [s.order] : [])));
    return {
      sets,
      unavailable,
      summary: {
        sets: sets.length,
        unchanged: total((s) => s.summary.unchanged),
        added: total((s) => s.summary.added),
        removed: total((s) => s.summary.removed),
        modified: total((s) => s.summary.modified),
        flipped: total((s) => s.summary.flipped),
        relabelled: total((s) => s.summary.relabelled),
        labelChanges: total((s) => s.summary.labelChanges),
        duplicates: { a: total((s) => s.summary.duplicates.a), b: total((s) => s.summary.duplicates.b) },
        conflicts: { a: total((s) => s.summary.conflicts.a), b: total((s) => s.summary.conflicts.b) },
      },
      ...(order ? { order } : {}),
      ...(labelled.length > 0 ? { dataset: labelShift(sumLabels(labelled.map((s) => s.a.labels as Record<string, number>)), sumLabels(labelled.map((s) => s.b.labels as Record<string, number>))) } : {}),
    };
  } finally {
    await pool?.close(); // before the scratch folder goes: a worker still reading writes into it
    await removeTmp();
  }
}

/** `m`'s counts with its labels in UTF-16 code-unit order (a null-prototype object, as `newLabelCounts` makes). */
function inLabelOrder(m: Record<string, number>): Record<string, number> {
  const out = newLabelCounts();
  for (const k of Object.keys(m).sort()) out[k] = m[k] as number;
  return out;
}

/** The summary and column-types objects of a snapshot's record set, when its statement names them and the store has them. */
function summaryOf(dirs: readonly string[], m: RecordSetMember): { summaryPath?: string; schemaPath?: string } {
  const p = m.index.summary !== undefined ? findObject(dirs, m.index.summary) : undefined;
  const t = m.schema !== undefined ? findObject(dirs, m.schema) : undefined;
  return { ...(p ? { summaryPath: p } : {}), ...(t ? { schemaPath: t } : {}) };
}

/**
 * A side's column types (§19.11; a CSV or TSV set's header, `notRecorded` the reason when its statement has none): those its reader saw when its index was built here from the
 * file's bytes; for a set sealed before types were signed, those of its file's copy in the store
 * (checked against its manifest digest); else those of the signed column-types object (checked
 * against its digest).
 * @throws SnapError `OBJECT_CORRUPT` | `RECORDS_INDEX_MALFORMED` | `IO_ERROR`
 */
async function typesOf(src: Source, name: string, notRecorded?: string): Promise<SideTypes> {
  if (src.kind !== 'index') return { reason: 'this side has no records of the set' };
  if (src.build) return readTypes(src.built?.columnTypes);
  // The Parquet reader (hyparquet) is loaded only when a file is read, as for indexing (index-file.ts).
  // A footer alone gives no pandas categories (they are in the pages): not recorded, rather than none.
  if (src.storedCopy) return readTypes(await (await import('./read-parquet.js')).storedParquetColumnTypes(src.storedCopy.path, name, src.storedCopy.sha256), false);
  return signedTypes(src.member?.schema, src.schemaPath, name, notRecorded);
}

function sortedCounts(m: Record<string, number>): [string, number][] {
  return Object.keys(m)
    .sort()
    .map((k) => [k, m[k] as number]);
}

/** True when a records report found a difference in any set. */
export function recordsDiffer(r: RecordsReport | undefined): boolean {
  if (!r) return false;
  const s = r.summary;
  return s.added + s.removed + s.modified + s.flipped > 0 || (r.order?.moved ?? 0) > 0 || r.sets.some((d) => (d.types?.changes.length ?? 0) + (d.types?.classNames?.length ?? 0) + (d.types?.categories?.length ?? 0) > 0 || d.types?.order !== undefined || d.types?.columns !== undefined);
}
