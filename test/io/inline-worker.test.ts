/**
 * A hashing pool's main-thread worker (io/inline-worker.ts): a dataset of a few small files is
 * hashed with no thread booted, with the very replies a thread gives; work past the budget goes to
 * threads, the batch that crossed it included; the stand-in keeps a thread's message semantics;
 * and `seal` / `verify` of a small folder boot no worker early (cli/early-workers.ts).
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yargsFactory from 'yargs/yargs';
import { HashPool, type CheckReply, type CommitReply, type SealReply } from '../../src/io/hash-pool.js';
import { INLINE_MAX_BYTES, INLINE_MAX_FILES, InlineWorker } from '../../src/io/inline-worker.js';
import { keepIdleHashWorkers, takeHashWorkers } from '../../src/io/prestart.js';
import { datasetArgument, earlyWorkerCount, lookAtDataset, SEAL_VERIFY_VALUE_OPTIONS } from '../../src/cli/early-workers.js';
import { sealCommand } from '../../src/cli/commands/seal.js';
import { verifyCommand } from '../../src/cli/commands/verify.js';
import { MAX_JOBS } from '../../src/cli/common.js';
import { makeTree, tempDir } from '../helpers/tree.js';

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const seal = (pool: HashPool, rels: string[]) => pool.submit<SealReply>({ rels, kinds: rels.map(() => 0), extra: rels.map(() => null) });
const names = (n: number) => Array.from({ length: n }, (_, i) => `f${String(i).padStart(4, '0')}`);

/** A folder of `n` files named f0000…, each holding its own name. */
async function manyFiles(n: number): Promise<string> {
  const spec: Record<string, string> = {};
  for (const f of names(n)) spec[f] = f;
  return makeTree(spec);
}

describe('a hashing pool on a few small files', () => {
  beforeAll(async () => {
    keepIdleHashWorkers(false); // as the binary runs: no thread kept from an earlier pool
    await Promise.all(takeHashWorkers(Number.MAX_SAFE_INTEGER).map((w) => w.terminate()));
  });
  afterAll(() => keepIdleHashWorkers(true));

  it('hashes them on the main thread, booting no thread, with the replies a thread gives', async () => {
    const root = await makeTree({ a: 'alpha', 'd/b': 'beta', c: { symlink: 'a' } });
    const inline = new HashPool({ jobs: 2, mode: 'seal', root });
    const threads = new HashPool({ jobs: 2, mode: 'seal', root, inline: false });
    try {
      const batch = { rels: ['a', 'c', 'd/b'], kinds: [0, 1, 0], extra: [null, 'a', null] };
      const [mine, theirs] = await Promise.all([inline.submit<SealReply>(batch), threads.submit<SealReply>(batch)]);
      const folded = { ...batch, start: 5 };
      const [mineFolded, theirsFolded] = await Promise.all([inline.submit<SealReply>(folded), threads.submit<SealReply>(folded)]);
      const [list, theirList] = await Promise.all([inline.list(['', 'd']), threads.list(['', 'd'])]);
      expect(inline.inline).toBe(true);
      expect(inline.started).toBe(0);
      expect(threads.started).toBeGreaterThan(0);
      expect(mine).toEqual({ ...theirs, id: mine.id });
      expect(mine.text).toBe(`{"path":"a","sha256":"${sha256('alpha')}","size":5}\n{"path":"c","target":"a","type":"symlink"}\n{"path":"d/b","sha256":"${sha256('beta')}","size":4}\n`);
      expect(mineFolded).toEqual({ ...theirsFolded, id: mineFolded.id });
      expect(list).toEqual(theirList);
    } finally {
      await Promise.all([inline.close(), threads.close()]);
    }
  });

  it('reports a modified file in verify mode as a thread does', async () => {
    const root = await makeTree({ f: 'now' });
    const pool = new HashPool({ jobs: 1, mode: 'verify', root });
    try {
      const line = `{"path":"f","sha256":"${sha256('was')}","size":3}`;
      const r = await pool.submit<CheckReply>({ kinds: [1], lines: [line], rels: ['f'] });
      expect(r.problems).toEqual([{ index: 0, kind: 'modified', sha256: sha256('now'), size: 3 }]);
      expect(pool.started).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it(`hands a batch that would pass ${INLINE_MAX_FILES} files to a thread, and every batch after it`, async () => {
    const root = await manyFiles(INLINE_MAX_FILES + 10);
    const all = names(INLINE_MAX_FILES + 10);
    const pool = new HashPool({ jobs: 1, mode: 'seal', root });
    try {
      const first = await seal(pool, all.slice(0, 10));
      expect(pool.started).toBe(0);
      const crossing = await seal(pool, all.slice(10)); // 10 + 256 files: past the budget
      expect(pool.started).toBe(1);
      const after = await seal(pool, all.slice(0, 1));
      expect(pool.started).toBe(1); // --jobs 1: one thread, whatever comes
      const lines = (first.text as string) + (crossing.text as string);
      expect(lines.split('\n').slice(0, -1)).toEqual(all.map((f) => `{"path":"${f}","sha256":"${sha256(f)}","size":5}`));
      expect(after.text).toBe(`{"path":"f0000","sha256":"${sha256('f0000')}","size":5}\n`);
    } finally {
      await pool.close();
    }
  });

  it(`hands a batch of more than ${INLINE_MAX_BYTES >> 20} MiB to a thread, judged before reading it`, async () => {
    const big = Buffer.alloc(INLINE_MAX_BYTES + 1, 7);
    const root = await makeTree({ big, small: 'x' });
    const pool = new HashPool({ jobs: 2, mode: 'seal', root });
    try {
      expect(pool.inline).toBe(true);
      const r = await seal(pool, ['small', 'big']);
      expect(pool.started).toBe(1);
      expect(r.text).toBe(`{"path":"small","sha256":"${sha256('x')}","size":1}\n{"path":"big","sha256":"${sha256(big)}","size":${big.length}}\n`);
    } finally {
      await pool.close();
    }
  });

  it('boots a thread once past half its budget, before any batch is declined', async () => {
    const half = INLINE_MAX_FILES / 2 + 1;
    const root = await manyFiles(half);
    const pool = new HashPool({ jobs: 2, mode: 'seal', root });
    try {
      const r = await seal(pool, names(half));
      expect(r.error).toBeUndefined();
      expect(pool.started).toBe(1);
      // Still within the budget: two batches at once both go to the main thread (threads alone would boot a second).
      const [a, b] = await Promise.all([seal(pool, ['f0000']), seal(pool, ['f0001'])]);
      expect([a.error, b.error]).toEqual([undefined, undefined]);
      expect(pool.started).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it('in a store, commits the objects it wrote and those a thread wrote after it declined', async () => {
    const root = await manyFiles(INLINE_MAX_FILES + 2);
    const all = names(INLINE_MAX_FILES + 2);
    const store = join(await tempDir(), 'store');
    const objectsDir = join(store, 'objects', 'sha256');
    const tmpDir = join(store, 'tmp');
    await fsp.mkdir(objectsDir, { recursive: true });
    await fsp.mkdir(tmpDir);
    const pool = new HashPool({ jobs: 1, mode: 'store', root, objectsDir, tmpDir });
    try {
      expect(pool.size).toBe(2); // the main-thread worker's slot (pending-0), and one thread's (pending-1)
      const a = await seal(pool, all.slice(0, 2));
      const b = await seal(pool, all.slice(2));
      expect(a.newObjects + b.newObjects).toBe(all.length);
      expect(pool.started).toBe(1);
      expect((await fsp.readdir(tmpDir)).sort()).toEqual(['pending-0', 'pending-1']);
      const commits = await pool.broadcast<CommitReply>({ commit: true, hexes: true });
      expect(commits.map((c) => c.renamed)).toEqual([2, all.length - 2]);
      for (const f of all) expect(await fsp.readFile(join(objectsDir, sha256(f).slice(0, 2), sha256(f).slice(2)), 'utf8')).toBe(f);
    } finally {
      await pool.close();
    }
  });

  it(`hands a batch to a thread when one of its files grows past the budget after it was admitted, before reading that file: the objects it made removed, each kept and counted once`, async () => {
    const root = await makeTree({ a: 'alpha', b: 'beta', c: 'gamma' });
    const store = join(await tempDir(), 'store');
    const objectsDir = join(store, 'objects', 'sha256');
    const tmpDir = join(store, 'tmp');
    await fsp.mkdir(objectsDir, { recursive: true });
    await fsp.mkdir(tmpDir);
    const before = process.env.SNAP_TEST_REPLACE_BEFORE_OPEN;
    process.env.SNAP_TEST_REPLACE_BEFORE_OPEN = `grow:${join(root, 'b')}`; // 16 MiB, just before it is opened
    const pool = new HashPool({ jobs: 1, mode: 'store', root, objectsDir, tmpDir });
    try {
      expect(pool.inline).toBe(true);
      const r = await seal(pool, ['a', 'b', 'c']);
      expect(pool.started).toBe(1); // the thread read it, not the main thread (which keeps signals waiting while it reads)
      const grown = await fsp.readFile(join(root, 'b'));
      expect(grown.length).toBe(16 << 20);
      expect(r.text).toBe(`{"path":"a","sha256":"${sha256('alpha')}","size":5}\n{"path":"b","sha256":"${sha256(grown)}","size":${16 << 20}}\n{"path":"c","sha256":"${sha256('gamma')}","size":5}\n`);
      expect(r.newObjects).toBe(3);
      // 'a' was kept by the main-thread worker before it declined: removed, so the thread's copy is the one kept and counted.
      expect(await fsp.readdir(join(tmpDir, 'pending-0')).catch(() => [])).toEqual([]);
      const commits = await pool.broadcast<CommitReply>({ commit: true, hexes: true });
      expect(commits.reduce((n, c) => n + c.renamed, 0)).toBe(3);
      expect(commits.reduce((n, c) => n + c.duplicates, 0)).toBe(0);
      expect(await fsp.readFile(join(objectsDir, sha256('alpha').slice(0, 2), sha256('alpha').slice(2)), 'utf8')).toBe('alpha');
    } finally {
      if (before === undefined) delete process.env.SNAP_TEST_REPLACE_BEFORE_OPEN;
      else process.env.SNAP_TEST_REPLACE_BEFORE_OPEN = before;
      await pool.close();
    }
  });

  it('in verify mode too: a file grown past the budget after its batch was admitted is read by a thread, and reported modified', async () => {
    const root = await makeTree({ a: 'alpha', b: 'beta' });
    const before = process.env.SNAP_TEST_REPLACE_BEFORE_OPEN;
    process.env.SNAP_TEST_REPLACE_BEFORE_OPEN = `grow:${join(root, 'b')}`;
    const pool = new HashPool({ jobs: 1, mode: 'verify', root });
    try {
      const line = (f: string, c: string) => `{"path":"${f}","sha256":"${sha256(c)}","size":${c.length}}`;
      const r = await pool.submit<CheckReply>({ kinds: [1, 1], lines: [line('a', 'alpha'), line('b', 'beta')], rels: ['a', 'b'] });
      expect(pool.started).toBe(1);
      expect(r.problems).toEqual([{ index: 1, kind: 'modified', sha256: sha256(await fsp.readFile(join(root, 'b'))), size: 16 << 20 }]);
    } finally {
      if (before === undefined) delete process.env.SNAP_TEST_REPLACE_BEFORE_OPEN;
      else process.env.SNAP_TEST_REPLACE_BEFORE_OPEN = before;
      await pool.close();
    }
  });

  it('refuses a pending folder planted as a link, as a thread does (STORE_MALFORMED), writing nothing through it', async () => {
    const root = await makeTree({ f: 'alpha' });
    const store = join(await tempDir(), 'store');
    await fsp.mkdir(join(store, 'objects', 'sha256'), { recursive: true });
    await fsp.mkdir(join(store, 'tmp'));
    const elsewhere = await tempDir();
    await fsp.symlink(elsewhere, join(store, 'tmp', 'pending-0'));
    const pool = new HashPool({ jobs: 1, mode: 'store', root, objectsDir: join(store, 'objects', 'sha256'), tmpDir: join(store, 'tmp') });
    try {
      expect((await seal(pool, ['f'])).error).toMatchObject({ code: 'STORE_MALFORMED' });
      expect(pool.started).toBe(0);
      expect(await fsp.readdir(elsewhere)).toEqual([]);
    } finally {
      await pool.close();
    }
  });
});

describe('InlineWorker', () => {
  /** A body that echoes each message with the byte length of its `buf`. */
  const echo = (require: NodeJS.Require) => {
    const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
    (parentPort as import('node:worker_threads').MessagePort).on('message', (m: { id: number; buf?: Uint8Array; boom?: true }) => {
      if (m.boom) throw new Error('boom');
      (parentPort as import('node:worker_threads').MessagePort).postMessage({ id: m.id, bytes: m.buf?.byteLength, data: workerData });
    });
  };

  it('moves the buffers it is given, as postMessage does, and answers in a later turn', async () => {
    const w = new InlineWorker(echo, { tag: 1 });
    const buf = new Uint8Array(16);
    const reply = new Promise((r) => w.on('message', r));
    let answered = false;
    void reply.then(() => (answered = true));
    w.postMessage({ id: 1, buf }, [buf.buffer]);
    expect(buf.byteLength).toBe(0); // detached here
    await Promise.resolve();
    expect(answered).toBe(false);
    expect(await reply).toEqual({ id: 1, bytes: 16, data: { tag: 1 } });
    await w.terminate();
  });

  it('a body that throws ends the worker with an error, then an exit', async () => {
    const w = new InlineWorker(echo, undefined);
    const events: string[] = [];
    const exited = new Promise<void>((done) => w.on('exit', () => done()));
    w.on('error', (e: Error) => events.push(`error ${e.message}`));
    w.on('exit', (code: number) => events.push(`exit ${code}`));
    w.postMessage({ id: 1, boom: true });
    await exited;
    expect(events).toEqual(['error boom', 'exit 1']);
  });

  it('terminate drops a message not yet delivered', async () => {
    const w = new InlineWorker(echo, undefined);
    let replies = 0;
    w.on('message', () => replies++);
    w.postMessage({ id: 1 });
    expect(await w.terminate()).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(replies).toBe(0);
  });
});

describe('which seal and verify runs boot a worker early', () => {
  it('finds the folder argument among options and their values', () => {
    expect(datasetArgument(['seal', 'data', '--as', 'a@1', '--key', 'k'])).toBe('data');
    expect(datasetArgument(['--store', 's', 'seal', '--key', 'k', '--manifest-only', 'data'])).toBe('data');
    expect(datasetArgument(['verify', '--against', 'a@1', '-j', '2', 'data'])).toBe('data');
    expect(datasetArgument(['seal', '--', '-data'])).toBe('-data');
    expect(datasetArgument(['verify', '--pubkey', 'k.pub'])).toBeUndefined();
  });

  it('knows every option of seal and verify that takes a value (the yargs declarations)', () => {
    for (const cmd of [sealCommand, verifyCommand]) {
      // yargs' own record of the declared options (getOptions is not in its published types).
      const o = (cmd.builder(yargsFactory([])) as unknown as { getOptions(): { string: string[]; array: string[]; number: string[]; alias: Record<string, string[]> } }).getOptions();
      const takesValue = new Set([...o.string, ...o.array, ...o.number].filter((k) => k !== 'dir' && k !== 'ref'));
      for (const [name, aliases] of Object.entries(o.alias)) if (takesValue.has(name)) for (const a of aliases) takesValue.add(a);
      for (const k of takesValue) expect(SEAL_VERIFY_VALUE_OPTIONS.has(k.length === 1 ? `-${k}` : `--${k}`), `${cmd.command}: --${k}`).toBe(true);
    }
  });

  it('boots none for a folder of a few small files, which is hashed on the main thread', async () => {
    const small = await makeTree({ a: 'alpha', 'd/e/b': 'beta' });
    expect(lookAtDataset(small, 2)).toEqual({ files: 2, small: true });
    expect(earlyWorkerCount(['seal', small, '--as', 'a@1', '--key', 'k'])).toBe(0);
    expect(earlyWorkerCount(['verify', small, '--jobs', '2'])).toBe(0);
  });

  it(`boots one for a folder of one file past ${INLINE_MAX_BYTES >> 20} MiB, or a folder it cannot read`, async () => {
    const many = await manyFiles(INLINE_MAX_FILES + 1);
    const large = await makeTree({ a: Buffer.alloc(INLINE_MAX_BYTES + 1) });
    expect(lookAtDataset(large, 8)).toEqual({ files: 1, small: false });
    for (const dir of [large, join(many, 'no-such-folder'), join(many, 'f0000')]) {
      if (dir !== large) expect(lookAtDataset(dir, 8), dir).toBeUndefined();
      expect(earlyWorkerCount(['seal', dir, '--as', 'a@1', '--key', 'k'], 8), dir).toBe(1);
    }
  });

  it(`boots as many as --jobs (default: the cores) for more than ${INLINE_MAX_FILES} entries, no more than the files it saw`, async () => {
    const many = await manyFiles(INLINE_MAX_FILES + 1);
    expect(lookAtDataset(many, 2)).toEqual({ files: INLINE_MAX_FILES + 1, small: false }); // it reads no more than the budget and one
    expect(earlyWorkerCount(['seal', many, '--as', 'a@1', '--key', 'k'], 2)).toBe(2);
    expect(earlyWorkerCount(['verify', many, '--jobs', '3'], 2)).toBe(3);
    expect(earlyWorkerCount(['verify', many, '--jobs=1'], 8)).toBe(1);
    expect(earlyWorkerCount(['seal', many, '--as', 'a@1', '--key', 'k'], 64)).toBe(64);
    // -j is --jobs too; past MAX_JOBS (a usage error) none is booted.
    expect(earlyWorkerCount(['verify', many, '-j', '1'], 8)).toBe(1);
    expect(earlyWorkerCount(['verify', many, '-j3'], 8)).toBe(3);
    expect(earlyWorkerCount(['verify', many, '-j=4'], 8)).toBe(4);
    expect(earlyWorkerCount(['verify', many, '--jobs', String(MAX_JOBS)], 2)).toBe(MAX_JOBS);
    expect(earlyWorkerCount(['verify', many, '--jobs', String(MAX_JOBS + 1)], 2)).toBe(0);
    expect(earlyWorkerCount(['verify', many, '-j', '0'], 2)).toBe(0);
    // Three files past the byte budget: three workers at most, however many cores.
    const three = await makeTree({ a: Buffer.alloc((INLINE_MAX_BYTES >> 1) + 1), 'd/b': Buffer.alloc(INLINE_MAX_BYTES >> 1), 'd/e/c': 'x' });
    expect(lookAtDataset(three, 8)).toEqual({ files: 3, small: false });
    expect(lookAtDataset(three, 2)).toEqual({ files: 2, small: false }); // past the budget at the second file: it stops there with enough files seen
    expect(earlyWorkerCount(['seal', three, '--as', 'a@1', '--key', 'k'], 8)).toBe(3);
    expect(earlyWorkerCount(['seal', three, '--as', 'a@1', '--key', 'k'], 2)).toBe(2);
    // Folders alone past the entry budget: one.
    const folders = await tempDir();
    for (let i = 0; i <= INLINE_MAX_FILES; i++) await fsp.mkdir(join(folders, `d${i}`));
    expect(earlyWorkerCount(['seal', folders, '--as', 'a@1', '--key', 'k'], 8)).toBe(1);
  });
});
