/** `snap verify <dir>`: The pre-training gate: exit 0 only if DIR is byte for byte what a trusted key signed. */
import { resolve } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { SnapError } from '../../core/errors.js';
import { storePath, type SnapshotLocation } from '../../io/store.js';
import { verify, type VerifyReport, type Problem } from '../../verify.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { formatBytes, plural, shortDigest, shortId, shortKeyid, styler } from '../format.js';
import { withProgress } from '../progress.js';
import { jsonOut, checkJobs, trustedKeys, locate, storeInside, audit, auditErrors, type Args, type CliIo, type CommandSpec } from '../common.js';
import { verifiesArchiveItself, cmdVerifyArchive, archiveAgainst } from './verify-archive.js';
import { problemRecordLines } from '../records-print.js';

function describeProblem(p: Problem): string {
  const e = p.expected as Record<string, unknown> | undefined;
  const x = p.actual as Record<string, unknown> | undefined;
  const sz = (o?: Record<string, unknown>) => (o && typeof o.size === 'number' ? formatBytes(o.size) : '');
  const dg = (o?: Record<string, unknown>) => (o && typeof o.sha256 === 'string' ? shortDigest(o.sha256) : o && typeof o.target === 'string' ? `→ ${o.target}` : '');
  switch (p.kind) {
    case 'modified':
      return `${p.path}  ${sz(e)} ${dg(e)} → now ${sz(x)} ${dg(x)}`.replace(/\s+/g, ' ');
    case 'missing':
      return `${p.path}  (${[sz(e), dg(e)].filter(Boolean).join(' ')})${p.movedTo ? `  moved to ${p.movedTo}` : ''}`;
    case 'extra':
      return `${p.path}  (${[sz(x), dg(x)].filter(Boolean).join(' ') || (p.reason ?? '')})${p.movedFrom ? `  same content as missing ${p.movedFrom}: moved (a flipped label?)` : ''}`;
    case 'type-changed':
      return `${p.path}  was ${e && 'target' in e ? 'a symlink' : 'a file'}, now ${x && 'target' in x ? 'a symlink' : String(x?.type ?? 'something else')}`;
    default:
      return `${p.path}${p.reason ? `  (${p.reason})` : ''}`;
  }
}

function printVerify(r: VerifyReport, dir: string, io: CliIo, color: boolean): void {
  const s = styler(color);
  const signers = r.signers.filter((x) => x.trusted).map((x) => shortKeyid(x.keyid));
  const out: string[] = [];
  if (r.ok) {
    out.push(`${s.green(s.bold('OK'))}    ${dir} matches ${r.ref} (${shortId(r.snapshot)}): ${plural(r.counts.matched, 'file')}, ${formatBytes(r.bytes)}, signed by ${signers.join(', ')}`);
  } else if (r.failure) {
    out.push(`${s.red(s.bold('FAIL'))}  ${r.ref} (${shortId(r.snapshot)}) cannot be trusted: ${r.failure.message}`);
    for (const g of r.signers) out.push(`  signature keyid ${shortKeyid(g.keyid) || '(none)'}: ${g.trusted ? 'trusted' : (g.reason ?? 'untrusted')}`);
    out.push('  No data check is trusted. Do not train on this data.');
  } else {
    const parts = (['modified', 'missing', 'extra', 'type-changed', 'unreadable'] as const).filter((k) => r.counts[k] > 0).map((k) => `${r.counts[k]} ${k}`);
    out.push(`${s.red(s.bold('FAIL'))}  ${dir} differs from ${r.ref} (${shortId(r.snapshot)}): ${parts.join(', ')}; ${plural(r.counts.matched, 'file')} matched`);
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
  const threshold = a.threshold as number;
  if (!Number.isSafeInteger(threshold) || threshold < 1) throw new SnapError('USAGE', `--threshold must be a whole number of at least 1, got ${String(a.threshold)}`);
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
    y
        .positional('dir', { type: 'string', describe: 'the dataset folder to check, or an archive FILE.snap.tar to check on its own' })
        .option('against', { type: 'string', describe: 'snapshot ref: NAME@VERSION, snapshot id (or 8+ hex prefix), snapshot folder, or FILE.snap.tar (not needed when DIR is an archive)' })
        .option('pubkey', { type: 'string', array: true, demandOption: true, describe: 'trusted public key file (SPKI PEM); repeatable' })
        .option('threshold', { type: 'number', default: 1, describe: 'how many distinct trusted keys must have signed' })
        .example('snap verify data --against spam@v1 --pubkey ci.pub', 'exit 0: train; exit 1: stop')
        .example('snap verify spam@v1.snap.tar --pubkey keys/ci.pub', 'an archive alone, nothing extracted'),
  run: auditErrors('verify', (a) => a.against, cmdVerify),
};
