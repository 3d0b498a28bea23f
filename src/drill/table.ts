/**
 * Record files as the drill edits them: CSV, TSV and JSONL, one record per line. Parsing keeps
 * every line's bytes, so an edit changes only the record it means to. Pure.
 */
import { jcs } from '../records/canonical.js';

/** The record formats the drill can edit. */
export type TableFormat = 'csv' | 'tsv' | 'jsonl';

/** A record file split into records, one per line. */
export interface Table {
  format: TableFormat;
  /** A UTF-8 byte-order mark at the start. */
  bom: boolean;
  /** CSV/TSV: the column names. */
  header?: string;
  columns?: string[];
  /** Each record's line, without its line end. */
  lines: string[];
  /** Each record's line end (`\n`, `\r\n`, or `` for a last line without one). */
  ends: string[];
  headerEnd?: string;
  /** Each record as an object (CSV/TSV: column → field text; JSONL: the parsed object). */
  records: Record<string, unknown>[];
}

const BOM = '\uFEFF';

/**
 * Split a record file into records, one per line.
 * @returns the table, or a reason it cannot be edited line by line (quoted CSV fields, a ragged
 *   row, a line that is not a JSON object, invalid UTF-8, no header)
 */
export function parseTable(bytes: Uint8Array, format: TableFormat): Table | { unsupported: string } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return { unsupported: 'not valid UTF-8' };
  }
  const bom = text.startsWith(BOM);
  if (bom) text = text.slice(1);
  if (format === 'csv' && text.includes('"')) return { unsupported: 'it has quoted CSV fields (a record may span lines)' };
  const raw = text.split('\n');
  const pieces: { line: string; end: string }[] = [];
  for (let i = 0; i < raw.length; i++) {
    const last = i === raw.length - 1;
    if (last && raw[i] === '') break;
    const l = raw[i] as string;
    const cr = l.endsWith('\r');
    pieces.push({ line: cr ? l.slice(0, -1) : l, end: last ? (cr ? '\r' : '') : cr ? '\r\n' : '\n' });
  }
  if (format === 'jsonl') {
    const records: Record<string, unknown>[] = [];
    for (const p of pieces) {
      let v: unknown;
      try {
        v = JSON.parse(p.line);
      } catch {
        return { unsupported: 'a line is not JSON' };
      }
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return { unsupported: 'a line is not a JSON object' };
      records.push(v as Record<string, unknown>);
    }
    return { format, bom, lines: pieces.map((p) => p.line), ends: pieces.map((p) => p.end), records };
  }
  const head = pieces.shift();
  if (!head) return { unsupported: 'it has no header' };
  const sep = format === 'tsv' ? '\t' : ',';
  const columns = head.line.split(sep);
  const records: Record<string, unknown>[] = [];
  for (const p of pieces) {
    const f = p.line.split(sep);
    if (f.length !== columns.length) return { unsupported: 'a row has another number of fields than the header' };
    records.push(Object.fromEntries(columns.map((c, i) => [c, f[i] as string])));
  }
  return { format, bom, header: head.line, columns, headerEnd: head.end, lines: pieces.map((p) => p.line), ends: pieces.map((p) => p.end), records };
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

/** The file's bytes with its records replaced by `lines` (each with its end; new lines end like the first). */
export function serializeTable(t: Table, lines: { line: string; end?: string }[]): Uint8Array {
  const eol = (t.ends[0] ?? t.headerEnd ?? '\n').startsWith('\r') ? '\r\n' : '\n';
  let s = t.bom ? BOM : '';
  if (t.header !== undefined) s += t.header + (t.headerEnd === '' ? eol : t.headerEnd);
  lines.forEach((l, i) => {
    const last = i === lines.length - 1;
    let end = l.end ?? eol;
    if (!last && (end === '' || end === '\r')) end = eol; // a line that was last and is no more
    s += l.line + end;
  });
  return new TextEncoder().encode(s);
}

/** The lines of a table, each with its own end. */
export function tableLines(t: Table): { line: string; end?: string }[] {
  return t.lines.map((line, i) => ({ line, end: t.ends[i] }));
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
