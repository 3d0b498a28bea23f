/**
 * Which runs start their hashing workers before anything else (`io/prestart.ts`): `seal` and
 * `verify` of a local folder, judged from the raw arguments before yargs has parsed them. A guess
 * only decides when the workers boot, never what they do: a run that turns out not to need them
 * leaves them unused (unreferenced; they end with the process), and one that needs them and has
 * none starts its own.
 */
import { availableParallelism } from 'node:os';
import { prestartHashWorkers } from '../io/prestart.js';

/**
 * Most hashing workers started before anything else. A worker that boots only when the pool finds
 * every started one busy starts its share of a few large files 50–65 ms late, which is the end of
 * the run (8 shards of 256 MiB on 2 cores: 1.29–1.36 s wall with one early worker, 1.17–1.23 s with
 * two, the reference 1.05–1.10 s; docs/PERFORMANCE.md). More than this boot when there is work for
 * them, so a one-file dataset on a 64-core machine does not boot 64.
 */
export const EARLY_WORKERS_MAX = 4;

/**
 * How many hashing workers to start before anything else: for `seal DIR` and `verify DIR`, as many
 * as the run will use (`--jobs`, default one per core), at most {@link EARLY_WORKERS_MAX} (the pool
 * starts the others when there is work for them); 0 for any other command, for help and version,
 * for a dataset or store in S3, an archive (`--out`, `*.tar`), shard report merging, or a `--jobs`
 * value that is not a positive integer (a usage error).
 * @param cores the default number of workers (availableParallelism())
 */
export function earlyWorkerCount(argv: readonly string[], cores: number = availableParallelism()): number {
  const word = argv.find((x) => !x.startsWith('-'));
  if (word !== 'seal' && word !== 'verify') return 0;
  for (const x of argv) {
    if (x === '--help' || x === '-h' || x === '--version' || x === '--out' || x.startsWith('--out=') || x === '--merge' || x.startsWith('--merge=')) return 0;
    if (/^(--[a-z-]+=)?s3:\/\//i.test(x) || x.endsWith('.tar')) return 0;
  }
  if (process.env.SNAP_STORE !== undefined && /^s3:\/\//i.test(process.env.SNAP_STORE) && !argv.some((x) => x === '--store' || x.startsWith('--store='))) return 0;
  const i = argv.findIndex((x) => x === '--jobs' || x.startsWith('--jobs='));
  if (i < 0) return Math.max(1, Math.min(cores, EARLY_WORKERS_MAX));
  const n = Number(argv[i] === '--jobs' ? argv[i + 1] : (argv[i] as string).slice('--jobs='.length));
  return Number.isSafeInteger(n) && n >= 1 ? Math.min(n, EARLY_WORKERS_MAX) : 0;
}

/** Start the hashing workers this run will need, now (see {@link earlyWorkerCount}). */
export function startEarlyWorkers(argv: readonly string[]): void {
  const n = earlyWorkerCount(argv);
  if (n > 0) prestartHashWorkers(n);
}
