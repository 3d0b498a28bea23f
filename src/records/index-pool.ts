/**
 * Record indexes of several tabular files built at once, one file per worker thread
 * (`index-worker.ts`): a dataset sharded into many CSV, JSONL or Parquet files is indexed in about
 * 1/N of the time on N cores. A single file is still read by one thread (its records are sorted
 * into one index; see docs/PERFORMANCE.md for why a file is not split).
 *
 * Each worker holds one file's index builder at a time (at most {@link MAX_MEMORY_PER_WORKER}
 * bytes of memory, whatever the file's size: sorted runs are spilled to disk), so the number of
 * workers is bounded by the machine's memory as well as its cores. Small jobs (under
 * {@link MIN_PARALLEL_BYTES} in all) and runs without the worker module (the sources run by the
 * test runner, which has no compiled `index-worker.js`) index one file after another on the calling
 * thread, as before.
 */
import { existsSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isSnapError, SnapError, type SnapErrorCode } from '../core/errors.js';
import { WorkerPool } from '../io/worker-pool.js';
import type { BuiltIndex } from './build-index.js';
import { indexTabularFile, type IndexFileOptions } from './index-file.js';
import { fromWire, type IndexReply } from './index-wire.js';

/** Memory set aside per indexing worker, bytes: one index builder (runs of 524,288 records, about 250 MiB at most) plus its reader, with room to spare. */
export const MAX_MEMORY_PER_WORKER = 1024 * 1024 * 1024;

/** Below this many bytes of tabular files in all, workers cost more to start (tens of ms each) than they save. */
export const MIN_PARALLEL_BYTES = 4 * 1024 * 1024;

/**
 * Tests only: `SNAP_TEST_RECORD_WORKERS=always` makes every pool of two or more files use workers
 * whatever their size, and fail with `INTERNAL` when the worker module cannot be found.
 */
const FORCE_ENV = 'SNAP_TEST_RECORD_WORKERS';

/** The worker module beside this one (`dist/records/`), or the CLI's worker bundle (`dist/cli/chunks/`, beside the CLI bundle `dist/cli/snap.cjs`); undefined when neither exists. */
function workerModule(): string | undefined {
  for (const rel of ['./index-worker.js', './chunks/index-worker.js']) {
    const url = new URL(rel, import.meta.url);
    if (url.protocol === 'file:' && existsSync(fileURLToPath(url))) return url.href;
  }
  return undefined;
}

/** Memory this process may use, bytes: the cgroup limit when there is one, else the machine's. */
function memoryLimit(): number {
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  return constrained !== undefined && constrained > 0 ? Math.min(constrained, totalmem()) : totalmem();
}

/**
 * How many workers to index `files` with: one per file, at most `jobs` (default: the cores), at
 * most one per {@link MAX_MEMORY_PER_WORKER} of memory; 0 (index on the calling thread) for fewer
 * than two files or fewer than {@link MIN_PARALLEL_BYTES} in all.
 * @param files the files' sizes in bytes
 * @param jobs  `--jobs`, when given
 */
export function indexWorkersFor(files: readonly number[], jobs?: number): number {
  const forced = process.env[FORCE_ENV] === 'always';
  if (files.length < 2) return 0;
  if (!forced && files.reduce((s, n) => s + n, 0) < MIN_PARALLEL_BYTES) return 0;
  const n = Math.min(files.length, jobs ?? availableParallelism(), Math.max(1, Math.floor(memoryLimit() / MAX_MEMORY_PER_WORKER)));
  return n >= 2 || forced ? Math.max(1, n) : 0;
}

/** A request of {@link RecordIndexPool.index}: the file, and how to settle its promise. */
interface IndexJob {
  options: IndexFileOptions;
  resolve: (b: BuiltIndex) => void;
  reject: (e: unknown) => void;
}

/**
 * A queue of files to index, served by `workers` worker threads (or, with 0, by the calling thread,
 * one file after another). Requests may be made all at once; each worker is sent its next file
 * only when it has answered the last. Always {@link RecordIndexPool.close} it: files still queued
 * or being read are then abandoned (their threads terminated), so a caller that stops at the first
 * error does not wait for the rest. Interrupted (SIGINT, SIGTERM), every request fails with
 * `INTERRUPTED` / `TERMINATED` (see `io/worker-pool.ts`).
 */
export class RecordIndexPool {
  private readonly pool: WorkerPool<IndexReply> | undefined;
  private readonly queue: IndexJob[] = [];
  /** The requests sent to a worker and not yet answered (failed by {@link close}: a terminated worker never answers). */
  private readonly inFlight = new Set<IndexJob>();
  private busy = 0;
  private inline: Promise<unknown> = Promise.resolve();
  private closed = false;

  /**
   * @param workers number of worker threads (see {@link indexWorkersFor}); 0 indexes on this thread
   * @throws SnapError `INTERNAL` (tests only, with `SNAP_TEST_RECORD_WORKERS=always`: no worker module)
   */
  constructor(readonly workers: number) {
    if (workers <= 0) return;
    const module = workerModule();
    if (module === undefined) {
      if (process.env[FORCE_ENV] === 'always') throw new SnapError('INTERNAL', 'the record indexing worker module (index-worker.js) was not found beside the code');
      this.workers = 0;
      return;
    }
    this.pool = new WorkerPool<IndexReply>(`import(${JSON.stringify(module)});`, workers, 'indexing', () => undefined, { lazy: true });
  }

  /**
   * Index one file (see {@link indexTabularFile}, whose errors it rejects with, rebuilt as
   * `SnapError`s with the same code, message and details).
   * @returns the index's figures, once the index file is written at `options.outPath`
   */
  index(options: IndexFileOptions): Promise<BuiltIndex> {
    if (this.closed) return Promise.reject(new SnapError('INTERNAL', 'the record index pool is closed'));
    if (!this.pool) {
      const p = this.inline.then(async () => (await indexTabularFile(options)).built);
      this.inline = p.catch(() => {});
      return p;
    }
    const p = new Promise<BuiltIndex>((resolve, reject) => this.queue.push({ options, resolve, reject }));
    p.catch(() => {}); // handled: a caller that stops at an earlier error never awaits it
    this.next();
    return p;
  }

  private next(): void {
    const pool = this.pool as WorkerPool<IndexReply>;
    while (this.busy < this.workers && this.queue.length > 0 && !this.closed) {
      const job = this.queue.shift() as IndexJob;
      this.busy++;
      this.inFlight.add(job);
      pool.send({ options: job.options }).then(
        (reply) => {
          this.busy--;
          this.inFlight.delete(job);
          if ('error' in reply) job.reject(new SnapError(reply.error.code as SnapErrorCode, reply.error.message, reply.error.details));
          else job.resolve(fromWire(reply.built));
          this.next();
        },
        (e) => {
          this.busy--;
          this.inFlight.delete(job);
          job.reject(e);
          this.next();
        },
      );
    }
  }

  /**
   * Stop the workers; requests not yet answered, queued or being read, fail with `INTERNAL` (the
   * worker pool's own close settles none of its requests in flight: a terminated worker never answers).
   */
  async close(): Promise<void> {
    this.closed = true;
    const why = () => new SnapError('INTERNAL', 'the record index pool was closed before this file was indexed');
    for (const job of this.queue.splice(0)) job.reject(why());
    for (const job of this.inFlight) job.reject(why());
    this.inFlight.clear();
    await this.pool?.close();
  }
}

/**
 * Index a snapshot's file again from its store object (an index of an older canonical form): a
 * `FILE_CHANGED` from the indexer — the object is not the bytes of its name, its manifest digest — is
 * the store's damage, `OBJECT_CORRUPT` (exit 1), not a dataset file that changed while read.
 * @returns the pool's promise, its rejection translated (and handled: awaited where the set is compared)
 */
export function indexStoreObject(pool: RecordIndexPool, options: IndexFileOptions & { expectSha256: string }): Promise<BuiltIndex> {
  const p = pool.index(options).catch((e: unknown) => {
    if (isSnapError(e) && e.code === 'FILE_CHANGED') {
      throw new SnapError('OBJECT_CORRUPT', `the store object ${options.expectSha256.slice(0, 12)}… of ${options.rel} (${options.abs}) is not the bytes its name says: the store is damaged (snap fsck names what is). Its records were being indexed again from its bytes (its signed index made by an older canonical form, FORMAT §19.3, or not signed by a trusted key, §19.8)`, { path: options.rel, sha256: options.expectSha256 });
    }
    throw e;
  });
  p.catch(() => {});
  return p;
}
