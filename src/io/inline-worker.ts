/**
 * A worker run on the main thread: the same body a worker thread runs (`hash-worker.ts`), given a
 * stand-in for `node:worker_threads` instead of a thread. Booting a worker thread costs some
 * 75–100 ms of CPU (a Node environment of its own, docs/PERFORMANCE.md, thirty-fifth session), far
 * more than hashing a dataset of a few small files; the hashing pool (`hash-pool.ts`) answers those
 * here and boots a thread only when the work grows past a budget ({@link INLINE_MAX_FILES},
 * {@link INLINE_MAX_BYTES}). The read pool of an export and the write pool of a restore that the
 * signed totals show within that budget start no thread either ({@link fitsInline}).
 *
 * Messages keep a thread's semantics: each is copied with `structuredClone` (buffers named in the
 * transfer list are moved: detached on the sending side, as `postMessage` does), and each delivery
 * and each reply comes in a later turn of the event loop (`setImmediate`), in order. The body runs
 * synchronously on delivery, so the main thread is busy for the length of one request: the budget
 * keeps that short.
 */
import { EventEmitter } from 'node:events';

/** Most files a pool's main-thread worker hashes before it hands the work to threads (see `hash-worker.ts` `inlineBudget`). */
export const INLINE_MAX_FILES = 256;
/** Most bytes of file data a pool's main-thread worker hashes before it hands the work to threads: 8 MiB, some 5–10 ms of SHA-256 here. */
export const INLINE_MAX_BYTES = 8 << 20;

/**
 * Whether work of `files` files and `bytes` bytes in all is within the budget of a main-thread
 * worker ({@link INLINE_MAX_FILES}, {@link INLINE_MAX_BYTES}): the read and write pools of an export
 * or a restore that small start no thread (`read-pool.ts`, `write-pool.ts`).
 */
export function fitsInline(files: number, bytes: number): boolean {
  return files <= INLINE_MAX_FILES && bytes <= INLINE_MAX_BYTES;
}

/** What a worker pool needs of a worker: `node:worker_threads` `Worker` has it, and so has {@link InlineWorker}. */
export interface PoolWorker {
  postMessage(msg: unknown, transfer?: readonly ArrayBuffer[]): void;
  on(event: 'message' | 'error' | 'exit', listener: (arg: any) => void): unknown;
  once(event: 'exit', listener: (code: number) => void): unknown;
  removeAllListeners(event: 'message' | 'error' | 'exit'): unknown;
  terminate(): Promise<number>;
  ref(): void;
  unref(): void;
}

/** The body of a worker, as `hash-worker.ts` `hashWorkerMain` is called with its `require` (the other parameters bound). */
export type WorkerBody = (require: NodeJS.Require) => void;

/**
 * A worker whose body runs on this thread (see the module's comment). `terminate` drops the
 * messages not yet delivered and emits `exit` (code 1), as a thread's would; a body that throws
 * while configured or handling a message emits `error`, then `exit`, and takes no more messages.
 */
export class InlineWorker extends EventEmitter implements PoolWorker {
  private readonly port = new EventEmitter();
  private ended = false;

  /**
   * @param body        the worker's body; it reads `parentPort` and `workerData` from the `node:worker_threads` it requires
   * @param workerData  what it finds as `workerData` (copied, as a thread's is)
   */
  constructor(body: WorkerBody, workerData: unknown) {
    super();
    const port = this.port;
    const reply = (msg: unknown, transfer: readonly ArrayBuffer[] = []): void => {
      if (this.ended) return;
      const copy = structuredClone(msg, { transfer: [...transfer] });
      setImmediate(() => {
        if (!this.ended) this.emit('message', copy);
      });
    };
    const threads = { isMainThread: false, workerData: structuredClone(workerData), parentPort: { on: (event: string, fn: (m: unknown) => void) => port.on(event, fn), postMessage: reply } };
    const load = (id: string): unknown => (id === 'node:worker_threads' ? threads : process.getBuiltinModule(id));
    try {
      body(load as unknown as NodeJS.Require);
    } catch (e) {
      this.die(e);
    }
  }

  /** Deliver `msg` to the body in a later turn (moving the buffers in `transfer`). */
  postMessage(msg: unknown, transfer: readonly ArrayBuffer[] = []): void {
    if (this.ended) return;
    const copy = structuredClone(msg, { transfer: [...transfer] });
    setImmediate(() => {
      if (this.ended) return;
      try {
        this.port.emit('message', copy);
      } catch (e) {
        this.die(e);
      }
    });
  }

  private die(e: unknown): void {
    this.ended = true;
    setImmediate(() => {
      this.emit('error', e);
      this.emit('exit', 1);
    });
  }

  /** Drop what was not delivered yet and end (emits `exit` with code 1). @returns 1 */
  terminate(): Promise<number> {
    if (!this.ended) {
      this.ended = true;
      setImmediate(() => this.emit('exit', 1));
    }
    return Promise.resolve(1);
  }

  /** Nothing to do: no thread holds the process open. */
  ref(): void {}
  /** Nothing to do: no thread holds the process open. */
  unref(): void {}
}
