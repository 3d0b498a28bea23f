/**
 * pandas categorical columns (docs/FORMAT.md §19.11): `.cat.codes` index the categories in the order
 * pyarrow builds them — each row group's dictionary page, then its values in row order, first
 * appearance kept — and `ordered` is ARROW:schema's. The fixtures were written by pyarrow 25.0.1 with
 * pandas 3.0.6 (test/fixtures/parquet/categorical/make.py), each beside what pandas reads back.
 */
import { promises as fsp, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parquetMetadata } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { tempDir } from '../helpers/tree.js';
import { MAX_CATEGORIES, readParquet } from '../../src/records/read-parquet.js';
import { categoriesChanges, categoriesChangeText, classNamesChangeText, parseSchemaObject, schemaObjectBytes, typeChangeText } from '../../src/records/column-types.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'parquet', 'categorical');
const categoriesOf = async (name: string) => (await readParquet(join(DIR, `${name}.parquet`), `${name}.parquet`, {}, () => {})).columnTypes?.find((c) => c.name === 'label')?.categories ?? null;
const expected = (name: string) => JSON.parse(readFileSync(join(DIR, `${name}.expected.json`), 'utf8')) as unknown;

describe('the categories of a pandas categorical column', () => {
  it.each(['neg-pos', 'pos-neg', 'ordered', 'unused', 'no-dictionary-page', 'row-groups', 'integers'])('are what pandas reads back: %s', async (name) => {
    expect(await categoriesOf(name)).toEqual(expected(name));
  });

  it('past MAX_CATEGORIES (a dictionary padded with unused ones) are over bounds, not cut', async () => {
    expect(MAX_CATEGORIES).toBe(65_536);
    expect(await categoriesOf('over-bounds')).toEqual({ ordered: false, overBounds: true });
  });

  it('are refused from a dictionary page that declares more values than its bytes can hold (each has a 4-byte length), before any array is made for them', async () => {
    // neg-pos.parquet with its label column's dictionary page header saying 63 values where it holds
    // 2 (`neg`, `pos`: 14 bytes): num_values is a zigzag varint of one byte either way (4 → 126), so
    // nothing else of the file moves.
    const bytes = Buffer.from(readFileSync(join(DIR, 'neg-pos.parquet')));
    const chunk = parquetMetadata(bytes).row_groups[0]?.columns[1]?.meta_data;
    expect(chunk?.path_in_schema).toEqual(['label']);
    const at = Number(chunk?.dictionary_page_offset);
    const header = (b: Buffer) => {
      const reader = { view: new DataView(b.buffer, b.byteOffset + at, b.byteLength - at), offset: 0 };
      return { h: parquetHeader(reader), length: reader.offset };
    };
    const before = header(bytes);
    expect([before.h.type, before.h.dictionary_page_header?.num_values, before.h.uncompressed_page_size]).toEqual(['DICTIONARY_PAGE', 2, 14]);
    // The dictionary page header (a struct field, type 12) whose first field is num_values (i32, type 5) = zigzag 4.
    const field = bytes.subarray(at, at + before.length).findIndex((x, i, b) => (x & 0x0f) === 0x0c && b[i + 1] === 0x15 && b[i + 2] === 0x04);
    expect(field).toBeGreaterThan(0);
    bytes[at + field + 2] = 0x7e;
    const after = header(bytes);
    expect([after.h.dictionary_page_header?.num_values, after.length]).toEqual([63, before.length]);
    const abs = join(await tempDir('snap-categories-'), 'patched.parquet');
    await fsp.writeFile(abs, bytes);
    const e = await readParquet(abs, 'patched.parquet', {}, () => {}).catch((x) => x);
    expect(e).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 'patched.parquet' } });
    expect(e.message).toMatch(/a dictionary page declares 63 values in 14 bytes/);
  });
});

describe('categories in the column-types object', () => {
  const columns = [{ name: 'id', type: 'INT64' }, { name: 'label', type: 'STRING', categories: { ordered: false, values: ['neg', 'pos'] } }];

  it('are its "categories" member, and read back', () => {
    const bytes = schemaObjectBytes(columns);
    expect(bytes.toString()).toBe('{"categories":{"label":{"ordered":false,"values":["neg","pos"]}},"classNames":{},"columns":[{"name":"id","type":"INT64"},{"name":"label","type":"STRING"}],"nestedClassNames":{}}');
    expect(parseSchemaObject(bytes, 't.parquet')).toEqual({ columns, classNamesRecorded: true, nestedClassNamesRecorded: true, categoriesRecorded: true });
    const older = schemaObjectBytes(columns, 'nestedClassNames');
    expect(parseSchemaObject(older, 't.parquet').categoriesRecorded).toBe(false);
  });

  it('are refused in another shape or for a column not listed', () => {
    const rest = '"classNames":{},"columns":[{"name":"a","type":"STRING"}],"nestedClassNames":{}';
    for (const cats of ['{"b":{"ordered":false,"values":[]}}', '{"a":{"values":["x"]}}', '{"a":{"ordered":false,"overBounds":false}}', '{"a":{"ordered":false,"values":[1]}}', '{"a":{"ordered":false,"values":[],"x":1}}', '[]']) {
      expect(() => parseSchemaObject(Buffer.from(`{"categories":${cats},${rest}}`), 't.parquet'), cats).toThrow(expect.objectContaining({ code: 'RECORDS_INDEX_MALFORMED' }));
    }
  });

  it('changed — order, ordered, bounds or presence — are one change a column, named', () => {
    const b = [{ name: 'id', type: 'INT64' }, { name: 'label', type: 'STRING', categories: { ordered: true, values: ['pos', 'neg'] } }];
    const [c] = categoriesChanges(columns, b);
    expect(categoriesChanges(columns, b)).toHaveLength(1);
    expect(categoriesChangeText(c as never)).toBe('label: pandas categories [neg, pos] → ordered [pos, neg]');
    expect(categoriesChanges(columns, columns)).toEqual([]);
    const over = [{ name: 'label', type: 'STRING', categories: { ordered: false, overBounds: true as const } }];
    expect(categoriesChangeText(categoriesChanges(columns, over)[0] as never)).toContain('[neg, pos] → over bounds');
    expect(categoriesChangeText(categoriesChanges(columns, [{ name: 'label', type: 'STRING' }])[0] as never)).toBe('label: pandas categories [neg, pos] → none');
  });
});

describe('change texts name crafted columns and names so they cannot pass for more of the line', () => {
  it('writes a class name, category or column holding a comma, an arrow or ": " as its JSON string', () => {
    expect(classNamesChangeText({ column: 'label', a: ['cat, dog', 'bird'], b: ['cat', 'dog', 'bird'] })).toBe('label: ClassLabel names ["cat, dog", bird] → [cat, dog, bird]');
    expect(classNamesChangeText({ column: 'x: INT64 → STRING, label', a: ['a'], b: ['b'] })).toBe('"x: INT64 → STRING, label": ClassLabel names [a] → [b]');
    expect(typeChangeText({ column: 'a: INT64 → STRING, b', a: 'INT64', b: 'INT32' })).toBe('"a: INT64 → STRING, b": INT64 → INT32');
    expect(categoriesChangeText({ column: 'label', a: { ordered: false, values: ['neg, pos'] }, b: { ordered: false, values: ['neg', 'pos'] } })).toBe('label: pandas categories ["neg, pos"] → [neg, pos]');
    expect(typeChangeText({ column: 'label', a: 'INT64', b: 'STRING' })).toBe('label: INT64 → STRING');
  });
});
