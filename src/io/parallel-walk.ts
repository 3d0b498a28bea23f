/**
 * The walk of a dataset in manifest order (SPEC §2) with the folders listed by the hashing workers,
 * so that the main thread's work is per folder and per batch, not per file (issue 14, "room for
 * many cores").
 *
 * A worker lists folders (`{ list: [FOLDER, …] }`, see `hash-worker.ts`): when every entry is a regular
 * file or a folder with a printable-ASCII name (valid as it is, SPEC §2) it replies with the files'
 * names in manifest order joined in one string, where each starts, the subfolders, and how many
 * files come before each subfolder. The main thread never splits that string: it hands ranges of it
 * (substrings, cut at the offsets) to the hashing batches, and recurses into the subfolders, whose
 * listings it asks for ahead of time (at least {@link LOOKAHEAD} siblings ahead) so that the workers
 * are never idle waiting for the walk, {@link LIST_GROUP} sibling folders to a message: one message
 * (and one reply) per folder cost the main thread more than the rest of its work per folder.
 *
 * Anything else — a symbolic link, a FIFO, a socket, a device, an entry of unknown type, a name
 * that is not printable ASCII (hostile or simply non-English), a folder that cannot be read — makes
 * the worker answer `fallback`, and that folder's whole subtree is walked by `walkDatasetRuns`
 * (walk.ts) on the main thread, exactly as before: same order, same checks, same errors and
 * reports. The order of the two kinds of runs is the manifest order: a folder's subtree is a
 * contiguous range of it, wherever it is walked.
 */
import { resolve } from 'node:path';
import { SnapError } from '../core/errors.js';
import type { FolderListing } from './hash-pool.js';
import { foldersInside, walkDatasetRuns, type WalkItem, type WalkOptions } from './walk.js';

/** Subfolders whose listings are asked for ahead of the one being walked, at least. */
export const LOOKAHEAD = 8;
/** Sibling folders whose listings are asked for in one message, at most. */
export const LIST_GROUP = 8;

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

/** The dataset path of file `i` of a run (`dir/name`, or `name` in the root). */
export function fileRunPath(run: FileRun, i: number): string {
  const name = run.files.slice(run.offsets[i], (run.offsets[i + 1] as number) - 1);
  return run.dir === '' ? name : `${run.dir}/${name}`;
}

/** What {@link walkParallel} yields, in manifest order: a run of files listed by a worker, or items walked here. */
export type ParallelRun = FileRun | WalkItem[];

/** True for a run listed by a worker. */
export function isFileRun(r: ParallelRun): r is FileRun {
  return !Array.isArray(r);
}

/**
 * Walk `root` in manifest order, the folders listed by `list` (a worker's `{ list: [FOLDER, …] }`,
 * which answers one listing per folder, in order).
 * Options as {@link walkDatasetRuns}, which walks every folder a worker does not answer; `excludes`
 * are not supported here (the caller walks with `walkDatasetRuns` when there are any).
 * @throws SnapError every code of {@link walkDatasetRuns}
 */
export async function* walkParallel(root: string, list: (folders: string[]) => Promise<FolderListing[]>, opts: Omit<WalkOptions, 'excludes' | 'from'> = {}): AsyncGenerator<ParallelRun> {
  const absRoot = resolve(root);
  const skip = foldersInside(absRoot, opts.skipDirs);
  // A store inside the dataset is walked here on the main thread (walk.ts judges each entry by the store's layout), never listed by a worker.
  const stores = foldersInside(absRoot, opts.stores);
  /** Ask for the listings of `folders`; one promise per folder (failures are seen where each is awaited, in order). */
  const ask = (folders: string[]): Promise<FolderListing>[] => {
    const p = list(folders);
    return folders.map((_, i) => {
      const one = p.then((ls) => {
        const l = Array.isArray(ls) ? ls[i] : undefined;
        if (l === undefined) throw new SnapError('INTERNAL', `a hashing worker did not list ${folders.length} folders as asked (please report this)`);
        return l;
      });
      one.catch(() => {}); // awaited later, in order
      return one;
    });
  };

  async function* visit(rel: string, listing: Promise<FolderListing>): AsyncGenerator<ParallelRun> {
    const l = await listing;
    if (l.fallback) {
      yield* walkDatasetRuns(root, { ...opts, from: rel });
      return;
    }
    const { files, offsets, dirs, before } = l;
    const nFiles = offsets.length - 1;
    const sub = (name: string): string => (rel === '' ? name : `${rel}/${name}`);
    const asked: (Promise<FolderListing> | undefined)[] = [];
    let next = 0;
    /** Keep the listings of the subfolders up to k + LOOKAHEAD asked for, LIST_GROUP at a time. */
    const askAhead = (k: number): void => {
      while (next < dirs.length && next <= k + LOOKAHEAD) {
        const end = Math.min(dirs.length, next + LIST_GROUP);
        const group: string[] = [];
        const at: number[] = [];
        for (; next < end; next++) {
          const d = sub(dirs[next] as string);
          if (skip.has(d) || stores.has(d)) continue;
          group.push(d);
          at.push(next);
        }
        if (group.length > 0) ask(group).forEach((p, i) => (asked[at[i] as number] = p));
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
      else if (stores.has(sub(dirs[k] as string))) yield* walkDatasetRuns(root, { ...opts, from: sub(dirs[k] as string) });
    }
    if (nFiles > a) yield { dir: rel, files, offsets, from: a, to: nFiles };
  }

  yield* visit('', ask([''])[0] as Promise<FolderListing>);
}
