/**
 * Bounds on `--exclude` patterns (gitignore syntax, SPEC §8), which come from the command line or
 * from a signed statement's `excludes` and are compiled to regular expressions by the `ignore`
 * package. Without a bound, a pattern of about 32,000 characters ends in "Invalid regular
 * expression" inside the matcher.
 */
import { SnapError, type SnapErrorCode } from './errors.js';
import { utf8 } from './encoding.js';

/** Most patterns one seal may record (and one statement may carry). */
export const MAX_EXCLUDES = 1024;
/** Longest pattern, in UTF-8 bytes: the longest path a manifest may hold (SPEC §2). */
export const MAX_EXCLUDE_PATTERN_BYTES = 4096;

/**
 * Check a list of exclude patterns against {@link MAX_EXCLUDES} and {@link MAX_EXCLUDE_PATTERN_BYTES};
 * each must be a non-empty string without NUL.
 * @param code the code to throw: `USAGE` for flags, `STATEMENT_INVALID` for a statement
 * @throws SnapError `code`
 */
export function checkExcludePatterns(patterns: readonly unknown[], code: SnapErrorCode): void {
  if (patterns.length > MAX_EXCLUDES) throw new SnapError(code, `${patterns.length} exclude patterns given; at most ${MAX_EXCLUDES} are accepted`);
  for (const [i, p] of patterns.entries()) {
    if (typeof p !== 'string' || p.length === 0) throw new SnapError(code, `exclude pattern ${i + 1} is empty`);
    if (p.includes('\0')) throw new SnapError(code, `exclude pattern ${i + 1} holds a NUL character`);
    const bytes = utf8(p).length;
    if (bytes > MAX_EXCLUDE_PATTERN_BYTES) throw new SnapError(code, `exclude pattern ${i + 1} is ${bytes} bytes long; at most ${MAX_EXCLUDE_PATTERN_BYTES} are accepted`);
  }
}

/** What {@link isExcludedPath} needs of a compiled matcher (the `ignore` package's `Ignore`). */
export interface ExcludeMatcher {
  ignores(path: string): boolean;
}

/**
 * Whether `path` (a manifest path: `/`-separated, no `.`/`..`/empty segments) is left out by the
 * patterns, with the semantics a folder walk gives them (io/walk.ts): a folder that a pattern
 * matches (asked as `dir/`) is not entered, so nothing under it is kept, whatever a later `!`
 * pattern says; otherwise the file itself is asked. For datasets that are listings of keys
 * rather than folders (S3), where a folder exists only as a prefix of its keys.
 */
export function isExcludedPath(matcher: ExcludeMatcher, path: string): boolean {
  let from = 0;
  for (;;) {
    const slash = path.indexOf('/', from);
    if (slash < 0) return matcher.ignores(path);
    if (matcher.ignores(path.slice(0, slash + 1))) return true;
    from = slash + 1;
  }
}
