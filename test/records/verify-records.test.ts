/**
 * verify's label-folder findings (src/records/verify-records.ts), without files: problems as verify
 * makes them, a `files` record set as the signed statement declares it.
 */
import { describe, expect, it } from 'vitest';
import { attachRecordFindings, type RecordProblem } from '../../src/records/verify-records.js';
import type { RecordSetMember } from '../../src/core/records.js';

const MAIL: RecordSetMember = { pattern: '*/*', format: 'files', identity: 'path', labelSegment: 0, count: 1, index: { sha256: '0'.repeat(64), merkleRoot: '0'.repeat(64) }, labels: { ham: 1 } };

describe('the label flips of moved files', () => {
  // Their cost (95 s for 100,000 moves when each searched the whole list; 0.75 s by path) is in
  // docs/PERFORMANCE.md: a unit test checks what is named, not how fast.
  it('are each named on both files: 20,000 files moved from ham/ to spam/', async () => {
    const n = 20_000;
    const problems: RecordProblem[] = [];
    // as verify makes them: each file's digest (verify pairs a move by it), one content a file
    const digest = (i: number) => ({ sha256: i.toString(16).padStart(64, '0'), size: 1 });
    for (let i = 0; i < n; i++) problems.push({ path: `ham/${i}.txt`, kind: 'missing', expected: digest(i), movedTo: `spam/${i}.txt` });
    for (let i = 0; i < n; i++) problems.push({ path: `spam/${i}.txt`, kind: 'extra', actual: digest(i), movedFrom: `ham/${i}.txt` });
    await attachRecordFindings(problems, [MAIL], '/nonexistent', []);
    expect(problems.filter((p) => p.label).length).toBe(2 * n);
    expect(problems[n - 1]?.label).toEqual({ set: '*/*', key: `${n - 1}.txt`, from: 'ham', to: 'spam' });
    expect(problems[2 * n - 1]?.label).toEqual(problems[n - 1]?.label);
  });
});
