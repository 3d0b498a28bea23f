/**
 * The private scratch folders commands make in the system temporary folder (`$TMPDIR`, or another
 * parent they are given), and the clean-up of those that a killed command left.
 *
 * A drill copies the whole dataset into one (`snap-drill-`); `diff` writes the manifests of the
 * folders it compares (`snap-diff-`) and its record indexes (`snap-records-`); `verify` re-indexes
 * changed record files (`snap-verify-records-`); `seal --out` keeps its manifest (`snap-seal-`); an
 * S3 store's commands stage a working store (`snap-s3-`); reading an archive spools its small
 * members (`snap-archive-`); `restore` and `export` from a store keep the manifest they
 * checked (`snap-restore-`, `snap-export-`); `retain` reads a snapshot's files (`snap-retain-`). A stopped command
 * (SIGINT, SIGTERM, an error) removes its own; a SIGKILL cannot be caught and leaves it — for ever,
 * and a drill's holds a full copy of the dataset.
 *
 * Name: `<prefix><host>-<pid>-XXXXXX` ({@link SCRATCH_PREFIXES}), where `<host>` is the first 8
 * hex digits of the SHA-256 of this host's name (as in io/output-temp.ts), `<pid>` the making
 * process's id (decimal) and `XXXXXX` mkdtemp(3)'s six random letters and digits. So
 * {@link makeScratchDir}, the first time a process makes one under a parent, first removes the
 * stale scratch folders there, of every prefix ({@link isStaleScratchDir}): folders (never a
 * symbolic link or a file, and nothing is followed) owned by this user, named after a process of
 * this host that no longer runs, and untouched (the folder and what it holds directly) for
 * {@link GUARD_STALE_MS}; or, under the name older versions gave (`<prefix>XXXXXX`, which names no
 * process), untouched for {@link SCRATCH_LEGACY_ABANDONED_MS}. A folder named after another host is
 * never removed here (whether its command still runs cannot be told; a drill may work for hours
 * without touching it): that host's next command removes it. Nothing else in the parent is touched.
 *
 * A scratch folder may hold folders its owner cannot write (a drill's copy of a read-only folder
 * of the dataset, when it was killed before it made the copy writable): {@link removeScratchDir}
 * and {@link removeScratchDirSync} give the owner access to them first, following no link.
 */
import { promises as fsp, chmodSync, lstatSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { leaveNothing } from './interrupt.js';
import { hostTag, ownedByThisUser, removeLeftovers, writerGone } from './output-temp.js';
import { GUARD_STALE_MS } from './store.js';

/** Every prefix of a snap scratch folder (see the module comment); a longer one before a shorter one it starts with. */
export const SCRATCH_PREFIXES = ['snap-verify-records-', 'snap-records-', 'snap-archive-', 'snap-restore-', 'snap-export-', 'snap-retain-', 'snap-drill-', 'snap-diff-', 'snap-seal-', 'snap-s3-'] as const;

/** The prefix of a snap scratch folder. */
export type ScratchPrefix = (typeof SCRATCH_PREFIXES)[number];

/** A scratch folder under the older name (`<prefix>XXXXXX`, no process named) untouched this long (ms) is stale: 1 day. */
export const SCRATCH_LEGACY_ABANDONED_MS = 24 * 60 * 60 * 1000;

/** At most this many entries of a stale-looking folder are looked at for a fresher mtime (a bound on the work per folder). */
const MAX_ENTRIES_LOOKED_AT = 1000;

/** Parents this process has already swept (resolved paths). */
const swept = new Set<string>();

/**
 * The name's parts when `name` is a snap scratch folder: its prefix, and the host tag and pid of
 * the process that made it, or `legacy` for the older `<prefix>XXXXXX`; undefined for any other name.
 */
export function parseScratchName(name: string): { prefix: ScratchPrefix; host: string; pid: number } | { prefix: ScratchPrefix; legacy: true } | undefined {
  const prefix = SCRATCH_PREFIXES.find((p) => name.startsWith(p));
  if (prefix === undefined) return undefined;
  const rest = name.slice(prefix.length);
  if (/^[A-Za-z0-9]{6}$/.test(rest)) return { prefix, legacy: true };
  const m = /^([0-9a-f]{8})-([1-9][0-9]{0,9})-[A-Za-z0-9]{6}$/.exec(rest);
  return m ? { prefix, host: m[1] as string, pid: Number(m[2]) } : undefined;
}

/**
 * Whether the folder entry `name`, with this lstat, is a scratch folder a killed command left (see
 * the module comment). `touchedMs`: when it or what it holds was last modified (ms since the
 * epoch; default its own mtime); `now` likewise.
 */
export function isStaleScratchDir(name: string, st: { isDirectory(): boolean; uid: number; mtimeMs: number }, touchedMs = st.mtimeMs, now = Date.now()): boolean {
  const parsed = parseScratchName(name);
  if (parsed === undefined || !st.isDirectory()) return false;
  if (!ownedByThisUser(st)) return false;
  const idle = now - Math.max(st.mtimeMs, touchedMs);
  if ('legacy' in parsed) return idle >= SCRATCH_LEGACY_ABANDONED_MS;
  return idle >= GUARD_STALE_MS && writerGone(parsed.host, parsed.pid);
}

/** The newest mtime (ms) of the folder `path` and of the first {@link MAX_ENTRIES_LOOKED_AT} entries it holds (lstat: nothing followed). */
async function lastTouched(path: string, own: number): Promise<number> {
  let newest = own;
  let dir: import('node:fs').Dir | undefined;
  try {
    dir = await fsp.opendir(path);
    for (let i = 0; i < MAX_ENTRIES_LOOKED_AT; i++) {
      const e = await dir.read();
      if (e === null) break;
      const st = await fsp.lstat(join(path, e.name)).catch(() => undefined);
      if (st) newest = Math.max(newest, st.mtimeMs);
    }
  } catch {
    return Infinity; // cannot be looked into: not taken for stale
  } finally {
    await dir?.close().catch(() => {});
  }
  return newest;
}

/**
 * Remove the stale snap scratch folders directly under `parent` (see the module comment).
 * Best effort: a parent that cannot be listed, or a folder that cannot be (wholly) removed, is left.
 * @returns the paths removed
 */
export async function removeStaleScratchDirs(parent: string): Promise<string[]> {
  return removeLeftovers(
    parent,
    (name) => parseScratchName(name) !== undefined,
    async (name, path, st) => isStaleScratchDir(name, st) && isStaleScratchDir(name, st, await lastTouched(path, st.mtimeMs)),
    removeScratchDir,
  );
}

/**
 * Make a new private scratch folder `<parent>/<prefix><host>-<pid>-XXXXXX` (mode 0700, as
 * mkdtemp(3) makes it), having first removed, the first time this process makes one under
 * `parent`, the stale ones killed commands left there ({@link removeStaleScratchDirs}). The caller
 * removes it when done (and registers that with io/interrupt.ts `leaveNothing`).
 * @param parent default the system temporary folder (`os.tmpdir()`: `$TMPDIR`, else `/tmp`)
 * @returns the folder's path
 * @throws the file system's error (`ENOENT`, `EACCES`, `ENOSPC` …) as mkdtemp(3) reports it
 */
export async function makeScratchDir(prefix: ScratchPrefix, parent: string = tmpdir()): Promise<string> {
  const key = resolve(parent);
  if (!swept.has(key)) {
    swept.add(key);
    await removeStaleScratchDirs(parent);
  }
  return fsp.mkdtemp(join(parent, `${prefix}${hostTag()}-${process.pid}-`));
}

/** Whether `e` is a refusal by file permissions. */
function isPermissionError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EACCES' || code === 'EPERM';
}

/** The mode `mode` (of an lstat) with the owner bits a scratch tree needs: rwx on a folder, rw on a file (with `files`); undefined when it has them. */
function withOwnerAccess(st: { mode: number; isDirectory(): boolean; isFile(): boolean }, files: boolean): number | undefined {
  const need = st.isDirectory() ? 0o700 : files && st.isFile() ? 0o600 : 0;
  return (st.mode & need) === need ? undefined : (st.mode & 0o7777) | need;
}

/**
 * Give the owner of the tree at `root` (a scratch folder's, made by this process's user) read,
 * write and search access to every folder in it, and with `files` read and write access to every
 * regular file, adding only those bits. Symbolic links are neither followed nor changed (lstat).
 * @throws the file system's error (`EPERM` for an entry of another user …)
 */
export async function grantOwnerAccess(root: string, opts: { files: boolean }): Promise<void> {
  const st = await fsp.lstat(root);
  const mode = withOwnerAccess(st, opts.files);
  if (mode !== undefined) await fsp.chmod(root, mode);
  if (!st.isDirectory()) return;
  for (const name of await fsp.readdir(root)) await grantOwnerAccess(join(root, name), opts);
}

/** {@link grantOwnerAccess} for folders only, synchronously (best effort: never throws). */
function grantFolderAccessSync(root: string): void {
  try {
    const st = lstatSync(root);
    if (!st.isDirectory()) return;
    const mode = withOwnerAccess(st, false);
    if (mode !== undefined) chmodSync(root, mode);
    for (const name of readdirSync(root)) grantFolderAccessSync(join(root, name));
  } catch {
    /* the removal that follows reports what is still in the way */
  }
}

/**
 * Remove the scratch folder `path` and all it holds (links removed, never followed); when file
 * permissions refuse (a folder in it its owner cannot write), give the owner access to its
 * folders ({@link grantOwnerAccess}) and try once more. Nothing when it does not exist.
 * @throws the file system's error when it still cannot be removed
 */
export async function removeScratchDir(path: string): Promise<void> {
  try {
    await fsp.rm(path, { recursive: true, force: true });
  } catch (e) {
    if (!isPermissionError(e)) throw e;
    await grantOwnerAccess(path, { files: false });
    await fsp.rm(path, { recursive: true, force: true });
  }
}

/** {@link removeScratchDir}, synchronously and never throwing: the undo of a scratch folder registered with io/interrupt.ts `leaveNothing`. */
export function removeScratchDirSync(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch (e) {
    if (!isPermissionError(e)) return;
    grantFolderAccessSync(path);
    try {
      rmSync(path, { recursive: true, force: true });
    } catch {
      /* left: the next snap command that makes a scratch folder here removes it */
    }
  }
}

/**
 * Register the scratch folder `path` with io/interrupt.ts `leaveNothing`, so that a process that
 * must exit before the code that made it is done (a second SIGINT / SIGTERM, or no unwind within
 * 5 s) removes it ({@link removeScratchDirSync}).
 * @returns a function that removes it now (best effort: never throws) and unregisters it; call it
 *   once the folder is no longer needed
 */
export function removeWhenDone(path: string): () => Promise<void> {
  const forget = leaveNothing(() => removeScratchDirSync(path));
  return async () => {
    await removeScratchDir(path).catch(() => {});
    forget();
  };
}
