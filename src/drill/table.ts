/**
 * Record files as the drill edits them: CSV, TSV and JSONL, one record per line. Parsing keeps
 * every line's bytes, so an edit changes only the record it means to. Pure.
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
  const f = line.split(t.format === 'tsv' ? '\t' : ',');
  return Object.fromEntries((t.columns as string[]).map((c, k) => [c, f[k] as string]));
}

/**
 * Split a record file into records, one per line.
 * @returns the table, or a reason it cannot be edited line by line (quoted CSV fields, a ragged
 *   row, a line that is not a JSON object, invalid UTF-8, no header)
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
  if (format === 'csv' && text.includes('"')) return { unsupported: 'it has quoted CSV fields (a record may span lines)' };
  if (quoting === 'csv' && text.includes('"')) return { unsupported: 'it has quoted TSV fields (a record may span lines)' };
  // Lines: split at LF; a CR before it belongs to the line end; an empty last piece is no line.
  let count = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count++;
  if (!text.endsWith('\n') && text !== '') count++;
  const starts = new Uint32Array(count);
  const stops = new Uint32Array(count);
  const ends = new Uint8Array(count);
  for (let i = 0, from = 0; i < count; i++) {
    const nl = text.indexOf('\n', from);
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
  const columns = header.split(sep);
  const t: Table = { format, bom, header, columns, headerEnd: END_TEXT[ends[0] as number], text, length: count - 1, starts: starts.subarray(1), stops: stops.subarray(1), ends: ends.subarray(1) };
  for (let i = 0; i < t.length; i++) {
    // The number of fields, counted without splitting the line into strings.
    let fields = 1;
    for (let at = text.indexOf(sep, t.starts[i]); at !== -1 && at < (t.stops[i] as number); at = text.indexOf(sep, at + 1)) fields++;
    if (fields !== columns.length) return { unsupported: 'a row has another number of fields than the header' };
  }
  return t;
}

/** Whether `value` can be written into a field of this table as is. */
export function writableField(t: Table, value: string): boolean {
  if (t.format === 'jsonl') return true;
  return !/[\r\n"]/.test(value) && !value.includes(t.format === 'tsv' ? '\t' : ',');
}

/** A record as one line of this table. */
export function renderRecord(t: Table, r: Record<string, unknown>): string {
  if (t.format === 'jsonl') return JSON.stringify(r);
  return (t.columns as string[]).map((c) => String(r[c])).join(t.format === 'tsv' ? '\t' : ',');
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
