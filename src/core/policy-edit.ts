/**
 * Making and changing a trust policy (`snap policy init / add-key / revoke-key / remove-key / rule
 * / set`). Each function returns a new, valid {@link Policy}; none changes its argument. Signing
 * and versioning are the caller's (see cli/commands/policy.ts). Pure: no I/O.
 */
import { SnapError } from './errors.js';
import { ROLE_RE, validatePolicy, POLICY_TYPE, type Policy, type PolicyKey, type PolicyRule } from './policy.js';

/** A key to put in a policy. */
export interface NewKey {
  keyid: string;
  /** Standard base64 of the SPKI DER. */
  publicKey: string;
  name: string;
  validFrom?: string;
  validUntil?: string;
}

function clone(p: Policy): Policy {
  return JSON.parse(JSON.stringify(p)) as Policy;
}

/** Validate, turning a malformed result into a usage error (the command's arguments made it). */
function checked(p: Policy): Policy {
  try {
    return validatePolicy(p);
  } catch (e) {
    throw new SnapError('USAGE', (e as Error).message.replace(/^invalid policy: /, 'the policy would be invalid: '));
  }
}

function keyEntry(k: NewKey): PolicyKey {
  return { name: k.name, publicKey: k.publicKey, ...(k.validFrom ? { validFrom: k.validFrom } : {}), ...(k.validUntil ? { validUntil: k.validUntil } : {}) };
}

/**
 * A new policy, version 1, whose root role is `roots` with `threshold`; no roles, no rules.
 * @throws SnapError `USAGE` when the result is invalid (bad name, threshold above the number of root keys, …)
 */
export function newPolicy(name: string, roots: readonly NewKey[], threshold: number, expires: string): Policy {
  const keys: Record<string, PolicyKey> = {};
  for (const k of roots) keys[k.keyid] = keyEntry(k);
  return checked({ _type: POLICY_TYPE, name, version: 1, expires, keys, root: { keyids: [...new Set(roots.map((k) => k.keyid))], threshold }, roles: {}, rules: [] });
}

/**
 * Add a key (or update one already there: its name, validity and roles) and give it `roles`;
 * the role `root` makes it a root key.
 * @throws SnapError `USAGE`
 */
export function addKey(p: Policy, k: NewKey, roles: readonly string[]): Policy {
  const q = clone(p);
  const old = q.keys[k.keyid];
  if (old?.revoked) throw new SnapError('USAGE', `key ${k.keyid} is revoked in this policy; a revoked key is never reinstated (make a new key)`);
  q.keys[k.keyid] = { ...keyEntry(k), ...(old?.revoked ? { revoked: old.revoked } : {}) };
  for (const role of roles) {
    if (role === 'root') {
      if (!q.root.keyids.includes(k.keyid)) q.root.keyids.push(k.keyid);
      continue;
    }
    if (!ROLE_RE.test(role)) throw new SnapError('USAGE', `${JSON.stringify(role)} is not a role name (${ROLE_RE.source})`);
    // Own members only: "constructor" is a role name, not the inherited Object.prototype member.
    if (!Object.hasOwn(q.roles, role)) q.roles[role] = { keyids: [] };
    const r = q.roles[role] as { keyids: string[] };
    if (!r.keyids.includes(k.keyid)) r.keyids.push(k.keyid);
  }
  return checked(q);
}

/**
 * Mark a key revoked: from now on none of its signatures counts (snapshots, revocations, policy).
 * It stays listed, so that reports can say whose signature no longer counts.
 * @throws SnapError `USAGE` (unknown key; the root role would lose its threshold of usable keys)
 */
export function revokeKey(p: Policy, keyid: string, at: string, reason: string): Policy {
  const q = clone(p);
  const k = q.keys[keyid];
  if (!k) throw new SnapError('USAGE', `keyid ${keyid} is not in policy ${p.name}`);
  k.revoked = { at, reason };
  const usableRoots = q.root.keyids.filter((id) => !q.keys[id]?.revoked).length;
  if (usableRoots < q.root.threshold) throw new SnapError('USAGE', `revoking ${keyid} leaves ${usableRoots} usable root keys, below the root threshold ${q.root.threshold}: add a root key first (snap policy add-key … --role root)`);
  return checked(q);
}

/**
 * Remove a key from the policy, its roles and the root role.
 * @throws SnapError `USAGE` (unknown key; the root role would become empty or fall below its threshold)
 */
export function removeKey(p: Policy, keyid: string): Policy {
  const q = clone(p);
  if (!q.keys[keyid]) throw new SnapError('USAGE', `keyid ${keyid} is not in policy ${p.name}`);
  delete q.keys[keyid];
  q.root.keyids = q.root.keyids.filter((k) => k !== keyid);
  for (const r of Object.values(q.roles)) r.keyids = r.keyids.filter((k) => k !== keyid);
  if (q.root.keyids.length < q.root.threshold) throw new SnapError('USAGE', `removing ${keyid} leaves ${q.root.keyids.length} root keys, below the root threshold ${q.root.threshold}: lower it with snap policy set --root-threshold, or add a root key first`);
  return checked(q);
}

/**
 * Set the rule for a list of dataset patterns: a rule with exactly these patterns is replaced,
 * otherwise the rule is added at the end (the first matching rule decides).
 * @throws SnapError `USAGE` (a role not in the policy, a bad pattern or count)
 */
export function setRule(p: Policy, rule: PolicyRule): Policy {
  const q = clone(p);
  for (const role of Object.keys(rule.require)) {
    if (!Object.hasOwn(q.roles, role)) throw new SnapError('USAGE', `role ${JSON.stringify(role)} is not in policy ${p.name}: give a key that role first (snap policy add-key … --role ${role})`);
  }
  const same = (r: PolicyRule) => r.datasets.length === rule.datasets.length && r.datasets.every((d, i) => d === rule.datasets[i]);
  const i = q.rules.findIndex(same);
  const r: PolicyRule = { datasets: [...rule.datasets], require: { ...rule.require }, ...(rule.maxAgeDays !== undefined ? { maxAgeDays: rule.maxAgeDays } : {}) };
  if (i >= 0) q.rules[i] = r;
  else q.rules.push(r);
  return checked(q);
}

/**
 * Change the root threshold and/or the expiry.
 * @throws SnapError `USAGE`
 */
export function setFields(p: Policy, f: { rootThreshold?: number; expires?: string }): Policy {
  const q = clone(p);
  if (f.rootThreshold !== undefined) q.root.threshold = f.rootThreshold;
  if (f.expires !== undefined) q.expires = f.expires;
  return checked(q);
}
