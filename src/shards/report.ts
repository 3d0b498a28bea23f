/**
 * The shard report (docs/FORMAT.md §20): what one `snap verify --shard K/N --report FILE` found,
 * and its strict reading for `snap verify --merge`. Pure: objects and text in, objects out.
 *
 * A report says what the worker that wrote it claims to have checked; it may be written signed, as
 * the payload of a DSSE envelope (`signed-report.ts`). Reading one checks its shape, its bounds and
 * its own consistency (counts against problems, a range inside the manifest), never the data it
 * speaks of.
 */
import { SnapError } from '../core/errors.js';
import { utf8 } from '../core/encoding.js';
import { parseJsonStrict } from '../core/json-strict.js';
import { compareUtf8, MAX_PATH_BYTES } from '../core/paths.js';
import { SNAPSHOT_ID_RE } from '../core/refs.js';
import { isWellFormed, MAX_LABEL_SEGMENT, MAX_PATTERN_BYTES, MAX_RECORD_SETS } from '../core/records.js';
import { labelFolderSets, type LabelFolderSet } from '../records/label-flips.js';
import { MAX_SHARDS, type ShardSpec } from './assign.js';
import type { Problem, ProblemKind, VerifyCounts, VerifyReport } from '../ops/verify.js';
import { isObject } from '../core/is-object.js';

/** The `format` member of a shard report. */
export const SHARD_REPORT_FORMAT = 'snap-verify-shard/1';
/**
 * Largest shard report, in bytes (64 MiB: some 200,000 problems): the most a merge reads of a
 * plain report file or of a signed one's payload, and so the most a worker writes
 * ({@link shardReportBytes}). A signed report's file may be larger: `MAX_SIGNED_SHARD_REPORT_BYTES`.
 */
export const MAX_SHARD_REPORT_BYTES = 64 * 1024 * 1024;

const KINDS: readonly ProblemKind[] = ['modified', 'missing', 'extra', 'type-changed', 'unreadable'];
const HEX64 = /^[0-9a-f]{64}$/;

/** Longest run id (`--run ID`), in bytes. */
export const MAX_RUN_ID_BYTES = 128;
/** A run id: 1 to {@link MAX_RUN_ID_BYTES} printable ASCII characters (U+0020 to U+007E), so one byte each. */
const RUN_ID_RE = /^[\x20-\x7e]{1,128}$/;

/** True when `v` is a run id (see {@link parseRunId}). */
export function isRunId(v: unknown): v is string {
  return typeof v === 'string' && RUN_ID_RE.test(v);
}

/**
 * Check `--run ID`: the opaque id a CI run gives its shards and its merge (docs/FORMAT.md §20.3),
 * 1 to {@link MAX_RUN_ID_BYTES} printable ASCII characters (space to `~`).
 * @throws SnapError `USAGE` for anything else (empty, too long, a control or non-ASCII character)
 */
export function parseRunId(text: string): string {
  if (!RUN_ID_RE.test(text)) {
    const why = text.length === 0 ? 'it is empty' : text.length > MAX_RUN_ID_BYTES ? `it is ${Buffer.byteLength(text)} bytes long` : 'it holds a control or non-ASCII character';
    throw new SnapError('USAGE', `--run takes an id of 1 to ${MAX_RUN_ID_BYTES} printable ASCII characters (space to ~); ${why}: ${JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text)}`);
  }
  return text;
}

/** One shard's range: `leaves` [from, to) of the manifest, and the paths of its first and last leaf (absent when it holds none). */
export interface ShardRange {
  index: number;
  count: number;
  leaves: { from: number; to: number };
  firstPath?: string;
  lastPath?: string;
}

/** A shard report (docs/FORMAT.md §20). */
export interface ShardReport {
  format: typeof SHARD_REPORT_FORMAT;
  /** The snapshot id (`sha256:…` of its statement); empty when its envelope could not be read. */
  snapshot: string;
  ref: string;
  /** The run id the worker was given (`--run ID`), when one: the merge can require it (freshness). */
  run?: string;
  /** True when the envelope's signatures met the trust given to this worker (keys, threshold, policy). */
  trusted: boolean;
  /** The signed Merkle root and manifest digest, and the signed file count (absent when not trusted). */
  merkleRoot?: string;
  manifestSha256?: string;
  fileCount?: number;
  /** True when the whole manifest matched the signed root, digest, count and bytes. */
  manifestOk: boolean;
  /**
   * The signed statement's label-folder (`files`) record sets, in its order: what the merge needs to
   * name a file moved between label folders whose missing and extra halves two shards found
   * (docs/FORMAT.md §20.3), each with the statement's tabular files its pattern takes (`tables`:
   * no samples of it, so never a flip). Present only when the snapshot was trusted and has such sets.
   */
  labelFolders?: LabelFolderSet[];
  shard: ShardRange;
  /** This shard's verdict: trusted, manifest ok, and no problem in its share. */
  ok: boolean;
  signers: { keyid: string; trusted: boolean }[];
  failure?: { code: string; message: string };
  counts: VerifyCounts;
  problems: Problem[];
  /** Files and bytes read by this shard. */
  files: number;
  bytes: number;
}

function bad(what: string, why: string): never {
  throw new SnapError('SHARD_REPORT_MALFORMED', `${what} is not a shard report: ${why}`);
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isPath = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && Buffer.byteLength(v) <= MAX_PATH_BYTES * 3;

/** The members a problem's `expected` or `actual` may have (`Problem` in ops/verify.ts). */
const PROBLEM_SIDE_KEYS = ['sha256', 'size', 'target', 'targetHex', 'type'] as const;

/**
 * True when `v` is a problem's `expected` or `actual` as a worker writes one: an object of
 * {@link PROBLEM_SIDE_KEYS} only, `sha256` 64 lowercase hex, `size` a whole number, the others
 * strings. The merge pairs moves by digest and size and prints them: a digest that is no digest
 * (a terminal escape) or a negative size is no report.
 */
function isProblemSide(v: unknown): boolean {
  if (!isObject(v)) return false;
  for (const [k, x] of Object.entries(v)) {
    if (k === 'sha256' ? typeof x !== 'string' || !HEX64.test(x) : k === 'size' ? !isCount(x) : !(PROBLEM_SIDE_KEYS as readonly string[]).includes(k) || typeof x !== 'string') return false;
  }
  return true;
}

/** The members a problem may have (`Problem` in ops/verify.ts, SPEC §8). */
const PROBLEM_KEYS = new Set(['path', 'pathHex', 'kind', 'expected', 'actual', 'reason', 'movedFrom', 'movedTo', 'records', 'label']);

const REPORT_KEYS = new Set(['format', 'snapshot', 'ref', 'run', 'trusted', 'merkleRoot', 'manifestSha256', 'fileCount', 'manifestOk', 'labelFolders', 'shard', 'ok', 'signers', 'failure', 'counts', 'problems', 'files', 'bytes']);

/**
 * Read a shard report from its text, strictly: JSON without duplicate members, every member known
 * and of its type, `counts` equal to the problems of each kind, the leaf range inside `fileCount`,
 * and `ok` exactly what the rest says.
 * @param what how to name the file in messages
 * @throws SnapError `SHARD_REPORT_MALFORMED`
 */
export function parseShardReport(text: string, what: string): ShardReport {
  if (text.length > MAX_SHARD_REPORT_BYTES) bad(what, `it is larger than ${MAX_SHARD_REPORT_BYTES} bytes`);
  return shardReportFromJson(parseJsonStrict(text, 'SHARD_REPORT_MALFORMED', what), what);
}

/**
 * The checks of {@link parseShardReport} on a JSON value already parsed strictly (duplicate members
 * refused): for a reader that must look at the value first (a report or an envelope of one).
 * @throws SnapError `SHARD_REPORT_MALFORMED`
 */
export function shardReportFromJson(v: unknown, what: string): ShardReport {
  if (!isObject(v)) bad(what, 'it is not a JSON object');
  for (const k of Object.keys(v)) if (!REPORT_KEYS.has(k)) bad(what, `unknown member ${JSON.stringify(k)}`);
  if (v.format !== SHARD_REPORT_FORMAT) bad(what, `format must be ${JSON.stringify(SHARD_REPORT_FORMAT)}`);
  if (typeof v.snapshot !== 'string' || (v.snapshot !== '' && !SNAPSHOT_ID_RE.test(v.snapshot))) bad(what, 'snapshot must be a snapshot id sha256:<64 hex>');
  if (typeof v.ref !== 'string' || v.ref.length > 4096) bad(what, 'ref must be a string');
  if ('run' in v && !isRunId(v.run)) bad(what, `run must be 1 to ${MAX_RUN_ID_BYTES} printable ASCII characters`);
  if (typeof v.trusted !== 'boolean' || typeof v.manifestOk !== 'boolean' || typeof v.ok !== 'boolean') bad(what, 'trusted, manifestOk and ok must be true or false');
  if (v.trusted) {
    if (typeof v.merkleRoot !== 'string' || !HEX64.test(v.merkleRoot)) bad(what, 'merkleRoot must be 64 lowercase hex');
    if (typeof v.manifestSha256 !== 'string' || !HEX64.test(v.manifestSha256)) bad(what, 'manifestSha256 must be 64 lowercase hex');
    if (!isCount(v.fileCount) || v.fileCount < 1) bad(what, 'fileCount must be a positive integer');
  } else if ('merkleRoot' in v || 'manifestSha256' in v || 'fileCount' in v || 'labelFolders' in v || v.manifestOk) bad(what, 'an untrusted snapshot has no merkleRoot, manifestSha256, fileCount, labelFolders or manifest check');
  if ('labelFolders' in v) {
    const f = v.labelFolders;
    // `tables` (§20.3): the statement's tabular files the set's pattern takes, sorted, each once; left out by older snaps.
    const isTables = (t: unknown) => Array.isArray(t) && t.length > 0 && t.length <= MAX_RECORD_SETS && t.every((p, i) => isPath(p) && isWellFormed(p) && (i === 0 || compareUtf8(t[i - 1] as string, p) < 0));
    const isSet = (x: unknown) =>
      isObject(x) &&
      ['labelSegment,pattern', 'labelSegment,pattern,tables'].includes(Object.keys(x).sort().join()) &&
      typeof x.pattern === 'string' && x.pattern.length > 0 && Buffer.byteLength(x.pattern) <= MAX_PATTERN_BYTES && isWellFormed(x.pattern) &&
      isCount(x.labelSegment) && x.labelSegment <= MAX_LABEL_SEGMENT &&
      (!('tables' in x) || isTables(x.tables));
    if (!Array.isArray(f) || f.length === 0 || f.length > MAX_RECORD_SETS || !f.every(isSet)) bad(what, `labelFolders must be a list of 1 to ${MAX_RECORD_SETS} {pattern, labelSegment[, tables]} (a non-empty pattern of at most ${MAX_PATTERN_BYTES} bytes, a segment from 0 to ${MAX_LABEL_SEGMENT}, tables a sorted list of 1 to ${MAX_RECORD_SETS} distinct dataset paths)`);
  }
  const s = v.shard;
  if (!isObject(s) || Object.keys(s).some((k) => !['index', 'count', 'leaves', 'firstPath', 'lastPath'].includes(k))) bad(what, 'shard must be {index, count, leaves[, firstPath, lastPath]}');
  if (!isCount(s.count) || s.count < 1 || s.count > MAX_SHARDS || !isCount(s.index) || s.index < 1 || s.index > s.count) bad(what, `shard.index and shard.count must satisfy 1 ≤ index ≤ count ≤ ${MAX_SHARDS}`);
  const l = s.leaves;
  if (!isObject(l) || Object.keys(l).sort().join() !== 'from,to' || !isCount(l.from) || !isCount(l.to) || l.from > l.to) bad(what, 'shard.leaves must be {from, to} with from ≤ to');
  if (v.manifestOk && (l.to as number) > (v.fileCount as number)) bad(what, 'shard.leaves ends past fileCount');
  const empty = l.from === l.to;
  if (empty ? 'firstPath' in s || 'lastPath' in s : !isPath(s.firstPath) || !isPath(s.lastPath)) bad(what, 'shard.firstPath and shard.lastPath are the paths of its first and last leaf (none when it holds no leaf)');
  if (!Array.isArray(v.signers) || v.signers.length > 1024 || v.signers.some((g) => !isObject(g) || typeof g.keyid !== 'string' || typeof g.trusted !== 'boolean')) bad(what, 'signers must be a list of {keyid, trusted}');
  if ('failure' in v && (!isObject(v.failure) || typeof v.failure.code !== 'string' || typeof v.failure.message !== 'string')) bad(what, 'failure must be {code, message}');
  const c = v.counts;
  if (!isObject(c) || Object.keys(c).sort().join() !== ['matched', ...KINDS].sort().join() || Object.values(c).some((n) => !isCount(n))) bad(what, `counts must hold matched, ${KINDS.join(', ')} as whole numbers`);
  if (!Array.isArray(v.problems)) bad(what, 'problems must be a list');
  const seen: Record<string, number> = {};
  for (const p of v.problems as unknown[]) {
    if (!isObject(p) || !isPath(p.path) || !KINDS.includes(p.kind as ProblemKind)) bad(what, 'each problem must have a path and a kind (modified, missing, extra, type-changed, unreadable)');
    for (const k of ['expected', 'actual'] as const) if (k in p && !isProblemSide(p[k])) bad(what, `a problem's ${k} must be an object of ${PROBLEM_SIDE_KEYS.join(', ')} (sha256 64 lowercase hex, size a whole number, the others strings)`);
    for (const k of ['movedFrom', 'movedTo', 'reason', 'pathHex'] as const) if (k in p && typeof p[k] !== 'string') bad(what, `a problem's ${k} must be a string`);
    for (const k of ['records', 'label'] as const) if (k in p && !isObject(p[k])) bad(what, `a problem's ${k} must be an object`);
    const unknown = Object.keys(p).find((k) => !PROBLEM_KEYS.has(k));
    if (unknown !== undefined) bad(what, `a problem has the unknown member ${JSON.stringify(unknown)}`);
    seen[p.kind as string] = (seen[p.kind as string] ?? 0) + 1;
  }
  for (const k of KINDS) if ((c[k] as number) !== (seen[k] ?? 0)) bad(what, `counts.${k} is ${String(c[k])} but it lists ${seen[k] ?? 0} such problems`);
  if (!isCount(v.files) || !isCount(v.bytes)) bad(what, 'files and bytes must be whole numbers');
  const ok = v.trusted && v.manifestOk && v.problems.length === 0 && !('failure' in v);
  if (v.ok !== ok) bad(what, `ok is ${String(v.ok)}, but the rest of it says ${String(ok)}`);
  return v as unknown as ShardReport;
}

/**
 * The bytes of a shard report file as a worker writes them (docs/FORMAT.md §20.3): JSON, two-space
 * indent, one trailing LF, UTF-8 — also the payload of a signed report (§20.7).
 * @throws SnapError `SHARD_REPORT_MALFORMED` (details `bytes`, `limit`) when they are more than
 *   {@link MAX_SHARD_REPORT_BYTES}: no merge would read such a report, so none is written
 */
export function shardReportBytes(report: ShardReport): Uint8Array {
  const bytes = utf8(JSON.stringify(report, null, 2) + '\n');
  if (bytes.length > MAX_SHARD_REPORT_BYTES) {
    throw new SnapError(
      'SHARD_REPORT_MALFORMED',
      `the report of shard ${report.shard.index}/${report.shard.count} (${report.problems.length} problems) would be ${bytes.length} bytes, more than the ${MAX_SHARD_REPORT_BYTES} a merge reads (MAX_SHARD_REPORT_BYTES); it is not written: split the verify into more shards (--shard K/N with a larger N), so that each lists fewer problems`,
      { bytes: bytes.length, limit: MAX_SHARD_REPORT_BYTES, problems: report.problems.length },
    );
  }
  return bytes;
}

/**
 * The shard report of a sharded verify (see `verify`'s `shard` option), from its report.
 * @param r a {@link VerifyReport} made with `shard` set (its range is then present)
 * @param run the run id (`--run`, checked by {@link parseRunId}), when one
 */
export function buildShardReport(r: VerifyReport, spec: ShardSpec, run?: string): ShardReport {
  const st = r.statement?.predicate;
  const trusted = st !== undefined;
  const manifestOk = trusted && r.manifest?.ok === true;
  const labelFolders = labelFolderSets(st?.records);
  const shard: ShardRange = r.shard ?? { index: spec.index, count: spec.count, leaves: { from: 0, to: 0 } };
  return {
    format: SHARD_REPORT_FORMAT,
    snapshot: r.snapshot,
    ref: r.ref,
    ...(run !== undefined ? { run } : {}),
    trusted,
    ...(st ? { merkleRoot: st.merkleRoot, manifestSha256: st.manifestSha256, fileCount: st.fileCount } : {}),
    manifestOk,
    ...(labelFolders.length > 0 ? { labelFolders } : {}),
    shard,
    ok: r.ok && trusted && manifestOk,
    signers: r.signers.map((g) => ({ keyid: g.keyid, trusted: g.trusted })),
    ...(r.failure ? { failure: r.failure } : {}),
    counts: r.counts,
    problems: r.problems,
    files: r.files,
    bytes: r.bytes,
  };
}
