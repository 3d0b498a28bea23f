/**
 * writeAll (src/io/write-all.ts): a short write is carried on from where it stopped, at the file's
 * position or at a given one, and a write that makes no progress is an error, never a silent end.
 */
import { promises as fsp, openSync, closeSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeAll, writeAllSync } from '../../src/io/write-all.js';
import { tempDir } from '../helpers/tree.js';

/** A file handle whose writes each take at most `most` bytes (0: none), as a filling disk does. */
function shortWriting(fh: fsp.FileHandle, most: number): fsp.FileHandle {
  return new Proxy(fh, {
    get(target, prop) {
      if (prop === 'write') return (buf: Uint8Array, off: number, len: number, pos: number | null) => target.write(buf, off, Math.min(len, most), pos);
      const v = Reflect.get(target, prop);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

describe('writeAll', () => {
  it('writes every byte when each write takes only some, at the current position and at a given one', async () => {
    const path = join(await tempDir(), 'f');
    const data = randomBytes(100_000);
    const fh = await fsp.open(path, 'w');
    try {
      expect(await writeAll(shortWriting(fh, 777), data)).toBe(data.length);
      expect(await writeAll(shortWriting(fh, 1000), data.subarray(0, 5000), 200_000)).toBe(5000);
    } finally {
      await fh.close();
    }
    const back = await fsp.readFile(path);
    expect(back.subarray(0, data.length).equals(data)).toBe(true);
    expect(back.subarray(200_000, 205_000).equals(data.subarray(0, 5000))).toBe(true);
  });

  it('throws EIO when a write makes no progress instead of returning early', async () => {
    const fh = await fsp.open(join(await tempDir(), 'g'), 'w');
    try {
      await expect(writeAll(shortWriting(fh, 0), Buffer.from('abc'))).rejects.toMatchObject({ code: 'EIO' });
    } finally {
      await fh.close();
    }
  });

  it('writes every byte synchronously too (writeAllSync), at the current position and at a given one', async () => {
    const path = join(await tempDir(), 'h');
    const data = randomBytes(100_000);
    const fd = openSync(path, 'w');
    try {
      expect(writeAllSync(fd, data)).toBe(data.length);
      expect(writeAllSync(fd, Buffer.from('head'), 0)).toBe(4);
    } finally {
      closeSync(fd);
    }
    const back = readFileSync(path);
    expect(back.length).toBe(data.length);
    expect(back.subarray(0, 4).toString()).toBe('head');
    expect(back.subarray(4).equals(data.subarray(4))).toBe(true);
  });
});
