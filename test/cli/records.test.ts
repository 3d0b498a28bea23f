/**
 * Record forensics end to end (docs/FORMAT.md §19): seal signs record indexes of the example
 * tabular data; after labels are flipped and records injected, deleted and modified, `diff`,
 * `verify` and `check` name exactly those records, no more and no fewer — also between two
 * `--manifest-only` snapshots whose data is gone, and for a label-by-folder dataset.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { copyTree, makeKeyPair, makeTree, REPO, snap, snapJson, useKeyPair, EXAMPLE } from '../helpers/tree.js';
import { newStorePath, objectFiles, sha256, snapshotFolder } from '../helpers/store.js';
import { MAX_STATEMENT_BYTES } from '../../src/core/statement.js';
import { MAX_LABELS } from '../../src/core/records.js';

const keys = useKeyPair();
const TABULAR = join(REPO, 'examples', 'tabular');

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

async function seal(dir: string, store: string, as: string, extra: string[] = []) {
  const r = await snapJson(['seal', dir, '--as', as, '--key', keys.key, '--store', store, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return r.json;
}

/** Rewrite a file's text. */
async function edit(path: string, f: (text: string) => string): Promise<void> {
  const before = await fsp.readFile(path, 'utf8');
  const after = f(before);
  expect(after).not.toBe(before);
  await fsp.writeFile(path, after);
}

/** Poison the breast-cancer CSV: flip ids 10, 20 and 30, nudge a feature of id 40, delete id 50, inject id 9999. */
async function poisonCsv(dir: string): Promise<void> {
  await edit(join(dir, 'breast_cancer.csv'), (t) => {
    const lines = t.split('\n');
    const at = (id: number) => lines.findIndex((l) => l.startsWith(`${id},`));
    const flip = (l: string) => (l.endsWith(',malignant') ? l.replace(/,malignant$/, ',benign') : l.replace(/,benign$/, ',malignant'));
    for (const id of [10, 20, 30]) lines[at(id)] = flip(lines[at(id)]!);
    const f = lines[at(40)]!.split(',');
    f[1] = String(Number(f[1]) + 0.01);
    lines[at(40)] = f.join(',');
    lines.splice(at(50), 1);
    lines.splice(lines.length - 1, 0, `9999,${lines[at(60)]!.split(',').slice(1).join(',')}`);
    return lines.join('\n');
  });
}

/** The labels of ids 10, 20, 30 in the example, before the flip. */
async function labelsOf(ids: number[]): Promise<Record<string, string>> {
  const lines = (await fsp.readFile(join(TABULAR, 'breast_cancer.csv'), 'utf8')).split('\n');
  return Object.fromEntries(ids.map((id) => [String(id), lines.find((l) => l.startsWith(`${id},`))!.split(',').at(-1)!]));
}

/** Poison the e-mails: flip two labels, delete one record, inject one. */
async function poisonJsonl(dir: string): Promise<{ flipped: string[]; deleted: string; injected: string }> {
  const path = join(dir, 'spamassassin.jsonl');
  const rows = (await fsp.readFile(path, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l));
  const flipped = [rows[3].id, rows[7].id];
  for (const i of [3, 7]) rows[i].label = rows[i].label === 'spam' ? 'ham' : 'spam';
  const deleted = rows[11].id;
  rows.splice(11, 1);
  rows.push({ id: 'injected-0001', label: 'ham', subject: 'totally legit', text: 'click here' });
  await fsp.writeFile(path, rows.map((r) => JSON.stringify(r) + '\n').join(''));
  return { flipped, deleted, injected: 'injected-0001' };
}

const sortedKeys = (list: { key: unknown }[]) => list.map((x) => JSON.stringify(x.key)).sort();

describe('record indexes on the example tabular data', () => {
  it('are sealed, signed and stored: one set per rule, with counts and label counts', async () => {
    const store = await newStorePath();
    const r = await seal(TABULAR, store, 'tab@v1');
    expect(r.records.map((m: Json) => [m.path, m.format, m.identity, m.count, m.labels])).toEqual([
      ['breast_cancer.csv', 'csv', 'key', 569, { benign: 357, malignant: 212 }],
      ['iris.csv', 'csv', 'features', 150, { setosa: 50, versicolor: 50, virginica: 50 }],
      ['spamassassin.jsonl', 'jsonl', 'key', 120, { ham: 80, spam: 40 }],
    ]);
    const statement = JSON.parse(await fsp.readFile(join(snapshotFolder(store, 'tab', 'v1'), 'statement.json'), 'utf8'));
    expect(statement.predicate.records).toEqual(r.records);
    const names = new Set((await objectFiles(store)).map((o) => o.name));
    for (const m of r.records) expect(names.has(m.index.sha256)).toBe(true);
    const show = await snap(['seal', TABULAR, '--as', 'tab@v2', '--key', keys.key, '--store', store]);
    expect(show.stdout).toMatch(/records +3 record sets indexed and signed/);
    expect(show.stdout).toMatch(/breast_cancer\.csv: 569 records \(csv, key id, label diagnosis\): benign 357, malignant 212/);
  });

  it('name exactly the flipped, modified, removed and added records in diff, verify and check', async () => {
    const store = await newStorePath();
    await seal(TABULAR, store, 'tab@v1');
    const data = await copyTree(TABULAR);
    await poisonCsv(data);
    const mail = await poisonJsonl(data);
    const before = await labelsOf([10, 20, 30]);

    // diff: snapshot against the poisoned folder
    const d = await snapJson(['diff', 'tab@v1', data, '--store', store]);
    expect(d.code).toBe(1);
    const byName = Object.fromEntries(d.json.records.sets.map((s: Json) => [s.name, s]));
    const csv = byName['breast_cancer.csv'];
    expect(csv.flipped.map((f: Json) => [f.key, f.from, f.to])).toEqual(
      ['10', '20', '30'].map((id) => [[id], before[id], before[id] === 'malignant' ? 'benign' : 'malignant']).sort((x, y) => JSON.stringify(x[0]).localeCompare(JSON.stringify(y[0]))),
    );
    expect(sortedKeys(csv.modified)).toEqual(['["40"]']);
    expect(sortedKeys(csv.removed)).toEqual(['["50"]']);
    expect(sortedKeys(csv.added)).toEqual(['["9999"]']);
    expect(csv.summary).toMatchObject({ unchanged: 569 - 5, flipped: 3, modified: 1, removed: 1, added: 1, labelChanges: 3 });
    const jl = byName['spamassassin.jsonl'];
    expect(sortedKeys(jl.flipped)).toEqual(mail.flipped.map((id) => JSON.stringify([id])).sort());
    expect(sortedKeys(jl.removed)).toEqual([JSON.stringify([mail.deleted])]);
    expect(sortedKeys(jl.added)).toEqual([JSON.stringify([mail.injected])]);
    expect(jl.modified).toEqual([]);
    expect(byName['iris.csv'].summary).toMatchObject({ added: 0, removed: 0, modified: 0, flipped: 0, unchanged: 150 });
    expect(d.json.records.summary).toMatchObject({ sets: 3, flipped: 5, modified: 1, removed: 2, added: 2 });
    const human = await snap(['diff', 'tab@v1', data, '--store', store]);
    expect(human.stdout).toMatch(/breast_cancer\.csv \(csv, key id, label diagnosis\): 569 → 569 records: 3 labels flipped/);
    expect(human.stdout).toContain(`10: ${before['10']} → `);

    // verify: the two modified files carry their record diffs
    const v = await snapJson(['verify', data, '--against', 'tab@v1', '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(1);
    expect(v.json.problems.map((p: Json) => [p.path, p.kind])).toEqual([
      ['breast_cancer.csv', 'modified'],
      ['spamassassin.jsonl', 'modified'],
    ]);
    expect(v.json.problems[0].records.summary).toEqual(csv.summary);
    expect(sortedKeys(v.json.problems[1].records.flipped)).toEqual(sortedKeys(jl.flipped));
    const vh = await snap(['verify', data, '--against', 'tab@v1', '--pubkey', keys.pub, '--store', store]);
    expect(vh.stdout).toMatch(/spamassassin\.jsonl .*\n +records: 2 labels flipped \(.*\), 1 record added, 1 record removed/);

    // check: the gate fails, naming each threshold crossed
    const c = await snapJson(['check', data, '--against', 'tab@v1', '--store', store]);
    expect(c.code).toBe(1);
    expect(c.json.breaches.map((b: Json) => [b.set, b.rule, b.value])).toEqual([
      ['breast_cancer.csv', 'maxLabelChanges', 3],
      ['breast_cancer.csv', 'maxModified', 1],
      ['breast_cancer.csv', 'maxRemoved', 1],
      ['spamassassin.jsonl', 'maxLabelChanges', 2],
      ['spamassassin.jsonl', 'maxRemoved', 1],
    ]);
    // with thresholds that allow exactly this much, it passes
    const loose = await snapJson(['check', data, '--against', 'tab@v1', '--store', store, '--max-label-changes', '3', '--max-modified', '1', '--max-removed', '1']);
    expect(loose.code).toBe(0);
    expect(loose.json.breaches).toEqual([]);
  });

  it('pass check for a legitimate new version: records appended within the share, no label moved far', async () => {
    const store = await newStorePath();
    await seal(TABULAR, store, 'tab@v1');
    const data = await copyTree(TABULAR);
    await edit(join(data, 'breast_cancer.csv'), (t) => {
      const rows = t.trimEnd().split('\n');
      const extra = rows.slice(1, 11).map((l, i) => `${1000 + i},${l.split(',').slice(1).join(',')}`);
      return [...rows, ...extra].join('\n') + '\n';
    });
    const c = await snapJson(['check', data, '--against', 'tab@v1', '--store', store]);
    expect(c.code, JSON.stringify(c.json.breaches)).toBe(0);
    expect(c.json.records.sets.find((s: Json) => s.name === 'breast_cancer.csv').summary).toMatchObject({ added: 10, removed: 0, flipped: 0, modified: 0 });
    // The human report says where the thresholds it applied come from.
    const h = await snap(['check', data, '--against', 'tab@v1', '--store', store]);
    expect(h.stdout).toMatch(/^thresholds: .+ \(the stricter of A's and B's snap\.json over the defaults, then the flags\)$/m);
    // … but not with a tighter share from the flags, nor with a new label
    expect((await snapJson(['check', data, '--against', 'tab@v1', '--store', store, '--max-added-share', '0.01'])).code).toBe(1);
    await edit(join(data, 'iris.csv'), (t) => t.replace(/setosa\n$/, 'setosa\n') + '1.0,1.0,1.0,1.0,unknown\n');
    const n = await snapJson(['check', data, '--against', 'tab@v1', '--store', store]);
    expect(n.json.breaches.map((b: Json) => [b.set, b.rule])).toContainEqual(['iris.csv', 'newLabels']);
  });

  it('compare two --manifest-only snapshots after the data is gone', async () => {
    const store = await newStorePath();
    const a = await copyTree(TABULAR);
    await seal(a, store, 'tab@v1', ['--manifest-only']);
    const b = await copyTree(TABULAR);
    await poisonCsv(b);
    const mail = await poisonJsonl(b);
    await seal(b, store, 'tab@v2', ['--manifest-only']);
    await fsp.rm(a, { recursive: true });
    await fsp.rm(b, { recursive: true });
    const d = await snapJson(['diff', 'tab@v1', 'tab@v2', '--store', store]);
    expect(d.code).toBe(1);
    const byName = Object.fromEntries(d.json.records.sets.map((s: Json) => [s.name, s]));
    expect(sortedKeys(byName['breast_cancer.csv'].flipped)).toEqual(['["10"]', '["20"]', '["30"]']);
    expect(sortedKeys(byName['spamassassin.jsonl'].flipped)).toEqual(mail.flipped.map((id) => JSON.stringify([id])).sort());
    expect(d.json.records.unavailable).toEqual([]);
    const c = await snapJson(['check', 'tab@v2', '--against', 'tab@v1', '--store', store]);
    expect(c.code).toBe(1);
    expect(c.json.thresholds).toMatchObject({ maxAddedShare: 0.25 }); // from the snapshot's own snap.json
  });

  it('say which sets cannot be compared when an index object is gone, and check fails closed', async () => {
    const store = await newStorePath();
    const r = await seal(TABULAR, store, 'tab@v1', ['--manifest-only']);
    const data = await copyTree(TABULAR);
    await poisonCsv(data);
    const iris = r.records.find((m: Json) => m.path === 'breast_cancer.csv').index.sha256;
    const obj = join(store, 'objects', 'sha256', iris.slice(0, 2), iris.slice(2));
    await fsp.rm(obj);
    const d = await snapJson(['diff', 'tab@v1', data, '--store', store]);
    expect(d.json.records.unavailable).toEqual([{ name: 'breast_cancer.csv', side: 'a', reason: expect.stringMatching(/not in the store/) }]);
    const c = await snapJson(['check', data, '--against', 'tab@v1', '--store', store]);
    expect(c.code).toBe(1);
    expect(c.json.breaches.map((b: Json) => b.rule)).toContain('unavailable');
  });

  it('are checked by fsck: a manifest-only store with its indexes is clean, one without an index object is not', async () => {
    const store = await newStorePath();
    const r = await seal(TABULAR, store, 'tab@v1', ['--manifest-only']);
    expect((await snapJson(['fsck', '--store', store])).code).toBe(0);
    const h = r.records.find((m: Json) => m.path === 'iris.csv').index.sha256;
    await fsp.rm(join(store, 'objects', 'sha256', h.slice(0, 2), h.slice(2)));
    const f = await snapJson(['fsck', '--store', store]);
    expect(f.code).toBe(1);
    expect(JSON.stringify(f.json)).toContain('record index of iris.csv');
  });

  it('refuse an index object that was altered (OBJECT_CORRUPT, exit 1)', async () => {
    const store = await newStorePath();
    const r = await seal(TABULAR, store, 'tab@v1', ['--manifest-only']);
    const data = await copyTree(TABULAR);
    await poisonCsv(data);
    const h = r.records.find((m: Json) => m.path === 'breast_cancer.csv').index.sha256;
    const obj = join(store, 'objects', 'sha256', h.slice(0, 2), h.slice(2));
    await fsp.chmod(obj, 0o644);
    await edit(obj, (t) => t.replace('"label":"malignant"', '"label":"benign"'));
    const d = await snapJson(['diff', 'tab@v1', data, '--store', store]);
    expect(d.code).toBe(1);
    expect(d.json.error.code).toBe('OBJECT_CORRUPT');
  });
});

describe('a label-by-folder dataset', () => {
  const rule = ['--records', '*/* format=files label-segment=0'];

  it('shows a file moved from ham/ to spam/ as a label flip in diff and verify', async () => {
    const store = await newStorePath();
    const data = await copyTree(EXAMPLE);
    const s = await seal(data, store, 'mail@v1', rule);
    expect(s.records).toEqual([expect.objectContaining({ pattern: '*/*', format: 'files', identity: 'path', labelSegment: 0, count: 120, labels: { ham: 80, spam: 40 } })]);
    const name = (await fsp.readdir(join(data, 'ham'))).sort()[0]!;
    await fsp.rename(join(data, 'ham', name), join(data, 'spam', name));
    const d = await snapJson(['diff', 'mail@v1', data, '--store', store]);
    const set = d.json.records.sets[0];
    expect(set.flipped).toEqual([{ key: [name], from: 'ham', to: 'spam', a: { row: expect.any(Number) }, b: { row: expect.any(Number) } }]);
    expect(set.summary).toMatchObject({ added: 0, removed: 0, modified: 0, flipped: 1, unchanged: 119 });
    expect(set.shift.labels).toEqual([
      { label: 'ham', a: 80, b: 79, shareA: 80 / 120, shareB: 79 / 120 },
      { label: 'spam', a: 40, b: 41, shareA: 40 / 120, shareB: 41 / 120 },
    ]);
    const v = await snapJson(['verify', data, '--against', 'mail@v1', '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(1);
    const extra = v.json.problems.find((p: Json) => p.kind === 'extra');
    expect(extra.label).toEqual({ set: '*/*', key: name, from: 'ham', to: 'spam' });
    const vh = await snap(['verify', data, '--against', 'mail@v1', '--pubkey', keys.pub, '--store', store]);
    expect(vh.stdout).toContain(`label flipped: ${name}: ham → spam`);
    // sealed again with the data gone, the flip is still named between the two snapshots
    await seal(data, store, 'mail@v2', [...rule, '--manifest-only']);
    await fsp.rm(data, { recursive: true });
    const d2 = await snapJson(['diff', 'mail@v1', 'mail@v2', '--store', store]);
    expect(d2.json.records.sets[0].flipped.map((f: Json) => [f.key, f.from, f.to])).toEqual([[[name], 'ham', 'spam']]);
  });

  it('names no label flip for a file moved out of one label-folder set into another that also matches its old path: verify says what diff says, a record removed and one added', async () => {
    // The rules are listed in the order the statement sorts them (`/` before `t`), so the first
    // rule is also the first set: train/cat/ files are /train/cat/*'s records, train/dog/ files are
    // train/*/*'s — though train/*/* matches train/cat/a.jpg too.
    const store = await newStorePath();
    const config = JSON.stringify({ records: [{ pattern: '/train/cat/*', format: 'files', labelSegment: 1 }, { pattern: 'train/*/*', format: 'files', labelSegment: 1 }] });
    const data = await makeTree({ 'snap.json': config, 'train/cat/a.jpg': 'a', 'train/cat/c.jpg': 'c', 'train/dog/b.jpg': 'b' });
    const s = await seal(data, store, 'pets@v1');
    expect(s.records.map((m: Json) => [m.pattern, m.count])).toEqual([['/train/cat/*', 2], ['train/*/*', 1]]);
    await fsp.rename(join(data, 'train', 'cat', 'a.jpg'), join(data, 'train', 'dog', 'a.jpg'));
    const d = await snapJson(['diff', 'pets@v1', data, '--store', store]);
    const setOf = (name: string) => d.json.records.sets.find((x: Json) => x.name === name);
    expect(setOf('/train/cat/*')).toMatchObject({ removed: [expect.objectContaining({ key: ['train/a.jpg'], label: 'cat' })], added: [], flipped: [] });
    expect(setOf('train/*/*')).toMatchObject({ added: [expect.objectContaining({ key: ['train/a.jpg'], label: 'dog' })], removed: [], flipped: [] });
    const v = await snapJson(['verify', data, '--against', 'pets@v1', '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(1);
    expect(v.json.problems.map((p: Json) => [p.path, p.kind, p.movedTo ?? p.movedFrom, p.label])).toEqual([
      ['train/cat/a.jpg', 'missing', 'train/dog/a.jpg', undefined],
      ['train/dog/a.jpg', 'extra', 'train/cat/a.jpg', undefined],
    ]);
    expect((await snap(['verify', data, '--against', 'pets@v1', '--pubkey', keys.pub, '--store', store])).stdout).not.toContain('label flipped');
  });

  it('refuses to seal label-folder rules that snap.json lists in another order than the statement sorts them, where one file matches both: diff, verify and check would put it in another set than the seal did', async () => {
    // train/cat/* comes first in snap.json, so the seal makes train/cat/ files its records; the
    // statement lists train/*/* first ('*' before 'c'), and every reader of it puts them there.
    const store = await newStorePath();
    const config = JSON.stringify({ records: [{ pattern: 'train/cat/*', format: 'files', labelSegment: 1 }, { pattern: 'train/*/*', format: 'files', labelSegment: 1 }] });
    const data = await makeTree({ 'snap.json': config, 'train/cat/a.jpg': 'a', 'train/cat/c.jpg': 'c', 'train/dog/b.jpg': 'b' });
    const r = await snapJson(['seal', data, '--as', 'pets@v1', '--key', keys.key, '--store', store]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error).toMatchObject({ code: 'RECORDS_CONFIG_INVALID', details: { path: 'train/cat/a.jpg', rule: 'train/cat/*', set: 'train/*/*' } });
    const message = r.json.error.message as string;
    expect(message).toContain('snap.json');
    expect(message).toContain('train/cat/a.jpg');
    expect(message).toContain('List "train/*/*" before "train/cat/*"');
    expect(message).toContain('"/train/cat/*"'); // the same paths, sorted before train/*/*
    expect(message).toContain('nothing was sealed');
    expect(await objectFiles(store)).toEqual([]);
    expect((await snapJson(['list', '--store', store])).json.snapshots ?? []).toEqual([]);
    // --records rules are held to the same
    const flags = await snapJson(['seal', data, '--as', 'pets@v1', '--key', keys.key, '--store', store, '--records', 'train/cat/* format=files label-segment=1', '--records', 'train/*/* format=files label-segment=1']);
    expect(flags.code, flags.stderr).toBe(3);
    expect(flags.json.error.code).toBe('RECORDS_CONFIG_INVALID');
    expect(flags.json.error.message).toContain('--records');
    expect(flags.json.error.message).toContain('List "train/*/*" before "train/cat/*"');
    expect(await objectFiles(store)).toEqual([]);
  });

  it('refuses to seal a rule listed first that takes a file of a label folder without indexing it (no record format), where the statement\'s readers would count it in the label-folder set', async () => {
    const store = await newStorePath();
    const config = JSON.stringify({ records: [{ pattern: '*.txt' }, { pattern: 'mail/*/*', format: 'files', labelSegment: 1 }] });
    const data = await makeTree({ 'snap.json': config, 'mail/ham/1.txt': 'x', 'mail/ham/3.jpg': 'z' });
    const r = await snapJson(['seal', data, '--as', 'mail@v1', '--key', keys.key, '--store', store]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error).toMatchObject({ code: 'RECORDS_CONFIG_INVALID', details: { path: 'mail/ham/1.txt', rule: '*.txt', set: 'mail/*/*' } });
    expect(r.json.error.message).toContain('List "mail/*/*" before "*.txt"');
    expect(await objectFiles(store)).toEqual([]);
  });

  for (const [what, rules, sets] of [
    ['listed in the order the statement sorts them', [{ pattern: 'train/*/*', format: 'files', labelSegment: 1 }, { pattern: 'train/cat/*', format: 'files', labelSegment: 1 }], [['train/*/*', 3]]],
    ['disjoint', [{ pattern: 'train/cat/*', format: 'files', labelSegment: 1 }, { pattern: 'train/dog/*', format: 'files', labelSegment: 1 }], [['train/cat/*', 2], ['train/dog/*', 1]]],
  ] as const) {
    it(`seals the same label-folder rules ${what}: the unchanged folder diffs clean, and after a move verify names what diff names`, async () => {
      const store = await newStorePath();
      const data = await makeTree({ 'snap.json': JSON.stringify({ records: rules }), 'train/cat/a.jpg': 'a', 'train/cat/c.jpg': 'c', 'train/dog/b.jpg': 'b' });
      const s = await seal(data, store, 'pets@v1');
      expect(s.records.map((m: Json) => [m.pattern, m.count])).toEqual(sets);
      const clean = await snapJson(['diff', 'pets@v1', data, '--store', store]);
      expect(clean.json.records.summary).toMatchObject({ added: 0, removed: 0, modified: 0, flipped: 0, unchanged: 3 });
      await fsp.rename(join(data, 'train', 'cat', 'a.jpg'), join(data, 'train', 'dog', 'a.jpg'));
      const d = await snapJson(['diff', 'pets@v1', data, '--store', store]);
      const flips = d.json.records.sets.flatMap((x: Json) => x.flipped.map((f: Json) => ({ set: x.name, key: f.key[0], from: f.from, to: f.to })));
      const v = await snapJson(['verify', data, '--against', 'pets@v1', '--pubkey', keys.pub, '--store', store]);
      expect(v.code).toBe(1);
      const named = v.json.problems.filter((p: Json) => p.kind === 'extra' && p.label).map((p: Json) => ({ set: p.label.set, key: p.label.key, from: p.label.from, to: p.label.to }));
      expect(named).toEqual(flips);
      if (sets.length === 1) expect(flips).toEqual([{ set: 'train/*/*', key: 'train/a.jpg', from: 'cat', to: 'dog' }]);
      else {
        expect(flips).toEqual([]);
        expect(d.json.records.summary).toMatchObject({ added: 1, removed: 1, flipped: 0, unchanged: 2 });
      }
    });
  }

  it('puts a folder\'s files in the statement\'s sorted order of sets when its snap.json adds a set: diff of the snapshot and the folder says what diff of the snapshot and the folder\'s seal says', async () => {
    // v1 indexes train/cat/* only; the folder's snap.json then puts train/*/* first (its sorted place),
    // which takes every file: sealed, the cat files are records of train/*/*, and train/cat/* is empty.
    const store = await newStorePath();
    const data = await makeTree({ 'snap.json': JSON.stringify({ records: [{ pattern: 'train/cat/*', format: 'files', labelSegment: 1 }] }), 'train/cat/a.jpg': 'a', 'train/cat/c.jpg': 'c', 'train/dog/b.jpg': 'b' });
    await seal(data, store, 'pets@v1');
    await fsp.writeFile(join(data, 'snap.json'), JSON.stringify({ records: [{ pattern: 'train/*/*', format: 'files', labelSegment: 1 }, { pattern: 'train/cat/*', format: 'files', labelSegment: 1 }] }));
    const records = (r: Json) => ({ sets: r.json.records.sets.map((x: Json) => [x.name, x.a.records, x.b.records, x.summary]), unavailable: r.json.records.unavailable.map((u: Json) => [u.name, u.side]) });
    const withFolder = records(await snapJson(['diff', 'pets@v1', data, '--store', store]));
    await seal(data, store, 'pets@v2');
    const withSeal = records(await snapJson(['diff', 'pets@v1', 'pets@v2', '--store', store]));
    expect(withFolder).toEqual(withSeal);
    expect(withFolder.sets).toEqual([['train/cat/*', 2, 0, expect.objectContaining({ removed: 2, unchanged: 0 })]]);
    expect(withFolder.unavailable).toEqual([['train/*/*', 'a']]); // v1 holds its files without an index of them
  });

  it('read a TSV whose sentences begin with a quote once its rule says "quoting": "none": the set is signed with its quoting, and a flip in a folder is named by diff and verify', async () => {
    const sst = 'sentence\tlabel\n"Great movie," he said.\t1\nBoring.\t0\n"Meh" at best\t0\n';
    const store = await newStorePath();
    const plain = await makeTree({ 'sst.tsv': sst });
    const refused = await snapJson(['seal', plain, '--as', 'sst@v0', '--key', keys.key, '--store', store, '--records', 'sst.tsv format=tsv label=label']);
    expect(refused.code).toBe(3);
    expect(refused.json.error).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 'sst.tsv', line: 2, row: 1 } });
    expect(refused.json.error.message).toContain('"quoting": "none"');
    const data = await makeTree({ 'sst.tsv': sst, 'snap.json': JSON.stringify({ records: [{ pattern: 'sst.tsv', format: 'tsv', quoting: 'none', label: 'label' }] }) });
    const s = await seal(data, store, 'sst@v1');
    expect(s.records).toEqual([expect.objectContaining({ path: 'sst.tsv', format: 'tsv', identity: 'features', quoting: 'none', count: 3, labels: { '0': 2, '1': 1 } })]);
    await edit(join(data, 'sst.tsv'), (t) => t.replace('"Meh" at best\t0', '"Meh" at best\t1'));
    const d = await snapJson(['diff', 'sst@v1', data, '--store', store]);
    expect(d.code, d.stderr).toBe(1);
    expect(d.json.records.sets[0].flipped.map((f: Json) => [f.from, f.to])).toEqual([['0', '1']]);
    expect(d.json.records.sets[0].summary).toMatchObject({ added: 0, removed: 0, modified: 0, flipped: 1, unchanged: 2 });
    // The quoting is named wherever the set is: diff's JSON, and its human line.
    expect(d.json.records.sets[0]).toMatchObject({ format: 'tsv', quoting: 'none' });
    expect((await snap(['diff', 'sst@v1', data, '--store', store])).stdout).toContain('sst.tsv (tsv, quoting none, keyed by features, label label): 3 → 3 records');
    const v = await snapJson(['verify', data, '--against', 'sst@v1', '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(1);
    expect(v.json.problems.find((p: Json) => p.path === 'sst.tsv').records.summary).toMatchObject({ flipped: 1, added: 0, removed: 0, modified: 0 });
  });

  it('counts a snapshot whose snap.json rule matches none of its files as an empty set: every file of the other snapshot added or removed, not unavailable', async () => {
    const store = await newStorePath();
    const config = JSON.stringify({ records: [{ pattern: 'img/*/*', format: 'files', labelSegment: 1 }] });
    const before = await makeTree({ 'snap.json': config, 'img/cat/x.txt': 'x', 'img/dog/y.txt': 'y' });
    const after = await makeTree({ 'snap.json': config, 'other.txt': 'every labelled file deleted' });
    await seal(before, store, 'pets@v1', ['--manifest-only']);
    await seal(after, store, 'pets@v2', ['--manifest-only']);
    for (const [from, to, kind] of [['pets@v1', 'pets@v2', 'removed'], ['pets@v2', 'pets@v1', 'added']] as const) {
      const d = await snapJson(['diff', from, to, '--store', store]);
      expect(d.json.records.unavailable).toEqual([]);
      const set = d.json.records.sets.find((s: Json) => s.name === 'img/*/*');
      expect(set.summary).toMatchObject({ [kind]: 2, unchanged: 0 });
      expect(sortedKeys(set[kind])).toEqual(['["img/x.txt"]', '["img/y.txt"]']);
    }
    // as the folder itself is compared
    const d = await snapJson(['diff', 'pets@v1', after, '--store', store]);
    expect(d.json.records.sets[0].summary).toMatchObject({ removed: 2 });
  });
});

describe('malformed record files', () => {
  /**
   * Seal `spec` with `rules` into a store made beforehand (`snap init`); the seal must fail with
   * exit 3, and leave no snapshot, no index and no temporary file. (A store the seal itself would
   * have made is removed whole when it fails.)
   */
  async function refused(spec: Record<string, string | Buffer>, rules: string[]) {
    const data = await makeTree(spec);
    const store = await newStorePath();
    expect((await snap(['init', '--store', store])).code).toBe(0);
    const r = await snapJson(['seal', data, '--as', 'bad@v1', '--key', keys.key, '--store', store, ...rules.flatMap((x) => ['--records', x])]);
    expect(r.code, r.stdout).toBe(3);
    expect(await fsp.readdir(join(store, 'snapshots')).catch(() => [])).toEqual([]);
    expect(await fsp.readdir(join(store, 'tmp'))).toEqual([]);
    // what objects there are are the dataset's files, complete (copied before the records were read)
    const contents = new Set(Object.values(spec).map((v) => sha256(v)));
    for (const o of await objectFiles(store)) expect(contents.has(o.name)).toBe(true);
    return r.json.error as { code: string; details: Record<string, unknown> };
  }

  it('stop the seal with exit 3 naming file and line: a ragged CSV row', async () => {
    const e = await refused({ 't.csv': 'id,x,y\n1,a,b\n2,c\n3,d,e\n' }, ['t.csv key=id']);
    expect(e).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.csv', line: 3, row: 2 } });
  });

  it('invalid JSON on one line', async () => {
    const e = await refused({ 'a.jsonl': '{"id":1}\n{"id":2,}\n' }, ['a.jsonl key=id']);
    expect(e).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 'a.jsonl', line: 2 } });
  });

  it('a truncated Parquet file', async () => {
    const file = Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'id', data: [1, 2, 3], type: 'INT32' }] }));
    const e = await refused({ 'p.parquet': file.subarray(0, file.length - 7) }, ['p.parquet key=id']);
    expect(e).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 'p.parquet' } });
  });

  it('duplicate keys, naming both records', async () => {
    const e = await refused({ 't.csv': 'id,y\n1,a\n2,b\n1,c\n' }, ['t.csv key=id label=y']);
    expect(e).toMatchObject({ code: 'RECORDS_DUPLICATE_KEY', details: { path: 't.csv', rows: [1, 3], lines: [2, 4] } });
  });

  it('a key column that does not exist', async () => {
    const e = await refused({ 't.csv': 'a,b\n1,2\n' }, ['t.csv key=id']);
    expect(e).toMatchObject({ code: 'RECORDS_KEY_MISSING', details: { path: 't.csv' } });
  });

  it('a statement that would be larger than MAX_STATEMENT_BYTES (4 MiB): refused, nothing signed', async () => {
    // 5 files × 4,096 labels of 240 bytes: every set within its own limits, the statement about 5 MB
    const label = (j: number) => `${String(j).padStart(6, '0')}${'x'.repeat(234)}`;
    const table = 'id,y\n' + Array.from({ length: MAX_LABELS }, (_, j) => `${j},${label(j)}\n`).join('');
    const spec = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`t${i}.csv`, table]));
    const e = await refused(spec, Object.keys(spec).map((p) => `${p} key=id label=y`));
    expect(e.code).toBe('RECORDS_LIMIT');
    expect(e.details.limit).toBe(MAX_STATEMENT_BYTES);
    expect(e.details.bytes as number).toBeGreaterThan(MAX_STATEMENT_BYTES);
  });

  it('a malformed snap.json, before anything is hashed', async () => {
    const data = await makeTree({ 'snap.json': '{"records": [{"pattern": "x.csv", "colour": 1}]}', 'x.csv': 'a\n1\n' });
    const store = await newStorePath();
    const r = await snapJson(['seal', data, '--as', 'bad@v1', '--key', keys.key, '--store', store]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('RECORDS_CONFIG_INVALID');
    expect(await objectFiles(store)).toEqual([]);
  });

  it('accept a BOM and CRLF line ends, giving the same records as the plain file', async () => {
    const store = await newStorePath();
    const plain = await seal(await makeTree({ 't.csv': 'id,y\n1,a\n2,b\n' }), store, 'p@v1', ['--records', 't.csv key=id label=y']);
    const odd = await seal(await makeTree({ 't.csv': '\ufeffid,y\r\n1,a\r\n2,b\r\n' }), store, 'o@v1', ['--records', 't.csv key=id label=y']);
    expect(odd.records[0].index).toEqual(plain.records[0].index);
    expect(odd.merkleRoot).not.toBe(plain.merkleRoot);
  });

  it('are reported with exit 3 by diff when a folder side is malformed', async () => {
    const store = await newStorePath();
    await seal(TABULAR, store, 'tab@v1');
    const data = await copyTree(TABULAR);
    await edit(join(data, 'iris.csv'), (t) => t.replace('5.1,3.5,1.4,0.2,setosa', '5.1,3.5,1.4,setosa'));
    const d = await snapJson(['diff', 'tab@v1', data, '--store', store]);
    expect(d.code).toBe(3);
    expect(d.json.error).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 'iris.csv', line: 2 } });
    // verify still gives its verdict (exit 1), with why the records could not be compared
    const v = await snapJson(['verify', data, '--against', 'tab@v1', '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(1);
    expect(v.json.problems[0].records.error.code).toBe('RECORDS_MALFORMED');
  });
});

describe('record command-line usage', () => {
  it('refuses a malformed --records rule (exit 2) and check without --against (exit 2)', async () => {
    const data = await makeTree({ 'x.csv': 'a\n1\n' });
    expect((await snap(['seal', data, '--as', 'x@v1', '--key', keys.key, '--store', await newStorePath(), '--records', 'x.csv colour=red'])).code).toBe(2);
    expect((await snap(['check', data, '--store', await newStorePath()])).code).toBe(2);
    expect((await snap(['check', data, '--against', data, '--max-shift', '2'])).code).toBe(2);
  });

  it('names the mistyped check flag as it was typed, not its snap.json member, with the value given; a share given as a percentage is answered with the share', async () => {
    const data = await makeTree({ 'x.csv': 'a\n1\n' });
    const r = await snapJson(['check', data, '--against', data, '--max-label-changes', '-1']);
    expect(r.code).toBe(2);
    expect(r.json.error.message).toBe('--max-label-changes must be a whole number of at least 0; got "-1"');
    const s = await snapJson(['check', data, '--against', data, '--max-shift', '5']);
    expect(s.json.error.message).toBe('--max-shift must be a number from 0 to 1; got "5" (a share: --max-shift 0.05 for 5 %)');
    const t = await snapJson(['check', data, '--against', data, '--max-added-share=five']);
    expect(t.json.error.message).toBe('--max-added-share must be a number from 0 to 1; got "five"');
  });

  it('--no-records: seal indexes nothing whatever snap.json says, diff compares files only; with --records it is a usage error (exit 2)', async () => {
    const store = await newStorePath();
    const data = await copyTree(TABULAR);
    const plain = await seal(data, store, 'tab@v1', ['--no-records']);
    expect(plain.records).toBeUndefined();
    const withRecords = await seal(data, store, 'tab@v2');
    expect(withRecords.records.length).toBeGreaterThan(0);
    await poisonCsv(data);
    const files = await snapJson(['diff', 'tab@v2', data, '--store', store, '--no-records']);
    expect(files.code).toBe(1);
    expect(files.json.summary.modified).toBe(1);
    expect(files.json.records).toBeUndefined();
    const both = await snapJson(['diff', 'tab@v2', data, '--store', store]);
    expect(both.json.records.sets.length).toBeGreaterThan(0);
    const r = await snapJson(['seal', data, '--as', 'tab@v3', '--key', keys.key, '--store', store, '--no-records', '--records', 'iris.csv']);
    expect(r.code).toBe(2);
  });

  it('note a record set the parent has an index for and the new snapshot has not (--records given once), in --json and in the report', async () => {
    const data = await makeTree({ 'train.csv': 'id,y\n1,a\n2,b\n' });
    const store = await newStorePath();
    const v1 = await seal(data, store, 'x@v1', ['--records', 'train.csv key=id label=y']);
    expect(v1.recordSetsNotKept).toBeUndefined();
    const v2 = await seal(data, store, 'x@v2');
    expect(v2.recordSetsNotKept).toEqual({ parent: 'x@v1', sets: ['train.csv'] });
    const v3 = await snap(['seal', data, '--as', 'x@v3', '--key', keys.key, '--store', store, '--parent', 'x@v1']);
    expect(v3.code, v3.stderr).toBe(0);
    expect(v3.stdout).toMatch(/note +the parent x@v1 has a record index for train\.csv; this snapshot has none/);
    // The parent without indexes: nothing was lost.
    expect((await seal(data, store, 'x@v4', ['--records', 'train.csv key=id label=y'])).recordSetsNotKept).toBeUndefined();
  });

  it.each([
    ['a pattern that matches no file (a typo)', 'trian.csv key=id', 'trian.csv'],
    ['a NAME=VALUE written without the space', 'train.csv=key', 'train.csv=key'],
    ['a files rule whose label segment is the file name', '*/* format=files label-segment=1', 'label segment 1'],
  ])('refuses a --records rule that indexes nothing, %s: exit 3, RECORDS_CONFIG_INVALID, no snapshot and no store', async (_what, rule, named) => {
    const data = await makeTree({ 'train.csv': 'id,y\n1,a\n', 'pos/a.txt': 'a\n', 'neg/b.txt': 'b\n' });
    const store = await newStorePath();
    const r = await snapJson(['seal', data, '--as', 'x@v1', '--key', keys.key, '--store', store, '--records', rule]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('RECORDS_CONFIG_INVALID');
    expect(r.json.error.message).toContain(named);
    await expect(fsp.stat(store)).rejects.toThrow();
    const out = join(data, '..', `${Date.now()}.snap.tar`);
    const a = await snapJson(['seal', data, '--as', 'x@v1', '--key', keys.key, '--out', out, '--records', rule]);
    expect(a.json.error.code).toBe('RECORDS_CONFIG_INVALID');
    await expect(fsp.stat(out)).rejects.toThrow();
  });

  it('says there is nothing to check when neither side has record sets (exit 3)', async () => {
    const data = await makeTree({ 'x.csv': 'a\n1\n' });
    const r = await snapJson(['check', data, '--against', data]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('RECORDS_CONFIG_INVALID');
  });

  it('reports a reviewed version signed by no trusted key first (exit 1, a trust breach), even when neither side has record sets', async () => {
    const data = await makeTree({ 'x.csv': 'a\n1\n' });
    const store = await newStorePath();
    const sealed = await snapJson(['seal', data, '--as', 'plain@v1', '--key', keys.key, '--store', store]);
    expect(sealed.code, sealed.stderr).toBe(0);
    const stranger = await makeKeyPair('stranger');
    const r = await snapJson(['check', data, '--against', 'plain@v1', '--pubkey', stranger.pub, '--store', store]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.ok).toBe(false);
    expect(r.json.breaches).toEqual([expect.objectContaining({ set: '*', rule: 'trust', value: 'untrusted' })]);
    const h = await snap(['check', data, '--against', 'plain@v1', '--pubkey', stranger.pub, '--store', store]);
    expect(h.code).toBe(1);
    // The breach says why the trust check refused A, with its code.
    expect(h.stdout).toMatch(/FAIL .*plain@v1 is not trusted by the --pubkey keys: no signature verifies under a trusted key.*\[SIGNATURE_INVALID\]/s);
    expect(h.stdout).toContain('no record sets to compare');
  });

  it('caps the labels check names in human output (a dataset planted with 4,000 labels), and --json lists them all', async () => {
    const n = 4000; // below MAX_LABELS: every old label vanishes and every new one appears
    const rows = (p: string) => 'id,y\n' + Array.from({ length: n }, (_, i) => `${i},${p}${String(i).padStart(4, '0')}${'x'.repeat(200)}\n`).join('');
    const a = await makeTree({ 't.csv': rows('old') });
    const b = await makeTree({ 't.csv': rows('new') });
    const flags = ['--store', await newStorePath()];
    await fsp.writeFile(join(a, 'snap.json'), JSON.stringify({ records: [{ pattern: 't.csv', key: ['id'], label: 'y' }] }));
    await fsp.copyFile(join(a, 'snap.json'), join(b, 'snap.json'));
    const h = await snap(['check', b, '--against', a, ...flags]);
    expect(h.code).toBe(1);
    expect(h.stdout.length).toBeLessThan(100_000); // was 3.4 MB: four lines of 4,000 labels each
    expect(h.stdout).toMatch(/t\.csv: new labels: new0000x+, .*, … and 3980 more {2}\[newLabels\]/);
    expect(h.stdout).toMatch(/t\.csv: vanished labels: old0000x+, .*, … and 3980 more {2}\[vanishedLabels\]/);
    expect(h.stdout).toMatch(/ new labels: new0000x+, .*, … and 3,980 more \(--json lists all\)/);
    const j = await snapJson(['check', b, '--against', a, ...flags]);
    const rule = (r: string) => j.json.breaches.find((x: Json) => x.rule === r);
    expect(rule('newLabels').value).toHaveLength(n);
    expect(rule('vanishedLabels').value).toHaveLength(n);
    expect(j.json.records.sets[0].shift.newLabels).toHaveLength(n);
  });

  it('lists check in the help', async () => {
    const h = await snap(['--help']);
    expect(h.stdout).toMatch(/check <b> +Review gate/);
  });

  it('shows two keys that differ only in type, or in where a comma is, differently in human output', async () => {
    const rule = JSON.stringify({ records: [{ pattern: 't.jsonl', key: ['id'], label: 'y' }] });
    const lines = (...recs: object[]) => recs.map((r) => JSON.stringify(r)).join('\n') + '\n';
    const a = await makeTree({ 'snap.json': rule, 't.jsonl': lines({ id: '1', y: 'a' }, { id: 1, y: 'a' }) });
    const b = await makeTree({ 'snap.json': rule, 't.jsonl': lines({ id: '1', y: 'b' }, { id: 1, y: 'a' }, { id: true, y: 'a' }, { id: 'true', y: 'a' }, { id: 'x, y', y: 'a' }, { id: 'say "hi"', y: 'a' }, { id: 'plain', y: 'a' }) });
    const d = await snap(['diff', a, b]);
    expect(d.code).toBe(1);
    expect(d.stdout).toContain('\n      "1": a → b  (row 1)\n'); // the string "1", not the number 1
    expect(d.stdout).toContain('\n      + true  (row 3) [a]\n');
    expect(d.stdout).toContain('\n      + "true"  (row 4) [a]\n');
    expect(d.stdout).toContain('\n      + "x, y"  (row 5) [a]\n'); // one value with a comma, not two values
    expect(d.stdout).toContain('\n      + "say \\"hi\\""  (row 6) [a]\n');
    expect(d.stdout).toContain('\n      + plain  (row 7) [a]\n');
    // In a CSV set every key value is a string: a number-like one is not quoted.
    const csvRule = JSON.stringify({ records: [{ pattern: 't.csv', key: ['id', 'k'], label: 'y' }] });
    const ca = await makeTree({ 'snap.json': csvRule, 't.csv': 'id,k,y\n10,"a, b",x\n' });
    const cb = await makeTree({ 'snap.json': csvRule, 't.csv': 'id,k,y\n10,"a, b",z\n' });
    expect((await snap(['diff', ca, cb])).stdout).toContain('\n      10, "a, b": x → z  (row 1)\n');
  });

  it('escapes control characters of keys and labels in human output', async () => {
    const store = await newStorePath();
    const a = await makeTree({ 't.csv': 'id,y\n"k\u001b[31m",a\n' });
    await seal(a, store, 'e@v1', ['--records', 't.csv key=id label=y']);
    const b = await makeTree({ 't.csv': 'id,y\n"k\u001b[31m",b\n' });
    const d = await snap(['diff', 'e@v1', b, '--store', store]);
    expect(d.stdout).not.toContain('\u001b[31m');
    expect(d.stdout).toContain('k\\x1b[31m: a → b');
  });
});
