/**
 * verify's bulk runs (verify.ts `joinWithDisk`) in the cases that take them off their fast path: a
 * chunk of lines whose first or last line is not its file's (a missing or an extra file shifts the
 * pairing, the manifest ends first) is joined line by line from there; a line a worker does not
 * confirm (a regular file where a link was, a rename inside a run) sends verify back to the line-by-line join.
 * Each time the report is exactly the one the line-by-line join gives, naming exactly what changed.
 */
import { cpSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir, useKeyPair, type TreeSpec } from '../helpers/tree.js';
import { sealTree, type Sealed } from '../helpers/store.js';
import { verify, type VerifyReport } from '../../src/ops/verify.js';
import { resolveRef } from '../../src/io/store.js';
import { readPublicKey } from '../../src/io/keyfile.js';

const keys = useKeyPair('bulk-join');

/** Three plain folders of 1,200 files each (several batches of 1,024 lines), and one with a link. */
function bigTree(): TreeSpec {
  const spec: TreeSpec = {};
  for (const d of ['a', 'b', 'c']) for (let i = 0; i < 1200; i++) spec[`${d}/f${String(i).padStart(4, '0')}`] = `${d} ${i}`;
  spec['l/target'] = 'target';
  spec['l/link'] = { symlink: 'target' };
  return spec;
}

/** verify's report (without its timing), bulk runs or line by line. */
async function report(s: Sealed, bulk: boolean): Promise<Omit<VerifyReport, 'seconds'>> {
  const r = await verify({ dir: s.data, snapshot: await resolveRef(s.ref, s.store), trusted: [await readPublicKey(keys.pub)], bulk, jobs: 2 });
  const { seconds: _seconds, ...rest } = r;
  return rest;
}

/** The report of both joins, once checked equal. */
async function bothJoins(s: Sealed): Promise<Omit<VerifyReport, 'seconds'>> {
  const lineByLine = await report(s, false);
  expect(await report(s, true)).toEqual(lineByLine);
  return lineByLine;
}

const summary = (r: Omit<VerifyReport, 'seconds'>) => r.problems.map((p) => `${p.kind} ${p.path}${p.movedFrom ? ` from ${p.movedFrom}` : ''}${p.movedTo ? ` to ${p.movedTo}` : ''}`);

describe('verify in bulk runs, off the fast path', () => {
  let sealed: Sealed;
  beforeAll(async () => {
    sealed = await sealTree(bigTree(), keys);
  }, 60_000);

  /** A fresh copy of the sealed data, changed by `change`. */
  async function changed(change: (data: string) => Promise<void>): Promise<Sealed> {
    const data = join(await tempDir('snap-bulk-join-'), 'data'); // removed after the test
    // cpSync: the same copy as fsp.cp, at about half the CPU for these 3,602 small files.
    cpSync(sealed.data, data, { recursive: true, verbatimSymlinks: true });
    await change(data);
    return { ...sealed, data };
  }

  it('passes an untouched tree: every file matched', async () => {
    const r = await bothJoins(sealed);
    expect(r.ok).toBe(true);
    expect(r.counts.matched).toBe(3602);
  });

  it('names an extra file in the middle of a plain folder, and matches every other', async () => {
    const r = await bothJoins(await changed((d) => fsp.writeFile(join(d, 'b', 'f0600x'), 'injected')));
    expect(summary(r)).toEqual(['extra b/f0600x']);
    expect(r.counts.matched).toBe(3602);
  });

  it('names a file missing from the middle of a plain folder', async () => {
    const r = await bothJoins(await changed((d) => fsp.rm(join(d, 'a', 'f0700'))));
    expect(summary(r)).toEqual(['missing a/f0700']);
    expect(r.counts.matched).toBe(3601);
  });

  it('names files after the manifest’s last line, in a new last folder', async () => {
    const r = await bothJoins(
      await changed(async (d) => {
        await fsp.mkdir(join(d, 'z'));
        await fsp.writeFile(join(d, 'z', 'one'), '1');
        await fsp.writeFile(join(d, 'z', 'two'), '2');
      }),
    );
    expect(summary(r)).toEqual(['extra z/one', 'extra z/two']);
  });

  it('names a whole folder gone', async () => {
    const r = await bothJoins(await changed((d) => fsp.rm(join(d, 'c'), { recursive: true })));
    expect(r.counts.missing).toBe(1200);
    expect(r.counts.matched).toBe(2402);
  });

  it('names a file renamed inside a run (same count, same first and last file) as moved', async () => {
    const r = await bothJoins(await changed((d) => fsp.rename(join(d, 'a', 'f0500'), join(d, 'a', 'f0500-renamed'))));
    expect(summary(r)).toEqual(['missing a/f0500 to a/f0500-renamed', 'extra a/f0500-renamed from a/f0500']);
  });

  it('names a regular file where a signed symbolic link was, in a folder now plain, as type-changed', async () => {
    const r = await bothJoins(
      await changed(async (d) => {
        await fsp.rm(join(d, 'l', 'link'));
        await fsp.writeFile(join(d, 'l', 'link'), 'target');
      }),
    );
    expect(summary(r)).toEqual(['type-changed l/link']);
  });

  it('names changed contents within bulk runs, with what the manifest expected', async () => {
    const r = await bothJoins(
      await changed(async (d) => {
        await fsp.writeFile(join(d, 'a', 'f0000'), 'poisoned');
        await fsp.writeFile(join(d, 'c', 'f1199'), 'c 1199 and more');
      }),
    );
    expect(summary(r)).toEqual(['modified a/f0000', 'modified c/f1199']);
    expect(r.problems[0]?.expected).toEqual({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/), size: 3 });
    expect(r.problems[1]?.actual).toMatchObject({ size: 15 });
  });
});
