/**
 * `attest`: sign a model attestation (core/attestation.ts) naming the training-data snapshots of
 * a model's artifacts, and keep it in the store (provenance/attestation-store.ts).
 */
import { SnapError, type SnapErrorCode } from '../core/errors.js';
import { parseNameVersion, NAME_RE } from '../core/refs.js';
import { serializeEnvelope, signEnvelope } from '../core/envelope.js';
import type { PrivateKey } from '../core/keys.js';
import { attestationId, buildAttestation, serializeAttestation, MAX_TRAINING_DATASETS, type AttestationStatement, type TrainingDataset, type TrainingRun } from '../core/attestation.js';
import { formatTime, statementRef } from '../core/statement.js';
import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { type SnapshotLocation, type Store } from '../io/store.js';
import { writeOutputFile } from '../io/output-temp.js';
import { readSnapshotUnverified, type TrustCheck } from '../snapshot.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import type { HashedArtifact } from './artifacts.js';
import { storeAttestation } from './attestation-store.js';

/** Options of {@link attestModel}. */
export interface AttestOptions {
  artifacts: readonly HashedArtifact[];
  /** The training-data snapshots, located. */
  data: readonly SnapshotLocation[];
  key: PrivateKey;
  store: Store;
  /** `MODEL@VERSION`; default: the first artifact's name (made a NAME) @ the first 12 hex of its digest. */
  as?: string;
  training?: TrainingRun;
  now?: () => Date;
  /**
   * How each training snapshot is checked before it is named (`attest --pubkey`: checkTrust with
   * the keys and the trust rules, as `verify-model` will judge it). Without it, a snapshot is only
   * required to carry a signature, by any key: whoever can write the store could put a snapshot of
   * their own under the name given, and the attester's key would vouch for it.
   */
  check?: (loc: SnapshotLocation) => Promise<TrustCheck>;
  /**
   * Also write the signed envelope to this new file (`attest --out`), before the attestation is
   * stored: a file that exists (`FILE_EXISTS`) or cannot be written stops the attestation with
   * nothing stored, and the file is removed again when storing then fails.
   */
  out?: string;
}

/** What {@link attestModel} made. */
export interface AttestResult {
  ref: string;
  id: string;
  dir: string;
  statement: AttestationStatement;
  envelopeBytes: Uint8Array;
  keyid: string;
}

/** The default MODEL@VERSION of artifacts: a NAME made of the first file's name, and its digest's first 12 hex. */
export function defaultModelRef(first: Pick<HashedArtifact, 'name' | 'digest'>): string {
  let name = first.name.toLowerCase().replace(/\.[^.]*$/, '').replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 100);
  if (!NAME_RE.test(name)) name = 'model';
  return `${name}@${first.digest.sha256.slice(0, 12)}`;
}

/**
 * The default MODEL@VERSION of a model folder: a NAME made of the folder's name, and the first 12
 * hex of the SHA-256 of its artifacts' `SHA256 NAME` lines (sorted by name, each ending in a line
 * feed), so that another content gives another version.
 */
export function defaultFolderRef(folder: string, artifacts: readonly HashedArtifact[]): string {
  const lines = [...artifacts].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0)).map((x) => `${x.digest.sha256} ${x.name}\n`).join('');
  const sha256 = createHash('sha256').update(lines).digest('hex');
  return defaultModelRef({ name: basename(folder), digest: { sha256 } });
}

/**
 * The training-data record of a snapshot: it must carry a signature (at least one, checked by no
 * key: one that verifies under none passes) and be signed as the name it was found under; its
 * signatures are checked by `verify-model`, not here.
 * @throws SnapError `SNAPSHOT_MALFORMED` | `SNAPSHOT_NAME_MISMATCH` | `SIGNATURE_INVALID` (unsigned) | `NOT_FOUND` | `IO_ERROR`
 */
export async function trainingDatasetOf(loc: SnapshotLocation): Promise<TrainingDataset> {
  const info = await readSnapshotUnverified(loc);
  if (!info.statement) throw new SnapError('SNAPSHOT_MALFORMED', `${loc.ref} has no valid statement`, { ref: loc.ref });
  if (info.keyids.length === 0) throw new SnapError('SIGNATURE_INVALID', `${loc.ref} is not signed: a model can only be attested as trained on signed snapshots`, { ref: loc.ref });
  return { ref: statementRef(info.statement), snapshot: info.snapshot, merkleRoot: info.statement.predicate.merkleRoot };
}

/**
 * The training-data record of a snapshot that passed `check`: its id, signed name and Merkle root
 * are those of the payload the check verified (not read again).
 * @throws SnapError the check's failure code (`SIGNATURE_INVALID`, `INTEGRITY_FAILURE`,
 *   `SNAPSHOT_NAME_MISMATCH`, `SNAPSHOT_REVOKED`, `SNAPSHOT_EXPIRED`, …: exit 1) | `NOT_FOUND` | `IO_ERROR`
 */
export async function checkedTrainingDatasetOf(loc: SnapshotLocation, check: (loc: SnapshotLocation) => Promise<TrustCheck>): Promise<TrainingDataset> {
  const t = await check(loc);
  if (!t.ok || !t.statement) {
    const f = t.failure ?? { code: 'SIGNATURE_INVALID', message: 'not trusted' };
    throw new SnapError(f.code as SnapErrorCode, `training data ${loc.ref} is not trusted by the --pubkey keys: ${f.message}; nothing was attested`, { ref: loc.ref });
  }
  return { ref: statementRef(t.statement), snapshot: t.snapshot, merkleRoot: t.statement.predicate.merkleRoot };
}

/**
 * Attest that `artifacts` were trained on `data`; sign and store the attestation (write-once).
 * @throws SnapError `USAGE` (no data, too many, a snapshot named twice) | `REF_MALFORMED` (`as`) |
 *   `ATTESTATION_EXISTS` | `STATEMENT_INVALID` | `FILE_EXISTS` (`out`) | `DISK_FULL` | codes of
 *   {@link trainingDatasetOf} (or, with `check`, {@link checkedTrainingDatasetOf}) and of storeAttestation
 */
export async function attestModel(opts: AttestOptions): Promise<AttestResult> {
  if (opts.data.length === 0) throw new SnapError('USAGE', 'name the training data with --data REF');
  if (opts.data.length > MAX_TRAINING_DATASETS) throw new SnapError('USAGE', `at most ${MAX_TRAINING_DATASETS} --data snapshots`);
  const first = opts.artifacts[0];
  if (!first) throw new SnapError('USAGE', 'name at least one model file');
  const { name: model, version } = parseNameVersion(opts.as ?? defaultModelRef(first));
  const datasets: TrainingDataset[] = [];
  for (const loc of opts.data) {
    const d = opts.check ? await checkedTrainingDatasetOf(loc, opts.check) : await trainingDatasetOf(loc);
    if (datasets.some((x) => x.snapshot === d.snapshot)) throw new SnapError('USAGE', `--data names ${d.ref} twice`);
    datasets.push(d);
  }
  const statement = buildAttestation(
    opts.artifacts.map((a) => ({ name: a.name, digest: { sha256: a.digest.sha256 } })),
    {
      model,
      version,
      createdAt: formatTime((opts.now ?? (() => new Date()))()),
      datasets,
      ...(opts.training && Object.keys(opts.training).length > 0 ? { training: opts.training } : {}),
      tool: { name: TOOL_NAME, version: TOOL_VERSION },
    },
  );
  const statementBytes = serializeAttestation(statement);
  const envelopeBytes = serializeEnvelope(signEnvelope(statementBytes, [opts.key]));
  if (opts.out !== undefined) await writeOutputFile(opts.out, envelopeBytes, { mode: 0o644, exclusive: true, what: 'cannot write the attestation' });
  let dir: string;
  try {
    dir = await storeAttestation(opts.store, model, version, statementBytes, envelopeBytes);
  } catch (e) {
    if (opts.out !== undefined) await fsp.rm(opts.out, { force: true });
    throw e;
  }
  return { ref: `${model}@${version}`, id: attestationId(statementBytes), dir, statement, envelopeBytes, keyid: opts.key.keyid };
}
