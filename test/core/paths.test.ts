import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_PATH_BYTES, compareUtf8, utf8Length, validatePath } from '../../src/core/paths.js';

const code = (c: string) => expect.objectContaining({ code: c });

describe('validatePath (SPEC §2)', () => {
  it.each(['a', 'a/b', 'train/cat/0001.jpg', '.hidden', 'a/.b', '..a', 'a..', '...', 'é/😂', 'a b', '~', 'a\\b'])(
    'accepts the path %j',
    (p) => {
      expect(validatePath(p)).toBe(p);
    },
  );

  it('refuses the empty path with PATH_EMPTY', () => {
    expect(() => validatePath('')).toThrowError(code('PATH_EMPTY'));
  });

  it('refuses a leading slash with PATH_ABSOLUTE', () => {
    expect(() => validatePath('/a')).toThrowError(code('PATH_ABSOLUTE'));
    expect(() => validatePath('/')).toThrowError(code('PATH_ABSOLUTE'));
  });

  it('refuses a path with "//" with PATH_EMPTY_SEGMENT', () => {
    expect(() => validatePath('a//b')).toThrowError(code('PATH_EMPTY_SEGMENT'));
  });

  it('refuses a path with a trailing slash with PATH_EMPTY_SEGMENT', () => {
    expect(() => validatePath('a/')).toThrowError(code('PATH_EMPTY_SEGMENT'));
  });

  it.each(['.', './a', 'a/./b', 'a/.'])('refuses %j, which has a . segment, with PATH_DOT_SEGMENT', (p) => {
    expect(() => validatePath(p)).toThrowError(code('PATH_DOT_SEGMENT'));
  });

  it.each(['..', '../a', 'a/../b', 'a/..'])('refuses %j, which has a .. segment, with PATH_DOTDOT_SEGMENT', (p) => {
    expect(() => validatePath(p)).toThrowError(code('PATH_DOTDOT_SEGMENT'));
  });

  it.each([
    ['U+0001', 'a\u0001b'],
    ['U+001F', 'a\u001fb'],
    ['U+007F (DEL)', 'a\u007fb'],
    ['a newline', 'a\nb'],
    ['a NUL', 'a\u0000'],
    ['a tab', '\tb'],
  ])('refuses a path with %s with PATH_CONTROL_CHAR', (_what, p) => {
    expect(() => validatePath(p)).toThrowError(code('PATH_CONTROL_CHAR'));
  });

  it('accepts U+0080, which is not a control character under the SPEC rule', () => {
    expect(validatePath('a\u0080b')).toBe('a\u0080b');
  });

  it.each([
    ['a lone high surrogate', 'a\uD800b'],
    ['a lone high surrogate at the end', 'a\uD800'],
    ['a lone low surrogate', '\uDC00a'],
    ['two high surrogates', '\uD800\uD800\uDC00'],
  ])('refuses %s with PATH_INVALID_UTF8', (_what, p) => {
    expect(() => validatePath(p)).toThrowError(code('PATH_INVALID_UTF8'));
  });

  it('accepts a path of exactly 4096 bytes', () => {
    expect(MAX_PATH_BYTES).toBe(4096);
    expect(validatePath('a'.repeat(4096))).toHaveLength(4096);
  });

  it('refuses a path of 4097 bytes with PATH_TOO_LONG', () => {
    expect(() => validatePath('a'.repeat(4097))).toThrowError(code('PATH_TOO_LONG'));
  });

  it('counts multibyte characters by their UTF-8 bytes, not their UTF-16 length', () => {
    const twoByte = 'é'.repeat(2048); // 4096 bytes, 2048 code units
    expect(validatePath(twoByte)).toBe(twoByte);
    expect(() => validatePath(twoByte + 'a')).toThrowError(code('PATH_TOO_LONG'));
    const fourByte = '😂'.repeat(1024); // 4096 bytes
    expect(validatePath(fourByte)).toBe(fourByte);
    expect(() => validatePath(`${fourByte}a`)).toThrowError(code('PATH_TOO_LONG'));
    expect(() => validatePath('€'.repeat(1366))).toThrowError(code('PATH_TOO_LONG')); // 4098 bytes
  });

  it('names the path in the error details', () => {
    try {
      validatePath('a/../b');
      expect.unreachable('validatePath should have thrown');
    } catch (e) {
      expect(e).toMatchObject({ code: 'PATH_DOTDOT_SEGMENT', details: { path: 'a/../b' } });
    }
  });
});

describe('utf8Length', () => {
  it('equals the length of the UTF-8 encoding of any well-formed string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 50 }), (s) => {
        expect(utf8Length(s)).toBe(Buffer.byteLength(s, 'utf8'));
      }),
    );
  });
});

describe('compareUtf8 (manifest order)', () => {
  it('puts "a.txt" before "a/b" (0x2E < 0x2F)', () => {
    expect(compareUtf8('a.txt', 'a/b')).toBeLessThan(0);
    expect(compareUtf8('a/b', 'a.txt')).toBeGreaterThan(0);
  });

  it('puts U+E000 before U+10000, unlike JavaScript string comparison', () => {
    expect('\u{10000}' < '\uE000').toBe(true);
    expect(compareUtf8('\uE000', '\u{10000}')).toBeLessThan(0);
    expect(compareUtf8('\u{10000}', '\uE000')).toBeGreaterThan(0);
    expect(compareUtf8('\uFFFF', '\u{10000}')).toBeLessThan(0);
  });

  it('puts a prefix before its extensions', () => {
    expect(compareUtf8('a', 'ab')).toBeLessThan(0);
    expect(compareUtf8('ab', 'a')).toBeGreaterThan(0);
    expect(compareUtf8('ab', 'ab')).toBe(0);
  });

  it('agrees in sign with comparing the UTF-8 bytes, for random strings', () => {
    const str = fc.string({ unit: 'binary', maxLength: 8 });
    fc.assert(
      fc.property(str, str, (a, b) => {
        expect(Math.sign(compareUtf8(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))));
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with byte order for strings drawn around the surrogate boundary', () => {
    const ch = fc.constantFrom('a', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uffff', '\u{10000}', '\u{10ffff}', '/', '.');
    const str = fc.array(ch, { maxLength: 5 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(str, str, (a, b) => {
        expect(Math.sign(compareUtf8(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))));
      }),
      { numRuns: 2000 },
    );
  });
});
