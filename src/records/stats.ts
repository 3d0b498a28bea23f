/**
 * Label distributions and how far they moved between two versions of a record set (docs/DESIGN.md,
 * "Record forensics"). Pure arithmetic on label counts.
 *
 * Which statistic to gate on: on a million balanced rows, flipping 10 % of the labels moves the
 * Jensen–Shannon distance by about 0.09 and PSI by about 0.06 — both under the 0.1 threshold tools
 * commonly use — while χ² rejects homogeneity for almost any change at that size. The L∞ distance of
 * class proportions reads directly as "the largest move of one class's share" and is what
 * `snap check` gates on by default; the others are reported.
 */

/** One label's counts and shares on both sides. */
export interface LabelRow {
  label: string;
  a: number;
  b: number;
  /** Share of the side's records, in [0, 1] (0 for an empty side). */
  shareA: number;
  shareB: number;
}

/** Pearson's χ² test of homogeneity of the two label distributions. */
export interface ChiSquare {
  statistic: number;
  /** Degrees of freedom: labels present on either side, minus one. */
  df: number;
  /** P(χ²_df ≥ statistic); 1 when df is 0. */
  p: number;
}

/** How the label distribution moved from A to B. */
export interface LabelShift {
  /** Every label of either side, sorted by label (UTF-16 order). */
  labels: LabelRow[];
  totalA: number;
  totalB: number;
  /** L∞ distance of class proportions: max over labels of |shareA − shareB|. */
  lInf: number;
  /** Jensen–Shannon distance, natural logarithm (in [0, √ln 2]); null when a side is empty. */
  jsDistance: number | null;
  /** Population stability index, zero shares replaced by {@link PSI_EPSILON}; null when a side is empty. */
  psi: number | null;
  /** null when a side is empty. */
  chiSquare: ChiSquare | null;
  /** Labels in B and not in A, and in A and not in B. */
  newLabels: string[];
  vanishedLabels: string[];
}

/**
 * The share PSI puts in place of 0 (the convention of Evidently AI's PSI, `np.place(percents,
 * percents == 0, 0.0001)`). Only a zero share is replaced: a share under 0.0001 that is not zero is
 * kept (a rare class that grew 99-fold from 1 in a million still moves PSI). Evidently's newer
 * releases put min(nonzero share) / 10⁶ in place of 0 when a nonzero share is at most 0.0001; snap
 * keeps the fixed 0.0001.
 */
export const PSI_EPSILON = 0.0001;

/**
 * a / na − b / nb for whole counts, rounded once (to nearest, ties to even) from the exact rational
 * (a·nb − b·na) / (na·nb) — not the difference of two rounded shares, which is off by up to an ulp
 * of the shares: 11/20 − 10/20 came out 0.050000000000000044, over a 0.05 limit it equals, and on a
 * billion records a move of 1 in 2e9 came out 5.0000004e-10. A side with no records has share 0.
 * Counts that are not whole numbers get the plain floating-point difference.
 */
export function shareDifference(a: number, na: number, b: number, nb: number): number {
  if (na <= 0 || nb <= 0) return (na > 0 ? a / na : 0) - (nb > 0 ? b / nb : 0);
  if (![a, na, b, nb].every(Number.isInteger)) return a / na - b / nb;
  // Products that doubles hold exactly (the usual case): their difference is exact too, divided once.
  const x = a * nb;
  const y = b * na;
  const den = na * nb;
  if (x <= Number.MAX_SAFE_INTEGER && y <= Number.MAX_SAFE_INTEGER && den <= Number.MAX_SAFE_INTEGER) return (x - y) / den;
  const num = BigInt(a) * BigInt(nb) - BigInt(b) * BigInt(na);
  const q = roundedQuotient(num < 0n ? -num : num, BigInt(na) * BigInt(nb));
  return num < 0n ? -q : q;
}

/**
 * n / d rounded once to the nearest double (n ≥ 0, d > 0): exact division of safe integers when both
 * fit in 53 bits (IEEE 754 division rounds once), else a quotient of at least 55 bits with the
 * remainder folded into its last bit (the sticky bit), which `Number()` rounds to nearest, ties to
 * even (ECMA-262 §6.1.6.1, "the Number value for x").
 */
function roundedQuotient(n: bigint, d: bigint): number {
  const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
  if (n <= SAFE && d <= SAFE) return Number(n) / Number(d);
  if (n === 0n) return 0;
  const shift = Math.max(0, 55 + d.toString(2).length - n.toString(2).length);
  const scaled = n << BigInt(shift);
  const q = scaled / d;
  return Number(scaled % d === 0n ? q : q | 1n) / 2 ** shift;
}

/**
 * L∞ (Chebyshev) distance between two discrete distributions: max_i |p_i − q_i| — TensorFlow Data
 * Validation's drift measure for categorical features ("L-infinity distance").
 */
export function lInfDistance(p: readonly number[], q: readonly number[]): number {
  let m = 0;
  for (let i = 0; i < p.length; i++) m = Math.max(m, Math.abs((p[i] as number) - (q[i] as number)));
  return m;
}

/**
 * Jensen–Shannon distance: the square root of the Jensen–Shannon divergence
 * JSD(p‖q) = ½ KL(p‖m) + ½ KL(q‖m), m = ½(p + q), with natural logarithms — J. Lin, "Divergence
 * measures based on the Shannon entropy", IEEE Trans. Inf. Theory 37(1), 1991; its square root is a
 * metric (D. M. Endres and J. E. Schindelin, IEEE Trans. Inf. Theory 49(7), 2003). Same as
 * `scipy.spatial.distance.jensenshannon` with its default base e.
 *
 * Evaluated so that nearly equal distributions keep their digits: with p = m(1 + t), q = m(1 − t),
 * a label adds ½ m·g(t), g(t) = (1 + t) ln(1 + t) + (1 − t) ln(1 − t), written for |t| < ½ as
 * ln(1 − t²) + 2t·artanh(t) (both terms of order t², where the textbook sum is two terms of order t
 * that cancel to their rounding — SciPy's 5.3e-9 for a true 3.5e-10 on a billion records).
 * @param d p_i − q_i when known more exactly than from the rounded shares (labelShift passes it
 *   from the counts, {@link shareDifference}); default p_i − q_i
 */
export function jensenShannonDistance(p: readonly number[], q: readonly number[], d?: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i] as number;
    const b = q[i] as number;
    const m = (a + b) / 2;
    if (!(m > 0)) continue;
    const t = Math.min(1, Math.max(-1, (d ? (d[i] as number) : a - b) / 2 / m));
    const g = Math.abs(t) < 0.5 ? Math.log1p(-t * t) + 2 * t * Math.atanh(t) : (t === -1 ? 0 : (1 + t) * Math.log1p(t)) + (t === 1 ? 0 : (1 - t) * Math.log1p(-t));
    s += (m * g) / 2;
  }
  return Math.sqrt(Math.max(0, s));
}

/**
 * Population stability index: Σ (q_i − p_i) · ln(q_i / p_i), a zero share replaced by
 * {@link PSI_EPSILON} — N. Siddiqi, "Credit Risk Scorecards", Wiley 2006, ch. 8; B. Yurdakul,
 * "Statistical Properties of Population Stability Index", 2018. Usual reading: < 0.1 stable,
 * 0.1–0.25 moderate shift, > 0.25 large shift.
 *
 * For two nonzero shares the term is written −d·ln(q/p) with d = p − q, and ln(q/p) as
 * ln(1 − d/p) when |d| < p/2, so that nearly equal shares keep their digits (q − p and ln(q/p) from
 * rounded shares are each off by about 1e-16·p/|d|).
 * @param d p_i − q_i when known more exactly than from the rounded shares (labelShift passes it
 *   from the counts, {@link shareDifference}); default p_i − q_i
 */
export function populationStabilityIndex(p: readonly number[], q: readonly number[], d?: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i] as number;
    const b = q[i] as number;
    if (a > 0 && b > 0) {
      const diff = d ? (d[i] as number) : a - b;
      s += -diff * (Math.abs(diff) < a / 2 ? Math.log1p(-diff / a) : Math.log(b / a));
      continue;
    }
    const a1 = a === 0 ? PSI_EPSILON : a;
    const b1 = b === 0 ? PSI_EPSILON : b;
    s += (b1 - a1) * Math.log(b1 / a1);
  }
  return s;
}

/** ln Γ(x) for x > 0: Lanczos approximation (g = 7, n = 9), relative error below 1e-15. */
function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = c[0] as number;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * Regularized upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a): by its series for x < a + 1, else by
 * its continued fraction (modified Lentz) — W. H. Press et al., "Numerical Recipes", 3rd ed., §6.2.
 */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lnPre = -x + a * Math.log(x) - lnGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 10_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return Math.max(0, 1 - sum * Math.exp(lnPre));
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return Math.min(1, Math.exp(lnPre) * h);
}

/** P(χ²_df ≥ x), the survival function of the χ² distribution: Q(df/2, x/2). */
export function chiSquareSurvival(x: number, df: number): number {
  if (df <= 0) return 1;
  return gammaQ(df / 2, x / 2);
}

/**
 * Pearson's χ² test of homogeneity on the 2 × k table of label counts (k = labels present on
 * either side): χ² = Σ (O − E)² / E with E = row total × column total / N, df = k − 1 — K. Pearson,
 * Philosophical Magazine 50 (1900); A. Agresti, "Categorical Data Analysis", 3rd ed., §3.2. Equal
 * to `scipy.stats.chi2_contingency(…, correction=False)`.
 *
 * Evaluated as Σ d²·nA·nB / (a + b), d = a/nA − b/nB from the counts ({@link shareDifference}):
 * the same sum (O − E = ±d·nA·nB / N for both cells of a column), without the cancellation of O − E,
 * which on billions of records left O − E its rounding (SciPy: 1.00000036e-7 for 9.999999985e-8).
 */
export function chiSquareHomogeneity(a: readonly number[], b: readonly number[]): ChiSquare {
  const na = a.reduce((s, x) => s + x, 0);
  const nb = b.reduce((s, x) => s + x, 0);
  let stat = 0;
  let k = 0;
  for (let i = 0; i < a.length; i++) {
    const col = (a[i] as number) + (b[i] as number);
    if (col === 0) continue;
    k++;
    const d = shareDifference(a[i] as number, na, b[i] as number, nb);
    stat += (d * na * (d * nb)) / col;
  }
  const df = Math.max(0, k - 1);
  return { statistic: stat, df, p: chiSquareSurvival(stat, df) };
}

/**
 * The label distributions of A and B side by side, and every shift statistic between them.
 * @param a label → record count on side A
 * @param b label → record count on side B
 */
export function labelShift(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): LabelShift {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const ca = names.map((l) => countOf(a, l));
  const cb = names.map((l) => countOf(b, l));
  const totalA = ca.reduce((s, x) => s + x, 0);
  const totalB = cb.reduce((s, x) => s + x, 0);
  const pa = ca.map((x) => (totalA > 0 ? x / totalA : 0));
  const pb = cb.map((x) => (totalB > 0 ? x / totalB : 0));
  const both = totalA > 0 && totalB > 0;
  const diff = names.map((_, i) => shareDifference(ca[i] as number, totalA, cb[i] as number, totalB));
  return {
    labels: names.map((label, i) => ({ label, a: ca[i] as number, b: cb[i] as number, shareA: pa[i] as number, shareB: pb[i] as number })),
    totalA,
    totalB,
    lInf: diff.reduce((m, x) => Math.max(m, Math.abs(x)), 0),
    jsDistance: both ? jensenShannonDistance(pa, pb, diff) : null,
    psi: both ? populationStabilityIndex(pa, pb, diff) : null,
    chiSquare: both ? chiSquareHomogeneity(ca, cb) : null,
    newLabels: names.filter((l, i) => (ca[i] as number) === 0 && (cb[i] as number) > 0),
    vanishedLabels: names.filter((l, i) => (ca[i] as number) > 0 && (cb[i] as number) === 0),
  };
}

/** A label's count in a map (0 when absent); own members only, so a label named `__proto__` is a label. */
export function countOf(m: Readonly<Record<string, number>>, label: string): number {
  return Object.prototype.hasOwnProperty.call(m, label) ? (m[label] as number) : 0;
}

/** An empty label → count map without a prototype (labels come from data: `__proto__` is a label). */
export function newLabelCounts(): Record<string, number> {
  return Object.create(null) as Record<string, number>;
}

/** Label counts summed over record sets (the dataset's distribution). */
export function sumLabels(sets: readonly Readonly<Record<string, number>>[]): Record<string, number> {
  const out = newLabelCounts();
  for (const s of sets) for (const [l, n] of Object.entries(s)) out[l] = countOf(out, l) + n;
  return out;
}
