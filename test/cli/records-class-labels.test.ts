/**
 * A Parquet file written by Hugging Face `datasets` says what each integer of a ClassLabel column
 * means in its key-value metadata `huggingface` (`{"info": {"features": {"label": {"names": ["neg",
 * "pos"], "_type": "ClassLabel"}}}}`; `Features.from_arrow_schema` reads it at `load_dataset`). A B
 * that swaps the names to ["pos", "neg"] keeps every record and fingerprint, yet flips every label's
 * meaning. The names are signed in the column-types object (docs/FORMAT.md §19.11) and compared:
 * `check` fails naming "label: ClassLabel names [neg, pos] → [pos, neg]".
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { makeTree, snap, snapJson, useKeyPair } from '../helpers/tree.js';
import { newStorePath, signOlderColumnTypes } from '../helpers/store.js';
import { schemaErrors } from '../helpers/json-schemas.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const keys = useKeyPair();
const RULE = ['--records', 'train.parquet key=id label=label'];

/** The `huggingface` metadata `datasets` writes for id (int64), text (string) and a ClassLabel `label` of these names. */
function hfMetadata(names: string[] | undefined, extra: object = {}): string {
  const label = names ? { names, _type: 'ClassLabel' } : { dtype: 'int64', _type: 'Value' };
  return JSON.stringify({ info: { features: { id: { dtype: 'int64', _type: 'Value' }, label, ...extra } } });
}

/** Three rows, id 1..3, label 1, 0, 1 (INT64), with these key-value metadata. */
function table(kv: { key: string; value: string }[]): Buffer {
  return Buffer.from(
    parquetWriteBuffer({
      columnData: [
        { name: 'id', data: BigInt64Array.from([1n, 2n, 3n]), type: 'INT64' },
        { name: 'label', data: BigInt64Array.from([1n, 0n, 1n]), type: 'INT64' },
      ],
      kvMetadata: kv,
    }),
  );
}

const hf = (names: string[] | undefined, extra?: object) => table([{ key: 'huggingface', value: hfMetadata(names, extra) }]);

async function seal(data: string, store: string, as: string): Promise<Json> {
  const r = await snapJson(['seal', data, '--as', as, '--key', keys.key, '--store', store, ...RULE]);
  expect(r.code, r.stderr).toBe(0);
  return r.json;
}

async function pair(a: Buffer, b: Buffer): Promise<{ store: string; bDir: string; sealed: Json }> {
  const store = await newStorePath();
  const sealed = await seal(await makeTree({ 'train.parquet': a }), store, 'ds@v1');
  const bDir = await makeTree({ 'train.parquet': b });
  await seal(bDir, store, 'ds@v2');
  return { store, bDir, sealed };
}

const SWAP = { column: 'label', a: ['neg', 'pos'], b: ['pos', 'neg'] };

describe('a Hugging Face ClassLabel whose names were swapped, every record the same', () => {
  it('is signed: the column-types object holds the names of each ClassLabel column', async () => {
    const { store, sealed } = await pair(hf(['neg', 'pos']), hf(['pos', 'neg']));
    const hex = sealed.records[0].schema;
    const obj = JSON.parse(await fsp.readFile(join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2)), 'utf8'));
    expect(obj).toEqual({ classNames: { label: ['neg', 'pos'] }, columns: [{ name: 'id', type: 'INT64' }, { name: 'label', type: 'INT64' }], nestedClassNames: {}, categories: {} });
  });

  it('diff names the change in --json and in human output; no record changed', async () => {
    const { store } = await pair(hf(['neg', 'pos']), hf(['pos', 'neg']));
    const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(d.json.records.sets[0].summary).toMatchObject({ unchanged: 3, modified: 0, flipped: 0 });
    expect(d.json.records.sets[0].types).toEqual({ changes: [], classNames: [SWAP] });
    expect(schemaErrors('diff', d.json)).toBe('');
    const h = await snap(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(h.stdout).toContain('label: ClassLabel names [neg, pos] → [pos, neg]');
  });

  it('check fails (exit 1) with a maxTypeChanges breach naming it; verify of the folder names it too', async () => {
    const { store, bDir } = await pair(hf(['neg', 'pos']), hf(['pos', 'neg']));
    const c = await snapJson(['check', 'ds@v2', '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(c.code).toBe(1);
    const breach = c.json.breaches.find((x: Json) => x.rule === 'maxTypeChanges');
    expect(breach).toMatchObject({ set: 'train.parquet', value: 1, limit: 0 });
    expect(breach.message).toContain('label: ClassLabel names [neg, pos] → [pos, neg]');
    expect(schemaErrors('check', c.json)).toBe('');
    const folder = await snapJson(['check', bDir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(folder.code).toBe(1);
    const v = await snapJson(['verify', bDir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(v.json.problems[0].records.types).toEqual({ changes: [], classNames: [SWAP] });
    expect(schemaErrors('verify', v.json)).toBe('');
  });

  it('names removed (the metadata gone) are a change too: [neg, pos] → none', async () => {
    const { store } = await pair(hf(['neg', 'pos']), table([]));
    const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(d.json.records.sets[0].types).toEqual({ changes: [], classNames: [{ column: 'label', a: ['neg', 'pos'], b: null }] });
    expect(schemaErrors('diff', d.json)).toBe('');
    const h = await snap(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(h.stdout).toContain('label: ClassLabel names [neg, pos] → none');
  });
});

describe('what is no change', () => {
  it('the same names, other metadata rewritten (pandas, another pyarrow version, other features): check exits 0', async () => {
    const a = table([{ key: 'huggingface', value: hfMetadata(['neg', 'pos']) }, { key: 'pandas', value: '{"pandas_version": "1.5.3", "columns": []}' }]);
    const b = table([{ key: 'huggingface', value: hfMetadata(['neg', 'pos'], { note: { dtype: 'string', _type: 'Value' } }) }, { key: 'pandas', value: '{"pandas_version": "2.2.3", "columns": []}' }]);
    const { store } = await pair(a, b);
    const c = await snapJson(['check', 'ds@v2', '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(c.code, JSON.stringify(c.json.breaches)).toBe(0);
    const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(d.json.records.sets[0].types).toEqual({ changes: [] });
  });

  it('diff of a snapshot with itself is clean', async () => {
    const { store } = await pair(hf(['neg', 'pos']), hf(['pos', 'neg']));
    const d = await snapJson(['diff', 'ds@v1', 'ds@v1', '--store', store]);
    expect(d.code).toBe(0);
    expect(d.json.records.sets[0].types).toEqual({ changes: [] });
  });

  it('metadata without ClassLabel names records none, and is sealed', async () => {
    const { store, sealed } = await pair(hf(undefined), hf(undefined));
    const hex = sealed.records[0].schema;
    const obj = JSON.parse(await fsp.readFile(join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2)), 'utf8'));
    expect(obj.classNames).toEqual({});
  });

  it('an older column-types object (without classNames) against names: no false breach, "class names not recorded"', async () => {
    const { store } = await pair(hf(['neg', 'pos']), hf(['pos', 'neg']));
    // The object an older snap wrote for the same file: its columns only.
    await signOlderColumnTypes(store, 'ds', 'v1', keys.key, { columns: [{ name: 'id', type: 'INT64' }, { name: 'label', type: 'INT64' }] });
    const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(d.json.error, d.stderr).toBeUndefined(); // exit 1: the files' bytes differ (their metadata)
    expect(d.json.records.sets[0].types).toEqual({ changes: [], classNamesUnknown: { side: 'a', reason: 'class names not recorded (sealed by an older snap)' } });
    expect(schemaErrors('diff', d.json)).toBe('');
    const h = await snap(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(h.stdout).toContain('ClassLabel names not compared (side a: class names not recorded (sealed by an older snap))');
    const c = await snapJson(['check', 'ds@v2', '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(c.code, JSON.stringify(c.json.breaches)).toBe(0);
  });
});

describe('malformed huggingface metadata', () => {
  it('is refused as RECORDS_MALFORMED, as datasets fails to load it (json.loads raises)', async () => {
    const store = await newStorePath();
    const dir = await makeTree({ 'train.parquet': table([{ key: 'huggingface', value: '{"info": {"features": ' }]) });
    const r = await snapJson(['seal', dir, '--as', 'm@v1', '--key', keys.key, '--store', store, ...RULE]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('RECORDS_MALFORMED');
    expect(r.json.error.message).toContain('huggingface');
  });
});

/**
 * The object-detection and multi-label shapes: a ClassLabel inside a struct, or a list of a
 * struct — `objects: Sequence({"bbox": ..., "category": ClassLabel(...)})`, which `datasets` 5
 * writes as a dict of Lists and older `datasets` as a Sequence of a dict. The metadata below is what
 * `datasets` 5.0.1 wrote (`Dataset.to_parquet`); the names are read whatever the column's Parquet type.
 */
describe('a ClassLabel nested in a struct or a list, its names swapped', () => {
  const NESTED_RULE = ['--records', 'train.parquet key=id'];
  const category = (names: string[]) => ({ feature: { names, _type: 'ClassLabel' }, _type: 'List' });
  const bbox = { feature: { feature: { dtype: 'float32', _type: 'Value' }, length: 4, _type: 'List' }, _type: 'List' };
  /** id (INT64) and objects (a STRING stand-in) with this `objects` feature and a `meta: {kind: ClassLabel}` one. */
  const nested = (objects: object | { json: string }, kind = ['x', 'y']): Buffer =>
    Buffer.from(
      parquetWriteBuffer({
        columnData: [
          { name: 'id', data: BigInt64Array.from([1n, 2n, 3n]), type: 'INT64' },
          { name: 'objects', data: ['a', 'b', 'c'], type: 'STRING' },
          { name: 'meta', data: ['a', 'b', 'c'], type: 'STRING' },
        ],
        kvMetadata: [{ key: 'huggingface', value: `{"info": {"features": {"id": {"dtype": "int64", "_type": "Value"}, "objects": ${'json' in objects ? objects.json : JSON.stringify(objects)}, "meta": ${JSON.stringify({ kind: { names: kind, _type: 'ClassLabel' } })}}}}` }],
      }),
    );
  const dictOfLists = (names: string[]) => ({ bbox, category: category(names) });
  const sequenceOfDict = (names: string[]) => ({ feature: { bbox: bbox.feature, category: { names, _type: 'ClassLabel' } }, _type: 'Sequence' });

  async function nestedPair(a: Buffer, b: Buffer): Promise<{ store: string; bDir: string; sealed: Json }> {
    const store = await newStorePath();
    const s = await snapJson(['seal', await makeTree({ 'train.parquet': a }), '--as', 'ds@v1', '--key', keys.key, '--store', store, ...NESTED_RULE]);
    expect(s.code, s.stderr).toBe(0);
    const bDir = await makeTree({ 'train.parquet': b });
    const t = await snapJson(['seal', bDir, '--as', 'ds@v2', '--key', keys.key, '--store', store, ...NESTED_RULE]);
    expect(t.code, t.stderr).toBe(0);
    return { store, bDir, sealed: s.json };
  }

  it('signs each nested ClassLabel by its path under its column (.member, [] an element of a list)', async () => {
    const { store, sealed } = await nestedPair(nested(dictOfLists(['cat', 'dog'])), nested(dictOfLists(['cat', 'dog'])));
    const hex = sealed.records[0].schema;
    const obj = JSON.parse(await fsp.readFile(join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2)), 'utf8'));
    expect(obj.classNames).toEqual({});
    expect(obj.nestedClassNames).toEqual({ meta: { '.kind': ['x', 'y'] }, objects: { '.category[]': ['cat', 'dog'] } });
  });

  it('check fails (exit 1) naming objects.category[]: every record the same, every category swapped', async () => {
    const { store, bDir } = await nestedPair(nested(dictOfLists(['cat', 'dog'])), nested(dictOfLists(['dog', 'cat'])));
    const TEXT = 'objects.category[]: ClassLabel names [cat, dog] → [dog, cat]';
    const c = await snapJson(['check', 'ds@v2', '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(c.code, JSON.stringify(c.json.breaches)).toBe(1);
    const breach = c.json.breaches.find((x: Json) => x.rule === 'maxTypeChanges');
    expect(breach).toMatchObject({ set: 'train.parquet', value: 1, limit: 0 });
    expect(breach.message).toContain(TEXT);
    expect(schemaErrors('check', c.json)).toBe('');
    expect((await snapJson(['check', 'ds@v2', '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub, '--max-type-changes', '1'])).code).toBe(0);
    const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(d.json.records.sets[0].summary).toMatchObject({ unchanged: 3, modified: 0 });
    expect(d.json.records.sets[0].types).toEqual({ changes: [], classNames: [{ column: 'objects', path: '.category[]', a: ['cat', 'dog'], b: ['dog', 'cat'] }] });
    expect(schemaErrors('diff', d.json)).toBe('');
    expect((await snap(['diff', 'ds@v1', 'ds@v2', '--store', store])).stdout).toContain(TEXT);
    expect((await snapJson(['check', bDir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub])).code).toBe(1);
  });

  it('the older Sequence-of-a-dict form is read too (objects[].category), and a struct member (meta.kind)', async () => {
    const { store } = await nestedPair(nested(sequenceOfDict(['cat', 'dog'])), nested(sequenceOfDict(['dog', 'cat']), ['y', 'x']));
    const c = await snapJson(['check', 'ds@v2', '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(c.code).toBe(1);
    const breach = c.json.breaches.find((x: Json) => x.rule === 'maxTypeChanges');
    expect(breach.value).toBe(2);
    expect(breach.message).toContain('objects[].category: ClassLabel names [cat, dog] → [dog, cat]');
    expect(breach.message).toContain('meta.kind: ClassLabel names [x, y] → [y, x]');
  });

  it('an older column-types object (no nestedClassNames) against nested names: no false breach, "not recorded"', async () => {
    const { store } = await nestedPair(nested(dictOfLists(['cat', 'dog'])), nested(dictOfLists(['dog', 'cat'])));
    await signOlderColumnTypes(store, 'ds', 'v1', keys.key, { classNames: {}, columns: [{ name: 'id', type: 'INT64' }, { name: 'objects', type: 'STRING' }, { name: 'meta', type: 'STRING' }] });
    const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(d.json.error, d.stderr).toBeUndefined();
    expect(d.json.records.sets[0].types).toEqual({ changes: [], classNamesUnknown: { side: 'a', reason: 'ClassLabel names nested in structs and lists not recorded (sealed by an older snap)', nested: true } });
    expect(schemaErrors('diff', d.json)).toBe('');
    expect((await snap(['diff', 'ds@v1', 'ds@v2', '--store', store])).stdout).toContain('nested ClassLabel names not compared (side a: ClassLabel names nested in structs and lists not recorded (sealed by an older snap))');
    const c = await snapJson(['check', 'ds@v2', '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(c.code, JSON.stringify(c.json.breaches)).toBe(0);
  });

  it('features nested past the depth bound are RECORDS_LIMIT at seal (exit 3), not a crash', async () => {
    // 100,000 levels, a struct member in a List in a struct member …: written as text (JSON.stringify of it overflows the stack).
    const levels = 100_000;
    const deep = { json: '{"m": {"_type": "List", "feature": '.repeat(levels) + '{"names": ["a"], "_type": "ClassLabel"}' + '}}'.repeat(levels) };
    const store = await newStorePath();
    const r = await snapJson(['seal', await makeTree({ 'train.parquet': nested(deep) }), '--as', 'd@v1', '--key', keys.key, '--store', store, ...NESTED_RULE]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('RECORDS_LIMIT');
    expect(r.json.error.message).toContain('deeper than');
  });
});
