/**
 * The label folders of a folder side of `check` that hold no sample of their label-folder set
 * (docs/FORMAT.md §19.8): a folder reader takes every folder at the label level as a class — Keras's
 * `image_dataset_from_directory` lists them sorted, so an empty `images/aaa/` shifts every class
 * index by one — while a snapshot records files only, so no record set and no manifest shows it.
 */
import type { Dir } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import ignore from 'ignore';
import { compareUtf8 } from '../core/paths.js';
import { isFolderMetadata } from '../records/check.js';

/** Label folders looked at per label-folder set at most; past it the rest are not (a dataset of that many classes is not a classification). */
export const MAX_LABEL_FOLDERS = 100_000;

/** Folder entries (names) of `dir`, in UTF-8 order; none when it cannot be read. */
async function subfolders(dir: string): Promise<string[]> {
  try {
    return (await fsp.readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort(compareUtf8);
  } catch {
    return [];
  }
}

/**
 * What a label folder holds: `record` when a regular file below it is a sample of the set (its
 * pattern matches it, and it is no Hugging Face metadata file), else `files` when it holds any
 * entry that is not a folder, else `empty`. Stops at the first sample.
 */
async function holds(root: string, dir: string, ig: ReturnType<typeof ignore>, skip: ReadonlySet<string>): Promise<'record' | 'files' | 'empty'> {
  let seen: 'files' | 'empty' = 'empty';
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop() as string;
    let handle: Dir | undefined;
    try {
      handle = await fsp.opendir(join(root, d));
      for await (const e of handle) {
        const path = `${d}/${e.name}`;
        if (e.isDirectory()) {
          if (!skip.has(path)) stack.push(path);
          continue;
        }
        seen = 'files';
        if (e.isFile() && ig.ignores(path) && !isFolderMetadata(path)) return 'record';
      }
    } catch {
      // unreadable: the diff's own walk reports it
    } finally {
      handle = undefined; // for await closes it
    }
  }
  return seen;
}

/**
 * The label folders (dataset paths, each ending in `/`) of the folder `root` that hold no sample
 * of a label-folder set: the folders at depth `labelSegment + 1` whose path the first
 * `labelSegment + 1` segments of its pattern match (`mail/*` of `mail/*\/*.txt`, label segment 1),
 * with whether each holds files at all (`empty`: none, only folders). Sets whose pattern has no
 * segment below its label segment (nor ends there in `**`) are passed over (their folders are not known from it).
 * @param root the folder side
 * @param sets the label-folder sets: pattern (gitignore syntax, from the dataset root) and label segment
 * @param skipDirs absolute folders left out (the store)
 */
export async function samplelessLabelFolders(root: string, sets: readonly { pattern: string; labelSegment: number }[], skipDirs: readonly string[]): Promise<{ path: string; empty: boolean }[]> {
  const absRoot = resolve(root);
  const skip = new Set(skipDirs.map((d) => relative(absRoot, resolve(d))).filter((r) => r !== '' && !r.startsWith('..')).map((r) => r.split(sep).join('/')));
  const out = new Map<string, boolean>();
  for (const { pattern, labelSegment } of sets) {
    const segs = pattern.replace(/^\//, '').split('/');
    // Known only when the pattern goes below the label segment (`mail/*/*.txt`), or ends there in `**` (`mail/**`).
    if (!pattern.replace(/^\//, '').includes('/') || segs.length < labelSegment + 1 || (segs.length === labelSegment + 1 && segs[labelSegment] !== '**')) continue;
    const ig = ignore().add(pattern);
    // Folders level by level, each level's kept when the pattern's first segments match it.
    let level = [''];
    for (let d = 0; d <= labelSegment && level.length > 0; d++) {
      const prefix = segs.slice(0, d + 1);
      const any = prefix.some((s) => s.includes('**'));
      const at = ignore().add('/' + prefix.join('/'));
      const next: string[] = [];
      for (const parent of level) {
        for (const name of await subfolders(join(absRoot, parent))) {
          const path = parent ? `${parent}/${name}` : name;
          if (skip.has(path) || !(any || at.ignores(path) || at.ignores(`${path}/`))) continue;
          next.push(path);
          if (next.length >= MAX_LABEL_FOLDERS) break;
        }
        if (next.length >= MAX_LABEL_FOLDERS) break;
      }
      level = next;
    }
    for (const dir of level) {
      const h = await holds(absRoot, dir, ig, skip);
      if (h !== 'record') out.set(`${dir}/`, h === 'empty' && (out.get(`${dir}/`) ?? true));
    }
  }
  return [...out].map(([path, empty]) => ({ path, empty })).sort((x, y) => compareUtf8(x.path, y.path));
}
