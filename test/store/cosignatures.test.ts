/**
 * Merging co-signature files into a committed envelope (docs/FORMAT.md §23.8,
 * src/store/cosignatures.ts): an attacker with bucket write access but no key plants files full of
 * junk signatures whose names (their digests) sort before a genuine co-signature. A reader that
 * knows its trusted keys keeps, for each, the first signature that verifies under it, whatever the
 * keyids claim; a reader that knows none keeps the first MAX_SIGNATURES in name order, as before.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_SIGNATURES, addSignatures, parseEnvelope, serializeEnvelope, signEnvelope, verifyEnvelope, type Envelope, type EnvelopeSignature } from '../../src/core/envelope.js';
import { privateKeyFromSeed } from '../../src/core/keys.js';
import { MAX_COSIGNATURE_FILES, mergeCosignatures, notCosignatureOf, type CosignatureFile } from '../../src/store/cosignatures.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const keyOf = (n: number) => privateKeyFromSeed(new Uint8Array(32).fill(n));
const A = keyOf(1); // sealed the snapshot
const B = keyOf(2); // the reviewer who co-signs
const C = keyOf(3); // a second reviewer
const trustedAB = [A, B].map((k) => ({ publicKey: k.publicKey, keyid: k.keyid }));
const FOLDER = 'signatures/ds/v1/';

const committedEnv = signEnvelope(Buffer.from('{"statement":"ds@v1"}'), [A]);
const committed = serializeEnvelope(committedEnv);

/** A co-signature file as `snap sign` writes it: named by its bytes' digest. */
function fileOf(env: Envelope): CosignatureFile {
  const bytes = serializeEnvelope(env);
  return { path: `${FOLDER}${sha(bytes)}.json`, bytes };
}

/** A signature of 64 random bytes that claims `keyid`. */
const junk = (keyid: string): EnvelopeSignature => ({ keyid, sig: randomBytes(64).toString('base64') });

/** A planted file with `sigs` and one junk signature claiming B's keyid, made again until its name sorts before `before`. */
function plantedBefore(before: string, sigs: EnvelopeSignature[]): CosignatureFile {
  for (;;) {
    const f = fileOf({ ...committedEnv, signatures: [...sigs, junk(B.keyid)] });
    if (f.path < before) return f;
  }
}

/** The genuine co-signature of B, and `n` planted files of one junk signature each (claiming B's keyid) whose names sort before it. */
function attack(n: number): { genuine: CosignatureFile; planted: CosignatureFile[] } {
  const genuine = fileOf(addSignatures(committedEnv, [B]));
  const planted = Array.from({ length: n }, () => plantedBefore(genuine.path, []));
  return { genuine, planted };
}

const merged = (bytes: Uint8Array): Envelope => parseEnvelope(bytes);

describe('merging co-signature files', () => {
  it('with the trusted keys known, a genuine co-signature survives 65 planted files of junk signatures that sort first and claim its keyid', () => {
    const { genuine, planted } = attack(65);
    expect(planted.every((f) => f.path < genuine.path)).toBe(true);
    const notes: string[] = [];
    const env = merged(mergeCosignatures(committed, [genuine, ...planted], (t) => notes.push(t), { trusted: trustedAB }));
    expect(env.signatures).toHaveLength(MAX_SIGNATURES);
    expect(env.signatures[0]).toEqual(committedEnv.signatures[0]);
    expect(env.signatures.at(-1)).toEqual(merged(genuine.bytes).signatures[1]); // kept, in name order: last
    expect(verifyEnvelope(env, trustedAB, 2).ok).toBe(true);
    expect(new Set(env.signatures.map((x) => x.sig)).size).toBe(env.signatures.length);
    // 65 planted signatures + the genuine one = 66 new; 63 fit beside the committed one.
    expect(notes).toEqual([`3 signature(s) of co-signature files left out: the envelope carries at most ${MAX_SIGNATURES} (those that verify under a trusted key kept first)`]);
  });

  it('with the trusted keys known, stops reading once each of them has a signature kept: later files are not merged', () => {
    const genuine = fileOf(addSignatures(committedEnv, [B]));
    const later: CosignatureFile[] = [];
    while (later.length < 3) {
      const f = fileOf({ ...committedEnv, signatures: [junk(C.keyid)] });
      if (f.path > genuine.path) later.push(f);
    }
    const env = merged(mergeCosignatures(committed, [...later, genuine], () => {}, { trusted: trustedAB }));
    expect(env.signatures.map((x) => x.sig)).toEqual([committedEnv.signatures[0]?.sig, merged(genuine.bytes).signatures[1]?.sig]);
    // A third trusted key that never signed: every file is read, and the junk fills the room left.
    const trustedABC = [...trustedAB, { publicKey: C.publicKey, keyid: C.keyid }];
    expect(merged(mergeCosignatures(committed, [...later, genuine], () => {}, { trusted: trustedABC })).signatures).toHaveLength(5);
  });

  it('without the trusted keys, the first signatures in name order fill the envelope as before: the genuine one is left out and a threshold of 2 fails', () => {
    const { genuine, planted } = attack(65);
    const notes: string[] = [];
    const env = merged(mergeCosignatures(committed, [genuine, ...planted], (t) => notes.push(t)));
    expect(env.signatures).toHaveLength(MAX_SIGNATURES);
    expect(env.signatures.map((s) => s.sig)).not.toContain(merged(genuine.bytes).signatures[1]?.sig);
    expect(verifyEnvelope(env, trustedAB, 2).ok).toBe(false);
    expect(notes.some((t) => t.includes('the envelope is full'))).toBe(true);
  });

  it('copies of the committed signature in other base64 spellings rank as that key, once: they cannot push out the co-signer', () => {
    const genuine = fileOf(addSignatures(committedEnv, [B]));
    const a = committedEnv.signatures[0] as EnvelopeSignature;
    const spellings = [a.sig.replace(/=+$/, ''), a.sig.replace(/\+/g, '-').replace(/\//g, '_'), a.sig.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')].filter((s) => s !== a.sig);
    expect(spellings.length).toBeGreaterThan(0);
    const planted = [
      ...spellings.map((sig) => plantedBefore(genuine.path, [{ keyid: B.keyid, sig }])),
      ...Array.from({ length: 64 }, () => plantedBefore(genuine.path, [])),
    ];
    expect(verifyEnvelope({ ...committedEnv, signatures: [{ keyid: B.keyid, sig: spellings[0] as string }] }, trustedAB).trustedKeyids).toEqual([A.keyid]);
    const env = merged(mergeCosignatures(committed, [...planted, genuine], () => {}, { trusted: trustedAB }));
    expect(verifyEnvelope(env, trustedAB, 2).ok).toBe(true);
  });

  it('each trusted key gets its first verified signature kept, later co-signers too; an untrusted key ranks as junk', () => {
    const { genuine, planted } = attack(70);
    const byC = fileOf(addSignatures(committedEnv, [C]));
    const mallory = fileOf(addSignatures(committedEnv, [keyOf(9)]));
    const trustedABC = [...trustedAB, { publicKey: C.publicKey, keyid: C.keyid }];
    const env = merged(mergeCosignatures(committed, [...planted, genuine, byC, mallory], () => {}, { trusted: trustedABC }));
    expect(verifyEnvelope(env, trustedABC, 3).ok).toBe(true);
    expect(env.signatures).toHaveLength(MAX_SIGNATURES);
  });

  it('keeps a signature that a file repeats only once: 63 copies of one junk signature take one place', () => {
    const genuine = fileOf(addSignatures(committedEnv, [B]));
    const j = junk(B.keyid);
    const copies = plantedBefore(genuine.path, Array.from({ length: 63 }, () => j));
    for (const trusted of [undefined, trustedAB]) {
      const env = merged(mergeCosignatures(committed, [copies, genuine], () => {}, trusted ? { trusted } : {}));
      expect(env.signatures.filter((x) => x.sig === j.sig)).toHaveLength(1);
      expect(verifyEnvelope(env, trustedAB, 2).ok).toBe(true);
    }
  });

  it('keeps room for signing when asked: the envelope then takes one more signature', () => {
    const { genuine, planted } = attack(65);
    const env = merged(mergeCosignatures(committed, [genuine, ...planted], () => {}, { reserve: 1 }));
    expect(env.signatures).toHaveLength(MAX_SIGNATURES - 1);
    const signed = addSignatures(env, [C]);
    expect(signed.signatures).toHaveLength(MAX_SIGNATURES);
    expect(() => parseEnvelope(serializeEnvelope(signed))).not.toThrow();
  });

  it('returns the committed bytes themselves when no file adds a signature, and says which files it ignored and why', () => {
    const notes: string[] = [];
    const same = fileOf(committedEnv);
    const other = fileOf({ ...signEnvelope(Buffer.from('{"other":1}'), [A]) });
    const spoiled = { path: same.path.replace(/[0-9a-f]{64}/, '0'.repeat(64)), bytes: same.bytes };
    const notEnvelope = { path: `${FOLDER}${sha(Buffer.from('{}'))}.json`, bytes: Buffer.from('{}') };
    for (const trusted of [undefined, trustedAB]) {
      notes.length = 0;
      expect(mergeCosignatures(committed, [same, other, spoiled, notEnvelope], (t) => notes.push(t), trusted ? { trusted } : {})).toBe(committed);
      expect(notes.sort()).toEqual(
        [
          `co-signature file ${spoiled.path} does not hash to its name: ignored`,
          `co-signature file ${other.path} signs another payload than the snapshot's: ignored`,
          `co-signature file ${notEnvelope.path} is not an envelope: ignored`,
        ].sort(),
      );
    }
  });

  it(`without trusted keys reads at most ${MAX_COSIGNATURE_FILES} files; with them reads every file, so that the genuine one is found after more`, () => {
    const genuine = fileOf(addSignatures(committedEnv, [B]));
    // Files that add nothing (the committed signature again), ground to sort first: they fill no room.
    const planted: CosignatureFile[] = [];
    for (let i = 0; planted.length < MAX_COSIGNATURE_FILES; i++) {
      // Each differs in the keyid hint of its copy (ignored: the same sig is a duplicate).
      const f = fileOf({ ...committedEnv, signatures: [{ keyid: `k${i}`, sig: (committedEnv.signatures[0] as EnvelopeSignature).sig }] });
      if (f.path < genuine.path) planted.push(f);
    }
    const notes: string[] = [];
    const blind = merged(mergeCosignatures(committed, [genuine, ...planted], (t) => notes.push(t)));
    expect(blind.signatures).toHaveLength(1);
    expect(notes).toEqual([`1 co-signature file(s) not read (at most ${MAX_COSIGNATURE_FILES} are read when no trusted key is given)`]);
    const ranked = merged(mergeCosignatures(committed, [genuine, ...planted], () => {}, { trusted: trustedAB }));
    expect(verifyEnvelope(ranked, trustedAB, 2).ok).toBe(true);
  });

  it('names the first 20 ignored files and counts the rest', () => {
    const bad = Array.from({ length: 25 }, (_, i) => ({ path: `${FOLDER}${String(i).padStart(64, '0')}.json`, bytes: Buffer.from('x') }));
    const notes: string[] = [];
    mergeCosignatures(committed, bad, (t) => notes.push(t), { trusted: trustedAB });
    expect(notes).toHaveLength(21);
    expect(notes[20]).toBe('5 more co-signature files ignored');
  });
});

describe('telling a co-signature file from anything else in its folder (what retain locks)', () => {
  it('a co-signature is one; junk, a file renamed, another payload and a non-envelope each say why not', () => {
    const genuine = fileOf(addSignatures(committedEnv, [B]));
    expect(notCosignatureOf(committed, genuine.path, genuine.bytes)).toBeUndefined();
    expect(notCosignatureOf(committed, `${FOLDER}junk.bin`, genuine.bytes)).toBe('does not hash to its name');
    expect(notCosignatureOf(committed, `${FOLDER}${'0'.repeat(64)}.json`, genuine.bytes)).toBe('does not hash to its name');
    const other = fileOf(signEnvelope(Buffer.from('{"statement":"other@v1"}'), [B]));
    expect(notCosignatureOf(committed, other.path, other.bytes)).toBe("signs another payload than the snapshot's");
    const text = Buffer.from('not an envelope');
    expect(notCosignatureOf(committed, `${FOLDER}${sha(text)}.json`, text)).toBe('is not an envelope');
  });
});
