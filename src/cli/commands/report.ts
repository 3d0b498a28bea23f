/**
 * `snap report A B -o incident.html`: the incident report of a diff as one self-contained HTML page
 * (or GitHub-flavoured Markdown for a CI job summary); `snap report --drill DRILL.json -o drill.html`:
 * the report of a poisoning drill. The exit code says what the report says: 0 when A and B are
 * identical and trusted (a drill: every planted change caught), 1 when they differ or a side is not
 * trusted (a drill: a miss) — the report is written in both cases; 2 usage; 3 bad input.
 */
import { resolve } from 'node:path';
import { SnapError } from '../../core/errors.js';
import { escapeForTerminal as shown } from '../../core/display.js';
import { storePath } from '../../io/store.js';
import { gatherIncident } from '../../report/gather-incident.js';
import { DEFAULT_MAX_ITEMS, MAX_MAX_ITEMS } from '../../report/incident-facts.js';
import { renderIncidentHtml, verdictLine } from '../../report/render-incident-html.js';
import { renderIncidentMarkdown } from '../../report/render-incident-markdown.js';
import { renderDrillHtml, renderDrillMarkdown } from '../../report/render-drill.js';
import { readDrillFile, writeReportFile } from '../../report/write-report.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { formatBytes } from '../format.js';
import { withProgress } from '../progress.js';
import { TRUST_FLAGS, trustOptions, trustSetup } from '../trust-args.js';
import { checkJobs, commonFlags, storeReadFrom, jsonOut, wholeNumberOption, withExamples, type Args, type CliIo, type CommandSpec } from '../common.js';
import { diffInput } from './diff.js';
import { snapshotRecordConfigsOf } from '../side-config.js';
import type { OpenedSnapshot } from '../snapshot-ref.js';
import { DEFAULT_PROGRAM_NAME } from '../program-name.js';

/** The report formats. */
export const REPORT_FORMATS = ['html', 'markdown'] as const;
type ReportFormat = (typeof REPORT_FORMATS)[number];

/** `--format`, else `markdown` for an `-o` ending in `.md` or `.markdown`, else `html`. */
export function reportFormat(a: Args): ReportFormat {
  if (a.format !== undefined) return a.format as ReportFormat;
  return /\.(md|markdown)$/i.test(String(a.out)) ? 'markdown' : 'html';
}

/** The trust flags as given, to repeat in the restore command (paths as typed, relative to the working folder). */
function trustWords(a: Args): string[] {
  const words: string[] = [];
  const each = (flag: string) => {
    for (const v of (a[flag] as string[] | undefined) ?? []) words.push(`--${flag}`, String(v));
  };
  each('pubkey');
  if (a.threshold !== undefined && a.threshold !== 1) words.push('--threshold', String(a.threshold));
  each('policy');
  each('root');
  if (typeof a['policy-name'] === 'string') words.push('--policy-name', a['policy-name']);
  if (typeof a['state-dir'] === 'string') words.push('--state-dir', a['state-dir']);
  each('revocations');
  return words;
}

const trustFlagsGiven = (a: Args) => TRUST_FLAGS.filter((k) => a[k] !== undefined);

/** Write the report to `-o`, and say so (`--json`: `ok`, true when the exit code is 0, as for every command). */
async function emit(a: Args, io: CliIo, text: string, format: ReportFormat, verdict: string, ok: boolean, line: string): Promise<void> {
  const out = String(a.out);
  if (out === '-') {
    io.stdout.write(text);
    return;
  }
  const path = resolve(io.cwd, out);
  await writeReportFile(path, text);
  const bytes = Buffer.byteLength(text);
  if (a.json) jsonOut(io, { ok, out: path, format, bytes, verdict });
  else io.stdout.write(`${line}\nwrote the ${format === 'html' ? 'HTML' : 'Markdown'} report to ${shown(path)} (${formatBytes(bytes)})\n`);
}

async function cmdReport(a: Args, io: CliIo): Promise<number> {
  const format = reportFormat(a);
  const maxItems = (a['max-items'] as number | undefined) ?? DEFAULT_MAX_ITEMS;
  // With -o -, the report itself is standard output: a JSON summary cannot be written there too.
  if (a.json && String(a.out) === '-') throw new SnapError('USAGE', '--json and -o - both want standard output: write the report to a file with -o FILE for a JSON summary, or drop --json');
  if (a.drill !== undefined) {
    if (a.a !== undefined || a.b !== undefined) throw new SnapError('USAGE', 'give either A B (an incident report) or --drill FILE (a drill report), not both');
    const given = trustFlagsGiven(a);
    if (given.length > 0) throw new SnapError('USAGE', `${given.map((k) => `--${k}`).join(', ')}: trust flags apply to an incident report (A B), not to --drill`);
    const d = await readDrillFile(resolve(io.cwd, String(a.drill)));
    const text = format === 'html' ? renderDrillHtml(d, maxItems) : renderDrillMarkdown(d, maxItems);
    const missed = d.planted.filter((p) => !p.caught).length;
    await emit(a, io, text, format, d.verdict, d.verdict === 'pass', d.verdict === 'pass' ? `PASS  the drill caught all ${d.planted.length} planted change(s)` : `FAIL  the drill missed ${missed} of ${d.planted.length} planted change(s)`);
    return d.verdict === 'pass' ? EXIT_OK : EXIT_INTEGRITY;
  }
  if (a.a === undefined || a.b === undefined) throw new SnapError('USAGE', 'give the two sides to compare, A (before) and B (after), or --drill FILE');
  const store = storePath(a.store, io.env, io.cwd);
  const given = io.givenStore ? io.givenStore.store : a.store; // an S3 store's URL, not its working copy
  const trust = trustFlagsGiven(a).length > 0 ? await trustSetup(a, io, store) : undefined;
  const held: OpenedSnapshot[] = [];
  try {
    const ia = await diffInput(String(a.a), io, store, held);
    const ib = await diffInput(String(a.b), io, store, held);
    // Each snapshot's signed rules choose the record sets too, as in diff and check: found from the
    // diff's own read of each manifest, once both were judged against their statements.
    const recordConfigsOf = snapshotRecordConfigsOf(ia, ib, store, held, 'report');
    const { facts } = await withProgress(a, io, 'comparing', (onProgress) =>
      gatherIncident(ia, ib, {
        jobs: checkJobs(a.jobs),
        stores: storeReadFrom(store, [ia, ib].map((i) => (i.kind === 'snapshot' ? i.location.dir : undefined))),
        store,
        recordConfigsOf,
        maxItems,
        ...(trust ? { trust: { trusted: trust.trusted, threshold: trust.threshold, rules: trust.rules }, trustWords: trustWords(a) } : {}),
        ...(given !== undefined ? { storeWords: ['--store', String(given)] } : {}),
        program: io.program ?? DEFAULT_PROGRAM_NAME,
        ...(onProgress ? { onProgress } : {}),
      }),
    );
    const text = format === 'html' ? renderIncidentHtml(facts) : renderIncidentMarkdown(facts);
    const v = verdictLine(facts);
    await emit(a, io, text, format, facts.verdict, facts.verdict === 'identical', `${v.head}  ${v.text}`);
    return facts.verdict === 'identical' ? EXIT_OK : EXIT_INTEGRITY;
  } finally {
    await Promise.all(held.map((h) => h.close()));
  }
}

/** `snap report [a] [b]`. */
export const reportCommand: CommandSpec = {
  command: 'report [a] [b]',
  describe: 'Write an incident report of A → B (or of a drill) as one self-contained HTML page or Markdown',
  builder: (y) =>
    withExamples(
      trustOptions(commonFlags(y, { store: true, quiet: 'no progress', jobs: true }), { keysOptional: true })
        .positional('a', { type: 'string', describe: 'the last known-good side: a ref (NAME@VERSION, snapshot id), a NAME@VERSION.snap.tar archive, a folder, or s3://BUCKET/PREFIX (a dataset in S3)' })
        .positional('b', { type: 'string', describe: 'the side under suspicion: a ref, an archive, a folder, or s3://BUCKET/PREFIX' })
        .option('out', { alias: 'o', type: 'string', requiresArg: true, demandOption: true, describe: 'the report file to write (replaced whole); - for standard output' })
        .option('format', { type: 'string', choices: REPORT_FORMATS as unknown as string[], describe: 'html (one self-contained page) or markdown (a CI job summary); default: markdown for -o *.md, else html' })
        .option('max-items', wholeNumberOption('max-items', `how many of each kind of change to list, 1 to ${MAX_MAX_ITEMS} (default ${DEFAULT_MAX_ITEMS}; the rest are counted); the record lists of all record sets share 4 × that many rows`, 1, MAX_MAX_ITEMS, DEFAULT_MAX_ITEMS))
        .option('drill', { type: 'string', requiresArg: true, describe: 'report a poisoning drill instead: the JSON file of snap drill --json' }),
      [
        ['$0 report spam@v1 spam@v2 -o incident.html --pubkey ci.pub', 'one page to read and forward: verdict, signers, changes, label chart, the restore command'],
        ['$0 report spam@v1 data/ --pubkey ci.pub --format markdown -o "$GITHUB_STEP_SUMMARY"', 'a CI job summary of what changed since the last signed snapshot'],
        ['$0 report --drill drill.json -o drill.html', 'the report of snap drill --json'],
      ],
    ),
  run: cmdReport,
};
