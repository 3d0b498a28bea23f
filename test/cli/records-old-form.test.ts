/**
 * A record index made by an older canonical form (docs/FORMAT.md §19.3, §19.6 `form`) is never
 * compared fingerprint by fingerprint with one made by today's: the snapshot's file is indexed again
 * from the store in today's form, or, when its bytes are not there, the set is `unavailable`.
 *
 * test/fixtures/old-form holds stores sealed by snap at commit 7059665 (Parquet form 1: a TIMESTAMP
 * indexed as its stored integer) — see its README.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { makeTree, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { newStorePath, snapshotFolder, tamper } from '../helpers/store.js';
import { signEnvelope, serializeEnvelope } from '../../src/core/envelope.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { readPrivateKey } from '../../src/io/keyfile.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'old-form');
const PUB = join(FIXTURE, 'old-form.pub');
/** The sealed t.parquet and snap.json, as store objects. */
const T_OBJECT = ['36', '8500c0c8e16b4a3e4d958daf29ee3d532d25c63cff43e592bca6b603e2308d'];
const CONFIG_OBJECT = ['cd', '08c646c107bb79c7423be99a160cf257758a2cec0aa27d79e170177613d724'];

const keys = useKeyPair();

/** A private copy of one of the fixture stores (verify and check write to its audit log). */
async function storeCopy(which: 'store' | 'store-manifest-only'): Promise<string> {
  const store = join(await tempDir('snap-old-form-'), 'store');
  await fsp.cp(join(FIXTURE, which), store, { recursive: true });
  return store;
}

/**
 * t.parquet written again with the sealed file's values but other bytes (a key-value pair in its
 * footer), and, with `second`, record 2's timestamp one second later.
 */
function rewritten(second?: boolean): Buffer {
  const t = [new Date('2020-01-01T00:00:00.123Z'), new Date(second ? '2021-06-30T12:00:01Z' : '2021-06-30T12:00:00Z'), null];
  const buf = parquetWriteBuffer({
    columnData: [
      { name: 'id', data: Int32Array.from([1, 2, 3]), type: 'INT32' },
      { name: 't', data: t, type: 'TIMESTAMP' },
      { name: 'label', data: ['cat', 'dog', 'cat'], type: 'STRING' },
    ],
    kvMetadata: [{ key: 'rewritten', value: 'yes' }],
  });
  return Buffer.from(buf);
}

/** A dataset folder: the sealed snap.json and `parquet` as t.parquet. */
async function folder(parquet: Buffer): Promise<string> {
  const config = await fsp.readFile(join(FIXTURE, 'store', 'objects', 'sha256', ...CONFIG_OBJECT));
  return makeTree({ 'snap.json': config, 't.parquet': parquet });
}

const modifiedKeys = (set: Json) => set.modified.map((r: Json) => r.key);

describe('a Parquet snapshot sealed by an older canonical form, its file bytes in the store', () => {
  it('is the fixture it says it is: the signed index holds the timestamp as its stored integer, and no form', async () => {
    const statement = JSON.parse(await fsp.readFile(join(FIXTURE, 'store', 'snapshots', 'ds', 'v1', 'statement.json'), 'utf8'));
    expect(statement.predicate.records[0]).not.toHaveProperty('form');
    const sealed = await fsp.readFile(join(FIXTURE, 'store', 'objects', 'sha256', ...T_OBJECT));
    expect(sealed.equals(rewritten())).toBe(false);
  });

  it('diff names no record modified in the same values written again, and exactly the one record changed', async () => {
    const store = await storeCopy('store');
    const same = await snapJson(['diff', 'ds@v1', await folder(rewritten()), '--store', store]);
    expect(same.json.records.unavailable).toEqual([]);
    expect(same.json.records.sets[0].summary).toMatchObject({ unchanged: 3, modified: 0, added: 0, removed: 0, flipped: 0 });
    const one = await snapJson(['diff', 'ds@v1', await folder(rewritten(true)), '--store', store]);
    expect(one.json.records.sets[0].summary).toMatchObject({ unchanged: 2, modified: 1, added: 0, removed: 0 });
    expect(modifiedKeys(one.json.records.sets[0])).toEqual([[2]]);
  });

  it('verify of the changed file names no record modified, or exactly the one record changed', async () => {
    const store = await storeCopy('store');
    const v = await snapJson(['verify', await folder(rewritten()), '--against', 'ds@v1', '--store', store, '--pubkey', PUB]);
    expect(v.code, v.stderr).toBe(1); // the file's bytes changed
    const problem = v.json.problems.find((p: Json) => p.path === 't.parquet');
    expect(problem.records.summary).toMatchObject({ unchanged: 3, modified: 0 });
    const w = await snapJson(['verify', await folder(rewritten(true)), '--against', 'ds@v1', '--store', store, '--pubkey', PUB]);
    const changed = w.json.problems.find((p: Json) => p.path === 't.parquet');
    expect(modifiedKeys(changed.records)).toEqual([[2]]);
  });

  it('check passes the same values written again and fails the changed record alone', async () => {
    const store = await storeCopy('store');
    const ok = await snapJson(['check', await folder(rewritten()), '--against', 'ds@v1', '--store', store, '--pubkey', PUB]);
    expect(ok.code, ok.stdout).toBe(0);
    const bad = await snapJson(['check', await folder(rewritten(true)), '--against', 'ds@v1', '--store', store, '--pubkey', PUB]);
    expect(bad.code).toBe(1);
    expect(bad.json.records.summary).toMatchObject({ modified: 1, unchanged: 2 });
  });

  it('diff against a snapshot sealed today of the same values names no record modified; of the changed one, that record', async () => {
    const store = await storeCopy('store');
    for (const [version, parquet, expected] of [['v2', rewritten(), []], ['v3', rewritten(true), [[2]]]] as const) {
      const s = await snapJson(['seal', await folder(parquet), '--as', `ds@${version}`, '--key', keys.key, '--store', store]);
      expect(s.code, s.stderr).toBe(0);
      const d = await snapJson(['diff', 'ds@v1', `ds@${version}`, '--store', store]);
      expect(d.json.records.unavailable).toEqual([]);
      expect(modifiedKeys(d.json.records.sets[0])).toEqual(expected);
      expect(d.json.records.sets[0].summary.unchanged).toBe(3 - expected.length);
    }
  });
});

describe('a Parquet snapshot sealed by an older canonical form whose file object in the store is damaged', () => {
  /** A copy of the store whose t.parquet object has four bytes overwritten. */
  async function damaged(): Promise<string> {
    const store = await storeCopy('store');
    const object = join(store, 'objects', 'sha256', ...T_OBJECT);
    await fsp.chmod(object, 0o644);
    const bytes = await fsp.readFile(object);
    bytes.write('PAR1', 10);
    await fsp.writeFile(object, bytes);
    return store;
  }

  it('diff and check stop with OBJECT_CORRUPT (exit 1), naming the object, not "t.parquet changed … seal again"', async () => {
    const store = await damaged();
    const dir = await folder(rewritten(true));
    for (const args of [['diff', 'ds@v1', dir, '--store', store], ['check', dir, '--against', 'ds@v1', '--store', store, '--pubkey', PUB]]) {
      const r = await snapJson(args);
      expect([r.code, r.json.error?.code]).toEqual([1, 'OBJECT_CORRUPT']);
      expect(r.json.error.message).toContain('368500c0c8e1');
    }
  });

  it('verify says the records are not compared because the object is corrupt', async () => {
    const store = await damaged();
    const v = await snapJson(['verify', await folder(rewritten(true)), '--against', 'ds@v1', '--store', store, '--pubkey', PUB]);
    expect(v.code).toBe(1);
    expect(v.json.problems.find((p: Json) => p.path === 't.parquet').records.error.code).toBe('OBJECT_CORRUPT');
  });
});

describe('a Parquet snapshot sealed by an older canonical form with --manifest-only', () => {
  const reason = 'indexed by an older canonical form (FORMAT §19.3), and its bytes are not at hand to index again (not in the store; the data of an archive is not read for this)';

  it('diff reports the set unavailable, naming the form, and no record modified', async () => {
    const store = await storeCopy('store-manifest-only');
    const d = await snapJson(['diff', 'ds@v1', await folder(rewritten()), '--store', store]);
    expect(d.json.records.sets).toEqual([]);
    expect(d.json.records.unavailable).toEqual([{ name: 't.parquet', side: 'a', reason }]);
  });

  it('verify of the changed file says its records are not compared, and why', async () => {
    const store = await storeCopy('store-manifest-only');
    const v = await snapJson(['verify', await folder(rewritten()), '--against', 'ds@v1', '--store', store, '--pubkey', PUB]);
    expect(v.code).toBe(1);
    const problem = v.json.problems.find((p: Json) => p.path === 't.parquet');
    expect(problem.records).toEqual({ error: { code: 'OBJECT_MISSING', message: 'its signed record index was made by an older canonical form (FORMAT §19.3), and its signed bytes are not in the store to be indexed again' } });
  });

  it('the very bytes sealed are still compared through the signed index (same bytes, same records): check passes', async () => {
    const store = await storeCopy('store-manifest-only');
    const sealed = await fsp.readFile(join(FIXTURE, 'store', 'objects', 'sha256', ...T_OBJECT));
    const c = await snapJson(['check', await folder(sealed), '--against', 'ds@v1', '--store', store, '--pubkey', PUB]);
    expect(c.code, c.stdout).toBe(0);
    expect(c.json.records.unavailable).toEqual([]);
    expect(c.json.records.summary).toMatchObject({ unchanged: 3, modified: 0 });
  });

  it('check fails (exit 1): a set it cannot compare is a breach', async () => {
    const store = await storeCopy('store-manifest-only');
    const c = await snapJson(['check', await folder(rewritten()), '--against', 'ds@v1', '--store', store, '--pubkey', PUB]);
    expect(c.code).toBe(1);
    expect(c.json.records.unavailable).toEqual([{ name: 't.parquet', side: 'a', reason }]);
  });
});

describe('the form a set was indexed by is signed', () => {
  it('seal signs form 2 on a Parquet set and no form on a CSV set', async () => {
    const store = await newStorePath();
    const data = await makeTree({ 't.parquet': rewritten(), 'x.csv': 'id,y\n1,a\n' });
    const s = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--records', 't.parquet key=id label=label', '--records', 'x.csv key=id']);
    expect(s.code, s.stderr).toBe(0);
    const statement = JSON.parse(await fsp.readFile(join(snapshotFolder(store, 'ds', 'v1'), 'statement.json'), 'utf8'));
    expect(statement.predicate.records.map((m: Json) => [m.path, m.form])).toEqual([
      ['t.parquet', 2],
      ['x.csv', undefined],
    ]);
  });

  it('a statement whose set names a form newer than this snap knows is refused (STATEMENT_INVALID, exit 1)', async () => {
    const store = await newStorePath();
    const data = await makeTree({ 't.parquet': rewritten() });
    expect((await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--records', 't.parquet key=id'])).code).toBe(0);
    const dir = snapshotFolder(store, 'ds', 'v1');
    const statement = JSON.parse(await fsp.readFile(join(dir, 'statement.json'), 'utf8'));
    statement.predicate.records[0].form = 3;
    const bytes = new TextEncoder().encode(canonicalJson(statement));
    const key = await readPrivateKey(keys.key);
    await tamper(join(dir, 'statement.json'), () => Buffer.from(bytes).toString('utf8'));
    await tamper(join(dir, 'envelope.json'), () => Buffer.from(serializeEnvelope(signEnvelope(bytes, [key]))).toString('utf8'));
    const v = await snapJson(['verify', data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store]);
    expect([v.code, v.json.failure?.code ?? v.json.error?.code]).toEqual([1, 'STATEMENT_INVALID']);
    expect(JSON.stringify(v.json)).toContain('form 3');
  });
});
