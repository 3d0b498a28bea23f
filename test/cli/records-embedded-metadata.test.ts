/**
 * pyarrow keeps a table's metadata twice in a Parquet file: in the key-value metadata, and inside
 * the Arrow schema it stores as the key-value metadata ARROW:schema. Reading a file that has an
 * ARROW:schema, pyarrow — and so pandas (`read_parquet`) and Hugging Face `datasets` — takes the
 * metadata from ARROW:schema alone. A B that left the key-value `huggingface` and `pandas` values as
 * A had them, and changed them inside ARROW:schema, flipped every ClassLabel's meaning (or swapped
 * which column pandas calls `label`) while snap, reading the key-value values, passed `check`.
 * Fixtures: test/fixtures/parquet/metadata/make.py.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, snap, snapJson, useKeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';

const keys = useKeyPair();
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'parquet', 'metadata');
const fixture = (name: string) => fsp.readFile(join(FIXTURES, name));
const RULE = ['--records', 'train.parquet key=id label=label'];

/** A store with ds@v1 sealed from `a`, and a folder B holding `b` as its train.parquet. */
async function sealedA(a: string, b: string): Promise<{ store: string; bDir: string }> {
  const store = await newStorePath();
  const aDir = await makeTree({ 'train.parquet': await fixture(a) });
  const r = await snapJson(['seal', aDir, '--as', 'ds@v1', '--key', keys.key, '--store', store, ...RULE]);
  expect(r.code, r.stderr).toBe(0);
  return { store, bDir: await makeTree({ 'train.parquet': await fixture(b) }) };
}

describe('metadata that ARROW:schema holds otherwise than the key-value metadata', () => {
  it('ClassLabel names flipped inside ARROW:schema only: check does not pass, and says the two disagree', async () => {
    const { store, bDir } = await sealedA('hf.parquet', 'hf-split.parquet');
    const r = await snap(['check', bDir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(r.code, r.stdout + r.stderr).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/"huggingface".*ARROW:schema/s);
  });

  it('pandas column names swapped inside ARROW:schema only: check does not pass, and says the two disagree', async () => {
    const { store, bDir } = await sealedA('pandas.parquet', 'pandas-split.parquet');
    const r = await snap(['check', bDir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(r.code, r.stdout + r.stderr).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/"pandas".*ARROW:schema/s);
  });

  it('a file pyarrow wrote (the same metadata in both places) still seals, and checks clean against itself', async () => {
    for (const f of ['hf.parquet', 'pandas.parquet']) {
      const { store, bDir } = await sealedA(f, f);
      const r = await snap(['check', bDir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
  });
});

describe('a timestamp column whose time zone only ARROW:schema holds', () => {
  it('UTC → Asia/Tokyo, same instants: check fails naming the type change (pandas reads 09:00+09:00 for 00:00+00:00)', async () => {
    const { store, bDir } = await sealedA('tz-utc.parquet', 'tz-tokyo.parquet');
    const r = await snapJson(['check', bDir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(r.code, JSON.stringify(r.json)).toBe(1);
    expect(r.json.records.sets[0].summary).toMatchObject({ unchanged: 3, modified: 0 });
    expect(r.json.records.sets[0].types).toEqual({ changes: [{ column: 'ts', a: 'TIMESTAMP(MICROS, UTC)', b: 'TIMESTAMP(MICROS, UTC, "Asia/Tokyo")' }] });
  });

  it('the same file checks clean against itself, and a zone of UTC is written as before', async () => {
    const { store, bDir } = await sealedA('tz-tokyo.parquet', 'tz-tokyo.parquet');
    const r = await snapJson(['check', bDir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(r.code, JSON.stringify(r.json)).toBe(0);
    expect(r.json.records.sets[0].types).toEqual({ changes: [] });
  });
});

describe('a pandas metadata dtype (numpy_type) that makes pandas read other values than the Parquet type', () => {
  for (const [file, dtype, reads] of [['pandas-dtype-string.parquet', 'string', 'the strings "1", "0", "1"'], ['pandas-dtype-period.parquet', 'period[D]', 'periods']] as const) {
    it(`label as ${dtype} (pandas reads ${reads}; every record and the Parquet type the same): refused, so check does not pass`, async () => {
      const { store, bDir } = await sealedA('pandas.parquet', file);
      const r = await snap(['check', bDir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
      expect(r.code, r.stdout + r.stderr).toBe(3);
      expect(r.stderr).toContain(`its pandas metadata gives column "label" the dtype ${JSON.stringify(dtype)}`);
      expect(r.stderr).toContain('[RECORDS_UNSUPPORTED]');
    });
  }

  it('the dtypes pandas writes for its own columns (nullable, pyarrow-backed, strings, pyarrow-backed times, dates and binaries, a categorical, a time zone, a period, an interval) are read as before', async () => {
    const dir = await makeTree({ 'train.parquet': await fixture('pandas-dtypes.parquet') });
    const r = await snapJson(['seal', dir, '--as', 'ds@v1', '--key', keys.key, '--store', await newStorePath(), ...RULE]);
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('an Arrow extension type on a column (ARROW:extension:name in ARROW:schema), its stored values the same', () => {
  it('label made a pandas.period of days whose integers are its values: a type change, so check fails', async () => {
    const { store, bDir } = await sealedA('pandas.parquet', 'pandas-period-label.parquet');
    const r = await snapJson(['check', bDir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(r.code, JSON.stringify(r.json)).toBe(1);
    expect(r.json.records.sets[0].summary).toMatchObject({ unchanged: 3 });
    expect(r.json.records.sets[0].types.changes).toEqual([{ column: 'label', a: 'INT64', b: 'INT64 (extension "pandas.period", "{\\"freq\\": \\"D\\"}")' }]);
  });
});
