/**
 * The SHA-256 of the record indexes a diff reads (docs/FORMAT.md §19.5: every index's bytes are
 * checked against the digest the statement signed), either on the reading thread or on one worker
 * thread shared by both sides of a diff, so that hashing overlaps scanning on a second core.
 *
 * The worker hashes the very bytes the reader scans: each block is read into a SharedArrayBuffer
 * slot (a ring of {@link RING} per side), the worker is told which bytes to hash, and a slot is
 * written again only after the worker has hashed the block it held. No file is read twice, so a file
 * swapped while the diff runs cannot give the scan other bytes than the digest.
 *
 * The reader waits synchronously, so no `error` or `exit` event of the worker reaches it during a
 * diff: the worker is started by a guard thread that watches it and writes its death into the shared
 * memory, which wakes the reader at once (see `indexHashGuardMain`).
 */
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { createHash, type Hash } from 'node:crypto';
import { SnapError } from '../core/errors.js';

/** How a reader gets the buffer for its next read and has the bytes read hashed. */
export interface BlockHasher {
  /**
   * The buffer to read the next block into, at least `size` bytes: `current` when it may be written
   * in place, else another one (the reader copies the bytes it keeps into it).
   * @throws SnapError `INTERNAL` when a worker fails or does not answer
   */
  bufferFor(current: Buffer, size: number): Buffer;
  /** Hash buf[from, to), bytes just read (left unchanged by the reader until the next {@link bufferFor}). */
  update(buf: Buffer, from: number, to: number): void;
  /** The SHA-256 of all bytes hashed, hex. @throws SnapError `INTERNAL` when a worker fails or does not answer */
  digest(): string;
}

/** Hashing on the reading thread. */
export class InlineHasher implements BlockHasher {
  private readonly hash: Hash = createHash('sha256');
  bufferFor(current: Buffer, size: number): Buffer {
    return current.length >= size ? current : Buffer.allocUnsafe(Math.max(current.length * 2, size));
  }
  update(buf: Buffer, from: number, to: number): void {
    this.hash.update(buf.subarray(from, to));
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

/** Blocks in flight per side: the reader is at most this many blocks ahead of the worker. */
export const RING = 8;
/** A ring slot's size beyond the read block, for the bytes a reader keeps (the previous and the partial line). */
const SLOT_SLACK = 64 << 10;
/** How long to wait for the worker before giving up (ms). */
const WORKER_TIMEOUT_MS = 120_000;
/**
 * How long the guard thread's heartbeat may stand still (or, from the start, not begin) before the
 * reader takes the guard for dead (ms): 50 beats, room for a thread slow to start on a loaded machine.
 */
export const GUARD_SILENCE_MS = 10_000;

/* eslint-disable */
declare const require: NodeJS.Require;

/** Bytes of the shared buffer that carries the worker's error message (UTF-8, cut at this length). */
const WHY_BYTES = 512;
/**
 * `ctrl` slots: blocks hashed per side (0, 1), digest ready per side (2, 3), the worker failed (4),
 * its message's length (5), the claim of whoever reports a failure first (6: the worker or its
 * guard), and the guard's heartbeat (7: counts up every {@link GUARD_BEAT_MS} while it lives).
 */
const FAILED = 4;
const WHY_LENGTH = 5;
const BEAT = 7;
const CTRL_SLOTS = 8;
/** How often the guard thread counts `ctrl[7]` up (ms). */
const GUARD_BEAT_MS = 200;
/** A waiting reader looks at the worker every second at least; a longer gap between two looks means the reader did not run. */
const LOOK_GAP_MS = 3_000;

/**
 * The worker's body: self-contained (started from its source text), Node built-ins only. An
 * exception while handling a message is written to the shared memory (`ctrl[4]`, the message in
 * `why`) and every waiter woken: the reading thread waits synchronously, so the worker's `error`
 * event could not reach it. It gets its messages on `workerData.port` (its guard is its parent).
 */
function indexHashWorkerMain(require: NodeJS.Require): void {
  const { workerData } = require('node:worker_threads');
  const parentPort = workerData.port;
  const { createHash } = require('node:crypto');
  const ctrl = new Int32Array(workerData.ctrl);
  const out = new Uint8Array(workerData.out);
  const why = new Uint8Array(workerData.why);
  const hashes = [createHash('sha256'), createHash('sha256')];
  let blocks = 0;
  let dying = false; // tests only (workerData.die 'throw'): it answers nothing more
  parentPort.on('message', (m: { side: 0 | 1; sab?: SharedArrayBuffer; start?: number; end?: number }) => {
    if (dying || Atomics.load(ctrl, 4) !== 0) return; // ctrl[FAILED] (the body cannot see the constants): a hash would be of some blocks only
    const side = m.side;
    try {
      if (m.sab === undefined) {
        out.set(hashes[side].digest(), side * 32);
        Atomics.store(ctrl, 2 + side, 1);
        Atomics.notify(ctrl, 2 + side);
        return;
      }
      if (blocks === workerData.die?.blocks) {
        const how = workerData.die.how;
        if (how === 'exit') process.exit(7);
        if (how === 'exit0') process.exit(0);
        if (how === 'throw') {
          dying = true;
          setTimeout(() => {
            throw new Error('a death planted by a test (die)');
          });
        }
        if (how === 'oom') for (const a: unknown[] = []; ; ) a.push(new Array(1 << 16).fill(a.length));
        if (how.startsWith('guard-')) {
          dying = true; // its guard dies (and the worker with it): the block is never hashed
          require('node:worker_threads').parentPort.postMessage(how);
        }
        return;
      }
      if (blocks++ === workerData.failAfterBlocks) throw new Error('a failure planted by a test (failAfterBlocks)');
      hashes[side].update(new Uint8Array(m.sab, m.start, (m.end as number) - (m.start as number)));
      Atomics.add(ctrl, side, 1);
      Atomics.notify(ctrl, side);
    } catch (e) {
      if (Atomics.compareExchange(ctrl, 6, 0, 1) !== 0) return; // ctrl[6]: its guard reported first
      const text = new TextEncoder().encode(String(e instanceof Error ? `${e.name}: ${e.message}` : e)).subarray(0, why.length);
      why.set(text);
      Atomics.store(ctrl, 5, text.length);
      Atomics.store(ctrl, 4, 1);
      for (let i = 0; i < 4; i++) Atomics.notify(ctrl, i);
    }
  });
}

/**
 * The guard's body: it starts the hashing worker as its own child and reports through the shared
 * memory, like the worker's own failures, a death the worker cannot report itself — an uncaught
 * exception outside a message, process.exit with any code, its heap exhausted, a failed start. The
 * reading thread waits synchronously and cannot see the worker's `error` or `exit` event until the
 * diff is over; the guard's event loop is free to. The guard does nothing else, so it is not itself
 * expected to die; if it does, its worker ends with it: an exit or an uncaught exception of its own
 * it reports too (its `exit` event), and a death that runs no code (its heap exhausted, a failed
 * start) is seen by the reader as its heartbeat (`ctrl[7]`) standing still.
 */
function indexHashGuardMain(require: NodeJS.Require): void {
  const { Worker, workerData } = require('node:worker_threads');
  const ctrl = new Int32Array(workerData.ctrl);
  const why = new Uint8Array(workerData.why);
  const report = (text: string): void => {
    if (Atomics.compareExchange(ctrl, 6, 0, 1) !== 0) return; // ctrl[6]: reported already (by the worker, or before)
    const bytes = new TextEncoder().encode(text).subarray(0, why.length);
    why.set(bytes);
    Atomics.store(ctrl, 5, bytes.length);
    Atomics.store(ctrl, 4, 1);
    for (let i = 0; i < 4; i++) Atomics.notify(ctrl, i);
  };
  // The reader's own time-out is two minutes: a guard that ends says so at once (it can run no code
  // after a termination or with its heap exhausted; its silence then tells, see the beat below).
  process.on('exit', (code: number) => report(`its guard thread ended unexpectedly (exit code ${code})`));
  setInterval(() => Atomics.add(ctrl, 7, 1), workerData.beatMs); // ctrl[BEAT]
  Atomics.add(ctrl, 7, 1);
  const { source, resourceLimits, beatMs: _beatMs, ...data } = workerData;
  const worker = new Worker(source, { eval: true, workerData: data, transferList: [data.port], resourceLimits });
  worker.on('error', (e: Error) => report(`${e.name}: ${e.message}`));
  worker.on('exit', (code: number) => report(`it ended unexpectedly (exit code ${code})`));
  // Tests only (workerData.die 'guard-…'): the guard dies when its worker asks.
  worker.on('message', (how: string) => {
    if (how === 'guard-exit') process.exit(5);
    if (how === 'guard-throw') throw new Error('a death of the guard planted by a test (die)');
    if (how === 'guard-oom') for (const a: unknown[] = []; ; ) a.push(new Array(1 << 16).fill(a.length));
  });
}
/* eslint-enable */

/** Tests only: how the hashing worker (or, `guard-…`, its guard thread) dies (see {@link HashWorker}'s constructor). */
export type HashWorkerDeath = 'exit' | 'exit0' | 'throw' | 'oom' | 'guard-exit' | 'guard-throw' | 'guard-oom';

/**
 * One worker thread hashing both sides of a diff. Get each side's hasher with {@link side}; always
 * {@link close} it.
 */
export class HashWorker {
  /** The guard thread, parent of the hashing worker (see `indexHashGuardMain`). */
  private readonly guard: Worker;
  /** Where blocks and digest requests go: the hashing worker's end is its `workerData.port`. */
  private readonly port: MessagePort;
  /** [blocks hashed of side 0, of side 1, digest of side 0 ready, of side 1 ready, the worker failed, length of `why`, failure claimed]. */
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(CTRL_SLOTS * 4));
  private readonly out = new SharedArrayBuffer(64);
  /** The message of the worker's failure (UTF-8, `ctrl[5]` bytes). */
  private readonly why = new SharedArrayBuffer(WHY_BYTES);
  /**
   * Why the guard died, when it did (its `error` event, seen only between diffs: during one, the
   * worker's failures and deaths are seen through `ctrl`, and only a dead guard is a time-out).
   */
  private failed: Error | undefined;
  /** The guard's heartbeat (`ctrl[7]`) as last seen, and when it was first seen so (ms since the epoch; at first, the guard's start). */
  private beat = 0;
  private beatSeenAt = Date.now();
  /** When the reader last looked at the heartbeat (ms since the epoch). */
  private lookedAt = Date.now();
  /**
   * @param options.failAfterBlocks tests only: the worker throws on the block after this many (0: on the first)
   * @param options.die tests only: the worker dies on the block after `blocks` — `exit` (process.exit(7)),
   *   `exit0` (process.exit(0)), `throw` (an uncaught exception) or `oom` (its heap, limited to 32 MiB, runs out);
   *   or, with `guard-exit`, `guard-throw`, `guard-oom`, its guard dies so (process.exit(5)), and the worker with it
   */
  constructor(options: { failAfterBlocks?: number; die?: { blocks: number; how: HashWorkerDeath } } = {}) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const workerData = {
      source: `(${indexHashWorkerMain.toString()})(require)`,
      resourceLimits: options.die?.how === 'oom' ? { maxOldGenerationSizeMb: 32 } : undefined,
      port: port2,
      ctrl: this.ctrl.buffer,
      out: this.out,
      why: this.why,
      failAfterBlocks: options.failAfterBlocks ?? -1,
      die: options.die,
      beatMs: GUARD_BEAT_MS,
    };
    this.guard = new Worker(`(${indexHashGuardMain.toString()})(require)`, {
      eval: true,
      workerData,
      transferList: [port2],
      resourceLimits: options.die?.how === 'guard-oom' ? { maxOldGenerationSizeMb: 32 } : undefined,
    });
    this.guard.on('error', (e) => {
      this.failed = e;
    });
    this.guard.unref();
  }

  /** The hasher of side 0 (A) or 1 (B). */
  side(side: 0 | 1): BlockHasher {
    const { port, ctrl, out } = this;
    const slots: Buffer[] = Array.from({ length: RING }, () => Buffer.from(new SharedArrayBuffer(0)));
    let posted = 0;
    const wait = (index: number, value: (v: number) => boolean, what: string) => {
      const t0 = Date.now();
      for (;;) {
        const beat = Atomics.load(ctrl, BEAT);
        const now = Date.now();
        // A beat missed while this thread was not running either (the process stopped, the machine
        // asleep: a gap between two looks) is not the guard's silence.
        if (beat !== this.beat || now - this.lookedAt > LOOK_GAP_MS) {
          this.beat = beat;
          this.beatSeenAt = now;
        }
        this.lookedAt = now;
        const v = Atomics.load(ctrl, index);
        if (value(v)) return;
        if (Atomics.load(ctrl, FAILED) !== 0) {
          const text = Buffer.from(this.why, 0, Atomics.load(ctrl, WHY_LENGTH)).toString('utf8');
          throw new SnapError('INTERNAL', `the record index hashing worker failed: ${text}`);
        }
        if (this.failed) throw new SnapError('INTERNAL', `the record index hashing worker failed: ${this.failed.message}`);
        if (Date.now() - this.beatSeenAt > GUARD_SILENCE_MS) throw new SnapError('INTERNAL', `the record index hashing worker's guard thread stopped answering (no heartbeat for ${GUARD_SILENCE_MS / 1000} s; ${what})`);
        if (Date.now() - t0 > WORKER_TIMEOUT_MS) throw new SnapError('INTERNAL', `the record index hashing worker did not answer (${what})`);
        Atomics.wait(ctrl, index, v, 1000);
      }
    };
    return {
      bufferFor(_current: Buffer, size: number): Buffer {
        // The next block is number `posted`, in slot posted % RING: the block that slot held must be hashed.
        const k = posted % RING;
        const need = posted - RING + 1;
        if (need > 0) wait(side, (v) => v >= need, 'block');
        let slot = slots[k] as Buffer;
        if (slot.length < size) {
          slot = Buffer.from(new SharedArrayBuffer(Math.max(size, (1 << 18) + SLOT_SLACK)));
          slots[k] = slot;
        }
        return slot;
      },
      update(buf: Buffer, from: number, to: number): void {
        port.postMessage({ side, sab: buf.buffer, start: buf.byteOffset + from, end: buf.byteOffset + to });
        posted++;
      },
      digest(): string {
        port.postMessage({ side });
        wait(2 + side, (v) => v === 1, 'digest');
        return Buffer.from(out, side * 32, 32).toString('hex');
      },
    };
  }

  /** Stop the worker (and its guard). */
  close(): void {
    this.port.close();
    void this.guard.terminate();
  }
}
