/**
 * seal → export → import into a fresh store → restore → `diff -r` against the original is empty;
 * and the refusals of import and restore (untrusted, existing snapshot, non-empty target, …), each
 * with its exit code and error code, writing nothing.
 */
import { promises as fsp } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, snap, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { diffTrees, exists, treeState } from './helpers.js';
import { sealAndExport } from '../helpers/store.js';

const keys = useKeyPair('archive');
const other = useKeyPair('other');

const BIG = randomBytes(9 << 20); // over 8 MiB: the block-by-block path
const SPEC = {
  'train/cat/0001.jpg': randomBytes(3000),
  'train/cat/0002.jpg': randomBytes(5000),
  'train/dog/0001.jpg': randomBytes(1),
  'train/dup.jpg': 'same bytes',
  'val/dup.jpg': 'same bytes',
  'labels.csv': 'a,1\nb,2\n',
  'empty.txt': '',
  'big.bin': BIG,
  'ünïcødé/名前.txt': 'non-ascii\n',
  [`long/${'n'.repeat(120)}/${'m'.repeat(120)}.txt`]: 'long path\n',
  'links/to-labels': { symlink: '../labels.csv' },
  'links/to-folder': { symlink: '../train' },
  'links/dangling': { symlink: 'nowhere' },
};

const setup = (spec: Record<string, string | Buffer | { symlink: string }> = SPEC) => sealAndExport(spec, keys, 'snap-rt-');

describe('the round trip', () => {
  it('seal → export → import into a fresh store → restore gives the original tree (diff -r is empty)', async () => {
    const { data, work, file, snapshot } = await setup();
    const fresh = join(work, 'fresh-store');
    const i = await snapJson(['import', file, '--pubkey', keys.pub, '--store', fresh]);
    expect(i.code, i.stderr).toBe(0);
    expect(i.json).toMatchObject({ ok: true, ref: 'ds@v1', snapshot, alreadyPresent: false, files: 10, symlinks: 3 });
    expect(i.json.newObjects).toBe(9); // the two identical files share one object
    const out = join(work, 'restored');
    const r = await snapJson(['restore', 'ds@v1', out, '--pubkey', keys.pub, '--store', fresh]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ ok: true, ref: 'ds@v1', snapshot, files: 10, symlinks: 3, verify: { ok: true, problems: [] } });
    const d = diffTrees(data, out);
    expect(d.code, d.out).toBe(0);
    // The imported snapshot verifies the original data too.
    const v = await snapJson(['verify', data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', fresh]);
    expect(v.code, v.stderr).toBe(0);
  });

  it('restores straight from an archive, and from the store it was sealed into', async () => {
    const { data, work, file, store } = await setup();
    const a = join(work, 'from-archive');
    const r1 = await snapJson(['restore', file, a, '--pubkey', keys.pub]);
    expect(r1.code, r1.stderr).toBe(0);
    expect(diffTrees(data, a).code).toBe(0);
    const b = join(work, 'from-store');
    await fsp.mkdir(b); // an existing empty folder is fine
    const r2 = await snapJson(['restore', 'ds@v1', b, '--pubkey', keys.pub, '--store', store]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(diffTrees(data, b).code).toBe(0);
  });

  it('round-trips many batches: read buffers are filled again only after their bytes are written', async () => {
    // 1,500 small files (six batches of 256, or 4 MiB), empty ones among them, and two large files
    // of several blocks: the export's read buffers and the restore's write buffers are reused many
    // times over. (A buffer handed out too early would be detached by the transfer, so its bytes
    // would be missing from the archive; whether that happens depends on timing, so this test can
    // only show that it did not here.)
    const spec: Record<string, string | Buffer> = { 'a-big.bin': randomBytes((13 << 20) + 7), 'z-big.bin': randomBytes(9 << 20) };
    for (let i = 0; i < 1500; i++) spec[`many/${String(i).padStart(4, '0')}.bin`] = i % 97 === 0 ? '' : randomBytes(1 + ((i * 7919) % 20000));
    const { data, work, file, store } = await setup(spec);
    const again = join(work, 'again.snap.tar');
    expect((await snapJson(['export', 'ds@v1', '-o', again, '--store', store])).code).toBe(0);
    expect((await fsp.readFile(again)).equals(await fsp.readFile(file))).toBe(true);
    const v = await snapJson(['verify', file, '--pubkey', keys.pub]);
    expect(v.code, v.stderr).toBe(0);
    const out = join(work, 'from-archive');
    const r = await snapJson(['restore', file, out, '--pubkey', keys.pub]);
    expect(r.code, r.stderr).toBe(0);
    expect(diffTrees(data, out).code).toBe(0);
  });

  it('imports an archive sealed straight to a file (seal --out), and restores it', async () => {
    const data = await makeTree(SPEC);
    const work = await tempDir('snap-rt-');
    const file = join(work, 'out.snap.tar');
    const s = await snapJson(['seal', data, '--as', 'ds@v2', '--key', keys.key, '--out', file, '--store', join(work, 'no-store')]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.json).toMatchObject({ ok: true, ref: 'ds@v2', files: 13, archive: file });
    expect(await exists(join(work, 'no-store'))).toBe(false); // no store was needed
    const store = join(work, 'store');
    expect((await snapJson(['import', file, '--pubkey', keys.pub, '--store', store])).code).toBe(0);
    const out = join(work, 'out');
    expect((await snapJson(['restore', 'ds@v2', out, '--pubkey', keys.pub, '--store', store])).code).toBe(0);
    expect(diffTrees(data, out).code).toBe(0);
  });
});

describe('snap import', () => {
  it('says so and exits 0 when the store already holds that very snapshot', async () => {
    const { file, store, snapshot } = await setup({ 'a.txt': 'a' });
    const r = await snapJson(['import', file, '--pubkey', keys.pub, '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ ok: true, alreadyPresent: true, snapshot, newObjects: 0 });
  });

  it("refuses (INTEGRITY_FAILURE, exit 1) when the store holds that snapshot with a manifest that is not the signed one, rather than calling it already there", async () => {
    const { file, store } = await setup({ 'a.txt': 'a', 'b.txt': 'b' });
    const manifest = join(store, 'snapshots', 'ds', 'v1', 'manifest.jsonl');
    await fsp.chmod(manifest, 0o644);
    await fsp.writeFile(manifest, (await fsp.readFile(manifest, 'utf8')).replace('"b.txt"', '"c.txt"'));
    const r = await snapJson(['import', file, '--pubkey', keys.pub, '--store', store]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.error.code).toBe('INTEGRITY_FAILURE');
  });

  it('refuses when NAME@VERSION holds another snapshot (SNAPSHOT_EXISTS, exit 3), changing nothing', async () => {
    const { file, work } = await setup({ 'a.txt': 'a' });
    const store2 = join(work, 'store2');
    const s = await snapJson(['seal', await makeTree({ 'b.txt': 'b' }), '--as', 'ds@v1', '--key', keys.key, '--store', store2]);
    expect(s.code).toBe(0);
    const before = await treeState(store2);
    const r = await snapJson(['import', file, '--pubkey', keys.pub, '--store', store2]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('SNAPSHOT_EXISTS');
    const after = await treeState(store2);
    // The refused import is logged (as every import is): the audit log and its head move; nothing else.
    for (const f of ['log.jsonl', 'log.head']) {
      delete before[f];
      delete after[f];
    }
    expect(after).toEqual(before);
  });

  it('refuses an archive no trusted key signed (SIGNATURE_INVALID, exit 1) and adds nothing to the store', async () => {
    const { file, work } = await setup({ 'a.txt': 'a' });
    const fresh = join(work, 'fresh');
    const r = await snapJson(['import', file, '--pubkey', other.pub, '--store', fresh]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('SIGNATURE_INVALID');
    expect(await exists(join(fresh, 'snapshots', 'ds'))).toBe(false);
    const objects = Object.values(await treeState(join(fresh, 'objects'))).filter((v) => v.startsWith('file:'));
    expect(objects).toEqual([]);
  });

  it('writes nothing through a fan-out folder that is a symbolic link (STORE_MALFORMED, exit 3): no object lands where it leads, no snapshot is added', async () => {
    const { file, work } = await setup({ 'a.txt': 'a' });
    const fresh = join(work, 'fresh');
    expect((await snapJson(['init', '--store', fresh])).code).toBe(0);
    const hex = createHash('sha256').update('a').digest('hex');
    const outside = join(work, 'outside');
    await fsp.mkdir(outside);
    await fsp.mkdir(join(fresh, 'objects', 'sha256'), { recursive: true });
    await fsp.symlink(outside, join(fresh, 'objects', 'sha256', hex.slice(0, 2)));
    const r = await snapJson(['import', file, '--pubkey', keys.pub, '--store', fresh]);
    expect(r.code, r.stdout).toBe(3);
    expect(r.json.error.code).toBe('STORE_MALFORMED');
    expect(r.json.error.message).toContain(`objects/sha256/${hex.slice(0, 2)} is a symbolic link`);
    expect(await fsp.readdir(outside)).toEqual([]);
    expect(await exists(join(fresh, 'snapshots', 'ds'))).toBe(false);
  });

  it('writes no snapshot folder through a snapshots/NAME folder that is a symbolic link (STORE_MALFORMED, exit 3)', async () => {
    const { file, work } = await setup({ 'a.txt': 'a' });
    const fresh = join(work, 'fresh');
    expect((await snapJson(['init', '--store', fresh])).code).toBe(0);
    const outside = join(work, 'outside');
    await fsp.mkdir(outside);
    await fsp.symlink(outside, join(fresh, 'snapshots', 'ds'));
    const r = await snapJson(['import', file, '--pubkey', keys.pub, '--store', fresh]);
    expect(r.code, r.stdout).toBe(3);
    expect(r.json.error.code).toBe('STORE_MALFORMED');
    expect(r.json.error.message).toContain('snapshots/ds is a symbolic link');
    expect(await fsp.readdir(outside)).toEqual([]);
  });

  it('deduplicates: objects the store already has are checked, not written again', async () => {
    const { file, store, work } = await setup({ 'a.txt': 'shared', 'b.txt': 'new' });
    const store2 = join(work, 'store2');
    expect((await snapJson(['seal', await makeTree({ 'x.txt': 'shared' }), '--as', 'other@v1', '--key', keys.key, '--store', store2])).code).toBe(0);
    const r = await snapJson(['import', file, '--pubkey', keys.pub, '--store', store2]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ files: 2, newObjects: 1, newObjectBytes: 3 });
    void store;
  });

  describe('an object the store already has, damaged, is mended from the archive (whose every member checked out)', () => {
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    const damages: Array<[string, (obj: string) => Promise<void>]> = [
      ['same size, other bytes', async (obj) => fsp.writeFile(obj, 'sharXd')],
      ['truncated', async (obj) => fsp.writeFile(obj, 'sha')],
      ['a folder in its place', async (obj) => fsp.mkdir(obj)],
      ['a symbolic link in its place', async (obj) => fsp.symlink('/dev/null', obj)],
    ];
    for (const [what, damage] of damages) {
      it(`${what}: import replaces it, names it (note, --json mendedObjects), and the snapshot restores`, async () => {
        const { file, work } = await setup({ 'a.txt': 'shared', 'b.txt': 'new' });
        const store2 = join(work, 'store2');
        expect((await snapJson(['seal', await makeTree({ 'x.txt': 'shared' }), '--as', 'other@v1', '--key', keys.key, '--store', store2])).code).toBe(0);
        const hex = sha('shared');
        const obj = join(store2, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2));
        await fsp.chmod(obj, 0o644);
        await fsp.rm(obj);
        await damage(obj);
        const r = await snapJson(['import', file, '--pubkey', keys.pub, '--store', store2]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.json).toMatchObject({ files: 2, newObjects: 1, newObjectBytes: 3, mendedObjects: [hex] });
        expect(await fsp.readFile(obj, 'utf8')).toBe('shared');
        const h = await snapJson(['import', file, '--pubkey', keys.pub, '--store', join(work, 'store3')]);
        expect(h.json.mendedObjects).toEqual([]); // nothing to mend in a fresh store
        const out = join(work, 'restored');
        const rs = await snapJson(['restore', 'ds@v1', out, '--pubkey', keys.pub, '--store', store2]);
        expect(rs.code, rs.stderr).toBe(0);
        const f = await snapJson(['fsck', '--store', store2]);
        expect(f.code, f.stdout).toBe(0);
      });
    }

    /** An archive of one 3 MiB file, and another store holding its object with one byte changed far past its first chunk. */
    async function bigObjectChangedPastFirstChunk() {
      const big = randomBytes((3 << 20) + 11);
      const { file, work } = await setup({ 'big.bin': big });
      const store2 = join(work, 'store2');
      expect((await snapJson(['seal', await makeTree({ 'same.bin': big }), '--as', 'other@v1', '--key', keys.key, '--store', store2])).code).toBe(0);
      const hex = createHash('sha256').update(big).digest('hex');
      const obj = join(store2, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2));
      const bad = Buffer.from(big);
      const at = (2 << 20) + 5;
      bad.writeUInt8(bad.readUInt8(at) ^ 0xff, at);
      await fsp.chmod(obj, 0o644);
      await fsp.writeFile(obj, bad);
      return { big, file, store2, hex, obj };
    }

    it('a large object with one byte changed far past its first chunk: the matching prefix and the rest make the copy', async () => {
      const { big, file, store2, hex, obj } = await bigObjectChangedPastFirstChunk();
      const r = await snapJson(['import', file, '--pubkey', keys.pub, '--store', store2]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json).toMatchObject({ newObjects: 0, mendedObjects: [hex] });
      expect((await fsp.readFile(obj)).equals(big)).toBe(true);
      expect((await fsp.stat(obj)).mode & 0o777).toBe(0o444);
    });

    it('an object that changes between the comparison and the copy of its matching start is refused (OBJECT_CORRUPT, exit 1): nothing imported, no copy of it kept', async () => {
      const { file, store2, hex, obj } = await bigObjectChangedPastFirstChunk();
      process.env.SNAP_TEST_CHANGE_OBJECT_BEFORE_COPY = obj;
      try {
        const r = await snapJson(['import', file, '--pubkey', keys.pub, '--store', store2]);
        expect([r.code, r.json.error?.code], r.stderr).toEqual([1, 'OBJECT_CORRUPT']);
        expect(r.json.error.message).toContain(`object ${hex} in ${store2} changed while import read it; nothing was imported`);
      } finally {
        delete process.env.SNAP_TEST_CHANGE_OBJECT_BEFORE_COPY;
      }
      expect(await exists(join(store2, 'snapshots', 'ds'))).toBe(false);
      expect((await fsp.readdir(join(store2, 'tmp'))).filter((n) => !n.startsWith('.'))).toEqual([]);
    });

    it('says so in words on stderr, naming the object', async () => {
      const { file, work } = await setup({ 'a.txt': 'shared' });
      const store2 = join(work, 'store2');
      expect((await snapJson(['seal', await makeTree({ 'x.txt': 'shared' }), '--as', 'other@v1', '--key', keys.key, '--store', store2])).code).toBe(0);
      const hex = sha('shared');
      const obj = join(store2, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2));
      await fsp.chmod(obj, 0o644);
      await fsp.writeFile(obj, 'sharXd');
      const r = await snap(['import', file, '--pubkey', keys.pub, '--store', store2]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`note: 1 object already in the store did not hold its bytes and was replaced from the archive: ${hex}`);
    });
  });

  it('needs --pubkey (importing untrusted data is refused: usage error, exit 2)', async () => {
    const { file, work } = await setup({ 'a.txt': 'a' });
    const r = await snapJson(['import', file, '--store', join(work, 's')]);
    expect(r.code).toBe(2);
  });
});

describe('snap restore', () => {
  it('refuses a target that is not empty (TARGET_NOT_EMPTY, exit 3) and leaves it as it was', async () => {
    const { file, work } = await setup({ 'a.txt': 'a' });
    const out = join(work, 'busy');
    await fsp.mkdir(out);
    await fsp.writeFile(join(out, 'mine.txt'), 'do not touch');
    const r = await snapJson(['restore', file, out, '--pubkey', keys.pub]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('TARGET_NOT_EMPTY');
    expect(await treeState(out)).toEqual({ 'mine.txt': `file:${createHash('sha256').update('do not touch').digest('hex')}` });
  });

  it('refuses a target that is a file, a FIFO or a link to nothing (TARGET_NOT_EMPTY, exit 3), saying what it is, and leaves it as it was', async () => {
    const { file, work } = await setup({ 'a.txt': 'a' });
    await fsp.writeFile(join(work, 'a-file'), 'mine');
    expect(spawnSync('mkfifo', [join(work, 'a-fifo')]).status).toBe(0);
    await fsp.symlink('nowhere', join(work, 'dangling'));
    for (const [name, says] of [['a-file', /a-file exists and is not a folder/], ['a-fifo', /a-fifo exists and is not a folder/], ['dangling', /dangling is a symbolic link to nothing \(nowhere\)/]] as const) {
      const r = await snapJson(['restore', file, join(work, name), '--pubkey', keys.pub]);
      expect(r.code, name).toBe(3);
      expect(r.json.error.code, name).toBe('TARGET_NOT_EMPTY');
      expect(r.json.error.message, name).toMatch(says);
    }
    expect(await fsp.readFile(join(work, 'a-file'), 'utf8')).toBe('mine');
    expect((await fsp.lstat(join(work, 'a-fifo'))).isFIFO()).toBe(true);
    expect(await fsp.readlink(join(work, 'dangling'))).toBe('nowhere');
    expect(await exists(join(work, 'nowhere'))).toBe(false);
  });

  it('restores into the folder a link names, and under a linked parent', async () => {
    const { file, work } = await setup({ 'a.txt': 'a' });
    await fsp.mkdir(join(work, 'real'));
    await fsp.symlink('real', join(work, 'link'));
    expect((await snapJson(['restore', file, join(work, 'link'), '--pubkey', keys.pub])).code).toBe(0);
    expect(await fsp.readFile(join(work, 'real', 'a.txt'), 'utf8')).toBe('a');
    expect((await snapJson(['restore', file, join(work, 'link', 'sub'), '--pubkey', keys.pub])).code).toBe(0);
    expect(await fsp.readFile(join(work, 'real', 'sub', 'a.txt'), 'utf8')).toBe('a');
  });

  it('refuses an untrusted snapshot (exit 1) without making the target', async () => {
    const { file, work, store } = await setup({ 'a.txt': 'a' });
    for (const ref of [file, 'ds@v1']) {
      const out = join(work, 'never');
      const r = await snapJson(['restore', ref, out, '--pubkey', other.pub, '--store', store]);
      expect(r.code, ref).toBe(1);
      expect(r.json.error.code).toBe('SIGNATURE_INVALID');
      expect(await exists(out)).toBe(false);
    }
  });

  it('refuses a snapshot sealed --manifest-only (SNAPSHOT_NO_CONTENTS, exit 3)', async () => {
    const data = await makeTree({ 'a.txt': 'a' });
    const work = await tempDir('snap-rt-');
    const store = join(work, 'store');
    expect((await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--manifest-only'])).code).toBe(0);
    const out = join(work, 'out');
    const r = await snapJson(['restore', 'ds@v1', out, '--pubkey', keys.pub, '--store', store]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('SNAPSHOT_NO_CONTENTS');
    expect(await exists(out)).toBe(false);
  });

  it('refuses a corrupt store object (OBJECT_CORRUPT, exit 1) and removes everything it wrote', async () => {
    const spec = { 'a.txt': 'first', 'm/big.bin': BIG, 'z.txt': 'last one' };
    const { work, store } = await setup(spec);
    for (const content of ['last one', BIG]) {
      const hex = createHash('sha256').update(content).digest('hex');
      const obj = join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2));
      await fsp.chmod(obj, 0o644);
      const bytes = await fsp.readFile(obj);
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
      await fsp.writeFile(obj, bytes);
      const out = join(work, `out-${hex.slice(0, 6)}`);
      const r = await snapJson(['restore', 'ds@v1', out, '--pubkey', keys.pub, '--store', store]);
      expect(r.code).toBe(1);
      expect(r.json.error.code).toBe('OBJECT_CORRUPT');
      expect(await exists(out)).toBe(false);
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
      await fsp.writeFile(obj, bytes);
    }
  });

  it('refuses when the parent of the target is missing (NOT_FOUND, exit 3)', async () => {
    const { file, work } = await setup({ 'a.txt': 'a' });
    const r = await snapJson(['restore', file, join(work, 'no', 'such', 'place'), '--pubkey', keys.pub]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('NOT_FOUND');
    expect(await exists(join(work, 'no'))).toBe(false);
  });
});
