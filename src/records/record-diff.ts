/**
 * Record diff: a merge-join of two record indexes of one record set, both in index order
 * (docs/FORMAT.md §19.5), in one streaming pass. Memory holds one group of records that share an
 * identity (normally one record a side) and the differences found; never the indexes.
 *
 * For each identity (key, feature hash, row or path) present on:
 * - A only: its records were **removed**; B only: **added**;
 * - both: records with equal fingerprints are unchanged; of the rest, a record of A and one of B
 *   with the same feature hash are a **label flip** (the label is the only field that differs);
 *   the remaining ones are paired in index order as **modified** (features changed, the label
 *   perhaps too); what is left over was removed or added.
 * An identity used by more than one record on one side is reported as a **duplicate** (for identity
 * `features`: a record present more than once, same fingerprint; for `path`: a key under one label
 * twice — one key under several labels is several files of one name, paired by label first).
 *
 * Pure: it reads async iterables of index entries and calls the sink.
 */
import type { RecordIdentity } from '../core/records.js';
import { compareIdentity, identityText, type IndexEntry } from './index-line.js';
import { countOf, newLabelCounts } from './stats.js';
import { RowPairs, type RowPairSink, type SetOrder } from './row-order.js';

/** Rows listed per duplicate group (its count is always exact). */
export const MAX_LISTED_ROWS = 10;

/** A group of records sharing an identity on one side. */
export interface DuplicateGroup {
  side: 'a' | 'b';
  /** The shared identity as text (key JSON, feature hash, row). */
  identity: string;
  count: number;
  /** The rows of the first {@link MAX_LISTED_ROWS} records in index order, ascending. */
  rows: number[];
  /** For identity `features`, and `path` (whose key repeats under each label, a duplicate being one key twice under one label): the duplicated records' label. */
  label?: string;
}

/** Receives the differences, in index order. */
export interface RecordDiffSink {
  added(b: IndexEntry): void;
  removed(a: IndexEntry): void;
  modified(a: IndexEntry, b: IndexEntry): void;
  flipped(a: IndexEntry, b: IndexEntry): void;
  duplicate(g: DuplicateGroup): void;
}

/** Counts of a record diff. */
export interface RecordDiffCounts {
  /** Records on each side. */
  a: number;
  b: number;
  unchanged: number;
  added: number;
  removed: number;
  modified: number;
  flipped: number;
  /** Duplicate groups on each side. */
  duplicatesA: number;
  duplicatesB: number;
  /** Label counts on each side, as read from the indexes (labelled sets). */
  labelsA: Record<string, number>;
  labelsB: Record<string, number>;
  /** How the order of the paired records changed (`row-order.ts`), or that it was not measured (through summaries only): identities `key` and `features` only ({@link measuresOrder}). */
  order?: SetOrder;
}

/**
 * Whether a diff of a set of this identity measures the order of its records (`row-order.ts`):
 * tabular sets paired by key or by features. Not `position`, where the row is the identity (a
 * record's row never changes), nor `path` (a label-folder set, whose `row` is a file's place in the
 * manifest, not an order a loader reads).
 */
export function measuresOrder(identity: RecordIdentity): boolean {
  return identity === 'key' || identity === 'features';
}

/**
 * A forward cursor over runs of entries. `cur` is synchronous; only when a run is used up does
 * `fill` await the next (an await per record would cost more than the record's comparison).
 */
class Cursor {
  private run: IndexEntry[] = [];
  private i = 0;
  private done = false;
  private readonly it: AsyncIterator<IndexEntry[]>;
  constructor(src: AsyncIterable<IndexEntry[]>) {
    this.it = src[Symbol.asyncIterator]();
  }
  /** The current entry, or undefined when the run is used up (then `fill`) or at the end. */
  cur(): IndexEntry | undefined {
    return this.run[this.i];
  }
  /** Whether `cur` needs a `fill` first. */
  get empty(): boolean {
    return this.i >= this.run.length && !this.done;
  }
  /** Load runs until there is a current entry or the end. */
  async fill(): Promise<void> {
    while (this.i >= this.run.length && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else {
        this.run = r.value;
        this.i = 0;
      }
    }
  }
  /** Step to the next entry; `fill` before the next `cur` when `empty`. */
  advance(): void {
    this.i++;
  }
  /** The current entry, filling first when needed. */
  async peek(): Promise<IndexEntry | undefined> {
    if (this.i >= this.run.length) await this.fill();
    return this.run[this.i];
  }
}

/** Tracks one side's records within a group: duplicates, label counts. */
class GroupTally {
  count = 0;
  rows: number[] = [];
  // identity `features`: the current run of one fingerprint
  fp = '';
  fpCount = 0;
  fpRows: number[] = [];
  fpLabel: string | undefined;
  constructor(
    private readonly side: 'a' | 'b',
    private readonly identity: RecordIdentity,
    private readonly labels: Record<string, number>,
    private readonly sink: RecordDiffSink,
    private readonly counts: RecordDiffCounts,
  ) {}

  // identity `path`: the group's records by label (a key repeats under each label folder; a path, key and label, cannot)
  private byLabel = new Map<string, number[]>();
  private labelRepeated = false;

  see(e: IndexEntry): void {
    this.count++;
    if (this.rows.length < MAX_LISTED_ROWS) this.rows.push(e.row);
    if (this.identity === 'path') {
      const rows = this.byLabel.get(e.label as string);
      if (rows) {
        this.labelRepeated = true;
        rows.push(e.row);
      } else this.byLabel.set(e.label as string, [e.row]);
    }
    if (e.label !== undefined) this.labels[e.label] = countOf(this.labels, e.label) + 1;
    if (this.identity === 'features') {
      if (e.fingerprint !== this.fp) {
        this.flushFp(e.features);
        this.fp = e.fingerprint;
      }
      this.fpCount++;
      if (this.fpRows.length < MAX_LISTED_ROWS) this.fpRows.push(e.row);
      this.fpLabel = e.label;
    }
  }

  private flushFp(features: string): void {
    if (this.fpCount > 1) {
      this.report({ side: this.side, identity: features, count: this.fpCount, rows: this.fpRows, ...(this.fpLabel !== undefined ? { label: this.fpLabel } : {}) });
    }
    this.fpCount = 0;
    this.fpRows = [];
  }

  private report(g: DuplicateGroup): void {
    g.rows.sort((x, y) => x - y);
    if (this.side === 'a') this.counts.duplicatesA++;
    else this.counts.duplicatesB++;
    this.sink.duplicate(g);
  }

  /** End of the group whose identity is `head`. */
  end(head: IndexEntry): void {
    if (this.identity === 'features') this.flushFp(head.features);
    else if (this.identity === 'path') {
      if (this.labelRepeated) {
        for (const [label, rows] of this.byLabel) if (rows.length > 1) this.report({ side: this.side, identity: identityText(head, this.identity), count: rows.length, rows: rows.slice(0, MAX_LISTED_ROWS), label });
      }
      this.byLabel.clear();
      this.labelRepeated = false;
    } else if (this.count > 1) this.report({ side: this.side, identity: identityText(head, this.identity), count: this.count, rows: this.rows });
    this.count = 0;
    this.rows = [];
  }
}

/**
 * Merge-join two indexes of one record set.
 * @param a side A's entries, in index order (e.g. from `indexEntryRuns`)
 * @param b side B's entries, in index order
 * @param identity the set's identity (both sides must share it)
 * @param pairs where the rows of the records paired go (default: new ones when {@link measuresOrder}); their order is `counts.order`
 * @returns the counts; the differences went to `sink`
 * @throws whatever reading either side throws; SnapError `RECORDS_INDEX_MALFORMED` | `RECORDS_LIMIT` from `pairs` (a row of A twice)
 */
export async function diffRecords(a: AsyncIterable<IndexEntry[]>, b: AsyncIterable<IndexEntry[]>, identity: RecordIdentity, sink: RecordDiffSink, pairs: RowPairSink | undefined = measuresOrder(identity) ? new RowPairs() : undefined): Promise<RecordDiffCounts> {
  const counts: RecordDiffCounts = { a: 0, b: 0, unchanged: 0, added: 0, removed: 0, modified: 0, flipped: 0, duplicatesA: 0, duplicatesB: 0, labelsA: newLabelCounts(), labelsB: newLabelCounts() };
  const ca = new Cursor(a);
  const cb = new Cursor(b);
  const ta = new GroupTally('a', identity, counts.labelsA, sink, counts);
  const tb = new GroupTally('b', identity, counts.labelsB, sink, counts);
  const same = (x: IndexEntry | undefined, head: IndexEntry) => x !== undefined && compareIdentity(x, head, identity) === 0;

  const removed = (e: IndexEntry) => {
    counts.removed++;
    sink.removed(e);
  };
  const added = (e: IndexEntry) => {
    counts.added++;
    sink.added(e);
  };

  for (;;) {
    const ea = (ca.empty ? await ca.peek() : ca.cur());
    const eb = (cb.empty ? await cb.peek() : cb.cur());
    if (!ea && !eb) break;
    const c = !ea ? 1 : !eb ? -1 : compareIdentity(ea, eb, identity);
    if (c !== 0) {
      // An identity on one side only: all its records were removed (A) or added (B).
      const [cur, tally, only] = c < 0 ? [ca, ta, removed] : [cb, tb, added];
      const head = (c < 0 ? ea : eb) as IndexEntry;
      for (let x: IndexEntry | undefined = head; same(x, head); x = cur.empty ? await cur.peek() : cur.cur()) {
        tally.see(x as IndexEntry);
        if (c < 0) counts.a++;
        else counts.b++;
        only(x as IndexEntry);
        cur.advance();
      }
      tally.end(head);
      continue;
    }
    // The same identity on both sides: walk both groups in fingerprint order.
    const head = ea as IndexEntry;
    const leftA: IndexEntry[] = [];
    const leftB: IndexEntry[] = [];
    let x: IndexEntry | undefined = ea;
    let y: IndexEntry | undefined = eb;
    for (;;) {
      const inA = same(x, head);
      const inB = same(y, head);
      if (!inA && !inB) break;
      const f = !inA ? 1 : !inB ? -1 : (x as IndexEntry).fingerprint === (y as IndexEntry).fingerprint ? 0 : (x as IndexEntry).fingerprint < (y as IndexEntry).fingerprint ? -1 : 1;
      if (f <= 0) {
        ta.see(x as IndexEntry);
        counts.a++;
      }
      if (f >= 0) {
        tb.see(y as IndexEntry);
        counts.b++;
      }
      if (f === 0) {
        counts.unchanged++;
        pairs?.add((x as IndexEntry).row, (y as IndexEntry).row);
      } else if (f < 0) leftA.push(x as IndexEntry);
      else leftB.push(y as IndexEntry);
      if (f <= 0) {
        ca.advance();
        x = (ca.empty ? await ca.peek() : ca.cur());
      }
      if (f >= 0) {
        cb.advance();
        y = (cb.empty ? await cb.peek() : cb.cur());
      }
    }
    ta.end(head);
    tb.end(head);
    pairLeftovers(leftA, leftB, counts, sink, removed, added, identity, pairs);
  }
  const order = pairs?.result();
  if (order) counts.order = order;
  return counts;
}

/**
 * Pair the records of one identity that matched no fingerprint on the other side: same feature
 * hash → a flip; then in index order → modified; the rest removed or added.
 *
 * Identity `path` (a `files` set, whose key is repeated under each label folder that has a file of
 * that name, docs/FORMAT.md §19.4) first pairs by label ({@link pairPathLeftovers}); only what is
 * left unpaired is paired as above.
 * @param pairs where the rows of the records paired (flipped, modified) go, when the order is measured
 */
export function pairLeftovers(la: IndexEntry[], lb: IndexEntry[], counts: RecordDiffCounts, sink: RecordDiffSink, removed: (e: IndexEntry) => void, added: (e: IndexEntry) => void, identity?: RecordIdentity, pairs?: RowPairSink): void {
  if (la.length === 0 && lb.length === 0) return;
  if (identity === 'path' && la.length > 0 && lb.length > 0 && (la.length > 1 || lb.length > 1)) {
    const rest = pairPathLeftovers(la, lb, counts, sink);
    la = rest.a;
    lb = rest.b;
  }
  const usedB = new Uint8Array(lb.length);
  const restA: IndexEntry[] = [];
  // Usually one record a side; with duplicates, look up B's records by feature hash, each list taken
  // by position (shift() copies the rest of a long list each time: 600,000 duplicate rows took 55
  // CPU-seconds).
  const byFeatures = new Map<string, { rows: number[]; next: number }>();
  lb.forEach((e, j) => {
    const q = byFeatures.get(e.features);
    if (q) q.rows.push(j);
    else byFeatures.set(e.features, { rows: [j], next: 0 });
  });
  for (const ea of la) {
    const q = byFeatures.get(ea.features);
    const j = q && q.next < q.rows.length ? q.rows[q.next++] : undefined;
    if (j === undefined) {
      restA.push(ea);
      continue;
    }
    usedB[j] = 1;
    counts.flipped++;
    pairs?.add(ea.row, (lb[j] as IndexEntry).row);
    sink.flipped(ea, lb[j] as IndexEntry);
  }
  const restB = lb.filter((_, j) => usedB[j] === 0);
  const n = Math.min(restA.length, restB.length);
  for (let i = 0; i < n; i++) {
    counts.modified++;
    pairs?.add((restA[i] as IndexEntry).row, (restB[i] as IndexEntry).row);
    sink.modified(restA[i] as IndexEntry, restB[i] as IndexEntry);
  }
  for (let i = n; i < restA.length; i++) removed(restA[i] as IndexEntry);
  for (let i = n; i < restB.length; i++) added(restB[i] as IndexEntry);
}

/** Indexes of records in index order, and how many at its start are known to be used. */
interface Queue {
  items: number[];
  at: number;
}

/**
 * The indexes of `entries` grouped by `by`, each group in index order; a group of one is its index
 * alone (most are: a content, or a label, is mostly one record's), not a {@link Queue}.
 */
function queuesOf(entries: readonly IndexEntry[], by: (e: IndexEntry) => string | undefined): Map<string | undefined, number | Queue> {
  const out = new Map<string | undefined, number | Queue>();
  entries.forEach((e, i) => {
    const k = by(e);
    const q = out.get(k);
    if (q === undefined) out.set(k, i);
    else if (typeof q === 'number') out.set(k, { items: [q, i], at: 0 });
    else q.items.push(i);
  });
  return out;
}

/**
 * The label pairing of one key's records of a `files` set (docs/FORMAT.md §19.4), all of which matched
 * no fingerprint on the other side (an unchanged file is its twin's already):
 * 1. a record of B under a label the key has no record of in A, with the content (feature hash) of
 *    a record of A, is that record's **flip** — whatever is now under the old label (a decoy written
 *    where the file was is a modified record then, or an added one);
 * 2. records of A and B under one label are one record, **modified** (same path, other bytes), so
 *    that contents swapped between `cat/x` and `dog/x` are two modified records, not two flips.
 * Both in index order (fingerprint order within the key).
 * @returns the records left unpaired on each side, in index order
 */
export function pairPathLeftovers(la: IndexEntry[], lb: IndexEntry[], counts: RecordDiffCounts, sink: RecordDiffSink): { a: IndexEntry[]; b: IndexEntry[] } {
  const usedA = new Uint8Array(la.length);
  const usedB = new Uint8Array(lb.length);
  // A's records by content and by label, each in index order: the first unused one of a queue is
  // what a scan of `la` for the first unused match would find, in time linear in the key's records
  // (a name shared by thousands of label folders must not cost their square).
  const byFeatures = queuesOf(la, (e) => e.features);
  const byLabel = queuesOf(la, (e) => e.label);
  const firstUnused = (q: number | Queue | undefined): number => {
    if (q === undefined) return -1;
    if (typeof q === 'number') return usedA[q] === 0 ? q : -1;
    while (q.at < q.items.length && usedA[q.items[q.at] as number] === 1) q.at++;
    return q.at < q.items.length ? (q.items[q.at] as number) : -1;
  };
  lb.forEach((eb, j) => {
    if (byLabel.has(eb.label)) return;
    const i = firstUnused(byFeatures.get(eb.features));
    if (i < 0) return;
    usedA[i] = 1;
    usedB[j] = 1;
    counts.flipped++;
    sink.flipped(la[i] as IndexEntry, eb);
  });
  lb.forEach((eb, j) => {
    if (usedB[j]) return;
    const i = firstUnused(byLabel.get(eb.label));
    if (i < 0) return;
    usedA[i] = 1;
    usedB[j] = 1;
    counts.modified++;
    sink.modified(la[i] as IndexEntry, eb);
  });
  return { a: la.filter((_, i) => usedA[i] === 0), b: lb.filter((_, j) => usedB[j] === 0) };
}
