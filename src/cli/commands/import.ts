/** `snap import <file>`: verify an archive completely, then add its snapshot and contents to the store. */
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { SnapError } from '../../core/errors.js';
import { escapeForTerminal as shown } from '../../core/display.js';
import { storePath } from '../../io/store.js';
import { importArchive } from '../../ops/archive.js';
import { EXIT_OK } from '../exit-codes.js';
import { formatBytes, mendedObjectsNote, plural, shortKeyid, trustedOnce } from '../format.js';
import { withProgress } from '../progress.js';
import { trustOptions, trustSetup } from '../trust-args.js';
import { importRevocationFile } from './import-revocation.js';
import { expiredKeysValidAt } from '../../core/policy.js';
import { jsonOut, commonFlags, announceNewStore, type Args, type CliIo, type CommandSpec, audit, auditErrors, withExamples } from '../common.js';


async function cmdImport(a: Args, io: CliIo): Promise<number> {
  const store = storePath(a.store, io.env, io.cwd);
  const { trusted, threshold, rules, keepRevocations } = await trustSetup(a, io, store);
  const file = resolve(io.cwd, String(a.file));
  if (!existsSync(file)) throw new SnapError('NOT_FOUND', `${String(a.file)} does not exist (no archive there)`, { path: file });
  if (file.endsWith('.json')) {
    // a revocation (snap revoke --out)
    const policy = rules.policy?.policy;
    const now = rules.now ?? new Date();
    return importRevocationFile(a, io, file, store, rules.revokers ?? trusted, policy ? (at) => expiredKeysValidAt(policy, new Date(at), now) : undefined);
  }
  const r = await withProgress(a, io, 'importing', (onProgress) => importArchive({ file, store, trusted, threshold, rules, onProgress })).finally(keepRevocations);
  announceNewStore(io, r.storeCreated, store);
  const signers = r.signers.map((x) => ({ keyid: x.keyid, trusted: x.trusted, ...(x.reason ? { reason: x.reason } : {}) }));
  // details.objects: the snapshot committed here keeps its objects (contents.json, unsigned, says so too; fsck holds it to this line). One already there was not touched.
  const details = { ...(r.alreadyPresent ? { alreadyPresent: true } : { objects: true }), ...(r.mendedObjects.length > 0 ? { mendedObjects: r.mendedObjects.length } : {}) };
  const log = await audit(io, store, { command: 'import', ref: r.ref, snapshot: r.snapshot, outcome: 'ok', ...(Object.keys(details).length > 0 ? { details } : {}) }, { quiet: !!a.quiet });
  const mended = mendedObjectsNote(r.mendedObjects, ['did not hold its bytes', 'did not hold their bytes'], 'the archive');
  if (mended && !a.quiet) io.stderr.write(mended);
  const report = (newObjects: number, newObjectBytes: number): void => {
    if (a.json) {
      jsonOut(io, {
        ok: true, ref: r.ref, snapshot: r.snapshot, store, storeCreated: r.storeCreated, alreadyPresent: r.alreadyPresent, signers, files: r.files, symlinks: r.symlinks,
        bytes: r.bytes, newObjects, newObjectBytes, mendedObjects: r.mendedObjects, seconds: Number(r.seconds.toFixed(3)),
        log,
      });
    } else if (r.alreadyPresent) {
      io.stdout.write(`${shown(r.ref)} (${shown(r.snapshot)}) is already in ${shown(store)}; nothing to import\n`);
    } else {
      io.stdout.write(
        [
          `imported ${shown(r.ref)}`,
          `  snapshot   ${shown(r.snapshot)}`,
          `  signed by  ${trustedOnce(r.signers).map((s) => shortKeyid(s.keyid)).join(', ')} (trusted)`,
          `  contents   ${plural(r.files, 'file')}${r.symlinks ? `, ${plural(r.symlinks, 'symbolic link')}` : ''} (${formatBytes(r.bytes)}), every one checked`,
          `  store      ${shown(store)}: ${plural(newObjects, 'new object')} (${formatBytes(newObjectBytes)})`,
          `  took       ${r.seconds.toFixed(2)} s`,
        ].join('\n') + '\n',
      );
    }
  };
  const pushed = io.pushed;
  if (io.afterPush && pushed && !r.alreadyPresent) {
    // An S3 store: the objects go up after the command, and only those the bucket does not hold
    // (HEAD first). One it holds, of the member's size, is neither uploaded nor read — another
    // snapshot's, or planted there — so it is not new, and the import cannot say it checked it.
    io.afterPush(async () => {
      const up = pushed();
      const kept = r.newObjects - up.objectsUploaded;
      if (kept > 0 && !a.quiet) {
        const bytes = formatBytes(Math.max(0, r.newObjectBytes - up.bytesUploaded));
        io.stderr.write(`${io.program ?? 'snap'} import: ${kept === 1 ? `1 object of the archive (${bytes}) was` : `${kept} objects of the archive (${bytes}) were`} in the bucket already, of the right size: not uploaded, and not read (snap fsck re-hashes the store's objects; snap fsck --repair-from ${shown(String(a.file))} puts back one that is not its bytes)\n`);
      }
      report(up.objectsUploaded, up.bytesUploaded);
    });
  } else report(r.newObjects, r.newObjectBytes);
  return EXIT_OK;
}

/** `snap import <file>`. */
export const importCommand: CommandSpec = {
  command: 'import <file>',
  describe: 'Verify a .snap.tar completely, then add it to the store',
  builder: (y) =>
    withExamples(
      trustOptions(commonFlags(y, { store: true, quiet: 'no progress and no notes' }))
        .positional('file', { type: 'string', describe: 'the archive (NAME@VERSION.snap.tar), or a revocation FILE.json from snap revoke --out; the store is made if there is none and its parent folder exists' }),
      [
        ['$0 import spam@v1.snap.tar --pubkey keys/ci.pub', 'all or nothing: every byte is checked first'],
        ['$0 import v7.revocation.json --pubkey keys/security.pub', 'keep a revocation made elsewhere in this store'],
      ],
    ),
  run: auditErrors('import', (a) => a.file, cmdImport),
};
