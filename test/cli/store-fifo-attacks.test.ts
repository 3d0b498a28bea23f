/**
 * A FIFO (named pipe) planted in a store by someone who can write to it but holds no key, where a
 * snapshot file or a revocation should be. Before, `verify` (by name, by id, `NAME@latest`),
 * `sign`, `show`, `list`, `fsck` and `import` opened it and waited forever for a writer — and did not even
 * stop on SIGTERM, since the read waited in a worker thread: a pre-training gate that hangs instead
 * of failing. Every one of them must now finish at once with its verdict.
 */
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { snapBin, tempDir, useKeyPair } from '../helpers/tree.js';
import { sealTree, snapshotFolder, type Sealed } from '../helpers/store.js';

const alice = useKeyPair('alice');
const bob = useKeyPair('bob');
/** Far more than any of these commands needs; a hang is killed here and fails the test. */
const TIMEOUT_MS = 15_000;

/** Run snap in a subprocess (a hung run is killed, not left in the test process's thread pool). */
async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string; killed: boolean }> {
  const r = await snapBin(args, { timeoutMs: TIMEOUT_MS });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr, killed: r.signal !== null };
}

/** Replace `file` of a snapshot folder by a FIFO. */
async function fifoAt(path: string): Promise<void> {
  await fsp.rm(path, { force: true });
  execFileSync('mkfifo', [path]);
}

describe('a FIFO planted in the store', () => {
  let s: Sealed;
  beforeEach(async () => {
    s = await sealTree({ 'a.txt': 'one\n', 'b.txt': 'two\n' }, alice, { as: 'ds@v1' });
  });

  for (const file of ['envelope.json', 'statement.json']) {
    it(`as a snapshot's ${file} makes verify, sign and show exit 1 (INTEGRITY_FAILURE) at once, and nothing is signed`, async () => {
      await fifoAt(join(s.dir, file));
      const v = await run(['verify', s.data, '--against', 'ds@v1', '--store', s.store, '--pubkey', alice.pub]);
      expect(v.killed, 'verify hung on the FIFO').toBe(false);
      expect(v.code).toBe(1);
      expect(v.stderr).toContain('INTEGRITY_FAILURE');
      expect(v.stderr).toContain('not a regular file');
      const g = await run(['sign', 'ds@v1', '--store', s.store, '--key', bob.key]);
      expect(g.killed, 'sign hung on the FIFO').toBe(false);
      expect(g.code).toBe(1);
      expect(g.stderr).toContain('nothing was signed');
      const w = await run(['show', 'ds@v1', '--store', s.store]);
      expect(w.killed, 'show hung on the FIFO').toBe(false);
      expect(w.code).toBe(1);
    });

    it(`as a snapshot's ${file} makes export exit 1 (INTEGRITY_FAILURE) at once, writing no archive`, async () => {
      await fifoAt(join(s.dir, file));
      const out = join(await tempDir('snap-fifo-export-'), 'ds@v1.snap.tar');
      const e = await run(['export', 'ds@v1', '-o', out, '--store', s.store]);
      expect(e.killed, 'export hung on the FIFO').toBe(false);
      expect(e.code, e.stderr).toBe(1);
      expect(e.stderr).toContain('INTEGRITY_FAILURE');
      expect(e.stderr).toContain('not a regular file');
      await expect(fsp.stat(out)).rejects.toThrow();
    });
  }

  it('as the statement of another version leaves list, NAME@latest, an id lookup and fsck unblocked', async () => {
    const v9 = snapshotFolder(s.store, 'ds', 'v9');
    await fsp.mkdir(v9);
    await fsp.writeFile(join(v9, 'envelope.json'), '');
    await fsp.writeFile(join(v9, 'manifest.jsonl'), '');
    execFileSync('mkfifo', [join(v9, 'statement.json')]);
    const l = await run(['list', '--store', s.store]);
    expect(l.killed, 'list hung on the FIFO').toBe(false);
    expect(l.stdout).toContain('ds@v1');
    const latest = await run(['verify', s.data, '--against', 'ds@latest', '--store', s.store, '--pubkey', alice.pub]);
    expect(latest.killed, 'verify NAME@latest hung on the FIFO').toBe(false);
    expect(latest.code).toBe(0);
    const byId = await run(['verify', s.data, '--against', s.snapshot.slice(7, 19), '--store', s.store, '--pubkey', alice.pub]);
    expect(byId.killed, 'verify by id hung on the FIFO').toBe(false);
    expect(byId.code).toBe(0);
    const f = await run(['fsck', '--store', s.store]);
    expect(f.killed, 'fsck hung on the FIFO').toBe(false);
    expect(f.code).toBe(1);
    expect(f.stdout).toContain('statement.json cannot be read (not a regular file)');
  });

  it("as a revocation of the snapshot makes verify exit 1 (REVOCATION_MALFORMED) at once: fail closed, and no hang", async () => {
    const dir = join(s.store, 'revocations', s.snapshot.slice(7));
    await fsp.mkdir(dir, { recursive: true });
    execFileSync('mkfifo', [join(dir, `${'0'.repeat(64)}.json`)]);
    const v = await run(['verify', s.data, '--against', 'ds@v1', '--store', s.store, '--pubkey', alice.pub, '--json']);
    expect(v.killed, 'verify hung on the FIFO').toBe(false);
    expect(v.code).toBe(1);
    expect(JSON.parse(v.stdout).failure.code).toBe('REVOCATION_MALFORMED');
  });

  it("as a snapshot's manifest.jsonl: verify, diff, prove and export exit 3 naming it, fsck exits 1, and a seal of the next version (whose parent it is) finishes", async () => {
    await fifoAt(join(s.dir, 'manifest.jsonl'));
    for (const args of [
      ['verify', s.data, '--against', 'ds@v1', '--pubkey', alice.pub],
      ['diff', 'ds@v1', s.data],
      ['prove', 'ds@v1', 'a.txt', '-o', join(s.data, '..', 'p.json')],
      ['export', 'ds@v1', '-o', join(s.data, '..', 'ds@v1.snap.tar')],
    ]) {
      const r = await run([...args, '--store', s.store]);
      expect(r.killed, `${args[0]} hung on the FIFO`).toBe(false);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toContain('manifest.jsonl is not a regular file');
    }
    const f = await run(['fsck', '--store', s.store]);
    expect(f.killed, 'fsck hung on the FIFO').toBe(false);
    expect(f.code).toBe(1);
    const seal = await run(['seal', s.data, '--as', 'ds@v2', '--key', alice.key, '--store', s.store]);
    expect(seal.killed, 'seal hung on the parent manifest FIFO').toBe(false);
    expect(seal.code, seal.stderr).toBe(0);
  });

  it("as the statement of the NAME@VERSION an archive brings makes import exit 3 (SNAPSHOT_EXISTS) at once", async () => {
    const work = await tempDir('snap-fifo-import-');
    const file = join(work, 'ds@v1.snap.tar');
    const e = await run(['export', 'ds@v1', '-o', file, '--store', s.store]);
    expect(e.code, e.stderr).toBe(0);
    const other = await sealTree({ 'z.txt': 'other\n' }, alice, { as: 'ds@v1' });
    await fifoAt(join(other.dir, 'statement.json'));
    const i = await run(['import', file, '--pubkey', alice.pub, '--store', other.store]);
    expect(i.killed, 'import hung on the FIFO').toBe(false);
    expect(i.code, i.stderr).toBe(3);
    expect(i.stderr).toContain('SNAPSHOT_EXISTS');
    expect(i.stderr).toContain('not a regular file');
  });

  it('as store.json makes every command exit 3 (STORE_MALFORMED) at once', async () => {
    await fifoAt(join(s.store, 'store.json'));
    for (const args of [['verify', s.data, '--against', 'ds@v1', '--pubkey', alice.pub], ['seal', s.data, '--as', 'ds@v2', '--key', alice.key], ['fsck'], ['list']]) {
      const r = await run([...args, '--store', s.store]);
      expect(r.killed, `${args[0]} hung on the FIFO`).toBe(false);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toContain('STORE_MALFORMED');
    }
  });

  it("as the store's lock: verify still passes, and a seal takes it over (it reads as an empty lock, stale after GUARD_STALE_MS) instead of blocking on it", async () => {
    await fifoAt(join(s.store, 'lock'));
    const v = await run(['verify', s.data, '--against', 'ds@v1', '--pubkey', alice.pub, '--store', s.store]);
    expect(v.killed, 'verify hung on the FIFO').toBe(false);
    expect(v.code, v.stderr).toBe(0);
    const seal = await run(['seal', s.data, '--as', 'ds@v2', '--key', alice.key, '--store', s.store]);
    expect(seal.killed, 'seal hung on the lock FIFO').toBe(false);
    expect(seal.code, seal.stderr).toBe(0);
  });
});
