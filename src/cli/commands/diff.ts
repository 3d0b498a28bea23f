/**
 * `snap diff <a> <b>`: what changed between two snapshots, or a snapshot and a folder (exit 1 when
 * they differ). A snapshot side may be an archive `NAME@VERSION.snap.tar`: only its manifest is used.
 */
import { resolve } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { SnapError } from '../../core/errors.js';
import { storePath, isSnapshotFolder, CONTENTS_FILE, ENVELOPE_FILE, MANIFEST_FILE, STATEMENT_FILE } from '../../io/store.js';
import { diff, isIdentical, untrustedSides, type DiffExtra, type DiffInput, type DiffReport, type DiffSide } from '../../ops/diff.js';
import { isSymlinkEntry } from '../../core/manifest.js';
import { escapeForTerminal as shown, escapeListedPath, escapeMessage } from '../../core/display.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { archiveSidesNote, formatBytes, plural, shortDigest, shortId, sideSigners, signersNotCheckedNote, styler } from '../format.js';
import { STATE_DIR_OPTION, pubkeyTrustRules, stateDirNeedsPubkey } from '../trust-args.js';
import { jsonOut, checkJobs, trustedKeys, commonFlags, storeReadFrom, mustExistIfPath, type Args, type CliIo, type CommandSpec, withExamples } from '../common.js';
import { openSnapshotRef, type OpenedSnapshot } from '../snapshot-ref.js';
import { recordsLines } from '../records-print.js';
import { snapshotRecordConfigsOf } from '../side-config.js';
import { isS3Url, parseS3Url } from '../../s3/location.js';

/** What measures the order of records a diff did not measure (FORMAT §19.8). */
const ORDER_HOW = '--order measures it';

/** What a snapshot folder holds: its three files, and in a store the unsigned `contents.json`. */
const SNAPSHOT_FOLDER_ENTRIES: ReadonlySet<string> = new Set([STATEMENT_FILE, ENVELOPE_FILE, MANIFEST_FILE, CONTENTS_FILE]);

/**
 * The first entry of folder `dir` that a snapshot folder does not hold, if any. Read one entry at a
 * time and stopped at the first such: a dataset folder may hold millions of names.
 * @throws the errors of opendir (`fs` errors, mapped by the CLI)
 */
async function firstNonSnapshotEntry(dir: string): Promise<string | undefined> {
  const d = await fsp.opendir(dir);
  try {
    for (let e = await d.read(); e !== null; e = await d.read()) if (!SNAPSHOT_FOLDER_ENTRIES.has(e.name)) return e.name;
    return undefined;
  } finally {
    await d.close().catch(() => {});
  }
}

/**
 * One side: a dataset folder (walked and hashed by diff), else a snapshot or archive, added to `held` to be closed.
 * A folder holding a snapshot folder's three files and anything else is refused: whoever can write a
 * dataset can copy a signed snapshot's files into it, and read as that snapshot the folder would
 * compare identical (and trusted) to it whatever its data.
 * @throws SnapError `REF_AMBIGUOUS` (such a folder) | the codes of openSnapshotRef
 */
export async function diffInput(text: string, io: CliIo, store: string, held: OpenedSnapshot[]): Promise<DiffInput> {
  if (isS3Url(text)) return s3Input(text, io);
  mustExistIfPath(text, io, 'folder, snapshot folder or archive');
  const p = resolve(io.cwd, text);
  if (existsSync(p) && statSync(p).isDirectory()) {
    if (!isSnapshotFolder(p)) return { kind: 'folder', path: p };
    const other = await firstNonSnapshotEntry(p);
    if (other !== undefined) {
      throw new SnapError('REF_AMBIGUOUS', `${text} is both a dataset folder and a snapshot folder: it holds ${STATEMENT_FILE}, ${ENVELOPE_FILE} and ${MANIFEST_FILE} besides other entries (such as ${JSON.stringify(other)}), so which is meant cannot be told; name the snapshot by its ref (NAME@VERSION or id), or move those three files out of the dataset folder`, { path: p });
    }
  }
  const opened = await openSnapshotRef(text, io, store);
  held.push(opened);
  return { kind: 'snapshot', location: opened.location };
}

/**
 * An `s3://BUCKET/PREFIX` side: the objects under PREFIX, hashed as they stream (as `seal` does),
 * keys that cannot be manifest paths reported as `extra`. Loads the AWS SDK, only then.
 * @throws SnapError `S3_URL_MALFORMED`
 */
async function s3Input(url: string, io: CliIo): Promise<DiffInput> {
  parseS3Url(url); // a malformed location fails before the SDK loads
  const { openS3Dataset, scanS3Dataset } = await import('../../s3/dataset.js');
  const ds = openS3Dataset(url, io.env);
  return {
    kind: 'dataset',
    name: url,
    scan: (excludes, sink, onRefused) => scanS3Dataset(ds, (text) => sink(typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('utf8')), undefined, { excludes, onRefused: (k) => onRefused(k.path, k.code, k.reason, k.keyHex) }),
  };
}

/** Which of the sides `inputs` (a, b) were opened from a `.snap.tar` archive (in `held`). */
export function archiveSidesOf(inputs: readonly [DiffInput, DiffInput], held: readonly OpenedSnapshot[]): ('a' | 'b')[] {
  const fromArchive = (x: DiffInput) => x.kind === 'snapshot' && held.some((h) => h.archive !== undefined && h.location === x.location);
  return (['a', 'b'] as const).filter((_, i) => fromArchive(inputs[i] as DiffInput));
}

function sideName(s: DiffSide): string {
  return 'folder' in s ? shown(s.folder) : `${shown(s.ref)} (${shortId(s.snapshot)}, ${shown(s.createdAt)}, ${sideSigners(s.signers)})`;
}

function printDiff(r: DiffReport, io: CliIo, color: boolean, keysGiven: boolean, archiveSides: readonly ('a' | 'b')[]): void {
  const s = styler(color);
  const m = r.summary;
  const out: string[] = [`a: ${sideName(r.a)}`, `b: ${sideName(r.b)}`];
  for (const k of untrustedSides(r)) {
    const side = r[k];
    out.push(`${s.red(s.bold('UNTRUSTED'))} ${k}: ${'failure' in side && side.failure ? escapeMessage(side.failure.message) : 'no trusted key signed it'} (exit 1 whatever the contents)`);
  }
  if (isIdentical(r)) out.push(`${s.green('identical')}: ${plural(m.unchanged, 'entry', 'entries')}`);
  else out.push(`${s.bold('differences')}: ${m.added} added, ${m.removed} removed, ${m.modified} modified, ${m.renamed} renamed, ${m.unchanged} unchanged${m.extra ? `, ${m.extra} that cannot be recorded` : ''} (+${formatBytes(m.bytesAdded)} / -${formatBytes(m.bytesRemoved)})`);
  const size = (e: { size?: number } | object) => ('size' in e && typeof e.size === 'number' ? formatBytes(e.size) : 'symlink');
  const section = (title: string, lines: string[]) => {
    if (lines.length === 0) return;
    out.push(`${s.bold(title)} (${lines.length}):`);
    for (const l of lines.slice(0, 50)) out.push(`  ${l}`);
    if (lines.length > 50) out.push(`  … and ${lines.length - 50} more (--json lists all)`);
  };
  section('renamed', r.renamed.map((x) => `${escapeListedPath(x.from)} → ${escapeListedPath(x.to)}  (${formatBytes(x.size)}, ${shortDigest(x.sha256)})`));
  section('added', r.added.map((e) => `${s.green('+')} ${escapeListedPath(e.path)}  (${size(e)})`));
  section('removed', r.removed.map((e) => `${s.red('-')} ${escapeListedPath(e.path)}  (${size(e)})`));
  section('modified', r.modified.map((x) => `${s.yellow('~')} ${escapeListedPath(x.path)}  ${size(x.a)} → ${size(x.b)}${!isSymlinkEntry(x.a) && !isSymlinkEntry(x.b) ? `  ${shortDigest(x.a.sha256)} → ${shortDigest(x.b.sha256)}` : ''}`));
  const otherHolds = (x: DiffExtra) => (x.other === undefined ? '' : `; ${x.side === 'a' ? 'b' : 'a'} holds ${isSymlinkEntry(x.other) ? 'a symlink' : `a file`} there${isSymlinkEntry(x.other) ? '' : `, ${formatBytes(x.other.size)}`}`);
  // A socket, FIFO or device refused for its name: what it is (one refused for its type says so in its reason).
  const whatItIs = (x: DiffExtra) => (x.target !== undefined ? `→ ${escapeListedPath(x.target)}; ` : x.type !== undefined && x.code !== 'FILE_UNSUPPORTED_TYPE' ? `${escapeMessage(x.type)}; ` : '');
  section('extra: cannot be recorded', r.extra.map((x) => `${s.red('!')} ${x.side}: ${escapeListedPath(x.path)}  (${whatItIs(x)}${escapeMessage(x.reason)}, ${x.code}${otherHolds(x)})`)); // an S3 key's reason quotes the key
  if (r.records) out.push(...recordsLines(r.records, { orderHow: ORDER_HOW }));
  for (const note of [archiveSidesNote(archiveSides), signersNotCheckedNote([r.a, r.b], keysGiven)]) if (note) out.push(note);
  io.stdout.write(out.join('\n') + '\n');
}

async function cmdDiff(a: Args, io: CliIo): Promise<number> {
  stateDirNeedsPubkey(a);
  const store = storePath(a.store, io.env, io.cwd);
  const held: OpenedSnapshot[] = []; // archives spooled to temporary folders: always closed
  try {
    const ia = await diffInput(String(a.a), io, store, held);
    const ib = await diffInput(String(a.b), io, store, held);
    const trusted = a.pubkey ? await trustedKeys(a.pubkey as string[], io.cwd) : undefined;
    // With keys, each snapshot side is judged as verify judges it: revoked (the store's revocations, or those this machine kept) or expired, it is untrusted.
    const judged = trusted ? await pubkeyTrustRules(a, io, store, trusted) : undefined;
    // A snapshot's signed rules take part in choosing the record sets, as in check: a record file
    // they match that the other side left unindexed is listed as unavailable, not passed over.
    const records = a['no-records'] !== true;
    // Found by the diff's own read of each manifest, once judged (not a read of each beforehand).
    const recordConfigsOf = records ? snapshotRecordConfigsOf(ia, ib, store, held, 'diff') : undefined;
    const r = await diff(ia, ib, { jobs: checkJobs(a.jobs), trusted, ...(judged ? { rules: judged.rules } : {}), stores: storeReadFrom(store, [ia, ib].map((i) => (i.kind === 'snapshot' ? i.location.dir : undefined))), store, ...(recordConfigsOf ? { recordConfigsOf } : { records: false }), order: a.order === true });
    await judged?.keep();
    // A side the keys do not trust is an integrity failure, identical or not (SPEC §8: exit 1).
    const exit = isIdentical(r) && untrustedSides(r).length === 0 ? EXIT_OK : EXIT_INTEGRITY;
    if (a.json) jsonOut(io, { ok: exit === EXIT_OK, ...r });
    else printDiff(r, io, !!io.stdout.isTTY && !io.env.NO_COLOR, trusted !== undefined, archiveSidesOf([ia, ib], held));
    return exit;
  } finally {
    await Promise.all(held.map((h) => h.close()));
  }
}

/** `snap diff <a> <b>`. */
export const diffCommand: CommandSpec = {
  command: 'diff <a> <b>',
  describe: 'What changed between two snapshots or folders (exit 1 if any)',
  builder: (y) =>
    withExamples(
      commonFlags(y, { store: true, jobs: true })
        .positional('a', { type: 'string', describe: 'the old side: a ref (NAME@VERSION, snapshot id), a NAME@VERSION.snap.tar archive, a folder, or s3://BUCKET/PREFIX (a dataset in S3); a folder that holds a snapshot\'s statement.json, envelope.json and manifest.jsonl besides other entries is refused (REF_AMBIGUOUS): name that snapshot by its ref' })
        .positional('b', { type: 'string', describe: 'the new side: the same kinds as A' })
        .option('pubkey', { type: 'string', array: true, requiresArg: true, describe: 'check each snapshot or archive side\'s signers against these public keys (repeatable): exit 1 if a side is not trusted' })
        .option('state-dir', { ...STATE_DIR_OPTION, describe: 'with --pubkey: folder of the trusted state, whose kept revocations count (default: $SNAP_STATE_DIR, else $XDG_STATE_HOME/snap, else ~/.local/state/snap)' })
        .option('no-records', { type: 'boolean', describe: 'compare files only, not the records of record sets' })
        .option('order', { type: 'boolean', describe: "measure how many records moved out of A's order also when that reads both whole record indexes: two snapshots whose set gained or lost records, where it is otherwise 'row order not measured' (docs/FORMAT.md §19.8)" }),
      [
        ['$0 diff spam@v1 spam@v2', 'added, removed, modified and renamed files; flipped, added, removed and modified records'],
        ['$0 diff spam@v1.snap.tar data/', 'an archive against a folder'],
        ['$0 diff spam@v1 s3://corpus/spam/', 'a snapshot against a dataset in S3 (its objects hashed as they stream)'],
        ['$0 diff spam@v1 spam@v2.snap.tar --pubkey ci.pub', 'signers checked too'],
        ['$0 diff spam@v1 spam@v2 --order', 'how many records moved out of order, also where records were added or removed'],
      ],
    ),
  run: cmdDiff,
};
