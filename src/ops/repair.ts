/**
 * `fsck --repair-from SOURCE`: put back the corrupt, unreadable and missing objects of a store from
 * another copy of them — an archive (`FILE.snap.tar`) or another store.
 *
 * Objects are content-addressed, so a replacement is accepted on its digest alone: its bytes are
 * hashed as they are copied into `STORE/tmp`, flushed (fsync), and renamed over the damaged object
 * (or into its empty place) only when their SHA-256 is the object's name. The source's signature is
 * therefore not checked, and need not be trusted: a source can only supply the very bytes that were
 * sealed, or be refused. Snapshot files (statement, envelope, manifest) are never replaced: they are
 * what a signature covers, and repair is for the contents.
 *
 * Runs under the store's write lock: fsck first, then the repair, then the lock is released and
 * fsck runs again, so the report is of the repaired store.
 */
import { promises as fsp, constants as FS, lstatSync, realpathSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { SnapError, isSnapError } from '../core/errors.js';
import { ArchiveReader } from '../io/archive.js';
import { archiveRecordIndexes } from '../core/archive.js';
import { ioError } from '../io/errors.js';
import { checkInterrupted, interruptedError } from '../io/interrupt.js';
import { fsyncDir, lockStore, makeTmpDir, objectPath, openStore, ownFanFolder, type Store } from '../io/store.js';
import { fsck, fsckReportOf, type FsckLists, type FsckObjectSource, type FsckReport, type FsckSummary } from './fsck.js';
import type { Progress } from './seal.js';
import { writeAll } from '../io/write-all.js';
import { jsonCodec, SpillList } from '../io/spill-list.js';

/** Options of {@link repairStore}. */
export interface RepairOptions {
  /** The store to repair. */
  store: string;
  /** Where good copies come from: an archive file, or another store's folder. */
  from: string;
  /** Hashing workers for the two fsck passes (default: one per core). */
  jobs?: number;
  /** Progress of the fsck passes. */
  onProgress?: (p: Progress) => void;
  /** How long to wait for another writer (ms, default 60 s). */
  lockWaitMs?: number;
  /**
   * Where the objects are when the store folder does not hold them (an S3 store's working copy):
   * both fsck passes use it, and each checked copy goes back through its `installObject`.
   */
  objectSource?: FsckObjectSource;
}

/** What was wrong with an object before the repair. */
export type DamageKind = 'corrupt' | 'unreadable' | 'missing';

/** An object put back. */
export interface RepairedObject {
  /** Its digest (64 hex), which its new bytes hash to. */
  sha256: string;
  was: DamageKind;
  size: number;
}

/** An object the source could not give back. */
export interface UnrepairedObject {
  sha256: string;
  was: DamageKind;
  /**
   * `OBJECT_MISSING`: the source does not hold it · `OBJECT_CORRUPT`: its bytes there do not hash to
   * its name (or are longer than a snapshot names them) · `OBJECT_UNUSED`: no snapshot of the store
   * names it, so nothing needs it and no size bounds a copy: nothing of it was read from the source.
   */
  code: 'OBJECT_MISSING' | 'OBJECT_CORRUPT' | 'OBJECT_UNUSED';
  message: string;
  /** For `OBJECT_CORRUPT`: what the source's bytes hash to, and their length. */
  actual?: { sha256: string; size: number };
}

/** What the repair did. */
export interface RepairResult {
  /** The source, as an absolute path. */
  source: string;
  kind: 'archive' | 'store';
  repaired: RepairedObject[];
  unrepaired: UnrepairedObject[];
  /** Bytes written into the store. */
  bytes: number;
}

/** {@link repairStore}'s report: the store before, the repair, and the store after. */
export interface RepairReport {
  before: FsckReport;
  repair: RepairResult;
  after: FsckReport;
}

/** A repair under way: as {@link RepairResult}, the unrepaired objects added to a list of any length. */
type RepairWork = Omit<RepairResult, 'unrepaired'> & { unrepaired: { push(x: UnrepairedObject): unknown } };

/**
 * Damaged objects fetched from a source store in one go (a batch is held as two maps by digest):
 * each is read from its own file, so a batch need not be large.
 */
export const REPAIR_BATCH_FROM_STORE = 1000;

/**
 * Damaged objects fetched from an archive in one go: the archive is read once for each batch (up
 * to its end, or until the batch is all found), so a batch is large; its two maps by digest hold
 * about 200 bytes an object.
 */
export const REPAIR_BATCH_FROM_ARCHIVE = 100_000;

/** Where good copies come from. */
type Source = { kind: 'archive'; file: string } | { kind: 'store'; store: Store };

/**
 * Open the source: a folder is a store, a file an archive.
 * @throws SnapError `NOT_FOUND` | `STORE_MALFORMED` | `USAGE` (the store itself) | `IO_ERROR`
 */
async function openSource(from: string, store: Store): Promise<Source> {
  let st;
  try {
    st = await fsp.stat(from);
  } catch (e) {
    throw ioError(e, from, 'cannot open the repair source');
  }
  if (!st.isDirectory()) return { kind: 'archive', file: from };
  const src = await openStore(from);
  if (realpathSync(src.root) === realpathSync(store.root)) throw new SnapError('USAGE', `--repair-from ${from} is the store being repaired; name another copy (an archive, or another store)`, { path: from });
  return { kind: 'store', store: src };
}

/** Objects not repaired held in memory; past that, the rest wait in a temporary file ({@link SpillList}). */
const REPAIR_HELD = 1000;

/** Every damaged object of a fsck, by digest, what was wrong with it, and the largest size a good copy can have (fsck's `maxBytes`: none when no snapshot names it), in the order fsck lists them. */
function* damagedObjects(r: FsckSummary, lists: FsckLists): Generator<{ hex: string; was: DamageKind; maxBytes?: number }> {
  for (const c of lists.corrupt) yield { hex: c.name, was: 'corrupt', ...(c.maxBytes !== undefined ? { maxBytes: c.maxBytes } : {}) };
  for (const u of lists.unreadable) yield { hex: u.path.replace('/', ''), was: 'unreadable', ...(u.maxBytes !== undefined ? { maxBytes: u.maxBytes } : {}) };
  for (const m of lists.missing) yield { hex: m.sha256, was: 'missing', ...(m.maxBytes !== undefined ? { maxBytes: m.maxBytes } : {}) };
}

/** The repair's `unrepaired` entry of a damaged object no snapshot names (`OBJECT_UNUSED`: nothing of it is read from the source). */
function unusedObject(hex: string, was: DamageKind): UnrepairedObject {
  return { sha256: hex, was, code: 'OBJECT_UNUSED', message: `no snapshot of the store names it, so nothing needs it and no size bounds a copy: nothing of it was read from the source (remove objects/sha256/${hex.slice(0, 2)}/${hex.slice(2)} if no snapshot is to use it)` };
}

/**
 * Copy a candidate's bytes to a new file in `work`, hashing them on the way, and flush it; a
 * candidate longer than `maxBytes` is refused as soon as its bytes pass that size (a huge or sparse
 * file planted in the source must not fill the store's disk).
 * @returns the file when its SHA-256 is `hex`; otherwise (the file removed) what the bytes hash to
 *   (`sha256` empty when it was refused for its size: `size` is then the bytes read)
 */
async function stage(work: string, n: number, hex: string, chunks: AsyncIterable<Buffer>, maxBytes = Infinity): Promise<{ ok: true; path: string; size: number } | { ok: false; sha256: string; size: number; tooLarge?: true }> {
  const path = join(work, `obj-${n}`);
  const h = createHash('sha256');
  let size = 0;
  const fh = await fsp.open(path, 'wx', 0o444).catch((e) => {
    throw ioError(e, path, 'cannot write');
  });
  try {
    for await (const c of chunks) {
      checkInterrupted();
      if (size + c.length > maxBytes) {
        await fh.close();
        await fsp.rm(path, { force: true });
        return { ok: false, sha256: '', size: size + c.length, tooLarge: true };
      }
      h.update(c);
      size += c.length;
      await writeAll(fh, c);
    }
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await fsp.rm(path, { force: true });
    throw ioError(e, path, 'cannot write');
  }
  await fh.close();
  const sha256 = h.digest('hex');
  if (sha256 !== hex) {
    await fsp.rm(path, { force: true });
    return { ok: false, sha256, size };
  }
  return { ok: true, path, size };
}

/**
 * Put a checked copy in place of object `hex`: rename it over whatever is there (a corrupt object
 * is mode 0444, which does not stop a rename; a folder in its place is removed first), then flush
 * the folder. Nothing is written through a fan-out folder that is not a folder of the store's own
 * (a symbolic link planted in its place would have the object, and the mode a read-only fan-out
 * folder is given back, land on whatever folder it leads to).
 * @throws SnapError `STORE_MALFORMED` (the fan-out folder is a link, or not a folder) | `IO_ERROR` | `DISK_FULL`
 */
async function install(store: Store, staged: string, hex: string): Promise<void> {
  const final = objectPath(store, hex);
  const dir = await ownFanFolder(store, hex, 'repair writes nothing through it');
  try {
    const st = await fsp.lstat(final).catch(() => undefined);
    if (st?.isDirectory()) await fsp.rm(final, { recursive: true, force: true });
    try {
      await fsp.rename(staged, final);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EACCES' && code !== 'EPERM') throw e;
      // A fan-out folder made read-only: snap makes them 0755. Changed through a descriptor opened
      // without following a link, so only the store's own folder is.
      const fh = await fsp.open(dir, FS.O_RDONLY | (FS.O_DIRECTORY ?? 0) | (FS.O_NOFOLLOW ?? 0));
      try {
        await fh.chmod(0o755);
      } finally {
        await fh.close();
      }
      await fsp.rename(staged, final);
    }
  } catch (e) {
    if (isSnapError(e)) throw e;
    throw ioError(e, final, 'cannot put the repaired object in place');
  }
  await fsyncDir(dir);
}

/** True when nothing is at `path` (ENOENT or ENOTDIR), found without throwing; any other answer (an error included) is false. */
function isAbsent(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) === undefined;
  } catch {
    return false;
  }
}

/**
 * Fetch every wanted object from the source, check it and install it. An object no snapshot names
 * (no bound in `bounds`) is not read at all: nothing needs it, and nothing would bound its copy — a
 * huge or sparse file planted under its name in the source would fill the store's disk
 * (`OBJECT_UNUSED`).
 * @param wanted digests to put back (entries are removed as they are repaired)
 */
async function fetchObjects(store: Store, source: Source, wanted: Map<string, DamageKind>, bounds: ReadonlyMap<string, number>, result: RepairWork, objectSource?: FsckObjectSource): Promise<void> {
  for (const [hex, was] of wanted) {
    if (bounds.has(hex)) continue;
    wanted.delete(hex);
    result.unrepaired.push(unusedObject(hex, was));
  }
  if (wanted.size === 0) return;
  const work = await makeTmpDir(store, 'repair');
  let n = 0;
  /** Candidates refused so far (a later archive member may still be right). */
  const refused = new Map<string, { sha256: string; size: number; tooLarge?: true }>();
  const take = async (hex: string, chunks: AsyncIterable<Buffer>): Promise<void> => {
    const was = wanted.get(hex) as DamageKind;
    const r = await stage(work, n++, hex, chunks, bounds.get(hex));
    if (!r.ok) {
      refused.set(hex, { sha256: r.sha256, size: r.size, ...(r.tooLarge ? { tooLarge: r.tooLarge } : {}) });
      return;
    }
    if (objectSource?.installObject) {
      await objectSource.installObject(hex, r.path, r.size);
      await fsp.rm(r.path, { force: true });
    } else await install(store, r.path, hex);
    wanted.delete(hex);
    refused.delete(hex);
    result.repaired.push({ sha256: hex, was, size: r.size });
    result.bytes += r.size;
  };
  try {
    if (source.kind === 'store') {
      for (const hex of [...wanted.keys()]) {
        const path = objectPath(source.store, hex);
        // Most of a large repair's lookups can miss (a source that lacks the objects): a missing
        // name is found without an exception. A failed promise-based open costs about 40 µs, but
        // in a small heap (--max-old-space-size=32) tens of thousands of them made V8 mark the
        // whole heap every few milliseconds: 50,000 misses took 27 CPU-s against 1 s this way.
        // What the look says is only a hint: the open below still decides.
        if (isAbsent(path)) continue;
        let fh: fsp.FileHandle;
        try {
          fh = await fsp.open(path, FS.O_RDONLY | (FS.O_NOFOLLOW ?? 0) | (FS.O_NONBLOCK ?? 0));
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ENOENT' || code === 'ENOTDIR') continue; // not there: reported below
          if (code === 'ELOOP') {
            refused.set(hex, { sha256: '', size: 0 });
            continue;
          }
          throw ioError(e, path, 'cannot read the repair source');
        }
        try {
          const st = await fh.stat();
          if (!st.isFile()) refused.set(hex, { sha256: '', size: 0 });
          else await take(hex, fh.createReadStream({ start: 0, autoClose: false }) as AsyncIterable<Buffer>);
        } finally {
          await fh.close();
        }
      }
    } else {
      const reader = await ArchiveReader.open(source.file, work);
      try {
        // No key is needed (each object is checked by its digest), but the manifest member is
        // bounded by the archive's own statements before it is read: when neither
        // snap/statement.json nor the envelope's payload parses, nothing bounds it, and the
        // archive is refused.
        const { statement, manifest } = await reader.spoolDeclaredManifest();
        if (!manifest) {
          throw new SnapError('ARCHIVE_MALFORMED', `${source.file}: neither its statement nor its envelope's payload parses, so the length of its manifest cannot be bounded; it cannot be a repair source`, { path: source.file, reason: 'statement' });
        }
        // Record index members come first (FORMAT §10.1); which ones, the statement says (each copy
        // is checked by its digest anyway). Only a wanted one is read, straight into staging (at
        // most the size the store's snapshots name); the others are passed over, never spooled.
        for await (const x of reader.recordIndexMembers(archiveRecordIndexes(statement?.predicate.records))) {
          if (wanted.has(x.index.sha256)) await take(x.index.sha256, x.body);
        }
        if (wanted.size > 0) for await (const item of reader.items(manifest.path, { hash: false })) {
          checkInterrupted();
          if (item.kind !== 'file' || !wanted.has(item.entry.sha256)) continue; // skipped unread
          await take(item.entry.sha256, item.chunks());
          if (wanted.size === 0) break; // all found: the rest of the archive need not be read
        }
      } finally {
        await reader.close();
      }
    }
  } finally {
    await fsp.rm(work, { recursive: true, force: true }).catch(() => {});
  }
  for (const [hex, was] of wanted) {
    const bad = refused.get(hex);
    result.unrepaired.push(
      bad
        ? {
            sha256: hex, was, code: 'OBJECT_CORRUPT',
            message: bad.tooLarge
              ? `the source's copy of ${hex} is longer than the ${bounds.get(hex)} bytes the snapshots name: refused after ${bad.size} bytes`
              : bad.sha256
                ? `the source's copy of ${hex} hashes to ${bad.sha256}: refused`
                : `the source's ${hex} is not a regular file: refused`,
            ...(bad.sha256 ? { actual: { sha256: bad.sha256, size: bad.size } } : {}),
          }
        : { sha256: hex, was, code: 'OBJECT_MISSING', message: `the source does not hold ${hex}` },
    );
  }
}

/**
 * {@link repairListed}'s report: the store before, the repair and the store after, their long lists
 * read back as needed ({@link RepairListing.close} ends them).
 */
export interface RepairListing {
  before: { summary: FsckSummary; lists: FsckLists };
  /**
   * The repair; `unrepaired` (read again at will) lists first every damaged object no snapshot names
   * (`OBJECT_UNUSED`, in fsck's order), then those the source could not give back.
   */
  repair: Omit<RepairResult, 'unrepaired'> & { unrepaired: Iterable<UnrepairedObject>; unrepairedCount: number };
  after: { summary: FsckSummary; lists: FsckLists };
  close(): void;
}

/**
 * Repair a store from another copy (see the module comment): fsck, replace every corrupt,
 * unreadable or missing object that the source holds with the right bytes, fsck again.
 * An object the source lacks, or holds with other bytes, is left as it was and listed in
 * `repair.unrepaired`; the second fsck still reports it (`after.ok` false).
 * Memory does not grow with the damaged objects: those no snapshot names (each `OBJECT_UNUSED`) are
 * read back from the first fsck's lists (`fsck(…, 'listed')`), those it names are fetched a batch
 * at a time ({@link REPAIR_BATCH_FROM_STORE}, {@link REPAIR_BATCH_FROM_ARCHIVE}: an archive is read
 * once a batch), and those not repaired wait in a temporary file past the first {@link REPAIR_HELD}.
 * The objects put back (`repair.repaired`) are held, one small entry each.
 * @throws SnapError `NOT_FOUND` (no store, no source) | `STORE_MALFORMED` | `USAGE` (the source is the
 *   store itself) | `STORE_LOCKED` | `ARCHIVE_MALFORMED` / `ARCHIVE_HOSTILE` / `MANIFEST_*` (an archive
 *   that cannot be read; objects already put back stay, each was checked) | `DISK_FULL` | `IO_ERROR` |
 *   `INTERRUPTED` / `TERMINATED` (during the repair or the check after it: the message names the
 *   objects already put back, which stay, and `details.repaired` lists them, see {@link stoppedAfterRepairing})
 */
export async function repairListed(opts: RepairOptions): Promise<RepairListing> {
  const store = await openStore(opts.store);
  const from = resolve(opts.from);
  const source = await openSource(from, store);
  const unrepaired = new SpillList(jsonCodec<UnrepairedObject>(), REPAIR_HELD, 'the list of objects not repaired');
  const result: RepairWork = { source: from, kind: source.kind, repaired: [], unrepaired, bytes: 0 };
  let before: { summary: FsckSummary; lists: FsckLists } | undefined;
  try {
    const lock = await lockStore(store, opts.lockWaitMs);
    let unused = 0;
    try {
      const objects = opts.objectSource ? { objectSource: opts.objectSource } : {};
      before = await fsck({ store: store.root, jobs: opts.jobs, onProgress: opts.onProgress, ...objects }, 'listed');
      // Only objects a snapshot names are fetched (a size bounds their copy), a batch at a time, in
      // fsck's order; the others are counted here and listed from `before`.
      const batch = source.kind === 'store' ? REPAIR_BATCH_FROM_STORE : REPAIR_BATCH_FROM_ARCHIVE;
      const wanted = new Map<string, DamageKind>();
      const bounds = new Map<string, number>();
      const fetchWanted = async (): Promise<void> => {
        if (wanted.size > 0) await fetchObjects(store, source, wanted, bounds, result, opts.objectSource);
        wanted.clear();
        bounds.clear();
      };
      for (const o of damagedObjects(before.summary, before.lists)) {
        if (o.maxBytes === undefined) unused++;
        else {
          wanted.set(o.hex, o.was);
          bounds.set(o.hex, o.maxBytes);
          if (wanted.size >= batch) await fetchWanted();
        }
      }
      await fetchWanted();
    } finally {
      await lock.release();
    }
    const after = result.repaired.length > 0 ? await fsck({ store: store.root, jobs: opts.jobs, onProgress: opts.onProgress, ...(opts.objectSource ? { objectSource: opts.objectSource } : {}) }, 'listed') : before;
    const first = before;
    const { unrepaired: _list, ...rest } = result;
    return {
      before: first,
      repair: {
        ...rest,
        unrepaired: {
          *[Symbol.iterator]() {
            for (const o of damagedObjects(first.summary, first.lists)) if (o.maxBytes === undefined) yield unusedObject(o.hex, o.was);
            yield* unrepaired;
          },
        },
        unrepairedCount: unused + unrepaired.length,
      },
      after,
      close: () => {
        first.lists.close();
        after.lists.close();
        unrepaired.close();
      },
    };
  } catch (e) {
    before?.lists.close();
    unrepaired.close();
    if (isSnapError(e) && (e.code === 'INTERRUPTED' || e.code === 'TERMINATED') && result.repaired.length > 0) throw stoppedAfterRepairing(e.code, result.repaired);
    throw e;
  }
}

/**
 * {@link repairListed} with every list read in full: the before and after reports whole, every
 * unrepaired object in `repair.unrepaired`. Throws as repairListed.
 */
export async function repairStore(opts: RepairOptions): Promise<RepairReport> {
  const r = await repairListed(opts);
  try {
    const { source, kind, repaired, unrepaired, bytes } = r.repair;
    const before = fsckReportOf(r.before.summary, r.before.lists);
    return { before, repair: { source, kind, repaired, unrepaired: [...unrepaired], bytes }, after: r.after === r.before ? before : fsckReportOf(r.after.summary, r.after.lists) };
  } finally {
    r.close();
  }
}

/** How many digests the message of {@link stoppedAfterRepairing} names (`details.repaired` lists up to {@link MAX_LISTED_REPAIRED}). */
const NAMED_REPAIRED = 20;
/** How many digests `details.repaired` of {@link stoppedAfterRepairing} lists (64 hex each: at most about 650 KiB of JSON). */
const MAX_LISTED_REPAIRED = 10_000;

/**
 * The error of a repair stopped by a signal once it had put objects back: the interruption's own
 * code and message (exit 130 / 143), followed by how many objects were put back and the first
 * {@link NAMED_REPAIRED} digests; `details.repaired` lists the first {@link MAX_LISTED_REPAIRED}
 * and `details.repairedCount` counts them all. They stay put back (each hashed to its name before
 * it was renamed into place), and a re-run of fsck checks them.
 */
function stoppedAfterRepairing(code: 'INTERRUPTED' | 'TERMINATED', repaired: readonly RepairedObject[]): SnapError {
  const base = interruptedError(code === 'TERMINATED' ? 'SIGTERM' : 'SIGINT');
  const n = repaired.length;
  const named = repaired.slice(0, NAMED_REPAIRED).map((r) => r.sha256).join(', ') + (n > NAMED_REPAIRED ? `, and ${n - NAMED_REPAIRED} more` : '');
  const what = n === 1 ? '1 object was put back before it (each checked against its digest; it stays)' : `${n} objects were put back before it (each checked against its digest; they stay)`;
  return new SnapError(code, `${base.message}; ${what}: ${named}; run snap fsck to check the store`, {
    ...base.details,
    repairedCount: n,
    repaired: repaired.slice(0, MAX_LISTED_REPAIRED).map((r) => ({ sha256: r.sha256, was: r.was, size: r.size })),
  });
}
