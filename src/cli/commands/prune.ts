/**
 * `snap prune [--yes]`: list (by default) or remove (`--yes`) the objects of a local store that no
 * snapshot references (src/ops/prune.ts). Exit 0 done; 1 when a snapshot cannot be read (nothing
 * removed); 2 for an S3 store; 3 no store, store locked, I/O error (also `--yes` on a store this user
 * cannot write: a dry run there runs without the lock and says so).
 */
import { storePath } from '../../io/store.js';
import { prune, pruneNeedsLocalStore, type PruneHead, type PruneResult, type UnreferencedObject } from '../../ops/prune.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { formatBytes, plural, styler } from '../format.js';
import { escapeForTerminal as shown, escapeMessage } from '../../core/display.js';
import { lossyName } from '../../core/name-bytes.js';
import { audit, auditErrors, commonFlags, jsonOut, type Args, type CliIo, type CommandSpec, withExamples } from '../common.js';
import { JsonStream } from '../json-stream.js';
import { s3StoreOf } from '../remote-store.js';

/** At most this many objects or blockers in the human report (--json lists all); prune keeps no more objects than these for it. */
const SHOW = 20;

/**
 * Unreferenced objects `--json` holds before it begins its document: a listing of no more is
 * written once prune is done, as one document (`ok` first); a longer one is streamed ({@link JsonListing}).
 */
const JSON_HELD = 1000;

/**
 * `prune --json`'s document, written as prune finds the objects, so that memory stays bounded
 * however many there are. Up to {@link JSON_HELD} objects are held: a listing of no more is written
 * at the end, as `jsonDocument` of the result (`ok` first, the bytes snap always wrote). Past that,
 * the document is begun (json-stream.ts) — `store`, `removing`, `locked` (and `lockError`), then
 * `unreferenced`, each object as it comes — and ended with the other members, `ok` last, as
 * `log --json` streams its entries: a listing stopped once begun (Ctrl-C, an I/O error) ends with
 * the objects listed so far, `"ok": false` and the `error`, still one document. Same members, same
 * values, either way.
 */
class JsonListing {
  private held: UnreferencedObject[] = [];
  private readonly doc: JsonStream;

  constructor(private readonly io: CliIo) {
    this.doc = new JsonStream(io.stdout);
  }

  /** One unreferenced object, in digest order (prune's `onUnreferenced`). */
  async add(o: UnreferencedObject, head: PruneHead): Promise<void> {
    if (!this.doc.begun && this.held.length < JSON_HELD) {
      this.held.push(o);
      return;
    }
    if (!this.doc.begun) {
      this.doc.open().members({ ...head });
      await this.doc.openList('unreferenced');
      for (const h of this.held) await this.doc.item(h);
      this.held = [];
    }
    await this.doc.item(o);
  }

  /** Write the document of `doc` (prune's result with `seconds` and `log`): all of it, or what the listing has not written yet. */
  async finish(doc: Omit<PruneResult, 'seconds'> & { seconds: number; log: unknown }): Promise<void> {
    if (!this.doc.begun) return jsonOut(this.io, { ...doc, unreferenced: this.held });
    const { ok, store, removing, locked, lockError, unreferenced, ...rest } = doc; // the first four and the list are written already
    await this.doc.end({ ...rest, ok });
  }

  /** The error to throw for `e`: once the document has begun, it is ended with `"ok": false` and the error, and the error marked as reported in it. */
  fail(e: unknown): unknown {
    return this.doc.fail(e); // nothing written: runCli's error document is the whole output
  }
}

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
    if (c.unreferenced > SHOW) out.push(`  … and ${c.unreferenced - SHOW} more (--json lists all)`);
    if (!r.removing) out.push('  To remove them: run again with --yes');
  }
  if (!r.locked) out.push(`  note: listed without the store lock (${escapeMessage(r.lockError ?? 'not taken')}): this listing may be stale — a seal or import running meanwhile may have objects in the store it has not committed yet, listed here as unreferenced; --yes needs the lock`);
  io.stdout.write(out.join('\n') + '\n');
}

async function cmdPrune(a: Args, io: CliIo): Promise<number> {
  const url = s3StoreOf(a, io);
  if (url) throw pruneNeedsLocalStore(url);
  const storeRoot = storePath(a.store, io.env, io.cwd);
  const logPrune = (r: PruneResult) => {
    // A blocker's name that is not UTF-8 is logged lossy (`lossyName`): the audit line is canonical JSON, which holds no lone surrogate; --json has its `pathHex`.
    const details = { removing: r.removing, unreferenced: r.counts.unreferenced, unreferencedBytes: r.counts.unreferencedBytes, removed: r.counts.removed, removedBytes: r.counts.removedBytes, ...(r.ok ? {} : { blockers: r.blockers.slice(0, LOGGED_BLOCKERS).map((b) => lossyName(b.path)), blockerCount: r.blockers.length }) };
    return audit(io, storeRoot, { command: 'prune', outcome: r.ok ? 'ok' : 'failed', details }, { quiet: !!a.quiet });
  };
  if (!a.json) {
    // Only the objects the report shows are kept; the counts count them all.
    const r = await prune({ store: storeRoot, remove: !!a.yes, keepUnreferenced: SHOW });
    await logPrune(r);
    if (!a.quiet || !r.ok) printPrune(r, io, !!io.stdout.isTTY && !io.env.NO_COLOR);
    return r.ok ? EXIT_OK : EXIT_INTEGRITY;
  }
  const listing = new JsonListing(io);
  try {
    const r = await prune({ store: storeRoot, remove: !!a.yes, keepUnreferenced: 0, onUnreferenced: (o, head) => listing.add(o, head) });
    const log = await logPrune(r);
    await listing.finish({ ...r, seconds: Number(r.seconds.toFixed(3)), log });
    return r.ok ? EXIT_OK : EXIT_INTEGRITY;
  } catch (e) {
    throw listing.fail(e);
  }
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
            '--json lists every object, by digest (more than 1000 are streamed, "ok" then last; a listing stopped once begun still ends as one document); --yes removes each as it is found, once every snapshot is read. ' +
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
