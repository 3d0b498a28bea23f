/**
 * A seal that fails after its data's objects were moved into `objects/` (malformed records, a
 * snapshot folder that cannot be committed) takes them out again: the store's objects are those it
 * held before the seal, never fewer (an object it held already, deduplicated against, stays), and
 * fsck passes. A seal that succeeds keeps every object it put there.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, snapJson, useKeyPair } from '../helpers/tree.js';
import { newStorePath, objectFiles, sha256 } from '../helpers/store.js';

const keys = useKeyPair('rollback');

/** The digests of every object file in the store, sorted. */
async function objectNames(store: string): Promise<string[]> {
  return (await objectFiles(store)).map((o) => o.name);
}

/** The brief's dataset: a CSV record set and 50 small files (`extra` added or replacing). */
function dataset(csv: string, extra: Record<string, string> = {}): Record<string, string> {
  const spec: Record<string, string> = { 't.csv': csv };
  for (let i = 1; i <= 50; i++) spec[`x${i}.txt`] = `${i}\n`;
  return { ...spec, ...extra };
}

const RULE = ['--records', 't.csv key=id label=label'];

/** fsck of the store passes, and prune finds no object that no snapshot names. */
async function expectStoreClean(store: string): Promise<void> {
  const f = await snapJson(['fsck', '--store', store]);
  expect(f.code, f.stderr).toBe(0);
  const p = await snapJson(['prune', '--store', store]);
  expect(p.code, p.stderr).toBe(0);
  expect(p.json.unreferenced).toEqual([]);
}

describe('a seal that fails after its objects were moved into the store', () => {
  it('with a duplicate record key (the issue): exit 3, RECORDS_DUPLICATE_KEY, and no object left in a store that held none', async () => {
    const data = await makeTree(dataset('id,label\n1,a\n1,b\n'));
    const store = await newStorePath();
    expect((await snapJson(['init', '--store', store])).code).toBe(0);
    const r = await snapJson(['seal', data, '--as', 'f@1', '--key', keys.key, '--store', store, ...RULE]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('RECORDS_DUPLICATE_KEY');
    expect(await objectNames(store)).toEqual([]);
    await expectStoreClean(store);
  });

  it('with a key column missing: the objects a sealed snapshot holds stay, those the failed seal added are gone', async () => {
    const v1 = await makeTree(dataset('id,label\n1,a\n2,b\n'));
    const store = await newStorePath();
    const ok = await snapJson(['seal', v1, '--as', 'f@1', '--key', keys.key, '--store', store, ...RULE]);
    expect(ok.code, ok.stderr).toBe(0);
    const before = await objectNames(store);
    expect(before).toContain(sha256('7\n'));
    // The same 50 files (deduplicated against f@1's objects), two new ones, and a CSV without its key column.
    const v2 = await makeTree(dataset('ix,label\n1,a\n', { 'new-1.txt': 'only in the failed seal\n', 'new-2.bin': 'x'.repeat(70_000) }));
    const r = await snapJson(['seal', v2, '--as', 'f@2', '--key', keys.key, '--store', store, ...RULE]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('RECORDS_KEY_MISSING');
    expect(await objectNames(store)).toEqual(before);
    await expectStoreClean(store);
    expect((await snapJson(['verify', v1, '--against', 'f@1', '--pubkey', keys.pub, '--store', store])).code).toBe(0);
  });

  it('whose snapshot cannot be committed (snapshots/NAME a symbolic link): its objects and its record index are gone', async () => {
    const data = await makeTree(dataset('id,label\n1,a\n2,b\n'));
    const store = await newStorePath();
    expect((await snapJson(['init', '--store', store])).code).toBe(0);
    const elsewhere = await makeTree({});
    await fsp.mkdir(join(store, 'snapshots'), { recursive: true });
    await fsp.symlink(elsewhere, join(store, 'snapshots', 'f'));
    const r = await snapJson(['seal', data, '--as', 'f@1', '--key', keys.key, '--store', store, ...RULE]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('STORE_MALFORMED');
    expect(await objectNames(store)).toEqual([]);
    expect(await fsp.readdir(elsewhere)).toEqual([]);
    await fsp.rm(join(store, 'snapshots', 'f'));
    await expectStoreClean(store);
  });

  it('then sealed again once fixed: every object is kept, and the snapshot verifies', async () => {
    const data = await makeTree(dataset('id,label\n1,a\n1,b\n'));
    const store = await newStorePath();
    expect((await snapJson(['init', '--store', store])).code).toBe(0); // a store the failed seal did not make (it would remove that one whole)
    expect((await snapJson(['seal', data, '--as', 'f@1', '--key', keys.key, '--store', store, ...RULE])).code).toBe(3);
    await fsp.writeFile(join(data, 't.csv'), 'id,label\n1,a\n2,b\n');
    const r = await snapJson(['seal', data, '--as', 'f@1', '--key', keys.key, '--store', store, ...RULE]);
    expect(r.code, r.stderr).toBe(0);
    // Every file's object is new again (none was left behind by the failed seal).
    expect(r.json.newObjects).toBe(51);
    // The 51 files' objects and the record set's index, index summary and column object (§19.11).
    expect(await objectNames(store)).toHaveLength(54);
    await expectStoreClean(store);
    expect((await snapJson(['verify', data, '--against', 'f@1', '--pubkey', keys.pub, '--store', store])).code).toBe(0);
  });

  it('a seal that succeeds leaves no list of its objects behind: its snapshot folder holds its four files only, and STORE/tmp is empty', async () => {
    const data = await makeTree(dataset('id,label\n1,a\n2,b\n'));
    const store = await newStorePath();
    const s = await snapJson(['seal', data, '--as', 'f@1', '--key', keys.key, '--store', store, ...RULE]);
    expect(s.code, s.stderr).toBe(0);
    expect((await fsp.readdir(join(store, 'snapshots', 'f', '1'))).sort()).toEqual(['contents.json', 'envelope.json', 'manifest.jsonl', 'statement.json']);
    expect(await fsp.readdir(join(store, 'tmp')).catch(() => [])).toEqual([]);
  });

  it('keeps the objects of another snapshot it mended (each truncated in the store, written again from the data): they were under their names before the seal', async () => {
    const data = await makeTree(dataset('id,label\n1,a\n2,b\n'));
    const store = await newStorePath();
    const ok = await snapJson(['seal', data, '--as', 'f@1', '--key', keys.key, '--store', store, ...RULE]);
    expect(ok.code, ok.stderr).toBe(0);
    const before = await objectFiles(store);
    // Every object of f@1 (its files' and its record index's) cut to one byte, as a full disk or a hand could leave it.
    for (const o of before) {
      await fsp.chmod(o.path, 0o644);
      await fsp.writeFile(o.path, 'x');
    }
    // The same data sealed as g@1, whose snapshot cannot be committed (snapshots/g a symbolic link).
    await fsp.symlink(await makeTree({}), join(store, 'snapshots', 'g'));
    const r = await snapJson(['seal', data, '--as', 'g@1', '--key', keys.key, '--store', store, ...RULE]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('STORE_MALFORMED');
    await fsp.rm(join(store, 'snapshots', 'g'));
    // f@1's objects are all there, whole again: fsck passes and f@1 verifies.
    expect(await objectNames(store)).toEqual(before.map((o) => o.name));
    await expectStoreClean(store);
    expect((await snapJson(['verify', data, '--against', 'f@1', '--pubkey', keys.pub, '--store', store])).code).toBe(0);
  });
});
