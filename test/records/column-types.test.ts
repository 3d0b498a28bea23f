/**
 * Column types of Parquet files as snap signs them (docs/FORMAT.md §19.11): the type Arrow reads,
 * units, UTC flag, nesting and durations included; the schema object's one canonical form; bounds.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readParquet } from '../../src/records/read-parquet.js';
import { MAX_CLASS_NAMES } from '../../src/records/class-names.js';
import { columnOrderChange, columnOrderText, COLUMN_ORDER_SHOWN, CUT_TYPE_MARK, DELIMITED_FORM, delimitedColumnTypes, MAX_COLUMN_TYPE_BYTES, MAX_SCHEMA_NAME_BYTES, parquetColumnTypes, parseSchemaObject, schemaObjectBytes, typeChanges, type TypedNode } from '../../src/records/column-types.js';

const TYPES = join(import.meta.dirname, '..', 'fixtures', 'parquet', 'types');
const typesOf = async (file: string) => Object.fromEntries(((await readParquet(join(TYPES, file), file, {}, () => {})).columnTypes ?? []).map((c) => [c.name, c.type]));

describe('the column types of a Parquet file', () => {
  it('are its logical types, with unit and UTC flag, as Arrow reads them', async () => {
    expect(await typesOf('base.parquet')).toEqual({ id: 'INT32', t: 'TIMESTAMP(MILLIS, UTC)', tm: 'TIME(MILLIS)', d: 'DATE' });
    expect((await typesOf('t-local.parquet')).t).toBe('TIMESTAMP(MILLIS)');
    expect((await typesOf('other-units.parquet')).t).toBe('TIMESTAMP(MICROS, UTC)');
    expect((await typesOf('u32.parquet')).u).toBe('UINT32');
    expect((await typesOf('u32-read-signed.parquet')).u).toBe('INT32'); // the logical INT(32, signed) wins over a converted UINT_32, as in pyarrow
  });

  it('name a duration (ARROW:schema) by its unit, and lists and structs by what they hold', async () => {
    expect((await typesOf('du-seconds.parquet')).du).toBe('DURATION(SECONDS)');
    expect((await typesOf('du-milliseconds.parquet')).du).toBe('DURATION(MILLIS)');
    expect((await typesOf('du-int64.parquet')).du).toBe('INT64');
    expect((await typesOf('du-in-list.parquet')).du).toBe('LIST<DURATION(SECONDS)>');
    expect((await typesOf('du-in-struct.parquet')).du).toBe('STRUCT<"a": DURATION(MILLIS), "b": INT64>');
    expect((await typesOf('nested-ms.parquet')).tl).toBe('LIST<TIMESTAMP(MILLIS, UTC)>');
  });

  it('cut a type text over MAX_COLUMN_TYPE_BYTES, keeping a digest of the whole so that a change still shows', () => {
    const wide = (last: string): TypedNode => ({
      element: { name: 'root' },
      path: [],
      children: [{ element: { name: 's' }, path: ['s'], children: Array.from({ length: 200 }, (_, i) => ({ element: { name: `f${i}`, type: i === 199 ? last : 'INT32' }, path: ['s', `f${i}`], children: [] })) }],
    });
    const [a] = parquetColumnTypes(wide('INT32'), new Map()) ?? [];
    const [b] = parquetColumnTypes(wide('INT64'), new Map()) ?? [];
    expect(Buffer.byteLength(a?.type ?? '')).toBeLessThanOrEqual(MAX_COLUMN_TYPE_BYTES);
    expect(a?.type).toContain(CUT_TYPE_MARK);
    expect(a?.type).not.toBe(b?.type);
  });
});

describe('the schema object', () => {
  const columns = [{ name: 'id', type: 'INT64' }, { name: 'label', type: 'STRING' }];

  it('is RFC 8785 JSON of the categories, the class names, the columns in order and the nested class names, and reads back', () => {
    const bytes = schemaObjectBytes(columns);
    expect(bytes.toString()).toBe('{"categories":{},"classNames":{},"columns":[{"name":"id","type":"INT64"},{"name":"label","type":"STRING"}],"nestedClassNames":{}}');
    expect(parseSchemaObject(bytes, 't.parquet')).toEqual({ columns, classNamesRecorded: true, nestedClassNamesRecorded: true, categoriesRecorded: true });
    const named = [{ name: 'id', type: 'INT64' }, { name: 'label', type: 'INT64', classNames: ['neg', 'pos'] }];
    const withNames = schemaObjectBytes(named);
    expect(withNames.toString()).toBe('{"categories":{},"classNames":{"label":["neg","pos"]},"columns":[{"name":"id","type":"INT64"},{"name":"label","type":"INT64"}],"nestedClassNames":{}}');
    expect(parseSchemaObject(withNames, 't.parquet')).toEqual({ columns: named, classNamesRecorded: true, nestedClassNamesRecorded: true, categoriesRecorded: true });
    const nested = [{ name: 'id', type: 'INT64' }, { name: 'objects', type: 'STRUCT<"category": LIST<INT64>>', nestedClassNames: { '.category[]': ['cat', 'dog'] } }];
    const withNested = schemaObjectBytes(nested);
    expect(withNested.toString()).toBe('{"categories":{},"classNames":{},"columns":[{"name":"id","type":"INT64"},{"name":"objects","type":"STRUCT<\\"category\\": LIST<INT64>>"}],"nestedClassNames":{"objects":{".category[]":["cat","dog"]}}}');
    expect(parseSchemaObject(withNested, 't.parquet')).toEqual({ columns: nested, classNamesRecorded: true, nestedClassNamesRecorded: true, categoriesRecorded: true });
  });

  it('written before class names were signed (no classNames member) reads back as not recording them', () => {
    const older = Buffer.from('{"columns":[{"name":"id","type":"INT64"},{"name":"label","type":"STRING"}]}');
    expect(parseSchemaObject(older, 't.parquet')).toEqual({ columns, classNamesRecorded: false, nestedClassNamesRecorded: false, categoriesRecorded: false });
  });

  it('written before nested class names were signed (no nestedClassNames member; a CSV or TSV object) reads back as not recording those', () => {
    const older = schemaObjectBytes(columns, DELIMITED_FORM);
    expect(older.toString()).toBe('{"classNames":{},"columns":[{"name":"id","type":"INT64"},{"name":"label","type":"STRING"}]}');
    expect(parseSchemaObject(older, 't.parquet')).toEqual({ columns, classNamesRecorded: true, nestedClassNamesRecorded: false, categoriesRecorded: false });
  });

  it('is refused with nested names of a column it does not list, not a path, or over the bounds of a file', () => {
    const cols = '"columns":[{"name":"a","type":"INT64"}]';
    const many = JSON.stringify(Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`.m${i}`, Array.from({ length: MAX_CLASS_NAMES }, (_, j) => String(j))])));
    for (const nested of ['{"b":{".x":["p"]}}', '{"a":{"x":["p"]}}', '{"a":{".x":"p"}}', '{"a":[]}', '{"a":{}}', '[]', `{"a":${many}}`]) {
      const text = `{"categories":{},"classNames":{},${cols},"nestedClassNames":${nested}}`;
      expect(() => parseSchemaObject(Buffer.from(text), 't.parquet'), nested.slice(0, 40)).toThrow(expect.objectContaining({ code: 'RECORDS_INDEX_MALFORMED' }));
    }
  });

  it('is refused in any other form, with another member, or naming a column twice', () => {
    for (const text of ['{"columns": []}', '{"columns":[],"x":1}', '{"classNames":{"x":["a"]},"columns":[]}', '{"classNames":{"a":[1]},"columns":[{"name":"a","type":"INT64"}]}', '{"classNames":[],"columns":[]}', '{"columns":[{"name":"a","type":"INT64"},{"name":"a","type":"INT64"}]}', '{"columns":[{"name":"a"}]}', 'not json']) {
      expect(() => parseSchemaObject(Buffer.from(text), 't.parquet'), text).toThrow(expect.objectContaining({ code: 'RECORDS_INDEX_MALFORMED' }));
    }
  });

  it('gives the type changes of columns both sides have, in B’s order', () => {
    expect(typeChanges(columns, [{ name: 'label', type: 'INT64' }, { name: 'id', type: 'INT64' }, { name: 'new', type: 'DOUBLE' }])).toEqual([{ column: 'label', a: 'STRING', b: 'INT64' }]);
    expect(typeChanges(columns, columns)).toEqual([]);
  });
});

describe('the column order of a set', () => {
  const cols = (...names: string[]) => names.map((name) => ({ name, type: 'STRING' }));

  it('is a change when the columns both sides have come in another order, named from the column before the first that moved', () => {
    const o = columnOrderChange(cols('id', 'x', 'label'), cols('id', 'label', 'x'));
    expect(o).toEqual({ a: ['id', 'x', 'label'], b: ['id', 'label', 'x'] });
    expect(columnOrderText(o as NonNullable<typeof o>)).toBe('column order: id, x, label → id, label, x');
  });

  it('is no change for the same order, nor for a column added or removed (a record change, shown there)', () => {
    expect(columnOrderChange(cols('id', 'x', 'label'), cols('id', 'x', 'label'))).toBeUndefined();
    expect(columnOrderChange(cols('id', 'x', 'label'), cols('id', 'x', 'label', 'extra'))).toBeUndefined();
    expect(columnOrderChange(cols('id', 'x', 'label'), cols('id', 'label'))).toBeUndefined();
  });

  it(`shows at most ${COLUMN_ORDER_SHOWN} names a side, from where the order first differs, and quotes a name with a comma`, () => {
    const many = Array.from({ length: 100 }, (_, i) => `c${i}`);
    const moved = [...many.slice(0, 50), 'c51', 'c50', ...many.slice(52)];
    const text = columnOrderText(columnOrderChange(cols(...many), cols(...moved)) as NonNullable<ReturnType<typeof columnOrderChange>>);
    expect(text).toBe(`column order: …, ${many.slice(49, 49 + COLUMN_ORDER_SHOWN).join(', ')}, … → …, ${moved.slice(49, 49 + COLUMN_ORDER_SHOWN).join(', ')}, …`);
    expect(columnOrderText({ a: ['a,b', 'c'], b: ['c', 'a,b'] })).toBe('column order: "a,b", c → c, "a,b"');
  });

  it('of a CSV header is signed as STRING columns, none over the name bound', () => {
    expect(delimitedColumnTypes(['id', 'label'])).toEqual(cols('id', 'label'));
    expect(delimitedColumnTypes(['id', 'x'.repeat(MAX_SCHEMA_NAME_BYTES + 1)])).toBeUndefined();
  });
});
