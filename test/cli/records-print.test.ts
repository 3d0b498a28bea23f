/**
 * The one-line summary of a record set's diff in human output says what B holds, and what A holds
 * when the list below it names A's groups too.
 */
import { describe, expect, it } from 'vitest';
import { setSummary } from '../../src/cli/records-print.js';
import type { RecordSetDiff } from '../../src/records/record-report.js';

function diffWith(conflicts: { a: number; b: number }): RecordSetDiff {
  return {
    name: 'train.csv',
    format: 'csv',
    identity: 'key',
    key: ['id'],
    label: 'label',
    a: { records: 10 },
    b: { records: 10 },
    summary: { unchanged: 10, added: 0, removed: 0, modified: 0, flipped: 0, labelChanges: 0, duplicates: { a: 0, b: 0 }, conflicts },
    added: [],
    removed: [],
    modified: [],
    flipped: [],
    duplicates: [],
    conflicts: [],
  } as RecordSetDiff;
}

describe('the summary line of a record set diff', () => {
  it('counts the conflicting label groups of B, and of A beside them when A has some', () => {
    expect(setSummary(diffWith({ a: 0, b: 2 }))).toBe('2 conflicting label groups in b');
    expect(setSummary(diffWith({ a: 119, b: 119 }))).toBe('119 conflicting label groups in b (119 in a)');
  });

  it('says nothing of A\'s conflicting groups when B has none (they are not a finding of this change)', () => {
    expect(setSummary(diffWith({ a: 3, b: 0 }))).toBe('no record changed');
  });
});
