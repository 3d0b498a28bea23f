/**
 * Test helpers for output that reaches a terminal: what may not be in it (control characters,
 * bidirectional controls, bytes that are not UTF-8), and how to read escaped text back.
 */

/** Bidirectional controls and line/paragraph separators: never printed raw. */
const INVISIBLE = new Set([0x061c, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]);
/** Characters with no glyph (zero-width space, BOM, tag characters …): never printed raw either. */
const IGNORABLE = /^\p{Default_Ignorable_Code_Point}$/u;

/**
 * What is wrong with text bound for a terminal, or undefined when nothing is: a character below
 * U+0020 (but `\n`, unless `lines` is false), DEL, a C1 control, a bidirectional control, a line
 * or paragraph separator, a character with no glyph (Default_Ignorable_Code_Point), a lone
 * surrogate; with `replacement`, also U+FFFD (which Node writes for a lone surrogate: a name
 * decoded without loss was printed raw).
 */
export function unsafeIn(text: string, opts: { lines?: boolean; replacement?: boolean } = {}): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const where = () => `U+${c.toString(16).padStart(4, '0')} at ${i} in ${JSON.stringify(text.slice(Math.max(0, i - 40), i + 40))}`;
    if (c === 0x0a && opts.lines !== false) continue;
    if (c < 0x20 || c === 0x7f) return `control character ${where()}`;
    if (c >= 0x80 && c <= 0x9f) return `C1 control ${where()}`;
    if (INVISIBLE.has(c)) return `bidirectional control or separator ${where()}`;
    if (c >= 0xa0 && c < 0xd800 && IGNORABLE.test(String.fromCharCode(c))) return `character with no glyph ${where()}`;
    if (c === 0xfffd && opts.replacement) return `U+FFFD (a lone surrogate was written) ${where()}`;
    if (c >= 0xd800 && c <= 0xdbff && text.charCodeAt(i + 1) >= 0xdc00 && text.charCodeAt(i + 1) <= 0xdfff) {
      if (IGNORABLE.test(text.slice(i, i + 2))) return `character with no glyph ${where()}`;
      i++;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) return `lone surrogate ${where()}`;
  }
  return undefined;
}

/**
 * What is wrong with bytes bound for a terminal: not valid UTF-8, or (decoded) what
 * {@link unsafeIn} finds, U+FFFD included; `\n` line ends are allowed.
 */
export function unsafeBytes(bytes: Uint8Array): string | undefined {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return 'not valid UTF-8';
  }
  return unsafeIn(text, { replacement: true });
}

/**
 * Read back what `escapeForTerminal` wrote (the tests' independent decoder of its table):
 * `\\`, `\n`, `\r`, `\t`, `\xNN` (below 0x80 the character, else the byte that was not UTF-8, as
 * U+DC00 + NN) and `\uNNNN`. Throws on anything else after a backslash.
 */
export function unescapeTerminal(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const k = text[++i];
    if (k === '\\') out += '\\';
    else if (k === 'n') out += '\n';
    else if (k === 'r') out += '\r';
    else if (k === 't') out += '\t';
    else if (k === 'x' && /^[0-9a-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      const n = parseInt(text.slice(i + 1, i + 3), 16);
      out += String.fromCharCode(n < 0x80 ? n : 0xdc00 + n);
      i += 2;
    } else if (k === 'u' && /^[0-9a-f]{4}$/.test(text.slice(i + 1, i + 5))) {
      out += String.fromCharCode(parseInt(text.slice(i + 1, i + 5), 16));
      i += 4;
    } else throw new Error(`not an escape: ${JSON.stringify(text.slice(i - 1, i + 5))}`);
  }
  return out;
}

/**
 * The path printed by `escapePath` or `quotedPath` (src/core/display.ts), read back: a quoted one
 * (`"tr\u0430in.jsonl"`, its `"` written `\"`) or a bare one (as {@link unescapeTerminal}).
 */
export function unescapePath(text: string): string {
  if (!text.startsWith('"')) return unescapeTerminal(text);
  if (text.length < 2 || !text.endsWith('"') || /(^|[^\\])(\\\\)*"/.test(text.slice(1, -1))) throw new Error(`not a quoted path: ${JSON.stringify(text)}`);
  return unescapeTerminal(text.slice(1, -1).replace(/\\(["\\])/g, (_m, c: string) => (c === '"' ? '"' : '\\\\')));
}
