/**
 * `snap revoke <ref> --reason TEXT --key KEY…`: sign a revocation of a snapshot (the incident
 * response: "v7 is poisoned, never train on it again"), keep it in the store
 * (`STORE/revocations/<snapshot id hex>/`) and, with `--out FILE`, write it as a file to carry to
 * other machines (`verify --revocations FILE`, or `snap import FILE`). verify then refuses the
 * snapshot when the revocation is signed by a key it trusts.
 */
import { resolve } from 'node:path';
import { SnapError } from '../../core/errors.js';
import { parseEnvelope, serializeEnvelope, signEnvelope, verifyEnvelope, type TrustedKey } from '../../core/envelope.js';
import { buildRevocation, checkReason, revocationId, serializeRevocation } from '../../core/revocation.js';
import { formatTime, snapshotId, statementRef } from '../../core/statement.js';
import { ENVELOPE_FILE, storePath, type SnapshotLocation } from '../../io/store.js';
import { writeOutputFile } from '../../io/output-temp.js';
import { readSnapshotFile, readSnapshotUnverified } from '../../snapshot.js';
import { keepRevocation } from '../../trust/revocations.js';
import { TOOL_NAME, TOOL_VERSION } from '../../version.js';
import { EXIT_OK } from '../exit-codes.js';
import { shortId, shortKeyid } from '../format.js';
import { openSnapshotRef } from '../snapshot-ref.js';
import { jsonOut, signingKeys, trustedKeys, audit, auditErrors, type Args, type CliIo, type CommandSpec, commonFlags, withExamples } from '../common.js';
import { existsSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { escapeForTerminal as shown } from '../../core/display.js';

/**
 * `revoke --pubkey`: the snapshot found must carry a valid signature by one of `expected` over the
 * very payload whose id the revocation will name. Without it, whoever can write the store could
 * swap the folder for a snapshot of their own under the same name just before the revocation: it
 * would name the planted id, and the real snapshot would pass wherever the revocation is carried.
 * @throws SnapError `SIGNATURE_INVALID` (exit 1) | `ENVELOPE_MALFORMED` | `ENVELOPE_UNKNOWN_PAYLOAD_TYPE` | `NOT_FOUND` | `IO_ERROR`
 */
async function mustBeSignedBy(loc: SnapshotLocation, snapshot: string, expected: readonly TrustedKey[]): Promise<void> {
  const v = verifyEnvelope(parseEnvelope(await readSnapshotFile(loc, ENVELOPE_FILE)), expected, 1);
  if (!v.ok || snapshotId(v.payload) !== snapshot) {
    throw new SnapError('SIGNATURE_INVALID', `${loc.ref} (${snapshot}) carries no valid signature by a --pubkey key (it was not made by whom you expected, or was replaced in the store); nothing was revoked`, { ref: loc.ref, snapshot });
  }
}

async function cmdRevoke(a: Args, io: CliIo): Promise<number> {
  const store = storePath(a.store, io.env, io.cwd);
  const reason = checkReason(String(a.reason ?? ''));
  const out = a.out === undefined ? undefined : resolve(io.cwd, String(a.out));
  const haveStore = existsSync(join(store, 'store.json'));
  // No store is an input error (exit 3, as for every command that needs one), not a usage error.
  if (!haveStore && out === undefined) throw new SnapError('NOT_FOUND', `no snap store at ${store} to keep the revocation in: give --out FILE (or --store / $SNAP_STORE an existing store)`, { path: store });
  const keys = await signingKeys(io, a);
  // --pubkey: whose signature the snapshot must carry (its producer), or nothing is revoked.
  const expected = a.pubkey ? await trustedKeys(a.pubkey as string[], io.cwd) : undefined;
  const opened = await openSnapshotRef(String(a.ref), io, store);
  let info;
  try {
    info = await readSnapshotUnverified(opened.location);
    if (expected) await mustBeSignedBy(opened.location, info.snapshot, expected);
  } finally {
    await opened.close();
  }
  const ref = statementRef(info.statement as NonNullable<typeof info.statement>);
  if (!expected && !a.quiet) {
    io.stderr.write(`note: without --pubkey, nothing checks who signed the snapshot found as ${shown(String(a.ref))} (${shortId(info.snapshot)}): were it swapped in the store for another signed under that name, that one would be revoked instead; give --pubkey PRODUCER.pub to revoke only a snapshot its producer signed\n`);
  }
  const statement = buildRevocation(info.snapshot, ref, reason, formatTime(new Date()), { name: TOOL_NAME, version: TOOL_VERSION });
  const statementBytes = serializeRevocation(statement);
  const envelope = serializeEnvelope(signEnvelope(statementBytes, keys));
  // --out first (it never replaces a file): a FILE_EXISTS or a full disk there must not leave the
  // snapshot revoked in the store by a command that failed. If the store then refuses the
  // revocation, the file this command just made is removed again.
  if (out !== undefined) await writeOutputFile(out, envelope, { mode: 0o644, exclusive: true, what: 'cannot write the revocation' });
  let kept;
  try {
    kept = haveStore ? await keepRevocation(store, envelope) : undefined;
  } catch (e) {
    if (out !== undefined) await fsp.rm(out, { force: true });
    throw e;
  }
  const id = revocationId(statementBytes);
  const keyids = keys.map((k) => k.keyid);
  const log = await audit(io, store, { command: 'revoke', ref, snapshot: info.snapshot, outcome: 'ok', details: { revocation: id, reason, keyids } }, { quiet: !!a.quiet });
  if (a.json) {
    jsonOut(io, { ok: true, ref, snapshot: info.snapshot, revocation: id, reason, revokedAt: statement.predicate.revokedAt, keyids, ...(kept ? { kept: kept.path } : {}), ...(out ? { out } : {}), log });
  } else {
    io.stdout.write(
      [
        `revoked ${shown(ref)} (${shortId(info.snapshot)}): ${shown(reason)}`,
        `  signed by  ${keyids.map(shortKeyid).join(', ')}`,
        ...(kept ? [`  kept in    ${shown(kept.path)}`] : []),
        ...(out ? [`  written to ${shown(out)} (give it to other machines: snap verify … --revocations FILE, or snap import FILE --pubkey KEY.pub)`] : []),
        `  verify now refuses ${shown(ref)} wherever this revocation is found and its signer is trusted`,
      ].join('\n') + '\n',
    );
  }
  return EXIT_OK;
}

/** `snap revoke <ref>`. */
export const revokeCommand: CommandSpec = {
  command: 'revoke <ref>',
  describe: 'Sign a revocation of a snapshot (never train on it again); kept in the store, --out for a file',
  builder: (y) =>
    withExamples(
    commonFlags(y, { store: true, quiet: 'no notes on stderr' })
      .positional('ref', { type: 'string', describe: 'NAME@VERSION, snapshot id, snapshot folder, or an archive FILE.snap.tar' })
      .option('reason', { type: 'string', requiresArg: true, demandOption: true, describe: 'why the snapshot must not be used (shown by verify)' })
      .option('key', { type: 'string', array: true, requiresArg: true, demandOption: true, describe: 'private key file (PKCS#8 PEM) to sign the revocation with; repeatable' })
      .option('passphrase-env', { type: 'string', requiresArg: true, describe: 'environment variable holding the key passphrase' })
      .option('out', { type: 'string', requiresArg: true, describe: 'also write the revocation to this file (never overwritten)' })
      .option('pubkey', { type: 'string', array: true, requiresArg: true, describe: 'revoke only if one of these keys (its producer) signed the snapshot found; else exit 1, nothing revoked (repeatable)' }),
      [
        ['$0 revoke ds@v7 --reason "flipped labels" --key sec.key', 'verify refuses ds@v7 from now on'],
        ['$0 revoke ds@v7 --reason "flipped labels" --key sec.key --pubkey producer.pub', 'only if ds@v7 in the store is the one the producer signed'],
      ],
    ),
  run: auditErrors('revoke', (a) => a.ref, cmdRevoke),
};
