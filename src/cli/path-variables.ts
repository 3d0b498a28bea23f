/**
 * The environment variables that name a folder snap uses, and the refusal of one that is not UTF-8:
 * Node hands its value over with U+FFFD in place of each bad byte, another path than the one set
 * (`SNAP_STORE=/tmp/x/st$'\xff'` had fsck look for, and check, a store at `/tmp/x/st\uFFFD`), as
 * it would an argument (`runCli` refuses that too).
 */
import { isUtf8 } from 'node:buffer';
import { SnapError } from '../core/errors.js';
import { escapeForTerminal } from '../core/display.js';
import { decodeNameBytes } from '../core/name-bytes.js';
import type { Args } from './common.js';

/**
 * The variables that name a folder: the store (`SNAP_STORE`, io/store.ts `storePath`), the trusted
 * state (`SNAP_STATE_DIR`, else `XDG_STATE_HOME`, else `HOME`: trust/state.ts `stateDir`) and the
 * temporary folder (`TMPDIR`, read by `os.tmpdir()` for scratch folders, spills and spools).
 */
export const PATH_VARIABLES = ['SNAP_STORE', 'SNAP_STATE_DIR', 'XDG_STATE_HOME', 'HOME', 'TMPDIR'] as const;

/** What else to do than fix each variable, for the message. */
const INSTEAD: Record<(typeof PATH_VARIABLES)[number], string> = {
  SNAP_STORE: 'or name the store with --store',
  SNAP_STATE_DIR: 'or name the trusted state folder with --state-dir',
  XDG_STATE_HOME: 'or name the trusted state folder with --state-dir or SNAP_STATE_DIR',
  HOME: 'or name the trusted state folder with --state-dir or SNAP_STATE_DIR',
  TMPDIR: 'or unset it (then /tmp)',
};

/**
 * The variables whose value this run would read as a folder, by the precedence of the flags and
 * variables before them: `SNAP_STORE` unless `--store` is given; `SNAP_STATE_DIR` unless
 * `--state-dir` is; `XDG_STATE_HOME` unless either is (a non-empty `SNAP_STATE_DIR`); `HOME`
 * unless any of them is (a non-empty `XDG_STATE_HOME`); `TMPDIR` always.
 */
export function pathVariablesRead(a: Args, env: NodeJS.ProcessEnv): (typeof PATH_VARIABLES)[number][] {
  const read: (typeof PATH_VARIABLES)[number][] = [];
  if (a.store === undefined) read.push('SNAP_STORE');
  if (a['state-dir'] === undefined) {
    read.push('SNAP_STATE_DIR');
    if (!env.SNAP_STATE_DIR) {
      read.push('XDG_STATE_HOME');
      if (!env.XDG_STATE_HOME) read.push('HOME');
    }
  }
  read.push('TMPDIR');
  return read;
}

/**
 * Refuse a variable this run reads as a folder (see {@link pathVariablesRead}) whose value is not
 * UTF-8.
 * @param bytes the variables' values as raw bytes, when known (`io/environ-bytes.ts`); undefined: nothing refused
 * @throws SnapError `USAGE` naming the variable and its value (escaped: `st\xff`), `details.variable`
 *   its name and `details.valueHex` the hex of its bytes
 */
export function refusePathVariableNotUtf8(a: Args, env: NodeJS.ProcessEnv, bytes: ReadonlyMap<string, Uint8Array> | undefined): void {
  if (bytes === undefined || bytes.size === 0) return;
  for (const name of pathVariablesRead(a, env)) {
    const b = bytes.get(name);
    if (b === undefined || isUtf8(b)) continue;
    throw new SnapError(
      'USAGE',
      `environment variable ${name} (${escapeForTerminal(decodeNameBytes(b))}) is not valid UTF-8: snap would read it as another folder (with U+FFFD in place of each bad byte); set it to a folder whose path is UTF-8, ${INSTEAD[name]}`,
      { variable: name, valueHex: Buffer.from(b).toString('hex') },
    );
  }
}
