/**
 * SIGINT (Ctrl-C) and SIGTERM stop a command cleanly. The first signal marks the process
 * interrupted and stops its worker pools (`io/interrupt.ts`), so the command unwinds through its
 * usual error paths: temporary files and partial outputs are removed, locks are released, and an
 * audit line records the error `INTERRUPTED` (exit 130) or `TERMINATED` (exit 143), as shells report
 * a process stopped by those signals (128 + the signal number). A command that has not finished
 * unwinding after {@link FORCE_EXIT_MS}, or a second signal, makes the process remove what is still
 * registered and exit at once (without an audit line). Once the command has returned, a signal
 * changes nothing: its code stands ({@link exitWhenWritten}). SIGKILL cannot be caught: what it
 * leaves is taken over by the next writer and reported by `snap fsck`.
 */
import { interrupt, interruptedBy, interruptedError, removeLeftovers, type InterruptSignal } from '../io/interrupt.js';
import { errorDocument, noteWrites } from './json-stdout.js';
import { EXIT_INTERRUPTED, EXIT_TERMINATED } from './exit-codes.js';

/** How long an interrupted command may take to unwind before the process exits anyway (ms). */
export const FORCE_EXIT_MS = 5_000;

/** The exit code for a command stopped by `signal`: 130 (SIGINT) or 143 (SIGTERM). */
export function exitCodeForSignal(signal: InterruptSignal): number {
  return signal === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED;
}

/** The command's exit code once it returned (set by {@link exitWhenWritten}); a signal then changes nothing. */
let finishedWith: number | undefined;

/** With --json: stdout, and whether the command has written to it (see {@link handleSignals}). */
let json: { stdout: NodeJS.WritableStream; written: () => boolean } | undefined;

/**
 * Remove whatever an interrupted command still holds and exit now (with its code, if it has one).
 * With --json, the interruption's error document goes to stdout first, unless the command had
 * written there: the process leaves one document on this exit too.
 */
function exitNow(signal: InterruptSignal): never {
  removeLeftovers();
  if (json && !json.written()) {
    const err = interruptedError(signal);
    try {
      json.stdout.write(errorDocument(err.code, err.message, err.details));
    } catch {
      /* best effort: the clean-up and the exit code are not */
    }
  }
  process.exit(typeof process.exitCode === 'number' ? process.exitCode : exitCodeForSignal(signal));
}

/**
 * Install the SIGINT and SIGTERM handlers (the `snap` binary does, before it runs a command).
 * @param stderr where the one-line notice goes
 * @param jsonStdout stdout, when `--json` was asked for: a process that exits without waiting for
 *   the command (a second signal, {@link FORCE_EXIT_MS}) writes the interruption's error document there
 */
export function handleSignals(stderr: NodeJS.WritableStream, jsonStdout?: NodeJS.WritableStream): void {
  json = jsonStdout ? { stdout: jsonStdout, written: noteWrites(jsonStdout) } : undefined;
  const on = (signal: InterruptSignal): void => {
    // The command has finished (its verdict is printed and logged): its code stands, and the
    // process, already on its way out, goes at once.
    if (finishedWith !== undefined) process.exit(finishedWith);
    const first = interruptedBy();
    if (first) exitNow(first); // a second signal: do not wait any longer
    stderr.write(`\nsnap: ${signal === 'SIGINT' ? 'interrupted' : 'terminated'}; removing temporary files and releasing locks\n`);
    // The exit code unless the command finishes with its own: even if nothing is left to keep the
    // process alive (so the timer below never fires), it does not exit 0.
    process.exitCode = exitCodeForSignal(signal);
    void interrupt(signal);
    setTimeout(() => exitNow(signal), FORCE_EXIT_MS).unref();
  };
  process.on('SIGINT', () => on('SIGINT'));
  process.on('SIGTERM', () => on('SIGTERM'));
}

/**
 * After a command returned: if a signal came, remove anything still registered (after a clean
 * unwind there is nothing). The process then exits with the command's code — 130 / 143 when the
 * signal stopped it, its own when it had already finished — as soon as its output is written (or
 * when the {@link FORCE_EXIT_MS} timer fires, if something still holds it).
 */
export function cleanUpIfInterrupted(): void {
  if (interruptedBy()) removeLeftovers();
}

/**
 * End the process with the command's exit `code` once everything written to `stdout` and `stderr`
 * has been handed to the operating system — by `process.exit`, not by letting the event loop run
 * dry. A process that ends by itself closes its signal handlers while it tears down (its worker
 * threads, a few ms), and a SIGINT that came then killed it — a shell reports 130 — after it had
 * printed and logged its verdict (seen: `fsck --repair-from` printed `"ok": true`, logged exit 0,
 * and died by SIGINT). From here on a signal changes nothing: see {@link handleSignals}.
 */
export function exitWhenWritten(code: number, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): void {
  finishedWith = code;
  process.exitCode = code;
  const flushed = (s: NodeJS.WritableStream) => new Promise<void>((res) => {
    // A stream whose reader is gone (broken-pipe.ts) or that is already closed calls back with an error, or not at all.
    if ((s as { destroyed?: boolean }).destroyed || (s as { writableEnded?: boolean }).writableEnded) return res();
    s.write('', () => res());
  });
  void Promise.all([flushed(stdout), flushed(stderr)]).then(() => process.exit(code));
}
