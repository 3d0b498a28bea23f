/**
 * The process's arguments as the bytes it was given. Node decodes them as UTF-8, each byte that is
 * not UTF-8 becoming U+FFFD, so `process.argv` cannot tell `data\xff` from `data\uFFFD`: on Linux
 * the bytes are read back from `/proc/self/cmdline` (NUL-terminated arguments), elsewhere they are
 * not known.
 */
import { readFileSync } from 'node:fs';

/** Where Linux shows the process's command line. */
const CMDLINE = '/proc/self/cmdline';

/**
 * The last `args.length` arguments of the process as raw bytes, or undefined when they cannot be
 * read or do not line up with `args` (each argument that is valid UTF-8 must decode to its string
 * in `args`, and the others to it with U+FFFD in place of bad bytes, as Node decodes them).
 * @param args the arguments as Node decoded them (`process.argv.slice(2)`)
 */
export function argumentBytes(args: readonly string[]): Buffer[] | undefined {
  let raw: Buffer;
  try {
    raw = readFileSync(CMDLINE);
  } catch {
    return undefined;
  }
  const parts: Buffer[] = [];
  let from = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0) continue;
    parts.push(raw.subarray(from, i));
    from = i + 1;
  }
  if (from < raw.length) parts.push(raw.subarray(from));
  if (parts.length < args.length) return undefined;
  const tail = parts.slice(parts.length - args.length);
  return tail.every((b, i) => b.toString('utf8') === args[i]) ? tail : undefined;
}
