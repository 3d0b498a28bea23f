/**
 * `snap verify FILE.snap.tar --pubkey …` (the archive alone: signature, manifest, every data member,
 * streamed, nothing extracted) and `snap verify DIR --against FILE.snap.tar`, with the SPEC §8
 * `verify --json` shape.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, snap, snapBin, snapJson, tempDir, useKeyPair, writeTree } from '../helpers/tree.js';
import { exists, headers } from './helpers.js';

const keys = useKeyPair('archive');
const other = useKeyPair('other');

async function exported(spec: Record<string, string | Buffer | { symlink: string }> = { 'a.txt': 'alpha\n', 'b/c.txt': 'gamma\n', 'b/l': { symlink: 'c.txt' } }) {
  const data = await makeTree(spec);
  const work = await tempDir('snap-av-');
  const store = join(work, 'store');
  const s = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store]);
  expect(s.code, s.stderr).toBe(0);
  const file = join(work, 'ds@v1.snap.tar');
  expect((await snapJson(['export', 'ds@v1', '-o', file, '--store', store])).code).toBe(0);
  return { data, work, store, file, snapshot: s.json.snapshot as string };
}

/** Byte offset of `needle` in the archive file. */
async function offsetOf(file: string, needle: string): Promise<number> {
  const buf = await fsp.readFile(file);
  const i = buf.indexOf(Buffer.from(needle));
  expect(i).toBeGreaterThan(0);
  return i;
}

describe('snap verify FILE.snap.tar', () => {
  it('exits 0 for an intact archive and prints the verify --json shape', async () => {
    const { file, snapshot } = await exported();
    const r = await snapJson(['verify', file, '--pubkey', keys.pub]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({
      ok: true,
      snapshot,
      ref: file,
      signers: [{ keyid: keys.keyid, trusted: true }],
      counts: { matched: 3, modified: 0, missing: 0, extra: 0 },
      problems: [],
      manifest: { ok: true },
    });
  });

  it('exits 1 when no trusted key signed it, and reads no data', async () => {
    const { file } = await exported();
    const r = await snapJson(['verify', file, '--pubkey', other.pub]);
    expect(r.code).toBe(1);
    expect(r.json.ok).toBe(false);
    expect(r.json.signers).toEqual([expect.objectContaining({ trusted: false })]);
    expect(r.json.failure.code).toBe('SIGNATURE_INVALID');
    expect(r.json.counts.matched).toBe(0);
  });

  it('exits 1 and names the member whose bytes differ from the signed digest', async () => {
    const { file } = await exported({ 'a.txt': 'alpha alpha alpha\n', 'b.txt': 'beta beta beta\n' });
    const at = await offsetOf(file, 'beta beta');
    const fh = await fsp.open(file, 'r+');
    await fh.write(Buffer.from('BETA'), 0, 4, at);
    await fh.close();
    const r = await snapJson(['verify', file, '--pubkey', keys.pub]);
    expect(r.code).toBe(1);
    expect(r.json.counts).toMatchObject({ matched: 1, modified: 1 });
    expect(r.json.problems).toEqual([expect.objectContaining({ path: 'b.txt', kind: 'modified' })]);
  });

  it('extracts nothing: the private spool folder is gone afterwards and the working folder untouched', async () => {
    const { file, work } = await exported();
    const tmp = await tempDir('snap-av-tmp-');
    const cwd = await tempDir('snap-av-cwd-');
    const r = await snapBin(['verify', file, '--pubkey', keys.pub, '--json'], { cwd, env: { TMPDIR: tmp } });
    expect(r.code, r.stderr).toBe(0);
    expect(await fsp.readdir(tmp)).toEqual([]);
    expect(await fsp.readdir(cwd)).toEqual([]);
    expect((await fsp.readdir(work)).sort()).toEqual(['ds@v1.snap.tar', 'store']);
  });

  it('refuses --against together with an archive (USAGE, exit 2)', async () => {
    const { file } = await exported();
    const r = await snapJson(['verify', file, '--against', 'ds@v1', '--pubkey', keys.pub]);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('USAGE');
  });

  it('refuses a file that is not a tar archive (ARCHIVE_MALFORMED, exit 3)', async () => {
    const work = await tempDir('snap-av-');
    const file = join(work, 'junk.snap.tar');
    await fsp.writeFile(file, 'this is not a tar archive at all, just some text\n'.repeat(40));
    const r = await snapJson(['verify', file, '--pubkey', keys.pub]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('ARCHIVE_MALFORMED');
  });
});

describe('snap verify DIR --against FILE.snap.tar', () => {
  it('exits 0 when the folder matches the archive, 1 when it does not', async () => {
    const { data, file, snapshot } = await exported();
    const ok = await snapJson(['verify', data, '--against', file, '--pubkey', keys.pub]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json).toMatchObject({ ok: true, snapshot, ref: file, counts: { matched: 3 } });
    await writeTree(data, { 'a.txt': 'ALPHA\n', 'new.txt': 'x' });
    const bad = await snapJson(['verify', data, '--against', file, '--pubkey', keys.pub]);
    expect(bad.code).toBe(1);
    expect(bad.json.problems.map((p: { path: string; kind: string }) => `${p.kind}:${p.path}`).sort()).toEqual(['extra:new.txt', 'modified:a.txt']);
  });

  it('names the snapshot the archive is signed as when its file name does not (renamed.snap.tar): signedAs in --json, "signed as" in human output', async () => {
    const { data, file, work } = await exported();
    const renamed = join(work, 'renamed.snap.tar');
    await fsp.rename(file, renamed);
    const j = await snapJson(['verify', data, '--against', renamed, '--pubkey', keys.pub]);
    expect(j.code, j.stderr).toBe(0);
    expect(j.json).toMatchObject({ ok: true, ref: renamed, signedAs: 'ds@v1' });
    const h = await snap(['verify', data, '--against', 'renamed.snap.tar', '--pubkey', keys.pub], { cwd: work });
    expect(h.code, h.stderr).toBe(0);
    expect(h.stdout).toMatch(/^OK +\S+ matches renamed\.snap\.tar, signed as ds@v1 \(sha256:/m);
    await writeTree(data, { 'a.txt': 'ALPHA\n' });
    const bad = await snap(['verify', data, '--against', 'renamed.snap.tar', '--pubkey', keys.pub], { cwd: work });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^FAIL +\S+ differs from renamed\.snap\.tar, signed as ds@v1 \(sha256:/m);
    const alone = await snapJson(['verify', renamed, '--pubkey', keys.pub]);
    expect(alone.code, alone.stderr).toBe(0);
    expect(alone.json).toMatchObject({ ok: true, ref: renamed, signedAs: 'ds@v1' });
    const aloneHuman = await snap(['verify', 'renamed.snap.tar', '--pubkey', keys.pub], { cwd: work });
    expect(aloneHuman.stdout).toMatch(/^OK +renamed\.snap\.tar, signed as ds@v1 \(sha256:/m);
  });

  it('gives no signedAs for an archive it does not trust', async () => {
    const { data, file } = await exported();
    const r = await snapJson(['verify', data, '--against', file, '--pubkey', other.pub]);
    expect(r.code).toBe(1);
    expect(r.json.signedAs).toBeUndefined();
  });

  it('exits 1 with an untrusted key; a missing archive is NOT_FOUND (exit 3)', async () => {
    const { data, file, work } = await exported();
    const r = await snapJson(['verify', data, '--against', file, '--pubkey', other.pub]);
    expect(r.code).toBe(1);
    const missing = await snapJson(['verify', data, '--against', join(work, 'gone.snap.tar'), '--pubkey', keys.pub]);
    expect(missing.code).toBe(3);
    expect(missing.json.error.code).toBe('NOT_FOUND');
    expect(await exists(join(work, 'gone.snap.tar'))).toBe(false);
  });

  it('still needs --against for a folder (USAGE, exit 2)', async () => {
    const { data } = await exported();
    const r = await snapJson(['verify', data, '--pubkey', keys.pub]);
    expect(r.code).toBe(2);
  });
});

describe('the manifest member is spooled only once the signature is trusted, and no longer than its signed fileCount allows', () => {
  /** `file`'s snap/ members, with a manifest member of `size` bytes that takes no disk (a sparse file). */
  async function hugeManifest(file: string, out: string, size: number): Promise<void> {
    const h = await headers(file);
    const bytes = await fsp.readFile(file);
    const manifestAt = bytes.indexOf(Buffer.from('snap/manifest.jsonl'));
    const head = Buffer.from(bytes.subarray(manifestAt, manifestAt + 512));
    head.write(size.toString(8).padStart(11, '0') + ' ', 124, 'latin1');
    head.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of head) sum += b;
    head.write(sum.toString(8).padStart(6, '0') + ' \0', 148, 'latin1');
    expect(h[2]?.name).toBe('snap/manifest.jsonl');
    await fsp.writeFile(out, Buffer.concat([bytes.subarray(0, manifestAt), head]));
    await fsp.truncate(out, manifestAt + 512 + size + 1024);
  }

  /** Run verify with the spool folder under `tmp`, and the largest manifest.jsonl seen spooled there meanwhile. */
  async function verifyWatched(file: string, pub: string, tmp: string, data?: string, args?: string[]) {
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    let peak = 0;
    const watch = setInterval(() => {
      void (async () => {
        for (const d of await fsp.readdir(tmp).catch(() => [] as string[])) {
          const st = await fsp.stat(join(tmp, d, 'manifest.jsonl')).catch(() => undefined);
          if (st && st.size > peak) peak = st.size;
        }
      })();
    }, 5);
    try {
      return { r: await snapJson(args ?? (data === undefined ? ['verify', file, '--pubkey', pub] : ['verify', data, '--against', file, '--pubkey', pub])), peak: () => peak };
    } finally {
      clearInterval(watch);
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  }

  const SIZE = 200 << 20;

  it('an archive signed by an untrusted key: its manifest is not spooled at all', async () => {
    const { file, work } = await exported();
    const out = join(work, 'huge.snap.tar');
    await hugeManifest(file, out, SIZE);
    const tmp = join(work, 'tmp');
    await fsp.mkdir(tmp);
    const { r, peak } = await verifyWatched(out, other.pub, tmp);
    expect(r.code, r.stdout).toBe(1);
    expect(r.json.failure?.code).toBe('SIGNATURE_INVALID');
    expect(peak()).toBeLessThan(1 << 20);
  });

  it('verify DIR --against the archive: signed by an untrusted key, its manifest is not spooled; replayed with a trusted statement, refused unread', async () => {
    const { file, work, data } = await exported();
    const out = join(work, 'huge.snap.tar');
    await hugeManifest(file, out, SIZE);
    const tmp = join(work, 'tmp');
    await fsp.mkdir(tmp);
    const untrusted = await verifyWatched(out, other.pub, tmp, data);
    expect(untrusted.r.code, untrusted.r.stdout).toBe(1);
    expect(untrusted.r.json.failure?.code).toBe('SIGNATURE_INVALID');
    expect(untrusted.peak()).toBeLessThan(1 << 20);
    const replayed = await verifyWatched(out, keys.pub, tmp, data);
    expect(replayed.r.code, replayed.r.stdout).toBe(1);
    expect(replayed.r.json.error?.code).toBe('INTEGRITY_FAILURE');
    expect(replayed.r.json.error?.message).toMatch(/longer than the signed lines/);
    expect(replayed.peak()).toBeLessThan(1 << 20);
    // The archive itself still serves as the trusted side of a folder's verify.
    const ok = await snapJson(['verify', data, '--against', file, '--pubkey', keys.pub]);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('show and diff, which take an archive without keys: a manifest member in a sparse hole, longer than its own statement allows, is refused unread', async () => {
    const { file, work, data } = await exported();
    const out = join(work, 'huge.snap.tar');
    await hugeManifest(file, out, SIZE);
    const tmp = join(work, 'tmp');
    await fsp.mkdir(tmp);
    for (const args of [['show', out], ['diff', out, data]]) {
      const { r, peak } = await verifyWatched(out, keys.pub, tmp, undefined, args);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(1);
      expect(r.json.error).toMatchObject({ code: 'ARCHIVE_HOSTILE', details: { reason: 'manifest-too-large' } });
      expect(peak(), args[0]).toBeLessThan(1 << 20);
    }
  });

  it('a trusted statement replayed with another, huge manifest: refused after fileCount × 64 KiB, not spooled whole', async () => {
    const { file, work } = await exported();
    const out = join(work, 'huge.snap.tar');
    await hugeManifest(file, out, SIZE);
    const tmp = join(work, 'tmp');
    await fsp.mkdir(tmp);
    const { r, peak } = await verifyWatched(out, keys.pub, tmp);
    expect(r.code, r.stdout).toBe(1);
    expect(r.json.failure?.code).toBe('INTEGRITY_FAILURE');
    expect(r.json.failure?.message).toMatch(/longer than/);
    expect(peak()).toBeLessThan(1 << 20);
  });
});
