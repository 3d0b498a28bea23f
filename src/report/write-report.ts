/**
 * Reading a drill file and writing a report (the I/O of `snap report`). A report is written whole
 * or not at all: to a temporary file beside the target, then renamed over it, so a reader (a CI
 * artifact upload, a browser) never sees half a page and an old report is kept when writing fails.
 */
import { SnapError } from '../core/errors.js';
import { readSmallFile } from '../io/small-file.js';
import { writeOutputFile } from '../io/output-temp.js';
import { MAX_DRILL_BYTES, parseDrillResult, type DrillResult } from './drill-facts.js';

/**
 * Write `text` to `path` atomically (a temporary file beside it, then renamed over it; a killed
 * writer's temporary file is removed by the next: `writeOutputFile`).
 * @throws SnapError `NOT_FOUND` (no such folder) | `DISK_FULL` | `IO_ERROR`; a folder at `path` is `IO_ERROR`
 */
export async function writeReportFile(path: string, text: string): Promise<void> {
  await writeOutputFile(path, text, { mode: 0o644, what: 'cannot write the report' });
}

/**
 * Read and check a drill file (`snap drill --json` output), reading at most one byte more than
 * {@link MAX_DRILL_BYTES}. Opened without blocking (`readSmallFile`): a FIFO named as the drill
 * file (or put in its place) blocked open(2) for ever, in a thread SIGTERM does not stop.
 * @throws SnapError `NOT_FOUND` | `IO_ERROR` | `DRILL_REPORT_MALFORMED` (not a regular file; see `parseDrillResult`)
 */
export async function readDrillFile(path: string): Promise<DrillResult> {
  const bytes = await readSmallFile(path, MAX_DRILL_BYTES + 1, 'cannot read the drill file', () => new SnapError('DRILL_REPORT_MALFORMED', 'the drill file is not a regular file', { path }));
  return parseDrillResult(bytes);
}
