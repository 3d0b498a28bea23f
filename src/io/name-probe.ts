/**
 * Asking a folder whether its file system can hold some names (core/name-trouble.ts): each is
 * created as an empty file in a private probe folder and removed. The answer comes from the file
 * system itself — FAT refuses `12:00.json` (the kernel: EINVAL; fusefat: EPERM), ext4 a name over
 * 255 bytes (ENAMETOOLONG), APFS a name that is not UTF-8 (EILSEQ) — and a name it keeps under
 * another spelling (the kernel's FAT drops a trailing dot) is one it cannot hold either: the file
 * would not be found under its own name.
 */
import { promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ioError } from './errors.js';

/**
 * A new probe name, `.snap-probe.<12 random hex>.SUFFIX`: every probe restore makes in its target
 * (this folder of names, the symbolic link of io/symlink-probe.ts, the files of io/name-folding.ts)
 * is named so, never a name a snapshot file is written under (those are `.snap-restore.<12 hex>.tmp`).
 */
export function probeName(suffix: string): string {
  return `.snap-probe.${randomBytes(6).toString('hex')}.${suffix}`;
}

/** What creating a file says when the file system cannot hold its name (FAT through fusefat: EPERM; the kernel's FAT and NTFS: EINVAL; APFS: EILSEQ; any: ENAMETOOLONG). */
export const CANNOT_HOLD: ReadonlySet<string> = new Set(['EPERM', 'EINVAL', 'EILSEQ', 'ENAMETOOLONG']);

/**
 * Which of `names` the file system of `dir` cannot hold: a probe folder (mode 0700) is made under a
 * random `.snap-probe.` name, each name created in it (O_EXCL, mode 0600), read back and removed,
 * and the folder removed. Costs a few system calls per name, whatever the dataset's size.
 * @param dir an existing folder the caller may write in (restore: its private, empty target)
 * @param names single names (no `/`), as a manifest path's segments
 * @returns for each name, in order: undefined when it is held as given; else why not — the errno
 *   (EPERM, EINVAL, EILSEQ, ENAMETOOLONG), or `kept as NAME` when it was held under another name
 * @throws SnapError `NOT_FOUND` | `DISK_FULL` | `IO_ERROR` when the folder cannot be written otherwise
 */
export async function probeNames(dir: string, names: readonly string[]): Promise<(string | undefined)[]> {
  const what = 'cannot probe which names the target folder can hold';
  const folder = join(dir, probeName('names'));
  try {
    await fsp.mkdir(folder, { mode: 0o700 });
  } catch (e) {
    throw ioError(e, dir, what);
  }
  try {
    const out: (string | undefined)[] = [];
    for (const name of names) {
      try {
        await (await fsp.open(join(folder, name), 'wx', 0o600)).close();
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? '';
        if (!CANNOT_HOLD.has(code)) throw ioError(e, dir, what);
        out.push(code);
        continue;
      }
      const held = await fsp.readdir(folder).catch((e) => {
        throw ioError(e, dir, what);
      });
      for (const n of held) await fsp.unlink(join(folder, n)).catch(() => {});
      out.push(held.length === 1 && held[0] === name ? undefined : `kept as ${held.join(', ')}`);
    }
    return out;
  } finally {
    await fsp.rm(folder, { recursive: true, force: true }).catch(() => {});
  }
}

/**
 * Whether the system refuses `path` for its length — Linux takes no path of PATH_MAX (4,096) bytes
 * or more with its NUL (ENAMETOOLONG from any call given it, whatever the file system), macOS
 * 1,024 — asked without writing anything: `path` is looked up (lstat) and its length alone is
 * what can make the lookup fail with ENAMETOOLONG, as the path leads into a folder that holds
 * nothing yet (its first missing name ends the lookup with ENOENT).
 * @param path an absolute path under an existing, empty folder (restore: its target) whose names
 *   were probed already (a name over NAME_MAX that the lookup reached would also say ENAMETOOLONG)
 * @returns true when the lookup said ENAMETOOLONG; false on any other answer
 */
export async function pathTooLong(path: string): Promise<boolean> {
  try {
    await fsp.lstat(path);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENAMETOOLONG';
  }
}
