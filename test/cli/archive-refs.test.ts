/**
 * `snap diff` and `snap show` with an archive `NAME@VERSION.snap.tar` where a snapshot ref goes:
 * either side of diff (against a folder, a store snapshot or another archive), show in text and
 * --json; only the archive's `snap/` members are used; a file that is not a valid archive gives the
 * same error code and exit code as `verify DIR --against FILE`; no spool folder is left behind.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { snap, snapBin, snapJson, tempDir, useKeyPair, writeTree } from '../helpers/tree.js';
import { sealAndExport, sha256 } from '../helpers/store.js';

const keys = useKeyPair('archive-refs');
const other = useKeyPair('other');

const TREE = { 'a.txt': 'alpha alpha alpha\n', 'b/c.txt': 'gamma gamma gamma\n', 'b/l': { symlink: 'c.txt' } };

/** Seal TREE as ds@v1 into a new store under a new work folder and export it to WORK/ds@v1.snap.tar. */
const exported = () => sealAndExport(TREE, keys, 'snap-aref-');

/** Seal the (changed) folder as ds@v2 into the same store and export it to WORK/ds@v2.snap.tar. */
async function exportV2(x: { data: string; work: string; store: string }) {
  const s = await snapJson(['seal', x.data, '--as', 'ds@v2', '--key', keys.key, '--store', x.store]);
  expect(s.code, s.stderr).toBe(0);
  const file = join(x.work, 'ds@v2.snap.tar');
  expect((await snapJson(['export', 'ds@v2', '-o', file, '--store', x.store])).code).toBe(0);
  return { file, snapshot: s.json.snapshot as string };
}

/** Overwrite bytes of the archive where `needle` first occurs. */
async function patch(file: string, needle: string, replacement: string): Promise<void> {
  const buf = await fsp.readFile(file);
  const at = buf.indexOf(Buffer.from(needle));
  expect(at).toBeGreaterThan(0);
  const fh = await fsp.open(file, 'r+');
  await fh.write(Buffer.from(replacement), 0, replacement.length, at);
  await fh.close();
}

/** Files that are not valid archives: text, a real archive cut short inside its manifest, a missing path. */
async function badArchives(x: { work: string; file: string }): Promise<Record<string, string>> {
  const junk = join(x.work, 'junk.snap.tar');
  await fsp.writeFile(junk, 'this is not a tar archive at all, just some text\n'.repeat(40));
  const cut = join(x.work, 'cut.snap.tar');
  const whole = await fsp.readFile(x.file);
  const manifestAt = whole.indexOf(Buffer.from('{"path":"a.txt"'));
  expect(manifestAt).toBeGreaterThan(0);
  await fsp.writeFile(cut, whole.subarray(0, manifestAt + 20));
  return { junk, cut, missing: join(x.work, 'gone', 'ds@v3.snap.tar') };
}

const SIDE = {
  snapshot: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
  createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
};

describe('snap diff with an archive', () => {
  it('exits 0 between an archive (named relative to the working folder) and the unchanged folder it was sealed from', async () => {
    const x = await exported();
    const d = await snapJson(['diff', 'ds@v1.snap.tar', x.data], { cwd: x.work });
    expect(d.code, d.stderr).toBe(0);
    expect(d.json.a).toEqual({ ...SIDE, ref: 'ds@v1.snap.tar', snapshot: x.snapshot, signers: [{ keyid: keys.keyid }] });
    expect(d.json.b).toEqual({ folder: x.data });
    expect(d.json.summary).toMatchObject({ added: 0, removed: 0, modified: 0, renamed: 0, unchanged: 3 });
  });

  it('exits 1 and names the modified file, on either side', async () => {
    const x = await exported();
    await writeTree(x.data, { 'a.txt': 'ALPHA\n' });
    const d = await snapJson(['diff', x.file, x.data]);
    expect(d.code).toBe(1);
    expect(d.json.modified).toEqual([
      { path: 'a.txt', a: { path: 'a.txt', sha256: sha256('alpha alpha alpha\n'), size: 18 }, b: { path: 'a.txt', sha256: sha256('ALPHA\n'), size: 6 } },
    ]);
    expect(d.json.summary).toMatchObject({ added: 0, removed: 0, modified: 1, renamed: 0, unchanged: 2 });
    const rev = await snapJson(['diff', x.data, x.file]);
    expect(rev.code).toBe(1);
    expect(rev.json.a).toEqual({ folder: x.data });
    expect(rev.json.modified.map((m: { path: string }) => m.path)).toEqual(['a.txt']);
    const text = await snap(['diff', x.file, x.data]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('a.txt');
  });

  it('uses only the archive’s manifest: damaged data members do not change the result', async () => {
    const x = await exported();
    await patch(x.file, 'gamma gamma', 'GAMMA');
    const d = await snapJson(['diff', x.file, x.data]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.json.summary.unchanged).toBe(3);
  });

  it('says so in its human output: an archive side whose data members were edited is compared by its signed manifest, and the note names the command that reads them (with and without --pubkey)', async () => {
    const x = await exported();
    await patch(x.file, 'gamma gamma', 'GAMMA');
    for (const keysGiven of [[], ['--pubkey', keys.pub]]) {
      const d = await snap(['diff', x.file, x.data, ...keysGiven]);
      expect(d.code, d.stderr).toBe(0);
      expect(d.stdout).toMatch(/^identical: 3 entries$/m);
      expect(d.stdout).toMatch(/^\(a is a \.snap\.tar archive: its signed manifest was compared, not the bytes of its data members; "snap verify FILE --pubkey KEY\.pub" checks those\)$/m);
    }
    const store = await snap(['diff', 'ds@v1', x.data, '--store', x.store, '--pubkey', keys.pub]);
    expect(store.code).toBe(0);
    expect(store.stdout).not.toContain('archive');
    const both = await snap(['diff', x.file, x.file, '--pubkey', keys.pub]);
    expect(both.stdout).toMatch(/^\(a and b are \.snap\.tar archives: their signed manifests were compared, not the bytes of their data members; .*\)$/m);
    expect((await snap(['verify', x.file, '--pubkey', keys.pub])).code).toBe(1); // what the note points to finds the edit
    // check compares the same way, and says so too.
    const r = await sealAndExport({ 'snap.json': '{"records":[{"pattern":"t.csv","key":["id"],"label":"label"}]}', 't.csv': 'id,label\n1,ham\n' }, keys, 'snap-aref-check-');
    const c = await snap(['check', r.data, '--against', r.file, '--pubkey', keys.pub]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/^\(a is a \.snap\.tar archive: its signed manifest was compared, not the bytes of its data members; .*\)$/m);
  });

  it('compares a store snapshot with an archive of another version (both ways), and an archive with itself', async () => {
    const x = await exported();
    await fsp.rm(join(x.data, 'b', 'c.txt'));
    await writeTree(x.data, { 'b/l': { symlink: '../a.txt' }, 'd.txt': 'delta\n' });
    const v2 = await exportV2(x);
    const d = await snapJson(['diff', 'ds@v1', v2.file, '--store', x.store]);
    expect(d.code, d.stderr).toBe(1);
    expect(d.json.a).toEqual({ ...SIDE, ref: 'ds@v1', snapshot: x.snapshot, signers: [{ keyid: keys.keyid }] });
    expect(d.json.b).toEqual({ ...SIDE, ref: v2.file, snapshot: v2.snapshot, signers: [{ keyid: keys.keyid }] });
    expect(d.json.added).toEqual([{ path: 'd.txt', sha256: sha256('delta\n'), size: 6 }]);
    expect(d.json.removed).toEqual([{ path: 'b/c.txt', sha256: sha256('gamma gamma gamma\n'), size: 18 }]);
    expect(d.json.modified.map((m: { path: string }) => m.path)).toEqual(['b/l']);
    const rev = await snapJson(['diff', v2.file, 'ds@v1', '--store', x.store]);
    expect(rev.code).toBe(1);
    expect(rev.json.added.map((e: { path: string }) => e.path)).toEqual(['b/c.txt']);
    // The archive of v1 and the store's v1 are the same snapshot; two archives of different versions differ.
    expect((await snapJson(['diff', x.file, 'ds@v1', '--store', x.store])).code).toBe(0);
    expect((await snapJson(['diff', x.file, v2.file])).code).toBe(1);
  });

  it('checks an archive side’s signers with --pubkey, as for a store snapshot', async () => {
    const x = await exported();
    const trusted = await snapJson(['diff', x.file, 'ds@v1', '--store', x.store, '--pubkey', keys.pub]);
    expect(trusted.code).toBe(0);
    expect(trusted.json.a.signers).toEqual([{ keyid: keys.keyid, trusted: true }]);
    expect(trusted.json.b.signers).toEqual([{ keyid: keys.keyid, trusted: true }]);
    const untrusted = await snapJson(['diff', x.file, x.data, '--pubkey', other.pub]);
    expect(untrusted.code).toBe(1); // identical contents, but the archive side is not trusted
    expect(untrusted.json.a.signers).toEqual([{ keyid: keys.keyid, trusted: false }]);
  });

  it('gives a file that is not a valid archive the error code and exit code of verify --against, on either side', async () => {
    const x = await exported();
    for (const [what, bad] of Object.entries(await badArchives(x))) {
      const v = await snapJson(['verify', x.data, '--against', bad, '--pubkey', keys.pub]);
      expect(v.code, what).toBe(3);
      expect(v.json.error.code, what).toMatch(/^(ARCHIVE_MALFORMED|NOT_FOUND)$/);
      for (const args of [[bad, x.data], [x.file, bad], ['ds@v1', bad, '--store', x.store]]) {
        const d = await snapJson(['diff', ...args]);
        expect(d.code, `${what}: diff ${args.join(' ')}`).toBe(v.code);
        expect(d.json.error.code, `${what}: diff ${args.join(' ')}`).toBe(v.json.error.code);
      }
    }
  });
});

describe('snap show with an archive', () => {
  it('shows the archive’s snapshot with --json: the same id as in the store, the archive path, unverified', async () => {
    const x = await exported();
    const r = await snapJson(['show', 'ds@v1.snap.tar'], { cwd: x.work });
    expect(r.code, r.stderr).toBe(0);
    const inStore = await snapJson(['show', 'ds@v1', '--store', x.store]);
    expect(r.json).toEqual({
      ok: true,
      ref: 'ds@v1.snap.tar',
      snapshot: x.snapshot,
      archive: x.file,
      signers: [{ keyid: keys.keyid }],
      statement: inStore.json.statement,
      verified: false,
    });
    expect(r.json.statement.predicate).toMatchObject({ dataset: 'ds', version: 'v1', fileCount: 3 });
  });

  it('prints the id, merkle root and signer without --json', async () => {
    const x = await exported();
    const r = await snap(['show', x.file]);
    expect(r.code, r.stderr).toBe(0);
    const j = await snapJson(['show', x.file]);
    expect(r.stdout).toContain(x.snapshot);
    expect(r.stdout).toContain(j.json.statement.predicate.merkleRoot);
    expect(r.stdout).toContain(keys.keyid);
  });

  it('gives a file that is not a valid archive the error code and exit code of verify --against', async () => {
    const x = await exported();
    for (const [what, bad] of Object.entries(await badArchives(x))) {
      const v = await snapJson(['verify', x.data, '--against', bad, '--pubkey', keys.pub]);
      const s = await snapJson(['show', bad]);
      expect(s.code, what).toBe(v.code);
      expect(s.json.error.code, what).toBe(v.json.error.code);
      expect((await snap(['show', bad])).code, what).toBe(3);
    }
  });
});

describe('the spool folder of an archive', () => {
  it('is removed after diff and show, whether they succeed, find differences or fail', async () => {
    const x = await exported();
    const bad = await badArchives(x);
    await writeTree(x.data, { 'new.txt': 'new\n' });
    const tmp = await tempDir('snap-aref-tmp-');
    const runs: [string[], number][] = [
      [['show', x.file, '--json'], 0],
      [['show', x.file], 0],
      [['diff', x.file, 'ds@v1', '--store', x.store, '--pubkey', keys.pub, '--json'], 0],
      [['diff', x.file, x.data], 1],
      [['diff', x.data, x.file, '--json'], 1],
      [['diff', x.file, x.file], 0],
      [['diff', x.file, bad.junk as string], 3],
      [['diff', x.file, bad.cut as string, '--json'], 3],
      [['diff', bad.cut as string, x.file], 3],
      [['show', bad.cut as string], 3],
      [['show', bad.junk as string, '--json'], 3],
    ];
    for (const [args, code] of runs) {
      const r = await snapBin(args, { env: { TMPDIR: tmp } });
      expect(r.code, `snap ${args.join(' ')}: ${r.stderr}`).toBe(code);
      expect(await fsp.readdir(tmp), `snap ${args.join(' ')}`).toEqual([]);
    }
  });
});
