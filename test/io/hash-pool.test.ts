/**
 * The hashing pool's start-up: workers started before the pool (io/prestart.ts) are configured by
 * message and hash like any other, a pool starts its threads only when there is work for them (the
 * thread tests turn the main-thread worker off: `inline: false`), and which runs start a worker
 * early (cli/early-workers.ts); and, when the process asks for it, idle workers kept from one pool
 * for the next (`keepIdleHashWorkers`). The main-thread worker has its own file
 * (inline-worker.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HashPool, type SealReply } from '../../src/io/hash-pool.js';
import { keepIdleHashWorkers, MAX_KEPT_WORKERS, prestartHashWorkers, takeHashWorkers } from '../../src/io/prestart.js';
import { earlyWorkerCount } from '../../src/cli/early-workers.js';
import { makeTree, snap, tempDir, useKeyPair } from '../helpers/tree.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const seal = (pool: HashPool, rels: string[]) => pool.submit<SealReply>({ rels, kinds: rels.map(() => 0), extra: rels.map(() => null) });

/** Every worker kept or pre-started, taken out and stopped: the next pool starts from none. */
async function dropSpares(): Promise<void> {
  await Promise.all(takeHashWorkers(Number.MAX_SAFE_INTEGER).map((w) => w.terminate()));
}

describe('HashPool', () => {
  // As the `snap` binary runs it: idle workers are stopped, not kept (the suite's setup keeps them).
  beforeAll(async () => {
    keepIdleHashWorkers(false);
    await dropSpares();
  });
  afterAll(() => keepIdleHashWorkers(true));

  it('starts one worker for a single batch, and a second only when a batch finds the first busy', async () => {
    const root = await makeTree({ a: 'alpha', b: 'beta' });
    const pool = new HashPool({ jobs: 2, mode: 'seal', root, inline: false });
    try {
      expect(pool.size).toBe(2);
      expect(pool.started).toBe(1);
      const first = seal(pool, ['a']);
      expect(pool.started).toBe(1); // the only worker was idle
      const second = seal(pool, ['b']);
      expect(pool.started).toBe(2); // the first was busy
      const [r1, r2] = await Promise.all([first, second]);
      expect(r1.text).toBe(`{"path":"a","sha256":"${sha256('alpha')}","size":5}\n`);
      expect(r2.text).toBe(`{"path":"b","sha256":"${sha256('beta')}","size":4}\n`);
    } finally {
      await pool.close();
    }
  });

  it('closes without waiting for idle threads to end, and they end all the same', async () => {
    const root = await makeTree({ a: 'alpha', b: 'beta' });
    const pool = new HashPool({ jobs: 2, mode: 'seal', root, inline: false });
    await Promise.all([seal(pool, ['a']), seal(pool, ['b'])]);
    expect(pool.started).toBe(2);
    let ended = false;
    const threadsEnded = pool.ended().then(() => (ended = true));
    await pool.close();
    await threadsEnded; // each thread was told to stop: none is left running
    expect(ended).toBe(true);
  });

  it('with a batch still waiting, close returns only once every thread has ended', async () => {
    const root = await makeTree({ big: 'x'.repeat(8 << 20) });
    const pool = new HashPool({ jobs: 1, mode: 'seal', root, inline: false });
    let ended = false;
    void pool.ended().then(() => (ended = true));
    void seal(pool, ['big']); // never answered: close stops its worker (a caller that closes does not wait for it)
    await pool.close();
    await Promise.resolve(); // the ended() callback, queued when the exits resolved, runs first
    expect(ended).toBe(true);
  });

  it('never starts more workers than --jobs', async () => {
    const root = await makeTree({ a: 'alpha' });
    const pool = new HashPool({ jobs: 1, mode: 'seal', root, inline: false });
    try {
      const replies = await Promise.all([seal(pool, ['a']), seal(pool, ['a']), seal(pool, ['a'])]);
      expect(pool.started).toBe(1);
      for (const r of replies) expect(r.text).toContain(sha256('alpha'));
    } finally {
      await pool.close();
    }
  });

  it('takes a worker started before it, configures it by message, and it hashes the pool’s folder', async () => {
    const root = await makeTree({ 'x/y': 'content' });
    prestartHashWorkers(1);
    const pool = new HashPool({ jobs: 1, mode: 'seal', root, inline: false });
    try {
      expect(takeHashWorkers(1)).toEqual([]); // the pool took it
      const r = await seal(pool, ['x/y']);
      expect(r.error).toBeUndefined();
      expect(r.text).toBe(`{"path":"x/y","sha256":"${sha256('content')}","size":7}\n`);
    } finally {
      await pool.close();
    }
  });

  it('a pre-started worker in verify mode reports a modified file as the others do', async () => {
    const root = await makeTree({ f: 'now' });
    prestartHashWorkers(1);
    const pool = new HashPool({ jobs: 2, mode: 'verify', root, inline: false });
    try {
      const line = `{"path":"f","sha256":"${sha256('was')}","size":3}`;
      const r = await pool.submit<{ id: number; problems: { index: number; kind: string; sha256?: string }[] }>({ kinds: [1], lines: [line], rels: ['f'] });
      expect(r.problems).toEqual([{ index: 0, kind: 'modified', sha256: sha256('now'), size: 3 }]);
    } finally {
      await pool.close();
    }
  });
});

describe('HashPool with idle workers kept (keepIdleHashWorkers)', () => {
  beforeAll(async () => {
    keepIdleHashWorkers(true);
    await dropSpares();
  });
  afterAll(dropSpares);

  it('hands its idle worker to the next pool, which configures it for its own folder and mode', async () => {
    const a = await makeTree({ f: 'alpha' });
    const b = await makeTree({ f: 'beta' });
    const first = new HashPool({ jobs: 1, mode: 'seal', root: a, inline: false });
    expect((await seal(first, ['f'])).text).toContain(sha256('alpha'));
    await first.close();
    // ended: the pool has no thread left of its own (its worker is the next pool's, still running)
    const ended = await Promise.race([first.ended().then(() => 'ended'), new Promise((r) => setTimeout(() => r('still waiting'), 5_000))]);
    expect(ended).toBe('ended');
    const second = new HashPool({ jobs: 1, mode: 'verify', root: b, inline: false });
    try {
      expect(takeHashWorkers(1)).toEqual([]); // the kept worker went to the second pool
      const line = `{"path":"f","sha256":"${sha256('alpha')}","size":5}`;
      const r = await second.submit<{ id: number; problems: { index: number; kind: string; sha256?: string }[] }>({ kinds: [1], lines: [line], rels: ['f'] });
      expect(r.problems).toEqual([{ index: 0, kind: 'modified', sha256: sha256('beta'), size: 4 }]); // b's file, in verify mode
    } finally {
      await second.close();
    }
    const kept = takeHashWorkers(2);
    expect(kept).toHaveLength(1); // one thread served both pools, and is kept again
    await Promise.all(kept.map((w) => w.terminate()));
  });

  it('keeps no worker of a pool closed with a batch still waiting: it is stopped, and its thread ends', async () => {
    const root = await makeTree({ big: 'x'.repeat(8 << 20) });
    const pool = new HashPool({ jobs: 1, mode: 'seal', root, inline: false });
    let ended = false;
    void pool.ended().then(() => (ended = true));
    void seal(pool, ['big']);
    await pool.close();
    await Promise.resolve();
    expect(ended).toBe(true);
    expect(takeHashWorkers(1)).toEqual([]);
  });

  it('hands over nothing when closed a second time: the threads the first close stopped are not kept', async () => {
    // A seal on a full disk closed its pool with a batch waiting (its threads stopped), the batch's
    // reply came meanwhile, and its clean-up closed the pool again: the ended threads were kept, and
    // the next seal waited for ever on them.
    const root = await makeTree({ f: 'alpha' });
    const pool = new HashPool({ jobs: 1, mode: 'seal', root, inline: false });
    await seal(pool, ['f']);
    keepIdleHashWorkers(false);
    await pool.close(); // stopped, as the binary does
    await pool.ended();
    keepIdleHashWorkers(true);
    await pool.close();
    expect(takeHashWorkers(1)).toEqual([]);
    const next = new HashPool({ jobs: 1, mode: 'seal', root, inline: false });
    try {
      expect((await seal(next, ['f'])).text).toContain(sha256('alpha')); // a new thread, which answers
    } finally {
      await next.close();
    }
  });

  it(`keeps at most ${MAX_KEPT_WORKERS} workers, stopping the others`, async () => {
    const root = await makeTree({ f: 'alpha' });
    const jobs = MAX_KEPT_WORKERS + 2;
    const pool = new HashPool({ jobs, mode: 'seal', root, inline: false });
    // Every worker started: each batch finds the ones before it busy.
    const replies = await Promise.all(Array.from({ length: jobs }, () => seal(pool, ['f'])));
    expect(pool.started).toBe(jobs);
    for (const r of replies) expect(r.text).toContain(sha256('alpha'));
    await pool.close();
    const kept = takeHashWorkers(jobs);
    expect(kept).toHaveLength(MAX_KEPT_WORKERS);
    await Promise.all(kept.map((w) => w.terminate()));
  });

  it('stops the kept workers when turned off', async () => {
    const root = await makeTree({ f: 'alpha' });
    const pool = new HashPool({ jobs: 1, mode: 'seal', root, inline: false });
    await seal(pool, ['f']);
    await pool.close();
    keepIdleHashWorkers(false);
    try {
      expect(takeHashWorkers(1)).toEqual([]);
    } finally {
      keepIdleHashWorkers(true);
    }
  });

  it('leaves a process that keeps its idle workers free to exit once its work is done', async () => {
    // The built library (npm test builds it first), in a process of its own: kept workers are unreferenced.
    const dist = join(__dirname, '..', '..', 'dist', 'index.js');
    const hashPool = join(__dirname, '..', '..', 'dist', 'io', 'hash-pool.js');
    const script = `
      const { keepIdleHashWorkers } = await import(${JSON.stringify(dist)});
      const { HashPool } = await import(${JSON.stringify(hashPool)});
      keepIdleHashWorkers(true);
      const pool = new HashPool({ jobs: 2, mode: 'seal', root: ${JSON.stringify(__dirname)}, inline: false });
      const r = await pool.submit({ rels: ['hash-pool.test.ts'], kinds: [0], extra: [null] });
      await pool.close();
      process.stdout.write(r.text.includes('"path":"hash-pool.test.ts"') ? 'hashed' : 'not hashed');`;
    const file = join(await tempDir('snap-keep-workers-'), 'run.mjs');
    await fsp.writeFile(file, script);
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
    expect(r.error).toBeUndefined(); // no timeout: the process ended by itself
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hashed');
    expect(r.status).toBe(0);
  });
});

describe("a store seal's pending folder", () => {
  beforeAll(async () => {
    keepIdleHashWorkers(true);
    await dropSpares();
  });
  afterAll(dropSpares);

  /** A store's folders as a seal has them: STORE/objects/sha256 and STORE/tmp. */
  async function storeFolders(): Promise<{ store: string; objectsDir: string; tmpDir: string }> {
    const store = join(await tempDir(), 'store');
    const objectsDir = join(store, 'objects', 'sha256');
    await fsp.mkdir(objectsDir, { recursive: true });
    await fsp.mkdir(join(store, 'tmp'));
    return { store, objectsDir, tmpDir: join(store, 'tmp') };
  }

  it('is made only when the worker keeps an object: a kept worker configured for a store removed meanwhile (a seal that failed first) does not bring its folder back', async () => {
    const root = await makeTree({ f: 'alpha' });
    const first = new HashPool({ jobs: 1, mode: 'seal', root, inline: false });
    await seal(first, ['f']);
    await first.close(); // its worker is kept, and takes the next pool's configuration by message
    const { store, objectsDir, tmpDir } = await storeFolders();
    await fsp.rm(store, { recursive: true });
    const pool = new HashPool({ jobs: 1, mode: 'store', root, objectsDir, tmpDir });
    try {
      expect((await pool.list([''])).length).toBe(1); // answered: the configuration before it was read
      await expect(fsp.lstat(store)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await pool.close();
    }
  });

  it('planted as a link is refused (STORE_MALFORMED): no copy of the data is written where it leads', async () => {
    const root = await makeTree({ f: 'alpha' });
    const { objectsDir, tmpDir } = await storeFolders();
    const elsewhere = await tempDir();
    await fsp.symlink(elsewhere, join(tmpDir, 'pending-0'));
    const pool = new HashPool({ jobs: 1, mode: 'store', root, objectsDir, tmpDir });
    try {
      const r = await seal(pool, ['f']);
      expect(r.error).toMatchObject({ code: 'STORE_MALFORMED' });
      expect(await fsp.readdir(elsewhere)).toEqual([]);
    } finally {
      await pool.close();
    }
  });
});

describe('a seal whose pending folder is planted as a link while it runs', () => {
  const keys = useKeyPair('pending-link');

  it('stops with STORE_MALFORMED (exit 3), commits no snapshot, writes nothing where the link leads, and leaves a store fsck passes', async () => {
    const data = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'beta\n' });
    const store = join(await tempDir(), 'store');
    expect((await snap(['seal', await makeTree({ 'old.txt': 'old\n' }), '--as', 'ds@v0', '--key', keys.key, '--store', store])).code).toBe(0);
    const elsewhere = await tempDir();
    // Someone who can write the store but holds no key plants the links after the seal cleared its
    // tmp folder under the lock, and before its first batch reaches a worker.
    const submit = HashPool.prototype.submit;
    let planted = false;
    const spy = vi.spyOn(HashPool.prototype, 'submit').mockImplementation(function (this: HashPool, ...args: Parameters<HashPool['submit']>) {
      if (!planted) {
        planted = true;
        for (const w of [0, 1]) spawnSync('ln', ['-s', elsewhere, join(store, 'tmp', `pending-${w}`)]);
      }
      return submit.apply(this, args);
    } as HashPool['submit']);
    let r: Awaited<ReturnType<typeof snap>>;
    try {
      r = await snap(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store]);
    } finally {
      spy.mockRestore();
    }
    expect(planted).toBe(true);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('[STORE_MALFORMED]');
    expect(r.stderr).toContain('is not a folder of the store');
    expect(await fsp.readdir(elsewhere)).toEqual([]);
    expect(await fsp.readdir(join(store, 'snapshots', 'ds'))).toEqual(['v0']);
    const fsck = await snap(['fsck', '--store', store]);
    expect(fsck.code, fsck.stdout + fsck.stderr).toBe(0);
  });
});

describe('earlyWorkerCount', () => {
  it('starts one worker early for seal and verify of a folder', () => {
    expect(earlyWorkerCount(['seal', 'data', '--as', 'a@1', '--key', 'k'])).toBe(1);
    expect(earlyWorkerCount(['verify', 'data', '--against', 'a@1', '--pubkey', 'k.pub', '--jobs', '4'])).toBe(1);
    expect(earlyWorkerCount(['--json', 'verify', 'data', '--jobs=2'])).toBe(1);
    expect(earlyWorkerCount(['--store', 'seal', 'seal', 'data', '--as', 'a@1', '--key', 'k'])).toBe(1); // a store named seal, before the command
    expect(earlyWorkerCount(['--store', 'verify', 'list'])).toBe(0);
  });

  it('starts none for other commands, help, version, S3, archives, merging or a bad --jobs', () => {
    for (const argv of [
      ['keygen', 'k'],
      ['diff', 'a@1', 'b@1'],
      ['seal', '--help'],
      ['verify', 'data', '-h'],
      ['--version'],
      ['seal', 's3://bucket/prefix', '--as', 'a@1', '--key', 'k'],
      ['seal', 'data', '--store', 's3://bucket/store', '--as', 'a@1', '--key', 'k'],
      ['seal', 'data', '--out', 'x.snap.tar', '--as', 'a@1', '--key', 'k'],
      ['verify', 'a@1.snap.tar', '--pubkey', 'k.pub'],
      ['verify', '--merge', 'r1.json', 'r2.json'],
      ['seal', 'data', '--jobs', '0'],
      ['seal', 'data', '--jobs', 'many'],
      [],
    ]) {
      expect(earlyWorkerCount(argv), argv.join(' ')).toBe(0);
    }
  });
});
