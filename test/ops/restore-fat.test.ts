/**
 * Restore onto FAT, a file system without symbolic links and without Unix modes.
 *
 * Links: symlink(2) fails there (ENOSYS through fusefat, EPERM from the kernel). A snapshot with a
 * link cannot be restored there whole; restore asks the target first and refuses it
 * (TARGET_NO_SYMLINKS, exit 3, naming the link) before it writes any file — not after it wrote
 * every file of the dataset, which may be terabytes, and then failed on the first link with a bare
 * "ENOSYS: function not implemented".
 *
 * Modes: chmod(2) fails there too (ENOSYS through fusefat; EPERM from the kernel for a mode the
 * mount options cannot show). A mode is not part of a snapshot, so the chmod that gives the restored
 * folder its final mode must not fail a restore that wrote and verified every file.
 *
 * The FAT file system is a 16 MiB image mounted with fusefat (test/helpers/fat.ts: Debian's fusefat
 * and dosfstools, which .ci/run installs); the test needs root, as CI has, and fails when it cannot
 * mount one rather than pass unseen.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { sealTree } from '../helpers/store.js';
import { useFat } from '../helpers/fat.js';
import { dataMembers, metaMembers, signSnapshot, testKey, writeTar } from '../archive/helpers.js';

const keys = useKeyPair('no-links');

/** A file larger than the FAT image, and a link: writing the files first fills the disk before the link is reached. */
const WITH_LINK = { 'big.bin': Buffer.alloc(20 << 20, 1), 'notes.txt': 'notes\n', 'latest': { symlink: 'notes.txt' } };

/** A 16 MiB FAT image mounted with fusefat (fails its first test where it cannot be). */
const fat = await useFat();

describe.skipIf(fat.why !== undefined)('restore onto a file system without symbolic links (FAT, through fusefat)', () => {
  const { onDisk } = fat;

  beforeEach(() => fat.clear());

  it('refuses a snapshot with a link with TARGET_NO_SYMLINKS, exit 3, naming it, before any file is written; the folder it made is gone', async () => {
    const s = await sealTree(WITH_LINK, keys);
    const r = await snapJson(['restore', s.ref, join(fat.mnt, 'out'), '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('TARGET_NO_SYMLINKS');
    expect(r.json.error.details.path).toBe('latest');
    expect(r.json.error.message).toMatch(/^latest is a symbolic link of .*, but the file system of .* cannot hold symbolic links .*: restore into a folder on a file system that can — nothing was written$/);
    expect(await onDisk()).toEqual([]);
  });

  it('refuses it from an archive too; an existing empty folder is left empty', async () => {
    const s = await sealTree(WITH_LINK, keys);
    const archive = join(await tempDir('snap-no-links-'), `${s.ref}.snap.tar`);
    expect((await snapJson(['export', s.ref, '-o', archive, '--store', s.store])).code).toBe(0);
    await fsp.mkdir(join(fat.mnt, 'out'));
    const r = await snapJson(['restore', archive, join(fat.mnt, 'out'), '--pubkey', keys.pub]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('TARGET_NO_SYMLINKS');
    expect(await onDisk()).toEqual(['out']);
  });
});

describe.skipIf(fat.why !== undefined)('restore onto a file system without Unix modes (FAT, through fusefat)', () => {
  beforeEach(() => fat.clear());

  it('restores a snapshot without links into a folder it makes there, whole and verified (the final chmod of the folder fails: no mode to set)', async () => {
    const s = await sealTree({ 'a.txt': 'a\n', 'sub/b.txt': 'b\n' }, keys);
    const r = await snapJson(['restore', s.ref, join(fat.mnt, 'out'), '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.verify.ok).toBe(true);
    expect(await fsp.readFile(join(fat.mnt, 'out', 'sub', 'b.txt'), 'utf8')).toBe('b\n');
  });

  it('restores a file larger than 8 MiB from a store there (the kernel copy sets the object\'s mode, which FAT refuses: copied by reads and writes instead)', async () => {
    const big = Buffer.alloc(9 << 20, 3);
    const s = await sealTree({ 'big.bin': big, 'a.txt': 'a\n' }, keys);
    const r = await snapJson(['restore', s.ref, join(fat.mnt, 'out'), '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.verify.ok).toBe(true);
    expect((await fsp.readFile(join(fat.mnt, 'out', 'big.bin'))).equals(big)).toBe(true);
    expect((await fsp.readdir(join(fat.mnt, 'out'))).sort()).toEqual(['a.txt', 'big.bin']);
  });

  it('restores it into an existing empty folder there too', async () => {
    const s = await sealTree({ 'a.txt': 'a\n' }, keys);
    await fsp.mkdir(join(fat.mnt, 'out'));
    const r = await snapJson(['restore', s.ref, join(fat.mnt, 'out'), '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(await fsp.readFile(join(fat.mnt, 'out', 'a.txt'), 'utf8')).toBe('a\n');
  });
});

describe.skipIf(fat.why !== undefined)('restore onto a file system that cannot hold some names (FAT, through fusefat)', () => {
  const { onDisk } = fat;

  beforeEach(() => fat.clear());

  it('refuses a snapshot holding 12:00.json with TARGET_NAME_UNSUPPORTED, exit 3, naming it, before any file is written (a file larger than the disk comes first); the folder it made is gone', async () => {
    const s = await sealTree({ '0big.bin': Buffer.alloc(20 << 20, 1), '12:00.json': '{}\n', 'notes.txt': 'notes\n' }, keys);
    const r = await snapJson(['restore', s.ref, join(fat.mnt, 'out'), '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('TARGET_NAME_UNSUPPORTED');
    expect(r.json.error.details).toMatchObject({ path: '12:00.json', name: '12:00.json' });
    expect(r.json.error.message).toMatch(/^12:00\.json is a path of .*, but the file system of .* cannot hold the name 12:00\.json \(.*\): restore into a folder on a file system that can — nothing was written$/);
    expect(await onDisk()).toEqual([]);
  });

  it.each(['a?b', 'a"b', 'a*b', 'a<b', 'a>b', 'a|b', 'a\\b', 'caf\u00e9'])('refuses a file named %s the same way', async (name) => {
    const s = await sealTree({ 'a.txt': 'a\n', [name]: 'x\n', 'z.txt': 'z\n' }, keys);
    const r = await snapJson(['restore', s.ref, join(fat.mnt, 'out'), '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('TARGET_NAME_UNSUPPORTED');
    expect(r.json.error.details).toMatchObject({ path: name, name });
    expect(await onDisk()).toEqual([]);
  });

  it('refuses a folder it cannot name (what?/), naming the first file under it and the folder', async () => {
    const s = await sealTree({ 'a.txt': 'a\n', 'what?/b.txt': 'b\n', 'what?/c.txt': 'c\n' }, keys);
    const r = await snapJson(['restore', s.ref, join(fat.mnt, 'out'), '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('TARGET_NAME_UNSUPPORTED');
    expect(r.json.error.details).toMatchObject({ path: 'what?/b.txt', name: 'what?' });
    expect(await onDisk()).toEqual([]);
  });

  it('refuses it from an archive too; an existing empty folder is left empty', async () => {
    const s = await sealTree({ 'a.txt': 'a\n', 'b:c.txt': 'b\n' }, keys);
    const archive = join(await tempDir('snap-fat-names-'), `${s.ref}.snap.tar`);
    expect((await snapJson(['export', s.ref, '-o', archive, '--store', s.store])).code).toBe(0);
    await fsp.mkdir(join(fat.mnt, 'out'));
    const r = await snapJson(['restore', archive, join(fat.mnt, 'out'), '--pubkey', keys.pub]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('TARGET_NAME_UNSUPPORTED');
    expect(r.json.error.details).toMatchObject({ path: 'b:c.txt' });
    expect(await onDisk()).toEqual(['out']);
  });

  it('refuses a name of 256 characters (FAT holds 255 UTF-16 units) from an archive, before any file is written (a file larger than the disk comes first); a name of 255 restores', async () => {
    const long = 'L'.repeat(256);
    const data = [{ path: '0big.bin', content: Buffer.alloc(20 << 20, 1) }, { path: long, content: 'long\n' }];
    const archive = join(await tempDir('snap-fat-names-'), 'long@v1.snap.tar');
    await writeTar(archive, [...metaMembers(signSnapshot(data, await testKey(keys.key), { as: 'long@v1' })), ...dataMembers(data)]);
    const r = await snapJson(['restore', archive, join(fat.mnt, 'out'), '--pubkey', keys.pub]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('TARGET_NAME_UNSUPPORTED');
    expect(r.json.error.details).toMatchObject({ path: long, name: long, kind: 'longest in bytes' });
    expect(r.json.error.message).toContain('(it is 256 bytes long; ');
    expect(await onDisk()).toEqual([]);

    const fits = [{ path: 'M'.repeat(255), content: 'max\n' }];
    const ok = join(await tempDir('snap-fat-names-'), 'max@v1.snap.tar');
    await writeTar(ok, [...metaMembers(signSnapshot(fits, await testKey(keys.key), { as: 'max@v1' })), ...dataMembers(fits)]);
    const r2 = await snapJson(['restore', ok, join(fat.mnt, 'out'), '--pubkey', keys.pub]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(await onDisk()).toEqual(['out', `out/${'M'.repeat(255)}`]);
  });

  it('restores names that look odd but that it holds (a trailing dot or space, a DOS device name): the target is asked, not guessed at', async () => {
    const spec = { 'trail.': '1\n', 'trail ': '2\n', 'con': '3\n', 'sub./x.txt': '4\n' };
    const s = await sealTree(spec, keys);
    const r = await snapJson(['restore', s.ref, join(fat.mnt, 'out'), '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.verify.ok).toBe(true);
    for (const [path, text] of Object.entries(spec)) expect(await fsp.readFile(join(fat.mnt, 'out', path), 'utf8'), path).toBe(text);
    expect(await onDisk()).toEqual(['out', 'out/con', 'out/sub.', 'out/sub./x.txt', 'out/trail ', 'out/trail.']);
  });
});
