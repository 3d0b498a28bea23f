/**
 * What the record readers share: the sink they feed, limits, hashing the bytes they read, and
 * errors that name the file, line and record.
 */
import type { ColumnType } from './column-types.js';
import type { FileHandle } from 'node:fs/promises';
import { createHash, type Hash } from 'node:crypto';
import { SnapError, isSnapError } from '../core/errors.js';
import type { RecordForms } from './canonical.js';
import { ioError } from '../io/errors.js';
import { openRegularFile } from '../io/small-file.js';

/** Largest record (a CSV record, a JSONL line), in bytes. */
export const MAX_RECORD_BYTES = 16 << 20;
/** Most columns of a CSV or TSV file. */
export const MAX_COLUMNS = 10_000;
/** Read size. */
export const READ_CHUNK = 1 << 20;

/**
 * Takes each record as it is read: its canonical forms, its 1-based record number and the 1-based
 * line where it starts (0 when the format has no lines, e.g. Parquet).
 */
export type RecordSink = (forms: RecordForms, row: number, line: number) => void;

/** What a reader saw of the file's bytes. */
export interface ReadResult {
  /** SHA-256 of every byte read, hex. */
  sha256: string;
  bytes: number;
  records: number;
  /** Parquet: the top-level columns' types as Arrow reads them; CSV, TSV: the header's columns in order, each `STRING` (`column-types.ts`); absent when over their bounds. */
  columnTypes?: ColumnType[];
}

/**
 * An error located in a file: the code of `e` (a SnapError) or `RECORDS_MALFORMED`, its message
 * prefixed with the file, line and record, and those in `details`.
 */
export function located(e: unknown, path: string, where: { line?: number; row?: number }): SnapError {
  const at = [where.line ? `line ${where.line}` : '', where.row ? `record ${where.row}` : ''].filter(Boolean).join(', ');
  const details = { ...(isSnapError(e) ? e.details : {}), path, ...(where.line ? { line: where.line } : {}), ...(where.row ? { row: where.row } : {}) };
  const message = `${path}${at ? `: ${at}` : ''}: ${(e as Error)?.message ?? String(e)}`;
  return new SnapError(isSnapError(e) ? e.code : 'RECORDS_MALFORMED', message, details, { cause: e });
}

/**
 * Open a data file that was seen as a regular file (by the seal's or the diff's walk) for reading:
 * non-blocking, and only if it still is one — a file swapped for a FIFO after the walk must not
 * hang the reader.
 * @throws SnapError `FILE_CHANGED` (no longer a regular file) | `NOT_FOUND` | `IO_ERROR`
 */
export function openDataFile(abs: string): Promise<FileHandle> {
  return openRegularFile(abs, 'cannot read', (shown) => new SnapError('FILE_CHANGED', `${shown} is no longer a regular file: it changed while it was read`, { path: abs }));
}

/**
 * Stream a file's bytes in chunks, hashing them.
 * @throws SnapError `FILE_CHANGED` (not a regular file) | `NOT_FOUND` | `IO_ERROR`
 */
export async function* hashedChunks(abs: string, hash: Hash): AsyncGenerator<Buffer> {
  const stream = (await openDataFile(abs)).createReadStream({ highWaterMark: READ_CHUNK });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      yield chunk;
    }
  } catch (e) {
    if (isSnapError(e)) throw e;
    throw ioError(e, abs, 'cannot read');
  } finally {
    stream.destroy();
  }
}

/** A new SHA-256. */
export function newHash(): Hash {
  return createHash('sha256');
}

/**
 * The 1-based line of the first byte that is not valid UTF-8 in `buf`, counting from `firstLine`
 * (for error messages only).
 */
export function lineOfInvalidUtf8(buf: Buffer, firstLine: number): number {
  let line = firstLine;
  let i = 0;
  while (i < buf.length) {
    const b = buf[i] as number;
    if (b === 0x0a) line++;
    const n = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (n === 0) return line;
    if (n > 1) {
      if (i + n > buf.length) return line;
      for (let k = 1; k < n; k++) if (((buf[i + k] as number) & 0xc0) !== 0x80) return line;
      const cp = n === 2 ? 0 : n === 3 ? ((b & 0x0f) << 12) | (((buf[i + 1] as number) & 0x3f) << 6) : ((b & 0x07) << 18) | (((buf[i + 1] as number) & 0x3f) << 12);
      if ((n === 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n === 4 && (cp < 0x10000 || cp > 0x10ffff))) return line;
    }
    i += n;
  }
  return line;
}
