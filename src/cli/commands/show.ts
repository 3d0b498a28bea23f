/**
 * `snap show <ref>`: show one snapshot (statement, signers, counts), from the store, a snapshot
 * folder or an archive `NAME@VERSION.snap.tar` (only its `snap/` members are read). Nothing is verified.
 */
import { SnapError } from '../../core/errors.js';
import { storePath } from '../../io/store.js';
import { readSnapshotUnverified } from '../../snapshot.js';
import { EXIT_OK } from '../exit-codes.js';
import { formatBytes, formatCount } from '../format.js';
import { jsonOut, type Args, type CliIo, type CommandSpec } from '../common.js';
import { openSnapshotRef, type OpenedSnapshot } from '../snapshot-ref.js';

async function cmdShow(a: Args, io: CliIo): Promise<number> {
  const store = storePath(a.store, io.env, io.cwd);
  const opened = await openSnapshotRef(String(a.ref), io, store);
  try {
    return await showSnapshot(opened, a, io);
  } finally {
    await opened.close();
  }
}

async function showSnapshot({ location: loc, archive }: OpenedSnapshot, a: Args, io: CliIo): Promise<number> {
  const info = await readSnapshotUnverified(loc);
  const p = info.statement?.predicate;
  if (a.json) {
    // An archive's snapshot folder is a temporary spool, gone when show returns: name the archive instead.
    const where = archive ? { archive } : { dir: loc.dir };
    jsonOut(io, { ref: loc.ref, snapshot: info.snapshot, ...where, signers: info.keyids.map((k) => ({ keyid: k })), statement: info.statement, verified: false });
    return EXIT_OK;
  }
  if (!p) throw new SnapError('SNAPSHOT_MALFORMED', 'no statement');
  const lines = [
    `${p.dataset}@${p.version}`,
    `  snapshot         ${info.snapshot}`,
    `  created          ${p.createdAt}`,
    ...(p.expiresAt ? [`  expires          ${p.expiresAt}`] : []),
    `  files            ${formatCount(p.fileCount)} (${formatBytes(p.totalBytes)})`,
    `  merkle root      ${p.merkleRoot}`,
    `  manifest sha256  ${p.manifestSha256}`,
    ...(p.parent ? [`  parent           ${p.parent}`] : []),
    ...(p.excludes ? [`  excludes         ${p.excludes.join(' ')}`] : []),
    `  tool             ${p.tool.name} ${p.tool.version}`,
    `  signatures       ${info.keyids.map((k) => k || '(no keyid)').join(', ') || 'none'}`,
    archive
      ? `  (not verified here: run "snap verify ${loc.ref} --pubkey KEY.pub")`
      : `  (not verified here: run "snap verify DIR --against ${loc.ref} --pubkey KEY.pub")`,
  ];
  io.stdout.write(lines.join('\n') + '\n');
  return EXIT_OK;
}

/** `snap show <ref>`. */
export const showCommand: CommandSpec = {
  command: 'show <ref>',
  describe: 'Show one snapshot: statement, signers, counts',
  builder: (y) =>
    y
        .positional('ref', { type: 'string', describe: 'NAME@VERSION, a snapshot id or prefix, a snapshot folder, or a NAME@VERSION.snap.tar archive' })
        .example('snap show spam@v1', 'a snapshot in the store')
        .example('snap show spam@v1.snap.tar', 'the snapshot inside an archive'),
  run: cmdShow,
};
