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
 * - a word of another script made only of letters that pass for Latin ones ({@link passesForLatin},
 *   UTS #39 §4's whole-script confusables, with a small table): `\u0441\u043e\u0440.txt`, three
 *   Cyrillic letters that read `cop.txt`;
 * - (paths, keys and labels) a name that is not in Unicode Normalization Form C (UAX #15): `e` + U+0301 beside the
 *   precomposed `é` are two names, two byte strings, that print alike;
 * - (paths, keys and labels) a character outside ASCII whose compatibility form (NFKC) is ASCII — full-width
 *   `ｘ` (U+FF58) for `x`, the ligature `ﬁ`, mathematical letters, the Kelvin sign, a no-break or
 *   ideographic space —, or that is drawn as a space (the braille blank U+2800, the Ogham space
 *   mark U+1680), which a reader takes for the ASCII it stands for;
 * - (paths, keys and labels) a combining mark at the start of a segment (a value) or right after an ASCII character (one that
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

/** What separates the words of a path segment or a value: anything but a letter or a mark (`.`, `_`, `-`, digits, spaces …). */
const NOT_A_LETTER = /[^\p{L}\p{M}]+/u;

/**
 * Letters of other scripts that Unicode's confusables data (UTS #39 §4, `confusables.txt`) maps to
 * one ASCII Latin letter: Cyrillic а е о р с у х і ј ѕ һ ԁ ԛ ԝ ӏ and capitals А В Е К М Н О Р С Т
 * Х У Ѕ І Ј Ԍ Ԛ Ԝ Ү Ӏ; Greek ο α ν ι ρ γ and capitals Α Β Ε Ζ Η Ι Κ Μ Ν Ο Ρ Τ Υ Χ; Armenian օ ո ս
 * հ ց ք; Cherokee capitals that read as A B C D E G H J K L M P R S T V W Z. A selection (the data
 * file maps thousands of characters), kept to the letters of the scripts {@link CONFUSABLE_SCRIPTS}
 * names that pass for a Latin letter in common fonts.
 */
const LATIN_LOOK_ALIKES = new Set(
  [
    '\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0456\u0458\u0455\u04bb\u0501\u051b\u051d\u04cf',
    '\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0425\u0423\u0405\u0406\u0408\u050c\u051a\u051c\u04ae\u04c0',
    '\u03bf\u03b1\u03bd\u03b9\u03c1\u03b3',
    '\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7',
    '\u0585\u0578\u057d\u0570\u0581\u0584',
    '\u13aa\u13f4\u13df\u13a0\u13ac\u13c0\u13bb\u13ab\u13e6\u13de\u13b7\u13e2\u13a1\u13da\u13a2\u13d9\u13b3\u13c3',
  ].join(''),
);

/**
 * Whether one word (a run of letters and marks) is written in another script entirely with letters
 * that pass for Latin ones ({@link LATIN_LOOK_ALIKES}), so that it reads as a Latin word:
 * `\u0441\u043e\u0440` (Cyrillic) for `cop`, `\u0391\u0392` (Greek) for `AB`. A word with any other
 * letter of its script (`\u0444\u0430\u0439\u043b`, Cyrillic for "file") does not, nor a Latin or
 * ASCII one. UTS #39 §4 calls such a word a whole-script confusable.
 */
export function passesForLatin(word: string): boolean {
  if (word === '' || ASCII_ONLY.test(word)) return false;
  for (const ch of word) if (!LATIN_LOOK_ALIKES.has(ch)) return false;
  return true;
}

/** Whether text holds a word that mixes look-alike scripts ({@link mixesScripts}) or passes for a Latin one ({@link passesForLatin}). */
export function wordPassesForAnother(text: string): boolean {
  if (ASCII_ONLY.test(text)) return false;
  return text.split(NOT_A_LETTER).some((w) => mixesScripts(w) || passesForLatin(w));
}

/** White space at either end of a path segment (JavaScript's `\s`: ASCII and Unicode spaces). */
const SPACE_AT_AN_END = /^\s|\s$/;
/** A combining mark at the start of a segment, or right after an ASCII character. */
const MARK_ON_ASCII = /(?:^|[\x00-\x7f])\p{M}/u;
/**
 * Combining marks in a row that text of any script has room for: a Tibetan stack (`\u0f66\u0f92\u0fb2\u0f74`),
 * Hebrew pointed and cantillated (a letter, dagesh, vowel, accent), Devanagari with nukta, vowel sign
 * and anusvara each keep to 3. A longer run (UAX #15's Stream-Safe Text Format allows 30) is drawn
 * as a column above or below its line, over the text around it — over a report's table rows and
 * verdict, or the terminal's other lines — and hides which marks it holds.
 */
export const MAX_MARKS_IN_A_ROW = 4;
const STACKED_MARKS = new RegExp(`\\p{M}{${MAX_MARKS_IN_A_ROW + 1}}`, 'u');
/** One character outside ASCII (a surrogate pair is one in `u` mode). */
const NON_ASCII_CHAR = /[^\x00-\x7f]/gu;

/**
 * Characters outside ASCII drawn as a blank, as a space is, that NFKC leaves as they are: the
 * braille blank U+2800 (a symbol, no white space to Unicode) and the Ogham space mark U+1680 (white
 * space with no compatibility form; a space in most fonts). `very\u2800good` read as `very good`.
 * (The other spaces outside ASCII have a space as their NFKC form; characters with no glyph at all
 * are escaped by every printer: display.ts.)
 */
const DRAWN_AS_SPACE = /^[\u1680\u2800]$/;

/**
 * Whether one character outside ASCII passes for ASCII: its compatibility form (NFKC) is made only
 * of ASCII (`ｘ` → `x`, `ﬁ` → `fi`), or it is drawn as a space ({@link DRAWN_AS_SPACE}).
 */
function passesForAscii(ch: string): boolean {
  if (DRAWN_AS_SPACE.test(ch)) return true;
  const k = ch.normalize('NFKC');
  return k !== ch && ASCII_ONLY.test(k);
}

/** Whether one path segment could pass for another name (see the module comment). */
function segmentPassesForAnother(seg: string): boolean {
  if (SPACE_AT_AN_END.test(seg)) return true;
  if (ASCII_ONLY.test(seg)) return false;
  return wordPassesForAnother(seg) || MARK_ON_ASCII.test(seg) || STACKED_MARKS.test(seg) || (seg.match(NON_ASCII_CHAR) ?? []).some(passesForAscii);
}

/**
 * Whether a value (a record key value or a label, records/key-text.ts) prints like another one in
 * a way {@link wordPassesForAnother} does not see: it is not in NFC (`cafe` + U+0301 beside the
 * precomposed `caf\u00e9`), holds a combining mark at its start or on an ASCII character (`ham` +
 * U+0338 reads as `ham` struck through, not as a new label), more than {@link MAX_MARKS_IN_A_ROW}
 * combining marks in a row (drawn over the text around them), or a character that stands for ASCII
 * (full-width `\uff48am` for `ham`). The rules paths have (`pathPassesForAnother`) but for white
 * space at an end, which values judge on their own (display.ts, `NOT_BARE`).
 */
export function valuePassesForAnother(v: string): boolean {
  if (ASCII_ONLY.test(v)) return false;
  if (v.normalize('NFC') !== v) return true;
  return MARK_ON_ASCII.test(v) || STACKED_MARKS.test(v) || (v.match(NON_ASCII_CHAR) ?? []).some(passesForAscii);
}

/**
 * Whether a file path (`/`-separated; any string, lone surrogates for bytes that are not UTF-8
 * included) could be read on a screen as another path: it is not in NFC, or one of its segments
 * mixes look-alike scripts in one word or has a word of another script that reads as Latin, holds a character that stands for ASCII, a combining mark
 * on an ASCII character or at its start, more than {@link MAX_MARKS_IN_A_ROW} combining marks in a row, or white space at an end (see the module comment). Pure
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
