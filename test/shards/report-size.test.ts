/**
 * Every shard report a worker writes can be merged (docs/FORMAT.md §20.3, §20.7): a signed report
 * is its report in base64 (4/3 as large) inside a DSSE envelope, so the merge's bound for an
 * envelope file is the report's bound in base64 plus room for the signatures, and a worker refuses,
 * before writing, a report larger than the merge reads. The reports are built in-process (no file
 * of tens of megabytes is kept in the repository).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tree.js';
import { MAX_SHARD_REPORT_BYTES, SHARD_REPORT_FORMAT, shardReportBytes, type ShardReport } from '../../src/shards/report.js';
import { MAX_SIGNED_SHARD_REPORT_BYTES, signShardReport } from '../../src/shards/signed-report.js';
import { MAX_MERGE_BYTES, readShardReports } from '../../src/shards/read-report.js';
import { privateKeyFromSeed } from '../../src/core/keys.js';
import type { Problem } from '../../src/ops/verify.js';

const worker = privateKeyFromSeed(new Uint8Array(32).fill(7));
const MiB = 1024 * 1024;

/** A trusted 1/1 shard report listing `n` missing files, each of a path of `pathBytes` bytes. */
function reportWithMissing(n: number, pathBytes: number): ShardReport {
  const problems: Problem[] = [];
  for (let i = 0; i < n; i++) {
    const name = String(i).padStart(8, '0');
    problems.push({ path: `a/${'x'.repeat(pathBytes - name.length - 2)}${name}`, kind: 'missing', expected: { sha256: 'e'.repeat(64), size: 0 } });
  }
  return {
    format: SHARD_REPORT_FORMAT,
    snapshot: `sha256:${'b'.repeat(64)}`,
    ref: 'moved@v1',
    trusted: true,
    merkleRoot: 'a'.repeat(64),
    manifestSha256: 'c'.repeat(64),
    fileCount: n,
    manifestOk: true,
    shard: { index: 1, count: 1, leaves: { from: 0, to: n }, firstPath: problems[0]?.path ?? '', lastPath: problems[n - 1]?.path ?? '' },
    ok: false,
    signers: [{ keyid: 'd'.repeat(64), trusted: true }],
    counts: { matched: 0, modified: 0, missing: n, extra: 0, 'type-changed': 0, unreadable: 0 },
    problems,
    files: 0,
    bytes: 0,
  };
}

describe('shard report sizes: what a worker writes, the merge reads', () => {
  it('merges a signed report of 49 MiB, whose envelope (66 MiB in base64) is larger than a plain report may be', async () => {
    // 12,300 problems of about 4.2 KB each: a report of some 49 MiB, just over the 48 MiB whose base64 is 64 MiB.
    const report = reportWithMissing(12_300, 4000);
    const bytes = shardReportBytes(report);
    expect(bytes.length).toBeGreaterThan(48 * MiB);
    expect(bytes.length).toBeLessThanOrEqual(MAX_SHARD_REPORT_BYTES);
    const envelope = signShardReport(bytes, worker);
    expect(envelope.length).toBeGreaterThan(MAX_SHARD_REPORT_BYTES);
    expect(envelope.length).toBeLessThanOrEqual(MAX_SIGNED_SHARD_REPORT_BYTES);
    const file = join(await tempDir('snap-report-size-'), 'shard-1.json');
    await fsp.writeFile(file, envelope);
    const [opened] = await readShardReports([file], '/', { trusted: [worker] });
    expect(opened?.finding).toBeUndefined();
    expect(opened?.signedBy).toBe(worker.keyid);
    expect(opened?.report?.problems).toHaveLength(12_300);
    expect(opened?.report?.counts.missing).toBe(12_300);
  }, 60_000);

  it('bounds an envelope file by the largest report in base64 plus room for its signatures, and the whole merge by at least one such file', () => {
    expect(MAX_SIGNED_SHARD_REPORT_BYTES).toBeGreaterThanOrEqual(4 * Math.ceil(MAX_SHARD_REPORT_BYTES / 3) + 4 * 200);
    expect(MAX_MERGE_BYTES).toBeGreaterThanOrEqual(MAX_SIGNED_SHARD_REPORT_BYTES);
  });

  it('refuses to make the bytes of a report larger than a merge reads (SHARD_REPORT_MALFORMED, naming the bound), so no worker writes one', () => {
    // 17,000 problems of about 4.2 KB each: some 68 MiB.
    const report = reportWithMissing(17_000, 4000);
    expect(() => shardReportBytes(report)).toThrow(expect.objectContaining({ code: 'SHARD_REPORT_MALFORMED', details: expect.objectContaining({ limit: MAX_SHARD_REPORT_BYTES }) }));
  }, 60_000);
});
