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
