/**
 * The SHA-256 of the record indexes a diff reads (docs/FORMAT.md §19.5: every index's bytes are
 * checked against the digest the statement signed), either on the reading thread or on one worker
 * thread shared by both sides of a diff, so that hashing overlaps scanning on a second core.
 *
 * The worker hashes the very bytes the reader scans: each block is read into a SharedArrayBuffer
 * slot (a ring of {@link RING} per side), the worker is told which bytes to hash, and a slot is
 * written again only after the worker has hashed the block it held. No file is read twice, so a file
 * swapped while the diff runs cannot give the scan other bytes than the digest.
 */
import { Worker } from 'node:worker_threads';
import { createHash, type Hash } from 'node:crypto';
import { SnapError } from '../core/errors.js';

/** How a reader gets the buffer for its next read and has the bytes read hashed. */
export interface BlockHasher {
  /**
   * The buffer to read the next block into, at least `size` bytes: `current` when it may be written
   * in place, else another one (the reader copies the bytes it keeps into it).
   */
  bufferFor(current: Buffer, size: number): Buffer;
  /** Hash buf[from, to), bytes just read (left unchanged by the reader until the next {@link bufferFor}). */
  update(buf: Buffer, from: number, to: number): void;
  /** The SHA-256 of all bytes hashed, hex. @throws SnapError `INTERNAL` when a worker does not answer */
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

/* eslint-disable */
declare const require: NodeJS.Require;

/** The worker's body: self-contained (started from its source text), Node built-ins only. */
function indexHashWorkerMain(require: NodeJS.Require): void {
  const { parentPort, workerData } = require('node:worker_threads');
  const { createHash } = require('node:crypto');
  const ctrl = new Int32Array(workerData.ctrl);
  const out = new Uint8Array(workerData.out);
  const hashes = [createHash('sha256'), createHash('sha256')];
  parentPort.on('message', (m: { side: 0 | 1; sab?: SharedArrayBuffer; start?: number; end?: number }) => {
    const side = m.side;
    if (m.sab === undefined) {
      out.set(hashes[side].digest(), side * 32);
      Atomics.store(ctrl, 2 + side, 1);
      Atomics.notify(ctrl, 2 + side);
      return;
    }
    hashes[side].update(new Uint8Array(m.sab, m.start, (m.end as number) - (m.start as number)));
    Atomics.add(ctrl, side, 1);
    Atomics.notify(ctrl, side);
  });
}
/* eslint-enable */

/**
 * One worker thread hashing both sides of a diff. Get each side's hasher with {@link side}; always
 * {@link close} it.
 */
export class HashWorker {
  private readonly worker: Worker;
  /** [blocks hashed of side 0, of side 1, digest of side 0 ready, of side 1 ready]. */
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(16));
  private readonly out = new SharedArrayBuffer(64);
  /** Why the worker failed, when it did (seen between diffs; during one, a dead worker is a time-out). */
  private failed: Error | undefined;
  constructor() {
    this.worker = new Worker(`(${indexHashWorkerMain.toString()})(require)`, { eval: true, workerData: { ctrl: this.ctrl.buffer, out: this.out } });
    this.worker.on('error', (e) => {
      this.failed = e;
    });
    this.worker.unref();
  }

  /** The hasher of side 0 (A) or 1 (B). */
  side(side: 0 | 1): BlockHasher {
    const { worker, ctrl, out } = this;
    const slots: Buffer[] = Array.from({ length: RING }, () => Buffer.from(new SharedArrayBuffer(0)));
    let posted = 0;
    const wait = (index: number, value: (v: number) => boolean, what: string) => {
      const t0 = Date.now();
      for (;;) {
        const v = Atomics.load(ctrl, index);
        if (value(v)) return;
        if (this.failed) throw new SnapError('INTERNAL', `the record index hashing worker failed: ${this.failed.message}`);
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
        worker.postMessage({ side, sab: buf.buffer, start: buf.byteOffset + from, end: buf.byteOffset + to });
        posted++;
      },
      digest(): string {
        worker.postMessage({ side });
        wait(2 + side, (v) => v === 1, 'digest');
        return Buffer.from(out, side * 32, 32).toString('hex');
      },
    };
  }

  /** Stop the worker. */
  close(): void {
    void this.worker.terminate();
  }
}
