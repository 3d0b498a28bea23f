/**
 * Model attestations in the store (docs/FORMAT.md §13):
 * ```
 * STORE/attestations/<MODEL>/<VERSION>/  statement.json  envelope.json
 * ```
 * Write-once like snapshots: written in STORE/tmp under the store lock, flushed, renamed into place.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { SnapError, isSnapError } from '../core/errors.js';
import { NAME_RE, VERSION_RE } from '../core/refs.js';
import { MAX_ENVELOPE_BYTES, parseEnvelope, verifyEnvelope, type TrustedKey } from '../core/envelope.js';
import { MAX_ATTESTATION_BYTES, attestationId, parseAttestation, type AttestationStatement } from '../core/attestation.js';
import { checkInterrupted } from '../io/interrupt.js';
import { ENVELOPE_FILE, STATEMENT_FILE, fsyncDir, lockStore, makeTmpDir, writeFileAtomic, type Store } from '../io/store.js';
import { ioError } from '../io/errors.js';
import { readSmallFileSync } from '../io/small-file.js';
import { ATTESTATIONS_DIR } from '../io/store-layout.js';
import type { SignerReport } from '../snapshot.js';

/** The folder of all attestations in a store. */
export function attestationsDir(store: Store): string {
  return join(store.root, ATTESTATIONS_DIR);
}

/** An attestation found in a store (read, NOT verified). */
export interface StoredAttestation {
  model: string;
  version: string;
  dir: string;
}

/**
 * Write an attestation into the store as MODEL@VERSION (write-once).
 * @returns the attestation's folder
 * @throws SnapError `ATTESTATION_EXISTS` | `STORE_LOCKED` | `IO_ERROR` | `DISK_FULL`
 */
export async function storeAttestation(store: Store, model: string, version: string, statementBytes: Uint8Array, envelopeBytes: Uint8Array): Promise<string> {
  const dest = join(attestationsDir(store), model, version);
  const exists = () => fsp.access(dest).then(() => true, () => false);
  const refuse = () => new SnapError('ATTESTATION_EXISTS', `an attestation ${model}@${version} already exists in ${store.root}; attestations are write-once, choose a new VERSION`, { ref: `${model}@${version}` });
  if (await exists()) throw refuse();
  const lock = await lockStore(store);
  let tmp: string | undefined;
  try {
    if (await exists()) throw refuse();
    tmp = await makeTmpDir(store, 'attest');
    await writeFileAtomic(join(tmp, STATEMENT_FILE), statementBytes, { exclusive: true });
    await writeFileAtomic(join(tmp, ENVELOPE_FILE), envelopeBytes, { mode: 0o644, exclusive: true });
    await fsp.chmod(tmp, 0o755);
    await fsyncDir(tmp);
    checkInterrupted(); // the last moment to stop with nothing attested (nor an empty MODEL folder made)
    await fsp.mkdir(join(attestationsDir(store), model), { recursive: true });
    checkInterrupted();
    try {
      await fsp.rename(tmp, dest);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') throw refuse();
      throw ioError(e, dest, 'cannot store the attestation');
    }
    tmp = undefined;
    await fsyncDir(join(attestationsDir(store), model));
    return dest;
  } finally {
    if (tmp) await fsp.rm(tmp, { recursive: true, force: true }).catch(() => {});
    await lock.release();
  }
}

/** Every attestation folder in a store (MODEL and VERSION folders of valid names only), sorted. */
export async function listAttestations(store: Store): Promise<StoredAttestation[]> {
  const root = attestationsDir(store);
  const out: StoredAttestation[] = [];
  for (const model of (await fsp.readdir(root).catch(() => [] as string[])).sort()) {
    if (!NAME_RE.test(model)) continue;
    for (const version of (await fsp.readdir(join(root, model)).catch(() => [] as string[])).sort()) {
      if (VERSION_RE.test(version)) out.push({ model, version, dir: join(root, model, version) });
    }
  }
  return out;
}

/**
 * Read at most `max` bytes of a file (more is refused by the parser that follows). Opened
 * non-blocking and refused unless it is a regular file: a FIFO planted in the store as an
 * attestation file would otherwise block `verify-model`, `impact` and `bom --model` for ever.
 * @throws SnapError `NOT_FOUND` | `IO_ERROR` (unreadable, or not a regular file)
 */
async function readBounded(path: string, max: number): Promise<Buffer> {
  // Synchronously, as a snapshot's statement (snapshot.ts): `impact` reads every attestation of a store.
  return readSmallFileSync(path, max + 1, 'cannot read the attestation', (shown) => new SnapError('IO_ERROR', `cannot read the attestation: ${shown} is not a regular file`, { path }));
}

/** An attestation envelope checked against trusted keys. */
export interface AttestationCheck {
  ok: boolean;
  /** Attestation id (of the payload). */
  id: string;
  /** Parsed from the payload (verified when `ok`); absent when it cannot be parsed. */
  statement?: AttestationStatement;
  signers: SignerReport[];
  failure?: { code: string; message: string };
}

/**
 * Check an attestation envelope (bytes of `envelope.json` or of an exported file) against trusted
 * keys; the statement is parsed from the payload whether or not it verified (so that its subjects
 * can be matched), and `ok` says whether it did. A bad envelope is a result, not an error.
 */
export function checkAttestationEnvelope(envelopeBytes: Uint8Array, trusted: readonly TrustedKey[]): AttestationCheck {
  try {
    const env = parseEnvelope(envelopeBytes);
    const v = verifyEnvelope(env, trusted);
    const id = attestationId(v.payload);
    const statement = parseAttestation(v.payload);
    const signers = v.signatures.map((s): SignerReport => (s.trusted ? { keyid: s.verifiedBy as string, trusted: true } : { keyid: s.keyid, trusted: false, reason: s.reason === 'malformed' ? 'malformed signature' : 'not signed by any trusted key' }));
    if (!v.ok) return { ok: false, id, statement, signers, failure: { code: 'SIGNATURE_INVALID', message: env.signatures.length === 0 ? 'the attestation has no signatures' : 'no signature of the attestation verifies under a trusted key' } };
    return { ok: true, id, statement, signers };
  } catch (e) {
    if (!isSnapError(e) || e.code === 'USAGE') throw e;
    return { ok: false, id: '', signers: [], failure: { code: e.code, message: `attestation refused: ${e.message}` } };
  }
}

/**
 * Read a stored attestation's envelope (bounded) and check it against trusted keys; also checks
 * that `statement.json` is the signed payload and that it is signed as its folder's name.
 * @throws SnapError `NOT_FOUND` | `IO_ERROR`
 */
export async function checkStoredAttestation(a: StoredAttestation, trusted: readonly TrustedKey[]): Promise<AttestationCheck> {
  const envelopeBytes = await readBounded(join(a.dir, ENVELOPE_FILE), MAX_ENVELOPE_BYTES);
  const c = checkAttestationEnvelope(envelopeBytes, trusted);
  if (!c.ok || !c.statement) return c;
  const statementBytes = await readBounded(join(a.dir, STATEMENT_FILE), MAX_ATTESTATION_BYTES);
  if (attestationId(statementBytes) !== c.id) return { ...c, ok: false, failure: { code: 'INTEGRITY_FAILURE', message: `${STATEMENT_FILE} of ${a.model}@${a.version} differs from the signed payload` } };
  const signed = `${c.statement.predicate.model}@${c.statement.predicate.version}`;
  if (signed !== `${a.model}@${a.version}`) return { ...c, ok: false, failure: { code: 'SNAPSHOT_NAME_MISMATCH', message: `the attestation found as ${a.model}@${a.version} is signed as ${signed}` } };
  return c;
}

/** A stored attestation read without verifying it. */
export interface UnverifiedAttestation {
  /** Attestation id (of the envelope's payload). */
  id: string;
  statement: AttestationStatement;
  /** The envelope's signatures' keyids (hints, not checked). */
  keyids: string[];
}

/** Why a stored attestation could not be read by {@link readAttestationUnverified}. */
export interface UnreadableAttestation {
  unreadable: { code: string; message: string };
}

/**
 * Read a stored attestation without verifying it (for `impact`, `bom --model`): its statement from
 * the envelope payload. One that cannot be used is a result saying why, never silently nothing:
 * unreadable (`NOT_FOUND`, `IO_ERROR`: missing, not a regular file, …), a payload that is no
 * attestation (the parser's code, e.g. `ENVELOPE_MALFORMED`, `STATEMENT_INVALID`), or one signed as
 * another name than its folder's (`SNAPSHOT_NAME_MISMATCH`, as {@link checkStoredAttestation}).
 */
export async function readAttestationUnverified(a: StoredAttestation): Promise<UnverifiedAttestation | UnreadableAttestation> {
  try {
    const bytes = await readBounded(join(a.dir, ENVELOPE_FILE), MAX_ENVELOPE_BYTES);
    const env = parseEnvelope(bytes);
    const c = checkAttestationEnvelope(bytes, []);
    if (!c.statement) return { unreadable: c.failure ?? { code: 'STATEMENT_INVALID', message: 'the attestation has no statement' } };
    const signed = `${c.statement.predicate.model}@${c.statement.predicate.version}`;
    if (signed !== `${a.model}@${a.version}`) return { unreadable: { code: 'SNAPSHOT_NAME_MISMATCH', message: `the attestation found as ${a.model}@${a.version} is signed as ${signed}` } };
    return { id: c.id, statement: c.statement, keyids: env.signatures.map((s) => s.keyid) };
  } catch (e) {
    if (isSnapError(e)) return { unreadable: { code: e.code, message: e.message } };
    throw e;
  }
}
