import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ByteWriter } from 'hyparquet-writer';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { parquetMetadata } from 'hyparquet';
import { indexTabularFile } from '../../src/records/index-file.js';
import { readParquet } from '../../src/records/read-parquet.js';
import type { RecordSetSpec } from '../../src/records/config.js';
import { tempDir } from '../helpers/tree.js';

/**
 * Files written by pyarrow 25 (test/fixtures/parquet/types/make.py, which prints the rows
 * pyarrow's to_pylist() reads differently from base.parquet): id 1..3, t TIMESTAMP, tm TIME, d DATE;
 * row 1 the epoch, row 2 2020-01-01T00:00:00.123 / 12:34:56.123 / 2020-01-01, row 3 nulls.
 */
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'parquet', 'types');
const SPEC: RecordSetSpec = { format: 'parquet', identity: 'key', key: ['id'] };
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** The index lines of a Parquet file's bytes, by key. */
async function linesOf(bytes: Uint8Array): Promise<Map<string, { fingerprint: string }>> {
  const dir = await tempDir('snap-types-');
  const abs = join(dir, 't.parquet');
  await fsp.writeFile(abs, bytes);
  const outPath = join(dir, 'index.jsonl');
  await indexTabularFile({ abs, rel: 't.parquet', spec: SPEC, tmpDir: dir, outPath, strictKeys: true });
  const text = await fsp.readFile(outPath, 'utf8');
  return new Map(text.trimEnd().split('\n').map((l) => [String(JSON.parse(l).key[0]), JSON.parse(l)]));
}

const fixture = async (name: string) => new Uint8Array(await fsp.readFile(join(FIXTURES, name)));

/** The ids whose fingerprints differ between two files' indexes. */
async function modified(a: Uint8Array, b: Uint8Array): Promise<number[]> {
  const [x, y] = [await linesOf(a), await linesOf(b)];
  return [...x.keys()].filter((k) => x.get(k)?.fingerprint !== y.get(k)?.fingerprint).map(Number);
}

/** A Parquet file's bytes with its footer replaced by `meta` (hyparquet-writer's writer). */
function withFooter(real: Uint8Array, meta: ReturnType<typeof parquetMetadata>): Uint8Array {
  const buf = Buffer.from(real);
  const w = new ByteWriter();
  writeMetadata(w, meta as unknown as Parameters<typeof writeMetadata>[1]);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(w.offset);
  return new Uint8Array(Buffer.concat([buf.subarray(0, buf.length - 8 - buf.readUInt32LE(buf.length - 8)), Buffer.from(w.getBuffer()), len, Buffer.from('PAR1')]));
}

/** `bytes` with the schema element of column `name` changed by `change` (and no column statistics). */
function changed(bytes: Uint8Array, name: string, change: (el: Record<string, unknown>) => void): Uint8Array {
  const meta = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  change(meta.schema.find((e) => e.name === name) as unknown as Record<string, unknown>);
  for (const rg of meta.row_groups) for (const c of rg.columns) if (c.meta_data) delete c.meta_data.statistics;
  return withFooter(bytes, meta);
}

describe('Parquet times, dates and timestamps (FORMAT §19.3): a record diff names the records pyarrow reads differently', () => {
  it('write a timestamp, a time and a date as ISO 8601 text to the nanosecond, with Z for a timestamp adjusted to UTC', async () => {
    const lines = await linesOf(await fixture('base.parquet'));
    expect(lines.get('2')?.fingerprint).toBe(sha('{"d":"2020-01-01","id":2,"t":"2020-01-01T00:00:00.123000000Z","tm":"12:34:56.123000000"}'));
    expect(lines.get('1')?.fingerprint).toBe(sha('{"d":"1970-01-01","id":1,"t":"1970-01-01T00:00:00.000000000Z","tm":"00:00:00.000000000"}'));
    expect(lines.get('3')?.fingerprint).toBe(sha('{"d":null,"id":3,"t":null,"tm":null}'));
  });

  it('name no record modified when the same times are rewritten in other units (milliseconds to microseconds, date32 to date64)', async () => {
    expect(await modified(await fixture('base.parquet'), await fixture('other-units.parquet'))).toEqual([]);
  });

  it('name the record whose time moved when the same integers are declared in another unit', async () => {
    expect(await modified(await fixture('base.parquet'), await fixture('t-same-integers-micros.parquet'))).toEqual([2]);
    expect(await modified(await fixture('base.parquet'), await fixture('tm-same-integers-micros.parquet'))).toEqual([2]);
  });

  it('name every record whose value became a number: a DATE rewritten as INT32, a TIMESTAMP as INT64', async () => {
    expect(await modified(await fixture('base.parquet'), await fixture('d-int32.parquet'))).toEqual([1, 2]);
    expect(await modified(await fixture('base.parquet'), await fixture('t-int64.parquet'))).toEqual([1, 2]);
  });

  it('tell a timestamp adjusted to UTC (an aware datetime to pyarrow) from a local one and from INT96 (both naive), and read those two alike', async () => {
    expect(await modified(await fixture('base.parquet'), await fixture('t-local.parquet'))).toEqual([1, 2]);
    expect(await modified(await fixture('base.parquet'), await fixture('t-int96.parquet'))).toEqual([1, 2]);
    expect(await modified(await fixture('t-local.parquet'), await fixture('t-int96.parquet'))).toEqual([]);
  });

  it('refuse an INT96 timestamp outside the years 1677 to 2262 (RECORDS_UNSUPPORTED): pyarrow and pandas read it in nanoseconds, wrapped around, 3000-01-01 as 1830-11-23T00:50:52.580896768', async () => {
    await expect(linesOf(await fixture('t-int96-year-3000.parquet'))).rejects.toMatchObject({ code: 'RECORDS_UNSUPPORTED', details: { path: 't.parquet' }, message: expect.stringMatching(/INT96 timestamp .*wrapped/) });
  });

  it('refuse a timestamp or duration of INT64 -2^63 (RECORDS_UNSUPPORTED): pandas reads it as NaT, as it reads a null, where snap read a value', async () => {
    // pandas.read_parquet: [1970-01-01, NaT, NaT] and [0 days, NaT, NaT]; Arrow: the second is not null.
    await expect(linesOf(await fixture('t-int64-min.parquet'))).rejects.toMatchObject({ code: 'RECORDS_UNSUPPORTED', details: { path: 't.parquet' }, message: expect.stringMatching(/NaT/) });
    await expect(linesOf(await fixture('du-int64-min.parquet'))).rejects.toMatchObject({ code: 'RECORDS_UNSUPPORTED', details: { path: 't.parquet' }, message: expect.stringMatching(/NaT/) });
  });

  it('read a timestamp by its logical type, as Arrow does, when its converted type names another unit', async () => {
    // Converted TIMESTAMP_MILLIS beside logical TIMESTAMP(MICROS): pyarrow reads microseconds (1970-01-19T06:17:16.800123).
    const base = await fixture('base.parquet');
    const micros = changed(base, 't', (el) => (el.logical_type = { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' }));
    expect(await modified(base, micros)).toEqual([2]);
    expect(await modified(micros, await fixture('t-same-integers-micros.parquet'))).toEqual([]);
    // Converted TIMESTAMP_MILLIS alone is adjusted to UTC (Parquet LogicalTypes.md), as pyarrow reads it.
    expect(await modified(base, changed(base, 't', (el) => delete el.logical_type))).toEqual([]);
    // A DATE by its logical type alone is a date.
    expect(await modified(base, changed(base, 'd', (el) => delete el.converted_type))).toEqual([]);
  });
});

describe('Parquet times and timestamps inside groups', () => {
  it('read a list of timestamps and a struct holding one alike in milliseconds and in microseconds, a struct of local times without Z', async () => {
    const ms = await fixture('nested-ms.parquet');
    expect(await modified(ms, await fixture('nested-us.parquet'))).toEqual([]);
    const lines = await linesOf(ms);
    expect(lines.get('1')?.fingerprint).toBe(sha('{"id":1,"tl":["1970-01-01T00:00:00.000000000Z","2020-01-01T00:00:00.123000000Z"],"ts":{"at":"1970-01-01T00:00:00.000000000"}}'));
    expect(lines.get('3')?.fingerprint).toBe(sha('{"id":3,"tl":[null],"ts":{"at":"2020-01-01T00:00:00.123000000"}}'));
  });

  it('read a TIME inside a list as a time, as pyarrow reads it (datetime.time(0, 0, 0, 1000)), not as the integer 1', async () => {
    expect((await linesOf(await fixture('time-in-list.parquet'))).get('1')?.fingerprint).toBe(sha('{"id":1,"tml":["00:00:00.001000000"]}'));
  });

  it('convert a TIME and an INT8 inside lists on every page of every row group, v1 pages and v2 pages with a dictionary, as pyarrow reads them', async () => {
    const expected = (await fsp.readFile(join(FIXTURES, 'nested-pages.expected.jsonl'), 'utf8')).trimEnd().split('\n');
    expect(expected).toHaveLength(300);
    for (const name of ['nested-pages-v1.parquet', 'nested-pages-v2.parquet']) {
      const got: string[] = [];
      await readParquet(join(FIXTURES, name), name, {}, (forms) => got.push(forms.canonical));
      expect(got).toEqual(expected);
    }
  });

  it('refuse a column holding timestamps both adjusted to UTC and not (RECORDS_UNSUPPORTED, naming the column)', async () => {
    await expect(linesOf(await fixture('utc-and-local-in-struct.parquet'))).rejects.toMatchObject({ code: 'RECORDS_UNSUPPORTED', details: { path: 't.parquet', column: 's' } });
  });

  it('refuse a TIME past the end of a day, naming the record (RECORDS_MALFORMED): pandas refuses it, pyarrow reads 25:00 as 01:00', async () => {
    await expect(linesOf(await fixture('time-past-a-day.parquet'))).rejects.toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.parquet', row: 2 }, message: expect.stringMatching(/not a time of day/) });
  });

  it('refuse a converted type of a time, date or timestamp beside a logical type of another kind (RECORDS_MALFORMED)', async () => {
    const base = await fixture('base.parquet');
    // Converted DATE, logical INTEGER(32): pyarrow reads the numbers 0 and 18262.
    const e = linesOf(changed(base, 'd', (el) => (el.logical_type = { type: 'INTEGER', bitWidth: 32, isSigned: true })));
    await expect(e).rejects.toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.parquet', column: 'd' }, message: expect.stringMatching(/DATE by its converted type but INTEGER by its logical type/) });
  });
});

describe('Parquet durations, whose unit pyarrow keeps only in its Arrow schema (key-value metadata ARROW:schema)', () => {
  it('write a duration as ISO 8601 text to the nanosecond, and name no record modified when the same durations are rewritten in milliseconds', async () => {
    const seconds = await fixture('du-seconds.parquet');
    expect((await linesOf(seconds)).get('2')?.fingerprint).toBe(sha('{"du":"PT1.000000000S","id":2}'));
    expect(await modified(seconds, await fixture('du-milliseconds.parquet'))).toEqual([]);
  });

  it('name the record whose duration changed when the same integers are declared in milliseconds, and every one become a plain INT64', async () => {
    const seconds = await fixture('du-seconds.parquet');
    expect(await modified(seconds, await fixture('du-same-integers-milliseconds.parquet'))).toEqual([2]);
    expect(await modified(seconds, await fixture('du-int64.parquet'))).toEqual([1, 2]);
  });

  it('read durations inside a list and a struct as pyarrow reads them (timedelta(seconds=1), timedelta(microseconds=1000))', async () => {
    const list = await linesOf(await fixture('du-in-list.parquet'));
    expect([...list.values()].map((l) => l.fingerprint)).toEqual([sha('{"du":["PT0.000000000S"],"id":1}'), sha('{"du":null,"id":2}'), sha('{"du":["PT1.000000000S"],"id":3}')]);
    const struct = await linesOf(await fixture('du-in-struct.parquet'));
    expect([...struct.values()].map((l) => l.fingerprint)).toEqual([sha('{"du":{"a":"PT0.001000000S","b":"2"},"id":1}'), sha('{"du":null,"id":2}'), sha('{"du":{"a":null,"b":"3"},"id":3}')]);
  });

  it('refuse an Arrow schema that cannot be read (RECORDS_MALFORMED, as pyarrow refuses it)', async () => {
    const bytes = await fixture('du-seconds.parquet');
    const meta = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    for (const rg of meta.row_groups) for (const c of rg.columns) if (c.meta_data) delete c.meta_data.statistics;
    const kv = (meta.key_value_metadata ?? []).find((k) => k.key === 'ARROW:schema') as { value: string };
    kv.value = Buffer.from([0xff, 0xff, 0xff, 0xff, 8, 0, 0, 0, ...Buffer.from('garbage!')]).toString('base64');
    await expect(linesOf(withFooter(bytes, meta))).rejects.toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.parquet' }, message: expect.stringMatching(/ARROW:schema/) });
  });
});

describe('Parquet integers read as Arrow reads them', () => {
  it('read a signed integer by its logical type when its converted type says unsigned: 4294967295 became -1 to pyarrow, and to snap', async () => {
    const unsigned = await fixture('u32.parquet');
    const signed = await fixture('u32-read-signed.parquet');
    expect((await linesOf(signed)).get('2')?.fingerprint).toBe(sha('{"id":2,"u":-1}'));
    expect(await modified(unsigned, signed)).toEqual([2]);
  });

  it('read an INTEGER of 8 bits stored as the INT32 300 as 44, its low bits, as pyarrow does', async () => {
    const stored300 = await fixture('u8-stored-300.parquet');
    expect((await linesOf(stored300)).get('1')?.fingerprint).toBe(sha('{"id":1,"u":44}'));
    expect(await modified(await fixture('u8.parquet'), stored300)).toEqual([]);
  });
});
