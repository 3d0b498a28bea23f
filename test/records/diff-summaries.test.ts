/**
 * The diff of two signed indexes through their summaries (docs/FORMAT.md §19.10) reads only the
 * chunks that differ and reports exactly what the diff of the whole indexes reports.
 */
import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IndexBuilder, type BuiltIndex } from '../../src/records/build-index.js';
import { diffIndexFiles } from '../../src/records/diff-index-files.js';
import { diffBySummaries, type SummarySide } from '../../src/records/diff-summaries.js';
import { ORDER_NOT_MEASURED } from '../../src/records/row-order.js';
import { conflictGroups } from '../../src/records/conflicts.js';
import { RecordDiffCollector } from '../../src/records/record-report.js';
import { fileForms, jcs } from '../../src/records/canonical.js';
import { CHUNK_BOUNDARY_BELOW, MAX_CHUNK_BYTES, MAX_CHUNK_RECORDS, MAX_SUMMARY_LINE_BYTES, parseIndexSummary, summaryChunkLine } from '../../src/records/index-summary.js';
import { isSnapError } from '../../src/core/errors.js';
import { MAX_INDEX_LINE_BYTES, MAX_LABEL_BYTES } from '../../src/core/records.js';
import { tempDir } from '../helpers/tree.js';

type Row = { id: number; x: string; label: string };
const X = ['p', 'q', 'r', 's', 't', 'u', 'v', 'w'];
const LABELS = ['ham', 'spam', 'eggs'];

/** A table of `n` records with unique ids 1..n (ids as numbers, so their JSON order is not their numeric order). */
function table(n: number, seed: number): Row[] {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
  return Array.from({ length: n }, (_, i) => ({ id: i + 1, x: X[next() % X.length] as string, label: LABELS[next() % LABELS.length] as string }));
}

async function build(dir: string, name: string, rows: Row[], runRecords = 1 << 19): Promise<{ path: string; built: BuiltIndex }> {
  const runs = await fsp.mkdtemp(join(dir, 'runs-'));
  const b = new IndexBuilder({ identity: 'key', labelled: true, tmpDir: runs, name: 't', strictKeys: true, summary: true, runRecords });
  rows.forEach((r, i) => b.add({ canonical: jcs(r), features: jcs({ x: r.x }), key: jcs([r.id]), label: r.label }, i + 1, 0));
  const path = join(dir, name);
  return { path, built: await b.finish(path) };
}

const side = (p: { path: string; built: BuiltIndex }): SummarySide => ({
  path: p.path,
  x: { identity: 'key', labelled: true, name: 't', sha256: p.built.sha256, count: p.built.count },
  summaryPath: p.built.summary!.path,
  summarySha256: p.built.summary!.sha256,
  labels: p.built.labels,
});
const def = { name: 't', format: 'csv' as const, identity: 'key' as const, key: ['id'], label: 'label' };

/** The report of the whole-index diff, conflicts included, as `diff` builds it. */
async function fullReport(a: { path: string; built: BuiltIndex }, b: { path: string; built: BuiltIndex }) {
  const c = new RecordDiffCollector('key');
  const x = (p: { built: BuiltIndex }) => ({ identity: 'key' as const, labelled: true, name: 't', sha256: p.built.sha256, count: p.built.count });
  const r = await diffIndexFiles({ path: a.path, x: x(a) }, { path: b.path, x: x(b) }, 'key', c);
  const conflicts = [...(await conflictGroups(a.path, x(a), 'a', r.candidates.a)), ...(await conflictGroups(b.path, x(b), 'b', r.candidates.b))];
  return c.report(def, r.counts, conflicts);
}

async function summaryReport(a: { path: string; built: BuiltIndex }, b: { path: string; built: BuiltIndex }, opts: { order?: boolean } = {}) {
  const c = new RecordDiffCollector('key');
  const r = await diffBySummaries(side(a), side(b), 'key', c, opts);
  if (!r) throw new Error('no summary diff');
  return c.report(def, r.counts, r.conflicts);
}

const editArb = fc.record({ at: fc.nat(), kind: fc.constantFrom('flip', 'feature', 'drop', 'add', 'move'), x: fc.constantFrom(...X), label: fc.constantFrom(...LABELS) });
function edited(a: Row[], edits: { at: number; kind: string; x: string; label: string }[]): Row[] {
  const b = [...a];
  let fresh = a.length + 1;
  for (const e of edits) {
    const i = e.at % Math.max(b.length, 1);
    const r = b[i];
    if (e.kind === 'add' || !r) b.splice(i, 0, { id: fresh++, x: e.x, label: e.label });
    else if (e.kind === 'flip') b[i] = { ...r, label: e.label };
    else if (e.kind === 'feature') b[i] = { ...r, x: e.x };
    else if (e.kind === 'move') b.splice((e.at >>> 3) % b.length, 0, ...b.splice(i, 1)); // a record taken out and put back elsewhere
    else b.splice(i, 1);
  }
  return b;
}

function codeOf(e: unknown): string | undefined {
  return isSnapError(e) ? e.code : undefined;
}

describe('the diff through index summaries', () => {
  it('reports exactly what the diff of the whole indexes reports, conflicts included', async () => {
    const dir = await tempDir('snap-dsum-');
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 3000 }), fc.nat(), fc.array(editArb, { maxLength: 12 }), fc.boolean(), async (rows, seed, edits, smallRuns) => {
        const ta = table(rows, seed);
        const a = await build(dir, `a${++n}`, ta, smallRuns ? 200 : undefined);
        const b = await build(dir, `b${n}`, edited(ta, edits), smallRuns ? 200 : undefined);
        const full = await fullReport(a, b);
        // Asked for the order (diff --order, check with maxReordered): exactly the whole-index diff's report.
        const got = await summaryReport(a, b, { order: true });
        expect(got.order).toBeDefined();
        expect(got).toEqual(full);
        if (edits.every((e) => e.kind === 'flip' || e.kind === 'feature')) expect(got.order).toEqual({ common: rows, moved: 0 });
        // By default: the same report, except that with records added or removed and rows renumbered
        // the order is said not to be measured (never a silent 0), with the records paired.
        const byDefault = await summaryReport(a, b);
        if (byDefault.order?.moved === null) {
          expect(byDefault.summary.added + byDefault.summary.removed).toBeGreaterThan(0);
          expect(byDefault.order).toEqual({ common: full.order?.common, moved: null, notMeasured: ORDER_NOT_MEASURED });
          expect({ ...byDefault, order: full.order }).toEqual(full);
        } else expect(byDefault).toEqual(full);
      }),
      { numRuns: 60 },
    );
  });

  it('knows the order without reading unchanged chunks when no row changed, and reads both indexes for it when rows were renumbered or reordered', async () => {
    const dir = await tempDir('snap-dsum-order-');
    const ta = table(5000, 11);
    const a = await build(dir, 'a', ta);
    const inPlace = await build(dir, 'b1', ta.map((r) => (r.id === 2500 ? { ...r, label: r.label === 'ham' ? 'spam' : 'ham' } : r)));
    expect((await summaryReport(a, inPlace)).order).toEqual({ common: 5000, moved: 0 });
    const appended = await build(dir, 'b2', [...ta, { id: 5001, x: 'p', label: 'ham' }]);
    expect((await summaryReport(a, appended)).order).toEqual({ common: 5000, moved: 0 });
    const swapped = [...ta];
    [swapped[10], swapped[11]] = [swapped[11] as Row, swapped[10] as Row];
    const b = await build(dir, 'b3', swapped);
    expect((await summaryReport(a, b)).order).toEqual({ common: 5000, moved: 1 });
    expect((await fullReport(a, b)).order).toEqual({ common: 5000, moved: 1 });
    const removed = await build(dir, 'b4', ta.slice(1));
    expect((await summaryReport(a, removed, { order: true })).order).toEqual({ common: 4999, moved: 0 });
    expect((await fullReport(a, removed)).order).toEqual({ common: 4999, moved: 0 });
    // Then every byte of both indexes is read and checked against its signed digest: one flipped in a chunk both share is OBJECT_CORRUPT.
    for (const [x, y] of [[a, b], [b, a]] as const) {
      const bytes = Buffer.from(await fsp.readFile(y.path));
      bytes[20] = (bytes[20] as number) ^ 0x01;
      const altered = join(dir, `altered-${y === a ? 'a' : 'b'}`);
      await fsp.writeFile(altered, bytes);
      const sides = y === a ? [{ ...a, path: altered }, x] : [x, { ...b, path: altered }];
      const err = await summaryReport(sides[0] as typeof a, sides[1] as typeof a).catch((e: unknown) => e);
      expect(codeOf(err)).toBe('OBJECT_CORRUPT');
    }
  });

  it('reports exactly what the whole indexes report for a label-folder set whose classes reuse file names (key groups across chunk boundaries)', async () => {
    const dir = await tempDir('snap-dsum-files-');
    const CLASSES = ['bird', 'cat', 'dog'];
    type F = Map<string, string>; // dataset path → content digest
    const hex = (t: string) => createHash('sha256').update(t).digest('hex');
    const tree = (n: number, seed: number): F => {
      const f: F = new Map();
      for (let i = 0; i < n; i++) f.set(`img/${CLASSES[(i * 7 + seed) % 3]}/image_${String(i % Math.max(1, n >> 1)).padStart(4, '0')}.jpg`, hex(`${seed} ${i % 50}`));
      return f;
    };
    const buildFiles = async (name: string, f: F) => {
      const runs = await fsp.mkdtemp(join(dir, 'runs-'));
      const b = new IndexBuilder({ identity: 'path', labelled: true, tmpDir: runs, name: 'img/**', strictKeys: true, summary: true });
      [...f].sort().forEach(([path, sha], i) => b.add(fileForms(path, sha, 1)!, i + 1, 0));
      const path = join(dir, name);
      return { path, built: await b.finish(path) };
    };
    const x = (p: { built: BuiltIndex }) => ({ identity: 'path' as const, labelled: true, name: 'img/**', sha256: p.built.sha256, count: p.built.count });
    const fdef = { name: 'img/**', format: 'files' as const, identity: 'path' as const, labelSegment: 1 };
    const full = async (a: { path: string; built: BuiltIndex }, b: { path: string; built: BuiltIndex }) => {
      const c = new RecordDiffCollector('path');
      const r = await diffIndexFiles({ path: a.path, x: x(a) }, { path: b.path, x: x(b) }, 'path', c);
      return c.report(fdef, r.counts, [...(await conflictGroups(a.path, x(a), 'a', r.candidates.a)), ...(await conflictGroups(b.path, x(b), 'b', r.candidates.b))]);
    };
    const bySummaries = async (a: { path: string; built: BuiltIndex }, b: { path: string; built: BuiltIndex }) => {
      const c = new RecordDiffCollector('path');
      const side = (p: { path: string; built: BuiltIndex }): SummarySide => ({ path: p.path, x: x(p), summaryPath: p.built.summary!.path, summarySha256: p.built.summary!.sha256, labels: p.built.labels });
      const r = await diffBySummaries(side(a), side(b), 'path', c);
      if (!r) throw new Error('no summary diff');
      return c.report(fdef, r.counts, r.conflicts);
    };
    const change = fc.record({ at: fc.nat(), kind: fc.constantFrom('move', 'edit', 'swap', 'copy', 'add', 'drop'), to: fc.constantFrom(...CLASSES) });
    let n = 0;
    let chunked = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2500 }), fc.nat(), fc.array(change, { maxLength: 12 }), async (count, seed, changes) => {
        const fa = tree(count, seed);
        const fb: F = new Map(fa);
        for (const ch of changes) {
          const paths = [...fb.keys()];
          const p = paths[ch.at % Math.max(1, paths.length)];
          if (p === undefined) continue;
          const segs = p.split('/');
          const other = [segs[0], ch.to, ...segs.slice(2)].join('/');
          const sha = fb.get(p) as string;
          if (ch.kind === 'move' && !fb.has(other)) {
            fb.delete(p);
            fb.set(other, sha);
          } else if (ch.kind === 'edit') fb.set(p, hex(`edit ${ch.at}`));
          else if (ch.kind === 'swap' && fb.has(other)) {
            fb.set(p, fb.get(other) as string);
            fb.set(other, sha);
          } else if (ch.kind === 'copy') fb.set(other, sha);
          else if (ch.kind === 'add') fb.set(`img/${ch.to}/new_${ch.at}.jpg`, hex(`new ${ch.at}`));
          else if (ch.kind === 'drop') fb.delete(p);
        }
        const a = await buildFiles(`fa${++n}`, fa);
        const b = await buildFiles(`fb${n}`, fb);
        if (parseIndexSummary(await fsp.readFile(a.built.summary!.path), { name: 'img/**', count: a.built.count }).chunks.length > 1) chunked++;
        const got = await bySummaries(a, b);
        expect(got).toEqual(await full(a, b));
        expect(got.duplicates).toEqual([]);
        if (changes.length === 0) expect(got.summary).toMatchObject({ added: 0, removed: 0, modified: 0, flipped: 0 });
      }),
      { numRuns: 40 },
    );
    expect(chunked).toBeGreaterThan(10);
  });

  it('by default does not measure the order when records were added or removed and rows renumbered: it says so, and reads no whole index', async () => {
    const dir = await tempDir('snap-dsum-order-');
    const ta = table(5000, 11);
    const a = await build(dir, 'a', ta);
    // Record 1 removed (every row after it renumbered), one appended.
    const tb = [...ta.slice(1), { id: 5001, x: 'p', label: 'ham' }];
    const b = await build(dir, 'b', tb);
    const report = await summaryReport(a, b);
    expect(report.summary).toMatchObject({ added: 1, removed: 1, unchanged: 4999 });
    expect(report.order).toEqual({ common: 4999, moved: null, notMeasured: ORDER_NOT_MEASURED });
    // No whole index read: a byte flipped in a chunk both sides share goes unseen, the report the same.
    const chunks = parseIndexSummary(await fsp.readFile(b.built.summary!.path), { name: 't', count: 5000 }).chunks.list();
    const text = await fsp.readFile(b.path, 'utf8');
    const changedAt = text.indexOf('"key":[5001]');
    let at = 0;
    const starts = chunks.map((c) => ((at += c.bytes), at - c.bytes));
    const changed = starts.filter((s) => s <= changedAt).length - 1;
    const shared = starts[changed === 0 ? 1 : 0] as number;
    const bytes = Buffer.from(await fsp.readFile(b.path));
    bytes[shared + 20] = (bytes[shared + 20] as number) ^ 0x01;
    const altered = join(dir, 'b-altered');
    await fsp.writeFile(altered, bytes);
    expect(await summaryReport(a, { ...b, path: altered })).toEqual(report);
    // Asked for it: the exact order, both indexes read whole (the altered byte is OBJECT_CORRUPT).
    expect((await summaryReport(a, b, { order: true })).order).toEqual({ common: 4999, moved: 0 });
    expect(codeOf(await summaryReport(a, { ...b, path: altered }, { order: true }).catch((e: unknown) => e))).toBe('OBJECT_CORRUPT');
    // Rows only reordered (nothing added or removed, the data-ordering case): measured by default.
    const swapped = [...ta];
    [swapped[10], swapped[11]] = [swapped[11] as Row, swapped[10] as Row];
    expect((await summaryReport(a, await build(dir, 'b2', swapped))).order).toEqual({ common: 5000, moved: 1 });
  });

  it('reads only the chunks that differ: a flipped byte in an unchanged chunk is not read, one in a changed chunk is OBJECT_CORRUPT', async () => {
    const dir = await tempDir('snap-dsum-');
    const ta = table(5000, 7);
    const tb = ta.map((r) => (r.id === 2500 ? { ...r, label: r.label === 'ham' ? 'spam' : 'ham' } : r));
    const a = await build(dir, 'a', ta);
    const b = await build(dir, 'b', tb);
    const report = await summaryReport(a, b);
    expect(report.flipped.map((f) => f.key)).toEqual([[2500]]);
    expect(report.summary.unchanged).toBe(4999);
    // Which bytes of B hold record 2500, and which do not: the index lines are in key order.
    const text = await fsp.readFile(b.path, 'utf8');
    const flippedAt = text.indexOf('"key":[2500]');
    const chunks = parseIndexSummary(await fsp.readFile(b.built.summary!.path), { name: 't', count: 5000 }).chunks.list();
    expect(chunks.length).toBeGreaterThan(20);
    let at = 0;
    const starts = chunks.map((c) => ((at += c.bytes), at - c.bytes));
    const changed = starts.filter((s) => s <= flippedAt).length - 1;
    const unchangedChunk = changed === 0 ? 1 : 0;
    const flipByteAt = async (off: number) => {
      const buf = Buffer.from(await fsp.readFile(b.path));
      buf[off] = (buf[off] as number) ^ 0x01;
      const copy = join(dir, `b-flipped-${off}`);
      await fsp.writeFile(copy, buf);
      return { path: copy, built: b.built };
    };
    // A byte of a chunk both sides share: never read, the report is the same.
    expect(await summaryReport(a, await flipByteAt((starts[unchangedChunk] as number) + 20))).toEqual(report);
    // A byte of the chunk that differs: read, checked against its signed SHA-256.
    const err = await summaryReport(a, await flipByteAt((starts[changed] as number) + 20)).catch((e: unknown) => e);
    expect(codeOf(err)).toBe('OBJECT_CORRUPT');
  });

  it('refuses a summary that does not hash to its signed digest (OBJECT_CORRUPT)', async () => {
    const dir = await tempDir('snap-dsum-');
    const ta = table(500, 3);
    const a = await build(dir, 'a', ta);
    const b = await build(dir, 'b', ta);
    const bytes = Buffer.from(await fsp.readFile(b.built.summary!.path));
    bytes[10] = (bytes[10] as number) ^ 0x01;
    const forged = join(dir, 'forged.summary');
    await fsp.writeFile(forged, bytes);
    const err = await diffBySummaries(side(a), { ...side(b), summaryPath: forged }, 'key', new RecordDiffCollector('key')).catch((e: unknown) => e);
    expect(codeOf(err)).toBe('OBJECT_CORRUPT');
  });

  it('tells an index of another size than its summary gives (OBJECT_CORRUPT) from a signed summary that is wrong (RECORDS_INDEX_MALFORMED)', async () => {
    const dir = await tempDir('snap-dsum-');
    const ta = table(300, 5);
    const a = await build(dir, 'a', ta);
    const b = await build(dir, 'b', ta);
    const longer = join(dir, 'b-longer');
    await fsp.writeFile(longer, Buffer.concat([await fsp.readFile(b.path), Buffer.from('\n')]));
    const e1 = await diffBySummaries(side(a), { ...side(b), path: longer }, 'key', new RecordDiffCollector('key')).catch((e: unknown) => e);
    expect(codeOf(e1)).toBe('OBJECT_CORRUPT');
    // A summary signed as it is, whose first chunk claims one byte more than the index has.
    const text = (await fsp.readFile(b.built.summary!.path, 'utf8')).replace(/^\{"bytes":(\d+)/, (_, n: string) => `{"bytes":${Number(n) + 1}`);
    const wrong = join(dir, 'wrong.summary');
    await fsp.writeFile(wrong, text);
    const sha = createHash('sha256').update(text).digest('hex');
    const e2 = await diffBySummaries(side(a), { ...side(b), summaryPath: wrong, summarySha256: sha }, 'key', new RecordDiffCollector('key')).catch((e: unknown) => e);
    expect(codeOf(e2)).toBe('RECORDS_INDEX_MALFORMED');
  });

  it('calls an index object longer than its signed count allows (a sparse file of 1 TiB) OBJECT_CORRUPT without reading it', async () => {
    const dir = await tempDir('snap-dsum-');
    const ta = table(300, 5);
    const a = await build(dir, 'a', ta);
    const b = await build(dir, 'b', ta);
    const huge = join(dir, 'b-huge');
    await fsp.writeFile(huge, '');
    await fsp.truncate(huge, 2 ** 40); // no disk used; reading it all would take many minutes
    const t0 = Date.now();
    const err = await diffBySummaries(side(a), { ...side(b), path: huge }, 'key', new RecordDiffCollector('key')).catch((e: unknown) => e);
    expect(codeOf(err)).toBe('OBJECT_CORRUPT');
    expect(Date.now() - t0).toBeLessThan(5_000);
  }, 20_000);

  it('cuts chunks after a fingerprint below the boundary byte, at most MAX_CHUNK_RECORDS records each, and they add up to the index', async () => {
    const dir = await tempDir('snap-dsum-');
    const a = await build(dir, 'a', table(4000, 11));
    const text = await fsp.readFile(a.path, 'utf8');
    const lines = text.split('\n').slice(0, -1);
    const chunks = parseIndexSummary(await fsp.readFile(a.built.summary!.path), { name: 't', count: 4000 }).chunks.list();
    let i = 0;
    for (const c of chunks) {
      const mine = lines.slice(i, i + c.records);
      i += c.records;
      expect(c.records).toBeLessThanOrEqual(MAX_CHUNK_RECORDS);
      expect(c.bytes).toBe(Buffer.byteLength(mine.join('\n') + '\n'));
      // The leaves digest: SHA-256 of the lines' RFC 9162 leaf hashes, SHA-256(0x00 ‖ line).
      const leaves = mine.map((l) => createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from(l)])).digest());
      expect(c.leaves).toBe(createHash('sha256').update(Buffer.concat(leaves)).digest('hex'));
      const fps = mine.map((l) => (JSON.parse(l) as { fingerprint: string }).fingerprint);
      expect(c.fingerprints).toBe(createHash('sha256').update(Buffer.from(fps.join(''), 'hex')).digest('hex'));
      // Only the last line of a chunk may have a fingerprint below the boundary byte.
      fps.slice(0, -1).forEach((f) => expect(parseInt(f.slice(0, 2), 16)).toBeGreaterThanOrEqual(CHUNK_BOUNDARY_BELOW));
    }
    expect(i).toBe(4000);
  });

  it('writes no summary its reader would refuse: a conflict group of 2,048 long escaped labels, a line over MAX_SUMMARY_LINE_BYTES, leaves the set without one', async () => {
    // Each label is 256 control characters, 6 bytes each in RFC 8785 (\u0001): the group's line is
    // about 3 MiB — under the 4 MiB of a statement that lists the same labels, over a summary line's 2 MiB.
    const dir = await tempDir('snap-dsum-');
    const runs = await fsp.mkdtemp(join(dir, 'runs-'));
    const b = new IndexBuilder({ identity: 'key', labelled: true, tmpDir: runs, name: 't', strictKeys: true, summary: true });
    const letters = [1, 2, 3, 4, 5, 6, 7, 0x0b, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f];
    for (let i = 0; i < 2048; i++) {
      let label = '';
      for (let v = i, k = 0; k < 3; k++, v = Math.floor(v / letters.length)) label += String.fromCharCode(letters[v % letters.length] as number);
      label = label.padEnd(MAX_LABEL_BYTES, '\u0001');
      b.add({ canonical: jcs({ id: i, label, x: 'same' }), features: jcs({ x: 'same' }), key: jcs([i]), label }, i + 1, 0);
    }
    const built = await b.finish(join(dir, 'index'));
    expect(built.summary).toBeUndefined();
    // What it would have been: one conflict line longer than any summary line may be.
    expect(JSON.stringify(built.labels).length).toBeGreaterThan(MAX_SUMMARY_LINE_BYTES);
  });

  it('refuses a malformed summary with RECORDS_INDEX_MALFORMED: not canonical, not adding up, a chunk after a conflict group', () => {
    const c = { bytes: 10, fingerprints: 'a'.repeat(64), leaves: 'b'.repeat(64), records: 2 };
    const ok = `${summaryChunkLine(c)}\n`;
    const parsed = parseIndexSummary(Buffer.from(ok), { name: 't', count: 2 });
    expect({ chunks: parsed.chunks.list(), conflicts: parsed.conflicts, bytes: parsed.bytes }).toEqual({ chunks: [c], conflicts: [], bytes: 10 });
    const conflict = `{"conflict":{"features":"${'c'.repeat(64)}","labels":{"ham":1,"spam":1},"records":[{"key":[1],"label":"ham","row":1},{"key":[2],"label":"spam","row":2}]}}\n`;
    expect(parseIndexSummary(Buffer.from(ok + conflict), { name: 't', count: 2 }).conflicts).toHaveLength(1);
    const bad = [
      ok.replace('{"bytes":10,', '{"bytes": 10,'), // not canonical
      ok.trimEnd(), // no final line feed
      ok + ok, // 4 records where 2 were signed
      conflict + ok, // a chunk after a conflict group
      ok + conflict.replace('"spam":1', '"spam":0'), // a label counted 0 times
      ok + conflict.replace(',"row":2}', '}'), // a record without its row
      ok.replace('"records":2', '"records":0'),
      ok.replace('"bytes":10', `"bytes":${MAX_CHUNK_BYTES + MAX_INDEX_LINE_BYTES}`), // larger than a chunk can be
      'not json\n',
      ok.replace('"bytes":10', '"bytes":010'), // a leading zero
      ok.replace('a'.repeat(64), 'A'.repeat(64)), // uppercase hex
      ok.replace('a'.repeat(64), 'a'.repeat(63)), // a digest one digit short
      ok.replace('b'.repeat(64), `${'b'.repeat(63)}g`), // not hex
      ok.replace('"records":2', '"records":00002'), // a number not in its shortest form
      ok.replace('"records":2', '"records":2,"x":1'), // a member more
      ok.replace('}\n', '} \n'), // a space after the line
      ok.replace('}\n', '}\r\n'), // CRLF
    ];
    for (const text of bad) {
      let code: string | undefined;
      try {
        parseIndexSummary(Buffer.from(text), { name: 't', count: 2 });
      } catch (e) {
        code = codeOf(e);
      }
      expect(code, text).toBe('RECORDS_INDEX_MALFORMED');
    }
  });
});
