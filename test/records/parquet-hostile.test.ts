/**
 * Parquet files found by fuzzing that made the decoder (hyparquet 1.33.0) loop for ever, end the
 * process with an unhandled rejection, or grow one array past what V8 holds (SIGTRAP): `seal` refuses each at once with RECORDS_MALFORMED (exit 3),
 * the store left as it was (no lock, nothing in its tmp). Run through the built binary with a
 * deadline, so that a regression fails here instead of hanging the suite.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { ByteWriter, parquetWriteBuffer } from 'hyparquet-writer';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { parquetMetadata } from 'hyparquet';
import { makeTree, snapBin, useKeyPair } from '../helpers/tree.js';
import { DECODED_BYTES_PER_STORED_BYTE, MAX_ROW_GROUP_BYTES, MIN_DECODED_BYTES, REPEATED_ENTRY_DECODED_BYTES, ROW_DECODED_BYTES } from '../../src/records/read-parquet.js';
import { newStorePath } from '../helpers/store.js';

const keys = useKeyPair('pq-hostile');
const fixture = (name: string) => fsp.readFile(join(import.meta.dirname, '..', 'fixtures', 'parquet', name));

describe('seal of a hostile Parquet file (test/fixtures/parquet/README.md)', () => {
  for (const [name, message] of [
    ['v2-page-without-level-lengths.parquet', /a page header of a data page \(v2\) lacks a count or a level length/],
    ['unclaimed-column-chunk.parquet', /its column chunks are not the schema's 4 columns in order \(chunk 3 of 4 names \["labe,"\], the schema \["label"\]\)/],
    ['rle-run-past-page.parquet', /row group 0: a page's run-length encoded \(levels\) a run of 1073741824 values where 64 are left/],
    ['v1-level-run-past-page.parquet', /row group 1: a page's run-length encoded \(levels\) a run of \d+ values where \d+ are left/],
  ] as const) {
    it(`refuses ${name} at once (RECORDS_MALFORMED, exit 3), leaving no lock and nothing in the store's tmp`, async () => {
      const data = await makeTree({ 'snap.json': JSON.stringify({ records: [{ pattern: 'f.parquet', key: ['id'], label: 'label' }] }) });
      await fsp.writeFile(join(data, 'f.parquet'), await fixture(name));
      const store = await newStorePath();
      await fsp.mkdir(store, { recursive: true });
      expect((await snapBin(['init', '--store', store])).code).toBe(0);
      const r = await snapBin(['seal', data, '--as', 'pq@v1', '--key', keys.key, '--store', store, '--json'], { timeoutMs: 30_000 });
      expect(r.signal, 'seal did not finish within 30 s').toBeNull();
      expect(r.code, r.stderr).toBe(3);
      const err = JSON.parse(r.stdout).error;
      expect(err.code).toBe('RECORDS_MALFORMED');
      expect(err.message).toMatch(message);
      expect(await fsp.readdir(store)).not.toContain('lock');
      expect(await fsp.readdir(join(store, 'tmp')).catch(() => [])).toEqual([]);
    });
  }
});

/**
 * A file of `rows` rows whose `text` column repeats one string of `mib` MiB: DELTA_BYTE_ARRAY (each
 * value the whole of the one before as its prefix) or a dictionary (one entry, named by every row).
 * Gzip makes either a few KB.
 */
function repeatedText(rows: number, mib: number, encoding: 'DELTA_BYTE_ARRAY' | 'RLE_DICTIONARY'): Uint8Array {
  const big = 'a'.repeat(mib << 20);
  return new Uint8Array(parquetWriteBuffer({
    rowGroupSize: rows, codec: 'GZIP', compressors: { GZIP: (b: Uint8Array) => new Uint8Array(gzipSync(b, { level: 9 })) }, statistics: false, pageSize: 1e9,
    columnData: [
      { name: 'id', data: Int32Array.from({ length: rows }, (_, i) => i), type: 'INT32', nullable: false },
      { name: 'text', data: Array(rows).fill(big), type: 'STRING', nullable: false, ...(encoding === 'DELTA_BYTE_ARRAY' ? { encoding } : {}) },
    ],
  } as Parameters<typeof parquetWriteBuffer>[0]));
}

describe('seal and verify of a small Parquet file whose values decode to far more than it holds', () => {
  for (const [what, encoding, message] of [
    ['DELTA_BYTE_ARRAY values, each a copy of the one before', 'DELTA_BYTE_ARRAY', new RegExp(`row group 0 holds DELTA_BYTE_ARRAY values that decode to more than ${MAX_ROW_GROUP_BYTES} bytes`)],
    ['one dictionary value named by every row', 'RLE_DICTIONARY', new RegExp(`its rows decode to more than ${MIN_DECODED_BYTES} bytes, ${DECODED_BYTES_PER_STORED_BYTE} × the file's`)],
  ] as const) {
    it(`refuses ${what} (300 of 1 MiB) with RECORDS_LIMIT, exit 3, within seconds, and so does verify of the file planted in a sealed folder`, async () => {
      const file = repeatedText(300, 1, encoding);
      expect(file.length).toBeLessThan(64 << 10);
      const rules = JSON.stringify({ records: [{ pattern: 'f.parquet', key: ['id'] }] });
      const store = await newStorePath();
      await fsp.mkdir(store, { recursive: true });
      expect((await snapBin(['init', '--store', store])).code).toBe(0);
      const data = await makeTree({ 'snap.json': rules });
      await fsp.writeFile(join(data, 'f.parquet'), file);
      const r = await snapBin(['seal', data, '--as', 'pq@v1', '--key', keys.key, '--store', store, '--json'], { timeoutMs: 60_000 });
      expect(r.signal, 'seal did not finish within 60 s').toBeNull();
      expect(r.code, r.stderr).toBe(3);
      expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'RECORDS_LIMIT', message: expect.stringMatching(message) });
      expect(await fsp.readdir(store)).not.toContain('lock');

      // The gate: the file planted in place of a sealed one of the same name.
      const good = await makeTree({ 'snap.json': rules });
      await fsp.writeFile(join(good, 'f.parquet'), repeatedText(3, 0, encoding));
      expect((await snapBin(['seal', good, '--as', 'pq@v2', '--key', keys.key, '--store', store])).code).toBe(0);
      await fsp.writeFile(join(good, 'f.parquet'), file);
      const v = await snapBin(['verify', good, '--against', 'pq@v2', '--pubkey', keys.pub, '--store', store, '--json'], { timeoutMs: 60_000 });
      expect(v.signal, 'verify did not finish within 60 s').toBeNull();
      expect(v.code, v.stderr).toBe(1);
      expect(JSON.parse(v.stdout).problems).toEqual([expect.objectContaining({ path: 'f.parquet', kind: 'modified' })]);
    }, 120_000);
  }
});

/** Seal a folder holding `file` as f.parquet (key id) into a new store: the run's result. */
async function sealParquet(file: Uint8Array, env: Record<string, string> = {}) {
  const store = await newStorePath();
  await fsp.mkdir(store, { recursive: true });
  expect((await snapBin(['init', '--store', store])).code).toBe(0);
  const data = await makeTree({ 'snap.json': JSON.stringify({ records: [{ pattern: 'f.parquet', key: ['id'] }] }) });
  await fsp.writeFile(join(data, 'f.parquet'), file);
  return snapBin(['seal', data, '--as', 'pq@v1', '--key', keys.key, '--store', store, '--json'], { timeoutMs: 60_000, env });
}

describe('seal of a small Parquet file that declares far more than it holds', () => {
  it('refuses a FIXED_LEN_BYTE_ARRAY column declared 4,096 bytes wide over 100,000 values (a 4 KB file that took 4 GB) before any page is decoded', async () => {
    const rows = 100_000;
    const buf = new Uint8Array(parquetWriteBuffer({
      rowGroupSize: rows, codec: 'GZIP', compressors: { GZIP: (b: Uint8Array) => new Uint8Array(gzipSync(b, { level: 9 })) }, statistics: false, pageSize: 1e12,
      columnData: [
        { name: 'id', data: Int32Array.from({ length: rows }, (_, i) => i), type: 'INT32', nullable: false, encoding: 'DELTA_BINARY_PACKED' },
        { name: 'v', data: new Int32Array(rows), type: 'INT32', nullable: false, encoding: 'BYTE_STREAM_SPLIT' },
      ],
    } as Parameters<typeof parquetWriteBuffer>[0]));
    // The footer rewritten: column v made FIXED_LEN_BYTE_ARRAY of type_length 4,096.
    const metaLen = new DataView(buf.buffer).getUint32(buf.length - 8, true);
    const meta = parquetMetadata(buf.buffer as ArrayBuffer);
    Object.assign(meta.schema[2] as object, { type: 'FIXED_LEN_BYTE_ARRAY', type_length: 4096 });
    Object.assign((meta.row_groups[0]!.columns[1]!.meta_data as object), { type: 'FIXED_LEN_BYTE_ARRAY' });
    const w = new ByteWriter();
    writeMetadata(w, meta as unknown as Parameters<typeof writeMetadata>[1]);
    const footer = new Uint8Array(w.getBuffer());
    const tail = Buffer.alloc(8);
    tail.writeUInt32LE(footer.length, 0);
    tail.write('PAR1', 4, 'latin1');
    const file = Buffer.concat([buf.subarray(0, buf.length - 8 - metaLen), footer, tail]);
    expect(file.length).toBeLessThan(16 << 10);
    const r = await sealParquet(file);
    expect(r.signal).toBeNull();
    expect(r.code, r.stderr).toBe(3);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'RECORDS_LIMIT', message: expect.stringContaining(`declares fixed-length values of more than ${MAX_ROW_GROUP_BYTES} bytes`) });
  }, 120_000);

  it(`refuses 2 Mi rows of delta-encoded ids from a file of a few KB (each row counts ${ROW_DECODED_BYTES} bytes besides its values: a 2 KB file of 33 Mi rows sealed 6 GB of index), and seals it with ${'$'}SNAP_PARQUET_DECODED_RATIO raised`, async () => {
    const rows = 2 << 20;
    const file = new Uint8Array(parquetWriteBuffer({
      rowGroupSize: rows, codec: 'GZIP', compressors: { GZIP: (b: Uint8Array) => new Uint8Array(gzipSync(b, { level: 9 })) }, statistics: false, pageSize: 1e12,
      columnData: [{ name: 'id', data: BigInt64Array.from({ length: rows }, (_, i) => BigInt(i)), type: 'INT64', nullable: false, encoding: 'DELTA_BINARY_PACKED' }],
    } as Parameters<typeof parquetWriteBuffer>[0]));
    expect(file.length).toBeLessThan(16 << 10);
    const r = await sealParquet(file);
    expect(r.code, r.stderr).toBe(3);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'RECORDS_LIMIT', message: expect.stringContaining('SNAP_PARQUET_DECODED_RATIO=N sets the ratio') });
    const raised = await sealParquet(file, { SNAP_PARQUET_DECODED_RATIO: '1000000' });
    expect(raised.code, raised.stderr).toBe(0);
  }, 180_000);

  const listOf = (name: string) => [{ name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 }, { name: 'list', repetition_type: 'REPEATED', num_children: 1 }, { name: 'element', type: 'INT32', repetition_type: 'OPTIONAL' }];
  for (const [what, column, schema] of [
    ['one list of 8 M zeros (a 323-byte file that sealed at a 950 MB peak)', { name: 'tags', data: [new Array(8_000_000).fill(0)] }, listOf('tags')],
    ['a struct of 8 lists of 1 M zeros each (1.6 KB, sealed at 733 MB: every list counts)', { name: 's', data: [Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`l${i}`, new Array(1_000_000).fill(0)]))] }, [{ name: 's', repetition_type: 'OPTIONAL', num_children: 8 }, ...Array.from({ length: 8 }, (_, i) => listOf(`l${i}`)).flat()]],
  ] as const) {
    it(`refuses a row group whose one row holds ${what} before it is decoded: each list entry counts ${REPEATED_ENTRY_DECODED_BYTES} bytes`, async () => {
      const file = new Uint8Array(parquetWriteBuffer({
        columnData: [{ name: 'id', data: Int32Array.of(1) }, column],
        codec: 'GZIP', compressors: { GZIP: (b: Uint8Array) => new Uint8Array(gzipSync(b, { level: 9 })) }, statistics: false, pageSize: 1e12,
        schema: [{ name: 'root', num_children: 2 }, { name: 'id', type: 'INT32', repetition_type: 'REQUIRED' }, ...schema],
      } as Parameters<typeof parquetWriteBuffer>[0]));
      expect(file.length).toBeLessThan(2048);
      const r = await sealParquet(file);
      expect(r.signal).toBeNull();
      expect(r.code, r.stderr).toBe(3);
      expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'RECORDS_LIMIT', message: expect.stringContaining(`row group 0 declares 1 rows and 8000000 entries of repeated columns (lists), more than ${MIN_DECODED_BYTES} bytes to decode`) });
    }, 120_000);
  }
});
