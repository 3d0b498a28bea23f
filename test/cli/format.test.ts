/** The CLI's number formatting matches what `toLocaleString('en-US')` would print. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatCount, plural, shortDigest } from '../../src/cli/format.js';

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


describe('shortDigest', () => {
  it('shortens a digest to its first 12 hex digits', () => {
    expect(shortDigest('d043d05431c9cade625c207de4d369b4fc04ad1c75dbdf0f28d60863fb8908c0')).toBe('d043d05431c9');
  });

  it('escapes what a digest read from a file may hold instead of hex: no control character reaches the terminal', () => {
    const shown = shortDigest('\u001b]0;pwned\u0007\u001b[2J');
    expect(shown).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(shown).toContain('\\x1b');
  });
});
