/**
 * `verify` names records (docs/DESIGN.md, "Record forensics"): for a modified file that the signed
 * statement indexes, the file on disk is indexed on the fly and compared with the signed index —
 * "train.jsonl: 35 labels flipped (spam → ham), 2 records added" — and a file moved between two label
 * folders of a label-folder set is named as a label flip. Runs only after the manifest was found to
 * match the signature, so the definitions and index digests it uses are trusted.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isSnapError } from '../core/errors.js';
import { formOf, RECORD_FORMS, type RecordSetMember } from '../core/records.js';
import { labelFolderSets, nameLabelFlips, type LabelProblem } from './label-flips.js';
import type { IndexFileOptions } from './index-file.js';
import { indexStoreObject, indexWorkersFor, RecordIndexPool } from './index-pool.js';
import type { RecordSetSpec } from './config.js';
import { diffIndexFiles } from './diff-index-files.js';
import { RecordDiffCollector, type RecordSetDiff } from './record-report.js';
import { conflictGroups } from './conflicts.js';
import { makeScratchDir, removeWhenDone } from '../io/scratch-dir.js';
import { compareTypes, readTypes, signedTypes } from './read-schema.js';
import { COLUMN_ORDER_NOT_RECORDED } from './column-types.js';
import type { BuiltIndex } from './build-index.js';

/** The part of a verify problem this module reads and extends. */
export interface RecordProblem extends LabelProblem {
  /** A modified record file: its record diff against the signed index (or why there is none). */
  records?: RecordSetDiff | { error: { code: string; message: string } };
}

/**
 * Add record findings to verify's problems, in place. Never throws for a record file that cannot
 * be read or indexed: the problem gets `records.error` instead (the file is reported as modified
 * anyway). A signed index made by an older canonical form than today's (`form`, docs/FORMAT.md
 * §19.3) is not compared with the file's: the signed file's bytes are indexed again from the store
 * (checked against the signed digest), or the problem gets `records.error` (`OBJECT_MISSING`).
 * @param objectDirs `objects/sha256` folders that may hold the signed index objects (and the signed files' bytes)
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
    // A signed index made by an older canonical form (§19.3) is not compared with today's: the
    // signed file's bytes, when the store has them, are indexed again in today's form (`signed`).
    const jobs: { p: RecordProblem; m: RecordSetMember; obj: string; out: string; spec: RecordSetSpec; options: IndexFileOptions; size: number; signed?: { options: IndexFileOptions; size: number } }[] = [];
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
      const spec: RecordSetSpec = { format: m.format, identity: m.identity, ...(m.key ? { key: m.key } : {}), ...(m.label !== undefined ? { label: m.label } : {}), ...(m.quoting !== undefined ? { quoting: m.quoting } : {}) };
      let signed: { options: IndexFileOptions; size: number } | undefined;
      if (formOf(m) !== RECORD_FORMS[m.format]) {
        const expected = p.expected as { sha256?: string; size?: number } | undefined;
        const bytes = expected?.sha256 ? objectDirs.map((d) => join(d, (expected.sha256 as string).slice(0, 2), (expected.sha256 as string).slice(2))).find((x) => existsSync(x)) : undefined;
        if (!bytes || !expected?.sha256) {
          p.records = { error: { code: 'OBJECT_MISSING', message: `its signed record index was made by an older canonical form (FORMAT §19.3), and its signed bytes are not in the store to be indexed again` } };
          continue;
        }
        signed = { options: { abs: bytes, rel: m.path as string, spec, tmpDir: tmp, outPath: join(tmp, `signed-${problems.indexOf(p)}`), strictKeys: false, expectSha256: expected.sha256 }, size: expected.size ?? 0 };
      }
      const out = join(tmp, `index-${problems.indexOf(p)}`);
      const actual = p.actual as { sha256?: string; size?: number } | undefined;
      const options: IndexFileOptions = { abs: join(dir, ...m.path!.split('/')), rel: m.path as string, spec, tmpDir: tmp, outPath: out, strictKeys: false, ...(actual?.sha256 ? { expectSha256: actual.sha256 } : {}) };
      jobs.push({ p, m, obj, out, spec, options, size: actual?.size ?? 0, ...(signed ? { signed } : {}) });
    }
    const indexes = jobs.length > 0 ? (pool = new RecordIndexPool(indexWorkersFor(jobs.flatMap((j) => [j.size, ...(j.signed ? [j.signed.size] : [])]), opts.jobs))) : undefined;
    const built = jobs.map((j) => {
      const both = Promise.all([(indexes as RecordIndexPool).index(j.options), ...(j.signed ? [indexStoreObject(indexes as RecordIndexPool, j.signed.options as IndexFileOptions & { expectSha256: string })] : [])]);
      both.catch(() => {}); // handled where awaited, in order
      return both;
    });
    for (const [i, { p, m, obj, out, spec, signed }] of jobs.entries()) {
      try {
        const [bBuilt, aBuilt] = (await built[i]) as [BuiltIndex, BuiltIndex | undefined];
        const labelled = m.label !== undefined;
        const xb = { identity: m.identity, labelled, name: m.path as string };
        // The signed index, checked against its signed digest and count; or the signed bytes indexed again.
        const a = signed ? { path: signed.options.outPath, x: xb } : { path: obj, x: { ...xb, sha256: m.index.sha256, count: m.count } };
        const c = new RecordDiffCollector(m.identity);
        const { counts, candidates } = await diffIndexFiles(a, { path: out, x: xb }, m.identity, c);
        const conflicts = [...(await conflictGroups(a.path, a.x, 'a', candidates.a)), ...(await conflictGroups(out, xb, 'b', candidates.b))];
        const report = c.report({ name: m.path as string, ...spec }, counts, conflicts);
        // Parquet: the signed column types (§19.11; those of the signed bytes when indexed again) against the file's.
        if (m.format === 'parquet') {
          const schemaPath = m.schema !== undefined ? objectDirs.map((d) => join(d, (m.schema as string).slice(0, 2), (m.schema as string).slice(2))).find((x) => existsSync(x)) : undefined;
          // Sealed before types were signed: those of the signed bytes' copy in the store, when it is there (checked against the manifest digest).
          const expected = (p.expected as { sha256?: string } | undefined)?.sha256;
          const copy = m.schema === undefined && !aBuilt && expected ? objectDirs.map((d) => join(d, expected.slice(0, 2), expected.slice(2))).find((x) => existsSync(x)) : undefined;
          const aTypes = aBuilt ? readTypes(aBuilt.columnTypes) : copy && expected ? readTypes(await (await import('./read-parquet.js')).storedParquetColumnTypes(copy, m.path as string, expected), false) : await signedTypes(m.schema, schemaPath, m.path as string);
          report.types = compareTypes(aTypes, readTypes(bBuilt.columnTypes));
        } else if (m.format === 'csv' || m.format === 'tsv' || m.format === 'jsonl') {
          // CSV, TSV (JSONL: its members in order of first appearance): the signed header order (that of the signed bytes when indexed again) against the file's, given when it changed or is not known.
          const schemaPath = m.schema !== undefined ? objectDirs.map((d) => join(d, (m.schema as string).slice(0, 2), (m.schema as string).slice(2))).find((x) => existsSync(x)) : undefined;
          const types = compareTypes(aBuilt ? readTypes(aBuilt.columnTypes) : await signedTypes(m.schema, schemaPath, m.path as string, COLUMN_ORDER_NOT_RECORDED), readTypes(bBuilt.columnTypes), false);
          if (types.order || types.columns || types.unknown) report.types = types;
        }
        p.records = report;
      } catch (e) {
        if (!isSnapError(e)) throw e;
        p.records = { error: { code: e.code, message: e.message } };
      }
    }
  } finally {
    await pool?.close(); // before the scratch folder goes: a worker still reading writes into it
    await removeTmp?.();
  }
  // Label folders: files moved between label folders (records/label-flips.ts).
  nameLabelFlips(problems, labelFolderSets(members));
}
