/**
 * `fsck --repair-from` stopped by a signal during its second check (the one after the repair): the
 * objects it already put back stay put back (each was checked against its digest), and the
 * interrupted run must say which they are before it exits 130 — it named none, so the user could
 * not tell the store had changed. The signal is made to arrive exactly then by wrapping `fsck`: its
 * second call marks the process interrupted (as the SIGINT handler does, cli/signals.ts) before
 * the check starts streaming manifests. (This file marks its own test process interrupted; vitest
 * runs each file in its own worker.)
 */
import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { snap, snapBin, useKeyPair } from '../helpers/tree.js';
import { sealAndExport } from '../helpers/store.js';
import { interrupt, interruptedBy } from '../../src/io/interrupt.js';

/** How many times `fsck` was called (the repair's first check is 1, its second 2). */
let calls = 0;

vi.mock('../../src/ops/fsck.js', async (orig) => {
  const real = await orig<typeof import('../../src/ops/fsck.js')>();
  return {
    ...real,
    fsck: async (...a: Parameters<typeof real.fsck>) => {
      if (++calls === 2) await interrupt('SIGINT');
      return real.fsck(...a);
    },
  };
});

const keys = useKeyPair('repair-signal');

describe('fsck --repair-from stopped by SIGINT during its second check', () => {
  it('exits 130 naming, on stderr, every object it already put back; they stay put back, and a re-run finds the store clean', async () => {
    const gone = 'put back before the signal\n';
    const e = await sealAndExport({ 'a.txt': gone, 'b.txt': 'untouched\n' }, keys, 'snap-repair-signal-');
    const hex = createHash('sha256').update(gone).digest('hex');
    const obj = join(e.store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2));
    await fsp.rm(obj);
    const r = await snap(['fsck', '--repair-from', e.file, '--store', e.store]);
    expect(interruptedBy()).toBe('SIGINT');
    expect(calls).toBe(2);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain('[INTERRUPTED]');
    expect(r.stderr).toContain(`1 object was put back before it (each checked against its digest; it stays): ${hex}`);
    expect(await fsp.readFile(obj, 'utf8')).toBe(gone);
    // Another process (this one is marked interrupted): the store is clean.
    const again = await snapBin(['fsck', '--store', e.store]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
  });
});
