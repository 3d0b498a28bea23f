import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { diffRecords, pairPathLeftovers } from '../../src/records/record-diff.js';
import { RecordDiffCollector } from '../../src/records/record-report.js';
import { fileForms, jcs } from '../../src/records/canonical.js';
import { compareEntries, type IndexEntry } from '../../src/records/index-line.js';
import type { RecordIdentity } from '../../src/core/records.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
type Row = { id: string; x: string; label: string };

/** The index entries of rows (as the builder would make them), in index order. */
function entries(rows: Row[], identity: RecordIdentity): IndexEntry[] {
  const list = rows.map((r, i): IndexEntry => ({
    features: sha(jcs(identity === 'key' ? { x: r.x } : { id: r.id, x: r.x })),
    fingerprint: sha(jcs({ id: r.id, x: r.x, label: r.label })),
    ...(identity === 'key' ? { key: jcs([r.id]) } : {}),
    label: r.label,
    row: i + 1,
  }));
  return list.sort((p, q) => compareEntries(p, q, identity));
}

async function* runs(list: IndexEntry[], size = 3): AsyncGenerator<IndexEntry[]> {
  for (let i = 0; i < list.length; i += size) yield list.slice(i, i + size);
}

async function diff(a: Row[], b: Row[], identity: RecordIdentity = 'key') {
  const c = new RecordDiffCollector(identity);
  const counts = await diffRecords(runs(entries(a, identity)), runs(entries(b, identity), 2), identity, c);
  return { counts, c, report: c.report({ name: 't.csv', format: 'csv', identity, label: 'label', ...(identity === 'key' ? { key: ['id'] } : {}) }, counts, []) };
}

const base: Row[] = Array.from({ length: 12 }, (_, i) => ({ id: String(i), x: `v${i}`, label: i % 3 === 0 ? 'spam' : 'ham' }));

describe('record diff (merge-join of two indexes)', () => {
  it('finds nothing between an index and itself', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ id: fc.string({ minLength: 1, maxLength: 2 }), x: fc.string({ maxLength: 2 }), label: fc.constantFrom('a', 'b') }), { maxLength: 30 }), fc.constantFrom<RecordIdentity>('key', 'features', 'position'), async (rows, identity) => {
        const { counts, report } = await diff(rows, rows, identity);
        expect(counts.added + counts.removed + counts.modified + counts.flipped).toBe(0);
        expect(counts.unchanged).toBe(rows.length);
        expect(report.summary.labelChanges).toBe(0);
        // The order (row-order.ts) is measured for identities key and features: nothing moved.
        expect(report.order).toEqual(identity === 'position' ? undefined : { common: rows.length, moved: 0 });
      }),
      { numRuns: 150 },
    );
  });

  it('says how many records moved out of A\'s order, counting flipped and modified records, not added or removed ones', async () => {
    for (const identity of ['key', 'features'] as const) {
      // Reversed: 11 of 12 moved; no record changed.
      const reversed = await diff(base, [...base].reverse(), identity);
      expect(reversed.counts.unchanged).toBe(12);
      expect(reversed.report.order).toEqual({ common: 12, moved: 11 });
      // Two adjacent records swapped, one of them flipped, one record removed and one added: 1 moved of the 11 paired.
      const b = base.map((r) => ({ ...r }));
      [b[4], b[5]] = [{ ...(b[5] as Row), label: 'spam' }, b[4] as Row];
      b.splice(0, 1);
      b.push({ id: '99', x: 'new', label: 'ham' });
      const mixed = await diff(base, b, identity);
      expect(mixed.report.summary).toMatchObject({ flipped: 1, removed: 1, added: 1, unchanged: 10 });
      expect(mixed.report.order).toEqual({ common: 11, moved: 1 });
    }
    // Identity position: a record's row is its identity, nothing to measure.
    expect((await diff(base, [...base].reverse(), 'position')).report.order).toBeUndefined();
  });

  it('names exactly the flipped, added, removed and modified records, by key', async () => {
    const b = base.map((r) => ({ ...r }));
    b[1]!.label = 'spam'; // flip ham → spam
    b[3]!.label = 'ham'; // flip spam → ham
    b[5]!.x = 'nudged'; // modified
    b[7]!.x = 'both';
    b[7]!.label = 'spam'; // modified, label too
    b.splice(10, 1); // removed id 10
    b.push({ id: '99', x: 'new', label: 'spam' }, { id: '100', x: 'new2', label: 'ham' }); // added
    const { report } = await diff(base, b);
    expect(report.flipped.map((f) => [f.key, f.from, f.to])).toEqual([
      [['1'], 'ham', 'spam'],
      [['3'], 'spam', 'ham'],
    ]);
    expect(report.modified.map((m) => [m.key, m.labelChanged])).toEqual([
      [['5'], false],
      [['7'], true],
    ]);
    expect(report.removed.map((r) => r.key)).toEqual([['10']]);
    expect(report.added.map((r) => r.key).sort()).toEqual([['100'], ['99']]);
    expect(report.summary).toMatchObject({ unchanged: 7, added: 2, removed: 1, modified: 2, flipped: 2, labelChanges: 3 });
    expect(report.a.labels).toEqual({ ham: 8, spam: 4 });
    expect(report.b.labels).toEqual({ ham: 7, spam: 6 });
  });

  it('pairs a flipped record by its features when there is no key (not as one removed and one added)', async () => {
    const b = base.map((r) => ({ ...r }));
    b[2]!.label = 'spam';
    const { report } = await diff(base, b, 'features');
    expect(report.flipped).toHaveLength(1);
    expect(report.flipped[0]).toMatchObject({ from: 'ham', to: 'spam', a: { row: 3 }, b: { row: 3 } });
    expect(report.added).toEqual([]);
    expect(report.removed).toEqual([]);
  });

  it('without a key, a moved row is unchanged and an edited row is one removed and one added', async () => {
    const b = [...base.slice(1), base[0]!].map((r) => ({ ...r }));
    b[0]!.x = 'edited';
    const { report } = await diff(base, b, 'features');
    expect(report.summary).toMatchObject({ unchanged: 11, added: 1, removed: 1, modified: 0, flipped: 0 });
  });

  it('reports duplicate keys on each side, never merging them', async () => {
    const b = [...base, { id: '4', x: 'injected', label: 'spam' }];
    const { report } = await diff(base, b);
    expect(report.duplicates).toEqual([{ side: 'b', identity: '["4"]', count: 2, rows: [5, 13] }]);
    // one of the two records under key 4 is unchanged; the other is new
    expect(report.summary).toMatchObject({ unchanged: 12, added: 1, duplicates: { a: 0, b: 1 } });
  });

  it('reports identical records (same features, same label) as duplicates when there is no key', async () => {
    const a = [...base, { ...base[0]! }];
    const { report } = await diff(a, a, 'features');
    expect(report.duplicates.map((d) => [d.side, d.count, d.rows, d.label])).toEqual([
      ['a', 2, [1, 13], 'spam'],
      ['b', 2, [1, 13], 'spam'],
    ]);
  });

  it('pairs flips before modifications when a key is used twice', async () => {
    const a: Row[] = [{ id: '1', x: 'p', label: 'ham' }, { id: '1', x: 'q', label: 'ham' }];
    const b: Row[] = [{ id: '1', x: 'q', label: 'spam' }, { id: '1', x: 'r', label: 'ham' }];
    const { report } = await diff(a, b);
    expect(report.flipped.map((f) => [f.from, f.to, f.a.row, f.b.row])).toEqual([['ham', 'spam', 2, 1]]);
    expect(report.modified).toHaveLength(1);
    expect(report.modified[0]).toMatchObject({ a: { row: 1 }, b: { row: 2 } });
  });

  it('matches a reference diff computed with maps, on random versions', async () => {
    const rowArb = fc.record({ id: fc.integer({ min: 0, max: 40 }).map(String), x: fc.constantFrom('p', 'q', 'r'), label: fc.constantFrom('a', 'b', 'c') });
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(rowArb, { selector: (r) => r.id, maxLength: 30 }), fc.uniqueArray(rowArb, { selector: (r) => r.id, maxLength: 30 }), async (a, b) => {
        const { report } = await diff(a, b);
        const ma = new Map(a.map((r) => [r.id, r]));
        const mb = new Map(b.map((r) => [r.id, r]));
        const ids = (pred: (id: string) => boolean, m: Map<string, Row>) => [...m.keys()].filter(pred).sort();
        expect(report.removed.map((r) => (r.key as string[])[0]).sort()).toEqual(ids((id) => !mb.has(id), ma));
        expect(report.added.map((r) => (r.key as string[])[0]).sort()).toEqual(ids((id) => !ma.has(id), mb));
        const both = [...ma.keys()].filter((id) => mb.has(id));
        expect(report.flipped.map((f) => (f.key as string[])[0]).sort()).toEqual(both.filter((id) => ma.get(id)!.x === mb.get(id)!.x && ma.get(id)!.label !== mb.get(id)!.label).sort());
        expect(report.modified.map((f) => (f.key as string[])[0]).sort()).toEqual(both.filter((id) => ma.get(id)!.x !== mb.get(id)!.x).sort());
        expect(report.summary.unchanged).toBe(both.filter((id) => JSON.stringify(ma.get(id)) === JSON.stringify(mb.get(id))).length);
      }),
      { numRuns: 200 },
    );
  });
});

describe('record diff of a label-folder set whose classes reuse file names (FORMAT §19.4, worked example)', () => {
  /** Files as `label/name: content`, one folder level (label segment 0). */
  const files = (list: string[]) =>
    list
      .map((f, i): IndexEntry => {
        const [path, content] = f.split(': ') as [string, string];
        const forms = fileForms(path, sha(content), 0)!;
        return { features: sha(forms.features), fingerprint: sha(forms.canonical), key: forms.key, label: forms.label, row: i + 1 };
      })
      .sort((p, q) => compareEntries(p, q, 'path'));
  const named = async (a: string[], b: string[]) => {
    const c = new RecordDiffCollector('path');
    const counts = await diffRecords(runs(files(a)), runs(files(b), 2), 'path', c);
    const r = c.report({ name: '*/*', format: 'files', identity: 'path', labelSegment: 0 }, counts, []);
    return {
      unchanged: r.summary.unchanged,
      flipped: r.flipped.map((f) => `${f.from} → ${f.to}`),
      modified: r.modified.map((m) => `${m.a.label} ${m.b.label}`).sort(),
      added: r.added.map((e) => e.label),
      removed: r.removed.map((e) => e.label),
      duplicates: r.duplicates.length,
    };
  };

  it.each([
    ['moved: a flip', ['cat/x.jpg: c1'], ['dog/x.jpg: c1'], { unchanged: 0, flipped: ['cat → dog'], modified: [], added: [], removed: [], duplicates: 0 }],
    ['edited in place: modified', ['cat/x.jpg: c1'], ['cat/x.jpg: c2'], { unchanged: 0, flipped: [], modified: ['cat cat'], added: [], removed: [], duplicates: 0 }],
    ['contents swapped: two modified', ['cat/x.jpg: c1', 'dog/x.jpg: c2'], ['cat/x.jpg: c2', 'dog/x.jpg: c1'], { unchanged: 0, flipped: [], modified: ['cat cat', 'dog dog'], added: [], removed: [], duplicates: 0 }],
    ['copied to another class: unchanged and added', ['cat/x.jpg: c1'], ['cat/x.jpg: c1', 'bird/x.jpg: c1'], { unchanged: 1, flipped: [], modified: [], added: ['bird'], removed: [], duplicates: 0 }],
    ['moved, a decoy where it was: a flip and an added record', ['cat/x.jpg: c1'], ['cat/x.jpg: c9', 'dog/x.jpg: c1'], { unchanged: 0, flipped: ['cat → dog'], modified: [], added: ['cat'], removed: [], duplicates: 0 }],
    ['moved over a file of its name: modified and removed', ['cat/x.jpg: c1', 'dog/x.jpg: c2'], ['dog/x.jpg: c1'], { unchanged: 0, flipped: [], modified: ['dog dog'], added: [], removed: ['cat'], duplicates: 0 }],
    ['three classes, nothing changed', ['cat/x.jpg: c1', 'dog/x.jpg: c2', 'bird/x.jpg: c3'], ['cat/x.jpg: c1', 'dog/x.jpg: c2', 'bird/x.jpg: c3'], { unchanged: 3, flipped: [], modified: [], added: [], removed: [], duplicates: 0 }],
  ])('%s', async (_, a, b, want) => {
    expect(await named(a, b)).toEqual(want);
  });
});

describe('pairPathLeftovers on a hostile key group (a forged index: one key under one label many times)', () => {
  /** `n` records of key x a side; B's labels in reverse of A's, so that each of B's finds its label's record of A at the far end. */
  const group = (n: number, side: 'a' | 'b', newLabels: boolean): IndexEntry[] =>
    Array.from({ length: n }, (_, i) => ({ features: sha(`${side}${i}`), fingerprint: sha(`${side}f${i}`), key: '["x"]', label: newLabels ? `n${i}` : `l${side === 'a' ? i : n - 1 - i}`, row: i + 1 }));
  const sink = { flipped: () => {}, modified: () => {} } as unknown as Parameters<typeof pairPathLeftovers>[3];

  // Their time is bench/pairing-bench.mjs's (CPU-s against a budget): no timed assertion here.
  it('pairs 40,000 records a side by label, each with its label\'s record of A (was quadratic: 8e8 label comparisons)', () => {
    const counts = { flipped: 0, modified: 0 } as Parameters<typeof pairPathLeftovers>[2];
    const rest = pairPathLeftovers(group(40_000, 'a', false), group(40_000, 'b', false), counts, sink);
    expect([counts.modified, counts.flipped, rest.a.length, rest.b.length]).toEqual([40_000, 0, 0, 0]);
  });

  it('and leaves 40,000 of B under labels A lacks, none with the content of one of A, unpaired', () => {
    const counts = { flipped: 0, modified: 0 } as Parameters<typeof pairPathLeftovers>[2];
    const rest = pairPathLeftovers(group(40_000, 'a', false), group(40_000, 'b', true), counts, sink);
    expect([counts.modified, counts.flipped, rest.a.length, rest.b.length]).toEqual([0, 0, 40_000, 40_000]);
  });
});
