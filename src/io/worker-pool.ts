/**
 * What every pool of snap's worker threads shares: starting workers from self-contained source
 * (`new Worker(source, { eval: true })`), matching replies to requests by id, choosing the
 * least-loaded worker, and failing every waiting request when a worker dies or the process is
 * interrupted (SIGINT, SIGTERM: see `interrupt.ts`; the threads are then terminated). The hashing pool
 * (`hash-pool.ts`), the read pool and the write pool (`read-pool.ts`, `write-pool.ts`) add only
 * their own messages.
 */
import { Worker } from 'node:worker_threads';
import { SnapError } from '../core/errors.js';
import { interruptedError, whenInterrupted } from './interrupt.js';
import type { PoolWorker } from './inline-worker.js';

/**
 * A pool of worker threads that answer `{ id, … }` messages with `{ id, … }` replies.
 * Always {@link WorkerPool.close} it.
 */
export class WorkerPool<Reply extends { id: number }> {
  /** Started workers: with `inline`, index 0 is the main-thread worker and threads follow. */
  private readonly workers: PoolWorker[] = [];
  /** One per started worker: resolves when its thread has ended (or the worker was handed back, {@link release}). */
  private readonly exits: Promise<void>[] = [];
  /** Resolves the matching {@link exits} entry. */
  private readonly exited: (() => void)[] = [];
  private readonly load: number[] = [];
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: unknown) => void }>();
  private nextId = 0;
  private failed: unknown;
  /** Set by {@link close} and {@link abort}: the workers' exits that follow are asked for. */
  private closing = false;
  private readonly unregister: () => void;

  private readonly jobs: number;
  private readonly start: (w: number) => PoolWorker;
  /** 1 when worker 0 runs on the main thread (`inline`), else 0: the index of the first thread. */
  private readonly offset: number;
  /** Whether requests still go to the main-thread worker (until it declines one, see {@link redirect}). */
  private inlineActive = false;

  /**
   * @param source    JavaScript run in each worker (`eval: true`): it must need no imports
   * @param jobs      number of workers
   * @param label     what the workers do, for error messages ("hashing", "read", "write")
   * @param dataFor   `workerData` of worker `w`
   * @param opts.started  workers already started from the same `source` with no `workerData` (see
   *   `prestart.ts`): used first, each sent `{ config: dataFor(w) }` as its first message instead
   * @param opts.lazy  start one worker now (or the `started` ones), and another only when a request
   *   finds every started worker busy, up to `jobs`: a dataset of one file boots one worker
   * @param opts.inline  with `lazy` and no `started` workers: worker 0 runs on the main thread
   *   (`inline-worker.ts`, made by this function) and takes every request until it declines one
   *   (`{ id, declined: true, request }`): that request and every later one go to threads, `jobs`
   *   at most, started as with `lazy`. A reply with `warm: true` starts the first thread ahead of
   *   that. Not used when a test plants a worker's death (`SNAP_TEST_WORKER_DEATH`).
   * @throws SnapError `USAGE` when `jobs` is not a positive integer
   */
  constructor(source: string, jobs: number, label: string, dataFor: (w: number) => unknown = () => undefined, opts: { started?: Worker[]; lazy?: boolean; inline?: (w: number) => PoolWorker } = {}) {
    if (!Number.isSafeInteger(jobs) || jobs < 1) throw new SnapError('USAGE', `--jobs must be a positive integer, got ${jobs}`);
    this.jobs = jobs;
    const death = testDeath(label);
    const started = death ? [] : opts.started ?? [];
    if (death) for (const w of opts.started ?? []) void w.terminate(); // they run the source without the planted death
    const inline = opts.lazy && started.length === 0 && !death ? opts.inline : undefined;
    this.offset = inline ? 1 : 0;
    this.inlineActive = inline !== undefined;
    this.start = (w: number): PoolWorker => {
      const early = started[w];
      const worker: PoolWorker = inline && w === 0 ? inline(0) : early ?? new Worker(death ? death.source + source : source, { eval: true, workerData: dataFor(w), resourceLimits: death?.resourceLimits });
      if (early) {
        early.ref(); // started unreferenced, so that an unused one never kept the process alive
        early.postMessage({ config: dataFor(w) });
      }
      worker.on('message', (reply: Reply & { declined?: true; request?: Record<string, unknown>; warm?: true }) => {
        if (reply.declined) return this.redirect(w, reply.request as Record<string, unknown>);
        if (reply.warm) this.warm();
        const p = this.pending.get(reply.id);
        if (!p) return;
        this.pending.delete(reply.id);
        this.load[w] = (this.load[w] as number) - 1;
        p.resolve(reply);
      });
      worker.on('error', (e: Error) => this.fail(new SnapError('INTERNAL', `${label} worker failed: ${e.message}`, undefined, { cause: e })));
      // A worker never ends on its own: any exit not asked for (process.exit, with any code, in the
      // worker; a thread terminated by someone else) fails the waiting requests and every later one,
      // which would otherwise wait forever for a reply (a message to an ended worker is dropped).
      worker.on('exit', (code: number) => {
        if (!this.closing) this.fail(new SnapError('INTERNAL', `${label} worker ${w} ended unexpectedly (exit code ${code})`));
      });
      this.exits.push(
        new Promise((done) => {
          this.exited.push(done);
          worker.once('exit', () => done());
        }),
      );
      this.workers.push(worker);
      this.load.push(0);
      return worker;
    };
    const now = opts.lazy ? Math.min(jobs, Math.max(1, started.length)) : jobs;
    for (let w = 0; w < now; w++) this.start(w);
    this.unregister = whenInterrupted(() => this.abort());
  }

  /**
   * Stop at once because the process was interrupted: every waiting and later request fails with
   * `INTERRUPTED` / `TERMINATED`, and the threads are terminated (a file a worker was writing is
   * left to the caller's clean-up).
   */
  private async abort(): Promise<void> {
    this.fail(interruptedError());
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private fail(e: unknown): void {
    this.failed ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /**
   * Number of worker slots: `jobs` threads, and the main-thread worker when there is one (with
   * `lazy`, some may not be started yet). Worker `w` is configured as `dataFor(w)`, `w` < size.
   */
  get size(): number {
    return this.jobs + this.offset;
  }

  /** Threads started so far (at most `jobs`; the main-thread worker is not one). */
  get started(): number {
    return this.workers.length - this.offset;
  }

  /** Whether worker 0 runs on the main thread (`opts.inline`), still taking requests or not. */
  get inline(): boolean {
    return this.offset === 1;
  }

  /**
   * The main-thread worker `w` declined `request` (past its budget): from now on requests go to
   * threads, this one first (it keeps its id, so its caller's promise gets the thread's reply).
   */
  private redirect(w: number, request: Record<string, unknown>): void {
    this.inlineActive = false;
    this.load[w] = (this.load[w] as number) - 1;
    if (this.failed !== undefined || this.closing) return; // its request failed with the pool
    const t = this.pick();
    this.load[t] = (this.load[t] as number) + 1;
    (this.workers[t] as PoolWorker).postMessage(request);
  }

  /** Start the first thread now, if none is (the main-thread worker nears its budget). */
  private warm(): void {
    if (this.workers.length === this.offset && this.failed === undefined && !this.closing) this.start(this.offset);
  }

  /** Resolves once the thread of every worker started so far has ended (after {@link close}, or a worker's death). */
  ended(): Promise<void> {
    return Promise.all(this.exits).then(() => undefined);
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** The index of the worker with the fewest unanswered requests (a new one, when all are busy and fewer than `jobs` run). */
  pick(): number {
    if (this.inlineActive) return 0;
    let w = this.offset;
    if (this.workers.length === w) {
      if (this.failed === undefined) this.start(w);
      return w;
    }
    for (let i = w + 1; i < this.load.length; i++) if ((this.load[i] as number) < (this.load[w] as number)) w = i;
    if ((this.load[w] as number) > 0 && this.started < this.jobs && !this.failed) {
      w = this.workers.length;
      this.start(w);
    }
    return w;
  }

  /**
   * Send `msg` to worker `w` (default: the least-loaded), moving `transfer` buffers.
   * @returns the reply; rejects only when a worker thread itself fails (`INTERNAL`). The promise
   *   is marked handled, so a caller may await it later, in order.
   */
  send<R extends Reply = Reply>(msg: Record<string, unknown>, w: number = this.pick(), transfer: ArrayBuffer[] = []): Promise<R> {
    if (this.failed) {
      const failed = Promise.reject(this.failed) as Promise<R>;
      failed.catch(() => {}); // handled, like every reply: a caller may hold it and never await it
      return failed;
    }
    const id = this.nextId++;
    this.load[w] = (this.load[w] as number) + 1;
    const p = new Promise<R>((resolve, reject) => this.pending.set(id, { resolve: resolve as (r: Reply) => void, reject }));
    p.catch(() => {});
    (this.workers[w] as PoolWorker).postMessage({ ...msg, id }, transfer);
    return p;
  }

  /** Send `msg` to worker `w` and expect no reply (e.g. a chunk of a stream the worker acknowledges later). */
  post(msg: Record<string, unknown>, w: number, transfer: ArrayBuffer[] = []): void {
    if (this.failed) throw this.failed;
    (this.workers[w] as PoolWorker).postMessage(msg, transfer);
  }

  /** Send the same message to every started worker and wait for all their replies. */
  broadcast<R extends Reply = Reply>(msg: Record<string, unknown>): Promise<R[]> {
    return Promise.all(this.workers.map((_, w) => this.send<R>(msg, w)));
  }

  /** Stop every worker (files they hold open are closed with them) and wait until their threads have ended. */
  async close(): Promise<void> {
    await this.stopAndWait();
  }

  private async stopAndWait(): Promise<void> {
    this.unregister();
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /**
   * Hand the workers over to the caller, idle and no longer this pool's (no listener of the pool left
   * on them, the pool closed as by {@link close}), when no request is waiting and no worker failed;
   * undefined otherwise (nothing done then), and when the pool was closed before — its threads may
   * be stopped already: a pool closed with a request waiting, then closed again once that request
   * was given up, must not hand over threads that have ended. Only for pools whose workers hold
   * nothing between requests (see {@link closeIdle}) and take a new configuration by message
   * (hash-worker.ts).
   */
  protected release(): Worker[] | undefined {
    if (this.closing || this.pending.size > 0 || this.failed !== undefined) return undefined;
    this.unregister();
    this.closing = true;
    const all = this.workers.splice(0);
    if (this.offset === 1) void (all[0] as PoolWorker).terminate(); // the main-thread worker is no thread to keep
    const out = all.slice(this.offset) as Worker[];
    for (const w of out) {
      w.removeAllListeners('message');
      w.removeAllListeners('error');
      w.removeAllListeners('exit');
    }
    for (const done of this.exited) done();
    return out;
  }

  /**
   * Stop every worker without waiting for its thread to end, when no request is waiting (else as
   * {@link close}). Only for pools whose workers do nothing between requests, every step of a
   * request synchronous up to its reply (so an answered request has left nothing running): the
   * threads are unreferenced and told to stop, and the command goes on while each Node environment
   * is torn down (10–20 ms a thread, measured at the end of a verify) on another core.
   */
  protected async closeIdle(): Promise<void> {
    if (this.pending.size > 0) return this.stopAndWait();
    this.unregister();
    this.closing = true;
    for (const w of this.workers) {
      w.unref();
      w.terminate().catch(() => undefined);
    }
  }
}

/**
 * Test hook: with `SNAP_TEST_WORKER_DEATH=LABEL:HOW:N` in the environment, every worker of the
 * pools labelled LABEL ("hashing", "read", "write", "indexing") dies on the N-th message it receives (1: the
 * first), before handling it. HOW is `exit` (process.exit(7)), `exit0` (process.exit(0)), `throw`
 * (an uncaught exception) or `oom` (allocates until its heap, limited to 32 MiB, runs out). Inert
 * unless the variable is set; used to prove a worker's death fails the command at once.
 */
function testDeath(label: string): { source: string; resourceLimits?: { maxOldGenerationSizeMb: number } } | undefined {
  const spec = process.env.SNAP_TEST_WORKER_DEATH;
  const m = spec === undefined ? null : /^([a-z]+):(exit|exit0|throw|oom):([1-9][0-9]*)$/.exec(spec);
  if (!m || m[1] !== label) return undefined;
  const how = { exit: 'process.exit(7)', exit0: 'process.exit(0)', throw: "throw new Error('a death planted by SNAP_TEST_WORKER_DEATH')", oom: 'const a = []; for (;;) a.push(new Array(1 << 16).fill(a.length))' }[m[2] as 'exit'];
  const source = `{ let n = 0; require('node:worker_threads').parentPort.on('message', () => { if (++n === ${m[3]}) { ${how}; } }); }\n`;
  return { source, resourceLimits: m[2] === 'oom' ? { maxOldGenerationSizeMb: 32 } : undefined };
}
