/**
 * Each problem kind `verify --json` reports (SPEC §8): modified, missing, extra, type-changed,
 * unreadable; each exits 1 and names the file. And the flipped label, the incident snap exists for.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, shareWithEveryone, snap, snapBin, snapJson, tempDir, unprivileged, writeTree, useKeyPair } from '../helpers/tree.js';
import { sealTree, sha256, useStore, type Sealed } from '../helpers/store.js';

const keys = useKeyPair();
const shared = useStore();

const TREE = {
  'ham/1.txt': 'hello, this is a ham message\n',
  'ham/2.txt': 'another ham message\n',
  'spam/1.txt': 'BUY NOW\n',
  'spam/2.txt': 'CHEAP PILLS\n',
};

async function verifyJson(s: Sealed) {
  return snapJson(['verify', s.data, '--against', s.ref, '--pubkey', keys.pub, '--store', s.store]);
}

describe('verify reports each kind of problem', () => {
  it('exits 1 and names a file whose content changed but whose size did not (modified)', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await fsp.writeFile(join(s.data, 'spam/1.txt'), 'BUY N0W\n'); // same length
    const v = await verifyJson(s);
    expect(v.code).toBe(1);
    expect(v.json.ok).toBe(false);
    expect(v.json.problems).toEqual([
      {
        path: 'spam/1.txt',
        kind: 'modified',
        expected: { sha256: sha256('BUY NOW\n'), size: 8 },
        actual: { sha256: sha256('BUY N0W\n'), size: 8 },
      },
    ]);
    expect(v.json.counts).toMatchObject({ matched: 3, modified: 1, missing: 0, extra: 0 });
  });

  it('exits 1 and names a file that grew (modified, with both sizes)', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await fsp.appendFile(join(s.data, 'ham/2.txt'), 'poisoned\n');
    const v = await verifyJson(s);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([expect.objectContaining({ path: 'ham/2.txt', kind: 'modified', expected: expect.objectContaining({ size: 20 }), actual: expect.objectContaining({ size: 29 }) })]);
  });

  it('exits 1 and names a deleted file (missing)', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await fsp.rm(join(s.data, 'ham/1.txt'));
    const v = await verifyJson(s);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([expect.objectContaining({ path: 'ham/1.txt', kind: 'missing', expected: { sha256: sha256(TREE['ham/1.txt']), size: 29 } })]);
    expect(v.json.counts).toMatchObject({ matched: 3, modified: 0, missing: 1, extra: 0 });
  });

  it('exits 1 and names every file of a deleted folder (missing)', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await fsp.rm(join(s.data, 'spam'), { recursive: true });
    const v = await verifyJson(s);
    expect(v.code).toBe(1);
    expect(v.json.problems.map((p: { path: string; kind: string }) => [p.kind, p.path])).toEqual([
      ['missing', 'spam/1.txt'],
      ['missing', 'spam/2.txt'],
    ]);
    expect(v.json.counts).toMatchObject({ matched: 2, missing: 2 });
  });

  it('exits 1 and names a file that was added (extra)', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await writeTree(s.data, { 'spam/3.txt': 'injected\n' });
    const v = await verifyJson(s);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([expect.objectContaining({ path: 'spam/3.txt', kind: 'extra' })]);
    expect(v.json.counts).toMatchObject({ matched: 4, modified: 0, missing: 0, extra: 1 });
  });

  it('exits 1 and names a symlink that was added (extra)', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await writeTree(s.data, { 'ham/link': { symlink: '1.txt' } });
    const v = await verifyJson(s);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([expect.objectContaining({ path: 'ham/link', kind: 'extra' })]);
  });

  it('exits 1 and names a file replaced by a symlink to identical content (type-changed)', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const copy = join(await makeTree({ 'elsewhere.txt': TREE['ham/2.txt'] }), 'elsewhere.txt');
    await fsp.rm(join(s.data, 'ham/2.txt'));
    await fsp.symlink(copy, join(s.data, 'ham/2.txt'));
    const v = await verifyJson(s);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([expect.objectContaining({ path: 'ham/2.txt', kind: 'type-changed' })]);
    expect(v.json.counts).toMatchObject({ matched: 3, modified: 0, missing: 0, extra: 0, 'type-changed': 1 });
  });

  it('exits 1 and names a symlink replaced by a regular file (type-changed)', async () => {
    const s = await sealTree({ ...TREE, 'ham/latest': { symlink: '2.txt' } }, keys, { store: shared.path });
    await fsp.rm(join(s.data, 'ham/latest'));
    await fsp.writeFile(join(s.data, 'ham/latest'), '2.txt');
    const v = await verifyJson(s);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([expect.objectContaining({ path: 'ham/latest', kind: 'type-changed' })]);
  });

  it('exits 1 and names a file that cannot be read (unreadable, mode 000)', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await shareWithEveryone(s.data);
    await shareWithEveryone(join(s.store, '..'));
    await fsp.chmod(keys.dir, 0o755); // NAME.pub is 0644 already; NAME.key stays 0600
    await fsp.chmod(join(s.data, 'ham/2.txt'), 0o000);
    const args = ['verify', s.data, '--against', s.ref, '--pubkey', keys.pub, '--store', s.store, '--json'];
    // As root, permissions do not apply: run the check as the user "nobody" (or as root without the override capabilities).
    const r = await snapBin(args, unprivileged());
    expect(r.code, r.stderr).toBe(1);
    const json = JSON.parse(r.stdout);
    expect(json.ok).toBe(false);
    expect(json.problems).toEqual([expect.objectContaining({ path: 'ham/2.txt', kind: 'unreadable' })]);
    expect(json.counts).toMatchObject({ matched: 3, modified: 0, missing: 0, extra: 0, unreadable: 1 });
  });

  it('seal of a dataset with an unreadable file stops (exit 3, IO_ERROR), names the file and says what to do: make it readable, or leave it out with --exclude', async () => {
    const work = await tempDir('snap-seal-unreadable-');
    await writeTree(join(work, 'data'), TREE);
    await fsp.copyFile(keys.key, join(work, 'k.key'));
    const opts = unprivileged();
    // As the user "nobody", the folder is theirs; as root without the override capabilities, root's.
    if (opts.uid !== undefined) {
      for (const p of [work, join(work, 'data'), join(work, 'data/ham'), join(work, 'data/spam'), join(work, 'k.key'), ...Object.keys(TREE).map((f) => join(work, 'data', f))]) await fsp.chown(p, opts.uid, opts.gid as number);
    }
    await fsp.chmod(join(work, 'data/ham/2.txt'), 0o000);
    const r = await snapBin(['seal', join(work, 'data'), '--as', 'locked@v1', '--key', join(work, 'k.key'), '--store', join(work, 'store'), '--json'], opts);
    expect(r.code, r.stderr).toBe(3);
    const json = JSON.parse(r.stdout);
    expect(json.error.code).toBe('IO_ERROR');
    expect(json.error.message).toMatch(/ham\/2\.txt: permission denied; nothing was sealed: make it readable by this user, or leave it out with --exclude 'ham\/2\.txt'$/);
  });

  it('lists several problems sorted by path, each once, and counts them', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await fsp.writeFile(join(s.data, 'ham/1.txt'), 'changed');
    await fsp.rm(join(s.data, 'spam/2.txt'));
    await writeTree(s.data, { 'aaa.txt': 'new', 'zzz/new.txt': 'new' });
    const v = await verifyJson(s);
    expect(v.code).toBe(1);
    expect(v.json.problems.map((p: { path: string; kind: string }) => `${p.kind} ${p.path}`)).toEqual(['extra aaa.txt', 'modified ham/1.txt', 'missing spam/2.txt', 'extra zzz/new.txt']);
    expect(v.json.counts).toMatchObject({ matched: 2, modified: 1, missing: 1, extra: 2 });
  });

  it('names the changed file in the human report too', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await fsp.writeFile(join(s.data, 'spam/1.txt'), 'BUY N0W\n');
    const v = await snap(['verify', s.data, '--against', s.ref, '--pubkey', keys.pub, '--store', s.store]);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain('spam/1.txt');
  });
});

describe('a flipped label', () => {
  it('exits 1 on verify, naming both the old path (missing) and the new one (extra); diff shows it as renamed', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await fsp.rename(join(s.data, 'spam/1.txt'), join(s.data, 'ham/1-from-spam.txt'));
    const v = await verifyJson(s);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([
      expect.objectContaining({ path: 'ham/1-from-spam.txt', kind: 'extra' }),
      expect.objectContaining({ path: 'spam/1.txt', kind: 'missing' }),
    ]);
    expect(v.json.counts).toMatchObject({ matched: 3, modified: 0, missing: 1, extra: 1 });

    const s2 = await snapJson(['seal', s.data, '--as', `${s.name}@v2`, '--key', keys.key, '--store', s.store]);
    expect(s2.code).toBe(0);
    const d = await snapJson(['diff', s.ref, `${s.name}@v2`, '--store', s.store]);
    expect(d.code).toBe(1);
    expect(d.json.renamed).toEqual([expect.objectContaining({ from: 'spam/1.txt', to: 'ham/1-from-spam.txt', sha256: sha256(TREE['spam/1.txt']) })]);
    expect(d.json.added).toEqual([]);
    expect(d.json.removed).toEqual([]);
    expect(d.json.summary).toMatchObject({ added: 0, removed: 0, modified: 0, renamed: 1, unchanged: 3 });
  });

  it('shows the same path under another label folder as renamed when moved with its name (spam/x → ham/x)', async () => {
    const s = await sealTree({ 'ham/a.txt': 'a', 'spam/x.txt': 'xx' }, keys, { store: shared.path });
    await fsp.rename(join(s.data, 'spam/x.txt'), join(s.data, 'ham/x.txt'));
    const v = await verifyJson(s);
    expect(v.code).toBe(1);
    expect(v.json.problems.map((p: { path: string; kind: string }) => `${p.kind} ${p.path}`)).toEqual(['extra ham/x.txt', 'missing spam/x.txt']);
    const d = await snapJson(['diff', s.ref, s.data, '--store', s.store]);
    expect(d.code).toBe(1);
    expect(d.json.renamed).toEqual([expect.objectContaining({ from: 'spam/x.txt', to: 'ham/x.txt', sha256: sha256('xx') })]);
  });
});
