/**
 * The Hugging Face ClassLabel names of a Parquet file's columns (docs/FORMAT.md §19.11), read from
 * its key-value metadata "huggingface" as `datasets` (`Features.from_arrow_schema`) reads them.
 */
import { describe, expect, it } from 'vitest';
import { hfClassLabels, MAX_CLASS_LABEL_DEPTH, MAX_CLASS_LABEL_PATH_BYTES, MAX_CLASS_NAME_BYTES, MAX_CLASS_NAMES, MAX_FILE_CLASS_NAMES, MAX_HF_METADATA_BYTES, MAX_NESTED_CLASS_LABELS } from '../../src/records/class-names.js';

const features = (f: object) => JSON.stringify({ info: { features: f } });
const read = (value: string, columns = ['label', 'tags', 'id']) => Object.fromEntries(hfClassLabels([value], columns, 't.parquet').own);
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
    expect(Object.fromEntries(hfClassLabels([], ['label'], 't.parquet').own)).toEqual({});
    expect(read('{"info": {}}')).toEqual({});
    expect(read('{"other": 1}')).toEqual({});
    expect(read(features({ gone: { names: ['a'], _type: 'ClassLabel' }, id: { dtype: 'int64', _type: 'Value' } }))).toEqual({});
  });

  it('are refused (RECORDS_MALFORMED) when the metadata is not JSON, given twice, or not of its shape', () => {
    expect(code(() => read('{"info": '))).toBe('RECORDS_MALFORMED');
    expect(code(() => read('{"info": {"features": NaN}}'))).toBe('RECORDS_MALFORMED');
    expect(code(() => hfClassLabels(['{}', '{}'], ['label'], 't.parquet'))).toBe('RECORDS_MALFORMED');
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
    expect(code(() => hfClassLabels([value], columns, 't.parquet'))).toBe('RECORDS_LIMIT');
  });

  it('up to the bound they are read whole: four columns of 65,536 classes', () => {
    const columns = ['a', 'b', 'c', 'd'];
    const value = features(Object.fromEntries(columns.map((c) => [c, { _type: 'ClassLabel', num_classes: MAX_CLASS_NAMES }])));
    expect(MAX_FILE_CLASS_NAMES).toBe(4 * MAX_CLASS_NAMES);
    const names = hfClassLabels([value], columns, 't.parquet').own;
    expect([...names.values()].map((n) => n.length)).toEqual([MAX_CLASS_NAMES, MAX_CLASS_NAMES, MAX_CLASS_NAMES, MAX_CLASS_NAMES]);
  });
});

describe('ClassLabels nested in structs and lists', () => {
  const cl = (names: string[]) => ({ names, _type: 'ClassLabel' });
  const nestedOf = (f: object, columns = ['objects']) => Object.fromEntries([...hfClassLabels([features(f)], columns, 't.parquet').nested].map(([c, p]) => [c, p]));

  it('are named by their path below the column: .member of a struct, [] of a list, in the order met', () => {
    const objects = { bbox: { feature: { dtype: 'float32', _type: 'Value' }, _type: 'List' }, category: { feature: cl(['cat', 'dog']), _type: 'List' }, kind: cl(['a']) };
    expect(nestedOf({ objects })).toEqual({ objects: { '.category[]': ['cat', 'dog'], '.kind': ['a'] } });
    expect(nestedOf({ objects: { feature: { category: cl(['cat']) }, _type: 'Sequence' } })).toEqual({ objects: { '[].category': ['cat'] } });
    expect(nestedOf({ objects: [{ category: cl(['cat']) }] })).toEqual({ objects: { '[].category': ['cat'] } });
    expect(nestedOf({ objects: { feature: { feature: cl(['x']), _type: 'List' }, _type: 'LargeList' } })).toEqual({ objects: { '[][]': ['x'] } });
  });

  it('a member name other than letters, digits and _ is its JSON string, so a path reads one way', () => {
    expect(nestedOf({ objects: { 'a.b': cl(['x']), '': cl(['y']) } })).toEqual({ objects: { '."a.b"': ['x'], '.""': ['y'] } });
  });

  it("leave the column's own names (a ClassLabel, or a list directly of one) where they were", () => {
    const r = hfClassLabels([features({ objects: { feature: cl(['a', 'b']), _type: 'Sequence' } })], ['objects'], 't.parquet');
    expect(Object.fromEntries(r.own)).toEqual({ objects: ['a', 'b'] });
    expect(r.nested.size).toBe(0);
  });

  it('are bounded: nesting deeper than MAX_CLASS_LABEL_DEPTH, a path over MAX_CLASS_LABEL_PATH_BYTES, more than MAX_NESTED_CLASS_LABELS, names of the file together (RECORDS_LIMIT)', () => {
    let deep: object = cl(['a']);
    for (let i = 0; i < MAX_CLASS_LABEL_DEPTH; i++) deep = { m: deep };
    expect(nestedOf({ objects: deep })).toEqual({ objects: { ['.m'.repeat(MAX_CLASS_LABEL_DEPTH)]: ['a'] } });
    expect(code(() => nestedOf({ objects: { m: deep } }))).toBe('RECORDS_LIMIT');
    // 200,000 levels as text (JSON.stringify of such an object overflows the stack): an error, not a crash.
    const levels = 200_000;
    const hostile = `{"info": {"features": {"objects": ${'[{"m": '.repeat(levels)}1${'}]'.repeat(levels)}}}}`;
    expect(code(() => hfClassLabels([hostile], ['objects'], 't.parquet'))).toBe('RECORDS_LIMIT');
    const wide = Object.fromEntries(Array.from({ length: MAX_NESTED_CLASS_LABELS + 1 }, (_, i) => [`m${i}`, cl([])]));
    expect(code(() => nestedOf({ objects: wide }))).toBe('RECORDS_LIMIT');
    expect(code(() => nestedOf({ objects: { ['m'.repeat(MAX_CLASS_LABEL_PATH_BYTES)]: cl(['a']) } }))).toBe('RECORDS_LIMIT');
    expect(nestedOf({ objects: { ['m'.repeat(MAX_CLASS_LABEL_PATH_BYTES - 1)]: cl(['a']) } })).toEqual({ objects: { ['.' + 'm'.repeat(MAX_CLASS_LABEL_PATH_BYTES - 1)]: ['a'] } });
    const full = Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((m) => [m, { num_classes: MAX_CLASS_NAMES, _type: 'ClassLabel' }]));
    expect(code(() => nestedOf({ objects: full }))).toBe('RECORDS_LIMIT');
  });

  it('are refused as the top-level ones are: names not strings (RECORDS_MALFORMED), a names_file (RECORDS_UNSUPPORTED)', () => {
    expect(code(() => nestedOf({ objects: { c: { names: [1], _type: 'ClassLabel' } } }))).toBe('RECORDS_MALFORMED');
    expect(code(() => nestedOf({ objects: { c: { names_file: 'x.txt', _type: 'ClassLabel' } } }))).toBe('RECORDS_UNSUPPORTED');
  });
});
