/**
 * The walk with folders listed by the hashing workers (src/io/parallel-walk.ts): the manifest,
 * its SHA-256 and its Merkle root are byte for byte those of the walk on the main thread (walk.ts),
 * whatever the tree; folders that are not plain are walked by walk.ts, with its errors.
 */
import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { scanDataset, appendLeaves } from '../../src/ops/seal.js';
import { MerkleTreeBuilder } from '../../src/core/merkle.js';
import { serializeEntry } from '../../src/core/manifest.js';
import { compareUtf8 } from '../../src/core/paths.js';
import { SnapError } from '../../src/core/errors.js';
import { makeTree, tempDir, type TreeSpec } from '../helpers/tree.js';
import { HashPool } from '../../src/io/hash-pool.js';
import { walkParallel, isFileRun, LIST_GROUP, type ParallelRun } from '../../src/io/parallel-walk.js';

interface Scanned {
  manifest: string;
  manifestSha256: string;
  merkleRoot: string;
  files: number;
}

/** Scan `dir` as a seal --manifest-only does, the folders listed by the workers or not. */
async function scan(dir: string, walkInWorkers: boolean, opts: { skipDirs?: string[]; jobs?: number } = {}): Promise<Scanned> {
  const parts: Buffer[] = [];
  const h = createHash('sha256');
  const tree = new MerkleTreeBuilder();
  const totals = await scanDataset({ dir, jobs: opts.jobs ?? 2, walkInWorkers, skipDirs: opts.skipDirs }, (text, leaves, count) => {
    const bytes = typeof text === 'string' ? Buffer.from(text) : Buffer.from(text);
    parts.push(bytes);
    h.update(bytes);
    appendLeaves(tree, leaves, count);
  });
  return { manifest: Buffer.concat(parts).toString('utf8'), manifestSha256: h.digest('hex'), merkleRoot: Buffer.from(tree.root()).toString('hex'), files: totals.files };
}

/** The manifest computed here, from the spec (the files' digests from their contents). */
function expectedManifest(spec: TreeSpec): string {
  const paths = Object.keys(spec).sort(compareUtf8);
  return paths
    .map((p) => {
      const v = spec[p] as string | Buffer | { symlink: string };
      if (typeof v === 'object' && !Buffer.isBuffer(v)) return serializeEntry({ path: p, target: v.symlink, type: 'symlink' });
      const b = Buffer.from(v);
      return serializeEntry({ path: p, sha256: createHash('sha256').update(b).digest('hex'), size: b.length });
    })
    .map((l) => `${l}\n`)
    .join('');
}

/** {@link scan} with stores inside the dataset (only their layout left out). */
async function scanStores(dir: string, walkInWorkers: boolean, stores: string[]): Promise<Scanned> {
  const parts: Buffer[] = [];
  const h = createHash('sha256');
  const tree = new MerkleTreeBuilder();
  const totals = await scanDataset({ dir, jobs: 2, walkInWorkers, stores }, (text, leaves, count) => {
    const bytes = Buffer.from(text);
    parts.push(bytes);
    h.update(bytes);
    appendLeaves(tree, leaves, count);
  });
  return { manifest: Buffer.concat(parts).toString('utf8'), manifestSha256: h.digest('hex'), merkleRoot: Buffer.from(tree.root()).toString('hex'), files: totals.files };
}

describe('the walk with folders listed by the hashing workers', () => {
  it('gives the manifest, its digest and the Merkle root of the walk on the main thread, in byte order of the paths', async () => {
    // Files and folders whose names sort differently with and without the folder's "/": a-b < a/ < a0.
    const spec: TreeSpec = {};
    for (const p of ['a/x', 'a-b', 'a.txt', 'aa', 'B', 'a/b/c', 'a/b-c', 'a0', 'ab/c', 'z/y/x/w/v', 'z/y/x/w-', ' sp ace/f', '~/t', 'q"uote', 'back\\slash/f', 'dir.with.dots/g']) spec[p] = p;
    for (let d = 0; d < 7; d++) for (let f = 0; f < 150; f++) spec[`data/d${d}/f${String(f).padStart(3, '0')}.bin`] = `${d}:${f}`;
    const root = await makeTree(spec);
    const fast = await scan(root, true);
    const slow = await scan(root, false);
    expect(fast).toEqual(slow);
    expect(fast.manifest).toBe(expectedManifest(spec));
    expect(fast.files).toBe(Object.keys(spec).length);
  });

  it('has plain folders listed by the workers (runs of names) and the others walked here (items)', async () => {
    const root = await makeTree({ 'a/f1': '1', 'a/f2': '2', 'a/sub/g': 'g', 'b/é': 'e', 'b/x/y': 'y', 'c/h': 'h' });
    const pool = new HashPool({ jobs: 2, mode: 'seal', root });
    const runs: ParallelRun[] = [];
    try {
      for await (const r of walkParallel(root, (folders) => pool.list(folders))) runs.push(r);
    } finally {
      await pool.close();
    }
    const shown = runs.map((r) => (isFileRun(r) ? `listed ${r.dir}: ${r.files.slice(r.offsets[r.from], (r.offsets[r.to] as number) - 1).split('\n').join(',')}` : `walked ${r.map((i) => i.path).join(',')}`));
    expect(shown).toEqual(['listed a: f1,f2', 'listed a/sub: g', 'walked b/x/y,b/é', 'listed c: h']);
  });

  it('asks for the listings of sibling folders a group to a message, and walks them in order, the store left out', async () => {
    // 21 sibling folders, one of them the store (left out) and one not plain: 3 messages for the
    // siblings (folders 0–7 but the store, 8–15, 16–20) after the one for the root and the one for `data`.
    const spec: TreeSpec = {};
    for (let d = 0; d < 21; d++) if (d !== 5) spec[`data/d${String(d).padStart(2, '0')}/f`] = `${d}`;
    spec['data/d07/é'] = 'e';
    spec['data/d05/objects/x'] = 'x';
    const root = await makeTree(spec);
    const pool = new HashPool({ jobs: 2, mode: 'seal', root });
    const asked: string[][] = [];
    const runs: ParallelRun[] = [];
    try {
      for await (const r of walkParallel(
        root,
        async (folders) => {
          asked.push(folders);
          return pool.list(folders);
        },
        { skipDirs: [join(root, 'data', 'd05')] },
      ))
        runs.push(r);
    } finally {
      await pool.close();
    }
    expect(asked.map((g) => g.length)).toEqual([1, 1, LIST_GROUP - 1, LIST_GROUP, 5]);
    expect(asked.flat()).not.toContain('data/d05');
    const shown = runs.map((r) => (isFileRun(r) ? `listed ${r.dir}` : `walked ${r.map((i) => i.path).join(',')}`));
    const want = [];
    for (let d = 0; d < 21; d++) if (d !== 5) want.push(d === 7 ? 'walked data/d07/f,data/d07/é' : `listed data/d${String(d).padStart(2, '0')}`);
    expect(shown).toEqual(want);
  });

  it('hands folders that are not plain (symlinks, non-ASCII names) to the main thread walk, in place', async () => {
    const spec: TreeSpec = {
      'a/plain.txt': 'p',
      'a/é.txt': 'accent', // non-ASCII: folder a is walked by walk.ts
      'b/link': { symlink: '../a/plain.txt' }, // a symlink: folder b too
      'b/sub/f': 'f',
      'c/d/e': 'e',
      '日本/x': 'x',
      'zz/f': 'z',
    };
    const root = await makeTree(spec);
    for (const jobs of [1, 3]) {
      const fast = await scan(root, true, { jobs });
      expect(fast).toEqual(await scan(root, false, { jobs }));
      expect(fast.manifest).toBe(expectedManifest(spec));
    }
  });

  it('leaves out the store inside the dataset (skipDirs), like the main thread walk', async () => {
    const root = await makeTree({ 'data/f': 'f', 'store/objects/x': 'x', 'z': 'z' });
    const fast = await scan(root, true, { skipDirs: [join(root, 'store')] });
    expect(fast.manifest).not.toContain('store/');
    expect(fast).toEqual(await scan(root, false, { skipDirs: [join(root, 'store')] }));
  });

  it('walks a store inside the dataset (stores) as the main thread walk does: its layout left out, a planted file kept', async () => {
    const root = await makeTree({ 'data/f': 'f', '.snap/store.json': '{}', [`.snap/objects/sha256/ab/${'c'.repeat(62)}`]: 'o', '.snap/objects/ab/p.jpg': 'p', '.snap/cat/1.jpg': 'c', z: 'z' });
    const fast = await scanStores(root, true, [join(root, '.snap')]);
    expect(fast.manifest.split('\n').filter(Boolean).map((l) => JSON.parse(l).path)).toEqual(['.snap/cat/1.jpg', '.snap/objects/ab/p.jpg', 'data/f', 'z']);
    expect(fast).toEqual(await scanStores(root, false, [join(root, '.snap')]));
  });

  it('refuses a FIFO deep in a tree of plain folders with FILE_UNSUPPORTED_TYPE, naming it, and never blocks on it', async () => {
    const root = await makeTree({ 'a/b/f': 'f', 'a/c/g': 'g' });
    execFileSync('mkfifo', [join(root, 'a', 'c', 'pipe')]);
    await expect(scan(root, true)).rejects.toSatisfy((e: unknown) => e instanceof SnapError && e.code === 'FILE_UNSUPPORTED_TYPE' && e.details?.path === 'a/c/pipe');
  });

  it('reports a missing dataset folder as the main thread walk does', async () => {
    const dir = join(await tempDir(), 'gone');
    const err = await scan(dir, true).catch((e: unknown) => e);
    const ref = await scan(dir, false).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SnapError);
    expect((err as SnapError).code).toBe((ref as SnapError).code);
  });

  it('gives the same manifest and root as the main thread walk for random trees', async () => {
    const seg = fc.constantFrom('a', 'b', 'a-', 'a.b', 'a0', 'Z', '~', 'x y', 'é', 'f');
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.array(seg, { minLength: 1, maxLength: 4 }).map((s) => s.join('/')), { minLength: 1, maxLength: 40 }), async (paths) => {
        // A path that is a prefix folder of another cannot also be a file: keep the files that are not.
        const files = paths.filter((p) => !paths.some((q) => q.startsWith(`${p}/`)));
        const spec: TreeSpec = Object.fromEntries(files.map((p) => [p, p]));
        const root = await makeTree(spec);
        const fast = await scan(root, true);
        expect(fast).toEqual(await scan(root, false));
        expect(fast.manifest).toBe(expectedManifest(spec));
        await fsp.rm(root, { recursive: true, force: true });
      }),
      { numRuns: 15 },
    );
  });
});
