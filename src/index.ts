/**
 * snap as a library: seal, verify and diff datasets; the pure core formats; keys and the store.
 * The CLI (`src/cli/`) is a thin shell over these.
 */
export * from './core/errors.js';
export * from './core/encoding.js';
export * from './core/paths.js';
export * from './core/canonical-json.js';
export * from './core/manifest.js';
export * from './core/merkle.js';
export * from './core/refs.js';
export * from './core/statement.js';
export * from './core/envelope.js';
export * from './core/keys.js';
export { sign, verify as verifySignature, publicKeyOf } from './core/ed25519.js';
export { readPrivateKey, readPublicKey, writeKeyPair } from './io/keyfile.js';
export { openStore, lockStore, listSnapshots, resolveRef, storePath, objectPath, type Store, type SnapshotInfo, type SnapshotLocation } from './io/store.js';
export { walkDataset, walkDatasetRuns, type WalkItem } from './io/walk.js';
export { seal, scanDataset, type SealOptions, type SealResult, type Progress } from './seal.js';
export { verify, type VerifyOptions, type VerifyReport, type Problem, type ProblemKind } from './verify.js';
export { diff, isIdentical, type DiffInput, type DiffReport, type DiffSide } from './diff.js';
export { checkTrust, readSnapshotUnverified, type TrustCheck, type SignerReport } from './snapshot.js';
export { fsck, type FsckOptions, type FsckReport, type SnapshotFsck, type CorruptObject, type MissingObject } from './fsck.js';
export { appendAudit, readLog, verifyLog, type AuditEntry, type AuditLine, type AppendResult, type LogVerification, type LogProblem } from './io/audit-log.js';
export * from './core/archive.js';
export { exportSnapshot, verifyArchive, importArchive, openArchive, openArchiveSnapshot, checkManifestAgainst, type ExportOptions, type ExportResult, type VerifyArchiveOptions, type ImportOptions, type ImportResult, type OpenedArchive } from './archive.js';
export { sealToArchive, type SealArchiveOptions, type SealArchiveResult } from './archive-seal.js';
export { restore, type RestoreOptions, type RestoreResult, type RestoreSource } from './restore.js';
export { ArchiveReader, writeArchive, type ArchiveContents, type ArchiveItem, type ArchiveWriteResult } from './io/archive.js';
export * from './core/revocation.js';
export * from './core/policy.js';
export * from './core/signed-note.js';
export { cosignSnapshot, cosignArchive, type CosignResult } from './trust/cosign.js';
export { keepRevocation, readRevocationFile, storeRevocations, revocationSource, judgeRevocations, type RevocationDoc, type RevocationReport, type RevocationSource } from './trust/revocations.js';
export { readPolicyFile, establishPolicy, rememberPolicy, type PolicyDoc, type VerifiedPolicy } from './trust/policy-trust.js';
export { readState, updateState, stateDir, type TrustedState } from './trust/state.js';
export { resolveLatest, rememberLatest, trustDomain, type LatestResult } from './trust/latest.js';
export { makeCheckpoint, verifyCheckpoints, readCheckpointFile, type MadeCheckpoint, type CheckpointVerification } from './trust/log-checkpoints.js';
export type { TrustRules } from './trust/rules.js';
export { runCli, type CliIo } from './cli/run.js';
