/**
 * The process-wide interrupt state (src/io/interrupt.ts): undos run newest first and only while
 * registered; an interrupt aborts worker pools (waiting and later requests fail with the signal's
 * code) and makes checkInterrupted throw. The interrupt is a one-way latch for the whole process,
 * so the tests that interrupt come last in this file (vitest runs each file in its own module graph).
 */
import { describe, expect, it } from 'vitest';
import { checkInterrupted, interrupt, interruptedBy, interruptedError, leaveNothing, leftoverCount, removeLeftovers } from '../../src/io/interrupt.js';
import { WorkerPool } from '../../src/io/worker-pool.js';
import { isSnapError } from '../../src/core/errors.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';

/** A worker that never answers. */
const SILENT = `require('node:worker_threads').parentPort.on('message', () => {});`;

describe('undos registered with leaveNothing', () => {
  it('run newest first, each once, and not at all once unregistered', () => {
    const ran: string[] = [];
    leaveNothing(() => ran.push('first'));
    const forget = leaveNothing(() => ran.push('kept, then forgotten'));
    leaveNothing(() => {
      ran.push('last');
      throw new Error('an undo that fails does not stop the others');
    });
    forget();
    expect(leftoverCount()).toBe(2);
    removeLeftovers();
    removeLeftovers();
    expect(ran).toEqual(['last', 'first']);
    expect(leftoverCount()).toBe(0);
  });
});

describe('the error of an interrupted command', () => {
  it('is INTERRUPTED (exit 130) for SIGINT and TERMINATED (exit 143) for SIGTERM', () => {
    const i = interruptedError('SIGINT');
    const t = interruptedError('SIGTERM');
    expect([i.code, exitCodeFor(i.code)]).toEqual(['INTERRUPTED', 130]);
    expect([t.code, exitCodeFor(t.code)]).toEqual(['TERMINATED', 143]);
  });
});

describe('an interrupt', () => {
  it('fails a pool\'s waiting and later requests with TERMINATED, and makes checkInterrupted throw', async () => {
    expect(interruptedBy()).toBeUndefined();
    expect(() => checkInterrupted()).not.toThrow();
    const pool = new WorkerPool<{ id: number }>(SILENT, 2, 'test');
    const waiting = pool.send({ op: 'never answered' });
    await interrupt('SIGTERM');
    expect(interruptedBy()).toBe('SIGTERM');
    await expect(waiting).rejects.toSatisfy((e: unknown) => isSnapError(e, 'TERMINATED'));
    await expect(pool.send({ op: 'after' })).rejects.toSatisfy((e: unknown) => isSnapError(e, 'TERMINATED'));
    expect(() => checkInterrupted()).toThrow(expect.objectContaining({ code: 'TERMINATED' }));
    // A later signal does not change which one stopped the process.
    await interrupt('SIGINT');
    expect(interruptedBy()).toBe('SIGTERM');
    await pool.close();
  });
});
