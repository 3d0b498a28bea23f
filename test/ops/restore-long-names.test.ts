/**
 * Restore of a snapshot holding a name longer than the target's file system can hold. ext4 (and
 * most Linux file systems) hold names of up to 255 UTF-8 bytes (NAME_MAX), so a snapshot sealed
 * there never holds a longer one; one sealed from a bucket (an S3 key segment may be 1,024 bytes) or
 * built as a tar archive may. Restore asks the target about the longest name before it writes any
 * file and refuses it (TARGET_NAME_UNSUPPORTED, exit 3); it failed part-way with IO_ERROR
 * "ENAMETOOLONG" and removed what it wrote. Here the target is the normal temporary folder
 * (ext4); the snapshots are signed archives built by test/archive/helpers.ts. FAT's limit
 * (255 UTF-16 units) is tested in restore-fat.test.ts.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';
import { dataMembers, metaMembers, signSnapshot, testKey, writeTar, type DataSpec } from '../archive/helpers.js';
import type { PrivateKey } from '../../src/core/keys.js';

const keys = useKeyPair('long-names');
let key: PrivateKey;
beforeAll(async () => {
  key = await testKey(keys.key);
});

/** A signed archive of `data` (as `ref`) in a new temporary folder. */
async function archiveOf(data: DataSpec[], ref = 'long@v1'): Promise<string> {
  const file = join(await tempDir('snap-long-'), `${ref}.snap.tar`);
  await writeTar(file, [...metaMembers(signSnapshot(data, key, { as: ref })), ...dataMembers(data)]);
  return file;
}

const LONG = 'L'.repeat(256); // one byte over NAME_MAX
const MAX = 'M'.repeat(255); // exactly NAME_MAX

describe('restore of a name longer than the target holds (ext4: 255 bytes)', () => {
  it('refuses a file name of 256 bytes with TARGET_NAME_UNSUPPORTED, exit 3, naming it, before any file is written; the folder it made is gone', async () => {
    const archive = await archiveOf([{ path: 'a.txt', content: 'a\n' }, { path: `${LONG}.txt`, content: 'long\n' }, { path: 'z.txt', content: 'z\n' }]);
    const out = join(await tempDir('snap-long-out-'), 'out');
    const r = await snapJson(['restore', archive, out, '--pubkey', keys.pub]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('TARGET_NAME_UNSUPPORTED');
    expect(r.json.error.details).toMatchObject({ path: `${LONG}.txt`, name: `${LONG}.txt`, why: 'ENAMETOOLONG' });
    expect(r.json.error.message).toMatch(/cannot hold the name L+\.txt \(it is 260 bytes long; ENAMETOOLONG\): restore into a folder on a file system that can — nothing was written$/);
    await expect(fsp.lstat(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a folder name of 300 bytes, naming the first file under it and the folder', async () => {
    const folder = 'F'.repeat(300);
    const archive = await archiveOf([{ path: 'a.txt', content: 'a\n' }, { path: `d/${folder}/b.txt`, content: 'b\n' }, { path: `d/${folder}/c.txt`, content: 'c\n' }]);
    const out = await tempDir('snap-long-out-');
    const r = await snapJson(['restore', archive, out, '--pubkey', keys.pub]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('TARGET_NAME_UNSUPPORTED');
    expect(r.json.error.details).toMatchObject({ path: `d/${folder}/b.txt`, name: folder });
    expect(await fsp.readdir(out)).toEqual([]); // the empty folder it was given is empty again
  });

  it('counts bytes, not characters: 128 × é is 256 bytes (128 characters) and is refused', async () => {
    const wide = '\u00e9'.repeat(128);
    const archive = await archiveOf([{ path: wide, content: 'wide\n' }]);
    const r = await snapJson(['restore', archive, join(await tempDir('snap-long-out-'), 'out'), '--pubkey', keys.pub]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('TARGET_NAME_UNSUPPORTED');
    expect(r.json.error.details).toMatchObject({ path: wide, kind: 'longest in bytes', why: 'ENAMETOOLONG' });
    expect(r.json.error.message).toContain('(it is 256 bytes long; ENAMETOOLONG)');
  });

  it('refuses it from a store as well (the archive imported first)', async () => {
    const archive = await archiveOf([{ path: 'a.txt', content: 'a\n' }, { path: LONG, content: 'long\n' }], 'longstore@v1');
    const store = await newStorePath();
    const imp = await snapJson(['import', archive, '--pubkey', keys.pub, '--store', store]);
    expect(imp.code, imp.stderr).toBe(0);
    const r = await snapJson(['restore', 'longstore@v1', join(await tempDir('snap-long-out-'), 'out'), '--pubkey', keys.pub, '--store', store]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('TARGET_NAME_UNSUPPORTED');
    expect(r.json.error.details).toMatchObject({ path: LONG, name: LONG });
  });

  it('restores names of exactly 255 bytes, as a file and as a folder, and verifies', async () => {
    const archive = await archiveOf([{ path: MAX, content: 'max\n' }, { path: `${'N'.repeat(255)}/x.txt`, content: 'x\n' }]);
    const out = join(await tempDir('snap-long-out-'), 'out');
    const r = await snapJson(['restore', archive, out, '--pubkey', keys.pub]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.verify.ok).toBe(true);
    expect(await fsp.readFile(join(out, MAX), 'utf8')).toBe('max\n');
    expect((await fsp.readdir(out)).sort()).toEqual([MAX, 'N'.repeat(255)]);
  });
});

/** A folder path of `depth` names of 200 bytes each (201 with its `/`), after `a.txt` in the manifest's order. */
const deepFolder = (depth: number) => Array.from({ length: depth }, (_, i) => `p${String(i).padStart(2, '0')}${'D'.repeat(197)}`).join('/');

describe('restore of a path longer than the system takes under the target (Linux: PATH_MAX, 4,096 bytes with its NUL)', () => {
  it('refuses a path of 4,090 bytes (a valid SPEC §2 path; every name in it fits) with TARGET_NAME_UNSUPPORTED, exit 3, before any file is written', async () => {
    const deep = `${deepFolder(20)}/${'f'.repeat(70)}`;
    expect(Buffer.byteLength(deep)).toBe(4090);
    const archive = await archiveOf([{ path: 'a.txt', content: 'a\n' }, { path: deep, content: 'deep\n' }, { path: 'z.txt', content: 'z\n' }], 'deep@v1');
    const out = join(await tempDir('snap-long-out-'), 'out');
    const r = await snapJson(['restore', archive, out, '--pubkey', keys.pub]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('TARGET_NAME_UNSUPPORTED');
    expect(r.json.error.details).toMatchObject({ path: deep, kind: 'longest path in bytes', why: 'ENAMETOOLONG' });
    expect(r.json.error.message).toMatch(/cannot hold the path .* \(it is \d+ bytes long under the target.*; ENAMETOOLONG\): restore into a folder with a shorter path, or on a system that holds longer paths — nothing was written$/);
    await expect(fsp.lstat(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('counts the temporary name a file is written under (.snap-restore.<12 hex>.tmp, 30 bytes) beside a short name: a 1-byte file at the end of a folder of about 4,060 bytes is refused', async () => {
    const out = await tempDir('snap-long-out-');
    // The folder's length is fitted to the target's (TMPDIR may be longer than /tmp): OUT/FOLDER/x
    // is 4,090 bytes, its temporary name beside it 29 more.
    const room = 4090 - Buffer.byteLength(out) - '/'.length - '/x'.length;
    const depth = Math.floor((room - 2) / 201);
    const deep = `${deepFolder(depth)}/${'f'.repeat(room - 201 * depth)}/x`;
    expect(Buffer.byteLength(join(out, deep))).toBe(4090);
    const archive = await archiveOf([{ path: 'a.txt', content: 'a\n' }, { path: deep, content: 'x\n' }], 'deeptemp@v1');
    // The path itself fits under the target; the temporary one beside it does not.
    expect(Buffer.byteLength(join(out, deep))).toBeLessThan(4096);
    expect(Buffer.byteLength(join(out, deep)) - 1 + 30).toBeGreaterThanOrEqual(4096);
    const r = await snapJson(['restore', archive, out, '--pubkey', keys.pub]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('TARGET_NAME_UNSUPPORTED');
    expect(r.json.error.details).toMatchObject({ path: deep, kind: 'longest path in bytes', why: 'ENAMETOOLONG' });
    expect(await fsp.readdir(out)).toEqual([]);
  });

  it('restores a path of 4,000 bytes under a short target, and verifies', async () => {
    const deep = `${deepFolder(19)}/${'f'.repeat(181)}`;
    expect(Buffer.byteLength(deep)).toBe(4000);
    const archive = await archiveOf([{ path: 'a.txt', content: 'a\n' }, { path: deep, content: 'deep\n' }], 'deepok@v1');
    const out = join(await tempDir('snap-long-out-'), 'o');
    expect(Buffer.byteLength(join(out, deep)) + 1).toBeLessThan(4096 - 30);
    const r = await snapJson(['restore', archive, out, '--pubkey', keys.pub]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.verify.ok).toBe(true);
    expect(await fsp.readFile(join(out, deep), 'utf8')).toBe('deep\n');
  });
});
