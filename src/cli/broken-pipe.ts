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
 */

/** Streams on which a write has failed with EPIPE (their reader is gone). */
const broken = new WeakSet<NodeJS.WritableStream>();

/**
 * Take EPIPE on `stream` quietly (see the module comment): no crash, no message, later writes
 * dropped. Any other write error is left as it was (thrown, as for an unhandled 'error' event).
 */
export function quietOnBrokenPipe(stream: NodeJS.WritableStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e?.code === 'EPIPE' || (broken.has(stream) && e?.code === 'ERR_STREAM_DESTROYED')) {
      broken.add(stream);
      return;
    }
    throw e;
  });
}

