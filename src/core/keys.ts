/**
 * Ed25519 keys in PEM (SPEC §6): PKCS#8 private keys (RFC 5958 / RFC 8410), SPKI public keys
 * (RFC 5280 / RFC 8410), and the keyid. Encrypted PKCS#8 is decrypted by the I/O layer
 * (`src/io/keyfile.ts`) with node:crypto before it reaches this module.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { SnapError } from './errors.js';
import { fromBase64, toBase64, toHex, bytesEqual } from './encoding.js';
import { publicKeyOf, SEED_SIZE, PUBLIC_KEY_SIZE } from './ed25519.js';

/** DER of PKCS#8 v1 for Ed25519 up to the 32-byte seed, RFC 8410 §7 (48 bytes in all). */
export const PKCS8_ED25519_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
/** DER of SubjectPublicKeyInfo for Ed25519 up to the 32-byte key, RFC 8410 §4 (44 bytes in all). */
export const SPKI_ED25519_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
/** DER of OID 1.3.101.112 (id-Ed25519), RFC 8410 §3. */
const OID_ED25519 = Uint8Array.from([0x2b, 0x65, 0x70]);

/** Well-known algorithm OIDs, to name what a wrong key is (with its article: "an RSA key"). */
const KNOWN_OIDS: Record<string, string> = {
  '2a864886f70d010101': 'an RSA key',
  '2a8648ce3d0201': 'an EC key (P-256 or another curve)',
  '2b6571': 'an Ed448 key',
  '2b656e': 'an X25519 key',
  '2b656f': 'an X448 key',
};

/** A private key as snap holds it. */
export interface PrivateKey {
  seed: Uint8Array;
  publicKey: Uint8Array;
  keyid: string;
}

/** A public key as snap holds it. */
export interface PublicKey {
  publicKey: Uint8Array;
  keyid: string;
}

/** What to do with an OpenSSH key (ssh-keygen's own format), which snap does not read. */
const OPENSSH_HINT = 'snap reads PEM keys (PKCS#8 private, SPKI public) such as "snap keygen NAME" or "openssl genpkey -algorithm ed25519" makes';

/** PEM labels snap reads. */
export type PemLabel = 'PRIVATE KEY' | 'ENCRYPTED PRIVATE KEY' | 'PUBLIC KEY';

/**
 * Decode the single PEM block of a key file (RFC 7468 §3, strict form). Stricter than OpenSSL,
 * which skips any text before the block except a NUL byte: a key file here holds exactly one
 * block and nothing else but white space around it, so that two parsers cannot disagree on which
 * bytes are the key. A known label and strict base64 are required.
 * @throws SnapError `KEY_MALFORMED`
 */
export function decodePem(text: string): { label: PemLabel; der: Uint8Array } {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
  const blocks = [...text.matchAll(re)];
  if (blocks.length === 0) {
    const ssh = /^\s*(ssh-|ecdsa-sha2-)/.test(text) ? `; this is an OpenSSH public key line: ${OPENSSH_HINT}` : '';
    throw new SnapError('KEY_MALFORMED', `not a PEM key file (no -----BEGIN …----- block)${ssh}`);
  }
  if (blocks.length > 1) throw new SnapError('KEY_MALFORMED', 'the file holds more than one PEM block; give one key per file');
  const block = blocks[0] as RegExpMatchArray;
  const before = text.slice(0, block.index);
  const after = text.slice((block.index as number) + block[0].length);
  if (!/^[\r\n\t ]*$/.test(before)) throw new SnapError('KEY_MALFORMED', 'the key file has bytes before its PEM block; it must hold the key block only');
  if (!/^[\r\n\t ]*$/.test(after)) throw new SnapError('KEY_MALFORMED', 'the key file has bytes after its PEM block; it must hold the key block only');
  const [, label, body, end] = block;
  if (label !== end) throw new SnapError('KEY_MALFORMED', `PEM block BEGIN ${label} ends with END ${end}`);
  if (label !== 'PRIVATE KEY' && label !== 'ENCRYPTED PRIVATE KEY' && label !== 'PUBLIC KEY') {
    const hint = label === 'OPENSSH PRIVATE KEY' ? ` (an OpenSSH key: ${OPENSSH_HINT})` : /RSA|EC|DSA/.test(label as string) ? ' (an RSA, EC or DSA key: snap needs Ed25519)' : '';
    throw new SnapError(/RSA|EC|DSA/.test(label as string) ? 'KEY_NOT_ED25519' : 'KEY_MALFORMED', `unsupported PEM block "${label}"${hint}`);
  }
  let der: Uint8Array;
  try {
    der = fromBase64((body as string).replace(/[\r\n\t ]/g, ''));
  } catch {
    throw new SnapError('KEY_MALFORMED', 'the PEM body is not valid base64');
  }
  return { label, der };
}

/** PEM text of DER bytes (RFC 7468, 64-column lines, trailing newline). */
export function encodePem(label: PemLabel, der: Uint8Array): string {
  const b64 = toBase64(der);
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Minimal DER reader: one TLV at `pos`. */
function readTlv(der: Uint8Array, pos: number): { tag: number; start: number; end: number } {
  const fail = (): never => {
    throw new SnapError('KEY_MALFORMED', 'the key is not valid DER');
  };
  if (pos + 2 > der.length) fail();
  const tag = der[pos] as number;
  let len = der[pos + 1] as number;
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || start + n > der.length) fail();
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[start + i] as number);
    start += n;
  }
  if (start + len > der.length) fail();
  return { tag, start, end: start + len };
}

/** The algorithm OID (hex of its content bytes) of a PKCS#8 or SPKI structure, for error messages. */
function algorithmOid(der: Uint8Array, isPkcs8: boolean): string | undefined {
  try {
    const outer = readTlv(der, 0);
    let p = outer.start;
    if (isPkcs8) p = readTlv(der, p).end; // version INTEGER
    const alg = readTlv(der, p);
    const oid = readTlv(der, alg.start);
    if (oid.tag !== 0x06) return undefined;
    return toHex(der.subarray(oid.start, oid.end));
  } catch {
    return undefined;
  }
}

function notEd25519(der: Uint8Array, isPkcs8: boolean): SnapError | undefined {
  const oid = algorithmOid(der, isPkcs8);
  if (oid === undefined || oid === toHex(OID_ED25519)) return undefined;
  const what = KNOWN_OIDS[oid] ?? `a key of algorithm OID ${oid}`;
  return new SnapError('KEY_NOT_ED25519', `this is ${what}; snap signs with Ed25519 only (make one with "snap keygen NAME" or "openssl genpkey -algorithm ed25519")`);
}

/** keyid = lowercase hex SHA-256 of the SPKI DER (44 bytes for Ed25519), SPEC §6. */
export function keyidOf(publicKey: Uint8Array): string {
  return toHex(sha256(encodePublicKeyDer(publicKey)));
}

/** SPKI DER of a 32-byte Ed25519 public key (RFC 8410 §4). */
export function encodePublicKeyDer(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== PUBLIC_KEY_SIZE) throw new SnapError('KEY_MALFORMED', `an Ed25519 public key is ${PUBLIC_KEY_SIZE} bytes`);
  const out = new Uint8Array(SPKI_ED25519_PREFIX.length + PUBLIC_KEY_SIZE);
  out.set(SPKI_ED25519_PREFIX, 0);
  out.set(publicKey, SPKI_ED25519_PREFIX.length);
  return out;
}

/** PKCS#8 v1 DER of a 32-byte Ed25519 seed (RFC 8410 §7), as OpenSSL writes it. */
export function encodePrivateKeyDer(seed: Uint8Array): Uint8Array {
  if (seed.length !== SEED_SIZE) throw new SnapError('KEY_MALFORMED', `an Ed25519 private key is ${SEED_SIZE} bytes`);
  const out = new Uint8Array(PKCS8_ED25519_PREFIX.length + SEED_SIZE);
  out.set(PKCS8_ED25519_PREFIX, 0);
  out.set(seed, PKCS8_ED25519_PREFIX.length);
  return out;
}

/**
 * The Ed25519 public key in SPKI DER.
 * @throws SnapError `KEY_NOT_ED25519` | `KEY_MALFORMED`
 */
export function parsePublicKeyDer(der: Uint8Array): PublicKey {
  const wrong = notEd25519(der, false);
  if (wrong) throw wrong;
  if (der.length !== SPKI_ED25519_PREFIX.length + PUBLIC_KEY_SIZE || !bytesEqual(der.subarray(0, SPKI_ED25519_PREFIX.length), SPKI_ED25519_PREFIX)) {
    throw new SnapError('KEY_MALFORMED', 'not an Ed25519 SubjectPublicKeyInfo (RFC 8410)');
  }
  const publicKey = der.slice(SPKI_ED25519_PREFIX.length);
  return { publicKey, keyid: keyidOf(publicKey) };
}

/**
 * The Ed25519 seed in PKCS#8 DER: v1 (RFC 5208, what OpenSSL writes) or v2 (RFC 5958
 * OneAsymmetricKey with the public key attached, which must then match the seed).
 * @throws SnapError `KEY_NOT_ED25519` | `KEY_MALFORMED`
 */
export function parsePrivateKeyDer(der: Uint8Array): PrivateKey {
  const wrong = notEd25519(der, true);
  if (wrong) throw wrong;
  const bad = (why: string) => new SnapError('KEY_MALFORMED', `not an Ed25519 PKCS#8 private key (RFC 8410): ${why}`);
  const outer = readTlv(der, 0);
  if (outer.tag !== 0x30 || outer.end !== der.length) throw bad('outer SEQUENCE');
  const ver = readTlv(der, outer.start);
  if (ver.tag !== 0x02 || ver.end - ver.start !== 1 || ((der[ver.start] as number) !== 0 && (der[ver.start] as number) !== 1)) throw bad('version');
  const alg = readTlv(der, ver.end);
  if (alg.tag !== 0x30) throw bad('algorithm');
  const oid = readTlv(der, alg.start);
  if (oid.tag !== 0x06 || !bytesEqual(der.subarray(oid.start, oid.end), OID_ED25519) || oid.end !== alg.end) throw bad('algorithm parameters must be absent');
  const key = readTlv(der, alg.end);
  if (key.tag !== 0x04) throw bad('privateKey OCTET STRING');
  const inner = readTlv(der, key.start);
  if (inner.tag !== 0x04 || inner.end !== key.end || inner.end - inner.start !== SEED_SIZE) throw bad('CurvePrivateKey must be a 32-byte OCTET STRING');
  const seed = der.slice(inner.start, inner.end);
  const publicKey = publicKeyOf(seed);
  // RFC 5958 §2: [0] attributes, then [1] publicKey (v2 only), each at most once and in that order.
  const version = der[ver.start] as number;
  let p = key.end;
  let lastField = 0; // 1 after [0] attributes, 2 after [1] publicKey
  while (p < outer.end) {
    const t = readTlv(der, p);
    const field = t.tag === 0xa0 ? 1 : t.tag === 0x81 ? 2 : 0;
    if (field === 0) throw bad(`unexpected field tag 0x${t.tag.toString(16)}`);
    if (field <= lastField) throw bad('fields out of order or repeated');
    if (t.tag === 0x81) {
      if (version !== 1) throw bad('a version 1 (v1) key must not carry a public key');
      // [1] publicKey BIT STRING (implicit): first byte is the unused-bits count (0).
      const pub = der.subarray(t.start + 1, t.end);
      if (t.end - t.start !== 1 + PUBLIC_KEY_SIZE || der[t.start] !== 0 || !bytesEqual(pub, publicKey)) throw bad('the attached public key does not match the private key');
    }
    lastField = field;
    p = t.end;
  }
  return { seed, publicKey, keyid: keyidOf(publicKey) };
}

/**
 * Read an unencrypted private key PEM.
 * @throws SnapError `KEY_PASSPHRASE_REQUIRED` (an ENCRYPTED PRIVATE KEY: decrypt it first) |
 *   `KEY_MALFORMED` (a public key or garbage) | `KEY_NOT_ED25519`
 */
export function parsePrivateKeyPem(text: string): PrivateKey {
  const { label, der } = decodePem(text);
  if (label === 'ENCRYPTED PRIVATE KEY') throw new SnapError('KEY_PASSPHRASE_REQUIRED', 'the private key is encrypted: give its passphrase (--passphrase-env VAR)');
  if (label !== 'PRIVATE KEY') throw new SnapError('KEY_MALFORMED', `expected a PRIVATE KEY, found a ${label} (use the .key file to sign, the .pub file to verify)`);
  return parsePrivateKeyDer(der);
}

/**
 * Read a public key PEM (SPKI).
 * @throws SnapError `KEY_MALFORMED` (a private key or garbage) | `KEY_NOT_ED25519`
 */
export function parsePublicKeyPem(text: string): PublicKey {
  const { label, der } = decodePem(text);
  if (label !== 'PUBLIC KEY') throw new SnapError('KEY_MALFORMED', `expected a PUBLIC KEY, found a ${label} (give the .pub file; never hand out the private key)`);
  return parsePublicKeyDer(der);
}

/** A private key from its seed. */
export function privateKeyFromSeed(seed: Uint8Array): PrivateKey {
  const publicKey = publicKeyOf(seed);
  return { seed, publicKey, keyid: keyidOf(publicKey) };
}

/** PEM files for a key pair: PKCS#8 private and SPKI public. */
export function encodeKeyPair(key: PrivateKey): { privatePem: string; publicPem: string } {
  return { privatePem: encodePem('PRIVATE KEY', encodePrivateKeyDer(key.seed)), publicPem: encodePem('PUBLIC KEY', encodePublicKeyDer(key.publicKey)) };
}
