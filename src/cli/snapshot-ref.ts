/**
 * A snapshot named on the command line, where an archive may stand in for a ref: a store ref
 * (`NAME@VERSION`, an id or id prefix), a snapshot folder, or an archive file `NAME@VERSION.snap.tar`.
 * An archive's three `snap/` members (statement, envelope, manifest) are spooled to a private
 * temporary folder that then serves as the snapshot folder; its data members are never read.
 */
import { resolve } from 'node:path';
import { statSync } from 'node:fs';
import { isArchivePath } from '../core/archive.js';
import type { SnapshotLocation } from '../io/store.js';
import { locate, mustExistIfPath, type CliIo } from './common.js';

/**
 * True when `text` names an archive (read directly, not looked up in the store): it ends in
 * `.snap.tar` and is an existing file, or is a path (holds a `/`). Callers first refuse such a name
 * with nothing there (`mustExistIfPath`: `NOT_FOUND`), rather than reading it as a NAME@VERSION ref.
 */
export function isArchiveFile(text: string, cwd: string): boolean {
  if (!isArchivePath(text)) return false;
  if (text.includes('/')) return true;
  try {
    return statSync(resolve(cwd, text)).isFile();
  } catch {
    return false;
  }
}

/** A snapshot opened from a command-line ref; `close()` must be called once it is no longer used. */
export interface OpenedSnapshot {
  /** The snapshot folder (for an archive: the temporary spool folder); `ref` is the text given. */
  location: SnapshotLocation;
  /** The archive's absolute path, when the ref named an archive file. */
  archive?: string;
  /** Remove what opening made (an archive's spool folder); nothing for a store snapshot. Never throws. */
  close: () => Promise<void>;
}

/**
 * Open the snapshot that `text` names: an archive file (see {@link isArchiveFile}) is spooled with
 * `openArchiveSnapshot` (nothing is trusted here: the caller checks signatures as for any snapshot);
 * anything else is resolved as a ref in `store` (or a snapshot folder path).
 * @throws SnapError `NOT_FOUND` for a path (see `looksLikePath`) with nothing there; for an archive: the codes of `openArchiveSnapshot` (`NOT_FOUND`, `IO_ERROR`,
 *   `ARCHIVE_MALFORMED`, `ARCHIVE_HOSTILE`, `USAGE` for a folder), with nothing left behind; for a
 *   ref: those of `resolveRef` (`REF_MALFORMED`, `REF_AMBIGUOUS`, `REF_NOT_FOUND`, `NOT_FOUND`)
 */
export async function openSnapshotRef(text: string, io: CliIo, store: string): Promise<OpenedSnapshot> {
  mustExistIfPath(text, io, 'snapshot folder or archive');
  if (!isArchiveFile(text, io.cwd)) return { location: await locate(text, io, store), close: async () => {} };
  const file = resolve(io.cwd, text);
  // The archive code (tar-stream) is loaded only when an archive is named: not by every command that takes a ref.
  const { openArchiveSnapshot } = await import('../ops/archive.js');
  const held = await openArchiveSnapshot(file, text);
  return {
    location: held.location,
    archive: file,
    close: () => held.close().catch(() => {}),
  };
}
