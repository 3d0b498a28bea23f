import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { leafHash, nodeHash, MerkleTreeBuilder, merkleRoot } from '../src/core/merkle.js';
import { leafHashOfLine, LineMerkleTree, nodeHashNative, sha256Native } from '../src/io/native-hash.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { validatePath } from '../src/core/paths.js';
import { isSnapError } from '../src/core/errors.js';

describe('native SHA-256 for the Merkle tree', () => {
  it('gives the same leaf hash as the core for any line, ASCII or not', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary-ascii' }), fc.string({ unit: 'grapheme' }), (a, b) => {
      for (const line of [a, b]) expect(Buffer.from(leafHashOfLine(line)).toString('hex')).toBe(Buffer.from(leafHash(new TextEncoder().encode(line))).toString('hex'));
    }));
  });

  it('gives the same node hash as the core', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (l, r) => {
      expect(Buffer.from(nodeHashNative(l, r))).toEqual(Buffer.from(nodeHash(l, r)));
    }));
  });

  it('gives the same SHA-256 as @noble/hashes for any bytes (digests with bytes over 0x7f come back whole through their latin1 text)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      expect(Buffer.from(sha256Native(b))).toEqual(Buffer.from(sha256(b)));
    }));
  });

  it('builds the same root through an injected node hash', () => {
    fc.assert(fc.property(fc.array(fc.string(), { minLength: 0, maxLength: 70 }), (lines) => {
      const leaves = lines.map((l) => leafHash(new TextEncoder().encode(l)));
      const b = new MerkleTreeBuilder({ nodeHash: nodeHashNative });
      for (const h of leaves) b.appendLeafHash(h);
      expect(Buffer.from(b.root())).toEqual(Buffer.from(merkleRoot(leaves)));
    }));
  });
});

describe('the Merkle root of manifest lines kept as latin1 text (LineMerkleTree)', () => {
  it('is the RFC 9162 root of the core for any lines, ASCII or not, of any count (0 to 70, every shape of the stack)', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.string({ unit: 'binary-ascii' }), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' })), { minLength: 0, maxLength: 70 }), (lines) => {
      const t = new LineMerkleTree();
      for (const l of lines) t.append(l);
      expect(t.size).toBe(lines.length);
      expect(t.rootHex()).toBe(Buffer.from(merkleRoot(lines.map((l) => leafHash(new TextEncoder().encode(l))))).toString('hex'));
    }));
  });

  it('gives the root of the core byte builder for random line counts from 0 to 300 (one fold, two forms of hash)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 300 }), fc.string(), (n, salt) => {
      const t = new LineMerkleTree();
      const b = new MerkleTreeBuilder({ nodeHash: nodeHashNative });
      for (let i = 0; i < n; i++) {
        const line = `{"path":"${salt} ${i}","sha256":"${'0'.repeat(64)}","size":${i}}`;
        t.append(line);
        b.append(new TextEncoder().encode(line));
      }
      expect(t.size).toBe(n);
      expect(t.rootHex()).toBe(Buffer.from(b.root()).toString('hex'));
    }), { numRuns: 40 });
  });

  it('gives the same root as the core builder for 1,000 lines whose hashes hold every byte value', () => {
    const lines = Array.from({ length: 1000 }, (_, i) => `{"path":"d/f${i}.bin","sha256":"${'0'.repeat(64)}","size":${i}}`);
    const t = new LineMerkleTree();
    const b = new MerkleTreeBuilder();
    for (const l of lines) {
      t.append(l);
      b.appendLeafHash(leafHash(new TextEncoder().encode(l)));
    }
    expect(t.rootHex()).toBe(Buffer.from(b.root()).toString('hex'));
  });
});

describe('the ASCII fast path of validatePath', () => {
  /** The SPEC §2 rules, written out plainly, for printable-ASCII paths. */
  function allowed(p: string): boolean {
    if (p.length === 0 || p.length > 4096 || p.startsWith('/')) return false;
    return p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
  }
  it('accepts exactly the paths the rules allow', () => {
    const chars = fc.constantFrom('a', '.', '/', ' ', '~', 'Z');
    fc.assert(fc.property(fc.array(chars, { maxLength: 12 }).map((cs) => cs.join('')), (p) => {
      let ok = true;
      try {
        validatePath(p);
      } catch (e) {
        expect(isSnapError(e)).toBe(true);
        ok = false;
      }
      expect(ok).toBe(allowed(p));
    }), { numRuns: 3000 });
  });
});

describe('snapshot ids through node:crypto', () => {
  it('core snapshotId hashes with the SHA-256 the I/O layer installs (a 4 MB planted statement was hashed by @noble/hashes three times a check, 55 ms each), and gives the id noble gives', async () => {
    const { snapshotId, useSha256Backend } = await import('../src/core/statement.js');
    const { sha256Native } = await import('../src/io/native-hash.js');
    const bytes = new Uint8Array(4 * 1024 * 1024).map((_, i) => i & 0xff);
    const byNoble = snapshotId(bytes);
    let calls = 0;
    useSha256Backend((b) => (calls++, sha256Native(b)));
    try {
      expect(snapshotId(bytes)).toBe(byNoble);
      expect(calls).toBe(1);
    } finally {
      useSha256Backend(undefined);
    }
  });
});
