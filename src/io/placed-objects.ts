/**
 * The objects a seal moves into its store's `objects/` (io/store.ts), written down as it moves
 * them, so that a seal that fails before its snapshot is committed takes them out again and leaves
 * the store's objects as they were (docs/DESIGN.md, "A failed seal"). Only objects this seal moved
 * there are written down: one the store held already is deduplicated against, never moved, and so
 * never removed. No other command puts objects into a store without its lock, which the seal holds
 * from its first object to its commit: an object that is in `objects/` under a name written down
 * here was put there by this seal.
 *
 * The digests go to a file in the seal's folder under `STORE/tmp` (65 bytes each), not into memory,
 * and are read back in chunks: a seal of millions of new files costs no memory here. They are read
 * back through the descriptor they were written with, never by the list's path again: whoever can
 * write `STORE/tmp` could by then have put another folder, list, link or FIFO at that path, naming
 * objects of other snapshots in fan-out folders they may not write themselves. Nothing is removed
 * through a fan-out folder (or `objects`, `objects/sha256`) that is not a folder of the store's
 * own: a link there leads out of the store. A SIGKILL removes nothing (nothing runs): what it
 * leaves is for `snap prune`.
 */
import { closeSync, existsSync, lstatSync, opendirSync, openSync, readSync, unlinkSync, writeSync, type Dir } from 'node:fs';
import { join } from 'node:path';
import { objectPath, type Store } from './store.js';
import { ioError } from './errors.js';
import { isSnapError } from '../core/errors.js';

/** Bytes read from the list at a time when its objects are removed (1 MiB). */
const READ_CHUNK_BYTES = 1 << 20;

/** Names of a pending folder written down at a time by {@link PlacedObjects.staging} (4,096: 260 KiB a write). */
const WRITE_BATCH_NAMES = 4096;

/** Directory entries read from the system at a time while a pending folder is listed. */
const DIR_BUFFER_ENTRIES = 1024;

/** A 64-hex SHA-256 digest, as the list holds them (one a line). */
const HEX_RE = /^[0-9a-f]{64}$/;

/** The objects a seal moved into a store's `objects/` (see the module comment). */
export class PlacedObjects {
  /** The list, open for reading and writing (made with O_EXCL: never a file that was there). */
  private fd: number | undefined;
  /** The folders of pending objects whose commit began and did not end (their objects may or may not be moved). */
  private committing: readonly string[] = [];
  /**
   * Objects moved in over something else under their name (a file of another size, a link, a
   * folder: another snapshot's object, truncated, say): never removed. Few (what a seal mends).
   */
  private readonly mendedHexes = new Set<string>();
  /** Set once the snapshot is committed, or the objects were removed: nothing is removed any more. */
  private done = false;

  /**
   * @param store the store the seal writes into (under its lock)
   * @param file the list's path: a new file in a folder of the seal's own under `STORE/tmp` (not the snapshot folder it commits)
   * @param isCommitted true once the seal's snapshot is in place (checked before anything is
   *   removed: the objects of a committed snapshot are never removed, whatever path reaches here)
   * @throws SnapError `IO_ERROR` | `DISK_FULL` (the list cannot be made)
   */
  constructor(
    private readonly store: Store,
    private readonly file: string,
    private readonly isCommitted: () => boolean,
  ) {
    try {
      this.fd = openSync(file, 'wx+', 0o600);
    } catch (e) {
      throw ioError(e, file, 'cannot write the list of objects the seal adds');
    }
  }

  /**
   * Before the hashing workers move their pending objects into `objects/`: write down every object
   * pending in `dirs` (`STORE/tmp/pending-N`, named by digest), listed and written a batch at a time
   * ({@link WRITE_BATCH_NAMES}: memory does not grow with the names a folder holds). Until {@link committed}, an object
   * still pending there is not removed by {@link removeSync} (it was not moved; the pending folders
   * are removed by the seal).
   * @throws SnapError `IO_ERROR` | `DISK_FULL`
   */
  staging(dirs: readonly string[]): void {
    for (const dir of dirs) {
      let d: Dir;
      try {
        d = opendirSync(dir, { bufferSize: DIR_BUFFER_ENTRIES });
      } catch {
        continue; // a worker that staged nothing has no folder; one taken away fails the commit itself
      }
      // Read and written down a batch at a time: a worker's folder may hold a million names.
      try {
        let batch: string[] = [];
        for (let e = d.readSync(); e !== null; e = d.readSync()) {
          if (!HEX_RE.test(e.name)) continue;
          batch.push(e.name);
          if (batch.length >= WRITE_BATCH_NAMES) {
            this.write(batch);
            batch = [];
          }
        }
        this.write(batch);
      } catch (e) {
        if (isSnapError(e)) throw e;
        throw ioError(e, dir, 'cannot list the objects the seal is about to move');
      } finally {
        d.closeSync();
      }
    }
    this.committing = dirs;
  }

  /** The workers' commit ended: every object written down by {@link staging} was moved (or was a copy of one moved). */
  committed(): void {
    this.committing = [];
  }

  /**
   * Objects the workers moved in over something else under their name (their commit's `replaced`):
   * kept even if the seal fails. The name was taken before the seal — most likely by an object of
   * another snapshot, damaged, which these bytes (hashed to that name) make whole again.
   */
  mended(hexes: readonly string[]): void {
    for (const hex of hexes) this.mendedHexes.add(hex);
  }

  /**
   * Write down objects just moved into `objects/` by the seal itself (its record indexes, its kept
   * `snap.json`).
   * @throws SnapError `IO_ERROR` | `DISK_FULL`
   */
  add(hexes: readonly string[]): void {
    this.write(hexes);
  }

  /** The snapshot is committed: its objects stay. The list is closed (the seal's folder, and the list in it, is removed by the seal). */
  keep(): void {
    this.done = true;
    this.close();
  }

  /**
   * The seal failed before its commit: remove every object written down (an object file whose
   * name is written down, unless it is still pending in a folder whose commit did not end, was
   * {@link mended}, or is no regular file: what is there is not this seal's), as read back through the list's descriptor,
   * never through a fan-out folder that is not a folder of the store's own (a link leads out of
   * the store: the object is left for prune). Synchronous and never throwing: it also runs
   * on an interrupted process's way out (io/interrupt.ts `leaveNothing`). Runs once; does nothing
   * once the snapshot is committed.
   * @returns how many objects were removed
   */
  removeSync(): number {
    if (this.done || this.isCommitted()) {
      this.done = true;
      this.close();
      return 0;
    }
    this.done = true;
    const fd = this.fd;
    if (fd === undefined) return 0;
    let removed = 0;
    try {
      // Nothing through `objects` or `objects/sha256` swapped for a link since the lock was taken.
      if (!this.ownFolder(join(this.store.root, 'objects')) || !this.ownFolder(this.store.objectsDir)) return 0;
      const buf = Buffer.allocUnsafe(READ_CHUNK_BYTES);
      let rest = '';
      // From the start of the list, through the descriptor it was written with (see the module comment).
      for (let pos = 0; ; ) {
        const n = readSync(fd, buf, 0, READ_CHUNK_BYTES, pos);
        pos += n;
        const lines = (rest + buf.toString('latin1', 0, n)).split('\n');
        rest = n === 0 ? '' : (lines.pop() as string);
        for (const hex of lines) if (HEX_RE.test(hex) && this.removeOne(hex)) removed++;
        if (n === 0) break;
      }
    } catch {
      /* best effort: what is left is for snap prune */
    } finally {
      this.close();
    }
    return removed;
  }

  /** Is `path` a folder (not a symbolic link to one)? */
  private ownFolder(path: string): boolean {
    try {
      return lstatSync(path).isDirectory();
    } catch {
      return false;
    }
  }

  /** Remove the object `hex` when it was moved into place by this seal; true when it was removed. */
  private removeOne(hex: string): boolean {
    if (this.mendedHexes.has(hex)) return false; // its name was taken before the seal
    if (this.committing.some((dir) => existsSync(join(dir, hex)))) return false; // never moved
    if (!this.ownFolder(join(this.store.objectsDir, hex.slice(0, 2)))) return false; // a link leads out of the store
    const path = objectPath(this.store, hex);
    try {
      if (!lstatSync(path).isFile()) return false;
      unlinkSync(path);
      return true;
    } catch {
      return false; // gone already (a digest written down twice), or not removable: left for prune
    }
  }

  private write(hexes: readonly string[]): void {
    if (hexes.length === 0 || this.fd === undefined) return;
    try {
      const bytes = Buffer.from(hexes.join('\n') + '\n', 'latin1');
      for (let off = 0; off < bytes.length; ) off += writeSync(this.fd, bytes, off);
    } catch (e) {
      throw ioError(e, this.file, 'cannot write the list of objects the seal adds');
    }
  }

  private close(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      /* nothing to do */
    }
    this.fd = undefined;
  }
}
