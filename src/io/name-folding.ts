/**
 * Asking a folder how its file system folds names (core/name-folding.ts): create a probe name in
 * it and look for the probe's folded twin. The answer comes from the file system itself, whatever
 * it is (a FAT or exFAT stick, an APFS or HFS+ volume, an ext4 folder with `chattr +F`, a network
 * share), and per folder — ext4 and F2FS fold case only in folders that carry the attribute.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { NameFolding } from '../core/name-folding.js';
import { ioError } from './errors.js';
import { CANNOT_HOLD, holdProbeForTest, probeName } from './name-probe.js';

/** The name created and its case twin (ASCII: any file system can hold both). */
const CASE_PROBE = ['a', 'A'] as const;
/** The name created, in NFC (`é`, U+00E9), and its canonical twin in NFD (`e` + U+0301). */
const NORMALIZATION_PROBE = ['\u00e9', 'e\u0301'] as const;

/**
 * Whether `twin` names the file just created as `made` in `dir`; false when the file system cannot
 * hold `made` at all (FAT without a Unicode code page refuses `é`: EPERM, EINVAL, EILSEQ) —
 * names it cannot hold, it cannot fold either.
 */
async function foldsTo(dir: string, base: string, made: string, twin: string): Promise<boolean> {
  const path = join(dir, base + made);
  let fh;
  try {
    fh = await fsp.open(path, 'wx', 0o600); // O_CREAT | O_EXCL: never an existing file
  } catch (e) {
    if (CANNOT_HOLD.has((e as NodeJS.ErrnoException).code ?? '')) return false;
    throw ioError(e, dir, 'cannot probe how the target folder folds names');
  }
  await fh.close();
  try {
    await holdProbeForTest('folding');
    await fsp.lstat(join(dir, base + twin));
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    throw ioError(e, dir, 'cannot probe how the target folder folds names');
  } finally {
    await fsp.unlink(path).catch(() => {});
  }
}

/**
 * How the file system of `dir` folds names: a probe file is created (O_EXCL, mode 0600) under a
 * probe name (`probeName`), its case twin and its NFD twin are looked up, and it is removed.
 * @param dir an existing folder the caller may write in (restore: its private, empty target)
 * @throws SnapError `NOT_FOUND` | `DISK_FULL` | `IO_ERROR` when the folder cannot be written or read
 */
export async function probeNameFolding(dir: string): Promise<NameFolding> {
  const base = probeName('');
  return {
    case: await foldsTo(dir, base, CASE_PROBE[0], CASE_PROBE[1]),
    normalization: await foldsTo(dir, base, NORMALIZATION_PROBE[0], NORMALIZATION_PROBE[1]),
  };
}
