/**
 * The trust policy (docs/FORMAT.md §16): one signed document that says which keys exist (names,
 * validity periods, revoked), which roles they hold, and, per dataset name pattern, how many
 * signatures of which roles a snapshot needs — with separation of duties: one key never counts for
 * two roles of the same snapshot. It is modelled on TUF's root metadata (theupdateframework
 * specification, "File formats: root.json", and the client's "Update the root role" steps 5.3.4,
 * 5.3.5 and 5.3.10): a version number that only goes up, an expiry, and a root role whose
 * threshold of keys signs the policy itself; a new version must also be signed by a threshold of
 * the previous version's root keys (rotation).
 *
 * The policy is a DSSE envelope (SPEC §5 PAE, Ed25519) with its own payload type
 * {@link POLICY_PAYLOAD_TYPE}, so a signature over a policy can never pass for a signature over a
 * snapshot statement, nor the reverse. Its payload is RFC 8785 JSON of a {@link Policy}. Pure: no I/O.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { SnapError } from './errors.js';
import { canonicalJson } from './canonical-json.js';
import { decodeUtf8, fromBase64, toBase64, toHex, utf8 } from './encoding.js';
import { parseJsonStrict } from './json-strict.js';
import { NAME_RE } from './refs.js';
import { isValidTime } from './statement.js';
import { parsePublicKeyDer } from './keys.js';
import type { TrustedKey } from './envelope.js';
import { isObject } from './is-object.js';

/** The DSSE payload type of a policy (never that of a snapshot statement). */
export const POLICY_PAYLOAD_TYPE = 'application/vnd.snap.policy+json';
/** `_type` of a policy payload. */
export const POLICY_TYPE = 'urn:snap:trust-policy:v1';
/** Largest policy payload accepted, in bytes. */
export const MAX_POLICY_BYTES = 1024 * 1024;
/** Bounds on what a policy lists. */
export const MAX_POLICY_KEYS = 256;
export const MAX_POLICY_ROLES = 32;
export const MAX_POLICY_RULES = 256;
export const MAX_RULE_PATTERNS = 64;
/** Most signatures one rule may require in all. */
export const MAX_RULE_SIGNATURES = 64;
/** Longest key name and revocation reason, in characters. */
export const MAX_LABEL_CHARS = 128;
export const MAX_POLICY_REASON_CHARS = 1024;
/** Longest maximum snapshot age, in days. */
export const MAX_AGE_DAYS = 36_500;
/** A role name (`root` is the policy's own role, not a snapshot role). */
export const ROLE_RE = /^[a-z][a-z0-9_-]{0,63}$/;
/** A dataset name pattern: NAME characters and the wildcards `*` (any run) and `?` (one character). */
export const PATTERN_RE = /^[a-z0-9._*?-]{1,128}$/;

/** One key the policy knows. */
export interface PolicyKey {
  /** Who holds it (for people: "alice (data engineer)"). */
  name: string;
  /** Standard base64 of the 44-byte SPKI DER (SPEC §6); the keyid is its SHA-256. */
  publicKey: string;
  /** The key counts only from this time on (RFC 3339 UTC). */
  validFrom?: string;
  /** The key counts only until this time (RFC 3339 UTC). */
  validUntil?: string;
  /** Revoked: its signatures never count again, for snapshots, revocations or the policy. */
  revoked?: { at: string; reason: string };
}

/** Which snapshots a rule covers and what they need. */
export interface PolicyRule {
  /** Dataset NAME patterns (`fraud-*`); the first rule with a matching pattern decides. */
  datasets: string[];
  /** Role → number of distinct keys of that role that must have signed. */
  require: Record<string, number>;
  /** A snapshot older than this (by its signed createdAt) is refused. */
  maxAgeDays?: number;
}

/** The policy payload. */
export interface Policy {
  _type: typeof POLICY_TYPE;
  /** Names the policy across versions (the trusted state keeps its newest version under this name). */
  name: string;
  /** 1, 2, …: a policy older than one already seen is refused. */
  version: number;
  /** RFC 3339 UTC: the policy is refused from then on (TUF's freeze-attack check). */
  expires: string;
  /** keyid → key. */
  keys: Record<string, PolicyKey>;
  /** The keys that sign the policy itself, and how many must. */
  root: { keyids: string[]; threshold: number };
  /** Role → the keys that hold it. */
  roles: Record<string, { keyids: string[] }>;
  rules: PolicyRule[];
}

const HEX64 = /^[0-9a-f]{64}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function invalid(why: string): never {
  throw new SnapError('POLICY_MALFORMED', `invalid policy: ${why}`);
}


function onlyMembers(o: Record<string, unknown>, allowed: readonly string[], required: readonly string[], what: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) invalid(`${what} has an unknown member ${JSON.stringify(k)}`);
  for (const k of required) if (!(k in o)) invalid(`${what} needs ${k}`);
}

function label(v: unknown, max: number, what: string): string {
  if (typeof v !== 'string' || v.trim().length === 0 || v.length > max || CONTROL.test(v)) invalid(`${what} must be a non-empty string of at most ${max} characters without control characters`);
  return v;
}

function keyidList(v: unknown, keys: Record<string, unknown>, what: string): string[] {
  if (!Array.isArray(v) || v.some((k) => typeof k !== 'string' || !HEX64.test(k))) invalid(`${what} must be an array of keyids`);
  if (new Set(v).size !== v.length) invalid(`${what} names a key twice`);
  for (const k of v as string[]) if (!(k in keys)) invalid(`${what} names keyid ${k}, which is not in keys`);
  return v as string[];
}

/** The 32-byte public key of a policy key, checked against its keyid. */
function decodeKey(keyid: string, k: PolicyKey): Uint8Array {
  let der: Uint8Array;
  try {
    der = fromBase64(k.publicKey);
  } catch {
    invalid(`keys.${keyid}.publicKey is not base64`);
  }
  let pub;
  try {
    pub = parsePublicKeyDer(der);
  } catch (e) {
    invalid(`keys.${keyid}.publicKey is not an Ed25519 SPKI key: ${(e as Error).message}`);
  }
  if (pub.keyid !== keyid) invalid(`keys.${keyid}: the keyid is not the SHA-256 of its publicKey (${pub.keyid})`);
  return pub.publicKey;
}

/**
 * Check a parsed value as a policy (see the module comment and docs/FORMAT.md §16 for each rule).
 * @throws SnapError `POLICY_MALFORMED`
 */
export function validatePolicy(value: unknown): Policy {
  if (!isObject(value)) invalid('not a JSON object');
  const p = value;
  onlyMembers(p, ['_type', 'name', 'version', 'expires', 'keys', 'root', 'roles', 'rules'], ['_type', 'name', 'version', 'expires', 'keys', 'root', 'roles', 'rules'], 'the policy');
  if (p._type !== POLICY_TYPE) invalid(`_type must be ${POLICY_TYPE}`);
  if (typeof p.name !== 'string' || !NAME_RE.test(p.name)) invalid(`name must match ${NAME_RE.source}`);
  if (typeof p.version !== 'number' || !Number.isSafeInteger(p.version) || p.version < 1) invalid('version must be a whole number of at least 1');
  if (!isValidTime(p.expires)) invalid('expires must be RFC 3339 UTC with whole seconds');
  if (!isObject(p.keys)) invalid('keys must be an object');
  const keys = p.keys;
  if (Object.keys(keys).length > MAX_POLICY_KEYS) invalid(`more than ${MAX_POLICY_KEYS} keys`);
  for (const [keyid, k] of Object.entries(keys)) {
    if (!HEX64.test(keyid)) invalid(`keys: ${JSON.stringify(keyid)} is not a keyid (64 lowercase hex)`);
    if (!isObject(k)) invalid(`keys.${keyid} must be an object`);
    onlyMembers(k, ['name', 'publicKey', 'validFrom', 'validUntil', 'revoked'], ['name', 'publicKey'], `keys.${keyid}`);
    label(k.name, MAX_LABEL_CHARS, `keys.${keyid}.name`);
    if (typeof k.publicKey !== 'string') invalid(`keys.${keyid}.publicKey must be a string`);
    decodeKey(keyid, k as unknown as PolicyKey);
    if ('validFrom' in k && !isValidTime(k.validFrom)) invalid(`keys.${keyid}.validFrom must be RFC 3339 UTC with whole seconds`);
    if ('validUntil' in k && !isValidTime(k.validUntil)) invalid(`keys.${keyid}.validUntil must be RFC 3339 UTC with whole seconds`);
    if (typeof k.validFrom === 'string' && typeof k.validUntil === 'string' && k.validUntil <= k.validFrom) invalid(`keys.${keyid}.validUntil must be after validFrom`);
    if ('revoked' in k) {
      const r = k.revoked;
      if (!isObject(r)) invalid(`keys.${keyid}.revoked must be {at, reason}`);
      onlyMembers(r, ['at', 'reason'], ['at', 'reason'], `keys.${keyid}.revoked`);
      if (!isValidTime(r.at)) invalid(`keys.${keyid}.revoked.at must be RFC 3339 UTC with whole seconds`);
      label(r.reason, MAX_POLICY_REASON_CHARS, `keys.${keyid}.revoked.reason`);
    }
  }
  if (!isObject(p.root)) invalid('root must be {keyids, threshold}');
  onlyMembers(p.root, ['keyids', 'threshold'], ['keyids', 'threshold'], 'root');
  const rootIds = keyidList(p.root.keyids, keys, 'root.keyids');
  if (rootIds.length === 0) invalid('root.keyids must name at least one key');
  const t = p.root.threshold;
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 1 || t > rootIds.length) invalid(`root.threshold must be a whole number from 1 to ${rootIds.length}`);
  if (!isObject(p.roles)) invalid('roles must be an object');
  if (Object.keys(p.roles).length > MAX_POLICY_ROLES) invalid(`more than ${MAX_POLICY_ROLES} roles`);
  for (const [role, r] of Object.entries(p.roles)) {
    if (!ROLE_RE.test(role) || role === 'root') invalid(`roles: ${JSON.stringify(role)} is not a role name (${ROLE_RE.source}, not root)`);
    if (!isObject(r)) invalid(`roles.${role} must be {keyids}`);
    onlyMembers(r, ['keyids'], ['keyids'], `roles.${role}`);
    keyidList(r.keyids, keys, `roles.${role}.keyids`);
  }
  if (!Array.isArray(p.rules) || p.rules.length > MAX_POLICY_RULES) invalid(`rules must be an array of at most ${MAX_POLICY_RULES}`);
  p.rules.forEach((rule, i) => {
    if (!isObject(rule)) invalid(`rules[${i}] must be an object`);
    onlyMembers(rule, ['datasets', 'require', 'maxAgeDays'], ['datasets', 'require'], `rules[${i}]`);
    const ds = rule.datasets;
    if (!Array.isArray(ds) || ds.length === 0 || ds.length > MAX_RULE_PATTERNS || ds.some((x) => typeof x !== 'string' || !PATTERN_RE.test(x))) {
      invalid(`rules[${i}].datasets must be 1 to ${MAX_RULE_PATTERNS} patterns (${PATTERN_RE.source})`);
    }
    if (!isObject(rule.require) || Object.keys(rule.require).length === 0) invalid(`rules[${i}].require must name at least one role`);
    let sum = 0;
    for (const [role, n] of Object.entries(rule.require)) {
      if (!Object.hasOwn(p.roles as Record<string, unknown>, role)) invalid(`rules[${i}].require names role ${JSON.stringify(role)}, which is not in roles`);
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) invalid(`rules[${i}].require.${role} must be a whole number of at least 1`);
      sum += n;
    }
    if (sum > MAX_RULE_SIGNATURES) invalid(`rules[${i}] requires ${sum} signatures; at most ${MAX_RULE_SIGNATURES}`);
    if ('maxAgeDays' in rule && (typeof rule.maxAgeDays !== 'number' || !Number.isSafeInteger(rule.maxAgeDays) || rule.maxAgeDays < 1 || rule.maxAgeDays > MAX_AGE_DAYS)) {
      invalid(`rules[${i}].maxAgeDays must be a whole number from 1 to ${MAX_AGE_DAYS}`);
    }
  });
  return value as unknown as Policy;
}

/** The policy payload bytes: RFC 8785 canonical JSON, UTF-8, no trailing newline. */
export function serializePolicy(p: Policy): Uint8Array {
  return utf8(canonicalJson(validatePolicy(p)));
}

/**
 * Parse policy payload bytes: UTF-8 JSON without duplicate members, a valid policy, in its own
 * canonical form.
 * @throws SnapError `POLICY_MALFORMED`
 */
export function parsePolicy(bytes: Uint8Array): Policy {
  if (bytes.length > MAX_POLICY_BYTES) invalid(`larger than ${MAX_POLICY_BYTES} bytes`);
  let text: string;
  try {
    text = decodeUtf8(bytes);
  } catch {
    invalid('not UTF-8');
  }
  const p = validatePolicy(parseJsonStrict(text, 'POLICY_MALFORMED', 'the policy'));
  if (canonicalJson(p) !== text) invalid('not in RFC 8785 canonical form');
  return p;
}

/** Hex SHA-256 of the policy payload bytes (what the trusted state remembers of a version). */
export function policyDigest(bytes: Uint8Array): string {
  return toHex(sha256(bytes));
}

/** Base64 of a public key's SPKI DER, as a policy lists it. */
export function policyPublicKey(spkiDer: Uint8Array): string {
  return toBase64(spkiDer);
}

/** Why a key of the policy does not count now, or undefined when it does. */
export function keyUnusable(p: Policy, keyid: string, now: Date): string | undefined {
  const k = p.keys[keyid];
  if (!k) return 'not in the policy';
  if (k.revoked) return `revoked in policy ${p.name} v${p.version} at ${k.revoked.at}: ${k.revoked.reason}`;
  if (k.validFrom !== undefined && now.getTime() < new Date(k.validFrom).getTime()) return `not valid before ${k.validFrom}`;
  if (k.validUntil !== undefined && now.getTime() >= new Date(k.validUntil).getTime()) return `not valid since ${k.validUntil}`;
  return undefined;
}

/** Every key of the policy, usable or not, as keys to try signatures against. */
export function policyKeys(p: Policy): TrustedKey[] {
  return Object.entries(p.keys).map(([keyid, k]) => ({ keyid, publicKey: decodeKey(keyid, k) }));
}

/** The keys of the policy that count now (not revoked, within their validity period). */
export function usableKeys(p: Policy, now: Date): TrustedKey[] {
  return policyKeys(p).filter((k) => keyUnusable(p, k.keyid, now) === undefined);
}

/**
 * The keys of the policy that do not count now only because their period ended, and whose period
 * covered `at` (validFrom ≤ at < validUntil ≤ now), not revoked in the policy: a signature one of
 * them made at `at` was made while it counted. Used for revocations (docs/FORMAT.md §16.4), whose
 * signed `revokedAt` is that time: the routine expiry of an officer's key must not make what it
 * revoked usable again, while a key the policy revoked (a compromise) counts for nothing.
 */
export function expiredKeysValidAt(p: Policy, at: Date, now: Date): TrustedKey[] {
  const t = at.getTime();
  return policyKeys(p).filter((k) => {
    const e = p.keys[k.keyid];
    if (!e || e.revoked || e.validUntil === undefined) return false;
    const until = new Date(e.validUntil).getTime();
    return now.getTime() >= until && t < until && (e.validFrom === undefined || t >= new Date(e.validFrom).getTime());
  });
}

/** The root keys of the policy that count now. */
export function usableRootKeys(p: Policy, now: Date): TrustedKey[] {
  return usableKeys(p, now).filter((k) => p.root.keyids.includes(k.keyid));
}

/** True when a dataset NAME matches a pattern: `*` any run of characters, `?` exactly one. */
export function patternMatches(pattern: string, name: string): boolean {
  // Iterative wildcard match (no regular expression built from input): O(len(pattern) × len(name)).
  let p = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  while (n < name.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === name[n])) {
      p++;
      n++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = n;
    } else if (star >= 0) {
      p = star + 1;
      n = ++mark;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** The rule that decides for a dataset: the first whose patterns match its NAME (TUF's prioritized delegations). */
export function ruleFor(p: Policy, dataset: string): { rule: PolicyRule; index: number } | undefined {
  const index = p.rules.findIndex((r) => r.datasets.some((d) => patternMatches(d, dataset)));
  return index < 0 ? undefined : { rule: p.rules[index] as PolicyRule, index };
}

/** The outcome of {@link assignRoles}. */
export interface RoleAssignment {
  /** True when every required role got its number of distinct keys. */
  ok: boolean;
  /** Role → the keyids counted for it (each keyid counted for one role at most). */
  counted: Record<string, string[]>;
  /** Role → how many more keys of that role are needed. */
  missing: Record<string, number>;
}

/**
 * Separation of duties: count the `signers` (keyids whose signature verified and which count now)
 * towards the rule's roles so that **no key counts for two roles**, and find out whether every
 * role gets its number. A key may hold several roles; which one it counts for is chosen to satisfy
 * the rule if that is possible at all — a maximum bipartite matching of keys to role slots (Kuhn's
 * augmenting paths; at most 64 slots and 64 signers).
 */
export function assignRoles(p: Policy, rule: PolicyRule, signers: readonly string[]): RoleAssignment {
  const slots: string[] = [];
  for (const [role, n] of Object.entries(rule.require)) for (let i = 0; i < n; i++) slots.push(role);
  // Own members only: a role named like an Object.prototype member ("constructor") is not inherited.
  const holds = (keyid: string, role: string) => Object.hasOwn(p.roles, role) && (p.roles[role]?.keyids.includes(keyid) ?? false);
  const keys = [...new Set(signers)];
  const slotOwner: (number | undefined)[] = slots.map(() => undefined);
  const tryKey = (k: number, seen: boolean[]): boolean => {
    for (let s = 0; s < slots.length; s++) {
      if (seen[s] || !holds(keys[k] as string, slots[s] as string)) continue;
      seen[s] = true;
      const owner = slotOwner[s];
      if (owner === undefined || tryKey(owner, seen)) {
        slotOwner[s] = k;
        return true;
      }
    }
    return false;
  };
  for (let k = 0; k < keys.length; k++) tryKey(k, slots.map(() => false));
  // Maps, not object literals: a role may be named like an Object.prototype member ("constructor").
  const counted = new Map<string, string[]>();
  const missing = new Map<string, number>();
  slots.forEach((role, s) => {
    const owner = slotOwner[s];
    if (owner === undefined) missing.set(role, (missing.get(role) ?? 0) + 1);
    else counted.set(role, [...(counted.get(role) ?? []), keys[owner] as string]);
  });
  return { ok: missing.size === 0, counted: Object.fromEntries(counted), missing: Object.fromEntries(missing) };
}
