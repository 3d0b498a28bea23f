/**
 * `snap prune [--yes]`: list (by default) or remove (`--yes`) the objects of a local store that no
 * snapshot references (src/ops/prune.ts). Exit 0 done; 1 when a snapshot cannot be read (nothing
 * removed); 2 for an S3 store; 3 no store, store locked, I/O error (also `--yes` on a store this user
 * cannot write: a dry run there runs without the lock and says so).
 */
import { storePath } from '../../io/store.js';
import { prune, pruneNeedsLocalStore, type PruneResult } from '../../ops/prune.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { formatBytes, plural, styler } from '../format.js';
import { escapeForTerminal as shown, escapeMessage } from '../../core/display.js';
import { audit, auditErrors, commonFlags, jsonOut, type Args, type CliIo, type CommandSpec, withExamples } from '../common.js';
import { s3StoreOf } from '../remote-store.js';

/** At most this many objects or blockers in the human report (--json lists all). */
const SHOW = 20;

/**
 * At most this many blocker paths in the audit line (with `blockerCount`): each path is at most
 * four names of 255 bytes, 6 bytes each escaped, so the line stays far below MAX_LOG_LINE_BYTES
 * (src/io/audit-log.ts), past which `snap log --verify` takes it for a line snap did not write.
 */
const LOGGED_BLOCKERS = 20;

function printPrune(r: PruneResult, io: CliIo, color: boolean): void {
  const s = styler(color);
  const out: string[] = [];
  const c = r.counts;
  const seen = `${plural(c.objects, 'object')} (${formatBytes(c.bytes)}), ${plural(c.snapshots, 'snapshot')} naming ${plural(c.referenced, 'object')}`;
  if (!r.ok) {
    out.push(`${s.red(s.bold('FAIL'))}  ${shown(r.store)}: nothing removed: ${plural(r.blockers.length, 'entry', 'entries')} of snapshots/ cannot be read, so which objects they reference is not known; ${seen}`);
    for (const b of r.blockers.slice(0, SHOW)) out.push(`  ${shown(b.path)}: ${escapeMessage(b.message)}`);
    if (r.blockers.length > SHOW) out.push(`  … and ${r.blockers.length - SHOW} more (--json lists all)`);
    out.push('  Run "snap fsck" for the details; repair or move the damaged snapshot out of the store, then prune again.');
  } else if (c.unreferenced === 0) {
    out.push(`${s.green(s.bold('OK'))}    ${shown(r.store)}: no object is unreferenced; ${seen}`);
  } else {
    const what = `${plural(c.unreferenced, 'object')} (${formatBytes(c.unreferencedBytes)}) no snapshot references`;
    out.push(r.removing ? `${s.green(s.bold('OK'))}    ${shown(r.store)}: removed ${plural(c.removed, 'object')} (${formatBytes(c.removedBytes)}) no snapshot references; ${seen}` : `${s.bold('DRY RUN')} ${shown(r.store)}: would remove ${what}; ${seen}`);
    for (const o of r.unreferenced.slice(0, SHOW)) out.push(`  objects/sha256/${o.path}  ${formatBytes(o.bytes)}`);
    if (r.unreferenced.length > SHOW) out.push(`  … and ${r.unreferenced.length - SHOW} more (--json lists all)`);
    if (!r.removing) out.push('  To remove them: run again with --yes');
  }
  if (!r.locked) out.push(`  note: listed without the store lock (${escapeMessage(r.lockError ?? 'not taken')}): this listing may be stale — a seal or import running meanwhile may have objects in the store it has not committed yet, listed here as unreferenced; --yes needs the lock`);
  io.stdout.write(out.join('\n') + '\n');
}

async function cmdPrune(a: Args, io: CliIo): Promise<number> {
  const url = s3StoreOf(a, io);
  if (url) throw pruneNeedsLocalStore(url);
  const storeRoot = storePath(a.store, io.env, io.cwd);
  const r = await prune({ store: storeRoot, remove: !!a.yes });
  const details = { removing: r.removing, unreferenced: r.counts.unreferenced, unreferencedBytes: r.counts.unreferencedBytes, removed: r.counts.removed, removedBytes: r.counts.removedBytes, ...(r.ok ? {} : { blockers: r.blockers.slice(0, LOGGED_BLOCKERS).map((b) => b.path), blockerCount: r.blockers.length }) };
  const log = await audit(io, storeRoot, { command: 'prune', outcome: r.ok ? 'ok' : 'failed', details }, { quiet: !!a.quiet });
  if (a.json) jsonOut(io, { ...r, seconds: Number(r.seconds.toFixed(3)), log });
  else if (!a.quiet || !r.ok) printPrune(r, io, !!io.stdout.isTTY && !io.env.NO_COLOR);
  return r.ok ? EXIT_OK : EXIT_INTEGRITY;
}

/** `snap prune`. */
export const pruneCommand: CommandSpec = {
  command: 'prune',
  describe: 'List, or with --yes remove, the objects no snapshot references (local store)',
  builder: (y) =>
    withExamples(
      commonFlags(y, { store: true, quiet: 'print nothing unless prune is blocked' })
        .option('yes', { type: 'boolean', describe: 'remove the unreferenced objects (without it, prune only lists them: a dry run)' })
        .epilog(
          'An object is referenced when a snapshot names it: a file of its manifest (also of a --manifest-only snapshot), ' +
            'or a record index, index summary or column-types object of its statement. Objects of a seal killed (SIGKILL, a crash) before its snapshot was ' +
            'committed, of an import that failed, of a failed seal into an S3 store, or of a snapshot folder removed by hand, are referenced by none (a seal into a local store that fails takes its own out). Runs under the store lock (a dry run on a ' +
            'store this user cannot write runs without it and says its listing may be stale; --yes always needs it); if any ' +
            'snapshot cannot be read (or snapshots/ holds an entry that is not a snapshot folder, or a snapshot folder holds a folder), nothing is removed and it is named. ' +
            'Only objects: a stale lock and files in STORE/tmp are "snap fsck --clean"\'s. Local stores only: objects of an ' +
            'S3 store may be under Object Lock, and prune refuses one (exit 2). Exit 0 done, 1 a snapshot cannot be read (nothing removed), ' +
            '3 no store, locked, or --yes on a store this user cannot write.\n', // a blank line before the exit codes (run.ts)
        ),
      [
        ['$0 prune --store /data/snap', 'list the objects no snapshot references, and their bytes (removes nothing)'],
        ['$0 prune --yes --store /data/snap', 'remove them'],
        ['$0 prune --json --store /data/snap', 'the exact list, as JSON'],
      ],
    ),
  run: auditErrors('prune', () => undefined, cmdPrune),
};
