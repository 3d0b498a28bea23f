/**
 * What a command reports as done survives a power loss: restore flushes the target's file system
 * (syncfs, through `sync -f`) once every file is written, named and verified, before it reports
 * success — small files are not flushed one by one, so without it a power loss after "restored"
 * could bring them back empty. The flush is seen through a `sync` put first on PATH that records
 * its arguments and how many files the target held when it ran.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLE, snapBin, tempDir, useKeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';

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

