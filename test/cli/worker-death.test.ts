/**
 * A worker thread that dies while a command runs (SNAP_TEST_WORKER_DEATH, see io/worker-pool.ts)
 * fails the command at once with an INTERNAL error naming the worker and exit code 3 — never a
 * success it did not earn, nor a wait — and leaves nothing behind: no snapshot, no object being
 * copied, no lock in the store, no restored folder.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLE, copyTree, snapBin, tempDir, useKeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';

const keys = useKeyPair();

/** Run `snap ARGS` with every worker of the pool `death` names dying as it says; at most 10 s. */
/** The names in folder `dir`; none when it does not exist. */
const entries = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);

const dying = (death: string, args: string[]) => snapBin(args, { env: { SNAP_TEST_WORKER_DEATH: death }, timeoutMs: 10_000 });

describe('a worker that dies during a command', () => {
  it('fails verify with exit 3 and names the worker, where a worker that exited with code 0 let it exit 0 with no verdict', async () => {
    const store = await newStorePath();
    expect((await snapBin(['seal', EXAMPLE, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--quiet'])).code).toBe(0);
    const data = await copyTree(EXAMPLE);
    for (const death of ['hashing:exit0:1', 'hashing:exit:1', 'hashing:oom:1']) {
      const r = await dying(death, ['verify', data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store]);
      expect(r.signal, death).toBeNull();
      expect(r.code, `${death}: ${r.stderr}`).toBe(3);
      expect(r.stderr, death).toMatch(/hashing worker .*\[INTERNAL\]/);
    }
  });

  it('fails seal into a store and leaves no snapshot, nothing in its tmp folder and no lock', async () => {
    const store = await newStorePath();
    for (const death of ['hashing:exit0:1', 'hashing:exit0:3']) {
      const r = await dying(death, ['seal', EXAMPLE, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--jobs', '1']);
      expect(r.code, `${death}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toContain('hashing worker 0 ended unexpectedly (exit code 0) [INTERNAL]');
      expect(entries(join(store, 'snapshots'))).toEqual([]);
      expect(entries(join(store, 'tmp'))).toEqual([]);
      expect(existsSync(join(store, 'lock'))).toBe(false);
    }
  });

  it('fails restore, whichever pool’s worker dies, and removes the folder it was restoring into', async () => {
    const store = await newStorePath();
    expect((await snapBin(['seal', EXAMPLE, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--quiet'])).code).toBe(0);
    const work = await tempDir();
    for (const death of ['write:exit0:1', 'hashing:exit0:1']) {
      const out = join(work, death.replace(/:/g, '-'));
      const r = await dying(death, ['restore', 'ds@v1', out, '--store', store, '--pubkey', keys.pub]);
      expect(r.signal, `${death} did not end`).toBeNull();
      expect(r.code, `${death}: ${r.stderr}`).toBe(3);
      expect(r.stderr, death).toMatch(/(write|hashing) worker 0 ended unexpectedly \(exit code 0\) \[INTERNAL\]/);
      expect(existsSync(out), death).toBe(false);
    }
  });
});
