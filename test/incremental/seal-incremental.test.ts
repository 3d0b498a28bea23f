/**
 * `seal --incremental` (issue 13 item 6, docs/FORMAT.md §22): a file whose device, inode, size,
 * mtime and ctime are unchanged since the parent was sealed on this machine is not read — its
 * digest comes from the parent's manifest; anything else is read as usual. The stat cache is
 * unsigned local data: tampering with it can only make seal sign the parent's digest for a file,
 * which verify then catches.
 */
import { promises as fsp } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { seal } from '../../src/ops/seal.js';
import { verify } from '../../src/ops/verify.js';
import { readPrivateKey, readPublicKey } from '../../src/io/keyfile.js';
import { resolveRef } from '../../src/io/store.js';
import { makeTree, snap, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';
import { statCachePath } from '../../src/incremental/stat-cache.js';
import { isSnapError } from '../../src/core/errors.js';
import { serializeStatement } from '../../src/core/statement.js';

const keys = useKeyPair();
const otherKeys = useKeyPair('other');
const FILES = { 'a.txt': 'alpha', 'b/c.bin': Buffer.alloc(100_000, 3), 'b/d.txt': 'delta', 'e.txt': 'epsilon', 'link': { symlink: 'a.txt' } } as const;
/** A clock 5 s ahead: files just written count as older than the seal's racy window (2 s). */
const later = () => new Date(Date.now() + 5000);
const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

async function setup() {
  const data = await makeTree({ ...FILES });
  const store = await newStorePath();
  const cacheDir = await tempDir('snap-stat-cache-');
  const key = await readPrivateKey(keys.key);
  const run = async (version: string, extra: Record<string, unknown> = {}) => {
    const reads: string[] = [];
    const r = await seal({ dir: data, as: `inc@${version}`, key, store, now: later, incremental: { statCacheDir: cacheDir }, onReuse: (p) => reads.push(p), ...extra });
    return { r, reused: reads };
  };
  const check = async (version: string) => {
    const pub = await readPublicKey(keys.pub);
    return verify({ dir: data, snapshot: await resolveRef(`inc@${version}`, store), trusted: [pub] });
  };
  const statement = async (version: string) => JSON.parse(await fsp.readFile(join(store, 'snapshots', 'inc', version, 'statement.json'), 'utf8'));
  const manifest = async (version: string) => fsp.readFile(join(store, 'snapshots', 'inc', version, 'manifest.jsonl'), 'utf8');
  return { data, store, cacheDir, run, check, statement, manifest };
}

describe('seal --incremental', () => {
  it('reads every file the first time (no stat cache yet) and records one; then reads none of the unchanged files, and says so in the statement', async () => {
    const t = await setup();
    const v1 = await t.run('v1');
    expect(v1.reused).toEqual([]);
    expect(v1.r.incremental).toMatchObject({ cache: 'absent', reused: 0 });
    expect((await t.statement('v1')).predicate.incremental).toBeUndefined();
    const v2 = await t.run('v2');
    expect(v2.reused).toEqual(['a.txt', 'b/c.bin', 'b/d.txt', 'e.txt']);
    expect(v2.r.incremental).toMatchObject({ parent: v1.r.snapshot, cache: 'used', reused: 4, reusedBytes: 100_017 });
    expect((await t.statement('v2')).predicate.incremental).toEqual({ parent: v1.r.snapshot, reused: 4 });
    expect(v2.r.merkleRoot).toBe(v1.r.merkleRoot);
    expect(await t.manifest('v2')).toBe(await t.manifest('v1'));
    expect((await t.check('v2')).ok).toBe(true);
  });

  it('reads an unchanged file again when its object in the store is not its size (planted or truncated since), and puts its bytes back', async () => {
    const t = await setup();
    await t.run('v1');
    const hex = sha('epsilon');
    const obj = join(t.store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2));
    await fsp.chmod(obj, 0o644);
    await fsp.writeFile(obj, 'eps');
    const v2 = await t.run('v2');
    expect(v2.reused).toEqual(['a.txt', 'b/c.bin', 'b/d.txt']);
    expect(v2.r.mendedObjects).toEqual([hex]);
    expect(await fsp.readFile(obj, 'utf8')).toBe('epsilon');
  });

  it('re-reads a file whose content changed even with its mtime and size restored (its ctime moved)', async () => {
    const t = await setup();
    await t.run('v1');
    const p = join(t.data, 'e.txt');
    const before = await fsp.stat(p);
    await fsp.writeFile(p, 'EPSILON');
    await fsp.utimes(p, before.atime, before.mtime);
    const v2 = await t.run('v2');
    expect(v2.reused).toEqual(['a.txt', 'b/c.bin', 'b/d.txt']);
    expect(await t.manifest('v2')).toContain(`{"path":"e.txt","sha256":"${sha('EPSILON')}","size":7}`);
    expect((await t.check('v2')).ok).toBe(true);
  });

  it('a tampered stat cache can only make seal sign the parent digest for a file, which verify then reports as modified', async () => {
    const t = await setup();
    const v1 = await t.run('v1');
    const p = join(t.data, 'b/d.txt');
    await fsp.writeFile(p, 'DELTA'); // same size, new content, new ctime
    const st = await fsp.lstat(p, { bigint: true });
    const cache = statCachePath(t.cacheDir, v1.r.snapshot);
    const text = await fsp.readFile(cache, 'utf8');
    const forged = text.replace(/\["b\/d\.txt","[0-9:]+"\]/, JSON.stringify(['b/d.txt', `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`]));
    expect(forged).not.toBe(text);
    await fsp.writeFile(cache, forged);
    const v2 = await t.run('v2');
    expect(v2.reused).toContain('b/d.txt'); // not read: the seal signed the parent's digest
    expect(await t.manifest('v2')).toContain(`{"path":"b/d.txt","sha256":"${sha('delta')}","size":5}`);
    const r = await t.check('v2');
    expect(r.ok).toBe(false);
    expect(r.problems.map((x) => `${x.kind} ${x.path}`)).toEqual(['modified b/d.txt']);
  });

  it('records the identity of the file it read, not of the one it lstat-ed: a folder swapped in and out around the read does not make the next seal sign what was read then', async () => {
    const t = await setup();
    // e.txt's folder (the dataset root) and a look-alike trade places just while the seal reads e.txt:
    // the seal reads the look-alike's e.txt, then the real folder is back, no file's ctime moved.
    const swap = `${t.data}.swap`;
    await fsp.mkdir(swap);
    onTestFinished(() => fsp.rm(swap, { recursive: true, force: true }));
    await fsp.writeFile(join(swap, 'e.txt'), 'EPSILON');
    process.env.SNAP_TEST_REPLACE_BEFORE_OPEN = `swap-folder:${join(t.data, 'e.txt')}`;
    try {
      // One hashing worker: with two, the other one could read a.txt while the folder is swapped
      // out (FILE_CHANGED, "a.txt was removed": seen once in a loaded full run).
      await t.run('v1', { jobs: 1 });
    } finally {
      delete process.env.SNAP_TEST_REPLACE_BEFORE_OPEN;
    }
    expect(await t.manifest('v1')).toContain(`{"path":"e.txt","sha256":"${sha('EPSILON')}","size":7}`); // what was read then
    expect(await fsp.readFile(join(t.data, 'e.txt'), 'utf8')).toBe('epsilon'); // what is there, unchanged since before v1
    const v2 = await t.run('v2');
    expect(v2.reused).toEqual(['a.txt', 'b/c.bin', 'b/d.txt']);
    expect(await t.manifest('v2')).toContain(`{"path":"e.txt","sha256":"${sha('epsilon')}","size":7}`);
    expect((await t.check('v2')).ok).toBe(true);
  });

  it("does not use a cache of another machine or folder, nor a damaged one, and still seals what is on disk", async () => {
    const t = await setup();
    const v1 = await t.run('v1');
    const cache = statCachePath(t.cacheDir, v1.r.snapshot);
    const text = await fsp.readFile(cache, 'utf8');
    await fsp.writeFile(cache, text.replace(/"host":"[^"]*"/, '"host":"elsewhere"'));
    const v2 = await t.run('v2');
    expect(v2.reused).toEqual([]);
    expect(v2.r.incremental?.cache).toBe('other-machine');
    expect((await t.statement('v2')).predicate.incremental).toBeUndefined();

    const cache2 = statCachePath(t.cacheDir, v2.r.snapshot);
    const lines = (await fsp.readFile(cache2, 'utf8')).split('\n');
    lines.splice(2, 0, '{"not":"an entry"}');
    await fsp.writeFile(cache2, lines.join('\n'));
    const v3 = await t.run('v3');
    expect(v3.reused).toEqual(['a.txt']); // the line before the damage only
    expect(v3.r.incremental).toMatchObject({ cache: 'used', reused: 1, note: expect.stringContaining('not used past a point') });
    expect((await t.check('v3')).ok).toBe(true);

    await fsp.writeFile(statCachePath(t.cacheDir, v3.r.snapshot), 'garbage\n');
    const v4 = await t.run('v4');
    expect(v4.r.incremental?.cache).toBe('malformed');
    expect(v4.reused).toEqual([]);
    expect((await t.check('v4')).ok).toBe(true);
  });

  it('does not wait on a FIFO (or read a folder) put where the stat cache should be: it reads every file, as with a damaged cache', async () => {
    const t = await setup();
    const v1 = await t.run('v1');
    const cache = statCachePath(t.cacheDir, v1.r.snapshot);
    await fsp.rm(cache);
    execFileSync('mkfifo', [cache]);
    const v2 = await t.run('v2');
    expect(v2.reused).toEqual([]);
    expect(v2.r.incremental).toMatchObject({ cache: 'malformed', reused: 0 });
    expect((await t.check('v2')).ok).toBe(true);
    const cache2 = statCachePath(t.cacheDir, v2.r.snapshot);
    await fsp.rm(cache2);
    await fsp.mkdir(cache2);
    const v3 = await t.run('v3');
    expect(v3.reused).toEqual([]);
    expect(v3.r.incremental).toMatchObject({ cache: 'malformed', reused: 0 });
  }, 20_000);

  it('a file dated before 1970 (negative mtime, which its owner may set) is read each time without stopping the use of the cache for the files after it', async () => {
    const t = await setup();
    await fsp.utimes(join(t.data, 'a.txt'), new Date('1960-01-01T00:00:00Z'), new Date('1960-01-01T00:00:00Z'));
    await t.run('v1');
    const v2 = await t.run('v2');
    expect(v2.reused).toEqual(['b/c.bin', 'b/d.txt', 'e.txt']);
    expect(v2.r.incremental).toMatchObject({ cache: 'used', reused: 3 });
    expect(v2.r.incremental?.note).toBeUndefined();
  });

  it('does not use a stat cache that other users may write (a shared state folder): it reads every file', async () => {
    const t = await setup();
    const v1 = await t.run('v1');
    await fsp.chmod(statCachePath(t.cacheDir, v1.r.snapshot), 0o666);
    const v2 = await t.run('v2');
    expect(v2.reused).toEqual([]);
    expect(v2.r.incremental).toMatchObject({ cache: 'malformed', reused: 0, note: expect.stringContaining('every user may write in it (mode 666)') });
    expect((await fsp.stat(statCachePath(t.cacheDir, v2.r.snapshot))).mode & 0o777).toBe(0o600);
    const v3 = await t.run('v3');
    expect(v3.reused).toEqual(['a.txt', 'b/c.bin', 'b/d.txt', 'e.txt']);
    // Owned by another user (only root can give a file away, so only then is this part run).
    if (process.getuid?.() === 0) {
      await fsp.chown(statCachePath(t.cacheDir, v3.r.snapshot), 65534, 65534);
      const v4 = await t.run('v4');
      expect(v4.reused).toEqual([]);
      expect(v4.r.incremental).toMatchObject({ cache: 'malformed', note: expect.stringContaining('another user') });
    }
  });

  it('does not follow a symbolic link, nor read a second hard link, put where the stat cache should be (in a state folder another user may write, a link to a file of this user whose bytes that user chose): it reads every file', async () => {
    const t = await setup();
    const v1 = await t.run('v1');
    const cache = statCachePath(t.cacheDir, v1.r.snapshot);
    const elsewhere = join(await tempDir('snap-elsewhere-'), 'copied.jsonl');
    await fsp.rename(cache, elsewhere); // this user's file, mode 0600: only the link is the other user's
    await fsp.symlink(elsewhere, cache);
    const v2 = await t.run('v2');
    expect(v2.reused).toEqual([]);
    expect(v2.r.incremental).toMatchObject({ cache: 'malformed', reused: 0, note: expect.stringContaining('symbolic link') });
    expect((await t.check('v2')).ok).toBe(true);
    const cache2 = statCachePath(t.cacheDir, v2.r.snapshot);
    const elsewhere2 = join(await tempDir('snap-elsewhere-'), 'copied.jsonl');
    await fsp.rename(cache2, elsewhere2);
    await fsp.link(elsewhere2, cache2);
    const v3 = await t.run('v3');
    expect(v3.reused).toEqual([]);
    expect(v3.r.incremental).toMatchObject({ cache: 'malformed', reused: 0, note: expect.stringContaining('hard link') });
  });

  it("takes no digest from a parent its signature does not bind to the sealing key: a parent forged in the store (manifest and statement edited, signature left stale) and a stat cache naming it make every file be read, not the poisoned digest signed", async () => {
    const t = await setup();
    await t.run('v1');
    const dir = join(t.store, 'snapshots', 'inc', 'v1');
    // The store's attacker: a.txt's digest becomes that of a poisoned object they plant; the
    // statement and the envelope's payload follow (the signature no longer verifies).
    const poison = 'EVIL!';
    const h = sha(poison);
    await fsp.mkdir(join(t.store, 'objects', 'sha256', h.slice(0, 2)), { recursive: true });
    await fsp.writeFile(join(t.store, 'objects', 'sha256', h.slice(0, 2), h.slice(2)), poison);
    for (const f of ['manifest.jsonl', 'statement.json', 'envelope.json']) await fsp.chmod(join(dir, f), 0o644);
    const manifest = (await fsp.readFile(join(dir, 'manifest.jsonl'), 'utf8')).replace(sha('alpha'), h);
    await fsp.writeFile(join(dir, 'manifest.jsonl'), manifest);
    const st = JSON.parse(await fsp.readFile(join(dir, 'statement.json'), 'utf8'));
    st.predicate.manifestSha256 = sha(manifest);
    const bytes = Buffer.from(serializeStatement(st));
    await fsp.writeFile(join(dir, 'statement.json'), bytes);
    const env = JSON.parse(await fsp.readFile(join(dir, 'envelope.json'), 'utf8'));
    env.payload = bytes.toString('base64');
    await fsp.writeFile(join(dir, 'envelope.json'), JSON.stringify(env));
    // Whoever could write the stat cache: one naming the forged parent and the files as they are.
    const forgedId = `sha256:${sha(bytes)}`;
    const real = JSON.parse((await fsp.readFile(join(t.cacheDir, (await fsp.readdir(t.cacheDir)).find((n) => n.endsWith('.jsonl')) as string), 'utf8')).split('\n')[0] as string);
    const lines = [JSON.stringify({ ...real, snapshot: forgedId })];
    for (const p of ['a.txt', 'b/c.bin', 'b/d.txt', 'e.txt']) {
      const s = await fsp.lstat(join(t.data, p), { bigint: true });
      lines.push(JSON.stringify([p, `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`]));
    }
    await fsp.writeFile(statCachePath(t.cacheDir, forgedId), lines.join('\n') + '\n', { mode: 0o600 });
    const v2 = await t.run('v2');
    expect(v2.r.parent).toBe(forgedId);
    expect(v2.reused).toEqual([]);
    expect(v2.r.incremental).toMatchObject({ cache: 'unsigned-parent', reused: 0 });
    expect(await t.manifest('v2')).toContain(`{"path":"a.txt","sha256":"${sha('alpha')}","size":5}`);
    expect((await t.check('v2')).ok).toBe(true);
  });

  it('takes no digest from a parent signed by another key than the sealing keys, and takes them when one of the sealing keys signed it', async () => {
    const t = await setup();
    const other = await readPrivateKey(otherKeys.key);
    const key = await readPrivateKey(keys.key);
    await t.run('v1', { key: other });
    const v2 = await t.run('v2');
    expect(v2.reused).toEqual([]);
    expect(v2.r.incremental).toMatchObject({ cache: 'unsigned-parent', reused: 0 });
    const v3 = await t.run('v3', { key: other, coSigners: [key] });
    expect(v3.reused).toEqual(['a.txt', 'b/c.bin', 'b/d.txt', 'e.txt']);
  });

  it("refuses to sign when digests were taken from a parent manifest that no longer matches its statement", async () => {
    const t = await setup();
    await t.run('v1');
    const m = join(t.store, 'snapshots', 'inc', 'v1', 'manifest.jsonl');
    await fsp.chmod(m, 0o644);
    const text = await fsp.readFile(m, 'utf8');
    await fsp.writeFile(m, text.replace(sha('alpha'), sha('ALPHA')));
    let code = '';
    try {
      await t.run('v2');
    } catch (e) {
      if (isSnapError(e)) code = e.code;
    }
    expect(code).toBe('INTEGRITY_FAILURE');
    await expect(fsp.access(join(t.store, 'snapshots', 'inc', 'v2'))).rejects.toThrow();
  });

  it('does not record files changed within 2 s of the seal (timestamp granularity), so the next seal reads them', async () => {
    const t = await setup();
    const key = await readPrivateKey(keys.key);
    const v1 = await seal({ dir: t.data, as: 'inc@v1', key, store: t.store, incremental: { statCacheDir: t.cacheDir } }); // the real clock
    const reads: string[] = [];
    await seal({ dir: t.data, as: 'inc@v2', key, store: t.store, now: later, incremental: { statCacheDir: t.cacheDir }, onReuse: (p) => reads.push(p) });
    expect(v1.incremental?.statCache).toBeDefined();
    expect(reads).toEqual([]);
  });

  it('takes no digest for a file whose object is gone from the store: that file is read', async () => {
    const t = await setup();
    await t.run('v1');
    const h = sha('epsilon');
    await fsp.rm(join(t.store, 'objects', 'sha256', h.slice(0, 2), h.slice(2)));
    const v2 = await t.run('v2');
    expect(v2.reused).toEqual(['a.txt', 'b/c.bin', 'b/d.txt']);
    expect(v2.r.incremental?.reused).toBe(3);
  });
});

describe('seal --incremental keeps the checks of every seal', () => {
  it('a file that changes while it is read stops the seal (FILE_CHANGED), a FIFO stops it (FILE_UNSUPPORTED_TYPE), a symlink is recorded', async () => {
    const t = await setup();
    await t.run('v1');
    const victim = join(t.data, 'e.txt');
    await fsp.writeFile(victim, 'EPSILON'); // changed: read again, and grows while it is read
    process.env.SNAP_TEST_MUTATE_DURING_READ = victim;
    let code = '';
    try {
      await t.run('v2');
    } catch (e) {
      if (isSnapError(e)) code = e.code;
    } finally {
      delete process.env.SNAP_TEST_MUTATE_DURING_READ;
    }
    expect(code).toBe('FILE_CHANGED');
    execFileSync('mkfifo', [join(t.data, 'pipe')]);
    code = '';
    try {
      await t.run('v3');
    } catch (e) {
      if (isSnapError(e)) code = e.code;
    }
    expect(code).toBe('FILE_UNSUPPORTED_TYPE');
    await fsp.rm(join(t.data, 'pipe'));
    await t.run('v4');
    expect(await t.manifest('v4')).toContain('{"path":"link","target":"a.txt","type":"symlink"}');
    expect((await t.check('v4')).ok).toBe(true);
  });
});

describe('snap seal --incremental (CLI)', () => {
  it('prints what it reused with --json, and verify of the new snapshot passes as usual', async () => {
    const data = await makeTree({ 'a.txt': 'alpha', 'b.txt': 'beta' });
    const store = await newStorePath();
    await new Promise((r) => setTimeout(r, 2100)); // older than the racy window of the first seal
    const s1 = await snapJson(['seal', data, '--as', 'cli@v1', '--key', keys.key, '--store', store, '--incremental']);
    expect(s1.code).toBe(0);
    expect(s1.json.incremental).toMatchObject({ cache: 'absent', reused: 0 });
    const s2 = await snapJson(['seal', data, '--as', 'cli@v2', '--key', keys.key, '--store', store, '--incremental']);
    expect(s2.code).toBe(0);
    expect(s2.json.incremental).toMatchObject({ parent: s1.json.snapshot, cache: 'used', reused: 2 });
    const text = await snap(['seal', data, '--as', 'cli@v3', '--key', keys.key, '--store', store, '--incremental']);
    expect(text.stdout).toContain('2 files');
    const v = await snapJson(['verify', data, '--against', 'cli@v2', '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(0);
  });

  it('snap show says a snapshot was sealed incrementally and how many of its files were not read, so a reviewer can see it', async () => {
    const t = await setup();
    const v1 = await t.run('v1');
    await t.run('v2');
    const full = await snap(['show', 'inc@v1', '--store', t.store]);
    expect(full.code).toBe(0);
    expect(full.stdout).not.toContain('incremental');
    const inc = await snap(['show', 'inc@v2', '--store', t.store]);
    expect(inc.code).toBe(0);
    expect(inc.stdout).toContain(`  incremental      4 of 5 files not read: their digests were taken from the parent ${v1.r.snapshot}`);
  });

  it('refuses --incremental with --out: exit 2', async () => {
    const data = await makeTree({ 'a.txt': 'alpha' });
    const r = await snap(['seal', data, '--as', 'x@v1', '--key', keys.key, '--out', join(data, '..', 'x.snap.tar'), '--incremental']);
    expect(r.code).toBe(2);
  });
});

describe('predicate.incremental in the statement', () => {
  const base = { dataset: 'd', version: 'v2', merkleRoot: 'a'.repeat(64), manifestSha256: 'b'.repeat(64), fileCount: 3, totalBytes: 10, createdAt: '2026-11-28T10:00:00Z', parent: `sha256:${'c'.repeat(64)}`, tool: { name: 'snap', version: '0' } };
  const codeOf = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return isSnapError(e) ? e.code : 'other';
    }
    return 'none';
  };
  it('is {parent, reused} with parent equal to predicate.parent and reused at most fileCount', async () => {
    const { buildStatement } = await import('../../src/core/statement.js');
    expect(codeOf(() => buildStatement({ ...base, incremental: { parent: base.parent, reused: 3 } }))).toBe('none');
    expect(codeOf(() => buildStatement({ ...base, incremental: { parent: `sha256:${'d'.repeat(64)}`, reused: 1 } }))).toBe('STATEMENT_INVALID');
    expect(codeOf(() => buildStatement({ ...base, incremental: { parent: base.parent, reused: 4 } }))).toBe('STATEMENT_INVALID');
    expect(codeOf(() => buildStatement({ ...base, incremental: { parent: base.parent, reused: -1 } }))).toBe('STATEMENT_INVALID');
    expect(codeOf(() => buildStatement({ ...base, incremental: { parent: base.parent, reused: 1, extra: 1 } as never }))).toBe('STATEMENT_INVALID');
    const { parent: _p, ...noParent } = base;
    expect(codeOf(() => buildStatement({ ...noParent, incremental: { parent: base.parent, reused: 1 } }))).toBe('STATEMENT_INVALID');
  });
});

/**
 * The folders above the stat cache (docs/FORMAT.md §22.2), as the trusted state's
 * (test/trust/state-attacks.test.ts): another user who can rename entries in one of them can put a
 * state folder of theirs in place of this user's, whose `stat-cache` leads where they choose. The
 * rule is io/shared-folders.ts (restore's TARGET_UNSAFE): a folder another user owns (root
 * excepted), or that every user — or a group other than this process's own — may write in, and is
 * not sticky. Such a cache is neither read nor written: the seal reads every file, with a note.
 */
describe('seal --incremental under a folder another user can change', () => {
  const isRoot = process.getuid?.() === 0;
  /** The other user: "nobody" when the tests run as root; else this same user (the folders are what count). */
  const OTHER = 65534;
  const later5s = () => new Promise((r) => setTimeout(r, 2100)); // older than the racy window of the first seal

  /** Another user's process runs `script` (node, CommonJS; `fs` is there): what it printed. */
  function asOther(script: string): string {
    return execFileSync(process.execPath, ['-e', `const fs = require('fs'); ${script}`], { encoding: 'utf8', ...(isRoot ? { uid: OTHER, gid: OTHER } : {}) }).trim();
  }

  /** `work/shared/state` (work 0755, shared 0755, then `mode`) holding the stat cache of `inc@v1`, sealed from `data`. */
  async function sealedOnce(mode: number) {
    const work = await tempDir('snap-stat-cache-above-');
    await fsp.chmod(work, 0o755);
    const shared = join(work, 'shared');
    await fsp.mkdir(shared, { mode: 0o755 });
    const state = join(shared, 'state');
    const data = await makeTree({ 'a.txt': 'alpha', 'b.txt': 'beta' });
    const store = join(work, 'store');
    const seal = (version: string) => snapJson(['seal', data, '--as', `inc@${version}`, '--key', keys.key, '--store', store, '--incremental'], { env: { SNAP_STATE_DIR: state } });
    await later5s();
    const v1 = await seal('v1');
    expect(v1.code, v1.stderr).toBe(0);
    expect(await fsp.readdir(join(state, 'stat-cache'))).toEqual([`${v1.json.snapshot.slice(7)}.jsonl`]);
    await fsp.chmod(shared, mode);
    return { work, shared, state, data, store, seal, v1 };
  }

  it('another user puts a state folder of theirs in place, its stat-cache a link to a folder of this user\'s: seal neither writes a cache there nor removes that folder\'s files, reads every file and says why', async () => {
    const t = await sealedOnce(0o777);
    // A folder of this user's whose files happen to be named as caches are (content-addressed shards).
    const keep = join(t.work, 'shards');
    await fsp.mkdir(keep);
    const shards = Array.from({ length: 20 }, (_, i) => `${sha(String(i))}.jsonl`).sort();
    for (const n of shards) await fsp.writeFile(join(keep, n), '{"x":1}\n');
    expect(asOther(`fs.renameSync(${JSON.stringify(t.state)}, ${JSON.stringify(t.state + '.moved')}); fs.mkdirSync(${JSON.stringify(t.state)}); fs.symlinkSync(${JSON.stringify(keep)}, ${JSON.stringify(join(t.state, 'stat-cache'))}); console.log('swapped')`)).toBe('swapped');
    const v2 = await t.seal('v2');
    expect(v2.code, v2.stderr).toBe(0);
    expect(v2.json.incremental).toMatchObject({ parent: t.v1.json.snapshot, cache: 'unsafe', reused: 0 });
    expect(v2.json.incremental.statCache).toBeUndefined();
    // The nearest such folder is named: the other user's state folder (as root), else the shared one.
    expect(v2.json.incremental.note).toMatch(isRoot ? /the folder \S+shared\/state above the stat cache \S+ is not safe from other users \(it belongs to another user \(uid 65534\)\)/ : /the folder \S+shared above the stat cache \S+ is not safe from other users \(every user may write in it/);
    expect(v2.json.incremental.note).toMatch(/so none was read or written and every file was read; keep the state in a folder of your own/);
    expect((await fsp.readdir(keep)).sort()).toEqual(shards);
    const text = await snap(['seal', t.data, '--as', 'inc@v3', '--key', keys.key, '--store', t.store, '--incremental'], { env: { SNAP_STATE_DIR: t.state } });
    expect(text.stdout).toMatch(/incremental {2}the stat cache is under a folder another user could change: it was neither read nor written, every file was read/);
    expect(text.stdout).toMatch(/note {9}the folder \S+shared(\/state)? above the stat cache/);
  });

  it("another user moves into their state folder a file of this user's whose bytes they chose (a cache naming the parent, and a changed file as it is now): seal does not take the parent's digest for that file", async () => {
    const t = await sealedOnce(0o777);
    await fsp.writeFile(join(t.data, 'a.txt'), 'ALPHA'); // changed since v1, by this user
    const cacheOf = (dir: string) => join(dir, 'stat-cache', `${t.v1.json.snapshot.slice(7)}.jsonl`);
    const header = (await fsp.readFile(cacheOf(t.state), 'utf8')).split('\n')[0] as string; // host, boot id, folder: no secret
    const s = await fsp.lstat(join(t.data, 'a.txt'), { bigint: true });
    // This user's file in the shared folder, with the other user's bytes (a download, say).
    const planted = join(t.shared, 'download.jsonl');
    await fsp.writeFile(planted, `${header}\n${JSON.stringify(['a.txt', `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`])}\n`, { mode: 0o600 });
    expect(asOther(`fs.renameSync(${JSON.stringify(t.state)}, ${JSON.stringify(t.state + '.moved')}); fs.mkdirSync(${JSON.stringify(join(t.state, 'stat-cache'))}, { recursive: true }); fs.renameSync(${JSON.stringify(planted)}, ${JSON.stringify(cacheOf(t.state))}); console.log('swapped')`)).toBe('swapped');
    const v2 = await t.seal('v2');
    expect(v2.code, v2.stderr).toBe(0);
    expect(v2.json.incremental).toMatchObject({ cache: 'unsafe', reused: 0 });
    const v = await snapJson(['verify', t.data, '--against', 'inc@v2', '--pubkey', keys.pub, '--store', t.store]);
    expect(v.code, v.stdout).toBe(0);
  });

  it('under a sticky folder every user may write in (as /tmp): the cache is used, and another user cannot move the state folder away', async () => {
    const t = await sealedOnce(0o1777);
    if (isRoot) expect(asOther(`try { fs.renameSync(${JSON.stringify(t.state)}, ${JSON.stringify(t.state + '.moved')}); console.log('moved'); } catch (e) { console.log(e.code); }`)).toBe('EPERM');
    const v2 = await t.seal('v2');
    expect(v2.code, v2.stderr).toBe(0);
    expect(v2.json.incremental).toMatchObject({ cache: 'used', reused: 2 });
    // The stat-cache folder itself is held to the same rule.
    await fsp.chmod(join(t.state, 'stat-cache'), 0o777);
    const v3 = await t.seal('v3');
    expect(v3.json.incremental).toMatchObject({ cache: 'unsafe', reused: 0, note: expect.stringMatching(/^the stat-cache folder \S+\/state\/stat-cache is not safe from other users \(every user may write in it/) });
  });
});
