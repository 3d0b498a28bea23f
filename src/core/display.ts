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
 * | line and paragraph separator U+2028, U+2029        | `\uNNNN`                  |
 * | any other lone UTF-16 surrogate                    | `\uNNNN`                  |
 *
 * Hex digits are lowercase, `\x` is followed by exactly two and `\u` by exactly four. A byte that
 * is not UTF-8 is carried in a string as the lone surrogate U+DC80–U+DCFF (PEP 383
 * "surrogateescape", `decodeNameBytes`), so `\x80`–`\xff` always mean such a byte and never a
 * character, while `\u0080`–`\u009f` are C1 characters. Because a backslash is doubled, the
 * mapping is injective: the original string can be read back from the escaped one (the tests
 * decode it), and two different names never print alike.
 *
 * {@link escapeMessage} is for our own messages, which may already embed escaped names: it
 * escapes the same characters but leaves a backslash as it is, so it is idempotent on escaped
 * text. Its output is as safe; it is only not injective.
 */

/** Characters that need an escape: a fast test before walking the string. */
const NEEDS_ESCAPE = /[\x00-\x1f\x7f-\x9f\\\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]/;
/** The same without the backslash (for {@link escapeMessage}). */
const NEEDS_ESCAPE_MESSAGE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]/;

/** First and last lone surrogate that stand for a byte that is not UTF-8 (U+DC00 + byte). */
const RAW_BYTE_FIRST = 0xdc80;
const RAW_BYTE_LAST = 0xdcff;

const hex2 = (n: number) => n.toString(16).padStart(2, '0');
const hex4 = (n: number) => n.toString(16).padStart(4, '0');

/** True for a bidirectional control or a line/paragraph separator (shown as `\uNNNN`). */
function isInvisibleFormat(c: number): boolean {
  return c === 0x061c || c === 0x200e || c === 0x200f || (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
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
        i++; // a well-formed pair: one character above U+FFFF, printed as it is
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
 * kept; the result never holds a control character, a bidirectional control, a lone surrogate or
 * a line break, so it stays on its line and its bytes are valid UTF-8.
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
