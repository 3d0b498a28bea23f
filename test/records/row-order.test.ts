/**
 * How the order of the records both sides share changed (src/records/row-order.ts): `moved` is the
 * fewest records to move to restore A's order, the common records less the longest increasing
 * subsequence of B's rows taken in A's row order.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { movedRecords, RowPairs } from '../../src/records/row-order.js';

/** The longest strictly increasing subsequence by the quadratic textbook recurrence (the reference). */
function lisQuadratic(v: readonly number[]): number {
  const best: number[] = [];
  let most = 0;
  for (let i = 0; i < v.length; i++) {
    best[i] = 1;
    for (let j = 0; j < i; j++) if ((v[j] as number) < (v[i] as number)) best[i] = Math.max(best[i] as number, (best[j] as number) + 1);
    most = Math.max(most, best[i] as number);
  }
  return most;
}

/** Pairs (row in A, row in B) for B's rows listed in A's order: A's row i + 1 holds `bRows[i]`. */
function pairs(bRows: readonly number[]): RowPairs {
  const p = new RowPairs();
  bRows.forEach((b, i) => p.add(i + 1, b));
  return p;
}

const permutation = (n: number) => fc.array(fc.nat(), { minLength: n, maxLength: n }).map((keys) => keys.map((k, i) => [k, i + 1] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]).map(([, r]) => r));

describe('records moved out of their order', () => {
  it('is 0 when the order is kept, whatever rows were renumbered', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 10_000 }), { maxLength: 200 }), (rows) => {
        const sorted = [...rows].sort((x, y) => x - y);
        expect(pairs(sorted).result()).toEqual({ common: rows.length, moved: 0 });
      }),
    );
  });

  it('is 0 for a diff of a side with itself', () => {
    const p = new RowPairs();
    for (let r = 1; r <= 1000; r++) p.add(r, r);
    expect(p.result()).toEqual({ common: 1000, moved: 0 });
  });

  it('is 1 for a swap of two adjacent records, wherever they are', () => {
    for (const at of [0, 1, 5, 98]) {
      const rows = Array.from({ length: 100 }, (_, i) => i + 1);
      [rows[at], rows[at + 1]] = [rows[at + 1] as number, rows[at] as number];
      expect(pairs(rows).result()).toEqual({ common: 100, moved: 1 });
    }
  });

  it('is n − 1 for a reversal of n records', () => {
    for (const n of [1, 2, 3, 10, 1000]) {
      expect(pairs(Array.from({ length: n }, (_, i) => n - i)).result()).toEqual({ common: n, moved: n - 1 });
    }
  });

  it('is the common records less the longest increasing subsequence, on random permutations', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }).chain(permutation), (rows) => {
        expect(pairs(rows).result()).toEqual({ common: rows.length, moved: rows.length - lisQuadratic(rows) });
        expect(movedRecords(Uint32Array.from(rows))).toBe(rows.length - lisQuadratic(rows));
      }),
      { numRuns: 300 },
    );
  });

  it('takes the pairs in any order, and skips the rows of A that have no partner (removed records)', () => {
    const p = new RowPairs();
    // A's rows 2, 5, 9 are paired with B's 3, 1, 2: in A's order, B reads 3, 1, 2 — one record (row 2 → 3) moved.
    p.add(9, 2);
    p.add(2, 3);
    p.add(5, 1);
    expect(p.result()).toEqual({ common: 3, moved: 1 });
    expect(movedRecords(Uint32Array.from([0, 3, 0, 0, 1, 0, 0, 0, 2]))).toBe(1);
  });

  it('says whether every pair kept its row', () => {
    const same = new RowPairs();
    same.add(4, 4);
    same.add(1, 1);
    expect(same.allKeptRows).toBe(true);
    const other = new RowPairs();
    other.add(1, 1);
    other.add(2, 3);
    expect(other.allKeptRows).toBe(false);
    expect(other.result()).toEqual({ common: 2, moved: 0 });
  });

  it('refuses a row of A given twice, or beyond the side\'s record count, as a malformed index', () => {
    const p = new RowPairs();
    p.add(3, 1);
    expect(() => p.add(3, 2)).toThrow(expect.objectContaining({ code: 'RECORDS_INDEX_MALFORMED' }));
    const bounded = new RowPairs(10);
    expect(() => bounded.add(11, 1)).toThrow(expect.objectContaining({ code: 'RECORDS_INDEX_MALFORMED' }));
    expect(() => new RowPairs().add(2 ** 32, 1)).toThrow(expect.objectContaining({ code: 'RECORDS_LIMIT' }));
  });

  it('measures once, in place: result() again gives the same, and a pair added after is refused', () => {
    const p = pairs([3, 1, 2, 5, 4]);
    expect(p.result()).toEqual({ common: 5, moved: 2 });
    expect(p.result()).toEqual({ common: 5, moved: 2 });
    expect(() => p.add(6, 6)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });

  it('does not take a count it is given as the room to make (a wrong count costs no more than a true one)', () => {
    const p = new RowPairs(2 ** 40);
    p.add(1, 2);
    p.add(2, 1);
    p.add(200_000, 200_000);
    expect(p.result()).toEqual({ common: 3, moved: 1 });
  });
});
