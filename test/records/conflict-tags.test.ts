import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IndexBuilder } from '../../src/records/build-index.js';
import { diffIndexFiles } from '../../src/records/diff-index-files.js';
import { RecordDiffCollector } from '../../src/records/record-report.js';
import { indexEntryRuns, type IndexExpectation } from '../../src/records/read-index.js';
import { conflictGroups } from '../../src/records/conflicts.js';
import { jcs } from '../../src/records/canonical.js';
import type { IndexEntry } from '../../src/records/index-line.js';
import { tempDir } from '../helpers/tree.js';

type Row = { id: string; x: string; label: string };

async function write(dir: string, name: string, rows: Row[]): Promise<string> {
  const runs = await fsp.mkdtemp(join(dir, 'runs-'));
  const b = new IndexBuilder({ identity: 'key', labelled: true, tmpDir: runs, name, strictKeys: false, runRecords: 2000 });
  rows.forEach((r, i) => b.add({ canonical: jcs(r), features: jcs({ x: r.x }), key: jcs([r.id]), label: r.label }, i + 1, 0));
  const out = join(dir, name);
  await b.finish(out);
  return out;
}

/** The conflict candidates of an index computed without the tags: feature-hash prefixes seen with two labels. */
async function candidatesByMap(path: string, x: IndexExpectation): Promise<string[]> {
  const labels = new Map<string, Set<string>>();
  for await (const run of indexEntryRuns(path, x)) {
    for (const e of run) {
      const p = e.features.slice(0, 10);
      const s = labels.get(p) ?? new Set<string>();
      s.add(e.label as string);
      labels.set(p, s);
    }
  }
  return [...labels].filter(([, s]) => s.size > 1).map(([p]) => p).sort();
}

/** 9,000 records; records i and i + 4,500 share their features, and every 7th such pair has two labels (643 conflicts). */
function rows(flip: number): Row[] {
  return Array.from({ length: 9000 }, (_, i) => {
    const f = i % 4500;
    const conflict = f % 7 === 0 && i >= 4500;
    // Version B: the first record of pairs f = flip, flip + 1000, … gets another label (5 flips, 4 new conflicts: 3003 had one).
    const label = (conflict ? 'spam' : f % 2 === 0 ? 'ham' : 'eggs') + (f % 1000 === flip && i < 4500 ? '!' : '');
    return { id: String(i), x: `v${f}`, label };
  });
}

describe('conflict tags of indexes with thousands of records (list growth and the bucket sort)', () => {
  it('finds exactly the prefixes with two labels on each side, whether the record count is signed or not', async () => {
    const dir = await tempDir('snap-tags-');
    const pa = await write(dir, 'a', rows(-1));
    const pb = await write(dir, 'b', rows(3));
    const base = { identity: 'key' as const, labelled: true, name: 't' };
    const wantA = await candidatesByMap(pa, base);
    const wantB = await candidatesByMap(pb, base);
    expect(wantA.length).toBeGreaterThan(500);
    expect(wantB.length).toBe(wantA.length + 4);
    for (const count of [true, false]) {
      const xa: IndexExpectation = count ? { ...base, count: 9000 } : base;
      const xb: IndexExpectation = count ? { ...base, count: 9000 } : base;
      const r = await diffIndexFiles({ path: pa, x: xa }, { path: pb, x: xb }, 'key', new RecordDiffCollector('key'));
      expect([...r.candidates.a].sort()).toEqual(wantA);
      expect([...r.candidates.b].sort()).toEqual(wantB);
      expect(r.counts.flipped).toBe(5);
    }
  });

  it('says RECORDS_INDEX_MALFORMED for a record count far above or below the index (the list is bounded by the file, then grows)', async () => {
    const dir = await tempDir('snap-tags-');
    const pa = await write(dir, 'a', rows(-1));
    const base = { identity: 'key' as const, labelled: true, name: 't' };
    for (const count of [2 ** 40, Number.MAX_SAFE_INTEGER, 10, 1.5, -3]) {
      const x = { ...base, count };
      await expect(diffIndexFiles({ path: pa, x }, { path: pa, x: base }, 'key', new RecordDiffCollector('key'))).rejects.toMatchObject({ code: 'RECORDS_INDEX_MALFORMED' });
    }
  });
});

describe('an index read for a few records (indexEntryRuns with `only`)', () => {
  it('returns exactly the lines it asks for, parsed as a whole read parses them, and still checks every byte and the line count', async () => {
    const dir = await tempDir('snap-only-');
    const path = await write(dir, 'a', rows(-1));
    const bytes = await fsp.readFile(path);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const x: IndexExpectation = { identity: 'key', labelled: true, name: 't', sha256, count: 9000 };
    const all = await collect<IndexEntry>(indexEntryRuns(path, x));
    const wanted = new Set(all.filter((_, i) => i % 97 === 3).map((e) => e.features.slice(0, 10)));
    const only = (line: string) => wanted.has(line.slice(13, 23));
    expect(await collect(indexEntryRuns(path, x, only))).toEqual(all.filter((e) => wanted.has(e.features.slice(0, 10))));
    // A byte changed in a line it skips: the digest says so (OBJECT_CORRUPT); a line fewer: the count.
    const skipped = all.findIndex((e) => !wanted.has(e.features.slice(0, 10)));
    const lines = bytes.toString('latin1').split('\n');
    const changed = [...lines];
    changed[skipped] = (changed[skipped] as string).replace(/"row":(\d+)/, (_, n) => `"row":${Number(n) + 1}`);
    await fsp.writeFile(path, changed.join('\n'), 'latin1');
    await expect(collect(indexEntryRuns(path, x, only))).rejects.toMatchObject({ code: 'OBJECT_CORRUPT' });
    await fsp.writeFile(path, lines.filter((_, i) => i !== skipped).join('\n'), 'latin1');
    await expect(collect(indexEntryRuns(path, { ...x, sha256: undefined }, only))).rejects.toMatchObject({ code: 'RECORDS_INDEX_MALFORMED' });
    // The conflict groups' read is held to the digest and count it is given (a seal gives those of
    // the index it just wrote): bytes swapped in meanwhile are OBJECT_CORRUPT, not conflict groups.
    await expect(conflictGroups(path, x, 'a', wanted)).rejects.toMatchObject({ code: 'OBJECT_CORRUPT' });
    // A line that is not an index line at all is parsed, whatever `only` says, and named.
    await fsp.writeFile(path, lines.map((l, i) => (i === skipped ? 'not an index line' : l)).join('\n'), 'latin1');
    await expect(collect(indexEntryRuns(path, { ...x, sha256: undefined }, (line) => !line.startsWith('{"features":"') || only(line)))).rejects.toMatchObject({ code: 'RECORDS_INDEX_MALFORMED', details: { line: skipped + 1 } });
  });
});

async function collect<T>(runs: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const run of runs) out.push(...run);
  return out;
}
