import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  PAYLOAD_TYPE,
  addSignatures,
  pae,
  parseEnvelope,
  serializeEnvelope,
  signEnvelope,
  verifyEnvelope,
  type Envelope,
  type Signer,
  type TrustedKey,
} from '../../src/core/envelope.js';
import { privateKeyFromSeed } from '../../src/core/keys.js';
import { fromBase64, fromHex, toBase64, utf8 } from '../../src/core/encoding.js';
import { sign, verify } from '../../src/core/ed25519.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/worked-example.json', import.meta.url), 'utf8')) as {
  statement: string;
  paeBase64: string;
  seedHex: string;
  keyid: string;
  signatureBase64: string;
  envelope: string;
};
const code = (c: string) => expect.objectContaining({ code: c });
const text = (b: Uint8Array) => new TextDecoder().decode(b);

const alice: Signer = privateKeyFromSeed(fromHex(fixture.seedHex));
const bob: Signer = privateKeyFromSeed(fromHex('c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7'));
const mallory: Signer = privateKeyFromSeed(new Uint8Array(32).fill(7));
const trust = (...s: Signer[]): TrustedKey[] => s.map(({ publicKey, keyid }) => ({ publicKey, keyid }));
const payload = utf8(fixture.statement);

describe('PAE (DSSE v1)', () => {
  it('encodes the DSSE specification example exactly', () => {
    expect(text(pae('http://example.com/HelloWorld', utf8('hello world')))).toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });

  it('counts lengths in bytes, not characters', () => {
    expect(pae('é', utf8('ü€'))).toEqual(utf8('DSSEv1 2 é 5 ü€'));
  });

  it('encodes an empty body', () => {
    expect(text(pae('t', new Uint8Array(0)))).toBe('DSSEv1 1 t 0 ');
  });

  it('gives the PAE bytes of the worked example', () => {
    expect(toBase64(pae(PAYLOAD_TYPE, payload))).toBe(fixture.paeBase64);
  });
});

describe('signEnvelope and verifyEnvelope', () => {
  it('produces the envelope of the worked example byte for byte', () => {
    const env = signEnvelope(payload, [alice]);
    expect(alice.keyid).toBe(fixture.keyid);
    expect(env.signatures).toEqual([{ keyid: fixture.keyid, sig: fixture.signatureBase64 }]);
    expect(text(serializeEnvelope(env))).toBe(fixture.envelope);
  });

  it('signs PAE(payloadType, payload) with Ed25519', () => {
    const env = signEnvelope(payload, [alice]);
    expect(verify(fromBase64((env.signatures[0] as { sig: string }).sig), pae(PAYLOAD_TYPE, payload), alice.publicKey)).toBe(true);
    expect(fromBase64(env.payload)).toEqual(payload);
  });

  it('verifies a signature by a trusted key', () => {
    const r = verifyEnvelope(signEnvelope(payload, [alice]), trust(alice));
    expect(r.ok).toBe(true);
    expect(r.payload).toEqual(payload);
    expect(r.trustedKeyids).toEqual([alice.keyid]);
    expect(r.signatures).toEqual([{ keyid: alice.keyid, trusted: true, verifiedBy: alice.keyid }]);
  });

  it('counts two signatures by the same trusted key once, so a threshold of 2 fails', () => {
    const env = signEnvelope(payload, [alice]);
    const twice: Envelope = { ...env, signatures: [env.signatures[0]!, { keyid: 'another-hint', sig: env.signatures[0]!.sig }] };
    const r = verifyEnvelope(twice, trust(alice, bob), 2);
    expect(r.signatures.every((s) => s.trusted)).toBe(true);
    expect(r.trustedKeyids).toEqual([alice.keyid]);
    expect(r.ok).toBe(false);
  });

  it('counts the same public key once even when the caller lists it twice under different keyids', () => {
    const env = signEnvelope(payload, [alice]);
    const twice: Envelope = { ...env, signatures: [env.signatures[0]!, { keyid: 'x', sig: env.signatures[0]!.sig }] };
    const aliased: TrustedKey[] = [
      { publicKey: alice.publicKey, keyid: 'alice' },
      { publicKey: alice.publicKey, keyid: 'alice-backup' },
    ];
    const r = verifyEnvelope(twice, aliased, 2);
    expect(r.trustedKeyids).toHaveLength(1);
    expect(r.ok).toBe(false);
  });

  it('passes a threshold of 2 with signatures by two different trusted keys', () => {
    const r = verifyEnvelope(signEnvelope(payload, [alice, bob]), trust(bob, alice), 2);
    expect(r.ok).toBe(true);
    expect(r.trustedKeyids).toEqual([alice.keyid, bob.keyid]);
  });

  it('fails a threshold of 3 with only two trusted signers', () => {
    expect(verifyEnvelope(signEnvelope(payload, [alice, bob]), trust(alice, bob), 3).ok).toBe(false);
  });

  it('verifies a signature whose keyid hint is wrong or empty, by trying every trusted key', () => {
    const env = signEnvelope(payload, [alice]);
    for (const keyid of [bob.keyid, '', 'nonsense']) {
      const r = verifyEnvelope({ ...env, signatures: [{ keyid, sig: env.signatures[0]!.sig }] }, trust(bob, alice));
      expect(r.ok).toBe(true);
      expect(r.signatures[0]).toMatchObject({ keyid, trusted: true, verifiedBy: alice.keyid });
    }
  });

  it('does not trust a signature by a key that is not trusted', () => {
    const r = verifyEnvelope(signEnvelope(payload, [mallory]), trust(alice, bob));
    expect(r.ok).toBe(false);
    expect(r.trustedKeyids).toEqual([]);
    expect(r.signatures).toEqual([{ keyid: mallory.keyid, trusted: false, reason: 'no-trusted-key' }]);
  });

  it('does not trust a signature that claims a trusted keyid but was made by another key', () => {
    const forged = signEnvelope(payload, [{ ...mallory, keyid: alice.keyid }]);
    const r = verifyEnvelope(forged, trust(alice));
    expect(r.ok).toBe(false);
    expect(r.signatures[0]).toMatchObject({ trusted: false, reason: 'no-trusted-key' });
  });

  it('fails when the payload was changed after signing', () => {
    const env = signEnvelope(payload, [alice]);
    const tampered = utf8(fixture.statement.replace('"totalBytes":12', '"totalBytes":13'));
    expect(tampered).not.toEqual(payload);
    const r = verifyEnvelope({ ...env, payload: toBase64(tampered) }, trust(alice));
    expect(r.ok).toBe(false);
    expect(r.signatures[0]).toMatchObject({ trusted: false, reason: 'no-trusted-key' });
  });

  it('fails when the signature was made over a different payload type', () => {
    const sig = sign(pae('application/json', payload), alice.seed);
    const env: Envelope = { payload: toBase64(payload), payloadType: PAYLOAD_TYPE, signatures: [{ keyid: alice.keyid, sig: toBase64(sig) }] };
    expect(verifyEnvelope(env, trust(alice)).ok).toBe(false);
  });

  it('marks a truncated signature as malformed and fails', () => {
    const env = signEnvelope(payload, [alice]);
    const short = toBase64(fromBase64(env.signatures[0]!.sig).subarray(0, 63));
    const r = verifyEnvelope({ ...env, signatures: [{ keyid: alice.keyid, sig: short }] }, trust(alice));
    expect(r.ok).toBe(false);
    expect(r.signatures[0]).toEqual({ keyid: alice.keyid, trusted: false, reason: 'malformed' });
  });

  it('marks a signature that is not base64 as malformed and still counts the good ones', () => {
    const env = signEnvelope(payload, [alice]);
    const r = verifyEnvelope({ ...env, signatures: [{ keyid: 'x', sig: 'not base64!' }, env.signatures[0]!] }, trust(alice));
    expect(r.ok).toBe(true);
    expect(r.signatures.map((s) => s.reason)).toEqual(['malformed', undefined]);
  });

  it('accepts a signature and a payload in URL-safe base64 without padding', () => {
    const env = signEnvelope(payload, [alice]);
    const urlSafe = (s: string) => s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    const sig = urlSafe(env.signatures[0]!.sig);
    expect(sig).toMatch(/[-_]/);
    const r = verifyEnvelope({ ...env, payload: urlSafe(env.payload), signatures: [{ keyid: alice.keyid, sig }] }, trust(alice));
    expect(r.ok).toBe(true);
  });

  it('throws BASE64_INVALID for a payload that is not base64', () => {
    const env = signEnvelope(payload, [alice]);
    expect(() => verifyEnvelope({ ...env, payload: `${env.payload.slice(0, -4)}@@@@` }, trust(alice))).toThrowError(code('BASE64_INVALID'));
  });

  it('throws ENVELOPE_UNKNOWN_PAYLOAD_TYPE for another payload type', () => {
    const env = signEnvelope(payload, [alice], 'application/json');
    expect(() => verifyEnvelope(env, trust(alice))).toThrowError(code('ENVELOPE_UNKNOWN_PAYLOAD_TYPE'));
  });

  it('throws USAGE for a threshold below 1', () => {
    expect(() => verifyEnvelope(signEnvelope(payload, [alice]), trust(alice), 0)).toThrowError(code('USAGE'));
  });

  it('fails with no signatures at all', () => {
    const r = verifyEnvelope({ ...signEnvelope(payload, [alice]), signatures: [] }, trust(alice));
    expect(r.ok).toBe(false);
  });
});

describe('parseEnvelope', () => {
  it('round-trips an envelope through serializeEnvelope', () => {
    const env = signEnvelope(payload, [alice, bob]);
    expect(parseEnvelope(serializeEnvelope(env))).toEqual(env);
    expect(parseEnvelope(text(serializeEnvelope(env)))).toEqual(env);
  });

  it('reads the worked example envelope', () => {
    const env = parseEnvelope(fixture.envelope);
    expect(verifyEnvelope(env, trust(alice)).ok).toBe(true);
  });

  it('reads a signature without a keyid as an empty hint', () => {
    const env = signEnvelope(payload, [alice]);
    const json = JSON.stringify({ ...env, signatures: [{ sig: env.signatures[0]!.sig }] });
    expect(parseEnvelope(json).signatures).toEqual([{ keyid: '', sig: env.signatures[0]!.sig }]);
  });

  it('throws ENVELOPE_UNKNOWN_PAYLOAD_TYPE for another payload type', () => {
    const json = JSON.stringify({ ...signEnvelope(payload, [alice]), payloadType: 'application/json' });
    expect(() => parseEnvelope(json)).toThrowError(code('ENVELOPE_UNKNOWN_PAYLOAD_TYPE'));
  });

  it('refuses an envelope with an extra member with ENVELOPE_MALFORMED', () => {
    const json = JSON.stringify({ ...signEnvelope(payload, [alice]), statement: {} });
    expect(() => parseEnvelope(json)).toThrowError(code('ENVELOPE_MALFORMED'));
  });

  it('refuses signatures that are not an array with ENVELOPE_MALFORMED', () => {
    const env = signEnvelope(payload, [alice]);
    expect(() => parseEnvelope(JSON.stringify({ ...env, signatures: env.signatures[0] }))).toThrowError(code('ENVELOPE_MALFORMED'));
    expect(() => parseEnvelope(JSON.stringify({ ...env, signatures: null }))).toThrowError(code('ENVELOPE_MALFORMED'));
  });

  it.each([
    ['is not an object', ['sig']],
    ['has no sig', [{ keyid: 'k' }]],
    ['has a sig that is not a string', [{ keyid: 'k', sig: 1 }]],
    ['has a keyid that is not a string', [{ keyid: 1, sig: 'AA==' }]],
    ['has an unknown member', [{ keyid: 'k', sig: 'AA==', cert: 'x' }]],
  ])('refuses a signature that %s with ENVELOPE_MALFORMED', (_why, signatures) => {
    expect(() => parseEnvelope(JSON.stringify({ payload: 'AA==', payloadType: PAYLOAD_TYPE, signatures }))).toThrowError(code('ENVELOPE_MALFORMED'));
  });

  it('refuses text that is not a JSON object with ENVELOPE_MALFORMED', () => {
    expect(() => parseEnvelope('{')).toThrowError(code('ENVELOPE_MALFORMED'));
    expect(() => parseEnvelope('[]')).toThrowError(code('ENVELOPE_MALFORMED'));
    expect(() => parseEnvelope(Uint8Array.of(0xff))).toThrowError(code('ENVELOPE_MALFORMED'));
    expect(() => parseEnvelope(JSON.stringify({ payload: 1, payloadType: PAYLOAD_TYPE, signatures: [] }))).toThrowError(code('ENVELOPE_MALFORMED'));
  });
});

describe('addSignatures (co-signing)', () => {
  it('keeps the payload and appends the new signatures after the old ones', () => {
    const env = signEnvelope(payload, [alice]);
    const co = addSignatures(env, [bob]);
    expect(co.payload).toBe(env.payload);
    expect(co.payloadType).toBe(env.payloadType);
    expect(co.signatures.slice(0, 1)).toEqual(env.signatures);
    expect(co.signatures.map((s) => s.keyid)).toEqual([alice.keyid, bob.keyid]);
    expect(verifyEnvelope(co, trust(alice, bob), 2).ok).toBe(true);
  });

  it('leaves the original envelope unchanged', () => {
    const env = signEnvelope(payload, [alice]);
    addSignatures(env, [bob]);
    expect(env.signatures).toHaveLength(1);
  });

  it('adds a signature when an existing one only claims the signer\'s keyid without being valid', () => {
    const env = signEnvelope(payload, [alice]);
    const bogus: Envelope = { ...env, signatures: [{ keyid: bob.keyid, sig: env.signatures[0]!.sig }] };
    const co = addSignatures(bogus, [bob]);
    expect(co.signatures).toHaveLength(2);
    expect(verifyEnvelope(co, trust(bob)).ok).toBe(true);
  });

  it('does not add a second signature by a key that already signed, whatever its keyid hint', () => {
    const env = signEnvelope(payload, [alice]);
    const hinted: Envelope = { ...env, signatures: [{ keyid: '', sig: env.signatures[0]!.sig }] };
    expect(addSignatures(hinted, [alice]).signatures).toEqual(hinted.signatures);
  });

  it('does not add a second signature by a key that already signed', () => {
    const env = signEnvelope(payload, [alice]);
    expect(addSignatures(env, [alice]).signatures).toEqual(env.signatures);
  });
});
