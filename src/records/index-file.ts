/**
 * Indexing one record set: a tabular file read by its reader, or the files of a label-folder set
 * taken from a manifest, into a record index file (docs/FORMAT.md §19.5).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { SnapError, isSnapError } from '../core/errors.js';
import { ioError } from '../io/errors.js';
import { currentFormMember, type RecordSetMember } from '../core/records.js';
import { fileForms } from './canonical.js';
import type { RecordSetSpec } from './config.js';
import { IndexBuilder, type BuiltIndex } from './build-index.js';
import type { ReadResult, RecordSink } from './read-common.js';
import { DELIMITED_FORM, PARQUET_FORM, schemaObjectBytes, type ColumnType, type SchemaObjectForm } from './column-types.js';
// The readers (csv-parse, hyparquet: most of the CLI's record code) are loaded when a file
// is read, so that a diff of two snapshots, which reads only their indexes, does not load them.

/** Options of {@link indexTabularFile}. */
export interface IndexFileOptions {
  /** The file on disk. */
  abs: string;
  /** Its dataset path. */
  rel: string;
  spec: RecordSetSpec;
  /** A private folder for temporary runs (a subfolder is made and removed). */
  tmpDir: string;
  /** Where the index is written (a new file). */
  outPath: string;
  /** Refuse duplicate keys (seal). */
  strictKeys: boolean;
  /** Also write the index summary (`seal`; identities `key` and `path` with strict keys only, see `index-summary.ts`). */
  summary?: boolean;
  /** The digest the file must have (its manifest entry): else `FILE_CHANGED`. */
  expectSha256?: string;
  /** Records per sorted run (tests). */
  runRecords?: number;
}

/** Whether a file on disk has a SHA-256 (false when it cannot be read: it changed too). */
async function hasDigest(abs: string, sha256: string): Promise<boolean> {
  const { hashedChunks, newHash } = await import('./read-common.js');
  const hash = newHash();
  try {
    for await (const chunk of hashedChunks(abs, hash)) void chunk;
  } catch {
    return false;
  }
  return hash.digest('hex') === sha256;
}

/** Run `fn` with a fresh private folder under `parent`, removed afterwards. */
async function withRunDir<T>(parent: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fsp.mkdtemp(join(parent, 'runs-'));
  try {
    return await fn(dir);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

/**
 * Read a tabular file and write its record index.
 * @throws SnapError every code of the readers (`RECORDS_*`, `NOT_FOUND`, `IO_ERROR`) |
 *   `RECORDS_DUPLICATE_KEY` (strict) | `FILE_CHANGED` (the bytes read are not `expectSha256`, or
 *   the file stopped being a regular file or got shorter while it was read, or a reader's
 *   `RECORDS_*` error came from a file that no longer has `expectSha256`; `details.path` is `o.rel`)
 */
export async function indexTabularFile(o: IndexFileOptions): Promise<{ built: BuiltIndex; read: ReadResult }> {
  return withRunDir(o.tmpDir, async (runs) => {
    const builder = new IndexBuilder({ identity: o.spec.identity, labelled: o.spec.label !== undefined, tmpDir: runs, name: o.rel, strictKeys: o.strictKeys, summary: o.summary, runRecords: o.runRecords });
    const sink: RecordSink = (forms, row, line) => builder.add(forms, row, line);
    const fields = { ...(o.spec.key ? { key: o.spec.key } : {}), ...(o.spec.label !== undefined ? { label: o.spec.label } : {}) };
    const changed = (why?: string) =>
      new SnapError(
        'FILE_CHANGED',
        o.expectSha256 !== undefined
          ? `${o.rel} changed between hashing and reading its records${why ? ` (${why})` : ''}; nothing was committed. Seal again once the data is stable.`
          : `${o.rel} changed while its records were read (${why})`,
        { path: o.rel },
      );
    let read: ReadResult;
    try {
      switch (o.spec.format) {
        case 'csv':
        case 'tsv':
          read = await (await import('./read-delimited.js')).readDelimited(o.abs, o.rel, o.spec.format, fields, sink, o.spec.quoting);
          break;
        case 'jsonl':
          read = await (await import('./read-jsonl.js')).readJsonl(o.abs, o.rel, fields, sink);
          break;
        case 'parquet':
          read = await (await import('./read-parquet.js')).readParquet(o.abs, o.rel, fields, sink);
          break;
        default:
          throw new SnapError('INTERNAL', `${o.rel}: format ${o.spec.format} is not tabular`);
      }
    } catch (e) {
      // A reader's FILE_CHANGED (a FIFO or link swapped in, a file that became shorter) names the
      // file as the other changes do: by its dataset path, in `details.path` too.
      if (isSnapError(e, 'FILE_CHANGED') && e.details?.path !== o.rel) throw changed(e.message);
      // A data error in bytes that are not the ones hashed (a file cut in the middle of a row, or
      // rewritten, while the seal read it) is that change, not a defect of the data: checked on
      // the error path only, by hashing the file again.
      if (o.expectSha256 !== undefined && isSnapError(e) && e.code.startsWith('RECORDS_') && !(await hasDigest(o.abs, o.expectSha256))) throw changed(e.message);
      throw e;
    }
    if (o.expectSha256 !== undefined && read.sha256 !== o.expectSha256) throw changed();
    try {
      const built = await builder.finish(o.outPath);
      if (read.columnTypes) {
        built.columnTypes = read.columnTypes;
        if (o.summary) built.schema = await writeSchemaObject(`${o.outPath}.schema`, read.columnTypes, o.spec.format === 'parquet' ? PARQUET_FORM : DELIMITED_FORM);
      }
      return { built, read };
    } catch (e) {
      // CSV records do not carry their line (see read-delimited.ts): name the lines of a duplicate key.
      const rows = isSnapError(e, 'RECORDS_DUPLICATE_KEY') ? (e.details?.rows as number[] | undefined) : undefined;
      if (rows && (o.spec.format === 'csv' || o.spec.format === 'tsv')) {
        const { linesOfRows } = await import('./read-delimited.js');
        const at = await linesOfRows(o.abs, o.spec.format, rows, o.spec.quoting).catch(() => undefined);
        const lines = rows.map((r) => at?.get(r));
        if (lines.every((l) => l !== undefined)) {
          throw new SnapError('RECORDS_DUPLICATE_KEY', `${(e as SnapError).message.replace(/\(record (\d+) and record (\d+)\)/, `(record $1, line ${lines[0]} and record $2, line ${lines[1]})`)}`, { ...(e as SnapError).details, lines });
        }
      }
      throw e;
    }
  });
}

/**
 * Write a Parquet, CSV or TSV set's column-types object (docs/FORMAT.md §19.11) at `path`, flushed to disk.
 * @param form `PARQUET_FORM` for a Parquet set, `DELIMITED_FORM` for a CSV or TSV set (its bytes as before nested names)
 * @returns its path and SHA-256 (hex)
 * @throws SnapError `IO_ERROR`
 */
async function writeSchemaObject(path: string, columns: readonly ColumnType[], form: SchemaObjectForm): Promise<{ path: string; sha256: string }> {
  const bytes = schemaObjectBytes(columns, form);
  try {
    const fh = await fsp.open(path, 'wx', 0o600);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw ioError(e, path, 'cannot write the column-types object');
  }
  return { path, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** A file of a label-folder set: its dataset path and content digest. */
export interface SetFile {
  path: string;
  sha256: string;
}

/**
 * Collects the files of one label-folder (`files`) set, in manifest order, into a record index.
 */
export class FileSetIndexer {
  private builder: IndexBuilder | undefined;
  private row = 0;
  private runs: string | undefined;

  constructor(
    readonly pattern: string,
    readonly labelSegment: number,
    private readonly o: { tmpDir: string; strictKeys: boolean; summary?: boolean; runRecords?: number },
  ) {}

  /** Add a file; a path with no segment after the label segment is not a record. */
  async add(f: SetFile): Promise<void> {
    const forms = fileForms(f.path, f.sha256, this.labelSegment);
    if (!forms) return;
    if (!this.builder) {
      this.runs = await fsp.mkdtemp(join(this.o.tmpDir, 'runs-'));
      this.builder = new IndexBuilder({ identity: 'path', labelled: true, tmpDir: this.runs, name: this.pattern, strictKeys: this.o.strictKeys, summary: this.o.summary, runRecords: this.o.runRecords });
    }
    this.builder.add(forms, ++this.row, 0);
  }

  /** Records added. */
  get count(): number {
    return this.row;
  }

  /**
   * Write the index (undefined when no file was a record).
   * @throws SnapError `RECORDS_DUPLICATE_KEY` (strict: one file name under two labels) | `IO_ERROR`
   */
  async finish(outPath: string): Promise<BuiltIndex | undefined> {
    try {
      return this.builder ? await this.builder.finish(outPath) : undefined;
    } finally {
      if (this.runs) await fsp.rm(this.runs, { recursive: true, force: true }).catch(() => {});
    }
  }
}

/** The statement member of a tabular set, with the canonical form it was indexed by (`form`, absent for the first: core `currentFormMember`). */
export function tabularMember(path: string, spec: RecordSetSpec, built: BuiltIndex): RecordSetMember {
  return {
    path,
    format: spec.format,
    identity: spec.identity,
    ...(spec.identity === 'key' && spec.key ? { key: [...spec.key] } : {}),
    ...(spec.label !== undefined ? { label: spec.label } : {}),
    ...(spec.format === 'tsv' && spec.quoting !== undefined ? { quoting: spec.quoting } : {}),
    ...currentFormMember(spec.format),
    ...(built.schema ? { schema: built.schema.sha256 } : {}),
    count: built.count,
    index: indexDigestOf(built),
    ...(built.labels ? { labels: built.labels } : {}),
  };
}

/** The statement member of a label-folder set (its form, like a tabular set's, absent while it is the first). */
export function filesMember(pattern: string, labelSegment: number, built: BuiltIndex): RecordSetMember {
  return { pattern, format: 'files', identity: 'path', labelSegment, ...currentFormMember('files'), count: built.count, index: indexDigestOf(built), labels: built.labels ?? {} };
}

/** The statement's `index` member of a built index: its digests, and its summary's when it has one (§19.10). */
function indexDigestOf(built: BuiltIndex): RecordSetMember['index'] {
  return { sha256: built.sha256, merkleRoot: built.merkleRoot, ...(built.summary ? { summary: built.summary.sha256 } : {}) };
}
