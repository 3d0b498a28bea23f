/**
 * `diff`: what changed between two snapshots, or a snapshot and a folder, or two folders (SPEC §8):
 * added, removed, modified and renamed (same content, new path — how a flipped label shows in a
 * label-by-folder dataset).
 */
import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import { compareUtf8 } from '../core/paths.js';
import { SnapError, isSnapError } from '../core/errors.js';
import { isSymlinkEntry, sameEntry, type FileEntry, type ManifestEntry } from '../core/manifest.js';
import type { TrustedKey } from '../core/envelope.js';
import { judgeManifest, manifestEntryRuns, type ManifestDigest } from '../io/manifest-file.js';
import { MANIFEST_FILE, type SnapshotLocation } from '../io/store.js';
import { checkTrust, readSnapshotUnverified } from '../snapshot.js';
import type { TrustRules } from '../trust/rules.js';
import { scanDataset, type Progress } from './seal.js';
import { whyRefused, type RefusedEntry } from '../io/walk.js';
import type { RecordSetMember } from '../core/records.js';
import type { Statement } from '../core/statement.js';
import { diffRecordSides, type RecordSide, type RecordsReport } from '../records/diff-sets.js';
import { readRecordConfig } from '../records/seal-records.js';
import { CONFIG_FILE, type RecordConfig } from '../records/config.js';
import { writeAll } from '../io/write-all.js';
import { makeScratchDir, removeWhenDone } from '../io/scratch-dir.js';

/**
 * A dataset that is not a folder (a prefix in S3, src/s3/dataset.ts): `name` is how it is shown
 * (its URL); `scan` hands its manifest to the sink in order, leaving out what `excludes` match, and
 * reports each name a manifest cannot record to `onRefused` (as `extra`) instead of failing.
 */
export interface DatasetInput {
  kind: 'dataset';
  name: string;
  scan: (excludes: readonly string[], sink: (text: string) => Promise<void>, onRefused: (path: string, code: string, reason: string, pathHex?: string) => void) => Promise<unknown>;
}

/** One side of a diff: a snapshot, a folder, or a dataset elsewhere (S3). */
export type DiffInput = { kind: 'snapshot'; location: SnapshotLocation } | { kind: 'folder'; path: string } | DatasetInput;

/** How a side describes itself in the report. */
export type DiffSide =
  | {
      ref: string;
      snapshot: string;
      createdAt: string;
      signers: { keyid: string; trusted?: boolean }[];
      /** With trusted keys only: whether the snapshot passed the trust check, and why not. */
      trusted?: boolean;
      failure?: { code: string; message: string };
    }
  | { folder: string };

/** The diff report; its JSON form is SPEC §8's `diff --json`. */
export interface DiffReport {
  a: DiffSide;
  b: DiffSide;
  added: ManifestEntry[];
  removed: ManifestEntry[];
  modified: { path: string; a: ManifestEntry; b: ManifestEntry }[];
  renamed: { from: string; to: string; sha256: string; size: number }[];
  /**
   * Entries of a folder side that no manifest can record, each a difference: a name seal refuses
   * (SPEC §2: a control character, not UTF-8, too long), a link whose target is not UTF-8, or a
   * socket, FIFO or device. `path` as in verify's problems (decoded without loss, `pathHex` the
   * exact bytes when they are not UTF-8); `side` the side that holds it; `code` the error seal
   * would stop with; `target` (`targetHex`) a link's target; `other` the other side's entry at the
   * same path, if it has one. In path order.
   */
  extra: DiffExtra[];
  summary: { added: number; removed: number; modified: number; renamed: number; extra: number; unchanged: number; bytesAdded: number; bytesRemoved: number };
  /** Record diffs of the record sets (docs/FORMAT.md §19), when either side has any. */
  records?: RecordsReport;
}

/** One entry of {@link DiffReport.extra}. */
export interface DiffExtra {
  side: 'a' | 'b';
  path: string;
  pathHex?: string;
  code: string;
  reason: string;
  /**
   * A symbolic link's target, decoded without loss (see `decodeNameBytes`), whether the link was
   * refused for its name or for its target (`MANIFEST_BAD_TARGET`), as verify's `actual.target`.
   */
  target?: string;
  /** The hex of the target's exact bytes, when they are not UTF-8 (as `pathHex`). */
  targetHex?: string;
  /**
   * What a socket, FIFO or device is (e.g. `a FIFO (named pipe)`), whether it was refused for its
   * type (`FILE_UNSUPPORTED_TYPE`) or for its name (then `reason` speaks of the name only), as
   * verify's `actual.type`.
   */
  type?: string;
  /**
   * The entry the other side holds at this very path (a file or link where this side holds, say, a
   * FIFO): the one difference at that path, as verify's `type-changed` is, so the entry is not also
   * in `removed` or `added`.
   */
  other?: ManifestEntry;
}

/** Options of {@link diff}. */
export interface DiffOptions {
  jobs?: number;
  /** When given, each snapshot side's signers are checked against these keys. */
  trusted?: readonly TrustedKey[];
  /**
   * With `trusted`: the rules of trust/rules.ts each snapshot side must also meet (its revocations:
   * the store's and those this machine kept; the time expiry is judged at), as verify applies them.
   */
  rules?: TrustRules;
  /** Of a folder side: Stores lying inside the dataset folder (absolute): only their own layout is left out, everything else under them is data (io/store-layout.ts). */
  stores?: readonly string[];
  /** A store whose objects may hold the record indexes of either side (besides each snapshot's own store). */
  store?: string;
  /** Compare records too (default true). */
  records?: boolean;
  /**
   * Measure the order of every record set's records (FORMAT §19.8) even where that reads both whole
   * indexes: two snapshots whose set gained or lost records (`diff --order`, `check` with
   * `maxReordered`, `report`). By default such a set's `order` says it was not measured
   * (records/diff-sets.ts). As a function, it is asked once, before the record diff, with the
   * `recordConfigs` given or found (`recordConfigsOf`): `check`, whose `maxReordered` may come
   * from a snapshot side's signed `snap.json`.
   */
  order?: boolean | ((recordConfigs: NonNullable<DiffOptions['recordConfigs']>) => boolean);
  /**
   * The signed `snap.json` of a snapshot side, when the caller read it (`check`: snapshot-config.ts):
   * its record rules define sets beside the snapshot's indexes (records/diff-sets.ts), so a record
   * file those rules match is compared even where one side did not index it.
   */
  recordConfigs?: { a?: RecordConfig; b?: RecordConfig };
  /**
   * Snapshot sides whose signed record indexes are believed only when the side passed the trust
   * check with `trusted` keys (`check`: B, the version under review): otherwise its record sets are
   * indexed from its bytes (records/diff-sets.ts, `reindex`), since an index signed by any other key
   * is only its signer's claim about those bytes.
   */
  indexesNeedTrust?: readonly ('a' | 'b')[];
  onProgress?: (p: Progress) => void;
  /**
   * Instead of `recordConfigs`: called once both sides' manifests were read and judged against their
   * statements, with the `snap.json` file entry each snapshot side's manifest holds (FORMAT §19.5)
   * and the predicate it was judged against, it gives `recordConfigs` (`diff`, `report`, `check`: cli/side-config.ts).
   * A caller that would otherwise read and judge each manifest once more only to find that entry
   * (half the CPU of a diff of 1,000,000 files) learns it from the diff's own read.
   */
  recordConfigsOf?: (found: { a?: { sha256: string; size: number }; b?: { sha256: string; size: number } }, predicates: { a?: Statement['predicate']; b?: Statement['predicate'] }) => Promise<NonNullable<DiffOptions['recordConfigs']>>;
  /**
   * Called with the manifest file of each side (a snapshot's own, or the temporary one made by
   * scanning a folder) once both were read and each snapshot's was found to match its statement,
   * before any temporary file is removed: a caller that needs every entry (not only the
   * differences), such as the report's label counts, reads them here. `signed` gives, for each
   * snapshot side, the hex SHA-256 its statement signed for that manifest: a second read must check
   * it (`rereadEntryRuns`), since the store may change between the reads. `excludes` are the
   * snapshot sides' `--exclude` patterns (their statements' `excludes`), which a folder side's scan
   * left out: paths there were not compared.
   */
  onManifests?: (a: string, b: string, signed: { a?: string; b?: string }, excludes: readonly string[]) => Promise<void>;
  /**
   * Called with each run of entries of each side's manifest as the diff's own read gives them (in
   * manifest order, every entry once): a caller that needs every entry (the report's label counts)
   * learns them without a second read. What it learns may be used only once the diff returned: a
   * snapshot side's manifest is judged against its statement only at the end of the read, and the
   * diff throws (`INTEGRITY_FAILURE`) when it does not match.
   */
  onEntries?: (run: readonly ManifestEntry[], side: 'a' | 'b') => void;
}

async function describe(input: DiffInput, trusted?: readonly TrustedKey[], rules?: TrustRules): Promise<{ side: DiffSide; excludes: string[]; records?: RecordSetMember[]; predicate?: Statement['predicate'] }> {
  if (input.kind === 'folder') return { side: { folder: input.path }, excludes: [] };
  if (input.kind === 'dataset') return { side: { folder: input.name }, excludes: [] };
  const info = await readSnapshotUnverified(input.location);
  const st = info.statement;
  // With keys, checkTrust below finds this and the side is untrusted; without, nothing else would.
  if (!info.payloadMatches && !(trusted && trusted.length > 0)) {
    throw new SnapError('INTEGRITY_FAILURE', `${input.location.ref}: statement.json differs from the payload of its envelope (it was altered, or the envelope is unreadable); no difference is reported`, { ref: input.location.ref });
  }
  let signers: { keyid: string; trusted?: boolean }[] = info.keyids.map((keyid) => ({ keyid }));
  let trust: { trusted: boolean; failure?: { code: string; message: string } } | undefined;
  if (trusted && trusted.length > 0) {
    const t = await checkTrust(input.location, trusted, 1, rules);
    signers = t.signers.map((s) => ({ keyid: s.keyid, trusted: s.trusted }));
    trust = { trusted: t.ok, ...(t.failure ? { failure: { code: t.failure.code, message: t.failure.message } } : {}) };
  }
  return {
    side: { ref: input.location.ref, snapshot: info.snapshot, createdAt: st?.predicate.createdAt ?? '', signers, ...trust },
    excludes: st?.predicate.excludes ?? [],
    records: st?.predicate.records ?? [],
    ...(st ? { predicate: st.predicate } : {}),
  };
}

/** What reading a snapshot side's manifest found: its digest, or the error that ended it. */
interface ManifestRead {
  digest: Partial<ManifestDigest>;
  error?: SnapError;
}

/**
 * A side's manifest entries, run by run. For a snapshot side (`judged`), a line that cannot be read
 * ends them, the error kept in `read.error`: whether it is tampering is decided against the
 * statement afterwards ({@link judgeSide}).
 * @throws SnapError `NOT_FOUND` | `IO_ERROR` | any error of a folder side's manifest
 */
async function* sideEntries(path: string, read: ManifestRead, judged: boolean): AsyncGenerator<ManifestEntry[]> {
  try {
    yield* manifestEntryRuns(path, read.digest);
  } catch (e) {
    if (!judged || !isSnapError(e) || !(e.code.startsWith('MANIFEST_') || e.code.startsWith('PATH_'))) throw e;
    read.error = e;
  }
}

/**
 * A snapshot side's manifest must be the one its statement describes (SHA-256, Merkle root, line
 * count and byte total), or nothing the diff found in it is reported: someone who can write to the
 * store cannot make diff name other differences than the signed manifests hold.
 * @throws SnapError `INTEGRITY_FAILURE` (exit 1) when it is not | the read error when the manifest
 *   is the signed one yet malformed | `IO_ERROR`
 */
async function judgeSide(name: 'A' | 'B', input: DiffInput, path: string, predicate: Statement['predicate'] | undefined, read: ManifestRead): Promise<void> {
  if (!predicate || input.kind !== 'snapshot') return;
  const { ok, failure } = await judgeManifest(path, predicate, read.error, read.error ? {} : read.digest);
  if (ok) return;
  const ref = input.location.ref;
  throw new SnapError('INTEGRITY_FAILURE', `${name} (${ref}): ${failure?.message ?? 'the manifest does not match the statement'}; no difference is reported`, { side: name.toLowerCase(), ref, path });
}

/** The `objects/sha256` folder of the store a snapshot location lies in (STORE/snapshots/NAME/VERSION), if any. */
export function objectsDirOf(loc: SnapshotLocation): string | undefined {
  if (loc.objectsDir !== undefined) return loc.objectsDir;
  return loc.name !== undefined ? join(loc.dir, '..', '..', '..', 'objects', 'sha256') : undefined;
}

/** One side of a diff as the record diff sees it. */
async function recordSide(input: DiffInput, manifestPath: string, described: { side: DiffSide; records?: RecordSetMember[]; predicate?: Statement['predicate'] }, opts: DiffOptions, config?: RecordConfig, which?: 'a' | 'b'): Promise<RecordSide> {
  if (input.kind === 'folder') {
    const config = await readRecordConfig(resolve(input.path));
    return { kind: 'folder', dir: resolve(input.path), manifestPath, ...(config ? { config } : {}) };
  }
  if (input.kind === 'dataset') return { kind: 'snapshot', members: [], manifestPath, objectDirs: [] }; // no record indexes (diff leaves records out)
  const dirs = [objectsDirOf(input.location), opts.store ? join(resolve(opts.store), 'objects', 'sha256') : undefined].filter((d): d is string => d !== undefined);
  const reindex = which !== undefined && opts.indexesNeedTrust?.includes(which) && !('snapshot' in described.side && described.side.trusted === true);
  return { kind: 'snapshot', members: described.records ?? [], manifestPath, objectDirs: dirs, ...(described.predicate ? { manifestSha256: described.predicate.manifestSha256 } : {}), ...(config ? { config } : {}), ...(reindex ? { reindex: true as const } : {}) };
}

/**
 * The manifest file of a side: the snapshot's own, or a temporary one made by scanning the folder;
 * what the folder holds that a manifest cannot record goes to `extra` instead.
 */
async function manifestOf(input: DiffInput, excludes: string[], opts: DiffOptions, cleanup: (() => Promise<void>)[], side: 'a' | 'b', extra: DiffExtra[]): Promise<string> {
  if (input.kind === 'snapshot') return join(input.location.dir, MANIFEST_FILE);
  const dir = await makeScratchDir('snap-diff-');
  cleanup.push(removeWhenDone(dir));
  const path = join(dir, MANIFEST_FILE);
  const out = await fsp.open(path, 'w');
  try {
    let pending = ''; // the manifest text so far, written every MiB (a batch's lines may come as UTF-8 bytes)
    if (input.kind === 'dataset') {
      const onRefused = (p: string, code: string, reason: string, pathHex?: string): void => void extra.push({ side, path: p, ...(pathHex ? { pathHex } : {}), code, reason });
      await input.scan(excludes, async (text) => {
        pending += text;
        if (pending.length >= 1 << 20) {
          await writeAll(out, Buffer.from(pending));
          pending = '';
        }
      }, onRefused);
      await writeAll(out, Buffer.from(pending));
      return path;
    }
    const onBadName = (e: SnapError, entry?: RefusedEntry) => {
      const pathHex = e.details?.pathHex;
      const link = entry?.type === 'symlink' ? { target: entry.target, ...(entry.targetHex !== undefined ? { targetHex: entry.targetHex } : {}) } : entry?.type === 'special' ? { type: entry.what } : {};
      extra.push({ side, path: String(e.details?.path), ...(typeof pathHex === 'string' ? { pathHex } : {}), code: e.code, reason: whyRefused(e.code), ...link });
    };
    const onSpecial = (path: string, what: string) => extra.push({ side, path, code: 'FILE_UNSUPPORTED_TYPE', reason: `it is ${what}`, type: what });
    const scan = { dir: resolve(input.path), excludes, jobs: opts.jobs, stores: opts.stores, onProgress: opts.onProgress, onBadName, onSpecial };
    await scanDataset(scan, async (text) => {
      pending += typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('utf8');
      if (pending.length >= 1 << 20) {
        await writeAll(out, Buffer.from(pending));
        pending = '';
      }
    });
    await writeAll(out, Buffer.from(pending));
  } finally {
    await out.close();
  }
  return path;
}

/**
 * Pair each entry of `entries` (removed: only side A holds it; added: only side B) with an extra of
 * side `extraSide` at the same path (not a name kept as bytes, `pathHex`, which no entry can have):
 * the extra gets the entry as `other`, and the entry leaves `entries` (edited in place).
 */
function pairWithExtras(extra: DiffExtra[], entries: ManifestEntry[], extraSide: 'a' | 'b'): void {
  const byPath = new Map<string, DiffExtra>();
  for (const x of extra) if (x.side === extraSide && x.pathHex === undefined) byPath.set(x.path, x);
  if (byPath.size === 0) return;
  let kept = 0;
  for (const e of entries) {
    const x = byPath.get(e.path);
    if (x) x.other = e;
    else entries[kept++] = e;
  }
  entries.length = kept;
}

/**
 * Renames: each added file paired with a removed file of the same content (SHA-256), in the order
 * given (both in path order, as {@link diff} passes them); links and files left over are not renamed.
 * @returns the pairs, in the order of `added`
 */
export function pairRenames(removed: readonly ManifestEntry[], added: readonly ManifestEntry[]): DiffReport['renamed'] {
  // The removed files of each digest, in order, and how many are paired already: taken by position,
  // not shift() — which copies the rest of a long list each time, so that 400,000 renamed files of
  // one content took 35 CPU-seconds to pair (a crafted archive's manifest can list millions).
  const removedByDigest = new Map<string, { list: FileEntry[]; next: number }>();
  for (const e of removed) {
    if (isSymlinkEntry(e)) continue;
    const q = removedByDigest.get(e.sha256);
    if (q) q.list.push(e);
    else removedByDigest.set(e.sha256, { list: [e], next: 0 });
  }
  const renamed: DiffReport['renamed'] = [];
  for (const e of added) {
    if (isSymlinkEntry(e)) continue;
    const q = removedByDigest.get(e.sha256);
    const from = q && q.next < q.list.length ? q.list[q.next++] : undefined;
    if (from) renamed.push({ from: from.path, to: e.path, sha256: e.sha256, size: e.size });
  }
  return renamed;
}

/**
 * Compare two sides. Manifests are merge-joined by path in one streaming pass; only the
 * differences are held in memory.
 * @throws SnapError `INTEGRITY_FAILURE` when a snapshot side's manifest does not match its statement,
 *   or (without `trusted` keys, which would mark the side untrusted instead) its statement is not
 *   its envelope's payload: altered in the store | from reading either side (`NOT_FOUND`, `IO_ERROR`, `MANIFEST_*` of a
 *   signed yet malformed manifest, scan errors)
 */
export async function diff(a: DiffInput, b: DiffInput, opts: DiffOptions = {}): Promise<DiffReport> {
  const cleanup: (() => Promise<void>)[] = []; // removes a scratch folder (also on a forced exit)
  try {
    const da = await describe(a, opts.trusted, opts.rules);
    const db = await describe(b, opts.trusted, opts.rules);
    const excludes = [...new Set([...da.excludes, ...db.excludes])];
    const extra: DiffExtra[] = [];
    const pa = await manifestOf(a, excludes, opts, cleanup, 'a', extra);
    const pb = await manifestOf(b, excludes, opts, cleanup, 'b', extra);
    const readA: ManifestRead = { digest: {} };
    const readB: ManifestRead = { digest: {} };
    const ia = sideEntries(pa, readA, da.predicate !== undefined);
    const ib = sideEntries(pb, readB, db.predicate !== undefined);
    let ra: ManifestEntry[] = [];
    let rb: ManifestEntry[] = [];
    let i = 0;
    let j = 0;
    let doneA = false;
    let doneB = false;
    const added: ManifestEntry[] = [];
    const removed: ManifestEntry[] = [];
    const modified: DiffReport['modified'] = [];
    let unchanged = 0;
    // Each side's snap.json file entry, as records/snapshot-config.ts finds it (used once judged).
    const configEntry: { a?: { sha256: string; size: number }; b?: { sha256: string; size: number } } = {};
    const noteConfig = (e: ManifestEntry, side: 'a' | 'b'): void => {
      if (e.path === CONFIG_FILE && !isSymlinkEntry(e) && configEntry[side] === undefined) configEntry[side] = { sha256: e.sha256, size: e.size };
    };
    for (;;) {
      if (i >= ra.length && !doneA) {
        const r = await ia.next();
        if (r.done) doneA = true;
        else {
          ra = r.value;
          opts.onEntries?.(ra, 'a');
          i = 0;
          continue;
        }
      }
      if (j >= rb.length && !doneB) {
        const r = await ib.next();
        if (r.done) doneB = true;
        else {
          rb = r.value;
          opts.onEntries?.(rb, 'b');
          j = 0;
          continue;
        }
      }
      const ea = i < ra.length ? ra[i] : undefined;
      const eb = j < rb.length ? rb[j] : undefined;
      if (!ea && !eb) break;
      const c = !ea ? 1 : !eb ? -1 : compareUtf8(ea.path, eb.path);
      if (c < 0) {
        noteConfig(ea as ManifestEntry, 'a');
        removed.push(ea as ManifestEntry);
        i++;
      } else if (c > 0) {
        noteConfig(eb as ManifestEntry, 'b');
        added.push(eb as ManifestEntry);
        j++;
      } else {
        noteConfig(ea as ManifestEntry, 'a');
        noteConfig(eb as ManifestEntry, 'b');
        if (sameEntry(ea as ManifestEntry, eb as ManifestEntry)) unchanged++;
        else modified.push({ path: (ea as ManifestEntry).path, a: ea as ManifestEntry, b: eb as ManifestEntry });
        i++;
        j++;
      }
    }
    await judgeSide('A', a, pa, da.predicate, readA);
    await judgeSide('B', b, pb, db.predicate, readB);
    const wantRecords = opts.records !== false && a.kind !== 'dataset' && b.kind !== 'dataset';
    // Asked even when a side is a dataset in S3 (records then not compared), as the read before was.
    const recordConfigs = opts.records !== false && opts.recordConfigsOf ? await opts.recordConfigsOf(configEntry, { ...(da.predicate ? { a: da.predicate } : {}), ...(db.predicate ? { b: db.predicate } : {}) }) : opts.recordConfigs;
    if (opts.onManifests) {
      const signed = (input: DiffInput, p: Statement['predicate'] | undefined) => (input.kind === 'snapshot' && p ? p.manifestSha256 : undefined);
      const sa = signed(a, da.predicate);
      const sb = signed(b, db.predicate);
      await opts.onManifests(pa, pb, { ...(sa ? { a: sa } : {}), ...(sb ? { b: sb } : {}) }, excludes);
    }
    // A path one side holds as what no manifest can record (a FIFO, a socket, a device) and the
    // other as a signed file or link is one difference there, as verify's type-changed is: the
    // extra names the entry (`other`), which is then neither removed nor added (nor renamed).
    pairWithExtras(extra, removed, 'b');
    pairWithExtras(extra, added, 'a');
    const renamed = pairRenames(removed, added);
    const renamedFrom = new Set(renamed.map((r) => r.from));
    const renamedTo = new Set(renamed.map((r) => r.to));
    // A dataset in S3 has no record indexes here: its records are not compared.
    const records = !wantRecords ? undefined : await diffRecordSides(await recordSide(a, pa, da, opts, recordConfigs?.a, 'a'), await recordSide(b, pb, db, opts, recordConfigs?.b, 'b'), { jobs: opts.jobs, order: typeof opts.order === 'function' ? opts.order(recordConfigs ?? {}) : opts.order === true });
    const addedOnly = added.filter((e) => !renamedTo.has(e.path));
    const removedOnly = removed.filter((e) => !renamedFrom.has(e.path));
    extra.sort((x, y) => compareUtf8(x.path, y.path) || (x.side < y.side ? -1 : x.side > y.side ? 1 : 0));
    const bytesOf = (l: ManifestEntry[]) => l.reduce((s, e) => s + (isSymlinkEntry(e) ? 0 : e.size), 0);
    const modBytes = (side: 'a' | 'b') => modified.reduce((s, m) => s + (isSymlinkEntry(m[side]) ? 0 : (m[side] as FileEntry).size), 0);
    // A signed file stood in for by an extra: its bytes are gone from (or new to) the other side, as a removed (added) file's are.
    const standInBytes = (side: 'a' | 'b') => bytesOf(extra.filter((x) => x.side === side && x.other !== undefined).map((x) => x.other as ManifestEntry));
    return {
      a: da.side,
      b: db.side,
      added: addedOnly,
      removed: removedOnly,
      modified,
      renamed,
      extra,
      summary: {
        added: addedOnly.length,
        removed: removedOnly.length,
        modified: modified.length,
        renamed: renamed.length,
        extra: extra.length,
        unchanged,
        bytesAdded: bytesOf(addedOnly) + modBytes('b') + standInBytes('a'),
        bytesRemoved: bytesOf(removedOnly) + modBytes('a') + standInBytes('b'),
      },
      ...(records ? { records } : {}),
    };
  } finally {
    for (const remove of cleanup) await remove();
  }
}

/** The snapshot sides that failed the trust check (only when trusted keys were given). */
export function untrustedSides(r: DiffReport): ('a' | 'b')[] {
  return (['a', 'b'] as const).filter((k) => {
    const s = r[k];
    return 'snapshot' in s && s.trusted === false;
  });
}

/** True when a diff found no difference. */
export function isIdentical(r: DiffReport): boolean {
  const s = r.summary;
  return s.added + s.removed + s.modified + s.renamed + s.extra === 0;
}
