import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { bytesEqual, decodeUtf8, fromBase64, fromHex, toBase64, toHex, utf8 } from '../../src/core/encoding.js';

const code = (c: string) => expect.objectContaining({ code: c });

describe('hex', () => {
  it('round-trips random bytes through lowercase hex', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        const h = toHex(b);
        expect(h).toMatch(/^[0-9a-f]*$/);
        expect(h).toBe(Buffer.from(b).toString('hex'));
        expect(fromHex(h)).toEqual(b);
      }),
    );
  });

  it('refuses uppercase, odd-length and non-hex text with the code it is given', () => {
    expect(() => fromHex('AB')).toThrowError(code('INTERNAL'));
    expect(() => fromHex('abc', 'MANIFEST_BAD_DIGEST')).toThrowError(code('MANIFEST_BAD_DIGEST'));
    expect(() => fromHex('zz', 'KEY_MALFORMED')).toThrowError(code('KEY_MALFORMED'));
  });
});

describe('fromBase64 (strict, both alphabets)', () => {
  it('writes standard padded base64', () => {
    expect(toBase64(Uint8Array.of(0xfb, 0xff))).toBe('+/8=');
    expect(toBase64(new Uint8Array(0))).toBe('');
  });

  it('accepts the standard alphabet with and without padding', () => {
    expect(fromBase64('+/8=')).toEqual(Uint8Array.of(0xfb, 0xff));
    expect(fromBase64('+/8')).toEqual(Uint8Array.of(0xfb, 0xff));
    expect(fromBase64('aGk=')).toEqual(utf8('hi'));
    expect(fromBase64('aA==')).toEqual(utf8('h'));
    expect(fromBase64('aA')).toEqual(utf8('h'));
  });

  it('accepts the URL-safe alphabet with and without padding', () => {
    expect(fromBase64('-_8=')).toEqual(Uint8Array.of(0xfb, 0xff));
    expect(fromBase64('-_8')).toEqual(Uint8Array.of(0xfb, 0xff));
  });

  it('accepts the empty string as zero bytes', () => {
    expect(fromBase64('')).toEqual(new Uint8Array(0));
  });

  it('round-trips random bytes in both alphabets, padded or not', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        const std = toBase64(b);
        const url = Buffer.from(b).toString('base64url');
        expect(std).toBe(Buffer.from(b).toString('base64'));
        expect(fromBase64(std)).toEqual(b);
        expect(fromBase64(std.replace(/=+$/, ''))).toEqual(b);
        expect(fromBase64(url)).toEqual(b);
      }),
    );
  });

  it.each([
    ['mixed alphabets', '+_8='],
    ['mixed alphabets, other way round', '-/8='],
    ['a space', 'aG k='],
    ['a newline', 'aGk=\n'],
    ['a leading space', ' aGk='],
    ['too much padding', 'aGk=='],
    ['padding on a whole group', 'aGlo='],
    ['padding in the middle', 'aG=k'],
    ['a single character', 'a'],
    ['five characters', 'aGlob'],
    ['three padding characters', 'a==='],
    ['non-zero trailing bits (one byte)', 'aB=='],
    ['non-zero trailing bits (two bytes)', 'aGl='],
    ['non-zero trailing bits, unpadded', 'aB'],
    ['a character outside both alphabets', 'aG*k'],
  ])('refuses %s with BASE64_INVALID', (_why, text) => {
    expect(() => fromBase64(text)).toThrowError(code('BASE64_INVALID'));
  });
});

describe('UTF-8', () => {
  it('encodes and decodes non-ASCII text', () => {
    expect(utf8('é€😂')).toEqual(Uint8Array.from(Buffer.from('é€😂', 'utf8')));
    expect(decodeUtf8(utf8('é€😂'))).toBe('é€😂');
  });

  it('refuses invalid UTF-8 instead of replacing it', () => {
    expect(() => decodeUtf8(Uint8Array.of(0xc3))).toThrowError(code('PATH_INVALID_UTF8'));
    expect(() => decodeUtf8(Uint8Array.of(0xed, 0xa0, 0x80))).toThrowError(code('PATH_INVALID_UTF8'));
  });

  it('keeps a byte-order mark rather than stripping it', () => {
    expect(decodeUtf8(Uint8Array.of(0xef, 0xbb, 0xbf, 0x61))).toBe('\uFEFFa');
  });
});

describe('bytesEqual', () => {
  it('tells equal and different byte arrays apart', () => {
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3))).toBe(false);
  });
});

describe('the work of decoding base64', () => {
  it('a 4 MiB payload (an envelope’s largest statement) is decoded without encoding it again: its canonical form is told by its last character, not by a second pass over 4 MiB', () => {
    const bytes = Uint8Array.from({ length: 4 * 1024 * 1024 + 1 }, (_, i) => (i * 31) & 0xff);
    const text = Buffer.from(bytes).toString('base64');
    const toString = vi.spyOn(Buffer.prototype, 'toString');
    try {
      expect(bytesEqual(fromBase64(text), bytes)).toBe(true);
      expect(toString.mock.calls.filter((c) => c[0] === 'base64' || c[0] === 'base64url')).toEqual([]);
    } finally {
      toString.mockRestore();
    }
  });

  it('a decoded payload is a Uint8Array of its own (not a view of a shared pool), and encodes back to the same text at any offset of a larger buffer', () => {
    const small = fromBase64('aGk=');
    expect(Object.getPrototypeOf(small)).toBe(Uint8Array.prototype);
    expect([small.byteOffset, small.buffer.byteLength]).toEqual([0, 2]);
    const big = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff);
    for (const [from, to] of [[0, 3], [1, 4], [2, 299_999], [5, 5], [4_096, 200_001]] as const) {
      const part = big.subarray(from, to);
      expect(toBase64(part)).toBe(Buffer.from(part).toString('base64'));
      expect(bytesEqual(fromBase64(toBase64(part)), part)).toBe(true);
    }
  });
});
