/**
 * Manifest entries, `manifest.jsonl` (SPEC §2): one RFC 8785 JSON object per line, each line ending
 * in `\n`, sorted by the UTF-8 bytes of `path`, paths unique, unknown fields rejected.
 */
import { SnapError } from './errors.js';
import { compareUtf8, utf8Length, validatePath, MAX_PATH_BYTES } from './paths.js';

/** A regular file: its SHA-256 (64 lowercase hex) and size in bytes (integer, < 2^53). */
export interface FileEntry {
  path: string;
  sha256: string;
  size: number;
}

/** A symbolic link, recorded and never followed: `target` is the link text. */
export interface SymlinkEntry {
  path: string;
  target: string;
  type: 'symlink';
}

/** One manifest line. */
export type ManifestEntry = FileEntry | SymlinkEntry;

/** True for a symbolic-link entry. */
export function isSymlinkEntry(e: ManifestEntry): e is SymlinkEntry {
  return (e as SymlinkEntry).type === 'symlink';
}

const DIGEST_RE = /^[0-9a-f]{64}$/;

/**
 * The canonical line of an entry, without the trailing `\n` (RFC 8785: member names sorted, so
 * `path` < `sha256` < `size` and `path` < `target` < `type`). Equal to `canonicalJson(entry)`
 * for every valid entry (a test checks this); written by hand because it runs once per file.
 */
export function serializeEntry(e: ManifestEntry): string {
  if (isSymlinkEntry(e)) return `{"path":${JSON.stringify(e.path)},"target":${JSON.stringify(e.target)},"type":"symlink"}`;
  return `{"path":${JSON.stringify(e.path)},"sha256":"${e.sha256}","size":${e.size}}`;
}

/**
 * True when two entries are the same: their manifest lines ({@link serializeEntry}) are equal —
 * the same path and the same digest and size, or both links with the same target — compared
 * member by member, without writing either line (diff compares a million pairs).
 */
export function sameEntry(a: ManifestEntry, b: ManifestEntry): boolean {
  if (a.path !== b.path) return false;
  const la = isSymlinkEntry(a);
  if (la !== isSymlinkEntry(b)) return false;
  if (la) return a.target === (b as SymlinkEntry).target;
  return a.sha256 === (b as FileEntry).sha256 && a.size === (b as FileEntry).size;
}

/**
 * Validate one entry object: the path rules, a 64-hex digest, a safe non-negative integer size,
 * a non-empty link target, and no member that SPEC §2 does not define.
 * @throws SnapError `PATH_*` | `MANIFEST_UNKNOWN_FIELD` | `MANIFEST_MISSING_FIELD` |
 *   `MANIFEST_BAD_DIGEST` | `MANIFEST_BAD_SIZE` | `MANIFEST_BAD_TARGET` | `MANIFEST_LINE_MALFORMED`
 */
export function validateEntry(value: unknown): ManifestEntry {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SnapError('MANIFEST_LINE_MALFORMED', 'a manifest line must be a JSON object');
  }
  const o = value as Record<string, unknown>;
  const isLink = 'type' in o;
  const allowed = isLink ? ['path', 'target', 'type'] : ['path', 'sha256', 'size'];
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      throw new SnapError('MANIFEST_UNKNOWN_FIELD', `unknown field ${JSON.stringify(k)} in manifest entry`, { field: k });
    }
  }
  for (const k of allowed) {
    if (!(k in o)) throw new SnapError('MANIFEST_MISSING_FIELD', `manifest entry lacks ${JSON.stringify(k)}`, { field: k });
  }
  if (typeof o.path !== 'string') throw new SnapError('PATH_EMPTY', 'path must be a non-empty string');
  validatePath(o.path);
  if (isLink) {
    if (o.type !== 'symlink') {
      throw new SnapError('MANIFEST_UNKNOWN_FIELD', `unknown entry type ${JSON.stringify(o.type)}`, { field: 'type' });
    }
    const t = o.target;
    if (typeof t !== 'string' || t.length === 0 || t.includes('\0') || utf8Length(t) > MAX_PATH_BYTES || /[\ud800-\udfff]/.test(t.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) {
      throw new SnapError('MANIFEST_BAD_TARGET', `symlink ${JSON.stringify(o.path)} has an invalid target`, { path: o.path });
    }
    return { path: o.path, target: t, type: 'symlink' };
  }
  if (typeof o.sha256 !== 'string' || !DIGEST_RE.test(o.sha256)) {
    throw new SnapError('MANIFEST_BAD_DIGEST', `entry ${JSON.stringify(o.path)}: sha256 must be 64 lowercase hex digits`, { path: o.path });
  }
  if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 0) {
    throw new SnapError('MANIFEST_BAD_SIZE', `entry ${JSON.stringify(o.path)}: size must be an integer from 0 to 2^53-1`, { path: o.path });
  }
  return { path: o.path, sha256: o.sha256, size: o.size };
}

/**
 * Parse one manifest line (without its `\n`). The line must be valid JSON, a valid entry, and
 * byte-for-byte its own canonical form (no whitespace, no duplicate members, no escapes JCS would
 * not write).
 * @throws SnapError `MANIFEST_LINE_MALFORMED` | `MANIFEST_NOT_CANONICAL` | every code of {@link validateEntry}
 */
/**
 * The exact canonical shape of a file line whose path needs no JSON escape; anything else takes the
 * general path. Without capture groups (`test`, no match array): the parts lie at fixed offsets
 * from the path's closing quote, the first `"` after {@link FILE_LINE_PATH_START}.
 */
const FILE_LINE_RE = /^\{"path":"[^"\\\u0000-\u001f]+","sha256":"[0-9a-f]{64}","size":(?:0|[1-9][0-9]{0,15})\}$/;
/** Where the path starts in a line {@link FILE_LINE_RE} matches: after `{"path":"`. */
const FILE_LINE_PATH_START = 9;
/** From the path's closing quote to the digest (`","sha256":"`) and to the size (`","sha256":"` + 64 digits + `","size":`). */
const FILE_LINE_DIGEST_AFTER_PATH = 12;
const FILE_LINE_SIZE_AFTER_PATH = FILE_LINE_DIGEST_AFTER_PATH + 64 + 9;

export function parseEntry(line: string): ManifestEntry {
  // Fast path for the common case (a canonical file line): same result, about 5x cheaper.
  if (FILE_LINE_RE.test(line)) {
    const q = line.indexOf('"', FILE_LINE_PATH_START);
    const path = line.slice(FILE_LINE_PATH_START, q); // no backslash, quote or control character: the JSON string is the path itself
    const size = Number(line.slice(q + FILE_LINE_SIZE_AFTER_PATH, line.length - 1));
    if (Number.isSafeInteger(size)) {
      validatePath(path);
      return { path, sha256: line.slice(q + FILE_LINE_DIGEST_AFTER_PATH, q + FILE_LINE_DIGEST_AFTER_PATH + 64), size };
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new SnapError('MANIFEST_LINE_MALFORMED', `manifest line is not JSON: ${JSON.stringify(line.slice(0, 120))}`);
  }
  const entry = validateEntry(value);
  if (serializeEntry(entry) !== line) {
    throw new SnapError('MANIFEST_NOT_CANONICAL', `manifest line is not in RFC 8785 canonical form: ${JSON.stringify(line.slice(0, 120))}`, { path: entry.path });
  }
  return entry;
}

/**
 * Checks the order of a stream of manifest paths: strictly ascending by UTF-8 bytes.
 * Keeps only the previous path, so it runs over a manifest of any length in O(1) memory.
 */
export class ManifestOrder {
  private prev: string | undefined;
  /** Number of paths accepted so far. */
  count = 0;

  /**
   * Accept the next path.
   * @throws SnapError `MANIFEST_DUPLICATE_PATH` | `MANIFEST_UNSORTED`, with `details.line` (1-based)
   */
  accept(path: string): void {
    if (this.prev !== undefined) {
      const c = compareUtf8(this.prev, path);
      if (c === 0) throw new SnapError('MANIFEST_DUPLICATE_PATH', `duplicate path ${JSON.stringify(path)} at line ${this.count + 1}`, { path, line: this.count + 1 });
      if (c > 0) throw new SnapError('MANIFEST_UNSORTED', `path ${JSON.stringify(path)} at line ${this.count + 1} is out of order (manifest lines are sorted by the UTF-8 bytes of path)`, { path, line: this.count + 1 });
    }
    this.prev = path;
    this.count++;
  }

  /**
   * Accept `n` paths (n ≥ 1) that the caller has proven to be in strict order, from `first` to
   * `last` (verify's bulk runs: each path equals the next file of the walk, which is in manifest
   * order). Only the join with the paths before is checked here.
   * @returns false, and nothing accepted, when `first` does not come after the previous path
   */
  acceptRun(first: string, last: string, n: number): boolean {
    if (this.prev !== undefined && compareUtf8(this.prev, first) >= 0) return false;
    if (n > 1 && compareUtf8(first, last) >= 0) return false;
    if (n < 1 || (n === 1 && first !== last)) return false;
    this.prev = last;
    this.count += n;
    return true;
  }
}

/**
 * Parse a whole manifest held in memory (for small manifests and tests; the store streams large
 * ones line by line with {@link parseEntry} and {@link ManifestOrder}).
 * @param text the manifest text: every line ends in `\n`
 * @throws SnapError `MANIFEST_EMPTY` | `MANIFEST_NO_TRAILING_NEWLINE` | `MANIFEST_UNSORTED` |
 *   `MANIFEST_DUPLICATE_PATH` | every code of {@link parseEntry}; `details.line` is 1-based
 */
export function parseManifest(text: string): ManifestEntry[] {
  if (text.length === 0) throw new SnapError('MANIFEST_EMPTY', 'the manifest has no entries');
  if (!text.endsWith('\n')) throw new SnapError('MANIFEST_NO_TRAILING_NEWLINE', 'the manifest does not end with a newline (truncated?)');
  const lines = text.slice(0, -1).split('\n');
  const order = new ManifestOrder();
  const out: ManifestEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    let e: ManifestEntry;
    try {
      e = parseEntry(lines[i] as string);
    } catch (err) {
      if (err instanceof SnapError) throw new SnapError(err.code, `manifest line ${i + 1}: ${err.message}`, { ...err.details, line: i + 1 });
      throw err;
    }
    order.accept(e.path);
    out.push(e);
  }
  return out;
}

/** The manifest text of entries already in order: each canonical line followed by `\n`. */
export function serializeManifest(entries: readonly ManifestEntry[]): string {
  let s = '';
  for (const e of entries) s += serializeEntry(e) + '\n';
  return s;
}

/** Sort entries into manifest order (by UTF-8 bytes of path), in place; returns the array. */
export function sortEntries<T extends { path: string }>(entries: T[]): T[] {
  return entries.sort((a, b) => compareUtf8(a.path, b.path));
}
