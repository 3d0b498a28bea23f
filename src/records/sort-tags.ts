/**
 * Sorting the record diff's conflict tags (see `conflicts.ts` and `index-reader.ts`): about one
 * double a record, `prefix × 4096 + label`, whose 40-bit prefix is the start of a SHA-256, so its top
 * bits are uniformly distributed. A counting sort on the top bits (one pass to count, one to scatter
 * into a scratch array) leaves buckets of a few tags, each finished by insertion sort: O(n) for
 * such tags, against O(n log n) for `Float64Array.prototype.sort`.
 *
 * Pure: no I/O.
 */

/**
 * Below this many values, `Float64Array.prototype.sort` is used: measured (bench/sort-tags-bench.mjs)
 * it was faster at 2,048 values (0.08 against 0.12 ms) and slower from 4,096 on (0.31 against 0.26 ms).
 */
export const SORT_TAGS_MIN_LENGTH = 1 << 12;
/** Values a bucket holds on average (buckets are a power of two, at most n / 4). */
const PER_BUCKET = 4;
/** A bucket of more values than this is sorted with `Float64Array.prototype.sort` (O(m log m)); smaller ones by insertion (O(m²)). */
export const SORT_TAGS_INSERTION_MAX = 32;
/** Values up to 2^53 are sorted by buckets; anything else (negative, -0, NaN, larger) falls back to the built-in sort. */
const MAX_BUCKETED = 2 ** 53;

/**
 * Sort `v` ascending in place, with exactly the result of `v.sort()` (`Float64Array.prototype.sort`
 * without a comparator) for every input.
 *
 * Fast path (n ≥ {@link SORT_TAGS_MIN_LENGTH}, every value in [0, 2^53], no -0 and no NaN): the range
 * [min, max] is cut into at most B = 2^⌊log2(n / 4)⌋ buckets of width 2^s (a power of two, so the
 * bucket of a value, ⌊(x − min) · 2^−s⌋, is computed exactly and is monotone in x: the order between
 * buckets is the order of the values); one pass counts the values per bucket, one scatters them into a scratch
 * array, and copying them back sorts each bucket: by insertion when it holds at most
 * {@link SORT_TAGS_INSERTION_MAX} values, else with the built-in sort.
 *
 * Complexity: O(n) time when the values are spread evenly over their range (conflict tags: the top
 * bits of SHA-256 digests); O(n log n) whatever the input (many values in one bucket, e.g. feature
 * hashes ground by an attacker to share their top bits, are sorted by the built-in sort; insertion
 * sort costs at most {@link SORT_TAGS_INSERTION_MAX} moves a value). Memory: a scratch Float64Array of
 * n and a Uint32Array of B + 1 ≤ n / 4 + 1 (9 bytes a value), garbage on return.
 *
 * Other values (negative, -0, NaN, ±Infinity, beyond 2^53) are valid input: the function then calls
 * `v.sort()` (as it does for n < {@link SORT_TAGS_MIN_LENGTH} and n ≥ 2^32).
 * @param v the values (conflict tags: whole numbers below 2^52), sorted in place
 */
export function sortTags(v: Float64Array): void {
  const n = v.length;
  // Bucket offsets are 32-bit: past 2^32 − 1 values (32 GiB of tags), the built-in sort.
  if (n < SORT_TAGS_MIN_LENGTH || n > 0xffffffff) {
    v.sort();
    return;
  }
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = v[i] as number;
    // `!(x >= 0 && …)` is also true for NaN; 1 / -0 is -Infinity.
    if (!(x >= 0 && x <= MAX_BUCKETED) || (x === 0 && 1 / x < 0)) {
      v.sort();
      return;
    }
    if (x < min) min = x;
    if (x > max) max = x;
  }
  if (min === max) return; // all equal (and none is -0)
  let buckets = 1;
  while (buckets * 2 * PER_BUCKET <= n) buckets *= 2;
  // scale = 2^−s, the smallest power of two that keeps the largest value's bucket below `buckets`. Both
  // the subtraction and the product round monotonically (and the product exactly), so x ≤ max gives
  // a bucket ≤ max's bucket.
  const range = max - min;
  let scale = 1;
  while (range * scale >= buckets) scale *= 0.5;
  // ends[b + 1]: how many values fall in bucket b; then, by prefix sums, where bucket b starts.
  const ends = new Uint32Array(buckets + 1);
  for (let i = 0; i < n; i++) (ends[Math.floor(((v[i] as number) - min) * scale) + 1] as number)++;
  for (let b = 1; b <= buckets; b++) (ends[b] as number) += ends[b - 1] as number;
  const scratch = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = v[i] as number;
    scratch[(ends[Math.floor((x - min) * scale)] as number)++] = x;
  }
  // Now ends[b] is where bucket b ends (and bucket b + 1 starts).
  let from = 0;
  for (let b = 0; b < buckets; b++) {
    const to = ends[b] as number;
    if (to - from > SORT_TAGS_INSERTION_MAX) {
      v.set(scratch.subarray(from, to), from);
      v.subarray(from, to).sort();
    } else {
      for (let i = from; i < to; i++) {
        const x = scratch[i] as number;
        let j = i;
        while (j > from && (v[j - 1] as number) > x) {
          v[j] = v[j - 1] as number;
          j--;
        }
        v[j] = x;
      }
    }
    from = to;
  }
}
