/**
 * The streaming audit-path builder (InclusionProofBuilder) gives exactly the RFC 9162 §2.1.3.1
 * path that the in-memory `inclusionProof` gives, for every leaf of every small tree, and the path
 * verifies with `verifyInclusion`.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InclusionProofBuilder, MerkleTreeBuilder, inclusionProof, leafHash, merkleRoot, verifyInclusion } from '../../src/core/merkle.js';
import { SnapError } from '../../src/core/errors.js';
import { toHex, utf8 } from '../../src/core/encoding.js';
import { nodeHashNative } from '../../src/io/native-hash.js';

const leaves = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => leafHash(utf8(`leaf ${i}`)));

/** Stream `hashes` through a builder, marking leaf `index`. */
function streamed(hashes: readonly Uint8Array[], index: number, nodeHash?: (l: Uint8Array, r: Uint8Array) => Uint8Array) {
  const b = new InclusionProofBuilder(nodeHash ? { nodeHash } : {});
  hashes.forEach((h, i) => b.appendLeafHash(h, i === index));
  return b.finish();
}

describe('InclusionProofBuilder', () => {
  it('gives the same audit path as inclusionProof for every leaf of every tree of 1 to 40 leaves', () => {
    for (let n = 1; n <= 40; n++) {
      const hs = leaves(n);
      const root = merkleRoot(hs);
      for (let m = 0; m < n; m++) {
        const p = streamed(hs, m);
        expect({ n, m, path: p.auditPath.map(toHex) }).toEqual({ n, m, path: inclusionProof(hs, m).map(toHex) });
        expect(p.leafIndex).toBe(m);
        expect(p.treeSize).toBe(n);
        expect(toHex(p.leafHash)).toBe(toHex(hs[m] as Uint8Array));
        expect(verifyInclusion(p.leafHash, m, n, p.auditPath, root)).toBe(true);
      }
    }
  });

  it('agrees with inclusionProof for random tree sizes up to 1,100 and random leaves (property)', () => {
    const all = leaves(1100);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1100 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }))), ([n, m]) => {
        const hs = all.slice(0, n);
        expect(streamed(hs, m).auditPath.map(toHex)).toEqual(inclusionProof(hs, m).map(toHex));
      }),
      { numRuns: 150 },
    );
  });

  it('gives the same bytes with the native node hash of the I/O layer', () => {
    const hs = leaves(37);
    for (const m of [0, 17, 36]) expect(streamed(hs, m, nodeHashNative).auditPath.map(toHex)).toEqual(inclusionProof(hs, m).map(toHex));
  });

  it('keeps only O(log n) hashes: the path of a 100,000-leaf tree has 17 hashes and verifies', () => {
    const n = 100_000;
    const m = 54_321;
    const b = new InclusionProofBuilder({ nodeHash: nodeHashNative });
    const full = new MerkleTreeBuilder({ nodeHash: nodeHashNative });
    let target: Uint8Array | undefined;
    for (let i = 0; i < n; i++) {
      const h = leafHash(utf8(String(i)));
      if (i === m) target = h;
      b.appendLeafHash(h, i === m);
      full.appendLeafHash(h);
    }
    const p = b.finish();
    expect(p.auditPath).toHaveLength(17);
    expect(verifyInclusion(target as Uint8Array, m, n, p.auditPath, full.root())).toBe(true);
  });

  it('refuses a second target and a finish without one (MERKLE_BAD_INDEX)', () => {
    const b = new InclusionProofBuilder();
    expect(() => b.finish()).toThrow(expect.objectContaining({ code: 'MERKLE_BAD_INDEX' }));
    b.appendLeafHash(leafHash(utf8('a')), true);
    expect(() => b.appendLeafHash(leafHash(utf8('b')), true)).toThrow(SnapError);
    expect(() => b.appendLeafHash(new Uint8Array(31))).toThrow(expect.objectContaining({ code: 'MERKLE_BAD_HASH' }));
  });

  it('lists the complete-subtree roots of a MerkleTreeBuilder, largest first', () => {
    const hs = leaves(6);
    const t = new MerkleTreeBuilder();
    hs.forEach((h) => t.appendLeafHash(h));
    expect(t.subtreeRoots().map(toHex)).toEqual([merkleRoot(hs.slice(0, 4)), merkleRoot(hs.slice(4, 6))].map(toHex));
  });
});
