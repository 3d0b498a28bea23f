/**
 * The record diff of two signed indexes through their summaries (docs/FORMAT.md §19.10): chunks
 * whose records are the same on both sides (equal fingerprints digests) are counted as unchanged
 * without being read; only the other chunks are read, each checked against its signed leaves digest, and
 * merge-joined as `diffRecords` does. Conflict groups come from the summaries.
 *
 * Same results as `diffIndexFiles` over the whole indexes (property tests compare them): with
 * identity `key` every key is held by one record a side (the seal refused duplicates), and with
 * `path` every key and label (a path; the key alone repeats under each label folder, §19.4), so a
 * record's fingerprint is unique on its side; every pairing rule pairs equal fingerprints first, so
 * a record of a skipped chunk pairs with its twin in the other side's skipped chunk and with
 * nothing else, and the rest of its key group — perhaps in other chunks — pairs as it would have.
 */
import { createHash, hash } from 'node:crypto';
import { closeSync, fstatSync, readSync } from 'node:fs';
import { SnapError, isSnapError } from '../core/errors.js';
import { MAX_INDEX_SUMMARY_BYTES, type RecordIdentity } from '../core/records.js';
import { ioError } from '../io/errors.js';
import { openRegularFileSync, readSmallFile } from '../io/small-file.js';
import { compareEntries, parseIndexLine, type IndexEntry } from './index-line.js';
import { indexAltered, indexFileSha256, type IndexExpectation } from './read-index.js';
import { MAX_CHUNK_RECORDS, parseIndexSummary, type IndexSummary } from './index-summary.js';
import { sha256Latin1, writeDigest } from './leaf-tree.js';
import { LEAF_PREFIX } from '../core/merkle.js';
import { diffRecords, type RecordDiffCounts, type RecordDiffSink } from './record-diff.js';
import { ORDER_NOT_MEASURED, PairLog, RowPairs } from './row-order.js';
import { MIN_LINE_BYTES } from './index-reader.js';
import type { ConflictGroup } from './record-report.js';


/** One side: its signed index and summary, as objects in a store. */
export interface SummarySide {
  /** The index object. */
  path: string;
  /** What the index must be: `sha256` and `count` are the signed ones. */
  x: IndexExpectation & { sha256: string; count: number };
  /** The summary object and its signed digest. */
  summaryPath: string;
  summarySha256: string;
  /** The signed label counts (labelled sets). */
  labels?: Record<string, number>;
}

/** The error for a summary object whose bytes are not the signed summary's. */
function summaryAltered(side: SummarySide): SnapError {
  return new SnapError('OBJECT_CORRUPT', `the record index summary of ${side.x.name} (${side.summaryPath}) does not hash to the digest the statement signed (${side.summarySha256.slice(0, 12)}…): it was altered`, { path: side.summaryPath, expected: side.summarySha256 });
}

/**
 * Read a summary object (at most {@link MAX_INDEX_SUMMARY_BYTES} + 1 bytes) and check it against its
 * signed digest and its set's signed record count.
 * @returns the summary, or undefined when it is larger than {@link MAX_INDEX_SUMMARY_BYTES} (the caller diffs the whole indexes)
 * @throws SnapError `OBJECT_CORRUPT` (digest differs, not a regular file) | `RECORDS_INDEX_MALFORMED` | `IO_ERROR`
 */
export async function readIndexSummary(side: SummarySide): Promise<IndexSummary | undefined> {
  const bytes = await readSmallFile(side.summaryPath, MAX_INDEX_SUMMARY_BYTES + 1, 'cannot read the record index summary', (shown) => new SnapError('OBJECT_CORRUPT', `the record index summary of ${side.x.name} (${shown}) is not a regular file: it was altered`, { path: side.summaryPath, expected: side.summarySha256 }));
  if (bytes.length > MAX_INDEX_SUMMARY_BYTES) return undefined;
  if (createHash('sha256').update(bytes).digest('hex') !== side.summarySha256) throw summaryAltered(side);
  return parseIndexSummary(bytes, { name: side.x.name, count: side.x.count });
}

/**
 * The entries of the chunks of `s` not in `skip`, in index order, each chunk checked against its
 * signed leaves digest (the SHA-256 of its lines' RFC 9162 leaf hashes) and record count, and the
 * entries against the index order.
 */
async function* unmatchedRuns(fd: number, side: SummarySide, s: IndexSummary, skip: Uint8Array): AsyncGenerator<IndexEntry[]> {
  let offset = 0;
  let prev: IndexEntry | undefined;
  let buf = Buffer.alloc(0);
  const leafHashes = Buffer.alloc(32 * MAX_CHUNK_RECORDS);
  const t = s.chunks;
  for (let i = 0; i < t.length; i++) {
    const at = offset;
    offset += t.bytes[i] as number;
    if (skip[i]) continue;
    const c = t.get(i);
    // Byte 0 is kept free: the byte before each line is set to the leaf prefix while the line is hashed.
    if (buf.length < c.bytes + 1) buf = Buffer.allocUnsafe(Math.max(c.bytes + 1, 1 << 16));
    const bytes = buf.subarray(1, 1 + c.bytes);
    let n = 0;
    try {
      // Synchronous reads: a chunk is small, and a thread-pool round trip per chunk costs more than the read.
      while (n < c.bytes) {
        const got = readSync(fd, bytes, n, c.bytes - n, at + n);
        if (got === 0) break;
        n += got;
      }
    } catch (e) {
      throw ioError(e, side.path, 'cannot read the record index');
    }
    if (n < c.bytes) throw indexAltered(side.path, side.x);
    // Each line's leaf hash, SHA-256(0x00 ‖ line), as the seal took them for the Merkle root.
    let lineCount = 0;
    for (let from = 1; from <= c.bytes; ) {
      const nl = buf.indexOf(0x0a, from);
      if (nl < 0 || nl > c.bytes || lineCount === c.records) {
        throw new SnapError('RECORDS_INDEX_MALFORMED', `record index of ${side.x.name} (${side.path}): the chunk at byte ${at} does not hold the ${c.records} lines its summary says`, { path: side.path });
      }
      const before = buf[from - 1] as number;
      buf[from - 1] = LEAF_PREFIX;
      writeDigest(leafHashes, sha256Latin1(buf.subarray(from - 1, nl)), 32 * lineCount++);
      buf[from - 1] = before;
      from = nl + 1;
    }
    // Lines other than the signed summary's are not the signed index.
    if (lineCount !== c.records || hash('sha256', leafHashes.subarray(0, 32 * lineCount), 'hex') !== c.leaves) throw indexAltered(side.path, side.x);
    const lines = bytes.toString('utf8').split('\n');
    lines.pop();
    const run: IndexEntry[] = new Array(lines.length);
    for (let j = 0; j < lines.length; j++) {
      let e: IndexEntry;
      try {
        e = parseIndexLine(lines[j] as string, side.x.identity, side.x.labelled, false);
        if (prev && compareEntries(prev, e, side.x.identity) >= 0) throw new SnapError('RECORDS_INDEX_MALFORMED', 'lines out of index order');
      } catch (err) {
        if (!isSnapError(err)) throw err;
        throw new SnapError(err.code, `record index of ${side.x.name} (${side.path}): the chunk at byte ${at}, line ${j + 1}: ${err.message}`, { path: side.path });
      }
      prev = e;
      run[j] = e;
    }
    yield run;
  }
}

/**
 * The row of the index line `b[s, e)` (without its `\n`): the digits of its last member, `,"row":N}`.
 * @throws SnapError `RECORDS_INDEX_MALFORMED`
 */
function rowOfLine(b: Buffer, s: number, e: number, side: SummarySide): number {
  let d = e - 1;
  if (b[d] !== 0x7d) throw new SnapError('RECORDS_INDEX_MALFORMED', `record index of ${side.x.name} (${side.path}): a line does not end with its row`, { path: side.path });
  let row = 0;
  let digits = 0;
  while (d - 1 >= s && (b[d - 1] as number) >= 0x30 && (b[d - 1] as number) <= 0x39) d--;
  for (let i = d; i < e - 1; i++, digits++) row = row * 10 + ((b[i] as number) - 0x30);
  if (digits === 0 || digits > 16 || b[d] === 0x30 || !Number.isSafeInteger(row) || d - ROW_MEMBER.length < s || !rowMemberAt(b, d - ROW_MEMBER.length)) {
    throw new SnapError('RECORDS_INDEX_MALFORMED', `record index of ${side.x.name} (${side.path}): row must be a whole number from 1`, { path: side.path });
  }
  return row;
}
const ROW_MEMBER = Buffer.from(',"row":');
/** Whether `b` holds `,"row":` at `at` (a loop: cheaper than a string per line). */
function rowMemberAt(b: Buffer, at: number): boolean {
  for (let i = 0; i < ROW_MEMBER.length; i++) if (b[at + i] !== ROW_MEMBER[i]) return false;
  return true;
}

/**
 * Read a whole index chunk by chunk, hashing every byte (its SHA-256 must be the signed one, else
 * `OBJECT_CORRUPT`), and give the row of each line of the chunks in `skip`, in order (the chunks
 * both sides share, whose rows the summary diff did not read). Each such chunk must hold the lines
 * its summary says.
 * @throws SnapError `OBJECT_CORRUPT` | `RECORDS_INDEX_MALFORMED` | `IO_ERROR`; whatever `onRow` throws
 *   is thrown only once the whole index was found to be the signed one
 */
function skippedRows(fd: number, side: SummarySide, s: IndexSummary, skip: Uint8Array, onRow: (row: number) => void): void {
  const h = createHash('sha256');
  const t = s.chunks;
  let buf = Buffer.alloc(0);
  let offset = 0;
  let failed: unknown;
  let malformed: SnapError | undefined;
  for (let i = 0; i < t.length; i++) {
    const size = t.bytes[i] as number;
    if (buf.length < size) buf = Buffer.allocUnsafe(Math.max(size, 1 << 16));
    let n = 0;
    try {
      while (n < size) {
        const got = readSync(fd, buf, n, size - n, offset + n);
        if (got === 0) break;
        n += got;
      }
    } catch (e) {
      throw ioError(e, side.path, 'cannot read the record index');
    }
    if (n < size) throw indexAltered(side.path, side.x);
    h.update(buf.subarray(0, size));
    if (skip[i] && !malformed && failed === undefined) {
      try {
        let lines = 0;
        for (let from = 0; from < size; ) {
          const nl = buf.indexOf(0x0a, from);
          if (nl < 0 || nl >= size || lines === t.records[i]) throw new SnapError('RECORDS_INDEX_MALFORMED', `record index of ${side.x.name} (${side.path}): the chunk at byte ${offset} does not hold the ${t.records[i]} lines its summary says`, { path: side.path });
          const row = rowOfLine(buf, from, nl, side);
          lines++;
          try {
            onRow(row);
          } catch (e) {
            failed = e;
            break;
          }
          from = nl + 1;
        }
        if (failed === undefined && lines !== t.records[i]) throw new SnapError('RECORDS_INDEX_MALFORMED', `record index of ${side.x.name} (${side.path}): the chunk at byte ${offset} does not hold the ${t.records[i]} lines its summary says`, { path: side.path });
      } catch (e) {
        if (!isSnapError(e, 'RECORDS_INDEX_MALFORMED')) throw e;
        malformed = e;
      }
    }
    offset += size;
  }
  // Bytes other than the signed ones are an altered index, whatever else was found in them.
  if (h.digest('hex') !== side.x.sha256) throw indexAltered(side.path, side.x);
  if (malformed) throw malformed;
  if (failed !== undefined) throw failed;
}

/** What {@link diffBySummaries} found besides what went to the sink. */
export interface SummaryDiffResult {
  counts: RecordDiffCounts;
  /** Each side's conflict groups (from its summary), A's first. */
  conflicts: ConflictGroup[];
}

/**
 * Merge-join two signed indexes of one record set (identity `key` or `path`) through their summaries.
 *
 * The order of the records (`counts.order`, identity `key`, `row-order.ts`) needs every pair's rows,
 * and a skipped chunk's rows are not read. It is known without them when no row of a paired record
 * changed: every pair of skipped chunks has equal `leaves` (the same lines, so the same rows) and
 * every pair among the chunks read kept its row; then nothing moved. It is also known when no chunk
 * was skipped (every pair was read). Otherwise rows changed, and:
 * - when no record was added or removed (only a reorder can have changed the rows: the
 *   data-ordering case), or when `opts.order` asks for it, both indexes are read once more, whole,
 *   each checked against its signed SHA-256, and the rows of the skipped chunks paired line by line
 *   (two matched chunks hold the same records in the same order, and matched chunks come in the same
 *   order on both sides); no merge-join, no conflict tags. Memory: 4 bytes a record of A for the
 *   pairs, and 4 bytes a record of the skipped chunks for A's rows;
 * - else (records added or removed renumbered the rows) the order is not measured:
 *   `{ common, moved: null, notMeasured: ORDER_NOT_MEASURED }`, and nothing more is read.
 * Should matched chunks come in another order on the two sides (not in a valid index), `counts.order`
 * is left out and the caller diffs the whole indexes.
 * @param opts.order measure the order even when records were added or removed (`diff --order`, `check` with `maxReordered`)
 * @returns undefined when a summary is too large to use (the caller diffs the whole indexes)
 * @throws SnapError `OBJECT_CORRUPT` (an index or summary does not match its signed digest) |
 *   `RECORDS_INDEX_MALFORMED` | `NOT_FOUND` | `IO_ERROR`
 */
export async function diffBySummaries(a: SummarySide, b: SummarySide, identity: RecordIdentity, sink: RecordDiffSink, opts: { order?: boolean } = {}): Promise<SummaryDiffResult | undefined> {
  if (identity !== 'key' && identity !== 'path') throw new SnapError('INTERNAL', `index summaries are for identities key and path, not ${identity}`);
  const fds: number[] = [];
  try {
    const open = (s: SummarySide) => {
      const fd = openRegularFileSync(s.path, 'cannot read the record index', (shown) => new SnapError('OBJECT_CORRUPT', `the record index of ${s.x.name} (${shown}) is not a regular file: it was altered`, { path: s.path, expected: s.x.sha256 }));
      fds.push(fd);
      return { fd, size: fstatSync(fd).size };
    };
    const ia = open(a);
    const ib = open(b);
    const sa = await readIndexSummary(a);
    const sb = await readIndexSummary(b);
    if (!sa || !sb) return undefined;
    // An index of another size than its signed summary gives is not the signed index — or the summary is wrong: the index's digest tells.
    for (const [s, i, side] of [[sa, ia, a], [sb, ib, b]] as const) {
      if (s.bytes === i.size) continue;
      if ((await indexFileSha256(side.path, side.x).catch(() => undefined)) !== side.x.sha256) throw indexAltered(side.path, side.x);
      throw new SnapError('RECORDS_INDEX_MALFORMED', `the index summary of ${side.x.name} gives its index ${s.bytes} bytes, the index has ${i.size}`, { path: side.x.name });
    }
    // Chunks with the same records on both sides: a one-to-one match on the fingerprints digest,
    // found through a 28-bit key of it (ChunkTable.key) (B's chunks chained per key), then compared in full.
    const ta = sa.chunks;
    const tb = sb.chunks;
    const firstOf = new Map<number, number>();
    const nextOf = new Int32Array(tb.length).fill(-1);
    for (let j = tb.length - 1; j >= 0; j--) {
      const k = tb.key(j);
      const first = firstOf.get(k);
      if (first !== undefined) nextOf[j] = first;
      firstOf.set(k, j);
    }
    const skipA = new Uint8Array(ta.length);
    const skipB = new Uint8Array(tb.length);
    let same = 0;
    // Whether every skipped pair of chunks has the same lines on both sides (rows included), and
    // whether the pairs come in the same order on both sides (their rows are then paired in order).
    let rowsKept = true;
    let inOrder = true;
    let lastJ = -1;
    for (let i = 0; i < ta.length; i++) {
      let j = firstOf.get(ta.key(i)) ?? -1;
      while (j >= 0 && (skipB[j] || !ta.sameFingerprints(i, tb, j))) j = nextOf[j] as number;
      if (j < 0) continue;
      // Equal fingerprints, equal records: the record counts agree unless a summary lies.
      if (tb.records[j] !== ta.records[i]) throw new SnapError('RECORDS_INDEX_MALFORMED', `the index summaries of ${a.x.name} give one chunk of records two record counts`, { path: a.x.name });
      skipA[i] = 1;
      skipB[j] = 1;
      same += ta.records[i] as number;
      if (rowsKept && ta.leaves(i) !== tb.leaves(j)) rowsKept = false;
      if (j < lastJ) inOrder = false;
      lastJ = j;
    }
    const log = identity === 'key' ? new PairLog() : undefined;
    const counts = await diffRecords(unmatchedRuns(ia.fd, a, sa, skipA), unmatchedRuns(ib.fd, b, sb, skipB), identity, sink, log);
    counts.unchanged += same;
    delete counts.order;
    if (log && rowsKept && log.allKeptRows) counts.order = { common: log.common + same, moved: 0 };
    // Rows renumbered by records added or removed: measuring would read both whole indexes (not asked for).
    else if (log && inOrder && same > 0 && !opts.order && counts.added + counts.removed > 0) counts.order = { common: log.common + same, moved: null, notMeasured: ORDER_NOT_MEASURED };
    else if (log && inOrder) {
      const pairs = new RowPairs(a.x.count, Math.min(a.x.count, Math.floor(ia.size / MIN_LINE_BYTES)));
      log.replay(pairs);
      // No chunk shared: every pair was read, nothing more to read.
      if (same > 0) {
        const rowsA = new Uint32Array(same);
        let k = 0;
        skippedRows(ia.fd, a, sa, skipA, (row) => {
          rowsA[k++] = row;
        });
        k = 0;
        skippedRows(ib.fd, b, sb, skipB, (row) => pairs.add(rowsA[k++] as number, row));
      }
      counts.order = pairs.result();
    }
    counts.a = a.x.count;
    counts.b = b.x.count;
    if (a.labels) counts.labelsA = { ...a.labels };
    if (b.labels) counts.labelsB = { ...b.labels };
    const conflicts: ConflictGroup[] = [...sa.conflicts.map((g) => ({ side: 'a' as const, ...g })), ...sb.conflicts.map((g) => ({ side: 'b' as const, ...g }))];
    return { counts, conflicts };
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}
