/**
 * The JSON of `snap drill --json` (issue 10, item 1), read strictly for `snap report --drill`:
 * its size, every member's type, every list's length and every string's length are bounded, and a
 * member the shape does not have is refused — the file may come from anywhere (a CI artifact), and
 * a report must never show something it did not understand. Pure: text in, a checked object out.
 *
 * The shape (version 1, docs/FORMAT.md §21.5):
 * ```
 * { "drill": 1, "dataset": "…", "against": { "ref": "name@version", "id": "…" }, "seed": N,
 *   "attacks": ["kind", …], "records"?: true, "rounds"?: N,
 *   "planted": [{ "id": "p1", "kind": "…", "path": "…", "key"?: "…", "detail": "…", "caught": true,
 *                 "by": ["verify:modified", …], "reason"?: "…", "notConfigured"?: true, "round"?: N }],
 *   "summary": [{ "kind": "…", "planted": n, "caught": n, "missed": n, "notConfigured": n, "by": ["…"] }],
 *   "notApplicable": [{ "kind": "…", "reason": "…" }],
 *   "verdict": "pass" | "fail" }
 * ```
 */
import { SnapError } from '../core/errors.js';
import { parseJsonStrict } from '../core/json-strict.js';

/** Largest drill file read (bytes); a larger one is refused before it is parsed. */
export const MAX_DRILL_BYTES = 16 * 1024 * 1024;
/** Most planted changes a drill file may list. */
export const MAX_DRILL_PLANTED = 100_000;
/** Most entries of `attacks`, `summary`, `notApplicable` and of each `by`. */
export const MAX_DRILL_KINDS = 256;
/** Longest string member (characters). */
export const MAX_DRILL_STRING = 8192;
/** The version of the drill JSON this reader knows (`"drill": 1`). */
export const DRILL_VERSION = 1;

/** One planted change and its verdict. */
export interface DrillPlanted {
  id: string;
  kind: string;
  path: string;
  key?: string;
  detail: string;
  caught: boolean;
  by: string[];
  reason?: string;
  /** A miss of a class the gate was not configured for (with `reason` naming what would catch it). */
  notConfigured?: boolean;
  /** Which gate run (round) it was planted in. */
  round?: number;
}

/** Per attack kind: how many were planted, caught, missed, and missed because the gate is not configured for them. */
export interface DrillSummaryRow {
  kind: string;
  planted: number;
  caught: number;
  missed: number;
  notConfigured: number;
  by: string[];
}

/** The whole drill result. */
export interface DrillResult {
  /** True exactly when the verdict is `pass` (the drill's exit code 0); absent in files written before snap drill --json had it. */
  ok?: boolean;
  drill: 1;
  dataset: string;
  against: { ref: string; id: string };
  seed: number;
  attacks: string[];
  /** Whether record checks ran. */
  records?: boolean;
  /** How many gate runs the drill made. */
  rounds?: number;
  planted: DrillPlanted[];
  summary: DrillSummaryRow[];
  notApplicable: { kind: string; reason: string }[];
  verdict: 'pass' | 'fail';
}

function bad(where: string, what: string): never {
  throw new SnapError('DRILL_REPORT_MALFORMED', `not the JSON of snap drill --json: ${where} ${what}`, { at: where });
}

type Obj = Record<string, unknown>;

function object(v: unknown, where: string, required: readonly string[], optional: readonly string[] = []): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(where, 'must be an object');
  const o = v as Obj;
  for (const k of required) if (!Object.prototype.hasOwnProperty.call(o, k)) bad(where, `has no member "${k}"`);
  for (const k of Object.keys(o)) if (!required.includes(k) && !optional.includes(k)) bad(where, `has a member the drill format does not have: ${JSON.stringify(k.slice(0, 64))}`);
  return o;
}

function string(v: unknown, where: string): string {
  if (typeof v !== 'string') bad(where, 'must be a string');
  if (v.length > MAX_DRILL_STRING) bad(where, `is longer than ${MAX_DRILL_STRING} characters`);
  return v;
}

function count(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) bad(where, 'must be a whole number, 0 or more');
  return v;
}

function list<T>(v: unknown, where: string, max: number, item: (x: unknown, where: string) => T): T[] {
  if (!Array.isArray(v)) bad(where, 'must be a list');
  if (v.length > max) bad(where, `has more than ${max} entries`);
  return v.map((x, i) => item(x, `${where}[${i}]`));
}

function planted(v: unknown, where: string): DrillPlanted {
  const o = object(v, where, ['id', 'kind', 'path', 'detail', 'caught', 'by'], ['key', 'reason', 'notConfigured', 'round']);
  if (typeof o.caught !== 'boolean') bad(`${where}.caught`, 'must be true or false');
  if (o.notConfigured !== undefined && typeof o.notConfigured !== 'boolean') bad(`${where}.notConfigured`, 'must be true or false');
  if (o.notConfigured === true && o.caught) bad(`${where}.notConfigured`, 'is true for a change that was caught');
  // A drill names what caught each caught change, and nothing for a miss (src/drill/judge.ts).
  if (Array.isArray(o.by) && (o.by.length > 0) !== o.caught) bad(`${where}.by`, o.caught ? 'is empty for a change that was caught' : 'names what caught a change that was missed');
  return {
    id: string(o.id, `${where}.id`),
    kind: string(o.kind, `${where}.kind`),
    path: string(o.path, `${where}.path`),
    ...(o.key !== undefined ? { key: string(o.key, `${where}.key`) } : {}),
    detail: string(o.detail, `${where}.detail`),
    caught: o.caught,
    by: list(o.by, `${where}.by`, MAX_DRILL_KINDS, string),
    ...(o.reason !== undefined ? { reason: string(o.reason, `${where}.reason`) } : {}),
    ...(o.notConfigured !== undefined ? { notConfigured: o.notConfigured } : {}),
    ...(o.round !== undefined ? { round: count(o.round, `${where}.round`) } : {}),
  };
}

function summaryRow(v: unknown, where: string): DrillSummaryRow {
  const o = object(v, where, ['kind', 'planted', 'caught', 'missed', 'notConfigured', 'by']);
  const r = {
    kind: string(o.kind, `${where}.kind`),
    planted: count(o.planted, `${where}.planted`),
    caught: count(o.caught, `${where}.caught`),
    missed: count(o.missed, `${where}.missed`),
    notConfigured: count(o.notConfigured, `${where}.notConfigured`),
    by: list(o.by, `${where}.by`, MAX_DRILL_KINDS, string),
  };
  if (r.caught + r.missed + r.notConfigured !== r.planted) bad(where, `says ${r.planted} planted but ${r.caught} caught, ${r.missed} missed and ${r.notConfigured} not configured`);
  return r;
}

/**
 * Read and check the JSON of `snap drill --json`.
 * @param bytes the file's bytes (at most {@link MAX_DRILL_BYTES})
 * @throws SnapError `DRILL_REPORT_MALFORMED` (exit 3): too large, not UTF-8, not JSON (or a
 *   duplicate member), not the drill shape, or at odds with itself (a verdict or a summary row
 *   that is not what the planted list gives; `by` empty for a caught change or not for a miss),
 *   with `details.at`, the JSON path of the first fault
 */
export function parseDrillResult(bytes: Uint8Array): DrillResult {
  if (bytes.length > MAX_DRILL_BYTES) throw new SnapError('DRILL_REPORT_MALFORMED', `the drill file is larger than ${MAX_DRILL_BYTES} bytes`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new SnapError('DRILL_REPORT_MALFORMED', 'the drill file is not UTF-8 text');
  }
  const v = parseJsonStrict(text, 'DRILL_REPORT_MALFORMED', 'the drill file');
  const o = object(v, '$', ['drill', 'dataset', 'against', 'seed', 'attacks', 'planted', 'summary', 'notApplicable', 'verdict'], ['ok', 'records', 'rounds']);
  if (o.records !== undefined && typeof o.records !== 'boolean') bad('$.records', 'must be true or false');
  // `ok` is what `snap drill --json` adds for scripts (the exit code as a boolean): it must agree with the verdict.
  if (o.ok !== undefined && o.ok !== (o.verdict === 'pass')) bad('$.ok', 'must be true or false, true exactly when the verdict is "pass"');
  if (o.drill !== DRILL_VERSION) bad('$.drill', `must be ${DRILL_VERSION} (this snap reads drill format ${DRILL_VERSION})`);
  const against = object(o.against, '$.against', ['ref', 'id']);
  if (o.verdict !== 'pass' && o.verdict !== 'fail') bad('$.verdict', 'must be "pass" or "fail"');
  const r: DrillResult = {
    ...(o.ok !== undefined ? { ok: o.ok as boolean } : {}),
    drill: DRILL_VERSION,
    dataset: string(o.dataset, '$.dataset'),
    against: { ref: string(against.ref, '$.against.ref'), id: string(against.id, '$.against.id') },
    seed: count(o.seed, '$.seed'),
    attacks: list(o.attacks, '$.attacks', MAX_DRILL_KINDS, string),
    ...(o.records !== undefined ? { records: o.records as boolean } : {}),
    ...(o.rounds !== undefined ? { rounds: count(o.rounds, '$.rounds') } : {}),
    planted: list(o.planted, '$.planted', MAX_DRILL_PLANTED, planted),
    summary: list(o.summary, '$.summary', MAX_DRILL_KINDS, summaryRow),
    notApplicable: list(o.notApplicable, '$.notApplicable', MAX_DRILL_KINDS, (x, w) => {
      const n = object(x, w, ['kind', 'reason']);
      return { kind: string(n.kind, `${w}.kind`), reason: string(n.reason, `${w}.reason`) };
    }),
    verdict: o.verdict,
  };
  const missed = r.planted.filter((p) => !p.caught).length;
  if (r.verdict === 'pass' && missed > 0) bad('$.verdict', `is "pass" but ${missed} planted change(s) were missed`);
  if (r.verdict === 'pass' && r.planted.length === 0) bad('$.verdict', 'is "pass" but nothing was planted');
  if (r.verdict === 'fail' && r.planted.length > 0 && missed === 0) bad('$.verdict', `is "fail" but all ${r.planted.length} planted change(s) were caught`);
  checkSummary(r);
  return r;
}

/**
 * The summary must be the count of the planted list, kind by kind (as `snap drill` makes it,
 * src/drill/report.ts): one row per kind planted, none for a kind that was not. The report shows
 * both, so a file whose table says 500 caught, or a miss, where its list says otherwise is refused.
 */
function checkSummary(r: DrillResult): void {
  const counted = new Map<string, { planted: number; caught: number; notConfigured: number }>();
  for (const p of r.planted) {
    const c = counted.get(p.kind) ?? { planted: 0, caught: 0, notConfigured: 0 };
    c.planted++;
    if (p.caught) c.caught++;
    else if (p.notConfigured) c.notConfigured++;
    counted.set(p.kind, c);
  }
  const seen = new Set<string>();
  r.summary.forEach((row, i) => {
    const where = `$.summary[${i}]`;
    if (seen.has(row.kind)) bad(`${where}.kind`, `names ${JSON.stringify(row.kind.slice(0, 64))} a second time`);
    seen.add(row.kind);
    const c = counted.get(row.kind);
    if (!c) bad(`${where}.kind`, `names ${JSON.stringify(row.kind.slice(0, 64))}, of which the planted list holds nothing`);
    if (row.planted !== c.planted || row.caught !== c.caught || row.notConfigured !== c.notConfigured) {
      bad(where, `counts ${row.planted} planted, ${row.caught} caught, ${row.notConfigured} not configured where the planted list has ${c.planted}, ${c.caught} and ${c.notConfigured}`);
    }
  });
  for (const kind of counted.keys()) if (!seen.has(kind)) bad('$.summary', `has no row for ${JSON.stringify(kind.slice(0, 64))}, which the planted list holds`);
}
