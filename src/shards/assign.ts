/**
 * Which files a verify shard checks (`snap verify --shard K/N`, docs/FORMAT.md §20). Pure: bytes
 * and numbers in, shard numbers out.
 *
 * The share is a contiguous range of manifest leaves, balanced by weight, where a file weighs its
 * size plus {@link FILE_WEIGHT} (the fixed cost of opening and reading one file, in bytes of
 * hashing) and a symlink weighs {@link FILE_WEIGHT}. Both totals come from the signed statement
 * (`fileCount`, `totalBytes`), so the split is known before the manifest is read and every worker
 * computes the same one: the entry whose weights before it sum to `start` belongs to shard
 * `floor(start × N / W) + 1`, W the total weight. Shard 1 always holds leaf 0; a shard may be
 * empty (more shards than files, or one file heavier than a share).
 *
 * Files on disk that the manifest lacks (extras) belong to the shard of the last manifest entry
 * whose path is at or before theirs in manifest order (SPEC §2, UTF-8 bytes), or to shard 1 when
 * none is: each path has exactly one owner, whatever the disk holds.
 */
import { SnapError } from '../core/errors.js';
import { compareUtf8 } from '../core/paths.js';

/** Most shards a verify may be split into. */
export const MAX_SHARDS = 1024;
/** The weight of one manifest entry besides its bytes (64 KiB: opening and reading a file costs about as much as hashing that much). */
export const FILE_WEIGHT = 64 * 1024;

/** One shard: `index` from 1 to `count`. */
export interface ShardSpec {
  index: number;
  count: number;
}

/**
 * Parse `K/N` (1 ≤ K ≤ N ≤ {@link MAX_SHARDS}, whole numbers in decimal, K 1-based).
 * @throws SnapError `USAGE` for anything else, saying what was given
 */
export function parseShardSpec(text: string): ShardSpec {
  const m = /^([0-9]{1,5})\/([0-9]{1,5})$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!(count >= 1 && count <= MAX_SHARDS && index >= 1 && index <= count)) {
    throw new SnapError('USAGE', `--shard takes K/N with 1 ≤ K ≤ N ≤ ${MAX_SHARDS} (K counts from 1: a 0-based index i is shard $((i+1))/N); got ${JSON.stringify(text)}`);
  }
  return { index, count };
}

/**
 * Assigns manifest entries, in manifest order, to shards (see the module comment). Feed every
 * entry once, in order, with {@link ShardAssigner.next}; then {@link ShardAssigner.ownerOf} names
 * the shard of any path.
 */
export class ShardAssigner {
  private readonly bounds: number[] = [];
  private start = 0;
  private shard = 1;
  private leaf = 0;
  /** The first path of each non-empty shard (index − 1), in manifest order. */
  private readonly firstPaths: (string | undefined)[];
  /** The last path of each non-empty shard (index − 1). */
  private readonly lastPaths: (string | undefined)[];
  /** Leaf ranges [from, to) of each shard. */
  private readonly ranges: { from: number; to: number }[];

  /**
   * @param count N
   * @param fileCount the signed `predicate.fileCount`
   * @param totalBytes the signed `predicate.totalBytes`
   */
  constructor(
    readonly count: number,
    fileCount: number,
    totalBytes: number,
  ) {
    const total = BigInt(totalBytes) + BigInt(fileCount) * BigInt(FILE_WEIGHT);
    // Shard k+1 starts at the first weight offset ≥ ceil(k·W/N): start·N ≥ k·W.
    for (let k = 1; k < count; k++) this.bounds.push(Number((BigInt(k) * total + BigInt(count) - 1n) / BigInt(count)));
    this.firstPaths = new Array(count).fill(undefined);
    this.lastPaths = new Array(count).fill(undefined);
    this.ranges = Array.from({ length: count }, () => ({ from: 0, to: 0 }));
  }

  /** The shard (1-based) of the next manifest entry, of `size` bytes (0 for a symlink). */
  next(path: string, size: number): number {
    while (this.shard < this.count && this.start >= (this.bounds[this.shard - 1] as number)) {
      this.shard++;
      const r = this.ranges[this.shard - 1] as { from: number; to: number };
      r.from = r.to = this.leaf;
    }
    this.start += size + FILE_WEIGHT;
    const k = this.shard;
    if (this.firstPaths[k - 1] === undefined) this.firstPaths[k - 1] = path;
    this.lastPaths[k - 1] = path;
    this.leaf++;
    (this.ranges[k - 1] as { to: number }).to = this.leaf;
    return k;
  }

  /** The leaves [from, to) of shard `k` among those fed so far (the final ranges once all are fed; later empty shards start where the last entry ended). */
  range(k: number): { from: number; to: number } {
    const r = this.ranges[k - 1] as { from: number; to: number };
    if (k > this.shard) return { from: this.leaf, to: this.leaf };
    return { ...r };
  }

  /** The first path of shard `k`, when it holds any entry. */
  firstPath(k: number): string | undefined {
    return this.firstPaths[k - 1];
  }

  /** The last path of shard `k`, when it holds any entry. */
  lastPath(k: number): string | undefined {
    return this.lastPaths[k - 1];
  }

  /** The shard that owns `path` when it is not in the manifest (an extra; see the module comment). Call once every entry is fed. */
  ownerOf(path: string): number {
    for (let k = this.count; k >= 1; k--) {
      const first = this.firstPaths[k - 1];
      if (first !== undefined && compareUtf8(first, path) <= 0) return k;
    }
    return 1;
  }
}
