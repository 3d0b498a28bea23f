/**
 * A full disk: every command that writes data (seal into a store, seal --out, export, import,
 * restore from a store and from an archive) stops with DISK_FULL (exit 3) and leaves nothing
 * behind on the full file system — no partial archive, no half-restored folder, no snapshot.
 *
 * The full disk is a 4 MiB tmpfs, which needs mount(2): run as root (as CI is). Where mounting is
 * not allowed, the suite says so and is skipped.
 */
import { promises as fsp } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeTree, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';

const keys = useKeyPair('full');
const small = await tempDir('snap-full-');
const mnt = join(small, 'disk');
await fsp.mkdir(mnt);
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]).status === 0;
if (!mounted) console.warn('disk-full tests skipped: cannot mount a tmpfs here (needs root)');

/** Everything left on the small file system (relative paths), which must be nothing. */
async function leftOnDisk(): Promise<string[]> {
  return (await fsp.readdir(mnt, { recursive: true })).map(String);
}

describe.skipIf(!mounted)('a full disk', () => {
  // 3 MiB in many small files plus one 9 MiB file: larger than the 4 MiB disk either way.
  const spec: Record<string, Buffer> = { 'big.bin': randomBytes(9 << 20) };
  for (let i = 0; i < 300; i++) spec[`small/${String(i).padStart(3, '0')}.bin`] = randomBytes(10_000);
  let data = '';
  let store = '';
  let archive = '';

  beforeAll(async () => {
    data = await makeTree(spec);
    const work = await tempDir('snap-full-');
    store = join(work, 'store');
    expect((await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    archive = join(work, 'ds@v1.snap.tar');
    expect((await snapJson(['export', 'ds@v1', '-o', archive, '--store', store])).code).toBe(0);
  });

  beforeEach(async () => {
    for (const name of await fsp.readdir(mnt)) await fsp.rm(join(mnt, name), { recursive: true, force: true });
  });

  afterAll(() => {
    spawnSync('umount', [mnt]);
  });

  it('restore from a store: DISK_FULL, exit 3, the folder it made is gone', async () => {
    const r = await snapJson(['restore', 'ds@v1', join(mnt, 'out'), '--pubkey', keys.pub, '--store', store]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('DISK_FULL');
    expect(await leftOnDisk()).toEqual([]);
  });

  it('restore from an archive: DISK_FULL, exit 3, an existing empty folder is left empty', async () => {
    await fsp.mkdir(join(mnt, 'out'));
    const r = await snapJson(['restore', archive, join(mnt, 'out'), '--pubkey', keys.pub]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('DISK_FULL');
    expect(await leftOnDisk()).toEqual(['out']);
  });

  it('export: DISK_FULL, exit 3, no archive and no temporary file', async () => {
    const r = await snapJson(['export', 'ds@v1', '-o', join(mnt, 'ds@v1.snap.tar'), '--store', store]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('DISK_FULL');
    expect(await leftOnDisk()).toEqual([]);
  });

  it('seal --out: DISK_FULL, exit 3, no archive and no temporary file', async () => {
    const r = await snapJson(['seal', data, '--as', 'ds@v2', '--key', keys.key, '--out', join(mnt, 'ds@v2.snap.tar'), '--store', join(small, 'unused')]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('DISK_FULL');
    expect(await leftOnDisk()).toEqual([]);
  });

  it('seal into a store: DISK_FULL, exit 3, no snapshot and no object left pending; a store the seal made is gone', async () => {
    const s = join(mnt, 'store');
    const fresh = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', s]);
    expect(fresh.code).toBe(3);
    expect(fresh.json.error.code).toBe('DISK_FULL');
    expect(await leftOnDisk()).toEqual([]);
    expect((await snapJson(['init', '--store', s])).code).toBe(0);
    const r = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', s]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('DISK_FULL');
    expect(await fsp.readdir(join(s, 'snapshots'))).toEqual([]);
    expect(await fsp.readdir(join(s, 'tmp'))).toEqual([]);
  });

  it('seal --manifest-only with no room for its manifest: DISK_FULL, exit 3, no snapshot, nothing pending', async () => {
    // 3,000 empty files: a manifest of about 300 KB, in a store on a disk with less room than that.
    const tree: Record<string, string> = {};
    for (let i = 0; i < 3000; i++) tree[`f/${String(i).padStart(4, '0')}`] = '';
    const many = await makeTree(tree);
    const s = join(mnt, 'store');
    expect((await snapJson(['init', '--store', s])).code).toBe(0);
    await fsp.writeFile(join(mnt, 'filler'), Buffer.alloc((4 << 20) - (200 << 10)));
    const r = await snapJson(['seal', many, '--as', 'm@v1', '--key', keys.key, '--store', s, '--manifest-only']);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('DISK_FULL');
    expect(await fsp.readdir(join(s, 'snapshots'))).toEqual([]);
    expect(await fsp.readdir(join(s, 'tmp'))).toEqual([]);
  });

  it('import: DISK_FULL, exit 3, nothing added to the store; a store the import made is gone', async () => {
    const s = join(mnt, 'store');
    const fresh = await snapJson(['import', archive, '--pubkey', keys.pub, '--store', s]);
    expect(fresh.code).toBe(3);
    expect(fresh.json.error.code).toBe('DISK_FULL');
    expect(await leftOnDisk()).toEqual([]);
    expect((await snapJson(['init', '--store', s])).code).toBe(0);
    const r = await snapJson(['import', archive, '--pubkey', keys.pub, '--store', s]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('DISK_FULL');
    expect(await fsp.readdir(join(s, 'snapshots'))).toEqual([]);
    expect(await fsp.readdir(join(s, 'tmp'))).toEqual([]);
  });
});
