/**
 * Inclusion proofs (docs/FORMAT.md §11): a self-contained JSON document showing that one manifest
 * entry (one file's line: path, digest, size, or a link's target) is part of a signed snapshot,
 * without the rest of the manifest. It carries the DSSE envelope (the signed statement, SPEC §4–5),
 * the entry's canonical manifest line, its leaf index, the tree size and the RFC 9162 §2.1.3 audit
 * path up to the statement's `merkleRoot`. Checking it needs only the signers' public keys.
 *
 * A proof is accepted only in the exact bytes `serializeProof` writes for its content (RFC 8785,
 * lowercase hex, standard padded base64, one final LF), it carries no signature its verifier
 * cannot check, and each signature's keyid must name the key that made it: so no byte of a proof
 * can change and the proof still pass.
 */
import { SnapError, isSnapError, type SnapErrorCode } from './errors.js';
import { canonicalJson } from './canonical-json.js';
import { decodeUtf8, fromBase64, fromHex, toBase64, toHex, utf8 } from './encoding.js';
import { MAX_ENVELOPE_BYTES, parseEnvelope, verifyEnvelope, type Envelope, type EnvelopeVerification, type TrustedKey } from './envelope.js';
import { parseStatement, snapshotId, statementRef, type Statement } from './statement.js';
import { parseEntry, type ManifestEntry } from './manifest.js';
import { HASH_SIZE, leafHash, verifyInclusion } from './merkle.js';
import { parseJsonStrict } from './json-strict.js';
import { MAX_INDEX_LINE_BYTES, recordSetName, type RecordSetMember } from './records.js';
// Record index lines are parsed by the records module's pure parser (no I/O: lines in, entries out).
import { parseIndexLine, type IndexEntry } from '../records/index-line.js';
import { isObject } from './is-object.js';

/** The `kind` of a snap inclusion proof. */
export const PROOF_KIND = 'snap-inclusion-proof';
/** The version of a file proof (a manifest entry), docs/FORMAT.md §11.1. */
export const PROOF_VERSION = 1;
/**
 * The version of a record proof (one line of a signed record index, docs/FORMAT.md §11.5). A reader
 * refuses any version but these two (`PROOF_UNSUPPORTED`).
 */
export const RECORD_PROOF_VERSION = 2;
/**
 * Most hashes an audit path may hold. A tree of n leaves needs at most ceil(log2 n); snap's trees
 * have fewer than 2^53 leaves (sizes are JavaScript safe integers), so 53 suffice.
 */
export const MAX_AUDIT_PATH = 64;
/**
 * Largest manifest line a proof may carry, in UTF-8 bytes. A canonical line holds a path of at most
 * 4,096 bytes and a link target of at most 4,096 bytes, each byte written as at most 6 characters
 * (`\u001f`), plus 100 bytes of member names: under 50 KiB.
 */
export const MAX_PROOF_ENTRY_BYTES = 64 * 1024;
/** Largest proof file accepted, in bytes: an envelope of at most {@link MAX_ENVELOPE_BYTES}, the entry, the path and the names. */
export const MAX_PROOF_BYTES = MAX_ENVELOPE_BYTES + 256 * 1024;

const HEX64 = /^[0-9a-f]{64}$/;
const TOP_MEMBERS = ['envelope', 'kind', 'manifest', 'version'];
const MANIFEST_MEMBERS = ['auditPath', 'entry', 'leafIndex', 'treeSize'];
const RECORD_TOP_MEMBERS = ['envelope', 'kind', 'records', 'version'];
const RECORD_MEMBERS = ['auditPath', 'entry', 'leafIndex', 'set', 'treeSize'];
/**
 * Largest record index line a record proof may carry, in UTF-8 bytes: {@link MAX_INDEX_LINE_BYTES}
 * (a bound on any index line, docs/FORMAT.md §10.4).
 */
export const MAX_PROOF_RECORD_ENTRY_BYTES = MAX_INDEX_LINE_BYTES;
/** Largest record set name (a manifest path of at most 4,096 bytes, or a rule's pattern) a record proof may carry, in UTF-8 bytes. */
export const MAX_PROOF_SET_BYTES = 4096;

/** The manifest layer of a proof: one manifest line and its place in the RFC 9162 tree. */
export interface ManifestInclusion {
  /** The entry's canonical manifest line, without its `\n` (docs/FORMAT.md §1). */
  entry: string;
  /** 0-based index of the line in the manifest (the leaf index). */
  leafIndex: number;
  /** Number of manifest lines (the tree size; equals the statement's `fileCount`). */
  treeSize: number;
  /** RFC 9162 §2.1.3.1 audit path, leaf to root: 32-byte hashes. */
  auditPath: Uint8Array[];
}

/** The record layer of a record proof: one line of a signed record index and its place in the index's RFC 9162 tree. */
export interface RecordInclusion {
  /** The record set, as the statement's `predicate.records` names it: a tabular file's `path`, or a `files` set's `pattern`. */
  set: string;
  /** The record's index line, without its `\n` (docs/FORMAT.md §19.5). */
  entry: string;
  /** 0-based index of the line in the index. */
  leafIndex: number;
  /** Number of index lines (equals the set's signed `count`). */
  treeSize: number;
  /** RFC 9162 §2.1.3.1 audit path up to the set's signed `index.merkleRoot`. */
  auditPath: Uint8Array[];
}

/**
 * A proof as read from its bytes: the envelope member (a JSON object, checked as an envelope only
 * by {@link verifyProof}) and one layer: a manifest entry (version 1) or a record (version 2).
 */
export type InclusionProof =
  | { envelope: Record<string, unknown>; manifest: ManifestInclusion; records?: undefined }
  | { envelope: Record<string, unknown>; records: RecordInclusion; manifest?: undefined };

function malformed(reason: string, message: string, extra: Record<string, unknown> = {}): never {
  throw new SnapError('PROOF_MALFORMED', `the proof is malformed: ${message}`, { reason, ...extra });
}


function checkMembers(o: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) malformed('members', `${where} has the unknown member ${JSON.stringify(k)}`, { member: k });
  for (const k of allowed) if (!(k in o)) malformed('members', `${where} lacks the member ${JSON.stringify(k)}`, { member: k });
}

/** The JSON value of a proof, in the member order RFC 8785 gives it. */
function proofValue(envelope: unknown, m: ManifestInclusion): unknown {
  return {
    envelope,
    kind: PROOF_KIND,
    manifest: { auditPath: m.auditPath.map(toHex), entry: m.entry, leafIndex: m.leafIndex, treeSize: m.treeSize },
    version: PROOF_VERSION,
  };
}

/**
 * The bytes of a proof: RFC 8785 canonical JSON of
 * `{envelope, kind, manifest: {auditPath, entry, leafIndex, treeSize}, version}`, UTF-8, followed by
 * one LF. Hashes are lowercase hex; the envelope's payload and signatures are re-encoded as
 * standard padded base64 (RFC 4648 §4; the signatures cover the decoded bytes, so this changes
 * nothing they sign), and its signatures are kept in their order.
 * @throws SnapError `BASE64_INVALID` (payload or a signature) | `MERKLE_BAD_HASH` | `PROOF_MALFORMED`
 *   when a bound of this module is exceeded
 */
export function serializeProof(envelope: Envelope, m: ManifestInclusion): Uint8Array {
  checkPath(m.auditPath);
  if (utf8(m.entry).length > MAX_PROOF_ENTRY_BYTES) malformed('entry', `the entry is longer than ${MAX_PROOF_ENTRY_BYTES} bytes`);
  return proofBytes(proofValue(proofEnvelope(envelope), m));
}

/**
 * The bytes of a record proof (docs/FORMAT.md §11.5): RFC 8785 canonical JSON of
 * `{envelope, kind, records: {auditPath, entry, leafIndex, set, treeSize}, version: 2}`, UTF-8,
 * followed by one LF; the envelope as in {@link serializeProof}.
 * @throws SnapError `BASE64_INVALID` | `MERKLE_BAD_HASH` | `PROOF_MALFORMED` when a bound is exceeded
 */
export function serializeRecordProof(envelope: Envelope, r: RecordInclusion): Uint8Array {
  checkPath(r.auditPath);
  if (utf8(r.entry).length > MAX_PROOF_RECORD_ENTRY_BYTES) malformed('entry', `the record entry is longer than ${MAX_PROOF_RECORD_ENTRY_BYTES} bytes`);
  if (utf8(r.set).length > MAX_PROOF_SET_BYTES) malformed('set', `the record set name is longer than ${MAX_PROOF_SET_BYTES} bytes`);
  return proofBytes({
    envelope: proofEnvelope(envelope),
    kind: PROOF_KIND,
    records: { auditPath: r.auditPath.map(toHex), entry: r.entry, leafIndex: r.leafIndex, set: r.set, treeSize: r.treeSize },
    version: RECORD_PROOF_VERSION,
  });
}

function checkPath(path: Uint8Array[]): void {
  path.forEach((h, i) => {
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) throw new SnapError('MERKLE_BAD_HASH', `auditPath[${i}] must be ${HASH_SIZE} bytes`);
  });
  if (path.length > MAX_AUDIT_PATH) malformed('audit-path', `the audit path has ${path.length} hashes; at most ${MAX_AUDIT_PATH} are accepted`);
}

/** The envelope as a proof carries it: standard padded base64, signatures in their order. */
function proofEnvelope(envelope: Envelope): unknown {
  return {
    payload: toBase64(fromBase64(envelope.payload)),
    payloadType: envelope.payloadType,
    signatures: envelope.signatures.map((s) => ({ keyid: s.keyid, sig: toBase64(fromBase64(s.sig)) })),
  };
}

function proofBytes(value: unknown): Uint8Array {
  const bytes = utf8(`${canonicalJson(value)}\n`);
  if (bytes.length > MAX_PROOF_BYTES) malformed('too-large', `the proof would be ${bytes.length} bytes; at most ${MAX_PROOF_BYTES} are accepted`);
  return bytes;
}

/** The layer members every proof has: a tree size of at least 1, a leaf index, an audit path of hex hashes. */
function parseLayer(m: Record<string, unknown>, where: string): { leafIndex: number; treeSize: number; auditPath: Uint8Array[] } {
  if (typeof m.treeSize !== 'number' || !Number.isSafeInteger(m.treeSize) || m.treeSize < 1) malformed('tree-size', `${where}.treeSize is not a whole number of at least 1`);
  if (typeof m.leafIndex !== 'number' || !Number.isSafeInteger(m.leafIndex) || m.leafIndex < 0) malformed('leaf-index', `${where}.leafIndex is not a whole number of at least 0`);
  const path = m.auditPath;
  if (!Array.isArray(path)) malformed('audit-path', `${where}.auditPath is not an array`);
  if (path.length > MAX_AUDIT_PATH) malformed('audit-path', `${where}.auditPath has ${path.length} hashes; at most ${MAX_AUDIT_PATH} are accepted`);
  const auditPath = path.map((h, i) => {
    if (typeof h !== 'string' || !HEX64.test(h)) malformed('audit-path', `${where}.auditPath[${i}] is not 64 lowercase hex digits`);
    return fromHex(h, 'PROOF_MALFORMED');
  });
  return { leafIndex: m.leafIndex, treeSize: m.treeSize, auditPath };
}

/**
 * Read a proof from its bytes. Checks the document, not what it proves ({@link verifyProof} does):
 * size, UTF-8, JSON without duplicate members, `kind` and `version`, exactly the members of the
 * format, an entry string of at most {@link MAX_PROOF_ENTRY_BYTES}, a leaf index and tree size that
 * are safe integers (tree size at least 1), at most {@link MAX_AUDIT_PATH} hashes of 64 lowercase
 * hex each, and the bytes exactly their canonical form followed by one LF.
 * @throws SnapError `PROOF_MALFORMED` (with `details.reason`) | `PROOF_UNSUPPORTED` (another `version`)
 */
export function parseProof(bytes: Uint8Array): InclusionProof {
  if (bytes.length > MAX_PROOF_BYTES) malformed('too-large', `it is larger than ${MAX_PROOF_BYTES} bytes`);
  let text: string;
  try {
    text = decodeUtf8(bytes);
  } catch {
    malformed('not-utf8', 'it is not UTF-8');
  }
  const v = parseJsonStrict(text, 'PROOF_MALFORMED', 'the proof');
  if (!isObject(v)) malformed('not-object', 'it is not a JSON object');
  if (v.kind !== PROOF_KIND) malformed('kind', `its kind is ${JSON.stringify(v.kind)}, not ${JSON.stringify(PROOF_KIND)}`);
  if (!Number.isSafeInteger(v.version)) malformed('version', 'its version is not a whole number');
  if (v.version !== PROOF_VERSION && v.version !== RECORD_PROOF_VERSION) {
    throw new SnapError('PROOF_UNSUPPORTED', `this snap reads proofs of versions ${PROOF_VERSION} and ${RECORD_PROOF_VERSION}, not ${String(v.version)}; upgrade snap to check it`, { version: v.version });
  }
  const record = v.version === RECORD_PROOF_VERSION;
  checkMembers(v, record ? RECORD_TOP_MEMBERS : TOP_MEMBERS, 'the proof');
  if (!isObject(v.envelope)) malformed('envelope', 'envelope is not a JSON object');
  let proof: InclusionProof;
  if (record) {
    const r = v.records;
    if (!isObject(r)) malformed('members', 'records is not a JSON object');
    checkMembers(r, RECORD_MEMBERS, 'records');
    if (typeof r.entry !== 'string') malformed('entry', 'records.entry is not a string');
    if (utf8(r.entry).length > MAX_PROOF_RECORD_ENTRY_BYTES) malformed('entry', `records.entry is longer than ${MAX_PROOF_RECORD_ENTRY_BYTES} bytes`);
    if (typeof r.set !== 'string' || r.set.length === 0) malformed('set', 'records.set is not a non-empty string');
    if (utf8(r.set).length > MAX_PROOF_SET_BYTES) malformed('set', `records.set is longer than ${MAX_PROOF_SET_BYTES} bytes`);
    proof = { envelope: v.envelope, records: { set: r.set, entry: r.entry, ...parseLayer(r, 'records') } };
  } else {
    const m = v.manifest;
    if (!isObject(m)) malformed('members', 'manifest is not a JSON object');
    checkMembers(m, MANIFEST_MEMBERS, 'manifest');
    if (typeof m.entry !== 'string') malformed('entry', 'manifest.entry is not a string');
    if (utf8(m.entry).length > MAX_PROOF_ENTRY_BYTES) malformed('entry', `manifest.entry is longer than ${MAX_PROOF_ENTRY_BYTES} bytes`);
    proof = { envelope: v.envelope, manifest: { entry: m.entry, ...parseLayer(m, 'manifest') } };
  }
  let canonical: string;
  try {
    canonical = canonicalJson(v);
  } catch {
    malformed('not-canonical', 'it holds a string with a lone surrogate');
  }
  if (`${canonical}\n` !== text) malformed('not-canonical', 'it is not byte for byte in its canonical form (RFC 8785 and one final newline): keep a proof exactly as snap prove wrote it');
  return proof;
}

/** Which check of {@link verifyProof} (or of a data file) a proof failed. */
export type ProofCheck = 'envelope' | 'signature' | 'statement' | 'snapshot' | 'set' | 'entry' | 'tree-size' | 'leaf-index' | 'root' | 'file';

/** One signature of a proof's envelope, as checked. */
export interface ProofSigner {
  /** The keyid the signature claims; when trusted, also the key that made it. */
  keyid: string;
  trusted: boolean;
  /** Why it does not count: `malformed signature`, `not signed by any given key`, or `keyid names another key`. */
  reason?: string;
}

/** The verdict on a proof. */
export interface ProofVerification {
  /** True when every check passed. */
  ok: boolean;
  /** The first check that failed: its code (a SnapError code), which check, and why. */
  failure?: { code: SnapErrorCode; check: ProofCheck; message: string };
  signers: ProofSigner[];
  /** Snapshot id of the signed statement (`sha256:<hex>`), once the envelope is readable. */
  snapshot?: string;
  /** The statement, parsed from the verified payload only; set once the signatures checked out. */
  statement?: Statement;
  /** The proven manifest entry (a file proof); set once it parsed. */
  entry?: ManifestEntry;
  /** A record proof: the signed record set (once found in the statement) and the proven index line (once it parsed). */
  record?: { set: RecordSetMember; entry?: IndexEntry };
  leafIndex: number;
  treeSize: number;
}

/** Options of {@link verifyProof}. */
export interface VerifyProofOptions {
  /** Minimum number of distinct given keys that must have signed (default 1). */
  threshold?: number;
  /** Require the proof to be of this snapshot: `NAME@VERSION` of the signed statement, or its id `sha256:<64 hex>`. */
  expect?: string;
}

/**
 * Check a proof with only public keys, in this order, stopping at the first failure:
 * 1. `envelope`: the envelope member is a DSSE envelope (`parseEnvelope`: shape, payload type,
 *    at most `MAX_SIGNATURES`, at most `MAX_ENVELOPE_BYTES`), with standard padded base64.
 * 2. `signature`: every signature verifies (strict Ed25519 over PAE) under one of `trusted`, its
 *    keyid names that key, none repeats another's bytes, and at least `threshold` distinct keys signed.
 * 3. `statement`: the statement parsed only from the verified payload (`parseStatement`).
 * 4. `snapshot`: when `expect` is given, the statement is that snapshot.
 * 5. `entry`: the line is a valid canonical manifest entry (`parseEntry`).
 * 6. `tree-size`: the tree size equals the statement's `fileCount`.
 * 7. `leaf-index`: the leaf index is below the tree size.
 * 8. `root`: the leaf hash and audit path recompute the statement's `merkleRoot` (RFC 9162 §2.1.3.2).
 * A failed check is a result (`ok: false`), never an error.
 * @throws SnapError `USAGE` when threshold is not a whole number of at least 1, or `expect` is neither form
 */
export function verifyProof(proof: InclusionProof, trusted: readonly TrustedKey[], opts: VerifyProofOptions = {}): ProofVerification {
  const threshold = opts.threshold ?? 1;
  if (!Number.isSafeInteger(threshold) || threshold < 1) throw new SnapError('USAGE', `threshold must be a whole number of at least 1, got ${threshold}`);
  if (opts.expect !== undefined && !/^sha256:[0-9a-f]{64}$/.test(opts.expect) && !/^[^@]+@[^@]+$/.test(opts.expect)) {
    throw new SnapError('USAGE', `expect must be NAME@VERSION or a snapshot id sha256:<64 hex>, got ${JSON.stringify(opts.expect)}`);
  }
  const { leafIndex, treeSize } = proof.manifest ?? proof.records;
  const out: ProofVerification = { ok: false, signers: [], leafIndex, treeSize };
  const fail = (code: SnapErrorCode, check: ProofCheck, message: string): ProofVerification => ({ ...out, ok: false, failure: { code, check, message } });

  // 1. The envelope.
  let env: Envelope;
  let verdict: EnvelopeVerification;
  try {
    env = parseEnvelope(canonicalJson(proof.envelope));
    const payload = fromBase64(env.payload);
    if (toBase64(payload) !== env.payload) return fail('ENVELOPE_MALFORMED', 'envelope', 'the payload is not in standard padded base64, as a proof carries it');
    out.snapshot = snapshotId(payload);
    verdict = verifyEnvelope(env, trusted, threshold);
  } catch (e) {
    if (!isSnapError(e) || e.code === 'USAGE') throw e;
    return fail(e.code, 'envelope', `envelope: ${e.message}`);
  }

  // 2. The signatures: all of them checkable, each by the key its keyid names.
  out.signers = verdict.signatures.map((s) => {
    if (!s.trusted) return { keyid: s.keyid, trusted: false, reason: s.reason === 'malformed' ? 'malformed signature' : 'not signed by any given key' };
    if (s.verifiedBy !== s.keyid) return { keyid: s.keyid, trusted: false, reason: 'keyid names another key' };
    return { keyid: s.keyid, trusted: true };
  });
  const sigs = env.signatures;
  if (sigs.length === 0) return fail('SIGNATURE_INVALID', 'signature', 'the envelope has no signatures');
  // Signature bytes (hex) → the 1-based number of the first signature that carried them.
  const firstWith = new Map<string, number>();
  for (let i = 0; i < sigs.length; i++) {
    const s = verdict.signatures[i] as (typeof verdict.signatures)[number];
    const sig = (sigs[i] as { sig: string }).sig;
    if (!s.trusted) {
      return fail('SIGNATURE_INVALID', 'signature', `signature ${i + 1} of ${sigs.length} (keyid ${JSON.stringify(s.keyid.slice(0, 64))}) is ${s.reason === 'malformed' ? 'malformed' : 'not valid under any given key'}: a proof carries only signatures its verifier can check (make one for these keys with snap prove --pubkey)`);
    }
    if (toBase64(fromBase64(sig)) !== sig) return fail('ENVELOPE_MALFORMED', 'envelope', `signature ${i + 1} is not in standard padded base64, as a proof carries it`);
    if (s.verifiedBy !== s.keyid) {
      return fail('SIGNATURE_INVALID', 'signature', `signature ${i + 1} claims keyid ${JSON.stringify(s.keyid.slice(0, 64))} but was made by ${s.verifiedBy}: in a proof the keyid must name the signing key`);
    }
    // snap prove writes each signature once: a copy is bytes added that would still pass.
    const bytes = toHex(fromBase64(sig));
    const first = firstWith.get(bytes);
    if (first !== undefined) return fail('SIGNATURE_INVALID', 'signature', `signature ${i + 1} repeats signature ${first}: a proof carries each signature once`);
    firstWith.set(bytes, i + 1);
  }
  if (!verdict.ok) return fail('SIGNATURE_INVALID', 'signature', `only ${verdict.trustedKeyids.length} of the required ${threshold} given keys signed`);

  // 3. The statement, from the verified payload only.
  let statement: Statement;
  try {
    statement = parseStatement(verdict.payload);
  } catch (e) {
    if (!isSnapError(e)) throw e;
    return fail(e.code, 'statement', `signed statement refused: ${e.message}`);
  }
  out.statement = statement;
  const p = statement.predicate;

  // 4. The snapshot the verifier expects.
  if (opts.expect !== undefined && opts.expect !== statementRef(statement) && opts.expect !== out.snapshot) {
    return fail('SNAPSHOT_NAME_MISMATCH', 'snapshot', `the proof is of ${statementRef(statement)} (${out.snapshot}), not of ${opts.expect}`);
  }

  if (proof.records) return checkRecordLayer(proof.records, out, fail);

  // 5. The entry.
  try {
    out.entry = parseEntry(proof.manifest.entry);
  } catch (e) {
    if (!isSnapError(e)) throw e;
    return fail(e.code, 'entry', `the proven line is not a manifest entry: ${e.message}`);
  }

  // 6–8. Its place in the signed tree.
  if (treeSize !== p.fileCount) return fail('PROOF_INVALID', 'tree-size', `the proof's tree size ${treeSize} is not the signed fileCount ${p.fileCount}`);
  if (leafIndex >= treeSize) return fail('PROOF_INVALID', 'leaf-index', `the leaf index ${leafIndex} is not below the tree size ${treeSize}`);
  if (!verifyInclusion(leafHash(utf8(proof.manifest.entry)), leafIndex, treeSize, proof.manifest.auditPath, fromHex(p.merkleRoot))) {
    return fail('PROOF_INVALID', 'root', `the entry and audit path do not lead to the signed Merkle root ${p.merkleRoot}`);
  }
  return { ...out, ok: true };
}

/**
 * Steps 5–9 of a record proof (docs/FORMAT.md §11.5), after the signatures and statement checked
 * out: `set` (the statement names a record set `set`), `entry` (a valid index line for that set's
 * identity and label, every value canonical), `tree-size` (= the set's signed `count`), `leaf-index`,
 * `root` (the line and audit path give the set's signed `index.merkleRoot`).
 */
function checkRecordLayer(
  r: RecordInclusion,
  out: ProofVerification,
  fail: (code: SnapErrorCode, check: ProofCheck, message: string) => ProofVerification,
): ProofVerification {
  const p = (out.statement as Statement).predicate;
  const set = p.records?.find((m) => recordSetName(m) === r.set);
  if (!set) return fail('PROOF_INVALID', 'set', `the signed statement has no record set ${JSON.stringify(r.set)}`);
  out.record = { set };
  try {
    out.record.entry = parseIndexLine(r.entry, set.identity, set.format === 'files' || set.label !== undefined, true);
  } catch (e) {
    if (!isSnapError(e)) throw e;
    return fail(e.code, 'entry', `the proven line is not a line of this record index: ${e.message}`);
  }
  if (r.treeSize !== set.count) return fail('PROOF_INVALID', 'tree-size', `the proof's tree size ${r.treeSize} is not the signed record count ${set.count} of ${r.set}`);
  if (r.leafIndex >= r.treeSize) return fail('PROOF_INVALID', 'leaf-index', `the leaf index ${r.leafIndex} is not below the tree size ${r.treeSize}`);
  if (!verifyInclusion(leafHash(utf8(r.entry)), r.leafIndex, r.treeSize, r.auditPath, fromHex(set.index.merkleRoot))) {
    return fail('PROOF_INVALID', 'root', `the record and audit path do not lead to the signed Merkle root ${set.index.merkleRoot} of ${r.set}'s record index`);
  }
  return { ...out, ok: true };
}
