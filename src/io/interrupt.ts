/**
 * What an interrupted process (SIGINT, SIGTERM) must stop and undo, process-wide.
 *
 * The CLI installs the signal handlers (`src/cli/signals.ts`); this module only keeps the state, so
 * that the I/O modules can register what they make without knowing about signals:
 *
 * - **Stoppers** ({@link whenInterrupted}): things that keep working on their own — the worker
 *   pools. {@link interrupt} runs them all (a pool fails its waiting requests with the interruption
 *   and terminates its threads), so the command unwinds through its usual error paths, whose
 *   `finally` blocks remove what it made and release its locks.
 * - **Leftovers** ({@link leaveNothing}): files, folders and locks a command made and has not yet
 *   removed or released, each with a *synchronous* undo. {@link removeLeftovers} runs the undos
 *   that are still registered, newest first, then the process exits. It is the safety net for a
 *   command that did not unwind in time (or a second signal); after a clean unwind there is none.
 *
 * Long loops that wait on no worker call {@link checkInterrupted} now and then.
 * SIGKILL cannot be caught: what it leaves is taken over by the next writer (`io/store.ts`) and
 * reported by `fsck`; its temporary files beside outputs and its scratch folders in `$TMPDIR` are
 * removed by the next command that makes one there (`io/output-temp.ts`, `io/scratch-dir.ts`; see
 * docs/DESIGN.md, "Interrupted commands").
 */
import { SnapError, isSnapError } from '../core/errors.js';

/** The signals snap stops cleanly on. */
export type InterruptSignal = 'SIGINT' | 'SIGTERM';

let received: InterruptSignal | undefined;
let nextId = 0;
const stoppers = new Map<number, () => Promise<void>>();
const leftovers = new Map<number, () => void>();

/** The signal that interrupted this process, or undefined. */
export function interruptedBy(): InterruptSignal | undefined {
  return received;
}

/**
 * The error an interrupted command ends with: `INTERRUPTED` (SIGINT, exit 130) or `TERMINATED`
 * (SIGTERM, exit 143).
 */
export function interruptedError(signal: InterruptSignal = received ?? 'SIGINT'): SnapError {
  return signal === 'SIGTERM'
    ? new SnapError('TERMINATED', 'stopped by SIGTERM; its temporary files were removed and its lock released', { signal })
    : new SnapError('INTERRUPTED', 'interrupted (SIGINT); its temporary files were removed and its lock released', { signal });
}

/**
 * The error a command stopped by a signal ends with: the command's own `INTERRUPTED` / `TERMINATED`
 * when it threw one of the signal's code (its message may say what the command had done by then,
 * e.g. the objects `fsck --repair-from` had put back), else {@link interruptedError}.
 */
export function interruptionOf(e: unknown): SnapError {
  const mine = received === 'SIGTERM' ? 'TERMINATED' : 'INTERRUPTED';
  return isSnapError(e) && e.code === mine ? e : interruptedError();
}

/**
 * Throw when the process was interrupted: call it in long loops that wait on no worker pool.
 * @throws SnapError `INTERRUPTED` | `TERMINATED`
 */
export function checkInterrupted(): void {
  if (received) throw interruptedError(received);
}

/**
 * Register something to stop when the process is interrupted (e.g. a worker pool).
 * @returns a function that unregisters it (call it when the thing is closed)
 */
export function whenInterrupted(stop: () => Promise<void>): () => void {
  const id = nextId++;
  stoppers.set(id, stop);
  return () => {
    stoppers.delete(id);
  };
}

/**
 * Register a synchronous undo for something made (a temporary file or folder, a held lock), run by
 * {@link removeLeftovers} if the process has to exit before the code that made it cleans up.
 * The undo must be safe to run at any time (remove only what is still ours) and must not throw.
 * @returns a function that unregisters it (call it once the thing is removed, released or kept)
 */
export function leaveNothing(undo: () => void): () => void {
  const id = nextId++;
  leftovers.set(id, undo);
  return () => {
    leftovers.delete(id);
  };
}

/**
 * Mark the process interrupted by `signal` and stop everything registered with
 * {@link whenInterrupted} (each at most once). Resolves when all have stopped.
 */
export async function interrupt(signal: InterruptSignal): Promise<void> {
  received ??= signal;
  const all = [...stoppers.values()];
  stoppers.clear();
  await Promise.allSettled(all.map((stop) => stop()));
}

/** Run every undo still registered with {@link leaveNothing}, newest first (synchronously). */
export function removeLeftovers(): void {
  const all = [...leftovers.values()].reverse();
  leftovers.clear();
  for (const undo of all) {
    try {
      undo();
    } catch {
      /* best effort: the others still run */
    }
  }
}

/** How many undos are registered (tests). */
export function leftoverCount(): number {
  return leftovers.size;
}
