/**
 * verify's label-folder findings (src/records/verify-records.ts), without files: problems as verify
 * makes them, a `files` record set as the signed statement declares it.
 */
import { describe, expect, it } from 'vitest';
import { attachRecordFindings, type RecordProblem } from '../../src/records/verify-records.js';
import type { RecordSetMember } from '../../src/core/records.js';

const MAIL: RecordSetMember = { pattern: '*/*', format: 'files', identity: 'path', labelSegment: 0, count: 1, index: { sha256: '0'.repeat(64), merkleRoot: '0'.repeat(64) }, labels: { ham: 1 } };

describe('the label flips of moved files', () => {
  it('are named in time linear in the number of moves: 100,000 files moved from ham/ to spam/ in well under 3 seconds', async () => {
    const n = 100_000;
    const problems: RecordProblem[] = [];
    for (let i = 0; i < n; i++) problems.push({ path: `ham/${i}.txt`, kind: 'missing', movedTo: `spam/${i}.txt` });
    for (let i = 0; i < n; i++) problems.push({ path: `spam/${i}.txt`, kind: 'extra', movedFrom: `ham/${i}.txt` });
    const t0 = performance.now();
    await attachRecordFindings(problems, [MAIL], '/nonexistent', []);
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(problems.filter((p) => p.label).length).toBe(2 * n);
    expect(problems[n - 1]?.label).toEqual({ set: '*/*', key: `${n - 1}.txt`, from: 'ham', to: 'spam' });
    expect(problems[2 * n - 1]?.label).toEqual(problems[n - 1]?.label);
  });
});
