/**
 * Dataset paths (SPEC §2): validation rules and the manifest sort order.
 */
import { SnapError } from './errors.js';

/** Longest path allowed, in UTF-8 bytes (SPEC §2). */
export const MAX_PATH_BYTES = 4096;

/** UTF-8 length of a string in bytes, without allocating. Lone surrogates count 3 bytes (U+FFFD). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** Printable ASCII with no empty, "." or ".." segment and no leading "/": the common case, checked in one pass. */
const PLAIN_ASCII_PATH = /^(?!\/)(?!.*(?:^|\/)\.{0,2}(?:\/|$))[\x20-\x7e]{1,4096}$/;

/**
 * Check a dataset path against every rule of SPEC §2: relative, `/`-separated, never empty, no
 * empty, `.` or `..` segment, no leading `/`, no code point below U+0020 nor U+007F, valid UTF-8
 * (no lone surrogate), at most {@link MAX_PATH_BYTES} bytes.
 * @returns the path, unchanged
 * @throws SnapError `PATH_EMPTY` | `PATH_ABSOLUTE` | `PATH_EMPTY_SEGMENT` | `PATH_DOT_SEGMENT` |
 *   `PATH_DOTDOT_SEGMENT` | `PATH_CONTROL_CHAR` | `PATH_INVALID_UTF8` | `PATH_TOO_LONG`,
 *   with `details.path`
 */
export function validatePath(path: string): string {
  if (typeof path === 'string' && PLAIN_ASCII_PATH.test(path)) return path;
  const fail = (code: ConstructorParameters<typeof SnapError>[0], why: string): never => {
    throw new SnapError(code, `invalid path ${JSON.stringify(path)}: ${why}`, { path });
  };
  if (typeof path !== 'string' || path.length === 0) fail('PATH_EMPTY', 'a path is never empty');
  if (path.charCodeAt(0) === 0x2f) fail('PATH_ABSOLUTE', 'a path is relative to the dataset root (no leading "/")');
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) fail('PATH_CONTROL_CHAR', `control character U+${c.toString(16).padStart(4, '0')} at index ${i}`);
    if (c >= 0xd800 && c <= 0xdfff) {
      const hi = c <= 0xdbff;
      const next = path.charCodeAt(i + 1);
      if (hi && next >= 0xdc00 && next <= 0xdfff) i++;
      else fail('PATH_INVALID_UTF8', `lone surrogate at index ${i} (not valid UTF-8)`);
    }
  }
  if (utf8Length(path) > MAX_PATH_BYTES) fail('PATH_TOO_LONG', `longer than ${MAX_PATH_BYTES} bytes`);
  for (const seg of path.split('/')) {
    if (seg === '') fail('PATH_EMPTY_SEGMENT', 'empty segment (a trailing "/" or "//")');
    else if (seg === '.') fail('PATH_DOT_SEGMENT', '"." segment');
    else if (seg === '..') fail('PATH_DOTDOT_SEGMENT', '".." segment (escapes the dataset root)');
  }
  return path;
}

/**
 * Compare two strings by their UTF-8 bytes (equivalently, by code points), the manifest order of
 * SPEC §2. JavaScript's `<` compares UTF-16 code units, which puts U+10000… before U+E000…U+FFFF;
 * this does not.
 * @returns negative, zero or positive
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (part of a code point >= U+10000) sorts after every BMP unit >= U+E000.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys && (x >= 0xe000 || y >= 0xe000)) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}
