/**
 * A pool of hashing worker threads (node:crypto SHA-256, see `hash-worker.ts`).
 * Batches go to the least-loaded worker; the caller awaits replies in the order it submitted them,
 * which keeps the manifest in walk order while every core hashes.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { SnapError } from '../core/errors.js';
import { workerSource } from './hash-worker.js';

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
}

/** An error reported by a worker for one item of a batch. */
export interface WorkerError {
  index: number;
  path: string;
  code: string;
  errno: string;
  message: string;
}

/** A worker's reply to a seal or store batch. */
export interface SealReply {
  id: number;
  text: string;
  leaves: Uint8Array;
  bytes: number;
  written: number;
  newObjects: number;
  error?: WorkerError;
}

/** One difference a worker found in verify or objects mode. */
export interface WorkerProblem {
  index: number;
  kind: 'modified' | 'missing' | 'unreadable' | 'type-changed' | 'corrupt';
  sha256?: string;
  size?: number;
  reason?: string;
}

/** A worker's reply to `{ commit: true }`: pending objects renamed into the store. */
export interface CommitReply {
  id: number;
  renamed: number;
  duplicates: number;
  duplicateBytes: number;
  error?: WorkerError;
}

/** A worker's reply to a verify or objects batch. */
export interface CheckReply {
  id: number;
  problems: WorkerProblem[];
  bytes: number;
  error?: WorkerError;
}

/** The number of hashing workers to use by default: one per core. */
export function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}

/** A pool of hashing workers. Call {@link HashPool.close} when done. */
export class HashPool {
  private readonly workers: Worker[] = [];
  private readonly load: number[] = [];
  private readonly pending = new Map<number, { resolve: (r: any) => void; reject: (e: unknown) => void; worker: number }>();
  private nextId = 0;
  private failed: unknown;

  constructor(opts: PoolOptions) {
    const jobs = opts.jobs ?? defaultJobs();
    if (!Number.isSafeInteger(jobs) || jobs < 1) throw new SnapError('USAGE', `--jobs must be a positive integer, got ${jobs}`);
    const src = workerSource();
    for (let w = 0; w < jobs; w++) {
      const worker = new Worker(src, {
        eval: true,
        workerData: {
          root: opts.root,
          mode: opts.mode,
          objectsDir: opts.objectsDir,
          tmpDir: opts.tmpDir,
          workerIndex: w,
          // Test hook: an absolute path the worker appends to while reading it (proves FILE_CHANGED is caught).
          mutateForTest: process.env.SNAP_TEST_MUTATE_DURING_READ,
        },
      });
      worker.on('message', (reply: { id: number }) => {
        const p = this.pending.get(reply.id);
        if (!p) return;
        this.pending.delete(reply.id);
        this.load[w] = (this.load[w] as number) - 1;
        p.resolve(reply);
      });
      worker.on('error', (e) => this.fail(new SnapError('INTERNAL', `hashing worker failed: ${e.message}`, undefined, { cause: e })));
      worker.on('exit', (code) => {
        if (code !== 0 && this.pending.size > 0) this.fail(new SnapError('INTERNAL', `hashing worker exited with code ${code}`));
      });
      this.workers.push(worker);
      this.load.push(0);
    }
  }

  private fail(e: unknown): void {
    this.failed ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Number of workers. */
  get size(): number {
    return this.workers.length;
  }

  /**
   * Send a batch to the least-loaded worker.
   * @returns the worker's reply; rejects only if a worker thread itself fails (`INTERNAL`)
   */
  submit<R extends { id: number }>(batch: Record<string, unknown>): Promise<R> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    let w = 0;
    for (let i = 1; i < this.load.length; i++) if ((this.load[i] as number) < (this.load[w] as number)) w = i;
    this.load[w] = (this.load[w] as number) + 1;
    const p = new Promise<R>((resolve, reject) => this.pending.set(id, { resolve, reject, worker: w }));
    p.catch(() => {}); // the caller awaits it later, in order; avoid an unhandled-rejection report meanwhile
    (this.workers[w] as Worker).postMessage({ ...batch, id });
    return p;
  }

  /**
   * Send the same message to every worker (e.g. `{ commit: true }`) and wait for all replies.
   * @returns the replies, one per worker
   */
  async broadcast<R extends { id: number }>(batch: Record<string, unknown>): Promise<R[]> {
    if (this.failed) throw this.failed;
    const replies = this.workers.map((worker, w) => {
      const id = this.nextId++;
      this.load[w] = (this.load[w] as number) + 1;
      const p = new Promise<R>((resolve, reject) => this.pending.set(id, { resolve, reject, worker: w }));
      worker.postMessage({ ...batch, id });
      return p;
    });
    return Promise.all(replies);
  }

  /** Stop every worker. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
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
    private readonly maxItems = 512,
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
