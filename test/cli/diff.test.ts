/**
 * `snap diff A B` (SPEC §8): snapshots and folders on either side; added, removed, modified and
 * renamed; exit 0 only when there is no difference; the `--json` shape.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeKeyPair, makeTree, snap, snapJson, writeTree, useKeyPair } from '../helpers/tree.js';
import { sealTree, sha256, useStore } from '../helpers/store.js';

const keys = useKeyPair();
const shared = useStore();

const TREE = { 'a.txt': 'alpha\n', 'b/b.txt': 'beta\n', 'c.txt': 'gamma\n', 'l': { symlink: 'a.txt' } };

const SNAPSHOT_SIDE = {
  ref: expect.any(String),
  snapshot: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
  createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
  signers: expect.any(Array),
};

async function sealAgain(data: string, store: string, as: string) {
  const r = await snapJson(['seal', data, '--as', as, '--key', keys.key, '--store', store]);
  expect(r.code, r.stderr).toBe(0);
  return r.json.snapshot as string;
}

describe('snap diff', () => {
  it('exits 0 between two snapshots of the same data, with a summary of zeros except unchanged', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const v2 = await sealAgain(s.data, s.store, `${s.name}@v2`);
    const d = await snapJson(['diff', s.ref, `${s.name}@v2`, '--store', s.store]);
    expect(d.code).toBe(0);
    expect(d.json.summary).toEqual({ added: 0, removed: 0, modified: 0, renamed: 0, extra: 0, unchanged: 4, bytesAdded: 0, bytesRemoved: 0 });
    expect(d.json).toMatchObject({ added: [], removed: [], modified: [], renamed: [] });
    expect(d.json.a).toEqual({ ...SNAPSHOT_SIDE, ref: s.ref, snapshot: s.snapshot });
    expect(d.json.b).toEqual({ ...SNAPSHOT_SIDE, ref: `${s.name}@v2`, snapshot: v2 });
    expect(d.json.a.signers).toEqual([expect.objectContaining({ keyid: keys.keyid })]);
  });

  it('exits 1 between two snapshots that differ and lists added, removed and modified entries with their sizes', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await fsp.rm(join(s.data, 'c.txt'));
    await fsp.writeFile(join(s.data, 'a.txt'), 'alpha, longer now\n');
    await writeTree(s.data, { 'new/d.txt': 'delta!\n', 'l': { symlink: 'b/b.txt' } });
    await sealAgain(s.data, s.store, `${s.name}@v2`);
    const d = await snapJson(['diff', s.ref, `${s.name}@v2`, '--store', s.store]);
    expect(d.code).toBe(1);
    expect(d.json.added).toEqual([{ path: 'new/d.txt', sha256: sha256('delta!\n'), size: 7 }]);
    expect(d.json.removed).toEqual([{ path: 'c.txt', sha256: sha256('gamma\n'), size: 6 }]);
    expect(d.json.modified).toEqual([
      { path: 'a.txt', a: { path: 'a.txt', sha256: sha256('alpha\n'), size: 6 }, b: { path: 'a.txt', sha256: sha256('alpha, longer now\n'), size: 18 } },
      { path: 'l', a: { path: 'l', target: 'a.txt', type: 'symlink' }, b: { path: 'l', target: 'b/b.txt', type: 'symlink' } },
    ]);
    expect(d.json.renamed).toEqual([]);
    expect(d.json.summary).toEqual({ added: 1, removed: 1, modified: 2, renamed: 0, extra: 0, unchanged: 1, bytesAdded: 7 + 18, bytesRemoved: 6 + 6 });
  });

  it('compares a snapshot with a folder: the folder side is {folder}', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await writeTree(s.data, { 'extra.txt': 'extra' });
    const d = await snapJson(['diff', s.ref, s.data, '--store', s.store]);
    expect(d.code).toBe(1);
    expect(d.json.a).toEqual({ ...SNAPSHOT_SIDE, ref: s.ref, snapshot: s.snapshot });
    expect(d.json.b).toEqual({ folder: s.data });
    expect(d.json.added).toEqual([{ path: 'extra.txt', sha256: sha256('extra'), size: 5 }]);
    expect(d.json.summary).toMatchObject({ added: 1, removed: 0, modified: 0, renamed: 0, unchanged: 4 });
  });

  it('exits 0 between a snapshot and the unchanged folder it was sealed from', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const d = await snapJson(['diff', s.data, s.ref, '--store', s.store]);
    expect(d.code).toBe(0);
    expect(d.json.a).toEqual({ folder: s.data });
    expect(d.json.summary.unchanged).toBe(4);
  });

  it('compares two folders', async () => {
    const a = await makeTree({ 'x.txt': 'same', 'y.txt': 'old' });
    const b = await makeTree({ 'x.txt': 'same', 'y.txt': 'new', 'moved/z.txt': 'zz' });
    await writeTree(a, { 'z.txt': 'zz' });
    const d = await snapJson(['diff', a, b, '--store', join(a, '..', 'no-store-needed')]);
    expect(d.code).toBe(1);
    expect(d.json.renamed).toEqual([{ from: 'z.txt', to: 'moved/z.txt', sha256: sha256('zz'), size: 2 }]);
    expect(d.json.modified.map((m: { path: string }) => m.path)).toEqual(['y.txt']);
  });

  it('applies the snapshot’s --exclude patterns to the folder side', async () => {
    const s = await sealTree({ 'a.txt': 'a' }, keys, { store: shared.path, extra: ['--exclude', '*.tmp'] });
    await writeTree(s.data, { 'later.tmp': 'scratch' });
    const d = await snapJson(['diff', s.ref, s.data, '--store', s.store]);
    expect(d.code).toBe(0);
  });

  it('accepts a snapshot id prefix on either side', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const d = await snapJson(['diff', s.snapshot.slice(7, 19), s.ref, '--store', s.store]);
    expect(d.code).toBe(0);
  });

  it('marks each side’s signers trusted or not with --pubkey, and exits 1 when a side is not trusted', async () => {
    const stranger = await makeKeyPair('stranger');
    const s = await sealTree(TREE, keys, { store: shared.path });
    const r = await snapJson(['seal', s.data, '--as', `${s.name}@v2`, '--key', stranger.key, '--store', s.store]);
    expect(r.code).toBe(0);
    const d = await snapJson(['diff', s.ref, `${s.name}@v2`, '--store', s.store, '--pubkey', keys.pub]);
    expect(d.code).toBe(1); // the contents are identical, but b is not signed by a trusted key
    expect(d.json.summary).toMatchObject({ added: 0, removed: 0, modified: 0, renamed: 0 });
    expect(d.json.a.signers).toEqual([{ keyid: keys.keyid, trusted: true }]);
    expect(d.json.a.trusted).toBe(true);
    expect(d.json.b.signers).toEqual([{ keyid: stranger.keyid, trusted: false }]);
    expect(d.json.b.trusted).toBe(false);
    expect(d.json.b.failure.code).toBe('SIGNATURE_INVALID');
    const both = await snapJson(['diff', s.ref, `${s.name}@v2`, '--store', s.store, '--pubkey', keys.pub, '--pubkey', stranger.pub]);
    expect(both.code).toBe(0);
  });

  it('says without --pubkey that the signers it names were not checked: a side whose envelope names a trusted key id over a signature that key never made is not shown as signed by it', async () => {
    // Someone who can write the store (no key) signs B with their own key, then renames the signature's key id to the producer's.
    const stranger = await makeKeyPair('forger');
    const s = await sealTree({ 'snap.json': '{"records":[{"pattern":"t.csv","key":["id"],"label":"label"}]}', 't.csv': 'id,label\n1,ham\n' }, keys, { store: shared.path });
    await fsp.writeFile(join(s.data, 't.csv'), 'id,label\n1,spam\n');
    expect((await snapJson(['seal', s.data, '--as', `${s.name}@v2`, '--key', stranger.key, '--store', s.store])).code).toBe(0);
    const envelopePath = join(s.store, 'snapshots', s.name, 'v2', 'envelope.json');
    const envelope = JSON.parse(await fsp.readFile(envelopePath, 'utf8'));
    for (const g of envelope.signatures) g.keyid = keys.keyid;
    await fsp.chmod(envelopePath, 0o644);
    await fsp.writeFile(envelopePath, JSON.stringify(envelope));

    const short = keys.keyid.slice(0, 16);
    for (const args of [['diff', s.ref, `${s.name}@v2`], ['check', `${s.name}@v2`, '--against', s.ref]]) {
      const plain = await snap([...args, '--store', s.store]);
      expect(plain.code, plain.stderr).toBe(1);
      expect(plain.stdout, args[0]).not.toMatch(new RegExp(`signed by ${short}\\)`));
      expect(plain.stdout, args[0]).toMatch(new RegExp(`^b: ${s.name}@v2 \\(.*envelope names ${short}, not checked\\)$`, 'm'));
      expect(plain.stdout, args[0]).toMatch(/^\(signatures not checked: .*--pubkey.*\)$/m);
      const checked = await snap([...args, '--store', s.store, '--pubkey', keys.pub]);
      expect(checked.code).toBe(1);
      expect(checked.stdout, args[0]).toMatch(new RegExp(`^b: ${s.name}@v2 \\(.*signed by ${short} UNTRUSTED\\)$`, 'm'));
      expect(checked.stdout, args[0]).not.toContain('signatures not checked');
    }
  });

  it('refuses a folder side that holds a snapshot folder\'s three files besides its data (REF_AMBIGUOUS, exit 2): copied there by whoever can write the data, they made diff and check compare the signed snapshot with itself, identical and trusted (exit 0)', async () => {
    const s = await sealTree({ 'snap.json': '{"records":[{"pattern":"t.csv","key":["id"],"label":"label"}]}', 't.csv': 'id,label\n1,ham\n2,spam\n' }, keys, { store: shared.path });
    await fsp.writeFile(join(s.data, 't.csv'), 'id,label\n1,spam\n2,ham\n'); // both labels flipped
    for (const f of ['statement.json', 'envelope.json', 'manifest.jsonl']) await fsp.copyFile(join(s.dir, f), join(s.data, f));
    for (const args of [['diff', s.ref, `${s.data}/`], ['diff', `${s.data}/`, s.ref], ['check', `${s.data}/`, '--against', s.ref]]) {
      const r = await snapJson([...args, '--store', s.store, '--pubkey', keys.pub]);
      expect(r.code, `${args[0]}: ${r.stdout}`).toBe(2);
      expect(r.json.error.code).toBe('REF_AMBIGUOUS');
      expect(r.json.error.message).toMatch(/both a dataset folder and a snapshot folder/);
    }
    // The snapshot folder itself (its files and the store's contents.json, nothing else) is still a snapshot side.
    const own = await snapJson(['diff', s.ref, s.dir, '--store', s.store, '--pubkey', keys.pub]);
    expect(own.code, own.stderr).toBe(0);
    expect(own.json.b).toMatchObject({ snapshot: s.snapshot, trusted: true });
  });

  it('prints a human summary naming the changed paths without --json', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await fsp.rename(join(s.data, 'c.txt'), join(s.data, 'b/c.txt'));
    const d = await snap(['diff', s.ref, s.data, '--store', s.store]);
    expect(d.code).toBe(1);
    expect(d.stdout).toContain('c.txt');
    expect(d.stdout).toContain('b/c.txt');
  });

  it('exits 3 (REF_NOT_FOUND) when one side is an unknown ref', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const d = await snapJson(['diff', s.ref, `${s.name}@v9`, '--store', s.store]);
    expect(d.code).toBe(3);
    expect(d.json.error.code).toBe('REF_NOT_FOUND');
  });

  it('exits 2 when a side is neither a folder nor a well-formed ref', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const d = await snapJson(['diff', s.ref, 'Not@A@Ref', '--store', s.store]);
    expect(d.code).toBe(2);
  });
});
