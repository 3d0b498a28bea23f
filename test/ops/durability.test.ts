/**
 * What a command reports as done survives a power loss: restore flushes the target's file system
 * (syncfs, through `sync -f`) once every file is written, named and verified, before it reports
 * success — small files are not flushed one by one, so without it a power loss after "restored"
 * could bring them back empty. The flush is seen through a `sync` put first on PATH that records
 * its arguments and how many files the target held when it ran. Import flushes the objects it
 * staged before it names them in the store (as seal does), seen the same way. Export flushes the
 * archive before it names it: seen by recording which file each FileHandle.sync() of the run flushed;
 * an error of one of its early flushes (an fdatasync every 64 MiB written) stops it, nothing left.
 * Seal flushes its new objects as import does; both, when the new objects are few, fsync each before
 * its rename and then the folders renamed into: seen by a preload recording every thread's fsyncs
 * and renames (test/helpers/record-flushes.cjs). An fsync that fails (EIO, ENOSPC: planted by
 * test/helpers/fail-fsync.cjs in every thread) stops them with the error, nothing committed.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, promises as fsp, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { EXAMPLE, makeTree, snapBin, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { FSYNC_EACH_MAX_OBJECTS } from '../../src/io/store.js';
import { EARLY_WRITEBACK_BYTES } from '../../src/io/early-writeback.js';
import { WHOLE_FILE_MAX } from '../../src/io/read-pool.js';
import { newStorePath, sealAndExport } from '../helpers/store.js';

const keys = useKeyPair();

/**
 * A folder holding a `sync` that appends "ARGS N" to `log` and flushes nothing: N the number of
 * files under `countUnder` (default: its last argument) when it ran.
 */
async function recordingSync(log: string, countUnder?: string): Promise<string> {
  const bin = await tempDir('snap-fake-sync-');
  const script = join(bin, 'sync');
  writeFileSync(script, `#!/bin/sh\nfor last; do :; done\necho "$* $(find "${countUnder ?? '$last'}" -type f | wc -l)" >> '${log}'\n`);
  chmodSync(script, 0o755);
  return bin;
}

describe('restore', () => {
  it('flushes the target’s file system once every file of the snapshot is in it, before it reports success', async () => {
    const store = await newStorePath();
    expect((await snapBin(['seal', EXAMPLE, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--quiet'])).code).toBe(0);
    const work = await tempDir();
    const log = join(work, 'sync.log');
    const bin = await recordingSync(log);
    const out = join(work, 'out');
    const r = await snapBin(['restore', 'ds@v1', out, '--store', store, '--pubkey', keys.pub, '--json'], { env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(r.code, r.stderr).toBe(0);
    const files = JSON.parse(r.stdout).files as number;
    expect(files).toBe(120);
    expect(readFileSync(log, 'utf8')).toBe(`-f ${out} ${files}\n`);
  });
});

describe('a flush that fails', () => {
  /** A folder holding a `sync` whose `-f` prints `message` and exits `status`; plain `sync` appends to `log`. */
  async function failingSync(message: string, status: number, log: string): Promise<string> {
    const bin = await tempDir('snap-fake-sync-');
    const script = join(bin, 'sync');
    writeFileSync(script, `#!/bin/sh\nif [ "$1" = "-f" ]; then echo "${message}" >&2; exit ${status}; fi\necho plain >> '${log}'\n`);
    chmodSync(script, 0o755);
    return bin;
  }

  it('stops restore with IO_ERROR (exit 3) and removes what it wrote, instead of reporting success over an I/O error', async () => {
    const store = await newStorePath();
    expect((await snapBin(['seal', EXAMPLE, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--quiet'])).code).toBe(0);
    const work = await tempDir();
    const bin = await failingSync("sync: error syncing 'x': Input/output error", 1, join(work, 'sync.log'));
    const out = join(work, 'out');
    const r = await snapBin(['restore', 'ds@v1', out, '--store', store, '--pubkey', keys.pub, '--json'], { env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(r.code, r.stderr).toBe(3);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'IO_ERROR', message: expect.stringContaining('Input/output error') });
    await expect(fsp.stat(out)).rejects.toThrow();
  });

  it('falls back to a plain sync where sync has no -f (an old coreutils or busybox), and succeeds', async () => {
    const store = await newStorePath();
    expect((await snapBin(['seal', EXAMPLE, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--quiet'])).code).toBe(0);
    const work = await tempDir();
    const log = join(work, 'sync.log');
    const bin = await failingSync("sync: invalid option -- 'f'", 1, log);
    const r = await snapBin(['restore', 'ds@v1', join(work, 'out'), '--store', store, '--pubkey', keys.pub, '--json'], { env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(log, 'utf8')).toBe('plain\n');
  });
});

/** test/helpers/record-flushes.cjs: every thread's fsyncs and renames, in a file. */
const RECORD_FLUSHES = join(import.meta.dirname, '..', 'helpers', 'record-flushes.cjs');

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * Each of `texts` is an object of `store`, and the recorded `flushes` show its bytes fsynced under
 * their temporary name in STORE/tmp before the rename that named it, then its fan-out folder
 * fsynced after that rename, and `objects/sha256` fsynced (each fan-out folder was new).
 */
function expectFlushedThenNamed(flushes: string[], store: string, texts: string[]): void {
  const objects = join(store, 'objects', 'sha256');
  const log = flushes.join('\n');
  for (const text of texts) {
    const hex = sha256(text);
    const fan = join(objects, hex.slice(0, 2));
    const dest = join(fan, hex.slice(2));
    expect(readFileSync(dest, 'utf8')).toBe(text);
    const renamed = flushes.findIndex((l) => l.startsWith('rename ') && l.endsWith(` ${dest}`));
    expect(renamed, log).toBeGreaterThan(-1);
    const temporary = flushes[renamed]!.split(' ')[1]!;
    expect(temporary.startsWith(join(store, 'tmp') + '/') && temporary.endsWith(`/${hex}`), temporary).toBe(true);
    const flushed = flushes.indexOf(`fsync ${temporary}`);
    expect(flushed, log).toBeGreaterThan(-1);
    expect(flushed).toBeLessThan(renamed);
    expect(flushes.indexOf(`fsync ${fan}`, renamed), log).toBeGreaterThan(renamed);
  }
  expect(flushes).toContain(`fsync ${objects}`);
}

describe('seal', () => {
  /** Seal `files` into a new store with a recording `sync` first on PATH; the sync log's and the flush log's lines. */
  async function sealRecorded(files: Record<string, string>): Promise<{ store: string; syncs: string[]; flushes: string[] }> {
    const data = await makeTree(files);
    const store = await newStorePath();
    expect((await snapJson(['init', '--store', store])).code).toBe(0);
    const work = await tempDir();
    const bin = await recordingSync(join(work, 'sync.log'), join(store, 'objects'));
    const env = { PATH: `${bin}:${process.env.PATH}`, NODE_OPTIONS: `--require ${RECORD_FLUSHES}`, SNAP_TEST_FLUSH_LOG: join(work, 'flush.log') };
    const r = await snapBin(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--quiet'], { env });
    expect(r.code, r.stderr).toBe(0);
    const lines = (f: string): string[] => (existsSync(join(work, f)) ? readFileSync(join(work, f), 'utf8').trim().split('\n') : []);
    return { store, syncs: lines('sync.log'), flushes: lines('flush.log') };
  }

  it(`of at most ${FSYNC_EACH_MAX_OBJECTS} new objects fsyncs each one before it is under its name, then the folder it went into, and starts no sync process`, async () => {
    const texts = ['alpha\n', 'bravo\n', 'charlie\n'];
    const { store, syncs, flushes } = await sealRecorded({ 'a.txt': texts[0]!, 'b.txt': texts[1]!, 'sub/c.txt': texts[2]! });
    expect(syncs).toEqual([]);
    expectFlushedThenNamed(flushes, store, texts);
  });

  it(`of more than ${FSYNC_EACH_MAX_OBJECTS} new objects flushes the store's file system before the renames and after them, fsyncing no object`, async () => {
    const files = Object.fromEntries(Array.from({ length: FSYNC_EACH_MAX_OBJECTS + 1 }, (_, i) => [`f${i}.txt`, `file ${i}\n`]));
    const { store, syncs, flushes } = await sealRecorded(files);
    // Each line: "-f PATH N", N the object files under STORE/objects when that flush ran.
    expect(syncs).toEqual([`-f ${join(store, 'tmp')} 0`, `-f ${join(store, 'objects', 'sha256')} ${FSYNC_EACH_MAX_OBJECTS + 1}`]);
    expect(flushes.filter((l) => l.startsWith(`fsync ${join(store, 'tmp')}/pending-`))).toEqual([]);
  });
});

describe('import of a few new objects', () => {
  it(`(at most ${FSYNC_EACH_MAX_OBJECTS}) fsyncs each one before it is under its name, then the folders it went into, and starts no sync process`, async () => {
    const texts = ['alpha\n', 'bravo\n', 'charlie\n'];
    const { work, file: archive } = await sealAndExport({ 'a.txt': texts[0]!, 'b.txt': texts[1]!, 'sub/c.txt': texts[2]! }, keys);
    const store = await newStorePath();
    expect((await snapJson(['init', '--store', store])).code).toBe(0);
    const bin = await recordingSync(join(work, 'sync.log'), join(store, 'objects'));
    const env = { PATH: `${bin}:${process.env.PATH}`, NODE_OPTIONS: `--require ${RECORD_FLUSHES}`, SNAP_TEST_FLUSH_LOG: join(work, 'flush.log') };
    const r = await snapBin(['import', archive, '--store', store, '--pubkey', keys.pub, '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).newObjects).toBe(3);
    expect(existsSync(join(work, 'sync.log'))).toBe(false);
    expectFlushedThenNamed(readFileSync(join(work, 'flush.log'), 'utf8').trim().split('\n'), store, texts);
  });
});

/** test/helpers/fail-fsync.cjs: fsyncs of matching paths fail, in every thread. */
const FAIL_FSYNC = join(import.meta.dirname, '..', 'helpers', 'fail-fsync.cjs');

/** The object files under `store` (paths below objects/sha256), sorted. */
async function objectFiles(store: string): Promise<string[]> {
  const root = join(store, 'objects', 'sha256');
  const out: string[] = [];
  for (const fan of await fsp.readdir(root)) for (const name of await fsp.readdir(join(root, fan))) out.push(`${fan}/${name}`);
  return out.sort();
}

describe('a flush that fails', () => {
  /** A store holding ds@v0 (one object), and the object files it holds. */
  async function storeWithOne(): Promise<{ store: string; before: string[] }> {
    const store = await newStorePath();
    expect((await snapJson(['seal', await makeTree({ 'old.txt': 'old\n' }), '--as', 'ds@v0', '--key', keys.key, '--store', store])).code).toBe(0);
    return { store, before: await objectFiles(store) };
  }

  /** The store holds only ds@v0 and the objects it held before, and fsck passes. */
  async function expectUnchanged(store: string, before: string[]): Promise<void> {
    expect(await fsp.readdir(join(store, 'snapshots', 'ds'))).toEqual(['v0']);
    expect(await objectFiles(store)).toEqual(before);
    const fsck = await snapJson(['fsck', '--store', store]);
    expect(fsck.code, fsck.stderr).toBe(0);
  }

  // The planted ENOSPC is the only one: the tests' file system has room (its message says so as for any full disk).
  it.each([
    ['EIO', 'IO_ERROR', 'planted fsync failure'],
    ['ENOSPC', 'DISK_FULL', 'no space left on the device'],
  ])(`of a new object's bytes (%s) stops a seal of a few files with %s, exit 3, before any is under its name: no snapshot, a store fsck passes`, async (errno, code, says) => {
    const { store, before } = await storeWithOne();
    const data = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n', 'sub/c.txt': 'charlie\n' });
    const env = { NODE_OPTIONS: `--require ${FAIL_FSYNC}`, SNAP_TEST_FSYNC_FAIL: `${errno}:${join(store, 'tmp')}/` };
    const r = await snapBin(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--json'], { env });
    expect(r.code, r.stderr).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code, message: expect.stringContaining(says) } });
    await expectUnchanged(store, before);
  });

  it.each([
    ['EIO', 'IO_ERROR', 'planted fsync failure'],
    ['ENOSPC', 'DISK_FULL', 'no space left on the device'],
  ])(`of a large new object's early write-back (%s) stops the seal with %s, exit 3, at its commit: no snapshot, a store fsck passes`, async (errno, code, says) => {
    const { store, before } = await storeWithOne();
    const data = await makeTree({ 'big.bin': 'x'.repeat(WHOLE_FILE_MAX + 4096), 'a.txt': 'alpha\n' });
    // Only the early flush (io/hash-worker.ts closeAfterWriteback) sees the copy under tmp/obj-…; the
    // fsync at commit opens it as tmp/pending-N/<hex>, which succeeds.
    const env = { NODE_OPTIONS: `--require ${FAIL_FSYNC}`, SNAP_TEST_FSYNC_FAIL: `${errno}:${join(store, 'tmp')}/obj-` };
    const r = await snapBin(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--json'], { env });
    expect(r.code, r.stderr).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code, message: expect.stringContaining(says) } });
    await expectUnchanged(store, before);
  });

  it(`of the folders a seal of a few files renamed its objects into (EIO) stops it with IO_ERROR, exit 3: no snapshot names them, a store fsck passes`, async () => {
    const { store } = await storeWithOne();
    const data = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    const env = { NODE_OPTIONS: `--require ${FAIL_FSYNC}`, SNAP_TEST_FSYNC_FAIL: `EIO:${join(store, 'objects', 'sha256')}` };
    const r = await snapBin(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--json'], { env });
    expect(r.code, r.stderr).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'IO_ERROR', message: expect.stringContaining('planted fsync failure') } });
    // The renamed objects stay, named by no snapshot (prune's to remove); the store is valid.
    expect(await fsp.readdir(join(store, 'snapshots', 'ds'))).toEqual(['v0']);
    const fsck = await snapJson(['fsck', '--store', store]);
    expect(fsck.code, fsck.stderr).toBe(0);
  });

  it.each([
    ['EIO', 'IO_ERROR', 'planted fsync failure'],
    ['ENOSPC', 'DISK_FULL', 'no space left on the device'],
  ])(`of a large object's early write-back (%s) stops an import with %s, exit 3, before any object is under its name: no snapshot, a store fsck passes`, async (errno, code, says) => {
    const { file: archive } = await sealAndExport({ 'big.bin': 'z'.repeat(EARLY_WRITEBACK_BYTES + (1 << 20)) }, keys);
    const { store, before } = await storeWithOne();
    // Only the early flush sees the object under its temporary name (…/obj-N); staged, it is …/objects/<hex>.
    const env = { NODE_OPTIONS: `--require ${FAIL_FSYNC}`, SNAP_TEST_FSYNC_FAIL: `${errno}:/obj-` };
    const r = await snapBin(['import', archive, '--store', store, '--pubkey', keys.pub, '--json'], { env });
    expect(r.code, r.stderr).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code, message: expect.stringContaining(says) } });
    await expectUnchanged(store, before);
    // Without the planted failure the same import adds ds@v1.
    expect((await snapJson(['import', archive, '--store', store, '--pubkey', keys.pub])).code).toBe(0);
  });

  it(`of a new object's bytes (EIO) stops an import of a few objects with IO_ERROR, exit 3, before any is under its name: no snapshot, a store fsck passes`, async () => {
    const { file: archive } = await sealAndExport({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n', 'sub/c.txt': 'charlie\n' }, keys);
    const { store, before } = await storeWithOne();
    const env = { NODE_OPTIONS: `--require ${FAIL_FSYNC}`, SNAP_TEST_FSYNC_FAIL: `EIO:${join(store, 'tmp')}/` };
    const r = await snapBin(['import', archive, '--store', store, '--pubkey', keys.pub, '--json'], { env });
    expect(r.code, r.stderr).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'IO_ERROR', message: expect.stringContaining('planted fsync failure') } });
    await expectUnchanged(store, before);
  });
});

describe('seal of a large file into a store', () => {
  it("starts its copy's write-back once it is written, and fsyncs it again before its name (a few new objects)", async () => {
    const data = await makeTree({ 'big.bin': 'y'.repeat(WHOLE_FILE_MAX + 4096) });
    const store = await newStorePath();
    const work = await tempDir();
    const env = { NODE_OPTIONS: `--require ${RECORD_FLUSHES}`, SNAP_TEST_FLUSH_LOG: join(work, 'flush.log') };
    const r = await snapBin(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--quiet'], { env });
    expect(r.code, r.stderr).toBe(0);
    const flushes = readFileSync(join(work, 'flush.log'), 'utf8').trim().split('\n');
    const log = flushes.join('\n');
    const started = flushes.findIndex((l) => l.startsWith(`fdatasync-start ${join(store, 'tmp')}/obj-`));
    expect(started, log).toBeGreaterThan(-1);
    const hex = createHash('sha256').update('y'.repeat(WHOLE_FILE_MAX + 4096)).digest('hex');
    const renamed = flushes.findIndex((l) => l.startsWith('rename ') && l.endsWith(` ${join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2))}`));
    expect(renamed, log).toBeGreaterThan(started);
    const fsynced = flushes.findIndex((l, i) => i > started && l.startsWith(`fsync ${join(store, 'tmp')}/pending-`) && l.endsWith(`/${hex}`));
    expect(fsynced, log).toBeGreaterThan(started);
    expect(fsynced).toBeLessThan(renamed);
  });
});

/** Two files of WHOLE_FILE_MAX + 4 KiB of one letter each, by name. */
const BIG_FILES = ['a.bin', 'sub/b.bin'] as const;
const bigOf = (name: string) => name.slice(-5, -4).repeat(WHOLE_FILE_MAX + 4096);

/**
 * Seal {@link BIG_FILES} and restore them with the flush-recording preload (`env` added): the
 * recorded lines, the restored folder, and for each file the temporary name it was linked from.
 */
async function restoreBigFilesRecorded(env: Record<string, string> = {}): Promise<{ flushes: string[]; log: string; out: string; temporaryOf: (name: string) => string }> {
  const data = await makeTree(Object.fromEntries(BIG_FILES.map((n) => [n, bigOf(n)])));
  const store = await newStorePath();
  expect((await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store])).code).toBe(0);
  const work = await tempDir();
  const out = join(work, 'restored');
  const r = await snapBin(['restore', 'ds@v1', out, '--pubkey', keys.pub, '--store', store, '--quiet'], { env: { NODE_OPTIONS: `--require ${RECORD_FLUSHES}`, SNAP_TEST_FLUSH_LOG: join(work, 'flush.log'), ...env } });
  expect(r.code, r.stderr).toBe(0);
  const flushes = readFileSync(join(work, 'flush.log'), 'utf8').trim().split('\n');
  const log = flushes.join('\n');
  const temporaryOf = (name: string) => {
    const linked = flushes.find((l) => l.startsWith('link ') && l.endsWith(` ${join(out, name)}`));
    expect(linked, log).toBeDefined();
    return linked!.split(' ')[1]!;
  };
  return { flushes, log, out, temporaryOf };
}

describe('restore of a large file', () => {
  it('starts its write-back before it reads it back and hashes it, and flushes it before it gets its name', async () => {
    const { flushes, log, out, temporaryOf } = await restoreBigFilesRecorded();
    for (const name of BIG_FILES) {
      expect(readFileSync(join(out, name), 'utf8')).toBe(bigOf(name));
      const temporary = temporaryOf(name);
      const linked = flushes.findIndex((l) => l.startsWith(`link ${temporary} `));
      const started = flushes.indexOf(`fdatasync-start ${temporary}`);
      const flushed = flushes.indexOf(`fdatasync ${temporary}`);
      expect(started, log).toBeGreaterThan(-1);
      expect(flushed, log).toBeGreaterThan(started);
      expect(linked).toBeGreaterThan(flushed);
    }
  });

  it("closes each one's early write-back descriptor itself before it ends, however late that flush calls back on a slow disk (none is left for the process's exit to close)", async () => {
    const { flushes, log, temporaryOf } = await restoreBigFilesRecorded({ SNAP_TEST_SLOW_WRITEBACK_MS: '400' });
    for (const name of BIG_FILES) {
      const temporary = temporaryOf(name);
      expect(flushes, log).toContain(`fdatasync-start ${temporary}`);
      expect(flushes, log).toContain(`close ${temporary}`);
    }
  });
});

describe('export', () => {
  it('flushes the archive before it names it', async () => {
    const store = await newStorePath();
    expect((await snapJson(['seal', EXAMPLE, '--as', 'ds@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const out = join(await tempDir(), 'ds.snap.tar');
    // Which file each sync() flushed, read from /proc while its descriptor is open (Linux).
    const flushed: string[] = [];
    const probe = await fsp.open(EXAMPLE, 'r');
    const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
    await probe.close();
    const original = proto.sync;
    const spy = vi.spyOn(proto, 'sync').mockImplementation(function (this: fsp.FileHandle) {
      flushed.push(readlinkSync(`/proc/self/fd/${this.fd}`));
      return original.call(this);
    });
    try {
      const r = await snapJson(['export', 'ds@v1', '-o', out, '--store', store]);
      expect(r.code, r.stderr).toBe(0);
    } finally {
      spy.mockRestore();
    }
    // The archive is written under a temporary name beside FILE (.FILE.<host>-<pid>-<hex>.tmp), then linked.
    const archive = flushed.filter((p) => dirname(p) === dirname(out) && basename(p).startsWith(`.${basename(out)}.`));
    expect(archive, `files flushed: ${flushed.join(', ')}`).toHaveLength(1);
  });
});

describe('export of an archive larger than one early write-back (64 MiB)', () => {
  it.each([
    ['EIO', 'IO_ERROR', 'planted fsync failure'],
    ['ENOSPC', 'DISK_FULL', 'no space left on the device'],
  ])('stops with %s reported by an early flush as %s, exit 3: no archive, no temporary file', async (errno, code, says) => {
    const data = await tempDir('snap-big-');
    await fsp.writeFile(join(data, 'big.bin'), Buffer.alloc(EARLY_WRITEBACK_BYTES + (1 << 20), 7));
    const store = await newStorePath();
    expect((await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const outDir = await tempDir('snap-out-');
    const env = { NODE_OPTIONS: `--require ${FAIL_FSYNC}`, SNAP_TEST_FSYNC_FAIL: `${errno}:${outDir}/` };
    const r = await snapBin(['export', 'ds@v1', '-o', join(outDir, 'ds.snap.tar'), '--store', store, '--json'], { env });
    expect(r.code, r.stderr).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code, message: expect.stringContaining(says) } });
    expect(await fsp.readdir(outDir)).toEqual([]);
    // Without the planted failure the same export succeeds (the failure was the flush's, not the data's).
    expect((await snapJson(['export', 'ds@v1', '-o', join(outDir, 'ds.snap.tar'), '--store', store])).code).toBe(0);
  });
});

describe('import', () => {
  it('flushes the objects it staged before any is under its name in the store, then flushes the names', async () => {
    const source = await newStorePath();
    expect((await snapJson(['seal', EXAMPLE, '--as', 'ds@v1', '--key', keys.key, '--store', source])).code).toBe(0);
    const work = await tempDir();
    const archive = join(work, 'ds.snap.tar');
    expect((await snapJson(['export', 'ds@v1', '-o', archive, '--store', source])).code).toBe(0);
    const store = await newStorePath();
    expect((await snapJson(['init', '--store', store])).code).toBe(0);
    const log = join(work, 'sync.log');
    const bin = await recordingSync(log, join(store, 'objects'));
    const r = await snapBin(['import', archive, '--store', store, '--pubkey', keys.pub, '--json'], { env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(r.code, r.stderr).toBe(0);
    const objects = JSON.parse(r.stdout).newObjects as number;
    expect(objects).toBeGreaterThan(100);
    // Each line: "-f PATH N", N the object files under STORE/objects when that flush ran.
    const counts = readFileSync(log, 'utf8').trim().split('\n').map((l) => Number(l.split(' ').pop()));
    expect(counts).toEqual([0, objects]);
  });
});
