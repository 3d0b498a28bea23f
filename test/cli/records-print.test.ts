/**
 * The one-line summary of a record set's diff in human output says what B holds, and what A holds
 * when the list below it names A's groups too; labels that would print alike bare are quoted.
 */
import { describe, expect, it } from 'vitest';
import { recordsLines, sealedRecordLines, setLines, setSummary, shiftLines } from '../../src/cli/records-print.js';
import { labelShift } from '../../src/records/stats.js';
import { checkRecords } from '../../src/records/check.js';
import type { RecordsReport } from '../../src/records/diff-sets.js';
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
    summary: { unchanged: 10, added: 0, removed: 0, modified: 0, flipped: 0, relabelled: 0, labelChanges: 0, duplicates: { a: 0, b: 0 }, conflicts },
    added: [],
    removed: [],
    modified: [],
    flipped: [],
    relabelled: [],
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

  it('counts the duplicate groups of B, and of A beside them when A has some (the list below names both sides)', () => {
    const dups = (a: number, b: number): RecordSetDiff => ({ ...diffWith({ a: 0, b: 0 }), summary: { ...diffWith({ a: 0, b: 0 }).summary, duplicates: { a, b } } });
    expect(setSummary(dups(0, 2))).toBe('2 duplicates in b');
    expect(setSummary(dups(1, 1))).toBe('1 duplicate in b (1 in a)');
    expect(setSummary(dups(4, 0))).toBe('no record changed');
  });
});

describe('labels in human output', () => {
  const flips = (pairs: [string, string][]): RecordSetDiff => {
    const d = diffWith({ a: 0, b: 0 });
    d.format = 'jsonl';
    d.flipped = pairs.map(([from, to], i) => ({ key: [i + 1], from, to, a: { row: i + 1 }, b: { row: i + 1 } }));
    d.summary = { ...d.summary, flipped: pairs.length, labelChanges: pairs.length };
    return d;
  };

  it('are quoted when they could not be told apart bare: empty, a space at an end, a comma or a quote', () => {
    const lines = setLines(flips([['spam', 'spam '], ['', 'ham'], ['a, b', 'c'], ['x"y', 'ok']]));
    expect(lines).toContain('  label flips (4):');
    expect(lines).toContain('    1: spam → "spam "  (row 1)');
    expect(lines).toContain('    2: "" → ham  (row 2)');
    expect(lines).toContain('    3: "a, b" → c  (row 3)');
    expect(lines).toContain('    4: "x\\"y" → ok  (row 4)');
    expect(setSummary(flips([['spam', 'spam ']]))).toBe('1 label flipped (spam → "spam ")');
  });

  it('show a label or key that mixes look-alike scripts with its letters outside ASCII escaped: cat beside "c\\u0430t" (a Cyrillic а), not two cats', () => {
    const lines = setLines(flips([['cat', 'c\u0430t'], ['\u0441\u0440\u0430m', 'ham']]));
    expect(lines).toContain('    1: cat → "c\\u0430t"  (row 1)');
    expect(lines).toContain('    2: "\\u0441\\u0440\\u0430m" → ham  (row 2)');
    const text = shiftLines(labelShift({ cat: 10 }, { 'c\u0430t': 10 }), '').join('\n');
    expect(text).toContain('"c\\u0430t": 0 (0.0 %) → 10 (100.0 %)');
    // One script only (Cyrillic, or Latin with accents) is printed as it is.
    expect(setLines(flips([['\u043a\u043e\u0442', 'caf\u00e9']]))).toContain('    1: \u043a\u043e\u0442 → caf\u00e9  (row 1)');
  });

  it('say when a flip kept the label text (a JSON 1 that became "1": its type changed; or a key 1 written 1.0)', () => {
    expect(setLines(flips([['1', '1']]))).toContain('    1: 1 → 1  (row 1)  (same label text: the JSON type of its label, or the form of its key, changed)');
    expect(setSummary(flips([['1', '1']]))).toBe("1 label flipped (1 → 1, its JSON type or its key's form)");
  });

  it('are quoted the same way in the label table and the lists of new and vanished labels', () => {
    const s = labelShift({ spam: 2 }, { 'spam ': 1, 'a, b': 1 });
    const text = shiftLines(s, '').join('\n');
    expect(text).toContain('"spam ": 0 (0.0 %) → 1 (50.0 %)');
    expect(text).toContain('new labels: "a, b", "spam "');
    expect(text).toContain('vanished labels: spam');
  });

  it('are quoted the same way in the messages of the new- and vanished-label breaches of check (the value lists them as they are)', () => {
    const d = diffWith({ a: 0, b: 0 });
    d.shift = labelShift({ spam: 2 }, { 'spam ': 1, 'a, b': 1 });
    const breaches = checkRecords({ sets: [d], unavailable: [] } as unknown as RecordsReport, {});
    expect(breaches).toContainEqual(expect.objectContaining({ rule: 'newLabels', value: ['a, b', 'spam '], message: 'new labels: "a, b", "spam "' }));
    expect(breaches).toContainEqual(expect.objectContaining({ rule: 'vanishedLabels', value: ['spam'], message: 'vanished labels: spam' }));
  });
});

describe('record set names (paths) in human output', () => {
  it('are quoted, their letters outside ASCII escaped, when the path could pass for another: tr\\u0430in.csv beside train.csv', () => {
    const d = diffWith({ a: 0, b: 0 });
    d.name = 'tr\u0430in.csv';
    const r = { summary: { sets: 1, flipped: 0, modified: 0, added: 0, removed: 0, unchanged: 10 }, sets: [d], unavailable: [{ name: 'cafe\u0301.csv', side: 'b', reason: 'gone' }] } as unknown as RecordsReport;
    const lines = recordsLines(r);
    expect(lines[1]).toMatch(/^  "tr\\u0430in\.csv" \(/);
    expect(lines).toContain('  "cafe\\u0301.csv": not compared (side b: gone)');
    const sealed = sealedRecordLines([{ path: 'tr\u0430in.csv', format: 'csv', identity: 'key', key: ['id'], count: 1 } as never]);
    expect(sealed.some((l) => l.startsWith('    "tr\\u0430in.csv": 1 record'))).toBe(true);
  });
});

describe('seal output', () => {
  it('a labelled set of no records says so without a dangling colon (an empty table sealed: "0 records (…)", no ": " and nothing after it)', () => {
    const lines = sealedRecordLines([{ path: 't.parquet', format: 'parquet', identity: 'key', key: ['id'], label: 'label', count: 0, labels: {} } as never]);
    expect(lines[1]).toBe('    t.parquet: 0 records (parquet, key id, label label)');
    const two = sealedRecordLines([{ path: 't.csv', format: 'csv', identity: 'key', key: ['id'], label: 'label', count: 3, labels: { ham: 2, spam: 1 } } as never]);
    expect(two[1]).toBe('    t.csv: 3 records (csv, key id, label label): ham 2, spam 1');
  });
});

describe('modified records of a label-folder set whose classes reuse file names', () => {
  it('name their label, so that two modified records of one key (cat/x and dog/x) read as two files', () => {
    const d = diffWith({ a: 0, b: 0 });
    Object.assign(d, { name: 'images/**', format: 'files', identity: 'path', labelSegment: 1 });
    delete d.key;
    delete d.label;
    const side = (row: number, label: string) => ({ row, label, fingerprint: 'f'.repeat(64), features: 'e'.repeat(64) });
    d.modified = [
      { key: ['images/x.jpg'], a: side(1, 'cat'), b: side(1, 'cat'), labelChanged: false },
      { key: ['images/x.jpg'], a: side(2, 'dog'), b: side(2, 'dog'), labelChanged: false },
    ];
    const lines = setLines(d);
    expect(lines).toContain('    images/x.jpg  (row 1) [cat]');
    expect(lines).toContain('    images/x.jpg  (row 2) [dog]');
  });
});
