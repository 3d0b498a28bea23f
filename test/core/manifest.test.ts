import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ManifestOrder,
  isSymlinkEntry,
  parseEntry,
  parseManifest,
  sameEntry,
  serializeEntry,
  serializeManifest,
  sortEntries,
  validateEntry,
  type ManifestEntry,
} from '../../src/core/manifest.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { toHex } from '../../src/core/encoding.js';

const code = (c: string) => expect.objectContaining({ code: c });
const D = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const line = (path: string, size = 0, sha256 = D) => `{"path":${JSON.stringify(path)},"sha256":"${sha256}","size":${size}}`;

// ---- random valid entries --------------------------------------------------------------------

/** One character of a path segment: anything SPEC §2 allows except "/", with JSON-escape cases. */
const pathChar = fc.oneof(
  fc.constantFrom('"', '\\', 'é', '😂', '\u2028', '\u2029', '\u00ff', '\uE000', '\uFFFF', '\u{10000}', '.', ' ', '<', '/'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
).filter((c) => c !== '/' && c.codePointAt(0)! >= 0x20 && c !== '\u007f');
const segment = fc
  .array(pathChar, { minLength: 1, maxLength: 8 })
  .map((cs) => cs.join(''))
  .filter((s) => s !== '.' && s !== '..');
const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((ss) => ss.join('/'));
/** A link target may hold any text but NUL and lone surrogates, control characters included. */
const targetChar = fc.oneof(
  fc.constantFrom('"', '\\', '\n', '\u001f', '\u007f', '\b', '/', '..', 'é', '😂'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
).filter((c) => c !== '\0');
const target = fc.array(targetChar, { minLength: 1, maxLength: 12 }).map((cs) => cs.join(''));
const digest = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex);
const fileEntry = fc.record({ path, sha256: digest, size: fc.maxSafeNat() });
const linkEntry = fc.record({ path, target, type: fc.constant('symlink' as const) });
const entry: fc.Arbitrary<ManifestEntry> = fc.oneof(fileEntry, linkEntry);

describe('serializeEntry', () => {
  it('writes a file entry as its canonical line', () => {
    expect(serializeEntry({ path: 'ham/a.txt', sha256: D, size: 6 })).toBe(`{"path":"ham/a.txt","sha256":"${D}","size":6}`);
  });

  it('writes a symlink entry as its canonical line', () => {
    expect(serializeEntry({ path: 'l', target: '../x', type: 'symlink' })).toBe('{"path":"l","target":"../x","type":"symlink"}');
  });

  it('equals canonicalJson(entry) for random valid entries, non-ASCII and JSON escapes included', () => {
    fc.assert(
      fc.property(entry, (e) => {
        expect(serializeEntry(e)).toBe(canonicalJson(e));
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips random valid entries through parseEntry', () => {
    fc.assert(
      fc.property(entry, (e) => {
        expect(parseEntry(serializeEntry(e))).toEqual(e);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseEntry', () => {
  it('reads a file entry', () => {
    expect(parseEntry(line('a/b', 12))).toEqual({ path: 'a/b', sha256: D, size: 12 });
  });

  it('reads a symlink entry and tells it apart from a file', () => {
    const e = parseEntry('{"path":"l","target":"t","type":"symlink"}');
    expect(e).toEqual({ path: 'l', target: 't', type: 'symlink' });
    expect(isSymlinkEntry(e)).toBe(true);
    expect(isSymlinkEntry(parseEntry(line('a')))).toBe(false);
  });

  it('accepts the largest safe size, 2^53 - 1', () => {
    expect(parseEntry(line('a', 2 ** 53 - 1))).toMatchObject({ size: 2 ** 53 - 1 });
  });

  it('refuses a line with an unknown field with MANIFEST_UNKNOWN_FIELD', () => {
    expect(() => parseEntry(`{"extra":1,"path":"a","sha256":"${D}","size":1}`)).toThrowError(code('MANIFEST_UNKNOWN_FIELD'));
    expect(() => parseEntry(`{"path":"a","sha256":"${D}","size":1,"zz":null}`)).toThrowError(code('MANIFEST_UNKNOWN_FIELD'));
  });

  it('refuses a file entry that also names a type with MANIFEST_UNKNOWN_FIELD', () => {
    expect(() => parseEntry(`{"path":"a","sha256":"${D}","size":1,"type":"file"}`)).toThrowError(code('MANIFEST_UNKNOWN_FIELD'));
  });

  it('refuses an entry of an unknown type with MANIFEST_UNKNOWN_FIELD', () => {
    expect(() => parseEntry('{"path":"a","target":"b","type":"hardlink"}')).toThrowError(code('MANIFEST_UNKNOWN_FIELD'));
  });

  it('refuses a line with a missing field with MANIFEST_MISSING_FIELD', () => {
    expect(() => parseEntry('{"path":"a","size":1}')).toThrowError(code('MANIFEST_MISSING_FIELD'));
    expect(() => parseEntry(`{"path":"a","sha256":"${D}"}`)).toThrowError(code('MANIFEST_MISSING_FIELD'));
    expect(() => parseEntry(`{"sha256":"${D}","size":1}`)).toThrowError(code('MANIFEST_MISSING_FIELD'));
    expect(() => parseEntry('{"path":"l","type":"symlink"}')).toThrowError(code('MANIFEST_MISSING_FIELD'));
  });

  it.each([
    ['uppercase hex', D.toUpperCase()],
    ['63 hex digits', D.slice(1)],
    ['65 hex digits', `${D}0`],
    ['a non-hex character', `${D.slice(1)}g`],
  ])('refuses a digest with %s with MANIFEST_BAD_DIGEST', (_why, d) => {
    expect(() => parseEntry(line('a', 1, d))).toThrowError(code('MANIFEST_BAD_DIGEST'));
  });

  it('refuses a digest that is not a string with MANIFEST_BAD_DIGEST', () => {
    expect(() => parseEntry('{"path":"a","sha256":1,"size":1}')).toThrowError(code('MANIFEST_BAD_DIGEST'));
  });

  it.each([
    ['negative', '-1'],
    ['a fraction', '1.5'],
    ['a string', '"1"'],
    ['2^53', '9007199254740992'],
    ['null', 'null'],
  ])('refuses a size that is %s with MANIFEST_BAD_SIZE', (_why, size) => {
    expect(() => parseEntry(`{"path":"a","sha256":"${D}","size":${size}}`)).toThrowError(code('MANIFEST_BAD_SIZE'));
  });

  it('refuses a line with whitespace with MANIFEST_NOT_CANONICAL', () => {
    expect(() => parseEntry(`{"path": "a","sha256":"${D}","size":1}`)).toThrowError(code('MANIFEST_NOT_CANONICAL'));
    expect(() => parseEntry(` ${line('a')}`)).toThrowError(code('MANIFEST_NOT_CANONICAL'));
    expect(() => parseEntry(`${line('a')}\r`)).toThrowError(code('MANIFEST_NOT_CANONICAL'));
  });

  it('refuses a line with reordered members with MANIFEST_NOT_CANONICAL', () => {
    expect(() => parseEntry(`{"sha256":"${D}","path":"a","size":1}`)).toThrowError(code('MANIFEST_NOT_CANONICAL'));
    expect(() => parseEntry('{"path":"l","type":"symlink","target":"t"}')).toThrowError(code('MANIFEST_NOT_CANONICAL'));
  });

  it('refuses a line with a duplicate member with MANIFEST_NOT_CANONICAL', () => {
    expect(() => parseEntry(`{"path":"b","path":"a","sha256":"${D}","size":1}`)).toThrowError(code('MANIFEST_NOT_CANONICAL'));
  });

  it('refuses escapes that RFC 8785 would not write with MANIFEST_NOT_CANONICAL', () => {
    expect(() => parseEntry(`{"path":"\\u0061","sha256":"${D}","size":1}`)).toThrowError(code('MANIFEST_NOT_CANONICAL'));
    expect(() => parseEntry(`{"path":"a\\/b","sha256":"${D}","size":1}`)).toThrowError(code('MANIFEST_NOT_CANONICAL'));
  });

  it('refuses numbers written in a non-canonical form with MANIFEST_NOT_CANONICAL', () => {
    expect(() => parseEntry(`{"path":"a","sha256":"${D}","size":1e3}`)).toThrowError(code('MANIFEST_NOT_CANONICAL'));
    expect(() => parseEntry(`{"path":"a","sha256":"${D}","size":1.0}`)).toThrowError(code('MANIFEST_NOT_CANONICAL'));
    expect(() => parseEntry(`{"path":"a","sha256":"${D}","size":-0}`)).toThrowError(code('MANIFEST_NOT_CANONICAL'));
  });

  it('refuses a line that is not JSON with MANIFEST_LINE_MALFORMED', () => {
    expect(() => parseEntry('{"path":"a"')).toThrowError(code('MANIFEST_LINE_MALFORMED'));
    expect(() => parseEntry('')).toThrowError(code('MANIFEST_LINE_MALFORMED'));
    expect(() => parseEntry('not json')).toThrowError(code('MANIFEST_LINE_MALFORMED'));
  });

  it('refuses a line that is JSON but not an object with MANIFEST_LINE_MALFORMED', () => {
    expect(() => parseEntry('[]')).toThrowError(code('MANIFEST_LINE_MALFORMED'));
    expect(() => parseEntry('null')).toThrowError(code('MANIFEST_LINE_MALFORMED'));
    expect(() => parseEntry('"a"')).toThrowError(code('MANIFEST_LINE_MALFORMED'));
  });

  it('refuses a symlink with an empty target with MANIFEST_BAD_TARGET', () => {
    expect(() => parseEntry('{"path":"l","target":"","type":"symlink"}')).toThrowError(code('MANIFEST_BAD_TARGET'));
  });

  it('refuses a symlink whose target holds NUL, a lone surrogate, or is not a string with MANIFEST_BAD_TARGET', () => {
    expect(() => parseEntry('{"path":"l","target":"a\\u0000b","type":"symlink"}')).toThrowError(code('MANIFEST_BAD_TARGET'));
    expect(() => parseEntry('{"path":"l","target":"\\ud800","type":"symlink"}')).toThrowError(code('MANIFEST_BAD_TARGET'));
    expect(() => parseEntry('{"path":"l","target":1,"type":"symlink"}')).toThrowError(code('MANIFEST_BAD_TARGET'));
  });

  it('applies the path rules to the path member', () => {
    expect(() => parseEntry(line('../a'))).toThrowError(code('PATH_DOTDOT_SEGMENT'));
    expect(() => parseEntry(line('/a'))).toThrowError(code('PATH_ABSOLUTE'));
    expect(() => parseEntry(line(''))).toThrowError(code('PATH_EMPTY'));
    expect(() => parseEntry(line('a\u0001'))).toThrowError(code('PATH_CONTROL_CHAR'));
    expect(() => parseEntry(`{"path":"\\udc00","sha256":"${D}","size":1}`)).toThrowError(code('PATH_INVALID_UTF8'));
  });

  it('validates an entry object directly with validateEntry', () => {
    expect(validateEntry({ path: 'a', sha256: D, size: 0 })).toEqual({ path: 'a', sha256: D, size: 0 });
    expect(() => validateEntry({ path: 'a', sha256: D, size: 0, mode: 0o644 })).toThrowError(code('MANIFEST_UNKNOWN_FIELD'));
  });
});

describe('parseManifest', () => {
  const m = (...paths: string[]) => paths.map((p) => `${line(p)}\n`).join('');

  it('reads a sorted manifest', () => {
    expect(parseManifest(m('a', 'b/c')).map((e) => e.path)).toEqual(['a', 'b/c']);
  });

  it('orders "a.txt" before "a/b" (0x2E < 0x2F)', () => {
    expect(parseManifest(m('a.txt', 'a/b'))).toHaveLength(2);
    expect(() => parseManifest(m('a/b', 'a.txt'))).toThrowError(code('MANIFEST_UNSORTED'));
  });

  it('orders "\\uE000" before "\\u{10000}" by UTF-8 bytes, unlike JavaScript "<"', () => {
    expect(parseManifest(m('\uE000', '\u{10000}'))).toHaveLength(2);
    expect(() => parseManifest(m('\u{10000}', '\uE000'))).toThrowError(code('MANIFEST_UNSORTED'));
  });

  it('refuses unsorted lines with MANIFEST_UNSORTED and names the line', () => {
    expect(() => parseManifest(m('a', 'c', 'b'))).toThrowError(expect.objectContaining({ code: 'MANIFEST_UNSORTED', details: expect.objectContaining({ line: 3 }) }));
  });

  it('refuses a repeated path with MANIFEST_DUPLICATE_PATH', () => {
    expect(() => parseManifest(m('a', 'a'))).toThrowError(code('MANIFEST_DUPLICATE_PATH'));
  });

  it('refuses a repeated path even when one is a file and the other a symlink', () => {
    expect(() => parseManifest(`${line('a')}\n{"path":"a","target":"b","type":"symlink"}\n`)).toThrowError(code('MANIFEST_DUPLICATE_PATH'));
  });

  it('refuses a manifest without a final newline with MANIFEST_NO_TRAILING_NEWLINE', () => {
    expect(() => parseManifest(line('a'))).toThrowError(code('MANIFEST_NO_TRAILING_NEWLINE'));
  });

  it('refuses the empty manifest with MANIFEST_EMPTY', () => {
    expect(() => parseManifest('')).toThrowError(code('MANIFEST_EMPTY'));
  });

  it('refuses a blank line with MANIFEST_LINE_MALFORMED and names the line', () => {
    expect(() => parseManifest(`${line('a')}\n\n${line('b')}\n`)).toThrowError(
      expect.objectContaining({ code: 'MANIFEST_LINE_MALFORMED', details: expect.objectContaining({ line: 2 }) }),
    );
  });

  it('refuses CRLF line endings with MANIFEST_NOT_CANONICAL', () => {
    expect(() => parseManifest(`${line('a')}\r\n`)).toThrowError(code('MANIFEST_NOT_CANONICAL'));
  });

  it('round-trips random sorted entries through serializeManifest', () => {
    fc.assert(
      fc.property(fc.uniqueArray(entry, { minLength: 1, maxLength: 20, selector: (e) => e.path }), (es) => {
        const sorted = sortEntries(es.slice());
        expect(parseManifest(serializeManifest(sorted))).toEqual(sorted);
      }),
      { numRuns: 300 },
    );
  });
});

describe('sortEntries and ManifestOrder', () => {
  it('sorts by UTF-8 bytes of the path', () => {
    const es = sortEntries([{ path: '\u{10000}' }, { path: 'a/b' }, { path: '\uE000' }, { path: 'a.txt' }]);
    expect(es.map((e) => e.path)).toEqual(['a.txt', 'a/b', '\uE000', '\u{10000}']);
  });

  it('counts the paths it accepts in order', () => {
    const o = new ManifestOrder();
    o.accept('a');
    o.accept('b');
    expect(o.count).toBe(2);
    expect(() => o.accept('b')).toThrowError(code('MANIFEST_DUPLICATE_PATH'));
    expect(() => o.accept('a')).toThrowError(code('MANIFEST_UNSORTED'));
  });
});

describe('sameEntry: two entries are the same exactly when their manifest lines are', () => {
  const entry = fc.oneof(
    fc.record({ path: fc.constantFrom('a', 'b/c', 'é'), sha256: fc.constantFrom('0'.repeat(64), 'f'.repeat(64)), size: fc.constantFrom(0, 1, 1024, Number.MAX_SAFE_INTEGER) }),
    fc.record({ path: fc.constantFrom('a', 'b/c', 'é'), target: fc.constantFrom('a', '../x', '0'.repeat(64)), type: fc.constant('symlink' as const) }),
  );
  it('agrees with comparing the canonical lines, for files, links and one of each at a path', () => {
    fc.assert(fc.property(entry, entry, (a, b) => {
      expect(sameEntry(a, b)).toBe(serializeEntry(a) === serializeEntry(b));
    }), { numRuns: 2000 });
  });
});
