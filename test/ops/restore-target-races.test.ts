/**
 * The target of `restore` changed by another process in the moments between restore's checks and
 * its first write: a folder that appears where restore was about to make one, the folder restore
 * just made swapped for a link, and a checked folder swapped for a link to a file. Each is refused
 * as `TARGET_UNSAFE` (the target is not the one that was checked), nothing is written through the
 * link, and the folder the link leads to is left as it was.
 */
import { promises as fsp, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tempDir, useKeyPair } from '../helpers/tree.js';
import { sealTree } from '../helpers/store.js';
import { restore } from '../../src/ops/restore.js';
import { resolveRef } from '../../src/io/store.js';
import { readPublicKey } from '../../src/io/keyfile.js';
import { SnapError } from '../../src/core/errors.js';

const keys = useKeyPair('target-races');
const TREE = { 'a.txt': 'a\n', 'sub/b.txt': 'b\n' };

afterEach(() => vi.restoreAllMocks());

async function restoreInto(dir: string, allowSharedTarget = false): Promise<SnapError> {
  const s = await sealTree(TREE, keys);
  const err = await restore({
    source: { kind: 'snapshot', snapshot: await resolveRef(s.ref, s.store), store: s.store },
    dir,
    trusted: [await readPublicKey(keys.pub)],
    allowSharedTarget,
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SnapError);
  return err as SnapError;
}

describe('a restore target that another process changes while restore works', () => {
  it('is refused as unsafe when a folder appears where restore was about to make one, and that folder is left untouched', async () => {
    const work = await tempDir('snap-races-');
    const target = join(work, 'out');
    const real = fsp.mkdir.bind(fsp);
    vi.spyOn(fsp, 'mkdir').mockImplementation(async (p, o) => {
      if (p === target) {
        await real(target);
        await fsp.writeFile(join(target, 'theirs.txt'), 'theirs\n');
      }
      return real(p, o);
    });
    const err = await restoreInto(target);
    expect(err.code).toBe('TARGET_UNSAFE');
    expect(err.message).toMatch(/appeared while restoring.*nothing was written/);
    expect(readdirSync(target)).toEqual(['theirs.txt']);
  });

  it('is refused as unsafe when the folder restore made is swapped for a link, and nothing is written where the link leads', async () => {
    const work = await tempDir('snap-races-');
    const target = join(work, 'out');
    const elsewhere = join(work, 'elsewhere');
    await fsp.mkdir(elsewhere);
    const real = fsp.mkdir.bind(fsp);
    vi.spyOn(fsp, 'mkdir').mockImplementation(async (p, o) => {
      const r = await real(p, o);
      if (p === target) {
        await fsp.rename(target, join(work, 'moved'));
        await fsp.symlink(elsewhere, target);
      }
      return r;
    });
    const err = await restoreInto(target);
    expect(err.code).toBe('TARGET_UNSAFE');
    expect(err.message).toMatch(/was replaced while restoring.*nothing was written/);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('is refused as unsafe when a checked folder turns into a link to a file before restore takes its identity', async () => {
    const work = await tempDir('snap-races-');
    const target = join(work, 'out');
    await fsp.mkdir(target);
    const file = join(work, 'file.txt');
    await fsp.writeFile(file, 'keep\n');
    const real = fsp.stat.bind(fsp);
    vi.spyOn(fsp, 'stat').mockImplementation(async (p, o) => {
      const r = await real(p, o as never);
      if (p === target) {
        await fsp.rename(target, join(work, 'moved'));
        await fsp.symlink(file, target);
      }
      return r as never;
    });
    const err = await restoreInto(target, true);
    expect(err.code).toBe('TARGET_UNSAFE');
    expect(err.message).toMatch(/changed while restore looked at it.*nothing was written/);
    expect(await fsp.readFile(file, 'utf8')).toBe('keep\n');
  });
});
