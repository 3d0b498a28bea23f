/**
 * The body of a hashing worker thread. It is started with `new Worker(source, { eval: true })`
 * from {@link workerSource}, so it must be self-contained: no imports, no closure variables,
 * only Node built-ins, loaded with the `require` it is passed (a parameter, so that the bundler of
 * the CLI leaves those calls alone).
 *
 * Each message is a batch of items in manifest order; the reply carries, per batch:
 * - seal modes: the manifest text of the batch (canonical lines, SPEC §2) and each line's RFC 9162
 *   leaf hash SHA-256(0x00 ‖ line), computed here with node:crypto; or, when the batch says where
 *   it starts in the manifest, the text as UTF-8 bytes in a transferred buffer and the roots of the
 *   aligned complete subtrees its leaves form (core `foldAlignedSubtrees`), so the main thread
 *   combines a few roots per batch, not one per file, and copies no text; with `ids: true` (an
 *   incremental seal), also each regular file's `dev:ino:size:mtimeNs:ctimeNs` as read;
 * - verify mode: only the items that do not match their expected digest and size;
 * - `{ list: [FOLDER, …] }` (any mode): each folder's plain entries in manifest order, for the walk.
 *
 * A file is opened with O_NOFOLLOW | O_NONBLOCK (a symlink or FIFO swapped in after the walk is
 * refused, never followed or blocked on), checked with fstat before and after reading (size, mtime,
 * ctime), and must yield exactly its size in bytes: otherwise it changed while it was read.
 *
 * Store mode writes each new object from the very bytes that were hashed (SPEC §7), first under a
 * pending name (STORE/tmp/pending-N/<hex>); a `commit` message, sent once the caller has flushed
 * the file system, renames them into objects/ — so no object is ever under its final name before
 * its bytes are on disk, with one flush per seal instead of one fsync per object (or, for a seal of
 * a few new objects, `commit` with `fsyncEach`: each pending object fsynced before its rename, then
 * the folders renamed into — no syncfs of the whole file system). Files up to
 * WHOLE_FILE_MAX are read into memory once, hashed, then written only if the object is absent;
 * larger files are copied to a temporary file while hashing (or, when the caller hints that the
 * parent snapshot had the same path and size and its object exists, hashed first and copied only
 * if the digest turns out new, the copy re-hashed and compared). Every digest is looked up in the
 * store, also one equal to the parent's hint: a parent's object may have been removed since.
 */

import { WRITE_SLICE } from './write-slice.js';
import { foldAlignedSubtrees } from '../core/merkle.js';

/* eslint-disable */
declare const require: NodeJS.Require;

export function hashWorkerMain(require: NodeJS.Require, slice: number, fold: typeof foldAlignedSubtrees): void {
  const { parentPort, workerData } = require('node:worker_threads');
  const fs = require('node:fs');
  const { createHash } = require('node:crypto');
  const { join } = require('node:path');

  const CHUNK = 1 << 20;
  /** Files smaller than this (bytes) are read in one piece and hashed in one call. */
  const WHOLE_FILE_MAX = 8 << 20;
  /** What this worker works on: its `workerData`, or (a worker started before its pool, see worker-pool.ts) the first message's `config`. */
  interface Config {
    root: string;
    mode: 'seal' | 'store' | 'verify' | 'objects';
    objectsDir?: string;
    /** Store mode, an S3 store's working copy: an empty file under an object's name is the session's marker (present in the bucket), not a damaged object. */
    markers?: boolean;
    tmpDir?: string;
    workerIndex: number;
    /** Tests only (SNAP_TEST_MUTATE_DURING_READ): append to this file between the two fstats, to prove a change is caught. */
    mutateForTest?: string;
    /**
     * Tests only (SNAP_TEST_REPLACE_BEFORE_OPEN): `symlink:ABS` or `remove:ABS`, done to ABS just
     * before seal or verify opens it (a change between the walk and the read); `fifo-after-hash:ABS`: ABS
     * replaced by a FIFO (mkfifo(1)) once seal has hashed it; `fifo:ABS`: ABS replaced by a FIFO just
     * before verify opens it (a swap between the walk and the read) (a change between the hash and a later
     * read, such as the record reader's); `swap-folder:ABS`: ABS's folder F and the folder `F.swap`
     * trade places just before seal opens ABS, and trade back once it was hashed (a swap that moves no
     * file's ctime); `grow:ABS`: ABS grows to 16 MiB (sparse) just before it is opened (past a
     * main-thread worker's budget after its batch was admitted).
     */
    replaceForTest?: string;
    /**
     * Set for a worker run on the main thread (`inline-worker.ts`): the most files and bytes it
     * hashes. A hashing batch that would take it past either is declined (see {@link admit}).
     */
    inline?: { files: number; bytes: number };
  }
  let mode: Config['mode'] = 'seal';
  let objectsDir: string | undefined;
  let markers = false;
  let tmpDir: string | undefined;
  let workerIndex = 0;
  let mutateForTest: string | undefined;
  let replaceForTest: string | undefined;
  let inline: Config['inline'];
  /** A main-thread worker's files and bytes admitted so far, whether it declined (then it declines every later batch), and whether it said `warm`. */
  let inlineFiles = 0;
  let inlineBytes = 0;
  /** The bytes a main-thread worker has read, as the descriptors it opened say ({@link chargeInline}). */
  let inlineRead = 0;
  let inlineDone = false;
  let inlineWarm = false;
  const chunk = Buffer.allocUnsafe(CHUNK);
  /** `root/` once: a dataset path (validated: no `.`/`..` segments, no `//`) is appended as is, no path.join per file. */
  let rootSlash = '';
  /** The dataset root, absolute (the `list` of the root folder reads it). */
  let rootAbs = '';
  /** This worker's folder of pending objects (store mode): written and hashed, renamed into objects/ only at commit. */
  let pendingDir = '';
  function configure(c: Config): void {
    ({ mode, objectsDir, tmpDir, workerIndex, mutateForTest, replaceForTest, inline } = c);
    markers = c.markers === true;
    inlineFiles = inlineBytes = 0;
    inlineDone = inlineWarm = false;
    rootAbs = require('node:path').resolve(c.root);
    rootSlash = rootAbs.endsWith('/') ? rootAbs : `${rootAbs}/`;
    pendingDir = tmpDir ? join(tmpDir as string, `pending-${workerIndex}`) : '';
    pendingMade = false;
    earlyFlushError = undefined; // an earlier pool's (a seal that failed before its commit): not this one's
  }
  /**
   * Whether this worker made its folder of pending objects for the current configuration. It is
   * made when the first object is kept ({@link makePendingDir}), not when the worker is configured:
   * a configuration comes by message with no reply, so a worker of a seal that failed before using
   * it may read it after the seal removed its new store — a folder made then (with its parents, as
   * it once was) brought the store's folder back, not a store, and the next seal there refused it.
   */
  let pendingMade = false;
  /**
   * Make this worker's pending folder inside the store's tmp folder, once (never its parents: a
   * tmp folder gone is the store taken away, reported by the write that needed it). Something
   * already there that is not a folder (a link planted by someone who can write the store) is
   * refused: no copy of the data is written through it.
   * @throws StoreWrite | Malformed
   */
  function makePendingDir(): void {
    if (pendingMade) return;
    try {
      fs.mkdirSync(pendingDir);
    } catch (e: any) {
      if (e?.code !== 'EEXIST') throw storeWrite(e, pendingDir);
      if (!fs.lstatSync(pendingDir).isDirectory()) throw new Malformed(`${pendingDir} is not a folder of the store's own: seal writes no copy through it, and committed no snapshot; remove it and seal again`);
    }
    pendingMade = true;
  }
  let whole: Buffer | null = null;
  const LEAF0 = Buffer.from([0]);
  // One-shot crypto.hash (Node >= 20.12) is about twice as fast as createHash for small inputs.
  const oneShot: ((alg: string, data: any, enc: string) => any) | undefined = require('node:crypto').hash;
  const sha256hex = (b: Buffer): string => (oneShot ? oneShot('sha256', b, 'hex') : createHash('sha256').update(b).digest('hex'));
  /** RFC 9162 leaf hash SHA-256(0x00 ‖ line) of a manifest line (ASCII-safe: the prefix is U+0000 in UTF-8). */
  const leafOf = (line: string): Buffer => (oneShot ? Buffer.from(oneShot('sha256', '\0' + line, 'latin1'), 'latin1') : createHash('sha256').update(LEAF0).update(line).digest());
  /**
   * Write the leaf hash of `line` into `out` at byte `at`. The digest comes back as a latin1 string
   * (one V8 string, no ArrayBuffer per line for the garbage collector to track) and is copied in.
   */
  const putLeaf = oneShot
    ? (out: Buffer, at: number, line: string): void => {
        out.write(oneShot('sha256', '\0' + line, 'latin1'), at, 32, 'latin1');
      }
    : (out: Buffer, at: number, line: string): void => {
        out.set(leafOf(line), at);
      };
  /** RFC 9162 node hash SHA-256(0x01 ‖ left ‖ right), for folding a batch's leaves (see `fold`). */
  const nodeScratch = Buffer.alloc(65);
  nodeScratch[0] = 0x01;
  const nodeHash = (left: Uint8Array, right: Uint8Array): Uint8Array => {
    nodeScratch.set(left, 1);
    nodeScratch.set(right, 33);
    // As a latin1 string copied into a Buffer: about half the CPU of 'buffer' output (native-hash.ts).
    return oneShot ? Buffer.from(oneShot('sha256', nodeScratch, 'latin1'), 'latin1') : createHash('sha256').update(nodeScratch).digest();
  };
  /** The leaf hashes of a batch that is folded here (reused: they are not sent). */
  let leafScratch = Buffer.alloc(0);
  let tmpCounter = 0;

  const O = fs.constants;
  const OPEN_FLAGS = O.O_RDONLY | (O.O_NOFOLLOW ?? 0) | (O.O_NONBLOCK ?? 0);

  class Changed extends Error {
    code = 'FILE_CHANGED';
  }
  class NotFile extends Changed {}
  /**
   * A main-thread worker's file holds more than its budget has left (it grew after the batch was
   * admitted by an lstat of each path): the whole batch goes to a thread instead, before a byte of
   * that file is read — hashing it here would keep signals (Ctrl-C, SIGTERM) waiting until it is done.
   */
  class Declined extends Error {}

  /**
   * For a main-thread worker, count `bytes` about to be read (the size its descriptor has now); past
   * the byte budget, throw {@link Declined}. Nothing for a thread.
   */
  function chargeInline(bytes: number): void {
    if (!inline) return;
    if (inlineRead + bytes > inline.bytes) throw new Declined();
    inlineRead += bytes;
  }
  /** The store is not as snap keeps it (a link where a folder of objects belongs): `STORE_MALFORMED`. */
  class Malformed extends Error {
    code = 'STORE_MALFORMED';
  }
  /**
   * Writing a copy into the store failed (its errno in `code`): the store's folder `storePath`,
   * not the dataset file being sealed, is what is wrong — a pending folder taken away by someone
   * who can write the store is ENOENT, which must not read as "the file was removed".
   */
  class StoreWrite extends Error {
    constructor(
      readonly code: string,
      readonly storePath: string,
      message: string,
    ) {
      super(message);
    }
  }
  const storeWrite = (e: any, folder: string): StoreWrite => (e instanceof StoreWrite ? e : new StoreWrite(typeof e?.code === 'string' ? e.code : '', folder, String(e?.message ?? e)));

  /**
   * Same file, unchanged: size, device, inode, mtime and ctime. Number stats, not BigInt ones (no BigInt
   * per field for the garbage collector): a time in ms as a double keeps steps of about 0.25 µs,
   * finer than the kernel's own timestamp clock (a jiffy, or its coarse clock), so this compares
   * exactly what the BigInt nanoseconds would.
   */
  function sameStat(a: any, b: any): boolean {
    return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino && a.dev === b.dev;
  }

  function objectPath(hex: string): string {
    return `${objectsDir as string}/${hex.slice(0, 2)}/${hex.slice(2)}`; // objectsDir is absolute and normalized (store.ts): no join per file
  }

  function tmpName(): string {
    return join(tmpDir as string, `obj-${process.pid}-${workerIndex}-${Date.now().toString(36)}-${(tmpCounter++).toString(36)}`);
  }

  /** Early flushes of large copies not yet done ({@link closeAfterWriteback}), and the first error one met. */
  const earlyFlushes = new Set<Promise<void>>();
  let earlyFlushError: any;
  /**
   * Close a large object's copy once an `fdatasync` of it is done, started now on libuv's thread
   * pool and not waited for: the disk writes it while this worker hashes and copies the next files,
   * and the flush before the objects are named (one `syncfs`, or an fsync each for a few) waits only
   * for what is left (a store seal of the shards spent 0.9 s in those fsyncs). A `commit` waits for
   * every one of them and fails with the first error one met: an fsync through a descriptor opened
   * after that error was reported here would not report it again. If the call cannot start, the
   * copy is closed at once and the flush at commit does all the work, as before. An S3 store's
   * working copy (`markers`) is not flushed at all (each object is uploaded, then dropped): closed
   * at once.
   */
  function closeAfterWriteback(fd: number): void {
    if (markers) {
      fs.closeSync(fd);
      return;
    }
    let done: Promise<void>;
    try {
      done = new Promise<void>((resolve) => {
        fs.fdatasync(fd, (e: any) => {
          if (e && earlyFlushError === undefined) earlyFlushError = storeWrite(e, tmpDir as string);
          fs.close(fd, () => resolve());
        });
      });
    } catch {
      fs.closeSync(fd);
      return;
    }
    earlyFlushes.add(done);
    void done.then(() => earlyFlushes.delete(done));
  }

  /** Write `len` bytes of `buf`, in writes of at most `slice` bytes (see write-slice.ts). */
  function writeAll(fd: number, buf: Buffer, len: number): void {
    let off = 0;
    while (off < len) off += fs.writeSync(fd, buf, off, Math.min(slice, len - off));
  }

  /** Hash an open file to the end; optionally copy every chunk to `outFd` (a temporary file in the store's tmp). Returns [hex, bytes]. */
  function hashStream(fd: number, outFd: number | null): [string, number] {
    const h = createHash('sha256');
    let total = 0;
    let n: number;
    while ((n = fs.readSync(fd, chunk, 0, CHUNK, null)) > 0) {
      h.update(n === CHUNK ? chunk : chunk.subarray(0, n));
      if (outFd !== null) {
        try {
          writeAll(outFd, chunk, n);
        } catch (e) {
          throw storeWrite(e, tmpDir as string);
        }
      }
      total += n;
    }
    return [h.digest('hex'), total];
  }

  const pendingPath = (hex: string): string => join(pendingDir, hex);

  /** Open a new temporary file of the store (a large file's copy), its failure a {@link StoreWrite}. */
  function openStoreTemp(path: string): number {
    try {
      return fs.openSync(path, 'wx', 0o444);
    } catch (e) {
      throw storeWrite(e, tmpDir as string);
    }
  }

  /**
   * Is the object `hex` in the store as `size` bytes? One lstat, as the existence check it replaces
   * cost (no link is followed): a link, a folder or a file of another size under its name — planted
   * by someone who can write the store, or truncated — is not the object, which is then written
   * again from the file sealed (and renamed over it at commit). A planted file of the right size is
   * not caught here (that takes a read; fsck, restore and export re-hash every object they read).
   * In an S3 working copy (`markers`), an empty file is the session's marker of an object in the bucket.
   */
  function inStore(hex: string, size: number): boolean {
    let st;
    try {
      st = fs.lstatSync(objectPath(hex), { throwIfNoEntry: false });
    } catch {
      return false; // ENOTDIR (a file in place of the fan-out folder), EACCES: not there as an object
    }
    return st !== undefined && st.isFile() && (st.size === size || (markers && st.size === 0));
  }

  /**
   * Keep a temporary file as the pending object `hex` (`size` bytes), unless that object is already
   * in the store ({@link inStore}) or pending here. Returns true if it was new.
   */
  function commitObject(tmp: string, hex: string, size: number): boolean {
    const pending = pendingPath(hex);
    if (inStore(hex, size) || fs.existsSync(pending)) {
      fs.unlinkSync(tmp);
      return false;
    }
    makePendingDir();
    try {
      fs.renameSync(tmp, pending);
    } catch (e) {
      throw storeWrite(e, pendingDir);
    }
    return true;
  }

  /** Is the object `hex` in the store as `size` bytes, or pending in this worker? */
  const haveObject = (hex: string, size: number): boolean => inStore(hex, size) || fs.existsSync(pendingPath(hex));

  /**
   * The fan-out folder of `hex` (`objects/sha256/<2 hex>`) must be a folder of the store's own, or
   * absent (made at the rename): a symbolic link planted there by someone who can write the store
   * would have objects written into the folder it leads to (as io/store.ts `ownFanFolder` refuses
   * for import and repair). Throws {@link Malformed}.
   */
  function refuseLinkedFan(hex: string): void {
    const fan = `${objectsDir as string}/${hex.slice(0, 2)}`;
    let st;
    try {
      st = fs.lstatSync(fan, { throwIfNoEntry: false });
    } catch {
      return; // ENOTDIR, EACCES: the rename says what is wrong
    }
    if (st === undefined || st.isDirectory()) return;
    throw new Malformed(`objects/sha256/${hex.slice(0, 2)} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a folder'}, where the store keeps a folder of objects: seal writes nothing through it, and committed no snapshot; put the folder it should be in its place (snap fsck lists the objects behind it) and seal again`);
  }

  /**
   * Commit: rename every pending object into objects/ (the caller has flushed their data to disk
   * first). An object that another worker committed meanwhile is dropped, and its bytes reported.
   * Whatever else is under its name (a link, a folder, a file of another size: see {@link inStore})
   * is replaced, and the digest reported in `replaced` (also in an error reply: those replaced
   * before the error).
   */
  function commitPending(msg: any): any {
    const replaced: string[] = [];
    try {
      return commitPendingInto(msg, replaced);
    } catch (e) {
      // Those replaced before the error are still reported: a seal that fails keeps them (io/placed-objects.ts).
      return { id: msg.id, error: { index: -1, path: '', ...errorInfo(e) }, replaced };
    }
  }

  /**
   * fsync(2) one file or folder by path, opened without following a link or blocking on a FIFO.
   * A pending name that is not a regular file (planted by someone who can write the store's tmp/)
   * holds no bytes of ours to flush: left as it is. A folder whose file system refuses fsync on
   * folders (EINVAL, ENOTSUP…) is passed over, as io/store.ts `fsyncDir` does; an I/O error is thrown.
   */
  function fsyncPath(path: string, folder: boolean): void {
    let fd: number;
    try {
      fd = fs.openSync(path, O.O_RDONLY | (O.O_NOFOLLOW ?? 0) | (O.O_NONBLOCK ?? 0) | (folder ? (O.O_DIRECTORY ?? 0) : 0));
    } catch (e: any) {
      if (e?.code === 'ELOOP' || e?.code === 'ENOTDIR' || e?.code === 'ENXIO') return; // a link, a socket…: no bytes of ours
      throw e;
    }
    try {
      if (!folder && !fs.fstatSync(fd).isFile()) return;
      fs.fsyncSync(fd);
    } catch (e: any) {
      if (!(folder && FSYNC_DIR_REFUSED.has(e?.code))) throw e;
    } finally {
      fs.closeSync(fd);
    }
  }
  /** What a file system that cannot fsync a folder answers (io/store.ts `fsyncDir` passes over any error there). */
  const FSYNC_DIR_REFUSED = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'EBADF', 'EPERM', 'EACCES', 'EISDIR']);

  /** {@link commitPending}'s work; `replaced` is filled as it goes. */
  function commitPendingInto(msg: any, replaced: string[]): any {
    // `fsyncEach` (a seal of a few new objects, io/store.ts FSYNC_EACH_MAX_OBJECTS): each pending object
    // is flushed here before its rename, and the folders renamed into after all of them, instead of
    // the caller's two syncfs of the whole file system around this commit.
    const fsyncEach = msg.fsyncEach === true;
    /** The fan-out folders this commit renamed into; `made`: it made one (objects/sha256 itself changed). */
    const renamedInto = new Set<string>();
    let made = false;
    let renamed = 0;
    let duplicates = 0;
    let duplicateBytes = 0;
    // The digests renamed, only when the caller asks for them (an object sink takes them, a batch at
    // a time); a local store's seal commits every object at once and needs none of them.
    const hexes: string[] | undefined = msg.hexes === false ? undefined : [];
    const ownFans = new Set<string>();
    // Read a few names at a time, not all at once: a seal of a million new files has half a
    // million pending here. Renaming entries away while the folder is read is safe: each remaining
    // entry is still read once (POSIX leaves unspecified only the entries removed or added).
    let dir: import('node:fs').Dir;
    // A worker that kept no object made no folder: nothing to commit.
    if (!pendingMade) return { id: msg.id, renamed, duplicates, duplicateBytes, ...(hexes ? { hexes } : {}), replaced };
    try {
      dir = fs.opendirSync(pendingDir);
    } catch (e) {
      throw storeWrite(e, pendingDir); // taken away since the objects were written into it
    }
    try {
      for (let ent = dir.readSync(); ent !== null; ent = dir.readSync()) commitOne(ent.name);
    } finally {
      dir.closeSync();
    }
    if (fsyncEach) {
      try {
        for (const fan of renamedInto) fsyncPath(fan, true);
        if (made) fsyncPath(objectsDir as string, true);
      } catch (e) {
        throw storeWrite(e, objectsDir as string);
      }
    }
    return { id: msg.id, renamed, duplicates, duplicateBytes, ...(hexes ? { hexes } : {}), replaced };

    function commitOne(hex: string): void {
      const from = join(pendingDir, hex);
      const dest = objectPath(hex);
      if (!ownFans.has(hex.slice(0, 2))) {
        refuseLinkedFan(hex);
        ownFans.add(hex.slice(0, 2));
      }
      // One lstat, as the existence check it replaces: nothing there (the usual case) is renamed to.
      let there;
      try {
        there = fs.lstatSync(dest, { throwIfNoEntry: false });
      } catch {
        there = undefined; // no fan-out folder as such: the rename below says what is wrong
      }
      const size = there === undefined ? 0 : fs.statSync(from).size;
      if (there !== undefined && there.isFile() && (there.size === size || (markers && there.size === 0))) {
        duplicateBytes += size; // committed meanwhile by another worker (or marked in the bucket): the same object ({@link inStore})
        fs.unlinkSync(from);
        duplicates++;
      } else {
        if (fsyncEach) {
          try {
            fsyncPath(from, false);
          } catch (e) {
            throw storeWrite(e, pendingDir);
          }
        }
        if (there !== undefined) {
          replaced.push(hex);
          if (there.isDirectory()) fs.rmSync(dest, { recursive: true, force: true }); // a rename cannot replace a folder
        }
        try {
          fs.renameSync(from, dest);
        } catch (e: any) {
          if (e?.code !== 'ENOENT') throw e;
          if (!fs.existsSync(from)) throw storeWrite(e, pendingDir); // the pending object was taken away, not the fan-out folder
          fs.mkdirSync(join(objectsDir as string, hex.slice(0, 2)), { recursive: true }); // fan-out folders are made on first use
          made = true;
          fs.renameSync(from, dest);
        }
        if (fsyncEach) renamedInto.add(`${objectsDir as string}/${hex.slice(0, 2)}`);
        renamed++;
        hexes?.push(hex);
      }
    }
  }

  /**
   * Read, hash and (in store mode) keep one regular file.
   * Returns { sha256, size, written } or throws (errno errors, or Changed); with `wantId`, also `id`,
   * the `dev:ino:size:mtimeNs:ctimeNs` of the descriptor read (a nanosecond fstat between the two
   * compared ones, so it describes the bytes hashed), for an incremental seal's stat cache.
   */
  function processFile(abs: string, hint: string | null, wantId = false): { sha256: string; size: number; written: number; created: boolean; id?: string } {
    const fd = fs.openSync(abs, OPEN_FLAGS);
    let outFd: number | null = null;
    let tmp: string | null = null;
    try {
      const before = fs.fstatSync(fd);
      if (!before.isFile()) throw new NotFile(`${abs} is no longer a regular file`);
      let id: string | undefined;
      if (wantId) {
        const b = fs.fstatSync(fd, { bigint: true });
        id = `${b.dev}:${b.ino}:${b.size}:${b.mtimeNs}:${b.ctimeNs}`;
      }
      const size = before.size;
      chargeInline(size);
      if (mutateForTest !== undefined && abs === mutateForTest) fs.appendFileSync(abs, 'x');
      let hex: string;
      let got: number;
      let written = 0;
      let created = false;
      if (size < WHOLE_FILE_MAX) {
        // Read the whole file at once, asking for one byte more than fstat promised: getting exactly
        // `size` bytes proves the end of file without a second read. Hash; in store mode write those
        // same bytes, only if the object is new.
        if (whole === null || whole.length < size + 1) whole = Buffer.allocUnsafe(Math.max(size + 1, CHUNK));
        // A short read of a regular file means end of file; growth after it shows in the second fstat.
        got = 0;
        let n: number;
        while (got < size && (n = fs.readSync(fd, whole, got, size + 1 - got, null)) > 0) got += n;
        if (got !== size) throw new Changed(`${abs} changed size while it was read`);
        hex = sha256hex(whole.subarray(0, got));
        // Looked up even when it equals the parent's digest for this path: the parent's object may
        // have been removed from the store since, and must then be stored again.
        if (mode === 'store' && !inStore(hex, got)) {
          // Straight to this worker's pending name; O_EXCL: already pending here means a duplicate.
          let ofd: number | null = null;
          makePendingDir();
          try {
            ofd = fs.openSync(pendingPath(hex), 'wx', 0o444);
          } catch (e: any) {
            if (e?.code !== 'EEXIST') throw storeWrite(e, pendingDir);
          }
          if (ofd !== null) {
            tmp = pendingPath(hex); // removed if the write fails
            try {
              writeAll(ofd, whole, got);
            } catch (e) {
              throw storeWrite(e, pendingDir);
            } finally {
              fs.closeSync(ofd);
            }
            tmp = null;
            created = true;
            written = got;
          }
        }
      } else if (mode !== 'store') {
        [hex, got] = hashStream(fd, null);
      } else if (hint !== null && haveObject(hint, size)) {
        // Probably unchanged since the parent snapshot: hash first, copy only if it is new after all.
        [hex, got] = hashStream(fd, null);
        if (!haveObject(hex, got)) {
          tmp = tmpName();
          outFd = openStoreTemp(tmp);
          const fd2 = fs.openSync(abs, OPEN_FLAGS);
          let hex2: string;
          let got2: number;
          try {
            [hex2, got2] = hashStream(fd2, outFd);
          } finally {
            fs.closeSync(fd2);
          }
          if (hex2 !== hex || got2 !== got) throw new Changed(`${abs} changed while it was copied`);
          closeAfterWriteback(outFd as number);
          outFd = null;
          created = commitObject(tmp, hex, got);
          if (created) written = got;
          tmp = null;
        }
      } else {
        // Copy while hashing: what is written is exactly what was hashed.
        tmp = tmpName();
        outFd = openStoreTemp(tmp);
        [hex, got] = hashStream(fd, outFd);
        closeAfterWriteback(outFd);
        outFd = null;
        const after0 = fs.fstatSync(fd);
        if (!sameStat(before, after0) || got !== size) throw new Changed(`${abs} changed while it was read`);
        created = commitObject(tmp, hex, got);
        if (created) written = got;
        tmp = null;
      }
      const after = fs.fstatSync(fd);
      if (!sameStat(before, after) || got !== size) throw new Changed(`${abs} changed while it was read`);
      return id === undefined ? { sha256: hex, size, written, created } : { sha256: hex, size, written, created, id };
    } finally {
      fs.closeSync(fd);
      if (outFd !== null) fs.closeSync(outFd);
      if (tmp !== null) {
        try {
          fs.unlinkSync(tmp);
        } catch {
          /* already gone */
        }
      }
    }
  }

  /**
   * A seal's file that the walk listed as a regular file but that is gone (ENOENT) or a symbolic
   * link (ELOOP under O_NOFOLLOW) when it is opened changed during the seal: `FILE_CHANGED`, not an
   * I/O error about a link loop or a missing path.
   */
  function changedSinceWalk(e: any, abs: string): any {
    if (e instanceof StoreWrite) return e; // the store, not the file
    if (e?.code === 'ELOOP') return new NotFile(`${abs} is no longer a regular file (a symbolic link now)`);
    if (e?.code === 'ENOENT') return new Changed(`${abs} was removed`);
    return e;
  }

  /** The test hook {@link Config.replaceForTest}, before the file is opened (`after`: once it was hashed). */
  function replaceForTestAt(abs: string, after: boolean): void {
    const [how, path] = [(replaceForTest as string).slice(0, (replaceForTest as string).indexOf(':')), (replaceForTest as string).slice((replaceForTest as string).indexOf(':') + 1)];
    if (path !== abs) return;
    if (how === 'swap-folder') {
      // The file's folder F and F.swap trade places (folder renames: no file's ctime moves), and back once hashed.
      const dir = abs.slice(0, abs.lastIndexOf('/'));
      const [away, into] = after ? [`${dir}.swap`, `${dir}.real`] : [`${dir}.real`, `${dir}.swap`];
      fs.renameSync(dir, away);
      fs.renameSync(into, dir);
      return;
    }
    if (how === 'grow') {
      // The file grows to 16 MiB (sparse) after the batch was admitted, before it is opened.
      if (!after) fs.truncateSync(abs, 16 << 20);
      return;
    }
    if ((how === 'fifo-after-hash') !== after) return;
    fs.rmSync(abs, { force: true });
    if (how === 'symlink') fs.symlinkSync('/dev/null', abs);
    if (how === 'fifo-after-hash' || how === 'fifo') require('node:child_process').execFileSync('mkfifo', [abs]);
  }

  function errorInfo(e: any): { code: string; errno: string; message: string; storePath?: string } {
    if (e instanceof Changed) return { code: 'FILE_CHANGED', errno: '', message: e.message };
    if (e instanceof Malformed) return { code: 'STORE_MALFORMED', errno: '', message: e.message };
    if (e instanceof StoreWrite) return { code: e.code === 'ENOSPC' || e.code === 'EDQUOT' ? 'DISK_FULL' : 'IO_ERROR', errno: e.code, message: e.message, storePath: e.storePath };
    const errno = typeof e?.code === 'string' ? e.code : '';
    return { code: errno === 'ENOSPC' || errno === 'EDQUOT' ? 'DISK_FULL' : 'IO_ERROR', errno, message: String(e?.message ?? e) };
  }

  /**
   * The dataset paths of a batch given as folders and their files' names (`names[g]`: the names in
   * folder `dirs[g]`, in manifest order, joined by `\n`, which no valid path holds).
   */
  function pathsOf(dirs: string[], names: string[]): string[] {
    const rels: string[] = [];
    for (let g = 0; g < dirs.length; g++) {
      const prefix = dirs[g] === '' ? '' : `${dirs[g]}/`;
      for (const name of (names[g] as string).split('\n')) rels.push(prefix + name);
    }
    return rels;
  }

  // Seal: manifest lines (SPEC §2 canonical form; must equal core serializeEntry) and leaf hashes.
  // A batch is `rels` (with `kinds` and `extra`: symlink targets or the parent's digests), or
  // `dirs` + `names` (regular files only, from `list`; `hints`: the parent's digests of the large
  // ones). With `start` (the batch's first leaf index in the whole manifest), the leaves are folded
  // here into aligned complete subtrees (`fold`) and only their roots are sent; otherwise every
  // leaf hash is. With `ids` (an incremental seal), the reply's `ids` give each regular file's
  // identity as read (processFile), null for a symbolic link.
  function seal(msg: any): any {
    const { kinds, extra, start, hints } = msg as { kinds?: number[]; extra?: (string | null)[]; start?: number; hints?: Map<string, string> };
    const ids: (string | null)[] | undefined = msg.ids === true ? [] : undefined;
    const rels: string[] = msg.rels ?? pathsOf(msg.dirs, msg.names);
    const n = rels.length;
    const folding = typeof start === 'number';
    if (folding && leafScratch.length < 32 * n) leafScratch = Buffer.allocUnsafe(32 * n);
    const leaves = folding ? leafScratch : Buffer.allocUnsafeSlow(32 * n); // its own ArrayBuffer: transferred with the reply
    let text = '';
    let bytes = 0;
    let written = 0;
    let newObjects = 0;
    /** A main-thread worker's pending objects made by this batch: removed if it is declined midway (the thread makes and counts them). */
    const madeHere: string[] = [];
    for (let i = 0; i < n; i++) {
      const rel = rels[i] as string;
      let line: string;
      if (kinds !== undefined && kinds[i] === 1) {
        line = `{"path":${JSON.stringify(rel)},"target":${JSON.stringify((extra as (string | null)[])[i])},"type":"symlink"}`;
        ids?.push(null);
      } else {
        let r;
        try {
          if (replaceForTest !== undefined) replaceForTestAt(rootSlash + rel, false);
          r = processFile(rootSlash + rel, extra?.[i] ?? hints?.get(rel) ?? null, ids !== undefined);
          if (replaceForTest !== undefined) replaceForTestAt(rootSlash + rel, true);
        } catch (e) {
          if (e instanceof Declined) {
            for (const hex of madeHere) fs.rmSync(pendingPath(hex), { force: true });
            throw e;
          }
          return { id: msg.id, error: { index: i, path: rel, ...errorInfo(changedSinceWalk(e, rootSlash + rel)) } };
        }
        if (inline && r.created) madeHere.push(r.sha256);
        ids?.push(r.id ?? null);
        bytes += r.size;
        if (r.created) newObjects++;
        written += r.written;
        line = `{"path":${JSON.stringify(rel)},"sha256":"${r.sha256}","size":${r.size}}`;
      }
      text += line + '\n';
      putLeaf(leaves, 32 * i, line);
    }
    if (folding) {
      // The text as UTF-8 in a buffer of its own (not Buffer's shared pool): transferred, so the main
      // thread neither copies nor encodes it, and its garbage collector never moves it.
      const utf8 = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
      utf8.write(text, 0, 'utf8');
      return { id: msg.id, text: utf8, folded: fold(leaves, start as number, n, nodeHash), bytes, written, newObjects, ...(ids ? { ids } : {}) };
    }
    return { id: msg.id, text, leaves, bytes, written, newObjects, ...(ids ? { ids } : {}) };
  }

  /** Printable ASCII: a name that is a valid path segment as it is (readdir never returns `.` or `..`). */
  const PLAIN_NAME = /^[\x20-\x7e]+$/;
  /** Longest dataset path, in bytes (SPEC §2; a plain name is one byte per character). */
  const MAX_PATH_BYTES = 4096;

  /**
   * List the folders `msg.list` (dataset paths, '' for the root) for the walk (see
   * `parallel-walk.ts`), each in manifest order: entries sorted by their name for files and name +
   * `/` for folders, which for printable ASCII is JavaScript's string order. Replies `{ lists }`, one
   * per folder, in order: `{ files, offsets, dirs, before }`, the files' names joined by `\n`, where
   * each starts in that string (and its length + 1 at the end), the subfolders' names, and how many
   * files come before each subfolder. Only the plain case is answered: when any name is not
   * printable ASCII, any entry is not a regular file or a folder (a symbolic link, a FIFO, an unknown
   * type…), a path would be too long, or the folder cannot be read, that folder's listing is
   * `{ fallback: true }` and the main thread walks it itself (walk.ts), which says exactly what is
   * wrong.
   */
  function listOne(rel: string): any {
    const fallback = { fallback: true };
    let ents: any[];
    try {
      ents = fs.readdirSync(rel === '' ? rootAbs : rootSlash + rel, { withFileTypes: true });
    } catch {
      return fallback;
    }
    const room = MAX_PATH_BYTES - (rel === '' ? 0 : rel.length + 1);
    const keys: string[] = [];
    for (const d of ents) {
      const name = d.name as string;
      if (!PLAIN_NAME.test(name) || name.length > room) return fallback;
      if (d.isFile()) keys.push(name);
      else if (d.isDirectory()) keys.push(`${name}/`);
      else return fallback;
    }
    keys.sort();
    const files: string[] = [];
    const dirs: string[] = [];
    const before: number[] = [];
    for (const k of keys) {
      if (k.charCodeAt(k.length - 1) === 0x2f) {
        dirs.push(k.slice(0, -1));
        before.push(files.length);
      } else files.push(k);
    }
    const offsets = new Uint32Array(files.length + 1);
    let at = 0;
    for (let i = 0; i < files.length; i++) {
      offsets[i] = at;
      at += (files[i] as string).length + 1;
    }
    offsets[files.length] = at;
    return { files: files.join('\n'), offsets, dirs, before };
  }

  function list(msg: any): any {
    return { id: msg.id, lists: (msg.list as string[]).map(listOne) };
  }

  /**
   * The problem a file that could not be checked is: gone since the walk, missing; a symlink
   * (ELOOP under O_NOFOLLOW) or other non-file now, type-changed; anything else, unreadable.
   */
  function checkFailure(e: any): { kind: string; reason: string } {
    const info = errorInfo(e);
    const kind = info.errno === 'ENOENT' ? 'missing' : info.errno === 'ELOOP' || e instanceof NotFile ? 'type-changed' : 'unreadable';
    return { kind, reason: info.errno || info.message };
  }

  /** The rest of a canonical file line after `{"path":…,"sha256":"` (SPEC §2; as core FILE_LINE_RE). */
  const FILE_TAIL = /([0-9a-f]{64})","size":(0|[1-9][0-9]{0,15})\}$/y;

  /**
   * Hash a file for verify, which needs no fstat in the common case: read `expected + 1` bytes (at
   * least one read, also for `expected` 0); getting exactly `expected` bytes means the file is that long
   * (for `expected` 0 an fstat must also find a regular file), and the digest says the rest. A
   * change during the read either shows in the digest or did not alter the bytes read. Anything
   * else (another size, an error such as EISDIR or EAGAIN from a swapped-in folder or FIFO, a large
   * file) takes the general path: fstat (must be a regular file) and hash from offset 0 to the end.
   */
  function checkFile(abs: string, expected: number): { sha256: string; size: number } {
    if (replaceForTest !== undefined) replaceForTestAt(abs, false);
    const fd = fs.openSync(abs, OPEN_FLAGS);
    try {
      if (expected >= 0 && expected < WHOLE_FILE_MAX) {
        chargeInline(expected);
        if (whole === null || whole.length < expected + 1) whole = Buffer.allocUnsafe(Math.max(expected + 1, CHUNK));
        let got = 0;
        let n: number;
        try {
          // At least one read, of `expected + 1` bytes: a file longer than its line says is seen to
          // be (a loop that read only while `got < expected` never read a file signed empty, and
          // took any bytes planted in it for the empty file). A short read of a regular file is its
          // end, as in seal, so a file of exactly `expected` bytes costs one read, no more.
          do {
            n = fs.readSync(fd, whole, got, expected + 1 - got, null);
            got += n;
          } while (n > 0 && got < expected);
        } catch {
          got = -1; // e.g. EISDIR, EAGAIN: let the general path say what it is
        }
        // Nothing read proves nothing about what was opened (a FIFO without a writer reads as empty): fstat.
        if (got === expected && (expected > 0 || fs.fstatSync(fd).isFile())) return { sha256: sha256hex(whole.subarray(0, got)), size: got };
      }
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw new NotFile(`${abs} is no longer a regular file`);
      chargeInline(st.size);
      const h = createHash('sha256');
      let pos = 0;
      let n: number;
      while ((n = fs.readSync(fd, chunk, 0, CHUNK, pos)) > 0) {
        h.update(n === CHUNK ? chunk : chunk.subarray(0, n));
        pos += n;
      }
      return { sha256: h.digest('hex'), size: pos };
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Verify a batch. Items, in manifest order: kind 0 — a manifest line with nothing on disk to
   * check (missing, or a symlink checked by the caller): leaf hash only; kind 1 — a manifest file
   * line and the file at `rels[i]`: leaf hash, and the file's digest and size against the line's;
   * kind 2 — a file on disk the manifest lacks (extra): hashed, so a move can be named, no leaf;
   * kind 3 — as kind 1 for a file this process already read back and hashed from this folder
   * (restore): when its `dev:ino:size:mtimeNs:ctimeNs` is still `ids[i]`, it is that same file,
   * unchanged since, and is not read again; otherwise it is hashed as kind 1.
   * kind 4 — a bulk run (verify.ts): the batch's next `data` buffer holds n raw manifest lines
   * (UTF-8, each ending in `\n`, parsed by nobody yet) and `names[i]` the n regular files the walk listed in folder `rels[i]`
   * (joined by `\n`); each line must be exactly the canonical file line (SPEC §2) of the file paired
   * with it — its path, then 64 lowercase hex digits and a safe integer size — and is then checked
   * as kind 1. A line that is not (another path, a symbolic link, a malformed or non-canonical
   * line, fewer lines than names) proves nothing here: the reply is `{ mismatch }`, and the caller
   * runs its per-line join instead, which says exactly what is wrong.
   * Replies with the leaf hashes of kinds 0, 1, 3 and 4 in order — or, with `start` (the index of the
   * batch's first leaf in the whole manifest), the roots of the aligned complete subtrees they form
   * (`fold`, as for seal) — the sizes the bulk lines declare (`lineBytes`), and only the items that
   * differ (a bulk run's with `sub`, the line's index in the run, its `path` and expected digest
   * and size).
   */
  function verify(msg: any): any {
    const { kinds, lines, rels, ids, start, names, data } = msg as { kinds: number[]; lines: string[]; rels: string[]; ids?: string[]; start?: number; names?: string[]; data?: Uint8Array[] };
    let nLeaves = 0;
    /** Each bulk run's lines (without their `\n`) and names. */
    const runLines: string[][] = [];
    const runNames: string[][] = [];
    let di = 0;
    for (let i = 0; i < kinds.length; i++) {
      const k = kinds[i];
      if (k === 4) {
        const u = (data as Uint8Array[])[di++] as Uint8Array;
        const ls = Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('utf8').split('\n');
        const ns = ((names as string[])[i] as string).split('\n');
        // The text ends in `\n`: its last piece is empty, and there is one line per name.
        if (ls.pop() !== '' || ls.length !== ns.length) return { id: msg.id, mismatch: true };
        runLines[i] = ls;
        runNames[i] = ns;
        nLeaves += ls.length;
      } else if (k !== 2) nLeaves++;
    }
    const folding = typeof start === 'number';
    if (folding && leafScratch.length < 32 * nLeaves) leafScratch = Buffer.allocUnsafe(32 * nLeaves);
    const leaves = folding ? leafScratch : Buffer.allocUnsafeSlow(32 * nLeaves); // its own ArrayBuffer: transferred with the reply
    const problems: any[] = [];
    let bytes = 0;
    let lineBytes = 0;
    let li = 0;
    for (let i = 0; i < kinds.length; i++) {
      const k = kinds[i];
      if (k === 4) {
        const ls = runLines[i] as string[];
        const ns = runNames[i] as string[];
        const prefix = rels[i] === '' ? '' : `${rels[i]}/`;
        for (let j = 0; j < ls.length; j++) {
          const line = ls[j] as string;
          putLeaf(leaves, 32 * li++, line);
          const rel = prefix + (ns[j] as string);
          // The canonical line of this path (JSON.stringify escapes printable ASCII as RFC 8785 does).
          const head = `{"path":${JSON.stringify(rel)},"sha256":"`;
          if (!line.startsWith(head)) return { id: msg.id, mismatch: true };
          FILE_TAIL.lastIndex = head.length;
          const m = FILE_TAIL.exec(line);
          const expSize = m ? Number(m[2]) : NaN;
          if (!m || !Number.isSafeInteger(expSize)) return { id: msg.id, mismatch: true };
          const expSha = m[1] as string;
          lineBytes += expSize;
          try {
            const r = checkFile(rootSlash + rel, expSize);
            bytes += r.size;
            if (r.sha256 !== expSha || r.size !== expSize) problems.push({ index: i, sub: j, path: rel, expSha, expSize, kind: 'modified', sha256: r.sha256, size: r.size });
          } catch (e: any) {
            if (e instanceof Declined) throw e;
            problems.push({ index: i, sub: j, path: rel, expSha, expSize, ...checkFailure(e) });
          }
        }
        continue;
      }
      const line = lines[i] as string;
      if (k !== 2) putLeaf(leaves, 32 * li++, line);
      if (k === 0) continue;
      let expSha = '';
      let expSize = -1;
      if (k === 1 || k === 3) {
        // A canonical file line (the caller parsed it): the digest and size sit at known places.
        const j = line.lastIndexOf('"sha256":"');
        expSha = line.slice(j + 10, j + 74);
        expSize = Number(line.slice(j + 83, -1));
      }
      if (k === 3) {
        try {
          const st = fs.lstatSync(rootSlash + (rels[i] as string), { bigint: true });
          if (st.isFile() && st.size === BigInt(expSize) && `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` === (ids as string[])[i]) {
            bytes += expSize;
            continue;
          }
        } catch {
          /* hashed below, which says what is wrong */
        }
      }
      try {
        const r = checkFile(rootSlash + (rels[i] as string), expSize);
        bytes += r.size;
        if (k === 2 || r.sha256 !== expSha || r.size !== expSize) problems.push({ index: i, kind: 'modified', sha256: r.sha256, size: r.size });
      } catch (e: any) {
        if (e instanceof Declined) throw e;
        problems.push({ index: i, ...checkFailure(e) });
      }
    }
    if (folding) return { id: msg.id, folded: fold(leaves, start as number, nLeaves, nodeHash), problems, bytes, lineBytes };
    return { id: msg.id, leaves, problems, bytes, lineBytes };
  }

  // Objects: re-hash store objects (fsck); report those whose digest is not their name.
  function objects(msg: any): any {
    const { rels } = msg as { rels: string[] };
    const problems: any[] = [];
    let bytes = 0;
    for (let i = 0; i < rels.length; i++) {
      const rel = rels[i] as string;
      try {
        const r = processFile(rootSlash + rel, null);
        bytes += r.size;
        const name = rel.replace(/\//g, '').slice(-64);
        if (r.sha256 !== name) problems.push({ index: i, kind: 'corrupt', sha256: r.sha256, size: r.size });
      } catch (e: any) {
        const info = errorInfo(e);
        problems.push({ index: i, kind: info.errno === 'ENOENT' ? 'missing' : 'unreadable', reason: info.errno || info.message });
      }
    }
    return { id: msg.id, problems, bytes };
  }

  /**
   * The dataset paths (or object paths, in objects mode) a hashing batch reads: a seal's `rels` or
   * `dirs` + `names`; a verify batch's checked items (kinds 1–3) and bulk runs (kind 4); objects' `rels`.
   */
  function batchPaths(msg: any): string[] {
    if (mode === 'verify') {
      const out: string[] = [];
      const kinds = msg.kinds as number[];
      for (let i = 0; i < kinds.length; i++) {
        const k = kinds[i];
        if (k === 4) {
          const prefix = msg.rels[i] === '' ? '' : `${msg.rels[i]}/`;
          for (const name of (msg.names[i] as string).split('\n')) out.push(prefix + name);
        } else if (k !== 0) out.push(msg.rels[i]);
      }
      return out;
    }
    return msg.rels ?? pathsOf(msg.dirs, msg.names);
  }
  /**
   * A main-thread worker's admission of a hashing batch: false (decline it, and every later one) when
   * its files, or the bytes an lstat of each finds, would take the worker past its budget; the pool
   * then sends the batch to a thread. The lstat only judges the cost: what is read is checked as in
   * any worker, and a file grown past the budget since declines the batch before it is read
   * ({@link chargeInline}).
   */
  function admit(msg: any): boolean {
    if (inlineDone) return false;
    const budget = inline as { files: number; bytes: number };
    const paths = batchPaths(msg);
    const files = inlineFiles + paths.length;
    let bytes = inlineBytes;
    for (let i = 0; i < paths.length && files <= budget.files && bytes <= budget.bytes; i++) {
      try {
        const st = fs.lstatSync(rootSlash + paths[i], { throwIfNoEntry: false });
        if (st?.isFile()) bytes += st.size;
      } catch {
        /* read below, which says what is wrong */
      }
    }
    if (files > budget.files || bytes > budget.bytes) return false;
    inlineFiles = files;
    inlineBytes = bytes;
    return true;
  }

  /** A main-thread worker hands `msg` back to the pool for a thread, as it will every later batch. */
  function decline(msg: any): void {
    inlineDone = true;
    parentPort.postMessage({ id: msg.id, declined: true, request: msg });
  }

  if (workerData) configure(workerData as Config);
  parentPort.on('message', (msg: any) => {
    if (msg.config) {
      configure(msg.config as Config); // no reply; throws (the worker fails, as with workerData) if it cannot
      return;
    }
    if (msg.commit && earlyFlushes.size > 0) {
      // The early flushes of large copies first (closeAfterWriteback); then this message again.
      void Promise.all(earlyFlushes).then(() => handle(msg));
      return;
    }
    handle(msg);
  });
  function handle(msg: any): void {
    let reply: any;
    if (msg.commit && earlyFlushError !== undefined) {
      const e = earlyFlushError;
      earlyFlushError = undefined;
      parentPort.postMessage({ id: msg.id, error: { index: -1, path: '', ...errorInfo(e) }, replaced: [] });
      return;
    }
    try {
      const hashing = !msg.commit && msg.list === undefined;
      if (hashing && inline && !admit(msg)) return decline(msg);
      reply = msg.commit ? commitPending(msg) : msg.list !== undefined ? list(msg) : mode === 'verify' ? verify(msg) : mode === 'objects' ? objects(msg) : seal(msg);
      // Past half its budget, a main-thread worker asks the pool to boot a thread now, so that one is
      // up by the time it declines.
      if (hashing && inline && !inlineWarm && (2 * inlineFiles > inline.files || 2 * inlineBytes > inline.bytes)) {
        inlineWarm = true;
        reply.warm = true;
      }
    } catch (e) {
      if (e instanceof Declined) return decline(msg); // past the budget while reading
      reply = { id: msg.id, error: { index: -1, path: '', ...errorInfo(e) } };
    }
    if (reply.leaves) parentPort.postMessage(reply, [reply.leaves.buffer]);
    else if (reply.folded) parentPort.postMessage(reply, reply.text ? [reply.folded.roots.buffer, reply.text.buffer] : [reply.folded.roots.buffer]);
    else if (reply.lists) parentPort.postMessage(reply, reply.lists.flatMap((l: any) => (l.offsets ? [l.offsets.buffer] : [])));
    else parentPort.postMessage(reply);
  }
}

/** The body of a hashing worker run on the main thread (`inline-worker.ts`): {@link hashWorkerMain} with its other parameters bound. */
export function inlineHashWorkerBody(require: NodeJS.Require): void {
  hashWorkerMain(require, WRITE_SLICE, foldAlignedSubtrees);
}

/** JavaScript source that runs {@link hashWorkerMain} in a worker started with `{ eval: true }`. */
export function workerSource(): string {
  return `(${hashWorkerMain.toString()})(require, ${WRITE_SLICE}, ${foldAlignedSubtrees.toString()})`;
}
