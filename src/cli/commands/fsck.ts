/**
 * `snap fsck`: re-hash every object of the store and check every snapshot's internal consistency;
 * `--clean` removes leftovers of stopped commands, `--repair-from` puts back damaged objects.
 */
import { resolve } from 'node:path';
import { SnapError } from '../../core/errors.js';
import { openStore, storePath } from '../../io/store.js';
import { clearLeftovers, type CleanResult } from '../../io/leftovers.js';
import { fsckListed, fsckReportOf, straysNotUtf8, type FsckLists, type FsckReport, type FsckSummary } from '../../ops/fsck.js';
import { repairListed, type RepairListing } from '../../ops/repair.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { formatBytes, plural, shortDigest, shortId, styler } from '../format.js';
import { withProgress } from '../progress.js';
import { escapeForTerminal as shown, escapeMessage, escapePath } from '../../core/display.js';
import { lossyName } from '../../core/name-bytes.js';
import { audit, auditErrors, checkJobs, commonFlags, jsonOut, type Args, type CliIo, type CommandSpec, withExamples } from '../common.js';
import { JsonStream } from '../json-stream.js';

/** At most this many items of one kind in the human report (--json lists all); no more are read for it. */
const SHOW = 20;

/**
 * Corrupt, unreadable or missing objects or strays `--json` writes as one document built in memory
 * (`ok` first, the bytes snap always wrote); with more of any kind, the document is streamed, `ok`
 * last ({@link writeStreamedJson}).
 */
const JSON_HELD = 1000;

/** What `fsck --repair-from` did, as the report gives it (`unrepaired` read back as needed). */
type RepairDone = RepairListing['repair'] & { before: FsckReport['counts'] };

/** What `--json` adds to fsck's report. */
interface JsonExtra {
  cleaned?: CleanResult;
  repair?: RepairDone;
  log: unknown;
}

/** The `repair` member of the document, `unrepaired` given (all of it, or a mark to stream it at). */
function repairMember(repair: RepairDone, unrepaired: unknown): Record<string, unknown> {
  const { source, kind, repaired, bytes, before } = repair;
  return { source, kind, repaired, unrepaired, bytes, before };
}

/**
 * Write fsck's `--json` document: with few entries in each long list, as one document built in
 * memory (`ok` first, the same bytes as ever); else streamed (json-stream.ts), list by list as they
 * are read back, with the same members in the same order but `ok`, which comes last — as
 * `prune --json` and `log --json` stream theirs. A document stopped once its first chunk is written
 * (Ctrl-C, an I/O error) ends with the entries written so far, `"ok": false` and the `error`: still
 * one document; stopped before, runCli's error document is the whole output.
 * @throws the error that stopped it, marked as reported in the document once that has begun
 */
async function writeFsckJson(io: CliIo, summary: FsckSummary, lists: FsckLists, extra: JsonExtra): Promise<void> {
  const { counts } = summary;
  const seconds = Number(summary.seconds.toFixed(3));
  const { cleaned, repair, log } = extra;
  if (counts.corrupt <= JSON_HELD && counts.unreadable <= JSON_HELD && counts.missingObjects <= JSON_HELD && counts.strays <= JSON_HELD && (repair?.unrepairedCount ?? 0) <= JSON_HELD) {
    const r = fsckReportOf(summary, lists);
    return jsonOut(io, { ...r, seconds, ...(cleaned ? { cleaned } : {}), ...(repair ? { repair: repairMember(repair, [...repair.unrepaired]) } : {}), log });
  }
  await writeStreamedJson(io, summary, lists, { seconds, extra });
}

/** fsck's `--json` document streamed (see {@link writeFsckJson}): the members of {@link fsckReportOf}'s report and its extras, in their order, `ok` last. */
async function writeStreamedJson(io: CliIo, summary: FsckSummary, lists: FsckLists, o: { seconds: number; extra: JsonExtra }): Promise<void> {
  const { ok, store, objects, snapshots, leftovers, clean, counts } = summary;
  const { cleaned, repair, log } = o.extra;
  const doc = new JsonStream(io.stdout, { checkInterrupts: true, dropUnwritten: true });
  const list = async (key: string, items: Iterable<unknown>): Promise<void> => {
    await doc.openList(key);
    for (const x of items) await doc.item(x);
    await doc.closeList();
  };
  try {
    doc.open().member('store', store).openObject('objects').members({ checked: objects.checked, bytes: objects.bytes });
    await list('corrupt', lists.corrupt);
    await list('unreadable', lists.unreadable);
    doc.closeObject().member('snapshots', snapshots);
    await list('missingObjects', lists.missing);
    await list('strays', lists.strays);
    // Only when some stray's name is not UTF-8: the strays read again (they may be in a temporary file), the member opened at the first.
    let notUtf8 = false;
    for (const x of straysNotUtf8(lists.strays)) {
      if (!notUtf8) await doc.openList('straysNotUtf8');
      notUtf8 = true;
      await doc.item(x);
    }
    if (notUtf8) await doc.closeList();
    doc.members({ leftovers, clean, counts, seconds: o.seconds, cleaned });
    if (repair) {
      const { source, kind, repaired, unrepaired, bytes, before } = repair;
      doc.openObject('repair').members({ source, kind, repaired });
      await list('unrepaired', unrepaired);
      doc.members({ bytes, before }).closeObject();
    }
    await doc.end({ log, ok });
  } catch (e) {
    throw doc.fail(e); // nothing written: runCli's error document is the whole output
  }
}

/** The users of a corrupt or missing object, the first three named. */
function users(o: { usedBy: { ref: string; path: string }[]; users: number }): string {
  const named = o.usedBy.slice(0, 3).map((u) => `${shown(u.ref)}:${escapePath(u.path)}`).join(', ');
  return named ? `${named}${o.users > 3 ? `, … (${plural(o.users, 'file')})` : ''}` : '';
}

/** The human report: the counts, and the first {@link SHOW} entries of each kind (only those are read from `lists`). */
function printFsck(r: FsckSummary, lists: FsckLists, io: CliIo, color: boolean, done: { cleaned?: CleanResult; repair?: RepairDone } = {}): void {
  const s = styler(color);
  const out: string[] = [];
  const { cleaned, repair } = done;
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
  if (cleaned) {
    out.push(
      cleaned.removed.length === 0
        ? 'cleaned: nothing to remove'
        : `cleaned: removed ${cleaned.removed.map((l) => `${shown(l.path)}${l.kind === 'tmp' ? ` (${plural(l.entries ?? 0, 'entry', 'entries')}, ${formatBytes(l.bytes)})` : ''}`).join(', ')}`,
    );
  }
  if (repair) {
    const n = repair.repaired.length + repair.unrepairedCount;
    out.push(
      n === 0
        ? `repair: nothing to repair (the source ${shown(repair.source)} was not read)`
        : `repair: ${plural(repair.repaired.length, 'object')} of ${n} put back from ${shown(repair.source)} (${formatBytes(repair.bytes)}), each checked against its digest`,
    );
    let shownCount = 0;
    for (const u of repair.unrepaired) {
      if (shownCount++ === SHOW) break;
      out.push(`  not repaired: ${shown(u.sha256)}  ${escapeMessage(u.message)} [${u.code}]`);
    }
    if (repair.unrepairedCount > SHOW) out.push(`  … and ${repair.unrepairedCount - SHOW} more (--json lists all)`);
  }
  const section = <T>(title: string, list: Iterable<T>, count: number, line: (x: T) => string) => {
    if (count === 0) return;
    out.push(`${s.bold(title)} (${count}):`);
    let n = 0;
    for (const x of list) {
      if (n++ === SHOW) break;
      out.push(`  ${line(x)}`);
    }
    if (count > SHOW) out.push(`  … and ${count - SHOW} more (--json lists all)`);
  };
  section('corrupt objects', lists.corrupt, r.counts.corrupt, (c) => {
    const used = users(c);
    return `objects/sha256/${shown(c.path)}  now hashes to ${shortDigest(c.sha256)} (${formatBytes(c.size)})${used ? `; content of ${used}` : ''}`;
  });
  section('unreadable objects', lists.unreadable, r.counts.unreadable, (u) => `objects/sha256/${shown(u.path)}  (${escapeMessage(u.reason)})`);
  section('missing objects', lists.missing, r.counts.missingObjects, (m) => `objects/sha256/${shown(m.path)}  content of ${users(m)}`);
  const bad = r.snapshots.filter((x) => !x.ok);
  section('snapshots with problems', bad, bad.length, (x) =>
    `${shown(x.ref)}${x.snapshot ? ` (${shortId(x.snapshot)})` : ''}: ${x.problems.map((p) => escapeMessage(p.message)).join('; ')}`,
  );
  section('not written by snap (left alone, not counted as corruption)', lists.strays, r.counts.strays, escapePath);
  section('warnings: left by stopped or killed commands (not corruption)', r.leftovers, r.leftovers.length, (l) => `${s.yellow('warning')} ${escapeMessage(l.message)}`);
  if (r.clean) out.push(`  To remove them: ${escapeMessage(r.clean)}`);
  if (!r.ok) {
    out.push(
      r.counts.corrupt + r.counts.unreadable + r.counts.missingObjects > 0
        ? // Not "seal the data again" into this store: a seal keeps an object of the file's size without reading it (SPEC §7), so a corrupt one of the right size stays.
          '  The store does not hold what was sealed: put the damaged objects back from a good copy with "snap fsck --repair-from FILE.snap.tar" (or another store\'s folder; with the original files at hand, seal them into a new store and repair from that one). Sealing them into this store again does not mend an object of the right size: a seal keeps it without reading it.'
        : '  The store does not hold what was sealed: restore the damaged snapshots from a copy (e.g. an archive), or seal the data again.',
    );
  }
  io.stdout.write(out.join('\n') + '\n');
}

async function cmdFsck(a: Args, io: CliIo): Promise<number> {
  const storeRoot = storePath(a.store, io.env, io.cwd);
  const jobs = checkJobs(a.jobs);
  const from = a['repair-from'];
  if (from !== undefined && (typeof from !== 'string' || from === '')) throw new SnapError('USAGE', '--repair-from needs FILE.snap.tar or the folder of another store');
  // --clean: remove what stopped or killed commands left, under the store's lock, then check.
  const cleaned = a.clean ? (io.storeObjects?.clean ? await io.storeObjects.clean() : await clearLeftovers(await openStore(storeRoot))) : undefined;
  let checked: { summary: FsckSummary; lists: FsckLists };
  let repair: RepairDone | undefined;
  // The long lists wait in temporary files past their first entries: memory stays bounded however many there are.
  if (typeof from === 'string') {
    const rr = await withProgress(a, io, 'repairing', (onProgress) => repairListed({ store: storeRoot, from: resolve(io.cwd, from), jobs, onProgress, ...(io.storeObjects ? { objectSource: io.storeObjects } : {}) }));
    checked = { summary: rr.after.summary, lists: { ...rr.after.lists, close: rr.close } };
    repair = { ...rr.repair, before: rr.before.summary.counts };
  } else {
    checked = await withProgress(a, io, 'checking', (onProgress) => fsckListed({ store: storeRoot, jobs, onProgress, ...(io.storeObjects ? { objectSource: io.storeObjects } : {}) }));
  }
  try {
    return await reportFsck(a, io, storeRoot, checked.summary, checked.lists, { cleaned, repair });
  } finally {
    checked.lists.close();
  }
}

/** Log fsck's outcome, print its report or write its document; the exit code. */
async function reportFsck(a: Args, io: CliIo, storeRoot: string, r: FsckSummary, lists: FsckLists, done: { cleaned?: CleanResult; repair?: RepairDone }): Promise<number> {
  const { cleaned, repair } = done;
  const details: Record<string, unknown> = {
    objects: r.counts.objects, corrupt: r.counts.corrupt, unreadable: r.counts.unreadable, missingObjects: r.counts.missingObjects, badSnapshots: r.counts.badSnapshots, leftovers: r.counts.leftovers,
    // A name that is not UTF-8 is logged lossy (`lossyName`): the audit line is canonical JSON, which holds no lone surrogate; --json has its `pathHex`.
    ...(cleaned ? { cleaned: cleaned.removed.map((l) => ({ kind: l.kind, path: lossyName(l.path), bytes: l.bytes })) } : {}),
    ...(repair ? { repair: { source: repair.source, repaired: repair.repaired.length, unrepaired: repair.unrepairedCount, bytes: repair.bytes } } : {}),
  };
  const log = await audit(io, storeRoot, { command: 'fsck', outcome: r.ok ? 'ok' : 'failed', details }, { quiet: !!a.quiet });
  if (a.json) await writeFsckJson(io, r, lists, { ...(cleaned ? { cleaned } : {}), ...(repair ? { repair } : {}), log });
  else printFsck(r, lists, io, !!io.stdout.isTTY && !io.env.NO_COLOR, { cleaned, repair });
  return r.ok ? EXIT_OK : EXIT_INTEGRITY;
}

/** `snap fsck`. */
export const fsckCommand: CommandSpec = {
  command: 'fsck',
  describe: 'Check the store: re-hash objects, check snapshots (no keys)',
  builder: (y) =>
    withExamples(
      commonFlags(y, { store: true, quiet: 'no progress and no notes: only the verdict', jobs: true })
        .option('clean', { type: 'boolean', describe: 'first remove what stopped or killed commands left: a dead process\'s lock, files in STORE/tmp (in an S3 store: staged files no commit names), under the store lock' })
        .option('repair-from', { type: 'string', requiresArg: true, describe: 'put back every corrupt or missing object from FILE.snap.tar or another store (each checked against its digest)' })
        .epilog(
          'Re-hashes every object (its SHA-256 must be its name; in an S3 store, of the objects no snapshot names only the first 1,000, the others counted); checks that each snapshot\'s envelope and ' +
            'statement parse and agree, that its manifest matches the statement\'s digest, Merkle root and counts, and ' +
            'that every file it lists has its object (not for --manifest-only snapshots). Needs no keys: it checks ' +
            'internal consistency, not trust (use "snap verify --pubkey" for that). Leftovers of stopped or killed ' +
            'commands (a stale lock, files in STORE/tmp) are warnings, removed by --clean. --repair-from replaces ' +
            'damaged objects with copies whose bytes hash to their names (the source\'s signature is not needed), ' +
            'never snapshot files, then checks again; stopped by Ctrl-C or SIGTERM, it names the objects it had put back, which stay. ' +
            'The human report shows the first 20 of each kind (counts exact); --json lists all (with more than 1000 corrupt, unreadable or missing objects or strays, it is streamed, "ok" then last; stopped once begun, it still ends as one document). ' +
            'Exit 0 clean, 1 corruption (left), 3 no store or source.\n', // a blank line before the exit codes (run.ts)
        ),
      [
        ['$0 fsck --store /data/snap', 'exit 1 and name every corrupt or missing object'],
        ['$0 fsck --repair-from ds@v1.snap.tar', 'put back damaged objects from an archive, then check again'],
        ['$0 fsck --clean', 'remove a killed seal\'s temporary files and stale lock'],
      ],
    ),
  run: auditErrors('fsck', () => undefined, cmdFsck),
};
