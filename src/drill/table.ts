/**
 * Record files as the drill edits them: CSV, TSV and JSONL, one record per line (a CSV record with
 * quoted fields may span lines, RFC 4180). Parsing keeps every record's bytes, so an edit changes
 * only the record it means to. Pure.
 */
import type { TsvQuoting } from '../core/records.js';
import { jcs } from '../records/canonical.js';

/** The record formats the drill can edit. */
export type TableFormat = 'csv' | 'tsv' | 'jsonl';

/**
 * A record file split into records, one per line. Kept lean, since a record file read for
 * planning may hold millions of records (32 MiB of short rows is 3 million): the text once, and
 * where each line starts and stops in it; a record is parsed from its line when asked for
 * ({@link recordOf}). An object and a string per record took 13 bytes of memory per byte of file.
 */
export interface Table {
  format: TableFormat;
  /** A UTF-8 byte-order mark at the start. */
  bom: boolean;
  /** CSV/TSV: the column names. */
  header?: string;
  columns?: string[];
  headerEnd?: string;
  /** The file's text after its byte-order mark: every record's line is a part of it. */
  text: string;
  /** How many records. */
  length: number;
  /** Record `i`'s line is `text.slice(starts[i], stops[i])`, its line end (see {@link ends}) follows it. */
  starts: Uint32Array;
  stops: Uint32Array;
  /** Each record's line end: {@link END_TEXT}`[ends[i]]` (`\n`, `\r\n`; `` or `\r` only on a last line). */
  ends: Uint8Array;
  /** CSV with quoted fields (RFC 4180): a record's "line" may span lines, its fields are read with {@link csvFields}. */
  quoted?: boolean;
}

/** The line ends a record may have, by their code in {@link Table.ends}. */
export const END_TEXT = ['', '\n', '\r\n', '\r'] as const;

const BOM = '\uFEFF';

/** Record `i`'s line, without its line end. */
export function lineOf(t: Table, i: number): string {
  return t.text.slice(t.starts[i], t.stops[i]);
}

/** Record `i`'s line end. */
export function endOf(t: Table, i: number): string {
  return END_TEXT[t.ends[i] as number] as string;
}

/** Record `i` as an object (CSV/TSV: column → field text; JSONL: the parsed object), parsed from its line. */
export function recordOf(t: Table, i: number): Record<string, unknown> {
  const line = lineOf(t, i);
  if (t.format === 'jsonl') return JSON.parse(line) as Record<string, unknown>;
  const f = t.quoted ? (csvFields(line) as string[]) : line.split(t.format === 'tsv' ? '\t' : ',');
  return Object.fromEntries((t.columns as string[]).map((c, k) => [c, f[k] as string]));
}

/** `"`, the RFC 4180 quote. */
const QUOTE = 0x22;
/** `,`, the CSV field separator. */
const COMMA = 0x2c;

/**
 * The fields of one CSV record's text (RFC 4180 §2): a field in double quotes may hold commas, line
 * breaks and `""` (one `"`); other fields are taken as they are. Undefined when a quote is out of
 * place (inside an unquoted field, or text after a closing quote): the seal's reader refuses those.
 */
export function csvFields(s: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (s.charCodeAt(i) === QUOTE) {
      let v = '';
      let j = i + 1;
      for (;;) {
        const q = s.indexOf('"', j);
        if (q === -1) return undefined;
        v += s.slice(j, q);
        if (s.charCodeAt(q + 1) === QUOTE) {
          v += '"';
          j = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      out.push(v);
      if (i === s.length) return out;
      if (s.charCodeAt(i) !== COMMA) return undefined;
      i++;
    } else {
      const c = s.indexOf(',', i);
      const f = c === -1 ? s.slice(i) : s.slice(i, c);
      if (f.includes('"')) return undefined;
      out.push(f);
      if (c === -1) return out;
      i = c + 1;
    }
  }
}

/** Where each record of a CSV text with quoted fields ends: the LFs outside quotes; undefined when a quote is never closed. */
function csvRecordEnds(text: string): number[] | undefined {
  const ends: number[] = [];
  let i = 0;
  // The next LF, looked for again only once passed: a long line of many quoted fields is scanned once, not once a field.
  let nl = text.indexOf('\n');
  for (;;) {
    const q = text.indexOf('"', i);
    if (nl !== -1 && nl < i) nl = text.indexOf('\n', i);
    if (nl !== -1 && (q === -1 || nl < q)) {
      ends.push(nl);
      i = nl + 1;
      continue;
    }
    if (q === -1) return ends;
    // Inside quotes up to the next quote ("" closes and opens again: the parity holds).
    const close = text.indexOf('"', q + 1);
    if (close === -1) return undefined;
    i = close + 1;
  }
}

/** A field as CSV writes it: in double quotes (each `"` doubled) when it holds a comma, a quote or a line break. */
function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/**
 * Split a record file into records, one per line.
 * @returns the table, or a reason it cannot be edited record by record (a quote out of place or
 *   never closed, quoted TSV fields, a ragged row, a line that is not a JSON object, invalid UTF-8, no header)
 */
export function parseTable(bytes: Uint8Array, format: TableFormat, quoting?: TsvQuoting): Table | { unsupported: string } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return { unsupported: 'not valid UTF-8' };
  }
  const bom = text.startsWith(BOM);
  if (bom) text = text.slice(1);
  if (quoting === 'csv' && text.includes('"')) return { unsupported: 'it has quoted TSV fields (a record may span lines)' };
  // CSV with quoted fields: a record ends at an LF outside quotes (it may span lines).
  const quoted = format === 'csv' && text.includes('"');
  const recordEnds = quoted ? csvRecordEnds(text) : undefined;
  if (quoted && recordEnds === undefined) return { unsupported: 'a quoted CSV field is never closed' };
  // Lines: split at LF (outside quotes); a CR before it belongs to the line end; an empty last piece is no line.
  let count = 0;
  if (recordEnds) count = recordEnds.length;
  else for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count++;
  const lastEnd = recordEnds ? (recordEnds.at(-1) ?? -1) : text.lastIndexOf('\n');
  if (lastEnd !== text.length - 1 && text !== '') count++;
  const starts = new Uint32Array(count);
  const stops = new Uint32Array(count);
  const ends = new Uint8Array(count);
  for (let i = 0, from = 0; i < count; i++) {
    const nl = recordEnds ? (recordEnds[i] ?? -1) : text.indexOf('\n', from);
    const stop = nl === -1 ? text.length : nl;
    const cr = stop > from && text.charCodeAt(stop - 1) === 0x0d;
    starts[i] = from;
    stops[i] = cr ? stop - 1 : stop;
    ends[i] = nl === -1 ? (cr ? 3 : 0) : cr ? 2 : 1;
    from = stop + 1;
  }
  if (format === 'jsonl') {
    const t: Table = { format, bom, text, length: count, starts, stops, ends };
    for (let i = 0; i < count; i++) {
      let v: unknown;
      try {
        v = JSON.parse(lineOf(t, i));
      } catch {
        return { unsupported: 'a line is not JSON' };
      }
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return { unsupported: 'a line is not a JSON object' };
    }
    return t;
  }
  if (count === 0) return { unsupported: 'it has no header' };
  const header = text.slice(starts[0], stops[0]);
  const sep = format === 'tsv' ? '\t' : ',';
  const columns = quoted ? csvFields(header) : header.split(sep);
  if (!columns) return { unsupported: 'a quote is out of place in the header' };
  const t: Table = { format, bom, header, columns, headerEnd: END_TEXT[ends[0] as number], text, length: count - 1, starts: starts.subarray(1), stops: stops.subarray(1), ends: ends.subarray(1), ...(quoted ? { quoted } : {}) };
  if (quoted) {
    for (let i = 0; i < t.length; i++) {
      const f = csvFields(lineOf(t, i));
      if (!f) return { unsupported: 'a quote is out of place in a row' };
      if (f.length !== columns.length) return { unsupported: 'a row has another number of fields than the header' };
    }
    return t;
  }
  for (let i = 0; i < t.length; i++) {
    // The number of fields, counted without splitting the line into strings.
    let fields = 1;
    for (let at = text.indexOf(sep, t.starts[i]); at !== -1 && at < (t.stops[i] as number); at = text.indexOf(sep, at + 1)) fields++;
    if (fields !== columns.length) return { unsupported: 'a row has another number of fields than the header' };
  }
  return t;
}

/** Whether `value` can be written into a field of this table (CSV: any, quoted where it must be). */
export function writableField(t: Table, value: string): boolean {
  if (t.format === 'jsonl' || t.format === 'csv') return true;
  return !/[\r\n"]/.test(value) && !value.includes('\t');
}

/** A record as one line of this table (CSV: a field quoted when it holds a comma, a quote or a line break). */
export function renderRecord(t: Table, r: Record<string, unknown>): string {
  if (t.format === 'jsonl') return JSON.stringify(r);
  if (t.format === 'csv') return (t.columns as string[]).map((c) => csvField(String(r[c]))).join(',');
  return (t.columns as string[]).map((c) => String(r[c])).join('\t');
}

/** One change to a table's records: a record's line replaced, a record removed, or a record appended. */
export type TableEdit = { replace: number; line: string } | { remove: number } | { append: string };

/**
 * The file's bytes with one edit made and every other byte as it was: each record keeps its line
 * end, a new line ends like the first record (or the header); a line that was last without a line
 * end gets one when a record is appended after it, and when the last record is removed the one
 * before it takes its line end.
 */
export function serializeEdit(t: Table, e: TableEdit): Uint8Array {
  const first = t.length > 0 ? endOf(t, 0) : (t.headerEnd ?? '\n');
  const eol = first.startsWith('\r') ? '\r\n' : '\n';
  let head = t.bom ? BOM : '';
  if (t.header !== undefined) head += t.header + (t.headerEnd === '' ? eol : t.headerEnd);
  const n = t.length;
  const from = n > 0 ? (t.starts[0] as number) : 0;
  const to = n > 0 ? (t.stops[n - 1] as number) + endOf(t, n - 1).length : 0;
  const body = (a: number, b: number) => t.text.slice(a, b);
  let s: string;
  if ('replace' in e) {
    const i = e.replace;
    s = body(from, t.starts[i] as number) + e.line + body(t.stops[i] as number, to);
  } else if ('remove' in e) {
    const i = e.remove;
    if (n === 1) s = '';
    else if (i === n - 1) s = body(from, t.stops[n - 2] as number) + endOf(t, n - 1);
    else s = body(from, t.starts[i] as number) + body(t.starts[i + 1] as number, to);
  } else {
    const last = n > 0 ? endOf(t, n - 1) : '\n';
    s = n === 0 ? `${e.append}${eol}` : `${body(from, t.stops[n - 1] as number)}${last === '' || last === '\r' ? eol : last}${e.append}${eol}`;
  }
  return new TextEncoder().encode(head + s);
}

/** A record's key as reports show it: the RFC 8785 array of its key fields' values (docs/FORMAT.md §19.4). */
export function keyText(r: Record<string, unknown>, key: readonly string[]): string {
  return jcs(key.map((k) => r[k]));
}

/** A record's label as text (§19.3), or undefined when it has none usable by the drill (not a string). */
export function labelOf(r: Record<string, unknown>, label: string): string | undefined {
  const v = r[label];
  return typeof v === 'string' ? v : undefined;
}
