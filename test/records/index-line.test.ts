import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import canonicalize from 'canonicalize';
import { compareEntries, parseIndexLine, serializeIndexLine, type IndexEntry } from '../../src/records/index-line.js';
import { jcs } from '../../src/records/canonical.js';
import type { RecordIdentity } from '../../src/core/records.js';

const code = (c: string) => expect.objectContaining({ code: c });
const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
const keyValue = fc.oneof(fc.string({ minLength: 1 }), fc.integer(), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true }));
const entry = (identity: RecordIdentity, labelled: boolean) =>
  fc.record({
    features: hex,
    fingerprint: hex,
    key: fc.array(keyValue, { minLength: 1, maxLength: 3 }),
    label: fc.string(),
    row: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  }).map((r): IndexEntry => ({
    features: r.features,
    fingerprint: r.fingerprint,
    ...(identity === 'key' || identity === 'path' ? { key: jcs(r.key) } : {}),
    ...(labelled ? { label: r.label } : {}),
    row: r.row,
  }));

describe('index lines', () => {
  for (const identity of ['key', 'features', 'position', 'path'] as const) {
    for (const labelled of [true, false]) {
      it(`are the RFC 8785 form of the entry and parse back (identity ${identity}, ${labelled ? 'labelled' : 'no label'})`, () => {
        fc.assert(
          fc.property(entry(identity, labelled), (e) => {
            const line = serializeIndexLine(e);
            const obj: Record<string, unknown> = { ...e };
            if (e.key !== undefined) obj.key = JSON.parse(e.key);
            expect(line).toBe(canonicalize(obj));
            expect(parseIndexLine(line, identity, labelled)).toEqual(e);
          }),
          { numRuns: 300 },
        );
      });
    }
  }

  it('parse a key or label that holds what looks like a member name', () => {
    const e: IndexEntry = { features: 'a'.repeat(64), fingerprint: 'b'.repeat(64), key: jcs([',"label":"x","row":1}']), label: ',"row":2}\\"', row: 3 };
    expect(parseIndexLine(serializeIndexLine(e), 'key', true)).toEqual(e);
  });

  it('are refused when not exactly what the set calls for', () => {
    const ok = serializeIndexLine({ features: 'a'.repeat(64), fingerprint: 'b'.repeat(64), key: '["1"]', label: 'spam', row: 1 });
    const bad = [
      ok.replace('"row":1', '"row":01'),
      ok.replace('"row":1', '"row":0'),
      ok.replace('"row":1', '"row":1.0'),
      ok.replace('["1"]', '[ "1"]'),
      ok.replace('["1"]', '[]'),
      ok.replace('["1"]', '[null]'),
      ok.replace('"spam"', '"sp\\u0061m"'),
      ok.replace('"spam"', '1'),
      ok.replace('a'.repeat(64), 'A'.repeat(64)),
      ok.slice(0, -1),
      ok + ' ',
      ok.replace(',"label":"spam"', ''),
      ok.replace('{"features"', '{"extra":1,"features"'),
      '',
    ];
    for (const l of bad) expect(() => parseIndexLine(l, 'key', true), l).toThrow(code('RECORDS_INDEX_MALFORMED'));
    expect(() => parseIndexLine(ok, 'features', true)).toThrow(code('RECORDS_INDEX_MALFORMED'));
    expect(() => parseIndexLine(ok, 'key', false)).toThrow(code('RECORDS_INDEX_MALFORMED'));
  });

  it('sort by key bytes (UTF-8), then fingerprint, then row', () => {
    const e = (key: string, fp: string, row: number): IndexEntry => ({ features: '0'.repeat(64), fingerprint: fp.repeat(64), key: jcs([key]), row });
    const list = [e('\u{1F600}', 'a', 1), e('\uFB01', 'a', 2), e('b', 'b', 3), e('b', 'a', 4), e('b', 'a', 2)];
    list.sort((x, y) => compareEntries(x, y, 'key'));
    expect(list.map((x) => [JSON.parse(x.key!)[0], x.fingerprint[0], x.row])).toEqual([
      ['b', 'a', 2],
      ['b', 'a', 4],
      ['b', 'b', 3],
      ['\uFB01', 'a', 2],
      ['\u{1F600}', 'a', 1],
    ]);
  });
});
