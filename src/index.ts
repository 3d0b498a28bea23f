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
export * from './core/display.js';
export * from './core/name-bytes.js';
export { sign, verify as verifySignature, publicKeyOf } from './core/ed25519.js';
export { readPrivateKey, readPublicKey, writeKeyPair } from './io/keyfile.js';
export { openStore, lockStore, listSnapshots, resolveRef, storePath, objectPath, type Store, type SnapshotInfo, type SnapshotLocation } from './io/store.js';
export { walkDataset, walkDatasetRuns, nameDetails, suggestExclude, type WalkItem, type WalkOptions } from './io/walk.js';
export { seal, scanDataset, type SealOptions, type SealResult, type Progress } from './seal.js';
export { verify, type VerifyOptions, type VerifyReport, type Problem, type ProblemKind } from './verify.js';
export { diff, isIdentical, type DiffInput, type DiffReport, type DiffSide, type DiffExtra } from './diff.js';
export { checkTrust, readSnapshotUnverified, type TrustCheck, type SignerReport } from './snapshot.js';
export { fsck, type FsckOptions, type FsckReport, type SnapshotFsck, type CorruptObject, type MissingObject, type ObjectUser } from './fsck.js';
export { repairStore, type RepairOptions, type RepairReport, type RepairResult, type RepairedObject, type UnrepairedObject } from './repair.js';
export { findLeftovers, clearLeftovers, type Leftover, type LeftoverKind, type CleanResult } from './io/leftovers.js';
export { interruptedBy, interrupt, checkInterrupted, removeLeftovers, type InterruptSignal } from './io/interrupt.js';
export { appendAudit, readLog, verifyLog, type AuditEntry, type AuditLine, type AppendResult, type LogVerification, type LogProblem } from './io/audit-log.js';
export * from './core/archive.js';
export * from './core/proof.js';
export { prove, type ProveOptions, type ProveResult } from './proofs/prove.js';
export { verifyProofFile, type VerifyProofFileOptions, type ProofFileVerification } from './proofs/verify-proof.js';
export { exportSnapshot, verifyArchive, importArchive, openArchive, openArchiveSnapshot, checkManifestAgainst, type ExportOptions, type ExportResult, type VerifyArchiveOptions, type ImportOptions, type ImportResult, type OpenedArchive } from './archive.js';
export { sealToArchive, type SealArchiveOptions, type SealArchiveResult } from './archive-seal.js';
export { restore, type RestoreOptions, type RestoreResult, type RestoreSource } from './restore.js';
export { ArchiveReader, writeArchive, type ArchiveContents, type ArchiveItem, type ArchiveWriteResult } from './io/archive.js';
export { runCli, type CliIo } from './cli/run.js';
