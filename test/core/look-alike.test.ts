/**
 * Which paths could pass for others on a screen (src/core/look-alike.ts): the rules of UTS #39 kept
 * to what needs no table, and the names of other scripts that must be left alone.
 */
import { describe, expect, it } from 'vitest';
import { passesForLatin, pathPassesForAnother, valuePassesForAnother } from '../../src/core/look-alike.js';

describe('pathPassesForAnother', () => {
  it.each([
    ['a Cyrillic а among Latin letters', 'tr\u0430in.jsonl'],
    ['a Greek ο in a folder name', 'd\u03bfcs/a.txt'],
    ['a Latin a among Cyrillic letters', '\u0444a\u0439\u043b.txt'],
    ['a name in NFD (e + U+0301)', 'cafe\u0301.txt'],
    ['a folder in NFD', 'cafe\u0301/a.txt'],
    ['full-width letters', 'tr\uff41in.jsonl'],
    ['the Kelvin sign for K', '\u212a.txt'],
    ['an ideographic space', 'a\u3000b'],
    ['a braille blank, drawn as a space', 'very\u2800good/1.txt'],
    ['an Ogham space mark, a space in most fonts', 'very\u1680good.txt'],
    ['i with a combining dot above (NFC keeps it)', 'i\u0307.txt'],
    ['a combining overlay at the start of a segment', 'a/\u0338b'],
    ['a trailing space', 'x.csv '],
    ['a leading space in a folder', 'x/ y/z'],
    ['a whole Cyrillic word that reads cop', '\u0441\u043e\u0440.txt'],
    ['a Greek folder of capitals that reads ABE', '\u0391\u0392\u0395/a.csv'],
    ['a Cherokee word that reads SEW', '\u13da\u13ac\u13b3.jsonl'],
    ['one Greek alpha as a name, beside a.txt', '\u03b1.txt'],
    ['a Cyrillic letter under a column of combining marks, drawn over the lines around it', `\u0436${'\u030d\u030e\u0310'.repeat(4)}.csv`],
    ['five combining marks in a row on a letter of another script', `data/\u03b1${'\u0301'.repeat(5)}/x.txt`],
  ])('yes: %s', (_what, path) => {
    expect(pathPassesForAnother(path)).toBe(true);
  });

  it.each([
    ['plain ASCII', 'data/train.jsonl'],
    ['spaces inside a name', 'my data/a b.csv'],
    ['Latin letters with accents, in NFC', 'données/été.txt'],
    ['a Cyrillic name with a Latin extension', '\u0444\u0430\u0439\u043b.txt'],
    ['a Cyrillic word with letters that pass for none (ф, й, л)', '\u0444\u0430\u0439\u043b/\u0441\u043e\u0440\u0442.csv'],
    ['a Greek folder beside a Latin file', '\u03b4\u03b5\u03b4\u03bf\u03bc\u03ad\u03bd\u03b1/train.jsonl'],
    ['Japanese and Chinese names', '\u30c7\u30fc\u30bf/\u8bad\u7ec3.csv'],
    ['a Devanagari word with its vowel signs (marks on a letter that is not ASCII)', '\u0921\u0947\u091f\u093e.csv'],
    ['an emoji', 'ok\u{1f600}.txt'],
    ['a byte that is not UTF-8', 'bad\udcff.csv'],
    ['a Tibetan stack (three marks in a row)', '\u0f56\u0f66\u0f92\u0fb2\u0f74\u0f56\u0f66.txt'],
    ['pointed, cantillated Hebrew (a letter, dagesh, vowel and accent)', `${'\u05d1\u05bc\u05b0\u0591'.normalize('NFC')}\u05e8.txt`],
    ['four combining marks in a row (MAX_MARKS_IN_A_ROW), in NFC', '\u03b1\u0323\u0330\u0331\u0332.txt'],
  ])('no: %s', (_what, path) => {
    expect(pathPassesForAnother(path)).toBe(false);
  });
});

describe('passesForLatin', () => {
  it('is true for a word of another script made only of letters that read as Latin ones', () => {
    expect(passesForLatin('\u0441\u043e\u0440')).toBe(true); // сор → cop
    expect(passesForLatin('\u0405\u0420\u0410\u041c')).toBe(true); // ЅРАМ → SPAM
  });
  it('is false for ASCII, for Latin letters with accents, for an empty word and for a word with any other letter', () => {
    expect(passesForLatin('cop')).toBe(false);
    expect(passesForLatin('\u00e9t\u00e9')).toBe(false);
    expect(passesForLatin('')).toBe(false);
    expect(passesForLatin('\u0441\u043e\u0440\u0442')).toBe(false); // сорт: т is not in the table
  });
});

describe('valuePassesForAnother (labels and key values)', () => {
  it('is true for a label under a column of combining marks (found by review, thirty-eighth session: it drew over the report\'s other rows and its verdict), and false for a Tibetan or Hebrew label', () => {
    expect(valuePassesForAnother(`\u0436${'\u030d\u030e\u0310\u0312'.repeat(8)}`)).toBe(true);
    expect(valuePassesForAnother('\u0f56\u0f66\u0f92\u0fb2\u0f74\u0f56\u0f66')).toBe(false);
    expect(valuePassesForAnother('\u05d1\u05bc\u05b0\u05e8'.normalize('NFC'))).toBe(false);
  });
});
