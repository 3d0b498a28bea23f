import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { LeafTree, sha256Latin1 } from '../../src/records/leaf-tree.js';
import { EMPTY_ROOT, MerkleTreeBuilder } from '../../src/core/merkle.js';
import { toHex } from '../../src/core/encoding.js';

describe('the record index leaf tree', () => {
  it('has the same root as the core Merkle tree builder after every leaf (RFC 9162 §2.1)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 70 }), (lines) => {
        const fast = new LeafTree();
        const core = new MerkleTreeBuilder();
        expect(toHex(fast.root())).toBe(toHex(core.root()));
        for (const line of lines) {
          const prefixed = new Uint8Array(line.length + 1);
          prefixed.set(line, 1); // byte 0 is the leaf prefix 0x00
          fast.appendPrefixed(prefixed);
          core.append(line);
          expect(toHex(fast.root())).toBe(toHex(core.root()));
        }
        expect(fast.size).toBe(lines.length);
      }),
    );
  });

  it('gives the empty-tree hash with no leaves, as a copy the caller may change', () => {
    const r = new LeafTree().root();
    r[0] = r[0]! ^ 1;
    expect(toHex(new LeafTree().root())).toBe(toHex(EMPTY_ROOT));
  });

  it('takes SHA-256 as a latin1 string of the digest bytes, for strings (UTF-8) and bytes', () => {
    for (const s of ['', 'abc', 'ç😀']) {
      expect(Buffer.from(sha256Latin1(s), 'latin1').toString('hex')).toBe(createHash('sha256').update(s, 'utf8').digest('hex'));
      expect(Buffer.from(sha256Latin1(Buffer.from(s)), 'latin1').toString('hex')).toBe(createHash('sha256').update(s, 'utf8').digest('hex'));
    }
  });
});
