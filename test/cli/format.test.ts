/** The CLI's number formatting matches what `toLocaleString('en-US')` would print. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatCount, plural } from '../../src/cli/format.js';

describe('formatCount', () => {
  it('writes every safe integer as toLocaleString("en-US") does', () => {
    fc.assert(fc.property(fc.maxSafeInteger(), (n) => formatCount(n) === n.toLocaleString('en-US')));
    for (const n of [0, 7, 999, 1000, 12345, 1000000, -1234567]) expect(formatCount(n)).toBe(n.toLocaleString('en-US'));
  });

  it('is used by plural, with the noun in the right number', () => {
    expect(plural(1, 'file')).toBe('1 file');
    expect(plural(50000, 'file')).toBe('50,000 files');
    expect(plural(2, 'entry', 'entries')).toBe('2 entries');
  });
});

