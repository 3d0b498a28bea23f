import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseEntry, serializeEntry, validateEntry } from '../../src/core/manifest.js';
import { SnapError } from '../../src/core/errors.js';

/** The general rules, spelled out: JSON, a valid entry, and byte-for-byte canonical. */
function reference(line: string) {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new SnapError('MANIFEST_LINE_MALFORMED', 'not JSON');
  }
  const e = validateEntry(v);
  if (serializeEntry(e) !== line) throw new SnapError('MANIFEST_NOT_CANONICAL', 'not canonical');
  return e;
}

function outcome(f: () => unknown): unknown {
  try {
    return { ok: f() };
  } catch (e) {
    return { code: (e as SnapError).code };
  }
}

describe('the fast path of parseEntry', () => {
  it('agrees with the general rules on near-canonical file lines', () => {
    const pathPart = fc.array(fc.constantFrom('a', 'Z', '/', '.', '..', ' ', 'é', '😂', '\\/', '\\u0041', '\\"', '\\\\', '\\n', '\u007f', '\ue000'), { maxLength: 8 }).map((xs) => xs.join(''));
    const size = fc.oneof(fc.nat().map(String), fc.constantFrom('0', '00', '01', '9007199254740991', '9007199254740992', '1e3', '-1'));
    const sha = fc.oneof(fc.constant('a'.repeat(64)), fc.constant('A'.repeat(64)), fc.constant('a'.repeat(63)));
    fc.assert(
      fc.property(pathPart, sha, size, (p, h, n) => {
        const line = `{"path":"${p}","sha256":"${h}","size":${n}}`;
        expect(outcome(() => parseEntry(line))).toEqual(outcome(() => reference(line)));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with the general rules on every line the serializer writes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1 }), fc.nat({ max: 2 ** 40 }), (p, n) => {
        const line = serializeEntry({ path: p, sha256: 'b'.repeat(64), size: n });
        expect(outcome(() => parseEntry(line))).toEqual(outcome(() => reference(line)));
      }),
      { numRuns: 3000 },
    );
  });
});
