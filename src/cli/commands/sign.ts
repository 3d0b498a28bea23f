/**
 * `snap sign <ref> --key KEY…`: add a signature (co-signing, SPEC §5) to a snapshot that already
 * exists — in the store, a snapshot folder, or an archive `FILE.snap.tar` — after checking that
 * its payload is unchanged and its manifest matches. A key that already signed is a no-op (exit 0).
 */
import { resolve, sep } from 'node:path';
import { storePath } from '../../io/store.js';
import { cosignArchive, cosignSnapshot, type CosignResult } from '../../trust/cosign.js';
import { EXIT_OK } from '../exit-codes.js';
import { plural, shortId, shortKeyid } from '../format.js';
import { isArchiveFile } from '../snapshot-ref.js';
import { jsonOut, locate, signingKeys, trustedKeys, audit, auditErrors, type Args, type CliIo, type CommandSpec, commonFlags, withExamples } from '../common.js';
import { escapeForTerminal as shown } from '../../core/display.js';
import { STATE_DIR_OPTION, stateDirNeedsPubkey, versionSeenOfKeys } from '../trust-args.js';

async function cmdSign(a: Args, io: CliIo): Promise<number> {
  const store = storePath(a.store, io.env, io.cwd);
  const refText = String(a.ref);
  stateDirNeedsPubkey(a);
  const keys = await signingKeys(io, a);
  // --pubkey: whose signature must already be there (the producer the co-signer vouches after).
  const expected = a.pubkey ? await trustedKeys(a.pubkey as string[], io.cwd) : undefined;
  let r: CosignResult;
  let archive: string | undefined;
  if (isArchiveFile(refText, io.cwd)) {
    archive = resolve(io.cwd, refText);
    r = await cosignArchive(archive, refText, keys, expected);
  } else {
    const loc = await locate(refText, io, store);
    const inStore = loc.name !== undefined || loc.dir.startsWith(store + sep);
    // With --pubkey, a version this machine trusted in the store as another snapshot is refused, as verify refuses it.
    const versionSeen = expected ? await versionSeenOfKeys(a, io, store, expected) : undefined;
    r = await cosignSnapshot(loc, keys, inStore ? store : undefined, expected, versionSeen);
  }
  // As revoke: without --pubkey the signature vouches for whatever the store (or file) held under that name.
  if (!expected && r.added.length > 0 && !a.quiet) {
    io.stderr.write(`note: without --pubkey, nothing checked who signed the snapshot found as ${shown(refText)} (${shortId(r.snapshot)}) before this signature was added: were it swapped for one signed by another key, that one now carries it; give --pubkey PRODUCER.pub to sign only what its producer signed\n`);
  }
  const log = await audit(
    io,
    store,
    { command: 'sign', ref: r.ref, snapshot: r.snapshot, outcome: 'ok', details: { added: r.added, alreadySigned: r.alreadySigned, ...(archive ? { archive } : {}) } },
    { quiet: !!a.quiet },
  );
  if (a.json) {
    jsonOut(io, { ok: true, ref: r.ref, snapshot: r.snapshot, ...(archive ? { archive } : {}), changed: r.changed, added: r.added, alreadySigned: r.alreadySigned, signatures: r.signatures, log });
    return EXIT_OK;
  }
  const where = archive ? ` in ${shown(refText)}` : '';
  const out: string[] = [];
  for (const k of r.added) out.push(`signed ${shown(r.ref)} (${shortId(r.snapshot)})${where} with keyid ${shortKeyid(k)}`);
  for (const k of r.alreadySigned) out.push(`${shown(r.ref)} (${shortId(r.snapshot)})${where} is already signed by keyid ${shortKeyid(k)}: nothing to do`);
  out.push(`  the envelope carries ${plural(r.signatures, 'signature')}${r.changed ? '' : ' (unchanged)'}`);
  io.stdout.write(out.join('\n') + '\n');
  return EXIT_OK;
}

/** `snap sign <ref>`. */
export const signCommand: CommandSpec = {
  command: 'sign <ref>',
  describe: 'Co-sign an existing snapshot (store, folder or .snap.tar): add a signature, payload unchanged',
  builder: (y) =>
    withExamples(
    commonFlags(y, { store: true, quiet: 'no notes on stderr' })
      .positional('ref', { type: 'string', describe: 'NAME@VERSION, snapshot id, snapshot folder, or an archive FILE.snap.tar' })
      .option('key', { type: 'string', array: true, requiresArg: true, demandOption: true, describe: 'private key file (PKCS#8 PEM) to sign with; repeatable' })
      .option('passphrase-env', { type: 'string', requiresArg: true, describe: 'environment variable holding the key passphrase' })
      .option('pubkey', { type: 'string', array: true, requiresArg: true, describe: 'sign only if one of these keys (the producer you vouch after) already signed it, and it is no other snapshot of a NAME@VERSION this machine verified in the store; else exit 1, nothing signed (repeatable)' })
      .option('state-dir', { ...STATE_DIR_OPTION, describe: 'with --pubkey: folder of the trusted state, whose recorded versions count (default: $SNAP_STATE_DIR, else $XDG_STATE_HOME/snap, else ~/.local/state/snap)' }),
      [
        ['$0 sign fraud@v3 --key reviewer.key --pubkey producer.pub', 'the reviewer adds a second signature, only to what the producer signed'],
        ['$0 sign fraud@v3.snap.tar --key reviewer.key', 'the same, in an archive'],
      ],
    ),
  run: auditErrors('sign', (a) => a.ref, cmdSign),
};
