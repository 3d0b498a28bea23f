/**
 * SHA-256 from node:crypto (OpenSSL) for the hot loops of the I/O layer: RFC 9162 leaf and node
 * hashes over millions of manifest lines. Bit-for-bit the same as core `leafHash` / `nodeHash`
 * (@noble/hashes), which a test checks; about twice as fast per call (see docs/PERFORMANCE.md).
 */
import { createHash, hash as oneShot } from 'node:crypto';
import { LEAF_PREFIX, NODE_PREFIX } from '../core/merkle.js';
import { useSha256Backend } from '../core/statement.js';

const hasOneShot = typeof oneShot === 'function';
const scratch = Buffer.alloc(65);
scratch[0] = NODE_PREFIX;
const LEAF = String.fromCharCode(LEAF_PREFIX);

/** RFC 9162 leaf hash SHA-256(0x00 ‖ UTF-8 of line) of a manifest line (without its `\n`). */
export function leafHashOfLine(line: string): Buffer {
  return hasOneShot ? (oneShot('sha256', LEAF + line, 'buffer') as Buffer) : createHash('sha256').update(LEAF + line).digest();
}

/** RFC 9162 node hash SHA-256(0x01 ‖ left ‖ right). */
export function nodeHashNative(left: Uint8Array, right: Uint8Array): Uint8Array {
  scratch.set(left, 1);
  scratch.set(right, 33);
  return hasOneShot ? (oneShot('sha256', scratch, 'buffer') as Buffer) : createHash('sha256').update(scratch).digest();
}

/** SHA-256 of `bytes` (32 bytes). */
export function sha256Native(bytes: Uint8Array): Uint8Array {
  return hasOneShot ? (oneShot('sha256', bytes, 'buffer') as Buffer) : createHash('sha256').update(bytes).digest();
}

/** Make core's snapshot ids use node:crypto's SHA-256 (core/statement.ts `useSha256Backend`). */
export function installNativeSha256(): void {
  useSha256Backend(sha256Native);
}
