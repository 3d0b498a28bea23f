/**
 * A watchdog for the promise-based file-system requests of this test process: any request
 * (`FSREQPROMISE`, `FSREQCALLBACK`, `FILEHANDLECLOSEREQ`) still pending after `afterMs` is written to
 * stderr once, with the stack that made it — where a hung in-process CLI run waits. It asserts
 * nothing: it only leaves what a run that times out cannot otherwise tell. (Made for a seal in
 * test/records/diff-differential.test.ts that once never finished: one promise-based request of its
 * commit pending, every thread idle. Costs the capture of a stack per request; the stack is
 * formatted — through the test runner's source maps, the expensive part — only for a request it
 * reports.)
 */
import { createHook } from 'node:async_hooks';

const WATCHED = new Set(['FSREQPROMISE', 'FSREQCALLBACK', 'FILEHANDLECLOSEREQ']);

/** Frames kept of each stack (V8's default, 10, ends inside Node before the caller's async frames). */
const STACK_FRAMES = 24;

/** Start watching (once per process); returns a function that stops it. */
export function watchFsRequests(afterMs = 120_000): () => void {
  const pending = new Map<number, { type: string; at: number; made: Error; told?: boolean }>();
  const hook = createHook({
    init(id, type) {
      if (!WATCHED.has(type)) return;
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = STACK_FRAMES;
      // The frames are captured now; `.stack` formats them (source-mapped) only when read, below.
      pending.set(id, { type, at: Date.now(), made: new Error('made here') });
      Error.stackTraceLimit = limit;
    },
    after(id) {
      pending.delete(id);
    },
    destroy(id) {
      pending.delete(id);
    },
  }).enable();
  const timer = setInterval(() => {
    const now = Date.now();
    for (const [id, p] of pending) {
      if (p.told || now - p.at < afterMs) continue;
      p.told = true;
      process.stderr.write(`fs-watchdog: ${p.type} #${id} pending for ${now - p.at} ms (active requests: ${(process as unknown as { _getActiveRequests(): unknown[] })._getActiveRequests().length})\n${p.made.stack ?? ''}\n`);
    }
  }, 5_000);
  timer.unref();
  return () => {
    clearInterval(timer);
    hook.disable();
  };
}
