/**
 * The name the CLI was invoked as, for its usage, help and error lines. package.json installs the
 * same program under two names: `snap`, and `snapds` for machines where Ubuntu's snapd already owns
 * `/usr/bin/snap`.
 */
import { basename } from 'node:path';

/** Every name package.json's `bin` installs; the first is the default. */
export const PROGRAM_NAMES = ['snap', 'snapds'] as const;

/** One of {@link PROGRAM_NAMES}. */
export type ProgramName = (typeof PROGRAM_NAMES)[number];

/** The name used when the invoked name is not one of ours (`node dist/cli/main.js`, a renamed link). */
export const DEFAULT_PROGRAM_NAME: ProgramName = 'snap';

/**
 * The program name for the path of the script being run (`process.argv[1]`, which keeps the name
 * of the link npm installed): its base name when that is one of {@link PROGRAM_NAMES}, else
 * {@link DEFAULT_PROGRAM_NAME}. Only known names come back, so nothing from the path (control
 * characters, a long folder name) ever reaches the output. Never throws.
 */
export function programNameOf(scriptPath: string | undefined): ProgramName {
  const base = scriptPath ? basename(scriptPath) : '';
  return (PROGRAM_NAMES as readonly string[]).includes(base) ? (base as ProgramName) : DEFAULT_PROGRAM_NAME;
}
