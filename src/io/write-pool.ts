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
 * - `copy-big`: one large store object, copied inside the kernel (copy_file_range, no trip through
 *   this process) — by reads and writes where the target has no Unix modes (FAT: copyFile's chmod
 *   fails) —, then read back from the target and hashed; on a mismatch the file is removed;
 * - `open` / `chunk` / `end`: one large file whose bytes come in chunks (from an archive), written,
 *   then read back from the target and hashed at `end`; removed on a mismatch. All requests for one
 *   such file go to the same worker, in order.
 *
 * A large file's wrong bytes do reach the disk before they are removed; a small file's never do.
 * Reading a large file back (from the page cache it was just written to) costs about what hashing
 * it on its way would, and checks the bytes the target really holds: restore's final verify need
 * not read it a third time (see `identity`).
 *
 * Every file is written under a temporary name in its own folder ({@link RESTORE_TEMP_RE},
 * `.snap-restore.<12 hex>.tmp`), created with O_CREAT | O_EXCL | O_NOFOLLOW (never through a link,
 * never over an existing file), mode 0644 less the umask; only once its bytes matched their digest
 * is it linked to its name (link(2): never over an existing name; a rename where the file system
 * has no hard links, after checking the name is free) and the temporary name removed. So a process
 * killed at any moment (SIGKILL) never leaves a partial or unchecked file under a name of the
 * snapshot — only temporaries, which a failed restore's clean-up (or the user, after a SIGKILL)
 * removes with the folder. A large file is also flushed to disk (fdatasync) before it is named, so
 * a power loss cannot leave its name on a partial file either; small files are not (one fsync each
 * costs more than the restore): restore flushes them all at once, with one syncfs of the target's
 * file system, before it reports success (see `restore.ts`). A power loss before that may bring
 * some back empty or short under their names — as after any interrupted restore, `verify` of the
 * folder says which. The file's folder must exist.
 */
import { WorkerPool } from './worker-pool.js';
import { InlineWorker } from './inline-worker.js';
import { defaultReadJobs, WHOLE_FILE_MAX } from './read-pool.js';
import { WRITE_SLICE } from './write-slice.js';

export { WHOLE_FILE_MAX };

/**
 * The name of a file restore is still writing or checking (`.snap-restore.<12 hex>.tmp`, beside
 * the file it becomes). A restore killed with SIGKILL leaves such files in the target folder.
 */
export const RESTORE_TEMP_RE = /^\.snap-restore\.[0-9a-f]{12}\.tmp$/;

/** Length in bytes of such a temporary name ({@link RESTORE_TEMP_RE}): `.snap-restore.` (14), 12 hex, `.tmp` (4). */
export const RESTORE_TEMP_NAME_BYTES = 30;

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
  /** The request's buffer, handed back (`write`, `chunk`). */
  buf?: ArrayBuffer;
  /**
   * For `copy-big` and `end`: the target's `dev:ino:size:mtimeNs:ctimeNs` after it was read back
   * and matched, when it did not change during that read (see verify's `hashed` option).
   */
  identity?: string;
}

/** Worker body: self-contained (started with `eval`), only Node built-ins, loaded with the `require` it is given (so a bundler leaves those calls alone). */
function writeWorkerMain(require: NodeJS.Require, slice: number): void {
  /* eslint-disable */
  const { parentPort } = require('node:worker_threads');
  const fs = require('node:fs');
  const path = require('node:path');
  const crypto = require('node:crypto');
  const O = fs.constants;
  const READ = O.O_RDONLY | (O.O_NOFOLLOW ?? 0) | (O.O_NONBLOCK ?? 0);
  const CREATE = O.O_WRONLY | O.O_CREAT | O.O_EXCL | (O.O_NOFOLLOW ?? 0);
  const CHUNK = 1 << 20;
  const oneShot = crypto.hash as ((alg: string, data: any, enc: string) => string) | undefined;
  const sha = (b: Buffer): string => (oneShot ? oneShot('sha256', b, 'hex') : crypto.createHash('sha256').update(b).digest('hex'));
  const streams = new Map<number, { fd: number; dst: string; tmp: string; size: number; sha256: string; got: number; fail?: any }>();

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
  // Writes of at most `slice` bytes: small page-cache folios (see write-slice.ts).
  function writeAll(fd: number, buf: Buffer, path: string): void {
    let off = 0;
    try {
      while (off < buf.length) off += fs.writeSync(fd, buf, off, Math.min(slice, buf.length - off));
    } catch (e) {
      throw io(e, path);
    }
  }
  function create(file: string): number {
    try {
      return fs.openSync(file, CREATE, 0o644);
    } catch (e) {
      throw io(e, file);
    }
  }
  /** A fresh temporary name beside `dst` (RESTORE_TEMP_RE). */
  const tempFor = (dst: string): string => path.join(path.dirname(dst), `.snap-restore.${crypto.randomBytes(6).toString('hex')}.tmp`);
  const removeQuietly = (file: string): void => {
    try {
      fs.unlinkSync(file);
    } catch {}
  };
  /** Errors of link(2) on a file system without hard links: then the name is checked free and the file renamed. */
  const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);
  /**
   * Give the checked, flushed temporary file `tmp` its name `dst`, never over an existing name; the
   * temporary name is gone afterwards (also on failure).
   */
  function place(tmp: string, dst: string): void {
    try {
      try {
        fs.linkSync(tmp, dst);
      } catch (e: any) {
        if (!NO_LINKS.has(e?.code)) throw e;
        let free = false;
        try {
          fs.lstatSync(dst);
        } catch (e2: any) {
          if (e2?.code !== 'ENOENT') throw e2;
          free = true;
        }
        if (!free) throw Object.assign(new Error(`EEXIST: file already exists, '${dst}'`), { code: 'EEXIST' });
        fs.renameSync(tmp, dst);
        return;
      }
    } catch (e) {
      removeQuietly(tmp);
      throw io(e, dst);
    }
    removeQuietly(tmp);
  }
  /** Errors of a chmod (copyFile sets the source's mode on its copy) on a file system without Unix modes. */
  const NO_MODES = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);
  /**
   * Copy the store object `src` (`size` bytes) to the new temporary file `tmp` by reads and writes
   * of {@link CHUNK} bytes; `tmp` is removed on failure. Checked afterwards by the read-back.
   */
  function copyByHand(src: string, tmp: string, size: number): void {
    const from = openSource(src, size);
    let to = -1;
    try {
      to = create(tmp);
      if (back === null) back = Buffer.allocUnsafe(CHUNK);
      let n: number;
      try {
        n = fs.readSync(from, back, 0, CHUNK, null);
      } catch (e) {
        throw io(e, src);
      }
      while (n > 0) {
        writeAll(to, back.subarray(0, n), tmp);
        try {
          n = fs.readSync(from, back, 0, CHUNK, null);
        } catch (e) {
          throw io(e, src);
        }
      }
    } catch (e) {
      if (to >= 0) removeQuietly(tmp);
      throw e;
    } finally {
      fs.closeSync(from);
      if (to >= 0) fs.closeSync(to);
    }
  }
  /** Flush a file's bytes to disk before it gets its name: a crash never leaves its name on a partial file. */
  function flush(fd: number, file: string): void {
    try {
      fs.fdatasyncSync(fd);
    } catch (e) {
      throw io(e, file);
    }
  }
  /**
   * Write a whole small file that has already been checked: under a temporary name, then named (not
   * flushed one by one: an fsync per small file made restore of 20,000 files up to 2.5 × slower).
   */
  function writeFile(dst: string, data: Buffer): void {
    const tmp = tempFor(dst);
    const fd = create(tmp);
    try {
      writeAll(fd, data, dst);
    } catch (e) {
      fs.closeSync(fd);
      removeQuietly(tmp);
      throw e;
    }
    fs.closeSync(fd);
    place(tmp, dst);
  }
  let scratch = Buffer.allocUnsafe(1 << 16);
  /** `dev:ino:size:mtimeNs:ctimeNs` of a bigint stat: what tells one state of one file from any other. */
  const identityOf = (st: any): string => `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  let back: Buffer | null = null;
  /**
   * Start writing `file`'s dirty pages to disk now, without waiting: an fdatasync on libuv's thread
   * pool, through a descriptor of its own, closed when it is done. The disk then works while this
   * thread reads the file back and hashes it, and the fdatasync that must precede its name waits
   * only for what is left (the shards' restore: 2.15–2.57 s before). Its own open file description
   * keeps its own write-back error cursor, so an I/O error it meets is still reported to that
   * fdatasync. Best effort: if it cannot start, that fdatasync does all the work, as before.
   */
  function startWriteback(file: string): void {
    let fd = -1;
    try {
      fd = fs.openSync(file, READ);
      const opened = fd;
      fs.fdatasync(opened, () => fs.close(opened, writebackDone));
      writebacks++;
    } catch {
      if (fd >= 0) fs.closeSync(fd);
    }
  }
  /** Early write-backs started and not yet closed ({@link startWriteback}); `settle` requests wait for none to be left. */
  let writebacks = 0;
  /** The replies of `settle` requests waiting for {@link writebacks} to reach 0. */
  const whenSettled: (() => void)[] = [];
  function writebackDone(): void {
    if (--writebacks === 0) for (const answer of whenSettled.splice(0)) answer();
  }
  /**
   * Read a just-written temporary file back, hash it and flush it to disk; remove it unless it has
   * exactly `size` bytes with digest `sha256` (`source` names where the bytes came from, for the
   * failure). `mode`, when given, is set first (a kernel copy takes the store object's 0444).
   * Returns its stat when it did not change while it was read, else undefined (see {@link named}).
   */
  function readBack(file: string, size: number, sha256: string, mode: number | undefined, source: string): any {
    let fd = -1;
    let fail: any;
    let same: any;
    try {
      fd = fs.openSync(file, READ);
      if (mode !== undefined) fs.fchmodSync(fd, mode);
      const before = fs.fstatSync(fd, { bigint: true });
      if (!before.isFile() || before.size !== BigInt(size)) throw new Fail('size', source);
      startWriteback(file);
      if (back === null) back = Buffer.allocUnsafe(CHUNK);
      const h = crypto.createHash('sha256');
      let pos = 0;
      let n: number;
      while ((n = fs.readSync(fd, back, 0, CHUNK, pos)) > 0) {
        h.update(n === CHUNK ? back : back.subarray(0, n));
        pos += n;
      }
      if (pos !== size) throw new Fail('size', source);
      const got = h.digest('hex');
      if (got !== sha256) throw new Fail('digest', source, undefined, undefined, got);
      const after = fs.fstatSync(fd, { bigint: true });
      if (identityOf(after) === identityOf(before)) same = after;
      flush(fd, file);
    } catch (e) {
      fail = io(e, file);
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
    if (fail) {
      removeQuietly(file);
      throw fail;
    }
    return same;
  }
  /**
   * Name the checked temporary file `tmp` `dst` ({@link place}) and return its identity when it is
   * still the file read back (`read`: readBack's stat): same device, inode, size and mtime (naming
   * it moves its ctime on, so the ctime is taken after). Else undefined: the final verify hashes it.
   */
  function named(tmp: string, dst: string, read: any): string | undefined {
    place(tmp, dst);
    if (read === undefined) return undefined;
    try {
      const st = fs.lstatSync(dst, { bigint: true });
      return st.isFile() && st.dev === read.dev && st.ino === read.ino && st.size === read.size && st.mtimeNs === read.mtimeNs ? identityOf(st) : undefined;
    } catch {
      return undefined;
    }
  }

  parentPort.on('message', (m: any) => {
    /** Reply, handing back the request's buffer (if any) for the sender to use again. */
    const reply = (r: any) => (m.buf instanceof ArrayBuffer && m.buf.byteLength > 0 ? parentPort.postMessage({ ...r, buf: m.buf }, [m.buf]) : parentPort.postMessage(r));
    try {
      if (m.op === 'settle') {
        // Answered once this worker's early write-backs have all ended and their descriptors are
        // closed: a restore that ended with one still open left the file open until the process
        // exited, and on a FUSE target (fusefat) its folder could not be removed just after.
        if (writebacks === 0) reply({ id: m.id });
        else whenSettled.push(() => reply({ id: m.id }));
        return;
      }
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
            reply({ id: m.id, failure: failure(i, e) });
            return;
          }
        }
      } else if (m.op === 'copy-big') {
        // Copied inside the kernel (copy_file_range), then read back from the target and hashed:
        // the digest is of the bytes now in the target, not of a buffer on their way there.
        let st;
        try {
          st = fs.lstatSync(m.src);
        } catch (e: any) {
          if (e.code === 'ENOENT' || e.code === 'ENOTDIR') throw new Fail('missing', m.src, e.code, e.message);
          throw io(e, m.src);
        }
        if (!st.isFile()) throw new Fail('not-a-file', m.src);
        if (st.size !== m.size) throw new Fail('size', m.src);
        let tmp = tempFor(m.dst);
        let mode: number | undefined = m.mode;
        try {
          fs.copyFileSync(m.src, tmp, O.COPYFILE_EXCL);
        } catch (e: any) {
          removeQuietly(tmp);
          if (!NO_MODES.has(e?.code)) throw io(e, e?.code === 'ENOENT' ? m.src : m.dst);
          // A target without Unix modes (FAT: ENOSYS through FUSE, EPERM from the kernel) refuses
          // the chmod to the object's 0444 that copyFile makes: copy by reads and writes instead,
          // into a new temporary file created as every other one (its mode is the mount's).
          tmp = tempFor(m.dst);
          copyByHand(m.src, tmp, m.size);
          mode = undefined;
        }
        const identity = named(tmp, m.dst, readBack(tmp, m.size, m.sha256, mode, m.src));
        parentPort.postMessage({ id: m.id, identity });
        return;
      } else if (m.op === 'open') {
        const s = { fd: -1, dst: m.dst, tmp: tempFor(m.dst), size: m.size, sha256: m.sha256, got: 0, fail: undefined as any };
        streams.set(m.key, s);
        try {
          s.fd = create(s.tmp);
        } catch (e) {
          s.fail = e; // reported by the next chunk or the end
        }
        return; // no reply
      } else if (m.op === 'chunk') {
        const s = streams.get(m.key);
        if (!s) throw new Fail('io', undefined, undefined, 'chunk of an unknown file');
        if (s.fail) throw s.fail;
        const b = Buffer.from(m.buf, 0, m.len);
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
          if (s.fd >= 0) removeQuietly(s.tmp);
          throw s.fail;
        }
        if (s.got !== s.size) {
          removeQuietly(s.tmp);
          throw new Fail('size', s.dst);
        }
        // Read back from the target and hashed: the digest is of the bytes the file now holds.
        const identity = named(s.tmp, s.dst, readBack(s.tmp, s.size, s.sha256, undefined, s.dst));
        parentPort.postMessage({ id: m.id, identity });
        return;
      }
      reply({ id: m.id });
    } catch (e) {
      reply({ id: m.id, failure: failure(0, e) });
    }
  });
}

/**
 * A pool of write-and-check workers, started as they are needed (as {@link ReadPool}: a restore of
 * a few small files boots one thread). Always {@link WritePool.close} it.
 */
export class WritePool extends WorkerPool<WriteReply> {
  private nextKey = 0;

  /**
   * @param jobs most worker threads (default: one per core, at most 4)
   * @param opts.inline  no thread at all: every request is written on the main thread
   *   (`inline-worker.ts`), for work the caller knows is small (a few small files)
   * @throws SnapError `USAGE` when `jobs` is not a positive integer
   */
  constructor(jobs = defaultReadJobs(), opts: { inline?: boolean } = {}) {
    super(`(${writeWorkerMain.toString()})(require, ${WRITE_SLICE})`, jobs, 'write', undefined, { lazy: true, ...(opts.inline ? { inline: () => new InlineWorker((r) => writeWorkerMain(r, WRITE_SLICE), undefined) } : {}) });
  }

  /**
   * Wait until every worker's early write-backs (a second descriptor of each large file, flushed
   * while it is read back) have ended and their descriptors are closed, then stop the workers (as
   * {@link WorkerPool.close}). A pool that failed stops at once.
   */
  override async close(): Promise<void> {
    await this.broadcast({ op: 'settle' }).catch(() => undefined);
    await super.close();
  }

  /** Copy small store objects `srcs[i]` to new files `dsts[i]`, each checked before it is written. */
  copy(srcs: string[], dsts: string[], sizes: number[], sha256s: string[]): Promise<WriteReply> {
    return this.send({ op: 'copy', srcs, dsts, sizes, sha256s });
  }

  /**
   * Write small files from `buf` (their bytes back to back), each checked before it is written.
   * The buffer is transferred to the worker and handed back in the reply's `buf`.
   */
  write(dsts: string[], sizes: number[], sha256s: string[], buf: ArrayBuffer): Promise<WriteReply> {
    return this.send({ op: 'write', dsts, sizes, sha256s, buf }, this.pick(), [buf]);
  }

  /**
   * Copy one large store object to a new file: a kernel copy (copy_file_range), then the target is
   * read back, hashed and given `mode`; removed on a mismatch. The reply's `identity` is set when
   * the file did not change while it was read back.
   */
  copyBig(src: string, dst: string, size: number, sha256: string, mode: number): Promise<WriteReply> {
    return this.send({ op: 'copy-big', src, dst, size, sha256, mode });
  }

  /**
   * Start a large file whose bytes will come in chunks: returns `chunk(buf, len)` (the first `len`
   * bytes of `buf` are written; the buffer is transferred and handed back in the reply's `buf`)
   * and `end()`. At the end the file is read back from the target and hashed; the
   * reply says whether its size and digest matched (the file is removed when not), and carries its
   * `identity` when it did not change while it was read back.
   */
  stream(dst: string, size: number, sha256: string): { chunk: (buf: ArrayBuffer, len: number) => Promise<WriteReply>; end: () => Promise<WriteReply> } {
    const w = this.pick();
    const key = this.nextKey++;
    this.post({ op: 'open', key, dst, size, sha256 }, w);
    return {
      chunk: (buf, len) => this.send({ op: 'chunk', key, buf, len }, w, [buf]),
      end: () => this.send({ op: 'end', key, dst }, w),
    };
  }
}
