/**
 * The command word of a raw argument list, before yargs has parsed it: which command module to
 * load (`run.ts`) and whether to boot hashing workers early (`early-workers.ts`).
 */

/** The common options that take a value (common.ts `commonFlags`), which may come before the command word. */
export const VALUE_OPTIONS = new Set(['--store', '--jobs', '-j']);

/** The command word of `argv`: the first word that is neither an option nor the value of a {@link VALUE_OPTIONS} option given before it. */
export function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i] as string;
    if (x === '--') return argv[i + 1];
    if (VALUE_OPTIONS.has(x)) {
      i++;
      continue;
    }
    if (!x.startsWith('-')) return x;
  }
  return undefined;
}
