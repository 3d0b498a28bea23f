/**
 * `fsck`: check a store's internal consistency (SPEC §7). Every object is re-hashed and must hash
 * to its name; every snapshot's envelope and statement must parse and agree, its manifest must
 * match the statement's digest, Merkle root and counts, and every file it lists must be present as
 * an object (unless it was sealed `--manifest-only`).
 *
 * fsck needs no keys and says nothing about trust: a store rewritten wholesale by someone holding
 * a key is consistent. Trust is `verify --pubkey`'s job.
 */
import { promises as fsp, existsSync, readdirSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { SnapError, isSnapError } from '../core/errors.js';
import { decodeNameBytes, encodeNameBytes, hasRawBytes, rawBytesHex } from '../core/name-bytes.js';
import { parseEnvelope } from '../core/envelope.js';
import { MAX_STATEMENT_BYTES, parseStatement, snapshotId, type Statement } from '../core/statement.js';
import { bytesEqual, fromBase64 } from '../core/encoding.js';
import { NAME_RE, VERSION_RE } from '../core/refs.js';
import { isSymlinkEntry } from '../core/manifest.js';
import { HashPool, BatchSizer, type CheckReply } from '../io/hash-pool.js';
import { manifestEntryRuns, type ManifestDigest } from '../io/manifest-file.js';
import { MAX_INDEX_LINE_BYTES, MAX_INDEX_SUMMARY_BYTES, MAX_SCHEMA_OBJECT_BYTES, recordSetName } from '../core/records.js';
import { openStore, objectPath, snapshotKeepsObjectsSync, CONTENTS_FILE, ENVELOPE_FILE, MANIFEST_FILE, STATEMENT_FILE, type Store } from '../io/store.js';
import { logRows } from '../io/audit-log.js';
import { ioError } from '../io/errors.js';
import { readSmallFileSync } from '../io/small-file.js';
import { MAX_ENVELOPE_BYTES } from '../core/envelope.js';
import { checkInterrupted } from '../io/interrupt.js';
import { findLeftovers, SNAPSHOT_PARTIAL_WRITE_RE, type CleanResult, type Leftover } from '../io/leftovers.js';
import { jsonCodec, SpillList, type SpillCodec } from '../io/spill-list.js';
import { SpilledGroups, type GroupCodec } from '../io/spill-groups.js';
import { DigestSet } from '../core/digest-set.js';
import { FAN_RE, REST_RE, SNAPSHOT_FILES } from '../io/store-layout.js';
import type { Progress } from './seal.js';

/** Options of {@link fsck}. */
export interface FsckOptions {
  /** The store folder. */
  store: string;
  /** Hashing workers (default: one per core). */
  jobs?: number;
  /**
   * Called as objects are re-hashed. When given, fsck first lists the objects with their sizes so
   * that progress has totals (one lstat per object).
   */
  onProgress?: (p: Progress) => void;
  /**
   * Where the objects are when the store folder does not hold them (an S3 store's working copy,
   * docs/FORMAT.md §23.5): fsck asks it to re-hash every object instead of reading
   * `objects/sha256`, and takes an object as present when `present` has it.
   */
  objectSource?: FsckObjectSource;
}

/** Objects checked elsewhere than in the store folder (see {@link FsckOptions.objectSource}). */
export interface FsckObjectSource {
  /** Re-hash every object; `present` holds every digest the store lists (corrupt ones too). */
  checkObjects(onProgress?: (p: Progress) => void): Promise<{ objects: FsckReport['objects']; present: Set<string>; strays?: string[] }>;
  /**
   * For `--repair-from`: put the checked copy at `path` (its bytes hash to `hex`) in place of the
   * damaged or missing object. Without it, the source cannot be repaired.
   */
  installObject?(hex: string, path: string, size: number): Promise<void>;
  /** What stopped commands left there (reported with the store folder's own leftovers). */
  leftovers?(): Promise<Leftover[]>;
  /** `--clean`: remove those leftovers (instead of the store folder's). */
  clean?(): Promise<CleanResult>;
}

/** An object whose bytes do not hash to its name. */
export interface CorruptObject {
  /** Path under `objects/sha256`, `xx/<62 hex>`. */
  path: string;
  /** The digest its name claims (64 hex). */
  name: string;
  /** The digest of its bytes now, and their length. */
  sha256: string;
  size: number;
  /** Snapshot files whose content it was meant to be (at most {@link USED_BY_MAX}). */
  usedBy: ObjectUser[];
  /**
   * The largest size in bytes a good copy can have, when a snapshot names the object: the size the
   * manifests list for it, for a record index its signed record count × MAX_INDEX_LINE_BYTES, for
   * an index summary MAX_INDEX_SUMMARY_BYTES (`fsck --repair-from` reads no more of a candidate copy than this).
   */
  maxBytes?: number;
  /** How many snapshot files use it in all (`usedBy` lists the first {@link USED_BY_MAX}). */
  users: number;
}

/** A snapshot file that uses an object: `NAME@VERSION` and its path in the manifest. */
export interface ObjectUser {
  ref: string;
  path: string;
}

/** At most this many users are listed per corrupt or missing object (the rest are counted). */
export const USED_BY_MAX = 1000;

/** An object fsck could not read (permissions, I/O error, not a regular file). */
export interface UnreadableObject {
  path: string;
  reason: string;
  /** As {@link CorruptObject.maxBytes}: the largest size a good copy can have, when a snapshot names the object. */
  maxBytes?: number;
}

/** Kinds of problem with one snapshot. */
export type SnapshotProblemKind =
  | 'missing-file' // statement.json, envelope.json or manifest.jsonl is absent
  | 'unreadable' // one of them cannot be read
  | 'envelope' // envelope.json does not parse as a DSSE envelope of an in-toto payload
  | 'unsigned' // the envelope has no signature
  | 'statement' // the statement does not parse or is invalid (SPEC §4)
  | 'statement-mismatch' // statement.json differs from the envelope's payload
  | 'name-mismatch' // the statement names another NAME@VERSION than its folder
  | 'manifest' // manifest.jsonl is malformed (SPEC §2)
  | 'manifest-mismatch' // manifest.jsonl does not match the statement's digest, root or counts
  | 'missing-objects' // files it lists have no object in the store
  | 'contents-mismatch'; // contents.json says no objects are kept, the audit log's seal (or import) line says they were

/** One problem with a snapshot; `code` is the SnapError code behind it, when there is one. */
export interface SnapshotProblem {
  kind: SnapshotProblemKind;
  message: string;
  code?: string;
  file?: string;
  /** manifest-mismatch: which of manifestSha256, merkleRoot, fileCount, totalBytes differ. */
  fields?: string[];
  /** missing-objects: how many files lack their object. */
  count?: number;
}

/** The check of one snapshot folder. */
export interface SnapshotFsck {
  /** `NAME@VERSION` (from the folder). */
  ref: string;
  /** Snapshot id (`sha256:` + SHA-256 of statement.json, else of the payload), when readable. */
  snapshot?: string;
  ok: boolean;
  /** False for a `--manifest-only` snapshot: its absent objects are expected. */
  keepsObjects: boolean;
  /** Manifest entries read. */
  entries: number;
  problems: SnapshotProblem[];
}

/**
 * An object that snapshots list but the store does not hold: reported once, however many
 * snapshot files use it.
 */
export interface MissingObject {
  /** The digest (64 hex). */
  sha256: string;
  /** Where it belongs under `objects/sha256`, `xx/<62 hex>`. */
  path: string;
  /** Snapshot files whose content it is (at most {@link USED_BY_MAX}). */
  usedBy: ObjectUser[];
  /** How many snapshot files use it in all. */
  users: number;
  /** As {@link CorruptObject.maxBytes}. */
  maxBytes?: number;
}

/** The fsck report. `ok` is true only when nothing is corrupt, unreadable, missing or inconsistent. */
export interface FsckReport {
  ok: boolean;
  store: string;
  objects: { checked: number; bytes: number; corrupt: CorruptObject[]; unreadable: UnreadableObject[] };
  snapshots: SnapshotFsck[];
  missingObjects: MissingObject[];
  /**
   * Files and folders snap did not write (paths relative to the store); reported, not failures. A
   * name that is not UTF-8 is decoded without loss (`decodeNameBytes`: each such byte U+DC80–U+DCFF,
   * docs/FORMAT.md §12).
   */
  strays: string[];
  /**
   * The strays whose names are not UTF-8, in the order of `strays`, each with its exact bytes;
   * absent when there are none (see {@link straysNotUtf8}).
   */
  straysNotUtf8?: StrayNotUtf8[];
  /**
   * What stopped or killed commands left (stale locks, files in `tmp`, …): warnings, not failures
   * (see `io/leftovers.ts`).
   */
  leftovers: Leftover[];
  /** The command that removes the removable leftovers, when there are some. */
  clean?: string;
  counts: {
    objects: number; bytes: number; corrupt: number; unreadable: number; snapshots: number; badSnapshots: number;
    /** Distinct missing objects (not the files that use them). */
    missingObjects: number;
    strays: number; leftovers: number;
  };
  seconds: number;
}

/** A stray whose name is not UTF-8: its path as `strays` gives it (decoded without loss) and the hex of its exact bytes (docs/FORMAT.md §12). */
export interface StrayNotUtf8 {
  path: string;
  /** The path's bytes, lowercase hex. */
  pathHex: string;
}

/** The strays among `strays` whose names are not UTF-8, in their order, each with its bytes (as `nameDetails` gives a dataset file's). */
export function* straysNotUtf8(strays: Iterable<string>): Generator<StrayNotUtf8> {
  for (const path of strays) {
    const pathHex = rawBytesHex(path);
    if (pathHex !== undefined) yield { path, pathHex };
  }
}

/** Where fsck puts the strays it finds: an array, or a {@link SpillList}. */
export interface StrayList {
  push(...paths: string[]): unknown;
}

// The layout's names (io/store-layout.ts): one place, shared with the dataset walk.
export { FAN_RE, REST_RE };
const WINDOW_PER_WORKER = 4;

/**
 * How fsck reads a folder's names: each byte as one character (`latin1`), so that no name loses a
 * byte on the way (Node's default, UTF-8, reads every byte that is not UTF-8 as U+FFFD: two
 * strays would read alike, and neither could be reached again). {@link namedEntry} decodes them.
 */
const NAME_ENCODING = 'latin1';

/** A name read byte for byte ({@link NAME_ENCODING}) that is plain ASCII: it is its own decoding. */
const ASCII_NAME = /^[\x00-\x7f]*$/;

/** A folder entry read with {@link NAME_ENCODING}, its name decoded without loss (`decodeNameBytes`, PEP 383; a name that is not UTF-8 holds U+DC80–U+DCFF). */
function namedEntry(e: Dirent): Dirent {
  if (!ASCII_NAME.test(e.name)) e.name = decodeNameBytes(Buffer.from(e.name, NAME_ENCODING));
  return e;
}

/**
 * `parent/name…` on disk, for names decoded without loss: as bytes (`encodeNameBytes`) when one
 * holds bytes that are not UTF-8, which a string path would write as U+FFFD (another file).
 */
export function onDisk(parent: string, ...names: string[]): string | Buffer {
  if (!names.some(hasRawBytes)) return join(parent, ...names);
  return Buffer.concat([Buffer.from(parent), ...names.flatMap((n) => [Buffer.from('/'), encodeNameBytes(n)])]);
}

/**
 * A folder's entries, sorted by name, each name decoded without loss. Synchronous: fsck lists the
 * folder of every snapshot, and each listing through the thread pool was a round trip.
 * @throws SnapError `IO_ERROR` ("cannot list `what`")
 */
function readdirOrThrow(path: string, what: string): Dirent[] {
  try {
    return readdirSync(path, { withFileTypes: true, encoding: NAME_ENCODING }).map(namedEntry).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (e) {
    throw ioError(e, path, `cannot list ${what}`);
  }
}

/**
 * The entries of a folder, read a few at a time (`opendir`): none of them is held here, however
 * many the folder has. Each name is decoded without loss (a name that is not UTF-8 holds
 * U+DC80–U+DCFF, `decodeNameBytes`); {@link onDisk} reaches such an entry again.
 * @throws SnapError `IO_ERROR` (as fsck: "cannot list the objects")
 */
export async function* entriesOf(path: string): AsyncGenerator<Dirent> {
  try {
    for await (const e of await fsp.opendir(path, { bufferSize: DIR_BATCH, encoding: NAME_ENCODING })) yield namedEntry(e);
  } catch (e) {
    throw ioError(e, path, 'cannot list the objects');
  }
}

/** Bytes of an object's name in its fan-out folder packed as binary (62 hex: 31 bytes). */
export const NAME_BYTES = 31;

/** Entries `opendir` reads from a folder at a time. */
const DIR_BATCH = 256;

/** Names a fan-out folder's packed list has room for at first (it doubles as needed). */
const FIRST_NAMES = 1024;

/**
 * The object names of one fan-out folder (62 hex, {@link REST_RE}; other entries are strays, handed
 * to `other` if given, else passed over), sorted, packed {@link NAME_BYTES} bytes a name: a folder
 * may hold any number of them (whoever can write the store can plant a million in one), and a
 * string a name would be several times that.
 * @returns the packed names, sorted (lowercase hex sorts as its bytes), and how many
 * @throws SnapError `IO_ERROR` (the folder cannot be listed)
 */
export async function packedNamesOf(store: Store, fan: string, other?: (name: string) => void): Promise<{ names: Buffer; count: number }> {
  let names = Buffer.allocUnsafe(FIRST_NAMES * NAME_BYTES);
  let count = 0;
  for await (const e of entriesOf(join(store.objectsDir, fan))) {
    if (!REST_RE.test(e.name)) {
      other?.(e.name);
      continue;
    }
    if ((count + 1) * NAME_BYTES > names.length) {
      const larger = Buffer.allocUnsafe(names.length * 2);
      names.copy(larger, 0, 0, count * NAME_BYTES);
      names = larger;
    }
    names.write(e.name, count * NAME_BYTES, NAME_BYTES, 'hex');
    count++;
  }
  const order = new Uint32Array(count).map((_, i) => i);
  order.sort((a, b) => names.compare(names, b * NAME_BYTES, (b + 1) * NAME_BYTES, a * NAME_BYTES, (a + 1) * NAME_BYTES));
  const sorted = Buffer.allocUnsafe(count * NAME_BYTES);
  order.forEach((i, k) => names.copy(sorted, k * NAME_BYTES, i * NAME_BYTES, (i + 1) * NAME_BYTES));
  return { names: sorted, count };
}

/**
 * The object files of one fan-out folder, packed ({@link packedNamesOf}); everything else there is a
 * stray, added to `strays` in name order. Read a name with {@link relAt}.
 * @throws SnapError `IO_ERROR` (the folder cannot be listed)
 */
export async function listFan(store: Store, fan: string, strays: StrayList): Promise<{ names: Buffer; count: number }> {
  const others: string[] = [];
  const packed = await packedNamesOf(store, fan, (n) => others.push(n));
  for (const n of others.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) strays.push(`objects/sha256/${fan}/${n}`);
  return packed;
}

/** The `k`-th object of a fan-out folder's packed names, as `xx/<62 hex>`. */
function relAt(fan: string, names: Buffer, k: number): string {
  return `${fan}/${names.toString('hex', k * NAME_BYTES, (k + 1) * NAME_BYTES)}`;
}

/**
 * True for a folder, or a symbolic link to one: every other command reads through such a link
 * (`export`, `restore`, `list`, `show`, …), so fsck checks what is behind it — were it skipped as a
 * stray, a corrupt object or a rewritten manifest behind a planted link would pass unseen.
 */
export async function isFolder(e: Dirent, parent: string): Promise<boolean> {
  if (e.isDirectory()) return true;
  if (!e.isSymbolicLink()) return false;
  return (await fsp.stat(onDisk(parent, e.name)).catch(() => undefined))?.isDirectory() ?? false;
}

/** Fan-out folders of `objects/sha256`; other entries there, and beside `sha256`, are strays. */
export async function listFans(store: Store, strays: StrayList): Promise<string[]> {
  const fans: string[] = [];
  for (const e of readdirOrThrow(store.objectsDir, 'the objects')) {
    if (FAN_RE.test(e.name) && (await isFolder(e, store.objectsDir))) fans.push(e.name);
    else strays.push(`objects/sha256/${e.name}`);
  }
  for (const e of readdirOrThrow(join(store.root, 'objects'), 'the objects')) if (e.name !== 'sha256') strays.push(`objects/${e.name}`);
  return fans;
}

/** Total count and bytes of the objects, for progress (lstat of each). */
async function objectTotals(store: Store, fans: string[]): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const fan of fans) {
    const { names, count } = await listFan(store, fan, []);
    for (let i = 0; i < count; i += 256) {
      const rels: string[] = [];
      for (let k = i; k < Math.min(count, i + 256); k++) rels.push(relAt(fan, names, k));
      const sizes = await Promise.all(rels.map((r) => fsp.lstat(join(store.objectsDir, r)).then((s) => s.size, () => 0)));
      for (const s of sizes) bytes += s;
    }
    files += count;
  }
  return { files, bytes };
}

/**
 * Re-hash every object with the worker pool ('objects' mode); each corrupt or unreadable one is
 * handed to `corrupt` or `unreadable` as found, by digest (nothing is kept here).
 */
async function checkObjects(store: Store, opts: FsckOptions, strays: StrayList, corrupt: (c: CorruptObject) => void, unreadable: (u: UnreadableObject) => void): Promise<{ checked: number; bytes: number }> {
  const fans = await listFans(store, strays);
  const totals = opts.onProgress ? await objectTotals(store, fans) : undefined;
  let checked = 0;
  let bytes = 0;
  const pool = new HashPool({ jobs: opts.jobs, mode: 'objects', root: store.objectsDir });
  const sizer = new BatchSizer();
  const inflight: { reply: Promise<CheckReply>; rels: string[] }[] = [];
  const window = pool.size * WINDOW_PER_WORKER;
  const drainOne = async (): Promise<void> => {
    const { reply, rels } = inflight.shift() as (typeof inflight)[number];
    const r = await reply;
    if (r.error) throw new SnapError('INTERNAL', `hashing worker failed on ${r.error.path}: ${r.error.message}`);
    for (const p of r.problems) {
      const rel = rels[p.index] as string;
      if (p.kind === 'corrupt') corrupt({ path: rel, name: rel.replace('/', ''), sha256: p.sha256 as string, size: p.size as number, usedBy: [], users: 0 });
      else unreadable({ path: rel, reason: p.kind === 'missing' ? 'removed while fsck ran' : (p.reason ?? p.kind) });
    }
    checked += rels.length;
    bytes += r.bytes;
    sizer.record(rels.length, r.bytes);
    opts.onProgress?.({ files: checked, bytes, ...(totals ? { totalFiles: totals.files, totalBytes: totals.bytes } : {}) });
  };
  try {
    let batch: string[] = [];
    for (const fan of fans) {
      const { names, count } = await listFan(store, fan, strays);
      for (let k = 0; k < count; k++) {
        batch.push(relAt(fan, names, k));
        if (batch.length >= sizer.next()) {
          inflight.push({ reply: pool.submit<CheckReply>({ rels: batch }), rels: batch });
          batch = [];
          while (inflight.length >= window) await drainOne();
        }
      }
    }
    if (batch.length > 0) inflight.push({ reply: pool.submit<CheckReply>({ rels: batch }), rels: batch });
    while (inflight.length > 0) await drainOne();
  } finally {
    await pool.close();
  }
  return { checked, bytes };
}

/** Read one snapshot file, or record why not. */
/**
 * A snapshot's small file (statement, envelope), or undefined with its problem added. Synchronous,
 * as every per-snapshot read of fsck but the manifest's: through the thread pool each open, fstat,
 * read and close was a round trip, some 3 ms a snapshot in all (docs/PERFORMANCE.md, "Forty-second session").
 */
function readSnapshotFile(dir: string, file: string, problems: SnapshotProblem[]): Buffer | undefined {
  try {
    // Bounded, and never a FIFO: a planted one would block fsck forever.
    return readSmallFileSync(join(dir, file), MAX_ENVELOPE_BYTES + 1, `cannot read ${file}`, () => new SnapError('IO_ERROR', 'not a regular file', { errno: 'not a regular file' }));
  } catch (e) {
    const errno = isSnapError(e) ? String(e.details?.errno ?? e.message) : ((e as NodeJS.ErrnoException).code ?? '');
    if (errno === 'ENOENT') problems.push({ kind: 'missing-file', file, message: `${file} is missing` });
    else problems.push({ kind: 'unreadable', file, message: `${file} cannot be read (${errno || (e as Error).message})` });
    return undefined;
  }
}

function problemFrom(kind: SnapshotProblemKind, e: unknown, what: string): SnapshotProblem {
  if (!isSnapError(e) || e.code === 'INTERRUPTED' || e.code === 'TERMINATED') throw e;
  return { kind, code: e.code, message: `${what}: ${e.message}` };
}

/** Note that a snapshot names an unreadable object as at most `maxBytes` bytes (the bound `fsck --repair-from` reads a copy of it to). */
function boundUnreadable(o: UnreadableObject | undefined, maxBytes: number): void {
  if (o) o.maxBytes = Math.max(o.maxBytes ?? 0, maxBytes);
}

/** Record one more user of a corrupt or missing object, which names it as at most `maxBytes` bytes. */
function addUser(o: { usedBy: ObjectUser[]; users: number; maxBytes?: number }, ref: string, path: string, maxBytes: number): void {
  o.users++;
  o.maxBytes = Math.max(o.maxBytes ?? 0, maxBytes);
  if (o.usedBy.length < USED_BY_MAX) o.usedBy.push({ ref, path });
}

/** Where the snapshots' check records the users of objects the store does not hold. */
interface MissingUsers {
  /** True when the store lacks object `hex` (the caller counts it); `ref`'s `path`, which names it as at most `maxBytes` bytes, is then one of its users. */
  use(hex: string, ref: string, path: string, maxBytes: number): boolean;
}

/**
 * Users of missing objects held (the first {@link USED_BY_MAX} users of each, and each one it
 * holds, count 1) before they are written to a temporary file ({@link SpilledGroups}).
 */
export const MISSING_HELD = 20_000;

/** A missing object and its users as one line of JSON, read back in digest order; two of one digest (as found before and after a run was written) are one. */
const MISSING_CODEC: GroupCodec<MissingObject> = {
  ...jsonCodec<MissingObject>(),
  key: (m) => m.sha256,
  combine: (a, b) => {
    a.users += b.users;
    if (b.maxBytes !== undefined) a.maxBytes = Math.max(a.maxBytes ?? 0, b.maxBytes);
    for (const u of b.usedBy) {
      if (a.usedBy.length >= USED_BY_MAX) break;
      a.usedBy.push(u);
    }
    return a;
  },
};

/**
 * The missing objects of a fsck, by digest, each once with its users (at most
 * {@link USED_BY_MAX} named) in the order found: memory does not grow with their number (past
 * {@link MISSING_HELD}, they wait in a temporary file). {@link finish} once found; then read in digest order.
 */
class MissingList implements MissingUsers {
  private readonly groups = new SpilledGroups(MISSING_CODEC, MISSING_HELD, 'the list of missing objects');
  /** @param has whether the store holds an object */
  constructor(private readonly has: (hex: string) => boolean) {}

  use(hex: string, ref: string, path: string, maxBytes: number): boolean {
    const held = this.groups.get(hex);
    if (held) {
      const named = held.usedBy.length;
      addUser(held, ref, path, maxBytes);
      this.groups.grew(held.usedBy.length - named); // nothing once USED_BY_MAX are named
      return true;
    }
    if (this.has(hex)) return false;
    const gone: MissingObject = { sha256: hex, path: `${hex.slice(0, 2)}/${hex.slice(2)}`, usedBy: [], users: 0 };
    addUser(gone, ref, path, maxBytes);
    this.groups.add(hex, gone, 2);
    return true;
  }

  /** All found: merge what was written (see {@link SpilledGroups.finish}). */
  finish(): void {
    this.groups.finish();
  }

  /** Distinct missing objects (after {@link finish}). */
  get length(): number {
    return this.groups.length;
  }

  [Symbol.iterator](): Iterator<MissingObject> {
    return this.groups[Symbol.iterator]();
  }

  close(): void {
    this.groups.close();
  }
}

/**
 * Check one snapshot folder: envelope, statement, manifest, objects. A missing object is handed to
 * `missing` with the file that uses it; files whose object is corrupt are added to
 * that object's users; an unreadable object gets the largest size a snapshot names it as.
 * `named` is called with every object the snapshot names (each manifest entry's digest but a
 * symbolic link's, also of a `--manifest-only` snapshot; each record index and index summary its
 * statement names), as read: `prune` keeps those.
 */
async function checkSnapshot(store: Store, name: string, version: string, keepsObjects: boolean, corrupt: Map<string, CorruptObject>, unreadable: Map<string, UnreadableObject>, missing: MissingUsers, named?: (hex: string) => void, keptPerLog?: KeptPerLog): Promise<SnapshotFsck> {
  const ref = `${name}@${version}`;
  const dir = join(store.snapshotsDir, name, version);
  const problems: SnapshotProblem[] = [];
  const logged = keepsObjects ? undefined : keptPerLog?.get(ref);
  if (logged) {
    // contents.json is unsigned: written over with {"objects":false}, it would hide every object removed since.
    problems.push({ kind: 'contents-mismatch', file: CONTENTS_FILE, message: `${CONTENTS_FILE} says the snapshot keeps no objects (sealed --manifest-only), but the audit log's ${logged.command} line (seq ${logged.seq}) says its objects were kept: ${CONTENTS_FILE} was changed; its objects are checked` });
    keepsObjects = true;
  }
  const statementBytes = readSnapshotFile(dir, STATEMENT_FILE, problems);
  const envelopeBytes = readSnapshotFile(dir, ENVELOPE_FILE, problems);
  let payload: Uint8Array | undefined;
  if (envelopeBytes) {
    try {
      const env = parseEnvelope(envelopeBytes);
      payload = fromBase64(env.payload);
      if (env.signatures.length === 0) problems.push({ kind: 'unsigned', message: `${ENVELOPE_FILE} holds no signature` });
    } catch (e) {
      problems.push(problemFrom('envelope', e, ENVELOPE_FILE));
    }
  }
  let statement: Statement | undefined;
  const signed = payload ?? statementBytes;
  if (signed) {
    try {
      statement = parseStatement(signed);
    } catch (e) {
      problems.push(problemFrom('statement', e, payload ? 'the envelope payload' : STATEMENT_FILE));
    }
  }
  if (payload && statementBytes && !bytesEqual(payload, statementBytes)) {
    problems.push({ kind: 'statement-mismatch', message: `${STATEMENT_FILE} differs from the payload of ${ENVELOPE_FILE}` });
  }
  if (statement && (statement.predicate.dataset !== name || statement.predicate.version !== version)) {
    problems.push({ kind: 'name-mismatch', message: `the statement is for ${statement.predicate.dataset}@${statement.predicate.version}, not ${ref}` });
  }

  let entries = 0;
  let absent = 0;
  const manifestPath = join(dir, MANIFEST_FILE);
  // Missing only when nothing is there (ENOENT); a folder that cannot be searched (EACCES) or a
  // link loop (ELOOP) is unreadable, said with why, as for the other snapshot files.
  let manifestStatError: string | undefined;
  try {
    statSync(manifestPath);
  } catch (e) {
    manifestStatError = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  }
  if (manifestStatError === 'ENOENT') {
    problems.push({ kind: 'missing-file', file: MANIFEST_FILE, message: `${MANIFEST_FILE} is missing` });
  } else if (manifestStatError !== undefined) {
    problems.push({ kind: 'unreadable', file: MANIFEST_FILE, message: `${MANIFEST_FILE} cannot be read (${manifestStatError})` });
  } else {
    const digest: Partial<ManifestDigest> = {};
    let complete = false;
    try {
      for await (const run of manifestEntryRuns(manifestPath, digest)) {
        checkInterrupted(); // streaming a manifest waits on no worker
        for (const e of run) {
          entries++;
          if (isSymlinkEntry(e)) continue;
          named?.(e.sha256);
          const bad = corrupt.get(e.sha256);
          if (bad) addUser(bad, ref, e.path, e.size);
          boundUnreadable(unreadable.get(e.sha256), e.size);
          if (!keepsObjects) continue;
          if (missing.use(e.sha256, ref, e.path, e.size)) absent++;
        }
      }
      complete = true;
    } catch (e) {
      if (isSnapError(e) && (e.code === 'NOT_FOUND' || e.code === 'IO_ERROR')) problems.push({ kind: 'unreadable', file: MANIFEST_FILE, code: e.code, message: e.message });
      else problems.push(problemFrom('manifest', e, MANIFEST_FILE));
    }
    if (complete && statement) {
      const p = statement.predicate;
      const fields = [
        digest.sha256 !== p.manifestSha256 ? 'manifestSha256' : '',
        digest.merkleRoot !== p.merkleRoot ? 'merkleRoot' : '',
        digest.lines !== p.fileCount ? 'fileCount' : '',
        digest.totalBytes !== p.totalBytes ? 'totalBytes' : '',
      ].filter(Boolean);
      if (fields.length > 0) problems.push({ kind: 'manifest-mismatch', fields, message: `${MANIFEST_FILE} does not match the statement (${fields.join(', ')} differ)` });
    }
  }
  if (absent > 0) problems.push({ kind: 'missing-objects', count: absent, message: `${absent} listed file${absent === 1 ? ' has' : 's have'} no object in the store` });
  // Record indexes, their summaries and column-types objects (docs/FORMAT.md §19.5, §19.10, §19.11) are objects the statement names; kept also with --manifest-only.
  let absentIndexes = 0;
  const indexObjects = (statement?.predicate.records ?? []).flatMap((m) => [
    { h: m.index.sha256, user: `record index of ${recordSetName(m)}`, most: m.count * MAX_INDEX_LINE_BYTES },
    ...(m.index.summary !== undefined ? [{ h: m.index.summary, user: `record index summary of ${recordSetName(m)}`, most: MAX_INDEX_SUMMARY_BYTES }] : []),
    ...(m.schema !== undefined ? [{ h: m.schema, user: `column-types object of ${recordSetName(m)}`, most: MAX_SCHEMA_OBJECT_BYTES }] : []),
  ]);
  for (const { h, user, most } of indexObjects) {
    named?.(h);
    const bad = corrupt.get(h);
    if (bad) addUser(bad, ref, user, most);
    boundUnreadable(unreadable.get(h), most);
    if (missing.use(h, ref, user, most)) absentIndexes++;
  }
  if (absentIndexes > 0) problems.push({ kind: 'missing-objects', count: absentIndexes, message: `${absentIndexes} record index${absentIndexes === 1 ? ' or index summary named by the statement has' : 'es or index summaries named by the statement have'} no object in the store` });
  const id = statementBytes ? snapshotId(statementBytes) : payload ? snapshotId(payload) : undefined;
  return { ref, ...(id ? { snapshot: id } : {}), ok: problems.length === 0, keepsObjects, entries, problems };
}

/** The snapshots whose objects the audit log says were kept, by `NAME@VERSION`: the line that says so. */
type KeptPerLog = ReadonlyMap<string, { seq: number; command: string }>;

/**
 * The `--manifest-only` snapshots among `folders` (`contents.json` `{"objects":false}`) whose seal or
 * import line in the audit log (docs/FORMAT.md §6: `details.objects`, written since 2026-12-01)
 * says their objects were kept. `contents.json` is unsigned: whoever can write the store could put
 * `{"objects":false}` over a snapshot's and remove its objects, and fsck took it for a
 * `--manifest-only` one and said nothing of them. The log is read only when the store has such a
 * snapshot, in bounded memory (what is kept grows with those snapshots, not with the log); a line
 * is matched by the snapshot id its `statement.json` hashes to (read here, and again by
 * {@link checkSnapshot}: only for such snapshots, a file of at most {@link MAX_STATEMENT_BYTES}). A log that cannot be read, or lines
 * that do not parse, tell nothing here (`snap log --verify` checks the log).
 */
async function keptPerAuditLog(store: Store, folders: readonly SnapshotFolder[]): Promise<KeptPerLog> {
  const manifestOnly = new Map<string, string>(); // snapshot id → NAME@VERSION
  for (const f of folders) {
    if (f.keepsObjects) continue;
    let bytes: Buffer | undefined;
    try {
      bytes = readSmallFileSync(join(f.dir, STATEMENT_FILE), MAX_STATEMENT_BYTES, 'cannot read the statement', () => new SnapError('SNAPSHOT_MALFORMED', 'not a regular file'));
    } catch {
      bytes = undefined;
    }
    if (bytes) manifestOnly.set(snapshotId(bytes), `${f.name}@${f.version}`);
  }
  const kept = new Map<string, { seq: number; command: string }>();
  if (manifestOnly.size === 0) return kept;
  try {
    for await (const row of logRows(store.root)) {
      checkInterrupted();
      const e = row.entry;
      if (!e || e.outcome !== 'ok' || (e.command !== 'seal' && e.command !== 'import') || typeof e.snapshot !== 'string') continue;
      const ref = manifestOnly.get(e.snapshot);
      if (ref !== undefined && !kept.has(ref) && (e.details as { objects?: unknown } | undefined)?.objects === true) kept.set(ref, { seq: e.seq, command: e.command });
    }
  } catch (e) {
    if (isSnapError(e, 'INTERRUPTED') || isSnapError(e, 'TERMINATED')) throw e;
  }
  return kept;
}

/** A snapshot folder of the store: `snapshots/NAME/VERSION`, and what its `contents.json` says. */
interface SnapshotFolder {
  name: string;
  version: string;
  dir: string;
  keepsObjects: boolean;
}

/** Every snapshot folder of the store, in listing order; badly named entries and files no snapshot has are strays. */
async function snapshotFolders(store: Store, strays: StrayList): Promise<SnapshotFolder[]> {
  const out: SnapshotFolder[] = [];
  for (const n of readdirOrThrow(store.snapshotsDir, 'the snapshots')) {
    if (!NAME_RE.test(n.name) || !(await isFolder(n, store.snapshotsDir))) {
      strays.push(`snapshots/${n.name}`);
      continue;
    }
    for (const v of readdirOrThrow(join(store.snapshotsDir, n.name), 'the snapshots')) {
      if (!VERSION_RE.test(v.name) || !(await isFolder(v, join(store.snapshotsDir, n.name)))) {
        strays.push(`snapshots/${n.name}/${v.name}`);
        continue;
      }
      const dir = join(store.snapshotsDir, n.name, v.name);
      // A partial write of sign's is a leftover (io/leftovers.ts), not a stray.
      for (const f of readdirOrThrow(dir, 'a snapshot')) if (!SNAPSHOT_FILES.has(f.name) && !SNAPSHOT_PARTIAL_WRITE_RE.test(f.name)) strays.push(`snapshots/${n.name}/${v.name}/${f.name}`);
      out.push({ name: n.name, version: v.name, dir, keepsObjects: snapshotKeepsObjectsSync(dir) });
    }
  }
  return out;
}

/**
 * Every snapshot folder of the store, checked; badly named entries are strays. `named`: as
 * {@link checkSnapshot}'s. With `holdToLog`, a snapshot whose `contents.json` says it keeps no
 * objects is held to its seal's audit line ({@link keptPerAuditLog}).
 */
async function checkSnapshots(store: Store, corrupt: Map<string, CorruptObject>, unreadable: Map<string, UnreadableObject>, missing: MissingUsers, strays: StrayList, named?: (hex: string) => void, holdToLog = false): Promise<SnapshotFsck[]> {
  const folders = await snapshotFolders(store, strays);
  const keptPerLog = holdToLog ? await keptPerAuditLog(store, folders) : undefined;
  const out: SnapshotFsck[] = [];
  for (const f of folders) out.push(await checkSnapshot(store, f.name, f.version, f.keepsObjects, corrupt, unreadable, missing, named, keptPerLog));
  return out;
}

/**
 * Check every snapshot folder of the store as fsck does (envelope, statement, manifest and their
 * agreement; objects are not re-hashed) and call `named` with every object each names (see
 * {@link checkSnapshot}) — the set of objects the store's snapshots reference, for `prune`.
 * `has` says whether the store holds an object (for the snapshots' `missing-objects` problems).
 * @returns each snapshot's check, and the strays fsck would report under `snapshots/` (paths
 *   relative to the store)
 * @throws SnapError `IO_ERROR` (a folder of `snapshots/` cannot be listed) | `INTERRUPTED` / `TERMINATED`
 */
export async function checkSnapshotsNaming(store: Store, has: (hex: string) => boolean, named: (hex: string) => void): Promise<{ snapshots: SnapshotFsck[]; strays: string[] }> {
  const strays: string[] = [];
  // Only whether each object is there: the missing ones are not gathered (prune has no use for them).
  const snapshots = await checkSnapshots(store, new Map(), new Map(), { use: (hex) => !has(hex) }, strays, named);
  return { snapshots, strays };
}

/**
 * Entries of each long list of a fsck (corrupt objects no snapshot names, unreadable ones no snapshot
 * names, strays) kept in memory; past that, the rest wait in a temporary file ({@link SpillList}).
 */
export const FSCK_HELD = 1000;

/** A fsck report without its lists that may be long (`counts` count them): {@link FsckLists} has those. */
export type FsckSummary = Omit<FsckReport, 'objects' | 'strays' | 'straysNotUtf8' | 'missingObjects'> & { objects: { checked: number; bytes: number } };

/**
 * The long lists of a fsck, each read (and read again) in the order {@link FsckReport} lists them:
 * corrupt and unreadable objects by digest (for a local store), missing objects by digest, strays
 * of `objects/` then of `snapshots/`. {@link FsckLists.close} ends them (their temporary files go).
 */
export interface FsckLists {
  corrupt: Iterable<CorruptObject>;
  unreadable: Iterable<UnreadableObject>;
  missing: Iterable<MissingObject>;
  strays: Iterable<string>;
  close(): void;
}

/**
 * A corrupt object as one line of a {@link SpillList}: one no snapshot names (no users, no bound)
 * as `path sha256 size` (it was an object of about 200 bytes of JSON), any other as JSON.
 */
const CORRUPT_CODEC: SpillCodec<CorruptObject> = {
  encode: (c) => (c.users === 0 && c.maxBytes === undefined && c.usedBy.length === 0 && c.name === c.path.replace('/', '') ? `${c.path} ${c.sha256} ${c.size}` : JSON.stringify(c)),
  decode: (line) => {
    if (line.startsWith('{')) return JSON.parse(line) as CorruptObject;
    const [path, sha256, size] = line.split(' ') as [string, string, string];
    return { path, name: path.replace('/', ''), sha256, size: Number(size), usedBy: [], users: 0 };
  },
};

/** `run` (in `key` order) and `held` (sorted here) merged, in `key` order. */
function* merged<T>(run: Iterable<T>, held: Iterable<T>, key: (x: T) => string): Generator<T> {
  const rest = [...held].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  let i = 0;
  for (const x of run) {
    while (i < rest.length && key(rest[i] as T) < key(x)) yield rest[i++] as T;
    yield x;
  }
  while (i < rest.length) yield rest[i++] as T;
}

/** The path of an object (`xx/<62 hex>`), its order in fsck's lists. */
const pathOf = (o: { path: string }): string => o.path;

/**
 * Check a store as {@link fsck} does, in memory that does not grow with the number of corrupt,
 * unreadable or stray entries: those come back as {@link FsckLists}, the first {@link FSCK_HELD}
 * of each kind held, the others in a temporary file each (the caller closes them).
 *
 * Order of the work (local store): every snapshot is checked first, and every object it names
 * (each manifest entry's, each record index's…) is noted as 32 bytes in a {@link DigestSet}; then the
 * objects are re-hashed, and a corrupt or unreadable one no snapshot names is final as found (no
 * users, no size bound) and goes to its list; one a snapshot names is held, and when there are any,
 * the snapshots' manifests are read again to name their users (at most {@link USED_BY_MAX} each) and
 * bound their size. Memory then grows with the objects the snapshots name (as `prune`'s), the
 * snapshots and the missing objects — not with objects planted that no snapshot names. With
 * `objectSource` (an S3 store), the objects are checked first as before, and all held.
 * @throws as {@link fsck}; SnapError `DISK_FULL` / `IO_ERROR` also when a list cannot be written
 *   to the temporary folder
 */
export async function fsckListed(opts: FsckOptions): Promise<{ summary: FsckSummary; lists: FsckLists }> {
  const t0 = performance.now();
  const store = await openStore(opts.store);
  const leftovers = [...(await findLeftovers(store)), ...((await opts.objectSource?.leftovers?.()) ?? [])];
  const corruptRun = new SpillList(CORRUPT_CODEC, FSCK_HELD, 'the list of corrupt objects');
  const unreadableRun = new SpillList(jsonCodec<UnreadableObject>(), FSCK_HELD, 'the list of unreadable objects');
  const objectStrays = new SpillList(jsonCodec<string>(), FSCK_HELD, 'the list of strays');
  const snapshotStrays = new SpillList(jsonCodec<string>(), FSCK_HELD, 'the list of strays');
  const close = (): void => {
    for (const l of [corruptRun, unreadableRun, objectStrays, snapshotStrays, missing]) l?.close();
  };
  // Corrupt and unreadable objects a snapshot names, by digest: they get users and a size bound.
  const corrupt = new Map<string, CorruptObject>();
  const unreadable = new Map<string, UnreadableObject>();
  let missing: MissingList | undefined;
  let checked: { checked: number; bytes: number };
  let snapshots: SnapshotFsck[];
  try {
    if (opts.objectSource) {
      const r = await opts.objectSource.checkObjects(opts.onProgress);
      for (const x of r.strays ?? []) objectStrays.push(x); // not push(...): a bucket may hold a million strays (the call's arguments are on the stack)
      for (const c of r.objects.corrupt) corrupt.set(c.name, c);
      for (const u of r.objects.unreadable) unreadable.set(u.path.replace('/', ''), u);
      missing = new MissingList((hex) => r.present.has(hex));
      snapshots = await checkSnapshots(store, corrupt, unreadable, missing, snapshotStrays, undefined, true);
      missing.finish();
      // As the source listed them (users added in place).
      for (const c of r.objects.corrupt) corruptRun.push(c);
      for (const u of r.objects.unreadable) unreadableRun.push(u);
      corrupt.clear();
      unreadable.clear();
      checked = { checked: r.objects.checked, bytes: r.objects.bytes };
    } else {
      const named = new DigestSet();
      missing = new MissingList((hex) => existsSync(objectPath(store, hex)));
      snapshots = await checkSnapshots(store, new Map(), new Map(), missing, snapshotStrays, (hex) => void named.add(hex), true);
      missing.finish();
      checked = await checkObjects(
        store,
        opts,
        objectStrays,
        (c) => void (named.has(c.name) ? corrupt.set(c.name, c) : corruptRun.push(c)),
        (u) => void (named.has(u.path.replace('/', '')) ? unreadable.set(u.path.replace('/', ''), u) : unreadableRun.push(u)),
      );
      // Their users and size bounds: the manifests read again (only the maps are filled this time).
      if (corrupt.size + unreadable.size > 0) await checkSnapshots(store, corrupt, unreadable, { use: () => false }, { push: () => 0 });
    }
  } catch (e) {
    close();
    throw e;
  }
  const missingObjects = missing as MissingList; // made in either branch above
  const badSnapshots = snapshots.filter((s) => !s.ok).length;
  const nCorrupt = corruptRun.length + corrupt.size;
  const nUnreadable = unreadableRun.length + unreadable.size;
  const summary: FsckSummary = {
    ok: nCorrupt === 0 && nUnreadable === 0 && badSnapshots === 0,
    store: store.root,
    objects: checked,
    snapshots,
    leftovers,
    ...(leftovers.some((l) => l.removable) ? { clean: cleanCommand(store.root) } : {}),
    counts: {
      objects: checked.checked,
      bytes: checked.bytes,
      corrupt: nCorrupt,
      unreadable: nUnreadable,
      snapshots: snapshots.length,
      badSnapshots,
      missingObjects: missingObjects.length,
      strays: objectStrays.length + snapshotStrays.length,
      leftovers: leftovers.length,
    },
    seconds: (performance.now() - t0) / 1000,
  };
  const lists: FsckLists = {
    corrupt: { [Symbol.iterator]: () => merged(corruptRun, corrupt.values(), pathOf) },
    unreadable: { [Symbol.iterator]: () => merged(unreadableRun, unreadable.values(), pathOf) },
    missing: missingObjects,
    strays: {
      *[Symbol.iterator]() {
        yield* objectStrays;
        yield* snapshotStrays;
      },
    },
    close,
  };
  return { summary, lists };
}

/** The whole report of a fsck: its summary with its lists read in full (see {@link fsckListed}). */
export function fsckReportOf(summary: FsckSummary, lists: FsckLists): FsckReport {
  const { ok, store, objects, snapshots, leftovers, clean, counts, seconds } = summary;
  const strays = [...lists.strays];
  const notUtf8 = [...straysNotUtf8(strays)];
  return {
    ok,
    store,
    objects: { checked: objects.checked, bytes: objects.bytes, corrupt: [...lists.corrupt], unreadable: [...lists.unreadable] },
    snapshots,
    missingObjects: [...lists.missing],
    strays,
    ...(notUtf8.length > 0 ? { straysNotUtf8: notUtf8 } : {}),
    leftovers,
    ...(clean !== undefined ? { clean } : {}),
    counts,
    seconds,
  };
}

/**
 * Check a store: see the module comment. Corruption is a result (`ok: false`), not an error.
 * Objects are re-hashed with node:crypto SHA-256 in a pool of worker threads; manifests are
 * streamed. The report lists every problem found, so it grows with their number: a caller that
 * must not hold them all reads them with {@link fsckListed}.
 * Nothing is locked or written in the store: fsck runs on a read-only store, and a seal running
 * meanwhile adds objects before the snapshot that lists them, so it is never seen half-made.
 * @throws SnapError `NOT_FOUND` (no store: exit 3) | `STORE_MALFORMED` | `IO_ERROR` (a folder of the
 *   store cannot be listed) | `USAGE` (bad jobs)
 */
export async function fsck(opts: FsckOptions): Promise<FsckReport>;
/** With `'listed'`: {@link fsckListed}'s result (bounded memory; the caller closes the lists). */
export async function fsck(opts: FsckOptions, form: 'listed'): Promise<{ summary: FsckSummary; lists: FsckLists }>;
export async function fsck(opts: FsckOptions, form?: 'listed'): Promise<FsckReport | { summary: FsckSummary; lists: FsckLists }> {
  if (form === 'listed') return fsckListed(opts);
  const { summary, lists } = await fsckListed(opts);
  try {
    return fsckReportOf(summary, lists);
  } finally {
    lists.close();
  }
}

/** `snap fsck --clean --store ROOT`, with ROOT quoted for a POSIX shell when it needs it. */
export function cleanCommand(root: string): string {
  const quoted = /^[\w@%+=:,./-]+$/.test(root) ? root : `'${root.replace(/'/g, `'\\''`)}'`;
  return `snap fsck --clean --store ${quoted}`;
}
