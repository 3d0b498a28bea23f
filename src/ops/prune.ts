/**
 * `prune`: remove the objects of a local store that no snapshot references — those of a seal or
 * import killed before its snapshot was committed (objects are moved into `objects/` first), or of
 * a snapshot folder removed by hand.
 *
 * An object is referenced (docs/FORMAT.md §6.1) when a snapshot folder under `snapshots/` names it:
 *   1. the digest of a file entry of its `manifest.jsonl` (symbolic links have no object), also of
 *      a snapshot sealed `--manifest-only` (its `snap.json`, and content another snapshot shares);
 *   2. a record index its statement names (`predicate.records[].index.sha256`, §19.5);
 *   3. an index summary its statement names (`predicate.records[].index.summary`, §19.10);
 *   4. a Parquet set's column-types object its statement names (`predicate.records[].schema`, §19.11).
 * These are every kind of object a command writes into `objects/` (seal's hashing workers and
 * `records/seal-records.ts`, import, `fsck --repair-from`). Nothing else in a store names an object:
 * revocations and co-signatures (merged into `envelope.json`) name snapshots, model attestations
 * name snapshots and model files (which are not in the store), the audit log and its checkpoints
 * name commands and snapshots.
 *
 * Fail closed: the snapshots are checked as `fsck` checks them (src/ops/fsck.ts,
 * {@link checkSnapshotsNaming}); if any has a problem other than objects missing — a file missing
 * or unreadable, an envelope, statement or manifest that does not parse, a statement or manifest
 * that does not agree with the envelope, a folder holding another NAME@VERSION —, or `snapshots/`
 * holds an entry that is not a snapshot folder (`snapshots/ds/v1 old`, a snapshot folder renamed by hand),
 * or a snapshot folder holds a folder (`snapshots/ds/v2/v1 kept`, one moved into it by hand), the set
 * of referenced objects is not known, and nothing is removed: the result says which.
 *
 * Runs under the store's write lock (as seal, import and `fsck --clean`), which every command that
 * writes objects or commits a snapshot holds meanwhile: no object is added, and no snapshot
 * committed, between the listing and the removal. Taking it, as every writer does, empties
 * `STORE/tmp`. A dry run on a store this user cannot write (a read-only mount, another user's
 * store: the lock cannot be made, EACCES / EROFS / EPERM) runs without it, as fsck does, and says
 * so (`locked: false`, `lockError`): its listing may then be stale — objects a seal or import
 * running meanwhile moved in before its commit are listed as unreferenced. `remove` always needs the lock. An object is removed only once the referenced set is complete (every snapshot
 * read, nothing blocking), as the listing finds it; a kill at any moment leaves some unreferenced
 * objects removed and the others in place, a store fsck passes.
 * S3 stores are refused by the CLI (their objects may be under Object Lock).
 *
 * Memory: the digests the snapshots name are held as 32 bytes each in a {@link DigestSet} (under
 * 100 bytes an object; manifests are streamed, as fsck streams them); the objects present are then
 * listed one fan-out folder at a time, in digest order, each folder's names held packed (31
 * bytes a name: a folder may hold any number of them). Each unreferenced one is handed to
 * `onUnreferenced` as it is found (and with `remove`, removed first), and only the first
 * `keepUnreferenced` are kept in the result. 1,000,000 objects named twice, 10,000 unreferenced:
 * peak RSS 239 MiB, was 729–889 MiB with a Set of hex strings and a Map of the objects present;
 * 1,000,000 unreferenced: 110–150 MiB through the CLI (spread over the fan-out folders, or all in
 * one), was 352–1,278 MiB with every one kept (docs/PERFORMANCE.md).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { DigestSet } from '../core/digest-set.js';
import { isSnapError, SnapError } from '../core/errors.js';
import { ioError } from '../io/errors.js';
import { checkInterrupted } from '../io/interrupt.js';
import { killPointForTest } from '../io/test-kill-point.js';
import { lockStore, openStore, ownFanFolder, type Store, type StoreLock } from '../io/store.js';
import { checkSnapshotsNaming, entriesOf, FAN_RE, isFolder, NAME_BYTES, onDisk, packedNamesOf } from './fsck.js';
import { nameDetails } from '../io/walk.js';

/** Options of {@link prune}. */
export interface PruneOptions {
  /** The store folder. */
  store: string;
  /** Remove the unreferenced objects (`--yes`); without it, only list them (a dry run). */
  remove?: boolean;
  /** How long to wait for another writer's lock, ms (default: as seal, 60 s). */
  lockWaitMs?: number;
  /**
   * At most this many unreferenced objects are kept in the result's `unreferenced`: the first by
   * digest (`counts` count them all). Default: all of them. With a bound (and
   * {@link PruneOptions.onUnreferenced} to see the others), prune's memory does not grow with the
   * number of unreferenced objects.
   */
  keepUnreferenced?: number;
  /**
   * Called with each unreferenced object as it is found, in digest order, and awaited before the
   * next (with `remove`, once it is removed — or found gone already, as {@link PruneResult.unreferenced}
   * lists those too); `head` is what the result will say of the run. Not called when blocked.
   */
  onUnreferenced?: (o: UnreferencedObject, head: PruneHead) => void | Promise<void>;
}

/** What {@link prune} knows of a run before it lists the objects (the first members of {@link PruneResult} but `ok`). */
export type PruneHead = Pick<PruneResult, 'store' | 'removing' | 'locked' | 'lockError'>;

/** An object no snapshot references. */
export interface UnreferencedObject {
  /** The digest, its name (64 hex). */
  sha256: string;
  /** Where it is under `objects/sha256`, `xx/<62 hex>`. */
  path: string;
  /** Its size in bytes. */
  bytes: number;
}

/** Why prune removed nothing: a snapshot it could not read, or an entry of `snapshots/` that is not one. */
export interface PruneBlocker {
  /** `snapshot`: a snapshot folder with problems; `stray`: an entry of `snapshots/` that is not a snapshot folder, or a folder inside a snapshot folder. */
  kind: 'snapshot' | 'stray';
  /** Path relative to the store (`snapshots/NAME/VERSION`); a name that is not UTF-8 decoded without loss (docs/FORMAT.md §12). */
  path: string;
  /** For a path whose names are not all UTF-8: its exact bytes, lowercase hex (as fsck's `straysNotUtf8`). */
  pathHex?: string;
  /** `NAME@VERSION`, for a snapshot. */
  ref?: string;
  /** What is wrong (fsck's words). */
  message: string;
}

/** The result of {@link prune}. */
export interface PruneResult {
  /** False when something stopped prune from knowing the referenced set (`blockers`): nothing was removed. */
  ok: boolean;
  store: string;
  /** True with `remove` (`--yes`): the unreferenced objects were removed; false: a dry run. */
  removing: boolean;
  /**
   * True: run under the store lock. False only for a dry run on a store this user cannot write (the
   * lock cannot be made): the listing may then be stale, as a writer running meanwhile may have
   * objects in the store it has not committed yet (listed here as unreferenced).
   */
  locked: boolean;
  /** Why the lock was not taken (the lock error's message), when `locked` is false. */
  lockError?: string;
  /** Every unreferenced object found, by digest (empty when blocked); only the first `keepUnreferenced` with that option. */
  unreferenced: UnreferencedObject[];
  /** Why nothing was removed (empty when `ok`). */
  blockers: PruneBlocker[];
  counts: {
    /** Objects in the store before (regular files named by 64 hex under `objects/sha256`) and their bytes. */
    objects: number;
    bytes: number;
    /** Snapshot folders read. */
    snapshots: number;
    /** Distinct objects the snapshots name (present or not). */
    referenced: number;
    /** Objects no snapshot names, and their bytes. */
    unreferenced: number;
    unreferencedBytes: number;
    /** Objects removed, and their bytes (0 in a dry run or when blocked). */
    removed: number;
    removedBytes: number;
  };
  seconds: number;
}

/**
 * The fan-out folders of `objects/sha256` (`xx`, folders or links to folders, as fsck takes them),
 * sorted; other entries are fsck's strays, passed over (not kept: there may be any number).
 */
async function fanFolders(store: Store): Promise<string[]> {
  const fans: string[] = [];
  for await (const e of entriesOf(store.objectsDir)) if (FAN_RE.test(e.name) && (await isFolder(e, store.objectsDir))) fans.push(e.name);
  return fans.sort();
}

/**
 * The object files of one fan-out folder (regular files only; others are left for fsck to
 * report), in name order, with their sizes: the folder's names are held packed
 * ({@link packedNamesOf}), and {@link LSTAT_BATCH} lstat calls are in flight at once.
 */
async function* objectsOfFan(store: Store, fan: string): AsyncGenerator<{ hex: string; rel: string; bytes: number }> {
  const { names, count } = await packedNamesOf(store, fan);
  for (let i = 0; i < count; i += LSTAT_BATCH) {
    const batch: string[] = [];
    for (let k = i; k < Math.min(count, i + LSTAT_BATCH); k++) batch.push(`${fan}/${names.toString('hex', k * NAME_BYTES, (k + 1) * NAME_BYTES)}`);
    const stats = await Promise.all(batch.map((r) => fsp.lstat(join(store.objectsDir, r)).catch(() => undefined)));
    for (const [j, st] of stats.entries()) {
      const rel = batch[j] as string;
      if (st?.isFile()) yield { hex: rel.replace('/', ''), rel, bytes: st.size };
    }
  }
}

/**
 * Refuse (`STORE_MALFORMED`, from `ownFanFolder`) before anything is removed when a fan-out folder
 * that holds an unreferenced object is not a folder of the store's own (a symbolic link: it leads
 * out of the store, and no writer writes through one). Only such links are listed here.
 */
async function checkFanFolders(store: Store, fans: string[], referenced: DigestSet): Promise<void> {
  for (const fan of fans) {
    if ((await fsp.lstat(join(store.objectsDir, fan)).catch(() => undefined))?.isDirectory()) continue;
    for await (const o of objectsOfFan(store, fan)) {
      if (!referenced.has(o.hex)) {
        await ownFanFolder(store, fan, 'prune removes nothing through it');
        break;
      }
    }
  }
}

/** The paths (relative to the store) among `rels` that are folders, or symbolic links to folders (fsck reads through those). */
async function foldersAmong(store: Store, rels: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const rel of rels) if ((await fsp.stat(onDisk(store.root, ...rel.split('/'))).catch(() => undefined))?.isDirectory()) out.push(rel);
  return out;
}

/** errno values of a lock that cannot be made because this user cannot write the store (a dry run then runs without it). */
const READ_ONLY_ERRNOS: ReadonlySet<string> = new Set(['EACCES', 'EROFS', 'EPERM']);

/** True for lockStore's error on a store this user cannot write (`IO_ERROR` with a read-only errno). */
function cannotWriteStore(e: unknown): e is SnapError {
  return isSnapError(e, 'IO_ERROR') && READ_ONLY_ERRNOS.has(String(e.details?.errno));
}

/** lstat calls in flight at once while listing objects. */
const LSTAT_BATCH = 256;


/**
 * Find, and with `remove` remove, the objects of a local store that no snapshot references (see
 * the module comment for what counts, and why it is safe). Blocked (a snapshot cannot be read) is
 * a result (`ok: false`, nothing removed), not an error.
 * A dry run on a store this user cannot write runs without the lock (`locked: false`, `lockError`).
 * @throws SnapError `NOT_FOUND` (no store) | `STORE_LOCKED` (another writer kept the lock) |
 *   `STORE_MALFORMED` (a store folder, or with `remove` a fan-out folder of an unreferenced object,
 *   is a symbolic link: nothing removed) | `IO_ERROR` (with `remove`, a store this user cannot write
 *   (the lock cannot be made); a folder cannot be listed, an object cannot be removed: those
 *   removed before stay removed) | `INTERRUPTED` / `TERMINATED` (likewise)
 */
export async function prune(opts: PruneOptions): Promise<PruneResult> {
  const t0 = performance.now();
  const store = await openStore(opts.store);
  let lock: StoreLock | undefined;
  let lockError: string | undefined;
  try {
    lock = await lockStore(store, opts.lockWaitMs);
  } catch (e) {
    if (opts.remove || !cannotWriteStore(e)) throw e;
    lockError = e.message;
  }
  try {
    // Every digest the snapshots name, as 32 bytes (core/digest-set.ts): memory grows by under 100
    // bytes an object, not by a Set of strings. Whether an object is present does not matter here
    // (a missing object is fsck's problem, never a blocker), so nothing else is kept per object.
    const referenced = new DigestSet();
    const { snapshots, strays } = await checkSnapshotsNaming(store, () => true, (hex) => void referenced.add(hex));
    const blockers: PruneBlocker[] = [
      ...snapshots
        .filter((s) => s.problems.some((p) => p.kind !== 'missing-objects'))
        .map((s): PruneBlocker => {
          const [name, version] = s.ref.split('@') as [string, string];
          return { kind: 'snapshot', path: `snapshots/${name}/${version}`, ref: s.ref, message: s.problems.filter((p) => p.kind !== 'missing-objects').map((p) => p.message).join('; ') };
        }),
      // `snapshots/X` and `snapshots/X/Y` that are not snapshot folders; unknown files inside a snapshot folder name no object.
      ...strays.filter((p) => p.split('/').length <= 3).map((p): PruneBlocker => ({ kind: 'stray', ...nameDetails(p), message: 'not a snapshot folder snap can read (a bad NAME or VERSION, or not a folder): it may hold a snapshot moved by hand' })),
      // A folder inside a snapshot folder (`snapshots/ds/v2/v1 kept`) may hold a snapshot moved there by hand, too.
      ...(await foldersAmong(store, strays.filter((p) => p.split('/').length === 4))).map((p): PruneBlocker => ({ kind: 'stray', ...nameDetails(p), message: 'a folder inside a snapshot folder, which snap does not write: it may hold a snapshot moved by hand' })),
    ];
    const head: PruneHead = { store: store.root, removing: !!opts.remove, locked: lock !== undefined, ...(lockError !== undefined ? { lockError } : {}) };
    const keep = opts.keepUnreferenced ?? Infinity;
    let objects = 0;
    let bytes = 0;
    const unreferenced: UnreferencedObject[] = [];
    let unreferencedCount = 0;
    let unreferencedBytes = 0;
    let removed = 0;
    let removedBytes = 0;
    // Fan-out folders and the names in each are listed in name order: the objects come by digest.
    const fans = await fanFolders(store);
    // Never through a fan-out folder that is a link (it leads out of the store), as no writer writes through one: checked before the first removal.
    if (opts.remove && blockers.length === 0) await checkFanFolders(store, fans, referenced);
    for (const fan of fans) {
      checkInterrupted();
      for await (const { hex, rel, bytes: size } of objectsOfFan(store, fan)) {
        objects++;
        bytes += size;
        if (blockers.length > 0 || referenced.has(hex)) continue;
        const o: UnreferencedObject = { sha256: hex, path: rel, bytes: size };
        unreferencedCount++;
        unreferencedBytes += size;
        if (unreferenced.length < keep) unreferenced.push(o);
        // Removed as found: the referenced set is complete (nothing blocked), and the lock keeps any writer out.
        if (opts.remove && (await removeObject(store, o, removed))) {
          removed++;
          removedBytes += size;
          killPointForTest('prune-removed');
        }
        await opts.onUnreferenced?.(o, head);
      }
    }
    return {
      ok: blockers.length === 0,
      ...head,
      unreferenced,
      blockers,
      counts: { objects, bytes, snapshots: snapshots.length, referenced: referenced.size, unreferenced: unreferencedCount, unreferencedBytes, removed, removedBytes },
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await lock?.release();
  }
}

/**
 * Remove one unreferenced object (interruptible between removals).
 * @param before how many were removed before it, for the error
 * @returns false when it was gone already
 * @throws SnapError `IO_ERROR` | `INTERRUPTED` / `TERMINATED`
 */
async function removeObject(store: Store, o: UnreferencedObject, before: number): Promise<boolean> {
  checkInterrupted();
  try {
    await fsp.unlink(join(store.objectsDir, o.path));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw ioError(e, join(store.objectsDir, o.path), `cannot remove the unreferenced object (${before} removed before it)`);
  }
}

/** A SnapError for prune on an S3 store (`USAGE`): its objects may be under Object Lock, and other writers share it. */
export function pruneNeedsLocalStore(url: string): SnapError {
  return new SnapError('USAGE', `prune works on a local store only, not ${url}: objects of an S3 store may be under Object Lock (retention), which a delete must not get around, and prune does not remove objects from a bucket: nothing was read or removed`, { store: url });
}
