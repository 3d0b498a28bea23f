/**
 * Folders on the way to a path that another local user could change: such a user can rename what
 * this user keeps there and put something else (or nothing) in its place. Shared by restore (its
 * target, `TARGET_UNSAFE`), the trusted state (`trust/state.ts`: a state folder moved away is an
 * empty state, and rollback protection is lost without a word) and the stat cache of an
 * incremental seal (`ops/seal.ts`: a state folder put in place of this user's holds the cache they
 * chose). The rule on owner and mode bits is `core/other-writers.ts`; here the folders are looked
 * at (lstat(2)).
 */
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { otherWriters, type OwnerAndMode } from '../core/other-writers.js';
import { ioError } from './errors.js';

/**
 * Who else could change what a path through the folder with this lstat leads to: undefined when
 * no other user (but root) can — the folder belongs to this user or to root, and neither its group
 * (unless that is this process's group: user-private groups) nor every user may write in it, or it
 * is sticky (others may add names there, never rename or remove this user's). Else why not, in
 * words (`core/other-writers.ts`). Where there are no user ids (Windows), undefined.
 */
export function sharedFolderWriters(st: OwnerAndMode): string | undefined {
  if (typeof process.getuid !== 'function' || typeof process.getgid !== 'function') return undefined;
  return otherWriters(st, { uid: process.getuid(), gid: process.getgid() }, { ownGroup: true, sticky: true });
}

/**
 * Why another user could replace the symbolic link with this lstat, in words, or undefined when
 * none can: it must belong to this user or to root. Its owner may rename or remove it wherever
 * they may write in its folder — in a sticky folder such as `/tmp` too, where this user's own
 * entries are safe (the folder holding it is judged by {@link sharedFolderWriters}). Where there
 * are no user ids (Windows), undefined.
 */
export function sharedLinkOwner(st: { uid: number }): string | undefined {
  if (typeof process.getuid !== 'function') return undefined;
  return st.uid === process.getuid() || st.uid === 0 ? undefined : `it is a symbolic link that belongs to another user (uid ${st.uid})`;
}

/** A folder another user could change, and why (the words of {@link sharedFolderWriters}). */
export interface SharedFolder {
  path: string;
  why: string;
}

/**
 * The first folder from `path`'s parent up to `/` that another user could change
 * ({@link sharedFolderWriters}), or undefined when there is none. Each folder is looked at with
 * lstat: a symbolic link on the way is not followed — it cannot be changed but by renaming it, which
 * the folder holding it allows or not (or, in a sticky folder, by its owner: with `links`, a link
 * that is not this user's or root's is judged as such a folder, {@link sharedLinkOwner}) — so give
 * a real path to judge where the links lead.
 * `missingOk`: a folder that is not there (made later) is passed by, and its parent judged. `links`:
 * a link on the way is judged by its owner too.
 * @param what the words of an error, e.g. "cannot use the target folder"
 * @throws SnapError `IO_ERROR` (`NOT_FOUND` for a missing folder without `missingOk`) when a folder cannot be looked at
 */
export async function sharedFolderAbove(path: string, what: string, opts: { missingOk?: boolean; links?: boolean } = {}): Promise<SharedFolder | undefined> {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    let st;
    try {
      st = await fsp.lstat(dir);
    } catch (e) {
      if (!(opts.missingOk && (e as NodeJS.ErrnoException).code === 'ENOENT')) throw ioError(e, dir, what);
    }
    const why = st?.isDirectory() ? sharedFolderWriters(st) : opts.links && st?.isSymbolicLink() ? sharedLinkOwner(st) : undefined;
    if (why) return { path: dir, why };
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * {@link sharedFolderAbove} judged twice: on `path` as given (a link on the way is not followed:
 * the folder holding it is judged) and on its real path (where the links lead), for a path that
 * may not be there yet — folders not there (made later) are passed by, and the real path is that
 * of the deepest folder there, with the missing names after it.
 * @param what the words of an error, e.g. "cannot read the trusted state"
 * @throws SnapError `IO_ERROR` when a folder cannot be looked at
 */
export async function sharedFolderOnTheWay(path: string, what: string): Promise<SharedFolder | undefined> {
  const asGiven = await sharedFolderAbove(path, what, { missingOk: true });
  if (asGiven) return asGiven;
  let real: string | undefined;
  for (let d = path, rest = ''; real === undefined; d = dirname(d)) {
    try {
      real = join(await fsp.realpath(d), rest);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(d) === d) throw ioError(e, d, what);
      rest = join(basename(d), rest);
    }
  }
  return real === path ? undefined : sharedFolderAbove(real, what, { missingOk: true });
}
