/**
 * A pandas categorical column's categories are signed in the column-types object (docs/FORMAT.md
 * §19.11): a B whose categories are `["pos", "neg"]` where A's were `["neg", "pos"]` has every value
 * and fingerprint the same and every `.cat.codes` swapped. Files written by pyarrow 25.0.1 with
 * pandas 3.0.6 (test/fixtures/parquet/categorical/make.py).
 */
import { promises as fsp, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, snap, snapJson, useKeyPair } from '../helpers/tree.js';
import { newStorePath, signOlderColumnTypes } from '../helpers/store.js';
import { schemaErrors } from '../helpers/json-schemas.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const keys = useKeyPair();
const DIR = join(import.meta.dirname, '..', 'fixtures', 'parquet', 'categorical');
const file = (name: string) => readFileSync(join(DIR, `${name}.parquet`));

async function pair(a: string, b: string): Promise<{ store: string; bDir: string; sealed: Json }> {
  const store = await newStorePath();
  const seal = async (name: string, as: string) => {
    const dir = await makeTree({ 'train.parquet': file(name) });
    const r = await snapJson(['seal', dir, '--as', as, '--key', keys.key, '--store', store, '--records', 'train.parquet key=id']);
    expect(r.code, r.stderr).toBe(0);
    return { dir, json: r.json };
  };
  const sealed = (await seal(a, 'ds@v1')).json;
  const bDir = (await seal(b, 'ds@v2')).dir;
  return { store, bDir, sealed };
}
const check = (store: string, b = 'ds@v2', extra: string[] = []) => snapJson(['check', b, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub, ...extra]);
const TEXT = 'label: pandas categories [neg, pos] → [pos, neg]';

describe('a pandas categorical whose categories were reordered, every value the same', () => {
  it('is signed: the object holds the categories in the order pandas reads them', async () => {
    const { store, sealed } = await pair('neg-pos', 'pos-neg');
    const hex = sealed.records[0].schema;
    const obj = JSON.parse(await fsp.readFile(join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2)), 'utf8'));
    expect(obj.categories).toEqual({ label: { ordered: false, values: ['neg', 'pos'] } });
  });

  it('check fails (exit 1) naming it; diff and verify name it; --max-type-changes 1 lets it through', async () => {
    const { store, bDir } = await pair('neg-pos', 'pos-neg');
    const c = await check(store);
    expect(c.code, JSON.stringify(c.json.breaches)).toBe(1);
    const breach = c.json.breaches.find((x: Json) => x.rule === 'maxTypeChanges');
    expect(breach).toMatchObject({ set: 'train.parquet', value: 1, limit: 0 });
    expect(breach.message).toContain(TEXT);
    expect(schemaErrors('check', c.json)).toBe('');
    expect((await check(store, 'ds@v2', ['--max-type-changes', '1'])).code).toBe(0);
    const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(d.json.records.sets[0].summary).toMatchObject({ unchanged: 3, modified: 0 });
    expect(d.json.records.sets[0].types).toEqual({ changes: [], categories: [{ column: 'label', a: { ordered: false, values: ['neg', 'pos'] }, b: { ordered: false, values: ['pos', 'neg'] } }] });
    expect(schemaErrors('diff', d.json)).toBe('');
    expect((await snap(['diff', 'ds@v1', 'ds@v2', '--store', store])).stdout).toContain(TEXT);
    const v = await snapJson(['verify', bDir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(v.json.problems[0].records.types.categories).toHaveLength(1);
    expect((await check(store, bDir)).code).toBe(1);
  });

  it('an ordered flag changed is a change too; the same file is none', async () => {
    const { store } = await pair('neg-pos', 'ordered');
    const c = await check(store);
    expect(c.code).toBe(1);
    expect(c.json.breaches.find((x: Json) => x.rule === 'maxTypeChanges').message).toContain('label: pandas categories [neg, pos] → ordered [neg, pos]');
    const same = await pair('neg-pos', 'neg-pos');
    expect((await check(same.store)).code).toBe(0);
  });

  it('a B whose dictionary was padded past the bound fails against an A within it', async () => {
    const { store } = await pair('neg-pos', 'over-bounds');
    const c = await check(store, 'ds@v2', ['--max-modified', '3', '--max-conflicts', '9', '--allow-vanished-labels', '--max-shift', '1']);
    expect(c.json.breaches.find((x: Json) => x.rule === 'maxTypeChanges')?.message, JSON.stringify(c.json.breaches)).toContain('→ over bounds');
  });

  it('a B whose categories together take its column object past its bound is signed with them over bounds, and fails against A (sealed, and as a folder)', async () => {
    // 17,000 unused categories of 1,006 bytes, each column's within its bounds: the object would be 17 MB.
    const { store, bDir } = await pair('neg-pos', 'object-over-bounds');
    const text = 'label: pandas categories [neg, pos] → over bounds';
    for (const b of ['ds@v2', bDir]) {
      const c = await check(store, b);
      expect(c.code, JSON.stringify(c.json.breaches)).toBe(1);
      expect(c.json.breaches.find((x: Json) => x.rule === 'maxTypeChanges')?.message, JSON.stringify(c.json.breaches)).toContain(text);
    }
    const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(d.json.records.sets[0].types.categories).toEqual([{ column: 'label', a: { ordered: false, values: ['neg', 'pos'] }, b: { ordered: false, overBounds: true } }]);
  });

  it("a sealed B whose signed column-types object a store writer removed is compared by its file's copy, categories too", async () => {
    const store = await newStorePath();
    for (const [name, as] of [['neg-pos', 'ds@v1'], ['pos-neg', 'ds@v2']] as const) {
      const dir = await makeTree({ 'train.parquet': file(name) });
      const r = await snapJson(['seal', dir, '--as', as, '--key', keys.key, '--store', store, '--records', 'train.parquet key=id']);
      expect(r.code, r.stderr).toBe(0);
      if (as === 'ds@v2') await fsp.rm(join(store, 'objects', 'sha256', r.json.records[0].schema.slice(0, 2), r.json.records[0].schema.slice(2)));
    }
    const c = await check(store);
    expect(c.code, JSON.stringify(c.json.breaches)).toBe(1);
    expect(c.json.breaches.find((x: Json) => x.rule === 'maxTypeChanges')?.message).toContain(TEXT);
  });

  it('an older column-types object (no categories) against categories: no false breach, "not recorded"', async () => {
    const { store } = await pair('neg-pos', 'pos-neg');
    await signOlderColumnTypes(store, 'ds', 'v1', keys.key, { classNames: {}, columns: [{ name: 'id', type: 'INT64' }, { name: 'label', type: 'STRING' }], nestedClassNames: {} });
    const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(d.json.records.sets[0].types).toEqual({ changes: [], categoriesUnknown: { side: 'a', reason: 'pandas categories not recorded (sealed by an older snap)' } });
    expect(schemaErrors('diff', d.json)).toBe('');
    expect((await snap(['diff', 'ds@v1', 'ds@v2', '--store', store])).stdout).toContain('pandas categories not compared (side a: pandas categories not recorded (sealed by an older snap))');
    expect((await check(store)).code).toBe(0);
  });
});

describe('a column chunk whose dictionary page comes after a data page', () => {
  it('is refused, where pandas reads its categories [dog, cat] against [cat, dog] for the same values (every code flipped)', async () => {
    const expected = (name: string) => JSON.parse(readFileSync(join(DIR, `${name}.expected.json`), 'utf8'));
    expect(expected('mid-chunk-a')).toEqual({ ordered: false, values: ['cat', 'dog'] });
    expect(expected('dictionary-mid-chunk')).toEqual({ ordered: false, values: ['dog', 'cat'] });
    const store = await newStorePath();
    const a = await makeTree({ 'train.parquet': file('mid-chunk-a') });
    expect((await snap(['seal', a, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--records', 'train.parquet'])).code).toBe(0);
    const b = await makeTree({ 'train.parquet': file('dictionary-mid-chunk') });
    const sealed = await snap(['seal', b, '--as', 'ds@v2', '--key', keys.key, '--store', store, '--records', 'train.parquet']);
    expect(sealed.code, sealed.stdout).toBe(3);
    expect(sealed.stderr).toContain('a dictionary page after a data page of column chunk 1 ("label")');
    expect(sealed.stderr).toContain('[RECORDS_MALFORMED]');
    const c = await snap(['check', b, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(c.code, c.stdout).not.toBe(0);
  });
});

describe('a categorical column chunk whose dictionary page is followed by a PLAIN data page', () => {
  it('is refused, where pandas takes the dictionary only at a dictionary-encoded page and reads [dog, cat] against [cat, dog]', async () => {
    const expected = (name: string) => JSON.parse(readFileSync(join(DIR, `${name}.expected.json`), 'utf8'));
    expect(expected('dictionary-then-plain')).toEqual({ ordered: false, values: ['dog', 'cat'] });
    const store = await newStorePath();
    const a = await makeTree({ 'train.parquet': file('mid-chunk-a') });
    expect((await snap(['seal', a, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--records', 'train.parquet'])).code).toBe(0);
    const b = await makeTree({ 'train.parquet': file('dictionary-then-plain') });
    const sealed = await snap(['seal', b, '--as', 'ds@v2', '--key', keys.key, '--store', store, '--records', 'train.parquet']);
    expect(sealed.code, sealed.stdout).toBe(3);
    expect(sealed.stderr).toContain('the first data page after the dictionary page of column chunk 1 ("label") is PLAIN');
    expect(sealed.stderr).toContain('[RECORDS_MALFORMED]');
    const c = await snap(['check', b, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(c.code, c.stdout).toBe(3);
  });
});

describe('a dictionary page that holds a value twice in a column that is no pandas categorical', () => {
  it('is refused in a struct member whose Arrow field is a dictionary (pyarrow reads it as one, so pandas read {label: ddd}, {label: ddd}, {label: aaa} where the page and snap give ccc, ccc, aaa): check passed it, exit 0, no record changed', async () => {
    const store = await newStorePath();
    const a = await makeTree({ 'train.parquet': file('nested-dictionary-twice-a') });
    expect((await snap(['seal', a, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--records', 'train.parquet key=id label=y'])).code).toBe(0);
    const b = await makeTree({ 'train.parquet': file('nested-dictionary-twice') });
    const c = await snapJson(['check', b, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(c.code, JSON.stringify(c.json)).toBe(3);
    expect(c.json.error).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 'train.parquet' } });
    expect(c.json.error.message).toContain('column "s.label" has a dictionary page that holds "aaa" twice');
  });
});

describe('a categorical whose dictionary page holds a value twice', () => {
  it('is refused, where pandas keeps each value once and reads other labels (ddd, ddd, aaa) than the page indexes (ccc, ccc, aaa)', async () => {
    // Against dictionary-twice-a.parquet B has the same categories as pandas reads them, and the same records as the page gives them.
    const expected = (name: string) => JSON.parse(readFileSync(join(DIR, `${name}.expected.json`), 'utf8'));
    expect(expected('dictionary-twice')).toEqual(expected('dictionary-twice-a'));
    const store = await newStorePath();
    const a = await makeTree({ 'train.parquet': file('dictionary-twice-a') });
    expect((await snap(['seal', a, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--records', 'train.parquet key=id'])).code).toBe(0);
    const b = await makeTree({ 'train.parquet': file('dictionary-twice') });
    const sealed = await snap(['seal', b, '--as', 'ds@v2', '--key', keys.key, '--store', store, '--records', 'train.parquet key=id']);
    expect(sealed.code, sealed.stdout).toBe(3);
    expect(sealed.stderr).toContain('column "label" has a dictionary page that holds "aaa" twice');
    expect(sealed.stderr).toContain('[RECORDS_MALFORMED]');
    const c = await snap(['check', b, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(c.code, c.stdout).toBe(3);
  });
});
