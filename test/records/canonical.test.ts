import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import canonicalize from 'canonicalize';
import { CsvShape, fileForms, isoDate, isoTime, isoTimestamp, jcs, jcsString, ObjectShapes, objectForms, ParquetDate, ParquetInstant, parquetValue } from '../../src/records/canonical.js';

const code = (c: string) => expect.objectContaining({ code: c });

describe('jcs (RFC 8785 for record values)', () => {
  it('equals the canonicalize package on every JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        // fast-check can make -0, which JSON.parse never returns; both serialize it as 0.
        expect(jcs(v)).toBe(canonicalize(v));
      }),
      { numRuns: 2000 },
    );
  });

  it('sorts members by UTF-16 code units and writes numbers in ECMAScript form', () => {
    expect(jcs({ b: 1, a: [1e21, 1.5, -0, 0.1], '\u{1F600}': true, '\uFB01': null })).toBe('{"a":[1e+21,1.5,0,0.1],"b":1,"\u{1F600}":true,"\uFB01":null}');
  });

  it('refuses a lone surrogate, a non-finite number and a value with no JSON form', () => {
    expect(() => jcs('\ud800x')).toThrow(code('RECORDS_MALFORMED'));
    expect(() => jcs({ ['\udc00']: 1 })).toThrow(code('RECORDS_MALFORMED'));
    expect(() => jcs(Number.NaN)).toThrow(code('RECORDS_MALFORMED'));
    expect(() => jcs(undefined)).toThrow(code('RECORDS_MALFORMED'));
  });

  it('refuses nesting deeper than 64 levels', () => {
    let v: unknown = 1;
    for (let i = 0; i < 70; i++) v = [v];
    expect(() => jcs(v)).toThrow(code('RECORDS_MALFORMED'));
  });
});

describe('CSV records', () => {
  const shape = new CsvShape(['id', 'text', 'label'], { key: ['id'], label: 'label' });

  it('are objects of raw field strings, members sorted, key and label left out of the features', () => {
    expect(shape.forms(['7', ' 1.0 "x"', 'spam'])).toEqual({
      canonical: '{"id":"7","label":"spam","text":" 1.0 \\"x\\""}',
      features: '{"text":" 1.0 \\"x\\""}',
      key: '["7"]',
      label: 'spam',
    });
  });

  it('give a column order that does not matter (the same record in another column order has the same forms)', () => {
    const other = new CsvShape(['label', 'text', 'id'], { key: ['id'], label: 'label' });
    expect(other.forms(['spam', 'hi', '7'])).toEqual(shape.forms(['7', 'hi', 'spam']));
  });

  it('equal the canonical JSON of the record object', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string(), { minLength: 1, maxLength: 6 }), fc.array(fc.string(), { minLength: 6, maxLength: 6 }), (cols, vals) => {
        const s = new CsvShape(cols, {});
        const row = cols.map((_, i) => vals[i] as string);
        const obj = Object.fromEntries(cols.map((c, i) => [c, row[i]]));
        expect(s.forms(row).canonical).toBe(canonicalize(obj));
      }),
    );
  });

  it('refuse a header that names a column twice, and a key or label column that is not there', () => {
    expect(() => new CsvShape(['a', 'a'], {})).toThrow(code('RECORDS_MALFORMED'));
    expect(() => new CsvShape(['a', 'b'], { key: ['id'] })).toThrow(code('RECORDS_KEY_MISSING'));
    expect(() => new CsvShape(['a', 'b'], { label: 'class' })).toThrow(code('RECORDS_LABEL_MISSING'));
  });

  it('refuse an empty key, and a label or key over the limits', () => {
    expect(() => shape.forms(['', 'x', 'spam'])).toThrow(code('RECORDS_KEY_EMPTY'));
    expect(() => shape.forms(['1', 'x', 'l'.repeat(257)])).toThrow(code('RECORDS_LIMIT'));
    expect(() => shape.forms(['k'.repeat(5000), 'x', 'spam'])).toThrow(code('RECORDS_LIMIT'));
  });

  it('without key or label have the whole record as features', () => {
    const s = new CsvShape(['b', 'a'], {});
    expect(s.forms(['2', '1'])).toEqual({ canonical: '{"a":"1","b":"2"}', features: '{"a":"1","b":"2"}', key: undefined, label: undefined });
  });
});

describe('JSON records', () => {
  it('are the RFC 8785 form of the object; key values keep their JSON type', () => {
    const f = objectForms({ text: 'hi', id: 17, label: 'ham', meta: { z: 1, a: [true] } }, { key: ['id'], label: 'label' });
    expect(f).toEqual({
      canonical: '{"id":17,"label":"ham","meta":{"a":[true],"z":1},"text":"hi"}',
      features: '{"meta":{"a":[true],"z":1},"text":"hi"}',
      key: '[17]',
      label: 'ham',
    });
  });

  it('are the same through one ObjectShapes, record after record, whatever members and order each record has', () => {
    const member = fc.constantFrom('id', 'label', 'text', 'b', 'a', '\u{1F600}', '__proto__', '1');
    const record = fc.array(fc.tuple(member, fc.oneof(fc.string(), fc.integer(), fc.boolean())), { maxLength: 6 }).map((kv) => JSON.parse(JSON.stringify(Object.fromEntries([['id', 1], ['label', 'x'], ...kv]))) as unknown);
    fc.assert(
      fc.property(fc.array(record, { maxLength: 8 }), (records) => {
        const shapes = new ObjectShapes({ key: ['id'], label: 'label' });
        for (const r of records) {
          let want: unknown;
          try {
            want = objectForms(r, { key: ['id'], label: 'label' });
          } catch (e) {
            want = (e as { code: string }).code;
          }
          let got: unknown;
          try {
            got = shapes.forms(r);
          } catch (e) {
            got = (e as { code: string }).code;
          }
          expect(got).toEqual(want);
          if (typeof want === 'object') expect((want as { canonical: string }).canonical).toBe(canonicalize(r));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuse a lone surrogate in a member name or a string value, and escape what JSON escapes', () => {
    expect(() => jcsString('a\ud800')).toThrow(code('RECORDS_MALFORMED'));
    expect(() => objectForms(JSON.parse('{"\\\\udc00x":1}'), {})).not.toThrow(); // the text \\udc00, not a surrogate
    expect(() => objectForms(JSON.parse('{"\udc00x":1}'), {})).toThrow(code('RECORDS_MALFORMED'));
    expect(jcsString('\\u0041\u0001\ud83d\ude00')).toBe('"\\\\u0041\\u0001\u{1F600}"');
  });

  it('take a number or boolean label as its JSON text', () => {
    expect(objectForms({ y: 1 }, { label: 'y' }).label).toBe('1');
    expect(objectForms({ y: false }, { label: 'y' }).label).toBe('false');
  });

  it('refuse a record that is not an object, a missing or empty key, a missing or null label', () => {
    expect(() => objectForms([1], {})).toThrow(code('RECORDS_MALFORMED'));
    expect(() => objectForms('x', {})).toThrow(code('RECORDS_MALFORMED'));
    expect(() => objectForms({ a: 1 }, { key: ['id'] })).toThrow(code('RECORDS_KEY_MISSING'));
    expect(() => objectForms({ id: '' }, { key: ['id'] })).toThrow(code('RECORDS_KEY_EMPTY'));
    expect(() => objectForms({ id: null }, { key: ['id'] })).toThrow(code('RECORDS_KEY_EMPTY'));
    expect(() => objectForms({ id: { a: 1 } }, { key: ['id'] })).toThrow(code('RECORDS_MALFORMED'));
    expect(() => objectForms({ a: 1 }, { label: 'y' })).toThrow(code('RECORDS_LABEL_MISSING'));
    expect(() => objectForms({ y: null }, { label: 'y' })).toThrow(code('RECORDS_LABEL_MISSING'));
    expect(() => objectForms({ y: ['a'] }, { label: 'y' })).toThrow(code('RECORDS_LABEL_MISSING'));
  });

  it('do not take a key or label from the prototype chain', () => {
    expect(() => objectForms({ a: 1 }, { key: ['toString'] })).toThrow(code('RECORDS_KEY_MISSING'));
    expect(() => objectForms({ a: 1 }, { label: 'constructor' })).toThrow(code('RECORDS_LABEL_MISSING'));
  });
});

describe('Parquet values', () => {
  it('keep their exact value: INT64 as decimal strings, bytes as hex, non-finite floats and -0 as strings', () => {
    expect(parquetValue(9007199254740993n)).toBe('9007199254740993');
    expect(parquetValue(-5n)).toBe('-5');
    expect(parquetValue(new Uint8Array([0, 255, 16]))).toBe('00ff10');
    expect(parquetValue(Number.NaN)).toBe('NaN');
    expect(parquetValue(-Infinity)).toBe('-Infinity');
    expect(parquetValue(-0)).toBe('-0');
    expect(parquetValue(0)).toBe(0);
    expect(jcs(parquetValue([-0, 0]))).toBe('["-0",0]');
    expect(parquetValue(0.1)).toBe(0.1);
    expect(parquetValue(undefined)).toBe(null);
    expect(parquetValue(new Float32Array([1.5]))).toEqual([1.5]);
    expect(jcs(parquetValue({ b: [1n, null], a: { x: 'y' } }))).toBe('{"a":{"x":"y"},"b":["1",null]}');
  });

  it('refuse a kind of value that has no canonical form', () => {
    expect(() => parquetValue(new Date(0))).toThrow(code('RECORDS_UNSUPPORTED'));
  });

  it('write timestamps as ECMAScript writes the same millisecond (toISOString), to the nanosecond, over the whole range of a Date', () => {
    const MAX_DATE_MS = 8.64e15; // ECMA-262 §21.4.1.22 TimeClip
    fc.assert(
      fc.property(fc.integer({ min: -MAX_DATE_MS, max: MAX_DATE_MS }), fc.integer({ min: 0, max: 999_999 }), (ms, ns) => {
        const iso = new Date(ms).toISOString();
        expect(isoTimestamp(BigInt(ms) * 1_000_000n + BigInt(ns), true)).toBe(`${iso.slice(0, -1)}${String(ns).padStart(6, '0')}Z`);
        expect(isoTimestamp(BigInt(ms) * 1_000_000n, false)).toBe(`${iso.slice(0, -1)}000000`);
        expect(isoDate(Math.floor(ms / 86_400_000))).toBe(iso.slice(0, iso.indexOf('T')));
      }),
    );
    for (const ms of [0, -1, MAX_DATE_MS, -MAX_DATE_MS, -62167219200000, 253402300799999, 253402300800000]) {
      expect(isoTimestamp(BigInt(ms) * 1_000_000n, true)).toBe(new Date(ms).toISOString().replace('Z', '000000Z'));
    }
  });

  it('write the extreme timestamps exactly: INT64 milliseconds reach 292 million years either side', () => {
    expect(isoTimestamp(-1n, true)).toBe('1969-12-31T23:59:59.999999999Z');
    expect(isoTimestamp(9223372036854775807n, true)).toBe('2262-04-11T23:47:16.854775807Z');
    expect(isoTimestamp(9223372036854775807n * 1_000_000n, false)).toBe('+292278994-08-17T07:12:55.807000000');
    expect(isoTimestamp(-9223372036854775808n * 1_000_000n, false)).toBe('-292275055-05-16T16:47:04.192000000');
    expect(isoDate(2147483647)).toBe('+5881580-07-11');
    expect(isoDate(-719529)).toBe('-000001-12-31');
    expect(isoDate(-719528)).toBe('0000-01-01');
  });

  it('write times of day to the nanosecond and refuse one outside a day (RECORDS_MALFORMED)', () => {
    expect(isoTime(0n)).toBe('00:00:00.000000000');
    expect(isoTime(45296123456789n)).toBe('12:34:56.123456789');
    expect(isoTime(86_399_999_999_999n)).toBe('23:59:59.999999999');
    expect(() => isoTime(86_400_000_000_000n)).toThrow(code('RECORDS_MALFORMED'));
    expect(() => isoTime(-1n)).toThrow(code('RECORDS_MALFORMED'));
  });

  it('write a timestamp with Z unless its column holds local times, a date as its day, inside lists and structs too', () => {
    const t = new ParquetInstant(1577836800123000000n);
    expect(parquetValue(t)).toBe('2020-01-01T00:00:00.123000000Z');
    expect(parquetValue(t, 0, true)).toBe('2020-01-01T00:00:00.123000000');
    expect(jcs(parquetValue({ l: [t, null], d: new ParquetDate(18262) }, 0, true))).toBe('{"d":"2020-01-01","l":["2020-01-01T00:00:00.123000000",null]}');
  });
});

describe('file records (label folders)', () => {
  const digest = 'ab'.repeat(32);
  it('take the label from the path segment and key the record by the rest of the path', () => {
    expect(fileForms('mail/spam/0001.eml', digest, 1)).toEqual({
      canonical: `{"label":"spam","path":"mail/0001.eml","sha256":"${digest}"}`,
      features: `{"sha256":"${digest}"}`,
      key: '["mail/0001.eml"]',
      label: 'spam',
    });
  });

  it('skip a path without a segment after the label', () => {
    expect(fileForms('README', digest, 0)).toBeUndefined();
    expect(fileForms('mail/README', digest, 1)).toBeUndefined();
  });
});
