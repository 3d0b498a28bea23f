/**
 * The record diff of two index files (the fast form of `diffRecords`, same results — a property
 * test checks it): an unchanged record is recognised by its bytes (see `index-reader.ts`); only the
 * records that differ are decoded and paired as `diffRecords` pairs them.
 */
import { statSync } from 'node:fs';
import { isSnapError } from '../core/errors.js';
import type { RecordIdentity } from '../core/records.js';
import type { IndexEntry } from './index-line.js';
import { indexAltered, indexFileSha256, type IndexExpectation } from './read-index.js';
import { IndexReader, MIN_LINE_BYTES } from './index-reader.js';
import { HashWorker } from './index-hasher.js';
import { measuresOrder, pairLeftovers, type RecordDiffCounts, type RecordDiffSink } from './record-diff.js';
import { RowPairs } from './row-order.js';

/** Indexes of at least this many bytes together (32 MiB) are hashed on a worker thread; below, starting one costs more than it saves. */
export const HASH_WORKER_MIN_BYTES = 32 << 20;

/** One side: an index file (undefined: an empty set) and what it must be. */
export interface IndexSide {
  path: string | undefined;
  x: IndexExpectation;
}

/** What {@link diffIndexFiles} found besides what went to the sink. */
export interface IndexDiffResult {
  counts: RecordDiffCounts;
  /** Feature-hash prefixes seen with two labels, per side (conflict candidates, see `conflicts.ts`). */
  candidates: { a: Set<string>; b: Set<string> };
}

/** The size of a file in bytes; 0 for no file or one that cannot be looked at (the reader then says why). */
function sizeOf(path: string | undefined): number {
  try {
    return path === undefined ? 0 : statSync(path).size;
  } catch {
    return 0; // the reader says what is wrong with it
  }
}

/**
 * Merge-join two index files of one record set.
 * @param options.hashWorkerMinBytes hash on a worker thread from this many index bytes (both sides together) on; default {@link HASH_WORKER_MIN_BYTES}
 * @param options.hashWorkerFailAfterBlocks tests only: make that worker fail (see `HashWorker`)
 * Sets of identity `key` or `features` get `counts.order` (`row-order.ts`): the rows of every pair are
 * kept, 4 bytes a record of A, and measured at the end.
 * @throws SnapError `OBJECT_CORRUPT` (an index does not match its signed digest, also when it is
 *   malformed) | `RECORDS_INDEX_MALFORMED` (also a row of A twice, or beyond A's signed count) |
 *   `RECORDS_LIMIT` (a row over `MAX_ORDER_ROW`) | `NOT_FOUND` | `IO_ERROR` | `INTERNAL` (the hashing worker failed)
 */
export async function diffIndexFiles(a: IndexSide, b: IndexSide, identity: RecordIdentity, sink: RecordDiffSink, options: { hashWorkerMinBytes?: number; hashWorkerFailAfterBlocks?: number } = {}): Promise<IndexDiffResult> {
  const readers: IndexReader[] = [];
  const worker = sizeOf(a.path) + sizeOf(b.path) >= (options.hashWorkerMinBytes ?? HASH_WORKER_MIN_BYTES) ? new HashWorker({ failAfterBlocks: options.hashWorkerFailAfterBlocks }) : undefined;
  try {
    const ra = new IndexReader(a.path, a.x, 'a', worker?.side(0));
    readers.push(ra);
    const rb = new IndexReader(b.path, b.x, 'b', worker?.side(1));
    readers.push(rb);
    // B's conflict tags are A's, but for the lines marked as differing (see `tagAgainst`).
    rb.tagAgainst(ra);
    const counts: RecordDiffCounts = { a: 0, b: 0, unchanged: 0, added: 0, removed: 0, modified: 0, flipped: 0, duplicatesA: 0, duplicatesB: 0, labelsA: ra.labels, labelsB: rb.labels };
    // Room for A's rows at once: as many as its file can hold lines, or its signed count when smaller
    // (a wrong count costs no more than a true one); no copies as the array grows.
    const countA = a.x.count;
    const canHold = Math.floor(sizeOf(a.path) / MIN_LINE_BYTES);
    const pairs = measuresOrder(identity) ? new RowPairs(countA, countA !== undefined && Number.isSafeInteger(countA) && countA > 0 ? Math.min(countA, canHold) : canHold) : undefined;
    const removed = (e: IndexEntry) => {
      counts.removed++;
      sink.removed(e);
    };
    const added = (e: IndexEntry) => {
      counts.added++;
      sink.added(e);
    };
    // `same`: the current lines are known to be the same record (found while stepping B, see `nextLike`).
    let same = false;
    while (ra.has || rb.has) {
      if (same || (ra.has && rb.has && ra.sameRecord(rb))) {
        counts.unchanged++;
        pairs?.add(ra.row, rb.row);
        ra.next();
        same = rb.nextLike(ra);
        continue;
      }
      const c = !ra.has ? 1 : !rb.has ? -1 : ra.compareIdentity(rb);
      if (c < 0) {
        removed(ra.entry());
        ra.markDiffering();
        ra.next();
        continue;
      }
      if (c > 0) {
        added(rb.entry());
        rb.markDiffering();
        rb.next();
        continue;
      }
      // One identity on both sides, other records: the records of that identity, in fingerprint order.
      const ga: IndexEntry[] = [];
      const gb: IndexEntry[] = [];
      if (identity === 'position') {
        ga.push(ra.entry());
        gb.push(rb.entry());
        ra.markDiffering();
        rb.markDiffering();
        ra.next();
        rb.next();
      } else {
        const id = ra.identityBytes();
        while (ra.hasIdentity(id)) {
          ga.push(ra.entry());
          ra.markDiffering();
          ra.next();
        }
        while (rb.hasIdentity(id)) {
          gb.push(rb.entry());
          rb.markDiffering();
          rb.next();
        }
      }
      const leftA: IndexEntry[] = [];
      const leftB: IndexEntry[] = [];
      let i = 0;
      let j = 0;
      while (i < ga.length || j < gb.length) {
        const x = ga[i];
        const y = gb[j];
        const f = !x ? 1 : !y ? -1 : x.fingerprint === y.fingerprint ? 0 : x.fingerprint < y.fingerprint ? -1 : 1;
        if (f === 0) {
          counts.unchanged++;
          pairs?.add((x as IndexEntry).row, (y as IndexEntry).row);
        } else if (f < 0) leftA.push(x as IndexEntry);
        else leftB.push(y as IndexEntry);
        if (f <= 0) i++;
        if (f >= 0) j++;
      }
      pairLeftovers(leftA, leftB, counts, sink, removed, added, identity, pairs);
    }
    counts.a = ra.lines;
    counts.b = rb.lines;
    const ca = ra.close();
    const cb = rb.close();
    ra.release();
    for (const g of [...ra.duplicates, ...rb.duplicates]) sink.duplicate(g);
    counts.duplicatesA = ra.duplicates.length;
    counts.duplicatesB = rb.duplicates.length;
    if (pairs) counts.order = pairs.result();
    return { counts, candidates: { a: ca.candidates, b: cb.candidates } };
  } catch (e) {
    for (const r of readers) r.abort();
    // A malformed index that does not match its signed digest was altered: say so.
    if (isSnapError(e, 'RECORDS_INDEX_MALFORMED')) {
      for (const s of [a, b]) {
        if (s.path !== undefined && s.x.sha256 !== undefined && (await indexFileSha256(s.path, s.x).catch(() => undefined)) !== s.x.sha256) {
          throw indexAltered(s.path, s.x);
        }
      }
    }
    throw e;
  } finally {
    worker?.close();
  }
}
