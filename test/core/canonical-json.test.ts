import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalJsonBytes } from '../../src/core/canonical-json.js';
import { utf8 } from '../../src/core/encoding.js';

const JCS = fileURLToPath(new URL('../vectors/jcs/', import.meta.url));
const inputs = readdirSync(join(JCS, 'input')).filter((f) => f.endsWith('.json')).sort();

describe('canonicalJson (RFC 8785)', () => {
  it('finds the JCS vector files', () => {
    expect(inputs.length).toBeGreaterThanOrEqual(6);
  });

  it.each(inputs)('canonicalizes the RFC 8785 vector %s to the expected output', (name) => {
    const input = readFileSync(join(JCS, 'input', name), 'utf8');
    let expected = readFileSync(join(JCS, 'output', name), 'utf8');
    if (expected.endsWith('\n')) expected = expected.slice(0, -1);
    expect(canonicalJson(JSON.parse(input))).toBe(expected);
  });

  it('sorts member names by UTF-16 code units, not by code points', () => {
    // U+10000 is the surrogate pair D800 DC00, which sorts before U+E000 in UTF-16.
    expect(canonicalJson({ '\uE000': 1, '\u{10000}': 2 })).toBe('{"\u{10000}":2,"\uE000":1}');
  });

  it('omits members whose value is undefined', () => {
    expect(canonicalJson({ b: 1, a: undefined })).toBe('{"b":1}');
  });

  it('gives the UTF-8 bytes of the canonical text', () => {
    expect(canonicalJsonBytes({ é: 'ü' })).toEqual(utf8('{"é":"ü"}'));
  });

  it('throws INTERNAL for a value with no JSON form', () => {
    expect(() => canonicalJson(undefined)).toThrowError(expect.objectContaining({ code: 'INTERNAL' }));
    expect(() => canonicalJson(Number.NaN)).toThrowError(expect.objectContaining({ code: 'INTERNAL' }));
    expect(() => canonicalJson({ a: Infinity })).toThrowError(expect.objectContaining({ code: 'INTERNAL' }));
  });

  it('throws INTERNAL for a string with a lone surrogate', () => {
    expect(() => canonicalJson('\uD800')).toThrowError(expect.objectContaining({ code: 'INTERNAL' }));
  });
});
