/**
 * `snap drill`: a poisoning drill (docs/FORMAT.md §20). The dataset is copied into a private
 * scratch folder; known changes are planted there in rounds (`plan.ts`, `apply.ts`); after each
 * round the gate a pipeline runs — `verify`, and the record diff and `check` where the snapshot has
 * record sets — is run on the copy, and each planted change counts as caught only when the gate
 * names it (`judge.ts`). The dataset and the store are only read; nothing is logged; the scratch
 * folder is removed at the end, also when the process is interrupted (`io/interrupt.ts`).
 */
import { promises as fsp } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { SnapError, isSnapError, type SnapErrorCode } from '../core/errors.js';
import { ioError } from '../io/errors.js';
import { isSymlinkEntry, ManifestOrder } from '../core/manifest.js';
import { isWellFormed, type RecordSetMember } from '../core/records.js';
import type { TrustedKey } from '../core/envelope.js';
import { manifestLineRuns, parseManifestLine } from '../io/manifest-file.js';
import { MANIFEST_FILE, type SnapshotLocation } from '../io/store.js';
import { checkInterrupted, interruptedBy, interruptedError, leaveNothing } from '../io/interrupt.js';
import { verify, type VerifyReport } from '../ops/verify.js';
import { walkDataset } from '../io/walk.js';
import { diff, objectsDirOf } from '../ops/diff.js';
import { checkRecords } from '../records/check.js';
import { configFromFile, configFromObject } from '../records/snapshot-config.js';
import { DEFAULT_THRESHOLDS, mergeThresholds, type Thresholds } from '../records/thresholds.js';
import { CONFIG_FILE, RuleSet } from '../records/config.js';
import type { TrustRules } from '../trust/rules.js';
import type { AttackKind } from './kinds.js';
import { RECORD_KINDS } from './kinds.js';
import { planDrill, type DrillFile, type PlannedAttack, type RecordTarget } from './plan.js';
import { parseTable, recordOf, type TableFormat } from './table.js';
import { applyEdit, undoEdits, type Scratch, type Touched } from './apply.js';
import { judge, type GateResult, type Verdict } from './judge.js';
import { drillReport, type DrillReport } from './report.js';
import { shellWord } from '../report/escape.js';
import { grantOwnerAccess, makeScratchDir, removeScratchDir, removeScratchDirSync } from '../io/scratch-dir.js';

/** Largest record file the drill reads to plan record changes (bytes), and the most it reads of record files in all. */
export const MAX_PLAN_RECORD_BYTES = 32 << 20;
export const MAX_PLAN_RECORD_TOTAL_BYTES = 128 << 20;
/** Largest other file it reads to plan content changes (bytes), and the most it reads of such files in all. */
export const MAX_PLAN_FILE_BYTES = 1 << 20;
export const MAX_PLAN_TOTAL_BYTES = 64 << 20;
/** Column names taken for a label when a record file has no record rule (suggested in the report). */
export const LABEL_NAMES = ['label', 'labels', 'class', 'target', 'y', 'category', 'species', 'diagnosis'];

/** Options of {@link drill}. */
export interface DrillOptions {
  /** The dataset folder (only read). */
  dir: string;
  /** DIR as the user gave it (the report shows it). */
  dataset: string;
  snapshot: SnapshotLocation;
  trusted: readonly TrustedKey[];
  threshold?: number;
  rules?: TrustRules;
  seed: number;
  kinds: readonly AttackKind[];
  /** Record checks in the gate (false: `--no-records`). */
  records: boolean;
  /** A store whose objects may hold the record indexes (only read). */
  store?: string;
  /**
   * Stores that may lie inside DIR (the one REF was read from): of each, only the store's own layout
   * is not copied (io/store-layout.ts), as verify leaves only it out; everything else under it is
   * data, copied, and the gate judges it.
   */
  stores?: readonly string[];
  jobs?: number;
  /** Called before each round (tests). */
  onRound?: (round: number, rounds: number) => void;
}

/** A tabular format from a file name's ending (§19.1), or undefined. */
function formatOf(path: string): TableFormat | undefined {
  const p = path.toLowerCase();
  if (p.endsWith('.csv')) return 'csv';
  if (p.endsWith('.tsv') || p.endsWith('.tab')) return 'tsv';
  if (p.endsWith('.jsonl') || p.endsWith('.ndjson')) return 'jsonl';
  return undefined;
}

/** How many entries of DIR its copy left out (sockets, FIFOs, devices, names not UTF-8) the drill names when it refuses DIR for them: the first found. */
const MAX_LEFT_OUT_NAMED = 3;

/** The problems of a verify report in one line, for an error message. */
function problemsText(r: VerifyReport): string {
  return r.problems.slice(0, 3).map((p) => `${p.kind} ${p.path}`).join(', ') + (r.problems.length > 3 ? `, … (${r.problems.length} in all)` : '');
}

/**
 * Group planted changes into rounds: changes of one round touch different files, and file-level
 * and record-level changes never share a round (a file change can stop the record diff).
 */
export function rounds(planted: readonly PlannedAttack[]): PlannedAttack[][] {
  const out: { record: boolean; paths: Set<string>; list: PlannedAttack[] }[] = [];
  for (const a of planted) {
    const record = RECORD_KINDS.has(a.kind);
    const r = out.find((x) => x.record === record && a.paths.every((p) => !x.paths.has(p)));
    if (r) {
      r.list.push(a);
      for (const p of a.paths) r.paths.add(p);
    } else out.push({ record, paths: new Set(a.paths), list: [a] });
  }
  return out.map((r) => r.list);
}

/**
 * Run a drill.
 * @throws SnapError with the trust failure's code when REF cannot be trusted (exit 1);
 *   `INTEGRITY_FAILURE` when DIR does not match REF before anything is planted, or the signed
 *   `snap.json` (check's thresholds) is intact neither in the private copy nor in the store; `INTERRUPTED` /
 *   `TERMINATED`; `NOT_FOUND` | `IO_ERROR` | `DISK_FULL` from reading, and from the private copy
 *   (copying DIR, planting, putting back: any file system error there, such as a path of DIR too
 *   long under the scratch folder, with `details.path` and `details.errno`)
 */
export async function drill(o: DrillOptions): Promise<DrillReport> {
  // The folder DIR names, links followed (as verify reads it): given as a symbolic link, the copy
  // was that link, and every change was planted in the dataset itself.
  const root = await realFolder(o.dir);
  const scratchRoot = await makeScratchDir('snap-drill-');
  await fsp.chmod(scratchRoot, 0o700);
  const forget = leaveNothing(() => removeScratchDirSync(scratchRoot));
  try {
    const s: Scratch = { data: join(scratchRoot, 'data'), elsewhere: join(scratchRoot, 'elsewhere'), pristine: join(scratchRoot, 'pristine') };
    const stores = await Promise.all((o.stores ?? []).map(realFolder));
    const layout = stores.length > 0 ? await import('../io/store-layout.js') : undefined;
    let readOnly = false; // DIR holds a folder or file its owner cannot write: the copy keeps its mode
    // Sockets, FIFOs and devices, and names that are not UTF-8, are not copied, but verify of DIR
    // names each that no exclude pattern leaves out as extra: when the copy left one out, DIR is
    // walked as verify walks it (below).
    let leftOut = false;
    await fsp.cp(root, s.data, {
      recursive: true,
      verbatimSymlinks: true,
      preserveTimestamps: true,
      filter: async (src) => {
        // A name that is not UTF-8 reaches here decoded with U+FFFD, and nothing is found by it.
        // No manifest path can hold it (DIR verified: --exclude left it out), so it is not copied.
        const st = await fsp.lstat(src).catch((e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT' && src.includes('\uFFFD')) return undefined;
          throw e;
        });
        // Under a store inside DIR: its layout is not copied, anything else is (data, as verify sees it).
        const store = st && layout ? stores.find((d) => src.startsWith(d + sep)) : undefined;
        if (st && layout && store !== undefined && layout.judgeStorePath(src.slice(store.length + 1).split(sep), st.isDirectory() ? 'folder' : st.isFile() ? 'file' : 'other') === 'store') return false;
        if (st && ((st.isDirectory() && (st.mode & 0o700) !== 0o700) || (st.isFile() && (st.mode & 0o600) !== 0o600))) readOnly = true;
        const copied = st !== undefined && (st.isFile() || st.isDirectory() || st.isSymbolicLink());
        if (!copied) leftOut = true;
        return copied;
      },
    });
    // A copy that is not a folder of its own (DIR swapped for a link since it was resolved) is not changed.
    if (!(await fsp.lstat(s.data)).isDirectory()) throw new SnapError('INTEGRITY_FAILURE', `${o.dataset} changed while the drill copied it (it is no longer a folder)`, { path: root });
    // The copy is the drill's to change and to remove: its owner may write every folder and file
    // in it (modes are not in the manifest, so the gate sees the same data).
    if (readOnly) await grantOwnerAccess(s.data, { files: true });
    checkInterrupted();
    // verify's own record findings (each modified record file indexed and compared) are left out:
    // no verdict reads them, and in record rounds the record diff below indexes the same file again
    // (two index builds of it a round, half of a drill's CPU on a large CSV).
    const gateVerify = () => verify({ dir: s.data, snapshot: o.snapshot, trusted: o.trusted, threshold: o.threshold, rules: o.rules, jobs: o.jobs, store: o.store, recordDiffs: false });

    // The copy must pass before anything is planted: then each later finding is the plant's.
    const base = await gateVerify();
    if (base.failure) throw new SnapError(base.failure.code as SnapErrorCode, `${o.snapshot.ref} cannot be trusted: ${base.failure.message}`);
    if (!base.ok || !base.statement) throw new SnapError('INTEGRITY_FAILURE', `${o.dataset} does not match ${o.snapshot.ref} before any change was planted (${problemsText(base)}); a drill needs data that passes verify`);
    const pred = base.statement.predicate;
    const ref = `${pred.dataset}@${pred.version}`;
    if (leftOut) {
      const extra: string[] = [];
      const walk = walkDataset(root, {
        excludes: pred.excludes,
        stores,
        onSpecial: (path, what) => extra.push(`${path}, ${what}`),
        onBadName: (e) => extra.push(e.message),
      });
      for await (const item of walk) {
        void item;
        if (extra.length > MAX_LEFT_OUT_NAMED) break;
        checkInterrupted();
      }
      if (extra.length > 0) {
        throw new SnapError('INTEGRITY_FAILURE', `${o.dataset} does not match ${o.snapshot.ref} before any change was planted (extra: ${extra.slice(0, MAX_LEFT_OUT_NAMED).join('; ')}${extra.length > MAX_LEFT_OUT_NAMED ? '; …' : ''}; verify names it, and the drill cannot copy it); a drill needs data that passes verify`);
      }
    }

    // The signed manifest (its digest checked again as it is read).
    const manifestPath = join(o.snapshot.dir, MANIFEST_FILE);
    const raw = { bytes: 0 } as { sha256?: string; bytes: number };
    const order = new ManifestOrder();
    const files: DrillFile[] = [];
    const allPaths = new Set<string>();
    // Its snap.json entry, for check's thresholds (taken from this judged read, not a read of its own).
    let configEntry: { sha256: string; size: number } | undefined;
    const changed = () => new SnapError('INTEGRITY_FAILURE', `${manifestPath} changed while the drill read it`);
    try {
      for await (const run of manifestLineRuns(manifestPath, raw)) {
        for (const line of run) {
          const e = parseManifestLine(line, order, manifestPath);
          allPaths.add(e.path);
          if (e.path === CONFIG_FILE && !isSymlinkEntry(e)) configEntry = e;
          if (!isSymlinkEntry(e) && isWellFormed(e.path)) files.push({ path: e.path, size: e.size });
        }
      }
    } catch (e) {
      // verify read this very manifest whole a moment ago: a line it cannot read now is a change.
      if (isSnapError(e) && (e.code.startsWith('MANIFEST_') || e.code.startsWith('PATH_'))) throw changed();
      throw e;
    }
    if (raw.sha256 !== pred.manifestSha256) throw changed();

    // Record files: the signed record sets, and tabular files that no set covers (not configured).
    const members: RecordSetMember[] = pred.records ?? [];
    const recordsOn = o.records && members.length > 0;
    const targets: RecordTarget[] = [];
    for (const m of members) {
      if (m.path === undefined || (m.format !== 'csv' && m.format !== 'tsv' && m.format !== 'jsonl')) continue;
      targets.push({
        path: m.path,
        format: m.format,
        identity: m.identity as RecordTarget['identity'],
        ...(m.key ? { key: m.key } : {}),
        ...(m.label ? { label: m.label } : {}),
        ...(m.quoting ? { quoting: m.quoting } : {}),
        configured: o.records,
        ...(o.records ? {} : { notConfigured: `record checks are switched off (--no-records); without it the signed record index of ${m.path} would name the record` }),
      });
    }
    const covered = new Set(targets.map((t) => t.path));
    const pending = files.filter((f) => !covered.has(f.path) && formatOf(f.path) !== undefined && !members.some((m) => m.path === f.path));

    // Bytes for planning: record files, then small files, within a total budget.
    let budget = MAX_PLAN_TOTAL_BYTES;
    let recordBudget = MAX_PLAN_RECORD_TOTAL_BYTES;
    const recordish = new Set([...covered, ...pending.map((f) => f.path)]);
    for (const f of files) {
      const isRecord = recordish.has(f.path);
      const limit = isRecord ? Math.min(MAX_PLAN_RECORD_BYTES, recordBudget) : Math.min(MAX_PLAN_FILE_BYTES, budget);
      if (f.size > limit) continue;
      f.bytes = new Uint8Array(await fsp.readFile(join(s.data, f.path)));
      if (f.bytes.length !== f.size) throw new SnapError('INTEGRITY_FAILURE', `${f.path} changed in the drill's private copy while it was read`);
      if (isRecord) recordBudget -= f.size;
      else budget -= f.size;
      checkInterrupted();
    }
    // The snapshot's own snap.json (the drill's verified copy): a rule of it that matches a file no
    // signed set covers means the seal left record indexes out (--no-records), not that a rule is missing.
    let sealedRules: RuleSet | undefined;
    if (configEntry && pending.length > 0) {
      const config = await configFromFile(join(s.data, CONFIG_FILE), configEntry).catch(() => undefined);
      if (config) sealedRules = new RuleSet(config.rules);
    }
    for (const f of pending) {
      const format = formatOf(f.path) as TableFormat;
      const t = f.bytes ? parseTable(f.bytes, format) : undefined;
      if (!t || 'unsupported' in t) continue;
      const fields = t.columns ?? Object.keys(t.length > 0 ? recordOf(t, 0) : {});
      const label = fields.find((c) => LABEL_NAMES.includes(c.toLowerCase())) ?? fields[fields.length - 1];
      const key = fields.find((c) => c.toLowerCase() === 'id');
      const rule = JSON.stringify({ pattern: f.path, ...(key && key !== label ? { key: [key] } : {}), ...(label ? { label } : {}) });
      // The same rule as one --records word, quoted for a shell (the names come from the data: a
      // file named x'$(cmd)'.csv must not run cmd when the suggestion is pasted), and only when
      // the attribute form can carry it (it splits on white space, and a key on commas).
      const attrs = [f.path, ...(key && key !== label ? [`key=${key}`] : []), ...(label ? [`label=${label}`] : [])];
      const flagForm = attrs.every((w) => !/\s/u.test(w)) && !(key ?? '').includes(',') ? ` (or seal with --records ${shellWord(attrs.join(' '))})` : '';
      targets.push({
        path: f.path,
        format,
        identity: key && key !== label ? 'key' : 'features',
        ...(key && key !== label ? { key: [key] } : {}),
        ...(label ? { label } : {}),
        configured: false,
        notConfigured:
          sealedRules?.match(f.path) !== undefined
            ? `${f.path} has no signed record index, though the snapshot's ${CONFIG_FILE} has a rule for it: it was sealed with --no-records (or before that rule was added); seal again without --no-records`
            : `${f.path} has no signed record index; add ${rule} to "records" in ${CONFIG_FILE}${flagForm} and seal again`,
      });
    }
    targets.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

    const plan = planDrill({ seed: o.seed, kinds: o.kinds, files, allPaths, records: targets, reserved: new Set([CONFIG_FILE]) });
    for (const f of files) delete f.bytes; // read for planning only: the plan holds what it writes
    const groups = rounds(plan.planted);

    // Thresholds of `check`: its defaults, with the signed snapshot's own snap.json `check` member,
    // read from the private copy verify just passed (the bytes hashed again), else from the store.
    // Never the defaults in its place: whoever can write the store can delete its object, and a
    // drill judged by other thresholds than check applies would name breaches check never reports.
    let thresholds: Thresholds = DEFAULT_THRESHOLDS;
    if (recordsOn && configEntry) {
      const dirs = [objectsDirOf(o.snapshot), o.store ? join(resolve(o.store), 'objects', 'sha256') : undefined].filter((d): d is string => d !== undefined);
      const config = (await configFromFile(join(s.data, CONFIG_FILE), configEntry)) ?? (await configFromObject(configEntry, dirs));
      if (!config) {
        throw new SnapError('INTEGRITY_FAILURE', `${o.snapshot.ref}: its signed ${CONFIG_FILE} (object ${configEntry.sha256.slice(0, 12)}…, its check thresholds) is neither in the drill's verified copy nor in the store: the drill cannot judge with what the snapshot signed`, { ref: o.snapshot.ref, sha256: configEntry.sha256 });
      }
      thresholds = mergeThresholds(DEFAULT_THRESHOLDS, config.check);
    }

    const results: { attack: PlannedAttack; verdict: Verdict; round: number }[] = [];
    const touched: Touched = { paths: new Set(), dirs: [] };
    for (let i = 0; i < groups.length; i++) {
      checkInterrupted();
      o.onRound?.(i + 1, groups.length);
      const group = groups[i] as PlannedAttack[];
      for (const a of group) await applyEdit(s, touched, a.id, a.edit);
      const v = await gateVerify();
      const g: GateResult = { problems: v.problems, recordsOn };
      // The record diff and check: in rounds of record-level changes (file-level ones are judged by verify).
      if (recordsOn && group.some((a) => RECORD_KINDS.has(a.kind))) {
        try {
          const d = await diff({ kind: 'snapshot', location: o.snapshot }, { kind: 'folder', path: s.data }, { jobs: o.jobs, ...(o.store ? { store: o.store } : {}) });
          if (d.records) {
            g.records = d.records;
            g.breaches = checkRecords(d.records, thresholds);
          }
        } catch (e) {
          if (interruptedBy() || !(e instanceof SnapError)) throw e;
          g.recordsError = e.code;
        }
      }
      for (const a of group) results.push({ attack: a, verdict: judge(a, g), round: i + 1 });
      await undoEdits(s, touched);
    }
    const index = (a: PlannedAttack) => plan.planted.indexOf(a);
    results.sort((x, y) => index(x.attack) - index(y.attack));
    return drillReport({ dataset: o.dataset, against: { ref, id: base.snapshot }, seed: o.seed, attacks: [...o.kinds], records: recordsOn, rounds: groups.length, planted: results, notApplicable: plan.notApplicable });
  } catch (e) {
    if (interruptedBy()) throw interruptedError();
    // A file system error in the private copy (copying DIR, planting, putting back): IO_ERROR
    // naming the file, not INTERNAL (a path DIR holds can be too long under the scratch folder).
    const errno = e as NodeJS.ErrnoException;
    if (!isSnapError(e) && typeof errno?.code === 'string' && /^E[A-Z]+$/.test(errno.code)) throw ioError(e, errno.path ?? scratchRoot, "the drill's private copy");
    throw e;
  } finally {
    await removeScratchDir(scratchRoot).catch(() => {});
    forget();
  }
}

/** A path with its symbolic links followed (`realpath`); as it is (made absolute) when it cannot be resolved (the copy then reports it missing). */
async function realFolder(p: string): Promise<string> {
  return fsp.realpath(resolve(p)).catch(() => resolve(p));
}
