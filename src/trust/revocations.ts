/**
 * Revocations on disk and their verdict. A store keeps them write-once under
 * `STORE/revocations/<snapshot id hex>/<SHA-256 of the envelope bytes>.json` (each file one DSSE
 * envelope of a revocation statement, core/revocation.ts); `verify --revocations FILE…` reads
 * more from anywhere. A revocation counts only when one of its signatures verifies under a key the
 * verifier trusts to revoke (the `--pubkey` keys, or the policy's keys); one signed by anybody else
 * is reported and does not count. A revocation file that cannot be read as one is a failure (fail
 * closed: it may be a real revocation that was damaged).
 */
import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { SnapError, isSnapError } from '../core/errors.js';
import { MAX_SIGNATURES, parseEnvelope, serializeEnvelope, verifyEnvelope, type Envelope, type TrustedKey } from '../core/envelope.js';
import { decodeUtf8, fromBase64 } from '../core/encoding.js';
import { MAX_REVOCATION_BYTES, parseRevocation, revokedSnapshot, revocationId } from '../core/revocation.js';
import { checkInterrupted } from '../io/interrupt.js';
import { fsyncDir, lockStore, openStore, writeFileAtomic } from '../io/store.js';
import { ioError } from '../io/errors.js';
import { readSmallFile } from '../io/small-file.js';
import type { TrustedState } from './state.js';

/** The store folder that holds revocations. */
export const REVOCATIONS_DIR = 'revocations';
/** Largest revocation file read, in bytes (a statement of at most 32 KiB in base64, plus up to 64 signatures). */
export const MAX_REVOCATION_FILE_BYTES = 4 * MAX_REVOCATION_BYTES;
/** Most revocation files read for one snapshot from a store, or given with --revocations. */
export const MAX_REVOCATION_FILES = 64;

/**
 * Most signatures, distinct ones, that all the revocations of one snapshot may carry together (the
 * store's, `--revocations` files and those the trusted state kept). Each may be tried against every
 * key trusted to revoke; without this bound, 64 files of 64 junk signatures planted in a store cost
 * 64 × 64 × keys Ed25519 verifications (7 s of CPU with one key, 29 s with four) in every verify.
 * More is refused as a damaged revocation is (`REVOCATION_MALFORMED`), before any is tried.
 */
export const MAX_REVOCATION_SIGNATURES = 2 * MAX_SIGNATURES;

/** One revocation file as read: where it came from and its bytes. */
export interface RevocationDoc {
  source: string;
  bytes: Uint8Array;
  /** True for a revocation this machine's trusted state kept (reported only when no other source has it). */
  remembered?: boolean;
}

/** Where the revocations of a snapshot come from. */
export interface RevocationSource {
  /** Every revocation file that may concern the snapshot `id` (`sha256:<hex>`). */
  forSnapshot(id: string): Promise<RevocationDoc[]>;
  /** Told of each revocation that counted (the trusted state then keeps it: see {@link rememberRevocations}). */
  counted?(doc: RevocationDoc): void;
}

/** Revocations kept in the trusted state (trust/state.ts `revocations`) and the file they are in, for reports. */
export interface RememberedRevocations {
  bySnapshot: Readonly<Record<string, Readonly<Record<string, string>>>>;
  source: string;
}

/** What verify reports of one revocation of the snapshot. */
export interface RevocationReport {
  /** Hex SHA-256 of the revocation statement. */
  id: string;
  source: string;
  ref: string;
  reason: string;
  revokedAt: string;
  /** True when a key trusted to revoke signed it: then the snapshot is refused. */
  counts: boolean;
  /** Trusted keyids that signed it (with their policy names, when known). */
  revokedBy: { keyid: string; name?: string }[];
  /** Keyids its envelope claims (hints, for a revocation that does not count). */
  claimedKeyids: string[];
}

/**
 * Read one revocation file, at most {@link MAX_REVOCATION_FILE_BYTES}.
 * @throws SnapError `NOT_FOUND` | `IO_ERROR` | `REVOCATION_MALFORMED` (too large)
 */
export async function readRevocationFile(path: string): Promise<RevocationDoc> {
  // Non-blocking, and only a regular file: a planted FIFO is refused, never waited on.
  const bytes = await readSmallFile(path, MAX_REVOCATION_FILE_BYTES + 1, 'cannot read the revocation', (shown) => new SnapError('REVOCATION_MALFORMED', `${shown} is not a regular file`, { path }));
  if (bytes.length > MAX_REVOCATION_FILE_BYTES) throw new SnapError('REVOCATION_MALFORMED', `${path} is larger than ${MAX_REVOCATION_FILE_BYTES} bytes: not a revocation`, { path });
  return { source: path, bytes };
}

/** The folder of a snapshot's revocations in a store. */
export function revocationFolder(storeRoot: string, snapshot: string): string {
  return join(storeRoot, REVOCATIONS_DIR, snapshot.replace(/^sha256:/, ''));
}

/**
 * The revocation files a store holds for one snapshot (none when there is no such folder).
 * @throws SnapError `REVOCATION_MALFORMED` (more than {@link MAX_REVOCATION_FILES}, one too large,
 *   or one named `<SHA-256>.json` whose bytes do not hash to its name) | `IO_ERROR`
 */
export async function storeRevocations(storeRoot: string, snapshot: string): Promise<RevocationDoc[]> {
  const dir = revocationFolder(storeRoot, snapshot);
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw ioError(e, dir, 'cannot list the revocations');
  }
  if (names.length > MAX_REVOCATION_FILES) throw new SnapError('REVOCATION_MALFORMED', `${dir} holds ${names.length} revocation files; at most ${MAX_REVOCATION_FILES} are read`, { path: dir });
  const docs: RevocationDoc[] = [];
  for (const n of names) {
    const doc = await readRevocationFile(join(dir, n));
    // A file named as snap names a revocation — the SHA-256 of its bytes — must be those bytes: other
    // bytes there took a revocation's name (planted before the revocation was imported, or written
    // over it in an S3 bucket, whose first version is read), and may hide it: fail closed.
    const named = REVOCATION_FILE_NAME.exec(n)?.[1];
    const digest = createHash('sha256').update(doc.bytes).digest('hex');
    if (named !== undefined && named !== digest) {
      throw new SnapError('REVOCATION_MALFORMED', `${doc.source} is not the revocation its name says (its bytes hash to sha256 ${digest}): other bytes took a revocation's name, which may hide it, so nothing is trusted until it is removed`, { path: doc.source });
    }
    docs.push(doc);
  }
  return docs;
}

/** The name snap gives a revocation file: the SHA-256 (hex) of its bytes, `.json`. */
export const REVOCATION_FILE_NAME = /^([0-9a-f]{64})\.json$/;

/**
 * Revocations from a store (when there is one), from files given on the command line and, last,
 * those this machine's trusted state kept: a store that deletes a revocation once seen here cannot
 * make the revoked snapshot pass here again.
 * @param counted told of each revocation that counted (for the trusted state to keep)
 */
export function revocationSource(storeRoot: string | undefined, files: readonly RevocationDoc[], remembered?: RememberedRevocations, counted?: (doc: RevocationDoc) => void): RevocationSource {
  if (files.length > MAX_REVOCATION_FILES) throw new SnapError('USAGE', `at most ${MAX_REVOCATION_FILES} --revocations files`);
  return {
    async forSnapshot(id: string) {
      const fromStore = storeRoot === undefined ? [] : await storeRevocations(storeRoot, id);
      const kept = Object.values(remembered?.bySnapshot[id.replace(/^sha256:/, '')] ?? {}).map((text): RevocationDoc => ({ source: remembered?.source ?? 'the trusted state', bytes: Buffer.from(text, 'utf8'), remembered: true }));
      return [...fromStore, ...files, ...kept];
    },
    ...(counted ? { counted } : {}),
  };
}

/**
 * Keep in the trusted state the revocations that counted (`revocations`, trust/state.ts), in their
 * canonical form, at most {@link MAX_REVOCATION_FILES} a snapshot.
 * @returns true when the state changed
 */
export function rememberRevocations(state: TrustedState, docs: readonly RevocationDoc[]): boolean {
  let changed = false;
  for (const doc of docs) {
    const p = parseRevocationDoc(doc);
    const text = decodeUtf8(serializeEnvelope(p.envelope));
    const byFile = ((state.revocations ??= {})[p.snapshot.replace(/^sha256:/, '')] ??= {});
    const digest = createHash('sha256').update(text).digest('hex');
    if (digest in byFile || Object.keys(byFile).length >= MAX_REVOCATION_FILES) continue;
    byFile[digest] = text;
    changed = true;
  }
  return changed;
}

/** A revocation file parsed (not yet trusted). */
export interface ParsedRevocation {
  envelope: Envelope;
  statementBytes: Uint8Array;
  snapshot: string;
  ref: string;
  reason: string;
  revokedAt: string;
  id: string;
}

/** What a malformed revocation means where revocations are read to be trusted (a store's, `--revocations`). */
const MALFORMED_REVOCATION_CONSEQUENCE = 'it may be a damaged real one, so nothing is trusted until it is fixed or removed';

/**
 * Parse a revocation file: a DSSE envelope whose payload is a revocation statement.
 * @param consequence what the error says follows from it, after the reason (default: nothing is
 *   trusted until the file is fixed or removed; `import` of one file says what it takes instead)
 * @throws SnapError `REVOCATION_MALFORMED` naming the file
 */
export function parseRevocationDoc(doc: RevocationDoc, consequence = MALFORMED_REVOCATION_CONSEQUENCE): ParsedRevocation {
  try {
    const envelope = parseEnvelope(doc.bytes);
    const statementBytes = fromBase64(envelope.payload);
    const r = parseRevocation(statementBytes);
    return { envelope, statementBytes, snapshot: revokedSnapshot(r), ref: r.subject[0].name, reason: r.predicate.reason, revokedAt: r.predicate.revokedAt, id: revocationId(statementBytes) };
  } catch (e) {
    if (!isSnapError(e)) throw e;
    throw new SnapError('REVOCATION_MALFORMED', `${doc.source} is not a valid revocation (${e.message}); ${consequence}`, { path: doc.source, reason: e.code });
  }
}

/**
 * The verdict of a snapshot's revocations: every revocation naming `snapshot` is reported; it
 * counts when signed by one of `revokers`, or by one of `revokersAt(revokedAt)`: keys that counted
 * at the revocation's signed `revokedAt` (a policy key whose period has ended since, §16.4).
 * @param names policy names of keyids, for the report
 * @throws SnapError `REVOCATION_MALFORMED` for a file that is not a revocation, or when the
 *   revocations of `snapshot` carry more than {@link MAX_REVOCATION_SIGNATURES} distinct signatures
 */
export function judgeRevocations(docs: readonly RevocationDoc[], snapshot: string, revokers: readonly TrustedKey[], names?: ReadonlyMap<string, string>, counted?: (doc: RevocationDoc) => void, revokersAt?: (revokedAt: string) => readonly TrustedKey[]): RevocationReport[] {
  const reports: RevocationReport[] = [];
  const seen = new Set<string>();
  const parsed = docs.map((doc) => ({ doc, p: parseRevocationDoc(doc) })).filter(({ p }) => p.snapshot === snapshot);
  const signatures = new Set(parsed.flatMap(({ p }) => p.envelope.signatures.map((s) => s.sig)));
  if (signatures.size > MAX_REVOCATION_SIGNATURES) {
    const sources = [...new Set(parsed.map(({ doc }) => doc.source))];
    throw new SnapError('REVOCATION_MALFORMED', `the revocations of ${snapshot} carry ${signatures.size} distinct signatures; at most ${MAX_REVOCATION_SIGNATURES} are checked (${sources.slice(0, 3).join(', ')}${sources.length > 3 ? ` and ${sources.length - 3} more` : ''}): signatures planted to slow every verify may hide a real revocation, so nothing is trusted until the files that do not belong are removed`, { snapshot, signatures: signatures.size });
  }
  for (const { doc, p } of parsed) {
    const key = `${p.id} ${doc.source}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const v = revokers.length > 0 ? verifyEnvelope(p.envelope, revokers, 1) : undefined;
    let by = v?.trustedKeyids ?? [];
    if (by.length === 0 && revokersAt) {
      // `revokedAt` is read from the payload here, but counts only if the signature over that very payload verifies.
      const then = revokersAt(p.revokedAt);
      if (then.length > 0) by = verifyEnvelope(p.envelope, then, 1).trustedKeyids;
    }
    if (by.length > 0) counted?.(doc);
    // A kept revocation that the store or a --revocations file also holds (and counts there if it counts here) is reported once, from there.
    if (doc.remembered && reports.some((r) => r.id === p.id && (r.counts || by.length === 0))) continue;
    reports.push({
      id: p.id,
      source: doc.source,
      ref: p.ref,
      reason: p.reason,
      revokedAt: p.revokedAt,
      counts: by.length > 0,
      revokedBy: by.map((k) => ({ keyid: k, ...(names?.get(k) ? { name: names.get(k) } : {}) })),
      claimedKeyids: p.envelope.signatures.map((s) => s.keyid),
    });
  }
  return reports;
}

/**
 * Keep a revocation in a store, write-once, under the store's write lock.
 * @returns the file's path and whether it was already there (same bytes)
 * @throws SnapError `REVOCATION_MALFORMED` | `NOT_FOUND` (no store) | `STORE_LOCKED` | `IO_ERROR`
 */
export async function keepRevocation(storeRoot: string, envelopeBytes: Uint8Array): Promise<{ path: string; alreadyPresent: boolean; snapshot: string }> {
  const p = parseRevocationDoc({ source: 'the revocation', bytes: envelopeBytes });
  const bytes = serializeEnvelope(p.envelope);
  const store = await openStore(storeRoot);
  const lock = await lockStore(store);
  try {
    const dir = revocationFolder(store.root, p.snapshot);
    const path = join(dir, `${createHash('sha256').update(bytes).digest('hex')}.json`);
    // Already there only when those are its bytes: other bytes under its name (planted there by
    // whoever can write the store, who had the revocation's file) are no revocation of that name,
    // and are replaced (readers refuse them: storeRevocations).
    const there = await readRevocationFile(path).then(
      (d) => d.bytes,
      (e: unknown) => {
        if (isSnapError(e) && e.code === 'NOT_FOUND') return undefined;
        throw e;
      },
    );
    if (there !== undefined && Buffer.from(there).equals(Buffer.from(bytes))) return { path, alreadyPresent: true, snapshot: p.snapshot };
    checkInterrupted(); // the last moment to stop with nothing revoked
    try {
      await fsp.mkdir(dir, { recursive: true, mode: 0o755 });
    } catch (e) {
      throw ioError(e, dir, 'cannot make the revocations folder');
    }
    await writeFileAtomic(path, bytes, { mode: 0o444, exclusive: there === undefined });
    await fsyncDir(join(store.root, REVOCATIONS_DIR));
    return { path, alreadyPresent: false, snapshot: p.snapshot };
  } finally {
    await lock.release();
  }
}
