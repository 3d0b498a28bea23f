/**
 * Planning a drill (docs/FORMAT.md §20): from the seed, the signed manifest, the record sets and
 * the bytes of some files, which changes to plant, where, and exactly what each writes. Pure: the
 * same input gives the same plan; applying it is `apply.ts`'s.
 */
import type { AttackKind } from './kinds.js';
import { RECORD_KINDS } from './kinds.js';
import { Rng } from './rng.js';
import { MAX_PATH_BYTES, utf8Length } from '../core/paths.js';
import type { TsvQuoting } from '../core/records.js';
import { keyText, labelOf, parseTable, recordOf, renderRecord, serializeEdit, writableField, type Table, type TableFormat } from './table.js';

/** The prefix of a name a label-folder move takes when the file's own name is taken in the other folder (`drill-0001.jpg`). */
const DRILL_NAME_PREFIX = 'drill-';
/** Names tried with {@link DRILL_NAME_PREFIX} (`drill-`, `drill-2-` …) before another folder or file is tried. */
const MAX_FREE_NAME_TRIES = 9;

/** A regular file of the signed manifest, with its bytes when the runner read them. */
export interface DrillFile {
  path: string;
  size: number;
  bytes?: Uint8Array;
}

/** A record file the drill may attack: a signed record set, or a tabular file no record set covers. */
export interface RecordTarget {
  path: string;
  format: TableFormat;
  identity: 'key' | 'features' | 'position';
  key?: string[];
  label?: string;
  /** TSV: how `"` is read (the record set's `quoting`), when not the default. */
  quoting?: TsvQuoting;
  /** Whether the gate compares this file's records (a signed record set, and records not switched off). */
  configured: boolean;
  /** When not configured: why, and the configuration that would catch a change. */
  notConfigured?: string;
}

/** What one planted change writes (paths relative to the dataset root). */
export type Edit =
  | { op: 'write'; path: string; bytes: Uint8Array; keepTimes?: boolean }
  | { op: 'move'; from: string; to: string }
  | { op: 'create'; path: string; bytes: Uint8Array }
  | { op: 'symlink-copy'; path: string }
  | { op: 'truncate'; path: string; length: number };

/** One change to plant. */
export interface PlannedAttack {
  /** `p1`, `p2`, … in plan order. */
  id: string;
  kind: AttackKind;
  /** The poisoned path (for a move, the new one). */
  path: string;
  /** Every dataset path the gate must name for a file-level attack to count as caught. */
  paths: string[];
  /** Record attacks: the record's key as reports show it (identity `key`), when known before the gate runs. */
  key?: string;
  /** Record attacks: the record number the record diff names — in the signed file (`a`) or in the changed one (`b`). */
  row?: number;
  side?: 'a' | 'b';
  detail: string;
  edit: Edit;
  /** Record attacks: the record file attacked. */
  record?: RecordTarget;
}

/** A kind that was asked for and could not be planted here, and why. */
export interface NotApplicable {
  kind: AttackKind;
  reason: string;
}

/** Input of {@link planDrill}. */
export interface PlanInput {
  seed: number;
  kinds: readonly AttackKind[];
  /** The manifest's regular files, in manifest order. */
  files: readonly DrillFile[];
  /** Every path of the manifest (files and symlinks), so new names never collide. */
  allPaths: ReadonlySet<string>;
  /** Record files, in path order (their bytes are in `files`). */
  records: readonly RecordTarget[];
  /** Paths never attacked (the record configuration `snap.json`). */
  reserved?: ReadonlySet<string>;
}

/** The plan. */
export interface Plan {
  planted: PlannedAttack[];
  notApplicable: NotApplicable[];
}

/** Latin letters and the Cyrillic letters that look the same in most fonts (Unicode confusables). */
export const LOOKALIKES: Readonly<Record<string, string>> = { a: '\u0430', c: '\u0441', e: '\u0435', i: '\u0456', j: '\u0458', o: '\u043e', p: '\u0440', s: '\u0455', x: '\u0445', y: '\u0443' };

/** The nudge `feature-nudge` adds: digits appended to a decimal's fraction. */
export const NUDGE_DIGITS = '000001';

const enc = new TextEncoder();
const dirOf = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
const baseOf = (p: string) => p.slice(p.lastIndexOf('/') + 1);
const join = (d: string, b: string) => (d === '' ? b : `${d}/${b}`);

/** Longest file or folder name most file systems take, in UTF-8 bytes (Linux NAME_MAX). */
export const MAX_NAME_BYTES = 255;

/**
 * Whether a new path the drill would make can exist: every name at most {@link MAX_NAME_BYTES}
 * bytes and the whole at most `MAX_PATH_BYTES` (a look-alike letter takes 2 bytes where the Latin
 * one took 1; an injected name borrows a neighbour's extension). A path that cannot exist is not
 * planted: the rename or write would fail with ENAMETOOLONG.
 */
export function fitsOnDisk(path: string): boolean {
  return utf8Length(path) <= MAX_PATH_BYTES && path.split('/').every((seg) => utf8Length(seg) <= MAX_NAME_BYTES);
}
/**
 * Whether no folder of `path` is an entry of the manifest (`taken`: a file or a symbolic link). A
 * new path under a symbolic link of the dataset would be written through it, outside the drill's
 * private copy: a link `\u0455pam` → a folder elsewhere, and the look-alike attack's move of
 * `spam/a.txt` to `\u0455pam/a.txt` put a file of the dataset into that folder.
 */
export function noEntryAbove(path: string, taken: ReadonlySet<string>): boolean {
  for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) if (taken.has(path.slice(0, i))) return false;
  return true;
}
const isText = (b: Uint8Array) => !b.includes(0);
const NUMBER = /^-?[0-9]+(\.[0-9]+)?$/;

/** Plants one change of each asked-for kind that applies. */
export function planDrill(input: PlanInput): Plan {
  const rng = new Rng(input.seed);
  const planted: PlannedAttack[] = [];
  const notApplicable: NotApplicable[] = [];
  const recordPaths = new Set(input.records.map((r) => r.path));
  const files = input.files.filter((f) => !input.reserved?.has(f.path));
  const used = new Set<string>();
  const taken = new Set(input.allPaths);
  const tables = new Map<string, Table>();
  const scans = new Map<string, Scan>();
  const tableReasons: string[] = [];
  // Record files are parsed only for record attacks (a table of millions of rows is not small).
  for (const r of input.kinds.some((k) => RECORD_KINDS.has(k)) ? input.records : []) {
    const b = input.files.find((f) => f.path === r.path)?.bytes;
    if (!b) {
      tableReasons.push(`${r.path}: too large to read for planning`);
      continue;
    }
    const t = parseTable(b, r.format, r.quoting);
    if ('unsupported' in t) tableReasons.push(`${r.path}: ${t.unsupported}`);
    else tables.set(r.path, t);
  }

  /** File targets: those no other attack used and that are not record files first, then the rest. */
  const fileTargets = (ok: (f: DrillFile) => boolean): DrillFile[] => {
    const all = rng.shuffle(files.filter(ok));
    const rank = (f: DrillFile) => (used.has(f.path) ? 2 : 0) + (recordPaths.has(f.path) ? 1 : 0);
    return all.map((f, i) => ({ f, i, r: rank(f) })).sort((x, y) => x.r - y.r || x.i - y.i).map((x) => x.f);
  };
  const add = (a: Omit<PlannedAttack, 'id'>) => {
    planted.push({ id: `p${planted.length + 1}`, ...a });
    for (const p of a.paths) {
      used.add(p);
      taken.add(p);
    }
  };
  const none = (kind: AttackKind, reason: string) => notApplicable.push({ kind, reason });

  for (const kind of input.kinds) {
    if (RECORD_KINDS.has(kind)) {
      const r = planRecord(kind, input.records, tables, scans, rng);
      if (typeof r === 'string') none(kind, tableReasons.length > 0 ? `${r} (${tableReasons.join('; ')})` : r);
      else add(r);
      continue;
    }
    switch (kind) {
      case 'label-folder-move': {
        // Label folders: sibling folders that hold files directly (ham/ and spam/).
        const byParent = new Map<string, Set<string>>();
        for (const f of files) {
          const d = dirOf(f.path);
          if (d === '') continue;
          const parent = dirOf(d);
          const set = byParent.get(parent) ?? new Set<string>();
          set.add(baseOf(d));
          byParent.set(parent, set);
        }
        const moves: { from: string; to: string }[] = [];
        const free = (to: string) => !taken.has(to) && fitsOnDisk(to) && noEntryAbove(to, taken);
        let labelFolders = false;
        for (const f of fileTargets(() => true)) {
          const d = dirOf(f.path);
          if (d === '') continue;
          const siblings = [...(byParent.get(dirOf(d)) ?? [])].filter((s) => s !== baseOf(d)).sort();
          if (siblings.length > 0) labelFolders = true;
          for (const s of siblings) {
            const to = join(join(dirOf(d), s), baseOf(f.path));
            if (free(to)) moves.push({ from: f.path, to });
          }
          // Every class folder holding the same names (cat/0001.jpg, dog/0001.jpg: image datasets):
          // moved under a name of its own there, the extension kept (it was "no label folders", and
          // the drill passed without moving a file between labels).
          if (moves.length === 0) {
            for (const s of siblings) {
              for (let i = 1; i <= MAX_FREE_NAME_TRIES && moves.length === 0; i++) {
                const to = join(join(dirOf(d), s), `${DRILL_NAME_PREFIX}${i > 1 ? `${i}-` : ''}${baseOf(f.path)}`);
                if (free(to)) moves.push({ from: f.path, to });
              }
            }
          }
          if (moves.length > 0) break;
        }
        if (moves.length === 0) {
          none(kind, labelFolders ? 'label folders, but no file can be moved into another: the names are taken there, or too long for the disk' : 'no label folders: no two sibling folders hold files');
          break;
        }
        const m = rng.pick(moves);
        add({ kind, path: m.to, paths: [m.from, m.to], detail: `${m.from} → ${m.to} (label ${baseOf(dirOf(m.from))} → ${baseOf(dirOf(m.to))})`, edit: { op: 'move', from: m.from, to: m.to } });
        break;
      }
      case 'byte-flip-keep-size-mtime': {
        const f = fileTargets((x) => x.size > 0 && x.bytes !== undefined)[0];
        if (!f) {
          none(kind, 'no non-empty file');
          break;
        }
        const b = f.bytes as Uint8Array;
        const at = rng.below(b.length);
        const old = b[at] as number;
        const now = flipByte(old);
        const bytes = Uint8Array.from(b);
        bytes[at] = now;
        add({ kind, path: f.path, paths: [f.path], detail: `byte ${at}: 0x${hex2(old)} → 0x${hex2(now)}; size and mtime kept`, edit: { op: 'write', path: f.path, bytes, keepTimes: true } });
        break;
      }
      case 'truncate': {
        const f = fileTargets((x) => x.size > 1)[0];
        if (!f) {
          none(kind, 'no file of 2 bytes or more');
          break;
        }
        const length = Math.floor(f.size / 2);
        add({ kind, path: f.path, paths: [f.path], detail: `truncated from ${f.size} to ${length} bytes`, edit: { op: 'truncate', path: f.path, length } });
        break;
      }
      case 'symlink-to-copy': {
        const f = fileTargets(() => true)[0];
        if (!f) {
          none(kind, 'no regular file');
          break;
        }
        add({ kind, path: f.path, paths: [f.path], detail: 'replaced by a symbolic link to an identical copy outside the dataset', edit: { op: 'symlink-copy', path: f.path } });
        break;
      }
      case 'file-inject': {
        const near = fileTargets(() => true)[0];
        const dir = near ? dirOf(near.path) : '';
        const dot = near ? baseOf(near.path).lastIndexOf('.') : -1;
        const named = (ext: string) => {
          let n = 1;
          while (taken.has(join(dir, `injected-${n}${ext}`))) n++;
          return join(dir, `injected-${n}${ext}`);
        };
        // The neighbour's extension, unless the name would then be too long.
        const borrowed = near && dot > 0 ? named(baseOf(near.path).slice(dot)) : undefined;
        const path = borrowed !== undefined && fitsOnDisk(borrowed) ? borrowed : named('.txt');
        if (!fitsOnDisk(path) || !noEntryAbove(path, taken)) {
          none(kind, `a new file in ${dir} would have a path longer than ${MAX_PATH_BYTES} bytes`);
          break;
        }
        const bytes = enc.encode(`Subject: planted by snap drill (seed ${input.seed})\n\nThis file was not in the signed snapshot.\n`);
        add({ kind, path, paths: [path], detail: `new file (${bytes.length} bytes)`, edit: { op: 'create', path, bytes } });
        break;
      }
      case 'lookalike-name': {
        let found: { from: string; to: string; what: string } | undefined;
        for (const f of fileTargets(() => true)) {
          const to = lookalikes(f.path).find((c) => !taken.has(c.path) && fitsOnDisk(c.path) && noEntryAbove(c.path, taken));
          if (to) {
            found = { from: f.path, to: to.path, what: to.what };
            break;
          }
        }
        if (!found) {
          none(kind, `no file name holds a letter with a look-alike (a c e i j o p s x y), or the name with it would be longer than ${MAX_NAME_BYTES} bytes`);
          break;
        }
        add({ kind, path: found.to, paths: [found.from, found.to], detail: `${found.from} → ${found.to} (${found.what})`, edit: { op: 'move', from: found.from, to: found.to } });
        break;
      }
      case 'crlf': {
        const f = fileTargets((x) => x.bytes !== undefined && isText(x.bytes) && bareLf(x.bytes) > 0)[0];
        if (!f) {
          none(kind, 'no text file with LF line ends');
          break;
        }
        const b = f.bytes as Uint8Array;
        add({ kind, path: f.path, paths: [f.path], detail: `${bareLf(b)} LF line ends → CRLF`, edit: { op: 'write', path: f.path, bytes: toCrlf(b) } });
        break;
      }
      case 'trailing-whitespace': {
        const f = fileTargets((x) => x.bytes !== undefined && x.size > 0 && isText(x.bytes))[0];
        if (!f) {
          none(kind, 'no non-empty text file');
          break;
        }
        const b = f.bytes as Uint8Array;
        let at = b.length;
        while (at > 0 && (b[at - 1] === 0x0a || b[at - 1] === 0x0d)) at--;
        const bytes = new Uint8Array(b.length + 1);
        bytes.set(b.subarray(0, at));
        bytes[at] = 0x20;
        bytes.set(b.subarray(at), at + 1);
        add({ kind, path: f.path, paths: [f.path], detail: 'a space added at the end of the last line', edit: { op: 'write', path: f.path, bytes } });
        break;
      }
    }
  }
  return { planted, notApplicable };
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** A byte changed as little as looks plausible: a digit to the next digit, a letter's case, else its lowest bit. */
function flipByte(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b === 0x39 ? 0x30 : b + 1;
  if ((b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)) return b ^ 0x20;
  return b ^ 0x01;
}

/** How many `\n` have no `\r` before them. */
function bareLf(b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < b.length; i++) if (b[i] === 0x0a && (i === 0 || b[i - 1] !== 0x0d)) n++;
  return n;
}

function toCrlf(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length + bareLf(b));
  let j = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x0a && (i === 0 || b[i - 1] !== 0x0d)) out[j++] = 0x0d;
    out[j++] = b[i] as number;
  }
  return out;
}

/** The path with one letter replaced by its look-alike: in a folder name first (`spam/` → `ѕpam/`), else in the file name. */
export function lookalike(path: string): { path: string; what: string } | undefined {
  return lookalikes(path)[0];
}

/**
 * Each way of giving the path a look-alike (one per name of the path, in {@link lookalike}'s order:
 * its folders, then the file name; the first such letter of each name), so that the plan can take
 * another when the first is already a path of the dataset or lies under one.
 */
export function lookalikes(path: string): { path: string; what: string }[] {
  const segs = path.split('/');
  const order = [...segs.keys()].slice(0, -1).concat([segs.length - 1]);
  const out: { path: string; what: string }[] = [];
  for (const i of order) {
    const s = segs[i] as string;
    for (let c = 0; c < s.length; c++) {
      const to = LOOKALIKES[s[c] as string];
      if (!to) continue;
      const next = [...segs];
      next[i] = s.slice(0, c) + to + s.slice(c + 1);
      out.push({ path: next.join('/'), what: `"${s[c]}" → U+${(to.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}` });
      break;
    }
  }
  return out;
}

/** The fields of a record that are neither key nor label. */
function featureFields(t: Table, r: RecordTarget, rec: Record<string, unknown>): string[] {
  const names = t.columns ?? Object.keys(rec);
  return names.filter((n) => n !== r.label && !(r.key ?? []).includes(n));
}

function describeRecord(r: RecordTarget, rec: Record<string, unknown>, row: number): string {
  return r.identity === 'key' && r.key ? `record ${keyText(rec, r.key)} (row ${row})` : `row ${row}`;
}

/** What planning needs to know of every record of a table, found in one pass (a record is parsed from its line each time it is read). */
interface Scan {
  /** The labels that can be written into a field, sorted. */
  labels: string[];
  /** Rows (0-based) whose record has a label. */
  labelled: number[];
  /** Rows with a numeric feature (a field that is neither key nor label). */
  numeric: number[];
}

function scanTable(t: Table, r: RecordTarget): Scan {
  const labels = new Set<string>();
  const labelled: number[] = [];
  const numeric: number[] = [];
  for (let i = 0; i < t.length; i++) {
    const rec = recordOf(t, i);
    const l = r.label !== undefined ? labelOf(rec, r.label) : undefined;
    if (l !== undefined) {
      labelled.push(i);
      if (writableField(t, l)) labels.add(l);
    }
    if (featureFields(t, r, rec).some((f) => numericField(t, rec[f]))) numeric.push(i);
  }
  return { labels: [...labels].sort(), labelled, numeric };
}

/** One record attack, or why none applies. */
function planRecord(kind: AttackKind, targets: readonly RecordTarget[], tables: ReadonlyMap<string, Table>, scans: Map<string, Scan>, rng: Rng): Omit<PlannedAttack, 'id'> | string {
  const sets = targets.filter((r) => tables.has(r.path) && r.identity !== 'position');
  if (targets.length === 0) return 'no record files (CSV, TSV or JSONL) in the snapshot';
  if (sets.length === 0) return 'no record file the drill can edit line by line (identity position, or unreadable)';
  const scanOf = (r: RecordTarget, t: Table): Scan => {
    let sc = scans.get(r.path);
    if (!sc) scans.set(r.path, (sc = scanTable(t, r)));
    return sc;
  };
  const options: { r: RecordTarget; t: Table; sc: Scan }[] = [];
  for (const r of sets) {
    const t = tables.get(r.path) as Table;
    const sc = scanOf(r, t);
    const n = t.length;
    const labelled = r.label !== undefined && sc.labels.length >= 2;
    const ok =
      kind === 'record-label-flip' || kind === 'record-duplicate-conflict' ? labelled && n > 0
      : kind === 'record-delete' ? n > 0
      : kind === 'record-inject' ? n > 0
      : n > 0 && sc.numeric.length > 0;
    if (ok) options.push({ r, t, sc });
  }
  if (options.length === 0) {
    if (kind === 'feature-nudge') return 'no record file has a numeric feature';
    if (kind === 'record-label-flip' || kind === 'record-duplicate-conflict') return 'no record file has a label with two or more values';
    return 'no record file has records';
  }
  const { r, t, sc } = rng.pick(options);
  const n = t.length;
  const keyOf = (rec: Record<string, unknown>) => (r.identity === 'key' && r.key ? keyText(rec, r.key) : undefined);
  const base = { path: r.path, paths: [r.path], record: r };
  const write = (bytes: Uint8Array) => ({ op: 'write' as const, path: r.path, bytes });
  switch (kind) {
    case 'record-label-flip':
    case 'record-duplicate-conflict': {
      const i = rng.pick(sc.labelled);
      const rec = recordOf(t, i);
      const from = labelOf(rec, r.label as string) as string;
      const to = rng.pick(sc.labels.filter((l) => l !== from));
      const changed = { ...rec, [r.label as string]: to };
      const key = keyOf(rec);
      if (kind === 'record-label-flip') {
        return { kind, ...base, ...(key ? { key } : {}), row: i + 1, side: 'a', detail: `${describeRecord(r, rec, i + 1)}: label ${from} → ${to}`, edit: write(serializeEdit(t, { replace: i, line: renderRecord(t, changed) })) };
      }
      return { kind, ...base, ...(key ? { key } : {}), row: n + 1, side: 'b', detail: `${describeRecord(r, rec, i + 1)} copied as row ${n + 1} with label ${to} (was ${from})`, edit: write(serializeEdit(t, { append: renderRecord(t, changed) })) };
    }
    case 'record-delete': {
      const i = rng.below(n);
      const rec = recordOf(t, i);
      const key = keyOf(rec);
      return { kind, ...base, ...(key ? { key } : {}), row: i + 1, side: 'a', detail: `${describeRecord(r, rec, i + 1)} deleted`, edit: write(serializeEdit(t, { remove: i })) };
    }
    case 'record-inject': {
      const i = rng.below(n);
      const rec = { ...recordOf(t, i) };
      if (r.identity === 'key' && r.key) for (const k of r.key) rec[k] = freshValue(t, k, rec[k]);
      else {
        const f = featureFields(t, r, rec)[0];
        if (f === undefined) return 'no record file has a field besides its key and label';
        rec[f] = typeof rec[f] === 'string' ? `${String(rec[f])} (planted)` : `planted`;
      }
      const key = keyOf(rec);
      return { kind, ...base, ...(key ? { key } : {}), row: n + 1, side: 'b', detail: `new record${key ? ` ${key}` : ''} appended as row ${n + 1}`, edit: write(serializeEdit(t, { append: renderRecord(t, rec) })) };
    }
    default: {
      // feature-nudge
      const i = rng.pick(sc.numeric);
      const rec = recordOf(t, i);
      const f = rng.pick(featureFields(t, r, rec).filter((x) => numericField(t, rec[x])));
      const old = rec[f];
      const now = nudge(old);
      const key = keyOf(rec);
      return { kind, ...base, ...(key ? { key } : {}), row: i + 1, side: 'a', detail: `${describeRecord(r, rec, i + 1)}: ${f} ${String(old)} → ${String(now)}`, edit: write(serializeEdit(t, { replace: i, line: renderRecord(t, { ...rec, [f]: now }) })) };
    }
  }
}

function numericField(t: Table, v: unknown): boolean {
  if (t.format === 'jsonl') return typeof v === 'number' && Number.isFinite(v);
  return typeof v === 'string' && NUMBER.test(v);
}

/**
 * A value nudged by a tiny amount: digits appended to a decimal's fraction, or a millionth of it
 * added to a JSON number (taken away when adding would leave the finite doubles: JSON.stringify
 * writes Infinity as null, which is not the nudge the report names).
 */
function nudge(v: unknown): unknown {
  if (typeof v === 'string') return v.includes('.') ? v + NUDGE_DIGITS : `${v}.${NUDGE_DIGITS}`;
  const x = v as number;
  const d = x === 0 ? 1e-6 : Math.abs(x) * 1e-6;
  const y = Number.isFinite(x + d) ? x + d : x - d;
  return y !== x ? y : Number.isFinite(x + 1) && x + 1 !== x ? x + 1 : x - 1;
}

/** A key value no record of the table has: the largest number plus 1,000,000, or the text with `-planted-N`. */
function freshValue(t: Table, field: string, like: unknown): unknown {
  if (typeof like === 'number' || (typeof like === 'string' && /^[0-9]+$/.test(like))) {
    let max = 0;
    for (let i = 0; i < t.length; i++) max = Math.max(max, Number(recordOf(t, i)[field]) || 0);
    return typeof like === 'number' ? max + 1_000_000 : String(max + 1_000_000);
  }
  // Only the values that could collide are kept (not a set of every record's value).
  const prefix = `${String(like)}-planted-`;
  const seen = new Set<string>();
  for (let i = 0; i < t.length; i++) {
    const v = String(recordOf(t, i)[field]);
    if (v.startsWith(prefix)) seen.add(v);
  }
  let n = 1;
  while (seen.has(`${prefix}${n}`)) n++;
  return `${prefix}${n}`;
}
