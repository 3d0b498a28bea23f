/**
 * `snap verify --shard K/N --report FILE` and `snap verify --merge REPORT…` (issue 13 item 5,
 * docs/FORMAT.md §20): four workers give the verdict one verify gives, on clean and tampered data;
 * each finding is made by exactly one shard; the merge fails on a missing, duplicated or foreign
 * report, and refuses malformed ones.
 */
import { promises as fsp } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyTree, snap, snapBin, snapJson, tempDir, useKeyPair, type TreeSpec } from '../helpers/tree.js';
import { sealTree, useStore } from '../helpers/store.js';
import { FILE_WEIGHT } from '../../src/shards/assign.js';

const keys = useKeyPair();
const other = useKeyPair('other');
const shared = useStore();

/** A tree of 40 files of uneven sizes (a few large ones, so a byte-balanced split differs from a count split) and a symlink. */
function datasetSpec(): TreeSpec {
  const spec: TreeSpec = {};
  for (let i = 0; i < 40; i++) {
    const size = i % 13 === 0 ? 300_000 : 100 + i * 37;
    spec[`d${i % 5}/f${String(i).padStart(2, '0')}.bin`] = Buffer.alloc(size, i);
  }
  spec['link'] = { symlink: 'd0/f00.bin' };
  return spec;
}

/** Run the N shards of a verify; each writes its report. */
async function runShards(data: string, ref: string, store: string, n: number, extra: string[] = []) {
  const dir = await tempDir('snap-shard-reports-');
  const out: { code: number; file: string; report: any }[] = [];
  for (let k = 1; k <= n; k++) {
    const file = join(dir, `shard-${k}.json`);
    const r = await snap(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store, '--shard', `${k}/${n}`, '--report', file, ...extra]);
    out.push({ code: r.code, file, report: JSON.parse(await fsp.readFile(file, 'utf8')) });
  }
  return out;
}

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
const key = (p: { path: string; kind: string }) => `${p.kind} ${p.path}`;


/**
 * Write each of `cases` (file name → report text) into `dir` and expect `verify --merge` of it alone
 * to refuse it: exit 3, `SHARD_REPORT_MALFORMED`. @returns each case's name and file
 */
async function eachMergeRefused(dir: string, cases: Record<string, string>): Promise<[string, string][]> {
  const files: [string, string][] = [];
  for (const [name, body] of Object.entries(cases)) {
    const f = join(dir, name);
    await fsp.writeFile(f, body);
    const r = await snapJson(['verify', '--merge', f]);
    expect(r.code, name).toBe(3);
    expect(r.json.error.code, name).toBe('SHARD_REPORT_MALFORMED');
    files.push([name, f]);
  }
  return files;
}

describe('verify --shard over 4 workers', () => {
  it('passes on clean data as one verify does: every leaf checked by exactly one shard, the ranges tiling the manifest', async () => {
    const { data, store, ref, snapshot } = await sealTree(datasetSpec(), keys, { store: shared.path });
    const whole = await snapJson(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store]);
    expect(whole.code).toBe(0);
    const shards = await runShards(data, ref, store, 4);
    expect(shards.map((s) => s.code)).toEqual([0, 0, 0, 0]);
    let from = 0;
    let matched = 0;
    for (const [i, s] of shards.entries()) {
      expect(s.report).toMatchObject({ format: 'snap-verify-shard/1', snapshot, ok: true, trusted: true, manifestOk: true, shard: { index: i + 1, count: 4 } });
      expect(s.report.shard.leaves.from).toBe(from);
      from = s.report.shard.leaves.to;
      matched += s.report.counts.matched;
    }
    expect(from).toBe(41);
    expect(matched).toBe(whole.json.counts.matched);
    // Balanced by bytes, not count: the shards hold different numbers of leaves.
    expect(new Set(shards.map((s) => s.report.shard.leaves.to - s.report.shard.leaves.from)).size).toBeGreaterThan(1);
    const m = await snapJson(['verify', '--merge', ...shards.map((s) => s.file)]);
    expect(m.code).toBe(0);
    expect(m.json).toMatchObject({ ok: true, snapshot, count: 4, findings: [], counts: { matched: 41 } });
  });

  it('fails as one verify does when the data is tampered: a modified, a removed and two added files, each found by exactly one shard', async () => {
    const { data: sealed, store, ref } = await sealTree(datasetSpec(), keys, { store: shared.path });
    const data = await copyTree(sealed);
    await fsp.writeFile(join(data, 'd1/f06.bin'), 'changed');
    await fsp.rm(join(data, 'd3/f28.bin'));
    await fsp.writeFile(join(data, 'd2/new.bin'), 'added');
    await fsp.writeFile(join(data, '!first.bin'), 'before every manifest path');
    await fsp.writeFile(join(data, 'zz-last.bin'), 'after every manifest path');
    const whole = await snapJson(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store]);
    expect(whole.code).toBe(1);
    const expected = (whole.json.problems as { path: string; kind: string }[]).map(key).sort();
    expect(expected).toEqual(['extra !first.bin', 'extra d2/new.bin', 'extra zz-last.bin', 'missing d3/f28.bin', 'modified d1/f06.bin']);

    const shards = await runShards(data, ref, store, 4);
    const found = shards.flatMap((s) => (s.report.problems as { path: string; kind: string }[]).map(key));
    expect([...found].sort()).toEqual(expected); // each exactly once
    for (const s of shards) expect(s.code).toBe(s.report.problems.length > 0 ? 1 : 0);
    expect(shards[0]?.report.problems.map(key)).toContain('extra !first.bin');
    expect(shards[3]?.report.problems.map(key)).toContain('extra zz-last.bin');

    const m = await snapJson(['verify', '--merge', ...shards.map((s) => s.file)]);
    expect(m.code).toBe(1);
    expect(m.json.ok).toBe(false);
    expect((m.json.problems as { path: string; kind: string }[]).map(key).sort()).toEqual(expected);
    expect(m.json.counts).toMatchObject({ modified: 1, missing: 1, extra: 3, matched: whole.json.counts.matched });
  });

  it('finds a FIFO and a name no manifest can hold (reported by the walk, out of order) in exactly one shard', async () => {
    const { data: sealed, store, ref } = await sealTree(datasetSpec(), keys, { store: shared.path });
    const data = await copyTree(sealed);
    execFileSync('mkfifo', [join(data, 'd2', 'pipe')]);
    await fsp.writeFile(join(data, 'd3', 'bad\u0001name'), 'x');
    const whole = await snapJson(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store]);
    const expected = (whole.json.problems as { path: string; kind: string }[]).map(key).sort();
    expect(expected.length).toBe(2);
    const shards = await runShards(data, ref, store, 4);
    expect(shards.flatMap((s) => (s.report.problems as { path: string; kind: string }[]).map(key)).sort()).toEqual(expected);
    const m = await snapJson(['verify', '--merge', ...shards.map((s) => s.file)]);
    expect(m.code).toBe(1);
    expect(m.json.counts.extra).toBe(2);
  });

  it('names a move across shards in the merge, as one verify names it', async () => {
    const { data: sealed, store, ref } = await sealTree(datasetSpec(), keys, { store: shared.path });
    const data = await copyTree(sealed);
    await fsp.rename(join(data, 'd0/f05.bin'), join(data, 'zz-moved.bin'));
    const shards = await runShards(data, ref, store, 4);
    const m = await snapJson(['verify', '--merge', ...shards.map((s) => s.file)]);
    expect(m.code).toBe(1);
    expect(m.json.problems).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'd0/f05.bin', kind: 'missing', movedTo: 'zz-moved.bin' })]));
  });

  it('pairs moves over all shards as one verify pairs them: a file of the same content as two missing ones is named as moved from the first, not from the one in its own shard', async () => {
    // a/x.bin and z/x.bin have one content; b.bin puts them in two shards of 2.
    const same = Buffer.alloc(1000, 7);
    const { data: sealed, store, ref } = await sealTree({ 'a/x.bin': same, 'b.bin': Buffer.alloc(400_000, 1), 'z/x.bin': same }, keys, { store: shared.path });
    const data = await copyTree(sealed);
    await fsp.rm(join(data, 'a/x.bin'));
    await fsp.rename(join(data, 'z/x.bin'), join(data, 'z/y.bin'));
    const whole = await snapJson(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store]);
    const named = (ps: Json[]) => ps.map((p) => [p.kind, p.path, p.movedFrom ?? p.movedTo]);
    expect(named(whole.json.problems)).toEqual([
      ['missing', 'a/x.bin', 'z/y.bin'],
      ['missing', 'z/x.bin', undefined],
      ['extra', 'z/y.bin', 'a/x.bin'],
    ]);
    const shards = await runShards(data, ref, store, 2);
    expect(shards.map((s) => s.report.problems.map((p: Json) => p.path))).toEqual([['a/x.bin'], ['z/x.bin', 'z/y.bin']]);
    const m = await snapJson(['verify', '--merge', ...shards.map((s) => s.file)]);
    expect(named(m.json.problems)).toEqual(named(whole.json.problems));
  });

  it('names the label flips of files moved between label folders when the missing file and the extra one are in two shards, as one verify names them', async () => {
    // 20 ham files and 4 spam files: shard 1 of 2 ends inside ham/, so each mail/spam/ extra (after the last ham file) is shard 2's.
    const spec: TreeSpec = {};
    for (let i = 1; i <= 20; i++) spec[`mail/ham/${String(i).padStart(4, '0')}.txt`] = `ham message ${i}\n`.repeat(50);
    for (let i = 21; i <= 24; i++) spec[`mail/spam/${String(i).padStart(4, '0')}.txt`] = `spam message ${i}\n`.repeat(50);
    const { data: sealed, store, ref } = await sealTree(spec, keys, { store: shared.path, extra: ['--records', 'mail/*/* format=files label-segment=1'] });
    const data = await copyTree(sealed);
    // A flip; a flip whose file was also edited; a flip with a decoy written where the file was.
    await fsp.rename(join(data, 'mail/ham/0001.txt'), join(data, 'mail/spam/0001.txt'));
    await fsp.rename(join(data, 'mail/ham/0002.txt'), join(data, 'mail/spam/0002.txt'));
    await fsp.appendFile(join(data, 'mail/spam/0002.txt'), 'edited\n');
    await fsp.copyFile(join(data, 'mail/ham/0003.txt'), join(data, 'mail/spam/0003.txt'));
    await fsp.writeFile(join(data, 'mail/ham/0003.txt'), 'a decoy\n');

    const flip = (n: string, extra: Json = {}) => ({ set: 'mail/*/*', key: `mail/${n}.txt`, from: 'ham', to: 'spam', ...extra });
    const expected = [
      ['missing', 'mail/ham/0001.txt', 'mail/spam/0001.txt', flip('0001')],
      ['missing', 'mail/ham/0002.txt', undefined, flip('0002', { contentChanged: true })],
      ['modified', 'mail/ham/0003.txt', undefined, undefined],
      ['extra', 'mail/spam/0001.txt', 'mail/ham/0001.txt', flip('0001')],
      ['extra', 'mail/spam/0002.txt', undefined, flip('0002', { contentChanged: true })],
      ['extra', 'mail/spam/0003.txt', undefined, flip('0003')],
    ];
    const named = (ps: Json[]) => ps.map((p) => [p.kind, p.path, p.movedFrom ?? p.movedTo, p.label]);
    const whole = await snapJson(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store]);
    expect(named(whole.json.problems)).toEqual(expected);

    const shards = await runShards(data, ref, store, 2);
    expect(shards.map((s) => s.report.problems.map((p: Json) => `${p.kind} ${p.path}`))).toEqual([
      ['missing mail/ham/0001.txt', 'missing mail/ham/0002.txt', 'modified mail/ham/0003.txt'],
      ['extra mail/spam/0001.txt', 'extra mail/spam/0002.txt', 'extra mail/spam/0003.txt'],
    ]);
    expect(shards[0]?.report.labelFolders).toEqual([{ pattern: 'mail/*/*', labelSegment: 1 }]);
    // Neither shard alone can name a flip.
    expect(shards.flatMap((s) => s.report.problems.filter((p: Json) => p.label))).toEqual([]);

    const m = await snapJson(['verify', '--merge', ...shards.map((s) => s.file)]);
    expect(m.code).toBe(1);
    expect(named(m.json.problems)).toEqual(expected);
    const human = await snap(['verify', '--merge', ...shards.map((s) => s.file)]);
    expect(human.stdout).toContain('label flipped: mail/0001.txt: ham → spam');
    expect(human.stdout).toContain('label changed: mail/0002.txt: ham → spam (and its bytes)');
    expect(human.stdout).toContain('label flipped: mail/0003.txt: ham → spam');

    // A report that names other label folders is not a shard of the same verify.
    const other = JSON.parse(await fsp.readFile(shards[1]!.file, 'utf8'));
    other.labelFolders = [{ pattern: 'mail/*/*', labelSegment: 0 }];
    await fsp.writeFile(shards[1]!.file, JSON.stringify(other));
    const mixed = await snapJson(['verify', '--merge', ...shards.map((s) => s.file)]);
    expect(mixed.code).toBe(1);
    expect(mixed.json.findings).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'mismatch', index: 2, message: expect.stringContaining('labelFolders') })]));
  });

  it('names no label flip for a table in a label folder moved to another (its own record set, not a sample of the set), as one verify; the report lists such tables', async () => {
    // mail/*/*.csv is read as tables (the rule put first), the rest of mail/*/* as label-folder samples.
    const spec: TreeSpec = { 'snap.json': JSON.stringify({ records: [{ pattern: 'mail/*/*.csv', key: ['id'] }, { pattern: 'mail/*/*', format: 'files', labelSegment: 1 }] }) };
    for (let i = 1; i <= 20; i++) spec[`mail/ham/${String(i).padStart(4, '0')}.txt`] = `ham message ${i}\n`.repeat(50);
    spec['mail/ham/t.csv'] = 'id,text\n1,hello\n';
    spec['mail/spam/0021.txt'] = 'spam message\n';
    const { data: sealed, store, ref } = await sealTree(spec, keys, { store: shared.path });
    const data = await copyTree(sealed);
    await fsp.rename(join(data, 'mail/ham/t.csv'), join(data, 'mail/spam/t.csv'));
    await fsp.rename(join(data, 'mail/ham/0001.txt'), join(data, 'mail/spam/0001.txt'));

    const named = (ps: Json[]) => ps.map((p) => [p.kind, p.path, p.movedFrom ?? p.movedTo, p.label?.key]);
    const expected = [
      ['missing', 'mail/ham/0001.txt', 'mail/spam/0001.txt', 'mail/0001.txt'],
      ['missing', 'mail/ham/t.csv', 'mail/spam/t.csv', undefined],
      ['extra', 'mail/spam/0001.txt', 'mail/ham/0001.txt', 'mail/0001.txt'],
      ['extra', 'mail/spam/t.csv', 'mail/ham/t.csv', undefined],
    ];
    const whole = await snapJson(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store]);
    expect(named(whole.json.problems)).toEqual(expected);
    const shards = await runShards(data, ref, store, 2);
    for (const s of shards) expect(s.report.labelFolders).toEqual([{ pattern: 'mail/*/*', labelSegment: 1, tables: ['mail/ham/t.csv'] }]);
    const m = await snapJson(['verify', '--merge', ...shards.map((s) => s.file)]);
    expect(m.code).toBe(1);
    expect(named(m.json.problems)).toEqual(expected);

    // A report of an older snap, without the tables, still merges (with another of its kind): the
    // table is then taken for a sample of the set, as that snap named it.
    const older = await Promise.all(shards.map(async (s) => {
      const r = JSON.parse(await fsp.readFile(s.file, 'utf8'));
      r.labelFolders = [{ pattern: 'mail/*/*', labelSegment: 1 }];
      const file = `${s.file}.older.json`;
      await fsp.writeFile(file, JSON.stringify(r));
      return file;
    }));
    const o = await snapJson(['verify', '--merge', ...older]);
    expect(o.code).toBe(1);
    expect(o.json.findings.map((f: Json) => f.kind)).not.toContain('mismatch');
    expect(named(o.json.problems).map((p) => p[3])).toEqual(['mail/0001.txt', 'mail/t.csv', 'mail/0001.txt', 'mail/t.csv']);
    // Mixed with a report that lists them, it is not a shard of the same verify.
    const mixed = await snapJson(['verify', '--merge', shards[0]!.file, older[1]!]);
    expect(mixed.json.findings).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'mismatch', message: expect.stringContaining('labelFolders') })]));
  });

  it('checks the signature and the whole manifest in every shard: a tampered manifest fails all four', async () => {
    const { data, store, ref, dir } = await sealTree(datasetSpec(), keys, { store: shared.path });
    const manifest = join(dir, 'manifest.jsonl');
    await fsp.chmod(manifest, 0o644);
    const text = await fsp.readFile(manifest, 'utf8');
    await fsp.writeFile(manifest, text.replace(/"size":300000/, '"size":300001'));
    const shards = await runShards(data, ref, store, 4);
    expect(shards.map((s) => s.code)).toEqual([1, 1, 1, 1]);
    for (const s of shards) expect(s.report).toMatchObject({ ok: false, manifestOk: false, failure: { code: 'INTEGRITY_FAILURE' } });
  });
});

describe('docs/FORMAT.md §20.6 worked example', () => {
  /** The text of §20.6, from its heading to the next section. */
  async function section(): Promise<string> {
    const doc = await fsp.readFile(new URL('../../docs/FORMAT.md', import.meta.url), 'utf8');
    const start = doc.indexOf('### 20.6 Worked example');
    expect(start).toBeGreaterThan(0);
    return doc.slice(start, doc.indexOf('\n## ', start));
  }

  it('gives the shards, digests and merged problems the section shows, computed here by snap', async () => {
    const text = await section();
    // The files as §20.6 gives them: mail/ham/1.txt is 200,000 bytes "h"; the others' bytes are not shown.
    const spec: TreeSpec = { 'mail/ham/1.txt': Buffer.alloc(200_000, 'h'), 'mail/ham/2.txt': 'ham two\n', 'mail/ham/3.txt': 'ham three\n', 'mail/spam/4.txt': 'spam four\n' };
    expect(text).toContain('`mail/ham/1.txt` (200,000 bytes, each `h`), `mail/ham/2.txt` (8), `mail/ham/3.txt` (10), `mail/spam/4.txt`\n(10)');
    const { data: sealed, store, ref } = await sealTree(spec, keys, { store: shared.path, extra: ['--records', 'mail/*/* format=files label-segment=1'] });
    const data = await copyTree(sealed);
    await fsp.rename(join(data, 'mail/ham/1.txt'), join(data, 'mail/spam/1.txt'));
    const shards = await runShards(data, ref, store, 2);

    // W and the split.
    const n = (x: string) => Number(x.replace(/,/g, ''));
    const w = /`W = ([\d,]+) \+ 4 × ([\d,]+) = ([\d,]+)`/.exec(text);
    expect(w && [n(w[1]!), n(w[2]!), n(w[3]!)]).toEqual([200_028, FILE_WEIGHT, 200_028 + 4 * FILE_WEIGHT]);
    const shownShards = [...text.matchAll(/"shard": (\{ "index".*\}),$/gm)].map((m) => JSON.parse(m[1]!));
    expect(shownShards).toHaveLength(2);
    expect(shards.map((s) => s.report.shard)).toEqual(shownShards);

    // The digest, shortened in the text as its first 8 and last 5 hex digits.
    const sha = shards[0]!.report.problems[0].expected.sha256 as string;
    const short = `${sha.slice(0, 8)}…${sha.slice(-5)}`;
    expect(text.match(/[0-9a-f]{8}…[0-9a-f]{5}/g)?.every((d) => d === short), `${short} in §20.6`).toBe(true);
    const full = (t: string) => JSON.parse(t.replaceAll(short, sha));
    const shownReports = [...text.matchAll(/"problems": (\[ \{ "path".*?\} \} \])/gs)].map((m) => full(m[1]!));
    expect(shards.map((s) => s.report.problems)).toEqual(shownReports);

    // The merge, as the section lists it.
    const merged = /`verify --merge s1\.json s2\.json --json` then lists[\s\S]*?```json\n("problems": \[[\s\S]*?\])\n```/.exec(text);
    expect(merged).not.toBeNull();
    const m = await snapJson(['verify', '--merge', ...shards.map((s) => s.file)]);
    expect(m.code).toBe(1);
    expect(m.json.problems).toEqual(full(`{${merged![1]}}`).problems);
    expect((await snap(['verify', '--merge', ...shards.map((s) => s.file)])).stdout).toContain('label flipped: mail/1.txt: ham → spam');
  });
});

describe('verify --shard, human output', () => {
  it('names the leaves of its share inclusively, as the paths beside them: one leaf is "leaf K", a range "leaves FROM–LAST" (the report keeps the half-open from/to)', async () => {
    const { data, store, ref } = await sealTree({ 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c', 'd.txt': 'd' }, keys, { store: shared.path });
    const line = async (k: string, n: string) => (await snap(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store, '--shard', `${k}/${n}`])).stdout.split('\n')[0];
    expect(await line('1', '4')).toBe('shard 1/4: leaf 0 of the manifest (a.txt); signature and Merkle root checked in full');
    expect(await line('2', '2')).toBe('shard 2/2: leaves 2–3 of the manifest (c.txt … d.txt); signature and Merkle root checked in full');
    const json = await snapJson(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store, '--shard', '2/2']);
    expect(json.json.shard.leaves).toEqual({ from: 2, to: 4 });
  });
});

describe('verify --merge', () => {
  it('fails when a shard report is missing, given twice, or for another snapshot', async () => {
    const a = await sealTree(datasetSpec(), keys, { store: shared.path });
    const b = await sealTree({ ...datasetSpec(), 'other.txt': 'another dataset' }, keys, { store: shared.path });
    const sa = await runShards(a.data, a.ref, a.store, 4);
    const sb = await runShards(b.data, b.ref, b.store, 4);
    const files = sa.map((s) => s.file);

    const missing = await snapJson(['verify', '--merge', files[0]!, files[1]!, files[3]!]);
    expect(missing.code).toBe(1);
    expect(missing.json.findings).toEqual([expect.objectContaining({ kind: 'missing', index: 3 })]);

    const twice = await snapJson(['verify', '--merge', ...files, files[1]!]);
    expect(twice.code).toBe(1);
    expect(twice.json.findings).toEqual([expect.objectContaining({ kind: 'duplicate', index: 2 })]);

    const foreign = await snapJson(['verify', '--merge', files[0]!, files[1]!, sb[2]!.file, files[3]!]);
    expect(foreign.code).toBe(1);
    expect(foreign.json.findings.map((f: { kind: string }) => f.kind).sort()).toEqual(['mismatch', 'missing']);

    const otherN = await runShards(a.data, a.ref, a.store, 2);
    const mixed = await snapJson(['verify', '--merge', files[0]!, files[1]!, files[2]!, otherN[1]!.file]);
    expect(mixed.code).toBe(1);
    expect(mixed.json.findings.map((f: { kind: string }) => f.kind)).toContain('mismatch');
  });

  it('fails when a worker did not trust the signature (another key)', async () => {
    const { data, store, ref } = await sealTree(datasetSpec(), keys, { store: shared.path });
    const shards = await runShards(data, ref, store, 2);
    const r = await snap(['verify', data, '--against', ref, '--pubkey', other.pub, '--store', store, '--shard', '2/2', '--report', shards[1]!.file]);
    expect(r.code).toBe(1);
    const m = await snapJson(['verify', '--merge', ...shards.map((s) => s.file)]);
    expect(m.code).toBe(1);
    expect(m.json.ok).toBe(false);
  });

  it('refuses a report that is not JSON, holds a duplicate member, contradicts itself, or is too large: exit 3', async () => {
    const { data, store, ref } = await sealTree(datasetSpec(), keys, { store: shared.path });
    const [good] = await runShards(data, ref, store, 1);
    const text = await fsp.readFile(good!.file, 'utf8');
    const dir = await tempDir('snap-bad-reports-');
    const cases: Record<string, string> = {
      'garbage.json': 'not json {',
      'array.json': '[]',
      'duplicate.json': text.replace('"format": "snap-verify-shard/1",', '"format": "snap-verify-shard/1", "format": "snap-verify-shard/1",'),
      'counts.json': text.replace('"matched": 41', '"matched": 41, "extra2": 0'),
      'liar.json': text.replace('"modified": 0', '"modified": 1'),
      'ok-but-failed.json': JSON.stringify({ ...JSON.parse(text), problems: [{ path: 'x', kind: 'missing' }], counts: { ...JSON.parse(text).counts, missing: 1 } }),
      'unknown.json': JSON.stringify({ ...JSON.parse(text), verdictOverride: true }),
      'no-label-folders.json': JSON.stringify({ ...JSON.parse(text), labelFolders: [] }),
      'label-folders-segment.json': JSON.stringify({ ...JSON.parse(text), labelFolders: [{ pattern: 'mail/*/*', labelSegment: -1 }] }),
      'label-folders-member.json': JSON.stringify({ ...JSON.parse(text), labelFolders: [{ pattern: 'mail/*/*', labelSegment: 1, label: 'x' }] }),
      'label-folders-pattern.json': JSON.stringify({ ...JSON.parse(text), labelFolders: [{ pattern: 'm'.repeat(4097), labelSegment: 1 }] }),
      'label-folders-no-tables.json': JSON.stringify({ ...JSON.parse(text), labelFolders: [{ pattern: 'mail/*/*', labelSegment: 1, tables: [] }] }),
      'label-folders-table-path.json': JSON.stringify({ ...JSON.parse(text), labelFolders: [{ pattern: 'mail/*/*', labelSegment: 1, tables: [7] }] }),
      'label-folders-tables-twice.json': JSON.stringify({ ...JSON.parse(text), labelFolders: [{ pattern: 'mail/*/*', labelSegment: 1, tables: ['mail/a/x.csv', 'mail/a/x.csv'] }] }),
      'label-folders-untrusted.json': JSON.stringify({ ...JSON.parse(text), trusted: false, merkleRoot: undefined, manifestSha256: undefined, fileCount: undefined, manifestOk: false, ok: false, labelFolders: [{ pattern: 'mail/*/*', labelSegment: 1 }] }),
    };
    await eachMergeRefused(dir, cases);
    const big = join(dir, 'big.json');
    await fsp.writeFile(big, '');
    await fsp.truncate(big, 64 * 1024 * 1024 + 1);
    const r = await snapJson(['verify', '--merge', big]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('SHARD_REPORT_MALFORMED');
    expect((await snap(['verify', '--merge', join(dir, 'absent.json')])).code).toBe(3);
  });

  it('merges a report of 200,000 problems (what its 64 MiB bound holds) into a verdict, exit 1, not a crash', async () => {
    const { data, store, ref } = await sealTree(datasetSpec(), keys, { store: shared.path });
    const [good] = await runShards(data, ref, store, 1);
    const report = JSON.parse(await fsp.readFile(good!.file, 'utf8'));
    const n = 200_000;
    // As a worker reports a folder whose files were all removed: one missing file per problem.
    report.problems = Array.from({ length: n }, (_, i) => ({ path: `gone/${String(i).padStart(7, '0')}.bin`, kind: 'missing', expected: { sha256: '0'.repeat(64), size: 1 } }));
    report.counts = { ...report.counts, missing: n };
    report.ok = false;
    const file = join(await tempDir('snap-many-problems-'), 'shard-1.json');
    await fsp.writeFile(file, JSON.stringify(report));
    const r = await snapJson(['verify', '--merge', file]);
    expect(r.code, r.stdout).toBe(1);
    expect(r.json.counts.missing).toBe(n);
    expect(r.json.problems).toHaveLength(n);
    expect(r.json.findings).toEqual([expect.objectContaining({ kind: 'failed', index: 1 })]);
  });

  it('refuses a FIFO given as a report at once (exit 3), without waiting for a writer', async () => {
    const { data, store, ref } = await sealTree(datasetSpec(), keys, { store: shared.path });
    const [good] = await runShards(data, ref, store, 1);
    const fifo = join(await tempDir('snap-fifo-report-'), 'shard-2.json');
    execFileSync('mkfifo', [fifo]);
    // A subprocess: open(2) of a FIFO waits in a thread of the pool, which SIGTERM does not stop.
    const r = await snapBin(['verify', '--merge', good!.file, fifo, '--json'], { timeoutMs: 15_000 });
    expect(r.signal, 'verify --merge waited on the FIFO').toBeNull();
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).error.code).toBe('SHARD_REPORT_MALFORMED');
    expect(r.stderr + r.stdout).toContain('not a regular file');
  });

  it("refuses a report whose problem holds a digest that is not 64 hex, a size that is not a whole number or a target or type that is not text (exit 3): no terminal escape of a report reaches the merge's output", async () => {
    const { data: sealed, store, ref } = await sealTree(datasetSpec(), keys, { store: shared.path });
    const data = await copyTree(sealed);
    await fsp.writeFile(join(data, 'd1/f06.bin'), 'changed');
    const [shard] = await runShards(data, ref, store, 1);
    const report = shard!.report;
    expect(report.problems).toEqual([expect.objectContaining({ path: 'd1/f06.bin', kind: 'modified' })]);
    const escape = '\u001b]0;pwned\u0007\u001b[2J';
    const withProblem = (change: (p: Json) => void) => {
      const r = structuredClone(report);
      change(r.problems[0]);
      return JSON.stringify(r);
    };
    const cases: Record<string, string> = {
      'digest-escape.json': withProblem((p) => (p.actual.sha256 = escape)),
      'digest-short.json': withProblem((p) => (p.expected.sha256 = 'abc')),
      'size-negative.json': withProblem((p) => (p.expected.size = -5)),
      'size-fraction.json': withProblem((p) => (p.actual.size = 1.5)),
      'target-number.json': withProblem((p) => (p.actual = { target: 7, type: 'symlink' })),
      'type-object.json': withProblem((p) => (p.actual = { type: {} })),
    };
    for (const [name, f] of await eachMergeRefused(await tempDir('snap-bad-problems-'), cases)) {
      const human = await snap(['verify', '--merge', f]);
      expect(human.stdout + human.stderr, name).not.toMatch(/[\u0007\u001b]/);
    }
    // The report as the worker wrote it still merges (exit 1: the file it found changed).
    expect((await snap(['verify', '--merge', shard!.file])).code).toBe(1);
  });

  it('refuses a report whose problem has a member verify never writes, or records or a label that is not an object (exit 3): the merged --json passes on only what a worker writes', async () => {
    const { data: sealed, store, ref } = await sealTree(datasetSpec(), keys, { store: shared.path });
    const data = await copyTree(sealed);
    await fsp.rm(join(data, 'd2/f07.bin'));
    const [shard] = await runShards(data, ref, store, 1);
    const report = shard!.report;
    expect(report.problems).toEqual([expect.objectContaining({ path: 'd2/f07.bin', kind: 'missing' })]);
    const withProblem = (member: Json) => JSON.stringify({ ...report, problems: [{ ...report.problems[0], ...member }] });
    const cases: Record<string, string> = {
      'unknown.json': withProblem({ verdict: 'ok' }),
      'records-number.json': withProblem({ records: 7 }),
      'label-string.json': withProblem({ label: 'ham' }),
    };
    await eachMergeRefused(await tempDir('snap-bad-problem-members-'), cases);
    const m = await snapJson(['verify', '--merge', shard!.file]);
    expect(m.code).toBe(1);
    expect(m.json.problems).toEqual(report.problems);
  });
});

describe('--shard K/N validation', () => {
  it('refuses 0, K > N, N above 1024, and garbage with a usage error (exit 2), before reading anything', async () => {
    const { data, store, ref } = await sealTree({ 'a.txt': 'a' }, keys, { store: shared.path });
    for (const spec of ['0/4', '5/4', '1/0', '1/1025', 'abc', '', '1/4/2', ' 1/4', '1.5/4', '-1/4', '1/4x', '0x1/4']) {
      const r = await snapJson(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store, '--shard', spec]);
      expect(r.code, JSON.stringify(spec)).toBe(2);
    }
    expect((await snap(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store, '--shard', '1024/1024'])).code).toBe(0);
  });

  it('refuses --report without --shard, --merge with a folder or keys, and verify with neither DIR nor --merge: exit 2', async () => {
    const { data, store, ref } = await sealTree({ 'a.txt': 'a' }, keys, { store: shared.path });
    expect((await snap(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store, '--report', join(data, '..', 'r.json')])).code).toBe(2);
    expect((await snap(['verify', data, '--merge', 'r.json'])).code).toBe(2);
    expect((await snap(['verify', '--merge', 'r.json', '--pubkey', keys.pub])).code).toBe(2);
    // Flags of a trust check that the merge does not make: it took them and ignored them.
    for (const flag of [['--threshold', '2'], ['--policy-name', 'acme'], ['--state-dir', data]]) {
      const r = await snapJson(['verify', '--merge', 'r.json', ...flag]);
      expect([r.code, r.json.error?.code], flag.join(' ')).toEqual([2, 'USAGE']);
      expect(r.json.error.message).toContain(`it takes no ${flag[0]}`);
    }
    expect((await snap(['verify'])).code).toBe(2);
  });
});
