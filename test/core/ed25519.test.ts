import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY_CHECKS_KEPT, PUBLIC_KEY_SIZE, SEED_SIZE, SIGNATURE_SIZE, publicKeyOf, sign, useEd25519Backend, verify } from '../../src/core/ed25519.js';
import { nativeEd25519 } from '../../src/io/native-ed25519.js';
import { fromHex, toHex, utf8 } from '../../src/core/encoding.js';

const ED = new URL('../vectors/ed25519/', import.meta.url);
const code = (c: string) => expect.objectContaining({ code: c });

/** Group order L = 2^252 + 27742317777372353535851937790883648493 (RFC 8032 §5.1). */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function flip(bytes: Uint8Array, index: number, mask = 1): Uint8Array {
  const out = bytes.slice();
  out[index] = (out[index] as number) ^ mask;
  return out;
}

function leToBigint(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = n * 256n + BigInt(b[i] as number);
  return n;
}

function bigintToLe(n: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  if (n !== 0n) throw new Error('does not fit');
  return out;
}

interface Vector {
  name: string;
  seed: string;
  pub: string;
  msg: string;
  sig: string;
}

const rfc = (JSON.parse(readFileSync(new URL('rfc8032.json', ED), 'utf8')) as { name: string; priv: string; pub: string; msg: string; sig: string }[]).map(
  (v): Vector => ({ name: v.name, seed: v.priv, pub: v.pub, msg: v.msg, sig: v.sig }),
);

/** sign.input: `seed||pub : pub : msg : sig||msg :`, one test a line. */
const kat: Vector[] = readFileSync(new URL('sign.input', ED), 'utf8')
  .split('\n')
  .filter((l) => l.length > 0)
  .map((l, i) => {
    const [sk, pub, msg, sigmsg] = l.split(':') as [string, string, string, string];
    return { name: `sign.input line ${i + 1}`, seed: sk.slice(0, 64), pub, msg, sig: sigmsg.slice(0, 128) };
  });

// Every check runs twice: with @noble/ed25519 alone, and with node:crypto as the backend the CLI
// installs (the results must be the same, down to the strictness cases).
describe.each([
  ['@noble/ed25519 alone', undefined],
  ['the node:crypto backend', nativeEd25519],
] as const)('Ed25519 (RFC 8032), %s', (_label, backend) => {
  beforeAll(() => useEd25519Backend(backend));
  afterAll(() => useEd25519Backend(undefined));
  it('has the sizes of RFC 8032', () => {
    expect([SEED_SIZE, PUBLIC_KEY_SIZE, SIGNATURE_SIZE]).toEqual([32, 32, 64]);
  });

  it('reads all 1024 known-answer tests of sign.input', () => {
    expect(kat).toHaveLength(1024);
    // The fourth field is sig||msg: check the file is read the way it is laid out.
    const first = readFileSync(new URL('sign.input', ED), 'utf8').split('\n')[1] as string;
    const [, , msg, sigmsg] = first.split(':') as [string, string, string, string];
    expect(sigmsg.slice(128)).toBe(msg);
  });

  it.each(rfc)('$name: derives the public key, signs deterministically and verifies', (v) => {
    const seed = fromHex(v.seed);
    const msg = fromHex(v.msg);
    expect(toHex(publicKeyOf(seed))).toBe(v.pub);
    expect(toHex(sign(msg, seed))).toBe(v.sig);
    expect(verify(fromHex(v.sig), msg, fromHex(v.pub))).toBe(true);
  });

  it('passes all 1024 known-answer tests of the reference implementation, and fails each with a flipped bit', () => {
    for (const v of kat) {
      const seed = fromHex(v.seed);
      const pub = fromHex(v.pub);
      const msg = fromHex(v.msg);
      const sig = fromHex(v.sig);
      expect(toHex(publicKeyOf(seed)), v.name).toBe(v.pub);
      expect(toHex(sign(msg, seed)), v.name).toBe(v.sig);
      expect(verify(sig, msg, pub), v.name).toBe(true);
      expect(verify(flip(sig, v.name.length % 64, 1 << (msg.length % 8)), msg, pub), v.name).toBe(false);
      if (msg.length > 0) expect(verify(sig, flip(msg, msg.length - 1), pub), v.name).toBe(false);
      else expect(verify(sig, Uint8Array.of(0), pub), v.name).toBe(false);
    }
  });

  it('rejects a signature with any single bit flipped in R or S', () => {
    const v = rfc[1] as Vector;
    const sig = fromHex(v.sig);
    for (let i = 0; i < 64; i++) {
      for (let bit = 0; bit < 8; bit++) expect(verify(flip(sig, i, 1 << bit), fromHex(v.msg), fromHex(v.pub))).toBe(false);
    }
  });

  it('rejects a signature under a different public key', () => {
    const a = rfc[0] as Vector;
    const b = rfc[1] as Vector;
    expect(verify(fromHex(a.sig), fromHex(a.msg), fromHex(b.pub))).toBe(false);
  });

  it('refuses a signature whose S is not reduced (S + L), as strict RFC 8032 requires', () => {
    const v = rfc[1] as Vector;
    const sig = fromHex(v.sig);
    const s = leToBigint(sig.subarray(32));
    expect(s < L).toBe(true);
    const malleable = new Uint8Array(64);
    malleable.set(sig.subarray(0, 32), 0);
    malleable.set(bigintToLe(s + L, 32), 32);
    expect(toHex(malleable)).not.toBe(v.sig);
    expect(verify(malleable, fromHex(v.msg), fromHex(v.pub))).toBe(false);
  });

  it('refuses a public key that is not a point on the curve, returning false', () => {
    const v = rfc[0] as Vector;
    // y = 2 does not give a square x^2, so this encoding is not a curve point.
    const notAPoint = new Uint8Array(32);
    notAPoint[0] = 2;
    expect(verify(fromHex(v.sig), fromHex(v.msg), notAPoint)).toBe(false);
  });

  it('refuses a small-order public key (the identity point)', () => {
    const identity = new Uint8Array(32);
    identity[0] = 1;
    // With A = identity, R = identity and S = 0 satisfy the group equation for every message.
    const sig = new Uint8Array(64);
    sig[0] = 1;
    expect(verify(sig, utf8('anything'), identity)).toBe(false);
  });

  it('throws SIGNATURE_MALFORMED for a truncated 63-byte signature', () => {
    const v = rfc[0] as Vector;
    expect(() => verify(fromHex(v.sig).subarray(0, 63), fromHex(v.msg), fromHex(v.pub))).toThrowError(code('SIGNATURE_MALFORMED'));
  });

  it('throws SIGNATURE_MALFORMED for a 65-byte signature', () => {
    const v = rfc[0] as Vector;
    expect(() => verify(Uint8Array.from([...fromHex(v.sig), 0]), fromHex(v.msg), fromHex(v.pub))).toThrowError(code('SIGNATURE_MALFORMED'));
  });

  it('throws KEY_MALFORMED for a public key or seed that is not 32 bytes', () => {
    const v = rfc[0] as Vector;
    expect(() => verify(fromHex(v.sig), fromHex(v.msg), new Uint8Array(31))).toThrowError(code('KEY_MALFORMED'));
    expect(() => publicKeyOf(new Uint8Array(31))).toThrowError(code('KEY_MALFORMED'));
    expect(() => sign(utf8('m'), new Uint8Array(33))).toThrowError(code('KEY_MALFORMED'));
  });
});

/** The identity point as a public key (small order), and the signature R = identity, S = 0 that the cofactorless check alone accepts under it. */
function smallOrderForgery(): { identity: Uint8Array; forged: Uint8Array } {
  const identity = new Uint8Array(32);
  identity[0] = 1;
  const forged = new Uint8Array(64);
  forged[0] = 1;
  return { identity, forged };
}

describe('the node:crypto Ed25519 backend', () => {
  afterAll(() => useEd25519Backend(undefined));

  it('accepts, through core verify, nothing that @noble/ed25519 alone refuses: a small-order R with S = 0 against a key of small order', () => {
    // A = identity (small order) makes [S]B = R + [k]A hold with R = identity, S = 0: the cofactorless
    // check alone would accept it; core refuses A of small order before asking the backend.
    const { identity, forged: sig } = smallOrderForgery();
    useEd25519Backend(nativeEd25519);
    expect(verify(sig, utf8('anything'), identity)).toBe(false);
  });

  it('refuses that key every time, and still accepts a good key after many others were checked (the key checks are remembered, and forgotten past KEY_CHECKS_KEPT)', () => {
    const { identity, forged } = smallOrderForgery();
    useEd25519Backend(nativeEd25519);
    const seed = new Uint8Array(32).fill(7);
    const pub = publicKeyOf(seed);
    const good = sign(utf8('m'), seed);
    for (let round = 0; round < 3; round++) {
      expect(verify(forged, utf8('anything'), identity)).toBe(false);
      expect(verify(good, utf8('m'), pub)).toBe(true);
      expect(verify(good, utf8('other'), pub)).toBe(false);
    }
    // More keys than are remembered: each still judged, and the first ones again after them.
    for (let i = 0; i < KEY_CHECKS_KEPT + 10; i++) {
      const s = new Uint8Array(32).fill(0).map((_, j) => (i * 31 + j) & 0xff);
      expect(verify(sign(utf8('x'), s), utf8('x'), publicKeyOf(s))).toBe(true);
    }
    expect(verify(forged, utf8('anything'), identity)).toBe(false);
    expect(verify(good, utf8('m'), pub)).toBe(true);
  });

  it('gives the same signatures as @noble/ed25519 for 64 random seeds and messages, each verified both ways', () => {
    for (let i = 0; i < 64; i++) {
      const seed = crypto.getRandomValues(new Uint8Array(32));
      const msg = crypto.getRandomValues(new Uint8Array(i * 7));
      useEd25519Backend(undefined);
      const [pubNoble, sigNoble] = [publicKeyOf(seed), sign(msg, seed)];
      useEd25519Backend(nativeEd25519);
      expect(toHex(publicKeyOf(seed))).toBe(toHex(pubNoble));
      expect(toHex(sign(msg, seed))).toBe(toHex(sigNoble));
      expect(verify(sigNoble, msg, pubNoble)).toBe(true);
      expect(nativeEd25519.verify(sigNoble, msg, pubNoble)).toBe(true);
    }
  });
});
