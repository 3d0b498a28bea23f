/**
 * DigestSet: a set of SHA-256 digests (64 lowercase hex) held as 32 bytes each, which says exactly
 * what a Set of the hex strings says — also when every digest falls in one part, or all share
 * their leading bytes.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DigestSet } from '../../src/core/digest-set.js';

const hexOf = (s: string): string => createHash('sha256').update(s).digest('hex');
const digestArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));

describe('DigestSet', () => {
  it('answers as a Set of the hex strings, for random digests added twice and looked up with others', () => {
    fc.assert(
      fc.property(fc.array(digestArb, { maxLength: 300 }), fc.array(digestArb, { maxLength: 50 }), (added, others) => {
        const set = new DigestSet();
        const want = new Set<string>();
        for (const h of [...added, ...added.slice(0, 40)]) expect(set.add(h)).toBe(!want.has(h) && !!want.add(h));
        expect(set.size).toBe(want.size);
        for (const h of [...added, ...others]) expect(set.has(h)).toBe(want.has(h));
      }),
      { numRuns: 200 },
    );
  });

  it('keeps 100,000 digests through its growth, and finds none it was not given', () => {
    const set = new DigestSet();
    for (let i = 0; i < 100_000; i++) set.add(hexOf(`in ${i}`));
    expect(set.size).toBe(100_000);
    for (let i = 0; i < 100_000; i += 7) expect(set.has(hexOf(`in ${i}`))).toBe(true);
    for (let i = 0; i < 10_000; i++) expect(set.has(hexOf(`out ${i}`))).toBe(false);
  });

  it('tells apart digests that differ only in their last byte, or share every byte but one', () => {
    const set = new DigestSet();
    const base = '00'.repeat(31);
    for (let b = 0; b < 256; b += 2) set.add(base + b.toString(16).padStart(2, '0'));
    for (let b = 0; b < 256; b++) expect(set.has(base + b.toString(16).padStart(2, '0'))).toBe(b % 2 === 0);
    const ff = 'f'.repeat(64);
    expect(set.has(ff)).toBe(false);
    set.add(ff);
    for (let i = 0; i < 64; i++) expect(set.has(`${ff.slice(0, i)}e${ff.slice(i + 1)}`)).toBe(false);
    expect(set.has(ff)).toBe(true);
    expect(set.has('0'.repeat(64))).toBe(true);
  });

  it('answers the same whatever seeds its hash (digests chosen to collide under one seed still work)', () => {
    const digests = Array.from({ length: 2000 }, (_, i) => `${'ab'.repeat(28)}${i.toString(16).padStart(8, '0')}`);
    for (const seed of [0, 1, 0xffffffff]) {
      const set = new DigestSet({ seed });
      for (const h of digests) set.add(h);
      expect(set.size).toBe(digests.length);
      for (const h of digests) expect(set.has(h)).toBe(true);
      expect(set.has(`${'ab'.repeat(28)}ffffffff`)).toBe(false);
    }
  });

  it('refuses a string that is not 64 lowercase hex (INTERNAL: its callers pass validated digests)', () => {
    const set = new DigestSet();
    for (const bad of ['', 'ab', 'A'.repeat(64), `${'0'.repeat(63)}g`, '0'.repeat(65)]) {
      expect(() => set.add(bad)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
      expect(() => set.has(bad)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    }
  });

  it('holds a million digests in under 96 bytes each', () => {
    const set = new DigestSet();
    for (let i = 0; i < 1_000_000; i++) set.add(hexOf(`m ${i}`));
    expect(set.size).toBe(1_000_000);
    expect(set.bytes / set.size).toBeLessThan(96);
  }, 60_000);
});
