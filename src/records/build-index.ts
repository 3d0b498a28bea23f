/**
 * Builds a record index (docs/FORMAT.md §19.5) from records as a reader produces them, in bounded
 * memory whatever the number of records: an external sort.
 *
 * - Each record is hashed (fingerprint, feature hash) as it arrives; the two digests go into one
 *   packed buffer per run (never one Buffer per record: a million small Buffers cost gigabytes),
 *   keys into an array, labels as small integers, row and line numbers into typed arrays.
 * - A full run (at most {@link RUN_RECORDS} records or {@link RUN_KEY_CHARS} key characters) is
 *   sorted and written to a temporary file in a compact binary form.
 * - `finish` merges the runs (a binary heap over buffered run readers, the last run read from
 *   memory rather than spilled) — or, when everything fit in one run, takes it straight from
 *   memory — and writes the index lines, hashing them (SHA-256 of
 *   the bytes, RFC 9162 Merkle root of the lines) and counting labels as they go.
 */
import { closeSync, fsyncSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { SnapError, isSnapError } from '../core/errors.js';
import { MAX_INDEX_SUMMARY_BYTES, MAX_LABELS, type RecordIdentity } from '../core/records.js';
import { compareUtf8 } from '../core/paths.js';
import { toHex } from '../core/encoding.js';
import { LeafTree, sha256Latin1, writeDigest } from './leaf-tree.js';
import { ioError } from '../io/errors.js';
import { writeAllSync } from '../io/write-all.js';
import type { RecordForms } from './canonical.js';
import type { ColumnType } from './column-types.js';
import { ChunkCutter, MAX_SUMMARY_LINE_BYTES, summaryConflictLine } from './index-summary.js';
import { candidatePrefixes, conflictGroups, conflictTag } from './conflicts.js';

/** Records per sorted run. */
export const RUN_RECORDS = 1 << 19;
/** Records the run buffers first hold; they double, up to {@link RUN_RECORDS}, as records come (most record sets are small). */
const FIRST_RUN_CAPACITY = 1 << 12;
/** Key characters per sorted run (keys are held as strings while a run fills). */
export const RUN_KEY_CHARS = 48 << 20;
/** Bytes buffered per run while merging, and per write. */
const IO_BUFFER = 1 << 20;
/** Index lines buffered before a write. */
const OUT_BUFFER = 1 << 20;
/** Room kept past {@link OUT_BUFFER} for one more line: a line is at most {@link LINE_FIXED} bytes plus its key and label. */
const LINE_SLACK = 64 * 1024;
/** Longest key text, in UTF-16 code units, as the index builder bounds it (each at most 4 UTF-8 bytes). */
const MAX_KEY_TEXT = 4096;
/** The fixed parts of an index line (§19.5), as bytes, and an upper bound on their length with two digests and a row number. */
const PART_FEATURES = Buffer.from('{"features":"', 'latin1');
const PART_FINGERPRINT = Buffer.from('","fingerprint":"', 'latin1');
const PART_KEY = Buffer.from(',"key":', 'latin1');
const PART_LABEL = Buffer.from(',"label":', 'latin1');
const PART_ROW = Buffer.from(',"row":', 'latin1');
const LINE_FIXED = 256;
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
/** Decimal digits of a whole number from 1 (rows). */
function digitsOf(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/**
 * Write `src` into `dst` at `at`, byte by byte (the short constant parts of a line: a Buffer.copy
 * call costs more than their bytes); returns the end. Module functions taking the buffer and
 * position, not a closure over them: V8 keeps the position in a register.
 */
function putBytes(dst: Uint8Array, at: number, src: Uint8Array): number {
  for (let k = 0; k < src.length; k++) dst[at++] = src[k] as number;
  return at;
}

/** Write the 32 bytes of `src` at `from` into `dst` at `at` as 64 lowercase hex digits; returns the end. */
function putHex(dst: Uint8Array, at: number, src: Uint8Array, from: number): number {
  for (let i = from; i < from + 32; i++) {
    const b = src[i] as number;
    dst[at++] = HEX_DIGITS[b >> 4] as number;
    dst[at++] = HEX_DIGITS[b & 15] as number;
  }
  return at;
}

/** RFC 9162 leaf prefix (docs/FORMAT.md §2). */
const LEAF_PREFIX = 0x00;
/** An empty buffer (a cursor's key when records have no key). */
const EMPTY = Buffer.alloc(0);

/** What was built. */
export interface BuiltIndex {
  /** Records (index lines). */
  count: number;
  /** SHA-256 of the index bytes, hex. */
  sha256: string;
  /** RFC 9162 Merkle root over the lines, hex. */
  merkleRoot: string;
  /** Records per label (labelled sets only). */
  labels?: Record<string, number>;
  /** Index size in bytes. */
  bytes: number;
  /** Records that share their key with the record before them (only when duplicates are kept; never for identity `path`, whose key repeats under each label). */
  duplicates: number;
  /** The index summary (docs/FORMAT.md §19.10), written beside the index as `<outPath>.summary`, when asked for. */
  summary?: { path: string; sha256: string };
  /** Parquet, CSV, TSV: the file's columns in order with their types (`column-types.ts`, docs/FORMAT.md §19.11), as its reader saw them. */
  columnTypes?: ColumnType[];
  /** Parquet, CSV, TSV: its column-types object, written beside the index as `<outPath>.schema` when the summary was asked for (the seal). */
  schema?: { path: string; sha256: string };
}

/** Options of {@link IndexBuilder}. */
export interface IndexBuilderOptions {
  identity: RecordIdentity;
  labelled: boolean;
  /** A private folder for the sorted runs (removed by the caller). */
  tmpDir: string;
  /** The record set's name, for messages. */
  name: string;
  /** Refuse two records with the same key (`seal`); else keep them all (`diff`, `verify`). */
  strictKeys: boolean;
  /** Records per run (tests make it small to exercise the merge). */
  runRecords?: number;
  /** Also write the index summary (`index-summary.ts`); only with strict keys and identity `key` or `path`, ignored otherwise. */
  summary?: boolean;
}

/**
 * One record in the merge: where its bytes are. Views into its run's read buffer, valid until that
 * run's next record is read (which the merge does only after this one is written): no copy and no
 * object per record.
 */
interface Cursor {
  /** The buffer that holds the key's UTF-8 bytes at [ks, ke) (runs without keys: empty). */
  kb: Buffer;
  ks: number;
  ke: number;
  /** The buffer that holds fingerprint ‖ feature hash (64 bytes) at dOff. */
  db: Buffer;
  dOff: number;
  label: number;
  row: number;
  line: number;
}

/** Reads one spilled run back, record by record. */
class RunReader {
  private fd: number;
  private buf = Buffer.allocUnsafe(IO_BUFFER);
  private len = 0;
  private pos = 0;
  private eof = false;
  /** The current record; meaningful only while {@link done} is false. */
  readonly cur: Cursor = { kb: EMPTY, ks: 0, ke: 0, db: EMPTY, dOff: 0, label: 0, row: 0, line: 0 };
  /** Past the last record. */
  done = false;

  constructor(readonly path: string, private readonly hasKey: boolean) {
    this.fd = openSync(path, 'r');
  }

  /** Make at least `n` bytes available at `pos`; false at the end of the file. */
  private fill(n: number): boolean {
    if (this.len - this.pos >= n) return true;
    if (this.eof) return false;
    if (n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
      this.buf.copy(bigger, 0, this.pos, this.len);
      this.buf = bigger;
    } else this.buf.copy(this.buf, 0, this.pos, this.len);
    this.len -= this.pos;
    this.pos = 0;
    while (this.len < n && !this.eof) {
      const got = readSync(this.fd, this.buf, this.len, this.buf.length - this.len, null);
      if (got === 0) this.eof = true;
      this.len += got;
    }
    return this.len - this.pos >= n;
  }

  /**
   * Advance to the next record (`done` at the end). The buffer may be refilled (moved) here: the
   * last record's views are no longer valid after this call.
   */
  next(): void {
    if (!this.fill(4)) {
      this.done = true;
      return;
    }
    const klen = this.buf.readUInt32LE(this.pos);
    const size = 4 + klen + 64 + 2 + 16;
    if (!this.fill(size)) throw new SnapError('INTERNAL', `${this.path}: a sorted run ends inside a record`);
    const b = this.buf;
    const c = this.cur;
    let p = this.pos + 4;
    c.kb = b;
    c.ks = p;
    c.ke = this.hasKey ? p + klen : p;
    p += klen;
    c.db = b;
    c.dOff = p;
    p += 64;
    c.label = b.readUInt16LE(p);
    c.row = b.readDoubleLE(p + 2);
    c.line = b.readDoubleLE(p + 10);
    this.pos += size;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * The last run, still in memory when the index is finished, read in its sorted order as {@link RunReader}
 * reads a spilled one: the merge takes it from memory instead of writing it to a file and reading it
 * back. Each key is encoded (UTF-8, as a spilled run holds it) into one reused buffer.
 */
class MemoryRun {
  readonly cur: Cursor = { kb: EMPTY, ks: 0, ke: 0, db: EMPTY, dOff: 0, label: 0, row: 0, line: 0 };
  done = false;
  private j = 0;
  private keyBuf = Buffer.allocUnsafe(3 * MAX_KEY_TEXT);

  constructor(
    private readonly order: Uint32Array,
    private readonly keys: readonly string[] | undefined,
    private readonly digests: Buffer,
    private readonly labels: Uint16Array,
    private readonly rows: Float64Array,
    private readonly lines: Float64Array,
  ) {}

  /** Advance to the next record (`done` at the end); the last record's key view is overwritten. */
  next(): void {
    if (this.j >= this.order.length) {
      this.done = true;
      return;
    }
    const i = this.order[this.j++] as number;
    const c = this.cur;
    if (this.keys) {
      const k = this.keys[i] as string;
      // A UTF-16 code unit is at most 3 UTF-8 bytes: room for the whole key.
      if (3 * k.length > this.keyBuf.length) this.keyBuf = Buffer.allocUnsafe(3 * k.length);
      c.kb = this.keyBuf;
      c.ke = this.keyBuf.write(k, 0, 'utf8');
    }
    c.db = this.digests;
    c.dOff = 64 * i;
    c.label = this.labels[i] as number;
    c.row = this.rows[i] as number;
    c.line = this.lines[i] as number;
  }

  close(): void {}
}

/** A run the merge reads: spilled to a file, or the last one, in memory. */
type RunSource = RunReader | MemoryRun;

/**
 * An index under construction. `add` each record (synchronously), then `finish` once.
 */
export class IndexBuilder {
  private readonly hasKey: boolean;
  private readonly runMax: number;
  private keys: string[] = [];
  private keyChars = 0;
  private digests: Buffer;
  private labels: Uint16Array;
  private rows: Float64Array;
  private lines: Float64Array;
  private n = 0;
  private readonly runs: string[] = [];
  private readonly labelIds = new Map<string, number>();
  private readonly labelNames: string[] = [];
  private total = 0;

  constructor(private readonly opts: IndexBuilderOptions) {
    this.hasKey = opts.identity === 'key' || opts.identity === 'path';
    this.runMax = opts.runRecords ?? RUN_RECORDS;
    const capacity = Math.min(this.runMax, FIRST_RUN_CAPACITY);
    this.digests = Buffer.allocUnsafe(64 * capacity);
    this.labels = new Uint16Array(capacity);
    this.rows = new Float64Array(capacity);
    this.lines = new Float64Array(capacity);
  }

  /** Double the run buffers (at most to the run's size), keeping the records they hold. */
  private grow(): void {
    const capacity = Math.min(this.runMax, this.rows.length * 2);
    const digests = Buffer.allocUnsafe(64 * capacity);
    this.digests.copy(digests, 0, 0, 64 * this.n);
    this.digests = digests;
    const labels = new Uint16Array(capacity);
    labels.set(this.labels.subarray(0, this.n));
    this.labels = labels;
    const rows = new Float64Array(capacity);
    rows.set(this.rows.subarray(0, this.n));
    this.rows = rows;
    const lines = new Float64Array(capacity);
    lines.set(this.lines.subarray(0, this.n));
    this.lines = lines;
  }

  /** Number of records added so far. */
  get count(): number {
    return this.total;
  }

  /**
   * Add one record.
   * @throws SnapError `RECORDS_LIMIT` (more than {@link MAX_LABELS} labels) | `IO_ERROR` (spilling a run)
   */
  add(forms: RecordForms, row: number, line: number): void {
    if (this.n >= this.rows.length) this.grow();
    const i = this.n;
    const off = 64 * i;
    // Digests as latin1 strings written into the packed buffer: a Buffer per digest costs more than the hash (leaf-tree.ts).
    writeDigest(this.digests, sha256Latin1(forms.canonical), off);
    writeDigest(this.digests, sha256Latin1(forms.features), off + 32);
    if (this.hasKey) {
      const k = forms.key as string;
      this.keys.push(k);
      this.keyChars += k.length;
    }
    if (this.opts.labelled) {
      const l = forms.label as string;
      let id = this.labelIds.get(l);
      if (id === undefined) {
        if (this.labelNames.length >= MAX_LABELS) throw new SnapError('RECORDS_LIMIT', `${this.opts.name}: more than ${MAX_LABELS} distinct labels (is the label field a label?)`, { path: this.opts.name });
        id = this.labelNames.length;
        this.labelIds.set(l, id);
        this.labelNames.push(l);
      }
      this.labels[i] = id;
    }
    this.rows[i] = row;
    this.lines[i] = line;
    this.n++;
    this.total++;
    if (this.n >= this.runMax || this.keyChars >= RUN_KEY_CHARS) this.spill();
  }

  /** The order of the current run's records: by key, then fingerprint, then row. */
  private sortedRun(): Uint32Array {
    const idx = new Uint32Array(this.n);
    for (let i = 0; i < this.n; i++) idx[i] = i;
    if (this.opts.identity === 'position') return idx; // records arrive in row order
    const d = this.digests;
    const keys = this.keys;
    const rows = this.rows;
    const byFeatures = this.opts.identity === 'features';
    const cmp = (a: number, b: number): number => {
      let c = byFeatures ? d.compare(d, 64 * b + 32, 64 * b + 64, 64 * a + 32, 64 * a + 64) : compareUtf8(keys[a] as string, keys[b] as string);
      if (c !== 0) return c;
      c = d.compare(d, 64 * b, 64 * b + 32, 64 * a, 64 * a + 32);
      if (c !== 0) return c;
      return (rows[a] as number) - (rows[b] as number);
    };
    return idx.sort(cmp);
  }

  /** Sort the current run and write it to a temporary file. */
  private spill(): void {
    if (this.n === 0) return;
    const order = this.sortedRun();
    const path = join(this.opts.tmpDir, `run-${this.runs.length}`);
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (e) {
      throw ioError(e, path, 'cannot write a sorted run');
    }
    try {
      const out = Buffer.allocUnsafe(IO_BUFFER);
      let len = 0;
      const flush = () => {
        let off = 0;
        while (off < len) off += writeSync(fd, out, off, len - off);
        len = 0;
      };
      for (let j = 0; j < order.length; j++) {
        const i = order[j] as number;
        const key = this.hasKey ? (this.keys[i] as string) : undefined;
        // At most: a UTF-16 unit of the key is at most 3 UTF-8 bytes.
        const most = 4 + (key === undefined ? 0 : 3 * key.length) + 64 + 2 + 16;
        if (len + most > out.length) flush();
        if (most > out.length) {
          // A key longer than the buffer (keys are bounded to 4 KiB, so never): write it alone.
          const one = Buffer.allocUnsafe(most);
          const size = this.encode(one, 0, i, key);
          let off = 0;
          while (off < size) off += writeSync(fd, one, off, size - off);
          continue;
        }
        len = this.encode(out, len, i, key);
      }
      flush();
    } catch (e) {
      throw ioError(e, path, 'cannot write a sorted run');
    } finally {
      closeSync(fd);
    }
    this.runs.push(path);
    this.n = 0;
    this.keys = [];
    this.keyChars = 0;
  }

  /** Write record `i` of the run at `at` of `out` (which has room for it: see spill), its key's UTF-8 straight into it; returns the end. */
  private encode(out: Buffer, at: number, i: number, key: string | undefined): number {
    let p = at;
    const klen = key === undefined ? 0 : out.write(key, p + 4, 'utf8');
    out.writeUInt32LE(klen, p);
    p += 4 + klen;
    p += this.digests.copy(out, p, 64 * i, 64 * i + 64);
    out.writeUInt16LE(this.labels[i] as number, p);
    out.writeDoubleLE(this.rows[i] as number, p + 2);
    out.writeDoubleLE(this.lines[i] as number, p + 10);
    return p + 18;
  }

  /**
   * Merge the runs and write the index to `outPath` (a new file).
   * @throws SnapError `RECORDS_DUPLICATE_KEY` (strict keys: two records with one key, naming both
   *   rows) | `IO_ERROR`
   */
  async finish(outPath: string): Promise<BuiltIndex> {
    let out: number;
    try {
      out = openSync(outPath, 'wx', 0o600);
    } catch (e) {
      throw ioError(e, outPath, 'cannot write the record index');
    }
    const fileHash = createHash('sha256');
    const tree = new LeafTree();
    const counts = new Float64Array(this.labelNames.length + 1);
    // Lines are written as bytes straight into one output buffer (no per-line strings to join, flatten
    // and encode again): byte 0 is reserved, lines start at 1, so the byte before every line (0, or
    // the previous line's LF) can be set to the RFC 9162 leaf prefix 0x00 while the line is hashed.
    let buf = Buffer.allocUnsafe(OUT_BUFFER + LINE_SLACK);
    let pos = 1;
    let bytes = 0;
    let duplicates = 0;
    const identity = this.opts.identity;
    const labelled = this.opts.labelled;
    const labelBytes = this.labelNames.map((l) => Buffer.from(JSON.stringify(l), 'utf8'));
    // A key used twice is refused for identity `key` only: a `files` set's key is repeated by design
    // under each label folder that holds a file of that name (image_0001.jpg in every class of
    // Caltech-101, §19.4), and its key and label together are the file's path, unique in a manifest.
    const strictKeys = this.opts.strictKeys && identity === 'key';
    // The summary's chunks (§19.10), cut as the lines are written, from their fingerprints and leaf hashes.
    const summaryFile = this.opts.summary && this.opts.strictKeys && (identity === 'key' || identity === 'path') ? new SummaryFile(`${outPath}.summary`) : undefined;
    const cutter = summaryFile ? new ChunkCutter((line) => summaryFile.line(line)) : undefined;
    const tags = cutter && labelled ? new Float64Array(this.total) : undefined;
    let nTags = 0;
    // The previous record's identity, for duplicates (adjacent in index order): its key text, or its bytes.
    let prevKey: string | undefined;
    const prevBytes = Buffer.allocUnsafe(32 + 4 * MAX_KEY_TEXT);
    let prevLen = -1;
    let prevRow = 0;
    let prevLine = 0;
    const flush = () => {
      if (pos === 1) return;
      const data = buf.subarray(1, pos);
      bytes += data.length;
      fileHash.update(data);
      try {
        let off = 0;
        while (off < data.length) off += writeSync(out, data, off, data.length - off);
      } catch (e) {
        throw ioError(e, outPath, 'cannot write the record index');
      }
      pos = 1;
    };
    /**
     * Emit one record, in index order. Its key (identities key/path) is the key's RFC 8785 text:
     * `key` as a string, or else, when `kb` is given, its UTF-8 bytes at [ks, ke) of `kb`.
     */
    const emit = (key: string | undefined, kb: Buffer | undefined, ks: number, ke: number, digests: Buffer, dOff: number, label: number, row: number, line: number): void => {
      const keyBytes = kb !== undefined ? ke - ks : 0;
      // Room for the key: its bytes, or at most 3 UTF-8 bytes per UTF-16 unit of a key text.
      const most = LINE_FIXED + (key !== undefined ? 3 * key.length : keyBytes) + (labelled ? (labelBytes[label] as Buffer).length : 0);
      if (pos + most > buf.length) {
        flush();
        if (1 + most > buf.length) buf = Buffer.allocUnsafe(1 + most + OUT_BUFFER);
      }
      // The buffer and position in locals while the line is written (`pos` is shared with flush).
      const b = buf;
      const start = pos;
      let p = putBytes(b, start, PART_FEATURES);
      p = putHex(b, p, digests, dOff + 32);
      p = putBytes(b, p, PART_FINGERPRINT);
      p = putHex(b, p, digests, dOff);
      b[p++] = 0x22; // "
      if (key !== undefined) {
        p = putBytes(b, p, PART_KEY);
        p += b.write(key, p, 'utf8');
      } else if (kb !== undefined) {
        p = putBytes(b, p, PART_KEY);
        p += kb.copy(b, p, ks, ke);
      }
      if (labelled) {
        p = putBytes(b, p, PART_LABEL);
        p = putBytes(b, p, labelBytes[label] as Buffer);
        (counts[label] as number)++;
      }
      p = putBytes(b, p, PART_ROW);
      const rowDigits = digitsOf(row);
      for (let r = row, d = rowDigits; d > 0; d--) {
        b[p + d - 1] = 0x30 + (r % 10);
        r = Math.floor(r / 10);
      }
      p += rowDigits;
      b[p++] = 0x7d; // }
      const before = b[start - 1] as number;
      b[start - 1] = LEAF_PREFIX;
      // A plain Uint8Array view costs a third of Buffer#subarray (which builds a Buffer through the species constructor).
      const leaf = tree.appendPrefixed(new Uint8Array(b.buffer, b.byteOffset + start - 1, p - start + 1));
      b[start - 1] = before;
      b[p++] = 0x0a; // LF
      pos = p;
      if (cutter) {
        if (tags) tags[nTags++] = conflictTag(digests, dOff + 32, label);
        cutter.add(digests, dOff, leaf, pos - start);
      }
      // Duplicate keys are adjacent in index order.
      let same = false;
      if (identity === 'features') {
        same = prevLen === 32 && digests.compare(prevBytes, 0, 32, dOff + 32, dOff + 64) === 0;
        digests.copy(prevBytes, 0, dOff + 32, dOff + 64);
        prevLen = 32;
      } else if (key !== undefined) {
        same = key === prevKey;
        prevKey = key;
      } else if (kb !== undefined) {
        same = prevLen === keyBytes && kb.compare(prevBytes, 0, prevLen, ks, ke) === 0;
        if (keyBytes <= prevBytes.length) {
          kb.copy(prevBytes, 0, ks, ke);
          prevLen = keyBytes;
        } else prevLen = -1;
      }
      // Path identity: one key under several labels is several files, no duplicate (see strictKeys).
      if (same && identity !== 'path') {
        if (strictKeys) {
          const text = key !== undefined ? key : String(kb?.toString('utf8', ks, ke));
          throw new SnapError(
            'RECORDS_DUPLICATE_KEY',
            `${this.opts.name}: key ${text} is used by two records (record ${prevRow}${prevLine ? `, line ${prevLine}` : ''} and record ${row}${line ? `, line ${line}` : ''}); keys must be unique — declare more key fields, or fix the data`,
            { path: this.opts.name, key: text, rows: [prevRow, row], ...(line ? { lines: [prevLine, line] } : {}) },
          );
        }
        duplicates++;
      }
      prevRow = row;
      prevLine = line;
      if (pos >= OUT_BUFFER) flush();
    };

    try {
      summaryFile?.open();
      if (this.runs.length === 0) {
        const order = this.sortedRun();
        for (let j = 0; j < order.length; j++) {
          const i = order[j] as number;
          emit(this.hasKey ? (this.keys[i] as string) : undefined, undefined, 0, 0, this.digests, 64 * i, this.labels[i] as number, this.rows[i] as number, this.lines[i] as number);
        }
      } else this.merge(emit);
      cutter?.close();
      flush();
      fsyncSync(out);
    } catch (e) {
      summaryFile?.discard();
      throw e;
    } finally {
      closeSync(out);
    }
    // The run buffers are no longer needed.
    this.digests = Buffer.alloc(0);
    this.keys = [];
    let labels: Record<string, number> | undefined;
    if (this.opts.labelled) {
      labels = Object.create(null) as Record<string, number>;
      this.labelNames.forEach((l, i) => {
        if ((counts[i] as number) > 0) (labels as Record<string, number>)[l] = counts[i] as number;
      });
    }
    const digest = fileHash.digest('hex');
    const summary = summaryFile ? await this.finishSummary(outPath, summaryFile, tags?.subarray(0, nTags), digest) : undefined;
    return { count: this.total, sha256: digest, merkleRoot: toHex(tree.root()), ...(labels ? { labels } : {}), bytes, duplicates, ...(summary ? { summary } : {}) };
  }

  /**
   * Finish the summary of the index just written at `indexPath` (§19.10): its chunk lines are in
   * `file` already; add its conflict groups (found from the records' tags as `conflicts.ts` finds
   * them, reading the index again only when some feature-hash prefix has two labels). That read is
   * held to `sha256`, the digest of the bytes just written, and to their record count: an index
   * swapped in meanwhile (whoever can write the store's tmp/ can rename this seal's folder in it)
   * is OBJECT_CORRUPT, never the source of the conflict groups the summary signs.
   * @returns undefined (the file removed) when the summary would be larger than
   *   {@link MAX_INDEX_SUMMARY_BYTES} or have a line longer than {@link MAX_SUMMARY_LINE_BYTES}
   *   (readers refuse either; diff then reads the whole index)
   * @throws SnapError `IO_ERROR` | `OBJECT_CORRUPT` (the index is no longer the bytes written) |
   *   `RECORDS_INDEX_MALFORMED` (nor their record count)
   */
  private async finishSummary(indexPath: string, file: SummaryFile, tags: Float64Array | undefined, sha256: string): Promise<{ path: string; sha256: string } | undefined> {
    try {
      const candidates = tags ? candidatePrefixes(tags) : new Set<string>();
      const groups = candidates.size > 0 ? await conflictGroups(indexPath, { identity: this.opts.identity, labelled: this.opts.labelled, name: this.opts.name, sha256, count: this.total }, 'a', candidates) : [];
      // A conflict group of thousands of labels that RFC 8785 escapes (a control character is 6 bytes)
      // makes a line readers refuse: no summary then, as for one too large.
      for (const g of groups) file.line(summaryConflictLine(g));
      return file.finish();
    } catch (e) {
      file.discard();
      throw e;
    }
  }

  /** k-way merge of the spilled runs and the run still in memory, through a binary heap. */
  private merge(emit: (key: string | undefined, kb: Buffer | undefined, ks: number, ke: number, digests: Buffer, dOff: number, label: number, row: number, line: number) => void): void {
    const readers: (RunSource)[] = this.runs.map((p) => new RunReader(p, this.hasKey));
    if (this.n > 0) readers.push(new MemoryRun(this.sortedRun(), this.hasKey ? this.keys : undefined, this.digests, this.labels, this.rows, this.lines));
    try {
      const byFeatures = this.opts.identity === 'features';
      const byRow = this.opts.identity === 'position';
      const less = (a: Cursor, b: Cursor): boolean => {
        let c = byRow ? 0 : byFeatures ? a.db.compare(b.db, b.dOff + 32, b.dOff + 64, a.dOff + 32, a.dOff + 64) : a.kb.compare(b.kb, b.ks, b.ke, a.ks, a.ke);
        if (c === 0) c = byRow ? 0 : a.db.compare(b.db, b.dOff, b.dOff + 32, a.dOff, a.dOff + 32);
        if (c === 0) c = a.row - b.row;
        return c < 0;
      };
      const heap: (RunSource)[] = [];
      const up = (i: number) => {
        while (i > 0) {
          const p = (i - 1) >> 1;
          if (!less((heap[i] as RunSource).cur, (heap[p] as RunSource).cur)) break;
          [heap[i], heap[p]] = [heap[p] as RunSource, heap[i] as RunSource];
          i = p;
        }
      };
      const down = (i: number) => {
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < heap.length && less((heap[l] as RunSource).cur, (heap[m] as RunSource).cur)) m = l;
          if (r < heap.length && less((heap[r] as RunSource).cur, (heap[m] as RunSource).cur)) m = r;
          if (m === i) return;
          [heap[i], heap[m]] = [heap[m] as RunSource, heap[i] as RunSource];
          i = m;
        }
      };
      for (const r of readers) {
        r.next();
        if (!r.done) {
          heap.push(r);
          up(heap.length - 1);
        }
      }
      while (heap.length > 0) {
        const top = heap[0] as RunSource;
        const c = top.cur;
        emit(undefined, this.hasKey ? c.kb : undefined, c.ks, c.ke, c.db, c.dOff, c.label, c.row, c.line);
        top.next();
        if (!top.done) down(0);
        else {
          const last = heap.pop() as RunSource;
          if (heap.length > 0) {
            heap[0] = last;
            down(0);
          }
        }
      }
    } finally {
      for (const r of readers) r.close();
    }
  }
}

/**
 * The index summary's file, written as its lines come (a ten-million-record summary is some 28 MiB:
 * never held whole), hashed as written. A line over {@link MAX_SUMMARY_LINE_BYTES} or a total over
 * {@link MAX_INDEX_SUMMARY_BYTES} makes it unusable: {@link finish} then removes it.
 */
class SummaryFile {
  private fd = -1;
  private readonly hash = createHash('sha256');
  private buf = Buffer.allocUnsafe(OUT_BUFFER);
  private pos = 0;
  private total = 0;
  private unusable = false;

  constructor(readonly path: string) {}

  /** @throws SnapError `IO_ERROR` */
  open(): void {
    try {
      this.fd = openSync(this.path, 'wx', 0o600);
    } catch (e) {
      throw ioError(e, this.path, 'cannot write the record index summary');
    }
  }

  /** Add one line (without its `\n`). @throws SnapError `IO_ERROR` */
  line(text: string): void {
    if (this.unusable) return;
    const n = Buffer.byteLength(text, 'utf8') + 1;
    if (n > MAX_SUMMARY_LINE_BYTES || this.total + n > MAX_INDEX_SUMMARY_BYTES) {
      this.unusable = true;
      return;
    }
    if (this.pos + n > this.buf.length) {
      this.flush();
      if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
    }
    this.pos += this.buf.write(text, this.pos, 'utf8');
    this.buf[this.pos++] = 0x0a;
    this.total += n;
  }

  private flush(): void {
    if (this.pos === 0) return;
    const data = this.buf.subarray(0, this.pos);
    this.hash.update(data);
    try {
      writeAllSync(this.fd, data);
    } catch (e) {
      throw ioError(e, this.path, 'cannot write the record index summary');
    }
    this.pos = 0;
  }

  /**
   * Flush, fsync and close it.
   * @returns its path and SHA-256, or undefined (removed) when it became unusable
   * @throws SnapError `IO_ERROR`
   */
  finish(): { path: string; sha256: string } | undefined {
    if (this.unusable) {
      this.discard();
      return undefined;
    }
    try {
      this.flush();
      fsyncSync(this.fd);
    } catch (e) {
      this.discard();
      throw isSnapError(e) ? e : ioError(e, this.path, 'cannot write the record index summary');
    }
    closeSync(this.fd);
    this.fd = -1;
    return { path: this.path, sha256: this.hash.digest('hex') };
  }

  /** Close and remove it (best effort). */
  discard(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.fd = -1;
    }
    rmSync(this.path, { force: true });
  }
}
