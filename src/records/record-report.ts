/**
 * The record diff of one record set as a report (its `--json` form), collected from the sink of
 * `diffRecords`, with the label distributions and their shift. Pure.
 */
import type { SetTypes } from './column-types.js';
import { SnapError } from '../core/errors.js';
import type { RecordFormat, RecordIdentity, RecordSetMember, TsvQuoting } from '../core/records.js';
import type { IndexEntry } from './index-line.js';
import type { DuplicateGroup, RecordDiffCounts, RecordDiffSink } from './record-diff.js';
import { labelShift, type LabelShift } from './stats.js';
import type { SetOrder } from './row-order.js';

/** A record as reports name it. */
export interface RecordRef {
  /** Its identity: the key's values (identity `key`/`path`), its feature hash (`features`) or its row (`position`). */
  key: unknown;
  /** 1-based record number in its file. */
  row: number;
  label?: string;
  fingerprint: string;
}

/** A record present on both sides with other features. */
export interface ModifiedRecord {
  key: unknown;
  a: { row: number; label?: string; fingerprint: string; features: string };
  b: { row: number; label?: string; fingerprint: string; features: string };
  /** Whether the label changed too. */
  labelChanged: boolean;
}

/** A record whose label, and nothing else, changed. */
export interface FlippedRecord {
  key: unknown;
  from: string;
  to: string;
  a: { row: number };
  b: { row: number };
}

/**
 * A record of A with no counterpart of its identity in B (removed) and one of B with none in A
 * (added) that have the same features and different labels: one sample, its key rewritten (`7` as
 * `7 `) and its label changed. Both stay in `removed` and `added`; this pairs them.
 */
export interface RelabelledRecord {
  from: string;
  to: string;
  /** The feature hash they share. */
  features: string;
  a: { key: unknown; row: number };
  b: { key: unknown; row: number };
}

/** Records with the same features and different labels, on one side. */
export interface ConflictGroup {
  side: 'a' | 'b';
  features: string;
  /** Label → records. */
  labels: Record<string, number>;
  /** The first records, by index order. */
  records: { key: unknown; row: number; label: string }[];
}

/** One record set's record diff. */
export interface RecordSetDiff {
  /** The file's path (tabular) or the rule's pattern (label folders). */
  name: string;
  format: RecordFormat;
  identity: RecordIdentity;
  key?: string[];
  label?: string;
  labelSegment?: number;
  /** TSV sets: how `"` was read (core `TsvQuoting`), when not the default. */
  quoting?: TsvQuoting;
  /** Each side: its record count and labels; `indexed: false` when that side has no index for this set. */
  a: { records: number; labels?: Record<string, number> };
  b: { records: number; labels?: Record<string, number> };
  summary: {
    unchanged: number;
    added: number;
    removed: number;
    modified: number;
    flipped: number;
    /** Removed and added records paired as one sample whose label changed ({@link RelabelledRecord}). */
    relabelled: number;
    /** Flips, modified records whose label changed too, and relabelled records. */
    labelChanges: number;
    duplicates: { a: number; b: number };
    conflicts: { a: number; b: number };
  };
  /**
   * Identities `key` and `features` (tabular sets paired by key or features; not `position` nor
   * label-folder sets): how the order of the records on both sides changed (`row-order.ts`,
   * docs/FORMAT.md §19.8): the records paired, and the fewest of them to move to restore A's order —
   * or `moved` null and `notMeasured` the reason, when it was not measured (through summaries, records
   * added or removed, not asked for).
   */
  order?: SetOrder;
  added: RecordRef[];
  removed: RecordRef[];
  modified: ModifiedRecord[];
  flipped: FlippedRecord[];
  relabelled: RelabelledRecord[];
  /** Parquet sets: the columns whose type changed (docs/FORMAT.md §19.11), or which side's types are not known; Parquet, CSV and TSV sets: `order`, the columns reordered, and `columns`, those added or removed (CSV and TSV sets have `types` only when their order or columns changed or are not known). */
  types?: SetTypes;
  duplicates: DuplicateGroup[];
  conflicts: ConflictGroup[];
  /** Labelled sets: the label distributions and their shift. */
  shift?: LabelShift;
}

/** The value a report shows as a record's key. */
export function keyOf(e: IndexEntry, identity: RecordIdentity): unknown {
  if (identity === 'features') return e.features;
  if (identity === 'position') return e.row;
  try {
    return JSON.parse(e.key as string) as unknown;
  } catch {
    throw new SnapError('RECORDS_INDEX_MALFORMED', `a record index holds a key that is not JSON: ${(e.key as string).slice(0, 80)}`);
  }
}

const ref = (e: IndexEntry, identity: RecordIdentity): RecordRef => ({ key: keyOf(e, identity), row: e.row, ...(e.label !== undefined ? { label: e.label } : {}), fingerprint: e.fingerprint });
const side = (e: IndexEntry) => ({ row: e.row, ...(e.label !== undefined ? { label: e.label } : {}), fingerprint: e.fingerprint, features: e.features });

/** Collects what `diffRecords` reports into the lists of a {@link RecordSetDiff}. */
export class RecordDiffCollector implements RecordDiffSink {
  readonly addedList: RecordRef[] = [];
  readonly removedList: RecordRef[] = [];
  readonly modifiedList: ModifiedRecord[] = [];
  readonly flippedList: FlippedRecord[] = [];
  readonly duplicateList: DuplicateGroup[] = [];
  labelChanges = 0;
  /** The feature hashes of the added and the removed records, in the order of their lists. */
  private readonly addedFeatures: string[] = [];
  private readonly removedFeatures: string[] = [];

  constructor(private readonly identity: RecordIdentity) {}

  added(b: IndexEntry): void {
    this.addedList.push(ref(b, this.identity));
    this.addedFeatures.push(b.features);
  }
  removed(a: IndexEntry): void {
    this.removedList.push(ref(a, this.identity));
    this.removedFeatures.push(a.features);
  }

  /**
   * The removed and added records that are one sample relabelled ({@link RelabelledRecord}): per
   * feature hash, removed and added records with equal labels are matched first, one to one, in list
   * order — index order, as `diffRecords` reports them — (a key rewritten alone changes no label); the
   * rest are paired in list order while labels differ. Labelled sets only.
   */
  private relabelled(): RelabelledRecord[] {
    const out: RelabelledRecord[] = [];
    if (this.addedList.length === 0 || this.removedList.length === 0) return out;
    const removedBy = new Map<string, number[]>();
    this.removedFeatures.forEach((f, i) => {
      if (this.removedList[i]?.label === undefined) return;
      const l = removedBy.get(f);
      if (l) l.push(i);
      else removedBy.set(f, [i]);
    });
    const addedBy = new Map<string, number[]>();
    this.addedFeatures.forEach((f, i) => {
      if (!removedBy.has(f) || this.addedList[i]?.label === undefined) return;
      const l = addedBy.get(f);
      if (l) l.push(i);
      else addedBy.set(f, [i]);
    });
    for (const [features, added] of addedBy) {
      const removed = removedBy.get(features) as number[];
      const usedA = new Set<number>();
      const leftB: number[] = [];
      for (const j of added) {
        const i = removed.find((k) => !usedA.has(k) && this.removedList[k]?.label === this.addedList[j]?.label);
        if (i === undefined) leftB.push(j);
        else usedA.add(i);
      }
      const leftA = removed.filter((k) => !usedA.has(k));
      for (let n = 0; n < Math.min(leftA.length, leftB.length); n++) {
        const a = this.removedList[leftA[n] as number] as RecordRef;
        const b = this.addedList[leftB[n] as number] as RecordRef;
        out.push({ from: a.label as string, to: b.label as string, features, a: { key: a.key, row: a.row }, b: { key: b.key, row: b.row } });
      }
    }
    return out;
  }
  modified(a: IndexEntry, b: IndexEntry): void {
    const labelChanged = a.label !== b.label;
    if (labelChanged) this.labelChanges++;
    this.modifiedList.push({ key: keyOf(b, this.identity), a: side(a), b: side(b), labelChanged });
  }
  flipped(a: IndexEntry, b: IndexEntry): void {
    this.labelChanges++;
    this.flippedList.push({ key: keyOf(b, this.identity), from: a.label as string, to: b.label as string, a: { row: a.row }, b: { row: b.row } });
  }
  duplicate(g: DuplicateGroup): void {
    this.duplicateList.push(g);
  }

  /**
   * The report of the set.
   * @param def the set's definition (a statement member, or one made for a folder)
   */
  report(def: Pick<RecordSetMember, 'format' | 'identity' | 'key' | 'label' | 'labelSegment' | 'quoting'> & { name: string }, counts: RecordDiffCounts, conflicts: ConflictGroup[]): RecordSetDiff {
    const labelled = def.label !== undefined || def.format === 'files';
    const relabelled = labelled ? this.relabelled() : [];
    return {
      name: def.name,
      format: def.format,
      identity: def.identity,
      ...(def.key ? { key: def.key } : {}),
      ...(def.label !== undefined ? { label: def.label } : {}),
      ...(def.labelSegment !== undefined ? { labelSegment: def.labelSegment } : {}),
      ...(def.quoting !== undefined ? { quoting: def.quoting } : {}),
      a: { records: counts.a, ...(labelled ? { labels: counts.labelsA } : {}) },
      b: { records: counts.b, ...(labelled ? { labels: counts.labelsB } : {}) },
      summary: {
        unchanged: counts.unchanged,
        added: counts.added,
        removed: counts.removed,
        modified: counts.modified,
        flipped: counts.flipped,
        relabelled: relabelled.length,
        labelChanges: this.labelChanges + relabelled.length,
        duplicates: { a: counts.duplicatesA, b: counts.duplicatesB },
        conflicts: { a: conflicts.filter((c) => c.side === 'a').length, b: conflicts.filter((c) => c.side === 'b').length },
      },
      ...(counts.order ? { order: counts.order.moved === null ? { common: counts.order.common, moved: null, notMeasured: counts.order.notMeasured } : { common: counts.order.common, moved: counts.order.moved } } : {}),
      added: this.addedList,
      removed: this.removedList,
      modified: this.modifiedList,
      flipped: this.flippedList,
      relabelled,
      duplicates: this.duplicateList,
      conflicts,
      ...(labelled ? { shift: labelShift(counts.labelsA, counts.labelsB) } : {}),
    };
  }
}

/** True when a set's record diff found nothing: no record changed and none moved out of A's order. */
export function recordSetUnchanged(d: RecordSetDiff): boolean {
  const s = d.summary;
  return s.added + s.removed + s.modified + s.flipped === 0 && (d.order?.moved ?? 0) === 0;
}

/**
 * The line saying how many records moved out of A's order (FORMAT §19.8), for human output and
 * reports; for an order not measured, `row order not measured (<reason>; <how>)`.
 * @param how what measures it, for an order not measured (e.g. `--order measures it`)
 */
export function orderText(o: SetOrder, how?: string): string {
  if (o.moved === null) return `row order not measured (${o.notMeasured}${how ? `; ${how}` : ''})`;
  // Thousands separators as `toLocaleString('en-US')` writes them, without loading ICU (cli/format.ts `formatCount`).
  const n = (x: number) => String(x).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `rows reordered: ${n(o.moved)} of ${n(o.common)} record${o.common === 1 ? '' : 's'} moved (order of the records on both sides)`;
}
