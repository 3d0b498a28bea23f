/**
 * `snap check <b> --against <a>`: the review gate for a legitimate new version of a dataset —
 * exit 1 when its records moved more than the thresholds allow (label changes on existing records,
 * records modified or removed, records added as a share, new duplicates or conflicting labels, a
 * label's share moved more than the L∞ limit, a new or vanished label, a file that looks like data
 * added, removed or changed outside every record set).
 */
import { SnapError } from '../../core/errors.js';
import { storePath } from '../../io/store.js';
import { diff, untrustedSides } from '../../ops/diff.js';
import type { DiffOptions, DiffSide } from '../../ops/diff.js';
import { checkRecords, isDatasetCard, linkBreaches, linksMessage, unindexedBreaches, unindexedFiles, unindexedMessage, unrecordableBreaches, unrecordableMessage, type Breach, type UnindexedFile } from '../../records/check.js';
import { cardIsData } from '../dataset-card.js';
import { samplelessLabelFolders } from '../label-folders.js';
import { CONFIG_FILE, type RecordConfig } from '../../records/config.js';
import { compareUtf8 } from '../../core/paths.js';
import { RECORDS_LISTED } from '../records-print.js';
import { isSymlinkEntry, type ManifestEntry } from '../../core/manifest.js';
import { DEFAULT_THRESHOLDS, mergeThresholds, parseThresholds, strictestThresholds, type Thresholds } from '../../records/thresholds.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { archiveSidesNote, shortId, sideSigners, signersNotCheckedNote, styler } from '../format.js';
import { STATE_DIR_OPTION, pubkeyTrustRules, stateDirNeedsPubkey } from '../trust-args.js';
import { jsonOut, checkJobs, trustedKeys, commonFlags, storeReadFrom, withExamples, type Args, type CliIo, type CommandSpec } from '../common.js';
import type { OpenedSnapshot } from '../snapshot-ref.js';
import { archiveSidesOf, diffInput } from './diff.js';
import { recordsLines } from '../records-print.js';
import { sideConfig, snapshotRecordConfigsOf } from '../side-config.js';
import { escapeForTerminal as shown, escapeListedPath, escapeMessage } from '../../core/display.js';

/** Flag name → threshold name. */
const FLAGS: [string, keyof Thresholds][] = [
  ['max-label-changes', 'maxLabelChanges'],
  ['max-modified', 'maxModified'],
  ['max-removed', 'maxRemoved'],
  ['max-added-share', 'maxAddedShare'],
  ['max-conflicts', 'maxConflicts'],
  ['max-duplicates', 'maxDuplicates'],
  ['max-unindexed-files', 'maxUnindexedFiles'],
  ['max-type-changes', 'maxTypeChanges'],
  ['max-reordered', 'maxReordered'],
  ['max-shift', 'maxShift'],
  ['max-js-distance', 'maxJsDistance'],
  ['max-psi', 'maxPsi'],
  ['min-chi-square-p', 'minChiSquareP'],
  ['allow-new-labels', 'allowNewLabels'],
  ['allow-vanished-labels', 'allowVanishedLabels'],
];

/**
 * The text given for `--flag` on the command line (its last `--flag X` or `--flag=X`), for an error
 * to show: yargs hands a number flag given "five" over as NaN.
 */
function givenText(argv: readonly string[] | undefined, flag: string): string | undefined {
  let given: string | undefined;
  for (let i = 0; argv && i < argv.length; i++) {
    const x = argv[i] as string;
    if (x === '--') break;
    if (x === `--${flag}`) given = argv[i + 1];
    else if (x.startsWith(`--${flag}=`)) given = x.slice(flag.length + 3);
  }
  return given;
}

/** Share thresholds given as flags: a value from 1 to 100 given for one was likely meant as a percentage. */
const SHARE_FLAGS = new Set(['max-added-share', 'max-shift', 'max-js-distance', 'min-chi-square-p']);

/** The thresholds given as flags. @throws SnapError `USAGE` (naming the flag, what it takes and what was given) */
function flagThresholds(a: Args, argv?: readonly string[]): Thresholds {
  const o: Record<string, unknown> = {};
  for (const [flag, name] of FLAGS) if (a[flag] !== undefined) o[name] = a[flag];
  try {
    return parseThresholds(o, 'flags', 'USAGE');
  } catch (e) {
    // Name the flag the user typed (--max-shift), not its snap.json member (maxShift), and drop the
    // "or null" that only snap.json can give.
    if (!(e instanceof SnapError)) throw e;
    let m = e.message.replace(/^flags: /, '').replace(/, or null$/, '');
    for (const [flag, name] of FLAGS) {
      if (!new RegExp(`^${name}\\b`).test(m)) continue;
      const given = givenText(argv, flag) ?? String(a[flag]);
      const v = Number(given);
      const percent = SHARE_FLAGS.has(flag) && v > 1 && v <= 100 ? ` (a share: --${flag} ${v / 100} for ${v} %)` : '';
      m = `${m.replace(new RegExp(`^${name}\\b`), `--${flag}`)}; got ${JSON.stringify(given)}${percent}`;
    }
    throw new SnapError('USAGE', m);
  }
}

/**
 * The files added, removed or modified between the two sides, a rename as its removal and its
 * addition, in path order; the root `snap.json` left out (check reads it: its rules and thresholds).
 */
function fileChanges(r: { added: readonly { path: string }[]; removed: readonly { path: string }[]; modified: readonly { path: string }[]; renamed: readonly { from: string; to: string }[] }): { path: string; change: UnindexedFile['change'] }[] {
  const out: { path: string; change: UnindexedFile['change'] }[] = [
    ...r.added.map((e) => ({ path: e.path, change: 'added' as const })),
    ...r.renamed.map((e) => ({ path: e.to, change: 'added' as const })),
    ...r.removed.map((e) => ({ path: e.path, change: 'removed' as const })),
    ...r.renamed.map((e) => ({ path: e.from, change: 'removed' as const })),
    ...r.modified.map((e) => ({ path: e.path, change: 'modified' as const })),
  ];
  return out.filter((c) => c.path !== CONFIG_FILE).sort((x, y) => compareUtf8(x.path, y.path) || compareUtf8(x.change, y.change));
}

/** The label-folder sets of a check: those the record diff compared, and the `files` rules with a label segment of A's and B's `snap.json`. */
function labelFolderSets(r: { records?: { sets: readonly { format: string; name: string; labelSegment?: number }[] } }, ...configs: (RecordConfig | undefined)[]): { pattern: string; labelSegment: number }[] {
  return [
    ...(r.records?.sets ?? []).filter((d) => d.format === 'files' && d.labelSegment !== undefined).map((d) => ({ pattern: d.name, labelSegment: d.labelSegment as number })),
    ...configs.flatMap((c) => c?.rules ?? []).filter((x) => x.format === 'files' && x.labelSegment !== undefined).map((x) => ({ pattern: x.pattern, labelSegment: x.labelSegment as number })),
  ];
}

/** The entry of the root dataset card `path` on one side of a rename (its sha256 and size), if it was renamed there or from there. */
function renamedEntry(r: { renamed: readonly { from: string; to: string; sha256: string; size: number }[] }, side: 'a' | 'b', path: string): ManifestEntry | undefined {
  const m = r.renamed.find((x) => (side === 'a' ? x.from : x.to) === path);
  return m ? { path, sha256: m.sha256, size: m.size } : undefined;
}

/** Human lines of the files outside every record set: a count, then at most {@link RECORDS_LISTED} of them. */
function unindexedLines(files: readonly UnindexedFile[]): string[] {
  if (files.length === 0) return [];
  const data = files.filter((f) => f.data).length;
  const out = [`files outside every record set: ${files.length} added, removed or changed (looks like data: ${data})`];
  for (const f of files.slice(0, RECORDS_LISTED)) out.push(`  ${f.change.padEnd(8)}  ${escapeListedPath(f.path)}${f.data ? '  (looks like data)' : ''}`);
  if (files.length > RECORDS_LISTED) out.push(`  … and ${files.length - RECORDS_LISTED} more (--json lists all)`);
  return out;
}

/**
 * A breach as a line of the human report: its set (`dataset` for `*`) and its message, each path
 * written as the file lines of `diff` and `verify` write one (`escapeListedPath`: between double
 * quotes when it holds the marks of a record line, so that a set named `x.csv: 3 labels flipped`
 * or a file `a (row 2), b.csv` cannot pass for more of the line or for two files); `--json` keeps
 * the set's real name and the message as it has always been (`escapePath`).
 */
function breachLine(b: Breach, unindexed: readonly UnindexedFile[]): string {
  const message = b.rule === 'links' && Array.isArray(b.value) ? linksMessage(b.value, escapeListedPath) : b.rule === 'unrecordable' && Array.isArray(b.value) ? unrecordableMessage(b.value, escapeListedPath) : b.rule === 'maxUnindexedFiles' && typeof b.limit === 'number' ? unindexedMessage(unindexed, b.limit, escapeListedPath) : b.message;
  return `  ${b.set === '*' ? 'dataset' : escapeListedPath(b.set)}: ${escapeMessage(message)}  [${b.rule}]`;
}

function sideName(s: DiffSide): string {
  return 'folder' in s ? shown(s.folder) : `${shown(s.ref)} (${shortId(s.snapshot)}, ${sideSigners(s.signers)})`;
}

async function cmdCheck(a: Args, io: CliIo): Promise<number> {
  stateDirNeedsPubkey(a);
  if (a.against === undefined) throw new SnapError('USAGE', 'check B needs --against A (the reviewed version: a ref, an archive or a folder)');
  const store = storePath(a.store, io.env, io.cwd);
  const fromFlags = flagThresholds(a, io.argv);
  const held: OpenedSnapshot[] = [];
  try {
    const ia = await diffInput(String(a.against), io, store, held);
    const ib = await diffInput(String(a.b), io, store, held);
    const trusted = a.pubkey ? await trustedKeys(a.pubkey as string[], io.cwd) : undefined;
    // A folder's snap.json is read here (a dataset in S3 is refused here); a snapshot's signed one
    // from the snap.json entry the diff's own read of its manifest found, once both were judged.
    let configA = ia.kind === 'snapshot' ? undefined : await sideConfig(ia, 'check');
    let configB = ib.kind === 'snapshot' ? undefined : await sideConfig(ib, 'check');
    // Thresholds: the stricter of the reviewed version's snap.json and the new one's (each over the
    // defaults: the change under review cannot loosen its own gate), then flags.
    const thresholdsOf = (ca: RecordConfig | undefined, cb: RecordConfig | undefined): Thresholds =>
      mergeThresholds(strictestThresholds(mergeThresholds(DEFAULT_THRESHOLDS, ca?.check), mergeThresholds(DEFAULT_THRESHOLDS, cb?.check)), fromFlags);
    // With keys, A is judged as verify judges it: revoked (the store's revocations, or those this machine kept) or expired, it is no trusted baseline.
    const judged = trusted ? await pubkeyTrustRules(a, io, store, trusted) : undefined;
    // A snapshot's signed rules take part in choosing the sets (a record file they match is compared
    // even where B did not index it); a folder's own snap.json is read by diff itself.
    const ofEntries = snapshotRecordConfigsOf(ia, ib, store, held, 'check');
    const recordConfigsOf: NonNullable<DiffOptions['recordConfigsOf']> = async (found, predicates) => {
      const got = await ofEntries(found, predicates);
      if (ia.kind === 'snapshot') configA = got.a;
      if (ib.kind === 'snapshot') configB = got.b;
      return got;
    };
    // B's signed indexes are believed only when a trusted key signed B: else they are its signer's
    // claim, and its record sets are indexed from its bytes (a poisoned file beside A's clean index).
    // The order of records is measured whenever it is gated (maxReordered, by flag or snap.json): where
    // records were added or removed between two snapshots that reads both whole indexes (FORMAT §19.8).
    // The store's layout is left out of a folder side only when a snapshot side was read from it (common.ts storeReadFrom);
    // whatever else lies under the store folder is data (io/store-layout.ts).
    const leftOut = storeReadFrom(store, [ia, ib].map((i) => (i.kind === 'snapshot' ? i.location.dir : undefined)));
    const r = await diff(ia, ib, { jobs: checkJobs(a.jobs), trusted, ...(judged ? { rules: judged.rules } : {}), stores: leftOut, store, recordConfigsOf, indexesNeedTrust: ['b'], order: () => thresholdsOf(configA, configB).maxReordered !== undefined });
    const thresholds = thresholdsOf(configA, configB);
    await judged?.keep();
    // Trust first, as verify judges it: an untrusted A fails the gate (exit 1) whatever the records
    // say, and even when there are none to compare.
    const untrusted = untrustedSides(r).includes('a');
    const noSets = !r.records || r.records.sets.length + r.records.unavailable.length === 0;
    if (noSets && !untrusted) {
      throw new SnapError('RECORDS_CONFIG_INVALID', 'nothing to check: neither side has record sets (seal with record rules in snap.json or --records; docs/FORMAT.md §19)');
    }
    const breaches = r.records && !noSets ? checkRecords(r.records, thresholds) : [];
    if (r.records && !noSets) {
      // Links B added or changed where a record rule reaches: records a reader following them gets.
      const links = [...r.added.filter(isSymlinkEntry).map((e) => e.path), ...r.modified.filter((m) => isSymlinkEntry(m.b)).map((m) => m.path)];
      const rules = [
        ...r.records.sets.filter((d) => d.format === 'files').map((d) => ({ pattern: d.name, files: true })),
        ...[configA, configB].flatMap((c) => c?.rules ?? []).map((x) => ({ pattern: x.pattern, files: x.format === 'files' })),
      ];
      breaches.push(...linkBreaches(links, rules));
    }
    // Files no record set covers, added, removed or changed (a rename is both): a training job that
    // globs `*.ndjson` or reads the whole folder reads them, and no record diff saw them.
    const unindexed = unindexedFiles(fileChanges(r), {
      tables: [...(r.records?.sets ?? []).filter((d) => d.format !== 'files').map((d) => d.name), ...(r.records?.unavailable ?? []).map((u) => u.name)],
      labelFolders: labelFolderSets(r, configA, configB),
    });
    // A folder B's label folders that hold no sample: a class to a folder reader (Keras lists every
    // subfolder), yet in no index. Listed when new: A cannot have had it (empty: a snapshot records
    // files only; a folder A lacks it the same way) or something below it changed.
    if (ib.kind === 'folder') {
      const sets = labelFolderSets(r, configA, configB);
      const inA = ia.kind === 'folder' ? new Set((await samplelessLabelFolders(ia.path, sets, leftOut)).map((f) => f.path)) : undefined;
      const changes = fileChanges(r);
      for (const f of await samplelessLabelFolders(ib.path, sets, leftOut)) {
        const changed = changes.some((c) => c.path.startsWith(f.path));
        const hadIt = inA ? inA.has(f.path) : !f.empty;
        if (changed || !hadIt) unindexed.push({ path: f.path, change: 'added', data: true });
      }
      unindexed.sort((x, y) => compareUtf8(x.path, y.path) || compareUtf8(x.change, y.change));
    }
    // The root dataset card is data when either side's opens a YAML front matter block: load_dataset reads its splits there.
    for (const f of unindexed) {
      if (!isDatasetCard(f.path) || f.data) continue;
      const entryOf = (side: 'a' | 'b') => [...r.modified.map((m) => m[side]), ...(side === 'a' ? r.removed : r.added)].find((e) => e.path === f.path) ?? renamedEntry(r, side, f.path);
      f.data = await cardIsData(ia, ib, entryOf('a'), entryOf('b'), store);
    }
    breaches.push(...unindexedBreaches(unindexed, thresholds.maxUnindexedFiles));
    // Entries of a folder B no snapshot can record: files a reader of the folder takes, that no diff read.
    breaches.push(...unrecordableBreaches(r.extra.filter((e) => e.side === 'b').map((e) => e.path)));
    if (untrusted) {
      // Why A is untrusted, when the trust check said (revoked, expired, a version this machine trusted as another snapshot): not only "unsigned".
      const why = 'failure' in r.a ? r.a.failure : undefined;
      breaches.unshift({ set: '*', rule: 'trust', value: 'untrusted', message: why ? `${String(a.against)} is not trusted by the --pubkey keys: ${why.message} [${why.code}]` : `${String(a.against)} is not signed by a trusted key (--pubkey)` });
    }
    const ok = breaches.length === 0;
    if (a.json) {
      jsonOut(io, { ok, a: r.a, b: r.b, thresholds, breaches, files: r.summary, unindexedFiles: unindexed, records: r.records });
    } else {
      const s = styler(!!io.stdout.isTTY && !io.env.NO_COLOR);
      const out = [`a: ${sideName(r.a)}`, `b: ${sideName(r.b)}`];
      out.push(ok ? `${s.green(s.bold('PASS'))}  ${shown(String(a.b))} is within the thresholds against ${shown(String(a.against))}` : `${s.red(s.bold('FAIL'))}  ${shown(String(a.b))} breaks ${breaches.length === 1 ? 'a threshold' : `${breaches.length} thresholds`} against ${shown(String(a.against))}:`);
      for (const b of breaches) out.push(breachLine(b, unindexed));
      out.push(...(r.records && !noSets ? recordsLines(r.records, { orderAlways: true, orderHow: '--max-reordered measures it' }) : ['records: no record sets to compare (neither side has any)']));
      out.push(...unindexedLines(unindexed));
      // Where they come from, since B's own snap.json may say something looser than what applies.
      out.push(`thresholds: ${Object.entries(thresholds).filter(([, v]) => v !== undefined).map(([k, v]) => `${k} ${String(v)}`).join(', ')} (the stricter of A's and B's snap.json over the defaults, then the flags)`);
      for (const note of [archiveSidesNote(archiveSidesOf([ia, ib], held)), signersNotCheckedNote([r.a, r.b], trusted !== undefined)]) if (note) out.push(note);
      io.stdout.write(out.join('\n') + '\n');
    }
    return ok ? EXIT_OK : EXIT_INTEGRITY;
  } finally {
    await Promise.all(held.map((h) => h.close()));
  }
}

/** `snap check <b> --against <a>`. */
export const checkCommand: CommandSpec = {
  command: 'check <b>',
  describe: 'Review gate: exit 1 if B moved its records more than thresholds allow against A',
  builder: (y) =>
    withExamples(
      commonFlags(y, { store: true, jobs: true })
        .positional('b', { type: 'string', describe: 'the new version: a folder, a ref (NAME@VERSION, snapshot id) or a NAME@VERSION.snap.tar archive' })
        .option('against', { type: 'string', requiresArg: true, demandOption: true, describe: 'the reviewed version A: a ref, an archive or a folder (required)' })
        .option('pubkey', { type: 'string', array: true, requiresArg: true, describe: "check each snapshot side's signers against these public keys (repeatable; A must be trusted; the record indexes of a B they did not sign are not believed: its record files are indexed from their bytes)" })
        .option('state-dir', { ...STATE_DIR_OPTION, describe: 'with --pubkey: folder of the trusted state, whose kept revocations count (default: $SNAP_STATE_DIR, else $XDG_STATE_HOME/snap, else ~/.local/state/snap)' })
        .option('max-label-changes', { type: 'number', requiresArg: true, describe: 'labels changed on existing records (default 0)' })
        .option('max-modified', { type: 'number', requiresArg: true, describe: 'records modified (default 0)' })
        .option('max-removed', { type: 'number', requiresArg: true, describe: 'records removed (default 0)' })
        .option('max-added-share', { type: 'number', requiresArg: true, describe: "records added, as a share of A's, 0 to 1 (default 0.5)" })
        .option('max-conflicts', { type: 'number', requiresArg: true, describe: 'new groups of conflicting labels (default 0)' })
        .option('max-duplicates', { type: 'number', requiresArg: true, describe: 'new duplicate keys or records (default 0)' })
        .option('max-unindexed-files', { type: 'number', requiresArg: true, describe: 'files added, removed or changed outside every record set that look like data: a record format\'s ending (.csv, .jsonl, .parquet, …) or another loader\'s (.txt, .arrow, .tfrecord, .tar, .npy, .pt, .h5, …; also compressed: .csv.gz), in a label folder, a label folder of a folder B with no sample (a class to Keras), a root README.md with YAML front matter or a root .huggingface.yaml (Hugging Face reads its splits there) (default 0; others, a plain README.md, LICENSE, .py, are listed only; docs/FORMAT.md §19.8 lists them all)' })
        .option('max-type-changes', { type: 'number', requiresArg: true, describe: 'columns of a Parquet set whose type or Hugging Face ClassLabel names changed, e.g. label: INT64 → STRING, label: ClassLabel names [neg, pos] → [pos, neg], and each ClassLabel nested in a column\'s structs and lists whose names changed, objects.category[]: ClassLabel names [cat, dog] → [dog, cat], and each pandas categorical whose categories or ordered flag changed, label: pandas categories [neg, pos] → [pos, neg]; a reorder of a Parquet, CSV, TSV or JSONL set\'s columns (JSONL: members by first appearance across lines) counts one, column order: id, x, label → id, label, x, and each column added or removed one, columns added: extra (default 0)' })
        .option('max-reordered', { type: 'number', requiresArg: true, describe: "records of a table moved out of A's order: the fewest of the records on both sides to move to restore it; a loader that splits by position (train[:N]) reads other records (default: not gated, reported always; between two snapshots whose set gained or lost records it is measured only when gated, as it reads both whole record indexes; docs/FORMAT.md §19.8)" })
        .option('max-shift', { type: 'number', requiresArg: true, describe: "largest move of one label's share, L∞, 0 to 1 (default 0.05)" })
        .option('max-js-distance', { type: 'number', requiresArg: true, describe: 'Jensen–Shannon distance, 0 to 1 (default: not gated)' })
        .option('max-psi', { type: 'number', requiresArg: true, describe: 'population stability index (default: not gated)' })
        .option('min-chi-square-p', { type: 'number', requiresArg: true, describe: 'smallest χ² p-value, 0 to 1 (default: not gated)' })
        .option('allow-new-labels', { type: 'boolean', describe: 'let a label appear (=false forbids it where a snap.json allows it; --no-… is not taken)' })
        .option('allow-vanished-labels', { type: 'boolean', describe: 'let a label vanish (=false forbids it where a snap.json allows it)' }),
      [
        ['$0 check data/ --against train@v3 --pubkey ci.pub', 'gate a new version before sealing it'],
        ['$0 check train@v4 --against train@v3 --max-added-share 0.1', 'at most 10 % new records'],
      ],
    ),
  run: cmdCheck,
};
