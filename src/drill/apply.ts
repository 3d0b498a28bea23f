/**
 * Applying planted changes to the drill's scratch copy, and undoing them (docs/FORMAT.md §20).
 * Every path here is inside the scratch folder: `data` (the copy of the dataset), `elsewhere`
 * (copies a symbolic link points to, outside the dataset) and `pristine` (each touched file as it
 * was, to put back after the round).
 */
import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { SnapError } from '../core/errors.js';
import type { Edit } from './plan.js';

/** The scratch folders a round works in. */
export interface Scratch {
  data: string;
  elsewhere: string;
  pristine: string;
}

/** What a round changed, so that {@link undoEdits} can put it back. */
export interface Touched {
  /** Dataset paths written, moved, made or removed. */
  paths: Set<string>;
  /** Folders made for a new path, deepest last. */
  dirs: string[];
}

const exists = (p: string) => fsp.lstat(p).then(() => true, () => false);

/**
 * Keep a copy of `rel` as it is now (once per round): a file, a link, or a whole folder (a path the
 * snapshot leaves out by `--exclude` can be a folder where the drill plants a file).
 */
async function keep(s: Scratch, t: Touched, rel: string): Promise<void> {
  if (t.paths.has(rel)) return;
  t.paths.add(rel);
  const from = join(s.data, rel);
  if (await exists(from)) await fsp.cp(from, join(s.pristine, rel), { recursive: true, preserveTimestamps: true, verbatimSymlinks: true, force: false, errorOnExist: true });
}

/** Make the parent folders of `rel`, remembering the ones that are new. */
async function parents(s: Scratch, t: Touched, rel: string): Promise<void> {
  const missing: string[] = [];
  for (let d = dirname(join(s.data, rel)); d.length > s.data.length && !(await exists(d)); d = dirname(d)) missing.unshift(d);
  for (const d of missing) {
    await fsp.mkdir(d);
    t.dirs.push(d);
  }
}

/** The dataset paths an edit writes, moves, makes or removes. */
function editPaths(e: Edit): string[] {
  return e.op === 'move' ? [e.from, e.to] : [e.path];
}

/**
 * Refuse an edit that would go through a symbolic link of the copy (DIR's links are copied as
 * links): every folder above each path of the edit that exists must be a folder, not a link (nor
 * a file), and a path that is written in place (`write`, `truncate`, `symlink-copy`) a regular
 * file. A link the plan could not see (left out of the snapshot by `--exclude`) would otherwise
 * take the write outside the private copy, into the folder or file it points to.
 * @throws SnapError `IO_ERROR` naming the path, before anything of the edit is done
 */
async function refuseLinks(s: Scratch, e: Edit): Promise<void> {
  const refuse = (rel: string, what: string) => new SnapError('IO_ERROR', `the drill's private copy holds ${what} at ${JSON.stringify(rel)}: the drill writes nothing through it (it could lead outside the copy)`, { path: join(s.data, rel) });
  for (const path of editPaths(e)) {
    const segs = path.split('/');
    for (let i = 1; i < segs.length; i++) {
      const rel = segs.slice(0, i).join('/');
      const st = await fsp.lstat(join(s.data, rel)).catch(() => undefined);
      if (st === undefined) break; // made by the edit, as a folder
      if (!st.isDirectory()) throw refuse(rel, st.isSymbolicLink() ? 'a symbolic link' : 'a file');
    }
  }
  if (e.op === 'write' || e.op === 'truncate' || e.op === 'symlink-copy') {
    const st = await fsp.lstat(join(s.data, e.path)).catch(() => undefined);
    if (st !== undefined && !st.isFile()) throw refuse(e.path, st.isSymbolicLink() ? 'a symbolic link' : 'something other than a file');
  }
}

/**
 * Apply one edit to the copy (never through a symbolic link of it: {@link refuseLinks}).
 * @param id the planted change's id (names its copy under `elsewhere`)
 * @throws SnapError `IO_ERROR` for a path through a link ({@link refuseLinks}); the file system's errors (the runner removes the whole scratch folder)
 */
export async function applyEdit(s: Scratch, t: Touched, id: string, e: Edit): Promise<void> {
  await refuseLinks(s, e);
  switch (e.op) {
    case 'write': {
      await keep(s, t, e.path);
      const p = join(s.data, e.path);
      const st = await fsp.stat(p);
      await fsp.writeFile(p, e.bytes);
      if (e.keepTimes) await fsp.utimes(p, st.atimeMs / 1000, st.mtimeMs / 1000);
      return;
    }
    case 'truncate':
      await keep(s, t, e.path);
      await fsp.truncate(join(s.data, e.path), e.length);
      return;
    case 'move':
      await keep(s, t, e.from);
      await keep(s, t, e.to);
      await parents(s, t, e.to);
      await fsp.rename(join(s.data, e.from), join(s.data, e.to));
      return;
    case 'create':
      await keep(s, t, e.path);
      await parents(s, t, e.path);
      // Whatever is there (left out by --exclude: a file, or a link writeFile would follow) was kept above.
      await fsp.rm(join(s.data, e.path), { force: true, recursive: true });
      await fsp.writeFile(join(s.data, e.path), e.bytes, { flag: 'wx' });
      return;
    case 'symlink-copy': {
      await keep(s, t, e.path);
      const p = join(s.data, e.path);
      const copy = join(s.elsewhere, id, e.path.slice(e.path.lastIndexOf('/') + 1));
      await fsp.mkdir(dirname(copy), { recursive: true });
      await fsp.copyFile(p, copy);
      await fsp.rm(p);
      await fsp.symlink(copy, p);
      return;
    }
  }
}

/** Put back everything a round touched: remove what is there now, restore what was, remove the folders it made. */
export async function undoEdits(s: Scratch, t: Touched): Promise<void> {
  for (const rel of t.paths) await fsp.rm(join(s.data, rel), { force: true, recursive: true });
  for (const d of [...t.dirs].reverse()) await fsp.rmdir(d).catch(() => {});
  for (const rel of t.paths) {
    const kept = join(s.pristine, rel);
    if (await exists(kept)) {
      await fsp.mkdir(dirname(join(s.data, rel)), { recursive: true });
      await fsp.rename(kept, join(s.data, rel));
    }
  }
  await fsp.rm(s.pristine, { recursive: true, force: true });
  t.paths.clear();
  t.dirs.length = 0;
}
