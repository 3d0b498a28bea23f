/**
 * The drill report (docs/FORMAT.md §20): every planted change with its verdict, a summary per
 * attack kind, the kinds that did not apply, and the verdict. Its JSON form is exact and has no
 * time and no scratch path, so one seed gives the same bytes. Pure.
 */
import { ATTACK_KINDS, type AttackKind } from './kinds.js';
import type { NotApplicable, PlannedAttack } from './plan.js';
import type { Verdict } from './judge.js';

/** Version of the report's JSON form (its `drill` member). */
export const DRILL_REPORT_VERSION = 1;

/** One planted change as reported. */
export interface PlantedReport {
  id: string;
  kind: AttackKind;
  path: string;
  key?: string;
  detail: string;
  caught: boolean;
  by: string[];
  reason?: string;
  /** A miss because the gate is not configured for this class of change. */
  notConfigured?: boolean;
  /** The drill round the change was planted in (changes of one round are checked together). */
  round: number;
}

/** Counts per attack kind. */
export interface KindSummary {
  kind: AttackKind;
  planted: number;
  caught: number;
  missed: number;
  notConfigured: number;
  by: string[];
}

/** The report; `--json` prints it as is. */
export interface DrillReport {
  drill: number;
  dataset: string;
  against: { ref: string; id: string };
  seed: number;
  attacks: AttackKind[];
  /** Whether record checks (record diff and `check`) were part of the gate. */
  records: boolean;
  rounds: number;
  planted: PlantedReport[];
  summary: KindSummary[];
  notApplicable: NotApplicable[];
  verdict: 'pass' | 'fail';
}

/** Put the report together. The verdict is `pass` only when something was planted and every planted change was caught. */
export function drillReport(o: {
  dataset: string;
  against: { ref: string; id: string };
  seed: number;
  attacks: AttackKind[];
  records: boolean;
  rounds: number;
  planted: { attack: PlannedAttack; verdict: Verdict; round: number }[];
  notApplicable: NotApplicable[];
}): DrillReport {
  const planted: PlantedReport[] = o.planted.map(({ attack: a, verdict: v, round }) => {
    const key = v.key ?? a.key;
    return {
      id: a.id,
      kind: a.kind,
      path: a.path,
      ...(key !== undefined ? { key } : {}),
      detail: a.detail,
      caught: v.caught,
      by: v.by,
      ...(v.reason !== undefined ? { reason: v.reason } : {}),
      ...(v.notConfigured ? { notConfigured: true } : {}),
      round,
    };
  });
  const summary: KindSummary[] = [];
  for (const kind of ATTACK_KINDS) {
    const list = planted.filter((p) => p.kind === kind);
    if (list.length === 0) continue;
    const caught = list.filter((p) => p.caught).length;
    const nc = list.filter((p) => p.notConfigured).length;
    summary.push({ kind, planted: list.length, caught, missed: list.length - caught - nc, notConfigured: nc, by: [...new Set(list.flatMap((p) => p.by))].sort() });
  }
  const verdict = planted.length > 0 && planted.every((p) => p.caught) ? 'pass' : 'fail';
  return { drill: DRILL_REPORT_VERSION, dataset: o.dataset, against: o.against, seed: o.seed, attacks: o.attacks, records: o.records, rounds: o.rounds, planted, summary, notApplicable: o.notApplicable, verdict };
}
