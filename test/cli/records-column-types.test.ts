/**
 * The column types of a Parquet record set are signed (docs/FORMAT.md §19.6 `schema`, §19.11): a
 * `label` column rewritten from INT64 to STRING with the same digits has the same fingerprints (its
 * values are the text "1" either way, §19.3), yet a loader's `df[df.label == 1]` now finds no row.
 * `diff`, `verify` and `check` name the change ("label: INT64 → STRING"), and `check` gates it
 * (`maxTypeChanges`, default 0).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { makeTree, snap, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { newStorePath, resignStatement, snapshotFolder } from '../helpers/store.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { MAX_SCHEMA_NAME_BYTES } from '../../src/records/column-types.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const keys = useKeyPair();
const RULE = ['--records', 'train.parquet key=id label=label'];

/** Three rows, id 1..3, feature x; the label 1, 0, 1 as INT64 or as STRING; `x` as INT32 or INT64. */
function table(label: 'INT64' | 'STRING', x: 'INT32' | 'INT64' = 'INT32'): Buffer {
  return Buffer.from(
    parquetWriteBuffer({
      columnData: [
        { name: 'id', data: BigInt64Array.from([1n, 2n, 3n]), type: 'INT64' },
        x === 'INT32' ? { name: 'x', data: Int32Array.from([5, 6, 7]), type: 'INT32' } : { name: 'x', data: BigInt64Array.from([5n, 6n, 7n]), type: 'INT64' },
        label === 'INT64' ? { name: 'label', data: BigInt64Array.from([1n, 0n, 1n]), type: 'INT64' } : { name: 'label', data: ['1', '0', '1'], type: 'STRING' },
      ],
    }),
  );
}

async function seal(data: string, store: string, as: string, extra: string[] = []): Promise<Json> {
  const r = await snapJson(['seal', data, '--as', as, '--key', keys.key, '--store', store, ...RULE, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return r.json;
}

/** A store with ds@v1 (label INT64) and ds@v2 (label STRING), and v2's folder. */
async function pair(extra: string[] = []): Promise<{ store: string; a: string; b: string; sealed: Json }> {
  const store = await newStorePath();
  const a = await makeTree({ 'train.parquet': table('INT64') });
  const b = await makeTree({ 'train.parquet': table('STRING') });
  const sealed = await seal(a, store, 'ds@v1', extra);
  await seal(b, store, 'ds@v2', extra);
  return { store, a, b, sealed };
}

const LABEL_CHANGE = { column: 'label', a: 'INT64', b: 'STRING' };

describe('a Parquet label column rewritten from INT64 to STRING, same digits', () => {
  it('is signed: the seal names a schema object of the set, whose columns and types are those Arrow reads', async () => {
    const { store, sealed } = await pair();
    const m = sealed.records[0];
    expect(m.schema).toMatch(/^[0-9a-f]{64}$/);
    const obj = JSON.parse(await fsp.readFile(join(store, 'objects', 'sha256', m.schema.slice(0, 2), m.schema.slice(2)), 'utf8'));
    expect(obj).toEqual({ classNames: {}, columns: [{ name: 'id', type: 'INT64' }, { name: 'x', type: 'INT32' }, { name: 'label', type: 'INT64' }], nestedClassNames: {}, categories: {} });
  });

  it('diff names the type change, in --json exactly and in human output', async () => {
    const { store } = await pair();
    const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(d.json.records.sets[0].summary).toMatchObject({ unchanged: 3, modified: 0, flipped: 0 });
    expect(d.json.records.sets[0].types).toEqual({ changes: [LABEL_CHANGE] });
    const h = await snap(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(h.stdout).toContain('label: INT64 → STRING');
  });

  it('diff of a snapshot with itself names no type change', async () => {
    const { store } = await pair();
    const d = await snapJson(['diff', 'ds@v1', 'ds@v1', '--store', store]);
    expect(d.code).toBe(0);
    expect(d.json.records.sets[0].types).toEqual({ changes: [] });
  });

  it('verify of the rewritten folder against A names the type change in problems[].records', async () => {
    const { store, b } = await pair();
    const v = await snapJson(['verify', b, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(v.code).toBe(1);
    expect(v.json.problems[0].records.types).toEqual({ changes: [LABEL_CHANGE] });
    const h = await snap(['verify', b, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(h.stdout).toContain('label: INT64 → STRING');
  });

  it('check fails (exit 1) with a maxTypeChanges breach naming the column, and passes with --max-type-changes 1', async () => {
    const { store } = await pair();
    const c = await snapJson(['check', 'ds@v2', '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(c.code).toBe(1);
    const breach = c.json.breaches.find((x: Json) => x.rule === 'maxTypeChanges');
    expect(breach).toMatchObject({ set: 'train.parquet', value: 1, limit: 0 });
    expect(breach.message).toContain('label: INT64 → STRING');
    expect(c.json.thresholds.maxTypeChanges).toBe(0);
    const h = await snap(['check', 'ds@v2', '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(h.stdout).toContain('label: INT64 → STRING');
    const loose = await snapJson(['check', 'ds@v2', '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub, '--max-type-changes', '1']);
    expect(loose.code, JSON.stringify(loose.json.breaches)).toBe(0);
    // A folder B (its types read from its bytes) is judged alike.
    const b = await makeTree({ 'train.parquet': table('STRING') });
    expect((await snapJson(['check', b, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub])).code).toBe(1);
  });

  it("A's snap.json check.maxTypeChanges lets one type change pass; B's own snap.json cannot loosen the default", async () => {
    const store = await newStorePath();
    const config = (check?: object) => JSON.stringify({ records: [{ pattern: 'train.parquet', key: ['id'], label: 'label' }], ...(check ? { check } : {}) });
    const seal1 = async (files: Record<string, string | Buffer>, as: string) => {
      const r = await snapJson(['seal', await makeTree(files), '--as', as, '--key', keys.key, '--store', store]);
      expect(r.code, r.stderr).toBe(0);
    };
    await seal1({ 'snap.json': config({ maxTypeChanges: 1 }), 'train.parquet': table('INT64') }, 'c@v1');
    await seal1({ 'snap.json': config({ maxTypeChanges: 1 }), 'train.parquet': table('STRING') }, 'c@v2');
    expect((await snapJson(['check', 'c@v2', '--against', 'c@v1', '--store', store, '--pubkey', keys.pub])).code).toBe(0);
    await seal1({ 'snap.json': config(), 'train.parquet': table('INT64') }, 'd@v1');
    await seal1({ 'snap.json': config({ maxTypeChanges: 5 }), 'train.parquet': table('STRING') }, 'd@v2');
    const c = await snapJson(['check', 'd@v2', '--against', 'd@v1', '--store', store, '--pubkey', keys.pub]);
    expect([c.code, c.json.thresholds.maxTypeChanges]).toEqual([1, 0]);
  });

  it('two --manifest-only snapshots are compared by their signed schema objects once the data is gone', async () => {
    const { store, a, b } = await pair(['--manifest-only']);
    await fsp.rm(a, { recursive: true });
    await fsp.rm(b, { recursive: true });
    const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(d.json.records.unavailable).toEqual([]);
    expect(d.json.records.sets[0].types).toEqual({ changes: [LABEL_CHANGE] });
    const c = await snapJson(['check', 'ds@v2', '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(c.json.breaches.map((x: Json) => x.rule)).toContain('maxTypeChanges');
  });

  it('the schema object travels like an index summary: export carries it, import keeps it, prune keeps it, fsck names it', async () => {
    const { store, b, sealed } = await pair();
    const hex = sealed.records[0].schema;
    const out = join(await tempDir('snap-types-export-'), 'ds@v1.snap.tar');
    expect((await snapJson(['export', 'ds@v1', '--store', store, '--out', out])).code).toBe(0);
    const other = await newStorePath();
    const imp = await snapJson(['import', out, '--store', other, '--pubkey', keys.pub]);
    expect(imp.code, imp.stderr).toBe(0);
    const d = await snapJson(['diff', 'ds@v1', b, '--store', other]);
    expect(d.json.records.sets[0].types).toEqual({ changes: [LABEL_CHANGE] });
    const object = join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2));
    expect((await snapJson(['prune', '--store', store, '--yes'])).code).toBe(0);
    await fsp.access(object);
    await fsp.rm(object, { force: true });
    const f = await snapJson(['fsck', '--store', store]);
    expect(f.code).toBe(1);
    expect(JSON.stringify(f.json)).toContain('column-types object of train.parquet');
  });

  it('a schema object replaced in the store fails closed: diff and check exit 1 with OBJECT_CORRUPT', async () => {
    const { store, sealed } = await pair(['--manifest-only']);
    const hex = sealed.records[0].schema;
    const path = join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2));
    await fsp.chmod(path, 0o644);
    await fsp.writeFile(path, canonicalJson({ columns: [{ name: 'id', type: 'INT64' }, { name: 'x', type: 'INT32' }, { name: 'label', type: 'STRING' }] }));
    for (const args of [
      ['diff', 'ds@v1', 'ds@v2', '--store', store],
      ['check', 'ds@v2', '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub],
    ]) {
      const r = await snapJson(args);
      expect(r.code, args[0]).toBe(1);
      expect(r.json.error?.code ?? r.json.failure?.code, args[0]).toBe('OBJECT_CORRUPT');
      expect(r.stderr + JSON.stringify(r.json)).toContain('schema');
    }
  });

  it("a schema object deleted from the store does not hide a type change: check fails closed once the data is gone, and reads A's types from A's stored copy when it is there", async () => {
    // A store writer (no key) removes A's signed column-types object, hoping the types go uncompared.
    for (const extra of [['--manifest-only'], []]) {
      const { store, a, b, sealed } = await pair(extra);
      const hex = sealed.records[0].schema;
      await fsp.rm(join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2)));
      if (extra.length > 0) {
        await fsp.rm(a, { recursive: true });
        await fsp.rm(b, { recursive: true });
      }
      const c = await snapJson(['check', 'ds@v2', '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
      expect(c.code, `${extra.join(' ')}: ${JSON.stringify(c.json.breaches)}`).toBe(1);
      if (extra.length > 0) {
        const breach = c.json.breaches.find((x: Json) => x.rule === 'unavailable');
        expect(breach, JSON.stringify(c.json.breaches)).toMatchObject({ set: 'train.parquet' });
        expect(breach.message).toContain('column-types object');
        const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
        expect(d.json.records.sets[0].types.unknown).toMatchObject({ side: 'a', missing: true });
      } else {
        expect(c.json.breaches.find((x: Json) => x.rule === 'maxTypeChanges')?.message).toContain('label: INT64 → STRING');
      }
    }
  });

  it('an older statement without types: no false breach, and "types not recorded (sealed by an older snap)"', async () => {
    const { store } = await pair(['--manifest-only']);
    await resignStatement(store, 'ds', 'v1', keys.key, (statement) => {
      delete statement.predicate.records[0].schema;
    });
    const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(d.json.records.sets[0].types).toEqual({ changes: [], unknown: { side: 'a', reason: 'types not recorded (sealed by an older snap)' } });
    const h = await snap(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(h.stdout).toContain('types not recorded (sealed by an older snap)');
    const c = await snapJson(['check', 'ds@v2', '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(c.code, JSON.stringify(c.json.breaches)).toBe(0);
  });
});

describe('an older statement without types whose Parquet file is in the store', () => {
  it("takes A's types from its stored copy (the bytes its manifest signs), and names the change", async () => {
    const { store, b } = await pair();
    await resignStatement(store, 'ds', 'v1', keys.key, (statement) => {
      delete statement.predicate.records[0].schema;
    });
    const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(d.json.records.sets[0].types).toEqual({ changes: [LABEL_CHANGE] });
    const c = await snapJson(['check', 'ds@v2', '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(c.json.breaches.map((x: Json) => x.rule)).toContain('maxTypeChanges');
    const v = await snapJson(['verify', b, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(v.json.problems[0].records.types).toEqual({ changes: [LABEL_CHANGE] });
    // A stored copy that is not the signed bytes is not believed: the store is damaged.
    const manifest = (await fsp.readFile(join(snapshotFolder(store, 'ds', 'v1'), 'manifest.jsonl'), 'utf8')).split('\n').find((l) => l.includes('train.parquet')) as string;
    const hex = JSON.parse(manifest).sha256 as string;
    const object = join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2));
    await fsp.chmod(object, 0o644);
    await fsp.writeFile(object, table('STRING'));
    const bad = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect([bad.code, bad.json.error?.code]).toEqual([1, 'OBJECT_CORRUPT']);
  });
});

describe('a Parquet feature column widened from INT32 to INT64', () => {
  it('modifies every record, and diff says why', async () => {
    const store = await newStorePath();
    await seal(await makeTree({ 'train.parquet': table('INT64', 'INT32') }), store, 'w@v1');
    await seal(await makeTree({ 'train.parquet': table('INT64', 'INT64') }), store, 'w@v2');
    const d = await snapJson(['diff', 'w@v1', 'w@v2', '--store', store]);
    expect(d.json.records.sets[0].summary).toMatchObject({ modified: 3, unchanged: 0 });
    expect(d.json.records.sets[0].types).toEqual({ changes: [{ column: 'x', a: 'INT32', b: 'INT64' }] });
    const h = await snap(['diff', 'w@v1', 'w@v2', '--store', store]);
    expect(h.stdout).toContain('x: INT32 → INT64');
  });
});

describe("a B whose schema is over the bounds of §19.11 (types not read) while A's types are known", () => {
  /** id and the label (INT64 or STRING); `long`: with a column whose name is over MAX_SCHEMA_NAME_BYTES (so no schema object). */
  function table2(label: 'INT64' | 'STRING', long: boolean): Buffer {
    return Buffer.from(
      parquetWriteBuffer({
        columnData: [
          { name: 'id', data: BigInt64Array.from([1n, 2n, 3n]), type: 'INT64' },
          ...(long ? [{ name: 'z'.repeat(MAX_SCHEMA_NAME_BYTES + 1), data: BigInt64Array.from([0n, 0n, 0n]), type: 'INT64' as const }] : []),
          label === 'INT64' ? { name: 'label', data: BigInt64Array.from([1n, 0n, 1n]), type: 'INT64' } : { name: 'label', data: ['1', '0', '1'], type: 'STRING' },
        ],
      }),
    );
  }

  it('fails check closed (rule unavailable) where modifications are allowed: a column named past the bound no longer hides an INT64 → STRING label', async () => {
    // Every record is modified (a new column), which --max-modified 3 allows; B's types were "not
    // recorded", and the label's retyping passed with exit 0.
    const store = await newStorePath();
    await seal(await makeTree({ 'train.parquet': table2('INT64', false) }), store, 'ds@v1');
    const b = await makeTree({ 'train.parquet': table2('STRING', true) });
    const c = await snapJson(['check', b, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub, '--max-modified', '3', '--max-conflicts', '1']);
    expect(c.code, JSON.stringify(c.json.breaches)).toBe(1);
    expect(c.json.records.sets[0].types.unknown).toMatchObject({ side: 'b', overBounds: true });
    expect(c.json.breaches.map((x: Json) => x.rule)).toEqual(['unavailable']);
    expect(c.json.breaches[0].message).toMatch(/column types.*over the bounds/);
  });

  it('an over-bounds file against itself (no types on either side) breaches nothing', async () => {
    const store = await newStorePath();
    const dir = await makeTree({ 'train.parquet': table2('INT64', true) });
    await seal(dir, store, 'ds@v1');
    const c = await snapJson(['check', dir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(c.code, JSON.stringify(c.json.breaches)).toBe(0);
  });
});
