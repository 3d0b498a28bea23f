/**
 * A test hook for races between a check of a file and its read (tests only; one environment
 * lookup otherwise). With `SNAP_TEST_SWAP_FILE=HOW:ABS` in the environment, the file at the
 * absolute path ABS is changed, where a reader calls {@link swapFileForTest}, as HOW says:
 * - `grow` — once its descriptor was fstat'ed (`moment` `fstat`): extended, as a sparse hole, to
 *   {@link SWAP_GROW_BYTES}; a file that grows between the size check and the read.
 * - `fifo` — just before it is opened (`moment` `open`): replaced by a FIFO (mkfifo(1)); a file
 *   swapped between a check of its path and the open.
 * - `symlink` — just before it is opened: moved to `ABS.real`, and ABS made a symbolic link to it
 *   (the same bytes, through a link).
 */
import { execFileSync } from 'node:child_process';
import { renameSync, rmSync, symlinkSync, truncateSync } from 'node:fs';
import { basename } from 'node:path';

/** The environment variable of the hook. */
const SWAP_FILE_ENV = 'SNAP_TEST_SWAP_FILE';

/** What `grow` extends the file to: 3 GiB, past Node's 2 GiB limit of one readFile (ERR_FS_FILE_TOO_LARGE). */
const SWAP_GROW_BYTES = 3 * 2 ** 30;

/** The moments a reader offers the hook: `open`, just before the file is opened; `fstat`, just after the descriptor's fstat. */
export type SwapMoment = 'open' | 'fstat';

/** Apply {@link SWAP_FILE_ENV} to `path` when it names this file and this moment (see the module comment). */
export function swapFileForTest(moment: SwapMoment, path: string): void {
  const spec = process.env[SWAP_FILE_ENV];
  if (spec === undefined) return;
  const at = spec.indexOf(':');
  const [how, target] = [spec.slice(0, at), spec.slice(at + 1)];
  if (target !== path) return;
  if (how === 'grow' && moment === 'fstat') truncateSync(path, SWAP_GROW_BYTES);
  if (how === 'fifo' && moment === 'open') {
    rmSync(path, { force: true });
    execFileSync('mkfifo', [path]);
  }
  if (how === 'symlink' && moment === 'open') {
    renameSync(path, `${path}.real`);
    symlinkSync(`${basename(path)}.real`, path);
  }
}
