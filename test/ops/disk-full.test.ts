/**
 * A full disk: every command that writes data (seal into a store, seal --out, export, import,
 * restore from a store and from an archive) stops with DISK_FULL (exit 3) and leaves nothing
 * behind on the full file system — no partial archive, no half-restored folder, no snapshot.
 *
 * The short writers of the store and of a policy file — sign (co-sign), log checkpoint, policy
 * sign — on a disk left with 0 to 3 free pages (each stage of their writes meets the full disk in
 * turn): DISK_FULL (exit 3), nothing changed, no lock or temporary file left, and once space is
 * freed the same command works.
 *
 * The full disk is a 4 MiB tmpfs, which needs mount(2): run as root (as CI is). Where mounting is
 * not allowed, the file fails (it does not pass unseen).
 */
import { promises as fsp } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeTree, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { filesUnder } from '../helpers/store.js';

const keys = useKeyPair('full');
const small = await tempDir('snap-full-');
const mnt = join(small, 'disk');
await fsp.mkdir(mnt);
const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { encoding: 'utf8' });
const mounted = mount.status === 0;

afterAll(() => {
  if (mounted) spawnSync('umount', [mnt]);
});

it('mounts a 4 MiB tmpfs for the full disk (needs root, as CI has)', () => {
  expect(mount.status, `mount -t tmpfs: ${mount.error?.message ?? mount.stderr}`).toBe(0);
});

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

/** Fill the small disk but for `pages` free blocks. */
async function fillLeaving(pages: number): Promise<void> {
  const st = await fsp.statfs(mnt);
  await fsp.writeFile(join(mnt, 'filler'), Buffer.alloc(Math.max(0, st.bavail - pages) * st.bsize));
}

describe.skipIf(!mounted)('a full disk under the short writers', () => {
  const cosigner = useKeyPair('full-cosigner');
  const store = join(mnt, 'store');
  const signers = async () => (await snapJson(['show', 'ds@v1', '--store', store])).json.signers.length as number;

  beforeEach(async () => {
    for (const name of await fsp.readdir(mnt)) await fsp.rm(join(mnt, name), { recursive: true, force: true });
    const data = await makeTree({ 'a.txt': 'one\n', 'b.txt': 'two\n' });
    expect((await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store])).code).toBe(0);
  });

  /** No lock, no temporary file: what a command stopped by a full disk must not leave in the store. */
  async function expectNothingLeft(what: string): Promise<void> {
    const left = (await fsp.readdir(store)).filter((n) => n === 'lock' || n === 'log.lock' || n.endsWith('.tmp'));
    expect(left, `${what}: left in the store`).toEqual([]);
    expect(await filesUnder(join(store, 'tmp')), `${what}: left in STORE/tmp`).toEqual([]);
    const f = await snapJson(['fsck', '--store', store, '--quiet']);
    expect(f.code, `${what}: fsck`).toBe(0);
    expect(f.json.leftovers, `${what}: fsck leftovers`).toEqual([]);
  }

  it('sign: DISK_FULL, exit 3, no signature added; after space is freed it signs', async () => {
    for (let pages = 0; pages < 2; pages++) {
      await fillLeaving(pages);
      const r = await snapJson(['sign', 'ds@v1', '--key', cosigner.key, '--store', store]);
      await fsp.rm(join(mnt, 'filler'));
      expect(r.code, `${pages} pages free: ${r.stderr}`).toBe(3);
      expect(r.json.error.code).toBe('DISK_FULL');
      expect(await signers()).toBe(1);
      await expectNothingLeft(`sign, ${pages} pages free`);
    }
    expect((await snapJson(['sign', 'ds@v1', '--key', cosigner.key, '--store', store])).code).toBe(0);
    expect(await signers()).toBe(2);
  });

  it('log checkpoint: DISK_FULL, exit 3, no checkpoint; the log still verifies, and after space is freed it signs one', async () => {
    for (let pages = 0; pages < 2; pages++) {
      await fillLeaving(pages);
      const r = await snapJson(['log', 'checkpoint', '--key', keys.key, '--store', store]);
      await fsp.rm(join(mnt, 'filler'));
      expect(r.code, `${pages} pages free: ${r.stderr}`).toBe(3);
      expect(r.json.error.code).toBe('DISK_FULL');
      expect(await filesUnder(join(store, 'log.checkpoints'))).toEqual([]);
      expect((await snapJson(['log', '--verify', '--store', store])).code).toBe(0);
      await expectNothingLeft(`log checkpoint, ${pages} pages free`);
    }
    expect((await snapJson(['log', 'checkpoint', '--key', keys.key, '--store', store])).code).toBe(0);
    expect((await snapJson(['log', '--verify', '--store', store, '--pubkey', keys.pub])).code).toBe(0);
  });

  it('policy sign of a policy on the full disk: DISK_FULL, exit 3, the file as it was and nothing beside it; after space is freed it signs', async () => {
    const policy = join(mnt, 'policy.json');
    expect((await snapJson(['policy', 'init', policy, '--name', 'acme', '--root-key', cosigner.pub])).code).toBe(0);
    const before = await fsp.readFile(policy);
    for (let pages = 0; pages < 2; pages++) {
      await fillLeaving(pages);
      const r = await snapJson(['policy', 'sign', policy, '--key', cosigner.key]);
      await fsp.rm(join(mnt, 'filler'));
      expect(r.code, `${pages} pages free: ${r.stderr}`).toBe(3);
      expect(r.json.error.code).toBe('DISK_FULL');
      expect((await fsp.readFile(policy)).equals(before)).toBe(true);
      expect((await fsp.readdir(mnt)).sort()).toEqual(['policy.json', 'store']);
    }
    expect((await snapJson(['policy', 'sign', policy, '--key', cosigner.key])).code).toBe(0);
    expect((await snapJson(['policy', 'show', policy, '--root', cosigner.pub])).code).toBe(0);
  });
});
