/**
 * `verify --merge` names moves again over every shard's problems (records/label-flips.ts
 * `nameMoves`, the code one verify uses too). Many files of one content moved — a folder of empty
 * files renamed — are as many missing and extra files with one digest: pairing them must cost time
 * in proportion to their number, not to its square.
 */
import { describe, expect, it } from 'vitest';
import { mergeShardReports } from '../../src/shards/merge.js';
import { SHARD_REPORT_FORMAT, type ShardReport } from '../../src/shards/report.js';
import type { Problem } from '../../src/ops/verify.js';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const ROOT = 'a'.repeat(64);

/** Shard `index` of 2 over `fileCount` leaves, holding `problems` (all of one kind). */
function report(index: number, leaves: { from: number; to: number }, fileCount: number, problems: Problem[]): ShardReport {
  const counts = { matched: 0, modified: 0, missing: 0, extra: 0, 'type-changed': 0, unreadable: 0 };
  for (const p of problems) counts[p.kind]++;
  return {
    format: SHARD_REPORT_FORMAT,
    snapshot: `sha256:${'b'.repeat(64)}`,
    ref: 'empties@v1',
    trusted: true,
    merkleRoot: ROOT,
    manifestSha256: ROOT,
    fileCount,
    manifestOk: true,
    shard: { index, count: 2, leaves, firstPath: 'a/0', lastPath: 'a/9' },
    ok: false,
    signers: [],
    counts,
    problems,
    files: 0,
    bytes: 0,
  };
}

describe('verify --merge naming moves', () => {
  it('pairs 300,000 empty files moved from a/ to b/ (missing in shard 1, extra in shard 2), each with its own, every one with its own', () => {
    const n = 300_000;
    const name = (i: number) => String(i).padStart(6, '0');
    const missing: Problem[] = [];
    const extra: Problem[] = [];
    for (let i = 0; i < n; i++) missing.push({ path: `a/${name(i)}`, kind: 'missing', expected: { sha256: EMPTY_SHA256, size: 0 } });
    for (let i = 0; i < n; i++) extra.push({ path: `b/${name(i)}`, kind: 'extra', actual: { sha256: EMPTY_SHA256, size: 0 } });
    const m = mergeShardReports([
      { file: 's1.json', signed: false, report: report(1, { from: 0, to: n }, n, missing) },
      { file: 's2.json', signed: false, report: report(2, { from: n, to: n }, n, extra) },
    ]);
    // Each missing file was given the extra file of the same rank (both in path order) — as one
    // verify pairs them — and every one of them was paired.
    expect(m.problems).toHaveLength(2 * n);
    expect(m.problems[0]).toMatchObject({ path: 'a/000000', movedTo: 'b/000000' });
    expect(m.problems[n - 1]).toMatchObject({ path: `a/${name(n - 1)}`, movedTo: `b/${name(n - 1)}` });
    expect(m.problems[n]).toMatchObject({ path: 'b/000000', movedFrom: 'a/000000' });
    expect(m.problems.filter((p) => (p.kind === 'missing' ? p.movedTo : p.movedFrom) === undefined)).toEqual([]);
    // Taking each source off the front of one list of 300,000 copied the rest each time: about
    // 40 CPU-seconds here (400,000: 72 s), where pairing by position takes well under one.
    // (Its CPU cost is measured, not asserted here: docs/PERFORMANCE.md; timings live in benchmarks.)
  });
});
