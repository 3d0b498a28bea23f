/**
 * Restore onto a file system that folds names. A snapshot may hold `X.txt` and `x.txt`, or the
 * folders `Data/` and `data/` (two byte strings, two manifest paths); a case-insensitive target
 * would write them onto one file, or merge the folders. Restore probes the target and refuses
 * such a snapshot there with TARGET_FOLDS_NAMES (exit 3) before it writes anything; on a file
 * system that keeps the names apart, the same snapshot restores whole.
 *
 * The folding file system is a FAT image mounted with fusefat (FUSE; Debian's fusefat and
 * dosfstools packages, which .ci/run installs): FAT ignores case. This kernel has no
 * CONFIG_UNICODE, so neither ext4's casefold (`chattr +F`) nor tmpfs's `casefold=` can be used, and
 * no normalization-insensitive file system (APFS, HFS+) could be mounted: NFC/NFD twins are tested
 * on the pure twin finder (test/core/name-folding.test.ts). Where FUSE cannot be mounted, the
 * file fails (its first test names why) rather than pass unseen.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { sealTree } from '../helpers/store.js';
import { useFat } from '../helpers/fat.js';
import { probeNameFolding } from '../../src/io/name-folding.js';

const keys = useKeyPair('folding');

/** Twins under case folding and under NFC/NFD, and a plain file. */
const TWINS = { 'X.txt': 'upper\n', 'x.txt': 'lower\n', 'Data/a.txt': 'in Data\n', 'data/b.txt': 'in data\n', 'caf\u00e9.txt': 'nfc\n', 'cafe\u0301.txt': 'nfd\n', 'plain.txt': 'plain\n' };

/** A 16 MiB FAT image mounted with fusefat (fails its first test where it cannot be). */
const fat = await useFat();

describe('restore onto a file system that keeps the names apart', () => {
  it('writes twins that differ only by case, by folder case or by NFC/NFD, each as its own file, and verifies', async () => {
    const s = await sealTree(TWINS, keys);
    const out = join(await tempDir('snap-twins-'), 'out');
    await fsp.mkdir(out);
    expect(await probeNameFolding(out)).toEqual({ case: false, normalization: false }); // else this test proves nothing
    await fsp.rmdir(out);
    const r = await snapJson(['restore', s.ref, out, '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.verify.ok).toBe(true);
    for (const [path, text] of Object.entries(TWINS)) expect(await fsp.readFile(join(out, path), 'utf8'), path).toBe(text);
    expect((await fsp.readdir(out)).sort()).toEqual(['Data', 'X.txt', 'caf\u00e9.txt', 'cafe\u0301.txt', 'data', 'plain.txt', 'x.txt'].sort());
  });
});

describe.skipIf(fat.why !== undefined)('restore onto a case-insensitive file system (FAT, through fusefat)', () => {
  const { mnt, onDisk } = fat;

  beforeEach(() => fat.clear());

  it('is found to fold case by the probe, which leaves nothing behind', async () => {
    expect(await probeNameFolding(mnt)).toEqual({ case: true, normalization: false }); // FAT refuses é here: it cannot fold what it cannot hold
    expect(await onDisk()).toEqual([]);
  });

  it('refuses X.txt beside x.txt with TARGET_FOLDS_NAMES, exit 3, naming both; the folder it made is gone', async () => {
    const s = await sealTree({ 'X.txt': 'upper\n', 'plain.txt': 'plain\n', 'x.txt': 'lower\n' }, keys);
    const r = await snapJson(['restore', s.ref, join(mnt, 'out'), '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('TARGET_FOLDS_NAMES');
    expect(r.json.error.details.paths).toEqual(['X.txt', 'x.txt']);
    expect(r.json.error.message).toMatch(/^X\.txt and x\.txt are two paths of .*, which ignores case: .*nothing was written$/);
    expect(await onDisk()).toEqual([]);
  });

  it('refuses folders Data/ and data/ (they would merge) from an archive; an existing empty folder is left empty', async () => {
    const s = await sealTree({ 'Data/a.txt': 'in Data\n', 'data/b.txt': 'in data\n' }, keys);
    const archive = join(await tempDir('snap-twins-'), `${s.ref}.snap.tar`);
    expect((await snapJson(['export', s.ref, '-o', archive, '--store', s.store])).code).toBe(0);
    await fsp.mkdir(join(mnt, 'out'));
    const r = await snapJson(['restore', archive, join(mnt, 'out'), '--pubkey', keys.pub]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('TARGET_FOLDS_NAMES');
    expect(r.json.error.details.paths).toEqual(['Data', 'data']);
    expect(await onDisk()).toEqual(['out']);
  });
});
