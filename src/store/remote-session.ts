/**
 * How a command uses a remote store (docs/FORMAT.md §23.5): the commands work on the local store
 * layout, so for `--store s3://…` the command runs on a private working copy of the store,
 * filled from the remote backend before it runs and whose new content goes back after it:
 *
 * 1. take the remote store's lock, exclusive, append or shared (held until the end; FORMAT.md §23.4);
 * 2. pull: the committed snapshots' files — every snapshot's, or those the command's refs name
 *    ({@link RemoteSessionOptions.snapshots}) — (co-signature files merged into each envelope,
 *    ranked by the command's trusted keys: store/cosignatures.ts; its manifest only when the
 *    command reads it: {@link RemoteSessionOptions.manifests}), the audit log (its last line only,
 *    for a command that reads none: {@link RemoteSessionOptions.logTail}), the other files; the objects only when
 *    the command reads them, and only those of the snapshots it names (every object of the named
 *    snapshot for export and restore; the record indexes named by the named snapshots' statements
 *    for verify, diff, check, show, report and prove --record), looked up by {@link lookUpObjects},
 *    never by holding the listing of every object. Staging is bounded: the objects'
 *    bytes (from the signed manifest's sizes) must fit in the free space of the working copy's disk
 *    (`DISK_FULL` otherwise, before anything is downloaded). fsck copies none: it re-hashes every
 *    object a snapshot names, and the first {@link MAX_UNREFERENCED_OBJECTS_READ} others, as they
 *    stream from the bucket ({@link RemoteSession.checkObjects}). Every object read is
 *    re-hashed: one that does not hash to its name is kept as read (so that restore and export
 *    report it with their own verdicts) and said on stderr;
 * 3. run the command on the working copy;
 * 4. push what it added, in this order: objects (absent ones only, in parallel), snapshots (each
 *    committed last, by its commit object), the other files it changed, the audit log lines it
 *    appended (under the log's lock, re-chained on lines appended since the pull); retention for a
 *    `seal --retain`;
 * 5. release the lock, remove the working copy.
 *
 * An interrupted command leaves uploaded objects and possibly staged snapshot files, never a
 * commit object: no snapshot. Its rerun finds those objects there (each upload HEADs first) and
 * uploads none of them again.
 */
import { promises as fsp, createReadStream, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { SnapError } from '../core/errors.js';
import { LATEST, NAME_RE, looksLikePath, parseNameVersion, type NameVersion } from '../core/refs.js';
import { openStore, objectPath, resolveRef, listSnapshots, writeFileAtomic, makeTmpDir, commitSnapshot, snapshotDir, MANIFEST_FILE, STATEMENT_FILE, ENVELOPE_FILE, type Store } from '../io/store.js';
import { readSmallFile } from '../io/small-file.js';
import { manifestLineRuns } from '../io/manifest-file.js';
import { MAX_STATEMENT_BYTES } from '../core/statement.js';
import { LOG_FILE, LOG_HEAD_FILE, appendAuditFields, setLogSeqFloor } from '../io/audit-log.js';
import { leaveNothing } from '../io/interrupt.js';
import { setObjectSink, type ObjectSink } from '../io/object-sink.js';
import { LocalBackend, splitLogLines } from './local.js';
import { SNAPSHOT_FILE_NAMES, changedFileText, type ChangedFile, type Retention, type SnapshotFiles } from './backend.js';
import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { ATTESTATION_FOLDER, MAX_JUNK_KEYS_KEPT, REVOCATION_FOLDER, mapLimit, s3Error, workingCopyFull, wrongSize, type CreateStore, type LockKind, type S3Backend } from './s3.js';
import { clearStagedLeftovers, findStagedLeftovers } from './s3-leftovers.js';
import type { CleanResult, Leftover } from '../io/leftovers.js';
import { COSIGNATURES_DIR, cosignatureFolder, cosignaturePath, startCosignatureMerge, type CosignatureMergeOptions } from './cosignatures.js';
import { MAX_ENVELOPE_BYTES, parseEnvelope } from '../core/envelope.js';
import { parseAttestation, MAX_TRAINING_DATASETS } from '../core/attestation.js';
import { fromBase64 } from '../core/encoding.js';
import { MAX_INDEX_LINE_BYTES, MAX_INDEX_SUMMARY_BYTES, MAX_SCHEMA_OBJECT_BYTES } from '../core/records.js';
import { makeScratchDir } from '../io/scratch-dir.js';
import { CONFIG_FILE, MAX_CONFIG_BYTES } from '../records/config.js';
import { killPointForTest } from '../io/test-kill-point.js';

/**
 * Which objects a command reads from the store: none; `stream` (fsck: none copied, each re-hashed
 * as it streams by {@link RemoteSession.checkObjects}); or the objects of the snapshots `refs`
 * names ({@link ObjectsOfRefs}). No command reads the whole store: the objects it needs are looked
 * up ({@link lookUpObjects}), so keys planted under `objects/` cost it no memory.
 */
export type ObjectNeed = 'none' | 'stream' | ObjectsOfRefs;

/**
 * The objects of the snapshots some refs name: `all` (every object its manifest lists and its
 * record indexes) or `record-indexes` only. A ref is resolved in the working copy as the command
 * will resolve it (`NAME@VERSION`, a snapshot id or prefix; `NAME@latest`: every snapshot of NAME);
 * a ref that names no snapshot of the store (an archive, a folder, a typo) needs no object: the
 * command reports it.
 */
export interface ObjectsOfRefs {
  refs: string[];
  objects: 'all' | 'record-indexes';
}

/**
 * Whose manifests a command reads from the store (beyond every snapshot's statement, envelope and
 * contents.json, always copied): every snapshot's (`all`), or only those of the snapshots that
 * `refs` names (resolved as {@link ObjectsOfRefs} refs are) and, with `newestOf: NAME`, of the
 * newest snapshot of NAME as `listSnapshots` orders the working copy (a seal's default parent),
 * resolved once every snapshot's statement is in place; with `attested`, also of every snapshot the
 * store's model attestations name (by id or NAME@VERSION, as verify-model looks them up), read
 * before the manifests and not verified here: the command reads the same attestations, so it
 * looks only at the snapshots named there.
 */
export type ManifestNeed = 'all' | { refs: string[]; newestOf?: string; attested?: boolean };

/**
 * Which committed snapshots a command reads (their statement, envelope and `contents.json`, and
 * the manifests {@link ManifestNeed} names): every one (`all`), or those its refs name — a
 * `NAME@VERSION`, every snapshot of NAME for `NAME@latest` — so that a command naming one snapshot
 * of a store that holds thousands reads four files, not four thousand ({@link snapshotsWanted}).
 */
export type SnapshotNeed = 'all' | { refs: string[]; names?: string[] };

/**
 * The snapshots of `listed` that `need` asks for, or `all`. A ref that is a path (a folder, an
 * archive: core/refs.ts looksLikePath) names none. Every snapshot is read when a ref may name one
 * by its id (only its statement says which one that is), is not a ref the command can read, or
 * names a NAME@VERSION or a NAME the store does not hold — the command then reports it as it
 * does in a local store, with what the store holds instead. Each NAME of `names` (a seal's: its
 * versions, for the default parent and SNAPSHOT_EXISTS) adds every snapshot of NAME, none when the
 * store holds none (a first seal of NAME needs no other snapshot).
 * @returns the `NAME@VERSION` of each snapshot wanted, or `all`
 */
export function snapshotsWanted(need: SnapshotNeed | undefined, listed: readonly { name: string; version: string }[]): Set<string> | 'all' {
  if (need === undefined || need === 'all') return 'all';
  const held = new Set(listed.map((s) => `${s.name}@${s.version}`));
  const names = new Set(listed.map((s) => s.name));
  const out = new Set<string>();
  for (const ref of need.refs) {
    const r = snapshotNamedBy(ref);
    if (r === 'path') continue;
    if (r === undefined) return 'all';
    if (r.version === LATEST) {
      if (!names.has(r.name)) return 'all';
      for (const s of listed) if (s.name === r.name) out.add(`${s.name}@${s.version}`);
    } else if (held.has(ref)) out.add(ref);
    else return 'all';
  }
  const named = new Set(need.names ?? []);
  for (const s of listed) if (named.has(s.name)) out.add(`${s.name}@${s.version}`);
  return out;
}

/**
 * What a ref of a {@link SnapshotNeed} names: `path` (a folder or an archive: no snapshot), a valid
 * NAME@VERSION or NAME@latest (core/refs.ts parseNameVersion), or undefined when it may be a
 * snapshot id or is no valid NAME@VERSION (the command resolves it against every snapshot).
 */
function snapshotNamedBy(ref: string): 'path' | NameVersion | undefined {
  if (looksLikePath(ref)) return 'path';
  if (!ref.includes('@')) return undefined;
  try {
    return parseNameVersion(ref);
  } catch {
    return undefined;
  }
}

/**
 * The folders of `snapshots/` that hold every snapshot {@link snapshotsWanted} can pick for `need`
 * (S3Backend.listSnapshots' scope): `NAME/` for a `NAME@latest` ref and for each NAME of `names`,
 * `NAME/VERSION/` for a `NAME@VERSION` ref; none for a path. Undefined — list every snapshot — for
 * `all`, or when a ref may be an id or is no valid NAME@VERSION. If a folder listed does not hold
 * what its ref names, snapshotsWanted says `all` and the caller lists everything after all.
 * @returns folders relative to `snapshots/`, sorted, none inside another; or undefined
 */
export function snapshotListingScope(need: SnapshotNeed | undefined): string[] | undefined {
  if (need === undefined || need === 'all') return undefined;
  const names = new Set<string>();
  const versions = new Map<string, string>();
  for (const ref of need.refs) {
    const r = snapshotNamedBy(ref);
    if (r === 'path') continue;
    if (r === undefined) return undefined;
    if (r.version === LATEST) names.add(r.name);
    else versions.set(`${r.name}/${r.version}/`, r.name);
  }
  for (const name of need.names ?? []) {
    if (!NAME_RE.test(name)) return undefined;
    names.add(name);
  }
  const out = [...names].map((n) => `${n}/`);
  for (const [folder, name] of versions) if (!names.has(name)) out.push(folder);
  return out.sort();
}

/** Most bytes of an other store file copied into the working copy (see {@link pull}). */
export const OTHER_FILE_LIMIT = MAX_ENVELOPE_BYTES + 1;

/** Uploads and downloads in flight at once (each streams a file: memory stays bounded). */
export const TRANSFER_JOBS = 8;

/** What the session did, for the caller's notes and for tests. */
export interface SessionStats {
  /** Objects downloaded into the working copy, and their bytes. */
  objectsPulled: number;
  bytesPulled: number;
  /** Committed snapshots copied into the working copy (of those the bucket lists: {@link SnapshotNeed}). */
  snapshotsPulled: number;
  /** The snapshots (`NAME@VERSION`, sorted) whose manifests were downloaded into the working copy (also one then left out for not being the one its commit object pins). */
  manifestsPulled: string[];
  /** Objects re-hashed as they streamed (fsck), never stored, and their bytes. */
  objectsStreamed: number;
  bytesStreamed: number;
  /** Objects that did not hash to their name, pulled or streamed. */
  objectsCorrupt: string[];
  /** Objects uploaded (PUT: the bucket did not hold them), and their bytes. */
  objectsUploaded: number;
  bytesUploaded: number;
  snapshotsCommitted: string[];
  logLinesPushed: number;
  /** Why the command's audit log lines could not be pushed to the bucket (then its `--json` says `log.written: false`). */
  logPushFailed?: string;
  /** Batches of objects a seal handed over while it ran (uploaded then), and the largest one's bytes. */
  handOvers: number;
  largestHandOver: number;
  /** Later commits of a NAME@VERSION that were ignored (first version wins). */
  ignoredCommits: string[];
  /** Objects put back by `fsck --repair-from`. */
  objectsRepaired: number;
  /** Co-signature files written (`sign`, FORMAT.md §23.8). */
  cosignaturesPushed: string[];
}

/** An open remote store: a working copy at `root`, pushed back by {@link RemoteSession.finish}. */
export interface RemoteSession {
  /** The working copy's store root (a local store). */
  root: string;
  remote: S3Backend;
  stats: SessionStats;
  /** Whether opening made the remote store (never with `create: 'when-written'`: see S3Backend.madeStore). */
  created: boolean;
  /**
   * fsck's objects (`stream`): re-hash the objects of the bucket as they stream (eight at once,
   * nothing stored), in the shape fsck reports them — every object a snapshot of the working copy
   * names, and of the others the first {@link RemoteSessionOptions.unreferencedObjectsRead} (the rest
   * counted in one stray entry, not read); `present` is the objects listed that were read or named.
   */
  checkObjects(onProgress?: (p: { files: number; bytes: number; totalFiles?: number }) => void): Promise<StreamedObjects>;
  /**
   * `fsck --repair-from`: upload the file at `path` (whose bytes the caller checked hash to `hex`)
   * in place of the damaged or missing object `hex`, keeping the damaged one's Object Lock.
   */
  installObject(hex: string, path: string, size: number): Promise<void>;
  /** Staged snapshot files no commit names (fsck's leftovers; `store/s3-leftovers.ts`). */
  leftovers(): Promise<Leftover[]>;
  /** `fsck --clean`: remove the removable ones. */
  clean(): Promise<CleanResult>;
  /** Push (when `push`), release the lock, remove the working copy. Push errors are thrown. */
  finish(push: boolean): Promise<void>;
}

/** What {@link RemoteSession.checkObjects} found (the `objects` of an fsck report, and what is there). */
export interface StreamedObjects {
  objects: {
    checked: number;
    bytes: number;
    corrupt: { path: string; name: string; sha256: string; size: number; usedBy: never[]; users: number }[];
    unreadable: { path: string; reason: string }[];
  };
  present: Set<string>;
  /**
   * Keys under `objects/` that are not object names (paths relative to the store), as fsck's
   * strays, and one entry counting the objects no snapshot names past those read.
   */
  strays: string[];
}

/**
 * Most objects that no snapshot names which fsck reads (re-hashes) from an S3 store, in key order.
 * A store in use has few (a seal stopped before its commit leaves its uploads, which its rerun
 * names), but a bucket writer can plant any number of keys of an object's shape: each read is a
 * GET, and the listing is not held, so the rest are counted (one stray entry), not read. They
 * matter to no snapshot; once a seal names one (it reuses a listed object of the right size), fsck
 * reads it as it reads every named object.
 */
export const MAX_UNREFERENCED_OBJECTS_READ = 1000;

/** Options of {@link openRemoteSession}. */
export interface RemoteSessionOptions {
  /**
   * Where the prefix holds no store: refuse (`false`: `NOT_FOUND`), make it at once (`true`:
   * init), or make it before the first key the command writes (`'when-written'`: seal, import;
   * S3Backend.open), so that one that fails before it puts anything there leaves no key at all
   * (its audit log line is dropped, as a local command that finds no store writes none).
   */
  create: CreateStore;
  objects: ObjectNeed;
  /** Lock every object and file of each snapshot this command commits, and its log lines. */
  retain?: Retention;
  /**
   * The command stores objects (seal): every object that the snapshots whose manifests are pulled
   * (a seal's parent) name and the remote store holds is marked present in the working copy (an
   * empty file under its name; looked up, {@link lookUpObjects}), so that the command's own "is it
   * in the store?" (the hashing workers', the incremental seal's) is answered by the remote store
   * for them. A marked object is never staged, uploaded or read; nothing else runs on a seal's
   * working copy. Any other object the seal makes is staged and handed over, and the upload's HEAD
   * tells an object the bucket holds already (not uploaded, and not counted new:
   * {@link ObjectSink.take}). Memory and requests grow with the parent, not with the bucket.
   * A seal without a parent (a new NAME, `--no-parent`, the re-run of a first seal that was
   * stopped) marks instead the first `presenceListed` objects of the bucket's listing, so that the
   * files the bucket already holds are neither staged again nor asked for one by one, within a bound
   * that keys planted under `objects/sha256/` cannot pass.
   */
  presence?: boolean;
  /** With `presence` and no parent: at most this many objects listed and marked ({@link MAX_PRESENCE_LISTED} unless given). */
  presenceListed?: number;
  /**
   * With `presence`: the bytes of new objects a seal stages in the working copy before they are
   * uploaded and dropped there ({@link STAGE_BYTES} unless given; the CLI takes $SNAP_S3_STAGE_BYTES).
   */
  stageBytes?: number;
  /**
   * How co-signature files are merged into the envelopes pulled (FORMAT.md §23.8): the keys the
   * command trusts, whose signatures are kept before any other, and the room `sign` keeps free.
   */
  cosignatures?: CosignatureMergeOptions;
  /**
   * Whose manifests are copied into the working copy: every snapshot's (`all`, the default), or
   * only those {@link ManifestNeed} names (the refs of `objects` are added), for a command that
   * reads no other manifest. The other snapshots copied ({@link RemoteSessionOptions.snapshots})
   * get their statement, envelope and contents.json: list, ids and `NAME@latest` work as before.
   */
  manifests?: ManifestNeed;
  /** Where notes go (objects that failed their re-hash, ignored commits). */
  note: (text: string) => void;
  /** With `objects: 'stream'`: how many objects no snapshot names fsck reads ({@link MAX_UNREFERENCED_OBJECTS_READ} unless given). */
  unreferencedObjectsRead?: number;
  lockWaitMs?: number;
  /** How long its push waits for the audit log's lock (ms; S3Backend.lockLog's LOG_LOCK_WAIT_MS unless given): past it, no line is written and the command says so. */
  logLockWaitMs?: number;
  /**
   * The store lock the session holds (FORMAT.md §23.4): `exclusive` (the default) for a command that
   * may delete or rewrite what others read; `append` for one that only adds to the store (readers
   * run beside it); `shared` for one that only reads it, so that any number of them run at once (a
   * shared session that would push anything but its audit log lines throws, pushing none). Only an
   * exclusive session may list, remove or replace what is in the store ({@link RemoteSession.leftovers},
   * `clean`, `installObject`: others throw).
   */
  lock?: LockKind;
  /**
   * Which committed snapshots are copied into the working copy: every one (`all`, the default), or
   * only those the refs of {@link SnapshotNeed} can name — see {@link snapshotsWanted}.
   */
  snapshots?: SnapshotNeed;
  /**
   * The command reads no line of the audit log, it only appends its own: the working copy gets the
   * log's last line and `log.head` (enough to chain a line after them: io/audit-log.ts), not every
   * line — one GET, where a store used by a CI for a year holds thousands of lines (FORMAT.md §23.5).
   */
  logTail?: boolean;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * Open `remote` for one command.
 * @throws SnapError from the backend (`NOT_FOUND`, `STORE_LOCKED`, `IO_ERROR`, …)
 */
export async function openRemoteSession(remote: S3Backend, opts: RemoteSessionOptions): Promise<RemoteSession> {
  // Before any object of this command goes up: the start of a seal's default retention (pushBack).
  const started = Date.now();
  const created = await remote.open(opts.create);
  const lock = await remote.lock(opts.lockWaitMs, opts.lock ?? 'exclusive');
  killPointForTest('s3-locked');
  const work = await makeScratchDir('snap-s3-');
  const forget = leaveNothing(() => rmSync(work, { recursive: true, force: true }));
  const stats: SessionStats = { objectsPulled: 0, bytesPulled: 0, snapshotsPulled: 0, manifestsPulled: [], objectsStreamed: 0, bytesStreamed: 0, objectsCorrupt: [], objectsUploaded: 0, bytesUploaded: 0, snapshotsCommitted: [], logLinesPushed: 0, handOvers: 0, largestHandOver: 0, ignoredCommits: [], objectsRepaired: 0, cosignaturesPushed: [] };
  let root: string | undefined;
  const cleanup = async (): Promise<void> => {
    if (root) setObjectSink(root, undefined);
    await lock.release();
    await fsp.rm(work, { recursive: true, force: true });
    forget();
  };
  try {
    const store = await openStore(join(work, 'store'), { create: true });
    const local = new LocalBackend(store);
    const state = await pull(remote, local, store, opts, stats);
    root = store.root;
    killPointForTest('s3-pulled');
    if (opts.presence) setObjectSink(root, uploadAsSealed(remote, store, state, opts, stats));
    let finished = false;
    return {
      root,
      remote,
      stats,
      created,
      checkObjects: (onProgress) => streamObjects(remote, store, opts.unreferencedObjectsRead ?? MAX_UNREFERENCED_OBJECTS_READ, stats, opts.note, onProgress),
      leftovers: async () => {
        exclusiveOnly(opts, remote, 'list staged leftovers');
        return findStagedLeftovers(remote);
      },
      clean: async () => {
        exclusiveOnly(opts, remote, 'remove staged leftovers');
        return clearStagedLeftovers(remote);
      },
      async installObject(hex, path, size) {
        exclusiveOnly(opts, remote, `replace the object ${hex}`);
        const retain = (await remote.objectLockEnabled()) ? await longestLock(remote, remote.objectKey(hex)) : undefined;
        await remote.replaceObject(hex, () => createReadStream(path) as Readable, size, retain);
        state.objects.set(hex, size);
        stats.objectsRepaired++;
        killPointForTest('s3-object-repaired');
      },
      async finish(push: boolean) {
        if (finished) return;
        finished = true;
        try {
          if (push) killPointForTest('s3-ran');
          if (push) await pushBack(local, store, remote, state, opts.retain, stats, opts.note, started, { shared: opts.lock === 'shared', logTail: opts.logTail === true, logLockWaitMs: opts.logLockWaitMs });
          killPointForTest('s3-pushed');
        } finally {
          await cleanup();
        }
      },
    };
  } catch (e) {
    await cleanup();
    // The working copy's disk filling up while it is filled (the log, the snapshot files, the
    // objects): DISK_FULL, as for a local store, not an unexpected error.
    throw workingCopyFull(e, `cannot copy ${remote.location} into a working copy`) ?? e;
  }
}

/**
 * Throw unless the session holds the exclusive store lock: with readers or an adding writer beside
 * it (a `shared` or `append` lock), staged files may be a seal's in progress, and an object replaced
 * may be one a reader is reading. A fault of this program (an internal error), never of the store.
 */
function exclusiveOnly(opts: RemoteSessionOptions, remote: S3Backend, what: string): void {
  const kind = opts.lock ?? 'exclusive';
  if (kind !== 'exclusive') throw new Error(`internal error: a command holding a${kind === 'append' ? 'n' : ''} ${kind} lock on ${remote.location} would ${what}; only the exclusive lock allows it`);
}

/**
 * The bucket's audit log into the working copy: every line, or its last line with `opts.logTail`,
 * and `log.head` (FORMAT.md §23.5), streamed (a planted line costs at most MAX_LOG_LINE_BYTES + 1);
 * `state.logBytes` and `state.logHead` set to what was pulled.
 * @throws SnapError `IO_ERROR`
 */
async function pullLog(remote: S3Backend, store: Store, opts: RemoteSessionOptions, state: PulledState): Promise<void> {
  const logDir = await makeTmpDir(store, 'log');
  try {
    const log = await remote.readLogInto(join(logDir, LOG_FILE), { tail: opts.logTail === true });
    state.logBytes = log.bytes;
    if (log.head) state.logHead = log.head;
    if (log.lines > 0) await fsp.rename(join(logDir, LOG_FILE), join(store.root, LOG_FILE));
    if (log.head) await writeFileAtomic(join(store.root, LOG_HEAD_FILE), log.head, { mode: 0o644 });
    setLogSeqFloor(store.root, log.lastKeySeq);
  } finally {
    await fsp.rm(logDir, { recursive: true, force: true });
  }
}

/**
 * The values of `work`, started together, once every one has settled — none is left running when
 * this returns or throws; the first rejection in the order given is thrown.
 */
async function allSettledInOrder<T extends readonly unknown[]>(work: { [K in keyof T]: Promise<T[K]> }): Promise<{ -readonly [K in keyof T]: T[K] }> {
  const settled = await Promise.allSettled(work);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: T[K] };
}

/** What the remote held when pulled (what a push compares with). */
interface PulledState {
  snapshots: Set<string>;
  /** Each pulled snapshot's envelope as the working copy got it (co-signatures merged). */
  envelopes: Map<string, Uint8Array>;
  /**
   * The remote objects this session looked up and found (digest → size in bytes): those the
   * command reads, those a seal marked present, those the snapshots it pushes name — never the
   * whole listing of `objects/` ({@link lookUpObjects}).
   */
  objects: Map<string, number>;
  /** Objects a seal handed over and this session uploaded while it ran (now markers in the working copy). */
  handedOver: Set<string>;
  /** The bytes of the audit log pulled (the command's lines follow them). */
  logBytes: number;
  /** `log.head` as pulled (absent: none): when the bucket's differs at the push, the log moved on. */
  logHead?: Uint8Array;
  files: Map<string, string>;
}

async function pull(remote: S3Backend, local: LocalBackend, store: Store, opts: RemoteSessionOptions, stats: SessionStats): Promise<PulledState> {
  const state: PulledState = { snapshots: new Set(), envelopes: new Map(), objects: new Map(), handedOver: new Set(), logBytes: 0, files: new Map() };
  /** Each pulled snapshot's statement (its bytes, when it has one): the manifests stay on disk. */
  const pulled = new Map<string, { statement?: Uint8Array }>();
  // Only the folders of snapshots/ the refs name are listed (below), at the same time as the store
  // files' folders.
  // The audit log is read meanwhile too (its head, where it ends, its last line or every line).
  const scope = snapshotListingScope(opts.snapshots);
  const [otherFiles, scoped] = await allSettledInOrder([remote.listFiles(), remote.listSnapshots(scope), pullLog(remote, store, opts, state)] as const);
  /**
   * A revocation or attestation file of a versioned bucket is read at its first version
   * (S3Backend.firstVersionOf): one written over or deleted since is said on stderr, the first
   * {@link MAX_CHANGED_NOTES}, the rest counted at the end.
   */
  const changedFiles = { n: 0 };
  const firstVersionRead = (path: string): void => {
    const changed = remote.firstVersionOf(path)?.changed;
    if (!changed || (!path.startsWith(REVOCATION_FOLDER) && !path.startsWith(ATTESTATION_FOLDER))) return;
    if (++changedFiles.n <= MAX_CHANGED_NOTES) opts.note(`${path.startsWith(REVOCATION_FOLDER) ? 'revocation' : 'attestation'} file ${path} was ${changed} in the bucket after it was written: its first version is read`);
  };
  // When the folders listed do not hold what a ref names, every snapshot is listed (snapshotsWanted
  // says `all`), as for a command naming none of them.
  let listed = scoped;
  let wanted = snapshotsWanted(opts.snapshots, listed);
  if (wanted === 'all' && scope !== undefined) {
    listed = await remote.listSnapshots();
    wanted = snapshotsWanted(opts.snapshots, listed);
  }
  const snaps = wanted === 'all' ? listed : listed.filter((s) => wanted.has(`${s.name}@${s.version}`));
  stats.snapshotsPulled = snaps.length;
  const junk = remote.snapshotJunk;
  if (junk.count > 0) {
    const first = junk.keys[0] as string;
    opts.note(`${junk.count} key(s) under ${remote.location}snapshots/ are none of snap's (neither a commit object nor a staged file), e.g. ${JSON.stringify(first.length > 200 ? `${first.slice(0, 200)}…` : first)}: skipped (snap fsck lists them)`);
  }
  const fileJunk = remote.fileJunk;
  if (fileJunk.count > 0) {
    const first = fileJunk.keys[0] as string;
    opts.note(`${fileJunk.count} key(s) under ${remote.location}'s folders of store files (revocations/, attestations/, log.checkpoints/, signatures/) are none of snap's, e.g. ${JSON.stringify(first.length > 200 ? `${first.slice(0, 200)}…` : first)}: skipped (snap fsck lists them)`);
  }
  const skips = remote.fileSkips;
  if (skips.count > 0) opts.note(`${skips.count} store file(s) of ${remote.location} past what a reader reads (FORMAT.md §23.5), e.g. ${JSON.stringify(skips.first ?? '')}: skipped`);
  /** Each snapshot's folder, downloaded, in the order of `snaps`: committed one by one after all were pulled. */
  const ready: (string | undefined)[] = new Array(snaps.length).fill(undefined);
  // Every manifest, unless the command said which snapshots' manifests it reads (then only theirs:
  // a planted giant manifest costs only the commands that read that snapshot).
  const everyManifest = opts.manifests === undefined || opts.manifests === 'all';
  const malformed = new Set<string>();
  try {
    await mapLimit(snaps.map((s, i) => ({ s, i })), TRANSFER_JOBS, async ({ s, i }) => {
      const ref = `${s.name}@${s.version}`;
      state.snapshots.add(ref);
      if (s.ignored?.length) {
        stats.ignoredCommits.push(`${ref} (${s.ignored.length})`);
        opts.note(`${ref}: ${s.ignored.length} later commit(s) of this NAME@VERSION ignored (the first one is the snapshot; FORMAT.md §23.3)`);
      }
      // Streamed into the working copy (a manifest of any size is never held in memory), then
      // committed there by a rename, as a local seal commits.
      const tmp = await makeTmpDir(store, 'pull');
      try {
        // A commit object that is not one (planted, or overwritten in an unversioned bucket) names no
        // file: NAME@VERSION is there with none, and verify and fsck report it as they report a
        // local snapshot folder whose files are missing; the other snapshots are not concerned.
        let manifestRefused = false; // downloaded, and left out for not being the one pinned
        const names = await remote.readSnapshotInto(s.name, s.version, tmp, everyManifest ? SNAPSHOT_FILE_NAMES : WITHOUT_MANIFEST, (text, file) => {
          opts.note(text);
          if (file === MANIFEST_FILE) manifestRefused = true;
        }, (c) => opts.note(changedNote(remote, ref, c))).catch((e: unknown) => {
          if (!(e instanceof SnapError && e.code === 'SNAPSHOT_MALFORMED')) throw e;
          opts.note(`${e.message}: none of its files is read`);
          malformed.add(ref);
          return [] as string[];
        });
        if (names.includes(MANIFEST_FILE) || manifestRefused) stats.manifestsPulled.push(ref);
        const small = (f: string, limit: number): Promise<Buffer | undefined> =>
          names.includes(f) ? readSmallFile(join(tmp, f), limit, `cannot read the ${f} of ${ref}`, () => new SnapError('IO_ERROR', 'not a regular file')) : Promise.resolve(undefined);
        const envelope = await small(ENVELOPE_FILE, MAX_ENVELOPE_BYTES + 1);
        if (envelope) {
          const folder = cosignatureFolder(s.name, s.version);
          const cosigned = otherFiles.filter((p) => p.startsWith(folder));
          let merged: Uint8Array = envelope;
          if (cosigned.length) {
            merged = await pullCosignatures(remote, envelope, cosigned, opts.cosignatures ?? {}, (t) => opts.note(`${ref}: ${t}`));
            if (merged !== envelope) await writeFileAtomic(join(tmp, ENVELOPE_FILE), merged, { mode: 0o444 });
          }
          state.envelopes.set(ref, merged);
        }
        const statement = await small(STATEMENT_FILE, MAX_STATEMENT_BYTES + 1);
        pulled.set(ref, statement ? { statement } : {});
        ready[i] = tmp;
      } catch (e) {
        await fsp.rm(tmp, { recursive: true, force: true });
        throw e;
      }
    });
    // Committed in the bucket's listing order (NAME/VERSION), each folder's time one millisecond
    // after the one before: the working copy's folder times break ties between snapshots created in
    // the same second (io/store.ts listSnapshots), and a rename keeps the time of the last download
    // into the folder, so list and NAME@latest would otherwise depend on download timing.
    const base = Date.now();
    const dests: string[] = [];
    for (let i = 0; i < snaps.length; i++) {
      const s = snaps[i] as (typeof snaps)[number];
      dests.push(await commitSnapshot(store, ready[i] as string, s.name, s.version));
      ready[i] = undefined;
    }
    const setFolderTimes = async (): Promise<void> => {
      for (let i = 0; i < dests.length; i++) {
        const t = new Date(base + i);
        await fsp.utimes(dests[i] as string, t, t);
      }
    };
    // Before the newest snapshot of a NAME is looked up (it is ordered by them), and again after
    // the manifests: adding a file to a folder changes its time.
    await setFolderTimes();
    if (opts.manifests !== undefined && opts.manifests !== 'all') {
      // Resolved as the command will resolve its refs, now that every statement is in place.
      const refs = [...opts.manifests.refs, ...(typeof opts.objects === 'object' ? opts.objects.refs : [])];
      if (opts.manifests.attested) refs.push(...(await pullAttestations(remote, local, otherFiles, state.files, firstVersionRead)));
      const named = new Set(await refsInStore(refs, store.root, pulled));
      if (opts.manifests.newestOf !== undefined) {
        // As seal picks its parent (seal.ts): the last of listSnapshots(NAME), here and when it runs.
        const newest = (await listSnapshots(store, opts.manifests.newestOf)).at(-1);
        if (newest && pulled.has(`${newest.name}@${newest.version}`)) named.add(`${newest.name}@${newest.version}`);
      }
      await mapLimit([...named].filter((r) => !malformed.has(r)), TRANSFER_JOBS, async (ref) => {
        const [name, version] = ref.split('@') as [string, string];
        if (await pullManifest(remote, store, name, version, opts.note)) stats.manifestsPulled.push(ref);
      });
      if (stats.manifestsPulled.length > 0) await setFolderTimes();
    }
    stats.manifestsPulled.sort();
  } finally {
    for (const tmp of ready) if (tmp !== undefined) await fsp.rm(tmp, { recursive: true, force: true });
  }
  // fsck streams the listing itself (streamObjects), holding only what it reads or a snapshot names;
  // the other commands look up the objects they need (below). A seal marks present the objects of
  // the snapshots whose manifests it pulled (its parent's): those its checks ask about first.
  if (opts.presence) {
    const named = new Set<string>();
    for (const ref of stats.manifestsPulled) {
      const [name, version] = ref.split('@') as [string, string];
      for (const h of await objectsOfSnapshotIn(snapshotDir(store, name, version))) named.add(h);
    }
    if (stats.manifestsPulled.length > 0) {
      for (const [h, size] of await lookUpObjects(remote, named)) state.objects.set(h, size);
    } else {
      // No parent: the start of the listing, bounded (a seal of files the bucket holds under another
      // NAME, or the re-run of a stopped first seal, then stages and HEADs none of those).
      const most = opts.presenceListed ?? MAX_PRESENCE_LISTED;
      listing: for await (const page of remote.objectPages()) {
        for (const o of page.objects) {
          if (state.objects.size >= most) break listing;
          state.objects.set(o.hex, o.size);
        }
        if (!page.more || state.objects.size >= most) break;
      }
    }
    await markPresent(store, state.objects.keys());
  }
  let need: string[] = [];
  /**
   * The most bytes read of an object: one more than its size in the named snapshot's manifest (a
   * larger object cannot be that content: its first bytes are enough for the command to refuse it,
   * as it refuses a local object of the wrong size); for a record index or summary, one more than
   * the longest it can be (see {@link recordObjectLimits}).
   */
  const limits = new Map<string, number>();
  if (typeof opts.objects === 'object') {
    const wantedObjects = new Set<string>();
    for (const ref of await refsInStore(opts.objects.refs, store.root, pulled)) {
      const statement = pulled.get(ref)?.statement;
      if (opts.objects.objects === 'all') {
        const [name, version] = ref.split('@') as [string, string];
        for (const [h, size] of await manifestSizesOfFile(join(snapshotDir(store, name, version), MANIFEST_FILE))) {
          wantedObjects.add(h);
          if (Number.isSafeInteger(size) && size >= 0) limits.set(h, Math.max(limits.get(h) ?? 0, size + 1));
        }
      }
      for (const [h, most] of recordObjectLimits(statement, new Map())) {
        wantedObjects.add(h);
        limits.set(h, Math.max(limits.get(h) ?? 0, most));
      }
      // check, diff and report also read the snapshot's signed snap.json: its record rules and
      // thresholds (records/snapshot-config.ts), checked there against the manifest; without it
      // they fail (INTEGRITY_FAILURE), as on a local store without it. The other commands that
      // pull record indexes get it too (at most MAX_CONFIG_BYTES + 1 bytes a snapshot).
      if (opts.objects.objects === 'record-indexes') {
        const [name, version] = ref.split('@') as [string, string];
        const config = await configObjectOfFile(join(snapshotDir(store, name, version), MANIFEST_FILE));
        if (config) {
          wantedObjects.add(config);
          limits.set(config, Math.max(limits.get(config) ?? 0, MAX_CONFIG_BYTES + 1));
        }
      }
    }
    // Only these are looked up: an object the bucket lacks is not copied, and the command reports it missing.
    for (const [h, size] of await lookUpObjects(remote, wantedObjects)) state.objects.set(h, size);
    need = [...wantedObjects].filter((h) => state.objects.has(h)).sort();
    // What will be downloaded: each object as listed, at most its limit.
    await checkStagingRoom(store.root, need.reduce((n, h) => n + Math.min(state.objects.get(h) ?? 0, limits.get(h) ?? Infinity), 0), need.length);
  }
  await mapLimit(need, TRANSFER_JOBS, async (hex) => {
    const r = await pullObject(remote, store, hex, limits.get(hex));
    if (!r.ok) {
      stats.objectsCorrupt.push(hex);
      opts.note(`object ${hex} in ${remote.location} does not hash to its name (kept as read, for the command to report)`);
    }
    stats.objectsPulled++;
    stats.bytesPulled += r.size;
  });
  for (const path of otherFiles) {
    if (path.startsWith(`${COSIGNATURES_DIR}/`)) continue; // merged into the envelopes above
    if (state.files.has(path)) continue; // an attestation, pulled before the manifests
    // A revocation or an attestation in a versioned bucket is read at its first version: a delete
    // marker put on it, or a version written over it, is someone else's and must not make a
    // revoked snapshot pass, nor hide or replace what a model was trained on.
    firstVersionRead(path);
    // Cut one byte past the largest bound of a local reader of store files (envelopes of
    // attestations; revocations and checkpoints are smaller): a larger, planted file is refused by
    // the command reading it, as in a local store, and costs no more. An unchanged file is never pushed back.
    const bytes = await remote.readFilePrefix(path, OTHER_FILE_LIMIT).catch((e: unknown) => {
      // Listed, then not there: removed meanwhile, or a key a server's listing cannot name exactly
      // (one that does not URL-encode it: a carriage return comes back a line feed). Every file snap
      // writes has a plain name, so it is none of snap's: skipped, not the end of every command.
      if (e instanceof SnapError && e.code === 'NOT_FOUND') return undefined;
      throw e;
    });
    if (bytes === undefined) {
      opts.note(`store file ${path} was listed but is not in the bucket (removed meanwhile, or a name the server's listing does not give exactly): skipped`);
      continue;
    }
    state.files.set(path, sha(bytes));
    await local.writeFile(path, bytes);
  }
  if (changedFiles.n > MAX_CHANGED_NOTES) opts.note(`${changedFiles.n - MAX_CHANGED_NOTES} more revocation or attestation files were written over or deleted in the bucket: their first versions are read`);
  return state;
}

/** A model attestation's statement or envelope in the store (FORMAT.md §13): `attestations/MODEL/VERSION/FILE`. */
const ATTESTATION_FILE_RE = /^attestations\/[^/]+\/[^/]+\/(?:statement|envelope)\.json$/;

/**
 * Copy the store's model attestations into the working copy (each at most {@link OTHER_FILE_LIMIT}
 * bytes, as every other store file; noted in `files` so that they are not copied again) and
 * collect the snapshots they name: each training dataset's id and NAME@VERSION, from the
 * envelope's payload and from `statement.json` alike. Nothing is verified: what cannot be parsed
 * names nothing, and the command, reading the same files, reports it. In a versioned bucket each
 * file is read at its first version (S3Backend.firstVersionOf), and `firstVersionRead` is told of
 * each path, to say when the key was written over or deleted since.
 * @returns the refs (ids and NAME@VERSION), at most {@link MAX_TRAINING_DATASETS} × 2 an attestation file
 * @throws SnapError `IO_ERROR` and the other errors of reading the bucket
 */
async function pullAttestations(remote: S3Backend, local: LocalBackend, otherFiles: string[], files: Map<string, string>, firstVersionRead: (path: string) => void): Promise<string[]> {
  const paths = otherFiles.filter((p) => ATTESTATION_FILE_RE.test(p));
  for (const path of paths) firstVersionRead(path);
  const named = await mapLimit(paths, TRANSFER_JOBS, async (path) => {
    const bytes = await remote.readFilePrefix(path, OTHER_FILE_LIMIT);
    files.set(path, sha(bytes));
    await local.writeFile(path, bytes);
    let statement: Uint8Array = bytes;
    try {
      if (path.endsWith(`/${ENVELOPE_FILE}`)) statement = fromBase64(parseEnvelope(bytes).payload);
      return parseAttestation(statement).predicate.datasets.flatMap((d) => [d.snapshot, d.ref]);
    } catch {
      return [] as string[];
    }
  });
  return [...new Set(named.flat())];
}

/**
 * The note every command gives of a snapshot file read at the version its commit object pins while
 * the bucket's current version of the key is another or a delete marker (FORMAT.md §23.3): the
 * command is not misled, but someone changed what was sealed, and fsck fails on it.
 */
function changedNote(remote: S3Backend, ref: string, c: ChangedFile): string {
  return `${changedFileText(remote.location, ref, c)}: that version is read; someone with write access to the bucket changed the key (snap fsck fails on it)`;
}

/** A snapshot's files but its manifest (what is pulled of a snapshot whose manifest the command does not read). */
const WITHOUT_MANIFEST: readonly string[] = SNAPSHOT_FILE_NAMES.filter((f) => f !== MANIFEST_FILE);

/**
 * Stream the manifest of the committed snapshot NAME@VERSION into its folder of the working copy
 * (through a temporary folder, then a rename). A manifest its commit object does not name, or that
 * is missing, or that is not the one it pins (said by `note`), is left out: the command reports it
 * as for a local snapshot folder without one.
 * @returns whether it was downloaded (copied, or left out for not being the one pinned)
 * @throws SnapError `IO_ERROR` and the other errors of reading the bucket
 */
async function pullManifest(remote: S3Backend, store: Store, name: string, version: string, note: (text: string) => void): Promise<boolean> {
  const tmp = await makeTmpDir(store, 'pull');
  try {
    let refused = false; // downloaded, and left out for not being the one pinned
    const names = await remote.readSnapshotInto(name, version, tmp, [MANIFEST_FILE], (text) => {
      note(text);
      refused = true;
    }, (c) => note(changedNote(remote, `${name}@${version}`, c))).catch((e: unknown) => {
      if (e instanceof SnapError && e.code === 'SNAPSHOT_MALFORMED') return [] as string[]; // said when its other files were pulled
      throw e;
    });
    if (!names.includes(MANIFEST_FILE)) return refused;
    await fsp.rename(join(tmp, MANIFEST_FILE), join(snapshotDir(store, name, version), MANIFEST_FILE));
    return true;
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The committed envelope `committed` with its co-signature files `paths` merged in (FORMAT.md
 * §23.8, store/cosignatures.ts): read in name order, TRANSFER_JOBS at once, each at most
 * MAX_ENVELOPE_BYTES (a larger one, or one removed meanwhile, is ignored and said), merged as they
 * come (memory stays bounded whatever their number), until no further file can change the result.
 * @throws SnapError `IO_ERROR` and the other errors of reading the bucket
 */
async function pullCosignatures(remote: S3Backend, committed: Uint8Array, paths: string[], opts: CosignatureMergeOptions, note: (t: string) => void): Promise<Uint8Array> {
  const merge = startCosignatureMerge(committed, note, opts);
  const sorted = [...paths].sort();
  let next = 0;
  let changedFiles = 0;
  while (next < sorted.length && !merge.done()) {
    const batch = sorted.slice(next, next + TRANSFER_JOBS);
    const read = await mapLimit(batch, TRANSFER_JOBS, async (path) => {
      // In a versioned bucket the file's first version is read: a later one, or a delete marker, is
      // someone else's (the file is named by its bytes and written once), and is said.
      const changed = remote.firstVersionOf(path)?.changed;
      if (changed && ++changedFiles <= MAX_CHANGED_NOTES) note(`co-signature file ${path} was ${changed} in the bucket after it was written: its first version is read`);
      try {
        return { path, bytes: await remote.readFile(path, MAX_ENVELOPE_BYTES) };
      } catch (e) {
        if (e instanceof SnapError && e.code === 'STORE_MALFORMED') return { path, skip: `is larger than ${MAX_ENVELOPE_BYTES} bytes` };
        if (e instanceof SnapError && e.code === 'NOT_FOUND') return { path, skip: 'was removed while it was read' };
        throw e;
      }
    });
    for (const r of read) {
      if (merge.done()) break;
      if ('bytes' in r && r.bytes) merge.add({ path: r.path, bytes: r.bytes });
      else merge.ignore(r.path, r.skip as string);
      next++;
    }
  }
  if (changedFiles > MAX_CHANGED_NOTES) note(`${changedFiles - MAX_CHANGED_NOTES} more co-signature files were written over or deleted in the bucket: their first versions are read`);
  return merge.finish(sorted.length - next);
}

/** Co-signature files written over or deleted that are named one by one on stderr; the rest are counted. */
const MAX_CHANGED_NOTES = 20;

/**
 * Mark every object of `hexes` present in the working copy: an empty file under its name (the
 * 256 fan-out folders made first). Only for a command that never reads objects (seal).
 */
async function markPresent(store: Store, hexes: Iterable<string>): Promise<void> {
  const all = [...hexes];
  await mapLimit([...new Set(all.map((h) => h.slice(0, 2)))], TRANSFER_JOBS, (d) => fsp.mkdir(join(store.objectsDir, d), { recursive: true }).then(() => {}));
  await mapLimit(all, MARK_JOBS, (hex) => fsp.writeFile(objectPath(store, hex), '', { flag: 'wx', mode: 0o444 }));
}

/** Bytes of new objects a seal stages before handing them over for upload (256 MiB). */
export const STAGE_BYTES = 256 * 1024 * 1024;

/**
 * The object sink of a seal's working copy (io/object-sink.ts): each batch of objects the seal
 * committed there is uploaded (absent ones only, in parallel), then each object file is replaced by
 * an empty marker (atomically: a rename), so that it still counts as present and its disk space is
 * freed. The uploads send each object's SHA-256 as its checksum, as at the end of a command.
 */
function uploadAsSealed(remote: S3Backend, store: Store, state: PulledState, opts: RemoteSessionOptions, stats: SessionStats): ObjectSink {
  return {
    everyBytes: opts.stageBytes ?? STAGE_BYTES,
    async take(hexes) {
      let bytes = 0;
      const taken = { present: 0, presentBytes: 0 };
      // Once each: two workers committing at once can both rename the same object into place
      // (same bytes), so a digest may come twice in one batch.
      await mapLimit([...new Set(hexes)], TRANSFER_JOBS, async (hex) => {
        const path = objectPath(store, hex);
        const size = await checkedSize(path, hex);
        bytes += size;
        if ((await remote.putObject(hex, () => createReadStream(path) as Readable, size, opts.retain)) === 'stored') {
          stats.objectsUploaded++;
          stats.bytesUploaded += size;
        } else {
          taken.present++;
          taken.presentBytes += size;
        }
        state.handedOver.add(hex);
        const mark = join(store.tmpDir, `marker-${hex}`);
        await fsp.writeFile(mark, '', { flag: 'wx', mode: 0o444 });
        await fsp.rename(mark, path);
      });
      stats.handOvers++;
      killPointForTest('s3-handed-over');
      stats.largestHandOver = Math.max(stats.largestHandOver, bytes);
      return taken;
    },
  };
}

/**
 * The size of the working copy's object file at `path`, after hashing it: its bytes must hash to
 * `hex` before they go up (the server's checksum check is not enough: Ceph 16 ignores it).
 * @throws SnapError `OBJECT_CORRUPT`
 */
async function checkedSize(path: string, hex: string): Promise<number> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  const got = h.digest('hex');
  if (got !== hex) throw new SnapError('OBJECT_CORRUPT', `the staged copy of object ${hex} does not hash to its name (sha256 ${got}): it was not uploaded, and nothing was committed`, { object: hex });
  return size;
}

/** Marker files made at once. */
const MARK_JOBS = 32;

/**
 * The snapshots (`NAME@VERSION`, as pulled) that `refs` name in the working copy at `root`.
 * `NAME@latest` names every snapshot of NAME (which one is latest is the command's trust decision).
 */
async function refsInStore(refs: string[], root: string, pulled: Map<string, unknown>): Promise<string[]> {
  const out = new Set<string>();
  for (const text of refs) {
    const latest = /^(.+)@latest$/.exec(text);
    if (latest) {
      for (const r of pulled.keys()) if (r.startsWith(`${latest[1]}@`)) out.add(r);
      continue;
    }
    const loc = await resolveRef(text, root).catch(() => undefined);
    if (loc?.name !== undefined && loc.version !== undefined && pulled.has(`${loc.name}@${loc.version}`)) out.add(`${loc.name}@${loc.version}`);
  }
  return [...out];
}

/**
 * Refuse to stage more than the disk of `root` (the working copy) has free, before downloading
 * anything: `bytes` in `objects` objects.
 * @throws SnapError `DISK_FULL`
 */
export async function checkStagingRoom(root: string, bytes: number, objects: number): Promise<void> {
  const fs = await fsp.statfs(root).catch(() => undefined);
  if (!fs) return;
  const free = fs.bavail * fs.bsize;
  if (bytes > free) {
    throw new SnapError('DISK_FULL', `the snapshot's ${objects} objects (${bytes} bytes) do not fit in the ${free} bytes free under ${tmpdir()}, where the S3 store's objects are staged; set TMPDIR to a larger disk`, { bytes, free });
  }
}

/**
 * Download one object into the working copy, hashing it as it comes.
 * @param limit most bytes read (default: all); the rest of a larger object is never downloaded
 * @returns whether its bytes hash to its name (they are kept either way, cut at `limit`), and their length
 * @throws SnapError `NOT_FOUND` | `IO_ERROR`
 */
async function pullObject(remote: S3Backend, store: Store, hex: string, limit = Infinity): Promise<{ ok: boolean; size: number }> {
  const path = objectPath(store, hex);
  await fsp.mkdir(dirname(path), { recursive: true });
  const h = createHash('sha256');
  let size = 0;
  const body = await remote.getRaw(hex);
  const fh = await fsp.open(path, 'w', 0o444);
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const part = chunk.length > limit - size ? chunk.subarray(0, limit - size) : chunk;
      h.update(part);
      await fh.write(part);
      size += part.length;
      if (size >= limit) break; // leaving the loop destroys the response
    }
  } catch (e) {
    throw s3Error(e, `read object ${hex}`);
  } finally {
    await fh.close();
  }
  return { ok: h.digest('hex') === hex, size };
}

/**
 * Re-hash the bucket's objects as they stream (TRANSFER_JOBS at once; each chunk hashed and
 * dropped: memory is bounded, nothing goes to disk): every object a snapshot of the working copy
 * `store` names (its manifest's entries, its statement's record indexes: all that fsck asks about),
 * and of the others the first `unreferenced` in key order. The listing of `objects/` is read once,
 * page by page, never held (the keys that are not object names are fsck's strays): what is kept is the named objects and those read, so keys planted under `objects/sha256/`
 * cost no memory and, past `unreferenced`, no GET — they are counted in one stray entry. An object
 * that went away meanwhile or cannot be read is unreadable, as fsck says of a local one.
 */
async function streamObjects(remote: S3Backend, store: Store, unreferenced: number, stats: SessionStats, note: (t: string) => void, onProgress?: (p: { files: number; bytes: number; totalFiles?: number }) => void): Promise<StreamedObjects> {
  const named = new Set<string>();
  for (const s of await listSnapshots(store)) for (const h of await objectsOfSnapshotIn(snapshotDir(store, s.name, s.version))) named.add(h);
  const corrupt: StreamedObjects['objects']['corrupt'] = [];
  const unreadable: StreamedObjects['objects']['unreadable'] = [];
  const present = new Set<string>();
  const notRead = { count: 0, bytes: 0 };
  let others = 0;
  let checked = 0;
  let bytes = 0;
  const rel = (hex: string): string => `${hex.slice(0, 2)}/${hex.slice(2)}`;
  const check = async (hex: string): Promise<void> => {
    const h = createHash('sha256');
    let size = 0;
    try {
      for await (const c of await remote.getRaw(hex)) {
        h.update(c as Buffer);
        size += (c as Buffer).length;
      }
      const got = h.digest('hex');
      if (got !== hex) {
        corrupt.push({ path: rel(hex), name: hex, sha256: got, size, usedBy: [], users: 0 });
        stats.objectsCorrupt.push(hex);
        note(`object ${hex} in ${remote.location} does not hash to its name`);
      }
    } catch (e) {
      if (!(e instanceof SnapError) || (e.code !== 'NOT_FOUND' && e.code !== 'IO_ERROR')) throw e;
      unreadable.push({ path: rel(hex), reason: e.code === 'NOT_FOUND' ? 'removed while fsck ran' : e.message });
    }
    checked++;
    bytes += size;
    stats.objectsStreamed++;
    stats.bytesStreamed += size;
    onProgress?.({ files: checked, bytes });
  };
  // Keys under objects/ that are not object names, as fsck's strays: the first MAX_JUNK_KEYS_KEPT
  // by name, the rest counted (`objects/… (N more keys not listed)`): planted ones cost no memory.
  const strayKeys: string[] = [];
  let moreStrays = 0;
  let batch: string[] = [];
  for await (const o of objectListing(remote)) {
    if ('stray' in o) {
      if (strayKeys.length < MAX_JUNK_KEYS_KEPT) strayKeys.push(o.stray);
      else moreStrays++;
      continue;
    }
    if (!named.has(o.hex) && others++ >= unreferenced) {
      notRead.count++;
      notRead.bytes += o.size;
      continue;
    }
    present.add(o.hex);
    batch.push(o.hex);
    if (batch.length >= STREAM_BATCH) {
      await mapLimit(batch, TRANSFER_JOBS, check);
      batch = [];
    }
  }
  await mapLimit(batch, TRANSFER_JOBS, check);
  const skipped = notRead.count > 0 ? [`objects/sha256/… (${notRead.count} more objects that no snapshot names, ${notRead.bytes} bytes: not read; fsck reads the first ${unreferenced} of them)`] : [];
  const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  return { objects: { checked, bytes, corrupt: corrupt.sort(byPath), unreadable: unreadable.sort(byPath) }, present, strays: [...strayKeys.sort(), ...(moreStrays > 0 ? [`objects/… (${moreStrays} more keys not listed)`] : []), ...skipped, ...snapshotStrays(remote), ...fileStrays(remote)] };
}

/**
 * Objects looked up per page of the listing of `objects/sha256/` read (1,000 keys): a lookup of N
 * objects reads at most ceil(N / 10) pages, then asks for each object past the last key listed by
 * a HEAD. A store's listing is cheaper than a HEAD an object while it holds at most ten times the
 * keys looked up; keys planted there (by someone who can write the bucket) cost at most that many
 * pages, and no memory.
 */
export const LOOKUPS_PER_LIST_PAGE = 10;

/**
 * Objects a seal without a parent lists and marks present at most (100 pages of the listing of
 * `objects/sha256/`, about 15 MB of map and as many empty marker files): past them, an object the
 * seal makes is staged and its upload's HEAD finds it there, as for any object not marked.
 */
export const MAX_PRESENCE_LISTED = 100_000;

/**
 * Which of the objects `wanted` (digests) the bucket holds, and their sizes in bytes: the listing
 * of `objects/sha256/` read page by page, in key order, each page filtered against `wanted` and
 * dropped, for at most ceil(|wanted| / {@link LOOKUPS_PER_LIST_PAGE}) pages; the wanted objects past
 * the last key listed are then looked up by a HEAD each ({@link TRANSFER_JOBS} at once). Memory
 * grows with `wanted`, never with the bucket; requests are at most |wanted| / 10 + 1 pages plus
 * |wanted| HEADs, and none when nothing is wanted.
 * @returns digest → size in bytes, for the wanted objects the bucket holds
 * @throws SnapError `IO_ERROR` (a listing or a HEAD failed)
 */
async function lookUpObjects(remote: S3Backend, wanted: Iterable<string>): Promise<Map<string, number>> {
  const sorted = [...new Set(wanted)].sort();
  const found = new Map<string, number>();
  if (sorted.length === 0) return found;
  const keyOf = (hex: string): string => `${hex.slice(0, 2)}/${hex.slice(2)}`;
  const want = new Set(sorted);
  let pages = Math.ceil(sorted.length / LOOKUPS_PER_LIST_PAGE);
  let listedTo = ''; // every object key up to this one (relative to objects/sha256/) was listed
  for await (const page of remote.objectPages()) {
    for (const o of page.objects) if (want.has(o.hex)) found.set(o.hex, o.size);
    if (page.last > listedTo) listedTo = page.last;
    if (!page.more) return found; // the whole listing was read
    if (--pages <= 0) break;
  }
  const rest = sorted.filter((h) => keyOf(h) > listedTo);
  await mapLimit(rest, TRANSFER_JOBS, async (hex) => {
    const size = await remote.objectSize(hex);
    if (size !== undefined) found.set(hex, size);
  });
  return found;
}

/** Objects listed for fsck that are handed to the readers at once (then the next batch is listed). */
const STREAM_BATCH = 256;

/**
 * The keys under `snapshots/` that are none of snap's, as fsck's strays: the first
 * MAX_JUNK_KEYS_KEPT the session's listing kept by name, then one line counting the rest.
 */
function snapshotStrays(remote: S3Backend): string[] {
  const { count, keys } = remote.snapshotJunk;
  return count > keys.length ? [...keys.sort(), `snapshots/… (${count - keys.length} more keys not listed)`] : [...keys].sort();
}

/**
 * The keys under the folders of the other files that are none of snap's (S3Backend.listFiles), as
 * fsck's strays: the first MAX_JUNK_KEYS_KEPT the session's listing kept by name, then one line
 * counting the rest.
 */
function fileStrays(remote: S3Backend): string[] {
  const { count, keys } = remote.fileJunk;
  return count > keys.length ? [...keys].sort().concat(`… (${count - keys.length} more keys under the folders of store files not listed)`) : [...keys].sort();
}

/**
 * The listing of `objects/`, page by page (ListObjectsV2, in key order), once: each object key
 * `objects/sha256/<2 hex>/<62 hex>` as its digest and size in bytes, each other key as a stray
 * (relative to the store's prefix). Nothing is held past the page being read.
 * @throws SnapError `IO_ERROR` (the listing failed)
 */
async function* objectListing(remote: S3Backend): AsyncGenerator<{ hex: string; size: number } | { stray: string }> {
  for await (const o of remote.listEntries(`${remote.where.prefix}objects/`)) {
    const rel = o.key.slice(remote.where.prefix.length);
    const m = /^objects\/sha256\/([0-9a-f]{2})\/([0-9a-f]{62})$/.exec(rel);
    yield m ? { hex: (m[1] as string) + (m[2] as string), size: o.size } : { stray: rel };
  }
}

/**
 * Push back what the command added (FORMAT.md §23.5): objects, snapshots, co-signatures, other
 * files, audit log lines.
 * @param retain the command's `--retain`: every object, file and log line it writes is locked so
 * @param started when the session opened (ms since the epoch), before any of its objects went up:
 *   without `retain`, in a bucket with a default retention rule of period P, each new snapshot's
 *   files and commit object are locked until `started + P` and the objects it shares with older
 *   snapshots extended to it; its new objects keep the rule's lock (their write + P, later), so
 *   none of its objects or files is locked for less time than the snapshot (§23.6)
 */
async function pushBack(local: LocalBackend, store: Store, remote: S3Backend, state: PulledState, retain: Retention | undefined, stats: SessionStats, note: (text: string) => void, started: number, how: { shared: boolean; logTail: boolean; logLockWaitMs?: number }): Promise<void> {
  // A command that holds a shared lock pushes its audit log lines only: anything else it would write
  // is a fault of this program (it was taken for a reader), and nothing goes up.
  const readerOnly = (what: string): void => {
    if (how.shared) throw new Error(`internal error: a command holding a shared lock on ${remote.location} would write ${what}; nothing was pushed`);
  };
  const added = (await local.listSnapshots()).filter((s) => !state.snapshots.has(`${s.name}@${s.version}`));
  if (added.length > 0) readerOnly(`the snapshot ${added[0]?.name}@${added[0]?.version}`);
  const addedFiles = new Map<string, SnapshotFiles>();
  for (const s of added) addedFiles.set(`${s.name}@${s.version}`, await local.readSnapshot(s.name, s.version));
  // 0. A new snapshot must not count on an object the remote holds with another size than its
  //    content's (written there by someone else: it cannot hash to its name). Nothing goes up.
  //    The objects they name that this session has not looked up yet are looked up now.
  const unknown = new Set<string>();
  for (const files of addedFiles.values()) for (const hex of objectsOf(files)) if (!state.objects.has(hex) && !state.handedOver.has(hex)) unknown.add(hex);
  for (const [h, size] of await lookUpObjects(remote, unknown)) state.objects.set(h, size);
  const wrong: { sha256: string; size: number; stored: number }[] = [];
  for (const files of addedFiles.values()) {
    for (const [hex, size] of manifestSizes(files)) {
      const stored = state.objects.get(hex);
      if (stored !== undefined && stored !== size) wrong.push({ sha256: hex, size, stored });
    }
  }
  if (wrong.length) throw wrongSize(remote.location, wrong);
  // 1. Objects: every one the remote did not have (putObject HEADs again, then PUTs If-None-Match).
  const fresh: string[] = [];
  for await (const hex of local.listObjects()) if (!state.objects.has(hex) && !state.handedOver.has(hex)) fresh.push(hex);
  if (fresh.length > 0) readerOnly(`the object ${fresh[0]}`);
  await mapLimit(fresh, TRANSFER_JOBS, async (hex) => {
    const path = objectPath(store, hex);
    const size = await checkedSize(path, hex);
    if ((await remote.putObject(hex, () => createReadStream(path) as Readable, size, retain)) === 'stored') {
      stats.objectsUploaded++;
      stats.bytesUploaded += size;
    }
  });
  killPointForTest('s3-objects-pushed');
  // 2. Snapshots, each committed last by its commit object. Under a bucket's default retention the
  //    commit object, written last, would be locked longer than every object and file it names.
  const rule = retain === undefined && added.length > 0 ? await remote.defaultRetention() : undefined;
  const snapshotRetain = retain ?? (rule ? { mode: rule.mode, until: new Date(started + rule.periodMs) } : undefined);
  for (const s of added) {
    const ref = `${s.name}@${s.version}`;
    const files = addedFiles.get(ref) as SnapshotFiles;
    if (snapshotRetain) await lockSharedObjects(remote, files, snapshotRetain, new Set([...fresh, ...state.handedOver]));
    await remote.commitSnapshot(s.name, s.version, files, snapshotRetain);
    stats.snapshotsCommitted.push(ref);
    killPointForTest('s3-committed');
  }
  // 2b. Co-signatures (`sign`) of snapshots that were there: one write-once file each (§23.8).
  for (const [ref, before] of state.envelopes) {
    const [name, version] = ref.split('@') as [string, string];
    const now = await fsp.readFile(join(store.snapshotsDir, name, version, 'envelope.json')).catch(() => undefined);
    if (!now || Buffer.from(now).equals(before)) continue;
    readerOnly(`a co-signature of ${ref}`);
    const path = cosignaturePath(name, version, now);
    await remote.putFileOnce(path, now, await snapshotRetention(remote, name, version));
    stats.cosignaturesPushed.push(path);
    killPointForTest('s3-cosigned');
  }
  // 3. Other files this command wrote or changed. An attestation's files are written once, as
  //    `attest` writes them in a local store, and only where the bucket has no key: readers read a
  //    key's first version (FORMAT.md §23.5), so one planted there after this command read the
  //    store must not be left first, with ours a later version nobody reads.
  for (const path of await local.listFiles()) {
    const bytes = await local.readFile(path);
    if (state.files.get(path) === sha(bytes)) continue;
    readerOnly(`the store file ${path}`);
    if (ATTESTATION_FILE_RE.test(path)) {
      if ((await remote.putFileOnce(path, bytes)) === 'present') {
        const [, model, version] = path.split('/') as [string, string, string];
        throw new SnapError('ATTESTATION_EXISTS', `${remote.location}${path} was written by someone else after this command read the store; attestations are write-once: ${model}@${version} was not stored, choose a new VERSION (and see who writes to the bucket)`, { ref: `${model}@${version}`, key: path });
      }
    } else await remote.writeFile(path, bytes);
  }
  killPointForTest('s3-files-pushed');
  // 4. The audit log lines it appended — unless the store is not there (`create: 'when-written'`)
  //    and the command put nothing in it (it failed first): then, as a local command that finds no
  //    store (cli/common.ts audit), it writes none, and leaves no key under the prefix.
  let lines = await linesAfter(join(store.root, LOG_FILE), state.logBytes);
  if (lines.length > 0 && !remote.storeExists) {
    stats.logPushFailed = `no snap store at ${remote.location}: the command put nothing there, so it made none`;
    return;
  }
  if (lines.length === 0) return;
  try {
    // Appends take the log's own lock (FORMAT.md §23.4): commands holding a shared store lock run
    // at once, and each appends after the others. Lines appended since this command read the log
    // (its log.head moved) are read, and this command's lines chained after them.
    const logLock = await remote.lockLog(how.logLockWaitMs);
    try {
      const now = await remote.logHead();
      if (!sameBytes(now, state.logHead)) lines = await rechainLog(remote, store, lines, how.logTail);
      const head = await fsp.readFile(join(store.root, LOG_HEAD_FILE)).catch(() => undefined);
      if (!head) return;
      await remote.appendLog(lines, head, retain);
      stats.logLinesPushed += lines.length;
    } finally {
      await logLock.release();
    }
  } catch (e) {
    // As on a local store (io/audit-log.ts: appendAudit never throws), a log line that cannot be
    // written is a note: the command's verdict and exit code stand. A key taken by a line snap did
    // not write (planted ahead of the log) must not make every later command fail.
    if (!(e instanceof SnapError)) throw e;
    stats.logPushFailed = e.message;
    note(`audit log not written: ${e.message}; run snap log --verify --store ${remote.location}`);
  }
}

/** Whether two optional byte strings are both absent or equal. */
function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a === undefined || b === undefined ? a === b : Buffer.from(a).equals(b);
}

/**
 * The bucket's audit log moved on since it was pulled (another command appended): read it again
 * into the working copy, in place of the one pulled, and append `ours` (this command's lines) to
 * it again, each with its members kept and its `seq` and `prev` set anew (io/audit-log.ts
 * appendAuditFields), as if the command had read the log now. The caller holds the log's lock.
 * @returns the lines to push: `ours`, chained on the bucket's log
 * @throws SnapError `IO_ERROR` (reading the log, or writing the working copy's), `LOG_INCONSISTENT`
 *   (a line of ours that is not a JSON object)
 */
async function rechainLog(remote: S3Backend, store: Store, ours: Uint8Array[], tail: boolean): Promise<Uint8Array[]> {
  const fields = ours.map((line) => {
    let o: unknown;
    try {
      o = JSON.parse(Buffer.from(line).toString('utf8'));
    } catch {
      o = undefined;
    }
    if (!o || typeof o !== 'object' || Array.isArray(o)) throw new SnapError('LOG_INCONSISTENT', 'an audit log line to append is not a JSON object', {});
    return o as Record<string, unknown>;
  });
  const logDir = await makeTmpDir(store, 'log');
  let bytes: number;
  try {
    const log = await remote.readLogInto(join(logDir, LOG_FILE), { tail });
    bytes = log.bytes;
    await fsp.rm(join(store.root, LOG_FILE), { force: true });
    if (log.lines > 0) await fsp.rename(join(logDir, LOG_FILE), join(store.root, LOG_FILE));
    if (log.head) await writeFileAtomic(join(store.root, LOG_HEAD_FILE), log.head, { mode: 0o644 });
    else await fsp.rm(join(store.root, LOG_HEAD_FILE), { force: true });
    setLogSeqFloor(store.root, log.lastKeySeq);
  } finally {
    await fsp.rm(logDir, { recursive: true, force: true });
  }
  for (const f of fields) {
    const r = await appendAuditFields(store.root, f);
    if (!r.written) throw new SnapError('IO_ERROR', r.reason, {});
  }
  return linesAfter(join(store.root, LOG_FILE), bytes);
}

/**
 * The lines of the file at `path` after its first `offset` bytes (each with its `\n`; a last one
 * without is kept as it is): the audit log lines a command appended to what was pulled.
 */
async function linesAfter(path: string, offset: number): Promise<Uint8Array[]> {
  const fh = await fsp.open(path, 'r').catch(() => undefined);
  if (!fh) return [];
  let tail: Buffer;
  try {
    const size = (await fh.stat()).size;
    tail = Buffer.alloc(Math.max(0, size - offset));
    let n = 0;
    while (n < tail.length) {
      const { bytesRead } = await fh.read(tail, n, tail.length - n, offset + n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    tail = tail.subarray(0, n);
  } finally {
    await fh.close();
  }
  return splitLogLines(tail);
}

/**
 * The longest running Object Lock of any version of `key` (a tampered object's newest version may
 * carry none: the sealed version's lock is the one to keep). COMPLIANCE wins over GOVERNANCE.
 */
async function longestLock(remote: S3Backend, key: string): Promise<Retention | undefined> {
  let best: Retention | undefined;
  let marker: { key?: string; version?: string } = {};
  for (;;) {
    const r = await remote.client
      .send(new ListObjectVersionsCommand({ Bucket: remote.where.bucket, Prefix: key, ...(marker.key ? { KeyMarker: marker.key } : {}), ...(marker.version ? { VersionIdMarker: marker.version } : {}) }))
      .catch((e: unknown) => {
        throw s3Error(e, `list the versions of ${key}`);
      });
    for (const v of r.Versions ?? []) {
      if (v.Key !== key) continue;
      const ret = await remote.retentionOf(key, v.VersionId);
      if (!ret || ret.until.getTime() <= Date.now()) continue;
      if (!best || ret.until > best.until) best = { mode: ret.mode === 'COMPLIANCE' || best?.mode === 'COMPLIANCE' ? 'COMPLIANCE' : 'GOVERNANCE', until: ret.until };
      else if (ret.mode === 'COMPLIANCE') best = { ...best, mode: 'COMPLIANCE' };
    }
    if (!r.IsTruncated) return best;
    marker = { ...(r.NextKeyMarker ? { key: r.NextKeyMarker } : {}), ...(r.NextVersionIdMarker ? { version: r.NextVersionIdMarker } : {}) };
  }
}

/** The retention of a committed snapshot (its commit object's), when the bucket locks objects. */
async function snapshotRetention(remote: S3Backend, name: string, version: string): Promise<Retention | undefined> {
  if (!(await remote.objectLockEnabled())) return undefined;
  const { version: v } = await remote.readCommit(name, version);
  const r = await remote.retentionOf(v.key, v.versionId);
  return r && r.until.getTime() > Date.now() ? r : undefined;
}

/**
 * Extend (never shorten) the lock of the objects a new snapshot shares with older ones: every
 * object its manifest and statement name that this push did not upload.
 */
async function lockSharedObjects(remote: S3Backend, files: Map<string, Uint8Array>, retain: Retention, uploaded: Set<string>): Promise<void> {
  const sizes = manifestSizes(files);
  const shared = [...objectsOf(files)].filter((h) => !uploaded.has(h));
  // Every version that can be the object's bytes (FORMAT.md §23.6): not only the current one.
  await mapLimit(shared, TRANSFER_JOBS, async (hex) => void (await remote.lockObject(hex, retain, sizes.get(hex))));
}

/** The entry of one manifest line: its digest and size, or undefined when it does not parse (fsck and verify report it). */
function manifestEntryOf(line: string): { sha256: string; size: number } | undefined {
  if (!line) return undefined;
  try {
    const e = JSON.parse(line) as { sha256?: unknown; size?: unknown };
    if (typeof e.sha256 === 'string' && /^[0-9a-f]{64}$/.test(e.sha256) && typeof e.size === 'number') return { sha256: e.sha256, size: e.size };
  } catch {
    /* below */
  }
  return undefined;
}

/** The manifest's file entries: digest → size in bytes (entries that do not parse are left to fsck). */
function manifestSizes(files: Map<string, Uint8Array>): Map<string, number> {
  const out = new Map<string, number>();
  const manifest = files.get('manifest.jsonl');
  if (!manifest) return out;
  for (const line of Buffer.from(manifest).toString('utf8').split('\n')) {
    const e = manifestEntryOf(line);
    if (e) out.set(e.sha256, e.size);
  }
  return out;
}

/**
 * The file entries of the manifest file at `path` (digest → size in bytes), read as it streams
 * (memory: the entries, never the file). Entries that do not parse, and whatever follows a line
 * longer than MAX_MANIFEST_LINE or a last line without its newline, are left to the command, which
 * checks the manifest itself; a missing file has none.
 * @throws SnapError `IO_ERROR`
 */
export async function manifestSizesOfFile(path: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  try {
    for await (const run of manifestLineRuns(path, { bytes: 0 })) {
      for (const line of run) {
        const e = manifestEntryOf(line);
        if (e) out.set(e.sha256, e.size);
      }
    }
  } catch (e) {
    if (!(e instanceof SnapError) || e.code === 'IO_ERROR') throw e;
  }
  return out;
}

/**
 * The object a manifest file's `snap.json` entry names (a regular file's digest), read as it streams
 * up to that entry; undefined when there is none, or the file is missing or does not parse there
 * (left to the command, which checks the manifest against its statement before using the entry).
 * Lines are sorted by the UTF-8 bytes of their path (docs/FORMAT.md §1): the read stops at the first
 * path after it.
 * @throws SnapError `IO_ERROR`
 */
export async function configObjectOfFile(path: string): Promise<string | undefined> {
  try {
    for await (const run of manifestLineRuns(path, { bytes: 0 })) {
      for (const line of run) {
        let e: { path?: unknown; sha256?: unknown };
        try {
          e = JSON.parse(line) as { path?: unknown; sha256?: unknown };
        } catch {
          return undefined;
        }
        if (typeof e.path !== 'string') return undefined;
        // 'snap.json' is ASCII: UTF-16 order against it is UTF-8 order.
        if (e.path > CONFIG_FILE) return undefined;
        if (e.path === CONFIG_FILE) return typeof e.sha256 === 'string' && /^[0-9a-f]{64}$/.test(e.sha256) ? e.sha256 : undefined;
      }
    }
  } catch (e) {
    if (!(e instanceof SnapError) || e.code === 'IO_ERROR') throw e;
  }
  return undefined;
}

/**
 * The objects the snapshot whose files are in the folder `dir` names (its manifest entries, read as
 * it streams, and its statement's record indexes).
 * @throws SnapError `IO_ERROR`
 */
export async function objectsOfSnapshotIn(dir: string): Promise<Set<string>> {
  return new Set((await objectSizesOfSnapshotIn(dir)).keys());
}

/**
 * The objects the snapshot whose files are in the folder `dir` names, each with its size in bytes as
 * its manifest gives it (undefined for a record object, whose size the statement does not give).
 * @throws SnapError `IO_ERROR`
 */
export async function objectSizesOfSnapshotIn(dir: string): Promise<Map<string, number | undefined>> {
  const out: Map<string, number | undefined> = await manifestSizesOfFile(join(dir, MANIFEST_FILE));
  const statement = await readSmallFile(join(dir, STATEMENT_FILE), MAX_STATEMENT_BYTES + 1, 'cannot read the statement', () => new SnapError('IO_ERROR', 'not a regular file')).catch((e: unknown) => {
    if (e instanceof SnapError && e.code === 'NOT_FOUND') return undefined;
    throw e;
  });
  for (const h of recordIndexesOf(statement, new Set())) if (!out.has(h)) out.set(h, undefined);
  return out;
}

/** The objects a snapshot names: its manifest entries' digests and its statement's record indexes. */
export function objectsOf(files: Map<string, Uint8Array>): Set<string> {
  return new Set(objectSizesOf(files).keys());
}

/**
 * The objects a snapshot names, with their sizes as its manifest lists them (0 for a record index,
 * whose size the statement does not give). The manifest is the signed one only once the command
 * checked it: these are what to fetch, and every fetched object is re-hashed against its name.
 */
export function objectSizesOf(files: Map<string, Uint8Array>): Map<string, number> {
  const out = manifestSizes(files);
  for (const h of recordIndexesOf(files.get(STATEMENT_FILE), new Set())) if (!out.has(h)) out.set(h, 0);
  return out;
}

/**
 * The record objects a snapshot's statement (its bytes) names — each set's index, index summary and
 * column-types object (docs/FORMAT.md §19.5, §19.10, §19.11) — with one more byte than each can have, added to `out` (which is
 * returned; a digest named twice keeps the larger): an index holds at most its signed `count` lines
 * of MAX_INDEX_LINE_BYTES, a summary MAX_INDEX_SUMMARY_BYTES, a column-types object MAX_SCHEMA_OBJECT_BYTES. A larger object in the bucket cannot
 * be the signed one, and no more of it is downloaded (a planted object of terabytes would fill the
 * disk). Lenient: a malformed statement is the command's to report.
 */
function recordObjectLimits(statement: Uint8Array | undefined, out: Map<string, number>): Map<string, number> {
  const put = (h: unknown, most: number) => {
    if (typeof h === 'string' && /^[0-9a-f]{64}$/.test(h)) out.set(h, Math.max(out.get(h) ?? 0, most + 1));
  };
  try {
    const records = statement ? (JSON.parse(Buffer.from(statement).toString('utf8')) as { predicate?: { records?: unknown } }).predicate?.records : undefined;
    if (!Array.isArray(records)) return out;
    for (const m of records as { count?: unknown; index?: { sha256?: unknown; summary?: unknown }; schema?: unknown }[]) {
      if (Number.isSafeInteger(m?.count) && (m.count as number) >= 0) put(m.index?.sha256, (m.count as number) * MAX_INDEX_LINE_BYTES);
      put(m?.index?.summary, MAX_INDEX_SUMMARY_BYTES);
      put(m?.schema, MAX_SCHEMA_OBJECT_BYTES);
    }
  } catch {
    /* the command reports a malformed statement */
  }
  return out;
}

/** The record objects (indexes and index summaries) a snapshot's statement (its bytes) names, added to `out` (which is returned). */
function recordIndexesOf(statement: Uint8Array | undefined, out: Set<string>): Set<string> {
  for (const h of recordObjectLimits(statement, new Map()).keys()) out.add(h);
  return out;
}

/** Re-exported for the CLI: a USAGE error for retention on a local store. */
export function retentionNeedsS3(): SnapError {
  return new SnapError('USAGE', '--retain needs an S3 store with Object Lock (--store s3://BUCKET/PREFIX); a local store cannot lock its files');
}
