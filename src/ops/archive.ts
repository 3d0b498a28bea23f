/**
 * Snapshot archives as whole operations: `export` (store snapshot → `NAME@VERSION.snap.tar`),
 * `verify` of an archive on its own (signature, manifest, every data member, streamed, nothing
 * extracted), and `import` (archive → store, after verifying everything). The archive layout and
 * the tar reading and writing are in `src/core/archive.ts` and `src/io/archive.ts`; `restore` is in
 * `src/ops/restore.ts`, `seal --out` in `src/ops/archive-seal.ts`.
 *
 * Every reader follows the same order, and writes nothing before each step passes:
 * 1. `snap/statement.json` and `snap/envelope.json`: the signatures against the trusted keys, and
 *    the statement equal to the signed payload (the rules of {@link checkTrust});
 * 2. `snap/manifest.jsonl`: its SHA-256 equal to the signed `manifestSha256`, every line valid,
 *    its Merkle root, line count and byte total equal to the statement's, and the tree rules of
 *    {@link TreeShapeCheck} (no link leaving the dataset, nothing under a file or a link);
 * 3. each data member exactly the next manifest entry, its bytes hashed as they stream.
 */
import { promises as fsp, constants as FS, existsSync, openSync, readSync, fstatSync, writeSync, closeSync, renameSync, rmSync, lstatSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { SnapError, isSnapError, type SnapErrorCode } from '../core/errors.js';
import { nameMismatch, parseStatement, snapshotId, statementRef, type SnapshotPredicate, type Statement } from '../core/statement.js';
import { ARCHIVE_RECORDS_PREFIX, MAX_ENVELOPE_BYTES, MAX_STATEMENT_BYTES, TreeShapeCheck, archiveFileClaim, archiveRecordIndexes, type TreeViolation } from '../core/archive.js';
import type { TrustedKey } from '../core/envelope.js';
import { ArchiveReader, MAX_MANIFEST_ENTRY_BYTES, writeArchive, checkArchiveTarget, type ArchiveFileItem, type ArchiveWriteResult } from '../io/archive.js';
import { WRITE_SLICE } from '../io/write-slice.js';
import { checkedEntryRuns, copyManifest, manifestEntryRuns, rawSha256, type ManifestDigest } from '../io/manifest-file.js';
import type { ManifestEntry } from '../core/manifest.js';
import { makeScratchDir, removeWhenDone } from '../io/scratch-dir.js';
import {
  openStore, discardNewStore, lockStoreMaking, makeTmpDir, commitSnapshot, snapshotDir, isSnapshotFolder, objectPath, snapshotKeepsObjects, syncFileSystem,
  writeFileAtomic, fsyncDir, fsyncFileSync, ownFanFolder, FSYNC_EACH_MAX_OBJECTS, MANIFEST_FILE, STATEMENT_FILE, ENVELOPE_FILE, CONTENTS_FILE, type SnapshotLocation, type Store,
} from '../io/store.js';
import { ioError } from '../io/errors.js';
import { readSmallFile } from '../io/small-file.js';
import type { TrustRules } from '../trust/rules.js';
import { checkInterrupted } from '../io/interrupt.js';
import { EarlyWriteback } from '../io/early-writeback.js';
import { storeIndexObjects } from '../records/seal-records.js';
import { checkTrust, type SignerReport, type TrustCheck } from '../snapshot.js';
import type { Progress } from './seal.js';
import type { VerifyCounts, VerifyReport, Problem } from './verify.js';

/** Why a snapshot is not trusted: a stable code and what to tell the user. */
export interface TrustFailure {
  code: SnapErrorCode;
  message: string;
}

function treeError(v: TreeViolation, where: 'archive' | 'snapshot'): SnapError {
  return where === 'archive'
    ? new SnapError('ARCHIVE_HOSTILE', `the signed manifest is unsafe to write out: ${v.message}; the archive was refused`, { reason: v.reason, path: v.path })
    : new SnapError('SNAPSHOT_UNSAFE', `this snapshot cannot be archived or restored safely: ${v.message}`, { reason: v.reason, path: v.path });
}

/**
 * Check a manifest file against a statement's predicate — every line valid (SPEC §2), SHA-256,
 * Merkle root, line count and byte total equal to the predicate's — and against the tree rules
 * ({@link TreeShapeCheck}). One streaming pass, O(1) memory.
 * @param where `archive`: the manifest came from an archive whose SHA-256 already matched the
 *   signed one, so a bad line or an unsafe tree is the archive's fault (`ARCHIVE_HOSTILE` for paths
 *   and links, `ARCHIVE_MALFORMED` for other line errors); `snapshot`: from a store or folder
 *   (`SNAPSHOT_UNSAFE`; line errors keep their `MANIFEST_*` / `PATH_*` code)
 * @param see called with each entry as it is read (restore looks for names the target may not hold,
 *   core/name-trouble.ts, in this pass rather than in one more); what it saw counts only when this
 *   returns undefined
 * @returns undefined when it matches; an `INTEGRITY_FAILURE` when it does not match the predicate
 * @throws SnapError as above | `NOT_FOUND` | `IO_ERROR`
 */
export async function checkManifestAgainst(path: string, pred: SnapshotPredicate, where: 'archive' | 'snapshot', see?: (e: ManifestEntry) => void): Promise<TrustFailure | undefined> {
  const digest: Partial<ManifestDigest> = {};
  const tree = new TreeShapeCheck();
  let violation: TreeViolation | undefined;
  try {
    for await (const run of manifestEntryRuns(path, digest)) {
      if (violation) continue;
      for (const e of run) {
        violation = tree.check(e);
        if (violation) break;
        see?.(e);
      }
    }
  } catch (e) {
    if (!isSnapError(e) || !(e.code.startsWith('MANIFEST_') || e.code.startsWith('PATH_'))) throw e;
    if ((await rawSha256(path)) !== pred.manifestSha256) {
      return { code: 'INTEGRITY_FAILURE', message: `the manifest does not match the signed manifestSha256 (it was altered): ${e.message}` };
    }
    if (where === 'snapshot') throw e;
    const code: SnapErrorCode = e.code.startsWith('PATH_') || e.code === 'MANIFEST_DUPLICATE_PATH' || e.code === 'MANIFEST_UNSORTED' ? 'ARCHIVE_HOSTILE' : 'ARCHIVE_MALFORMED';
    throw new SnapError(code, `the archive's signed manifest is unusable: ${e.message}`, { ...e.details, reason: e.code });
  }
  const wrong: string[] = [];
  if (digest.sha256 !== pred.manifestSha256) wrong.push('manifestSha256');
  if (digest.merkleRoot !== pred.merkleRoot) wrong.push('Merkle root');
  if (digest.lines !== pred.fileCount) wrong.push('fileCount');
  if (digest.totalBytes !== pred.totalBytes) wrong.push('totalBytes');
  if (wrong.length > 0) return { code: 'INTEGRITY_FAILURE', message: `the manifest does not match the signed statement (${wrong.join(', ')} differ): it was altered` };
  if (violation) throw treeError(violation, where);
  return undefined;
}

/** An archive opened for streaming, after steps 1 and 2 of the module comment. */
export interface OpenedArchive {
  reader: ArchiveReader;
  trust: TrustCheck;
  /** Set when the archive is not trusted (signature, statement or manifest); then no data may be used. */
  failure?: TrustFailure;
  /** The statement, from the verified payload, when trusted. */
  statement?: Statement;
  /** The spooled, checked manifest, when trusted. */
  manifestPath?: string;
  /** The record indexes the statement names, spooled and checked against their signed digests (when trusted). */
  recordIndexes?: { sha256: string; path: string }[];
}

/** The failure for a record index member whose bytes are not the signed digest. */
function alteredIndex(x: { sha256: string; actual: string }): TrustFailure & { reason: string } {
  return { code: 'INTEGRITY_FAILURE', reason: 'record-index', message: `the record index ${ARCHIVE_RECORDS_PREFIX}${x.sha256} does not match its signed digest (it hashes to ${x.actual}): it was altered` };
}

/** Options of {@link openArchive}. */
export interface OpenArchiveOptions {
  trusted: readonly TrustedKey[];
  threshold?: number;
  /** Expiry, revocations and policy (trust/rules.ts), applied by `checkTrust`. */
  rules?: TrustRules;
  /** Where the private spool folder goes (default: the OS temporary folder). */
  spoolParent?: string;
  /** How the user named the archive (reports show it); default the path. */
  ref?: string;
  /** Called with each entry of the manifest as it is checked (see {@link checkManifestAgainst}'s `see`). */
  seeEntry?: (e: ManifestEntry) => void;
}

/**
 * Open an archive and establish trust in it: steps 1 and 2 of the module comment. An untrusted
 * archive is a result (`failure` set), not an error; a malformed or hostile one throws.
 * The caller must `reader.close()`.
 * @throws SnapError every code of {@link ArchiveReader.open} and {@link checkManifestAgainst}
 */
export async function openArchive(file: string, opts: OpenArchiveOptions): Promise<OpenedArchive> {
  const reader = await ArchiveReader.open(file, opts.spoolParent ?? tmpdir());
  try {
    // Trust comes before the manifest member is read: an archive no trusted key signed cannot make
    // snap spool a manifest of any length (a sparse file of a terabyte takes no disk). checkTrust
    // wants a whole snapshot folder: an empty placeholder stands for the manifest, which it does not read.
    await fsp.writeFile(join(reader.spoolDir, MANIFEST_FILE), '', { mode: 0o600, flag: 'wx' });
    const trust = await checkTrust({ ...reader.location, ref: opts.ref ?? file }, opts.trusted, opts.threshold ?? 1, opts.rules);
    if (!trust.ok || !trust.statement) return { reader, trust, failure: { code: (trust.failure?.code ?? 'SIGNATURE_INVALID') as SnapErrorCode, message: trust.failure?.message ?? 'not trusted' } };
    const pred = trust.statement.predicate;
    const maxBytes = pred.fileCount * MAX_MANIFEST_ENTRY_BYTES;
    const spool = await reader.spoolManifest(maxBytes);
    if (spool.tooLarge) {
      return { reader, trust, failure: { code: 'INTEGRITY_FAILURE', message: `snap/manifest.jsonl is ${spool.size} bytes, longer than the ${pred.fileCount} signed lines can be (${maxBytes} bytes): it is not the signed manifest` } };
    }
    if (spool.sha256 !== pred.manifestSha256) {
      return { reader, trust, failure: { code: 'INTEGRITY_FAILURE', message: 'snap/manifest.jsonl does not match the signed manifestSha256 (it was altered)' } };
    }
    const failure = await checkManifestAgainst(spool.path, pred, 'archive', opts.seeEntry);
    if (failure) return { reader, trust, failure };
    // The record indexes the statement names (FORMAT §10.1): each must be there and be its signed bytes.
    const recordIndexes = await reader.spoolRecordIndexes(archiveRecordIndexes(pred.records));
    const altered = recordIndexes.find((x) => x.actual !== x.sha256);
    if (altered) return { reader, trust, failure: alteredIndex(altered) };
    return { reader, trust, statement: trust.statement, manifestPath: spool.path, recordIndexes };
  } catch (e) {
    await reader.close();
    throw e;
  }
}

/** Throw an untrusted archive's failure as an error (import and restore refuse what verify reports). */
function requireTrusted(o: OpenedArchive, file: string): { statement: Statement; manifestPath: string } {
  if (o.failure || !o.statement || !o.manifestPath) {
    const f = o.failure ?? { code: 'SIGNATURE_INVALID' as SnapErrorCode, message: 'not trusted' };
    throw new SnapError(f.code, `${file}: ${f.message}; nothing was written`, { path: file, signers: o.trust.signers });
  }
  return { statement: o.statement, manifestPath: o.manifestPath };
}

/**
 * Open an archive's three `snap/` members as a snapshot folder (in a private temporary folder), to
 * check a dataset folder against it with `verify()` (`verify DIR --against FILE.snap.tar`). Nothing
 * is trusted here: `verify()` checks the signature and the manifest itself. Data members are not read.
 * With `trust` (the keys and rules the caller's verify will apply), trust comes first, as in
 * {@link openArchive}: the manifest member of an archive those keys did not sign is never read (an
 * empty placeholder stands for it, which `verify()`, failing on the signature, never reads), and a
 * signed one longer than the signed `fileCount` lines can be is refused unread. Without `trust`,
 * the manifest member is bounded by the archive's own (unverified) statement before it is read
 * ({@link ArchiveReader.spoolDeclaredManifest}); when neither it nor the envelope's payload parses,
 * the manifest is not read (an empty placeholder stands for it; the caller's trust check refuses the statement).
 * @returns the snapshot location (its `ref` is `ref`) and a function that removes the folder
 * @throws SnapError every code of {@link ArchiveReader.open} and {@link ArchiveReader.spoolManifest} |
 *   `INTEGRITY_FAILURE` (with `trust`: a manifest member longer than the signed lines can be) |
 *   `ARCHIVE_HOSTILE` (`manifest-too-large`, without `trust`: longer than its own statement's lines can be)
 */
export async function openArchiveSnapshot(file: string, ref = file, trust?: Omit<OpenArchiveOptions, 'spoolParent' | 'ref'>): Promise<{ location: SnapshotLocation; close: () => Promise<void> }> {
  const reader = await ArchiveReader.open(file, tmpdir());
  try {
    const unread = () => ({ location: { ...reader.location, ref, objectsDir: join(reader.spoolDir, 'objects', 'sha256') }, close: () => reader.close() });
    let statement: Statement | undefined;
    if (trust) {
      await fsp.writeFile(join(reader.spoolDir, MANIFEST_FILE), '', { mode: 0o600, flag: 'wx' });
      const t = await checkTrust({ ...reader.location, ref }, trust.trusted, trust.threshold ?? 1, trust.rules);
      if (!t.ok || !t.statement) return unread();
      const maxBytes = t.statement.predicate.fileCount * MAX_MANIFEST_ENTRY_BYTES;
      const spool = await reader.spoolManifest(maxBytes);
      if (spool.tooLarge) throw new SnapError('INTEGRITY_FAILURE', `${file}: snap/manifest.jsonl is ${spool.size} bytes, longer than the signed lines can be (${maxBytes} bytes): it is not the signed manifest`, { path: file });
      statement = t.statement;
    } else {
      // No key yet: the manifest is bounded by the archive's own statements before it is read;
      // when none parses, it is refused later by whoever checks it, so nothing more is read then
      // (the empty placeholder stands for the manifest, as for an untrusted archive).
      const declared = await reader.spoolDeclaredManifest();
      if (!declared.manifest) {
        await fsp.writeFile(join(reader.spoolDir, MANIFEST_FILE), '', { mode: 0o600, flag: 'wx' });
        return unread();
      }
      // Record indexes are read as snap/statement.json names them; one that does not parse is refused later.
      statement = declared.statement;
      if (!statement) return unread();
    }
    // Record indexes, for record diffs: which ones the statement names.
    const altered = (await reader.spoolRecordIndexes(archiveRecordIndexes(statement.predicate.records))).find((x) => x.actual !== x.sha256);
    if (altered) {
      const f = alteredIndex(altered);
      throw new SnapError(f.code, `${file}: ${f.message}`, { path: file, reason: f.reason, sha256: altered.sha256 });
    }
  } catch (e) {
    await reader.close();
    throw e;
  }
  return { location: { ...reader.location, ref, objectsDir: join(reader.spoolDir, 'objects', 'sha256') }, close: () => reader.close() };
}

// -------------------------------------------------------------------------------------------- export

/** Options of {@link exportSnapshot}. */
export interface ExportOptions {
  /** The snapshot (from `resolveRef`). */
  snapshot: SnapshotLocation;
  /** The store folder holding its objects. */
  store: string;
  /** The archive to write; must not exist. */
  out: string;
  /** Read-and-hash worker threads (default: one per core, at most 4). */
  jobs?: number;
  onProgress?: (p: Progress) => void;
}

/** What {@link exportSnapshot} wrote. */
export interface ExportResult extends ArchiveWriteResult {
  /** `NAME@VERSION`. */
  ref: string;
  /** Snapshot id. */
  snapshot: string;
  seconds: number;
}

/**
 * Export a store snapshot as a deterministic archive (docs/FORMAT.md §10). The snapshot's manifest
 * is copied to a private scratch folder (`snap-export-`) and that copy is checked against its
 * statement first and then packed (a manifest swapped in the store meanwhile changes nothing), and
 * every object is hashed as it is packed; the archive appears only when complete. The signature is not checked here: whoever reads the archive does.
 * @throws SnapError `SNAPSHOT_NO_CONTENTS` (sealed --manifest-only) | `OBJECT_MISSING` (exit 3) |
 *   `OBJECT_CORRUPT` (an object's bytes differ from its name, exit 1) | `INTEGRITY_FAILURE` (the
 *   manifest does not match the statement; the statement or envelope is not a regular file) | `SNAPSHOT_UNSAFE` | `SNAPSHOT_MALFORMED` |
 *   `FILE_EXISTS` | `NOT_FOUND` | `DISK_FULL` | `IO_ERROR`
 */
export async function exportSnapshot(opts: ExportOptions): Promise<ExportResult> {
  const t0 = performance.now();
  await checkArchiveTarget(opts.out);
  const store = await openStore(opts.store);
  const dir = opts.snapshot.dir;
  if (!(await snapshotKeepsObjects(dir))) {
    throw new SnapError('SNAPSHOT_NO_CONTENTS', `${opts.snapshot.ref} was sealed with --manifest-only: the store keeps no contents to export (seal it again without --manifest-only, or use seal --out)`, { ref: opts.snapshot.ref });
  }
  const { statementBytes, statement } = await readStatement(dir, opts.snapshot.ref);
  // The store folder's name and the archive's file name must both be the name that was signed.
  const claims = [
    opts.snapshot.name !== undefined && opts.snapshot.version !== undefined ? { name: opts.snapshot.name, version: opts.snapshot.version } : undefined,
    archiveFileClaim(basename(opts.out)),
  ];
  for (const claim of claims) {
    const mismatch = claim && nameMismatch(statement, claim);
    if (mismatch) throw new SnapError('SNAPSHOT_NAME_MISMATCH', `${mismatch}; nothing was exported`, { ref: opts.snapshot.ref, expected: `${claim.name}@${claim.version}`, signed: statementRef(statement) });
  }
  const envelopeBytes = await readSmallFile(join(dir, ENVELOPE_FILE), MAX_ENVELOPE_BYTES + 1, "cannot read the snapshot's envelope", damaged(opts.snapshot.ref, join(dir, ENVELOPE_FILE)));
  const pred = statement.predicate;
  // What is packed (the manifest member, and the data members it lists) is a private copy, the
  // bytes judged here: the store's file may be swapped by someone who can write the store.
  const copy = await privateManifestCopy(join(dir, MANIFEST_FILE), 'snap-export-', opts.snapshot.ref, pred.fileCount, 'exported');
  try {
    return await packSnapshot(opts, store, statementBytes, envelopeBytes, copy.manifestPath, pred, t0);
  } finally {
    await copy.release();
  }
}

/**
 * Copy a store snapshot's manifest (`from`) into a new private scratch folder (`prefix`), for
 * `restore` and `export` to judge against the signed statement and then use: one swapped in the
 * store after it was judged never steers what they write. At most `fileCount` ×
 * {@link MAX_MANIFEST_ENTRY_BYTES} bytes are copied (a longer file cannot be the signed manifest).
 * @param nothing the past participle of the command's work ("restored", "exported") for the error
 * @returns the copy's path and `release()`, which removes the folder (also on an interrupt)
 * @throws SnapError `INTEGRITY_FAILURE` (longer than its signed lines can be) | the codes of
 *   copyManifest (`NOT_FOUND`, `IO_ERROR`, `DISK_FULL`) and makeScratchDir
 */
export async function privateManifestCopy(from: string, prefix: 'snap-restore-' | 'snap-export-', ref: string, fileCount: number, nothing: string): Promise<{ manifestPath: string; release: () => Promise<void> }> {
  const scratch = await makeScratchDir(prefix);
  const release = removeWhenDone(scratch);
  try {
    const manifestPath = join(scratch, MANIFEST_FILE);
    const maxBytes = fileCount * MAX_MANIFEST_ENTRY_BYTES;
    if (!(await copyManifest(from, manifestPath, maxBytes))) {
      throw new SnapError('INTEGRITY_FAILURE', `${ref}: its manifest is longer than the ${fileCount} signed lines can be (${maxBytes} bytes): it was altered; nothing was ${nothing}`, { ref });
    }
    return { manifestPath, release };
  } catch (e) {
    await release();
    throw e;
  }
}

/** {@link exportSnapshot} once the statement and envelope are read and the manifest copied to `manifestPath`. */
async function packSnapshot(opts: ExportOptions, store: Store, statementBytes: Buffer, envelopeBytes: Buffer, manifestPath: string, pred: SnapshotPredicate, t0: number): Promise<ExportResult> {
  const failure = await checkManifestAgainst(manifestPath, pred, 'snapshot');
  if (failure) throw new SnapError('INTEGRITY_FAILURE', `${opts.snapshot.ref}: ${failure.message}; nothing was exported`, { ref: opts.snapshot.ref });
  const r = await writeArchive(opts.out, {
    statementBytes,
    envelopeBytes,
    manifestPath,
    createdAt: pred.createdAt,
    recordIndexes: archiveRecordIndexes(pred.records).map((x) => ({ sha256: x.sha256, path: objectPath(store, x.sha256) })),
    filePath: (e) => objectPath(store, e.sha256),
    jobs: opts.jobs,
    totals: { files: pred.fileCount, bytes: pred.totalBytes },
    mismatch: (e, why) =>
      why === 'missing'
        ? new SnapError('OBJECT_MISSING', `the store ${store.root} lacks the object of ${e.path} (sha256 ${e.sha256}); nothing was exported (run snap fsck)`, { path: e.path, sha256: e.sha256 })
        : new SnapError('OBJECT_CORRUPT', `the store object of ${e.path} (sha256 ${e.sha256}) is corrupt (${why}); nothing was exported (run snap fsck)`, { path: e.path, sha256: e.sha256 }),
    onProgress: (files, bytes) => opts.onProgress?.({ files, bytes, totalFiles: pred.fileCount, totalBytes: pred.totalBytes }),
  });
  return { ...r, ref: `${pred.dataset}@${pred.version}`, snapshot: snapshotId(statementBytes), seconds: (performance.now() - t0) / 1000 };
}

/** The error for a snapshot file that is not a regular file (a FIFO planted in the store must not hang export). */
function damaged(ref: string, path: string): (shown: string) => SnapError {
  return (shown) => new SnapError('INTEGRITY_FAILURE', `${ref}: ${shown} is not a regular file: the snapshot was damaged; nothing was exported`, { ref, path });
}

async function readStatement(dir: string, ref: string): Promise<{ statementBytes: Buffer; statement: Statement }> {
  const path = join(dir, STATEMENT_FILE);
  // Bounded (a longer one is cut short, and refused by the parser) and never a FIFO.
  const statementBytes = await readSmallFile(path, MAX_STATEMENT_BYTES + 1, "cannot read the snapshot's statement", damaged(ref, path));
  try {
    return { statementBytes, statement: parseStatement(statementBytes) };
  } catch (e) {
    throw new SnapError('SNAPSHOT_MALFORMED', `${ref}: ${path} is not a valid snap statement (${(e as Error).message})`, { path });
  }
}

// -------------------------------------------------------------------------------- verify an archive

/** Options of {@link verifyArchive}. */
export interface VerifyArchiveOptions {
  file: string;
  trusted: readonly TrustedKey[];
  threshold?: number;
  /** Expiry, revocations and policy (trust/rules.ts), applied by `checkTrust`. */
  rules?: TrustRules;
  /** How the user named it (default: the path). */
  ref?: string;
  onProgress?: (p: Progress) => void;
}

const emptyCounts = (): VerifyCounts => ({ matched: 0, modified: 0, missing: 0, extra: 0, 'type-changed': 0, unreadable: 0 });

/**
 * Verify an archive on its own: trust, manifest, then every data member streamed and hashed;
 * nothing is extracted (only the statement, envelope and manifest are spooled to a private
 * temporary folder, then removed). The report has the shape of `verify` (SPEC §8): a member whose
 * bytes differ from its digest is a `modified` problem; an untrusted archive has `failure` set.
 * @returns the report; `ok` only when trusted and every member matches
 * @throws SnapError `ARCHIVE_HOSTILE` (exit 1) or `ARCHIVE_MALFORMED` (exit 3) for an archive that
 *   breaks the format (see {@link ArchiveReader.items}) | `NOT_FOUND` | `IO_ERROR`
 */
export async function verifyArchive(opts: VerifyArchiveOptions): Promise<VerifyReport> {
  const t0 = performance.now();
  const ref = opts.ref ?? opts.file;
  const o = await openArchive(opts.file, { trusted: opts.trusted, threshold: opts.threshold, ref, rules: opts.rules });
  const seconds = () => (performance.now() - t0) / 1000;
  try {
    const base = { snapshot: o.trust.snapshot, ref, signers: o.trust.signers as SignerReport[], ...(o.trust.revocations ? { revocations: o.trust.revocations } : {}), ...(o.trust.policy ? { policy: o.trust.policy } : {}) };
    if (o.failure || !o.statement || !o.manifestPath) {
      const manifestChecked = o.trust.ok;
      return {
        ok: false, ...base, counts: emptyCounts(), problems: [], failure: o.failure,
        ...(manifestChecked ? { manifest: { ok: false } } : {}),
        files: 0, bytes: 0, seconds: seconds(),
      };
    }
    const pred = o.statement.predicate;
    const counts = emptyCounts();
    const problems: Problem[] = [];
    let files = 0;
    let bytes = 0;
    for await (const item of o.reader.items(o.manifestPath)) {
      if (item.kind === 'file') {
        const v = await item.finish();
        bytes += v.size;
        if (v.ok) counts.matched++;
        else {
          counts.modified++;
          problems.push({ path: item.entry.path, kind: 'modified', expected: { sha256: item.entry.sha256, size: item.entry.size }, actual: { sha256: v.sha256, size: v.size } });
        }
      } else counts.matched++;
      files++;
      opts.onProgress?.({ files, bytes, totalFiles: pred.fileCount, totalBytes: pred.totalBytes });
    }
    return {
      ok: problems.length === 0, ...base, counts, problems, statement: o.statement,
      manifest: { ok: true, merkleRoot: pred.merkleRoot, manifestSha256: pred.manifestSha256 },
      files, bytes, seconds: seconds(),
    };
  } finally {
    await o.reader.close();
  }
}

// -------------------------------------------------------------------------------------------- import

/** Options of {@link importArchive}. */
export interface ImportOptions {
  file: string;
  /** Store folder (made when missing). */
  store: string;
  trusted: readonly TrustedKey[];
  threshold?: number;
  /** Expiry, revocations and policy (trust/rules.ts), applied by `checkTrust`. */
  rules?: TrustRules;
  onProgress?: (p: Progress) => void;
}

/** What {@link importArchive} did. */
export interface ImportResult {
  /** `NAME@VERSION`. */
  ref: string;
  snapshot: string;
  /** True when the store already held this very snapshot (nothing was written). */
  alreadyPresent: boolean;
  signers: SignerReport[];
  files: number;
  symlinks: number;
  /** Content bytes read from the archive. */
  bytes: number;
  /** Objects added, and their bytes (the rest were already in the store). */
  newObjects: number;
  newObjectBytes: number;
  /**
   * Digests (64 hex) of objects the store already had under this archive's digests whose bytes were
   * not those (another size, other content, or not a regular file): each was replaced by the
   * archive's checked copy. Empty when nothing needed mending (and when `alreadyPresent`).
   */
  mendedObjects: string[];
  /** The snapshot's folder in the store. */
  dir: string;
  seconds: number;
  /** True when there was no store at `store` and this import made it. */
  storeCreated: boolean;
}

/**
 * Import an archive into a store: only a trusted archive (signature, statement, manifest) is
 * read past its manifest; each new file's bytes are written to `STORE/tmp` while hashed (an object
 * already staged is hashed and not written again; one already in the store is compared byte for byte
 * with the member as it streams, and when it is not those bytes — another size, other content, a
 * link or a folder — the member's bytes are staged and replace it: `mendedObjects`); only when every member
 * has checked out are the staged objects moved into `objects/` and the snapshot folder (statement,
 * envelope, manifest, contents.json) committed atomically. Runs under the store's write lock. A
 * refused or failed import adds nothing to the store. When there is no store, one is made where its
 * parent folder exists (`storeCreated` says so), and removed again if the import is refused or fails.
 * @throws SnapError the trust failure's code (`SIGNATURE_INVALID`, `INTEGRITY_FAILURE`, …: nothing is
 *   written) | `SNAPSHOT_EXISTS` (NAME@VERSION holds another snapshot, or a statement that is not a regular file) | `INTEGRITY_FAILURE` (a member's
 *   bytes differ from its digest; the store holds this snapshot with a manifest that is not the signed one) | `ARCHIVE_HOSTILE` | `ARCHIVE_MALFORMED` | `STORE_LOCKED` |
 *   `STORE_MALFORMED` | `NOT_FOUND` | `DISK_FULL` | `IO_ERROR`
 */
export async function importArchive(opts: ImportOptions): Promise<ImportResult> {
  const store = await openStore(opts.store, { create: true });
  try {
    return { ...(await importInto(store, opts)), storeCreated: store.created !== undefined };
  } catch (e) {
    await discardNewStore(store); // a refused or failed import leaves no new store behind
    throw e;
  }
}

async function importInto(store: Store, opts: ImportOptions): Promise<Omit<ImportResult, 'storeCreated'>> {
  const t0 = performance.now();
  const lock = await lockStoreMaking(store);
  let work: string | undefined;
  let o: OpenedArchive | undefined;
  try {
    work = await makeTmpDir(store, 'import');
    o = await openArchive(opts.file, { trusted: opts.trusted, threshold: opts.threshold, spoolParent: work, rules: opts.rules });
    const { statement, manifestPath } = requireTrusted(o, opts.file);
    const pred = statement.predicate;
    const ref = `${pred.dataset}@${pred.version}`;
    const id = o.trust.snapshot;
    const dest = snapshotDir(store, pred.dataset, pred.version);
    const result: Omit<ImportResult, 'storeCreated'> = {
      ref, snapshot: id, alreadyPresent: false, signers: o.trust.signers, files: 0, symlinks: 0, bytes: 0, newObjects: 0, newObjectBytes: 0, mendedObjects: [], dir: dest, seconds: 0,
    };
    if (isSnapshotFolder(dest)) {
      // Bounded, and never a FIFO: one planted there would hang the import, store locked, past SIGTERM.
      const bytes = await readSmallFile(join(dest, STATEMENT_FILE), MAX_STATEMENT_BYTES + 1, 'cannot read the statement', (shown) =>
        new SnapError('SNAPSHOT_EXISTS', `${ref} already exists in ${store.root}, but its statement ${shown} is not a regular file (run snap fsck); snapshots are write-once`, { ref }),
      );
      const there = snapshotId(bytes);
      if (there !== id) throw new SnapError('SNAPSHOT_EXISTS', `${ref} already exists in ${store.root} as another snapshot (${there}); snapshots are write-once`, { ref, snapshot: there });
      // "Already there" only when it is: the store's manifest must be the signed one (one read of it).
      if ((await rawSha256(join(dest, MANIFEST_FILE))) !== pred.manifestSha256) {
        throw new SnapError('INTEGRITY_FAILURE', `${ref} (${id}) is in ${store.root}, but its manifest.jsonl there is not the signed one (it was altered): the store's copy is damaged and snapshots are write-once, so nothing was imported (run snap fsck)`, { ref, snapshot: id, path: join(dest, MANIFEST_FILE) });
      }
      return { ...result, alreadyPresent: true, seconds: (performance.now() - t0) / 1000 };
    }
    // New objects are staged under STORE/tmp, named by digest, and moved into objects/ only once the
    // whole archive has checked out: a refused archive adds nothing to the store.
    const staging = join(work, 'objects');
    await fsp.mkdir(staging);
    let n = 0;
    for await (const item of o.reader.items(manifestPath)) {
      checkInterrupted(); // reading the archive waits on no worker
      if (item.kind === 'symlink') {
        result.symlinks++;
      } else {
        const e = item.entry;
        const staged = join(staging, e.sha256);
        let present: number | 'damaged' | undefined;
        if (existsSync(staged)) {
          const v = await item.finish(); // already staged: check the bytes, keep one copy
          if (!v.ok) throw dataMismatch(opts.file, e.path, e.sha256, v.sha256);
        } else if ((present = openPresentObject(objectPath(store, e.sha256), e.size)) !== undefined) {
          // Already in the store: compared with the member as it streams; staged only when it is not those bytes.
          const tmp = join(work, `obj-${n++}`);
          const copied = await compareOrStage(item, present, objectPath(store, e.sha256), tmp);
          const v = await item.finish();
          if (!v.ok) throw dataMismatch(opts.file, e.path, e.sha256, v.sha256);
          if (copied) {
            if (copied.sha256 !== e.sha256) throw new SnapError('OBJECT_CORRUPT', `object ${e.sha256} in ${store.root} changed while import read it; nothing was imported (run snap fsck)`, { sha256: e.sha256 });
            renameSync(tmp, staged);
            result.mendedObjects.push(e.sha256);
          }
        } else {
          const tmp = join(work, `obj-${n++}`);
          const fd = openSync(tmp, 'wx', 0o444);
          // A large object's write-back starts while it is written (io/early-writeback.ts): the flush
          // before the objects are named then waits for less. Settled, and any error of it thrown,
          // before the descriptor is closed: that flush reopens the object and would not see it.
          const writeback = new EarlyWriteback(fd);
          let written = false;
          try {
            for await (const chunk of item.chunks()) {
              checkInterrupted();
              writeChunk(fd, chunk, tmp);
              writeback.wrote(chunk.length);
            }
            written = true;
          } finally {
            const flushError: unknown = await writeback.settle().then(() => undefined, (e: unknown) => e);
            closeSync(fd);
            if (written && flushError !== undefined) throw ioError(flushError, tmp, 'cannot flush the object to disk');
          }
          const v = await item.finish();
          if (!v.ok) throw dataMismatch(opts.file, e.path, e.sha256, v.sha256);
          renameSync(tmp, staged);
          result.newObjects++;
          result.newObjectBytes += e.size;
        }
        result.files++;
        result.bytes += e.size;
      }
      opts.onProgress?.({ files: result.files + result.symlinks, bytes: result.bytes, totalFiles: pred.fileCount, totalBytes: pred.totalBytes });
    }
    // Everything checked: move the staged objects into place (a second pass over the manifest) once
    // their bytes are on disk (one syncfs, as seal does: an object is never under its final name
    // before its bytes are durable), then flush the renames.
    const staged = result.newObjects + result.mendedObjects.length;
    // Every fan-out folder a staged object or a record index goes to, made or checked before any is
    // moved: one that is a symbolic link is refused (nothing is written through it into where it leads).
    // (Streamed: at most 256 fan-out folders, however many objects are staged.)
    const fans = new Map<string, string>();
    for await (const d of await fsp.opendir(staging)) if (!fans.has(d.name.slice(0, 2))) fans.set(d.name.slice(0, 2), d.name);
    for (const x of o.recordIndexes ?? []) if (!fans.has(x.sha256.slice(0, 2))) fans.set(x.sha256.slice(0, 2), x.sha256);
    for (const hex of fans.values()) await ownFanFolder(store, hex, 'import writes nothing through it, and added nothing to the store');
    // A few objects (FSYNC_EACH_MAX_OBJECTS) are flushed one by one instead, each before its rename,
    // then the folders they went into — as a seal of a few new files does.
    const fsyncEach = staged <= FSYNC_EACH_MAX_OBJECTS;
    if (staged > 0) {
      if (!fsyncEach) syncFileSystem(staging);
      const into = new Set<string>();
      for await (const run of checkedEntryRuns(manifestPath)) {
        for (const e of run) {
          if ('type' in e) continue;
          const from = join(staging, e.sha256);
          const final = objectPath(store, e.sha256);
          try {
            // Nothing staged under that digest: an object the store had, or one moved already.
            if (fsyncEach && !fsyncFileSync(from)) continue;
          } catch (err) {
            throw ioError(err, from, 'cannot flush the object to disk');
          }
          try {
            moveIntoPlace(from, final);
            if (fsyncEach) into.add(dirname(final));
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(err, final, 'cannot add the object to the store');
          }
        }
      }
      if (fsyncEach) {
        for (const dir of into) await fsyncDir(dir);
        await fsyncDir(store.objectsDir); // the fan-out folders made for them
      }
    }
    if (staged > 0 && !fsyncEach) syncFileSystem(store.objectsDir);
    // The record indexes the statement names, checked when spooled: objects too, before the snapshot names them.
    result.mendedObjects.push(...(await storeIndexObjects(store, o.recordIndexes ?? [], 'content')));
    const snap = join(work, 'snapshot');
    await fsp.mkdir(snap);
    await fsp.copyFile(manifestPath, join(snap, MANIFEST_FILE));
    await fsp.chmod(join(snap, MANIFEST_FILE), 0o444);
    const mf = await fsp.open(join(snap, MANIFEST_FILE), 'r');
    await mf.sync().finally(() => mf.close());
    await writeFileAtomic(join(snap, STATEMENT_FILE), await fsp.readFile(join(o.reader.spoolDir, STATEMENT_FILE)), { exclusive: true });
    await writeFileAtomic(join(snap, ENVELOPE_FILE), await fsp.readFile(join(o.reader.spoolDir, ENVELOPE_FILE)), { mode: 0o644, exclusive: true });
    await writeFileAtomic(join(snap, CONTENTS_FILE), JSON.stringify({ objects: true }) + '\n', { exclusive: true });
    await fsyncDir(snap);
    checkInterrupted(); // the last moment a signal stops the import; once committed, it is done
    result.dir = await commitSnapshot(store, snap, pred.dataset, pred.version);
    result.seconds = (performance.now() - t0) / 1000;
    return result;
  } finally {
    await o?.reader.close();
    if (work) await fsp.rm(work, { recursive: true, force: true }).catch(() => {});
    await lock.release();
  }
}

/**
 * Open the store's object at `path` if there is one, for {@link compareOrStage}.
 * @param size the size the archive's manifest gives the object's bytes
 * @returns an open fd of a regular file of `size` bytes (the caller's, to close through
 *   compareOrStage); `'damaged'` when something else is there (a link, a folder, a FIFO, another
 *   size, or a file this user cannot read); undefined when nothing is (a new object)
 * @throws SnapError `IO_ERROR`
 */
function openPresentObject(path: string, size: number): number | 'damaged' | undefined {
  let fd: number;
  try {
    // Never follows a link, never blocks on a FIFO.
    fd = openSync(path, FS.O_RDONLY | (FS.O_NOFOLLOW ?? 0) | (FS.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP' || code === 'EACCES' || code === 'EPERM' || code === 'ENXIO') return 'damaged';
    throw ioError(e, path, 'cannot read the object');
  }
  let st;
  try {
    st = fstatSync(fd);
  } catch (e) {
    closeSync(fd);
    throw ioError(e, path, 'cannot read the object');
  }
  if (st.isFile() && st.size === size) return fd;
  closeSync(fd);
  return 'damaged';
}

/** Reused by {@link compareOrStage} to read the store's bytes beside each chunk (grown as needed). */
let compareBuffer = Buffer.alloc(0);

/** Read `len` bytes of `fd` at `pos` into the compare buffer; fewer when the file ends first. */
function readAt(fd: number, pos: number, len: number): Buffer {
  if (compareBuffer.length < len) compareBuffer = Buffer.allocUnsafe(Math.max(len, 1 << 16));
  let got = 0;
  while (got < len) {
    const k = readSync(fd, compareBuffer, got, len - got, pos + got);
    if (k === 0) break;
    got += k;
  }
  return compareBuffer.subarray(0, got);
}

/**
 * Stream an archive member past the object the store already has at its digest. A present object
 * (an fd of the right size, from {@link openPresentObject}) is compared byte for byte with each
 * chunk (one read of the object, no second hash: the member itself is hashed as it streams); at
 * the first difference, the bytes compared so far are copied from the object into `tmp` (mode
 * 0444) and the rest of the member follows. A `'damaged'` object gets the whole member in `tmp`.
 * The fd is closed. Checking the member against its digest is the caller's (`item.finish()`).
 * @param obj the object's path (named in an error)
 * @returns undefined when the object holds the member's bytes; else the SHA-256 (hex) of what was
 *   written to `tmp` (the caller renames it over the object only when that is the object's name:
 *   the copied prefix comes from the store, which could have changed between the two reads)
 * @throws SnapError `IO_ERROR` | `DISK_FULL` | `INTERRUPTED` / `TERMINATED`
 */
async function compareOrStage(item: ArchiveFileItem, present: number | 'damaged', obj: string, tmp: string): Promise<{ sha256: string } | undefined> {
  const fd = present === 'damaged' ? undefined : present;
  let out: number | undefined;
  const h = createHash('sha256');
  const write = (b: Buffer): void => {
    h.update(b);
    writeChunk(out as number, b, tmp);
  };
  try {
    if (fd === undefined) out = openSync(tmp, 'wx', 0o444);
    let pos = 0;
    for await (const chunk of item.chunks()) {
      checkInterrupted();
      if (out === undefined) {
        if (readAt(fd as number, pos, chunk.length).equals(chunk)) {
          pos += chunk.length;
          continue;
        }
        out = openSync(tmp, 'wx', 0o444);
        if (process.env.SNAP_TEST_CHANGE_OBJECT_BEFORE_COPY === obj && pos > 0) changeFirstByteForTest(obj);
        for (let at = 0; at < pos; at += WRITE_SLICE) write(readAt(fd as number, at, Math.min(WRITE_SLICE, pos - at)));
      }
      write(chunk);
      pos += chunk.length;
    }
  } catch (e) {
    throw isSnapError(e) ? e : ioError(e, obj, 'cannot check the object against the archive');
  } finally {
    if (fd !== undefined) closeSync(fd);
    if (out !== undefined) closeSync(out);
  }
  return out === undefined ? undefined : { sha256: h.digest('hex') };
}

/**
 * Test hook (SNAP_TEST_CHANGE_OBJECT_BEFORE_COPY = an object's path): flip the first byte of the
 * object in place, as someone writing the store between import's comparison of the object and its
 * copy of the matching start would; proves that such a copy is refused, not stored.
 */
function changeFirstByteForTest(obj: string): void {
  const fd = openSync(obj, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, 0);
    b[0] = (b[0] as number) ^ 0xff;
    writeSync(fd, b, 0, 1, 0);
  } finally {
    closeSync(fd);
  }
}

/**
 * Rename a staged object to its final name, over whatever is there: a damaged object (mode 0444
 * does not stop a rename) or link is replaced; a folder in its place is removed first.
 */
function moveIntoPlace(staged: string, final: string): void {
  try {
    renameSync(staged, final);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if ((code !== 'EISDIR' && code !== 'ENOTEMPTY' && code !== 'EEXIST') || !lstatSync(final).isDirectory()) throw e;
    rmSync(final, { recursive: true, force: true });
    renameSync(staged, final);
  }
}

/** The error for an archive member whose bytes differ from its signed digest. */
export function dataMismatch(file: string, path: string, expected: string, actual: string): SnapError {
  return new SnapError('INTEGRITY_FAILURE', `${file}: the bytes of data/${path} do not match its signed digest (sha256 ${actual}, expected ${expected}); the archive was refused`, { path, expected, actual });
}

/** Write a whole chunk at the file's position (synchronous), in writes of at most {@link WRITE_SLICE} bytes. */
function writeChunk(fd: number, chunk: Buffer, path: string): void {
  try {
    let off = 0;
    while (off < chunk.length) off += writeSync(fd, chunk, off, Math.min(WRITE_SLICE, chunk.length - off));
  } catch (e) {
    throw ioError(e, path, 'cannot write');
  }
}

/**
 * The bytes of one small data file of an archive, exactly as its signed manifest names them
 * (`check` reads a snapshot's own `snap.json` here: its thresholds and record rules). The archive is
 * read again from its start: its manifest member must be the one `predicate` signs (SHA-256), the
 * record index members are passed over unread, and the data members are streamed, each checked
 * against its manifest entry, up to `path`, whose bytes must hash to the entry's digest.
 * @param maxBytes a larger entry is not read (undefined is returned)
 * @returns the bytes, or undefined when the manifest has no such file or it is larger than `maxBytes`
 * @throws SnapError `INTEGRITY_FAILURE` (the manifest member, or the file's bytes, are not the signed
 *   ones) | every code of {@link ArchiveReader.open}, {@link ArchiveReader.items}
 */
export async function readArchiveDataFile(file: string, predicate: SnapshotPredicate, path: string, maxBytes: number): Promise<Buffer | undefined> {
  const reader = await ArchiveReader.open(file, tmpdir());
  try {
    const spool = await reader.spoolManifest(predicate.fileCount * MAX_MANIFEST_ENTRY_BYTES);
    if (spool.tooLarge || spool.sha256 !== predicate.manifestSha256) throw new SnapError('INTEGRITY_FAILURE', `${file}: snap/manifest.jsonl is not the signed manifest`, { path: file });
    for await (const _ of reader.recordIndexMembers(archiveRecordIndexes(predicate.records))) void _; // bodies passed over, unread
    for await (const item of reader.items(spool.path)) {
      if (item.entry.path !== path) continue;
      if (item.kind !== 'file' || item.entry.size > maxBytes) return undefined;
      const parts: Buffer[] = [];
      for await (const c of item.chunks()) parts.push(Buffer.from(c));
      const v = await item.finish();
      if (!v.ok) throw new SnapError('INTEGRITY_FAILURE', `${file}: ${path} is not the signed bytes`, { path: file, file: path });
      return Buffer.concat(parts);
    }
    return undefined;
  } finally {
    await reader.close();
  }
}
