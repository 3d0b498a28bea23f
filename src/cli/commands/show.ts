/** `snap show <ref>`: Show one snapshot: statement, signers, counts. */
import { SnapError } from '../../core/errors.js';
import { storePath } from '../../io/store.js';
import { readSnapshotUnverified } from '../../snapshot.js';
import { EXIT_OK } from '../exit-codes.js';
import { formatBytes } from '../format.js';
import { jsonOut, locate, type Args, type CliIo, type CommandSpec } from '../common.js';

async function cmdShow(a: Args, io: CliIo): Promise<number> {
  const store = storePath(a.store, io.env, io.cwd);
  const loc = await locate(String(a.ref), io, store);
  const info = await readSnapshotUnverified(loc);
  const p = info.statement?.predicate;
  if (a.json) {
    jsonOut(io, { ref: loc.ref, snapshot: info.snapshot, dir: loc.dir, signers: info.keyids.map((k) => ({ keyid: k })), statement: info.statement, verified: false });
    return EXIT_OK;
  }
  if (!p) throw new SnapError('SNAPSHOT_MALFORMED', 'no statement');
  const lines = [
    `${p.dataset}@${p.version}`,
    `  snapshot         ${info.snapshot}`,
    `  created          ${p.createdAt}`,
    `  files            ${p.fileCount.toLocaleString('en-US')} (${formatBytes(p.totalBytes)})`,
    `  merkle root      ${p.merkleRoot}`,
    `  manifest sha256  ${p.manifestSha256}`,
    ...(p.parent ? [`  parent           ${p.parent}`] : []),
    ...(p.excludes ? [`  excludes         ${p.excludes.join(' ')}`] : []),
    `  tool             ${p.tool.name} ${p.tool.version}`,
    `  signatures       ${info.keyids.map((k) => k || '(no keyid)').join(', ') || 'none'}`,
    `  (not verified here: run "snap verify DIR --against ${loc.ref} --pubkey KEY.pub")`,
  ];
  io.stdout.write(lines.join('\n') + '\n');
  return EXIT_OK;
}

/** `snap show <ref>`. */
export const showCommand: CommandSpec = {
  command: 'show <ref>',
  describe: 'Show one snapshot: statement, signers, counts',
  builder: (y) =>
    y.positional('ref', { type: 'string' }),
  run: cmdShow,
};
