/**
 * A pool of worker threads that write files out for `restore`, each file's bytes hashed and checked
 * against its digest as they are written (node:crypto SHA-256), so that the costly part of a restore
 * — creating, writing and closing many files, and hashing — runs on every core.
 *
 * Requests:
 * - `copy`: a batch of small store objects (each at most {@link WHOLE_FILE_MAX} bytes): each is read
 *   whole (one read of size + 1 bytes, which proves its end), hashed, and written out only when it
 *   matches — wrong bytes never reach the target;
 * - `write`: a batch of small files whose bytes come with the request (back to back in one
 *   transferred buffer), hashed and written out only when they match;
 * - `copy-big`: one large store object, copied in 1 MiB chunks, hashed as written; on a mismatch the
 *   file is removed;
 * - `open` / `chunk` / `end`: one large file whose bytes come in chunks (from an archive), hashed as
 *   written; `end` checks the size and digest and removes the file on a mismatch (wrong bytes of a
 *   large file do reach the disk, then are removed). All requests for one such file go to the same
 *   worker, in order.
 *
 * Every target file is created with O_CREAT | O_EXCL | O_NOFOLLOW (never through a link, never over
 * an existing file), mode 0644 less the umask; its folder must exist.
 */
import { WorkerPool } from './worker-pool.js';
import { defaultReadJobs, WHOLE_FILE_MAX } from './read-pool.js';

export { WHOLE_FILE_MAX };

/** A failure on one file of a request. */
export interface WriteFailure {
  /** Index of the file in a batch (0 for single-file requests). */
  index: number;
  /** `missing` / `not-a-file` / `size` (the source object), `digest` (bytes differ from the digest), `io` (any other error). */
  why: 'missing' | 'not-a-file' | 'size' | 'digest' | 'io';
  /** The actual SHA-256 when `why` is `digest`. */
  sha256?: string;
  /** Which file the error is about: the source object or the target. */
  path?: string;
  errno?: string;
  message?: string;
}

/** The reply to a request. */
export interface WriteReply {
  id: number;
  failure?: WriteFailure;
}

/** Worker body: self-contained (started with `eval`), only Node built-ins. */
function writeWorkerMain(): void {
  /* eslint-disable */
  const { parentPort } = require('node:worker_threads');
  const fs = require('node:fs');
  const crypto = require('node:crypto');
  const O = fs.constants;
  const READ = O.O_RDONLY | (O.O_NOFOLLOW ?? 0) | (O.O_NONBLOCK ?? 0);
  const CREATE = O.O_WRONLY | O.O_CREAT | O.O_EXCL | (O.O_NOFOLLOW ?? 0);
  const CHUNK = 1 << 20;
  const oneShot = crypto.hash as ((alg: string, data: any, enc: string) => string) | undefined;
  const sha = (b: Buffer): string => (oneShot ? oneShot('sha256', b, 'hex') : crypto.createHash('sha256').update(b).digest('hex'));
  const streams = new Map<number, { fd: number; dst: string; size: number; sha256: string; h: any; got: number; fail?: any }>();

  class Fail extends Error {
    constructor(readonly why: string, readonly path?: string, readonly errno?: string, msg?: string, readonly sha256?: string) {
      super(msg ?? why);
    }
  }
  const io = (e: any, path: string) => (e instanceof Fail ? e : new Fail('io', path, e?.code, e?.message ?? String(e)));
  const failure = (index: number, e: any) =>
    e instanceof Fail ? { index, why: e.why, path: e.path, errno: e.errno, message: e.message, sha256: e.sha256 } : { index, why: 'io', errno: e?.code, message: e?.message ?? String(e) };

  function openSource(path: string, size: number): number {
    let fd: number;
    try {
      fd = fs.openSync(path, READ);
    } catch (e: any) {
      if (e.code === 'ENOENT' || e.code === 'ENOTDIR') throw new Fail('missing', path, e.code, e.message);
      if (e.code === 'ELOOP') throw new Fail('not-a-file', path, e.code, e.message);
      throw io(e, path);
    }
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size !== size) {
      fs.closeSync(fd);
      throw new Fail(st.isFile() ? 'size' : 'not-a-file', path);
    }
    return fd;
  }
  function readFull(fd: number, buf: Buffer, len: number): number {
    let got = 0;
    while (got < len) {
      const n = fs.readSync(fd, buf, got, len - got, null);
      got += n;
      if (n === 0 || got < len) break;
    }
    return got;
  }
  function writeAll(fd: number, buf: Buffer, path: string): void {
    let off = 0;
    try {
      while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      throw io(e, path);
    }
  }
  function create(path: string): number {
    try {
      return fs.openSync(path, CREATE, 0o644);
    } catch (e) {
      throw io(e, path);
    }
  }
  /** Write a whole file that has already been checked. */
  function writeFile(path: string, data: Buffer): void {
    const fd = create(path);
    try {
      writeAll(fd, data, path);
    } finally {
      fs.closeSync(fd);
    }
  }
  let scratch = Buffer.allocUnsafe(1 << 16);

  parentPort.on('message', (m: any) => {
    try {
      if (m.op === 'copy') {
        for (let i = 0; i < m.srcs.length; i++) {
          try {
            const size = m.sizes[i] as number;
            if (scratch.length < size + 1) scratch = Buffer.allocUnsafe(Math.max(size + 1, scratch.length * 2));
            const fd = openSource(m.srcs[i], size);
            let n: number;
            try {
              n = readFull(fd, scratch, size + 1);
            } catch (e) {
              throw io(e, m.srcs[i]);
            } finally {
              fs.closeSync(fd);
            }
            if (n !== size) throw new Fail('size', m.srcs[i]);
            const data = scratch.subarray(0, size);
            const got = sha(data);
            if (got !== m.sha256s[i]) throw new Fail('digest', m.srcs[i], undefined, undefined, got);
            writeFile(m.dsts[i], data);
          } catch (e) {
            parentPort.postMessage({ id: m.id, failure: failure(i, e) });
            return;
          }
        }
      } else if (m.op === 'write') {
        const buf = Buffer.from(m.buf);
        let off = 0;
        for (let i = 0; i < m.dsts.length; i++) {
          const size = m.sizes[i] as number;
          const data = buf.subarray(off, off + size);
          off += size;
          try {
            const got = sha(data);
            if (got !== m.sha256s[i]) throw new Fail('digest', m.dsts[i], undefined, undefined, got);
            writeFile(m.dsts[i], data);
          } catch (e) {
            parentPort.postMessage({ id: m.id, failure: failure(i, e) });
            return;
          }
        }
      } else if (m.op === 'copy-big') {
        const fd = openSource(m.src, m.size);
        let out = -1;
        try {
          out = create(m.dst);
          const h = crypto.createHash('sha256');
          const chunk = Buffer.allocUnsafe(CHUNK);
          let left = m.size;
          while (left > 0) {
            const want = Math.min(CHUNK, left);
            const n = readFull(fd, chunk, want);
            if (n !== want) throw new Fail('size', m.src);
            const part = chunk.subarray(0, n);
            h.update(part);
            writeAll(out, part, m.dst);
            left -= n;
          }
          if (fs.readSync(fd, chunk, 0, 1, null) !== 0) throw new Fail('size', m.src);
          const got = h.digest('hex');
          if (got !== m.sha256) throw new Fail('digest', m.src, undefined, undefined, got);
        } catch (e) {
          if (out >= 0) {
            fs.closeSync(out);
            out = -1;
            try {
              fs.unlinkSync(m.dst);
            } catch {}
          }
          throw e;
        } finally {
          fs.closeSync(fd);
          if (out >= 0) fs.closeSync(out);
        }
      } else if (m.op === 'open') {
        // `hashed`: the sender hashes the chunks itself (it sends its digest with `end`).
        const s = { fd: -1, dst: m.dst, size: m.size, sha256: m.sha256, h: m.hashed ? null : crypto.createHash('sha256'), got: 0, fail: undefined as any };
        streams.set(m.key, s);
        try {
          s.fd = create(m.dst);
        } catch (e) {
          s.fail = e; // reported by the next chunk or the end
        }
        return; // no reply
      } else if (m.op === 'chunk') {
        const s = streams.get(m.key);
        if (!s) throw new Fail('io', undefined, undefined, 'chunk of an unknown file');
        if (s.fail) throw s.fail;
        const b = Buffer.from(m.buf);
        s.h?.update(b);
        s.got += b.length;
        try {
          writeAll(s.fd, b, s.dst);
        } catch (e) {
          s.fail = e;
          throw e;
        }
      } else if (m.op === 'end') {
        const s = streams.get(m.key);
        if (!s) throw new Fail('io', m.dst, undefined, 'end of an unknown file');
        streams.delete(m.key);
        if (s.fd >= 0) fs.closeSync(s.fd);
        if (s.fail) {
          if (s.fd >= 0) {
            try {
              fs.unlinkSync(s.dst);
            } catch {}
          }
          throw s.fail;
        }
        const got: string = s.h ? s.h.digest('hex') : String(m.actual);
        if (s.got !== s.size || got !== s.sha256) {
          try {
            fs.unlinkSync(s.dst);
          } catch {}
          throw new Fail(s.got !== s.size ? 'size' : 'digest', s.dst, undefined, undefined, got);
        }
      }
      parentPort.postMessage({ id: m.id });
    } catch (e) {
      parentPort.postMessage({ id: m.id, failure: failure(0, e) });
    }
  });
}

/** A pool of write-and-check workers. Always {@link WritePool.close} it. */
export class WritePool extends WorkerPool<WriteReply> {
  private nextKey = 0;

  /**
   * @param jobs number of worker threads (default: one per core, at most 4)
   * @throws SnapError `USAGE` when `jobs` is not a positive integer
   */
  constructor(jobs = defaultReadJobs()) {
    super(`(${writeWorkerMain.toString()})()`, jobs, 'write');
  }

  /** Copy small store objects `srcs[i]` to new files `dsts[i]`, each checked before it is written. */
  copy(srcs: string[], dsts: string[], sizes: number[], sha256s: string[]): Promise<WriteReply> {
    return this.send({ op: 'copy', srcs, dsts, sizes, sha256s });
  }

  /** Write small files from `buf` (their bytes back to back; the buffer is transferred), each checked before it is written. */
  write(dsts: string[], sizes: number[], sha256s: string[], buf: ArrayBuffer): Promise<WriteReply> {
    return this.send({ op: 'write', dsts, sizes, sha256s, buf }, this.pick(), [buf]);
  }

  /** Copy one large store object to a new file, hashed as written (removed on a mismatch). */
  copyBig(src: string, dst: string, size: number, sha256: string): Promise<WriteReply> {
    return this.send({ op: 'copy-big', src, dst, size, sha256 });
  }

  /**
   * Start a large file whose bytes will come in chunks: returns `chunk(buf)` (the buffer is
   * transferred) and `end()`, whose reply says whether the size and digest matched. With
   * `hashedBySender`, the caller hashes the very bytes it sends (so hashing and writing overlap on
   * two threads) and passes its digest to `end(actual)`; the worker compares and removes the file
   * on a mismatch.
   */
  stream(dst: string, size: number, sha256: string, hashedBySender = false): { chunk: (buf: ArrayBuffer) => Promise<WriteReply>; end: (actual?: string) => Promise<WriteReply> } {
    const w = this.pick();
    const key = this.nextKey++;
    this.post({ op: 'open', key, dst, size, sha256, hashed: hashedBySender }, w);
    return {
      chunk: (buf) => this.send({ op: 'chunk', key, buf }, w, [buf]),
      end: (actual) => this.send({ op: 'end', key, dst, actual }, w),
    };
  }
}
