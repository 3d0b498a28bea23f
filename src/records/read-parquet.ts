/**
 * Parquet records (docs/FORMAT.md §19.2), through hyparquet (pure JavaScript) with
 * hyparquet-compressors, one row group at a time. Values keep their exact type (see
 * `canonical.ts` `parquetValue`): the timestamp and date parsers here return the stored integers,
 * strings are decoded as strict UTF-8, other byte arrays stay bytes.
 *
 * Parquet is not read as a stream (its footer comes first), so the file is hashed in a first pass
 * over one open descriptor, and its size, inode and times are compared after the rows were read.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { parquetMetadataAsync, parquetRead, type AsyncBuffer, type FileMetaData, type ParquetParsers } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { SnapError, isSnapError } from '../core/errors.js';
import { ObjectShapes, parquetValue, type RecordFields } from './canonical.js';
import { located, newHash, READ_CHUNK, type ReadResult, type RecordSink } from './read-common.js';
import { ioError } from '../io/errors.js';

/** Largest row group, uncompressed, in bytes (a row group is held in memory while it is read). */
export const MAX_ROW_GROUP_BYTES = 256 << 20;
/** Largest footer (file metadata), in bytes. */
export const MAX_METADATA_BYTES = 64 << 20;
/** Most digits of a DECIMAL that hyparquet's doubles hold exactly. */
const MAX_DECIMAL_DIGITS = 15;
const MAGIC = 0x31524150; // "PAR1", little-endian

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Parsers that keep every value exact: stored integers for times and dates, strict UTF-8. */
const PARSERS: Partial<ParquetParsers> = {
  timestampFromMilliseconds: (v: bigint) => v,
  timestampFromMicroseconds: (v: bigint) => v,
  timestampFromNanoseconds: (v: bigint) => v,
  dateFromDays: (d: number) => d,
  stringFromBytes: (b: Uint8Array) => (b ? strict.decode(b) : b),
  jsonFromBytes: (b: Uint8Array) => (b ? JSON.parse(strict.decode(b)) : b),
};

async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesRead } = await fh.read(buf, off, buf.length - off, position + off);
    if (bytesRead === 0) throw new SnapError('FILE_CHANGED', 'the file became shorter while it was read');
    off += bytesRead;
  }
}

function checkSchema(meta: FileMetaData, rel: string, fields: RecordFields): void {
  for (const el of meta.schema) {
    const ct = el.converted_type as string | undefined;
    if (ct === 'INTERVAL' || ct === 'BSON') throw new SnapError('RECORDS_UNSUPPORTED', `${rel}: column ${JSON.stringify(el.name)} has type ${ct}, which cannot be read exactly`, { path: rel });
    if (ct === 'DECIMAL' && (el.precision ?? 0) > MAX_DECIMAL_DIGITS) {
      throw new SnapError('RECORDS_UNSUPPORTED', `${rel}: column ${JSON.stringify(el.name)} is a DECIMAL of ${el.precision} digits; more than ${MAX_DECIMAL_DIGITS} cannot be read exactly`, { path: rel });
    }
  }
  // Top-level columns: the root's children, in schema order (a child with children spans its subtree).
  const top: string[] = [];
  let i = 1;
  const skip = (at: number): number => {
    let next = at + 1;
    for (let c = 0; c < ((meta.schema[at]?.num_children as number | undefined) ?? 0); c++) next = skip(next);
    return next;
  };
  while (i < meta.schema.length && top.length < ((meta.schema[0]?.num_children as number | undefined) ?? 0)) {
    top.push((meta.schema[i] as { name: string }).name);
    i = skip(i);
  }
  for (const k of fields.key ?? []) if (!top.includes(k)) throw new SnapError('RECORDS_KEY_MISSING', `${rel}: key column ${JSON.stringify(k)} is not in the schema (columns: ${top.map((t) => JSON.stringify(t)).join(', ')})`, { path: rel, column: k });
  if (fields.label !== undefined && !top.includes(fields.label)) {
    throw new SnapError('RECORDS_LABEL_MISSING', `${rel}: label column ${JSON.stringify(fields.label)} is not in the schema (columns: ${top.map((t) => JSON.stringify(t)).join(', ')})`, { path: rel, column: fields.label });
  }
}

/**
 * Read the records of a Parquet file into `sink`, one row group at a time.
 * @throws SnapError `RECORDS_MALFORMED` (not Parquet, truncated, undecodable) | `RECORDS_UNSUPPORTED` |
 *   `RECORDS_LIMIT` | `RECORDS_KEY_*` | `RECORDS_LABEL_MISSING` | `FILE_CHANGED` | `NOT_FOUND` | `IO_ERROR`
 */
export async function readParquet(abs: string, rel: string, fields: RecordFields, sink: RecordSink): Promise<ReadResult> {
  let fh: FileHandle;
  try {
    fh = await fsp.open(abs, 'r');
  } catch (e) {
    throw ioError(e, abs, 'cannot read');
  }
  try {
    const before = await fh.stat({ bigint: true });
    const size = Number(before.size);
    const hash = newHash();
    const chunk = Buffer.allocUnsafe(READ_CHUNK);
    for (let pos = 0; pos < size; ) {
      const n = Math.min(READ_CHUNK, size - pos);
      await readFully(fh, chunk.subarray(0, n), pos);
      hash.update(chunk.subarray(0, n));
      pos += n;
    }
    const malformed = (why: string) => new SnapError('RECORDS_MALFORMED', `${rel}: ${why}`, { path: rel });
    if (size < 12) throw malformed('not a Parquet file (too short; truncated?)');
    const tail = Buffer.alloc(8);
    await readFully(fh, tail, size - 8);
    if (tail.readUInt32LE(4) !== MAGIC) throw malformed('not a Parquet file (no PAR1 at its end; truncated?)');
    const metaLen = tail.readUInt32LE(0);
    if (metaLen > size - 12) throw malformed(`its footer claims ${metaLen} bytes of metadata, more than the file holds (truncated?)`);
    if (metaLen > MAX_METADATA_BYTES) throw new SnapError('RECORDS_LIMIT', `${rel}: its metadata is larger than ${MAX_METADATA_BYTES} bytes`, { path: rel });
    const file: AsyncBuffer = {
      byteLength: size,
      async slice(start: number, end?: number): Promise<ArrayBuffer> {
        const stop = Math.min(end ?? size, size);
        const buf = Buffer.alloc(Math.max(0, stop - start));
        await readFully(fh, buf, start);
        return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer;
      },
    };
    let meta: FileMetaData;
    try {
      // Default parsers here: column statistics of a binary column need not be UTF-8 (and do not make records).
      meta = await parquetMetadataAsync(file);
    } catch (e) {
      if (isSnapError(e)) throw located(e, rel, {});
      throw malformed(`cannot read its metadata (${(e as Error).message}; truncated?)`);
    }
    checkSchema(meta, rel, fields);
    const shapes = new ObjectShapes(fields);
    let rowStart = 0;
    let row = 0;
    for (let g = 0; g < meta.row_groups.length; g++) {
      const rg = meta.row_groups[g] as FileMetaData['row_groups'][number];
      if (rg.total_byte_size > BigInt(MAX_ROW_GROUP_BYTES)) throw new SnapError('RECORDS_LIMIT', `${rel}: row group ${g} holds ${rg.total_byte_size} bytes uncompressed, more than ${MAX_ROW_GROUP_BYTES}`, { path: rel });
      const rows = Number(rg.num_rows);
      let failure: unknown;
      try {
        await parquetRead({
          file,
          metadata: meta,
          rowStart,
          rowEnd: rowStart + rows,
          rowFormat: 'object',
          compressors,
          utf8: false,
          parsers: PARSERS,
          onComplete: (list: Record<string, unknown>[]) => {
            for (const r of list) {
              row++;
              try {
                sink(shapes.forms(parquetValue(r)), row, 0);
              } catch (e) {
                failure = located(e, rel, { row });
                throw failure;
              }
            }
          },
        });
      } catch (e) {
        if (failure) throw failure;
        if (isSnapError(e)) throw located(e, rel, { row: row + 1 });
        throw malformed(`row group ${g} cannot be read (${(e as Error).message}; truncated or corrupt?)`);
      }
      if (row !== rowStart + rows) throw malformed(`row group ${g} gave ${row - rowStart} rows where its metadata says ${rows}`);
      rowStart += rows;
    }
    const after = await fh.stat({ bigint: true });
    if (after.size !== before.size || after.mtimeNs !== before.mtimeNs || after.ctimeNs !== before.ctimeNs || after.ino !== before.ino) {
      throw new SnapError('FILE_CHANGED', `${rel} changed while its records were read`, { path: rel });
    }
    return { sha256: hash.digest('hex'), bytes: size, records: row };
  } catch (e) {
    if (isSnapError(e)) throw e;
    throw ioError(e, abs, 'cannot read');
  } finally {
    await fh.close();
  }
}
