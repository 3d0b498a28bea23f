/**
 * Naming label flips from verify's problems alone (src/records/label-flips.ts): a file belongs to
 * the first label-folder set whose pattern takes it, and a move names a flip only within one set.
 */
import { describe, expect, it } from 'vitest';
import { labelFolderSets, nameMovesAndFlips, type LabelProblem } from '../../src/records/label-flips.js';

const DIGEST = { sha256: 'a'.repeat(64), size: 2 };

describe('a file moved between two label-folder sets', () => {
  it('is named as moved but not as a label flip, though the second set matches both its paths', () => {
    // train/cat/a.jpg is a record of /train/cat/* (the first set that takes it), train/dog/a.jpg one of train/*/*.
    const sets = [{ pattern: '/train/cat/*', labelSegment: 1 }, { pattern: 'train/*/*', labelSegment: 1 }];
    const problems: LabelProblem[] = [
      { path: 'train/cat/a.jpg', kind: 'missing', expected: DIGEST },
      { path: 'train/dog/a.jpg', kind: 'extra', actual: DIGEST },
    ];
    nameMovesAndFlips(problems, sets);
    expect(problems).toEqual([
      { path: 'train/cat/a.jpg', kind: 'missing', expected: DIGEST, movedTo: 'train/dog/a.jpg' },
      { path: 'train/dog/a.jpg', kind: 'extra', actual: DIGEST, movedFrom: 'train/cat/a.jpg' },
    ]);
  });

  it('is named as a label flip of the set both its paths belong to', () => {
    const sets = [{ pattern: '/train/cat/*', labelSegment: 1 }, { pattern: 'train/*/*', labelSegment: 1 }];
    const problems: LabelProblem[] = [
      { path: 'train/bird/a.jpg', kind: 'missing', expected: DIGEST },
      { path: 'train/dog/a.jpg', kind: 'extra', actual: DIGEST },
    ];
    nameMovesAndFlips(problems, sets);
    const label = { set: 'train/*/*', key: 'train/a.jpg', from: 'bird', to: 'dog' };
    expect(problems.map((p) => p.label)).toEqual([label, label]);
  });
});

describe('a tabular file inside a label-folder set (carved out of it by a table rule put first, §19.1)', () => {
  // The statement's sets as a seal of `mail/*/*.csv` (CSV) before `mail/*/*` (files) signs them.
  const index = { merkleRoot: 'b'.repeat(64), sha256: 'c'.repeat(64) };
  const members = [
    { path: 'mail/spam/a.csv', format: 'csv' as const, identity: 'key' as const, key: ['id'], count: 2, index },
    { pattern: 'mail/*/*', format: 'files' as const, identity: 'path' as const, labelSegment: 1, count: 1, index, labels: { spam: 1 } },
    { path: 'other/b.csv', format: 'csv' as const, identity: 'key' as const, key: ['id'], count: 2, index },
  ];

  it('is listed with the label-folder set whose pattern takes it, as a table of its own', () => {
    expect(labelFolderSets(members)).toEqual([{ pattern: 'mail/*/*', labelSegment: 1, tables: ['mail/spam/a.csv'] }]);
  });

  it('moved to another label folder unchanged, is named as moved but not as a label flip (diff: its records removed and added)', () => {
    const problems: LabelProblem[] = [
      { path: 'mail/ham/a.csv', kind: 'extra', actual: DIGEST },
      { path: 'mail/spam/a.csv', kind: 'missing', expected: DIGEST },
    ];
    nameMovesAndFlips(problems, labelFolderSets(members));
    expect(problems).toEqual([
      { path: 'mail/ham/a.csv', kind: 'extra', actual: DIGEST, movedFrom: 'mail/spam/a.csv' },
      { path: 'mail/spam/a.csv', kind: 'missing', expected: DIGEST, movedTo: 'mail/ham/a.csv' },
    ]);
  });

  it('moved and edited, or with a decoy where it was, is named as no label change either', () => {
    const OTHER = { sha256: 'd'.repeat(64), size: 3 };
    const edited: LabelProblem[] = [
      { path: 'mail/ham/a.csv', kind: 'extra', actual: OTHER },
      { path: 'mail/spam/a.csv', kind: 'missing', expected: DIGEST },
    ];
    nameMovesAndFlips(edited, labelFolderSets(members));
    expect(edited.map((p) => p.label)).toEqual([undefined, undefined]);
    const decoy: LabelProblem[] = [
      { path: 'mail/ham/a.csv', kind: 'extra', actual: DIGEST },
      { path: 'mail/spam/a.csv', kind: 'modified', expected: DIGEST, actual: OTHER },
    ];
    nameMovesAndFlips(decoy, labelFolderSets(members));
    expect(decoy.map((p) => p.label)).toEqual([undefined, undefined]);
  });
});

describe('a file of a label-folder set replaced by a symbolic link (a type-changed problem)', () => {
  const sets = [{ pattern: 'img/*/*', labelSegment: 1 }];
  const LINK = { target: 'anything', type: 'symlink' };

  it('is the source of a label flip when its signed bytes are now under another label, as diff pairs its record', () => {
    const problems: LabelProblem[] = [
      { path: 'img/cat/a.jpg', kind: 'type-changed', expected: DIGEST, actual: LINK },
      { path: 'img/dog/a.jpg', kind: 'extra', actual: DIGEST },
    ];
    nameMovesAndFlips(problems, sets);
    const label = { set: 'img/*/*', key: 'img/a.jpg', from: 'cat', to: 'dog' };
    expect(problems.map((p) => [p.path, p.label])).toEqual([
      ['img/cat/a.jpg', label],
      ['img/dog/a.jpg', label],
    ]);
  });

  it('is a record of the new side when verify read the bytes of the file that replaced a link: the flip is named on it and on the missing source', () => {
    const problems: LabelProblem[] = [
      { path: 'img/cat/a.jpg', kind: 'missing', expected: DIGEST },
      { path: 'img/dog/a.jpg', kind: 'type-changed', expected: LINK, actual: { type: 'file', ...DIGEST } },
    ];
    nameMovesAndFlips(problems, sets);
    const label = { set: 'img/*/*', key: 'img/a.jpg', from: 'cat', to: 'dog' };
    expect(problems.map((p) => [p.path, p.label])).toEqual([
      ['img/cat/a.jpg', label],
      ['img/dog/a.jpg', label],
    ]);
  });

  it('is no record of the new side: a link replaced by a file (whose bytes verify did not read) names no flip', () => {
    const problems: LabelProblem[] = [
      { path: 'img/cat/a.jpg', kind: 'missing', expected: DIGEST },
      { path: 'img/dog/a.jpg', kind: 'type-changed', expected: LINK, actual: { type: 'file' } },
    ];
    nameMovesAndFlips(problems, sets);
    expect(problems.map((p) => p.label)).toEqual([undefined, undefined]);
  });
});
