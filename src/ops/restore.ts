/**
 * `restore`: write a snapshot's files into a folder — from a store snapshot or straight from an
 * archive — checking each file's bytes against its digest as it is written, and finishing with a
 * `verify()` of the folder.
 *
 * Safety: the target must be absent or empty (but for the probe entries a restore killed outright
 * while probing it left, which are removed: io/name-probe.ts, `removeProbeLeftovers`), and safe from other users — no folder above it that
 * another user owns or may write in (unless sticky), not another user's itself — else
 * `TARGET_UNSAFE` (restore writes by path: such a user could swap the target for a link and
 * redirect every write; `allowSharedTarget` accepts that); the snapshot must be trusted and its manifest must
 * match the signed root and pass the tree rules (no link leaving the dataset, nothing under a file
 * or a link) before anything is written. A store snapshot's manifest is copied to a private scratch
 * folder (`snap-restore-`) and that copy is judged and then read by every pass that writes: one
 * swapped in the store after the check never steers a write. Paths are SPEC §2 paths (no `..`, not absolute), joined
 * under the target. A target whose file system folds names (case-insensitive, or NFC/NFD-insensitive
 * as APFS and HFS+ are) is probed for it first, and a snapshot holding two paths it would take for
 * one (`X.txt` and `x.txt`, `Data/` and `data/`, `café` in NFC and in NFD) is refused
 * (`TARGET_FOLDS_NAMES`) before any file is written: they would land on one file, or merge two
 * folders. Likewise a target that cannot hold symbolic links (FAT, exFAT: a probe link fails) is
 * refused for a snapshot that holds one (`TARGET_NO_SYMLINKS`) before any file is written. And a target that cannot hold one of the snapshot's names (FAT:
 * `12:00.json`; ext4: a name over 255 bytes) is refused (`TARGET_NAME_UNSUPPORTED`) before any file
 * is written: the first name of each kind of trouble, collected as the manifest is checked, is tried
 * in a probe folder (core/name-trouble.ts, io/name-probe.ts); so is a path longer than the system
 * takes under the target (Linux: PATH_MAX), its longest looked up there once. The target is mode 0700 while restore works in it (no other user can plant a
 * link there), then 0755 less the umask (an existing folder gets its own mode back). Folders are
 * made by restore itself; each file is written under a temporary name beside it
 * (`.snap-restore.<12 hex>.tmp`, created with O_EXCL | O_NOFOLLOW: never through a link, never over
 * a file) and linked to its own name only once its bytes matched their digest (never over an
 * existing name); symbolic links are made last, so no write ever goes through one. A file up to
 * 8 MiB is hashed before any of it is written, so wrong bytes never reach the target; a larger one
 * is written (a kernel copy from a store), then read back and hashed, and removed on a mismatch.
 * On any error, everything restore made is removed; a restore killed outright (SIGKILL) leaves
 * whole, checked files under their names and the temporary files it was writing, never a
 * partial file under a name of the snapshot (io/write-pool.ts).
 *
 * The final `verify()` walks the whole folder (names, types, sizes, links, nothing extra) and
 * hashes every file, except a large file whose identity (device, inode, size, mtime, ctime) is
 * still the one it had when it was read back — the same file, unchanged since (docs/DESIGN.md).
 * When it fails (something changed the folder while restore worked in it), what restore wrote is
 * removed as on an error — a folder that failed its verify is never left to pass for a restore —
 * and the result (`ok` false, `removed` true) carries the verify's problems. Once it passed, one syncfs of the target's file system makes every file and name durable before
 * success is reported.
 *
 * The writing and hashing run in a pool of worker threads ({@link WritePool}); this thread reads
 * the manifest (and parses the archive), makes the folders and hands out batches.
 */
import { promises as fsp, constants as FS, closeSync, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, symlinkSync, realpathSync, readdirSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { SnapError, type SnapErrorCode } from '../core/errors.js';
import { escapeForTerminal, escapePath } from '../core/display.js';
import { utf8Length } from '../core/paths.js';
import { FoldedTwins, foldsNames, type NameFolding } from '../core/name-folding.js';
import { probeNameFolding } from '../io/name-folding.js';
import { probeSymlinks } from '../io/symlink-probe.js';
import { NameTroubles, type LongestPath, type NameTrouble } from '../core/name-trouble.js';
import { pathTooLong, probeNames, removeProbeLeftovers } from '../io/name-probe.js';
import { isSymlinkEntry, type FileEntry, type ManifestEntry } from '../core/manifest.js';
import type { TrustedKey } from '../core/envelope.js';
import type { ArchiveItem } from '../io/archive.js';
import { checkedEntryRuns } from '../io/manifest-file.js';
import { checkInterrupted, leaveNothing } from '../io/interrupt.js';
import { WritePool, WHOLE_FILE_MAX, RESTORE_TEMP_RE, RESTORE_TEMP_NAME_BYTES, type WriteFailure, type WriteReply } from '../io/write-pool.js';
import { fitsInline } from '../io/inline-worker.js';
import { openStore, objectPath, snapshotKeepsObjects, syncFileSystem, type SnapshotLocation, type Store } from '../io/store.js';
import { ioError } from '../io/errors.js';
import type { TrustRules } from '../trust/rules.js';
import { checkTrust, type SignerReport } from '../snapshot.js';
import { checkManifestAgainst, openArchive, dataMismatch, privateManifestCopy, type OpenedArchive } from './archive.js';
import { verify, type VerifyReport } from './verify.js';
import type { Progress } from './seal.js';
import { sharedFolderAbove, sharedLinkOwner } from '../io/shared-folders.js';

/** Where a restore reads from: a store snapshot, or an archive. */
export type RestoreSource = { kind: 'snapshot'; snapshot: SnapshotLocation; store: string } | { kind: 'archive'; file: string; ref?: string };

/** Options of {@link restore}. */
export interface RestoreOptions {
  source: RestoreSource;
  /** The target folder: absent (it is made; its parent must exist) or empty (a killed restore's probe entries are removed first). */
  dir: string;
  trusted: readonly TrustedKey[];
  threshold?: number;
  /** Expiry, revocations and policy (trust/rules.ts), applied by `checkTrust`. */
  rules?: TrustRules;
  /** Worker threads for writing and for the final verify (default: one per core). */
  jobs?: number;
  /**
   * Restore even where another user can write in the target or a folder above it (they could move
   * the target away and put a link in its place, and so redirect restore's writes and change the
   * result after it was verified). Default false: `TARGET_UNSAFE` (see `sharedFolderWriters`, io/shared-folders.ts).
   */
  allowSharedTarget?: boolean;
  onProgress?: (p: Progress) => void;
}

/** What {@link restore} did. */
export interface RestoreResult {
  /** True when the final verify passed. */
  ok: boolean;
  /** `NAME@VERSION`. */
  ref: string;
  snapshot: string;
  signers: SignerReport[];
  dir: string;
  files: number;
  symlinks: number;
  bytes: number;
  /** The final `verify()` of the folder against the snapshot. */
  verify: VerifyReport;
  /**
   * True when the final verify failed and what restore wrote was therefore removed: the folder it
   * made is gone, an existing (empty) one is empty again. False when `ok`, and when the folder was
   * no longer the one restore worked in (moved away, something else in its place): then nothing is removed.
   */
  removed: boolean;
  seconds: number;
}

/** Batches of small files hold up to this many bytes, or {@link BATCH_FILES} files. */
const BATCH_BYTES = 4 << 20;
const BATCH_FILES = 256;
/** Requests in flight per worker before this thread waits. */
const IN_FLIGHT_PER_WORKER = 3;
/** Chunks of one large file in flight before this thread waits. */
const CHUNKS_IN_FLIGHT = 8;

/**
 * Refuse a target that another user could redirect or change (`sharedFolderAbove`,
 * io/shared-folders.ts): any folder from the target's real parent up to `/`, and an existing
 * target that is not this user's; and, when the target is named through symbolic links, the way as
 * named too — the target itself when it is a link (its owner must be this user or root), and each
 * folder or link above it — since whoever can replace a link on the way can make the name lead
 * elsewhere once restore is done, where restore's files were verified.
 * @param asked the target as given (absolute, links not resolved)
 * @param real the target's real path (its parent's, joined with its name, when it is absent)
 * @throws SnapError `TARGET_UNSAFE` | `IO_ERROR`
 */
async function refuseSharedTarget(asked: string, real: string, exists: boolean): Promise<void> {
  const refuse = (path: string, why: string) =>
    new SnapError(
      'TARGET_UNSAFE',
      `cannot restore into ${asked}: ${path === real || path === asked ? 'the target' : `the folder ${path} above it`} is not safe from other users (${why}): they could move the target away and put a link in its place, so that restore writes elsewhere, or change the files once they are verified. Restore into a folder of your own (e.g. under your home folder), or pass --allow-shared-target to accept that — nothing was written`,
      { path, why },
    );
  if (exists) {
    const st = await fsp.lstat(real).catch((e) => {
      throw ioError(e, real, 'cannot use the target folder');
    });
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw refuse(real, `it belongs to another user (uid ${st.uid})`);
  }
  if (asked !== real) {
    const self = await fsp.lstat(asked).catch(() => undefined);
    const link = self?.isSymbolicLink() ? sharedLinkOwner(self) : undefined;
    if (link) throw refuse(asked, link);
    const onTheWay = await sharedFolderAbove(asked, 'cannot use the target folder', { links: true });
    if (onTheWay) throw refuse(onTheWay.path, onTheWay.why);
  }
  const shared = await sharedFolderAbove(real, 'cannot use the target folder');
  if (shared) throw refuse(shared.path, shared.why);
}

/** The device and inode of the folder restore works in: a folder or link put in its place is not it. */
interface FolderId {
  dev: number;
  ino: number;
}

/** `path`'s identity when it is a folder (lstat: a symbolic link is not one), else undefined. */
function folderIdOf(path: string): FolderId | undefined {
  try {
    const st = lstatSync(path);
    return st.isDirectory() ? { dev: st.dev, ino: st.ino } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `path` is still the folder `id` (not followed if a link). */
function stillFolder(path: string, id: FolderId): boolean {
  const now = folderIdOf(path);
  return now !== undefined && now.dev === id.dev && now.ino === id.ino;
}

/** Flags that open a folder without following a link (to chmod the folder itself, never where a link planted in its place leads). */
const OPEN_FOLDER = FS.O_RDONLY | (FS.O_DIRECTORY ?? 0) | (FS.O_NOFOLLOW ?? 0);
/** What opening {@link OPEN_FOLDER} says when `path` is no longer a folder (a link, a file, gone). */
const NOT_THE_FOLDER = new Set(['ELOOP', 'ENOTDIR', 'ENOENT']);

/**
 * Give the folder `id` at `path` mode `mode`, through a descriptor opened without following a
 * link; when something else is there now (another restore's user swapped it: a link, another
 * folder), nothing is changed.
 * @throws the chmod's error (the caller judges a file system without Unix modes)
 */
async function chmodFolder(path: string, id: FolderId, mode: number): Promise<void> {
  let fh;
  try {
    fh = await fsp.open(path, OPEN_FOLDER);
  } catch (e) {
    if (NOT_THE_FOLDER.has((e as NodeJS.ErrnoException).code ?? '')) return;
    throw e;
  }
  try {
    const st = await fh.stat();
    if (st.dev === id.dev && st.ino === id.ino) await fh.chmod(mode);
  } finally {
    await fh.close();
  }
}

/** {@link chmodFolder}, synchronously and never throwing (for an interrupted process on its way out). */
function chmodFolderSync(path: string, id: FolderId, mode: number): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, OPEN_FOLDER);
    const st = fstatSync(fd);
    if (st.dev === id.dev && st.ino === id.ino) fchmodSync(fd, mode);
  } catch {
    /* best effort */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Check the target: absent (made later) or an empty folder — once the probe entries a restore killed
 * while probing it left are removed (`removeProbeLeftovers`) — and (unless `allowShared`) safe from
 * other users. An existing folder of this user's is made private (0700) BEFORE it is found empty,
 * so nothing another user puts in it can be there unseen when restore starts writing.
 * @returns its real path (for an absent one: its real parent's, with its name) and whether it exists,
 *   and `openUp`: puts an existing folder's mode back (at the end, or on failure); `ownMode`: that
 *   mode, when it was changed (for the synchronous undo of an interrupted process); `id`: an
 *   existing folder's identity (only that folder is ever emptied or given its mode back)
 */
async function checkTarget(dir: string, allowShared: boolean): Promise<{ real: string; exists: boolean; openUp: () => Promise<void>; ownMode?: number; id?: FolderId }> {
  let st;
  try {
    st = await fsp.stat(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      // A link to nothing is not an absent target: restore would not make the folder it names (nor
      // write through it), and mkdir would fail on it as if it "appeared while restoring".
      const target = await fsp.readlink(dir).catch(() => undefined);
      if (target !== undefined) throw new SnapError('TARGET_NOT_EMPTY', `${escapeForTerminal(dir)} is a symbolic link to nothing (${escapeForTerminal(target)}); restore into a new or empty folder — nothing was written`, { path: dir });
      let parent;
      try {
        parent = realpathSync(resolve(dir, '..'));
      } catch (e2) {
        throw ioError(e2, resolve(dir, '..'), 'cannot restore into a folder whose parent is missing');
      }
      const real = join(parent, basename(dir));
      if (!allowShared) await refuseSharedTarget(dir, real, false);
      return { real, exists: false, openUp: async () => {} };
    }
    throw ioError(e, dir, 'cannot use the target folder');
  }
  if (!st.isDirectory()) throw new SnapError('TARGET_NOT_EMPTY', `${dir} exists and is not a folder; restore into a new or empty folder`, { path: dir });
  const real = realpathSync(dir);
  if (!allowShared) await refuseSharedTarget(dir, real, true);
  // The folder itself, from here on: emptied on failure and given its mode back only while it is
  // still this folder (with --allow-shared-target, another user may put a link in its place).
  const id = folderIdOf(real);
  if (id === undefined) throw new SnapError('TARGET_UNSAFE', `${dir} changed while restore looked at it (it is no longer a folder); restore into a new or empty folder — nothing was written`, { path: dir });
  // Private (0700) while restore works in it, so no other user can plant a link in it and redirect
  // a later write; its own mode is put back at the end. Made private first, then found empty.
  let openUp = async (): Promise<void> => {};
  let ownMode: number | undefined;
  if (typeof process.getuid === 'function' && st.uid === process.getuid() && (st.mode & 0o077) !== 0) {
    await chmodFolder(real, id, 0o700).catch(() => {});
    ownMode = st.mode & 0o7777;
    openUp = () => chmodFolder(real, id, ownMode as number);
  }
  let names = await fsp.readdir(real);
  // A restore killed outright while it probed the target left its probe entry: removed, so that
  // the folder is empty again (one of a restore still running is left, and named below).
  let live: string[] = [];
  if (names.length > 0) {
    // Only when nothing else is there: a folder holding anything else is refused untouched.
    const probes = await removeProbeLeftovers(real, names, Date.now(), { onlyIfAll: true });
    live = probes.live;
    if (probes.removed.length > 0) names = await fsp.readdir(real);
  }
  if (names.length > 0) {
    await openUp().catch(() => {});
    // A restore killed outright leaves its temporary files (only the top level is looked at).
    const stopped = names.some((n) => RESTORE_TEMP_RE.test(n))
      ? '; it holds the temporary files of a restore that was stopped (.snap-restore.*.tmp): remove the folder and restore again'
      : live.length > 0
        ? '; it holds the probe files of a restore that may still be running (.snap-probe.*: their process runs, or they were made on another host less than an hour ago): let it end, or remove them if no restore is at work there'
        : '';
    throw new SnapError('TARGET_NOT_EMPTY', `${dir} is not empty (${names.length} ${names.length === 1 ? 'entry' : 'entries'})${stopped}; restore into a new or empty folder — nothing was written`, { path: dir });
  }
  return { real, exists: true, openUp, id, ...(ownMode !== undefined ? { ownMode } : {}) };
}

/**
 * What chmod(2) says on a file system without Unix modes: ENOSYS (FUSE without the operation, as
 * fusefat), EPERM (the kernel's FAT, for a mode its mount options cannot show), ENOTSUP / EOPNOTSUPP.
 * The target's final chmod is skipped then (restore made the folder or found it this user's, so
 * EPERM is not a question of ownership).
 */
const NO_MODES = new Set(['ENOSYS', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP']);

/** What a folding file system ignores, in words. */
function foldingWords(f: NameFolding): string {
  return f.case && f.normalization ? 'case and Unicode normalization (NFC/NFD)' : f.case ? 'case' : 'Unicode normalization (NFC/NFD)';
}

/**
 * Step 1b: refuse a target whose file system folds names when the snapshot holds two paths it
 * takes for one (core/name-folding.ts) — before any file is written. The target is probed
 * (`probeNameFolding`); only when it folds is the manifest read again, its paths folded.
 * @throws SnapError `TARGET_FOLDS_NAMES` (details: `paths`, the two paths; `folding`) | from the probe
 *   and the manifest (`IO_ERROR`, `MANIFEST_*`)
 */
async function refuseFoldedTwins(root: string, manifestPath: string, sourceName: string): Promise<void> {
  const folding = await probeNameFolding(root);
  if (!foldsNames(folding)) return;
  const twins = new FoldedTwins(folding);
  for await (const run of checkedEntryRuns(manifestPath)) {
    for (const e of run) {
      const pair = twins.add(e.path);
      if (!pair) continue;
      throw new SnapError(
        'TARGET_FOLDS_NAMES',
        `${escapePath(pair[0])} and ${escapePath(pair[1])} are two paths of ${escapeForTerminal(sourceName)}, but one name on the file system of ${escapeForTerminal(root)}, which ignores ${foldingWords(folding)}: restore into a folder on a file system that tells them apart — nothing was written`,
        { paths: [pair[0], pair[1]], folding },
      );
    }
  }
}

/**
 * Step 1c: refuse a target whose file system cannot hold symbolic links (FAT, exFAT) when the
 * snapshot holds one — before any file is written, not at the first link once every file is. The
 * target is probed (`probeSymlinks`) only for a snapshot with a link (its first, noted as the
 * manifest was checked).
 * @throws SnapError `TARGET_NO_SYMLINKS` (details: `path`, the snapshot's first link) | from the
 *   probe (`DISK_FULL`, `IO_ERROR`)
 */
async function refuseLinksWhereNone(root: string, firstLink: string | undefined, sourceName: string): Promise<void> {
  if (firstLink === undefined || (await probeSymlinks(root))) return;
  throw new SnapError(
    'TARGET_NO_SYMLINKS',
    `${escapePath(firstLink)} is a symbolic link of ${escapeForTerminal(sourceName)}, but the file system of ${escapeForTerminal(root)} cannot hold symbolic links (FAT, exFAT, some network shares): restore into a folder on a file system that can — nothing was written`,
    { path: firstLink },
  );
}

/** A kind of name trouble, in words, for {@link refuseUnholdableNames}. */
function troubleWords(t: NameTrouble, why: string): string {
  if (t.kind === 'longest in bytes' || why === 'ENAMETOOLONG') return `it is ${utf8Length(t.name)} bytes long`;
  if (t.kind === 'longest in UTF-16 units') return `it is ${t.name.length} UTF-16 units long`;
  if (t.kind.startsWith('char ')) return `it holds ${escapeForTerminal(JSON.stringify(t.kind.slice(5)))}`;
  if (t.kind === 'trailing dot' || t.kind === 'trailing space') return `it ends with a ${t.kind.slice(9)}`;
  return 'it holds characters outside ASCII';
}

/**
 * Step 1d: refuse a target whose file system cannot hold a name of the snapshot — FAT refuses
 * `12:00.json`, ext4 a name over 255 bytes — before any file is written, not at that file with a
 * bare "permission denied" once the files before it are. The manifest pass that checked it
 * collected the first name of each kind of trouble (core/name-trouble.ts: the longest names when
 * over 143 bytes or UTF-16 units, `: * ? " < > | \`, a trailing dot or space, non-ASCII); only those are probed (`probeNames`), a
 * few system calls each, and none at all for a snapshot of short, plain ASCII names.
 * @throws SnapError `TARGET_NAME_UNSUPPORTED` (details: `path`, the entry; `name`, the name in it
 *   the target refused; `kind`; `why`, the errno or `kept as …`) | from the probe (`DISK_FULL`, `IO_ERROR`)
 */
async function refuseUnholdableNames(root: string, troubles: readonly NameTrouble[], sourceName: string): Promise<void> {
  if (troubles.length === 0) return;
  const whys = await probeNames(root, troubles.map((t) => t.name));
  troubles.forEach((t, i) => {
    const why = whys[i];
    if (why === undefined) return;
    throw new SnapError(
      'TARGET_NAME_UNSUPPORTED',
      `${escapePath(t.path)} is a path of ${escapeForTerminal(sourceName)}, but the file system of ${escapeForTerminal(root)} cannot hold the name ${escapePath(t.name)} (${troubleWords(t, why)}; ${escapeForTerminal(why)}): restore into a folder on a file system that can — nothing was written`,
      { path: t.path, name: t.name, kind: t.kind, why },
    );
  });
}

/**
 * Step 1e: refuse a target under which the snapshot's longest path (or the temporary name a file is
 * written under beside it) is longer than the system takes — Linux: PATH_MAX, 4,096 bytes with the
 * NUL; a manifest path may be 4,096 bytes itself (SPEC §2) — before any file is written, not at
 * that file with a bare ENAMETOOLONG once the files before it are. The longest was kept as the
 * manifest was checked (core/name-trouble.ts); one lookup of it under the target asks the system
 * (`pathTooLong`), whatever its limit is.
 * @throws SnapError `TARGET_NAME_UNSUPPORTED` (details: `path`, the entry; `name`, the same; `kind`
 *   `longest path in bytes`; `why` ENAMETOOLONG; `bytes`, the length of the path refused, the target's included)
 */
async function refuseLongPaths(root: string, longest: LongestPath | undefined, sourceName: string): Promise<void> {
  if (longest === undefined) return;
  const rel = longest.path.split('/');
  // The name looked up for the temporary one is only its length: nothing is made.
  if (longest.temporary) rel[rel.length - 1] = 't'.repeat(RESTORE_TEMP_NAME_BYTES);
  const abs = join(root, ...rel);
  if (!(await pathTooLong(abs))) return;
  const bytes = utf8Length(abs);
  const temp = longest.temporary ? `, with the temporary name beside it (${RESTORE_TEMP_NAME_BYTES} bytes) that restore writes it under first` : '';
  throw new SnapError(
    'TARGET_NAME_UNSUPPORTED',
    `${escapePath(longest.path)} is a path of ${escapeForTerminal(sourceName)}, but the system cannot hold the path under ${escapeForTerminal(root)} (it is ${bytes} bytes long under the target${temp}; ENAMETOOLONG): restore into a folder with a shorter path, or on a system that holds longer paths — nothing was written`,
    { path: longest.path, name: longest.path, kind: 'longest path in bytes', why: 'ENAMETOOLONG', bytes },
  );
}

/** The trusted, checked snapshot a restore writes out. */
interface Prepared {
  location: SnapshotLocation;
  manifestPath: string;
  snapshot: string;
  signers: SignerReport[];
  ref: string;
  fileCount: number;
  totalBytes: number;
  store?: Store;
  opened?: OpenedArchive;
  /** Removes the private copy of a store snapshot's manifest (`manifestPath`). */
  release?: () => Promise<void>;
  /** The first name of each kind the target may not hold, seen as the manifest was checked. */
  troubles: NameTrouble[];
  /** The longest path restore will pass under the target (core/name-trouble.ts), seen then too. */
  longestPath?: LongestPath;
  /** The path of the snapshot's first symbolic link, seen as the manifest was checked (none: undefined). */
  firstLink?: string;
}

/** Step 1: trust and the manifest, before anything is written. */
async function prepare(opts: RestoreOptions, threshold: number): Promise<Prepared> {
  const troubles = new NameTroubles(RESTORE_TEMP_NAME_BYTES);
  let firstLink: string | undefined;
  const see = (e: ManifestEntry) => {
    troubles.add(e.path, !isSymlinkEntry(e));
    if (firstLink === undefined && isSymlinkEntry(e)) firstLink = e.path;
  };
  if (opts.source.kind === 'archive') {
    const src = opts.source;
    const opened = await openArchive(src.file, { trusted: opts.trusted, threshold, ref: src.ref ?? src.file, rules: opts.rules, seeEntry: see });
    if (opened.failure || !opened.statement || !opened.manifestPath) {
      await opened.reader.close();
      const f = opened.failure ?? { code: 'SIGNATURE_INVALID' as SnapErrorCode, message: 'not trusted' };
      throw new SnapError(f.code, `${src.file}: ${f.message}; nothing was restored`, { path: src.file, signers: opened.trust.signers });
    }
    const p = opened.statement.predicate;
    return {
      location: { ...opened.reader.location, ref: src.ref ?? src.file },
      manifestPath: opened.manifestPath,
      snapshot: opened.trust.snapshot,
      signers: opened.trust.signers,
      ref: `${p.dataset}@${p.version}`,
      fileCount: p.fileCount,
      totalBytes: p.totalBytes,
      opened,
      troubles: troubles.list(),
      longestPath: troubles.longestPath(),
      ...(firstLink !== undefined ? { firstLink } : {}),
    };
  }
  const src = opts.source;
  const store = await openStore(src.store);
  if (!(await snapshotKeepsObjects(src.snapshot.dir))) {
    throw new SnapError('SNAPSHOT_NO_CONTENTS', `${src.snapshot.ref} was sealed with --manifest-only: the store keeps no contents to restore`, { ref: src.snapshot.ref });
  }
  const trust = await checkTrust(src.snapshot, opts.trusted, threshold, opts.rules);
  if (!trust.ok || !trust.statement) {
    const f = trust.failure ?? { code: 'SIGNATURE_INVALID', message: 'not trusted' };
    throw new SnapError(f.code as SnapErrorCode, `${src.snapshot.ref}: ${f.message}; nothing was restored`, { ref: src.snapshot.ref, signers: trust.signers });
  }
  const p = trust.statement.predicate;
  // Every later pass (folding check, files, links) reads this private copy, the bytes judged here:
  // the store's file, which someone who can write the store may swap after it was judged, is read
  // again only by the final verify, which judges it itself.
  const { manifestPath, release } = await privateManifestCopy(trust.manifestPath, 'snap-restore-', src.snapshot.ref, p.fileCount, 'restored');
  try {
    const failure = await checkManifestAgainst(manifestPath, p, 'snapshot', see);
    if (failure) throw new SnapError(failure.code, `${src.snapshot.ref}: ${failure.message}; nothing was restored`, { ref: src.snapshot.ref });
    return {
      location: src.snapshot,
      manifestPath,
      snapshot: trust.snapshot,
      signers: trust.signers,
      ref: `${p.dataset}@${p.version}`,
      fileCount: p.fileCount,
      totalBytes: p.totalBytes,
      store,
      release,
      troubles: troubles.list(),
      longestPath: troubles.longestPath(),
      ...(firstLink !== undefined ? { firstLink } : {}),
    };
  } catch (e) {
    await release();
    throw e;
  }
}


/**
 * Restore a snapshot into a folder (see the module comment).
 * @returns the result; `ok` is the final verify's verdict (the CLI exits 0 only when it is true);
 *   when it is false, nothing restored is left (`removed`)
 * @throws SnapError `TARGET_NOT_EMPTY` | `TARGET_UNSAFE` (see `sharedFolderWriters`, io/shared-folders.ts) | `TARGET_FOLDS_NAMES`
 *   (two paths the target's file system takes for one: see {@link refuseFoldedTwins}) | `TARGET_NO_SYMLINKS`
 *   (a link, and a target that cannot hold one: see {@link refuseLinksWhereNone}) | `TARGET_NAME_UNSUPPORTED` (a name the target
 *   cannot hold: see {@link refuseUnholdableNames}; a path too long under it: {@link refuseLongPaths}) | the trust failure's code (`SIGNATURE_INVALID`,
 *   `INTEGRITY_FAILURE`, …) | `SNAPSHOT_NO_CONTENTS` | `SNAPSHOT_UNSAFE` | `OBJECT_MISSING` |
 *   `OBJECT_CORRUPT` | `INTEGRITY_FAILURE` (archive bytes that do not match their digest) |
 *   `ARCHIVE_HOSTILE` | `ARCHIVE_MALFORMED` | `NOT_FOUND` | `DISK_FULL` | `IO_ERROR`.
 *   Nothing restored is left behind.
 */
export async function restore(opts: RestoreOptions): Promise<RestoreResult> {
  const t0 = performance.now();
  const given = resolve(opts.dir);
  // From here on, only the real path: a link on the way there is not followed again.
  const checked = await checkTarget(given, opts.allowSharedTarget === true);
  const asked = checked.real;
  const threshold = opts.threshold ?? 1;
  // The target is private (0700) while restore works in it, so no other user can plant a link in a
  // folder restore made and redirect a later write; its mode is set (or put back) at the end.
  let openUp = checked.openUp;
  let prep: Prepared;
  try {
    prep = await prepare(opts, threshold);
  } catch (e) {
    await openUp().catch(() => {});
    throw e;
  }
  const sourceName = opts.source.kind === 'archive' ? opts.source.file : opts.source.snapshot.ref;

  // Step 2: write, each file checked as it is written; links last.
  let target = checked.exists ? asked : undefined;
  let made = false;
  /** The folder restore works in (given, or made): the only one its clean-up empties or removes. */
  let id = checked.id;
  let pool: WritePool | undefined;
  const inflight: { reply: Promise<WriteReply>; entries: FileEntry[] }[] = [];
  let forget = (): void => {};
  try {
    if (target === undefined) {
      try {
        await fsp.mkdir(asked, { mode: 0o700 });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new SnapError('TARGET_UNSAFE', `${given} appeared while restoring (another process made it after restore checked the target); nothing was written`, { path: given });
        throw ioError(e, asked, 'cannot make the target folder');
      }
      made = true;
      const mine = folderIdOf(asked);
      target = realpathSync(asked);
      if (mine === undefined || !stillFolder(target, mine)) throw new SnapError('TARGET_UNSAFE', `${given} was replaced while restoring (the folder restore made is no longer there); nothing was written`, { path: given });
      id = mine;
      const mode = 0o755 & ~process.umask();
      openUp = () => chmodFolder(asked, mine, mode);
    }
    const root = target;
    const rootId = id as FolderId;
    // Interrupted and not unwound in time: remove what was restored on the way out.
    const madeHere = made;
    forget = leaveNothing(() => undoSync(asked, root, madeHere, rootId, checked.ownMode));
    await refuseFoldedTwins(root, prep.manifestPath, sourceName);
    await refuseLinksWhereNone(root, prep.firstLink, sourceName);
    await refuseUnholdableNames(root, prep.troubles, sourceName);
    await refuseLongPaths(root, prep.longestPath, sourceName);
    // A few small files (the signed totals say so) are written on the main thread: no thread to boot.
    pool = new WritePool(opts.jobs, { inline: fitsInline(prep.fileCount, prep.totalBytes) });
    const wp = pool;
    const pathOf = (rel: string) => join(root, ...rel.split('/'));
    /** Large files read back and hashed from the target after they were written: path → identity. */
    const hashed = new Map<string, string>();
    const fileMode = 0o644 & ~process.umask();
    /** Takes back a buffer a worker handed back (set by the archive path). */
    let giveBack = (_r: WriteReply): void => {};
    let lastDir = '';
    const ensureDir = (rel: string) => {
      const i = rel.lastIndexOf('/');
      if (i < 0) return;
      const d = join(root, ...rel.slice(0, i).split('/'));
      if (d === lastDir) return;
      try {
        mkdirSync(d, { recursive: true, mode: 0o755 });
      } catch (e) {
        throw ioError(e, d, 'cannot make folder');
      }
      lastDir = d;
    };
    const failed = (f: WriteFailure, e: FileEntry): SnapError => {
      if (f.why === 'io') return ioError(Object.assign(new Error(f.message ?? 'write error'), { code: f.errno }), f.path ?? pathOf(e.path), 'cannot restore');
      if (opts.source.kind === 'archive') return dataMismatch(sourceName, e.path, e.sha256, f.sha256 ?? '?');
      if (f.why === 'missing') return new SnapError('OBJECT_MISSING', `the store lacks the object of ${e.path} (sha256 ${e.sha256}); run snap fsck — nothing was restored`, { path: e.path, sha256: e.sha256 });
      return new SnapError('OBJECT_CORRUPT', `the store object of ${e.path} (sha256 ${e.sha256}) is corrupt (${f.why}); run snap fsck — nothing was restored`, { path: e.path, sha256: e.sha256 });
    };
    const settle = async (r: (typeof inflight)[number]) => {
      const reply = await r.reply;
      if (reply.failure) throw failed(reply.failure, r.entries[reply.failure.index] as FileEntry);
      if (reply.identity !== undefined) hashed.set((r.entries[0] as FileEntry).path, reply.identity);
      giveBack(reply);
    };
    const submit = async (reply: Promise<WriteReply>, entries: FileEntry[]) => {
      inflight.push({ reply, entries });
      while (inflight.length > IN_FLIGHT_PER_WORKER * wp.size) await settle(inflight.shift() as (typeof inflight)[number]);
    };
    let files = 0;
    let symlinks = 0;
    let bytes = 0;
    const progress = () => opts.onProgress?.({ files: files + symlinks, bytes, totalFiles: prep.fileCount, totalBytes: prep.totalBytes });

    if (prep.store) {
      const store = prep.store;
      let batch: FileEntry[] = [];
      let batchBytes = 0;
      const flush = async () => {
        if (batch.length === 0) return;
        const b = batch;
        batch = [];
        batchBytes = 0;
        await submit(wp.copy(b.map((e) => objectPath(store, e.sha256)), b.map((e) => pathOf(e.path)), b.map((e) => e.size), b.map((e) => e.sha256)), b);
      };
      for await (const run of checkedEntryRuns(prep.manifestPath)) {
        for (const e of run) {
          if ('type' in e) {
            symlinks++;
            continue;
          }
          ensureDir(e.path);
          if (e.size > WHOLE_FILE_MAX) {
            await flush();
            await submit(wp.copyBig(objectPath(store, e.sha256), pathOf(e.path), e.size, e.sha256, fileMode), [e]);
          } else {
            if (batchBytes + e.size > BATCH_BYTES || batch.length >= BATCH_FILES) await flush();
            batch.push(e);
            batchBytes += e.size;
          }
          files++;
          bytes += e.size;
        }
        progress();
      }
      await flush();
    } else {
      const reader = (prep.opened as OpenedArchive).reader;
      let batch: FileEntry[] = [];
      // Buffers of BATCH_BYTES go to the workers (transferred) and come back in their replies, to
      // be filled again: no fresh memory (page faults, garbage) per batch or chunk.
      const spare: ArrayBuffer[] = [];
      /** A transferable buffer of at least `n` bytes, not zero-filled. */
      const take = (n: number): ArrayBuffer => (n <= BATCH_BYTES ? spare.pop() : undefined) ?? (Buffer.allocUnsafeSlow(Math.max(n, BATCH_BYTES)).buffer as ArrayBuffer);
      giveBack = (r: WriteReply) => {
        if (r.buf?.byteLength === BATCH_BYTES && spare.length < 4 * IN_FLIGHT_PER_WORKER * wp.size + CHUNKS_IN_FLIGHT) spare.push(r.buf);
      };
      let buf = take(BATCH_BYTES);
      let used = 0;
      const flush = async () => {
        if (batch.length === 0) return;
        const b = batch;
        const full = buf; // the worker reads the files' sizes from its start
        batch = [];
        used = 0;
        await submit(wp.write(b.map((e) => pathOf(e.path)), b.map((e) => e.size), b.map((e) => e.sha256), full), b);
        buf = take(BATCH_BYTES);
      };
      // The archive reader checks every member against the manifest; the workers hash the bytes.
      for await (const item of reader.items(prep.manifestPath, { hash: false }) as AsyncGenerator<ArchiveItem>) {
        if (item.kind === 'symlink') {
          symlinks++;
          continue;
        }
        const e = item.entry;
        ensureDir(e.path);
        if (e.size > WHOLE_FILE_MAX) {
          await flush();
          // The worker writes the bytes, BATCH_BYTES at a time, then reads the file back and hashes it.
          const s = wp.stream(pathOf(e.path), e.size, e.sha256);
          const chunks: Promise<WriteReply>[] = [];
          let part = take(BATCH_BYTES);
          let fill = 0;
          const send = async () => {
            chunks.push(s.chunk(part, fill));
            part = take(BATCH_BYTES);
            fill = 0;
            if (chunks.length >= CHUNKS_IN_FLIGHT) {
              const r = await (chunks.shift() as Promise<WriteReply>);
              giveBack(r);
              if (r.failure) throw failed(r.failure, e);
            }
          };
          try {
            for await (const c of item.chunks()) {
              let off = 0;
              while (off < c.length) {
                const n = Math.min(c.length - off, BATCH_BYTES - fill);
                new Uint8Array(part, fill, n).set(c.subarray(off, off + n));
                fill += n;
                off += n;
                if (fill === BATCH_BYTES) await send();
              }
            }
            if (fill > 0) await send();
          } finally {
            await submit(s.end(), [e]); // always closes the file on the worker (and reports a mismatch)
          }
          for (const p of chunks) {
            const r = await p;
            giveBack(r);
            if (r.failure) throw failed(r.failure, e);
          }
        } else {
          if (used + e.size > buf.byteLength || batch.length >= BATCH_FILES) await flush();
          if (e.size > buf.byteLength) buf = take(e.size);
          const view = new Uint8Array(buf);
          for await (const c of item.chunks()) {
            view.set(c, used);
            used += c.length;
          }
          batch.push(e);
        }
        const v = await item.finish(); // size already checked by the reader
        if (!v.ok) throw dataMismatch(sourceName, e.path, e.sha256, '?');
        files++;
        bytes += e.size;
        progress();
      }
      await flush();
    }
    while (inflight.length > 0) await settle(inflight.shift() as (typeof inflight)[number]);
    await pool.close();
    pool = undefined;

    // Links last, from the checked manifest: nothing is ever written through one.
    for await (const run of checkedEntryRuns(prep.manifestPath)) {
      for (const m of run) {
        if (!('type' in m)) continue;
        ensureDir(m.path);
        const at = pathOf(m.path);
        try {
          symlinkSync(m.target, at);
        } catch (err) {
          throw ioError(err, at, 'cannot make symbolic link');
        }
      }
    }

    // Step 3: the folder as a whole, against the snapshot (which may need no worker: a signal is looked at here).
    checkInterrupted();
    const report = await verify({ dir: root, snapshot: prep.location, trusted: opts.trusted, threshold, rules: opts.rules, jobs: opts.jobs, hashed });
    if (!report.ok) {
      // A folder that failed its verify must not pass for a restore: it goes as after any error
      // (the folder restore made removed, the empty one it was given emptied, its mode put back).
      // What was wrong is in the report.
      const removed = await undo(asked, root, made, rootId);
      if (!made) await openUp().catch(() => {});
      return { ok: false, ref: prep.ref, snapshot: prep.snapshot, signers: prep.signers, dir: root, files, symlinks, bytes, verify: report, removed, seconds: (performance.now() - t0) / 1000 };
    }
    await openUp().catch((e) => {
      // A file system without Unix modes (FAT, exFAT, some shares) refuses chmod: the folder keeps
      // the mode its mount gives every file; a mode is not part of a snapshot.
      if (NO_MODES.has((e as NodeJS.ErrnoException).code ?? '')) return;
      throw ioError(e, root, 'cannot set the mode of the target folder');
    });
    // Durable before it is reported: one flush of the target's file system (syncfs, as a seal into
    // a store flushes its objects) puts every file's bytes and every name on disk, where one fsync
    // per small file made a restore of 20,000 files up to 2.5 × slower. Without it, a power loss
    // after "restored" could bring small files back empty under their names.
    syncFileSystem(root);
    // syncfs blocks the event loop (seconds, for gigabytes written): a signal that came meanwhile is
    // handled at the next turn. The last moment it stops the restore; once returned, it is done.
    await new Promise((r) => setImmediate(r));
    checkInterrupted();
    return { ok: true, ref: prep.ref, snapshot: prep.snapshot, signers: prep.signers, dir: root, files, symlinks, bytes, verify: report, removed: false, seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    // Let the workers finish what they were doing before removing it.
    await Promise.allSettled(inflight.map((r) => r.reply));
    await pool?.close();
    if (id !== undefined) await undo(asked, target, made, id);
    if (!made) await openUp().catch(() => {});
    throw e;
  } finally {
    forget();
    await prep.opened?.reader.close();
    await prep.release?.();
  }
}

/**
 * {@link undo}, synchronously and never throwing (for an interrupted process on its way out); a
 * folder restore was given also gets back `ownMode`, the mode it had before restore made it private.
 */
function undoSync(asked: string, target: string, made: boolean, id: FolderId, ownMode?: number): void {
  try {
    if (made) {
      if (stillFolder(asked, id)) rmSync(asked, { recursive: true, force: true });
      return;
    }
    if (stillFolder(target, id)) for (const name of readdirSync(target)) rmSync(join(target, name), { recursive: true, force: true });
  } catch {
    /* best effort */
  }
  if (!made && ownMode !== undefined) chmodFolderSync(target, id, ownMode);
}

/**
 * Remove what a failed restore made: the folder it created, or the contents of the empty folder it
 * was given — only while that is still the folder `id` restore worked in. Where something else is
 * in its place (with --allow-shared-target, another user may move the target away and put a link
 * to a folder of this user's there), nothing is removed: what the link leads to is not restore's.
 * @returns whether it was removed (emptied)
 */
async function undo(asked: string, target: string | undefined, made: boolean, id: FolderId): Promise<boolean> {
  try {
    if (made) {
      if (!stillFolder(asked, id)) return false;
      await fsp.rm(asked, { recursive: true, force: true });
      return true;
    }
    if (target === undefined || !stillFolder(target, id)) return false;
    for (const name of await fsp.readdir(target)) await fsp.rm(join(target, name), { recursive: true, force: true });
    return true;
  } catch {
    /* best effort: the error that stopped the restore is what the user needs */
    return false;
  }
}
