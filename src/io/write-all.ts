/**
 * Write a whole buffer to a file handle. A write(2) may write fewer bytes than asked — a disk
 * filling up does that before it refuses with ENOSPC — and one unchecked short write leaves a file
 * that silently lacks its end. So each write here goes on from where the last one stopped, in
 * slices of {@link WRITE_SLICE} bytes, until all is written or a write fails (its error is thrown,
 * e.g. ENOSPC, which `ioError` turns into `DISK_FULL`).
 */
import { writeSync, type promises as fsp } from 'node:fs';
import { WRITE_SLICE } from './write-slice.js';

/**
 * Write `buf` (all of it) at `position`, or at the file's current position when it is null.
 * @returns the number of bytes written: `buf.length`
 * @throws the write's own error (an `ErrnoException`, such as ENOSPC or EIO); EIO when a write makes no progress
 */
export async function writeAll(fh: fsp.FileHandle, buf: Uint8Array, position: number | null = null): Promise<number> {
  let off = 0;
  while (off < buf.length) {
    const n = (await fh.write(buf, off, Math.min(WRITE_SLICE, buf.length - off), position === null ? null : position + off)).bytesWritten;
    if (n <= 0) throw Object.assign(new Error(`a write made no progress after ${off} of ${buf.length} bytes`), { code: 'EIO' });
    off += n;
  }
  return off;
}

/**
 * Write `buf` (all of it) to the file descriptor `fd` at `position`, or at its current position
 * when null: {@link writeAll} for synchronous writers.
 * @returns `buf.length`
 * @throws the write's own error (an `ErrnoException`); EIO when a write makes no progress
 */
export function writeAllSync(fd: number, buf: Uint8Array, position: number | null = null): number {
  let off = 0;
  while (off < buf.length) {
    const n = writeSync(fd, buf, off, Math.min(WRITE_SLICE, buf.length - off), position === null ? null : position + off);
    if (n <= 0) throw Object.assign(new Error(`a write made no progress after ${off} of ${buf.length} bytes`), { code: 'EIO' });
    off += n;
  }
  return off;
}
