/**
 * Naming label flips from verify's problems alone (src/records/label-flips.ts): a file belongs to
 * the first label-folder set whose pattern takes it, and a move names a flip only within one set.
 */
import { describe, expect, it } from 'vitest';
import { nameMovesAndFlips, type LabelProblem } from '../../src/records/label-flips.js';

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
