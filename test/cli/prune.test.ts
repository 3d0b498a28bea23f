/**
 * `snap prune`: the objects no snapshot references — of a seal killed before its commit, of a
 * snapshot folder removed by hand — are listed (dry run, the default) or removed (`--yes`); every
 * object a snapshot names (its manifest's files, also with --manifest-only; its record indexes and
 * index summaries) stays; a snapshot that cannot be read stops prune before it removes anything;
 * S3 stores are refused.
 */
import { closeSync, mkdirSync, openSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, copyTree, makeTree, shareWithEveryone, snap, snapBin, snapJson, jsonStoppedByCtrlC, tempDir, unprivileged, useKeyPair, heapLimit, type TreeSpec } from '../helpers/tree.js';
import { filesUnder, newStorePath, objectFiles, sha256, snapshotFolder } from '../helpers/store.js';

const keys = useKeyPair('prune');

/** The 64-hex names of the objects of a store, sorted. */
async function objectNames(store: string): Promise<string[]> {
  return (await objectFiles(store)).map((o) => o.name);
}

/** Put `content` into the store as an object no snapshot names (what a killed import leaves). */
async function plantObject(store: string, content: string): Promise<string> {
  const hex = sha256(content);
  await fsp.mkdir(join(store, 'objects', 'sha256', hex.slice(0, 2)), { recursive: true });
  await fsp.writeFile(join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2)), content, { mode: 0o444 });
  return hex;
}

/** Every object a snapshot folder names, read here independently of snap: its manifest's file digests, its statement's record indexes and summaries. */
async function namedBy(dir: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (const line of (await fsp.readFile(join(dir, 'manifest.jsonl'), 'utf8')).split('\n').filter(Boolean)) {
    const e = JSON.parse(line) as { sha256?: string };
    if (e.sha256) out.add(e.sha256);
  }
  const st = JSON.parse(await fsp.readFile(join(dir, 'statement.json'), 'utf8')) as { predicate: { records?: { index: { sha256: string; summary?: string } }[] } };
  for (const m of st.predicate.records ?? []) {
    out.add(m.index.sha256);
    if (m.index.summary) out.add(m.index.summary);
  }
  return out;
}

/** Every snapshot folder of a store, as NAME@VERSION → folder. */
async function snapshotFolders(store: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const n of await fsp.readdir(join(store, 'snapshots'))) {
    for (const v of await fsp.readdir(join(store, 'snapshots', n))) out.set(`${n}@${v}`, join(store, 'snapshots', n, v));
  }
  return out;
}

/** Restore REF into a new folder and say whether its files are byte for byte those of `data`. */
async function restoresAs(store: string, ref: string, data: string): Promise<void> {
  const to = join(await tempDir('snap-prune-restored-'), 'out');
  const r = await snap(['restore', ref, to, '--pubkey', keys.pub, '--store', store]);
  expect(r.code, r.stderr).toBe(0);
  const want = (await filesUnder(data)).sort();
  expect((await filesUnder(to)).sort()).toEqual(want);
  for (const f of want) expect(await fsp.readFile(join(to, f)), `${ref}: ${f}`).toEqual(await fsp.readFile(join(data, f)));
}

describe('snap prune after a seal killed before its commit', () => {
  it('lists exactly the killed seal\'s objects in a dry run, removes nothing, then with --yes removes them; the committed snapshot still verifies and restores', async () => {
    const store = await newStorePath();
    const v1 = await makeTree({ 'shared.txt': 'in both\n', 'one.txt': 'only v1\n', 'sub/blob.bin': Buffer.alloc(4096, 1) });
    expect((await snap(['seal', v1, '--as', 'ds@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const afterV1 = await objectNames(store);
    const v2 = await makeTree({ 'shared.txt': 'in both\n', 'two.txt': 'only the killed seal\n', 'big.bin': Buffer.alloc(70_000, 2) });
    const killed = await snapBin(['seal', v2, '--as', 'ds@v2', '--key', keys.key, '--store', store], { env: { SNAP_TEST_KILL_AT: 'seal-uncommitted' } });
    expect(killed.signal).toBe('SIGKILL');
    expect(await fsp.readdir(join(store, 'snapshots', 'ds'))).toEqual(['v1']);
    const leftover = (await objectNames(store)).filter((h) => !afterV1.includes(h));
    expect(leftover.sort()).toEqual([sha256('only the killed seal\n'), sha256(Buffer.alloc(70_000, 2))].sort());

    const dry = await snapJson(['prune', '--store', store]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json).toMatchObject({ ok: true, removing: false, blockers: [] });
    expect(dry.json.unreferenced).toEqual(leftover.sort().map((h) => ({ sha256: h, path: `${h.slice(0, 2)}/${h.slice(2)}`, bytes: h === sha256('only the killed seal\n') ? 21 : 70_000 })));
    expect(dry.json.counts).toEqual({ objects: afterV1.length + 2, bytes: 8 + 8 + 4096 + 21 + 70_000, snapshots: 1, referenced: afterV1.length, unreferenced: 2, unreferencedBytes: 70_021, removed: 0, removedBytes: 0 });
    expect(await objectNames(store)).toEqual([...afterV1, ...leftover].sort());
    const human = await snap(['prune', '--store', store]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^DRY RUN .*would remove 2 objects \(/);
    expect(human.stdout).toContain('--yes');

    const r = await snapJson(['prune', '--yes', '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ ok: true, removing: true });
    expect(r.json.counts).toMatchObject({ unreferenced: 2, removed: 2, removedBytes: 70_021 });
    expect(await objectNames(store)).toEqual(afterV1);
    expect((await snap(['fsck', '--store', store])).code).toBe(0);
    expect((await snap(['verify', v1, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store])).code).toBe(0);
    await restoresAs(store, 'ds@v1', v1);

    const again = await snapJson(['prune', '--yes', '--store', store]);
    expect(again.code).toBe(0);
    expect(again.json.counts).toMatchObject({ unreferenced: 0, removed: 0 });
    // The audit log records each run.
    const log = (await fsp.readFile(join(store, 'log.jsonl'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { command: string; outcome: string; details?: Record<string, unknown> });
    const prunes = log.filter((l) => l.command === 'prune');
    expect(prunes.map((l) => [l.outcome, l.details?.removing, l.details?.removed])).toEqual([['ok', false, 0], ['ok', false, 0], ['ok', true, 2], ['ok', true, 0]]);
  }, 60_000);
});

describe('snap prune killed while it removes', () => {
  it('leaves a store fsck passes, and the next prune removes the rest', async () => {
    const store = await newStorePath();
    const d = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'beta\n' });
    expect((await snap(['seal', d, '--as', 'ds@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const kept = await objectNames(store);
    const planted = [await plantObject(store, 'one\n'), await plantObject(store, 'two\n'), await plantObject(store, 'three\n')];
    const killed = await snapBin(['prune', '--yes', '--store', store], { env: { SNAP_TEST_KILL_AT: 'prune-removed:2' } });
    expect(killed.signal).toBe('SIGKILL');
    const left = await objectNames(store);
    expect(left.filter((h) => planted.includes(h))).toHaveLength(1);
    for (const h of kept) expect(left).toContain(h);
    const f = await snapJson(['fsck', '--store', store]);
    expect(f.code, f.stderr).toBe(0);
    const r = await snapJson(['prune', '--yes', '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.counts.removed).toBe(1);
    expect(await objectNames(store)).toEqual(kept);
    await restoresAs(store, 'ds@v1', d);
  }, 60_000);
});

/** Make every folder under `path` 0555 and every file 0444 (what `chmod -R a-w` leaves of a shared store). */
async function readOnlyTree(path: string): Promise<void> {
  const st = await fsp.lstat(path);
  if (st.isSymbolicLink()) return;
  if (!st.isDirectory()) return fsp.chmod(path, 0o444);
  for (const n of await fsp.readdir(path)) await readOnlyTree(join(path, n));
  await fsp.chmod(path, 0o555);
}

describe('snap prune on a store this user cannot write', () => {
  it('lists in a dry run without the lock and says the listing may be stale (human and --json); --yes still needs the lock and removes nothing (exit 3)', async () => {
    const store = await newStorePath();
    const d = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'beta\n' });
    expect((await snap(['seal', d, '--as', 'ds@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const kept = await objectNames(store);
    const planted = await plantObject(store, 'left by a killed import\n');
    const writable = await snapJson(['prune', '--store', store]);
    expect(writable.json).toMatchObject({ ok: true, locked: true });
    expect(writable.json).not.toHaveProperty('lockError');

    await shareWithEveryone(join(store, '..'));
    await readOnlyTree(store);
    // As root, permissions do not apply: run as the user "nobody" (or as root without the override capabilities).
    const as = unprivileged();
    const dry = await snapBin(['prune', '--json', '--store', store], as);
    expect(dry.code, dry.stderr).toBe(0);
    const json = JSON.parse(dry.stdout);
    expect(json).toMatchObject({ ok: true, removing: false, locked: false, blockers: [] });
    expect(json.lockError).toMatch(/cannot lock the store .*permission denied/);
    expect(json.unreferenced.map((o: { sha256: string }) => o.sha256)).toEqual([planted]);
    expect(json.counts).toMatchObject({ objects: kept.length + 1, referenced: kept.length, unreferenced: 1, removed: 0 });
    expect(json.log).toMatchObject({ written: false });

    const human = await snapBin(['prune', '--store', store], as);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^DRY RUN .*would remove 1 object \(/);
    expect(human.stdout).toContain('listed without the store lock');
    expect(human.stdout).toContain('may be stale');

    const yes = await snapBin(['prune', '--yes', '--json', '--store', store], as);
    expect(yes.code).toBe(3);
    expect(JSON.parse(yes.stdout).error).toMatchObject({ code: 'IO_ERROR' });
    expect(await objectNames(store)).toEqual([...kept, planted].sort());
    await expect(fsp.access(join(store, 'lock'))).rejects.toThrow();
  }, 60_000);
});

describe('snap prune keeps every object a snapshot names', () => {
  it('keeps the record indexes and index summaries of record-index snapshots, and the snap.json and indexes of a --manifest-only snapshot', async () => {
    const data = await copyTree(join(REPO, 'examples', 'tabular'));
    const store = await newStorePath();
    expect((await snap(['seal', data, '--as', 'tab@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const csv = join(data, 'iris.csv');
    await fsp.writeFile(csv, (await fsp.readFile(csv, 'utf8')).replace(/setosa/, 'virginica'));
    const r2 = await snap(['seal', data, '--as', 'tab@v2', '--key', keys.key, '--manifest-only', '--store', store]);
    expect(r2.code, r2.stderr).toBe(0);
    const named = new Set([...(await namedBy(snapshotFolder(store, 'tab', 'v1'))), ...(await namedBy(snapshotFolder(store, 'tab', 'v2')))]);
    const st2 = JSON.parse(await fsp.readFile(join(snapshotFolder(store, 'tab', 'v2'), 'statement.json'), 'utf8'));
    const indexes2: string[] = st2.predicate.records.flatMap((m: { index: { sha256: string; summary?: string } }) => [m.index.sha256, ...(m.index.summary ? [m.index.summary] : [])]);
    expect(indexes2.length).toBeGreaterThanOrEqual(4); // three sets, at least one summary
    const before = await objectNames(store);
    for (const h of indexes2) expect(before, 'a record object of the --manifest-only snapshot').toContain(h);
    const stray = await plantObject(store, 'no snapshot names me\n');

    const r = await snapJson(['prune', '--yes', '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.unreferenced.map((o: { sha256: string }) => o.sha256)).toEqual([stray]);
    expect(await objectNames(store)).toEqual(before);
    for (const h of named) if (before.includes(h)) expect(await objectNames(store)).toContain(h);
    expect((await snap(['fsck', '--store', store])).code).toBe(0);
    // The records of the --manifest-only snapshot can still be compared: the label flip is found.
    const d = await snapJson(['diff', 'tab@v1', 'tab@v2', '--store', store]);
    expect(d.code).toBe(1);
    expect(JSON.stringify(d.json)).toContain('virginica');
  }, 120_000);
});

describe('snap prune fails closed', () => {
  /** A store with ds@v1 and one object no snapshot names, which prune would remove. */
  async function storeWithGarbage(): Promise<{ store: string; objects: string[] }> {
    const store = await newStorePath();
    const d = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'beta\n' });
    expect((await snap(['seal', d, '--as', 'ds@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    await plantObject(store, 'garbage\n');
    return { store, objects: await objectNames(store) };
  }

  it('removes nothing when a snapshot\'s manifest is damaged, and names it (exit 1)', async () => {
    const { store, objects } = await storeWithGarbage();
    const manifest = join(snapshotFolder(store, 'ds', 'v1'), 'manifest.jsonl');
    await fsp.chmod(manifest, 0o644);
    await fsp.writeFile(manifest, (await fsp.readFile(manifest, 'utf8')).replace('a.txt', 'A.txt'));
    const r = await snapJson(['prune', '--yes', '--store', store]);
    expect(r.code).toBe(1);
    expect(r.json.ok).toBe(false);
    expect(r.json.unreferenced).toEqual([]);
    expect(r.json.counts).toMatchObject({ removed: 0, unreferenced: 0 });
    expect(r.json.blockers).toEqual([{ kind: 'snapshot', path: 'snapshots/ds/v1', ref: 'ds@v1', message: expect.stringContaining('manifest.jsonl') }]);
    expect(await objectNames(store)).toEqual(objects);
    const human = await snap(['prune', '--yes', '--store', store]);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^FAIL .*nothing removed/);
    expect(human.stdout).toContain('snapshots/ds/v1');
    expect(await objectNames(store)).toEqual(objects);
  });

  it('removes nothing when a snapshot\'s envelope does not parse, or its statement.json is gone', async () => {
    for (const damage of [(dir: string) => fsp.writeFile(join(dir, 'envelope.json'), '{"not":"an envelope"}'), (dir: string) => fsp.rm(join(dir, 'statement.json'))]) {
      const { store, objects } = await storeWithGarbage();
      const dir = snapshotFolder(store, 'ds', 'v1');
      await fsp.chmod(join(dir, 'envelope.json'), 0o644);
      await damage(dir);
      const r = await snapJson(['prune', '--yes', '--store', store]);
      expect(r.code).toBe(1);
      expect(r.json.blockers.map((b: { path: string }) => b.path)).toEqual(['snapshots/ds/v1']);
      expect(await objectNames(store)).toEqual(objects);
    }
  });

  it('removes nothing when snapshots/ holds an entry that is not a snapshot folder (a folder renamed by hand)', async () => {
    const { store, objects } = await storeWithGarbage();
    await fsp.cp(snapshotFolder(store, 'ds', 'v1'), join(store, 'snapshots', 'ds', 'v1 old'), { recursive: true });
    const r = await snapJson(['prune', '--yes', '--store', store]);
    expect(r.code).toBe(1);
    expect(r.json.blockers).toEqual([expect.objectContaining({ kind: 'stray', path: 'snapshots/ds/v1 old' })]);
    expect(await objectNames(store)).toEqual(objects);
  });

  it('removes nothing when a snapshot folder holds a folder (a snapshot moved into it by hand), but a stray file there names no object', async () => {
    const { store, objects } = await storeWithGarbage();
    const d2 = await makeTree({ 'c.txt': 'gamma\n' });
    expect((await snap(['seal', d2, '--as', 'ds@v2', '--key', keys.key, '--store', store])).code).toBe(0);
    await fsp.rename(snapshotFolder(store, 'ds', 'v1'), join(snapshotFolder(store, 'ds', 'v2'), 'v1 kept'));
    const all = await objectNames(store);
    const r = await snapJson(['prune', '--yes', '--store', store]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.blockers).toEqual([expect.objectContaining({ kind: 'stray', path: 'snapshots/ds/v2/v1 kept' })]);
    expect(await objectNames(store)).toEqual(all);
    expect(all).toEqual(expect.arrayContaining(objects));

    await fsp.rename(join(snapshotFolder(store, 'ds', 'v2'), 'v1 kept'), snapshotFolder(store, 'ds', 'v1'));
    await fsp.writeFile(join(snapshotFolder(store, 'ds', 'v1'), 'NOTES.txt'), 'a note\n');
    const again = await snapJson(['prune', '--yes', '--store', store]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.counts.removed).toBe(1);
  });

  it('removes nothing when a snapshot was moved by hand into a folder whose name is not UTF-8, in snapshots/ or in a snapshot folder, and names each by its exact bytes (pathHex), escaped in the human report', async () => {
    const { store, objects } = await storeWithGarbage();
    const d2 = await makeTree({ 'c.txt': 'gamma\n' });
    expect((await snap(['seal', d2, '--as', 'ds@v2', '--key', keys.key, '--store', store])).code).toBe(0);
    const bytesOf = (rel: string) => Buffer.from(rel, 'latin1');
    const inside = bytesOf('snapshots/ds/v2/v1 \xff');
    await fsp.rename(snapshotFolder(store, 'ds', 'v1'), Buffer.concat([Buffer.from(`${store}/`), inside]));
    const all = await objectNames(store);
    const r = await snapJson(['prune', '--yes', '--store', store]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.blockers).toEqual([expect.objectContaining({ kind: 'stray', path: 'snapshots/ds/v2/v1 \udcff', pathHex: inside.toString('hex') })]);
    expect(await objectNames(store)).toEqual(all);
    expect(all).toEqual(expect.arrayContaining(objects));

    const top = bytesOf('snapshots/\xfe');
    await fsp.rename(Buffer.concat([Buffer.from(`${store}/`), inside]), Buffer.concat([Buffer.from(`${store}/`), top]));
    const again = await snapJson(['prune', '--store', store]);
    expect(again.code, again.stderr).toBe(1);
    expect(again.json.blockers).toEqual([expect.objectContaining({ kind: 'stray', path: 'snapshots/\udcfe', pathHex: top.toString('hex') })]);
    // Its audit line is written (canonical JSON holds no lone surrogate: the name as Node reads it, U+FFFD), and the log still verifies.
    const last = JSON.parse((await fsp.readFile(join(store, 'log.jsonl'), 'utf8')).trimEnd().split('\n').pop() as string);
    expect(last).toMatchObject({ command: 'prune', outcome: 'failed', details: { blockers: ['snapshots/\ufffd'], blockerCount: 1 } });
    expect((await snap(['log', '--verify', '--store', store])).code).toBe(0);
    const human = await snap(['prune', '--store', store]);
    expect(human.stdout).toContain('  snapshots/\\xfe: ');
    expect(human.stdout).not.toContain('\ufffd');
  });

  it('blocked by thousands of long stray names, writes an audit line snap log --verify still accepts (the first blockers and their count)', async () => {
    const { store, objects } = await storeWithGarbage();
    const long = 'x'.repeat(200);
    for (let i = 0; i < 6000; i++) await fsp.mkdir(join(store, 'snapshots', `${long}${i}`));
    const r = await snapJson(['prune', '--yes', '--store', store]);
    expect(r.code).toBe(1);
    expect(r.json.blockers).toHaveLength(6000);
    expect(await objectNames(store)).toEqual(objects);
    const v = await snap(['log', '--verify', '--store', store]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    const last = JSON.parse((await fsp.readFile(join(store, 'log.jsonl'), 'utf8')).trimEnd().split('\n').pop() as string) as { command: string; details: { blockers: string[]; blockerCount: number } };
    expect(last.command).toBe('prune');
    expect(last.details.blockerCount).toBe(6000);
    expect(last.details.blockers).toEqual(r.json.blockers.slice(0, last.details.blockers.length).map((b: { path: string }) => b.path));
    expect(last.details.blockers.length).toBeGreaterThan(0);
  }, 60_000);

  it('removes nothing through a fan-out folder that is a symbolic link (STORE_MALFORMED, exit 3), as no writer writes through one', async () => {
    const { store, objects } = await storeWithGarbage();
    const outside = await tempDir('snap-prune-outside-');
    const hex = sha256('behind a link\n');
    const victim = join(outside, hex.slice(2));
    await fsp.writeFile(victim, 'behind a link\n');
    await fsp.symlink(outside, join(store, 'objects', 'sha256', hex.slice(0, 2)));
    const r = await snapJson(['prune', '--yes', '--store', store]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('STORE_MALFORMED');
    expect(r.json.error.message).toContain(`objects/sha256/${hex.slice(0, 2)} is a symbolic link`);
    expect(await fsp.readFile(victim, 'utf8')).toBe('behind a link\n');
    expect((await objectNames(store)).filter((h) => h !== hex)).toEqual(objects);
  });

  it('refuses an S3 store (exit 2, USAGE), saying objects there may be under Object Lock', async () => {
    const r = await snapJson(['prune', '--yes', '--store', 's3://bucket/prefix']);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('USAGE');
    expect(r.json.error.message).toContain('Object Lock');
  });

  it('exits 3 when there is no store', async () => {
    const r = await snapJson(['prune', '--store', join(await tempDir('snap-prune-none-'), 'nothing')]);
    expect(r.code).toBe(3);
    expect(r.json.ok).toBe(false);
  });
});

describe('snap prune --json on a small store', () => {
  it('prints the same document, byte for byte, as before the listing was streamed: ok first, then store, removing, locked, unreferenced, blockers, counts, seconds, log', async () => {
    const store = await newStorePath();
    const d = await makeTree({ 'a.txt': 'alpha\n' });
    expect((await snap(['seal', d, '--as', 'ds@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const planted = [await plantObject(store, 'one\n'), await plantObject(store, 'three\n'), await plantObject(store, 'seven!\n')].sort();
    for (const yes of [false, true]) {
      const r = await snap(['prune', '--json', '--store', store, ...(yes ? ['--yes'] : [])]);
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(Object.keys(doc)).toEqual(['ok', 'store', 'removing', 'locked', 'unreferenced', 'blockers', 'counts', 'seconds', 'log']);
      const seconds = doc.seconds as number;
      expect(seconds).toBeGreaterThanOrEqual(0);
      const want = {
        ok: true,
        store,
        removing: yes,
        locked: true,
        unreferenced: planted.map((h) => ({ sha256: h, path: `${h.slice(0, 2)}/${h.slice(2)}`, bytes: h === sha256('one\n') ? 4 : h === sha256('three\n') ? 6 : 7 })),
        blockers: [],
        counts: { objects: 4, bytes: 6 + 17, snapshots: 1, referenced: 1, unreferenced: 3, unreferencedBytes: 17, removed: yes ? 3 : 0, removedBytes: yes ? 17 : 0 },
        seconds,
        log: { written: true, seq: yes ? 3 : 2 },
      };
      expect(r.stdout).toBe(JSON.stringify(want, null, 2) + '\n');
    }
  });
});

/** Plant `n` empty objects no snapshot names (digests of `unref0`, `unref1`, …) straight into the store's fan-out folders; their digests, sorted. */
function plantMany(store: string, n: number): string[] {
  const made = new Set<string>();
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const h = sha256(`unref${i}`);
    const fan = join(store, 'objects', 'sha256', h.slice(0, 2));
    if (!made.has(fan)) mkdirSync(fan, { recursive: true });
    made.add(fan);
    closeSync(openSync(join(fan, h.slice(2)), 'w', 0o444));
    out.push(h);
  }
  return out.sort();
}

/** Objects enough that prune, holding them all and building its document in memory, ran out of a {@link SMALL_HEAP_MIB} MiB heap. */
const MANY_UNREFERENCED = 60_000;
/** Objects planted in one fan-out folder, enough that reading that folder's names at once ran out of a {@link SMALL_HEAP_MIB} MiB heap. */
const ONE_FAN_UNREFERENCED = 100_000;
/** The V8 heap the CLI is given over {@link MANY_UNREFERENCED} objects (`--max-old-space-size`, MiB). */
const SMALL_HEAP_MIB = 24;

describe('snap prune over many unreferenced objects', () => {
  /** A store with ds@v1 (one object) and MANY_UNREFERENCED planted objects. */
  async function crowdedStore(): Promise<{ store: string; kept: string[]; planted: string[] }> {
    const store = await newStorePath();
    const d = await makeTree({ 'a.txt': 'alpha\n' });
    expect((await snap(['seal', d, '--as', 'ds@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const kept = await objectNames(store);
    return { store, kept, planted: plantMany(store, MANY_UNREFERENCED) };
  }
  const smallHeap = { env: { NODE_OPTIONS: heapLimit(SMALL_HEAP_MIB) }, timeoutMs: 170_000 };
  /**
   * One crowded store for the tests that list it (planting 60,000 files costs more than the
   * prunes): made before them; the Ctrl-C test, a dry run, first, the one that removes them last.
   */
  let crowded: Awaited<ReturnType<typeof crowdedStore>>;
  beforeAll(async () => {
    crowded = await crowdedStore();
  }, 240_000);

  it('keeps --json one document when Ctrl-C stops it while it streams the list: the objects listed so far, then "ok": false and the error', async () => {
    const { store, planted } = crowded;
    // Stopped once the document has begun (its first 64 KiB are on stdout), before it ends.
    const doc = await jsonStoppedByCtrlC(['prune', '--json', '--store', store]);
    expect(doc).toMatchObject({ store, removing: false });
    expect(doc.unreferenced.length).toBeGreaterThan(0);
    expect(doc.unreferenced.length).toBeLessThan(MANY_UNREFERENCED);
    expect(doc.unreferenced.map((o: { sha256: string }) => o.sha256)).toEqual(planted.slice(0, doc.unreferenced.length));
  }, 240_000);

  it(`lists and removes ${MANY_UNREFERENCED} of them in a ${SMALL_HEAP_MIB} MiB heap (it held them all and built the document in memory, and ran out): --json streams every one, in digest order, with ok last; the human report shows the first 20`, async () => {
    const { store, kept, planted } = crowded;
    const dry = await snapBin(['prune', '--json', '--store', store], smallHeap);
    expect(dry.code, dry.stderr.slice(-400)).toBe(0);
    const doc = JSON.parse(dry.stdout);
    expect(dry.stdout).toBe(JSON.stringify(doc, null, 2) + '\n');
    expect(Object.keys(doc)).toEqual(['store', 'removing', 'locked', 'unreferenced', 'blockers', 'counts', 'seconds', 'log', 'ok']);
    expect(doc).toMatchObject({ ok: true, store, removing: false, locked: true, blockers: [], log: { written: true } });
    expect(doc.unreferenced.map((o: { sha256: string }) => o.sha256)).toEqual(planted);
    expect(doc.unreferenced[0]).toEqual({ sha256: planted[0], path: `${planted[0]?.slice(0, 2)}/${planted[0]?.slice(2)}`, bytes: 0 });
    expect(doc.counts).toEqual({ objects: kept.length + MANY_UNREFERENCED, bytes: 6, snapshots: 1, referenced: 1, unreferenced: MANY_UNREFERENCED, unreferencedBytes: 0, removed: 0, removedBytes: 0 });

    const human = await snapBin(['prune', '--store', store], smallHeap);
    expect(human.code, human.stderr.slice(-400)).toBe(0);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^DRY RUN .*would remove 60,000 objects \\(0 B\\) no snapshot references; 60,001 objects`));
    expect(lines.slice(1, 21)).toEqual(planted.slice(0, 20).map((h) => `  objects/sha256/${h.slice(0, 2)}/${h.slice(2)}  0 B`));
    expect(lines.slice(21)).toEqual([`  … and ${MANY_UNREFERENCED - 20} more (--json lists all)`, '  To remove them: run again with --yes']);
    expect(await objectNames(store)).toEqual([...kept, ...planted].sort());

    const yes = await snapBin(['prune', '--yes', '--json', '--store', store], smallHeap);
    expect(yes.code, yes.stderr.slice(-400)).toBe(0);
    const removed = JSON.parse(yes.stdout);
    expect(removed).toMatchObject({ ok: true, removing: true, counts: { unreferenced: MANY_UNREFERENCED, removed: MANY_UNREFERENCED } });
    expect(removed.unreferenced).toHaveLength(MANY_UNREFERENCED);
    expect(await objectNames(store)).toEqual(kept);
    expect((await snap(['fsck', '--store', store])).code).toBe(0);
  }, 240_000);

  it(`lists and removes ${ONE_FAN_UNREFERENCED} planted in one fan-out folder in that heap (one folder's names were all read, as strings, at once)`, async () => {
    const store = await newStorePath();
    const d = await makeTree({ 'a.txt': 'alpha\n' });
    expect((await snap(['seal', d, '--as', 'ds@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const kept = await objectNames(store);
    const fan = join(store, 'objects', 'sha256', 'ab');
    mkdirSync(fan, { recursive: true });
    const planted: string[] = [];
    for (let i = 0; i < ONE_FAN_UNREFERENCED; i++) {
      const rest = sha256(`one fan ${i}`).slice(2);
      closeSync(openSync(join(fan, rest), 'w', 0o444));
      planted.push(`ab${rest}`);
    }
    planted.sort();
    const dry = await snapBin(['prune', '--json', '--store', store], smallHeap);
    expect(dry.code, dry.stderr.slice(-400)).toBe(0);
    const doc = JSON.parse(dry.stdout);
    expect(doc.unreferenced.map((o: { sha256: string }) => o.sha256)).toEqual(planted);
    expect(doc.counts).toMatchObject({ objects: kept.length + ONE_FAN_UNREFERENCED, unreferenced: ONE_FAN_UNREFERENCED });
    const human = await snapBin(['prune', '--store', store], smallHeap);
    expect(human.code, human.stderr.slice(-400)).toBe(0);
    expect(human.stdout.split('\n')[1]).toBe(`  objects/sha256/ab/${planted[0]?.slice(2)}  0 B`);
    const yes = await snapBin(['prune', '--yes', '--store', store], smallHeap);
    expect(yes.code, yes.stderr.slice(-400)).toBe(0);
    expect(yes.stdout).toMatch(/^OK {4}.*: removed 100,000 objects \(0 B\) no snapshot references/);
    expect(await objectNames(store)).toEqual(kept);
    expect((await snap(['fsck', '--store', store])).code).toBe(0);
  }, 240_000);

});

/** A random dataset: up to 5 files drawn from a small pool of contents, so that seals share objects. */
const CONTENTS = ['a\n', 'b\n', 'shared\n', 'x'.repeat(300), 'y\n', 'z\n', ''];
const treeArb = fc.uniqueArray(fc.record({ path: fc.constantFrom('f1', 'f2', 'd/f3', 'd/e/f4', 'g5'), content: fc.constantFrom(...CONTENTS) }), { selector: (f) => f.path, minLength: 1, maxLength: 5 });

describe('snap prune on random stores (property)', () => {
  it('after prune --yes, fsck passes, every remaining snapshot restores byte for byte, and no object is left that no snapshot names', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ tree: treeArb, deleted: fc.boolean(), manifestOnly: fc.boolean() }), { minLength: 1, maxLength: 4 }), fc.array(fc.string({ minLength: 1, maxLength: 8 }), { maxLength: 3 }), async (seals, planted) => {
        const store = await newStorePath();
        const kept = new Map<string, string>();
        for (const [i, s] of seals.entries()) {
          const spec: TreeSpec = Object.fromEntries(s.tree.map((f) => [f.path, f.content]));
          const data = await makeTree(spec);
          const ref = `ds@v${i + 1}`;
          const r = await snap(['seal', data, '--as', ref, '--key', keys.key, '--no-parent', '--store', store, ...(s.manifestOnly ? ['--manifest-only'] : [])]);
          expect(r.code, r.stderr).toBe(0);
          if (s.deleted) await fsp.rm(snapshotFolder(store, 'ds', `v${i + 1}`), { recursive: true, force: true });
          else if (!s.manifestOnly) kept.set(ref, data);
        }
        for (const p of planted) await plantObject(store, p);
        const r = await snapJson(['prune', '--yes', '--store', store]);
        expect(r.code, r.stderr).toBe(0);
        const named = new Set<string>();
        for (const dir of (await snapshotFolders(store)).values()) for (const h of await namedBy(dir)) named.add(h);
        const left = await objectNames(store);
        for (const h of left) expect(named, `object ${h} is left, and no snapshot names it`).toContain(h);
        expect(r.json.counts.removed).toBe(r.json.unreferenced.length);
        expect((await snap(['fsck', '--store', store])).code).toBe(0);
        for (const [ref, data] of kept) await restoresAs(store, ref, data);
      }),
      { numRuns: 8 },
    );
  }, 240_000);
});
