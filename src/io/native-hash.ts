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

/**
 * The 32-byte digest SHA-256(`data`) as a Buffer. The one-shot hash gives it as a latin1 string,
 * copied into a new Buffer: under Node 20 that is about half the CPU of asking for `'buffer'`
 * output (1M leaf and 1M node hashes: 1.08–1.13 against 2.8–3.1 CPU-s; docs/PERFORMANCE.md).
 */
function digestOf(data: string | Uint8Array): Buffer {
  return Buffer.from(oneShot('sha256', data, 'binary'), 'latin1'); // 'binary' is latin1
}

/** RFC 9162 leaf hash SHA-256(0x00 ‖ UTF-8 of line) of a manifest line (without its `\n`). */
export function leafHashOfLine(line: string): Buffer {
  return hasOneShot ? digestOf(LEAF + line) : createHash('sha256').update(LEAF + line).digest();
}

/** RFC 9162 node hash SHA-256(0x01 ‖ left ‖ right). */
export function nodeHashNative(left: Uint8Array, right: Uint8Array): Uint8Array {
  scratch.set(left, 1);
  scratch.set(right, 33);
  return hasOneShot ? digestOf(scratch) : createHash('sha256').update(scratch).digest();
}

/** SHA-256 of `bytes` (32 bytes). */
export function sha256Native(bytes: Uint8Array): Uint8Array {
  return hasOneShot ? digestOf(bytes) : createHash('sha256').update(bytes).digest();
}

/** Make core's snapshot ids use node:crypto's SHA-256 (core/statement.ts `useSha256Backend`). */
export function installNativeSha256(): void {
  useSha256Backend(sha256Native);
}
