/**
 * The rules a trusted snapshot must still meet once its signatures check out: it has not expired
 * (`predicate.expiresAt`). Later stages add the trust policy and revocations here, so that every
 * command that establishes trust (verify, restore, import, verify of an archive) applies them the
 * same way, through `checkTrust`.
 */
import type { Statement } from '../core/statement.js';

/** What the trust check needs besides the keys. */
export interface TrustRules {
  /** The time of verification (default: now). */
  now?: Date;
}

/** A rule the snapshot breaks: a stable code and what to tell the user. */
export interface RuleFailure {
  code: string;
  message: string;
}

/**
 * The snapshot's own expiry (SPEC §4 `expiresAt`): a snapshot is refused from `expiresAt` on.
 * @returns `SNAPSHOT_EXPIRED` with when it expired, or undefined
 */
export function expiryFailure(statement: Statement, now: Date): RuleFailure | undefined {
  const at = statement.predicate.expiresAt;
  if (at === undefined || new Date(at).getTime() > now.getTime()) return undefined;
  return { code: 'SNAPSHOT_EXPIRED', message: `the snapshot expired at ${at} (its signer set expiresAt when sealing it); seal the data again, or ask for a new snapshot` };
}
