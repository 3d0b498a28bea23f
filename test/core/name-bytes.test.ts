/**
 * File names as bytes (src/core/name-bytes.ts): decoded without loss (PEP 383, as Python's
 * `os.fsdecode` does), and encoded back to the very bytes.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeNameBytes, encodeNameBytes, hasRawBytes, lossyName, rawBytesHex } from '../../src/core/name-bytes.js';

const bytes = (...b: number[]) => Uint8Array.of(...b);
const isUtf8 = (b: Uint8Array) => {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
};

describe('decodeNameBytes', () => {
  it.each([
    ['valid UTF-8, as a strict decoder does', bytes(0x61, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80), 'aé😀'],
    ['a stray byte as U+DC00 + byte', bytes(0x62, 0xff, 0x2e), 'b\udcff.'],
    ['a truncated sequence, byte by byte', bytes(0xe2, 0x82), '\udce2\udc82'],
    ['an encoded surrogate (CESU-8), byte by byte', bytes(0xed, 0xa0, 0x80), '\udced\udca0\udc80'],
    ['an overlong encoding, byte by byte', bytes(0xc0, 0xaf), '\udcc0\udcaf'],
    ['a code point above U+10FFFF, byte by byte', bytes(0xf4, 0x90, 0x80, 0x80), '\udcf4\udc90\udc80\udc80'],
    ['valid text around a bad byte', bytes(0xc3, 0xa9, 0x80, 0xc3, 0xa9), 'é\udc80é'],
  ])('decodes %s', (_what, input, text) => {
    expect(decodeNameBytes(input)).toBe(text);
  });

  it('is lossless: encodeNameBytes gives back the very bytes, whatever they are', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        expect(Buffer.from(encodeNameBytes(decodeNameBytes(b))).equals(Buffer.from(b))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('marks exactly the names that are not UTF-8, and gives their bytes in hex', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 32 }), fc.string({ unit: 'grapheme' }).map((s) => new TextEncoder().encode(s))), (b) => {
        const name = decodeNameBytes(b);
        expect(hasRawBytes(name)).toBe(!isUtf8(b));
        expect(rawBytesHex(name)).toBe(isUtf8(b) ? undefined : Buffer.from(b).toString('hex'));
      }),
      { numRuns: 3000 },
    );
  });

  it('does not take a character above U+FFFF for a raw byte', () => {
    expect(hasRawBytes('😀\udc80'.slice(0, 2))).toBe(false);
    expect(hasRawBytes('\ud800\udc80')).toBe(false); // a pair, not a lone U+DC80
    expect(hasRawBytes('a\udc80')).toBe(true);
  });
});

describe('lossyName', () => {
  it('writes each byte that is not UTF-8 as U+FFFD, as Node reads the name, and leaves a UTF-8 name as it is', () => {
    expect(lossyName(decodeNameBytes(Uint8Array.from([0x61, 0xff, 0x2e, 0xfe])))).toBe('a\ufffd.\ufffd');
    expect(lossyName(decodeNameBytes(Buffer.from('.log.head\xff.0123456789ab.tmp', 'latin1')))).toBe(Buffer.from('.log.head\xff.0123456789ab.tmp', 'latin1').toString('utf8'));
    expect(lossyName('été/x')).toBe('été/x');
  });
});
