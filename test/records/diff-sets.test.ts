import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffRecordSides, type FolderRecordSide, type SnapshotRecordSide } from '../../src/records/diff-sets.js';
import { indexTabularFile } from '../../src/records/index-file.js';
import { parseConfig } from '../../src/records/config.js';
import { serializeEntry } from '../../src/core/manifest.js';
import { compareUtf8 } from '../../src/core/paths.js';
import { makeTree, tempDir, type TreeSpec } from '../helpers/tree.js';

/** A folder side: the tree, its manifest (made here), and its snap.json rules. */
async function folder(spec: TreeSpec): Promise<FolderRecordSide> {
  const dir = await makeTree(spec);
  const entries = Object.entries(spec)
    .map(([path, v]) => ({ path, sha256: createHash('sha256').update(v as string).digest('hex'), size: Buffer.byteLength(v as string) }))
    .sort((x, y) => compareUtf8(x.path, y.path));
  const manifestPath = join(await tempDir('snap-m-'), 'manifest.jsonl');
  await fsp.writeFile(manifestPath, entries.map((e) => serializeEntry(e) + '\n').join(''));
  const config = spec['snap.json'] ? parseConfig(Buffer.from(spec['snap.json'] as string)) : undefined;
  return { kind: 'folder', dir, manifestPath, ...(config ? { config } : {}) };
}

const config = JSON.stringify({ records: [{ pattern: 'train.csv', key: ['id'], label: 'y' }, { pattern: 'mail/*/*', format: 'files', labelSegment: 1 }, { pattern: 'plain.jsonl', label: 'y' }] });
const train = 'id,x,y\n1,a,ham\n2,b,spam\n3,c,ham\n4,c,spam\n';

describe('record diffs of two folders with a snap.json', () => {
  it('compare every set its rules define: keyed CSV, label folders, keyless JSONL', async () => {
    const a = await folder({ 'snap.json': config, 'train.csv': train, 'mail/ham/1.eml': 'hello', 'mail/spam/2.eml': 'buy', 'plain.jsonl': '{"t":"x","y":"a"}\n{"t":"z","y":"b"}\n' });
    const b = await folder({
      'snap.json': config,
      'train.csv': 'id,x,y\n1,a,spam\n2,b,spam\n3,c2,ham\n5,e,ham\n',
      'mail/spam/1.eml': 'hello',
      'mail/spam/2.eml': 'buy',
      'plain.jsonl': '{"t":"x","y":"b"}\n{"t":"z","y":"b"}\n',
    });
    const r = (await diffRecordSides(a, b))!;
    expect(r.sets.map((s) => s.name)).toEqual(['mail/*/*', 'plain.jsonl', 'train.csv']);
    const [mail, plain, csv] = r.sets;
    expect(mail!.flipped.map((f) => [f.key, f.from, f.to])).toEqual([[['mail/1.eml'], 'ham', 'spam']]);
    expect(plain!.flipped.map((f) => [f.from, f.to, f.a.row])).toEqual([['a', 'b', 1]]);
    expect(csv!.flipped.map((f) => [f.key, f.from, f.to])).toEqual([[['1'], 'ham', 'spam']]);
    expect(csv!.modified.map((m) => m.key)).toEqual([['3']]);
    expect(csv!.removed.map((m) => m.key)).toEqual([['4']]);
    expect(csv!.added.map((m) => m.key)).toEqual([['5']]);
    // rows 3 and 4 of A have the same features (x = c) and different labels: a conflict in A only
    expect(csv!.conflicts.map((c) => [c.side, c.labels, c.records.map((x) => x.key)])).toEqual([['a', { ham: 1, spam: 1 }, [['3'], ['4']]]]);
    expect(r.summary).toMatchObject({ sets: 3, flipped: 3, modified: 1, added: 1, removed: 1, labelChanges: 3, conflicts: { a: 1, b: 0 } });
    expect(r.dataset!.labels.map((l) => [l.label, l.a, l.b])).toEqual([
      ['a', 1, 0],
      ['b', 1, 2],
      ['ham', 3, 2],
      ['spam', 3, 4],
    ]);
  });

  it('find nothing between a folder and itself, and nothing at all without rules', async () => {
    const spec = { 'snap.json': config, 'train.csv': train, 'mail/ham/1.eml': 'hello' };
    const r = (await diffRecordSides(await folder(spec), await folder(spec)))!;
    expect(r.summary).toMatchObject({ added: 0, removed: 0, modified: 0, flipped: 0 });
    expect(await diffRecordSides(await folder({ 'train.csv': train }), await folder({ 'train.csv': train }))).toBeUndefined();
  });

  it("compare the sets of A's rules too: B's snap.json can add a set, but not leave one of A's out nor redefine it", async () => {
    const flipped = 'id,x,y\n1,a,spam\n2,b,spam\n3,c,ham\n4,c,spam\n';
    const a = await folder({ 'snap.json': config, 'train.csv': train, 'plain.jsonl': '{"t":"x","y":"a"}\n' });
    const narrowed = JSON.stringify({ records: [{ pattern: 'plain.jsonl', label: 'y' }, { pattern: 'extra.csv', key: ['id'] }] });
    const b = await folder({ 'snap.json': narrowed, 'train.csv': flipped, 'plain.jsonl': '{"t":"x","y":"a"}\n', 'extra.csv': 'id\n1\n' });
    const r = (await diffRecordSides(a, b))!;
    expect(r.sets.map((s) => s.name)).toEqual(['extra.csv', 'plain.jsonl', 'train.csv']);
    expect(r.sets[2]!.flipped.map((f) => [f.key, f.from, f.to])).toEqual([[['1'], 'ham', 'spam']]);
    const unlabelled = JSON.stringify({ records: [{ pattern: 'train.csv', key: ['id'] }] });
    const c = await folder({ 'snap.json': unlabelled, 'train.csv': flipped });
    const s = (await diffRecordSides(a, c))!;
    expect(s.sets.map((x) => x.name)).toEqual(['plain.jsonl']);
    expect(s.unavailable).toEqual([{ name: 'train.csv', side: 'both', reason: "the two folders' snap.json define this set differently (format, identity, key, label or quoting)" }]);
  });

  it('count every record of a file that is gone as removed', async () => {
    const a = await folder({ 'snap.json': config, 'train.csv': train });
    const b = await folder({ 'snap.json': config, 'other.txt': 'x' });
    const r = (await diffRecordSides(a, b))!;
    expect(r.sets[0]!.summary).toMatchObject({ removed: 4, added: 0 });
  });

  it('stop on a malformed file of a folder side with its file and line', async () => {
    const a = await folder({ 'snap.json': config, 'train.csv': train });
    const b = await folder({ 'snap.json': config, 'train.csv': train + '6,f\n' });
    await expect(diffRecordSides(a, b)).rejects.toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 'train.csv', line: 6 } });
  });
});

describe('record diffs of two snapshots whose record file has the same bytes', () => {
  const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'parquet', 'types');

  /**
   * A snapshot side holding `t.parquet` with the digest `fileSha256`, whose signed index is the one
   * snap makes of `indexed` (a fixture): the index of another file stands for an index of the same
   * bytes made in another canonical form (FORMAT §19.3, "Indexes made by older versions").
   */
  async function snapshotOf(fileSha256: string, indexed: string): Promise<SnapshotRecordSide> {
    const dir = await tempDir('snap-side-');
    const objects = join(dir, 'objects');
    const out = join(dir, 'index.jsonl');
    const spec = { format: 'parquet' as const, identity: 'key' as const, key: ['id'] };
    const { built } = await indexTabularFile({ abs: join(FIXTURES, indexed), rel: 't.parquet', spec, tmpDir: dir, outPath: out, strictKeys: true });
    await fsp.mkdir(join(objects, built.sha256.slice(0, 2)), { recursive: true });
    await fsp.rename(out, join(objects, built.sha256.slice(0, 2), built.sha256.slice(2)));
    const manifestPath = join(dir, 'manifest.jsonl');
    await fsp.writeFile(manifestPath, serializeEntry({ path: 't.parquet', sha256: fileSha256, size: 1260 }) + '\n');
    return { kind: 'snapshot', manifestPath, objectDirs: [objects], members: [{ path: 't.parquet', ...spec, count: built.count, index: { sha256: built.sha256, merkleRoot: built.merkleRoot } }] };
  }

  it('report the set unchanged when the two indexes differ (one made by an older snap): the same bytes hold the same records', async () => {
    const same = 'ab'.repeat(32);
    const r = (await diffRecordSides(await snapshotOf(same, 't-local.parquet'), await snapshotOf(same, 'base.parquet')))!;
    expect(r.summary).toMatchObject({ sets: 1, unchanged: 3, modified: 0, added: 0, removed: 0 });
    // With other bytes the two indexes are compared record by record.
    const other = (await diffRecordSides(await snapshotOf('cd'.repeat(32), 't-local.parquet'), await snapshotOf(same, 'base.parquet')))!;
    expect(other.summary).toMatchObject({ sets: 1, unchanged: 1, modified: 2 });
  });
});

describe("record diffs of a snapshot and a folder whose snap.json defines the snapshot's set differently", () => {
  /** Three records read with quoting "none"; one, its text spanning three lines, read with "csv" (as pandas reads it by default). */
  const tsv = 'id\ttext\tlabel\n1\t"hello\tham\n2\tx\tspam\n3\ty"\tham\n';
  const rule = (quoting: 'none' | 'csv') => JSON.stringify({ records: [{ pattern: 'x.tsv', format: 'tsv', quoting, key: ['id'], label: 'label' }] });

  /** A snapshot side holding `x.tsv` (`tsv`) indexed with quoting "none", as `seal` signs it. */
  async function sealedWithNone(): Promise<SnapshotRecordSide> {
    const dir = await tempDir('snap-side-');
    const data = await makeTree({ 'x.tsv': tsv });
    const objects = join(dir, 'objects');
    const out = join(dir, 'index.jsonl');
    const spec = { format: 'tsv' as const, identity: 'key' as const, key: ['id'], label: 'label', quoting: 'none' as const };
    const { built } = await indexTabularFile({ abs: join(data, 'x.tsv'), rel: 'x.tsv', spec, tmpDir: dir, outPath: out, strictKeys: true });
    await fsp.mkdir(join(objects, built.sha256.slice(0, 2)), { recursive: true });
    await fsp.rename(out, join(objects, built.sha256.slice(0, 2), built.sha256.slice(2)));
    const manifestPath = join(dir, 'manifest.jsonl');
    await fsp.writeFile(manifestPath, serializeEntry({ path: 'x.tsv', sha256: createHash('sha256').update(tsv).digest('hex'), size: Buffer.byteLength(tsv) }) + '\n');
    return { kind: 'snapshot', manifestPath, objectDirs: [objects], members: [{ path: 'x.tsv', ...spec, count: built.count, index: { sha256: built.sha256, merkleRoot: built.merkleRoot }, labels: built.labels as Record<string, number> }] };
  }

  it('do not compare it (unavailable, a breach for check): the same bytes were "3 → 3 records, no record changed" while the folder sealed is 1 record', async () => {
    const a = await sealedWithNone();
    const r = (await diffRecordSides(a, await folder({ 'snap.json': rule('csv'), 'x.tsv': tsv })))!;
    expect(r.sets).toEqual([]);
    expect(r.unavailable).toEqual([{ name: 'x.tsv', side: 'b', reason: "the folder's snap.json defines this set differently from the snapshot's index (format, identity, key, label or quoting)" }]);
    // The same the other way round, and a folder whose rule is the snapshot's is compared.
    expect((await diffRecordSides(await folder({ 'snap.json': rule('csv'), 'x.tsv': tsv }), a))!.unavailable).toMatchObject([{ name: 'x.tsv', side: 'a' }]);
    expect((await diffRecordSides(a, await folder({ 'snap.json': rule('none'), 'x.tsv': tsv })))!.summary).toMatchObject({ sets: 1, unchanged: 3 });
  });

  it('compare it when the folder\'s snap.json is the snapshot\'s own (the set was indexed by seal --records, which overrides snap.json): the rules did not change, and the index\'s definition is read', async () => {
    const a = { ...(await sealedWithNone()), config: parseConfig(Buffer.from(rule('csv'))) };
    const r = (await diffRecordSides(a, await folder({ 'snap.json': rule('csv'), 'x.tsv': tsv })))!;
    expect(r.unavailable).toEqual([]);
    expect(r.summary).toMatchObject({ sets: 1, unchanged: 3 });
  });
});
