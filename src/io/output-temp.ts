/**
 * The hidden temporary file a file written OUTSIDE the store is written under beside its final
 * name, and the clean-up of those that a killed command left. Used by every writer of a file the
 * user names or owns: archives (`export`, `seal --out`, and `sign` of an archive, which writes it
 * again), `prove -o`, `bom -o`, `attest --out`, `revoke --out`, `log checkpoint --out`,
 * `verify --shard --report`, `report -o`, `policy` files, `keygen`'s key files and the trusted
 * state file. (Temporary files INSIDE a store keep the names `writeFileAtomic` gives them, which
 * fsck recognises: io/leftovers.ts.)
 *
 * Name: `.<FILE>.<host>-<pid>-<12 hex>.tmp` beside `FILE`, where `<host>` is the first 8 hex digits
 * of the SHA-256 of this host's name and `<pid>` the writing process's id (decimal). A stopped
 * command (SIGINT, SIGTERM, an error) removes its own; a SIGKILL cannot be caught and leaves it.
 * So each command that writes `FILE` first removes, beside it, the temporaries of `FILE` that are
 * stale ({@link isStaleOutputTemp}): its own user's regular files, untouched for
 * {@link GUARD_STALE_MS}, whose process is no longer running on this host — or, when written from
 * another host (which cannot be checked from here), or under the name older versions used
 * (`.<FILE>.<12 hex>.tmp`), untouched for {@link OUTPUT_TEMP_ABANDONED_MS}.
 *
 * A live writer on this host is never taken for stale (its process runs); a live archive writer
 * keeps its temporary file's mtime fresh as well (it writes continually). Were a writer on another
 * host stalled for an hour, its command would fail when it names the file (the temporary file is
 * gone) — nothing is lost.
 */
import { promises as fsp, type Stats } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { SnapError } from '../core/errors.js';
import { GUARD_STALE_MS, pidAlive, writeFileAtomic } from './store.js';

/** A temporary file untouched this long (ms) is stale even when its process cannot be checked: 1 hour. */
export const OUTPUT_TEMP_ABANDONED_MS = 60 * 60 * 1000;

/** This host's tag in temporary names: 8 hex digits of the SHA-256 of its name. */
export function hostTag(): string {
  return createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
}

/** Whether a file or folder (its lstat) belongs to this process's user; true where there are no user ids. */
export function ownedByThisUser(st: { uid: number }): boolean {
  return typeof process.getuid !== 'function' || st.uid === process.getuid();
}

/** Whether the writer a leftover is named after (host tag, pid) was a process of this host, not this one, that no longer runs. */
export function writerGone(host: string, pid: number): boolean {
  return host === hostTag() && pid !== process.pid && !pidAlive(pid);
}

/**
 * Remove the entries of `dir` that `stale` takes for leftovers of killed commands, with `remove`.
 * Only entries whose name `named` accepts are looked at (a shared `$TMPDIR` may hold thousands of
 * others, and an lstat each would cost every command milliseconds); `stale` gets each such name,
 * its path and its lstat (nothing followed). Best effort: a folder that cannot be listed, or an
 * entry that cannot be removed, is left for a later run.
 * @returns the paths removed
 */
export async function removeLeftovers(dir: string, named: (name: string) => boolean, stale: (name: string, path: string, st: Stats) => boolean | Promise<boolean>, remove: (path: string) => Promise<void>): Promise<string[]> {
  const removed: string[] = [];
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!named(name)) continue;
    const path = join(dir, name);
    const st = await fsp.lstat(path).catch(() => undefined);
    if (!st || !(await stale(name, path, st))) continue;
    try {
      await remove(path);
      removed.push(path);
    } catch {
      /* left for a later run */
    }
  }
  return removed;
}

/** The path of a new temporary file for `file` (see the module comment). */
export function outputTempPath(file: string): string {
  return join(dirname(file), `.${basename(file)}.${hostTag()}-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
}

/** The name's parts when `name` is a temporary file of the file named `base`; `legacy` for the older `.<base>.<12 hex>.tmp`. */
export function parseOutputTemp(base: string, name: string): { host: string; pid: number } | 'legacy' | undefined {
  const prefix = `.${base}.`;
  if (!name.startsWith(prefix) || !name.endsWith('.tmp')) return undefined;
  const mid = name.slice(prefix.length, -'.tmp'.length);
  if (/^[0-9a-f]{12}$/.test(mid)) return 'legacy';
  const m = /^([0-9a-f]{8})-([1-9][0-9]{0,9})-[0-9a-f]{12}$/.exec(mid);
  return m ? { host: m[1] as string, pid: Number(m[2]) } : undefined;
}

/**
 * Whether the temporary file `name` beside the file `base`, with this lstat, was left by a
 * killed command (see the module comment). `now` in ms since the epoch.
 */
export function isStaleOutputTemp(base: string, name: string, st: { isFile(): boolean; uid: number; mtimeMs: number }, now = Date.now()): boolean {
  const parsed = parseOutputTemp(base, name);
  if (parsed === undefined || !st.isFile()) return false;
  if (!ownedByThisUser(st)) return false;
  const idle = now - st.mtimeMs;
  if (idle < GUARD_STALE_MS) return false;
  if (idle >= OUTPUT_TEMP_ABANDONED_MS) return true;
  return parsed !== 'legacy' && writerGone(parsed.host, parsed.pid);
}

/**
 * Remove the stale temporary files of `file` beside it (see the module comment).
 * Best effort: a folder that cannot be listed, or a file that cannot be removed, is left.
 * @returns the paths removed
 */
export async function removeStaleOutputTemps(file: string): Promise<string[]> {
  const base = basename(file);
  return removeLeftovers(dirname(file), (name) => parseOutputTemp(base, name) !== undefined, (name, _path, st) => isStaleOutputTemp(base, name, st), (path) => fsp.unlink(path));
}

/**
 * Test hook: with `SNAP_TEST_HOLD_OUTPUT_TEMP=NAME` in the environment, the writer of a file named
 * `NAME` (its base name) waits {@link TEST_HOLD_MS} once its temporary file is complete, before
 * naming it, so that a test can SIGKILL it there (test/cli/crash.test.ts). Otherwise returns at once.
 */
export async function holdOutputForTest(file: string): Promise<void> {
  const name = process.env.SNAP_TEST_HOLD_OUTPUT_TEMP;
  if (name !== undefined && name === basename(file)) await new Promise((r) => setTimeout(r, TEST_HOLD_MS));
}

/** How long (ms) {@link holdOutputForTest} waits: 30 s, longer than any test lets it run. */
const TEST_HOLD_MS = 30_000;

/**
 * Write the small file `path` outside the store whole or not at all: first remove the stale
 * temporaries a killed writer of `path` left ({@link removeStaleOutputTemps}), then write `data` to
 * a new temporary file beside it ({@link outputTempPath}, `O_EXCL`, with `mode`), flush it, and
 * name it: linked into place when `exclusive` (link(2) fails if the name exists: never replaced),
 * else renamed over `path`; then flush the folder. A failed or stopped write removes its
 * temporary file; a SIGKILLed one leaves it for the next writer of `path` to remove.
 * @param opts.mode the new file's mode (less the umask)
 * @param opts.exclusive never replace an existing `path`
 * @param opts.what what the error message says could not be done (default `cannot write`)
 * What is at `path` is replaced only when it is a regular file or a symbolic link (the link itself,
 * never what it points to): a device, a FIFO, a socket or a folder is refused, left as it was (a
 * rename over `/dev/full`, run as root, made it a regular file). This guards against a mistaken
 * name, not against a race: whoever can write in the folder can swap the name after the check.
 * @throws SnapError `FILE_EXISTS` (exclusive, and `path` exists) | `FILE_UNSUPPORTED_TYPE` (`path` is
 *   not a regular file) | `NOT_FOUND` (no such folder) | `DISK_FULL` | `IO_ERROR`
 */
export async function writeOutputFile(path: string, data: Uint8Array | string, opts: { mode: number; exclusive?: boolean; what?: string }): Promise<void> {
  const st = await fsp.lstat(path).catch(() => undefined);
  if (st && !st.isFile() && !st.isSymbolicLink()) {
    throw new SnapError('FILE_UNSUPPORTED_TYPE', `${path}: ${opts.what ?? 'cannot write'}: it is ${kindOf(st)}, not a regular file; snap never replaces it`, { path });
  }
  await removeStaleOutputTemps(path);
  await writeFileAtomic(path, data, { ...opts, tmp: outputTempPath(path), beforeName: () => holdOutputForTest(path) });
}

/** What a file that is not a regular file is, in words: "a folder", "a FIFO", "a device", "a socket". */
function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'another kind of file';
}
