/**
 * The nearest of a set of names to a mistyped one, for "did you mean …?" hints (a flag, a dataset
 * NAME). Pure.
 */

/**
 * Levenshtein distance of two short strings, in single-character edits (insertions, deletions,
 * substitutions of one UTF-16 code unit). Meant for names (flags, dataset NAMEs): O(|a|·|b|) time.
 */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length] as number;
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
