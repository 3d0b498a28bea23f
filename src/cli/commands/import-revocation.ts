/**
 * `snap import FILE.json --pubkey …` (used by `import.ts`): keep a revocation made elsewhere
 * (`snap revoke … --out FILE`) in this store, once one of its signatures verifies under a trusted key.
 */
import { SnapError } from '../../core/errors.js';
import { verifyEnvelope, type TrustedKey } from '../../core/envelope.js';
import { keepRevocation, parseRevocationDoc, readRevocationFile } from '../../trust/revocations.js';
import { discardNewStore, openStore } from '../../io/store.js';
import { EXIT_OK } from '../exit-codes.js';
import { shortId, shortKeyid } from '../format.js';
import { jsonOut, audit, announceNewStore, type Args, type CliIo } from '../common.js';
import { escapeForTerminal as shown } from '../../core/display.js';

/**
 * Import one revocation file into the store: it must be signed by one of `trusted`, or of
 * `trustedAt(revokedAt)` (keys that counted when it was signed). When there is no store, one is
 * made where its parent folder exists, as for an archive (said on stderr, `storeCreated` in
 * `--json`), once the signature has verified, and removed again if keeping the revocation fails.
 * @throws SnapError `REVOCATION_MALFORMED` | `SIGNATURE_INVALID` (signed by no trusted key; nothing kept) | `NOT_FOUND` (no store, and its parent folder does not exist) | `STORE_LOCKED` | `IO_ERROR`
 */
export async function importRevocationFile(a: Args, io: CliIo, file: string, store: string, trusted: readonly TrustedKey[], trustedAt?: (revokedAt: string) => readonly TrustedKey[]): Promise<number> {
  const doc = await readRevocationFile(file);
  // A .json given to import may be any JSON file (a proof, a BOM): say what import takes.
  const p = parseRevocationDoc(doc, 'snap import takes a NAME@VERSION.snap.tar archive or a revocation written by "snap revoke --out": nothing was kept');
  let v = verifyEnvelope(p.envelope, trusted, 1);
  // A policy key whose period ended since it signed the revocation still counts for it (FORMAT §16.4), as in verify.
  if (!v.ok && trustedAt) v = verifyEnvelope(p.envelope, trustedAt(p.revokedAt), 1);
  if (!v.ok) throw new SnapError('SIGNATURE_INVALID', `${file}: the revocation is not signed by any trusted key (--pubkey); nothing was kept`, { path: file, keyids: p.envelope.signatures.map((s) => s.keyid) });
  const opened = await openStore(store, { create: true });
  const kept = await keepRevocation(store, doc.bytes).catch(async (e: unknown) => {
    await discardNewStore(opened); // a failed import leaves no new store behind
    throw e;
  });
  const storeCreated = opened.created !== undefined;
  announceNewStore(io, storeCreated, store);
  const log = await audit(io, store, { command: 'import', ref: p.ref, snapshot: p.snapshot, outcome: 'ok', details: { revocation: p.id, alreadyPresent: kept.alreadyPresent } }, { quiet: !!a.quiet });
  if (a.json) {
    jsonOut(io, { ok: true, revocation: p.id, ref: p.ref, snapshot: p.snapshot, reason: p.reason, revokedAt: p.revokedAt, revokedBy: v.trustedKeyids, kept: kept.path, alreadyPresent: kept.alreadyPresent, storeCreated, log });
  } else {
    io.stdout.write(
      kept.alreadyPresent
        ? `the revocation of ${shown(p.ref)} (${shortId(p.snapshot)}) is already in ${shown(store)}; nothing to import\n`
        : `imported the revocation of ${shown(p.ref)} (${shortId(p.snapshot)}), signed by ${v.trustedKeyids.map(shortKeyid).join(', ')}: ${shown(p.reason)}\n  kept in ${shown(kept.path)}\n`,
    );
  }
  return EXIT_OK;
}
