/**
 * `verify`: the pre-training gate (SPEC §8). The data on disk passes only when a trusted key signed
 * the statement, the manifest matches the signed root and digest, and the folder matches the
 * manifest exactly: no file modified, missing, extra, of another type, or unreadable.
 */
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { SnapError, isSnapError } from './core/errors.js';
import { compareUtf8 } from './core/paths.js';
import { isSymlinkEntry, ManifestOrder, type FileEntry, type ManifestEntry } from './core/manifest.js';
import { MerkleTreeBuilder, appendLeaves, type FoldedLeaves } from './core/merkle.js';
import { toHex } from './core/encoding.js';
import { nodeHashNative } from './io/native-hash.js';
import type { TrustedKey } from './core/envelope.js';
import { HashPool, type CheckReply } from './io/hash-pool.js';
import { walkParallel, isFileRun, type ParallelRun } from './io/parallel-walk.js';
import { walkDatasetRuns, whyRefused, type WalkItem } from './io/walk.js';
import { manifestLineRuns, parseManifestLine, type ManifestDigest } from './io/manifest-file.js';
import { checkTrust, type SignerReport } from './snapshot.js';
import type { SnapshotLocation } from './io/store.js';
import type { Progress } from './seal.js';
import { ioError } from './io/errors.js';
import type { TrustRules } from './trust/rules.js';
import type { Statement } from './core/statement.js';
import type { RevocationReport } from './trust/revocations.js';
import type { PolicyReport } from './trust/signatures.js';
import { join } from 'node:path';
import type { RecordSetDiff } from './records/record-report.js';
import { ShardAssigner, type ShardSpec } from './shards/assign.js';
import type { ShardRange } from './shards/report.js';

/** The kinds of problem verify reports (SPEC §8). */
export type ProblemKind = 'modified' | 'missing' | 'extra' | 'type-changed' | 'unreadable';

/** One file that does not match. `expected` is from the manifest, `actual` from the disk. */
export interface Problem {
  /** The path; for a name that is not UTF-8, decoded without loss (`decodeNameBytes`: each such byte is U+DC80–U+DCFF). */
  path: string;
  /** The hex of the name's exact bytes, only when it is not valid UTF-8. */
  pathHex?: string;
  kind: ProblemKind;
  expected?: { sha256: string; size: number } | { target: string; type: 'symlink' };
  /** For a link whose target is not UTF-8: the target decoded without loss, and `targetHex` its bytes. */
  actual?: { sha256: string; size: number } | { target: string; type: 'symlink'; targetHex?: string } | { type: string };
  /** Why an entry is unreadable, or why a manifest cannot record an extra entry (its name, its link target, its type). */
  reason?: string;
  /** For an extra file: the missing path that had exactly this content (a move, e.g. a flipped label). */
  movedFrom?: string;
  /** For a missing file: the extra path that now has exactly its content. */
  movedTo?: string;
  /** A modified record file (docs/FORMAT.md §19): which records changed, or why that is not known. */
  records?: RecordSetDiff | { error: { code: string; message: string } };
  /** A file moved between the label folders of a label-folder set: the flip. */
  label?: { set: string; key: string; from: string; to: string };
}

/** Counts by outcome (SPEC §8 `counts`, plus the two rarer kinds). */
export interface VerifyCounts {
  matched: number;
  modified: number;
  missing: number;
  extra: number;
  'type-changed': number;
  unreadable: number;
}

/** The verify report; its JSON form is SPEC §8's `verify --json`. */
export interface VerifyReport {
  ok: boolean;
  snapshot: string;
  ref: string;
  signers: SignerReport[];
  counts: VerifyCounts;
  problems: Problem[];
  /** Why the snapshot itself was not trusted (signature, statement or manifest); then no data check is trusted. */
  failure?: { code: string; message: string };
  /** Revocations of the snapshot that were found (see trust/revocations.ts). */
  revocations?: RevocationReport[];
  /** How the snapshot met the trust policy, when one was given. */
  policy?: PolicyReport;
  /** The signed statement, when the snapshot was trusted (whatever the data check found). */
  statement?: Statement;
  /** The manifest's own check. */
  manifest?: { ok: boolean; merkleRoot?: string; manifestSha256?: string };
  files: number;
  bytes: number;
  seconds: number;
  /** With `shard`: the share this verify checked (docs/FORMAT.md §20); counts and problems are of that share only. */
  shard?: ShardRange;
}

/** Options of {@link verify}. */
export interface VerifyOptions {
  dir: string;
  snapshot: SnapshotLocation;
  trusted: readonly TrustedKey[];
  threshold?: number;
  /** Expiry, revocations and policy (trust/rules.ts), applied by `checkTrust`. */
  rules?: TrustRules;
  jobs?: number;
  /** Folders to leave out (the store, when it lies inside the dataset). */
  skipDirs?: readonly string[];
  /**
   * Let the hashing workers list the folders (parallel-walk.ts; default true). Used only without
   * the statement's `excludes`; false walks on the main thread (walk.ts), for tests that compare the two.
   */
  walkInWorkers?: boolean;
  /**
   * Files this process has just read back from `dir` and found to match the manifest (restore's
   * large files): path → `dev:ino:size:mtimeNs:ctimeNs` at that read. A file whose lstat still
   * gives exactly that identity is the same file, unchanged since, and is not read again; any
   * other is hashed as usual.
   */
  hashed?: ReadonlyMap<string, string>;
  onProgress?: (p: Progress) => void;
  /** A store whose objects may hold the signed record indexes (besides the snapshot's own store). */
  store?: string;
  /**
   * Check only this shard's share of the files (shards/assign.ts): the signature, trust and the
   * whole manifest (its Merkle root, digest, count and bytes) are still checked in full.
   */
  shard?: ShardSpec;
}

/** A forward cursor over runs from an async generator. */
class Cursor<T> {
  private run: T[] = [];
  private i = 0;
  private done = false;
  constructor(private readonly gen: AsyncGenerator<T[]>) {}
  /** Whether the current item is at hand ({@link current}) without awaiting {@link peek}. */
  get ready(): boolean {
    return this.i < this.run.length;
  }
  /** The current item when {@link ready}. */
  current(): T {
    return this.run[this.i] as T;
  }
  /** The current item, fetching the next run when needed; undefined at the end. */
  async peek(): Promise<T | undefined> {
    while (this.i >= this.run.length) {
      if (this.done) return undefined;
      const r = await this.gen.next();
      if (r.done) {
        this.done = true;
        return undefined;
      }
      this.run = r.value;
      this.i = 0;
    }
    return this.run[this.i];
  }
  advance(): void {
    this.i++;
  }
}

/** The runs of a parallel walk as runs of walk items (a listed folder's files: one item each). */
async function* walkItemsOf(runs: AsyncIterable<ParallelRun>): AsyncGenerator<WalkItem[]> {
  for await (const run of runs) {
    if (!isFileRun(run)) {
      yield run;
      continue;
    }
    const { dir, files, offsets, from, to } = run;
    const prefix = dir === '' ? '' : `${dir}/`;
    const items: WalkItem[] = new Array(to - from);
    for (let i = from; i < to; i++) items[i - from] = { kind: 'file', path: prefix + files.slice(offsets[i], (offsets[i + 1] as number) - 1) };
    yield items;
  }
}

const emptyCounts = (): VerifyCounts => ({ matched: 0, modified: 0, missing: 0, extra: 0, 'type-changed': 0, unreadable: 0 });

/** The hex SHA-256 of a file's bytes (a manifest's raw digest). @throws SnapError `IO_ERROR` */
export async function rawSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  try {
    for await (const c of createReadStream(path)) h.update(c as Buffer);
  } catch (e) {
    throw ioError(e, path, 'cannot read the manifest');
  }
  return h.digest('hex');
}

/** The `extra` problem for an entry the walk found but a manifest cannot record (see `WalkOptions.onBadName`). */
function refusedProblem(e: SnapError): Problem {
  const d = e.details ?? {};
  const p: Problem = { path: String(d.path), ...(typeof d.pathHex === 'string' ? { pathHex: d.pathHex } : {}), kind: 'extra', reason: `${whyRefused(e.code)} (${e.code})` };
  if (typeof d.target === 'string') p.actual = { target: d.target, type: 'symlink', ...(typeof d.targetHex === 'string' ? { targetHex: d.targetHex } : {}) };
  return p;
}

/** Pair each missing file with an extra file of exactly the same content (SHA-256 and size): a move. */
export function nameMoves(problems: Problem[]): void {
  const missing = new Map<string, Problem[]>();
  for (const p of problems) {
    if (p.kind !== 'missing' || !p.expected || !('sha256' in p.expected)) continue;
    const k = `${p.expected.sha256} ${p.expected.size}`;
    const list = missing.get(k);
    if (list) list.push(p);
    else missing.set(k, [p]);
  }
  if (missing.size === 0) return;
  for (const p of problems) {
    if (p.kind !== 'extra' || !p.actual || !('sha256' in p.actual)) continue;
    const from = missing.get(`${p.actual.sha256} ${p.actual.size}`)?.shift();
    if (from) {
      p.movedFrom = from.path;
      from.movedTo = p.path;
    }
  }
}

/**
 * Verify a folder against a snapshot. Integrity failures are results (`ok: false`); only inputs
 * that cannot be read at all throw.
 * @throws SnapError `NOT_FOUND` | `IO_ERROR` (exit 3); a manifest that is malformed yet matches its
 *   signed digest throws its `MANIFEST_*` code (the signer signed garbage: exit 3)
 */
export async function verify(opts: VerifyOptions): Promise<VerifyReport> {
  const t0 = performance.now();
  const root = resolve(opts.dir);
  // The workers boot (tens of ms) while the signature and statement are checked.
  const pool = new HashPool({ jobs: opts.jobs, mode: 'verify', root });
  let trust: Awaited<ReturnType<typeof checkTrust>>;
  try {
    trust = await checkTrust(opts.snapshot, opts.trusted, opts.threshold ?? 1, opts.rules);
  } catch (e) {
    await pool.close();
    throw e;
  }
  const base = { snapshot: trust.snapshot, ref: opts.snapshot.ref, signers: trust.signers, ...(trust.revocations ? { revocations: trust.revocations } : {}), ...(trust.policy ? { policy: trust.policy } : {}), ...(trust.ok && trust.statement ? { statement: trust.statement } : {}) };
  const seconds = () => (performance.now() - t0) / 1000;
  if (!trust.ok || !trust.statement) {
    await pool.close();
    return { ok: false, ...base, counts: emptyCounts(), problems: [], failure: trust.failure, files: 0, bytes: 0, seconds: seconds() };
  }
  const pred = trust.statement.predicate;
  const counts = emptyCounts();
  const problems: Problem[] = [];
  const add = (p: Problem) => {
    counts[p.kind]++;
    problems.push(p);
  };
  // A shard checks the entries assigned to it, and the extras after its entries (shards/assign.ts).
  const shard = opts.shard;
  const assigner = shard ? new ShardAssigner(shard.count, pred.fileCount, pred.totalBytes) : undefined;
  let lastOwner = 1;
  const mine = (owner: number) => shard === undefined || owner === shard.index;
  /** Extras the walk reports out of order (specials, refused names): owned by path, sorted out at the end. */
  const deferred: Problem[] = [];
  const addByPath = shard ? (p: Problem) => deferred.push(p) : add;

  // One streaming pass: manifest lines (parsed strictly, in order) merge-joined with the walk.
  // Every manifest line goes to the workers in order, so they compute its RFC 9162 leaf hash as
  // well as checking its file; the main thread folds interior nodes and hashes the raw bytes.
  const raw: { sha256?: string; bytes: number } = { bytes: 0 };
  const lineRuns = manifestLineRuns(trust.manifestPath, raw);
  const order = new ManifestOrder();
  const tree = new MerkleTreeBuilder({ nodeHash: nodeHashNative });
  let manifestTotal = 0;
  async function* entryRuns(): AsyncGenerator<{ line: string; entry: ManifestEntry }[]> {
    for await (const run of lineRuns) {
      const out: { line: string; entry: ManifestEntry }[] = new Array(run.length);
      for (let i = 0; i < run.length; i++) {
        const line = run[i] as string;
        const entry = parseManifestLine(line, order, trust.manifestPath);
        if (!isSymlinkEntry(entry)) manifestTotal += entry.size;
        out[i] = { line, entry };
      }
      yield out;
    }
  }
  const manifest = new Cursor(entryRuns());
  const walkOpts = {
    skipDirs: opts.skipDirs,
    onSpecial: (path: string, what: string) => addByPath({ path, kind: 'extra', actual: { type: what }, reason: `${what}` }),
    // A name seal would refuse is a finding like any other, reported beside the rest.
    onBadName: (e: SnapError) => addByPath(refusedProblem(e)),
  };
  // The workers list the folders (parallel-walk.ts), as for seal, unless --exclude patterns apply
  // (matched on this thread by the `ignore` package) or a test asks for the walk on this thread.
  const disk = new Cursor(
    opts.walkInWorkers !== false && !(pred.excludes && pred.excludes.length > 0)
      ? walkItemsOf(walkParallel(root, (folders) => pool.list(folders), walkOpts))
      : walkDatasetRuns(root, { ...walkOpts, excludes: pred.excludes }),
  );

  const window = pool.size * 4;
  /**
   * A batch for the workers, as parallel arrays (no object per file): each item's kind — 0: leaf
   * only; 1: leaf and check the file; 2: an extra file, hashed; 3: as 1, unless still `ids[i]` (see
   * hash-worker.ts) — its manifest line ('' for an extra), its path ('' for kind 0: nothing to
   * open), and its manifest entry (kinds 1 and 3, for the expected digest and size of a problem).
   */
  type Batch = { kinds: number[]; lines: string[]; rels: string[]; entries: (ManifestEntry | undefined)[]; ids: string[] };
  const newBatch = (): Batch => ({ kinds: [], lines: [], rels: [], entries: [], ids: [] });
  const inflight: { reply: Promise<CheckReply & { folded: FoldedLeaves }>; batch: Batch; leaves: number }[] = [];
  /** Leaves sent to the workers so far: the index in the manifest of the next batch's first leaf. */
  let submittedLeaves = 0;
  let batch = newBatch();
  let batchLeaves = 0;
  let batchBytes = 0;
  let files = 0;
  let bytes = 0;

  const drainOne = async () => {
    const { reply, batch: b, leaves } = inflight.shift() as (typeof inflight)[number];
    const r = await reply;
    // The worker folded the batch's leaves into aligned subtrees (it knew where they start); batches are taken in order.
    appendLeaves(tree, r.folded, leaves);
    let checked = 0;
    let bad = 0;
    for (const k of b.kinds) if (k === 1 || k === 3) checked++;
    for (const p of r.problems) {
      const path = b.rels[p.index] as string;
      if (b.kinds[p.index] === 2) {
        // Always "modified" against no expectation; "missing" if it vanished since the walk.
        if (p.kind === 'modified') add({ path, kind: 'extra', actual: { sha256: p.sha256 as string, size: p.size as number } });
        else if (p.kind !== 'missing') add({ path, kind: 'extra', ...(p.reason ? { reason: p.reason } : {}) });
        continue;
      }
      bad++;
      const e = b.entries[p.index] as FileEntry;
      const expected = { sha256: e.sha256, size: e.size };
      if (p.kind === 'modified') add({ path, kind: 'modified', expected, actual: { sha256: p.sha256 as string, size: p.size as number } });
      else add({ path, kind: p.kind as ProblemKind, expected, ...(p.reason ? { reason: p.reason } : {}) });
    }
    counts.matched += checked - bad;
    files += checked;
    bytes += r.bytes;
    opts.onProgress?.(shard ? { files, bytes } : { files, bytes, totalFiles: pred.fileCount, totalBytes: pred.totalBytes });
  };
  /** Send the current batch (about 4 MiB of file data, or 1,024 items) to the least-loaded worker. */
  const send = async () => {
    if (batch.kinds.length === 0) return;
    const b = batch;
    const leaves = batchLeaves;
    batch = newBatch();
    batchLeaves = 0;
    batchBytes = 0;
    inflight.push({
      reply: pool.submit({ kinds: b.kinds, lines: b.lines, rels: b.rels, ...(opts.hashed ? { ids: b.ids } : {}), start: submittedLeaves }),
      batch: b,
      leaves,
    });
    submittedLeaves += leaves;
    while (inflight.length >= window) await drainOne();
  };
  /**
   * Add an item to the batch (see {@link Batch}; `size`: bytes it will read); true when the batch is
   * full and must be sent (awaited by the caller: no promise per item).
   */
  const push = (kind: 0 | 1 | 2 | 3, line: string, path: string, entry: ManifestEntry | undefined, size: number, id = ''): boolean => {
    batch.kinds.push(kind);
    batch.lines.push(line);
    batch.rels.push(kind === 0 ? '' : path);
    batch.entries.push(entry);
    if (opts.hashed) batch.ids.push(id);
    if (kind !== 2) batchLeaves++;
    batchBytes += size;
    return batchBytes >= 4 << 20 || batch.kinds.length >= 1024;
  };

  let manifestError: SnapError | undefined;
  try {
    for (;;) {
      let m: { line: string; entry: ManifestEntry } | undefined;
      try {
        m = manifest.ready ? manifest.current() : await manifest.peek();
      } catch (e) {
        if (isSnapError(e) && (e.code.startsWith('MANIFEST_') || e.code.startsWith('PATH_'))) {
          manifestError = e;
          break;
        }
        throw e;
      }
      const d: WalkItem | undefined = disk.ready ? disk.current() : await disk.peek();
      if (m === undefined && d === undefined) break;
      const c = m === undefined ? 1 : d === undefined ? -1 : compareUtf8(m.entry.path, d.path);
      if (c > 0) {
        const de = d as WalkItem;
        if (!mine(lastOwner)) {
          disk.advance(); // another shard's extra
          continue;
        }
        if (de.kind === 'symlink') add({ path: de.path, kind: 'extra', actual: { target: de.target, type: 'symlink' } });
        else if (push(2, '', de.path, undefined, 64 << 10)) await send();
        disk.advance();
        continue;
      }
      const { line, entry: me } = m as { line: string; entry: ManifestEntry };
      manifest.advance();
      if (assigner) {
        lastOwner = assigner.next(me.path, isSymlinkEntry(me) ? 0 : me.size);
        if (!mine(lastOwner)) {
          if (c === 0) disk.advance();
          if (push(0, line, me.path, undefined, 0)) await send(); // its leaf only: the root is checked in full
          continue;
        }
      }
      if (c < 0) {
        add({ path: me.path, kind: 'missing', expected: isSymlinkEntry(me) ? { target: me.target, type: 'symlink' } : { sha256: me.sha256, size: me.size } });
        if (push(0, line, me.path, undefined, 0)) await send();
        continue;
      }
      const de = d as WalkItem;
      disk.advance();
      if (isSymlinkEntry(me)) {
        if (de.kind !== 'symlink') add({ path: me.path, kind: 'type-changed', expected: { target: me.target, type: 'symlink' }, actual: { type: 'file' } });
        else if (de.target !== me.target) add({ path: me.path, kind: 'modified', expected: { target: me.target, type: 'symlink' }, actual: { target: de.target, type: 'symlink' } });
        else counts.matched++;
        if (push(0, line, me.path, undefined, 0)) await send();
      } else if (de.kind === 'symlink') {
        add({ path: me.path, kind: 'type-changed', expected: { sha256: me.sha256, size: me.size }, actual: { target: de.target, type: 'symlink' } });
        if (push(0, line, me.path, undefined, 0)) await send();
      } else {
        const id = opts.hashed?.get(me.path);
        const full = id !== undefined ? push(3, line, me.path, me, 0, id) : push(1, line, me.path, me, me.size);
        if (full) await send();
      }
    }
    await send();
    while (inflight.length > 0) await drainOne();
  } finally {
    await pool.close();
  }

  // The manifest itself: only when it matches what was signed is any of the above trusted.
  let manifestOk: boolean;
  let failure: VerifyReport['failure'];
  const digest: Partial<ManifestDigest> = manifestError ? {} : { sha256: raw.sha256, merkleRoot: toHex(tree.root()), lines: order.count, totalBytes: manifestTotal };
  if (!manifestError && order.count === 0) manifestError = new SnapError('MANIFEST_EMPTY', `${trust.manifestPath} has no entries`);
  ({ ok: manifestOk, failure } = await judgeManifest(trust.manifestPath, pred, manifestError, digest));
  if (assigner && shard) for (const p of deferred) if (assigner.ownerOf(p.path) === shard.index) add(p);
  if (manifestOk) nameMoves(problems);
  if (manifestOk && pred.records && problems.length > 0) {
    const dirs = [opts.snapshot.objectsDir ?? (opts.snapshot.name !== undefined ? join(opts.snapshot.dir, '..', '..', '..', 'objects', 'sha256') : undefined), opts.store ? join(resolve(opts.store), 'objects', 'sha256') : undefined];
    // The record code (CSV, JSONL and Parquet readers) is loaded only when records are to be named.
    const { attachRecordFindings } = await import('./records/verify-records.js');
    await attachRecordFindings(problems, pred.records, root, dirs.filter((d): d is string => d !== undefined));
  }
  const problemsSorted = manifestOk ? problems.sort((a, b) => compareUtf8(a.path, b.path)) : [];
  return {
    ok: manifestOk && problemsSorted.length === 0,
    ...base,
    counts: manifestOk ? counts : emptyCounts(),
    problems: problemsSorted,
    ...(failure ? { failure } : {}),
    manifest: { ok: manifestOk, ...(digest.merkleRoot ? { merkleRoot: digest.merkleRoot } : {}), ...(digest.sha256 ? { manifestSha256: digest.sha256 } : {}) },
    files,
    bytes,
    seconds: seconds(),
    ...(assigner && shard ? { shard: shardRange(assigner, shard) } : {}),
  };
}

/** The range a shard covered, once every manifest entry was assigned. */
function shardRange(a: ShardAssigner, s: ShardSpec): ShardRange {
  const first = a.firstPath(s.index);
  const last = a.lastPath(s.index);
  return { index: s.index, count: s.count, leaves: a.range(s.index), ...(first !== undefined && last !== undefined ? { firstPath: first, lastPath: last } : {}) };
}

/**
 * Judge a manifest read in full against the signed predicate: its raw SHA-256, Merkle root
 * (RFC 9162), line count and total bytes must all equal the statement's. A manifest that could not
 * be parsed (`manifestError`) is tampering unless its bytes are exactly the signed ones, in which
 * case the error itself is thrown (signed, yet malformed). Shared by verify of a folder and of a
 * dataset in S3 (src/s3/dataset.ts).
 * @param digest what reading the manifest found (empty when `manifestError` is set)
 * @returns `ok`, and the `INTEGRITY_FAILURE` to report when not
 * @throws `manifestError` when the manifest is the signed one | `IO_ERROR` reading it again
 */
export async function judgeManifest(manifestPath: string, pred: Statement['predicate'], manifestError: SnapError | undefined, digest: Partial<ManifestDigest>): Promise<{ ok: boolean; failure?: VerifyReport['failure'] }> {
  if (manifestError) {
    const sha = await rawSha256(manifestPath);
    if (sha === pred.manifestSha256) throw manifestError; // signed, yet malformed: not tampering
    return { ok: false, failure: { code: 'INTEGRITY_FAILURE', message: `manifest.jsonl does not match the signed manifestSha256 (it was altered): ${manifestError.message}` } };
  }
  const wrong: string[] = [];
  if (digest.sha256 !== pred.manifestSha256) wrong.push('manifestSha256');
  if (digest.merkleRoot !== pred.merkleRoot) wrong.push('Merkle root');
  if (digest.lines !== pred.fileCount) wrong.push('fileCount');
  if (digest.totalBytes !== pred.totalBytes) wrong.push('totalBytes');
  if (wrong.length === 0) return { ok: true };
  return { ok: false, failure: { code: 'INTEGRITY_FAILURE', message: `manifest.jsonl does not match the signed statement (${wrong.join(', ')} differ): it was altered` } };
}
