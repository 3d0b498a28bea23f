/**
 * The order of a table's columns is signed and compared (docs/FORMAT.md §19.11): training code
 * often reads by position (`X = df.iloc[:, :-1]; y = df.iloc[:, -1]`), so a B whose columns were
 * reordered — a feature moved last, where such a loader takes the label — has every record the same
 * by name (§19.3 sorts a record's members) and yet trains on a feature as the label. `diff`, `verify`
 * and `check` name it ("column order: id, x, label → id, label, x"), and `check` counts it toward
 * `maxTypeChanges` (default 0), for CSV, TSV, Parquet and JSONL sets alike (a JSONL set's columns
 * are its members in order of first appearance across lines, as pandas.read_json and datasets order them).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { makeTree, snap, snapJson, useKeyPair } from '../helpers/tree.js';
import { newStorePath, resignStatement } from '../helpers/store.js';
import { schemaErrors } from '../helpers/json-schemas.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const keys = useKeyPair();

/** The same three records (id, feature x, label), with the columns in `order`. */
function csv(order: string[]): string {
  const rows = [{ id: '1', x: '5', label: '1', extra: '0' }, { id: '2', x: '6', label: '0', extra: '1' }, { id: '3', x: '7', label: '1', extra: '1' }] as Record<string, string>[];
  return [order.join(','), ...rows.map((r) => order.map((c) => r[c]).join(','))].join('\n') + '\n';
}

function parquet(order: string[]): Buffer {
  const cols: Record<string, { name: string; data: BigInt64Array | Float64Array; type: 'INT64' | 'DOUBLE' }> = {
    id: { name: 'id', data: BigInt64Array.from([1n, 2n, 3n]), type: 'INT64' },
    x: { name: 'x', data: Float64Array.from([0.5, 1.5, 2.5]), type: 'DOUBLE' },
    label: { name: 'label', data: BigInt64Array.from([1n, 0n, 1n]), type: 'INT64' },
    extra: { name: 'extra', data: BigInt64Array.from([0n, 1n, 1n]), type: 'INT64' },
  };
  return Buffer.from(parquetWriteBuffer({ columnData: order.map((c) => cols[c] as (typeof cols)[string]) }));
}

const A = ['id', 'x', 'label'];
const B = ['id', 'label', 'x'];
const ORDER = { a: A, b: B };
const TEXT = 'column order: id, x, label → id, label, x';

/** The same three records as JSON Lines, each line's members in `order` (pandas.read_json and datasets order columns by first appearance). */
function jsonl(order: string[]): string {
  const rows = [{ id: 1, x: 5, label: 1, extra: 0 }, { id: 2, x: 6, label: 0, extra: 1 }, { id: 3, x: 7, label: 1, extra: 1 }] as Record<string, number>[];
  return rows.map((r) => `{${order.map((c) => `${JSON.stringify(c)}:${r[c]}`).join(',')}}\n`).join('');
}

type Format = 'csv' | 'tsv' | 'parquet' | 'jsonl';
const FILE: Record<Format, string> = { csv: 't.csv', tsv: 't.tsv', parquet: 't.parquet', jsonl: 't.jsonl' };
const content = (f: Format, order: string[]) => (f === 'parquet' ? parquet(order) : f === 'jsonl' ? jsonl(order) : f === 'tsv' ? csv(order).replaceAll(',', '\t') : csv(order));

async function seal(dir: string, store: string, as: string, f: Format, extra: string[] = []): Promise<Json> {
  const r = await snapJson(['seal', dir, '--as', as, '--key', keys.key, '--store', store, '--records', `${FILE[f]} key=id label=label`, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return r.json;
}

/** ds@v1 with the columns in A's order and ds@v2 in `bOrder`, and their folders. */
async function pair(f: Format, bOrder = B, extra: string[] = []): Promise<{ store: string; a: string; b: string; sealed: Json }> {
  const store = await newStorePath();
  const a = await makeTree({ [FILE[f]]: content(f, A) });
  const b = await makeTree({ [FILE[f]]: content(f, bOrder) });
  const sealed = await seal(a, store, 'ds@v1', f, extra);
  await seal(b, store, 'ds@v2', f, extra);
  return { store, a, b, sealed };
}

const check = (store: string, b = 'ds@v2', extra: string[] = []) => snapJson(['check', b, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub, ...extra]);

describe.each(['csv', 'tsv', 'parquet', 'jsonl'] as Format[])('%s: a label column moved where a positional loader reads a feature', (f) => {
  it('check fails (exit 1) with a maxTypeChanges breach naming the new order; diff and verify name it, in --json exactly', async () => {
    const { store, b } = await pair(f);
    const c = await check(store);
    expect(c.code, JSON.stringify(c.json.breaches)).toBe(1);
    const breach = c.json.breaches.find((x: Json) => x.rule === 'maxTypeChanges');
    expect(breach).toMatchObject({ set: FILE[f], value: 1, limit: 0 });
    expect(breach.message).toContain(TEXT);
    expect((await snap(['check', 'ds@v2', '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub])).stdout).toContain(TEXT);
    expect((await check(store, 'ds@v2', ['--max-type-changes', '1'])).code).toBe(0);
    const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(d.json.records.sets[0].summary).toMatchObject({ unchanged: 3, modified: 0 });
    expect(d.json.records.sets[0].types).toEqual({ changes: [], order: ORDER });
    expect((await snap(['diff', 'ds@v1', 'ds@v2', '--store', store])).stdout).toContain(TEXT);
    const v = await snapJson(['verify', b, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(v.json.problems[0].records.types).toEqual({ changes: [], order: ORDER });
    // A folder B (its order read from its bytes) is judged alike.
    expect((await check(store, b)).code).toBe(1);
  });

  it('the same order passes (exit 0), and a snapshot diffed with itself names no order change', async () => {
    const { store } = await pair(f, A);
    const c = await check(store);
    expect(c.code, JSON.stringify(c.json.breaches)).toBe(0);
    const d = await snapJson(['diff', 'ds@v1', 'ds@v1', '--store', store]);
    expect(d.code).toBe(0);
    expect(d.json.records.sets[0].types?.order).toBeUndefined();
    expect((await snap(['diff', 'ds@v1', 'ds@v1', '--store', store])).stdout).not.toContain('column order');
  });

  it('two --manifest-only snapshots are compared by their signed objects once the data is gone', async () => {
    const { store, a, b } = await pair(f, B, ['--manifest-only']);
    await fsp.rm(a, { recursive: true });
    await fsp.rm(b, { recursive: true });
    const c = await check(store);
    expect(c.code, JSON.stringify(c.json.breaches)).toBe(1);
    expect(c.json.breaches.find((x: Json) => x.rule === 'maxTypeChanges')?.message).toContain(TEXT);
  });

  it("a signed object removed from the store with the data gone fails closed (rule unavailable)", async () => {
    const { store, a, b, sealed } = await pair(f, B, ['--manifest-only']);
    const hex = sealed.records[0].schema as string;
    expect(hex).toMatch(/^[0-9a-f]{64}$/);
    await fsp.rm(join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2)));
    await fsp.rm(a, { recursive: true });
    await fsp.rm(b, { recursive: true });
    const c = await check(store);
    expect(c.code).toBe(1);
    expect(c.json.breaches.find((x: Json) => x.rule === 'unavailable'), JSON.stringify(c.json.breaches)).toMatchObject({ set: FILE[f] });
  });

  it("a signed object removed from the store with the data still there is read from A's stored copy, and the reorder named", async () => {
    const { store, sealed } = await pair(f);
    const hex = sealed.records[0].schema as string;
    await fsp.rm(join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2)));
    const c = await check(store);
    expect(c.code).toBe(1);
    expect(c.json.breaches.find((x: Json) => x.rule === 'maxTypeChanges')?.message, JSON.stringify(c.json.breaches)).toContain(TEXT);
  });

  it('an older statement that signs no order: no false breach', async () => {
    const { store } = await pair(f, B, ['--manifest-only']);
    await resignStatement(store, 'ds', 'v1', keys.key, (statement) => {
      delete statement.predicate.records[0].schema;
    });
    const c = await check(store);
    expect(c.code, JSON.stringify(c.json.breaches)).toBe(0);
    const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(d.json.records.sets[0].types.unknown).toMatchObject({ side: 'a' });
    expect(d.json.records.sets[0].types.order).toBeUndefined();
    if (f !== 'parquet') expect((await snap(['diff', 'ds@v1', 'ds@v2', '--store', store])).stdout).toContain('column order not recorded (sealed by an older snap)');
  });
});

describe('JSONL column objects', () => {
  it('sign the members in order of first appearance across lines, as pandas.read_json(lines=True), a DataFrame of json.loads and datasets order the columns, each typed JSON; a name like 2, which JSON.parse lists first, in its place in the text', async () => {
    const store = await newStorePath();
    const dir = await makeTree({ 't.jsonl': '{"id":1,"x":5}\n{"label":1,"id":2,"x":6}\n{"b":0,"2":0,"a":0,"id":3,"x":7,"label":0}\n' });
    const m = (await snapJson(['seal', dir, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--records', 't.jsonl key=id'])).json.records[0];
    const obj = JSON.parse(await fsp.readFile(join(store, 'objects', 'sha256', m.schema.slice(0, 2), m.schema.slice(2)), 'utf8'));
    expect(obj).toEqual({ classNames: {}, columns: ['id', 'x', 'label', 'b', '2', 'a'].map((name) => ({ name, type: 'JSON' })) });
  });

  it('a record added with a member no line had (pandas appends it as the last column, where df.iloc[:, -1] took the label, NaN on every other row) is a column added: check fails (exit 1); it passed, "1 added"', async () => {
    const store = await newStorePath();
    const body = jsonl(A);
    await seal(await makeTree({ 't.jsonl': body }), store, 'ds@v1', 'jsonl');
    const b = await makeTree({ 't.jsonl': body + '{"id":4,"x":8,"label":0,"note":"z"}\n' });
    const c = await check(store, b);
    expect(c.code, JSON.stringify(c.json.breaches)).toBe(1);
    expect(c.json.breaches.find((x: Json) => x.rule === 'maxTypeChanges')?.message).toContain('columns added: note');
  });
});

describe('CSV column objects', () => {
  it('sign the header in order, each column typed STRING, in the same object form as a Parquet set', async () => {
    const { store, sealed } = await pair('csv');
    const m = sealed.records[0];
    const obj = JSON.parse(await fsp.readFile(join(store, 'objects', 'sha256', m.schema.slice(0, 2), m.schema.slice(2)), 'utf8'));
    expect(obj).toEqual({ classNames: {}, columns: A.map((name) => ({ name, type: 'STRING' })) });
  });

  it('a column name with control characters is escaped in human output and exact in --json', async () => {
    const store = await newStorePath();
    const weird = 'x\u001b[31m';
    const rows = (order: string[]) => [order.join(','), ...[['1', '5', '1'], ['2', '6', '0']].map((r) => order.map((c) => r[['id', weird, 'label'].indexOf(c)]).join(','))].join('\n') + '\n';
    await seal(await makeTree({ 't.csv': rows(['id', weird, 'label']) }), store, 'ds@v1', 'csv');
    await seal(await makeTree({ 't.csv': rows(['id', 'label', weird]) }), store, 'ds@v2', 'csv');
    const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(d.json.records.sets[0].types.order).toEqual({ a: ['id', weird, 'label'], b: ['id', 'label', weird] });
    const h = await snap(['check', 'ds@v2', '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(h.code).toBe(1);
    expect(h.stdout).not.toContain('\u001b');
    expect(h.stdout).toContain('column order: id, x\\x1b[31m, label → id, label, x\\x1b[31m');
  });
});

describe.each(['csv', 'tsv', 'parquet', 'jsonl'] as Format[])('%s: a column added or removed, which a positional loader reads in place of another', (f) => {
  // Every record is modified (a member more or fewer): a review that lets those through must still see the columns change.
  const MODIFIED = ['--max-modified', '3'];

  it('a column added counts one toward maxTypeChanges (exit 1) even when --max-modified lets the records through; diff and verify name it', async () => {
    const { store, b } = await pair(f, ['id', 'x', 'label', 'extra']);
    const c = await check(store, 'ds@v2', MODIFIED);
    expect(c.code, JSON.stringify(c.json.breaches)).toBe(1);
    const breach = c.json.breaches.find((x: Json) => x.rule === 'maxTypeChanges');
    expect(breach).toMatchObject({ set: FILE[f], value: 1, limit: 0 });
    expect(breach.message).toContain('columns added: extra');
    expect(c.json.breaches.map((x: Json) => x.rule)).toEqual(['maxTypeChanges']);
    expect((await snap(['check', 'ds@v2', '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub, ...MODIFIED])).stdout).toContain('columns added: extra');
    expect((await check(store, 'ds@v2', [...MODIFIED, '--max-type-changes', '1'])).code).toBe(0);
    const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(d.json.records.sets[0].summary).toMatchObject({ modified: 3 });
    expect(d.json.records.sets[0].types).toEqual({ changes: [], columns: { added: ['extra'], removed: [] } });
    expect(schemaErrors('diff', d.json)).toBe('');
    expect((await snap(['diff', 'ds@v1', 'ds@v2', '--store', store])).stdout).toContain('columns added: extra');
    const v = await snapJson(['verify', b, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(v.json.problems[0].records.types).toEqual({ changes: [], columns: { added: ['extra'], removed: [] } });
    expect((await check(store, b, MODIFIED)).code).toBe(1);
  });

  it('a column removed counts one, beside a reorder of the rest (2); diffed the other way an added column is removed', async () => {
    const { store } = await pair(f, ['label', 'id']);
    const c = await check(store, 'ds@v2', MODIFIED);
    expect(c.code).toBe(1);
    const breach = c.json.breaches.find((x: Json) => x.rule === 'maxTypeChanges');
    expect(breach).toMatchObject({ value: 2, limit: 0 });
    expect(breach.message).toContain('column order: id, label → label, id');
    expect(breach.message).toContain('columns removed: x');
    expect(schemaErrors('check', c.json)).toBe('');
    // (x removed leaves the records no features: they conflict, a breach of its own.)
    expect((await check(store, 'ds@v2', [...MODIFIED, '--max-conflicts', '1', '--max-type-changes', '2'])).code).toBe(0);
    const { store: s2 } = await pair(f, ['id', 'x', 'label', 'extra']);
    const d = await snapJson(['diff', 'ds@v2', 'ds@v1', '--store', s2]);
    expect(d.json.records.sets[0].types.columns).toEqual({ added: [], removed: ['extra'] });
    expect((await snap(['diff', 'ds@v2', 'ds@v1', '--store', s2])).stdout).toContain('columns removed: extra');
  });

  it('an older statement that signs no columns: no breach for it (the records still count)', async () => {
    const { store } = await pair(f, ['id', 'x', 'label', 'extra'], ['--manifest-only']);
    await resignStatement(store, 'ds', 'v1', keys.key, (statement) => {
      delete statement.predicate.records[0].schema;
    });
    const c = await check(store, 'ds@v2', MODIFIED);
    expect(c.code, JSON.stringify(c.json.breaches)).toBe(0);
  });
});
