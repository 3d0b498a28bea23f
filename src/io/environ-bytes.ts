/**
 * Environment variables as the bytes the process was given. Node decodes `process.env` as UTF-8,
 * each byte that is not UTF-8 becoming U+FFFD, so `SNAP_STORE=st\xff` cannot be told from
 * `SNAP_STORE=st\uFFFD`: on Linux the bytes are read back from `/proc/self/environ`
 * (NUL-terminated `NAME=VALUE` entries, the environment the process started with), elsewhere they
 * are not known.
 */
import { readFileSync } from 'node:fs';

/** Where Linux shows the environment the process started with. */
const ENVIRON = '/proc/self/environ';

/**
 * The values of the variables `names` as raw bytes, each only when it lines up with `env` (its
 * bytes decode, as Node decodes them, to `env[name]`); undefined when the environment cannot be read.
 * @param names the variables wanted
 * @param env the environment as Node decoded it (`process.env`)
 */
export function environmentBytes(names: readonly string[], env: NodeJS.ProcessEnv): Map<string, Buffer> | undefined {
  let raw: Buffer;
  try {
    raw = readFileSync(ENVIRON);
  } catch {
    return undefined;
  }
  const wanted = new Set(names);
  const out = new Map<string, Buffer>();
  let from = 0;
  for (let i = 0; i <= raw.length; i++) {
    if (i < raw.length && raw[i] !== 0) continue;
    const entry = raw.subarray(from, i);
    from = i + 1;
    const eq = entry.indexOf(0x3d); // '='
    if (eq <= 0) continue;
    const name = entry.subarray(0, eq).toString('utf8');
    const value = entry.subarray(eq + 1);
    if (wanted.has(name) && value.toString('utf8') === env[name]) out.set(name, value);
  }
  return out;
}
