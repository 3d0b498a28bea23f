/**
 * The work an envelope's signatures cost the gate. A signature OpenSSL refuses is decided by
 * @noble/ed25519's own verification (about 1.2 ms, against about 0.1 ms for OpenSSL), since SPEC §5
 * makes noble's strict RFC 8032 (cofactored) check the rule. Whoever can write the store can plant
 * snapshots whose envelopes carry 64 well-formed junk signatures each: 100 of them made
 * `verify --against NAME@latest` take 11 CPU-s. Now each trusted key gets at most one full check
 * per envelope (MAX_FULL_CHECKS_PER_KEY); every other signature is judged by the quick check alone.
 * Counted through a wrapper of core/ed25519.js (`verifications.full`: full checks).
 */
import { randomBytes } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { envelopeFromJson, MAX_FULL_CHECKS_PER_KEY, MAX_SIGNATURE_WORK_BYTES, MAX_SIGNATURES, maxSignaturesOver, pae, parseEnvelope, PAYLOAD_TYPE, signEnvelope, verifyEnvelope, type Envelope, type Signer } from '../../src/core/envelope.js';
import { publicKeyOf, useEd25519Backend } from '../../src/core/ed25519.js';
import { keyidOf } from '../../src/core/keys.js';
import { toBase64, utf8 } from '../../src/core/encoding.js';
import { installNativeEd25519, nativeEd25519 } from '../../src/io/native-ed25519.js';
import { describeTheCounter, verifications } from '../helpers/count-verifications.js';

vi.mock('../../src/core/ed25519.js', async (orig) => (await import('../helpers/count-verifications.js')).countingEd25519(orig));

beforeAll(() => installNativeEd25519()); // as the CLI runs
afterAll(() => useEd25519Backend(undefined));
beforeEach(() => {
  verifications.count = 0;
  verifications.full = 0;
});

function signer(): Signer {
  const seed = new Uint8Array(randomBytes(32));
  const publicKey = publicKeyOf(seed);
  return { seed, publicKey, keyid: keyidOf(publicKey) };
}

/** A well-formed signature that verifies under no key: R a valid point (a random public key), S < L (not refused at decoding). */
function junkSig(keyid: string): { keyid: string; sig: string } {
  const sig = new Uint8Array(64);
  sig.set(publicKeyOf(new Uint8Array(randomBytes(32))), 0);
  sig.set(randomBytes(31), 32);
  return { keyid, sig: toBase64(sig) };
}

const GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;
/** The point (0, -1), of order 2. */
const ORDER_TWO = ed.Point.fromHex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
const le = (n: bigint): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
const fromLe = (b: Uint8Array): bigint => b.reduceRight((n, x) => (n << 8n) | BigInt(x), 0n);

/**
 * A signature by `s` over `payload` that holds only under the cofactored equation
 * ([8][S]B = [8]R + [8][k]A, what noble's strict check and SPEC §5 accept) and not under the
 * cofactorless one OpenSSL checks: R carries a point of order 2. No RFC 8032 signer makes one.
 */
function cofactoredOnlySig(s: Signer, payload: Uint8Array): { keyid: string; sig: string } {
  const { scalar } = ed.utils.getExtendedPublicKey(s.seed);
  const r = fromLe(randomBytes(32)) % GROUP_ORDER;
  const R = ed.Point.BASE.multiply(r).add(ORDER_TWO).toBytes();
  const k = fromLe((ed.hashes.sha512 as (m: Uint8Array) => Uint8Array)(new Uint8Array([...R, ...s.publicKey, ...pae(PAYLOAD_TYPE, payload)]))) % GROUP_ORDER;
  const S = (r + k * scalar) % GROUP_ORDER;
  return { keyid: s.keyid, sig: toBase64(new Uint8Array([...R, ...le(S)])) };
}

const payload = utf8('{"_type":"https://in-toto.io/Statement/v1"}');
const withSignatures = (signatures: Envelope['signatures']): Envelope => ({ payload: toBase64(payload), payloadType: PAYLOAD_TYPE, signatures });

describeTheCounter();

describe('the signatures of one envelope', () => {
  it(`${MAX_SIGNATURES} junk signatures naming the trusted key are refused after at most ${MAX_FULL_CHECKS_PER_KEY} full check, not ${MAX_SIGNATURES}`, () => {
    const alice = signer();
    const r = verifyEnvelope(withSignatures(Array.from({ length: MAX_SIGNATURES }, () => junkSig(alice.keyid))), [alice]);
    expect(r.ok).toBe(false);
    expect(r.signatures.every((s) => !s.trusted && s.reason === 'no-trusted-key')).toBe(true);
    expect(verifications.full).toBeLessThanOrEqual(MAX_FULL_CHECKS_PER_KEY);
    expect(verifications.count).toBeLessThanOrEqual(MAX_SIGNATURES + MAX_FULL_CHECKS_PER_KEY);
  });

  it('with three trusted keys, junk signatures naming none of them cost at most one full check per key', () => {
    const keys = [signer(), signer(), signer()];
    const r = verifyEnvelope(withSignatures(Array.from({ length: MAX_SIGNATURES }, (_, i) => junkSig(i % 2 ? 'x' : ''))), keys);
    expect(r.ok).toBe(false);
    expect(verifications.full).toBeLessThanOrEqual(3 * MAX_FULL_CHECKS_PER_KEY);
  });

  it('a genuine signature after 63 junk ones naming its key still counts', () => {
    const alice = signer();
    const genuine = signEnvelope(payload, [alice]).signatures;
    const r = verifyEnvelope(withSignatures([...Array.from({ length: MAX_SIGNATURES - 1 }, () => junkSig(alice.keyid)), ...genuine]), [alice]);
    expect(r.ok).toBe(true);
    expect(r.trustedKeyids).toEqual([alice.keyid]);
    expect(verifications.full).toBeLessThanOrEqual(MAX_FULL_CHECKS_PER_KEY);
  });

  it('a signature valid only under the cofactored equation (OpenSSL refuses it) counts when its key has had no full check yet: SPEC §5 as before', () => {
    const alice = signer();
    const odd = cofactoredOnlySig(alice, payload);
    const sig = Buffer.from(odd.sig, 'base64');
    expect(nativeEd25519.verify(sig, pae(PAYLOAD_TYPE, payload), alice.publicKey)).toBe(false);
    expect(ed.verify(sig, pae(PAYLOAD_TYPE, payload), alice.publicKey, { zip215: false })).toBe(true);
    expect(verifyEnvelope(withSignatures([odd]), [alice]).ok).toBe(true);
  });

  it('such a signature after a junk one that spent its key’s full check does not count: the bound can only refuse', () => {
    const alice = signer();
    const r = verifyEnvelope(withSignatures([junkSig(alice.keyid), cofactoredOnlySig(alice, payload)]), [alice]);
    expect(r.ok).toBe(false);
    expect(r.signatures.map((s) => s.reason)).toEqual(['no-trusted-key', 'no-trusted-key']);
  });
});

describe('an envelope whose signatures would each hash a large payload', () => {
  /** The bytes of an envelope over `size` payload bytes with `n` junk signatures naming `keyid`. */
  const big = (size: number, n: number, keyid: string): string => JSON.stringify({ payload: toBase64(new Uint8Array(size)), payloadType: PAYLOAD_TYPE, signatures: Array.from({ length: n }, () => junkSig(keyid)) });

  it(`is refused (ENVELOPE_MALFORMED) before any signature is checked when signatures × payload bytes pass ${MAX_SIGNATURE_WORK_BYTES}: 64 over a 4 MiB statement hashed 256 MiB per trusted key`, () => {
    const alice = signer();
    expect(() => parseEnvelope(big(4 * 1024 * 1024, MAX_SIGNATURES, alice.keyid))).toThrow(expect.objectContaining({ code: 'ENVELOPE_MALFORMED' }));
    expect(verifications.count).toBe(0);
  });

  it('takes as many signatures as fit: 64 over a small statement, 8 over a 4 MiB one', () => {
    const alice = signer();
    expect(parseEnvelope(big(1024, MAX_SIGNATURES, alice.keyid)).signatures).toHaveLength(MAX_SIGNATURES);
    expect(parseEnvelope(big(4 * 1024 * 1024, 8, alice.keyid)).signatures).toHaveLength(8);
  });

  it('says how many signatures a payload may carry, so that co-signing (snap sign, the S3 store\'s co-signature merge) never writes an envelope verify refuses', () => {
    expect(maxSignaturesOver(toBase64(new Uint8Array(1024)))).toBe(MAX_SIGNATURES);
    expect(maxSignaturesOver(toBase64(new Uint8Array(4 * 1024 * 1024)))).toBe(8);
    expect(maxSignaturesOver(toBase64(new Uint8Array(MAX_SIGNATURE_WORK_BYTES)))).toBe(1);
  });
});

describe('the signature bound on a payload past MAX_SIGNATURE_WORK_BYTES', () => {
  it('still lets one signature be made and read (a signed shard report may be 48 MiB: it was refused as malformed)', () => {
    const alice = signer();
    const payload = new Uint8Array(MAX_SIGNATURE_WORK_BYTES + 1024);
    expect(maxSignaturesOver(toBase64(payload))).toBe(1);
    const env = signEnvelope(payload, [alice]);
    // (as a shard report's reader reads it: core envelopeFromJson, under that report's own size cap)
    expect(envelopeFromJson(JSON.parse(JSON.stringify(env)), PAYLOAD_TYPE).signatures).toHaveLength(1);
  });
});

describe('signing an envelope', () => {
  it('refuses (SIGNATURE_LIMIT) more signers than verify accepts over the payload, so seal never writes an envelope verify refuses: 9 keys over a 4 MiB statement, 65 over a small one', () => {
    const keys = Array.from({ length: MAX_SIGNATURES + 1 }, () => signer());
    expect(() => signEnvelope(new Uint8Array(4 * 1024 * 1024), keys.slice(0, 9))).toThrow(expect.objectContaining({ code: 'SIGNATURE_LIMIT' }));
    expect(() => signEnvelope(new Uint8Array(16), keys)).toThrow(expect.objectContaining({ code: 'SIGNATURE_LIMIT' }));
    expect(signEnvelope(new Uint8Array(4 * 1024 * 1024), keys.slice(0, 8)).signatures).toHaveLength(8);
  });
});
