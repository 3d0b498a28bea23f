/**
 * `verify` and `diff` name the same records (docs/FORMAT.md §19.8): after records of a sealed
 * tabular file are edited, `verify --json` gives the modified file's record diff against the signed
 * index, `diff --json` gives the same set object in `records.sets`, and both name exactly the edited
 * records. Small tables of every kind of record set — with and without a key or a label.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, snap, snapJson, useKeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';

const keys = useKeyPair();

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Seal `files` with one `--records` rule, then write `edited` over them. */
async function sealThenEdit(files: Record<string, string | Buffer>, rule: string, edited: Record<string, string | Buffer>) {
  const dir = await makeTree(files);
  const store = await newStorePath();
  const s = await snapJson(['seal', dir, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--records', rule]);
  expect(s.code, s.stderr).toBe(0);
  for (const [name, bytes] of Object.entries(edited)) await fsp.writeFile(join(dir, name), bytes);
  return { dir, store };
}

/** verify's record diff of `name` and diff's, which must be the same object. */
async function bothReports(dir: string, store: string, name: string): Promise<Json> {
  const v = await snapJson(['verify', dir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
  expect(v.code, v.stderr).toBe(1);
  const problem = v.json.problems.find((p: Json) => p.path === name);
  const d = await snapJson(['diff', 'ds@v1', dir, '--store', store]);
  expect(d.code, d.stderr).toBe(1);
  const set = d.json.records.sets.find((s: Json) => s.name === name);
  expect(problem.records).toEqual(set);
  return set;
}

describe('verify and diff name the same records', () => {
  it('in a set with neither a key nor a label (its index lines are the shortest there are)', async () => {
    const { dir, store } = await sealThenEdit({ 'x.csv': 'f1,f2\na,1\nb,2\n' }, 'x.csv', { 'x.csv': 'f1,f2\na,1\nb,2\nc,3\n' });
    const set = await bothReports(dir, store, 'x.csv');
    expect(set.summary).toMatchObject({ unchanged: 2, added: 1, removed: 0, modified: 0, flipped: 0 });
    expect(set.added.map((r: Json) => r.row)).toEqual([3]);
  });

  it('in a set keyed by position with no label', async () => {
    const { dir, store } = await sealThenEdit({ 'x.tsv': 'f1\tf2\na\t1\nb\t2\n' }, 'x.tsv identity=position', { 'x.tsv': 'f1\tf2\na\t1\nb\t3\n' });
    const set = await bothReports(dir, store, 'x.tsv');
    expect(set.summary).toMatchObject({ unchanged: 1, added: 0, removed: 0, modified: 1, flipped: 0 });
    expect(set.modified.map((r: Json) => r.key)).toEqual([2]);
  });
});

describe('verify and diff name the same label flips in a label-folder set', () => {
  it('when two files of the same content moved to two other label folders, each is paired with its own source', async () => {
    const dir = await makeTree({ 'mail/ham/1.txt': 'same\n', 'mail/ham/2.txt': 'same\n', 'mail/spam/s.txt': 'other\n', 'mail/eggs/e.txt': 'third\n' });
    const store = await newStorePath();
    const s = await snapJson(['seal', dir, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--records', 'mail/*/* format=files label-segment=1']);
    expect(s.code, s.stderr).toBe(0);
    await fsp.rename(join(dir, 'mail/ham/1.txt'), join(dir, 'mail/spam/1.txt'));
    await fsp.rename(join(dir, 'mail/ham/2.txt'), join(dir, 'mail/eggs/2.txt'));

    const d = await snapJson(['diff', 'ds@v1', dir, '--store', store]);
    expect(d.json.records.sets[0].flipped.map((f: Json) => [f.key[0], f.from, f.to])).toEqual([
      ['mail/1.txt', 'ham', 'spam'],
      ['mail/2.txt', 'ham', 'eggs'],
    ]);
    const v = await snapJson(['verify', dir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(v.code).toBe(1);
    const moves = v.json.problems.filter((p: Json) => p.kind === 'extra').map((p: Json) => [p.movedFrom, p.path, p.label]);
    expect(moves).toEqual([
      ['mail/ham/2.txt', 'mail/eggs/2.txt', { set: 'mail/*/*', key: 'mail/2.txt', from: 'ham', to: 'eggs' }],
      ['mail/ham/1.txt', 'mail/spam/1.txt', { set: 'mail/*/*', key: 'mail/1.txt', from: 'ham', to: 'spam' }],
    ]);
  });
});

describe('verify of a label-folder set with a moved file that cannot be a record', () => {
  it('still reports every problem and exits 1 when the file moved to a path whose key is over its limit', async () => {
    const dir = await makeTree({ 'mail/ham/1.txt': 'a\n', 'mail/spam/s.txt': 'b\n' });
    const store = await newStorePath();
    const s = await snapJson(['seal', dir, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--records', 'mail/*/* format=files label-segment=1']);
    expect(s.code, s.stderr).toBe(0);
    // ten folders of 250 double quotes: 2,500 bytes of path, over 5,000 bytes of key once escaped in JSON
    const deep = join(dir, 'mail', 'spam', ...Array.from({ length: 10 }, () => '"'.repeat(250)));
    await fsp.mkdir(deep, { recursive: true });
    await fsp.rename(join(dir, 'mail/ham/1.txt'), join(deep, '1.txt'));

    const v = await snapJson(['verify', dir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(v.code, v.stderr).toBe(1);
    expect(v.json.problems.map((p: Json) => [p.kind, p.movedFrom ?? p.movedTo, p.label])).toEqual([
      ['missing', expect.stringMatching(/^mail\/spam\/"+\//), undefined],
      ['extra', 'mail/ham/1.txt', undefined],
    ]);
  });
});

describe('verify names a label flip hidden behind a decoy', () => {
  it('when a file moved to another label folder and other bytes were written where it was', async () => {
    const dir = await makeTree({ 'mail/ham/1.txt': 'win money\n', 'mail/spam/s.txt': 'other\n' });
    const store = await newStorePath();
    const s = await snapJson(['seal', dir, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--records', 'mail/*/* format=files label-segment=1']);
    expect(s.code, s.stderr).toBe(0);
    await fsp.rename(join(dir, 'mail/ham/1.txt'), join(dir, 'mail/spam/1.txt'));
    await fsp.writeFile(join(dir, 'mail/ham/1.txt'), 'a decoy\n');

    const d = await snapJson(['diff', 'ds@v1', dir, '--store', store]);
    expect(d.json.records.sets[0].flipped.map((f: Json) => [f.key[0], f.from, f.to])).toEqual([['mail/1.txt', 'ham', 'spam']]);
    const v = await snapJson(['verify', dir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(v.code).toBe(1);
    expect(v.json.problems.map((p: Json) => [p.kind, p.path, p.label])).toEqual([
      ['modified', 'mail/ham/1.txt', undefined],
      ['extra', 'mail/spam/1.txt', { set: 'mail/*/*', key: 'mail/1.txt', from: 'ham', to: 'spam' }],
    ]);
    const human = await snap(['verify', dir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(human.stdout).toContain('label flipped: mail/1.txt: ham → spam');
  });
});

describe('verify names a label change whose file was also edited', () => {
  it('when a file moved to another label folder and a byte of it changed, as diff names a modified record with another label', async () => {
    const dir = await makeTree({ 'mail/ham/1.txt': 'win money\n', 'mail/spam/s.txt': 'other\n' });
    const store = await newStorePath();
    const s = await snapJson(['seal', dir, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--records', 'mail/*/* format=files label-segment=1']);
    expect(s.code, s.stderr).toBe(0);
    await fsp.rm(join(dir, 'mail/ham/1.txt'));
    await fsp.writeFile(join(dir, 'mail/spam/1.txt'), 'win money!\n');

    const d = await snapJson(['diff', 'ds@v1', dir, '--store', store]);
    expect(d.json.records.sets[0].modified.map((m: Json) => [m.key[0], m.a.label, m.b.label, m.labelChanged])).toEqual([['mail/1.txt', 'ham', 'spam', true]]);
    const v = await snapJson(['verify', dir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(v.code).toBe(1);
    const label = { set: 'mail/*/*', key: 'mail/1.txt', from: 'ham', to: 'spam', contentChanged: true };
    expect(v.json.problems.map((p: Json) => [p.kind, p.path, p.label])).toEqual([
      ['missing', 'mail/ham/1.txt', label],
      ['extra', 'mail/spam/1.txt', label],
    ]);
    const human = await snap(['verify', dir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(human.stdout).toContain('label changed: mail/1.txt: ham → spam (and its bytes)');
  });
});
