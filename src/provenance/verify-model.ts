/**
 * `verify-model`: which signed snapshots a model was trained on, and whether each is still
 * trusted. A model's files are matched by SHA-256 to the subjects of the attestations (in the
 * store, or one exported file); an attestation counts only when a trusted key signed it; each
 * snapshot it names must be in the store under its id, signed by a trusted key, signed as the name
 * the attestation records, with the recorded Merkle root, and neither expired (`expiresAt`) nor
 * revoked by a trusted key (a revocation kept in the store, docs/FORMAT.md §15).
 */
import { SnapError, isSnapError } from '../core/errors.js';
import { MAX_ENVELOPE_BYTES, type TrustedKey } from '../core/envelope.js';
import { attestationRef, type TrainingDataset } from '../core/attestation.js';
import { statementRef } from '../core/statement.js';
import { resolveRef, type SnapshotLocation, type Store } from '../io/store.js';
import { readSmallFile } from '../io/small-file.js';
import { checkTrust, type SignerReport } from '../snapshot.js';
import { revocationSource, type RevocationSource } from '../trust/revocations.js';
import type { TrustRules } from '../trust/rules.js';
import type { HashedArtifact } from './artifacts.js';
import { checkAttestationEnvelope, checkStoredAttestation, listAttestations, type AttestationCheck } from './attestation-store.js';
import type { LeafSink } from '../io/audit-log.js';
import { attestRecords, MAX_MISSING_ATTESTATIONS_LISTED, type MissingAttestation, type MissingState } from './attest-log.js';

/** A training-data snapshot's verdict. */
export interface DatasetVerdict extends TrainingDataset {
  trusted: boolean;
  signers: SignerReport[];
  failure?: { code: string; message: string };
}

/** A trusted attestation covering the model, with its datasets' verdicts. */
export interface AttestationVerdict {
  ref: string;
  id: string;
  createdAt: string;
  signers: SignerReport[];
  datasets: DatasetVerdict[];
  /** Artifacts it attests that were not given under their attested name and digest (a subset of the model was checked). */
  notGiven: string[];
}

/** What {@link verifyModel} found. */
export interface VerifyModelResult {
  ok: boolean;
  files: { path: string; name: string; sha256: string }[];
  /** Trusted attestations covering every file given. */
  attestations: AttestationVerdict[];
  /** Attestations covering every file given, but not trusted (with why). */
  rejected: { ref?: string; id: string; failure: { code: string; message: string } }[];
  /**
   * Attestation folders of the store that could not be read (`NOT_FOUND`: empty, or a file where
   * the folder should be; `IO_ERROR`: a file that is not a regular file, unreadable), by their
   * folder's MODEL@VERSION. They are skipped: an attestation is only ever evidence for a model, and
   * whoever can make one unreadable could as well delete it (see {@link verifyModel}).
   */
  unreadable: { ref: string; failure: { code: string; message: string } }[];
  /**
   * Store mode only (no `attestationFile`): the attestations the audit log records as covering these
   * files (as the attestations found here are chosen: by digest, `expect`, `complete`) that the store
   * no longer holds as recorded — removed (`gone`), `replaced` by another id, `unreadable` — the
   * first {@link MAX_MISSING_ATTESTATIONS_LISTED}. Any makes the model fail (`INTEGRITY_FAILURE`,
   * unless it failed otherwise): such an attestation counted against the model when it named
   * untrusted data, and deleting its folder needs no key.
   */
  missingAttestations?: MissingAttestation[];
  /** Why the model is not verified, when it is not. */
  failure?: { code: string; message: string };
}

/** Whether attestation `ref` (MODEL@VERSION) is the `expected` one: MODEL@VERSION exactly, or any version of MODEL. */
function isExpected(ref: string, expected: string): boolean {
  return expected.includes('@') ? ref === expected : ref.slice(0, ref.lastIndexOf('@')) === expected;
}

/**
 * The store folder of a training snapshot an attestation names: found by its id, or — when the id
 * finds no folder, or several (a copy planted under another name makes it ambiguous) — by the name
 * it is signed as. Nothing is checked here: the caller's trust check must find the folder's signed
 * id equal to `d.snapshot` (a folder found by name may hold another snapshot).
 * @returns the location, or `missing` with the code of the failed lookup by id (`REF_NOT_FOUND`,
 *   `REF_AMBIGUOUS`) when the name is not in the store either
 */
export async function locateTrainingSnapshot(d: TrainingDataset, store: Store): Promise<SnapshotLocation | { missing: { code: string; message: string } }> {
  try {
    return await resolveRef(d.snapshot, store.root);
  } catch (e) {
    if (!isSnapError(e) || (e.code !== 'REF_NOT_FOUND' && e.code !== 'REF_AMBIGUOUS')) throw e;
    const byName = await resolveRef(d.ref, store.root).catch(() => undefined);
    return byName ?? { missing: { code: e.code, message: e.message } };
  }
}

/**
 * One training snapshot's verdict. `rules` are trust/rules.ts's: the store's revocations (signed by
 * a trusted key: `SNAPSHOT_REVOKED`) and the time against which `expiresAt` is judged
 * (`SNAPSHOT_EXPIRED`); both are failed checks (exit 1), like a bad signature.
 */
async function datasetVerdict(d: TrainingDataset, store: Store, trusted: readonly TrustedKey[], rules: TrustRules): Promise<DatasetVerdict> {
  const fail = (code: string, message: string, signers: SignerReport[] = []): DatasetVerdict => ({ ...d, trusted: false, signers, failure: { code, message } });
  const loc = await locateTrainingSnapshot(d, store);
  if ('missing' in loc) return fail(loc.missing.code, `snapshot ${d.ref} (${d.snapshot}) is not in the store: ${loc.missing.message}`);
  const t = await checkTrust(loc, trusted, 1, rules);
  if (!t.ok || !t.statement) return fail(t.failure?.code ?? 'SIGNATURE_INVALID', `${d.ref}: ${t.failure?.message ?? 'not trusted'}`, t.signers);
  if (t.snapshot !== d.snapshot) return fail('INTEGRITY_FAILURE', `${d.ref} in the store is now snapshot ${t.snapshot}, not the ${d.snapshot} the model was trained on`, t.signers);
  if (statementRef(t.statement) !== d.ref) return fail('SNAPSHOT_NAME_MISMATCH', `the attestation names ${d.ref}, but snapshot ${d.snapshot} is signed as ${statementRef(t.statement)}`, t.signers);
  if (t.statement.predicate.merkleRoot !== d.merkleRoot) return fail('INTEGRITY_FAILURE', `${d.ref}: the Merkle root differs from the one attested`, t.signers);
  return { ...d, trusted: true, signers: t.signers };
}

/** The artifacts an attestation names that are not among `files` by both name and digest. */
function notGivenOf(s: NonNullable<AttestationCheck['statement']>, files: readonly HashedArtifact[]): string[] {
  const given = new Set(files.map((f) => `${f.digest.sha256} ${f.name}`));
  return s.subject.filter((x) => !given.has(`${x.digest.sha256} ${x.name}`)).map((x) => x.name);
}

/** Whether the attestation names exactly `files`: each by its name and digest, and nothing else. */
function namesExactly(s: NonNullable<AttestationCheck['statement']>, files: readonly HashedArtifact[]): boolean {
  return s.subject.length === files.length && notGivenOf(s, files).length === 0;
}

/**
 * The files given under the name of an artifact the attestation names with another digest: their
 * bytes are another artifact's (copied over it), not a renamed copy of one.
 */
function swappedOf(s: NonNullable<AttestationCheck['statement']>, files: readonly HashedArtifact[]): string[] {
  const attested = new Map(s.subject.map((x) => [x.name, x.digest.sha256]));
  return files.filter((f) => attested.has(f.name) && attested.get(f.name) !== f.digest.sha256).map((f) => f.name);
}

function covers(c: AttestationCheck, files: readonly HashedArtifact[]): boolean {
  const digests = new Set((c.statement?.subject ?? []).map((s) => s.digest.sha256));
  return files.every((f) => digests.has(f.digest.sha256));
}

/**
 * Verify a model's training data.
 * @param attestationFile an exported attestation envelope to use instead of the store's attestations
 * @param now the time expiry is judged at (default: now)
 * @param revocations where revocations are found (default: the store's)
 * @param expect the model meant: `MODEL@VERSION`, or `MODEL` for any version; only trusted
 *   attestations of it count (files another model's attestation covers fail, `ATTESTATION_NOT_FOUND`)
 * @param complete the files are the whole model: only an attestation that names exactly them (each
 *   by its file name and digest, no other artifact) counts; one that also attests a file not given,
 *   or names a given file otherwise, fails (`ATTESTATION_NOT_FOUND`). Without it, files covered by
 *   digest are enough (names may differ), unless a file has the name of an attested artifact but not
 *   its digest (swapped: `ATTESTATION_NOT_FOUND`), and `notGiven` says what else an attestation names.
 *
 * An attestation folder of the store that cannot be read is skipped and listed in `unreadable`,
 * not thrown: otherwise anyone who can write the store could block every model with one empty
 * folder or one FIFO. Skipping cannot pass a model that deleting the folder (which needs no key)
 * would not: a model passes only on a trusted attestation that was read, and the only way an
 * attestation counts against a model — a trusted one covering it names training data that is not
 * trusted — is lost as well by deleting it. Both are caught when the audit log records the
 * attestation (`missingAttestations`, {@link loggedAttestations}). Revocations are read from
 * `revocations/`, never from attestations.
 * @param logLeaves the same pass over the audit log (without `attestationFile`) hashes the leaves a
 *   check of its checkpoints needs (trust/log-checkpoints `prepareCheckpointCheck`): read once
 * @throws SnapError `NOT_FOUND` | `IO_ERROR` (`attestationFile` unreadable or not a regular file)
 */
export async function verifyModel(opts: { files: readonly HashedArtifact[]; trusted: readonly TrustedKey[]; store: Store; attestationFile?: string; now?: Date; revocations?: RevocationSource; expect?: string; complete?: boolean; logLeaves?: LeafSink }): Promise<VerifyModelResult> {
  const rules: TrustRules = { now: opts.now ?? new Date(), revocations: opts.revocations ?? revocationSource(opts.store.root, []) };
  // Only the attestations covering the files are kept: the store may hold any number of them (each
  // statement up to 1 MiB), and keeping every one parsed made memory grow with the whole folder.
  // Of one that is not trusted only what `rejected` reports is kept: anyone who can write the store
  // can plant any number that cover the files (their digests are public), unsigned.
  const matching: AttestationCheck[] = [];
  /** The store's attestation folders by MODEL@VERSION: the id each holds (whether trusted or not), undefined when unreadable. */
  const held = new Map<string, string | undefined>();
  /** The ids of the store's attestations that carry a signature verifying under a trusted key. */
  const signedByTrusted = new Set<string>();
  const rejected: VerifyModelResult['rejected'] = [];
  const unreadable: VerifyModelResult['unreadable'] = [];
  /**
   * Attestations covering the files that a trusted key signed but whose store copy was altered
   * (`statement.json` is not the signed payload: no key needed). Each is genuine, and may be the one
   * naming untrusted data: set aside as untrusted, the model passed on another attestation.
   */
  const altered: AttestationCheck[] = [];
  const reject = (c: AttestationCheck) => rejected.push({ ...(c.statement ? { ref: attestationRef(c.statement) } : {}), id: c.id, failure: c.failure ?? { code: 'SIGNATURE_INVALID', message: 'not trusted' } });
  const keep = (c: AttestationCheck) => {
    if (!covers(c, opts.files)) return;
    if (c.ok) matching.push(c);
    else {
      if (c.statement && c.failure?.code === 'INTEGRITY_FAILURE' && c.signers.some((x) => x.trusted)) altered.push(c);
      reject(c);
    }
  };
  if (opts.attestationFile !== undefined) {
    // Bounded, never blocking, only a regular file: a FIFO given as --attestation must not hang the gate.
    const bytes = await readSmallFile(opts.attestationFile, MAX_ENVELOPE_BYTES + 1, 'cannot read the attestation', (shown) => new SnapError('IO_ERROR', `cannot read the attestation: ${shown} is not a regular file`, { path: opts.attestationFile }));
    const c = checkAttestationEnvelope(bytes, opts.trusted);
    // The file named is no model attestation (a snapshot's envelope, other JSON): said with the code
    // it was refused with, not taken for one that does not cover the files ("changed since attested").
    if (!c.statement) reject(c);
    else keep(c);
  } else {
    for (const a of await listAttestations(opts.store)) {
      let c: AttestationCheck;
      try {
        c = await checkStoredAttestation(a, opts.trusted);
      } catch (e) {
        if (!isSnapError(e) || (e.code !== 'NOT_FOUND' && e.code !== 'IO_ERROR')) throw e;
        unreadable.push({ ref: `${a.model}@${a.version}`, failure: { code: e.code, message: e.message } });
        held.set(`${a.model}@${a.version}`, undefined);
        continue;
      }
      // Signed as another name than its folder's, it does not stand for the folder's attestation.
      held.set(`${a.model}@${a.version}`, c.failure?.code === 'SNAPSHOT_NAME_MISMATCH' ? undefined : c.id || undefined);
      if (c.id && c.signers.some((x) => x.trusted)) signedByTrusted.add(c.id);
      keep(c);
    }
  }
  const logged = opts.attestationFile === undefined ? await loggedAttestations(opts, held, signedByTrusted) : undefined;
  const files = opts.files.map((f) => ({ path: f.path, name: f.name, sha256: f.digest.sha256 }));
  const attestations: AttestationVerdict[] = [];
  // With `expect`, only attestations of that model (MODEL, or MODEL@VERSION) count: files that
  // another model's trusted attestation covers are not the model meant for deployment.
  const trustedOnes = matching.filter((x) => x.ok && x.statement);
  const named = trustedOnes.filter((x) => opts.expect === undefined || isExpected(attestationRef(x.statement as NonNullable<AttestationCheck['statement']>), opts.expect));
  // With `complete`, only an attestation of exactly these files counts: a model checked file by
  // file could otherwise pass with one of its files (a tokenizer, a config) swapped and left out.
  // Without it, files are matched by digest (names may differ), but a file given under the name of
  // an attested artifact must be that artifact: the weights copied over the tokenizer are not it.
  const counts = (x: AttestationCheck) => {
    const st = x.statement as NonNullable<AttestationCheck['statement']>;
    if (opts.expect !== undefined && !isExpected(attestationRef(st), opts.expect)) return false;
    return opts.complete ? namesExactly(st, opts.files) : swappedOf(st, opts.files).length === 0;
  };
  const expected = named.filter(counts);
  // A trusted attestation that would count here, whose store copy was altered: what it says of the
  // training data cannot be set aside (it may name revoked data), so the model fails.
  const alteredCounting = altered.filter(counts);
  for (const c of expected) {
    const s = c.statement as NonNullable<AttestationCheck['statement']>;
    const datasets: DatasetVerdict[] = [];
    for (const d of s.predicate.datasets) datasets.push(await datasetVerdict(d, opts.store, opts.trusted, rules));
    attestations.push({ ref: attestationRef(s), id: c.id, createdAt: s.predicate.createdAt, signers: c.signers, datasets, notGiven: notGivenOf(s, opts.files) });
  }
  let failure: VerifyModelResult['failure'];
  if (attestations.length === 0 && named.length > 0 && !opts.complete) {
    const swapped = named.map((x) => {
      const st = x.statement as NonNullable<AttestationCheck['statement']>;
      return `${attestationRef(st)} attests ${swappedOf(st, opts.files).map((m) => JSON.stringify(m)).join(', ')} with other contents`;
    });
    failure = { code: 'ATTESTATION_NOT_FOUND', message: `a file given under an attested artifact's name holds another artifact's bytes: ${swapped.join('; ')}` };
  } else if (attestations.length === 0 && named.length > 0) {
    const partial = named.map((x) => {
      const st = x.statement as NonNullable<AttestationCheck['statement']>;
      const missing = notGivenOf(st, opts.files);
      const otherNames = opts.files.filter((f) => !st.subject.some((y) => y.name === f.name && y.digest.sha256 === f.digest.sha256)).map((f) => f.name);
      return `${attestationRef(st)}${missing.length > 0 ? ` also attests ${missing.map((m) => JSON.stringify(m)).join(', ')}, not given` : ''}${otherNames.length > 0 ? `${missing.length > 0 ? ';' : ''} names ${otherNames.map((m) => JSON.stringify(m)).join(', ')} otherwise` : ''}`;
    });
    failure = { code: 'ATTESTATION_NOT_FOUND', message: `no trusted attestation names exactly these files, as the whole model (a folder, or --complete): ${partial.join('; ')}` };
  } else if (attestations.length === 0 && trustedOnes.length > 0) {
    const others = [...new Set(trustedOnes.map((x) => attestationRef(x.statement as NonNullable<AttestationCheck['statement']>)))];
    failure = { code: 'ATTESTATION_NOT_FOUND', message: `these files are attested as ${others.join(', ')}, not as ${opts.expect} (--expect): they are another model's` };
  } else if (attestations.length === 0) {
    failure = rejected.length > 0
      ? { code: rejected[0]!.failure.code, message: `the model's attestation is not trusted: ${rejected[0]!.failure.message}` }
      : logged !== undefined && logged.missing.length > 0
        ? { code: 'ATTESTATION_NOT_FOUND', message: `no attestation in the store covers these model files, but the audit log records ${logged.missing.map((m) => `${m.ref} (${m.id}, line seq ${m.seq})`).join(', ')} as made for them, and ${logged.missing.length === 1 ? 'it is' : 'they are'} ${logged.missing.every((m) => m.state === 'gone') ? 'gone from the store' : 'gone, replaced or unreadable in the store'}: removed after it was made (missingAttestations)` }
        : { code: 'ATTESTATION_NOT_FOUND', message: `no attestation covers these model files with their current contents (changed since attested, or never attested)${unreadable.length > 0 ? `; ${unreadable.length} attestation ${unreadable.length === 1 ? 'folder' : 'folders'} of the store could not be read (${unreadable.map((u) => u.ref).join(', ')}), and the model's may be among them` : ''}` };
  } else {
    const bad = attestations.flatMap((a) => a.datasets).find((d) => !d.trusted);
    // No signature of the snapshot verified under any --pubkey: most often only the model's key was
    // given, as "--pubkey" reads like the attestation's key alone. Say that the same keys check both.
    const noKey = bad !== undefined && bad.failure?.code === 'SIGNATURE_INVALID' && bad.signers.length > 0 && bad.signers.every((x) => !x.trusted);
    const hint = noKey ? "; verify-model checks the attestation and the snapshots with the same --pubkey keys: give the data's public key too (--pubkey DATA.pub)" : '';
    if (bad) failure = { code: bad.failure?.code ?? 'SIGNATURE_INVALID', message: `training data not trusted: ${bad.failure?.message ?? bad.ref}${hint}` };
  }
  if (!failure && alteredCounting.length > 0) {
    const refs = alteredCounting.map((x) => `${attestationRef(x.statement as NonNullable<AttestationCheck['statement']>)} (${x.id})`).join(', ');
    failure = { code: 'INTEGRITY_FAILURE', message: `the store's copy of ${alteredCounting.length === 1 ? 'an attestation' : `${alteredCounting.length} attestations`} of these files that a trusted key signed was altered (statement.json is not the signed payload): ${refs}; what ${alteredCounting.length === 1 ? 'it says' : 'they say'} of the model's training data cannot be set aside: restore ${alteredCounting.length === 1 ? 'its' : 'their'} statement.json from the signed envelope or a copy` };
  }
  if (!failure && logged && logged.why !== undefined) failure = { code: 'INTEGRITY_FAILURE', message: logged.why };
  return { ok: failure === undefined, files, attestations, rejected, unreadable, ...(logged ? { missingAttestations: logged.missing } : {}), ...(failure ? { failure } : {}) };
}

/**
 * The attestations the audit log records (attest-log.ts) that would count for these files — their
 * artifacts cover every file's digest, of the `expect`ed model, naming exactly the files with
 * `complete`, or no file under an artifact's name with another digest — and that the store does not
 * hold with the recorded id (`held`), and why that fails the model (`why`): also when the log, or a
 * line of it, cannot be read — an attestation it records cannot be checked. A line of an older snap
 * (no artifacts recorded) cannot be matched to files and is passed over.
 */
async function loggedAttestations(opts: { files: readonly HashedArtifact[]; trusted: readonly TrustedKey[]; expect?: string; complete?: boolean; store: Store; logLeaves?: LeafSink }, held: ReadonlyMap<string, string | undefined>, signedByTrusted: ReadonlySet<string>): Promise<{ missing: MissingAttestation[]; why?: string }> {
  const trustedKeyids = new Set(opts.trusted.map((k) => k.keyid));
  const missing: MissingAttestation[] = [];
  const listed = new Set<string>();
  let unlisted = 0;
  let unreadableLines = 0;
  try {
    for await (const item of attestRecords(opts.store.root, opts.logLeaves ? { leaves: opts.logLeaves } : {})) {
      if ('unreadable' in item) unreadableLines += item.lines;
      if (!('record' in item) || !item.record.details) continue;
      const rec = item.record;
      const details = rec.details as NonNullable<typeof rec.details>;
      const subject = details.models.map((m) => ({ name: m.name, digest: { sha256: m.sha256 } }));
      const st = { subject } as unknown as NonNullable<AttestationCheck['statement']>;
      if (!covers({ ok: true, id: rec.id, signers: [], statement: st }, opts.files)) continue;
      if (opts.expect !== undefined && !isExpected(rec.ref, opts.expect)) continue;
      if (opts.complete ? !namesExactly(st, opts.files) : swappedOf(st, opts.files).length > 0) continue;
      // Held with the recorded id: there, unless the log says a trusted key signed it and no
      // signature of it verifies now (corrupted, removed or re-labelled in the store: no key needed).
      const heldSame = held.has(rec.ref) && held.get(rec.ref) === rec.id;
      const unsigned = heldSame && !signedByTrusted.has(rec.id) && (details.signers ?? []).some((k) => trustedKeyids.has(k));
      if (heldSame && !unsigned) continue;
      const key = `${rec.ref} ${rec.id}`;
      if (listed.has(key)) continue;
      if (listed.size >= MAX_MISSING_ATTESTATIONS_LISTED) {
        unlisted++;
        continue;
      }
      listed.add(key);
      const found = held.get(rec.ref);
      const state: MissingState = unsigned ? 'unverified' : !held.has(rec.ref) ? 'gone' : found === undefined ? 'unreadable' : 'replaced';
      missing.push({ ref: rec.ref, id: rec.id, seq: rec.seq, time: rec.time, state, ...(found !== undefined && !unsigned ? { found } : {}), datasets: details.datasets, models: details.models });
    }
  } catch (e) {
    if (!isSnapError(e) || (e.code !== 'IO_ERROR' && e.code !== 'NOT_FOUND')) throw e;
    return { missing, why: `the audit log cannot be read, so an attestation of these files it records cannot be checked (one removed from the store would count against the model): ${e.message}` };
  }
  if (missing.length > 0) {
    const named = missing.map((m) => `${m.ref} (${m.state === 'gone' ? 'removed' : m.state === 'replaced' ? `replaced by ${m.found}` : m.state === 'unverified' ? 'signed by a trusted key, the log says, but no signature of it verifies now' : 'unreadable'}, audit log seq ${m.seq})`).join(', ');
    return { missing, why: `the audit log records ${missing.length + unlisted === 1 ? 'an attestation' : `${missing.length + unlisted} attestations`} of these files that the store no longer holds as recorded: ${named}${unlisted > 0 ? ` and ${unlisted} more` : ''}; what ${missing.length + unlisted === 1 ? 'it says' : 'they say'} of the model's training data cannot be judged (deleting an attestation needs no key): restore ${missing.length + unlisted === 1 ? 'it' : 'them'} from a copy, or run snap impact on its training snapshots` };
  }
  if (unreadableLines > 0) return { missing, why: `${unreadableLines === 1 ? 'a line' : `${unreadableLines} lines`} of the audit log cannot be read (malformed, or over 1 MiB): an attestation of these files ${unreadableLines === 1 ? 'it records' : 'they record'} cannot be checked (snap log --verify)` };
  return { missing };
}

