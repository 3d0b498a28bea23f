/**
 * `seal`: hash every file of a dataset, stream the sorted manifest to disk, compute its Merkle
 * root, sign the statement, keep a deduplicated copy of the contents in the store, and commit the
 * snapshot atomically (SPEC §2–§7).
 */
import { promises as fsp, existsSync, lstatSync, type BigIntStats } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { SnapError } from '../core/errors.js';
import { MerkleTreeBuilder, appendLeaves, type FoldedLeaves } from '../core/merkle.js';
import { toHex } from '../core/encoding.js';
import { parseNameVersion } from '../core/refs.js';
import { MAX_STATEMENT_BYTES, buildStatement, formatTime, serializeStatement, snapshotId, type Statement } from '../core/statement.js';
import { serializeEnvelope, signEnvelope, verifyEnvelope, type Envelope } from '../core/envelope.js';
import type { PrivateKey } from '../core/keys.js';
import type { Provenance } from '../core/provenance.js';
import { readSnapshotUnverified } from '../snapshot.js';
import { HashPool, BatchSizer, type SealReply, type CommitReply } from '../io/hash-pool.js';
import { walkDatasetRuns, type WalkItem, type WalkOptions } from '../io/walk.js';
import { walkParallel, isFileRun, type FileRun, type ParallelRun } from '../io/parallel-walk.js';
import { ParentHints } from '../io/parent-hints.js';
import {
  openStore, discardNewStore, lockStoreMaking, makeTmpDir, commitSnapshot, listSnapshots, resolveRef, snapshotDir, snapshotKeepsObjects, syncFileSystem, writeFileAtomic, fsyncDir, FSYNC_EACH_MAX_OBJECTS,
  MANIFEST_FILE, STATEMENT_FILE, ENVELOPE_FILE, CONTENTS_FILE, type Store,
} from '../io/store.js';
import { ioError } from '../io/errors.js';
import { checkInterrupted } from '../io/interrupt.js';
import { objectSinkFor, type ObjectSink } from '../io/object-sink.js';
import { nodeHashNative } from '../io/native-hash.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import { refuseReservedVersion } from '../trust/latest.js';
import { recordSetName, type RecordSetMember } from '../core/records.js';
import type { RecordRule } from '../records/config.js';
import type { SealRecords } from '../records/seal-records.js';
import { CONFIG_FILE } from '../records/config.js';
import { configEntryOf, keptConfigObject, readConfigBytes } from '../records/keep-config.js';
import { serializeEntry } from '../core/manifest.js';
import { IncrementalSource, StatCacheWriter, statCachePath, statId, thisMachine, type CacheStatus } from '../incremental/stat-cache.js';
import { writeAll } from '../io/write-all.js';
import { sharedFolderOnTheWay } from '../io/shared-folders.js';
import { killPointForTest } from '../io/test-kill-point.js';
import { PlacedObjects } from '../io/placed-objects.js';
import { leaveNothing } from '../io/interrupt.js';

/** Progress of a long operation, for a progress bar. */
export interface Progress {
  files: number;
  bytes: number;
  /** Known totals (verify knows them from the manifest; seal does not). */
  totalFiles?: number;
  totalBytes?: number;
  /**
   * A later phase of the same command, named (e.g. seal's "indexing records", after the files are
   * hashed): its own bar, labelled so. Absent: the command's main phase.
   */
  phase?: string;
}

/** Options of {@link seal}. */
export interface SealOptions {
  /** The dataset folder. */
  dir: string;
  /** `NAME@VERSION`. */
  as: string;
  /** The signing key. */
  key: PrivateKey;
  /** More keys that sign the new snapshot too (co-signers, SPEC §5); a key given twice signs once. */
  coSigners?: readonly PrivateKey[];
  /** Store folder. */
  store: string;
  /** Parent ref; `undefined`: the newest snapshot of the same NAME; `null`: none. */
  parent?: string | null;
  /** gitignore-syntax patterns to leave out; recorded in the statement. */
  excludes?: readonly string[];
  /** Record and sign only; keep no copy of the contents (record indexes are kept). */
  manifestOnly?: boolean;
  /** `predicate.expiresAt`: when verify starts refusing the snapshot (RFC 3339 UTC, after createdAt). */
  expiresAt?: string;
  /** Record rules (`--records`) instead of the dataset's `snap.json`, each of which must index a record set (else `RECORDS_CONFIG_INVALID`, nothing sealed); `[]` (`--no-records`): none. */
  recordRules?: readonly RecordRule[];
  /** Signed into the statement as `predicate.provenance` (see provenance/build.ts). */
  provenance?: Provenance;
  /** Hashing workers (default: one per core). */
  jobs?: number;
  onProgress?: (p: Progress) => void;
  /** The clock (tests). */
  now?: () => Date;
  /**
   * `--incremental`: take the parent's digest for each file whose `dev:ino:size:mtimeNs:ctimeNs`
   * is unchanged since the parent was sealed on this machine (its stat cache in `statCacheDir`),
   * and record this seal's stat cache there for the next one (incremental/stat-cache.ts). Under a
   * folder another user could change (io/shared-folders.ts: the stat-cache folder or one above it)
   * no cache is read or written: every file is read, and `incremental.cache` is `unsafe`.
   */
  incremental?: { statCacheDir: string };
  /** Test hook of an incremental seal: called for each file taken from the parent instead of being read. */
  onReuse?: (path: string) => void;
  /**
   * A dataset that is not a folder (a prefix in S3, src/s3/dataset.ts): its scan replaces the walk
   * of `dir`, which is then only its name in messages. Implies `manifestOnly` (the contents stay
   * where they are) and no record indexes.
   */
  scan?: DatasetScan;
  /**
   * With `scan`: the dataset's `snap.json` as it is now (undefined: there is none), read again after
   * the scan to keep it as an object (records/keep-config.ts); it must be the bytes the scan hashed,
   * else `FILE_CHANGED`. Without it a scanned dataset's `snap.json` is not kept.
   */
  readConfig?: () => Promise<Uint8Array | undefined>;
}

/** A dataset's scan, for a dataset that is not a folder: hands the manifest to `sink` in order. */
export type DatasetScan = (sink: ManifestSink, onProgress?: (p: Progress) => void) => Promise<ScanTotals>;

/** What every seal made, into a store or an archive: the new snapshot's names and totals. */
export interface SealedSnapshot {
  ref: string;
  snapshot: string;
  files: number;
  bytes: number;
  merkleRoot: string;
  manifestSha256: string;
  keyid: string;
  /** Every key that signed, in order (the first is `keyid`). */
  keyids: string[];
  createdAt: string;
  /** When the snapshot expires, if it does. */
  expiresAt?: string;
  parent?: string;
}

/** What {@link seal} made. */
export interface SealResult extends SealedSnapshot {
  /** Objects added to the store, and their bytes (0 with --manifest-only or when all were there). */
  newObjects: number;
  newObjectBytes: number;
  /**
   * Digests (64 hex) of objects whose name in the store held something else than the file sealed
   * under it — a link, a folder, or a file of another size (planted, or truncated) — replaced from
   * that file (they count among `newObjects`). A planted file of the right size is not seen here.
   */
  mendedObjects: string[];
  /** Wall time, in seconds. */
  seconds: number;
  dir: string;
  /** The record sets indexed and signed (docs/FORMAT.md §19.6). */
  records?: RecordSetMember[];
  /** True when there was no store at `store` and this seal made it. */
  storeCreated: boolean;
  /** With `incremental`: the parent whose digests were taken, how many files and bytes were not read, and the stat cache written. */
  incremental?: { parent?: string; cache: CacheStatus; reused: number; reusedBytes: number; statCache?: string; note?: string };
  /**
   * The record sets the parent has an index for and this snapshot has not (named as in
   * `predicate.records`; from the parent's statement, not verified): `diff` and `check` of the two
   * cannot compare those records. Usually `--records` given once instead of rules in `snap.json`.
   */
  recordSetsNotKept?: { parent: string; sets: string[] };
  /**
   * The parent (its ref, as given or found) when none of the keys this seal signs with signed it
   * (its envelope, over the statement its id names): planted in the store by whoever can write it
   * (with a key of their own), or sealed with another key. Its id is signed into the new statement
   * all the same; said so that such a lineage does not go in unseen. `byDefault` when it was the
   * newest snapshot of NAME, not `--parent`.
   */
  unsignedParent?: { ref: string; byDefault: boolean };
}

/**
 * Sink for the manifest as the pipeline produces it, batch by batch, in order: the batch's
 * canonical lines (each ending in `\n`; a string, or its UTF-8 bytes), and its `count` leaves for
 * the Merkle tree — their leaf hashes (32 bytes each), or the roots of the aligned complete
 * subtrees they form (core `foldAlignedSubtrees`, for `MerkleTreeBuilder.appendFolded`); see
 * {@link appendLeaves}.
 */
export interface ManifestSink {
  (text: string | Uint8Array, leaves: Uint8Array | FoldedLeaves, count: number): void | Promise<void>;
}

/** Append a batch's leaves, as a {@link ManifestSink} gets them, to a Merkle tree builder (core/merkle.ts). */
export { appendLeaves };

/** Options of {@link scanDataset}. */
export interface ScanOptions {
  dir: string;
  excludes?: readonly string[];
  /** Folders left out wholly (walk.ts `skipDirs`). */
  skipDirs?: readonly string[];
  /** Stores lying inside the dataset folder (absolute): only their own layout is left out, everything else under them is data (io/store-layout.ts). */
  stores?: readonly string[];
  /** With `stores`: their `tmp/` is this scan's own (the seal holding the store's lock), left out whole. */
  ownStoreTmp?: boolean;
  jobs?: number;
  /** Store mode: copy new contents into this store. */
  store?: Store;
  /**
   * The parent snapshot's digests of its large files, when it kept its contents (store mode): an
   * unchanged large file is hashed before it is copied (io/parent-hints.ts).
   */
  hints?: ParentHints;
  onProgress?: (p: Progress) => void;
  /**
   * Store mode: hand new objects over as the scan goes (a seal into an S3 store; io/object-sink.ts)
   * rather than keeping them all in `store` until the end. The store's durability flush is left out:
   * the sink takes the objects elsewhere.
   */
  objectSink?: ObjectSink;
  /** Report (instead of throwing) an entry a manifest cannot record, or a socket, FIFO or device (diff; see `WalkOptions`). */
  onBadName?: WalkOptions['onBadName'];
  onSpecial?: WalkOptions['onSpecial'];
  /** An incremental seal (see {@link SealOptions.incremental}): the parent's digests and the new stat cache. */
  incremental?: IncrementalScan;
  /**
   * Store mode without `objectSink`: where the objects moved into `objects/` are written down, so
   * that a seal that fails takes them out again (io/placed-objects.ts). A scan that fails while
   * they are moved removes those moved so far itself (before the pending folders go).
   */
  placed?: PlacedObjects;
  /**
   * Let the hashing workers list the folders (parallel-walk.ts; default true). It is used only
   * without `incremental` and `excludes`; false walks on the main thread (walk.ts), for tests that
   * compare the two.
   */
  walkInWorkers?: boolean;
}

/** What an incremental scan reads and writes. */
export interface IncrementalScan {
  /** The parent's stat cache and manifest, when there is a parent. */
  source?: IncrementalSource;
  writer: StatCacheWriter;
  /** Store mode: a file is taken from the parent only when its object is in the store, as a regular file of the file's size. */
  objectsDir?: string;
  /** An S3 store's working copy: an empty file under an object's name is the session's marker (present in the bucket). */
  markers?: boolean;
  /** Test hook: called for each file taken from the parent instead of being read. */
  onReuse?: (path: string) => void;
  /** The parent's snapshot id and its statement's `manifestSha256`: the parent's manifest must match it whenever a digest was taken from it. */
  parent?: { snapshot: string; manifestSha256: string };
}

/** Totals of a scan. */
export interface ScanTotals {
  files: number;
  bytes: number;
  newObjects: number;
  newObjectBytes: number;
  /** Objects whose name held something else, replaced from the file sealed (see {@link SealResult.mendedObjects}). */
  mendedObjects?: string[];
  /** Files (and their bytes) whose digest was taken from the parent, unread (incremental seal). */
  reused?: number;
  reusedBytes?: number;
}

/** The list of the objects a seal moved into its store (io/placed-objects.ts), in a folder of its own under `STORE/tmp`. */
const PLACED_OBJECTS_FILE = 'placed-objects';

/** Batches in flight per worker. */
const WINDOW_PER_WORKER = 4;

/** A manifest path shown as it is in an `--exclude '…'` hint: no glob, quote, space or control character to escape. */
const PLAIN_PATH_RE = /^[A-Za-z0-9._/-]+$/;

/**
 * Bytes of file data a seal batch aims at (from the running average file size, see `BatchSizer`).
 * 16 MiB, as verify's, cut the main thread's cost per file by about a third, but made the unchanged
 * second seal 3–4 % slower on two cores (1.87–1.90 s against 1.79–1.86 s, 4 interleaved pairs), a
 * target at its limit; so seal keeps 4 MiB (docs/PERFORMANCE.md, sixth session).
 */
export const SEAL_BATCH_BYTES = 4 << 20;

/**
 * Hash a dataset in manifest order with a pool of workers and hand the manifest to `sink` batch by
 * batch (canonical lines and their leaf hashes). In store mode, contents are copied into the store.
 * @throws SnapError `FILE_CHANGED` | `FILE_UNSUPPORTED_TYPE` | `PATH_*` | `NOT_FOUND` | `IO_ERROR` | `DISK_FULL`
 */
export async function scanDataset(opts: ScanOptions, sink: ManifestSink, started?: HashPool): Promise<ScanTotals> {
  const root = resolve(opts.dir);
  const pool = started ?? startScanPool(opts);
  const sizer = new BatchSizer(SEAL_BATCH_BYTES);
  const totals: ScanTotals = { files: 0, bytes: 0, newObjects: 0, newObjectBytes: 0 };
  /** `ids` (a batch taken from the parent): each file's identity, to record again in the new stat cache. */
  const inflight: { reply: Promise<SealReply>; count: number; items?: WalkItem[]; reused?: boolean; ids?: string[] }[] = [];
  const window = pool.size * WINDOW_PER_WORKER;
  const objectSink = opts.store ? opts.objectSink : undefined;
  let staged = 0;
  let handing: Promise<void> | undefined;
  /**
   * Let every worker rename its pending objects into the store; objects another worker committed
   * first are dropped and no longer counted as new. Returns the digests renamed into place when
   * `withDigests` (an object sink takes them); else none are sent (a local store's seal commits
   * every object at once: a million digests would be copied from the workers for nothing). With
   * `fsyncEach`, each worker fsyncs each pending object before its rename, then the folders it
   * renamed into (the caller flushes nothing: {@link FSYNC_EACH_MAX_OBJECTS}).
   */
  const commitPending = async (withDigests = true, fsyncEach = false): Promise<string[]> => {
    const commits = await pool.broadcast<CommitReply>({ commit: true, hexes: withDigests, ...(fsyncEach ? { fsyncEach } : {}) });
    // An object that replaced something under its name (another snapshot's object, truncated, say)
    // is kept whatever follows, even from a worker whose commit failed after it.
    for (const c of commits) if (c.replaced?.length) opts.placed?.mended(c.replaced);
    const hexes: string[] = [];
    for (const c of commits) {
      if (c.error?.code === 'STORE_MALFORMED') throw new SnapError('STORE_MALFORMED', `${(opts.store as Store).root}: ${c.error.message}`, { path: (opts.store as Store).objectsDir });
      if (c.error) throw ioError(Object.assign(new Error(c.error.message), { code: c.error.errno }), c.error.storePath ?? (opts.store as Store).objectsDir, 'cannot commit objects');
      totals.newObjects -= c.duplicates;
      totals.newObjectBytes -= c.duplicateBytes;
      // One at a time: push(...list) passes a digest an argument, past the stack's limit at about 120,000.
      for (const h of c.hexes ?? []) hexes.push(h);
      if (c.replaced?.length) {
        const mended = (totals.mendedObjects ??= []);
        for (const h of c.replaced) mended.push(h);
      }
    }
    return hexes;
  };
  /** Commit the pending objects into the store and hand them to the sink (after its previous batch). */
  const handOver = async (): Promise<void> => {
    staged = 0;
    const hexes = await commitPending();
    if (handing) await handing;
    // Objects the sink's store held already (an S3 bucket: objects no parent names) are not new.
    handing = hexes.length
      ? (objectSink as ObjectSink).take(hexes).then((t) => {
          totals.newObjects -= t.present;
          totals.newObjectBytes -= t.presentBytes;
        })
      : undefined;
    handing?.catch(() => {}); // awaited at the next hand-over or at the end
  };
  /** Leaves handed to the workers so far: the index in the manifest of the next batch's first line. */
  let submitted = 0;

  const drainOne = async (): Promise<void> => {
    const { reply, count, items, reused, ids } = inflight.shift() as (typeof inflight)[number];
    const r = await reply;
    if (r.error) {
      const e = r.error;
      const path = e.index >= 0 && items ? (items[e.index] as WalkItem).path : e.path;
      if (e.code === 'FILE_CHANGED') {
        throw new SnapError('FILE_CHANGED', `${path} changed while it was being sealed (${e.message}); nothing was committed. Seal again once the data is stable.`, { path });
      }
      // Something not snap's in the store's tmp folder where a worker keeps its pending objects.
      if (e.code === 'STORE_MALFORMED') throw new SnapError('STORE_MALFORMED', `${(opts.store as Store).root}: ${e.message}`, { path: (opts.store as Store).tmpDir });
      // The store's copy could not be written (a pending folder taken away, a full disk): say where, not "cannot read" the file.
      if (e.storePath !== undefined) throw ioError(Object.assign(new Error(e.message), { code: e.errno }), e.storePath, `cannot write the store's copy of ${path}`);
      const err = ioError(Object.assign(new Error(e.message), { code: e.errno }), join(root, path), 'cannot read');
      // A file this user may not read: say the two ways on (a name with glob or quote characters gets the flag alone).
      if (e.errno === 'EACCES' || e.errno === 'EPERM') {
        const exclude = PLAIN_PATH_RE.test(path) ? `--exclude '${path}'` : '--exclude PATTERN';
        throw new SnapError(err.code, `${err.message}; nothing was sealed: make it readable by this user, or leave it out with ${exclude}`, err.details, { cause: err });
      }
      throw err;
    }
    await sink(r.text, (r.folded ?? r.leaves) as Uint8Array | FoldedLeaves, count);
    // The next incremental seal's stat cache, in manifest order: the identity of what was read (the
    // worker's fstat of the descriptor it hashed, never an earlier lstat of the path), or of a file
    // taken from the parent.
    const writer = opts.incremental?.writer;
    const recorded = ids ?? r.ids;
    if (writer && items && recorded) {
      for (let k = 0; k < items.length; k++) {
        const id = recorded[k];
        if (id) writer.add((items[k] as WalkItem).path, id);
      }
    }
    totals.files += count;
    totals.bytes += r.bytes;
    totals.newObjects += r.newObjects;
    totals.newObjectBytes += r.written;
    if (!reused) sizer.record(count, r.bytes);
    opts.onProgress?.({ files: totals.files, bytes: totals.bytes });
    staged += r.written;
    if (objectSink && staged >= objectSink.everyBytes) await handOver();
  };
  /** Send a batch of `count` lines (the worker folds their leaves, knowing where they start) and keep the window full. */
  const submit = async (batch: Record<string, unknown>, count: number, items?: WalkItem[]): Promise<void> => {
    inflight.push({ reply: pool.submit<SealReply>({ ...batch, start: submitted }), count, ...(items ? { items } : {}) });
    submitted += count;
    while (inflight.length >= window) await drainOne();
  };

  try {
    let batch: WalkItem[] = [];
    let hinted: (string | null)[] = [];
    let want = sizer.next();
    const flush = async (): Promise<void> => {
      checkInterrupted(); // the walk waits on no worker
      if (batch.length === 0) return;
      const items = batch;
      const hints = hinted;
      batch = [];
      hinted = [];
      const rels = items.map((i) => i.path);
      const kinds = items.map((i) => (i.kind === 'symlink' ? 1 : 0));
      const extra = items.map((i, k) => (i.kind === 'symlink' ? i.target : (hints[k] ?? null)));
      await submit({ rels, kinds, extra, ...(inc ? { ids: true } : {}) }, items.length, items);
      want = sizer.next();
    };
    // Runs of files listed by the workers (parallel-walk.ts): batches of folders and names, no per-file object here.
    let groupDirs: string[] = [];
    let groupNames: string[] = [];
    let grouped = 0;
    /** The parent's digests of the group's large files (dataset path → hex), when it has any. */
    let groupHints: Map<string, string> | undefined;
    const flushGroups = async (): Promise<void> => {
      checkInterrupted();
      if (grouped === 0) return;
      const count = grouped;
      const batchOf = { dirs: groupDirs, names: groupNames, ...(groupHints && groupHints.size > 0 ? { hints: groupHints } : {}) };
      groupDirs = [];
      groupNames = [];
      grouped = 0;
      groupHints = undefined;
      await submit(batchOf, count);
      want = sizer.next();
    };
    const addFileRun = async (run: FileRun): Promise<void> => {
      if (batch.length > 0) await flush();
      let i = run.from;
      while (i < run.to) {
        const j = Math.min(run.to, i + Math.max(1, want - grouped));
        groupDirs.push(run.dir);
        groupNames.push(run.files.slice(run.offsets[i], (run.offsets[j] as number) - 1));
        if (opts.hints && opts.hints.size > 0) {
          const first = run.files.slice(run.offsets[i], (run.offsets[i + 1] as number) - 1);
          const last = run.files.slice(run.offsets[j - 1], (run.offsets[j] as number) - 1);
          opts.hints.addRange((groupHints ??= new Map()), run.dir, first, last);
        }
        grouped += j - i;
        i = j;
        if (grouped >= want) await flushGroups();
      }
    };
    // Incremental: files taken from the parent, as a batch of their own answered here, in order.
    const inc = opts.incremental;
    let reusedItems: WalkItem[] = [];
    let reusedLines: string[] = [];
    let reusedIds: string[] = [];
    let reusedBytes = 0;
    const flushReused = async (): Promise<void> => {
      if (reusedItems.length === 0) return;
      const leaves = new Uint8Array(32 * reusedLines.length);
      reusedLines.forEach((line, i) => leaves.set(createHash('sha256').update(LEAF_PREFIX).update(line).digest(), 32 * i));
      const reply: SealReply = { id: 0, text: reusedLines.join('\n') + '\n', leaves, bytes: reusedBytes, written: 0, newObjects: 0 };
      inflight.push({ reply: Promise.resolve(reply), count: reusedItems.length, items: reusedItems, reused: true, ids: reusedIds });
      submitted += reusedItems.length;
      totals.reused = (totals.reused ?? 0) + reusedItems.length;
      totals.reusedBytes = (totals.reusedBytes ?? 0) + reusedBytes;
      reusedItems = [];
      reusedLines = [];
      reusedIds = [];
      reusedBytes = 0;
      while (inflight.length >= window) await drainOne();
    };
    const skipDirs = [...(opts.skipDirs ?? [])];
    const walkOpts = { skipDirs, stores: opts.stores, ownStoreTmp: opts.ownStoreTmp, onBadName: opts.onBadName, onSpecial: opts.onSpecial };
    // The workers list the folders unless each file needs the main thread (an incremental seal's
    // lstat) or --exclude patterns apply (matched here, by the `ignore` package).
    const inWorkers = opts.walkInWorkers !== false && !inc && !(opts.excludes && opts.excludes.length > 0);
    const runs: AsyncIterable<ParallelRun> = inWorkers
      ? walkParallel(root, (folders) => pool.list(folders), walkOpts)
      : walkDatasetRuns(root, { ...walkOpts, excludes: opts.excludes });
    for await (const run of runs) {
      if (isFileRun(run)) {
        await addFileRun(run);
        continue;
      }
      await flushGroups();
      for (const item of run) {
        if (inc && item.kind === 'file') {
          const hit = await reusable(inc, root, item.path);
          if (hit) {
            if (batch.length > 0) await flush();
            reusedItems.push(item);
            reusedLines.push(hit.line);
            reusedIds.push(hit.id);
            reusedBytes += hit.size;
            inc.onReuse?.(item.path);
            if (reusedItems.length >= 1024) await flushReused();
            continue;
          }
        }
        if (reusedItems.length > 0) await flushReused();
        batch.push(item);
        hinted.push(opts.hints && item.kind !== 'symlink' ? (opts.hints.get(item.path) ?? null) : null);
        if (batch.length >= want) await flush();
      }
    }
    await flushGroups();
    await flushReused();
    await flush();
    while (inflight.length > 0) await drainOne();
    if (objectSink) {
      await handOver();
      if (handing) await handing;
      handing = undefined;
      for (let w = 0; w < pool.size; w++) await fsp.rmdir(join((opts.store as Store).tmpDir, `pending-${w}`)).catch(() => {});
    } else if (opts.store && totals.newObjects > 0) {
      // Batch durability (SPEC §7): flush every pending object's bytes with one syncfs, then let
      // each worker rename its pending objects into place, then flush those renames. (Nothing
      // pending — an unchanged dataset — nothing to flush.) A few new objects are flushed one by
      // one instead, by the workers, each before its rename (FSYNC_EACH_MAX_OBJECTS).
      const fsyncEach = totals.newObjects <= FSYNC_EACH_MAX_OBJECTS;
      if (!fsyncEach) syncFileSystem(opts.store.tmpDir);
      const pendingDirs = Array.from({ length: pool.size }, (_, w) => join((opts.store as Store).tmpDir, `pending-${w}`));
      opts.placed?.staging(pendingDirs);
      await commitPending(false, fsyncEach);
      opts.placed?.committed();
      if (!fsyncEach) syncFileSystem(opts.store.objectsDir);
      for (let w = 0; w < pool.size; w++) await fsp.rmdir(join(opts.store.tmpDir, `pending-${w}`)).catch(() => {});
    }
  } catch (e) {
    if (handing) await handing.catch(() => {}); // no upload left running behind a failed seal
    await pool.close();
    // Objects moved into objects/ before the failure are taken out (an object still pending is
    // told apart by its pending copy, so this comes before those go).
    opts.placed?.removeSync();
    // A failed scan commits nothing: drop the pending copies now rather than at the next lock.
    if (opts.store) for (let w = 0; w < pool.size; w++) await fsp.rm(join(opts.store.tmpDir, `pending-${w}`), { recursive: true, force: true }).catch(() => {});
    throw e;
  }
  await pool.close();
  return totals;
}

/** RFC 9162 leaf prefix (a manifest line's leaf hash is SHA-256(0x00 ‖ line)). */
const LEAF_PREFIX = new Uint8Array([0x00]);

/**
 * For an incremental scan: lstat a file and, when the parent's stat cache has exactly that identity
 * for it and the parent's manifest a digest of that size (and, in store mode, its object is in the
 * store), the canonical manifest line to use instead of reading it, with that identity (recorded
 * again for the next seal) and size. Otherwise the worker reads the file, and the identity recorded
 * for the next seal is the worker's fstat of what it read: an lstat of the path says nothing of the
 * file a later open finds there (a folder swapped in and out around the read moves no file's ctime).
 * A file that cannot be lstat'ed is left to the worker, which reports what is wrong.
 */
async function reusable(inc: IncrementalScan, root: string, path: string): Promise<{ line: string; id: string; size: number } | undefined> {
  if (inc.source?.status !== 'used') return undefined; // nothing to take: no lstat
  let st: BigIntStats;
  try {
    st = lstatSync(join(root, path), { bigint: true });
  } catch {
    return undefined;
  }
  const hit = await inc.source.get(path);
  if (!hit || !st.isFile() || BigInt(hit.size) !== st.size || statId(st) !== hit.id) return undefined;
  if (inc.objectsDir && !objectOfSize(join(inc.objectsDir, hit.sha256.slice(0, 2), hit.sha256.slice(2)), hit.size, inc.markers === true)) return undefined;
  return { line: serializeEntry({ path, sha256: hit.sha256, size: hit.size }), id: hit.id, size: hit.size };
}

/**
 * Is a regular file of `size` bytes at the object path `path` (one lstat: a link is not followed)?
 * Else the file is read and its object written again (a planted or truncated object is replaced).
 * With `markers` (an S3 working copy) an empty file also counts: the session's marker.
 */
function objectOfSize(path: string, size: number, markers: boolean): boolean {
  let st;
  try {
    st = lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return false;
  }
  return st !== undefined && st.isFile() && (st.size === size || (markers && st.size === 0));
}

/**
 * Start the workers of a scan ahead of time (they take tens of milliseconds to boot): pass the pool
 * to {@link scanDataset}, which closes it.
 */
export function startScanPool(opts: Pick<ScanOptions, 'dir' | 'jobs' | 'store'>): HashPool {
  const markers = opts.store !== undefined && objectSinkFor(opts.store.root) !== undefined;
  return new HashPool({ jobs: opts.jobs, mode: opts.store ? 'store' : 'seal', root: resolve(opts.dir), objectsDir: opts.store?.objectsDir, tmpDir: opts.store?.tmpDir, markers });
}

/** Options of {@link scanAndSign}: a scan, where its manifest goes, and what the statement names. */
export interface ScanAndSignOptions extends ScanOptions {
  name: string;
  version: string;
  key: PrivateKey;
  /** More signing keys (see {@link SealOptions.coSigners}). */
  coSigners?: readonly PrivateKey[];
  /** Where the manifest is written (a new file, mode 0444, fsynced). */
  manifestPath: string;
  parent?: string;
  /** `predicate.expiresAt` (see {@link SealOptions.expiresAt}). */
  expiresAt?: string;
  /** Signed into the statement as `predicate.provenance`. */
  provenance?: Provenance;
  now?: () => Date;
  /** Indexes the record sets once the manifest is written; its members go into the statement. */
  records?: (manifestPath: string) => Promise<RecordSetMember[]>;
  /** Scan this instead of walking `dir` (see {@link SealOptions.scan}). */
  scan?: DatasetScan;
}

/** What {@link scanAndSign} made. */
export interface SignedScan {
  /** What every seal reports (its `--json` fields shared by both kinds of seal). */
  sealed: SealedSnapshot;
  totals: ScanTotals;
  merkleRoot: string;
  manifestSha256: string;
  createdAt: string;
  statement: Statement;
  statementBytes: Uint8Array;
  envelope: Envelope;
  /** Whether the manifest has an entry for the dataset's root `snap.json` (seen as its lines passed: {@link CONFIG_LINE_START}). */
  hasConfigEntry: boolean;
}

/**
 * How the manifest line of the root `snap.json` begins (canonical JSON: `path` is the first member,
 * SPEC §2). These bytes occur in a manifest nowhere else: inside a JSON string every `"` is escaped.
 * Looked for in each batch as it passes, so that a seal of a dataset without one does not read its
 * manifest again to find out.
 */
export const CONFIG_LINE_START = `{"path":${JSON.stringify(CONFIG_FILE)},`;

/**
 * The first half of every seal (into a store or into an archive): scan the dataset, stream its
 * manifest to `manifestPath` while hashing its bytes and folding the Merkle root, then build the
 * statement (SPEC §4) and sign it (SPEC §5).
 * @throws SnapError `DATASET_EMPTY` | every code of {@link scanDataset} | `IO_ERROR` (manifest)
 */
export async function scanAndSign(opts: ScanAndSignOptions, started?: HashPool): Promise<SignedScan> {
  const { manifestPath } = opts;
  const out = await fsp.open(manifestPath, 'wx', 0o444);
  const manifestHash = createHash('sha256');
  const tree = new MerkleTreeBuilder({ nodeHash: nodeHashNative });
  let pending: Uint8Array[] = [];
  let pendingLen = 0;
  /** Write the batches' text gathered so far with one `writev` (no copy into one buffer: a fresh MiB a time costs more in page faults than the copy). */
  const writePending = async () => {
    if (pendingLen === 0) return;
    const bufs = pending;
    const len = pendingLen;
    pending = [];
    pendingLen = 0;
    try {
      const written = (await out.writev(bufs)).bytesWritten;
      if (written < len) {
        // A short write (a disk filling up): write the rest until done or refused (ENOSPC: DISK_FULL).
        // Unchecked, it would leave a manifest that does not hash to the digest signed.
        await writeAll(out, Buffer.concat(bufs, len).subarray(written));
      }
    } catch (e) {
      throw ioError(e, manifestPath, 'cannot write the manifest');
    }
  };
  let totals: ScanTotals;
  let hasConfigEntry = false;
  try {
    const sink: ManifestSink = async (text, leaves, count) => {
      if (!hasConfigEntry) hasConfigEntry = typeof text === 'string' ? text.includes(CONFIG_LINE_START) : Buffer.from(text.buffer, text.byteOffset, text.byteLength).includes(CONFIG_LINE_START);
      manifestHash.update(text);
      appendLeaves(tree, leaves, count);
      const bytes = typeof text === 'string' ? Buffer.from(text) : text;
      pending.push(bytes);
      pendingLen += bytes.length;
      if (pendingLen >= 1 << 20 || pending.length >= 1024) await writePending();
    };
    totals = opts.scan ? await opts.scan(sink, opts.onProgress) : await scanDataset(opts, sink, started);
    await writePending();
    await out.sync();
  } finally {
    await out.close();
  }
  if (totals.files === 0) {
    throw new SnapError('DATASET_EMPTY', `${opts.dir} holds no files${opts.excludes?.length ? ' after --exclude' : ''}; an empty training set is always a mistake`, { path: opts.dir });
  }
  const inc = opts.incremental;
  if (inc?.source && inc.parent && (totals.reused ?? 0) > 0) {
    // Digests were taken from the parent's manifest: it must be the one its statement names.
    const got = await inc.source.manifestSha256();
    if (got !== inc.parent.manifestSha256) {
      throw new SnapError('INTEGRITY_FAILURE', `the parent snapshot's manifest.jsonl does not match its statement (it was altered): nothing was signed; run snap fsck, or seal without --incremental`, { parent: inc.parent.snapshot });
    }
  }
  const merkleRoot = toHex(tree.root());
  const manifestSha256 = manifestHash.digest('hex');
  const records = opts.records ? await opts.records(manifestPath) : undefined;
  const createdAt = formatTime((opts.now ?? (() => new Date()))());
  const statement = buildStatement({
    dataset: opts.name,
    version: opts.version,
    merkleRoot,
    manifestSha256,
    fileCount: totals.files,
    totalBytes: totals.bytes,
    createdAt,
    ...(opts.expiresAt ? { expiresAt: opts.expiresAt } : {}),
    ...(opts.parent ? { parent: opts.parent } : {}),
    ...(opts.excludes && opts.excludes.length > 0 ? { excludes: [...opts.excludes] } : {}),
    ...(records && records.length > 0 ? { records } : {}),
    ...(opts.provenance ? { provenance: opts.provenance } : {}),
    ...(inc?.parent && inc.source?.applied ? { incremental: { parent: inc.parent.snapshot, reused: totals.reused ?? 0 } } : {}),
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
  });
  const statementBytes = serializeStatement(statement);
  if (statementBytes.length > MAX_STATEMENT_BYTES) {
    // Readers refuse a statement above MAX_STATEMENT_BYTES (4 MiB): refuse to sign one rather than write a snapshot nobody can read.
    throw new SnapError('RECORDS_LIMIT', `the statement would be ${statementBytes.length} bytes, more than the ${MAX_STATEMENT_BYTES} (4 MiB) readers accept: index fewer record sets or labels`, { bytes: statementBytes.length, limit: MAX_STATEMENT_BYTES });
  }
  const signers = distinctSigners([opts.key, ...(opts.coSigners ?? [])]);
  const sealed: SealedSnapshot = {
    ref: `${opts.name}@${opts.version}`,
    snapshot: snapshotId(statementBytes),
    files: totals.files,
    bytes: totals.bytes,
    merkleRoot,
    manifestSha256,
    keyid: opts.key.keyid,
    keyids: signers.map((k) => k.keyid),
    createdAt,
    ...(opts.expiresAt ? { expiresAt: opts.expiresAt } : {}),
    ...(opts.parent ? { parent: opts.parent } : {}),
  };
  return { sealed, totals, merkleRoot, manifestSha256, createdAt, statement, statementBytes, envelope: signEnvelope(statementBytes, signers), hasConfigEntry };
}

/**
 * Whether a parent snapshot's envelope is signed by one of `keys` (DSSE, SPEC §5: a signature valid
 * under a key's public half) over the statement whose id is `parent`. An incremental seal takes a
 * parent's digests only then: its statement is read from the store, which whoever can write the
 * store may have forged together with its manifest (a planted object's digest for an unchanged
 * file), and the stat cache that names it may have been forged too (docs/DESIGN.md, "Incremental
 * seal"). Its own keys are all a seal can check against: it takes no trust flags.
 */
function signedBySealer(envelope: Envelope | undefined, parent: string, keys: readonly PrivateKey[]): boolean {
  if (!envelope) return false;
  try {
    const v = verifyEnvelope(envelope, keys.map((k) => ({ publicKey: k.publicKey, keyid: k.keyid })));
    return v.ok && snapshotId(v.payload) === parent;
  } catch {
    return false; // another payload type, or a payload that is not base64: not the parent's signature
  }
}

/** The keys in order, each keyid once (the same key given twice signs once). */
function distinctSigners(keys: readonly PrivateKey[]): PrivateKey[] {
  const seen = new Set<string>();
  return keys.filter((k) => !seen.has(k.keyid) && seen.add(k.keyid) !== undefined);
}

/** The record-index code (CSV, JSONL and Parquet readers): loaded only by a seal that has a record configuration. */
const recordsModule = () => import('../records/seal-records.js');

/**
 * `readRecordConfigSource` of `dir` (its rules, and the bytes they were parsed from), loading the
 * record code only when `dir` holds an entry named `snap.json` (of any type: the reader says what
 * is wrong with one that is not a file).
 */
async function readRecordConfigIfAny(dir: string): ReturnType<Awaited<ReturnType<typeof recordsModule>>['readRecordConfigSource']> {
  try {
    await fsp.lstat(join(dir, CONFIG_FILE));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined; // as readRecordConfig: no config (or DIR is not a folder: the seal says so)
  }
  return (await recordsModule()).readRecordConfigSource(dir);
}

/**
 * Seal a dataset into the store: see the module comment. The store is locked for the duration; a
 * seal that fails or is killed leaves the store valid and without the snapshot. One that fails (or
 * is interrupted) before its commit also removes the objects it moved into a local store's
 * `objects/`, and only those (io/placed-objects.ts); a killed one leaves them for `snap prune`. When there is no
 * store, one is made where its parent folder exists (`openStore`'s `create`; `storeCreated` says
 * so), and removed again if the seal fails.
 * @throws SnapError `REF_MALFORMED` | `SNAPSHOT_EXISTS` | `DATASET_EMPTY` | `REF_NOT_FOUND` (parent) |
 *   `STORE_LOCKED` | `NOT_FOUND` / `NOT_A_FOLDER` (no store, and none can be made there) | every code of
 *   {@link scanDataset}
 */
export async function seal(opts: SealOptions): Promise<SealResult> {
  parseNameVersion(opts.as); // a malformed NAME@VERSION makes no store
  // Record rules first: a malformed snap.json stops the seal before anything is hashed or made.
  const config = opts.scan || opts.recordRules ? undefined : await readRecordConfigIfAny(resolve(opts.dir));
  const recordRules = opts.scan ? [] : (opts.recordRules ?? config?.config.rules ?? []);
  const store = await openStore(opts.store, { create: true });
  try {
    return { ...(await sealInto(store, opts, recordRules, config?.source)), storeCreated: store.created !== undefined };
  } catch (e) {
    await discardNewStore(store); // a seal that fails leaves no new store behind
    throw e;
  }
}

/**
 * Why the stat caches in `statCacheDir` are not safe from other users — the first folder, from it
 * up to `/`, that another user could change (io/shared-folders.ts, on the path as given and on its
 * real path; folders not there yet are passed by) — in words for a note, or undefined when they
 * are. A folder that cannot be looked at is said so: the cache is then not used either.
 */
async function unsafeStatCacheFolder(statCacheDir: string): Promise<string | undefined> {
  const keep = 'keep the state in a folder of your own (SNAP_STATE_DIR, e.g. under your home folder)';
  try {
    // Any name in the folder: the folders judged are the stat-cache folder and those above it.
    const shared = await sharedFolderOnTheWay(join(statCacheDir, 'cache'), 'cannot use the stat cache');
    if (shared === undefined) return undefined;
    const which = shared.path === statCacheDir ? `the stat-cache folder ${statCacheDir}` : `the folder ${shared.path} above the stat cache ${statCacheDir}`;
    return `${which} is not safe from other users (${shared.why}): they could put a stat cache of their choosing in its place, so none was read or written and every file was read; ${keep}, or make ${shared.path} this user's or root's and writable by no other user, or sticky (chmod +t)`;
  } catch (e) {
    return `the folders above the stat cache ${statCacheDir} could not be checked (${(e as Error).message}), so none was read or written and every file was read; ${keep}`;
  }
}

/** `configSource`: the bytes of the dataset's `snap.json` that `recordRules` were parsed from (none with `--records`). */
async function sealInto(store: Store, opts: SealOptions, recordRules: readonly RecordRule[], configSource?: Uint8Array): Promise<Omit<SealResult, 'storeCreated'>> {
  const t0 = performance.now();
  const { name, version } = parseNameVersion(opts.as);
  refuseReservedVersion(version);
  const dir = opts.scan ? opts.dir : resolve(opts.dir);
  const manifestOnly = !!opts.manifestOnly || opts.scan !== undefined;
  const exists = () => fsp.access(join(snapshotDir(store, name, version), STATEMENT_FILE)).then(() => true, () => false);
  if (await exists()) throw new SnapError('SNAPSHOT_EXISTS', `${name}@${version} already exists in ${store.root}; snapshots are write-once, choose a new VERSION`, { ref: opts.as });

  const lock = await lockStoreMaking(store);
  let tmp: string | undefined;
  let writer: StatCacheWriter | undefined;
  let incremental: IncrementalScan | undefined;
  /** What an incremental seal reports (set early when its stat cache is not used at all). */
  let incrementalResult: SealResult['incremental'];
  /** An incremental seal whose parent no sealing key signed: none of its digests is taken. */
  let parentUnsigned = false;
  // Boot the workers now, while the lock, parent and hints are sorted out.
  /** The objects this seal moved into objects/ (a local store's), and the undo that removes them on an interrupted process's way out. */
  let placed: PlacedObjects | undefined;
  let forgetPlaced: (() => void) | undefined;
  /** The folder under `STORE/tmp` holding the list of {@link placed}. */
  let placedDir: string | undefined;
  let pool: HashPool | undefined = opts.scan ? undefined : startScanPool({ dir, jobs: opts.jobs, store: manifestOnly ? undefined : store });
  try {
    if (await exists()) throw new SnapError('SNAPSHOT_EXISTS', `${name}@${version} already exists in ${store.root}`, { ref: opts.as });
    // Parent: explicit ref, or the newest snapshot of this NAME.
    let parent: string | undefined;
    let parentDir: string | undefined;
    let parentRef: string | undefined;
    /** The parent's statement, as readSnapshotUnverified read it (not verified). */
    let parentStatement: Statement | undefined;
    /** The parent's envelope, when its payload is that statement (its signatures checked only by an incremental seal). */
    let parentEnvelope: Envelope | undefined;
    let parentByDefault = false;
    if (typeof opts.parent === 'string') {
      const loc = await resolveRef(opts.parent, store.root);
      parentDir = loc.dir;
      // The parent's id is signed into the new statement: a store folder holding another
      // snapshot than its name says (swapped or moved) must not be recorded as this parent.
      const read = await readSnapshotUnverified(loc);
      parent = read.snapshot;
      parentRef = opts.parent;
      parentStatement = read.statement;
      parentEnvelope = read.envelope;
    } else if (opts.parent === undefined) {
      const same = await listSnapshots(store, name);
      const newest = same[same.length - 1];
      if (newest?.signedAs !== undefined) {
        throw new SnapError('SNAPSHOT_NAME_MISMATCH', `the newest snapshot of ${name} in the store, ${newest.name}@${newest.version}, is signed as ${newest.signedAs}: the store was tampered with; run snap fsck, or name the parent with --parent REF (or --no-parent)`, { ref: `${newest.name}@${newest.version}`, signed: newest.signedAs });
      }
      if (newest) {
        // As for --parent: the id signed into the new statement is the one the newest version's
        // signatures cover (its envelope's payload), not the hash of a statement.json that anyone
        // who can write to the store may have edited.
        const read = await readSnapshotUnverified({ dir: newest.dir, name: newest.name, version: newest.version, ref: `${newest.name}@${newest.version}` });
        parent = read.snapshot;
        parentDir = newest.dir;
        parentRef = `${newest.name}@${newest.version}`;
        parentStatement = read.statement;
        parentEnvelope = read.envelope;
        parentByDefault = true;
      }
    }
    const unsignedParent = parent && parentRef && !signedBySealer(parentEnvelope, parent, [opts.key, ...(opts.coSigners ?? [])]) ? { ref: parentRef, byDefault: parentByDefault } : undefined;
    const hints = !manifestOnly && parentDir && (await snapshotKeepsObjects(parentDir)) ? await ParentHints.read(join(parentDir, MANIFEST_FILE)) : undefined;
    // A stat cache under a folder another user could change is theirs to choose: a state folder
    // of theirs put in place of this user's (a rename in a folder they may write) holds the cache
    // they chose — a file of this user's whose bytes they wrote passes every check of the file
    // itself — or leads, through a link, to a folder of this user's where the seal would write its
    // cache and remove files named as caches. Such a cache is neither read nor written; the seal
    // goes on reading every file (it signs the same digests, only slower), and says why.
    const unsafeCache = opts.incremental ? await unsafeStatCacheFolder(opts.incremental.statCacheDir) : undefined;
    if (opts.incremental && unsafeCache !== undefined) {
      incrementalResult = { ...(parent ? { parent } : {}), cache: 'unsafe', reused: 0, reusedBytes: 0, note: unsafeCache };
    } else if (opts.incremental) {
      const machine = thisMachine();
      let source: IncrementalSource | undefined;
      let parentInfo: IncrementalScan['parent'];
      if (parent && parentDir) {
        const st = parentStatement;
        if (st) {
          parentInfo = { snapshot: parent, manifestSha256: st.predicate.manifestSha256 };
          source = new IncrementalSource(statCachePath(opts.incremental.statCacheDir, parent), join(parentDir, MANIFEST_FILE), { snapshot: parent, fileCount: st.predicate.fileCount }, machine, dir);
          await source.open();
          if (source.status === 'used' && !signedBySealer(parentEnvelope, parent, [opts.key, ...(opts.coSigners ?? [])])) {
            await source.close();
            source = undefined;
            parentUnsigned = true;
          }
        }
      }
      writer = await StatCacheWriter.open(opts.incremental.statCacheDir, machine, dir, BigInt((opts.now ?? (() => new Date()))().getTime()) * 1_000_000n);
      incremental = { source, writer, parent: parentInfo, ...(opts.manifestOnly ? {} : { objectsDir: store.objectsDir, markers: objectSinkFor(store.root) !== undefined }), ...(opts.onReuse ? { onReuse: opts.onReuse } : {}) };
    }

    tmp = await makeTmpDir(store, 'seal');
    const work = tmp;
    const sink = manifestOnly ? undefined : objectSinkFor(store.root);
    // Every object this seal moves into objects/ is written down, and taken out again if the seal
    // fails before its commit — also on an interrupted process's way out, never once the snapshot
    // is in place. An S3 store's new objects are uploaded as the scan goes (io/object-sink.ts):
    // those of a failed seal stay in the bucket for prune.
    if (objectSinkFor(store.root) === undefined) {
      const statement = join(snapshotDir(store, name, version), STATEMENT_FILE);
      // Its own folder, not the snapshot's: that one becomes the snapshot folder at the commit.
      placedDir = await makeTmpDir(store, 'placed');
      placed = new PlacedObjects(store, join(placedDir, PLACED_OBJECTS_FILE), () => existsSync(statement));
      const p = placed;
      forgetPlaced = leaveNothing(() => p.removeSync());
    }
    let indexed: SealRecords | undefined;
    const signed = await scanAndSign(
      {
        dir,
        name,
        version,
        key: opts.key,
        coSigners: opts.coSigners,
        manifestPath: join(tmp, MANIFEST_FILE),
        excludes: opts.excludes,
        // Its own store, inside the dataset or not: only its layout is left out (and its tmp/, its own work).
        stores: [store.root],
        ownStoreTmp: true,
        jobs: opts.jobs,
        store: manifestOnly ? undefined : store,
        ...(sink ? { objectSink: sink } : {}),
        ...(placed && !manifestOnly ? { placed } : {}),
        hints,
        ...(opts.scan ? { scan: opts.scan } : {}),
        parent,
        expiresAt: opts.expiresAt,
        provenance: opts.provenance,
        now: opts.now,
        onProgress: opts.onProgress,
        ...(incremental ? { incremental } : {}),
        ...(recordRules.length > 0 ? { records: async (manifestPath: string) => (indexed = await (await recordsModule()).indexForSeal({ dir, manifestPath, rules: recordRules, tmpDir: work, everyRule: opts.recordRules !== undefined, jobs: opts.jobs, onProgress: opts.onProgress, ...(configSource ? { configSource } : {}) })).members } : {}),
      },
      pool,
    );
    pool = undefined; // scanAndSign closed it
    const { sealed, totals, statementBytes, envelope } = signed;
    // Record indexes are objects too (kept with --manifest-only): in place before the snapshot names them.
    const onPlaced = (hex: string) => placed?.add([hex]);
    if (indexed) (totals.mendedObjects ??= []).push(...(await (await recordsModule()).storeIndexObjects(store, indexed.objects, 'size', objectSinkFor(store.root) !== undefined, onPlaced)));
    // So is the dataset's snap.json when nothing indexed kept it: diff, report and check refuse a
    // snapshot whose signed snap.json is not in the store (a scan without readConfig keeps none).
    else if (manifestOnly && signed.hasConfigEntry && (!opts.scan || opts.readConfig)) {
      const entry = await configEntryOf(join(tmp, MANIFEST_FILE));
      const kept = entry && (await keptConfigObject(entry, work, opts.readConfig ?? (() => readConfigBytes(dir))));
      if (kept) (totals.mendedObjects ??= []).push(...(await (await recordsModule()).storeIndexObjects(store, [kept], 'size', objectSinkFor(store.root) !== undefined, onPlaced)));
    }
    // Objects were flushed and committed by scanDataset before the snapshot that references them appears.
    // The three files at once: their fsyncs overlap (one journal commit instead of six, where the
    // file system batches them). All settle before a failure is thrown, so the clean-up of tmp
    // never races a write.
    const written = await Promise.allSettled([
      writeFileAtomic(join(tmp, STATEMENT_FILE), statementBytes, { exclusive: true }),
      writeFileAtomic(join(tmp, ENVELOPE_FILE), serializeEnvelope(envelope), { mode: 0o644, exclusive: true }),
      writeFileAtomic(join(tmp, CONTENTS_FILE), JSON.stringify({ objects: !manifestOnly }) + '\n', { exclusive: true }),
    ]);
    for (const w of written) if (w.status === 'rejected') throw w.reason;
    await fsp.chmod(tmp, 0o755); // mkdtemp made it 0700: other users must be able to verify
    await fsyncDir(tmp);
    checkInterrupted(); // the last moment a signal stops the seal; once committed, it is done
    killPointForTest('seal-uncommitted');
    const finalDir = await commitSnapshot(store, tmp, name, version);
    tmp = undefined;
    placed?.keep();
    if (incremental && writer) {
      // The snapshot is committed: a stat cache that cannot be kept only makes the next seal read everything.
      let statCache: string | undefined;
      let note = incremental.source?.problem ? `the parent's stat cache was not used past a point: ${incremental.source.problem}` : undefined;
      try {
        statCache = await writer.commit(sealed.snapshot);
      } catch (e) {
        note = `the stat cache for the next --incremental seal was not written (${(e as Error).message})`;
      }
      writer = undefined;
      incrementalResult = { ...(incremental.parent ? { parent: incremental.parent.snapshot } : {}), cache: parentUnsigned ? 'unsigned-parent' : incremental.source?.applied ? 'used' : (incremental.source?.status ?? 'absent'), reused: totals.reused ?? 0, reusedBytes: totals.reusedBytes ?? 0, ...(statCache ? { statCache } : {}), ...(note ? { note } : {}) };
    }
    const kept = new Set((signed.statement.predicate.records ?? []).map(recordSetName));
    const notKept = (parentStatement?.predicate.records ?? []).map(recordSetName).filter((n) => !kept.has(n));
    return {
      ...sealed,
      newObjects: totals.newObjects,
      newObjectBytes: totals.newObjectBytes,
      mendedObjects: totals.mendedObjects ?? [],
      seconds: (performance.now() - t0) / 1000,
      dir: finalDir,
      ...(signed.statement.predicate.records ? { records: signed.statement.predicate.records } : {}),
      ...(incrementalResult ? { incremental: incrementalResult } : {}),
      ...(notKept.length > 0 && parentRef ? { recordSetsNotKept: { parent: parentRef, sets: notKept } } : {}),
      ...(unsignedParent ? { unsignedParent } : {}),
    };
  } catch (e) {
    placed?.removeSync(); // the seal failed before its commit: its objects go (never once it is committed)
    throw e;
  } finally {
    forgetPlaced?.();
    if (placedDir) await fsp.rm(placedDir, { recursive: true, force: true }).catch(() => {});
    await incremental?.source?.close().catch(() => {}); // the parent's stat cache, read or not to its end
    await writer?.abort(); // the seal failed: no stat cache for a snapshot that does not exist
    await pool?.close(); // started, but the seal stopped before the scan
    if (tmp) await fsp.rm(tmp, { recursive: true, force: true }).catch(() => {});
    await lock.release();
  }
}
