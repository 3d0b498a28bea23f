/**
 * Thresholds of `snap check B --against A` (docs/FORMAT.md §19.8): what a legitimate new version of
 * a dataset may change before the review gate fails. Pure.
 */
import { SnapError } from '../core/errors.js';

/** Every threshold; a `max*` of `undefined` is not checked. */
export interface Thresholds {
  /** Records whose label changed under the same key (flips, and modified records with another label). */
  maxLabelChanges?: number;
  /** Records whose features changed under the same key (label unchanged). */
  maxModified?: number;
  /** Records removed. */
  maxRemoved?: number;
  /** Records added, as a share of A's records (0.1 = 10 %). */
  maxAddedShare?: number;
  /** Feature groups in B holding more than one label. */
  maxConflicts?: number;
  /** Keys (or identical records) present more than once in B. */
  maxDuplicates?: number;
  /**
   * Files added, removed or changed that no record set covers and that look like data (a record
   * format's ending, or a file in a label folder: `check.ts` `unindexedFiles`), and label folders of
   * a folder B that hold no sample (`cli/label-folders.ts`).
   */
  maxUnindexedFiles?: number;
  /**
   * Columns of a Parquet set whose type changed (docs/FORMAT.md §19.11): an INT64 label rewritten as
   * STRING has the same fingerprints, yet a loader comparing it with a number finds no row.
   */
  maxTypeChanges?: number;
  /**
   * Records moved out of A's order (`row-order.ts`): the fewest records of those on both sides to
   * move to restore A's order. Not gated by default (docs/FORMAT.md §19.8: a re-export often
   * reorders rows; a loader that splits by position reads other records).
   */
  maxReordered?: number;
  /** L∞ distance of class proportions: the largest move of one class's share (0.05 = 5 points). */
  maxShift?: number;
  /** Jensen–Shannon distance (natural log) of the label distributions. */
  maxJsDistance?: number;
  /** Population stability index of the label distributions. */
  maxPsi?: number;
  /** Smallest p-value of the χ² test of homogeneity that still passes. */
  minChiSquareP?: number;
  /** Whether a label present in B but not in A passes. */
  allowNewLabels?: boolean;
  /** Whether a label present in A but not in B passes. */
  allowVanishedLabels?: boolean;
}

/**
 * The defaults. The gate is on record counts and L∞: at small shifts the usual drift statistics
 * (Jensen–Shannon distance, PSI at their common 0.1 thresholds) miss even a 10 % label flip, and
 * χ² fires on any change of a large set (docs/DESIGN.md, "Record forensics"); those three are
 * reported, and gated only when asked. So is `maxReordered`: a legitimate re-export (pandas, Spark,
 * DuckDB writing a file again) often reorders every row and changes no record (docs/FORMAT.md §19.8).
 */
export const DEFAULT_THRESHOLDS: Readonly<Thresholds> = Object.freeze({
  maxLabelChanges: 0,
  maxModified: 0,
  maxRemoved: 0,
  maxAddedShare: 0.5,
  maxConflicts: 0,
  maxDuplicates: 0,
  maxUnindexedFiles: 0,
  maxTypeChanges: 0,
  maxShift: 0.05,
  allowNewLabels: false,
  allowVanishedLabels: false,
});

const COUNTS = ['maxLabelChanges', 'maxModified', 'maxRemoved', 'maxConflicts', 'maxDuplicates', 'maxUnindexedFiles', 'maxTypeChanges', 'maxReordered'] as const;
const SHARES = ['maxAddedShare', 'maxShift', 'maxJsDistance', 'maxPsi', 'minChiSquareP'] as const;
const FLAGS = ['allowNewLabels', 'allowVanishedLabels'] as const;
/** Every threshold name. */
export const THRESHOLD_NAMES: readonly (keyof Thresholds)[] = [...COUNTS, ...SHARES, ...FLAGS];

/**
 * Check a thresholds object (from a config file's `check` member, or built from flags): known
 * names only; counts whole numbers ≥ 0 (or null: not checked); shares and statistics numbers in
 * [0, 1] except PSI (≥ 0); flags booleans.
 * @param where what to name in an error (e.g. `snap.json: check`)
 * @throws SnapError `code` (default `RECORDS_CONFIG_INVALID`)
 */
export function parseThresholds(value: unknown, where: string, code: 'RECORDS_CONFIG_INVALID' | 'USAGE' = 'RECORDS_CONFIG_INVALID'): Thresholds {
  const bad = (why: string): never => {
    throw new SnapError(code, `${where}: ${why}`);
  };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) bad('must be an object of thresholds');
  const out: Record<string, number | boolean | undefined> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if ((COUNTS as readonly string[]).includes(k)) {
      if (v !== null && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)) bad(`${k} must be a whole number of at least 0, or null`);
    } else if ((SHARES as readonly string[]).includes(k)) {
      const max = k === 'maxPsi' ? Number.MAX_VALUE : 1;
      if (v !== null && (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max)) bad(`${k} must be a number${max === 1 ? ' from 0 to 1' : ' of at least 0'}, or null`);
    } else if ((FLAGS as readonly string[]).includes(k)) {
      if (typeof v !== 'boolean') bad(`${k} must be true or false`);
    } else {
      bad(`unknown threshold ${JSON.stringify(k)} (known: ${THRESHOLD_NAMES.join(', ')})`);
    }
    out[k] = v === null ? undefined : (v as number | boolean);
  }
  return out as Thresholds;
}

/** Thresholds laid over each other, later ones winning member by member (an explicit `undefined` turns a check off). */
export function mergeThresholds(...layers: (Thresholds | undefined)[]): Thresholds {
  const out: Thresholds = {};
  for (const l of layers) if (l) for (const [k, v] of Object.entries(l)) (out as Record<string, unknown>)[k] = v;
  return out;
}

/**
 * The stricter of two complete sets of thresholds, member by member: the smaller of two limits
 * (`max*`; `undefined`, not checked, is the least strict), the larger of two `minChiSquareP`, and a
 * label allowed to appear or vanish only when both allow it. `check` gates the version under review
 * with the stricter of its own `snap.json` and the reviewed version's, so a change cannot loosen
 * the gate that judges it (flags, the operator's own choice, still win over both).
 */
export function strictestThresholds(a: Thresholds, b: Thresholds): Thresholds {
  const out: Record<string, number | boolean | undefined> = {};
  for (const k of THRESHOLD_NAMES) {
    const x = a[k];
    const y = b[k];
    let v: number | boolean | undefined;
    if ((FLAGS as readonly string[]).includes(k)) v = x === true && y === true;
    else if (x === undefined || y === undefined) v = x ?? y;
    else v = k === 'minChiSquareP' ? Math.max(x as number, y as number) : Math.min(x as number, y as number);
    if (v !== undefined) out[k] = v;
  }
  return out as Thresholds;
}
