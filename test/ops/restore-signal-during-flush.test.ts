/**
 * A signal that arrives while `restore` flushes the target (syncfs blocks the event loop, seconds
 * for gigabytes on a slow disk) is handled after the flush returns. It must still stop the restore:
 * the folder it made is removed and the command ends INTERRUPTED, not `ok` (seen once in CI: the
 * interrupt test's restore printed "interrupted; removing temporary files" and exited 0 with the
 * folder in place). The signal is made to arrive exactly then by wrapping `syncFileSystem`.
 * (This file marks its own test process interrupted; vitest runs each file in its own worker.)
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { tempDir, useKeyPair } from '../helpers/tree.js';
import { sealTree } from '../helpers/store.js';
import { resolveRef } from '../../src/io/store.js';
import { readPublicKey } from '../../src/io/keyfile.js';
import { interrupt, interruptedBy } from '../../src/io/interrupt.js';

/** Run by the wrapped flush: set in the test. */
const hooks: { duringFlush?: () => void } = {};

vi.mock('../../src/io/store.js', async (orig) => {
  const real = await orig<typeof import('../../src/io/store.js')>();
  return {
    ...real,
    syncFileSystem: (...a: Parameters<typeof real.syncFileSystem>) => {
      hooks.duringFlush?.();
      return real.syncFileSystem(...a);
    },
  };
});

const { restore } = await import('../../src/ops/restore.js');

const keys = useKeyPair('flush');

describe('restore stopped by a signal during its final flush', () => {
  it('ends INTERRUPTED and removes the folder it made', async () => {
    const s = await sealTree({ 'a.txt': 'a\n', 'sub/b.txt': 'b\n' }, keys);
    const out = join(await tempDir('snap-flush-'), 'out');
    const location = await resolveRef(s.ref, s.store);
    // As the SIGINT handler does (cli/signals.ts), but from inside the blocking call: the
    // interruption is seen only once the event loop turns again.
    hooks.duringFlush = () => {
      hooks.duringFlush = undefined;
      setImmediate(() => void interrupt('SIGINT'));
    };
    const run = restore({ source: { kind: 'snapshot', snapshot: location, store: s.store }, dir: out, trusted: [await readPublicKey(keys.pub)] });
    await expect(run).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(interruptedBy()).toBe('SIGINT');
    expect(existsSync(out)).toBe(false);
  });
});
