/**
 * Record indexes at seal time (docs/FORMAT.md §11): the dataset's rules (its `snap.json`, or
 * `--records` flags) applied to the manifest just written; every matching tabular file read and
 * indexed, every label-folder set indexed from the manifest; the index files then moved into the
 * store as objects, before the snapshot that names them is committed.
 */
import { promises as fsp, constants as FS } from 'node:fs';
import { join } from 'node:path';
import { isSnapError, SnapError } from '../core/errors.js';
import { isSymlinkEntry } from '../core/manifest.js';
import { compareUtf8 } from '../core/paths.js';
import { MAX_RECORD_SETS, recordSetName, type RecordSetMember } from '../core/records.js';
import { manifestEntryRuns } from '../io/manifest-file.js';
import { fsyncDir, objectPath, ownFanFolder, type Store } from '../io/store.js';
import { ioError } from '../io/errors.js';
import { configChangedError, keptConfigObject, readConfigBytes } from './keep-config.js';
import { CONFIG_FILE, parseConfig, RuleSet, tabularSpec, type RecordConfig, type RecordRule, type RecordSetSpec } from './config.js';
import { FileSetIndexer, filesMember, tabularMember } from './index-file.js';
import { indexWorkersFor, RecordIndexPool } from './index-pool.js';
import { fileForms } from './canonical.js';
import { labelFolderSetOf } from './label-flips.js';
import type { Progress } from '../ops/seal.js';

/**
 * The record configuration of a dataset folder: its `snap.json`, if there is one.
 * @returns undefined when the folder has no `snap.json`
 * @throws SnapError `RECORDS_CONFIG_INVALID` (malformed, too large, not a regular file) | `IO_ERROR`
 */
export async function readRecordConfig(dir: string): Promise<RecordConfig | undefined> {
  return (await readRecordConfigSource(dir))?.config;
}

/**
 * {@link readRecordConfig}, with `source`, the bytes the configuration was parsed from: a seal
 * keeps exactly these, once it has checked that they are the `snap.json` it hashed
 * ({@link indexForSeal}'s `configSource`).
 * @returns undefined when the folder has no `snap.json`
 * @throws SnapError as {@link readRecordConfig}
 */
export async function readRecordConfigSource(dir: string): Promise<{ config: RecordConfig; source: Uint8Array } | undefined> {
  const source = await readConfigBytes(dir);
  return source === undefined ? undefined : { config: parseConfig(source, CONFIG_FILE), source };
}

/** The progress phase of {@link indexForSeal}, after the files are hashed. */
export const INDEXING_PHASE = 'indexing records';

/** What indexing a dataset made: the statement members, and the files to store as objects (the indexes, and the dataset's `snap.json`). */
export interface SealRecords {
  members: RecordSetMember[];
  /** Index files (in the store's tmp folder) and their SHA-256. */
  objects: { path: string; sha256: string }[];
}

/**
 * A `--records` rule that indexed nothing: its pattern matched no file (first rule wins, so also a
 * file an earlier rule took), no matching file had a record format, or — for a `files` rule — no
 * matching path had a segment after the label segment. The seal would be signed without the index
 * the flag asked for, under a write-once NAME@VERSION.
 */
function ruleIndexedNothing(rule: RecordRule, matched: number, earlierRules: boolean): SnapError {
  const what = `--records rule ${JSON.stringify(rule.pattern)}`;
  const hint = 'nothing was sealed; the pattern is gitignore syntax, as --exclude takes, against paths relative to the dataset folder, and attributes follow it after spaces (PATTERN key=A label=L)';
  if (matched === 0) return new SnapError('RECORDS_CONFIG_INVALID', `${what} matched no file of the dataset${earlierRules ? ' (a file an earlier rule matched belongs to that rule)' : ''}; ${hint}`, { pattern: rule.pattern });
  if (rule.format === 'files') {
    return new SnapError('RECORDS_CONFIG_INVALID', `${what} matched ${matched} file(s), but none has a path segment after label segment ${rule.labelSegment} (segments count from 0: in ham/0001.txt the label ham is segment 0); nothing was sealed`, { pattern: rule.pattern, matched });
  }
  return new SnapError('RECORDS_CONFIG_INVALID', `${what} matched ${matched} file(s), but none ends in .csv, .tsv, .tab, .jsonl, .ndjson or .parquet; name the format (format=csv|tsv|jsonl|parquet); nothing was sealed`, { pattern: rule.pattern, matched });
}

/** Whether a path is a record of a label-folder set with this label segment (§19.1: a segment after it); a label or key over its limit is none. */
function isFileRecord(path: string, labelSegment: number): boolean {
  try {
    return fileForms(path, NO_DIGEST, labelSegment) !== undefined;
  } catch (e) {
    if (isSnapError(e)) return false;
    throw e;
  }
}

/** A digest to make a path's record forms with when only its key and label matter. */
const NO_DIGEST = '0'.repeat(64);

/**
 * Refuse rules by which the seal puts a file in another record set than the readers of its
 * statement will. The seal gives a file to the first rule in the rules' order that matches it
 * (docs/FORMAT.md §19.1); the statement lists the record sets sorted by pattern (§19.6), and
 * `diff`, `verify` and `check` put a file in its own tabular set, else in the first label-folder
 * set of that order whose pattern matches it ({@link labelFolderSetOf}). Two overlapping rules in
 * another order — `train/cat/*` before `train/*\/*` — made the unchanged folder differ from its own
 * snapshot (its cat files removed from one set, added to the other) and verify name a move between
 * the two a label flip. Reads the manifest once more (paths only), before any record file is read.
 * @param fileSets the seal's label-folder sets by pattern; those with no record are not in the statement
 * @param tabularPaths the paths of the seal's tabular sets
 * @param source where the rules came from, for the message
 * @throws SnapError `RECORDS_CONFIG_INVALID` naming the first such file in manifest order
 *   (`details.path`), the rule that took it (`details.rule`) and the set its readers choose
 *   (`details.set`) | `IO_ERROR`
 */
async function sameSetsAsReaders(manifestPath: string, rules: RuleSet, fileSets: ReadonlyMap<string, FileSetIndexer>, tabularPaths: ReadonlySet<string>, source: 'snap.json' | '--records'): Promise<void> {
  const signed = [...fileSets.values()].filter((ix) => ix.count > 0).map((ix) => ({ pattern: ix.pattern, labelSegment: ix.labelSegment }));
  signed.sort((p, q) => compareUtf8(p.pattern, q.pattern));
  const readersSetOf = labelFolderSetOf(signed);
  const inStatement = new Set(signed.map((s) => s.pattern));
  for await (const run of manifestEntryRuns(manifestPath, {})) {
    for (const e of run) {
      if (isSymlinkEntry(e)) continue;
      const rule = rules.match(e.path);
      if (!rule) continue; // every set's pattern is a rule's: no reader's set matches it either
      const sealed = tabularPaths.has(e.path) ? e.path : rule.format === 'files' && inStatement.has(rule.pattern) && isFileRecord(e.path, rule.labelSegment as number) ? rule.pattern : undefined;
      const theirs = tabularPaths.has(e.path) ? undefined : readersSetOf(e.path);
      const read = tabularPaths.has(e.path) ? e.path : theirs && isFileRecord(e.path, theirs.labelSegment) ? theirs.pattern : undefined;
      if (sealed === read || theirs === undefined) continue;
      throw orderDisagrees(e.path, rule, theirs.pattern, sealed !== undefined, read !== undefined, source);
    }
  }
}

/** The error of {@link sameSetsAsReaders}: what the seal and the readers do with `path`, and what to change. */
function orderDisagrees(path: string, rule: RecordRule, other: string, sealedRecord: boolean, readRecord: boolean, source: 'snap.json' | '--records'): SnapError {
  const q = JSON.stringify;
  const p = rule.pattern;
  const seal = sealedRecord ? `the seal makes it a record of ${q(p)}` : `the seal counts it in no record set (${q(p)} takes it and indexes nothing of it)`;
  const readers = `${q(other)}${readRecord ? '' : ', where it is not a record'}`;
  const where = source === 'snap.json' ? 'in snap.json' : '(its --records flag first)';
  // A pattern with a "/" inside is anchored at the root already: with a leading "/" it matches the
  // same paths, and may sort before the other.
  const anchored = `/${p}`;
  const tip = sealedRecord && !p.startsWith('/') && p.slice(0, -1).includes('/') && compareUtf8(anchored, other) < 0 ? `, or write ${q(p)} as ${q(anchored)}, which matches the same paths and is listed before ${q(other)}` : '';
  return new SnapError(
    'RECORDS_CONFIG_INVALID',
    `${source}: the record rules ${q(p)} and ${q(other)} both match ${q(path)}; the first rule that matches decides, so ${seal}, but the statement lists record sets sorted by pattern, and diff, verify and check put a file in the first set there that matches it: ${readers}, and would not find the records the seal signs. List ${q(other)} before ${q(p)} ${where}, or narrow the patterns so that no file matches both${tip}; nothing was sealed`,
    { path, rule: p, set: other },
  );
}

/**
 * Index the record sets of a dataset whose manifest was just written.
 * @param o.dir the dataset folder
 * @param o.manifestPath its new manifest
 * @param o.rules the rules (from `snap.json` or flags)
 * @param o.tmpDir a private folder in the store's tmp (index files are written here)
 * @param o.everyRule each rule must index at least one record set (rules from `--records` flags:
 *   one that indexes nothing is most likely mistyped)
 * @param o.configSource when the rules are the dataset's `snap.json`'s: the bytes they were parsed
 *   from ({@link readRecordConfig}). The manifest's `snap.json` must be exactly these bytes (they
 *   are what is kept as its object), else `FILE_CHANGED`: the file changed between the reading of
 *   its rules and its hashing, and the snapshot would sign one `snap.json` and index by another.
 *   Without it (`--records`), the `snap.json` the manifest names, if any, is read again and must
 *   match its digest.
 * @throws SnapError `RECORDS_*` from reading and indexing, with file and line | `RECORDS_LIMIT`
 *   (more than {@link MAX_RECORD_SETS} sets) | `RECORDS_CONFIG_INVALID` (with `everyRule`, a rule
 *   that indexed nothing) | `FILE_CHANGED` | `IO_ERROR` | `INTERRUPTED` / `TERMINATED` | `INTERNAL`
 *   (an indexing worker died)
 * @param o.jobs at most this many tabular files are read at once, one per worker thread (default:
 *   the cores; see `index-pool.ts` for the memory bound and the small-dataset case)
 * @param o.onProgress told, as phase {@link INDEXING_PHASE}, the tabular files and bytes indexed so
 *   far of how many (once before the first, then as each file is done)
 */
export async function indexForSeal(o: { dir: string; manifestPath: string; rules: readonly RecordRule[]; tmpDir: string; everyRule?: boolean; jobs?: number; onProgress?: (p: Progress) => void; configSource?: Uint8Array }): Promise<SealRecords> {
  const rules = new RuleSet(o.rules);
  const matched = new Map<RecordRule, number>();
  const indexing = new Set<RecordRule>();
  const tabular: { path: string; sha256: string; size: number; spec: RecordSetSpec }[] = [];
  const fileSets = new Map<string, FileSetIndexer>();
  const tooMany = () => new SnapError('RECORDS_LIMIT', `more than ${MAX_RECORD_SETS} record sets match the record rules; narrow the patterns`);
  let config: { sha256: string; size: number } | undefined;
  for await (const run of manifestEntryRuns(o.manifestPath, {})) {
    for (const e of run) {
      if (isSymlinkEntry(e)) continue; // a link is recorded, never followed, so never read
      if (e.path === CONFIG_FILE) config = { sha256: e.sha256, size: e.size };
      const rule = rules.match(e.path);
      if (!rule) continue;
      matched.set(rule, (matched.get(rule) ?? 0) + 1);
      if (rule.format === 'files') {
        let ix = fileSets.get(rule.pattern);
        if (!ix) {
          ix = new FileSetIndexer(rule.pattern, rule.labelSegment as number, { tmpDir: o.tmpDir, strictKeys: true, summary: true });
          fileSets.set(rule.pattern, ix);
        }
        await ix.add(e);
        if (ix.count > 0) indexing.add(rule);
        continue;
      }
      const spec = tabularSpec(rule, e.path);
      if (!spec) continue;
      indexing.add(rule);
      tabular.push({ path: e.path, sha256: e.sha256, size: e.size, spec });
      if (tabular.length + fileSets.size > MAX_RECORD_SETS) throw tooMany();
    }
  }
  if (o.everyRule) {
    // Before reading any record file: a rule that indexes nothing is known from the paths alone.
    o.rules.forEach((rule, i) => {
      if (!indexing.has(rule)) throw ruleIndexedNothing(rule, matched.get(rule) ?? 0, i > 0);
    });
  }
  // Before reading any record file too: every file in the set its readers will put it in.
  if (o.rules.length > 1 && [...fileSets.values()].some((ix) => ix.count > 0)) {
    await sameSetsAsReaders(o.manifestPath, rules, fileSets, new Set(tabular.map((t) => t.path)), o.everyRule ? '--records' : 'snap.json');
  }
  const members: RecordSetMember[] = [];
  const objects: SealRecords['objects'] = [];
  let n = 0;
  // Several files are read at once, one per worker; results are taken in manifest order, so the
  // first error met is the first file's in that order, as when they were read one by one.
  const pool = new RecordIndexPool(indexWorkersFor(tabular.map((t) => t.size), o.jobs));
  const progress = { phase: INDEXING_PHASE, files: 0, bytes: 0, totalFiles: tabular.length, totalBytes: tabular.reduce((sum, t) => sum + t.size, 0) };
  if (tabular.length > 0) o.onProgress?.({ ...progress });
  try {
    const pending = tabular.map((t) => {
      const outPath = join(o.tmpDir, `records-${n++}.jsonl`);
      const built = pool.index({ abs: join(o.dir, ...t.path.split('/')), rel: t.path, spec: t.spec, tmpDir: o.tmpDir, outPath, strictKeys: true, summary: true, expectSha256: t.sha256 });
      if (o.onProgress) {
        built.then(
          () => {
            progress.files++;
            progress.bytes += t.size;
            o.onProgress?.({ ...progress });
          },
          () => {},
        );
      }
      return { t, outPath, built };
    });
    for (const { t, outPath, built: pendingBuilt } of pending) {
      const built = await pendingBuilt;
      members.push(tabularMember(t.path, t.spec, built));
      objects.push({ path: outPath, sha256: built.sha256 });
      if (built.summary) objects.push(built.summary);
      if (built.schema) objects.push(built.schema);
    }
  } finally {
    await pool.close();
  }
  for (const [pattern, ix] of fileSets) {
    const outPath = join(o.tmpDir, `records-${n++}.jsonl`);
    const built = await ix.finish(outPath);
    if (!built) continue;
    members.push(filesMember(pattern, ix.labelSegment, built));
    objects.push({ path: outPath, sha256: built.sha256 });
    if (built.summary) objects.push(built.summary);
  }
  if (members.length > MAX_RECORD_SETS) throw tooMany();
  if (o.configSource !== undefined && config === undefined) throw configChangedError();
  // The dataset's snap.json is kept as an object too (also with --manifest-only): `check` reads its
  // thresholds from a snapshot whose data is gone.
  if (config) {
    const kept = await keptConfigObject(config, o.tmpDir, async () => o.configSource ?? (await readConfigBytes(o.dir)));
    if (kept) objects.push(kept);
  }
  members.sort((p, q) => compareUtf8(recordSetName(p), recordSetName(q)));
  for (let i = 1; i < members.length; i++) {
    if (recordSetName(members[i - 1] as RecordSetMember) === recordSetName(members[i] as RecordSetMember)) {
      throw new SnapError('RECORDS_CONFIG_INVALID', `two record sets are both named ${JSON.stringify(recordSetName(members[i] as RecordSetMember))} (a pattern equal to a file's path); change the pattern`);
    }
  }
  return { members, objects };
}

/**
 * Move index files into the store as objects (`objects/sha256/xx/…`, mode 0444), each flushed
 * before its rename (the builder fsynced it) and each folder after. An object already there is kept
 * when it holds the copy's bytes, judged by `check`: `'size'` (one lstat: a regular file of the
 * copy's size; seal, whose every unchanged run would otherwise read its indexes again) or
 * `'content'` (also byte for byte: import, which has read the member anyway). Anything else there
 * — a link, a folder, another size, other bytes — is replaced by the checked copy (a folder removed
 * first), and its digest returned.
 * @param objects each index file's path and the digest it was checked to have
 * @param markers the store is an S3 store's working copy (seal): an empty regular file there is the
 *   session's marker of an object the bucket holds (remote-session.ts, `markPresent`), kept as it is
 * @param onPlaced called with each digest moved into place where nothing was under its name (not
 *   one kept as it was, nor one that replaced something there): a seal writes them down to take
 *   them out again if it fails (io/placed-objects.ts)
 * @returns the digests of the objects replaced
 * @throws SnapError `IO_ERROR`
 */
export async function storeIndexObjects(store: Store, objects: SealRecords['objects'], check: 'size' | 'content' = 'size', markers = false, onPlaced?: (hex: string) => void): Promise<string[]> {
  const dirs = new Set<string>();
  const replaced: string[] = [];
  for (const o of objects) {
    const target = objectPath(store, o.sha256);
    const fan = join(store.objectsDir, o.sha256.slice(0, 2));
    try {
      const there = await fsp.lstat(target).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return undefined;
        throw e;
      });
      if (there) {
        const marker = markers && there.isFile() && there.size === 0;
        if (marker || (there.isFile() && there.size === (await fsp.stat(o.path)).size && (check === 'size' || (await sameBytes(target, o.path))))) {
          await fsp.rm(o.path, { force: true });
          continue;
        }
        replaced.push(o.sha256);
        if (there.isDirectory()) await fsp.rm(target, { recursive: true, force: true }); // a rename cannot replace a folder
      }
      await ownFanFolder(store, o.sha256, 'no record index is written through it');
      await fsp.chmod(o.path, 0o444);
      await fsp.rename(o.path, target);
      if (!there) onPlaced?.(o.sha256); // one moved over something else under its name is kept, even by a seal that fails
      dirs.add(fan);
    } catch (e) {
      throw ioError(e, target, 'cannot store a record index');
    }
  }
  for (const d of dirs) await fsyncDir(d);
  return replaced;
}

/** Chunk in which {@link sameBytes} compares two files (1 MiB). */
const COMPARE_CHUNK = 1 << 20;

/** Do two files of the same size hold the same bytes? (Read side by side; a link at `a` is not followed.) */
async function sameBytes(a: string, b: string): Promise<boolean> {
  const fa = await fsp.open(a, FS.O_RDONLY | (FS.O_NOFOLLOW ?? 0) | (FS.O_NONBLOCK ?? 0));
  try {
    const fb = await fsp.open(b, 'r');
    try {
      const ba = Buffer.allocUnsafe(COMPARE_CHUNK);
      const bb = Buffer.allocUnsafe(COMPARE_CHUNK);
      for (let pos = 0; ; pos += COMPARE_CHUNK) {
        const [ra, rb] = await Promise.all([fa.read(ba, 0, COMPARE_CHUNK, pos), fb.read(bb, 0, COMPARE_CHUNK, pos)]);
        if (ra.bytesRead !== rb.bytesRead || !ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
        if (ra.bytesRead === 0) return true;
      }
    } finally {
      await fb.close();
    }
  } finally {
    await fa.close();
  }
}
