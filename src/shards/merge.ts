/**
 * `snap verify --merge`: one verdict from the N shard reports of a split verify (docs/FORMAT.md
 * §20.4). Pure: reports in, verdict out.
 *
 * The merge passes only when there is exactly one report for each shard 1..N, all for one
 * snapshot, one signed Merkle root and manifest, one N; their leaf ranges tile the manifest
 * (shard 1 starts at leaf 0, each next one where the last ended, shard N ends at `fileCount`);
 * and every report is itself ok. It re-checks nothing about the data: it trusts the workers that
 * wrote the reports (docs/DESIGN.md, "Verification split across workers").
 */
import { nameMovesAndFlips } from '../records/label-flips.js';
import type { Problem, VerifyCounts } from '../verify.js';
import type { ShardReport } from './report.js';

/** Why a merge fails, besides a shard's own findings. */
export type MergeFindingKind = 'missing' | 'duplicate' | 'mismatch' | 'range' | 'failed';

/** One reason the merged verdict is not ok. */
export interface MergeFinding {
  kind: MergeFindingKind;
  /** The shard it concerns (1-based), when one. */
  index?: number;
  /** The report files it concerns. */
  files?: string[];
  message: string;
}

/** The merged verdict. */
export interface MergeReport {
  ok: boolean;
  snapshot: string;
  ref: string;
  merkleRoot?: string;
  manifestSha256?: string;
  fileCount?: number;
  count: number;
  /** Each report read, in shard order. */
  shards: { index: number; file: string; ok: boolean; leaves: { from: number; to: number } }[];
  findings: MergeFinding[];
  counts: VerifyCounts;
  /** Every shard's problems, in path order, with moves and label flips named over all shards (as one verify names them). */
  problems: Problem[];
  files: number;
  bytes: number;
}

/**
 * Merge shard reports (already read strictly, see `parseShardReport`). The first report sets what
 * the others must agree with (snapshot, root, manifest digest, file count, N).
 */
export function mergeShardReports(reports: readonly { file: string; report: ShardReport }[]): MergeReport {
  const findings: MergeFinding[] = [];
  const first = reports[0]?.report;
  const count = first?.shard.count ?? 0;
  const counts: VerifyCounts = { matched: 0, modified: 0, missing: 0, extra: 0, 'type-changed': 0, unreadable: 0 };
  const problems: Problem[] = [];
  let files = 0;
  let bytes = 0;
  const byIndex = new Map<number, { file: string; report: ShardReport }[]>();
  for (const x of reports) {
    const r = x.report;
    const differs: string[] = (['snapshot', 'merkleRoot', 'manifestSha256', 'fileCount'] as const).filter((k) => r[k] !== first?.[k]);
    if (r.shard.count !== count) differs.push('shard.count');
    if (setsText(r) !== setsText(first)) differs.push('labelFolders');
    if (differs.length > 0) {
      findings.push({ kind: 'mismatch', index: r.shard.index, files: [x.file], message: `${x.file} reports another ${differs.join(', ')} than ${reports[0]?.file}: it is not a shard of the same verify` });
      continue;
    }
    const list = byIndex.get(r.shard.index);
    if (list) list.push(x);
    else byIndex.set(r.shard.index, [x]);
  }
  const shards: MergeReport['shards'] = [];
  /** Where the next shard must start; unknown after a missing or duplicated shard (already a finding). */
  let expectFrom: number | undefined = 0;
  for (let k = 1; k <= count; k++) {
    const list = byIndex.get(k);
    if (!list) {
      findings.push({ kind: 'missing', index: k, message: `no report for shard ${k}/${count}: its files were not checked` });
      expectFrom = undefined;
      continue;
    }
    if (list.length > 1) {
      findings.push({ kind: 'duplicate', index: k, files: list.map((x) => x.file), message: `shard ${k}/${count} is reported ${list.length} times (${list.map((x) => x.file).join(', ')})` });
      expectFrom = undefined;
      continue;
    }
    const { file, report: r } = list[0] as { file: string; report: ShardReport };
    shards.push({ index: k, file, ok: r.ok, leaves: r.shard.leaves });
    if (expectFrom !== undefined && r.shard.leaves.from !== expectFrom) findings.push({ kind: 'range', index: k, files: [file], message: `shard ${k}/${count} covers leaves from ${r.shard.leaves.from}, but the shard before it ended at ${expectFrom}: the reports do not tile the manifest` });
    expectFrom = r.shard.leaves.to;
    if (!r.ok) findings.push({ kind: 'failed', index: k, files: [file], message: r.failure ? `shard ${k}/${count}: ${r.failure.message}` : `shard ${k}/${count} found ${r.problems.length} problem(s)` });
    for (const key of Object.keys(counts) as (keyof VerifyCounts)[]) counts[key] += r.counts[key];
    problems.push(...r.problems.map((p) => ({ ...p })));
    files += r.files;
    bytes += r.bytes;
  }
  if (expectFrom !== undefined && count > 0 && byIndex.get(count)?.length === 1 && first?.fileCount !== undefined && expectFrom !== first.fileCount) {
    findings.push({ kind: 'range', index: count, message: `the last shard ends at leaf ${expectFrom}, but the manifest has ${first.fileCount}` });
  }
  // Every shard paired only its own files: moves and label flips are named again over all of them, as one verify names them.
  nameMovesAndFlips(problems, first?.labelFolders ?? []);
  return {
    ok: reports.length > 0 && findings.length === 0,
    snapshot: first?.snapshot ?? '',
    ref: first?.ref ?? '',
    ...(first?.merkleRoot ? { merkleRoot: first.merkleRoot, manifestSha256: first.manifestSha256, fileCount: first.fileCount } : {}),
    count,
    shards,
    findings,
    counts,
    problems,
    files,
    bytes,
  };
}

/** A report's label-folder sets as one text, to compare two reports' (the member order of each set aside). */
function setsText(r: ShardReport | undefined): string {
  return JSON.stringify((r?.labelFolders ?? []).map((x) => [x.pattern, x.labelSegment]));
}
