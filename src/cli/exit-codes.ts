/**
 * The one place where error codes become exit codes (SPEC §8):
 * 0 success · 1 integrity failure · 2 usage error · 3 input or environment error; and, as shells
 * report a process stopped by a signal (128 + its number), 130 for SIGINT and 143 for SIGTERM.
 */
import type { SnapErrorCode } from '../core/errors.js';

export const EXIT_OK = 0;
export const EXIT_INTEGRITY = 1;
export const EXIT_USAGE = 2;
export const EXIT_INPUT = 3;
/** Interrupted by SIGINT (Ctrl-C): 128 + 2. */
export const EXIT_INTERRUPTED = 130;
/** Stopped by SIGTERM: 128 + 15. */
export const EXIT_TERMINATED = 143;

const USAGE: ReadonlySet<SnapErrorCode> = new Set(['USAGE', 'REF_MALFORMED', 'REF_AMBIGUOUS', 'S3_URL_MALFORMED']);
const INTEGRITY: ReadonlySet<SnapErrorCode> = new Set(['INTEGRITY_FAILURE', 'OBJECT_CORRUPT', 'SIGNATURE_INVALID', 'ARCHIVE_HOSTILE', 'SNAPSHOT_NAME_MISMATCH', 'SNAPSHOT_EXPIRED', 'SNAPSHOT_REVOKED', 'REVOCATION_MALFORMED',
  'POLICY_MALFORMED', 'POLICY_SIGNATURE_INVALID', 'POLICY_ROLLBACK', 'POLICY_EXPIRED', 'POLICY_NOT_SATISFIED', 'SNAPSHOT_TOO_OLD', 'SNAPSHOT_ROLLBACK',
  'CHECKPOINT_MALFORMED', 'LOG_INCONSISTENT', 'PROOF_INVALID', 'ATTESTATION_NOT_FOUND']);

/** Exit code for an error code: 2 for usage, 1 for integrity, 130 / 143 for a signal, 3 for everything else. */
export function exitCodeFor(code: SnapErrorCode | string): number {
  if (code === 'INTERRUPTED') return EXIT_INTERRUPTED;
  if (code === 'TERMINATED') return EXIT_TERMINATED;
  if (USAGE.has(code as SnapErrorCode)) return EXIT_USAGE;
  if (INTEGRITY.has(code as SnapErrorCode)) return EXIT_INTEGRITY;
  return EXIT_INPUT;
}
