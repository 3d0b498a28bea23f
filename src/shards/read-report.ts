/**
 * Reading shard report files for `snap verify --merge` (docs/FORMAT.md §20), every size bounded
 * before anything is read in full, each opened without blocking and read only when it is a regular
 * file (a FIFO is refused at once): reports, or envelopes of signed ones (`signed-report.ts`).
 */
import { promises as fsp, constants as FS } from 'node:fs';
import { resolve } from 'node:path';
import { SnapError } from '../core/errors.js';
import { ioError } from '../io/errors.js';
import { MAX_SHARDS } from './assign.js';
import type { TrustedKey } from '../core/envelope.js';
import { MAX_SHARD_REPORT_BYTES } from './report.js';
import { MAX_SIGNED_SHARD_REPORT_BYTES, openShardReport, type OpenedShardReport } from './signed-report.js';

/**
 * Most bytes of shard report files one merge reads in all (256 MiB): four of the largest plain
 * reports (`MAX_SHARD_REPORT_BYTES`, 64 MiB), two of the largest signed ones
 * ({@link MAX_SIGNED_SHARD_REPORT_BYTES}, about 85.3 MiB), always at least one of either.
 */
export const MAX_MERGE_BYTES = 256 * 1024 * 1024;

/**
 * Read and check the shard report files `paths`, in the order given (see `openShardReport`: with
 * `opts.trusted`, a report not signed by one of those keys is a finding, not an error).
 * @param opts.trusted the `--report-pubkey` keys, when given
 * @throws SnapError `USAGE` (none, or more than {@link MAX_SHARDS} files) | `SHARD_REPORT_MALFORMED`
 *   (a file over {@link MAX_SIGNED_SHARD_REPORT_BYTES}, a plain report or an envelope's payload over
 *   `MAX_SHARD_REPORT_BYTES`, files over {@link MAX_MERGE_BYTES} in all, not UTF-8, not a shard report or an envelope of one; see `openShardReport`) |
 *   `NOT_FOUND` | `IO_ERROR`
 */
export async function readShardReports(paths: readonly string[], cwd = process.cwd(), opts: { trusted?: readonly TrustedKey[] } = {}): Promise<({ file: string } & OpenedShardReport)[]> {
  if (paths.length === 0) throw new SnapError('USAGE', 'verify --merge needs the shard report files (REPORT…)');
  if (paths.length > MAX_SHARDS) throw new SnapError('USAGE', `verify --merge takes at most ${MAX_SHARDS} reports; got ${paths.length}`);
  let total = 0;
  const out: ({ file: string } & OpenedShardReport)[] = [];
  for (const given of paths) {
    const path = resolve(cwd, given);
    let text: string;
    let fh: fsp.FileHandle | undefined;
    try {
      // Non-blocking: open(2) of a FIFO given as a report would wait for a writer for ever (in a
      // thread of the pool, which SIGTERM does not stop); it is refused below as not a regular file.
      fh = await fsp.open(path, FS.O_RDONLY | (FS.O_NONBLOCK ?? 0));
      const st = await fh.stat();
      if (!st.isFile()) throw new SnapError('SHARD_REPORT_MALFORMED', `${path} is not a regular file`, { path });
      // The larger bound, a signed report's: which it is shows only once it is read (openShardReport
      // then holds a plain report, and an envelope's payload, to MAX_SHARD_REPORT_BYTES).
      if (st.size > MAX_SIGNED_SHARD_REPORT_BYTES) throw new SnapError('SHARD_REPORT_MALFORMED', `${path} is ${st.size} bytes, more than the ${MAX_SIGNED_SHARD_REPORT_BYTES} a shard report file may have (a signed one; a plain one at most ${MAX_SHARD_REPORT_BYTES})`, { path, limit: MAX_SIGNED_SHARD_REPORT_BYTES });
      total += st.size;
      if (total > MAX_MERGE_BYTES) throw new SnapError('SHARD_REPORT_MALFORMED', `the shard reports hold more than ${MAX_MERGE_BYTES} bytes in all`, { path, limit: MAX_MERGE_BYTES });
      const buf = Buffer.alloc(Math.min(st.size, MAX_SIGNED_SHARD_REPORT_BYTES) + 1);
      let got = 0;
      let n: number;
      while (got < buf.length && (n = (await fh.read(buf, got, buf.length - got, got)).bytesRead) > 0) got += n;
      if (got > st.size) throw new SnapError('SHARD_REPORT_MALFORMED', `${path} grew while it was read`, { path });
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, got));
      } catch {
        throw new SnapError('SHARD_REPORT_MALFORMED', `${path} is not UTF-8 text`, { path });
      }
    } catch (e) {
      throw ioError(e, path, 'cannot read the shard report');
    } finally {
      await fh?.close();
    }
    try {
      out.push({ file: given, ...openShardReport(text, given, opts.trusted) });
    } catch (e) {
      if (e instanceof SnapError) throw new SnapError(e.code, e.message, { ...e.details, path });
      throw e;
    }
  }
  return out;
}
