/**
 * A store inside the dataset folder (`cd data && snap seal .`: the default `./.snap`): only the
 * store's own layout (docs/FORMAT.md §6, src/core/store-layout.ts) is left out of the dataset.
 * Anything else under the store folder — a planted `.snap/poison.jpg`, which torchvision's
 * ImageFolder reads as a file of class `.snap`, or a `.snap/objects/ab/p.jpg` a loader globbing
 * `**\/*.jpg` reads — is data: verify reports it (extra, exit 1), diff and check see it, seal and
 * `seal --out` seal it, and a drill's gate refuses it.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, snap, snapJson, tempDir, writeTree, useKeyPair } from '../helpers/tree.js';
import { objectFiles } from '../helpers/store.js';

const keys = useKeyPair();

type Problem = { kind: string; path: string };
const extras = (json: { problems: Problem[] }) => json.problems.filter((p) => p.kind === 'extra').map((p) => p.path);

/** A dataset sealed as ds@v1 from inside it, into the default store `./.snap`. */
async function sealedInside(): Promise<string> {
  const data = await makeTree({ 'cat/1.jpg': 'cat', 'dog/1.jpg': 'dog' });
  const s = await snapJson(['seal', '.', '--as', 'ds@v1', '--key', keys.key], { cwd: data });
  expect(s.code, s.stderr).toBe(0);
  return data;
}

describe('a store inside the dataset, read from by verify', () => {
  it('hides no planted file: each one outside the store layout is an extra file, named by its path (exit 1)', async () => {
    const data = await sealedInside();
    const [object] = await objectFiles(join(data, '.snap'));
    const fan = (object as { name: string }).name.slice(0, 2);
    const outside = await makeTree({ 'x.jpg': 'elsewhere' });
    await writeTree(data, {
      '.snap/poison.jpg': 'p',
      '.snap/snapshots/x.jpg': 'p',
      '.snap/snapshots/ds/v1/x.jpg': 'p',
      '.snap/objects/ab/p.jpg': 'p',
      [`.snap/objects/sha256/${fan}/${(object as { name: string }).name.slice(2)}.jpg`]: 'p',
      '.snap/objects/sha256/zz': { symlink: outside },
      '.snap/cat/1.jpg': 'p',
      '.snap/tmp/poison.jpg': 'p',
      '.snap/store.json.jpg': 'p',
    });
    const v = await snapJson(['verify', '.', '--against', 'ds@v1', '--pubkey', keys.pub], { cwd: data });
    expect(v.code, v.stderr).toBe(1);
    expect(extras(v.json)).toEqual([
      '.snap/cat/1.jpg',
      `.snap/objects/ab/p.jpg`,
      `.snap/objects/sha256/${fan}/${(object as { name: string }).name.slice(2)}.jpg`,
      '.snap/objects/sha256/zz',
      '.snap/poison.jpg',
      '.snap/snapshots/ds/v1/x.jpg',
      '.snap/snapshots/x.jpg',
      '.snap/store.json.jpg',
      '.snap/tmp/poison.jpg',
    ]);
    expect(v.json.counts).toMatchObject({ matched: 2, modified: 0, missing: 0, extra: 9 });
  });

  it('reports a folder planted where the layout has a file, and what it holds (log.head/x.jpg)', async () => {
    const data = await makeTree({ 'a.txt': 'a' });
    expect((await snap(['seal', '.', '--as', 'ds@v1', '--key', keys.key], { cwd: data })).code).toBe(0);
    await fsp.rm(join(data, '.snap', 'log.head'));
    await writeTree(data, { '.snap/log.head/x.jpg': 'p' });
    const v = await snapJson(['verify', '.', '--against', 'ds@v1', '--pubkey', keys.pub], { cwd: data });
    expect(v.code, v.stderr).toBe(1);
    expect(extras(v.json)).toEqual(['.snap/log.head/x.jpg']);
  });

  it('leaves out a file with an object name the store does not reference (fsck and prune judge it), and passes', async () => {
    const data = await sealedInside();
    await writeTree(data, { [`.snap/objects/sha256/ab/${'c'.repeat(62)}`]: 'not referenced' });
    const v = await snapJson(['verify', '.', '--against', 'ds@v1', '--pubkey', keys.pub], { cwd: data });
    expect(v.code, v.stderr).toBe(0);
    expect(v.json.counts).toMatchObject({ matched: 2, extra: 0 });
  });

  it('still passes (exit 0) when the store is clean, after a second seal, a log checkpoint, an attestation, a revocation, a prune and an fsck', async () => {
    const data = await sealedInside();
    await writeTree(data, { 'bird/1.jpg': 'bird' });
    expect((await snap(['seal', '.', '--as', 'ds@v2', '--key', keys.key], { cwd: data })).code).toBe(0);
    expect((await snap(['log', 'checkpoint', '--key', keys.key], { cwd: data })).code).toBe(0);
    // An attestation and a revocation kept in the store: attestations/ and revocations/ are its layout too.
    const model = join(await tempDir(), 'model.bin');
    await fsp.writeFile(model, 'weights');
    expect((await snap(['attest', model, '--data', 'ds@v2', '--key', keys.key, '--pubkey', keys.pub, '--as', 'clf@1'], { cwd: data })).code).toBe(0);
    expect((await snap(['revoke', 'ds@v1', '--key', keys.key, '--pubkey', keys.pub, '--reason', 'superseded'], { cwd: data })).code).toBe(0);
    const p = await snapJson(['prune', '--yes'], { cwd: data });
    expect(p.code, p.stderr).toBe(0);
    const f = await snapJson(['fsck'], { cwd: data });
    expect(f.code, f.stderr).toBe(0);
    const v2 = await snapJson(['verify', '.', '--against', 'ds@v2', '--pubkey', keys.pub], { cwd: data });
    expect(v2.code, v2.stderr).toBe(0);
    expect(v2.json.counts).toMatchObject({ matched: 3, extra: 0 });
    // Passed, and said: a loader that lists the folder reads the store's manifests and log too.
    expect(v2.stderr).toMatch(/note: the store .* lies inside .*: its own files .* are left out of the comparison, and a data loader that lists .* would read them; keep the store outside the training data/);
    expect((await snap(['verify', '.', '--against', 'ds@v2', '--pubkey', keys.pub, '--quiet'], { cwd: data })).stderr).toBe('');
    // And a second verify, after the first one's audit line: the log is the store's.
    const again = await snapJson(['verify', '.', '--against', 'ds@v2', '--pubkey', keys.pub], { cwd: data });
    expect(again.code, again.stderr).toBe(0);
  });
});

describe('a store inside the dataset, for diff, seal and drill', () => {
  it('diff of the store snapshot with the folder lists a planted file as added', async () => {
    const data = await sealedInside();
    await writeTree(data, { '.snap/cat/2.jpg': 'p' });
    const d = await snapJson(['diff', 'ds@v1', '.'], { cwd: data });
    expect(d.code, d.stderr).toBe(1);
    expect(d.json.added.map((e: { path: string }) => e.path)).toEqual(['.snap/cat/2.jpg']);
  });

  it('seal seals a planted file under its store (it is data), and none of the store layout', async () => {
    const data = await sealedInside();
    await writeTree(data, { '.snap/cat/2.jpg': 'p' });
    const s = await snapJson(['seal', '.', '--as', 'ds@v2', '--key', keys.key], { cwd: data });
    expect(s.code, s.stderr).toBe(0);
    const manifest = await fsp.readFile(join(data, '.snap', 'snapshots', 'ds', 'v2', 'manifest.jsonl'), 'utf8');
    expect(manifest.trim().split('\n').map((l) => JSON.parse(l).path)).toEqual(['.snap/cat/2.jpg', 'cat/1.jpg', 'dog/1.jpg']);
    const v = await snapJson(['verify', '.', '--against', 'ds@v2', '--pubkey', keys.pub], { cwd: data });
    expect(v.code, v.stderr).toBe(0);
  });

  it('seal --out seals a planted file under the store inside the dataset, and none of the store layout', async () => {
    const data = await sealedInside();
    await writeTree(data, { '.snap/cat/2.jpg': 'p' });
    const out = join(await tempDir(), 'x.snap.tar');
    const s = await snapJson(['seal', '.', '--as', 'x@1', '--key', keys.key, '--out', out], { cwd: data });
    expect(s.code, s.stderr).toBe(0);
    expect(s.json.files).toBe(3);
    // Imported into the store inside the dataset, the archive's snapshot verifies from there.
    const i = await snapJson(['import', out, '--pubkey', keys.pub], { cwd: data });
    expect(i.code, i.stderr).toBe(0);
    const manifest = await fsp.readFile(join(data, '.snap', 'snapshots', 'x', '1', 'manifest.jsonl'), 'utf8');
    expect(manifest.trim().split('\n').map((l) => JSON.parse(l).path)).toEqual(['.snap/cat/2.jpg', 'cat/1.jpg', 'dog/1.jpg']);
    const v = await snapJson(['verify', '.', '--against', 'x@1', '--pubkey', keys.pub], { cwd: data });
    expect(v.code, v.stderr).toBe(0);
  });

  it('drill refuses a dataset with a file planted in the store (its gate is verify: an extra file)', async () => {
    const data = await sealedInside();
    await writeTree(data, { '.snap/poison.jpg': 'p' });
    const r = await snap(['drill', '.', '--against', 'ds@v1', '--pubkey', keys.pub, '--attacks', 'truncate'], { cwd: data, env: { TMPDIR: await tempDir('snap-drill-tmp-') } });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toContain('.snap/poison.jpg');
  });

  it('drill still runs on a clean dataset with its store inside', async () => {
    const data = await sealedInside();
    const r = await snapJson(['drill', '.', '--against', 'ds@v1', '--pubkey', keys.pub, '--attacks', 'truncate'], { cwd: data, env: { TMPDIR: await tempDir('snap-drill-tmp-') } });
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
});
