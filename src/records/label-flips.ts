/**
 * Moves and label flips among verify's problems (docs/FORMAT.md §19.8), from the problems alone:
 * their paths and content digests, and the signed `files` record sets (pattern and label segment).
 * Pure (no I/O), so that every verify names them the same way from the same differences: a folder's
 * verify, a verify of a dataset in S3, and `verify --merge` over the shard reports of a split verify.
 */
import { createHash } from 'node:crypto';
import ignore from 'ignore';
import { isSnapError } from '../core/errors.js';
import { compareUtf8 } from '../core/paths.js';
import type { RecordSetMember } from '../core/records.js';
import { fileForms } from './canonical.js';
import type { IndexEntry } from './index-line.js';
import { pairLeftovers, type RecordDiffCounts, type RecordDiffSink } from './record-diff.js';

/** A `files` record set as the naming of label flips needs it: its pattern and its label's path segment (0-based). */
export interface LabelFolderSet {
  pattern: string;
  labelSegment: number;
  /**
   * The dataset paths of the statement's tabular record sets that this set's pattern takes (it the
   * first of the statement's order that does), sorted (UTF-8 bytes): files a table rule put first
   * carved out of it (docs/FORMAT.md §19.1). Each is a record set of its own, whose records carry
   * the labels of their label field, not of the folder; so none is a sample of this set, and one
   * moved to another label folder is no label flip (diff: its records removed, the new table's
   * added). Absent when there are none.
   */
  tables?: string[];
}

/** A label flip (see {@link LabelProblem.label}). */
export interface LabelFlip {
  set: string;
  key: string;
  from: string;
  to: string;
  contentChanged?: true;
}

/** The part of a verify problem this module reads and extends. */
export interface LabelProblem {
  path: string;
  kind: string;
  expected?: { sha256?: string; size?: number } | object;
  actual?: { sha256?: string; size?: number } | object;
  /** For an extra file: the missing path that had exactly this content. */
  movedFrom?: string;
  /** For a missing file: the extra path that now has exactly its content. */
  movedTo?: string;
  /**
   * A record of a label-folder set that `diff` pairs under another label ({@link nameLabelFlips}):
   * the label flip, on the file where the record is now (an extra file, or a `modified` one it was
   * moved over) and on its source when that is missing or a link now (`type-changed`) — also on an extra file whose bytes are the
   * signed bytes of its record under another label, where other bytes (a decoy) now are.
   * `contentChanged`: the file's bytes changed too (`diff`'s modified record with another label).
   */
  label?: LabelFlip;
}

/**
 * The `files` sets of a statement's record sets, in their order (the first whose pattern takes a
 * path is its set, as the seal assigned it), each with the statement's tabular files its pattern
 * takes ({@link LabelFolderSet.tables}): a file is in its own tabular set first (§19.1), as `diff`
 * and `check` put it.
 */
export function labelFolderSets(members: readonly RecordSetMember[] | undefined): LabelFolderSet[] {
  const sets: LabelFolderSet[] = (members ?? []).filter((m) => m.format === 'files').map((m) => ({ pattern: m.pattern as string, labelSegment: m.labelSegment as number }));
  if (sets.length === 0) return sets;
  const setOf = labelFolderSetOf(sets);
  const tables = (members ?? []).filter((m) => m.format !== 'files' && m.path !== undefined).map((m) => m.path as string).sort(compareUtf8);
  for (const path of tables) {
    const set = setOf(path);
    if (set) (set.tables ??= []).push(path);
  }
  return sets;
}

/**
 * The label-folder set of a dataset path as verify names flips: none for one of the sets' `tables`
 * (a record set of its own, §19.1), else the first of `sets` whose pattern takes it ({@link labelFolderSetOf}).
 */
function sampleSetOf(sets: readonly LabelFolderSet[]): (path: string) => LabelFolderSet | undefined {
  const setOf = labelFolderSetOf(sets);
  const tables = new Set(sets.flatMap((s) => s.tables ?? []));
  return tables.size === 0 ? setOf : (path) => (tables.has(path) ? undefined : setOf(path));
}

/**
 * The label-folder set a reader of a statement puts a dataset path in (docs/FORMAT.md §19.6): the
 * first of `sets`, in the order given — the statement's, sorted by pattern — whose pattern
 * (gitignore syntax) matches it; undefined when none does. The one matcher of `diff`, `verify` and
 * `check`, and of the seal's check that its own assignment (the first rule in `snap.json` order)
 * is this one (seal-records.ts).
 * @param sets label-folder sets (or their definitions), each with its `pattern`
 * @returns a function from a dataset path to its set
 */
export function labelFolderSetOf<T extends { pattern: string }>(sets: readonly T[]): (path: string) => T | undefined {
  const compiled = sets.map((m) => ({ m, ig: ignore().add(m.pattern) }));
  return (path) => compiled.find((x) => x.ig.ignores(path))?.m;
}

/**
 * Which record of a label-folder set a dataset path is, for pairing moved files (`nameMoves`).
 * @returns a function giving, for a path in one of `sets` and its content digest, its record —
 *   `id`: the set's pattern and the key (the path without its label segment) as one string;
 *   `rank`: the record's fingerprint (§19.3), the order in which `diff` pairs a record's files — or
 *   undefined for any other path, and for a path that could not be a record (a label or key over
 *   its limit)
 */
export function labelFolderRecord(sets: readonly LabelFolderSet[]): (path: string, sha256: string) => { id: string; rank: string } | undefined {
  const setOf = sampleSetOf(sets);
  return (path, sha256) => {
    const set = setOf(path);
    if (!set) return undefined;
    const forms = formsOf(path, set.labelSegment, sha256);
    return forms ? { id: `${set.pattern}\0${forms.key as string}`, rank: sha256Hex(forms.canonical) } : undefined;
  };
}

/** The key of a `files` record's forms as a label flip names it: the path without its label segment. */
function keyName(forms: NonNullable<ReturnType<typeof fileForms>>): string {
  return (JSON.parse(forms.key as string) as string[])[0] as string;
}

/** SHA-256 of a text's UTF-8 bytes, hex: a record's fingerprint (§19.3). */
function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The record forms of a `files` set's path (its key and label; its fingerprint only with its real `sha256`), or undefined when it is none. */
function formsOf(path: string, labelSegment: number, sha256 = '0'.repeat(64)): ReturnType<typeof fileForms> {
  try {
    return fileForms(path, sha256, labelSegment);
  } catch (e) {
    if (isSnapError(e)) return undefined; // a label or key over its limit: no record of the set
    throw e;
  }
}

/** A problem as {@link nameMoves} reads it: a file's digest is `{sha256, size}`. */
type MoveProblem = LabelProblem & { expected?: object; actual?: object };

/**
 * Pair each missing file with an extra file of exactly the same content (SHA-256 and size): a move.
 * Sets `movedTo` on the missing file and `movedFrom` on the extra one, in place; problems already
 * paired are left as they are. Of several files with one content, missing and extra files are
 * paired in the order of `problems` (verify passes them in path order).
 * @param sameRecord when given, a pairing hint: for a path in a label-folder set with the given
 *   content, its record (`id`: its set and key, the path without its label segment) and its `rank`
 *   (the record's fingerprint, docs/FORMAT.md §19.3), or undefined. Files with the same content and
 *   the same record are paired first, extras in rank order — as `diff` pairs a record's files, so
 *   that both name the same flip (of two identical files moved to two label folders, each is
 *   paired with its own source; of one file copied to several, the same copy); the rest are paired
 *   by content alone, in problem order.
 */
export function nameMoves(problems: MoveProblem[], sameRecord?: (path: string, sha256: string) => { id: string; rank: string } | undefined): void {
  const digestOf = (p: MoveProblem) => (p.kind === 'missing' ? p.expected : p.actual) as { sha256?: string; size?: number } | undefined;
  const content = (p: MoveProblem) => {
    const d = digestOf(p);
    return d?.sha256 === undefined ? undefined : `${d.sha256} ${d.size}`;
  };
  const pair = (key: (p: MoveProblem) => string | undefined, extras: MoveProblem[]) => {
    // The missing files of each key, in order, and how many of them are paired already: taken by
    // position, not shift() — which copies the rest of a long list each time, so that 300,000
    // files of one content (a folder of empty files renamed) took 40 CPU-seconds to pair, and now take under one.
    const missing = new Map<string, { list: MoveProblem[]; next: number }>();
    for (const p of problems) {
      if (p.kind !== 'missing' || p.movedTo !== undefined) continue;
      const k = key(p);
      if (k === undefined) continue;
      const q = missing.get(k);
      if (q) q.list.push(p);
      else missing.set(k, { list: [p], next: 0 });
    }
    if (missing.size === 0) return;
    for (const p of extras) {
      if (p.movedFrom !== undefined) continue;
      const k = key(p);
      const q = k === undefined ? undefined : missing.get(k);
      const from = q && q.next < q.list.length ? q.list[q.next++] : undefined;
      if (from) {
        p.movedFrom = from.path;
        from.movedTo = p.path;
      }
    }
  };
  const extras = problems.filter((p) => p.kind === 'extra' && content(p) !== undefined);
  if (sameRecord) {
    const records = new Map<MoveProblem, { id: string; rank: string }>();
    for (const p of problems) {
      const sha = (p.kind === 'missing' || p.kind === 'extra') && content(p) !== undefined ? (digestOf(p)?.sha256 as string) : undefined;
      const r = sha === undefined ? undefined : sameRecord(p.path, sha);
      if (r) records.set(p, r);
    }
    const ranked = extras.filter((p) => records.has(p)).sort((x, y) => compareUtf8((records.get(x) as { rank: string }).rank, (records.get(y) as { rank: string }).rank));
    pair((p) => {
      const r = records.get(p);
      const c = content(p);
      return r === undefined || c === undefined ? undefined : `${c} ${r.id}`;
    }, ranked);
  }
  pair(content, extras);
}

/**
 * Name the label flips of label-folder sets among verify's problems, in place (`label` on the
 * problems concerned; docs/FORMAT.md §19.8), as `diff` pairs the records of a key
 * ({@link pairLeftovers} with identity `path`: by label first, then by content, then as modified).
 *
 * The problems of one record of a set (same set, same key: one file name under several label
 * folders) are the records diff pairs after its unchanged ones (a file whose bytes and path stayed
 * is no problem): A's are its missing and `modified` files with their signed bytes, B's its extra
 * and `modified` files with their bytes now — a `type-changed` file signed as a file (a link or a
 * special file now) is one of A's, as a missing one: diff reads no record from a link. Each pairing
 * of two labels is named:
 *
 * - a **flip** (the same bytes under another label) — also where the old label's path now holds
 *   other bytes (a decoy), and where the new label's path held other bytes (a `modified` file:
 *   the file moved over one of its name, whose own record moved on or left);
 * - a **modified** record whose label changed (`contentChanged`: its bytes changed too).
 *
 * The label goes on the problem of B's record (an extra or a `modified` file: where the file is
 * now), and on that of A's record when it is a missing or `type-changed` file (its twin: no record
 * is there now); a `modified` file is never
 * labelled for the record that left it, as it names what it now holds. Files paired with no other
 * label (removed, added, modified in place) get none. Problems that are not files of a set, or
 * whose digest is not known (links, unreadable files), are no records here, as diff reads none.
 * Pass problems in path order, as every verify does (their order decides nothing: diff's index
 * order, by fingerprint within a key, does).
 */
export function nameLabelFlips(problems: LabelProblem[], sets: readonly LabelFolderSet[]): void {
  if (sets.length === 0) return;
  // A tabular file of the statement is no sample of a set whose pattern takes it (§19.1).
  const setOf = sampleSetOf(sets);
  type Side = { entry: IndexEntry; problem: LabelProblem; key: string };
  const records = new Map<string, { set: LabelFolderSet; a: Side[]; b: Side[] }>();
  const add = (p: LabelProblem, side: 'a' | 'b', digest: LabelProblem['expected']) => {
    const sha256 = (digest as { sha256?: string } | undefined)?.sha256;
    const set = sha256 === undefined ? undefined : setOf(p.path);
    // A path that cannot be a record (its key over MAX_KEY_BYTES once escaped) names no flip; it is still reported.
    const forms = set && formsOf(p.path, set.labelSegment, sha256);
    if (!set || !forms) return;
    const id = `${set.pattern}\0${forms.key as string}`;
    let r = records.get(id);
    if (!r) records.set(id, (r = { set, a: [], b: [] }));
    r[side].push({ entry: { features: forms.features, fingerprint: sha256Hex(forms.canonical), key: forms.key as string, label: forms.label as string, row: 0 }, problem: p, key: keyName(forms) });
  };
  for (const p of problems) {
    if (p.kind === 'modified' && (p.expected as { sha256?: string } | undefined)?.sha256 === (p.actual as { sha256?: string } | undefined)?.sha256) continue;
    // A file replaced by a link (or a special file) is its signed record gone, as a missing file is:
    // diff reads no record from a link. Its `expected` has the signed bytes. A link signed and now
    // a file is a record of B with the bytes verify read (`actual`: a file moved over the link),
    // and of neither side when they could not be read.
    if (p.kind === 'missing' || p.kind === 'modified' || p.kind === 'type-changed') add(p, 'a', p.expected);
    if (p.kind === 'extra' || p.kind === 'modified' || p.kind === 'type-changed') add(p, 'b', p.actual);
  }
  const byFingerprint = (x: Side, y: Side) => (x.entry.fingerprint < y.entry.fingerprint ? -1 : x.entry.fingerprint > y.entry.fingerprint ? 1 : 0);
  const none = () => {};
  for (const r of records.values()) {
    if (r.a.length === 0 || r.b.length === 0) continue;
    // Diff's index order within a key: by fingerprint (§19.5).
    r.a.sort(byFingerprint);
    r.b.sort(byFingerprint);
    const sideOf = new Map<IndexEntry, Side>([...r.a, ...r.b].map((x) => [x.entry, x]));
    const name = (ea: IndexEntry, eb: IndexEntry, contentChanged: boolean) => {
      const a = sideOf.get(ea) as Side;
      const b = sideOf.get(eb) as Side;
      if (ea.label === eb.label) return;
      const label: LabelFlip = { set: r.set.pattern, key: b.key, from: ea.label as string, to: eb.label as string, ...(contentChanged ? { contentChanged: true as const } : {}) };
      b.problem.label = label;
      if (a.problem.kind === 'missing' || a.problem.kind === 'type-changed') a.problem.label = label;
    };
    const sink: RecordDiffSink = { flipped: (ea, eb) => name(ea, eb, false), modified: (ea, eb) => name(ea, eb, true), added: none, removed: none, duplicate: none };
    const counts: RecordDiffCounts = { a: 0, b: 0, unchanged: 0, added: 0, removed: 0, modified: 0, flipped: 0, duplicatesA: 0, duplicatesB: 0, labelsA: {}, labelsB: {} };
    pairLeftovers(
      r.a.map((x) => x.entry),
      r.b.map((x) => x.entry),
      counts,
      sink,
      none,
      none,
      'path',
    );
  }
}

/**
 * Name moves and label flips among verify's problems from scratch, as a folder's verify names them
 * (its record diffs of tabular files aside): any `movedFrom`, `movedTo` and `label` they carry is
 * dropped, the problems are sorted by path (UTF-8 bytes, the order verify reports them in), and
 * {@link nameMoves} (with the record hint when there are `sets`) and {@link nameLabelFlips} run
 * over all of them. For verify of a dataset in S3 (whose objects are read in parallel, in no fixed
 * order) and `verify --merge` (whose shards each paired only their own files).
 */
export function nameMovesAndFlips(problems: LabelProblem[], sets: readonly LabelFolderSet[]): void {
  for (const p of problems) {
    delete p.movedFrom;
    delete p.movedTo;
    delete p.label;
  }
  problems.sort((a, b) => compareUtf8(a.path, b.path));
  nameMoves(problems, sets.length > 0 ? labelFolderRecord(sets) : undefined);
  nameLabelFlips(problems, sets);
}
