/**
 * `snap lineage <ref>`: the chain of parents and derivations of a snapshot, with their sources.
 * Nothing is verified unless `--pubkey` is given: then each snapshot of the chain is checked, the
 * edges of one that fails are not followed, and the exit code is 1 if any fails or if an ancestor
 * is not in the store (it cannot be checked: fail closed).
 */
import { isSnapError } from '../../core/errors.js';
import { escapeForTerminal as shown } from '../../core/display.js';
import { openStore, storePath, type Store } from '../../io/store.js';
import { lineage, signatureTrust } from '../../provenance/lineage.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { formatBytes, formatCount, treeIndent } from '../format.js';
import { jsonOut, trustedKeys, type Args, type CliIo, type CommandSpec, commonFlags, withExamples } from '../common.js';
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
    const pubs = a.pubkey === undefined ? [] : (Array.isArray(a.pubkey) ? a.pubkey : [a.pubkey]).map(String);
    const keys = pubs.length > 0 ? await trustedKeys(pubs, io.cwd) : undefined;
    // Signatures only, as impact: expiry and revocation do not change where a snapshot came from.
    const trust = keys && signatureTrust(keys);
    const r = await lineage(opened.location, store, trust);
    // With keys, an ancestor not in the store fails as one whose signatures fail: it cannot be checked.
    const failed = r.chain.filter((n) => n.verified === false).length + r.missing.filter((m) => m.failure !== undefined).length;
    const code = failed > 0 ? EXIT_INTEGRITY : EXIT_OK;
    if (a.json) {
      jsonOut(io, { ok: code === EXIT_OK, ...r, verified: trust !== undefined });
      return code;
    }
    const lines: string[] = [];
    for (const n of r.chain) {
      const pad = treeIndent(n.depth);
      lines.push(`${treeIndent(n.depth, true)}${shown(n.ref)}  ${shown(n.snapshot)}  ${shown(n.createdAt)}  ${formatCount(n.fileCount)} files (${formatBytes(n.totalBytes)})`);
      if (n.description !== undefined) lines.push(`${pad}    description  ${shown(n.description)}`);
      if (n.license !== undefined) lines.push(`${pad}    license      ${shown(n.license)}`);
      for (const s of n.sources ?? []) lines.push(`${pad}    source       ${shown(s.uri)}${s.sha256 ? ` (sha256 ${shown(s.sha256)})` : ''}`);
      if (n.verified === false) lines.push(`${pad}    NOT VERIFIED ${shown(n.failure?.message ?? 'not trusted')} [${shown(n.failure?.code ?? 'SIGNATURE_INVALID')}]: what it says it came from is not followed`);
      for (const f of n.from) lines.push(`${pad}    ${f.relation === 'parent' ? 'parent      ' : 'derived from'} ${f.ref !== undefined ? shown(f.ref) : '?'} ${shown(f.snapshot)}${f.inStore ? '' : ' (not in the store)'}${n.verified === false ? ' (unverified claim)' : ''}`);
    }
    for (const m of r.missing) if (m.failure) lines.push(`NOT VERIFIED ${shown(m.failure.message)} [${shown(m.failure.code)}]`);
    for (const s of r.skipped) lines.push(`note: ${shown(s.ref)} left out: its statement cannot be used [${s.code}]`);
    lines.push(trust ? `(each snapshot of the chain checked against ${pubs.length === 1 ? 'the given key' : `${pubs.length} given keys`}: signatures only, revocations and expiry aside${failed > 0 ? `; ${failed} failed` : ''})` : '(read from the store, not verified: give --pubkey to check each snapshot of the chain, or run "snap verify" on each)');
    io.stdout.write(lines.join('\n') + '\n');
    return code;
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
      commonFlags(y, { store: true })
        .positional('ref', { type: 'string', describe: 'NAME@VERSION, a snapshot id or prefix, a snapshot folder, or a .snap.tar archive' })
        .option('pubkey', { type: 'string', array: true, requiresArg: true, describe: "check each snapshot of the chain against these keys (repeatable): one that fails is marked, its claimed origins are not followed, exit 1; an ancestor not in the store cannot be checked: exit 1 too" }),
      [
        ['$0 lineage spam@v3', 'the chain of versions and derivations behind spam@v3'],
        ['$0 lineage spam@v3 --pubkey keys/data.pub', 'the same, following only what that key signed'],
      ],
    ),
  run: cmdLineage,
};
