/** `snap lineage <ref>`: the chain of parents and derivations of a snapshot, with their sources. Nothing is verified. */
import { isSnapError } from '../../core/errors.js';
import { escapeForTerminal as shown } from '../../core/display.js';
import { openStore, storePath, type Store } from '../../io/store.js';
import { lineage } from '../../provenance/lineage.js';
import { EXIT_OK } from '../exit-codes.js';
import { formatBytes, formatCount, treeIndent } from '../format.js';
import { jsonOut, type Args, type CliIo, type CommandSpec, commonFlags, withExamples } from '../common.js';
import { openSnapshotRef } from '../snapshot-ref.js';

async function cmdLineage(a: Args, io: CliIo): Promise<number> {
  const storeRoot = storePath(a.store, io.env, io.cwd);
  const opened = await openSnapshotRef(String(a.ref), io, storeRoot);
  try {
    let store: Store | undefined;
    try {
      store = await openStore(storeRoot);
    } catch (e) {
      if (!isSnapError(e, 'NOT_FOUND')) throw e; // a folder or an archive, and no store: its own record only
    }
    const r = await lineage(opened.location, store);
    if (a.json) {
      jsonOut(io, { ok: true, ...r, verified: false });
      return EXIT_OK;
    }
    const lines: string[] = [];
    for (const n of r.chain) {
      const pad = treeIndent(n.depth);
      lines.push(`${treeIndent(n.depth, true)}${shown(n.ref)}  ${shown(n.snapshot)}  ${shown(n.createdAt)}  ${formatCount(n.fileCount)} files (${formatBytes(n.totalBytes)})`);
      if (n.description !== undefined) lines.push(`${pad}    description  ${shown(n.description)}`);
      if (n.license !== undefined) lines.push(`${pad}    license      ${shown(n.license)}`);
      for (const s of n.sources ?? []) lines.push(`${pad}    source       ${shown(s.uri)}${s.sha256 ? ` (sha256 ${shown(s.sha256)})` : ''}`);
      for (const f of n.from) lines.push(`${pad}    ${f.relation === 'parent' ? 'parent      ' : 'derived from'} ${f.ref !== undefined ? shown(f.ref) : '?'} ${shown(f.snapshot)}${f.inStore ? '' : ' (not in the store)'}`);
    }
    for (const s of r.skipped) lines.push(`note: ${shown(s.ref)} left out: its statement cannot be used [${s.code}]`);
    lines.push('(read from the store, not verified: run "snap verify" on each snapshot for trust)');
    io.stdout.write(lines.join('\n') + '\n');
    return EXIT_OK;
  } finally {
    await opened.close();
  }
}

/** `snap lineage <ref>`. */
export const lineageCommand: CommandSpec = {
  command: 'lineage <ref>',
  describe: 'Where a snapshot came from: its parents and derivations, with their sources',
  builder: (y) =>
    withExamples(
      commonFlags(y, { store: true }).positional('ref', { type: 'string', describe: 'NAME@VERSION, a snapshot id or prefix, a snapshot folder, or a .snap.tar archive' }),
      [['$0 lineage spam@v3', 'the chain of versions and derivations behind spam@v3']],
    ),
  run: cmdLineage,
};
