import { describe, expect, it } from 'vitest';
import { parseConfig, parseRuleFlag, RuleSet, tabularSpec, MAX_CONFIG_BYTES } from '../../src/records/config.js';
import { DEFAULT_THRESHOLDS, mergeThresholds, parseThresholds, strictestThresholds, THRESHOLD_NAMES } from '../../src/records/thresholds.js';

const code = (c: string) => expect.objectContaining({ code: c });
const cfg = (v: unknown) => parseConfig(Buffer.from(JSON.stringify(v)));

describe('snap.json', () => {
  it('gives rules with their identity: key when a key is declared, else features; path for label folders', () => {
    const c = cfg({
      records: [
        { pattern: 'train.csv', key: ['id'], label: 'label' },
        { pattern: '*.jsonl', label: 'y' },
        { pattern: 'rows.tsv', identity: 'position' },
        { pattern: 'mail/*/*', format: 'files', labelSegment: 1 },
      ],
      check: { maxShift: 0.1, maxRemoved: null },
    });
    expect(c.rules).toEqual([
      { pattern: 'train.csv', identity: 'key', key: ['id'], label: 'label' },
      { pattern: '*.jsonl', identity: 'features', label: 'y' },
      { pattern: 'rows.tsv', identity: 'position' },
      { pattern: 'mail/*/*', format: 'files', identity: 'path', labelSegment: 1 },
    ]);
    expect(c.check).toEqual({ maxShift: 0.1, maxRemoved: undefined });
  });

  it('is refused when malformed, with RECORDS_CONFIG_INVALID', () => {
    const bad: unknown[] = [
      [],
      { record: [] },
      { records: {} },
      { records: [{}] },
      { records: [{ pattern: '' }] },
      { records: [{ pattern: '!x.csv' }] },
      { records: [{ pattern: 'x.csv', format: 'xlsx' }] },
      { records: [{ pattern: 'x.csv', key: [] }] },
      { records: [{ pattern: 'x.csv', key: 'id' }] },
      { records: [{ pattern: 'x.csv', key: ['a', 'a'] }] },
      { records: [{ pattern: 'x.csv', key: ['a'], label: 'a' }] },
      { records: [{ pattern: 'x.csv', identity: 'key' }] },
      { records: [{ pattern: 'x.csv', identity: 'position', key: ['a'] }] },
      { records: [{ pattern: 'x.csv', labelSegment: 0 }] },
      { records: [{ pattern: 'x/*', format: 'files' }] },
      { records: [{ pattern: 'x/*', format: 'files', labelSegment: 0, label: 'y' }] },
      { records: [{ pattern: 'x.csv', extra: 1 }] },
      { records: Array.from({ length: 65 }, () => ({ pattern: 'x.csv' })) },
      { records: [{ pattern: 'x.tsv', quoting: 'none' }] }, // quoting needs format "tsv" said outright
      { records: [{ pattern: 'x.csv', format: 'csv', quoting: 'none' }] },
      { records: [{ pattern: 'x.tsv', format: 'tsv', quoting: 'excel' }] },
      { check: { maxShift: 2 } },
      { check: { maxRemoved: -1 } },
      { check: { maxFlips: 0 } },
    ];
    for (const v of bad) expect(() => cfg(v), JSON.stringify(v)).toThrow(code('RECORDS_CONFIG_INVALID'));
    expect(() => parseConfig(Buffer.from('{"records": ['))).toThrow(code('RECORDS_CONFIG_INVALID'));
    // Where the syntax error is (a member name expected after a trailing comma).
    // A syntax error in UTF-8 text is named as a JSON error, not as an encoding one.
    expect(() => parseConfig(Buffer.from('{\n  "records": [\n    {"path": "t.csv",}\n  ]\n}'))).toThrow(/^snap\.json: is not valid JSON \(line 3, column 22: /);
    expect(() => parseConfig(Buffer.from([0xff, 0xfe]))).toThrow(code('RECORDS_CONFIG_INVALID'));
    expect(() => parseConfig(Buffer.from([0xff, 0xfe]))).toThrow(/^snap\.json: is not UTF-8 JSON \(its bytes are not UTF-8\)$/);
  });

  it('says the line and column of a syntax error, also where V8\'s message gives no position', () => {
    // Each: the text, where the error is; V8 (Node 20) says "Unexpected token" or "Unexpected end of JSON input" without a position for these.
    const cases: [string, number, number][] = [
      ['{\n  "records": [\n    {"pattern": "t.csv"},\n  ]\n}', 4, 3], // a trailing comma in an array
      ['{\n  "check": {"maxShift": tru}\n}', 2, 25], // a misspelt literal
      ['{"records": [', 1, 14], // the text ends early
      ['', 1, 1],
      ['{"check": {"maxShift": 0.1}}\n{}', 2, 1], // text after the document
      ['{"records": [{"pattern": "m\u00e9\u{1F600}\t.csv"}]}', 1, 30], // a tab inside a string: columns count characters, not UTF-16 units
    ];
    for (const [text, line, column] of cases) {
      let error: unknown;
      try {
        parseConfig(Buffer.from(text));
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(text)).toMatchObject({ code: 'RECORDS_CONFIG_INVALID', details: { line, column } });
      expect((error as Error).message, JSON.stringify(text)).toContain(`(line ${line}, column ${column}: `);
    }
  });

  it('is refused when an object has a member twice (a reader sees the first, JSON.parse keeps the last), at any depth', () => {
    const twice = [
      '{"records": [{"pattern": "train.csv", "key": "id"}], "records": []}',
      '{"records": [{"pattern": "train.csv", "label": "label", "label": "id"}]}',
      '{"check": {"maxLabelFlips": 0, "maxLabelFlips": 1000}}',
    ];
    for (const text of twice) expect(() => parseConfig(Buffer.from(text)), text).toThrow(expect.objectContaining({ code: 'RECORDS_CONFIG_INVALID', message: expect.stringContaining('twice in one object') }));
    expect(parseConfig(Buffer.from('{"records": [{"pattern": "a.csv"}, {"pattern": "b.csv"}]}')).rules).toHaveLength(2); // the same name in two objects is fine
  });

  it('is refused when larger than 64 KiB, before it is parsed', () => {
    expect(() => parseConfig(Buffer.alloc(MAX_CONFIG_BYTES + 1, 0x20))).toThrow(code('RECORDS_CONFIG_INVALID'));
  });
});

describe('--records rules', () => {
  it('read like a gitattributes line', () => {
    expect(parseRuleFlag('data/*.csv key=id,part label=y')).toEqual({ pattern: 'data/*.csv', identity: 'key', key: ['id', 'part'], label: 'y' });
    expect(parseRuleFlag('mail/** format=files label-segment=1')).toEqual({ pattern: 'mail/**', format: 'files', identity: 'path', labelSegment: 1 });
    expect(parseRuleFlag('glue/*.tsv format=tsv quoting=none label=label')).toEqual({ pattern: 'glue/*.tsv', format: 'tsv', identity: 'features', label: 'label', quoting: 'none' });
  });

  it('carry a TSV rule\'s quoting into the spec of each file it matches', () => {
    const rule = cfg({ records: [{ pattern: '*.tsv', format: 'tsv', quoting: 'csv', label: 'y' }] }).rules[0]!;
    expect(tabularSpec(rule, 'a/b.tsv')).toEqual({ format: 'tsv', identity: 'features', label: 'y', quoting: 'csv' });
  });

  it('are usage errors when malformed', () => {
    for (const t of ['', 'x.csv key', 'x.csv colour=red', 'x.csv format=xlsx', 'm/* format=files label-segment=x', 'x.tsv quoting=none', 'x.tsv format=tsv quoting=yes']) expect(() => parseRuleFlag(t), t).toThrow(code('USAGE'));
  });
});

describe('matching paths to rules', () => {
  const rules = new RuleSet(cfg({ records: [{ pattern: '/train.csv', key: ['id'] }, { pattern: '*.csv', label: 'y' }, { pattern: 'mail/*/*', format: 'files', labelSegment: 1 }, { pattern: 'data/' }] }).rules);

  it('takes the first rule that matches, with gitignore semantics', () => {
    expect(rules.match('train.csv')?.key).toEqual(['id']);
    expect(rules.match('sub/train.csv')?.label).toBe('y'); // "/train.csv" is anchored at the root
    expect(new RuleSet([{ pattern: 'train.csv', identity: 'features' }]).match('sub/train.csv')).toBeDefined(); // no slash: any depth
    expect(rules.match('other.csv')?.label).toBe('y');
    expect(rules.match('mail/ham/1.eml')?.format).toBe('files');
    expect(rules.match('data/x/y.jsonl')?.pattern).toBe('data/');
    expect(rules.match('README.md')).toBeUndefined();
  });

  it('takes the format from the extension when the rule names none, and skips other files', () => {
    const r = rules.match('data/x/y.jsonl')!;
    expect(tabularSpec(r, 'data/x/y.jsonl')).toEqual({ format: 'jsonl', identity: 'features' });
    expect(tabularSpec(r, 'data/x/Y.PARQUET')?.format).toBe('parquet');
    expect(tabularSpec(r, 'data/notes.txt')).toBeUndefined();
  });
});

describe('check thresholds', () => {
  it('take flags over the config over the defaults, member by member', () => {
    const t = mergeThresholds(DEFAULT_THRESHOLDS, { maxShift: 0.1, maxRemoved: undefined }, { maxShift: 0.2 });
    expect(t.maxShift).toBe(0.2);
    expect(t.maxRemoved).toBeUndefined();
    expect(t.maxLabelChanges).toBe(0);
  });

  it('give the stricter of two sets member by member: the smaller limit, an unchecked limit the loosest, the larger p, allow only if both allow', () => {
    const a = mergeThresholds(DEFAULT_THRESHOLDS, { maxShift: 0.1, maxPsi: 0.2, allowNewLabels: true, minChiSquareP: 0.05 });
    const b = mergeThresholds(DEFAULT_THRESHOLDS, { maxLabelChanges: 1000, maxShift: undefined, maxAddedShare: 0.1, allowNewLabels: true, allowVanishedLabels: true, minChiSquareP: 0.01 });
    expect(strictestThresholds(a, b)).toEqual({ ...DEFAULT_THRESHOLDS, maxShift: 0.1, maxPsi: 0.2, maxAddedShare: 0.1, allowNewLabels: true, minChiSquareP: 0.05 });
    // Symmetric, and idempotent.
    expect(strictestThresholds(b, a)).toEqual(strictestThresholds(a, b));
    expect(strictestThresholds(a, a)).toEqual({ ...a, allowVanishedLabels: false });
    // Never looser than either side, for every threshold.
    const s = strictestThresholds(a, b);
    for (const k of THRESHOLD_NAMES) {
      for (const side of [a, b]) {
        const v = s[k];
        const w = side[k];
        if (typeof w === 'boolean') expect(v === true ? w : true).toBe(true);
        else if (k === 'minChiSquareP') expect(w === undefined || (v as number) >= w).toBe(true);
        else expect(w === undefined || (v !== undefined && (v as number) <= w)).toBe(true);
      }
    }
  });

  it('are refused when out of range, with the code asked for', () => {
    expect(() => parseThresholds({ maxJsDistance: 1.5 }, 'flags', 'USAGE')).toThrow(code('USAGE'));
    expect(() => parseThresholds({ allowNewLabels: 1 }, 'flags')).toThrow(code('RECORDS_CONFIG_INVALID'));
    expect(parseThresholds({ maxPsi: 3 }, 'x')).toEqual({ maxPsi: 3 });
  });
});
