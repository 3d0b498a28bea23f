/**
 * The record diff pairs the records of one identity that matched no fingerprint on the other side
 * (src/records/record-diff.ts `pairLeftovers`): same feature hash → a flip. A table with many rows of
 * one identity — duplicate rows of a set whose identity is `features`, or a crafted archive's record
 * index, which `snap diff` reads before any key is checked — gives that many records on each side:
 * pairing them must cost time in proportion to their number, not to its square.
 */
import { describe, expect, it } from 'vitest';
import { pairLeftovers, type RecordDiffCounts, type RecordDiffSink } from '../../src/records/record-diff.js';
import type { IndexEntry } from '../../src/records/index-line.js';

describe('the record diff of one identity held by many records', () => {
  it('names 600,000 duplicate rows relabelled ham → spam as 600,000 flips, each A row with the B row of its rank, every one with its own', () => {
    const n = 600_000;
    const la: IndexEntry[] = [];
    const lb: IndexEntry[] = [];
    for (let i = 0; i < n; i++) {
      la.push({ features: 'f'.repeat(64), fingerprint: `a${i}`, label: 'ham', row: i });
      lb.push({ features: 'f'.repeat(64), fingerprint: `b${i}`, label: 'spam', row: i });
    }
    const flips: [number, number][] = [];
    const none = () => {
      throw new Error('nothing but flips here');
    };
    const sink: RecordDiffSink = { added: none, removed: none, modified: none, duplicate: none, flipped: (a, b) => void flips.push([a.row, b.row]) };
    const counts: RecordDiffCounts = { a: n, b: n, unchanged: 0, added: 0, removed: 0, modified: 0, flipped: 0, duplicatesA: 0, duplicatesB: 0, labelsA: {}, labelsB: {} };
    pairLeftovers(la, lb, counts, sink, none, none);
    expect(counts.flipped).toBe(n);
    expect(flips[0]).toEqual([0, 0]);
    expect(flips[n - 1]).toEqual([n - 1, n - 1]);
    // Taking each B row off the front of one list of 600,000 copied the rest each time: 55
    // CPU-seconds here (200,000: 3 s), where taking them by position takes well under one.
    // (Its CPU cost is measured, not asserted here: docs/PERFORMANCE.md; timings live in benchmarks.)
  });
});
