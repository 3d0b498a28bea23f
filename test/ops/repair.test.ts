/**
 * `snap fsck --repair-from FILE.snap.tar|STORE`: every corrupt or missing object is put back from
 * a good copy whose bytes hash to the object's name (the source's signature is not needed); the
 * repair is logged, and fsck checks again. What the source lacks, or holds with other bytes, stays
 * reported (exit 1) and is never written.
 */
import { promises as fsp } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, snap, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { newStorePath, objectFiles, sealAndExport, sealTree, sha256, sha256File, type Exported } from '../helpers/store.js';

const keys = useKeyPair();

const ALPHA = 'alpha content 41d0\n';
const BETA = 'beta content 7f3a\n';
const TREE = { 'a.txt': ALPHA, 'b/b.txt': BETA, 'b/c.bin': Buffer.from([0, 1, 2, 3, 255]) };

/** The object file of `content` in `store` (whether or not it exists). */
function objectPathOf(store: string, content: string | Buffer): string {
  const hex = sha256(content);
  return join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2));
}

/** Damage a store: flip a byte of BETA's object, delete ALPHA's. */
async function damage(store: string): Promise<void> {
  const beta = objectPathOf(store, BETA);
  await fsp.chmod(beta, 0o644);
  const bytes = await fsp.readFile(beta);
  bytes[0] = (bytes[0] as number) ^ 0x20;
  await fsp.writeFile(beta, bytes);
  await fsp.chmod(beta, 0o444);
  await fsp.rm(objectPathOf(store, ALPHA));
}

/** A sealed, exported snapshot whose store is then damaged (fsck exits 1 on it). */
async function damaged(): Promise<Exported> {
  const e = await sealAndExport(TREE, keys, 'snap-repair-');
  await damage(e.store);
  const f = await snapJson(['fsck', '--store', e.store]);
  expect(f.code).toBe(1);
  expect(f.json.counts).toMatchObject({ corrupt: 1, missingObjects: 1 });
  return e;
}

/** Every object of the store hashes to its name and is mode 0444. */
async function objectsSound(store: string): Promise<void> {
  for (const o of await objectFiles(store)) {
    expect(await sha256File(o.path), o.name).toBe(o.name);
    expect((await fsp.stat(o.path)).mode & 0o777).toBe(0o444);
  }
}

describe('snap fsck --repair-from an archive', () => {
  it('puts back a corrupt and a missing object, logs the repair, checks again and exits 0', async () => {
    const e = await damaged();
    // Importing the same archive does not help: the snapshot is already there.
    const imp = await snapJson(['import', e.file, '--pubkey', keys.pub, '--store', e.store]);
    expect(imp.code).toBe(0);
    expect(imp.json.alreadyPresent).toBe(true);
    expect((await snapJson(['fsck', '--store', e.store])).code).toBe(1);

    const r = await snapJson(['fsck', '--repair-from', e.file, '--store', e.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.ok).toBe(true);
    expect(r.json.repair.kind).toBe('archive');
    expect(r.json.repair.repaired.map((o: { sha256: string; was: string }) => [o.sha256, o.was]).sort()).toEqual(
      [[sha256(ALPHA), 'missing'], [sha256(BETA), 'corrupt']].sort(),
    );
    expect(r.json.repair.unrepaired).toEqual([]);
    expect(r.json.repair.before).toMatchObject({ corrupt: 1, missingObjects: 1 });
    expect(r.json.counts).toMatchObject({ corrupt: 0, missingObjects: 0, badSnapshots: 0 });
    await objectsSound(e.store);
    expect(await fsp.readFile(objectPathOf(e.store, BETA), 'utf8')).toBe(BETA);
    expect(await fsp.readdir(join(e.store, 'tmp'))).toEqual([]);

    // Logged, and the store verifies against the data again.
    const log = await snapJson(['log', '--store', e.store]);
    const last = log.json.entries[log.json.entries.length - 1];
    expect(last).toMatchObject({ command: 'fsck', outcome: 'ok', details: { repair: { source: e.file, repaired: 2, unrepaired: 0 } } });
    const v = await snapJson(['verify', e.data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', e.store]);
    expect(v.code).toBe(0);
    expect((await snapJson(['fsck', '--store', e.store])).code).toBe(0);
  });

  it('refuses a replacement whose bytes do not hash to the object name: nothing is written, exit 1 (OBJECT_CORRUPT)', async () => {
    const e = await damaged();
    // The archive's copy of BETA altered (same size): its member no longer hashes to its digest.
    const tar = await fsp.readFile(e.file);
    const at = tar.indexOf(Buffer.from(BETA));
    expect(at).toBeGreaterThan(0);
    tar.write(BETA.toUpperCase(), at);
    const bad = join(e.work, 'bad.snap.tar');
    await fsp.writeFile(bad, tar);
    const corruptBefore = await fsp.readFile(objectPathOf(e.store, BETA));

    const r = await snapJson(['fsck', '--repair-from', bad, '--store', e.store]);
    expect(r.code).toBe(1);
    expect(r.json.repair.repaired).toEqual([expect.objectContaining({ sha256: sha256(ALPHA), was: 'missing' })]);
    expect(r.json.repair.unrepaired).toEqual([
      expect.objectContaining({ sha256: sha256(BETA), was: 'corrupt', code: 'OBJECT_CORRUPT', actual: { sha256: sha256(BETA.toUpperCase()), size: BETA.length } }),
    ]);
    expect(r.json.counts).toMatchObject({ corrupt: 1, missingObjects: 0 });
    expect(await fsp.readFile(objectPathOf(e.store, BETA))).toEqual(corruptBefore); // left as it was
    expect(await fsp.readdir(join(e.store, 'tmp'))).toEqual([]);
  });

  it('needs no trusted key: an archive whose signature was replaced still supplies bytes that match their digests', async () => {
    const e = await damaged();
    // An archive of the same data sealed by someone else (another key): its objects are the same bytes.
    const other = await sealAndExport(TREE, { ...keys, key: (await otherKey()).key }, 'snap-repair-other-');
    const r = await snapJson(['fsck', '--repair-from', other.file, '--store', e.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.repair.repaired).toHaveLength(2);
  });
});

describe('snap fsck --repair-from another store', () => {
  it('puts back a corrupt and a missing object from a store holding them, and exits 0', async () => {
    const e = await damaged();
    const good = await sealTree(TREE, keys); // the same data, sealed into another store
    const r = await snapJson(['fsck', '--repair-from', good.store, '--store', e.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.repair.kind).toBe('store');
    expect(r.json.repair.repaired).toHaveLength(2);
    expect(r.json.ok).toBe(true);
    await objectsSound(e.store);
  });

  it('leaves an object the source lacks reported (exit 1, OBJECT_MISSING) and repairs the rest', async () => {
    const e = await damaged();
    const partial = await sealTree({ 'only-beta.txt': BETA }, keys); // holds BETA, not ALPHA
    const r = await snapJson(['fsck', '--repair-from', partial.store, '--store', e.store]);
    expect(r.code).toBe(1);
    expect(r.json.repair.repaired).toEqual([expect.objectContaining({ sha256: sha256(BETA), was: 'corrupt' })]);
    expect(r.json.repair.unrepaired).toEqual([expect.objectContaining({ sha256: sha256(ALPHA), was: 'missing', code: 'OBJECT_MISSING' })]);
    expect(r.json.counts).toMatchObject({ corrupt: 0, missingObjects: 1 });
    expect(r.json.missingObjects).toEqual([expect.objectContaining({ sha256: sha256(ALPHA) })]);
    // The human report says which object could not be repaired, and fails.
    const h = await snap(['fsck', '--repair-from', partial.store, '--store', e.store]);
    expect(h.code).toBe(1);
    expect(h.stdout).toContain(sha256(ALPHA));
  });

  it('refuses a source store whose copy is corrupt too (OBJECT_CORRUPT), exit 1', async () => {
    const e = await damaged();
    const bad = await sealTree(TREE, keys);
    await damage(bad.store); // the same damage: BETA corrupt, ALPHA gone
    const r = await snapJson(['fsck', '--repair-from', bad.store, '--store', e.store]);
    expect(r.code).toBe(1);
    expect(r.json.repair.repaired).toEqual([]);
    expect(r.json.repair.unrepaired.map((u: { sha256: string; code: string }) => [u.sha256, u.code]).sort()).toEqual(
      [[sha256(ALPHA), 'OBJECT_MISSING'], [sha256(BETA), 'OBJECT_CORRUPT']].sort(),
    );
  });
});

describe('snap fsck --repair-from a source that plants a huge copy', () => {
  it('reads no more of it than the size the manifests name: refused (OBJECT_CORRUPT), nothing staged, exit 1', async () => {
    const e = await damaged();
    const big = await sealTree(TREE, keys);
    // The source's copy of the missing object: a 1 GiB sparse file (costs no disk, and would fill the store's if copied).
    const planted = objectPathOf(big.store, ALPHA);
    await fsp.chmod(planted, 0o644);
    await fsp.truncate(planted, 1 << 30);
    const r = await snapJson(['fsck', '--repair-from', big.store, '--store', e.store]);
    expect(r.code).toBe(1);
    expect(r.json.repair.repaired).toEqual([expect.objectContaining({ sha256: sha256(BETA) })]);
    const refused = r.json.repair.unrepaired.find((u: { sha256: string }) => u.sha256 === sha256(ALPHA));
    expect(refused).toMatchObject({ code: 'OBJECT_CORRUPT', was: 'missing' });
    expect(refused.message).toContain(`longer than the ${Buffer.byteLength(ALPHA)} bytes the snapshots name`);
    // Refused within the first chunk read, not after copying the gigabyte.
    expect(Number(/refused after (\d+) bytes/.exec(refused.message)?.[1])).toBeLessThanOrEqual(1 << 20);
    expect(r.json.missingObjects).toEqual([expect.objectContaining({ sha256: sha256(ALPHA), maxBytes: Buffer.byteLength(ALPHA) })]);
    expect(await fsp.readdir(join(e.store, 'tmp')).catch(() => [])).toEqual([]);
  });

  it('reads no more of an unreadable object\'s copy than the size the manifests name (a FIFO in its place): refused, nothing staged, exit 1', async () => {
    const e = await sealAndExport(TREE, keys, 'snap-repair-');
    // ALPHA's object made unreadable: a FIFO where the file was (fsck reads no FIFO, and no size comes with it).
    const there = objectPathOf(e.store, ALPHA);
    await fsp.rm(there);
    execFileSync('mkfifo', [there]);
    const big = await sealTree(TREE, keys);
    const planted = objectPathOf(big.store, ALPHA);
    await fsp.chmod(planted, 0o644);
    await fsp.truncate(planted, 1 << 30); // 1 GiB, sparse: it would fill the store's disk if copied whole
    const r = await snapJson(['fsck', '--repair-from', big.store, '--store', e.store]);
    expect(r.code).toBe(1);
    expect(r.json.objects.unreadable).toEqual([expect.objectContaining({ maxBytes: Buffer.byteLength(ALPHA) })]);
    expect(r.json.repair.repaired).toEqual([]);
    const refused = r.json.repair.unrepaired.find((u: { sha256: string }) => u.sha256 === sha256(ALPHA));
    expect(refused).toMatchObject({ code: 'OBJECT_CORRUPT', was: 'unreadable' });
    expect(refused.message).toContain(`longer than the ${Buffer.byteLength(ALPHA)} bytes the snapshots name`);
    expect(Number(/refused after (\d+) bytes/.exec(refused.message)?.[1])).toBeLessThanOrEqual(1 << 20);
    expect(await fsp.readdir(join(e.store, 'tmp')).catch(() => [])).toEqual([]);
  });

  it('reads nothing of a copy of a damaged object no snapshot names (no size bounds it, and nothing needs it): not repaired (OBJECT_UNUSED), exit 1', async () => {
    const e = await sealAndExport(TREE, keys, 'snap-repair-');
    const UNUSED = 'bytes no snapshot lists 5c1e\n';
    const there = objectPathOf(e.store, UNUSED);
    await fsp.mkdir(join(there, '..'), { recursive: true });
    await fsp.writeFile(there, 'garbage', { mode: 0o444 }); // a corrupt object nothing uses
    const big = await sealTree({ ...TREE, 'unused.txt': UNUSED }, keys);
    const planted = objectPathOf(big.store, UNUSED);
    await fsp.chmod(planted, 0o644);
    await fsp.truncate(planted, 1 << 30);
    const r = await snapJson(['fsck', '--repair-from', big.store, '--store', e.store]);
    expect(r.code).toBe(1);
    expect(r.json.objects.corrupt).toEqual([expect.objectContaining({ name: sha256(UNUSED), usedBy: [] })]);
    expect(r.json.repair.repaired).toEqual([]);
    expect(r.json.repair.bytes).toBe(0);
    expect(r.json.repair.unrepaired).toEqual([expect.objectContaining({ sha256: sha256(UNUSED), code: 'OBJECT_UNUSED', was: 'corrupt' })]);
    expect(r.json.repair.unrepaired[0].message).toContain('no snapshot of the store names it');
    expect(await fsp.readdir(join(e.store, 'tmp')).catch(() => [])).toEqual([]);
  });
});

describe('snap fsck --repair-from a store whose fan-out folder is a symbolic link', () => {
  it('writes nothing through it and changes no mode behind it: refused (STORE_MALFORMED, exit 3), the folder it leads to as it was', async () => {
    const e = await sealAndExport(TREE, keys, 'snap-repair-');
    // ALPHA's object gone, and its fan-out folder a link to a private folder outside the store (as
    // someone who can write the store may plant): before, repair renamed the object into it, and,
    // when that was refused (EACCES), made the folder 0755 to retry.
    const fan = join(objectPathOf(e.store, ALPHA), '..');
    expect((await fsp.readdir(fan)).length).toBe(1);
    await fsp.rm(fan, { recursive: true, force: true });
    const outside = join(await tempDir('snap-repair-outside-'), 'private');
    await fsp.mkdir(outside);
    await fsp.writeFile(join(outside, 'notes.txt'), 'mine\n');
    await fsp.chmod(outside, 0o500);
    await fsp.symlink(outside, fan);
    const r = await snapJson(['fsck', '--repair-from', e.file, '--store', e.store]);
    expect(r.code, r.stdout).toBe(3);
    expect(r.json.error.code).toBe('STORE_MALFORMED');
    expect(r.json.error.message).toContain('symbolic link');
    expect(await fsp.readdir(outside)).toEqual(['notes.txt']);
    expect((await fsp.stat(outside)).mode & 0o777).toBe(0o500);
  });
});

describe('snap fsck --repair-from with nothing to repair, or no usable source', () => {
  it('on a clean store reads nothing from the source and exits 0', async () => {
    const e = await sealAndExport(TREE, keys, 'snap-repair-');
    const r = await snapJson(['fsck', '--repair-from', e.file, '--store', e.store]);
    expect(r.code).toBe(0);
    expect(r.json.repair).toMatchObject({ repaired: [], unrepaired: [], bytes: 0 });
  });

  it('exits 3 (NOT_FOUND) for a source that does not exist, and changes nothing', async () => {
    const e = await damaged();
    const r = await snapJson(['fsck', '--repair-from', join(e.work, 'nosuch.snap.tar'), '--store', e.store]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('NOT_FOUND');
    expect(await fsp.access(objectPathOf(e.store, ALPHA)).then(() => 'there', () => 'gone')).toBe('gone');
  });

  it('exits 3 (ARCHIVE_MALFORMED) for a source file that is not an archive', async () => {
    const e = await damaged();
    const junk = join(e.work, 'junk.snap.tar');
    await fsp.writeFile(junk, 'not a tar archive at all');
    const r = await snapJson(['fsck', '--repair-from', junk, '--store', e.store]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('ARCHIVE_MALFORMED');
    expect(await fsp.readdir(join(e.store, 'tmp'))).toEqual([]);
  });

  it('exits 2 (USAGE) when the source is the store being repaired', async () => {
    const e = await damaged();
    const r = await snapJson(['fsck', '--repair-from', e.store, '--store', e.store]);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('USAGE');
  });

  it('exits 3 (NOT_FOUND) when there is no store to repair', async () => {
    const e = await sealAndExport(TREE, keys, 'snap-repair-');
    const r = await snapJson(['fsck', '--repair-from', e.file, '--store', await newStorePath()]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('NOT_FOUND');
  });
});

/** A second key pair (another signer). */
async function otherKey(): Promise<{ key: string }> {
  const dir = await tempDir('snap-keys-other-');
  const r = await snapJson(['keygen', 'other', '--out-dir', dir]);
  expect(r.code).toBe(0);
  return { key: r.json.key };
}

describe('snap fsck --repair-from an archive with record indexes', () => {
  const TABLE = ['id,x,label', ...Array.from({ length: 40 }, (_, i) => `${i + 1},${i * 3},${i % 2 === 0 ? 'cat' : 'dog'}`)].join('\n') + '\n';

  /** train.csv sealed with a record index and exported; the index's digest. */
  async function withIndex() {
    const data = await makeTree({ 'train.csv': TABLE });
    const work = await tempDir('snap-repair-rec-');
    const store = join(work, 'store');
    const s = await snapJson(['seal', data, '--as', 't@v1', '--key', keys.key, '--store', store, '--records', 'train.csv key=id label=label']);
    expect(s.code, s.stderr).toBe(0);
    const file = join(work, 't@v1.snap.tar');
    expect((await snapJson(['export', 't@v1', '-o', file, '--store', store])).code).toBe(0);
    const show = await snapJson(['show', 't@v1', '--store', store]);
    const index: string = show.json.statement.predicate.records[0].index.sha256;
    return { store, file, index, work };
  }

  it('puts back a missing record index object from the archive, and exits 0', async () => {
    const x = await withIndex();
    await fsp.rm(join(x.store, 'objects', 'sha256', x.index.slice(0, 2), x.index.slice(2)));
    expect((await snapJson(['fsck', '--store', x.store])).code).toBe(1);
    const r = await snapJson(['fsck', '--repair-from', x.file, '--store', x.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.repair.repaired.map((o: { sha256: string }) => o.sha256)).toEqual([x.index]);
  });

  it('passes over, unread, a record index it does not need: a NUL byte planted in it does not stop the repair of a data object', async () => {
    const x = await withIndex();
    const bytes = await fsp.readFile(x.file);
    const header = bytes.indexOf(Buffer.from(`snap/records/${x.index}\0`));
    expect(header).toBeGreaterThan(0);
    bytes[header + 512 + 5] = 0; // inside the member's body: its size and the archive's layout unchanged
    const altered = join(x.work, 'altered.snap.tar');
    await fsp.writeFile(altered, bytes);
    await fsp.rm(objectPathOf(x.store, TABLE));
    const r = await snapJson(['fsck', '--repair-from', altered, '--store', x.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.repair.repaired.map((o: { sha256: string }) => o.sha256)).toEqual([sha256(TABLE)]);
  });

  it('repairs a data object that follows a record index larger than a read of the archive (3,000 records): the repair used to stop there, and exit 0 with nothing said or repaired', async () => {
    const big = ['id,x,label', ...Array.from({ length: 3000 }, (_, i) => `${i + 1},x${i},${i % 2}`)].join('\n') + '\n';
    const data = await makeTree({ 'train.csv': big, 'z.txt': 'after the indexes\n' });
    const work = await tempDir('snap-repair-rec-');
    const store = join(work, 'store');
    expect((await snapJson(['seal', data, '--as', 't@v1', '--key', keys.key, '--store', store, '--records', 'train.csv key=id label=label'])).code).toBe(0);
    const file = join(work, 't@v1.snap.tar');
    expect((await snapJson(['export', 't@v1', '-o', file, '--store', store])).code).toBe(0);
    await fsp.rm(objectPathOf(store, 'after the indexes\n'));
    const r = await snapJson(['fsck', '--repair-from', file, '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.repair.repaired.map((o: { sha256: string }) => o.sha256)).toEqual([sha256('after the indexes\n')]);
  });
});
