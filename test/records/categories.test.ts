/**
 * pandas categorical columns (docs/FORMAT.md §19.11): `.cat.codes` index the categories in the order
 * pyarrow builds them — each row group's dictionary page, then its values in row order, first
 * appearance kept — and `ordered` is ARROW:schema's. The fixtures were written by pyarrow 25.0.1 with
 * pandas 3.0.6 (test/fixtures/parquet/categorical/make.py), each beside what pandas reads back.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_CATEGORIES, readParquet } from '../../src/records/read-parquet.js';
import { categoriesChanges, categoriesChangeText, parseSchemaObject, schemaObjectBytes } from '../../src/records/column-types.js';

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
