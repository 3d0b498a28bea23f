/**
 * Names a folding file system takes for one (src/core/name-folding.ts): which paths of a manifest
 * would land on one file, or merge two folders, on a case-insensitive or normalization-insensitive
 * target.
 */
import { describe, expect, it } from 'vitest';
import { FoldedTwins, foldName, foldsNames, type NameFolding } from '../../src/core/name-folding.js';

const CASE: NameFolding = { case: true, normalization: false };
const NORMALIZATION: NameFolding = { case: false, normalization: true };
const BOTH: NameFolding = { case: true, normalization: true };
const NONE: NameFolding = { case: false, normalization: false };

/** The first twins among `paths`, added in order. */
function twinsIn(paths: readonly string[], f: NameFolding): readonly [string, string] | undefined {
  const t = new FoldedTwins(f);
  for (const p of paths) {
    const pair = t.add(p);
    if (pair) return pair;
  }
  return undefined;
}

describe('foldName', () => {
  it('folds case on a case-insensitive file system, NFC and NFD on a normalization-insensitive one, both on one that folds both', () => {
    expect(foldName('Data/X.TXT', CASE)).toBe('data/x.txt');
    expect(foldName('caf\u00e9', CASE)).not.toBe(foldName('cafe\u0301', CASE));
    expect(foldName('caf\u00e9', NORMALIZATION)).toBe(foldName('cafe\u0301', NORMALIZATION));
    expect(foldName('CAF\u00c9', BOTH)).toBe(foldName('cafe\u0301', BOTH));
    expect(foldName('Stra\u00dfe', CASE)).toBe(foldName('STRASSE', CASE)); // full case mapping: ß as ss
    expect(foldName('\u03a3\u03bf\u03c2', CASE)).toBe(foldName('\u03c3\u03bf\u03c3', CASE)); // final sigma
    expect(foldName('X', NONE)).toBe('X');
    expect(foldsNames(NONE)).toBe(false);
    expect(foldsNames(NORMALIZATION)).toBe(true);
  });
});

describe('FoldedTwins', () => {
  it('finds two files that differ only by case, naming both', () => {
    expect(twinsIn(['X.txt', 'a.txt', 'x.txt'], CASE)).toEqual(['X.txt', 'x.txt']);
  });

  it('finds two folders that would merge, naming the folders', () => {
    expect(twinsIn(['Data/a.txt', 'Data/b.txt', 'data/c.txt'], CASE)).toEqual(['Data', 'data']);
    expect(twinsIn(['a/Sub/x', 'a/sub/y'], CASE)).toEqual(['a/Sub', 'a/sub']);
  });

  it('finds a file and a folder that would be one name', () => {
    expect(twinsIn(['X', 'x/y.txt'], CASE)).toEqual(['X', 'x']);
  });

  it('finds NFC and NFD twins on a normalization-insensitive file system only', () => {
    const paths = ['caf\u00e9.txt', 'cafe\u0301.txt'];
    expect(twinsIn(paths, NORMALIZATION)).toEqual(paths);
    expect(twinsIn(paths, BOTH)).toEqual(paths);
    expect(twinsIn(paths, CASE)).toBeUndefined();
  });

  it('finds nothing among names a folding file system keeps apart, nor on one that does not fold', () => {
    expect(twinsIn(['Data/a.txt', 'Data/b.txt', 'Data/sub/c.txt', 'train.jsonl', 'tr\u0430in.jsonl', 'x.txt', 'x.txt.bak'], BOTH)).toBeUndefined();
    expect(twinsIn(['X.txt', 'x.txt', 'Data/a', 'data/a', 'caf\u00e9', 'cafe\u0301'], NONE)).toBeUndefined();
  });
});
