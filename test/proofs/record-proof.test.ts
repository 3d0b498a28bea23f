/**
 * Record proofs (docs/FORMAT.md §11.5): one line of a signed record index and its RFC 9162 audit
 * path up to the index's Merkle root, which the statement signs. The worked example's bytes are
 * kept in `test/fixtures/record-proof.json`; `proveRecord` on the example snapshot writes exactly
 * them; they check out with only the public key; and no changed byte of the proof, of the record
 * line, or of the statement inside lets a record proof pass.
 */
import { promises as fsp } from 'node:fs';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseProof, serializeRecordProof, verifyProof, type InclusionProof, MAX_PROOF_RECORD_ENTRY_BYTES } from '../../src/core/proof.js';
import { inclusionProof } from '../../src/core/merkle.js';
import { isSnapError } from '../../src/core/errors.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { toBase64, utf8 } from '../../src/core/encoding.js';
import { proveRecord, recordMatcher } from '../../src/proofs/prove-record.js';
import { recordProofExample, writeRecordProofExample, TEST1_KEY } from '../helpers/record-proof-example.js';
import { EXAMPLE } from '../helpers/records-example.js';
import { testKey, trustedOf } from './helpers.js';

const FIXTURE = new URL('../fixtures/record-proof.json', import.meta.url);
const kept = new Uint8Array(readFileSync(FIXTURE));
const x = recordProofExample();
const key = trustedOf(TEST1_KEY);

/** The verdict on proof bytes: 'ok', 'fail:<check>', or 'error:<code>'. */
function verdict(bytes: Uint8Array): string {
  let p: InclusionProof;
  try {
    p = parseProof(bytes);
  } catch (e) {
    if (isSnapError(e)) return `error:${e.code}`;
    throw e;
  }
  const v = verifyProof(p, [key]);
  return v.ok ? 'ok' : `fail:${v.failure?.check}`;
}

/** Edit a proof's JSON value and write it back in canonical form (what an attacker could craft). */
function edited(bytes: Uint8Array, edit: (v: Record<string, any>) => void): Uint8Array {
  const v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  edit(v);
  return utf8(`${canonicalJson(v)}\n`);
}

/** A record proof of the example with some members changed, re-serialized. */
function proofWith(over: Partial<{ set: string; entry: string; leafIndex: number; treeSize: number; auditPath: Uint8Array[]; payload: Uint8Array }>): Uint8Array {
  const env = over.payload ? { ...x.envelope, payload: toBase64(over.payload) } : x.envelope;
  return serializeRecordProof(env, {
    set: over.set ?? 'train.csv',
    entry: over.entry ?? (EXAMPLE.index[1] as string),
    leafIndex: over.leafIndex ?? 1,
    treeSize: over.treeSize ?? 3,
    auditPath: over.auditPath ?? inclusionProof(x.leaves, 1),
  });
}

describe('the record proof worked example (FORMAT §11.5)', () => {
  it('is the kept fixture, byte for byte, with the documented SHA-256', () => {
    expect(Buffer.from(x.proof).equals(Buffer.from(kept))).toBe(true);
    expect(createHash('sha256').update(kept).digest('hex')).toBe('292f35eba496d95d72c895f6a0269b679aae4559fbe8760bc60720a0c86bb8ec');
    expect(kept.length).toBe(1829);
  });

  it('is the proof docs/FORMAT.md §11.5 shows, with its length, digest, statement length, snapshot id and intermediate hash', () => {
    const doc = readFileSync(new URL('../../docs/FORMAT.md', import.meta.url), 'utf8');
    const text = doc.slice(doc.indexOf('### 11.5 Record proofs'), doc.indexOf('### 11.6'));
    const proof = Buffer.from(x.proof);
    expect(text).toContain(`\`\`\`\n${proof.toString('utf8')}\`\`\``);
    expect(text.replace(/\s+/g, ' ')).toContain(`The file (${proof.length.toLocaleString('en-US')} bytes, one line ending with LF), SHA-256 \`${createHash('sha256').update(proof).digest('hex')}\``);
    const id = createHash('sha256').update(x.statementBytes).digest('hex');
    expect(text.replace(/\s+/g, ' ')).toContain(`the statement (${x.statementBytes.length} bytes, snapshot id \`sha256:${id}\`)`);
    // Step 4: NH(leaf 0, leaf 1), the first node up the audit path.
    const nh = createHash('sha256').update(Buffer.concat([Buffer.from([1]), x.leaves[0] as Uint8Array, x.leaves[1] as Uint8Array])).digest('hex');
    expect(text).toContain(`r = NH(p, r) =\n   \`${nh}\``);
  });

  it("says which records member its statement holds: §19.9's, as a snap before index summaries and column types wrote it (no index.summary, no schema)", () => {
    const doc = readFileSync(new URL('../../docs/FORMAT.md', import.meta.url), 'utf8');
    const text = doc.slice(doc.indexOf('### 11.5 Record proofs'), doc.indexOf('### 11.6')).replace(/\s+/g, ' ');
    const s199 = doc.slice(doc.indexOf('### 19.9 Worked example'), doc.indexOf('### 19.10'));
    const member = JSON.parse(`{${/```\n("records":\[.*\])\n```/.exec(s199)?.[1]}}`).records[0];
    const { summary: _summary, ...index } = member.index;
    const { schema: _schema, ...rest } = member;
    expect(JSON.parse(Buffer.from(x.statementBytes).toString('utf8')).predicate.records).toEqual([{ ...rest, index }]);
    expect(text).toContain("is §3's with the `records` member of §19.9 without `index.summary` and `schema`");
  });

  it('checks out with only the public key, and names the set, the record, its label and row', () => {
    const v = verifyProof(parseProof(kept), [key], { expect: 'demo@v1' });
    expect(v.ok).toBe(true);
    expect(v.record?.set).toMatchObject({ path: 'train.csv', count: 3, index: { merkleRoot: EXAMPLE.merkleRoot, sha256: EXAMPLE.indexSha256 } });
    expect(v.record?.entry).toEqual({ features: expect.any(String), fingerprint: '5b737318ed1a178bc6f3541c2bc150ae33e2c127e5e9eab040cd7c3932be427d', key: '["10"]', label: 'ham', row: 3 });
    expect({ leafIndex: v.leafIndex, treeSize: v.treeSize }).toEqual({ leafIndex: 1, treeSize: 3 });
  });

  it('is what proveRecord writes from the sealed example, for the key given as 10 or as ["10"]', async () => {
    const { dir, objectsDir } = await writeRecordProofExample();
    for (const k of ['10', '["10"]']) {
      const r = await proveRecord({ snapshot: { dir, ref: dir }, set: 'train.csv', key: k, objectDirs: [objectsDir] });
      expect(Buffer.from(r.proof).equals(Buffer.from(kept))).toBe(true);
      expect(r).toMatchObject({ leafIndex: 1, treeSize: 3, auditPathLength: 2, matches: 1, ref: 'demo@v1' });
    }
    // Each of the three records gets a proof that checks out.
    for (const [k, row] of [['1', 1], ['2', 2], ['10', 3]] as const) {
      const r = await proveRecord({ snapshot: { dir, ref: dir }, set: 'train.csv', key: k, objectDirs: [objectsDir], trusted: [key] });
      const v = verifyProof(parseProof(r.proof), [key]);
      expect({ k, ok: v.ok, row: v.record?.entry?.row }).toEqual({ k, ok: true, row });
    }
  });
});

describe('no changed byte lets a record proof pass', () => {
  it('changing any one byte of the proof file fails (each byte in turn); both refusals occur', () => {
    const seen = new Set<string>();
    for (let i = 0; i < kept.length; i++) {
      const bad = Uint8Array.from(kept);
      bad[i] = (bad[i] as number) ^ (1 + (i % 254));
      const v = verdict(bad);
      expect({ i, v }).not.toEqual({ i, v: 'ok' });
      seen.add(v.split(':')[0] as string);
    }
    expect([...seen].sort()).toEqual(['error', 'fail']);
  });

  it('changing random bytes of the proof never passes (property)', () => {
    // Each flip at its own position: two flips of one byte by the same mask would cancel out and
    // leave the very proof, which rightly passes (seed 197 drew [[9,5],[9,5]]).
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.nat(kept.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4, selector: ([i]) => i }), (flips) => {
        const bad = Uint8Array.from(kept);
        for (const [i, v] of flips) bad[i] = (bad[i] as number) ^ v;
        expect(verdict(bad)).not.toBe('ok');
      }),
      { numRuns: 1000 },
    );
  });

  it('changing any byte of the record line, written back as a well-formed proof, fails the entry or root check', () => {
    const line = EXAMPLE.index[1] as string;
    for (let i = 0; i < line.length; i++) {
      for (const c of ['0', 'a', '"']) {
        if (line[i] === c) continue;
        const v = verdict(proofWith({ entry: line.slice(0, i) + c + line.slice(i + 1) }));
        expect({ i, c, v }).toEqual({ i, c, v: expect.stringMatching(/^fail:(entry|root)$/) });
      }
    }
  });

  it('changing any byte of the signed statement fails the signature', () => {
    const stmt = x.statementBytes;
    for (let i = 0; i < stmt.length; i += 7) {
      const bad = Uint8Array.from(stmt);
      bad[i] = (bad[i] as number) ^ 0x20;
      expect({ i, v: verdict(proofWith({ payload: bad })) }).toEqual({ i, v: 'fail:signature' });
    }
  });

  it('another set, leaf index, tree size or audit path fails its check', () => {
    expect(verdict(proofWith({ set: 'other.csv' }))).toBe('fail:set');
    expect(verdict(proofWith({ treeSize: 4 }))).toBe('fail:tree-size');
    expect(verdict(proofWith({ leafIndex: 0 }))).toBe('fail:root');
    expect(verdict(proofWith({ leafIndex: 3 }))).toBe('fail:leaf-index');
    expect(verdict(proofWith({ auditPath: inclusionProof(x.leaves, 1).slice(0, 1) }))).toBe('fail:root');
    expect(verdict(proofWith({ entry: EXAMPLE.index[0] as string }))).toBe('fail:root'); // another true line, at the wrong place
    // A line of the right form for another identity (no key member) is not a line of this index.
    expect(verdict(proofWith({ entry: (EXAMPLE.index[1] as string).replace(',"key":["10"]', '') }))).toBe('fail:entry');
  });

  it('a signature copied in again (a proof longer by one signature, every byte of it valid) fails the signature check', () => {
    const twice = edited(kept, (v) => {
      v.envelope.signatures = [...v.envelope.signatures, ...v.envelope.signatures];
    });
    expect(verdict(twice)).toBe('fail:signature');
    expect(verifyProof(parseProof(twice), [key]).failure?.message).toMatch(/repeats signature 1/);
  });

  it('under another key it fails the signature check', () => {
    const v = verifyProof(parseProof(kept), [trustedOf(testKey(9))]);
    expect(v.failure).toMatchObject({ code: 'SIGNATURE_INVALID', check: 'signature' });
  });
});

describe('the record proof document', () => {
  const reason = (bytes: Uint8Array): string => {
    try {
      parseProof(bytes);
      return 'accepted';
    } catch (e) {
      if (!isSnapError(e)) throw e;
      return `${e.code}:${String(e.details?.reason ?? '')}`;
    }
  };

  it('has exactly its members: no manifest layer beside the record layer, nothing unknown', () => {
    expect(reason(edited(kept, (v) => (v.manifest = {})))).toBe('PROOF_MALFORMED:members');
    expect(reason(edited(kept, (v) => delete v.records.set))).toBe('PROOF_MALFORMED:members');
    expect(reason(edited(kept, (v) => (v.records.note = 1)))).toBe('PROOF_MALFORMED:members');
    expect(reason(edited(kept, (v) => (v.records.set = '')))).toBe('PROOF_MALFORMED:set');
    expect(reason(edited(kept, (v) => (v.records.entry = 'x'.repeat(MAX_PROOF_RECORD_ENTRY_BYTES + 1))))).toBe('PROOF_MALFORMED:entry');
    expect(reason(edited(kept, (v) => (v.records.treeSize = 0)))).toBe('PROOF_MALFORMED:tree-size');
    expect(reason(edited(kept, (v) => (v.version = 3)))).toBe('PROOF_UNSUPPORTED:');
    expect(reason(edited(kept, (v) => (v.version = 1)))).toBe('PROOF_MALFORMED:members'); // a file proof has a manifest layer
  });

  it('serializeRecordProof refuses what parseProof would refuse', () => {
    expect(() => proofWith({ entry: 'x'.repeat(MAX_PROOF_RECORD_ENTRY_BYTES + 1) })).toThrow(expect.objectContaining({ code: 'PROOF_MALFORMED' }));
    expect(() => proofWith({ set: 'x'.repeat(4097) })).toThrow(expect.objectContaining({ code: 'PROOF_MALFORMED' }));
  });
});

describe('proveRecord refuses', () => {
  it('a set the statement does not name, or a key no record has (PROOF_RECORD_NOT_FOUND)', async () => {
    const { dir, objectsDir } = await writeRecordProofExample();
    await expect(proveRecord({ snapshot: { dir, ref: dir }, set: 'nope.csv', key: '1', objectDirs: [objectsDir] })).rejects.toMatchObject({ code: 'PROOF_RECORD_NOT_FOUND' });
    await expect(proveRecord({ snapshot: { dir, ref: dir }, set: 'train.csv', key: '99', objectDirs: [objectsDir] })).rejects.toMatchObject({ code: 'PROOF_RECORD_NOT_FOUND' });
    await expect(proveRecord({ snapshot: { dir, ref: dir }, set: 'train.csv', key: '[10]', objectDirs: [objectsDir] })).rejects.toMatchObject({ code: 'PROOF_RECORD_NOT_FOUND' }); // a number, not the string "10"
  });

  it('an index object that is missing (OBJECT_MISSING) or altered (OBJECT_CORRUPT)', async () => {
    const { dir, objectsDir, indexPath } = await writeRecordProofExample();
    await expect(proveRecord({ snapshot: { dir, ref: dir }, set: 'train.csv', key: '10', objectDirs: [] })).rejects.toMatchObject({ code: 'OBJECT_MISSING' });
    await fsp.writeFile(indexPath, (await fsp.readFile(indexPath, 'utf8')).replace('"label":"spam"', '"label":"ham!"'));
    await expect(proveRecord({ snapshot: { dir, ref: dir }, set: 'train.csv', key: '10', objectDirs: [objectsDir] })).rejects.toMatchObject({ code: 'OBJECT_CORRUPT' });
    await fsp.writeFile(indexPath, EXAMPLE.index.slice(0, 2).join('\n') + '\n');
    await expect(proveRecord({ snapshot: { dir, ref: dir }, set: 'train.csv', key: '10', objectDirs: [objectsDir] })).rejects.toMatchObject({ code: 'OBJECT_CORRUPT' });
  });

  it('a key of the wrong form for the identity (USAGE)', () => {
    expect(() => recordMatcher('features', '17')).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => recordMatcher('position', 'x')).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => recordMatcher('key', '[1,')).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => recordMatcher('key', '[]')).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
});
