/**
 * Key hygiene: a private key file that group or others can read is a key others can sign with.
 * OpenSSH refuses such a key ("UNPROTECTED PRIVATE KEY FILE!", when `mode & 077` is not 0); snap
 * warns, naming the `chmod` that fixes it, and goes on (a CI secret mount may be 0640 by design).
 */
import { promises as fsp } from 'node:fs';

/** Permission bits that must be clear on a private key file: any access by group or others (as ssh checks). */
export const KEY_EXPOSED_BITS = 0o077;

/** Why a private key file is exposed, for a warning; undefined when it is not (or cannot be checked). */
export interface KeyFileExposure {
  path: string;
  /** The file's permission bits, e.g. 0o644. */
  mode: number;
  /** Who besides the owner may read or write it: `group`, `others`, or both. */
  who: ('group' | 'others')[];
  /** The command that fixes it. */
  fix: string;
}

/** Quote a path for a POSIX shell when it needs it. */
function shellQuote(p: string): string {
  return /^[A-Za-z0-9_./@%+=:,-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}

/**
 * Check a private key file's permissions (after it was read successfully).
 * @returns the exposure, or undefined when only the owner has access (or on a system without
 *   POSIX modes, or when the file cannot be stat'ed)
 */
export async function keyFileExposure(path: string): Promise<KeyFileExposure | undefined> {
  if (process.platform === 'win32') return undefined;
  let mode: number;
  try {
    mode = (await fsp.stat(path)).mode & 0o7777;
  } catch {
    return undefined;
  }
  if ((mode & KEY_EXPOSED_BITS) === 0) return undefined;
  const who: KeyFileExposure['who'] = [];
  if (mode & 0o070) who.push('group');
  if (mode & 0o007) who.push('others');
  return { path, mode, who, fix: `chmod 600 ${shellQuote(path)}` };
}

/** The warning line for an exposed key (stderr), with its stable code in brackets. */
export function exposureWarning(x: KeyFileExposure): string {
  return `warning: the private key ${x.path} can be accessed by ${x.who.join(' and ')} (mode 0${x.mode.toString(8)}): anyone who can read it can sign as you. Run: ${x.fix} [KEY_FILE_EXPOSED]`;
}
