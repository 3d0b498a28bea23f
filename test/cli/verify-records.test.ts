/**
 * `verify` and `diff` name the same records (docs/FORMAT.md §19.8): after records of a sealed
 * tabular file are edited, `verify --json` gives the modified file's record diff against the signed
 * index, `diff --json` gives the same set object in `records.sets`, and both name exactly the edited
 * records. Small tables of every kind of record set — with and without a key or a label.
 */
import { promises as fsp } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { jcs } from '../../src/records/canonical.js';
import { makeTree, snap, snapJson, useKeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';
import { schemaErrors } from '../helpers/json-schemas.js';

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

describe('verify and diff name the same one flip when a file left its label folder for two others', () => {
  it.each([
    ['moved', false],
    ['moved, a decoy written in its place', true],
  ])('%s', async (_, decoy) => {
    const dir = await makeTree({ 'mail/ham/1.txt': 'win money\n', 'mail/spam/s.txt': 'other\n' });
    const store = await newStorePath();
    const s = await snapJson(['seal', dir, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--records', 'mail/*/* format=files label-segment=1']);
    expect(s.code, s.stderr).toBe(0);
    for (const label of ['eggs', 'spam', 'zzz']) {
      await fsp.mkdir(join(dir, 'mail', label), { recursive: true });
      await fsp.copyFile(join(dir, 'mail/ham/1.txt'), join(dir, 'mail', label, '1.txt'));
    }
    await fsp.rm(join(dir, 'mail/ham/1.txt'));
    if (decoy) await fsp.writeFile(join(dir, 'mail/ham/1.txt'), 'a decoy\n');

    const d = await snapJson(['diff', 'ds@v1', dir, '--store', store]);
    const flips = d.json.records.sets[0].flipped.map((f: Json) => ({ set: 'mail/*/*', key: f.key[0], from: f.from, to: f.to }));
    expect(flips).toHaveLength(1);
    const v = await snapJson(['verify', dir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(v.json.problems.filter((p: Json) => p.kind === 'extra' && p.label).map((p: Json) => p.label)).toEqual(flips);
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

/** The label moves `snap diff ds@v1 DIR` names in its first record set (flips, and label changes of edited records), as verify's `label` reads them. */
async function diffLabelMoves(dir: string, store: string): Promise<Json[]> {
  const d = await snapJson(['diff', 'ds@v1', dir, '--store', store]);
  const set = d.json.records.sets[0];
  return [
    ...set.flipped.map((f: Json) => ({ set: 'mail/*/*', key: f.key[0], from: f.from, to: f.to })),
    ...set.modified.filter((m: Json) => m.labelChanged).map((m: Json) => ({ set: 'mail/*/*', key: m.key[0], from: m.a.label, to: m.b.label, contentChanged: true })),
  ];
}

describe('verify names a label flip whose source file was replaced by a symbolic link', () => {
  it.each([
    ['unchanged', 'a link', 'win money\n', undefined],
    ['edited', 'a link', 'win money!\n', true],
    ['unchanged', 'a FIFO', 'win money\n', undefined],
  ])('when a file\'s bytes went %s to another label folder and %s now stands where it was, as diff names it', async (_, what, moved, contentChanged) => {
    const dir = await makeTree({ 'mail/ham/1.txt': 'win money\n', 'mail/spam/s.txt': 'other\n' });
    const store = await newStorePath();
    const s = await snapJson(['seal', dir, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--records', 'mail/*/* format=files label-segment=1']);
    expect(s.code, s.stderr).toBe(0);
    await fsp.rm(join(dir, 'mail/ham/1.txt'));
    await fsp.writeFile(join(dir, 'mail/spam/1.txt'), moved);
    if (what === 'a link') await fsp.symlink('anything', join(dir, 'mail/ham/1.txt'));
    else execFileSync('mkfifo', [join(dir, 'mail/ham/1.txt')]);

    const label = { set: 'mail/*/*', key: 'mail/1.txt', from: 'ham', to: 'spam', ...(contentChanged ? { contentChanged } : {}) };
    expect(await diffLabelMoves(dir, store)).toEqual([label]);
    const v = await snapJson(['verify', dir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(v.code).toBe(1);
    expect(v.json.problems.map((p: Json) => [p.kind, p.path, p.label])).toEqual([
      ['type-changed', 'mail/ham/1.txt', label],
      ['extra', 'mail/spam/1.txt', label],
    ]);
    const human = await snap(['verify', dir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(human.stdout).toContain(contentChanged ? 'label changed: mail/1.txt: ham → spam (and its bytes)' : 'label flipped: mail/1.txt: ham → spam');
  });

  it('names no flip when the bytes added under another label folder are under another name', async () => {
    const dir = await makeTree({ 'mail/ham/1.txt': 'win money\n', 'mail/spam/s.txt': 'other\n' });
    const store = await newStorePath();
    const s = await snapJson(['seal', dir, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--records', 'mail/*/* format=files label-segment=1']);
    expect(s.code, s.stderr).toBe(0);
    await fsp.rm(join(dir, 'mail/ham/1.txt'));
    await fsp.writeFile(join(dir, 'mail/spam/2.txt'), 'win money\n');
    await fsp.symlink('anything', join(dir, 'mail/ham/1.txt'));

    const d = await snapJson(['diff', 'ds@v1', dir, '--store', store]);
    expect(d.json.records.sets[0].summary).toMatchObject({ flipped: 0, modified: 0, added: 1, removed: 1 });
    const v = await snapJson(['verify', dir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(v.code).toBe(1);
    expect(v.json.problems.map((p: Json) => [p.kind, p.path, p.label])).toEqual([
      ['type-changed', 'mail/ham/1.txt', undefined],
      ['extra', 'mail/spam/2.txt', undefined],
    ]);
  });
});

describe('verify names a label flip whose file moved over a signed symbolic link', () => {
  it.each([
    ['unchanged', 'win money\n', undefined],
    ['edited', 'win money!\n', true],
  ])('when a file went %s to another label folder, replacing a link signed there, as diff names it; the file there now is hashed (actual: its type, sha256 and size)', async (_, moved, contentChanged) => {
    const dir = await makeTree({ 'mail/ham/1.txt': 'win money\n', 'mail/spam/s.txt': 'other\n', 'mail/spam/1.txt': { symlink: 'anything' } });
    const store = await newStorePath();
    const s = await snapJson(['seal', dir, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--records', 'mail/*/* format=files label-segment=1']);
    expect(s.code, s.stderr).toBe(0);
    await fsp.rename(join(dir, 'mail/ham/1.txt'), join(dir, 'mail/spam/1.txt'));
    await fsp.writeFile(join(dir, 'mail/spam/1.txt'), moved);

    const label = { set: 'mail/*/*', key: 'mail/1.txt', from: 'ham', to: 'spam', ...(contentChanged ? { contentChanged } : {}) };
    expect(await diffLabelMoves(dir, store)).toEqual([label]);
    for (const jobs of ['1', '2']) {
      const v = await snapJson(['verify', dir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub, '--jobs', jobs]);
      expect(v.code).toBe(1);
      expect(v.json.problems.map((p: Json) => [p.kind, p.path, p.label])).toEqual([
        ['missing', 'mail/ham/1.txt', label],
        ['type-changed', 'mail/spam/1.txt', label],
      ]);
      expect(v.json.problems[1].expected).toEqual({ target: 'anything', type: 'symlink' });
      expect(v.json.problems[1].actual).toEqual({ type: 'file', sha256: createHash('sha256').update(moved).digest('hex'), size: Buffer.byteLength(moved) });
      expect(v.json.counts).toMatchObject({ missing: 1, 'type-changed': 1, extra: 0 });
      expect(schemaErrors('verify', v.json)).toBe('');
    }
    const human = await snap(['verify', dir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(human.stdout).toContain('mail/spam/1.txt  was a symlink, now a file');
    expect(human.stdout).toContain(contentChanged ? 'label changed: mail/1.txt: ham → spam (and its bytes)' : 'label flipped: mail/1.txt: ham → spam');
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

describe('verify names every label move of a key under two labels in both versions, as diff pairs them', () => {
  it.each([
    ['moved over its own name in another label folder', 'spam file\n', undefined],
    ['moved over its own name in another label folder and edited', 'spam file!\n', true],
  ])('when one file left ham for eggs and the spam file of that name was then %s (ham)', async (_, nowInHam, contentChanged) => {
    const dir = await makeTree({ 'mail/ham/1.txt': 'ham file\n', 'mail/spam/1.txt': 'spam file\n', 'mail/spam/s.txt': 'other\n' });
    const store = await newStorePath();
    const s = await snapJson(['seal', dir, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--records', 'mail/*/* format=files label-segment=1']);
    expect(s.code, s.stderr).toBe(0);
    await fsp.mkdir(join(dir, 'mail/eggs'));
    await fsp.rename(join(dir, 'mail/ham/1.txt'), join(dir, 'mail/eggs/1.txt'));
    await fsp.rm(join(dir, 'mail/spam/1.txt'));
    await fsp.writeFile(join(dir, 'mail/ham/1.txt'), nowInHam);

    const d = await snapJson(['diff', 'ds@v1', dir, '--store', store]);
    const set = d.json.records.sets[0];
    const diffMoves = [
      ...set.flipped.map((f: Json) => ({ set: 'mail/*/*', key: f.key[0], from: f.from, to: f.to })),
      ...set.modified.filter((m: Json) => m.labelChanged).map((m: Json) => ({ set: 'mail/*/*', key: m.key[0], from: m.a.label, to: m.b.label, contentChanged: true })),
    ];
    const eggs = { set: 'mail/*/*', key: 'mail/1.txt', from: 'ham', to: 'eggs' };
    const ham = { set: 'mail/*/*', key: 'mail/1.txt', from: 'spam', to: 'ham', ...(contentChanged ? { contentChanged } : {}) };
    expect(diffMoves).toEqual([eggs, ham]);
    const c = await snapJson(['check', dir, '--against', 'ds@v1', '--store', store]);
    expect(c.json.breaches.find((b: Json) => b.rule === 'maxLabelChanges')?.value).toBe(2);

    const v = await snapJson(['verify', dir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(v.code).toBe(1);
    expect(v.json.problems.map((p: Json) => [p.kind, p.path, p.label])).toEqual([
      ['extra', 'mail/eggs/1.txt', eggs],
      ['modified', 'mail/ham/1.txt', ham],
      ['missing', 'mail/spam/1.txt', ham],
    ]);
    const human = await snap(['verify', dir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(human.stdout).toContain('label flipped: mail/1.txt: ham → eggs');
    expect(human.stdout).toContain(contentChanged ? 'label changed: mail/1.txt: spam → ham (and its bytes)' : 'label flipped: mail/1.txt: spam → ham');
  });
});

// ------------------------------------------------------------------ property: random tables, random edits

type Row = Record<string, string | number>;
type Table = { format: 'csv' | 'tsv' | 'jsonl' | 'parquet'; keyed: boolean; labelled: boolean; position: boolean; rows: Row[] };

/** The file's bytes: a header (CSV, TSV) or one object a line (JSONL), or Parquet (f2 a DOUBLE, the rest strings). */
function fileBytes(t: Table, rows: Row[], crlf = false): Buffer {
  const cols = [...(t.keyed ? ['id'] : []), 'f1', 'f2', ...(t.labelled ? ['label'] : [])];
  const eol = crlf ? '\r\n' : '\n';
  if (t.format === 'parquet') return Buffer.from(parquetWriteBuffer({ columnData: cols.map((c) => ({ name: c, data: rows.map((r) => (c === 'f2' ? Number(r[c]) : String(r[c]))), type: c === 'f2' ? 'DOUBLE' : 'STRING' })) }));
  if (t.format === 'jsonl') return Buffer.from(rows.map((r) => JSON.stringify(Object.fromEntries(cols.map((c) => [c, c === 'f2' ? Number(r[c]) : r[c]]))) + eol).join(''));
  const sep = t.format === 'csv' ? ',' : '\t';
  return Buffer.from([cols, ...rows.map((r) => cols.map((c) => String(r[c])))].map((l) => l.join(sep) + eol).join(''));
}

/** A record as the reader makes it (CSV and TSV: every field a string). */
function recordOf(t: Table, r: Row): Row {
  const o: Row = {};
  for (const c of [...(t.keyed ? ['id'] : []), 'f1', 'f2', ...(t.labelled ? ['label'] : [])]) o[c] = c === 'f2' && (t.format === 'jsonl' || t.format === 'parquet') ? Number(r[c]) : String(r[c]);
  return o;
}

/**
 * What the record diff must name (FORMAT §19.8), from the two lists of rows: per identity, records
 * with equal fingerprints are unchanged; of the rest, equal features are a flip, then pairs are
 * modified, the rest removed or added. Keys as `JSON.stringify(key)`; flips as `key from→to`.
 */
function expectedDiff(t: Table, before: Row[], after: Row[]) {
  const sha = (x: string) => createHash('sha256').update(x).digest('hex');
  const entries = (rows: Row[]) =>
    rows.map((r, i) => {
      const o = recordOf(t, r);
      const f = { ...o };
      delete f.id;
      delete f.label;
      const features = sha(jcs(f));
      const key = t.keyed ? [o.id] : t.position ? i + 1 : features;
      return { id: JSON.stringify(key), features, fingerprint: sha(jcs(o)), label: o.label === undefined ? undefined : String(o.label) };
    });
  const out = { unchanged: 0, added: [] as string[], removed: [] as string[], modified: [] as string[], flipped: [] as string[] };
  const ids = new Set([...entries(before), ...entries(after)].map((e) => e.id));
  for (const id of ids) {
    const order = (x: { fingerprint: string }, y: { fingerprint: string }) => (x.fingerprint < y.fingerprint ? -1 : x.fingerprint > y.fingerprint ? 1 : 0);
    const a = entries(before).filter((e) => e.id === id).sort(order);
    const b = entries(after).filter((e) => e.id === id).sort(order);
    const restA = a.filter((e) => {
      const j = b.findIndex((x) => x.fingerprint === e.fingerprint);
      if (j < 0) return true;
      b.splice(j, 1);
      out.unchanged++;
      return false;
    });
    const rest2 = restA.filter((e) => {
      const j = b.findIndex((x) => x.features === e.features);
      if (j < 0) return true;
      out.flipped.push(`${id} ${e.label}→${b[j]?.label}`);
      b.splice(j, 1);
      return false;
    });
    const n = Math.min(rest2.length, b.length);
    for (let i = 0; i < rest2.length; i++) (i < n ? out.modified : out.removed).push(id);
    for (let i = n; i < b.length; i++) out.added.push(id);
  }
  for (const k of ['added', 'removed', 'modified', 'flipped'] as const) out[k].sort();
  return out;
}

const named = (set: Json) => ({
  unchanged: set.summary.unchanged,
  added: set.added.map((r: Json) => JSON.stringify(r.key)).sort(),
  removed: set.removed.map((r: Json) => JSON.stringify(r.key)).sort(),
  modified: set.modified.map((r: Json) => JSON.stringify(r.key)).sort(),
  flipped: set.flipped.map((r: Json) => `${JSON.stringify(r.key)} ${r.from}→${r.to}`).sort(),
});

const word = fc.constantFrom('a', 'b', 'é', 'x y');
const rowArb = fc.record({ f1: word, f2: fc.constantFrom('1.5', '2', '-1'), label: fc.constantFrom('spam', 'ham', 'eggs') });
const tableArb = fc
  .record({ format: fc.constantFrom('csv', 'tsv', 'jsonl', 'parquet'), keyed: fc.boolean(), labelled: fc.boolean(), position: fc.boolean(), rows: fc.array(rowArb, { minLength: 1, maxLength: 8 }) })
  .map((t) => ({ ...t, position: !t.keyed && t.position, rows: t.rows.map((r, i) => ({ ...r, id: String(i + 1) })) }) as Table);
const editArb = fc.record({ kind: fc.constantFrom('flip', 'insert', 'delete', 'feature', 'reorder', 'duplicate-key', 'change-key', 'conflicting-label'), at: fc.nat(), row: rowArb });

/** Rows after the edits; new keys are 100, 101, … */
function edit(rows: Row[], edits: { kind: string; at: number; row: Row }[]): Row[] {
  const out = rows.map((r) => ({ ...r }));
  let next = 100;
  for (const e of edits) {
    const i = e.at % Math.max(out.length, 1);
    const r = out[i];
    if (e.kind === 'insert' || !r) out.splice(i, 0, { ...e.row, id: String(next++) });
    else if (e.kind === 'flip') r.label = e.row.label as string;
    else if (e.kind === 'delete') out.splice(i, 1);
    else if (e.kind === 'feature') r.f1 = `${r.f1}!`;
    else if (e.kind === 'reorder') out.push(...out.splice(0, i + 1));
    else if (e.kind === 'duplicate-key') out.splice(i, 0, { ...e.row, id: r.id as string });
    else if (e.kind === 'change-key') r.id = String(next++);
    else out.splice(i, 0, { ...r, id: String(next++), label: r.label === 'spam' ? 'ham' : 'spam' });
  }
  return out;
}

describe('verify and diff, on random tables and random edits', () => {
  it('name exactly the edited records, the same ones, for CSV, TSV, JSONL and Parquet, with or without a key or a label', async () => {
    await fc.assert(
      fc.asyncProperty(tableArb, fc.array(editArb, { minLength: 1, maxLength: 4 }), fc.boolean(), async (t, edits, crlf) => {
        const name = `data.${t.format}`;
        const rule = `${name}${t.keyed ? ' key=id' : ''}${t.labelled ? ' label=label' : ''}${t.position ? ' identity=position' : ''}`;
        const after = edit(t.rows, edits);
        const bytes = fileBytes(t, after, crlf && t.format !== 'parquet');
        const { dir, store } = await sealThenEdit({ [name]: fileBytes(t, t.rows) }, rule, { [name]: bytes });
        const v = await snapJson(['verify', dir, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
        const d = await snapJson(['diff', 'ds@v1', dir, '--store', store]);
        const set = d.json.records.sets.find((s: Json) => s.name === name);
        const problem = v.json.problems.find((p: Json) => p.path === name);
        expect(v.code).toBe(problem ? 1 : 0);
        expect(d.code).toBe(problem ? 1 : 0);
        if (problem) expect(problem.records).toEqual(set);
        expect(named(set)).toEqual(expectedDiff(t, t.rows, after));
      }),
      { numRuns: 15, seed: 1309 },
    );
  });
});
