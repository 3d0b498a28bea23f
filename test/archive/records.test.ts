/**
 * Archives carry the record indexes their statement names (docs/FORMAT.md §10.1): `export` and
 * `seal --out` write them after the manifest, `import` brings them into the store (checked against
 * the signed digest), `diff` between archives compares records with no store at all; an archive
 * whose index is missing or altered is refused, and nothing is written.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import * as tar from 'tar-stream';
import { makeTree, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { objectFiles } from '../helpers/store.js';
import { TRAIN_CSV, EXAMPLE } from '../helpers/records-example.js';
import { writeTar, type Member } from './helpers.js';

const keys = useKeyPair('archive-records');
const RULE = ['--records', 'train.csv key=id label=label'];
const INDEX_MEMBER = `snap/records/${EXAMPLE.indexSha256}`;
const SUMMARY_MEMBER = `snap/records/${EXAMPLE.summarySha256}`;
/** The set's column object (FORMAT §19.9, §19.11): carried after the summary. */
const COLUMNS_MEMBER = `snap/records/${EXAMPLE.columnsSha256}`;

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The member names of a tar file, in order (GNU tar). */
function members(file: string): string[] {
  const r = spawnSync('tar', ['-tf', file], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim().split('\n');
}

/** Every member of a tar file with its body (small test archives only). */
async function readMembers(file: string): Promise<Member[]> {
  const extract = tar.extract();
  const out: Member[] = [];
  const done = (async () => {
    for await (const e of extract as AsyncIterable<{ header: tar.Header } & AsyncIterable<Buffer>>) {
      const parts: Buffer[] = [];
      for await (const c of e) parts.push(c);
      out.push({ name: e.header.name, type: e.header.type as Member['type'], body: Buffer.concat(parts), ...(e.header.linkname ? { linkname: e.header.linkname } : {}) });
    }
  })();
  extract.end(await fsp.readFile(file));
  await done;
  return out;
}

/** Seal `train.csv` (the §19.9 example) as ds@v1 into a new store and export it. */
async function sealedExample(): Promise<{ data: string; work: string; store: string; file: string }> {
  const data = await makeTree({ 'train.csv': TRAIN_CSV, 'readme.txt': 'hello\n' });
  const work = await tempDir('snap-arc-rec-');
  const store = join(work, 'store');
  const s = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store, ...RULE]);
  expect(s.code, s.stderr).toBe(0);
  const file = join(work, 'ds@v1.snap.tar');
  const e = await snapJson(['export', 'ds@v1', '-o', file, '--store', store]);
  expect(e.code, e.stderr).toBe(0);
  return { data, work, store, file };
}

describe('archives carry record indexes', () => {
  it('export writes the signed index, its summary and the column object right after the manifest, and import puts them in the store', async () => {
    const { work, file } = await sealedExample();
    expect(members(file)).toEqual(['snap/statement.json', 'snap/envelope.json', 'snap/manifest.jsonl', INDEX_MEMBER, SUMMARY_MEMBER, COLUMNS_MEMBER, 'data/readme.txt', 'data/train.csv']);
    expect(String((await readMembers(file)).find((m) => m.name === COLUMNS_MEMBER)?.body)).toBe(EXAMPLE.columnsObject);
    const body = (await readMembers(file)).find((m) => m.name === INDEX_MEMBER)?.body;
    expect(String(body)).toBe(EXAMPLE.index.join('\n') + '\n');
    expect(String((await readMembers(file)).find((m) => m.name === SUMMARY_MEMBER)?.body)).toBe(`${EXAMPLE.summaryLine}\n`);
    const fresh = join(work, 'fresh');
    const i = await snapJson(['import', file, '--pubkey', keys.pub, '--store', fresh]);
    expect(i.code, i.stderr).toBe(0);
    expect((await objectFiles(fresh)).map((o) => o.name)).toEqual(expect.arrayContaining([EXAMPLE.indexSha256, EXAMPLE.summarySha256, EXAMPLE.columnsSha256]));
    const f = await snapJson(['fsck', '--store', fresh]);
    expect(f.code, f.stderr).toBe(0);
  });

  it('export → import → diff names the records that changed, from the store and straight between the two archives', async () => {
    const { data, work, store, file } = await sealedExample();
    await fsp.writeFile(join(data, 'train.csv'), TRAIN_CSV.replace('1,win money now,spam', '1,win money now,ham') + '11,new row,spam\n');
    const s2 = await snapJson(['seal', data, '--as', 'ds@v2', '--key', keys.key, '--store', store, '--parent', 'ds@v1', ...RULE]);
    expect(s2.code, s2.stderr).toBe(0);
    const file2 = join(work, 'ds@v2.snap.tar');
    expect((await snapJson(['export', 'ds@v2', '-o', file2, '--store', store])).code).toBe(0);
    const fresh = join(work, 'fresh');
    for (const f of [file, file2]) expect((await snapJson(['import', f, '--pubkey', keys.pub, '--store', fresh])).code).toBe(0);
    const check = (j: Json) => {
      const set = j.records.sets.find((x: Json) => x.name === 'train.csv');
      expect(set.flipped).toEqual([{ key: ['1'], from: 'spam', to: 'ham', a: { row: 1 }, b: { row: 1 } }]);
      expect(set.added.map((r: Json) => r.key)).toEqual([['11']]);
      expect(set.removed).toEqual([]);
      expect(set.modified).toEqual([]);
      expect(j.records.unavailable).toEqual([]);
    };
    const inStore = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', fresh]);
    expect(inStore.code, inStore.stderr).toBe(1);
    check(inStore.json);
    // Straight between the two archives: no store at all, the indexes come from the archives.
    const between = await snapJson(['diff', file, file2], { cwd: work, env: { SNAP_STORE: join(work, 'none') } });
    expect(between.code, between.stderr).toBe(1);
    check(between.json);
  });

  it('seal --out indexes records too: the archive verifies, imports, and diffs against the folder by record', async () => {
    const data = await makeTree({ 'train.csv': TRAIN_CSV });
    const work = await tempDir('snap-arc-rec-');
    const file = join(work, 'ds@v1.snap.tar');
    const s = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--out', file, ...RULE]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.json.records[0]).toMatchObject({ path: 'train.csv', count: 3, index: { sha256: EXAMPLE.indexSha256, merkleRoot: EXAMPLE.merkleRoot } });
    expect(members(file)).toContain(INDEX_MEMBER);
    expect((await snapJson(['verify', file, '--pubkey', keys.pub])).code).toBe(0);
    const fresh = join(work, 'fresh');
    expect((await snapJson(['import', file, '--pubkey', keys.pub, '--store', fresh])).code).toBe(0);
    expect((await objectFiles(fresh)).map((o) => o.name)).toContain(EXAMPLE.indexSha256);
    await fsp.writeFile(join(data, 'train.csv'), TRAIN_CSV.replace('10,meeting notes,ham', '10,meeting notes,spam'));
    const d = await snapJson(['diff', file, data], { env: { SNAP_STORE: join(work, 'none') } });
    expect(d.code, d.stderr).toBe(1);
    expect(d.json.records.sets[0].flipped).toEqual([{ key: ['10'], from: 'ham', to: 'spam', a: { row: 3 }, b: { row: 3 } }]);
    const v = await snapJson(['verify', data, '--against', file, '--pubkey', keys.pub]);
    expect(v.code).toBe(1);
    expect(v.json.problems[0].records.flipped).toEqual([{ key: ['10'], from: 'ham', to: 'spam', a: { row: 3 }, b: { row: 3 } }]);
  });

  it('import replaces a record index object the store already has with other bytes (same size, or another), naming it in mendedObjects', async () => {
    const { work, file, data } = await sealedExample();
    const store2 = join(work, 'store2');
    // Another snapshot of the same file and rule: the store holds the same index object.
    expect((await snapJson(['seal', data, '--as', 'other@v1', '--key', keys.key, '--store', store2, ...RULE])).code).toBe(0);
    const obj = (await objectFiles(store2)).find((o) => o.name === EXAMPLE.indexSha256)!;
    const sum = (await objectFiles(store2)).find((o) => o.name === EXAMPLE.summarySha256)!;
    const good = await fsp.readFile(obj.path);
    const bad = Buffer.from(good);
    bad.writeUInt8(bad.readUInt8(3) ^ 0x01, 3); // same size, one bit off
    await fsp.chmod(obj.path, 0o644);
    await fsp.writeFile(obj.path, bad);
    await fsp.chmod(sum.path, 0o644);
    await fsp.writeFile(sum.path, 'short');
    const i = await snapJson(['import', file, '--pubkey', keys.pub, '--store', store2]);
    expect(i.code, i.stderr).toBe(0);
    expect([...i.json.mendedObjects].sort()).toEqual([EXAMPLE.indexSha256, EXAMPLE.summarySha256].sort());
    expect((await fsp.readFile(obj.path)).equals(good)).toBe(true);
    const f = await snapJson(['fsck', '--store', store2]);
    expect(f.code, f.stdout).toBe(0);
  });

  it('import writes no record index through a fan-out folder that is a symbolic link (STORE_MALFORMED, exit 3), and adds no snapshot', async () => {
    const { work, file } = await sealedExample();
    const fresh = join(work, 'fresh');
    expect((await snapJson(['init', '--store', fresh])).code).toBe(0);
    const outside = join(work, 'outside');
    await fsp.mkdir(outside);
    await fsp.mkdir(join(fresh, 'objects', 'sha256'), { recursive: true });
    await fsp.symlink(outside, join(fresh, 'objects', 'sha256', EXAMPLE.indexSha256.slice(0, 2)));
    const i = await snapJson(['import', file, '--pubkey', keys.pub, '--store', fresh]);
    expect(i.code, i.stdout).toBe(3);
    expect(i.json.error.code).toBe('STORE_MALFORMED');
    expect(await fsp.readdir(outside)).toEqual([]);
    expect(await fsp.readdir(join(fresh, 'snapshots'))).toEqual([]);
  });

  it('fsck --repair-from an archive puts back a lost record index', async () => {
    const { store, file } = await sealedExample();
    const obj = (await objectFiles(store)).find((o) => o.name === EXAMPLE.indexSha256)!;
    await fsp.rm(obj.path);
    expect((await snapJson(['fsck', '--store', store])).code).toBe(1);
    const r = await snapJson(['fsck', '--store', store, '--repair-from', file]);
    expect(r.code, r.stderr).toBe(0);
    expect((await snapJson(['fsck', '--store', store])).code).toBe(0);
  });
});

describe('an archive whose record index is missing or altered is refused', () => {
  /** Rewrite the archive member by member, changing the members with `f`. */
  async function rewrite(file: string, f: (ms: Member[]) => Member[]): Promise<string> {
    const out = file.replace(/ds@v1\.snap\.tar$/, 'bad/ds@v1.snap.tar');
    await fsp.mkdir(join(out, '..'), { recursive: true });
    await writeTar(out, f(await readMembers(file)));
    return out;
  }

  it('an altered index: import, verify and diff exit 1 (INTEGRITY_FAILURE), and import writes nothing', async () => {
    const { work, file } = await sealedExample();
    const bad = await rewrite(file, (ms) => ms.map((m) => (m.name === INDEX_MEMBER ? { ...m, body: String(m.body).replace('"label":"spam"', '"label":"sham"') } : m)));
    const fresh = join(work, 'fresh');
    const i = await snapJson(['import', bad, '--pubkey', keys.pub, '--store', fresh]);
    expect(i.code).toBe(1);
    expect(i.json.error.code).toBe('INTEGRITY_FAILURE');
    await expect(fsp.access(fresh)).rejects.toThrow(); // no store made
    const v = await snapJson(['verify', bad, '--pubkey', keys.pub]);
    expect(v.code).toBe(1);
    expect(v.json.failure.code).toBe('INTEGRITY_FAILURE');
    const d = await snapJson(['diff', bad, file]);
    expect(d.code).toBe(1);
    expect(d.json.error.code).toBe('INTEGRITY_FAILURE');
  });

  it('a missing index: import and verify exit 1 (ARCHIVE_HOSTILE, reason records-missing)', async () => {
    const { work, file } = await sealedExample();
    const bad = await rewrite(file, (ms) => ms.filter((m) => m.name !== INDEX_MEMBER));
    const i = await snapJson(['import', bad, '--pubkey', keys.pub, '--store', join(work, 'fresh')]);
    expect(i.code).toBe(1);
    expect(i.json.error).toMatchObject({ code: 'ARCHIVE_HOSTILE', details: { reason: 'records-missing' } });
    const v = await snapJson(['verify', bad, '--pubkey', keys.pub]);
    expect(v.code).toBe(1);
    expect(v.json.error).toMatchObject({ code: 'ARCHIVE_HOSTILE', details: { reason: 'records-missing' } });
  });

  it('an index longer than its signed record count allows is refused unread (records-too-large)', async () => {
    const { work, file } = await sealedExample();
    const bad = await rewrite(file, (ms) => ms.map((m) => (m.name === INDEX_MEMBER ? { ...m, body: Buffer.alloc(3 * 16384 + 1, 0x61) } : m)));
    const i = await snapJson(['import', bad, '--pubkey', keys.pub, '--store', join(work, 'fresh')]);
    expect(i.code).toBe(1);
    expect(i.json.error).toMatchObject({ code: 'ARCHIVE_HOSTILE', details: { reason: 'records-too-large' } });
  });
});
