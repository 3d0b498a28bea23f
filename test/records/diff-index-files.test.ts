import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IndexBuilder, RUN_RECORDS } from '../../src/records/build-index.js';
import { diffIndexFiles, type IndexSide } from '../../src/records/diff-index-files.js';
import { createHash } from 'node:crypto';
import { diffRecords } from '../../src/records/record-diff.js';
import { RecordDiffCollector } from '../../src/records/record-report.js';
import { indexEntryRuns } from '../../src/records/read-index.js';
import { jcs } from '../../src/records/canonical.js';
import { ConflictTap } from '../../src/records/conflicts.js';
import type { RecordIdentity } from '../../src/core/records.js';
import { tempDir } from '../helpers/tree.js';

type Row = { id: string; x: string; label: string };
const rowArb = fc.record({ id: fc.constantFrom('1', '2', '3', '10', 'é', '😀', 'a"b'), x: fc.constantFrom('p', 'q', 'r'), label: fc.constantFrom('ham', 'spam', 'l\\n') });

/**
 * Write the index of `rows`. Sorted runs of `runRecords` records (4: many runs, merged, even for the
 * small property cases; the large cases, which are about the diff's read blocks and not the
 * builder's runs, pass the builder's default RUN_RECORDS — the index written is the same either way).
 */
async function write(dir: string, name: string, rows: Row[], identity: RecordIdentity, runRecords = 4): Promise<string> {
  const runs = await fsp.mkdtemp(join(dir, 'runs-'));
  const b = new IndexBuilder({ identity, labelled: true, tmpDir: runs, name, strictKeys: false, runRecords });
  rows.forEach((r, i) => b.add({ canonical: jcs(r), features: jcs(identity === 'key' ? { x: r.x } : { id: r.id, x: r.x }), key: identity === 'key' ? jcs([r.id]) : undefined, label: r.label }, i + 1, 0));
  const out = join(dir, name);
  await b.finish(out);
  return out;
}

/** Version B: version A with a few edits (so most records are unchanged and the readers step in lockstep). */
const editsArb = fc.array(fc.record({ at: fc.nat(), kind: fc.constantFrom('flip', 'feature', 'drop', 'add', 'copy', 'move'), row: rowArb }), { maxLength: 5 });
function edited(a: Row[], edits: { at: number; kind: string; row: Row }[]): Row[] {
  const b = [...a];
  for (const e of edits) {
    const i = e.at % Math.max(b.length, 1);
    const r = b[i];
    if (e.kind === 'add' || !r) b.splice(i, 0, e.row);
    else if (e.kind === 'flip') b[i] = { ...r, label: e.row.label };
    else if (e.kind === 'feature') b[i] = { ...r, x: e.row.x };
    else if (e.kind === 'drop') b.splice(i, 1);
    else if (e.kind === 'move') b.splice((e.at >>> 3) % b.length, 0, ...b.splice(i, 1)); // a record taken out and put back elsewhere
    else b.splice(i, 0, { ...r });
  }
  return b;
}

/** Conflict candidates of one index, read on its own (the reference for the diff's, derived from the other side's for B). */
async function ownCandidates(path: string, x: { identity: RecordIdentity; labelled: boolean; name: string }): Promise<Set<string>> {
  const tap = new ConflictTap();
  for await (const run of tap.tap(indexEntryRuns(path, x))) void run;
  return tap.candidates();
}

/** A report with its lists in a fixed order (the two diffs report duplicates in different orders). */
function normal(r: ReturnType<RecordDiffCollector['report']>) {
  const by = (x: unknown) => JSON.stringify(x);
  return { ...r, duplicates: [...r.duplicates].sort((p, q) => (by(p) < by(q) ? -1 : 1)) };
}

describe('the byte-level diff of two index files', () => {
  it('gives exactly what the entry-level merge-join gives, duplicates, flips and all', async () => {
    const dir = await tempDir('snap-dif-');
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(rowArb, { maxLength: 25 }), fc.array(rowArb, { maxLength: 25 }), fc.constantFrom<RecordIdentity>('key', 'features', 'position'), async (a, b, identity) => {
        const pa = await write(dir, `a${++n}`, a, identity);
        const pb = await write(dir, `b${n}`, b, identity);
        const x = { identity, labelled: true, name: 't' };
        const def = { name: 't', format: 'csv' as const, identity, label: 'label', ...(identity === 'key' ? { key: ['id'] } : {}) };
        const slow = new RecordDiffCollector(identity);
        const sc = await diffRecords(indexEntryRuns(pa, x), indexEntryRuns(pb, x), identity, slow);
        const fast = new RecordDiffCollector(identity);
        const fr = await diffIndexFiles({ path: pa, x }, { path: pb, x }, identity, fast);
        expect(normal(fast.report(def, fr.counts, []))).toEqual(normal(slow.report(def, sc, [])));
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same for a label-folder set (identity path: one key under several labels, and a hostile key twice under one label)', async () => {
    const dir = await tempDir('snap-dif-path-');
    const writePath = async (name: string, rows: Row[]) => {
      const runs = await fsp.mkdtemp(join(dir, 'runs-'));
      const b = new IndexBuilder({ identity: 'path', labelled: true, tmpDir: runs, name, strictKeys: false, runRecords: 4 });
      rows.forEach((r, i) => b.add({ canonical: jcs({ label: r.label, path: r.id, sha256: r.x }), features: jcs({ sha256: r.x }), key: jcs([r.id]), label: r.label }, i + 1, 0));
      const out = join(dir, name);
      await b.finish(out);
      return out;
    };
    let n = 0;
    let dups = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(rowArb, { maxLength: 25 }), fc.array(rowArb, { maxLength: 25 }), async (a, b) => {
        const pa = await writePath(`a${++n}`, a);
        const pb = await writePath(`b${n}`, b);
        const x = { identity: 'path' as const, labelled: true, name: 't' };
        const def = { name: 't', format: 'files' as const, identity: 'path' as const, labelSegment: 0 };
        const slow = new RecordDiffCollector('path');
        const sc = await diffRecords(indexEntryRuns(pa, x), indexEntryRuns(pb, x), 'path', slow);
        const fast = new RecordDiffCollector('path');
        const fr = await diffIndexFiles({ path: pa, x }, { path: pb, x }, 'path', fast);
        const report = normal(fast.report(def, fr.counts, []));
        expect(report).toEqual(normal(slow.report(def, sc, [])));
        // a duplicate is one key under one label twice, never one key under two labels
        const twice = (rows: Row[]) => new Set(rows.map((r) => `${r.id}\0${r.label}`)).size < rows.length;
        expect(report.duplicates.every((g) => g.label !== undefined)).toBe(true);
        expect(report.duplicates.some((g) => g.side === 'a')).toBe(twice(a));
        expect(report.duplicates.some((g) => g.side === 'b')).toBe(twice(b));
        if (twice(a) || twice(b)) dups++;
      }),
      { numRuns: 300 },
    );
    expect(dups).toBeGreaterThan(0);
  });

  it('gives the same, and each side the conflict candidates it has on its own, when B is A with a few edits', async () => {
    const dir = await tempDir('snap-dif-');
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(rowArb, { maxLength: 40 }), editsArb, fc.constantFrom<RecordIdentity>('key', 'features', 'position'), async (a, edits, identity) => {
        const b = edited(a, edits);
        const pa = await write(dir, `a${++n}`, a, identity);
        const pb = await write(dir, `b${n}`, b, identity);
        const x = { identity, labelled: true, name: 't' };
        const def = { name: 't', format: 'csv' as const, identity, label: 'label', ...(identity === 'key' ? { key: ['id'] } : {}) };
        const slow = new RecordDiffCollector(identity);
        const sc = await diffRecords(indexEntryRuns(pa, x), indexEntryRuns(pb, x), identity, slow);
        const fast = new RecordDiffCollector(identity);
        const fr = await diffIndexFiles({ path: pa, x }, { path: pb, x }, identity, fast);
        expect(normal(fast.report(def, fr.counts, []))).toEqual(normal(slow.report(def, sc, [])));
        expect(fr.counts.labelsA).toEqual(sc.labelsA);
        expect(fr.counts.labelsB).toEqual(sc.labelsB);
        expect([...fr.candidates.a].sort()).toEqual([...(await ownCandidates(pa, x))].sort());
        expect([...fr.candidates.b].sort()).toEqual([...(await ownCandidates(pb, x))].sort());
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same on indexes larger than its read block (lines and duplicates across blocks)', async () => {
    const dir = await tempDir('snap-dif-');
    // Each id two or three times with the same features and label (exact duplicates); the salt nudges
    // some features and flips some labels in version B.
    const rows = (salt: number): Row[] =>
      Array.from({ length: 15000 }, (_, i) => {
        const id = i % 7000;
        return { id: String(id), x: `v${(id * 31 + (i % 97 === 0 ? salt : 0)) % 5000}`, label: (id + (i % 101 === 0 ? salt : 0)) % 3 === 0 ? 'spam' : 'ham' };
      });
    for (const identity of ['key', 'features'] as const) {
      const pa = await write(dir, `big-a-${identity}`, rows(0), identity, RUN_RECORDS);
      const pb = await write(dir, `big-b-${identity}`, rows(1), identity, RUN_RECORDS);
      expect((await fsp.stat(pa)).size).toBeGreaterThan(2 << 20);
      const x = { identity, labelled: true, name: 't' };
      const def = { name: 't', format: 'csv' as const, identity, label: 'label', ...(identity === 'key' ? { key: ['id'] } : {}) };
      const slow = new RecordDiffCollector(identity);
      const sc = await diffRecords(indexEntryRuns(pa, x), indexEntryRuns(pb, x), identity, slow);
      const fast = new RecordDiffCollector(identity);
      const fr = await diffIndexFiles({ path: pa, x }, { path: pb, x }, identity, fast);
      const report = normal(fast.report(def, fr.counts, []));
      expect(report).toEqual(normal(slow.report(def, sc, [])));
      expect(report.duplicates.length).toBeGreaterThan(100);
      expect(report.summary.flipped + report.summary.modified).toBeGreaterThan(50);
      // The same with the digests hashed on a worker thread, checked against the right digests…
      const sha = async (p: string) => createHash('sha256').update(await fsp.readFile(p)).digest('hex');
      const xa = { ...x, sha256: await sha(pa) };
      const xb = { ...x, sha256: await sha(pb) };
      const onWorker = new RecordDiffCollector(identity);
      const wr = await diffIndexFiles({ path: pa, x: xa }, { path: pb, x: xb }, identity, onWorker, { hashWorkerMinBytes: 0 });
      expect(normal(onWorker.report(def, wr.counts, []))).toEqual(report);
      expect(wr.candidates).toEqual(fr.candidates);
      // …and one flipped byte of either index (a digit of a row, so the line stays well-formed) is still caught.
      for (const [p, side] of [[pa, 'a'], [pb, 'b']] as const) {
        const bytes = await fsp.readFile(p);
        const at = bytes.lastIndexOf('"row":', bytes.length >> 1) + 6;
        bytes[at] = bytes[at] === 0x39 ? 0x38 : (bytes[at] as number) + 1;
        const bad = join(dir, `bad-${side}-${identity}`);
        await fsp.writeFile(bad, bytes);
        const sides = side === 'a' ? [{ path: bad, x: xa }, { path: pb, x: xb }] : [{ path: pa, x: xa }, { path: bad, x: xb }];
        for (const hashWorkerMinBytes of [0, Infinity]) {
          await expect(diffIndexFiles(sides[0] as IndexSide, sides[1] as IndexSide, identity, new RecordDiffCollector(identity), { hashWorkerMinBytes })).rejects.toMatchObject({ code: 'OBJECT_CORRUPT' });
        }
      }
    }
  });

  it('fails with INTERNAL, at once, when the hashing worker fails in the middle of a diff', async () => {
    const dir = await tempDir('snap-dif-');
    const rows = Array.from({ length: 12000 }, (_, i) => ({ id: String(i), x: `v${i}`, label: i % 3 ? 'ham' : 'spam' }));
    const pa = await write(dir, 'a', rows, 'key', RUN_RECORDS);
    const pb = await write(dir, 'b', rows.map((r, i) => (i === 6000 ? { ...r, label: 'ham' } : r)), 'key', RUN_RECORDS);
    const sha = async (p: string) => createHash('sha256').update(await fsp.readFile(p)).digest('hex');
    const x = { identity: 'key' as const, labelled: true, name: 't' };
    const sides: [IndexSide, IndexSide] = [{ path: pa, x: { ...x, sha256: await sha(pa) } }, { path: pb, x: { ...x, sha256: await sha(pb) } }];
    expect((await fsp.stat(pa)).size).toBeGreaterThan(2 << 20); // several read blocks per side
    for (const failAfterBlocks of [0, 3]) {
      const t0 = Date.now();
      await expect(diffIndexFiles(...sides, 'key', new RecordDiffCollector('key'), { hashWorkerMinBytes: 0, hashWorkerFailAfterBlocks: failAfterBlocks })).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringContaining('planted by a test') });
      expect(Date.now() - t0).toBeLessThan(10_000); // not the worker's two-minute time-out
    }
    // The same diff with a worker that does not fail succeeds.
    const ok = await diffIndexFiles(...sides, 'key', new RecordDiffCollector('key'), { hashWorkerMinBytes: 0 });
    expect(ok.counts.flipped).toBe(1);
  }, 60_000);

  it('treats a missing side as an empty index', async () => {
    const dir = await tempDir('snap-dif-');
    const pa = await write(dir, 'a', [{ id: '1', x: 'p', label: 'ham' }], 'key');
    const c = new RecordDiffCollector('key');
    const r = await diffIndexFiles({ path: pa, x: { identity: 'key', labelled: true, name: 't' } }, { path: undefined, x: { identity: 'key', labelled: true, name: 't' } }, 'key', c);
    expect(r.counts).toMatchObject({ a: 1, b: 0, removed: 1 });
  });

  it('says OBJECT_CORRUPT for an altered index, RECORDS_INDEX_MALFORMED for a malformed one it was not told the digest of', async () => {
    const dir = await tempDir('snap-dif-');
    const pa = await write(dir, 'a', [{ id: '1', x: 'p', label: 'ham' }, { id: '2', x: 'q', label: 'spam' }], 'key');
    const text = await fsp.readFile(pa, 'utf8');
    const sha = (await import('node:crypto')).createHash('sha256').update(text).digest('hex');
    const x = { identity: 'key' as const, labelled: true, name: 't' };
    await fsp.writeFile(pa, text.replace('"row":2', '"row":02'));
    const run = (xa: typeof x & { sha256?: string }) => diffIndexFiles({ path: pa, x: xa }, { path: undefined, x }, 'key', new RecordDiffCollector('key'));
    await expect(run({ ...x, sha256: sha })).rejects.toMatchObject({ code: 'OBJECT_CORRUPT' });
    await expect(run(x)).rejects.toMatchObject({ code: 'RECORDS_INDEX_MALFORMED', details: { line: 2 } });
    await fsp.writeFile(pa, text.replace('"label":"spam"', '"label":"ham"'));
    await expect(run({ ...x, sha256: sha })).rejects.toMatchObject({ code: 'OBJECT_CORRUPT' });
    await fsp.writeFile(pa, text.split('\n').reverse().join('\n').slice(1) + '\n');
    await expect(run(x)).rejects.toMatchObject({ code: 'RECORDS_INDEX_MALFORMED' });
  });
});
