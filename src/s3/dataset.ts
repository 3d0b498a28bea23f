/**
 * Datasets in S3 (issue 13 item 4): `seal s3://BUCKET/PREFIX` and `verify s3://BUCKET/PREFIX`.
 * The objects under PREFIX are the dataset: each key without the prefix is a manifest path, each
 * object's bytes (hashed by snap as they stream, see read-objects.ts) its content. The manifest,
 * Merkle root and statement are exactly those of a local folder with the same files, so a dataset
 * sealed from S3 verifies against a copy on disk and the other way round.
 *
 * Loaded only through a dynamic `import()` (it loads the AWS SDK).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { SnapError, isSnapError } from '../core/errors.js';
import { compareUtf8 } from '../core/paths.js';
import { isSymlinkEntry, ManifestOrder, serializeEntry, type FileEntry, type ManifestEntry, type SymlinkEntry } from '../core/manifest.js';
import { MerkleTreeBuilder } from '../core/merkle.js';
import { toHex } from '../core/encoding.js';
import { leafHashOfLine, nodeHashNative } from '../io/native-hash.js';
import { judgeManifest, manifestLineRuns, parseManifestLine } from '../io/manifest-file.js';
import { checkTrust } from '../snapshot.js';
import { excludeMatcher } from '../io/walk.js';
import { isExcludedPath } from '../core/excludes.js';
import type { ManifestSink, Progress, ScanTotals } from '../ops/seal.js';
import type { Problem, VerifyCounts, VerifyOptions, VerifyReport } from '../ops/verify.js';
import { labelFolderSets, nameMovesAndFlips } from '../records/label-flips.js';
import { createS3Client } from './client.js';
import { formatS3Url, parseS3Url, type S3Location } from './location.js';
import { bodyPrefix, listObjects, ObjectReader, s3Error, type ListedObject, type ReaderOptions, type RefusedKey } from './read-objects.js';
import { CONFIG_FILE, MAX_CONFIG_BYTES } from '../records/config.js';

/** Entries handed to the manifest sink at a time. */
const SINK_BATCH = 1024;
/** Refused keys named in a seal's error message (all are in `details.keys` up to this many). */
const MAX_REFUSED_LISTED = 100;

/** Where a dataset in S3 is and how to read it. */
export interface S3Dataset {
  client: S3Client;
  location: S3Location;
  /** Part size and parallelism of the reads. */
  read?: ReaderOptions;
}

/** Options of {@link scanS3Dataset}. */
export interface ScanS3Options {
  /** gitignore-syntax patterns to leave out, as for a folder (`--exclude`, core/excludes.ts). */
  excludes?: readonly string[];
  /**
   * Report a key that cannot be a manifest path here and go on (diff), instead of failing the
   * scan with its `PATH_*` code (seal).
   */
  onRefused?: (k: RefusedKey) => void;
}

/**
 * Whether a key's path (the key without the prefix) has segments that a download resolves away:
 * it is empty or has an empty (`a//b`, a leading `/`), `.` or `..` segment. `aws s3 sync` and a job
 * joining the key to a folder write `tmp/../labels.csv` to `labels.csv`, and `a//b`, `a/./b` to
 * `a/b`, whatever else is wrong with the key (a control character, bytes that are not UTF-8).
 */
export function resolvesElsewhere(path: string): boolean {
  return path === '' || path.split('/').some((seg) => seg === '' || seg === '.' || seg === '..');
}

/**
 * Whether `excluded` leaves out a key that cannot be a manifest path. Never one whose path
 * {@link resolvesElsewhere}: the patterns would judge it by a name it does not land on (a signed
 * `tmp/` would hide `tmp/../labels.csv`, which a download writes over `labels.csv`), and such a
 * path is not handed to the matcher (which throws on `/x` and `../x`). A key refused for another
 * reason lands under the name the patterns see, so an exclude may leave it out.
 */
export function refusedKeyExcluded(excluded: ((path: string) => boolean) | undefined, k: RefusedKey): boolean {
  return excluded !== undefined && !resolvesElsewhere(k.path) && excluded(k.path);
}

/**
 * The keep-or-leave-out test of `excludes` for manifest paths (a key without its prefix), or
 * undefined when there are none.
 * @throws SnapError `USAGE` (a pattern the matcher refuses, or beyond the bounds of core/excludes.ts)
 */
export async function excludedBy(excludes: readonly string[] | undefined): Promise<((path: string) => boolean) | undefined> {
  const ig = await excludeMatcher(excludes ?? []);
  return ig ? (path) => isExcludedPath(ig, path) : undefined;
}

/**
 * An S3 dataset for `url`, with a client configured from `env` (see client.ts).
 * @throws SnapError `S3_URL_MALFORMED`
 */
export function openS3Dataset(url: string, env: NodeJS.ProcessEnv = process.env): S3Dataset {
  const location = parseS3Url(url);
  const partBytes = readBoundedInt(env, 'SNAP_S3_PART_BYTES', MIN_PART_BYTES, MAX_PART_BYTES);
  const concurrency = readBoundedInt(env, 'SNAP_S3_CONCURRENCY', 1, MAX_CONCURRENCY);
  return { client: createS3Client(env), location, read: { ...(partBytes ? { partBytes } : {}), ...(concurrency ? { concurrency } : {}) } };
}

/** Bounds of SNAP_S3_PART_BYTES (bytes per ranged GET) and SNAP_S3_CONCURRENCY (GETs in flight). */
const MIN_PART_BYTES = 1 << 16;
const MAX_PART_BYTES = 1 << 30;
const MAX_CONCURRENCY = 64;

function readBoundedInt(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = /^\d{1,10}$/.test(v) ? Number(v) : NaN;
  if (!(n >= min && n <= max)) throw new SnapError('USAGE', `${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(v.slice(0, 40))}`, { [name]: v.slice(0, 40) });
  return n;
}

/**
 * Seal's scan of a dataset in S3: list, hash each object in key order, and hand canonical manifest
 * lines and their RFC 9162 leaf hashes to `sink` (the same contract as `scanDataset` for a folder).
 * @throws SnapError `FILE_CHANGED` (an object changed while it was read; nothing is committed) |
 *   `PATH_*` (keys that cannot be manifest paths: all are listed in `details.keys`; the first one's
 *   code) | `IO_ERROR` | `NOT_FOUND` (no such bucket)
 */
export async function scanS3Dataset(ds: S3Dataset, sink: ManifestSink, onProgress?: (p: Progress) => void, opts: ScanS3Options = {}): Promise<ScanTotals> {
  const totals: ScanTotals = { files: 0, bytes: 0, newObjects: 0, newObjectBytes: 0 };
  const refused: RefusedKey[] = [];
  const excluded = await excludedBy(opts.excludes);
  let lines: string[] = [];
  let leaves: Buffer[] = [];
  const flush = async (): Promise<void> => {
    if (lines.length === 0) return;
    const text = lines.join('');
    const count = lines.length;
    const packed = Buffer.concat(leaves);
    lines = [];
    leaves = [];
    await sink(text, packed, count);
  };
  const reader = new ObjectReader<null>(
    ds.client,
    ds.location.bucket,
    async (obj, _tag, r) => {
      if (!r.ok) {
        throw new SnapError('FILE_CHANGED', `${formatS3Url(ds.location)}${obj.path} ${r.kind === 'changed' ? 'changed while it was being sealed' : 'could not be read'} (${r.reason}); nothing was committed. Seal again once the data is stable.`, { path: obj.path, key: obj.key });
      }
      const line = serializeEntry({ path: obj.path, sha256: r.sha256, size: r.size });
      lines.push(line + '\n');
      leaves.push(leafHashOfLine(line));
      totals.files++;
      totals.bytes += r.size;
      onProgress?.({ files: totals.files, bytes: totals.bytes });
      if (lines.length >= SINK_BATCH) await flush();
    },
    ds.read,
  );
  try {
    const onRefused = (k: RefusedKey): void => {
      if (refusedKeyExcluded(excluded, k)) return; // left out: it is not part of the dataset
      if (opts.onRefused) opts.onRefused(k);
      else if (refused.length < 100_000) refused.push(k);
    };
    for await (const page of listObjects(ds.client, ds.location, { onRefused })) {
      // A refused key fails the seal, but the listing goes on, so that every bad key is named at once.
      for (const obj of page) if (refused.length === 0 && !excluded?.(obj.path)) await reader.add(obj, null);
    }
    if (refused.length > 0) {
      const first = refused[0] as RefusedKey;
      const names = refused.slice(0, 5).map((k) => JSON.stringify(k.key)).join(', ');
      throw new SnapError(first.code as never, `${refused.length} key(s) under ${formatS3Url(ds.location)} cannot be manifest paths (${names}${refused.length > 5 ? ', …' : ''}): ${first.reason}. Rename them or seal a narrower prefix.`, {
        keys: refused.slice(0, MAX_REFUSED_LISTED).map((k) => ({ key: k.key, ...(k.keyHex ? { keyHex: k.keyHex } : {}), code: k.code })),
        count: refused.length,
      });
    }
    await reader.finish();
    await flush();
  } catch (e) {
    reader.close();
    throw e;
  }
  return totals;
}

/** Options of {@link verifyS3}: those of a folder's verify, with the dataset in S3 instead of `dir`. */
export interface VerifyS3Options extends Omit<VerifyOptions, 'dir' | 'stores' | 'hashed' | 'jobs'> {
  dataset: S3Dataset;
}

const emptyCounts = (): VerifyCounts => ({ matched: 0, modified: 0, missing: 0, extra: 0, 'type-changed': 0, unreadable: 0 });

/**
 * Verify a dataset in S3 against a snapshot (SPEC §8, as for a folder): the signature and
 * statement first, then one pass merging the signed manifest with the listing; every object is
 * hashed by snap (never its ETag or S3 checksum). Findings are results: `modified`, `missing`,
 * `extra` (also keys that cannot be manifest paths, with the reason), `type-changed` (a symbolic
 * link in the manifest is an object in S3) and `unreadable` (refused by the server, or changed
 * while it was read). Moves and label flips are named as a folder's verify names them
 * (records/label-flips.ts); a modified record file (CSV, TSV, JSONL, Parquet that the statement
 * indexes) is fetched again into a scratch folder and gets its records as a folder's would
 * (`s3/record-findings.ts`).
 * @throws SnapError `IO_ERROR` | `NOT_FOUND` (no such bucket); a signed yet malformed manifest
 *   throws its `MANIFEST_*` code
 */
export async function verifyS3(opts: VerifyS3Options): Promise<VerifyReport> {
  const t0 = performance.now();
  const ds = opts.dataset;
  const trust = await checkTrust(opts.snapshot, opts.trusted, opts.threshold ?? 1, opts.rules);
  const base = { snapshot: trust.snapshot, ref: opts.snapshot.ref, signers: trust.signers, ...(trust.revocations ? { revocations: trust.revocations } : {}), ...(trust.policy ? { policy: trust.policy } : {}), ...(trust.ok && trust.statement ? { statement: trust.statement } : {}) };
  const seconds = () => (performance.now() - t0) / 1000;
  if (!trust.ok || !trust.statement) return { ok: false, ...base, counts: emptyCounts(), problems: [], failure: trust.failure, files: 0, bytes: 0, seconds: seconds() };
  const pred = trust.statement.predicate;
  const counts = emptyCounts();
  const problems: Problem[] = [];
  const add = (p: Problem) => {
    counts[p.kind]++;
    problems.push(p);
  };
  let files = 0;
  let bytes = 0;
  const progress = () => opts.onProgress?.({ files, bytes, totalFiles: pred.fileCount, totalBytes: pred.totalBytes });

  /** `entry`: the file signed at the object's key; `link`: the link signed there (the object is type-changed); neither: an extra object. */
  type Tag = { entry?: FileEntry; link?: SymlinkEntry };
  const reader = new ObjectReader<Tag>(
    ds.client,
    ds.location.bucket,
    (obj, tag, r) => {
      const e = tag.entry;
      if (tag.link) {
        // An object where a link was signed: type-changed, with the bytes it holds (a label flip onto it, FORMAT §19.8), as a folder's verify gives it.
        const expected = { target: tag.link.target, type: 'symlink' as const };
        if (r.ok) add({ path: obj.path, kind: 'type-changed', expected, actual: { type: 'file', sha256: r.sha256, size: r.size } });
        else add({ path: obj.path, kind: 'type-changed', expected, actual: { type: 'file' }, reason: r.reason });
        return;
      }
      if (!r.ok) {
        if (e) {
          files++;
          add({ path: obj.path, kind: 'unreadable', expected: { sha256: e.sha256, size: e.size }, reason: r.reason });
        } else add({ path: obj.path, kind: 'extra', reason: r.reason });
        return;
      }
      if (!e) {
        add({ path: obj.path, kind: 'extra', actual: { sha256: r.sha256, size: r.size } });
        return;
      }
      files++;
      bytes += r.size;
      if (r.sha256 === e.sha256 && r.size === e.size) counts.matched++;
      else add({ path: obj.path, kind: 'modified', expected: { sha256: e.sha256, size: e.size }, actual: { sha256: r.sha256, size: r.size } });
      progress();
    },
    ds.read,
  );

  // The manifest: parsed strictly in order, its raw SHA-256 and Merkle root computed as it is read.
  const raw: { sha256?: string; bytes: number } = { bytes: 0 };
  const order = new ManifestOrder();
  const tree = new MerkleTreeBuilder({ nodeHash: nodeHashNative });
  let manifestTotal = 0;
  async function* entries(): AsyncGenerator<ManifestEntry> {
    for await (const run of manifestLineRuns(trust.manifestPath, raw)) {
      for (const line of run) {
        const entry = parseManifestLine(line, order, trust.manifestPath);
        tree.appendLeafHash(leafHashOfLine(line));
        if (!isSymlinkEntry(entry)) manifestTotal += entry.size;
        yield entry;
      }
    }
  }
  // The signed excludes, as a folder's verify applies them to its walk.
  const excluded = await excludedBy(pred.excludes);
  async function* objects(): AsyncGenerator<ListedObject> {
    for await (const page of listObjects(ds.client, ds.location, { onRefused: (k) => refusedKeyExcluded(excluded, k) || add({ path: k.path, ...(k.keyHex ? { pathHex: k.keyHex } : {}), kind: 'extra', reason: `the key cannot be a manifest path: ${k.reason} (${k.code})` }) })) yield* excluded ? page.filter((o) => !excluded(o.path)) : page;
  }

  const m = entries();
  const d = objects();
  let manifestError: SnapError | undefined;
  const nextEntry = async (): Promise<ManifestEntry | undefined> => {
    if (manifestError) return undefined;
    try {
      const r = await m.next();
      return r.done ? undefined : r.value;
    } catch (e) {
      if (isSnapError(e) && (e.code.startsWith('MANIFEST_') || e.code.startsWith('PATH_'))) {
        manifestError = e;
        return undefined;
      }
      throw e;
    }
  };
  const nextObject = async (): Promise<ListedObject | undefined> => {
    const r = await d.next();
    return r.done ? undefined : r.value;
  };
  try {
    let me = await nextEntry();
    let ob = await nextObject();
    while (me !== undefined || ob !== undefined) {
      const c = me === undefined ? 1 : ob === undefined ? -1 : compareUtf8(me.path, ob.path);
      if (c > 0) {
        await reader.add(ob as ListedObject, {});
        ob = await nextObject();
        continue;
      }
      const entry = me as ManifestEntry;
      if (c < 0) {
        add({ path: entry.path, kind: 'missing', expected: isSymlinkEntry(entry) ? { target: entry.target, type: 'symlink' } : { sha256: entry.sha256, size: entry.size } });
      } else if (isSymlinkEntry(entry)) {
        await reader.add(ob as ListedObject, { link: entry });
      } else {
        await reader.add(ob as ListedObject, { entry });
      }
      if (c === 0) ob = await nextObject();
      me = await nextEntry();
    }
    await reader.finish();
  } catch (e) {
    reader.close();
    throw e;
  } finally {
    await m.return(undefined);
    await d.return(undefined);
  }

  // The manifest itself: only when it matches what was signed is any of the above trusted.
  let manifestOk: boolean;
  let failure: VerifyReport['failure'];
  const merkleRoot = manifestError ? undefined : toHex(tree.root());
  if (!manifestError && order.count === 0) manifestError = new SnapError('MANIFEST_EMPTY', `${trust.manifestPath} has no entries`);
  ({ ok: manifestOk, failure } = await judgeManifest(trust.manifestPath, pred, manifestError, manifestError ? {} : { sha256: raw.sha256, merkleRoot, lines: order.count, totalBytes: manifestTotal }));
  // Moves and label flips, as a folder's verify names them (records/label-flips.ts); then the
  // records of each modified record file, fetched again (s3/record-findings.ts).
  if (manifestOk && problems.length > 0) nameMovesAndFlips(problems, labelFolderSets(pred.records));
  if (manifestOk && pred.records && counts.modified > 0) {
    const [{ attachS3RecordFindings }, { signedIndexDirs }] = await Promise.all([import('./record-findings.js'), import('../ops/verify.js')]);
    await attachS3RecordFindings(problems, pred.records, ds, signedIndexDirs(opts));
  }
  const sorted = manifestOk ? problems.sort((a, b) => compareUtf8(a.path, b.path)) : [];
  return {
    ok: manifestOk && sorted.length === 0,
    ...base,
    counts: manifestOk ? counts : emptyCounts(),
    problems: sorted,
    ...(failure ? { failure } : {}),
    manifest: { ok: manifestOk, ...(merkleRoot ? { merkleRoot } : {}), ...(raw.sha256 && !manifestError ? { manifestSha256: raw.sha256 } : {}) },
    files,
    bytes,
    seconds: seconds(),
  };
}

/**
 * The dataset's `snap.json` object (key `PREFIX + "snap.json"`) as it is now, for seal to keep in
 * the store (records/keep-config.ts), which checks it against the digest the scan signed. At most
 * {@link MAX_CONFIG_BYTES} + 1 bytes are read: more is not the object the scan hashed.
 * @returns undefined when there is no such object (deleted since the scan: seal says `FILE_CHANGED`)
 * @throws SnapError `IO_ERROR` and the other codes of `s3Error`
 */
export async function readS3Config(ds: S3Dataset): Promise<Uint8Array | undefined> {
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  const key = ds.location.prefix + CONFIG_FILE;
  const limit = MAX_CONFIG_BYTES + 1;
  try {
    const r = await ds.client.send(new GetObjectCommand({ Bucket: ds.location.bucket, Key: key }));
    return await bodyPrefix(r.Body, limit);
  } catch (e) {
    const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (err.name === 'NoSuchKey' || err.$metadata?.httpStatusCode === 404) return undefined;
    throw s3Error(e, `read ${formatS3Url(ds.location)}${CONFIG_FILE}`);
  }
}
