/**
 * Which runs start their hashing workers before anything else (`io/prestart.ts`): `seal` and
 * `verify` of a local folder, judged from the raw arguments before yargs has parsed them. A guess
 * only decides when the workers boot, never what they do: a run that turns out not to need them
 * leaves them unused (unreferenced; they end with the process), and one that needs them and has
 * none starts its own.
 */
import { lstatSync, opendirSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { prestartHashWorkers } from '../io/prestart.js';
import { fitsInline, INLINE_MAX_FILES, type INLINE_MAX_BYTES } from '../io/inline-worker.js';
import { commandWord } from './command-word.js';
import { MAX_JOBS } from './common.js';

/**
 * The options of `seal` and `verify` that take a value (with their aliases), so that the folder
 * argument is told from an option's value before yargs has parsed them. A test checks the list
 * against the commands' yargs declarations.
 */
export const SEAL_VERIFY_VALUE_OPTIONS: ReadonlySet<string> = new Set(
  ['store', 'jobs', 'j', 'message', 'm', 'source', 'license', 'derived-from', 'as', 'key', 'passphrase-env', 'parent', 'exclude', 'expires', 'out', 'records', 'retain', 'retain-mode', 'shard', 'report', 'report-key', 'run', 'merge', 'report-pubkey', 'against', 'pubkey', 'policy', 'root', 'policy-name', 'state-dir', 'revocations'].map((o) => (o.length === 1 ? `-${o}` : `--${o}`)),
);

/**
 * The folder argument of `seal DIR` / `verify DIR` in raw arguments: the first word after the
 * command word that is neither an option nor an option's value; undefined when there is none.
 */
export function datasetArgument(argv: readonly string[]): string | undefined {
  let seen = false;
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i] as string;
    if (x === '--') return seen ? argv[i + 1] : argv[i + 2];
    if (SEAL_VERIFY_VALUE_OPTIONS.has(x)) {
      i++;
      continue;
    }
    if (x.startsWith('-')) continue;
    if (seen) return x;
    seen = true; // the command word
  }
  return undefined;
}

/** What a bounded look at a dataset folder found ({@link lookAtDataset}). */
export interface DatasetLook {
  /** Regular files seen (the look stops early, so a lower bound past the budget). */
  files: number;
  /** Whether the whole folder is within the main-thread budget (`inline-worker.ts` `fitsInline`). */
  small: boolean;
}

/**
 * A bounded look at the folder `dir`: whether it holds at most {@link INLINE_MAX_FILES} entries
 * (in every subfolder) of at most {@link INLINE_MAX_BYTES} bytes in all, which a hashing pool
 * hashes on the main thread (`inline-worker.ts`), and how many regular files it saw. One lstat per
 * file; it stops after INLINE_MAX_FILES + 1 entries, or once the folder is past the budget and
 * `enough` files were seen. Undefined when anything is unexpected (not a folder, unreadable).
 */
export function lookAtDataset(dir: string, enough: number): DatasetLook | undefined {
  const folders = [dir];
  let entries = 0;
  let files = 0;
  let bytes = 0;
  try {
    for (let f = folders.pop(); f !== undefined; f = folders.pop()) {
      const d = opendirSync(f);
      try {
        for (let e = d.readSync(); e !== null; e = d.readSync()) {
          const path = join(f, e.name);
          if (e.isDirectory()) folders.push(path);
          else if (e.isFile()) {
            files++;
            bytes += lstatSync(path).size;
          }
          if (!fitsInline(++entries, bytes) && (files >= enough || entries > INLINE_MAX_FILES)) return { files, small: false };
        }
      } finally {
        d.closeSync();
      }
    }
  } catch {
    return undefined;
  }
  return { files, small: fitsInline(entries, bytes) };
}

/**
 * How many hashing workers to start before anything else, for `seal DIR` and `verify DIR` past the
 * main-thread budget: as many as the pool will use — `--jobs` (default: the cores), no more than the
 * files {@link lookAtDataset} saw (a folder of one large file boots one), at least one. On two cores,
 * the second worker booted with the first hashes from the first batch instead of booting when that
 * batch finds the first worker busy, some 25 ms later (docs/PERFORMANCE.md, "Thirty-seventh
 * session"). 0 for any other command, for help and version, for a dataset or store in S3, an
 * archive (`--out`, `*.tar`), shard report merging, or a `--jobs` (`-j`) value that is not a whole
 * number from 1 to MAX_JOBS (a usage error), and for a DIR {@link lookAtDataset} finds small (its pool
 * hashes on the main thread).
 */
export function earlyWorkerCount(argv: readonly string[], cores: number = availableParallelism()): number {
  const word = commandWord(argv);
  if (word !== 'seal' && word !== 'verify') return 0;
  for (const x of argv) {
    if (x === '--help' || x === '-h' || x === '--version' || x === '--out' || x.startsWith('--out=') || x === '--merge' || x.startsWith('--merge=')) return 0;
    if (/^(--[a-z-]+=)?s3:\/\//i.test(x) || x.endsWith('.tar')) return 0;
  }
  if (process.env.SNAP_STORE !== undefined && /^s3:\/\//i.test(process.env.SNAP_STORE) && !argv.some((x) => x === '--store' || x.startsWith('--store='))) return 0;
  let jobs = Math.max(1, cores);
  const i = argv.findIndex((x) => x === '--jobs' || x === '-j' || /^(--jobs=|-j=?)\S/.test(x));
  if (i >= 0) {
    const x = argv[i] as string;
    jobs = Number(x === '--jobs' || x === '-j' ? argv[i + 1] : x.replace(/^(--jobs=|-j=?)/, ''));
    // Not a whole number from 1 to MAX_JOBS: a usage error comes, and no worker is needed for it.
    if (!Number.isSafeInteger(jobs) || jobs < 1 || jobs > MAX_JOBS) return 0;
  }
  const dir = datasetArgument(argv);
  if (dir === undefined) return 1;
  const look = lookAtDataset(dir, jobs);
  if (look === undefined) return 1;
  return look.small ? 0 : Math.max(1, Math.min(jobs, look.files));
}

/** Start the hashing workers this run will need, now (see {@link earlyWorkerCount}). */
export function startEarlyWorkers(argv: readonly string[]): void {
  const n = earlyWorkerCount(argv);
  if (n > 0) prestartHashWorkers(n);
}
