/**
 * Co-signing (`snap sign`, SPEC §5 and §7): add signatures to a snapshot that already exists, in a
 * store, a snapshot folder or an archive. The payload never changes and the snapshot id stays the
 * same; only `envelope.json` is replaced, atomically, by an envelope with the same payload and a
 * superset of the signatures. A key that has already signed is not asked to sign again.
 *
 * Before anything is signed, the snapshot is checked as far as it can be without trusting anyone:
 * the envelope's payload is byte for byte `statement.json`, the statement is valid and names the
 * snapshot it was found as, and the manifest matches the statement (digest, root, counts). A
 * reviewer's signature then vouches for exactly the statement they were shown.
 */
import { existsSync, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SnapError, type SnapErrorCode } from '../core/errors.js';
import type { TrustRules } from './rules.js';
import { MAX_SIGNATURES, addSignatures, maxSignaturesOver, parseEnvelope, serializeEnvelope, verifyEnvelope, type Envelope, type TrustedKey } from '../core/envelope.js';
import { nameMismatch, parseStatement, snapshotId, statementRef, type Statement } from '../core/statement.js';
import { bytesEqual, fromBase64 } from '../core/encoding.js';
import { verify as verifySignature } from '../core/ed25519.js';
import { pae } from '../core/envelope.js';
import type { PrivateKey } from '../core/keys.js';
import { checkInterrupted } from '../io/interrupt.js';
import { ENVELOPE_FILE, MANIFEST_FILE, STATEMENT_FILE, acquireLockFile, lockStore, openStore, writeFileAtomic, type SnapshotLocation } from '../io/store.js';
import { readSmallFile } from '../io/small-file.js';
import { replaceArchiveEnvelope } from '../io/archive-envelope.js';
import { archiveTailBound } from '../io/archive.js';
import { checkManifestAgainst, openArchiveSnapshot } from '../ops/archive.js';
import { MAX_ENVELOPE_BYTES, MAX_STATEMENT_BYTES } from '../core/archive.js';

/** What {@link cosign} did. */
export interface CosignResult {
  /** `NAME@VERSION` from the signed statement. */
  ref: string;
  /** Snapshot id (unchanged by co-signing). */
  snapshot: string;
  /** Keyids that signed now, in the order given. */
  added: string[];
  /** Keyids that had already signed (nothing was done for them). */
  alreadySigned: string[];
  /** Signatures in the envelope afterwards. */
  signatures: number;
  /** True when the envelope (or archive) was replaced. */
  changed: boolean;
}

/** Read a snapshot file, refusing one larger than `limit` bytes, or one that is not a regular file (a planted FIFO would block forever). */
async function readBounded(path: string, limit: number): Promise<Buffer> {
  const bytes = await readSmallFile(path, limit + 1, 'cannot read the snapshot', (shown) =>
    new SnapError('INTEGRITY_FAILURE', `${shown} is not a regular file: the snapshot was damaged; nothing was signed`, { path }),
  );
  if (bytes.length > limit) throw new SnapError('SNAPSHOT_MALFORMED', `${path} is larger than ${limit} bytes`, { path });
  return bytes;
}

/** The checked snapshot a co-signature goes on. */
interface Checked {
  statement: Statement;
  snapshot: string;
  envelope: Envelope;
}

/**
 * Everything a signer must know holds before signing (see the module comment).
 * @param expected when given (`sign --pubkey`): keys of which at least one must already have signed
 * @throws SnapError `SIGNATURE_INVALID` (no valid signature by an `expected` key) |
 *   `ENVELOPE_MALFORMED` | `ENVELOPE_UNKNOWN_PAYLOAD_TYPE` | `STATEMENT_*` |
 *   `INTEGRITY_FAILURE` (statement.json is not the payload; the manifest does not match) |
 *   `SNAPSHOT_NAME_MISMATCH` | `SNAPSHOT_ROLLBACK` (`versionSeen`) | `MANIFEST_*` / `PATH_*` | `NOT_FOUND` | `IO_ERROR`
 */
async function checkBeforeSigning(loc: SnapshotLocation, expected?: readonly TrustedKey[], versionSeen?: TrustRules['versionSeen']): Promise<Checked> {
  const statementBytes = await readBounded(join(loc.dir, STATEMENT_FILE), MAX_STATEMENT_BYTES);
  const envelope = parseEnvelope(await readBounded(join(loc.dir, ENVELOPE_FILE), MAX_ENVELOPE_BYTES));
  const payload = fromBase64(envelope.payload);
  if (!bytesEqual(payload, statementBytes)) {
    throw new SnapError('INTEGRITY_FAILURE', `${loc.ref}: ${STATEMENT_FILE} is not the payload of ${ENVELOPE_FILE} (one of them was altered); nothing was signed`, { ref: loc.ref });
  }
  const statement = parseStatement(payload);
  if (loc.name !== undefined && loc.version !== undefined) {
    const mismatch = nameMismatch(statement, { name: loc.name, version: loc.version });
    if (mismatch) throw new SnapError('SNAPSHOT_NAME_MISMATCH', `${mismatch}; nothing was signed`, { ref: loc.ref, signed: statementRef(statement) });
  }
  if (expected && expected.length > 0 && !verifyEnvelope(envelope, expected, 1).ok) {
    // A co-signer vouches for what someone they trust produced: a snapshot swapped in the store by
    // whoever can write there (signed by a key of their own) must not collect their signature.
    throw new SnapError('SIGNATURE_INVALID', `${loc.ref} carries no valid signature by a --pubkey key (it was not made by whom you expected, or was replaced in the store); nothing was signed`, { ref: loc.ref });
  }
  // A version this machine trusted in the store as another snapshot (FORMAT.md §17): another store's
  // copy signed by the same producer, put in the genuine one's place, must not collect a reviewer's
  // signature (with it, a threshold of two would pass it everywhere).
  const replaced = versionSeen?.(loc, snapshotId(payload), statement);
  if (replaced) throw new SnapError(replaced.code as SnapErrorCode, `${loc.ref}: ${replaced.message}; nothing was signed`, { ref: loc.ref });
  const failure = await checkManifestAgainst(join(loc.dir, MANIFEST_FILE), statement.predicate, 'snapshot');
  if (failure) throw new SnapError('INTEGRITY_FAILURE', `${loc.ref}: ${failure.message}; nothing was signed`, { ref: loc.ref });
  return { statement, snapshot: snapshotId(payload), envelope };
}

/**
 * The envelope with each key's signature added (unless it already signed), and what happened.
 * @throws SnapError `SIGNATURE_LIMIT` when the envelope would carry more than MAX_SIGNATURES (fewer over a large statement: core `maxSignaturesOver`)
 */
function cosignEnvelope(c: Checked, keys: readonly PrivateKey[]): { envelope: Envelope; added: string[]; alreadySigned: string[] } {
  const msg = pae(c.envelope.payloadType, fromBase64(c.envelope.payload));
  const alreadySigned: string[] = [];
  let envelope = c.envelope;
  const added: string[] = [];
  for (const k of keys) {
    if (added.includes(k.keyid) || alreadySigned.includes(k.keyid)) continue;
    const next = addSignatures(envelope, [k]);
    if (next.signatures.length === envelope.signatures.length) alreadySigned.push(k.keyid);
    else added.push(k.keyid);
    envelope = next;
  }
  const most = maxSignaturesOver(envelope.payload);
  if (envelope.signatures.length > most) {
    throw new SnapError('SIGNATURE_LIMIT', `the envelope would carry ${envelope.signatures.length} signatures; at most ${most} are accepted${most < MAX_SIGNATURES ? ` over a statement this large (MAX_SIGNATURE_WORK_BYTES)` : ''}`, { signatures: envelope.signatures.length });
  }
  // The new envelope must be the old one plus signatures that verify (SPEC §7: same payload, superset).
  const old = c.envelope.signatures;
  const ok =
    envelope.payload === c.envelope.payload &&
    envelope.payloadType === c.envelope.payloadType &&
    old.every((s, i) => envelope.signatures[i]?.sig === s.sig && envelope.signatures[i]?.keyid === s.keyid) &&
    envelope.signatures.slice(old.length).every((s) => keys.some((k) => k.keyid === s.keyid && verifySignature(fromBase64(s.sig), msg, k.publicKey)));
  if (!ok) throw new SnapError('INTERNAL', 'the co-signed envelope is not the old one plus new signatures (please report this)');
  return { envelope, added, alreadySigned };
}

/** The advisory lock file of a snapshot folder (outside a store) being co-signed: `.envelope.json.lock` inside it. */
export function folderLockPath(dir: string): string {
  return join(dir, `.${ENVELOPE_FILE}.lock`);
}

/**
 * The store whose snapshot the folder `dir` is (`STORE/snapshots/NAME/VERSION`, its real path: a
 * symbolic link to it counts), or undefined for a folder outside a store.
 */
export async function storeHoldingFolder(dir: string): Promise<string | undefined> {
  const real = await fsp.realpath(dir).catch(() => undefined);
  if (real === undefined || basename(dirname(dirname(real))) !== 'snapshots') return undefined;
  const root = dirname(dirname(dirname(real)));
  return existsSync(join(root, 'store.json')) ? root : undefined;
}

/**
 * Add the signatures of `keys` to a snapshot in a store or a snapshot folder. In a store, the
 * store's write lock is held while the envelope is read and replaced; for a folder outside a store,
 * its lock file ({@link folderLockPath}, waiting up to 60 s: `STORE_LOCKED`).
 * @param storeRoot the store the snapshot is in (locked); when undefined, the store whose
 *   `snapshots/NAME/VERSION` the folder is ({@link storeHoldingFolder}), else the folder's own lock
 * @param expected `sign --pubkey`: nothing is signed unless one of these keys already signed it (`SIGNATURE_INVALID`)
 * @param versionSeen the trusted state's rule (trust/rules.ts): nothing is signed when it refuses the
 *   snapshot (`SNAPSHOT_ROLLBACK`: a NAME@VERSION this machine trusted in the store as another snapshot)
 * @throws SnapError the codes of {@link checkBeforeSigning}, `SIGNATURE_LIMIT`, `STORE_LOCKED`,
 *   `IO_ERROR`, `DISK_FULL`
 */
export async function cosignSnapshot(loc: SnapshotLocation, keys: readonly PrivateKey[], storeRoot?: string, expected?: readonly TrustedKey[], versionSeen?: TrustRules['versionSeen']): Promise<CosignResult> {
  // A store's snapshot named by its folder path (from another working folder, through a symbolic
  // link, with --store naming another store) is still that store's: its signers must all take the
  // store's lock, or one holding the folder's lock and one the store's would drop each other's signature.
  const root = storeRoot ?? (await storeHoldingFolder(loc.dir));
  // A folder outside a store has no store lock: two signers would each read the old envelope and
  // the later rename would drop the other's signature. The folder's own lock file makes them take turns.
  const lock =
    root !== undefined
      ? await lockStore(await openStore(root))
      : { release: await acquireLockFile(folderLockPath(loc.dir), `the snapshot folder ${loc.dir}`, ARCHIVE_LOCK_WAIT_MS, { interruptible: true }) };
  try {
    const c = await checkBeforeSigning(loc, expected, versionSeen);
    const { envelope, added, alreadySigned } = cosignEnvelope(c, keys);
    const result = { ref: statementRef(c.statement), snapshot: c.snapshot, added, alreadySigned, signatures: envelope.signatures.length, changed: added.length > 0 };
    if (!result.changed) return result;
    checkInterrupted(); // the last moment to stop with nothing signed
    await writeFileAtomic(join(loc.dir, ENVELOPE_FILE), serializeEnvelope(envelope), { mode: 0o644 });
    return result;
  } finally {
    await lock.release();
  }
}

/**
 * Add the signatures of `keys` to an archive `FILE.snap.tar`: its snapshot is checked as a store
 * snapshot would be (the three `snap/` members; data members are not read), then the archive is
 * written again with the new envelope and renamed over the old one (see io/archive-envelope.ts),
 * all under the archive's lock file ({@link archiveLockPath}), so that concurrent signers add up.
 * @throws SnapError `STORE_LOCKED` (another signer held the archive for 60 s) | the codes of {@link cosignSnapshot} and of reading an archive (`ARCHIVE_MALFORMED`, `ARCHIVE_HOSTILE`)
 */
export async function cosignArchive(file: string, ref: string, keys: readonly PrivateKey[], expected?: readonly TrustedKey[]): Promise<CosignResult> {
  // Two `snap sign` runs on one archive would each read the old envelope and the later rename
  // would drop the other's signature: the lock file beside the archive makes them take turns.
  const release = await acquireLockFile(archiveLockPath(file), `the archive ${file}`, ARCHIVE_LOCK_WAIT_MS, { interruptible: true });
  try {
    return await cosignArchiveLocked(file, ref, keys, expected);
  } finally {
    await release();
  }
}

/** How long `snap sign FILE.snap.tar` waits for another signer of the same archive, in ms. */
export const ARCHIVE_LOCK_WAIT_MS = 60_000;

/** The advisory lock file of an archive being co-signed: `.NAME.lock` beside it. */
export function archiveLockPath(file: string): string {
  return join(dirname(file), `.${basename(file)}.lock`);
}

async function cosignArchiveLocked(file: string, ref: string, keys: readonly PrivateKey[], expected?: readonly TrustedKey[]): Promise<CosignResult> {
  const held = await openArchiveSnapshot(file, ref);
  let c: Checked;
  try {
    c = await checkBeforeSigning(held.location, expected);
  } finally {
    await held.close();
  }
  const { envelope, added, alreadySigned } = cosignEnvelope(c, keys);
  const result = { ref: statementRef(c.statement), snapshot: c.snapshot, added, alreadySigned, signatures: envelope.signatures.length, changed: added.length > 0 };
  if (!result.changed) return result;
  const bytes = serializeEnvelope(envelope);
  await replaceArchiveEnvelope(file, bytes, c.statement.predicate.createdAt, async (tmp) => {
    // The new file must read back as the same snapshot with exactly the new envelope.
    const again = await openArchiveSnapshot(tmp, ref);
    try {
      const st = await fsp.readFile(join(again.location.dir, STATEMENT_FILE));
      const env = await fsp.readFile(join(again.location.dir, ENVELOPE_FILE));
      if (snapshotId(st) !== c.snapshot || !bytesEqual(env, bytes)) throw new SnapError('INTERNAL', `the rewritten archive ${tmp} does not read back as expected (please report this)`);
    } finally {
      await again.close();
    }
  }, archiveTailBound(c.statement.predicate));
  return result;
}
