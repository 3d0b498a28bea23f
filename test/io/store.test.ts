/**
 * The local store (SPEC §7): opening and creating, write-once files, the advisory lock (taken over
 * from a dead writer, refused while a live one holds it), and ref resolution.
 */
import { promises as fsp, constants as FS } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { acquireLockFile, bootId, inspectLock, pidNamespace, processStart, commitSnapshot, discardNewStore, lockStore, makeTmpDir, openStore, resolveRef, writeFileAtomic, GUARD_STALE_MS } from '../../src/io/store.js';
import { makeKeyPair, makeTree, snap, spawnSnap, stderrSays, tempDir, REPO } from '../helpers/tree.js';
import { setLockWaitNotice, LOCK_WAIT_NOTICE_MS } from '../../src/io/lock-wait-notice.js';

async function newStore() {
  return openStore(join(await tempDir(), 'store'), { create: true });
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid as number;
}

describe('openStore', () => {
  it('creates a store with store.json, objects, snapshots and tmp', async () => {
    const s = await newStore();
    expect(JSON.parse(await fsp.readFile(join(s.root, 'store.json'), 'utf8'))).toEqual({ format: 'snap-store/1' });
    for (const d of [s.objectsDir, s.snapshotsDir, s.tmpDir]) expect((await fsp.stat(d)).isDirectory()).toBe(true);
  });

  it('opens an existing store without create', async () => {
    const s = await newStore();
    expect((await openStore(s.root)).root).toBe(s.root);
  });

  it('throws NOT_FOUND when there is no store and create is not asked', async () => {
    await expect(openStore(join(await tempDir(), 'none'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('throws STORE_MALFORMED for a non-empty folder that is not a store, with or without create', async () => {
    const dir = await makeTree({ 'x.txt': 'x' });
    await expect(openStore(dir)).rejects.toMatchObject({ code: 'STORE_MALFORMED' });
    await expect(openStore(dir, { create: true })).rejects.toMatchObject({ code: 'STORE_MALFORMED' });
  });

  it('makes the store where the making of one was stopped before its store.json (a killed init: empty tmp, snapshots, objects/sha256 and a partial .store.json.*.tmp), and without create says NOT_FOUND, not STORE_MALFORMED', async () => {
    const root = join(await tempDir(), 'store');
    for (const d of ['tmp', 'snapshots', 'objects/sha256']) await fsp.mkdir(join(root, d), { recursive: true });
    await fsp.writeFile(join(root, '.store.json.0123456789ab.tmp'), '{"form');
    await expect(openStore(root)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const s = await openStore(root, { create: true });
    expect(s.created).toEqual({ root: false });
    expect(JSON.parse(await fsp.readFile(join(root, 'store.json'), 'utf8'))).toEqual({ format: 'snap-store/1' });
    expect((await openStore(root)).root).toBe(s.root);
  });

  it('still throws STORE_MALFORMED for that skeleton once anything else is in it (a file in snapshots, or any other name)', async () => {
    for (const extra of ['snapshots/ds', 'notes.txt', 'objects/sha256/ab']) {
      const root = join(await tempDir(), 'store');
      for (const d of ['tmp', 'snapshots', 'objects/sha256']) await fsp.mkdir(join(root, d), { recursive: true });
      await fsp.writeFile(join(root, extra), 'x');
      await expect(openStore(root, { create: true }), extra).rejects.toMatchObject({ code: 'STORE_MALFORMED' });
    }
  });

  describe('while other commands make, lock and discard the same new store (seen as STORE_MALFORMED in about one run in twenty of six seals into a new store, three of them failing)', () => {
    /** An unfinished store (what making one writes before its store.json). */
    async function skeleton(): Promise<string> {
      const root = join(await tempDir(), 'store');
      for (const d of ['tmp', 'snapshots', 'objects/sha256']) await fsp.mkdir(join(root, d), { recursive: true });
      return root;
    }

    /** Run `during` just after openStore lists `root` for the `nth` time (from 1). */
    async function whileListed<T>(root: string, nth: number, during: () => Promise<void>, run: () => Promise<T>): Promise<T> {
      const readdir = fsp.readdir;
      let listed = 0;
      const spy = vi.spyOn(fsp, 'readdir').mockImplementation((async (path: string, ...rest: unknown[]) => {
        const names = await (readdir as (...a: unknown[]) => Promise<unknown>)(path, ...rest);
        if (path === root && ++listed === nth) await during();
        return names;
      }) as typeof fsp.readdir);
      try {
        return await run();
      } finally {
        spy.mockRestore();
      }
    }

    it('opens the store another command made between the look for store.json and the look at the folder', async () => {
      for (const nth of [1, 2]) {
        const root = await skeleton();
        const s = await whileListed(root, nth, () => fsp.writeFile(join(root, 'store.json'), '{"format":"snap-store/1"}\n'), () => openStore(root, { create: true }));
        expect(s.root).toBe(root);
        expect(s.created).toBeUndefined();
      }
    });

    it('makes the store when the lock of the command discarding it is released while the folder is looked at', async () => {
      const root = await skeleton();
      await fsp.writeFile(join(root, 'lock'), JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
      // The second listing is the look at what the folder holds (the first only asks whether it is empty).
      const s = await whileListed(root, 2, () => fsp.rm(join(root, 'lock')), () => openStore(root, { create: true }));
      expect(s.created).toEqual({ root: false });
    });

    it('makes the store when another command has just made its lock file (O_EXCL) and not yet written it', async () => {
      const root = await skeleton();
      await fsp.writeFile(join(root, 'lock'), '');
      const s = await openStore(root, { create: true });
      expect(s.created).toEqual({ root: false });
    });
  });

  it('throws STORE_MALFORMED for a store.json of another format', async () => {
    const dir = await makeTree({ 'store.json': '{"format":"snap-store/99"}\n' });
    await expect(openStore(dir)).rejects.toMatchObject({ code: 'STORE_MALFORMED' });
  });

  it('says whether it made the store, and whether it made the root folder', async () => {
    const root = await tempDir();
    const made = await openStore(join(root, 'store'), { create: true });
    expect(made.created).toEqual({ root: true });
    expect((await openStore(made.root, { create: true })).created).toBeUndefined();
    await fsp.mkdir(join(root, 'empty'));
    expect((await openStore(join(root, 'empty'), { create: true })).created).toEqual({ root: false });
  });

  it('makes no store where its parent folder is missing (NOT_FOUND), unless asked for parents', async () => {
    const root = await tempDir();
    await expect(openStore(join(root, 'a', 'b', 'store'), { create: true })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await fsp.readdir(root)).toEqual([]);
    const s = await openStore(join(root, 'a', 'b', 'store'), { create: true, parents: true });
    expect(s.created).toEqual({ root: true });
  });

  it('throws NOT_A_FOLDER for a file, with or without create, and leaves it alone', async () => {
    const dir = await makeTree({ f: 'x' });
    await expect(openStore(join(dir, 'f'))).rejects.toMatchObject({ code: 'NOT_A_FOLDER' });
    await expect(openStore(join(dir, 'f'), { create: true })).rejects.toMatchObject({ code: 'NOT_A_FOLDER' });
    await expect(openStore(join(dir, 'f', 'store'), { create: true })).rejects.toMatchObject({ code: 'NOT_A_FOLDER' });
    expect(await fsp.readFile(join(dir, 'f'), 'utf8')).toBe('x');
  });
});

describe('discardNewStore', () => {
  it('removes a store this call made, root and all', async () => {
    const root = await tempDir();
    const s = await openStore(join(root, 'store'), { create: true });
    await discardNewStore(s);
    expect(await fsp.readdir(root)).toEqual([]);
  });

  it('empties, but keeps, an empty folder the store was made in', async () => {
    const root = await tempDir();
    await fsp.mkdir(join(root, 'store'));
    await discardNewStore(await openStore(join(root, 'store'), { create: true }));
    expect(await fsp.readdir(join(root, 'store'))).toEqual([]);
  });

  it('leaves a store alone that it did not make, that holds a snapshot, or whose lock another writer holds', async () => {
    const existing = await newStore();
    await discardNewStore(await openStore(existing.root, { create: true }));
    expect(await fsp.readdir(existing.root)).toContain('store.json');

    const withSnapshot = await newStore();
    await fsp.mkdir(join(withSnapshot.snapshotsDir, 'ds', 'v1'), { recursive: true });
    await discardNewStore(withSnapshot);
    expect(await fsp.readdir(withSnapshot.root)).toContain('store.json');

    const locked = await newStore();
    const lock = await lockStore(locked);
    await discardNewStore(locked);
    expect(await fsp.readdir(locked.root)).toContain('store.json');
    await lock.release();
  });

  it('lockStore refuses (NOT_FOUND) a store whose store.json went while it waited, and leaves no lock behind', async () => {
    const s = await newStore();
    await fsp.rm(join(s.root, 'store.json'));
    await expect(lockStore(s, 0)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await fsp.readdir(s.root)).not.toContain('lock');
  });

  it('does not fail a seal that opened the new store and waits for its lock: the seal makes the store again and seals into it', async () => {
    const key = await makeKeyPair('discard');
    const data = await makeTree({ 'a.txt': 'a\n' });
    // Another command made the store and holds its lock; then it fails, releases the lock and discards the store.
    const made = await newStore();
    const lock = await lockStore(made);
    const { child, done } = spawnSnap(['seal', data, '--as', 'ds@v1', '--key', key.key, '--store', made.root, '--json']);
    await stderrSays(child, `note: waiting for the store ${made.root}, locked by another snap (pid ${process.pid}`); // it opened the store, and waits for the lock
    await lock.release();
    await discardNewStore(made);
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    expect(await fsp.readdir(join(made.root, 'snapshots', 'ds'))).toEqual(['v1']);
    expect(await fsp.readdir(made.root)).toContain('store.json');
  });
});

describe('fsyncDir', () => {
  it('returns at once when a FIFO stands where the folder was (one swapped in after a write): it opened it and waited for a writer for ever', async () => {
    const fifo = join(await tempDir(), 'swapped');
    spawnSync('mkfifo', [fifo]);
    const script = `import { fsyncDir } from ${JSON.stringify(join(REPO, 'dist', 'io', 'store.js'))}; await fsyncDir(${JSON.stringify(fifo)}); console.log('done');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
    expect(r.signal, 'fsyncDir waited on the FIFO').toBeNull();
    expect(r.stdout).toBe('done\n');
  });
});

describe('writeFileAtomic', () => {
  it('never replaces an existing file when exclusive: FILE_EXISTS, contents unchanged, no temporary file left', async () => {
    const dir = await makeTree({ 'f.json': 'first' });
    await expect(writeFileAtomic(join(dir, 'f.json'), 'second', { exclusive: true })).rejects.toMatchObject({ code: 'FILE_EXISTS' });
    expect(await fsp.readFile(join(dir, 'f.json'), 'utf8')).toBe('first');
    expect(await fsp.readdir(dir)).toEqual(['f.json']);
  });

  it('writes a new file read-only (0444) by default', async () => {
    const dir = await tempDir();
    await writeFileAtomic(join(dir, 'new.json'), 'data', { exclusive: true });
    expect(await fsp.readFile(join(dir, 'new.json'), 'utf8')).toBe('data');
    expect((await fsp.stat(join(dir, 'new.json'))).mode & 0o777).toBe(0o444);
  });
});

describe('waiting for a lock', () => {
  it('says so once, after LOCK_WAIT_NOTICE_MS, naming what is locked and by whom; a wait that ends sooner says nothing', async () => {
    const s = await newStore();
    const held = await lockStore(s);
    const said: string[] = [];
    const stop = setLockWaitNotice((m) => said.push(m));
    try {
      await expect(lockStore(s, LOCK_WAIT_NOTICE_MS / 2)).rejects.toMatchObject({ code: 'STORE_LOCKED' });
      expect(said).toEqual([]);
      await expect(lockStore(s, LOCK_WAIT_NOTICE_MS + 500)).rejects.toMatchObject({ code: 'STORE_LOCKED' });
      expect(said).toHaveLength(1);
      expect(said[0]).toMatch(new RegExp(`^waiting for the store .+, locked by another snap \\(pid ${process.pid} on .+, since .+\\): up to 2 s in all$`));
    } finally {
      stop();
      await held.release();
    }
  });

  it('is a note on stderr in the CLI, and nothing with --quiet', async () => {
    const key = await makeKeyPair('notice');
    const data = await makeTree({ 'a.txt': 'a\n' });
    const s = await newStore();
    const held = await lockStore(s);
    // The lock is released once the note is out (a fixed delay raced the seal's own start on a loaded machine).
    const loud = spawnSnap(['seal', data, '--as', 'ds@v1', '--key', key.key, '--store', s.root]);
    await stderrSays(loud.child, `note: waiting for the store ${s.root}, locked by another snap (pid ${process.pid}`);
    await held.release();
    expect((await loud.done).code).toBe(0);
    const again = await lockStore(s);
    setTimeout(() => void again.release(), LOCK_WAIT_NOTICE_MS + 700);
    const quiet = await snap(['seal', data, '--as', 'ds@v2', '--key', key.key, '--store', s.root, '--quiet']);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe('');
  });
});

describe('lockStore', () => {
  it('refuses a second writer while the first holds the lock (STORE_LOCKED), and allows it after release', async () => {
    const s = await newStore();
    const lock = await lockStore(s);
    await expect(lockStore(s, 150)).rejects.toMatchObject({ code: 'STORE_LOCKED' });
    await lock.release();
    const again = await lockStore(s, 150);
    await again.release();
    await expect(fsp.access(join(s.root, 'lock'))).rejects.toThrow();
  });

  it('takes over a lock left by a dead process on this host and clears its leftovers in tmp', async () => {
    const s = await newStore();
    await fsp.writeFile(join(s.root, 'lock'), JSON.stringify({ pid: deadPid(), host: hostname(), since: new Date().toISOString() }));
    await fsp.mkdir(join(s.tmpDir, 'seal-leftover'));
    await fsp.writeFile(join(s.tmpDir, 'obj-partial'), 'half an object');
    const lock = await lockStore(s, 150);
    expect(await fsp.readdir(s.tmpDir)).toEqual([]);
    await lock.release();
  });

  it('lets exactly one of many waiters take over a stale lock at a time (no waiter removes a live lock)', async () => {
    const s = await newStore();
    const path = join(s.root, 'lock');
    for (let round = 0; round < 10; round++) {
      await fsp.writeFile(path, JSON.stringify({ pid: deadPid(), host: hostname(), since: new Date().toISOString() }));
      let inside = 0;
      let most = 0;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          const release = await acquireLockFile(path, 'the test lock', 10_000);
          inside++;
          most = Math.max(most, inside);
          await new Promise((r) => setTimeout(r, 5));
          inside--;
          await release();
        }),
      );
      expect(most).toBe(1);
    }
    expect((await fsp.readdir(s.root)).filter((n) => n.startsWith('lock'))).toEqual([]);
  });

  it('never removes the fresh takeover guard of another waiter in place of the stale one it found (two waiters then both took the lock: 1 round in 15 of 8 processes on a stale lock and guard)', async () => {
    const s = await newStore();
    const path = join(s.root, 'lock');
    const guard = `${path}.takeover`;
    await fsp.writeFile(path, JSON.stringify({ pid: deadPid(), host: hostname(), since: new Date().toISOString() }));
    await fsp.writeFile(guard, '');
    const old = new Date(Date.now() - 2 * GUARD_STALE_MS);
    await fsp.utimes(guard, old, old);
    // Just after this waiter looked at the stale guard, another waiter removes it and makes its own,
    // which it holds for 300 ms while it takes the lock over.
    let othersGuard: Promise<boolean> | undefined;
    const other = async (): Promise<boolean> => {
      await fsp.rm(guard);
      await fsp.writeFile(guard, 'the other waiter', { flag: 'wx' });
      await new Promise((r) => setTimeout(r, 300));
      const still = await fsp.readFile(guard, 'utf8').catch(() => undefined);
      if (still === 'the other waiter') await fsp.rm(guard);
      return still === 'the other waiter';
    };
    const spies = (['stat', 'lstat'] as const).map((m) => {
      const real = fsp[m];
      return vi.spyOn(fsp, m).mockImplementation((async (p: string, ...rest: unknown[]) => {
        const st = await (real as (...a: unknown[]) => Promise<unknown>)(p, ...rest);
        if (p === guard && othersGuard === undefined) {
          othersGuard = other();
          await new Promise((r) => setTimeout(r, 20)); // the other waiter's guard is made
        }
        return st;
      }) as never);
    });
    try {
      const release = await acquireLockFile(path, 'the test lock', 5_000);
      await release();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(await othersGuard, "the other waiter's guard was there until it removed it").toBe(true);
  });

  it('removes a link planted in place of tmp while the lock was held, and never empties the folder it points to', async () => {
    const s = await newStore();
    const victim = await makeTree({ 'precious.txt': 'keep me', 'sub/also.txt': 'and me' });
    const lock = await lockStore(s);
    await fsp.rename(s.tmpDir, join(s.root, 'tmp.old'));
    await fsp.symlink(victim, s.tmpDir);
    await lock.release();
    expect((await fsp.readdir(victim)).sort()).toEqual(['precious.txt', 'sub']);
    expect(await fsp.readFile(join(victim, 'sub', 'also.txt'), 'utf8')).toBe('and me');
    await expect(fsp.lstat(s.tmpDir)).rejects.toMatchObject({ code: 'ENOENT' });
    const again = await lockStore(s, 150);
    expect((await fsp.lstat(s.tmpDir)).isDirectory()).toBe(true);
    await again.release();
  });

  it('takes over a lock file that is a sparse file of 3 GiB and older than GUARD_STALE_MS, as one naming no holder (it could not be read, and kept the store locked for ever: STORE_LOCKED)', async () => {
    const s = await newStore();
    const path = join(s.root, 'lock');
    await fsp.writeFile(path, '');
    await fsp.truncate(path, 3 * 2 ** 30);
    const old = new Date(Date.now() - 2 * GUARD_STALE_MS);
    await fsp.utimes(path, old, old);
    expect(await inspectLock(path)).toMatchObject({ state: 'stale', holder: {}, bytes: 3 * 2 ** 30 });
    const lock = await lockStore(s, 150);
    expect(JSON.parse(await fsp.readFile(path, 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
  });

  it('reads a lock file planted as a link to /dev/zero no further than MAX_LOCK_BYTES + 1 bytes: it names no holder, and the link is taken over (it read 2 GiB at every look, then kept the store locked)', async () => {
    const s = await newStore();
    const path = join(s.root, 'lock');
    await fsp.symlink('/dev/zero', path);
    expect(await inspectLock(path)).toMatchObject({ state: 'stale', holder: {} });
    const lock = await lockStore(s, 150);
    expect((await fsp.lstat(path)).isFile()).toBe(true);
    await lock.release();
  });

  it('refuses at once a folder or a link to nothing planted as the lock, naming it and how to remove it (it waited the whole wait, then said such a lock "is taken over once it is 10 s old", which it never was)', async () => {
    for (const plant of [(p: string) => fsp.mkdir(p), (p: string) => fsp.symlink('nowhere', p)]) {
      const s = await newStore();
      const path = join(s.root, 'lock');
      await plant(path);
      const t0 = Date.now();
      const e = await lockStore(s, 3_000).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'STORE_LOCKED' });
      expect(Date.now() - t0).toBeLessThan(2_000);
      expect((e as Error).message).toMatch(/^the store .+ is locked by .+\/lock, which is (a folder|a symbolic link to nothing), not a lock file snap writes: no snap takes it over; remove it \(rm (-r )?.+\/lock\) once you know what put it there$/);
      expect((await fsp.lstat(path)).isFile(), 'left in place').toBe(false);
    }
  });

  it('says a lock file this user cannot read is one, when it stops waiting (it said the file "names no holder" and would be taken over)', async () => {
    const s = await newStore();
    const path = join(s.root, 'lock');
    await fsp.writeFile(path, JSON.stringify({ pid: process.pid, host: hostname() }), { mode: 0o000 });
    // Another user's lock made under umask 077 (0600); this test may run as root, who reads any file.
    const open = fsp.open;
    const spy = vi.spyOn(fsp, 'open').mockImplementation(((p: string, flags: number, ...rest: unknown[]) =>
      p === path && (flags & FS.O_CREAT) === 0 ? Promise.reject(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })) : (open as (...a: unknown[]) => unknown)(p, flags, ...rest)) as typeof fsp.open);
    let e: unknown;
    try {
      e = await acquireLockFile(path, 'the store S', 300).catch((x: unknown) => x);
    } finally {
      spy.mockRestore();
    }
    expect(e).toMatchObject({ code: 'STORE_LOCKED' });
    expect((e as Error).message).toMatch(/^the store S is locked by .+\/lock, which this user cannot read \(EACCES\): another user's snap may hold it; wait for it, or delete .+\/lock if no snap runs$/);
  });

  it('does not take over a lock held by a live process', async () => {
    const s = await newStore();
    await fsp.writeFile(join(s.root, 'lock'), JSON.stringify({ pid: process.pid, host: hostname() }));
    await expect(lockStore(s, 150)).rejects.toMatchObject({ code: 'STORE_LOCKED' });
  });

  it.skipIf(bootId() === undefined)('takes over a lock written before this host booted even though its pid names a live process now (a crash, then the pid reused)', async () => {
    const s = await newStore();
    await fsp.writeFile(join(s.root, 'lock'), JSON.stringify({ pid: process.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z', boot: '00000000-0000-4000-8000-000000000000' }));
    const lock = await lockStore(s, 150);
    await lock.release();
  });

  it.skipIf(processStart(process.pid) === undefined)('records when its process started, and takes over a lock whose pid now names another process (a SIGKILL, then the pid reused: it blocked every writer for as long as that process ran)', async () => {
    const s = await newStore();
    const lock = await lockStore(s);
    expect(JSON.parse(await fsp.readFile(join(s.root, 'lock'), 'utf8'))).toMatchObject({ pid: process.pid, start: processStart(process.pid) });
    await expect(lockStore(s, 150)).rejects.toMatchObject({ code: 'STORE_LOCKED' });
    await lock.release();
    // The holder was killed; its pid now names this (live) process, which started at another time.
    const start = (processStart(process.pid) as number) + 1;
    await fsp.writeFile(join(s.root, 'lock'), JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString(), ...(bootId() ? { boot: bootId() } : {}), start }));
    const taken = await lockStore(s, 150);
    await taken.release();
  });

  it.skipIf(pidNamespace() === undefined || processStart(process.pid) === undefined)('never takes over a lock held from another pid namespace of this boot (another container with this host name): its pid means nothing here', async () => {
    const s = await newStore();
    const lock = await lockStore(s);
    expect(JSON.parse(await fsp.readFile(join(s.root, 'lock'), 'utf8'))).toMatchObject({ pidns: pidNamespace() });
    await lock.release();
    // Its pid names a process here that started at another time, or none at all: in its own namespace it may well run.
    for (const pid of [process.pid, 2 ** 22 + 7]) {
      await fsp.writeFile(join(s.root, 'lock'), JSON.stringify({ pid, host: hostname(), since: new Date().toISOString(), ...(bootId() ? { boot: bootId() } : {}), start: (processStart(process.pid) as number) + 1, pidns: 'pid:[1]' }));
      await expect(lockStore(s, 150)).rejects.toMatchObject({ code: 'STORE_LOCKED' });
    }
    await fsp.rm(join(s.root, 'lock'));
  });

  it.skipIf(bootId() === undefined)('records this boot in the lock, and does not take over a live holder of this boot', async () => {
    const s = await newStore();
    const lock = await lockStore(s);
    expect(JSON.parse(await fsp.readFile(join(s.root, 'lock'), 'utf8'))).toMatchObject({ pid: process.pid, host: hostname(), boot: bootId() });
    await expect(lockStore(s, 150)).rejects.toMatchObject({ code: 'STORE_LOCKED' });
    await lock.release();
  });
});

describe('commitSnapshot and resolveRef', () => {
  async function fakeSnapshot(s: Awaited<ReturnType<typeof newStore>>, name: string, version: string, statement: string) {
    const tmp = await makeTmpDir(s, 'seal');
    await fsp.writeFile(join(tmp, 'statement.json'), statement);
    await fsp.writeFile(join(tmp, 'envelope.json'), '{}');
    await fsp.writeFile(join(tmp, 'manifest.jsonl'), '');
    return commitSnapshot(s, tmp, name, version);
  }

  it('refuses to commit over an existing NAME@VERSION (SNAPSHOT_EXISTS) and leaves it unchanged', async () => {
    const s = await newStore();
    const dir = await fakeSnapshot(s, 'ds', 'v1', 'first');
    await expect(fakeSnapshot(s, 'ds', 'v1', 'second')).rejects.toMatchObject({ code: 'SNAPSHOT_EXISTS' });
    expect(await fsp.readFile(join(dir, 'statement.json'), 'utf8')).toBe('first');
  });

  it('resolves NAME@VERSION, and refuses unknown and malformed refs with their codes', async () => {
    const s = await newStore();
    const dir = await fakeSnapshot(s, 'ds', 'v1', 'x');
    expect((await resolveRef('ds@v1', s.root)).dir).toBe(dir);
    await expect(resolveRef('ds@v2', s.root)).rejects.toMatchObject({ code: 'REF_NOT_FOUND' });
    await expect(resolveRef('abcdef', s.root)).rejects.toMatchObject({ code: 'REF_MALFORMED' });
    await expect(resolveRef('Ds@v1', s.root)).rejects.toMatchObject({ code: 'REF_MALFORMED' });
  });

  it('resolves a snapshot id and its 8-hex prefix', async () => {
    const s = await newStore();
    const dir = await fakeSnapshot(s, 'ds', 'v1', 'statement bytes');
    const { createHash } = await import('node:crypto');
    const hex = createHash('sha256').update('statement bytes').digest('hex');
    expect((await resolveRef(`sha256:${hex}`, s.root)).dir).toBe(dir);
    expect((await resolveRef(hex.slice(0, 8), s.root)).dir).toBe(dir);
  });
});
