/**
 * A list that holds its first entries in memory and writes the others, one line each, to a
 * temporary file, read back in the same order: a command that finds any number of entries (`fsck`
 * over a store holding a million planted objects) keeps memory bounded, and still lists every one,
 * in order, once it knows what goes before them.
 *
 * The file is made in its own folder under the temporary folder (`os.tmpdir()`: `TMPDIR`), opened,
 * and removed with its folder at once: only the open descriptor keeps it, so nothing is left behind
 * however the process ends (a kill, a crash). Writes and reads are synchronous, a chunk at a time.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ioError } from './errors.js';

/** Text gathered before one write to the file, and bytes read from it at a time. */
const SPILL_CHUNK_BYTES = 1 << 16;

/** How a {@link SpillList} writes an entry as one line, and reads it back. */
export interface SpillCodec<T> {
  /** One line: must not hold a line feed (JSON.stringify's output never does). */
  encode(x: T): string;
  decode(line: string): T;
}

/** Entries as JSON, one a line. */
export function jsonCodec<T>(): SpillCodec<T> {
  return { encode: (x) => JSON.stringify(x), decode: (line) => JSON.parse(line) as T };
}

/** A list of any length whose memory is bounded: see the module comment. */
export class SpillList<T> {
  private readonly head: T[] = [];
  private fd: number | undefined;
  private path = '';
  private pending: string[] = [];
  private pendingChars = 0;
  private written = 0;
  private count = 0;

  /**
   * @param codec how an entry is written as a line
   * @param held entries kept in memory (the first ones); the rest go to the file
   * @param what what the list holds, for an error (`cannot write ${what} to …`)
   */
  constructor(
    private readonly codec: SpillCodec<T>,
    private readonly held: number,
    private readonly what: string,
  ) {}

  /** Entries added. */
  get length(): number {
    return this.count;
  }

  /** True when some entries are in the file (more than `held` were added). */
  get spilled(): boolean {
    return this.count > this.held;
  }

  /**
   * Add entries at the end (`push`, as an array's: a list of strays may be either).
   * @throws SnapError `DISK_FULL` | `IO_ERROR` (the temporary file cannot be made or written)
   */
  push(...xs: T[]): number {
    for (const x of xs) {
      this.count++;
      if (this.fd === undefined && this.head.length < this.held) {
        this.head.push(x);
        continue;
      }
      const line = this.codec.encode(x);
      this.pending.push(line);
      this.pendingChars += line.length + 1;
      if (this.pendingChars >= SPILL_CHUNK_BYTES) this.flush();
    }
    return this.count;
  }

  /** Every entry, in the order added (the list can be read again, and added to after). */
  *[Symbol.iterator](): Generator<T> {
    yield* this.head;
    this.flush();
    if (this.fd === undefined) return;
    for (const line of linesAt(this.fd, 0, this.written)) yield this.codec.decode(line);
  }

  /** The first `n` entries (at most). */
  first(n: number): T[] {
    const out: T[] = [];
    if (n <= 0) return out;
    for (const x of this) {
      out.push(x);
      if (out.length >= n) break;
    }
    return out;
  }

  /** Close the file (nothing is left of it); the list is empty after. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.head.length = 0;
    this.pending = [];
    this.pendingChars = 0;
    this.written = 0;
    this.count = 0;
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    if (this.fd === undefined) this.open();
    const bytes = Buffer.from(this.pending.join('\n') + '\n');
    this.pending = [];
    this.pendingChars = 0;
    try {
      for (let off = 0; off < bytes.length; ) off += writeSync(this.fd as number, bytes, off, bytes.length - off, this.written + off);
    } catch (e) {
      throw ioError(e, this.path, `cannot write ${this.what} to the temporary folder (set TMPDIR to another disk)`);
    }
    this.written += bytes.length;
  }

  private open(): void {
    const { fd, path } = openSpillFile(this.what);
    this.fd = fd;
    this.path = path;
  }
}

/**
 * A temporary file open for reading and writing whose name is already gone (see the module
 * comment): made in its own folder under `os.tmpdir()`, which is removed at once.
 * @param what what it will hold, for an error (`cannot write ${what} to …`)
 * @returns its descriptor, and the path it had (for errors)
 * @throws SnapError `DISK_FULL` | `IO_ERROR`
 */
export function openSpillFile(what: string): { fd: number; path: string } {
  let dir = '';
  try {
    dir = mkdtempSync(join(tmpdir(), 'snap-list-'));
    const path = join(dir, 'list');
    return { fd: openSync(path, 'wx+', 0o600), path };
  } catch (e) {
    throw ioError(e, dir || tmpdir(), `cannot write ${what} to the temporary folder (set TMPDIR to another disk)`);
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The lines of the bytes `start` to `end` of a file (each without its line feed; the last ends with
 * one), read {@link SPILL_CHUNK_BYTES} at a time: only the line being read is held whole.
 */
export function* linesAt(fd: number, start: number, end: number): Generator<string> {
  const buf = Buffer.allocUnsafe(SPILL_CHUNK_BYTES);
  let rest: Buffer = Buffer.alloc(0);
  let pos = start;
  while (pos < end) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
    if (n === 0) break;
    pos += n;
    let chunk = rest.length > 0 ? Buffer.concat([rest, buf.subarray(0, n)]) : buf.subarray(0, n);
    let nl: number;
    while ((nl = chunk.indexOf(0x0a)) >= 0) {
      yield chunk.toString('utf8', 0, nl);
      chunk = chunk.subarray(nl + 1);
    }
    rest = Buffer.from(chunk);
  }
}
