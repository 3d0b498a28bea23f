/**
 * Ed25519 (RFC 8032, pure) through @noble/ed25519, with synchronous SHA-512 from @noble/hashes.
 * Verification is strict RFC 8032 (`zip215: false`): non-canonical encodings of R, A or S are refused.
 *
 * An optional faster backend (node:crypto's OpenSSL, installed by `src/io/native-ed25519.ts`)
 * spares a short-lived process @noble/ed25519's first-use table of base-point multiples (about
 * 0.1 s of CPU). Results stay @noble/ed25519's exactly: signing is deterministic (RFC 8032
 * §5.1.6), so both give the same bytes; a signature the backend accepts is accepted only after
 * noble's own strict checks of the encodings (R, A canonical, A not of small order, S < L), and its
 * cofactorless equation implies noble's cofactored one; anything the backend refuses is decided
 * by noble itself.
 */
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { SnapError } from './errors.js';
import { toHex } from './encoding.js';

ed.hashes.sha512 = sha512;

/** Faster implementations of the same RFC 8032 operations (see the module comment). */
export interface Ed25519Backend {
  /** The 32-byte public key of a 32-byte seed. */
  publicKeyOf(seed: Uint8Array): Uint8Array;
  /** The 64-byte deterministic signature (RFC 8032 §5.1.6). */
  sign(message: Uint8Array, seed: Uint8Array): Uint8Array;
  /** RFC 8032 §5.1.7 with the cofactorless check [S]B = R + [k]A; false (never throws) when it fails. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

let backend: Ed25519Backend | undefined;

/** Use `b` for signing, public keys and accepting valid signatures (undefined: @noble/ed25519 alone). */
export function useEd25519Backend(b: Ed25519Backend | undefined): void {
  backend = b;
}

/** Group order L (RFC 8032 §5.1). */
const GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;

/**
 * The checks of noble's strict verification that do not need the base-point table: R and A are
 * canonical point encodings (y < p, and not x = 0 with the sign bit set), A is not of small order,
 * and S < L.
 */
function strictEncodingsHold(signature: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i] as number);
    if (s >= GROUP_ORDER) return false;
    ed.Point.fromBytes(signature.subarray(0, 32), false);
    return publicKeyHolds(publicKey);
  } catch {
    return false;
  }
}

/**
 * Most public keys whose check {@link publicKeyHolds} remembers. A store's snapshots are signed by
 * a few keys: `impact --pubkey` over 2,017 snapshots decoded the same key 2,017 times, about 0.09 ms
 * each (a square root in BigInt arithmetic).
 */
export const KEY_CHECKS_KEPT = 256;
/** Public key (hex) → whether it is a canonical encoding of a point not of small order. */
const keyChecks = new Map<string, boolean>();

/** Whether `publicKey` is a canonical point encoding (y < p, not x = 0 with the sign bit set) and not of small order; remembered per key. */
function publicKeyHolds(publicKey: Uint8Array): boolean {
  const k = toHex(publicKey);
  let ok = keyChecks.get(k);
  if (ok === undefined) {
    try {
      ok = !ed.Point.fromBytes(publicKey, false).isSmallOrder();
    } catch {
      ok = false;
    }
    if (keyChecks.size >= KEY_CHECKS_KEPT) keyChecks.clear();
    keyChecks.set(k, ok);
  }
  return ok;
}

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
  return backend ? backend.publicKeyOf(seed) : ed.getPublicKey(seed);
}

/**
 * Sign `message` with a 32-byte seed, RFC 8032 §5.1.6 (deterministic).
 * @returns the 64-byte signature
 * @throws SnapError `KEY_MALFORMED`
 */
export function sign(message: Uint8Array, seed: Uint8Array): Uint8Array {
  if (seed.length !== SEED_SIZE) throw new SnapError('KEY_MALFORMED', `an Ed25519 private key is ${SEED_SIZE} bytes, got ${seed.length}`);
  return backend ? backend.sign(message, seed) : ed.sign(message, seed);
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
    if (backend && backend.verify(signature, message, publicKey) && strictEncodingsHold(signature, publicKey)) return true;
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/**
 * The quick part of {@link verify}, for a caller that bounds how many full checks hostile input may
 * cost (core/envelope.ts `verifyEnvelope`): with the faster backend, true when the backend accepts
 * the signature and noble's strict encoding checks hold (then {@link verify} says true too), and
 * undefined when the backend refuses it — only @noble/ed25519's cofactored check, about 1.2 ms
 * against about 0.1 ms, can then tell (a signature no RFC 8032 signer makes may still hold under
 * it). Without a backend, {@link verify} itself: true or false, never undefined.
 * @throws SnapError `SIGNATURE_MALFORMED` | `KEY_MALFORMED` (lengths, as {@link verify})
 */
export function verifyQuick(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): true | false | undefined {
  if (!backend) return verify(signature, message, publicKey);
  if (signature.length !== SIGNATURE_SIZE) throw new SnapError('SIGNATURE_MALFORMED', `an Ed25519 signature is ${SIGNATURE_SIZE} bytes, got ${signature.length}`);
  if (publicKey.length !== PUBLIC_KEY_SIZE) throw new SnapError('KEY_MALFORMED', `an Ed25519 public key is ${PUBLIC_KEY_SIZE} bytes, got ${publicKey.length}`);
  try {
    return backend.verify(signature, message, publicKey) && strictEncodingsHold(signature, publicKey) ? true : undefined;
  } catch {
    return undefined;
  }
}
