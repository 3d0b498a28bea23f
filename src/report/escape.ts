/**
 * Outside text (file names, record keys, labels, refs, keyids, messages) made safe for the three
 * places a report puts it: HTML text and attribute values (also inside inline SVG), a cell of a
 * GitHub-flavoured Markdown table, and a word of a POSIX shell command line. Pure.
 *
 * Every escaper first makes the text visible with `escapeForTerminal` (core/display.ts): control
 * characters, bidirectional overrides, line separators and bytes that are not UTF-8 (lone
 * surrogates) become printable `\xNN` / `\uNNNN` sequences, so a name can neither hide, reorder
 * nor break a line of the report, and the output is always valid UTF-8.
 */
import { escapeForTerminal, escapeMessage } from '../core/display.js';

const HTML_SPECIAL = /[&<>"']/g;
const HTML_ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escape the five HTML-special characters (the HTML spec's text and quoted attribute contexts; also XML/SVG). */
function htmlSpecial(text: string): string {
  return text.replace(HTML_SPECIAL, (c) => HTML_ENTITY[c] as string);
}

/**
 * A leading `#` as a character reference: a table cell whose HTML starts with `#` is a number
 * (`htmlTable` right-aligns it and drops the `#`), which outside text must never be taken for.
 */
const leadingHash = (s: string) => (s.startsWith('#') ? `&#35;${s.slice(1)}` : s);

/**
 * Outside text as HTML (text content or a double-quoted attribute value, in HTML or inline SVG):
 * made visible with `escapeForTerminal`, then `& < > " '` (and a leading `#`) as character references.
 */
export function html(text: string): string {
  return leadingHash(htmlSpecial(escapeForTerminal(text)));
}

/**
 * Text made visible already as HTML: a name as the report's facts hold it (incident-facts.ts:
 * `escapeListedPath`, `escapeForTerminal` or a label's JSON string, then cut), or one of our own messages,
 * which may embed such names. `escapeMessage` (which leaves a backslash as it is: the escapes in
 * the text are written once, `"c\u0430t"`, never `"c\\u0430t"`), then `& < > " '` (and a
 * leading `#`) as character references.
 */
export function htmlShown(text: string): string {
  return leadingHash(htmlSpecial(escapeMessage(text)));
}

/** One of our own messages (which may embed escaped names) as HTML: {@link htmlShown}. */
export const htmlMessage = htmlShown;

/**
 * Markdown characters that could, mid-line, start emphasis, code, a link or image, an HTML tag, an
 * entity, strikethrough or math, end a table cell, or (`:`) make a URL an autolink. Line-start
 * markers (`#`, `-`, `+`, `1.`) need no escape: no outside text starts a line of a report.
 */
const MARKDOWN_SPECIAL = /[\\`*_[\]<>&|~$:]/g;

/**
 * Where plain text would become a link in a GFM renderer (GFM spec §6.9, "Autolinks (extension)"):
 * between the slashes of a scheme's `://` (markdown-it links a bare `//host` too), the `.` after `www` (any case), and an `@` followed by a dotted
 * domain (an e-mail address, also `mailto:` and `xmpp:`). An escape does not stop every renderer:
 * GitHub's (cmark-gfm) finds e-mail addresses, and remark-gfm every kind, in the text after
 * escapes and references are read back — `user\@evil.com` and `http\://evil.com` are links there.
 */
const AUTOLINK_TRIGGER = /(?<=:\/)(?=\/)|(?<=www)(?=\.)|@(?=[-.\w]*\.[A-Za-z0-9])/gi;

/**
 * An empty HTML comment, written at each {@link AUTOLINK_TRIGGER}: it ends the text node (CommonMark
 * §6.6, raw HTML), so no renderer sees `scheme://`, `www.` or `user@domain` whole, and it shows as
 * nothing (HTML drops comments).
 */
const LINK_BREAK = '<!-- -->';

/**
 * A space right after another: written as a no-break space ({@link KEPT_SPACE}), because a renderer
 * writes Markdown text as HTML, which shows a run of spaces as one — `very  good` read as `very good`.
 * (A no-break space in a path, a label or a key value is not shown bare: it stands for ASCII, so
 * the name is written with `\u00a0`, core/look-alike.ts.)
 */
const SPACE_AFTER_SPACE = /(?<= ) /g;
/** The no-break space {@link SPACE_AFTER_SPACE} is written as (HTML 5 named character reference). */
const KEPT_SPACE = '&nbsp;';

/**
 * Visible text (no control character: the output of `escapeForTerminal` or `escapeMessage`) as
 * Markdown text: a NUL marks each {@link AUTOLINK_TRIGGER}, every {@link MARKDOWN_SPECIAL} is
 * backslash-escaped (CommonMark §2.4) except `<`, `>`, `&`, written as character references
 * (GitHub renders inline HTML), each space after a space is {@link KEPT_SPACE}, then each NUL
 * becomes {@link LINK_BREAK}.
 */
function markdownText(visible: string): string {
  return visible
    .replace(AUTOLINK_TRIGGER, (c) => `${c}\0`)
    .replace(MARKDOWN_SPECIAL, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : `\\${c}`))
    .replace(SPACE_AFTER_SPACE, KEPT_SPACE)
    .replace(/\0/g, LINK_BREAK);
}

/**
 * Outside text as the content of a GitHub-flavoured Markdown table cell (or inline text), read by a
 * renderer as exactly the text it is: made visible with `escapeForTerminal` (no line break
 * survives), then written by {@link markdownText} — so `|` cannot end the cell, a backtick cannot
 * open code, `[x](y)` and `<http://x>` are no links, `<script>` stays text, and neither a URL, a
 * `www.` name nor an e-mail address becomes an autolink.
 */
export function markdown(text: string): string {
  return markdownText(escapeForTerminal(text));
}

/**
 * Text made visible already (see {@link htmlShown}) as Markdown (see {@link markdown};
 * `escapeMessage` instead of `escapeForTerminal`, so its escapes are written once).
 */
export function markdownShown(text: string): string {
  return markdownText(escapeMessage(text));
}

/** One of our own messages as Markdown: {@link markdownShown}. */
export const markdownMessage = markdownShown;

const UTF8 = new TextEncoder();

/** A word the shell takes as it is (no quoting needed). */
const SHELL_PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;
/**
 * Characters a `'…'` word could carry but a reader could not see or copy (controls, characters with
 * no glyph — bidirectional controls, zero-width spaces, tag characters … —, separators, lone
 * surrogates); `u` mode: a well-formed surrogate pair is one character.
 */
const SHELL_INVISIBLE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\p{Default_Ignorable_Code_Point}]/u;

/**
 * A string as one word of a shell command line that gives the program exactly that string: as it
 * is when it holds only `[A-Za-z0-9_@%+=:,./-]`; else in single quotes (POSIX sh, `'` written
 * as `'\''`); a string with a character one could not see or copy (a control, a bidirectional
 * control, a byte that is not UTF-8) as ANSI-C quoting `$'…'` (bash, zsh, ksh; POSIX.1-2024) with
 * `\xNN` escapes of its UTF-8 bytes (a lone surrogate U+DC80–U+DCFF as the raw byte it stands for).
 */
export function shellWord(text: string): string {
  if (text !== '' && SHELL_PLAIN.test(text)) return text;
  if (!SHELL_INVISIBLE.test(text)) return `'${text.replace(/'/g, `'\\''`)}'`;
  let out = "$'";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xdc80 && c <= 0xdcff) out += `\\x${(c - 0xdc00).toString(16).padStart(2, '0')}`;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && text.charCodeAt(i + 1) >= 0xdc00 && text.charCodeAt(i + 1) <= 0xdfff) {
      const pair = text.slice(i, i + 2);
      out += SHELL_INVISIBLE.test(pair) ? [...UTF8.encode(pair)].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('') : pair;
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) out += `\\x3f`; // any other lone surrogate: not a character, written as '?'
    else if (c === 0x27 || c === 0x5c) out += `\\${text[i]}`;
    else if (SHELL_INVISIBLE.test(text[i] as string)) out += [...UTF8.encode(text[i] as string)].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
    else out += text[i];
  }
  return out + "'";
}

/** A command line from its words, each quoted by {@link shellWord}. */
export function shellCommand(words: readonly string[]): string {
  return words.map(shellWord).join(' ');
}
