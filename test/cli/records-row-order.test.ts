/**
 * Rows reordered (docs/FORMAT.md §19.8, "order"): the same records in another order change no
 * record, yet code that splits a file by position (`train[:N]`) reads other records, and the order
 * of examples alone can poison training (data ordering attacks). `diff`, `verify` and `check` say how
 * many records moved out of A's order (`order: { common, moved }`); `check` gates it with
 * `maxReordered`, which is not gated by default.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { makeTree, snap, snapJson, useKeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const keys = useKeyPair();
const N = 200;
type Rec = { id: number; text: string; label: string };
const RECORDS: Rec[] = Array.from({ length: N }, (_, i) => ({ id: i + 1, text: `text number ${i + 1}`, label: i % 3 ? 'ham' : 'spam' }));
/** The last 50 records moved to the front: 50 of 200 records moved. */
const rotated = (r: Rec[]) => [...r.slice(N - 50), ...r.slice(0, N - 50)];
const csv = (r: Rec[]) => ['id,text,label', ...r.map((x) => `${x.id},${x.text},${x.label}`)].join('\n') + '\n';
const jsonl = (r: Rec[]) => r.map((x) => JSON.stringify({ text: x.text, label: x.label })).join('\n') + '\n';
const parquet = (r: Rec[]) => Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'id', data: r.map((x) => x.id), type: 'INT32' }, { name: 'text', data: r.map((x) => x.text), type: 'STRING' }, { name: 'label', data: r.map((x) => x.label), type: 'STRING' }] }));

const CONFIG = JSON.stringify({
  records: [
    { pattern: 't.csv', key: ['id'], label: 'label' },
    { pattern: 'f.jsonl', label: 'label' },
    { pattern: 'p.parquet', key: ['id'], label: 'label' },
  ],
});
const tree = (t: Rec[], f: Rec[], p: Rec[], config = CONFIG) => ({ 'snap.json': config, 't.csv': csv(t), 'f.jsonl': jsonl(f), 'p.parquet': parquet(p) });

async function sealedA(extra: string[] = []): Promise<{ store: string; data: string }> {
  const store = await newStorePath();
  const data = await makeTree(tree(RECORDS, RECORDS, RECORDS));
  const s = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store, ...extra]);
  expect(s.code, s.stderr).toBe(0);
  return { store, data };
}
const bySet = (records: Json) => Object.fromEntries(records.sets.map((d: Json) => [d.name, d]));

describe('rows only reordered', () => {
  it('diff names no record change and says how many records moved, for CSV (key), JSONL (features) and Parquet', async () => {
    const { store } = await sealedA();
    const b = await makeTree(tree(rotated(RECORDS), rotated(RECORDS), rotated(RECORDS)));
    const d = await snapJson(['diff', 'ds@v1', b, '--store', store]);
    const sets = bySet(d.json.records);
    for (const name of ['t.csv', 'f.jsonl', 'p.parquet']) {
      expect(sets[name].summary, name).toMatchObject({ unchanged: N, added: 0, removed: 0, modified: 0, flipped: 0 });
      expect(sets[name].order, name).toEqual({ common: N, moved: 50 });
    }
    expect(d.json.records.order).toEqual({ common: 3 * N, moved: 150 });
    const human = await snap(['diff', 'ds@v1', b, '--store', store]);
    expect(human.stdout).toMatch(/t\.csv \(csv, key id, label label\): 200 → 200 records: no record changed\n +rows reordered: 50 of 200 records moved \(order of the records on both sides\)/);
    expect(human.stdout).toMatch(/f\.jsonl .*\n +rows reordered: 50 of 200 records moved/);
    expect(human.stdout).toMatch(/p\.parquet .*\n +rows reordered: 50 of 200 records moved/);
  });

  it('the incident report (HTML and Markdown) lists a set whose rows were only reordered, with the records moved', async () => {
    const { store } = await sealedA();
    const b = await makeTree(tree(rotated(RECORDS), RECORDS, RECORDS));
    const out = await makeTree({});
    for (const name of ['r.md', 'r.html']) {
      const r = await snap(['report', 'ds@v1', b, '-o', join(out, name), '--store', store, '--pubkey', keys.pub]);
      expect(r.code, r.stderr).toBeLessThanOrEqual(1);
      // Markdown escapes a colon that could start a link (`\:`), which renders as `:`.
      const text = (await readFile(join(out, name), 'utf8')).replace(/\\:/g, ':');
      expect(text, name).toContain('rows reordered: 50 of 200 records moved (order of the records on both sides)');
      expect(text, name).toContain('2 record set(s) unchanged');
      // The one-line verdict says it too: its record counts alone would read as nothing done.
      expect(text, name).toContain('records: 0 added, 0 removed, 0 flipped, 0 modified, 50 moved out of order');
    }
  });

  it('diff says nothing of order when it was kept', async () => {
    const { store, data } = await sealedA();
    const d = await snapJson(['diff', 'ds@v1', data, '--store', store]);
    expect(d.json.records.order).toEqual({ common: 3 * N, moved: 0 });
    const b = await makeTree(tree(RECORDS.slice(1), RECORDS, RECORDS)); // a record removed: rows renumbered, order kept
    const e = await snapJson(['diff', 'ds@v1', b, '--store', store]);
    expect(bySet(e.json.records)['t.csv'].order).toEqual({ common: N - 1, moved: 0 });
    const human = await snap(['diff', 'ds@v1', b, '--store', store]);
    expect(human.stdout).not.toContain('rows reordered');
  });

  it('check passes by default and reports the records moved; --max-reordered 0, or maxReordered in snap.json, fails it naming the rule', async () => {
    const { store } = await sealedA();
    const b = await makeTree(tree(rotated(RECORDS), RECORDS, RECORDS));
    const c = await snapJson(['check', b, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(c.code, c.stdout).toBe(0);
    expect(bySet(c.json.records)['t.csv'].order).toEqual({ common: N, moved: 50 });
    const ch = await snap(['check', b, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(ch.stdout).toContain('rows reordered: 50 of 200 records moved');
    // Every set's order is reported by check, moved or not.
    expect(ch.stdout).toMatch(/f\.jsonl .*\n +rows reordered: 0 of 200 records moved/);
    const strict = await snapJson(['check', b, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub, '--max-reordered', '0']);
    expect(strict.code).toBe(1);
    expect(strict.json.breaches).toEqual([{ set: 't.csv', rule: 'maxReordered', value: 50, limit: 0, message: 'records moved out of their order (rows reordered): 50 of 200 (at most 0)' }]);
    expect(strict.json.thresholds.maxReordered).toBe(0);
    const sh = await snap(['check', b, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub, '--max-reordered', '50']);
    expect(sh.code).toBe(0);
    const bad = await snap(['check', b, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub, '--max-reordered', '-1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--max-reordered must be a whole number of at least 0');
    const gated = JSON.stringify({ ...JSON.parse(CONFIG), check: { maxReordered: 10 } });
    const bg = await makeTree(tree(rotated(RECORDS), RECORDS, RECORDS, gated));
    const cg = await snap(['check', bg, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub, '--max-unindexed-files', '1']);
    expect(cg.code).toBe(1);
    expect(cg.stdout).toContain('t.csv: records moved out of their order (rows reordered): 50 of 200 (at most 10)  [maxReordered]');
  });

  it('a flip and a reorder together: the flip named, and the records moved', async () => {
    const { store } = await sealedA();
    const b = await makeTree(tree(rotated(RECORDS.map((r) => (r.id === 7 ? { ...r, label: 'ham' } : r))), RECORDS, RECORDS));
    const d = await snapJson(['diff', 'ds@v1', b, '--store', store]);
    const t = bySet(d.json.records)['t.csv'];
    expect(t.summary).toMatchObject({ unchanged: N - 1, flipped: 1, modified: 0, added: 0, removed: 0 });
    expect(t.order).toEqual({ common: N, moved: 50 });
    const human = await snap(['diff', 'ds@v1', b, '--store', store]);
    expect(human.stdout).toMatch(/t\.csv .*: 1 label flipped \(spam → ham\)\n +rows reordered: 50 of 200 records moved/);
  });

  it('verify names the records moved of a modified file', async () => {
    const { store, data } = await sealedA();
    await writeFile(`${data}/t.csv`, csv(rotated(RECORDS)));
    const v = await snapJson(['verify', data, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(v.code).toBe(1);
    const p = v.json.problems.find((x: Json) => x.path === 't.csv');
    expect(p.records.order).toEqual({ common: N, moved: 50 });
    const vh = await snap(['verify', data, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(vh.stdout).toMatch(/records: no record changed\n +rows reordered: 50 of 200 records moved/);
  });

  it('two snapshots sealed --manifest-only (indexes only, data removed) give the same order', async () => {
    const { store, data } = await sealedA(['--manifest-only']);
    const b = await makeTree(tree(rotated(RECORDS.map((r) => (r.id === 7 ? { ...r, label: 'ham' } : r))), rotated(RECORDS), RECORDS));
    const s = await snapJson(['seal', b, '--as', 'ds@v2', '--key', keys.key, '--store', store, '--manifest-only']);
    expect(s.code, s.stderr).toBe(0);
    await rm(data, { recursive: true });
    await rm(b, { recursive: true });
    const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store, '--pubkey', keys.pub]);
    expect(d.json.records.unavailable).toEqual([]);
    const sets = bySet(d.json.records);
    expect(sets['t.csv'].summary).toMatchObject({ flipped: 1, unchanged: N - 1 });
    expect(sets['t.csv'].order).toEqual({ common: N, moved: 50 });
    expect(sets['f.jsonl'].order).toEqual({ common: N, moved: 50 });
    expect(sets['p.parquet'].order).toEqual({ common: N, moved: 0 });
    const c = await snapJson(['check', 'ds@v2', '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub, '--max-label-changes', '1', '--max-reordered', '0']);
    expect(c.code).toBe(1);
    expect(c.json.breaches.map((x: Json) => [x.set, x.rule, x.value])).toEqual([['f.jsonl', 'maxReordered', 50], ['t.csv', 'maxReordered', 50]]);
  });
});

/**
 * Between two sealed snapshots the record diff goes through the index summaries and reads only the
 * chunks that differ (FORMAT §19.10). Records added or removed renumber the rows after them, and the
 * exact order would then read both whole indexes: by default it is not measured, and said so.
 */
describe('rows between two sealed snapshots', () => {
  const M = 2000;
  const MANY: Rec[] = Array.from({ length: M }, (_, i) => ({ id: i + 1, text: `text number ${i + 1}`, label: i % 3 ? 'ham' : 'spam' }));
  const CSV_ONLY = JSON.stringify({ records: [{ pattern: 't.csv', key: ['id'], label: 'label' }] });
  /** Record 1 removed, records 11 and 12 swapped, one record appended: 1 of 1,999 common records moved. */
  const changed = (): Rec[] => [...MANY.slice(1, 10), MANY[11] as Rec, MANY[10] as Rec, ...MANY.slice(12), { id: M + 1, text: 'new', label: 'ham' }];
  const NOT_MEASURED = { common: M - 1, moved: null, notMeasured: 'records added or removed renumber the rows' };

  async function sealedPair(b: Rec[]): Promise<string> {
    const store = await newStorePath();
    for (const [rows, as] of [[MANY, 'ds@v1'], [b, 'ds@v2']] as const) {
      const data = await makeTree({ 'snap.json': CSV_ONLY, 't.csv': csv(rows) });
      const s = await snapJson(['seal', data, '--as', as, '--key', keys.key, '--store', store, '--manifest-only']);
      expect(s.code, s.stderr).toBe(0);
    }
    return store;
  }

  it('with records added or removed, diff says the order was not measured (never a silent 0), and diff --order measures it', async () => {
    const store = await sealedPair(changed());
    const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    const t = bySet(d.json.records)['t.csv'];
    expect(t.summary).toMatchObject({ added: 1, removed: 1, unchanged: M - 1 });
    expect(t.order).toEqual(NOT_MEASURED);
    expect(d.json.records.order).toEqual(NOT_MEASURED);
    const human = await snap(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(human.stdout).toMatch(/t\.csv .*\n +row order not measured \(records added or removed renumber the rows; --order measures it\)/);
    const o = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store, '--order']);
    expect(bySet(o.json.records)['t.csv'].order).toEqual({ common: M - 1, moved: 1 });
    expect(o.json.records.order).toEqual({ common: M - 1, moved: 1 });
    const oh = await snap(['diff', 'ds@v1', 'ds@v2', '--store', store, '--order']);
    expect(oh.stdout).toMatch(/t\.csv .*\n +rows reordered: 1 of 1,999 records moved/);
  });

  it('rows only reordered (nothing added or removed: the data-ordering case) are measured by default', async () => {
    const store = await sealedPair([...MANY.slice(M - 50), ...MANY.slice(0, M - 50)]);
    const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(bySet(d.json.records)['t.csv'].order).toEqual({ common: M, moved: 50 });
  });

  it('check does not measure it by default and says so; with --max-reordered 0 it measures and fails', async () => {
    const store = await sealedPair(changed());
    const base = ['check', 'ds@v2', '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub, '--max-removed', '1'];
    const c = await snapJson(base);
    expect(c.code, c.stdout).toBe(0);
    expect(bySet(c.json.records)['t.csv'].order).toEqual(NOT_MEASURED);
    const ch = await snap(base);
    expect(ch.stdout).toMatch(/t\.csv .*\n +row order not measured \(records added or removed renumber the rows; --max-reordered measures it\)/);
    const strict = await snapJson([...base, '--max-reordered', '0']);
    expect(strict.code).toBe(1);
    expect(bySet(strict.json.records)['t.csv'].order).toEqual({ common: M - 1, moved: 1 });
    expect(strict.json.breaches).toEqual([{ set: 't.csv', rule: 'maxReordered', value: 1, limit: 0, message: 'records moved out of their order (rows reordered): 1 of 1999 (at most 0)' }]);
  });

  it('the incident report measures it (an incident is read whole)', async () => {
    const store = await sealedPair(changed());
    const out = await makeTree({});
    const r = await snap(['report', 'ds@v1', 'ds@v2', '-o', join(out, 'r.md'), '--store', store, '--pubkey', keys.pub]);
    expect(r.code, r.stderr).toBeLessThanOrEqual(1);
    expect((await readFile(join(out, 'r.md'), 'utf8')).replace(/\\:/g, ':')).toContain('rows reordered: 1 of 1,999 records moved');
  });
});
