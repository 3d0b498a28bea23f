/**
 * Asking a folder whether its file system can hold some names (core/name-trouble.ts): each is
 * created as an empty file in a private probe folder and removed. The answer comes from the file
 * system itself — FAT refuses `12:00.json` (the kernel: EINVAL; fusefat: EPERM), ext4 a name over
 * 255 bytes (ENAMETOOLONG), APFS a name that is not UTF-8 (EILSEQ) — and a name it keeps under
 * another spelling (the kernel's FAT drops a trailing dot) is one it cannot hold either: the file
 * would not be found under its own name.
 */
import { promises as fsp, type Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ioError } from './errors.js';
import { OUTPUT_TEMP_ABANDONED_MS, hostTag, ownedByThisUser, writerGone } from './output-temp.js';

/**
 * A new probe name, `.snap-probe.<host>-<pid>-<12 random hex>.SUFFIX` — `<host>` the first 8 hex
 * digits of the SHA-256 of this host's name, `<pid>` this process's id (decimal), as in the
 * temporary names of io/output-temp.ts, so that what a killed restore left can be told from the
 * probe of one still running ({@link removeProbeLeftovers}). Every probe restore makes in its target
 * (this folder of names, the symbolic link of io/symlink-probe.ts, the files of io/name-folding.ts)
 * is named so, never a name a snapshot file is written under (those are `.snap-restore.<12 hex>.tmp`).
 */
export function probeName(suffix: string): string {
  return `.snap-probe.${hostTag()}-${process.pid}-${randomBytes(6).toString('hex')}.${suffix}`;
}

/**
 * The name of an entry a probe makes in the target: the folder of names (`names`), the link
 * (`link`), the folding probe's files (`a`, and `é` in NFC, or in NFD as a file system that stores
 * NFD keeps it); with `<host>-<pid>-` (group 1, 2) or without it, as before this version.
 */
const PROBE_ENTRY_RE = /^\.snap-probe\.(?:([0-9a-f]{8})-([1-9][0-9]{0,9})-)?[0-9a-f]{12}\.(names|link|a|\u00e9|e\u0301)$/;

/** Entries a probe folder of names may hold when its restore was killed: one at a time is made, so more means it is not one. */
const PROBE_FOLDER_MAX_ENTRIES = 4;

/** Whether the entry `path` (its lstat `st`, its kind `kind`) has the shape a probe gives it: an empty file, a link, or a folder of empty files. */
async function probeShaped(path: string, st: Stats, kind: string): Promise<boolean> {
  if (kind === 'link') return st.isSymbolicLink();
  if (kind !== 'names') return st.isFile() && st.size === 0;
  if (!st.isDirectory()) return false;
  const inside = await fsp.readdir(path).catch(() => undefined);
  if (inside === undefined || inside.length > PROBE_FOLDER_MAX_ENTRIES) return false;
  for (const n of inside) {
    const s = await fsp.lstat(join(path, n)).catch(() => undefined);
    if (!s?.isFile() || s.size !== 0) return false;
  }
  return true;
}

/**
 * Remove, from a restore's target, the probe entries a restore killed outright (SIGKILL) left
 * there: among `names` (the target's entries), those named as a probe names its entries, of this
 * user, of the shape a probe gives them (an empty file, a link, a folder of at most
 * {@link PROBE_FOLDER_MAX_ENTRIES} empty files), whose restore is over — a process of this host
 * that no longer runs; for one made on another host, or named without its process (older
 * versions), untouched for {@link OUTPUT_TEMP_ABANDONED_MS}. Best effort: one that cannot be
 * removed is left (the target is then not empty).
 * @param dir the target: this user's, private (0700), checked safe from other users
 * @param opts.onlyIfAll remove nothing unless every one of `names` is such a leftover (restore: a
 *   folder holding anything else is not a target, and is left exactly as it was — a dataset
 *   restored there may hold an empty file or a link under a probe's name)
 * @returns `removed`, the names removed; `live`, probe entries left as a running restore's
 */
export async function removeProbeLeftovers(dir: string, names: readonly string[], now = Date.now(), opts: { onlyIfAll?: boolean } = {}): Promise<{ removed: string[]; live: string[] }> {
  const over: { name: string; path: string; folder: boolean }[] = [];
  const live: string[] = [];
  let others = 0;
  for (const name of names) {
    const m = PROBE_ENTRY_RE.exec(name);
    const path = join(dir, name);
    const st = m ? await fsp.lstat(path).catch(() => undefined) : undefined;
    if (!m || !st || !ownedByThisUser(st) || !(await probeShaped(path, st, m[3] as string))) {
      others++;
      continue;
    }
    const gone = m[1] !== undefined && m[1] === hostTag() ? writerGone(m[1], Number(m[2])) : now - st.mtimeMs >= OUTPUT_TEMP_ABANDONED_MS;
    if (gone) over.push({ name, path, folder: st.isDirectory() });
    else live.push(name);
  }
  const removed: string[] = [];
  if (opts.onlyIfAll && (others > 0 || live.length > 0)) return { removed, live };
  for (const o of over) {
    try {
      await fsp.rm(o.path, { recursive: o.folder, force: true });
      removed.push(o.name);
    } catch {
      /* left: the target is not empty */
    }
  }
  return { removed, live };
}

/**
 * Test hook: with `SNAP_TEST_HOLD_PROBE=WHICH` in the environment (`names`, `link` or `folding`),
 * that probe waits {@link PROBE_HOLD_MS} once its probe entry is made, before removing it, so that a
 * test can SIGKILL restore there (test/cli/restore-probe-killed.test.ts). Otherwise returns at once.
 */
export async function holdProbeForTest(which: 'names' | 'link' | 'folding'): Promise<void> {
  if (process.env.SNAP_TEST_HOLD_PROBE === which) await new Promise((r) => setTimeout(r, PROBE_HOLD_MS));
}

/** How long (ms) {@link holdProbeForTest} waits: 30 s, longer than any test lets it run. */
const PROBE_HOLD_MS = 30_000;

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
        await holdProbeForTest('names');
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
