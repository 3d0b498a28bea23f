/**
 * A failure no command caught: an exception thrown outside every promise chain a command awaits,
 * or a rejected promise that nothing handles (a library can leak one: hyparquet 1.33.0 did, for a
 * column chunk of a hostile Parquet file that no schema column claims). Node would print the stack
 * and exit 1 — the code snap keeps for a failed check (README, exit codes) — leaving the store's lock
 * and temporary files behind. Instead the process reports an internal error and exits 3, after
 * removing what the command registered to remove if it cannot finish (`io/interrupt.ts`,
 * `leaveNothing`: temporary files and folders, held locks).
 *
 * So does a command that stalls: one awaiting a promise nothing will ever settle, so that the event
 * loop runs dry and Node exits 0 — a pass, of `check` or `verify` too, with nothing said (an archive
 * member left unread stopped the tar reader: `check B --against A.snap.tar` exited 0 so, whatever B held).
 */
import { escapeMessage } from '../core/display.js';
import { removeLeftovers } from '../io/interrupt.js';
import { EXIT_INPUT } from './exit-codes.js';
import { errorDocument, noteWrites } from './json-stdout.js';

/** The exit code of a crash: 3, as every internal error (`INTERNAL`). */
export const EXIT_CRASH = EXIT_INPUT;

/** The message of an error no command expected (code INTERNAL), as runCli and a crash give it. */
export function unexpectedMessage(e: unknown): string {
  return `unexpected error: ${(e as Error)?.message ?? String(e)} (please report this)`;
}

/**
 * The `--json` error document of a crash, as runCli gives any other unexpected error: INTERNAL,
 * {@link unexpectedMessage}, the message exact (JSON escapes it).
 */
function crashDocument(e: unknown): string {
  return errorDocument('INTERNAL', unexpectedMessage(e));
}

/** What a stalled command is said to have done (see the module comment). */
export const STALLED_MESSAGE = 'the command stopped before it finished: an operation it waited on can never complete, so nothing it was to check or do counts';

/**
 * Install the handlers of uncaught exceptions and unhandled rejections (the `snap` binary does,
 * before it runs a command), and of a command that stalls: the event loop runs dry (`beforeExit`)
 * before the returned function was called, which the caller calls once its command has settled
 * (resolved or rejected); that is a crash too, with the message {@link STALLED_MESSAGE}. Each writes `PROGRAM: internal error: STACK [INTERNAL]` (control
 * characters escaped), removes the leftovers and exits {@link EXIT_CRASH} at once. With
 * `jsonStdout` (the command was run with `--json`), it first writes the error document there
 * ({@link crashDocument}: README, "--json": one document on every exit) unless the command had
 * already written to it, which would make two.
 * @param stderr where the report goes
 * @param program the name the binary was run as (`snap`, `snapds`)
 * @param jsonStdout stdout, when `--json` was asked for
 * @returns call it once the command has settled (from then on an empty event loop is the normal end)
 */
export function handleCrashes(stderr: NodeJS.WritableStream, program: string, jsonStdout?: NodeJS.WritableStream): () => void {
  let crashed = false;
  // Note the first write of the command's own output (its document, or a part of it).
  const written = jsonStdout ? noteWrites(jsonStdout) : () => true;
  const crash = (e: unknown): void => {
    if (!crashed) {
      crashed = true;
      try {
        if (jsonStdout && !written()) jsonStdout.write(crashDocument(e));
      } catch {
        /* best effort, as the report below */
      }
      try {
        const text = String((e as Error)?.stack ?? e).split('\n').map(escapeMessage).join('\n');
        stderr.write(`${program}: internal error: ${text} [INTERNAL]\n`);
      } catch {
        /* the report is best effort; the clean-up and the exit code are not */
      }
    }
    removeLeftovers();
    process.exit(EXIT_CRASH);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  let settled = false;
  process.on('beforeExit', () => {
    if (!settled) crash(new Error(STALLED_MESSAGE));
  });
  return () => {
    settled = true;
  };
}
