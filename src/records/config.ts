/**
 * The dataset's record configuration (docs/FORMAT.md §19.1): `snap.json` at the dataset root, or
 * `--records` rules on the command line. A rule says which files hold records (a gitignore-syntax
 * pattern), how to read them (format), how a record is identified (key) and where its label is
 * (a field, or a path segment for label-by-folder datasets). Pure: bytes in, rules out.
 */
import ignore, { type Ignore } from 'ignore';
import { SnapError } from '../core/errors.js';
import { MAX_FIELD_NAME_BYTES, MAX_KEY_FIELDS, MAX_LABEL_SEGMENT, TSV_QUOTINGS, type RecordFormat, type RecordIdentity, type TsvQuoting } from '../core/records.js';
import { decodeUtf8 } from '../core/encoding.js';
import { findDuplicateMember, findJsonSyntaxError, MAX_JSON_DEPTH } from '../core/json-strict.js';
import { utf8Length } from '../core/paths.js';
import { parseThresholds, type Thresholds } from './thresholds.js';

/** The configuration file's name, at the dataset root. */
export const CONFIG_FILE = 'snap.json';
/** Largest configuration file, in bytes. */
export const MAX_CONFIG_BYTES = 64 * 1024;
/** Most rules in one configuration. */
export const MAX_RULES = 64;
/** Longest pattern, in UTF-8 bytes. */
export const MAX_PATTERN_BYTES = 1024;

/** Formats a rule may name; `files` makes one record per file, labelled by a path segment. */
const FORMATS: readonly RecordFormat[] = ['csv', 'tsv', 'jsonl', 'parquet', 'files'];
/** File name endings that imply a format when a rule names none. */
const BY_EXTENSION: readonly [string, RecordFormat][] = [
  ['.csv', 'csv'],
  ['.tsv', 'tsv'],
  ['.tab', 'tsv'],
  ['.jsonl', 'jsonl'],
  ['.ndjson', 'jsonl'],
  ['.parquet', 'parquet'],
];

/** One rule: which files, and how their records are read. */
export interface RecordRule {
  pattern: string;
  /** Undefined: from each file's extension. */
  format?: RecordFormat;
  identity: Exclude<RecordIdentity, 'path'> | 'path';
  key?: string[];
  label?: string;
  labelSegment?: number;
  /** Format `tsv` only: how `"` is read (core `TsvQuoting`); undefined for the default. */
  quoting?: TsvQuoting;
}

/** A parsed configuration. */
export interface RecordConfig {
  rules: RecordRule[];
  /** Thresholds for `snap check` (its `check` member). */
  check?: Thresholds;
}

/** A file matched by a rule: how to index it. */
export interface RecordSetSpec {
  format: RecordFormat;
  identity: RecordIdentity;
  key?: string[];
  label?: string;
  labelSegment?: number;
  /** TSV: how `"` is read; undefined for the default. */
  quoting?: TsvQuoting;
}

function fail(where: string, why: string): never {
  throw new SnapError('RECORDS_CONFIG_INVALID', `${where}: ${why}`, { where });
}

function fieldName(v: unknown, where: string): string {
  if (typeof v !== 'string' || v.length === 0 || utf8Length(v) > MAX_FIELD_NAME_BYTES) fail(where, `must be a non-empty field name of at most ${MAX_FIELD_NAME_BYTES} bytes`);
  return v;
}

/**
 * Check one rule object and fill in its identity.
 * @throws SnapError `RECORDS_CONFIG_INVALID`
 */
export function checkRule(v: unknown, where: string): RecordRule {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(where, 'must be an object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['pattern', 'format', 'identity', 'key', 'label', 'labelSegment', 'quoting'].includes(k)) fail(where, `unknown member ${JSON.stringify(k)} (known: pattern, format, identity, key, label, labelSegment, quoting)`);
  const pattern = o.pattern;
  if (typeof pattern !== 'string' || pattern.trim() === '' || utf8Length(pattern) > MAX_PATTERN_BYTES) fail(`${where}.pattern`, `must be a non-empty gitignore-style pattern of at most ${MAX_PATTERN_BYTES} bytes`);
  if (pattern.startsWith('!') || pattern.startsWith('#') || /[\r\n]/.test(pattern)) fail(`${where}.pattern`, 'must be one positive pattern (no "!", "#" or line break)');
  const format = o.format as RecordFormat | undefined;
  if (format !== undefined && !FORMATS.includes(format)) fail(`${where}.format`, `must be one of ${FORMATS.join(', ')}`);
  const rule: RecordRule = { pattern, identity: 'features' };
  if (format !== undefined) rule.format = format;
  if ('quoting' in o) {
    // Only with format "tsv" said outright: on a rule that also matches CSV or JSONL files it would
    // mean nothing for them, and a reader of snap.json could take it to.
    if (format !== 'tsv') fail(where, 'quoting goes with format "tsv" (a CSV file is always read with RFC 4180 quoting)');
    if (!TSV_QUOTINGS.includes(o.quoting as TsvQuoting)) fail(`${where}.quoting`, `must be one of ${TSV_QUOTINGS.map((q) => JSON.stringify(q)).join(', ')} ("none": every quote is data; "csv": quoted as in CSV, with tab for comma)`);
    rule.quoting = o.quoting as TsvQuoting;
  }
  if (format === 'files') {
    for (const k of ['key', 'label', 'identity']) if (k in o) fail(where, `a "files" rule takes no ${k}: its records are files, identified by their path without the label segment`);
    const seg = o.labelSegment;
    if (typeof seg !== 'number' || !Number.isSafeInteger(seg) || seg < 0 || seg > MAX_LABEL_SEGMENT) fail(`${where}.labelSegment`, `must be a whole number from 0 to ${MAX_LABEL_SEGMENT} (0: the first folder of the path)`);
    rule.labelSegment = seg;
    rule.identity = 'path';
    return rule;
  }
  if ('labelSegment' in o) fail(where, 'labelSegment goes with format "files" (a label taken from a folder name)');
  if ('key' in o) {
    const key = o.key;
    if (!Array.isArray(key) || key.length === 0 || key.length > MAX_KEY_FIELDS) fail(`${where}.key`, `must be an array of 1 to ${MAX_KEY_FIELDS} field names`);
    rule.key = key.map((k, i) => fieldName(k, `${where}.key[${i}]`));
    if (new Set(rule.key).size !== rule.key.length) fail(`${where}.key`, 'names a field twice');
  }
  if ('label' in o) {
    rule.label = fieldName(o.label, `${where}.label`);
    if (rule.key?.includes(rule.label)) fail(`${where}.label`, 'is also a key field');
  }
  const identity = o.identity ?? (rule.key ? 'key' : 'features');
  if (identity !== 'key' && identity !== 'features' && identity !== 'position') fail(`${where}.identity`, 'must be "key", "features" or "position"');
  if ((identity === 'key') !== (rule.key !== undefined)) fail(where, identity === 'key' ? 'identity "key" needs a key' : `identity "${String(identity)}" takes no key`);
  rule.identity = identity;
  return rule;
}

/**
 * Parse `snap.json` bytes: `{"records": [rule…], "check": {thresholds}}`, both optional, nothing
 * else; at most {@link MAX_CONFIG_BYTES} bytes and {@link MAX_RULES} rules.
 * @param name the file's name for messages
 * @throws SnapError `RECORDS_CONFIG_INVALID`
 */
export function parseConfig(bytes: Uint8Array, name = CONFIG_FILE): RecordConfig {
  if (bytes.length > MAX_CONFIG_BYTES) fail(name, `is larger than ${MAX_CONFIG_BYTES} bytes`);
  let text: string;
  try {
    text = decodeUtf8(bytes);
  } catch {
    fail(name, 'is not UTF-8 JSON (its bytes are not UTF-8)');
  }
  // Where the text stops being JSON, found by our own scanner: the engine's message gives a
  // position for some errors only, in words that change between versions.
  const syntax = findJsonSyntaxError(text);
  if (syntax) throw new SnapError('RECORDS_CONFIG_INVALID', `${name}: is not valid JSON (line ${syntax.line}, column ${syntax.column}: ${syntax.reason})`, { where: name, line: syntax.line, column: syntax.column });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    fail(name, `is not valid JSON (${(e as Error).message})`); // the scanner and the engine agree (a test holds them to it)
  }
  // A member written twice: a reviewer reads the first, JSON.parse keeps the last (a second
  // "records" or "check" would change the rules or the thresholds out of sight), as in a JSONL record.
  const dup = findDuplicateMember(text);
  if (dup?.depth) fail(name, `nests deeper than ${MAX_JSON_DEPTH} levels`);
  if (dup) throw new SnapError('RECORDS_CONFIG_INVALID', `${name}: has the member ${JSON.stringify(dup.name)} twice in one object (duplicate members are refused: a reader of the file and snap would disagree on its value)`, { where: name, member: dup.name });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(name, 'must be a JSON object');
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'records' && k !== 'check') fail(name, `unknown member ${JSON.stringify(k)} (known: records, check)`);
  const rules: RecordRule[] = [];
  if ('records' in o) {
    if (!Array.isArray(o.records) || o.records.length > MAX_RULES) fail(`${name}: records`, `must be an array of at most ${MAX_RULES} rules`);
    o.records.forEach((r, i) => rules.push(checkRule(r, `${name}: records[${i}]`)));
  }
  return { rules, ...('check' in o ? { check: parseThresholds(o.check, `${name}: check`) } : {}) };
}

/**
 * Parse one rule in the attribute form of `--records` (like a gitattributes line):
 * `PATTERN [format=F] [key=A,B] [label=L] [identity=I] [label-segment=N] [quoting=Q]`, separated by spaces.
 * @throws SnapError `USAGE`
 */
export function parseRuleFlag(text: string): RecordRule {
  const parts = text.trim().split(/\s+/);
  const pattern = parts.shift();
  if (!pattern) throw new SnapError('USAGE', '--records needs a rule: PATTERN [format=csv|tsv|jsonl|parquet|files] [key=A,B] [label=L] [label-segment=N]');
  const o: Record<string, unknown> = { pattern };
  for (const p of parts) {
    const eq = p.indexOf('=');
    const k = eq < 0 ? p : p.slice(0, eq);
    const v = eq < 0 ? '' : p.slice(eq + 1);
    if (v === '') throw new SnapError('USAGE', `--records ${JSON.stringify(text)}: ${JSON.stringify(p)} is not NAME=VALUE`);
    if (k === 'format' || k === 'label' || k === 'identity' || k === 'quoting') o[k] = v;
    else if (k === 'key') o.key = v.split(',');
    else if (k === 'label-segment') o.labelSegment = /^\d{1,4}$/.test(v) ? Number(v) : v;
    else throw new SnapError('USAGE', `--records ${JSON.stringify(text)}: unknown attribute ${JSON.stringify(k)} (known: format, key, label, identity, label-segment, quoting)`);
  }
  try {
    return checkRule(o, `--records ${JSON.stringify(text)}`);
  } catch (e) {
    throw new SnapError('USAGE', (e as Error).message);
  }
}

/** Rules compiled for matching paths; the first rule that matches a path decides. */
export class RuleSet {
  private readonly compiled: { rule: RecordRule; ig: Ignore }[];

  constructor(readonly rules: readonly RecordRule[]) {
    this.compiled = rules.map((rule) => ({ rule, ig: ignore().add(rule.pattern) }));
  }

  /** Whether there are any rules. */
  get empty(): boolean {
    return this.compiled.length === 0;
  }

  /**
   * The rule a dataset path falls under, or undefined.
   */
  match(path: string): RecordRule | undefined {
    for (const c of this.compiled) if (c.ig.ignores(path)) return c.rule;
    return undefined;
  }
}

/**
 * How a tabular file that matched `rule` is indexed: its format from the rule, else from its
 * extension.
 * @returns undefined when the rule names no format and the extension implies none
 */
export function tabularSpec(rule: RecordRule, path: string): RecordSetSpec | undefined {
  let format = rule.format;
  if (format === undefined) {
    const lower = path.toLowerCase();
    format = BY_EXTENSION.find(([ext]) => lower.endsWith(ext))?.[1];
  }
  if (format === undefined || format === 'files') return undefined;
  return { format, identity: rule.identity === 'path' ? 'features' : rule.identity, ...(rule.key ? { key: rule.key } : {}), ...(rule.label !== undefined ? { label: rule.label } : {}), ...(format === 'tsv' && rule.quoting !== undefined ? { quoting: rule.quoting } : {}) };
}
