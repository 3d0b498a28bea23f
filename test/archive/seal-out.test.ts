/**
 * `snap seal DIR --as NAME@VERSION --key KEY --out FILE.snap.tar`: straight to an archive, no store;
 * a file that changes between the hashing pass and the packing pass stops it (FILE_CHANGED) and no
 * partial archive is left.
 */
import { promises as fsp, writeFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { sealToArchive } from '../../src/ops/archive-seal.js';
import { readPrivateKey } from '../../src/io/keyfile.js';
import { isSnapError } from '../../src/core/errors.js';
import { exists } from './helpers.js';

const keys = useKeyPair('archive');

describe('seal --out', () => {
  it('writes an archive that verifies on its own, without making a store', async () => {
    const data = await makeTree({ 'a.txt': 'alpha', 'b/c.txt': 'gamma', 'b/l': { symlink: 'c.txt' } });
    const work = await tempDir('snap-so-');
    const file = join(work, 'ds@v1.snap.tar');
    const store = join(work, 'store');
    const s = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--out', file, '--store', store]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.json).toMatchObject({ ok: true, ref: 'ds@v1', files: 3, archive: file, signer: keys.keyid });
    expect(await exists(store)).toBe(false);
    const v = await snapJson(['verify', file, '--pubkey', keys.pub]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.json.snapshot).toBe(s.json.snapshot);
    const d = await snapJson(['verify', data, '--against', file, '--pubkey', keys.pub]);
    expect(d.code, d.stderr).toBe(0);
  });

  it('leaves out a store that lies inside the dataset, like seal does', async () => {
    const data = await makeTree({ 'a.txt': 'alpha' });
    const store = join(data, '.snap');
    expect((await snapJson(['seal', data, '--as', 'ds@v0', '--key', keys.key, '--store', store])).code).toBe(0);
    const file = join(await tempDir('snap-so-'), 'x.snap.tar');
    const s = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--out', file, '--store', store]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.json.files).toBe(1);
  });

  it('never overwrites a file (FILE_EXISTS, exit 3)', async () => {
    const data = await makeTree({ 'a.txt': 'alpha' });
    const work = await tempDir('snap-so-');
    const file = join(work, 'x.snap.tar');
    await fsp.writeFile(file, 'precious');
    const s = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--out', file]);
    expect(s.code).toBe(3);
    expect(s.json.error.code).toBe('FILE_EXISTS');
    expect(await fsp.readFile(file, 'utf8')).toBe('precious');
  });

  it('refuses an archive in a folder that does not exist (NOT_FOUND, exit 3) before hashing anything', async () => {
    const data = await makeTree({ 'a.txt': 'alpha' });
    const work = await tempDir('snap-so-');
    const s = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--out', join(work, 'missing', 'x.snap.tar')]);
    expect(s.code).toBe(3);
    expect(s.json.error.code).toBe('NOT_FOUND');
    expect(await fsp.readdir(work)).toEqual([]);
  });

  it('refuses --manifest-only and a name not ending in .snap.tar (USAGE, exit 2)', async () => {
    const data = await makeTree({ 'a.txt': 'alpha' });
    const work = await tempDir('snap-so-');
    const a = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--out', join(work, 'x.snap.tar'), '--manifest-only']);
    expect(a.code).toBe(2);
    const b = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--out', join(work, 'x.tar')]);
    expect(b.code).toBe(2);
    expect(await fsp.readdir(work)).toEqual([]);
  });

  it('refuses a dataset with a link that leaves it (SNAPSHOT_UNSAFE, exit 3), leaving no file', async () => {
    const data = await makeTree({ 'a.txt': 'alpha', 'escape': { symlink: '/etc/passwd' } });
    const work = await tempDir('snap-so-');
    const s = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--out', join(work, 'x.snap.tar')]);
    expect(s.code).toBe(3);
    expect(s.json.error.code).toBe('SNAPSHOT_UNSAFE');
    expect(await fsp.readdir(work)).toEqual([]);
  });

  describe('a file that changes between the two passes stops the seal (FILE_CHANGED) and leaves no archive', () => {
    // Synchronous changes: progress callbacks are not awaited.
    const cases: [string, (data: string) => void][] = [
      ['other bytes, same size', (d) => writeFileSync(join(d, 'b.txt'), 'BETA')],
      ['other size', (d) => writeFileSync(join(d, 'b.txt'), 'beta, longer now')],
      ['removed', (d) => rmSync(join(d, 'b.txt'))],
      ['replaced by a link', (d) => {
        rmSync(join(d, 'b.txt'));
        symlinkSync('a.txt', join(d, 'b.txt'));
      }],
      ['a link now pointing elsewhere', (d) => {
        rmSync(join(d, 'l'));
        symlinkSync('b.txt', join(d, 'l'));
      }],
    ];
    for (const [what, change] of cases) {
      it(what, async () => {
        const data = await makeTree({ 'a.txt': 'alpha', 'b.txt': 'beta', 'l': { symlink: 'a.txt' } });
        const work = await tempDir('snap-so-');
        const out = join(work, 'x.snap.tar');
        const key = await readPrivateKey(keys.key);
        let changed = false;
        const err = await sealToArchive({
          dir: data,
          as: 'ds@v1',
          key,
          out,
          jobs: 1,
          // The last progress of the hashing pass (no totals yet) comes before packing starts.
          onProgress: (p) => {
            if (!changed && p.totalFiles === undefined && p.files === 3) {
              changed = true;
              change(data);
            }
          },
        }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(changed).toBe(true);
        expect(isSnapError(err, 'FILE_CHANGED'), String(err)).toBe(true);
        expect(await fsp.readdir(work)).toEqual([]);
      });
    }
  });
});
