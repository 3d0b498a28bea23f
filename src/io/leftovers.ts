/**
 * What stopped or killed commands leave in a store — found for `fsck`, removed by `fsck --clean`:
 *
 * - `stale-lock` / `stale-log-lock`: `STORE/lock` or `STORE/log.lock` whose process is dead on this
 *   host (or that names no holder and is older than {@link GUARD_STALE_MS});
 * - `lock-guard`: a takeover guard (`lock.takeover`, `log.lock.takeover`) older than that;
 * - `tmp`: files and folders in `STORE/tmp` while no running writer holds the store's lock;
 * - `partial-write`: the temporary file of an atomic write in the store's root
 *   (`.<name>.<12 hex>.tmp`, e.g. of `log.head`), or of a snapshot's envelope replaced by `sign`
 *   (`snapshots/NAME/VERSION/.envelope.json.<12 hex>.tmp`), of a kept revocation (`snap revoke
 *   --store`: `revocations/<64 hex>/.<64 hex>.json.<12 hex>.tmp`) or of a log checkpoint (`snap log
 *   checkpoint`: `log.checkpoints/.<16 digits>.checkpoint.<12 hex>.tmp`), older than that;
 * - `foreign-lock`: a lock held from another host. Its pid cannot be checked, so it is reported
 *   and never removed (delete it by hand once that host's snap is known to be gone). Also a lock
 *   that is no file snap wrote (a folder, a link to nothing), which every writer refuses at once.
 *
 * None of these is corruption: a SIGKILL leaves them, and the next writer takes a dead holder's lock
 * over and empties `STORE/tmp`. They cost disk space (a killed seal of large files leaves their
 * copies in `tmp`) and, for a lock that names no holder, make writers wait.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { LOG_LOCK_FILE } from './audit-log.js';
import { acquireLockFile, inspectLock, lockStore, notALockAdvice, GUARD_STALE_MS, LOCK_FILE, type LockInspection, type Store } from './store.js';
import { REVOCATIONS_DIR } from '../trust/revocations.js';
import { decodeNameBytes, encodeNameBytes, hasRawBytes, rawBytesHex } from '../core/name-bytes.js';
import { CHECKPOINTS_DIR } from '../trust/log-checkpoints.js';

/** Kinds of leftover, see the module comment. */
/** `staged`: an S3 store's staged snapshot files that no commit names (store/s3-leftovers.ts). */
export type LeftoverKind = 'stale-lock' | 'stale-log-lock' | 'lock-guard' | 'tmp' | 'partial-write' | 'foreign-lock' | 'staged';

/** One leftover. */
export interface Leftover {
  kind: LeftoverKind;
  /**
   * Path relative to the store (`lock`, `tmp`, `.log.head.0123456789ab.tmp`, …). A name that is not
   * UTF-8 is decoded without loss (`decodeNameBytes`: each such byte U+DC80–U+DCFF, as fsck's strays).
   */
  path: string;
  /** The hex of the path's exact bytes, only when it is not UTF-8 (as fsck's `straysNotUtf8`). */
  pathHex?: string;
  /** Bytes it takes (for `tmp`: of every file under it). */
  bytes: number;
  /** For `tmp`: how many files and folders it holds. */
  entries?: number;
  /** For a lock: who it names. */
  holder?: { pid?: number; host?: string; since?: string };
  /** False for `foreign-lock`: `fsck --clean` leaves it. */
  removable: boolean;
  message: string;
}

/** A partial atomic write: `.<name>.<12 hex>.tmp` (see `writeFileAtomic`). */
const PARTIAL_WRITE_RE = /^\..+\.[0-9a-f]{12}\.tmp$/;
/**
 * A partial atomic write of a snapshot folder's file (`sign` replaces `envelope.json` under the
 * store lock): fsck does not count it as a stray, and reports it as a leftover once it is old.
 */
export const SNAPSHOT_PARTIAL_WRITE_RE = /^\.(?:envelope|statement|contents)\.json\.[0-9a-f]{12}\.tmp$/;
/** A partial write of a revocation kept in the store (`keepRevocation`, under the store lock), in `revocations/<64 hex>/`. */
export const REVOCATION_PARTIAL_WRITE_RE = /^\.[0-9a-f]{64}\.json\.[0-9a-f]{12}\.tmp$/;
/** A partial write of a log checkpoint (`makeCheckpoint`, under the log lock), in `log.checkpoints/`. */
export const CHECKPOINT_PARTIAL_WRITE_RE = /^\.[0-9]{16}\.checkpoint\.[0-9a-f]{12}\.tmp$/;

/** Age (ms) of a file, or undefined when it does not exist. */
async function ageOf(path: string | Buffer): Promise<{ age: number; bytes: number } | undefined> {
  const st = await fsp.lstat(path).catch(() => undefined);
  return st ? { age: Date.now() - st.mtimeMs, bytes: st.size } : undefined;
}

/** `/`, joining a folder's path and an entry's name as bytes. */
const SLASH = Buffer.from('/');

/**
 * A store-relative path (as a {@link Leftover} gives it) on disk: as bytes (`encodeNameBytes`) when
 * it holds a byte that is not UTF-8, which a string path would write as U+FFFD (another file).
 */
function inStore(store: Store, path: string): string | Buffer {
  return hasRawBytes(path) ? Buffer.concat([Buffer.from(store.root), SLASH, encodeNameBytes(path)]) : join(store.root, path);
}

/** `{path}`, and `pathHex` (its exact bytes) when it is not UTF-8: a leftover's path members. */
function pathMembers(path: string): { path: string; pathHex?: string } {
  const pathHex = rawBytesHex(path);
  return pathHex === undefined ? { path } : { path, pathHex };
}

/**
 * The names in a folder ([] when it cannot be listed), each read as bytes and decoded without loss
 * (`decodeNameBytes`), in the order of the decoded names (UTF-16 code units, as `Array.sort`).
 */
async function namesIn(dir: string): Promise<string[]> {
  const raw = await fsp.readdir(dir, { encoding: 'buffer' }).catch(() => [] as Buffer[]);
  return raw.map((b) => decodeNameBytes(b)).sort();
}

/**
 * Files and folders under `dir` and the bytes of its files (0, 0 when it does not exist). Names are
 * read as bytes: one that is not UTF-8, read as a string, would become U+FFFD and its lstat fail,
 * so its entry and bytes went uncounted while `--clean` removed them (emptying `tmp`). Folders are
 * entered, links are not followed.
 */
async function sizeOfTree(dir: string): Promise<{ entries: number; bytes: number }> {
  let entries = 0;
  let bytes = 0;
  const folders: Buffer[] = [Buffer.from(dir)];
  for (let folder = folders.pop(); folder !== undefined; folder = folders.pop()) {
    let names: Buffer[];
    try {
      names = await fsp.readdir(folder, { encoding: 'buffer' });
    } catch {
      continue;
    }
    for (const n of names) {
      const path = Buffer.concat([folder, SLASH, n]);
      const st = await fsp.lstat(path).catch(() => undefined);
      if (!st) continue;
      entries++;
      if (st.isFile()) bytes += st.size;
      else if (st.isDirectory()) folders.push(path);
    }
  }
  return { entries, bytes };
}

function lockLeftover(kind: 'stale-lock' | 'stale-log-lock', path: string, l: LockInspection): Leftover {
  const who = typeof l.holder.pid === 'number' ? `process ${l.holder.pid}${l.holder.host ? ` on ${l.holder.host}` : ''}` : 'no process';
  return {
    kind,
    path,
    bytes: l.bytes,
    holder: l.holder,
    removable: true,
    message: `${path} is held by ${who}, which is no longer running${kind === 'stale-lock' ? ' (the next writer takes it over)' : ''}`,
  };
}

/** A lock that is no file snap wrote (a folder, a link to nothing: `LockInspection.notALock`): reported as a `foreign-lock`, never removed. */
function notALockLeftover(store: Store, path: string, what: string, bytes: number): Leftover {
  return { kind: 'foreign-lock', path, bytes, removable: false, message: `${path} is ${notALockAdvice(join(store.root, path), what)}` };
}

/**
 * Find the leftovers in a store (see the module comment). Reads only.
 * @returns them in a fixed order: locks, guards, tmp, partial writes
 */
export async function findLeftovers(store: Store): Promise<Leftover[]> {
  const out: Leftover[] = [];
  const lock = await inspectLock(join(store.root, LOCK_FILE));
  // A writer that runs (or may run, on another host) owns tmp/: its files there are no leftovers.
  const writerMayRun = lock !== undefined && lock.state !== 'stale' && lock.notALock === undefined;
  if (lock?.state === 'stale') out.push(lockLeftover('stale-lock', LOCK_FILE, lock));
  else if (lock?.notALock !== undefined) out.push(notALockLeftover(store, LOCK_FILE, lock.notALock, lock.bytes));
  else if (lock?.state === 'unknown' && typeof lock.holder.host === 'string') {
    out.push({
      kind: 'foreign-lock', path: LOCK_FILE, bytes: lock.bytes, holder: lock.holder, removable: false,
      message: `${LOCK_FILE} is held from another host (${lock.holder.host}, pid ${String(lock.holder.pid)}), which this host cannot check; delete it by hand only once that snap is gone`,
    });
  }
  const logLock = await inspectLock(join(store.root, LOG_LOCK_FILE));
  if (logLock?.state === 'stale') out.push(lockLeftover('stale-log-lock', LOG_LOCK_FILE, logLock));
  else if (logLock?.notALock !== undefined) out.push(notALockLeftover(store, LOG_LOCK_FILE, logLock.notALock, logLock.bytes));
  for (const guard of [`${LOCK_FILE}.takeover`, `${LOG_LOCK_FILE}.takeover`]) {
    const g = await ageOf(join(store.root, guard));
    if (g && g.age > GUARD_STALE_MS) out.push({ kind: 'lock-guard', path: guard, bytes: g.bytes, removable: true, message: `${guard} was left by a process that stopped while taking over a lock` });
  }
  if (!writerMayRun) {
    const t = await sizeOfTree(store.tmpDir);
    if (t.entries > 0) {
      out.push({
        kind: 'tmp', path: 'tmp', bytes: t.bytes, entries: t.entries, removable: true,
        message: `tmp holds ${t.entries} ${t.entries === 1 ? 'entry' : 'entries'} (${t.bytes} bytes) left by a command that was stopped or killed`,
      });
    }
  }
  // Names read as bytes: one that is not UTF-8, read as a string, became U+FFFD, its lstat failed
  // and the partial write went unreported (while no stray list looks at the store's root).
  for (const name of await namesIn(store.root)) {
    if (!PARTIAL_WRITE_RE.test(name)) continue;
    const p = await ageOf(inStore(store, name));
    if (p && p.age > GUARD_STALE_MS) out.push({ kind: 'partial-write', ...pathMembers(name), bytes: p.bytes, removable: true, message: `${name} is the temporary file of a write that was stopped` });
  }
  for (const path of await snapshotPartialWrites(store)) {
    const p = await ageOf(join(store.root, path));
    if (p && p.age > GUARD_STALE_MS) out.push({ kind: 'partial-write', path, bytes: p.bytes, removable: true, message: `${path} is the temporary file of a write that was stopped (a co-signing killed while it replaced the envelope)` });
  }
  for (const { path, what } of await trustPartialWrites(store)) {
    const p = await ageOf(join(store.root, path));
    if (p && p.age > GUARD_STALE_MS) out.push({ kind: 'partial-write', path, bytes: p.bytes, removable: true, message: `${path} is the temporary file of a write that was stopped (${what})` });
  }
  return out;
}

/**
 * Partial writes in `revocations/<64 hex>/` ({@link REVOCATION_PARTIAL_WRITE_RE}) and in
 * `log.checkpoints/` ({@link CHECKPOINT_PARTIAL_WRITE_RE}), store-relative, in name order. Only
 * regular files; folders are listed at most one level deep.
 */
async function trustPartialWrites(store: Store): Promise<{ path: string; what: string }[]> {
  const out: { path: string; what: string }[] = [];
  const list = (dir: string) => fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const d of await list(join(store.root, REVOCATIONS_DIR))) {
    if (!d.isDirectory() || !/^[0-9a-f]{64}$/.test(d.name)) continue;
    for (const f of await list(join(store.root, REVOCATIONS_DIR, d.name))) {
      if (f.isFile() && REVOCATION_PARTIAL_WRITE_RE.test(f.name)) out.push({ path: `${REVOCATIONS_DIR}/${d.name}/${f.name}`, what: 'a revocation being kept when its command was killed' });
    }
  }
  for (const f of await list(join(store.root, CHECKPOINTS_DIR))) {
    if (f.isFile() && CHECKPOINT_PARTIAL_WRITE_RE.test(f.name)) out.push({ path: `${CHECKPOINTS_DIR}/${f.name}`, what: 'a log checkpoint being written when its command was killed' });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** `snapshots/NAME/VERSION/<name>` of every file in a snapshot folder that {@link SNAPSHOT_PARTIAL_WRITE_RE} matches, in name order. */
async function snapshotPartialWrites(store: Store): Promise<string[]> {
  const out: string[] = [];
  const list = (dir: string) => fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const n of await list(store.snapshotsDir)) {
    if (!n.isDirectory()) continue;
    for (const v of await list(join(store.snapshotsDir, n.name))) {
      if (!v.isDirectory()) continue;
      for (const f of await list(join(store.snapshotsDir, n.name, v.name))) {
        if (f.isFile() && SNAPSHOT_PARTIAL_WRITE_RE.test(f.name)) out.push(`snapshots/${n.name}/${v.name}/${f.name}`);
      }
    }
  }
  return out.sort();
}

/** What {@link clearLeftovers} did. */
export interface CleanResult {
  /** Leftovers found before and gone after. */
  removed: Leftover[];
  /** Leftovers still there (a foreign lock, or what a running appender holds). */
  kept: Leftover[];
}

/**
 * Remove the leftovers of a store: under the store's write lock (which takes over a dead holder's
 * lock and empties `STORE/tmp`), take over a dead holder's `log.lock` and, holding it, remove old
 * takeover guards and partial writes. A lock held from another host is kept.
 * @param waitMs how long to wait for a running writer (default 5 s)
 * @throws SnapError `STORE_LOCKED` (a running writer holds the store: its files are in use) | `IO_ERROR`
 */
export async function clearLeftovers(store: Store, waitMs = 5_000): Promise<CleanResult> {
  const before = await findLeftovers(store);
  const lock = await lockStore(store, waitMs);
  try {
    let releaseLog: (() => Promise<void>) | undefined;
    try {
      releaseLog = await acquireLockFile(join(store.root, LOG_LOCK_FILE), `the audit log of ${store.root}`, 0);
    } catch {
      /* an appender is running (for milliseconds): its files are in use */
    }
    try {
      for (const l of await findLeftovers(store)) {
        // A snapshot folder's partial write is sign's and a revocation's is revoke's, both under the
        // store lock (held here); the root's (log.head) and the checkpoints' are written under the
        // log lock, which they need too.
        const underStoreLock = l.kind === 'partial-write' && (l.path.startsWith('snapshots/') || l.path.startsWith(`${REVOCATIONS_DIR}/`));
        if (l.kind === 'lock-guard' || underStoreLock || (l.kind === 'partial-write' && releaseLog)) await fsp.rm(inStore(store, l.path), { force: true });
      }
    } finally {
      await releaseLog?.();
    }
  } finally {
    await lock.release();
  }
  const kept = await findLeftovers(store);
  const removed = before.filter((b) => !kept.some((k) => k.kind === b.kind && k.path === b.path));
  return { removed, kept };
}
