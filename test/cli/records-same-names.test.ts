/**
 * Label-folder sets whose classes reuse file names (Caltech-101: `image_0001.jpg` in every class;
 * docs/FORMAT.md §19.4): records with one key (the path without its label folder) and different
 * labels are distinct records, paired by label first. seal, diff, check, verify and prove each name
 * exactly a moved file as a flip, an edited file as modified, a swap as two modified, a copy across
 * classes as a conflict, an added and a removed file; a diff of a snapshot with itself is empty,
 * and a diff of two `--manifest-only` snapshots whose data is gone gives the same answers.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, snap, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';

const keys = useKeyPair();

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const RULE = ['--records', 'images/** format=files label-segment=1'];

/** Three classes that number their files alike: every class has image_0001.jpg and image_0002.jpg. */
const TREE: Record<string, string> = {
  'images/cat/image_0001.jpg': 'c1',
  'images/cat/image_0002.jpg': 'c2',
  'images/cat/image_0003.jpg': 'c3',
  'images/cat/image_0004.jpg': 'c4',
  'images/dog/image_0001.jpg': 'd1',
  'images/dog/image_0002.jpg': 'd2',
  'images/bird/image_0001.jpg': 'b1',
  'images/bird/image_0002.jpg': 'b2',
};

/** Every kind of change, each once. */
async function edit(dir: string): Promise<void> {
  const at = (p: string) => join(dir, 'images', p);
  // moved: cat → dog, same name, same bytes (a label flip)
  await fsp.rename(at('cat/image_0003.jpg'), at('dog/image_0003.jpg'));
  // edited in place
  await fsp.writeFile(at('dog/image_0001.jpg'), 'd1 edited');
  // swapped between two classes: two edits
  await fsp.writeFile(at('cat/image_0002.jpg'), 'd2');
  await fsp.writeFile(at('dog/image_0002.jpg'), 'c2');
  // copied under another label, same name: a conflict (and an added record)
  await fsp.copyFile(at('cat/image_0004.jpg'), at('dog/image_0004.jpg'));
  // added, removed
  await fsp.writeFile(at('bird/image_0007.jpg'), 'b7');
  await fsp.rm(at('bird/image_0002.jpg'));
}

/** Tuples sorted (a key's records come in fingerprint order). */
const sorted = (t: string[][]) => t.sort((x, y) => (x.join('\0') < y.join('\0') ? -1 : 1));

/** The record set's differences, as short tuples. */
function named(set: Json) {
  return {
    flipped: sorted(set.flipped.map((f: Json) => [f.key[0], f.from, f.to])),
    modified: sorted(set.modified.map((m: Json) => [m.key[0], m.a.label, m.b.label])),
    added: sorted(set.added.map((r: Json) => [r.key[0], r.label])),
    removed: sorted(set.removed.map((r: Json) => [r.key[0], r.label])),
    relabelled: set.relabelled,
    duplicates: set.duplicates,
    conflicts: set.conflicts.map((g: Json) => [g.side, g.labels]),
  };
}

const EXPECTED = {
  flipped: [['images/image_0003.jpg', 'cat', 'dog']],
  modified: [
    ['images/image_0001.jpg', 'dog', 'dog'],
    ['images/image_0002.jpg', 'cat', 'cat'],
    ['images/image_0002.jpg', 'dog', 'dog'],
  ],
  added: [
    ['images/image_0004.jpg', 'dog'],
    ['images/image_0007.jpg', 'bird'],
  ],
  removed: [['images/image_0002.jpg', 'bird']],
  relabelled: [],
  duplicates: [],
  conflicts: [['b', { cat: 1, dog: 1 }]],
};

async function sealed(extra: string[] = []) {
  const dir = await makeTree(TREE);
  const store = await newStorePath();
  const s = await snapJson(['seal', dir, '--as', 'ds@v1', '--key', keys.key, '--store', store, ...RULE, ...extra]);
  return { dir, store, s };
}

describe('a label-folder set whose classes hold files of the same names', () => {
  it('seals, one record per file, the key repeated under each label', async () => {
    const { s } = await sealed();
    expect(s.code, s.stderr).toBe(0);
    const set = s.json.records[0];
    expect(set).toMatchObject({ pattern: 'images/**', format: 'files', identity: 'path', count: 8, labels: { bird: 2, cat: 4, dog: 2 } });
  });

  it('diffs empty against itself and against its unchanged folder', async () => {
    const { dir, store, s } = await sealed();
    expect(s.code, s.stderr).toBe(0);
    for (const b of ['ds@v1', dir]) {
      const d = await snapJson(['diff', 'ds@v1', b, '--store', store]);
      expect(d.code, d.stderr).toBe(0);
      expect(d.json.records.sets[0].summary).toMatchObject({ unchanged: 8, added: 0, removed: 0, modified: 0, flipped: 0, relabelled: 0, duplicates: { a: 0, b: 0 }, conflicts: { a: 0, b: 0 } });
    }
    const c = await snapJson(['check', dir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(c.code, c.stdout + c.stderr).toBe(0);
  });

  it('diff and check name a move as a flip, an edit and each side of a swap as modified, a copy as a conflict', async () => {
    const { dir, store, s } = await sealed();
    expect(s.code, s.stderr).toBe(0);
    await edit(dir);
    const d = await snapJson(['diff', 'ds@v1', dir, '--store', store]);
    expect(d.code, d.stderr).toBe(1);
    expect(named(d.json.records.sets[0])).toEqual(EXPECTED);
    const c = await snapJson(['check', dir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(c.code, c.stderr).toBe(1);
    const breaches = c.json.breaches.map((b: Json) => [b.rule, b.value]);
    expect(breaches).toEqual(expect.arrayContaining([['maxLabelChanges', 1], ['maxModified', 3], ['maxRemoved', 1], ['maxConflicts', 1]]));
    expect(breaches.map((b: Json) => b[0])).not.toContain('maxDuplicates');
  });

  it('verify names the moved file a label flip, and no other', async () => {
    const { dir, store, s } = await sealed();
    expect(s.code, s.stderr).toBe(0);
    await edit(dir);
    const v = await snapJson(['verify', dir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(v.code, v.stderr).toBe(1);
    expect(v.json.problems.map((p: Json) => [p.kind, p.path, p.label ? [p.label.key, p.label.from, p.label.to] : undefined])).toEqual([
      ['missing', 'images/bird/image_0002.jpg', undefined],
      ['extra', 'images/bird/image_0007.jpg', undefined],
      ['missing', 'images/cat/image_0003.jpg', ['images/image_0003.jpg', 'cat', 'dog']],
      ['modified', 'images/cat/image_0002.jpg', undefined],
      ['modified', 'images/dog/image_0001.jpg', undefined],
      ['modified', 'images/dog/image_0002.jpg', undefined],
      ['extra', 'images/dog/image_0003.jpg', ['images/image_0003.jpg', 'cat', 'dog']],
      ['extra', 'images/dog/image_0004.jpg', undefined],
    ].sort((x, y) => ((x[1] as string) < (y[1] as string) ? -1 : 1)));
  });

  it('gives the same answers from two --manifest-only snapshots once the data is gone', async () => {
    const { dir, store, s } = await sealed(['--manifest-only']);
    expect(s.code, s.stderr).toBe(0);
    const fromFolder = await snapJson(['diff', 'ds@v1', dir, '--store', store]);
    await edit(dir);
    const s2 = await snapJson(['seal', dir, '--as', 'ds@v2', '--key', keys.key, '--store', store, ...RULE, '--manifest-only']);
    expect(s2.code, s2.stderr).toBe(0);
    await fsp.rm(dir, { recursive: true });
    expect(fromFolder.code, fromFolder.stderr).toBe(0);
    const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(d.code, d.stderr).toBe(1);
    expect(named(d.json.records.sets[0])).toEqual(EXPECTED);
    expect((await snapJson(['diff', 'ds@v2', 'ds@v2', '--store', store])).code).toBe(0);
    const c = await snapJson(['check', 'ds@v2', '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(c.code, c.stderr).toBe(1);
    expect(c.json.breaches.map((b: Json) => [b.rule, b.value])).toEqual(expect.arrayContaining([['maxLabelChanges', 1], ['maxModified', 3], ['maxConflicts', 1]]));
  });
});

describe('prove --record of a label-folder set whose classes share file names', () => {
  it('proves a file by its dataset path, and its key alone when one class has it; verify-proof checks it', async () => {
    const { store, s } = await sealed();
    expect(s.code, s.stderr).toBe(0);
    const work = await tempDir('snap-same-names-');
    const proof = join(work, 'p.json');
    const p = await snapJson(['prove', 'ds@v1', 'images/**', '--record', 'images/dog/image_0002.jpg', '-o', proof, '--store', store]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.json).toMatchObject({ ok: true, record: { key: ['images/image_0002.jpg'], label: 'dog' }, matches: 1 });
    const v = await snapJson(['verify-proof', proof, '--pubkey', keys.pub]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.json.record).toMatchObject({ key: ['images/image_0002.jpg'], label: 'dog' });
    const only = await snapJson(['prove', 'ds@v1', 'images/**', '--record', 'images/image_0004.jpg', '-o', join(work, 'q.json'), '--store', store]);
    expect(only.code, only.stderr).toBe(0);
    expect(only.json.record).toMatchObject({ key: ['images/image_0004.jpg'], label: 'cat' });
  });

  it('refuses a key that several classes share (exit 2), naming their files', async () => {
    const { store, s } = await sealed();
    expect(s.code, s.stderr).toBe(0);
    const p = await snap(['prove', 'ds@v1', 'images/**', '--record', 'images/image_0002.jpg', '--store', store]);
    expect(p.code).toBe(2);
    expect(p.stderr).toContain('images/bird/image_0002.jpg');
    expect(p.stderr).toContain('images/cat/image_0002.jpg');
  });
});
