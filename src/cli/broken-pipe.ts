/**
 * Output to a reader that went away: `snap list --json | head -c 0`, `snap verify … --json | head -1`.
 * Writing to a pipe whose reading end is closed fails with EPIPE. Node ignores SIGPIPE, so instead
 * of dying quietly as a C tool would, the process gets an 'error' event on `process.stdout` (or
 * `stderr`) and, with no listener, crashes with a stack trace. Here EPIPE is taken quietly, as
 * standard Unix tools do: nothing is printed, and the rest of the output is dropped (Node destroys
 * the stream after the error, and writes to a destroyed stream are discarded).
 *
 * The exit code stays the command's own. git and coreutils die from SIGPIPE at the failed write
 * (the shell reports 141); snap deliberately does not, because its exit code is a verdict: with
 * `set -o pipefail`, `snap verify … --json | head -1` must still fail (1) when the data does not
 * match and pass (0) when it does, whether or not the reader stopped early. A 0 for "the reader
 * left" could hide a failed verify, and a 141 would fail a verify that passed. snap writes its
 * output once the command's work is done, so the pipe normally breaks after the verdict is
 * decided; if it breaks earlier (a note on stderr), the command still runs to its end — a seal or
 * import is never cut off halfway — and exits with its own code. The same holds for a closed stderr.
 *
 * Any other write error (`snap list --json > /dev/full`: ENOSPC; EIO, EFBIG, EDQUOT) is taken the
 * same way — the command runs to its end, no stack trace — but on stdout it is not the reader's
 * choice: the output the command was asked for is incomplete, so {@link exitCodeAfterOutput} says
 * so on stderr and turns a success (0) into 3 (an input or environment error); a failed check (1)
 * or an error (2, 3) keeps its code. A stderr that cannot be written loses only notes and
 * messages: the verdict (the exit code, and stdout) stands.
 */
import { EXIT_INPUT, EXIT_OK } from './exit-codes.js';

/** Streams on which a write has failed with EPIPE (their reader is gone). */
const broken = new WeakSet<NodeJS.WritableStream>();

/** The first write error other than EPIPE on each stream (ENOSPC, EIO…): its output is incomplete. */
const failed = new WeakMap<NodeJS.WritableStream, NodeJS.ErrnoException>();

/** Whether `e` is the reader going away: EPIPE, or a later write to the stream Node destroyed for it. */
function isBrokenPipe(stream: NodeJS.WritableStream, e: NodeJS.ErrnoException | null | undefined): boolean {
  return e?.code === 'EPIPE' || (broken.has(stream) && e?.code === 'ERR_STREAM_DESTROYED');
}

/**
 * Take write errors on `stream` quietly (see the module comment): no crash, no message, later writes
 * dropped or failing as quietly. EPIPE marks the stream broken (the reader left); any other error
 * is kept for {@link exitCodeAfterOutput}.
 */
export function quietOnBrokenPipe(stream: NodeJS.WritableStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (isBrokenPipe(stream, e)) broken.add(stream);
    else if (!failed.has(stream)) failed.set(stream, e);
  });
}

/**
 * The write error other than EPIPE that cut `stream`'s output short, if any: as its 'error' event
 * reported it, or as the stream holds it already (a file's write fails at once, and its 'error'
 * event comes on a later tick, possibly after the command returned).
 */
function outputFailure(stream: NodeJS.WritableStream): NodeJS.ErrnoException | undefined {
  const held = (stream as { errored?: NodeJS.ErrnoException | null }).errored ?? undefined;
  return failed.get(stream) ?? (held !== undefined && !isBrokenPipe(stream, held) ? held : undefined);
}

/**
 * The exit code once the command returned `code`: when its stdout could not be written (see the
 * module comment), a line on `stderr` names the error — `PROGRAM: could not write the output to
 * standard output: no space left on the device (ENOSPC) [DISK_FULL]`, `IO_ERROR` for another errno —
 * and a 0 becomes 3; any other code stands.
 * @param program the name the binary was run as, for the line
 */
export function exitCodeAfterOutput(code: number, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream, program: string): number {
  const e = outputFailure(stdout);
  if (e === undefined) return code;
  const errno = typeof e.code === 'string' ? e.code : 'unknown';
  const full = errno === 'ENOSPC' || errno === 'EDQUOT';
  const why = full ? 'no space left on the device' : errno === 'EIO' ? 'input/output error' : 'the write failed';
  stderr.write(`${program}: could not write the output to standard output: ${why} (${errno}); it is incomplete [${full ? 'DISK_FULL' : 'IO_ERROR'}]\n`);
  return code === EXIT_OK ? EXIT_INPUT : code;
}

