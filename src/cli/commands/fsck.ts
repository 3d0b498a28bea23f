/** `snap fsck`: re-hash every object of the store and check every snapshot's internal consistency. */
import { storePath } from '../../io/store.js';
import { fsck, type FsckReport } from '../../fsck.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { formatBytes, plural, shortDigest, shortId, styler } from '../format.js';
import { withProgress } from '../progress.js';
import { escapeForTerminal as shown, escapeMessage } from '../../core/display.js';
import { audit, auditErrors, checkJobs, commonFlags, jsonOut, type Args, type CliIo, type CommandSpec, withExamples } from '../common.js';

/** At most this many items of one kind in the human report (--json lists all). */
const SHOW = 20;

function printFsck(r: FsckReport, io: CliIo, color: boolean): void {
  const s = styler(color);
  const out: string[] = [];
  const summary = `${plural(r.counts.objects, 'object')} (${formatBytes(r.counts.bytes)}) re-hashed, ${plural(r.counts.snapshots, 'snapshot')} checked`;
  if (r.ok) out.push(`${s.green(s.bold('OK'))}    ${shown(r.store)}: ${summary}; nothing corrupt or missing`);
  else {
    const parts = [
      r.counts.corrupt > 0 ? plural(r.counts.corrupt, 'corrupt object') : '',
      r.counts.unreadable > 0 ? plural(r.counts.unreadable, 'unreadable object') : '',
      r.counts.missingObjects > 0 ? plural(r.counts.missingObjects, 'missing object') : '',
      r.counts.badSnapshots > 0 ? plural(r.counts.badSnapshots, 'snapshot with problems', 'snapshots with problems') : '',
    ].filter(Boolean);
    out.push(`${s.red(s.bold('FAIL'))}  ${shown(r.store)}: ${parts.join(', ')}; ${summary}`);
  }
  const section = <T>(title: string, list: T[], line: (x: T) => string) => {
    if (list.length === 0) return;
    out.push(`${s.bold(title)} (${list.length}):`);
    for (const x of list.slice(0, SHOW)) out.push(`  ${line(x)}`);
    if (list.length > SHOW) out.push(`  … and ${list.length - SHOW} more (--json lists all)`);
  };
  section('corrupt objects', r.objects.corrupt, (c) => {
    const used = c.usedBy.slice(0, 3).map((u) => `${shown(u.ref)}:${shown(u.path)}`).join(', ');
    return `objects/sha256/${shown(c.path)}  now hashes to ${shortDigest(c.sha256)} (${formatBytes(c.size)})${used ? `; content of ${used}${c.usedBy.length > 3 ? ', …' : ''}` : ''}`;
  });
  section('unreadable objects', r.objects.unreadable, (u) => `objects/sha256/${shown(u.path)}  (${escapeMessage(u.reason)})`);
  section('missing objects', r.missingObjects, (m) => `${shown(m.ref)}  ${shown(m.path)}  (sha256 ${shortDigest(m.sha256)})`);
  section('snapshots with problems', r.snapshots.filter((x) => !x.ok), (x) =>
    `${shown(x.ref)}${x.snapshot ? ` (${shortId(x.snapshot)})` : ''}: ${x.problems.map((p) => escapeMessage(p.message)).join('; ')}`,
  );
  section('not written by snap (left alone, not counted as corruption)', r.strays, (p) => shown(p));
  if (!r.ok) out.push('  The store does not hold what was sealed: restore the damaged objects or snapshots from a copy (e.g. an archive), or seal the data again.');
  io.stdout.write(out.join('\n') + '\n');
}

async function cmdFsck(a: Args, io: CliIo): Promise<number> {
  const store = storePath(a.store, io.env, io.cwd);
  const jobs = checkJobs(a.jobs);
  const r = await withProgress(a, io, 'checking', (onProgress) => fsck({ store, jobs, onProgress }));
  const log = await audit(
    io,
    store,
    { command: 'fsck', outcome: r.ok ? 'ok' : 'failed', details: { objects: r.counts.objects, corrupt: r.counts.corrupt, unreadable: r.counts.unreadable, missingObjects: r.counts.missingObjects, badSnapshots: r.counts.badSnapshots } },
    { quiet: !!a.quiet },
  );
  if (a.json) jsonOut(io, { ...r, seconds: Number(r.seconds.toFixed(3)), log });
  else printFsck(r, io, !!io.stdout.isTTY && !io.env.NO_COLOR);
  return r.ok ? EXIT_OK : EXIT_INTEGRITY;
}

/** `snap fsck`. */
export const fsckCommand: CommandSpec = {
  command: 'fsck',
  describe: 'Check the store: re-hash objects, check snapshots (no keys)',
  builder: (y) =>
    withExamples(
      commonFlags(y, { store: true, quiet: 'no progress and no notes: only the verdict', jobs: true }).epilog(
        'Re-hashes every object (its SHA-256 must be its name); checks that each snapshot\'s envelope and ' +
          'statement parse and agree, that its manifest matches the statement\'s digest, Merkle root and counts, and ' +
          'that every file it lists has its object (not for --manifest-only snapshots). Needs no keys: it checks ' +
          'internal consistency, not trust (use "snap verify --pubkey" for that). Exit 0 clean, 1 corruption, 3 no store.',
      ),
      [
        ['$0 fsck --store /data/snap', 'exit 1 and name every corrupt or missing object'],
      ],
    ),
  run: auditErrors('fsck', () => undefined, cmdFsck),
};
