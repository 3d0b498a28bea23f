/**
 * A seal into a local store commits every new object at the end of its scan, each hashing worker
 * reporting the digests it moved in: a worker's list is as long as the new files it read. Handed
 * on with `push(...list)` it was one argument a digest, and past the stack's limit — about 120,000
 * with Node's default stack: `snap seal` of 200,000 new files with `--jobs 1` ended
 * "unexpected error: Maximum call stack size exceeded [INTERNAL]", exit 3 — the seal failed. The
 * test reaches the same limit with 20,000 files by running the CLI with a 100 KiB stack.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, tempDir, useKeyPair } from '../helpers/tree.js';
import { newStorePath, objectFiles } from '../helpers/store.js';

const keys = useKeyPair('many');

/** Files in the dataset (20 folders of 1,000), each of its own content. */
const FILES = 20_000;

describe('a seal of many new files into a local store', () => {
  it('commits them whatever the number of digests one worker moved in (20,000 with --jobs 1, on a 100 KiB stack)', async () => {
    const data = await tempDir('snap-many-');
    for (let f = 0; f < FILES / 1000; f++) {
      const dir = join(data, `f${f}`);
      mkdirSync(dir);
      for (let i = 0; i < 1000; i++) {
        const fd = openSync(join(dir, `${i}.txt`), 'w');
        writeSync(fd, `${f}-${i}\n`);
        closeSync(fd);
      }
    }
    const store = await newStorePath();
    const r = spawnSync(process.execPath, ['--stack-size=100', BIN, 'seal', data, '--as', 'many@1', '--key', keys.key, '--store', store, '--jobs', '1', '--json'], {
      encoding: 'utf8',
      env: { ...process.env, SNAP_STATE_DIR: await tempDir('snap-many-state-') },
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).newObjects).toBe(FILES);
    expect(await objectFiles(store)).toHaveLength(FILES);
  }, 150_000);
});
