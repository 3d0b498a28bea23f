/**
 * `--json` promises one document on stdout on every exit (README, "--json"). A process that exits
 * without its command's own document — a crash (`crash.ts`), a second Ctrl-C or an unwinding that
 * took longer than allowed (`signals.ts`) — writes an error document there instead, unless the
 * command had already written to stdout (another document would make two). This notes whether it had.
 */

/** Streams watched, and whether anything was written to each since. */
const watched = new WeakMap<NodeJS.WritableStream, { written: boolean }>();

/**
 * Start noting writes to `stream` (once per stream, however many callers ask).
 * @returns whether anything has been written to it since the first call
 */
export function noteWrites(stream: NodeJS.WritableStream): () => boolean {
  let seen = watched.get(stream);
  if (!seen) {
    const state = { written: false };
    seen = state;
    watched.set(stream, state);
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((...args: unknown[]) => {
      state.written = true;
      return write(...args);
    }) as typeof stream.write;
  }
  const s = seen;
  return () => s.written;
}

/**
 * The `--json` error document of a process that exits on its own account (`code`, `message`,
 * `details` as runCli gives an error), with its line end.
 */
export function errorDocument(code: string, message: string, details?: Record<string, unknown>): string {
  return JSON.stringify({ ok: false, error: { code, message, ...(details ? { details } : {}) } }, null, 2) + '\n';
}
