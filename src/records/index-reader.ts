/**
 * A record index read line by line as bytes (docs/FORMAT.md §19.5), for the record diff's hot
 * loop: most records of two versions are unchanged, and an unchanged record's lines are equal byte
 * for byte up to their `row` member, so they are compared without being decoded. Each line is still
 * checked (structure, order, UTF-8), its label counted, duplicates of its identity found and its
 * feature-hash prefix noted for conflicting labels (see `conflicts.ts`); the SHA-256 of all bytes and
 * the line count are compared with the signed ones at the end. Reads synchronously, in 256 KiB blocks.
 *
 * In a run of unchanged records the two readers step in lockstep ({@link IndexReader.nextLike}): B's
 * line is compared once with A's, as bytes, and only its row is read — the rest was checked on A's
 * identical bytes. B's conflict tags are derived from A's ({@link IndexReader.tagAgainst}): only A's
 * are sorted.
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { SnapError } from '../core/errors.js';
import { MAX_INDEX_LINE_BYTES, MAX_LABELS } from '../core/records.js';
import { ioError } from '../io/errors.js';
import { openRegularFileSync } from '../io/small-file.js';
import { parseIndexLine, type IndexEntry } from './index-line.js';
import { indexAltered, type IndexExpectation } from './read-index.js';
import type { DuplicateGroup } from './record-diff.js';
import { MAX_LISTED_ROWS } from './record-diff.js';
import { newLabelCounts } from './stats.js';
import { InlineHasher, type BlockHasher } from './index-hasher.js';
import { sortTags } from './sort-tags.js';

/** Read block: 256 KiB (two readers' blocks stay in a 512 KiB L2 cache between hashing and scanning; 5–10 % less CPU than 1 MiB). */
const BLOCK = 1 << 18;
const HEAD = Buffer.from('{"features":"');
const MID = Buffer.from('","fingerprint":"');
const KEY = Buffer.from('","key":');
const LABEL = Buffer.from(',"label":');
const ROW = Buffer.from(',"row":');
/** Bytes before the key: `{"features":"<64>","fingerprint":"<64>` then `","key":`. */
const KEY_AT = 158 + KEY.length;
/**
 * The shortest index line (§19.5), without its `\n`: `{"features":"<64>","fingerprint":"<64>"`
 * then `,"row":N}` with a one-digit row — a set with neither a key nor a label (168 bytes).
 */
const MIN_LINE = 159 + ROW.length + 2;
const LABEL_SLOTS = 4096; // 2^12 ≥ MAX_LABELS: a label number fits in 12 bits (see conflicts.ts)

/** Whether `b` holds the bytes of `pat` at `at` (a JS loop: cheaper than a native call for a few bytes). */
function bytesAt(b: Buffer, at: number, pat: Buffer): boolean {
  for (let i = 0; i < pat.length; i++) if (b[at + i] !== pat[i]) return false;
  return true;
}

/** Compare b[p0, p1) with b[q0, q1) bytewise (the identity order). */
function compareRanges(b: Buffer, p0: number, p1: number, q0: number, q1: number): number {
  const n = Math.min(p1 - p0, q1 - q0);
  for (let i = 0; i < n; i++) {
    const d = (b[p0 + i] as number) - (b[q0 + i] as number);
    if (d !== 0) return d;
  }
  return p1 - p0 - (q1 - q0);
}

function bad(x: IndexExpectation, path: string | undefined, line: number, why: string): SnapError {
  return new SnapError('RECORDS_INDEX_MALFORMED', `record index of ${x.name} (${path}): line ${line}: ${why}`, { path, line });
}

/** Tags a list holds before it first grows (8 KiB). */
const TAGS_START = 1 << 10;
/** At most this many tags (128 MiB) are allocated up front from a signed record count; a longer list still grows. */
export const MAX_PREALLOCATED_TAGS = 1 << 24;
/** The shortest index line with its '\n' (see `scan`): a file of S bytes has at most S / 171 lines. */
export const MIN_LINE_BYTES = 171;

/**
 * A growing list of conflict tags (doubles), sorted in place once. It starts small and, when it first
 * fills, grows straight to the expected length (when known), so a list of the expected length is
 * copied once (8 KiB), instead of doubling (twice the memory written, and fresh pages cost much more
 * than the copy: about 17 µs each on this project's benchmark machine).
 */
class Tags {
  private v = new Float64Array(TAGS_START);
  private n = 0;
  private done = false;
  /** @param expected how many tags to make room for when the list first fills (a bound the caller has capped); 0: double */
  constructor(private readonly expected = 0) {}
  push(x: number): void {
    if (this.n === this.v.length) this.grow();
    this.v[this.n++] = x;
  }
  /** Out of line: keeps `push` small enough to be inlined into the scan. */
  private grow(): void {
    const bigger = new Float64Array(Math.max(this.v.length * 2, this.expected));
    bigger.set(this.v);
    this.v = bigger;
  }
  /** The tags, sorted ascending (sorts them in place the first time). */
  sorted(): Float64Array {
    const v = this.v.subarray(0, this.n);
    if (!this.done) {
      sortTags(v);
      this.done = true;
    }
    return v;
  }
}

/** The first index of sorted `v` holding a value ≥ `x`. */
function lowerBound(v: Float64Array, x: number): number {
  let lo = 0;
  let hi = v.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((v[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One side of a record diff, read from an index file. */
export class IndexReader {
  private fd: number;
  private buf: Buffer = Buffer.allocUnsafe(BLOCK);
  private len = 0;
  private eof = false;
  /** Current line: [start, end) in `buf` (end at its '\n'), its row member's place, label and identity ranges. */
  start = 0;
  end = 0;
  rowAt = 0;
  row = 0;
  private idStart = 0;
  private idEnd = 0;
  private labelId = -1;
  /** The current label's JSON string text: [labelFrom, labelTo) (labelled sets). */
  private labelFrom = 0;
  private labelTo = 0;
  /** The current line's 40-bit feature-hash prefix (labelled sets). */
  private prefix = 0;
  /** How the current line compared with the previous one: same identity; same identity and fingerprint; same run. */
  private sameId = false;
  private sameFp = false;
  private sameRun = false;
  /** For {@link nextLike}: the partner reader's label numbers → this reader's (-1: not seen yet). */
  private readonly partnerLabels = new Int32Array(LABEL_SLOTS).fill(-1);
  /** Whether there is a current line. */
  has = false;
  /** Lines read so far (the current one included). */
  lines = 0;
  /** Label counts. */
  readonly labels = newLabelCounts();
  private readonly labelIds = new Map<string, number>();
  private readonly labelNames: string[] = [];
  private labelCounts = new Float64Array(LABEL_SLOTS);
  /**
   * Conflict tags, feature-hash prefix (40 bits) × 4096 + label number: `tap` holds one for every line
   * scanned (none once {@link tagAgainst} was called), `differing` one for each line the diff marked
   * with {@link markDiffering}.
   */
  private tap: Tags;
  private tapAll = true;
  private readonly differing = new Tags();
  private partner: IndexReader | undefined;
  /** The previous line (kept in `buf`): its start, identity range and row (for the order and duplicates). */
  private prevStart = -1;
  private prevIdStart = 0;
  private prevIdEnd = 0;
  private prevRow = 0;
  private runCount = 0;
  private readonly runRows = new Float64Array(MAX_LISTED_ROWS);
  private runLabel: string | undefined;
  /** Identity `path`: the current run's rows by label number (its key repeats under each label folder; a duplicate is one label twice). */
  private readonly runByLabel = new Map<number, number[]>();
  private runLabelRepeated = false;
  private runFirstLabel = -1;
  private runFirstRow = 0;
  /** Duplicate groups found (identity used more than once; for `features`: a record repeated; for `path`: a key under one label twice). */
  readonly duplicates: DuplicateGroup[] = [];
  private readonly hasKey: boolean;

  /**
   * @param path the index file; undefined: an empty index (a record file absent from this side)
   * @param hasher where the bytes read are hashed (default: on this thread)
   * @throws SnapError `NOT_FOUND` | `IO_ERROR` | `RECORDS_INDEX_MALFORMED` (its first line)
   */
  constructor(
    readonly path: string | undefined,
    private readonly x: IndexExpectation,
    private readonly side: 'a' | 'b',
    private readonly hasher: BlockHasher = new InlineHasher(),
  ) {
    this.hasKey = x.identity === 'key' || x.identity === 'path';
    if (path === undefined) {
      this.fd = -1;
      this.eof = true;
    } else {
      // Non-blocking and regular files only: a FIFO planted in the store must not hang the diff.
      this.fd = openRegularFileSync(path, 'cannot read the record index', (shown) => new SnapError('OBJECT_CORRUPT', `the record index of ${x.name} (${shown}) is not a regular file: it was altered`, { path, expected: x.sha256 }));
    }
    this.tap = new Tags(this.expectedLines());
    this.next();
  }

  /**
   * How many tags to make room for: the signed record count of a labelled index, but no more than
   * its file can hold (a count that is wrong, or altered in an unsigned expectation, costs no more
   * than a true one) nor {@link MAX_PREALLOCATED_TAGS}; 0 when not known (the list then doubles).
   */
  private expectedLines(): number {
    const count = this.x.count;
    if (!this.x.labelled || count === undefined || !Number.isSafeInteger(count) || count <= 0 || this.fd < 0) return 0;
    let size = 0;
    try {
      size = fstatSync(this.fd).size;
    } catch {
      return 0; // reading says what is wrong
    }
    return Math.min(count, Math.floor(size / MIN_LINE_BYTES), MAX_PREALLOCATED_TAGS);
  }

  /** Make the bytes from `start` to the next '\n' available; false at the end. */
  private lineEnd(): number {
    for (;;) {
      const nl = this.buf.indexOf(0x0a, this.start);
      if (nl >= 0 && nl < this.len) return nl;
      if (this.eof) {
        if (this.start < this.len) throw bad(this.x, this.path, this.lines + 1, 'the last line does not end with a newline');
        return -1;
      }
      // No valid line is longer (core/records.ts): without this bound, one planted line of gigabytes would be buffered whole.
      if (this.len - this.start >= MAX_INDEX_LINE_BYTES) throw bad(this.x, this.path, this.lines + 1, `a line is longer than ${MAX_INDEX_LINE_BYTES} bytes`);
      // Keep the previous line and the partial one, read the next block after them.
      const from = this.prevStart >= 0 ? this.prevStart : this.start;
      const keep = this.len - from;
      const next = this.hasher.bufferFor(this.buf, keep + BLOCK);
      this.buf.copy(next, 0, from, this.len);
      this.buf = next;
      this.len = keep;
      this.start -= from;
      if (this.prevStart >= 0) {
        this.prevStart -= from;
        this.prevIdStart -= from;
        this.prevIdEnd -= from;
      }
      let got: number;
      try {
        got = readSync(this.fd, this.buf, this.len, this.buf.length - this.len, null);
      } catch (e) {
        throw ioError(e, this.path ?? '', 'cannot read the record index');
      }
      if (got === 0) this.eof = true;
      else {
        const fresh = this.buf.subarray(this.len, this.len + got);
        this.hasher.update(this.buf, this.len, this.len + got);
        // Check UTF-8 up to the last complete line of what is buffered (a '\n' never falls inside a sequence).
        const lastNl = fresh.lastIndexOf(0x0a);
        if (lastNl >= 0 && !isUtf8(this.buf.subarray(this.start, this.len + lastNl))) {
          // A line before this block's last '\n' is not UTF-8 (checked again, harmlessly, with the next block).
          throw bad(this.x, this.path, this.lines + 1, 'not valid UTF-8');
        }
        this.len += got;
      }
    }
  }

  /** Step to the next line (the first, from the constructor). */
  next(): void {
    if (this.has) {
      this.prevStart = this.start;
      this.prevIdStart = this.idStart;
      this.prevIdEnd = this.idEnd;
      this.start = this.end + 1;
    }
    const nl = this.lineEnd();
    if (nl < 0) {
      this.has = false;
      this.flushRun();
      return;
    }
    this.has = true;
    this.end = nl;
    this.lines++;
    this.scan();
  }

  /** An error about the current line. */
  private readonly fail = (why: string): SnapError => bad(this.x, this.path, this.lines, why);

  /** Labels seen, as UTF-8 bytes of their JSON text (without quotes), for matching without decoding. */
  private readonly labelBytes: Buffer[] = [];

  /**
   * The number of the label whose JSON string text is buf[from, to): matched as bytes against the
   * labels seen (a handful, usually), decoded only when new or past 16 labels.
   */
  private labelOf(from: number, to: number, fail: (why: string) => SnapError): number {
    const b = this.buf;
    const n = to - from;
    if (this.labelBytes.length <= 16) {
      for (let i = 0; i < this.labelBytes.length; i++) {
        const l = this.labelBytes[i] as Buffer;
        if (l.length !== n) continue;
        let k = 0;
        while (k < n && l[k] === b[from + k]) k++;
        if (k === n) return i;
      }
    }
    let label = b.toString('utf8', from, to);
    if (label.indexOf('\\') >= 0 || label.indexOf('"') >= 0) {
      let v: unknown;
      try {
        v = JSON.parse(`"${label}"`);
      } catch {
        throw fail('label is not a JSON string');
      }
      if (typeof v !== 'string') throw fail('label is not a JSON string');
      label = v;
    }
    let id = this.labelIds.get(label);
    if (id === undefined) {
      id = this.labelNames.length;
      if (id >= MAX_LABELS) throw fail(`more than ${MAX_LABELS} labels`);
      this.labelIds.set(label, id);
      this.labelNames.push(label);
      this.labelBytes.push(Buffer.from(b.subarray(from, to)));
    }
    return id;
  }

  /** Check the current line's structure and take what the diff needs from it. */
  private scan(): void {
    const b = this.buf;
    const s = this.start;
    const e = this.end;
    const fail = this.fail;
    if (e - s < MIN_LINE || !bytesAt(b, s, HEAD) || !bytesAt(b, s + 77, MID) || b[s + 158] !== 0x22 || b[e - 1] !== 0x7d) throw fail('not an index line');
    // The row member is last: digits back from the closing brace, then `,"row":`.
    let d0 = e - 1;
    while (d0 > s && (b[d0 - 1] as number) >= 0x30 && (b[d0 - 1] as number) <= 0x39) d0--;
    const rowAt = d0 - ROW.length;
    if (rowAt < s + 159 || !bytesAt(b, rowAt, ROW)) throw fail('no row');
    if (d0 >= e - 1 || b[d0] === 0x30 || e - 1 - d0 > 16) throw fail('row must be a whole number from 1');
    let row = 0;
    for (let i = d0; i < e - 1; i++) row = row * 10 + ((b[i] as number) - 0x30);
    if (!Number.isSafeInteger(row)) throw fail('row too large');
    this.rowAt = rowAt;
    this.row = row;
    let end = rowAt;
    if (this.x.labelled) {
      // The label string ends just before the row member; its opening quote is the first '"' (going
      // back) that follows a ':' — inside a JSON string a '"' follows a '\\'.
      if (b[rowAt - 1] !== 0x22) throw fail('no label');
      let q = rowAt - 2;
      while (q > s + 159 && !(b[q] === 0x22 && b[q - 1] === 0x3a)) q--;
      const at = q - LABEL.length;
      if (at < s + 159 || !bytesAt(b, at, LABEL)) throw fail('no label');
      const id = this.labelOf(q + 1, rowAt - 1, fail);
      this.labelId = id;
      this.labelFrom = q + 1;
      this.labelTo = rowAt - 1;
      (this.labelCounts[id] as number)++;
      end = at;
      // Conflicts: 40-bit feature-hash prefix (10 hex digits) and the label number.
      let prefix = 0;
      for (let i = s + 13; i < s + 23; i++) {
        const c = b[i] as number;
        prefix = prefix * 16 + (c <= 0x39 ? c - 0x30 : c - 0x57);
      }
      this.prefix = prefix;
      this.pushTap(prefix * LABEL_SLOTS + id);
    }
    if (this.hasKey) {
      if (!bytesAt(b, s + 158, KEY) || b[s + KEY_AT] !== 0x5b || b[end - 1] !== 0x5d || end - 1 <= s + KEY_AT) throw fail('no key');
      this.idStart = s + KEY_AT;
      this.idEnd = end;
    } else {
      if (end !== s + 159) throw fail('unexpected member');
      this.idStart = s + 13;
      this.idEnd = s + 77;
    }
    this.order(row);
  }

  /** The order (identity, fingerprint, row strictly ascending), and runs of one identity (duplicates). */
  private order(row: number): void {
    const b = this.buf;
    const s = this.start;
    const first = this.prevStart < 0;
    let c = first ? 1 : this.x.identity === 'position' ? row - this.prevRow : compareRanges(b, this.idStart, this.idEnd, this.prevIdStart, this.prevIdEnd);
    const sameId = c === 0;
    if (c === 0) c = compareRanges(b, s + 94, s + 158, this.prevStart + 94, this.prevStart + 158);
    const sameFp = sameId && c === 0;
    if (c === 0) c = row - this.prevRow;
    if (c <= 0) throw bad(this.x, this.path, this.lines, 'lines out of index order');
    // A run: one identity (key, path) or one record (features: identity and fingerprint).
    const sameRun = !first && (this.x.identity === 'features' ? sameFp : this.x.identity === 'position' ? false : sameId);
    this.sameId = sameId;
    this.sameFp = sameFp;
    this.run(sameRun, row);
  }

  /** Count the current line (row `row`) in its run of one identity, after ending the previous run unless `sameRun`. */
  private run(sameRun: boolean, row: number): void {
    this.sameRun = sameRun;
    if (!sameRun) this.flushRun();
    this.runCount++;
    if (this.runCount <= MAX_LISTED_ROWS) this.runRows[this.runCount - 1] = row;
    if (this.x.labelled) this.runLabel = this.labelNames[this.labelId];
    // A run of one line (almost every run) costs no map: it is seeded when a second line joins it.
    if (this.x.identity === 'path' && sameRun) {
      if (this.runByLabel.size === 0) this.runByLabel.set(this.runFirstLabel, [this.runFirstRow]);
      const rows = this.runByLabel.get(this.labelId);
      if (rows) {
        this.runLabelRepeated = true;
        rows.push(row);
      } else this.runByLabel.set(this.labelId, [row]);
    } else if (this.x.identity === 'path') {
      this.runFirstLabel = this.labelId;
      this.runFirstRow = row;
    }
    this.prevRow = row;
  }

  private pushTap(v: number): void {
    if (this.tapAll) this.tap.push(v);
  }

  /**
   * Tag only the lines marked with {@link markDiffering}, and derive this side's conflict candidates
   * from `a`'s tags at {@link close} (one sort instead of two): every line of either side is either
   * marked, or was the same record as a line of the other side (same feature hash, same label).
   * Only for two labelled readers; call before the first {@link next} past the first line.
   */
  tagAgainst(a: IndexReader): void {
    if (!this.x.labelled || !a.x.labelled || this.lines > 1) return;
    this.partner = a;
    this.tapAll = false;
    this.tap = new Tags();
  }

  /** The diff did not pair the current line with a line of the other side that has the same bytes up to its row. */
  markDiffering(): void {
    if (this.x.labelled && this.has) this.differing.push(this.prefix * LABEL_SLOTS + this.labelId);
  }

  /**
   * Step to the next line when it is, up to its row member, the same record as `a`'s current line,
   * while this reader's current line was the same record as `a`'s previous one (a run of unchanged
   * records): then the line is not scanned again — its structure, label, identity and order follow
   * from `a`'s checks of the same bytes, and only its row is read. Otherwise (another record, a line
   * not wholly in the buffer, anything unusual) it is an ordinary {@link next}. A reader has one
   * partner `a` (label numbers are mapped between the two).
   * @returns true when the new current line is the same record as `a`'s current line; false: not known
   * @throws as {@link next}
   */
  nextLike(a: IndexReader): boolean {
    const b = this.buf;
    const s = this.end + 1;
    const n = a.rowAt - a.start;
    let p = s + n;
    // `,"row":` + at least one digit + `}` + `\n`, all buffered.
    if (!this.has || !a.has || a.x.identity !== this.x.identity || a.x.labelled !== this.x.labelled || p + ROW.length + 3 > this.len || b.compare(a.buf, a.start, a.rowAt, s, p) !== 0 || !bytesAt(b, p, ROW)) {
      this.next();
      return false;
    }
    p += ROW.length;
    const d0 = p;
    let row = 0;
    while (p < this.len && (b[p] as number) >= 0x30 && (b[p] as number) <= 0x39) {
      row = row * 10 + ((b[p] as number) - 0x30);
      p++;
    }
    // The row as `scan` wants it (1 to 16 digits, no leading zero, safe), in this reader's order; any doubt: `next`.
    if (p === d0 || b[d0] === 0x30 || p - d0 > 16 || !Number.isSafeInteger(row) || p + 1 >= this.len || b[p] !== 0x7d || b[p + 1] !== 0x0a || ((a.sameFp || this.x.identity === 'position') && row <= this.prevRow)) {
      this.next();
      return false;
    }
    this.prevStart = this.start;
    this.prevIdStart = this.idStart;
    this.prevIdEnd = this.idEnd;
    this.start = s;
    this.end = p + 1;
    this.lines++;
    this.rowAt = s + n;
    this.row = row;
    const off = s - a.start;
    this.idStart = a.idStart + off;
    this.idEnd = a.idEnd + off;
    if (this.x.labelled) {
      let id = this.partnerLabels[a.labelId] as number;
      if (id < 0) {
        id = this.labelOf(a.labelFrom + off, a.labelTo + off, this.fail);
        this.partnerLabels[a.labelId] = id;
      }
      this.labelId = id;
      this.labelFrom = a.labelFrom + off;
      this.labelTo = a.labelTo + off;
      (this.labelCounts[id] as number)++;
      this.prefix = a.prefix;
      if (this.tapAll) this.tap.push(a.prefix * LABEL_SLOTS + id);
    }
    this.sameId = a.sameId;
    this.sameFp = a.sameFp;
    this.run(a.sameRun, row);
    return true;
  }

  private flushRun(): void {
    if (this.x.identity === 'path') {
      if (this.runLabelRepeated) {
        const identity = this.buf.toString('utf8', this.prevIdStart, this.prevIdEnd);
        for (const [id, rows] of this.runByLabel) {
          if (rows.length > 1) this.duplicates.push({ side: this.side, identity, count: rows.length, rows: rows.slice(0, MAX_LISTED_ROWS).sort((p, q) => p - q), label: this.labelNames[id] as string });
        }
      }
      this.runByLabel.clear();
      this.runLabelRepeated = false;
      this.runCount = 0;
      return;
    }
    if (this.runCount > 1) {
      // The run's identity is the previous line's (still in the buffer).
      const identity = this.buf.toString(this.x.identity === 'features' ? 'latin1' : 'utf8', this.prevIdStart, this.prevIdEnd);
      this.duplicates.push({ side: this.side, identity, count: this.runCount, rows: Array.from(this.runRows.subarray(0, Math.min(this.runCount, MAX_LISTED_ROWS))).sort((p, q) => p - q), ...(this.x.identity === 'features' && this.runLabel !== undefined ? { label: this.runLabel } : {}) });
    }
    this.runCount = 0;
  }

  /** Whether the current lines of two readers are equal up to their row member (the same record). */
  sameRecord(o: IndexReader): boolean {
    const n = this.rowAt - this.start;
    return n === o.rowAt - o.start && this.buf.compare(o.buf, o.start, o.rowAt, this.start, this.rowAt) === 0;
  }

  /** Compare the current identities of two readers (both with a current line), in index order. */
  compareIdentity(o: IndexReader): number {
    if (this.x.identity === 'position') return this.row - o.row;
    return this.buf.compare(o.buf, o.idStart, o.idEnd, this.idStart, this.idEnd);
  }

  /** Compare the current identity with another reader's identity held in `id` bytes. */
  identityBytes(): Buffer {
    return Buffer.from(this.buf.subarray(this.idStart, this.idEnd));
  }

  /** Whether the current line has the identity `id` (bytes from {@link identityBytes}; for position: never). */
  hasIdentity(id: Buffer): boolean {
    if (this.x.identity === 'position') return false;
    return this.has && this.idEnd - this.idStart === id.length && this.buf.compare(id, 0, id.length, this.idStart, this.idEnd) === 0;
  }

  /** The current line as an entry (decoded; for the records that differ). */
  entry(): IndexEntry {
    const text = this.buf.toString('utf8', this.start, this.end);
    try {
      return parseIndexLine(text, this.x.identity, this.x.labelled, false);
    } catch (e) {
      throw bad(this.x, this.path, this.lines, (e as Error).message);
    }
  }

  /** The current label number (labelled sets). */
  get label(): number {
    return this.labelId;
  }

  /**
   * Finish: the digest and count checks; the label counts and conflict candidates: feature-hash
   * prefixes (10 hex digits) seen with more than one label. A reader that {@link tagAgainst} a partner
   * is closed after it (the partner's sorted tags are kept until then).
   * @throws SnapError `OBJECT_CORRUPT` | `RECORDS_INDEX_MALFORMED`
   */
  close(): { candidates: Set<string> } {
    this.abort();
    const digest = this.hasher.digest();
    if (this.x.sha256 !== undefined && digest !== this.x.sha256) {
      throw indexAltered(this.path as string, this.x);
    }
    if (this.x.count !== undefined && this.lines !== this.x.count) {
      throw new SnapError('RECORDS_INDEX_MALFORMED', `record index of ${this.x.name} (${this.path}) has ${this.lines} records where the statement says ${this.x.count}`, { path: this.path });
    }
    this.labelNames.forEach((l, i) => {
      this.labels[l] = this.labelCounts[i] as number;
    });
    const out = new Set<string>();
    const hex = (p: number) => p.toString(16).padStart(10, '0');
    if (this.partner === undefined) {
      const v = this.tap.sorted();
      for (let i = 1; i < v.length; i++) {
        const p = Math.floor((v[i] as number) / LABEL_SLOTS);
        if (p === Math.floor((v[i - 1] as number) / LABEL_SLOTS) && v[i] !== v[i - 1]) {
          out.add(hex(p));
          this.candidatePrefixes.push(p);
        }
      }
      return { candidates: out };
    }
    // This side's tags = the partner's − the partner's differing lines + this side's differing lines
    // (as multisets): a prefix with two labels here has two among the partner's lines that are not
    // differing (then it is a partner candidate) or is the prefix of one of this side's differing lines.
    const a = this.partner;
    const ta = a.tap.sorted();
    const da = a.differing.sorted();
    const db = this.differing.sorted();
    const names = (r: IndexReader, v: Float64Array, p: number, sign: number, into: Map<string, number>) => {
      for (let i = lowerBound(v, p * LABEL_SLOTS); i < v.length && Math.floor((v[i] as number) / LABEL_SLOTS) === p; i++) {
        const l = r.labelNames[(v[i] as number) - p * LABEL_SLOTS] as string;
        into.set(l, (into.get(l) ?? 0) + sign);
      }
    };
    const prefixes = new Set(a.candidatePrefixes);
    for (let i = 0; i < db.length; i++) prefixes.add(Math.floor((db[i] as number) / LABEL_SLOTS));
    for (const p of prefixes) {
      const n = new Map<string, number>();
      names(a, ta, p, 1, n);
      names(a, da, p, -1, n);
      names(this, db, p, 1, n);
      let labels = 0;
      for (const c of n.values()) if (c > 0) labels++;
      if (labels > 1) out.add(hex(p));
    }
    return { candidates: out };
  }

  /** Prefixes (numbers) of the candidates found by {@link close}, for a reader tagged against this one. */
  private readonly candidatePrefixes: number[] = [];

  /** Free the tags (after this reader and its partner were closed). */
  release(): void {
    this.tap = new Tags();
  }

  /** Close the file without the end checks (after an error). */
  abort(): void {
    if (this.fd < 0) return;
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
    this.fd = -1;
  }
}
