/**
 * verify with the folders listed by the hashing workers (parallel-walk.ts) against verify with the
 * walk on the main thread (walk.ts): for any tree and any tampering — files changed, removed or
 * added, a folder made unreadable to the plain listing by a non-ASCII name or a symbolic link, a
 * FIFO — both give exactly the same report.
 */
import { promises as fsp } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { useKeyPair } from '../helpers/tree.js';
import { sealTree } from '../helpers/store.js';
import { verify } from '../../src/ops/verify.js';
import { resolveRef } from '../../src/io/store.js';
import { readPublicKey } from '../../src/io/keyfile.js';

const keys = useKeyPair('walks');

/** verify's report without its timing. */
async function report(dir: string, ref: string, store: string, walkInWorkers: boolean, bulk = true): Promise<unknown> {
  const r = await verify({ dir, snapshot: await resolveRef(ref, store), trusted: [await readPublicKey(keys.pub)], walkInWorkers, bulk, jobs: 2 });
  const { seconds: _seconds, ...rest } = r;
  return rest;
}

const SEGMENTS = ['a', 'b', 'a-', 'a.b', 'a0', 'Z', 'x y', 'é', 'f', 'q"', 'b\\s'];
/** First segments: printable ASCII, so that the root folder is plain and most folders are listed by the workers. */
const TOP = SEGMENTS.filter((s) => s !== 'é');
/** A few of the sealed entries are symbolic links (a folder with one is walked on the main thread). */
const isLink = (p: string) => p.length % 11 === 0;

describe('verify, folders listed by the workers or walked on the main thread, files joined in bulk runs or line by line', () => {
  it('gives the same report for random trees and random tampering, whichever way it walks and joins', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(fc.constantFrom(...TOP), fc.array(fc.constantFrom(...SEGMENTS), { maxLength: 2 })).map(([top, rest]) => [top, ...rest].join('/')), { minLength: 1, maxLength: 40 }),
        fc.array(fc.tuple(fc.constantFrom('modify', 'remove', 'add', 'symlink', 'fifo', 'accent', 'retype', 'rename'), fc.nat()), { maxLength: 6 }),
        async (paths, tampering) => {
          const files = paths.filter((p) => !paths.some((q) => q.startsWith(`${p}/`)));
          const { data, store, ref } = await sealTree(Object.fromEntries(files.map((p) => [p, isLink(p) ? { symlink: `to ${p}` } : `content of ${p}`])), keys);
          for (const [what, n] of tampering) {
            const target = files[n % files.length] as string;
            const folder = join(data, target, '..');
            try {
              if (what === 'modify') await fsp.writeFile(join(data, target), 'poisoned');
              else if (what === 'remove') await fsp.rm(join(data, target), { force: true });
              else if (what === 'add') await fsp.writeFile(join(folder, `added-${n}`), 'new');
              else if (what === 'symlink') await fsp.symlink('elsewhere', join(folder, `link-${n}`));
              else if (what === 'fifo') execFileSync('mkfifo', [join(folder, `pipe-${n}`)]);
              else if (what === 'retype') {
                // A regular file where a link was, or a link where a file was, under the same name.
                const lstat = await fsp.lstat(join(data, target));
                await fsp.rm(join(data, target));
                if (lstat.isSymbolicLink()) await fsp.writeFile(join(data, target), `content of ${target}`);
                else await fsp.symlink(`content of ${target}`, join(data, target));
              } else if (what === 'rename') await fsp.rename(join(data, target), join(folder, `renamed-${n}`));
              else await fsp.writeFile(join(folder, `ü-${n}`), 'accent');
            } catch {
              /* the folder went with an earlier removal, or the name is taken: nothing tampered */
            }
          }
          const lineByLine = await report(data, ref, store, false);
          expect(await report(data, ref, store, true, false)).toEqual(lineByLine);
          expect(await report(data, ref, store, true, true)).toEqual(lineByLine);
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);
});
