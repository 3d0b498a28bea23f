/**
 * Turning Node's errno errors into {@link SnapError}s with a code, the file, and what to do.
 */
import { SnapError } from '../core/errors.js';
import { escapeForTerminal } from '../core/display.js';

/**
 * Wrap a Node file-system error. The message shows `path` escaped for a terminal
 * (`escapeForTerminal`); `details.path` is exact.
 * @returns SnapError `NOT_FOUND` (ENOENT, ENOTDIR) | `DISK_FULL` (ENOSPC, EDQUOT) | `IO_ERROR` (anything else)
 */
export function ioError(e: unknown, path: string, what: string): SnapError {
  if (e instanceof SnapError) return e;
  const code = (e as NodeJS.ErrnoException)?.code ?? '';
  const msg = (e as Error)?.message ?? String(e);
  const shown = escapeForTerminal(path);
  if (code === 'ENOENT' || code === 'ENOTDIR') return new SnapError('NOT_FOUND', `${what}: ${shown} does not exist`, { path, errno: code }, { cause: e });
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new SnapError('DISK_FULL', `${what}: ${shown}: no space left on the device; free some space and run the command again (nothing partial was kept)`, { path, errno: code }, { cause: e });
  }
  if (code === 'EACCES' || code === 'EPERM') return new SnapError('IO_ERROR', `${what}: ${shown}: permission denied`, { path, errno: code }, { cause: e });
  return new SnapError('IO_ERROR', `${what}: ${shown}: ${msg}`, { path, errno: code }, { cause: e });
}
