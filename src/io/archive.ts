/**
 * Writing and reading snapshot archives, `NAME@VERSION.snap.tar` (docs/FORMAT.md §10), with
 * tar-stream. The layout and the safety rules are in `src/core/archive.ts`; what to do with the
 * entries (verify, import, restore) is in `src/ops/archive.ts` and `src/ops/restore.ts`.
 *
 * Writing is deterministic: the members come in a fixed order and every header field is fixed
 * (mtime = createdAt, uid/gid 0, empty user and group names, mode 0444 / 0777), so one snapshot
 * always gives the same bytes. The archive is written to a temporary file beside the target,
 * flushed, then linked into place (an existing file is never replaced) — a failure leaves nothing.
 *
 * Reading is streaming and strict: the three `snap/` members first, then exactly one `data/` member
 * per manifest entry, in manifest order, each checked against its entry before a byte of it is
 * handed on, and the content hashed as it passes. Nothing but the small `snap/` members and the
 * manifest is ever written to disk by the reader (to a private spool folder).
 */
import { promises as fsp, createReadStream, readlinkSync, rmSync, writeSync, writevSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import * as tar from 'tar-stream';
import { SnapError, isSnapError } from '../core/errors.js';
import { parseStatement, type SnapshotPredicate, type Statement } from '../core/statement.js';
import { parseEnvelope } from '../core/envelope.js';
import { validatePath, compareUtf8 } from '../core/paths.js';
import type { FileEntry, ManifestEntry, SymlinkEntry } from '../core/manifest.js';
import {
  ARCHIVE_DATA_PREFIX, ARCHIVE_ENVELOPE, ARCHIVE_FILE_MODE, ARCHIVE_MANIFEST, ARCHIVE_PAX_KEYS, ARCHIVE_STATEMENT,
  ARCHIVE_SYMLINK_MODE, ARCHIVE_RECORDS_PREFIX, MAX_ENVELOPE_BYTES, MAX_STATEMENT_BYTES, archiveMtime, archiveFileClaim, archiveRecordIndexes,
  type ArchiveRecordIndex,
} from '../core/archive.js';
import { MAX_PAX_BYTES, MAX_ZERO_RUN, TAR_BLOCK, TarStructureCheck } from '../core/tar-structure.js';
import { MAX_MANIFEST_ENTRY_BYTES, checkedEntryRuns } from './manifest-file.js';
import { WRITE_SLICE } from './write-slice.js';
import { ReadPool, WHOLE_FILE_MAX, BLOCK, type ReadFailure, type ReadReply } from './read-pool.js';
import { fitsInline } from './inline-worker.js';
import { ENVELOPE_FILE, MANIFEST_FILE, STATEMENT_FILE, fsyncDir, type SnapshotLocation } from './store.js';
import { ioError } from './errors.js';
import { checkInterrupted, leaveNothing } from './interrupt.js';
import { writeAll } from './write-all.js';
import { openRegularFile } from './small-file.js';
import { outputTempPath, removeStaleOutputTemps } from './output-temp.js';
import { makeScratchDir } from './scratch-dir.js';
import { EarlyWriteback } from './early-writeback.js';

/** The most bytes one manifest line can take: defined in io/manifest-file.ts (an archive's manifest longer than `fileCount` of them is not read). */
export { MAX_MANIFEST_ENTRY_BYTES };

/**
 * The most bytes the members after `snap/envelope.json` can take in an archive of a snapshot
 * whose statement says `pred` (FORMAT §10.1), end blocks included: every member (the manifest,
 * each record index, each entry) with its header, a pax header of at most MAX_PAX_BYTES and
 * padding; the manifest at most `fileCount` × {@link MAX_MANIFEST_ENTRY_BYTES}; each record index
 * at most its bound ({@link archiveRecordIndexes}); the files' `totalBytes`; a run of zero blocks
 * of at most MAX_ZERO_RUN. Bounds what `sign FILE.snap.tar` copies of an archive it does not read
 * member by member.
 */
export function archiveTailBound(pred: SnapshotPredicate): number {
  const indexes = archiveRecordIndexes(pred.records);
  const members = 1 + indexes.length + pred.fileCount;
  const perMember = 2 * TAR_BLOCK + MAX_PAX_BYTES + TAR_BLOCK; // header, pax header and body, padding
  return members * perMember + pred.fileCount * MAX_MANIFEST_ENTRY_BYTES + indexes.reduce((n, x) => n + x.maxBytes, 0) + pred.totalBytes + MAX_ZERO_RUN;
}

/**
 * Open an archive file without blocking, as a regular file only: a FIFO named as the archive (or
 * put in its place by whoever can write its folder) blocked open(2) for ever, holding a lock.
 * @param notChanged said after the refusal when the command would have changed the archive (sign)
 * @throws SnapError `NOT_FOUND` | `IO_ERROR` | `USAGE` (a folder) | `ARCHIVE_MALFORMED` (reason
 *   `not-a-file`: a FIFO, a device, a socket)
 */
export async function openArchiveFile(file: string, notChanged = ''): Promise<fsp.FileHandle> {
  return openRegularFile(file, 'cannot open the archive', (shown, st) =>
    st.isDirectory()
      ? new SnapError('USAGE', `${shown} is a folder, not a .snap.tar archive${notChanged}`, { path: file })
      : new SnapError('ARCHIVE_MALFORMED', `${shown} is not a regular file (a FIFO, a device, a socket), so not a .snap.tar archive${notChanged}`, { path: file, reason: 'not-a-file' }),
  );
}

/** Read size for streamed content, in bytes. */
const CHUNK = 1 << 20;
/** Bytes the tar stream may buffer before the producer waits. */
const PACK_HIGH_WATER = 4 << 20;
/** Output is gathered into batches of about this many bytes before it is written. */
const WRITE_BATCH = 4 << 20;

// ------------------------------------------------------------------------------------------ writing


/** A tar-stream header as passed to `pack.entry`. */
type HeaderArg = Parameters<tar.Pack['entry']>[0];

/** What goes into an archive, and where its file contents come from. */
export interface ArchiveContents {
  /** The statement bytes (its `createdAt` becomes every member's mtime). */
  statementBytes: Uint8Array;
  envelopeBytes: Uint8Array;
  /** A checked manifest file: its entries are the archive's data members, in order. */
  manifestPath: string;
  /** `predicate.createdAt`. */
  createdAt: string;
  /**
   * The record indexes the statement names ({@link archiveRecordIndexes}), in that order, and where
   * their bytes are (a store object, a freshly built index): written after the manifest, each hashed
   * as it is packed; a digest that differs is `recordIndexError(…, 'digest')`.
   */
  recordIndexes?: readonly { sha256: string; path: string }[];
  /** The error for a record index that is absent or whose bytes are not its digest (default `OBJECT_MISSING` / `OBJECT_CORRUPT`). */
  recordIndexError?(sha256: string, why: 'missing' | 'digest', cause?: unknown): SnapError;
  /** Absolute path of the bytes of a file entry (a store object, a dataset file). */
  filePath(e: FileEntry): string;
  /** Called before a symlink entry is written (seal --out checks that the link is unchanged); may throw. */
  checkSymlink?(e: SymlinkEntry): void;
  /**
   * The error to throw when a file's bytes are not the manifest's: `missing` (absent),
   * `not-a-file` (a link, folder or device now), `size` (other length), `digest` (other content).
   */
  mismatch(e: FileEntry, why: 'missing' | 'not-a-file' | 'size' | 'digest', cause?: unknown): SnapError;
  /**
   * The manifest's entries and their bytes, when known (the statement's `fileCount` and
   * `totalBytes`): within {@link fitsInline}, the files are read on the main thread, no thread
   * booted. Only how they are read depends on it; each file is still checked against its digest.
   */
  totals?: { files: number; bytes: number };
  /** Progress, after each entry: entries written and content bytes so far. */
  onProgress?(files: number, bytes: number): void;
  /** Read-and-hash worker threads (default: one per core, at most 4). */
  jobs?: number;
}

/** What {@link writeArchive} wrote. */
export interface ArchiveWriteResult {
  /** The archive path. */
  file: string;
  /** Archive size in bytes. */
  archiveBytes: number;
  /** Data members: regular files and symlinks. */
  files: number;
  symlinks: number;
  /** Sum of the file sizes, in bytes. */
  dataBytes: number;
}

/** The fixed header of a regular-file member. */
export function fileHeader(name: string, size: number, mtime: Date): HeaderArg {
  return { name, type: 'file', size, mode: ARCHIVE_FILE_MODE, uid: 0, gid: 0, uname: '', gname: '', mtime, devmajor: 0, devminor: 0 };
}

/** The fixed header of a symbolic-link member. */
function symlinkHeader(name: string, target: string, mtime: Date): HeaderArg {
  return { name, type: 'symlink', linkname: target, size: 0, mode: ARCHIVE_SYMLINK_MODE, uid: 0, gid: 0, uname: '', gname: '', mtime, devmajor: 0, devminor: 0 };
}

/** Resolves when an entry has been fully handed to the pack stream (its callback ran). */
function entryDone(pack: tar.Pack, header: HeaderArg, body?: Buffer): { sink: NodeJS.WritableStream; done: Promise<void> } {
  let sink!: NodeJS.WritableStream;
  const done = new Promise<void>((res, rej) => {
    const cb = (err?: Error | null) => (err ? rej(err) : res());
    sink = body === undefined ? pack.entry(header, cb) : pack.entry(header, body, cb);
  });
  // Failures arrive through the callback (and so `done`); a destroyed pack also makes the entry
  // stream emit 'error', which would otherwise be an uncaught exception.
  (sink as unknown as { on?(ev: string, f: () => void): void }).on?.('error', () => {});
  done.catch(() => {});
  return { sink, done };
}

/** Queue an entry on the pack stream without waiting for it: `done` is called only with its failure, if any. */
function queueEntry(pack: tar.Pack, header: HeaderArg, body: Buffer | undefined, done: (err?: Error | null) => void): void {
  const sink = body === undefined ? pack.entry(header, done) : pack.entry(header, body, done);
  (sink as unknown as { on?(ev: string, f: () => void): void }).on?.('error', () => {});
}

/** Wait until a tar-stream entry sink accepts more data; rejects at once if it is already destroyed (e.g. the archive's disk is full). */
function drained(sink: NodeJS.WritableStream): Promise<void> {
  if ((sink as unknown as { destroying?: boolean }).destroying) return Promise.reject(new SnapError('IO_ERROR', 'the archive stream was closed'));
  return new Promise((res, rej) => {
    const off = () => {
      sink.off('drain', onDrain);
      sink.off('close', onClose);
      sink.off('error', onError);
    };
    const onDrain = () => (off(), res());
    const onClose = () => (off(), rej(new SnapError('IO_ERROR', 'the archive stream was closed')));
    const onError = (e: unknown) => (off(), rej(e));
    sink.on('drain', onDrain);
    sink.on('close', onClose);
    sink.on('error', onError);
  });
}

/**
 * Check, before any work, that an archive can be written at `out`: nothing there yet, and its
 * folder exists.
 * @throws SnapError `FILE_EXISTS` | `NOT_FOUND` (no such folder) | `IO_ERROR`
 */
export async function checkArchiveTarget(out: string): Promise<void> {
  try {
    await fsp.lstat(out);
    throw new SnapError('FILE_EXISTS', `${out} already exists; an archive is never overwritten (choose another name or remove it)`, { path: out });
  } catch (e) {
    if (isSnapError(e)) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(e, out, 'cannot write the archive');
  }
  let st;
  try {
    st = await fsp.stat(dirname(out));
  } catch (e) {
    throw ioError(e, dirname(out), 'cannot write the archive in');
  }
  if (!st.isDirectory()) throw new SnapError('NOT_FOUND', `${dirname(out)} is not a folder; cannot write the archive there`, { path: dirname(out) });
}

/** Batches of small files hold up to this many bytes, or {@link BATCH_FILES} files. */
const BATCH_BYTES = 4 << 20;
const BATCH_FILES = 256;
/** Read-ahead: at most this many bytes requested from the pool and not yet packed. */
const AHEAD_BYTES = 128 << 20;
/** Blocks of one large file requested at once. */
const BLOCKS_IN_FLIGHT = 3;

/** Write `parts` at `pos`, all of it, in writes of at most {@link WRITE_SLICE} bytes. */
function writeAllAt(fd: number, parts: Buffer[], pos: number): void {
  let group: Buffer[] = [];
  let glen = 0;
  const put = () => {
    let off = 0;
    while (off < glen) {
      const n = off === 0 ? writevSync(fd, group, pos) : writeSync(fd, Buffer.concat(group).subarray(off), 0, glen - off, pos + off);
      if (n <= 0) throw Object.assign(new Error('write returned 0'), { code: 'EIO' });
      off += n;
    }
    pos += glen;
    group = [];
    glen = 0;
  };
  for (const part of parts) {
    for (let o = 0; o < part.length; ) {
      const n = Math.min(part.length - o, WRITE_SLICE - glen);
      group.push(o === 0 && n === part.length ? part : part.subarray(o, o + n));
      glen += n;
      o += n;
      if (glen === WRITE_SLICE) put();
    }
  }
  if (glen > 0) put();
}

/** The error for a failure a read worker reported on entry `e`. */
function readError(f: ReadFailure, e: FileEntry, c: ArchiveContents): SnapError {
  if (f.why === 'io') return ioError(Object.assign(new Error(f.message ?? 'read error'), { code: f.errno }), c.filePath(e), 'cannot read');
  return c.mismatch(e, f.why);
}

/** Capacity of the buffers the read workers fill: a whole batch (plus the byte that proves a file's end) or a block. */
const SPARE_BYTES = Math.max(BATCH_BYTES + 1, BLOCK);

/**
 * Buffers that went to a read worker (transferred), came back full, were packed, and may be filled
 * again once every byte packed from them has been written to the archive: no fresh memory (page
 * faults, garbage collection) per batch or block. tar-stream pushes each entry's body as the very
 * buffer it was given (an empty one too), so a buffer packed as `n` bodies comes out of the pack as
 * `n` chunks. Were a buffer handed out too early, the transfer would detach it here: its views
 * would turn empty and the archive come out short and unreadable, not quietly wrong.
 */
class Recycler {
  private readonly left = new Map<ArrayBuffer, number>();
  private readonly spare: ArrayBuffer[] = [];
  constructor(private readonly keep: number) {}
  /** A buffer of {@link SPARE_BYTES} to fill (transferable, not zero-filled). */
  take(): ArrayBuffer {
    return this.spare.pop() ?? (Buffer.allocUnsafeSlow(SPARE_BYTES).buffer as ArrayBuffer);
  }
  /** `ab` was packed as `bodies` entry bodies (or blocks): free it once that many chunks of it are written. */
  track(ab: ArrayBuffer, bodies: number): void {
    if (ab.byteLength !== SPARE_BYTES) return;
    if (bodies === 0) this.give(ab);
    else this.left.set(ab, bodies);
  }
  /** `chunk`, pulled from the pack, is now written. */
  written(chunk: Buffer): void {
    const ab = chunk.buffer as ArrayBuffer;
    const n = this.left.get(ab);
    if (n === undefined) return;
    if (n > 1) this.left.set(ab, n - 1);
    else {
      this.left.delete(ab);
      this.give(ab);
    }
  }
  private give(ab: ArrayBuffer): void {
    if (this.spare.length < this.keep) this.spare.push(ab);
  }
}

/** A unit of read-ahead: a batch of entries (small files read whole, and links), or one large file. */
type Job =
  | { kind: 'batch'; entries: ManifestEntry[]; files: FileEntry[]; bytes: number; reply?: Promise<ReadReply> }
  | BigJob;

/** A large file: read block by block on one worker `w`; `queue` holds the blocks requested, `next` the next offset to request. */
interface BigJob {
  kind: 'big';
  entry: FileEntry;
  path: string;
  w: number;
  queue: { reply: Promise<ReadReply>; len: number }[];
  next: number;
}

/** Request the next block of a large file. */
function askBlock(pool: ReadPool, j: BigJob, recycler: Recycler): number {
  const len = Math.min(BLOCK, j.entry.size - j.next);
  const reply = pool.block(j.w, j.path, j.entry.size, j.entry.sha256, j.next, len, recycler.take());
  reply.catch(() => {});
  j.queue.push({ reply, len });
  j.next += len;
  return len;
}

/** The default error for a record index that cannot be packed. */
function recordIndexError(sha256: string, why: 'missing' | 'digest', cause?: unknown): SnapError {
  return why === 'missing'
    ? new SnapError('OBJECT_MISSING', `the record index object ${sha256} is missing (${(cause as Error | undefined)?.message ?? 'not found'}); nothing was written (run snap fsck)`, { sha256 })
    : new SnapError('OBJECT_CORRUPT', `the record index object ${sha256} does not hash to its name; nothing was written (run snap fsck)`, { sha256 });
}

/** Pack one record index member, `snap/records/<sha256>`, hashing the bytes packed. */
async function packRecordIndex(pack: tar.Pack, ix: { sha256: string; path: string }, c: ArchiveContents, mtime: Date): Promise<void> {
  const fail = c.recordIndexError ?? recordIndexError;
  let fh: fsp.FileHandle;
  try {
    // Non-blocking and regular files only: a FIFO planted in the store must not hang the export.
    fh = await openRegularFile(ix.path, 'cannot read the record index', (shown) => new SnapError('OBJECT_CORRUPT', `the record index object ${ix.sha256} (${shown}) is not a regular file; nothing was written (run snap fsck)`, { sha256: ix.sha256 }));
  } catch (e) {
    if (isSnapError(e, 'NOT_FOUND')) throw fail(ix.sha256, 'missing', e);
    throw e;
  }
  try {
    const size = (await fh.stat()).size;
    const h = createHash('sha256');
    const { sink, done } = entryDone(pack, fileHeader(ARCHIVE_RECORDS_PREFIX + ix.sha256, size, mtime));
    const buf = Buffer.allocUnsafe(CHUNK);
    let at = 0;
    while (at < size) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, size - at), at);
      if (bytesRead === 0) throw fail(ix.sha256, 'digest'); // shrank while packed
      const chunk = Buffer.from(buf.subarray(0, bytesRead));
      h.update(chunk);
      at += bytesRead;
      if (!sink.write(chunk)) await drained(sink);
    }
    if (h.digest('hex') !== ix.sha256) throw fail(ix.sha256, 'digest');
    sink.end();
    await done;
  } finally {
    await fh.close();
  }
}

/**
 * Write a snapshot archive to `out` (see the module comment for the layout). The file is built
 * under a temporary name beside `out` (`.<out>.<host>-<pid>-<12 hex>.tmp`, io/output-temp.ts) and
 * linked into place only when complete; on any error it is removed. Stale temporary files of
 * `out` that killed writers left are removed first. Every file's bytes are hashed as they are read and must match the manifest,
 * else `c.mismatch(…)` is thrown (OBJECT_CORRUPT for a store, FILE_CHANGED for a dataset); the
 * bytes packed are the very bytes hashed.
 *
 * Pipelined: a pool of worker threads ({@link ReadPool}) reads and hashes up to 128 MiB ahead,
 * in batches of small files and 4 MiB blocks of large ones, into buffers used again once written
 * ({@link Recycler}), while this thread packs and writes the output in slices of at most
 * {@link WRITE_SLICE} bytes.
 * @throws SnapError `FILE_EXISTS` (never replaces `out`) | `NOT_FOUND` (no folder for `out`) |
 *   `DISK_FULL` | `IO_ERROR` | whatever `c.mismatch` and `c.checkSymlink` throw | the manifest's codes
 */
export async function writeArchive(out: string, c: ArchiveContents): Promise<ArchiveWriteResult> {
  const mtime = archiveMtime(c.createdAt);
  await checkArchiveTarget(out);
  await removeStaleOutputTemps(out); // a killed writer's (io/output-temp.ts)
  const tmp = outputTempPath(out);
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(tmp, 'wx', 0o644);
  } catch (e) {
    throw ioError(e, dirname(out), 'cannot write the archive in');
  }
  const forget = leaveNothing(() => rmSync(tmp, { force: true }));
  try {
    return await packArchive(out, tmp, fh, c, mtime);
  } finally {
    forget();
  }
}

/** The body of {@link writeArchive}: pack into `tmp` (open as `fh`), then link it to `out`; `tmp` is removed either way. */
async function packArchive(out: string, tmp: string, fh: fsp.FileHandle, c: ArchiveContents, mtime: Date): Promise<ArchiveWriteResult> {
  const pack = tar.pack({ highWaterMark: PACK_HIGH_WATER });
  const recycler = new Recycler(Math.ceil(AHEAD_BYTES / SPARE_BYTES) + 8);
  let archiveBytes = 0;
  let writeError: unknown;
  const writeback = new EarlyWriteback(fh.fd);
  const consume = (async () => {
    let parts: Buffer[] = [];
    let len = 0;
    // Written synchronously, on this thread: copying into the page cache costs the same CPU time on
    // a libuv thread, which would compete for the same cores, plus a promise per write.
    const flush = () => {
      if (parts.length === 0) return;
      writeAllAt(fh.fd, parts, archiveBytes - len);
      writeback.wrote(len);
      for (const c of parts) recycler.written(c);
      parts = [];
      len = 0;
    };
    for await (const chunk of pack as AsyncIterable<Buffer>) {
      parts.push(chunk);
      len += chunk.length;
      archiveBytes += chunk.length;
      if (len >= WRITE_BATCH || parts.length >= 1024) flush();
    }
    flush();
  })().catch((e) => {
    writeError = e;
    pack.destroy(e);
  });

  // A few small files (the signed totals say so) are read on the main thread: no thread to boot.
  const pool = new ReadPool(c.jobs, { inline: c.totals !== undefined && fitsInline(c.totals.files, c.totals.bytes) });
  const result: ArchiveWriteResult = { file: out, archiveBytes: 0, files: 0, symlinks: 0, dataBytes: 0 };
  try {
    await entryDone(pack, fileHeader(ARCHIVE_STATEMENT, c.statementBytes.length, mtime), Buffer.from(c.statementBytes)).done;
    await entryDone(pack, fileHeader(ARCHIVE_ENVELOPE, c.envelopeBytes.length, mtime), Buffer.from(c.envelopeBytes)).done;
    const mst = await fsp.stat(c.manifestPath);
    {
      const { sink, done } = entryDone(pack, fileHeader(ARCHIVE_MANIFEST, mst.size, mtime));
      for await (const chunk of createReadStream(c.manifestPath, { highWaterMark: CHUNK }) as AsyncIterable<Buffer>) {
        if (!sink.write(chunk)) await drained(sink);
      }
      sink.end();
      await done;
    }
    for (const ix of c.recordIndexes ?? []) await packRecordIndex(pack, ix, c, mtime);

    // Read-ahead: jobs requested from the pool, in manifest order.
    const entries = checkedEntryRuns(c.manifestPath);
    let run: ManifestEntry[] = [];
    let ri = 0;
    let exhausted = false;
    let aheadBytes = 0;
    const jobs: Job[] = [];
    const peek = async (): Promise<ManifestEntry | undefined> => {
      while (ri >= run.length) {
        if (exhausted) return undefined;
        const r = await entries.next();
        if (r.done) {
          exhausted = true;
          return undefined;
        }
        run = r.value;
        ri = 0;
      }
      return run[ri];
    };
    const request = (j: Job & { kind: 'batch' }) => {
      if (j.files.length > 0) j.reply = pool.files(j.files.map((f) => c.filePath(f)), j.files.map((f) => f.size), j.files.map((f) => f.sha256), recycler.take());
      aheadBytes += j.bytes;
      jobs.push(j);
    };
    const fill = async () => {
      while (aheadBytes < AHEAD_BYTES && jobs.length < 4 * pool.size + 4) {
        const first = await peek();
        if (first === undefined) return;
        if (!('type' in first) && first.size > WHOLE_FILE_MAX) {
          ri++;
          // Large files go to the least-loaded worker (a new one while fewer than --jobs run), so one
          // is read ahead while another is packed.
          const j: BigJob = { kind: 'big', entry: first, path: c.filePath(first), w: pool.pick(), queue: [], next: 0 };
          jobs.push(j);
          while (j.next < first.size && aheadBytes < AHEAD_BYTES) aheadBytes += askBlock(pool, j, recycler);
          continue;
        }
        const j: Job & { kind: 'batch' } = { kind: 'batch', entries: [], files: [], bytes: 0 };
        for (let e = await peek(); e !== undefined; e = await peek()) {
          if ('type' in e) j.entries.push(e);
          else {
            if (e.size > WHOLE_FILE_MAX || j.bytes + e.size > BATCH_BYTES || j.files.length >= BATCH_FILES) {
              if (j.entries.length > 0) break;
            }
            if (e.size > WHOLE_FILE_MAX) break;
            j.entries.push(e);
            j.files.push(e);
            j.bytes += e.size;
          }
          ri++;
        }
        request(j);
      }
    };

    // Keep requesting while a large file is packed: later files are read ahead on the other workers.
    let chain: Promise<void> = Promise.resolve();
    const fillNow = () => (chain = chain.then(async () => {
      for (const q of jobs) if (q.kind === 'big') while (q.next < q.entry.size && aheadBytes < AHEAD_BYTES) aheadBytes += askBlock(pool, q, recycler);
      await fill();
    }));
    for (;;) {
      await fillNow();
      const j = jobs.shift();
      if (!j) break;
      if (j.kind === 'big') {
        await packBig(pack, pool, j, c, mtime, recycler, (n) => {
          aheadBytes += n;
          if (n < 0) fillNow().catch(() => {}); // a failure here shows again at the next fillNow
        });
        result.files++;
        result.dataBytes += j.entry.size;
        c.onProgress?.(result.files + result.symlinks, result.dataBytes);
        continue;
      }
      aheadBytes -= j.bytes;
      const reply = j.reply ? await j.reply : undefined;
      const buf = reply ? Buffer.from(reply.buf) : Buffer.alloc(0);
      if (reply && !reply.failure) recycler.track(reply.buf, j.files.length);
      let fi = 0;
      let off = 0;
      // The whole batch is queued on the pack stream at once (it keeps the order); only its last
      // entry is awaited (the others report only a failure), which spares a promise and a round
      // of callbacks per file.
      let last: Promise<void> | undefined;
      let queuedError: unknown;
      const queued = (err?: Error | null) => {
        if (err && queuedError === undefined) queuedError = err;
      };
      const lastIndex = j.entries.length - 1;
      for (let k = 0; k <= lastIndex; k++) {
        const e = j.entries[k] as ManifestEntry;
        const name = ARCHIVE_DATA_PREFIX + e.path;
        let header: HeaderArg;
        let body: Buffer | undefined;
        if ('type' in e) {
          c.checkSymlink?.(e);
          header = symlinkHeader(name, e.target, mtime);
          result.symlinks++;
        } else {
          if (reply?.failure && reply.failure.index === fi) throw readError(reply.failure, e, c);
          header = fileHeader(name, e.size, mtime);
          body = buf.subarray(off, off + e.size);
          off += e.size;
          fi++;
          result.files++;
          result.dataBytes += e.size;
        }
        if (k === lastIndex) last = entryDone(pack, header, body).done;
        else queueEntry(pack, header, body, queued);
      }
      await last;
      if (queuedError !== undefined) throw queuedError;
      c.onProgress?.(result.files + result.symlinks, result.dataBytes);
    }
    pack.finalize();
    await consume;
    if (writeError) throw writeError;
    // Flushed before it is named (unlike tar): once export reports success, a power loss cannot
    // leave FILE empty or short (the folder is flushed after the link too). The temporary name keeps
    // a failed or killed export from leaving a partial FILE. Most of it is on disk already
    // (io/early-writeback.ts): this waits for the tail.
    await writeback.settle();
    await fh.sync();
    await fh.close();
  } catch (e) {
    pack.destroy(e as Error);
    await consume;
    await writeback.settle().catch(() => {}); // before the descriptor is closed (and its number reused)
    await fh.close().catch(() => {});
    await fsp.rm(tmp, { force: true });
    throw ioError(writeError ?? e, tmp, 'cannot write the archive');
  } finally {
    await pool.close();
  }
  try {
    checkInterrupted(); // the last moment a signal stops the export; once linked, FILE is complete
    await fsp.link(tmp, out);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new SnapError('FILE_EXISTS', `${out} appeared while the archive was written; it was not replaced`, { path: out });
    throw ioError(e, out, 'cannot put the archive in place');
  }
  await fsp.rm(tmp, { force: true });
  await fsyncDir(dirname(out));
  result.archiveBytes = archiveBytes;
  return result;
}

/** Pack one large file, block by block from its read worker, keeping a few blocks requested ahead. */
async function packBig(pack: tar.Pack, pool: ReadPool, j: BigJob, c: ArchiveContents, mtime: Date, recycler: Recycler, ahead: (delta: number) => void): Promise<void> {
  const e = j.entry;
  const { sink, done } = entryDone(pack, fileHeader(ARCHIVE_DATA_PREFIX + e.path, e.size, mtime));
  try {
    while (j.queue.length > 0 || j.next < e.size) {
      while (j.queue.length < BLOCKS_IN_FLIGHT && j.next < e.size) ahead(askBlock(pool, j, recycler));
      const { reply, len } = j.queue.shift() as BigJob['queue'][number];
      const r = await reply;
      if (r.failure) throw readError(r.failure, e, c);
      recycler.track(r.buf, 1);
      if (!sink.write(Buffer.from(r.buf, 0, len))) await drained(sink);
      ahead(-len);
    }
  } catch (err) {
    await Promise.allSettled(j.queue.map((q) => q.reply));
    (sink as unknown as { destroy(e: unknown): void }).destroy(err);
    throw err;
  }
  sink.end();
  await done;
}

/** Read a symlink's text now (seal --out: compare with the manifest). */
export function readLinkNow(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------------------------------ reading

/** A data member, checked against its manifest entry, whose content is being streamed. */
export interface ArchiveFileItem {
  kind: 'file';
  entry: FileEntry;
  /**
   * The member's bytes, in chunks, hashed as they pass. A chunk stays valid after the next one is
   * requested. Iterate at most once; stopping early is allowed ({@link finish} reads the rest).
   */
  chunks(): AsyncGenerator<Buffer>;
  /** Read whatever is left, and say whether the bytes match the entry's digest. */
  finish(): Promise<{ ok: boolean; sha256: string; size: number }>;
}

/** A symbolic-link member, checked against its manifest entry. */
export interface ArchiveLinkItem {
  kind: 'symlink';
  entry: SymlinkEntry;
}

/** One data member of an archive, in manifest order. */
export type ArchiveItem = ArchiveFileItem | ArchiveLinkItem;

type TarEntry = AsyncIterable<Buffer> & { header: Partial<tar.Header> & { name: string; byteOffset?: number; pax?: Record<string, string> | null } };

function hostile(message: string, details: Record<string, unknown>): SnapError {
  return new SnapError('ARCHIVE_HOSTILE', `${message}; the archive was refused (nothing was written outside the target)`, details);
}

function malformed(file: string, message: string, details: Record<string, unknown> = {}): SnapError {
  return new SnapError('ARCHIVE_MALFORMED', `${file}: ${message}`, { path: file, ...details });
}

const PATH_REASON: Record<string, string> = {
  PATH_ABSOLUTE: 'absolute',
  PATH_DOTDOT_SEGMENT: 'dotdot',
  PATH_DOT_SEGMENT: 'dot',
  PATH_EMPTY_SEGMENT: 'empty-segment',
  PATH_EMPTY: 'empty',
  PATH_CONTROL_CHAR: 'control-char',
  PATH_INVALID_UTF8: 'invalid-utf8',
  PATH_TOO_LONG: 'too-long',
};

/**
 * A snapshot archive opened for streaming. {@link ArchiveReader.open} reads the statement and
 * envelope into a private spool folder (a snapshot folder without its manifest, so the usual trust
 * check can run on it: {@link ArchiveReader.location}); {@link ArchiveReader.spoolManifest} adds the
 * manifest; {@link ArchiveReader.items} then streams the data members. Always {@link ArchiveReader.close}.
 */
export class ArchiveReader {
  private readonly tail = { total: 0, zeros: 0 };
  /** The raw blocks, walked as they arrive: what tar-stream passes over without a word (core/tar-structure.ts). */
  private readonly structure = new TarStructureCheck();
  private lastEnd = 0;
  private closed = false;
  /** Set once the record index members have been read ({@link spoolRecordIndexes}). */
  private recordsRead = false;
  /** Set when the input was ended early, at a structure fault that `endsInput` (core/tar-structure.ts), not at the end of the file. */
  private inputEnded = false;
  /** The first error the tar parser (or the file) reported. */
  private failure: unknown;
  /** Unregisters the spool folder's removal on interrupt (`interrupt.ts`). */
  private forget: () => void = () => {};

  private constructor(
    /** The archive path. */
    readonly file: string,
    /** Private folder holding statement.json, envelope.json and (once spooled) manifest.jsonl. */
    readonly spoolDir: string,
    private readonly src: NodeJS.ReadableStream & { destroy(e?: Error): void },
    private readonly extract: tar.Extract & { destroy(e?: Error): void },
    private readonly it: AsyncIterator<TarEntry>,
  ) {}

  /**
   * The spooled snapshot folder, named by the archive path (for `checkTrust` and `verify`). When the
   * file is named `NAME@VERSION.snap.tar`, that name is the location's `name`/`version`, so the
   * trust check refuses an archive whose signed statement names another snapshot.
   */
  get location(): SnapshotLocation {
    return { dir: this.spoolDir, ref: this.file, ...archiveFileClaim(basename(this.file)) };
  }

  /**
   * Open an archive and read its first two members, `snap/statement.json` and `snap/envelope.json`
   * (each at most 1 MiB), into a new spool folder under `spoolParent`. Nothing is trusted yet.
   * @throws SnapError `NOT_FOUND` | `USAGE` (a folder) | `IO_ERROR` | `ARCHIVE_MALFORMED` (not a
   *   regular file — `reason` `not-a-file` —, not a tar, truncated, members missing, too large or out of order) | `ARCHIVE_HOSTILE` (a member of another
   *   type, or pax records the format does not use)
   */
  static async open(file: string, spoolParent: string): Promise<ArchiveReader> {
    // Opened without blocking, and read only as a regular file: a FIFO named as the archive (or
    // put in its place by whoever can write its folder) blocked open(2) for ever — import and
    // fsck --repair-from holding the store's lock, deaf to SIGTERM.
    const fh = await openArchiveFile(file);
    let spoolDir: string;
    try {
      spoolDir = await makeScratchDir('snap-archive-', spoolParent);
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    }
    const src = fh.createReadStream({ highWaterMark: CHUNK, autoClose: true });
    const extract = tar.extract();
    const reader = new ArchiveReader(file, spoolDir, src as never, extract as never, (extract as AsyncIterable<TarEntry>)[Symbol.asyncIterator]());
    reader.forget = leaveNothing(() => rmSync(spoolDir, { recursive: true, force: true }));
    const tail = reader.tail;
    const structure = reader.structure;
    src.on('data', (chunk) => {
      const b = chunk as Buffer;
      structure.push(b); // before the parser sees it: a fault is known by the time the member it precedes is
      tail.total += b.length;
      let i = b.length - 1;
      while (i >= 0 && b[i] === 0) i--;
      tail.zeros = i < 0 ? tail.zeros + b.length : b.length - 1 - i;
      if (!extract.write(b)) src.pause();
      // A run of zero blocks past its bound (a sparse hole): read no further. The parser ends on
      // what it was given, and next() raises the fault where the next member would be.
      if (structure.fault?.endsInput && !reader.inputEnded) {
        reader.inputEnded = true;
        src.destroy();
        extract.end(undefined as never);
      }
    });
    extract.on('drain', () => src.resume());
    extract.on('error', (e: unknown) => (reader.failure ??= e));
    src.on('end', () => {
      if (!reader.inputEnded) extract.end(undefined as never);
    });
    src.on('error', (e) => (extract as unknown as { destroy(e: Error): void }).destroy(ioError(e, file, 'cannot read the archive')));
    try {
      const statement = await reader.readSmall(ARCHIVE_STATEMENT, MAX_STATEMENT_BYTES);
      const envelope = await reader.readSmall(ARCHIVE_ENVELOPE, MAX_ENVELOPE_BYTES);
      await fsp.writeFile(join(spoolDir, STATEMENT_FILE), statement, { mode: 0o600 });
      await fsp.writeFile(join(spoolDir, ENVELOPE_FILE), envelope, { mode: 0o600 });
    } catch (e) {
      await reader.close();
      throw e;
    }
    return reader;
  }

  /** A tar-stream failure as a SnapError: truncated, or not a tar at all. */
  private tarError(e: unknown): SnapError {
    if (isSnapError(e)) return e;
    if (isSnapError(this.failure)) return this.failure;
    // A member's stream only says it was destroyed: the parser's own error says why.
    const msg = ((this.failure ?? e) as Error)?.message ?? String(e);
    // tar-stream stops at an extended header (pax, global, GNU long name or link) over its own 4 MiB
    // bound for one; the walk, which saw those bytes first, has refused it already (any over 16 KiB,
    // or of a kind snap never writes): that is the refusal (ARCHIVE_HOSTILE), not "not a tar".
    const fault = this.structure.fault;
    if (fault && /Header exceeds max size/.test(msg)) return hostile(`at byte ${fault.offset}, the archive holds ${fault.message}`, { reason: fault.reason, offset: fault.offset });
    if (/Unexpected end of data|premature close/i.test(msg)) return malformed(this.file, 'the archive is truncated (it ends inside a member)', { reason: 'truncated' });
    return malformed(this.file, `not a readable tar archive: ${msg}`, { reason: 'not-tar' });
  }

  /** A member's bytes, with tar-stream failures turned into SnapErrors. */
  private async *body(e: TarEntry): AsyncGenerator<Buffer> {
    const it = (e as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    for (;;) {
      let r: IteratorResult<Buffer>;
      try {
        r = await it.next();
      } catch (err) {
        throw this.tarError(err);
      }
      if (r.done) return;
      yield r.value;
    }
  }

  /** The next tar member, or undefined at the end of the archive. */
  private async next(): Promise<TarEntry | undefined> {
    let r: IteratorResult<TarEntry>;
    try {
      r = await this.it.next();
    } catch (e) {
      throw this.tarError(e);
    }
    const fault = this.structure.fault;
    if (fault && (r.done || typeof r.value.header.byteOffset !== 'number' || fault.offset < r.value.header.byteOffset)) {
      throw hostile(`at byte ${fault.offset}, the archive holds ${fault.message}`, { reason: fault.reason, offset: fault.offset });
    }
    if (r.done) return undefined;
    const h = r.value.header;
    if (h.pax) {
      for (const k of Object.keys(h.pax)) {
        if (!ARCHIVE_PAX_KEYS.includes(k)) throw hostile(`member ${JSON.stringify(h.name)} carries a pax record ${JSON.stringify(k)} that snap archives never use (readers could disagree on it)`, { reason: 'pax', name: h.name, key: k });
      }
    }
    if (typeof h.byteOffset === 'number') this.lastEnd = h.byteOffset + Math.ceil((h.size ?? 0) / 512) * 512;
    return r.value;
  }

  /** Read one small `snap/` member whole. */
  private async readSmall(name: string, max: number): Promise<Buffer> {
    const e = await this.next();
    if (!e) throw malformed(this.file, `the archive ends before ${name} (is it a snap archive?)`, { reason: 'truncated', expected: name });
    this.checkMeta(e, name);
    const size = e.header.size ?? 0;
    if (size > max) throw malformed(this.file, `${name} is ${size} bytes, more than the ${max} a snap archive allows`, { reason: 'too-large', name });
    const parts: Buffer[] = [];
    for await (const c of this.body(e)) parts.push(c);
    return Buffer.concat(parts);
  }

  private checkMeta(e: TarEntry, name: string): void {
    const h = e.header;
    if (h.name !== name) {
      throw malformed(this.file, `the archive's members must start with ${ARCHIVE_STATEMENT}, ${ARCHIVE_ENVELOPE}, ${ARCHIVE_MANIFEST}; found ${JSON.stringify(h.name)} where ${name} belongs`, { reason: 'layout', expected: name, got: h.name });
    }
    if (h.type !== 'file') throw hostile(`${name} is a ${h.type ?? 'member of unknown type'}, not a regular file`, { reason: 'type', name, type: h.type ?? null });
  }

  /**
   * Read the third member, `snap/manifest.jsonl`, into the spool folder while hashing it (over an
   * empty placeholder of that name, if one is there).
   * @param maxBytes the most bytes the manifest can have (the signed `fileCount` ×
   *   {@link MAX_MANIFEST_ENTRY_BYTES}); a longer member is refused unread (`tooLarge`, nothing spooled)
   * @returns its path there, SHA-256 (hex) and size in bytes, or `tooLarge` with its size
   * @throws SnapError `ARCHIVE_MALFORMED` | `ARCHIVE_HOSTILE` | `DISK_FULL` | `IO_ERROR`
   */
  async spoolManifest(maxBytes = Infinity): Promise<{ path: string; sha256: string; size: number; tooLarge?: true }> {
    const e = await this.next();
    if (!e) throw malformed(this.file, `the archive ends before ${ARCHIVE_MANIFEST}`, { reason: 'truncated', expected: ARCHIVE_MANIFEST });
    this.checkMeta(e, ARCHIVE_MANIFEST);
    const path = join(this.spoolDir, MANIFEST_FILE);
    if ((e.header.size ?? 0) > maxBytes) return { path, sha256: '', size: e.header.size ?? 0, tooLarge: true };
    const h = createHash('sha256');
    let size = 0;
    await fsp.rm(path, { force: true }); // the placeholder trust was checked with (src/ops/archive.ts openArchive)
    const fh = await fsp.open(path, 'wx', 0o600);
    try {
      for await (const c of this.body(e)) {
        // A manifest is JSON text, which never holds a NUL byte (RFC 8259 §7 escapes it): the
        // zeros of a sparse file's hole, claimed as a manifest of a terabyte, stop at the first chunk.
        if (c.includes(0)) throw hostile(`${ARCHIVE_MANIFEST} holds a NUL byte, which no manifest line can (after ${size + c.indexOf(0)} bytes): it is not a manifest`, { reason: 'nul', name: ARCHIVE_MANIFEST, offset: size + c.indexOf(0) });
        h.update(c);
        size += c.length;
        await writeAll(fh, c);
      }
    } catch (err) {
      throw ioError(err, path, 'cannot spool the manifest');
    } finally {
      await fh.close();
    }
    return { path, sha256: h.digest('hex'), size };
  }

  /**
   * The archive's own statements, as spooled by {@link open}, parsed and NOT verified (no signature
   * is checked here): `file` from `snap/statement.json`, `payload` from the envelope's payload
   * (what a trust check would take as the statement). Each is undefined when it does not parse.
   */
  async ownStatements(): Promise<{ file?: Statement; payload?: Statement }> {
    const parse = async (read: () => Promise<Uint8Array>): Promise<Statement | undefined> => {
      try {
        return parseStatement(await read());
      } catch {
        return undefined;
      }
    };
    const file = await parse(() => fsp.readFile(join(this.spoolDir, STATEMENT_FILE)));
    const payload = await parse(async () => Buffer.from(parseEnvelope(await fsp.readFile(join(this.spoolDir, ENVELOPE_FILE))).payload, 'base64'));
    return { ...(file ? { file } : {}), ...(payload ? { payload } : {}) };
  }

  /**
   * {@link spoolManifest} for a caller that holds no trusted key (`show`, `diff`, `prove`, `bom`,
   * `lineage`, `revoke`, `sign` of an archive, `fsck --repair-from`): the member is bounded by what
   * the archive's own, unverified statements declare — `fileCount` lines of at most
   * {@link MAX_MANIFEST_ENTRY_BYTES}, the larger `fileCount` of `snap/statement.json` and of the
   * envelope's payload — before a byte of it is read. A longer member cannot be the manifest either
   * describes (whoever signed it or not), so a real multi-gigabyte member claimed for a one-file
   * snapshot is never spooled to the temporary folder. When neither statement parses, nothing is
   * read and `manifest` is undefined (the caller refuses the statement, or the archive).
   * @returns `statement`: `snap/statement.json` parsed, when it parses; `manifest`: the spooled
   *   manifest (as {@link spoolManifest}), when a statement bounded it
   * @throws SnapError `ARCHIVE_HOSTILE` (`reason` `manifest-too-large`, with `size` and `maxBytes`) |
   *   the codes of {@link spoolManifest}
   */
  async spoolDeclaredManifest(): Promise<{ statement?: Statement; manifest?: { path: string; sha256: string; size: number } }> {
    const own = await this.ownStatements();
    const counts = [own.file, own.payload].flatMap((x) => (x ? [x.predicate.fileCount] : []));
    if (counts.length === 0) return {};
    const fileCount = Math.max(...counts);
    const maxBytes = fileCount * MAX_MANIFEST_ENTRY_BYTES;
    const manifest = await this.spoolManifest(maxBytes);
    if (manifest.tooLarge) {
      throw hostile(`${this.file}: ${ARCHIVE_MANIFEST} is ${manifest.size} bytes, longer than the ${fileCount} lines its statement declares can be (${maxBytes} bytes): it is not that statement's manifest, and was not read`, {
        path: this.file, reason: 'manifest-too-large', name: ARCHIVE_MANIFEST, size: manifest.size, maxBytes,
      });
    }
    return { ...(own.file ? { statement: own.file } : {}), manifest };
  }

  /**
   * Read the record index members that follow the manifest — exactly `expected`, in order
   * ({@link archiveRecordIndexes} of the statement) — into `objects/sha256/<2 hex>/<62 hex>` under
   * the spool folder (the store's object layout, so record diffs find them as in a store), hashing
   * each. Must be called (with `[]` when the statement names no index) before {@link items}.
   * @returns each index: its spooled path, and its actual SHA-256 (the caller compares it with the
   *   signed digest; a mismatching file is left in the spool folder under a `.bad` name, never under its digest)
   * @throws SnapError `ARCHIVE_HOSTILE` (`reason` `records-missing`: the next member is not the
   *   expected index — absent, out of order, or another member; `records-too-large`: longer than the
   *   signed record count allows; `type`) | `ARCHIVE_MALFORMED` (`truncated`) | `DISK_FULL` | `IO_ERROR`
   */
  async spoolRecordIndexes(expected: readonly ArchiveRecordIndex[]): Promise<{ sha256: string; path: string; actual: string }[]> {
    const out: { sha256: string; path: string; actual: string }[] = [];
    for await (const { index: x, body } of this.recordIndexMembers(expected)) {
      const dir = join(this.spoolDir, 'objects', 'sha256', x.sha256.slice(0, 2));
      await fsp.mkdir(dir, { recursive: true });
      const tmp = join(dir, `${x.sha256.slice(2)}.part`);
      const h = createHash('sha256');
      const fh = await fsp.open(tmp, 'wx', 0o600);
      let at = 0;
      try {
        for await (const c of body) {
          // Index lines are JSON text too (FORMAT §19.5): a NUL byte (a sparse hole) is no index.
          if (c.includes(0)) throw hostile(`${x.name} holds a NUL byte, which no record index line can (after ${at + c.indexOf(0)} bytes): it is not the signed index`, { reason: 'nul', name: x.name, offset: at + c.indexOf(0) });
          at += c.length;
          h.update(c);
          await writeAll(fh, c);
        }
      } catch (err) {
        throw isSnapError(err) ? err : ioError(err, tmp, 'cannot spool the record index');
      } finally {
        await fh.close();
      }
      const actual = h.digest('hex');
      const path = join(dir, actual === x.sha256 ? x.sha256.slice(2) : `${x.sha256.slice(2)}.bad`);
      await fsp.rename(tmp, path);
      out.push({ sha256: x.sha256, path, actual });
    }
    return out;
  }

  /**
   * The record index members that follow the manifest — exactly `expected`, in order — each checked
   * (name, type, size at most its `maxBytes`) before a byte of it is read; the caller reads each
   * `body`, or part of it, or none, and what it leaves is read here and dropped before the next
   * member is taken (the tar reader gives the next member only once this one's bytes are read: a
   * body left unread past one buffer stopped the reading for ever, and with nothing else pending
   * the process exited 0 with no word, `check` against such an archive included). Afterwards
   * {@link items} may be called. {@link spoolRecordIndexes} spools them all; `fsck --repair-from`
   * takes only the ones it wants.
   * @throws SnapError as {@link spoolRecordIndexes}, but for the spooling
   */
  async *recordIndexMembers(expected: readonly ArchiveRecordIndex[]): AsyncGenerator<{ index: ArchiveRecordIndex; size: number; body: AsyncIterable<Buffer> }> {
    for (const x of expected) {
      const e = await this.next();
      if (!e) throw malformed(this.file, `the archive ends before ${x.name}`, { reason: 'truncated', expected: x.name });
      if (e.header.name !== x.name) {
        throw hostile(`the signed statement names the record index ${x.sha256}, but the member where ${x.name} belongs is ${JSON.stringify(e.header.name)} (the index is missing or out of order)`, { reason: 'records-missing', name: e.header.name, expected: x.name });
      }
      if (e.header.type !== 'file') throw hostile(`${x.name} is a ${e.header.type ?? 'member of unknown type'}, not a regular file`, { reason: 'type', name: x.name, type: e.header.type ?? null });
      const size = e.header.size ?? 0;
      if (size > x.maxBytes) throw hostile(`${x.name} is ${size} bytes, more than its signed record count allows (${x.maxBytes}): it is not the signed index`, { reason: 'records-too-large', name: x.name, size });
      // Pulled through one iterator, which a caller's early `break` does not close, so that the rest is drained below.
      const it = this.body(e);
      let ended = false;
      const pull = async (): Promise<Buffer | undefined> => {
        if (ended) return undefined;
        const r = await it.next();
        if (r.done) ended = true;
        return r.done ? undefined : r.value;
      };
      const body: AsyncIterable<Buffer> = {
        async *[Symbol.asyncIterator]() {
          for (let c = await pull(); c !== undefined; c = await pull()) yield c;
        },
      };
      yield { index: x, size, body };
      while ((await pull()) !== undefined); // what the caller left unread, passed over
    }
    this.recordsRead = true;
  }

  /**
   * Stream the data members against the (checked) spooled manifest: each member must be exactly the
   * next manifest entry — name `data/<path>`, type, size, link text — or the archive is refused
   * before any of its bytes are handed on. After the last entry the archive must end (no further
   * member) with its two zero blocks. Take each file item's verdict with `finish()` before acting
   * on its bytes (the generator calls it itself when the caller did not). With `hash: false` the
   * bytes are not hashed here (`finish()` then checks only the size and returns an empty `sha256`):
   * the caller hashes them itself, e.g. in worker threads.
   * @throws SnapError `ARCHIVE_HOSTILE` (`details.reason`: `type`, `hardlink`, `absolute`, `dotdot`,
   *   `outside-data`, `unexpected-entry`, `duplicate`, `not-in-manifest`, `type-mismatch`,
   *   `size-mismatch`, `link-target`, `pax`, `extended-header`, …) | `ARCHIVE_MALFORMED` (`truncated`, `not-tar`,
   *   `no-end-marker`) | the manifest's codes
   */
  async *items(manifestPath: string, opts: { hash?: boolean } = {}): AsyncGenerator<ArchiveItem> {
    const hash = opts.hash ?? true;
    if (!this.recordsRead) throw new SnapError('INTERNAL', 'ArchiveReader.items called before spoolRecordIndexes');
    let prev: string | undefined;
    for await (const run of checkedEntryRuns(manifestPath)) {
      for (const m of run) {
        const e = await this.next();
        if (!e) throw malformed(this.file, `the archive is truncated: it ends before ${ARCHIVE_DATA_PREFIX}${m.path}`, { reason: 'truncated', expected: m.path });
        this.checkData(e, m, prev);
        if ('type' in m) {
          for await (const _ of this.body(e)) void _;
          yield { kind: 'symlink', entry: m };
        } else {
          const item = fileItem(this.body(e), m, hash);
          yield item;
          await item.finish();
        }
        prev = m.path;
      }
    }
    const extra = await this.next();
    if (extra) {
      const rel = extra.header.name.startsWith(ARCHIVE_DATA_PREFIX) ? extra.header.name.slice(ARCHIVE_DATA_PREFIX.length) : undefined;
      const dup = rel !== undefined && rel === prev;
      throw hostile(
        dup ? `member ${JSON.stringify(extra.header.name)} appears twice` : `member ${JSON.stringify(extra.header.name)} is not in the signed manifest`,
        { reason: dup ? 'duplicate' : 'not-in-manifest', name: extra.header.name },
      );
    }
    // Everything after the last member must be zero blocks, at least two of them.
    const after = this.tail.total - this.lastEnd;
    if (after < 1024 || this.tail.zeros < after) {
      throw malformed(this.file, 'the archive is truncated: it lacks the two zero blocks that end a tar archive', { reason: 'no-end-marker' });
    }
  }

  /** Check a data member's header against the manifest entry it must be. */
  private checkData(e: TarEntry, m: ManifestEntry, prev: string | undefined): void {
    const h = e.header;
    const name = h.name;
    if (h.type === 'link') throw hostile(`member ${JSON.stringify(name)} is a hard link`, { reason: 'hardlink', name, linkname: h.linkname ?? null });
    if (h.type !== 'file' && h.type !== 'symlink') throw hostile(`member ${JSON.stringify(name)} is a ${h.type ?? 'member of unknown type'}; snap archives hold only regular files and symbolic links`, { reason: 'type', name, type: h.type ?? null });
    try {
      validatePath(name); // absolute, "..", empty segments, control characters, …
    } catch (err) {
      if (!isSnapError(err)) throw err;
      throw hostile(`member ${JSON.stringify(name)}: ${err.message}`, { reason: PATH_REASON[err.code] ?? 'bad-path', name });
    }
    if (!name.startsWith(ARCHIVE_DATA_PREFIX)) throw hostile(`member ${JSON.stringify(name)} is not under ${ARCHIVE_DATA_PREFIX}`, { reason: 'outside-data', name });
    const rel = name.slice(ARCHIVE_DATA_PREFIX.length);
    if (rel !== m.path) {
      if (rel === prev) throw hostile(`member ${JSON.stringify(name)} appears twice`, { reason: 'duplicate', name });
      const c = compareUtf8(rel, m.path);
      throw hostile(
        c < 0
          ? `member ${JSON.stringify(name)} is out of order or not in the signed manifest (expected ${ARCHIVE_DATA_PREFIX}${m.path})`
          : `member ${JSON.stringify(name)} comes where ${ARCHIVE_DATA_PREFIX}${m.path} belongs (missing, out of order, or not in the signed manifest)`,
        { reason: 'unexpected-entry', name, expected: ARCHIVE_DATA_PREFIX + m.path },
      );
    }
    if ('type' in m) {
      if (h.type !== 'symlink') throw hostile(`member ${JSON.stringify(name)} is a file; the manifest records a symbolic link`, { reason: 'type-mismatch', name });
      if (h.linkname !== m.target) throw hostile(`symlink ${JSON.stringify(name)} points to ${JSON.stringify(h.linkname)}; the manifest records ${JSON.stringify(m.target)}`, { reason: 'link-target', name });
      if ((h.size ?? 0) !== 0) throw hostile(`symlink ${JSON.stringify(name)} carries data`, { reason: 'size-mismatch', name });
    } else {
      if (h.type !== 'file') throw hostile(`member ${JSON.stringify(name)} is a symbolic link; the manifest records a file`, { reason: 'type-mismatch', name });
      if (h.size !== m.size) throw hostile(`member ${JSON.stringify(name)} is ${h.size} bytes; the manifest records ${m.size}`, { reason: 'size-mismatch', name, size: h.size, expected: m.size });
    }
  }

  /** Stop reading and remove the spool folder. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.src.destroy();
    this.extract.destroy();
    await fsp.rm(this.spoolDir, { recursive: true, force: true });
    this.forget();
  }
}

function fileItem(it: AsyncGenerator<Buffer>, m: FileEntry, hash: boolean): ArchiveFileItem {
  const h = hash ? createHash('sha256') : undefined;
  let size = 0;
  let ended = false;
  let verdict: { ok: boolean; sha256: string; size: number } | undefined;
  const pull = async (): Promise<Buffer | undefined> => {
    if (ended) return undefined;
    const r = await it.next();
    if (r.done) {
      ended = true;
      return undefined;
    }
    h?.update(r.value);
    size += r.value.length;
    return r.value;
  };
  return {
    kind: 'file',
    entry: m,
    async *chunks() {
      for (let c = await pull(); c !== undefined; c = await pull()) yield c;
    },
    async finish() {
      if (verdict) return verdict;
      while ((await pull()) !== undefined);
      const sha256 = h ? h.digest('hex') : '';
      verdict = { ok: (!h || sha256 === m.sha256) && size === m.size, sha256, size };
      return verdict;
    },
  };
}
