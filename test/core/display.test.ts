/**
 * Text from outside, shown on a terminal (src/core/display.ts): the escaping table, and the two
 * properties that matter — the output is always safe to print, and no two strings print alike.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { escapeForTerminal, escapeListedPath, escapeMessage, escapePath, quotedPath, visibleCutIndex } from '../../src/core/display.js';
import { decodeNameBytes } from '../../src/core/name-bytes.js';
import { unescapePath, unescapeTerminal, unsafeIn } from '../helpers/terminal.js';

/** Any UTF-16 string, lone surrogates included, with the characters that need escaping made frequent. */
const anyText = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
      fc.constantFrom('\\', '\x1b', '\r', '\n', '\t', '\x00', '\x7f', '\x85', '\x9b', '\u202e', '\u2066', '\u200f', '\u061c', '\u2028', '\udcff', '\ud800', 'x', '[', '😀', 'é', '\u200b', '\ufeff', '\u{e0041}', '\udb40', '\udc41', '\udc80'),
      fc.string({ unit: 'grapheme' }),
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(''));

describe('escapeForTerminal', () => {
  it.each([
    ['a plain name', 'train/cat/0001.jpg', 'train/cat/0001.jpg'],
    ['letters of any script and characters above U+FFFF', 'données/日本/😀.txt', 'données/日本/😀.txt'],
    ['ESC, as \\x1b', 'x\x1b[2K', 'x\\x1b[2K'],
    ['LF, CR and TAB by name', 'a\nb\rc\td', 'a\\nb\\rc\\td'],
    ['NUL, BEL and DEL as \\xNN', '\x00\x07\x7f', '\\x00\\x07\\x7f'],
    ['a C1 control as \\u00NN', 'a\x9b2Jb\x85', 'a\\u009b2Jb\\u0085'],
    ['the right-to-left override and the other bidirectional controls', 'evil\u202egnp.exe\u2066\u2069\u200e\u200f\u061c', 'evil\\u202egnp.exe\\u2066\\u2069\\u200e\\u200f\\u061c'],
    ['the line and paragraph separators', 'a\u2028b\u2029', 'a\\u2028b\\u2029'],
    ['characters one cannot see (Unicode Default_Ignorable_Code_Point): zero-width space and joiner, word joiner, BOM, soft hyphen, Hangul filler, variation selector', 'a\u200bb\u200dc\u2060d\ufeffe\u00adf\u3164g\ufe0f', 'a\\u200bb\\u200dc\\u2060d\\ufeffe\\u00adf\\u3164g\\ufe0f'],
    ['one above U+FFFF (a tag character) as its two \\uNNNN halves', 'x\u{e0041}y', 'x\\udb40\\udc41y'],
    ['a byte that is not UTF-8 (carried as U+DCxx) as \\xNN', decodeNameBytes(Uint8Array.of(0x62, 0xff, 0x2e)), 'b\\xff.'],
    ['another lone surrogate as \\uNNNN', 'a\ud800b\udc00', 'a\\ud800b\\udc00'],
    ['a backslash, doubled', 'a\\b', 'a\\\\b'],
    ['the attack of issue 8', 'x\x1b[2K\rOK    all good\x1b[8m.csv', 'x\\x1b[2K\\rOK    all good\\x1b[8m.csv'],
  ])('writes %s', (_what, input, shown) => {
    expect(escapeForTerminal(input)).toBe(shown);
  });

  it('returns the very string when nothing needs escaping', () => {
    const s = 'a/b c.txt';
    expect(escapeForTerminal(s)).toBe(s);
  });

  it('always gives text that is safe on a terminal: no control character (not even LF), no bidirectional control, no lone surrogate', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        expect(unsafeIn(escapeForTerminal(s), { lines: false })).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });

  it('is injective: the original string can always be read back, so two names never print alike', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        expect(unescapeTerminal(escapeForTerminal(s))).toBe(s);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(anyText, anyText, (a, b) => {
        fc.pre(a !== b);
        expect(escapeForTerminal(a)).not.toBe(escapeForTerminal(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('escapes every character Unicode says to ignore when it has no glyph (Default_Ignorable_Code_Point), and no other above U+009F but the separators and lone surrogates', () => {
    const di = /^\p{Default_Ignorable_Code_Point}$/u;
    for (let cp = 0xa0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      const escaped = escapeForTerminal(`a${ch}b`) !== `a${ch}b`;
      if (escaped !== (di.test(ch) || cp === 0x2028 || cp === 0x2029)) expect.fail(`U+${cp.toString(16)}: escaped ${escaped}`);
    }
  });

  it('prints a name and the same name with an invisible character differently (renamed ham/1.txt → ham/1.txt<U+200B>)', () => {
    expect(escapeForTerminal('ham/1.txt\u200b')).not.toBe(escapeForTerminal('ham/1.txt'));
    expect(unsafeIn('ham/1.txt\u200b')).toBeDefined();
  });

  it('tells apart what looks alike: a raw byte, the C1 character, and the text of an escape', () => {
    const byte = decodeNameBytes(Uint8Array.of(0x85));
    const shown = [byte, '\x85', '\\x85', '\\u0085', '\x1b', '\\x1b'].map(escapeForTerminal);
    expect(new Set(shown).size).toBe(shown.length);
  });
});

describe('escapeMessage', () => {
  it('escapes what escapeForTerminal escapes, line breaks included, but keeps a backslash', () => {
    expect(escapeMessage('cannot read a\\b\x1b[2K\nc\u202e')).toBe('cannot read a\\b\\x1b[2K\\nc\\u202e');
  });

  it('is always safe, and leaves text escaped by escapeForTerminal as it is (no double escaping)', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        expect(unsafeIn(escapeMessage(s), { lines: false })).toBeUndefined();
        const shown = escapeForTerminal(s);
        expect(escapeMessage(`error: ${shown}`)).toBe(`error: ${shown}`);
      }),
      { numRuns: 2000 },
    );
  });
});

/** Paths with the characters escapePath judges made frequent: look-alike letters, marks, spaces, quotes. */
const anyPath = fc
  .array(
    fc.oneof(
      anyText,
      fc.constantFrom('/', '"', ' ', '\\', 'a', 'e', 'train', '\u0430', '\u0435', '\u03bf', '\u0301', '\u0307', '\u0338', '\u00e9', '\uff58', '\ufb01', '\u00a0', '\u3000', '\u212a', '\ud835\udc1a', '\udcff'),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));

describe('escapePath: a path that could pass for another prints quoted, its letters outside ASCII escaped', () => {
  it.each([
    ['a plain path, as it is', 'data/train.jsonl', 'data/train.jsonl'],
    ['a path in one script, as it is', 'données/été/файл.txt', 'données/été/файл.txt'],
    ['Latin with a Cyrillic а in one segment', 'data/tr\u0430in.jsonl', '"data/tr\\u0430in.jsonl"'],
    ['a name not in NFC (e + U+0301 beside é)', 'cafe\u0301.txt', '"cafe\\u0301.txt"'],
    ['full-width letters', '\uff58.txt', '"\\uff58.txt"'],
    ['a ligature (ﬁ for fi)', '\ufb01le.txt', '"\\ufb01le.txt"'],
    ['a letter above U+FFFF that stands for ASCII (mathematical bold a)', '\ud835\udc1a.txt', '"\\ud835\\udc1a.txt"'],
    ['a no-break space in a name', 'a\u00a0b.txt', '"a\\u00a0b.txt"'],
    ['a combining mark on an ASCII letter that NFC keeps (i + U+0307)', 'i\u0307.txt', '"i\\u0307.txt"'],
    ['a combining mark at the start of a segment', 'a/\u0338b', '"a/\\u0338b"'],
    ['a space at the end of a segment', 'x.csv ', '"x.csv "'],
    ['a space at the start of a folder name', ' data/x.csv', '" data/x.csv"'],
    ['a path that begins with a double quote', '"x".csv', '"\\"x\\".csv"'],
    ['a quoted path keeps the escapes of escapeForTerminal', 'tr\u0430in\u202e\\\udcff', '"tr\\u0430in\\u202e\\\\\\xff"'],
  ])('%s', (_what, path, shown) => {
    expect(escapePath(path)).toBe(shown);
    expect(unescapePath(shown)).toBe(path);
  });

  it('prints NFC and NFD twins, a Cyrillic а and a Latin a, a full-width and an ASCII x, a trailing space and none, all differently', () => {
    for (const [x, y] of <[string, string][]>[
      ['caf\u00e9.txt', 'cafe\u0301.txt'],
      ['train.jsonl', 'tr\u0430in.jsonl'],
      ['x.txt', '\uff58.txt'],
      ['x.txt', 'x.txt '],
    ]) expect(escapePath(x)).not.toBe(escapePath(y));
  });

  it('is injective and safe: every path reads back from its text, and a bare text never begins with a double quote', () => {
    fc.assert(
      fc.property(anyPath, (p) => {
        const shown = escapePath(p);
        expect(unsafeIn(shown, { lines: false })).toBeUndefined();
        expect(unescapePath(shown)).toBe(p);
        if (shown !== escapeForTerminal(p)) expect(shown).toMatch(/^"[\x20-\x7e]*"$/);
      }),
      { numRuns: 3000 },
    );
  });

  it('quotedPath always quotes, and escapes letters outside ASCII only when the name could pass for another', () => {
    expect(quotedPath('model.bin')).toBe('"model.bin"');
    expect(quotedPath('modèle.bin')).toBe('"modèle.bin"');
    expect(quotedPath('mod\u0435l.bin')).toBe('"mod\\u0435l.bin"');
    expect(quotedPath('a"b')).toBe('"a\\"b"');
    fc.assert(
      fc.property(anyPath, (p) => {
        expect(unescapePath(quotedPath(p))).toBe(p);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('escapeListedPath: a path in a file or record line is quoted when it holds the marks of such a line', () => {
  it('quotes a comma, a parenthesis, an arrow, a colon before a space, white space at an end; leaves 12:00, s3:// and plain names bare', () => {
    expect(escapeListedPath('train.csv: 3 labels flipped')).toBe('"train.csv: 3 labels flipped"');
    expect(escapeListedPath('b.jpg: cat → dog')).toBe('"b.jpg: cat → dog"');
    expect(escapeListedPath('a (row 2).csv')).toBe('"a (row 2).csv"');
    expect(escapeListedPath('c, d.txt')).toBe('"c, d.txt"');
    expect(escapeListedPath(' lead.txt')).toBe('" lead.txt"');
    expect(escapeListedPath('logs/12:00.jsonl')).toBe('logs/12:00.jsonl');
    expect(escapeListedPath('s3://b/x.csv')).toBe('s3://b/x.csv');
    expect(escapeListedPath('ham/1.txt')).toBe('ham/1.txt');
  });
});

describe('visibleCutIndex: where shown text may be cut', () => {
  it('moves a cut that falls inside an escape or a surrogate pair back to its start', () => {
    const shown = '"tr\\u0430in"'; // "tr\u0430in"
    expect(visibleCutIndex(shown, 100)).toBe(shown.length);
    for (const max of [3, 4, 5, 6, 7, 8]) expect(visibleCutIndex(shown, max), String(max)).toBe(3);
    expect(visibleCutIndex(shown, 9)).toBe(9);
    expect(visibleCutIndex('a\\x1bz', 3)).toBe(1);
    expect(visibleCutIndex('a\\\\b', 2)).toBe(1); // a\\b: the doubled backslash is one escape
    expect(visibleCutIndex('a\u{1f600}b', 2)).toBe(1);
  });

  it('leaves a prefix that reads back, escape by escape, to a prefix of the name, at most 5 units short of the limit', () => {
    fc.assert(
      fc.property(anyText, fc.nat(60), (t, max) => {
        const shown = escapeForTerminal(t);
        const cut = visibleCutIndex(shown, max);
        expect(cut).toBeLessThanOrEqual(Math.max(max, 0));
        if (shown.length > max) expect(cut).toBeGreaterThanOrEqual(max - 5);
        else expect(cut).toBe(shown.length);
        expect(t.startsWith(unescapeTerminal(shown.slice(0, cut)))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});
