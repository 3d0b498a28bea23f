/**
 * A snapshot's manifest swapped in the store while `export` works from it. export judges the
 * manifest against the signed statement once, then reads it again to pack the manifest member and
 * once more to pack the data members. Someone who can write the store (no key needed) could swap
 * the file after the judged read: export then wrote, with exit 0, an archive whose manifest member
 * is not the signed one (which every reader of the archive refuses). What is packed must be the
 * bytes that were judged. The swap is made deterministic by wrapping `writeArchive`, which export calls once it judged
 * the manifest.
 */
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { tempDir, useKeyPair } from '../helpers/tree.js';
import { sealTree, sha256 } from '../helpers/store.js';
import { resolveRef } from '../../src/io/store.js';
import { readPublicKey } from '../../src/io/keyfile.js';
import { hostTag } from '../../src/io/output-temp.js';

/** What the wrapped archive writer does before the real one (after export judged the manifest). */
const hooks: { beforeWrite?: () => Promise<void> } = {};

vi.mock('../../src/io/archive.js', async (orig) => {
  const real = await orig<typeof import('../../src/io/archive.js')>();
  const writeArchive = async (...a: Parameters<typeof real.writeArchive>) => {
    await hooks.beforeWrite?.();
    return real.writeArchive(...a);
  };
  return { ...real, writeArchive };
});

const { exportSnapshot, verifyArchive } = await import('../../src/ops/archive.js');

const keys = useKeyPair('export-swap');

/** Replace a write-once store file's bytes. */
async function overwrite(path: string, bytes: string): Promise<void> {
  await fsp.chmod(path, 0o644);
  await fsp.writeFile(path, bytes);
  await fsp.chmod(path, 0o444);
}

describe('a manifest swapped in the store while export reads it', () => {
  it('packs the manifest it judged: the archive it writes verifies', async () => {
    const s = await sealTree({ 'a.txt': 'alpha\n', 'b.txt': 'beta\n' }, keys);
    // The swapped manifest names a planted object (stored under its own digest) for b.txt.
    const planted = 'BETA\n';
    const hex = sha256(planted);
    await fsp.mkdir(join(s.store, 'objects', 'sha256', hex.slice(0, 2)), { recursive: true });
    await fsp.writeFile(join(s.store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2)), planted, { mode: 0o444 });
    const manifest = join(s.dir, 'manifest.jsonl');
    const signed = await fsp.readFile(manifest, 'utf8');
    const swapped = signed.replace(sha256('beta\n'), hex);
    expect(swapped).not.toBe(signed);
    hooks.beforeWrite = async () => {
      hooks.beforeWrite = undefined;
      await overwrite(manifest, swapped);
    };
    const out = join(await tempDir('snap-export-swap-'), `${s.ref}.snap.tar`);
    try {
      await exportSnapshot({ snapshot: await resolveRef(s.ref, s.store), store: s.store, out });
    } finally {
      hooks.beforeWrite = undefined;
    }
    const report = await verifyArchive({ file: out, trusted: [await readPublicKey(keys.pub)] });
    expect(report.failure).toBeUndefined();
    expect(report.ok).toBe(true);
    // The private copy of the manifest is gone once export is done.
    const mine = `snap-export-${hostTag()}-${process.pid}-`;
    expect((await fsp.readdir(tmpdir())).filter((n) => n.startsWith(mine))).toEqual([]);
  });
});
