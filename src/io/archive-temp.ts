/**
 * The hidden temporary file an archive is written under beside its final name (`export`,
 * `seal --out`, and `sign` of an archive, which writes it again), and the clean-up of those that a
 * killed command left.
 *
 * Name: `.<FILE>.<host>-<pid>-<12 hex>.tmp` beside `FILE`, where `<host>` is the first 8 hex digits
 * of the SHA-256 of this host's name and `<pid>` the writing process's id (decimal). A stopped
 * command (SIGINT, SIGTERM, an error) removes its own; a SIGKILL cannot be caught and leaves it.
 * So each command that writes `FILE` first removes, beside it, the temporaries of `FILE` that are
 * stale ({@link isStaleArchiveTemp}): its own user's regular files, untouched for
 * {@link GUARD_STALE_MS}, whose process is no longer running on this host — or, when written from
 * another host (which cannot be checked from here), or under the name older versions used
 * (`.<FILE>.<12 hex>.tmp`), untouched for {@link ARCHIVE_TEMP_ABANDONED_MS}.
 *
 * A live writer keeps its temporary file's mtime fresh (it writes continually), so it is never
 * taken for stale on its own host; were it (a writer on another host stalled for an hour), its
 * command would fail when it names the archive (the temporary file is gone) — nothing is lost.
 */
import { promises as fsp } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { GUARD_STALE_MS } from './store.js';

/** A temporary archive untouched this long (ms) is stale even when its process cannot be checked: 1 hour. */
export const ARCHIVE_TEMP_ABANDONED_MS = 60 * 60 * 1000;

/** This host's tag in temporary names: 8 hex digits of the SHA-256 of its name. */
function hostTag(): string {
  return createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
}

/** The path of a new temporary file for the archive `file` (see the module comment). */
export function archiveTempPath(file: string): string {
  return join(dirname(file), `.${basename(file)}.${hostTag()}-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
}

/** The name's parts when `name` is a temporary file of the archive named `base`; `legacy` for the older `.<base>.<12 hex>.tmp`. */
export function parseArchiveTemp(base: string, name: string): { host: string; pid: number } | 'legacy' | undefined {
  const prefix = `.${base}.`;
  if (!name.startsWith(prefix) || !name.endsWith('.tmp')) return undefined;
  const mid = name.slice(prefix.length, -'.tmp'.length);
  if (/^[0-9a-f]{12}$/.test(mid)) return 'legacy';
  const m = /^([0-9a-f]{8})-([1-9][0-9]{0,9})-[0-9a-f]{12}$/.exec(mid);
  return m ? { host: m[1] as string, pid: Number(m[2]) } : undefined;
}

/** True when a process with this id runs on this host (one of another user counts). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the temporary file `name` beside the archive `base`, with this lstat, was left by a
 * killed command (see the module comment). `now` in ms since the epoch.
 */
export function isStaleArchiveTemp(base: string, name: string, st: { isFile(): boolean; uid: number; mtimeMs: number }, now = Date.now()): boolean {
  const parsed = parseArchiveTemp(base, name);
  if (parsed === undefined || !st.isFile()) return false;
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return false;
  const idle = now - st.mtimeMs;
  if (idle < GUARD_STALE_MS) return false;
  if (idle >= ARCHIVE_TEMP_ABANDONED_MS) return true;
  return parsed !== 'legacy' && parsed.host === hostTag() && parsed.pid !== process.pid && !pidAlive(parsed.pid);
}

/**
 * Remove the stale temporary files of the archive `file` beside it (see the module comment).
 * Best effort: a folder that cannot be listed, or a file that cannot be removed, is left.
 * @returns the paths removed
 */
export async function removeStaleArchiveTemps(file: string): Promise<string[]> {
  const dir = dirname(file);
  const base = basename(file);
  const removed: string[] = [];
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (parseArchiveTemp(base, name) === undefined) continue;
    const path = join(dir, name);
    const st = await fsp.lstat(path).catch(() => undefined);
    if (!st || !isStaleArchiveTemp(base, name, st)) continue;
    try {
      await fsp.unlink(path);
      removed.push(path);
    } catch {
      /* left for a later run */
    }
  }
  return removed;
}
