/**
 * A worker thread of a pool that ends without being asked (process.exit with any code, an uncaught
 * exception, its heap exhausted) fails the waiting requests at once, and every later one, with an
 * INTERNAL error naming the pool; a pool that is closed fails nothing.
 */
import { describe, expect, it } from 'vitest';
import { WorkerPool } from '../../src/io/worker-pool.js';

/** A worker that answers `{ id }` with `{ id }`, and ends as told by `{ die: 'exit0' | 'exit3' | 'throw' }`. */
const SOURCE = `const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => {
  if (m.die === 'exit0') process.exit(0);
  if (m.die === 'exit3') process.exit(3);
  if (m.die === 'throw') setTimeout(() => { throw new Error('thrown in the worker'); });
  if (m.die === undefined) parentPort.postMessage({ id: m.id });
});`;

/** Resolves to what `p` settled with, or 'still waiting' after `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'still waiting' | { rejected: unknown }> {
  return Promise.race([p.then((v) => v, (e: unknown) => ({ rejected: e })), new Promise<'still waiting'>((r) => setTimeout(() => r('still waiting'), ms))]);
}

describe('WorkerPool, when a worker ends on its own', () => {
  it('fails a waiting request at once when the worker exits with code 0', async () => {
    const pool = new WorkerPool(SOURCE, 1, 'test');
    try {
      const r = await within(pool.send({ die: 'exit0' }), 2000);
      expect(r).toMatchObject({ rejected: { code: 'INTERNAL', message: 'test worker 0 ended unexpectedly (exit code 0)' } });
    } finally {
      await pool.close();
    }
  });

  it('fails the next request when the worker exited while idle, instead of sending it to a thread that is gone', async () => {
    const pool = new WorkerPool(SOURCE, 1, 'test');
    try {
      expect(await pool.send({})).toEqual({ id: 0 });
      pool.post({ die: 'exit3' }, 0);
      await new Promise((r) => setTimeout(r, 300));
      const r = await within(pool.send({}), 2000);
      expect(r).toMatchObject({ rejected: { code: 'INTERNAL', message: 'test worker 0 ended unexpectedly (exit code 3)' } });
    } finally {
      await pool.close();
    }
  });

  it('fails a waiting request with the worker’s own error when it throws outside a request', async () => {
    const pool = new WorkerPool(SOURCE, 1, 'test');
    try {
      pool.post({ die: 'throw' }, 0);
      await new Promise((r) => setTimeout(r, 300));
      const r = await within(pool.send({}, 0), 2000);
      expect(r).toMatchObject({ rejected: { code: 'INTERNAL', message: 'test worker failed: thrown in the worker' } });
    } finally {
      await pool.close();
    }
  });

  it('fails nothing when it is closed: its workers’ exits were asked for', async () => {
    const pool = new WorkerPool(SOURCE, 2, 'test');
    expect(await pool.broadcast({})).toHaveLength(2);
    await pool.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(pool.inFlight).toBe(0);
    expect(() => pool.post({}, 0)).not.toThrow();
  });
});
