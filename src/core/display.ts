/**
 * Text from outside (file names, link targets, refs, keyids, log fields, messages that embed them)
 * made safe to print on a terminal, so that a name cannot move the cursor, erase or recolour a
 * line, start a new line, reorder what follows it, or send bytes that are not UTF-8. The same idea
 * as `git`'s quoted paths and `ls --quoting-style=escape`.
 *
 * {@link escapeForTerminal} writes every character as itself except these, which become an escape
 * sequence made only of printable ASCII:
 *
 * | character                                         | written as                |
 * |---------------------------------------------------|---------------------------|
 * | `\` (U+005C)                                      | `\\`                      |
 * | LF, CR, TAB                                       | `\n`, `\r`, `\t`          |
 * | any other C0 control (U+0000–U+001F), DEL (U+007F) | `\xNN` (ESC is `\x1b`)    |
 * | a byte that is not UTF-8 (see `name-bytes.ts`)     | `\xNN` (NN is 80–ff)      |
 * | C1 control (U+0080–U+009F)                        | `\uNNNN` (`\u009b`)       |
 * | bidirectional control: U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069 | `\uNNNN` (`\u202e`) |
 * | any other character with no glyph (Unicode Default_Ignorable_Code_Point: zero-width space and joiners U+200B–U+200D, U+2060–U+206F, BOM U+FEFF, soft hyphen U+00AD, Hangul fillers, variation selectors, tag characters U+E0000–U+E0FFF …) | `\uNNNN` (`\u200b`); above U+FFFF its two UTF-16 halves (`\udb40\udc41`) |
 * | line and paragraph separator U+2028, U+2029        | `\uNNNN`                  |
 * | any other lone UTF-16 surrogate                    | `\uNNNN`                  |
 *
 * Hex digits are lowercase, `\x` is followed by exactly two and `\u` by exactly four. A byte that
 * is not UTF-8 is carried in a string as the lone surrogate U+DC80–U+DCFF (PEP 383
 * "surrogateescape", `decodeNameBytes`), so `\x80`–`\xff` always mean such a byte and never a
 * character, while `\u0080`–`\u009f` are C1 characters. Because a backslash is doubled, the
 * mapping is injective: the original string can be read back from the escaped one (the tests
 * decode it), and two different names never print alike — not even a name and the same name with
 * a zero-width space (which a terminal draws as nothing).
 *
 * {@link escapeMessage} is for our own messages, which may already embed escaped names: it
 * escapes the same characters but leaves a backslash as it is, so it is idempotent on escaped
 * text. Its output is as safe; it is only not injective.
 */

import { escapeNonAscii, pathPassesForAnother } from './look-alike.js';

/**
 * Characters that need an escape: a fast test before walking the string. In `u` mode a well-formed
 * surrogate pair is one character, so `[\ud800-\udfff]` finds only lone surrogates.
 * (Default_Ignorable_Code_Point holds the bidirectional controls U+061C, U+200E, U+200F,
 * U+202A–U+202E and U+2066–U+2069.)
 */
const NEEDS_ESCAPE = /[\x00-\x1f\x7f-\x9f\\\u2028\u2029\ud800-\udfff\p{Default_Ignorable_Code_Point}]/u;
/** The same without the backslash (for {@link escapeMessage}). */
const NEEDS_ESCAPE_MESSAGE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\p{Default_Ignorable_Code_Point}]/u;
/** One character with no glyph (a bidirectional control, a zero-width space, a tag character …). */
const IGNORABLE = /^\p{Default_Ignorable_Code_Point}$/u;

/** First and last lone surrogate that stand for a byte that is not UTF-8 (U+DC00 + byte). */
const RAW_BYTE_FIRST = 0xdc80;
const RAW_BYTE_LAST = 0xdcff;

const hex2 = (n: number) => n.toString(16).padStart(2, '0');
const hex4 = (n: number) => n.toString(16).padStart(4, '0');

/**
 * True for a BMP character (above U+009F) shown as `\uNNNN`: one with no glyph (a bidirectional
 * control, a zero-width space …: Default_Ignorable_Code_Point, the first of which is U+00AD) or a
 * line/paragraph separator.
 */
function isInvisibleFormat(c: number): boolean {
  return c === 0x2028 || c === 0x2029 || (c >= 0xad && IGNORABLE.test(String.fromCharCode(c)));
}

function escape(text: string, doubleBackslash: boolean): string {
  let out = '';
  let from = 0; // start of the run of characters copied as they are
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let rep: string | undefined;
    if (c === 0x5c) rep = doubleBackslash ? '\\\\' : undefined;
    else if (c < 0x20 || c === 0x7f) rep = c === 0x0a ? '\\n' : c === 0x0d ? '\\r' : c === 0x09 ? '\\t' : `\\x${hex2(c)}`;
    else if (c >= 0x80 && c <= 0x9f) rep = `\\u${hex4(c)}`;
    else if (isInvisibleFormat(c)) rep = `\\u${hex4(c)}`;
    else if (c >= 0xd800 && c <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        // A well-formed pair: one character above U+FFFF, printed as it is, unless it has no glyph
        // (a tag character U+E0000–U+E0FFF …): then as its two halves.
        if (IGNORABLE.test(text.slice(i, i + 2))) {
          out += `${text.slice(from, i)}\\u${hex4(c)}\\u${hex4(next)}`;
          from = i + 2;
        }
        i++;
        continue;
      }
      rep = c >= RAW_BYTE_FIRST && c <= RAW_BYTE_LAST ? `\\x${hex2(c - 0xdc00)}` : `\\u${hex4(c)}`;
    }
    if (rep === undefined) continue;
    out += text.slice(from, i) + rep;
    from = i + 1;
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * A string from outside, safe and unambiguous to print: see the table in this module's comment.
 * Printable characters (including every letter of every script, and characters above U+FFFF) are
 * kept; the result never holds a control character, a bidirectional control or another character
 * with no glyph, a lone surrogate or a line break, so it stays on its line, shows every character
 * it has, and its bytes are valid UTF-8.
 * @param text any string (a path, link target, ref, keyid, log field …)
 * @returns the escaped text; `text` itself when nothing needed escaping
 */
export function escapeForTerminal(text: string): string {
  return NEEDS_ESCAPE.test(text) ? escape(text, true) : text;
}

/**
 * One of our own messages (an error, a reason, a note), which may embed outside text, made safe to
 * print on one line: the characters of {@link escapeForTerminal}'s table are escaped the same way,
 * line breaks included, but a backslash is kept as it is (names the message embeds are escaped
 * already, and escaping them again would double their backslashes).
 * @returns the escaped text; `text` itself when nothing needed escaping
 */
export function escapeMessage(text: string): string {
  return NEEDS_ESCAPE_MESSAGE.test(text) ? escape(text, false) : text;
}

/**
 * A file path (a manifest entry's, a folder's name for one, a link target, a store file's) safe and
 * unambiguous to print: {@link escapeForTerminal}'s text, unless the path could pass for another
 * one on a screen (`look-alike.ts`, `pathPassesForAnother`: look-alike scripts mixed in a segment
 * as in `tr\u0430in.jsonl`, a name not in NFC such as `e` + U+0301 beside `é`, full-width or
 * other letters that stand for ASCII, a combining mark on an ASCII letter, white space at an end
 * of a segment) or begins with a double quote: then that text with each `"` written `\"` and each
 * character outside ASCII `\uNNNN` (a character above U+FFFF as its two UTF-16 halves), between
 * double quotes — `"tr\u0430in.jsonl"`, `"cafe\u0301.txt"`, `"x.csv "` —, as labels and key
 * values are (records/key-text.ts). A bare path never begins with `"` and a quoted one always
 * does, and each form is injective, so two paths never print alike. `--json` keeps the real string.
 * @returns the text to print; `path` itself when nothing needed escaping
 */
export function escapePath(path: string): string {
  if (path.charCodeAt(0) !== 0x22 && !pathPassesForAnother(path)) return escapeForTerminal(path);
  return quoted(path, true);
}

/**
 * A string that could not be told apart from others if printed bare in a list of values joined by
 * `, `: empty, holding a comma or a double quote, or beginning or ending with white space
 * (`spam` beside `spam `); or one holding the marks of the lines it is printed in — an arrow `→`
 * (a flip: `7: spam → ham`), parentheses (a share: `ham 80 (50.0 %)`, a row: `a.jpg  (row 2)`) or
 * a colon before a space (what follows a name: `train.csv: 3 labels flipped`; `12:00` and `s3://`
 * stay bare) — which a label such as `x (50.0 %) → 0` could use to pass for more of the line. Such a record key
 * value or label is printed as its JSON string instead (records/key-text.ts), and such a path in
 * the file lines of `diff` and `verify` between double quotes ({@link escapeListedPath}).
 */
export const NOT_BARE = /^$|[,"()\u2192]|: |^\s|\s$/;

/**
 * A path as a file line of `diff` or `verify` (and a record set's name in their record lines)
 * prints it: {@link escapePath}'s text, and between double quotes also when the path holds the
 * marks of those lines — parentheses, an arrow `→`, a comma, `: ` ({@link NOT_BARE}, the rule record keys
 * and labels follow) — so that a file named `b.jpg: cat → dog` or `a.csv  (row 2) [cat]` cannot pass
 * for a label flip or a record on a screen: `"b.jpg: cat → dog"  (2 B …)`. Quoted as
 * {@link quotedPath} quotes (letters outside ASCII escaped only when the path could pass for
 * another); each form is injective and a bare one never begins with `"`. `--json` keeps the real string.
 * @returns the text to print; `path` itself when nothing needed escaping or quoting
 */
export function escapeListedPath(path: string): string {
  if (path.charCodeAt(0) === 0x22 || pathPassesForAnother(path)) return escapePath(path);
  return NOT_BARE.test(path) ? quoted(path, false) : escapeForTerminal(path);
}

/**
 * A path (or a file name) always between double quotes, for output that has always quoted it (an
 * artifact's name in `attest`, `impact`, `verify-model`): {@link escapeForTerminal}'s text with
 * each `"` written `\"`, and each character outside ASCII as `\uNNNN` when the path could pass for
 * another ({@link escapePath}): `"model.bin"`, `"mod\u0435l.bin"`.
 */
export function quotedPath(path: string): string {
  return quoted(path, pathPassesForAnother(path));
}

function quoted(path: string, asciiOnly: boolean): string {
  const text = escapeForTerminal(path).replace(/"/g, '\\"');
  return `"${asciiOnly ? escapeNonAscii(text) : text}"`;
}

/**
 * Where text made visible ({@link escapeForTerminal}, {@link escapeMessage}, {@link escapePath} or
 * a JSON string such as `"c\u0430t"`) may be cut so that it ends at most at `max` (UTF-16 units)
 * without splitting an escape — `\uNNNN`, `\xNN`, or a backslash and the one character it
 * escapes (`\\`, `\n`, `\"` …) — or a surrogate pair: a cut half escape (`tr\u04`) would read
 * as another name, or as a backslash that escapes what follows it.
 * @returns the largest such index ≤ `max` (`text.length` when the text is no longer than `max`)
 */
export function visibleCutIndex(text: string, max: number): number {
  if (text.length <= max) return text.length;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    const len = c === 0x5c ? (next === 0x75 ? 6 : next === 0x78 ? 4 : 2) : c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff ? 2 : 1;
    if (i + len > max) return i;
    i += len;
  }
  return i;
}

/** Bytes as a short human size: 0 B, 999 B, 1.2 KiB, 3.4 MiB, 5.6 GiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}
