/**
 * A pool of worker threads that read files and hash what they read (node:crypto SHA-256), handing
 * the bytes back to the main thread (transferred, not copied). Used where the main thread must do
 * something with the very bytes that were hashed — pack them into an archive (`export`,
 * `seal --out`) or write them out (`restore` from a store) — while the reading and hashing run on
 * other cores.
 *
 * Two requests:
 * - `files`: a batch of small files (each at most {@link WHOLE_FILE_MAX} bytes), read whole into one
 *   buffer (each with one read of size + 1 bytes, which proves the end of the file), each hashed and
 *   compared with its expected digest;
 * - `block`: the next block of one large file; the worker keeps the file open and its hash running
 *   between blocks, so all blocks of a file go to the same worker, in order. The last block also
 *   checks that nothing follows the end, and the digest.
 *
 * Files are opened with O_NOFOLLOW | O_NONBLOCK (a link is refused, a FIFO never blocked on). A
 * large file must fstat as a regular file of the expected size; a small one needs no fstat: reading
 * size + 1 bytes and getting exactly size proves its length, and the digest proves its bytes.
 */
import { WorkerPool } from './worker-pool.js';
import { InlineWorker } from './inline-worker.js';
import { availableParallelism } from 'node:os';

/** Files up to this size (bytes) are read whole in `files` batches; larger ones block by block. */
export const WHOLE_FILE_MAX = 8 << 20;
/** Block size of large files, in bytes. */
export const BLOCK = 4 << 20;

/** Why a file's bytes are not the expected ones. */
export type ReadMismatch = 'missing' | 'not-a-file' | 'size' | 'digest';

/** A failure on one file of a request. */
export interface ReadFailure {
  /** Index of the file in a `files` batch (0 for a block). */
  index: number;
  /** A mismatch, or `io` for any other read error. */
  why: ReadMismatch | 'io';
  errno?: string;
  message?: string;
}

/** The reply to a request: the bytes read (files of a batch back to back, from the buffer's start), and the first failure if any. */
export interface ReadReply {
  id: number;
  buf: ArrayBuffer;
  failure?: ReadFailure;
}

/** Worker body: self-contained (started with `eval`), only Node built-ins, loaded with the `require` it is given (so a bundler leaves those calls alone). */
function readWorkerMain(require: NodeJS.Require): void {
  /* eslint-disable */
  const { parentPort } = require('node:worker_threads');
  const fs = require('node:fs');
  const crypto = require('node:crypto');
  const O = fs.constants;
  const FLAGS = O.O_RDONLY | (O.O_NOFOLLOW ?? 0) | (O.O_NONBLOCK ?? 0);
  const oneShot = crypto.hash as ((alg: string, data: any, enc: string) => string) | undefined;
  const sha = (b: Buffer): string => (oneShot ? oneShot('sha256', b, 'hex') : crypto.createHash('sha256').update(b).digest('hex'));
  const open = new Map<string, { fd: number; h: any }>();

  class Fail extends Error {
    constructor(readonly why: string, readonly errno?: string, msg?: string) {
      super(msg ?? why);
    }
  }
  /** Open a file to read; `statCheck` false skips the fstat (the caller proves the size by reading one byte more). */
  function openChecked(path: string, size: number, statCheck = true): number {
    let fd: number;
    try {
      fd = fs.openSync(path, FLAGS);
    } catch (e: any) {
      if (e.code === 'ENOENT' || e.code === 'ENOTDIR') throw new Fail('missing', e.code, e.message);
      if (e.code === 'ELOOP') throw new Fail('not-a-file', e.code, e.message);
      throw new Fail('io', e.code, e.message);
    }
    if (!statCheck) return fd;
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      fs.closeSync(fd);
      throw new Fail('not-a-file');
    }
    if (st.size !== size) {
      fs.closeSync(fd);
      throw new Fail('size');
    }
    return fd;
  }
  function readAt(fd: number, buf: Buffer, off: number, len: number, pos: number): number {
    let got = 0;
    while (got < len) {
      const n = fs.readSync(fd, buf, off + got, len - got, pos + got);
      got += n;
      if (n === 0 || got < len) break; // a short read of a regular file is its end
    }
    return got;
  }
  /** The sender's spare buffer when it holds `n` bytes, else a new one (of its own, so transferable; not zero-filled). */
  const bufferFor = (spare: ArrayBuffer | undefined, n: number): ArrayBuffer =>
    spare instanceof ArrayBuffer && spare.byteLength >= n ? spare : (Buffer.allocUnsafeSlow(n).buffer as ArrayBuffer);
  const failure = (index: number, e: any) => (e instanceof Fail ? { index, why: e.why, errno: e.errno, message: e.message } : { index, why: 'io', errno: e?.code, message: e?.message ?? String(e) });

  parentPort.on('message', (m: any) => {
    if (m.op === 'files') {
      const sizes: number[] = m.sizes;
      let total = 0;
      for (const s of sizes) total += s;
      const ab = bufferFor(m.buf, total + 1);
      const buf = Buffer.from(ab, 0, total + 1);
      let off = 0;
      let fail;
      for (let i = 0; i < sizes.length; i++) {
        const size = sizes[i] as number;
        let fd = -1;
        try {
          fd = openChecked(m.paths[i], size, false);
          // size + 1 bytes: getting exactly `size` proves the length without an fstat (the extra
          // byte only lands when the file is longer; the next file overwrites it). A folder or FIFO
          // in its place fails the positional read (EISDIR; ESPIPE, or EAGAIN): not a file.
          let n: number;
          try {
            n = readAt(fd, buf, off, size + 1, 0);
          } catch (e: any) {
            if (e.code === 'EISDIR' || e.code === 'EAGAIN' || e.code === 'ESPIPE') throw new Fail('not-a-file', e.code, e.message);
            throw e;
          }
          if (n !== size) throw new Fail('size');
          if (sha(buf.subarray(off, off + size)) !== m.sha256s[i]) throw new Fail('digest');
        } catch (e) {
          fail = failure(i, e);
        } finally {
          if (fd >= 0) fs.closeSync(fd);
        }
        if (fail) break;
        off += size;
      }
      parentPort.postMessage({ id: m.id, buf: ab, failure: fail }, [ab]);
      return;
    }
    if (m.op === 'block') {
      const { path, size, sha256, offset, length } = m;
      const ab = bufferFor(m.buf, length);
      const buf = Buffer.from(ab, 0, length);
      let st = open.get(path);
      try {
        if (!st) {
          if (offset !== 0) throw new Fail('io', undefined, 'block out of order');
          st = { fd: openChecked(path, size), h: crypto.createHash('sha256') };
          open.set(path, st);
        }
        if (readAt(st.fd, buf, 0, length, offset) !== length) throw new Fail('size');
        st.h.update(buf);
        if (offset + length === size) {
          open.delete(path);
          const extra = fs.readSync(st.fd, Buffer.alloc(1), 0, 1, size);
          fs.closeSync(st.fd);
          if (extra !== 0) throw new Fail('size');
          if (st.h.digest('hex') !== sha256) throw new Fail('digest');
        }
        parentPort.postMessage({ id: m.id, buf: ab }, [ab]);
      } catch (e) {
        if (st && open.get(path) === st) {
          open.delete(path);
          try {
            fs.closeSync(st.fd);
          } catch {}
        }
        parentPort.postMessage({ id: m.id, buf: ab, failure: failure(0, e) }, [ab]);
      }
      return;
    }
    if (m.op === 'abort') {
      for (const s of open.values()) {
        try {
          fs.closeSync(s.fd);
        } catch {}
      }
      open.clear();
    }
  });
}

/** Most read (export) and write (restore) workers by default, whatever the cores: the disk, not the CPU, bounds them. */
export const MAX_DEFAULT_IO_JOBS = 4;

/** Number of read workers by default: one per core, at most {@link MAX_DEFAULT_IO_JOBS}. */
export function defaultReadJobs(): number {
  return Math.max(1, Math.min(MAX_DEFAULT_IO_JOBS, availableParallelism()));
}

/**
 * A pool of read-and-hash workers, started as they are needed: one at once, another only when a
 * request finds every started worker busy, up to `jobs` (an export of a few small files boots one
 * thread: 75–100 ms of CPU less than two, measured). Always {@link ReadPool.close} it.
 */
export class ReadPool extends WorkerPool<ReadReply> {
  /**
   * @param jobs most worker threads (default {@link defaultReadJobs})
   * @param opts.inline  no thread at all: every request is read on the main thread
   *   (`inline-worker.ts`), for work the caller knows is small (a few small files)
   * @throws SnapError `USAGE` when `jobs` is not a positive integer
   */
  constructor(jobs = defaultReadJobs(), opts: { inline?: boolean } = {}) {
    super(`(${readWorkerMain.toString()})(require)`, jobs, 'read', undefined, { lazy: true, ...(opts.inline ? { inline: () => new InlineWorker(readWorkerMain, undefined) } : {}) });
  }

  /**
   * Read and hash a batch of small files (each at most {@link WHOLE_FILE_MAX} bytes) on the
   * least-loaded worker. The reply's buffer holds the files back to back from its start (plus one
   * spare byte, and whatever else it held); when `failure` is set, the files before
   * `failure.index` were read and matched. `spare`, a buffer the caller no longer uses, is
   * transferred and filled when it is large enough (then it is the reply's buffer).
   */
  files(paths: string[], sizes: number[], sha256s: string[], spare?: ArrayBuffer): Promise<ReadReply> {
    return spare ? this.send({ op: 'files', paths, sizes, sha256s, buf: spare }, this.pick(), [spare]) : this.send({ op: 'files', paths, sizes, sha256s });
  }

  /**
   * Read the block [offset, offset + length) of a large file on worker `w` into the first `length`
   * bytes of the reply's buffer (`spare`, when given and large enough). Blocks of one file must
   * go to one worker, in order, starting at 0; the last one checks the end and the digest.
   */
  block(w: number, path: string, size: number, sha256: string, offset: number, length: number, spare?: ArrayBuffer): Promise<ReadReply> {
    return spare ? this.send({ op: 'block', path, size, sha256, offset, length, buf: spare }, w, [spare]) : this.send({ op: 'block', path, size, sha256, offset, length }, w);
  }
}
