/**
 * The incident report as one self-contained HTML page (see `html-page.ts`): the verdict first,
 * then the two sides and their trust, the label distribution chart with its shift statistics, the
 * label flips, the file changes and the record changes (each capped), and what to do next. Pure:
 * facts in, a string out; every outside string — shown text already (incident-facts.ts) — goes
 * through `htmlShown` (escape.ts), which adds HTML's escapes and no second backslash.
 */
import { htmlMessage, htmlShown } from './escape.js';
import { orderText } from '../records/record-report.js';
import { formatBytes } from '../core/display.js';
import { renderChart } from './chart.js';
import { formatStat, htmlPage, htmlTable, htmlText, moreLine } from './html-page.js';
import { unsignedSideWord, type Capped, type FileFact, type IncidentFacts, type LabelFacts, type RecordSetFacts, type SideFacts } from './incident-facts.js';

const DIFF_HINT = 'snap diff --json lists all';

/** Bytes as a short size (1024-based, as the CLI prints them). */
export const sizeText = formatBytes;

/** The one-line verdict: its class, headline and sentence (plain text; names in it are escaped by the renderer). */
export function verdictLine(f: IncidentFacts): { tone: 'ok' | 'bad' | 'warn'; head: string; text: string } {
  const s = f.summary;
  const flips = f.labels?.flips.total ?? 0;
  const parts = [`${s.added} added`, `${s.removed} removed`, `${s.modified} modified`, `${s.renamed} renamed`];
  // A record set not compared (B sealed without its index, the two index it differently …) holds
  // records that may have moved: its count stands beside the zeros, which alone read as none moved.
  const notCompared = f.records?.unavailable.total ? ` (${f.records.unavailable.total} record set(s) not compared: their records are not counted)` : '';
  // Rows reordered change no record, so the counts alone would read as nothing done to the records.
  const moved = f.records?.order?.moved ? `, ${f.records.order.moved} moved out of order` : '';
  const changes = `${parts.join(', ')} file(s)${s.extra ? `, ${s.extra} that cannot be recorded` : ''}${flips ? `; ${flips} label(s) flipped` : ''}${f.records ? `; records: ${f.records.summary.added} added, ${f.records.summary.removed} removed, ${f.records.summary.flipped} flipped, ${f.records.summary.modified} modified${moved}${notCompared}` : ''}`;
  const trust = trustSentence(f) + leftOutSentence(f);
  if (f.verdict === 'untrusted') {
    const which = (['a', 'b'] as const).filter((k) => f[k].trust === 'untrusted').map((k) => k.toUpperCase()).join(' and ');
    return { tone: 'bad', head: 'UNTRUSTED', text: `${which} failed the trust check: do not train on ${which === 'A and B' ? 'either' : 'it'}. ${s.added + s.removed + s.modified + s.renamed + s.extra ? `Changes: ${changes}.` : 'The contents are identical.'} ${trust}` };
  }
  if (f.verdict === 'changed') return { tone: 'bad', head: 'CHANGED', text: `B differs from A: ${changes}. ${trust}` };
  return { tone: 'ok', head: 'CLEAN', text: `A and B are identical (${s.unchanged} entries). ${trust}` };
}

/**
 * What a folder side was not compared on, in a sentence ('' when nothing was left out): the
 * snapshot's signed `--exclude` patterns, as verify leaves them out. Without it a file planted under
 * such a pattern made the page read "identical", saying nothing of what it had not looked at.
 */
function leftOutSentence(f: IncidentFacts): string {
  const l = f.leftOut;
  if (!l) return '';
  const rest = l.total - l.items.length;
  return ` Paths matching the snapshot's --exclude pattern(s) ${l.items.join(', ')}${rest > 0 ? `, … and ${rest} more` : ''} were not compared in the folder (as verify leaves them out).`;
}

/** Which side is trusted, in a sentence. */
function trustSentence(f: IncidentFacts): string {
  const word = (s: SideFacts) => (s.trust === 'trusted' ? 'trusted' : s.trust === 'untrusted' ? 'NOT trusted' : s.trust === 'unchecked' ? 'not checked' : `${unsignedSideWord(s)} (unsigned)`);
  if (!f.trustChecked) return `Signers not checked (give --pubkey or --policy): A is ${f.a.kind === 'folder' ? unsignedSideWord(f.a) : 'a snapshot'}, B is ${f.b.kind === 'folder' ? unsignedSideWord(f.b) : 'a snapshot'}.`;
  return `A is ${word(f.a)}; B is ${word(f.b)}.`;
}

/** How a side's trust reads, as HTML. */
function trustHtml(s: SideFacts): string {
  switch (s.trust) {
    case 'trusted':
      return '<span class="trusted">trusted</span> (signed by a trusted key)';
    case 'untrusted':
      return `<span class="untrusted">NOT trusted</span>${s.failure ? `: ${htmlText(htmlMessage(s.failure.message))} <code>${htmlShown(s.failure.code)}</code>` : ''}`;
    case 'unchecked':
      return '<span class="unchecked">not checked</span> (no --pubkey or --policy given: signers are shown, not judged)';
    default:
      return `${unsignedSideWord(s)} (not signed)`;
  }
}

function sideRows(f: IncidentFacts): string[][] {
  const v = (s: SideFacts, k: 'ref' | 'snapshot' | 'createdAt' | 'folder') => (s[k] !== undefined ? `<code>${htmlShown(s[k] as string)}</code>` : '—');
  const signers = (s: SideFacts) =>
    s.kind === 'folder'
      ? '—'
      : s.signers.length === 0
        ? 'nobody'
        : s.signers.map((g) => `<code>${htmlShown(g.keyid)}</code>${g.name !== undefined ? ` (${htmlShown(g.name)})` : ''}${g.trusted === undefined ? '' : g.trusted ? ' <span class="trusted">trusted</span>' : ' <span class="untrusted">untrusted</span>'}`).join('<br>');
  const row = (name: string, cell: (s: SideFacts) => string) => [htmlShown(name), cell(f.a), cell(f.b)];
  return [
    row('ref / folder', (s) => (s.kind === 'folder' ? v(s, 'folder') : v(s, 'ref'))),
    row('snapshot id', (s) => v(s, 'snapshot')),
    row('created', (s) => v(s, 'createdAt')),
    row('signers (keyid)', signers),
    row('trust', trustHtml),
  ];
}

/** Most new (or vanished) labels the shift statistics name; the rest are counted. */
const MAX_SHIFT_LABELS_NAMED = 20;

/**
 * Labels (shown text) as a list of `<code>`, the first {@link MAX_SHIFT_LABELS_NAMED}, then how many
 * more there are, as every capped list of the page says it; the list stopped at 20 without a word.
 * (No pointer to `diff --json`: it lists the labels of record indexes, not those of label folders.)
 */
function labelList(labels: readonly string[]): string {
  const named = labels.slice(0, MAX_SHIFT_LABELS_NAMED).map((n) => `<code>${htmlShown(n)}</code>`).join(', ');
  const rest = labels.length - MAX_SHIFT_LABELS_NAMED;
  return rest > 0 ? `${named}, … and ${rest} more (the first ${MAX_SHIFT_LABELS_NAMED} are shown)` : named;
}

function labelSection(l: LabelFacts): string {
  const out: string[] = ['<h2 id="labels">Label distribution</h2>'];
  out.push(
    `<p>${l.source === 'records' ? 'Labels of the record indexes (all labelled record sets summed).' : 'Label = the first folder of each path (a label-by-folder dataset, e.g. <code>ham/</code> and <code>spam/</code>); files at the top level have no label.'}${l.labelCount > l.chart.length - (l.chart.some((r) => r.other) ? 1 : 0) ? ` ${l.labelCount} labels; the chart shows the largest and sums the rest.` : ''}</p>`,
  );
  out.push(`<figure id="label-chart">${renderChart(l.chart)}</figure>`);
  out.push(
    htmlTable(
      ['label', '#before (A)', '#after (B)', '#change'],
      l.chart.map((r) => [r.other ? `<em>${htmlShown(r.label)}</em>` : `<code>${htmlShown(r.label)}</code>`, `#${r.a}`, `#${r.b}`, `#${r.b - r.a > 0 ? '+' : ''}${r.b - r.a}`]),
      'label-counts',
    ),
  );
  const x = l.shift;
  const chi = x.chiSquare ? `${formatStat(x.chiSquare.statistic)} (df ${x.chiSquare.df}, p = ${formatStat(x.chiSquare.p)})` : '—';
  out.push('<h3>Shift statistics</h3>');
  out.push(
    htmlTable(
      ['statistic', '#value', 'reading'],
      [
        [htmlShown('records'), `#${x.totalA} → ${x.totalB}`, htmlShown('A → B')],
        [htmlShown('L∞ distance'), `#${formatStat(x.lInf)}`, htmlShown("the largest move of one label's share (what snap check gates on)")],
        [htmlShown('Jensen–Shannon distance'), `#${formatStat(x.jsDistance)}`, htmlShown('0 = same distribution; natural log, at most 0.8326')],
        [htmlShown('PSI'), `#${formatStat(x.psi)}`, htmlShown('< 0.1 stable, 0.1–0.25 moderate, > 0.25 large shift')],
        [htmlShown('χ² homogeneity'), `#${chi}`, htmlShown('a small p says the distributions differ (sensitive on large data)')],
        ...(x.newLabels.length ? [[htmlShown('new labels'), `#${x.newLabels.length}`, labelList(x.newLabels)]] : []),
        ...(x.vanishedLabels.length ? [[htmlShown('vanished labels'), `#${x.vanishedLabels.length}`, labelList(x.vanishedLabels)]] : []),
      ],
      'shift-stats',
    ),
  );
  if (l.flips.total > 0) {
    out.push(`<h3 id="flips">Label flips (${l.flips.total})</h3>`);
    out.push(`<p>${l.source === 'folders' ? 'Files moved from one label folder to another: the same bytes, now with another label.' : 'Records whose label, and nothing else, changed.'}</p>`);
    out.push(
      htmlTable(
        l.source === 'folders' ? ['file (in B)', 'old label', 'new label'] : ['record key', 'record set', 'old label', 'new label'],
        l.flips.items.map((p) => [`<code>${htmlShown(p.name)}</code>`, ...(l.source === 'records' ? [`<code>${htmlShown(p.set ?? '')}</code>`] : []), `<code>${htmlShown(p.from)}</code>`, `→ <code>${htmlShown(p.to)}</code>`]),
        'label-flips',
      ),
    );
    out.push(moreLine(l.flips, DIFF_HINT));
  }
  return out.join('\n');
}

function fileCell(e: FileFact): string {
  return e.size !== undefined ? `#${sizeText(e.size)}` : `symlink → <code>${htmlShown(e.target ?? '')}</code>`;
}

function fileSection(f: IncidentFacts): string {
  const x = f.files;
  const out: string[] = ['<h2 id="files">File changes</h2>'];
  out.push(
    htmlTable(
      ['#added', '#removed', '#modified', '#renamed', '#cannot be recorded', '#unchanged', '#bytes added', '#bytes removed'],
      [[`#${x.added.total}`, `#${x.removed.total}`, `#${x.modified.total}`, `#${x.renamed.total}`, `#${x.extra.total}`, `#${f.summary.unchanged}`, `#${sizeText(f.summary.bytesAdded)}`, `#${sizeText(f.summary.bytesRemoved)}`]],
      'file-summary',
    ),
  );
  const part = (title: string, id: string, total: number, table: string, more: string) => (total > 0 ? `<h3 id="${id}">${htmlShown(title)} (${total})</h3>\n${table}\n${more}` : '');
  out.push(part('Renamed (same content, new path)', 'renamed', x.renamed.total, htmlTable(['from (A)', 'to (B)', '#size'], x.renamed.items.map((r) => [`<code>${htmlShown(r.from)}</code>`, `<code>${htmlShown(r.to)}</code>`, `#${sizeText(r.size)}`]), 'renamed-files'), moreLine(x.renamed, DIFF_HINT)));
  out.push(part('Added (in B only)', 'added', x.added.total, htmlTable(['path', '#size'], x.added.items.map((e) => [`<code>${htmlShown(e.path)}</code>`, fileCell(e)]), 'added-files'), moreLine(x.added, DIFF_HINT)));
  out.push(part('Removed (in A only)', 'removed', x.removed.total, htmlTable(['path', '#size'], x.removed.items.map((e) => [`<code>${htmlShown(e.path)}</code>`, fileCell(e)]), 'removed-files'), moreLine(x.removed, DIFF_HINT)));
  out.push(part('Modified (same path, other content)', 'modified', x.modified.total, htmlTable(['path', '#A', '#B'], x.modified.items.map((m) => [`<code>${htmlShown(m.path)}</code>`, fileCell(m.a), fileCell(m.b)]), 'modified-files'), moreLine(x.modified, DIFF_HINT)));
  out.push(part('In a folder side, but cannot be recorded', 'extra', x.extra.total, htmlTable(['side', 'path', 'why'], x.extra.items.map((e) => [htmlShown(e.side.toUpperCase()), `<code>${htmlShown(e.path)}</code>`, `${htmlText(htmlMessage(e.reason))} <code>${htmlShown(e.code)}</code>`]), 'extra-files'), moreLine(x.extra, DIFF_HINT)));
  return out.filter((s) => s !== '').join('\n');
}

/** A record list's table, or '' when the report's record rows ran out before it (its "… and N more" line then says all). */
const listed = (c: Capped<unknown>, table: string) => (c.items.length > 0 ? table : '');

function recordSetHtml(s: RecordSetFacts): string {
  const out: string[] = [`<h3>Record set <code>${htmlShown(s.name)}</code> <small>(${htmlShown(s.format)}, identity ${htmlShown(s.identity)})</small></h3>`];
  const m = s.summary;
  out.push(
    htmlTable(
      ['#unchanged', '#added', '#removed', '#modified', '#flipped', '#label changes', '#duplicates (B)', '#conflicts (B)'],
      [[`#${m.unchanged}`, `#${m.added}`, `#${m.removed}`, `#${m.modified}`, `#${m.flipped}`, `#${m.labelChanges}`, `#${m.duplicates.b}`, `#${m.conflicts.b}`]],
    ),
  );
  // The same records in another order (FORMAT §19.8): a loader that splits by position reads other records.
  if (s.order && s.order.moved !== 0) out.push(`<p>${htmlText(htmlMessage(orderText(s.order)))}</p>`);
  const label = (l: string | undefined) => (l === undefined ? '—' : `<code>${htmlShown(l)}</code>`);
  if (s.flipped.total) out.push(`<p>Flipped labels (${s.flipped.total}):</p>`, listed(s.flipped, htmlTable(['key', 'old label', 'new label'], s.flipped.items.map((r) => [`<code>${htmlShown(r.key)}</code>`, label(r.from), `→ ${label(r.to)}`]))), moreLine(s.flipped, DIFF_HINT));
  if (s.added.total) out.push(`<p>Added records (${s.added.total}):</p>`, listed(s.added, htmlTable(['key', 'label'], s.added.items.map((r) => [`<code>${htmlShown(r.key)}</code>`, label(r.label)]))), moreLine(s.added, DIFF_HINT));
  if (s.removed.total) out.push(`<p>Removed records (${s.removed.total}):</p>`, listed(s.removed, htmlTable(['key', 'label'], s.removed.items.map((r) => [`<code>${htmlShown(r.key)}</code>`, label(r.label)]))), moreLine(s.removed, DIFF_HINT));
  if (s.modified.total) out.push(`<p>Modified records (${s.modified.total}):</p>`, listed(s.modified, htmlTable(['key', 'label A', 'label B'], s.modified.items.map((r) => [`<code>${htmlShown(r.key)}</code>`, label(r.from), `${r.labelChanged ? '<strong>changed</strong> → ' : ''}${label(r.to)}`]))), moreLine(s.modified, DIFF_HINT));
  return out.filter((x) => x !== '').join('\n');
}

function recordSection(f: IncidentFacts): string {
  const r = f.records;
  if (!r) return '';
  const out: string[] = ['<h2 id="records">Record changes</h2>'];
  out.push(`<p>${r.summary.sets} record set(s): ${r.summary.added} added, ${r.summary.removed} removed, ${r.summary.modified} modified, ${r.summary.flipped} flipped (${r.summary.labelChanges} label changes); duplicates in B: ${r.summary.duplicates.b}; conflicting labels in B: ${r.summary.conflicts.b}.</p>`);
  for (const s of r.sets.items) out.push(recordSetHtml(s));
  if (r.unchangedSets) out.push(`<p>${r.unchangedSets} record set(s) unchanged.</p>`);
  out.push(moreLine(r.sets, 'snap diff --json lists every set'));
  if (r.unavailable.total) {
    out.push(`<h3>Record sets not compared (${r.unavailable.total})</h3>`, htmlTable(['set', 'side', 'why'], r.unavailable.items.map((u) => [`<code>${htmlShown(u.name)}</code>`, htmlShown(u.side), htmlText(htmlMessage(u.reason))])), moreLine(r.unavailable, DIFF_HINT));
  }
  return out.filter((x) => x !== '').join('\n');
}

function nextSection(f: IncidentFacts): string {
  const out: string[] = ['<h2 id="next">What to do next</h2>', `<p>${htmlMessage(f.next.why)}</p>`];
  // The command is shell text already (`shellCommand`: printable, every word quoted): shown as it
  // is, only HTML-escaped. `html` would double its backslashes: a quote inside a word, `'\''`,
  // became `'\\''`, which copied back into a shell ends the quoting (an archive named
  // `x'$(cmd)'.snap.tar` ran cmd).
  if (f.next.command) out.push(`<pre class="cmd" id="restore-command">${htmlMessage(f.next.command)}</pre>`);
  return out.join('\n');
}

/** A title for the report: `snap incident report: A → B`. */
export function incidentTitle(f: IncidentFacts): string {
  const name = (s: SideFacts) => (s.kind === 'folder' ? (s.folder as string) : (s.ref as string));
  return `snap incident report: ${name(f.a)} → ${name(f.b)}`;
}

/** The incident report as a whole HTML document. */
export function renderIncidentHtml(f: IncidentFacts): string {
  const v = verdictLine(f);
  const body = [
    `<h1>${htmlShown(incidentTitle(f))}</h1>`,
    `<section class="verdict ${v.tone}" id="verdict" data-verdict="${f.verdict}"><strong>${v.head}</strong> — ${htmlMessage(v.text)}</section>`,
    '<h2 id="sides">The two sides</h2>',
    htmlTable(['', 'A (before)', 'B (after)'], sideRows(f), 'sides-table'),
    f.labels ? labelSection(f.labels) : '',
    fileSection(f),
    recordSection(f),
    nextSection(f),
  ];
  return htmlPage(incidentTitle(f), body.filter((x) => x !== '').join('\n'));
}
