/**
 * `prove`: make an inclusion proof (docs/FORMAT.md §11) that one manifest entry is part of a
 * signed snapshot. The manifest is streamed once, in O(log n) memory whatever its length: every
 * line is parsed strictly, hashed into the SHA-256 of the file and fed to an
 * `InclusionProofBuilder`, which keeps only the audit path's hashes. No proof is made from a
 * manifest that does not match its statement (digest, line count, Merkle root).
 */
import { SnapError, isSnapError } from '../core/errors.js';
import { parseEnvelope, verifyEnvelope, type Envelope, type TrustedKey } from '../core/envelope.js';
import { nameMismatch, parseStatement, snapshotId, statementRef, type Statement } from '../core/statement.js';
import { ManifestOrder, type ManifestEntry } from '../core/manifest.js';
import { InclusionProofBuilder, verifyInclusion } from '../core/merkle.js';
import { fromBase64, fromHex, toHex } from '../core/encoding.js';
import { validatePath } from '../core/paths.js';
import { parseProof, serializeProof, verifyProof } from '../core/proof.js';
import { judgeManifest, manifestLineRuns, parseManifestLine } from '../io/manifest-file.js';
import { leafHashOfLine, nodeHashNative } from '../io/native-hash.js';
import { ENVELOPE_FILE, MANIFEST_FILE, type SnapshotLocation } from '../io/store.js';
import { readSnapshotFile } from '../snapshot.js';
import { join } from 'node:path';

/** Options of {@link prove}. */
export interface ProveOptions {
  /** The snapshot (a store folder, a snapshot folder, or an archive's spooled `snap/` members). */
  snapshot: SnapshotLocation;
  /** The entry to prove: its path in the manifest (relative to the dataset root, `/`-separated). */
  path: string;
  /**
   * When given, the snapshot must be signed by at least `threshold` of these keys, and the proof
   * carries only their signatures, each under its key's own keyid (a proof for verifiers who do
   * not trust every co-signer). Otherwise the proof carries every signature of the envelope.
   */
  trusted?: readonly TrustedKey[];
  threshold?: number;
}

/** A proof made by {@link prove}. */
export interface ProveResult {
  /** The proof's bytes, exactly as they are to be kept (docs/FORMAT.md §11). */
  proof: Uint8Array;
  /** Snapshot id (`sha256:<hex>`) and `NAME@VERSION` of the statement. */
  snapshot: string;
  ref: string;
  statement: Statement;
  entry: ManifestEntry;
  leafIndex: number;
  treeSize: number;
  /** Number of hashes in the audit path. */
  auditPathLength: number;
  /** The keyids of the signatures the proof carries, in order. */
  keyids: string[];
}

/** The envelope and statement of a snapshot, read without trusting them; the name checked as SPEC §4.6 says. */
export async function readSigned(loc: SnapshotLocation): Promise<{ env: Envelope; statement: Statement }> {
  const env = parseEnvelope(await readSnapshotFile(loc, ENVELOPE_FILE));
  const statement = parseStatement(fromBase64(env.payload));
  if (loc.name !== undefined && loc.version !== undefined) {
    const mismatch = nameMismatch(statement, { name: loc.name, version: loc.version });
    if (mismatch) throw new SnapError('SNAPSHOT_NAME_MISMATCH', mismatch, { ref: loc.ref, expected: `${loc.name}@${loc.version}`, signed: statementRef(statement) });
  }
  return { env, statement };
}

/** Keep only the signatures of `trusted` keys, each once (by its bytes), under the keyid of the key that made it. */
export function trustedSignatures(env: Envelope, trusted: readonly TrustedKey[], threshold: number): Envelope {
  const v = verifyEnvelope(env, trusted, threshold);
  if (!v.ok) {
    throw new SnapError('SIGNATURE_INVALID', `the snapshot is signed by ${v.trustedKeyids.length} of the given keys; ${threshold} are required: no proof was made`, { trusted: v.trustedKeyids });
  }
  const seen = new Set<string>();
  const signatures = env.signatures.flatMap((s, i) => {
    const c = v.signatures[i];
    if (!c?.trusted) return [];
    const bytes = toHex(fromBase64(s.sig));
    if (seen.has(bytes)) return [];
    seen.add(bytes);
    return [{ keyid: c.verifiedBy as string, sig: s.sig }];
  });
  return { ...env, signatures };
}

/**
 * Make the inclusion proof of the entry `path` in a snapshot.
 * @throws SnapError `PATH_*` (`path` cannot be a manifest path) | `PROOF_PATH_NOT_FOUND` (no such
 *   entry; the message names the entry `path` ends with, else the first entry) | `INTEGRITY_FAILURE` (the manifest does not match the statement: altered) |
 *   `SNAPSHOT_NAME_MISMATCH` | `SIGNATURE_INVALID` (no signature at all; with `trusted`: too few of them signed) |
 *   `ENVELOPE_*`, `BASE64_INVALID`, `STATEMENT_*` (the snapshot's envelope or statement cannot be read) |
 *   `MANIFEST_*` (a manifest line is invalid, the file matching its signed digest) | `NOT_FOUND` | `IO_ERROR`
 */
export async function prove(opts: ProveOptions): Promise<ProveResult> {
  validatePath(opts.path);
  const loc = opts.snapshot;
  const read = await readSigned(loc);
  if (read.env.signatures.length === 0) throw new SnapError('SIGNATURE_INVALID', `${loc.ref} is unsigned (its envelope has no signatures): no proof of it could check out`, { ref: loc.ref });
  const env = opts.trusted ? trustedSignatures(read.env, opts.trusted, opts.threshold ?? 1) : read.env;
  const statement = read.statement;
  const pred = statement.predicate;

  const manifestPath = join(loc.dir, MANIFEST_FILE);
  const digest = { bytes: 0 } as { sha256?: string; bytes: number };
  const order = new ManifestOrder();
  const builder = new InclusionProofBuilder({ nodeHash: nodeHashNative });
  let found: { entry: ManifestEntry; line: string } | undefined;
  // For a PATH that is not an entry: the first entry, and one PATH ends with (the dataset folder given too).
  let firstPath: string | undefined;
  let endsWith: string | undefined;
  // The first invalid line: reported only when the file matches its signed digest (else: altered).
  let invalid: SnapError | undefined;
  const altered = (what: string) =>
    new SnapError('INTEGRITY_FAILURE', `${manifestPath} does not match the signed statement (${what}): it was altered; no proof was made`, { path: manifestPath });
  try {
    for await (const run of manifestLineRuns(manifestPath, digest)) {
      if (invalid) continue; // read on to the end for the digest only
      for (const line of run) {
        let e: ManifestEntry;
        try {
          e = parseManifestLine(line, order, manifestPath);
        } catch (err) {
          if (!isSnapError(err)) throw err;
          invalid = err;
          break;
        }
        const isTarget = e.path === opts.path;
        firstPath ??= e.path;
        if (!endsWith && opts.path.endsWith(`/${e.path}`)) endsWith = e.path;
        builder.appendLeafHash(leafHashOfLine(line), isTarget);
        if (isTarget) found = { entry: e, line };
      }
    }
  } catch (err) {
    // The file itself cannot be read as lines (a line over 1 MiB, no last newline): judged like a bad line.
    if (!isSnapError(err) || !err.code.startsWith('MANIFEST_')) throw err;
    const judged = await judgeManifest(manifestPath, pred, err, {}); // throws err when the file is the signed one
    if (!judged.ok) throw altered(`manifestSha256 differs; ${err.message}`);
    throw err;
  }
  if (digest.sha256 !== pred.manifestSha256) throw altered('manifestSha256 differs');
  if (invalid) throw invalid;
  if (order.count !== pred.fileCount) throw altered(`${order.count} lines, fileCount ${pred.fileCount}`);
  if (!found) {
    const hint = endsWith !== undefined ? `: did you mean ${endsWith}?` : firstPath !== undefined ? ` (e.g. ${firstPath}, its first entry)` : '';
    throw new SnapError('PROOF_PATH_NOT_FOUND', `${JSON.stringify(opts.path)} is not an entry of ${statementRef(statement)}: give the path as the manifest lists it, relative to the dataset root${hint}`, { path: opts.path, ref: statementRef(statement) });
  }
  const built = builder.finish();
  if (!verifyInclusion(built.leafHash, built.leafIndex, built.treeSize, built.auditPath, fromHex(pred.merkleRoot))) throw altered('Merkle root differs');

  const proof = serializeProof(env, { entry: found.line, leafIndex: built.leafIndex, treeSize: built.treeSize, auditPath: built.auditPath });
  // Self-check: the bytes read back as the proof they are, and (with keys) check out.
  const parsed = parseProof(proof);
  if (opts.trusted) {
    const v = verifyProof(parsed, opts.trusted, { threshold: opts.threshold ?? 1 });
    if (!v.ok) throw new SnapError('INTERNAL', `the proof made does not check out: ${v.failure?.message ?? ''} (please report this)`);
  }
  return {
    proof,
    snapshot: snapshotId(fromBase64(env.payload)),
    ref: statementRef(statement),
    statement,
    entry: found.entry,
    leafIndex: built.leafIndex,
    treeSize: built.treeSize,
    auditPathLength: built.auditPath.length,
    keyids: env.signatures.map((s) => s.keyid),
  };
}
