import { describe, expect, it } from 'vitest';
import { ERROR_CODES, SnapError, isSnapError } from '../../src/core/errors.js';

describe('SnapError', () => {
  it('carries its code, details and cause', () => {
    const cause = new Error('low level');
    const e = new SnapError('NOT_FOUND', 'no such file', { path: '/x' }, { cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('SnapError');
    expect(e.code).toBe('NOT_FOUND');
    expect(e.details).toEqual({ path: '/x' });
    expect(e.cause).toBe(cause);
  });

  it('leaves details undefined when none are given', () => {
    expect(new SnapError('INTERNAL', 'x').details).toBeUndefined();
  });

  it('is recognized by isSnapError, with or without a code', () => {
    const e = new SnapError('USAGE', 'x');
    expect(isSnapError(e)).toBe(true);
    expect(isSnapError(e, 'USAGE')).toBe(true);
    expect(isSnapError(e, 'INTERNAL')).toBe(false);
    expect(isSnapError(new Error('x'))).toBe(false);
    expect(isSnapError({ code: 'USAGE' })).toBe(false);
  });

  it('has no duplicate codes, all in upper snake case', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    for (const c of ERROR_CODES) expect(c).toMatch(/^[A-Z][A-Z0-9_]*$/);
  });
});
