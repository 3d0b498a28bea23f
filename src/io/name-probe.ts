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

/** The probe folder: `.snap-probe.<12 hex>.names`, as the other probes' names (io/symlink-probe.ts), never a name a snapshot file is written under. */
const PROBE_PREFIX = '.snap-probe.';
/** What creating a file says when the file system cannot hold its name (FAT through fusefat: EPERM; the kernel's FAT and NTFS: EINVAL; APFS: EILSEQ; any: ENAMETOOLONG). */
const CANNOT_HOLD = new Set(['EPERM', 'EINVAL', 'EILSEQ', 'ENAMETOOLONG']);

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
  const folder = join(dir, `${PROBE_PREFIX}${randomBytes(6).toString('hex')}.names`);
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
