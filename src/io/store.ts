/**
 * The local store, SPEC §7:
 * ```
 * STORE/
 *   store.json                           {"format":"snap-store/1"}
 *   objects/sha256/<hex 0-1>/<hex 2-63>  one file per distinct content, mode 0444
 *   snapshots/<NAME>/<VERSION>/          manifest.jsonl  statement.json  envelope.json
 *   log.jsonl                            the audit log (io/audit-log.ts), with log.head (its anchor)
 *                                        and log.lock (its append lock)
 *   tmp/                                 work in progress (only while a writer holds the lock; emptied
 *                                        when it takes and when it releases the lock)
 *   lock                                 the advisory write lock
 * ```
 * Write-once: new files are written under a temporary name in the same file system, flushed, then
 * renamed into place, so a crash never leaves a partial object or snapshot under its final name.
 */
import { promises as fsp, constants as FS, closeSync, existsSync, fstatSync, fsyncSync, linkSync, lstatSync, openSync, readFileSync, readSync, readdirSync, readlinkSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve, dirname, basename, sep } from 'node:path';
import type * as ChildProcess from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { SnapError } from '../core/errors.js';
import { parseRef, looksLikePath, LATEST, NAME_RE, VERSION_RE } from '../core/refs.js';
import { MAX_STATEMENT_BYTES, snapshotId } from '../core/statement.js';
import { parseJsonStrict } from '../core/json-strict.js';
import { nearestName } from '../core/nearest.js';
import { ioError } from './errors.js';
import { readAtMost, readSmallFile, readSmallFileSync } from './small-file.js';
import { checkInterrupted, interruptedBy, leaveNothing } from './interrupt.js';
import { noticeLockWait, LOCK_WAIT_NOTICE_MS } from './lock-wait-notice.js';

/** Largest `store.json` read (it is `{"format":"snap-store/1"}`); a longer one is refused by its parser. */
const MAX_STORE_MARKER_BYTES = 64 << 10;

/** The store's marker file, holding {@link STORE_FORMAT}. */
export const STORE_MARKER_FILE = 'store.json';
/** The format marker written to `store.json`. */
export const STORE_FORMAT = 'snap-store/1';
/** Snapshot folder file names. */
export const MANIFEST_FILE = 'manifest.jsonl';
export const STATEMENT_FILE = 'statement.json';
export const ENVELOPE_FILE = 'envelope.json';
/**
 * Unsigned store bookkeeping beside the three snapshot files: `{"objects":true}` when the store holds
 * the contents, `{"objects":false}` for `seal --manifest-only`. Not part of what is signed; fsck uses
 * it to know whether missing objects are corruption.
 */
export const CONTENTS_FILE = 'contents.json';
/** Largest `contents.json` read (it is `{"objects":false}` or similar: a few bytes). */
export const MAX_CONTENTS_BYTES = 4096;

/**
 * Whether a store snapshot keeps its contents as objects (false for `--manifest-only` seals).
 * A snapshot without the marker is taken to keep them.
 */
export async function snapshotKeepsObjects(dir: string): Promise<boolean> {
  return snapshotKeepsObjectsSync(dir);
}

/** {@link snapshotKeepsObjects}, read synchronously (fsck reads it for every snapshot of a store). */
export function snapshotKeepsObjectsSync(dir: string): boolean {
  try {
    // An unreadable or ambiguous marker (e.g. a duplicate member) counts as "kept": fsck then checks every object.
    const bytes = readSmallFileSync(join(dir, CONTENTS_FILE), MAX_CONTENTS_BYTES, 'cannot read the marker', () => new SnapError('SNAPSHOT_MALFORMED', 'not a regular file'));
    return (parseJsonStrict(bytes.toString('utf8'), 'SNAPSHOT_MALFORMED', CONTENTS_FILE) as { objects?: unknown }).objects !== false;
  } catch {
    return true;
  }
}

/** An open store. */
export interface Store {
  root: string;
  objectsDir: string;
  snapshotsDir: string;
  tmpDir: string;
  logPath: string;
  /**
   * Set by `openStore({ create: true })` when this call made the store (its `store.json`), and
   * whether it made the root folder too (else the root was an empty folder). See {@link discardNewStore}.
   */
  created?: { root: boolean };
}

/** A snapshot's three files, wherever they are (a store, a folder). */
export interface SnapshotLocation {
  dir: string;
  /** `NAME@VERSION` when it is in a store. */
  name?: string;
  version?: string;
  /** How the user named it. */
  ref: string;
  /** An `objects/sha256` folder holding its record indexes, when not its store's (an archive's spool folder). */
  objectsDir?: string;
}

/** A snapshot as listed from a store (statement read but NOT verified). */
export interface SnapshotInfo {
  name: string;
  version: string;
  dir: string;
  id: string;
  createdAt: string;
  fileCount: number;
  totalBytes: number;
  parent?: string;
  merkleRoot: string;
  /**
   * Set when the statement names another snapshot than its folder (`NAME@VERSION` of the
   * statement): the folder was swapped or moved, and every command refuses it under this name.
   */
  signedAs?: string;
  /**
   * Set when the statement cannot be read as one (not strict JSON, or its predicate lacks
   * `createdAt`, `fileCount`, `totalBytes` or `merkleRoot` of the right types): why. The other
   * fields are then placeholders (`''`, `0`), and every command that checks it refuses it.
   */
  malformed?: string;
}

/**
 * The store path: `--store`, else `$SNAP_STORE`, else `./.snap` (SPEC §8). An empty `$SNAP_STORE`
 * counts as unset (as an empty `$SNAP_STATE_DIR` does): it is most likely an unset variable
 * exported, and resolved it would be the working folder. (An empty `--store` is refused by the CLI.)
 */
export function storePath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return resolve(cwd, flag ?? (env.SNAP_STORE || undefined) ?? '.snap');
}

function layout(root: string): Store {
  return {
    root,
    objectsDir: join(root, 'objects', 'sha256'),
    snapshotsDir: join(root, 'snapshots'),
    tmpDir: join(root, 'tmp'),
    logPath: join(root, 'log.jsonl'),
  };
}

/** Path of the object named by a 64-hex SHA-256. */
export function objectPath(store: Store, hex: string): string {
  // Plain concatenation (objectsDir is already normalized): called once per file on hot paths.
  return `${store.objectsDir}${sep}${hex.slice(0, 2)}${sep}${hex.slice(2)}`;
}

/**
 * The fan-out folder of object `hex` (`objects/sha256/<2 hex>`), made when it is not there, and
 * checked to be a folder of the store's own: a symbolic link (or anything but a folder) in its
 * place is refused, so that nothing is written through it into the folder it leads to (readers
 * and fsck read through such a link; writers never write through one).
 * @param what the command's words for the refusal, e.g. "repair writes nothing through it"
 * @returns the folder's path
 * @throws SnapError `STORE_MALFORMED` (a link or another non-folder there) | `IO_ERROR` | `DISK_FULL`
 */
export async function ownFanFolder(store: Store, hex: string, what: string): Promise<string> {
  const dir = join(store.objectsDir, hex.slice(0, 2));
  try {
    await fsp.mkdir(dir, { recursive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(e, dir, 'cannot make a folder of objects');
  }
  const st = await fsp.lstat(dir).catch((e) => {
    throw ioError(e, dir, 'cannot make a folder of objects');
  });
  if (st.isDirectory()) return dir;
  throw await notAStoreFolder(store, `objects/sha256/${hex.slice(0, 2)}`, dir, st, `a folder of objects: ${what}`, 'snap fsck lists the objects behind it');
}

/**
 * The refusal of a store folder (`rel`, at `path`) that is not a folder of the store's own: a
 * symbolic link (named with its target) or anything else (`st`: its lstat). `keeps` says what the
 * store keeps there and what is not done; `hint` how to see what is behind it.
 */
async function notAStoreFolder(store: Store, rel: string, path: string, st: { isSymbolicLink(): boolean }, keeps: string, hint: string): Promise<SnapError> {
  const is = st.isSymbolicLink() ? `a symbolic link (to ${await fsp.readlink(path).catch(() => '?')})` : 'not a folder';
  return new SnapError('STORE_MALFORMED', `${store.root}: ${rel} is ${is}, where the store keeps ${keeps}; put the folder it should be in its place (${hint}) and run the command again`, { path });
}

/**
 * Write a small file atomically: temporary name in the same folder, fsync, rename, fsync folder.
 * @param opts.exclusive when true, never replace an existing file (`FILE_EXISTS`)
 * @param opts.tmp the temporary file's path (default `.<name>.<12 hex>.tmp` beside it, the name fsck knows in a store)
 * @param opts.what what the error message says could not be done (default `cannot write`)
 * @param opts.beforeName awaited once the temporary file is complete, before it is named (a test hook)
 * @throws SnapError `FILE_EXISTS` | `NOT_FOUND` | `DISK_FULL` | `IO_ERROR`
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, opts: { mode?: number; exclusive?: boolean; tmp?: string; what?: string; beforeName?: () => Promise<void> } = {}): Promise<void> {
  const tmp = opts.tmp ?? join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const forget = leaveNothing(() => rmSync(tmp, { force: true }));
  try {
    const fh = await fsp.open(tmp, 'wx', opts.mode ?? 0o444);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await opts.beforeName?.();
    if (opts.exclusive) {
      // link() fails if the name exists: never replace.
      try {
        await fsp.link(tmp, path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new SnapError('FILE_EXISTS', `${path} already exists; it is never overwritten`, { path });
        throw e;
      }
      await fsp.unlink(tmp);
    } else {
      await fsp.rename(tmp, path);
    }
    await fsyncDir(dirname(path));
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => {});
    throw ioError(e, path, opts.what ?? 'cannot write');
  } finally {
    forget();
  }
}

/**
 * fsync a folder so that a rename in it survives a crash (ignored where unsupported, and where
 * `dir` is no longer a folder). Opened O_DIRECTORY | O_NONBLOCK: a FIFO swapped in for the folder
 * (by whoever can write its parent) is refused at once instead of waited on for ever.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await fsp.open(dir, FS.O_RDONLY | (FS.O_DIRECTORY ?? 0) | (FS.O_NONBLOCK ?? 0));
    await fh.sync();
  } catch {
    /* some file systems refuse fsync on folders */
  } finally {
    await fh?.close();
  }
}

/**
 * Up to this many new objects, a seal or an import into a local store flushes each one (fsync(2)
 * before its rename, then fsync of the folders renamed into) instead of two syncfs(2) of the
 * store's whole file system ({@link syncFileSystem}, through a `sync -f` process). A syncfs waits
 * for every dirty page of that file system, other programs' too, and its process is forked from
 * this one (the page tables of a large process copied, and faulted back in); for a few objects
 * the fsyncs are cheaper. Above it, one syncfs costs less than an fsync (a journal commit) per
 * object. Either way no object is under its final name before its bytes are on disk (SPEC §7).
 */
export const FSYNC_EACH_MAX_OBJECTS = 16;

/**
 * fsync(2) the file at `path` before a rename names it (SPEC §7: flushed to disk, then renamed),
 * opened without following a link or blocking on a FIFO. Something there that is not a regular
 * file (planted by someone who can write the store) holds no bytes to flush: passed over.
 * @returns false when nothing is at `path` (ENOENT), else true
 * @throws the errno error of the open or of the fsync (EIO: the bytes may not be on disk)
 */
export function fsyncFileSync(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, FS.O_RDONLY | (FS.O_NOFOLLOW ?? 0) | (FS.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    if (code === 'ELOOP' || code === 'ENXIO') return true; // a link, a socket: no bytes of ours
    throw e;
  }
  try {
    if (fstatSync(fd).isFile()) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * What `sync -f` says when it cannot flush one file system — no `-f` (coreutils before 8.24,
 * an old busybox), or a file system without syncfs — as opposed to a flush that failed (EIO).
 */
const SYNC_F_UNAVAILABLE = /unrecognized option|invalid option|unknown option|illegal option|usage|not implemented|not supported|function not implemented/i;

/**
 * Flush every file written so far on the store's file system to disk: one syncfs(2) through
 * `sync -f` (coreutils), instead of one fsync per object. Where `sync -f` is unavailable (no such
 * option, no syncfs on that file system, no `sync` at all) it falls back to a global sync(2), which
 * reports nothing; a flush that `sync -f` reports failed (an I/O error: the bytes may not be on
 * disk) is an error, never a success reported over it.
 * @throws SnapError `IO_ERROR` (the flush failed; `details.path`)
 */
export function syncFileSystem(path: string): void {
  // Loaded here, not at start-up: node:child_process brings net and dgram, milliseconds of every run.
  const { spawnSync } = process.getBuiltinModule('node:child_process') as typeof ChildProcess;
  const r = spawnSync('sync', ['-f', path], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status === 0) return;
  const why = (r.stderr ?? '').trim().split('\n')[0] ?? '';
  if (r.error !== undefined || r.status === null || SYNC_F_UNAVAILABLE.test(why)) {
    spawnSync('sync', [], { stdio: 'ignore' });
    return;
  }
  throw new SnapError('IO_ERROR', `flushing ${path} to disk failed (${why || `sync -f exited ${r.status}`}): what was written may not survive a power loss`, { path });
}

/**
 * Open a store.
 *
 * Creating a store is deliberate: with `create`, a store is made only where its parent folder
 * exists (so a mistyped `--store /data/snpa/store` is an error, not a new tree of folders), or
 * with `parents` (`snap init`) along with its missing parent folders. The root folder itself may be
 * absent or an empty folder. The caller announces a store it made (`created` is set), and removes it
 * again with {@link discardNewStore} when its command fails.
 * @param opts.create  make the store when there is none
 * @param opts.parents with `create`: make missing parent folders too
 * @throws SnapError `NOT_FOUND` (no store there and !create; or its parent folder is missing) |
 *   `NOT_A_FOLDER` (the path, or with `create` its parent, is a file) | `STORE_MALFORMED` (store.json
 *   missing from a non-empty folder, or of another format) | `IO_ERROR`
 */
export async function openStore(root: string, opts: { create?: boolean; parents?: boolean } = {}): Promise<Store> {
  // Made a store by another command while this one looked (its store.json is there now): look again.
  for (let attempt = 1; ; attempt++) {
    const s = await openStoreOnce(root, opts, attempt < MAX_REOPEN_ATTEMPTS);
    if (s) return s;
  }
}

/**
 * How often {@link openStore} looks at a folder that other commands keep making a store in, and
 * discarding, meanwhile (each look again follows another command's change: a bound, not a wait).
 */
const MAX_REOPEN_ATTEMPTS = 64;

/**
 * One look of {@link openStore}; undefined (when `again`) if another command made the store in
 * the folder between the look for its `store.json` and the look at what the folder holds, or
 * removed the folder (discarding the store it had made).
 */
async function openStoreOnce(root: string, opts: { create?: boolean; parents?: boolean }, again: boolean): Promise<Store | undefined> {
  const s = layout(resolve(root));
  const marker = join(s.root, 'store.json');
  const kind = await pathKind(s.root);
  if (kind === 'other') {
    throw new SnapError('NOT_A_FOLDER', `${s.root} is a file, not a store folder; point --store (or $SNAP_STORE) at a store folder`, { path: s.root });
  }
  let text: string | undefined;
  try {
    // Bounded, non-blocking and only a regular file: a FIFO planted as store.json must not hang every command.
    if (kind === 'folder') text = (await readSmallFile(marker, MAX_STORE_MARKER_BYTES, 'cannot read the store', (shown) => new SnapError('STORE_MALFORMED', `${shown} is not a regular file; this is not a store this snap can use`, { path: marker }))).toString('utf8');
  } catch (e) {
    if (!(e instanceof SnapError && e.code === 'NOT_FOUND')) throw ioError(e, marker, 'cannot read the store');
  }
  if (text === undefined) {
    let names: string[] | undefined;
    try {
      names = kind === 'missing' ? [] : await fsp.readdir(s.root);
    } catch (e) {
      // Removed since (the folder of a store another command discarded): look again.
      if (!again || (e as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(e, s.root, 'cannot read the store');
      return undefined;
    }
    const empty = names.length === 0 || (await unfinishedStore(s));
    // A store.json there now, or seen by readdir after it was not found: another command made the
    // store meanwhile (and may be discarding it again): look again.
    if (again && (names.includes('store.json') || existsSync(marker))) return undefined;
    // The folder removed meanwhile (that same discarding): look again.
    if (again && kind === 'folder' && (await pathKind(s.root)) === 'missing') return undefined;
    if (!opts.create) {
      if (!empty) throw new SnapError('STORE_MALFORMED', `${s.root} exists but is not a snap store (no store.json)`, { path: s.root });
      // Only commands that read a store get here: an empty store (snap init) holds no snapshot for them.
      throw new SnapError('NOT_FOUND', `no snap store at ${s.root}: give --store PATH (or set $SNAP_STORE) to the store the snapshots were sealed into, or seal a dataset first: snap seal DIR --as NAME@VERSION --key KEY makes the store (snap init --store ${s.root} makes an empty one)`, { path: s.root });
    }
    if (!empty) throw new SnapError('STORE_MALFORMED', `${s.root} exists, is not empty and is not a snap store; choose another --store`, { path: s.root });
    if (kind === 'missing' && !opts.parents) {
      const parent = dirname(s.root);
      const parentKind = await pathKind(parent);
      if (parentKind === 'missing') {
        throw new SnapError('NOT_FOUND', `no snap store at ${s.root}, and its parent folder ${parent} does not exist, so none was made (a mistyped --store?); to make one there, run "snap init --store ${s.root}"`, { path: s.root });
      }
      if (parentKind === 'other') throw new SnapError('NOT_A_FOLDER', `cannot make a store at ${s.root}: ${parent} is a file, not a folder`, { path: parent });
    }
    let made = true;
    try {
      await fsp.mkdir(s.tmpDir, { recursive: true });
      await fsp.mkdir(s.snapshotsDir, { recursive: true });
      await fsp.mkdir(s.objectsDir, { recursive: true });
      await writeFileAtomic(marker, JSON.stringify({ format: STORE_FORMAT }) + '\n', { mode: 0o644, exclusive: true }).catch((e) => {
        if (!(e instanceof SnapError && e.code === 'FILE_EXISTS')) throw e;
        made = false; // another process made it first
      });
    } catch (e) {
      // The folder removed under the making (by a command discarding the store it had made there): look again.
      if (again && ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e instanceof SnapError && e.code === 'NOT_FOUND'))) return undefined;
      throw ioError(e, s.root, 'cannot create the store');
    }
    return made ? { ...s, created: { root: kind === 'missing' } } : s;
  }
  let fmt: unknown;
  try {
    fmt = (parseJsonStrict(text, 'STORE_MALFORMED', 'store.json') as { format?: unknown }).format;
  } catch {
    /* fall through */
  }
  if (fmt !== STORE_FORMAT) throw new SnapError('STORE_MALFORMED', `${marker} does not say {"format":"${STORE_FORMAT}"}; this is not a store this snap can use`, { path: marker });
  return s;
}

/** The temporary file of `store.json` being written (`writeFileAtomic`). */
const MARKER_TMP_RE = /^\.store\.json\.[0-9a-f]{12}\.tmp$/;

/**
 * True when `store.root` holds only what making a store writes before its `store.json`: the empty
 * folders `tmp`, `snapshots` and `objects` (or `objects/sha256`), the marker's temporary file, and
 * `store.json` itself when it appeared after the caller looked for it (and a `lock` naming its
 * holder: a store being discarded by the failed command that made it).
 * That is a store whose making was stopped (a killed `snap init` or first seal), or is under way in
 * another process: it counts as empty, so the store is made (again) there instead of the folder
 * being refused for ever as "not a snap store".
 */
async function unfinishedStore(store: Store): Promise<boolean> {
  // A name gone by the time it is looked at (removed by the command discarding the store) holds nothing.
  const gone = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT';
  const isEmptyDir = async (dir: string, allowed: string[] = []): Promise<boolean> => {
    try {
      if (!(await fsp.lstat(dir)).isDirectory()) return false;
      for (const n of await fsp.readdir(dir)) if (!allowed.includes(n) || !(await isEmptyDir(join(dir, n)))) return false;
      return true;
    } catch (e) {
      return gone(e);
    }
  };
  /**
   * The lock of a store being discarded (discardNewStore removes it last) or of one being made
   * again: it names its holder, or is empty (just made with O_EXCL, not yet written), or is gone
   * (released while the folder was looked at).
   */
  const aLock = async (path: string): Promise<boolean> => {
    const st = await fsp.lstat(path).catch((e: unknown) => (gone(e) ? undefined : null));
    if (st === undefined) return true;
    if (st === null || !st.isFile()) return false;
    const found = await inspectLock(path);
    return found === undefined || found.bytes === 0 || typeof found.holder.pid === 'number';
  };
  try {
    for (const n of await fsp.readdir(store.root)) {
      // Made since the caller did not find it (or being removed by a command discarding the store): a
      // store being made; making it again finds it there (an exclusive write) and uses it.
      if (MARKER_TMP_RE.test(n) || n === 'store.json') continue;
      if (n === LOCK_FILE && (await aLock(join(store.root, n)))) continue;
      if (n === 'tmp' || n === 'snapshots') {
        if (!(await isEmptyDir(join(store.root, n)))) return false;
      } else if (n === 'objects') {
        if (!(await isEmptyDir(join(store.root, n), ['sha256']))) return false;
      } else return false;
    }
    return true;
  } catch (e) {
    return gone(e); // the folder itself removed: nothing in it
  }
}

/** What is at `path`: nothing, a folder (following symbolic links), or something else. */
async function pathKind(path: string): Promise<'missing' | 'folder' | 'other'> {
  try {
    return (await fsp.stat(path)).isDirectory() ? 'folder' : 'other';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw ioError(e, path, 'cannot read the store');
  }
}

/** What making a store writes in its root (see {@link openStore}), besides the marker's temporary file. */
const MADE_NAMES: ReadonlySet<string> = new Set(['store.json', 'tmp', 'snapshots', 'objects']);

/**
 * Remove a store that `openStore({ create: true })` made for a command that then failed, so that
 * a failed command leaves no new store behind. Removes the root folder when the store made it (else
 * empties it), but leaves the store alone when it is no longer this command's alone: a snapshot was
 * committed to it, another command wrote there (an audit line, a revocation, …), or another writer
 * holds its lock. It works under the store's lock (taken without waiting) and removes `store.json`
 * and then the lock last, so a command that opened the store meanwhile and waits for its lock finds
 * it gone, not half removed, and makes it again ({@link lockStoreMaking}).
 * Not a store this call made: nothing. Never throws.
 */
export async function discardNewStore(store: Store): Promise<void> {
  if (!store.created) return;
  let release: (() => Promise<void>) | undefined;
  try {
    release = await acquireLockFile(join(store.root, LOCK_FILE), `the store ${store.root}`, 0);
    const names = await fsp.readdir(store.root);
    if (!names.every((n) => MADE_NAMES.has(n) || n === LOCK_FILE || MARKER_TMP_RE.test(n))) return;
    if ((await fsp.readdir(store.snapshotsDir).catch(() => [])).length > 0) return;
    for (const n of names) if (n !== LOCK_FILE && n !== 'store.json') await fsp.rm(join(store.root, n), { recursive: true, force: true });
    // Then the marker and at once the lock: a command opening the store in between finds only a
    // held lock there, an unfinished store that it makes again (see unfinishedStore).
    await fsp.rm(join(store.root, 'store.json'), { force: true });
    const held = release;
    release = undefined;
    await held(); // the lock last
    if (store.created.root) await fsp.rmdir(store.root); // not if another command has put something there since
  } catch {
    /* best effort: what is left is an empty store, or one another command uses */
  } finally {
    await release?.().catch(() => {});
  }
}

/** The store's write lock, `STORE/lock`. */
export const LOCK_FILE = 'lock';

/** A held write lock; release it with {@link StoreLock.release} (which also empties `STORE/tmp`). */
export interface StoreLock {
  release(): Promise<void>;
}

/** True when a process with this id runs on this host (one of another user counts: EPERM). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A takeover guard older than this (ms) was left by a process that died while holding it; so was a
 * lock file this old that names no holder.
 */
export const GUARD_STALE_MS = 10_000;

/**
 * Most bytes of a lock file read. What a snap writes there (`{pid, host, since, boot, start,
 * pidns}`) is under 300 bytes; a longer file names no holder. A lock file sits in the store, where
 * whoever can write it may plant one of any length: read whole, 300 MiB cost a verify 1.6 GB.
 */
export const MAX_LOCK_BYTES = 4096;

/** A lock file's text, read to at most {@link MAX_LOCK_BYTES} + 1 bytes (`whole`: it is no longer than that bound). */
async function lockText(fh: fsp.FileHandle): Promise<{ text: string; whole: boolean }> {
  const bytes = await readAtMost(fh, MAX_LOCK_BYTES + 1); // at no offset: a FIFO planted as the lock is read too
  return { text: bytes.toString('utf8'), whole: bytes.length <= MAX_LOCK_BYTES };
}

/** {@link lockText}, synchronously (for a process on its way out). */
function lockTextSync(fd: number): string {
  const buf = Buffer.alloc(MAX_LOCK_BYTES + 1);
  let n = 0;
  for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0; ) n += r;
  return buf.subarray(0, n).toString('utf8');
}

/**
 * Remove the file at `path` only if it is still the one `isSame` describes. There is no
 * compare-and-remove in POSIX; a check then an unlink would remove a file made between the two (by
 * another process, which then believes it holds it). So the file is first moved to a name of this
 * process's own (`.NAME.<12 hex>.tmp` beside it, rename(2): exactly one mover gets a given file),
 * checked there, and removed if it is the one; else it is put back (link(2), which never replaces
 * a file made since) and its own name removed.
 * @param isSame judges the moved file: its stat and its text (the first {@link MAX_LOCK_BYTES} + 1 bytes), both through a link
 * @returns true when the file found was removed, false when there was none or it was another (put back)
 */
async function removeIfSame(path: string, isSame: (st: import('node:fs').Stats, text: string) => boolean): Promise<boolean> {
  const moved = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await fsp.rename(path, moved);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw ioError(e, path, 'cannot take over a stale lock');
  }
  const forget = leaveNothing(() => {
    try {
      linkSync(moved, path);
    } catch {
      /* another file there now, or gone */
    }
    rmSync(moved, { force: true });
  });
  try {
    // Looked at as inspectLock looks at a lock: through a link, without blocking on a FIFO.
    const fh = await fsp.open(moved, FS.O_RDONLY | (FS.O_NONBLOCK ?? 0)).catch(() => undefined);
    let same = false;
    if (fh) {
      try {
        const st = await fh.stat();
        same = isSame(st, st.isDirectory() ? '' : (await lockText(fh)).text);
      } catch {
        /* not to be read: not the file found */
      } finally {
        await fh.close();
      }
    }
    if (same) return true;
    await fsp.link(moved, path).catch(() => {}); // another's: put back, unless a newer one is there
    return false;
  } finally {
    await fsp.rm(moved, { force: true }).catch(() => {});
    forget();
  }
}

/** How long (ms, and as much again at random) a waiter pauses when another waiter holds the takeover guard. */
const TAKEOVER_BACKOFF_MS = 20;

/**
 * Remove a stale lock file — but only the very file found stale (`held`: its device, inode and
 * text; the text too, since a freed inode number can be reused at once). Two waiters can both find
 * the same dead holder; were each to remove what it found, the second would delete the lock the
 * first had just made, and both would go in. So a waiter removes a stale lock only while holding
 * `PATH.takeover` (made with O_EXCL, held for a few milliseconds), after reading the lock again:
 * by then it is the same stale file, gone, or someone's live lock (left alone); and it removes
 * only that very file ({@link removeIfSame}). A guard left by a process that died holding it is
 * removed after {@link GUARD_STALE_MS} — that very guard too: two waiters that both found it old
 * removed it and then the one the first had just made, held the guard together, and both took the
 * lock (8 processes on a stale lock and a stale guard: two holders at once in one round in 15). A
 * waiter removes its own guard the same way, and one that finds the guard held pauses before it
 * looks again. What is left: a file moved away to be judged that is not the one found is put back
 * with link(2), which fails if another was made in that instant (both its maker and the one whose
 * file it was then hold the lock); that needs a guard left by a waiter killed in the milliseconds it
 * held it, and another waiter to make its file in that instant (none in 140 rounds of 8 processes,
 * 70 of them with a stale guard).
 */
async function takeOverStale(path: string, held: LockInspection['held']): Promise<void> {
  const guard = `${path}.takeover`;
  let gh: fsp.FileHandle;
  try {
    gh = await fsp.open(guard, FS.O_CREAT | FS.O_EXCL | FS.O_WRONLY, 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(e, guard, 'cannot take over a stale lock');
    const st = await fsp.stat(guard).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > GUARD_STALE_MS) await removeIfSame(guard, (now) => now.dev === st.dev && now.ino === st.ino && now.mtimeMs === st.mtimeMs);
    // Another waiter is taking over: look again in a moment, not at once — waiters that look
    // without pause make a lock (or guard) in the instant a file is away being judged, and it
    // could not be put back.
    await new Promise((r) => setTimeout(r, TAKEOVER_BACKOFF_MS + Math.random() * TAKEOVER_BACKOFF_MS));
    return;
  }
  const forgetGuard = leaveNothing(() => rmSync(guard, { force: true }));
  let mine: import('node:fs').Stats | undefined;
  try {
    mine = await gh.stat();
    const isHeld = (st: import('node:fs').Stats, text: string) => st.dev === held.dev && st.ino === held.ino && st.size === held.size && text === held.text;
    // Looked at again before it is moved: a live lock is never moved (were it moved, a lock made
    // while it was away would keep it from being put back, and two would hold the lock).
    const fh = await fsp.open(path, FS.O_RDONLY | (FS.O_NONBLOCK ?? 0)).catch(() => undefined); // never blocks on a planted FIFO
    if (!fh) return; // already taken over
    let same: boolean;
    try {
      const st = await fh.stat();
      same = isHeld(st, (await lockText(fh)).text);
    } finally {
      await fh.close();
    }
    if (same) await removeIfSame(path, isHeld);
  } finally {
    await gh.close();
    if (mine) {
      const { dev, ino } = mine;
      await removeIfSame(guard, (st) => st.dev === dev && st.ino === ino);
    } else await fsp.rm(guard, { force: true });
    forgetGuard();
  }
}

/**
 * Take an advisory lock file (created with O_CREAT | O_EXCL, holding `{pid, host, since, boot, start}`). A lock
 * left by a dead process on this host is taken over ({@link takeOverStale}). Shared by the store's write lock and the
 * audit log's append lock.
 * @param what    what is being locked, for the error message (e.g. "the store /s")
 * @param waitMs  how long to wait for the holder
 * @param opts.interruptible stop waiting when the process is interrupted (`INTERRUPTED` / `TERMINATED`),
 *   and give the lock back and stop so when the signal came while it was being taken
 * After {@link LOCK_WAIT_NOTICE_MS} of waiting it says so, once (`lock-wait-notice.ts`; the CLI
 * writes it on stderr).
 * @returns a function that releases the lock (once; later calls do nothing). Until then, an
 *   interrupted process removes the lock on its way out (`interrupt.ts`).
 * @throws SnapError `STORE_LOCKED` after waiting, or at once when the lock is no file snap wrote
 *   ({@link LockInspection.notALock}: a folder, a link to nothing) | `IO_ERROR` / `NOT_FOUND` (e.g. a read-only or missing folder)
 */
export async function acquireLockFile(path: string, what: string, waitMs: number, opts: { interruptible?: boolean } = {}): Promise<() => Promise<void>> {
  const boot = bootId();
  const start = processStart(process.pid);
  const pidns = pidNamespace();
  const me = { pid: process.pid, host: hostname(), since: new Date().toISOString(), ...(boot !== undefined ? { boot } : {}), ...(start !== undefined ? { start } : {}), ...(pidns !== undefined ? { pidns } : {}) };
  const text = JSON.stringify(me);
  const started = Date.now();
  const deadline = started + waitMs;
  let noticed = false;
  let forget: (() => void) | undefined;
  for (;;) {
    if (opts.interruptible) checkInterrupted();
    let fh: fsp.FileHandle | undefined;
    try {
      fh = await fsp.open(path, FS.O_CREAT | FS.O_EXCL | FS.O_WRONLY, 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(e, path, `cannot lock ${what}`);
    }
    if (fh) {
      // From here on the file is ours: an interrupted process removes it even if it stops now.
      forget = leaveNothing(() => removeOwnLock(path, text));
      try {
        await fh.writeFile(text);
        await fh.close();
      } catch (e) {
        await fh.close().catch(() => {});
        await fsp.rm(path, { force: true });
        forget();
        throw ioError(e, path, `cannot lock ${what}`);
      }
      if (opts.interruptible && interruptedBy() !== undefined) {
        // The signal came while the lock was being taken: give it back, and stop before doing anything under it.
        await fsp.rm(path, { force: true });
        forget();
        checkInterrupted();
      }
      break;
    }
    const found = await inspectLock(path);
    const holder = found?.holder ?? {};
    if (found?.state === 'stale') {
      await takeOverStale(path, found.held);
      continue;
    }
    // Never taken over, never gone by itself: waiting is no use.
    if (found?.notALock !== undefined) throw new SnapError('STORE_LOCKED', `${what} is locked by ${path}, which is ${notALockAdvice(path, found.notALock)}`, { path });
    if (Date.now() > deadline) {
      if (found?.unreadable !== undefined) {
        throw new SnapError('STORE_LOCKED', `${what} is locked by ${path}, which this user cannot read (${found.unreadable}): another user's snap may hold it; wait for it, or delete ${path} if no snap runs`, { path });
      }
      // A lock naming no holder: one being written now, or one left by a snap killed while it wrote it, taken over once it is GUARD_STALE_MS old.
      if (typeof holder.pid !== 'number' || typeof holder.host !== 'string') {
        throw new SnapError('STORE_LOCKED', `${what} is locked by a lock file that names no holder (a snap taking it now, or one killed while it took it); such a lock is taken over once it is ${GUARD_STALE_MS / 1000} s old: run the command again in a few seconds`, { path });
      }
      throw new SnapError('STORE_LOCKED', `${what} is locked by another snap (pid ${holder.pid} on ${holder.host}); wait for it, or delete ${path} if that process is gone`, { path });
    }
    if (!noticed && Date.now() - started >= LOCK_WAIT_NOTICE_MS) {
      noticed = true;
      const by = typeof holder.pid === 'number' && typeof holder.host === 'string' ? `another snap (pid ${holder.pid} on ${holder.host}${typeof holder.since === 'string' ? `, since ${holder.since}` : ''})` : 'another snap';
      noticeLockWait(`waiting for ${what}, locked by ${by}: up to ${Math.ceil(waitMs / 1000)} s in all`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    await fsp.rm(path, { force: true });
    forget?.();
  };
}

let bootIdCache: string | null | undefined;

/**
 * This boot of this host (Linux: `/proc/sys/kernel/random/boot_id`, a random UUID made at boot),
 * recorded in lock files so that a lock left by a crash or power loss is known stale after the
 * reboot even when its pid names another process by then. Undefined where there is none.
 */
export function bootId(): string | undefined {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      bootIdCache = null;
    }
  }
  return bootIdCache ?? undefined;
}

let pidNamespaceCache: string | null | undefined;

/**
 * This process's pid namespace (Linux: the target of `/proc/self/ns/pid`, e.g. `pid:[4026531836]`,
 * namespaces(7)), recorded in lock files: a pid written by a process of another namespace — another
 * container sharing the store's volume, the host name and the boot — names nothing here, so such a
 * holder's liveness cannot be judged from this side and its lock is never taken over. Undefined
 * where there is none.
 */
export function pidNamespace(): string | undefined {
  if (pidNamespaceCache === undefined) {
    try {
      pidNamespaceCache = readlinkSync('/proc/self/ns/pid') || null;
    } catch {
      pidNamespaceCache = null;
    }
  }
  return pidNamespaceCache ?? undefined;
}

/** Fields of `/proc/PID/stat` before its `starttime` (field 22), counted after the `)` that ends `comm` (field 2). */
const STAT_FIELDS_BEFORE_START = 19;

/**
 * When the process `pid` started (Linux: `starttime` of `/proc/PID/stat`, proc(5), clock ticks since
 * boot), recorded in lock files so that a lock whose holder was killed is known stale even when its
 * pid names another process by then (a pid reused, as in a container where each job's snap is pid
 * 1). Undefined where there is no `/proc`, or no such process.
 */
export function processStart(pid: number): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const field = text.slice(text.lastIndexOf(')') + 2).split(' ')[STAT_FIELDS_BEFORE_START];
    const n = Number(field);
    return field !== undefined && Number.isSafeInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** A lock file as found: who holds it, and whether that holder is gone. */
export interface LockInspection {
  /**
   * `live`: its process runs on this host · `stale`: its process is dead on this host, or its pid
   * names a process that started at another time than the holder recorded ({@link processStart}), or it was
   * written before this host last booted (its `boot` is not {@link bootId}), or the file
   * does not name a holder and is older than {@link GUARD_STALE_MS} (a process died between making
   * and writing it) · `unknown`: held from another host or another pid namespace of this boot
   * ({@link pidNamespace}: its pid cannot be checked), or just made.
   */
  state: 'live' | 'stale' | 'unknown';
  holder: { pid?: number; host?: string; since?: string; boot?: string; start?: number; pidns?: string };
  /** What {@link takeOverStale} needs to remove exactly this file (its text: the first {@link MAX_LOCK_BYTES} + 1 bytes). */
  held: { dev: number; ino: number; size: number; text: string };
  /** Size of the lock file (bytes) and when it was last written (ms since the epoch). */
  bytes: number;
  mtimeMs: number;
  /**
   * Set when the lock is no file snap wrote, and no snap will ever take it over or remove it: `a
   * folder`, `a symbolic link to nothing`, or what else it is (a socket …). Planted, or made by
   * something else; removed only by hand ({@link notALockAdvice}). State `unknown`.
   */
  notALock?: string;
  /** Set when this user cannot read the lock file (`EACCES`: another user's, made under umask 077). State `unknown`. */
  unreadable?: string;
}

/**
 * What to say of the lock at `path` that is {@link LockInspection.notALock} (`what`): `WHAT, not a
 * lock file snap writes: …`, with the command that removes it (the path quoted for a POSIX shell
 * when it needs it).
 */
export function notALockAdvice(path: string, what: string): string {
  const quoted = /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
  return `${what}, not a lock file snap writes: no snap takes it over; remove it (rm ${what === 'a folder' ? '-r ' : ''}${quoted}) once you know what put it there`;
}

/**
 * Look at a lock file (the store's `lock`, the log's `log.lock`).
 * @returns undefined when there is none (or it vanished while read)
 */
export async function inspectLock(path: string): Promise<LockInspection | undefined> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(path, FS.O_RDONLY | (FS.O_NONBLOCK ?? 0)); // a FIFO planted as the lock reads as empty, never blocks
  } catch (e) {
    // Gone, or there and not to be read: a link to nothing, a socket, another user's file.
    const st = await fsp.lstat(path).catch(() => undefined);
    if (!st) return undefined;
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    // Gone when opened, and a new lock made since: looked at again.
    if (code === 'ENOENT' && !st.isSymbolicLink()) return undefined;
    const base = { state: 'unknown' as const, holder: {}, held: { dev: st.dev, ino: st.ino, size: st.size, text: '' }, bytes: st.size, mtimeMs: st.mtimeMs };
    if (code === 'EACCES' && st.isFile()) return { ...base, unreadable: code };
    const what = st.isDirectory() ? 'a folder' : st.isSymbolicLink() ? (code === 'ENOENT' ? 'a symbolic link to nothing' : `a symbolic link that cannot be opened (${code})`) : st.isSocket() ? 'a socket' : `no file that can be opened (${code})`;
    return { ...base, notALock: what };
  }
  let held: LockInspection['held'];
  let whole: boolean;
  let st;
  try {
    st = await fh.stat();
    if (st.isDirectory()) {
      return { state: 'unknown', holder: {}, held: { dev: st.dev, ino: st.ino, size: st.size, text: '' }, bytes: st.size, mtimeMs: st.mtimeMs, notALock: 'a folder' };
    }
    const read = await lockText(fh);
    whole = read.whole;
    held = { dev: st.dev, ino: st.ino, size: st.size, text: read.text };
  } catch {
    return undefined;
  } finally {
    await fh.close();
  }
  let holder: LockInspection['holder'] = {};
  try {
    const o = whole ? JSON.parse(held.text) : undefined; // longer than any lock snap writes: names no holder
    if (o && typeof o === 'object' && !Array.isArray(o)) holder = o;
  } catch {
    /* being written, or garbage */
  }
  let state: LockInspection['state'];
  if (typeof holder.pid === 'number' && typeof holder.host === 'string') {
    const boot = bootId();
    // Written before this host last booted (a crash or power loss while it was held): its pid may
    // name another process since, which must not keep the lock held for ever.
    const beforeBoot = typeof holder.boot === 'string' && boot !== undefined && holder.boot !== boot;
    // A holder in another pid namespace (another container of this boot, with this host name): its
    // pid cannot be looked up here, as for another host.
    const otherNamespace = typeof holder.pidns === 'string' && pidNamespace() !== undefined && holder.pidns !== pidNamespace();
    state = holder.host !== hostname() ? 'unknown' : beforeBoot ? 'stale' : otherNamespace ? 'unknown' : !pidAlive(holder.pid) || otherProcess(holder) ? 'stale' : 'live';
  } else {
    state = Date.now() - st.mtimeMs > GUARD_STALE_MS ? 'stale' : 'unknown';
  }
  return { state, holder, held, bytes: st.size, mtimeMs: st.mtimeMs };
}

/**
 * True when the holder recorded its process's start ({@link processStart}) and the process with its
 * pid now started at another time: the holder is gone, its pid reused. (A holder that recorded none,
 * or a pid whose start cannot be read, is judged by its pid alone.)
 */
function otherProcess(holder: LockInspection['holder']): boolean {
  if (typeof holder.start !== 'number' || typeof holder.pid !== 'number') return false;
  const now = processStart(holder.pid);
  return now !== undefined && now !== holder.start;
}

/**
 * Remove the lock file at `path` if it still holds exactly `text` (what this process wrote), or is
 * empty (this process stopped between creating and writing it). Synchronous, never throws: run by
 * an interrupted process on its way out.
 */
function removeOwnLock(path: string, text: string): void {
  try {
    const fd = openSync(path, FS.O_RDONLY | (FS.O_NONBLOCK ?? 0));
    let now: string;
    try {
      now = fstatSync(fd).isFile() ? lockTextSync(fd) : '\0not a file';
    } finally {
      closeSync(fd);
    }
    if (now === text || now === '') unlinkSync(path);
  } catch {
    /* gone already */
  }
}

/**
 * Take the store's advisory write lock (`STORE/lock`, see {@link acquireLockFile}). Once it is held,
 * everything in `STORE/tmp` is stale and removed; releasing it empties `STORE/tmp` again, and so
 * does an interrupted process on its way out (`interrupt.ts`). Waiting for another writer stops
 * when the process is interrupted.
 * The store's own folders `objects`, `objects/sha256` and `snapshots` must then be folders (or
 * absent): a symbolic link in place of one is refused ({@link refuseLinkedStoreFolders}), as a
 * fan-out folder or `snapshots/NAME` is, so that no writer writes through it.
 * @param waitMs how long to wait for another writer (default 60 s)
 * @throws SnapError `STORE_LOCKED` after waiting | `STORE_MALFORMED` (a link in place of a store
 *   folder) | `IO_ERROR` (e.g. a read-only store) | `INTERRUPTED` / `TERMINATED`
 */
export async function lockStore(store: Store, waitMs = 60_000): Promise<StoreLock> {
  const removed = () => {
    const e = new SnapError('NOT_FOUND', `the store ${store.root} was removed while this command waited for its lock (the command that made it failed); run it again`, { path: store.root });
    STORE_REMOVED_ERRORS.add(e);
    return e;
  };
  let release: () => Promise<void>;
  try {
    release = await acquireLockFile(join(store.root, LOCK_FILE), `the store ${store.root}`, waitMs, { interruptible: true });
  } catch (e) {
    // Its root folder removed too (discardNewStore removes the folder it made), perhaps made again
    // since: the lock file could not be made there.
    if (e instanceof SnapError && e.code === 'NOT_FOUND') throw removed();
    throw e;
  }
  if (!existsSync(join(store.root, 'store.json'))) {
    // Removed while this command waited (discardNewStore of the failed command that made it): not a store to write.
    await release();
    throw removed();
  }
  // Registered after the lock, so an interrupted writer empties tmp/ before it removes its lock.
  const forget = leaveNothing(() => emptyTmpSync(store));
  try {
    // We are the only writer: whatever is in tmp/ was left by a crashed or killed one.
    await fsp.rm(store.tmpDir, { recursive: true, force: true });
    await fsp.mkdir(store.tmpDir, { recursive: true });
  } catch (e) {
    forget();
    await release();
    throw ioError(e, store.tmpDir, 'cannot clear the temporary folder of the store');
  }
  try {
    await refuseLinkedStoreFolders(store);
  } catch (e) {
    forget();
    await release();
    throw e;
  }
  if (interruptedBy() !== undefined) {
    forget();
    await release();
    checkInterrupted();
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      // Whatever this writer left in tmp/ (a file a terminated worker was writing, a stopped
      // import's staging folder) is removed before the next writer could see it.
      await emptyTmp(store).catch(() => {});
      forget();
      await release();
    },
  };
}

/**
 * {@link lockStore} for a command that makes its store when there is none (`seal`, `import`): when
 * the store it opened was removed while it waited for the lock — the command that made it failed
 * and discarded it ({@link discardNewStore}) — the store is made again (`store.created` then says
 * so) and locked.
 * @throws SnapError the codes of {@link lockStore} and of {@link openStore} with `create`
 */
export async function lockStoreMaking(store: Store, waitMs?: number): Promise<StoreLock> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await lockStore(store, waitMs);
    } catch (e) {
      // Only the store removed under the wait is made again; another command may already have
      // made it again since (then openStore finds it and this one locks it, as any writer would).
      if (!(e instanceof SnapError && STORE_REMOVED_ERRORS.has(e)) || attempt >= MAX_REMAKE_ATTEMPTS) throw e;
    }
    const again = await openStore(store.root, { create: true });
    if (again.created) store.created = again.created;
  }
}

/** The errors {@link lockStore} threw because the store was removed while it waited (not any NOT_FOUND). */
const STORE_REMOVED_ERRORS = new WeakSet<SnapError>();

/**
 * The folders of a store that writers write into below its root, as the store names them
 * (`tmp` is not one: {@link lockStore} removes whatever is in its place, a link unfollowed, and
 * makes it again).
 */
const STORE_FOLDERS = ['objects', join('objects', 'sha256'), 'snapshots'] as const;

/**
 * Refuse a store whose `objects`, `objects/sha256` or `snapshots` is not a folder of its own (one
 * lstat each, once per command that takes the lock): whoever can write the store could put a
 * symbolic link there to a folder of the user's, and a seal would write its objects, or its
 * snapshot folder, into that folder. Absent folders pass (they are made, as folders, when first
 * written). Readers still read through such a link, as through a fan-out folder's (fsck checks
 * through it).
 * @throws SnapError `STORE_MALFORMED` | `IO_ERROR` (the folder cannot be looked at)
 */
async function refuseLinkedStoreFolders(store: Store): Promise<void> {
  for (const rel of STORE_FOLDERS) {
    const path = join(store.root, rel);
    let st;
    try {
      st = await fsp.lstat(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw ioError(e, path, 'cannot look at the store');
    }
    if (st.isDirectory()) continue;
    throw await notAStoreFolder(store, rel, path, st, 'a folder of its own: no command writes through it, and nothing was written', 'snap fsck reads through the link');
  }
}

/**
 * How often {@link lockStoreMaking} makes a store again that was removed under it: each removal is
 * another failed command's, which discards a store only it wrote to, so this bounds how many
 * failing commands a writer waits through, not how long it waits.
 */
const MAX_REMAKE_ATTEMPTS = 64;

/**
 * Remove everything inside STORE/tmp (the folder itself stays). Whoever can write the store could
 * have put a symbolic link (or a file) in place of `tmp` while the lock was held: that link is
 * removed, never followed — what it points to is not the store's to empty.
 */
async function emptyTmp(store: Store): Promise<void> {
  const st = await fsp.lstat(store.tmpDir).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory()) {
    await fsp.rm(store.tmpDir, { force: true });
    return;
  }
  for (const name of await fsp.readdir(store.tmpDir).catch(() => [] as string[])) await fsp.rm(join(store.tmpDir, name), { recursive: true, force: true });
}

/** {@link emptyTmp}, synchronously and never throwing (for an interrupted process on its way out). */
function emptyTmpSync(store: Store): void {
  let names: string[] = [];
  try {
    if (!lstatSync(store.tmpDir).isDirectory()) {
      rmSync(store.tmpDir, { force: true }); // a link planted in place of tmp: removed, not followed
      return;
    }
    names = readdirSync(store.tmpDir);
  } catch {
    return;
  }
  for (const name of names) {
    try {
      rmSync(join(store.tmpDir, name), { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
}

/** Make a fresh private folder under STORE/tmp. */
export async function makeTmpDir(store: Store, prefix: string): Promise<string> {
  await fsp.mkdir(store.tmpDir, { recursive: true });
  return fsp.mkdtemp(join(store.tmpDir, `${prefix}-`));
}

/** Folder of NAME@VERSION in the store. */
export function snapshotDir(store: Store, name: string, version: string): string {
  return join(store.snapshotsDir, name, version);
}

/**
 * Move a complete snapshot folder from tmp into place (atomic rename; write-once). Never through
 * a `snapshots/NAME` that is a symbolic link (or not a folder): the snapshot would land in the
 * folder it leads to (readers and fsck read through such a link; writers never write through one).
 * @throws SnapError `SNAPSHOT_EXISTS` | `STORE_MALFORMED` (`snapshots/NAME` a link, or not a folder) | `IO_ERROR`
 */
export async function commitSnapshot(store: Store, tmp: string, name: string, version: string): Promise<string> {
  const dest = snapshotDir(store, name, version);
  await fsp.mkdir(dirname(dest), { recursive: true });
  const folder = await fsp.lstat(dirname(dest)).catch((e) => {
    throw ioError(e, dirname(dest), 'cannot commit the snapshot');
  });
  if (!folder.isDirectory()) {
    const is = folder.isSymbolicLink() ? `a symbolic link (to ${await fsp.readlink(dirname(dest)).catch(() => '?')})` : 'not a folder';
    throw new SnapError('STORE_MALFORMED', `${store.root}: snapshots/${name} is ${is}, where the store keeps the folder of ${name}'s snapshots: ${name}@${version} is written nothing through it; put the folder it should be in its place and run the command again`, { path: dirname(dest) });
  }
  if (existsSync(dest)) throw new SnapError('SNAPSHOT_EXISTS', `${name}@${version} already exists in ${store.root}; snapshots are write-once, choose a new VERSION`, { ref: `${name}@${version}` });
  try {
    await fsp.rename(tmp, dest);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new SnapError('SNAPSHOT_EXISTS', `${name}@${version} already exists`, { ref: `${name}@${version}` });
    throw ioError(e, dest, 'cannot commit the snapshot');
  }
  await fsyncDir(dirname(dest));
  return dest;
}

/**
 * What the statement in the snapshot folder `dir` says of it (read, not verified); undefined when
 * it cannot be read. Synchronous: a store may hold thousands of versions of a NAME
 * ({@link listSnapshots}), and each file read through the thread pool cost some 0.4 ms.
 */
function readInfo(dir: string, name: string, version: string): SnapshotInfo | undefined {
  let bytes: Buffer;
  try {
    // Bounded, and never a FIFO (a planted one would block list, NAME@latest and id lookups forever).
    bytes = readSmallFileSync(join(dir, STATEMENT_FILE), MAX_STATEMENT_BYTES + 1, 'cannot read the statement', () => new SnapError('SNAPSHOT_MALFORMED', 'not a regular file'));
  } catch {
    return undefined;
  }
  let p: Record<string, unknown> = {};
  let malformed: string | undefined;
  try {
    const parsed = parseJsonStrict(bytes.toString('utf8'), 'SNAPSHOT_MALFORMED', 'the statement') as { predicate?: unknown };
    if (parsed === null || typeof parsed !== 'object' || parsed.predicate === null || typeof parsed.predicate !== 'object') malformed = 'the statement has no predicate object';
    else p = parsed.predicate as Record<string, unknown>;
  } catch (e) {
    malformed = e instanceof Error ? e.message : String(e); // listed with what we have, marked; verify refuses it
  }
  if (malformed === undefined) {
    const wrong = ([['createdAt', 'string'], ['fileCount', 'number'], ['totalBytes', 'number'], ['merkleRoot', 'string']] as const).filter(([k, t]) => typeof p[k] !== t).map(([k]) => k);
    if (wrong.length > 0) malformed = `the statement's predicate has no valid ${wrong.join(', ')}`;
  }
  const signedAs = typeof p.dataset === 'string' && typeof p.version === 'string' ? `${p.dataset}@${p.version}` : undefined;
  return {
    name,
    version,
    dir,
    id: snapshotId(bytes),
    createdAt: typeof p.createdAt === 'string' ? p.createdAt : '',
    fileCount: typeof p.fileCount === 'number' ? p.fileCount : 0,
    totalBytes: typeof p.totalBytes === 'number' ? p.totalBytes : 0,
    ...(typeof p.parent === 'string' ? { parent: p.parent } : {}),
    merkleRoot: typeof p.merkleRoot === 'string' ? p.merkleRoot : '',
    ...(signedAs !== undefined && signedAs !== `${name}@${version}` ? { signedAs } : {}),
    ...(malformed !== undefined ? { malformed } : {}),
  };
}

/** The modification time of `dir` (ms), 0 when it cannot be looked at. */
function mtimeOf(dir: string): number {
  try {
    return statSync(dir).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * The snapshots in a store (optionally of one NAME), oldest first by createdAt.
 * Statements are read, not verified: use verify for trust.
 */
export async function listSnapshots(store: Store, name?: string): Promise<SnapshotInfo[]> {
  const names = name !== undefined ? [name] : await fsp.readdir(store.snapshotsDir).catch(() => [] as string[]);
  const out: SnapshotInfo[] = [];
  for (const n of names) {
    if (!NAME_RE.test(n)) continue;
    const versions = await fsp.readdir(join(store.snapshotsDir, n)).catch(() => [] as string[]);
    for (const v of versions) {
      if (!VERSION_RE.test(v)) continue;
      const info = readInfo(join(store.snapshotsDir, n, v), n, v);
      if (info) out.push(info);
    }
  }
  // Oldest first by createdAt (whole seconds); within one second, by when the folder was committed.
  const committed = new Map<string, number>();
  for (const i of out) committed.set(i.dir, mtimeOf(i.dir));
  return out.sort((a, b) =>
    a.createdAt !== b.createdAt ? (a.createdAt < b.createdAt ? -1 : 1) : (committed.get(a.dir) ?? 0) - (committed.get(b.dir) ?? 0) || (a.name + '@' + a.version < b.name + '@' + b.version ? -1 : 1),
  );
}

/**
 * Every `snapshots/NAME/VERSION` entry of a store whose names are valid, whether or not it holds a
 * readable snapshot (unlike {@link listSnapshots}, which leaves out a folder whose `statement.json`
 * cannot be read). For commands that must report such a folder rather than not see it (`impact`).
 * Sorted by NAME, then VERSION.
 */
export async function listSnapshotFolders(store: Store): Promise<{ name: string; version: string; dir: string }[]> {
  const out: { name: string; version: string; dir: string }[] = [];
  for (const n of (await fsp.readdir(store.snapshotsDir).catch(() => [] as string[])).sort()) {
    if (!NAME_RE.test(n)) continue;
    for (const v of (await fsp.readdir(join(store.snapshotsDir, n)).catch(() => [] as string[])).sort()) {
      if (VERSION_RE.test(v)) out.push({ name: n, version: v, dir: join(store.snapshotsDir, n, v) });
    }
  }
  return out;
}

/** A "no snapshot NAME@VERSION" message names at most this many of NAME's versions (a store may hold thousands). */
const MAX_VERSIONS_NAMED = 10;
/** A NAME no snapshot has is suggested the store's nearest NAME within this many single-character edits. */
const MAX_NAME_SUGGESTION_EDITS = 2;

/**
 * What the store holds instead of `NAME@VERSION` (or `NAME@latest`), for a "no snapshot" message:
 * the versions of NAME (at most {@link MAX_VERSIONS_NAMED}, by name, with a count of the rest), or,
 * when no snapshot has NAME, the nearest NAME of the store (else that it may be in another store:
 * `--store`, or not sealed yet: the `seal` of NAME@`version` to run), or that the store holds no
 * snapshot at all (a wrong `--store` or `$SNAP_STORE`).
 * Read from the folder names only (`snapshots/NAME/VERSION` whose names are valid); never throws.
 * @returns text to follow "no snapshot … in STORE", starting with "; "
 */
export async function whatTheStoreHoldsInstead(store: Store, name: string, version = 'VERSION'): Promise<string> {
  const versions = (await fsp.readdir(join(store.snapshotsDir, name)).catch(() => [] as string[])).filter((v) => VERSION_RE.test(v)).sort();
  if (versions.length > 0) {
    const shown = versions.slice(0, MAX_VERSIONS_NAMED).join(', ');
    const rest = versions.length > MAX_VERSIONS_NAMED ? ` and ${versions.length - MAX_VERSIONS_NAMED} more` : '';
    return `; ${name} has ${versions.length === 1 ? 'one version' : `${versions.length} versions`}: ${shown}${rest} (see "snap list ${name}")`;
  }
  const names = [...new Set((await listSnapshotFolders(store)).map((f) => f.name))];
  if (names.length === 0) return '; the store holds no snapshot at all (a wrong --store or $SNAP_STORE?)';
  const near = nearestName(name, names, MAX_NAME_SUGGESTION_EDITS);
  return near !== undefined ? `; no snapshot is named ${name}: did you mean ${near}? (see "snap list")` : `; no snapshot is named ${name} (see "snap list"; sealed into another store? give --store PATH or set $SNAP_STORE; not sealed yet? snap seal DIR --as ${name}@${version} --key KEY)`;
}

/** True when `dir` holds the three snapshot files. */
export function isSnapshotFolder(dir: string): boolean {
  return existsSync(join(dir, STATEMENT_FILE)) && existsSync(join(dir, ENVELOPE_FILE)) && existsSync(join(dir, MANIFEST_FILE));
}

/**
 * Resolve a ref (SPEC §1) to a snapshot folder: an existing snapshot folder path, `NAME@VERSION`,
 * a snapshot id, or a unique id prefix of at least 8 hex digits. Archives are resolved by the
 * archive module.
 * @throws SnapError `REF_MALFORMED` | `REF_AMBIGUOUS` | `REF_NOT_FOUND` | `NOT_FOUND` (no store; a
 *   path, see `looksLikePath`, with nothing there)
 */
export async function resolveRef(text: string, storeRoot: string): Promise<SnapshotLocation> {
  if (looksLikePath(text)) {
    if (!existsSync(text)) throw new SnapError('NOT_FOUND', `${text} does not exist (no snapshot folder there)`, { path: resolve(text) });
    if (isSnapshotFolder(text)) return { dir: resolve(text), ref: text };
    throw new SnapError('REF_NOT_FOUND', `${text} is not a snapshot folder (it needs ${STATEMENT_FILE}, ${ENVELOPE_FILE} and ${MANIFEST_FILE})`, { ref: text });
  }
  const parsed = parseRef(text);
  const store = await openStore(storeRoot);
  if (parsed.kind === 'name') {
    const dir = snapshotDir(store, parsed.name, parsed.version);
    // The folder is the snapshot: if one of its files was deleted, that is for the trust check to
    // report (a missing signature is an integrity failure, exit 1), not "no such snapshot".
    if (!existsSync(dir)) throw new SnapError('REF_NOT_FOUND', `no snapshot ${text} in ${store.root}${await whatTheStoreHoldsInstead(store, parsed.name, parsed.version === LATEST ? undefined : parsed.version)}`, { ref: text });
    return { dir, name: parsed.name, version: parsed.version, ref: text };
  }
  const all = await listSnapshots(store);
  const hits = all.filter((s) => s.id.slice(7).startsWith(parsed.hexPrefix));
  if (hits.length === 0) throw new SnapError('REF_NOT_FOUND', `no snapshot with id ${text} in ${store.root} (see "snap list")`, { ref: text });
  let h = hits[0] as SnapshotInfo;
  if (hits.length > 1) {
    const where = hits.map((x) => `${x.name}@${x.version}`).join(', ');
    if (hits.some((x) => x.id !== h.id)) throw new SnapError('REF_AMBIGUOUS', `${text} matches ${hits.length} snapshots (${where}); give more digits`, { ref: text });
    // One snapshot in several folders: copies, each signed as another folder's. The folder its
    // statement names is the snapshot's own; more digits cannot tell the copies apart.
    const own = hits.filter((x) => x.signedAs === undefined && x.malformed === undefined);
    if (own.length !== 1) throw new SnapError('REF_AMBIGUOUS', `snapshot ${h.id} is in ${hits.length} folders (${where}), ${own.length === 0 ? 'none of them the one its statement names' : 'more than one of them its own'}: name it by NAME@VERSION, and run snap fsck`, { ref: text });
    h = own[0] as SnapshotInfo;
  }
  return { dir: h.dir, name: h.name, version: h.version, ref: text };
}

