/**
 * Property: for any small tree, seal → verify passes, and flipping one byte of one file makes
 * verify exit 1 with exactly that path reported as modified.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeTree, snapJson, useKeyPair } from '../helpers/tree.js';
import { uniqueName, useStore } from '../helpers/store.js';

const keys = useKeyPair();
const shared = useStore();

const segment = fc.constantFrom('a', 'b', 'B', 'a-b', 'a.b', 'é', '日', '10', '9', ' x', '.h');
const filePath = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));

/** Small trees: unique paths, none of them also a folder of another. */
const tree = fc
  .uniqueArray(fc.record({ path: filePath, content: fc.uint8Array({ minLength: 1, maxLength: 64 }) }), { selector: (f) => f.path, minLength: 1, maxLength: 8 })
  .filter((files) => !files.some((f) => files.some((g) => g.path.startsWith(`${f.path}/`))));

describe('property: seal → verify', () => {
  it('passes on any small tree, and exits 1 naming the one file whose byte was flipped', async () => {
    await fc.assert(
      fc.asyncProperty(tree, fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), async (files, whichFile, whichByte, mask) => {
        const data = await makeTree(Object.fromEntries(files.map((f) => [f.path, Buffer.from(f.content)])));
        const store = shared.path;
        const ref = `${uniqueName('prop')}@v1`;
        const seal = await snapJson(['seal', data, '--as', ref, '--key', keys.key, '--store', store, '--jobs', '1']);
        expect(seal.code, seal.stderr).toBe(0);
        expect(seal.json.files).toBe(files.length);
        const verify = () => snapJson(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store, '--jobs', '1']);
        const ok = await verify();
        expect(ok.code).toBe(0);
        expect(ok.json.counts.matched).toBe(files.length);

        const victim = files[whichFile % files.length] as (typeof files)[number];
        const bytes = Buffer.from(victim.content);
        const at = whichByte % bytes.length;
        bytes[at] = (bytes[at] as number) ^ mask;
        await fsp.writeFile(join(data, ...victim.path.split('/')), bytes);
        const bad = await verify();
        expect(bad.code).toBe(1);
        expect(bad.json.problems).toEqual([expect.objectContaining({ path: victim.path, kind: 'modified' })]);
        expect(bad.json.counts).toMatchObject({ matched: files.length - 1, modified: 1, missing: 0, extra: 0 });
      }),
      { numRuns: 10 },
    );
  }, 60_000);
});
