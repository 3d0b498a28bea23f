/**
 * Who besides this user could write in a folder or a file, judged from its owner and mode bits as
 * lstat(2) gives them — the rule of OpenSSH's StrictModes, shared by the folders above a restore
 * target or the trusted state (`io/shared-folders.ts`; `TARGET_UNSAFE`) and by the trusted state's
 * folder and file (`trust/state.ts`). Pure: the caller passes the stat fields and its own user and
 * group ids. ACLs are not looked at.
 */

/** The sticky bit (S_ISVTX, inode(7)): in such a folder only an entry's owner (or the folder's) may rename or remove it. */
export const STICKY = 0o1000;
/** Write permission for every user (S_IWOTH). */
const OTHER_WRITE = 0o002;
/** Write permission for the group (S_IWGRP). */
const GROUP_WRITE = 0o020;

/** The owner, group and mode bits of a folder or file (as `fs.Stats` has them). */
export interface OwnerAndMode {
  uid: number;
  gid: number;
  mode: number;
}

/**
 * Why another user (but root) could write what `st` describes, in words, or undefined when none can:
 * it must belong to `me.uid` or to root; no write bit for every user, nor for the group unless
 * `ownGroup` allows the group that is `me.gid`; a folder that is sticky (as `/tmp`) is safe for the
 * names this user owns in it (`sticky: true`; a file's sticky bit means nothing).
 * @param opts.ownGroup whether write permission for the group `me.gid` is accepted (restore: yes; the trusted state: no, as OpenSSH)
 * @param opts.sticky whether `st` is a folder whose sticky bit counts
 */
export function otherWriters(st: OwnerAndMode, me: { uid: number; gid: number }, opts: { ownGroup: boolean; sticky: boolean }): string | undefined {
  if (st.uid !== me.uid && st.uid !== 0) return `it belongs to another user (uid ${st.uid})`;
  if (opts.sticky && (st.mode & STICKY) !== 0) return undefined;
  if ((st.mode & OTHER_WRITE) !== 0) return `every user may write in it (mode ${(st.mode & 0o7777).toString(8)})`;
  if ((st.mode & GROUP_WRITE) !== 0 && !(opts.ownGroup && st.gid === me.gid)) return `the users of group ${st.gid} may write in it (mode ${(st.mode & 0o7777).toString(8)})`;
  return undefined;
}
