import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseJsonStrict, findDuplicateMember, findJsonSyntaxError, MAX_JSON_DEPTH } from '../../src/core/json-strict.js';
import { parseEnvelope, signEnvelope, verifyEnvelope, MAX_SIGNATURES } from '../../src/core/envelope.js';
import { privateKeyFromSeed } from '../../src/core/keys.js';
import { isSnapError } from '../../src/core/errors.js';

const code = (c: string) => expect.objectContaining({ code: c });

describe('parseJsonStrict', () => {
  it('parses exactly what JSON.parse parses when no object repeats a member (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        const text = JSON.stringify(v);
        expect(parseJsonStrict(text, 'ENVELOPE_MALFORMED', 'x')).toEqual(JSON.parse(text));
      }),
    );
  });

  it('refuses any object that repeats a member, at any depth (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.jsonValue({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 2 }), fc.integer({ min: 0, max: 3 }), (name, a, b, depth) => {
        let text = `{${JSON.stringify(name)}:${JSON.stringify(a)},"x\\u0000y":1,${JSON.stringify(name)}:${JSON.stringify(b)}}`;
        for (let i = 0; i < depth; i++) text = i % 2 ? `[${text}]` : `{"k":${text}}`;
        expect(() => parseJsonStrict(text, 'ENVELOPE_MALFORMED', 'x')).toThrowError(code('ENVELOPE_MALFORMED'));
      }),
    );
  });

  it('tells each string\'s end by the backslashes before its quote: names and values made of backslashes, quotes, colons and braces (property)', () => {
    const piece = fc.constantFrom('\\', '"', ':', '{', '}', '[', ',', 'a', ' ', '\u0000', 'é');
    const text = fc.array(piece, { maxLength: 12 }).map((p) => p.join(''));
    fc.assert(
      fc.property(text, text, text, fc.boolean(), (n1, n2, value, spaced) => {
        const sep = spaced ? ' : ' : ':';
        const doc = `{${JSON.stringify(n1)}${sep}${JSON.stringify(value)},${JSON.stringify(n2)}${sep}[${JSON.stringify(value)}]}`;
        expect(findDuplicateMember(doc)).toEqual(n1 === n2 ? { name: n1 } : undefined);
      }),
    );
    expect(findDuplicateMember('{"a\\\\":1,"a\\\\":2}')).toEqual({ name: 'a\\' });
    expect(findDuplicateMember('{"a\\\\":"\\\":","a\\\"":2}')).toBeUndefined();
  });

  it('compares member names after unescaping ("a" and "\\u0061" are the same name)', () => {
    expect(findDuplicateMember('{"a":1,"\\u0061":2}')).toEqual({ name: 'a' });
    expect(findDuplicateMember('{"a":{"a":1},"b":[{"a":1},{"a":2}]}')).toBeUndefined();
    expect(findDuplicateMember('{"a":"\\"a\\":","b":"a"}')).toBeUndefined();
  });

  it('refuses text that is not JSON, and nesting deeper than MAX_JSON_DEPTH, with the given code', () => {
    expect(() => parseJsonStrict('{"a":', 'STORE_MALFORMED', 'x')).toThrowError(code('STORE_MALFORMED'));
    const deep = '['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1);
    expect(() => parseJsonStrict(deep, 'STORE_MALFORMED', 'x')).toThrowError(code('STORE_MALFORMED'));
    const ok = '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH);
    expect(parseJsonStrict(ok, 'STORE_MALFORMED', 'x')).toBeDefined();
  });
});

describe('envelope bounds (SPEC §5, bounded work on hostile input)', () => {
  const key = privateKeyFromSeed(new Uint8Array(32).fill(3));
  const other = privateKeyFromSeed(new Uint8Array(32).fill(4));
  const payload = new TextEncoder().encode('{"x":1}');

  it(`refuses an envelope with more than MAX_SIGNATURES (${MAX_SIGNATURES}) signatures as ENVELOPE_MALFORMED`, () => {
    const env = signEnvelope(payload, [key]);
    const many = { ...env, signatures: Array.from({ length: MAX_SIGNATURES + 1 }, () => env.signatures[0]) };
    expect(() => parseEnvelope(JSON.stringify(many))).toThrowError(code('ENVELOPE_MALFORMED'));
    expect(parseEnvelope(JSON.stringify({ ...many, signatures: many.signatures.slice(1) })).signatures).toHaveLength(MAX_SIGNATURES);
  });

  it('refuses an envelope with a duplicate member, whichever copy comes first', () => {
    const env = signEnvelope(payload, [key]);
    const text = JSON.stringify(env).replace('"payloadType"', `"payload":"e30=","payloadType"`);
    try {
      parseEnvelope(text);
      expect.unreachable();
    } catch (e) {
      expect(isSnapError(e, 'ENVELOPE_MALFORMED')).toBe(true);
    }
  });

  it('still finds a signature whose keyid hint names another trusted key (the hint is never trusted)', () => {
    const env = signEnvelope(payload, [key]);
    const lying = { ...env, signatures: [{ keyid: other.keyid, sig: env.signatures[0]!.sig }] };
    const r = verifyEnvelope(lying, [other, key]);
    expect(r.ok).toBe(true);
    expect(r.signatures[0]).toMatchObject({ trusted: true, verifiedBy: key.keyid });
  });

  it('reports a repeated signature like the first, and counts its key once toward the threshold', () => {
    const env = signEnvelope(payload, [key]);
    const twice = { ...env, signatures: [env.signatures[0]!, env.signatures[0]!] };
    const r = verifyEnvelope(twice, [key], 2);
    expect(r.signatures.map((s) => s.trusted)).toEqual([true, true]);
    expect(r.trustedKeyids).toEqual([key.keyid]);
    expect(r.ok).toBe(false);
  });
});

describe('findJsonSyntaxError', () => {
  const parses = (t: string): boolean => {
    try {
      JSON.parse(t);
      return true;
    } catch {
      return false;
    }
  };

  it('finds an error exactly in the texts JSON.parse refuses: valid documents, and each with one character cut, doubled or replaced (property)', () => {
    const pieces = ['', ' ', ',', ':', '"', '\\', '{', '}', '[', ']', '0', '-', '.', 'e', '+', 'u', 't', 'n', '\t', '\n', '\u0000', 'é', '\ud83d'];
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.boolean(), fc.nat(), fc.integer({ min: 0, max: 3 }), fc.constantFrom(...pieces), (v, pretty, pos, edit, piece) => {
        const doc = JSON.stringify(v, null, pretty ? 2 : undefined);
        const k = doc.length === 0 ? 0 : pos % doc.length;
        const text = [doc, doc.slice(0, k) + doc.slice(k + 1), doc.slice(0, k) + doc[k] + doc.slice(k), doc.slice(0, k) + piece + doc.slice(k + 1)][edit] as string;
        const e = findJsonSyntaxError(text);
        expect(e === undefined, JSON.stringify(text)).toBe(parses(text));
        if (e) expect(e.offset).toBeGreaterThanOrEqual(0);
        if (e) expect(e.offset).toBeLessThanOrEqual(text.length);
      }),
      { numRuns: 3000 },
    );
  });

  it('names the place and the reason', () => {
    expect(findJsonSyntaxError('[1,]')).toEqual({ offset: 3, line: 1, column: 4, reason: 'expected a value, found "]"' });
    expect(findJsonSyntaxError('{"a":\n  01}')).toMatchObject({ offset: 9, line: 2, column: 4, reason: 'a number with a leading zero' });
    expect(findJsonSyntaxError('{"a": "x')).toMatchObject({ offset: 8, reason: 'the text ends inside a string' });
    expect(findJsonSyntaxError('{} x')).toMatchObject({ offset: 3, reason: 'expected the end of the text after the JSON value, found "x"' });
    expect(findJsonSyntaxError('"\\q"')).toMatchObject({ offset: 2 });
    expect(findJsonSyntaxError('')).toMatchObject({ offset: 0, line: 1, column: 1, reason: 'the text ends where a value was expected' });
    expect(findJsonSyntaxError(' {"a": [1, 2.5e-3, true, null, "\\u00e9"]} ')).toBeUndefined();
  });

  it('takes nesting far deeper than JSON documents need without running out of stack', () => {
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    expect(findJsonSyntaxError(deep)).toBeUndefined();
    expect(findJsonSyntaxError(deep.slice(0, -1))).toMatchObject({ offset: 399_999 });
  });
});
