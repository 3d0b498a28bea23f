/**
 * Which paths could pass for others on a screen (src/core/look-alike.ts): the rules of UTS #39 kept
 * to what needs no table, and the names of other scripts that must be left alone.
 */
import { describe, expect, it } from 'vitest';
import { pathPassesForAnother } from '../../src/core/look-alike.js';

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
    ['i with a combining dot above (NFC keeps it)', 'i\u0307.txt'],
    ['a combining overlay at the start of a segment', 'a/\u0338b'],
    ['a trailing space', 'x.csv '],
    ['a leading space in a folder', 'x/ y/z'],
  ])('yes: %s', (_what, path) => {
    expect(pathPassesForAnother(path)).toBe(true);
  });

  it.each([
    ['plain ASCII', 'data/train.jsonl'],
    ['spaces inside a name', 'my data/a b.csv'],
    ['Latin letters with accents, in NFC', 'données/été.txt'],
    ['a Cyrillic name with a Latin extension', '\u0444\u0430\u0439\u043b.txt'],
    ['a Greek folder beside a Latin file', '\u03b4\u03b5\u03b4\u03bf\u03bc\u03ad\u03bd\u03b1/train.jsonl'],
    ['Japanese and Chinese names', '\u30c7\u30fc\u30bf/\u8bad\u7ec3.csv'],
    ['a Devanagari word with its vowel signs (marks on a letter that is not ASCII)', '\u0921\u0947\u091f\u093e.csv'],
    ['an emoji', 'ok\u{1f600}.txt'],
    ['a byte that is not UTF-8', 'bad\udcff.csv'],
  ])('no: %s', (_what, path) => {
    expect(pathPassesForAnother(path)).toBe(false);
  });
});
