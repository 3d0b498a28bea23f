import { describe, expect, it } from 'vitest';
import { MAX_THRIFT_DEPTH, walkThriftStruct } from '../../src/records/thrift-bounds.js';

const walk = (bytes: number[], max = 1000) => walkThriftStruct(Uint8Array.from(bytes), 0, max);
const error = (bytes: number[], max = 1000) => {
  try {
    walk(bytes, max);
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('the walk did not fail');
};

describe('walking a Thrift compact-protocol struct without decoding it', () => {
  it('finds where it ends and counts every field, list element and struct', () => {
    // {1: i32 300, 2: list<struct> [{}, {3: true}], 4: binary "ab", 5: double} then a byte after it
    const bytes = [0x15, 0xd8, 0x04, 0x19, 0x2c, 0x00, 0x31, 0x00, 0x28, 0x02, 0x61, 0x62, 0x17, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0xee];
    expect(walk(bytes)).toEqual({ end: bytes.length - 1, values: 1 + 1 + 1 + 2 + 1 + 1 + 1 });
  });

  it('refuses more values than the bound, counting a list of one-byte elements one by one', () => {
    // a list of 200 booleans: 200 bytes, 202 values with the struct and the list
    const bytes = [0x19, 0xf1, 0xc8, 0x01, ...new Array(200).fill(1), 0x00];
    expect(walk(bytes, 202).values).toBe(202);
    expect(error(bytes, 201)).toMatchObject({ code: 'RECORDS_LIMIT', message: 'a Thrift structure holds more than 201 values' });
  });

  it('refuses a list that claims more elements than bytes are left, before counting them', () => {
    // a list of 2^31 empty structs in 3 bytes
    expect(error([0x19, 0xfc, 0x80, 0x80, 0x80, 0x80, 0x08, 0x00, 0x00, 0x00], 1e12)).toMatchObject({ code: 'RECORDS_MALFORMED', message: expect.stringMatching(/declares a list of 2147483648 elements in 3 bytes/) });
  });

  it('refuses a struct that runs past its bytes, an overlong integer, and a type Parquet does not use', () => {
    expect(error([0x15, 0xd8])).toMatchObject({ code: 'RECORDS_MALFORMED', message: expect.stringMatching(/runs past its end/) });
    expect(error([0x18, 0x05, 0x61, 0x00])).toMatchObject({ code: 'RECORDS_MALFORMED' });
    expect(error([0x15, ...new Array(10).fill(0xff), 0x01, 0x00])).toMatchObject({ code: 'RECORDS_MALFORMED', message: expect.stringMatching(/more than 10 bytes/) });
    expect(error([0x1b, 0x00, 0x00])).toMatchObject({ code: 'RECORDS_MALFORMED', message: expect.stringMatching(/type 11/) });
  });

  it('refuses nesting deeper than the bound rather than recursing without end', () => {
    const deep = (n: number) => [...new Array(n).fill(0x1c), ...new Array(n + 1).fill(0x00)];
    expect(walk(deep(MAX_THRIFT_DEPTH)).values).toBe(MAX_THRIFT_DEPTH + 1);
    expect(error(deep(MAX_THRIFT_DEPTH + 1))).toMatchObject({ code: 'RECORDS_LIMIT', message: `a Thrift structure nests deeper than ${MAX_THRIFT_DEPTH}` });
    expect(error(deep(100_000))).toMatchObject({ code: 'RECORDS_LIMIT' });
  });
});
