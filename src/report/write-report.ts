/**
 * Reading a drill file and writing a report (the I/O of `snap report`). A report is written whole
 * or not at all: to a temporary file beside the target, then renamed over it, so a reader (a CI
 * artifact upload, a browser) never sees half a page and an old report is kept when writing fails.
 */
import { promises as fsp } from 'node:fs';
import { SnapError } from '../core/errors.js';
import { ioError } from '../io/errors.js';
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
 * {@link MAX_DRILL_BYTES}.
 * @throws SnapError `NOT_FOUND` | `IO_ERROR` | `DRILL_REPORT_MALFORMED` (see `parseDrillResult`)
 */
export async function readDrillFile(path: string): Promise<DrillResult> {
  let bytes: Buffer;
  try {
    const fh = await fsp.open(path, 'r');
    try {
      if (!(await fh.stat()).isFile()) throw new SnapError('DRILL_REPORT_MALFORMED', 'the drill file is not a regular file', { path });
      const buf = Buffer.alloc(MAX_DRILL_BYTES + 1);
      let got = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, got, buf.length - got, null);
        if (bytesRead === 0) break;
        got += bytesRead;
        if (got === buf.length) break;
      }
      bytes = buf.subarray(0, got);
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof SnapError) throw e;
    throw ioError(e, path, 'cannot read the drill file');
  }
  return parseDrillResult(bytes);
}
