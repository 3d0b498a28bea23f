/**
 * The facts an incident report shows, made from a diff (src/ops/diff.ts) and the label counts of both
 * sides: the verdict, the two sides and their trust, file and record changes each capped at
 * `maxItems` with the count of the rest, the label distribution before and after with its shift
 * statistics, and what to do next. Pure (no I/O): the gatherer (`gather-incident.ts`) reads, this
 * decides what is shown, the renderers (`render-*.ts`) only write it out.
 *
 * Every outside string in the facts is text as it is shown, the same text the CLI prints for it:
 * made visible (core/display.ts) — a path with `escapeListedPath`, as the file lines of `diff` and
 * `verify` write it (quoted, with its characters outside ASCII as `\uXXXX`, when it could pass for
 * another: `"tr\u0430in.jsonl"`; quoted when it holds a comma, a parenthesis, `→` …), a label or a key
 * value as `diff` writes it (records/key-text.ts, `shownKeyValue`), any other name with
 * `escapeForTerminal` — and then cut ({@link clip}) without splitting an escape. The renderers only
 * add their medium's escapes (`htmlShown`, `markdownShown`), never a second backslash.
 *
 * Everything here is a function of its inputs: no clock, no environment, no machine, so the same
 * inputs give the same report, byte for byte.
 */
import { isSymlinkEntry, type ManifestEntry } from '../core/manifest.js';
import type { DiffExtra, DiffReport, DiffSide } from '../ops/diff.js';
import { recordSetUnchanged, type RecordSetDiff } from '../records/record-report.js';
import type { SetOrder } from '../records/row-order.js';
import { labelShift, type LabelShift } from '../records/stats.js';
import { shellCommand } from './escape.js';
import { escapeForTerminal, escapeListedPath, escapeMessage, visibleCutIndex } from '../core/display.js';
import { keyValueText, recordKeyText, shownKeyValue } from '../records/key-text.js';

/** Default of `--max-items`: how many of each kind of change a report lists. */
export const DEFAULT_MAX_ITEMS = 50;
/** Largest `--max-items` accepted (a report stays a page, not a dump: `diff --json` lists all). */
export const MAX_MAX_ITEMS = 10_000;
/** Most labels the chart draws; the rest are summed into one bar ("N others, summed": {@link otherLabelsText}). */
export const MAX_CHART_LABELS = 20;
/** Longest outside string (path, key, label), in UTF-16 units of its shown text, shown whole; longer ones are cut, saying how much was left out. */
export const MAX_SHOWN_CHARS = 300;

/** A list cut to its first items, with how many there were in all. */
export interface Capped<T> {
  total: number;
  items: T[];
}

/** One side of the report. */
export interface SideFacts {
  kind: 'snapshot' | 'folder';
  /** Snapshot side: the ref as given, its snapshot id and creation time (from its statement). */
  ref?: string;
  snapshot?: string;
  createdAt?: string;
  /** Folder side: its path (for a dataset in S3, its `s3://BUCKET/PREFIX`). */
  folder?: string;
  /** Folder side that is a dataset in S3 (`s3://BUCKET/PREFIX`), not a local folder: named so in the report. */
  dataset?: true;
  /** Each signature's keyid; with keys or a policy, whether it is trusted, and its name in the policy. */
  signers: { keyid: string; trusted?: boolean; name?: string }[];
  /**
   * `trusted` / `untrusted`: checked against the given keys or policy; `unchecked`: no keys or
   * policy given (a snapshot's signers are then shown, not judged); `folder`: a folder is not signed.
   */
  trust: 'trusted' | 'untrusted' | 'unchecked' | 'folder';
  failure?: { code: string; message: string };
}

/** A label that changed: a file moved between label folders, or a record whose label alone changed. */
export interface LabelFlip {
  /** The file's path in B, or the record's key (as JSON). */
  name: string;
  /** The record set (record flips only). */
  set?: string;
  from: string;
  to: string;
}

/** One bar group of the chart. */
export interface ChartRow {
  label: string;
  a: number;
  b: number;
  /** True for the one row that sums the labels beyond {@link MAX_CHART_LABELS}. */
  other?: boolean;
}

/** The label distribution before (A) and after (B). */
export interface LabelFacts {
  /** `records`: the labels of the record indexes; `folders`: the first folder of each path (label = folder). */
  source: 'records' | 'folders';
  shift: Omit<LabelShift, 'labels'>;
  /** At most {@link MAX_CHART_LABELS} + 1 rows, in label order (the "other" row last). */
  chart: ChartRow[];
  /** Labels in all (the chart may show fewer). */
  labelCount: number;
  flips: Capped<LabelFlip>;
}

/** The record changes of one record set. */
export interface RecordSetFacts {
  name: string;
  format: string;
  identity: string;
  summary: RecordSetDiff['summary'];
  /** How the order of the records on both sides changed (FORMAT §19.8), for sets that measure it (`report` always asks for it). */
  order?: SetOrder;
  flipped: Capped<{ key: string; from: string; to: string }>;
  added: Capped<{ key: string; label?: string }>;
  removed: Capped<{ key: string; label?: string }>;
  modified: Capped<{ key: string; from?: string; to?: string; labelChanged: boolean }>;
}

/** A file as a report lists it. */
export interface FileFact {
  path: string;
  /** Bytes; absent for a symbolic link. */
  size?: number;
  target?: string;
}

/** Everything an incident report shows. */
export interface IncidentFacts {
  kind: 'incident';
  /**
   * `identical`: no difference and no side failed its trust check; `changed`: the sides differ;
   * `untrusted`: a snapshot side failed its trust check (whatever the contents).
   */
  verdict: 'identical' | 'changed' | 'untrusted';
  /** Whether a trust check was made (keys or a policy were given). */
  trustChecked: boolean;
  a: SideFacts;
  b: SideFacts;
  summary: DiffReport['summary'];
  files: {
    renamed: Capped<{ from: string; to: string; size: number }>;
    added: Capped<FileFact>;
    removed: Capped<FileFact>;
    modified: Capped<{ path: string; a: FileFact; b: FileFact }>;
    extra: Capped<{ side: 'a' | 'b'; path: string; reason: string; code: string }>;
  };
  labels?: LabelFacts;
  records?: {
    summary: NonNullable<DiffReport['records']>['summary'];
    /** The sets with a change (unchanged sets are only counted, in `unchangedSets`). */
    sets: Capped<RecordSetFacts>;
    unchangedSets: number;
    unavailable: Capped<{ name: string; side: string; reason: string }>;
    /** The sets' order summed (FORMAT §19.8; `report` always measures it): records paired, and moved out of A's order. */
    order?: SetOrder;
  };
  next: NextStep;
  maxItems: number;
  /**
   * The snapshot's `--exclude` patterns a folder side was scanned without (shown text, at most
   * {@link MAX_LEFT_OUT_NAMED}), and how many there are: paths matching them were not compared.
   */
  leftOut?: Capped<string>;
}

/** Most `--exclude` patterns the report names (the rest are counted). */
export const MAX_LEFT_OUT_NAMED = 10;

/** What to do next. */
export interface NextStep {
  /** `restore`: restore A; `none`: nothing to do; `review`: no clean snapshot to name (see `why`). */
  action: 'restore' | 'none' | 'review';
  /** The exact command (words quoted for a POSIX shell), for `restore`. */
  command?: string;
  /** Why, in a sentence (our own text, which may embed outside names). */
  why: string;
}

/** What the report is asked for, besides the diff. */
export interface IncidentOptions {
  maxItems?: number;
  /** Label → count per side, by first folder of the path (used when the diff has no record labels). */
  folderLabels?: { a: Record<string, number>; b: Record<string, number> };
  /** The trust flags as given (`--pubkey K`, `--policy P --root R` …), repeated in the restore command. */
  trustWords?: string[];
  /** `--store S` as given, repeated in the restore command. */
  storeWords?: string[];
  /** The program name to write commands with (default `snap`). */
  program?: string;
  /** Which folder sides are datasets in S3 (`s3://BUCKET/PREFIX`), named so rather than as folders. */
  datasets?: { a?: boolean; b?: boolean };
  /** The snapshot's `--exclude` patterns a folder side was scanned without (`diff`'s `onManifests`). */
  leftOut?: readonly string[];
}

/** How the report names a side that is not a snapshot: `a dataset in S3` or `a folder`. */
export function unsignedSideWord(s: SideFacts): string {
  return s.dataset ? 'a dataset in S3' : 'a folder';
}

/**
 * Cut text made visible (see the module comment) to at most {@link MAX_SHOWN_CHARS} UTF-16 units,
 * saying how many were left out; the cut never splits an escape (`\u0430`, `\x1b`, `\\`) or a
 * surrogate pair (core/display.ts, `visibleCutIndex`), so a cut name cannot read as another.
 */
export function clip(shown: string): string {
  const end = visibleCutIndex(shown, MAX_SHOWN_CHARS);
  return end === shown.length ? shown : `${shown.slice(0, end)}… (${shown.length - end} more characters)`;
}

/** A name (a ref, a keyid, a signer's name, a folder) as shown: `escapeForTerminal`, clipped. */
export function shownName(name: string): string {
  return clip(escapeForTerminal(name));
}

/**
 * A file path (a manifest entry's, a link target, a record set's) as shown: as the file lines of
 * `diff` and `verify` write it (`escapeListedPath` on the whole path — quoted, its characters
 * outside ASCII as `\uXXXX`, when it could pass for another; quoted too when it holds the marks
 * of a record line, a comma, a parenthesis, `→`, white space at an end: a set named
 * `x.csv: 3 labels flipped (a → b)`, a file `other (row 2), z.csv` —), then clipped.
 */
export function shownPath(path: string): string {
  return clip(escapeListedPath(path));
}

/**
 * A label as shown, clipped: as `diff` writes it (records/key-text.ts: bare, or its JSON string
 * when it would print like another label — a Markdown table cell drops a space at an end, an HTML
 * page shows none —, with its characters outside ASCII as `\uXXXX` when it mixes look-alike
 * scripts: `"c\u0430t"`), made visible once (`shownKeyValue`).
 */
export function labelText(label: string): string {
  return clip(shownKeyValue(keyValueText(label, true)));
}

function cap<T, U>(list: readonly T[], max: number, map: (x: T) => U, total = list.length): Capped<U> {
  return { total, items: list.slice(0, max).map(map) };
}

/**
 * How a record is named in a report: as `diff` names it (records/key-text.ts: `["a",2]` → `a, 2`,
 * a value that could be mistaken as its JSON text), clipped; for identity `features` (no key: the
 * record is its feature hash) its row in B and the first 12 hex digits of that hash.
 */
export function recordName(key: unknown, identity: string, row: number, format?: string): string {
  if (identity === 'features' && typeof key === 'string') return `row ${row} (features ${escapeForTerminal(key.slice(0, 12))}…)`;
  return clip(recordKeyText(key, format, shownKeyValue));
}

function fileFact(e: ManifestEntry): FileFact {
  return isSymlinkEntry(e) ? { path: shownPath(e.path), target: shownPath(e.target) } : { path: shownPath(e.path), size: e.size };
}

function sideFacts(s: DiffSide, trustChecked: boolean, dataset = false): SideFacts {
  if ('folder' in s) return { kind: 'folder', folder: shownName(s.folder), ...(dataset ? { dataset: true as const } : {}), signers: [], trust: 'folder' };
  return {
    kind: 'snapshot',
    ref: shownName(s.ref),
    snapshot: shownName(s.snapshot),
    createdAt: shownName(s.createdAt),
    signers: s.signers.map((g: { keyid: string; trusted?: boolean; name?: unknown }) => ({
      keyid: shownName(g.keyid),
      ...(g.trusted !== undefined ? { trusted: g.trusted } : {}),
      ...(typeof g.name === 'string' ? { name: shownName(g.name) } : {}),
    })),
    trust: !trustChecked ? 'unchecked' : s.trusted ? 'trusted' : 'untrusted',
    ...(s.failure ? { failure: { code: s.failure.code, message: clip(escapeMessage(s.failure.message)) } } : {}),
  };
}

/** The label of a path in a label-by-folder dataset: its first segment; undefined for a file at the top. */
export function folderLabel(path: string): string | undefined {
  const i = path.indexOf('/');
  return i > 0 ? path.slice(0, i) : undefined;
}

/**
 * The name of the chart's row that sums the labels beyond {@link MAX_CHART_LABELS}: `N others,
 * summed` (drawn whole, over two lines past 999 others, as any long label). It holds
 * a comma, so no label is shown as it: a label with a comma is shown as its JSON string, in double
 * quotes ({@link labelText}). It read `N other labels`, which a poisoner could name a label to
 * pass for the sum: two rows of the chart and of its table read alike.
 */
function otherLabelsText(n: number): string {
  return `${n} others, summed`;
}

/**
 * The chart's rows: every label when there are at most {@link MAX_CHART_LABELS}; else the
 * {@link MAX_CHART_LABELS} largest (by the larger of their two counts, ties by label), in label
 * order, and one row summing the rest.
 */
export function chartRows(shift: LabelShift): ChartRow[] {
  const rows: ChartRow[] = shift.labels.map((l) => ({ label: l.label, a: l.a, b: l.b }));
  if (rows.length <= MAX_CHART_LABELS) return rows.map((r) => ({ ...r, label: labelText(r.label) }));
  const byWeight = [...rows].sort((x, y) => Math.max(y.a, y.b) - Math.max(x.a, x.b) || (x.label < y.label ? -1 : x.label > y.label ? 1 : 0));
  const kept = new Set(byWeight.slice(0, MAX_CHART_LABELS).map((r) => r.label));
  const shown = rows.filter((r) => kept.has(r.label)).map((r) => ({ ...r, label: labelText(r.label) }));
  const rest = rows.filter((r) => !kept.has(r.label));
  shown.push({ label: otherLabelsText(rest.length), a: rest.reduce((s, r) => s + r.a, 0), b: rest.reduce((s, r) => s + r.b, 0), other: true });
  return shown;
}

/** Shift statistics with their new and vanished labels as shown ({@link labelText}). */
function shownShift(shift: Omit<LabelShift, 'labels'>): Omit<LabelShift, 'labels'> {
  return { ...shift, newLabels: shift.newLabels.map(labelText), vanishedLabels: shift.vanishedLabels.map(labelText) };
}

function labelFacts(d: DiffReport, o: IncidentOptions, max: number): LabelFacts | undefined {
  const fromRecords = d.records?.dataset;
  if (fromRecords) {
    const flips: LabelFlip[] = [];
    let total = 0;
    for (const s of d.records?.sets ?? []) {
      total += s.flipped.length;
      for (const f of s.flipped) {
        if (flips.length >= max) break;
        flips.push({ name: recordName(f.key, s.identity, f.b.row, s.format), set: shownPath(s.name), from: labelText(f.from), to: labelText(f.to) });
      }
    }
    const { labels, ...shift } = fromRecords;
    return { source: 'records', shift: shownShift(shift), chart: chartRows(fromRecords), labelCount: labels.length, flips: { total, items: flips } };
  }
  if (!o.folderLabels) return undefined;
  const full = labelShift(o.folderLabels.a, o.folderLabels.b);
  if (full.labels.length === 0) return undefined;
  const moves = d.renamed.filter((r) => {
    const from = folderLabel(r.from);
    const to = folderLabel(r.to);
    return from !== undefined && to !== undefined && from !== to;
  });
  const { labels, ...shift } = full;
  return {
    source: 'folders',
    shift: shownShift(shift),
    chart: chartRows(full),
    labelCount: labels.length,
    flips: cap(moves, max, (r) => ({ name: shownPath(r.to), from: labelText(folderLabel(r.from) as string), to: labelText(folderLabel(r.to) as string) })),
  };
}

/**
 * How many record rows (flipped, added, removed, modified) the report lists over all its record
 * sets together: as many as the four lists of one set hold (4 × `maxItems`). Each list was cut to
 * `maxItems` on its own, so 50 sets made 10,000 rows — with long names written as `&lt;`, a 27 MB
 * page (and Markdown GitHub refuses as a job summary). The sets are given rows in order; a set
 * left none is still counted, each list saying how many it holds.
 */
export const RECORD_ROW_LISTS = 4;

/** Rows still free for the record lists of the report (see {@link RECORD_ROW_LISTS}). */
interface RowBudget {
  left: number;
}

function recordSetFacts(s: RecordSetDiff, max: number, budget: RowBudget): RecordSetFacts {
  const withLabel = (label: string | undefined) => (label !== undefined ? { label: labelText(label) } : {});
  const take = <T, U>(list: readonly T[], map: (x: T) => U): Capped<U> => {
    const c = cap(list, Math.min(max, budget.left), map);
    budget.left -= c.items.length;
    return c;
  };
  return {
    name: shownPath(s.name),
    format: shownName(s.format),
    identity: shownName(s.identity),
    summary: s.summary,
    ...(s.order ? { order: s.order } : {}),
    flipped: take(s.flipped, (f) => ({ key: recordName(f.key, s.identity, f.b.row, s.format), from: labelText(f.from), to: labelText(f.to) })),
    added: take(s.added, (r) => ({ key: recordName(r.key, s.identity, r.row, s.format), ...withLabel(r.label) })),
    removed: take(s.removed, (r) => ({ key: recordName(r.key, s.identity, r.row, s.format), ...withLabel(r.label) })),
    modified: take(s.modified, (m) => ({
      key: recordName(m.key, s.identity, m.b.row, s.format),
      ...(m.a.label !== undefined ? { from: labelText(m.a.label) } : {}),
      ...(m.b.label !== undefined ? { to: labelText(m.b.label) } : {}),
      labelChanged: m.labelChanged,
    })),
  };
}

/** A folder name made from a ref, for the restore command's target (`spam@v1` → `spam-v1-restored`). */
export function restoreTarget(ref: string): string {
  const base = ref.replace(/\.snap\.tar$/, '').split('/').pop() ?? ref;
  const safe = base.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+/, '');
  return `${safe || 'snapshot'}-restored`;
}

/**
 * What to do next.
 * @param aRef A's ref whole, as the diff names it (`a.ref` is cut for display, and a command made
 *   from it would name a file that does not exist)
 */
function nextStep(verdict: IncidentFacts['verdict'], a: SideFacts, aRef: string | undefined, b: SideFacts, o: IncidentOptions): NextStep {
  if (verdict === 'identical') return { action: 'none', why: 'A and B hold the same data: there is nothing to restore.' };
  if (a.kind === 'folder') return { action: 'review', why: `A is ${unsignedSideWord(a)}, not a signed snapshot: there is no clean snapshot to restore. Review the changes; seal the data only once it is right.` };
  if (a.trust === 'untrusted') {
    return { action: 'review', why: `A (${a.ref}) failed its trust check too: do not restore it. Find an older snapshot that verifies (snap list, then snap verify … --against REF).` };
  }
  const trustWords = o.trustWords && o.trustWords.length > 0 ? o.trustWords : ['--pubkey', 'KEY.pub'];
  const ref = aRef ?? (a.ref as string);
  const command = shellCommand([o.program ?? 'snap', 'restore', ref, restoreTarget(ref), ...trustWords, ...(o.storeWords ?? [])]);
  const trustNote = o.trustWords && o.trustWords.length > 0 ? '' : ' Replace KEY.pub with the public key you trust (the report was made without one, so A\'s signers were not checked).';
  const bNote = b.trust === 'untrusted' ? ' B failed its trust check: do not train on it.' : '';
  return { action: 'restore', command, why: `Restore A, the last snapshot before the change, into a new folder (restore checks every file and verifies the folder), and train on that.${bNote}${trustNote}` };
}

/**
 * The facts of an incident report.
 * @param d the diff of A (the last known-good side) and B
 * @param o options: `maxItems` (default {@link DEFAULT_MAX_ITEMS}, 1 to {@link MAX_MAX_ITEMS}),
 *   folder label counts, and the words to repeat in the restore command
 */
export function incidentFacts(d: DiffReport, o: IncidentOptions = {}): IncidentFacts {
  const max = o.maxItems ?? DEFAULT_MAX_ITEMS;
  const trustChecked = [d.a, d.b].some((s) => 'snapshot' in s && s.trusted !== undefined);
  const a = sideFacts(d.a, trustChecked, o.datasets?.a === true);
  const b = sideFacts(d.b, trustChecked, o.datasets?.b === true);
  const s = d.summary;
  const differ = s.added + s.removed + s.modified + s.renamed + s.extra > 0;
  const verdict = a.trust === 'untrusted' || b.trust === 'untrusted' ? 'untrusted' : differ ? 'changed' : 'identical';
  const labels = labelFacts(d, o, max);
  const rows: RowBudget = { left: RECORD_ROW_LISTS * max };
  const extra = (x: DiffExtra) => ({ side: x.side, path: shownPath(x.path), reason: clip(escapeMessage(x.reason)), code: x.code });
  return {
    kind: 'incident',
    verdict,
    trustChecked,
    a,
    b,
    summary: s,
    files: {
      renamed: cap(d.renamed, max, (r) => ({ from: shownPath(r.from), to: shownPath(r.to), size: r.size })),
      added: cap(d.added, max, fileFact),
      removed: cap(d.removed, max, fileFact),
      modified: cap(d.modified, max, (m) => ({ path: shownPath(m.path), a: fileFact(m.a), b: fileFact(m.b) })),
      extra: cap(d.extra, max, extra),
    },
    ...(labels ? { labels } : {}),
    ...(d.records
      ? {
          records: {
            summary: d.records.summary,
            sets: cap(d.records.sets.filter((x) => !recordSetUnchanged(x)), max, (x) => recordSetFacts(x, max, rows)),
            unchangedSets: d.records.sets.filter(recordSetUnchanged).length,
            unavailable: cap(d.records.unavailable, max, (u) => ({ name: shownPath(u.name), side: u.side, reason: clip(escapeMessage(u.reason)) })),
            ...(d.records.order ? { order: d.records.order } : {}),
          },
        }
      : {}),
    next: nextStep(verdict, a, 'ref' in d.a ? d.a.ref : undefined, b, o),
    maxItems: max,
    ...(o.leftOut && o.leftOut.length > 0 ? { leftOut: cap(o.leftOut, MAX_LEFT_OUT_NAMED, shownName) } : {}),
  };
}
