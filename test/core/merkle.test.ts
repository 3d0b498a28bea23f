import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  EMPTY_ROOT,
  MerkleFold,
  MerkleTreeBuilder,
  foldAlignedSubtrees,
  consistencyProof,
  inclusionProof,
  leafHash,
  merkleRoot,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
} from '../../src/core/merkle.js';
import { SnapError } from '../../src/core/errors.js';
import { fromHex, toHex, utf8 } from '../../src/core/encoding.js';

const MERKLE = fileURLToPath(new URL('../vectors/merkle/', import.meta.url));

/** Every .json file under `dir`, as paths relative to the merkle vector folder, sorted. */
function vectorFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.json')) out.push(relative(MERKLE, p));
    }
  };
  walk(join(MERKLE, dir));
  return out;
}

/** Vector hashes are standard base64 (possibly not 32 bytes long, on purpose). */
const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

/** The outcome of a verification: 'true', 'false', or the SnapError code it threw. */
function outcome(f: () => boolean): string {
  try {
    return String(f());
  } catch (e) {
    if (e instanceof SnapError) return e.code;
    throw e;
  }
}

const REFUSED = ['false', 'MERKLE_BAD_HASH', 'MERKLE_BAD_INDEX'];

function leaves(n: number, salt = 0): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => leafHash(utf8(`leaf ${salt} ${i}`)));
}

/** Leaf hashes packed 32 bytes each, as the hashing workers hold them. */
function packed(hs: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(32 * hs.length);
  hs.forEach((h, i) => out.set(h, 32 * i));
  return out;
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7));
  return out;
}

describe('Merkle tree hash (RFC 9162 §2.1.1)', () => {
  const roots = JSON.parse(readFileSync(join(MERKLE, 'roots.json'), 'utf8')) as {
    leaves: string[];
    roots: { treeSize: number; root: string }[];
  };
  const hashes = roots.leaves.map((hex) => leafHash(fromHex(hex)));

  it('has vectors for every tree size from 0 to 8', () => {
    expect(roots.roots.map((r) => r.treeSize)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it.each(roots.roots)('computes the published root of the first $treeSize leaves with merkleRoot', ({ treeSize, root }) => {
    expect(toHex(merkleRoot(hashes.slice(0, treeSize)))).toBe(root);
  });

  it.each(roots.roots)('computes the published root of the first $treeSize leaves with MerkleTreeBuilder', ({ treeSize, root }) => {
    const b = new MerkleTreeBuilder();
    for (const hex of roots.leaves.slice(0, treeSize)) b.append(fromHex(hex));
    expect(b.size).toBe(treeSize);
    expect(toHex(b.root())).toBe(root);
  });

  it('gives SHA-256 of the empty string for the empty tree', () => {
    expect(toHex(EMPTY_ROOT)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(merkleRoot([])).toEqual(EMPTY_ROOT);
  });

  it('separates leaf and node hashes by their prefix byte', () => {
    const a = leafHash(utf8('a'));
    const b = leafHash(utf8('b'));
    const asLeaf = leafHash(Uint8Array.from([0x01, ...a, ...b]));
    expect(nodeHash(a, b)).not.toEqual(asLeaf);
    expect(merkleRoot([a, b])).toEqual(nodeHash(a, b));
  });

  it.each(roots.roots)('computes the published root of the first $treeSize leaves from aligned subtrees folded at every split', ({ treeSize, root }) => {
    for (let cut = 0; cut <= treeSize; cut++) {
      const b = new MerkleTreeBuilder();
      for (const [lo, hi] of [[0, cut], [cut, treeSize]] as const) b.appendFolded(foldAlignedSubtrees(packed(hashes.slice(lo, hi)), lo, hi - lo, nodeHash));
      expect(b.size).toBe(treeSize);
      expect(toHex(b.root())).toBe(root);
    }
  });

  it('refuses to append a leaf hash that is not 32 bytes', () => {
    const b = new MerkleTreeBuilder();
    expect(() => b.appendLeafHash(new Uint8Array(31))).toThrowError(expect.objectContaining({ code: 'MERKLE_BAD_HASH' }));
  });
});

describe('inclusion proof vectors (transparency-dev/merkle)', () => {
  const files = vectorFiles('inclusion');

  it('finds the inclusion vector files', () => {
    expect(files.length).toBeGreaterThan(90);
  });

  it.each(files)('gives the expected verdict for the vector %s', (file) => {
    const v = JSON.parse(readFileSync(join(MERKLE, file), 'utf8')) as {
      leafIdx: number;
      treeSize: number;
      root: string;
      leafHash: string;
      proof: string[] | null;
      wantErr: boolean;
    };
    const got = outcome(() => verifyInclusion(b64(v.leafHash), v.leafIdx, v.treeSize, (v.proof ?? []).map(b64), b64(v.root)));
    if (v.wantErr) expect(REFUSED).toContain(got);
    else expect(got).toBe('true');
  });
});

describe('consistency proof vectors (transparency-dev/merkle)', () => {
  const files = vectorFiles('consistency');

  it('finds the consistency vector files', () => {
    expect(files.length).toBeGreaterThan(90);
  });

  it.each(files)('gives the expected verdict for the vector %s', (file) => {
    const v = JSON.parse(readFileSync(join(MERKLE, file), 'utf8')) as {
      size1: number;
      size2: number;
      root1: string;
      root2: string;
      proof: string[] | null;
      wantErr: boolean;
    };
    const got = outcome(() => verifyConsistency(v.size1, v.size2, (v.proof ?? []).map(b64), b64(v.root1), b64(v.root2)));
    if (v.wantErr) expect(REFUSED).toContain(got);
    else expect(got).toBe('true');
  });
});

describe('inclusion proofs (RFC 9162 §2.1.3)', () => {
  it('proves every leaf of every tree up to 33 leaves', () => {
    for (let n = 1; n <= 33; n++) {
      const ls = leaves(n);
      const root = merkleRoot(ls);
      for (let i = 0; i < n; i++) expect(verifyInclusion(ls[i] as Uint8Array, i, n, inclusionProof(ls, i), root)).toBe(true);
    }
  });

  it('refuses to make a proof for an index outside the tree', () => {
    expect(() => inclusionProof(leaves(3), 3)).toThrowError(expect.objectContaining({ code: 'MERKLE_BAD_INDEX' }));
    expect(() => inclusionProof(leaves(3), -1)).toThrowError(expect.objectContaining({ code: 'MERKLE_BAD_INDEX' }));
    expect(() => inclusionProof(leaves(3), 1.5)).toThrowError(expect.objectContaining({ code: 'MERKLE_BAD_INDEX' }));
  });

  it('rejects a proof checked against the wrong index', () => {
    const ls = leaves(7);
    expect(verifyInclusion(ls[2] as Uint8Array, 3, 7, inclusionProof(ls, 2), merkleRoot(ls))).toBe(false);
  });

  it('rejects a proof with an extra element', () => {
    const ls = leaves(4);
    const proof = [...inclusionProof(ls, 1), ls[0] as Uint8Array];
    expect(verifyInclusion(ls[1] as Uint8Array, 1, 4, proof, merkleRoot(ls))).toBe(false);
  });

  it('throws MERKLE_BAD_HASH for a proof element that is not 32 bytes', () => {
    const ls = leaves(4);
    const proof = inclusionProof(ls, 0);
    proof[0] = (proof[0] as Uint8Array).subarray(0, 31);
    expect(() => verifyInclusion(ls[0] as Uint8Array, 0, 4, proof, merkleRoot(ls))).toThrowError(expect.objectContaining({ code: 'MERKLE_BAD_HASH' }));
  });

  it('throws MERKLE_BAD_INDEX for a negative tree size', () => {
    const ls = leaves(1);
    expect(() => verifyInclusion(ls[0] as Uint8Array, 0, -1, [], merkleRoot(ls))).toThrowError(expect.objectContaining({ code: 'MERKLE_BAD_INDEX' }));
  });

  it('verifies every leaf of random trees of 1 to 300 leaves and fails when any bit of the proof or leaf flips', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }).chain((n) => fc.tuple(fc.constant(n), fc.nat({ max: n - 1 }), fc.nat())),
        ([n, i, salt]) => {
          const ls = leaves(n, salt);
          const root = merkleRoot(ls);
          const leaf = ls[i] as Uint8Array;
          const proof = inclusionProof(ls, i);
          expect(verifyInclusion(leaf, i, n, proof, root)).toBe(true);
          for (let bit = 0; bit < 256; bit++) expect(verifyInclusion(flipBit(leaf, bit), i, n, proof, root)).toBe(false);
          for (let j = 0; j < proof.length; j++) {
            for (let bit = 0; bit < 256; bit++) {
              const bad = proof.slice();
              bad[j] = flipBit(proof[j] as Uint8Array, bit);
              expect(verifyInclusion(leaf, i, n, bad, root)).toBe(false);
            }
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('consistency proofs (RFC 9162 §2.1.4)', () => {
  it('proves every prefix of random trees of 1 to 300 leaves', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), (n, salt) => {
        const ls = leaves(n, salt);
        const root2 = merkleRoot(ls);
        for (let k = 1; k <= n; k++) {
          const root1 = merkleRoot(ls.slice(0, k));
          expect(verifyConsistency(k, n, consistencyProof(ls, k), root1, root2)).toBe(true);
        }
      }),
      { numRuns: 25 },
    );
  });

  it('rejects a consistency proof with a flipped bit in any element', () => {
    const ls = leaves(13);
    const root2 = merkleRoot(ls);
    for (let k = 1; k < 13; k++) {
      const root1 = merkleRoot(ls.slice(0, k));
      const proof = consistencyProof(ls, k);
      for (let j = 0; j < proof.length; j++) {
        const bad = proof.slice();
        bad[j] = flipBit(proof[j] as Uint8Array, 7 * j + k);
        expect(verifyConsistency(k, 13, bad, root1, root2)).toBe(false);
      }
    }
  });

  it('rejects a consistency proof against a root of a different tree', () => {
    const ls = leaves(9);
    const other = merkleRoot(leaves(5, 1));
    expect(verifyConsistency(5, 9, consistencyProof(ls, 5), other, merkleRoot(ls))).toBe(false);
  });

  it('gives an empty proof between a tree and itself', () => {
    const ls = leaves(6);
    expect(consistencyProof(ls, 6)).toEqual([]);
    expect(verifyConsistency(6, 6, [], merkleRoot(ls), merkleRoot(ls))).toBe(true);
  });

  it('refuses to make a proof from the empty tree or from a tree larger than the current one', () => {
    expect(() => consistencyProof(leaves(3), 0)).toThrowError(expect.objectContaining({ code: 'MERKLE_BAD_INDEX' }));
    expect(() => consistencyProof(leaves(3), 4)).toThrowError(expect.objectContaining({ code: 'MERKLE_BAD_INDEX' }));
  });
});

describe('MerkleTreeBuilder', () => {
  it('gives the same root as merkleRoot for every prefix of random leaf lists', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 300 }), (datas) => {
        const hs = datas.map((d) => leafHash(d));
        const b = new MerkleTreeBuilder();
        expect(b.root()).toEqual(merkleRoot([]));
        for (let i = 0; i < datas.length; i++) {
          b.append(datas[i] as Uint8Array);
          expect(b.size).toBe(i + 1);
          expect(toHex(b.root())).toBe(toHex(merkleRoot(hs.slice(0, i + 1))));
        }
      }),
      { numRuns: 30 },
    );
  });
});

/** MTH(D[n]) written out as RFC 9162 §2.1.1 defines it, by recursion on the split point k. */
function mthByDefinition(datas: readonly Uint8Array[]): Uint8Array {
  const n = datas.length;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return leafHash(datas[0] as Uint8Array);
  let k = 1;
  while (k * 2 < n) k *= 2;
  return nodeHash(mthByDefinition(datas.slice(0, k)), mthByDefinition(datas.slice(k)));
}

describe('MerkleFold (the one fold of RFC 9162 §2.1.1, over any form of hash)', () => {
  /** The fold over hashes kept as hex text: another form than bytes, the same tree. */
  const hexFold = () => new MerkleFold<string, Uint8Array>({ leafHash: (d) => toHex(leafHash(d)), nodeHash: (l, r) => toHex(nodeHash(fromHex(l), fromHex(r))), emptyRoot: toHex(EMPTY_ROOT) });

  it('gives the root RFC 9162 defines, in its own form, for random leaf counts from 0 to 300, at every prefix', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer(), (n, salt) => {
        const datas = Array.from({ length: n }, (_, i) => utf8(`line ${salt} ${i}`));
        const f = hexFold();
        const b = new MerkleTreeBuilder();
        expect(f.root()).toBe(toHex(EMPTY_ROOT));
        for (let i = 0; i < n; i++) {
          f.append(datas[i] as Uint8Array);
          b.append(datas[i] as Uint8Array);
          expect(f.size).toBe(i + 1);
          expect(f.root()).toBe(toHex(b.root()));
        }
        expect(f.root()).toBe(toHex(mthByDefinition(datas)));
      }),
      { numRuns: 40 },
    );
  });

  it('takes aligned subtree roots in its own form, and keeps the roots of its complete subtrees as the byte builder does', () => {
    const datas = Array.from({ length: 13 }, (_, i) => utf8(`leaf ${i}`));
    const f = hexFold();
    f.appendSubtree(toHex(mthByDefinition(datas.slice(0, 8))), 3);
    for (const d of datas.slice(8)) f.append(d);
    const b = new MerkleTreeBuilder();
    for (const d of datas) b.append(d);
    expect(f.subtreeRoots()).toEqual(b.subtreeRoots().map(toHex));
    expect(f.root()).toBe(toHex(mthByDefinition(datas)));
    expect(() => f.appendSubtree(toHex(EMPTY_ROOT), 1)).toThrowError(expect.objectContaining({ code: 'MERKLE_BAD_INDEX' }));
  });
});

describe('aligned subtrees folded apart (as the hashing workers fold their batches)', () => {
  it('give the same root as appending every leaf, for random tree sizes cut into random batches', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 700 }), fc.array(fc.integer({ min: 1, max: 130 }), { maxLength: 40 }), fc.nat(), (n, cuts, salt) => {
        const hs = leaves(n, salt);
        const one = new MerkleTreeBuilder();
        for (const h of hs) one.appendLeafHash(h);
        const folded = new MerkleTreeBuilder();
        let p = 0;
        for (let k = 0; p < n; k++) {
          const c = Math.min(cuts.length > 0 ? (cuts[k % cuts.length] as number) : n, n - p);
          const f = foldAlignedSubtrees(packed(hs.slice(p, p + c)), p, c, nodeHash);
          expect(f.roots.length).toBe(32 * f.heights.length);
          // each subtree starts at a multiple of its size, and they tile the batch exactly
          let q = p;
          for (const h of f.heights) {
            expect(q % 2 ** h).toBe(0);
            q += 2 ** h;
          }
          expect(q).toBe(p + c);
          folded.appendFolded(f);
          p += c;
        }
        expect(folded.size).toBe(n);
        expect(toHex(folded.root())).toBe(toHex(one.root()));
        expect(toHex(folded.root())).toBe(toHex(merkleRoot(hs)));
      }),
      { numRuns: 200 },
    );
  });

  it('fold a batch into at most about 2·log2 of its size subtrees', () => {
    const hs = packed(leaves(1000));
    expect(foldAlignedSubtrees(hs, 0, 1000, nodeHash).heights.length).toBe(6); // 512 + 256 + 128 + 64 + 32 + 8
    // 3, 4–7, 8–15, …, 256–511, 512–513, 514
    expect(foldAlignedSubtrees(hs.subarray(0, 32 * 512), 3, 512, nodeHash).heights).toEqual(Uint8Array.from([0, 2, 3, 4, 5, 6, 7, 8, 1, 0]));
  });

  it('refuse a subtree that does not start at a multiple of its size, or is not 32 bytes', () => {
    const b = new MerkleTreeBuilder();
    b.appendLeafHash(leaves(1)[0] as Uint8Array);
    expect(() => b.appendSubtree(new Uint8Array(32), 1)).toThrowError(expect.objectContaining({ code: 'MERKLE_BAD_INDEX' }));
    expect(() => b.appendSubtree(new Uint8Array(32), -1)).toThrowError(expect.objectContaining({ code: 'MERKLE_BAD_INDEX' }));
    expect(() => b.appendSubtree(new Uint8Array(31), 0)).toThrowError(expect.objectContaining({ code: 'MERKLE_BAD_HASH' }));
    expect(() => b.appendFolded({ roots: new Uint8Array(64), heights: Uint8Array.from([0]) })).toThrowError(expect.objectContaining({ code: 'MERKLE_BAD_HASH' }));
    expect(b.size).toBe(1);
  });

  it('run in the hashing worker from their own source text (no reference outside the function)', () => {
    const f = new Function(`return (${foldAlignedSubtrees.toString()})`)() as typeof foldAlignedSubtrees;
    const hs = leaves(77);
    expect(toHex(f(packed(hs), 0, 77, nodeHash).roots)).toBe(toHex(foldAlignedSubtrees(packed(hs), 0, 77, nodeHash).roots));
  });
});
