/**
 * Which signatures of a snapshot's envelope count, with `--pubkey` keys, a trust policy, or both
 * (docs/FORMAT.md §16.4). Without a policy this is SPEC §5 exactly: `threshold` distinct trusted
 * keys. With a policy, a signature counts when it verifies under a policy key that counts now (not
 * revoked, within its validity); whether the counted keys satisfy the policy is decided once the
 * statement is parsed (its dataset NAME picks the rule, see {@link policyFailure}). With both, both
 * must hold.
 */
import { verifyEnvelope, type Envelope, type SignatureCheck, type TrustedKey } from '../core/envelope.js';
import { assignRoles, keyUnusable, policyKeys, ruleFor, type RoleAssignment } from '../core/policy.js';
import type { Statement } from '../core/statement.js';
import type { VerifiedPolicy } from './policy-trust.js';
import type { RuleFailure } from './rules.js';

/** A signer as reported to users (SPEC §8 `signers`), with its policy name and roles when a policy knows it. */
export interface SignerReport {
  keyid: string;
  trusted: boolean;
  reason?: string;
  name?: string;
  roles?: string[];
}

/** The verdict on an envelope's signatures. */
export interface SignatureVerdict {
  /** The payload bytes (parse the statement from these only when there is no failure). */
  payload: Uint8Array;
  signers: SignerReport[];
  /** Policy keyids whose signature verified and which count now. */
  policySigners: string[];
  failure?: RuleFailure;
}

function plainReport(s: SignatureCheck): SignerReport {
  const keyid = s.trusted ? (s.verifiedBy as string) : s.keyid;
  return s.trusted ? { keyid, trusted: true } : { keyid, trusted: false, reason: s.reason === 'malformed' ? 'malformed signature' : 'not signed by any trusted key' };
}

/** The roles a policy gives a key. */
function rolesOf(v: VerifiedPolicy, keyid: string): string[] {
  return Object.entries(v.policy.roles)
    .filter(([, r]) => r.keyids.includes(keyid))
    .map(([role]) => role);
}

/** Trusted keys named one by one in a threshold failure; the rest are counted. */
const MAX_KEYS_NAMED = 8;

/**
 * The part of a threshold failure that names the trusted keys no signature verifies under (their
 * keyids' first 16 hex digits, as verify shows signers; the first {@link MAX_KEYS_NAMED}, then a
 * count): `; none verifies under trusted key K1, K2 and 3 more`, or '' when every key signed. A
 * signature that was there and went (e.g. a co-signature file deleted from an S3 store, which
 * leaves no trace) is named by the key that made it.
 */
function notSigned(trusted: readonly TrustedKey[], signed: readonly string[]): string {
  const have = new Set(signed);
  const ids = [...new Set(trusted.map((k) => k.keyid).filter((k) => !have.has(k)))];
  if (ids.length === 0) return '';
  return `; none verifies under trusted key${ids.length > 1 ? 's' : ''} ${keyList(ids)}`;
}

/** A keyid as the envelope names it, shown only when it looks like one (hex, as snap writes them), cut as verify shows signers. */
const KEYID_HINT = /^[0-9a-f]{16,64}$/;

/** `keyids` as a list of their first 16 hex digits: the first {@link MAX_KEYS_NAMED}, then a count. */
function keyList(keyids: readonly string[]): string {
  const named = keyids.slice(0, MAX_KEYS_NAMED).map((k) => k.slice(0, 16));
  if (keyids.length > MAX_KEYS_NAMED) return `${named.join(', ')} and ${keyids.length - MAX_KEYS_NAMED} more`;
  return named.length > 1 ? `${named.slice(0, -1).join(', ')} and ${named.at(-1)}` : (named[0] as string);
}

/**
 * Why no signature verified under any of the `trusted` keys, for the failure message (the keyids
 * are the envelope's unsigned hints, so this only says what to look at): when no signature names
 * a trusted key, the keys it names and the keys given — most often a `--pubkey` other than the
 * one made with the signing key; when one does, that its signature does not verify — the
 * statement or envelope was altered. '' when there is nothing to say (no trusted key).
 */
function whyNoneVerifies(env: Envelope, trusted: readonly TrustedKey[]): string {
  const given = [...new Set(trusted.map((k) => k.keyid))];
  if (given.length === 0) return ' (wrong --pubkey, or the statement was altered)';
  const named = [...new Set(env.signatures.map((s) => s.keyid).filter((k) => KEYID_HINT.test(k)))];
  const mine = named.filter((k) => given.some((g) => g.startsWith(k)));
  if (mine.length > 0) return `: the signature naming key ${keyList(mine)} does not verify under it (the statement or its envelope was altered)`;
  const signedBy = named.length === 0 ? 'the envelope names no key' : `the envelope names key${named.length > 1 ? 's' : ''} ${keyList(named)}`;
  return `: ${signedBy}, and --pubkey gave key${given.length > 1 ? 's' : ''} ${keyList(given)} (the wrong --pubkey? give the .pub keygen wrote beside the .key that signed)`;
}

/**
 * Judge an envelope's signatures (see the module comment).
 * @throws SnapError `ENVELOPE_UNKNOWN_PAYLOAD_TYPE` | `BASE64_INVALID` (payload) | `USAGE` (threshold)
 */
export function judgeSignatures(env: Envelope, trusted: readonly TrustedKey[], threshold: number, policy: VerifiedPolicy | undefined, now: Date): SignatureVerdict {
  if (!policy) {
    const r = verifyEnvelope(env, trusted, threshold);
    const signers = r.signatures.map(plainReport);
    if (r.ok) return { payload: r.payload, signers, policySigners: [] };
    const n = r.trustedKeyids.length;
    const message =
      env.signatures.length === 0
        ? 'the envelope has no signatures'
        : n === 0
          ? `no signature verifies under a trusted key${whyNoneVerifies(env, trusted)}`
          : `only ${n} of the required ${threshold} trusted keys signed${notSigned(trusted, r.trustedKeyids)}`;
    return { payload: r.payload, signers, policySigners: [], failure: { code: 'SIGNATURE_INVALID', message } };
  }
  const given = new Set(trusted.map((k) => k.keyid));
  const all = [...trusted, ...policyKeys(policy.policy).filter((k) => !given.has(k.keyid))];
  const r = verifyEnvelope(env, all, 1);
  const p = policy.policy;
  const signers = r.signatures.map((s): SignerReport => {
    if (!s.trusted) return plainReport(s);
    const keyid = s.verifiedBy as string;
    const known = p.keys[keyid];
    const named = known ? { name: known.name, roles: rolesOf(policy, keyid) } : {};
    if (given.has(keyid)) return { keyid, trusted: true, ...named };
    const why = keyUnusable(p, keyid, now);
    return why === undefined ? { keyid, trusted: true, ...named } : { keyid, trusted: false, reason: why, ...named };
  });
  const policySigners = r.trustedKeyids.filter((k) => k in p.keys && keyUnusable(p, k, now) === undefined);
  const pubSigned = r.trustedKeyids.filter((k) => given.has(k)).length;
  if (trusted.length > 0 && pubSigned < threshold) {
    return { payload: r.payload, signers, policySigners, failure: { code: 'SIGNATURE_INVALID', message: `only ${pubSigned} of the required ${threshold} --pubkey keys signed${notSigned(trusted, r.trustedKeyids)}` } };
  }
  if (trusted.length === 0 && policySigners.length === 0) {
    const message = env.signatures.length === 0 ? 'the envelope has no signatures' : `no signature verifies under a key of policy ${p.name} v${p.version} that counts now (an unknown, revoked or expired key, or the statement was altered)`;
    return { payload: r.payload, signers, policySigners, failure: { code: 'SIGNATURE_INVALID', message } };
  }
  return { payload: r.payload, signers, policySigners };
}

/** How a snapshot met (or failed) a policy: for reports. */
export interface PolicyReport {
  name: string;
  version: number;
  /** Index of the rule that decided, or -1 when none matched. */
  rule: number;
  /** Role → keyids counted for it; role → keys still missing. */
  counted: RoleAssignment['counted'];
  missing: RoleAssignment['missing'];
}

/**
 * Does the snapshot satisfy the policy? The first rule matching its dataset NAME decides; the
 * counted signers are assigned to the rule's roles so that no key counts twice (separation of
 * duties); a rule's `maxAgeDays` refuses an older snapshot.
 * @returns the report, and `POLICY_NOT_SATISFIED` or `SNAPSHOT_TOO_OLD` when it fails
 */
export function policyFailure(policy: VerifiedPolicy, statement: Statement, policySigners: readonly string[], now: Date): { report: PolicyReport; failure?: RuleFailure } {
  const p = policy.policy;
  const dataset = statement.predicate.dataset;
  const found = ruleFor(p, dataset);
  const base = { name: p.name, version: p.version };
  if (!found) {
    return {
      report: { ...base, rule: -1, counted: {}, missing: {} },
      failure: { code: 'POLICY_NOT_SATISFIED', message: `policy ${p.name} v${p.version} has no rule for dataset ${dataset}: it trusts no snapshot of it` },
    };
  }
  const a = assignRoles(p, found.rule, policySigners);
  const report: PolicyReport = { ...base, rule: found.index, counted: a.counted, missing: a.missing };
  const need = Object.entries(found.rule.require).map(([role, n]) => `${n} ${role}`).join(' + ');
  if (!a.ok) {
    const missing = Object.entries(a.missing).map(([role, n]) => `${n} more ${role}`).join(', ');
    return { report, failure: { code: 'POLICY_NOT_SATISFIED', message: `policy ${p.name} v${p.version} (rule ${found.index + 1}: ${found.rule.datasets.join(', ')}) needs ${need} signatures from distinct keys; missing ${missing} (one key never counts for two roles)` } };
  }
  if (found.rule.maxAgeDays !== undefined) {
    const limit = new Date(statement.predicate.createdAt).getTime() + found.rule.maxAgeDays * 86_400_000;
    if (now.getTime() >= limit) {
      return { report, failure: { code: 'SNAPSHOT_TOO_OLD', message: `policy ${p.name} v${p.version} accepts snapshots of ${dataset} for ${found.rule.maxAgeDays} days; this one was created at ${statement.predicate.createdAt}` } };
    }
  }
  return { report };
}
