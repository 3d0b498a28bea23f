/**
 * The ground truth and the generators of the record differential tests (test/records/diff-differential.test.ts,
 * test/records/check-differential.test.ts): random CSV, JSONL, Parquet and label-folder record sets,
 * random edits, files written in random but equivalent forms, and the record diff a ground truth
 * computes for them from docs/FORMAT.md §19.3–19.5, written again independently of snap's code.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { Rng } from '../../src/drill/rng.js';
/** A parsed `--json` document. */
export type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
/** A JSON value as the generators make it. */
export type Val = string | number | boolean | null | Val[] | { [k: string]: Val };
/** A record: its logical values by column. */
export type Rec = Record<string, Val>;

// ------------------------------------------------------------------ the truth: RFC 8785 and §19.3–19.5, written again

/** RFC 8785 serialization of the values these tests make (finite or not-a-number numbers never reach it as such). */
function jcs(v: Val): string {
  if (v === null || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error('not JSON');
    return Object.is(v, -0) ? '0' : String(v); // ECMAScript Number::toString, RFC 8785 §3.2.2.3
  }
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(jcs).join(',')}]`;
  return `{${Object.keys(v)
    .sort() // UTF-16 code units, RFC 8785 §3.2.3
    .map((k) => `${JSON.stringify(k)}:${jcs(v[k] as Val)}`)
    .join(',')}}`;
}
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
/** Order of UTF-8 bytes (snap's order of keys and names). */
export const utf8Order = (x: string, y: string) => Buffer.compare(Buffer.from(x), Buffer.from(y));

type Identity = 'key' | 'features' | 'position' | 'path';
/** A record as the truth sees it: what an index line holds. */
export interface Entry {
  id: string; // identity as sortable text
  key: unknown; // as diff --json shows it
  fingerprint: string;
  features: string;
  label?: string;
  row: number;
}

/** A label value as text (FORMAT §19.3): a string as is, a number or boolean as its RFC 8785 text. */
export const labelText = (v: Val | undefined): string => {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return jcs(v);
  throw new Error('a label the generator should not make');
};

function entries(canon: Rec[], identity: Identity, key: string[], label: string | undefined): Entry[] {
  return canon.map((obj, i) => {
    const feat: Rec = { ...obj };
    for (const k of key) delete feat[k];
    if (label !== undefined) delete feat[label];
    const features = sha(jcs(feat));
    const fingerprint = sha(jcs(obj));
    const keyArr = key.map((k) => obj[k] as Val);
    const row = i + 1;
    const id = identity === 'key' || identity === 'path' ? jcs(keyArr) : identity === 'features' ? features : String(row).padStart(16, '0');
    const shown = identity === 'key' || identity === 'path' ? keyArr : identity === 'features' ? features : row;
    return { id, key: shown, fingerprint, features, row, ...(label !== undefined ? { label: labelText(obj[label]) } : {}) };
  });
}

const indexOrder = (x: Entry, y: Entry) => utf8Order(x.id, y.id) || (x.fingerprint < y.fingerprint ? -1 : x.fingerprint > y.fingerprint ? 1 : 0) || x.row - y.row;

/** Rows a duplicate group lists: those of its first 10 records in index order (FORMAT §19.8, `rows: [≤ 10]`). */
const LISTED_ROWS = 10;

/** The record diff of one set, as the truth computes it. */
export interface Truth {
  unchanged: number;
  added: Entry[];
  removed: Entry[];
  modified: [Entry, Entry][];
  flipped: [Entry, Entry][];
  /** A removed and an added record of a labelled set with one feature hash and two labels (FORMAT §19.8, `relabelled`). */
  relabelled: [Entry, Entry][];
  duplicates: { side: 'a' | 'b'; identity: string; count: number; rows: number[] }[];
  conflicts: { side: 'a' | 'b'; features: string; labels: Record<string, number> }[];
}

/** The record diff of two sides' entries, as documented. */
export function truthDiff(a: Entry[], b: Entry[], identity: Identity): Truth {
  const t: Truth = { unchanged: 0, added: [], removed: [], modified: [], flipped: [], relabelled: [], duplicates: [], conflicts: [] };
  const group = (list: Entry[]) => {
    const m = new Map<string, Entry[]>();
    for (const e of [...list].sort(indexOrder)) m.set(e.id, [...(m.get(e.id) ?? []), e]);
    return m;
  };
  const ga = group(a);
  const gb = group(b);
  for (const id of [...new Set([...ga.keys(), ...gb.keys()])]) {
    const la = [...(ga.get(id) ?? [])];
    const lb = [...(gb.get(id) ?? [])];
    // equal fingerprints: unchanged, one for one
    const restA: Entry[] = [];
    for (const e of la) {
      const j = lb.findIndex((x) => x.fingerprint === e.fingerprint);
      if (j >= 0) {
        t.unchanged++;
        lb.splice(j, 1);
      } else restA.push(e);
    }
    // identity path (FORMAT §19.4): a key repeats under each label folder that has a file of that
    // name. First, a record of B under a label the key has no record of in A takes the flip of the
    // first record of A (index order) with its content; then records under one label are one
    // record, modified.
    if (identity === 'path') {
      const labelsA = new Set(restA.map((e) => e.label));
      for (const e of [...lb]) {
        if (labelsA.has(e.label)) continue;
        const i = restA.findIndex((x) => x.features === e.features);
        if (i < 0) continue;
        t.flipped.push([restA.splice(i, 1)[0] as Entry, e]);
        lb.splice(lb.indexOf(e), 1);
      }
      for (const e of [...lb]) {
        const i = restA.findIndex((x) => x.label === e.label);
        if (i < 0) continue;
        t.modified.push([restA.splice(i, 1)[0] as Entry, e]);
        lb.splice(lb.indexOf(e), 1);
      }
    }
    // same features: flips
    const restA2: Entry[] = [];
    for (const e of restA) {
      const j = lb.findIndex((x) => x.features === e.features);
      if (j >= 0) t.flipped.push([e, lb.splice(j, 1)[0] as Entry]);
      else restA2.push(e);
    }
    const n = Math.min(restA2.length, lb.length);
    for (let i = 0; i < n; i++) t.modified.push([restA2[i] as Entry, lb[i] as Entry]);
    t.removed.push(...restA2.slice(n));
    t.added.push(...lb.slice(n));
  }
  // relabelled: per feature hash, removed and added records (index order) with equal labels matched
  // first, one to one; the rest paired in order while labels differ. Labelled sets only.
  for (const f of new Set(t.added.map((e) => e.features))) {
    const ra = t.removed.filter((e) => e.features === f && e.label !== undefined).sort(indexOrder);
    const rb = t.added.filter((e) => e.features === f && e.label !== undefined).sort(indexOrder);
    const leftB: Entry[] = [];
    for (const e of rb) {
      const j = ra.findIndex((x) => x.label === e.label);
      if (j >= 0) ra.splice(j, 1);
      else leftB.push(e);
    }
    for (let i = 0; i < Math.min(ra.length, leftB.length); i++) t.relabelled.push([ra[i] as Entry, leftB[i] as Entry]);
  }
  for (const [side, list] of [['a', a], ['b', b]] as const) {
    // duplicates: one identity (for `features`, one fingerprint; for `path`, one key under one label) more than once
    const dup = new Map<string, Entry[]>();
    for (const e of [...list].sort(indexOrder)) {
      if (identity === 'position') continue;
      const k = identity === 'features' ? e.fingerprint : identity === 'path' ? `${e.id}\0${e.label}` : e.id;
      dup.set(k, [...(dup.get(k) ?? []), e]);
    }
    for (const g of dup.values()) {
      if (g.length > 1) t.duplicates.push({ side, identity: identity === 'features' ? (g[0] as Entry).features : (g[0] as Entry).id, count: g.length, rows: g.slice(0, LISTED_ROWS).map((e) => e.row).sort((x, y) => x - y) });
    }
    // conflicts: one feature hash, several labels
    const byF = new Map<string, Record<string, number>>();
    for (const e of list) {
      if (e.label === undefined) continue;
      const c = byF.get(e.features) ?? {};
      c[e.label] = (c[e.label] ?? 0) + 1;
      byF.set(e.features, c);
    }
    for (const [features, labels] of byF) if (Object.keys(labels).length > 1) t.conflicts.push({ side, features, labels });
  }
  return t;
}

// ------------------------------------------------------------------ generators

const CSV_TEXTS = ['', 'a', 'b', 'a,b', 'say "hi"', '"', 'line1\nline2', 'cr\r\nlf', 'lone\rcr', 'ünï', '日本語', '😀', ' pad ', '1.0', '1', '01', 'x y', '\t'];
const LABELS = ['spam', 'ham', 'x, y', ' sp', 'é', '"q"'];
const NUMBERS = [0, -0, 1, 2, 10, 100, 0.5, 1.5, -3, 1e21, 1e-7, 0.1, 0.30000000000000004, 123456789];

function csvText(rng: Rng): string {
  const n = rng.below(3);
  let s = '';
  for (let i = 0; i < n; i++) s += rng.pick(CSV_TEXTS);
  return s;
}
function jsonValue(rng: Rng, depth = 0): Val {
  const r = rng.below(depth > 1 ? 4 : 6);
  if (r === 0) return rng.pick(NUMBERS);
  if (r === 1) return csvText(rng);
  if (r === 2) return rng.pick([true, false, null]);
  if (r === 3) return String(rng.pick(NUMBERS)); // "1" beside 1
  if (r === 4) return Array.from({ length: rng.below(3) }, () => jsonValue(rng, depth + 1));
  const o: Rec = {};
  for (let i = rng.below(3); i > 0; i--) o[rng.pick(['a', 'b', 'é', 'z', 'A'])] = jsonValue(rng, depth + 1);
  return o;
}

type Format = 'csv' | 'jsonl' | 'parquet';
interface PqCol {
  name: string;
  type: 'STRING' | 'INT32' | 'DOUBLE' | 'BOOLEAN';
  nullable: boolean;
}
/** A tabular record set: its rule and its records, logical values (what each format's canonical form makes of them). */
export interface TabSet {
  path: string;
  format: Format;
  key: string[];
  label: string;
  identity: 'key' | 'features' | 'position';
  cols: string[];
  /**
   * The order its files list the columns in, the same for A and B: the order of a CSV or Parquet
   * file's columns is signed and compared (FORMAT §19.11: a reorder is a `maxTypeChanges` change,
   * `test/cli/records-column-order.test.ts`), so it is not one of the equivalent forms written here.
   * A JSONL line writes its members in this order; the set's columns are then {@link jsonlColumns},
   * which edits of its records may change (a first record deleted, one added with a member more).
   */
  order: string[];
  pq?: PqCol[];
  /** The rule names no label: the label column is one more feature. */
  unlabelled?: true;
}

let serial = 0;
/** A key value no other record of the case has (a serial number in a format's spelling). */
export function freshKeyValue(rng: Rng, s: TabSet, col: string): Val {
  const n = ++serial;
  if (s.format === 'csv') return `${rng.pick(['', 'k', 'a,b', 'q"', 'é', ' ', '\n'])}${n}`;
  if (s.format === 'parquet') return s.pq?.find((c) => c.name === col)?.type === 'INT32' ? n : `${rng.pick(['', 'k', 'é'])}${n}`;
  return rng.pick([n, `${n}`, `k${n}`, n + 0.5]);
}
function fieldValue(rng: Rng, s: TabSet, col: string): Val {
  if (s.format === 'csv') return csvText(rng);
  if (s.format === 'jsonl') return jsonValue(rng);
  const c = s.pq?.find((x) => x.name === col) as PqCol;
  if (c.nullable && rng.below(5) === 0) return null;
  if (c.type === 'STRING') return csvText(rng);
  if (c.type === 'INT32') return rng.below(5) - 2;
  if (c.type === 'BOOLEAN') return rng.below(2) === 0;
  return rng.pick([...NUMBERS, NaN, Infinity, -Infinity]);
}
/** A label from {@link LABELS} (JSONL: now and then a number, a boolean or a string that spells one). */
export function labelValue(rng: Rng, s: TabSet): Val {
  if (s.format === 'jsonl' && rng.below(4) === 0) return rng.pick([1, '1', 0, true, 'true']);
  return rng.pick(LABELS);
}
/** A new record of a set: fresh key values, a label, random features (JSONL: some members left out). */
export function newRecord(rng: Rng, s: TabSet): Rec {
  const r: Rec = {};
  for (const c of s.cols) {
    if (s.key.includes(c)) r[c] = freshKeyValue(rng, s, c);
    else if (c === s.label) r[c] = labelValue(rng, s);
    else if (s.format === 'jsonl' && rng.below(6) === 0) continue; // a member some records lack
    else r[c] = fieldValue(rng, s, c);
  }
  return r;
}

/** The canonical object of a record (§19.3): Parquet's NaN, infinities and a float's -0 are strings (an INT32 has no -0). */
function canonical(s: TabSet, r: Rec): Rec {
  if (s.format !== 'parquet') return r;
  const o: Rec = {};
  for (const c of s.cols) {
    const v = r[c] as Val;
    const float = s.pq?.find((p) => p.name === c)?.type !== 'INT32';
    o[c] = typeof v === 'number' && !Number.isFinite(v) ? (Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity') : float && Object.is(v, -0) ? '-0' : Object.is(v, -0) ? 0 : v;
  }
  return o;
}

// ------------------------------------------------------------------ writing the files, in random (but equivalent) forms

function csvField(rng: Rng, v: string): string {
  const must = /[",\r\n]/.test(v);
  return must || rng.below(4) === 0 ? `"${v.replace(/"/g, '""')}"` : v;
}
function writeCsv(rng: Rng, s: TabSet, rows: Rec[]): Buffer {
  const cols = s.order;
  const eol = rng.pick(['\n', '\r\n']);
  const lines = [cols.map((c) => csvField(rng, c)), ...rows.map((r) => cols.map((c) => csvField(rng, r[c] as string)))].map((l) => l.join(','));
  const text = lines.join(eol) + (rng.below(3) === 0 ? '' : eol);
  return Buffer.from((rng.below(4) === 0 ? '\ufeff' : '') + text);
}

function jsonNumber(rng: Rng, n: number): string {
  const spellings = [jcs(n)];
  // A whole number is written as an integer: `1.0`, `1e0` or `-0.0` is a float, another value than the
  // integer (JSONL form 2, FORMAT §19.3; readers.test.ts and records-jsonl-whole-float.test.ts check
  // those). -0 is the integer 0; other numbers have several spellings.
  if (Object.is(n, -0)) spellings.push('-0');
  else if (!Number.isInteger(n)) spellings.push(n.toExponential(), n.toExponential().replace('e', 'E').replace('+', ''));
  const out = rng.pick(spellings);
  expect(Object.is(JSON.parse(out), n) || jcs(JSON.parse(out)) === jcs(n)).toBe(true);
  return out;
}
function jsonString(rng: Rng, s: string): string {
  const mode = rng.below(3);
  if (mode === 0) return JSON.stringify(s);
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (cp < 0x20 || (mode === 1 && cp > 0x7e) || (mode === 2 && rng.below(3) === 0)) {
      for (let i = 0; i < ch.length; i++) {
        const hex = ch.charCodeAt(i).toString(16).padStart(4, '0');
        out += `\\u${rng.below(2) ? hex.toUpperCase() : hex}`;
      }
    } else if (ch === '/' && rng.below(2) === 0) out += '\\/';
    else out += ch;
  }
  return `${out}"`;
}
function jsonText(rng: Rng, v: Val, names?: string[]): string {
  const ws = () => rng.pick(['', '', ' ', '\t', '  ']);
  if (typeof v === 'number') return jsonNumber(rng, v);
  if (typeof v === 'string') return jsonString(rng, v);
  if (v === null || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${ws()}${v.map((x) => jsonText(rng, x)).join(`${ws()},${ws()}`)}${ws()}]`;
  names ??= rng.shuffle(Object.keys(v));
  return `{${ws()}${names.map((k) => `${jsonString(rng, k)}${ws()}:${ws()}${jsonText(rng, v[k] as Val)}`).join(`${ws()},${ws()}`)}${ws()}}`;
}
/**
 * The columns of a JSONL set's rows as pandas.read_json and snap's column object take them (FORMAT
 * §19.11): top-level member names by first appearance across lines, each line writing its members
 * in the set's {@link TabSet.order} (nested objects' members are shuffled: no reader keeps their order).
 */
export function jsonlColumns(s: TabSet, rows: Rec[]): string[] {
  const seen: string[] = [];
  for (const r of rows) for (const c of s.order) if (Object.prototype.hasOwnProperty.call(r, c) && !seen.includes(c)) seen.push(c);
  return seen;
}
function writeJsonl(rng: Rng, s: TabSet, rows: Rec[]): Buffer {
  const eol = rng.pick(['\n', '\r\n']);
  const text = rows.map((r) => jsonText(rng, r, s.order.filter((c) => Object.prototype.hasOwnProperty.call(r, c)))).join(eol) + (rows.length > 0 && rng.below(3) === 0 ? '' : rows.length > 0 ? eol : '');
  return Buffer.from(text);
}
function writeParquet(rng: Rng, s: TabSet, rows: Rec[]): Buffer {
  const cols = s.order.map((n) => (s.pq as PqCol[]).find((c) => c.name === n) as PqCol);
  const columnData = cols.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable, data: rows.map((r) => r[c.name] ?? null) as Json }));
  return Buffer.from(parquetWriteBuffer({ columnData, rowGroupSize: 1 + rng.below(6), ...(rng.below(2) ? { codec: 'UNCOMPRESSED' as const } : {}) }));
}
function writeSet(rng: Rng, s: TabSet, rows: Rec[]): Buffer {
  return s.format === 'csv' ? writeCsv(rng, s, rows) : s.format === 'jsonl' ? writeJsonl(rng, s, rows) : writeParquet(rng, s, rows);
}

// ------------------------------------------------------------------ a case: a dataset, its edits, and the truth

interface FilesSet {
  pattern: string;
  dir: string; // files are DIR/<label>/<name>
  labels: string[];
}
interface FileRec {
  label: string;
  name: string;
  content: string;
}
/** A random case: its tabular sets (A's and B's records and bytes, what was edited), its label-folder set, its `snap.json`. */
export interface Case {
  seed: number;
  tab: { set: TabSet; a: Rec[]; b: Rec[]; aBytes: Buffer; bBytes: Buffer; log: string[] }[];
  files: { set: FilesSet; a: FileRec[]; b: FileRec[]; log: string[] };
  config: Json;
  /** B's `snap.json` when it is not A's (another `check` member). */
  configB?: Json;
}

/** What a caller adds to the random cases of {@link makeCase}; without it, a case is what it always was for its seed. */
export interface CaseOptions {
  /** The chance that a tabular set's rule names no label. */
  unlabelled?: number;
  /** More edits of B's records after the usual ones; returns what was done. */
  edits?: (rng: Rng, s: TabSet, b: Rec[]) => string[];
}

/** A tabular set: its format, identity, key, columns (and Parquet column types), named `t<i>.<ext>`. */
function makeSet(rng: Rng, i: number): TabSet {
  const format = rng.pick<Format>(['csv', 'jsonl', 'parquet']);
  const keyed = rng.below(3);
  const identity = keyed > 0 ? 'key' : rng.below(3) === 0 ? 'position' : 'features';
  const key = identity === 'key' ? (keyed === 1 ? ['id'] : ['id', 'part']) : [];
  const nf = 1 + rng.below(3);
  const feats = Array.from({ length: nf }, (_, j) => rng.pick(['f', 'é', 'x,y', 'F', 'b"']) + j);
  const cols = [...key, 'label', ...feats];
  const ext = format === 'parquet' ? 'parquet' : format;
  const s: TabSet = { path: `t${i}.${ext}`, format, key, label: 'label', identity, cols, order: rng.below(2) === 0 ? cols : rng.shuffle(cols) };
  if (format === 'parquet') {
    s.pq = cols.map((c) => ({
      name: c,
      type: key.includes(c) ? (rng.below(2) ? 'INT32' : 'STRING') : c === 'label' ? 'STRING' : rng.pick(['STRING', 'DOUBLE', 'INT32', 'BOOLEAN'] as const),
      nullable: !key.includes(c) && c !== 'label' && rng.below(2) === 0,
    }));
  }
  return s;
}

/** Apply random edits to B's records; returns what was done. */
function editRecords(rng: Rng, s: TabSet, b: Rec[]): string[] {
  const log: string[] = [];
  const edits = rng.below(5);
  for (let e = 0; e < edits; e++) {
    const kind = rng.pick(['flip', 'flip', 'feature', 'inject', 'delete', 'reorder', 'dupkey', 'conflict', 'duprow', 'flipfeature']);
    const i = b.length > 0 ? rng.below(b.length) : -1;
    const r = b[i];
    const other = (c: string) => s.cols.filter((x) => x !== c && !s.key.includes(x) && x !== s.label)[0] ?? c;
    if (kind === 'flip' && r) {
      r[s.label] = labelValue(rng, s);
      log.push(`flip row ${i + 1}`);
    } else if ((kind === 'feature' || kind === 'flipfeature') && r) {
      const c = other(s.label);
      r[c] = fieldValue(rng, s, c);
      if (kind === 'flipfeature') r[s.label] = labelValue(rng, s);
      log.push(`${kind} row ${i + 1}`);
    } else if (kind === 'inject') {
      b.splice(rng.below(b.length + 1), 0, newRecord(rng, s));
      log.push('inject');
    } else if (kind === 'delete' && r) {
      b.splice(i, 1);
      log.push(`delete row ${i + 1}`);
    } else if (kind === 'reorder') {
      const sh = rng.shuffle(b);
      b.splice(0, b.length, ...sh);
      log.push('reorder');
    } else if (kind === 'dupkey' && r && s.key.length > 0) {
      const n = newRecord(rng, s);
      for (const k of s.key) n[k] = r[k] as Val;
      b.splice(rng.below(b.length + 1), 0, n);
      log.push(`dupkey of row ${i + 1}`);
    } else if (kind === 'conflict' && r) {
      const n: Rec = { ...r, [s.label]: labelValue(rng, s) };
      for (const k of s.key) n[k] = freshKeyValue(rng, s, k);
      b.splice(rng.below(b.length + 1), 0, n);
      log.push(`conflict of row ${i + 1}`);
    } else if (kind === 'duprow' && r) {
      b.splice(rng.below(b.length + 1), 0, { ...r });
      log.push(`duprow of row ${i + 1}`);
    }
  }
  return log;
}

/**
 * The case of a seed: one to three tabular sets and a label-folder set, A's records, B's after random
 * edits (and `opts.edits`), each side's file bytes in a random form. A case depends on its seed (and `opts`) only.
 */
export function makeCase(seed: number, opts: CaseOptions = {}): Case {
  const rng = new Rng(seed);
  serial = 0; // a case depends on its seed only
  const tab: Case['tab'] = [];
  const nsets = 1 + rng.below(3);
  for (let i = 0; i < nsets; i++) {
    const set = makeSet(rng, i);
    if (opts.unlabelled !== undefined && rng.next() < opts.unlabelled) set.unlabelled = true;
    // mostly small sets; now and then one of hundreds of records, whose index summary has several chunks (§19.10)
    const a = Array.from({ length: rng.below(8) === 0 ? 100 + rng.below(300) : rng.below(7) }, () => newRecord(rng, set));
    // now and then, records of A that are equal in their features (identity `features` keeps them all)
    if (set.identity !== 'key' && a.length > 0 && rng.below(3) === 0) a.push({ ...(a[0] as Rec), ...(rng.below(2) ? { [set.label]: labelValue(rng, set) } : {}) });
    const b = a.map((r) => structuredClone(r));
    const log = editRecords(rng, set, b);
    if (opts.edits) log.push(...opts.edits(rng, set, b));
    const aBytes = writeSet(rng, set, a);
    const same = jcs(a.map((r) => canonical(set, r))) === jcs(b.map((r) => canonical(set, r)));
    const bBytes = same && rng.below(2) === 0 ? aBytes : writeSet(rng, set, b);
    tab.push({ set, a, b, aBytes, bBytes, log });
  }
  // the label-by-folder set
  const fset: FilesSet = { pattern: 'img/*/*', dir: 'img', labels: ['cat', 'dog', 'bird', 'é'] };
  const fa: FileRec[] = [];
  for (let i = rng.below(6); i > 0; i--) fa.push({ label: rng.pick(fset.labels), name: `${rng.pick(['a', 'B', 'é', '日', 'z-'])}${++serial}.txt`, content: `${rng.pick(CSV_TEXTS)}${serial}` });
  const otherLabel = (l: string) => rng.pick(fset.labels.filter((x) => x !== l));
  // Classes that number their files alike (Caltech-101): a file name under a second label, other bytes.
  for (const f of [...fa]) if (rng.below(3) === 0) fa.push({ label: otherLabel(f.label), name: f.name, content: `${rng.pick(CSV_TEXTS)}${++serial}` });
  for (let i = fa.length - 1; i >= 0; i--) if (fa.findIndex((g) => g.label === fa[i]?.label && g.name === fa[i]?.name) !== i) fa.splice(i, 1);
  const fb = fa.map((f) => ({ ...f }));
  const flog: string[] = [];
  for (let e = rng.below(4); e > 0; e--) {
    const kind = rng.pick(['move', 'move', 'edit', 'moveedit', 'add', 'delete', 'copy', 'swap']);
    const i = fb.length > 0 ? rng.below(fb.length) : -1;
    const f = fb[i];
    if ((kind === 'move' || kind === 'moveedit') && f) {
      const to = otherLabel(f.label);
      if (fb.some((g) => g.label === to && g.name === f.name)) continue;
      f.label = to;
      if (kind === 'moveedit') f.content += '!';
      flog.push(`${kind} ${f.name}`);
    } else if (kind === 'edit' && f) {
      f.content += '?';
      flog.push(`edit ${f.name}`);
    } else if (kind === 'add') {
      fb.push({ label: rng.pick(fset.labels), name: `n${++serial}.txt`, content: `new ${serial}` });
      flog.push('add');
    } else if (kind === 'delete' && f) {
      fb.splice(i, 1);
      flog.push(`delete ${f.name}`);
    } else if (kind === 'copy' && f) {
      const to = otherLabel(f.label);
      if (fb.some((g) => g.label === to && g.name === f.name)) continue;
      fb.push({ ...f, label: to });
      flog.push(`copy ${f.name}`);
    } else if (kind === 'swap' && f) {
      // contents swapped between two label folders' files of one name
      const g = fb.find((x) => x.name === f.name && x.label !== f.label);
      if (!g) continue;
      [f.content, g.content] = [g.content, f.content];
      flog.push(`swap ${f.name}`);
    }
  }
  const config = {
    records: [
      ...tab.map(({ set }) => ({ pattern: `/${set.path}`, ...(set.key.length ? { key: set.key } : {}), ...(set.unlabelled ? {} : { label: set.label }), ...(set.identity === 'position' ? { identity: 'position' } : {}) })),
      { pattern: fset.pattern, format: 'files', labelSegment: 1 },
    ],
  };
  return { seed, tab, files: { set: fset, a: fa, b: fb, log: flog }, config };
}

/** The files set's entries: one record per file, in manifest (UTF-8 path) order. */
function fileEntries(files: FileRec[]): Entry[] {
  const paths = files.map((f) => ({ f, path: `img/${f.label}/${f.name}` })).sort((x, y) => utf8Order(x.path, y.path));
  return entries(
    paths.map(({ f }) => ({ label: f.label, path: `img/${f.name}`, sha256: sha(f.content) })),
    'path',
    ['path'],
    'label',
  );
}

/** Write side A's or B's files of a case, and its `snap.json`, into `dir`. */
export async function writeSide(dir: string, c: Case, side: 'a' | 'b'): Promise<void> {
  await fsp.writeFile(join(dir, 'snap.json'), JSON.stringify(side === 'b' && c.configB !== undefined ? c.configB : c.config));
  for (const t of c.tab) await fsp.writeFile(join(dir, t.set.path), side === 'a' ? t.aBytes : t.bBytes);
  for (const f of side === 'a' ? c.files.a : c.files.b) {
    const p = join(dir, 'img', f.label, f.name);
    await fsp.mkdir(dirname(p), { recursive: true });
    await fsp.writeFile(p, f.content);
  }
}

// ------------------------------------------------------------------ comparing snap's answer with the truth

/** A set's record diff as the truth expects it, in the shape of `diff --json` (lists sorted for comparison). */
export function expected(t: Truth) {
  const ref = (e: Entry) => ({ key: e.key, row: e.row, ...(e.label !== undefined ? { label: e.label } : {}), fingerprint: e.fingerprint });
  const side = (e: Entry) => ({ row: e.row, ...(e.label !== undefined ? { label: e.label } : {}), fingerprint: e.fingerprint, features: e.features });
  return {
    summary: {
      unchanged: t.unchanged,
      added: t.added.length,
      removed: t.removed.length,
      modified: t.modified.length,
      flipped: t.flipped.length,
      relabelled: t.relabelled.length,
      labelChanges: t.flipped.length + t.modified.filter(([a, b]) => a.label !== b.label).length + t.relabelled.length,
      duplicates: { a: t.duplicates.filter((d) => d.side === 'a').length, b: t.duplicates.filter((d) => d.side === 'b').length },
      conflicts: { a: t.conflicts.filter((d) => d.side === 'a').length, b: t.conflicts.filter((d) => d.side === 'b').length },
    },
    added: sorted(t.added.map(ref)),
    removed: sorted(t.removed.map(ref)),
    flipped: sorted(t.flipped.map(([a, b]) => ({ key: b.key, from: a.label, to: b.label, a: { row: a.row }, b: { row: b.row } }))),
    relabelled: sorted(t.relabelled.map(([a, b]) => ({ from: a.label, to: b.label, features: a.features, a: { key: a.key, row: a.row }, b: { key: b.key, row: b.row } }))),
    modified: sorted(t.modified.map(([a, b]) => ({ key: b.key, a: side(a), b: side(b), labelChanged: a.label !== b.label }))),
    duplicates: sorted(t.duplicates),
    conflicts: sorted(t.conflicts),
  };
}
/** A copy sorted by JSON text, for comparing lists whose order is not the point. */
export const sorted = <T>(list: T[]): T[] => [...list].sort((x, y) => utf8Order(JSON.stringify(x), JSON.stringify(y)));
/** The same parts of snap's set report. */
function actual(s: Json) {
  const dupKey = (d: Json) => ({ side: d.side, identity: d.identity, count: d.count, rows: d.rows });
  return {
    summary: s.summary,
    added: sorted(s.added),
    removed: sorted(s.removed),
    flipped: sorted(s.flipped),
    relabelled: sorted(s.relabelled),
    modified: sorted(s.modified),
    duplicates: sorted(s.duplicates.map(dupKey)),
    conflicts: sorted(s.conflicts.map((c: Json) => ({ side: c.side, features: c.features, labels: c.labels }))),
  };
}

/** The truth of every set of a case, by set name. */
export function truths(c: Case): Map<string, { truth: Truth; identity: Identity; a: Entry[]; b: Entry[] }> {
  const out = new Map<string, { truth: Truth; identity: Identity; a: Entry[]; b: Entry[] }>();
  for (const t of c.tab) {
    const a = entries(t.a.map((r) => canonical(t.set, r)), t.set.identity, t.set.key, t.set.unlabelled ? undefined : t.set.label);
    const b = entries(t.b.map((r) => canonical(t.set, r)), t.set.identity, t.set.key, t.set.unlabelled ? undefined : t.set.label);
    out.set(t.set.path, { truth: truthDiff(a, b, t.set.identity), identity: t.set.identity, a, b });
  }
  const fa = fileEntries(c.files.a);
  const fb = fileEntries(c.files.b);
  // a label-folder rule that matches no file on either side makes no set
  if (fa.length + fb.length > 0) out.set(c.files.set.pattern, { truth: truthDiff(fa, fb, 'path'), identity: 'path', a: fa, b: fb });
  return out;
}

/** A case as text for a failure message: seed, sets, edits and the first bytes of each file. */
export function describeCase(c: Case): string {
  return JSON.stringify(
    {
      seed: c.seed,
      tab: c.tab.map((t) => ({ set: t.set, log: t.log, a: t.aBytes.toString('utf8').slice(0, 2000), b: t.bBytes.toString('utf8').slice(0, 2000) })),
      files: c.files,
    },
    null,
    1,
  );
}

/** Hold a report's `records.sets` to the truth, set by set (exactly the truth's sets, counts and records). */
export function compareSets(what: string, c: Case, sets: Json[], exp: ReturnType<typeof truths>): void {
  for (const [name, x] of exp) {
    const s = sets.find((y: Json) => y.name === name);
    expect(s, `${what}: set ${name} missing (seed ${c.seed}); sets: ${JSON.stringify(sets.map((y: Json) => y.name))}\n${describeCase(c)}`).toBeDefined();
    expect(actual(s), `${what}: set ${name}, seed ${c.seed}\n${describeCase(c)}`).toEqual(expected(x.truth));
    expect(s.a.records, `${what} ${name} a.records`).toBe(x.a.length);
    expect(s.b.records, `${what} ${name} b.records`).toBe(x.b.length);
  }
  expect(sets.map((s: Json) => s.name).sort()).toEqual([...exp.keys()].sort());
}

/** Sets whose B a seal refuses: duplicate keys (identity key or path). */
export function sealableB(exp: ReturnType<typeof truths>): boolean {
  for (const x of exp.values()) if ((x.identity === 'key' || x.identity === 'path') && x.truth.duplicates.some((d) => d.side === 'b')) return false;
  return true;
}


/**
 * `verify --json` of B against A's snapshot, held to the truth: every tabular file whose bytes
 * changed is one `modified` problem whose `records` name exactly the truth's records (FORMAT §19.8),
 * an unchanged one no problem; and, when the label-folder set's contents are unique (no copies),
 * files moved between label folders are named as flips by key, those edited too with
 * `contentChanged`.
 */
export function compareVerify(v: Json, c: Case, exp: ReturnType<typeof truths>): void {
  const seed = c.seed;
  for (const t of c.tab) {
    const p = v.problems.find((q: Json) => q.path === t.set.path);
    if (t.aBytes.equals(t.bBytes)) {
      expect(p, `verify: ${t.set.path} unchanged, seed ${seed}`).toBeUndefined();
      continue;
    }
    expect(p?.kind, `verify ${t.set.path}, seed ${seed}: ${JSON.stringify(v.problems)}\n${describeCase(c)}`).toBe('modified');
    expect(actual(p.records), `verify: ${t.set.path}, seed ${seed}\n${describeCase(c)}`).toEqual(expected((exp.get(t.set.path) as { truth: Truth }).truth));
  }
  // files moved between label folders (unique contents, no copies) are flips, named by key
  const ft = exp.get(c.files.set.pattern)?.truth ?? truthDiff([], [], 'path');
  const simple = new Set(c.files.a.map((f) => f.content)).size === c.files.a.length && new Set(c.files.b.map((f) => f.content)).size === c.files.b.length && ft.duplicates.length === 0;
  if (simple) {
    const named = v.problems.filter((q: Json) => (q.kind === 'extra' || q.kind === 'modified') && q.label).map((q: Json) => ({ key: q.label.key, from: q.label.from, to: q.label.to, contentChanged: q.label.contentChanged === true }));
    const truthLabels = [
      ...ft.flipped.map(([a, b]) => ({ key: (b.key as string[])[0], from: a.label, to: b.label, contentChanged: false })),
      ...ft.modified.filter(([a, b]) => a.label !== b.label).map(([a, b]) => ({ key: (b.key as string[])[0], from: a.label, to: b.label, contentChanged: true })),
    ];
    expect(sorted(named), `verify label moves, seed ${seed}\n${describeCase(c)}`).toEqual(sorted(truthLabels));
  }
}
