/**
 * `prove --record`: make a record proof (docs/FORMAT.md §11.5) that one record — its key, label,
 * fingerprint and feature hash, as one line of a signed record index (§19.5) — is in a signed
 * snapshot. The record index's Merkle root is signed in the statement (`predicate.records[].index`),
 * so the proof is that line and its RFC 9162 audit path up to that root: O(log n) hashes, neither
 * the rest of the index nor the manifest. The index object is streamed once, in O(log n) memory;
 * no proof is made from an index that does not match its signed digest, count and root.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SnapError, isSnapError } from '../core/errors.js';
import type { TrustedKey } from '../core/envelope.js';
import { snapshotId, statementRef, type Statement } from '../core/statement.js';
import { recordSetName, type RecordSetMember } from '../core/records.js';
import { InclusionProofBuilder, verifyInclusion } from '../core/merkle.js';
import { fromBase64, fromHex } from '../core/encoding.js';
import { canonicalJson } from '../core/canonical-json.js';
import { parseJsonStrict } from '../core/json-strict.js';
import { parseProof, serializeRecordProof, verifyProof } from '../core/proof.js';
import { parseIndexLine, type IndexEntry } from '../records/index-line.js';
import { fileForms } from '../records/canonical.js';
import { manifestLineRuns } from '../io/manifest-file.js';
import { leafHashOfLine, nodeHashNative } from '../io/native-hash.js';
import type { SnapshotLocation } from '../io/store.js';
import { readSigned, trustedSignatures } from './prove.js';

/** Files named in the message refusing a KEY that several label folders share. */
const MAX_NAMED_FILES = 10;

/** Options of {@link proveRecord}. */
export interface ProveRecordOptions {
  /** The snapshot (a store folder, a snapshot folder, or an archive's spooled `snap/` members). */
  snapshot: SnapshotLocation;
  /** The record set, as the statement names it: a tabular file's dataset path, or a `files` set's pattern. */
  set: string;
  /** The record's key, as the user gave it (see {@link recordMatcher}). */
  key: string;
  /** `objects/sha256` folders that may hold the signed index object (the snapshot's store, `--store`, an archive's spool). */
  objectDirs: readonly string[];
  /** As for `prove`: check these keys signed, and carry only their signatures. */
  trusted?: readonly TrustedKey[];
  threshold?: number;
}

/** A record proof made by {@link proveRecord}. */
export interface ProveRecordResult {
  /** The proof's bytes, exactly as they are to be kept (docs/FORMAT.md §11.5). */
  proof: Uint8Array;
  snapshot: string;
  ref: string;
  statement: Statement;
  /** The signed record set. */
  set: RecordSetMember;
  /** The proven index line (without `\n`) and its parsed form. */
  line: string;
  record: IndexEntry;
  leafIndex: number;
  treeSize: number;
  auditPathLength: number;
  keyids: string[];
  /** How many index lines matched the key (identity `features` allows several equal records; the first is proven). */
  matches: number;
}

/**
 * Which index lines a user's KEY names, by the set's identity (docs/FORMAT.md §19.4, §11.5):
 * - `key` / `path`: a JSON array (`["17"]`, `[17,"a"]`) is compared by its RFC 8785 text; any other
 *   text is the one-field key as a string (`17` → `["17"]`), or — when it is a JSON number or
 *   boolean — also that value (`17` → `[17]`, for JSONL and Parquet keys);
 * - `path` (a `files` set) also: the file's dataset path, label folder included
 *   (`images/cat/image_0001.jpg`: key `["images/image_0001.jpg"]`, label `cat`) — the one name of a
 *   record whose key several label folders share (§19.4);
 * - `features`: the 64-hex feature hash;
 * - `position`: the record number (1-based).
 * @param labelSegment for identity `path`: the set's label segment (0-based)
 * @throws SnapError `USAGE` when KEY cannot name a record of this identity
 */
export function recordMatcher(identity: RecordSetMember['identity'], key: string, labelSegment?: number): (e: IndexEntry) => boolean {
  if (identity === 'features') {
    if (!/^[0-9a-f]{64}$/.test(key)) throw new SnapError('USAGE', `--record: records of this set are identified by their feature hash (64 lowercase hex digits), not ${JSON.stringify(key)}`);
    return (e) => e.features === key;
  }
  if (identity === 'position') {
    if (!/^[1-9][0-9]{0,15}$/.test(key)) throw new SnapError('USAGE', `--record: records of this set are identified by their record number (1, 2, …), not ${JSON.stringify(key)}`);
    const row = Number(key);
    return (e) => e.row === row;
  }
  const texts = new Set<string>();
  if (key.startsWith('[')) {
    let v: unknown;
    try {
      v = parseJsonStrict(key, 'USAGE', '--record');
    } catch {
      throw new SnapError('USAGE', `--record: ${JSON.stringify(key)} starts with "[" but is not a JSON array`);
    }
    if (!Array.isArray(v) || v.length === 0) throw new SnapError('USAGE', `--record: ${JSON.stringify(key)} is not a non-empty JSON array of key values`);
    texts.add(canonicalJson(v));
  } else {
    texts.add(canonicalJson([key]));
    if (/^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/.test(key) || key === 'true' || key === 'false') texts.add(canonicalJson([JSON.parse(key)]));
  }
  // A files set's record by its dataset path: its key and label (a path that is no record names none).
  let file: ReturnType<typeof fileForms>;
  if (identity === 'path' && labelSegment !== undefined && !key.startsWith('[')) {
    try {
      file = fileForms(key, ZERO_SHA256, labelSegment);
    } catch (e) {
      if (!isSnapError(e)) throw e;
    }
  }
  return (e) => e.key !== undefined && (texts.has(e.key) || (file !== undefined && e.key === file.key && e.label === file.label));
}

/** A digest to take a path's key and label with (`fileForms` needs one; the fingerprint made of it is not used). */
const ZERO_SHA256 = '0'.repeat(64);

/** The dataset path of a `files` set's record: its key's path with its label inserted as segment `labelSegment`. */
function fileRecordPath(e: IndexEntry, labelSegment: number): string {
  const segs = (JSON.parse(e.key as string) as string[])[0]?.split('/') ?? [];
  segs.splice(labelSegment, 0, e.label as string);
  return segs.join('/');
}

/**
 * Make the record proof of the record KEY in the record set `set` of a snapshot.
 * @throws SnapError `PROOF_RECORD_NOT_FOUND` (no such set in the statement, or no record with that
 *   key: exit 3) | `USAGE` (a KEY that cannot name a record of the set's identity, or that names
 *   records of two keys: `1` names `["1"]` and `[1]`; or, in a `files` set, a key several label folders share) | `OBJECT_MISSING`
 *   (the index object is in none of `objectDirs`) | `OBJECT_CORRUPT` (the index does not match its
 *   signed digest, count or root) | `RECORDS_INDEX_MALFORMED` | `SNAPSHOT_NAME_MISMATCH` |
 *   `SIGNATURE_INVALID` | `ENVELOPE_*`, `BASE64_INVALID`, `STATEMENT_*` | `NOT_FOUND` | `IO_ERROR`
 */
export async function proveRecord(opts: ProveRecordOptions): Promise<ProveRecordResult> {
  const loc = opts.snapshot;
  const read = await readSigned(loc);
  if (read.env.signatures.length === 0) throw new SnapError('SIGNATURE_INVALID', `${loc.ref} is unsigned (its envelope has no signatures): no proof of it could check out`, { ref: loc.ref });
  const env = opts.trusted ? trustedSignatures(read.env, opts.trusted, opts.threshold ?? 1) : read.env;
  const statement = read.statement;
  const ref = statementRef(statement);
  const sets = statement.predicate.records ?? [];
  const set = sets.find((m) => recordSetName(m) === opts.set);
  if (!set) {
    throw new SnapError('PROOF_RECORD_NOT_FOUND', `${ref} has no record set ${JSON.stringify(opts.set)}${sets.length > 0 ? ` (its record sets: ${sets.map(recordSetName).slice(0, 10).join(', ')})` : ` (it was sealed without record indexes: a record proof needs the file declared as a record set when it is sealed, with --records '${opts.set} key=COLUMN label=COLUMN' or a rule in the dataset's snap.json; docs/FORMAT.md §19)`}`, { set: opts.set, ref });
  }
  const match = recordMatcher(set.identity, opts.key, set.labelSegment);
  // Identity path: the files a KEY names under several label folders (a few, for the message).
  const named: IndexEntry[] = [];
  const labelled = set.format === 'files' || set.label !== undefined;
  const path = opts.objectDirs.map((d) => join(d, set.index.sha256.slice(0, 2), set.index.sha256.slice(2))).find((p) => existsSync(p));
  if (!path) throw new SnapError('OBJECT_MISSING', `the record index of ${opts.set} (sha256 ${set.index.sha256}) is not in the store: give --store, or prove from an archive that carries it`, { set: opts.set, sha256: set.index.sha256 });

  const altered = (what: string) => new SnapError('OBJECT_CORRUPT', `the record index of ${opts.set} (${path}) does not match the signed statement (${what}): it was altered; no proof was made`, { path, set: opts.set });
  const digest = { bytes: 0 } as { sha256?: string; bytes: number };
  const builder = new InclusionProofBuilder({ nodeHash: nodeHashNative });
  let found: { line: string; entry: IndexEntry } | undefined;
  let matches = 0;
  // Identities key and path: the first matched key that is not the proven one (KEY 1 matches ["1"] and [1]).
  let otherKey: string | undefined;
  let lines = 0;
  // The first record's key, shown when KEY matches none: the form a key of this set takes.
  let firstKey: string | undefined;
  let invalid: SnapError | undefined;
  try {
    for await (const run of manifestLineRuns(path, digest)) {
      if (invalid) continue; // read on for the digest only
      for (const line of run) {
        let e: IndexEntry;
        try {
          e = parseIndexLine(line, set.identity, labelled, false);
        } catch (err) {
          if (!isSnapError(err)) throw err;
          invalid = new SnapError(err.code, `record index of ${opts.set}: line ${lines + 1}: ${err.message}`, { path, line: lines + 1 });
          break;
        }
        lines++;
        if (lines === 1) firstKey = e.key;
        const hit = match(e);
        if (hit) matches++;
        if (hit && set.identity === 'path' && named.length < MAX_NAMED_FILES) named.push(e);
        if (hit && found && otherKey === undefined && e.key !== found.entry.key) otherKey = e.key;
        const isTarget = hit && !found;
        builder.appendLeafHash(leafHashOfLine(line), isTarget);
        if (isTarget) found = { line, entry: e };
      }
    }
  } catch (e) {
    if (isSnapError(e, 'MANIFEST_NO_TRAILING_NEWLINE')) throw altered('its last line does not end with a newline');
    // A valid index line is at most MAX_INDEX_LINE_BYTES (16 KiB): one over the reader's 1 MiB bound is no signed index's.
    if (isSnapError(e, 'MANIFEST_LINE_MALFORMED')) throw altered(`line ${String(e.details?.line)} is longer than 1 MiB`);
    throw e;
  }
  if (digest.sha256 !== set.index.sha256) throw altered('sha256 differs');
  if (invalid) throw invalid;
  if (lines !== set.count) throw altered(`${lines} lines, count ${set.count}`);
  if (!found) {
    throw new SnapError('PROOF_RECORD_NOT_FOUND', `${ref}: the record set ${opts.set} has no record ${opts.key} (identity ${set.identity}${set.key ? `, key ${set.key.join(', ')}` : ''}; give a key of several fields, or a JSON number, as a JSON array: '["a",17]'${firstKey !== undefined ? `; its first record's key is ${firstKey}` : ''})`, { set: opts.set, key: opts.key, ref });
  }
  if (set.identity === 'path' && matches > 1) {
    const paths = named.map((e) => fileRecordPath(e, set.labelSegment as number));
    throw new SnapError('USAGE', `--record ${opts.key} names ${matches} files of ${opts.set}, one under each label folder that has a file of that name (${paths.join(', ')}${matches > paths.length ? ', …' : ''}): give the file's path, label folder included, e.g. '${paths[0] as string}'`, { set: opts.set, key: opts.key, paths });
  }
  if (otherKey !== undefined) {
    throw new SnapError('USAGE', `--record ${opts.key} names records of two keys of ${opts.set}, ${found.entry.key as string} and ${otherKey} (a key value that reads as a JSON number or boolean names both the string and the value): give the one meant as a JSON array, '${found.entry.key as string}' or '${otherKey}'`, { set: opts.set, key: opts.key, keys: [found.entry.key, otherKey] });
  }
  const built = builder.finish();
  if (!verifyInclusion(built.leafHash, built.leafIndex, built.treeSize, built.auditPath, fromHex(set.index.merkleRoot))) throw altered('Merkle root differs');

  const proof = serializeRecordProof(env, { set: opts.set, entry: found.line, leafIndex: built.leafIndex, treeSize: built.treeSize, auditPath: built.auditPath });
  // Self-check: the bytes read back as the proof they are, and (with keys) check out.
  const parsed = parseProof(proof);
  if (opts.trusted) {
    const v = verifyProof(parsed, opts.trusted, { threshold: opts.threshold ?? 1 });
    if (!v.ok) throw new SnapError('INTERNAL', `the record proof made does not check out: ${v.failure?.message ?? ''} (please report this)`);
  }
  return {
    proof,
    snapshot: snapshotId(fromBase64(env.payload)),
    ref,
    statement,
    set,
    line: found.line,
    record: parseIndexLine(found.line, set.identity, labelled, true),
    leafIndex: built.leafIndex,
    treeSize: built.treeSize,
    auditPathLength: built.auditPath.length,
    keyids: env.signatures.map((s) => s.keyid),
    matches,
  };
}
