import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IndexBuilder } from '../../src/records/build-index.js';
import { FileSetIndexer } from '../../src/records/index-file.js';
import { indexEntryRuns } from '../../src/records/read-index.js';
import { jcs } from '../../src/records/canonical.js';
import { compareEntries, parseIndexLine, type IndexEntry } from '../../src/records/index-line.js';
import type { RecordIdentity } from '../../src/core/records.js';
import { tempDir } from '../helpers/tree.js';

type Rec = { key: string; body: string; label: string };
const rec = fc.record({ key: fc.string({ minLength: 1, maxLength: 3 }), body: fc.string({ maxLength: 4 }), label: fc.constantFrom('a', 'b', 'ç', '😀') });

async function build(records: Rec[], identity: RecordIdentity, runRecords: number, strictKeys = false) {
  const dir = await tempDir('snap-build-');
  const b = new IndexBuilder({ identity, labelled: true, tmpDir: dir, name: 'x', strictKeys, runRecords });
  records.forEach((r, i) => b.add({ canonical: jcs({ k: r.key, b: r.body, l: r.label }), features: jcs({ b: r.body }), key: identity === 'key' ? jcs([r.key]) : undefined, label: r.label }, i + 1, i + 2));
  const out = join(dir, 'index');
  const built = await b.finish(out);
  const text = await fsp.readFile(out, 'utf8');
  const runsLeft = (await fsp.readdir(dir)).filter((n) => n.startsWith('run-'));
  return { built, text, runsLeft };
}

describe('the index builder', () => {
  for (const identity of ['key', 'features', 'position'] as const) {
    it(`writes the same bytes whether it spills sorted runs or not, in index order (identity ${identity})`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(rec, { maxLength: 60 }), fc.integer({ min: 1, max: 7 }), async (records, run) => {
          const inMemory = await build(records, identity, 1 << 16);
          const spilled = await build(records, identity, run);
          expect(spilled.text).toBe(inMemory.text);
          expect(spilled.built).toEqual(inMemory.built);
          const lines = inMemory.text === '' ? [] : inMemory.text.slice(0, -1).split('\n');
          const entries = lines.map((l) => parseIndexLine(l, identity, true));
          for (let i = 1; i < entries.length; i++) expect(compareEntries(entries[i - 1]!, entries[i]!, identity)).toBeLessThan(0);
          expect(inMemory.built.count).toBe(records.length);
          const counts: Record<string, number> = {};
          for (const r of records) counts[r.label] = (counts[r.label] ?? 0) + 1;
          expect(inMemory.built.labels).toEqual(counts);
        }),
        { numRuns: 40 },
      );
    });
  }

  it('writes the same bytes when its sorted runs are longer than the merge reads at once (the run buffers are refilled under the records being merged)', async () => {
    // 3 runs of 6,000 records of some 250 bytes each: 1.5 MB a run, over the merge's 1 MiB read buffer.
    const records = Array.from({ length: 18_000 }, (_, i) => ({ key: `k${(i * 7919) % 18_000}-${'x'.repeat(150)}`, body: String(i % 97), label: i % 3 ? 'a' : 'b' }));
    const inMemory = await build(records, 'key', 1 << 16, true);
    const spilled = await build(records, 'key', 6_000, true);
    expect(spilled.text).toBe(inMemory.text);
    expect(spilled.built).toEqual(inMemory.built);
    expect(inMemory.built.count).toBe(18_000);
  });

  it('finds duplicate keys across runs when strict', async () => {
    const records = [{ key: 'a', body: '1', label: 'a' }, { key: 'b', body: '2', label: 'a' }, { key: 'c', body: '3', label: 'a' }, { key: 'a', body: '4', label: 'b' }];
    await expect(build(records, 'key', 2, true)).rejects.toMatchObject({ code: 'RECORDS_DUPLICATE_KEY', details: { rows: [1, 4] } });
  });

  it('refuses more than 4,096 distinct labels', async () => {
    const dir = await tempDir('snap-build-');
    const b = new IndexBuilder({ identity: 'features', labelled: true, tmpDir: dir, name: 'x', strictKeys: true });
    expect(() => {
      for (let i = 0; i <= 4096; i++) b.add({ canonical: String(i), features: String(i), key: undefined, label: `l${i}` }, i + 1, 0);
    }).toThrow(expect.objectContaining({ code: 'RECORDS_LIMIT' }));
  });
});

describe('label-folder sets', () => {
  const d = (c: string) => c.repeat(64);
  it('index files by their path without the label segment, labelled by it', async () => {
    const dir = await tempDir('snap-files-');
    const ix = new FileSetIndexer('mail/*/*', 1, { tmpDir: dir, strictKeys: true });
    for (const f of [{ path: 'mail/ham/1.eml', sha256: d('a') }, { path: 'mail/README', sha256: d('b') }, { path: 'mail/spam/2.eml', sha256: d('c') }]) await ix.add(f);
    const built = await ix.finish(join(dir, 'index'));
    expect(built).toMatchObject({ count: 2, labels: { ham: 1, spam: 1 } });
    const lines = (await fsp.readFile(join(dir, 'index'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.key, l.label, l.row])).toEqual([[['mail/1.eml'], 'ham', 1], [['mail/2.eml'], 'spam', 2]]);
    expect((await fsp.readdir(dir)).sort()).toEqual(['index']);
  });

  it('keep one file name under two labels as two records when sealing (FORMAT §19.4: the key and the label are the path), with a summary and no duplicate', async () => {
    const dir = await tempDir('snap-files-');
    const ix = new FileSetIndexer('*/*', 0, { tmpDir: dir, strictKeys: true, summary: true });
    await ix.add({ path: 'ham/1.eml', sha256: d('a') });
    await ix.add({ path: 'spam/1.eml', sha256: d('b') });
    const built = await ix.finish(join(dir, 'index'));
    expect(built).toMatchObject({ count: 2, labels: { ham: 1, spam: 1 }, duplicates: 0 });
    expect(built?.summary).toBeDefined();
    const lines = (await fsp.readFile(join(dir, 'index'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.key, l.label]).sort()).toEqual([[['1.eml'], 'ham'], [['1.eml'], 'spam']]);
  });
});

describe('reading an index back', () => {
  async function written(records: Rec[]) {
    const r = await build(records, 'key', 3);
    const dir = await tempDir('snap-read-');
    const path = join(dir, 'index');
    await fsp.writeFile(path, r.text);
    return { ...r, path };
  }
  const records: Rec[] = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, body: String(i), label: i % 3 ? 'a' : 'b' }));
  const all = async (path: string, x: Parameters<typeof indexEntryRuns>[1]) => {
    const out: IndexEntry[] = [];
    for await (const run of indexEntryRuns(path, x)) out.push(...run);
    return out;
  };

  it('gives every entry when the digest and count are the signed ones', async () => {
    const w = await written(records);
    expect(await all(w.path, { identity: 'key', labelled: true, sha256: w.built.sha256, count: 20, name: 't.csv' })).toHaveLength(20);
  });

  it('says OBJECT_CORRUPT when the bytes were altered, even into another valid index', async () => {
    const w = await written(records);
    await fsp.writeFile(w.path, w.text.replace('"label":"b"', '"label":"a"'));
    await expect(all(w.path, { identity: 'key', labelled: true, sha256: w.built.sha256, name: 't.csv' })).rejects.toMatchObject({ code: 'OBJECT_CORRUPT' });
    await fsp.writeFile(w.path, w.text.replace('"row":', '"row" :'));
    await expect(all(w.path, { identity: 'key', labelled: true, sha256: w.built.sha256, name: 't.csv' })).rejects.toMatchObject({ code: 'OBJECT_CORRUPT' });
  });

  it('says RECORDS_INDEX_MALFORMED for a bad line, lines out of order, a missing final newline or another count', async () => {
    const w = await written(records);
    const lines = w.text.slice(0, -1).split('\n');
    const cases = [w.text.replace('"row":', '"row" :'), [lines[1], lines[0], ...lines.slice(2)].join('\n') + '\n', w.text.slice(0, -1)];
    for (const c of cases) {
      await fsp.writeFile(w.path, c);
      await expect(all(w.path, { identity: 'key', labelled: true, name: 't.csv' })).rejects.toMatchObject({ code: 'RECORDS_INDEX_MALFORMED' });
    }
    await fsp.writeFile(w.path, w.text);
    await expect(all(w.path, { identity: 'key', labelled: true, count: 21, name: 't.csv' })).rejects.toMatchObject({ code: 'RECORDS_INDEX_MALFORMED' });
  });
});
