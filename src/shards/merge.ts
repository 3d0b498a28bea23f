/**
 * `snap verify --merge`: one verdict from the N shard reports of a split verify (docs/FORMAT.md
 * §20.4). Pure: reports in, verdict out.
 *
 * The merge passes only when there is exactly one report for each shard 1..N, all for one
 * snapshot, one signed Merkle root and manifest, one N; their leaf ranges tile the manifest
 * (shard 1 starts at leaf 0, each next one where the last ended, shard N ends at `fileCount`);
 * and every report is itself ok. With worker keys (`--report-pubkey`) every report must be signed
 * by one of them (`signed-report.ts`), and with a run id (`--run`) carry it. It re-checks nothing
 * about the data: it trusts the workers that wrote the reports (docs/DESIGN.md, "Verification split
 * across workers").
 */
import { nameMovesAndFlips } from '../records/label-flips.js';
import type { Problem, VerifyCounts } from '../ops/verify.js';
import type { ShardReport } from './report.js';
import type { OpenedShardReport } from './signed-report.js';

/**
 * Why a merge fails, besides a shard's own findings: `unsigned` / `signature` (a report not signed
 * by a `--report-pubkey` key, left out), `stale` (a report of another `--run`, left out) and
 * `other-snapshot` (a report of another snapshot than `--against`, left out) besides the checks
 * every merge makes.
 */
export type MergeFindingKind = 'missing' | 'duplicate' | 'mismatch' | 'range' | 'failed' | 'unsigned' | 'signature' | 'stale' | 'other-snapshot';

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
  /** The run id every report had to carry (`--run`), when one was asked for. */
  run?: string;
  /** The snapshot every report had to be of (`--against`: its `ref`, or its snapshot id), when one was asked for. */
  against?: string;
  /**
   * Whether the reports' signatures were checked: `checked` (`--report-pubkey` given: each report
   * used is signed by one of those keys) or `not checked` (the reports, signed or not, were taken
   * as they are).
   */
  reportSignatures: 'checked' | 'not checked';
  /**
   * Each report read, in shard order; `signed` when it is an envelope, and `signedBy` the keyid of
   * the `--report-pubkey` key that verified it (only when checked: an unchecked keyid is a hint).
   */
  shards: { index: number; file: string; ok: boolean; leaves: { from: number; to: number }; signed: boolean; signedBy?: string }[];
  findings: MergeFinding[];
  counts: VerifyCounts;
  /** Every shard's problems, in path order, with moves and label flips named over all shards (as one verify names them). */
  problems: Problem[];
  files: number;
  bytes: number;
}

/** One report file as the merge takes it: read strictly (`readShardReports`), maybe left out with a finding. */
export type MergeInput = { file: string } & Partial<OpenedShardReport>;

/**
 * Merge shard reports (already read strictly, see `parseShardReport` and `openShardReport`). A
 * report with a `finding` (its signature, see `openShardReport`) is left out, the finding kept.
 * The first report used sets what the others must agree with (snapshot, root, manifest digest,
 * file count, N, run id).
 * @param opts.run the run id every report must carry (`--run`): one without it, or with another, is
 *   left out as `stale`
 * @param opts.against the snapshot every report must be of (`--against`): the `--against` REF its
 *   worker was given (its `ref`, compared exactly), or its snapshot id `sha256:<64 hex>`; any other
 *   report is left out as `other-snapshot`. Without it, the first report used names the snapshot:
 *   a complete set of reports of another snapshot passes.
 * @param opts.signaturesChecked true when the reports were read with `--report-pubkey` keys
 */
export function mergeShardReports(inputs: readonly MergeInput[], opts: { run?: string; against?: string; signaturesChecked?: boolean } = {}): MergeReport {
  const findings: MergeFinding[] = [];
  const reports: { file: string; report: ShardReport; signed: boolean; signedBy?: string }[] = [];
  for (const x of inputs) {
    if (x.finding) findings.push({ kind: x.finding.kind, files: [x.file], message: x.finding.message });
    else if (x.report) {
      if (opts.run !== undefined && x.report.run !== opts.run) {
        findings.push({ kind: 'stale', index: x.report.shard.index, files: [x.file], message: `${x.file} is ${x.report.run === undefined ? 'of no run (it has no run id)' : `of run ${JSON.stringify(x.report.run)}`}, not of run ${JSON.stringify(opts.run)}: a report of another run is not used` });
        continue;
      }
      if (opts.against !== undefined && x.report.ref !== opts.against && x.report.snapshot !== opts.against) {
        findings.push({ kind: 'other-snapshot', index: x.report.shard.index, files: [x.file], message: `${x.file} is a report of ${JSON.stringify(x.report.ref)} (${x.report.snapshot || 'no snapshot id'}), not of ${JSON.stringify(opts.against)}: a report of another snapshot is not used` });
        continue;
      }
      reports.push({ file: x.file, report: x.report, signed: x.signed ?? false, ...(x.signedBy !== undefined ? { signedBy: x.signedBy } : {}) });
    }
  }
  const leftOut = findings.length > 0;
  const first = reports[0]?.report;
  const count = first?.shard.count ?? 0;
  const counts: VerifyCounts = { matched: 0, modified: 0, missing: 0, extra: 0, 'type-changed': 0, unreadable: 0 };
  const problems: Problem[] = [];
  let files = 0;
  let bytes = 0;
  const byIndex = new Map<number, (typeof reports)[number][]>();
  for (const x of reports) {
    const r = x.report;
    const differs: string[] = (['snapshot', 'merkleRoot', 'manifestSha256', 'fileCount', 'run'] as const).filter((k) => r[k] !== first?.[k]);
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
      findings.push({ kind: 'missing', index: k, message: `no ${leftOut ? 'usable ' : ''}report for shard ${k}/${count}: its files were not checked` });
      expectFrom = undefined;
      continue;
    }
    if (list.length > 1) {
      findings.push({ kind: 'duplicate', index: k, files: list.map((x) => x.file), message: `shard ${k}/${count} is reported ${list.length} times (${list.map((x) => x.file).join(', ')})` });
      expectFrom = undefined;
      continue;
    }
    const { file, report: r, signed, signedBy } = list[0] as (typeof reports)[number];
    shards.push({ index: k, file, ok: r.ok, leaves: r.shard.leaves, signed, ...(signedBy !== undefined ? { signedBy } : {}) });
    if (expectFrom !== undefined && r.shard.leaves.from !== expectFrom) findings.push({ kind: 'range', index: k, files: [file], message: `shard ${k}/${count} covers leaves from ${r.shard.leaves.from}, but the shard before it ended at ${expectFrom}: the reports do not tile the manifest` });
    expectFrom = r.shard.leaves.to;
    if (!r.ok) findings.push({ kind: 'failed', index: k, files: [file], message: r.failure ? `shard ${k}/${count}: ${r.failure.message}` : `shard ${k}/${count} found ${r.problems.length} problem(s)` });
    for (const key of Object.keys(counts) as (keyof VerifyCounts)[]) counts[key] += r.counts[key];
    // A loop, not push(...): a report may hold some 200,000 problems, and a spread of that many overflows the stack.
    for (const p of r.problems) problems.push({ ...p });
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
    ...(opts.run !== undefined ? { run: opts.run } : {}),
    ...(opts.against !== undefined ? { against: opts.against } : {}),
    reportSignatures: opts.signaturesChecked ? 'checked' : 'not checked',
    shards,
    findings,
    counts,
    problems,
    files,
    bytes,
  };
}

/** A report's label-folder sets as one text, to compare two reports' (the member order of each set aside; a report of an older snap lists no `tables`). */
function setsText(r: ShardReport | undefined): string {
  return JSON.stringify((r?.labelFolders ?? []).map((x) => [x.pattern, x.labelSegment, x.tables ?? []]));
}
