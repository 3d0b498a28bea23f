/**
 * `snap prove REF SET --record KEY` and `snap verify-proof` end to end (docs/FORMAT.md §11.5): a
 * record proof made from a store, or from an archive with no store at all, checks out with only the
 * public key (exit 0); under another key, or changed, it fails (exit 1); a record or set that is not
 * there, a malformed proof or an altered index is refused (exit 3, or 1 for an altered index); a
 * usage error exits 2.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeKeyPair, makeTree, snap, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { objectFiles } from '../helpers/store.js';
import { EXAMPLE, TRAIN_CSV } from '../helpers/records-example.js';

const alice = useKeyPair('alice');
const RULE = ['--records', 'train.csv key=id label=label'];

/** The §19.9 example sealed as ds@v1 into a new store (with a second, keyless set by features). */
async function sealed(): Promise<{ work: string; store: string; data: string }> {
  const data = await makeTree({ 'train.csv': TRAIN_CSV, 'mail.jsonl': '{"text":"hi","y":"ham"}\n{"text":"buy","y":"spam"}\n' });
  const work = await tempDir('snap-prove-record-');
  const store = join(work, 'store');
  const s = await snapJson(['seal', data, '--as', 'ds@v1', '--key', alice.key, '--store', store, ...RULE, '--records', 'mail.jsonl label=y']);
  expect(s.code, s.stderr).toBe(0);
  return { work, store, data };
}

/** verify-proof in a folder holding only the proof and the public key; no store. */
async function verifyAway(proof: string, pub = alice.pub, extra: string[] = []) {
  const desk = await tempDir('snap-verifier-');
  await fsp.copyFile(proof, join(desk, 'p.json'));
  await fsp.copyFile(pub, join(desk, 'k.pub'));
  return snapJson(['verify-proof', 'p.json', '--pubkey', 'k.pub', ...extra], { cwd: desk, env: { SNAP_STORE: join(desk, 'none') } });
}

describe('snap prove --record, then snap verify-proof with only the public key', () => {
  it('exits 0 and names the record: its set, key, label, row and fingerprint', async () => {
    const { work, store } = await sealed();
    const proof = join(work, 'p.json');
    const p = await snapJson(['prove', 'ds@v1', 'train.csv', '--record', '10', '-o', proof, '--store', store]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.json).toMatchObject({ ok: true, ref: 'ds@v1', set: 'train.csv', record: { key: ['10'], label: 'ham', row: 3 }, entry: EXAMPLE.index[1], leafIndex: 1, treeSize: 3, auditPath: 2, matches: 1 });
    const v = await verifyAway(proof);
    expect(v.code, v.stderr).toBe(0);
    expect(v.json).toMatchObject({ ok: true, ref: 'ds@v1', set: 'train.csv', record: { key: ['10'], label: 'ham', row: 3, fingerprint: '5b737318ed1a178bc6f3541c2bc150ae33e2c127e5e9eab040cd7c3932be427d' }, index: { merkleRoot: EXAMPLE.merkleRoot }, leafIndex: 1, treeSize: 3 });
    const human = await snap(['verify-proof', proof, '--pubkey', alice.pub]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^OK +record \["10"\] of train\.csv is record 2 of 3 records of ds@v1/);
  });

  it('proves a record of a set without a key by its feature hash', async () => {
    const { work, store } = await sealed();
    // mail.jsonl has identity features: take the spam record's feature hash from its index object.
    const obj = (await objectFiles(store)).map((o) => o.path);
    const lines = (await Promise.all(obj.map((o) => fsp.readFile(o, 'utf8')))).flatMap((t) => t.split('\n')).filter((l) => l.includes('"label":"spam"') && !l.includes('"key"'));
    expect(lines).toHaveLength(1);
    const hash = JSON.parse(lines[0] as string).features as string;
    const proof = join(work, 'mail.json');
    const p = await snapJson(['prove', 'ds@v1', 'mail.jsonl', '--record', hash, '-o', proof, '--store', store]);
    expect(p.code, p.stderr).toBe(0);
    const v = await verifyAway(proof);
    expect(v.code, v.stderr).toBe(0);
    expect(v.json.record).toMatchObject({ label: 'spam', row: 2, features: hash });
    const usage = await snapJson(['prove', 'ds@v1', 'mail.jsonl', '--record', 'buy', '--store', store]);
    expect(usage.code).toBe(2); // a set without a key is proven by feature hash
  });

  it('makes the same proof from the store and from an exported archive, with no store', async () => {
    const { work, store } = await sealed();
    const file = join(work, 'ds@v1.snap.tar');
    expect((await snapJson(['export', 'ds@v1', '-o', file, '--store', store])).code).toBe(0);
    const a = await snap(['prove', 'ds@v1', 'train.csv', '--record', '["2"]', '--store', store]);
    const b = await snap(['prove', file, 'train.csv', '--record', '2', '--store', join(work, 'none')]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(b.stdout).toBe(a.stdout);
  });

  it('fails (exit 1) under another key, and when any byte of the proof changes (exit 1 or 3)', async () => {
    const { work, store } = await sealed();
    const proof = join(work, 'p.json');
    expect((await snap(['prove', 'ds@v1', 'train.csv', '--record', '1', '-o', proof, '--store', store])).code).toBe(0);
    const bob = await makeKeyPair('bob');
    const other = await verifyAway(proof, bob.pub);
    expect(other.code).toBe(1);
    expect(other.json.failure).toMatchObject({ code: 'SIGNATURE_INVALID', check: 'signature' });
    const bytes = await fsp.readFile(proof);
    const text = bytes.toString('utf8');
    // The label in the record line: a well-formed proof that fails its root check (exit 1).
    const flipped = join(work, 'flipped.json');
    await fsp.writeFile(flipped, text.replace('\\"label\\":\\"spam\\"', '\\"label\\":\\"ham\\"'));
    const f = await verifyAway(flipped);
    expect(f.code).toBe(1);
    expect(f.json.failure).toMatchObject({ code: 'PROOF_INVALID', check: 'root' });
    // A byte that breaks the document: exit 3.
    const broken = join(work, 'broken.json');
    await fsp.writeFile(broken, text.replace('"records":{', '"records" :{'));
    const b = await verifyAway(broken);
    expect(b.code).toBe(3);
    expect(b.json.error).toMatchObject({ code: 'PROOF_MALFORMED', details: { reason: 'not-canonical' } });
  });

  it('refuses --file with a record proof (exit 2)', async () => {
    const { work, store, data } = await sealed();
    const proof = join(work, 'p.json');
    expect((await snap(['prove', 'ds@v1', 'train.csv', '--record', '1', '-o', proof, '--store', store])).code).toBe(0);
    const r = await snapJson(['verify-proof', proof, '--pubkey', alice.pub, '--file', join(data, 'train.csv')]);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('USAGE');
  });

  it('refuses a record or a set that is not there (exit 3, PROOF_RECORD_NOT_FOUND) and writes no proof', async () => {
    const { work, store } = await sealed();
    const out = join(work, 'p.json');
    const r = await snapJson(['prove', 'ds@v1', 'train.csv', '--record', '99', '-o', out, '--store', store]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('PROOF_RECORD_NOT_FOUND');
    const s = await snapJson(['prove', 'ds@v1', 'nope.csv', '--record', '1', '-o', out, '--store', store]);
    expect(s.code).toBe(3);
    expect(s.json.error.code).toBe('PROOF_RECORD_NOT_FOUND');
    await expect(fsp.access(out)).rejects.toThrow();
  });

  it('says how to get what is missing: a snapshot with no record set is sealed with --records or a snap.json rule, and a key not found is shown the form of the set\'s keys (a files set keys by the path inside its label folder)', async () => {
    const data = await makeTree({ 'train.csv': TRAIN_CSV, 'cat/c1.png': 'meow', 'dog/d1.png': 'woof' });
    const work = await tempDir('snap-prove-record-');
    const store = join(work, 'store');
    expect((await snapJson(['seal', data, '--as', 'plain@v1', '--key', alice.key, '--store', store])).code).toBe(0);
    const none = await snapJson(['prove', 'plain@v1', 'train.csv', '--record', '10', '--store', store]);
    expect(none.code).toBe(3);
    expect(none.json.error.code).toBe('PROOF_RECORD_NOT_FOUND');
    expect(none.json.error.message).toMatch(/sealed without record indexes: .*--records 'train\.csv key=COLUMN label=COLUMN'.*snap\.json/);
    expect((await snapJson(['seal', data, '--as', 'pets@v1', '--key', alice.key, '--store', store, '--records', '*/*.png format=files label-segment=0'])).code).toBe(0);
    const wrong = await snapJson(['prove', 'pets@v1', '*/*.png', '--record', 'cat/c9.png', '--store', store]);
    expect(wrong.code).toBe(3);
    expect(wrong.json.error.code).toBe('PROOF_RECORD_NOT_FOUND');
    expect(wrong.json.error.message).toContain('its first record\'s key is ["c1.png"]');
    const right = await snap(['prove', 'pets@v1', '*/*.png', '--record', 'c1.png', '--store', store]);
    expect(right.code, right.stderr).toBe(0);
  });

  it('refuses a KEY that names two records, the string key "1" and the number 1 of a JSONL set (exit 2), and proves each given as a JSON array: it proved the string one, noting "2 records have this key"', async () => {
    const data = await makeTree({ 't.jsonl': '{"id":1,"y":"ham"}\n{"id":"1","y":"spam"}\n' });
    const work = await tempDir('snap-prove-record-');
    const store = join(work, 'store');
    expect((await snapJson(['seal', data, '--as', 'ds@v1', '--key', alice.key, '--store', store, '--records', 't.jsonl key=id label=y'])).code).toBe(0);
    const out = join(work, 'p.json');
    const r = await snapJson(['prove', 'ds@v1', 't.jsonl', '--record', '1', '-o', out, '--store', store]);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('USAGE');
    expect(r.json.error.message).toContain('["1"] and [1]');
    await expect(fsp.access(out)).rejects.toThrow();
    const n = await snapJson(['prove', 'ds@v1', 't.jsonl', '--record', '[1]', '--store', store, '-o', join(work, 'n.json')]);
    expect(n.json).toMatchObject({ ok: true, record: { key: [1], label: 'ham' }, matches: 1 });
    const t = await snapJson(['prove', 'ds@v1', 't.jsonl', '--record', '["1"]', '--store', store, '-o', join(work, 't.json')]);
    expect(t.json).toMatchObject({ ok: true, record: { key: ['1'], label: 'spam' }, matches: 1 });
  });

  it('shows a label or key that would pass for another (Cyrillic а in "hаm", a trailing space) as an escaped JSON string, in prove and verify-proof alike', async () => {
    // "hаm" (Cyrillic а) and "ham " were printed bare: "label hаm" reads as label ham, though the
    // signed label is another one (seal lists them apart: ham 1, "h\u0430m" 1, "ham " 1).
    const data = await makeTree({ 'l.csv': 'id,label\nk1,ham\nk2,h\u0430m\nk3,ham \nk\u04301,ham\n' });
    const work = await tempDir('snap-prove-record-');
    const store = join(work, 'store');
    expect((await snapJson(['seal', data, '--as', 'ds@v1', '--key', alice.key, '--store', store, '--records', 'l.csv key=id label=label'])).code).toBe(0);
    const shownAs: Record<string, [string, string]> = {};
    for (const key of ['k2', 'k3', 'k\u04301']) {
      const out = join(work, `${key}.json`);
      const p = await snap(['prove', 'ds@v1', 'l.csv', '--record', key, '-o', out, '--store', store]);
      expect(p.code, p.stderr).toBe(0);
      const v = await snap(['verify-proof', out, '--pubkey', alice.pub]);
      expect(v.code, v.stderr).toBe(0);
      shownAs[key] = [p.stdout, v.stdout];
    }
    const [p2, v2] = shownAs.k2 as [string, string];
    expect(p2).toContain(', label "h\\u0430m", fingerprint');
    expect(v2).toContain('\n      row 2, label "h\\u0430m"\n');
    const [p3, v3] = shownAs.k3 as [string, string];
    expect(p3).toContain(', label "ham ", fingerprint');
    expect(v3).toContain('\n      row 3, label "ham "\n');
    const [p4, v4] = shownAs['k\u04301'] as [string, string];
    expect(p4).toContain('proved record ["k\\u04301"] of l.csv');
    expect(v4).toMatch(/^OK +record \["k\\u04301"\] of l\.csv is record/);
    expect(v4).toContain('\n      row 4, label ham\n');
  });

  it('names a record set whose path passes for another (Cyrillic а in "trаin.csv") quoted with its letters escaped, as a file proof names its path', async () => {
    // Printed bare, "record ["1"] of trаin.csv" read as a record of train.csv.
    const name = 'tr\u0430in.csv';
    const data = await makeTree({ [name]: 'id,label\n1,ham\n' });
    const work = await tempDir('snap-prove-record-');
    const store = join(work, 'store');
    expect((await snapJson(['seal', data, '--as', 'ds@v1', '--key', alice.key, '--store', store, '--records', `${name} key=id label=label`])).code).toBe(0);
    const out = join(work, 'p.json');
    const p = await snap(['prove', 'ds@v1', name, '--record', '1', '-o', out, '--store', store]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toContain('proved record ["1"] of "tr\\u0430in.csv" in ds@v1');
    const v = await snap(['verify-proof', out, '--pubkey', alice.pub]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/^OK +record \["1"\] of "tr\\u0430in\.csv" is record 1 of 1 record/);
    expect((await verifyAway(out)).json.set).toBe(name); // --json keeps the real name
  });

  it('refuses to prove from an altered index object (exit 1, OBJECT_CORRUPT)', async () => {
    const { store } = await sealed();
    const obj = (await objectFiles(store)).find((o) => o.name === EXAMPLE.indexSha256)!;
    await fsp.chmod(obj.path, 0o644);
    await fsp.writeFile(obj.path, (await fsp.readFile(obj.path, 'utf8')).replace('"label":"spam"', '"label":"ham!"'));
    const r = await snapJson(['prove', 'ds@v1', 'train.csv', '--record', '10', '--store', store]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('OBJECT_CORRUPT');
  });

  it('refuses an index object replaced by one 2 MiB line without reading it whole (exit 1, OBJECT_CORRUPT)', async () => {
    const { store } = await sealed();
    const obj = (await objectFiles(store)).find((o) => o.name === EXAMPLE.indexSha256)!;
    await fsp.chmod(obj.path, 0o644);
    await fsp.writeFile(obj.path, 'a'.repeat(2 << 20));
    const r = await snapJson(['prove', 'ds@v1', 'train.csv', '--record', '10', '--store', store]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('OBJECT_CORRUPT');
    expect(r.json.error.message).toMatch(/line 1 is longer than 1 MiB/);
  });
});
