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
import { isSymlinkEntry, type ManifestEntry } from './core/manifest.js';
import type { TrustedKey } from './core/envelope.js';
import { HashPool, type CheckReply } from './io/hash-pool.js';
import { walkDatasetRuns, type WalkItem } from './io/walk.js';
import { manifestEntryRuns, type ManifestDigest } from './io/manifest-file.js';
import { checkTrust, type SignerReport } from './snapshot.js';
import type { SnapshotLocation } from './io/store.js';
import type { Progress } from './seal.js';
import { ioError } from './io/errors.js';

/** The kinds of problem verify reports (SPEC §8). */
export type ProblemKind = 'modified' | 'missing' | 'extra' | 'type-changed' | 'unreadable';

/** One file that does not match. `expected` is from the manifest, `actual` from the disk. */
export interface Problem {
  path: string;
  kind: ProblemKind;
  expected?: { sha256: string; size: number } | { target: string; type: 'symlink' };
  actual?: { sha256: string; size: number } | { target: string; type: 'symlink' } | { type: string };
  reason?: string;
  /** For an extra file: the missing path that had exactly this content (a move, e.g. a flipped label). */
  movedFrom?: string;
  /** For a missing file: the extra path that now has exactly its content. */
  movedTo?: string;
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
  /** The manifest's own check. */
  manifest?: { ok: boolean; merkleRoot?: string; manifestSha256?: string };
  files: number;
  bytes: number;
  seconds: number;
}

/** Options of {@link verify}. */
export interface VerifyOptions {
  dir: string;
  snapshot: SnapshotLocation;
  trusted: readonly TrustedKey[];
  threshold?: number;
  jobs?: number;
  /** Folders to leave out (the store, when it lies inside the dataset). */
  skipDirs?: readonly string[];
  onProgress?: (p: Progress) => void;
}

/** A forward cursor over runs from an async generator. */
class Cursor<T> {
  private run: T[] = [];
  private i = 0;
  private done = false;
  constructor(private readonly gen: AsyncGenerator<T[]>) {}
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

const emptyCounts = (): VerifyCounts => ({ matched: 0, modified: 0, missing: 0, extra: 0, 'type-changed': 0, unreadable: 0 });

async function rawSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  try {
    for await (const c of createReadStream(path)) h.update(c as Buffer);
  } catch (e) {
    throw ioError(e, path, 'cannot read the manifest');
  }
  return h.digest('hex');
}

/** Pair each missing file with an extra file of exactly the same content (SHA-256 and size): a move. */
function nameMoves(problems: Problem[]): void {
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
  const trust = await checkTrust(opts.snapshot, opts.trusted, opts.threshold ?? 1);
  const base = { snapshot: trust.snapshot, ref: opts.snapshot.ref, signers: trust.signers };
  const seconds = () => (performance.now() - t0) / 1000;
  if (!trust.ok || !trust.statement) {
    return { ok: false, ...base, counts: emptyCounts(), problems: [], failure: trust.failure, files: 0, bytes: 0, seconds: seconds() };
  }
  const pred = trust.statement.predicate;
  const root = resolve(opts.dir);
  const counts = emptyCounts();
  const problems: Problem[] = [];
  const add = (p: Problem) => {
    counts[p.kind]++;
    problems.push(p);
  };

  const digest: Partial<ManifestDigest> = {};
  const manifest = new Cursor(manifestEntryRuns(trust.manifestPath, digest));
  const disk = new Cursor(
    walkDatasetRuns(root, {
      excludes: pred.excludes,
      skipDirs: opts.skipDirs,
      onSpecial: (path, what) => add({ path, kind: 'extra', actual: { type: what }, reason: `${what}` }),
      onBadName: (e) => add({ path: String(e.details?.path ?? '?'), kind: 'extra', reason: `name breaks the path rules: ${e.code}` }),
    }),
  );

  const pool = new HashPool({ jobs: opts.jobs, mode: 'verify', root });
  const window = pool.size * 4;
  // `extra` entries are files on disk that the manifest lacks: hashed too, so a move can be named.
  type Job = { path: string; sha256: string; size: number; extra?: boolean };
  const inflight: { reply: Promise<CheckReply>; entries: Job[] }[] = [];
  let batch: Job[] = [];
  let batchBytes = 0;
  let files = 0;
  let bytes = 0;

  const drainOne = async () => {
    const { reply, entries } = inflight.shift() as (typeof inflight)[number];
    const r = await reply;
    let bad = 0;
    let extras = 0;
    for (const e of entries) if (e.extra) extras++;
    for (const p of r.problems) {
      const e = entries[p.index] as Job;
      if (e.extra) {
        // Always "modified" against the impossible expectation; "missing" if it vanished since the walk.
        if (p.kind === 'modified') add({ path: e.path, kind: 'extra', actual: { sha256: p.sha256 as string, size: p.size as number } });
        else if (p.kind !== 'missing') add({ path: e.path, kind: 'extra', ...(p.reason ? { reason: p.reason } : {}) });
        continue;
      }
      bad++;
      const expected = { sha256: e.sha256, size: e.size };
      if (p.kind === 'modified') add({ path: e.path, kind: 'modified', expected, actual: { sha256: p.sha256 as string, size: p.size as number } });
      else add({ path: e.path, kind: p.kind as ProblemKind, expected, ...(p.reason ? { reason: p.reason } : {}) });
    }
    counts.matched += entries.length - extras - bad;
    files += entries.length - extras;
    bytes += r.bytes;
    opts.onProgress?.({ files, bytes, totalFiles: pred.fileCount, totalBytes: pred.totalBytes });
  };
  const flush = async () => {
    if (batch.length === 0) return;
    const entries = batch;
    batch = [];
    batchBytes = 0;
    inflight.push({ reply: pool.submit<CheckReply>({ rels: entries.map((e) => e.path), expected: entries.map((e) => `${e.sha256} ${e.size}`) }), entries });
    while (inflight.length >= window) await drainOne();
  };

  let manifestError: SnapError | undefined;
  try {
    for (;;) {
      let m: ManifestEntry | undefined;
      try {
        m = await manifest.peek();
      } catch (e) {
        if (isSnapError(e) && (e.code.startsWith('MANIFEST_') || e.code.startsWith('PATH_'))) {
          manifestError = e;
          break;
        }
        throw e;
      }
      const d: WalkItem | undefined = await disk.peek();
      if (m === undefined && d === undefined) break;
      const c = m === undefined ? 1 : d === undefined ? -1 : compareUtf8(m.path, d.path);
      if (c < 0) {
        const me = m as ManifestEntry;
        add({ path: me.path, kind: 'missing', expected: isSymlinkEntry(me) ? { target: me.target, type: 'symlink' } : { sha256: me.sha256, size: me.size } });
        manifest.advance();
      } else if (c > 0) {
        const de = d as WalkItem;
        if (de.kind === 'symlink') add({ path: de.path, kind: 'extra', actual: { target: de.target, type: 'symlink' } });
        else {
          batch.push({ path: de.path, sha256: '-', size: -1, extra: true });
          if (batch.length >= 512) await flush();
        }
        disk.advance();
      } else {
        const me = m as ManifestEntry;
        const de = d as WalkItem;
        if (isSymlinkEntry(me)) {
          if (de.kind !== 'symlink') add({ path: me.path, kind: 'type-changed', expected: { target: me.target, type: 'symlink' }, actual: { type: 'file' } });
          else if (de.target !== me.target) add({ path: me.path, kind: 'modified', expected: { target: me.target, type: 'symlink' }, actual: { target: de.target, type: 'symlink' } });
          else counts.matched++;
        } else if (de.kind === 'symlink') {
          add({ path: me.path, kind: 'type-changed', expected: { sha256: me.sha256, size: me.size }, actual: { target: de.target, type: 'symlink' } });
        } else {
          batch.push({ path: me.path, sha256: me.sha256, size: me.size });
          batchBytes += me.size;
          if (batchBytes >= 4 << 20 || batch.length >= 512) await flush();
        }
        manifest.advance();
        disk.advance();
      }
    }
    await flush();
    while (inflight.length > 0) await drainOne();
  } finally {
    await pool.close();
  }

  // The manifest itself: only when it matches what was signed is any of the above trusted.
  let manifestOk: boolean;
  let failure: VerifyReport['failure'];
  if (manifestError) {
    const sha = await rawSha256(trust.manifestPath);
    if (sha === pred.manifestSha256) throw manifestError; // signed, yet malformed: not tampering
    manifestOk = false;
    failure = { code: 'INTEGRITY_FAILURE', message: `manifest.jsonl does not match the signed manifestSha256 (it was altered): ${manifestError.message}` };
  } else {
    const wrong: string[] = [];
    if (digest.sha256 !== pred.manifestSha256) wrong.push('manifestSha256');
    if (digest.merkleRoot !== pred.merkleRoot) wrong.push('Merkle root');
    if (digest.lines !== pred.fileCount) wrong.push('fileCount');
    if (digest.totalBytes !== pred.totalBytes) wrong.push('totalBytes');
    manifestOk = wrong.length === 0;
    if (!manifestOk) failure = { code: 'INTEGRITY_FAILURE', message: `manifest.jsonl does not match the signed statement (${wrong.join(', ')} differ): it was altered` };
  }
  if (manifestOk) nameMoves(problems);
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
  };
}
