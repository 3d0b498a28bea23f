import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ByteWriter, parquetWriteBuffer } from 'hyparquet-writer';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { serializeTCompactProtocol } from 'hyparquet-writer/src/thrift.js';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import { parquetMetadata } from 'hyparquet';
import { indexTabularFile } from '../../src/records/index-file.js';
import type { RecordSetSpec } from '../../src/records/config.js';
import { boundedFields } from '../../src/records/read-delimited.js';
import { MAX_COLUMNS } from '../../src/records/read-common.js';
import { DEPTH_SCAN_FROM, hasInexactInteger, hasOverlongWholeFloat, hasUnderflow, hasWholeFloat, MAX_RECORD_VALUES, NUMBER_SUSPECT, parseMarkingWholeFloats, tooDeepOrLarge } from '../../src/records/read-jsonl.js';
import { WholeFloat } from '../../src/records/canonical.js';
import { hybridZeros, MAX_METADATA_VALUES, MAX_PAGE_HEADER_VALUES, MAX_ROW_GROUP_BYTES, MAX_ROW_GROUP_STORED_BYTES, MAX_ROW_GROUP_VALUES, MAX_SCHEMA_DEPTH, readParquet, zstdBounded } from '../../src/records/read-parquet.js';
import { tempDir } from '../helpers/tree.js';
import { EXAMPLE, TRAIN_CSV } from '../helpers/records-example.js';

const sha = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');
const EMPTY_SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Index `content` as `name` with `spec`; returns the index lines and what was built. */
async function index(name: string, content: string | Uint8Array, spec: RecordSetSpec, opts: { strictKeys?: boolean; expectSha256?: string; runRecords?: number } = {}) {
  const dir = await tempDir('snap-records-');
  const abs = join(dir, name);
  await fsp.writeFile(abs, content);
  const outPath = join(dir, 'index.jsonl');
  const r = await indexTabularFile({ abs, rel: name, spec, tmpDir: dir, outPath, strictKeys: opts.strictKeys ?? true, ...(opts.expectSha256 ? { expectSha256: opts.expectSha256 } : {}), ...(opts.runRecords ? { runRecords: opts.runRecords } : {}) });
  const text = await fsp.readFile(outPath, 'utf8');
  const left = (await fsp.readdir(dir)).sort();
  return { ...r, text, lines: text === '' ? [] : text.slice(0, -1).split('\n'), left };
}

/** The error an indexing run throws. */
async function failure(name: string, content: string | Uint8Array, spec: RecordSetSpec, opts: { strictKeys?: boolean; expectSha256?: string } = {}) {
  try {
    await index(name, content, spec, opts);
  } catch (e) {
    return e as { code: string; details: Record<string, unknown>; message: string };
  }
  throw new Error('indexing did not fail');
}

const KEYED: RecordSetSpec = { format: 'csv', identity: 'key', key: ['id'], label: 'label' };

describe('CSV records', () => {
  it('index the worked example to exactly the documented bytes, leaving no temporary file', async () => {
    const r = await index('train.csv', TRAIN_CSV, KEYED, { expectSha256: EXAMPLE.fileSha256 });
    expect(r.lines).toEqual(EXAMPLE.index);
    expect(r.built).toMatchObject({ count: 3, sha256: EXAMPLE.indexSha256, merkleRoot: EXAMPLE.merkleRoot, labels: { spam: 1, ham: 2 }, bytes: 587 });
    expect(r.read).toEqual({ sha256: EXAMPLE.fileSha256, bytes: 81, records: 3, columnTypes: ['id', 'text', 'label'].map((name) => ({ name, type: 'STRING' })) });
    expect(r.left).toEqual(['index.jsonl', 'train.csv']);
  });

  it('are the same with CRLF line ends or a UTF-8 BOM (only the file digest differs)', async () => {
    const crlf = await index('train.csv', TRAIN_CSV.replace(/\n/g, '\r\n'), KEYED);
    const bom = await index('train.csv', '\ufeff' + TRAIN_CSV, KEYED);
    expect(crlf.lines).toEqual(EXAMPLE.index);
    expect(bom.lines).toEqual(EXAMPLE.index);
    expect(crlf.read.sha256).not.toBe(EXAMPLE.fileSha256);
    expect(bom.read.sha256).not.toBe(EXAMPLE.fileSha256);
  });

  it('keep raw strings: a quoted field with a line break, doubled quotes, spaces, a quoted lone CR', async () => {
    const r = await index('t.csv', 'k,v\n1,"a\nb ""q"""\n2, x \r\n3,"y\rz"\n', { format: 'csv', identity: 'key', key: ['k'] });
    const fp = (canonical: string) => sha(canonical);
    expect(r.lines.map((l) => JSON.parse(l).fingerprint)).toEqual([fp('{"k":"1","v":"a\\nb \\"q\\""}'), fp('{"k":"2","v":" x "}'), fp('{"k":"3","v":"y\\rz"}')]);
  });

  it('refuse a lone CR outside quotes, naming the line and record: Python csv, pandas and pyarrow end a line there, so one record modified was five records added', async () => {
    const spec: RecordSetSpec = { format: 'csv', identity: 'key', key: ['id'], label: 'label' };
    // snap read 2 records (the text of record 2 "meeting\rspam\r…"); the common readers read 2 + 5 records labelled spam.
    const e = await failure('t.csv', 'label,id,text\nham,1,hello\nham,2,meeting\rspam\rspam\rspam\rspam\rspam\n', spec);
    expect(e).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.csv', line: 3, row: 2 } });
    expect(e.message).toMatch(/^t\.csv: line 3, record 2: .*carriage return/);
    // At the very end of the file, in the header, in TSV: the same.
    expect(await failure('t.csv', 'label,id\nham,1\r', spec)).toMatchObject({ code: 'RECORDS_MALFORMED', details: { line: 2, row: 1 } });
    expect(await failure('t.csv', 'label,id\rham,1\n', spec)).toMatchObject({ code: 'RECORDS_MALFORMED', details: { line: 1 } });
    expect(await failure('t.tsv', 'label\tid\nham\t1\rspam\t2\n', { ...spec, format: 'tsv' })).toMatchObject({ code: 'RECORDS_MALFORMED', details: { line: 2, row: 1 } });
    // A CR LF cut between two reads is a line end; a CR inside quotes is data.
    async function* chunks(...parts: string[]) {
      for (const p of parts) yield Buffer.from(p);
    }
    const passed: string[] = [];
    for await (const c of boundedFields(chunks('a,b\r', '\n1,"x\ry"\r', '\n'), 'f', 'csv')) passed.push(c.toString());
    expect(passed.join('')).toBe('a,b\r\n1,"x\ry"\r\n');
  });

  it('refuse a blank line outside quotes, naming the line and record: Python csv, pandas and pyarrow skip it, snap read a record of one empty field', async () => {
    // A one-column file ham, (blank), spam: pandas.read_csv, pyarrow.csv.read_csv and csv.DictReader read 2 records;
    // snap read 3, the second labelled "" (diff: 1 added, a new label "", and every later row number one past pandas').
    const spec: RecordSetSpec = { format: 'csv', identity: 'features', label: 'label' };
    const e = await failure('t.csv', 'label\nham\n\nspam\n', spec);
    expect(e).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.csv', line: 3, row: 2 } });
    expect(e.message).toMatch(/^t\.csv: line 3, record 2: a blank line/);
    // With CR LF line ends, at the end of the file, before the header, in TSV: the same.
    expect(await failure('t.csv', 'label\r\nham\r\n\r\nspam\r\n', spec)).toMatchObject({ code: 'RECORDS_MALFORMED', details: { line: 3, row: 2 } });
    expect(await failure('t.csv', 'label\nham\n\n', spec)).toMatchObject({ code: 'RECORDS_MALFORMED', details: { line: 3, row: 2 } });
    expect(await failure('t.csv', '\nlabel\nham\n', spec)).toMatchObject({ code: 'RECORDS_MALFORMED', details: { line: 1 } });
    expect(await failure('t.tsv', 'label\nham\n\nspam\n', { ...spec, format: 'tsv' })).toMatchObject({ code: 'RECORDS_MALFORMED', details: { line: 3, row: 2 } });
    // A quoted empty field is a record to all of them (pandas: NaN), and a blank line inside quotes is data.
    expect((await index('t.csv', 'label\nham\n""\nspam\n', spec)).built).toMatchObject({ count: 3, labels: { '': 1, ham: 1, spam: 1 } });
    expect((await index('t.csv', 'label\n"ham\n\nx"\nspam\n', spec)).built).toMatchObject({ count: 2 });
  });

  it('refuse a line of only spaces outside quotes (and tabs, in CSV): pandas skips it, Python csv and pyarrow read a record of it, snap read one', async () => {
    // A one-column file hello, "   ", world: pandas.read_csv (both engines) read 2 records, csv.reader and
    // pyarrow.csv.read_csv 3; snap read 3 (a record "   " that the training job reading with pandas never sees).
    const spec: RecordSetSpec = { format: 'csv', identity: 'features' };
    const e = await failure('t.csv', 'text\nhello\n   \nworld\n', spec);
    expect(e).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.csv', line: 3, row: 2 } });
    expect(e.message).toMatch(/^t\.csv: line 3, record 2: a line of only spaces/);
    // Spaces and tabs with CR LF, the last line without its LF, before the header, in TSV with each quoting: the same.
    expect(await failure('t.csv', 'text\r\nhello\r\n \t \r\nworld\r\n', spec)).toMatchObject({ code: 'RECORDS_MALFORMED', details: { line: 3, row: 2 } });
    expect(await failure('t.csv', 'text\nhello\n  ', spec)).toMatchObject({ code: 'RECORDS_MALFORMED', details: { line: 3, row: 2 } });
    expect(await failure('t.csv', '  \ntext\nhello\n', spec)).toMatchObject({ code: 'RECORDS_MALFORMED', details: { line: 1 } });
    for (const quoting of [undefined, 'none', 'csv'] as const) {
      expect(await failure('t.tsv', 'text\nhello\n   \nworld\n', { format: 'tsv', identity: 'features', ...(quoting ? { quoting } : {}) })).toMatchObject({ code: 'RECORDS_MALFORMED', details: { line: 3, row: 2 } });
    }
    // A field of spaces beside another, a tab in TSV (a delimiter: two empty fields to pandas too), quoted spaces: records to all.
    expect((await index('t.csv', 'a,b\n  ,x\n', { format: 'csv', identity: 'features' })).built).toMatchObject({ count: 1 });
    expect((await index('t.tsv', 'a\tb\n  \t\n', { format: 'tsv', identity: 'features' })).built).toMatchObject({ count: 1 });
    expect((await index('t.csv', 'text\nhello\n"   "\n', spec)).built).toMatchObject({ count: 2 });
  });

  it('refuse a blank line or a line of only spaces right after a byte-order mark, where the header would be: pandas skips it and takes the next line for the header', async () => {
    // BOM, (blank), label, ham, spam: pandas read the column label and 2 records; snap read a column "" and 3 records (label among them).
    const spec: RecordSetSpec = { format: 'csv', identity: 'features' };
    for (const first of ['', '   ']) {
      const e = await failure('t.csv', `\ufeff${first}\nlabel\nham\nspam\n`, spec);
      expect(e).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.csv', line: 1 } });
      expect(e.message).toMatch(first === '' ? /a blank line/ : /a line of only spaces/);
    }
    // A byte-order mark before a header is still skipped.
    expect((await index('t.csv', '\ufefflabel\nham\n', spec)).built).toMatchObject({ count: 1 });
  });

  it('refuse a NUL byte, quoted or not: pandas ends the field there, Python csv and pyarrow read it as data', async () => {
    // k,v / 1,a\0b / 2,\0 / \03,c: pandas.read_csv read 1 → "a", 2 → "" and a key "" for "\03"; csv.reader,
    // pyarrow.csv.read_csv and snap read every byte. A record changed only after a NUL was the same record to pandas.
    const spec: RecordSetSpec = { format: 'csv', identity: 'key', key: ['k'] };
    const e = await failure('t.csv', 'k,v\n1,a\0b\n2,x\n', spec);
    expect(e).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.csv', line: 2, row: 1 } });
    expect(e.message).toMatch(/^t\.csv: line 2, record 1: a NUL byte/);
    expect(await failure('t.csv', 'k,v\n1,"x\ny\0"\n', spec)).toMatchObject({ code: 'RECORDS_MALFORMED', details: { line: 3, row: 1 } });
    expect(await failure('t.csv', 'k\0z,v\n1,a\n', spec)).toMatchObject({ code: 'RECORDS_MALFORMED', details: { line: 1 } });
    for (const quoting of [undefined, 'none', 'csv'] as const) {
      expect(await failure('t.tsv', 'k\tv\n1\ta\0b\n', { format: 'tsv', identity: 'key', key: ['k'], ...(quoting ? { quoting } : {}) })).toMatchObject({ code: 'RECORDS_MALFORMED', details: { line: 2, row: 1 } });
    }
  });

  it('count lines from the start of each record (a quoted line break moves later records down)', async () => {
    const e = await failure('t.csv', 'k,v\n1,"a\nb"\n2,x,extra\n', { format: 'csv', identity: 'key', key: ['k'] });
    expect(e.code).toBe('RECORDS_MALFORMED');
    expect(e.details).toMatchObject({ path: 't.csv', line: 4 });
  });

  it('count a CRLF inside a quoted field as one line end, in every error: the record after five such records starts at line 12, not 17', async () => {
    const rows = ['k,v', ...[1, 2, 3, 4, 5].map((i) => `${i},"a\r\nb"`)];
    const ragged = await failure('t.csv', [...rows, '6,x,extra'].join('\r\n') + '\r\n', { format: 'csv', identity: 'key', key: ['k'] });
    expect(ragged).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.csv', line: 12, row: 6 } });
    expect(ragged.message).toMatch(/^t\.csv: line 12, record 6: /);
    const empty = await failure('t.csv', [...rows, ',x'].join('\r\n') + '\r\n', { format: 'csv', identity: 'key', key: ['k'] });
    expect(empty).toMatchObject({ code: 'RECORDS_KEY_EMPTY', details: { line: 12, row: 6 } });
  });

  it('refuse a ragged row, naming file, line and record', async () => {
    const e = await failure('train.csv', TRAIN_CSV.replace('2,"lunch', '2,extra,"lunch'), KEYED);
    expect(e.code).toBe('RECORDS_MALFORMED');
    expect(e.details).toMatchObject({ path: 'train.csv', line: 3, row: 2 });
    expect(e.message).toMatch(/train\.csv: line 3.*ragged/);
  });

  it('refuse a broken quote and an unclosed quote', async () => {
    expect((await failure('t.csv', 'a,b\n"x"y,1\n', { format: 'csv', identity: 'features' })).code).toBe('RECORDS_MALFORMED');
    expect((await failure('t.csv', 'a,b\n1,"open\n2,3\n', { format: 'csv', identity: 'features' })).code).toBe('RECORDS_MALFORMED');
  });

  it('refuse a quote inside an unquoted field, a stray quote at the end and a character after a closing quote, naming the file and the line', async () => {
    for (const text of ['a,b\n1,2\n3,x"y\n', 'a,b\n1,2\n"', 'a,b\n1,"x\ny"z\n', 'a,b\r\n1,"x"\r2\r\n']) {
      const e = await failure('t.csv', text, { format: 'csv', identity: 'features' });
      expect(e.code).toBe('RECORDS_MALFORMED');
      expect(e.details).toMatchObject({ path: 't.csv' });
      expect(e.details?.line).toEqual(expect.any(Number));
      expect(e.message).toMatch(/^t\.csv: line \d+/);
    }
  });

  it('refuse a record longer than 16 MiB (a quoted field that never closes its lines)', async () => {
    const e = await failure('t.csv', 'a,b\n1,"' + 'x\n'.repeat(9 << 20), { format: 'csv', identity: 'features' });
    expect(e.code).toBe('RECORDS_LIMIT');
    expect(e.details).toMatchObject({ path: 't.csv' });
  });

  it('refuse a record of more than MAX_COLUMNS fields as RECORDS_LIMIT, also one that quoted line breaks spread over many lines (csv-parse bounded neither)', async () => {
    const spread = 'a,b\n1,2\n' + ('"",'.repeat(4000) + '"\n",').repeat(3) + 'x\n';
    const e = await failure('t.csv', spread, { format: 'csv', identity: 'features' });
    expect(e.code).toBe('RECORDS_LIMIT');
    expect(e.message).toBe(`t.csv: line 3, record 2: a record has more than ${MAX_COLUMNS} fields`);
    expect(e.details).toMatchObject({ path: 't.csv', line: 3, row: 2 });
    const tsv = await failure('t.tsv', 'a\tb\n' + '\t'.repeat(MAX_COLUMNS) + '\n', { format: 'tsv', identity: 'features' });
    expect(tsv.code).toBe('RECORDS_LIMIT');
    expect(tsv.details).toMatchObject({ path: 't.tsv', line: 2, row: 1 });
    const header = await failure('t.csv', ','.repeat(MAX_COLUMNS) + '\n', { format: 'csv', identity: 'features' });
    expect(header.code).toBe('RECORDS_LIMIT');
    expect(header.message).toBe(`t.csv: line 1: the header has more than ${MAX_COLUMNS} columns`);
  });

  it('count fields before the parser sees them: the chunk that holds the field over the bound is never passed on; commas and line feeds inside quotes are not counted', async () => {
    async function* chunks(...parts: string[]) {
      for (const p of parts) yield Buffer.from(p);
    }
    const passed: string[] = [];
    const run = async (format: 'csv' | 'tsv', ...parts: string[]) => {
      passed.length = 0;
      for await (const c of boundedFields(chunks(...parts), 'f', format, 3)) passed.push(c.toString());
    };
    await expect(run('csv', 'a,b,c\n', '1,2,', '3,4\n')).rejects.toMatchObject({ code: 'RECORDS_LIMIT', details: { line: 2, row: 1 } });
    expect(passed).toEqual(['a,b,c\n', '1,2,']);
    await run('csv', 'a,b,c\n', '"1,\n,""2",', '"x\n,\n",z\n');
    expect(passed).toHaveLength(3);
    await expect(run('tsv', 'a\tb\tc\n', '"\t"\t"\t"\n')).rejects.toMatchObject({ code: 'RECORDS_LIMIT', details: { line: 2, row: 1 } });
  });

  it('refuse invalid UTF-8, naming the line', async () => {
    const bytes = Buffer.concat([Buffer.from('a,b\n1,2\n3,'), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]);
    const e = await failure('t.csv', bytes, { format: 'csv', identity: 'features' });
    expect(e.code).toBe('RECORDS_MALFORMED');
    expect(e.details).toMatchObject({ line: 3 });
  });

  it('refuse an empty file (no header); a header alone is an empty set', async () => {
    expect((await failure('t.csv', '', { format: 'csv', identity: 'features' })).code).toBe('RECORDS_MALFORMED');
    const r = await index('t.csv', 'a,b\n', { format: 'csv', identity: 'features', label: 'b' });
    expect(r.built).toMatchObject({ count: 0, sha256: EMPTY_SHA, labels: {} });
  });

  it('refuse a header naming a column twice, a key or label column it lacks, an empty key', async () => {
    expect((await failure('t.csv', 'a,a\n1,2\n', { format: 'csv', identity: 'features' })).code).toBe('RECORDS_MALFORMED');
    expect((await failure('t.csv', 'a,b\n1,2\n', { format: 'csv', identity: 'key', key: ['id'] })).code).toBe('RECORDS_KEY_MISSING');
    expect((await failure('t.csv', 'a,b\n1,2\n', { format: 'csv', identity: 'features', label: 'y' })).code).toBe('RECORDS_LABEL_MISSING');
    const e = await failure('t.csv', 'id,b\n1,2\n,3\n', { format: 'csv', identity: 'key', key: ['id'] });
    expect(e.code).toBe('RECORDS_KEY_EMPTY');
    expect(e.details).toMatchObject({ line: 3, row: 2 });
  });

  it('name at most 32 of the columns, each shortened, when a key or label column is missing from a wide header', async () => {
    // 10,000 columns of 1,000 characters: the message listed all of them (10 MB on one line).
    const header = Array.from({ length: 10_000 }, (_, i) => `c${i}`.padEnd(1000, 'x'));
    const text = header.join(',') + '\n';
    const key = await failure('t.csv', text, { format: 'csv', identity: 'key', key: ['id'] });
    expect(key.code).toBe('RECORDS_KEY_MISSING');
    expect(key.message).toMatch(/^t\.csv: line 1: key column "id" is not in the header \(columns: "c0x{62}…", "c1x{62}…", .*"c31x{61}…" and 9968 more\)$/);
    expect(key.message.length).toBeLessThan(3000);
    const label = await failure('t.csv', text, { format: 'csv', identity: 'features', label: 'y' });
    expect(label.code).toBe('RECORDS_LABEL_MISSING');
    expect(label.message.length).toBeLessThan(3000);
    expect((await failure('t.csv', 'a,b\n1,2\n', { format: 'csv', identity: 'key', key: ['id'] })).message).toBe('t.csv: line 1: key column "id" is not in the header (columns: "a", "b")');
  });

  it('refuse duplicate keys when sealing, naming both records; keep and count them otherwise', async () => {
    const dup = 'id,label\n1,a\n2,b\n1,c\n';
    const e = await failure('t.csv', dup, { format: 'csv', identity: 'key', key: ['id'], label: 'label' });
    expect(e.code).toBe('RECORDS_DUPLICATE_KEY');
    expect(e.details).toMatchObject({ path: 't.csv', key: '["1"]', rows: [1, 3], lines: [2, 4] });
    const r = await index('t.csv', dup, { format: 'csv', identity: 'key', key: ['id'], label: 'label' }, { strictKeys: false });
    expect(r.built).toMatchObject({ count: 3, duplicates: 1, labels: { a: 1, b: 1, c: 1 } });
  });

  it('allow records with equal features under identity features (identical rows are kept, all of them)', async () => {
    const r = await index('t.csv', 'x,y\n1,a\n1,a\n1,b\n', { format: 'csv', identity: 'features', label: 'y' });
    expect(r.built).toMatchObject({ count: 3, duplicates: 2, labels: { a: 2, b: 1 } });
    expect(new Set(r.lines.map((l) => JSON.parse(l).features)).size).toBe(1);
  });

  it('stop with FILE_CHANGED when the bytes read are not the digest the manifest names', async () => {
    expect((await failure('train.csv', TRAIN_CSV, KEYED, { expectSha256: '0'.repeat(64) })).code).toBe('FILE_CHANGED');
  });

  it('stop with FILE_CHANGED, not a data error, when the file was cut or rewritten after it was hashed and the bytes read do not parse', async () => {
    // Cut in the middle of a row (another process truncating the file while the seal read it): the
    // bytes read end in a ragged row, which is not in the bytes the manifest names.
    const cut = await failure('train.csv', TRAIN_CSV.slice(0, TRAIN_CSV.lastIndexOf(',')), KEYED, { expectSha256: EXAMPLE.fileSha256 });
    expect(cut).toMatchObject({ code: 'FILE_CHANGED', details: { path: 'train.csv' } });
    expect(cut.message).toMatch(/^train\.csv changed between hashing and reading its records \(train\.csv: line 4, record 3: a row has 2 fields where the header has 3 \(a ragged row\)\); nothing was committed/);
    const jsonl = '{"id":1,"label":"a"}\n{"id":2,"label":"b"}\n';
    const truncated = await failure('t.jsonl', jsonl.slice(0, -5), { format: 'jsonl', identity: 'key', key: ['id'], label: 'label' }, { expectSha256: sha(jsonl) });
    expect(truncated).toMatchObject({ code: 'FILE_CHANGED', details: { path: 't.jsonl' } });
    // A file that still has its digest keeps its own error.
    const ragged = 'id,label\n1,a\n2\n';
    expect(await failure('t.csv', ragged, KEYED, { expectSha256: sha(ragged) })).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.csv', line: 3, row: 2 } });
  });

  it('read TSV without quoting: a quote inside a field is data (as Python csv, pandas and pyarrow read it)', async () => {
    const r = await index('t.tsv', 'k\tv\n1\ta "b,c"\n', { format: 'tsv', identity: 'key', key: ['k'] });
    expect(JSON.parse(r.lines[0]!).fingerprint).toBe(sha('{"k":"1","v":"a \\"b,c\\""}'));
  });

  it('refuse a TSV field that begins with a quote, naming the line and record: Python csv, pandas and pyarrow read it as an opening quote that swallows tabs and lines', async () => {
    // snap read 5 records here, 2 of them added; the common readers read 2: the quote opened in record 2 closes in record 5, so records 3 and 4 are
    // text inside one record labelled spam.
    const hiding = 'id\ttext\tlabel\n1\thello\tham\n5\t"\tx\n2\tlunch\tham\n3\tcall\tham\n6\t"\tspam\n';
    const e = await failure('t.tsv', hiding, { format: 'tsv', identity: 'key', key: ['id'], label: 'label' });
    expect(e).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.tsv', line: 3, row: 2 } });
    expect(e.message).toMatch(/^t\.tsv: line 3, record 2: .*begins with a double quote/);
    const header = await failure('t.tsv', '"id"\tlabel\n1\tham\n', { format: 'tsv', identity: 'features' });
    expect(header).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.tsv', line: 1 } });
  });

  it('read a TSV set with quoting "none" as Python csv.QUOTE_NONE does: a field may begin with a quote, and every quote, tab and line end is what it is', async () => {
    const hiding = 'id\ttext\tlabel\n1\thello\tham\n5\t"\tx\n2\tlunch\tham\n3\tcall\tham\n6\t"\tspam\n';
    const r = await index('t.tsv', hiding, { format: 'tsv', identity: 'key', key: ['id'], label: 'label', quoting: 'none' });
    expect(r.lines.map((l) => JSON.parse(l).key)).toEqual([['1'], ['2'], ['3'], ['5'], ['6']]);
    expect(JSON.parse(r.lines[3]!).fingerprint).toBe(sha('{"id":"5","label":"x","text":"\\""}'));
  });

  it('read a TSV set with quoting "csv" as pandas read_csv(sep="\\t") does: a quoted field holds tabs, doubled quotes and line breaks; a broken quote is refused', async () => {
    const quoted = 'id\ttext\tlabel\n1\t"a\tb"\tham\n2\t"say ""hi""\nthere"\tspam\n';
    const r = await index('t.tsv', quoted, { format: 'tsv', identity: 'key', key: ['id'], label: 'label', quoting: 'csv' });
    expect(r.lines.map((l) => JSON.parse(l).fingerprint)).toEqual([sha('{"id":"1","label":"ham","text":"a\\tb"}'), sha('{"id":"2","label":"spam","text":"say \\"hi\\"\\nthere"}')]);
    const broken = await failure('t.tsv', 'id\ttext\n1\t"a"b\n', { format: 'tsv', identity: 'key', key: ['id'], quoting: 'csv' });
    expect(broken).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.tsv', line: 2, row: 1 } });
    // The same bytes under the default are refused (a field begins with a quote), so no set changes meaning unasked.
    expect(await failure('t.tsv', quoted, { format: 'tsv', identity: 'key', key: ['id'], label: 'label' })).toMatchObject({ code: 'RECORDS_MALFORMED' });
  });

  it('say which field holds a quote in the middle, counted from 1 as the header is, and how to write it', async () => {
    const e = await failure('t.csv', 'id,text\n1,ok\n2,say "hi"\n', { format: 'csv', identity: 'key', key: ['id'] });
    expect(e).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.csv', line: 3, row: 2 } });
    expect(e.message).toMatch(/^t\.csv: line 3, record 2: a quote inside a field that does not begin with one \(field 2\): quote the whole field/);
  });

  it('index by position when asked: the key is the row', async () => {
    const r = await index('t.csv', 'a\nz\ny\nx\n', { format: 'csv', identity: 'position' });
    expect(r.lines.map((l) => JSON.parse(l).row)).toEqual([1, 2, 3]);
    expect(r.lines[0]).not.toContain('"key"');
  });
});

describe('JSONL records', () => {
  const spec: RecordSetSpec = { format: 'jsonl', identity: 'key', key: ['id'], label: 'label' };
  const body = '{"id":1,"label":"spam","text":"win"}\n{"text":"hi","label":"ham","id":2}\n';

  it('are the RFC 8785 form of each line, whatever the member order or spacing', async () => {
    const r = await index('t.jsonl', body, spec);
    expect(r.lines.map((l) => JSON.parse(l).fingerprint)).toEqual([sha('{"id":1,"label":"spam","text":"win"}'), sha('{"id":2,"label":"ham","text":"hi"}')]);
    const spaced = await index('t.jsonl', '{ "id" : 1, "label":"spam", "text":"win" }\n{"text":"hi","label":"ham","id":2}', spec);
    expect(spaced.lines).toEqual(r.lines);
  });

  it('are the same with CRLF line ends or a BOM, and without a final newline', async () => {
    const base = await index('t.jsonl', body, spec);
    for (const variant of [body.replace(/\n/g, '\r\n'), '\ufeff' + body, body.slice(0, -1)]) expect((await index('t.jsonl', variant, spec)).lines).toEqual(base.lines);
  });

  it('refuse a line longer than 16 MiB wherever it ends, even 20 bytes over: it used to pass when its end came in the read after the bound was checked', async () => {
    const line = `{"id":1,"label":"a","t":"${'x'.repeat((16 << 20) - 10)}"}`;
    expect(Buffer.byteLength(line)).toBeGreaterThan(16 << 20);
    const e = await failure('t.jsonl', `${line}\n{"id":2,"label":"b"}\n`, spec);
    expect(e).toMatchObject({ code: 'RECORDS_LIMIT', details: { path: 't.jsonl', line: 1 } });
    const at = await index('t.jsonl', `{"id":1,"label":"a","t":"${'x'.repeat((16 << 20) - 40)}"}\n`, spec);
    expect(at.lines).toHaveLength(1);
  });

  it('refuse invalid JSON, a blank line, a line that is not an object, naming the line', async () => {
    for (const [text, line] of [
      ['{"id":1,"label":"a"}\n{"id":2,"label":\n', 2],
      ['{"id":1,"label":"a"}\n\n{"id":2,"label":"b"}\n', 2],
      ['{"id":1,"label":"a"}\n[1,2]\n', 2],
    ] as const) {
      const e = await failure('t.jsonl', text, spec);
      expect(e.code, text).toBe('RECORDS_MALFORMED');
      expect(e.details).toMatchObject({ path: 't.jsonl', line, row: line });
    }
  });

  it('refuse an object that names a member twice, which parsers read differently, naming the member', async () => {
    // JSON.parse keeps the last "label", a first-wins parser the first: the line would index as the
    // record {"id":1,"label":"ham","text":"hello"}, so a label flipped this way passed every record diff.
    const flipped = await failure('t.jsonl', '{"id":0,"label":"ham","text":"x"}\n{"id":1,"text":"a:b","label":"spam","label":"ham"}\n', spec);
    expect(flipped).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.jsonl', line: 2, row: 2 } });
    expect(flipped.message).toBe('t.jsonl: line 2, record 2: an object names the member "label" twice (RFC 8785 reads I-JSON, RFC 7493: names are unique)');
    // Nested, and written with an escape: the same name.
    expect((await failure('t.jsonl', '{"id":1,"label":"a","m":{"x":1,"\\u0078":2}}\n', spec)).message).toMatch(/names the member "x" twice/);
    // Colons and quotes inside strings, equal names in different objects: not duplicates.
    const ok = await index('t.jsonl', '{"id":1,"label":"a","t":"12:30:00 \\"q:\\" \\\\","m":{"label":1},"n":[{"x":1},{"x":2}]}\n', spec);
    expect(ok.built.count).toBe(1);
  });

  it('refuse a long line nested deeper than MAX_DEPTH before parsing it, but not brackets inside strings', async () => {
    const deep = `{"id":1,"label":"a","d":${'['.repeat(70_000)}${']'.repeat(70_000)}}\n`;
    const e = await failure('t.jsonl', deep, spec);
    expect(e).toMatchObject({ code: 'RECORDS_MALFORMED', details: { line: 1 } });
    expect(e.message).toMatch(/nested deeper than 64 levels/);
    expect(tooDeepOrLarge(`[${Array(20).fill(JSON.stringify('[[{\\ "')).join(',')}]`, { depth: 2, values: 100 })).toBeUndefined();
    expect(tooDeepOrLarge('[[[1]]]', { depth: 2, values: 100 })).toBe('depth');
    expect(tooDeepOrLarge('[1,2,3,{"a":4}]', { depth: 2, values: 4 })).toBe('values');
    const long = `{"id":1,"label":"a","t":"${'[{'.repeat(40_000)}","m":[[1]]}\n`;
    expect(long.length).toBeGreaterThan(DEPTH_SCAN_FROM);
    expect((await index('t.jsonl', long, spec)).built.count).toBe(1);
  });

  it('refuse a long line of more than MAX_RECORD_VALUES values (RECORDS_LIMIT) before parsing it', async () => {
    const members = Array.from({ length: MAX_RECORD_VALUES + 1 }, (_, i) => `"k${i}":0`).join(',');
    const e = await failure('t.jsonl', `{"id":1,"label":"a",${members}}\n`, spec);
    expect(e).toMatchObject({ code: 'RECORDS_LIMIT', details: { line: 1 } });
    expect(e.message).toMatch(/more than 262144 values/);
  });

  it('tell a whole number written as a float (1.0, 1e0, -0.0: a float to Python\'s json) from the integer (1, 0: an int): {"label":1} changed to {"label":1.0} changed no fingerprint and no label, though str() of it, its type and a JSON dump of it changed', async () => {
    const ints = await index('t.jsonl', '{"id":1,"label":1,"x":2}\n{"id":2,"label":0,"x":[0,{"y":0}]}\n', spec);
    const floats = await index('t.jsonl', '{"id":1,"label":1.0,"x":2}\n{"id":2,"label":0,"x":[0,{"y":-0.0}]}\n', spec);
    const [i1, i2] = ints.lines.map((l) => JSON.parse(l));
    const [f1, f2] = floats.lines.map((l) => JSON.parse(l));
    expect(f1.fingerprint).not.toBe(i1.fingerprint);
    expect(f1.label).toBe('1.0');
    expect(i1.label).toBe('1');
    expect(f1.features).toBe(i1.features);
    expect(f2.fingerprint).not.toBe(i2.fingerprint);
    expect(f2.fingerprint).toBe(sha('{"id":2,"label":0,"x":[0,{"y":-0.0}]}'));
    // One value, one form: the float's spellings agree with one another, and the integer's with one another.
    for (const [a, b] of [['1.0', '1e0'], ['1.0', '10E-1'], ['100.0', '1e2'], ['-0.0', '-0e5'], ['0', '-0'], ['1.5', '15e-1']]) {
      const x = await index('t.jsonl', `{"id":1,"label":"a","x":${a}}\n`, spec);
      const y = await index('t.jsonl', `{"id":1,"label":"a","x":${b}}\n`, spec);
      expect(y.lines).toEqual(x.lines);
    }
    // A key is its value (Python: 1.0 == 1, one dict key), so a key rewritten as a float pairs with the
    // integer's record, which is then modified; in one file the two are one key written twice.
    const k = await index('t.jsonl', '{"id":1.0,"label":"a"}\n', spec);
    const k1 = await index('t.jsonl', '{"id":1,"label":"a"}\n', spec);
    expect(JSON.parse(k.lines[0] as string).key).toEqual([1]);
    expect(JSON.parse(k.lines[0] as string).fingerprint).not.toBe(JSON.parse(k1.lines[0] as string).fingerprint);
    expect((await failure('t.jsonl', '{"id":1.0,"label":"a"}\n{"id":1,"label":"a"}\n', spec)).code).toBe('RECORDS_DUPLICATE_KEY');
    // Nested too deep, a line with a whole float is refused as any other, also far deeper than the forms take.
    for (const depth of [70, 20000]) {
      const e = await failure('t.jsonl', `{"id":1,"label":"a","x":${'['.repeat(depth)}1.0${']'.repeat(depth)}}\n`, spec);
      expect(e.code).toBe('RECORDS_MALFORMED');
      expect(e.message).toMatch(/nested deeper than 64 levels/);
    }
  });

  it('parse a line with whole floats as JSON.parse does, each whole float (and only those) a WholeFloat of its value, a member __proto__ a member', () => {
    const unwrap = (v: unknown): unknown => (v instanceof WholeFloat ? v.value : Array.isArray(v) ? v.map(unwrap) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)])) : v);
    const floats = (v: unknown): number => (v instanceof WholeFloat ? 1 : v && typeof v === 'object' ? Object.values(v).reduce((n: number, x) => n + floats(x), 0) : 0);
    const number = fc.oneof(fc.integer({ min: -1000, max: 1000 }).map(String), fc.constantFrom('1.0', '-0.0', '2e3', '1.5', '1E-2', '-0', '10.000', '1e21', '0.1e1'));
    const text = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, number, fc.constantFrom('true', 'false', 'null', '"a.0"', '"1e2 \\\\"', '"\\u0031.0 \\" 2.0"'), tie('a'), tie('o')),
      a: fc.array(tie('v') as fc.Arbitrary<string>, { maxLength: 4 }).map((xs) => ` [ ${xs.join(' , ')} ]`),
      o: fc.uniqueArray(fc.tuple(fc.constantFrom('a', 'b', '__proto__', '1', 'x y'), tie('v') as fc.Arbitrary<string>), { maxLength: 4, selector: ([k]) => k }).map((ms) => `{ ${ms.map(([k, v]) => `"${k}" : ${v}`).join(', ')} }`),
    })).o;
    fc.assert(
      fc.property(text, (t) => {
        const parsed = parseMarkingWholeFloats(t);
        expect(unwrap(parsed)).toStrictEqual(unwrap(JSON.parse(t)));
        const wholeFloats = (t.replace(/"(?:[^"\\]|\\.)*"/g, '""').match(/-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/g) ?? []).filter((n) => /[.eE]/.test(n) && Number.isInteger(Number(n))).length;
        expect(floats(parsed)).toBe(wholeFloats);
        expect(hasWholeFloat(t)).toBe(wholeFloats > 0);
      }),
      { numRuns: 500 },
    );
    expect(Object.keys(parseMarkingWholeFloats('{"__proto__":1.0}') as object)).toEqual(['__proto__']);
  });

  it('refuse a whole number written with more digits than a double holds (0.99999999999999999999, 1.00000000000000000001): snap read the integer 1, Python\'s json the float 1.0, pandas.read_json 0.9999999999999991 (astype(int): 0)', async () => {
    for (const [n, x] of [['0.99999999999999999999', 'label'], ['1.00000000000000000001', 'label'], ['-0.99999999999999999999e1', 'x'], ['4503599627370496.5', 'x'], ['12345678901234567890.0', 'x'], ['0.999999999999999999', 'id'], ['9007199254740993e0', 'x']]) {
      const line = x === 'label' ? `{"id":2,"label":${n}}` : x === 'id' ? `{"id":${n},"label":"a"}` : `{"id":2,"label":"a","y":[{"x":${n}}]}`;
      const e = await failure('t.jsonl', `{"id":1,"label":"a"}\n${line}\n`, spec);
      expect(e.code, n).toBe('RECORDS_MALFORMED');
      expect(e.details, n).toMatchObject({ path: 't.jsonl', line: 2, row: 2 });
      expect(e.message, n).toContain(`the number ${n} is written with more digits than a double holds`);
    }
    // Whole numbers written with the digits they hold, long numbers that are not whole, and the same digits in a string, are read as before.
    const ok = await index('t.jsonl', '{"id":1,"label":1.0,"x":[1e0,100.000,1.5e1,1e23,-0.0]}\n{"id":2,"label":"0.99999999999999999999","x":[0.30000000000000004,0.99999999999999994,1.0000000000000002,123456789012345.67]}\n', spec);
    expect(ok.built.count).toBe(2);
    expect(JSON.parse(ok.lines[0] as string).label).toBe('1.0');
  });

  it('refuse an integer that JSON numbers cannot hold exactly, but not one in a string', async () => {
    expect((await failure('t.jsonl', '{"id":12345678901234567890,"label":"a"}\n', spec)).code).toBe('RECORDS_MALFORMED');
    expect((await index('t.jsonl', '{"id":"12345678901234567890","label":"a"}\n{"id":9007199254740991,"label":"a"}\n', spec)).built.count).toBe(2);
    expect(hasInexactInteger('{"a":"9007199254740993","b":1.2345678901234567e5}')).toBe(false);
    expect(hasInexactInteger('{"a":"x\\"","b":-9007199254740993}')).toBe(true);
    expect(hasInexactInteger('[0.12345678901234567]')).toBe(false);
  });

  it('refuse a number too small for a double, which JSON.parse reads as 0 ({"x":1e-400} and {"x":0} had one fingerprint), as one too large is refused; zero itself and the smallest subnormal are numbers', async () => {
    for (const tiny of ['1e-400', '-2.5E-330', '0.' + '0'.repeat(400) + '1', '[1,{"y":1e-00400}]']) {
      const e = await failure('t.jsonl', `{"id":1,"label":"a"}\n{"id":2,"label":"a","x":${tiny}}\n`, spec);
      expect(e.code).toBe('RECORDS_MALFORMED');
      expect(e.details).toMatchObject({ line: 2, row: 2 });
      expect(e.message).toMatch(/a number too small for a double would be read as 0/);
    }
    expect((await failure('t.jsonl', '{"id":1,"label":"a","x":1e400}\n', spec)).message).toMatch(/not finite/);
    const ok = await index('t.jsonl', '{"id":1,"label":"a","x":0}\n{"id":2,"label":"a","x":-0}\n{"id":3,"label":"a","x":0e-500}\n{"id":4,"label":"a","x":5e-324}\n{"id":5,"label":"e-400","x":"1e-400"}\n', spec);
    expect(ok.built.count).toBe(5);
    expect(hasUnderflow('{"a":"1e-400","b":1e-300}')).toBe(false);
    expect(hasUnderflow('{"a":"x\\"","b":1e-324}')).toBe(true);
  });

  it('take the number checks only on lines NUMBER_SUSPECT matches: on a line it does not match, neither check finds anything', () => {
    // JSON-like text made of digits, signs, exponents, points, quotes and backslashes, where the checks look.
    const piece = fc.constantFrom('0', '1', '9', '00000000', '12345678', '99999999', '.99999999', '-', '+', '.', 'e', 'E', 'e-', 'E-4', '1e-400', '"', '\\"', ',', ':', '[', '{"x":', '}', ' ');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), (parts) => {
        const text = parts.join('');
        if (!NUMBER_SUSPECT.test(text)) {
          expect(hasInexactInteger(text)).toBe(false);
          expect(hasUnderflow(text)).toBe(false);
          expect(hasOverlongWholeFloat(text)).toBeUndefined();
        }
      }),
      { numRuns: 5000 },
    );
    expect(NUMBER_SUSPECT.test('{"id":9007199254740993}')).toBe(true);
    expect(NUMBER_SUSPECT.test('{"x":1e-400}')).toBe(true);
    expect(NUMBER_SUSPECT.test('{"id":900719925474099,"x":1e-99}')).toBe(false);
    expect(NUMBER_SUSPECT.test('{"x":0.99999999999999999}')).toBe(true);
    expect(hasOverlongWholeFloat('{"s":"0.99999999999999999999","x":[0.3,0.99999999999999999e2]}')).toBe('0.99999999999999999e2');
  });

  it('refuse invalid UTF-8, a missing key field and a missing label, naming the line', async () => {
    expect((await failure('t.jsonl', Buffer.concat([Buffer.from(body), Buffer.from([0xff, 0x0a])]), spec)).details).toMatchObject({ line: 3 });
    const k = await failure('t.jsonl', body + '{"label":"a"}\n', spec);
    expect(k.code).toBe('RECORDS_KEY_MISSING');
    expect(k.details).toMatchObject({ line: 3 });
    expect((await failure('t.jsonl', body + '{"id":3}\n', spec)).code).toBe('RECORDS_LABEL_MISSING');
  });
});

/** A Parquet file's bytes with its footer (FileMetaData, Thrift) replaced by `meta`, written with hyparquet-writer's writer. */
function withFooter(real: Buffer, meta: ReturnType<typeof parquetMetadata>): Buffer {
  const w = new ByteWriter();
  writeMetadata(w, meta as unknown as Parameters<typeof writeMetadata>[1]);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(w.offset);
  return Buffer.concat([real.subarray(0, real.length - 8 - real.readUInt32LE(real.length - 8)), Buffer.from(w.getBuffer()), len, Buffer.from('PAR1')]);
}

describe('Parquet records', () => {
  const file = (rowGroupSize = 1000) =>
    new Uint8Array(
      parquetWriteBuffer({
        columnData: [
          { name: 'id', data: [3n, 9007199254740993n, 1n], type: 'INT64' },
          { name: 'label', data: ['ham', 'spam', 'ham'], type: 'STRING' },
          { name: 'score', data: [0.5, Number.NaN, -1], type: 'DOUBLE' },
          { name: 'raw', data: [new Uint8Array([1, 2]), new Uint8Array([255]), new Uint8Array([])], type: 'BYTE_ARRAY' },
        ],
        rowGroupSize,
      }),
    );
  const spec: RecordSetSpec = { format: 'parquet', identity: 'key', key: ['id'], label: 'label' };

  it('keep exact values: INT64 as decimal strings, NaN as a string, bytes as hex', async () => {
    const r = await index('t.parquet', file(), spec);
    expect(r.built).toMatchObject({ count: 3, labels: { ham: 2, spam: 1 } });
    const byKey = Object.fromEntries(r.lines.map((l) => [JSON.parse(l).key[0], JSON.parse(l)]));
    expect(byKey['9007199254740993'].fingerprint).toBe(sha('{"id":"9007199254740993","label":"spam","raw":"ff","score":"NaN"}'));
    expect(byKey['3'].row).toBe(1);
    expect(byKey['1'].fingerprint).toBe(sha('{"id":"1","label":"ham","raw":"","score":-1}'));
  });

  it('keep a column named __proto__ (or constructor) as a column of every record, so a change in it changes the fingerprint', async () => {
    const odd = (secret: string) =>
      new Uint8Array(
        parquetWriteBuffer({
          columnData: [
            { name: 'id', data: [1, 2], type: 'INT32' },
            { name: 'label', data: ['a', 'b'], type: 'STRING' },
            { name: '__proto__', data: ['x', secret], type: 'STRING' },
            { name: 'constructor', data: ['c', 'd'], type: 'STRING' },
          ],
        }),
      );
    const r = await index('t.parquet', odd('y'), spec);
    const byKey = Object.fromEntries(r.lines.map((l) => [JSON.parse(l).key[0], JSON.parse(l)]));
    expect(byKey[2].fingerprint).toBe(sha('{"__proto__":"y","constructor":"d","id":2,"label":"b"}'));
    expect(byKey[2].features).toBe(sha('{"__proto__":"y","constructor":"d"}'));
    expect((await index('t.parquet', odd('POISON'), spec)).lines[1]).not.toBe(r.lines[1]);
  });

  /** A file whose column `s` is a struct of two string fields named `first` and `second`. */
  const structColumn = (first: string, second: string, secret = 'y') => {
    const leaf = (name: string) => ({ name, type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'REQUIRED' as const });
    const member = (v: string) => {
      const o = Object.create(null);
      o[first] = v;
      o[second] = 'q';
      return o;
    };
    return new Uint8Array(
      parquetWriteBuffer({
        schema: [{ name: 'root', num_children: 3 }, { ...leaf('id'), type: 'INT32', converted_type: undefined }, leaf('label'), { name: 's', repetition_type: 'REQUIRED', num_children: 2 }, leaf(first), leaf(second)],
        columnData: [
          { name: 'id', data: [1, 2] },
          { name: 'label', data: ['a', 'b'] },
          { name: 's', data: [member('x'), member(secret)] },
        ],
      }),
    );
  };

  it('refuse a struct field that the decoder cannot keep as a member (a nested __proto__, a name twice in one group) instead of dropping it', async () => {
    expect(JSON.parse((await index('t.parquet', structColumn('a', 'b'), spec)).lines[1] as string).fingerprint).toBe(sha('{"id":2,"label":"b","s":{"a":"y","b":"q"}}'));
    expect(await failure('t.parquet', structColumn('__proto__', 'b'), spec)).toMatchObject({ code: 'RECORDS_UNSUPPORTED', details: { path: 't.parquet' } });
    expect(await failure('t.parquet', structColumn('b', 'b'), spec)).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.parquet' }, message: expect.stringMatching(/"b" twice/) });
  });

  /** A file with a JSON column whose second value is `{"v":1234567890123456,"xxx":1}` with those two texts replaced (same length). */
  const jsonColumn = (digits: string, name = '"xxx"') => {
    const buf = Buffer.from(
      parquetWriteBuffer({
        codec: 'UNCOMPRESSED',
        statistics: false,
        columnData: [
          { name: 'id', data: [1, 2], type: 'INT32' },
          { name: 'label', data: ['a', 'b'], type: 'STRING' },
          { name: 'j', data: [{ v: 1 }, { v: 1234567890123456, xxx: 1 }], type: 'JSON' },
        ],
      }),
    );
    for (const [from, to] of [['1234567890123456', digits], ['"xxx"', name]] as const) {
      expect(to.length).toBe(from.length);
      const at = buf.indexOf(from);
      expect(at).toBeGreaterThan(0);
      expect(buf.indexOf(from, at + 1)).toBe(-1);
      buf.write(to, at, 'latin1');
    }
    return new Uint8Array(buf);
  };

  it('read a JSON column as its text, as pyarrow and pandas read it: a label 1.0 is not the label 1, nor an integer beyond 2^53 another one', async () => {
    const r = await index('t.parquet', jsonColumn('1234567890123456'), spec);
    expect(JSON.parse(r.lines[1] as string).fingerprint).toBe(sha('{"id":2,"j":"{\\"v\\":1234567890123456,\\"xxx\\":1}","label":"b"}'));
    // Parsed, 9007199254740993 read as ...992 and a member written twice as one: each text is its own value now.
    const fp = async (bytes: Uint8Array) => JSON.parse((await index('t.parquet', bytes, spec)).lines[1] as string).fingerprint;
    expect(new Set([await fp(jsonColumn('9007199254740993')), await fp(jsonColumn('9007199254740992')), await fp(jsonColumn('1234567890123456', '"v"  '))]).size).toBe(3);
    // A label column of logical type JSON: pyarrow and pandas read the labels "1", "1.0" and " 1"; parsed, all three were the label 1.
    const real = Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'id', data: [1, 2, 3], type: 'INT32' }, { name: 'label', data: ['1', '1.0', ' 1'], type: 'STRING' }], codec: 'UNCOMPRESSED', statistics: false }));
    const meta = parquetMetadata(real);
    Object.assign(meta.schema[2] as object, { converted_type: 'JSON', logical_type: { type: 'JSON' } });
    const labels = await index('t.parquet', withFooter(real, meta), { format: 'parquet', identity: 'key', key: ['id'], label: 'label' });
    expect(labels.built.labels).toEqual({ '1': 1, '1.0': 1, ' 1': 1 });
  });

  it('read a column of logical type JSON without a converted type as its text too, as pyarrow does (it was read as hex bytes)', async () => {
    const real = Buffer.from(jsonColumn('1234567890123456'));
    const meta = parquetMetadata(real);
    // hyparquet-writer writes the converted type JSON alone; a writer of logical types only, the logical type alone.
    const j = meta.schema.find((e) => e.name === 'j') as { converted_type?: string; logical_type?: { type: string } };
    expect(j.converted_type).toBe('JSON');
    delete j.converted_type;
    j.logical_type = { type: 'JSON' };
    const r = await index('t.parquet', withFooter(real, meta), spec);
    expect(JSON.parse(r.lines[1] as string).fingerprint).toBe(sha('{"id":2,"j":"{\\"v\\":1234567890123456,\\"xxx\\":1}","label":"b"}'));
  });

  it('read a string column of logical type ENUM (its converted type UTF8) as bytes, as pyarrow does (b"ham"), not as the text ham', async () => {
    const real = Buffer.from(file());
    const meta = parquetMetadata(real);
    Object.assign(meta.schema.find((e) => e.name === 'label') as object, { logical_type: { type: 'ENUM' } });
    const r = await index('t.parquet', withFooter(real, meta), spec);
    expect(r.built.labels).toEqual({ '68616d': 2, '7370616d': 1 });
  });

  it('refuse a MAP column (RECORDS_UNSUPPORTED): the decoder read a row with the key x twice and a key __proto__ as {"x":4}', async () => {
    // Written by pyarrow (test/fixtures/parquet/README.md).
    const bytes = new Uint8Array(await fsp.readFile(join(import.meta.dirname, '..', 'fixtures', 'parquet', 'map-column.parquet')));
    expect(await failure('t.parquet', bytes, spec)).toMatchObject({ code: 'RECORDS_UNSUPPORTED', details: { path: 't.parquet' }, message: expect.stringMatching(/"m" is a MAP/) });
  });

  it('read one row group at a time and number rows across them', async () => {
    const one = await index('t.parquet', file(), spec);
    const many = await index('t.parquet', file(1), spec);
    expect(many.lines).toEqual(one.lines);
  });

  it('refuse a row group whose values are more than the bound before decoding it, however few bytes encode them', async () => {
    // 200,000 equal rows: run-length and dictionary encoded, a few hundred bytes for 400,000 values.
    const n = 200_000;
    const bytes = parquetWriteBuffer({ columnData: [{ name: 't', data: new Array(n).fill('a'), type: 'STRING' }, { name: 'label', data: new Array(n).fill('x'), type: 'STRING' }], rowGroupSize: n });
    expect(bytes.byteLength).toBeLessThan(4096);
    const dir = await tempDir('snap-records-');
    const abs = join(dir, 't.parquet');
    await fsp.writeFile(abs, new Uint8Array(bytes));
    let rows = 0;
    const fields = { label: 'label' };
    const e = await readParquet(abs, 't.parquet', fields, () => rows++, { maxRowGroupValues: 2 * n - 1 }).catch((x) => x);
    expect(e).toMatchObject({ code: 'RECORDS_LIMIT', details: { path: 't.parquet' } });
    expect(e.message).toMatch(/row group 0 holds 200000 rows of 2 columns, more than 399999 values/);
    expect(rows).toBe(0);
    // At the bound (the values and the two one-entry dictionaries), every row is read, one at a time from the decoded columns.
    expect(await readParquet(abs, 't.parquet', fields, () => rows++, { maxRowGroupValues: 2 * n + 1 }).catch((x) => x)).toMatchObject({ code: 'RECORDS_LIMIT', message: expect.stringMatching(/declares more than 400001 values in its pages/) });
    expect(rows).toBe(0);
    expect(await readParquet(abs, 't.parquet', fields, () => rows++, { maxRowGroupValues: 2 * n + 2 })).toMatchObject({ records: n });
    expect(rows).toBe(n);
    expect(MAX_ROW_GROUP_VALUES).toBe(64 * 1024 * 1024);
  });

  /** A Parquet file whose footer is a FileMetaData with a schema list of `n` empty structs (one byte each on disk). */
  const emptyStructFooter = (n: number) => {
    const varint = (x: number) => {
      const out: number[] = [];
      for (; x >= 0x80; x = Math.floor(x / 128)) out.push((x & 0x7f) | 0x80);
      out.push(x);
      return out;
    };
    const meta = Buffer.concat([Buffer.from([0x29, 0xfc, ...varint(n)]), Buffer.alloc(n), Buffer.from([0])]);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(meta.length);
    return Buffer.concat([Buffer.from('PAR1'), meta, len, Buffer.from('PAR1')]);
  };

  it('refuse a footer of more Thrift values than the bound before decoding it, however few bytes encode them', async () => {
    // Decoded, each one-byte empty struct is a JavaScript object of about 200 bytes: a 60 MB
    // footer of them took node past its heap (5 GB, 35 s, then an abort).
    const dir = await tempDir('snap-records-');
    const abs = join(dir, 't.parquet');
    await fsp.writeFile(abs, emptyStructFooter(MAX_METADATA_VALUES));
    let rows = 0;
    const e = await readParquet(abs, 't.parquet', {}, () => rows++).catch((x) => x);
    expect(e).toMatchObject({ code: 'RECORDS_LIMIT', details: { path: 't.parquet' } });
    expect(e.message).toMatch(/^t\.parquet: its metadata holds more than 8388608 values/);
    expect(rows).toBe(0);
    expect(MAX_METADATA_VALUES).toBe(8 * 1024 * 1024);
    // A real file's footer is far below the bound, and read as before.
    expect((await index('t.parquet', file(), spec)).built).toMatchObject({ count: 3 });
  });

  it('refuse a page header of more Thrift values than the bound before decoding it', async () => {
    const dir = await tempDir('snap-records-');
    const abs = join(dir, 't.parquet');
    await fsp.writeFile(abs, file());
    const e = await readParquet(abs, 't.parquet', {}, () => {}, { maxPageHeaderValues: 3 }).catch((x) => x);
    expect(e).toMatchObject({ code: 'RECORDS_LIMIT', details: { path: 't.parquet' } });
    expect(e.message).toMatch(/^t\.parquet: row group 0: a page header holds more than 3 values/);
    expect(MAX_PAGE_HEADER_VALUES).toBe(4096);
    expect(await readParquet(abs, 't.parquet', {}, () => {}, { maxPageHeaderValues: 64 })).toMatchObject({ records: 3 });
  });

  it('refuse a row group whose column chunks claim more stored bytes than the bound, before reading them', async () => {
    // A real file, then a hole of zeros (a sparse file), then its footer saying that the label column's chunk
    // runs to the end of the hole: a chunk that was read whole into memory (two copies: 4 GB for a 2 GB hole).
    const real = Buffer.from(file());
    const dataEnd = real.length - 8 - real.readUInt32LE(real.length - 8);
    const meta = parquetMetadata(real);
    const column = meta.row_groups[0]?.columns[1]?.meta_data;
    if (!column) throw new Error('no column');
    const start = Number(column.dictionary_page_offset || column.data_page_offset);
    const hole = MAX_ROW_GROUP_STORED_BYTES;
    column.total_compressed_size = BigInt(dataEnd + hole - start);
    const w = new ByteWriter();
    writeMetadata(w, meta as unknown as Parameters<typeof writeMetadata>[1]); // the writer bundles its own hyparquet types
    const footer = Buffer.from(w.getBuffer());
    const tail = Buffer.alloc(8);
    tail.writeUInt32LE(footer.length, 0);
    tail.write('PAR1', 4);
    const dir = await tempDir('snap-records-');
    const abs = join(dir, 't.parquet');
    const fh = await fsp.open(abs, 'w');
    await fh.write(real.subarray(0, dataEnd), 0, dataEnd, 0);
    await fh.write(Buffer.concat([footer, tail]), 0, footer.length + 8, dataEnd + hole);
    await fh.close();
    const e = await readParquet(abs, 't.parquet', { label: 'label' }, () => {}).catch((x) => x);
    expect(e).toMatchObject({ code: 'RECORDS_LIMIT', details: { path: 't.parquet' } });
    expect(e.message).toMatch(/^t\.parquet: row group 0 declares \d+ bytes of column chunks, more than 335544320/);
    expect(MAX_ROW_GROUP_STORED_BYTES).toBe(320 * 1024 * 1024);
  });

  const INT32 = 1; // Parquet physical type
  /** A Parquet file of no rows whose footer's schema is `schema`, as written (no check that it is a tree). */
  function schemaOnly(schema: { name?: string; num_children?: number; type?: number }[]): Uint8Array {
    const w = new ByteWriter();
    w.appendUint32(0x31524150); // PAR1
    // FileMetaData: 1 version, 2 schema (SchemaElement: 1 type, 4 name, 5 num_children), 3 num_rows, 4 row_groups
    serializeTCompactProtocol(w, { field_1: 1, field_2: schema.map((e) => ({ field_1: e.type, field_4: e.name, field_5: e.num_children })), field_3: 0n, field_4: [] });
    const footer = w.offset - 4;
    w.appendUint32(footer);
    w.appendUint32(0x31524150);
    return new Uint8Array(w.getBuffer());
  }

  it('refuse at once a schema whose groups declare more fields than it holds, and a field with no name', async () => {
    // A 40-byte file whose one group declares 2,000,000,000 fields took 10 s of CPU to list its columns.
    const t0 = performance.now();
    const many = await failure('t.parquet', schemaOnly([{ name: 'root', num_children: 1 }, { name: 'g', num_children: 2_000_000_000 }]), { format: 'parquet', identity: 'features' });
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(many).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.parquet' }, message: expect.stringMatching(/schema/) });
    const nameless = await failure('t.parquet', schemaOnly([{ name: 'root', num_children: 2 }, { name: 'id', type: INT32 }, { type: INT32 }]), { format: 'parquet', identity: 'key', key: ['id'] });
    expect(nameless).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.parquet' }, message: expect.stringMatching(/no name/) });
    // the same schemas, well formed, are read
    expect(await index('t.parquet', schemaOnly([{ name: 'root', num_children: 2 }, { name: 'id', type: INT32 }, { name: 'x', type: INT32 }]), { format: 'parquet', identity: 'key', key: ['id'] })).toMatchObject({ lines: [] });
  });

  /**
   * A file of one optional INT32 column `id` (rows 1, 2, 3) in one data page (v1) of `codec`, its
   * stored bytes `body` (by default the page uncompressed: levels, then values) and its header's
   * uncompressed size `size` (by default the real one).
   */
  const onePage = (o: { codec?: string; body?: Uint8Array; size?: number } = {}) => {
    const raw = Buffer.from([2, 0, 0, 0, 6, 1, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]); // definition levels (a run of three 1s), three INT32
    const body = o.body ?? raw;
    const meta = parquetMetadata(parquetWriteBuffer({ columnData: [{ name: 'id', data: [1, 2, 3], type: 'INT32' }], codec: 'UNCOMPRESSED' }));
    const chunk = meta.row_groups[0]?.columns[0];
    if (!chunk?.meta_data) throw new Error('no column chunk');
    const w = new ByteWriter();
    w.appendBytes(Buffer.from('PAR1'));
    const page = { type: 'DATA_PAGE', uncompressed_page_size: o.size ?? raw.length, compressed_page_size: body.length, data_page_header: { num_values: 3, encoding: 'PLAIN', definition_level_encoding: 'RLE', repetition_level_encoding: 'RLE' } };
    writePageHeader(w, page as unknown as Parameters<typeof writePageHeader>[1]);
    w.appendBytes(body);
    Object.assign(chunk.meta_data, { codec: o.codec ?? 'UNCOMPRESSED', data_page_offset: 4n, dictionary_page_offset: undefined, total_compressed_size: BigInt(w.offset - 4) });
    Object.assign(chunk, { offset_index_offset: undefined, offset_index_length: undefined, column_index_offset: undefined, column_index_length: undefined });
    const mw = new ByteWriter();
    writeMetadata(mw, meta as unknown as Parameters<typeof writeMetadata>[1]);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(mw.offset);
    return Buffer.concat([Buffer.from(w.getBuffer()), Buffer.from(mw.getBuffer()), len, Buffer.from('PAR1')]);
  };

  it('refuse a page that declares more uncompressed bytes than a row group may hold before decompressing it (a gzip stream of 1,000 MiB was inflated first)', async () => {
    const dir = await tempDir('snap-records-');
    const abs = join(dir, 't.parquet');
    await fsp.writeFile(abs, onePage());
    expect(await readParquet(abs, 't.parquet', {}, () => {})).toMatchObject({ records: 3 });
    // Not a gzip stream: decompressing it would fail; the declared size is refused first.
    await fsp.writeFile(abs, onePage({ codec: 'GZIP', body: Buffer.alloc(64, 0x55), size: MAX_ROW_GROUP_BYTES + 1 }));
    const e = await readParquet(abs, 't.parquet', {}, () => {}).catch((x) => x);
    expect(e).toMatchObject({ code: 'RECORDS_LIMIT', details: { path: 't.parquet' } });
    expect(e.message).toBe(`t.parquet: row group 0 declares more than ${MAX_ROW_GROUP_BYTES} bytes of uncompressed pages`);
  });

  /** A Zstandard frame (RFC 8878 §3.1.1) of a 128 KiB window, no content size, holding `blocks`. */
  const zstdFrame = (...blocks: Buffer[]) => Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38]), ...blocks]);
  /** A Zstandard block: raw (its bytes) or RLE (one byte, `size` times); the last one says so. */
  const zstdBlock = (b: { raw?: Uint8Array; rle?: [byte: number, size: number]; last?: boolean }) => {
    const h = (b.last ? 1 : 0) | ((b.raw ? 0 : 1) << 1) | ((b.raw ? b.raw.length : (b.rle as [number, number])[1]) << 3);
    return Buffer.concat([Buffer.from([h & 0xff, (h >> 8) & 0xff, h >> 16]), b.raw ? Buffer.from(b.raw) : Buffer.from([(b.rle as [number, number])[0]])]);
  };

  it('decompress a Zstandard page into no more than its declared size: a frame of more is refused at the first block past it, not decoded whole', async () => {
    const dir = await tempDir('snap-records-');
    const abs = join(dir, 't.parquet');
    const raw = Buffer.from([2, 0, 0, 0, 6, 1, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]);
    await fsp.writeFile(abs, onePage({ codec: 'ZSTD', body: zstdFrame(zstdBlock({ raw, last: true })) }));
    const ids: string[] = [];
    expect(await readParquet(abs, 't.parquet', {}, (f) => ids.push(f.canonical))).toMatchObject({ records: 3 });
    expect(ids).toEqual(['{"id":1}', '{"id":2}', '{"id":3}']);
    // The same 18 bytes, then 256 run-length blocks of 128 KiB: 32 MiB from 1 KB.
    const rle = Array.from({ length: 256 }, (_, i) => zstdBlock({ rle: [0, 128 << 10], last: i === 255 }));
    await fsp.writeFile(abs, onePage({ codec: 'ZSTD', body: zstdFrame(zstdBlock({ raw }), ...rle) }));
    const e = await readParquet(abs, 't.parquet', {}, () => {}).catch((x) => x);
    expect(e).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.parquet' } });
    expect(e.message).toMatch(/a Zstandard frame holds more than the 18 bytes its page header declares/);
    expect(() => zstdBounded(zstdFrame(zstdBlock({ raw }), ...rle), 18)).toThrow(/more than the 18 bytes/);
    expect(zstdBounded(zstdFrame(zstdBlock({ raw, last: true })), 18)).toEqual(new Uint8Array(raw));
  });

  it('decompress a Snappy page into exactly its declared size: a stream that holds more bytes than the page header declares is refused, not cut', async () => {
    const dir = await tempDir('snap-records-');
    const abs = join(dir, 't.parquet');
    const raw = Buffer.from([2, 0, 0, 0, 6, 1, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]);
    // A Snappy stream: its length (a varint), then one literal of n bytes (tag (n - 1) << 2).
    const snappy = (bytes: Buffer) => Buffer.concat([Buffer.from([bytes.length, (bytes.length - 1) << 2]), bytes]);
    await fsp.writeFile(abs, onePage({ codec: 'SNAPPY', body: snappy(raw) }));
    expect(await readParquet(abs, 't.parquet', {}, () => {})).toMatchObject({ records: 3 });
    await fsp.writeFile(abs, onePage({ codec: 'SNAPPY', body: snappy(Buffer.concat([raw, Buffer.alloc(12, 7)])), size: raw.length }));
    const e = await readParquet(abs, 't.parquet', {}, () => {}).catch((x) => x);
    expect(e).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.parquet' } });
  });

  it('refuse a schema of more than MAX_COLUMNS leaf columns at once (RECORDS_LIMIT), and read one of MAX_COLUMNS in seconds (a schema tree built per column chunk made 20,000 columns run past five minutes)', async () => {
    const dir = await tempDir('snap-records-');
    const abs = join(dir, 't.parquet');
    const wide = (n: number) => new Uint8Array(parquetWriteBuffer({ columnData: Array.from({ length: n }, (_, c) => ({ name: `c${c}`, data: [c, c + 1], type: 'INT32' as const })), codec: 'UNCOMPRESSED', statistics: false }));
    await fsp.writeFile(abs, wide(MAX_COLUMNS + 1));
    const e = await readParquet(abs, 't.parquet', {}, () => {}).catch((x) => x);
    expect(e).toMatchObject({ code: 'RECORDS_LIMIT', details: { path: 't.parquet' } });
    expect(e.message).toBe(`t.parquet: the schema has more than ${MAX_COLUMNS} columns`);
    await fsp.writeFile(abs, wide(MAX_COLUMNS));
    const started = Date.now();
    expect(await readParquet(abs, 't.parquet', {}, () => {})).toMatchObject({ records: 2 });
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 60_000);

  it('refuse a schema that nests groups deeper than MAX_SCHEMA_DEPTH (RECORDS_LIMIT) before building its tree; 5,000 groups took 400 MB and ended in a stack overflow', async () => {
    /** The one-column file, its INT32 column `id` put inside `depth` nested optional groups named g. */
    const nested = (depth: number) => {
      const real = Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'id', data: [1, 2, 3], type: 'INT32' }], codec: 'UNCOMPRESSED' }));
      const meta = parquetMetadata(real);
      const [root, leaf] = meta.schema;
      meta.schema = [{ ...root, num_children: 1 } as typeof root, ...Array.from({ length: depth }, () => ({ name: 'g', repetition_type: 'OPTIONAL' as const, num_children: 1 })), leaf] as typeof meta.schema;
      const chunk = meta.row_groups[0]?.columns[0]?.meta_data;
      if (!chunk) throw new Error('no column chunk');
      chunk.path_in_schema = [...Array.from({ length: depth }, () => 'g'), 'id'];
      return withFooter(real, meta);
    };
    const dir = await tempDir('snap-records-');
    const abs = join(dir, 't.parquet');
    await fsp.writeFile(abs, nested(5000));
    const e = await readParquet(abs, 't.parquet', {}, () => {}).catch((x) => x);
    expect(e).toMatchObject({ code: 'RECORDS_LIMIT', details: { path: 't.parquet' } });
    expect(e.message).toBe(`t.parquet: the schema nests groups deeper than ${MAX_SCHEMA_DEPTH} levels`);
    expect(MAX_SCHEMA_DEPTH).toBe(192);
    await fsp.writeFile(abs, nested(MAX_SCHEMA_DEPTH));
    expect(await readParquet(abs, 't.parquet', {}, () => {}).catch((x) => x)).toMatchObject({ code: 'RECORDS_LIMIT' });
    // One group less is read (the column's levels, written for no groups, make most rows null near the top).
    await fsp.writeFile(abs, nested(MAX_SCHEMA_DEPTH - 1));
    expect(await readParquet(abs, 't.parquet', {}, () => {})).toMatchObject({ records: 3 });
  });

  it('hold a DECIMAL stored as INT64 to its precision: a value of more digits is refused (2^60 and 2^60 + 1 were both read as 1152921504606847000), and so is a DECIMAL without a precision', async () => {
    /** A file of `id` and an INT64 `amount` annotated DECIMAL with `decimal` (precision, scale). */
    const decimalFile = (amounts: bigint[], decimal: { precision?: number; scale?: number }) => {
      const real = Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'id', data: amounts.map((_, i) => i + 1), type: 'INT32' }, { name: 'amount', data: amounts, type: 'INT64' }], codec: 'UNCOMPRESSED', statistics: false }));
      const meta = parquetMetadata(real);
      Object.assign(meta.schema[2] as object, { converted_type: 'DECIMAL', ...decimal });
      return withFooter(real, meta);
    };
    const dir = await tempDir('snap-records-');
    const abs = join(dir, 't.parquet');
    const read = async (bytes: Buffer) => {
      await fsp.writeFile(abs, bytes);
      const forms: string[] = [];
      return readParquet(abs, 't.parquet', {}, (f) => forms.push(f.canonical)).then(() => forms, (e) => e);
    };
    expect(await read(decimalFile([123456789012n, -999999999999n], { precision: 12, scale: 2 }))).toEqual(['{"amount":1234567890.12,"id":1}', '{"amount":-9999999999.99,"id":2}']);
    const e = await read(decimalFile([1n, 2n ** 60n, 2n ** 60n + 1n], { precision: 10, scale: 0 }));
    expect(e).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.parquet', row: 2 } });
    expect(e.message).toBe('t.parquet: record 2: column "amount" holds a value of more digits than its DECIMAL precision 10 (scale 0), which cannot be read exactly');
    expect(await read(decimalFile([1n], { scale: 0 }))).toMatchObject({ code: 'RECORDS_UNSUPPORTED', message: expect.stringMatching(/DECIMAL of precision undefined and scale 0/) });
    expect(await read(decimalFile([1n], { precision: 5, scale: 400 }))).toMatchObject({ code: 'RECORDS_UNSUPPORTED' });
  });

  it('refuse a DECIMAL whose logical type and converted type disagree: Arrow (pyarrow, pandas) reads the logical type, hyparquet the converted type and its scale', async () => {
    /** `id` and an INT32 `amount` 123, 456 annotated with `annotation`. */
    const annotated = (annotation: Record<string, unknown>) => {
      const real = Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'id', data: [1, 2], type: 'INT32' }, { name: 'amount', data: [123, 456], type: 'INT32' }], codec: 'UNCOMPRESSED', statistics: false }));
      const meta = parquetMetadata(real);
      Object.assign(meta.schema[2] as object, annotation);
      return withFooter(real, meta);
    };
    const spec: RecordSetSpec = { format: 'parquet', identity: 'key', key: ['id'] };
    const both = { converted_type: 'DECIMAL', scale: 2, precision: 5 };
    const forms = async (bytes: Buffer) => (await index('t.parquet', bytes, spec)).lines.map((l) => JSON.parse(l).fingerprint);
    expect(await forms(annotated({ ...both, logical_type: { type: 'DECIMAL', scale: 2, precision: 5 } }))).toEqual(await forms(annotated(both)));
    // pyarrow read 123 and 456 here, snap 1.23 and 4.56, as in the file before the logical type's scale was changed: diff said "2 unchanged".
    const e = await failure('t.parquet', annotated({ ...both, logical_type: { type: 'DECIMAL', scale: 0, precision: 5 } }), spec);
    expect(e).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.parquet' } });
    expect(e.message).toMatch(/^t\.parquet: column "amount" is a DECIMAL of scale 2 and precision 5 by its converted type but a DECIMAL of scale 0 and precision 5 by its logical type/);
    expect((await failure('t.parquet', annotated({ logical_type: { type: 'DECIMAL', scale: 2, precision: 5 } }), spec)).message).toMatch(/column "amount" is a DECIMAL by its logical type but not by its converted type/);
  });

  it('refuse a column chunk whose dictionary page offset lies after its data page offset: Arrow (pyarrow, pandas) starts reading it at the data page, hyparquet at the "dictionary" page', async () => {
    // The spam file, with the label page of the ham file appended after its pages and named as the
    // label chunk's dictionary page. pyarrow and pandas read three records labelled spam; snap read
    // three labelled ham: diff of the ham file's snapshot against it said "3 unchanged" and check passed.
    const file = (labels: string[]) => Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'id', data: [1, 2, 3], type: 'INT32' }, { name: 'label', data: labels, type: 'STRING', encoding: 'PLAIN' }], codec: 'UNCOMPRESSED', statistics: false }));
    const ham = file(['ham', 'ham', 'ham']);
    const spam = file(['spm', 'spm', 'spm']);
    const hamChunk = parquetMetadata(ham).row_groups[0]?.columns[1]?.meta_data;
    const meta = parquetMetadata(spam);
    const chunk = meta.row_groups[0]?.columns[1]?.meta_data;
    if (!hamChunk || !chunk) throw new Error('no label chunk');
    expect(chunk.dictionary_page_offset).toBeUndefined();
    const pages = spam.subarray(0, spam.length - 8 - spam.readUInt32LE(spam.length - 8));
    chunk.dictionary_page_offset = BigInt(pages.length);
    const start = Number(hamChunk.data_page_offset);
    const footerless = Buffer.concat([pages, ham.subarray(start, start + Number(hamChunk.total_compressed_size)), Buffer.from([0, 0, 0, 0]), Buffer.from('PAR1')]); // a footer of 0 bytes, for withFooter to replace
    const e = await failure('t.parquet', withFooter(footerless, meta), { format: 'parquet', identity: 'key', key: ['id'], label: 'label' });
    expect(e).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.parquet' } });
    expect(e.message).toMatch(/^t\.parquet: row group 0: column chunk 2 \("label"\) declares a dictionary page at byte \d+, after its first data page at byte \d+/);
    // A dictionary page before the data pages, as every writer puts it, is read.
    const ids = Array.from({ length: 60 }, (_, i) => i + 1);
    const dict = Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'id', data: ids, type: 'INT32' }, { name: 'label', data: ids.map((i) => (i % 3 ? 'ham' : 'spam')), type: 'STRING' }] }));
    const d = parquetMetadata(dict).row_groups[0]?.columns[1]?.meta_data;
    expect(d?.dictionary_page_offset).toBeLessThan(d?.data_page_offset ?? 0n);
    expect((await index('t.parquet', dict, { format: 'parquet', identity: 'key', key: ['id'], label: 'label' })).built).toMatchObject({ count: 60, labels: { ham: 40, spam: 20 } });
  });

  it('read an empty table as pyarrow writes it: a row group of 0 rows whose column chunks hold a dictionary page and no data page (data page offset 0) is a set of 0 records', async () => {
    // pq.write_table(pa.Table.from_pylist([], schema=pa.schema([('id', pa.int64()), ('label', pa.string())])), 'empty.parquet')
    // with pyarrow 25.0.1 (its defaults: dictionary encoding, Snappy). Each chunk declares dictionary_page_offset 4 (or 19) and
    // data_page_offset 0, as it has no data page: neither Arrow nor hyparquet reads a value of it. snap refused the file as a
    // dictionary page declared after its first data page (RECORDS_MALFORMED), so a shard emptied by pyarrow could not be sealed or diffed.
    const empty = Buffer.from(
      'UEFSMRUEFQAVAkwVABUAEgAAABUEFQAVAkwVABUAEgAAABUEGTw1ABgGc2NoZW1hFQQAFQQlAhgCaWQAFQwlAhgFbGFiZWwlAEwcAAAAFgAZHBksJgAcFQQZJQAGGRgCaWQVAhYAFhwWHiYAJggpHBUEFQAVAgAAACYAHBUMGSUABhkYBWxhYmVsFQIWABYcFh4mACYmKRwVBBUAFQIAAAAWOBYAJggWPAAZHBgMQVJST1c6c2NoZW1hGOwBLy8vLy82Z0FBQUFRQUFBQUFBQUtBQXdBQmdBRkFBZ0FDZ0FBQUFBQkJBQU1BQUFBQ0FBSUFBQUFCQUFJQUFBQUJBQUFBQUlBQUFCRUFBQUFCQUFBQU5ULy8vOEFBQUVGRUFBQUFCd0FBQUFFQUFBQUFBQUFBQVVBQUFCc1lXSmxiQUFBQUFRQUJBQUVBQUFBRUFBVUFBZ0FCZ0FIQUF3QUFBQVFBQkFBQUFBQUFBRUNFQUFBQUJ3QUFBQUVBQUFBQUFBQUFBSUFBQUJwWkFBQUNBQU1BQWdBQndBSUFBQUFBQUFBQVVBQUFBQT0AGCBwYXJxdWV0LWNwcC1hcnJvdyB2ZXJzaW9uIDI1LjAuMRksHAAAHAAAALMBAABQQVIx',
      'base64',
    );
    const chunk = parquetMetadata(empty).row_groups[0]?.columns[0]?.meta_data;
    expect([parquetMetadata(empty).row_groups[0]?.num_rows, chunk?.num_values, chunk?.dictionary_page_offset, chunk?.data_page_offset]).toEqual([0n, 0n, 4n, 0n]);
    const r = await index('t.parquet', empty, { format: 'parquet', identity: 'key', key: ['id'], label: 'label' });
    expect(r.built).toMatchObject({ count: 0, labels: {} });
    expect(r.text).toBe('');
  });

  it('refuse a file whose pandas metadata names a column other than by its Parquet name: pandas.read_parquet reads the column under that name', async () => {
    /** The file id, label, pred with key-value metadata "pandas" as pyarrow writes it (pandas 3), each column named by `names`. */
    const withPandas = (names: Record<string, unknown>, raw?: string) => {
      const real = Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'id', data: [1, 2, 3], type: 'INT32' }, { name: 'label', data: ['ham', 'spam', 'ham'], type: 'STRING' }, { name: 'pred', data: ['spam', 'spam', 'spam'], type: 'STRING' }] }));
      const meta = parquetMetadata(real);
      const columns = ['id', 'label', 'pred'].map((f) => ({ name: f in names ? names[f] : f, field_name: f, pandas_type: f === 'id' ? 'int32' : 'object', numpy_type: f === 'id' ? 'int32' : 'str', metadata: null }));
      const value = raw ?? JSON.stringify({ index_columns: [{ kind: 'range', name: null, start: 0, stop: 3, step: 1 }], column_indexes: [{ name: null, field_name: null, pandas_type: 'unicode', numpy_type: 'str', metadata: { encoding: 'UTF-8' } }], columns, attributes: {}, creator: { library: 'pyarrow', version: '25.0.1' }, pandas_version: '3.0.6' });
      meta.key_value_metadata = [{ key: 'pandas', value }];
      return withFooter(real, meta);
    };
    const spec: RecordSetSpec = { format: 'parquet', identity: 'key', key: ['id'], label: 'label' };
    expect((await index('t.parquet', withPandas({}), spec)).built).toMatchObject({ count: 3, labels: { ham: 2, spam: 1 } });
    // pandas.read_parquet of this file gives label spam, spam, spam (the pred column) and pred ham, spam, ham: snap read the labels ham, spam, ham, and check passed.
    const swapped = await failure('t.parquet', withPandas({ label: 'pred', pred: 'label' }), spec);
    expect(swapped).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.parquet' } });
    expect(swapped.message).toMatch(/^t\.parquet: its pandas metadata names column "label" "pred"/);
    // A number for a name is pandas' own (a column labelled 0 is written "0"); another number is not.
    expect((await failure('t.parquet', withPandas({ pred: 0 }), spec)).message).toMatch(/names column "pred" 0/);
    // Metadata pandas reads but JSON.parse does not (Python's json takes NaN) is refused, not skipped.
    expect((await failure('t.parquet', withPandas({}, '{"columns": [{"name": "pred", "field_name": "label", "x": NaN}]}'), spec)).message).toMatch(/pandas metadata .*is not JSON/);
  });

  it('refuse a row group whose columns hold more records than its row count: pyarrow and pandas read every value of a column chunk, snap read the row count', async () => {
    /** `real` with its row group (and file) declaring `rows` rows. */
    const declaring = (real: Buffer, rows: bigint) => {
      const meta = parquetMetadata(real);
      const rg = meta.row_groups[0];
      if (!rg) throw new Error('no row group');
      rg.num_rows = rows;
      meta.num_rows = rows;
      return withFooter(real, meta);
    };
    // Six records, the last three added with the label spam, declared as three: snap read the first three (diff: "3 unchanged", check passed), pyarrow all six.
    const flat = Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'id', data: [1, 2, 3, 4, 5, 6], type: 'INT32' }, { name: 'label', data: ['ham', 'ham', 'ham', 'spam', 'spam', 'spam'], type: 'STRING' }], codec: 'UNCOMPRESSED', statistics: false }));
    const e = await failure('t.parquet', declaring(flat, 3n), { format: 'parquet', identity: 'key', key: ['id'], label: 'label' });
    expect(e).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.parquet' } });
    expect(e.message).toMatch(/^t\.parquet: row group 0: column chunk 1 \("id"\) holds 6 values where the row group has 3 rows/);
    // A list column: its values are not its records; the records are counted on its repetition levels.
    const tags = [['a'], ['b', 'c'], [], ['spam']];
    const listed = Buffer.from(parquetWriteBuffer({
      columnData: [{ name: 'tags', data: tags }],
      codec: 'UNCOMPRESSED',
      statistics: false,
      schema: [{ name: 'root', num_children: 1 }, { name: 'tags', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 }, { name: 'list', repetition_type: 'REPEATED', num_children: 1 }, { name: 'element', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' }],
    }));
    expect((await index('t.parquet', listed, { format: 'parquet', identity: 'features' })).built.count).toBe(4);
    const l = await failure('t.parquet', declaring(listed, 3n), { format: 'parquet', identity: 'features' });
    expect(l).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.parquet' } });
    expect(l.message).toMatch(/^t\.parquet: row group 0: column chunk 1 \("tags\.list\.element"\) holds 4 records where the row group has 3 rows/);
    // The records are the 0s among the first n levels: an RLE run of five 0s; bit-packed, 1 bit (0,1,0,0,1,1,0,1) and 2 bits (0,1,2,3,0,0,1,0).
    expect([hybridZeros(Uint8Array.of(10, 0), 0, 1, 5), hybridZeros(Uint8Array.of(10, 0), 0, 1, 3), hybridZeros(Uint8Array.of(10, 1), 0, 1, 5)]).toEqual([5, 3, 0]);
    expect([hybridZeros(Uint8Array.of(3, 0b10110010), 0, 1, 8), hybridZeros(Uint8Array.of(3, 0b10110010), 0, 1, 4)]).toEqual([4, 3]);
    expect([hybridZeros(Uint8Array.of(3, 0xe4, 0x10), 0, 2, 8), hybridZeros(Uint8Array.of(3, 0xe4, 0x10), 0, 2, 5)]).toEqual([4, 2]);
  });

  it('refuse a truncated file, a file that is not Parquet, and a key column it lacks', async () => {
    const f = file();
    expect((await failure('t.parquet', f.subarray(0, f.length - 10), spec)).code).toBe('RECORDS_MALFORMED');
    expect((await failure('t.parquet', f.subarray(0, 40), spec)).code).toBe('RECORDS_MALFORMED');
    expect((await failure('t.parquet', 'id,label\n1,a\n', spec)).code).toBe('RECORDS_MALFORMED');
    expect((await failure('t.parquet', f, { ...spec, key: ['nope'] })).code).toBe('RECORDS_KEY_MISSING');
    expect((await failure('t.parquet', f, { format: 'parquet', identity: 'features', label: 'nope' })).code).toBe('RECORDS_LABEL_MISSING');
  });

  it('refuse a damaged data page with a clear error rather than wrong records', async () => {
    const f = Buffer.from(file());
    f[20] = (f[20] as number) ^ 0xff;
    f[21] = (f[21] as number) ^ 0xff;
    const e = await failure('t.parquet', f, spec).catch((x) => x);
    expect(['RECORDS_MALFORMED', 'RECORDS_KEY_EMPTY', 'RECORDS_LABEL_MISSING']).toContain(e.code);
  });
});
