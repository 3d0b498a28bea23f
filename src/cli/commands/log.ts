/** `snap log [name]`: show the store's audit log, or check its hash chain with `--verify`. */
import { storePath, openStore } from '../../io/store.js';
import { readLog, verifyLog, type LogRow } from '../../io/audit-log.js';
import { NAME_RE } from '../../core/refs.js';
import { SnapError } from '../../core/errors.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { plural, shortId, styler } from '../format.js';
import { escapeForTerminal as shown, escapeMessage } from '../../core/display.js';
import { jsonOut, commonFlags, type Args, type CliIo, type CommandSpec, withExamples } from '../common.js';

/** The NAME part of a `NAME@VERSION` ref, if it is one. */
function nameOf(ref: string | undefined): string | undefined {
  const at = ref?.indexOf('@') ?? -1;
  return ref !== undefined && at > 0 ? ref.slice(0, at) : undefined;
}

function outcomeText(row: LogRow): string {
  const e = row.entry;
  if (!e) return row.complete ? '(malformed line)' : '(torn line)';
  const parts = [e.outcome === 'error' ? `error ${e.error ?? ''}`.trim() : e.outcome];
  if (e.exit !== undefined && e.exit !== 0) parts.push(`(exit ${e.exit})`);
  if (e.recovered) parts.push(`[sealed off ${e.recovered.bytes} torn bytes]`);
  return shown(parts.join(' ')); // from an unsigned line: escaped for a terminal
}

async function cmdLog(a: Args, io: CliIo): Promise<number> {
  const store = await openStore(storePath(a.store, io.env, io.cwd));
  const name = a.name as string | undefined;
  if (name !== undefined && !NAME_RE.test(name)) throw new SnapError('USAGE', `"${shown(name)}" is not a dataset NAME (${NAME_RE.source})`);
  if (a.verify) {
    const v = await verifyLog(store.root);
    if (a.json) jsonOut(io, { store: store.root, ...v });
    else {
      const s = styler(!!io.stdout.isTTY && !io.env.NO_COLOR);
      const out = v.ok
        ? [`${s.green(s.bold('OK'))}    ${shown(store.root)}/log.jsonl: ${plural(v.lines, 'line')}, chain intact through seq ${v.lastSeq}, log.head agrees`]
        : [`${s.red(s.bold('FAIL'))}  ${shown(store.root)}/log.jsonl: ${plural(v.problems.length, 'problem')}`, ...v.problems.map((p) => `  ${p.kind}: ${escapeMessage(p.message)}`)];
      for (const r of v.recovered) out.push(`  note: line ${r.line} is a torn append (${plural(r.bytes, 'byte')}) sealed off and recorded by the line after it`);
      io.stdout.write(out.join('\n') + '\n');
    }
    return v.ok ? EXIT_OK : EXIT_INTEGRITY;
  }
  const rows = (await readLog(store.root)).filter((r) => name === undefined || (r.entry !== undefined && nameOf(r.entry.ref) === name));
  // A NAME that matches nothing is most likely mistyped: an error, not an empty table.
  if (name !== undefined && rows.length === 0) throw new SnapError('REF_NOT_FOUND', `no log entries for ${name} in ${store.root} (run "snap log" to see them all)`, { name });
  if (a.json) {
    jsonOut(io, { store: store.root, entries: rows.map((r) => (r.entry ? { line: r.line, ...r.entry } : { line: r.line, malformed: true, complete: r.complete, raw: r.raw })) });
    return EXIT_OK;
  }
  if (rows.length === 0) {
    io.stdout.write(`the audit log of ${shown(store.root)} is empty\n`);
    return EXIT_OK;
  }
  const table = rows.map((r) =>
    r.entry
      ? // A log line is unsigned: every field of it is shown escaped for a terminal.
        [String(r.entry.seq), shown(r.entry.time), shown(r.entry.command), r.entry.ref !== undefined ? shown(r.entry.ref) : r.entry.snapshot ? shortId(r.entry.snapshot) : '-', outcomeText(r), shown(`${r.entry.user}@${r.entry.host}`)]
      : [`(${r.line})`, '?', '?', '?', outcomeText(r), '?'],
  );
  const head = ['SEQ', 'TIME', 'COMMAND', 'REF', 'OUTCOME', 'USER@HOST'];
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => (r[i] as string).length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  io.stdout.write([fmt(head), ...table.map(fmt)].join('\n') + '\n');
  return EXIT_OK;
}

/** `snap log [name]`. */
export const logCommand: CommandSpec = {
  command: 'log [name]',
  describe: "Show the audit log (of one NAME), or check it with --verify",
  builder: (y) =>
    withExamples(
      commonFlags(y, { store: true })
        .positional('name', { type: 'string', describe: 'only entries whose ref is NAME@… (exit 3 if there are none)' })
        .option('verify', {
          type: 'boolean',
          describe: 'check the whole log: exit 1 if a line was edited, removed, reordered or inserted, or log.head disagrees',
        })
        .conflicts('verify', 'name'),
      [
        ['$0 log fraud-train', 'who sealed and verified fraud-train, when, with what outcome'],
        ['$0 log --verify', 'exit 0 only if the log is an unbroken hash chain'],
      ],
    ),
  run: cmdLog,
};
