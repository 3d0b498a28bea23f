/**
 * What stopped or killed commands leave in a store (a dead process's lock, bytes in STORE/tmp, a
 * stale log.lock, an old takeover guard, a partial write): `fsck` reports each as a warning with
 * the command that clears it and still exits 0; `fsck --clean` removes them under the store lock
 * and logs what it removed. A lock held by a running process, or from another host, is never
 * removed.
 */
import { promises as fsp } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { snap, snapJson, useKeyPair } from '../helpers/tree.js';
import { filesUnder, newStorePath, sealTree } from '../helpers/store.js';
import { schemaErrors } from '../helpers/json-schemas.js';

const keys = useKeyPair();

const TREE = { 'a.txt': 'alpha\n', 'b/b.txt': 'beta\n' };

/** The pid of a process that has exited (and so is not running). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore' });
  return r.pid as number;
}

/** A lock file naming `pid` on this host. */
function lockText(pid: number, host = hostname()): string {
  return JSON.stringify({ pid, host, since: '2026-01-01T00:00:00.000Z' });
}

/** Set a file's times to a minute ago (older than any guard's grace period). */
async function age(path: string): Promise<void> {
  const t = new Date(Date.now() - 60_000);
  await fsp.utimes(path, t, t);
}

/** Plant what a killed seal and a killed log append leave: a dead holder's locks, 3 MiB in tmp, a partial head write, a guard. */
async function plantLeftovers(store: string): Promise<void> {
  await fsp.writeFile(join(store, 'lock'), lockText(deadPid()));
  await fsp.writeFile(join(store, 'log.lock'), lockText(deadPid()));
  await fsp.mkdir(join(store, 'tmp', 'pending-0'), { recursive: true });
  await fsp.writeFile(join(store, 'tmp', 'pending-0', 'a'.repeat(64)), Buffer.alloc(2 << 20, 7));
  await fsp.writeFile(join(store, 'tmp', 'obj-1-0-x-0'), Buffer.alloc(1 << 20, 8));
  await fsp.writeFile(join(store, '.log.head.0123456789ab.tmp'), '{"seq":1');
  await age(join(store, '.log.head.0123456789ab.tmp'));
  await fsp.writeFile(join(store, 'lock.takeover'), '');
  await age(join(store, 'lock.takeover'));
}

describe('snap fsck and what stopped commands leave behind', () => {
  it('reports a stale lock, tmp bytes, a stale log.lock, a guard and a partial write as warnings, exits 0, and names the command that clears them', async () => {
    const s = await sealTree(TREE, keys);
    await plantLeftovers(s.store);
    const r = await snapJson(['fsck', '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.ok).toBe(true);
    expect(r.json.counts.leftovers).toBe(5);
    const byKind = Object.fromEntries(r.json.leftovers.map((l: { kind: string }) => [l.kind, l]));
    expect(Object.keys(byKind).sort()).toEqual(['lock-guard', 'partial-write', 'stale-lock', 'stale-log-lock', 'tmp']);
    expect(byKind.tmp).toMatchObject({ path: 'tmp', bytes: 3 << 20, entries: 3, removable: true });
    expect(byKind['stale-lock']).toMatchObject({ path: 'lock', removable: true });
    expect(byKind['partial-write']).toMatchObject({ path: '.log.head.0123456789ab.tmp' });
    expect(r.json.clean).toBe(`snap fsck --clean --store ${s.store}`);
    // The human report says so too, and still OK.
    const h = await snap(['fsck', '--store', s.store]);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^OK/);
    expect(h.stdout).toContain('warning');
    expect(h.stdout).toContain(`snap fsck --clean --store ${s.store}`);
  });

  it('--clean removes them all under the store lock, logs what it removed, and leaves a store fsck finds clean', async () => {
    const s = await sealTree(TREE, keys);
    await plantLeftovers(s.store);
    const r = await snapJson(['fsck', '--clean', '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.cleaned.removed.map((l: { kind: string }) => l.kind).sort()).toEqual(['lock-guard', 'partial-write', 'stale-lock', 'stale-log-lock', 'tmp']);
    expect(r.json.cleaned.kept).toEqual([]);
    expect(r.json.leftovers).toEqual([]);
    expect(r.json.clean).toBeUndefined();
    for (const f of ['lock', 'log.lock', 'lock.takeover', '.log.head.0123456789ab.tmp']) expect(await fsp.access(join(s.store, f)).then(() => f, () => 'gone')).toBe('gone');
    expect(await filesUnder(join(s.store, 'tmp'))).toEqual([]);
    // Logged: the fsck line names what was removed.
    const log = await snapJson(['log', '--store', s.store]);
    const last = log.json.entries[log.json.entries.length - 1];
    expect(last).toMatchObject({ command: 'fsck', outcome: 'ok' });
    expect(last.details.cleaned.map((c: { kind: string }) => c.kind).sort()).toEqual(['lock-guard', 'partial-write', 'stale-lock', 'stale-log-lock', 'tmp']);
    // And the log still verifies.
    expect((await snap(['log', '--verify', '--store', s.store])).code).toBe(0);
  });

  it('counts in tmp the files and folders whose names are not UTF-8 (with their bytes), and --clean says it removed them, as it does', async () => {
    const s = await sealTree(TREE, keys);
    const tmp = join(s.store, 'tmp');
    const at = (...names: string[]) => Buffer.from([tmp, ...names].join('/'), 'latin1');
    await fsp.mkdir(at('d\xfd'), { recursive: true });
    await fsp.writeFile(at('d\xfd', 'z'), Buffer.alloc(1000, 1));
    await fsp.writeFile(at('x\xff'), Buffer.alloc(24, 2));
    const r = await snapJson(['fsck', '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.leftovers).toEqual([expect.objectContaining({ kind: 'tmp', path: 'tmp', bytes: 1024, entries: 3, removable: true })]);
    const c = await snapJson(['fsck', '--clean', '--store', s.store]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.json.cleaned.removed).toEqual([expect.objectContaining({ kind: 'tmp', bytes: 1024, entries: 3 })]);
    expect(await fsp.readdir(tmp)).toEqual([]);
  });

  it('reports a partial write in the store root whose name is not UTF-8 (with pathHex and \\xff shown), and --clean removes it, logs it and says so', async () => {
    const s = await sealTree(TREE, keys);
    const name = Buffer.from('.log.head\xff.0123456789ab.tmp', 'latin1');
    const onDisk = Buffer.concat([Buffer.from(`${s.store}/`), name]);
    await fsp.writeFile(onDisk, '{"seq":1');
    const t = new Date(Date.now() - 60_000);
    await fsp.utimes(onDisk, t, t);
    const path = '.log.head\udcff.0123456789ab.tmp';
    const leftover = { kind: 'partial-write', path, pathHex: name.toString('hex'), bytes: 8, removable: true, message: `${path} is the temporary file of a write that was stopped` };
    const r = await snapJson(['fsck', '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.leftovers).toEqual([leftover]);
    expect(r.json.counts.leftovers).toBe(1);
    expect(schemaErrors('fsck', r.json)).toBe('');
    expect(r.json.clean).toBeDefined();
    const human = await snap(['fsck', '--store', s.store]);
    expect(human.stdout).toContain('warning .log.head\\xff.0123456789ab.tmp is the temporary file of a write that was stopped');
    const c = await snapJson(['fsck', '--clean', '--store', s.store]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.json.cleaned).toEqual({ removed: [leftover], kept: [] });
    expect(schemaErrors('fsck', c.json)).toBe('');
    expect(c.json.leftovers).toEqual([]);
    await expect(fsp.access(onDisk)).rejects.toThrow();
    expect(c.json.log.written, c.stderr).toBe(true);
    // The audit line is canonical JSON, which holds no lone surrogate: the name there is lossy, U+FFFD for the byte.
    const log = await snapJson(['log', '--store', s.store]);
    expect(log.json.entries[log.json.entries.length - 1].details.cleaned).toEqual([{ kind: 'partial-write', path: '.log.head\ufffd.0123456789ab.tmp', bytes: 8 }]);
    expect((await snap(['log', '--verify', '--store', s.store])).code).toBe(0);
  });

  it('lists a file in a snapshot folder whose name is a partial write\'s but for a byte that is not UTF-8 as the stray it is (no snap writes it), with its bytes', async () => {
    const s = await sealTree(TREE, keys);
    const name = Buffer.from('.envelope.json\xff.0123456789ab.tmp', 'latin1');
    const onDisk = Buffer.concat([Buffer.from(`${s.dir}/`), name]);
    await fsp.writeFile(onDisk, '{"payload":');
    const t = new Date(Date.now() - 60_000);
    await fsp.utimes(onDisk, t, t);
    const rel = `${s.dir.slice(s.store.length + 1)}/.envelope.json\udcff.0123456789ab.tmp`;
    const r = await snapJson(['fsck', '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.leftovers).toEqual([]);
    expect(r.json.strays).toEqual([rel]);
    expect(r.json.straysNotUtf8).toEqual([{ path: rel, pathHex: Buffer.concat([Buffer.from(`${s.dir.slice(s.store.length + 1)}/`), name]).toString('hex') }]);
  });

  it("counts a co-signing's partial envelope write in a snapshot folder as a leftover, not a stray, and --clean removes it once old", async () => {
    const s = await sealTree(TREE, keys);
    const old = join(s.dir, '.envelope.json.0123456789ab.tmp');
    const young = join(s.dir, '.envelope.json.ba9876543210.tmp');
    await fsp.writeFile(old, '{"payload":');
    await age(old);
    await fsp.writeFile(young, '{"payload":'); // a sign that may still run: neither reported nor removed
    const f = await snapJson(['fsck', '--store', s.store]);
    expect(f.code, f.stderr).toBe(0);
    const rel = (p: string) => p.slice(s.store.length + 1);
    expect(f.json.leftovers).toEqual([expect.objectContaining({ kind: 'partial-write', path: rel(old), removable: true })]);
    expect(f.json.strays).toEqual([]);
    const c = await snapJson(['fsck', '--clean', '--store', s.store]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.json.cleaned.removed).toEqual([expect.objectContaining({ kind: 'partial-write', path: rel(old) })]);
    await expect(fsp.access(old)).rejects.toThrow();
    await fsp.access(young);
    // Anything else in a snapshot folder is still a stray.
    await fsp.writeFile(join(s.dir, 'notes.txt'), 'x');
    expect((await snapJson(['fsck', '--store', s.store])).json.strays).toEqual([rel(join(s.dir, 'notes.txt'))]);
  });

  it("counts a killed revoke's or log checkpoint's partial write as a leftover, and --clean removes it once old", async () => {
    const s = await sealTree(TREE, keys);
    const revocations = join(s.store, 'revocations', s.snapshot.replace(/^sha256:/, ''));
    const checkpoints = join(s.store, 'log.checkpoints');
    await fsp.mkdir(revocations, { recursive: true });
    await fsp.mkdir(checkpoints, { recursive: true });
    const oldRevocation = join(revocations, `.${'c'.repeat(64)}.json.0123456789ab.tmp`);
    const oldCheckpoint = join(checkpoints, '.0000000000000002.checkpoint.0123456789ab.tmp');
    const young = join(checkpoints, '.0000000000000003.checkpoint.ba9876543210.tmp'); // may still be written
    for (const p of [oldRevocation, oldCheckpoint, young]) await fsp.writeFile(p, '{"payload":');
    await age(oldRevocation);
    await age(oldCheckpoint);
    const rel = (p: string) => p.slice(s.store.length + 1);
    const f = await snapJson(['fsck', '--store', s.store]);
    expect(f.code, f.stderr).toBe(0);
    expect(f.json.leftovers).toEqual([
      expect.objectContaining({ kind: 'partial-write', path: rel(oldCheckpoint), removable: true }),
      expect.objectContaining({ kind: 'partial-write', path: rel(oldRevocation), removable: true }),
    ]);
    const c = await snapJson(['fsck', '--clean', '--store', s.store]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.json.cleaned.removed.map((l: { path: string }) => l.path).sort()).toEqual([rel(oldCheckpoint), rel(oldRevocation)]);
    await expect(fsp.access(oldRevocation)).rejects.toThrow();
    await expect(fsp.access(oldCheckpoint)).rejects.toThrow();
    await fsp.access(young);
  });

  it('--clean on a clean store removes nothing and exits 0', async () => {
    const s = await sealTree(TREE, keys);
    const r = await snapJson(['fsck', '--clean', '--store', s.store]);
    expect(r.code).toBe(0);
    expect(r.json.cleaned).toEqual({ removed: [], kept: [] });
  });

  it('leaves the lock of a running process and its tmp files alone: no warning', async () => {
    const s = await sealTree(TREE, keys);
    await fsp.writeFile(join(s.store, 'lock'), lockText(process.pid)); // this test process runs
    await fsp.writeFile(join(s.store, 'tmp', 'in-use'), 'x');
    const r = await snapJson(['fsck', '--store', s.store]);
    expect(r.code).toBe(0);
    expect(r.json.leftovers).toEqual([]);
  });

  it('reports a lock held from another host without offering to remove it', async () => {
    const s = await sealTree(TREE, keys);
    await fsp.writeFile(join(s.store, 'lock'), lockText(12345, 'some-other-host.invalid'));
    const r = await snapJson(['fsck', '--store', s.store]);
    expect(r.code).toBe(0);
    expect(r.json.leftovers).toEqual([expect.objectContaining({ kind: 'foreign-lock', path: 'lock', removable: false })]);
    expect(r.json.clean).toBeUndefined();
  });

  it('reports a folder or a link to nothing planted as the lock or the log\'s lock, which no snap removes, with how to remove it (fsck said nothing, while every writer was refused)', async () => {
    const s = await sealTree(TREE, keys);
    await fsp.mkdir(join(s.store, 'lock'));
    await fsp.symlink('nowhere', join(s.store, 'log.lock'));
    const r = await snapJson(['fsck', '--store', s.store]);
    expect(r.code).toBe(0);
    expect(r.json.leftovers).toEqual([
      expect.objectContaining({ kind: 'foreign-lock', path: 'lock', removable: false, message: expect.stringMatching(/^lock is a folder, not a lock file snap writes: no snap takes it over; remove it \(rm -r .+\/lock\) once you know what put it there$/) }),
      expect.objectContaining({ kind: 'foreign-lock', path: 'log.lock', removable: false, message: expect.stringMatching(/^log.lock is a symbolic link to nothing, not a lock file snap writes: no snap takes it over; remove it \(rm .+\/log.lock\) once you know what put it there$/) }),
    ]);
    const human = await snap(['fsck', '--store', s.store]);
    expect(human.stdout).toContain('lock is a folder, not a lock file snap writes');
  });

  it('treats an old lock that names no holder (a writer killed between making and writing it) as stale: fsck warns, and the next seal takes it over', async () => {
    const s = await sealTree(TREE, keys);
    await fsp.writeFile(join(s.store, 'lock'), '');
    await age(join(s.store, 'lock'));
    const r = await snapJson(['fsck', '--store', s.store]);
    expect(r.code).toBe(0);
    expect(r.json.leftovers).toEqual([expect.objectContaining({ kind: 'stale-lock' })]);
    const again = await snapJson(['seal', s.data, '--as', `${s.name}@v2`, '--key', keys.key, '--store', s.store]);
    expect(again.code, again.stderr).toBe(0);
    expect(await fsp.access(join(s.store, 'lock')).then(() => 'there', () => 'gone')).toBe('gone');
  });

  it('says of a fresh lock that names no holder that it is taken over once 10 s old, instead of naming "pid ? on ?"', async () => {
    const s = await sealTree(TREE, keys);
    await fsp.writeFile(join(s.store, 'lock'), '');
    const r = await snapJson(['fsck', '--clean', '--store', s.store]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('STORE_LOCKED');
    expect(r.json.error.message).toMatch(/names no holder .* taken over once it is 10 s old: run the command again in a few seconds$/);
    expect(r.json.error.message).not.toContain('pid ?');
  });

  it('--clean without a store exits 3 (NOT_FOUND) and makes none', async () => {
    const store = await newStorePath();
    const r = await snapJson(['fsck', '--clean', '--store', store]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('NOT_FOUND');
    expect(await fsp.access(store).then(() => 'made', () => 'none')).toBe('none');
  });
});
