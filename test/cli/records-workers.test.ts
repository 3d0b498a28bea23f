/**
 * Several tabular files are indexed at once, one per worker thread (src/records/index-pool.ts).
 * These tests run the built CLI with SNAP_TEST_RECORD_WORKERS=always, which sends even small files
 * to workers (and fails if the worker module is missing from the build), and compare with the same
 * seal indexed on one thread.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { makeTree, snapBin, snapJson, spawnSnap, useKeyPair } from '../helpers/tree.js';
import { filesUnder, newStorePath } from '../helpers/store.js';
import { indexWorkersFor, MIN_PARALLEL_BYTES } from '../../src/records/index-pool.js';

const keys = useKeyPair();
const WORKERS = { SNAP_TEST_RECORD_WORKERS: 'always' };

function csv(rows: number, start = 0, sep = ','): string {
  const labels = ['spam', 'ham', 'eggs'];
  let s = ['id', 'text', 'label'].join(sep) + '\n';
  for (let i = start; i < start + rows; i++) s += [i, `text ${i * 7919}`, labels[i % 3]].join(sep) + '\n';
  return s;
}

function jsonl(rows: number): string {
  let s = '';
  for (let i = 0; i < rows; i++) s += JSON.stringify({ id: i, x: i / 3, label: i % 5 === 0 ? 'spam' : 'ham' }) + '\n';
  return s;
}

function parquet(rows: number): Buffer {
  const ids = Array.from({ length: rows }, (_, i) => i);
  return Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'id', data: ids, type: 'INT32' }, { name: 'label', data: ids.map((i) => (i % 2 ? 'cat' : 'dog')), type: 'STRING' }] }));
}

/** The signed record sets of snapshot REF. */
async function recordSets(store: string, ref: string): Promise<unknown> {
  const r = await snapJson(['show', ref, '--store', store]);
  expect(r.code, r.stderr).toBe(0);
  return r.json.statement.predicate.records;
}

const RULES = ['--records', 'parts/*.csv key=id label=label', '--records', 'parts/*.tsv key=id label=label', '--records', '*.jsonl key=id label=label', '--records', '*.parquet key=id label=label'];

describe('a seal of several tabular files, indexed by worker threads', () => {
  it('signs exactly the record sets that indexing them one by one signs', async () => {
    const data = await makeTree({
      'parts/a.csv': csv(3000),
      'parts/b.csv': csv(2000, 3000),
      'parts/c.tsv': csv(1000, 0, '\t'),
      'events.jsonl': jsonl(2500),
      'images.parquet': parquet(1500),
      'README.txt': 'not a table\n',
    });
    const one = await newStorePath();
    const many = await newStorePath();
    const a = await snapBin(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', one, ...RULES, '--quiet']);
    expect(a.code, a.stderr).toBe(0);
    const b = await snapBin(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', many, ...RULES, '--quiet'], { env: WORKERS });
    expect(b.code, b.stderr).toBe(0);
    const sets = (await recordSets(many, 'ds@v1')) as { path: string; count: number }[];
    expect(sets.map((s) => [s.path, s.count])).toEqual([
      ['events.jsonl', 2500],
      ['images.parquet', 1500],
      ['parts/a.csv', 3000],
      ['parts/b.csv', 2000],
      ['parts/c.tsv', 1000],
    ]);
    expect(sets).toEqual(await recordSets(one, 'ds@v1'));
    const verified = await snapBin(['verify', data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', many, '--json']);
    expect(verified.code, verified.stderr).toBe(0);
  }, 60_000);

  it('reports the first bad file in manifest order even when a later one fails first, and commits nothing', async () => {
    // a.csv is long and breaks on its last line; b.csv breaks on its second: b's worker fails first.
    const data = await makeTree({ 'parts/a.csv': csv(60_000) + '1,2\n', 'parts/b.csv': 'id,text,label\n1,"open quote,spam\n' });
    const store = await newStorePath();
    const r = await snapBin(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--records', 'parts/*.csv key=id label=label', '--json'], { env: WORKERS });
    expect(r.code, r.stderr).toBe(3);
    const out = JSON.parse(r.stdout);
    expect(out.error.code).toBe('RECORDS_MALFORMED');
    expect(out.error.message).toContain('parts/a.csv');
    expect(out.error.message).toContain('60002');
    // The store this seal was to make is not left behind half made.
    expect(existsSync(store)).toBe(false);
  }, 60_000);

  it('stopped by SIGINT while the workers read: exit 130, no snapshot, nothing left in STORE/tmp', async () => {
    const spec: Record<string, string> = {};
    for (let i = 0; i < 4; i++) spec[`parts/p${i}.csv`] = csv(150_000, i * 150_000);
    const data = await makeTree(spec);
    const store = await newStorePath();
    expect((await snapJson(['init', '--store', store])).code).toBe(0);
    const { child, done } = spawnSnap(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--records', 'parts/*.csv key=id label=label', '--manifest-only', '--quiet'], { env: WORKERS, timeoutMs: 120_000 });
    // A worker's sorted runs go to a runs-* folder under STORE/tmp: the workers are reading.
    // The seal makes and removes folders under STORE/tmp while this looks: one gone between the
    // look and the read (ENOENT, seen on a tmpfs) is "not yet".
    const reading = (): boolean => {
      try {
        return readdirSync(join(store, 'tmp'), { recursive: true }).some((p) => /(^|\/)runs-[^/]+$/.test(String(p)));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw e;
      }
    };
    const started = Date.now();
    while (!reading() && child.exitCode === null && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGINT');
    const r = await done;
    expect(r.code, `the seal finished before it could be stopped (${r.stderr})`).toBe(130);
    expect((await snapJson(['list', '--store', store])).json.snapshots).toEqual([]);
    expect(existsSync(join(store, 'lock'))).toBe(false);
    expect(await filesUnder(join(store, 'tmp'))).toEqual([]);
  }, 120_000);
});

describe('an indexing worker that dies', () => {
  it.each(['exit0', 'exit', 'throw'])('(%s) fails the seal at once with INTERNAL (exit 3), leaving no snapshot and nothing in STORE/tmp', async (how) => {
    const data = await makeTree({ 'parts/a.csv': csv(2000), 'parts/b.csv': csv(2000, 2000) });
    const store = await newStorePath();
    expect((await snapJson(['init', '--store', store])).code).toBe(0);
    // A command that waited on the dead worker would be killed by snapBin after 30 s (exit -1).
    const r = await snapBin(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--records', 'parts/*.csv key=id label=label', '--json'], { env: { ...WORKERS, SNAP_TEST_WORKER_DEATH: `indexing:${how}:1` } });
    expect(r.code, r.stderr).toBe(3);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'INTERNAL', message: expect.stringContaining('indexing worker') });
    expect((await snapJson(['list', '--store', store])).json.snapshots).toEqual([]);
    expect(await filesUnder(join(store, 'tmp'))).toEqual([]);
    expect(existsSync(join(store, 'lock'))).toBe(false);
  }, 60_000);
});

describe('diff and verify against a folder of several changed tabular files, indexed by worker threads', () => {
  it('name exactly the records that indexing one by one names', async () => {
    const data = await makeTree({ 'parts/a.csv': csv(3000), 'parts/b.csv': csv(2000, 3000), 'parts/c.tsv': csv(1000, 0, '\t'), 'events.jsonl': jsonl(2500) });
    const store = await newStorePath();
    const sealed = await snapBin(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store, ...RULES.slice(0, 6), '--quiet']);
    expect(sealed.code, sealed.stderr).toBe(0);
    // A label flipped in a.csv, a record added to b.csv, one removed from c.tsv, one changed in events.jsonl.
    const after = await makeTree({
      'parts/a.csv': csv(3000).replace('\n7,text 55433,ham\n', '\n7,text 55433,spam\n'),
      'parts/b.csv': csv(2001, 3000),
      'parts/c.tsv': csv(999, 0, '\t'),
      'events.jsonl': jsonl(2500).replace('{"id":4,"x":1.3333333333333333,"label":"ham"}', '{"id":4,"x":1.5,"label":"ham"}'),
    });
    const one = await snapBin(['diff', 'ds@v1', after, '--store', store, '--json']);
    const many = await snapBin(['diff', 'ds@v1', after, '--store', store, '--json'], { env: WORKERS });
    expect(one.code, one.stderr).toBe(1);
    expect(many.code, many.stderr).toBe(1);
    const records = JSON.parse(many.stdout).records;
    expect(records.summary).toMatchObject({ sets: 4, added: 1, removed: 1, modified: 1, flipped: 1 });
    expect(records).toEqual(JSON.parse(one.stdout).records);
    const v1 = await snapBin(['verify', after, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store, '--json']);
    const vn = await snapBin(['verify', after, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store, '--json'], { env: WORKERS });
    expect(v1.code, v1.stderr).toBe(1);
    expect(vn.code, vn.stderr).toBe(1);
    const problems = JSON.parse(vn.stdout).problems;
    expect(problems.map((p: { path: string; records?: { summary?: unknown } }) => [p.path, p.records?.summary !== undefined])).toEqual([
      ['events.jsonl', true],
      ['parts/a.csv', true],
      ['parts/b.csv', true],
      ['parts/c.tsv', true],
    ]);
    expect(problems).toEqual(JSON.parse(v1.stdout).problems);
  }, 90_000);

  it('diff reports the first set in order whose file cannot be read', async () => {
    const data = await makeTree({ 'parts/a.csv': csv(100), 'parts/b.csv': csv(100) });
    const store = await newStorePath();
    expect((await snapBin(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--records', 'parts/*.csv key=id label=label', '--quiet'])).code).toBe(0);
    const after = await makeTree({ 'parts/a.csv': csv(60_000) + '1,2\n', 'parts/b.csv': 'id,text,label\n1,"open quote,spam\n' });
    const r = await snapBin(['diff', 'ds@v1', after, '--store', store, '--json'], { env: WORKERS });
    expect(r.code, r.stderr).toBe(3);
    expect(JSON.parse(r.stdout).error.message).toContain('parts/a.csv');
  }, 60_000);
});

describe('how many indexing workers a seal starts', () => {
  const MiB = 1024 * 1024;
  it('none for one file, however large, or for files under 4 MiB in all', () => {
    expect(indexWorkersFor([10_000 * MiB])).toBe(0);
    expect(indexWorkersFor([MIN_PARALLEL_BYTES / 4, MIN_PARALLEL_BYTES / 4 - 1])).toBe(0);
    expect(indexWorkersFor([])).toBe(0);
  });
  it('at most one per file and at most --jobs; none when --jobs is 1', () => {
    expect(indexWorkersFor([4 * MiB, 4 * MiB], 8)).toBe(2);
    expect(indexWorkersFor(Array(10).fill(4 * MiB), 2)).toBe(2);
    expect(indexWorkersFor(Array(10).fill(4 * MiB), 1)).toBe(0);
  });
});

describe("seal's progress while it indexes records", () => {
  it('reports the phase "indexing records" with every tabular file and byte counted once, last of all', async () => {
    const { seal } = await import('../../src/ops/seal.js');
    const { readPrivateKey } = await import('../../src/io/keyfile.js');
    const { parseRuleFlag } = await import('../../src/records/config.js');
    const files = { 'parts/a.csv': csv(300), 'parts/b.csv': csv(200, 300), 'parts/c.csv': csv(100, 500), 'notes.txt': 'hello\n' };
    const data = await makeTree(files);
    const events: { phase?: string; files: number; bytes: number; totalFiles?: number; totalBytes?: number }[] = [];
    await seal({ dir: data, as: 'ds@v1', key: await readPrivateKey(keys.key), store: await newStorePath(), manifestOnly: true, recordRules: [parseRuleFlag('parts/*.csv key=id label=label')], onProgress: (p) => events.push({ ...p }) });
    const indexing = events.filter((e) => e.phase === 'indexing records');
    const total = ['parts/a.csv', 'parts/b.csv', 'parts/c.csv'].reduce((n, f) => n + Buffer.byteLength(files[f as keyof typeof files]), 0);
    expect(indexing.map((e) => e.files)).toEqual([0, 1, 2, 3]);
    expect(indexing.every((e) => e.totalFiles === 3 && e.totalBytes === total)).toBe(true);
    expect(indexing.at(-1)?.bytes).toBe(total);
    expect(events.indexOf(indexing[0] as (typeof events)[number])).toBeGreaterThan(0); // after the hashing's progress
    expect(events.slice(events.indexOf(indexing[0] as (typeof events)[number])).every((e) => e.phase === 'indexing records')).toBe(true);
  });
});
