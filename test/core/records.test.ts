import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateRecordsMember, type RecordSetMember } from '../../src/core/records.js';
import { buildStatement, parseStatement, serializeStatement, type SnapshotPredicate } from '../../src/core/statement.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/worked-example.json', import.meta.url), 'utf8')) as { merkleRoot: string; manifestSha256: string };
const code = (c: string) => expect.objectContaining({ code: c });
const H = 'c'.repeat(64);

const csvSet = (over: Partial<RecordSetMember> = {}): RecordSetMember => ({
  path: 'train.csv',
  format: 'csv',
  identity: 'key',
  key: ['id'],
  label: 'label',
  count: 3,
  index: { sha256: H, merkleRoot: H },
  labels: { ham: 2, spam: 1 },
  ...over,
});
const filesSet: RecordSetMember = { pattern: 'mail/*/*', format: 'files', identity: 'path', labelSegment: 1, count: 2, index: { sha256: H, merkleRoot: H }, labels: { ham: 1, spam: 1 } };

const predicate = (records?: RecordSetMember[]): SnapshotPredicate => ({
  dataset: 'demo',
  version: 'v1',
  merkleRoot: fixture.merkleRoot,
  manifestSha256: fixture.manifestSha256,
  fileCount: 2,
  totalBytes: 12,
  createdAt: '2026-11-21T10:00:00Z',
  tool: { name: 'snap', version: '0.1.0' },
  ...(records ? { records } : {}),
});

describe('the records member of a statement', () => {
  it('round-trips through the canonical statement bytes', () => {
    const s = buildStatement(predicate([filesSet, csvSet()]));
    expect(parseStatement(serializeStatement(s)).predicate.records).toEqual([filesSet, csvSet()]);
  });

  it('is left out when there are no record sets (statements without it are unchanged)', () => {
    expect(buildStatement(predicate([])).predicate).not.toHaveProperty('records');
  });

  it('accepts every identity with the members it needs', () => {
    const { key: _k, ...noKey } = csvSet();
    expect(validateRecordsMember([{ ...noKey, identity: 'features' }])).toHaveLength(1);
    expect(validateRecordsMember([{ ...noKey, identity: 'position' }])).toHaveLength(1);
    const { label: _l, labels: _ls, ...unlabelled } = csvSet();
    expect(validateRecordsMember([unlabelled])).toHaveLength(1);
  });

  it('takes a schema digest on a Parquet, CSV, TSV or JSONL set only (a JSONL set\'s columns by first appearance; not a files set), and only as 64 lowercase hex (FORMAT §19.11)', () => {
    const hex = 'ab'.repeat(32);
    expect(validateRecordsMember([csvSet({ path: 't.parquet', format: 'parquet', schema: hex })])[0]?.schema).toBe(hex);
    expect(validateRecordsMember([csvSet({ schema: hex })])[0]?.schema).toBe(hex);
    expect(validateRecordsMember([csvSet({ path: 't.tsv', format: 'tsv', schema: hex })])[0]?.schema).toBe(hex);
    expect(validateRecordsMember([csvSet({ path: 't.jsonl', format: 'jsonl' })])).toHaveLength(1);
    expect(validateRecordsMember([csvSet({ path: 't.jsonl', format: 'jsonl', schema: hex })])[0]?.schema).toBe(hex);
    expect(() => validateRecordsMember([{ ...filesSet, schema: hex }])).toThrow(code('STATEMENT_INVALID'));
    expect(() => validateRecordsMember([csvSet({ path: 't.parquet', format: 'parquet', schema: hex.toUpperCase() })])).toThrow(code('STATEMENT_INVALID'));
    expect(() => validateRecordsMember([csvSet({ path: 't.parquet', format: 'parquet', schema: 7 as unknown as string })])).toThrow(code('STATEMENT_INVALID'));
  });

  it('takes quoting on a TSV set only, and only "none" or "csv"', () => {
    expect(validateRecordsMember([csvSet({ path: 't.tsv', format: 'tsv', quoting: 'none' })])).toHaveLength(1);
    expect(validateRecordsMember([csvSet({ path: 't.tsv', format: 'tsv', quoting: 'csv' })])).toHaveLength(1);
    expect(() => validateRecordsMember([csvSet({ quoting: 'none' })])).toThrow(code('STATEMENT_INVALID'));
    expect(() => validateRecordsMember([csvSet({ path: 't.tsv', format: 'tsv', quoting: 'excel' as 'csv' })])).toThrow(code('STATEMENT_INVALID'));
  });

  it('takes the canonical form a set was indexed by (form) only when it is not the first, and only one this snap knows', () => {
    const parquet = (over: Partial<RecordSetMember> = {}) => csvSet({ path: 't.parquet', format: 'parquet', ...over });
    expect(validateRecordsMember([parquet({ form: 2 })])).toEqual([parquet({ form: 2 })]);
    expect(validateRecordsMember([parquet()])).toHaveLength(1); // form 1, the first: no member
    expect(() => validateRecordsMember([parquet({ form: 1 })])).toThrow(/form is absent for the first form/);
    expect(() => validateRecordsMember([parquet({ form: 3 })])).toThrow(/indexed by canonical form 3 of parquet records.*this snap knows forms 1 to 2/);
    expect(() => validateRecordsMember([csvSet({ form: 2 })])).toThrow(/indexed by canonical form 2 of csv records.*this snap knows form 1/);
    for (const form of [0, -1, 2.5, '2', null]) expect(() => validateRecordsMember([parquet({ form: form as number })])).toThrow(code('STATEMENT_INVALID'));
    expect(() => validateRecordsMember([{ ...filesSet, form: 2 }])).toThrow(code('STATEMENT_INVALID'));
  });

  it('is refused, as STATEMENT_INVALID, when any member is off', () => {
    const { key: _k, ...noKey } = csvSet();
    const cases: unknown[] = [
      [],
      {},
      [csvSet(), csvSet()],
      [csvSet({ path: 'b.csv' }), csvSet({ path: 'a.csv' })],
      [csvSet({ path: '../x.csv' })],
      [csvSet({ format: 'xlsx' as never })],
      [csvSet({ identity: 'path' })],
      [{ ...filesSet, identity: 'key' }],
      [noKey],
      [csvSet({ key: [] })],
      [csvSet({ key: ['id', 'id'] })],
      [csvSet({ key: ['label'] })],
      [csvSet({ count: -1 })],
      [csvSet({ count: 1.5 })],
      [csvSet({ index: { sha256: H } as never })],
      [csvSet({ index: { sha256: H.toUpperCase(), merkleRoot: H } })],
      [csvSet({ labels: { ham: 2, spam: 2 } })],
      [csvSet({ labels: { ham: 3, spam: 0 } })],
      [{ ...csvSet(), labels: undefined }],
      [{ ...csvSet(), extra: 1 }],
      [{ ...csvSet(), labelSegment: 1 }],
      [{ ...filesSet, labelSegment: -1 }],
      [{ ...filesSet, path: 'x' }],
      [{ ...filesSet, labels: undefined }],
      [csvSet({ labels: { ['x'.repeat(257)]: 3 } })],
      [csvSet({ count: 5000, labels: Object.fromEntries(Array.from({ length: 4097 }, (_, i) => [`l${i}`, 1])) })],
    ];
    for (const c of cases) expect(() => validateRecordsMember(c), JSON.stringify(c)?.slice(0, 200)).toThrow(code('STATEMENT_INVALID'));
  });

  it('makes a statement with a bad records member fail to parse', () => {
    const s = buildStatement(predicate([csvSet()]));
    const text = new TextDecoder().decode(serializeStatement(s)).replace('"count":3', '"count":4');
    expect(() => parseStatement(new TextEncoder().encode(text))).toThrow(code('STATEMENT_INVALID'));
  });
});
