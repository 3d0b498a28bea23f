/**
 * What a command says while it waits for a lock another snap holds (a store, its audit log, a
 * policy, the trusted state): once, after {@link LOCK_WAIT_NOTICE_MS} of waiting, so that a job
 * that seems to hang says what it waits for, and for how long at most. Process-wide, as the
 * interruption is (`interrupt.ts`): the CLI sets where the notice goes for the command it runs;
 * the library says nothing unless told.
 */

/** How long a command waits for a lock before it says so (ms). */
export const LOCK_WAIT_NOTICE_MS = 1_000;

let notice: ((message: string) => void) | undefined;

/**
 * Send the notices of lock waits to `fn` (a message of one line, no newline, names not yet
 * escaped) until the returned function is called, which puts back what was set before.
 */
export function setLockWaitNotice(fn: (message: string) => void): () => void {
  const before = notice;
  notice = fn;
  return () => {
    notice = before;
  };
}

/** Say that this process waits for a lock (called by `acquireLockFile`, at most once per wait). */
export function noticeLockWait(message: string): void {
  notice?.(message);
}
