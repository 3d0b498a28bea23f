/**
 * Inclusion proofs, the pure core (src/core/proof.ts): a proof checks out with only the public key,
 * and no change to any byte of it — the proof document, the manifest line it carries, or the
 * statement and envelope inside — lets it pass: it is then malformed (PROOF_MALFORMED /
 * PROOF_UNSUPPORTED) or fails a check (ok false, with the check that failed).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MAX_AUDIT_PATH,
  MAX_PROOF_BYTES,
  MAX_PROOF_ENTRY_BYTES,
  PROOF_KIND,
  parseProof,
  serializeProof,
  verifyProof,
  type InclusionProof,
} from '../../src/core/proof.js';
import { inclusionProof, leafHash, verifyInclusion } from '../../src/core/merkle.js';
import { signEnvelope, type Envelope } from '../../src/core/envelope.js';
import { isSnapError } from '../../src/core/errors.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { fromBase64, toBase64, utf8 } from '../../src/core/encoding.js';
import { buildStatement, serializeStatement } from '../../src/core/statement.js';
import { serializeEntry, type ManifestEntry } from '../../src/core/manifest.js';
import { merkleRoot } from '../../src/core/merkle.js';
import { fileEntries, testKey, trustedOf } from '../proofs/helpers.js';

const alice = testKey(1);
const bob = testKey(2);
const mallory = testKey(3);

/** A signed snapshot held in memory: its lines, leaves and envelope. */
function snapshotOf(entries: ManifestEntry[], signers = [alice]) {
  const lines = entries.map(serializeEntry);
  const leaves = lines.map((l) => leafHash(utf8(l)));
  const root = Buffer.from(merkleRoot(leaves)).toString('hex');
  const statement = buildStatement({
    dataset: 'ds', version: 'v1', merkleRoot: root, manifestSha256: 'ab'.repeat(32), fileCount: lines.length, totalBytes: 0, createdAt: '2026-11-21T10:00:00Z', tool: { name: 'snap', version: '0.1.0' },
  });
  const statementBytes = serializeStatement(statement);
  return { lines, leaves, statementBytes, envelope: signEnvelope(statementBytes, signers) };
}

/** The proof bytes of leaf m. */
function proofOf(s: ReturnType<typeof snapshotOf>, m: number, over: Partial<{ envelope: Envelope; entry: string; leafIndex: number; treeSize: number; auditPath: Uint8Array[] }> = {}): Uint8Array {
  return serializeProof(over.envelope ?? s.envelope, {
    entry: over.entry ?? (s.lines[m] as string),
    leafIndex: over.leafIndex ?? m,
    treeSize: over.treeSize ?? s.lines.length,
    auditPath: over.auditPath ?? inclusionProof(s.leaves, m),
  });
}

/** The verdict on proof bytes: 'ok', 'fail:<check>', or 'error:<code>'. */
function verdict(bytes: Uint8Array, keys = [trustedOf(alice)], threshold = 1): string {
  let p: InclusionProof;
  try {
    p = parseProof(bytes);
  } catch (e) {
    if (isSnapError(e)) return `error:${e.code}`;
    throw e;
  }
  const v = verifyProof(p, keys, { threshold });
  return v.ok ? 'ok' : `fail:${v.failure?.check}`;
}

/** Edit a proof's JSON value and write it back in canonical form (a proof an attacker could craft). */
function edited(bytes: Uint8Array, edit: (v: Record<string, any>) => void): Uint8Array {
  const v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  edit(v);
  return utf8(`${canonicalJson(v)}\n`);
}

const tree = snapshotOf(fileEntries(11));
const good = proofOf(tree, 6);

describe('a proof', () => {
  it('checks out with only the public key, and names the entry, its place and the snapshot', () => {
    const v = verifyProof(parseProof(good), [trustedOf(alice)]);
    expect(v.failure).toBeUndefined();
    expect(v.ok).toBe(true);
    expect(v.entry).toEqual(fileEntries(11)[6]);
    expect([v.leafIndex, v.treeSize]).toEqual([6, 11]);
    expect(v.statement?.predicate.dataset).toBe('ds');
    expect(v.signers).toEqual([{ keyid: alice.keyid, trusted: true }]);
  });

  it('is the canonical JSON of {envelope, kind, manifest, version} and one final LF', () => {
    const text = Buffer.from(good).toString('utf8');
    expect(text.endsWith('}\n')).toBe(true);
    const v = JSON.parse(text);
    expect(Object.keys(v)).toEqual(['envelope', 'kind', 'manifest', 'version']);
    expect(Object.keys(v.manifest)).toEqual(['auditPath', 'entry', 'leafIndex', 'treeSize']);
    expect(v.kind).toBe(PROOF_KIND);
    expect(v.version).toBe(1);
    expect(`${canonicalJson(v)}\n`).toBe(text);
  });

  it('of the first, a middle and the last entry of every tree of 1 to 40 entries checks out', () => {
    for (let n = 1; n <= 40; n++) {
      const s = snapshotOf(fileEntries(n));
      for (const m of new Set([0, n >> 1, n - 1])) expect({ n, m, v: verdict(proofOf(s, m)) }).toEqual({ n, m, v: 'ok' });
    }
  });

  it('of a symbolic link entry checks out', () => {
    const s = snapshotOf([...fileEntries(2), { path: 'x/link', target: '../f/0000.txt', type: 'symlink' }]);
    const v = verifyProof(parseProof(proofOf(s, 2)), [trustedOf(alice)]);
    expect(v.ok).toBe(true);
    expect(v.entry).toEqual({ path: 'x/link', target: '../f/0000.txt', type: 'symlink' });
  });
});

describe('no changed byte passes', () => {
  const otherValue = (b: number, r: number) => (b + 1 + (r % 255)) % 256;

  it('changing any one byte of the proof file, at every position, never passes', () => {
    const seen = new Set<string>();
    for (let i = 0; i < good.length; i++) {
      const bad = Uint8Array.from(good);
      bad[i] = otherValue(good[i] as number, i * 7919);
      const v = verdict(bad);
      expect({ i, v }).not.toEqual({ i, v: 'ok' });
      seen.add(v.split(':')[0] as string);
    }
    // Both kinds of refusal occur: a malformed document (exit 3) and a failed check (exit 1).
    expect([...seen].sort()).toEqual(['error', 'fail']);
  });

  it('of a proof signed by two keys, changing any one byte never passes, not even under a threshold one signature would meet', () => {
    // The second signature is bytes too: with threshold 1 the first alone would do, so a changed
    // second signature (or keyid) must still fail the proof rather than be passed over as a
    // co-signature the verifier cannot check.
    const both = snapshotOf(fileEntries(5), [alice, bob]);
    const two = proofOf(both, 4);
    const keys = [trustedOf(alice), trustedOf(bob)];
    expect([verdict(two, keys, 1), verdict(two, keys, 2)]).toEqual(['ok', 'ok']);
    expect(Buffer.from(two).toString('latin1')).toContain(`"keyid":"${bob.keyid}"`); // both signatures are carried
    for (let i = 0; i < two.length; i++) {
      const bad = Uint8Array.from(two);
      bad[i] = otherValue(two[i] as number, i * 7919);
      expect({ i, v: verdict(bad, keys, 1) }).not.toEqual({ i, v: 'ok' });
    }
  });

  it('changing random bytes of the proof file never passes (property)', () => {
    // Each flip at its own position: two flips of one byte by the same mask would cancel out and
    // leave the very proof, which rightly passes (seed 197 drew [[9,5],[9,5]]).
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4, selector: ([i]) => i }), (flips) => {
        const bad = Uint8Array.from(good);
        for (const [i, x] of flips) bad[i] = (bad[i] as number) ^ x;
        expect(verdict(bad)).not.toBe('ok');
      }),
      { numRuns: 1500 },
    );
  });

  it('changing any byte of the manifest line, written back as a well-formed proof, fails the entry or root check', () => {
    const line = tree.lines[6] as string;
    for (let i = 0; i < line.length; i++) {
      for (const c of ['0', '"', 'é']) {
        if (line[i] === c) continue;
        const entry = line.slice(0, i) + c + line.slice(i + 1);
        const v = verdict(proofOf(tree, 6, { entry }));
        expect({ i, c, v }).toEqual({ i, c, v: expect.stringMatching(/^fail:(entry|root)$/) });
      }
    }
  });

  it('changing any byte of the signed statement, re-encoded into the envelope, fails the signature', () => {
    const stmt = tree.statementBytes;
    for (let i = 0; i < stmt.length; i++) {
      const bad = Uint8Array.from(stmt);
      bad[i] = otherValue(stmt[i] as number, i);
      const env = { ...tree.envelope, payload: toBase64(bad) };
      expect({ i, v: verdict(proofOf(tree, 6, { envelope: env })) }).toEqual({ i, v: 'fail:signature' });
    }
  });

  it('changing any byte of a signature fails the signature check', () => {
    const sig = fromBase64((tree.envelope.signatures[0] as { sig: string }).sig);
    for (let i = 0; i < sig.length; i++) {
      const bad = Uint8Array.from(sig);
      bad[i] = (bad[i] as number) ^ 0x01;
      const env = { ...tree.envelope, signatures: [{ keyid: alice.keyid, sig: toBase64(bad) }] };
      expect({ i, v: verdict(proofOf(tree, 6, { envelope: env })) }).toEqual({ i, v: 'fail:signature' });
    }
  });

  it('a signature whose s is written as s + L (the same signature to a verifier that does not reduce s) fails the signature check', () => {
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    const sig = fromBase64((tree.envelope.signatures[0] as { sig: string }).sig);
    let sc = 0n;
    for (let i = 63; i >= 32; i--) sc = (sc << 8n) | BigInt(sig[i] as number);
    sc += L;
    expect(sc < 2n ** 256n).toBe(true);
    const bad = Uint8Array.from(sig);
    for (let i = 32; i < 64; i++, sc >>= 8n) bad[i] = Number(sc & 0xffn);
    const env = { ...tree.envelope, signatures: [{ keyid: alice.keyid, sig: toBase64(bad) }] };
    expect(verdict(proofOf(tree, 6, { envelope: env }))).toBe('fail:signature');
  });

  it('for the signed tree size, no leaf index but its own takes an entry and its audit path to the root (every leaf of trees of 1 to 64 entries; the tree-size check pins the size)', () => {
    for (let n = 1; n <= 64; n++) {
      const leaves = Array.from({ length: n }, (_, i) => leafHash(utf8(`line ${i}`)));
      const root = merkleRoot(leaves);
      for (let m = 0; m < n; m++) {
        const path = inclusionProof(leaves, m);
        const passing = [];
        for (let other = 0; other < n; other++) if (verifyInclusion(leaves[m] as Uint8Array, other, n, path, root)) passing.push(other);
        expect({ n, m, passing }).toEqual({ n, m, passing: [m] });
      }
    }
  });

  it('a keyid hint that names another key, or none, fails (in a proof the keyid is bound to its key)', () => {
    const sig = (tree.envelope.signatures[0] as { sig: string }).sig;
    for (const keyid of [bob.keyid, '', alice.keyid.toUpperCase(), `${alice.keyid.slice(0, 63)}0`]) {
      const env = { ...tree.envelope, signatures: [{ keyid, sig }] };
      expect(verdict(proofOf(tree, 6, { envelope: env }), [trustedOf(alice), trustedOf(bob)])).toBe('fail:signature');
    }
  });

  it('the payload or a signature in URL-safe or unpadded base64 is refused (one encoding only)', () => {
    const env = tree.envelope;
    const p = edited(good, (v) => (v.envelope.payload = env.payload.replace(/=+$/, '')));
    expect(verdict(p)).toBe('fail:envelope');
    const sig = (env.signatures[0] as { sig: string }).sig;
    const urlSafe = sig.replace(/\+/g, '-').replace(/\//g, '_');
    if (urlSafe !== sig) expect(verdict(edited(good, (v) => (v.envelope.signatures[0].sig = urlSafe)))).toBe('fail:envelope');
    expect(verdict(edited(good, (v) => (v.envelope.signatures[0].sig = sig.replace(/=+$/, ''))))).toBe('fail:envelope');
  });

  it('serializeProof writes standard padded base64 whatever the envelope used', () => {
    const env = tree.envelope;
    const url = { ...env, payload: env.payload.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_') };
    expect(Buffer.from(proofOf(tree, 6, { envelope: url })).equals(Buffer.from(good))).toBe(true);
  });
});

describe('a proof that does not prove its entry fails its check (ok false)', () => {
  it('under a key that did not sign: signature', () => {
    expect(verdict(good, [trustedOf(mallory)])).toBe('fail:signature');
    expect(verifyProof(parseProof(good), [trustedOf(mallory)]).failure?.code).toBe('SIGNATURE_INVALID');
  });

  it('below the threshold: signature; with both signers and both keys it passes', () => {
    const both = snapshotOf(fileEntries(5), [alice, bob]);
    const p = proofOf(both, 2);
    expect(verdict(p, [trustedOf(alice), trustedOf(bob)], 2)).toBe('ok');
    expect(verdict(p, [trustedOf(alice), trustedOf(bob), trustedOf(mallory)], 3)).toBe('fail:signature');
    expect(verdict(p, [trustedOf(alice)], 1)).toBe('fail:signature'); // bob's signature cannot be checked
    expect(verdict(proofOf(tree, 6), [trustedOf(alice), trustedOf(bob)], 2)).toBe('fail:signature');
  });

  it('with no signatures: signature', () => {
    expect(verdict(proofOf(tree, 6, { envelope: { ...tree.envelope, signatures: [] } }))).toBe('fail:signature');
  });

  it('with another tree size: tree-size; a leaf index past the end: leaf-index', () => {
    expect(verdict(proofOf(tree, 6, { treeSize: 12 }))).toBe('fail:tree-size');
    expect(verdict(proofOf(tree, 6, { leafIndex: 11 }))).toBe('fail:leaf-index');
  });

  it('with another leaf index, a shorter or longer audit path, or another entry’s path: root', () => {
    for (const leafIndex of [0, 5, 7, 10]) expect(verdict(proofOf(tree, 6, { leafIndex }))).toBe('fail:root');
    const path = inclusionProof(tree.leaves, 6);
    expect(verdict(proofOf(tree, 6, { auditPath: path.slice(1) }))).toBe('fail:root');
    expect(verdict(proofOf(tree, 6, { auditPath: [...path, path[0] as Uint8Array] }))).toBe('fail:root');
    expect(verdict(proofOf(tree, 6, { auditPath: inclusionProof(tree.leaves, 5) }))).toBe('fail:root');
    // An entry that is not in the tree, with a real path: the forger's first try.
    const forged = serializeEntry({ path: 'f/0006.txt', sha256: 'f'.repeat(64), size: 6 });
    expect(verdict(proofOf(tree, 6, { entry: forged }))).toBe('fail:root');
  });

  it('whose line is not a canonical manifest entry: entry, with its MANIFEST_ code', () => {
    const v = verifyProof(parseProof(proofOf(tree, 6, { entry: '{"path":"f/0006.txt", "sha256":"x","size":6}' })), [trustedOf(alice)]);
    expect(v.failure).toMatchObject({ check: 'entry', code: expect.stringMatching(/^MANIFEST_/) });
    expect(verdict(proofOf(tree, 6, { entry: '{"path":"../x","sha256":"' + '0'.repeat(64) + '","size":6}' }))).toBe('fail:entry');
  });

  it('whose envelope is not a DSSE envelope: envelope, with its code', () => {
    const v = verifyProof(parseProof(edited(good, (e) => (e.envelope.extra = 1))), [trustedOf(alice)]);
    expect(v.failure).toMatchObject({ check: 'envelope', code: 'ENVELOPE_MALFORMED' });
    const t = verifyProof(parseProof(edited(good, (e) => (e.envelope.payloadType = 'text/plain'))), [trustedOf(alice)]);
    expect(t.failure).toMatchObject({ check: 'envelope', code: 'ENVELOPE_UNKNOWN_PAYLOAD_TYPE' });
    expect(verdict(edited(good, (e) => (e.envelope.payload = '!!!')))).toBe('fail:envelope');
    expect(verdict(edited(good, (e) => (e.envelope.signatures = Array.from({ length: 65 }, () => e.envelope.signatures[0]))))).toBe('fail:envelope');
  });

  it('whose signed payload is not a valid statement: statement', () => {
    const env = signEnvelope(utf8('{"_type":"nope"}'), [alice]);
    expect(verdict(proofOf(tree, 6, { envelope: env }))).toBe('fail:statement');
  });

  it('of another snapshot than expected: snapshot (SNAPSHOT_NAME_MISMATCH); the right name or id passes', () => {
    const p = parseProof(good);
    const v = verifyProof(p, [trustedOf(alice)], { expect: 'ds@v2' });
    expect(v.failure).toMatchObject({ check: 'snapshot', code: 'SNAPSHOT_NAME_MISMATCH' });
    expect(verifyProof(p, [trustedOf(alice)], { expect: 'ds@v1' }).ok).toBe(true);
    const id = verifyProof(p, [trustedOf(alice)]).snapshot as string;
    expect(verifyProof(p, [trustedOf(alice)], { expect: id }).ok).toBe(true);
    expect(verifyProof(p, [trustedOf(alice)], { expect: `sha256:${'0'.repeat(64)}` }).ok).toBe(false);
    expect(() => verifyProof(p, [trustedOf(alice)], { expect: 'not a ref' })).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => verifyProof(p, [trustedOf(alice)], { threshold: 0 })).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
});

describe('a malformed proof is refused before any check (PROOF_MALFORMED, with details.reason)', () => {
  const reason = (bytes: Uint8Array | string): string => {
    try {
      parseProof(typeof bytes === 'string' ? utf8(bytes) : bytes);
    } catch (e) {
      if (isSnapError(e)) return `${e.code}:${String(e.details?.reason ?? '')}`;
      throw e;
    }
    return 'accepted';
  };
  const text = Buffer.from(good).toString('utf8');
  const value = JSON.parse(text);

  it('not in its exact canonical bytes: pretty-printed, without or with two final newlines, escaped', () => {
    expect(reason(JSON.stringify(value, null, 2) + '\n')).toBe('PROOF_MALFORMED:not-canonical');
    expect(reason(text.slice(0, -1))).toBe('PROOF_MALFORMED:not-canonical');
    expect(reason(`${text}\n`)).toBe('PROOF_MALFORMED:not-canonical');
    expect(reason(text.replace('"kind"', '"\\u006bind"'))).toBe('PROOF_MALFORMED:not-canonical');
    expect(reason(text.replace('"version":1', '"version":1.0'))).toBe('PROOF_MALFORMED:not-canonical');
  });

  it('with a duplicate member anywhere (even one canonical form would drop)', () => {
    expect(reason(text.replace('"kind":', '"kind":"x","kind":'))).toBe('PROOF_MALFORMED:');
    expect(reason(text.replace('"leafIndex":6', '"leafIndex":6,"leafIndex":6'))).toBe('PROOF_MALFORMED:');
  });

  it('not UTF-8, not JSON, not an object, too large', () => {
    expect(reason(Uint8Array.from([0xff, 0xfe, 0x7b, 0x7d]))).toBe('PROOF_MALFORMED:not-utf8');
    expect(reason('{"kind":')).toBe('PROOF_MALFORMED:');
    expect(reason('[1]\n')).toBe('PROOF_MALFORMED:not-object');
    expect(reason(new Uint8Array(MAX_PROOF_BYTES + 1).fill(0x20))).toBe('PROOF_MALFORMED:too-large');
  });

  it('of another kind, or missing or unknown members', () => {
    expect(reason(edited(good, (v) => (v.kind = 'in-toto')))).toBe('PROOF_MALFORMED:kind');
    expect(reason(edited(good, (v) => delete v.version))).toBe('PROOF_MALFORMED:version');
    expect(reason(edited(good, (v) => (v.records = {})))).toBe('PROOF_MALFORMED:members');
    expect(reason(edited(good, (v) => delete v.manifest.entry))).toBe('PROOF_MALFORMED:members');
    expect(reason(edited(good, (v) => (v.manifest.note = 'x')))).toBe('PROOF_MALFORMED:members');
    expect(reason(edited(good, (v) => (v.envelope = 'x')))).toBe('PROOF_MALFORMED:envelope');
  });

  it('with a "__proto__" member (a parser that set the prototype from it would see a manifest member that the text holds elsewhere): an unknown member', () => {
    expect(reason(text.replace('{"envelope"', '{"__proto__":{"x":1},"envelope"'))).toBe('PROOF_MALFORMED:members');
    expect(reason(text.replace('"manifest":{', '"manifest":{"__proto__":{},'))).toBe('PROOF_MALFORMED:members');
  });

  it('of a version this snap does not know: PROOF_UNSUPPORTED', () => {
    expect(reason(edited(good, (v) => (v.version = 3)))).toBe('PROOF_UNSUPPORTED:');
    expect(reason(edited(good, (v) => (v.version = '1')))).toBe('PROOF_MALFORMED:version');
  });

  it('with sizes out of bounds: leaf index, tree size, audit path length and hashes, entry length', () => {
    expect(reason(edited(good, (v) => (v.manifest.leafIndex = -1)))).toBe('PROOF_MALFORMED:leaf-index');
    expect(reason(edited(good, (v) => (v.manifest.leafIndex = 2 ** 53)))).toBe('PROOF_MALFORMED:leaf-index');
    expect(reason(edited(good, (v) => (v.manifest.treeSize = 0)))).toBe('PROOF_MALFORMED:tree-size');
    expect(reason(edited(good, (v) => (v.manifest.treeSize = 1.5)))).toBe('PROOF_MALFORMED:tree-size');
    expect(reason(edited(good, (v) => (v.manifest.auditPath = Array(MAX_AUDIT_PATH + 1).fill('0'.repeat(64)))))).toBe('PROOF_MALFORMED:audit-path');
    expect(reason(edited(good, (v) => (v.manifest.auditPath = Array(MAX_AUDIT_PATH).fill('0'.repeat(64)))))).toBe('accepted');
    expect(reason(edited(good, (v) => (v.manifest.auditPath[0] = v.manifest.auditPath[0].toUpperCase())))).toBe('PROOF_MALFORMED:audit-path');
    expect(reason(edited(good, (v) => (v.manifest.auditPath[0] = v.manifest.auditPath[0].slice(2))))).toBe('PROOF_MALFORMED:audit-path');
    expect(reason(edited(good, (v) => (v.manifest.auditPath = 'x')))).toBe('PROOF_MALFORMED:audit-path');
    expect(reason(edited(good, (v) => (v.manifest.entry = 'x'.repeat(MAX_PROOF_ENTRY_BYTES + 1))))).toBe('PROOF_MALFORMED:entry');
    expect(reason(edited(good, (v) => (v.manifest.entry = 7)))).toBe('PROOF_MALFORMED:entry');
  });

  it('and serializeProof refuses to write what parseProof would refuse', () => {
    expect(() => proofOf(tree, 6, { auditPath: Array.from({ length: MAX_AUDIT_PATH + 1 }, () => new Uint8Array(32)) })).toThrow(expect.objectContaining({ code: 'PROOF_MALFORMED' }));
    expect(() => proofOf(tree, 6, { auditPath: [new Uint8Array(31)] })).toThrow(expect.objectContaining({ code: 'MERKLE_BAD_HASH' }));
    expect(() => proofOf(tree, 6, { entry: 'x'.repeat(MAX_PROOF_ENTRY_BYTES + 1) })).toThrow(expect.objectContaining({ code: 'PROOF_MALFORMED' }));
  });
});

beforeAll(() => {
  // Sanity of the fixture: the proof under test is of a middle leaf with a multi-hash path.
  expect(parseProof(good).manifest!.auditPath.length).toBeGreaterThanOrEqual(3);
});
