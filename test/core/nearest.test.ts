/** The edit distance and nearest-name choice behind "did you mean …?" hints (flags, commands, dataset NAMEs). */
import { describe, expect, it } from 'vitest';
import { editDistance, nearestName } from '../../src/core/nearest.js';

describe('editDistance', () => {
  it('counts insertions, deletions and substitutions one edit each', () => {
    expect(editDistance('againt', 'against')).toBe(1);
    expect(editDistance('pubkeys', 'pubkey')).toBe(1);
    expect(editDistance('sent', 'sant')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', 'abc')).toBe(0);
  });

  it('counts the swap of two adjacent characters as one edit, as a typing slip is', () => {
    expect(editDistance('lsit', 'list')).toBe(1);
    expect(editDistance('jsno', 'json')).toBe(1);
    expect(editDistance('snet', 'sent')).toBe(1);
  });
});

describe('nearestName', () => {
  it('takes the nearest candidate within the limit, the first of equals, and never the name itself', () => {
    expect(nearestName('lsit', ['init', 'list'], 2)).toBe('list');
    expect(nearestName('verfy', ['verify', 'verify-model'], 2)).toBe('verify');
    expect(nearestName('list', ['list'], 2)).toBeUndefined();
  });

  it('suggests nothing beyond the limit', () => {
    expect(nearestName('frobnicate', ['verify', 'list', 'seal'], 2)).toBeUndefined();
  });
});
