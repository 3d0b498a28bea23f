/**
 * The seal → verify round trip (SPEC §8) on the example dataset and on small trees: the
 * `verify --json` shape, symbolic links recorded and not followed, a store inside the dataset, and
 * `--exclude`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLE, copyTree, makeTree, snap, snapJson, tempDir, writeTree, useKeyPair } from '../helpers/tree.js';
import { sealTree, uniqueName, useStore } from '../helpers/store.js';

const keys = useKeyPair();
const shared = useStore();
const HEX64 = /^[0-9a-f]{64}$/;

describe('seal then verify', () => {
  it('exits 0 on a copy of the example dataset, and verify --json prints exactly one JSON document of the SPEC shape', async () => {
    const data = await copyTree(EXAMPLE);
    const store = shared.path;
    const s = await snapJson(['seal', data, '--as', 'spam@v1', '--key', keys.key, '--store', store]);
    expect(s.code).toBe(0);
    expect(s.json).toMatchObject({ ok: true, ref: 'spam@v1', snapshot: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), merkleRoot: expect.stringMatching(HEX64), signer: keys.keyid });
    expect(s.json.files).toBe(120);

    const v = await snapJson(['verify', data, '--against', 'spam@v1', '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(0);
    expect(v.json).toMatchObject({
      ok: true,
      snapshot: s.json.snapshot,
      ref: 'spam@v1',
      signers: [{ keyid: keys.keyid, trusted: true }],
      counts: { matched: 120, modified: 0, missing: 0, extra: 0 },
      problems: [],
    });
    expect(Object.keys(v.json)).toEqual(expect.arrayContaining(['ok', 'snapshot', 'ref', 'signers', 'counts', 'problems']));
  });

  it('exits 0 and prints a verdict naming the snapshot without --json', async () => {
    const { data, store, ref } = await sealTree({ 'a.txt': 'alpha', 'b/c.txt': 'gamma' }, keys, { store: shared.path });
    const v = await snap(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain(ref);
  });

  it('checks the Merkle root over many batches (the workers fold each batch where it starts), with extra, missing and symlinked entries between them', async () => {
    // 3,000 entries: verify sends at most 1,024 items a batch, so the root is folded from several
    // batches; extras (no leaf) and missing files (a leaf, no file) shift where each batch starts.
    const spec: Record<string, string | { symlink: string }> = {};
    for (let i = 0; i < 3000; i++) spec[`d${Math.floor(i / 700)}/f${String(i).padStart(4, '0')}.txt`] = `${i}`;
    spec['d1/link'] = { symlink: 'f0700.txt' };
    const { data, store, ref } = await sealTree(spec, keys, { store: shared.path });
    const clean = await snapJson(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store]);
    expect(clean.code).toBe(0);
    expect(clean.json.counts.matched).toBe(3001);
    for (const i of [5, 1100, 2222]) await fsp.writeFile(join(data, `d${Math.floor(i / 700)}`, `e${String(i).padStart(4, '0')}.txt`), 'extra');
    for (const i of [1030, 2050]) await fsp.rm(join(data, `d${Math.floor(i / 700)}`, `f${String(i).padStart(4, '0')}.txt`));
    const v = await snapJson(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(1);
    expect(v.json.manifest).toMatchObject({ ok: true, merkleRoot: clean.json.manifest.merkleRoot });
    expect(v.json.counts).toMatchObject({ matched: 2999, missing: 2, extra: 3, modified: 0 });
  });

  it('prints the seal result as text without --json and exits 0', async () => {
    const data = await makeTree({ 'a.txt': 'alpha' });
    const ref = `${uniqueName()}@v1`;
    const r = await snap(['seal', data, '--as', ref, '--key', keys.key, '--store', shared.path]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(ref);
    expect(r.stdout).toMatch(/sha256:[0-9a-f]{64}/);
  });

  it('verifies against a snapshot id, an 8-hex id prefix, and a snapshot folder path', async () => {
    const { data, store, snapshot, dir } = await sealTree({ 'a.txt': 'alpha' }, keys, { store: shared.path });
    const hex = snapshot.slice('sha256:'.length);
    for (const ref of [snapshot, hex.slice(0, 8), dir]) {
      const v = await snapJson(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store]);
      expect(v.code, `--against ${ref}`).toBe(0);
      expect(v.json.snapshot).toBe(snapshot);
    }
  });

  it('finds the store through $SNAP_STORE', async () => {
    const { data, store, ref } = await sealTree({ 'a.txt': 'alpha' }, keys, { store: shared.path });
    const v = await snap(['verify', data, '--against', ref, '--pubkey', keys.pub], { env: { SNAP_STORE: store } });
    expect(v.code).toBe(0);
  });

  it('counts an empty file and verifies it', async () => {
    const { data, store, ref } = await sealTree({ 'empty.bin': '', 'x.txt': 'x' }, keys, { store: shared.path });
    const v = await snapJson(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(0);
    expect(v.json.counts.matched).toBe(2);
  });

  it('does not take a FIFO for a file signed empty (a FIFO without a writer reads as empty): exit 1, no hang, whether the walk sees it or it is swapped in just before the read', async () => {
    const { data, store, ref } = await sealTree({ 'empty.bin': '', 'x.txt': 'x' }, keys, { store: shared.path });
    const args = ['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store];
    // Swapped in between the walk (which saw a regular file) and the worker's open.
    process.env.SNAP_TEST_REPLACE_BEFORE_OPEN = `fifo:${join(data, 'empty.bin')}`; // read by the hash pool when it starts
    let swapped;
    try {
      swapped = await snapJson(args);
    } finally {
      delete process.env.SNAP_TEST_REPLACE_BEFORE_OPEN;
    }
    expect(swapped.code, swapped.stdout).toBe(1);
    expect(swapped.json.problems.map((p: { path: string; kind: string }) => [p.path, p.kind])).toEqual([['empty.bin', 'type-changed']]);
    // There before the walk: the same finding, of another type now.
    const seen = await snapJson(args);
    expect(seen.code, seen.stdout).toBe(1);
    expect(seen.json.problems.map((p: { path: string; kind: string }) => [p.path, p.kind])).toEqual([['empty.bin', 'type-changed']]);
  });

  it('names a FIFO where a signed file or link was as type-changed (as a symlink there is), not as a missing entry and an extra at one path; in one verify, in shards and merged', async () => {
    const { data, store, ref } = await sealTree({ 'a.txt': 'alpha', 'b.txt': 'beta', 'ln': { symlink: 'a.txt' }, 'z.txt': 'zeta' }, keys, { store: shared.path });
    for (const p of ['b.txt', 'ln']) {
      await fsp.rm(join(data, p));
      execFileSync('mkfifo', [join(data, p)]);
    }
    const want = [
      { path: 'b.txt', kind: 'type-changed', expected: { sha256: createHash('sha256').update('beta').digest('hex'), size: 4 }, actual: { type: 'a FIFO (named pipe)' } },
      { path: 'ln', kind: 'type-changed', expected: { target: 'a.txt', type: 'symlink' }, actual: { type: 'a FIFO (named pipe)' } },
    ];
    const args = ['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store];
    const v = await snapJson(args);
    expect(v.code, v.stdout).toBe(1);
    expect(v.json.problems).toEqual(want);
    expect(v.json.counts).toMatchObject({ matched: 2, missing: 0, extra: 0, 'type-changed': 2 });
    const human = await snap(args);
    expect(human.stdout).toContain('b.txt  was a file, now a FIFO (named pipe)');
    expect(human.stdout).toContain('ln  was a symlink, now a FIFO (named pipe)');
    const reports: string[] = [];
    const reportDir = await tempDir('snap-fifo-reports-'); // removed when the test ends (they were left in TMPDIR)
    for (const k of [1, 2, 3]) {
      const file = join(reportDir, `shard-${k}.json`);
      await snap([...args, '--shard', `${k}/3`, '--report', file, '--quiet']);
      reports.push(file);
    }
    const merged = await snapJson(['verify', '--merge', ...reports, '--against', ref]);
    expect(merged.code, merged.stdout).toBe(1);
    expect(merged.json.problems).toEqual(want);
  });

  it('reports a file signed empty that now holds bytes as modified (exit 1), with one job or several', async () => {
    const { data, store, ref } = await sealTree({ 'empty.bin': '', 'sub/empty.txt': '', 'x.txt': 'x' }, keys, { store: shared.path });
    await fsp.writeFile(join(data, 'empty.bin'), 'planted');
    await fsp.writeFile(join(data, 'sub', 'empty.txt'), 'p');
    for (const jobs of ['1', '2']) {
      const v = await snapJson(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store, '--jobs', jobs]);
      expect(v.code).toBe(1);
      expect(v.json.problems.map((p: { path: string; kind: string; expected: unknown; actual: { size: number } }) => [p.path, p.kind, p.actual.size])).toEqual([
        ['empty.bin', 'modified', 7],
        ['sub/empty.txt', 'modified', 1],
      ]);
      expect(v.json.counts).toMatchObject({ matched: 1, modified: 2 });
    }
  });

  it('ignores empty folders (they are not entries)', async () => {
    const { data, store, ref } = await sealTree({ 'a.txt': 'alpha' }, keys, { store: shared.path });
    await fsp.mkdir(join(data, 'new-empty-folder', 'deeper'), { recursive: true });
    const v = await snapJson(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(0);
  });
});

describe('symbolic links', () => {
  it('records a link without following it: verify passes even when its target is outside and changes', async () => {
    const outside = await makeTree({ 'target.txt': 'outside v1' });
    const { data, store, ref, dir } = await sealTree({ 'a.txt': 'alpha', 'link': { symlink: join(outside, 'target.txt') }, 'rel': { symlink: 'a.txt' } }, keys, { store: shared.path });
    const manifest = await fsp.readFile(join(dir, 'manifest.jsonl'), 'utf8');
    expect(manifest).toContain(`{"path":"link","target":${JSON.stringify(join(outside, 'target.txt'))},"type":"symlink"}\n`);
    expect(manifest).toContain('{"path":"rel","target":"a.txt","type":"symlink"}\n');
    await fsp.writeFile(join(outside, 'target.txt'), 'outside v2, changed');
    const v = await snapJson(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(0);
    expect(v.json.counts.matched).toBe(3);
  });

  it('records a dangling link', async () => {
    const { data, store, ref } = await sealTree({ 'a.txt': 'alpha', 'dangling': { symlink: 'no/such/file' } }, keys, { store: shared.path });
    const v = await snapJson(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(0);
  });

  it('reports a changed link target as modified: exit 1, naming the link', async () => {
    const { data, store, ref } = await sealTree({ 'a.txt': 'alpha', 'b.txt': 'beta', 'link': { symlink: 'a.txt' } }, keys, { store: shared.path });
    await writeTree(data, { link: { symlink: 'b.txt' } });
    const v = await snapJson(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(1);
    expect(v.json.ok).toBe(false);
    expect(v.json.problems).toEqual([expect.objectContaining({ path: 'link', kind: 'modified', expected: { target: 'a.txt', type: 'symlink' }, actual: { target: 'b.txt', type: 'symlink' } })]);
    expect(v.json.counts).toMatchObject({ matched: 2, modified: 1, missing: 0, extra: 0 });
  });

  it('does not descend into a linked folder', async () => {
    const outside = await makeTree({ 'inner.txt': 'inside the linked folder' });
    const { dir } = await sealTree({ 'a.txt': 'alpha', 'linked-dir': { symlink: outside } }, keys, { store: shared.path });
    const manifest = await fsp.readFile(join(dir, 'manifest.jsonl'), 'utf8');
    expect(manifest).not.toContain('inner.txt');
    expect(manifest.trim().split('\n')).toHaveLength(2);
  });
});

describe('a store inside the dataset', () => {
  it('is left out of the manifest when it is the default ./.snap, and verify passes', async () => {
    const data = await makeTree({ 'a.txt': 'alpha', 'sub/b.txt': 'beta' });
    const s = await snapJson(['seal', '.', '--as', 'ds@v1', '--key', keys.key], { cwd: data });
    expect(s.code).toBe(0);
    expect(s.json.files).toBe(2);
    const manifest = await fsp.readFile(join(data, '.snap', 'snapshots', 'ds', 'v1', 'manifest.jsonl'), 'utf8');
    expect(manifest).not.toContain('.snap');
    const v = await snapJson(['verify', '.', '--against', 'ds@v1', '--pubkey', keys.pub], { cwd: data });
    expect(v.code).toBe(0);
    expect(v.json.counts).toMatchObject({ matched: 2, extra: 0 });
  });

  it('is left out when named with --store deeper in the dataset', async () => {
    const data = await makeTree({ 'a.txt': 'alpha' });
    const store = join(data, 'meta', 'store');
    await fsp.mkdir(join(data, 'meta')); // a store is made only where its parent folder exists
    expect((await snap(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const v = await snapJson(['verify', data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(0);
    expect(v.json.counts.matched).toBe(1);
  });
});

describe('a folder at the store path inside the dataset, when the snapshot was not read from a store there', () => {
  // cd data && snap verify . --against x.snap.tar: the default store ./.snap was left out of the walk
  // whether or not a store was there, so a .snap/poison.jpg planted in the dataset passed (exit 0),
  // while a loader that lists the folder (torchvision's ImageFolder: .snap is a class) reads it.
  it('is compared: verify of an archive fails on a file planted at ./.snap or under $SNAP_STORE (exit 1, extra)', async () => {
    const data = await makeTree({ 'cat/1.jpg': 'cat', 'dog/1.jpg': 'dog' });
    const work = await makeTree({});
    const store = join(work, 'store');
    const archive = join(work, 'x.snap.tar');
    expect((await snapJson(['seal', data, '--as', 'x@1', '--key', keys.key, '--store', store])).code).toBe(0);
    expect((await snapJson(['export', 'x@1', '-o', archive, '--store', store])).code).toBe(0);
    await writeTree(data, { '.snap/poison.jpg': 'poison', 'meta/poison.jpg': 'poison' });
    const v = await snapJson(['verify', '.', '--against', archive, '--pubkey', keys.pub], { cwd: data });
    expect(v.code, v.stderr).toBe(1);
    expect(v.json.problems.filter((p: { kind: string }) => p.kind === 'extra').map((p: { path: string }) => p.path)).toEqual(['.snap/poison.jpg', 'meta/poison.jpg']);
    const env = await snapJson(['verify', data, '--against', archive, '--pubkey', keys.pub], { env: { SNAP_STORE: join(data, 'meta') } });
    expect(env.code, env.stderr).toBe(1);
    expect(env.json.counts.extra).toBe(2);
  });

  it('is compared by check and diff too: a table planted at ./.snap is a file outside every record set (exit 1)', async () => {
    const rows = ['id,label', ...Array.from({ length: 20 }, (_, i) => `${i + 1},${i % 2}`)].join('\n') + '\n';
    const data = await makeTree({ 'snap.json': JSON.stringify({ records: [{ pattern: 'train.csv', key: ['id'], label: 'label' }] }), 'train.csv': rows });
    const work = await makeTree({});
    const archive = join(work, 'x.snap.tar');
    expect((await snapJson(['seal', data, '--as', 'x@1', '--key', keys.key, '--out', archive])).code).toBe(0);
    await writeTree(data, { '.snap/more.csv': rows.replace(/,0\n/g, ',1\n') });
    const c = await snapJson(['check', '.', '--against', archive, '--pubkey', keys.pub], { cwd: data });
    expect(c.code, c.stderr).toBe(1);
    expect(c.json.unindexedFiles).toEqual([{ path: '.snap/more.csv', change: 'added', data: true }]);
    const d = await snapJson(['diff', archive, '.'], { cwd: data });
    expect(d.code, d.stderr).toBe(1);
    expect(d.json.added.map((e: { path: string }) => e.path)).toEqual(['.snap/more.csv']);
  });
});

describe('--exclude', () => {
  it('is recorded in the statement and applied by verify: a new .tmp file is not extra', async () => {
    const { data, store, ref } = await sealTree({ 'a.txt': 'alpha', 'scratch.tmp': 'left out', 'sub/c.tmp': 'also left out' }, keys, { store: shared.path, extra: ['--exclude', '*.tmp'] });
    const show = await snapJson(['show', ref, '--store', store]);
    expect(show.code).toBe(0);
    expect(show.json.statement.predicate.excludes).toEqual(['*.tmp']);
    expect(show.json.statement.predicate.fileCount).toBe(1);
    await writeTree(data, { 'new.tmp': 'created after the seal', 'sub/deeper/x.tmp': 'x' });
    const v = await snapJson(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(0);
    expect(v.json.counts).toMatchObject({ matched: 1, extra: 0 });
  });

  it('still reports a new file that the patterns do not cover as extra', async () => {
    const { data, store, ref } = await sealTree({ 'a.txt': 'alpha' }, keys, { store: shared.path, extra: ['--exclude', '*.tmp'] });
    await writeTree(data, { 'new.txt': 'not excluded' });
    const v = await snapJson(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([expect.objectContaining({ path: 'new.txt', kind: 'extra' })]);
  });

  it('records several patterns in the order given, and can leave out a folder', async () => {
    const { store, ref } = await sealTree({ 'a.txt': 'alpha', 'cache/x.bin': 'x', 'b.log': 'log' }, keys, { store: shared.path, extra: ['--exclude', 'cache/', '--exclude', '*.log'] });
    const show = await snapJson(['show', ref, '--store', store]);
    expect(show.json.statement.predicate.excludes).toEqual(['cache/', '*.log']);
    expect(show.json.statement.predicate.fileCount).toBe(1);
  });

  it('refuses a seal that excludes every file: exit 3, DATASET_EMPTY', async () => {
    const data = await makeTree({ 'a.tmp': 'a' });
    const r = await snapJson(['seal', data, '--as', `${uniqueName()}@v1`, '--key', keys.key, '--store', shared.path, '--exclude', '*.tmp']);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('DATASET_EMPTY');
  });
});
