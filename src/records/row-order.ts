/**
 * How the order of the records on both sides of a record diff changed (docs/FORMAT.md §19.8,
 * "order"). Rows reordered change no record, yet code that splits a file by position
 * (`train[:N]`, `df.iloc[:80_000]`) reads other records, and the order of examples alone can
 * poison training (Shumailov et al., "Manipulating SGD with Data Ordering Attacks", NeurIPS 2021).
 *
 * The records measured are the **common** ones: the pairs the record diff made of a record of A and
 * one of B (unchanged, modified or flipped; not the added, removed or relabelled ones), each with its
 * `row` on its side (the 1-based record number every index line carries, §19.5). **moved** is the
 * fewest of them that must be moved (taken out and put back elsewhere) to restore A's order among
 * them: the common records less the length of the longest strictly increasing subsequence (LIS) of
 * B's rows taken in the order of A's rows. It is 0 when their order is kept (whatever rows were
 * renumbered by records added or removed around them), 1 for two adjacent records swapped, n − 1
 * for n records reversed.
 *
 * The LIS length is found by patience sorting (Fredman, "On computing the length of longest
 * increasing subsequences", Discrete Mathematics 11, 1975; Schensted 1961): one pass keeping, for
 * each length, the smallest last value of an increasing subsequence of that length (`tails`,
 * ascending), each value placed by binary search: O(n log n) time.
 *
 * Memory: a Uint32Array indexed by A's row, 4 bytes a record of A (40 MB for 10 million); the tails
 * are kept in its own first slots (see {@link movedRecords}), so nothing more is allocated.
 *
 * Pure.
 */
import { SnapError } from '../core/errors.js';

/** The order of the records on both sides of one set's diff. */
export interface RecordOrder {
  /** Records paired by the diff (unchanged, modified, flipped). */
  common: number;
  /** The fewest of them to move to restore A's order: `common` − LIS of B's rows in A's row order. */
  moved: number;
}

/**
 * Why a set's order was not measured (docs/FORMAT.md §19.8): between two signed indexes read through
 * their summaries, records added or removed renumber the rows after them, and the rows of the chunks
 * both sides share are not read; measuring the order would read and hash both whole indexes, which
 * the diff does only when asked (`diff --order`, `check` with `maxReordered`, `report`) or when
 * nothing was added or removed (then only a reorder can have changed the rows).
 */
export const ORDER_NOT_MEASURED = 'records added or removed renumber the rows';

/** A set whose order was not measured: the records paired are known, how many moved is not (never a silent 0). */
export interface OrderNotMeasured {
  /** Records paired by the diff (unchanged, modified, flipped). */
  common: number;
  /** Not known. */
  moved: null;
  /** Why ({@link ORDER_NOT_MEASURED}). */
  notMeasured: string;
}

/** The order a record diff reports for a set: measured, or said not to be. */
export type SetOrder = RecordOrder | OrderNotMeasured;

/** The order of several sets summed: `moved` summed when every one was measured, else not measured (the first reason). */
export function sumOrders(orders: readonly SetOrder[]): SetOrder | undefined {
  if (orders.length === 0) return undefined;
  const common = orders.reduce((n, o) => n + o.common, 0);
  const unmeasured = orders.find((o): o is OrderNotMeasured => o.moved === null);
  if (unmeasured) return { common, moved: null, notMeasured: unmeasured.notMeasured };
  return { common, moved: orders.reduce((n, o) => n + (o.moved as number), 0) };
}

/** The largest row measured (a Uint32Array holds rows; a file of more records is over this bound). */
export const MAX_ORDER_ROW = 0xffffffff;
/** Rows of A held before the first growth (256 KiB). */
const START_ROWS = 1 << 16;

/**
 * The number of records to move: the entries of `bRowsByARow` that are not 0 (a row of A paired with
 * that row of B; 0: no partner), less the length of their longest strictly increasing subsequence.
 * **Overwrites `bRowsByARow`** (its first `count` entries): the entries that are not 0 are first moved
 * to its front, in order, then the tails are kept in place — after `i` values there are at most `i`
 * tails, so the tail written for value `i` (at a place ≤ the tails' count ≤ `i`) overwrites only a
 * value already read.
 * @param bRowsByARow B's row for each row of A, in A's row order (index 0 is A's row 1)
 * @param count how many entries to read (default all)
 */
export function movedRecords(bRowsByARow: Uint32Array, count = bRowsByARow.length): number {
  const v = bRowsByARow;
  let common = 0;
  for (let i = 0; i < count; i++) if (v[i] !== 0) v[common++] = v[i] as number;
  let len = 0;
  for (let i = 0; i < common; i++) {
    const x = v[i] as number;
    // The first tail ≥ x: x ends a subsequence one longer than the one before it (strictly increasing).
    let lo = 0;
    let hi = len;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((v[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    v[lo] = x;
    if (lo === len) len++;
  }
  return common - len;
}

/** Where a record diff puts the rows of the records it pairs. */
export interface RowPairSink {
  /** One pair: a record of A at `rowA` paired with one of B at `rowB`. */
  add(rowA: number, rowB: number): void;
  /** The order measured, or undefined when it cannot be from what was added. */
  result(): RecordOrder | undefined;
}

/**
 * Counts pairs and whether each kept its row, holding none (constant memory): the diff through index
 * summaries, which reads only some pairs, knows the order only when nothing was renumbered.
 */
export class KeptRows implements RowPairSink {
  common = 0;
  allKeptRows = true;
  add(rowA: number, rowB: number): void {
    this.common++;
    if (rowA !== rowB) this.allKeptRows = false;
  }
  /** Nothing moved when every pair kept its row; else undefined (not known from these pairs). */
  result(): RecordOrder | undefined {
    return this.allKeptRows ? { common: this.common, moved: 0 } : undefined;
  }
}

/**
 * Keeps the pairs added (8 bytes each) and whether each kept its row: the diff through index
 * summaries reads few pairs, and needs them all only when some row changed ({@link PairLog.replay}).
 */
export class PairLog implements RowPairSink {
  private rows = new Uint32Array(0);
  common = 0;
  allKeptRows = true;
  add(rowA: number, rowB: number): void {
    if (rowA > MAX_ORDER_ROW || rowB > MAX_ORDER_ROW) throw new SnapError('RECORDS_LIMIT', `a record of row ${Math.max(rowA, rowB)}: the order of records is measured up to row ${MAX_ORDER_ROW}`);
    if (2 * this.common + 2 > this.rows.length) {
      const bigger = new Uint32Array(Math.max(1024, 2 * this.rows.length));
      bigger.set(this.rows);
      this.rows = bigger;
    }
    this.rows[2 * this.common] = rowA;
    this.rows[2 * this.common + 1] = rowB;
    this.common++;
    if (rowA !== rowB) this.allKeptRows = false;
  }
  /** Nothing moved when every pair kept its row; else undefined (not known from these pairs alone). */
  result(): RecordOrder | undefined {
    return this.allKeptRows ? { common: this.common, moved: 0 } : undefined;
  }
  /** Add every pair kept to `into`. */
  replay(into: RowPairSink): void {
    for (let i = 0; i < this.common; i++) into.add(this.rows[2 * i] as number, this.rows[2 * i + 1] as number);
  }
}

/**
 * Collects the (row of A, row of B) pairs of a record diff, in any order, and measures
 * {@link RecordOrder}. A valid index has each row once (rows 1 to its count); a row of A given twice,
 * or beyond the side's record count, is a malformed index.
 */
export class RowPairs implements RowPairSink {
  private byRowA = new Uint32Array(0);
  private rowsA = 0;
  /** Pairs added. */
  common = 0;
  /** Whether every pair added had the same row on both sides (then nothing moved). */
  allKeptRows = true;

  /**
   * @param countA A's record count when known (a signed index's `count`): no row of A beyond it
   * @param sizeHint rows of A to make room for at first (a bound the caller believes: a count no
   *   larger than its file can hold); the array then doubles as rows need, never past `countA`
   */
  constructor(
    private readonly countA?: number,
    private readonly sizeHint = 0,
  ) {}

  /**
   * Add one pair.
   * @throws SnapError `RECORDS_INDEX_MALFORMED` (a row of A twice, or beyond `countA`) | `RECORDS_LIMIT` (a row over {@link MAX_ORDER_ROW})
   */
  add(rowA: number, rowB: number): void {
    if (this.measured) throw new SnapError('INTERNAL', 'a pair of rows added after the order was measured');
    if (rowA > MAX_ORDER_ROW || rowB > MAX_ORDER_ROW) throw new SnapError('RECORDS_LIMIT', `a record of row ${Math.max(rowA, rowB)}: the order of records is measured up to row ${MAX_ORDER_ROW}`);
    if (this.countA !== undefined && rowA > this.countA) throw new SnapError('RECORDS_INDEX_MALFORMED', `a record of side a has row ${rowA}, beyond its ${this.countA} records`);
    if (rowA > this.byRowA.length) this.grow(rowA);
    if (this.byRowA[rowA - 1] !== 0) throw new SnapError('RECORDS_INDEX_MALFORMED', `two records of side a have row ${rowA}`);
    this.byRowA[rowA - 1] = rowB;
    if (rowA > this.rowsA) this.rowsA = rowA;
    this.common++;
    if (rowA !== rowB) this.allKeptRows = false;
  }

  /** Out of line: keeps `add` small. */
  private grow(rowA: number): void {
    let size = Math.max(START_ROWS, 2 * this.byRowA.length, this.sizeHint);
    if (this.countA !== undefined) size = Math.min(size, this.countA);
    const bigger = new Uint32Array(Math.min(MAX_ORDER_ROW, Math.max(size, rowA)));
    bigger.set(this.byRowA);
    this.byRowA = bigger;
  }

  private measured: RecordOrder | undefined;

  /** The order measured over the pairs added (once: no pair may be added after). */
  result(): RecordOrder {
    if (!this.measured) {
      this.measured = { common: this.common, moved: this.allKeptRows ? 0 : movedRecords(this.byRowA, this.rowsA) };
      this.byRowA = new Uint32Array(0);
      this.rowsA = 0;
    }
    return this.measured;
  }
}
