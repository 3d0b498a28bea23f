/**
 * Which runs start their hashing workers before anything else (`io/prestart.ts`): `seal` and
 * `verify` of a local folder, judged from the raw arguments before yargs has parsed them. A guess
 * only decides when the workers boot, never what they do: a run that turns out not to need them
 * leaves them unused (unreferenced; they end with the process), and one that needs them and has
 * none starts its own.
 */
import { prestartHashWorkers } from '../io/prestart.js';
import { commandWord } from './command-word.js';

/**
 * How many hashing workers to start before anything else: one for `seal DIR` and `verify DIR` (the
 * pool starts the others when there is work for them: a dataset of one file never boots a second);
 * 0 for any other command, for help and version, for a dataset or store in S3, an archive (`--out`,
 * `*.tar`), shard report merging, or a `--jobs` value that is not a positive integer (a usage error).
 */
export function earlyWorkerCount(argv: readonly string[]): number {
  const word = commandWord(argv);
  if (word !== 'seal' && word !== 'verify') return 0;
  for (const x of argv) {
    if (x === '--help' || x === '-h' || x === '--version' || x === '--out' || x.startsWith('--out=') || x === '--merge' || x.startsWith('--merge=')) return 0;
    if (/^(--[a-z-]+=)?s3:\/\//i.test(x) || x.endsWith('.tar')) return 0;
  }
  if (process.env.SNAP_STORE !== undefined && /^s3:\/\//i.test(process.env.SNAP_STORE) && !argv.some((x) => x === '--store' || x.startsWith('--store='))) return 0;
  const i = argv.findIndex((x) => x === '--jobs' || x.startsWith('--jobs='));
  if (i < 0) return 1;
  const n = Number(argv[i] === '--jobs' ? argv[i + 1] : (argv[i] as string).slice('--jobs='.length));
  return Number.isSafeInteger(n) && n >= 1 ? 1 : 0;
}

/** Start the hashing workers this run will need, now (see {@link earlyWorkerCount}). */
export function startEarlyWorkers(argv: readonly string[]): void {
  const n = earlyWorkerCount(argv);
  if (n > 0) prestartHashWorkers(n);
}
