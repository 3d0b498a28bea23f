/**
 * A tabular file inside a label-folder set (docs/FORMAT.md §19.1: a table rule put before the
 * `files` rule carves the file out of the set; it is its own record set, its records labelled by
 * their label field, not by the folder) moved unchanged from one class folder to another. verify,
 * diff (snapshot against snapshot, snapshot against folder) and check give one answer: the file
 * moved, the records of its old table removed and those of its new one added, and no label flip —
 * the label-folder set never held the file. A sample file of the same set moved alike is a flip in
 * all of them.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, snap, snapJson, useKeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';

const keys = useKeyPair();

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The table rule comes first (so its files are tables), then the label folders. */
const CONFIG = { records: [{ pattern: 'mail/*/*.csv', key: ['id'] }, { pattern: 'mail/*/*', format: 'files', labelSegment: 1 }] };

const TREE: Record<string, string> = {
  'snap.json': JSON.stringify(CONFIG),
  'mail/spam/a.csv': 'id,text\n1,buy now\n2,cheap pills\n',
  'mail/spam/s1.txt': 'win\n',
  'mail/ham/h1.txt': 'hello\n',
  'mail/ham/h2.txt': 'see you\n',
};

/** Seal v1; move the table spam → ham and a sample ham → spam, both unchanged. */
async function movedAfterSeal() {
  const dir = await makeTree(TREE);
  const store = await newStorePath();
  const s = await snapJson(['seal', dir, '--as', 'ds@v1', '--key', keys.key, '--store', store]);
  expect(s.code, s.stderr).toBe(0);
  await fsp.rename(join(dir, 'mail/spam/a.csv'), join(dir, 'mail/ham/a.csv'));
  await fsp.rename(join(dir, 'mail/ham/h2.txt'), join(dir, 'mail/spam/h2.txt'));
  return { dir, store };
}

/** A diff's or check's record sets, as short tuples: set, added keys, removed keys, flips. */
function recordChanges(records: Json) {
  return records.sets
    .map((s: Json) => [s.name, s.added.map((r: Json) => r.key[0]), s.removed.map((r: Json) => r.key[0]), s.flipped.map((f: Json) => [f.key[0], f.from, f.to])])
    .filter((t: Json[]) => t[1].length + t[2].length + t[3].length > 0);
}

const EXPECTED_RECORDS = [
  ['mail/*/*', [], [], [['mail/h2.txt', 'ham', 'spam']]],
  ['mail/ham/a.csv', ['1', '2'], [], []],
  ['mail/spam/a.csv', [], ['1', '2'], []],
];

describe('a table in a label folder, moved unchanged to another label folder', () => {
  it('verify names it moved but no label flip; the moved sample file is a flip', async () => {
    const { dir, store } = await movedAfterSeal();
    const v = await snapJson(['verify', dir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(v.code, v.stderr).toBe(1);
    expect(v.json.problems.map((p: Json) => [p.kind, p.path, p.movedFrom ?? p.movedTo, p.label && [p.label.set, p.label.key, p.label.from, p.label.to]])).toEqual([
      ['extra', 'mail/ham/a.csv', 'mail/spam/a.csv', undefined],
      ['missing', 'mail/ham/h2.txt', 'mail/spam/h2.txt', ['mail/*/*', 'mail/h2.txt', 'ham', 'spam']],
      ['missing', 'mail/spam/a.csv', 'mail/ham/a.csv', undefined],
      ['extra', 'mail/spam/h2.txt', 'mail/ham/h2.txt', ['mail/*/*', 'mail/h2.txt', 'ham', 'spam']],
    ]);
    const human = await snap(['verify', dir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('label flipped: mail/h2.txt: ham → spam');
    expect(human.stdout).not.toContain('label flipped: mail/a.csv');
    expect(human.stdout.match(/label flipped/g)).toHaveLength(1);
  });

  it('diff of the snapshot and the folder, and of the two snapshots, name the same: the tables removed and added, the sample flipped', async () => {
    const { dir, store } = await movedAfterSeal();
    const folder = await snapJson(['diff', 'ds@v1', dir, '--store', store]);
    expect(folder.code, folder.stderr).toBe(1);
    expect(recordChanges(folder.json.records)).toEqual(EXPECTED_RECORDS);
    const s2 = await snapJson(['seal', dir, '--as', 'ds@v2', '--key', keys.key, '--store', store]);
    expect(s2.code, s2.stderr).toBe(0);
    const snaps = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(snaps.code, snaps.stderr).toBe(1);
    expect(recordChanges(snaps.json.records)).toEqual(EXPECTED_RECORDS);
    for (const d of [folder, snaps]) expect(d.json.renamed.map((r: Json) => [r.from, r.to])).toEqual([['mail/spam/a.csv', 'mail/ham/a.csv'], ['mail/ham/h2.txt', 'mail/spam/h2.txt']]);
    const human = await snap(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(human.stdout).toContain('mail/ham/a.csv (csv, key id): 0 → 2 records: 2 records added');
    expect(human.stdout).toContain('mail/spam/a.csv (csv, key id): 2 → 0 records: 2 records removed');
  });

  it('check of the folder and of the sealed version count one label change (the sample), and the table records removed and added', async () => {
    const { dir, store } = await movedAfterSeal();
    const s2 = await snapJson(['seal', dir, '--as', 'ds@v2', '--key', keys.key, '--store', store]);
    expect(s2.code, s2.stderr).toBe(0);
    for (const b of [dir, 'ds@v2']) {
      const c = await snapJson(['check', b, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
      expect(c.code, c.stderr).toBe(1);
      expect(recordChanges(c.json.records)).toEqual(EXPECTED_RECORDS);
      expect(c.json.breaches.map((x: Json) => [x.set, x.rule, x.value])).toEqual(expect.arrayContaining([['mail/*/*', 'maxLabelChanges', 1], ['mail/spam/a.csv', 'maxRemoved', 2]]));
    }
  });
});
