/**
 * `snap show <ref>`: show one snapshot (statement, signers, counts), from the store, a snapshot
 * folder or an archive `NAME@VERSION.snap.tar` (only its `snap/` members are read). Nothing is verified.
 */
import { SnapError } from '../../core/errors.js';
import { escapeForTerminal as shown, escapeMessage } from '../../core/display.js';
import { shellWord } from '../../report/escape.js';
import { storePath } from '../../io/store.js';
import { readSnapshotUnverified } from '../../snapshot.js';
import { EXIT_OK } from '../exit-codes.js';
import { formatBytes, formatCount } from '../format.js';
import { jsonOut, commonFlags, type Args, type CliIo, type CommandSpec, withExamples } from '../common.js';
import { openSnapshotRef, type OpenedSnapshot } from '../snapshot-ref.js';
import type { Provenance } from '../../core/provenance.js';

/**
 * The provenance lines of `show` (and `lineage`): every field escaped for a terminal (a tab in a
 * description shows as `\t`; nothing here is verified). Command arguments are each shown between
 * double quotes.
 */
export function provenanceLines(pv: Provenance): string[] {
  const g = pv.pipeline?.git;
  return [
    ...(pv.description !== undefined ? [`  description      ${shown(pv.description)}`] : []),
    ...(pv.sources ?? []).map((s) => `  source           ${shown(s.uri)}${s.sha256 ? ` (sha256 ${shown(s.sha256)})` : ''}`),
    ...(pv.license !== undefined ? [`  license          ${shown(pv.license)}`] : []),
    ...(g ? [`  git              ${shown(g.commit)}${g.ref ? ` ${shown(g.ref)}` : ''}${g.repository ? ` ${shown(g.repository)}` : ''}`] : []),
    ...(pv.pipeline?.command ? [`  command          ${pv.pipeline.command.map((x) => `"${shown(x)}"`).join(' ')}`] : []),
    ...(pv.derivedFrom ?? []).map((d) => `  derived from     ${shown(d.ref)} ${shown(d.snapshot)}`),
  ];
}

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
    jsonOut(io, { ok: true, ref: loc.ref, snapshot: info.snapshot, ...where, signers: info.keyids.map((k) => ({ keyid: k })), ...(info.envelopeProblem ? { envelopeProblem: info.envelopeProblem } : {}), statement: info.statement, verified: false });
    return EXIT_OK;
  }
  if (!p) throw new SnapError('SNAPSHOT_MALFORMED', 'no statement');
  // Nothing here is verified: every field is shown escaped for a terminal.
  const lines = [
    `${shown(p.dataset)}@${shown(p.version)}`,
    `  snapshot         ${shown(info.snapshot)}`,
    `  created          ${shown(p.createdAt)}`,
    ...(p.expiresAt ? [`  expires          ${shown(p.expiresAt)}`] : []),
    `  files            ${formatCount(p.fileCount)} (${formatBytes(p.totalBytes)})`,
    `  merkle root      ${shown(p.merkleRoot)}`,
    `  manifest sha256  ${shown(p.manifestSha256)}`,
    ...(p.parent ? [`  parent           ${shown(p.parent)}`] : []),
    // seal --incremental (docs/FORMAT.md §22.3): files whose digests were signed without being read.
    ...(p.incremental ? [`  incremental      ${formatCount(p.incremental.reused)} of ${formatCount(p.fileCount)} files not read: their digests were taken from the parent ${shown(p.incremental.parent)}`] : []),
    ...(p.excludes ? [`  excludes         ${p.excludes.map(shown).join(' ')}`] : []),
    ...(p.provenance ? provenanceLines(p.provenance) : []),
    `  tool             ${shown(p.tool.name)} ${shown(p.tool.version)}`,
    `  signatures       ${info.keyids.map((k) => (k ? shown(k) : '(no keyid)')).join(', ') || 'none'}`,
    // An envelope that cannot be read is why verify fails: say so rather than only "none".
    ...(info.envelopeProblem ? [`  envelope         unreadable: ${escapeMessage(info.envelopeProblem.message)} [${info.envelopeProblem.code}]`] : []),
    // A command to paste: the ref (an archive's file name may come from anyone) as one shell word.
    archive
      ? `  (not verified here; to verify: snap verify ${shellWord(loc.ref)} --pubkey KEY.pub)`
      : `  (not verified here; to verify: snap verify DIR --against ${shellWord(loc.ref)} --pubkey KEY.pub)`,
  ];
  io.stdout.write(lines.join('\n') + '\n');
  return EXIT_OK;
}

/** `snap show <ref>`. */
export const showCommand: CommandSpec = {
  command: 'show <ref>',
  describe: 'Show one snapshot: statement, signers, counts',
  builder: (y) =>
    withExamples(
      commonFlags(y, { store: true })
        .positional('ref', { type: 'string', describe: 'NAME@VERSION, a snapshot id or prefix, a snapshot folder, or a NAME@VERSION.snap.tar archive' }),
      [
        ['$0 show spam@v1', 'a snapshot in the store'],
        ['$0 show spam@v1.snap.tar', 'the snapshot inside an archive'],
      ],
    ),
  run: cmdShow,
};
