import { describe, expect, it } from 'vitest';
import { NameTroubles } from '../../src/core/name-trouble.js';

const troublesOf = (...paths: string[]) => {
  const t = new NameTroubles();
  for (const p of paths) t.add(p);
  return t.list();
};

describe('NameTroubles: the first name of each kind a target may not hold', () => {
  it('finds nothing in short, plain ASCII paths', () => {
    expect(troublesOf('a.txt', 'sub/b-c_d.json', 'x'.repeat(300))).toEqual([]);
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

});
