/**
 * The hashing pool's start-up: workers started before the pool (io/prestart.ts) are configured by
 * message and hash like any other, a pool starts its workers only when there is work for them, and
 * which runs start a worker early (cli/early-workers.ts).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HashPool, type SealReply } from '../../src/io/hash-pool.js';
import { prestartHashWorkers, takeHashWorkers } from '../../src/io/prestart.js';
import { earlyWorkerCount } from '../../src/cli/early-workers.js';
import { makeTree } from '../helpers/tree.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const seal = (pool: HashPool, rels: string[]) => pool.submit<SealReply>({ rels, kinds: rels.map(() => 0), extra: rels.map(() => null) });

describe('HashPool', () => {
  it('starts one worker for a single batch, and a second only when a batch finds the first busy', async () => {
    const root = await makeTree({ a: 'alpha', b: 'beta' });
    const pool = new HashPool({ jobs: 2, mode: 'seal', root });
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
    const pool = new HashPool({ jobs: 2, mode: 'seal', root });
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
    const pool = new HashPool({ jobs: 1, mode: 'seal', root });
    let ended = false;
    void pool.ended().then(() => (ended = true));
    void seal(pool, ['big']); // never answered: close stops its worker (a caller that closes does not wait for it)
    await pool.close();
    await Promise.resolve(); // the ended() callback, queued when the exits resolved, runs first
    expect(ended).toBe(true);
  });

  it('never starts more workers than --jobs', async () => {
    const root = await makeTree({ a: 'alpha' });
    const pool = new HashPool({ jobs: 1, mode: 'seal', root });
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
    const pool = new HashPool({ jobs: 1, mode: 'seal', root });
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
    const pool = new HashPool({ jobs: 2, mode: 'verify', root });
    try {
      const line = `{"path":"f","sha256":"${sha256('was')}","size":3}`;
      const r = await pool.submit<{ id: number; problems: { index: number; kind: string; sha256?: string }[] }>({ kinds: [1], lines: [line], rels: ['f'] });
      expect(r.problems).toEqual([{ index: 0, kind: 'modified', sha256: sha256('now'), size: 3 }]);
    } finally {
      await pool.close();
    }
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
