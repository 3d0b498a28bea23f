import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parquetMetadata } from 'hyparquet';
import { arrowSchemaFields, holdsDuration, TYPE_DURATION, type ArrowField } from '../../src/records/arrow-schema.js';
import { isSnapError } from '../../src/core/errors.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'parquet', 'types');

/** The ARROW:schema value pyarrow wrote into a fixture. */
async function arrowSchemaOf(name: string): Promise<string> {
  const b = await fsp.readFile(join(FIXTURES, name));
  const meta = parquetMetadata(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
  return ((meta.key_value_metadata ?? []).find((kv) => kv.key === 'ARROW:schema') as { value: string }).value;
}

/**
 * An Arrow schema message (FlatBuffers, little-endian) of one field whose children are a chain of
 * `levels` fields, each naming the next one twice: `levels` × 20 bytes that describe 2^levels fields.
 */
function doublingSchema(levels: number): string {
  const b = Buffer.alloc(68 + 20 * levels + 4);
  b.writeUInt32LE(16, 0); // root: the Message table at 16
  // Message vtable at 4: 10 bytes, table 12 bytes; version at +6, header_type at +4, header at +8.
  [10, 12, 6, 4, 8].forEach((v, i) => b.writeUInt16LE(v, 4 + 2 * i));
  b.writeInt32LE(16 - 4, 16);
  b.writeUInt8(1, 20); // header_type Schema
  b.writeInt16LE(4, 22); // version V5
  b.writeUInt32LE(36 - 24, 24); // header: the Schema table at 36
  // Schema vtable at 28: endianness absent, fields at +4.
  [8, 8, 0, 4].forEach((v, i) => b.writeUInt16LE(v, 28 + 2 * i));
  b.writeInt32LE(36 - 28, 36);
  b.writeUInt32LE(44 - 40, 40); // fields: the vector at 44
  b.writeUInt32LE(1, 44);
  b.writeUInt32LE(68 - 48, 48); // one field, at 68
  // Field vtable at 52 (shared by every field): children (slot 5) at +4, the rest absent.
  [16, 8, 0, 0, 0, 0, 0, 4].forEach((v, i) => b.writeUInt16LE(v, 52 + 2 * i));
  for (let k = 0, p = 68; k < levels; k++, p += 20) {
    b.writeInt32LE(p - 52, p);
    b.writeUInt32LE(4, p + 4); // children: the vector right after
    b.writeUInt32LE(k === levels - 1 ? 0 : 2, p + 8);
    b.writeUInt32LE(8, p + 12); // both elements: the next field, at p + 20
    b.writeUInt32LE(4, p + 16);
  }
  const len = Buffer.alloc(8);
  len.writeUInt32LE(0xffffffff, 0);
  len.writeUInt32LE(b.length, 4);
  return Buffer.concat([len, b]).toString('base64');
}

/**
 * An Arrow schema message of `fields` top-level fields that all name one field table, whose name is
 * `nameBytes` bytes of "a": a message of about 4 × `fields` + `nameBytes` bytes.
 */
function sharedNameSchema(fields: number, nameBytes: number): string {
  const vector = 44;
  const vtable = vector + 4 + 4 * fields; // the field's vtable: 6 bytes, table 8, name (slot 0) at +4
  const field = vtable + 8;
  const name = field + 8;
  const b = Buffer.alloc(name + 4 + nameBytes + 4);
  b.writeUInt32LE(16, 0);
  [10, 12, 6, 4, 8].forEach((v, i) => b.writeUInt16LE(v, 4 + 2 * i));
  b.writeInt32LE(16 - 4, 16);
  b.writeUInt8(1, 20);
  b.writeInt16LE(4, 22);
  b.writeUInt32LE(36 - 24, 24);
  [8, 8, 0, 4].forEach((v, i) => b.writeUInt16LE(v, 28 + 2 * i));
  b.writeInt32LE(36 - 28, 36);
  b.writeUInt32LE(vector - 40, 40);
  b.writeUInt32LE(fields, vector);
  for (let i = 0; i < fields; i++) b.writeUInt32LE(field - (vector + 4 + 4 * i), vector + 4 + 4 * i);
  [6, 8, 4].forEach((v, i) => b.writeUInt16LE(v, vtable + 2 * i));
  b.writeInt32LE(field - vtable, field);
  b.writeUInt32LE(name - (field + 4), field + 4);
  b.writeUInt32LE(nameBytes, name);
  b.fill(0x61, name + 4, name + 4 + nameBytes);
  const len = Buffer.alloc(8);
  len.writeUInt32LE(0xffffffff, 0);
  len.writeUInt32LE(b.length, 4);
  return Buffer.concat([len, b]).toString('base64');
}

describe('the Arrow schema pyarrow stores in a Parquet file (ARROW:schema)', () => {
  it('give each field with its type, the unit of a duration, and the fields inside it, in order', async () => {
    expect(arrowSchemaFields(await arrowSchemaOf('du-seconds.parquet'), 100, 10)).toEqual([
      { name: 'id', type: 2, children: [] },
      { name: 'du', type: TYPE_DURATION, durationUnit: 1_000_000_000n, children: [] },
    ]);
    expect(arrowSchemaFields(await arrowSchemaOf('du-same-integers-milliseconds.parquet'), 100, 10)[1]).toMatchObject({ name: 'du', durationUnit: 1_000_000n });
    const list = arrowSchemaFields(await arrowSchemaOf('du-in-list.parquet'), 100, 10)[1] as ArrowField;
    expect(list).toEqual({ name: 'du', type: 12, children: [{ name: 'item', type: TYPE_DURATION, durationUnit: 1_000_000_000n, children: [] }] });
    expect(holdsDuration(list)).toBe(true);
  });

  it('count every field it visits: 600 bytes naming one table twice from each level were 2^30 fields (RECORDS_LIMIT)', () => {
    expect(arrowSchemaFields(doublingSchema(2), 100, 10)).toEqual([{ name: '', type: 0, children: [{ name: '', type: 0, children: [] }, { name: '', type: 0, children: [] }] }]);
    expect(() => arrowSchemaFields(doublingSchema(30), 40_000, 192)).toThrow(expect.objectContaining({ code: 'RECORDS_LIMIT', message: expect.stringMatching(/more than 40000 fields/) }));
    expect(() => arrowSchemaFields(doublingSchema(12), 1_000_000, 8)).toThrow(expect.objectContaining({ code: 'RECORDS_LIMIT', message: expect.stringMatching(/deeper than 8 levels/) }));
  });

  it('count the bytes of the names it reads: one name of 20 KB named by 39,990 fields was 800 MB of strings, and one of 1 MB (a Parquet file of 3.6 MB) took node past its heap (RECORDS_LIMIT)', () => {
    expect(arrowSchemaFields(sharedNameSchema(3, 5), 100, 10)).toEqual([0, 1, 2].map(() => ({ name: 'aaaaa', type: 0, children: [] })));
    expect(() => arrowSchemaFields(sharedNameSchema(39_990, 20_000), 40_000, 192)).toThrow(expect.objectContaining({ code: 'RECORDS_LIMIT', message: expect.stringMatching(/names that add up to more than its 180032 bytes/) }));
  });

  it('refuse a value that is not strict base64, as pyarrow refuses the file ("Invalid base64 input"), where Buffer.from skipped the stray characters and read the durations', async () => {
    const good = await arrowSchemaOf('du-seconds.parquet');
    const mid = good.length >> 1;
    expect(arrowSchemaFields(good, 100, 10)).toHaveLength(2);
    // pyarrow 25: a space, a line feed or a "!" inside, "!!!!" after, the padding dropped, the URL-safe alphabet: each an error reading the file.
    for (const bad of [`${good.slice(0, mid)} ${good.slice(mid)}`, `${good.slice(0, mid)}\n${good.slice(mid)}`, `${good.slice(0, mid)}!${good.slice(mid)}`, `${good}!!!!`, good.replace(/=+$/, ''), good.replaceAll('/', '_'), `${good.slice(0, 4)}=${good.slice(5)}`]) {
      expect(() => arrowSchemaFields(bad, 100, 10)).toThrow(expect.objectContaining({ code: 'RECORDS_MALFORMED', message: expect.stringMatching(/not base64/) }));
    }
  });

  it('refuse a message of a metadata version other than V4 and V5, as pyarrow refuses the file ("Old metadata version not supported", "Unsupported future MetadataVersion")', async () => {
    const good = await arrowSchemaOf('du-seconds.parquet');
    /** `good` with its Message's version (slot 0, a short) set to `v`, or absent (V1, the default). */
    const withVersion = (v: number | undefined) => {
      const all = Buffer.from(good, 'base64');
      const b = all.subarray(8); // after the continuation marker and the length
      const message = b.readUInt32LE(0);
      const vtable = message - b.readInt32LE(message);
      if (v === undefined) b.writeUInt16LE(0, vtable + 4);
      else b.writeInt16LE(v, message + b.readUInt16LE(vtable + 4));
      return all.toString('base64');
    };
    for (const v of [3, 4]) expect(arrowSchemaFields(withVersion(v), 100, 10)[1]).toMatchObject({ name: 'du', durationUnit: 1_000_000_000n });
    for (const v of [undefined, 0, 1, 2, 5, -1]) {
      expect(() => arrowSchemaFields(withVersion(v), 100, 10)).toThrow(expect.objectContaining({ code: 'RECORDS_MALFORMED', message: expect.stringMatching(/metadata version/) }));
    }
  });

  it('refuse bytes cut short or changed anywhere with RECORDS_MALFORMED or RECORDS_LIMIT, never another error', async () => {
    const real = Buffer.from(await arrowSchemaOf('du-in-list.parquet'), 'base64');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: real.length }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), (cut, flips) => {
        const b = Buffer.from(real.subarray(0, cut));
        for (const [at, v] of flips) if (b.length > 0) b[at % b.length] = v;
        try {
          arrowSchemaFields(b.toString('base64'), 1000, 64);
        } catch (e) {
          expect(isSnapError(e) && ['RECORDS_MALFORMED', 'RECORDS_LIMIT'].includes(e.code)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the Arrow schema\'s own metadata (Schema.custom_metadata)', () => {
  it('is read in order when asked for: the table metadata pyarrow wrote inside ARROW:schema', async () => {
    const b = await fsp.readFile(join(import.meta.dirname, '..', 'fixtures', 'parquet', 'metadata', 'hf-split.parquet'));
    const meta = parquetMetadata(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    const value = ((meta.key_value_metadata ?? []).find((kv) => kv.key === 'ARROW:schema') as { value: string }).value;
    const metadata: { key: string; value: string }[] = [];
    expect(arrowSchemaFields(value, 100, 10, metadata).map((f) => f.name)).toEqual(['id', 'label']);
    expect(metadata.map((kv) => kv.key)).toEqual(['huggingface']);
    expect(JSON.parse((metadata[0] as { value: string }).value).info.features.label.names).toEqual(['pos', 'neg']);
  });
});
