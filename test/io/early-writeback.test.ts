/**
 * An archive's write-back starts while it is being written (io/early-writeback.ts): an
 * `fdatasync` every so many bytes, never two at once, every one awaited before the file is closed,
 * and an error of any of them thrown, since the final `fsync` may not report it again.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EarlyWriteback } from '../../src/io/early-writeback.js';
import { tempDir } from '../helpers/tree.js';

/** A flush that records each call and completes only when the test says so. */
function heldFlush() {
  const pending: ((e: NodeJS.ErrnoException | null) => void)[] = [];
  const calls: number[] = [];
  const flush = (fd: number, done: (e: NodeJS.ErrnoException | null) => void) => {
    calls.push(fd);
    pending.push(done);
  };
  return { flush, calls, release: (e: NodeJS.ErrnoException | null = null) => pending.shift()?.(e) };
}

describe('the early write-back of a file being written', () => {
  it('starts no flush before `every` bytes are written, and one once they are', () => {
    const h = heldFlush();
    const wb = new EarlyWriteback(7, 100, h.flush);
    wb.wrote(60);
    wb.wrote(39);
    expect(h.calls).toEqual([]);
    wb.wrote(1);
    expect(h.calls).toEqual([7]);
  });

  it('never runs two flushes at once: bytes written meanwhile start the next one later', async () => {
    const h = heldFlush();
    const wb = new EarlyWriteback(3, 10, h.flush);
    wb.wrote(10);
    wb.wrote(50);
    expect(h.calls).toHaveLength(1);
    h.release();
    await Promise.resolve();
    wb.wrote(10);
    expect(h.calls).toHaveLength(2);
  });

  it('settles only once the flush under way is done', async () => {
    const h = heldFlush();
    const wb = new EarlyWriteback(3, 10, h.flush);
    wb.wrote(10);
    let settled = false;
    const s = wb.settle().then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    h.release();
    await s;
    expect(settled).toBe(true);
  });

  it('throws the error of an early flush from settle, and starts no further flush', async () => {
    const h = heldFlush();
    const wb = new EarlyWriteback(3, 10, h.flush);
    wb.wrote(10);
    h.release(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await Promise.resolve();
    wb.wrote(100);
    expect(h.calls).toHaveLength(1);
    await expect(wb.settle()).rejects.toMatchObject({ code: 'EIO' });
  });

  it("reports the kernel's refusal of a real fdatasync (a character device: EINVAL)", async () => {
    const fd = openSync('/dev/null', 'w');
    try {
      const wb = new EarlyWriteback(fd, 1);
      wb.wrote(1);
      await expect(wb.settle()).rejects.toMatchObject({ code: 'EINVAL' });
    } finally {
      closeSync(fd);
    }
  });

  it('flushes a regular file being written without error', async () => {
    const path = join(await tempDir('snap-writeback-'), 'f');
    const fd = openSync(path, 'w');
    try {
      const wb = new EarlyWriteback(fd, 1 << 16);
      const block = Buffer.alloc(1 << 16, 1);
      for (let i = 0; i < 8; i++) {
        writeSync(fd, block);
        wb.wrote(block.length);
      }
      await expect(wb.settle()).resolves.toBeUndefined();
    } finally {
      closeSync(fd);
    }
  });
});
