/**
 * The signed statement, `statement.json` (SPEC §4): an in-toto Statement v1 whose subject is the
 * dataset's Merkle root, serialized with RFC 8785 (JCS), no trailing newline.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { SnapError } from './errors.js';
import { canonicalJson } from './canonical-json.js';
import { decodeUtf8, toHex, utf8 } from './encoding.js';
import { NAME_RE, SNAPSHOT_ID_RE, VERSION_RE } from './refs.js';
import { validateRecordsMember, type RecordSetMember } from './records.js';
import { checkExcludePatterns } from './excludes.js';
import { parseJsonStrict } from './json-strict.js';
import { validateProvenance, type Provenance } from './provenance.js';

/** Largest statement accepted, in bytes (a statement of a million-file dataset is under 1 KiB; later members such as record indexes stay far below this). */
export const MAX_STATEMENT_BYTES = 4 * 1024 * 1024;

/** in-toto Statement v1 `_type`. */
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
/** The only predicate type this version knows (SPEC §4). */
export const PREDICATE_TYPE = 'urn:snap:dataset-snapshot:v1';

/** The snapshot predicate, SPEC §4. Optional members are omitted, never null. */
export interface SnapshotPredicate {
  dataset: string;
  version: string;
  /** Merkle root of the manifest, 64 lowercase hex (RFC 9162 MTH). */
  merkleRoot: string;
  /** SHA-256 of the manifest.jsonl bytes, 64 lowercase hex. */
  manifestSha256: string;
  /** Number of manifest entries (files and symlinks): the Merkle tree size. */
  fileCount: number;
  /** Sum of the sizes of the regular files, in bytes. */
  totalBytes: number;
  /** RFC 3339 UTC with whole seconds, e.g. 2026-11-21T10:00:00Z. */
  createdAt: string;
  /** When the signer's approval ends (RFC 3339 UTC, whole seconds, after `createdAt`): verify refuses the snapshot from then on. */
  expiresAt?: string;
  /** Snapshot id of the previous version, `sha256:<hex>`. */
  parent?: string;
  /** gitignore-syntax patterns left out at seal time, in the order given. */
  excludes?: string[];
  /** Record sets of tabular files and label folders, with their record indexes (docs/FORMAT.md §19.6). */
  records?: RecordSetMember[];
  /** Where the data came from, its licence, pipeline and derivations (core/provenance.ts, docs/FORMAT.md §3.1). */
  provenance?: Provenance;
  /**
   * `seal --incremental` (docs/FORMAT.md §22): `reused` files were not read; their digests were
   * taken from the manifest of `parent` (equal to `predicate.parent`) because their
   * `dev:ino:size:mtimeNs:ctimeNs` was unchanged since that snapshot was sealed on the same machine.
   */
  incremental?: { parent: string; reused: number };
  tool: { name: string; version: string };
}

/** An in-toto Statement v1 carrying a {@link SnapshotPredicate}. */
export interface Statement {
  _type: typeof STATEMENT_TYPE;
  subject: [{ name: string; digest: { sha256: string } }];
  predicateType: typeof PREDICATE_TYPE;
  predicate: SnapshotPredicate;
}

const HEX64 = /^[0-9a-f]{64}$/;
const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;
const PREDICATE_KEYS = new Set(['dataset', 'version', 'merkleRoot', 'manifestSha256', 'fileCount', 'totalBytes', 'createdAt', 'expiresAt', 'parent', 'excludes', 'records', 'provenance', 'incremental', 'tool']);

/** RFC 3339 UTC, whole seconds, of a Date: `2026-11-21T10:00:00Z`. */
export function formatTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** True when `s` is an RFC 3339 UTC time with whole seconds that names a real instant. */
export function isValidTime(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  const m = TIME_RE.exec(s);
  if (!m) return false;
  const d = new Date(s);
  return !Number.isNaN(d.getTime()) && formatTime(d) === s;
}

function invalid(why: string): never {
  throw new SnapError('STATEMENT_INVALID', `invalid statement: ${why}`);
}

/**
 * Check a statement object against SPEC §4. Unknown members anywhere are refused (fail closed: a
 * member this version does not understand, such as a future `futureMember`, could change what the
 * signer meant).
 * @throws SnapError `STATEMENT_UNKNOWN_TYPE` | `STATEMENT_UNKNOWN_PREDICATE_TYPE` | `STATEMENT_INVALID` | `STATEMENT_MALFORMED`
 */
export function validateStatement(value: unknown): Statement {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new SnapError('STATEMENT_MALFORMED', 'the statement is not a JSON object');
  const s = value as Record<string, unknown>;
  if (s._type !== STATEMENT_TYPE) throw new SnapError('STATEMENT_UNKNOWN_TYPE', `unknown statement _type ${JSON.stringify(s._type)} (expected ${STATEMENT_TYPE})`);
  if (s.predicateType !== PREDICATE_TYPE) {
    throw new SnapError('STATEMENT_UNKNOWN_PREDICATE_TYPE', `unknown predicateType ${JSON.stringify(s.predicateType)}: this snap knows only ${PREDICATE_TYPE}; upgrade snap to verify it`);
  }
  for (const k of Object.keys(s)) if (!['_type', 'subject', 'predicateType', 'predicate'].includes(k)) invalid(`unknown member ${JSON.stringify(k)}`);
  const p = s.predicate as Record<string, unknown> | undefined;
  if (p === null || typeof p !== 'object' || Array.isArray(p)) invalid('predicate must be an object');
  for (const k of Object.keys(p)) if (!PREDICATE_KEYS.has(k)) invalid(`unknown predicate member ${JSON.stringify(k)}`);
  if (typeof p.dataset !== 'string' || !NAME_RE.test(p.dataset)) invalid('predicate.dataset is not a valid NAME');
  if (typeof p.version !== 'string' || !VERSION_RE.test(p.version)) invalid('predicate.version is not a valid VERSION');
  if (typeof p.merkleRoot !== 'string' || !HEX64.test(p.merkleRoot)) invalid('predicate.merkleRoot must be 64 lowercase hex');
  if (typeof p.manifestSha256 !== 'string' || !HEX64.test(p.manifestSha256)) invalid('predicate.manifestSha256 must be 64 lowercase hex');
  if (typeof p.fileCount !== 'number' || !Number.isSafeInteger(p.fileCount) || p.fileCount < 1) invalid('predicate.fileCount must be a positive integer');
  if (typeof p.totalBytes !== 'number' || !Number.isSafeInteger(p.totalBytes) || p.totalBytes < 0) invalid('predicate.totalBytes must be a non-negative integer');
  if (!isValidTime(p.createdAt)) invalid('predicate.createdAt must be RFC 3339 UTC with whole seconds');
  if ('expiresAt' in p && (!isValidTime(p.expiresAt) || p.expiresAt <= p.createdAt)) invalid('predicate.expiresAt must be RFC 3339 UTC with whole seconds, after createdAt');
  if ('parent' in p && (typeof p.parent !== 'string' || !SNAPSHOT_ID_RE.test(p.parent))) invalid('predicate.parent must be a snapshot id sha256:<64 hex>');
  if ('excludes' in p) {
    const ex = p.excludes;
    if (!Array.isArray(ex) || ex.length === 0 || ex.some((x) => typeof x !== 'string' || x.length === 0)) invalid('predicate.excludes must be a non-empty array of non-empty strings');
    try {
      checkExcludePatterns(ex, 'STATEMENT_INVALID');
    } catch (e) {
      invalid(`predicate.excludes: ${(e as Error).message}`);
    }
  }
  if ('records' in p) validateRecordsMember(p.records);
  if ('provenance' in p) validateProvenance(p.provenance, invalid);
  if ('incremental' in p) {
    const inc = p.incremental as Record<string, unknown> | null;
    if (inc === null || typeof inc !== 'object' || Array.isArray(inc) || Object.keys(inc).sort().join() !== 'parent,reused') invalid('predicate.incremental must be {parent, reused}');
    if (inc.parent !== p.parent) invalid('predicate.incremental.parent must equal predicate.parent');
    if (typeof inc.reused !== 'number' || !Number.isSafeInteger(inc.reused) || inc.reused < 0 || inc.reused > (p.fileCount as number)) invalid('predicate.incremental.reused must be a whole number from 0 to fileCount');
  }
  const tool = p.tool as Record<string, unknown> | undefined;
  if (tool === null || typeof tool !== 'object' || Array.isArray(tool) || Object.keys(tool).sort().join() !== 'name,version' || typeof tool.name !== 'string' || typeof tool.version !== 'string') {
    invalid('predicate.tool must be {name, version}');
  }
  const subj = s.subject;
  if (!Array.isArray(subj) || subj.length !== 1) invalid('subject must hold exactly one entry');
  const sub = subj[0] as Record<string, unknown>;
  if (sub === null || typeof sub !== 'object' || Object.keys(sub).sort().join() !== 'digest,name') invalid('subject[0] must be {name, digest}');
  if (sub.name !== `${p.dataset}@${p.version}`) invalid('subject[0].name must be DATASET@VERSION of the predicate');
  const dig = sub.digest as Record<string, unknown>;
  if (dig === null || typeof dig !== 'object' || Object.keys(dig).join() !== 'sha256' || dig.sha256 !== p.merkleRoot) {
    invalid('subject[0].digest must be {sha256: merkleRoot}');
  }
  return value as Statement;
}

/**
 * Build a statement from a predicate (the subject is derived from it).
 * @throws SnapError `STATEMENT_INVALID` when the predicate breaks SPEC §4
 */
export function buildStatement(predicate: SnapshotPredicate): Statement {
  const p: SnapshotPredicate = { ...predicate };
  if (p.parent === undefined) delete p.parent;
  if (p.expiresAt === undefined) delete p.expiresAt;
  if (p.excludes === undefined || p.excludes.length === 0) delete p.excludes;
  if (p.records === undefined || p.records.length === 0) delete p.records;
  if (p.provenance === undefined) delete p.provenance;
  if (p.incremental === undefined) delete p.incremental;
  const s = {
    _type: STATEMENT_TYPE,
    subject: [{ name: `${p.dataset}@${p.version}`, digest: { sha256: p.merkleRoot } }],
    predicateType: PREDICATE_TYPE,
    predicate: p,
  };
  return validateStatement(s);
}

/** The statement bytes: RFC 8785 canonical JSON in UTF-8, no trailing newline. */
export function serializeStatement(s: Statement): Uint8Array {
  return utf8(canonicalJson(s));
}

/**
 * Parse statement bytes (as verified from an envelope payload). The bytes must be valid UTF-8
 * JSON, a valid statement, and exactly their own canonical form.
 * @throws SnapError `STATEMENT_MALFORMED` | `STATEMENT_NOT_CANONICAL` | every code of {@link validateStatement}
 */
export function parseStatement(bytes: Uint8Array): Statement {
  if (bytes.length > MAX_STATEMENT_BYTES) throw new SnapError('STATEMENT_MALFORMED', `the statement is larger than ${MAX_STATEMENT_BYTES} bytes`);
  let text: string;
  try {
    text = decodeUtf8(bytes);
  } catch {
    throw new SnapError('STATEMENT_MALFORMED', 'the statement is not UTF-8 JSON');
  }
  const value = parseJsonStrict(text, 'STATEMENT_MALFORMED', 'the statement');
  const s = validateStatement(value);
  let canonical: string;
  try {
    canonical = canonicalJson(s);
  } catch {
    // A string with a lone surrogate (written as a \ud800 escape) has no RFC 8785 form.
    throw new SnapError('STATEMENT_NOT_CANONICAL', 'the statement is not in RFC 8785 canonical form (it holds a lone surrogate)');
  }
  if (canonical !== text) throw new SnapError('STATEMENT_NOT_CANONICAL', 'the statement is not in RFC 8785 canonical form');
  return s;
}

/**
 * The name a snapshot was sealed under, from its statement: `NAME@VERSION` of the predicate (equal
 * to `subject[0].name`, which {@link validateStatement} enforces).
 */
export function statementRef(s: Statement): string {
  return `${s.predicate.dataset}@${s.predicate.version}`;
}

/**
 * Why a snapshot found under `expected` (a store folder `snapshots/NAME/VERSION`, an archive file
 * `NAME@VERSION.snap.tar`, a ref the user typed) may not be used as that snapshot: its statement
 * names another. Only the statement's own names count; a folder or file name is outside the signed
 * payload and proves nothing. Returns undefined when the names agree.
 */
export function nameMismatch(s: Statement, expected: { name: string; version: string }): string | undefined {
  const signed = statementRef(s);
  const asked = `${expected.name}@${expected.version}`;
  return signed === asked ? undefined : `the snapshot found as ${asked} is signed as ${signed}: it was moved or swapped, and may not be used as ${asked}`;
}

let sha256Of: (bytes: Uint8Array) => Uint8Array = sha256;

/**
 * Use `f` for the SHA-256 of {@link snapshotId} (undefined: @noble/hashes). The CLI installs
 * node:crypto's (io/native-hash.ts `installNativeSha256`): the same digest (FIPS 180-4), several
 * times faster on a large statement — a 4 MB statement was hashed three times by every check of a
 * snapshot, 55 ms each in @noble/hashes, and a store writer can plant as many as it likes.
 */
export function useSha256Backend(f: ((bytes: Uint8Array) => Uint8Array) | undefined): void {
  sha256Of = f ?? sha256;
}

/** Snapshot id = `sha256:` + hex SHA-256 of the statement bytes (SPEC §4). */
export function snapshotId(statementBytes: Uint8Array): string {
  return `sha256:${toHex(sha256Of(statementBytes))}`;
}
