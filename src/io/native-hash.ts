/**
 * SHA-256 from node:crypto (OpenSSL) for the hot loops of the I/O layer: RFC 9162 leaf and node
 * hashes over millions of manifest lines. Bit-for-bit the same as core `leafHash` / `nodeHash`
 * (@noble/hashes), which a test checks; about twice as fast per call (see docs/PERFORMANCE.md).
 */
import { createHash, hash as oneShot } from 'node:crypto';
import { EMPTY_ROOT, HASH_SIZE, LEAF_PREFIX, NODE_PREFIX } from '../core/merkle.js';
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

/**
 * The RFC 9162 Merkle tree hash over manifest lines, built as core `MerkleTreeBuilder` builds it
 * (leaves appended one at a time, only the roots of the complete subtrees kept), but with each hash
 * kept as its 32 bytes in latin1 text: no Buffer is made per leaf or node (two a line with
 * `leafHashOfLine` and `nodeHashNative`), which a diff of two 1,000,000-line manifests paid for in
 * allocation and garbage collection (docs/PERFORMANCE.md). The same root, as a test checks.
 */
export class LineMerkleTree {
  /** Roots of the complete subtrees, largest first, each 32 bytes as latin1 text. */
  private readonly stack: string[] = [];
  /** SHA-256 input of a node hash: 0x01 ‖ left ‖ right. */
  private readonly node = Buffer.alloc(1 + 2 * HASH_SIZE);
  /** Number of leaves appended. */
  size = 0;

  constructor() {
    this.node[0] = NODE_PREFIX;
  }

  private hashNode(left: string, right: string): string {
    this.node.write(left, 1, HASH_SIZE, 'latin1');
    this.node.write(right, 1 + HASH_SIZE, HASH_SIZE, 'latin1');
    return sha256Latin1(this.node);
  }

  /** Append the leaf SHA-256(0x00 ‖ UTF-8 of `line`), `line` a manifest line without its `\n`. */
  appendLine(line: string): void {
    let cur = sha256Latin1(LEAF + line);
    // Merge while the lowest set bit of the size is carried: its binary form mirrors the stack.
    for (let m = this.size; m % 2 === 1; m = (m - 1) / 2) cur = this.hashNode(this.stack.pop() as string, cur);
    this.stack.push(cur);
    this.size++;
  }

  /** The root of the leaves so far, 64 lowercase hex digits (SHA-256 of nothing when there are none). */
  rootHex(): string {
    if (this.stack.length === 0) return Buffer.from(EMPTY_ROOT).toString('hex');
    let r = this.stack[this.stack.length - 1] as string;
    for (let i = this.stack.length - 2; i >= 0; i--) r = this.hashNode(this.stack[i] as string, r);
    return Buffer.from(r, 'latin1').toString('hex');
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
