/**
 * A second Ctrl-C (or the unwinding taking longer than FORCE_EXIT_MS) makes snap exit at once,
 * 130, without waiting for the command to unwind. With --json the process then left nothing on
 * stdout: not the one document README promises on every exit. Now it writes the interruption's
 * error document first, unless the command had already written to stdout.
 */
import { describe, expect, it } from 'vitest';
import { makeTree, spawnSnap, stderrSays, useKeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Waits until seal is seen writing a store copy (an entry in STORE/tmp): true; false when it ended first. */
async function copyingInto(store: string, done: Promise<unknown>): Promise<boolean> {
  let ended = false;
  void done.then(() => (ended = true));
  while (!ended) {
    let names: string[] = [];
    try {
      names = readdirSync(join(store, 'tmp'));
    } catch {
      // not made yet
    }
    if (names.some((n) => n.startsWith('obj-') || n.startsWith('pending-'))) return true;
    await new Promise((res) => setTimeout(res, 2));
  }
  return false;
}

const keys = useKeyPair();

describe('Ctrl-C twice with --json', () => {
  it('leaves one error document on stdout (INTERRUPTED, ok false) and exits 130, whether or not the command had unwound', { timeout: 120_000 }, async () => {
    const spec: Record<string, Buffer> = {};
    for (let i = 0; i < 8; i++) spec[`shard-${i}.bin`] = Buffer.alloc(16 << 20, i + 1);
    const data = await makeTree(spec);
    let stopped = 0;
    for (let round = 0; round < 3; round++) {
      const store = await newStorePath(); // a new one each round: no entry of an earlier round in its tmp/
      const { child, done } = spawnSnap(['seal', data, '--as', `big@v${round}`, '--key', keys.key, '--store', store, '--json']);
      // Under way (its signal handling installed): a store copy is being written into STORE/tmp.
      if (!(await copyingInto(store, done))) continue; // it had finished before it was seen at work
      child.kill('SIGINT');
      const said = await stderrSays(child, 'interrupted; removing temporary files').then(
        () => true,
        () => false,
      );
      if (said) child.kill('SIGINT');
      const r = await done;
      if (r.code === 0) continue; // it had finished before the first signal
      expect(said, r.stderr).toBe(true);
      expect(r.code, r.stderr).toBe(130);
      const doc = JSON.parse(r.stdout);
      expect(doc).toMatchObject({ ok: false, error: { code: 'INTERRUPTED' } });
      stopped++;
    }
    expect(stopped).toBeGreaterThan(0);
  });
});
