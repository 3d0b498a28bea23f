/**
 * `verify` names records (docs/DESIGN.md, "Record forensics"): for a modified file that the signed
 * statement indexes, the file on disk is indexed on the fly and compared with the signed index —
 * "train.jsonl: 35 labels flipped (spam → ham), 2 records added" — and a file moved between two label
 * folders of a label-folder set is named as a label flip. Runs only after the manifest was found to
 * match the signature, so the definitions and index digests it uses are trusted.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import ignore from 'ignore';
import { isSnapError } from '../core/errors.js';
import type { RecordSetMember } from '../core/records.js';
import { fileForms } from './canonical.js';
import type { IndexFileOptions } from './index-file.js';
import { indexWorkersFor, RecordIndexPool } from './index-pool.js';
import type { RecordSetSpec } from './config.js';
import { diffIndexFiles } from './diff-index-files.js';
import { RecordDiffCollector, type RecordSetDiff } from './record-report.js';
import { conflictGroups } from './conflicts.js';
import { makeScratchDir, removeWhenDone } from '../io/scratch-dir.js';

/** The part of a verify problem this module reads and extends. */
export interface RecordProblem {
  path: string;
  kind: string;
  expected?: { sha256?: string; size?: number } | object;
  actual?: { sha256?: string; size?: number } | object;
  movedFrom?: string;
  movedTo?: string;
  /** A modified record file: its record diff against the signed index (or why there is none). */
  records?: RecordSetDiff | { error: { code: string; message: string } };
  /**
   * A file moved between label folders of a label-folder set: the label flip (on the extra file and
   * its missing twin) — also on an extra file whose bytes are the signed bytes of its record under
   * another label, where other bytes (a decoy) now are. `contentChanged`: the file's bytes changed
   * too (the only missing file of its record and the only extra one, under another label: `diff`'s
   * modified record with another label).
   */
  label?: { set: string; key: string; from: string; to: string; contentChanged?: true };
}

/**
 * Which record of a label-folder set a dataset path is, for pairing moved files (`nameMoves`).
 * @returns a function giving, for a path in one of `members`' `files` sets and its content digest,
 *   its record — `id`: the set's pattern and the key (the path without its label segment) as one
 *   string; `rank`: the record's fingerprint (§19.3), the order in which `diff` pairs a record's
 *   files — or undefined for any other path, and for a path that could not be a record (a label or
 *   key over its limit)
 */
export function labelFolderRecord(members: readonly RecordSetMember[]): (path: string, sha256: string) => { id: string; rank: string } | undefined {
  const fileSets = members.filter((m) => m.format === 'files').map((m) => ({ m, ig: ignore().add(m.pattern as string) }));
  return (path, sha256) => {
    const set = fileSets.find((s) => s.ig.ignores(path));
    if (!set) return undefined;
    const forms = formsOf(path, set.m.labelSegment as number, sha256);
    return forms ? { id: `${set.m.pattern as string}\0${forms.key as string}`, rank: sha256Hex(forms.canonical) } : undefined;
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

/**
 * Add record findings to verify's problems, in place. Never throws for a record file that cannot
 * be read or indexed: the problem gets `records.error` instead (the file is reported as modified
 * anyway).
 * @param objectDirs `objects/sha256` folders that may hold the signed index objects
 * @param opts.jobs at most this many modified record files are indexed at once (default: the cores)
 */
export async function attachRecordFindings(problems: RecordProblem[], members: readonly RecordSetMember[], dir: string, objectDirs: readonly string[], opts: { jobs?: number } = {}): Promise<void> {
  const tabular = new Map(members.filter((m) => m.path !== undefined).map((m) => [m.path as string, m]));
  let tmp: string | undefined;
  let removeTmp: (() => Promise<void>) | undefined;
  let pool: RecordIndexPool | undefined;
  try {
    // First what to index (every modified record file whose signed index is here), then the
    // indexes built at once (several files at a time: `index-pool.ts`), then each compared.
    const jobs: { p: RecordProblem; m: RecordSetMember; obj: string; out: string; spec: RecordSetSpec; options: IndexFileOptions; size: number }[] = [];
    for (const p of problems) {
      const m = p.kind === 'modified' ? tabular.get(p.path) : undefined;
      if (!m) continue;
      const obj = objectDirs.map((d) => join(d, m.index.sha256.slice(0, 2), m.index.sha256.slice(2))).find((x) => existsSync(x));
      if (!obj) {
        p.records = { error: { code: 'OBJECT_MISSING', message: `the signed record index ${m.index.sha256.slice(0, 12)}… is not in the store` } };
        continue;
      }
      if (tmp === undefined) {
        tmp = await makeScratchDir('snap-verify-records-');
        removeTmp = removeWhenDone(tmp);
      }
      const out = join(tmp, `index-${problems.indexOf(p)}`);
      const spec: RecordSetSpec = { format: m.format, identity: m.identity, ...(m.key ? { key: m.key } : {}), ...(m.label !== undefined ? { label: m.label } : {}) };
      const actual = p.actual as { sha256?: string; size?: number } | undefined;
      const options: IndexFileOptions = { abs: join(dir, ...m.path!.split('/')), rel: m.path as string, spec, tmpDir: tmp, outPath: out, strictKeys: false, ...(actual?.sha256 ? { expectSha256: actual.sha256 } : {}) };
      jobs.push({ p, m, obj, out, spec, options, size: actual?.size ?? 0 });
    }
    const indexes = jobs.length > 0 ? (pool = new RecordIndexPool(indexWorkersFor(jobs.map((j) => j.size), opts.jobs))) : undefined;
    const built = jobs.map((j) => (indexes as RecordIndexPool).index(j.options));
    for (const [i, { p, m, obj, out, spec }] of jobs.entries()) {
      try {
        await built[i];
        const labelled = m.label !== undefined;
        const xa = { identity: m.identity, labelled, name: m.path as string, sha256: m.index.sha256, count: m.count };
        const xb = { identity: m.identity, labelled, name: m.path as string };
        const c = new RecordDiffCollector(m.identity);
        const { counts, candidates } = await diffIndexFiles({ path: obj, x: xa }, { path: out, x: xb }, m.identity, c);
        const conflicts = [...(await conflictGroups(obj, xa, 'a', candidates.a)), ...(await conflictGroups(out, xb, 'b', candidates.b))];
        p.records = c.report({ name: m.path as string, ...spec }, counts, conflicts);
      } catch (e) {
        if (!isSnapError(e)) throw e;
        p.records = { error: { code: e.code, message: e.message } };
      }
    }
  } finally {
    await pool?.close(); // before the scratch folder goes: a worker still reading writes into it
    await removeTmp?.();
  }
  // Label folders: a file that moved from one label folder to another, same name, same bytes.
  const fileSets = members.filter((m) => m.format === 'files').map((m) => ({ m, ig: ignore().add(m.pattern as string) }));
  if (fileSets.length === 0) return;
  /** The first `files` set whose pattern takes the path, as the seal assigned it. */
  const setOf = (path: string) => fileSets.find((x) => x.ig.ignores(path));
  // Missing files by path, to give the twin its label (a search per move was quadratic: 100,000 moves took 95 s).
  const missingAt = new Map(problems.filter((q) => q.kind === 'missing' && q.movedTo !== undefined).map((q) => [q.path, q]));
  for (const p of problems) {
    if (p.kind !== 'extra' || !p.movedFrom) continue;
    const set = fileSets.find((s) => s.ig.ignores(p.path) && s.ig.ignores(p.movedFrom as string));
    if (!set) continue;
    // A path that cannot be a record (its key over MAX_KEY_BYTES once escaped) names no flip; it is still reported.
    const to = formsOf(p.path, set.m.labelSegment as number);
    const from = formsOf(p.movedFrom, set.m.labelSegment as number);
    if (!to || !from || to.key !== from.key || to.label === from.label) continue;
    p.label = { set: set.m.pattern as string, key: keyName(to), from: from.label as string, to: to.label as string };
    const src = missingAt.get(p.movedFrom);
    if (src) src.label = p.label;
  }
  // Files of a set whose bytes changed, by record and signed content: where a moved file's source may be,
  // when a decoy was written in its place (diff names that flip, and the decoy as an added record).
  const record = (path: string, digest: { sha256?: string; size?: number } | object | undefined) => {
    const d = digest as { sha256?: string; size?: number } | undefined;
    const set = d?.sha256 === undefined ? undefined : setOf(path);
    const forms = set && formsOf(path, set.m.labelSegment as number);
    return set && forms ? { set, forms, id: `${set.m.pattern as string}\0${forms.key as string}\0${d?.sha256} ${d?.size}` } : undefined;
  };
  const changedBySignedContent = new Map<string, RecordProblem[]>();
  for (const q of problems) {
    const r = q.kind === 'modified' ? record(q.path, q.expected) : undefined;
    if (!r) continue;
    const list = changedBySignedContent.get(r.id);
    if (list) list.push(q);
    else changedBySignedContent.set(r.id, [q]);
  }
  // Extras in the order diff pairs a record's files (by fingerprint), so that both name the same flip.
  const rank = (p: RecordProblem) => {
    const set = setOf(p.path);
    const forms = set && formsOf(p.path, set.m.labelSegment as number, (p.actual as { sha256?: string } | undefined)?.sha256);
    return forms ? sha256Hex(forms.canonical) : '';
  };
  const extras = changedBySignedContent.size === 0 ? [] : problems.filter((p) => p.kind === 'extra' && !p.label).map((p) => ({ p, r: rank(p) }));
  extras.sort((x, y) => (x.r < y.r ? -1 : x.r > y.r ? 1 : 0));
  for (const { p } of extras) {
    // An extra file named as moved from another record (same bytes by chance) may still be this one.
    const r = record(p.path, p.actual);
    const q = r && changedBySignedContent.get(r.id)?.shift();
    const from = q && formsOf(q.path, r.set.m.labelSegment as number);
    if (!r || !from || from.label === r.forms.label) continue;
    p.label = { set: r.set.m.pattern as string, key: keyName(r.forms), from: from.label as string, to: r.forms.label as string };
  }
  // A file moved to another label folder and edited: its record's only missing file and only extra
  // one, under two labels (diff pairs them as one modified record whose label changed).
  const byRecord = new Map<string, { set: (typeof fileSets)[number]; missing: RecordProblem[]; extra: RecordProblem[] }>();
  for (const p of problems) {
    if (p.kind !== 'missing' && p.kind !== 'extra') continue;
    const set = setOf(p.path);
    const forms = set && formsOf(p.path, set.m.labelSegment as number);
    if (!set || !forms) continue;
    const id = `${set.m.pattern as string}\0${forms.key as string}`;
    let g = byRecord.get(id);
    if (!g) byRecord.set(id, (g = { set, missing: [], extra: [] }));
    g[p.kind].push(p);
  }
  for (const g of byRecord.values()) {
    const [from, to] = [g.missing[0], g.extra[0]];
    if (g.missing.length !== 1 || g.extra.length !== 1 || !from || !to || from.label || to.label) continue;
    const a = formsOf(from.path, g.set.m.labelSegment as number);
    const b = formsOf(to.path, g.set.m.labelSegment as number);
    if (!a || !b || a.label === b.label) continue;
    const label = { set: g.set.m.pattern as string, key: keyName(b), from: a.label as string, to: b.label as string, contentChanged: true as const };
    from.label = label;
    to.label = label;
  }
}
