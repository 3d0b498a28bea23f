/**
 * The worker that hashes record indexes during a diff (src/records/index-hasher.ts): its digests
 * match the reading thread's, and when it fails the reader gets `INTERNAL` at once — the reading
 * thread waits synchronously, so it must learn of the failure through the shared memory, not
 * through the worker's `error` event, which cannot fire until it stops waiting. A worker that dies
 * (process.exit with any code, an uncaught exception, its heap exhausted) is reported the same way
 * by the guard thread that started it, within a second instead of the two-minute time-out; a
 * guard that exits or throws reports its own death as fast, and one that dies running no code (its
 * heap exhausted) is known by its heartbeat standing still for GUARD_SILENCE_MS.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GUARD_SILENCE_MS, HashWorker, RING, type HashWorkerDeath } from '../../src/records/index-hasher.js';

/** A time well below the worker's two-minute time-out: a failure must be reported before it. */
const PROMPTLY_MS = 10_000;
/**
 * A worker's death must be reported well under a second after it. The clock starts once the worker
 * is known to run ({@link running}): starting two threads takes seconds on a loaded machine, and a
 * clock started before them failed this bound there (3 to 6 s, the reader and its worker sharing a
 * busy core) with nothing slow in the report itself.
 */
const AFTER_DEATH_MS = 1500;

/**
 * A worker that dies on its second block (`how`), once it has hashed a first block of side 1 and
 * answered its digest: the guard and the worker are up, and the next block, of side 0, is the one
 * it dies on.
 */
function running(how: HashWorkerDeath): HashWorker {
  const w = new HashWorker({ die: { blocks: 1, how } });
  const first = w.side(1);
  first.update(first.bufferFor(Buffer.alloc(0), 16), 0, 16);
  first.digest();
  return w;
}

describe('the record index hashing worker', () => {
  it('gives the SHA-256 of the blocks it was handed, per side', () => {
    const w = new HashWorker();
    try {
      const h = w.side(1);
      const whole = Buffer.from('one block, then another\n');
      const buf = h.bufferFor(Buffer.alloc(0), whole.length);
      whole.copy(buf);
      h.update(buf, 0, 10);
      h.update(buf, 10, whole.length);
      expect(h.digest()).toBe(createHash('sha256').update(whole).digest('hex'));
    } finally {
      w.close();
    }
  });

  it('makes the digest throw INTERNAL at once when the worker fails on a block', () => {
    const w = new HashWorker();
    try {
      const h = w.side(0);
      const buf = h.bufferFor(Buffer.alloc(0), 16);
      h.update(buf, 0, buf.length + 1); // past the slot's end: the worker's view of it throws RangeError
      const t0 = Date.now();
      expect(() => h.digest()).toThrow(expect.objectContaining({ code: 'INTERNAL', message: expect.stringMatching(/hashing worker failed: .*RangeError/) }));
      expect(Date.now() - t0).toBeLessThan(PROMPTLY_MS);
    } finally {
      w.close();
    }
  }, 180_000);

  it('makes the reader throw INTERNAL at once when it waits for a slot the failed worker will never free', () => {
    const w = new HashWorker();
    try {
      const h = w.side(1);
      const first = h.bufferFor(Buffer.alloc(0), 16);
      h.update(first, 0, first.length + 1);
      for (let i = 1; i < RING; i++) h.update(h.bufferFor(Buffer.alloc(0), 16), 0, 16);
      const t0 = Date.now();
      expect(() => h.bufferFor(Buffer.alloc(0), 16)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
      expect(Date.now() - t0).toBeLessThan(PROMPTLY_MS);
    } finally {
      w.close();
    }
  }, 180_000);
});

describe('the record index hashing worker, when it dies', () => {
  for (const [how, why] of [
    ['exit', /ended unexpectedly \(exit code 7\)/],
    ['exit0', /ended unexpectedly \(exit code 0\)/],
    ['throw', /failed: Error: a death planted by a test/],
    ['oom', /failed: .*memory limit/],
  ] as const) {
    it(`makes the digest throw INTERNAL within a second, saying why, when the worker dies (${how})`, () => {
      const w = running(how);
      try {
        const h = w.side(0);
        const buf = h.bufferFor(Buffer.alloc(0), 16);
        const t0 = Date.now();
        h.update(buf, 0, 16); // the block it dies on
        expect(() => h.digest()).toThrow(expect.objectContaining({ code: 'INTERNAL', message: expect.stringMatching(why) }));
        expect(Date.now() - t0).toBeLessThan(AFTER_DEATH_MS);
      } finally {
        w.close();
      }
    }, 180_000);
  }
});

describe('the record index hashing worker, when its guard thread dies mid-run', () => {
  for (const [how, why] of [
    ['guard-exit', /guard .*ended unexpectedly \(exit code 5\)/],
    ['guard-throw', /guard .*ended unexpectedly/],
    ['guard-oom', /guard .*stopped answering/],
  ] as const) {
    it(`makes the reader throw INTERNAL well before the two-minute time-out, saying why (${how})`, () => {
      const w = running(how);
      try {
        const h = w.side(0);
        const t0 = Date.now();
        h.update(h.bufferFor(Buffer.alloc(0), 16), 0, 16); // the block on which the guard dies (its worker with it)
        expect(() => h.digest()).toThrow(expect.objectContaining({ code: 'INTERNAL', message: expect.stringMatching(why) }));
        // A death the guard reports itself is seen at once; one it cannot report, by its silence.
        expect(Date.now() - t0).toBeLessThan(how === 'guard-oom' ? GUARD_SILENCE_MS + AFTER_DEATH_MS : AFTER_DEATH_MS);
      } finally {
        w.close();
      }
    }, 180_000);
  }
});
