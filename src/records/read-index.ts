/**
 * Reading a record index back (docs/FORMAT.md §19.5): lines parsed strictly, in runs, with their
 * order checked and the SHA-256 of the bytes compared with the digest the statement names — in one
 * streaming pass, O(1) memory in the index's length.
 */
import type { FileHandle } from 'node:fs/promises';
import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import { SnapError, isSnapError } from '../core/errors.js';
import { MAX_INDEX_LINE_BYTES, type RecordIdentity } from '../core/records.js';
import { ioError } from '../io/errors.js';
import { openRegularFile } from '../io/small-file.js';
import { compareEntries, parseIndexLine, type IndexEntry } from './index-line.js';

/** What an index must be. */
export interface IndexExpectation {
  identity: RecordIdentity;
  labelled: boolean;
  /** The signed digest of the bytes: a mismatch is `OBJECT_CORRUPT`. */
  sha256?: string;
  /** The signed record count: a mismatch is `RECORDS_INDEX_MALFORMED`. */
  count?: number;
  /** For messages. */
  name: string;
  /** Check every value's canonical form too (see `parseIndexLine`); default: structure only. */
  strict?: boolean;
}

/** The error for an index object whose bytes are not the signed index's (`OBJECT_CORRUPT`, naming the set, the object and the signed digest). */
export function indexAltered(path: string, x: Pick<IndexExpectation, 'name' | 'sha256'>): SnapError {
  return new SnapError('OBJECT_CORRUPT', `the record index of ${x.name} (${path}) does not hash to the digest the statement signed (${String(x.sha256).slice(0, 12)}…): it was altered`, { path, expected: x.sha256 });
}

/**
 * The record index at `path` opened for reading: non-blocking, and only when it is a regular file
 * (a FIFO planted in the store would otherwise hang the reader).
 * @throws SnapError `OBJECT_CORRUPT` (not a regular file) | `NOT_FOUND` | `IO_ERROR`
 */
export async function openIndexFile(path: string, x: IndexExpectation): Promise<FileHandle> {
  return openRegularFile(path, 'cannot read the record index', (shown) => new SnapError('OBJECT_CORRUPT', `the record index of ${x.name} (${shown}) is not a regular file: it was altered`, { path, expected: x.sha256 }));
}

/**
 * SHA-256 (hex) of a whole index file, read in 1 MiB chunks.
 * @returns the digest, or undefined — nothing read — when `x.count` is given and the file is longer
 *   than that many lines can be ({@link MAX_INDEX_LINE_BYTES} each): it cannot be the signed index
 *   (a planted sparse file of a terabyte would otherwise be hashed for an hour)
 * @throws SnapError as {@link openIndexFile}
 */
export async function indexFileSha256(path: string, x: IndexExpectation): Promise<string | undefined> {
  const h = createHash('sha256');
  const fh = await openIndexFile(path, x);
  try {
    if (x.count !== undefined && (await fh.stat()).size > x.count * MAX_INDEX_LINE_BYTES) return undefined;
    for await (const c of fh.createReadStream({ highWaterMark: 1 << 20, autoClose: false })) h.update(c as Buffer);
  } finally {
    await fh.close().catch(() => undefined);
  }
  return h.digest('hex');
}

/**
 * The entries of an index file, in runs, in index order. The digest and count are checked when the
 * last run has been taken (a caller that stops early checks nothing). With `only`, a line it says
 * no to (given the line without its `\n`) is counted and hashed but neither parsed nor returned, and
 * the order is checked among the lines returned: a reader that wants a few records (the conflict
 * groups' candidates, conflicts.ts) does not parse a million lines to find them.
 * @throws SnapError `OBJECT_CORRUPT` (bytes differ from the signed digest) |
 *   `RECORDS_INDEX_MALFORMED` (a line, the order, the final newline or the count is wrong; naming
 *   the line) | `NOT_FOUND` | `IO_ERROR`
 */
export async function* indexEntryRuns(path: string, x: IndexExpectation, only?: (line: string) => boolean): AsyncGenerator<IndexEntry[]> {
  const h = createHash('sha256');
  let rest: Buffer = Buffer.alloc(0);
  let lineNo = 0;
  let prev: IndexEntry | undefined;
  let count = 0;
  const parseRun = (text: string): IndexEntry[] => {
    const lines = text.split('\n');
    const out: IndexEntry[] = new Array(only ? 0 : lines.length);
    for (let i = 0; i < lines.length; i++) {
      lineNo++;
      if (only && !only(lines[i] as string)) continue;
      let e: IndexEntry;
      try {
        e = parseIndexLine(lines[i] as string, x.identity, x.labelled, x.strict ?? false);
        if (prev && compareEntries(prev, e, x.identity) >= 0) throw new SnapError('RECORDS_INDEX_MALFORMED', 'lines out of index order');
      } catch (err) {
        if (!isSnapError(err)) throw err;
        throw new SnapError(err.code, `record index of ${x.name} (${path}): line ${lineNo}: ${err.message}`, { path, line: lineNo });
      }
      prev = e;
      if (only) out.push(e);
      else out[i] = e;
    }
    count += lines.length;
    return out;
  };
  const fh = await openIndexFile(path, x);
  const stream = fh.createReadStream({ highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (x.sha256 !== undefined) h.update(chunk);
      const nl = chunk.lastIndexOf(0x0a);
      if (nl < 0) {
        // No valid line is longer (core/records.ts): one planted line of gigabytes is not buffered whole.
        if (rest.length + chunk.length > MAX_INDEX_LINE_BYTES) throw new SnapError('RECORDS_INDEX_MALFORMED', `record index of ${x.name} (${path}): line ${lineNo + 1}: a line is longer than ${MAX_INDEX_LINE_BYTES} bytes`, { path, line: lineNo + 1 });
        rest = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
        continue;
      }
      const bytes = rest.length === 0 ? chunk.subarray(0, nl) : Buffer.concat([rest, chunk.subarray(0, nl)]);
      // ASCII (the usual index: hex, numbers, plain keys and labels) decodes fastest as latin1.
      const head = bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
      rest = chunk.subarray(nl + 1);
      yield parseRun(head);
    }
  } catch (e) {
    // A malformed line in an index that does not match its signed digest was altered: say so.
    if (isSnapError(e, 'RECORDS_INDEX_MALFORMED') && x.sha256 !== undefined && (await indexFileSha256(path, x).catch(() => undefined)) !== x.sha256) throw indexAltered(path, x);
    if (isSnapError(e)) throw e;
    throw ioError(e, path, 'cannot read the record index');
  } finally {
    stream.destroy();
  }
  const digest = h.digest('hex');
  if (x.sha256 !== undefined && digest !== x.sha256) throw indexAltered(path, x);
  if (rest.length > 0) throw new SnapError('RECORDS_INDEX_MALFORMED', `record index of ${x.name} (${path}): the last line does not end with a newline`, { path });
  if (x.count !== undefined && count !== x.count) throw new SnapError('RECORDS_INDEX_MALFORMED', `record index of ${x.name} (${path}) has ${count} records where the statement says ${x.count}`, { path });
}
