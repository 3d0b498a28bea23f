/**
 * A second Ctrl-C (or the unwinding taking longer than FORCE_EXIT_MS) makes snap exit at once,
 * 130, without waiting for the command to unwind. With --json the process then left nothing on
 * stdout: not the one document README promises on every exit. Now it writes the interruption's
 * error document first, unless the command had already written to stdout.
 */
import { describe, expect, it } from 'vitest';
import { makeTree, spawnSnap, stderrSays, useKeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';

const keys = useKeyPair();

describe('Ctrl-C twice with --json', () => {
  it('leaves one error document on stdout (INTERRUPTED, ok false) and exits 130, whether or not the command had unwound', { timeout: 120_000 }, async () => {
    const spec: Record<string, Buffer> = {};
    for (let i = 0; i < 4; i++) spec[`shard-${i}.bin`] = Buffer.alloc(16 << 20, i + 1);
    const data = await makeTree(spec);
    const store = await newStorePath();
    let stopped = 0;
    for (let round = 0; round < 3; round++) {
      const { child, done } = spawnSnap(['seal', data, '--as', `big@v${round}`, '--key', keys.key, '--store', store, '--json']);
      await new Promise((res) => setTimeout(res, 400)); // under way: hashing and copying 64 MiB
      child.kill('SIGINT');
      await stderrSays(child, 'interrupted; removing temporary files');
      child.kill('SIGINT');
      const r = await done;
      if (r.code === 0) continue; // it had finished before the first signal
      expect(r.code, r.stderr).toBe(130);
      const doc = JSON.parse(r.stdout);
      expect(doc).toMatchObject({ ok: false, error: { code: 'INTERRUPTED' } });
      stopped++;
    }
    expect(stopped).toBeGreaterThan(0);
  });
});
