/**
 * Merkle tree hashing, inclusion and consistency proofs, RFC 9162 §2.1 with SHA-256 (SPEC §3).
 *
 * Sizes and indexes are JavaScript numbers up to 2^53 - 1; the arithmetic below uses division,
 * never 32-bit bit operators, so trees larger than 2^31 leaves are handled.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { SnapError } from './errors.js';
import { bytesEqual } from './encoding.js';

/** Domain-separation prefix of a leaf hash, RFC 9162 §2.1.1. */
export const LEAF_PREFIX = 0x00;
/** Domain-separation prefix of an interior node hash, RFC 9162 §2.1.1. */
export const NODE_PREFIX = 0x01;
/** Length of every hash in the tree, in bytes (SHA-256). */
export const HASH_SIZE = 32;
/** MTH({}) = SHA-256 of the empty string, RFC 9162 §2.1.1. */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

const LEAF = Uint8Array.of(LEAF_PREFIX);
const NODE = Uint8Array.of(NODE_PREFIX);

/** Leaf hash = SHA-256(0x00 ‖ data), RFC 9162 §2.1.1. `data` is a manifest line without its `\n`. */
export function leafHash(data: Uint8Array): Uint8Array {
  return sha256.create().update(LEAF).update(data).digest();
}

/** Interior node hash = SHA-256(0x01 ‖ left ‖ right), RFC 9162 §2.1.1. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256.create().update(NODE).update(left).update(right).digest();
}

/** Largest power of two strictly smaller than n (n >= 2): the left subtree's size, RFC 9162 §2.1.1. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}

function checkHash(h: Uint8Array, what: string): void {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
    throw new SnapError('MERKLE_BAD_HASH', `${what} must be ${HASH_SIZE} bytes, got ${h?.length ?? typeof h}`);
  }
}

function checkSize(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new SnapError('MERKLE_BAD_INDEX', `${what} must be a non-negative integer, got ${n}`);
}

/**
 * The fold of RFC 9162 §2.1.1 MTH, over hashes of any form `T` (32 bytes as a Uint8Array for
 * {@link MerkleTreeBuilder}; as 32 latin1 characters for the I/O layer's manifest reads, which
 * make no Buffer per hash): leaves are fed one at a time and only the roots of the complete subtrees
 * are kept (at most log2(n) + 1 hashes), so a million-line manifest never sits in memory. `root()`
 * may be called at any point and gives MTH of the leaves so far. The hash functions are given: core
 * stays pure and hashes with @noble/hashes; the I/O layer may give node:crypto's SHA-256.
 * @typeParam T the form of a hash
 * @typeParam D the data of a leaf (a manifest line as bytes, or as text)
 */
export class MerkleFold<T, D = T> {
  /** Roots of complete subtrees, largest first; their sizes are the set bits of `size`. */
  private readonly stack: T[] = [];
  private n = 0;
  private readonly hashLeaf: (data: D) => T;
  private readonly hashNode: (left: T, right: T) => T;
  private readonly emptyRoot: T;

  /**
   * @param hashes.leafHash SHA-256(0x00 ‖ data), RFC 9162 §2.1.1, in the form `T`
   * @param hashes.nodeHash SHA-256(0x01 ‖ left ‖ right), RFC 9162 §2.1.1, in the form `T`
   * @param hashes.emptyRoot MTH({}) = SHA-256 of the empty string ({@link EMPTY_ROOT}), in the form `T`
   */
  constructor(hashes: { leafHash: (data: D) => T; nodeHash: (left: T, right: T) => T; emptyRoot: T }) {
    this.hashLeaf = hashes.leafHash;
    this.hashNode = hashes.nodeHash;
    this.emptyRoot = hashes.emptyRoot;
  }

  /** Number of leaves appended. */
  get size(): number {
    return this.n;
  }

  /** Append a leaf by its data (a manifest line without `\n`). */
  append(data: D): void {
    this.appendLeafHash(this.hashLeaf(data));
  }

  /** Append a leaf by its leaf hash (already SHA-256(0x00 ‖ data)). */
  appendLeafHash(hash: T): void {
    let cur = hash;
    // Merge while the lowest set bit of n is carried: n's binary form mirrors the stack.
    for (let m = this.n; m % 2 === 1; m = (m - 1) / 2) cur = this.hashNode(this.stack.pop() as T, cur);
    this.stack.push(cur);
    this.n++;
  }

  /**
   * Append the root of a complete subtree of 2^`height` consecutive leaves, as if they were appended
   * one by one: allowed only where that subtree is a node of every larger tree, i.e. when `size` is
   * a multiple of 2^`height` (RFC 9162 §2.1.1 splits a tree at the largest power of two below its
   * size, so such aligned blocks are never cut). See {@link foldAlignedSubtrees}.
   * @throws SnapError `MERKLE_BAD_INDEX` when `height` is not an integer from 0 to 52 or `size` is
   *   not a multiple of 2^`height`
   */
  appendSubtree(root: T, height: number): void {
    if (!Number.isInteger(height) || height < 0 || height > 52) throw new SnapError('MERKLE_BAD_INDEX', `subtree height must be an integer from 0 to 52, got ${height}`);
    const width = 2 ** height;
    if (this.n % width !== 0) throw new SnapError('MERKLE_BAD_INDEX', `a subtree of ${width} leaves cannot start at leaf ${this.n}: it must start at a multiple of its size`);
    if (!Number.isSafeInteger(this.n + width)) throw new SnapError('MERKLE_BAD_INDEX', `a tree of more than 2^53 - 1 leaves`);
    let cur = root;
    for (let m = this.n / width; m % 2 === 1; m = (m - 1) / 2) cur = this.hashNode(this.stack.pop() as T, cur);
    this.stack.push(cur);
    this.n += width;
  }

  /**
   * The roots of the complete subtrees the leaves so far form, largest (leftmost) first: one per set
   * bit of `size`, the subtree of 2^j leaves for bit j. These are exactly the left siblings on the
   * audit path of the next leaf to be appended (RFC 9162 §2.1.3.1).
   */
  subtreeRoots(): T[] {
    return [...this.stack];
  }

  /** MTH of the leaves appended so far (the empty-tree hash when there are none), RFC 9162 §2.1.1. */
  root(): T {
    if (this.stack.length === 0) return this.emptyRoot;
    let r = this.stack[this.stack.length - 1] as T;
    for (let i = this.stack.length - 2; i >= 0; i--) r = this.hashNode(this.stack[i] as T, r);
    return r;
  }
}

/**
 * {@link MerkleFold} over 32-byte Uint8Array hashes, each hash appended checked for its length:
 * the Merkle tree hash of a manifest (seal, verify), of a log (checkpoints), of a proof's leaves.
 */
export class MerkleTreeBuilder extends MerkleFold<Uint8Array> {
  /**
   * @param opts.nodeHash another implementation of {@link nodeHash} (same bytes in, same 32 bytes
   *   out), e.g. a native SHA-256 supplied by the I/O layer for speed; defaults to @noble/hashes.
   */
  constructor(opts: { nodeHash?: (left: Uint8Array, right: Uint8Array) => Uint8Array } = {}) {
    super({ leafHash, nodeHash: opts.nodeHash ?? nodeHash, emptyRoot: EMPTY_ROOT });
  }

  /**
   * Append a leaf by its leaf hash (already SHA-256(0x00 ‖ data)).
   * @throws SnapError `MERKLE_BAD_HASH` when the hash is not 32 bytes
   */
  override appendLeafHash(hash: Uint8Array): void {
    checkHash(hash, 'leaf hash');
    super.appendLeafHash(hash);
  }

  /**
   * As {@link MerkleFold.appendSubtree}, the root checked for its length.
   * @throws SnapError `MERKLE_BAD_HASH` when the root is not 32 bytes; `MERKLE_BAD_INDEX` when
   *   `height` is not an integer from 0 to 52 or `size` is not a multiple of 2^`height`
   */
  override appendSubtree(root: Uint8Array, height: number): void {
    checkHash(root, 'subtree root');
    super.appendSubtree(root, height);
  }

  /**
   * Append what {@link foldAlignedSubtrees} made of a run of leaves that starts at leaf `size`.
   * @throws SnapError `MERKLE_BAD_HASH` | `MERKLE_BAD_INDEX` (see {@link appendSubtree}; also when
   *   `roots` and `heights` disagree in length)
   */
  appendFolded(folded: FoldedLeaves): void {
    const k = folded.heights.length;
    if (folded.roots.length !== HASH_SIZE * k) throw new SnapError('MERKLE_BAD_HASH', `${k} subtree heights but ${folded.roots.length} bytes of roots`);
    for (let i = 0; i < k; i++) this.appendSubtree(folded.roots.subarray(HASH_SIZE * i, HASH_SIZE * i + HASH_SIZE), folded.heights[i] as number);
  }
}

/**
 * A run of consecutive leaves folded into the roots of the aligned complete subtrees it covers
 * (see {@link foldAlignedSubtrees}): `roots` holds 32 bytes per subtree, left to right, and
 * `heights[i]` says that subtree `i` has 2^heights[i] leaves.
 */
export interface FoldedLeaves {
  roots: Uint8Array;
  heights: Uint8Array;
}

/**
 * Fold the `count` leaf hashes in `leaves` (32 bytes each), which are leaves `start` to
 * `start + count - 1` of a larger tree, into the fewest complete subtrees whose size 2^h divides
 * their first index: from p = `start`, each next subtree is the largest with p a multiple of 2^h
 * and p + 2^h ≤ `start + count` (at most about 2·log2(count) of them). These are nodes of the RFC
 * 9162 §2.1.1 tree of any size ≥ `start + count`, so appending them in order with
 * {@link MerkleTreeBuilder.appendSubtree} to a builder holding leaves 0 to `start - 1` gives
 * exactly the tree of appending the leaves one by one. This lets hashing workers fold their own
 * batches while the main thread only combines a few roots per batch.
 *
 * Self-contained (no reference outside its body: the hashing worker runs its source text) and
 * pure; `nodeHash(left, right)` must return SHA-256(0x01 ‖ left ‖ right).
 */
export function foldAlignedSubtrees(leaves: Uint8Array, start: number, count: number, nodeHash: (left: Uint8Array, right: Uint8Array) => Uint8Array): FoldedLeaves {
  const roots: Uint8Array[] = [];
  const heights: number[] = [];
  let p = start;
  let i = 0; // index into leaves of leaf p
  const end = start + count;
  while (p < end) {
    let h = 0;
    while (h < 52 && (p === 0 || p % 2 ** (h + 1) === 0) && p + 2 ** (h + 1) <= end) h++;
    const width = 2 ** h;
    // Root of leaves [i, i + width): a small stack, as MerkleTreeBuilder does, for a complete tree.
    const stack: Uint8Array[] = [];
    for (let j = 0; j < width; j++) {
      let cur = leaves.subarray(32 * (i + j), 32 * (i + j) + 32);
      for (let m = j; m % 2 === 1; m = (m - 1) / 2) cur = nodeHash(stack.pop() as Uint8Array, cur);
      stack.push(cur);
    }
    roots.push(stack[0] as Uint8Array);
    heights.push(h);
    p += width;
    i += width;
  }
  const out = new Uint8Array(32 * roots.length);
  for (let k = 0; k < roots.length; k++) out.set(roots[k] as Uint8Array, 32 * k);
  return { roots: out, heights: Uint8Array.from(heights) };
}

/** An inclusion proof as {@link InclusionProofBuilder} makes it: the leaf, where it is, and its audit path. */
export interface BuiltInclusionProof {
  /** The proven leaf's hash, SHA-256(0x00 ‖ data). */
  leafHash: Uint8Array;
  /** 0-based index of the leaf. */
  leafIndex: number;
  /** Number of leaves in the tree. */
  treeSize: number;
  /** RFC 9162 §2.1.3.1 PATH(leafIndex, D[treeSize]): sibling hashes from the leaf up to the root. */
  auditPath: Uint8Array[];
}

/**
 * Builds the inclusion proof (audit path, RFC 9162 §2.1.3.1) of one leaf in a single pass over the
 * leaves, without holding them: memory is O(log n) hashes, whatever the tree size, and neither the
 * leaf's index nor the tree size need be known in advance.
 *
 * How: RFC 9162 subtrees are aligned to powers of two, so the sibling of leaf m's ancestor at
 * height j covers the leaves [a - 2^j, a) when bit j of m is 1 (a complete subtree to the left,
 * a = m with its low j bits cleared), or [a + 2^j, min(a + 2^(j+1), n)) when bit j is 0 (to the
 * right, cut off at the tree size n; no sibling, and no level, when that range is empty: the node is
 * promoted). The left siblings are the complete-subtree roots a {@link MerkleTreeBuilder} holds just
 * before leaf m arrives; the right ranges follow each other without gaps from m + 1 on, so each is
 * hashed by its own small builder as its leaves stream past, and the last one may be cut short by
 * the end of the input.
 */
export class InclusionProofBuilder {
  private readonly hashNode: (left: Uint8Array, right: Uint8Array) => Uint8Array;
  /** The leaves before the target (left of it); dropped once the target is seen. */
  private prefix: MerkleTreeBuilder | undefined;
  private n = 0;
  private target: { leafHash: Uint8Array; index: number } | undefined;
  /** Left siblings by height j (bit j of the index set). */
  private readonly left = new Map<number, Uint8Array>();
  /** Right siblings by height j (bit j of the index clear), completed so far. */
  private readonly right = new Map<number, Uint8Array>();
  /** The right range being hashed: its height and the leaves of it seen so far. */
  private range: { height: number; tree: MerkleTreeBuilder } | undefined;

  /** @param opts.nodeHash another implementation of {@link nodeHash} (same bytes, same result), as for {@link MerkleTreeBuilder}. */
  constructor(opts: { nodeHash?: (left: Uint8Array, right: Uint8Array) => Uint8Array } = {}) {
    this.hashNode = opts.nodeHash ?? nodeHash;
    this.prefix = new MerkleTreeBuilder({ nodeHash: this.hashNode });
  }

  /** Number of leaves appended. */
  get size(): number {
    return this.n;
  }

  /** Index of the target leaf, once it was appended. */
  get leafIndex(): number | undefined {
    return this.target?.index;
  }

  /**
   * Append the next leaf by its leaf hash; `isTarget` marks the one leaf to prove.
   * @throws SnapError `MERKLE_BAD_HASH` when the hash is not 32 bytes; `MERKLE_BAD_INDEX` when a
   *   second leaf is marked as the target
   */
  appendLeafHash(hash: Uint8Array, isTarget = false): void {
    checkHash(hash, 'leaf hash');
    if (isTarget) {
      if (this.target) throw new SnapError('MERKLE_BAD_INDEX', `leaf ${this.n} cannot be proven too: leaf ${this.target.index} already is the target`);
      const m = this.n;
      const roots = (this.prefix as MerkleTreeBuilder).subtreeRoots();
      // roots[0] is the subtree of the highest set bit of m, and so on down.
      let i = 0;
      for (let j = 52; j >= 0; j--) if (Math.floor(m / 2 ** j) % 2 === 1) this.left.set(j, roots[i++] as Uint8Array);
      this.prefix = undefined;
      this.target = { leafHash: hash, index: m };
      this.n++;
      this.range = this.nextRange(-1);
      return;
    }
    if (!this.target) {
      (this.prefix as MerkleTreeBuilder).appendLeafHash(hash);
      this.n++;
      return;
    }
    const r = this.range as { height: number; tree: MerkleTreeBuilder };
    r.tree.appendLeafHash(hash);
    this.n++;
    if (r.tree.size === 2 ** r.height) {
      this.right.set(r.height, r.tree.root());
      this.range = this.nextRange(r.height);
    }
  }

  /** The right range at the lowest height above `after` where the target index has a clear bit. */
  private nextRange(after: number): { height: number; tree: MerkleTreeBuilder } {
    const m = (this.target as { index: number }).index;
    let j = after + 1;
    while (Math.floor(m / 2 ** j) % 2 === 1) j++;
    return { height: j, tree: new MerkleTreeBuilder({ nodeHash: this.hashNode }) };
  }

  /**
   * The proof, once every leaf of the tree was appended: `treeSize` is the number appended.
   * @throws SnapError `MERKLE_BAD_INDEX` when no leaf was marked as the target
   */
  finish(): BuiltInclusionProof {
    if (!this.target) throw new SnapError('MERKLE_BAD_INDEX', `no leaf was marked to prove among the ${this.n} appended`);
    const right = new Map(this.right);
    // The range still open was cut short by the end of the tree: its root is MTH of what it got.
    if (this.range && this.range.tree.size > 0) right.set(this.range.height, this.range.tree.root());
    const auditPath: Uint8Array[] = [];
    for (let j = 0; j <= 53; j++) {
      const h = this.left.get(j) ?? right.get(j);
      if (h) auditPath.push(h);
    }
    return { leafHash: this.target.leafHash, leafIndex: this.target.index, treeSize: this.n, auditPath };
  }
}

/** MTH of a list of leaf hashes, RFC 9162 §2.1.1. */
export function merkleRoot(leafHashes: readonly Uint8Array[]): Uint8Array {
  const b = new MerkleTreeBuilder();
  for (const h of leafHashes) b.appendLeafHash(h);
  return b.root();
}

/** MTH of leaves[lo, hi) (hi > lo). */
function subtreeRoot(leaves: readonly Uint8Array[], lo: number, hi: number): Uint8Array {
  if (hi - lo === 1) return leaves[lo] as Uint8Array;
  const k = splitPoint(hi - lo);
  return nodeHash(subtreeRoot(leaves, lo, lo + k), subtreeRoot(leaves, lo + k, hi));
}

/**
 * Inclusion proof (audit path) of leaf `index` in the tree of `leafHashes`, RFC 9162 §2.1.3.1.
 * @returns the sibling hashes from the leaf up to the root
 * @throws SnapError `MERKLE_BAD_INDEX` when index is not in [0, leafHashes.length)
 */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number): Uint8Array[] {
  const n = leafHashes.length;
  checkSize(index, 'leaf index');
  if (index >= n) throw new SnapError('MERKLE_BAD_INDEX', `leaf index ${index} is not below tree size ${n}`);
  const path: Uint8Array[] = [];
  let lo = 0;
  let hi = n;
  let m = index;
  // Walk down from the root, collecting the sibling of each subtree on the way; reverse at the end.
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (m < k) {
      path.push(subtreeRoot(leafHashes, lo + k, hi));
      hi = lo + k;
    } else {
      path.push(subtreeRoot(leafHashes, lo, lo + k));
      lo += k;
      m -= k;
    }
  }
  return path.reverse();
}

/**
 * Verify an inclusion proof, RFC 9162 §2.1.3.2.
 * @param leaf     the leaf hash (32 bytes)
 * @param index    0-based leaf index
 * @param treeSize number of leaves in the tree
 * @param proof    the audit path, leaf to root
 * @param root     the expected root (32 bytes)
 * @returns true when the proof is valid; false for a wrong proof, root or index
 * @throws SnapError `MERKLE_BAD_HASH` when any hash is not 32 bytes; `MERKLE_BAD_INDEX` when
 *   index or treeSize is not a non-negative integer
 */
export function verifyInclusion(leaf: Uint8Array, index: number, treeSize: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  checkHash(leaf, 'leaf hash');
  checkHash(root, 'root');
  proof.forEach((p, i) => checkHash(p, `proof[${i}]`));
  checkSize(index, 'leaf index');
  checkSize(treeSize, 'tree size');
  if (index >= treeSize) return false;
  let fn = index;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesEqual(r, root);
}

/**
 * Consistency proof between the tree of the first `size1` leaves and the tree of all of
 * `leafHashes`, RFC 9162 §2.1.4.1 (PROOF(m, D[n]) = SUBPROOF(m, D[n], true)).
 * @throws SnapError `MERKLE_BAD_INDEX` unless 0 < size1 <= leafHashes.length
 */
export function consistencyProof(leafHashes: readonly Uint8Array[], size1: number): Uint8Array[] {
  const n = leafHashes.length;
  checkSize(size1, 'size1');
  if (size1 === 0 || size1 > n) throw new SnapError('MERKLE_BAD_INDEX', `size1 ${size1} must be in [1, ${n}]`);
  const out: Uint8Array[] = [];
  const sub = (m: number, lo: number, hi: number, complete: boolean): void => {
    if (m === hi - lo) {
      if (!complete) out.push(subtreeRoot(leafHashes, lo, hi));
      return;
    }
    const k = splitPoint(hi - lo);
    if (m <= k) {
      sub(m, lo, lo + k, complete);
      out.push(subtreeRoot(leafHashes, lo + k, hi));
    } else {
      sub(m - k, lo + k, hi, false);
      out.push(subtreeRoot(leafHashes, lo, lo + k));
    }
  };
  sub(size1, 0, n, true);
  return out;
}

/**
 * Verify a consistency proof, RFC 9162 §2.1.4.2, with the additional checks of the
 * transparency-dev/merkle verifier: size1 = 0 proves nothing and is refused; size1 = size2 needs an
 * empty proof and equal roots; size1 > size2 is refused.
 * The order of these checks follows transparency-dev/merkle, so that its test vectors pass exactly.
 * @returns true when the proof shows the tree of size1 is a prefix of the tree of size2
 * @throws SnapError `MERKLE_BAD_HASH` when a hash is not 32 bytes (sizes unequal and non-zero); `MERKLE_BAD_INDEX` when a size
 *   is not a non-negative integer
 */
export function verifyConsistency(size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): boolean {
  checkSize(size1, 'size1');
  checkSize(size2, 'size2');
  if (size1 > size2 || size1 === 0) return false;
  // Equal sizes: the trees are the same tree; the proof must be empty and the roots equal.
  if (size1 === size2) return proof.length === 0 && bytesEqual(root1, root2);
  checkHash(root1, 'root1');
  checkHash(root2, 'root2');
  proof.forEach((p, i) => checkHash(p, `proof[${i}]`));
  if (proof.length === 0) return false;
  const path = [...proof];
  // Step 2: when size1 is a power of two, the old root is itself a node of the new tree.
  if (isPowerOfTwo(size1)) path.unshift(root1);
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  let fr = path[0] as Uint8Array;
  let sr = path[0] as Uint8Array;
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesEqual(fr, root1) && bytesEqual(sr, root2);
}

/**
 * Append a batch's `count` leaves to a Merkle tree builder: their leaf hashes (32 bytes each, in
 * order), or the roots of the aligned complete subtrees they form ({@link foldAlignedSubtrees},
 * made knowing the batch starts at leaf `tree.size`). RFC 9162 §2.1.1.
 * @throws SnapError `MERKLE_BAD_HASH` | `MERKLE_BAD_INDEX` (a batch that does not fit where the tree
 *   is, or whose subtrees do not hold `count` leaves)
 */
export function appendLeaves(tree: MerkleTreeBuilder, leaves: Uint8Array | FoldedLeaves, count: number): void {
  if (leaves instanceof Uint8Array) {
    for (let i = 0; i < count; i++) tree.appendLeafHash(leaves.subarray(32 * i, 32 * i + 32));
    return;
  }
  const before = tree.size;
  tree.appendFolded(leaves);
  if (tree.size !== before + count) throw new SnapError('MERKLE_BAD_INDEX', `a batch of ${count} lines brought ${tree.size - before} leaves`);
}
