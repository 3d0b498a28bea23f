/**
 * One error class for the whole library. Every failure snap reports carries a stable `code`;
 * the CLI maps codes to exit codes in one place (`src/cli/exit-codes.ts`), and tests assert codes,
 * never message text.
 *
 * A wrong signature or a data mismatch is a *result* (a failed check), not an error: errors are for
 * malformed arguments and inputs that cannot be processed at all.
 */

/** Every error code snap can throw, grouped by the module that throws it. */
export const ERROR_CODES = [
  // usage (exit 2)
  'USAGE',
  'REF_MALFORMED',
  'REF_AMBIGUOUS',
  /** An `s3://BUCKET/PREFIX` argument or an S3 setting (AWS_ENDPOINT_URL, SNAP_S3_PATH_STYLE) is malformed. */
  'S3_URL_MALFORMED',
  // paths (SPEC §2)
  'PATH_EMPTY',
  'PATH_ABSOLUTE',
  'PATH_EMPTY_SEGMENT',
  'PATH_DOT_SEGMENT',
  'PATH_DOTDOT_SEGMENT',
  'PATH_CONTROL_CHAR',
  'PATH_INVALID_UTF8',
  'PATH_TOO_LONG',
  // manifest (SPEC §2)
  'MANIFEST_LINE_MALFORMED',
  'MANIFEST_UNKNOWN_FIELD',
  'MANIFEST_MISSING_FIELD',
  'MANIFEST_BAD_DIGEST',
  'MANIFEST_BAD_SIZE',
  'MANIFEST_BAD_TARGET',
  'MANIFEST_NOT_CANONICAL',
  'MANIFEST_UNSORTED',
  'MANIFEST_DUPLICATE_PATH',
  'MANIFEST_NO_TRAILING_NEWLINE',
  'MANIFEST_EMPTY',
  // Merkle tree (SPEC §3, RFC 9162)
  'MERKLE_BAD_HASH',
  'MERKLE_BAD_INDEX',
  // statement (SPEC §4)
  'STATEMENT_MALFORMED',
  'STATEMENT_NOT_CANONICAL',
  'STATEMENT_UNKNOWN_TYPE',
  'STATEMENT_UNKNOWN_PREDICATE_TYPE',
  'STATEMENT_INVALID',
  // envelope and signatures (SPEC §5)
  'ENVELOPE_MALFORMED',
  'ENVELOPE_UNKNOWN_PAYLOAD_TYPE',
  'BASE64_INVALID',
  'SIGNATURE_MALFORMED',
  'SIGNATURE_INVALID',
  'SIGNATURE_LIMIT',
  // inclusion proofs (docs/FORMAT.md §11)
  'PROOF_MALFORMED',
  'PROOF_UNSUPPORTED',
  'PROOF_PATH_NOT_FOUND',
  'PROOF_RECORD_NOT_FOUND',
  'PROOF_INVALID',
  // keys (SPEC §6)
  'KEY_MALFORMED',
  'KEY_NOT_ED25519',
  'KEY_PASSPHRASE_REQUIRED',
  'KEY_PASSPHRASE_WRONG',
  'KEY_PASSPHRASE_EMPTY',
  // data integrity (exit 1)
  'INTEGRITY_FAILURE',
  'OBJECT_CORRUPT',
  'SNAPSHOT_NAME_MISMATCH',
  'SNAPSHOT_EXPIRED',
  'SNAPSHOT_REVOKED',
  'REVOCATION_MALFORMED',
  'POLICY_MALFORMED',
  'POLICY_SIGNATURE_INVALID',
  'POLICY_ROLLBACK',
  'POLICY_EXPIRED',
  'POLICY_NOT_SATISFIED',
  'SNAPSHOT_TOO_OLD',
  'SNAPSHOT_ROLLBACK',
  'CHECKPOINT_MALFORMED',
  'LOG_INCONSISTENT',
  /** No trusted attestation covers the model files given (`verify-model`). */
  'ATTESTATION_NOT_FOUND',
  // input and environment (exit 3)
  'NOT_FOUND',
  'NOT_A_FOLDER',
  'FILE_EXISTS',
  'FILE_CHANGED',
  'FILE_UNSUPPORTED_TYPE',
  'DATASET_EMPTY',
  'SNAPSHOT_EXISTS',
  'ATTESTATION_EXISTS',
  'SNAPSHOT_MALFORMED',
  'REF_NOT_FOUND',
  'STORE_MALFORMED',
  'STORE_LOCKED',
  'ARCHIVE_MALFORMED',
  /** An archive member that would escape or misname (`..`, links, duplicates): exit 1, not 3 (docs/FORMAT.md §10.4). */
  'ARCHIVE_HOSTILE',
  'SNAPSHOT_NO_CONTENTS',
  'SNAPSHOT_UNSAFE',
  'OBJECT_MISSING',
  'TARGET_NOT_EMPTY',
  /** restore: the target's file system folds names (case, NFC/NFD) and the snapshot holds two paths it takes for one. */
  'TARGET_FOLDS_NAMES',
  /** restore: the snapshot holds a symbolic link and the target's file system cannot hold one (FAT, exFAT). */
  'TARGET_NO_SYMLINKS',
  /** restore: the target's file system cannot hold a name of the snapshot (FAT: `12:00.json`; ext4: a name over 255 bytes). */
  'TARGET_NAME_UNSUPPORTED',
  'TARGET_UNSAFE',
  'DISK_FULL',
  'STATE_MALFORMED',
  'IO_ERROR',
  // record indexes of tabular files (docs/FORMAT.md §19; exit 3 unless noted)
  'RECORDS_CONFIG_INVALID',
  'RECORDS_MALFORMED',
  'RECORDS_UNSUPPORTED',
  'RECORDS_KEY_MISSING',
  'RECORDS_KEY_EMPTY',
  'RECORDS_DUPLICATE_KEY',
  'RECORDS_LABEL_MISSING',
  'RECORDS_LIMIT',
  'RECORDS_INDEX_MALFORMED',
  // reports (snap report; exit 3)
  /** `snap report --drill FILE`: the file is not the JSON of `snap drill --json`. */
  'DRILL_REPORT_MALFORMED',
  // verify shard reports (docs/FORMAT.md §20; exit 3)
  'SHARD_REPORT_MALFORMED',
  // signals (exit 130 and 143)
  'INTERRUPTED',
  'TERMINATED',
  'INTERNAL',
] as const;

/** A stable, machine-readable error code. */
export type SnapErrorCode = (typeof ERROR_CODES)[number];

/**
 * The one error type snap throws.
 * @param code    stable code, see {@link ERROR_CODES}
 * @param message what was wrong, with which file, and what to do
 * @param details optional machine-readable context (a path, a line number, …), shown with `--json`
 */
export class SnapError extends Error {
  readonly code: SnapErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: SnapErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SnapError';
    this.code = code;
    this.details = details;
  }
}

/** True when `e` is a {@link SnapError}, optionally with the given code. */
export function isSnapError(e: unknown, code?: SnapErrorCode): e is SnapError {
  return e instanceof SnapError && (code === undefined || e.code === code);
}
