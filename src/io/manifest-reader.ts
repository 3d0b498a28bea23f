/**
 * A `manifest.jsonl` read forward in one pass, in two ways that may be mixed at will: line by line,
 * each line parsed strictly and checked for order ({@link ManifestReader.peek}), or many lines at
 * once as raw text, not parsed here ({@link ManifestReader.take}), for verify's hashing workers to
 * check against the files they were paired with (verify.ts, "bulk runs"). The SHA-256 of the raw
 * bytes is computed as they are read. Memory is one chunk plus at most one line, whatever the
 * manifest's length.
 */
import type { FileHandle } from 'node:fs/promises';
import { openRegularFile } from './small-file.js';
import { createHash } from 'node:crypto';
import { SnapError } from '../core/errors.js';
import { ManifestOrder, type ManifestEntry } from '../core/manifest.js';
import { ioError } from './errors.js';
import { MANIFEST_CHUNK, MAX_MANIFEST_LINE, parseManifestLine } from './manifest-file.js';

const NEWLINE = 0x0a;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** A manifest line and its strictly parsed entry. */
export interface ParsedLine {
  line: string;
  entry: ManifestEntry;
}

/** What {@link ManifestReader.take} read: `lines` raw lines, each ending in `\n`. */
export interface RawLines {
  /** The lines' bytes, in an ArrayBuffer of their own (to be transferred to a worker, which decodes them). */
  data: Uint8Array;
  lines: number;
  /** The sum of the sizes the lines end with, in bytes: a guess for sizing batches, never trusted. */
  sizes: number;
}

/**
 * The decimal number that a line ending at `nl` (the index of its `\n`) ends with before its `}`:
 * the size of a canonical file line, 0 for any other line. A guess for batching, not a parse.
 */
function sizeBefore(buf: Buffer, nl: number): number {
  let v = 0;
  let mul = 1;
  for (let k = nl - 2; k >= 0 && mul <= 1e15; k--) {
    const c = buf[k] as number;
    if (c < DIGIT_0 || c > DIGIT_9) break;
    v += (c - DIGIT_0) * mul;
    mul *= 10;
  }
  return v;
}

/** A forward reader of a manifest file (see the module's comment). Call {@link close} when done. */
export class ManifestReader {
  /** The order of the paths parsed here and of the runs accepted with {@link acceptRun}; `count` is the lines so far. */
  readonly order = new ManifestOrder();
  /** The sum of `size` over the file entries parsed here (not those taken raw), in bytes. */
  parsedBytes = 0;
  /** Bytes read so far. */
  bytes = 0;
  /** The hex SHA-256 of the whole file, once its end was read. */
  sha256?: string;
  private fh?: FileHandle;
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private eof = false;
  private pending?: ParsedLine;
  private readonly hash = createHash('sha256');

  /** @param path the manifest file */
  constructor(readonly path: string) {}

  /** True while a line was parsed by {@link peek} and not yet taken with {@link advance}. */
  get hasPending(): boolean {
    return this.pending !== undefined;
  }

  /**
   * Read more of the file behind the unread bytes. False at the end of the file.
   * @throws SnapError `NOT_FOUND` | `IO_ERROR` | `MANIFEST_NO_TRAILING_NEWLINE` | `MANIFEST_LINE_MALFORMED` (a line over {@link MAX_MANIFEST_LINE})
   */
  private async fill(): Promise<boolean> {
    if (this.eof) return false;
    const keep = this.buf.length - this.pos;
    if (keep > MAX_MANIFEST_LINE) throw this.tooLong(0);
    const next = Buffer.allocUnsafe(keep + MANIFEST_CHUNK);
    this.buf.copy(next, 0, this.pos);
    let n: number;
    try {
      this.fh ??= await openRegularFile(this.path, 'cannot read the manifest'); // a planted FIFO must not hang verify
      ({ bytesRead: n } = await this.fh.read(next, keep, MANIFEST_CHUNK, null));
    } catch (e) {
      throw ioError(e, this.path, 'cannot read the manifest');
    }
    this.buf = next.subarray(0, keep + n);
    this.pos = 0;
    if (n > 0) {
      this.hash.update(next.subarray(keep, keep + n));
      this.bytes += n;
      return true;
    }
    this.eof = true;
    this.sha256 = this.hash.digest('hex');
    if (keep > 0) throw new SnapError('MANIFEST_NO_TRAILING_NEWLINE', `${this.path}: the last line does not end with a newline (truncated?)`, { path: this.path });
    return false;
  }

  /** The error for a line over {@link MAX_MANIFEST_LINE}, `ahead` lines after those accounted for. */
  private tooLong(ahead: number): SnapError {
    const line = this.order.count + ahead + 1;
    return new SnapError('MANIFEST_LINE_MALFORMED', `${this.path} line ${line} is longer than ${MAX_MANIFEST_LINE} bytes`, { path: this.path, line });
  }

  /**
   * The next line, parsed strictly and checked to come after the previous path (`parseManifestLine`);
   * it stays the next one until {@link advance}. Undefined at the end of the file.
   * @throws SnapError every code of `parseManifestLine` | `MANIFEST_LINE_MALFORMED` (a line over
   *   {@link MAX_MANIFEST_LINE}) | the codes of {@link fill}
   */
  async peek(): Promise<ParsedLine | undefined> {
    if (this.pending) return this.pending;
    for (;;) {
      const nl = this.buf.indexOf(NEWLINE, this.pos);
      if (nl >= 0) {
        if (nl - this.pos > MAX_MANIFEST_LINE) throw this.tooLong(0);
        const line = this.buf.toString('utf8', this.pos, nl);
        this.pos = nl + 1;
        const entry = parseManifestLine(line, this.order, this.path);
        if ('sha256' in entry) this.parsedBytes += entry.size;
        this.pending = { line, entry };
        return this.pending;
      }
      if (!(await this.fill())) return undefined;
    }
  }

  /** Take the line {@link peek} returned. */
  advance(): void {
    this.pending = undefined;
  }

  /**
   * The next lines as raw bytes, not parsed (the caller has them checked, and accounts for them with
   * {@link acceptRun}): up to `maxLines` lines, stopping after the line that brings the sizes they
   * end with to `maxBytes` or more; fewer only at the end of the file.
   * @throws SnapError `INTERNAL` when a line is pending | `MANIFEST_LINE_MALFORMED` (a line over
   *   {@link MAX_MANIFEST_LINE}) | the codes of {@link fill}
   */
  async take(maxLines: number, maxBytes: number): Promise<RawLines> {
    if (this.pending) throw new SnapError('INTERNAL', 'a manifest line was parsed and not taken (please report this)');
    // Views of the chunks read: a chunk is never written again once the next one is read (fill).
    const parts: Buffer[] = [];
    let length = 0;
    let lines = 0;
    let sizes = 0;
    while (lines < maxLines && sizes < maxBytes) {
      const buf = this.buf;
      const start = this.pos;
      let p = start;
      while (lines < maxLines && sizes < maxBytes) {
        const nl = buf.indexOf(NEWLINE, p);
        if (nl < 0) break;
        if (nl - p > MAX_MANIFEST_LINE) throw this.tooLong(lines);
        sizes += sizeBefore(buf, nl);
        p = nl + 1;
        lines++;
      }
      if (p > start) {
        parts.push(buf.subarray(start, p));
        length += p - start;
        this.pos = p;
      }
      if (lines < maxLines && sizes < maxBytes && !(await this.fill())) break;
    }
    // Not decoded here: decoding UTF-8 costs more than finding the lines, and the workers do it.
    const data = new Uint8Array(length);
    let at = 0;
    for (const part of parts) {
      data.set(part, at);
      at += part.length;
    }
    return { data, lines, sizes };
  }

  /**
   * Give back lines {@link take} returned (before they were accounted for or sent anywhere): they
   * are the next lines again. Their bytes were hashed when read and are not hashed again.
   * @throws SnapError `INTERNAL` when a line is pending
   */
  untake(raw: RawLines): void {
    if (this.pending) throw new SnapError('INTERNAL', 'a manifest line was parsed and not taken (please report this)');
    if (raw.data.length === 0) return;
    const rest = this.buf.subarray(this.pos);
    const next = Buffer.allocUnsafe(raw.data.length + rest.length);
    next.set(raw.data, 0);
    next.set(rest, raw.data.length);
    this.buf = next;
    this.pos = 0;
  }

  /**
   * Account for `n` lines taken raw whose paths are known to run from `first` to `last` in strict
   * order (the workers checked each against the walk): the order and line count go on from them.
   * False, and nothing changed, when `first` does not come after the previous path.
   */
  acceptRun(first: string, last: string, n: number): boolean {
    return this.order.acceptRun(first, last, n);
  }

  /** Close the file. */
  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }
}
