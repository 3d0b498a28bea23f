/**
 * Human output of record forensics: record sets after a seal, record diffs, label distributions and
 * their shift, check verdicts. Every value that comes from data (keys, labels, paths) is escaped:
 * no control character reaches the terminal (core/display.ts: `escapeForTerminal` for names,
 * `escapeMessage` for our messages that may embed them). Lists are capped per kind; `--json` has them all.
 */
import type { RecordSetMember } from '../core/records.js';
import { recordSetName } from '../core/records.js';
import { orderText, type RecordSetDiff } from '../records/record-report.js';
import type { RecordsReport } from '../records/diff-sets.js';
import type { LabelShift } from '../records/stats.js';
import { formatCount, plural } from './format.js';
import { escapeForTerminal as shown, escapeListedPath, escapeMessage } from '../core/display.js';
import { categoriesChangeText, classNamesChangeText, columnOrderText, columnSetTexts, typeChangeText } from '../records/column-types.js';
import { keyValueText, recordKeyText, shownKeyValue } from '../records/key-text.js';

/** Items listed per kind in human output. */
export const RECORDS_LISTED = 20;

/** A key value as the terminal shows it: JSON text with its escapes as they are, bare text escaped. */
const onTerminal = shownKeyValue;

/** A label as the terminal shows it (records/key-text.ts `labelText`, escaped). */
export function labelShown(label: string): string {
  return onTerminal(keyValueText(label, true));
}

/** A record key as one short line, escaped for the terminal (records/key-text.ts). */
export function keyText(key: unknown, format?: string): string {
  return recordKeyText(key, format, onTerminal);
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const num = (x: number | null, digits = 4) => (x === null ? 'n/a' : x < 1e-4 && x > 0 ? x.toExponential(2) : x.toFixed(digits));

/** How a set identifies and labels its records, for one line. */
function describeSet(m: Pick<RecordSetMember, 'format' | 'identity' | 'key' | 'label' | 'labelSegment' | 'quoting'>): string {
  const id = m.identity === 'key' ? `key ${shown((m.key ?? []).join(', '))}` : m.identity === 'features' ? 'keyed by features' : m.identity === 'position' ? 'keyed by position' : 'keyed by path';
  const label = m.label !== undefined ? `, label ${shown(m.label)}` : m.labelSegment !== undefined ? `, label = folder ${m.labelSegment}` : '';
  return `${m.format}${m.quoting !== undefined ? `, quoting ${m.quoting}` : ''}, ${id}${label}`;
}

/** Label counts in one short text: `ham 80, spam 40`. */
function labelsText(labels: Record<string, number> | undefined, max = 8): string {
  if (!labels) return '';
  const list = Object.keys(labels).sort();
  const listed = list.slice(0, max).map((l) => `${labelShown(l)} ${formatCount(labels[l] as number)}`);
  return listed.join(', ') + (list.length > max ? `, … (${list.length} labels)` : '');
}

/** Lines about the record sets a seal indexed. */
export function sealedRecordLines(members: readonly RecordSetMember[]): string[] {
  const out = [`  records      ${plural(members.length, 'record set')} indexed and signed`];
  for (const m of members.slice(0, RECORDS_LISTED)) {
    out.push(`    ${escapeListedPath(recordSetName(m))}: ${plural(m.count, 'record')} (${describeSet(m)})${m.labels && m.count > 0 ? `: ${labelsText(m.labels)}` : ''}`);
  }
  if (members.length > RECORDS_LISTED) out.push(`    … and ${members.length - RECORDS_LISTED} more (--json lists all)`);
  return out;
}

/** The label table and shift statistics. */
export function shiftLines(s: LabelShift, indent: string): string[] {
  const out: string[] = [];
  const rows = s.labels.slice(0, RECORDS_LISTED);
  for (const r of rows) {
    const moved = r.shareB - r.shareA;
    out.push(`${indent}${labelShown(r.label)}: ${formatCount(r.a)} (${pct(r.shareA)}) → ${formatCount(r.b)} (${pct(r.shareB)})${Math.abs(moved) >= 0.0005 ? `  ${moved > 0 ? '+' : ''}${(100 * moved).toFixed(1)} points` : ''}`);
  }
  if (s.labels.length > RECORDS_LISTED) out.push(`${indent}… and ${s.labels.length - RECORDS_LISTED} more labels`);
  const chi = s.chiSquare ? `χ² ${num(s.chiSquare.statistic, 2)} (df ${s.chiSquare.df}, p ${num(s.chiSquare.p)})` : 'χ² n/a';
  out.push(`${indent}shift: L∞ ${num(s.lInf)} · Jensen–Shannon distance ${num(s.jsDistance)} · PSI ${num(s.psi)} · ${chi}`);
  const some = (list: readonly string[]) => list.slice(0, RECORDS_LISTED).map(labelShown).join(', ') + (list.length > RECORDS_LISTED ? `, … and ${formatCount(list.length - RECORDS_LISTED)} more (--json lists all)` : '');
  if (s.newLabels.length) out.push(`${indent}new labels: ${some(s.newLabels)}`);
  if (s.vanishedLabels.length) out.push(`${indent}vanished labels: ${some(s.vanishedLabels)}`);
  return out;
}

/** A one-line summary of one set's record diff: `2 labels flipped (ham → spam), 1 added`. */
export function setSummary(d: RecordSetDiff): string {
  const s = d.summary;
  const parts: string[] = [];
  if (s.flipped) {
    const pairs = new Map<string, number>();
    for (const f of d.flipped) {
      // The same text on both sides: the label's JSON type changed (1 → "1", §19.3), or the key's form (a JSONL 1 → 1.0).
      const pair = `${labelShown(f.from)} → ${labelShown(f.to)}${f.from === f.to ? ', its JSON type or its key\'s form' : ''}`;
      pairs.set(pair, (pairs.get(pair) ?? 0) + 1);
    }
    const top = [...pairs.entries()].sort((x, y) => y[1] - x[1]);
    parts.push(`${plural(s.flipped, 'label', 'labels')} flipped (${top.slice(0, 3).map(([k, n]) => (top.length > 1 ? `${k}: ${formatCount(n)}` : k)).join(', ')}${top.length > 3 ? ', …' : ''})`);
  }
  if (s.modified) parts.push(`${plural(s.modified, 'record')} modified${s.labelChanges - s.flipped - s.relabelled > 0 ? ` (${formatCount(s.labelChanges - s.flipped - s.relabelled)} with another label)` : ''}`);
  if (s.relabelled) parts.push(`${plural(s.relabelled, 'label')} changed under another key`);
  if (s.added) parts.push(`${plural(s.added, 'record')} added`);
  if (s.removed) parts.push(`${plural(s.removed, 'record')} removed`);
  // B's are the finding; A's, when there are any, are said too, as the list below names both sides' groups.
  if (s.duplicates.b) parts.push(`${plural(s.duplicates.b, 'duplicate')} in b${s.duplicates.a ? ` (${formatCount(s.duplicates.a)} in a)` : ''}`);
  if (s.conflicts.b) parts.push(`${plural(s.conflicts.b, 'conflicting label group')} in b${s.conflicts.a ? ` (${formatCount(s.conflicts.a)} in a)` : ''}`);
  return parts.length ? parts.join(', ') : 'no record changed';
}

/**
 * What a flip whose two labels have the same text is said to be: the label's JSON type changed
 * (`1` → `"1"`), or the form of its key did (a JSONL key `1` written `1.0`, the key `[1]` either way,
 * §19.4) — the same key text, label text and features with another fingerprint, which the index
 * cannot tell apart.
 */
const SAME_LABEL_TEXT = 'same label text: the JSON type of its label, or the form of its key, changed';

/**
 * The line saying how many records moved out of A's order (FORMAT §19.8, `order`): given when some
 * did, or always with `always` (check reports it for every set that measures it); for an order not
 * measured, always: `row order not measured (<reason>; <how>)`.
 * @param how what measures it (e.g. `--order measures it`), for an order not measured
 */
export function orderLine(d: Pick<RecordSetDiff, 'order'>, always = false, how?: string): string | undefined {
  const o = d.order;
  if (!o || (o.moved === 0 && !always)) return undefined;
  return orderText(o, how);
}

/**
 * The detailed lines of one set's record diff, each kind capped.
 * @param opts.orderAlways say how many records moved even when none did (check)
 * @param opts.orderHow what measures an order not measured (`--order measures it`)
 */
export function setLines(d: RecordSetDiff, indent = '  ', opts: { orderAlways?: boolean; orderHow?: string } = {}): string[] {
  const out: string[] = [];
  // The same records in another order (FORMAT §19.8): a loader that splits by position (`train[:N]`) reads other records.
  const order = orderLine(d, opts.orderAlways, opts.orderHow);
  if (order) out.push(`${indent}${order}`);
  const cap = <T>(title: string, list: T[], line: (x: T) => string) => {
    if (list.length === 0) return;
    out.push(`${indent}${title} (${formatCount(list.length)}):`);
    for (const x of list.slice(0, RECORDS_LISTED)) out.push(`${indent}  ${line(x)}`);
    if (list.length > RECORDS_LISTED) out.push(`${indent}  … and ${formatCount(list.length - RECORDS_LISTED)} more (--json lists all)`);
  };
  const lab = (l?: string) => (l === undefined ? '' : ` [${labelShown(l)}]`);
  // Parquet: column types (FORMAT §19.11), and the columns' order (CSV, TSV too), first: a changed type explains records modified by it, or none at all.
  const types = d.types;
  cap('column types changed', types?.changes ?? [], (c) => shown(typeChangeText(c)));
  if (types && types.changes.length > 0 && d.summary.modified > 0) out.push(`${indent}  (a column's new type can change the canonical form of every value in it, FORMAT §19.3: records modified by that alone are listed below)`);
  // A reorder (FORMAT §19.11): a loader that reads by position (`df.iloc[:, -1]`) reads another column.
  if (types?.order) out.push(`${indent}${shown(columnOrderText(types.order))}  (a loader that reads columns by position reads another column)`);
  // A column added or removed (FORMAT §19.11) moves the columns after it, as a reorder does.
  for (const line of types?.columns ? columnSetTexts(types.columns) : []) out.push(`${indent}${shown(line)}  (a loader that reads columns by position reads another column)`);
  if (types?.unknown) out.push(`${indent}${d.format === 'parquet' ? 'column types' : 'column order'} not compared (${types.unknown.side === 'both' ? 'both sides' : `side ${types.unknown.side}`}: ${escapeMessage(types.unknown.reason)})`);
  cap('ClassLabel names changed (what each integer label means, FORMAT §19.11)', types?.classNames ?? [], (c) => shown(classNamesChangeText(c)));
  cap('pandas categories changed (what each .cat.codes integer means, FORMAT §19.11)', types?.categories ?? [], (c) => shown(categoriesChangeText(c)));
  if (types?.categoriesUnknown) out.push(`${indent}pandas categories not compared (${types.categoriesUnknown.side === 'both' ? 'both sides' : `side ${types.categoriesUnknown.side}`}: ${escapeMessage(types.categoriesUnknown.reason)})`);
  if (types?.classNamesUnknown) out.push(`${indent}${types.classNamesUnknown.nested ? 'nested ' : ''}ClassLabel names not compared (${types.classNamesUnknown.side === 'both' ? 'both sides' : `side ${types.classNamesUnknown.side}`}: ${escapeMessage(types.classNamesUnknown.reason)})`);
  // The same text on both sides: the label's JSON value changed type (1 and "1" are the label `1`, §19.3) —
  // or the key's form did (a JSONL key 1 written 1.0 is the key [1] with another fingerprint): the index cannot tell which.
  cap('label flips', d.flipped, (f) => `${keyText(f.key, d.format)}: ${labelShown(f.from)} → ${labelShown(f.to)}  (row ${f.a.row}${f.b.row !== f.a.row ? ` → ${f.b.row}` : ''})${f.from === f.to ? `  (${SAME_LABEL_TEXT})` : ''}`);
  cap('label changed under another key', d.relabelled, (r) => `${keyText(r.a.key, d.format)} → ${keyText(r.b.key, d.format)}: ${labelShown(r.from)} → ${labelShown(r.to)}  (row ${r.a.row}${r.b.row !== r.a.row ? ` → ${r.b.row}` : ''}; same features)`);
  // A label-folder set's key repeats under each label folder holding a file of that name (§19.4): its label tells the files apart.
  cap('modified', d.modified, (m) => `${keyText(m.key, d.format)}  (row ${m.a.row}${m.b.row !== m.a.row ? ` → ${m.b.row}` : ''})${m.labelChanged ? `  label ${labelShown(m.a.label ?? '')} → ${labelShown(m.b.label ?? '')}` : d.format === 'files' ? lab(m.b.label) : ''}`);
  cap('added', d.added, (r) => `+ ${keyText(r.key, d.format)}  (row ${r.row})${lab(r.label)}`);
  cap('removed', d.removed, (r) => `- ${keyText(r.key, d.format)}  (row ${r.row})${lab(r.label)}`);
  cap('duplicates', d.duplicates, (g) => `${g.side}: ${g.identity.startsWith('[') ? keyText(JSON.parse(g.identity), d.format) : keyText(g.identity)} × ${g.count}  (rows ${g.rows.join(', ')}${g.count > g.rows.length ? ', …' : ''})${lab(g.label)}`);
  cap('conflicting labels (same features, different labels)', d.conflicts, (c) => `${c.side}: features ${c.features.slice(0, 12)}: ${labelsText(c.labels)}  (${c.records.map((r) => `${keyText(r.key, d.format)} row ${r.row}`).join('; ')})`);
  return out;
}

/**
 * The records section of `diff` (and the detail of `check`).
 * @param opts.orderAlways say each set's records moved out of order even when none did (check)
 * @param opts.orderHow what measures an order not measured (`--order measures it`)
 */
export function recordsLines(r: RecordsReport, opts: { orderAlways?: boolean; orderHow?: string } = {}): string[] {
  const out: string[] = [];
  const s = r.summary;
  out.push(`records: ${plural(s.sets, 'record set')} compared: ${formatCount(s.flipped)} flipped, ${formatCount(s.modified)} modified, ${formatCount(s.added)} added, ${formatCount(s.removed)} removed, ${formatCount(s.unchanged)} unchanged`);
  for (const d of r.sets.slice(0, RECORDS_LISTED)) {
    out.push(`  ${escapeListedPath(d.name)} (${describeSet(d)}): ${formatCount(d.a.records)} → ${formatCount(d.b.records)} records: ${setSummary(d)}`);
    out.push(...setLines(d, '    ', opts));
    if (d.shift && (d.summary.labelChanges + d.summary.added + d.summary.removed > 0 || d.shift.lInf > 0)) out.push(...shiftLines(d.shift, '    labels  '));
  }
  if (r.sets.length > RECORDS_LISTED) out.push(`  … and ${r.sets.length - RECORDS_LISTED} more record sets (--json lists all)`);
  for (const u of r.unavailable) out.push(`  ${escapeListedPath(u.name)}: not compared (${u.side === 'both' ? 'both sides' : `side ${u.side}`}: ${escapeMessage(u.reason)})`);
  if (r.dataset && r.sets.filter((x) => x.shift).length > 1) {
    out.push('  dataset labels:');
    out.push(...shiftLines(r.dataset, '    '));
  }
  return out;
}

/**
 * The record lines under one verify problem: its record diff, or the label flip of a moved file —
 * under the file where it is now (an extra file, a `modified` one it moved over, or a `type-changed`
 * file where a link was signed, whose bytes are in `actual`), not under its missing twin, which
 * carries the same `label`.
 */
export function problemRecordLines(p: { records?: RecordSetDiff | { error: { code: string; message: string } }; label?: { key: string; from: string; to: string; contentChanged?: true }; kind: string; actual?: object }): string[] {
  const out: string[] = [];
  if (p.records && 'error' in p.records) out.push(`    records: not compared: ${escapeMessage(p.records.error.message)} [${p.records.error.code}]`);
  else if (p.records) {
    out.push(`    records: ${setSummary(p.records)}`);
    out.push(...setLines(p.records, '      '));
    if (p.records.shift && p.records.summary.labelChanges + p.records.summary.added + p.records.summary.removed > 0) out.push(...shiftLines(p.records.shift, '      labels  '));
  }
  // Under the file where the record is now: an extra or modified file, or a file where a link was signed (type-changed, its bytes read).
  if (p.label && (p.kind === 'extra' || p.kind === 'modified' || (p.kind === 'type-changed' && p.actual !== undefined && 'sha256' in p.actual))) {
    const what = p.label.contentChanged ? 'label changed' : 'label flipped';
    out.push(`    ${what}: ${keyText([p.label.key], 'files')}: ${labelShown(p.label.from)} → ${labelShown(p.label.to)}${p.label.contentChanged ? ' (and its bytes)' : ''}`);
  }
  return out;
}
