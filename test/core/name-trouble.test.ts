import { describe, expect, it } from 'vitest';
import { LONG_NAME_MIN, NameTroubles } from '../../src/core/name-trouble.js';

const troublesOf = (...paths: string[]) => {
  const t = new NameTroubles();
  for (const p of paths) t.add(p);
  return t.list();
};

describe('NameTroubles: the first name of each kind a target may not hold', () => {
  it('finds nothing in short, plain ASCII paths', () => {
    expect(troublesOf('a.txt', 'sub/b-c_d.json', 'x'.repeat(LONG_NAME_MIN))).toEqual([]);
  });

  it('keeps the first name holding each reserved character, and the path it is in', () => {
    expect(troublesOf('a.txt', '12:00.json', '13:00.json', 'what?/b.txt', 'c*d')).toEqual([
      { kind: 'char :', path: '12:00.json', name: '12:00.json' },
      { kind: 'char ?', path: 'what?/b.txt', name: 'what?' },
      { kind: 'char *', path: 'c*d', name: 'c*d' },
    ]);
  });

  it('names each kind a name shows once: a name with : and | is the first of both', () => {
    expect(troublesOf('a:b|c').map((t) => t.kind)).toEqual(['char :', 'char |']);
  });

  it('finds a trailing dot or space in a folder name as in a file name, and non-ASCII names', () => {
    expect(troublesOf('dir./a', 'b ', 'caf\u00e9/x', 'na\u00efve')).toEqual([
      { kind: 'trailing dot', path: 'dir./a', name: 'dir.' },
      { kind: 'trailing space', path: 'b ', name: 'b ' },
      { kind: 'non-ASCII', path: 'caf\u00e9/x', name: 'caf\u00e9' },
    ]);
  });

  it('keeps the longest name over the limit, in UTF-8 bytes and in UTF-16 units, once when it is one name', () => {
    const long = 'L'.repeat(300);
    const longer = 'M'.repeat(301);
    expect(troublesOf(`a/${long}`, `${longer}/b`).filter((t) => t.kind.startsWith('longest'))).toEqual([{ kind: 'longest in bytes', path: `${longer}/b`, name: longer }]);
    // 100 × é is 200 bytes but 100 units; 150 ASCII letters are 150 of both: two probes
    const wide = '\u00e9'.repeat(100);
    const narrow = 'n'.repeat(150);
    expect(troublesOf(wide, narrow).filter((t) => t.kind.startsWith('longest'))).toEqual([
      { kind: 'longest in bytes', path: wide, name: wide },
      { kind: 'longest in UTF-16 units', path: narrow, name: narrow },
    ]);
  });

  it('keeps the longest path in bytes, or a file\'s folder with the temporary name beside it when that is longer; a link has no temporary name', () => {
    const longestOf = (temp: number, ...entries: [string, boolean][]) => {
      const t = new NameTroubles(temp);
      for (const [p, file] of entries) t.add(p, file);
      return t.longestPath();
    };
    expect(longestOf(30)).toBeUndefined();
    // 'abcdef/g' is 8 bytes, its temporary path 'abcdef/' + 30 = 37; a top-level file's is 30
    expect(longestOf(30, ['x.txt', true], ['abcdef/g', true])).toEqual({ path: 'abcdef/g', temporary: true, bytes: 37 });
    expect(longestOf(30, ['abcdef/g', false])).toEqual({ path: 'abcdef/g', temporary: false, bytes: 8 });
    const name = 'n'.repeat(100);
    expect(longestOf(30, [`a/${name}`, true], ['b/c', true])).toEqual({ path: `a/${name}`, temporary: false, bytes: 102 });
    // bytes, not units: 60 × é is 120 bytes, longer than 100 ASCII letters, found after them
    const wide = '\u00e9'.repeat(60);
    expect(longestOf(0, [name, true], [`d/${wide}`, true])).toEqual({ path: `d/${wide}`, temporary: false, bytes: 122 });
  });
});
