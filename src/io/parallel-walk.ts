/**
 * The walk of a dataset in manifest order (SPEC §2) with the folders listed by the hashing workers,
 * so that the main thread's work is per folder and per batch, not per file (issue 14, "room for
 * many cores").
 *
 * A worker lists a folder (`{ list: FOLDER }`, see `hash-worker.ts`): when every entry is a regular
 * file or a folder with a printable-ASCII name (valid as it is, SPEC §2) it replies with the files'
 * names in manifest order joined in one string, where each starts, the subfolders, and how many
 * files come before each subfolder. The main thread never splits that string: it hands ranges of it
 * (substrings, cut at the offsets) to the hashing batches, and recurses into the subfolders, whose
 * listings it asks for ahead of time ({@link LOOKAHEAD} siblings at a time) so that the workers
 * are never idle waiting for the walk.
 *
 * Anything else — a symbolic link, a FIFO, a socket, a device, an entry of unknown type, a name
 * that is not printable ASCII (hostile or simply non-English), a folder that cannot be read — makes
 * the worker answer `fallback`, and that folder's whole subtree is walked by `walkDatasetRuns`
 * (walk.ts) on the main thread, exactly as before: same order, same checks, same errors and
 * reports. The order of the two kinds of runs is the manifest order: a folder's subtree is a
 * contiguous range of it, wherever it is walked.
 */
import { relative, resolve, sep } from 'node:path';
import type { ListReply } from './hash-pool.js';
import { walkDatasetRuns, type WalkItem, type WalkOptions } from './walk.js';

/** Subfolders whose listings are asked for ahead of the one being walked. */
export const LOOKAHEAD = 8;

/**
 * A run of regular files of one folder, in manifest order: the names are `files.slice(offsets[i],
 * offsets[i + 1] - 1)` for i in [`from`, `to`), each file's dataset path `dir/name` (`name` when
 * `dir` is '').
 */
export interface FileRun {
  dir: string;
  files: string;
  offsets: Uint32Array;
  from: number;
  to: number;
}

/** What {@link walkParallel} yields, in manifest order: a run of files listed by a worker, or items walked here. */
export type ParallelRun = FileRun | WalkItem[];

/** True for a run listed by a worker. */
export function isFileRun(r: ParallelRun): r is FileRun {
  return !Array.isArray(r);
}

/**
 * Walk `root` in manifest order, the folders listed by `list` (a worker's `{ list: FOLDER }`).
 * Options as {@link walkDatasetRuns}, which walks every folder a worker does not answer; `excludes`
 * are not supported here (the caller walks with `walkDatasetRuns` when there are any).
 * @throws SnapError every code of {@link walkDatasetRuns}
 */
export async function* walkParallel(root: string, list: (folder: string) => Promise<ListReply>, opts: Omit<WalkOptions, 'excludes' | 'from'> = {}): AsyncGenerator<ParallelRun> {
  const absRoot = resolve(root);
  const skip = new Set((opts.skipDirs ?? []).map((d) => relative(absRoot, d)).filter((r) => r !== '' && !r.startsWith('..') && !r.startsWith(sep)).map((r) => r.split(sep).join('/')));
  const ask = (folder: string): Promise<ListReply> => {
    const p = list(folder);
    p.catch(() => {}); // awaited later, in order; a failure is seen there
    return p;
  };

  async function* visit(rel: string, listing: Promise<ListReply>): AsyncGenerator<ParallelRun> {
    const l = await listing;
    if (l.fallback) {
      yield* walkDatasetRuns(root, { ...opts, from: rel });
      return;
    }
    const { files, offsets, dirs, before } = l;
    const nFiles = offsets.length - 1;
    const sub = (name: string): string => (rel === '' ? name : `${rel}/${name}`);
    const asked: (Promise<ListReply> | undefined)[] = [];
    let next = 0;
    const askAhead = (k: number): void => {
      for (; next < dirs.length && next <= k + LOOKAHEAD; next++) {
        const d = sub(dirs[next] as string);
        asked[next] = skip.has(d) ? undefined : ask(d);
      }
    };
    let a = 0;
    for (let k = 0; k < dirs.length; k++) {
      askAhead(k);
      const b = before[k] as number;
      if (b > a) yield { dir: rel, files, offsets, from: a, to: b };
      a = b;
      const p = asked[k];
      asked[k] = undefined;
      if (p) yield* visit(sub(dirs[k] as string), p);
    }
    if (nFiles > a) yield { dir: rel, files, offsets, from: a, to: nFiles };
  }

  yield* visit('', ask(''));
}
