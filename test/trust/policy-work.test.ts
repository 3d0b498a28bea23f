/**
 * The work a policy file costs before it is trusted (docs/FORMAT.md §16.3). The policy file is
 * written where anyone may write (it is signed), and before it is trusted its root keys are the
 * attacker's to choose: up to 256 of them, with up to 64 signatures. Tried every signature against
 * every one of those keys, a planted file cost 64 × 256 = 16,384 Ed25519 verifications (44 s of
 * CPU in one verify) before it was refused. The keys that anchor the policy (`--root` on first use,
 * the remembered root keys after) decide first; the policy's other root keys are tried only by the
 * keyid a signature names until the document is vouched for.
 * Every Ed25519 verification is counted through a wrapper of core/ed25519.js `verify`.
 */
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_SIGNATURES, signEnvelope, type Envelope, type Signer } from '../../src/core/envelope.js';
import { MAX_POLICY_KEYS, POLICY_PAYLOAD_TYPE, POLICY_TYPE, parsePolicy, policyDigest, serializePolicy, type Policy } from '../../src/core/policy.js';
import { publicKeyOf } from '../../src/core/ed25519.js';
import { encodePublicKeyDer, keyidOf } from '../../src/core/keys.js';
import { toBase64 } from '../../src/core/encoding.js';
import { establishPolicy, policyMemory, type PolicyDoc } from '../../src/trust/policy-trust.js';
import { STATE_FORMAT, type TrustedState } from '../../src/trust/state.js';
import { describeTheCounter, verifications } from '../helpers/count-verifications.js';

vi.mock('../../src/core/ed25519.js', async (orig) => (await import('../helpers/count-verifications.js')).countingEd25519(orig));

beforeEach(() => {
  verifications.count = 0;
});

const NOW = new Date('2026-11-30T00:00:00Z');

function signer(): Signer {
  const seed = new Uint8Array(randomBytes(32));
  const publicKey = publicKeyOf(seed);
  return { seed, publicKey, keyid: keyidOf(publicKey) };
}

function entry(s: Signer, name: string): { name: string; publicKey: string } {
  return { name, publicKey: toBase64(encodePublicKeyDer(s.publicKey)) };
}

/** A policy named acme whose root keys are `roots` (threshold `threshold`). */
function policy(version: number, roots: Signer[], threshold: number): Policy {
  const keys: Policy['keys'] = {};
  roots.forEach((r, i) => (keys[r.keyid] = entry(r, `root ${i}`)));
  return { _type: POLICY_TYPE, name: 'acme', version, expires: '2030-01-01T00:00:00Z', keys, root: { keyids: roots.map((r) => r.keyid), threshold }, roles: {}, rules: [] };
}

function doc(p: Policy, envelope: Envelope): PolicyDoc {
  const payload = serializePolicy(p);
  return { file: 'policy.json', envelope, payload, policy: parsePolicy(payload), sha256: policyDigest(payload) };
}

/** An envelope of `p` signed by `signers`. */
function signed(p: Policy, signers: Signer[]): PolicyDoc {
  return doc(p, signEnvelope(serializePolicy(p), signers, POLICY_PAYLOAD_TYPE));
}

/**
 * What one who can write the policy file plants: a policy of the same name listing 256 root keys
 * of their own, carrying 64 distinct signatures that verify under none (R a curve point, S random).
 */
function planted(version: number): PolicyDoc {
  const keys = Array.from({ length: MAX_POLICY_KEYS }, () => signer());
  const p = policy(version, keys, 1);
  const signatures = Array.from({ length: MAX_SIGNATURES }, (_, i) => {
    const sig = new Uint8Array(64);
    sig.set(publicKeyOf(new Uint8Array(randomBytes(32))), 0);
    sig.set(randomBytes(31), 32);
    return { keyid: keys[i]?.keyid as string, sig: toBase64(sig) };
  });
  return doc(p, { payload: toBase64(serializePolicy(p)), payloadType: POLICY_PAYLOAD_TYPE, signatures });
}

const empty = (): TrustedState => ({ format: STATE_FORMAT, policies: {}, latest: {} });

/** The bound: every signature against each anchoring key, and once more against the key its keyid names. */
const bound = (anchors: number) => MAX_SIGNATURES * (anchors + 1);

describeTheCounter();

describe('a policy file planted with 256 root keys and 64 junk signatures', () => {
  it('is refused on first use after at most 64 × (--root keys + 1) verifications, not 64 × 256', () => {
    const r1 = signer();
    let err: unknown;
    try {
      establishPolicy([planted(1)], [r1], empty(), NOW);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'POLICY_SIGNATURE_INVALID', details: { reason: 'root-threshold' } });
    expect(verifications.count).toBeLessThanOrEqual(bound(1));
  });

  it('is refused as a newer version after at most 64 × (remembered root keys + 1) verifications', () => {
    const [r1, r2] = [signer(), signer()];
    const v1 = signed(policy(1, [r1, r2], 2), [r1, r2]);
    const state = empty();
    state.policies.acme = policyMemory(v1.policy, v1.sha256, NOW);
    let err: unknown;
    try {
      establishPolicy([planted(2)], [], state, NOW);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'POLICY_SIGNATURE_INVALID', details: { reason: 'root-threshold' } });
    expect(verifications.count).toBeLessThanOrEqual(bound(2));
  });

  it('is refused as the remembered version with other content after at most 64 × (remembered root keys + 1) verifications', () => {
    const [r1, r2] = [signer(), signer()];
    const v1 = signed(policy(1, [r1, r2], 2), [r1, r2]);
    const state = empty();
    state.policies.acme = policyMemory(v1.policy, v1.sha256, NOW);
    expect(() => establishPolicy([planted(1)], [], state, NOW)).toThrow();
    expect(verifications.count).toBeLessThanOrEqual(bound(2));
  });
});

describe('a genuine policy is still judged on all its root keys', () => {
  it('a rotation to new root keys needs the new keys’ own signatures, whatever keyid they name', () => {
    const [r1, r2, r3, r4] = [signer(), signer(), signer(), signer()];
    const v1 = signed(policy(1, [r1, r2], 2), [r1, r2]);
    const state = empty();
    state.policies.acme = policyMemory(v1.policy, v1.sha256, NOW);
    const v2 = signed(policy(2, [r3, r4], 2), [r1, r2, r3, r4]);
    // The keyid is a hint only (§4.4): signatures of the new roots that name no keyid still count.
    const hintless = doc(v2.policy, { ...v2.envelope, signatures: v2.envelope.signatures.map((s) => ({ ...s, keyid: '' })) });
    expect(establishPolicy([hintless], [], state, NOW).signedBy.sort()).toEqual([r3.keyid, r4.keyid].sort());
    const onlyOld = signed(policy(2, [r3, r4], 2), [r1, r2]);
    expect(() => establishPolicy([onlyOld], [], state, NOW)).toThrow(expect.objectContaining({ code: 'POLICY_SIGNATURE_INVALID', details: expect.objectContaining({ reason: 'root-threshold' }) }));
  });

  it('on first use, a policy its --root keys signed is trusted, and one they did not sign is refused as not signed by them', () => {
    const [r1, r2, m] = [signer(), signer(), signer()];
    expect(establishPolicy([signed(policy(1, [r1, r2], 2), [r1, r2])], [r1, r2], empty(), NOW).signedBy.sort()).toEqual([r1.keyid, r2.keyid].sort());
    expect(() => establishPolicy([signed(policy(1, [m], 1), [m])], [r1, r2], empty(), NOW)).toThrow(expect.objectContaining({ details: expect.objectContaining({ reason: 'not-signed-by-given-roots' }) }));
  });
});
