/**
 * Asking a folder whether its file system can hold symbolic links: create a probe link in it and
 * remove it again. FAT and exFAT cannot (the kernel's symlink(2) fails with EPERM; fusefat's with
 * ENOSYS), nor can some network shares (EOPNOTSUPP); restore asks before it writes any file of a
 * snapshot that holds links, instead of failing on the first link once every file is written.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { ioError } from './errors.js';
import { holdProbeForTest, probeName } from './name-probe.js';

/** What symlink(2) says on a file system without symbolic links (Linux: EPERM; FUSE without the operation: ENOSYS; others: EOPNOTSUPP). */
const NO_SYMLINKS = new Set(['EPERM', 'ENOSYS', 'ENOTSUP', 'EOPNOTSUPP']);

/**
 * Whether the file system of `dir` can hold symbolic links: a probe link (to a name that does not
 * exist: nothing is ever reached through it) is made under a probe name (`probeName`) and removed.
 * @param dir an existing folder the caller may write in (restore: its private, empty target)
 * @returns false when symlink(2) fails with EPERM, ENOSYS, ENOTSUP or EOPNOTSUPP
 * @throws SnapError `NOT_FOUND` | `DISK_FULL` | `IO_ERROR` when the folder cannot be written otherwise
 */
export async function probeSymlinks(dir: string): Promise<boolean> {
  const path = join(dir, probeName('link'));
  try {
    await fsp.symlink(probeName('target'), path);
    await holdProbeForTest('link');
  } catch (e) {
    if (NO_SYMLINKS.has((e as NodeJS.ErrnoException).code ?? '')) return false;
    throw ioError(e, dir, 'cannot probe whether the target folder can hold symbolic links');
  }
  await fsp.unlink(path).catch(() => {});
  return true;
}
