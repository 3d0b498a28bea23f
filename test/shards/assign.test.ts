/**
 * The split of a manifest between verify shards (src/shards/assign.ts): contiguous, deterministic,
 * balanced by weight, and every path — in the manifest or not — owned by exactly one shard.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FILE_WEIGHT, MAX_SHARDS, ShardAssigner, parseShardSpec } from '../../src/shards/assign.js';
import { compareUtf8 } from '../../src/core/paths.js';
import { isSnapError } from '../../src/core/errors.js';

function assign(paths: string[], sizes: number[], n: number): { shards: number[]; a: ShardAssigner } {
  const total = sizes.reduce((x, y) => x + y, 0);
  const a = new ShardAssigner(n, paths.length, total);
  return { shards: paths.map((p, i) => a.next(p, sizes[i] as number)), a };
}

describe('ShardAssigner', () => {
  it('gives shard 1 the first leaf, never goes back, and names ranges that tile the manifest', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 60 }), fc.array(fc.nat(1 << 22), { minLength: 60, maxLength: 60 }), fc.integer({ min: 1, max: 12 }), (raw, sizes, n) => {
        const paths = [...raw].sort(compareUtf8);
        const { shards, a } = assign(paths, sizes.slice(0, paths.length), n);
        expect(shards[0]).toBe(1);
        for (let i = 1; i < shards.length; i++) expect(shards[i]).toBeGreaterThanOrEqual(shards[i - 1] as number);
        let from = 0;
        for (let k = 1; k <= n; k++) {
          const r = a.range(k);
          expect(r.from).toBe(from);
          expect(shards.filter((s) => s === k).length).toBe(r.to - r.from);
          from = r.to;
        }
        expect(from).toBe(paths.length);
      }),
    );
  });

  it('owns every path that is not in the manifest by the shard of the last entry at or before it', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 2, maxLength: 40 }), fc.integer({ min: 1, max: 8 }), fc.string({ minLength: 1, maxLength: 4 }), (raw, n, probe) => {
        const sorted = [...raw].sort(compareUtf8);
        const paths = sorted.filter((p) => p !== probe);
        if (paths.length === 0) return;
        const { shards, a } = assign(paths, paths.map(() => 1000), n);
        let expected = 1;
        for (let i = 0; i < paths.length; i++) if (compareUtf8(paths[i] as string, probe) <= 0) expected = shards[i] as number;
        expect(a.ownerOf(probe)).toBe(expected);
      }),
    );
  });

  it('balances by bytes plus a fixed cost per file: one heavy file fills a shard alone', () => {
    const paths = ['a', 'b', 'c', 'd', 'e', 'f'];
    const { shards } = assign(paths, [100 * FILE_WEIGHT, 0, 0, 0, 0, 0], 2);
    expect(shards).toEqual([1, 2, 2, 2, 2, 2]);
    const even = assign(paths, [0, 0, 0, 0, 0, 0], 3).shards;
    expect(even).toEqual([1, 1, 2, 2, 3, 3]);
  });

  it('leaves shards empty when there are more shards than files', () => {
    const { shards, a } = assign(['a', 'b'], [1, 1], 5);
    expect(new Set(shards).size).toBe(2);
    const empty = [1, 2, 3, 4, 5].filter((k) => a.range(k).from === a.range(k).to);
    expect(empty.length).toBe(3);
    expect(a.firstPath(empty[0] as number)).toBeUndefined();
  });
});

describe('parseShardSpec', () => {
  it('reads K/N with K from 1', () => {
    expect(parseShardSpec('1/4')).toEqual({ index: 1, count: 4 });
    expect(parseShardSpec(`${MAX_SHARDS}/${MAX_SHARDS}`)).toEqual({ index: MAX_SHARDS, count: MAX_SHARDS });
  });
  it('refuses anything else as USAGE', () => {
    for (const t of ['0/4', '5/4', '4', '/4', '1/', `1/${MAX_SHARDS + 1}`, '01/4x', 'a/b', '1 / 4', '99999999999/1']) {
      let code = '';
      try {
        parseShardSpec(t);
      } catch (e) {
        if (isSnapError(e)) code = e.code;
      }
      expect(code, t).toBe('USAGE');
    }
  });
});

describe('docs/FORMAT.md §20.5 worked example', () => {
  it('splits a.txt (100000 B), b.txt, c/d.txt, e.txt over 2 shards as the table says, and owns the extras', () => {
    const { shards, a } = assign(['a.txt', 'b.txt', 'c/d.txt', 'e.txt'], [100_000, 10, 10, 5], 2);
    expect(shards).toEqual([1, 1, 2, 2]);
    expect([a.range(1), a.range(2)]).toEqual([{ from: 0, to: 2 }, { from: 2, to: 4 }]);
    expect(['0.txt', 'b2.txt', 'd.txt'].map((p) => a.ownerOf(p))).toEqual([1, 1, 2]);
  });

  it('is the table the section shows: W, each leaf\'s start and shard, as computed here', () => {
    const doc = readFileSync(new URL('../../docs/FORMAT.md', import.meta.url), 'utf8');
    const text = doc.slice(doc.indexOf('### 20.5 Worked example'), doc.indexOf('### 20.6'));
    const paths = ['a.txt', 'b.txt', 'c/d.txt', 'e.txt'];
    const sizes = [100_000, 10, 10, 5];
    const { shards } = assign(paths, sizes, 2);
    const n = (x: number) => x.toLocaleString('en-US');
    const total = sizes.reduce((x, y) => x + y, 0);
    expect(text).toContain(`\`W = ${n(total)} + ${paths.length} × ${n(FILE_WEIGHT)} = ${n(total + paths.length * FILE_WEIGHT)}\``);
    let start = 0;
    paths.forEach((p, i) => {
      expect(text).toContain(`| ${i} | \`${p}\` | ${n(start)} | ${shards[i]} |`);
      start += (sizes[i] as number) + FILE_WEIGHT;
    });
  });
});
