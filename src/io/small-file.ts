/**
 * Reading a small file that someone else may have planted (a snapshot's `statement.json`,
 * `envelope.json`, `contents.json`, a revocation): opened non-blocking and checked to be a regular
 * file before a byte is read, and read only up to a bound. A FIFO put in a store folder by whoever
 * can write there would otherwise block the read forever — and Node cannot even stop on SIGTERM
 * while a worker thread waits in open(2) — so `verify`, `sign`, `list` and `fsck` would hang.
 */
import { promises as fsp, constants as FS, closeSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { SnapError } from '../core/errors.js';
import { escapeForTerminal } from '../core/display.js';
import { ioError } from './errors.js';

/**
 * Open `path` for reading without blocking, and only when it is a regular file (a FIFO or device
 * planted where a store file should be would otherwise block open(2) or the first read for ever).
 * @param notRegular the error for anything that is not a regular file, given its stats (default: `IO_ERROR` naming it)
 * @returns the open handle; the caller closes it
 * @throws SnapError `notRegular` | `NOT_FOUND` | `IO_ERROR` (from {@link ioError}, naming `what`)
 */
export async function openRegularFile(path: string, what: string, notRegular?: (shown: string, st: Stats) => SnapError): Promise<fsp.FileHandle> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(path, FS.O_RDONLY | (FS.O_NONBLOCK ?? 0));
  } catch (e) {
    throw ioError(e, path, what);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw (notRegular ?? ((shown: string) => new SnapError('IO_ERROR', `${what}: ${shown} is not a regular file`, { path })))(escapeForTerminal(path), st);
    return fh;
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw ioError(e, path, what);
  }
}

/**
 * {@link openRegularFile} for synchronous readers: the file descriptor of `path`, opened read-only
 * without blocking, only when it is a regular file.
 * @returns the file descriptor; the caller closes it
 * @throws SnapError `notRegular` | `NOT_FOUND` | `IO_ERROR` (from {@link ioError}, naming `what`)
 */
export function openRegularFileSync(path: string, what: string, notRegular?: (shown: string, st: Stats) => SnapError): number {
  let fd: number;
  try {
    fd = openSync(path, FS.O_RDONLY | (FS.O_NONBLOCK ?? 0));
  } catch (e) {
    throw ioError(e, path, what);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw (notRegular ?? ((shown: string) => new SnapError('IO_ERROR', `${what}: ${shown} is not a regular file`, { path })))(escapeForTerminal(path), st);
    return fd;
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      /* closing is all that is left */
    }
    throw ioError(e, path, what);
  }
}

/**
 * Read at most `limit` bytes of the regular file `path` (a longer file comes back cut short, for
 * its parser to refuse).
 * @param notRegular the error for anything that is not a regular file (a FIFO, a folder, a device)
 * @throws SnapError `notRegular` | `NOT_FOUND` | `IO_ERROR` (from {@link ioError}, naming `what`)
 */
export async function readSmallFile(path: string, limit: number, what: string, notRegular: (shown: string) => SnapError): Promise<Buffer> {
  const fh = await openRegularFile(path, what, notRegular);
  try {
    const st = await fh.stat();
    return await readAtMost(fh, Math.min(limit, st.size + 1));
  } catch (e) {
    throw ioError(e, path, what);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * {@link readSmallFile} for synchronous readers: at most `limit` bytes of the regular file `path`,
 * opened without blocking and judged by fstat before a byte is read. Through no thread pool: a
 * command that reads thousands of statements (`listSnapshots`: a NAME sealed every night for years)
 * paid a round trip to libuv's threads for each open, fstat, read and close, some 0.4 ms a file.
 * @param notRegular the error for anything that is not a regular file (a FIFO, a folder, a device)
 * @throws SnapError `notRegular` | `NOT_FOUND` | `IO_ERROR` (from {@link ioError}, naming `what`)
 */
export function readSmallFileSync(path: string, limit: number, what: string, notRegular: (shown: string) => SnapError): Buffer {
  const fd = openRegularFileSync(path, what, notRegular);
  try {
    const buf = Buffer.alloc(Math.min(limit, fstatSync(fd).size + 1));
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    return buf.subarray(0, n);
  } catch (e) {
    throw ioError(e, path, what);
  } finally {
    try {
      closeSync(fd);
    } catch {
      /* closing is all that is left */
    }
  }
}

/**
 * Read the open file `fh` from where it stands (the start, for a file just opened), through its
 * descriptor, up to `limit` bytes: never more, whatever its size is now or becomes while it is read
 * (unlike `FileHandle.readFile`, which reads to the end of a file grown after it was checked). It
 * reads at no offset, so a FIFO or a pipe (which cannot seek: ESPIPE) is read the same way.
 * @param limit the most bytes read, and the size of the buffer allocated
 * @returns the bytes read (fewer than `limit` at the end of the file)
 * @throws the file system's error (the caller wraps it, e.g. with {@link ioError})
 */
export async function readAtMost(fh: fsp.FileHandle, limit: number): Promise<Buffer> {
  const buf = Buffer.alloc(limit);
  let n = 0;
  while (n < buf.length) {
    const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
    if (bytesRead === 0) break;
    n += bytesRead;
  }
  return buf.subarray(0, n);
}
