/**
 * The Hugging Face ClassLabel names of a Parquet file's columns (docs/FORMAT.md §19.11), read from
 * its key-value metadata "huggingface" as `datasets` (`Features.from_arrow_schema`) reads them.
 */
import { describe, expect, it } from 'vitest';
import { hfClassNames, MAX_CLASS_NAME_BYTES, MAX_CLASS_NAMES, MAX_FILE_CLASS_NAMES, MAX_HF_METADATA_BYTES } from '../../src/records/class-names.js';

const features = (f: object) => JSON.stringify({ info: { features: f } });
const read = (value: string, columns = ['label', 'tags', 'id']) => Object.fromEntries(hfClassNames([value], columns, 't.parquet'));
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'no error';
};

describe('ClassLabel names from huggingface metadata', () => {
  it('are those of each top-level ClassLabel column, in order', () => {
    expect(read(features({ label: { names: ['neg', 'pos'], _type: 'ClassLabel' }, id: { dtype: 'int64', _type: 'Value' } }))).toEqual({ label: ['neg', 'pos'] });
  });

  it('are those of a ClassLabel held by a Sequence, List or LargeList (or a one-element list) of it', () => {
    const cl = { names: ['O', 'B-PER'], _type: 'ClassLabel' };
    for (const tags of [{ feature: cl, _type: 'Sequence' }, { feature: cl, _type: 'List' }, { feature: cl, _type: 'LargeList' }, [cl]]) {
      expect(read(features({ tags })), JSON.stringify(tags)).toEqual({ tags: ['O', 'B-PER'] });
    }
  });

  it('are "0", "1", … for a ClassLabel given only num_classes, as datasets names them', () => {
    expect(read(features({ label: { num_classes: 3, _type: 'ClassLabel' } }))).toEqual({ label: ['0', '1', '2'] });
  });

  it('are none without the key, without info.features, for columns the file lacks, and for other features', () => {
    expect(Object.fromEntries(hfClassNames([], ['label'], 't.parquet'))).toEqual({});
    expect(read('{"info": {}}')).toEqual({});
    expect(read('{"other": 1}')).toEqual({});
    expect(read(features({ gone: { names: ['a'], _type: 'ClassLabel' }, id: { dtype: 'int64', _type: 'Value' } }))).toEqual({});
  });

  it('are refused (RECORDS_MALFORMED) when the metadata is not JSON, given twice, or not of its shape', () => {
    expect(code(() => read('{"info": '))).toBe('RECORDS_MALFORMED');
    expect(code(() => read('{"info": {"features": NaN}}'))).toBe('RECORDS_MALFORMED');
    expect(code(() => hfClassNames(['{}', '{}'], ['label'], 't.parquet'))).toBe('RECORDS_MALFORMED');
    expect(code(() => read('[1]'))).toBe('RECORDS_MALFORMED');
    expect(code(() => read('{"info": []}'))).toBe('RECORDS_MALFORMED');
    expect(code(() => read(features({ label: { names: 'neg,pos', _type: 'ClassLabel' } })))).toBe('RECORDS_MALFORMED');
    expect(code(() => read(features({ label: { names: [0, 1], _type: 'ClassLabel' } })))).toBe('RECORDS_MALFORMED');
    expect(code(() => read(features({ label: { names: ['a', 'b'], num_classes: 3, _type: 'ClassLabel' } })))).toBe('RECORDS_MALFORMED');
  });

  it('are refused (RECORDS_UNSUPPORTED) when kept in a names_file snap cannot read', () => {
    expect(code(() => read(features({ label: { names_file: 'labels.txt', _type: 'ClassLabel' } })))).toBe('RECORDS_UNSUPPORTED');
  });

  it('are bounded (RECORDS_LIMIT): metadata bytes, number of names, bytes of a name', () => {
    expect(code(() => read(features({ label: { names: ['x'.repeat(MAX_HF_METADATA_BYTES)], _type: 'ClassLabel' } })))).toBe('RECORDS_LIMIT');
    expect(code(() => read(features({ label: { names: Array.from({ length: MAX_CLASS_NAMES + 1 }, (_, i) => String(i)), _type: 'ClassLabel' } })))).toBe('RECORDS_LIMIT');
    expect(code(() => read(features({ label: { num_classes: MAX_CLASS_NAMES + 1, _type: 'ClassLabel' } })))).toBe('RECORDS_LIMIT');
    expect(code(() => read(features({ label: { names: ['é'.repeat(MAX_CLASS_NAME_BYTES / 2 + 1)], _type: 'ClassLabel' } })))).toBe('RECORDS_LIMIT');
    expect(read(features({ label: { names: ['é'.repeat(MAX_CLASS_NAME_BYTES / 2)], _type: 'ClassLabel' } }))).toEqual({ label: ['é'.repeat(MAX_CLASS_NAME_BYTES / 2)] });
  });
});

describe('the names of all columns of one file together', () => {
  it('are bounded (MAX_FILE_CLASS_NAMES): num_classes 65,536 on 3,000 columns (167 KB of metadata) is RECORDS_LIMIT, not 196 M strings (node ran out of memory: 4.4 GB, signal 6)', () => {
    const columns = Array.from({ length: 3000 }, (_, i) => `c${i}`);
    const value = features(Object.fromEntries(columns.map((c) => [c, { _type: 'ClassLabel', num_classes: MAX_CLASS_NAMES }])));
    expect(code(() => hfClassNames([value], columns, 't.parquet'))).toBe('RECORDS_LIMIT');
  });

  it('up to the bound they are read whole: four columns of 65,536 classes', () => {
    const columns = ['a', 'b', 'c', 'd'];
    const value = features(Object.fromEntries(columns.map((c) => [c, { _type: 'ClassLabel', num_classes: MAX_CLASS_NAMES }])));
    expect(MAX_FILE_CLASS_NAMES).toBe(4 * MAX_CLASS_NAMES);
    const names = hfClassNames([value], columns, 't.parquet');
    expect([...names.values()].map((n) => n.length)).toEqual([MAX_CLASS_NAMES, MAX_CLASS_NAMES, MAX_CLASS_NAMES, MAX_CLASS_NAMES]);
  });
});
