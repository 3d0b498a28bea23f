/**
 * `snap seal` and the store (SPEC §2, §7): deduplication, write-once snapshots, a file changed
 * while it is read, names and file types a seal refuses, and an empty dataset.
 */
import { promises as fsp } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, snap, snapBin, snapJson, writeTree, useKeyPair } from '../helpers/tree.js';
import { TRAIN_CSV, EXAMPLE } from '../helpers/records-example.js';
import { filesUnder, newStorePath, objectFiles, sealTree, sha256, sha256File, uniqueName, useStore } from '../helpers/store.js';

const keys = useKeyPair();
/** For tests that neither count objects nor list every snapshot. */
const shared = useStore();

const TREE = { 'a.txt': 'alpha\n', 'b/b.txt': 'beta\n', 'b/c/d.bin': Buffer.from([0, 1, 2, 3, 255]) };

function sealArgs(data: string, store: string, as = `${uniqueName()}@v1`): string[] {
  return ['seal', data, '--as', as, '--key', keys.key, '--store', store];
}

describe('the store', () => {
  it('keeps one object per file, named by its SHA-256, mode 0444, and a snapshot folder with the three files', async () => {
    const s = await sealTree(TREE, keys);
    const objs = await objectFiles(s.store);
    expect(objs.map((o) => o.name).sort()).toEqual(['alpha\n', 'beta\n', Buffer.from([0, 1, 2, 3, 255])].map((c) => sha256(c)).sort());
    for (const o of objs) {
      expect(await sha256File(o.path)).toBe(o.name);
      expect((await fsp.stat(o.path)).mode & 0o777).toBe(0o444);
    }
    expect(await fsp.readdir(s.dir)).toEqual(expect.arrayContaining(['envelope.json', 'manifest.jsonl', 'statement.json']));
    expect(JSON.parse(await fsp.readFile(join(s.store, 'store.json'), 'utf8'))).toEqual({ format: 'snap-store/1' });
  });

  it('writes the manifest as sorted canonical lines that match the files', async () => {
    const s = await sealTree({ 'z.txt': 'z', 'a/b.txt': 'ab', 'a.txt': 'a', 'a-b.txt': 'a-b' }, keys, { store: shared.path });
    const lines = (await fsp.readFile(join(s.dir, 'manifest.jsonl'), 'utf8')).split('\n');
    expect(lines.pop()).toBe('');
    // Byte order of paths: "a-b.txt" < "a.txt" < "a/b.txt" < "z.txt".
    expect(lines).toEqual([
      `{"path":"a-b.txt","sha256":"${sha256('a-b')}","size":3}`,
      `{"path":"a.txt","sha256":"${sha256('a')}","size":1}`,
      `{"path":"a/b.txt","sha256":"${sha256('ab')}","size":2}`,
      `{"path":"z.txt","sha256":"${sha256('z')}","size":1}`,
    ]);
  });

  it('stores again, in the next seal, small files whose objects were removed from the store (an unchanged seal looks each one up)', async () => {
    const spec: Record<string, string> = {};
    for (let i = 0; i < 600; i++) spec[`f/${i}.txt`] = `file ${i}\n`;
    const data = await makeTree(spec);
    const store = await newStorePath();
    const name = uniqueName();
    expect((await snapJson(sealArgs(data, store, `${name}@v1`))).code).toBe(0);
    // Remove the objects of 20 files, spread over many fan-out folders.
    const gone = Array.from({ length: 20 }, (_, k) => sha256(`file ${k * 30}\n`));
    for (const h of gone) await fsp.rm(join(store, 'objects', 'sha256', h.slice(0, 2), h.slice(2)), { force: true });
    const r = await snapJson(sealArgs(data, store, `${name}@v2`));
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.newObjects).toBe(20);
    const have = new Set((await objectFiles(store)).map((o) => o.name));
    for (const h of gone) expect(have.has(h), h).toBe(true);
    const f = await snapJson(['fsck', '--store', store]);
    expect(f.code, f.stderr).toBe(0);
  }, 120_000);

  it('adds no object when the same data is sealed again as v2, and records v1 as its parent', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const before = await objectFiles(s.store);
    const r = await snapJson(sealArgs(s.data, s.store, `${s.name}@v2`));
    expect(r.code).toBe(0);
    expect(r.json.newObjects).toBe(0);
    expect(r.json.newObjectBytes).toBe(0);
    expect(r.json.parent).toBe(s.snapshot);
    expect(await objectFiles(s.store)).toEqual(before);
  });

  it('adds only the changed content when one file changes', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await fsp.writeFile(join(s.data, 'a.txt'), 'alpha, edited\n');
    const r = await snapJson(sealArgs(s.data, s.store, `${s.name}@v2`));
    expect(r.code).toBe(0);
    expect(r.json.newObjects).toBe(1);
    expect((await objectFiles(s.store)).map((o) => o.name)).toContain(sha256('alpha, edited\n'));
  });

  it('stores one object for two identical files', async () => {
    const s = await sealTree({ 'x/one.txt': 'same bytes', 'y/two.txt': 'same bytes' }, keys);
    const objs = await objectFiles(s.store);
    expect(objs.map((o) => o.name)).toEqual([sha256('same bytes')]);
    const v = await snapJson(['verify', s.data, '--against', s.ref, '--pubkey', keys.pub, '--store', s.store]);
    expect(v.code).toBe(0);
    expect(v.json.counts.matched).toBe(2);
  });

  it('reports the new objects of a first seal with --json', async () => {
    const data = await makeTree({ 'x/one.txt': 'same bytes', 'y/two.txt': 'same bytes', 'z.txt': 'other' });
    const r = await snapJson(sealArgs(data, await newStorePath()));
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ files: 3, bytes: 25, newObjects: 2, newObjectBytes: 15 });
  });

  it('keeps no object with --manifest-only, yet the snapshot verifies', async () => {
    const data = await makeTree(TREE);
    const store = await newStorePath();
    const r = await snapJson([...sealArgs(data, store), '--manifest-only']);
    expect(r.code).toBe(0);
    expect(r.json.newObjects).toBe(0);
    expect(await objectFiles(store)).toEqual([]);
    expect((await snap(['verify', data, '--against', r.json.ref, '--pubkey', keys.pub, '--store', store])).code).toBe(0);
  });

  it('keeps every object when the parent was sealed --manifest-only (its digests say nothing about the store)', async () => {
    const data = await makeTree(TREE);
    const store = await newStorePath();
    const name = uniqueName();
    expect((await snapJson([...sealArgs(data, store, `${name}@v1`), '--manifest-only'])).code).toBe(0);
    const r = await snapJson(sealArgs(data, store, `${name}@v2`));
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.newObjects).toBe(3);
    expect((await objectFiles(store)).map((o) => o.name).sort()).toEqual(Object.values(TREE).map((c) => sha256(c)).sort());
  });

  it('refuses a seal to an existing NAME@VERSION: exit 3, SNAPSHOT_EXISTS, the existing snapshot unchanged', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const read = async () => Promise.all(['manifest.jsonl', 'statement.json', 'envelope.json'].map((f) => fsp.readFile(join(s.dir, f))));
    const before = await read();
    await fsp.writeFile(join(s.data, 'a.txt'), 'different data now\n');
    const r = await snapJson(sealArgs(s.data, s.store, s.ref));
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('SNAPSHOT_EXISTS');
    expect(await read()).toEqual(before);
    const list = await snapJson(['list', s.name, '--store', s.store]);
    expect(list.json.snapshots).toHaveLength(1);
  });

  it('leaves no lock and an empty tmp folder after a successful seal', async () => {
    const s = await sealTree(TREE, keys);
    expect(await filesUnder(join(s.store, 'tmp'))).toEqual([]);
    await expect(fsp.access(join(s.store, 'lock'))).rejects.toThrow();
  });

  it('refuses to create a store in a folder that is not empty and not a store: exit 3', async () => {
    const data = await makeTree({ 'a.txt': 'a' });
    const notAStore = await makeTree({ 'something.txt': 'mine' });
    const r = await snapJson(sealArgs(data, notAStore));
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('STORE_MALFORMED');
    expect(await fsp.readdir(notAStore)).toEqual(['something.txt']);
  });
});

describe('an object planted in the store under the digest of a file not yet sealed (someone who can write the store, with no key)', () => {
  const BIG = Buffer.alloc((9 << 20) + 3, 7); // over 8 MiB: the copy-while-hashing path
  const plants: Array<[string, (obj: string) => Promise<void>]> = [
    ['a shorter file', (obj) => fsp.writeFile(obj, 'planted', { mode: 0o444 })],
    ['a folder', (obj) => fsp.mkdir(obj)],
    ['a symbolic link', (obj) => fsp.symlink('/etc/hostname', obj)],
  ];
  const cases: Array<[string, string | Buffer, string, (obj: string) => Promise<void>]> = [
    ...plants.map(([what, plant]): [string, string | Buffer, string, (obj: string) => Promise<void>] => ['a small file', 'the real bytes of new.txt\n', what, plant]),
    ['a file over 8 MiB', BIG, plants[0]![0], plants[0]![1]],
  ];
  for (const [file, bytes, what, plant] of cases) {
    it(`${file} whose object is ${what}: seal replaces it from the file (counted new, named in mendedObjects), and fsck finds the store clean`, async () => {
      const store = await newStorePath();
      expect((await snapJson(sealArgs(await makeTree({ 'other.txt': 'x' }), store))).code).toBe(0);
      const hex = sha256(bytes);
      const obj = join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2));
      await fsp.mkdir(join(obj, '..'), { recursive: true });
      await plant(obj);
      const r = await snapJson(sealArgs(await makeTree({ 'new.bin': bytes }), store));
      expect(r.code, r.stderr).toBe(0);
      expect(r.json).toMatchObject({ newObjects: 1, newObjectBytes: bytes.length, mendedObjects: [hex] });
      expect(await sha256File(obj)).toBe(hex);
      expect((await fsp.lstat(obj)).mode & 0o777).toBe(0o444);
      const f = await snapJson(['fsck', '--store', store]);
      expect(f.code, f.stdout).toBe(0);
    }, 60_000);
  }

  it('a record index whose object is a shorter file: seal --records replaces it from the index it built', async () => {
    const store = await newStorePath();
    expect((await snapJson(sealArgs(await makeTree({ 'other.txt': 'x' }), store))).code).toBe(0);
    const obj = join(store, 'objects', 'sha256', EXAMPLE.indexSha256.slice(0, 2), EXAMPLE.indexSha256.slice(2));
    await fsp.mkdir(join(obj, '..'), { recursive: true });
    await fsp.writeFile(obj, 'planted', { mode: 0o444 });
    const r = await snapJson([...sealArgs(await makeTree({ 'train.csv': TRAIN_CSV }), store), '--records', 'train.csv key=id label=label']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.mendedObjects).toEqual([EXAMPLE.indexSha256]);
    expect(await sha256File(obj)).toBe(EXAMPLE.indexSha256);
    const f = await snapJson(['fsck', '--store', store]);
    expect(f.code, f.stdout).toBe(0);
  });

  it('with --manifest-only too, which keeps record indexes: the replaced index object is named in --json mendedObjects, as on stderr and in the audit line', async () => {
    const store = await newStorePath();
    expect((await snapJson(sealArgs(await makeTree({ 'other.txt': 'x' }), store))).code).toBe(0);
    const obj = join(store, 'objects', 'sha256', EXAMPLE.indexSha256.slice(0, 2), EXAMPLE.indexSha256.slice(2));
    await fsp.mkdir(join(obj, '..'), { recursive: true });
    await fsp.writeFile(obj, 'planted', { mode: 0o444 });
    const r = await snapJson([...sealArgs(await makeTree({ 'train.csv': TRAIN_CSV }), store), '--manifest-only', '--records', 'train.csv key=id label=label']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`was replaced from it: ${EXAMPLE.indexSha256}`);
    expect(r.json.mendedObjects).toEqual([EXAMPLE.indexSha256]);
    expect(await sha256File(obj)).toBe(EXAMPLE.indexSha256);
  });

  it('says so in words on stderr, naming the object; an unchanged second seal mends nothing', async () => {
    const store = await newStorePath();
    const data = await makeTree({ 'new.txt': 'the real bytes\n' });
    const hex = sha256('the real bytes\n');
    const obj = join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2));
    expect((await snapJson(sealArgs(await makeTree({ 'other.txt': 'x' }), store))).code).toBe(0);
    await fsp.mkdir(join(obj, '..'), { recursive: true });
    await fsp.writeFile(obj, 'planted');
    const name = uniqueName();
    const r = await snap(sealArgs(data, store, `${name}@v1`));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`note: 1 object already in the store was not the size of the file sealed under its digest and was replaced from it: ${hex}`);
    const again = await snapJson(sealArgs(data, store, `${name}@v2`));
    expect(again.json).toMatchObject({ newObjects: 0, mendedObjects: [] });
  });
});

describe('a fan-out folder of the store replaced by a symbolic link (someone who can write the store, with no key)', () => {
  for (const [file, bytes] of [['a small file', 'the bytes of new.txt\n'], ['a file over 8 MiB', Buffer.alloc((9 << 20) + 5, 3)]] as const) {
    it(`${file}: seal writes no object through it into the folder it leads to (STORE_MALFORMED, exit 3, naming it), and commits no snapshot`, async () => {
      const store = await newStorePath();
      expect((await snapJson(sealArgs(await makeTree({ 'other.txt': 'x' }), store))).code).toBe(0);
      const hex = sha256(bytes);
      const outside = join(store, '..', 'outside');
      await fsp.mkdir(outside);
      await fsp.rm(join(store, 'objects', 'sha256', hex.slice(0, 2)), { recursive: true, force: true });
      await fsp.symlink(outside, join(store, 'objects', 'sha256', hex.slice(0, 2)));
      const as = `${uniqueName()}@v1`;
      const r = await snapJson(sealArgs(await makeTree({ 'new.bin': bytes }), store, as));
      expect(r.code, r.stdout).toBe(3);
      expect(r.json.error.code).toBe('STORE_MALFORMED');
      expect(r.json.error.message).toContain(`objects/sha256/${hex.slice(0, 2)} is a symbolic link`);
      expect(await fsp.readdir(outside)).toEqual([]);
      expect(await fsp.readdir(join(store, 'snapshots'))).not.toContain(as.split('@')[0]);
    }, 60_000);
  }
});

describe("a top folder of the store (objects, objects/sha256, snapshots) replaced by a symbolic link (someone who can write the store, with no key)", () => {
  for (const folder of ['objects', 'objects/sha256', 'snapshots']) {
    it(`${folder}: seal writes nothing through it into the folder it leads to (STORE_MALFORMED, exit 3, naming it), and commits no snapshot`, async () => {
      const store = await newStorePath();
      const first = `${uniqueName()}@v1`;
      expect((await snapJson(sealArgs(await makeTree({ 'other.txt': 'x' }), store, first))).code).toBe(0);
      // The store's folder moved away, and a link put in its place to a copy elsewhere (all its readers still read the same).
      const outside = join(store, '..', `outside-${folder.replace('/', '-')}`);
      await fsp.cp(join(store, folder), outside, { recursive: true });
      await fsp.rename(join(store, folder), `${outside}.moved`);
      await fsp.symlink(outside, join(store, folder));
      const before = await filesUnder(outside);
      const as = `${first.split('@')[0]}@v2`;
      const r = await snapJson(sealArgs(await makeTree({ 'new.txt': 'the bytes of new.txt\n' }), store, as));
      expect(r.code, r.stdout).toBe(3);
      expect(r.json.error.code).toBe('STORE_MALFORMED');
      expect(r.json.error.message).toContain(`${folder} is a symbolic link`);
      expect(await filesUnder(outside)).toEqual(before);
    }, 60_000);
  }
});

describe('a file that changes during the seal', () => {
  it.each([
    ['becomes a symbolic link', 'symlink', 'no longer a regular file'],
    ['is removed', 'remove', 'was removed'],
  ])('stops the seal with FILE_CHANGED (exit 3) naming the file, not an I/O error, when a file the walk listed %s before it is opened', async (_what, how, says) => {
    const data = await makeTree({ 'a.txt': 'alpha\n', 'b/victim.txt': 'swapped\n', 'c.txt': 'gamma\n' });
    const store = await newStorePath();
    expect((await snap(['init', '--store', store])).code).toBe(0);
    const r = await snapBin([...sealArgs(data, store, 'ds@v1'), '--json'], { env: { SNAP_TEST_REPLACE_BEFORE_OPEN: `${how}:${join(data, 'b', 'victim.txt')}` } });
    expect(r.code).toBe(3);
    const json = JSON.parse(r.stdout);
    expect(json.error.code).toBe('FILE_CHANGED');
    expect(json.error.details.path).toBe('b/victim.txt');
    expect(json.error.message).toContain(says);
    expect((await snapJson(['list', '--store', store])).json.snapshots).toEqual([]);
  });
  it('stops a seal with --records with FILE_CHANGED (exit 3) when a record file is swapped for a FIFO after it was hashed, before the record reader opens it; nothing is left in the store', async () => {
    const data = await makeTree({ 'a.txt': 'alpha\n', 'train.csv': 'id,label\n1,ham\n2,spam\n' });
    const store = await newStorePath();
    expect((await snap(['init', '--store', store])).code).toBe(0);
    const objectsBefore = (await objectFiles(store)).map((o) => o.name);
    const r = await snapBin([...sealArgs(data, store, 'ds@v1'), '--records', 'train.csv key=id label=label', '--json'], {
      env: { SNAP_TEST_REPLACE_BEFORE_OPEN: `fifo-after-hash:${join(data, 'train.csv')}` },
      timeoutMs: 20_000,
    });
    expect(r.signal, 'the seal hung on the FIFO').toBeNull();
    expect(r.code, r.stderr).toBe(3);
    const json = JSON.parse(r.stdout);
    expect(json.error.code).toBe('FILE_CHANGED');
    expect(json.error.details.path).toBe('train.csv'); // the dataset path, as for any file that changed during a seal
    expect(json.error.message).toMatch(/^train\.csv changed between hashing and reading its records \(.*train\.csv is no longer a regular file.*\); nothing was committed/);
    expect((await fsp.lstat(join(data, 'train.csv'))).isFIFO()).toBe(true); // the swap happened, after the hash
    // Nothing partial: no snapshot, no index object, the seal's tmp folder gone; data objects, if any, are whole.
    expect((await snapJson(['list', '--store', store])).json.snapshots).toEqual([]);
    expect(await filesUnder(join(store, 'snapshots'))).toEqual([]);
    expect(await filesUnder(join(store, 'tmp'))).toEqual([]);
    const csvIndexes = (await objectFiles(store)).filter((o) => !objectsBefore.includes(o.name));
    for (const o of csvIndexes) {
      expect(await sha256File(o.path)).toBe(o.name);
      expect(await fsp.readFile(o.path, 'utf8')).not.toMatch(/"fingerprint"/); // no record index was stored
    }
  });
  it('does not wait on a FIFO put in place of snap.json once it was hashed: with its rules, the seal keeps the bytes it read them from (those hashed) and succeeds; with --records, where it reads snap.json again to keep it, it stops with FILE_CHANGED (exit 3)', async () => {
    const config = JSON.stringify({ records: [{ pattern: 'train.csv', key: ['id'], label: 'label' }] });
    for (const flags of [[], ['--records', 'train.csv key=id label=label']]) {
      const data = await makeTree({ 'snap.json': config, 'train.csv': 'id,label\n1,ham\n2,spam\n' });
      const store = await newStorePath();
      const r = await snapBin([...sealArgs(data, store, 'ds@v1'), ...flags, '--json'], {
        env: { SNAP_TEST_REPLACE_BEFORE_OPEN: `fifo-after-hash:${join(data, 'snap.json')}` },
        timeoutMs: 20_000,
      });
      expect(r.signal, 'the seal hung on the FIFO').toBeNull();
      expect((await fsp.lstat(join(data, 'snap.json'))).isFIFO()).toBe(true); // the swap happened, after the hash
      if (flags.length === 0) {
        expect(r.code, r.stderr).toBe(0);
        expect(await fsp.readFile(join(store, 'objects', 'sha256', sha256(config).slice(0, 2), sha256(config).slice(2)), 'utf8')).toBe(config);
      } else {
        expect(r.code, r.stderr).toBe(3);
        expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'FILE_CHANGED', details: { path: 'snap.json' } });
        expect(await filesUnder(join(store, 'snapshots'))).toEqual([]);
      }
    }
  }, 60_000);
  it('stops the seal: exit 3, FILE_CHANGED naming the file; no snapshot is committed and the seal’s tmp folder is removed', async () => {
    const data = await makeTree({ 'a.txt': 'alpha\n', 'b/victim.txt': 'read me twice\n', 'c.txt': 'gamma\n' });
    const store = await newStorePath();
    expect((await snap(['init', '--store', store])).code).toBe(0); // an existing store: a failed seal leaves it as it was
    const victim = join(data, 'b', 'victim.txt');
    const r = await snapBin([...sealArgs(data, store, 'ds@v1'), '--json'], { env: { SNAP_TEST_MUTATE_DURING_READ: victim } });
    expect(r.code).toBe(3);
    const json = JSON.parse(r.stdout);
    expect(json.error.code).toBe('FILE_CHANGED');
    expect(json.error.details.path).toBe('b/victim.txt');
    expect(r.stderr).toContain('b/victim.txt');
    const list = await snapJson(['list', '--store', store]);
    expect(list.code).toBe(0);
    expect(list.json.snapshots).toEqual([]);
    expect(await filesUnder(join(store, 'snapshots'))).toEqual([]);
    // The failed seal's own folder is gone from tmp (whatever else is left there is not under a final name).
    expect((await filesUnder(join(store, 'tmp'))).filter((p) => p.startsWith('seal-'))).toEqual([]);
    for (const o of await objectFiles(store)) expect(await sha256File(o.path)).toBe(o.name);
    // The data is stable again: the same NAME@VERSION can now be sealed, and the next writer leaves tmp empty.
    const again = await snapJson(sealArgs(data, store, 'ds@v1'));
    expect(again.code).toBe(0);
    expect(await filesUnder(join(store, 'tmp'))).toEqual([]);
  });
});

describe('names and file types a seal refuses', () => {
  it('exits 3 (FILE_UNSUPPORTED_TYPE) naming a FIFO in the dataset', async () => {
    const data = await makeTree({ 'a.txt': 'a', 'd/e.txt': 'e' });
    execFileSync('mkfifo', [join(data, 'd', 'pipe')]);
    const name = uniqueName();
    const r = await snapJson(sealArgs(data, shared.path, `${name}@v1`));
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('FILE_UNSUPPORTED_TYPE');
    expect(r.json.error.details.path).toBe('d/pipe');
    expect(r.stderr).toContain('d/pipe');
    expect((await snapJson(['list', name, '--store', shared.path])).json.error.code).toBe('REF_NOT_FOUND'); // no snapshot of NAME
  });

  it('seals past a FIFO that --exclude leaves out', async () => {
    const data = await makeTree({ 'a.txt': 'a' });
    execFileSync('mkfifo', [join(data, 'pipe')]);
    const r = await snapJson([...sealArgs(data, shared.path), '--exclude', 'pipe']);
    expect(r.code).toBe(0);
    expect(r.json.files).toBe(1);
  });

  it('exits 3 (PATH_CONTROL_CHAR) on a file name holding a newline', async () => {
    const data = await makeTree({ 'a.txt': 'a' });
    await fsp.writeFile(join(data, 'bad\nname.txt'), 'x');
    const r = await snapJson(sealArgs(data, shared.path));
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('PATH_CONTROL_CHAR');
  });

  it('exits 3 (PATH_INVALID_UTF8) on a file name that is not valid UTF-8', async () => {
    const data = await makeTree({ 'a.txt': 'a', 'sub/ok.txt': 'ok' });
    await fsp.writeFile(Buffer.concat([Buffer.from(join(data, 'sub')), Buffer.from([0x2f, 0xff, 0x61])]), 'x');
    const r = await snapJson(sealArgs(data, shared.path));
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('PATH_INVALID_UTF8');
    expect(r.json.error.details.path).toMatch(/^sub\//);
  });

  it('exits 3 (DATASET_EMPTY) on an empty dataset, and on one holding only empty folders', async () => {
    for (const data of [await makeTree({}), await makeTree({})]) {
      await fsp.mkdir(join(data, 'empty', 'deeper'), { recursive: true });
      const r = await snapJson(sealArgs(data, shared.path));
      expect(r.code).toBe(3);
      expect(r.json.error.code).toBe('DATASET_EMPTY');
    }
  });

  it('exits 3 (NOT_FOUND) when the dataset folder does not exist', async () => {
    const data = await makeTree({});
    const r = await snapJson(sealArgs(join(data, 'missing'), shared.path));
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('NOT_FOUND');
  });

  it('accepts names with spaces, unicode and leading dots', async () => {
    const s = await sealTree({ 'with space.txt': '1', 'ünïcødé/日本.txt': '2', '.hidden': '3', 'emoji 🐱.jpg': '4' }, keys, { store: shared.path });
    const v = await snapJson(['verify', s.data, '--against', s.ref, '--pubkey', keys.pub, '--store', s.store]);
    expect(v.code).toBe(0);
    expect(v.json.counts.matched).toBe(4);
  });
});

describe('verify on a folder holding what a seal would refuse', () => {
  it('reports a FIFO added after the seal as extra (exit 1) without blocking on it', async () => {
    const s = await sealTree({ 'a.txt': 'a' }, keys, { store: shared.path });
    execFileSync('mkfifo', [join(s.data, 'pipe')]);
    const v = await snapJson(['verify', s.data, '--against', s.ref, '--pubkey', keys.pub, '--store', s.store]);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([expect.objectContaining({ path: 'pipe', kind: 'extra' })]);
  });

  it('reports a file with a newline in its name added after the seal as extra (exit 1)', async () => {
    const s = await sealTree({ 'a.txt': 'a' }, keys, { store: shared.path });
    await writeTree(s.data, { 'evil\nname': 'x' });
    const v = await snapJson(['verify', s.data, '--against', s.ref, '--pubkey', keys.pub, '--store', s.store]);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([expect.objectContaining({ kind: 'extra' })]);
    expect(v.json.counts.extra).toBe(1);
  });
});
