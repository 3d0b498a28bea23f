/**
 * Commands that take an archive without needing a trusted key — `show`, `diff`, `prove`, `bom`,
 * `lineage`, `revoke`, `sign` of an archive and `fsck --repair-from` — spool its manifest member to a temporary folder. Its length
 * is bounded before any of it is read: the archive's own statement declares `fileCount` lines, and
 * no manifest line is longer than MAX_MANIFEST_ENTRY_BYTES, so a longer member cannot be the
 * manifest the statement describes. Such an archive is refused unread (ARCHIVE_HOSTILE, exit 1,
 * `reason` `manifest-too-large`) and nothing is left in the temporary folder.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { snap, snapBin, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { sealAndExport } from '../helpers/store.js';
import { rawHeader, signSnapshot, testKey, writeTar, type Member } from '../archive/helpers.js';
import { MAX_MANIFEST_ENTRY_BYTES } from '../../src/io/archive.js';

const keys = useKeyPair('spool-bounds');

/** One signed file: its statement declares fileCount 1, so its manifest is at most MAX_MANIFEST_ENTRY_BYTES. */
const DATA = [{ path: 'a.txt', content: 'alpha alpha alpha\n' }];

/**
 * Two archives of that statement, each with a manifest member longer than one line can be:
 * `real`, whose member is there in full (bytes that are not NUL: no sparse hole), and `claimed`,
 * whose header claims a GiB and whose file ends right after that header (reading it would fail as truncated).
 */
async function oversized(work: string): Promise<{ real: string; claimed: string }> {
  const s = signSnapshot(DATA, await testKey(keys.key), { as: 'ds@v1' });
  const head: Member[] = [
    { name: 'snap/statement.json', body: s.statement },
    { name: 'snap/envelope.json', body: s.envelope },
  ];
  const real = join(work, 'real.snap.tar');
  await writeTar(real, [...head, { name: 'snap/manifest.jsonl', body: 'x'.repeat(MAX_MANIFEST_ENTRY_BYTES) + '\n'.repeat(MAX_MANIFEST_ENTRY_BYTES) }]);
  const claimed = join(work, 'claimed.snap.tar');
  await writeTar(claimed, [...head, { name: 'manifest header', raw: rawHeader('snap/manifest.jsonl', '0', 1 << 30) }], { end: false });
  expect((await fsp.stat(claimed)).size).toBeLessThan(64 << 10);
  return { real, claimed };
}

/** Runs the built CLI with TMPDIR set to a new folder, expecting exit 1 with ARCHIVE_HOSTILE `reason`, and that folder left empty. */
async function refused(args: string[], reason = 'manifest-too-large'): Promise<void> {
  const tmp = await tempDir('snap-spool-tmp-');
  const r = await snapBin([...args, '--json'], { env: { TMPDIR: tmp } });
  expect(r.code, `snap ${args.join(' ')}: ${r.stderr}`).toBe(1);
  const err = JSON.parse(r.stdout).error;
  expect(err.code, r.stderr).toBe('ARCHIVE_HOSTILE');
  expect(err.details?.reason, r.stderr).toBe(reason);
  expect(await fsp.readdir(tmp)).toEqual([]);
}

describe('an archive whose manifest member is longer than its own statement allows', () => {
  it('is refused unread by show, diff, prove, bom and lineage, whose archive needs no key (ARCHIVE_HOSTILE, exit 1)', async () => {
    const work = await tempDir('snap-spool-');
    const { real, claimed } = await oversized(work);
    const folder = join(work, 'folder');
    await fsp.mkdir(folder);
    for (const file of [real, claimed]) {
      await refused(['show', file]);
      await refused(['diff', file, folder]);
      await refused(['prove', file, 'a.txt']);
      await refused(['bom', file]);
      await refused(['lineage', file]);
    }
  });

  it('is refused unread by sign of an archive, before anything is signed (ARCHIVE_HOSTILE, exit 1)', async () => {
    const work = await tempDir('snap-spool-');
    const { real, claimed } = await oversized(work);
    for (const file of [real, claimed]) {
      const before = await fsp.readFile(file);
      await refused(['sign', file, '--key', keys.key]);
      expect(await fsp.readFile(file)).toEqual(before);
    }
  });

  it('is refused unread by fsck --repair-from, which then changes nothing in the store (ARCHIVE_HOSTILE, exit 1)', async () => {
    const e = await sealAndExport(DATA.reduce((t, d) => ({ ...t, [d.path]: d.content }), {}), keys, 'snap-spool-');
    const objects = join(e.store, 'objects', 'sha256');
    const [fan] = await fsp.readdir(objects);
    const [obj] = await fsp.readdir(join(objects, fan as string));
    await fsp.rm(join(objects, fan as string, obj as string), { force: true });
    const { real, claimed } = await oversized(e.work);
    for (const file of [real, claimed]) await refused(['fsck', '--repair-from', file, '--store', e.store]);
    const f = await snapJson(['fsck', '--store', e.store]);
    expect(f.code).toBe(1);
    expect(f.json.counts).toMatchObject({ missingObjects: 1 });
  });

  it('within that bound, is read until its first NUL byte (a sparse hole is no manifest): ARCHIVE_HOSTILE nul, exit 1', async () => {
    const work = await tempDir('snap-spool-');
    const s = signSnapshot(DATA, await testKey(keys.key), { as: 'ds@v1' });
    const file = join(work, 'holed.snap.tar');
    await writeTar(file, [
      { name: 'snap/statement.json', body: s.statement },
      { name: 'snap/envelope.json', body: s.envelope },
      { name: 'snap/manifest.jsonl', body: Buffer.concat([Buffer.from('{"path":"a.txt"'), Buffer.alloc(MAX_MANIFEST_ENTRY_BYTES / 2)]) },
    ]);
    await refused(['show', file], 'nul');
  });

  it('is bounded by the envelope\'s payload when snap/statement.json does not parse: prove still proves from the payload (exit 0)', async () => {
    const work = await tempDir('snap-spool-');
    const s = signSnapshot(DATA, await testKey(keys.key), { as: 'ds@v1' });
    const file = join(work, 'ds@v1.snap.tar');
    await writeTar(file, [
      { name: 'snap/statement.json', body: '{"not":"a statement"}' },
      { name: 'snap/envelope.json', body: s.envelope },
      { name: 'snap/manifest.jsonl', body: s.manifest },
      { name: 'data/a.txt', body: DATA[0]?.content as string },
    ]);
    // The proof itself on stdout (prove --json reports a proof written with -o only).
    const r = await snap(['prove', file, 'a.txt']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ kind: 'snap-inclusion-proof', manifest: { entry: expect.stringContaining('"path":"a.txt"') } });
  });
});
