/**
 * `snap list [NAME]` and `snap show REF` (SPEC §8) on a store holding snapshots of two datasets.
 */
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTree, snap, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { newStorePath, sha256 } from '../helpers/store.js';

const keys = useKeyPair();
let store: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  store = await newStorePath();
  const mail = await makeTree({ 'ham/1.txt': 'ham\n', 'spam/1.txt': 'spam\n' });
  const imgs = await makeTree({ 'cat.jpg': 'meow', 'dog.jpg': 'woof', 'x/y.jpg': 'xy' });
  for (const [data, as] of [
    [mail, 'mail@v1'],
    [mail, 'mail@v2'],
    [imgs, 'images@2026.11'],
  ] as const) {
    const r = await snapJson(['seal', data, '--as', as, '--key', keys.key, '--store', store]);
    if (r.code !== 0) throw new Error(`seal ${as} failed: ${r.stderr}`);
    ids[as] = r.json.snapshot;
  }
});

describe('snap list', () => {
  it('lists every snapshot with --json: ref, id, counts, parent', async () => {
    const r = await snapJson(['list', '--store', store]);
    expect(r.code).toBe(0);
    expect(r.json.store).toBe(store);
    const byRef = Object.fromEntries(r.json.snapshots.map((s: { ref: string }) => [s.ref, s]));
    expect(Object.keys(byRef).sort()).toEqual(['images@2026.11', 'mail@v1', 'mail@v2']);
    expect(byRef['mail@v1']).toMatchObject({ name: 'mail', version: 'v1', id: ids['mail@v1'], fileCount: 2, totalBytes: 9 });
    expect(byRef['mail@v1'].parent).toBeUndefined();
    expect(byRef['mail@v2']).toMatchObject({ id: ids['mail@v2'], parent: ids['mail@v1'] });
    expect(byRef['images@2026.11']).toMatchObject({ fileCount: 3, totalBytes: 10 });
  });

  it('lists only the snapshots of one NAME', async () => {
    const r = await snapJson(['list', 'mail', '--store', store]);
    expect(r.code).toBe(0);
    expect(r.json.snapshots.map((s: { ref: string }) => s.ref).sort()).toEqual(['mail@v1', 'mail@v2']);
  });

  it('exits 3 (REF_NOT_FOUND) for a NAME with no snapshots: a mistyped NAME is not an empty list', async () => {
    const r = await snapJson(['list', 'nothing-here', '--store', store]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('REF_NOT_FOUND');
  });

  it('exits 2 (USAGE) for a NAME that is not a dataset NAME', async () => {
    const r = await snapJson(['list', 'Not-A-Name', '--store', store]);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('USAGE');
  });

  it('lists nothing, exit 0, for a store with no snapshots at all', async () => {
    const empty = await newStorePath();
    expect((await snap(['init', '--store', empty])).code).toBe(0);
    const r = await snapJson(['list', '--store', empty]);
    expect(r.code).toBe(0);
    expect(r.json.snapshots).toEqual([]);
  });

  it('prints a table naming each ref without --json', async () => {
    const r = await snap(['list', '--store', store]);
    expect(r.code).toBe(0);
    for (const ref of ['mail@v1', 'mail@v2', 'images@2026.11']) expect(r.stdout).toContain(ref);
  });

  it('marks a snapshot whose statement is no statement (malformed JSON, or a predicate without its counts), and exits 1, instead of listing it ok with zeros', async () => {
    const own = await newStorePath();
    const data = await makeTree({ 'a.txt': 'a\n' });
    for (const as of ['d@v1', 'd@v2', 'd@v3']) expect((await snapJson(['seal', data, '--as', as, '--key', keys.key, '--store', own])).code).toBe(0);
    await writeFile(join(own, 'snapshots', 'd', 'v2', 'statement.json'), '{"predicate": {"createdAt": ');
    await writeFile(join(own, 'snapshots', 'd', 'v3', 'statement.json'), JSON.stringify({ predicate: { dataset: 'd', version: 'v3', createdAt: '2026-01-01T00:00:00Z' } }));
    const r = await snapJson(['list', '--store', own]);
    expect(r.code).toBe(1);
    expect(r.json.ok).toBe(false);
    const byRef = Object.fromEntries(r.json.snapshots.map((s: { ref: string }) => [s.ref, s]));
    expect(byRef['d@v1'].malformed).toBeUndefined();
    expect(byRef['d@v2'].malformed).toMatch(/statement/);
    expect(byRef['d@v3'].malformed).toBe("the statement's predicate has no valid fileCount, totalBytes, merkleRoot");
    const human = await snap(['list', '--store', own]);
    expect(human.code).toBe(1);
    expect(human.stderr).toContain('d@v2 has a malformed statement');
    expect(human.stderr).toContain('d@v3 has a malformed statement');
  });

  it('names a snapshot folder whose statement.json is gone (unreadable) and exits 1, instead of leaving it out without a word', async () => {
    const own = await newStorePath();
    const data = await makeTree({ 'a.txt': 'a\n' });
    for (const as of ['d@v1', 'd@v2']) expect((await snapJson(['seal', data, '--as', as, '--key', keys.key, '--store', own])).code).toBe(0);
    await rm(join(own, 'snapshots', 'd', 'v2', 'statement.json'));
    const r = await snapJson(['list', '--store', own]);
    expect(r.code).toBe(1);
    expect(r.json.ok).toBe(false);
    expect(r.json.snapshots.map((x: { ref: string }) => x.ref)).toEqual(['d@v1']);
    expect(r.json.unreadable).toEqual([{ ref: 'd@v2', reason: 'its statement.json is missing or not a regular file' }]);
    const byName = await snapJson(['list', 'd', '--store', own]);
    expect(byName.code).toBe(1);
    const human = await snap(['list', '--store', own]);
    expect(human.code).toBe(1);
    expect(human.stderr).toContain('d@v2 is no readable snapshot');
  });

  it('exits 3 when there is no store', async () => {
    const r = await snapJson(['list', '--store', await newStorePath()]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('NOT_FOUND');
  });
});

describe('snap show', () => {
  it('shows a snapshot’s statement and signers with --json, marked unverified', async () => {
    const r = await snapJson(['show', 'mail@v2', '--store', store]);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({
      ref: 'mail@v2',
      snapshot: ids['mail@v2'],
      signers: [{ keyid: keys.keyid }],
      verified: false,
      statement: {
        _type: 'https://in-toto.io/Statement/v1',
        predicateType: 'urn:snap:dataset-snapshot:v1',
        subject: [{ name: 'mail@v2' }],
        predicate: { dataset: 'mail', version: 'v2', fileCount: 2, totalBytes: 9, parent: ids['mail@v1'], tool: { name: 'snap' } },
      },
    });
  });

  it('shows the same snapshot by an 8-hex id prefix and by its full id', async () => {
    const id = ids['images@2026.11'] as string;
    for (const ref of [id.slice(7, 15), id]) {
      const r = await snapJson(['show', ref, '--store', store]);
      expect(r.code, ref).toBe(0);
      expect(r.json.snapshot).toBe(id);
      expect(r.json.statement.predicate.dataset).toBe('images');
    }
  });

  it('shows a snapshot folder given by path', async () => {
    const r = await snapJson(['show', join(store, 'snapshots', 'mail', 'v1'), '--store', store]);
    expect(r.code).toBe(0);
    expect(r.json.snapshot).toBe(ids['mail@v1']);
  });

  it('prints the id, merkle root and signer without --json', async () => {
    const r = await snap(['show', 'mail@v1', '--store', store]);
    expect(r.code).toBe(0);
    const show = await snapJson(['show', 'mail@v1', '--store', store]);
    expect(r.stdout).toContain(ids['mail@v1']);
    expect(r.stdout).toContain(show.json.statement.predicate.merkleRoot);
    expect(r.stdout).toContain(keys.keyid);
  });

  it('records the manifest digest that the snapshot’s manifest file has', async () => {
    const { readFile } = await import('node:fs/promises');
    const r = await snapJson(['show', 'mail@v1', '--store', store]);
    expect(r.json.statement.predicate.manifestSha256).toBe(sha256(await readFile(join(store, 'snapshots', 'mail', 'v1', 'manifest.jsonl'))));
  });

  it('suggests a verify command that names an archive as one shell word: a file named y$(id>PWNED).snap.tar runs nothing when it is pasted', async () => {
    const dir = await tempDir();
    const name = 'y$(id>PWNED).snap.tar';
    expect((await snap(['export', 'mail@v1', '-o', join(dir, name), '--store', store])).code).toBe(0);
    const r = await snap(['show', name, '--store', store], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const cmd = /snap (verify .*?)"?\)$/m.exec(r.stdout)?.[1];
    expect(cmd, r.stdout).toBeDefined();
    const sh = spawnSync('bash', ['-c', `printf '%s\\0' ${cmd}`], { cwd: dir, encoding: 'utf8' });
    expect(sh.stdout.split('\0').slice(0, -1)).toEqual(['verify', name, '--pubkey', 'KEY.pub']);
    expect(await readdir(dir)).toEqual([name]); // nothing ran
  });

  it('says why when the envelope cannot be read (65 signatures): verify fails on it, show names it instead of only "no signatures"', async () => {
    const copy = await tempDir();
    const dir = join(copy, 'snap');
    await cp(join(store, 'snapshots', 'mail', 'v1'), dir, { recursive: true });
    const env = JSON.parse(await readFile(join(dir, 'envelope.json'), 'utf8'));
    env.signatures = Array.from({ length: 65 }, () => env.signatures[0]);
    await writeFile(join(dir, 'envelope.json'), JSON.stringify(env));
    const j = await snapJson(['show', dir]);
    expect(j.code).toBe(0);
    expect(j.json.envelopeProblem.code).toBe('ENVELOPE_MALFORMED');
    const h = await snap(['show', dir]);
    expect(h.stdout).toMatch(/envelope +unreadable: .*\[ENVELOPE_MALFORMED\]/);
    const sound = await snapJson(['show', 'mail@v1', '--store', store]);
    expect(sound.json.envelopeProblem).toBeUndefined();
  });

  it('exits 3 for an unknown ref and 2 for a malformed one', async () => {
    expect((await snapJson(['show', 'mail@v9', '--store', store])).json.error.code).toBe('REF_NOT_FOUND');
    expect((await snap(['show', 'mail@v9', '--store', store])).code).toBe(3);
    expect((await snap(['show', 'MAIL@v1', '--store', store])).code).toBe(2);
  });
});
