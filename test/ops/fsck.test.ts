/**
 * `snap fsck`: every object re-hashed, every snapshot checked for internal consistency; exit 1 and
 * a named report on any corruption, 0 when clean, 3 when there is no store. No keys are needed.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { snap, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { newStorePath, objectFiles, sealTree, sha256, tamper, type Sealed } from '../helpers/store.js';
import { schemaErrors } from '../helpers/json-schemas.js';

const keys = useKeyPair();

const TREE = { 'a.txt': 'alpha\n', 'b/b.txt': 'beta\n', 'b/c/d.bin': Buffer.from([0, 1, 2, 3, 255]) };

/** The object file holding `content` in `store`. */
async function objectOf(store: string, content: string | Buffer): Promise<string> {
  const hex = sha256(content);
  const hit = (await objectFiles(store)).find((o) => o.name === hex);
  if (!hit) throw new Error(`no object for ${hex}`);
  return hit.path;
}

/** The NAME of a sealed snapshot. */
const nameOf = (s: Sealed): string => s.ref.split('@')[0] as string;

/** `snap fsck --store STORE --json`. */
function fsckJson(store: string) {
  return snapJson(['fsck', '--store', store]);
}

describe('snap fsck on a clean store', () => {
  it('exits 0 after re-hashing every object and checking every snapshot', async () => {
    const s = await sealTree(TREE, keys);
    const r = await fsckJson(s.store);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.ok).toBe(true);
    expect(r.json.counts).toMatchObject({ objects: 3, bytes: 16, corrupt: 0, unreadable: 0, snapshots: 1, badSnapshots: 0, missingObjects: 0 });
    expect(r.json.snapshots).toEqual([expect.objectContaining({ ref: s.ref, snapshot: s.snapshot, ok: true, keepsObjects: true, entries: 3, problems: [] })]);
  });

  it('needs no key: it runs with no --pubkey and says OK in its human report', async () => {
    const s = await sealTree(TREE, keys);
    const r = await snap(['fsck', '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^OK/);
  });

  it('checks every snapshot of a store holding several', async () => {
    const s = await sealTree(TREE, keys);
    await fsp.writeFile(join(s.data, 'a.txt'), 'alpha, v2\n');
    expect((await snap(['seal', s.data, '--as', `${nameOf(s)}@v2`, '--key', keys.key, '--store', s.store])).code).toBe(0);
    const r = await fsckJson(s.store);
    expect(r.code).toBe(0);
    expect(r.json.snapshots.map((x: { ref: string }) => x.ref).sort()).toEqual([s.ref, `${nameOf(s)}@v2`]);
    expect(r.json.counts.objects).toBe(4);
  });

  it('does not count the absent objects of a --manifest-only snapshot as missing', async () => {
    const s = await sealTree(TREE, keys, { extra: ['--manifest-only'] });
    expect(await objectFiles(s.store)).toEqual([]);
    const r = await fsckJson(s.store);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.snapshots).toEqual([expect.objectContaining({ ref: s.ref, ok: true, keepsObjects: false, entries: 3 })]);
    expect(r.json.missingObjects).toEqual([]);
  });

  it("is not fooled by contents.json made {\"objects\":false} over a snapshot that kept its objects: the seal's audit line says they were kept, so a removed object is still missing (exit 1, contents-mismatch)", async () => {
    const s = await sealTree(TREE, keys);
    const contents = join(s.dir, 'contents.json');
    await fsp.chmod(contents, 0o644);
    await fsp.writeFile(contents, '{"objects":false}\n');
    await fsp.rm(await objectOf(s.store, 'beta\n'));
    const r = await fsckJson(s.store);
    expect(r.code, r.stderr).toBe(1);
    const [snapshot] = r.json.snapshots;
    expect(snapshot).toMatchObject({ ref: s.ref, ok: false, keepsObjects: true });
    expect(snapshot.problems.map((p: { kind: string }) => p.kind)).toEqual(['contents-mismatch', 'missing-objects']);
    expect(snapshot.problems[0].message).toMatch(/contents\.json says the snapshot keeps no objects .* the audit log's seal line \(seq 1\) says its objects were kept/);
    expect(r.json.missingObjects).toEqual([expect.objectContaining({ sha256: sha256('beta\n') })]);
    expect(schemaErrors('fsck', r.json)).toBe('');
  });

  it('holds a snapshot sealed --manifest-only to nothing more: its seal line says no objects were kept (exit 0, no contents-mismatch)', async () => {
    const s = await sealTree(TREE, keys, { extra: ['--manifest-only'] });
    const log = (await fsp.readFile(join(s.store, 'log.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(log.find((l) => l.command === 'seal').details).toEqual({ objects: false });
    const r = await fsckJson(s.store);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.snapshots[0].problems).toEqual([]);
  });

  it('reports files snap did not write as strays, without failing', async () => {
    const s = await sealTree(TREE, keys);
    await fsp.mkdir(join(s.store, 'objects', 'sha256', 'ab'), { recursive: true }); // fan-out folders exist only once used
    await fsp.writeFile(join(s.store, 'objects', 'sha256', 'ab', 'notes.txt'), 'hello');
    const r = await fsckJson(s.store);
    expect(r.code).toBe(0);
    expect(r.json.strays).toEqual(['objects/sha256/ab/notes.txt']);
  });
});

describe('snap fsck on a damaged store', () => {
  it('exits 1 and names an object with one flipped byte, and the snapshot file it holds', async () => {
    const s = await sealTree(TREE, keys);
    const obj = await objectOf(s.store, 'beta\n');
    await fsp.chmod(obj, 0o644);
    const bytes = await fsp.readFile(obj);
    bytes[0] = (bytes[0] as number) ^ 0x01;
    await fsp.writeFile(obj, bytes);
    const r = await fsckJson(s.store);
    expect(r.code).toBe(1);
    expect(r.json.ok).toBe(false);
    expect(r.json.objects.corrupt).toEqual([
      { path: `${sha256('beta\n').slice(0, 2)}/${sha256('beta\n').slice(2)}`, name: sha256('beta\n'), sha256: sha256(bytes), size: 5, usedBy: [{ ref: s.ref, path: 'b/b.txt' }], users: 1, maxBytes: 5 },
    ]);
    expect(r.json.counts).toMatchObject({ corrupt: 1, missingObjects: 0 });
  });

  it('names the corrupt object in its human report too', async () => {
    const s = await sealTree(TREE, keys);
    const obj = await objectOf(s.store, 'alpha\n');
    await tamper(obj, (t) => t.toUpperCase());
    const r = await snap(['fsck', '--store', s.store]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(sha256('alpha\n').slice(2));
  });

  it('does not advise sealing the data into the same store again for a corrupt object of the right size (that seal keeps it unread); the way it advises, a new store to repair from, mends it', async () => {
    const s = await sealTree(TREE, keys);
    await tamper(await objectOf(s.store, 'alpha\n'), (t) => t.toUpperCase()); // same size, other bytes
    const r = await snap(['fsck', '--store', s.store]);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('or seal the data again');
    expect(r.stdout).toContain('seal them into a new store and repair from that one');
    // Why: the same data sealed into this store again says "sealed" and leaves the object as it is.
    expect((await snap(['seal', s.data, '--as', `${nameOf(s)}@v2`, '--key', keys.key, '--store', s.store])).code).toBe(0);
    expect((await fsckJson(s.store)).json.counts).toMatchObject({ corrupt: 1 });
    // What it says to do instead.
    const fresh = await newStorePath();
    expect((await snap(['seal', s.data, '--as', s.ref, '--key', keys.key, '--store', fresh])).code).toBe(0);
    const repaired = await snap(['fsck', '--store', s.store, '--repair-from', fresh]);
    expect(repaired.code, repaired.stdout).toBe(0);
  }, 60_000);

  it('exits 1 and names the snapshot and path of a deleted object', async () => {
    const s = await sealTree(TREE, keys);
    await fsp.rm(await objectOf(s.store, 'alpha\n'));
    const r = await fsckJson(s.store);
    expect(r.code).toBe(1);
    const hex = sha256('alpha\n');
    expect(r.json.missingObjects).toEqual([{ sha256: hex, path: `${hex.slice(0, 2)}/${hex.slice(2)}`, usedBy: [{ ref: s.ref, path: 'a.txt' }], users: 1, maxBytes: 6 }]);
    expect(r.json.snapshots).toEqual([expect.objectContaining({ ref: s.ref, ok: false, problems: [expect.objectContaining({ kind: 'missing-objects', count: 1 })] })]);
  });

  it('counts an object missing once, however many snapshots and files use it, and lists them all as its users', async () => {
    const spec = { ...TREE, 'copy/a.txt': 'alpha\n' }; // two files with the same content
    const s = await sealTree(spec, keys);
    for (const v of ['v2', 'v3', 'v4', 'v5']) expect((await snap(['seal', s.data, '--as', `${nameOf(s)}@${v}`, '--key', keys.key, '--store', s.store])).code).toBe(0);
    await fsp.rm(await objectOf(s.store, 'alpha\n'));
    const r = await fsckJson(s.store);
    expect(r.code).toBe(1);
    expect(r.json.counts.missingObjects).toBe(1);
    expect(r.json.missingObjects).toHaveLength(1);
    const m = r.json.missingObjects[0];
    expect(m.sha256).toBe(sha256('alpha\n'));
    expect(m.users).toBe(10);
    const refs = ['v1', 'v2', 'v3', 'v4', 'v5'].map((v) => `${nameOf(s)}@${v}`);
    expect([...m.usedBy].sort((x: { ref: string; path: string }, y: { ref: string; path: string }) => (`${x.ref} ${x.path}` < `${y.ref} ${y.path}` ? -1 : 1))).toEqual(
      refs.flatMap((ref) => [{ ref, path: 'a.txt' }, { ref, path: 'copy/a.txt' }]),
    );
    // Each snapshot still says how many of its files lack their object.
    for (const x of r.json.snapshots) expect(x.problems).toEqual([expect.objectContaining({ kind: 'missing-objects', count: 2 })]);
    // The human report says "1 missing object".
    const human = await snap(['fsck', '--store', s.store]);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/\b1 missing object\b/);
  });

  it('exits 1 when a manifest was tampered with (it no longer matches the statement)', async () => {
    const s = await sealTree(TREE, keys);
    await tamper(join(s.dir, 'manifest.jsonl'), (t) => t.replace('"path":"a.txt"', '"path":"A.txt"'));
    const r = await fsckJson(s.store);
    expect(r.code).toBe(1);
    const problems = r.json.snapshots[0].problems;
    expect(problems).toEqual([expect.objectContaining({ kind: 'manifest-mismatch', fields: ['manifestSha256', 'merkleRoot'] })]);
  });

  it('exits 1 when a manifest is cut short (a malformed last line)', async () => {
    const s = await sealTree(TREE, keys);
    await tamper(join(s.dir, 'manifest.jsonl'), (t) => t.slice(0, -1));
    const r = await fsckJson(s.store);
    expect(r.code).toBe(1);
    expect(r.json.snapshots[0].problems).toEqual([expect.objectContaining({ kind: 'manifest', code: 'MANIFEST_NO_TRAILING_NEWLINE' })]);
  });

  it('exits 1 when statement.json differs from the signed payload', async () => {
    const s = await sealTree(TREE, keys);
    await tamper(join(s.dir, 'statement.json'), (t) => t.replace('"fileCount":3', '"fileCount":4'));
    const r = await fsckJson(s.store);
    expect(r.code).toBe(1);
    expect(r.json.snapshots[0].problems).toEqual([expect.objectContaining({ kind: 'statement-mismatch' })]);
  });

  it('exits 1 when the envelope does not parse', async () => {
    const s = await sealTree(TREE, keys);
    await tamper(join(s.dir, 'envelope.json'), (t) => t.slice(0, 20));
    const r = await fsckJson(s.store);
    expect(r.code).toBe(1);
    expect(r.json.snapshots[0].problems).toEqual([expect.objectContaining({ kind: 'envelope', code: 'ENVELOPE_MALFORMED' })]);
  });

  it('exits 1 when a snapshot file is missing', async () => {
    const s = await sealTree(TREE, keys);
    await fsp.rm(join(s.dir, 'envelope.json'));
    const r = await fsckJson(s.store);
    expect(r.code).toBe(1);
    expect(r.json.snapshots[0].problems).toEqual([expect.objectContaining({ kind: 'missing-file', file: 'envelope.json' })]);
  });

  it('says a manifest.jsonl it cannot read cannot be read, with why (a link to itself: ELOOP), not that it is missing', async () => {
    const s = await sealTree(TREE, keys);
    await fsp.rm(join(s.dir, 'manifest.jsonl'));
    await fsp.symlink('manifest.jsonl', join(s.dir, 'manifest.jsonl'));
    const r = await fsckJson(s.store);
    expect(r.code).toBe(1);
    expect(r.json.snapshots[0].problems).toEqual([expect.objectContaining({ kind: 'unreadable', file: 'manifest.jsonl', message: expect.stringContaining('ELOOP') })]);
  });

  it('exits 1 when a snapshot folder was renamed (its statement names another version)', async () => {
    const s = await sealTree(TREE, keys);
    await fsp.rename(s.dir, join(s.dir, '..', 'v9'));
    const r = await fsckJson(s.store);
    expect(r.code).toBe(1);
    expect(r.json.snapshots).toEqual([expect.objectContaining({ ref: `${nameOf(s)}@v9`, problems: [expect.objectContaining({ kind: 'name-mismatch' })] })]);
  });
});

describe('snap fsck and folders replaced by symbolic links', () => {
  it('re-hashes the objects behind a fan-out folder that is a link (export and restore read through it): exit 1 for one corrupt there', async () => {
    const s = await sealTree(TREE, keys);
    const hex = sha256('beta\n');
    const fan = join(s.store, 'objects', 'sha256', hex.slice(0, 2));
    const elsewhere = join(await tempDir(), 'fan');
    await fsp.rename(fan, elsewhere);
    await fsp.symlink(elsewhere, fan);
    await tamper(join(elsewhere, hex.slice(2)), (t) => t.toUpperCase());
    const r = await fsckJson(s.store);
    expect(r.code).toBe(1);
    expect(r.json.objects.corrupt).toEqual([expect.objectContaining({ name: hex, usedBy: [{ ref: s.ref, path: 'b/b.txt' }] })]);
    expect(r.json.counts.objects).toBe(3);
  });

  it('checks a snapshot folder that is a link (list, show and verify read through it): exit 1 for a manifest rewritten there', async () => {
    const s = await sealTree(TREE, keys);
    const [name, version] = s.ref.split('@') as [string, string];
    const dir = join(s.store, 'snapshots', name);
    const elsewhere = join(await tempDir(), 'snapshots');
    await fsp.rename(dir, elsewhere);
    await fsp.symlink(elsewhere, dir);
    await tamper(join(elsewhere, version, 'manifest.jsonl'), (t) => t.replace('"size":6', '"size":7'));
    const r = await fsckJson(s.store);
    expect(r.code).toBe(1);
    expect(r.json.snapshots).toEqual([expect.objectContaining({ ref: s.ref, ok: false, problems: [expect.objectContaining({ kind: 'manifest-mismatch' })] })]);
  });
});

describe('snap fsck without a store', () => {
  it('exits 3 (NOT_FOUND)', async () => {
    const r = await fsckJson(await newStorePath());
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('NOT_FOUND');
  });

  it('exits 2 for a bad --jobs', async () => {
    const s = await sealTree(TREE, keys);
    expect((await snap(['fsck', '--store', s.store, '--jobs', '0'])).code).toBe(2);
  });
});

describe('snap fsck and a dataset folder', () => {
  it('leaves the dataset alone: only the store is checked', async () => {
    const s = await sealTree(TREE, keys);
    await fsp.writeFile(join(s.data, 'a.txt'), 'changed after the seal');
    expect((await fsckJson(s.store)).code).toBe(0);
  });
});

describe('snap fsck and a stray whose name is not UTF-8', () => {
  /** `not utf-8 \xff\xfe` and `not utf-8 \xfe\xff`: Node reads both as `not utf-8 \ufffd\ufffd`. */
  const FF_FE = Buffer.from('not utf-8 \xff\xfe', 'latin1');
  const FE_FF = Buffer.from('not utf-8 \xfe\xff', 'latin1');
  /** A file named by bytes in `dir`. */
  const plant = async (dir: string, name: Buffer): Promise<void> => {
    await fsp.mkdir(dir, { recursive: true });
    await fsp.writeFile(Buffer.concat([Buffer.from(`${dir}/`), name]), 'planted');
  };
  /** A store with those two names planted in a fan-out folder, one beside `sha256` and one in `snapshots/`. */
  async function plantedStore(): Promise<string> {
    const s = await sealTree(TREE, keys);
    const fan = join(s.store, 'objects', 'sha256', 'ab');
    await plant(fan, FF_FE);
    await plant(fan, FE_FF);
    await plant(join(s.store, 'objects', 'sha256'), Buffer.from('x\xff', 'latin1'));
    await plant(join(s.store, 'snapshots'), Buffer.from('y\xfe', 'latin1'));
    return s.store;
  }

  it('--json lists each by its name decoded without loss (two names stay two), and gives its exact bytes in straysNotUtf8 (path and pathHex)', async () => {
    const store = await plantedStore();
    const r = await fsckJson(store);
    expect(r.code, r.stderr).toBe(0);
    const names = ['objects/sha256/ab/not utf-8 \udcfe\udcff', 'objects/sha256/ab/not utf-8 \udcff\udcfe', 'objects/sha256/x\udcff', 'snapshots/y\udcfe'];
    expect([...r.json.strays].sort()).toEqual(names);
    expect(r.json.counts.strays).toBe(4);
    const hex = (rel: string, name: Buffer) => Buffer.concat([Buffer.from(rel), name]).toString('hex');
    expect([...r.json.straysNotUtf8].sort((a, b) => (a.path < b.path ? -1 : 1))).toEqual([
      { path: names[0], pathHex: hex('objects/sha256/ab/', FE_FF) },
      { path: names[1], pathHex: hex('objects/sha256/ab/', FF_FE) },
      { path: names[2], pathHex: hex('objects/sha256/', Buffer.from('x\xff', 'latin1')) },
      { path: names[3], pathHex: hex('snapshots/', Buffer.from('y\xfe', 'latin1')) },
    ]);
    // In the order of strays, one for each of them whose name is not UTF-8.
    expect(r.json.straysNotUtf8.map((x: { path: string }) => x.path)).toEqual(r.json.strays);
    expect(Object.keys(r.json).indexOf('straysNotUtf8')).toBe(Object.keys(r.json).indexOf('strays') + 1);
    expect(schemaErrors('fsck', r.json)).toBe('');
  });

  it('--json has no straysNotUtf8 when every stray is UTF-8', async () => {
    const s = await sealTree(TREE, keys);
    await plant(join(s.store, 'objects', 'sha256', 'ab'), Buffer.from('caf\u00e9.txt'));
    const r = await fsckJson(s.store);
    expect(r.json.strays).toEqual(['objects/sha256/ab/caf\u00e9.txt']);
    expect(r.json).not.toHaveProperty('straysNotUtf8');
  });

  it('the human report shows each with its bytes that are not UTF-8 escaped (\\xNN), as verify does', async () => {
    const store = await plantedStore();
    const r = await snap(['fsck', '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('  objects/sha256/ab/not utf-8 \\xff\\xfe\n');
    expect(r.stdout).toContain('  objects/sha256/ab/not utf-8 \\xfe\\xff\n');
    expect(r.stdout).toContain('  objects/sha256/x\\xff\n');
    expect(r.stdout).toContain('  snapshots/y\\xfe\n');
    expect(r.stdout).not.toContain('\ufffd');
  });

  it('--clean leaves such a stray where it is (strays are never removed), byte for byte', async () => {
    const store = await plantedStore();
    const r = await snapJson(['fsck', '--clean', '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.cleaned).toEqual({ removed: [], kept: [] });
    const left = await fsp.readdir(join(store, 'objects', 'sha256', 'ab'), { encoding: 'buffer' });
    expect(left.map((b) => b.toString('hex')).sort()).toEqual([FE_FF.toString('hex'), FF_FE.toString('hex')].sort());
  });
});
