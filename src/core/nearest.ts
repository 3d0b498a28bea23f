/**
 * The nearest of a set of names to a mistyped one, for "did you mean …?" hints (a flag, a dataset
 * NAME). Pure.
 */

/**
 * Edit distance of two short strings (optimal string alignment: Levenshtein's insertions,
 * deletions and substitutions of one UTF-16 code unit, plus the swap of two adjacent ones, each one
 * edit — `lsit` is one edit from `list`, as from a typing slip). Meant for names (flags, commands,
 * dataset NAMEs): O(|a|·|b|) time and memory.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    const row = d[i] as number[];
    const up = d[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/**
 * The candidate nearest to `name` within `maxEdits` edits ({@link editDistance}), the first one
 * in `candidates`' order among equals; undefined when none is that near. `name` itself is never
 * suggested.
 */
export function nearestName(name: string, candidates: Iterable<string>, maxEdits: number): string | undefined {
  let best: string | undefined;
  let bestDistance = maxEdits + 1;
  for (const c of candidates) {
    if (c === name) continue;
    const d = editDistance(name, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}
