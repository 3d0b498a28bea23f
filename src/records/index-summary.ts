/**
 * The index summary (docs/FORMAT.md §19.10): a small signed object beside a record index that
 * lets `diff` of two snapshots read only the parts of their indexes that differ.
 *
 * The index is cut into **chunks** of whole lines at content-defined points: after a line whose
 * record fingerprint begins with a byte below {@link CHUNK_BOUNDARY_BELOW} (1 line in 64 on
 * average), or when a chunk reaches {@link MAX_CHUNK_RECORDS} lines or {@link MAX_CHUNK_BYTES}
 * bytes. A cut depends only on the records before it, so an edit moves the cuts near it and no
 * others, as in content-defined chunking (LBFS, Muthitacharoen et al., SOSP 2001). Each chunk is
 * described by its size, its record count, the SHA-256 of its lines' RFC 9162 leaf hashes (which
 * the index's Merkle root is built from, so the seal gets them for free), and the SHA-256 of its
 * records' fingerprints in order — which, unlike its bytes, does not change when rows are
 * renumbered by an insertion earlier in the file. Two chunks with the same fingerprints digest hold
 * the same records.
 *
 * The summary also carries the set's **conflict groups** (records with one feature hash and
 * several labels, see `conflicts.ts`), which depend on the whole index.
 *
 * No I/O here: bytes and objects in, bytes and objects out.
 */
import { hash as oneShot } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.js';
import { SnapError } from '../core/errors.js';
import { MAX_INDEX_LINE_BYTES, MAX_LABELS } from '../core/records.js';
import type { ConflictGroup } from './record-report.js';
import { MAX_LISTED_CONFLICT_RECORDS } from './conflicts.js';
import { newLabelCounts } from './stats.js';
import { writeDigest } from './leaf-tree.js';

/** A chunk ends after a line whose fingerprint's first byte is below this: 4/256, one line in 64. */
export const CHUNK_BOUNDARY_BELOW = 4;
/** A chunk ends at this many lines whatever the fingerprints (bounds what a ground fingerprint can do). */
export const MAX_CHUNK_RECORDS = 1024;
/** A chunk ends once it holds this many bytes (256 KiB). */
export const MAX_CHUNK_BYTES = 256 * 1024;
/**
 * Longest summary line, `\n` included (2 MiB: a conflict group lists at most 10 records, but up to
 * {@link MAX_LABELS} label counts, and a label escaped by RFC 8785 can take 6 bytes a byte). The seal
 * writes no summary with a longer line (the set is then diffed by reading its whole index).
 */
export const MAX_SUMMARY_LINE_BYTES = 2 << 20;

/** One chunk of an index, as its summary line describes it. */
export interface SummaryChunk {
  /** Bytes of the chunk's lines, `\n` included. */
  bytes: number;
  /** SHA-256 (hex) of the chunk's records' fingerprints (32 bytes each, in index order). */
  fingerprints: string;
  /** SHA-256 (hex) of the chunk's lines' leaf hashes, SHA-256(0x00 ‖ line) of RFC 9162 §2.1.1 (32 bytes each, in order). */
  leaves: string;
  /** Lines (records) in the chunk, from 1. */
  records: number;
}

/**
 * A summary's chunks, in index order, kept as offsets into the summary's bytes and typed arrays
 * (a million-record index has some 16,000 chunks: no object or string each).
 */
export class ChunkTable {
  /** @internal built by {@link parseIndexSummary} */
  constructor(
    private readonly buf: Buffer,
    /** Each chunk's bytes. */
    readonly bytes: Float64Array,
    /** Each chunk's records. */
    readonly records: Uint16Array,
    private readonly fpAt: Uint32Array,
    private readonly leavesAt: Uint32Array,
    private readonly keys: Int32Array,
    /** Number of chunks. */
    readonly length: number,
  ) {}

  /** Chunk `i`'s fingerprints digest (hex). */
  fingerprints(i: number): string {
    return this.buf.toString('latin1', this.fpAt[i], (this.fpAt[i] as number) + 64);
  }

  /** Chunk `i`'s leaves digest (hex). */
  leaves(i: number): string {
    return this.buf.toString('latin1', this.leavesAt[i], (this.leavesAt[i] as number) + 64);
  }

  /**
   * A number made of the first {@link KEY_HEX_DIGITS} hex digits of chunk `i`'s fingerprints digest
   * (a small integer, which a `Map` keys fastest): a key to find candidates by, to be confirmed with
   * {@link ChunkTable.sameFingerprints}.
   */
  key(i: number): number {
    return this.keys[i] as number;
  }

  /** Whether chunk `i` of this table and chunk `j` of `other` have the same fingerprints digest. */
  sameFingerprints(i: number, other: ChunkTable, j: number): boolean {
    return this.buf.compare(other.buf, other.fpAt[j], (other.fpAt[j] as number) + 64, this.fpAt[i], (this.fpAt[i] as number) + 64) === 0;
  }

  /** Chunk `i` as an object. */
  get(i: number): SummaryChunk {
    return { bytes: this.bytes[i] as number, fingerprints: this.fingerprints(i), leaves: this.leaves(i), records: this.records[i] as number };
  }

  /** Every chunk as an object (for tests and tools; the diff reads the table). */
  list(): SummaryChunk[] {
    return Array.from({ length: this.length }, (_, i) => this.get(i));
  }
}

/** Hex digits of a fingerprints digest in {@link ChunkTable.key}: 28 bits, a small integer (V8 Smi) on every platform. */
export const KEY_HEX_DIGITS = 7;

/** A parsed summary. */
export interface IndexSummary {
  /** The chunks, in index order; their bytes add up to the index's size, their records to its count. */
  chunks: ChunkTable;
  /** The conflict groups, by feature hash (no `side`: the diff adds it). */
  conflicts: Omit<ConflictGroup, 'side'>[];
  /** The chunks' bytes added up: the size of the index the summary describes. */
  bytes: number;
}

const HEX64 = /^[0-9a-f]{64}$/;


/** A summary chunk line, RFC 8785 (members in code-point order), without its `\n`. */
export function summaryChunkLine(c: SummaryChunk): string {
  return `{"bytes":${c.bytes},"fingerprints":"${c.fingerprints}","leaves":"${c.leaves}","records":${c.records}}`;
}

/** A summary conflict line, RFC 8785, without its `\n`. */
export function summaryConflictLine(g: Omit<ConflictGroup, 'side'>): string {
  return canonicalJson({ conflict: { features: g.features, labels: g.labels, records: g.records } });
}

/**
 * Cuts an index into chunks as its lines are written, and keeps what the conflict groups need.
 * The caller hashes each chunk's bytes (they are contiguous in its output buffer) and calls
 * {@link ChunkCutter.close}.
 */
export class ChunkCutter {
  private readonly fps = Buffer.alloc(32 * MAX_CHUNK_RECORDS);
  private readonly leafHashes = Buffer.alloc(32 * MAX_CHUNK_RECORDS);
  private records = 0;
  private bytes = 0;

  /** @param onLine receives each chunk line (without its `\n`) as its chunk ends, in index order */
  constructor(private readonly onLine: (line: string) => void) {}

  /**
   * Note one line written: its record's fingerprint (32 bytes at `fpOff` of `digests`), its leaf
   * hash (a 32-character latin1 string, as `LeafTree.appendPrefixed` returns it) and its length in
   * bytes with its `\n`. Ends the chunk after it when the cut rule says so.
   */
  add(digests: Uint8Array, fpOff: number, leaf: string, lineBytes: number): void {
    const at = 32 * this.records;
    for (let k = 0; k < 32; k++) this.fps[at + k] = digests[fpOff + k] as number;
    writeDigest(this.leafHashes, leaf, at);
    this.records++;
    this.bytes += lineBytes;
    if ((digests[fpOff] as number) < CHUNK_BOUNDARY_BELOW || this.records >= MAX_CHUNK_RECORDS || this.bytes >= MAX_CHUNK_BYTES) this.close();
  }

  /** End the current chunk, if it has lines (call once more after the last line). */
  close(): void {
    if (this.records === 0) return;
    const n = 32 * this.records;
    this.onLine(summaryChunkLine({ bytes: this.bytes, fingerprints: oneShot('sha256', this.fps.subarray(0, n), 'hex'), leaves: oneShot('sha256', this.leafHashes.subarray(0, n), 'hex'), records: this.records }));
    this.records = 0;
    this.bytes = 0;
  }
}

/** Whether `b` holds the bytes of `lit` at `at`. */
function hasAt(b: Buffer, at: number, lit: Buffer): boolean {
  if (at + lit.length > b.length) return false;
  for (let k = 0; k < lit.length; k++) if (b[at + k] !== lit[k]) return false;
  return true;
}

/** How every chunk line begins. */
const LIT_BYTES = Buffer.from('{"bytes":', 'latin1');
/** Bytes from a chunk line's start to its fingerprints digest, after the `bytes` number. */
const FINGERPRINTS_AFTER_BYTES = ',"fingerprints":"'.length;
/** Bytes from the fingerprints digest to the leaves digest. */
const LEAVES_AFTER_FINGERPRINTS = 64 + '","leaves":"'.length;

/**
 * A chunk line with its `\n`, in its one canonical form: numbers without leading zeros (`bytes` of
 * at most 16 digits, `records` of at most 4), lowercase hex. Sticky: it matches at `lastIndex` or
 * not at all. A regular expression rather than a loop over the bytes: V8 compiles it to machine code
 * at once, where a byte loop runs interpreted for much of a command that reads one summary (in one
 * cold process: 13–15 ms a 2.9 MB summary against 20–22 ms, plus 7 ms for the keys; see
 * docs/PERFORMANCE.md, twelfth session).
 */
const CHUNK_LINE = /\{"bytes":([1-9][0-9]{0,15}),"fingerprints":"[0-9a-f]{64}","leaves":"[0-9a-f]{64}","records":([1-9][0-9]{0,3})\}\n/y;

/** The shortest chunk line with its `\n`: one-digit numbers. */
const MIN_CHUNK_LINE = LIT_BYTES.length + 1 + FINGERPRINTS_AFTER_BYTES + LEAVES_AFTER_FINGERPRINTS + 64 + '","records":'.length + 1 + '}'.length + 1;

function malformed(name: string, why: string): SnapError {
  return new SnapError('RECORDS_INDEX_MALFORMED', `the index summary of ${name} is malformed: ${why}`, { path: name });
}

/**
 * Parse a summary's bytes (already checked against the signed digest).
 * @param o.count the index's signed record count
 * @returns the chunks and conflict groups, and `bytes`, the size the chunks give the index (the
 *   caller compares it with the index object's: another size means another index)
 * @throws SnapError `RECORDS_INDEX_MALFORMED`: a line not in the form above or over
 *   {@link MAX_SUMMARY_LINE_BYTES}, a chunk line after a conflict line, chunks that do not add up
 *   to the signed count, conflict groups not in feature-hash order
 */
export function parseIndexSummary(bytes: Uint8Array, o: { name: string; count: number }): IndexSummary {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const most = Math.floor(b.length / MIN_CHUNK_LINE);
  const sizes = new Float64Array(most);
  const counts = new Uint16Array(most);
  const fpAt = new Uint32Array(most);
  const leavesAt = new Uint32Array(most);
  const keys = new Int32Array(most);
  let nChunks = 0;
  const conflicts: Omit<ConflictGroup, 'side'>[] = [];
  if (b.length > 0 && b[b.length - 1] !== 0x0a) throw malformed(o.name, 'it does not end with a line feed');
  // One byte a character: offsets into the text are offsets into the bytes.
  const text = b.toString('latin1');
  const chunkLine = new RegExp(CHUNK_LINE);
  let sumBytes = 0;
  let sumRecords = 0;
  let at = 0;
  let n = 0;
  while (at < b.length) {
    const lineStart = at;
    n++;
    if (conflicts.length === 0 && hasAt(b, lineStart, LIT_BYTES)) {
      chunkLine.lastIndex = lineStart;
      const m = chunkLine.exec(text);
      if (m === null) throw malformed(o.name, `line ${n} is not a chunk line {"bytes","fingerprints","leaves","records"} in canonical form`);
      const size = Number(m[1]);
      const records = Number(m[2]);
      // A chunk ends at the line that takes it to MAX_CHUNK_BYTES, so it holds at most one line more.
      if (!Number.isSafeInteger(size) || size >= MAX_CHUNK_BYTES + MAX_INDEX_LINE_BYTES || records > MAX_CHUNK_RECORDS) throw malformed(o.name, `line ${n} is not a chunk line {"bytes","fingerprints","leaves","records"} within its bounds`);
      const f0 = lineStart + LIT_BYTES.length + (m[1] as string).length + FINGERPRINTS_AFTER_BYTES;
      sizes[nChunks] = size;
      counts[nChunks] = records;
      fpAt[nChunks] = f0;
      leavesAt[nChunks] = f0 + LEAVES_AFTER_FINGERPRINTS;
      keys[nChunks] = parseInt(text.slice(f0, f0 + KEY_HEX_DIGITS), 16);
      nChunks++;
      sumBytes += size;
      sumRecords += records;
      at = chunkLine.lastIndex;
      continue;
    }
    const end = b.indexOf(0x0a, at);
    at = end + 1;
    if (end - lineStart + 1 > MAX_SUMMARY_LINE_BYTES) throw malformed(o.name, `line ${n} is longer than ${MAX_SUMMARY_LINE_BYTES} bytes`);
    const line = b.toString('utf8', lineStart, end);
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw malformed(o.name, `line ${n} is not JSON`);
    }
    if (v && typeof v === 'object' && !Array.isArray(v) && 'conflict' in v) {
      const g = (v as { conflict: unknown }).conflict as Omit<ConflictGroup, 'side'>;
      if (!g || typeof g !== 'object' || typeof g.features !== 'string' || !HEX64.test(g.features) || !g.labels || typeof g.labels !== 'object' || !Array.isArray(g.records)) throw malformed(o.name, `line ${n} is not a conflict group`);
      const labels = Object.entries(g.labels);
      if (labels.length < 2 || labels.length > MAX_LABELS || labels.some(([, c]) => !Number.isSafeInteger(c) || (c as number) < 1)) throw malformed(o.name, `line ${n}: a conflict group has two to ${MAX_LABELS} labels, each counted from 1`);
      const recordOk = (r: unknown) => !!r && typeof r === 'object' && Object.keys(r).sort().join() === 'key,label,row' && typeof (r as { label: unknown }).label === 'string' && Number.isSafeInteger((r as { row: unknown }).row) && ((r as { row: number }).row) >= 1;
      if (g.records.length < 2 || g.records.length > MAX_LISTED_CONFLICT_RECORDS || !g.records.every(recordOk)) throw malformed(o.name, `line ${n}: a conflict group lists 2 to ${MAX_LISTED_CONFLICT_RECORDS} records, each {key, label, row}`);
      if (summaryConflictLine(g) !== line) throw malformed(o.name, `line ${n} is not in canonical form (RFC 8785) with exactly the members features, labels and records`);
      const prev = conflicts[conflicts.length - 1];
      if (prev && prev.features >= g.features) throw malformed(o.name, `line ${n}: conflict groups are not in feature-hash order`);
      const byLabel = newLabelCounts();
      for (const [l, c] of labels) byLabel[l] = c as number;
      conflicts.push({ features: g.features, labels: byLabel, records: g.records.map((r) => ({ key: r.key, row: r.row, label: r.label })) });
      continue;
    }
    throw malformed(o.name, conflicts.length > 0 && hasAt(b, lineStart, LIT_BYTES) ? `line ${n}: a chunk line after the conflict groups` : `line ${n} is neither a chunk line nor a conflict group`);
  }
  if (sumRecords !== o.count) throw malformed(o.name, `its chunks hold ${sumRecords} records, the statement signed ${o.count}`);
  return { chunks: new ChunkTable(b, sizes, counts, fpAt, leavesAt, keys, nChunks), conflicts, bytes: sumBytes };
}
