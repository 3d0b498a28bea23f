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
import { parquetWriteBuffer } from 'hyparquet-writer';
import { makeTree, snapBin, useKeyPair } from '../helpers/tree.js';
import { DECODED_BYTES_PER_STORED_BYTE, MAX_ROW_GROUP_BYTES, MIN_DECODED_BYTES } from '../../src/records/read-parquet.js';
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
    ['one dictionary value named by every row', 'RLE_DICTIONARY', new RegExp(`its values decode to more than ${MIN_DECODED_BYTES} bytes, ${DECODED_BYTES_PER_STORED_BYTE} × the file's`)],
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
