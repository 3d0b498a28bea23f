/**
 * A failure no command caught: an exception thrown outside every promise chain a command awaits,
 * or a rejected promise that nothing handles (a library can leak one: hyparquet 1.33.0 did, for a
 * column chunk of a hostile Parquet file that no schema column claims). Node would print the stack
 * and exit 1 — the code snap keeps for a failed check (README, exit codes) — leaving the store's lock
 * and temporary files behind. Instead the process reports an internal error and exits 3, after
 * removing what the command registered to remove if it cannot finish (`io/interrupt.ts`,
 * `leaveNothing`: temporary files and folders, held locks).
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

/**
 * Install the handlers of uncaught exceptions and unhandled rejections (the `snap` binary does,
 * before it runs a command). Each writes `PROGRAM: internal error: STACK [INTERNAL]` (control
 * characters escaped), removes the leftovers and exits {@link EXIT_CRASH} at once. With
 * `jsonStdout` (the command was run with `--json`), it first writes the error document there
 * ({@link crashDocument}: README, "--json": one document on every exit) unless the command had
 * already written to it, which would make two.
 * @param stderr where the report goes
 * @param program the name the binary was run as (`snap`, `snapds`)
 * @param jsonStdout stdout, when `--json` was asked for
 */
export function handleCrashes(stderr: NodeJS.WritableStream, program: string, jsonStdout?: NodeJS.WritableStream): void {
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
}
