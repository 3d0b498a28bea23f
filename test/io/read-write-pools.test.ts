/**
 * The read pool (export) and the write pool (restore) start their worker threads as they are
 * needed: one at once, another only when a request finds every started one busy, never more than
 * `--jobs`. An export or a restore of a few small files (the signed totals within the main-thread
 * budget, io/inline-worker.ts) boots no thread at all (each is 75–100 ms of CPU); past that budget
 * threads do the work, large files still spread over them, and the archive still restores byte for
 * byte.
 */
import { promises as fsp } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ReadPool, WHOLE_FILE_MAX } from '../../src/io/read-pool.js';
import { WritePool } from '../../src/io/write-pool.js';
import { WorkerPool } from '../../src/io/worker-pool.js';
import { INLINE_MAX_FILES } from '../../src/io/inline-worker.js';
import { snapJson, tempDir, useKeyPair, type TreeSpec } from '../helpers/tree.js';
import { sealAndExport } from '../helpers/store.js';
import { diffTrees } from '../archive/helpers.js';

const keys = useKeyPair('pools');
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A file of `text` in a new temporary folder: its path, size and digest. */
async function oneFile(text: string): Promise<{ path: string; size: number; sha: string }> {
  const path = join(await tempDir('snap-pools-'), 'f');
  await fsp.writeFile(path, text);
  return { path, size: Buffer.byteLength(text), sha: sha256(text) };
}

/** Seal `spec` and export it with two read workers at most (`--jobs 2`, whatever the cores). */
const exportWithTwo = (spec: TreeSpec) => sealAndExport(spec, keys, 'snap-pools-', ['--jobs', '2']);

/** Run `body`, recording how many workers each pool of `kind` had started when it was closed. */
async function startedAtClose(kind: typeof ReadPool | typeof WritePool, body: () => Promise<void>): Promise<number[]> {
  const started: number[] = [];
  const close = WorkerPool.prototype.close;
  const spy = vi.spyOn(kind.prototype, 'close').mockImplementation(async function (this: WorkerPool<{ id: number }>) {
    started.push(this.started);
    return close.call(this);
  });
  try {
    await body();
  } finally {
    spy.mockRestore();
  }
  return started;
}

describe('the read pool', () => {
  it('starts one worker, a second only when a request finds the first busy, and never more than it was given', async () => {
    const f = await oneFile('some bytes\n');
    const pool = new ReadPool(2);
    try {
      expect(pool.started).toBe(1);
      const one = await pool.files([f.path], [f.size], [f.sha]);
      expect(one.failure).toBeUndefined();
      expect(pool.started).toBe(1); // the only worker was idle again
      const replies = [pool.files([f.path], [f.size], [f.sha]), pool.files([f.path], [f.size], [f.sha]), pool.files([f.path], [f.size], [f.sha])];
      expect(pool.started).toBe(2);
      for (const r of await Promise.all(replies)) expect(r.failure).toBeUndefined();
    } finally {
      await pool.close();
    }
  });
});

describe('the write pool', () => {
  it('starts one worker, a second only when a request finds the first busy, and never more than it was given', async () => {
    const f = await oneFile('other bytes\n');
    const out = await tempDir('snap-pools-out-');
    const pool = new WritePool(2);
    try {
      expect(pool.started).toBe(1);
      expect((await pool.copy([f.path], [join(out, 'a')], [f.size], [f.sha])).failure).toBeUndefined();
      expect(pool.started).toBe(1);
      const replies = ['b', 'c', 'd'].map((n) => pool.copy([f.path], [join(out, n)], [f.size], [f.sha]));
      expect(pool.started).toBe(2);
      for (const r of await Promise.all(replies)) expect(r.failure).toBeUndefined();
      for (const n of ['a', 'b', 'c', 'd']) expect(await fsp.readFile(join(out, n), 'utf8')).toBe('other bytes\n');
    } finally {
      await pool.close();
    }
  });
});

describe('export and restore', () => {
  it('of three small files read and write them on the main thread, booting no thread', async () => {
    let exported: Awaited<ReturnType<typeof exportWithTwo>> | undefined;
    const reads = await startedAtClose(ReadPool, async () => {
      exported = await exportWithTwo({ 'a.txt': 'a\n', 'b/c.txt': 'c\n', 'b/d.txt': 'd\n' });
    });
    expect(reads).toEqual([0]);
    const { data, work, file } = exported as NonNullable<typeof exported>;
    const out = join(work, 'restored');
    const writes = await startedAtClose(WritePool, async () => {
      const r = await snapJson(['restore', file, out, '--pubkey', keys.pub, '--jobs', '2']);
      expect(r.code, r.stderr).toBe(0);
    });
    expect(writes).toEqual([0]);
    expect(diffTrees(data, out).code).toBe(0);
  });

  it(`of more than ${INLINE_MAX_FILES} files read and write them in threads`, async () => {
    const spec: TreeSpec = {};
    for (let i = 0; i <= INLINE_MAX_FILES; i++) spec[`d/f${i}.txt`] = `${i}\n`;
    let exported: Awaited<ReturnType<typeof exportWithTwo>> | undefined;
    const reads = await startedAtClose(ReadPool, async () => {
      exported = await exportWithTwo(spec);
    });
    expect(reads.length).toBe(1);
    expect(reads[0]).toBeGreaterThanOrEqual(1);
    const { data, work, file } = exported as NonNullable<typeof exported>;
    const out = join(work, 'restored');
    const writes = await startedAtClose(WritePool, async () => {
      const r = await snapJson(['restore', file, out, '--pubkey', keys.pub, '--jobs', '2']);
      expect(r.code, r.stderr).toBe(0);
    });
    expect(writes.length).toBe(1);
    expect(writes[0]).toBeGreaterThanOrEqual(1);
    expect(diffTrees(data, out).code).toBe(0);
  });

  it(`of large files (over ${WHOLE_FILE_MAX} bytes each, read block by block) spread them over the workers, and the archive restores byte for byte`, async () => {
    const spec = { 'big1.bin': randomBytes(WHOLE_FILE_MAX + 1), 'big2.bin': randomBytes(WHOLE_FILE_MAX + 4096), 'small.txt': 'small\n' };
    let exported: Awaited<ReturnType<typeof exportWithTwo>> | undefined;
    const reads = await startedAtClose(ReadPool, async () => {
      exported = await exportWithTwo(spec);
    });
    expect(reads).toEqual([2]);
    const { data, work, file } = exported as NonNullable<typeof exported>;
    const out = join(work, 'restored');
    const r = await snapJson(['restore', file, out, '--pubkey', keys.pub, '--jobs', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(diffTrees(data, out).code).toBe(0);
  });
});
