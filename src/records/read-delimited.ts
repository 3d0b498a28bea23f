/**
 * CSV and TSV records (docs/FORMAT.md §19.2), through csv-parse in its strictest settings: the
 * first record is the header; every row has exactly as many fields as the header; a broken quote
 * is an error; a UTF-8 BOM at the start is skipped; records end at `\n` or `\r\n`, and a lone `\r`
 * outside quotes is an error (the common readers end a line there). TSV has no quoting (IANA
 * text/tab-separated-values), and a TSV field that begins with a quote is an error (the common
 * readers take it for one) — unless the record set says how its quotes are read (`quoting`,
 * core `TsvQuoting`: `none`, every quote is data; `csv`, quoted as CSV is). Bytes are hashed as
 * they are read and checked to be UTF-8 before they reach the parser.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isUtf8 } from 'node:buffer';
import { parse, CsvError, type Info, type Options } from 'csv-parse';
import { SnapError, isSnapError } from '../core/errors.js';
import type { TsvQuoting } from '../core/records.js';
import { CsvShape, type RecordFields } from './canonical.js';
import { hashedChunks, lineOfInvalidUtf8, openDataFile, located, newHash, MAX_COLUMNS, MAX_RECORD_BYTES, type ReadResult, type RecordSink } from './read-common.js';
import { delimitedColumnTypes } from './column-types.js';

/**
 * Chunks of a file cut at line ends, each checked to be UTF-8 (a line end never falls inside a
 * UTF-8 sequence, so a chunk cut there is checkable on its own).
 * @throws SnapError `RECORDS_MALFORMED` (invalid UTF-8, naming the line; a line longer than
 *   {@link MAX_RECORD_BYTES})
 */
export async function* utf8Chunks(chunks: AsyncIterable<Buffer>, rel: string): AsyncGenerator<Buffer> {
  let carry: Buffer = Buffer.alloc(0);
  let line = 1;
  const check = (buf: Buffer) => {
    if (!isUtf8(buf)) {
      const at = lineOfInvalidUtf8(buf, line);
      throw new SnapError('RECORDS_MALFORMED', `${rel}: line ${at}: not valid UTF-8`, { path: rel, line: at });
    }
  };
  for await (const chunk of chunks) {
    const nl = chunk.lastIndexOf(0x0a);
    if (nl < 0) {
      carry = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
      if (carry.length > MAX_RECORD_BYTES + 4) throw new SnapError('RECORDS_LIMIT', `${rel}: line ${line}: a line is longer than ${MAX_RECORD_BYTES} bytes`, { path: rel, line });
      continue;
    }
    const head = carry.length === 0 ? chunk.subarray(0, nl + 1) : Buffer.concat([carry, chunk.subarray(0, nl + 1)]);
    check(head);
    carry = chunk.subarray(nl + 1);
    yield head;
    // Lines are counted only for messages; counting them costs one native scan per chunk.
    let i = -1;
    while ((i = head.indexOf(0x0a, i + 1)) >= 0) line++;
  }
  if (carry.length > 0) {
    check(carry);
    yield carry;
  }
}

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const SPACE = 0x20;
const NUL = 0x00;
const UTF8_BOM = [0xef, 0xbb, 0xbf] as const;
const TAB = 0x09;

/** Whether `"` quotes fields: always in CSV; in TSV only with quoting `csv`. */
const quotesFields = (format: 'csv' | 'tsv', quoting: TsvQuoting | undefined): boolean => format === 'csv' || quoting === 'csv';

/**
 * Chunks passed on as they are once no record in them has more than `maxFields` fields (default
 * {@link MAX_COLUMNS}: a row must have as many fields as the header, which may have no more), counted
 * on the bytes before the parser sees them. csv-parse holds a record's fields in an array until the
 * record ends and bounds only their characters (its `max_record_size` counts no delimiter, no quote
 * and no empty field): a line of 16 MiB of commas became 16 million fields (1.5 GB) before the
 * header's bound or the ragged-row check could refuse it, and a record of quoted empty fields with
 * a quoted line break every 16 MiB had no bound at all (2.1 GB for a file of 90 MB). A delimiter
 * outside quotes starts a field, a line feed outside quotes ends the record; a quote toggles
 * quoting (CSV only; a doubled quote inside a quoted field toggles twice, between which neither a
 * delimiter nor a line feed can come), which follows exactly every CSV the strict parser accepts.
 * About 1 ns a byte, a few percent of the parse.
 *
 * The same pass refuses a lone CR (one not followed by LF) outside quotes. csv-parse, as set here,
 * ends records at LF and CR LF only and reads a lone CR as data; Python's `csv`, pandas and
 * pyarrow end a line at it: the record `ham,2,meeting\rspam\rspam` was one record to snap (its
 * text modified) and three to them (two added, labelled spam). A CR inside quotes is data to all.
 * It refuses a blank line outside quotes too: they skip it, and in a file of one column csv-parse
 * reads it as a record of one empty field (a new label `""` to snap, nothing to pandas). And a line
 * of only spaces (and tabs, where tab is not the delimiter) outside quotes: pandas skips it
 * (tokenizer.c, `WHITESPACE_LINE`, both engines alike) where Python's `csv`, pyarrow and csv-parse
 * read a record of it, so in a file of one column `hello`, `   `, `world` was 3 records to snap and
 * 2 to pandas. A byte-order mark at the start is no byte of the first line here, as it is none to
 * them: BOM, blank line, `label`, `ham` was a header of one empty column and 2 records to snap, and
 * the column `label` and 1 record to pandas. And a NUL byte anywhere, quoted or not: pandas (its C engine, the default) ends
 * the field there and drops the rest of it, where Python's `csv`, pyarrow and csv-parse read it as
 * data, so `1,a\0b` was `a` to pandas and a record changed only after the NUL the same one.
 * @throws SnapError `RECORDS_LIMIT` naming the line where the record starts and its record number
 *   (`row`, the header not counted; the header is "the header"); `RECORDS_MALFORMED` (a lone CR,
 *   a blank line or a line of only spaces outside quotes), located the same way; `RECORDS_MALFORMED`
 *   (a NUL byte) naming the line it is on and its record
 */
export async function* boundedFields(chunks: AsyncIterable<Buffer>, rel: string, format: 'csv' | 'tsv', maxFields = MAX_COLUMNS, quoting?: TsvQuoting): AsyncGenerator<Buffer> {
  const delimiter = format === 'tsv' ? 0x09 : 0x2c;
  const quotes = quotesFields(format, quoting);
  let quoted = false;
  let fields = 1;
  let line = 1;
  let start = 1; // the line where the current record starts
  let record = 0; // the header is record 0
  let cr = false; // the byte before was a CR outside quotes (perhaps at the end of the last chunk)
  let blank = true; // the current record has no byte yet (a CR of its CR LF aside)
  let spaces = true; // the current record has no byte but spaces (and tabs, in CSV) yet (a CR of its CR LF aside)
  // How many bytes of a UTF-8 byte-order mark the file has begun with (-1: past it). csv-parse skips
  // one, and so do pandas and pyarrow: a blank line after it is a blank line (pandas took the line
  // after it for the header, snap a header of one empty column).
  let bom = 0;
  /** An error of the record being read, at the line where it starts. */
  const here = (code: 'RECORDS_MALFORMED' | 'RECORDS_LIMIT', what: string) => located(new SnapError(code, what), rel, record === 0 ? { line: start } : { line: start, row: record });
  const loneCr = () => here('RECORDS_MALFORMED', 'a carriage return (CR) not followed by a line feed, outside quotes: snap reads it as data, but Python\'s csv, pandas and pyarrow end a line there; end lines with LF or CR LF');
  const blankLine = () => here('RECORDS_MALFORMED', 'a blank line: Python\'s csv, pandas and pyarrow skip it, so a record of one empty field to snap is none to them; write an empty field as ""');
  const spaceLine = () => here('RECORDS_MALFORMED', 'a line of only spaces: pandas skips it, while Python\'s csv and pyarrow read a record of it, as snap would; quote a field of spaces ("   ")');
  for await (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] as number;
      if (bom >= 0) {
        if (c === (UTF8_BOM[bom] as number)) {
          bom = bom === UTF8_BOM.length - 1 ? -1 : bom + 1;
          continue;
        }
        bom = -1;
      }
      if (cr) {
        if (c !== LF) throw loneCr();
        cr = false;
      }
      if (c === CR) {
        if (!quoted) cr = true;
        else blank = false;
      } else if (c === LF) {
        if (!quoted) {
          if (blank) throw blankLine();
          if (spaces) throw spaceLine();
          blank = true;
          spaces = true;
          fields = 1;
          start = line + 1;
          record++;
        }
        line++;
      } else if (c === delimiter && !quoted) {
        blank = false;
        spaces = false;
        if (++fields > maxFields) {
          throw here('RECORDS_LIMIT', record === 0 ? `the header has more than ${maxFields} columns` : `a record has more than ${maxFields} fields`);
        }
      } else {
        if (c === NUL) {
          const what = 'a NUL byte: pandas ends the field there and drops the rest of it, while Python\'s csv and pyarrow read it as data, as snap would';
          throw located(new SnapError('RECORDS_MALFORMED', what), rel, record === 0 ? { line } : { line, row: record });
        }
        blank = false;
        if (c !== SPACE && c !== TAB) spaces = false;
        if (c === QUOTE && quotes) quoted = !quoted;
      }
    }
    yield chunk;
  }
  if (cr) throw loneCr();
  if (!blank && spaces && !quoted) throw spaceLine();
}

/** The message of a csv-parse error, without its own line wording. */
function csvProblem(e: CsvError): string {
  switch (e.code) {
    case 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH':
    case 'CSV_RECORD_INCONSISTENT_COLUMNS': {
      const m = /expect (\d+), got (\d+)/.exec(e.message);
      return `${m ? `a row has ${m[2]} fields where the header has ${m[1]}` : 'a row has another number of fields than the header'} (a ragged row)`;
    }
    case 'INVALID_OPENING_QUOTE': {
      // csv-parse counts fields from 0 and quotes the field's text: the field counted from 1 instead, without its text.
      const m = /field (\d+)/.exec(e.message);
      return `a quote inside a field that does not begin with one${m ? ` (field ${Number(m[1]) + 1})` : ''}: quote the whole field and double the quote (x""y as "x""y")`;
    }
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted field is not closed before the end of the file';
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return 'a character follows a closing quote (a broken quote)';
    case 'CSV_MAX_RECORD_SIZE':
      return `a record is longer than ${MAX_RECORD_BYTES} bytes`;
    default:
      return `${e.code}: ${e.message}`;
  }
}

/** csv-parse options: the strictest it has. */
function parseOptions(format: 'csv' | 'tsv', info: boolean, quoting?: TsvQuoting): Options {
  return {
    bom: true,
    delimiter: format === 'tsv' ? '\t' : ',',
    quote: quotesFields(format, quoting) ? '"' : false,
    record_delimiter: ['\r\n', '\n'],
    relax_column_count: false,
    relax_quotes: false,
    skip_empty_lines: false,
    max_record_size: MAX_RECORD_BYTES,
    info,
  };
}

/**
 * The 1-based line where each of some records (1-based, header not counted) starts: the file parsed
 * again with csv-parse's `info`, up to the last of them, for the byte where each record starts
 * (`info.bytes` of the record before: the bytes read through its end, a BOM included), then read
 * once more counting line feeds up to those bytes. A line ends at each LF (a CRLF is one line end).
 * csv-parse's own `info.lines` counts the CR and the LF of a CRLF inside a quoted field as two
 * lines, which put errors after such records lines too far. For error messages only.
 */
export async function linesOfRows(abs: string, format: 'csv' | 'tsv', rows: readonly number[], quoting?: TsvQuoting): Promise<Map<number, number>> {
  const want = new Set(rows);
  const last = Math.max(...rows);
  const starts = new Map<number, number>();
  const parser = parse(parseOptions(format, true, quoting));
  let prevEnd = 0;
  let n = -1; // the header is record 0
  const stream = (await openDataFile(abs)).createReadStream();
  stream.pipe(parser);
  try {
    for await (const d of parser as AsyncIterable<{ info: Info }>) {
      n++;
      if (want.has(n)) starts.set(n, prevEnd);
      prevEnd = d.info.bytes;
      if (n >= last) break;
    }
  } catch (e) {
    if (!(e instanceof CsvError)) throw e; // the record that does not parse: it starts where the last one read ended (below)
  } finally {
    stream.destroy();
    parser.destroy();
  }
  // A wanted record the parse did not reach (it failed there) starts where the last one read ended.
  for (const r of want) if (!starts.has(r) && r === n + 1) starts.set(r, prevEnd);
  const order = [...starts].sort((a, b) => a[1] - b[1]);
  const out = new Map<number, number>();
  let pos = 0;
  let lines = 1;
  let k = 0;
  const reader = (await openDataFile(abs)).createReadStream();
  try {
    for await (const chunk of reader as AsyncIterable<Buffer>) {
      while (k < order.length && (order[k] as [number, number])[1] <= pos + chunk.length) {
        const [row, at] = order[k] as [number, number];
        let count = 0;
        for (let i = chunk.indexOf(0x0a); i !== -1 && i < at - pos; i = chunk.indexOf(0x0a, i + 1)) count++;
        out.set(row, lines + count);
        k++;
      }
      if (k === order.length) break;
      for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) lines++;
      pos += chunk.length;
    }
  } finally {
    reader.destroy();
  }
  for (; k < order.length; k++) out.set((order[k] as [number, number])[0], lines);
  return out;
}

/**
 * Refuse a TSV record with a field that begins with `"`. TSV has no quoting (IANA
 * text/tab-separated-values), so snap reads the quote as data; but Python's `csv` (delimiter tab),
 * pandas and pyarrow read a quote at the start of a field as an opening quote, and take every tab
 * and line end up to the closing one as data: a quote opened in one added record and closed in
 * another hid every record between them, as the text of one record, from the training job, while
 * snap's diff said "2 added". A quote inside a field is data to all of them alike.
 * @throws SnapError `RECORDS_MALFORMED`
 */
function refuseOpeningQuote(record: readonly string[]): void {
  for (let i = 0; i < record.length; i++) {
    if ((record[i] as string).charCodeAt(0) === QUOTE) {
      throw new SnapError('RECORDS_MALFORMED', `field ${i + 1} begins with a double quote: TSV has no quoting and snap reads it as data, but Python's csv, pandas and pyarrow read it as an opening quote that takes in tabs and lines up to the next one; write the file as CSV, or say how its quotes are read: \"quoting\": \"none\" (every quote is data, as Python's csv.QUOTE_NONE reads) or \"csv\" (quoted as in CSV) in its snap.json rule, with \"format\": \"tsv\"`);
    }
  }
}

/**
 * Read the records of a CSV or TSV file into `sink`.
 * @param abs the file on disk
 * @param rel its dataset path (for messages)
 * @param quoting TSV only: how `"` is read (core `TsvQuoting`); undefined for the default, which
 *   refuses a field that begins with `"`
 * @throws SnapError `RECORDS_MALFORMED` | `RECORDS_LIMIT` | `RECORDS_KEY_MISSING` |
 *   `RECORDS_LABEL_MISSING` | `RECORDS_KEY_EMPTY` | `NOT_FOUND` | `IO_ERROR`, each naming the file,
 *   line and record
 */
export async function readDelimited(abs: string, rel: string, format: 'csv' | 'tsv', fields: RecordFields, sink: RecordSink, quoting?: TsvQuoting): Promise<ReadResult> {
  const refuseQuote = format === 'tsv' && quoting === undefined;
  const hash = newHash();
  let bytes = 0;
  // Without csv-parse's per-record `info` (a tenth of the parse time): the line where a record
  // starts is found again, on the error path only, by lineOfRow.
  const parser = parse(parseOptions(format, false, quoting));
  let shape: CsvShape | undefined;
  let row = 0;
  const take = (record: string[]) => {
    try {
      if (shape === undefined) {
        if (refuseQuote) refuseOpeningQuote(record);
        if (record.length > MAX_COLUMNS) throw new SnapError('RECORDS_LIMIT', `the header has more than ${MAX_COLUMNS} columns`);
        shape = new CsvShape(record, fields);
        return;
      }
      row++;
      if (refuseQuote) refuseOpeningQuote(record);
      sink(shape.forms(record), row, 0);
    } catch (e) {
      throw located(e, rel, shape && row > 0 ? { row } : { line: 1 });
    }
  };
  const out = new Writable({
    objectMode: true,
    highWaterMark: 256,
    writev(chunks, cb) {
      try {
        for (const c of chunks) take(c.chunk);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    write(chunk, _enc, cb) {
      try {
        take(chunk);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const c of boundedFields(utf8Chunks(hashedChunks(abs, hash), rel), rel, format, MAX_COLUMNS, quoting)) {
      bytes += c.length;
      yield c;
    }
  }
  try {
    await pipeline(counted(), parser, out);
  } catch (e) {
    if (isSnapError(e) && typeof e.details?.row === 'number' && e.details.line === undefined) {
      const line = (await linesOfRows(abs, format, [e.details.row], quoting).catch(() => undefined))?.get(e.details.row);
      if (line !== undefined) throw located(e.cause ?? e, rel, { line, row: e.details.row });
    }
    if (isSnapError(e)) throw e;
    if (e instanceof CsvError) {
      // csv-parse's own line count takes the CR and LF of a quoted CRLF for two lines: count them again (linesOfRows).
      const failed = shape ? row + 1 : 0;
      const line = (await linesOfRows(abs, format, [failed], quoting).catch(() => undefined))?.get(failed) ?? (e as unknown as { lines?: number }).lines;
      const code = e.code === 'CSV_MAX_RECORD_SIZE' ? 'RECORDS_LIMIT' : 'RECORDS_MALFORMED';
      throw located(new SnapError(code, csvProblem(e)), rel, { ...(line ? { line } : {}), ...(shape ? { row: row + 1 } : {}) });
    }
    throw e;
  }
  if (shape === undefined) throw new SnapError('RECORDS_MALFORMED', `${rel}: the file is empty: a ${format.toUpperCase()} record file starts with a header row`, { path: rel });
  // The header's names in order: signed as the set's column object (§19.11), so that a reorder shows.
  const columnTypes = delimitedColumnTypes(shape.columns);
  return { sha256: hash.digest('hex'), bytes, records: row, ...(columnTypes ? { columnTypes } : {}) };
}
