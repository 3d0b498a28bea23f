/**
 * How a command uses a remote store (docs/FORMAT.md §23.5): the commands work on the local store
 * layout, so for `--store s3://…` the command runs on a private working copy of the store,
 * filled from the remote backend before it runs and whose new content goes back after it:
 *
 * 1. take the remote store's write lock (held until the end);
 * 2. pull: every committed snapshot's files, the audit log, the other files; the objects only when
 *    the command reads them (all for fsck, export, restore, prove; the record indexes named by the
 *    statements for verify, diff, check, show). Every object read is re-hashed: one that does not
 *    hash to its name is kept as read (so that fsck, restore and export report it with their own
 *    verdicts) and said on stderr;
 * 3. run the command on the working copy;
 * 4. push what it added, in this order: objects (absent ones only, in parallel), snapshots (each
 *    committed last, by its commit object), the other files it changed, the audit log lines it
 *    appended; retention for a `seal --retain`;
 * 5. release the lock, remove the working copy.
 *
 * An interrupted command leaves uploaded objects and possibly staged snapshot files, never a
 * commit object: no snapshot. Its rerun finds those objects listed and uploads none of them again.
 */
import { promises as fsp, createReadStream, createWriteStream, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import { SnapError } from '../core/errors.js';
import { openStore, objectPath, writeFileAtomic, type Store } from '../io/store.js';
import { LOG_FILE, LOG_HEAD_FILE } from '../io/audit-log.js';
import { leaveNothing } from '../io/interrupt.js';
import { setObjectSink, type ObjectSink } from '../io/object-sink.js';
import { LocalBackend } from './local.js';
import type { Retention, SnapshotFiles, StoreBackend } from './backend.js';
import { mapLimit, wrongSize, type S3Backend } from './s3.js';

/** Which objects a command reads from the store. */
export type ObjectNeed = 'none' | 'record-indexes' | 'all';

/** Uploads and downloads in flight at once (each streams a file: memory stays bounded). */
export const TRANSFER_JOBS = 8;

/** What the session did, for the caller's notes and for tests. */
export interface SessionStats {
  objectsPulled: number;
  objectsCorrupt: string[];
  objectsUploaded: number;
  snapshotsCommitted: string[];
  logLinesPushed: number;
  /** Batches of objects a seal handed over while it ran (uploaded then), and the largest one's bytes. */
  handOvers: number;
  largestHandOver: number;
  /** Later commits of a NAME@VERSION that were ignored (first version wins). */
  ignoredCommits: string[];
}

/** An open remote store: a working copy at `root`, pushed back by {@link RemoteSession.finish}. */
export interface RemoteSession {
  /** The working copy's store root (a local store). */
  root: string;
  remote: S3Backend;
  stats: SessionStats;
  /** Whether opening made the remote store. */
  created: boolean;
  /** Push (when `push`), release the lock, remove the working copy. Push errors are thrown. */
  finish(push: boolean): Promise<void>;
}

/** Options of {@link openRemoteSession}. */
export interface RemoteSessionOptions {
  create: boolean;
  objects: ObjectNeed;
  /** Lock every object and file of each snapshot this command commits, and its log lines. */
  retain?: Retention;
  /**
   * The command stores objects (seal): every object the remote store holds is marked present in the
   * working copy (an empty file under its name), so that the command's own "is it in the store?"
   * (the hashing workers', the incremental seal's) is answered by the remote store. A marked object
   * is never staged, uploaded or read; nothing else runs on a seal's working copy.
   */
  presence?: boolean;
  /**
   * With `presence`: the bytes of new objects a seal stages in the working copy before they are
   * uploaded and dropped there ({@link STAGE_BYTES} unless given; the CLI takes $SNAP_S3_STAGE_BYTES).
   */
  stageBytes?: number;
  /** Where notes go (objects that failed their re-hash, ignored commits). */
  note: (text: string) => void;
  lockWaitMs?: number;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** 64-hex strings anywhere in a JSON value (the record index digests of a statement's predicate). */
function digestsIn(v: unknown, out: Set<string>): void {
  if (typeof v === 'string') {
    const m = /^(?:sha256:)?([0-9a-f]{64})$/.exec(v);
    if (m) out.add(m[1] as string);
  } else if (Array.isArray(v)) for (const x of v) digestsIn(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) digestsIn(x, out);
}

/**
 * Open `remote` for one command.
 * @throws SnapError from the backend (`NOT_FOUND`, `STORE_LOCKED`, `IO_ERROR`, …)
 */
export async function openRemoteSession(remote: S3Backend, opts: RemoteSessionOptions): Promise<RemoteSession> {
  const created = await remote.open(opts.create);
  const lock = await remote.lock(opts.lockWaitMs);
  const work = await fsp.mkdtemp(join(tmpdir(), 'snap-s3-'));
  const forget = leaveNothing(() => rmSync(work, { recursive: true, force: true }));
  const stats: SessionStats = { objectsPulled: 0, objectsCorrupt: [], objectsUploaded: 0, snapshotsCommitted: [], logLinesPushed: 0, handOvers: 0, largestHandOver: 0, ignoredCommits: [] };
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
    if (opts.presence) setObjectSink(root, uploadAsSealed(remote, store, state, opts, stats));
    let finished = false;
    return {
      root,
      remote,
      stats,
      created,
      async finish(push: boolean) {
        if (finished) return;
        finished = true;
        try {
          if (push) await pushBack(local, store, remote, state, opts.retain, stats);
        } finally {
          await cleanup();
        }
      },
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** What the remote held when pulled (what a push compares with). */
interface PulledState {
  snapshots: Set<string>;
  /** The remote objects (digest → size in bytes, as listed). */
  objects: Map<string, number>;
  /** Objects a seal handed over and this session uploaded while it ran (now markers in the working copy). */
  handedOver: Set<string>;
  logLines: number;
  files: Map<string, string>;
}

async function pull(remote: S3Backend, local: LocalBackend, store: Store, opts: RemoteSessionOptions, stats: SessionStats): Promise<PulledState> {
  const state: PulledState = { snapshots: new Set(), objects: new Map(), handedOver: new Set(), logLines: 0, files: new Map() };
  const wanted = new Set<string>();
  const snaps = await remote.listSnapshots();
  await mapLimit(snaps, TRANSFER_JOBS, async (s) => {
    const ref = `${s.name}@${s.version}`;
    state.snapshots.add(ref);
    if (s.ignored?.length) {
      stats.ignoredCommits.push(`${ref} (${s.ignored.length})`);
      opts.note(`${ref}: ${s.ignored.length} later commit(s) of this NAME@VERSION ignored (the first one is the snapshot; FORMAT.md §23.3)`);
    }
    const files = await remote.readSnapshot(s.name, s.version);
    if (opts.objects === 'record-indexes') {
      const st = files.get('statement.json');
      try {
        if (st) digestsIn((JSON.parse(Buffer.from(st).toString('utf8')) as { predicate?: { records?: unknown } }).predicate?.records, wanted);
      } catch {
        /* verify reports a malformed statement */
      }
    }
    await local.commitSnapshot(s.name, s.version, files);
  });
  for await (const o of remote.listObjectSizes()) state.objects.set(o.hex, o.size);
  if (opts.presence) await markPresent(store, state.objects.keys());
  const need = opts.objects === 'all' ? [...state.objects.keys()] : opts.objects === 'record-indexes' ? [...wanted].filter((h) => state.objects.has(h)) : [];
  await mapLimit(need, TRANSFER_JOBS, async (hex) => {
    if (!(await pullObject(remote, store, hex))) {
      stats.objectsCorrupt.push(hex);
      opts.note(`object ${hex} in ${remote.location} does not hash to its name (kept as read, for fsck to report)`);
    }
    stats.objectsPulled++;
  });
  const log = await remote.readLog();
  state.logLines = log.lines.length;
  if (log.lines.length) await writeFileAtomic(join(store.root, LOG_FILE), Buffer.concat(log.lines), { mode: 0o644 });
  if (log.head) await writeFileAtomic(join(store.root, LOG_HEAD_FILE), log.head, { mode: 0o644 });
  for (const path of await remote.listFiles()) {
    const bytes = await remote.readFile(path);
    state.files.set(path, sha(bytes));
    await local.writeFile(path, bytes);
  }
  return state;
}

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
      await mapLimit(hexes, TRANSFER_JOBS, async (hex) => {
        const path = objectPath(store, hex);
        const size = await checkedSize(path, hex);
        bytes += size;
        if ((await remote.putObject(hex, () => createReadStream(path) as Readable, size, opts.retain)) === 'stored') stats.objectsUploaded++;
        state.handedOver.add(hex);
        const mark = join(store.tmpDir, `marker-${hex}`);
        await fsp.writeFile(mark, '', { flag: 'wx', mode: 0o444 });
        await fsp.rename(mark, path);
      });
      stats.handOvers++;
      stats.largestHandOver = Math.max(stats.largestHandOver, bytes);
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
 * Download one object into the working copy, hashing it as it comes.
 * @returns whether its bytes hash to its name (they are kept either way)
 */
async function pullObject(remote: S3Backend, store: Store, hex: string): Promise<boolean> {
  const path = objectPath(store, hex);
  await fsp.mkdir(dirname(path), { recursive: true });
  const h = createHash('sha256');
  const hashing = new Transform({
    transform(c: Buffer, _e, cb) {
      h.update(c);
      cb(null, c);
    },
  });
  await pipeline(await remote.getRaw(hex), hashing, createWriteStream(path, { mode: 0o444 }));
  return h.digest('hex') === hex;
}

async function pushBack(local: LocalBackend, store: Store, remote: S3Backend, state: PulledState, retain: Retention | undefined, stats: SessionStats): Promise<void> {
  const added = (await local.listSnapshots()).filter((s) => !state.snapshots.has(`${s.name}@${s.version}`));
  const addedFiles = new Map<string, SnapshotFiles>();
  for (const s of added) addedFiles.set(`${s.name}@${s.version}`, await local.readSnapshot(s.name, s.version));
  // 0. A new snapshot must not count on an object the remote holds with another size than its
  //    content's (written there by someone else: it cannot hash to its name). Nothing goes up.
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
  await mapLimit(fresh, TRANSFER_JOBS, async (hex) => {
    const path = objectPath(store, hex);
    const size = await checkedSize(path, hex);
    if ((await remote.putObject(hex, () => createReadStream(path) as Readable, size, retain)) === 'stored') stats.objectsUploaded++;
  });
  // 2. Snapshots, each committed last by its commit object.
  for (const s of added) {
    const ref = `${s.name}@${s.version}`;
    const files = addedFiles.get(ref) as SnapshotFiles;
    if (retain) await lockSharedObjects(remote, files, retain, new Set([...fresh, ...state.handedOver]));
    await remote.commitSnapshot(s.name, s.version, files, retain);
    stats.snapshotsCommitted.push(ref);
  }
  // 3. Other files this command wrote or changed.
  for (const path of await local.listFiles()) {
    const bytes = await local.readFile(path);
    if (state.files.get(path) !== sha(bytes)) await remote.writeFile(path, bytes);
  }
  // 4. The audit log lines it appended.
  const log = await local.readLog();
  if (log.lines.length > state.logLines && log.head) {
    const lines = log.lines.slice(state.logLines);
    await remote.appendLog(lines, log.head, retain);
    stats.logLinesPushed += lines.length;
  }
}

/**
 * Extend (never shorten) the lock of the objects a new snapshot shares with older ones: every
 * object its manifest and statement name that this push did not upload.
 */
async function lockSharedObjects(remote: S3Backend, files: Map<string, Uint8Array>, retain: Retention, uploaded: Set<string>): Promise<void> {
  const named = objectsOf(files);
  const shared = [...named].filter((h) => !uploaded.has(h));
  await mapLimit(shared, TRANSFER_JOBS, async (hex) => {
    if (await remote.hasObject(hex)) await remote.extendRetention(remote.objectKey(hex), retain);
  });
}

/** The manifest's file entries: digest → size in bytes (entries that do not parse are left to fsck). */
function manifestSizes(files: Map<string, Uint8Array>): Map<string, number> {
  const out = new Map<string, number>();
  const manifest = files.get('manifest.jsonl');
  if (!manifest) return out;
  for (const line of Buffer.from(manifest).toString('utf8').split('\n')) {
    if (!line) continue;
    try {
      const e = JSON.parse(line) as { sha256?: unknown; size?: unknown };
      if (typeof e.sha256 === 'string' && /^[0-9a-f]{64}$/.test(e.sha256) && typeof e.size === 'number') out.set(e.sha256, e.size);
    } catch {
      /* fsck reports a malformed manifest */
    }
  }
  return out;
}

/** The objects a snapshot names: its manifest entries' digests and its statement's record indexes. */
export function objectsOf(files: Map<string, Uint8Array>): Set<string> {
  const out = new Set<string>();
  const manifest = files.get('manifest.jsonl');
  if (manifest) {
    for (const line of Buffer.from(manifest).toString('utf8').split('\n')) {
      if (!line) continue;
      try {
        const e = JSON.parse(line) as { sha256?: unknown };
        if (typeof e.sha256 === 'string' && /^[0-9a-f]{64}$/.test(e.sha256)) out.add(e.sha256);
      } catch {
        /* fsck reports a malformed manifest */
      }
    }
  }
  const st = files.get('statement.json');
  try {
    if (st) digestsIn((JSON.parse(Buffer.from(st).toString('utf8')) as { predicate?: { records?: unknown } }).predicate?.records, out);
  } catch {
    /* idem */
  }
  return out;
}

/** Re-exported for the CLI: a USAGE error for retention on a local store. */
export function retentionNeedsS3(): SnapError {
  return new SnapError('USAGE', '--retain needs an S3 store with Object Lock (--store s3://BUCKET/PREFIX); a local store cannot lock its files');
}
