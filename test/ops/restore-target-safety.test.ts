/**
 * `snap restore` into a folder that other local users can change. Restore writes by path, so
 * another user who can write in the target or in any folder above it can move the target away and
 * put a link in its place — restore's files then land wherever the link points, and the folder the
 * user named is the other user's afterwards. Restore therefore refuses such a target
 * (TARGET_UNSAFE, exit 3, nothing written) unless told otherwise (--allow-shared-target); a sticky
 * folder such as /tmp is fine (others cannot rename or remove this user's entries in it).
 */
import { promises as fsp, lstatSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { sealTree } from '../helpers/store.js';
import { restore } from '../../src/ops/restore.js';
import { resolveRef } from '../../src/io/store.js';
import { readPublicKey } from '../../src/io/keyfile.js';

const keys = useKeyPair('target-safety');
const isRoot = process.getuid?.() === 0;
/** The other user: "nobody" when the tests run as root; else this same user (the folders are what count). */
const OTHER = 65534;

const TREE: Record<string, string> = { 'sub/x.txt': 'x\n' };
for (let i = 0; i < 400; i++) TREE[`f${i}.txt`] = `file ${i}\n`;

/** A work folder others may enter (0755), with `shared/` (mode `sharedMode`) and a root-side `victim/` folder. */
async function layout(sharedMode: number) {
  const work = await tempDir('snap-target-');
  await fsp.chmod(work, 0o755);
  const shared = join(work, 'shared');
  await fsp.mkdir(shared);
  await fsp.chmod(shared, sharedMode);
  const victim = join(work, 'victim');
  await fsp.mkdir(victim, { mode: 0o755 });
  return { work, shared, victim };
}

/**
 * Another user's process: waits for `target` to appear, moves it away and puts a link to `victim`
 * in its place. `ready` resolves once it watches; `outcome` with what it did ('swapped', or the
 * error) — or 'never' when it is stopped.
 */
function attacker(target: string, victim: string, opts: { whenPrivate?: boolean } = {}): { ready: Promise<void>; outcome: Promise<string> } {
  // With whenPrivate: only once restore has made the folder there private (mode 0700), i.e. while it works in it.
  const ready = opts.whenPrivate ? `if (!st.isDirectory() || (st.mode & 0o777) !== 0o700) continue;` : '';
  // It says "ready" once it watches: a test starts the restore only then (a child started late on a
  // loaded machine once missed the whole restore and said "never").
  const script = `const fs = require('fs'); const t = ${JSON.stringify(target)};
    console.log('ready');
    const stop = Date.now() + 20000;
    for (;;) { if (Date.now() > stop) { console.log('never'); break; }
      let st; try { st = fs.lstatSync(t); } catch { continue; }
      ${ready}
      try { fs.renameSync(t, t + '.moved'); fs.symlinkSync(${JSON.stringify(victim)}, t); console.log('swapped'); } catch (e) { console.log(e.code); } break; }`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'], ...(isRoot ? { uid: OTHER, gid: OTHER } : {}) });
  onTestFinished(() => void child.kill('SIGKILL'));
  let out = '';
  let watching: () => void = () => {};
  const readyPromise = new Promise<void>((res) => (watching = res));
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    if (out.startsWith('ready\n')) watching();
  });
  const outcome = new Promise<string>((res) => child.on('close', () => res(out.replace(/^ready\n/, '').trim() || 'never')));
  return { ready: Promise.race([readyPromise, outcome.then(() => undefined)]), outcome };
}

describe('restore into a folder under one that every user may write in (not sticky)', () => {
  it('is refused before anything is written (TARGET_UNSAFE, exit 3): another user swapping in a link finds nothing to redirect', async () => {
    const s = await sealTree(TREE, keys);
    const { shared, victim } = await layout(0o777);
    const target = join(shared, 'out');
    const swapped = attacker(target, victim);
    await swapped.ready;
    const r = await snapJson(['restore', s.ref, target, '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code, r.stdout).toBe(3);
    expect(r.json.error.code).toBe('TARGET_UNSAFE');
    expect(r.json.error.details.path).toBe(shared);
    expect(r.json.error.message).toMatch(/every user may write in it/);
    expect(await fsp.readdir(victim)).toEqual([]);
    expect(await fsp.readdir(shared)).toEqual([]);
    await fsp.mkdir(target); // stops the attacker, who moves this one away
    expect(await swapped.outcome).toBe('swapped');
  });

  it('is done as before with --allow-shared-target', async () => {
    const s = await sealTree(TREE, keys);
    const { shared } = await layout(0o777);
    const r = await snapJson(['restore', s.ref, join(shared, 'out'), '--pubkey', keys.pub, '--store', s.store, '--allow-shared-target']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.files).toBe(Object.keys(TREE).length);
  });

  it('is refused from an archive too, and when the shared folder is further up', async () => {
    const s = await sealTree(TREE, keys);
    const { work, shared } = await layout(0o777);
    await fsp.mkdir(join(shared, 'mine'), { mode: 0o755 });
    const file = join(work, 'ds.snap.tar');
    expect((await snapJson(['export', s.ref, '-o', file, '--store', s.store])).code).toBe(0);
    const r = await snapJson(['restore', file, join(shared, 'mine', 'out'), '--pubkey', keys.pub]);
    expect(r.code, r.stdout).toBe(3);
    expect(r.json.error).toMatchObject({ code: 'TARGET_UNSAFE', details: { path: shared } });
    expect(await fsp.readdir(join(shared, 'mine'))).toEqual([]);
  });
});

describe('restore into a sticky folder every user may write in (as /tmp)', () => {
  it('is done: others can add names there, but not move this user\'s target', async () => {
    const s = await sealTree(TREE, keys);
    const { shared } = await layout(0o1777);
    const r = await snapJson(['restore', s.ref, join(shared, 'out'), '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
  });
});

describe.skipIf(!isRoot)('restore where another user owns the way (run as root)', () => {
  it('refuses an existing empty target that belongs to another user (TARGET_UNSAFE, exit 3), and leaves it as it was', async () => {
    const s = await sealTree(TREE, keys);
    const { shared } = await layout(0o755);
    const target = join(shared, 'out');
    await fsp.mkdir(target, { mode: 0o755 });
    await fsp.chown(target, OTHER, OTHER);
    const r = await snapJson(['restore', s.ref, target, '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code, r.stdout).toBe(3);
    expect(r.json.error).toMatchObject({ code: 'TARGET_UNSAFE', details: { path: target } });
    expect(await fsp.readdir(target)).toEqual([]);
    expect(lstatSync(target).uid).toBe(OTHER);
    expect(lstatSync(target).mode & 0o777).toBe(0o755);
  });

  it('refuses a target under a folder that belongs to another user, or that another group may write in', async () => {
    const s = await sealTree(TREE, keys);
    const { shared } = await layout(0o755);
    await fsp.chown(shared, OTHER, OTHER);
    const owned = await snapJson(['restore', s.ref, join(shared, 'out'), '--pubkey', keys.pub, '--store', s.store]);
    expect(owned.json.error).toMatchObject({ code: 'TARGET_UNSAFE', details: { path: shared } });
    await fsp.chown(shared, 0, OTHER);
    await fsp.chmod(shared, 0o775);
    const group = await snapJson(['restore', s.ref, join(shared, 'out'), '--pubkey', keys.pub, '--store', s.store]);
    expect(group.json.error).toMatchObject({ code: 'TARGET_UNSAFE', details: { path: shared } });
    expect(group.json.error.message).toMatch(/group 65534/);
    expect(await fsp.readdir(shared)).toEqual([]);
  });
});

describe('restore with --allow-shared-target, the target swapped for a link while it works', () => {
  it('removes nothing where the link leads when it fails: the clean-up takes only the folder restore checked, not what is in its place', async () => {
    const s = await sealTree(TREE, keys);
    const { shared, victim } = await layout(0o777);
    // This user's folder, which the link will lead to: f0.txt there makes the restore fail (EEXIST).
    await fsp.writeFile(join(victim, 'f0.txt'), 'mine\n');
    await fsp.writeFile(join(victim, 'thesis.tex'), 'years of work\n');
    await fsp.mkdir(join(victim, 'photos'));
    await fsp.writeFile(join(victim, 'photos', '1.jpg'), 'jpg');
    const target = join(shared, 'out');
    await fsp.mkdir(target);
    const swapped = attacker(target, victim, { whenPrivate: true });
    await swapped.ready;
    const r = await snapJson(['restore', s.ref, target, '--pubkey', keys.pub, '--store', s.store, '--allow-shared-target']);
    expect(await swapped.outcome).toBe('swapped');
    // Swapped while it writes: EEXIST at f0.txt (exit 3); swapped only once every file was written
    // (a loaded machine starts the swapper late): its final verify reads through the link and fails
    // (exit 1). Either way it fails, and what the link leads to keeps every file.
    expect([1, 3], r.stdout).toContain(r.code);
    expect(r.json.ok).toBe(false);
    expect(await fsp.readFile(join(victim, 'f0.txt'), 'utf8')).toBe('mine\n');
    expect(await fsp.readFile(join(victim, 'thesis.tex'), 'utf8')).toBe('years of work\n');
    expect(await fsp.readFile(join(victim, 'photos', '1.jpg'), 'utf8')).toBe('jpg');
  });
});

describe('a target named through a symbolic link that another user can change', () => {
  it('is refused when the link is in a folder every user may write in (TARGET_UNSAFE, exit 3): the link, not only where it leads, is judged', async () => {
    const s = await sealTree(TREE, keys);
    const { shared, victim } = await layout(0o777);
    const target = join(shared, 'x');
    await fsp.symlink(victim, target); // leads to this user's empty folder: safe itself, but the link can be swapped
    const r = await snapJson(['restore', s.ref, target, '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code, r.stdout).toBe(3);
    expect(r.json.error).toMatchObject({ code: 'TARGET_UNSAFE', details: { path: shared } });
    expect(await fsp.readdir(victim)).toEqual([]);
  });

  it('is refused when a folder above the target is named through such a link, the target absent', async () => {
    const s = await sealTree(TREE, keys);
    const { shared, victim } = await layout(0o777);
    await fsp.symlink(victim, join(shared, 'p'));
    const r = await snapJson(['restore', s.ref, join(shared, 'p', 'out'), '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code, r.stdout).toBe(3);
    expect(r.json.error).toMatchObject({ code: 'TARGET_UNSAFE', details: { path: shared } });
    expect(await fsp.readdir(victim)).toEqual([]);
  });

  it.skipIf(!isRoot)('is refused when the link belongs to another user, even in a sticky folder (its owner may replace it there)', async () => {
    const s = await sealTree(TREE, keys);
    const { shared, victim } = await layout(0o1777);
    const target = join(shared, 'x');
    await fsp.symlink(victim, target);
    await fsp.lchown(target, OTHER, OTHER);
    const r = await snapJson(['restore', s.ref, target, '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code, r.stdout).toBe(3);
    expect(r.json.error).toMatchObject({ code: 'TARGET_UNSAFE', details: { path: target } });
    expect(r.json.error.message).toMatch(/symbolic link that belongs to another user \(uid 65534\)/);
    expect(await fsp.readdir(victim)).toEqual([]);
  });

  it("is done through this user's own link in a sticky folder", async () => {
    const s = await sealTree(TREE, keys);
    const { shared, victim } = await layout(0o1777);
    await fsp.symlink(victim, join(shared, 'x'));
    const r = await snapJson(['restore', s.ref, join(shared, 'x'), '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
    expect((await fsp.readdir(victim)).length).toBeGreaterThan(0);
  });
});

describe('an existing empty target of this user that every user may write in', () => {
  it('is private (0700) from the moment it is found empty until restore is done, then gets its mode back', async () => {
    const s = await sealTree(TREE, keys);
    const { work } = await layout(0o755);
    const out = join(work, 'out');
    await fsp.mkdir(out);
    await fsp.chmod(out, 0o777);
    const modes: number[] = [];
    const r = await restore({
      source: { kind: 'snapshot', snapshot: await resolveRef(s.ref, s.store), store: s.store },
      dir: out,
      trusted: [await readPublicKey(keys.pub)],
      onProgress: () => modes.push(lstatSync(out).mode & 0o777),
    });
    expect(r.ok).toBe(true);
    expect(new Set(modes)).toEqual(new Set([0o700]));
    expect(lstatSync(out).mode & 0o777).toBe(0o777);
  });
});
