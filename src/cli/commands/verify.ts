/** `snap verify <dir>`: The pre-training gate: exit 0 only if DIR is byte for byte what a trusted key signed. */
import { resolve } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { SnapError } from '../../core/errors.js';
import { escapeForTerminal as shown, escapeMessage } from '../../core/display.js';
import { storePath, type SnapshotLocation } from '../../io/store.js';
import { verify, type VerifyReport, type Problem } from '../../verify.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { formatBytes, plural, shortDigest, shortId, shortKeyid, styler } from '../format.js';
import { withProgress } from '../progress.js';
import { jsonOut, checkJobs, checkThreshold, trustedKeys, locate, storeInside, audit, auditErrors, commonFlags, trustFlags, type Args, type CliIo, type CommandSpec, withExamples } from '../common.js';
import { verifiesArchiveItself, cmdVerifyArchive, archiveAgainst } from './verify-archive.js';
import { problemRecordLines } from '../records-print.js';

/** One problem as a line of the report; every name, target and reason in it escaped for a terminal. */
function describeProblem(p: Problem): string {
  const e = p.expected as Record<string, unknown> | undefined;
  const x = p.actual as Record<string, unknown> | undefined;
  const sz = (o?: Record<string, unknown>) => (o && typeof o.size === 'number' ? formatBytes(o.size) : '');
  const dg = (o?: Record<string, unknown>) => (o && typeof o.sha256 === 'string' ? shortDigest(o.sha256) : o && typeof o.target === 'string' ? `→ ${shown(o.target)}` : '');
  const path = shown(p.path);
  switch (p.kind) {
    case 'modified':
      return `${path}  ${[sz(e), dg(e)].filter(Boolean).join(' ')} → now ${[sz(x), dg(x)].filter(Boolean).join(' ')}`;
    case 'missing':
      return `${path}  (${[sz(e), dg(e)].filter(Boolean).join(' ')})${p.movedTo ? `  moved to ${shown(p.movedTo)}` : ''}`;
    case 'extra':
      return `${path}  (${[sz(x), dg(x)].filter(Boolean).join(' ') || escapeMessage(p.reason ?? '')})${p.movedFrom ? `  same content as missing ${shown(p.movedFrom)}: moved (a flipped label?)` : ''}`;
    case 'type-changed':
      return `${path}  was ${e && 'target' in e ? 'a symlink' : 'a file'}, now ${x && 'target' in x ? 'a symlink' : escapeMessage(String(x?.type ?? 'something else'))}`;
    default:
      return `${path}${p.reason ? `  (${escapeMessage(p.reason)})` : ''}`;
  }
}

function printVerify(r: VerifyReport, dir: string, io: CliIo, color: boolean): void {
  const s = styler(color);
  const signers = r.signers.filter((x) => x.trusted).map((x) => shortKeyid(x.keyid));
  const ref = shown(r.ref);
  const out: string[] = [];
  if (r.ok) {
    out.push(`${s.green(s.bold('OK'))}    ${shown(dir)} matches ${ref} (${shortId(r.snapshot)}): ${plural(r.counts.matched, 'file')}, ${formatBytes(r.bytes)}, signed by ${signers.join(', ')}`);
  } else if (r.failure) {
    out.push(`${s.red(s.bold('FAIL'))}  ${ref} (${shortId(r.snapshot)}) cannot be trusted: ${escapeMessage(r.failure.message)}`);
    for (const g of r.signers) out.push(`  signature keyid ${shortKeyid(g.keyid) || '(none)'}: ${g.trusted ? 'trusted' : escapeMessage(g.reason ?? 'untrusted')}`);
    out.push('  No data check is trusted. Do not train on this data.');
  } else {
    const parts = (['modified', 'missing', 'extra', 'type-changed', 'unreadable'] as const).filter((k) => r.counts[k] > 0).map((k) => `${r.counts[k]} ${k}`);
    out.push(`${s.red(s.bold('FAIL'))}  ${shown(dir)} differs from ${ref} (${shortId(r.snapshot)}): ${parts.join(', ')}; ${plural(r.counts.matched, 'file')} matched`);
    out.push(`  signed by ${signers.join(', ')} (trusted)`);
    for (const kind of ['modified', 'missing', 'extra', 'type-changed', 'unreadable'] as const) {
      const list = r.problems.filter((p) => p.kind === kind);
      if (list.length === 0) continue;
      out.push(`${s.bold(kind)} (${list.length}):`);
      for (const p of list.slice(0, 20)) out.push(`  ${describeProblem(p)}`, ...problemRecordLines(p));
      if (list.length > 20) out.push(`  … and ${list.length - 20} more (--json lists all)`);
    }
  }
  io.stdout.write(out.join('\n') + '\n');
}

async function cmdVerify(a: Args, io: CliIo): Promise<number> {
  const given = resolve(io.cwd, String(a.dir));
  if (!existsSync(given)) throw new SnapError('NOT_FOUND', `${String(a.dir)} does not exist (verify checks a dataset folder or a .snap.tar archive)`, { path: given });
  if (verifiesArchiveItself(a, io)) return cmdVerifyArchive(a, io); // snap verify FILE.snap.tar
  if (a.against === undefined) throw new SnapError('USAGE', 'verify DIR needs --against REF (a snapshot ref or a .snap.tar archive)');
  const held = await archiveAgainst(a, io); // --against FILE.snap.tar: its snapshot files, in a temporary folder
  try {
    return await cmdVerifyDir(a, io, held?.location);
  } finally {
    await held?.close();
  }
}

async function cmdVerifyDir(a: Args, io: CliIo, archived: SnapshotLocation | undefined): Promise<number> {
  const store = storePath(a.store, io.env, io.cwd);
  const threshold = checkThreshold(a);
  const trusted = await trustedKeys(a.pubkey as string[], io.cwd);
  const snapshot = archived ?? (await locate(String(a.against), io, store));
  const dir = resolve(io.cwd, String(a.dir));
  if (!existsSync(dir)) throw new SnapError('NOT_FOUND', `the dataset folder ${dir} does not exist`, { path: dir });
  if (!statSync(dir).isDirectory()) throw new SnapError('NOT_A_FOLDER', `${dir} is not a folder`, { path: dir });
  const r = await withProgress(a, io, 'verifying', (onProgress) => verify({ dir, snapshot, trusted, threshold, jobs: checkJobs(a.jobs), skipDirs: storeInside(dir, store), onProgress, store }));
  // Logged into the store named by --store/$SNAP_STORE when there is one (a read-only store: a note, not a failure).
  const ref = snapshot.name ? `${snapshot.name}@${snapshot.version}` : r.ref;
  const log = await audit(io, store, { command: 'verify', ref, snapshot: r.snapshot, outcome: r.ok ? 'ok' : 'failed' }, { quiet: !!a.quiet });
  if (a.json) {
    jsonOut(io, {
      ok: r.ok, snapshot: r.snapshot, ref: r.ref,
      signers: r.signers.map((x) => ({ keyid: x.keyid, trusted: x.trusted, ...(x.reason ? { reason: x.reason } : {}) })),
      ...(r.failure ? { failure: r.failure } : {}),
      counts: r.counts, problems: r.problems, manifest: r.manifest, files: r.files, bytes: r.bytes, seconds: Number(r.seconds.toFixed(3)), log,
    });
  } else printVerify(r, String(a.dir), io, !!io.stdout.isTTY && !io.env.NO_COLOR);
  return r.ok ? EXIT_OK : EXIT_INTEGRITY;
}

/** `snap verify <dir>`. */
export const verifyCommand: CommandSpec = {
  command: 'verify <dir>',
  describe: 'Pre-training gate: exit 0 only if DIR is exactly what was signed',
  builder: (y) =>
    withExamples(
      trustFlags(
        commonFlags(y, { store: true, quiet: 'no progress and no notes: only the verdict', jobs: true })
          .positional('dir', { type: 'string', describe: 'the dataset folder to check, or an archive FILE.snap.tar to check on its own' })
          .option('against', {
            type: 'string',
            requiresArg: true,
            describe: 'the snapshot DIR must match: NAME@VERSION, snapshot id (or 8+ hex prefix), snapshot folder, or FILE.snap.tar (required, unless DIR is an archive)',
          }),
      ),
      [
        ['$0 verify data --against spam@v1 --pubkey ci.pub', 'exit 0: train; exit 1: stop'],
        ['$0 verify spam@v1.snap.tar --pubkey keys/ci.pub', 'an archive alone, nothing extracted'],
      ],
    ),
  run: auditErrors('verify', (a) => a.against, cmdVerify),
};
