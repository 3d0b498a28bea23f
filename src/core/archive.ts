/**
 * The snapshot archive, `NAME@VERSION.snap.tar` (docs/FORMAT.md §10): its member names, the fixed
 * header values that make it byte-for-byte deterministic, and the rules a snapshot must meet to be
 * put in an archive or written out to a folder (no link leaving the dataset, nothing under a file
 * or a link). Pure: the tar bytes themselves are written and read by `src/io/archive.ts`.
 */
import { SnapError } from './errors.js';
import { isValidTime } from './statement.js';
/** Bounds on the `snap/statement.json` and `snap/envelope.json` members: those of any statement and envelope. */
export { MAX_STATEMENT_BYTES } from './statement.js';
export { MAX_ENVELOPE_BYTES } from './envelope.js';
import { NAME_RE, VERSION_RE, type NameVersion } from './refs.js';
import type { ManifestEntry } from './manifest.js';
import { MAX_INDEX_LINE_BYTES, MAX_INDEX_SUMMARY_BYTES, MAX_SCHEMA_OBJECT_BYTES, type RecordSetMember } from './records.js';
export { MAX_INDEX_LINE_BYTES } from './records.js';

/** A record index an archive carries: its member name, signed digest and the most bytes it may have. */
export interface ArchiveRecordIndex {
  /** `snap/records/<sha256>`. */
  name: string;
  /** The signed SHA-256 of the index bytes (hex). */
  sha256: string;
  /** Signed record count × {@link MAX_INDEX_LINE_BYTES} (an index), or {@link MAX_INDEX_SUMMARY_BYTES} (a summary), or {@link MAX_SCHEMA_OBJECT_BYTES} (a column-types object): a longer member cannot be the signed one. */
  maxBytes: number;
}

/**
 * The record index members an archive of a statement must carry, in order: one per distinct
 * `index.sha256` of `predicate.records`, each followed by its `index.summary` when it has one
 * (docs/FORMAT.md §19.10) and then its `schema` (a Parquet set's column types, §19.11) when it has one, in the order the record sets are listed (a digest named by two sets —
 * two identical files — is carried once). Empty when the statement has no record sets.
 */
export function archiveRecordIndexes(records: readonly RecordSetMember[] | undefined): ArchiveRecordIndex[] {
  const out: ArchiveRecordIndex[] = [];
  const seen = new Set<string>();
  for (const m of records ?? []) {
    if (seen.has(m.index.sha256)) continue;
    seen.add(m.index.sha256);
    out.push({ name: ARCHIVE_RECORDS_PREFIX + m.index.sha256, sha256: m.index.sha256, maxBytes: m.count * MAX_INDEX_LINE_BYTES });
    const summary = m.index.summary;
    if (summary !== undefined && !seen.has(summary)) {
      seen.add(summary);
      out.push({ name: ARCHIVE_RECORDS_PREFIX + summary, sha256: summary, maxBytes: MAX_INDEX_SUMMARY_BYTES });
    }
    const schema = m.schema;
    if (schema !== undefined && !seen.has(schema)) {
      seen.add(schema);
      out.push({ name: ARCHIVE_RECORDS_PREFIX + schema, sha256: schema, maxBytes: MAX_SCHEMA_OBJECT_BYTES });
    }
  }
  return out;
}

/** File-name suffix of a snapshot archive. */
export const ARCHIVE_SUFFIX = '.snap.tar';
/** First member: the statement bytes, exactly as signed. */
export const ARCHIVE_STATEMENT = 'snap/statement.json';
/** Second member: the DSSE envelope. */
export const ARCHIVE_ENVELOPE = 'snap/envelope.json';
/** Third member: the manifest. */
export const ARCHIVE_MANIFEST = 'snap/manifest.jsonl';
/**
 * Record index members (docs/FORMAT.md §10.1): `snap/records/<sha256 hex>`, one per distinct index
 * digest the statement's `predicate.records` names, after the manifest and before the data.
 */
export const ARCHIVE_RECORDS_PREFIX = 'snap/records/';
/** Every dataset entry is stored as `data/<manifest path>`, in manifest order, after the three `snap/` members. */
export const ARCHIVE_DATA_PREFIX = 'data/';
/** Mode of every regular-file member (r--r--r--). */
export const ARCHIVE_FILE_MODE = 0o444;
/** Mode of every symbolic-link member (rwxrwxrwx, as `ls` shows links). */
export const ARCHIVE_SYMLINK_MODE = 0o777;
/** The only pax extended-header records the format uses (written by tar-stream for long or non-ASCII names). */
export const ARCHIVE_PAX_KEYS: readonly string[] = ['path', 'linkpath'];

/** True when a path names a snapshot archive (ends in `.snap.tar`). */
export function isArchivePath(path: string): boolean {
  return path.endsWith(ARCHIVE_SUFFIX) && path.length > ARCHIVE_SUFFIX.length;
}

/**
 * The `NAME@VERSION` an archive's file name claims, when its base name has the conventional form
 * `NAME@VERSION.snap.tar` (see {@link archiveFileName}); undefined for any other name. The claim is
 * checked against the signed statement: an archive named as one snapshot that holds another is refused.
 * @param baseName the file name without folders
 */
export function archiveFileClaim(baseName: string): NameVersion | undefined {
  if (!isArchivePath(baseName)) return undefined;
  const stem = baseName.slice(0, -ARCHIVE_SUFFIX.length);
  const at = stem.indexOf('@');
  if (at < 0) return undefined;
  const name = stem.slice(0, at);
  const version = stem.slice(at + 1);
  return NAME_RE.test(name) && VERSION_RE.test(version) ? { name, version } : undefined;
}

/** The conventional archive file name of a snapshot: `NAME@VERSION.snap.tar`. */
export function archiveFileName(name: string, version: string): string {
  return `${name}@${version}${ARCHIVE_SUFFIX}`;
}

/**
 * The archive name to suggest for `given`, an output name that does not end in {@link ARCHIVE_SUFFIX},
 * for the snapshot `ref`: a folder (a name ending in `/`, or empty) gets the conventional file name
 * inside it ({@link archiveFileName} of a `NAME@VERSION` ref, else the text `NAME@VERSION.snap.tar`);
 * another name has a `.tar` ending, if any, replaced by {@link ARCHIVE_SUFFIX}, or gets it appended.
 * Text only: nothing is looked up on disk.
 */
export function suggestedArchiveName(given: string, ref: string): string {
  if (given !== '' && !given.endsWith('/')) return `${given.replace(/(\.snap)?\.tar$/i, '')}${ARCHIVE_SUFFIX}`;
  const m = /^([^@/]+)@([^@/]+)$/.exec(ref);
  return `${given}${m ? archiveFileName(m[1] as string, m[2] as string) : `NAME@VERSION${ARCHIVE_SUFFIX}`}`;
}

/**
 * The modification time written in every member header: the statement's `createdAt`, in whole
 * seconds since the Unix epoch.
 * @throws SnapError `STATEMENT_INVALID` when `createdAt` is not RFC 3339 UTC with whole seconds, or
 *   falls after 2038-01-19T03:14:07Z (tar-stream's ustar writer keeps mtime in 32 bits)
 */
export function archiveMtime(createdAt: string): Date {
  if (!isValidTime(createdAt)) throw new SnapError('STATEMENT_INVALID', `createdAt ${JSON.stringify(createdAt)} is not RFC 3339 UTC with whole seconds`);
  const d = new Date(createdAt);
  if (d.getTime() / 1000 > 0x7fffffff || d.getTime() < 0) throw new SnapError('STATEMENT_INVALID', `createdAt ${createdAt} is outside the range a version 1 archive can record (1970 to 2038)`);
  return d;
}

/** Why one entry makes a snapshot unsafe to archive or to write out. */
export interface TreeViolation {
  /**
   * `symlink-absolute`: the link text starts with `/`; `symlink-escapes`: resolved from the link's
   * folder it leaves the dataset root; `symlink-dotdot`: a `..` after a name (it could climb out
   * through another link); `under-symlink` / `under-file`: the path goes under a path that is a
   * link or a file; `ambiguous-name`: U+FFFD in a path or link text (cannot be told apart from
   * invalid UTF-8 in a tar header).
   */
  reason: 'symlink-absolute' | 'symlink-escapes' | 'symlink-dotdot' | 'under-symlink' | 'under-file' | 'ambiguous-name';
  path: string;
  message: string;
}

/**
 * Check a symbolic link's text. A link is safe when, following it from the folder that holds it,
 * it can never leave the dataset root, whatever other links it passes through: it is relative, and
 * after dropping empty and `.` segments, every `..` comes before every name, and there are no more
 * `..` than the link's folder is deep. (Names then only go down; a `..` after a name could climb out
 * through another link, e.g. `d/s/../..` with `d/s -> ..`.)
 * @param path   the link's dataset path (SPEC §2 rules already checked)
 * @param target the link text
 * @returns the violation, or undefined when the link is safe
 */
export function unsafeLinkTarget(path: string, target: string): TreeViolation | undefined {
  const at = `symlink ${JSON.stringify(path)} -> ${JSON.stringify(target)}`;
  if (target.startsWith('/')) return { reason: 'symlink-absolute', path, message: `${at} is absolute (it points outside the dataset)` };
  const depth = path.split('/').length - 1;
  let ups = 0;
  let named = false;
  for (const seg of target.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (named) return { reason: 'symlink-dotdot', path, message: `${at} has ".." after a name (it could leave the dataset through another link)` };
      if (++ups > depth) return { reason: 'symlink-escapes', path, message: `${at} points outside the dataset` };
    } else named = true;
  }
  return undefined;
}

/**
 * Checks, entry by entry in manifest order, that a snapshot can be written out as a folder tree
 * safely: no path under a path recorded as a file or a symlink (a manifest can list `a` and `a/b`;
 * no file system holds both, and writing `a/b` through a link `a` would write outside the target),
 * every link safe ({@link unsafeLinkTarget}), no U+FFFD in a path or link text.
 *
 * Memory is O(depth of the current path): it keeps only the earlier entries that are string
 * prefixes of the current path (once a path arrives that does not start with an earlier one, no
 * later path can, because the manifest is sorted).
 */
export class TreeShapeCheck {
  private readonly stack: { path: string; link: boolean }[] = [];

  /**
   * Accept the next manifest entry (entries must come in manifest order).
   * @returns the first rule the entry breaks, or undefined
   */
  check(e: ManifestEntry): TreeViolation | undefined {
    const link = 'type' in e;
    if (e.path.includes('\uFFFD') || (link && e.target.includes('\uFFFD'))) {
      return { reason: 'ambiguous-name', path: e.path, message: `${JSON.stringify(e.path)} holds U+FFFD, which an archive cannot tell apart from invalid UTF-8` };
    }
    const s = this.stack;
    while (s.length > 0 && !e.path.startsWith((s[s.length - 1] as { path: string }).path)) s.pop();
    for (const anc of s) {
      if (e.path.charCodeAt(anc.path.length) === 0x2f) {
        return anc.link
          ? { reason: 'under-symlink', path: e.path, message: `${JSON.stringify(e.path)} lies under ${JSON.stringify(anc.path)}, which is a symbolic link` }
          : { reason: 'under-file', path: e.path, message: `${JSON.stringify(e.path)} lies under ${JSON.stringify(anc.path)}, which is a file` };
      }
    }
    s.push({ path: e.path, link });
    return link ? unsafeLinkTarget(e.path, e.target) : undefined;
  }
}
