/**
 * Names that could pass for other names on a screen, and the text that tells them apart: a record
 * key value or a label (`records/key-text.ts`) and a file path (`display.ts`: `escapePath`) that
 * could be read as another one is printed as a quoted string whose characters outside ASCII are
 * written as `\uXXXX`, so `tr\u0430in.jsonl` (a Cyrillic а) is not shown as a second
 * `train.jsonl`. Pure.
 *
 * What counts (Unicode UTS #39, "Unicode Security Mechanisms", §4 confusable detection and §5
 * mixed-script detection, kept to rules that need no table):
 * - letters of two scripts whose letters pass for one another ({@link mixesScripts}) — in a path,
 *   within one word (a run of letters and marks), so that `файл.txt`, a Cyrillic name with a Latin
 *   extension, is left as it is while `tr\u0430in.jsonl` is not;
 * - (paths) a name that is not in Unicode Normalization Form C (UAX #15): `e` + U+0301 beside the
 *   precomposed `é` are two names, two byte strings, that print alike;
 * - (paths) a character outside ASCII whose compatibility form (NFKC) is ASCII — full-width
 *   `ｘ` (U+FF58) for `x`, the ligature `ﬁ`, mathematical letters, the Kelvin sign, a no-break or
 *   ideographic space —, which a reader takes for the ASCII it stands for;
 * - (paths) a combining mark at the start of a segment or right after an ASCII character (one that
 *   NFC could not compose: `i` + U+0307 reads as `i`; `/` + U+0338 draws over the separator);
 * - (paths) a segment that begins or ends with white space (`x.csv ` beside `x.csv`).
 *
 * Characters with no glyph at all (zero-width spaces, bidirectional controls …) are not judged
 * here: every printer escapes them already (`display.ts`, `escapeForTerminal`).
 */

/**
 * Scripts whose letters pass for one another (UTS #39 confusables: Cyrillic а, е, о, р, с, х and
 * Greek ο, ν beside Latin a, e, o, p, c, x, o, v). A value with letters of two of them — `cаt` with a
 * Cyrillic а beside `cat` — reads as another on any screen.
 */
const CONFUSABLE_SCRIPTS: readonly RegExp[] = [/\p{Script=Latin}/u, /\p{Script=Greek}/u, /\p{Script=Cyrillic}/u, /\p{Script=Armenian}/u, /\p{Script=Cherokee}/u];

/** Only ASCII: one script, no mark, its own NFC and NFKC form (the common case, decided at once). */
const ASCII_ONLY = /^[\x00-\x7f]*$/;

/** Whether `v` holds letters of two of the {@link CONFUSABLE_SCRIPTS}. */
export function mixesScripts(v: string): boolean {
  if (ASCII_ONLY.test(v)) return false;
  let seen = -1;
  for (const ch of v) {
    const s = CONFUSABLE_SCRIPTS.findIndex((re) => re.test(ch));
    if (s < 0) continue;
    if (seen < 0) seen = s;
    else if (s !== seen) return true;
  }
  return false;
}

/** White space at either end of a path segment (JavaScript's `\s`: ASCII and Unicode spaces). */
const SPACE_AT_AN_END = /^\s|\s$/;
/** What separates the words of a path segment: anything but a letter or a mark (`.`, `_`, `-`, digits, spaces …). */
const NOT_A_LETTER = /[^\p{L}\p{M}]+/u;
/** A combining mark at the start of a segment, or right after an ASCII character. */
const MARK_ON_ASCII = /(?:^|[\x00-\x7f])\p{M}/u;
/** One character outside ASCII (a surrogate pair is one in `u` mode). */
const NON_ASCII_CHAR = /[^\x00-\x7f]/gu;

/** Whether one character outside ASCII has a compatibility form (NFKC) made only of ASCII: `ｘ` → `x`, `ﬁ` → `fi`. */
function passesForAscii(ch: string): boolean {
  const k = ch.normalize('NFKC');
  return k !== ch && ASCII_ONLY.test(k);
}

/** Whether one path segment could pass for another name (see the module comment). */
function segmentPassesForAnother(seg: string): boolean {
  if (SPACE_AT_AN_END.test(seg)) return true;
  if (ASCII_ONLY.test(seg)) return false;
  return seg.split(NOT_A_LETTER).some(mixesScripts) || MARK_ON_ASCII.test(seg) || (seg.match(NON_ASCII_CHAR) ?? []).some(passesForAscii);
}

/**
 * Whether a file path (`/`-separated; any string, lone surrogates for bytes that are not UTF-8
 * included) could be read on a screen as another path: it is not in NFC, or one of its segments
 * mixes look-alike scripts in one word, holds a character that stands for ASCII, a combining mark
 * on an ASCII character or at its start, or white space at an end (see the module comment). Pure
 * ASCII paths without such white space answer at once.
 */
export function pathPassesForAnother(path: string): boolean {
  if (ASCII_ONLY.test(path)) return path.split('/').some((seg) => SPACE_AT_AN_END.test(seg));
  if (path.normalize('NFC') !== path) return true;
  return path.split('/').some(segmentPassesForAnother);
}

/**
 * Text made only of ASCII: each UTF-16 unit outside it written as `\uXXXX` (four lowercase hex
 * digits; a character above U+FFFF as its two halves, as JSON writes them). Other characters are
 * kept, a backslash included: give it text whose backslashes are escapes already (a JSON string,
 * or the output of `escapeForTerminal`).
 */
export function escapeNonAscii(text: string): string {
  return text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `v` as a JSON string with every character outside ASCII written as `\uXXXX`: `"c\u0430t"`. */
export function asciiJsonString(v: string): string {
  return escapeNonAscii(JSON.stringify(v));
}
