/**
 * JSON documents on stdout: the text every one is written as ({@link jsonDocument}), and the
 * error document of a process that exits without its command's own.
 *
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
 * Code points a JSON document on stdout writes as `\uNNNN` escapes although JSON allows them raw in
 * a string: DEL and the C1 controls (U+007F–U+009F: U+009B is a terminal's CSI), the bidirectional
 * controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069: they reorder what a terminal
 * shows after them), and the line and paragraph separators U+2028, U+2029. `JSON.stringify`
 * already escapes the C0 controls, `"`, `\` and lone surrogates; every other character is written
 * as itself.
 */
const TERMINAL_UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

/**
 * JSON text with each code point of {@link TERMINAL_UNSAFE_IN_JSON} written as `\uNNNN` (four
 * lowercase hex digits): the same JSON value (`JSON.parse` gives the same result), but one whose
 * names, labels and messages cannot reorder or control the terminal it is paged to. Outside strings
 * JSON text holds only ASCII, so every such code point is inside a string, where the escape means
 * it. Text without any is returned as it is.
 */
export function escapeJsonForTerminal(json: string): string {
  return json.replace(TERMINAL_UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A JSON document as snap prints it on stdout (README, "--json"): `JSON.stringify(value, null, 2)`,
 * one LF, the code points of {@link escapeJsonForTerminal} escaped. Every `--json` document, the
 * error document and `bom` without `-o` are written through it; files written with `-o` are not
 * (they are data: their bytes are as `JSON.stringify` makes them).
 */
export function jsonDocument(value: unknown): string {
  return escapeJsonForTerminal(JSON.stringify(value, null, 2)) + '\n';
}

/**
 * The `--json` error document of a process that exits on its own account (`code`, `message`,
 * `details` as runCli gives an error), with its line end ({@link jsonDocument}).
 */
export function errorDocument(code: string, message: string, details?: Record<string, unknown>): string {
  return jsonDocument({ ok: false, error: { code, message, ...(details ? { details } : {}) } });
}
