import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SORT_TAGS_INSERTION_MAX, SORT_TAGS_MIN_LENGTH, sortTags } from '../../src/records/sort-tags.js';
import { Rng } from '../../src/drill/rng.js';

/** A small deterministic generator (the drill's mulberry32), so that fast-check shrinks a seed and a length, not a 10,000-value array. */
function random(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

/** A whole number in [0, 2^bits) (bits ≤ 53), from two draws. */
function wholeBelow(r: () => number, bits: number): number {
  const hi = Math.floor(r() * 2 ** Math.max(bits - 26, 0));
  return bits > 26 ? hi * 2 ** 26 + Math.floor(r() * 2 ** 26) : Math.floor(r() * 2 ** bits);
}

const KINDS = ['tags', 'uniform52', 'upTo2^53', 'fewValues', 'sharedTopBits', 'clusters', 'smallRange', 'fractions', 'oneOddValue', 'zeros', 'powerOfTwoRange'] as const;
type Kind = (typeof KINDS)[number];
const ODD = [-0, NaN, -1, Infinity, -Infinity, 2 ** 53 + 2, 0.5, 2 ** 53, 2 ** 53 - 1, 0];

/** `n` values of one kind. */
function values(kind: Kind, n: number, seed: number): Float64Array {
  const r = random(seed);
  const v = new Float64Array(n);
  const distinct = Array.from({ length: 1 + Math.floor(r() * 8) }, () => wholeBelow(r, 52));
  const clusterSize = 1 + Math.floor(r() * (3 * SORT_TAGS_INSERTION_MAX));
  const top = wholeBelow(r, 52);
  const edgeBits = 1 + Math.floor(r() * 52);
  for (let i = 0; i < n; i++) {
    switch (kind) {
      case 'tags': // a 40-bit prefix (as from SHA-256) and a label number 0–3
        v[i] = wholeBelow(r, 40) * 4096 + Math.floor(r() * 4);
        break;
      case 'uniform52':
        v[i] = wholeBelow(r, 52);
        break;
      case 'upTo2^53':
        v[i] = r() < 0.1 ? 2 ** 53 - 1 - Math.floor(r() * 3) : wholeBelow(r, 53);
        break;
      case 'fewValues': // many duplicates
        v[i] = distinct[Math.floor(r() * distinct.length)] as number;
        break;
      case 'sharedTopBits': // ground feature hashes: most tags share their top 40 bits, a few spread the range
        v[i] = r() < 0.9 ? Math.floor(top / 4096) * 4096 + Math.floor(r() * 4096) : wholeBelow(r, 52);
        break;
      case 'clusters': // runs of values close together, spread over the range: buckets of about clusterSize values
        v[i] = Math.floor(i / clusterSize) * 2 ** 36 + Math.floor(r() * 1024);
        break;
      case 'smallRange':
        v[i] = Math.floor(r() * 50);
        break;
      case 'fractions':
        v[i] = r() * 2 ** (Math.floor(r() * 52));
        break;
      case 'oneOddValue':
        v[i] = wholeBelow(r, 52);
        break;
      case 'zeros': // a few 0 and -0 (the built-in sort puts -0 first, also in a small bucket) among small values
        v[i] = r() < 8 / n ? (r() < 0.5 ? 0 : -0) : Math.floor(r() * 2 ** 20);
        break;
      case 'powerOfTwoRange': // min 0 and max exactly 2^k: the largest value is on a bucket edge
        v[i] = i === 0 ? 0 : i === 1 ? 2 ** edgeBits : Math.floor(r() * 2 ** edgeBits);
        break;
    }
  }
  if (kind === 'clusters' || kind === 'sharedTopBits') {
    // shuffle, so the input is not already in order
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      const t = v[i] as number;
      v[i] = v[j] as number;
      v[j] = t;
    }
  }
  if (kind === 'oneOddValue' && n > 0) v[Math.floor(r() * n)] = ODD[Math.floor(r() * ODD.length)] as number;
  return v;
}

/** Whether two arrays hold the same values in the same places (Object.is: -0 is not 0, NaN is NaN). */
function same(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function sortsLikeTheBuiltIn(v: Float64Array): void {
  const expected = v.slice().sort();
  sortTags(v);
  expect(same(v, expected)).toBe(true);
}

describe('sortTags', () => {
  it('sorts exactly as Float64Array.prototype.sort, for every kind of input and size', () => {
    const sizes = fc.oneof(
      fc.integer({ min: 0, max: 20 }),
      fc.integer({ min: SORT_TAGS_MIN_LENGTH - 3, max: SORT_TAGS_MIN_LENGTH + 3 }),
      fc.integer({ min: 0, max: 3 * SORT_TAGS_MIN_LENGTH }),
      fc.constantFrom(2 * SORT_TAGS_MIN_LENGTH - 1, 2 * SORT_TAGS_MIN_LENGTH, 2 * SORT_TAGS_MIN_LENGTH + 1, 40_000),
    );
    fc.assert(
      fc.property(fc.constantFrom(...KINDS), sizes, fc.integer(), (kind, n, seed) => {
        sortsLikeTheBuiltIn(values(kind, n, seed));
      }),
      { numRuns: 400 },
    );
  });

  it('sorts arbitrary doubles (negative, -0, NaN, infinities, fractions) exactly as the built-in sort', () => {
    fc.assert(
      fc.property(fc.array(fc.double(), { maxLength: 50 }), fc.integer({ min: 0, max: 2 * SORT_TAGS_MIN_LENGTH }), fc.integer(), (odd, n, seed) => {
        // Tags with the arbitrary values placed among them, so arrays past the threshold meet them too.
        const v = values('tags', n, seed);
        const r = random(seed ^ 0x5bd1e995);
        for (const x of odd) if (n > 0) v[Math.floor(r() * n)] = x;
        sortsLikeTheBuiltIn(v);
      }),
      { numRuns: 200 },
    );
  });

  it('handles empty, one-value, all-equal and already sorted or reversed arrays', () => {
    for (const v of [new Float64Array(0), Float64Array.of(5), new Float64Array(SORT_TAGS_MIN_LENGTH * 2).fill(7), new Float64Array(SORT_TAGS_MIN_LENGTH * 2)]) sortsLikeTheBuiltIn(v);
    const up = Float64Array.from({ length: 3 * SORT_TAGS_MIN_LENGTH }, (_, i) => i * 4096 + (i % 3));
    sortsLikeTheBuiltIn(up.slice());
    sortsLikeTheBuiltIn(up.slice().reverse());
  });

  it('sorts bucket sizes just below, at and above the insertion-sort limit', () => {
    for (const size of [SORT_TAGS_INSERTION_MAX - 1, SORT_TAGS_INSERTION_MAX, SORT_TAGS_INSERTION_MAX + 1, 4 * SORT_TAGS_INSERTION_MAX]) {
      // Values in groups of `size`, the groups far apart and narrow: each group falls in one bucket (or two).
      const n = 2 * SORT_TAGS_MIN_LENGTH;
      const r = random(size);
      const v = Float64Array.from({ length: n }, (_, i) => (n - Math.floor(i / size)) * 2 ** 30 + Math.floor(r() * 64));
      sortsLikeTheBuiltIn(v);
    }
  });

  it('sorts input ground to share its top bits in bounded time (the built-in sort takes the large bucket)', () => {
    // All but two values in one bucket: quadratic insertion would take minutes at this size.
    const n = 400_000;
    const r = random(1);
    const v = Float64Array.from({ length: n }, () => 2 ** 51 + Math.floor(r() * 2 ** 20));
    v[0] = 0;
    v[1] = 2 ** 52 - 1;
    sortsLikeTheBuiltIn(v);
  });
});
