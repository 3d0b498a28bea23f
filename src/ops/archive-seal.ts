/**
 * `seal --out FILE.snap.tar`: seal a dataset straight into an archive, without a store (for
 * pipelines that push one file to artifact storage).
 *
 * Two passes over the dataset: the first hashes every file (the same worker pipeline as
 * `seal --manifest-only`) and streams the sorted manifest to a private temporary folder, then the
 * statement is built and signed; the second packs each file into the archive while hashing the very
 * bytes packed and comparing them with the manifest. A file that changed between or during the
 * passes (other bytes, other size, gone, now a link; a link with other text) stops the seal with
 * `FILE_CHANGED`, and the partial archive is removed.
 */
import { promises as fsp, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SnapError } from '../core/errors.js';
import { parseNameVersion } from '../core/refs.js';
import { serializeEnvelope } from '../core/envelope.js';
import type { PrivateKey } from '../core/keys.js';
import type { Provenance } from '../core/provenance.js';
import { writeArchive, readLinkNow, checkArchiveTarget, type ArchiveWriteResult } from '../io/archive.js';
import { MANIFEST_FILE } from '../io/store.js';
import { scanAndSign, type Progress, type SealedSnapshot } from './seal.js';
import { checkManifestAgainst } from './archive.js';
import { refuseReservedVersion } from '../trust/latest.js';
import { leaveNothing } from '../io/interrupt.js';
import { archiveRecordIndexes } from '../core/archive.js';
import type { RecordRule } from '../records/config.js';
import type { RecordSetMember } from '../core/records.js';
import { indexForSeal, readRecordConfigSource, type SealRecords } from '../records/seal-records.js';
import { makeScratchDir } from '../io/scratch-dir.js';

/** Options of {@link sealToArchive}. */
export interface SealArchiveOptions {
  /** The dataset folder. */
  dir: string;
  /** `NAME@VERSION`. */
  as: string;
  key: PrivateKey;
  /** More signing keys (co-signers); a key given twice signs once. */
  coSigners?: readonly PrivateKey[];
  /** The archive to write (`….snap.tar`); must not exist. */
  out: string;
  /** Snapshot id of the previous version (`sha256:<hex>`), when there is one. */
  parent?: string;
  /** `predicate.expiresAt`, when the snapshot should expire. */
  expiresAt?: string;
  /** gitignore-syntax patterns to leave out; recorded in the statement. */
  excludes?: readonly string[];
  /** Signed into the statement as `predicate.provenance`. */
  provenance?: Provenance;
  /** Stores lying inside the dataset folder (absolute): only their own layout is left out, everything else under them is data (io/store-layout.ts). */
  stores?: readonly string[];
  /** Record rules (`--records`) instead of the dataset's `snap.json`, each of which must index a record set (else `RECORDS_CONFIG_INVALID`, nothing sealed); `[]` (`--no-records`): none. */
  recordRules?: readonly RecordRule[];
  /** Hashing workers (default: one per core). */
  jobs?: number;
  /** Progress of the first pass (hashing), then of the second (packing, with totals). */
  onProgress?: (p: Progress) => void;
  /** The clock (tests). */
  now?: () => Date;
}

/** What {@link sealToArchive} made. */
export interface SealArchiveResult extends SealedSnapshot {
  archive: ArchiveWriteResult;
  seconds: number;
  /** The record sets signed into the statement (FORMAT §19.6), when any were indexed. */
  records?: RecordSetMember[];
}

/**
 * Seal a dataset into a new archive (see the module comment). Nothing is left behind on failure.
 * @throws SnapError `REF_MALFORMED` | `FILE_EXISTS` (the archive exists) | `DATASET_EMPTY` |
 *   `FILE_CHANGED` | `SNAPSHOT_UNSAFE` (a link the archive cannot carry safely) |
 *   `FILE_UNSUPPORTED_TYPE` | `PATH_*` | `RECORDS_*` (a record file that cannot be indexed, FORMAT
 *   §19.7) | `NOT_FOUND` | `DISK_FULL` | `IO_ERROR`
 */
export async function sealToArchive(opts: SealArchiveOptions): Promise<SealArchiveResult> {
  const t0 = performance.now();
  const { name, version } = parseNameVersion(opts.as);
  refuseReservedVersion(version);
  const root = resolve(opts.dir);
  const out = resolve(opts.out);
  await checkArchiveTarget(out); // before hashing anything
  const work = await makeScratchDir('snap-seal-');
  const forget = leaveNothing(() => rmSync(work, { recursive: true, force: true }));
  try {
    // Pass 1: hash, stream the manifest, sign (the same code as a seal into a store).
    const manifestPath = join(work, MANIFEST_FILE);
    const config = opts.recordRules ? undefined : await readRecordConfigSource(root);
    const recordRules = opts.recordRules ?? config?.config.rules ?? [];
    let indexed: SealRecords | undefined;
    const { sealed, totals, createdAt, statement, statementBytes, envelope } = await scanAndSign({
      dir: root,
      name,
      version,
      key: opts.key,
      coSigners: opts.coSigners,
      manifestPath,
      excludes: opts.excludes,
      stores: opts.stores,
      jobs: opts.jobs,
      parent: opts.parent,
      expiresAt: opts.expiresAt,
      provenance: opts.provenance,
      now: opts.now,
      onProgress: opts.onProgress,
      // Record indexes (FORMAT §19), built in the private folder and packed after the manifest (§10.1).
      ...(recordRules.length > 0 ? { records: async (path: string) => (indexed = await indexForSeal({ dir: root, manifestPath: path, rules: recordRules, tmpDir: work, everyRule: opts.recordRules !== undefined, jobs: opts.jobs, onProgress: opts.onProgress, ...(config ? { configSource: config.source } : {}) })).members } : {}),
    });
    const envelopeBytes = serializeEnvelope(envelope);
    // The archive's own rules (links that stay inside, nothing under a file or link), before packing.
    const failure = await checkManifestAgainst(manifestPath, statement.predicate, 'snapshot');
    if (failure) throw new SnapError('INTERNAL', `the manifest just written does not match its statement: ${failure.message}`);

    // Pass 2: pack, re-hashing what is packed.
    const changed = (path: string, why: string) =>
      new SnapError('FILE_CHANGED', `${path} changed after it was hashed (${why}); nothing was written. Seal again once the data is stable.`, { path });
    const archive = await writeArchive(out, {
      statementBytes,
      envelopeBytes,
      manifestPath,
      createdAt,
      recordIndexes: archiveRecordIndexes(statement.predicate.records).map((x) => {
        const built = indexed?.objects.find((o) => o.sha256 === x.sha256);
        if (!built) throw new SnapError('INTERNAL', `the record index ${x.sha256} the statement names was not built`);
        return { sha256: x.sha256, path: built.path };
      }),
      recordIndexError: (sha256) => new SnapError('INTERNAL', `the record index ${sha256} just built changed before it was packed; nothing was written`, { sha256 }),
      filePath: (e) => join(root, ...e.path.split('/')),
      jobs: opts.jobs,
      totals,
      checkSymlink: (e) => {
        const now = readLinkNow(join(root, ...e.path.split('/')));
        if (now !== e.target) throw changed(e.path, now === undefined ? 'the symbolic link is gone or no longer a link' : `the link now points to ${JSON.stringify(now)}`);
      },
      mismatch: (e, why) =>
        changed(e.path, why === 'missing' ? 'it is gone' : why === 'not-a-file' ? 'it is no longer a regular file' : why === 'size' ? 'its size differs' : 'its content differs'),
      onProgress: (files, bytes) => opts.onProgress?.({ files, bytes, totalFiles: totals.files, totalBytes: totals.bytes }),
    });
    return {
      ...sealed,
      archive,
      seconds: (performance.now() - t0) / 1000,
      ...(statement.predicate.records ? { records: statement.predicate.records } : {}),
    };
  } finally {
    await fsp.rm(work, { recursive: true, force: true }).catch(() => {});
    forget();
  }
}
