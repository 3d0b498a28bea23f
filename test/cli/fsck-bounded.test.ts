/**
 * `snap fsck` in bounded memory: on a small store with a few problems of each kind, its output —
 * human and `--json`, plain, `--clean` and `--repair-from` — is byte for byte what it was before
 * its lists were bounded (test/fixtures/fsck-small/, written by the fsck of commit 94e2c30, the store
 * path, snapshot ids and seconds put in as placeholders); over many planted objects it runs in a
 * small heap, streams `--json` with `ok` last, and keeps it one document when stopped; so it does
 * over many missing objects (named by snapshots, not in the store), with `--repair-from` too.
 */
import { closeSync, mkdirSync, openSync, promises as fsp, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, jsonStoppedByCtrlC, makeTree, snap, snapBin, snapJson, useKeyPair, heapLimit } from '../helpers/tree.js';
import { newStorePath, sha256, snapshotFolder, tamper } from '../helpers/store.js';
import { schemaErrors } from '../helpers/json-schemas.js';

const keys = useKeyPair('fsck-bounded');

const FIXTURES = join(REPO, 'test', 'fixtures', 'fsck-small');

const TREE = { 'a.txt': 'alpha\n', 'b/b.txt': 'beta\n', 'b/c/d.bin': Buffer.from([0, 1, 2, 3, 255]), 'e.txt': 'echo\n' };

/** The object file of `hex` in `store`. */
const objectAt = (store: string, hex: string): string => join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2));

/** Corrupt objects no snapshot names planted in the small store: more than the human report shows (20). */
const PLANTED_CORRUPT = 25;

/**
 * A store with a few problems of each kind: ds@v1 (a.txt's object corrupt, b.txt's a folder, d.bin's
 * gone), ds@v2 (its manifest rewritten), PLANTED_CORRUPT empty objects no snapshot names and one
 * folder in an object's place, strays in objects/ and snapshots/, a file left in tmp/.
 * @returns the store, the snapshot ids (v1, v2) and the data folder
 */
async function damagedStore(): Promise<{ store: string; ids: string[]; data: string }> {
  const store = await newStorePath();
  const data = await makeTree(TREE);
  const ids: string[] = [];
  for (const v of ['v1', 'v2']) {
    const r = await snapJson(['seal', data, '--as', `ds@${v}`, '--key', keys.key, '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    ids.push(r.json.snapshot);
  }
  await fsp.chmod(objectAt(store, sha256('alpha\n')), 0o644);
  await fsp.writeFile(objectAt(store, sha256('alpha\n')), 'alphA\n');
  await fsp.rm(objectAt(store, sha256('beta\n')));
  await fsp.mkdir(objectAt(store, sha256('beta\n')));
  await fsp.rm(objectAt(store, sha256(Buffer.from([0, 1, 2, 3, 255]))));
  await tamper(join(snapshotFolder(store, 'ds', 'v2'), 'manifest.jsonl'), (t) => t.replace('"size":6', '"size":7'));
  for (let i = 0; i < PLANTED_CORRUPT; i++) {
    const h = sha256(`junk${i}`);
    mkdirSync(join(store, 'objects', 'sha256', h.slice(0, 2)), { recursive: true });
    closeSync(openSync(objectAt(store, h), 'w', 0o444));
  }
  const dirJunk = sha256('dir-junk');
  mkdirSync(objectAt(store, dirJunk), { recursive: true });
  await fsp.writeFile(join(store, 'objects', 'sha256', 'not-a-fan'), 'x');
  await fsp.writeFile(join(store, 'objects', 'other.txt'), 'x');
  await fsp.writeFile(join(store, 'objects', 'sha256', sha256('alpha\n').slice(0, 2), 'not-an-object'), 'x');
  await fsp.writeFile(join(snapshotFolder(store, 'ds', 'v1'), 'notes.txt'), 'x');
  await fsp.mkdir(join(store, 'snapshots', 'BAD NAME'));
  await fsp.mkdir(join(store, 'tmp'), { recursive: true });
  await fsp.writeFile(join(store, 'tmp', 'seal-left'), 'left by a killed seal');
  return { store, ids, data };
}

/** `text` with the run-dependent parts put as placeholders: the store path, snapshot ids (whole and short) and the seconds. */
function normalized(text: string, store: string, ids: string[], source?: string): string {
  let out = text.split(store).join('<STORE>');
  if (source) out = out.split(source).join('<SOURCE>');
  ids.forEach((id, i) => {
    out = out.split(id).join(`<ID${i + 1}>`).split(`sha256:${id.slice(7, 19)}`).join(`<SHORT${i + 1}>`);
  });
  return out.replace(/"seconds": [0-9.e-]+/g, '"seconds": 0');
}

/** The fixture `name`. */
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

describe('snap fsck on a small store with a few problems of each kind', () => {
  it('prints the same --json document and human report, byte for byte, as before its lists were bounded', async () => {
    const { store, ids } = await damagedStore();
    const json = await snap(['fsck', '--json', '--store', store]);
    expect(json.code, json.stderr).toBe(1);
    expect(normalized(json.stdout, store, ids)).toBe(fixture('fsck.json'));
    const human = await snap(['fsck', '--store', store]);
    expect(human.code, human.stderr).toBe(1);
    expect(normalized(human.stdout, store, ids)).toBe(fixture('fsck.txt'));
  });

  it('prints the same documents with --clean, byte for byte', async () => {
    const { store, ids } = await damagedStore();
    const json = await snap(['fsck', '--clean', '--json', '--store', store]);
    expect(json.code, json.stderr).toBe(1);
    expect(normalized(json.stdout, store, ids)).toBe(fixture('fsck-clean.json'));
  });

  it('prints the same documents with --repair-from another store, byte for byte (human and --json)', async () => {
    for (const [mode, file] of [['--json', 'fsck-repair.json'], ['', 'fsck-repair.txt']] as const) {
      const { store, ids, data } = await damagedStore();
      const source = await newStorePath();
      expect((await snap(['seal', data, '--as', 'good@v1', '--key', keys.key, '--store', source])).code).toBe(0);
      const r = await snap(['fsck', '--repair-from', source, '--store', store, ...(mode ? [mode] : [])]);
      expect(r.code, r.stderr).toBe(1);
      expect(normalized(r.stdout, store, ids, source)).toBe(fixture(file));
    }
  });
});

/** Objects planted, no snapshot naming them (empty files named by other digests: corrupt), enough that fsck holding them all ran out of a {@link SMALL_HEAP_MIB} MiB heap. */
const MANY_PLANTED = 60_000;
/** Objects planted in one fan-out folder, enough that reading that folder's names at once ran out of a {@link SMALL_HEAP_MIB} MiB heap. */
const ONE_FAN_PLANTED = 100_000;
/** Strays planted in one fan-out folder. */
const MANY_STRAYS = 5_000;
/** The V8 heap the CLI is given (`--max-old-space-size`, MiB). */
const SMALL_HEAP_MIB = 24;

describe('snap fsck over many planted objects', () => {
  /** ds@v1 (a.txt's object corrupt), MANY_PLANTED corrupt objects no snapshot names, MANY_STRAYS strays. */
  async function crowdedStore(): Promise<{ store: string; corrupt: string[]; strays: string[] }> {
    const store = await newStorePath();
    const d = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'beta\n' });
    expect((await snap(['seal', d, '--as', 'ds@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const a = sha256('alpha\n');
    await fsp.chmod(objectAt(store, a), 0o644);
    await fsp.writeFile(objectAt(store, a), 'alphA\n');
    const corrupt = [a];
    const made = new Set<string>();
    for (let i = 0; i < MANY_PLANTED; i++) {
      const h = sha256(`planted${i}`);
      const fan = join(store, 'objects', 'sha256', h.slice(0, 2));
      if (!made.has(fan)) mkdirSync(fan, { recursive: true });
      made.add(fan);
      closeSync(openSync(join(fan, h.slice(2)), 'w', 0o444));
      corrupt.push(h);
    }
    const strays: string[] = [];
    for (let i = 0; i < MANY_STRAYS; i++) {
      const name = `junk ${String(i).padStart(5, '0')}`;
      closeSync(openSync(join(store, 'objects', 'sha256', 'ab', name), 'w'));
      strays.push(`objects/sha256/ab/${name}`);
    }
    return { store, corrupt: corrupt.sort(), strays };
  }
  const smallHeap = { env: { NODE_OPTIONS: heapLimit(SMALL_HEAP_MIB) }, timeoutMs: 170_000 };
  /**
   * One crowded store for this block's tests (planting 65,000 files costs more than the fsck
   * runs): those that only read it run first, the repair, which puts a.txt's object back, last.
   */
  let crowded: Awaited<ReturnType<typeof crowdedStore>>;
  beforeAll(async () => {
    crowded = await crowdedStore();
  }, 240_000);

  it(`finds all ${MANY_PLANTED} in a ${SMALL_HEAP_MIB} MiB heap (it held them all and built the document in memory, and ran out): --json lists every one, by digest, with ok last; the human report the first 20 of each kind, the counts exact`, async () => {
    const { store, corrupt, strays } = crowded;
    const json = await snapBin(['fsck', '--json', '--store', store], smallHeap);
    expect(json.code, json.stderr.slice(-400)).toBe(1);
    const doc = JSON.parse(json.stdout);
    expect(json.stdout).toBe(JSON.stringify(doc, null, 2) + '\n');
    expect(Object.keys(doc)).toEqual(['store', 'objects', 'snapshots', 'missingObjects', 'strays', 'leftovers', 'counts', 'seconds', 'log', 'ok']);
    expect(Object.keys(doc.objects)).toEqual(['checked', 'bytes', 'corrupt', 'unreadable']);
    expect(doc).toMatchObject({ ok: false, store, missingObjects: [], leftovers: [], log: { written: true } });
    expect(doc.objects.corrupt.map((c: { name: string }) => c.name)).toEqual(corrupt);
    const a = sha256('alpha\n');
    expect(doc.objects.corrupt.find((c: { name: string }) => c.name === a)).toEqual({ path: `${a.slice(0, 2)}/${a.slice(2)}`, name: a, sha256: sha256('alphA\n'), size: 6, usedBy: [{ ref: 'ds@v1', path: 'a.txt' }], users: 1, maxBytes: 6 });
    const p = corrupt.find((h) => h !== a) as string;
    expect(doc.objects.corrupt.find((c: { name: string }) => c.name === p)).toEqual({ path: `${p.slice(0, 2)}/${p.slice(2)}`, name: p, sha256: sha256(''), size: 0, usedBy: [], users: 0 });
    expect(doc.strays).toEqual(strays);
    expect(doc.counts).toEqual({ objects: MANY_PLANTED + 2, bytes: 11, corrupt: MANY_PLANTED + 1, unreadable: 0, snapshots: 1, badSnapshots: 0, missingObjects: 0, strays: MANY_STRAYS, leftovers: 0 });

    const human = await snapBin(['fsck', '--store', store], smallHeap);
    expect(human.code, human.stderr.slice(-400)).toBe(1);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^FAIL {2}.*: 60,001 corrupt objects; 60,002 objects \(11 B\) re-hashed, 1 snapshot checked$/);
    expect(lines[1]).toBe(`corrupt objects (${MANY_PLANTED + 1}):`);
    expect(lines.slice(2, 22).map((l) => l.slice('  objects/sha256/'.length, '  objects/sha256/'.length + 65).replace('/', ''))).toEqual(corrupt.slice(0, 20));
    expect(lines[22]).toBe(`  … and ${MANY_PLANTED + 1 - 20} more (--json lists all)`);
    expect(lines[23]).toBe(`not written by snap (left alone, not counted as corruption) (${MANY_STRAYS}):`);
    expect(lines.slice(24, 44)).toEqual(strays.slice(0, 20).map((s) => `  ${s}`));
    expect(lines[44]).toBe(`  … and ${MANY_STRAYS - 20} more (--json lists all)`);
  }, 240_000);

  it(`finds ${ONE_FAN_PLANTED} planted in one fan-out folder in that heap (one folder's names were all read, as strings, at once), and the strays there in name order`, async () => {
    const store = await newStorePath();
    const d = await makeTree({ 'a.txt': 'alpha\n' });
    expect((await snap(['seal', d, '--as', 'ds@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const fan = join(store, 'objects', 'sha256', 'ab');
    mkdirSync(fan, { recursive: true });
    const planted: string[] = [];
    for (let i = 0; i < ONE_FAN_PLANTED; i++) {
      const rest = sha256(`one fan ${i}`).slice(2);
      closeSync(openSync(join(fan, rest), 'w', 0o444));
      planted.push(`ab${rest}`);
    }
    planted.sort();
    for (const n of ['zz stray', 'a stray', 'ab']) closeSync(openSync(join(fan, n), 'w'));
    const json = await snapBin(['fsck', '--json', '--store', store], smallHeap);
    expect(json.code, json.stderr.slice(-400)).toBe(1);
    const doc = JSON.parse(json.stdout);
    expect(doc.objects.corrupt.map((c: { name: string }) => c.name)).toEqual(planted);
    expect(doc.strays).toEqual(['objects/sha256/ab/a stray', 'objects/sha256/ab/ab', 'objects/sha256/ab/zz stray']);
    expect(doc.counts).toMatchObject({ objects: ONE_FAN_PLANTED + 1, corrupt: ONE_FAN_PLANTED, strays: 3 });
    const human = await snapBin(['fsck', '--store', store], smallHeap);
    expect(human.code, human.stderr.slice(-400)).toBe(1);
    expect(human.stdout.split('\n')[2]).toBe(`  objects/sha256/ab/${planted[0]?.slice(2)}  now hashes to ${sha256('').slice(0, 12)} (0 B)`);
  }, 240_000);

  it('keeps --json one document when Ctrl-C stops it while it writes the list: the objects listed so far, then "ok": false and the error (exit 130)', async () => {
    const { store, corrupt } = crowded;
    const doc = await jsonStoppedByCtrlC(['fsck', '--json', '--store', store]);
    expect(doc).toMatchObject({ store });
    expect(doc.objects.corrupt.length).toBeGreaterThan(0);
    expect(doc.objects.corrupt.length).toBeLessThan(MANY_PLANTED);
    expect(doc.objects.corrupt.map((c: { name: string }) => c.name)).toEqual(corrupt.slice(0, doc.objects.corrupt.length));
  }, 120_000);

  it(`repairs from another store in that heap (--repair-from held every damaged object, and each one no snapshot names as unrepaired): --json lists every unrepaired one, the human report the first 20`, async () => {
    const { store, corrupt } = crowded;
    const source = await newStorePath();
    const d = await makeTree({ 'a.txt': 'alpha\n' });
    expect((await snap(['seal', d, '--as', 'good@v1', '--key', keys.key, '--store', source])).code).toBe(0);
    const a = sha256('alpha\n');
    const planted = corrupt.filter((h) => h !== a);
    const human = await snapBin(['fsck', '--repair-from', source, '--store', store], smallHeap);
    expect(human.code, human.stderr.slice(-400)).toBe(1);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^FAIL {2}.*: 60,000 corrupt objects; 60,002 objects \(11 B\) re-hashed, 1 snapshot checked$/);
    expect(lines[1]).toBe(`repair: 1 object of ${MANY_PLANTED + 1} put back from ${source} (6 B), each checked against its digest`);
    expect(lines.slice(2, 22).map((l) => l.split(' ')[4])).toEqual(planted.slice(0, 20));
    expect(lines[22]).toBe(`  … and ${MANY_PLANTED - 20} more (--json lists all)`);
    expect(await fsp.readFile(objectAt(store, a), 'utf8')).toBe('alpha\n');

    const json = await snapBin(['fsck', '--repair-from', source, '--json', '--store', store], smallHeap);
    expect(json.code, json.stderr.slice(-400)).toBe(1);
    const doc = JSON.parse(json.stdout);
    expect(json.stdout).toBe(JSON.stringify(doc, null, 2) + '\n');
    expect(Object.keys(doc)).toEqual(['store', 'objects', 'snapshots', 'missingObjects', 'strays', 'leftovers', 'counts', 'seconds', 'repair', 'log', 'ok']);
    expect(Object.keys(doc.repair)).toEqual(['source', 'kind', 'repaired', 'unrepaired', 'bytes', 'before']);
    expect(doc.repair).toMatchObject({ source, kind: 'store', repaired: [], bytes: 0, before: { corrupt: MANY_PLANTED } });
    expect(doc.repair.unrepaired.map((u: { sha256: string; code: string }) => `${u.code} ${u.sha256}`)).toEqual(planted.map((h) => `OBJECT_UNUSED ${h}`));
    expect(doc.objects.corrupt.map((c: { name: string }) => c.name)).toEqual(planted);
  }, 240_000);
});

/** Objects two snapshots name that the store does not hold: enough that fsck holding them all (each with its users) ran out of a {@link MISSING_HEAP_MIB} MiB heap. */
const MANY_MISSING = 50_000;
/**
 * The V8 heap the CLI is given over many missing objects (MiB): fsck's live heap then peaks near 20
 * MiB (about the same with 200,000), so {@link SMALL_HEAP_MIB} left it too little room now and then.
 */
const MISSING_HEAP_MIB = 32;

describe('snap fsck over many missing objects', () => {
  /**
   * big@v1 and big@v2 (bench/prune-store.mjs --no-objects: one manifest of MANY_MISSING empty files, `ref${i}`
   * their digests' text), none of whose objects was ever written.
   * @returns the store, the digests sorted, and the path of each in the manifest
   */
  async function emptiedStore(): Promise<{ store: string; missing: string[]; pathOf: Map<string, string> }> {
    const store = await newStorePath();
    execFileSync(process.execPath, [join(REPO, 'bench', 'prune-store.mjs'), store, String(MANY_MISSING), '0', '--no-objects'], { stdio: 'ignore' });
    expect(await fsp.readdir(join(store, 'objects', 'sha256'))).toEqual([]);
    const pathOf = new Map<string, string>();
    for (let i = 0; i < MANY_MISSING; i++) pathOf.set(sha256(`ref${i}`), `d${String(Math.floor(i / 1000)).padStart(4, '0')}/f${String(i).padStart(7, '0')}`);
    return { store, missing: [...pathOf.keys()].sort(), pathOf };
  }
  const smallHeap = { env: { NODE_OPTIONS: heapLimit(MISSING_HEAP_MIB) }, timeoutMs: 170_000 };
  /** One emptied store for both tests: neither changes its objects (the repair's source is empty). */
  let emptied: Awaited<ReturnType<typeof emptiedStore>>;
  beforeAll(async () => {
    emptied = await emptiedStore();
  }, 240_000);
  /** The missing object `hex` as fsck reports it: both snapshots use it, as an empty file. */
  const entry = (hex: string, path: string) => ({ sha256: hex, path: `${hex.slice(0, 2)}/${hex.slice(2)}`, usedBy: [{ ref: 'big@v1', path }, { ref: 'big@v2', path }], users: 2, maxBytes: 0 });

  it(`lists all ${MANY_MISSING} in a ${MISSING_HEAP_MIB} MiB heap (it held them all with their users and ran out): --json every one by digest with both users, ok last; the human report the first 20`, async () => {
    const { store, missing, pathOf } = emptied;
    const json = await snapBin(['fsck', '--json', '--store', store], smallHeap);
    expect(json.code, json.stderr.slice(-400)).toBe(1);
    const doc = JSON.parse(json.stdout);
    expect(json.stdout).toBe(JSON.stringify(doc, null, 2) + '\n');
    expect(Object.keys(doc)).toEqual(['store', 'objects', 'snapshots', 'missingObjects', 'strays', 'leftovers', 'counts', 'seconds', 'log', 'ok']);
    expect(doc.missingObjects.map((m: { sha256: string }) => m.sha256)).toEqual(missing);
    for (const h of [missing[0], missing[12_345], missing[MANY_MISSING - 1]] as string[]) expect(doc.missingObjects.find((m: { sha256: string }) => m.sha256 === h)).toEqual(entry(h, pathOf.get(h) as string));
    expect(doc.missingObjects.every((m: { users: number; usedBy: unknown[] }) => m.users === 2 && m.usedBy.length === 2)).toBe(true);
    expect(doc.counts).toEqual({ objects: 0, bytes: 0, corrupt: 0, unreadable: 0, snapshots: 2, badSnapshots: 2, missingObjects: MANY_MISSING, strays: 0, leftovers: 0 });
    expect(doc.snapshots.map((s: { problems: unknown[] }) => s.problems)).toEqual([1, 2].map(() => [{ kind: 'missing-objects', count: MANY_MISSING, message: `${MANY_MISSING} listed files have no object in the store` }]));

    const human = await snapBin(['fsck', '--store', store], smallHeap);
    expect(human.code, human.stderr.slice(-400)).toBe(1);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^FAIL {2}.*: 50,000 missing objects, 2 snapshots with problems; 0 objects \(0 B\) re-hashed, 2 snapshots checked$/);
    expect(lines[1]).toBe(`missing objects (${MANY_MISSING}):`);
    expect(lines.slice(2, 22)).toEqual(missing.slice(0, 20).map((h) => `  objects/sha256/${h.slice(0, 2)}/${h.slice(2)}  content of big@v1:${pathOf.get(h)}, big@v2:${pathOf.get(h)}`));
    expect(lines[22]).toBe(`  … and ${MANY_MISSING - 20} more (--json lists all)`);
  }, 240_000);

  it(`repairs from an empty store in that heap (--repair-from held every missing object, and each the source lacks as unrepaired): --json lists every one as OBJECT_MISSING, by digest; the human report the first 20`, async () => {
    const { store, missing } = emptied;
    const source = await newStorePath();
    expect((await snap(['init', '--store', source])).code).toBe(0);
    const human = await snapBin(['fsck', '--repair-from', source, '--store', store], smallHeap);
    expect(human.code, human.stderr.slice(-400)).toBe(1);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^FAIL {2}.*: 50,000 missing objects, 2 snapshots with problems;/);
    expect(lines[1]).toBe(`repair: 0 objects of ${MANY_MISSING} put back from ${source} (0 B), each checked against its digest`);
    expect(lines.slice(2, 22)).toEqual(missing.slice(0, 20).map((h) => `  not repaired: ${h}  the source does not hold ${h} [OBJECT_MISSING]`));
    expect(lines[22]).toBe(`  … and ${MANY_MISSING - 20} more (--json lists all)`);

    const json = await snapBin(['fsck', '--repair-from', source, '--json', '--store', store], smallHeap);
    expect(json.code, json.stderr.slice(-400)).toBe(1);
    const doc = JSON.parse(json.stdout);
    expect(json.stdout).toBe(JSON.stringify(doc, null, 2) + '\n');
    expect(Object.keys(doc)).toEqual(['store', 'objects', 'snapshots', 'missingObjects', 'strays', 'leftovers', 'counts', 'seconds', 'repair', 'log', 'ok']);
    expect(doc.repair).toMatchObject({ source, kind: 'store', repaired: [], bytes: 0, before: { missingObjects: MANY_MISSING } });
    expect(doc.repair.unrepaired.map((u: { sha256: string; code: string; was: string }) => `${u.code} ${u.was} ${u.sha256}`)).toEqual(missing.map((h) => `OBJECT_MISSING missing ${h}`));
    expect(doc.missingObjects.map((m: { sha256: string }) => m.sha256)).toEqual(missing);
  }, 240_000);
});

describe('snap fsck over more strays than it holds, some not UTF-8', () => {
  it('streams --json with straysNotUtf8 after strays, one held and one read back from the temporary file, each with its exact bytes', async () => {
    const store = await newStorePath();
    expect((await snap(['init', '--store', store])).code).toBe(0);
    const fan = join(store, 'objects', 'sha256', 'ab');
    mkdirSync(fan, { recursive: true });
    for (let i = 0; i < 1000; i++) closeSync(openSync(join(fan, `stray ${i}`), 'w'));
    // In name order, `a\xfe` comes first (held) and `zz\xff` last (the 1,001st and 1,002nd are past FSCK_HELD: in the file).
    for (const name of ['a\xfe', 'zz\xff']) closeSync(openSync(Buffer.concat([Buffer.from(`${fan}/`), Buffer.from(name, 'latin1')]), 'w'));
    const r = await snapJson(['fsck', '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(r.json)).toEqual(['store', 'objects', 'snapshots', 'missingObjects', 'strays', 'straysNotUtf8', 'leftovers', 'counts', 'seconds', 'log', 'ok']);
    expect(r.json.strays).toHaveLength(1002);
    expect(r.json.strays[0]).toBe('objects/sha256/ab/a\udcfe');
    expect(r.json.strays[1001]).toBe('objects/sha256/ab/zz\udcff');
    expect(r.json.straysNotUtf8).toEqual([
      { path: 'objects/sha256/ab/a\udcfe', pathHex: Buffer.from('objects/sha256/ab/a\xfe', 'latin1').toString('hex') },
      { path: 'objects/sha256/ab/zz\udcff', pathHex: Buffer.from('objects/sha256/ab/zz\xff', 'latin1').toString('hex') },
    ]);
    expect(schemaErrors('fsck', r.json)).toBe('');
  }, 120_000);
});

describe('snap fsck whose lists cannot be written to the temporary folder', () => {
  it('--json stops with the error, its code and exit 3 (NOT_FOUND when TMPDIR is not a folder), saying to set TMPDIR; with 1,000 entries it needs no temporary file', async () => {
    const store = await newStorePath();
    expect((await snap(['init', '--store', store])).code).toBe(0);
    const fan = join(store, 'objects', 'sha256', 'ab');
    mkdirSync(fan, { recursive: true });
    for (let i = 0; i < 1000; i++) closeSync(openSync(join(fan, `stray ${i}`), 'w'));
    const notAFolder = join(await makeTree({ f: 'x' }), 'f');
    const env = { env: { TMPDIR: notAFolder } };
    const few = await snapBin(['fsck', '--json', '--store', store], env);
    expect(few.code, few.stderr.slice(-400)).toBe(0);
    expect(JSON.parse(few.stdout).strays).toHaveLength(1000);
    closeSync(openSync(join(fan, 'stray 1000'), 'w')); // 1,001: past FSCK_HELD, the rest goes to a file
    const json = await snapBin(['fsck', '--json', '--store', store], env);
    expect(json.code, json.stdout.slice(-600)).toBe(3);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(doc.error.message).toContain('set TMPDIR to another disk');
    // The human report reads only its first 20 entries: the last one, still waiting to be written, never goes to a file.
    const human = await snapBin(['fsck', '--store', store], env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('not written by snap (left alone, not counted as corruption) (1001):');
  }, 120_000);
});
