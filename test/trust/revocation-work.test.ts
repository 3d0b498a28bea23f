/**
 * The work a snapshot's revocations cost (docs/FORMAT.md §15). Whoever can write the store can
 * plant up to 64 revocation files of a snapshot, each with up to 64 signatures, and every signature
 * is tried against every key trusted to revoke: 64 × 64 × keys Ed25519 verifications (7 s of CPU
 * with one --pubkey key, 29 s with four) before a verify that passes anyway. The signatures of a
 * snapshot's revocations are now bounded in all (MAX_REVOCATION_SIGNATURES, distinct ones): more
 * is refused as REVOCATION_MALFORMED, unread, as a damaged revocation file is (fail closed).
 * Every Ed25519 verification is counted through a wrapper of core/ed25519.js `verify`.
 */
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_SIGNATURES, serializeEnvelope, signEnvelope, type Signer } from '../../src/core/envelope.js';
import { buildRevocation, serializeRevocation } from '../../src/core/revocation.js';
import { publicKeyOf } from '../../src/core/ed25519.js';
import { keyidOf } from '../../src/core/keys.js';
import { toBase64 } from '../../src/core/encoding.js';
import { MAX_REVOCATION_FILES, MAX_REVOCATION_SIGNATURES, judgeRevocations, type RevocationDoc } from '../../src/trust/revocations.js';
import { describeTheCounter, verifications } from '../helpers/count-verifications.js';

vi.mock('../../src/core/ed25519.js', async (orig) => (await import('../helpers/count-verifications.js')).countingEd25519(orig));

beforeEach(() => {
  verifications.count = 0;
});

function signer(): Signer {
  const seed = new Uint8Array(randomBytes(32));
  const publicKey = publicKeyOf(seed);
  return { seed, publicKey, keyid: keyidOf(publicKey) };
}

const SNAPSHOT = `sha256:${'ab'.repeat(32)}`;

/** A revocation of SNAPSHOT signed by `by`, with `junk` more signatures that verify under no key. */
function revocation(by: Signer, reason: string, junk: number, source: string): RevocationDoc {
  const statement = serializeRevocation(buildRevocation(SNAPSHOT, 'ds@v1', reason, '2026-11-30T00:00:00Z', { name: 'snap', version: '0.1.0' }));
  const env = signEnvelope(statement, [by]);
  const extra = Array.from({ length: junk }, () => {
    const sig = new Uint8Array(64);
    sig.set(publicKeyOf(new Uint8Array(randomBytes(32))), 0);
    sig.set(randomBytes(31), 32);
    return { keyid: 'x', sig: toBase64(sig) };
  });
  return { source, bytes: serializeEnvelope({ ...env, signatures: [...env.signatures, ...extra] }) };
}

describeTheCounter();

describe("a snapshot's revocations", () => {
  it('planted 64 files of 64 signatures each are refused (REVOCATION_MALFORMED) before any signature is tried, not after 64 × 64 × keys verifications', () => {
    const [alice, bob, mallory] = [signer(), signer(), signer()];
    const docs = Array.from({ length: MAX_REVOCATION_FILES }, (_, i) => revocation(mallory, `planted ${i}`, MAX_SIGNATURES - 1, `r${i}.json`));
    expect(() => judgeRevocations(docs, SNAPSHOT, [alice, bob])).toThrow(expect.objectContaining({ code: 'REVOCATION_MALFORMED' }));
    expect(verifications.count).toBe(0);
  });

  it('up to MAX_REVOCATION_SIGNATURES distinct signatures are all judged: a real revocation among planted ones counts', () => {
    const [alice, mallory] = [signer(), signer()];
    const planted = Array.from({ length: 3 }, (_, i) => revocation(mallory, `planted ${i}`, 20, `p${i}.json`));
    const real = revocation(alice, 'poisoned', 0, 'real.json');
    const docs = [...planted, real];
    expect(docs.reduce((n, d) => n + (JSON.parse(Buffer.from(d.bytes).toString('utf8')).signatures.length as number), 0)).toBeLessThanOrEqual(MAX_REVOCATION_SIGNATURES);
    const reports = judgeRevocations(docs, SNAPSHOT, [alice]);
    expect(reports.filter((r) => r.counts).map((r) => r.source)).toEqual(['real.json']);
  });

  it('the same revocation met twice (the store’s file and the copy this machine kept) counts its signatures once towards the bound', () => {
    const alice = signer();
    const doc = revocation(alice, 'poisoned', MAX_SIGNATURES - 1, 'store.json');
    const docs = [doc, { ...doc, source: 'trusted-state.json', remembered: true }];
    expect(judgeRevocations(docs, SNAPSHOT, [alice]).some((r) => r.counts)).toBe(true);
  });
});
