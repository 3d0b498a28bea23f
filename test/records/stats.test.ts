import { describe, expect, it } from 'vitest';
import { checkRecords } from '../../src/records/check.js';
import type { RecordsReport } from '../../src/records/diff-sets.js';
import { DEFAULT_THRESHOLDS } from '../../src/records/thresholds.js';
import { chiSquareHomogeneity, chiSquareSurvival, gammaQ, jensenShannonDistance, labelShift, lInfDistance, populationStabilityIndex, sumLabels } from '../../src/records/stats.js';

// Reference values from SciPy 1.17.1: scipy.stats.chi2.sf, chi2_contingency(correction=False),
// scipy.spatial.distance.jensenshannon (base e).
describe('χ² survival function', () => {
  it.each([
    [3.841458820694124, 1, 0.04999999999999989],
    [6, 2, 0.04978706836786395],
    [100, 10, 5.4497019829205215e-17],
    [1000, 3, 1.7994208765314067e-216],
    [0.5, 4, 0.9735009788392561],
  ])('P(χ² ≥ %f) with %d degrees of freedom matches SciPy', (x, df, p) => {
    expect(chiSquareSurvival(x, df)).toBeCloseTo(p, 12);
    expect(Math.abs(chiSquareSurvival(x, df) - p) / p).toBeLessThan(1e-9);
  });

  it('is 1 with no degrees of freedom and at 0; Q(1, x) = e^-x', () => {
    expect(chiSquareSurvival(5, 0)).toBe(1);
    expect(chiSquareSurvival(0, 3)).toBe(1);
    for (const x of [0.1, 1, 5, 30]) expect(gammaQ(1, x)).toBeCloseTo(Math.exp(-x), 14);
  });
});

describe('label shift statistics', () => {
  it('match SciPy on a 10 % flip of a million balanced rows', () => {
    const a = [333334, 333333, 333333];
    const b = [233334, 433333, 333333];
    const c = chiSquareHomogeneity(a, b);
    expect(c.statistic).toBeCloseTo(30690.5069041702, 6);
    expect(c.df).toBe(2);
    expect(c.p).toBe(0);
    const p = a.map((x) => x / 1e6);
    const q = b.map((x) => x / 1e6);
    expect(jensenShannonDistance(p, q)).toBeCloseTo(0.08777884105295013, 12);
    expect(lInfDistance(p, q)).toBeCloseTo(0.1, 6);
    expect(populationStabilityIndex(p, q)).toBeCloseTo(0.0619, 4);
  });

  it('match SciPy on small sets, including a new class', () => {
    const s = labelShift({ setosa: 50, versicolor: 50, virginica: 50 }, { setosa: 48, versicolor: 50, virginica: 52 });
    expect(s.chiSquare!.statistic).toBeCloseTo(0.08003201280512204, 12);
    expect(s.chiSquare!.p).toBeCloseTo(0.9607740604928626, 10);
    expect(s.jsDistance).toBeCloseTo(0.011549701281124787, 12);
    const n = labelShift({ ham: 80, spam: 40 }, { ham: 75, spam: 40, phish: 5 });
    expect(n.chiSquare!.statistic).toBeCloseTo(5.161290322580645, 12);
    expect(n.chiSquare!.p).toBeCloseTo(0.07572513333507033, 10);
    expect(n.jsDistance).toBeCloseTo(0.12155922864050382, 12);
    expect(n.newLabels).toEqual(['phish']);
    expect(n.vanishedLabels).toEqual([]);
    expect(n.labels.map((r) => r.label)).toEqual(['ham', 'phish', 'spam']);
    expect(n.lInf).toBeCloseTo(80 / 120 - 75 / 120, 12);
  });

  it('PSI replaces only a zero share by 0.0001: a rare class that grew 99-fold still counts', () => {
    // NumPy 2.4: p = [1, 999999] / 1e6, q = [99, 999901] / 1e6, sum((q − p) · log(q / p)).
    expect(populationStabilityIndex([1e-6, 0.999999], [9.9e-5, 0.999901])).toBeCloseTo(0.0004503313497934215, 15);
    // A new class: its zero share in A is 0.0001 (NumPy 2.4, the same sum with p[p == 0] = 1e-4).
    expect(labelShift({ ham: 80, spam: 40 }, { ham: 75, spam: 40, phish: 5 }).psi).toBeCloseTo(0.25343114896107916, 14);
  });

  it('L∞ is the exact move rounded once: 10/20 → 11/20 is 0.05, which the default gate (breach when larger than 0.05) passes', () => {
    const s = labelShift({ x: 10, y: 10 }, { x: 11, y: 9 });
    expect(s.lInf).toBe(0.05); // was 0.55 − 0.5 = 0.050000000000000044 in floating point
    const zeros = { unchanged: 19, added: 0, removed: 0, modified: 0, flipped: 1, labelChanges: 1, duplicates: { a: 0, b: 0 }, conflicts: { a: 0, b: 0 } };
    const set = { name: 't.csv', a: { records: 20 }, b: { records: 20 }, summary: zeros, duplicates: [], conflicts: [], shift: s };
    expect(checkRecords({ sets: [set], unavailable: [] } as unknown as RecordsReport, { ...DEFAULT_THRESHOLDS, maxLabelChanges: 1 })).toEqual([]);
    // 1e9 against 1e9 + 1 of 2e9 records: exactly 1 / 2e9 (Python: float(Fraction(1, 2 * 10**9)))
    expect(labelShift({ x: 1e9, y: 1e9 }, { x: 1e9 + 1, y: 1e9 - 1 }).lInf).toBe(5e-10);
    expect(labelShift({ x: 1e9, y: 1e9 }, { x: 1e9, y: 1e9 + 1 }).lInf).toBe(2.49999999875e-10);
  });

  it('a record added to a set A had none of breaches maxAddedShare with the value null (no share), as --json shows it, not Infinity', () => {
    const summary = { unchanged: 0, added: 1, removed: 0, modified: 0, flipped: 0, labelChanges: 0, duplicates: { a: 0, b: 0 }, conflicts: { a: 0, b: 0 } };
    const set = { name: 't.csv', a: { records: 0 }, b: { records: 1 }, summary, duplicates: [], conflicts: [] };
    const breaches = checkRecords({ sets: [set], unavailable: [] } as unknown as RecordsReport, DEFAULT_THRESHOLDS);
    expect(breaches).toEqual([{ set: 't.csv', rule: 'maxAddedShare', value: null, limit: 0.5, message: 'records added: 1, all of 0 (at most 50.0 %)' }]);
  });

  it('Jensen–Shannon distance keeps its digits when the distributions nearly agree (a billion records, one moved)', () => {
    // mpmath 1.3 at 60 digits: sqrt(Σ ½ p·ln(p/m) + ½ q·ln(q/m)) on the exact shares. SciPy's
    // jensenshannon, like snap before, gives 5.28e-9 for the first: the terms cancel to their rounding.
    const cases: [Record<string, number>, Record<string, number>, number][] = [
      [{ x: 1e9, y: 1e9 }, { x: 1e9 + 1, y: 1e9 - 1 }, 3.535533905932738e-10],
      [{ x: 1e9, y: 1e9 }, { x: 1e9, y: 1e9 + 1 }, 1.7677669520824853e-10],
      [{ x: 1, y: 1e9 }, { y: 1e9 }, 1.8616487049344167e-5],
      [{ x: 333334, y: 333333, z: 333333 }, { x: 233334, y: 433333, z: 333333 }, 0.08777884105295038],
      [{ ham: 80, spam: 40 }, { ham: 75, spam: 40, phish: 5 }, 0.12155922864050395],
    ];
    for (const [a, b, js] of cases) expect(Math.abs(labelShift(a, b).jsDistance! - js) / js).toBeLessThan(1e-13);
  });

  it('PSI keeps its digits when the distributions nearly agree (a billion records, one moved)', () => {
    // mpmath 1.3 at 60 digits: Σ (q − p)·ln(q / p) on the exact shares, a zero share as 0.0001.
    const cases: [Record<string, number>, Record<string, number>, number][] = [
      [{ x: 1e9, y: 1e9 }, { x: 1e9 + 1, y: 1e9 - 1 }, 1e-18],
      [{ x: 1e9, y: 1e9 }, { x: 1e9, y: 1e9 + 1 }, 2.4999999975e-19],
      [{ x: 725317354, y: 725317354 }, { x: 725317357, y: 725317354 }, 4.276873245846568e-18],
      [{ ham: 80, spam: 40 }, { ham: 75, spam: 40, phish: 5 }, 0.2534311489610792],
      [{ a: 1, b: 999999 }, { a: 99, b: 999901 }, 0.0004503313497934215],
    ];
    for (const [a, b, psi] of cases) expect(Math.abs(labelShift(a, b).psi! - psi) / psi).toBeLessThan(1e-13);
  });

  it('χ² keeps its digits when the distributions nearly agree (billions of records, a few moved)', () => {
    // Exact: Python's Fraction of Σ (a·nB − b·nA)² / ((a + b)·nA·nB), rounded once. SciPy's
    // chi2_contingency(correction=False), like snap before, gives 2.499999999375e-10 and
    // 1.0000003571279251e-7: O − E cancels to the rounding of E.
    const same = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`l${i}`, 1e9]));
    const cases: [Record<string, number>, Record<string, number>, number][] = [
      [{ x: 1e9, y: 1e9 }, { x: 1e9, y: 1e9 + 1 }, 2.499999998125e-10],
      [same(300), Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`l${i}`, 1e9 + (i % 3)])), 9.999999985e-8],
      [{ ham: 80, spam: 40 }, { ham: 75, spam: 40, phish: 5 }, 5.161290322580645],
    ];
    for (const [a, b, chi] of cases) expect(Math.abs(labelShift(a, b).chiSquare!.statistic - chi) / chi).toBeLessThan(1e-13);
  });

  it('are zero for equal distributions and null when a side is empty', () => {
    const same = labelShift({ a: 3, b: 1 }, { a: 6, b: 2 });
    expect([same.lInf, same.jsDistance, same.psi, same.chiSquare!.statistic]).toEqual([0, 0, 0, 0]);
    const empty = labelShift({}, { a: 1 });
    expect(empty).toMatchObject({ jsDistance: null, psi: null, chiSquare: null, lInf: 1, newLabels: ['a'] });
  });

  it('count a label named __proto__ like any other', () => {
    const parsed = JSON.parse('{"__proto__": 2, "x": 1}') as Record<string, number>;
    const s = labelShift(parsed, parsed);
    expect(s.labels.map((r) => [r.label, r.a])).toEqual([['__proto__', 2], ['x', 1]]);
    expect(sumLabels([parsed, parsed])['__proto__']).toBe(4);
  });
});
