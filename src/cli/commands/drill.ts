/**
 * `snap drill <dir> --against REF`: a poisoning drill (docs/FORMAT.md §20). Plants known changes in
 * a private copy of DIR, runs the gate (verify; record diff and check where the snapshot has record
 * sets) and reports which the gate caught. Exit 0 only when it caught every one; DIR and the store
 * are only read, and nothing is written to the audit log or the trusted state.
 */
import { resolve } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { SnapError } from '../../core/errors.js';
import { escapeForTerminal as shown, escapeListedPath, escapeMessage } from '../../core/display.js';
import { storePath } from '../../io/store.js';
import { drill } from '../../drill/run.js';
import { ATTACK_KINDS, parseAttackList } from '../../drill/kinds.js';
import type { DrillReport } from '../../drill/report.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { shortId, styler } from '../format.js';
import { jsonOut, checkJobs, locate, storeReadFrom, commonFlags, withExamples, wholeNumberOption, type Args, type CliIo, type CommandSpec } from '../common.js';
import { trustOptions, trustSetup } from '../trust-args.js';

/** Largest `--seed`. */
export const MAX_SEED = 999_999_999;
/** The seed when none is given. */
export const DEFAULT_SEED = 1;

function printDrill(r: DrillReport, io: CliIo, color: boolean): void {
  const s = styler(color);
  const out: string[] = [];
  out.push(`drill of ${shown(r.dataset)} against ${shown(r.against.ref)} (${shortId(r.against.id)}), seed ${r.seed}: ${r.planted.length} planted in ${r.rounds} round${r.rounds === 1 ? '' : 's'}${r.records ? '' : '; record checks off'}`);
  const w = Math.max(4, ...r.summary.map((x) => x.kind.length));
  out.push(`  ${'kind'.padEnd(w)}  planted  caught  missed  not configured  by`);
  for (const x of r.summary) {
    out.push(`  ${x.kind.padEnd(w)}  ${String(x.planted).padStart(7)}  ${String(x.caught).padStart(6)}  ${String(x.missed).padStart(6)}  ${String(x.notConfigured).padStart(14)}  ${x.by.map(shown).join(', ') || '-'}`);
  }
  for (const n of r.notApplicable) out.push(`  ${n.kind.padEnd(w)}  not applicable: ${escapeMessage(n.reason)}`);
  const misses = r.planted.filter((p) => !p.caught);
  for (const p of misses) out.push(`${s.red('MISS')}  ${p.id} ${p.kind} ${escapeListedPath(p.path)}${p.key !== undefined ? ` ${shown(p.key)}` : ''}: ${shown(p.detail)}\n      ${escapeMessage(p.reason ?? '')}`);
  if (r.verdict === 'pass') out.push(`${s.green(s.bold('PASS'))}  the gate caught all ${r.planted.length} planted changes`);
  else if (r.planted.length === 0) out.push(`${s.red(s.bold('FAIL'))}  nothing was planted: no asked-for attack applies to this dataset`);
  else out.push(`${s.red(s.bold('FAIL'))}  the gate missed ${misses.length} of ${r.planted.length} planted changes${misses.some((p) => p.notConfigured) ? ' (see "not configured" for what would catch them)' : ''}`);
  io.stdout.write(out.join('\n') + '\n');
}

async function cmdDrill(a: Args, io: CliIo): Promise<number> {
  if (a.against === undefined) throw new SnapError('USAGE', 'drill DIR needs --against REF (the snapshot DIR is sealed as)');
  const kinds = parseAttackList(a.attacks === undefined ? undefined : String(a.attacks));
  const seed = (a.seed as number | undefined) ?? DEFAULT_SEED;
  const store = storePath(a.store, io.env, io.cwd);
  const { trusted, threshold, rules } = await trustSetup(a, io, store, new Date(), { remember: false });
  const dir = resolve(io.cwd, String(a.dir));
  if (!existsSync(dir)) throw new SnapError('NOT_FOUND', `the dataset folder ${dir} does not exist`, { path: dir });
  if (!statSync(dir).isDirectory()) throw new SnapError('NOT_A_FOLDER', `${dir} is not a folder`, { path: dir });
  const snapshot = await locate(String(a.against), io, store);
  const r = await drill({ dir, dataset: String(a.dir), snapshot, trusted, threshold, rules, seed, kinds, records: a['no-records'] !== true && a.records !== false, store, stores: storeReadFrom(store, [snapshot.dir]), jobs: checkJobs(a.jobs) });
  if (a.json) jsonOut(io, { ok: r.verdict === 'pass', ...r });
  else printDrill(r, io, !!io.stdout.isTTY && !io.env.NO_COLOR);
  return r.verdict === 'pass' ? EXIT_OK : EXIT_INTEGRITY;
}

/** `snap drill <dir>`. */
export const drillCommand: CommandSpec = {
  command: 'drill <dir>',
  describe: 'Poisoning drill: plant known attacks in a private copy of DIR; exit 0 only if the gate catches all',
  builder: (y) =>
    withExamples(
      trustOptions(
        commonFlags(y, { store: true, jobs: true })
          .positional('dir', { type: 'string', describe: 'the dataset folder (only read: the attacks go into a private copy)' })
          .option('against', { type: 'string', requiresArg: true, describe: 'the snapshot DIR is sealed as: NAME@VERSION, snapshot id or snapshot folder (required)' })
          .option('seed', wholeNumberOption('seed', `which changes are planted, 0 to ${MAX_SEED}: the same seed plants the same changes (default ${DEFAULT_SEED})`, 0, MAX_SEED))
          .option('attacks', { type: 'string', requiresArg: true, describe: `comma-separated attack kinds (default: all; those that do not apply are listed as such): ${ATTACK_KINDS.join(', ')}` })
          .option('no-records', { type: 'boolean', describe: 'gate without the record diff and check (record-level attacks are then misses)' }),
      ),
      [
        ['$0 drill data --against spam@v1 --pubkey ci.pub', 'does the gate catch label flips, injected files, look-alike names …?'],
        ['$0 drill data --against spam@v1 --pubkey ci.pub --seed 7 --json > drill.json', 'keep the history in CI'],
        ['$0 drill data --against spam@v1 --pubkey ci.pub --attacks record-label-flip,feature-nudge', 'only these attacks'],
      ],
    ),
  run: cmdDrill,
};
