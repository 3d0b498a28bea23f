/**
 * The incident report as GitHub-flavoured Markdown, for a CI job summary (`$GITHUB_STEP_SUMMARY`):
 * the same facts as the HTML page, in tables; the chart as a table of counts. Pure; every outside
 * string goes through `markdownShown()` (escape.ts), so `|`, backticks, `<` and line breaks in names
 * cannot break a table or inject HTML.
 */
import { markdownMessage, markdownShown } from './escape.js';
import { orderText } from '../records/record-report.js';
import { formatStat } from './html-page.js';
import { unsignedSideWord, type Capped, type FileFact, type IncidentFacts, type SideFacts } from './incident-facts.js';
import { incidentTitle, sizeText, verdictLine } from './render-incident-html.js';

/** A GFM table; cells are Markdown already. */
export function mdTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** The "and N more" line of a capped list ('' when nothing was left out). */
export function mdMore(c: Capped<unknown>, hint = 'snap diff --json lists all'): string {
  const rest = c.total - c.items.length;
  return rest > 0 ? `\n\n_… and ${rest} more (the first ${c.items.length} are shown; ${hint})_` : '';
}

const code = (s: string) => (s === '' ? '' : markdownShown(s));

/**
 * The duplicate keys and conflicting label groups B holds, as the HTML page counts them
 * (`; duplicates in B: N; conflicting labels in B: M`, '' when both are 0). A key given a second
 * record with another label is a poisoning that reads as mere additions without them; the
 * summary left them out.
 */
function inB(s: { duplicates: { b: number }; conflicts: { b: number } }): string {
  return s.duplicates.b || s.conflicts.b ? `; duplicates in B: ${s.duplicates.b}; conflicting labels in B: ${s.conflicts.b}` : '';
}

/**
 * A record list's table and its "… and N more" line; when the report's record rows ran out before
 * it (incident-facts.ts, `RECORD_ROW_LISTS`), the line alone, naming the list (`what`).
 */
function mdListed(c: Capped<unknown>, what: string, table: string): string {
  return c.items.length > 0 ? table + mdMore(c) : `_${what}: ${mdMore(c).trim().slice(1)}`;
}

function trustText(s: SideFacts): string {
  switch (s.trust) {
    case 'trusted':
      return '✅ trusted';
    case 'untrusted':
      return `❌ NOT trusted${s.failure ? `: ${markdownMessage(s.failure.message)} (${markdownShown(s.failure.code)})` : ''}`;
    case 'unchecked':
      return '⚠️ not checked (no --pubkey or --policy)';
    default:
      return `${unsignedSideWord(s)} (not signed)`;
  }
}

function fileSize(e: FileFact): string {
  return e.size !== undefined ? sizeText(e.size) : `symlink → ${code(e.target ?? '')}`;
}

/** The incident report as Markdown. */
export function renderIncidentMarkdown(f: IncidentFacts): string {
  const v = verdictLine(f);
  const icon = v.tone === 'ok' ? '✅' : '❌';
  const out: string[] = [`## ${markdownShown(incidentTitle(f))}`, '', `${icon} **${v.head}** — ${markdownMessage(v.text)}`, ''];
  const side = (s: SideFacts, k: 'ref' | 'snapshot' | 'createdAt' | 'folder') => (s[k] !== undefined ? code(s[k] as string) : '—');
  const signers = (s: SideFacts) => (s.kind === 'folder' ? '—' : s.signers.map((g) => `${code(g.keyid)}${g.name !== undefined ? ` (${code(g.name)})` : ''}${g.trusted === undefined ? '' : g.trusted ? ' (trusted)' : ' (untrusted)'}`).join('<br>') || 'nobody');
  out.push(
    mdTable(
      ['', 'A (before)', 'B (after)'],
      [
        ['ref / folder', f.a.kind === 'folder' ? side(f.a, 'folder') : side(f.a, 'ref'), f.b.kind === 'folder' ? side(f.b, 'folder') : side(f.b, 'ref')],
        ['snapshot id', side(f.a, 'snapshot'), side(f.b, 'snapshot')],
        ['created', side(f.a, 'createdAt'), side(f.b, 'createdAt')],
        ['signers (keyid)', signers(f.a), signers(f.b)],
        ['trust', trustText(f.a), trustText(f.b)],
      ],
    ),
  );
  const l = f.labels;
  if (l) {
    out.push('', '### Label distribution', '', l.source === 'records' ? 'Labels of the record indexes.' : 'Label = the first folder of each path.', '');
    out.push(mdTable(['label', 'before (A)', 'after (B)', 'change'], l.chart.map((r) => [r.other ? `_${markdownShown(r.label)}_` : code(r.label), String(r.a), String(r.b), `${r.b - r.a > 0 ? '+' : ''}${r.b - r.a}`])));
    const x = l.shift;
    out.push('', `Shift: L∞ ${formatStat(x.lInf)} · Jensen–Shannon ${formatStat(x.jsDistance)} · PSI ${formatStat(x.psi)} · χ² ${x.chiSquare ? `${formatStat(x.chiSquare.statistic)} (df ${x.chiSquare.df}, p ${formatStat(x.chiSquare.p)})` : '—'}`);
    if (l.flips.total > 0) {
      out.push('', `### Label flips (${l.flips.total})`, '');
      out.push(
        mdTable(
          l.source === 'folders' ? ['file (in B)', 'old label', 'new label'] : ['record key', 'record set', 'old label', 'new label'],
          l.flips.items.map((p) => [code(p.name), ...(l.source === 'records' ? [code(p.set ?? '')] : []), code(p.from), `→ ${code(p.to)}`]),
        ) + mdMore(l.flips),
      );
    }
  }
  const x = f.files;
  out.push('', '### File changes', '', `${x.added.total} added, ${x.removed.total} removed, ${x.modified.total} modified, ${x.renamed.total} renamed, ${x.extra.total} that cannot be recorded, ${f.summary.unchanged} unchanged.`);
  if (x.renamed.total) out.push('', `**Renamed** (${x.renamed.total})`, '', mdTable(['from (A)', 'to (B)', 'size'], x.renamed.items.map((r) => [code(r.from), code(r.to), sizeText(r.size)])) + mdMore(x.renamed));
  if (x.added.total) out.push('', `**Added** (${x.added.total})`, '', mdTable(['path', 'size'], x.added.items.map((e) => [code(e.path), fileSize(e)])) + mdMore(x.added));
  if (x.removed.total) out.push('', `**Removed** (${x.removed.total})`, '', mdTable(['path', 'size'], x.removed.items.map((e) => [code(e.path), fileSize(e)])) + mdMore(x.removed));
  if (x.modified.total) out.push('', `**Modified** (${x.modified.total})`, '', mdTable(['path', 'A', 'B'], x.modified.items.map((m) => [code(m.path), fileSize(m.a), fileSize(m.b)])) + mdMore(x.modified));
  if (x.extra.total) out.push('', `**Cannot be recorded** (${x.extra.total})`, '', mdTable(['side', 'path', 'why'], x.extra.items.map((e) => [e.side.toUpperCase(), code(e.path), `${markdownMessage(e.reason)} (${markdownShown(e.code)})`])) + mdMore(x.extra));
  const r = f.records;
  if (r) {
    out.push('', '### Record changes', '', `${r.summary.sets} record set(s): ${r.summary.added} added, ${r.summary.removed} removed, ${r.summary.modified} modified, ${r.summary.flipped} flipped${inB(r.summary)}.`);
    for (const s of r.sets.items) {
      const m = s.summary;
      out.push('', `**${code(s.name)}**: ${m.added} added, ${m.removed} removed, ${m.modified} modified, ${m.flipped} flipped${inB(m)}`);
      // The same records in another order (FORMAT §19.8): a loader that splits by position reads other records.
      if (s.order && s.order.moved !== 0) out.push('', markdownMessage(orderText(s.order)));
      const lab = (v?: string) => (v === undefined ? '—' : code(v));
      if (s.flipped.total) out.push('', mdListed(s.flipped, 'Flipped labels', mdTable(['key', 'old label', 'new label'], s.flipped.items.map((q) => [code(q.key), lab(q.from), `→ ${lab(q.to)}`]))));
      if (s.added.total) out.push('', mdListed(s.added, 'Added records', mdTable(['added key', 'label'], s.added.items.map((q) => [code(q.key), lab(q.label)]))));
      if (s.removed.total) out.push('', mdListed(s.removed, 'Removed records', mdTable(['removed key', 'label'], s.removed.items.map((q) => [code(q.key), lab(q.label)]))));
      if (s.modified.total) out.push('', mdListed(s.modified, 'Modified records', mdTable(['modified key', 'label A', 'label B'], s.modified.items.map((q) => [code(q.key), lab(q.from), lab(q.to)]))));
    }
    if (r.unchangedSets) out.push('', `${r.unchangedSets} record set(s) unchanged.`);
    if (r.sets.total > r.sets.items.length) out.push('', `_… and ${r.sets.total - r.sets.items.length} more record sets_`);
    if (r.unavailable.total) out.push('', mdTable(['set not compared', 'side', 'why'], r.unavailable.items.map((u) => [code(u.name), u.side, markdownMessage(u.reason)])) + mdMore(r.unavailable));
  }
  out.push('', '### What to do next', '', markdownMessage(f.next.why));
  if (f.next.command) out.push('', '```sh', f.next.command, '```');
  out.push('');
  return out.join('\n');
}
