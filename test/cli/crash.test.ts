/**
 * A seal killed midway (SIGKILL: no cleanup runs) leaves the store valid (SPEC §7): no snapshot
 * appears, no partial object sits under a final name, and the same NAME@VERSION can be sealed and
 * verified afterwards. The same for an import; a killed export never leaves a partial archive
 * under its name; a killed restore never leaves a partial file under a name of the snapshot; and
 * the hidden temporary file a killed `prove -o`, `report -o` or `keygen` leaves is removed by the
 * next writer of that file, once its process is gone (never while it runs); and the scratch folder
 * a killed drill leaves in $TMPDIR is removed by the next command that makes one there.
 */
import { existsSync, mkdirSync, promises as fsp, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { basename, dirname, join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, makeTree, shareWithEveryone, snapBin, snapJson, spawnSnap, tempDir, unprivileged, useKeyPair } from '../helpers/tree.js';
import { hostTag } from '../../src/io/output-temp.js';
import { filesUnder, newStorePath, objectFiles, sealTree, sha256File } from '../helpers/store.js';

const keys = useKeyPair();

/** True once STORE/tmp holds an object being copied. */
function tmpBusy(store: string): boolean {
  try {
    return readdirSync(join(store, 'tmp')).some((n) => n.startsWith('obj-'));
  } catch {
    return false;
  }
}

/** Three files of 40 MiB and a small one: big enough that a command can be killed while it works. */
function bigSpec(): Record<string, Buffer> {
  const spec: Record<string, Buffer> = {};
  for (let i = 0; i < 3; i++) spec[`shard-${i}.bin`] = Buffer.alloc(40 << 20, i + 1);
  spec['small.txt'] = Buffer.from('small\n');
  return spec;
}

describe('a seal killed midway', () => {
  it('leaves the store valid: no snapshot listed, every object hashes to its name, and the same NAME@VERSION seals and verifies afterwards', async () => {
    // A few large files: each is copied into STORE/tmp while it is hashed, which takes a while.
    const data = await makeTree(bigSpec());
    const store = await newStorePath();

    const { child, done } = spawnSnap(['seal', data, '--as', 'big@v1', '--key', keys.key, '--store', store, '--jobs', '1', '--quiet']);
    // Kill it while an object is being copied into STORE/tmp.
    await killWhen(child, () => tmpBusy(store));
    const r = await done;
    expect(r.signal, `the seal finished before it could be killed (exit ${r.code}); make the dataset bigger`).toBe('SIGKILL');
    // The killed seal did leave work in progress behind (so this test exercises the crash it means to).
    expect((await filesUnder(join(store, 'tmp'))).length).toBeGreaterThan(0);

    // Nothing committed.
    const list = await snapJson(['list', '--store', store]);
    expect(list.code).toBe(0);
    expect(list.json.snapshots).toEqual([]);
    expect(await filesUnder(join(store, 'snapshots'))).toEqual([]);
    // No partial object under a final name.
    for (const o of await objectFiles(store)) expect(await sha256File(o.path), o.name).toBe(o.name);

    // The killed writer's lock is taken over; its leftovers in tmp are cleared.
    const again = await snapJson(['seal', data, '--as', 'big@v1', '--key', keys.key, '--store', store]);
    expect(again.code, again.stderr).toBe(0);
    expect(await filesUnder(join(store, 'tmp'))).toEqual([]);
    const objs = await objectFiles(store);
    expect(objs).toHaveLength(4);
    for (const o of objs) expect(await sha256File(o.path)).toBe(o.name);
    const v = await snapJson(['verify', data, '--against', 'big@v1', '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(0);
    expect(v.json.counts.matched).toBe(4);
  }, 30_000);
});

/** Wait until `ready()` or the child exits (at most 10 s), then `settleMs` more (default 20), then SIGKILL it. */
async function killWhen(child: import('node:child_process').ChildProcess, ready: () => boolean, settleMs = 20): Promise<void> {
  const started = Date.now();
  while (!ready() && Date.now() - started < 10_000 && child.exitCode === null) await new Promise((r) => setTimeout(r, settleMs === 0 ? 1 : 5));
  if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
  child.kill('SIGKILL');
}

/** Three 40 MiB files and a small one, sealed into a new store. */
async function bigSnapshot() {
  const data = await makeTree(bigSpec());
  const store = await newStorePath();
  expect((await snapJson(['seal', data, '--as', 'big@v1', '--key', keys.key, '--store', store])).code).toBe(0);
  return { data, store };
}

describe('an export killed midway', () => {
  it('never leaves a partial FILE: the archive appears only when complete, and a new export works and removes the killed one\'s temporary file', async () => {
    const { data, store } = await bigSnapshot();
    const outDir = dirname(store);
    const file = join(outDir, 'big@v1.snap.tar');
    const temp = () => readdirSync(outDir).filter((n) => n.startsWith('.big@v1.snap.tar.') && n.endsWith('.tmp'));
    const { child, done } = spawnSnap(['export', 'big@v1', '-o', file, '--store', store, '--jobs', '1', '--quiet']);
    await killWhen(child, () => temp().some((n) => statSync(join(outDir, n)).size > 0));
    const r = await done;
    expect(r.signal, `the export finished before it could be killed (exit ${r.code})`).toBe('SIGKILL');
    expect(temp().length).toBeGreaterThan(0); // killed while writing (its hidden temporary file stays)
    expect(existsSync(file)).toBe(false);
    // Left untouched for a minute (a live writer keeps it fresh): the next export removes it.
    const past = new Date(Date.now() - 60_000);
    for (const n of temp()) utimesSync(join(outDir, n), past, past);

    const again = await snapJson(['export', 'big@v1', '-o', file, '--store', store]);
    expect(again.code, again.stderr).toBe(0);
    expect(temp()).toEqual([]);
    const out = join(outDir, 'restored');
    const restored = await snapJson(['restore', file, out, '--pubkey', keys.pub]);
    expect(restored.code, restored.stderr).toBe(0);
    const v = await snapJson(['verify', data, '--against', file, '--pubkey', keys.pub]);
    expect(v.code).toBe(0);
  }, 60_000);
});

describe('an import killed midway', () => {
  it('leaves the store valid: no snapshot, every object hashes to its name, and the import then succeeds', async () => {
    const { data, store } = await bigSnapshot();
    const file = join(dirname(store), 'big@v1.snap.tar');
    expect((await snapJson(['export', 'big@v1', '-o', file, '--store', store])).code).toBe(0);
    const fresh = await newStorePath();
    const { child, done } = spawnSnap(['import', file, '--pubkey', keys.pub, '--store', fresh, '--quiet']);
    await killWhen(child, () => filesUnderSync(join(fresh, 'tmp')).length > 0);
    const r = await done;
    expect(r.signal, `the import finished before it could be killed (exit ${r.code})`).toBe('SIGKILL');
    expect((await filesUnder(join(fresh, 'tmp'))).length).toBeGreaterThan(0);
    expect(await filesUnder(join(fresh, 'snapshots'))).toEqual([]);
    for (const o of await objectFiles(fresh)) expect(await sha256File(o.path), o.name).toBe(o.name);

    const again = await snapJson(['import', file, '--pubkey', keys.pub, '--store', fresh]);
    expect(again.code, again.stderr).toBe(0);
    expect(await filesUnder(join(fresh, 'tmp'))).toEqual([]);
    const v = await snapJson(['verify', data, '--against', 'big@v1', '--pubkey', keys.pub, '--store', fresh]);
    expect(v.code).toBe(0);
    const f = await snapJson(['fsck', '--store', fresh]);
    expect(f.code, f.stderr).toBe(0);
  }, 60_000);
});

/** Restore's temporary file name (io/write-pool.ts RESTORE_TEMP_RE). */
const RESTORE_TEMP = /^\.snap-restore\.[0-9a-f]{12}\.tmp$/;

/** True once the target holds a large file being written: a temporary one with some bytes, or a 40 MiB shard with some but not all. */
function bigFileStarted(target: string): boolean {
  try {
    return readdirSync(target).some((n) => {
      const size = statSync(join(target, n)).size;
      return (RESTORE_TEMP.test(n) && size > 0) || (n.startsWith('shard-') && size > 0 && size < 40 << 20);
    });
  } catch {
    return false;
  }
}

describe('a restore killed midway', () => {
  for (const from of ['store', 'archive'] as const) {
    it(`from the ${from}: every file under a name of the snapshot is whole (the one being written is under a temporary name), and a rerun says what the folder holds`, async () => {
      const { data, store } = await bigSnapshot();
      let source = 'big@v1';
      if (from === 'archive') {
        source = join(dirname(store), 'big@v1.snap.tar');
        expect((await snapJson(['export', 'big@v1', '-o', source, '--store', store])).code).toBe(0);
      }
      const target = join(dirname(store), 'restored');
      const { child, done } = spawnSnap(['restore', source, target, '--pubkey', keys.pub, '--store', store, '--jobs', '1', '--quiet']);
      await killWhen(child, () => bigFileStarted(target), 0);
      const r = await done;
      expect(r.signal, `the restore finished before it could be killed (exit ${r.code})`).toBe('SIGKILL');

      const left = filesUnderSync(target);
      const named = left.filter((n) => !RESTORE_TEMP.test(n.split('/').pop() as string));
      for (const rel of named) expect(await sha256File(join(target, rel)), `${rel} is not whole`).toBe(await sha256File(join(data, rel)));
      // It was killed while a large file was being written: that one is under a temporary name.
      expect(left.length - named.length).toBeGreaterThan(0);

      const again = await snapJson(['restore', source, target, '--pubkey', keys.pub, '--store', store]);
      expect(again.code).toBe(3);
      expect(again.json.error.code).toBe('TARGET_NOT_EMPTY');
      expect(again.json.error.message).toContain('a restore that was stopped');
      const fresh = join(dirname(store), 'restored-again');
      const ok = await snapJson(['restore', source, fresh, '--pubkey', keys.pub, '--store', store]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(filesUnderSync(fresh).some((n) => n.includes('.snap-restore.'))).toBe(false);
    }, 60_000);
  }
});

/** Set the mtime of each of `dir`'s `names` a minute into the past (a live archive writer keeps its own fresh). */
function ageByAMinute(dir: string, names: string[]): void {
  const past = new Date(Date.now() - 60_000);
  for (const n of names) utimesSync(join(dir, n), past, past);
}

/** The hidden temporary files beside `dir/file` (`.FILE.*.tmp`). */
function tempsOf(dir: string, file: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith(`.${file}.`) && n.endsWith('.tmp'));
}

describe('a small output file (prove -o, report -o) whose writer is killed', () => {
  it('prove -o: leaves no FILE, only its hidden temporary file, which the next prove -o of FILE removes with an older snap\'s hour-old one', async () => {
    const s = await sealTree({ 'a.txt': 'a\n', 'b.txt': 'b\n' }, keys);
    const dir = await tempDir('snap-prove-out-');
    const file = join(dir, 'p.json');
    const { child, done } = spawnSnap(['prove', s.ref, 'a.txt', '-o', file, '--store', s.store], { env: { SNAP_TEST_HOLD_OUTPUT_TEMP: 'p.json' } });
    await killWhen(child, () => tempsOf(dir, 'p.json').length > 0);
    const r = await done;
    expect(r.signal, `the prove finished before it could be killed (exit ${r.code}): ${r.stderr}`).toBe('SIGKILL');
    const killed = tempsOf(dir, 'p.json');
    expect(killed).toHaveLength(1);
    expect(existsSync(file)).toBe(false);
    // An older snap named its temporary files .p.json.<12 hex>.tmp; one left two hours ago goes too.
    const older = '.p.json.0123456789ab.tmp';
    writeFileSync(join(dir, older), 'partial');
    const hoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(join(dir, older), hoursAgo, hoursAgo);
    ageByAMinute(dir, killed);

    const again = await snapJson(['prove', s.ref, 'a.txt', '-o', file, '--store', s.store]);
    expect(again.code, again.stderr).toBe(0);
    expect(tempsOf(dir, 'p.json')).toEqual([]);
    const v = await snapJson(['verify-proof', file, '--pubkey', keys.pub]);
    expect(v.code, v.stderr).toBe(0);
  }, 30_000);

  it('report -o: a rerun while the first writer still runs leaves that writer\'s temporary file alone; once it is killed, the next run removes it', async () => {
    const drill = join(REPO, 'test', 'fixtures', 'report', 'drill-fail.json');
    const dir = await tempDir('snap-report-out-');
    const file = join(dir, 'r.html');
    const { child, done } = spawnSnap(['report', '--drill', drill, '-o', file], { env: { SNAP_TEST_HOLD_OUTPUT_TEMP: 'r.html' } });
    // Once its temporary file is written (the report is one write, well under writeFile's chunk):
    // aged before that, the write would make it fresh again and the rerun would keep it anyway.
    await waitFor(() => tempsOf(dir, 'r.html').some((n) => statSync(join(dir, n)).size > 0) || child.exitCode !== null);
    const live = tempsOf(dir, 'r.html');
    expect(live, 'the held report never made its temporary file').toHaveLength(1);
    // Untouched for a minute, but its process runs: another report of the same FILE keeps it.
    ageByAMinute(dir, live);
    const meanwhile = await snapJson(['report', '--drill', drill, '-o', file]);
    expect(meanwhile.code, meanwhile.stderr).toBe(1); // the fixture is a drill with a miss
    expect(tempsOf(dir, 'r.html')).toEqual(live);

    child.kill('SIGKILL');
    const r = await done;
    expect(r.signal, `the report finished before it could be killed (exit ${r.code}): ${r.stderr}`).toBe('SIGKILL');
    expect(tempsOf(dir, 'r.html')).toEqual(live);
    const again = await snapJson(['report', '--drill', drill, '-o', file]);
    expect(again.code, again.stderr).toBe(1);
    expect(tempsOf(dir, 'r.html')).toEqual([]);
    expect(readdirSync(dir)).toEqual(['r.html']);
  }, 30_000);
});

describe('a keygen killed before it names the key', () => {
  it('leaves no NAME.key, only its hidden temporary key file (mode 0600), which the next keygen NAME removes', async () => {
    const dir = await tempDir('snap-keygen-');
    const { child, done } = spawnSnap(['keygen', 'k', '--out-dir', dir], { env: { SNAP_TEST_HOLD_OUTPUT_TEMP: 'k.key' } });
    await killWhen(child, () => tempsOf(dir, 'k.key').length > 0);
    const r = await done;
    expect(r.signal, `the keygen finished before it could be killed (exit ${r.code}): ${r.stderr}`).toBe('SIGKILL');
    const killed = tempsOf(dir, 'k.key');
    expect(killed).toHaveLength(1);
    expect(statSync(join(dir, killed[0] as string)).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(killed);
    ageByAMinute(dir, killed);

    const again = await snapJson(['keygen', 'k', '--out-dir', dir]);
    expect(again.code, again.stderr).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['k.key', 'k.pub']);
  }, 30_000);
});

describe('a verify killed while it writes the trusted state', () => {
  it('leaves no state file, only its hidden temporary file, which the next update of the state removes (taking over the lock)', async () => {
    const s = await sealTree({ 'a.txt': 'a\n' }, keys);
    const state = await tempDir('snap-state-');
    const verify = () => ['verify', s.data, '--against', `${s.name}@latest`, '--pubkey', keys.pub, '--store', s.store, '--state-dir', state];
    const { child, done } = spawnSnap(verify(), { env: { SNAP_TEST_HOLD_OUTPUT_TEMP: 'trusted-state.json' } });
    await killWhen(child, () => tempsOf(state, 'trusted-state.json').length > 0);
    const r = await done;
    expect(r.signal, `the verify finished before it could be killed (exit ${r.code}): ${r.stderr}`).toBe('SIGKILL');
    const killed = tempsOf(state, 'trusted-state.json');
    expect(killed).toHaveLength(1);
    expect(existsSync(join(state, 'trusted-state.json'))).toBe(false);
    ageByAMinute(state, killed);

    const again = await snapJson(verify());
    expect(again.code, again.stderr).toBe(0);
    expect(tempsOf(state, 'trusted-state.json')).toEqual([]);
    expect(existsSync(join(state, 'trusted-state.json'))).toBe(true);
  }, 30_000);
});

/** Wait until `ready()`, at most 10 s. */
async function waitFor(ready: () => boolean): Promise<void> {
  const started = Date.now();
  while (!ready() && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 5));
}

/** Every file under a folder, relative to it, synchronously ([] when it does not exist). */
function filesUnderSync(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => !d.isDirectory()).map((d) => relative(dir, join(d.parentPath, d.name)).split(sep).join('/'));
  } catch {
    return [];
  }
}

describe('a drill killed while it copies DIR into its scratch folder', () => {
  it('leaves its snap-drill- folder in TMPDIR, which the next snap command making a scratch folder there removes once that process is gone (never a running command\'s)', async () => {
    const { data, store } = await bigSnapshot();
    const tmp = await tempDir('snap-scratch-parent-');
    const drills = () => readdirSync(tmp).filter((n) => n.startsWith('snap-drill-'));
    const { child, done } = spawnSnap(['drill', data, '--against', 'big@v1', '--pubkey', keys.pub, '--store', store], { env: { TMPDIR: tmp } });
    await killWhen(child, () => drills().some((n) => filesUnderSync(join(tmp, n)).length > 0));
    const r = await done;
    expect(r.signal, `the drill finished before it could be killed (exit ${r.code}): ${r.stderr}`).toBe('SIGKILL');
    const killed = drills();
    expect(killed).toHaveLength(1);
    expect(filesUnderSync(join(tmp, killed[0] as string)).length).toBeGreaterThan(0); // part of the copy
    // A running command's folder (this test's own process, on this host), as old as the killed one.
    const live = `snap-diff-${killed[0]!.slice('snap-drill-'.length).replace(/-\d+-/, `-${process.pid}-`)}`;
    mkdirSync(join(tmp, live));
    ageTreeByAMinute(tmp, [...killed, live]);

    // Any command that makes a scratch folder there (a diff of two folders) clears the killed one's.
    const a = await makeTree({ 'x.txt': 'x\n' });
    const b = await makeTree({ 'x.txt': 'y\n' });
    const diff = await snapBin(['diff', a, b, '--json'], { env: { TMPDIR: tmp } });
    expect(diff.code, diff.stderr).toBe(1);
    expect(JSON.parse(diff.stdout).summary.modified).toBe(1);
    expect(readdirSync(tmp)).toEqual([live]);
  }, 60_000);
});

describe('a scratch folder left holding a folder its owner cannot write', () => {
  it('(a drill killed before it made its copy of a read-only folder writable) is removed too by the next command, run by a user file permissions apply to', async () => {
    const as = unprivileged();
    const owner = as.uid ?? (process.getuid?.() as number);
    const tmp = await tempDir('snap-scratch-parent-');
    await fsp.chmod(tmp, 0o777);
    const left = join(tmp, `snap-drill-${hostTag()}-${spawnSync(process.execPath, ['-e', '0']).pid}-Ab12Cd`);
    await fsp.mkdir(join(left, 'data', 'ham'), { recursive: true });
    await fsp.writeFile(join(left, 'data', 'ham', '1.txt'), 'copied');
    for (const p of [left, join(left, 'data'), join(left, 'data', 'ham'), join(left, 'data', 'ham', '1.txt')]) await fsp.lchown(p, owner, owner);
    await fsp.chmod(join(left, 'data', 'ham'), 0o555);
    ageTreeByAMinute(tmp, [basename(left)]);

    const a = await makeTree({ 'x.txt': 'x\n' });
    const b = await makeTree({ 'x.txt': 'y\n' });
    for (const d of [a, b]) await shareWithEveryone(d);
    const diff = await snapBin(['diff', a, b, '--json'], { ...as, env: { TMPDIR: tmp } });
    expect(diff.code, diff.stderr).toBe(1);
    expect(readdirSync(tmp)).toEqual([]);
  }, 30_000);
});

/** Set the mtime of each `dir/name` and of what it holds directly a minute into the past. */
function ageTreeByAMinute(dir: string, names: string[]): void {
  const past = new Date(Date.now() - 60_000);
  for (const n of names) {
    for (const d of readdirSync(join(dir, n))) utimesSync(join(dir, n, d), past, past);
    utimesSync(join(dir, n), past, past);
  }
}
