/**
 * Signed notes and transparency-log checkpoints, as C2SP specifies them (c2sp.org/signed-note
 * v1.0.0 and c2sp.org/tlog-checkpoint), with Ed25519 signatures (signature type 0x01):
 *
 * ```
 * snap.local/log/3f2a9c0d1e4b5a67      ← origin
 * 42                                   ← tree size: number of leaves, decimal
 * 3q2+7w…=                             ← root hash: base64 of the RFC 9162 root (32 bytes)
 *                                      ← one empty line
 * — snap.local/log/3f2a9c0d1e4b5a67 AbCd…   ← em dash, space, key name, space, base64(key ID ‖ signature)
 * ```
 * - The note text is every line up to and including the newline before the last empty line; the
 *   signatures follow it, one per line, each ending in a newline.
 * - Key ID = the first 4 bytes of SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ 32-byte Ed25519 public key).
 * - The signature is Ed25519 (RFC 8032) over the note text bytes.
 * - A verifier ignores signatures by keys it does not know (name and key ID both must match), must
 *   reject a note with no verified signature by a known key, and (as the spec recommends) rejects
 *   the whole note when a known key's signature fails.
 * Pure: no I/O.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { SnapError } from './errors.js';
import { bytesEqual, decodeUtf8, fromBase64, toBase64, utf8 } from './encoding.js';
import { sign, verify } from './ed25519.js';

/** The em dash that starts a signature line (U+2014). */
export const NOTE_SIGNATURE_PREFIX = '\u2014 ';
/** Signature type byte of Ed25519 in a key ID (c2sp.org/signed-note, "Signature types"). */
export const NOTE_ED25519 = 0x01;
/** Most signature lines read from one note (the spec: verifiers must accept at least 16). */
export const MAX_NOTE_SIGNATURES = 64;
/** Largest note read, in bytes. */
export const MAX_NOTE_BYTES = 64 * 1024;

/** A signature line of a note. */
export interface NoteSignature {
  name: string;
  /** The 4-byte key ID. */
  keyId: Uint8Array;
  /** The signature bytes after the key ID. */
  signature: Uint8Array;
  /** The whole line, with its newline. */
  line: string;
}

/** A parsed note: its text (ending in a newline) and its signature lines. */
export interface Note {
  text: string;
  signatures: NoteSignature[];
}

/** A checkpoint body (c2sp.org/tlog-checkpoint "Note text"). */
export interface Checkpoint {
  origin: string;
  size: number;
  /** The 32-byte RFC 9162 root hash. */
  root: Uint8Array;
  /** Extension lines, if any (opaque; snap writes none). */
  extensions: string[];
}

/** A key that may sign or verify notes: its name and raw 32-byte Ed25519 public key. */
export interface NoteKey {
  name: string;
  publicKey: Uint8Array;
}

function malformed(why: string): SnapError {
  return new SnapError('CHECKPOINT_MALFORMED', `not a valid signed note: ${why}`);
}

/** True when `name` may be a key name: non-empty, no Unicode space, no `+`, no control character. */
export function isNoteKeyName(name: string): boolean {
  // eslint-disable-next-line no-control-regex
  return name.length > 0 && !/[\s+\u0000-\u001f\u007f\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u.test(name);
}

/** The 4-byte key ID of an Ed25519 note key: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]. */
export function noteKeyId(name: string, publicKey: Uint8Array): Uint8Array {
  const n = utf8(name);
  const buf = new Uint8Array(n.length + 2 + publicKey.length);
  buf.set(n, 0);
  buf[n.length] = 0x0a;
  buf[n.length + 1] = NOTE_ED25519;
  buf.set(publicKey, n.length + 2);
  return sha256(buf).subarray(0, 4);
}

/** The checkpoint's note text: `origin\nsize\nbase64(root)\n` (then any extension lines). */
export function formatCheckpoint(c: Checkpoint): string {
  if (!isNoteKeyName(c.origin)) throw new SnapError('USAGE', `origin ${JSON.stringify(c.origin)} must be non-empty, without spaces or "+"`);
  if (!Number.isSafeInteger(c.size) || c.size < 0) throw new SnapError('USAGE', 'the tree size must be a whole number');
  if (c.root.length !== 32) throw new SnapError('USAGE', 'the root hash must be 32 bytes');
  return `${c.origin}\n${c.size}\n${toBase64(c.root)}\n${c.extensions.map((e) => `${e}\n`).join('')}`;
}

/**
 * Parse a checkpoint's note text.
 * @throws SnapError `CHECKPOINT_MALFORMED`
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw malformed('the text does not end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3 || lines.some((l) => l.length === 0)) throw malformed('a checkpoint has at least three non-empty lines: origin, tree size, root hash');
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]];
  if (!/^(0|[1-9][0-9]{0,15})$/.test(size) || !Number.isSafeInteger(Number(size))) throw malformed(`the tree size ${JSON.stringify(size.slice(0, 40))} is not a decimal number without leading zeros`);
  let rootBytes: Uint8Array;
  try {
    rootBytes = fromBase64(root);
  } catch {
    throw malformed('the root hash is not base64');
  }
  if (rootBytes.length !== 32 || toBase64(rootBytes) !== root) throw malformed('the root hash is not the standard base64 of 32 bytes');
  return { origin, size: Number(size), root: rootBytes, extensions };
}

/**
 * Parse a signed note (see the module comment).
 * @throws SnapError `CHECKPOINT_MALFORMED`
 */
export function parseNote(bytes: Uint8Array | string): Note {
  if (bytes.length > MAX_NOTE_BYTES) throw malformed(`larger than ${MAX_NOTE_BYTES} bytes`);
  let s: string;
  try {
    s = typeof bytes === 'string' ? bytes : decodeUtf8(bytes);
  } catch {
    throw malformed('not UTF-8');
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f]/.test(s)) throw malformed('a control character other than newline');
  if (!s.endsWith('\n')) throw malformed('it does not end with a newline');
  const cut = s.lastIndexOf('\n\n');
  if (cut < 0) throw malformed('no empty line before the signatures');
  const text = s.slice(0, cut + 1);
  const sigLines = s.slice(cut + 2).split('\n').slice(0, -1);
  if (sigLines.length === 0) throw malformed('no signature line');
  if (sigLines.length > MAX_NOTE_SIGNATURES) throw malformed(`more than ${MAX_NOTE_SIGNATURES} signature lines`);
  const signatures = sigLines.map((l): NoteSignature => {
    if (!l.startsWith(NOTE_SIGNATURE_PREFIX)) throw malformed('a signature line does not start with an em dash and a space');
    const rest = l.slice(NOTE_SIGNATURE_PREFIX.length);
    const sp = rest.lastIndexOf(' ');
    const name = sp < 0 ? '' : rest.slice(0, sp);
    if (!isNoteKeyName(name)) throw malformed('a signature line has no valid key name');
    let raw: Uint8Array;
    try {
      raw = fromBase64(rest.slice(sp + 1));
    } catch {
      throw malformed('a signature is not base64');
    }
    if (raw.length < 5) throw malformed('a signature is shorter than a key ID and a signature');
    return { name, keyId: raw.subarray(0, 4), signature: raw.subarray(4), line: `${l}\n` };
  });
  return { text, signatures };
}

/** The signature line of `key` over `text`. */
export function signNoteLine(text: string, key: NoteKey & { seed: Uint8Array }): string {
  if (!isNoteKeyName(key.name)) throw new SnapError('USAGE', `key name ${JSON.stringify(key.name)} must be non-empty, without spaces or "+"`);
  const sig = sign(utf8(text), key.seed);
  const raw = new Uint8Array(4 + sig.length);
  raw.set(noteKeyId(key.name, key.publicKey), 0);
  raw.set(sig, 4);
  return `${NOTE_SIGNATURE_PREFIX}${key.name} ${toBase64(raw)}\n`;
}

/** A note's bytes: its text, the empty line, its signature lines. */
export function formatNote(n: Note): string {
  return `${n.text}\n${n.signatures.map((s) => s.line).join('')}`;
}

/**
 * Which known keys signed the note. Signatures of unknown keys are ignored; a known key's signature
 * that fails makes the note bad.
 * @returns the names of the keys whose signature verified, and whether a known key's signature failed
 */
export function verifyNote(n: Note, keys: readonly NoteKey[]): { verified: string[]; failed: string[] } {
  const verified: string[] = [];
  const failed: string[] = [];
  const msg = utf8(n.text);
  for (const s of n.signatures) {
    const k = keys.find((key) => key.name === s.name && bytesEqual(noteKeyId(key.name, key.publicKey), s.keyId));
    if (!k) continue;
    if (s.signature.length === 64 && verify(s.signature, msg, k.publicKey)) verified.push(k.name);
    else failed.push(k.name);
  }
  return { verified, failed };
}
