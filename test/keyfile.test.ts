import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readPrivateKey, readPublicKey, writeKeyPair, MAX_KEY_FILE_BYTES } from '../src/io/keyfile.js';
import { PAYLOAD_TYPE, pae, signEnvelope, verifyEnvelope } from '../src/core/envelope.js';
import { sign, verify } from '../src/core/ed25519.js';
import { fromBase64, utf8 } from '../src/core/encoding.js';

const OPENSSL = '/usr/bin/openssl';
const code = (c: string) => expect.objectContaining({ code: c });
const STATEMENT = utf8(
  '{"_type":"https://in-toto.io/Statement/v1","predicate":{"createdAt":"2026-11-21T10:00:00Z","dataset":"demo","fileCount":1,"manifestSha256":"' +
    'a'.repeat(64) +
    '","merkleRoot":"' +
    'b'.repeat(64) +
    '","tool":{"name":"snap","version":"0.1.0"},"totalBytes":1,"version":"v1"},"predicateType":"urn:snap:dataset-snapshot:v1","subject":[{"digest":{"sha256":"' +
    'b'.repeat(64) +
    '"},"name":"demo@v1"}]}',
);

let dir: string;

beforeEach(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'snap-keyfile-'));
});

afterEach(async () => {
  vi.restoreAllMocks();
  await fsp.rm(dir, { recursive: true, force: true });
});

/** Run openssl; returns its exit status (stderr is captured, not shown). */
function openssl(args: string[], env: Record<string, string> = {}): number | null {
  return spawnSync(OPENSSL, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }).status;
}

/** Run openssl and return its stdout; throws when it fails. Its stderr (genpkey progress dots) is kept quiet. */
function ossl(args: string[], env: Record<string, string> = {}): Buffer {
  return execFileSync(OPENSSL, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** keyid as OpenSSL sees it: SHA-256 of the SPKI DER it derives from a private key file. */
function opensslKeyid(keyPath: string, passphrase?: string): string {
  const args = ['pkey', '-in', keyPath, '-pubout', '-outform', 'DER', ...(passphrase ? ['-passin', 'env:SNAP_TEST_PASS'] : [])];
  const der = ossl(args, { SNAP_TEST_PASS: passphrase ?? '' });
  return createHash('sha256').update(der).digest('hex');
}

async function modeOf(path: string): Promise<number> {
  return (await fsp.stat(path)).mode & 0o777;
}

function errnoError(errno: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${errno}: simulated`), { code: errno });
}

describe('writeKeyPair', () => {
  it('writes NAME.key with mode 0600 and NAME.pub with mode 0644, and returns the keyid', async () => {
    const r = await writeKeyPair(dir, 'release');
    expect(r.keyPath).toBe(join(dir, 'release.key'));
    expect(r.pubPath).toBe(join(dir, 'release.pub'));
    expect(await modeOf(r.keyPath)).toBe(0o600);
    expect(await modeOf(r.pubPath)).toBe(0o644);
    expect(r.keyid).toMatch(/^[0-9a-f]{64}$/);
    expect((await readPrivateKey(r.keyPath)).keyid).toBe(r.keyid);
    expect((await readPublicKey(r.pubPath)).keyid).toBe(r.keyid);
  });

  it('sets the modes exactly even under a restrictive umask', async () => {
    const old = process.umask(0o077);
    try {
      const r = await writeKeyPair(dir, 'strict');
      expect(await modeOf(r.keyPath)).toBe(0o600);
      expect(await modeOf(r.pubPath)).toBe(0o644);
    } finally {
      process.umask(old);
    }
  });

  it('writes files that openssl pkey reads, with the same keyid', async () => {
    const r = await writeKeyPair(dir, 'k');
    expect(openssl(['pkey', '-in', r.keyPath, '-noout'])).toBe(0);
    expect(openssl(['pkey', '-pubin', '-in', r.pubPath, '-noout'])).toBe(0);
    expect(opensslKeyid(r.keyPath)).toBe(r.keyid);
  });

  it('writes an encrypted private key that openssl reads with the passphrase from an environment variable', async () => {
    const r = await writeKeyPair(dir, 'enc', { passphrase: 'correct horse' });
    expect(await fsp.readFile(r.keyPath, 'utf8')).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    expect(await modeOf(r.keyPath)).toBe(0o600);
    expect(openssl(['pkey', '-in', r.keyPath, '-passin', 'env:SNAP_TEST_PASS', '-noout'], { SNAP_TEST_PASS: 'correct horse' })).toBe(0);
    expect(openssl(['pkey', '-in', r.keyPath, '-passin', 'env:SNAP_TEST_PASS', '-noout'], { SNAP_TEST_PASS: 'wrong' })).not.toBe(0);
    expect(opensslKeyid(r.keyPath, 'correct horse')).toBe(r.keyid);
    expect((await readPrivateKey(r.keyPath, { passphrase: 'correct horse' })).keyid).toBe(r.keyid);
  });

  it('creates the folder, with its parents, when it is missing', async () => {
    const sub = join(dir, 'a', 'b', 'keys');
    const r = await writeKeyPair(sub, 'k');
    expect((await readPublicKey(r.pubPath)).keyid).toBe(r.keyid);
  });

  it('makes a different key every time', async () => {
    const a = await writeKeyPair(dir, 'a');
    const b = await writeKeyPair(dir, 'b');
    expect(a.keyid).not.toBe(b.keyid);
  });

  it.each(['A.b_c-1', '0', 'x'.repeat(128)])('accepts the name %j', async (name) => {
    const r = await writeKeyPair(dir, name);
    expect(r.keyPath).toBe(join(dir, `${name}.key`));
  });

  it.each(['', '.hidden', '-x', '_x', 'a/b', '../up', 'a b', 'x'.repeat(129), 'é', 'a\n'])('refuses the name %j with USAGE and writes nothing', async (name) => {
    await expect(writeKeyPair(dir, name)).rejects.toThrowError(code('USAGE'));
    expect(await fsp.readdir(dir)).toEqual([]);
  });

  it('refuses an empty passphrase with USAGE', async () => {
    await expect(writeKeyPair(dir, 'k', { passphrase: '' })).rejects.toThrowError(code('USAGE'));
    expect(await fsp.readdir(dir)).toEqual([]);
  });
});

describe('writeKeyPair never overwrites', () => {
  it('refuses with FILE_EXISTS when NAME.key exists, leaving it unchanged and writing no NAME.pub', async () => {
    const keyPath = join(dir, 'k.key');
    await fsp.writeFile(keyPath, 'precious bytes\n', { mode: 0o600 });
    await expect(writeKeyPair(dir, 'k')).rejects.toThrowError(expect.objectContaining({ code: 'FILE_EXISTS', details: { path: keyPath } }));
    expect(await fsp.readFile(keyPath, 'utf8')).toBe('precious bytes\n');
    expect(await fsp.readdir(dir)).toEqual(['k.key']);
  });

  it('refuses with FILE_EXISTS when NAME.pub exists, leaving it unchanged and writing no NAME.key', async () => {
    const pubPath = join(dir, 'k.pub');
    await fsp.writeFile(pubPath, 'old public key\n');
    await expect(writeKeyPair(dir, 'k')).rejects.toThrowError(expect.objectContaining({ code: 'FILE_EXISTS', details: { path: pubPath } }));
    expect(await fsp.readFile(pubPath, 'utf8')).toBe('old public key\n');
    expect(await fsp.readdir(dir)).toEqual(['k.pub']);
  });

  it('refuses with FILE_EXISTS when NAME.key is a dangling symlink, and does not create its target', async () => {
    await fsp.symlink(join(dir, 'elsewhere'), join(dir, 'k.key'));
    await expect(writeKeyPair(dir, 'k')).rejects.toThrowError(code('FILE_EXISTS'));
    expect((await fsp.readdir(dir)).sort()).toEqual(['k.key']);
  });

  it('refuses with FILE_EXISTS when NAME.key appears between the check and the write, without touching it', async () => {
    const keyPath = join(dir, 'k.key');
    const realLink = fsp.link.bind(fsp);
    vi.spyOn(fsp, 'link').mockImplementation(async (...args: Parameters<typeof fsp.link>) => {
      if (args[1] === keyPath) await fsp.writeFile(keyPath, 'raced in\n');
      return realLink(...args);
    });
    await expect(writeKeyPair(dir, 'k')).rejects.toThrowError(code('FILE_EXISTS'));
    vi.restoreAllMocks();
    expect(await fsp.readFile(keyPath, 'utf8')).toBe('raced in\n');
    expect(await fsp.readdir(dir)).toEqual(['k.key']);
  });

  it('removes the new NAME.key when NAME.pub appears between the check and the write', async () => {
    const pubPath = join(dir, 'k.pub');
    const realLink = fsp.link.bind(fsp);
    vi.spyOn(fsp, 'link').mockImplementation(async (...args: Parameters<typeof fsp.link>) => {
      if (args[1] === pubPath) await fsp.writeFile(pubPath, 'raced in\n');
      return realLink(...args);
    });
    await expect(writeKeyPair(dir, 'k')).rejects.toThrowError(code('FILE_EXISTS'));
    vi.restoreAllMocks();
    expect(await fsp.readFile(pubPath, 'utf8')).toBe('raced in\n');
    expect(await fsp.readdir(dir)).toEqual(['k.pub']);
  });

  it('removes the new NAME.key when writing NAME.pub fails (disk full)', async () => {
    const realOpen = fsp.open.bind(fsp);
    vi.spyOn(fsp, 'open').mockImplementation(async (...args: Parameters<typeof fsp.open>) => {
      if (basename(String(args[0])).startsWith('.k.pub.')) throw errnoError('ENOSPC'); // NAME.pub's temporary file
      return realOpen(...args);
    });
    await expect(writeKeyPair(dir, 'k')).rejects.toThrowError(code('DISK_FULL'));
    vi.restoreAllMocks();
    expect(await fsp.readdir(dir)).toEqual([]);
  });
});

describe('a keygen killed while it writes', () => {
  it('never leaves a partly written NAME.key under its name: the key is written to a hidden temporary file and linked into place only once flushed', async () => {
    const realOpen = fsp.open.bind(fsp);
    let killed!: () => void;
    const atKill = new Promise<void>((r) => (killed = r));
    vi.spyOn(fsp, 'open').mockImplementation(async (...args: Parameters<typeof fsp.open>) => {
      const fh = await realOpen(...args);
      const name = basename(String(args[0]));
      if (name === 'k.key' || name.startsWith('.k.key.')) {
        // Half the key reaches the file, then the process "dies": nothing after this runs.
        fh.writeFile = (async (text: string) => {
          await fh.write(text.slice(0, text.length >> 1));
          killed();
          return new Promise<void>(() => {});
        }) as typeof fh.writeFile;
      }
      return fh;
    });
    void writeKeyPair(dir, 'k');
    await atKill;
    vi.restoreAllMocks();
    const left = await fsp.readdir(dir);
    expect(left).not.toContain('k.key');
    expect(left).not.toContain('k.pub');
    // keygen NAME works again (the hidden temporary file is in nobody's way).
    const again = await writeKeyPair(dir, 'k');
    expect((await readPrivateKey(again.keyPath)).keyid).toBe(again.keyid);
  });
});

describe('keygen where the file system has no hard links (FAT, exFAT)', () => {
  it('writes NAME.key and NAME.pub directly instead, with their modes, and leaves no temporary file', async () => {
    vi.spyOn(fsp, 'link').mockImplementation(async () => {
      throw errnoError('EPERM');
    });
    const r = await writeKeyPair(dir, 'k');
    vi.restoreAllMocks();
    expect((await fsp.readdir(dir)).sort()).toEqual(['k.key', 'k.pub']);
    expect((await fsp.stat(r.keyPath)).mode & 0o777).toBe(0o600);
    expect((await readPrivateKey(r.keyPath)).keyid).toBe(r.keyid);
    expect((await readPublicKey(r.pubPath)).keyid).toBe(r.keyid);
  });
});

describe('keys made by OpenSSL', () => {
  it('reads a key from openssl genpkey -algorithm ed25519, whose keyid matches its openssl public key', async () => {
    const key = join(dir, 'o.key');
    const pub = join(dir, 'o.pub');
    ossl(['genpkey', '-algorithm', 'ed25519', '-out', key]);
    ossl(['pkey', '-in', key, '-pubout', '-out', pub]);
    const k = await readPrivateKey(key);
    const p = await readPublicKey(pub);
    expect(k.keyid).toBe(p.keyid);
    expect(k.publicKey).toEqual(p.publicKey);
    expect(p.keyid).toBe(opensslKeyid(key));
  });

  it.each(['-aes-256-cbc', '-aes-128-cbc'])('reads a key encrypted by openssl genpkey %s with its passphrase', async (cipher) => {
    const key = join(dir, 'e.key');
    const pub = join(dir, 'e.pub');
    ossl(['genpkey', '-algorithm', 'ed25519', cipher, '-pass', 'pass:s3cret pass', '-out', key]);
    ossl(['pkey', '-in', key, '-passin', 'pass:s3cret pass', '-pubout', '-out', pub]);
    expect(await fsp.readFile(key, 'utf8')).toContain('BEGIN ENCRYPTED PRIVATE KEY');
    const k = await readPrivateKey(key, { passphrase: 's3cret pass' });
    expect(k.keyid).toBe((await readPublicKey(pub)).keyid);
  });
});

describe('signatures interoperate with OpenSSL', () => {
  async function pair(kind: 'snap' | 'openssl'): Promise<{ key: string; pub: string }> {
    if (kind === 'snap') {
      const r = await writeKeyPair(dir, 'snapkey');
      return { key: r.keyPath, pub: r.pubPath };
    }
    const key = join(dir, 'ossl.key');
    const pub = join(dir, 'ossl.pub');
    ossl(['genpkey', '-algorithm', 'ed25519', '-out', key]);
    ossl(['pkey', '-in', key, '-pubout', '-out', pub]);
    return { key, pub };
  }

  it.each(['snap', 'openssl'] as const)('a snap signature of PAE bytes verifies with openssl pkeyutl (key made by %s)', async (kind) => {
    const { key, pub } = await pair(kind);
    const k = await readPrivateKey(key);
    const env = signEnvelope(STATEMENT, [k]);
    const msg = pae(PAYLOAD_TYPE, STATEMENT);
    const sig = fromBase64(env.signatures[0]!.sig);
    expect(sig).toEqual(sign(msg, k.seed));
    const paeBin = join(dir, 'PAE.bin');
    const sigBin = join(dir, 'SIG.bin');
    await fsp.writeFile(paeBin, msg);
    await fsp.writeFile(sigBin, sig);
    const verifyArgs = ['pkeyutl', '-verify', '-pubin', '-inkey', pub, '-rawin', '-in', paeBin, '-sigfile', sigBin];
    expect(openssl(verifyArgs)).toBe(0);

    const badSig = sig.slice();
    badSig[10] = (badSig[10] as number) ^ 0x01;
    await fsp.writeFile(sigBin, badSig);
    expect(openssl(verifyArgs)).not.toBe(0);

    const badMsg = msg.slice();
    badMsg[msg.length - 2] = (badMsg[msg.length - 2] as number) ^ 0x01;
    await fsp.writeFile(sigBin, sig);
    await fsp.writeFile(paeBin, badMsg);
    expect(openssl(verifyArgs)).not.toBe(0);
  });

  it.each(['snap', 'openssl'] as const)('an openssl pkeyutl signature of PAE bytes verifies with snap (key made by %s)', async (kind) => {
    const { key, pub } = await pair(kind);
    const msg = pae(PAYLOAD_TYPE, STATEMENT);
    const paeBin = join(dir, 'PAE.bin');
    const sigBin = join(dir, 'SIG.bin');
    await fsp.writeFile(paeBin, msg);
    ossl(['pkeyutl', '-sign', '-inkey', key, '-rawin', '-in', paeBin, '-out', sigBin]);
    const sig = new Uint8Array(await fsp.readFile(sigBin));
    const p = await readPublicKey(pub);
    expect(verify(sig, msg, p.publicKey)).toBe(true);
    const env = { payload: Buffer.from(STATEMENT).toString('base64'), payloadType: PAYLOAD_TYPE, signatures: [{ keyid: '', sig: Buffer.from(sig).toString('base64') }] };
    expect(verifyEnvelope(env, [p]).ok).toBe(true);
    expect(verify(sig, pae(PAYLOAD_TYPE, utf8('other')), p.publicKey)).toBe(false);
  });
});

describe('key file errors', () => {
  it('reports a missing file as NOT_FOUND with the path', async () => {
    const missing = join(dir, 'nope.key');
    await expect(readPrivateKey(missing)).rejects.toThrowError(expect.objectContaining({ code: 'NOT_FOUND', details: expect.objectContaining({ path: missing }) }));
    await expect(readPublicKey(join(dir, 'nope.pub'))).rejects.toThrowError(code('NOT_FOUND'));
  });

  it('reports a folder given as a key file as IO_ERROR', async () => {
    await expect(readPrivateKey(dir)).rejects.toThrowError(expect.objectContaining({ code: 'IO_ERROR', details: expect.objectContaining({ path: dir }) }));
    await expect(readPublicKey(dir)).rejects.toThrowError(code('IO_ERROR'));
  });

  it('names the key files of that kind a folder given as a key file holds (`--key ~/.snap-keys`), or that it holds none', async () => {
    await writeKeyPair(dir, 'ci');
    await writeKeyPair(dir, 'alice');
    await expect(readPrivateKey(dir)).rejects.toThrowError(/ is a directory, not a key file: give one of its \.key files: alice\.key, ci\.key$/);
    await expect(readPublicKey(dir)).rejects.toThrowError(/ is a directory, not a key file: give one of its \.pub files: alice\.pub, ci\.pub$/);
    const empty = join(dir, 'empty');
    await fsp.mkdir(empty);
    await expect(readPublicKey(empty)).rejects.toThrowError(/ is a directory, not a key file \(it holds no \.pub file\)$/);
  });

  it('reports an unreadable key file (EACCES) as IO_ERROR', async () => {
    const r = await writeKeyPair(dir, 'k');
    vi.spyOn(fsp, 'open').mockRejectedValue(errnoError('EACCES'));
    await expect(readPrivateKey(r.keyPath)).rejects.toThrowError(expect.objectContaining({ code: 'IO_ERROR', details: expect.objectContaining({ path: r.keyPath }) }));
    await expect(readPublicKey(r.pubPath)).rejects.toThrowError(code('IO_ERROR'));
  });

  it('reports a FIFO given as a key file as IO_ERROR instead of waiting for a writer', async () => {
    const fifo = join(dir, 'fifo.key');
    execFileSync('mkfifo', [fifo]);
    await expect(readPrivateKey(fifo)).rejects.toThrowError(code('IO_ERROR'));
  });

  it('reports garbage as KEY_MALFORMED, naming the file in the details', async () => {
    const bad = join(dir, 'bad.key');
    await fsp.writeFile(bad, 'this is not a key\n');
    await expect(readPrivateKey(bad)).rejects.toThrowError(expect.objectContaining({ code: 'KEY_MALFORMED', details: expect.objectContaining({ path: bad }) }));
    await expect(readPublicKey(bad)).rejects.toThrowError(expect.objectContaining({ code: 'KEY_MALFORMED', details: expect.objectContaining({ path: bad }) }));
  });

  it('reports a damaged PEM body as KEY_MALFORMED', async () => {
    const r = await writeKeyPair(dir, 'k');
    const text = await fsp.readFile(r.keyPath, 'utf8');
    await fsp.writeFile(r.keyPath, text.replace(/\n(.{10})/, '\n'));
    await expect(readPrivateKey(r.keyPath)).rejects.toThrowError(code('KEY_MALFORMED'));
  });

  it('reports a file larger than any key file as KEY_MALFORMED', async () => {
    const big = join(dir, 'big.key');
    await fsp.writeFile(big, Buffer.alloc(MAX_KEY_FILE_BYTES + 1, 0x41));
    await expect(readPrivateKey(big)).rejects.toThrowError(code('KEY_MALFORMED'));
  });

  it('reports a public key given as the private key as KEY_MALFORMED, and the reverse', async () => {
    const r = await writeKeyPair(dir, 'k');
    await expect(readPrivateKey(r.pubPath)).rejects.toThrowError(expect.objectContaining({ code: 'KEY_MALFORMED', details: expect.objectContaining({ path: r.pubPath }) }));
    await expect(readPublicKey(r.keyPath)).rejects.toThrowError(code('KEY_MALFORMED'));
  });

  it.each([
    ['RSA', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']],
    ['EC P-256', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']],
  ])('reports an %s key made by openssl as KEY_NOT_ED25519', async (_name, algArgs) => {
    const key = join(dir, 'other.key');
    const pub = join(dir, 'other.pub');
    ossl(['genpkey', ...algArgs, '-out', key]);
    ossl(['pkey', '-in', key, '-pubout', '-out', pub]);
    await expect(readPrivateKey(key)).rejects.toThrowError(expect.objectContaining({ code: 'KEY_NOT_ED25519', details: expect.objectContaining({ path: key }) }));
    await expect(readPublicKey(pub)).rejects.toThrowError(code('KEY_NOT_ED25519'));
  });

  it('reports an encrypted RSA key, once decrypted, as KEY_NOT_ED25519', async () => {
    const key = join(dir, 'rsa.key');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await fsp.writeFile(key, privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }));
    await expect(readPrivateKey(key, { passphrase: 'pw' })).rejects.toThrowError(code('KEY_NOT_ED25519'));
  });

  it('reports an encrypted key read without a passphrase as KEY_PASSPHRASE_REQUIRED', async () => {
    const r = await writeKeyPair(dir, 'k', { passphrase: 'pw' });
    await expect(readPrivateKey(r.keyPath)).rejects.toThrowError(expect.objectContaining({ code: 'KEY_PASSPHRASE_REQUIRED', details: expect.objectContaining({ path: r.keyPath }) }));
  });

  it('reports a wrong passphrase as KEY_PASSPHRASE_WRONG', async () => {
    const r = await writeKeyPair(dir, 'k', { passphrase: 'right' });
    for (const wrong of ['wrong', 'Right', '', 'right ']) {
      await expect(readPrivateKey(r.keyPath, { passphrase: wrong })).rejects.toThrowError(code('KEY_PASSPHRASE_WRONG'));
    }
  });

  it('reports a wrong passphrase for an openssl-encrypted key as KEY_PASSPHRASE_WRONG', async () => {
    const key = join(dir, 'e.key');
    ossl(['genpkey', '-algorithm', 'ed25519', '-aes-256-cbc', '-pass', 'pass:right', '-out', key]);
    await expect(readPrivateKey(key, { passphrase: 'wrong' })).rejects.toThrowError(code('KEY_PASSPHRASE_WRONG'));
  });

  it('reports an ENCRYPTED PRIVATE KEY block that is not EncryptedPrivateKeyInfo as KEY_MALFORMED', async () => {
    const key = join(dir, 'e.key');
    await fsp.writeFile(key, '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAMCAQA=\n-----END ENCRYPTED PRIVATE KEY-----\n');
    await expect(readPrivateKey(key, { passphrase: 'pw' })).rejects.toThrowError(code('KEY_MALFORMED'));
  });

  it('ignores a passphrase given for an unencrypted key, as openssl does', async () => {
    const r = await writeKeyPair(dir, 'k');
    expect((await readPrivateKey(r.keyPath, { passphrase: 'unused' })).keyid).toBe(r.keyid);
  });
});
