/**
 * SpilledGroups: groups by key held in a map up to a weight, then written as sorted runs to a
 * temporary file and merged; read back in key order, each key once, its groups combined in the
 * order they were made — what one map would have given.
 */
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { jsonCodec } from '../../src/io/spill-list.js';
import { MERGE_FAN_IN, SpilledGroups, type GroupCodec } from '../../src/io/spill-groups.js';

/** A key and the items added under it, in order. */
interface Group {
  key: string;
  items: number[];
}

const CODEC: GroupCodec<Group> = {
  ...jsonCodec<Group>(),
  key: (g) => g.key,
  combine: (a, b) => ({ key: a.key, items: [...a.items, ...b.items] }),
};

/** Entries of the temporary folder that are spill files' (made and removed at once). */
const spillFolders = (): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith('snap-list-'));

/** Add `(key, item)` pairs as fsck adds missing objects' users: to the held group, else a new one. */
function gather(groups: SpilledGroups<Group>, pairs: [string, number][]): void {
  for (const [key, item] of pairs) {
    const held = groups.get(key);
    if (held) {
      held.items.push(item);
      groups.grew(1);
    } else groups.add(key, { key, items: [item] }, 1);
  }
}

/** What one map gives for the pairs: each key once, in key order, its items in the order added. */
function expected(pairs: [string, number][]): Group[] {
  const m = new Map<string, number[]>();
  for (const [k, i] of pairs) m.set(k, [...(m.get(k) ?? []), i]);
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, items]) => ({ key, items }));
}

/** `n` pairs over `keys` keys in a shuffled but fixed order (keys with multi-byte characters among them). */
function pairs(n: number, keys: number): [string, number][] {
  let x = 12345;
  return Array.from({ length: n }, (_, i) => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const k = (x >>> 8) % keys;
    return [`key ${String(k).padStart(5, '0')}${k % 11 === 0 ? ' é 🌍' : ''}`, i];
  });
}

describe('SpilledGroups', () => {
  it(`reads back every key once, in key order, with its items in the order added, over more runs than are merged at once (${MERGE_FAN_IN})`, () => {
    const p = pairs(20_000, 3_000);
    const g = new SpilledGroups(CODEC, 50, 'test groups');
    gather(g, p);
    g.finish();
    const want = expected(p);
    expect(g.length).toBe(want.length);
    expect([...g]).toEqual(want);
    expect([...g]).toEqual(want); // read again
    g.close();
    expect([...g]).toEqual([]);
    expect(spillFolders()).toEqual([]);
  });

  it('merges a single run as it was written, and counts its keys', () => {
    const p = pairs(300, 40);
    const g = new SpilledGroups(CODEC, 200, 'test groups');
    gather(g, p.slice(0, 200)); // one run written
    g.finish();
    expect([...g]).toEqual(expected(p.slice(0, 200)));
    expect(g.length).toBe(expected(p.slice(0, 200)).length);
    g.close();
  });

  it('gives the one map\'s result when the groups never weigh their bound (nothing written)', () => {
    const p = pairs(500, 100);
    const g = new SpilledGroups(CODEC, 10_000, 'test groups');
    gather(g, p);
    g.finish();
    expect([...g]).toEqual(expected(p));
    expect(g.length).toBe(expected(p).length);
    g.close();
  });
});
