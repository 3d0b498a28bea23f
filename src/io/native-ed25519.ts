/**
 * Ed25519 through node:crypto (OpenSSL), installed as core's faster backend (`useEd25519Backend`,
 * see `src/core/ed25519.ts` for why results stay exactly @noble/ed25519's). A short-lived `snap`
 * process then never builds noble's table of base-point multiples, which costs about 0.1 s of CPU
 * at the first signature or verification (docs/PERFORMANCE.md, "Start-up").
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { useEd25519Backend, type Ed25519Backend } from '../core/ed25519.js';

/** DER prefix of a PKCS #8 Ed25519 private key (RFC 8410 §7): the 32-byte seed follows. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** DER prefix of an SPKI Ed25519 public key (RFC 8410 §4): the 32-byte key follows. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

const privateKey = (seed: Uint8Array) => createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });

/** Public keys kept as KeyObjects (making one costs about as much as a verification); forgotten all at once beyond this many. */
const MAX_CACHED_KEYS = 256;
const publicKeys = new Map<string, KeyObject>();

/** The KeyObject of a 32-byte public key (cached: a gate checks many signatures against a few trusted keys). */
function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey).toString('hex');
  let key = publicKeys.get(id);
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    if (publicKeys.size >= MAX_CACHED_KEYS) publicKeys.clear();
    publicKeys.set(id, key);
  }
  return key;
}

/** node:crypto's Ed25519 as a core backend. */
export const nativeEd25519: Ed25519Backend = {
  publicKeyOf(seed) {
    const der = createPublicKey(privateKey(seed)).export({ format: 'der', type: 'spki' });
    return new Uint8Array(der.subarray(der.length - 32));
  },
  sign(message, seed) {
    return new Uint8Array(nodeSign(null, message, privateKey(seed)));
  },
  verify(signature, message, publicKey) {
    try {
      return nodeVerify(null, message, publicKeyObject(publicKey), signature);
    } catch {
      return false;
    }
  },
};

/** Make core's Ed25519 use node:crypto (see the module comment). */
export function installNativeEd25519(): void {
  useEd25519Backend(nativeEd25519);
}
