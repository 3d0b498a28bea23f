/**
 * Establishing trust in a policy file (docs/FORMAT.md §16.3), after TUF's client workflow
 * (theupdateframework specification, "Update the root role"):
 *
 * 1. The policy must be signed by `root.threshold` of its own root keys that count now (not
 *    revoked, within their validity) — TUF 5.3.4 (2).
 * 2. Anchor. When this machine's trusted state remembers a version of a policy of that name, that
 *    version is the anchor: an older version is refused (`POLICY_ROLLBACK`, TUF 5.3.5), the same
 *    version must be the very same bytes, and a newer one must also be signed by a threshold of the
 *    remembered version's root keys (`POLICY_SIGNATURE_INVALID`, reason `rotation`; TUF 5.3.4 (1)).
 *    With no memory (first use on this machine), the root keys given on the command line
 *    (`--root`) are the anchor: a threshold of them (distinct keyids: one key given in two files
 *    counts once) that the policy names as its root must have signed it. Several policy files may be given, oldest first, to walk a chain of rotations;
 *    those older than the remembered version are walked past (the same chain may be given on every run).
 * 3. The newest policy must not have expired (`POLICY_EXPIRED`, TUF 5.3.10).
 * Then the trusted state remembers the new version (TUF 5.3.8).
 */
import { SnapError, isSnapError } from '../core/errors.js';
import { parseEnvelope, verifyEnvelope, type Envelope, type TrustedKey } from '../core/envelope.js';
import { fromBase64 } from '../core/encoding.js';
import { formatTime } from '../core/statement.js';
import { MAX_POLICY_BYTES, POLICY_PAYLOAD_TYPE, parsePolicy, policyDigest, policyKeys, usableRootKeys, type Policy } from '../core/policy.js';
import { parsePublicKeyDer } from '../core/keys.js';
import { readSmallFile } from '../io/small-file.js';
import type { PolicyMemory, TrustedState } from './state.js';

/** A policy file as read (not yet trusted). */
export interface PolicyDoc {
  file: string;
  envelope: Envelope;
  payload: Uint8Array;
  policy: Policy;
  /** Hex SHA-256 of the payload. */
  sha256: string;
}

/** A policy whose signatures and version were established. */
export interface VerifiedPolicy {
  policy: Policy;
  sha256: string;
  file: string;
  /** What anchored it: the trusted state (`state`, with the version remembered) or `--root` keys. */
  anchor: { kind: 'state'; version: number } | { kind: 'root-keys' };
  /** Root keyids whose signatures on the newest policy verified. */
  signedBy: string[];
}

/** Largest policy file read (the envelope: the payload in base64 and up to 64 signatures). */
export const MAX_POLICY_FILE_BYTES = 2 * MAX_POLICY_BYTES;

/**
 * Read a policy file: a DSSE envelope of payload type `application/vnd.snap.policy+json` whose
 * payload is a valid policy. Nothing is trusted yet.
 * @throws SnapError `NOT_FOUND` | `IO_ERROR` | `POLICY_MALFORMED` (exit 1: an unusable policy establishes no trust; also a file that is not a regular file, or larger than {@link MAX_POLICY_FILE_BYTES})
 */
export async function readPolicyFile(file: string): Promise<PolicyDoc> {
  // Opened without blocking, only as a regular file, and read to one byte past the bound: a FIFO
  // would block for ever, and a device (/dev/zero: size 0 to stat) never ends.
  const bytes = await readSmallFile(file, MAX_POLICY_FILE_BYTES + 1, 'cannot read the policy', (shown) => new SnapError('POLICY_MALFORMED', `${shown} is not a regular file: not a policy`, { path: file }));
  if (bytes.length > MAX_POLICY_FILE_BYTES) throw new SnapError('POLICY_MALFORMED', `${file} is larger than ${MAX_POLICY_FILE_BYTES} bytes: not a policy`, { path: file });
  try {
    const envelope = parseEnvelope(bytes, POLICY_PAYLOAD_TYPE);
    const payload = fromBase64(envelope.payload);
    return { file, envelope, payload, policy: parsePolicy(payload), sha256: policyDigest(payload) };
  } catch (e) {
    if (!isSnapError(e)) throw e;
    throw new SnapError('POLICY_MALFORMED', `${file} is not a valid snap policy: ${e.message}`, { path: file, reason: e.code });
  }
}

/** Distinct keyids among `keys` whose signature on the policy verifies. */
function signedBy(doc: PolicyDoc, keys: readonly TrustedKey[]): string[] {
  if (keys.length === 0) return [];
  return verifyEnvelope(doc.envelope, keys, 1, POLICY_PAYLOAD_TYPE).trustedKeyids;
}

/**
 * The root keys among `usable` whose signature on a policy not vouched for verifies, found with
 * bounded work: every signature is tried against the keys that anchor the policy (`anchorIds`: the
 * `--root` keys, or the remembered root keys), the policy's other root keys only by the keyid a
 * signature names. Before the anchor vouches for the document its root keys are whoever wrote the
 * file's (up to MAX_POLICY_KEYS), and trying each of up to MAX_SIGNATURES junk signatures against
 * each cost 16,384 Ed25519 verifications (44 s of CPU) for a file that is refused anyway. Used only
 * to say why such a document is refused; a document the anchor vouches for is judged on all its
 * root keys ({@link signedBy}).
 * @returns at most MAX_SIGNATURES × (anchor keys + 1) verifications later
 */
function signedByBounded(doc: PolicyDoc, usable: readonly TrustedKey[], anchorIds: ReadonlySet<string>): string[] {
  const found = new Set(signedBy(doc, usable.filter((k) => anchorIds.has(k.keyid))));
  for (const s of doc.envelope.signatures) {
    const named = usable.find((k) => k.keyid === s.keyid && !anchorIds.has(k.keyid));
    if (named && !found.has(named.keyid) && verifyEnvelope({ ...doc.envelope, signatures: [s] }, [named], 1, POLICY_PAYLOAD_TYPE).ok) found.add(named.keyid);
  }
  return [...found];
}

function refused(code: 'POLICY_SIGNATURE_INVALID' | 'POLICY_ROLLBACK' | 'POLICY_EXPIRED', doc: PolicyDoc, reason: string, message: string): SnapError {
  return new SnapError(code, `${doc.file} (policy ${doc.policy.name} v${doc.policy.version}): ${message}`, { path: doc.file, policy: doc.policy.name, version: doc.policy.version, reason });
}

/**
 * The root keys a remembered policy version names that still count at `now`, as keys to verify
 * with: a key whose period (its `validUntil` in that version) ended since it was remembered is left
 * out, as it is when the versions are given as a chain — else whoever still holds an expired root
 * key could sign the next version alone on a machine that remembered the key while it counted.
 */
function rememberedRoots(m: PolicyMemory, now: Date): TrustedKey[] {
  const until = m.root.validUntil ?? {};
  return Object.entries(m.root.keys)
    .filter(([keyid]) => until[keyid] === undefined || now.getTime() < new Date(until[keyid] as string).getTime())
    .map(([, spki]) => parsePublicKeyDer(fromBase64(spki)));
}

/**
 * What the trusted state should remember of a verified policy: its root keys that count now — as
 * when the versions are given as a chain — so that a root key the policy revoked (or whose period
 * ended) can never sign the next version alone. Before, every root keyid was remembered, and a
 * stolen root key revoked in version N signed a version N+1 that made any key a producer. The end
 * of each remembered key's period is kept too (`validUntil`), so that a key whose period ends
 * after it was remembered stops counting then (see `rememberedRoots`).
 */
export function policyMemory(p: Policy, sha256: string, now: Date): PolicyMemory {
  const keys: Record<string, string> = {};
  const validUntil: Record<string, string> = {};
  for (const k of usableRootKeys(p, now)) {
    const entry = p.keys[k.keyid] as { publicKey: string; validUntil?: string };
    keys[k.keyid] = entry.publicKey;
    if (entry.validUntil !== undefined) validUntil[k.keyid] = entry.validUntil;
  }
  const root = { keys, threshold: p.root.threshold, ...(Object.keys(validUntil).length > 0 ? { validUntil } : {}) };
  return { version: p.version, sha256, root, seenAt: formatTime(now) };
}

/**
 * Establish trust in the newest of `docs` (see the module comment). Pure: the caller reads the
 * files and the state, and records the result.
 * @param docs policy files, oldest first (one, or a chain of rotations)
 * @param roots the `--root` keys (used only when the state remembers no version of this policy)
 * @param state the trusted state
 * @param opts.name the policy name required (`--policy-name`): a root key signs every policy its
 *   holders make, and each name is anchored apart, so without it a policy of another name signed by
 *   the same root (an old one, or one for another team) is taken in place of the one meant
 * @throws SnapError `USAGE` (no policy; files of different policies or out of order; first use
 *   without `--root`) | `POLICY_SIGNATURE_INVALID` (reason `other-name`, `root-threshold`,
 *   `not-signed-by-given-roots` or `rotation`) | `POLICY_ROLLBACK` (reason `older` or
 *   `same-version-different-content`) | `POLICY_EXPIRED`
 */
export function establishPolicy(docs: readonly PolicyDoc[], roots: readonly TrustedKey[], state: TrustedState, now: Date, opts: { name?: string } = {}): VerifiedPolicy {
  const last = docs[docs.length - 1];
  if (!last) throw new SnapError('USAGE', 'give a policy file with --policy');
  const name = last.policy.name;
  if (opts.name !== undefined && name !== opts.name) {
    throw refused('POLICY_SIGNATURE_INVALID', last, 'other-name', `it is policy ${JSON.stringify(name)}, not the policy ${JSON.stringify(opts.name)} that --policy-name requires (another policy its root keys signed is not that one)`);
  }
  for (let i = 0; i < docs.length; i++) {
    const d = docs[i] as PolicyDoc;
    if (d.policy.name !== name) throw new SnapError('USAGE', `--policy files must be versions of one policy: ${d.file} is policy ${d.policy.name}, ${last.file} is ${name}`);
    if (i > 0 && d.policy.version <= (docs[i - 1] as PolicyDoc).policy.version) throw new SnapError('USAGE', `give --policy files oldest first: ${d.file} (v${d.policy.version}) comes after v${(docs[i - 1] as PolicyDoc).policy.version}`);
  }
  const remembered = state.policies[name];
  let anchor: { version: number; sha256: string; roots: TrustedKey[]; threshold: number } | undefined = remembered
    ? { version: remembered.version, sha256: remembered.sha256, roots: rememberedRoots(remembered, now), threshold: remembered.root.threshold }
    : undefined;
  if (!anchor && roots.length === 0) {
    throw new SnapError('USAGE', `this machine has not seen policy ${name} before: give its root public keys with --root ROOT.pub… (they anchor the first use; later versions must be signed by the previous root keys)`, { policy: name });
  }
  let lastSigners: string[] = [];
  for (const d of docs) {
    const p = d.policy;
    // A version older than the one remembered is part of the chain this machine walked already (a
    // gate gives the same chain on every run): walked past, as TUF's client starts from its trusted
    // root. It anchors nothing; the next version is held to the remembered one. Only the newest
    // given, when older, is a rollback (below).
    if (remembered && p.version < remembered.version && d !== last) continue;
    const usable = usableRootKeys(p, now);
    // The keys that anchor this version speak first: until they vouch for it, its own root keys are
    // whoever wrote the file's, and are tried only by the keyid a signature names (signedByBounded).
    const anchorKeys = anchor ? anchor.roots : roots.filter((k) => p.root.keyids.includes(k.keyid) && usable.some((u) => u.keyid === k.keyid));
    const byAnchor = anchor && p.version <= anchor.version ? [] : signedBy(d, anchorKeys);
    const vouched = anchor ? (p.version === anchor.version ? d.sha256 === anchor.sha256 : p.version > anchor.version && byAnchor.length >= anchor.threshold) : byAnchor.length >= p.root.threshold;
    const own = vouched ? signedBy(d, usable) : signedByBounded(d, usable, new Set(anchorKeys.map((k) => k.keyid)));
    if (own.length < p.root.threshold) {
      throw refused('POLICY_SIGNATURE_INVALID', d, 'root-threshold', `signed by ${own.length} of its root keys that count, and it needs ${p.root.threshold} (an unsigned, altered or re-signed policy; or its root keys were revoked); if it is the policy you meant, a root key holder adds a signature: snap policy sign ${d.file} --key ROOT.key`);
    }
    if (anchor) {
      if (p.version < anchor.version) throw refused('POLICY_ROLLBACK', d, 'older', `this machine has already trusted version ${anchor.version} of this policy: an older version is refused (rollback)`);
      if (p.version === anchor.version) {
        if (d.sha256 !== anchor.sha256) throw refused('POLICY_ROLLBACK', d, 'same-version-different-content', `this machine trusted another policy with the same version ${p.version}: a changed policy needs a new version`);
      } else {
        const prev = byAnchor;
        if (prev.length < anchor.threshold) {
          throw refused('POLICY_SIGNATURE_INVALID', d, 'rotation', `a new version must be signed by ${anchor.threshold} of the root keys of version ${anchor.version} that count now (the newest this machine trusts; not revoked, within their validity), and ${prev.length} signed: it may be signed only by rotated-out or expired keys; give the versions in between with more --policy files, oldest first`);
        }
      }
    } else {
      // Counted by keyid: one key given in two --root files (or twice) is one root key, not two.
      const given = new Set(byAnchor);
      if (given.size < p.root.threshold) {
        throw refused('POLICY_SIGNATURE_INVALID', d, 'not-signed-by-given-roots', `the --root keys account for ${given.size} of the ${p.root.threshold} root signatures it needs: it is not the policy those root keys sign (if the root keys were rotated, give the older versions first with more --policy files)`);
      }
    }
    anchor = { version: p.version, sha256: d.sha256, roots: usableRootKeys(p, now), threshold: p.root.threshold };
    lastSigners = own;
  }
  if (new Date(last.policy.expires).getTime() <= now.getTime()) throw refused('POLICY_EXPIRED', last, 'expired', `the policy expired at ${last.policy.expires}; its root key holders must sign a new version`);
  return {
    policy: last.policy,
    sha256: last.sha256,
    file: last.file,
    anchor: remembered ? { kind: 'state', version: remembered.version } : { kind: 'root-keys' },
    signedBy: lastSigners,
  };
}

/**
 * Remember a verified policy in the state (when it is newer than what is remembered).
 * @returns true when the state changed
 */
export function rememberPolicy(state: TrustedState, v: VerifiedPolicy, now: Date): boolean {
  const m = state.policies[v.policy.name];
  if (m && m.version > v.policy.version) return false;
  const next = policyMemory(v.policy, v.sha256, now);
  // The same version again: only its root keys may change (one revoked, or out of its period since, or remembered by an older snap with the revoked ones).
  if (m && m.version === v.policy.version && (m.sha256 !== v.sha256 || (sameKeys(m.root.keys, next.root.keys) && sameKeys(m.root.validUntil ?? {}, next.root.validUntil ?? {})))) return false;
  state.policies[v.policy.name] = m && m.version === v.policy.version ? { ...next, seenAt: m.seenAt } : next;
  return true;
}

function sameKeys(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

/** Every key of a policy (for reports of signatures by keys the policy names but does not count). */
export function allPolicyKeys(v: VerifiedPolicy): TrustedKey[] {
  return policyKeys(v.policy);
}
