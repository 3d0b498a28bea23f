/**
 * Loading a snapshot's statement and envelope and establishing trust in it (SPEC §4, §5): the
 * envelope's signatures against the trusted keys, the statement parsed only from verified payload
 * bytes, and `statement.json` compared with that payload.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { SnapError, isSnapError } from './core/errors.js';
import { parseEnvelope, type Envelope, type TrustedKey } from './core/envelope.js';
import { judgeSignatures, policyFailure, type PolicyReport, type SignatureVerdict, type SignerReport } from './trust/signatures.js';
import { MAX_STATEMENT_BYTES, nameMismatch, parseStatement, snapshotId, type Statement } from './core/statement.js';
import { MAX_ENVELOPE_BYTES } from './core/envelope.js';
import { bytesEqual, fromBase64 } from './core/encoding.js';
import { ENVELOPE_FILE, MANIFEST_FILE, STATEMENT_FILE, type SnapshotLocation } from './io/store.js';
import { readSmallFileSync } from './io/small-file.js';
import { expiryFailure, revocationFailure, type TrustRules } from './trust/rules.js';
import type { RevocationReport } from './trust/revocations.js';

/** A signer as reported to users (SPEC §8 `signers`; with a policy, its name and roles). */
export type { SignerReport } from './trust/signatures.js';

/** The trust verdict on a snapshot, before any data is looked at. */
export interface TrustCheck {
  /** True when the signatures meet the threshold and the statement is valid and matches statement.json. */
  ok: boolean;
  /** Snapshot id from the verified payload (or from statement.json when the envelope is unusable). */
  snapshot: string;
  signers: SignerReport[];
  /** The statement, parsed from the verified payload; absent when trust failed. */
  statement?: Statement;
  /** Why trust failed, with a stable code. */
  failure?: { code: string; message: string };
  /** Revocations of this snapshot that were found (trusted or not; see trust/revocations.ts). */
  revocations?: RevocationReport[];
  /** How the snapshot met the trust policy, when one was given. */
  policy?: PolicyReport;
  manifestPath: string;
}

/** Largest statement.json / envelope.json read; a larger file is read only this far (and then refused by its parser). */
const MAX_READ: Record<string, number> = { [STATEMENT_FILE]: MAX_STATEMENT_BYTES + 1, [ENVELOPE_FILE]: MAX_ENVELOPE_BYTES + 1 };

/**
 * Read a snapshot file, at most `MAX_READ[name]` bytes (a hostile file cannot make snap read
 * gigabytes), and only a regular file (a FIFO planted in the store cannot make snap wait forever).
 * @throws SnapError `INTEGRITY_FAILURE` (not a regular file: the snapshot was damaged) | `NOT_FOUND` | `IO_ERROR`
 */
async function readFileOr3(path: string, what: string): Promise<Buffer> {
  // Synchronously: `impact` and `lineage` read every snapshot of a store, and each file read through
  // the thread pool waited on four round trips (docs/PERFORMANCE.md, "Forty-second session").
  return readSmallFileSync(path, MAX_READ[what] ?? Number.MAX_SAFE_INTEGER, `cannot read the snapshot's ${what}`, (shown) =>
    new SnapError('INTEGRITY_FAILURE', `${shown} is not a regular file: the snapshot was damaged`, { path }),
  );
}

/**
 * Read a snapshot's `statement.json` or `envelope.json`, at most one byte more than its bound
 * (`MAX_STATEMENT_BYTES`, `MAX_ENVELOPE_BYTES`): a larger file comes back cut short, for its parser
 * to refuse.
 * @throws SnapError `NOT_FOUND` | `IO_ERROR`
 */
export async function readSnapshotFile(loc: SnapshotLocation, name: typeof STATEMENT_FILE | typeof ENVELOPE_FILE): Promise<Buffer> {
  return readFileOr3(join(loc.dir, name), name);
}

/**
 * The name a location expects its snapshot to carry: the store folder's `NAME/VERSION`, or an
 * archive file's `NAME@VERSION.snap.tar`. Undefined for a snapshot folder given by path.
 */
function expectedName(loc: SnapshotLocation): { name: string; version: string } | undefined {
  return loc.name !== undefined && loc.version !== undefined ? { name: loc.name, version: loc.version } : undefined;
}

/**
 * Check a snapshot's envelope and statement against trusted keys.
 * A bad or untrusted signature, a malformed envelope, an invalid statement or a statement.json that
 * differs from the signed payload are results (`ok: false` with `failure`), not errors; so is a
 * snapshot that breaks a rule of `rules` (trust/rules.ts: `SNAPSHOT_REVOKED`, `REVOCATION_MALFORMED`,
 * `POLICY_NOT_SATISFIED`, `SNAPSHOT_TOO_OLD`, `SNAPSHOT_EXPIRED`, and `SNAPSHOT_ROLLBACK` from
 * `rules.versionSeen`: a version this machine trusted in the store as another snapshot). With `rules.policy`, the policy's
 * keys are trusted besides `trusted` (see trust/signatures.ts).
 * @throws SnapError `NOT_FOUND` | `IO_ERROR` when the snapshot's files cannot be read (exit 3)
 */
export async function checkTrust(loc: SnapshotLocation, trusted: readonly TrustedKey[], threshold = 1, rules: TrustRules = {}): Promise<TrustCheck> {
  const manifestPath = join(loc.dir, MANIFEST_FILE);
  // A snapshot file that is gone is a failed check (SPEC §8: "a signature is missing" is exit 1).
  const gone = async (name: string): Promise<boolean> => !(await fsp.access(join(loc.dir, name)).then(() => true, () => false));
  for (const [name, code, what] of [
    [ENVELOPE_FILE, 'SIGNATURE_INVALID', 'the snapshot is unsigned'],
    [STATEMENT_FILE, 'INTEGRITY_FAILURE', 'the snapshot was damaged'],
    [MANIFEST_FILE, 'INTEGRITY_FAILURE', 'the snapshot was damaged'],
  ] as const) {
    if (await gone(name)) {
      const id = (await gone(STATEMENT_FILE)) ? '' : snapshotId(await readFileOr3(join(loc.dir, STATEMENT_FILE), STATEMENT_FILE));
      return { ok: false, snapshot: id, signers: [], failure: { code, message: `${name} is missing from ${loc.dir}: ${what}` }, manifestPath };
    }
  }
  const statementBytes = await readFileOr3(join(loc.dir, STATEMENT_FILE), STATEMENT_FILE);
  const envelopeBytes = await readFileOr3(join(loc.dir, ENVELOPE_FILE), ENVELOPE_FILE);
  const fallbackId = snapshotId(statementBytes);
  let env: Envelope;
  try {
    env = parseEnvelope(envelopeBytes);
  } catch (e) {
    if (!isSnapError(e)) throw e;
    return { ok: false, snapshot: fallbackId, signers: [], failure: { code: e.code, message: `envelope: ${e.message}` }, manifestPath };
  }
  const now = rules.now ?? new Date();
  let verdict: SignatureVerdict;
  try {
    verdict = judgeSignatures(env, trusted, threshold, rules.policy, now);
  } catch (e) {
    if (!isSnapError(e) || e.code === 'USAGE') throw e;
    return { ok: false, snapshot: fallbackId, signers: [], failure: { code: e.code, message: `envelope: ${e.message}` }, manifestPath };
  }
  const signers = verdict.signers;
  const snapshot = snapshotId(verdict.payload);
  if (verdict.failure) return { ok: false, snapshot, signers, failure: verdict.failure, manifestPath };
  let statement: Statement;
  try {
    statement = parseStatement(verdict.payload);
  } catch (e) {
    if (!isSnapError(e)) throw e;
    return { ok: false, snapshot, signers, failure: { code: e.code, message: `signed statement refused: ${e.message}` }, manifestPath };
  }
  const expected = expectedName(loc);
  const mismatch = expected && nameMismatch(statement, expected);
  if (mismatch) {
    return { ok: false, snapshot, signers, statement, failure: { code: 'SNAPSHOT_NAME_MISMATCH', message: mismatch }, manifestPath };
  }
  if (!bytesEqual(statementBytes, verdict.payload)) {
    return {
      ok: false,
      snapshot,
      signers,
      statement,
      failure: { code: 'INTEGRITY_FAILURE', message: `${STATEMENT_FILE} differs from the signed payload (it was altered)` },
      manifestPath,
    };
  }
  let revoked: Awaited<ReturnType<typeof revocationFailure>>;
  try {
    revoked = await revocationFailure(snapshot, rules, trusted);
  } catch (e) {
    if (!isSnapError(e, 'REVOCATION_MALFORMED')) throw e;
    return { ok: false, snapshot, signers, statement, failure: { code: e.code, message: e.message }, manifestPath };
  }
  const revocations = revoked.reports.length > 0 ? { revocations: revoked.reports } : {};
  if (revoked.failure) return { ok: false, snapshot, signers, statement, failure: revoked.failure, ...revocations, manifestPath };
  let policy: PolicyReport | undefined;
  if (rules.policy) {
    const pf = policyFailure(rules.policy, statement, verdict.policySigners, now);
    policy = pf.report;
    if (pf.failure) return { ok: false, snapshot, signers, statement, failure: pf.failure, ...revocations, policy, manifestPath };
  }
  const withPolicy = policy ? { policy } : {};
  const expired = expiryFailure(statement, now);
  if (expired) return { ok: false, snapshot, signers, statement, failure: expired, ...revocations, ...withPolicy, manifestPath };
  const replaced = rules.versionSeen?.(loc, snapshot, statement);
  if (replaced) return { ok: false, snapshot, signers, statement, failure: replaced, ...revocations, ...withPolicy, manifestPath };
  return { ok: true, snapshot, signers, statement, ...revocations, ...withPolicy, manifestPath };
}

/**
 * Read a snapshot's statement and signer keyids without trusting them (for `list`, `show`, `diff`
 * headers, and the snapshot id that `revoke`, `attest`, a seal's parent and lineage name). Nothing
 * here is verified, but the statement and id are those of the envelope's payload — the bytes the
 * signatures cover and verify takes the id from — whenever the envelope can be read and its
 * payload is a statement: a `statement.json` edited in the store cannot make `revoke` revoke, or
 * `attest` name, another id than the signed one. Only without such an envelope is `statement.json`
 * read instead. A statement that names another snapshot than the one the location was found as
 * (a swapped store folder or a renamed archive) is refused. `payloadMatches` tells whether
 * `statement.json` is byte for byte that payload (false too when the envelope cannot be read): a
 * check that needs no key. `envelopeProblem` says why the envelope could not be read (its error
 * code and message), for `show` to report instead of "no signatures". `envelope` is the parsed
 * envelope when its payload is the statement returned (for a caller that checks its signatures
 * against keys of its own, as an incremental seal does its parent's).
 * @throws SnapError `NOT_FOUND` | `IO_ERROR` | `SNAPSHOT_MALFORMED` | `SNAPSHOT_NAME_MISMATCH` (exit 1)
 */
export async function readSnapshotUnverified(loc: SnapshotLocation): Promise<{ snapshot: string; statement: Statement | undefined; keyids: string[]; statementBytes: Uint8Array; payloadMatches: boolean; envelopeProblem?: { code: string; message: string }; envelope?: Envelope }> {
  const fileBytes = await readFileOr3(join(loc.dir, STATEMENT_FILE), STATEMENT_FILE);
  const envelopeBytes = await readFileOr3(join(loc.dir, ENVELOPE_FILE), ENVELOPE_FILE);
  let keyids: string[] = [];
  let payload: Uint8Array | undefined;
  let statement: Statement | undefined;
  let envelopeProblem: { code: string; message: string } | undefined;
  let envelope: Envelope | undefined;
  try {
    const env = parseEnvelope(envelopeBytes);
    keyids = env.signatures.map((s) => s.keyid);
    payload = fromBase64(env.payload);
    statement = parseStatement(payload);
    envelope = env;
  } catch (e) {
    // Verify fails on it; statement.json is all there is to show, and the caller can say why.
    payload = undefined;
    envelopeProblem = isSnapError(e) ? { code: e.code, message: e.message } : { code: 'ENVELOPE_MALFORMED', message: String((e as Error)?.message ?? e) };
  }
  const payloadMatches = payload !== undefined && bytesEqual(fileBytes, payload);
  const statementBytes = payload ?? fileBytes;
  if (!statement) {
    try {
      statement = parseStatement(fileBytes);
    } catch {
      statement = undefined;
    }
  }
  if (!statement) throw new SnapError('SNAPSHOT_MALFORMED', `${join(loc.dir, STATEMENT_FILE)} is not a valid snap statement`, { path: loc.dir });
  const expected = expectedName(loc);
  const mismatch = expected && nameMismatch(statement, expected);
  if (mismatch) throw new SnapError('SNAPSHOT_NAME_MISMATCH', mismatch, { ref: loc.ref, expected: `${expected.name}@${expected.version}`, signed: `${statement.predicate.dataset}@${statement.predicate.version}` });
  return { snapshot: snapshotId(statementBytes), statement, keyids, statementBytes, payloadMatches, ...(envelopeProblem ? { envelopeProblem } : {}), ...(envelope ? { envelope } : {}) };
}
