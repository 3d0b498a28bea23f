/**
 * An archive path that is a FIFO (named as the archive, or put in its place by whoever can write its
 * folder) is not read: the archive is opened without blocking and only as a regular file, so
 * `import` and `fsck --repair-from` — which hold the store's lock while they read it — stop at once
 * with ARCHIVE_MALFORMED (`not-a-file`, exit 3) instead of waiting for a writer for ever.
 */
import { promises as fsp } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { snapBin, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { sealAndExport } from '../helpers/store.js';

const keys = useKeyPair('archive-fifo');

/** A FIFO named like an archive, in a new folder. */
async function fifo(): Promise<string> {
  const path = join(await tempDir('snap-fifo-'), 'ds@v1.snap.tar');
  expect(spawnSync('mkfifo', [path]).status).toBe(0);
  return path;
}

/** Runs the built CLI (killed after 15 s), expecting ARCHIVE_MALFORMED `not-a-file`, exit 3. */
async function refusedAtOnce(args: string[]): Promise<void> {
  const r = await snapBin([...args, '--json'], { timeoutMs: 15_000 });
  expect(r.signal, `snap ${args.join(' ')} hung`).toBeNull();
  expect(r.code, r.stderr).toBe(3);
  expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'ARCHIVE_MALFORMED', details: { reason: 'not-a-file' } });
}

describe('an archive path that is a FIFO', () => {
  it('is refused at once by import (ARCHIVE_MALFORMED, exit 3), and the store is not left locked', async () => {
    const file = await fifo();
    const store = join(await tempDir('snap-fifo-store-'), 'store');
    await refusedAtOnce(['import', file, '--pubkey', keys.pub, '--store', store]);
    const e = await sealAndExport({ 'a.txt': 'a\n' }, keys, 'snap-fifo-');
    const again = await snapJson(['import', e.file, '--pubkey', keys.pub, '--store', store]);
    expect(again.code, again.stderr).toBe(0);
  });

  it('is refused at once by fsck --repair-from on a damaged store (ARCHIVE_MALFORMED, exit 3)', async () => {
    const e = await sealAndExport({ 'a.txt': 'a\n' }, keys, 'snap-fifo-');
    const objects = join(e.store, 'objects', 'sha256');
    const [fan] = await fsp.readdir(objects);
    const [obj] = await fsp.readdir(join(objects, fan as string));
    await fsp.rm(join(objects, fan as string, obj as string));
    await refusedAtOnce(['fsck', '--repair-from', await fifo(), '--store', e.store]);
    const repaired = await snapJson(['fsck', '--repair-from', e.file, '--store', e.store]);
    expect(repaired.code, repaired.stderr).toBe(0);
  });
});
