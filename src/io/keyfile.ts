/**
 * Key files on disk (SPEC §6): PKCS#8 PEM private keys (optionally passphrase-encrypted, RFC 5958
 * EncryptedPrivateKeyInfo), SPKI PEM public keys, and new key pairs written without ever replacing
 * an existing file.
 *
 * Parsing is done by the pure core (`src/core/keys.ts`); this module adds the file system and, for
 * encrypted private keys only, node:crypto (OpenSSL) to decrypt them to plain PKCS#8 DER.
 */
import { promises as fsp, rmSync } from 'node:fs';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { SnapError, isSnapError } from '../core/errors.js';
import { escapeForTerminal } from '../core/display.js';
import {
  decodePem,
  encodeKeyPair,
  encodePem,
  encodePrivateKeyDer,
  parsePrivateKeyDer,
  parsePrivateKeyPem,
  parsePublicKeyPem,
  privateKeyFromSeed,
  type PrivateKey,
  type PublicKey,
} from '../core/keys.js';
import { ioError } from './errors.js';
import { openRegularFile } from './small-file.js';
import { leaveNothing } from './interrupt.js';
import { holdOutputForTest, outputTempPath, removeStaleOutputTemps } from './output-temp.js';
import { fsyncDir } from './store.js';

export type { PrivateKey, PublicKey } from '../core/keys.js';

/** Largest key file read, in bytes: a PEM Ed25519 key is under 300 bytes; anything far larger is not a key. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;
/** Key pair NAME grammar for {@link writeKeyPair}: the file names are NAME.key and NAME.pub. */
export const KEY_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** A folder given as a key file: at most this many of its key files are named. */
const MAX_KEY_FILES_NAMED = 5;
/** Mode of a private key file. */
export const PRIVATE_KEY_MODE = 0o600;
/** Mode of a public key file. */
export const PUBLIC_KEY_MODE = 0o644;
/** Cipher used for passphrase-encrypted private keys (PKCS#5 v2 / PBES2, as `openssl genpkey -aes-256-cbc`). */
export const KEY_CIPHER = 'aes-256-cbc';

/** Re-throw a key parsing error with the file named in the message and in `details.path`. */
function inFile(e: unknown, path: string): never {
  if (isSnapError(e)) throw new SnapError(e.code, `${path}: ${e.message}`, { ...e.details, path }, { cause: e });
  throw e;
}

/**
 * Read a small regular file as text. Opened non-blocking so that a FIFO given by mistake is
 * refused instead of hanging.
 * @param ending the usual ending of such a key file: a NOT_FOUND for PATH, where PATH+ending is a
 *   file, names it ("did you mean ci.pub?")
 * @throws SnapError `NOT_FOUND` | `IO_ERROR` (unreadable, a directory, not a regular file) |
 *   `KEY_MALFORMED` (larger than {@link MAX_KEY_FILE_BYTES}); all with `details.path`
 */
async function readKeyText(path: string, what: string, ending: '.key' | '.pub'): Promise<string> {
  let fh;
  try {
    fh = await openRegularFile(path, what, (_shown, st) =>
      st.isDirectory() ? new SnapError('IO_ERROR', `${what}: ${path} is a directory, not a key file`, { path, errno: 'EISDIR' }) : new SnapError('IO_ERROR', `${what}: ${path} is not a regular file`, { path }),
    );
  } catch (e) {
    // A key named by its NAME alone (`--pubkey ci` beside ci.pub, as keygen names them): say which file is there.
    if (isSnapError(e) && e.code === 'NOT_FOUND' && !path.endsWith(ending) && (await fsp.stat(path + ending).then((st) => st.isFile(), () => false))) {
      throw new SnapError('NOT_FOUND', `${e.message}; did you mean ${escapeForTerminal(path + ending)}?`, e.details, { cause: e });
    }
    // The keys' folder given (`--key ~/.snap-keys`): name the key files of this kind it holds.
    if (isSnapError(e, 'IO_ERROR') && e.details?.errno === 'EISDIR') {
      const names = (await fsp.readdir(path).catch(() => [] as string[])).filter((n) => n.endsWith(ending)).sort();
      const shown = names.slice(0, MAX_KEY_FILES_NAMED).map(escapeForTerminal).join(', ') + (names.length > MAX_KEY_FILES_NAMED ? `, … (${names.length} in all)` : '');
      throw new SnapError('IO_ERROR', names.length > 0 ? `${e.message}: give one of its ${ending} files: ${shown}` : `${e.message} (it holds no ${ending} file)`, e.details, { cause: e });
    }
    throw e;
  }
  try {
    const st = await fh.stat();
    if (st.size > MAX_KEY_FILE_BYTES) {
      throw new SnapError('KEY_MALFORMED', `${path}: ${st.size} bytes is too large for a key file (give the .key or .pub file)`, { path });
    }
    const buf = await fh.readFile();
    if (buf.length > MAX_KEY_FILE_BYTES) throw new SnapError('KEY_MALFORMED', `${path}: too large for a key file`, { path });
    return buf.toString('utf8');
  } catch (e) {
    throw ioError(e, path, what);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** True when `der` is shaped like EncryptedPrivateKeyInfo: SEQUENCE { SEQUENCE, OCTET STRING } filling all bytes (RFC 5958 §3). */
function looksLikeEncryptedPkcs8(der: Uint8Array): boolean {
  const tlv = (pos: number): { tag: number; end: number; start: number } | undefined => {
    if (pos + 2 > der.length) return undefined;
    let len = der[pos + 1] as number;
    let start = pos + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 3 || start + n > der.length) return undefined;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + (der[start + i] as number);
      start += n;
    }
    return start + len > der.length ? undefined : { tag: der[pos] as number, start, end: start + len };
  };
  const outer = tlv(0);
  if (!outer || outer.tag !== 0x30 || outer.end !== der.length) return false;
  const alg = tlv(outer.start);
  if (!alg || alg.tag !== 0x30) return false;
  const data = tlv(alg.end);
  return !!data && data.tag === 0x04 && data.end === outer.end;
}

/**
 * Decrypt an ENCRYPTED PRIVATE KEY (PKCS#8, RFC 5958) with OpenSSL and parse the Ed25519 key inside.
 * A failure after the structure has been recognized is reported as a wrong passphrase: with
 * CBC padding a wrong passphrase sometimes "decrypts" to garbage that then fails to parse.
 */
function decryptPrivateKey(der: Uint8Array, passphrase: string): PrivateKey {
  if (!looksLikeEncryptedPkcs8(der)) throw new SnapError('KEY_MALFORMED', 'not a valid ENCRYPTED PRIVATE KEY (PKCS#8 EncryptedPrivateKeyInfo)');
  let plain: Uint8Array;
  try {
    const key = createPrivateKey({ key: encodePem('ENCRYPTED PRIVATE KEY', der), format: 'pem', passphrase });
    plain = new Uint8Array(key.export({ type: 'pkcs8', format: 'der' }));
  } catch (e) {
    throw new SnapError('KEY_PASSPHRASE_WRONG', 'cannot decrypt the private key: wrong passphrase (or the file is damaged)', undefined, { cause: e });
  }
  try {
    return parsePrivateKeyDer(plain);
  } finally {
    plain.fill(0);
  }
}

/**
 * Read an Ed25519 private key file (SPEC §6): PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, RFC 8410),
 * or encrypted PKCS#8 (`-----BEGIN ENCRYPTED PRIVATE KEY-----`) when `opts.passphrase` is given.
 * Keys made by `openssl genpkey -algorithm ed25519 [-aes-256-cbc]` are read as they are. A
 * passphrase given for an unencrypted key is ignored, as OpenSSL does.
 * @param path the key file
 * @param opts.passphrase the passphrase of an encrypted key (from an environment variable or a
 *   prompt, never a command-line argument)
 * @returns the 32-byte seed, its 32-byte public key and keyid (hex SHA-256 of the SPKI DER)
 * @throws SnapError `NOT_FOUND` (no such file, `details.path`) | `IO_ERROR` (unreadable, a
 *   directory) | `KEY_MALFORMED` (not a PEM private key, damaged, a public key) | `KEY_NOT_ED25519`
 *   (an RSA, EC or other key) | `KEY_PASSPHRASE_REQUIRED` (encrypted, no passphrase given) |
 *   `KEY_PASSPHRASE_WRONG`; key errors name the file in the message and in `details.path`
 */
export async function readPrivateKey(path: string, opts: { passphrase?: string } = {}): Promise<PrivateKey> {
  const text = await readKeyText(path, 'cannot read the private key', '.key');
  try {
    const { label, der } = decodePem(text);
    if (label !== 'ENCRYPTED PRIVATE KEY') return parsePrivateKeyPem(text);
    if (opts.passphrase === undefined) {
      throw new SnapError('KEY_PASSPHRASE_REQUIRED', 'the private key is encrypted: give its passphrase (from an environment variable or a prompt)');
    }
    return decryptPrivateKey(der, opts.passphrase);
  } catch (e) {
    return inFile(e, path);
  }
}

/**
 * Read an Ed25519 public key file (SPEC §6): SPKI PEM (`-----BEGIN PUBLIC KEY-----`, RFC 8410), as
 * written by `openssl pkey -pubout` or {@link writeKeyPair}.
 * @returns the 32-byte public key and its keyid (hex SHA-256 of the 44-byte SPKI DER)
 * @throws SnapError `NOT_FOUND` (`details.path`) | `IO_ERROR` | `KEY_MALFORMED` (not a PEM public
 *   key, e.g. a private key) | `KEY_NOT_ED25519`; key errors name the file
 */
export async function readPublicKey(path: string): Promise<PublicKey> {
  const text = await readKeyText(path, 'cannot read the public key', '.pub');
  try {
    return parsePublicKeyPem(text);
  } catch (e) {
    return inFile(e, path);
  }
}

/** lstat that says "absent" instead of throwing ENOENT. A dangling symlink counts as present. */
async function exists(path: string): Promise<boolean> {
  try {
    await fsp.lstat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw ioError(e, path, 'cannot check for an existing key file');
  }
}

const fileExists = (path: string, cause?: unknown) =>
  new SnapError('FILE_EXISTS', `${path} already exists; snap never overwrites a key: choose another NAME or folder, or move the old key away first`, { path }, { cause });

/** link(2) is not supported where the key goes (FAT, exFAT, some network file systems). */
const NO_LINK = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/**
 * Create `path` with `text` and exactly `mode` (not reduced by the umask), flushed to disk, never
 * replacing anything there (even a dangling symlink: `FILE_EXISTS`). The text is written to a
 * hidden temporary file beside it (`.NAME.<host>-<pid>-<12 hex>.tmp`, io/output-temp.ts, created
 * with O_EXCL) and fsynced, then linked to `path` (link(2) fails if the name exists), so `path`
 * never holds a partly written key, even after a kill or a full disk; a stopped or failed write
 * removes the temporary file, and one a SIGKILL left is removed by the next keygen of `path`
 * ({@link writeKeyPair}). Where the
 * file system has no hard links, the file is created at `path` directly (`wx`) and removed when
 * the write fails.
 */
async function writeExclusive(path: string, text: string, mode: number): Promise<void> {
  const tmp = outputTempPath(path);
  const forget = leaveNothing(() => rmSync(tmp, { force: true }));
  try {
    await writeNew(tmp, text, mode, path);
    await holdOutputForTest(path);
    try {
      await fsp.link(tmp, path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (code === 'EEXIST') throw fileExists(path, e);
      if (!NO_LINK.has(code)) throw ioError(e, path, 'cannot create the key file');
      await writeNew(path, text, mode, path);
    }
  } finally {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    forget();
  }
  await fsyncDir(dirname(path));
}

/** Create `file` exclusively (`wx`), write `text`, set `mode` exactly, fsync; a partly written file is removed. Errors name `path`. */
async function writeNew(file: string, text: string, mode: number, path: string): Promise<void> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'wx', mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw fileExists(path, e);
    throw ioError(e, path, 'cannot create the key file');
  }
  try {
    await fh.chmod(mode);
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fsp.unlink(file).catch(() => undefined);
    throw ioError(e, path, 'cannot write the key file');
  }
  try {
    await fh.close();
  } catch (e) {
    await fsp.unlink(file).catch(() => undefined);
    throw ioError(e, path, 'cannot write the key file');
  }
}

/**
 * The error for a key NAME that does not match {@link KEY_NAME_RE}; `hint` is appended to its message.
 * @returns SnapError `USAGE` with `details.name`
 */
export function invalidKeyName(name: string, hint = ''): SnapError {
  return new SnapError('USAGE', `${JSON.stringify(name)} is not a valid key name: use letters, digits, ".", "_", "-" (starting with a letter or digit, at most 128 characters)${hint}`, { name });
}

/**
 * Make a new Ed25519 key pair (SPEC §6, `snap keygen`): `DIR/NAME.key`, PKCS#8 PEM, mode 0600
 * (encrypted PKCS#8 with AES-256-CBC when `opts.passphrase` is given), and `DIR/NAME.pub`, SPKI
 * PEM, mode 0644; both readable by `openssl pkey`. The seed is 32 bytes from node:crypto's CSPRNG.
 *
 * Never overwrites: when either file already exists nothing is written or changed (only the
 * stale hidden temporary files a SIGKILLed keygen left beside them are removed); the private
 * key is created exclusively, so a concurrent writer cannot be overwritten either; if writing the
 * public key then fails, the new private key is removed again.
 * @param dir folder for the two files, created (with parents) when missing
 * @param name file name stem, matching {@link KEY_NAME_RE}
 * @param opts.passphrase encrypt the private key with this passphrase (non-empty)
 * @returns the two paths and the keyid (lowercase hex SHA-256 of the public key's SPKI DER)
 * @throws SnapError `USAGE` (bad NAME, empty passphrase) | `FILE_EXISTS` (`details.path`) |
 *   `NOT_FOUND` | `IO_ERROR` | `DISK_FULL`
 */
export async function writeKeyPair(dir: string, name: string, opts: { passphrase?: string } = {}): Promise<{ keyPath: string; pubPath: string; keyid: string }> {
  if (typeof name !== 'string' || !KEY_NAME_RE.test(name)) throw invalidKeyName(String(name));
  if (opts.passphrase !== undefined && opts.passphrase.length === 0) {
    throw new SnapError('USAGE', 'the passphrase is empty: an empty passphrase protects nothing (leave it out for an unencrypted key)');
  }
  const keyPath = join(dir, `${name}.key`);
  const pubPath = join(dir, `${name}.pub`);
  try {
    await fsp.mkdir(dir, { recursive: true });
  } catch (e) {
    throw ioError(e, dir, 'cannot create the key folder');
  }
  // A keygen killed by SIGKILL left its hidden temporary key file (io/output-temp.ts): removed once
  // its process is gone, even when this run then stops with FILE_EXISTS.
  for (const p of [keyPath, pubPath]) await removeStaleOutputTemps(p);
  for (const p of [keyPath, pubPath]) if (await exists(p)) throw fileExists(p);

  const seed = new Uint8Array(randomBytes(32));
  const key = privateKeyFromSeed(seed);
  const { publicPem } = encodeKeyPair(key);
  const der = encodePrivateKeyDer(seed);
  let privateText: string;
  try {
    privateText =
      opts.passphrase === undefined
        ? encodePem('PRIVATE KEY', der)
        : (createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' }).export({
            type: 'pkcs8',
            format: 'pem',
            cipher: KEY_CIPHER,
            passphrase: opts.passphrase,
          }) as string);
  } finally {
    der.fill(0);
    seed.fill(0);
  }

  await writeExclusive(keyPath, privateText, PRIVATE_KEY_MODE);
  try {
    await writeExclusive(pubPath, publicPem, PUBLIC_KEY_MODE);
  } catch (e) {
    await fsp.unlink(keyPath).catch(() => undefined);
    throw e;
  }
  return { keyPath, pubPath, keyid: key.keyid };
}
