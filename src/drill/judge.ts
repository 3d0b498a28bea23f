/**
 * Judging a drill round (docs/FORMAT.md §20): a planted change is caught only when the gate names
 * it — a file-level change when verify reports every path it touched, a record-level change when
 * the record diff names that record (or its new duplicate or conflicting label). Pure.
 */
import type { Problem } from '../ops/verify.js';
import type { RecordsReport } from '../records/diff-sets.js';
import type { RecordSetDiff } from '../records/record-report.js';
import type { Breach } from '../records/check.js';
import { RECORD_KINDS } from './kinds.js';
import type { PlannedAttack } from './plan.js';

/** What the gate said in one round. */
export interface GateResult {
  /** verify's problems (files). */
  problems: readonly Problem[];
  /** Whether record checks ran (the snapshot has record sets and they were not switched off). */
  recordsOn: boolean;
  /** The record diff of the snapshot against the changed copy (what `check` reads). */
  records?: RecordsReport;
  /** `check`'s breaches with its thresholds. */
  breaches?: readonly Breach[];
  /** The error that stopped the record diff (e.g. a record file no longer parses), by code. */
  recordsError?: string;
}

/** The verdict on one planted change. */
export interface Verdict {
  caught: boolean;
  /** Which checks named it (`verify:modified`, `records:flipped`, `check:maxLabelChanges`, …), sorted. */
  by: string[];
  /** The record key the record diff named, when it named one. */
  key?: string;
  /** For a miss: why. */
  reason?: string;
  /** A miss because the gate does not check this class of change. */
  notConfigured?: boolean;
}

const keyString = (k: unknown) => (typeof k === 'string' ? k : JSON.stringify(k));

/** The verdict on one planted change, from what the gate reported in its round. */
export function judge(a: PlannedAttack, g: GateResult): Verdict {
  const byPath = new Map<string, Problem[]>();
  for (const p of g.problems) byPath.set(p.path, [...(byPath.get(p.path) ?? []), p]);
  const fileBy = (paths: readonly string[]): string[] => {
    const by = new Set<string>();
    for (const path of paths) {
      for (const p of byPath.get(path) ?? []) {
        by.add(`verify:${p.kind}`);
        if (p.movedFrom || p.movedTo) by.add('verify:moved');
        if (g.recordsOn && p.label) by.add('records:label-folder');
      }
    }
    return [...by].sort();
  };
  if (!RECORD_KINDS.has(a.kind)) {
    const missing = a.paths.filter((p) => !byPath.has(p));
    if (missing.length === 0) return { caught: true, by: fileBy(a.paths) };
    return { caught: false, by: [], reason: `verify did not name ${missing.join(', ')}` };
  }
  const fileSeen = fileBy(a.paths);
  const seen = fileSeen.length > 0 ? `verify named the file (${fileSeen.join(', ')}), not the record; ` : '';
  const r = a.record;
  if (!g.recordsOn || !r?.configured) {
    return { caught: false, by: [], notConfigured: true, reason: `${seen}not configured: ${r?.notConfigured ?? 'record checks are off'}` };
  }
  if (g.recordsError) return { caught: false, by: [], reason: `${seen}the record diff stopped with ${g.recordsError}` };
  const set = g.records?.sets.find((s) => s.name === a.path);
  if (!set) {
    const u = g.records?.unavailable.find((x) => x.name === a.path);
    return { caught: false, by: [], reason: `${seen}the record diff did not compare ${a.path}${u ? ` (${u.reason})` : ''}` };
  }
  const hit = recordHit(a, set);
  if (!hit) return { caught: false, by: [], reason: `${seen}the record diff of ${a.path} did not name row ${a.row ?? '?'}` };
  const by = new Set(hit.by);
  for (const b of g.breaches ?? []) if (b.set === a.path || b.set === '*') by.add(`check:${b.rule}`);
  return { caught: true, by: [...by].sort(), ...(hit.key !== undefined ? { key: hit.key } : {}) };
}

/** Where a record diff names the planted record: by its row in the signed file (`a`) or in the changed one (`b`). */
function recordHit(a: PlannedAttack, d: RecordSetDiff): { by: string[]; key?: string } | undefined {
  const row = a.row;
  const by: string[] = [];
  let key: string | undefined;
  const note = (what: string, k: unknown) => {
    by.push(`records:${what}`);
    key ??= keyString(k);
  };
  if (a.side === 'a') {
    for (const f of d.flipped) if (f.a.row === row) note('flipped', f.key);
    for (const m of d.modified) if (m.a.row === row) note(m.labelChanged ? 'modified-label' : 'modified', m.key);
    for (const x of d.removed) if (x.row === row) note('removed', x.key);
  } else {
    for (const x of d.added) if (x.row === row) note('added', x.key);
    for (const g of d.duplicates) if (g.side === 'b' && g.rows.includes(row as number)) note('duplicate', g.identity);
    for (const c of d.conflicts) if (c.side === 'b' && c.records.some((x) => x.row === row)) note('conflict', c.features);
  }
  // What each kind must be named as (a nudged feature under identity `features` is a removed and an added record).
  const want: Record<string, string[]> = {
    'record-label-flip': ['records:flipped', 'records:modified-label'],
    'record-delete': ['records:removed'],
    'feature-nudge': ['records:modified', 'records:removed'],
    'record-inject': ['records:added'],
    'record-duplicate-conflict': ['records:duplicate', 'records:conflict'],
  };
  if (!by.some((b) => (want[a.kind] ?? []).includes(b))) return undefined;
  return { by: [...new Set(by)], ...(key !== undefined ? { key } : {}) };
}
