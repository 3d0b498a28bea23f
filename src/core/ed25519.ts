/**
 * Ed25519 (RFC 8032, pure) through @noble/ed25519, with synchronous SHA-512 from @noble/hashes.
 * Verification is strict RFC 8032 (`zip215: false`): non-canonical encodings of R, A or S are refused.
 */
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { SnapError } from './errors.js';

ed.hashes.sha512 = sha512;

/** Ed25519 seed (private key) length in bytes. */
export const SEED_SIZE = 32;
/** Ed25519 public key length in bytes. */
export const PUBLIC_KEY_SIZE = 32;
/** Ed25519 signature length in bytes. */
export const SIGNATURE_SIZE = 64;

/**
 * The public key of a 32-byte seed.
 * @throws SnapError `KEY_MALFORMED` when the seed is not 32 bytes
 */
export function publicKeyOf(seed: Uint8Array): Uint8Array {
  if (seed.length !== SEED_SIZE) throw new SnapError('KEY_MALFORMED', `an Ed25519 private key is ${SEED_SIZE} bytes, got ${seed.length}`);
  return ed.getPublicKey(seed);
}

/**
 * Sign `message` with a 32-byte seed, RFC 8032 §5.1.6 (deterministic).
 * @returns the 64-byte signature
 * @throws SnapError `KEY_MALFORMED`
 */
export function sign(message: Uint8Array, seed: Uint8Array): Uint8Array {
  if (seed.length !== SEED_SIZE) throw new SnapError('KEY_MALFORMED', `an Ed25519 private key is ${SEED_SIZE} bytes, got ${seed.length}`);
  return ed.sign(message, seed);
}

/**
 * Verify a signature strictly, RFC 8032 §5.1.7 (`zip215: false`).
 * @returns true when valid; false for any wrong signature, message or key (including a public key
 *   that is not a valid curve point)
 * @throws SnapError `SIGNATURE_MALFORMED` when the signature is not 64 bytes; `KEY_MALFORMED` when
 *   the public key is not 32 bytes
 */
export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_SIZE) throw new SnapError('SIGNATURE_MALFORMED', `an Ed25519 signature is ${SIGNATURE_SIZE} bytes, got ${signature.length}`);
  if (publicKey.length !== PUBLIC_KEY_SIZE) throw new SnapError('KEY_MALFORMED', `an Ed25519 public key is ${PUBLIC_KEY_SIZE} bytes, got ${publicKey.length}`);
  try {
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}
