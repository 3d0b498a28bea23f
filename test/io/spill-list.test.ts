/**
 * SpillList: the first entries in memory, the rest in a temporary file no longer named in the
 * temporary folder; every entry read back in the order added, however it was written.
 */
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { jsonCodec, SpillList } from '../../src/io/spill-list.js';

/** Entries of the temporary folder that are SpillList's. */
const spillFolders = (): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith('snap-list-'));

describe('SpillList', () => {
  it('gives back every entry in the order added, across the memory and the file, line feeds and multi-byte characters in them included', () => {
    const l = new SpillList(jsonCodec<string>(), 3, 'test entries');
    const want = Array.from({ length: 50_000 }, (_, i) => `entry ${i}${i % 7 === 0 ? '\nwith a line feed' : ''}${i % 5 === 0 ? ' é 🌍' : ''}`);
    for (const x of want) l.push(x);
    expect(l.length).toBe(want.length);
    expect(l.spilled).toBe(true);
    expect([...l]).toEqual(want);
    expect([...l]).toEqual(want); // read again
    expect(l.first(4)).toEqual(want.slice(0, 4));
    l.push('one more');
    expect([...l].slice(-2)).toEqual([want[want.length - 1], 'one more']);
    l.close();
    expect([...l]).toEqual([]);
  });

  it('keeps no more than its bound in memory and writes nothing for a short list', () => {
    const l = new SpillList(jsonCodec<number>(), 10, 'test entries');
    l.push(1, 2, 3);
    expect(l.spilled).toBe(false);
    expect([...l]).toEqual([1, 2, 3]);
    l.close();
  });

  it('leaves no file or folder in the temporary folder, even while it is open', () => {
    const before = spillFolders();
    const l = new SpillList(jsonCodec<number>(), 0, 'test entries');
    for (let i = 0; i < 100_000; i++) l.push(i);
    expect([...l].length).toBe(100_000);
    expect(spillFolders()).toEqual(before);
    l.close();
  });
});
