/**
 * `restore` and `export` from a store copy the snapshot's manifest to a private folder before they
 * judge it (ops/archive.ts `privateManifestCopy`), at most `fileCount` × MAX_MANIFEST_ENTRY_BYTES
 * bytes: a manifest in the store longer than its signed lines can be was altered, and neither
 * command copies on, nor writes anything.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { sealTree } from '../helpers/store.js';
import { MAX_MANIFEST_ENTRY_BYTES } from '../../src/io/archive.js';

const keys = useKeyPair('overlong');

/** A sealed one-file snapshot whose manifest in the store has grown past one line's bound. */
async function overlong() {
  const s = await sealTree({ 'a.txt': 'a\n' }, keys);
  const manifest = join(s.dir, 'manifest.jsonl');
  await fsp.chmod(manifest, 0o644);
  await fsp.appendFile(manifest, Buffer.alloc(MAX_MANIFEST_ENTRY_BYTES + 1, 0x20));
  return s;
}

describe('a store manifest longer than its signed lines can be', () => {
  it('stops restore: INTEGRITY_FAILURE, exit 1, and no folder is made', async () => {
    const s = await overlong();
    const out = join(await tempDir('snap-overlong-'), 'out');
    const r = await snapJson(['restore', s.ref, out, '--pubkey', keys.pub, '--store', s.store]);
    expect([r.code, r.json.error?.code], r.stdout).toEqual([1, 'INTEGRITY_FAILURE']);
    expect(r.json.error.message).toMatch(/its manifest is longer than the 1 signed lines can be \(65536 bytes\): it was altered; nothing was restored/);
    await expect(fsp.access(out)).rejects.toThrow();
  });

  it('stops export: INTEGRITY_FAILURE, exit 1, and no archive is written', async () => {
    const s = await overlong();
    const file = join(await tempDir('snap-overlong-'), 'x.snap.tar');
    const r = await snapJson(['export', s.ref, '-o', file, '--store', s.store]);
    expect([r.code, r.json.error?.code], r.stdout).toEqual([1, 'INTEGRITY_FAILURE']);
    expect(r.json.error.message).toMatch(/nothing was exported/);
    await expect(fsp.access(file)).rejects.toThrow();
  });
});
