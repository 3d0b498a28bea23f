/**
 * A pool of hashing worker threads (node:crypto SHA-256, see `hash-worker.ts`).
 * Workers started early (`prestart.ts`) are taken first. Batches go to the least-loaded worker; the caller awaits replies in the order it submitted them,
 * which keeps the manifest in walk order while every core hashes.
 */
import { availableParallelism } from 'node:os';
import { hashWorkerSource, keepsIdleHashWorkers, returnHashWorkers, takeHashWorkers } from './prestart.js';
import { WorkerPool } from './worker-pool.js';
import { inlineHashWorkerBody } from './hash-worker.js';
import { INLINE_MAX_BYTES, INLINE_MAX_FILES, InlineWorker } from './inline-worker.js';
import type { FoldedLeaves } from '../core/merkle.js';

/** What the workers do with each file. */
export type PoolMode = 'seal' | 'store' | 'verify' | 'objects';

/** Options of a {@link HashPool}. */
export interface PoolOptions {
  /** Number of worker threads (default: the number of cores). */
  jobs?: number;
  mode: PoolMode;
  /** Folder that batch paths are relative to. */
  root: string;
  /** Store mode: `STORE/objects/sha256` and a temporary folder on the same file system. */
  objectsDir?: string;
  tmpDir?: string;
  /** Store mode, an S3 store's working copy: an empty file under an object's name marks an object in the bucket (hash-worker.ts `inStore`). */
  markers?: boolean;
  /**
   * Hash on the main thread first, booting no thread until the work passes {@link INLINE_MAX_FILES}
   * files or {@link INLINE_MAX_BYTES} bytes (`inline-worker.ts`); default true. Not done when the
   * pool takes workers started earlier (`prestart.ts`).
   */
  inline?: boolean;
}

/** An error reported by a worker for one item of a batch. */
export interface WorkerError {
  index: number;
  path: string;
  code: string;
  errno: string;
  message: string;
  /** Writing into the store failed, not reading the file: the store's folder that could not be written (hash-worker.ts `StoreWrite`). */
  storePath?: string;
}

/** A worker's reply to a seal or store batch. */
export interface SealReply {
  id: number;
  /** The batch's manifest lines, each ending in `\n`: as text, or as UTF-8 bytes (a batch that gave its `start`). */
  text: string | Uint8Array;
  /** Each line's leaf hash (32 bytes each), or, when the batch gave its `start`, their aligned subtrees. */
  leaves?: Uint8Array;
  folded?: FoldedLeaves;
  bytes: number;
  written: number;
  newObjects: number;
  /** With a batch's `ids: true` (an incremental seal): per line, the `dev:ino:size:mtimeNs:ctimeNs` of the regular file as read (fstat of the descriptor hashed), null for a symbolic link. */
  ids?: (string | null)[];
  error?: WorkerError;
}

/** One difference a worker found in verify or objects mode. */
export interface WorkerProblem {
  index: number;
  kind: 'modified' | 'missing' | 'unreadable' | 'type-changed' | 'corrupt';
  sha256?: string;
  size?: number;
  reason?: string;
  /** A bulk run's problem (verify, kind 4): the line's index in the run, its path and what it expected. */
  sub?: number;
  path?: string;
  expSha?: string;
  expSize?: number;
}

/** A worker's reply to `{ commit: true, hexes? }`: pending objects renamed into the store (their digests unless `hexes: false`). */
export interface CommitReply {
  id: number;
  renamed: number;
  /** The objects it renamed into the store (digests). */
  hexes?: string[];
  duplicates: number;
  duplicateBytes: number;
  /** Objects whose name held something else (a link, a folder, a file of another size), now replaced: digests. */
  replaced?: string[];
  error?: WorkerError;
}

/**
 * One folder's listing in a worker's reply to `{ list: [FOLDER, …] }`: its files and subfolders in
 * manifest order (see `parallel-walk.ts`), or `fallback` when the folder is not plain and the main
 * thread must walk it.
 */
export type FolderListing =
  | { fallback: true }
  | { fallback?: undefined; files: string; offsets: Uint32Array; dirs: string[]; before: number[] };

/** A worker's reply to `{ list: [FOLDER, …] }`: one listing per folder, in the order asked. */
export interface ListReply {
  id: number;
  lists: FolderListing[];
}

/** A worker's reply to a verify or objects batch. */
export interface CheckReply {
  id: number;
  problems: WorkerProblem[];
  bytes: number;
  /** Verify: the sum of the sizes the batch's bulk lines declare, in bytes. */
  lineBytes?: number;
  /** Verify: a bulk run's line was not the canonical line of the file paired with it (nothing else is in the reply). */
  mismatch?: true;
  error?: WorkerError;
}

/** The number of hashing workers to use by default: one per core. */
export function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}

/** A pool of hashing workers (see `hash-worker.ts`). Call {@link HashPool.close} when done. */
export class HashPool extends WorkerPool<{ id: number }> {
  /** @throws SnapError `USAGE` when `jobs` is not a positive integer */
  constructor(opts: PoolOptions) {
    const jobs = opts.jobs ?? defaultJobs();
    const dataFor = (w: number) => ({
      root: opts.root,
      mode: opts.mode,
      objectsDir: opts.objectsDir,
      tmpDir: opts.tmpDir,
      markers: opts.markers === true,
      workerIndex: w,
      // Test hook: an absolute path the worker appends to while reading it (proves FILE_CHANGED is caught).
      mutateForTest: process.env.SNAP_TEST_MUTATE_DURING_READ,
      // Test hook: `symlink:ABS`, `remove:ABS`, `fifo-after-hash:ABS`, `swap-folder:ABS` or `grow:ABS` (hash-worker.ts, Config.replaceForTest).
      replaceForTest: process.env.SNAP_TEST_REPLACE_BEFORE_OPEN,
    });
    // Workers started early for this run (prestart.ts) are used first; else a dataset of a few small
    // files is hashed on the main thread; threads start when there is work for them.
    const inline = opts.inline === false ? undefined : (w: number) => new InlineWorker(inlineHashWorkerBody, { ...dataFor(w), inline: { files: INLINE_MAX_FILES, bytes: INLINE_MAX_BYTES } });
    super(hashWorkerSource(), jobs, 'hashing', dataFor, { started: Number.isSafeInteger(jobs) && jobs >= 1 ? takeHashWorkers(jobs) : [], lazy: true, ...(inline ? { inline } : {}) });
  }

  /**
   * Stop the workers. With every batch answered they are idle (each step in `hash-worker.ts` is
   * synchronous and ends with its reply: an object it wrote is flushed and closed before it), so the
   * command does not wait for their threads to end ({@link WorkerPool.closeIdle}); with a batch still
   * waiting (an error, an interruption) it waits, as before, so nothing is read or written after.
   * Idle workers are kept for the next pool instead when the process asked for that
   * (`keepIdleHashWorkers`, prestart.ts).
   */
  override close(): Promise<void> {
    const idle = keepsIdleHashWorkers() ? this.release() : undefined;
    if (idle) {
      returnHashWorkers(idle);
      return Promise.resolve();
    }
    return this.closeIdle();
  }

  /**
   * Send a batch to the least-loaded worker.
   * @returns the worker's reply; rejects only if a worker thread itself fails (`INTERNAL`)
   */
  submit<R extends { id: number }>(batch: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<R> {
    return this.send<R>(batch, undefined, transfer);
  }

  /**
   * Ask the least-loaded worker for the listings of `folders` (dataset paths, '' for the root), for
   * the parallel walk (`parallel-walk.ts`).
   * @returns one listing per folder, in order; rejects only if a worker thread itself fails (`INTERNAL`)
   */
  async list(folders: string[]): Promise<FolderListing[]> {
    return (await this.send<ListReply>({ list: folders })).lists;
  }
}

/**
 * Chooses batch sizes: few items while nothing is known (so large files spread over the workers),
 * then as many as make about `targetBytes`, from the running average file size.
 */
export class BatchSizer {
  private files = 0;
  private bytes = 0;
  constructor(
    private readonly targetBytes = 4 << 20,
    private readonly maxItems = 2048,
  ) {}

  /** Record finished files. */
  record(files: number, bytes: number): void {
    this.files += files;
    this.bytes += bytes;
  }

  /** How many items the next batch should hold. */
  next(): number {
    if (this.files < 8) return 2;
    const avg = this.bytes / this.files;
    return Math.max(1, Math.min(this.maxItems, Math.floor(this.targetBytes / Math.max(avg, 1))));
  }
}
