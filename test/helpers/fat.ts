/**
 * A FAT file system to restore onto: a 16 MiB image made with mkfs.vfat (dosfstools) and mounted
 * with fusefat (FUSE), as .ci/run installs them; root is needed. FAT folds case, has no symbolic
 * links, no Unix modes, and refuses names with `: * ? " < > | \`, control characters, names
 * longer than 255 UTF-16 units and (through fusefat) any character outside ASCII.
 *
 * A test file that needs it fails where it cannot be mounted (the developers' guide: a test that
 * cannot start what it needs fails, it is never skipped); use {@link useFat}.
 */
import { promises as fsp } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

/** Size of the image, in KiB (mkfs.vfat's block count): 16 MiB. */
const IMAGE_KIB = 16384;

/** A mounted FAT image: `mnt` is its mount point, `dir` the temporary folder holding both. */
export interface FatMount {
  mnt: string;
  dir: string;
}

/** Make and mount a FAT image, or say why it could not be done. */
export async function mountFat(): Promise<FatMount | { why: string }> {
  const dir = await fsp.mkdtemp(join(tmpdir(), 'snap-fat-'));
  const img = join(dir, 'fat.img');
  const mnt = join(dir, 'mnt');
  await fsp.mkdir(mnt);
  const mkfs = spawnSync('mkfs.vfat', ['-C', img, String(IMAGE_KIB)], { encoding: 'utf8' });
  if (mkfs.status !== 0) return { why: `mkfs.vfat (install dosfstools): ${mkfs.error?.message ?? mkfs.stderr}` };
  const mount = spawnSync('fusefat', ['-o', 'rw+', img, mnt], { encoding: 'utf8' });
  if (mount.status !== 0) return { why: `fusefat (install fusefat; needs root): ${mount.error?.message ?? mount.stderr}` };
  return { mnt, dir };
}

/** Unmount a FAT image made by {@link mountFat} and remove it. */
export async function unmountFat(fat: FatMount): Promise<void> {
  spawnSync('umount', [fat.mnt]);
  await fsp.rm(fat.dir, { recursive: true, force: true });
}

/**
 * A FAT image for the tests of one file: mounted at import (top-level await in the caller), with a
 * test that fails naming why when it could not be, unmounted after the file. `mnt` is '' and
 * `why` set when there is none; `clear()` empties it (for a `beforeEach`).
 */
export async function useFat(): Promise<{ mnt: string; why?: string; onDisk: () => Promise<string[]>; clear: () => Promise<void> }> {
  const fat = await mountFat();
  afterAll(async () => {
    if (!('why' in fat)) await unmountFat(fat);
  });
  // A test that cannot start what it needs fails; it is never skipped (the developers' guide).
  it('mounts a FAT file system to restore onto (fusefat and dosfstools, as root)', () => {
    expect('why' in fat ? fat.why : undefined).toBeUndefined();
  });
  const mnt = 'why' in fat ? '' : fat.mnt;
  return {
    mnt,
    ...('why' in fat ? { why: fat.why } : {}),
    /** Every path under the mount point, sorted. */
    onDisk: async () => (await fsp.readdir(mnt, { recursive: true })).map(String).sort(),
    clear: async () => {
      for (const name of await fsp.readdir(mnt)) await fsp.rm(join(mnt, name), { recursive: true, force: true });
    },
  };
}

