/**
 * A snapshot's manifest swapped in the store while `restore` works from it. restore judges the
 * manifest against the signed statement once, then reads it again to write the files, to make the
 * links, and (through verify) at the end. Someone who can write the store (no key needed) could
 * swap the file after the judged read — giving a large file the digest of an object they planted,
 * of the same size — and swap it back before the final verify, which does not hash a large file
 * restore already read back. Every pass that writes must use the bytes that were judged.
 * The swaps are made deterministic by wrapping `checkManifestAgainst` (the judged read) and
 * `verify` (the final check) so that they run exactly between restore's passes.
 */
import { promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it, vi } from 'vitest';
import { tempDir, useKeyPair } from '../helpers/tree.js';
import { sealTree, sha256 } from '../helpers/store.js';
import { resolveRef } from '../../src/io/store.js';
import { readPublicKey } from '../../src/io/keyfile.js';
import { hostTag } from '../../src/io/output-temp.js';

/** What the wrapped functions do after (judged read) and before (final verify) the real ones. */
const hooks: { afterCheck?: () => Promise<void>; beforeVerify?: () => Promise<void> } = {};

vi.mock('../../src/ops/archive.js', async (orig) => {
  const real = await orig<typeof import('../../src/ops/archive.js')>();
  return {
    ...real,
    checkManifestAgainst: async (...a: Parameters<typeof real.checkManifestAgainst>) => {
      const r = await real.checkManifestAgainst(...a);
      await hooks.afterCheck?.();
      return r;
    },
  };
});
vi.mock('../../src/ops/verify.js', async (orig) => {
  const real = await orig<typeof import('../../src/ops/verify.js')>();
  return {
    ...real,
    verify: async (...a: Parameters<typeof real.verify>) => {
      await hooks.beforeVerify?.();
      return real.verify(...a);
    },
  };
});

const { restore } = await import('../../src/ops/restore.js');

const keys = useKeyPair('swap');
const BIG = randomBytes((8 << 20) + 777); // over 8 MiB: read back by restore, not hashed again by its verify
const POISON = Buffer.from(BIG);
POISON[100] = (POISON[100] as number) ^ 0xff; // same size, other bytes

/** Replace a write-once store file's bytes. */
async function overwrite(path: string, bytes: string | Buffer): Promise<void> {
  await fsp.chmod(path, 0o644);
  await fsp.writeFile(path, bytes);
  await fsp.chmod(path, 0o444);
}

describe('a manifest swapped in the store while restore reads it', () => {
  it('restores the signed bytes of a large file, not those of an object the swapped manifest names', async () => {
    const s = await sealTree({ 'big.bin': BIG, 'small.txt': 'small\n' }, keys);
    // The planted object: stored under its own digest, as any object is.
    const hex = sha256(POISON);
    await fsp.mkdir(join(s.store, 'objects', 'sha256', hex.slice(0, 2)), { recursive: true });
    await fsp.writeFile(join(s.store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2)), POISON, { mode: 0o444 });
    const manifest = join(s.dir, 'manifest.jsonl');
    const signed = await fsp.readFile(manifest, 'utf8');
    const swapped = signed.replace(sha256(BIG), hex);
    expect(swapped).not.toBe(signed);
    hooks.afterCheck = async () => {
      hooks.afterCheck = undefined;
      await overwrite(manifest, swapped);
    };
    hooks.beforeVerify = async () => {
      hooks.beforeVerify = undefined;
      await overwrite(manifest, signed);
    };
    const out = join(await tempDir('snap-swap-'), 'out');
    const location = await resolveRef(s.ref, s.store);
    let result: Awaited<ReturnType<typeof restore>> | undefined;
    let error: unknown;
    try {
      result = await restore({ source: { kind: 'snapshot', snapshot: location, store: s.store }, dir: out, trusted: [await readPublicKey(keys.pub)] });
    } catch (e) {
      error = e;
    } finally {
      hooks.afterCheck = hooks.beforeVerify = undefined;
    }
    expect(error).toBeUndefined();
    expect(result?.ok).toBe(true);
    expect((await fsp.readFile(join(out, 'big.bin'))).equals(BIG)).toBe(true);
    // The private copy of the manifest is gone once restore is done.
    const mine = `snap-restore-${hostTag()}-${process.pid}-`;
    expect((await fsp.readdir(tmpdir())).filter((n) => n.startsWith(mine))).toEqual([]);
  });
});
