/**
 * Parquet files found by fuzzing that made the decoder (hyparquet 1.33.0) loop for ever, end the
 * process with an unhandled rejection, or grow one array past what V8 holds (SIGTRAP): `seal` refuses each at once with RECORDS_MALFORMED (exit 3),
 * the store left as it was (no lock, nothing in its tmp). Run through the built binary with a
 * deadline, so that a regression fails here instead of hanging the suite.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, snapBin, useKeyPair } from '../helpers/tree.js';
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
