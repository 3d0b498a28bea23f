/**
 * The scratch folders commands make in $TMPDIR: named after the host and process that made them,
 * and the first one a process makes under a parent removes only the ones a killed command left
 * there (io/scratch-dir.ts) — never a running command's, another host's, another user's, a
 * symbolic link, a file, or anything not named like snap's own; and the owner's access to a
 * scratch tree is granted without following its links.
 */
import { promises as fsp, utimesSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { tempDir } from '../helpers/tree.js';
import { GUARD_STALE_MS } from '../../src/io/store.js';
import { SCRATCH_LEGACY_ABANDONED_MS, SCRATCH_PREFIXES, grantOwnerAccess, isStaleScratchDir, makeScratchDir, parseScratchName, removeStaleScratchDirs, removeWhenDone } from '../../src/io/scratch-dir.js';
import { leftoverCount, removeLeftovers } from '../../src/io/interrupt.js';
import { hostTag } from '../../src/io/output-temp.js';

/** The id of a process that has exited (a short child, waited for). */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid as number;
}

/** A scratch folder name of this host for `pid`. */
function nameOf(prefix: string, pid: number, rand = 'aB3dE9'): string {
  return `${prefix}${hostTag()}-${pid}-${rand}`;
}

/** Set the mtime of `path` `ms` into the past (lutimes: a link itself, never its target). */
async function age(path: string, ms: number): Promise<void> {
  const t = new Date(Date.now() - ms);
  await fsp.lutimes(path, t, t);
}

const uid = process.getuid?.() ?? 0;
const dirStat = (idleMs: number, owner = uid) => ({ isDirectory: () => true, uid: owner, mtimeMs: Date.now() - idleMs });

describe('scratch folder names', () => {
  it('are the prefix, this host\'s tag, this process\'s id and six random characters; the older name names no process; other names are not snap\'s', async () => {
    const parent = await tempDir('snap-scratch-names-');
    const dir = await makeScratchDir('snap-drill-', parent);
    expect(basename(dir)).toMatch(new RegExp(`^snap-drill-${hostTag()}-${process.pid}-[A-Za-z0-9]{6}$`));
    expect((await fsp.stat(dir)).mode & 0o777).toBe(0o700);
    expect(parseScratchName(basename(dir))).toEqual({ prefix: 'snap-drill-', host: hostTag(), pid: process.pid });
    expect(parseScratchName('snap-verify-records-Ab12Cd')).toEqual({ prefix: 'snap-verify-records-', legacy: true });
    expect(parseScratchName('snap-records-Ab12Cd')).toEqual({ prefix: 'snap-records-', legacy: true });
    for (const other of ['snap-drill-tmp-Ab12Cd', 'snap-test-Ab12Cd', 'snap-drill-Ab12C', 'snap-drill-Ab12Cd7', `snap-s3-${hostTag()}-0-Ab12Cd`, `snap-s3-${hostTag()}-12-Ab1-Cd`, 'Snap-drill-Ab12Cd', '.snap-drill-Ab12Cd']) {
      expect(parseScratchName(other), other).toBeUndefined();
    }
    for (const p of SCRATCH_PREFIXES) expect(parseScratchName(nameOf(p, 42))).toEqual({ prefix: p, host: hostTag(), pid: 42 });
  });
});

describe('a scratch folder', () => {
  it('of a process of this host that has exited is stale once untouched for GUARD_STALE_MS; touched since, or of a running process, it is not', () => {
    const dead = nameOf('snap-drill-', deadPid());
    expect(isStaleScratchDir(dead, dirStat(GUARD_STALE_MS + 1000))).toBe(true);
    expect(isStaleScratchDir(dead, dirStat(1000))).toBe(false);
    expect(isStaleScratchDir(dead, dirStat(GUARD_STALE_MS + 1000), Date.now() - 1000)).toBe(false); // what it holds was touched a second ago
    expect(isStaleScratchDir(nameOf('snap-drill-', process.ppid), dirStat(SCRATCH_LEGACY_ABANDONED_MS * 7))).toBe(false);
    expect(isStaleScratchDir(nameOf('snap-drill-', process.pid), dirStat(SCRATCH_LEGACY_ABANDONED_MS * 7))).toBe(false);
  });

  it('of another host is never stale here; under the older name it is stale after a day untouched; another user\'s, or one that is not a folder, never', () => {
    const otherHost = hostTag() === '00000000' ? '11111111' : '00000000';
    expect(isStaleScratchDir(`snap-diff-${otherHost}-${deadPid()}-Ab12Cd`, dirStat(SCRATCH_LEGACY_ABANDONED_MS * 30))).toBe(false);
    expect(isStaleScratchDir('snap-diff-Ab12Cd', dirStat(SCRATCH_LEGACY_ABANDONED_MS - 60_000))).toBe(false);
    expect(isStaleScratchDir('snap-diff-Ab12Cd', dirStat(SCRATCH_LEGACY_ABANDONED_MS + 1))).toBe(true);
    expect(isStaleScratchDir('snap-diff-Ab12Cd', dirStat(SCRATCH_LEGACY_ABANDONED_MS + 1), Date.now() - 60_000)).toBe(false);
    if (typeof process.getuid === 'function') {
      expect(isStaleScratchDir('snap-diff-Ab12Cd', dirStat(SCRATCH_LEGACY_ABANDONED_MS + 1, uid + 1))).toBe(false);
      expect(isStaleScratchDir(nameOf('snap-diff-', deadPid()), dirStat(GUARD_STALE_MS + 1000, uid + 1))).toBe(false);
    }
    expect(isStaleScratchDir(nameOf('snap-diff-', deadPid()), { ...dirStat(GUARD_STALE_MS + 1000), isDirectory: () => false })).toBe(false);
    expect(isStaleScratchDir('snap-drill-tmp-Ab12Cd', dirStat(SCRATCH_LEGACY_ABANDONED_MS * 30))).toBe(false);
  });
});

describe('removeStaleScratchDirs', () => {
  it('looks (lstat) only at the entries named like scratch folders, whatever else a shared $TMPDIR holds', async () => {
    const parent = await tempDir('snap-scratch-many-');
    for (let i = 0; i < 200; i++) await fsp.writeFile(join(parent, `other-${i}.txt`), '');
    const killed = join(parent, nameOf('snap-drill-', deadPid(), 'aaaaaa'));
    await fsp.mkdir(killed);
    await age(killed, 60_000);
    const looked: string[] = [];
    const lstat = fsp.lstat;
    const spy = vi.spyOn(fsp, 'lstat').mockImplementation(((path: string, ...rest: unknown[]) => {
      looked.push(String(path));
      return (lstat as (...a: unknown[]) => unknown)(path, ...rest);
    }) as typeof fsp.lstat);
    try {
      expect(await removeStaleScratchDirs(parent)).toEqual([killed]);
    } finally {
      spy.mockRestore();
    }
    expect(looked.filter((p) => p.startsWith(join(parent, 'other-')))).toEqual([]);
  });

  it('removes the folders killed commands left (with what they hold, following no link) and nothing else in the parent', async () => {
    const parent = await tempDir('snap-scratch-sweep-');
    const outside = await tempDir('snap-scratch-outside-');
    await fsp.writeFile(join(outside, 'keep.txt'), 'keep');
    const dead = deadPid();
    const p = (n: string) => join(parent, n);
    const killed = p(nameOf('snap-drill-', dead, 'aaaaaa'));
    const olderKilled = p('snap-seal-Ab12Cd');
    const young = p(nameOf('snap-diff-', dead, 'bbbbbb'));
    const busy = p(nameOf('snap-records-', dead, 'cccccc')); // its own mtime old, but it holds a file written just now
    const live = p(nameOf('snap-s3-', process.ppid, 'dddddd'));
    const olderYoung = p('snap-archive-Ab12Cd');
    const notSnap = p('snap-drill-tmp-Ab12Cd');
    const link = p(nameOf('snap-retain-', dead, 'eeeeee'));
    const file = p(nameOf('snap-verify-records-', dead, 'ffffff'));
    for (const d of [killed, olderKilled, young, busy, live, olderYoung, notSnap]) await fsp.mkdir(d);
    await fsp.mkdir(join(killed, 'data'));
    await fsp.writeFile(join(killed, 'data', 'big.bin'), 'copy');
    await fsp.symlink(outside, join(killed, 'data', 'elsewhere'));
    await fsp.writeFile(join(busy, 'index-0'), 'being written');
    await fsp.symlink(outside, link);
    await fsp.writeFile(file, 'not a folder');
    for (const d of [join(killed, 'data'), killed, live, file, link]) await age(d, 60_000); // young: touched just now
    await age(busy, 60_000);
    await age(olderKilled, SCRATCH_LEGACY_ABANDONED_MS + 60_000);
    for (const d of [olderYoung, notSnap]) await age(d, SCRATCH_LEGACY_ABANDONED_MS - 60_000);
    utimesSync(notSnap, new Date(0), new Date(0));
    for (const x of [join(outside, 'keep.txt'), outside]) await age(x, 60_000); // followed, the link would look stale

    expect((await removeStaleScratchDirs(parent)).sort()).toEqual([killed, olderKilled].sort());
    expect((await fsp.readdir(parent)).sort()).toEqual([young, busy, live, olderYoung, notSnap, link, file].map((x) => basename(x)).sort());
    expect(await fsp.readFile(join(outside, 'keep.txt'), 'utf8')).toBe('keep');
    expect(await fsp.readdir(outside)).toEqual(['keep.txt']);
  });

  it('runs when a process makes its first scratch folder under a parent, not at each one', async () => {
    const parent = await tempDir('snap-scratch-first-');
    const stale = () => join(parent, nameOf('snap-diff-', deadPid(), 'zzzzzz'));
    const first = stale();
    await fsp.mkdir(first);
    await age(first, 60_000);
    const mine = await makeScratchDir('snap-diff-', parent);
    expect(await fsp.readdir(parent)).toEqual([basename(mine)]);
    const second = stale();
    await fsp.mkdir(second);
    await age(second, 60_000);
    const again = await makeScratchDir('snap-records-', parent);
    expect((await fsp.readdir(parent)).sort()).toEqual([basename(mine), basename(second), basename(again)].sort());
  });
});

describe('grantOwnerAccess', () => {
  it('adds the owner\'s rwx to every folder and, with files, rw to every file, keeping the other bits, and changes no link nor what it points to', async () => {
    const root = await tempDir('snap-scratch-grant-');
    const outside = await tempDir('snap-scratch-grant-outside-');
    await fsp.writeFile(join(outside, 'target.txt'), 't');
    await fsp.chmod(join(outside, 'target.txt'), 0o444);
    await fsp.chmod(outside, 0o555);
    await fsp.mkdir(join(root, 'ro', 'deeper'), { recursive: true });
    await fsp.writeFile(join(root, 'ro', 'deeper', 'f.txt'), 'f');
    await fsp.chmod(join(root, 'ro', 'deeper', 'f.txt'), 0o444);
    await fsp.symlink(outside, join(root, 'ro', 'dir-link'));
    await fsp.symlink(join(outside, 'target.txt'), join(root, 'ro', 'file-link'));
    await fsp.chmod(join(root, 'ro', 'deeper'), 0o505);
    await fsp.chmod(join(root, 'ro'), 0o555);
    const mode = async (p: string) => (await fsp.lstat(p)).mode & 0o7777;

    await grantOwnerAccess(root, { files: false });
    expect(await mode(join(root, 'ro'))).toBe(0o755);
    expect(await mode(join(root, 'ro', 'deeper'))).toBe(0o705);
    expect(await mode(join(root, 'ro', 'deeper', 'f.txt'))).toBe(0o444);
    await grantOwnerAccess(root, { files: true });
    expect(await mode(join(root, 'ro', 'deeper', 'f.txt'))).toBe(0o644);
    expect(await mode(outside)).toBe(0o555);
    expect(await mode(join(outside, 'target.txt'))).toBe(0o444);
    await fsp.chmod(outside, 0o755); // for the test's own clean-up
  });
});

describe('removeWhenDone', () => {
  it('registers the folder\'s removal for a forced exit, and the function it returns removes the folder and unregisters it', async () => {
    const parent = await tempDir('snap-scratch-done-');
    const before = leftoverCount();
    const one = await makeScratchDir('snap-diff-', parent);
    await fsp.writeFile(join(one, 'manifest.jsonl'), 'x');
    const doneOne = removeWhenDone(one);
    expect(leftoverCount()).toBe(before + 1);
    await doneOne();
    expect(leftoverCount()).toBe(before);
    expect(await fsp.readdir(parent)).toEqual([]);

    const two = await makeScratchDir('snap-records-', parent);
    await fsp.mkdir(join(two, 'runs-x'));
    removeWhenDone(two);
    removeLeftovers(); // what a process that must exit now runs
    expect(await fsp.readdir(parent)).toEqual([]);
  });
});
