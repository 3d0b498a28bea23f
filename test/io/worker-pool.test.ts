/**
 * A worker thread of a pool that ends without being asked (process.exit with any code, an uncaught
 * exception, its heap exhausted) fails the waiting requests at once, and every later one, with an
 * INTERNAL error naming the pool; a pool that is closed fails nothing.
 */
import { describe, expect, it } from 'vitest';
import { WorkerPool } from '../../src/io/worker-pool.js';

/**
 * A worker that answers `{ id }` with `{ id }`, and ends as told by `{ die: 'exit0' | 'exit3' | 'throw' }`;
 * told to throw, it answers nothing more (the throw comes from a timer, after the messages already queued).
 */
const SOURCE = `const { parentPort } = require('node:worker_threads');
let dying = false;
parentPort.on('message', (m) => {
  if (dying) return;
  if (m.die === 'exit0') process.exit(0);
  if (m.die === 'exit3') process.exit(3);
  if (m.die === 'throw') {
    dying = true;
    setTimeout(() => { throw new Error('thrown in the worker'); });
  }
  if (m.die === undefined) parentPort.postMessage({ id: m.id });
});`;

/**
 * Wait until `pool` has taken its worker for gone (it refuses a post then), at most `ms`. A message
 * posted meanwhile is one more `exit3`, which the worker, exiting already, never reads.
 */
async function untilFailed(pool: WorkerPool<{ id: number }>, ms = 30_000): Promise<void> {
  for (const stop = Date.now() + ms; Date.now() < stop; await new Promise((r) => setTimeout(r, 10))) {
    try {
      pool.post({ die: 'exit3' }, 0);
    } catch {
      return;
    }
  }
  throw new Error(`the pool did not see its worker end within ${ms} ms`);
}

/** Resolves to what `p` settled with, or 'still waiting' after `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'still waiting' | { rejected: unknown }> {
  return Promise.race([p.then((v) => v, (e: unknown) => ({ rejected: e })), new Promise<'still waiting'>((r) => setTimeout(() => r('still waiting'), ms))]);
}

describe('WorkerPool, when a worker ends on its own', () => {
  it('fails a waiting request at once when the worker exits with code 0', async () => {
    const pool = new WorkerPool(SOURCE, 1, 'test');
    try {
      expect(await pool.send({})).toEqual({ id: 0 }); // started: the time below is the death's alone
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
      await untilFailed(pool); // it exited while idle: no request was waiting
      const r = await within(pool.send({}), 2000);
      expect(r).toMatchObject({ rejected: { code: 'INTERNAL', message: 'test worker 0 ended unexpectedly (exit code 3)' } });
    } finally {
      await pool.close();
    }
  });

  it('fails a waiting request with the worker’s own error when it throws outside a request', async () => {
    const pool = new WorkerPool(SOURCE, 1, 'test');
    try {
      expect(await pool.send({})).toEqual({ id: 0 }); // started: the time below is the throw's alone
      pool.post({ die: 'throw' }, 0);
      const r = await within(pool.send({}, 0), 2000); // waits: the worker answers nothing more, then throws
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
