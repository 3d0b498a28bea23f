/**
 * SHA-256 from node:crypto (OpenSSL) for the hot loops of the I/O layer: RFC 9162 leaf and node
 * hashes over millions of manifest lines. Bit-for-bit the same as core `leafHash` / `nodeHash`
 * (@noble/hashes), which a test checks; about twice as fast per call (see docs/PERFORMANCE.md).
 */
import { createHash, hash as oneShot } from 'node:crypto';
import { EMPTY_ROOT, HASH_SIZE, LEAF_PREFIX, MerkleFold, NODE_PREFIX } from '../core/merkle.js';
import { useSha256Backend } from '../core/statement.js';

const hasOneShot = typeof oneShot === 'function';
const scratch = Buffer.alloc(65);
scratch[0] = NODE_PREFIX;
const LEAF = String.fromCharCode(LEAF_PREFIX);

/** SHA-256(`data`) as 32 characters of latin1 text, one a byte (a string is hashed as UTF-8). */
function sha256Latin1(data: string | Uint8Array): string {
  return hasOneShot ? oneShot('sha256', data, 'binary') : createHash('sha256').update(data).digest('binary'); // 'binary' is latin1
}

/**
 * The 32-byte digest SHA-256(`data`) as a Buffer, copied from its latin1 text: under Node 20 that is
 * about half the CPU of asking for `'buffer'` output (1M leaf and 1M node hashes: 1.08–1.13 against
 * 2.8–3.1 CPU-s; docs/PERFORMANCE.md).
 */
function digestOf(data: string | Uint8Array): Buffer {
  return Buffer.from(sha256Latin1(data), 'latin1');
}

/** RFC 9162 leaf hash SHA-256(0x00 ‖ UTF-8 of line) of a manifest line (without its `\n`). */
export function leafHashOfLine(line: string): Buffer {
  return digestOf(LEAF + line);
}

/** RFC 9162 node hash SHA-256(0x01 ‖ left ‖ right). */
export function nodeHashNative(left: Uint8Array, right: Uint8Array): Uint8Array {
  scratch.set(left, 1);
  scratch.set(right, 33);
  return digestOf(scratch);
}

/** RFC 9162 leaf hash SHA-256(0x00 ‖ UTF-8 of line) of a manifest line, as 32 characters of latin1 text. */
function leafHashLatin1(line: string): string {
  return sha256Latin1(LEAF + line);
}

/** RFC 9162 node hash SHA-256(0x01 ‖ left ‖ right) of two hashes and as a hash kept as 32 characters of latin1 text. */
function nodeHashLatin1(left: string, right: string): string {
  scratch.write(left, 1, HASH_SIZE, 'latin1');
  scratch.write(right, 1 + HASH_SIZE, HASH_SIZE, 'latin1');
  return sha256Latin1(scratch);
}

/** MTH({}) as 32 characters of latin1 text. */
const EMPTY_ROOT_LATIN1 = Buffer.from(EMPTY_ROOT).toString('latin1');

/**
 * The RFC 9162 Merkle tree hash over manifest lines: core's fold (`MerkleFold`, as
 * `MerkleTreeBuilder` folds), with each hash kept as its 32 bytes in latin1 text: no Buffer is made
 * per leaf or node (two a line with `leafHashOfLine` and `nodeHashNative`), which a diff of two
 * 1,000,000-line manifests paid for in allocation and garbage collection (docs/PERFORMANCE.md). The
 * same root, as a test checks. `append(line)` takes a manifest line without its `\n`.
 */
export class LineMerkleTree extends MerkleFold<string> {
  constructor() {
    super({ leafHash: leafHashLatin1, nodeHash: nodeHashLatin1, emptyRoot: EMPTY_ROOT_LATIN1 });
  }

  /** The root of the leaves so far, 64 lowercase hex digits (SHA-256 of nothing when there are none). */
  rootHex(): string {
    return Buffer.from(this.root(), 'latin1').toString('hex');
  }
}

/** SHA-256 of `bytes` (32 bytes). */
export function sha256Native(bytes: Uint8Array): Uint8Array {
  return digestOf(bytes);
}

/** Make core's snapshot ids use node:crypto's SHA-256 (core/statement.ts `useSha256Backend`). */
export function installNativeSha256(): void {
  useSha256Backend(sha256Native);
}
