/**
 * A poisoning drill (`snap drill --json`, read by `drill-facts.ts`) as a report: the verdict first
 * (every planted attack caught, or which were missed), the per-kind table, the misses, the planted
 * changes (capped), and the kinds that did not apply. HTML and Markdown. Pure.
 *
 * A reason is a message (names in it are the drill's, and its suggested `seal --records` word is
 * quoted for a shell already): written with `htmlMessage` / `markdownMessage`, which keep a
 * backslash as it is — `html` would double it and turn the quoted `'\''` back into a pasteable
 * `$(…)`. Other outside strings are shown as the incident report shows them (incident-facts.ts:
 * a path with `escapeListedPath`, as diff's file lines write it, anything else with `escapeForTerminal`, then cut).
 */
import { htmlMessage, htmlShown, markdownMessage, markdownShown } from './escape.js';
import { htmlPage, htmlTable, htmlText, moreLine } from './html-page.js';
import { clip, shownName, shownPath, type Capped } from './incident-facts.js';
import { mdMore, mdTable } from './render-incident-markdown.js';
import type { DrillPlanted, DrillResult } from './drill-facts.js';

const HINT = 'the drill JSON lists all';

/**
 * Most checks a "caught by" cell names (a drill's checks are a handful: `verify:modified`,
 * `records:label-changed` …); the rest are counted. The file allows 256 per change and per kind,
 * each up to 8,192 characters: written whole, 256 entries of 300 "<" per cell made a 6 MB drill
 * file a 24 MB page.
 */
export const MAX_BY_NAMED = 5;

/** The first {@link MAX_BY_NAMED} of `by`, each written by `one`, joined by `sep`, then `… and N more`; '' for none. */
function byList(by: readonly string[], one: (s: string) => string, sep: string): string {
  const named = by.slice(0, MAX_BY_NAMED).map(one).join(sep);
  return by.length > MAX_BY_NAMED ? `${named}${sep}… and ${by.length - MAX_BY_NAMED} more` : named;
}
/**
 * What a drill report rests on: the JSON `snap drill` wrote, which nothing signs (whoever could edit
 * it could make it say PASS). A drill is reproducible from its seed: the same dataset, snapshot and
 * seed plant the same changes (docs/FORMAT.md §21.6), so a reader can run it again.
 */
const UNSIGNED_NOTE = 'read from the JSON of snap drill, which is not signed; to check it, run the drill again on the same dataset and snapshot with';

function capped<T>(list: readonly T[], max: number): Capped<T> {
  return { total: list.length, items: list.slice(0, max) };
}

function verdict(d: DrillResult): { tone: 'ok' | 'bad'; head: string; text: string } {
  const planted = d.planted.length;
  const missed = d.planted.filter((p) => !p.caught);
  if (d.verdict === 'pass') return { tone: 'ok', head: 'PASS', text: `the gate caught all ${planted} planted change(s).` };
  return { tone: 'bad', head: 'FAIL', text: `the gate missed ${missed.length} of ${planted} planted change(s)${missed.length ? ` (${[...new Set(missed.map((p) => p.kind))].map(shownName).join(', ')})` : ''}.` };
}

function title(d: DrillResult): string {
  return `snap drill report: ${shownName(d.dataset)} against ${shownName(d.against.ref)}`;
}

/** The drill report as a whole HTML document; lists capped at `maxItems`. */
export function renderDrillHtml(d: DrillResult, maxItems: number): string {
  const v = verdict(d);
  const c = (s: string) => `<code>${htmlShown(shownName(s))}</code>`;
  const misses = capped(d.planted.filter((p) => !p.caught), maxItems);
  const all = capped(d.planted, maxItems);
  const plantedRows = (list: DrillPlanted[]) =>
    list.map((p) => [c(p.id), c(p.kind), `<code>${htmlShown(shownPath(p.path))}</code>${p.key !== undefined ? `<br>key ${c(p.key)}` : ''}`, htmlText(htmlShown(shownName(p.detail))), p.caught ? '<span class="trusted">caught</span>' : p.notConfigured ? '<span class="untrusted">MISSED</span> (not configured)' : '<span class="untrusted">MISSED</span>', byList(p.by, c, '<br>') || '—', p.reason !== undefined ? htmlText(htmlMessage(clip(p.reason))) : '']);
  const head = ['id', 'attack', 'path / key', 'what was done', 'verdict', 'caught by', 'why missed'];
  const body = [
    `<h1>${htmlShown(title(d))}</h1>`,
    `<section class="verdict ${v.tone}" id="verdict" data-verdict="${d.verdict}"><strong>${v.head}</strong> — ${htmlMessage(v.text)}</section>`,
    htmlTable(['', ''], [
      ['dataset', c(d.dataset)],
      ['against', `${c(d.against.ref)} (${c(d.against.id)})`],
      ['seed', `#${d.seed}`],
      ['attacks', d.attacks.map(c).join(', ') || '—'],
      ['record', `${UNSIGNED_NOTE} <code>--seed ${d.seed}</code>`],
    ], 'drill-setup'),
    '<h2 id="by-kind">By attack kind</h2>',
    htmlTable(['attack', '#planted', '#caught', '#missed', '#not configured', 'caught by'], d.summary.map((r) => [c(r.kind), `#${r.planted}`, `#${r.caught}`, `#${r.missed}`, `#${r.notConfigured}`, byList(r.by, c, ', ') || '—']), 'drill-summary'),
    misses.total ? `<h2 id="misses">Missed (${misses.total})</h2>\n${htmlTable(head, plantedRows(misses.items), 'drill-misses')}\n${moreLine(misses, HINT)}` : '',
    `<h2 id="planted">Planted changes (${all.total})</h2>`,
    htmlTable(head, plantedRows(all.items), 'drill-planted'),
    moreLine(all, HINT),
    d.notApplicable.length ? `<h2 id="not-applicable">Not applicable to this dataset (${d.notApplicable.length})</h2>\n${htmlTable(['attack', 'why'], d.notApplicable.map((n) => [c(n.kind), htmlText(htmlMessage(clip(n.reason)))]))}` : '',
  ];
  return htmlPage(title(d), body.filter((x) => x !== '').join('\n'));
}

/** The drill report as GitHub-flavoured Markdown; lists capped at `maxItems`. */
export function renderDrillMarkdown(d: DrillResult, maxItems: number): string {
  const v = verdict(d);
  const m = (s: string) => markdownShown(shownName(s));
  const misses = capped(d.planted.filter((p) => !p.caught), maxItems);
  const rows = (list: DrillPlanted[]) => list.map((p) => [m(p.id), m(p.kind), `${markdownShown(shownPath(p.path))}${p.key !== undefined ? ` key ${m(p.key)}` : ''}`, p.caught ? 'caught' : p.notConfigured ? '**MISSED** (not configured)' : '**MISSED**', byList(p.by, m, ', ') || '—', p.reason !== undefined ? markdownMessage(clip(p.reason)) : '']);
  const out = [
    `## ${markdownShown(title(d))}`,
    '',
    `${v.tone === 'ok' ? '✅' : '❌'} **${v.head}** — ${markdownMessage(v.text)}`,
    '',
    `Dataset ${m(d.dataset)} against ${m(d.against.ref)} (${m(d.against.id)}), seed ${d.seed}. ${UNSIGNED_NOTE} \`--seed ${d.seed}\`.`,
    '',
    mdTable(['attack', 'planted', 'caught', 'missed', 'not configured', 'caught by'], d.summary.map((r) => [m(r.kind), String(r.planted), String(r.caught), String(r.missed), String(r.notConfigured), byList(r.by, m, ', ') || '—'])),
  ];
  if (misses.total) out.push('', `### Missed (${misses.total})`, '', mdTable(['id', 'attack', 'path / key', 'verdict', 'caught by', 'why missed'], rows(misses.items)) + mdMore(misses, HINT));
  if (d.notApplicable.length) out.push('', '### Not applicable', '', mdTable(['attack', 'why'], d.notApplicable.map((n) => [m(n.kind), markdownMessage(clip(n.reason))])));
  out.push('');
  return out.join('\n');
}
