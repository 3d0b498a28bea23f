/**
 * `verify`: the pre-training gate (SPEC §8). The data on disk passes only when a trusted key signed
 * the statement, the manifest matches the signed root and digest, and the folder matches the
 * manifest exactly: no file modified, missing, extra, of another type, or unreadable.
 */
import { resolve } from 'node:path';
import { SnapError, isSnapError } from '../core/errors.js';
import { compareUtf8 } from '../core/paths.js';
import { isSymlinkEntry, type FileEntry, type ManifestEntry } from '../core/manifest.js';
import { MerkleTreeBuilder, appendLeaves, type FoldedLeaves } from '../core/merkle.js';
import { toHex } from '../core/encoding.js';
import { nodeHashNative } from '../io/native-hash.js';
import type { TrustedKey } from '../core/envelope.js';
import { HashPool, type CheckReply } from '../io/hash-pool.js';
import { walkParallel, isFileRun, fileRunPath, type FileRun, type ParallelRun } from '../io/parallel-walk.js';
import { walkDatasetRuns, whyRefused, type RefusedEntry, type WalkItem } from '../io/walk.js';
import { judgeManifest, type ManifestDigest } from '../io/manifest-file.js';
import { ManifestReader, type ParsedLine } from '../io/manifest-reader.js';
import { checkTrust, type SignerReport } from '../snapshot.js';
import type { SnapshotLocation } from '../io/store.js';
import type { Progress } from './seal.js';
import type { TrustRules } from '../trust/rules.js';
import type { Statement } from '../core/statement.js';
import type { RevocationReport } from '../trust/revocations.js';
import type { PolicyReport } from '../trust/signatures.js';
import { join } from 'node:path';
import type { RecordSetDiff } from '../records/record-report.js';
import { ShardAssigner, type ShardSpec } from '../shards/assign.js';
import type { ShardRange } from '../shards/report.js';

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
  /**
   * For a link whose target is not UTF-8: the target decoded without loss, and `targetHex` its bytes.
   * For a regular file where a link was signed (`type-changed`): `type: "file"` with the file's
   * `sha256` and `size` (read as an extra file's are), or without them when it could not be read.
   */
  actual?: { sha256: string; size: number } | { target: string; type: 'symlink'; targetHex?: string } | { type: 'file'; sha256: string; size: number } | { type: string };
  /**
   * Why an entry is unreadable, or why a manifest cannot record an extra entry (its name, its link
   * target, its type) — also on the `type-changed` or `modified` problem of a signed path where a
   * link whose target is not UTF-8 now is (`actual.targetHex`).
   */
  reason?: string;
  /** For an extra file: the missing path that had exactly this content (a move, e.g. a flipped label). */
  movedFrom?: string;
  /** For a missing file: the extra path that now has exactly its content. */
  movedTo?: string;
  /** A modified record file (docs/FORMAT.md §19): which records changed, or why that is not known. */
  records?: RecordSetDiff | { error: { code: string; message: string } };
  /**
   * A file moved between the label folders of a label-folder set: the flip (`contentChanged`: its
   * bytes changed too; docs/FORMAT.md §19.8), on an extra or `modified` file where the record now
   * is, and on its source when that is missing or a link (or special file) now: `type-changed`.
   */
  label?: { set: string; key: string; from: string; to: string; contentChanged?: true };
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
  /** Manifest entries checked (with `shard`, of its share). */
  files: number;
  /** Bytes read from the folder: the files checked, and the extra files hashed to pair them with missing ones as moves. */
  bytes: number;
  /** Wall time of the check, seconds. */
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
  /** Stores lying inside the dataset folder (absolute): only their own layout is left out, everything else under them is data (io/store-layout.ts). */
  stores?: readonly string[];
  /**
   * Let the hashing workers list the folders (parallel-walk.ts; default true). Used only without
   * the statement's `excludes`; false walks on the main thread (walk.ts), for tests that compare the two.
   */
  walkInWorkers?: boolean;
  /**
   * Pair the files a worker listed with raw manifest lines that the workers check (default true;
   * see `joinWithDisk`). False joins every line on the main thread, for tests that compare the two.
   */
  bulk?: boolean;
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
   * Name the changed records of each modified record file (its `records` member: the file indexed
   * and compared with its signed index; default true). False leaves `records` off every problem and
   * reads no record file; files moved between label folders are still named (`label`). The drill
   * passes false: it takes the records from its own record diff, which indexes the file anyway.
   */
  recordDiffs?: boolean;
  /**
   * Check only this shard's share of the files (shards/assign.ts): the signature, trust and the
   * whole manifest (its Merkle root, digest, count and bytes) are still checked in full.
   */
  shard?: ShardSpec;
}

/**
 * A forward cursor over the walk's runs, item by item: files listed by a worker (a {@link FileRun},
 * whose items are made only when asked for, and whose rest can be taken whole) or items walked on
 * this thread.
 */
class DiskCursor {
  private run: ParallelRun | undefined;
  private i = 0;
  private end = 0;
  private done = false;
  private item: WalkItem | undefined;
  /** Counts the runs fetched: names the current one. */
  runIndex = 0;
  constructor(private readonly gen: AsyncGenerator<ParallelRun>) {}
  /** Whether the current item is at hand ({@link current}) without awaiting {@link peek}. */
  get ready(): boolean {
    return this.i < this.end;
  }
  /** The current item when {@link ready}. */
  current(): WalkItem {
    if (this.item !== undefined) return this.item;
    const r = this.run as ParallelRun;
    return (this.item = isFileRun(r) ? { kind: 'file', path: fileRunPath(r, this.i) } : (r[this.i] as WalkItem));
  }
  /** The current item, fetching the next run when needed; undefined at the end. */
  async peek(): Promise<WalkItem | undefined> {
    while (this.i >= this.end) {
      if (this.done) return undefined;
      const r = await this.gen.next();
      if (r.done) {
        this.done = true;
        return undefined;
      }
      this.run = r.value;
      this.runIndex++;
      this.item = undefined;
      if (isFileRun(r.value)) {
        this.i = r.value.from;
        this.end = r.value.to;
      } else {
        this.i = 0;
        this.end = r.value.length;
      }
    }
    return this.current();
  }
  /** When the current item is a file a worker listed ({@link ready} first): the rest of its run. */
  fileRun(): FileRun | undefined {
    const r = this.run;
    if (r === undefined || !isFileRun(r) || this.i >= this.end) return undefined;
    return { dir: r.dir, files: r.files, offsets: r.offsets, from: this.i, to: this.end };
  }
  /** Move past `n` items (default 1). */
  advance(n = 1): void {
    this.i += n;
    this.item = undefined;
  }
  /** Stop the walk (its folders are closed), wherever it is. */
  async close(): Promise<void> {
    await this.gen.return(undefined);
  }
}

/** What {@link joinWithDisk} found. */
interface JoinResult {
  counts: VerifyCounts;
  problems: Problem[];
  /** A shard's extras that the walk reported out of order, sorted out once every entry was assigned. */
  deferred: Problem[];
  assigner?: ShardAssigner;
  files: number;
  bytes: number;
  /** What reading the manifest found (meaningful only without `manifestError`). */
  digest: Partial<ManifestDigest>;
  /** The manifest could not be parsed (MANIFEST_* or PATH_*): judged against its signed digest. */
  manifestError?: SnapError;
}

const NEWLINE = 0x0a;

/**
 * An error reading the manifest that says what is wrong with its bytes (`MANIFEST_*`, `PATH_*`):
 * returned, to be judged against the signed digest (`judgeManifest`). Any other is thrown.
 */
function asManifestError(e: unknown): SnapError {
  if (isSnapError(e) && (e.code.startsWith('MANIFEST_') || e.code.startsWith('PATH_'))) return e;
  throw e;
}

/**
 * Whether the raw manifest line at byte `at` of `data` begins as the line of `path` does
 * (`{"path":"…",`). Only a quick test of where a chunk of lines starts and ends: the workers
 * check every line in full.
 */
function lineNames(data: Uint8Array, at: number, path: string): boolean {
  const head = `{"path":${JSON.stringify(path)},`;
  if (at + head.length > data.length) return false;
  for (let i = 0; i < head.length; i++) if (data[at + i] !== head.charCodeAt(i)) return false;
  return true;
}

/** Items a batch for the workers holds at most (a bulk run counts its files). */
const BATCH_FILES = 1024;
/**
 * Bytes of file data a batch for the workers holds, about (the batch is sent once it reaches this).
 * Each batch costs the main thread about 0.1–0.2 ms (messages, the reply, its subtrees): with 4 MiB
 * batches of 20 KiB files that was 0.7 µs per file of its 2 µs. The batches are descriptions, not
 * data, so a larger one holds no more memory; 16 MiB is about 10 ms of hashing for one worker.
 */
const BATCH_BYTES = 16 << 20;
/** Bytes a file the manifest does not sign as a file (an extra one, or one where a link was) counts for in a batch: its size is not known before it is read. */
const EXTRA_FILE_GUESS = 64 << 10;

/**
 * The streaming pass of verify: manifest lines (parsed strictly, in order) merge-joined with the
 * walk. Every manifest line goes to the workers in order, so they compute its RFC 9162 leaf hash
 * as well as checking its file; the main thread folds their subtrees and hashes the raw bytes.
 *
 * With `bulk`, a run of files a worker listed (a folder's plain files, in manifest order) is paired
 * with as many manifest lines, taken raw, not parsed on this thread: the workers check that each
 * line is exactly the canonical line of its file's path (hash-worker.ts, kind 4), which also proves
 * the lines' order (that of the walk), and check the file. If any line is not, nothing is decided
 * from this pass: it returns undefined and the caller joins again without `bulk`, line by line,
 * which names every difference. So a bulk run can only ever confirm a line and its file; it never
 * judges a difference it has not fully understood.
 * @param inWorkers the folders listed by the workers (parallel-walk.ts); else walked here (walk.ts), with the statement's `excludes`
 * @param bulk whether to pair worker-listed files with raw lines (needs `inWorkers`)
 * @returns the join's findings, or undefined when a bulk run did not pair
 * @throws SnapError `NOT_FOUND` | `IO_ERROR` (the manifest or the data cannot be read at all)
 */
async function joinWithDisk(opts: VerifyOptions, pool: HashPool, root: string, manifestPath: string, pred: Statement['predicate'], inWorkers: boolean, bulk: boolean): Promise<JoinResult | undefined> {
  const counts = emptyCounts();
  const problems: Problem[] = [];
  const add = (p: Problem) => {
    counts[p.kind]++;
    problems.push(p);
  };
  const shard = opts.shard;
  const assigner = shard ? new ShardAssigner(shard.count, pred.fileCount, pred.totalBytes) : undefined;
  let lastOwner = 1;
  const mine = (owner: number) => shard === undefined || owner === shard.index;
  /** Extras the walk reports out of order (specials, refused names): owned by path, sorted out at the end. */
  const deferred: Problem[] = [];
  const addByPath = shard ? (p: Problem) => deferred.push(p) : add;

  const reader = new ManifestReader(manifestPath);
  const tree = new MerkleTreeBuilder({ nodeHash: nodeHashNative });
  /** The sizes the bulk lines declare (the workers parsed them), in bytes. */
  let bulkBytes = 0;
  /** A bulk run did not pair: this pass decides nothing. */
  let mismatch = false;
  const walkOpts = {
    stores: opts.stores,
    onSpecial: (path: string, what: string) => addByPath({ path, kind: 'extra', actual: { type: what }, reason: `${what}` }),
    // A name seal would refuse is a finding like any other, reported beside the rest.
    onBadName: (e: SnapError, entry?: RefusedEntry) => addByPath(refusedProblem(e, entry)),
  };
  const disk = new DiskCursor(inWorkers ? walkParallel(root, (folders) => pool.list(folders), walkOpts) : walkDatasetRuns(root, { ...walkOpts, excludes: pred.excludes }));

  const window = pool.size * 4;
  /**
   * A batch for the workers, as parallel arrays (no object per file): each item's kind — 0: leaf
   * only; 1: leaf and check the file; 2: an extra file, hashed; 3: as 1, unless still `ids[i]` (see
   * hash-worker.ts); 4: a bulk run of `names[i]` in folder `rels[i]` paired with raw lines (the
   * batch's next `data` buffer, transferred) — its manifest line ('' for an extra and a bulk run),
   * its path ('' for kind 0: nothing to open), and its manifest entry (kinds 1 and 3, for the
   * expected digest and size of a problem).
   */
  type Batch = { kinds: number[]; lines: string[]; rels: string[]; entries: (ManifestEntry | undefined)[]; ids: string[]; names: string[]; data: Uint8Array[] };
  const newBatch = (): Batch => ({ kinds: [], lines: [], rels: [], entries: [], ids: [], names: [], data: [] });
  const inflight: { reply: Promise<CheckReply & { folded: FoldedLeaves }>; batch: Batch; leaves: number; checked: number }[] = [];
  /** Leaves sent to the workers so far: the index in the manifest of the next batch's first leaf. */
  let submittedLeaves = 0;
  let batch = newBatch();
  let batchLeaves = 0;
  let batchFiles = 0;
  let batchBytes = 0;
  let batchChecked = 0;
  let files = 0;
  let bytes = 0;

  const drainOne = async () => {
    const { reply, batch: b, leaves, checked } = inflight.shift() as (typeof inflight)[number];
    const r = await reply;
    // Per-file failures are problems in the reply; an error here is the worker's own (a bug, or out of memory).
    if (r.error) throw new SnapError('INTERNAL', `a hashing worker failed: ${r.error.message}`, { code: r.error.code, errno: r.error.errno });
    if (r.mismatch || mismatch) {
      mismatch = true;
      return;
    }
    // The worker folded the batch's leaves into aligned subtrees (it knew where they start); batches are taken in order.
    appendLeaves(tree, r.folded, leaves);
    bulkBytes += r.lineBytes ?? 0;
    let bad = 0;
    for (const p of r.problems) {
      const kind = b.kinds[p.index];
      if (kind === 2) {
        const path = b.rels[p.index] as string;
        const link = b.entries[p.index];
        if (link !== undefined && isSymlinkEntry(link)) {
          // A regular file where this link was signed: type-changed, with the bytes it holds (a label flip onto it, §19.8).
          const expected = { target: link.target, type: 'symlink' as const };
          if (p.kind === 'modified') add({ path, kind: 'type-changed', expected, actual: { type: 'file', sha256: p.sha256 as string, size: p.size as number } });
          else add({ path, kind: 'type-changed', expected, actual: { type: 'file' }, ...(p.kind !== 'missing' && p.reason ? { reason: p.reason } : {}) });
          continue;
        }
        // Always "modified" against no expectation; "missing" if it vanished since the walk.
        if (p.kind === 'modified') add({ path, kind: 'extra', actual: { sha256: p.sha256 as string, size: p.size as number } });
        else if (p.kind !== 'missing') add({ path, kind: 'extra', ...(p.reason ? { reason: p.reason } : {}) });
        continue;
      }
      bad++;
      // A bulk run's problem carries its path and what its line expected; the others, their entry.
      const e = b.entries[p.index] as FileEntry;
      const path = kind === 4 ? (p.path as string) : (b.rels[p.index] as string);
      const expected = kind === 4 ? { sha256: p.expSha as string, size: p.expSize as number } : { sha256: e.sha256, size: e.size };
      if (p.kind === 'modified') add({ path, kind: 'modified', expected, actual: { sha256: p.sha256 as string, size: p.size as number } });
      else add({ path, kind: p.kind as ProblemKind, expected, ...(p.reason ? { reason: p.reason } : {}) });
    }
    counts.matched += checked - bad;
    files += checked;
    bytes += r.bytes;
    opts.onProgress?.(shard ? { files, bytes } : { files, bytes, totalFiles: pred.fileCount, totalBytes: pred.totalBytes });
  };
  /** Send the current batch (about {@link BATCH_BYTES} of file data, or {@link BATCH_FILES} files) to the least-loaded worker. */
  const send = async () => {
    if (batch.kinds.length === 0) return;
    const b = batch;
    const leaves = batchLeaves;
    inflight.push({
      reply: pool.submit(
        { kinds: b.kinds, lines: b.lines, rels: b.rels, ...(opts.hashed ? { ids: b.ids } : {}), ...(b.data.length > 0 ? { names: b.names, data: b.data } : {}), start: submittedLeaves },
        b.data.map((d) => d.buffer as ArrayBuffer),
      ),
      batch: b,
      leaves,
      checked: batchChecked,
    });
    batch = newBatch();
    batchLeaves = 0;
    batchFiles = 0;
    batchBytes = 0;
    batchChecked = 0;
    submittedLeaves += leaves;
    while (inflight.length >= window) await drainOne();
  };
  /**
   * Add an item to the batch (see `Batch`; `size`: bytes it will read); true when the batch is
   * full and must be sent (awaited by the caller: no promise per item).
   */
  const push = (kind: 0 | 1 | 2 | 3, line: string, path: string, entry: ManifestEntry | undefined, size: number, id = ''): boolean => {
    batch.kinds.push(kind);
    batch.lines.push(line);
    batch.rels.push(kind === 0 ? '' : path);
    batch.entries.push(entry);
    batch.names.push('');
    if (opts.hashed) batch.ids.push(id);
    if (kind !== 2) batchLeaves++;
    if (kind === 1 || kind === 3) batchChecked++;
    batchFiles++;
    batchBytes += size;
    return batchBytes >= BATCH_BYTES || batchFiles >= BATCH_FILES;
  };
  /**
   * Pair the rest of a worker-listed run with as many raw manifest lines, batch by batch (kind 4).
   * Before a chunk of lines is sent, its first and last lines must begin with the paths of the
   * files they pair with; when not (a missing or an extra file shifts the pairing; the manifest
   * ended), they are given back and the rest of the run is joined line by line ('unpaired'), so the
   * pass goes on. 'mismatch': a worker found a line that did not pair after all.
   */
  const pushBulk = async (run: FileRun): Promise<'done' | 'unpaired' | 'mismatch'> => {
    const { dir, files: names, offsets } = run;
    const nameAt = (i: number) => fileRunPath(run, i);
    let a = run.from;
    while (a < run.to && !mismatch) {
      const raw = await reader.take(Math.min(run.to - a, BATCH_FILES - batchFiles), BATCH_BYTES - batchBytes);
      const n = raw.lines;
      if (n === 0) return 'unpaired';
      const first = nameAt(a);
      const last = n === 1 ? first : nameAt(a + n - 1);
      if (!lineNames(raw.data, 0, first) || !lineNames(raw.data, raw.data.lastIndexOf(NEWLINE, raw.data.length - 2) + 1, last) || !reader.acceptRun(first, last, n)) {
        reader.untake(raw);
        return 'unpaired';
      }
      batch.kinds.push(4);
      batch.lines.push('');
      batch.data.push(raw.data);
      batch.rels.push(dir);
      batch.names.push(names.slice(offsets[a], (offsets[a + n] as number) - 1));
      batch.entries.push(undefined); // bulk runs never go with `hashed` (restore), so no `ids`
      batchLeaves += n;
      batchChecked += n;
      batchFiles += n;
      batchBytes += raw.sizes;
      disk.advance(n);
      a += n;
      if (batchFiles >= BATCH_FILES || batchBytes >= BATCH_BYTES) await send();
    }
    return mismatch ? 'mismatch' : 'done';
  };
  /** The run the walk is in that is joined line by line (its lines did not pair in bulk). */
  let unpairedRun = -1;

  let manifestError: SnapError | undefined;
  try {
    for (;;) {
      if (mismatch) break;
      if (bulk && !reader.hasPending) {
        const run = disk.ready || (await disk.peek()) !== undefined ? disk.fileRun() : undefined;
        if (run && disk.runIndex !== unpairedRun) {
          let r: Awaited<ReturnType<typeof pushBulk>>;
          try {
            r = await pushBulk(run);
          } catch (e) {
            manifestError = asManifestError(e); // reading raw lines: a missing last newline, a line too long
            break;
          }
          if (r === 'mismatch') break;
          if (r === 'unpaired') unpairedRun = disk.runIndex;
          continue;
        }
      }
      let m: ParsedLine | undefined;
      try {
        m = await reader.peek();
      } catch (e) {
        manifestError = asManifestError(e);
        break;
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
        else if (push(2, '', de.path, undefined, EXTRA_FILE_GUESS)) await send();
        disk.advance();
        continue;
      }
      const { line, entry: me } = m as ParsedLine;
      reader.advance();
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
        const full = push(0, line, me.path, undefined, 0);
        if (de.kind !== 'symlink') {
          // A regular file where a link was signed: read as an extra file is (kind 2, the signed link
          // its entry), so that the problem gives its bytes and a file moved over the link is a
          // record diff names (a label flip, §19.8); drainOne makes it the type-changed problem.
          if (push(2, '', me.path, me, EXTRA_FILE_GUESS) || full) await send();
          continue;
        }
        if (de.target !== me.target) add({ path: me.path, kind: 'modified', expected: { target: me.target, type: 'symlink' }, actual: { target: de.target, type: 'symlink' } });
        else counts.matched++;
        if (full) await send();
      } else if (de.kind === 'symlink') {
        add({ path: me.path, kind: 'type-changed', expected: { sha256: me.sha256, size: me.size }, actual: { target: de.target, type: 'symlink' } });
        if (push(0, line, me.path, undefined, 0)) await send();
      } else {
        const id = opts.hashed?.get(me.path);
        const full = id !== undefined ? push(3, line, me.path, me, 0, id) : push(1, line, me.path, me, me.size);
        if (full) await send();
      }
    }
    if (!mismatch) await send();
    while (inflight.length > 0) await drainOne();
  } finally {
    // After a mismatch or an error, the replies still due are awaited (what they say no longer
    // matters): no batch outlives this pass.
    while (inflight.length > 0) await inflight.shift()?.reply.catch(() => undefined);
    await reader.close();
    await disk.close();
  }
  if (mismatch) return undefined;
  const digest: Partial<ManifestDigest> = manifestError ? {} : { sha256: reader.sha256, merkleRoot: toHex(tree.root()), lines: reader.order.count, totalBytes: reader.parsedBytes + bulkBytes };
  return { counts, problems, deferred, ...(assigner ? { assigner } : {}), files, bytes, digest, ...(manifestError ? { manifestError } : {}) };
}

const emptyCounts = (): VerifyCounts => ({ matched: 0, modified: 0, missing: 0, extra: 0, 'type-changed': 0, unreadable: 0 });

/**
 * The `extra` problem for an entry the walk found but a manifest cannot record (see
 * `WalkOptions.onBadName`): its `path` (and `pathHex`), `reason` (why, and the code seal would stop
 * with), and, whatever was refused (the name or a link's target), what the entry is as `actual`:
 * a link's `{target, type: "symlink", targetHex?}`, or a socket, FIFO or device's `{type}` as for
 * one with a valid name. A regular file's `actual` is left out: it is not hashed.
 */
function refusedProblem(e: SnapError, entry: RefusedEntry | undefined): Problem {
  const d = e.details ?? {};
  const p: Problem = { path: String(d.path), ...(typeof d.pathHex === 'string' ? { pathHex: d.pathHex } : {}), kind: 'extra', reason: `${whyRefused(e.code)} (${e.code})` };
  if (entry?.type === 'symlink') p.actual = { target: entry.target, type: 'symlink', ...(entry.targetHex !== undefined ? { targetHex: entry.targetHex } : {}) };
  else if (entry?.type === 'special') p.actual = { type: entry.what };
  return p;
}

/**
 * A socket, FIFO or device where the manifest signed a file or link is that entry of another type:
 * the walk reports it as an `extra` special (`onSpecial`) and the join finds nothing to pair with
 * the entry (`missing`); the two, at one path, become one `type-changed` problem (`expected` the
 * entry, `actual` the special's type), as a symbolic link there is, and as a worker names a FIFO
 * swapped in after the walk (hash-worker.ts `checkFailure`). So does a symbolic link whose target
 * is not UTF-8 (refused by the walk, `MANIFEST_BAD_TARGET`: an `extra` with `actual.targetHex`):
 * where a file was signed it is one `type-changed` problem, where a link was one `modified` (its
 * target changed), each keeping the `actual` target with `targetHex` and the `reason` — not a
 * `missing` path that is there and an `extra` one (docs/FORMAT.md §12; diff names it one difference,
 * `other`). Both are in one shard's problems (an extra belongs to the shard of the entry at or
 * before its path, FORMAT §20.2). Edits `problems` and `counts` in place.
 */
function foldSpecials(problems: Problem[], counts: VerifyCounts): void {
  const specials = new Map<string, Problem>();
  for (const p of problems) {
    if (p.kind !== 'extra' || p.actual === undefined) continue;
    if ((!('target' in p.actual) && !('sha256' in p.actual)) || 'targetHex' in p.actual) specials.set(p.path, p);
  }
  if (specials.size === 0) return;
  const folded = new Set<Problem>();
  for (let i = 0; i < problems.length; i++) {
    const m = problems[i] as Problem;
    const s = m.kind === 'missing' ? specials.get(m.path) : undefined;
    if (s === undefined) continue;
    const badTarget = s.actual !== undefined && 'targetHex' in s.actual;
    // A link signed and a link now, whose target cannot be recorded: its target changed.
    const kind: ProblemKind = badTarget && m.expected !== undefined && 'target' in m.expected ? 'modified' : 'type-changed';
    problems[i] = { path: m.path, kind, ...(m.expected ? { expected: m.expected } : {}), actual: s.actual as Problem['actual'], ...(badTarget && s.reason !== undefined ? { reason: s.reason } : {}) };
    folded.add(s);
    counts.missing--;
    counts.extra--;
    counts[kind]++;
  }
  if (folded.size > 0) {
    let j = 0;
    for (const p of problems) if (!folded.has(p)) problems[j++] = p;
    problems.length = j;
  }
}

export { nameMoves } from '../records/label-flips.js';

/**
 * The `objects/sha256` folders that may hold a snapshot's signed record index objects: the
 * snapshot's own store (or the folder an archive was unpacked to), and `--store`.
 */
export function signedIndexDirs(opts: Pick<VerifyOptions, 'snapshot' | 'store'>): string[] {
  const dirs = [opts.snapshot.objectsDir ?? (opts.snapshot.name !== undefined ? join(opts.snapshot.dir, '..', '..', '..', 'objects', 'sha256') : undefined), opts.store ? join(resolve(opts.store), 'objects', 'sha256') : undefined];
  return dirs.filter((d): d is string => d !== undefined);
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
  // A shard checks the entries assigned to it, and the extras after its entries (shards/assign.ts).
  const shard = opts.shard;
  // The workers list the folders (parallel-walk.ts), as for seal, unless --exclude patterns apply
  // (matched on this thread by the `ignore` package) or a test asks for the walk on this thread.
  const inWorkers = opts.walkInWorkers !== false && !(pred.excludes && pred.excludes.length > 0);
  // Bulk runs (see `joinWithDisk`) where the main thread's work per file is not needed: not for a shard
  // (whose owner of each entry is decided line by line) nor with files already read back (restore).
  const bulkFirst = inWorkers && opts.bulk !== false && shard === undefined && opts.hashed === undefined;
  let joined: JoinResult | undefined;
  try {
    if (bulkFirst) joined = await joinWithDisk(opts, pool, root, trust.manifestPath, pred, inWorkers, true);
    // A bulk run whose lines were not those of its files: the data or the manifest differ from
    // what was signed somewhere. The join line by line finds and names every difference.
    joined ??= await joinWithDisk(opts, pool, root, trust.manifestPath, pred, inWorkers, false);
  } finally {
    await pool.close();
  }
  const { counts, problems, deferred, assigner, files, bytes } = joined as JoinResult;
  let { manifestError } = joined as JoinResult;
  const add = (p: Problem) => {
    counts[p.kind]++;
    problems.push(p);
  };

  // The manifest itself: only when it matches what was signed is any of the above trusted.
  let manifestOk: boolean;
  let failure: VerifyReport['failure'];
  const digest: Partial<ManifestDigest> = manifestError ? {} : (joined as JoinResult).digest;
  if (!manifestError && digest.lines === 0) manifestError = new SnapError('MANIFEST_EMPTY', `${trust.manifestPath} has no entries`);
  ({ ok: manifestOk, failure } = await judgeManifest(trust.manifestPath, pred, manifestError, digest));
  if (assigner && shard) for (const p of deferred) if (assigner.ownerOf(p.path) === shard.index) add(p);
  foldSpecials(problems, counts);
  if (manifestOk && problems.length > 0) {
    // Moves and flips are named over the problems in path order, as S3 verify and verify --merge name them (records/label-flips.ts).
    problems.sort((a, b) => compareUtf8(a.path, b.path));
    // In a label-folder set, a file is paired first with the missing file of its own record (§19.8).
    const { labelFolderRecord, labelFolderSets, nameMoves } = await import('../records/label-flips.js');
    const sets = labelFolderSets(pred.records);
    nameMoves(problems, sets.length > 0 ? labelFolderRecord(sets) : undefined);
  }
  if (manifestOk && pred.records && problems.length > 0) {
    if (opts.recordDiffs === false) {
      // Only the label-folder flips, which read no file (records/label-flips.ts).
      const { labelFolderSets, nameLabelFlips } = await import('../records/label-flips.js');
      nameLabelFlips(problems, labelFolderSets(pred.records));
    } else {
      // The record code (CSV, JSONL and Parquet readers) is loaded only when records are to be named.
      const { attachRecordFindings } = await import('../records/verify-records.js');
      await attachRecordFindings(problems, pred.records, root, signedIndexDirs(opts), { jobs: opts.jobs });
    }
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

