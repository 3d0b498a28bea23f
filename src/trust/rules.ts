/**
 * The rules a snapshot must still meet once its signatures check out: it has not been revoked by a
 * key trusted to revoke, it satisfies the trust policy when there is one (trust/signatures.ts), and
 * it has not expired (`predicate.expiresAt`), and it is not another snapshot of a NAME@VERSION this
 * machine trusted in the same store (`versionSeen`). Every command that establishes trust (verify,
 * restore, import, verify of an archive, and diff, check, bom, attest with --pubkey) applies them
 * the same way, through `checkTrust`.
 */
import type { TrustedKey } from '../core/envelope.js';
import type { SnapshotLocation } from '../io/store.js';
import type { Statement } from '../core/statement.js';
import { expiredKeysValidAt, usableKeys } from '../core/policy.js';
import type { VerifiedPolicy } from './policy-trust.js';
import { judgeRevocations, type RevocationReport, type RevocationSource } from './revocations.js';

/** What the trust check needs besides the keys. */
export interface TrustRules {
  /** The time of verification (default: now). */
  now?: Date;
  /** Where revocations of the snapshot are found (a store's, files given with --revocations). */
  revocations?: RevocationSource;
  /** Keys whose revocations count (default: the keys trusted for the snapshot's signatures). */
  revokers?: readonly TrustedKey[];
  /** Names of keys (keyid → name), for reports (default: the policy's names). */
  keyNames?: ReadonlyMap<string, string>;
  /** A verified trust policy (trust/policy-trust.ts): its keys, roles and rules decide besides the trusted keys. */
  policy?: VerifiedPolicy;
  /**
   * What this machine remembers of the versions it trusted in a store (FORMAT.md §17, "The same
   * version, another snapshot"): asked last, once every other rule passed, with where the snapshot
   * was found, its id and its signed statement; returns `SNAPSHOT_ROLLBACK` for a NAME@VERSION this
   * machine trusted there as another snapshot (the store's folder replaced by another store's copy
   * signed by the same keys), else undefined. The CLI sets it from the trusted state
   * (cli/trust-args.ts `versionSeenRule`); without it nothing is remembered.
   */
  versionSeen?: (loc: SnapshotLocation, snapshot: string, statement: Statement) => RuleFailure | undefined;
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

/**
 * The revocations of a snapshot and whether one counts.
 * @returns the reports, and `SNAPSHOT_REVOKED` (with the reason and who revoked) when one counts
 * @throws SnapError `REVOCATION_MALFORMED` | `IO_ERROR`
 */
export async function revocationFailure(snapshot: string, rules: TrustRules, trusted: readonly TrustedKey[]): Promise<{ reports: RevocationReport[]; failure?: RuleFailure }> {
  if (!rules.revocations) return { reports: [] };
  const docs = await rules.revocations.forSnapshot(snapshot);
  const now = rules.now ?? new Date();
  const revokers = rules.revokers ?? [...trusted, ...(rules.policy ? usableKeys(rules.policy.policy, now) : [])];
  const names = rules.keyNames ?? (rules.policy ? new Map(Object.entries(rules.policy.policy.keys).map(([k, v]) => [k, v.name])) : undefined);
  const source = rules.revocations;
  // A policy key whose period ended since it revoked the snapshot still counts for that revocation (§16.4).
  const policy = rules.policy?.policy;
  const revokersAt = policy ? (revokedAt: string) => expiredKeysValidAt(policy, new Date(revokedAt), now) : undefined;
  const reports = judgeRevocations(docs, snapshot, revokers, names, source.counted ? (doc) => source.counted?.(doc) : undefined, revokersAt);
  const counted = reports.find((r) => r.counts);
  if (!counted) return { reports };
  const who = counted.revokedBy.map((b) => (b.name ? `${b.name} (keyid ${b.keyid.slice(0, 16)})` : `keyid ${b.keyid.slice(0, 16)}`)).join(', ');
  return { reports, failure: { code: 'SNAPSHOT_REVOKED', message: `the snapshot was revoked at ${counted.revokedAt} by ${who}: ${counted.reason}` } };
}
