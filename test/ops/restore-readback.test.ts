/**
 * Restore checks a large file by reading it back from the target after writing it, and its final
 * verify does not read such a file a third time — but only while lstat still shows the very file
 * it read back (device, inode, size, mtime and ctime in nanoseconds). These tests hold verify's
 * `hashed` option to that, and check what restore leaves on disk (content and modes).
 */
import { promises as fsp, lstatSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { sealTree, sha256 } from '../helpers/store.js';
import { verify } from '../../src/ops/verify.js';
import { restore } from '../../src/ops/restore.js';
import { resolveRef } from '../../src/io/store.js';
import { readPublicKey } from '../../src/io/keyfile.js';

const keys = useKeyPair('readback');
const BIG = randomBytes((8 << 20) + 12345); // over 8 MiB: restored by the read-back path

/** `dev:ino:size:mtimeNs:ctimeNs` of a file now, as restore records it. */
function identityOf(path: string): string {
  const st = lstatSync(path, { bigint: true });
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

async function restored() {
  const s = await sealTree({ 'big.bin': BIG, 'small.txt': 'small\n' }, keys);
  const out = join(await tempDir('snap-readback-'), 'out');
  const r = await snapJson(['restore', s.ref, out, '--pubkey', keys.pub, '--store', s.store]);
  expect(r.code, r.stderr).toBe(0);
  const location = await resolveRef(s.ref, s.store);
  const trusted = [await readPublicKey(keys.pub)];
  const check = (hashed: Map<string, string>) => verify({ dir: out, snapshot: location, trusted, hashed });
  return { s, out, check };
}

describe('restore of a large file', () => {
  it('writes the same bytes, with mode 0644 less the umask (not the store object\'s 0444)', async () => {
    const { out } = await restored();
    expect((await fsp.readFile(join(out, 'big.bin'))).equals(BIG)).toBe(true);
    const want = 0o644 & ~process.umask();
    expect((await fsp.stat(join(out, 'big.bin'))).mode & 0o777).toBe(want);
    expect((await fsp.stat(join(out, 'small.txt'))).mode & 0o777).toBe(want);
  });

  it('is written the same way from an archive', async () => {
    const s = await sealTree({ 'big.bin': BIG, 'small.txt': 'small\n' }, keys);
    const work = await tempDir('snap-readback-');
    const file = join(work, `${s.ref}.snap.tar`); // an archive named as another snapshot is refused (SNAPSHOT_NAME_MISMATCH)
    expect((await snapJson(['export', s.ref, '-o', file, '--store', s.store])).code).toBe(0);
    const out = join(work, 'out');
    const r = await snapJson(['restore', file, out, '--pubkey', keys.pub]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.verify.ok).toBe(true);
    expect((await fsp.readFile(join(out, 'big.bin'))).equals(BIG)).toBe(true);
    expect((await fsp.stat(join(out, 'big.bin'))).mode & 0o777).toBe(0o644 & ~process.umask());
  });
});

describe('restore of a store object that is no longer a regular file of its size', () => {
  const cases: [string, (obj: string) => Promise<unknown>][] = [
    ['a folder', (obj) => fsp.mkdir(obj)],
    ['a link', (obj) => fsp.symlink('/etc/hostname', obj)],
    ['a FIFO', async (obj) => spawnSync('mkfifo', [obj])],
    ['a shorter file', (obj) => fsp.writeFile(obj, 'short')],
  ];
  for (const [what, replace] of cases) {
    for (const [label, name, content] of [['small', 'small.txt', 'small\n'], ['large', 'big.bin', BIG]] as const) {
      it(`refuses a ${label} file's object that is now ${what} (OBJECT_CORRUPT, exit 1), never blocking, and removes what it made`, async () => {
        const s = await sealTree({ 'big.bin': BIG, 'small.txt': 'small\n' }, keys);
        const hex = sha256(content);
        const obj = join(s.store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2));
        await fsp.rm(obj);
        await replace(obj);
        const out = join(await tempDir('snap-readback-'), 'out');
        const r = await snapJson(['restore', s.ref, out, '--pubkey', keys.pub, '--store', s.store]);
        expect(r.code, `${name}: ${r.stderr}`).toBe(1);
        expect(r.json.error.code).toBe('OBJECT_CORRUPT');
        await expect(fsp.access(out)).rejects.toThrow();
      });
    }
  }
});

describe('the target folder', () => {
  it('is 0755 less the umask once restore has made it and finished', async () => {
    const { out } = await restored();
    expect((await fsp.stat(out)).mode & 0o777).toBe(0o755 & ~process.umask());
  });

  it('is private (0700) while restore writes into it', async () => {
    const s = await sealTree({ 'a.txt': 'a\n', 'b/c.txt': 'c\n' }, keys);
    const out = join(await tempDir('snap-readback-'), 'out');
    const modes: number[] = [];
    const r = await restore({
      source: { kind: 'snapshot', snapshot: await resolveRef(s.ref, s.store), store: s.store },
      dir: out,
      trusted: [await readPublicKey(keys.pub)],
      onProgress: () => modes.push(lstatSync(out).mode & 0o777),
    });
    expect(r.ok).toBe(true);
    expect(modes.length).toBeGreaterThan(0);
    expect(new Set(modes)).toEqual(new Set([0o700]));
    expect(lstatSync(out).mode & 0o777).toBe(0o755 & ~process.umask());
  });

  it('keeps its own mode when it existed (empty) before', async () => {
    const s = await sealTree({ 'a.txt': 'a\n' }, keys);
    const out = join(await tempDir('snap-readback-'), 'out');
    await fsp.mkdir(out);
    await fsp.chmod(out, 0o750);
    const r = await snapJson(['restore', s.ref, out, '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
    expect((await fsp.stat(out)).mode & 0o777).toBe(0o750);
  });

  it('gets its own mode back, empty, when restore fails in it (a corrupt store object)', async () => {
    const s = await sealTree({ 'a.txt': 'a\n', 'b.txt': 'b\n' }, keys);
    const obj = join(s.store, 'objects', 'sha256', sha256('b\n').slice(0, 2), sha256('b\n').slice(2));
    await fsp.chmod(obj, 0o644);
    await fsp.writeFile(obj, 'B\n');
    const out = join(await tempDir('snap-readback-'), 'out');
    await fsp.mkdir(out);
    await fsp.chmod(out, 0o775);
    const r = await snapJson(['restore', s.ref, out, '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('OBJECT_CORRUPT');
    expect(await fsp.readdir(out)).toEqual([]);
    expect((await fsp.stat(out)).mode & 0o777).toBe(0o775);
  });
});

describe('verify with files already read back (`hashed`)', () => {
  it('passes a file whose identity is unchanged', async () => {
    const { out, check } = await restored();
    const r = await check(new Map([['big.bin', identityOf(join(out, 'big.bin'))]]));
    expect(r.ok).toBe(true);
    expect(r.counts.matched).toBe(2);
  });

  it('catches a file changed after it was read back, even at the same size and with its mtime put back', async () => {
    const { out, check } = await restored();
    const path = join(out, 'big.bin');
    const id = identityOf(path);
    const before = await fsp.stat(path);
    const fh = await fsp.open(path, 'r+');
    await fh.write(Buffer.from([BIG[100]! ^ 0xff]), 0, 1, 100);
    await fh.close();
    await fsp.utimes(path, before.atime, before.mtime); // mtime as it was; ctime cannot be put back
    const r = await check(new Map([['big.bin', id]]));
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => [p.path, p.kind])).toEqual([['big.bin', 'modified']]);
  });

  it('catches a file replaced by another (a new inode), and hashes it rather than trusting the name', async () => {
    const { out, check } = await restored();
    const path = join(out, 'big.bin');
    const id = identityOf(path);
    const bad = Buffer.from(BIG);
    bad[0] = bad[0]! ^ 1;
    await fsp.writeFile(join(out, 'swap.tmp'), bad);
    await fsp.rename(join(out, 'swap.tmp'), path);
    const r = await check(new Map([['big.bin', id]]));
    expect(r.problems.map((p) => [p.path, p.kind])).toEqual([['big.bin', 'modified']]);
  });

  it('hashes a file whose recorded identity is wrong, so a matching file still passes', async () => {
    const { check } = await restored();
    const r = await check(new Map([['big.bin', '0:0:0:0:0']]));
    expect(r.ok).toBe(true);
  });

  it('reports a file removed since it was read back as missing', async () => {
    const { out, check } = await restored();
    const id = identityOf(join(out, 'big.bin'));
    await fsp.rm(join(out, 'big.bin'));
    const r = await check(new Map([['big.bin', id]]));
    expect(r.problems.map((p) => [p.path, p.kind])).toEqual([['big.bin', 'missing']]);
  });
});
