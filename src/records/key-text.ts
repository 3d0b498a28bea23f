/**
 * How a record is named in text — diff, check and verify on a terminal, the incident report in
 * HTML and Markdown — so that every output names it alike (docs/FORMAT.md §19.8): a key's values
 * joined by `, ` (`["a",2]` → `a, 2`), each bare unless it could be mistaken for another value,
 * then as its JSON text; a feature hash shortened; a row number as `row N`. Text only: each caller
 * escapes for its medium.
 */
import { escapeForTerminal, escapeMessage, NOT_BARE } from '../core/display.js';
import { asciiJsonString, mixesScripts, valuePassesForAnother, wordPassesForAnother } from '../core/look-alike.js';

/** Formats whose key values are always strings (docs/FORMAT.md §19.2): a number-like value is not mistaken there. */
export const STRING_KEY_FORMATS: ReadonlySet<string> = new Set(['csv', 'tsv', 'files']);
/** A string that reads like a JSON number, `true`, `false` or `null`. */
const LIKE_OTHER_VALUE = /^(?:-?\d|true$|false$|null$)/;

/** One value of a key as text: `json` when `text` is JSON (a quoted string, or a value that is not a string). */
export interface KeyValueText {
  text: string;
  json: boolean;
}

/**
 * One value of a key: a string as it is, unless it could be mistaken — it is empty, holds a comma
 * or a double quote, begins or ends with white space, or (in a set whose values need not be
 * strings: JSONL, Parquet) reads like a number, `true`, `false` or `null` — then as its JSON string
 * (`"1"`, `"x, y"`), whose escapes read back to it; a string that mixes letters of scripts that
 * pass for one another ({@link mixesScripts}), or has a word of another script made only of letters
 * that pass for Latin ones ({@link wordPassesForAnother}: Cyrillic `сор` for `cop`), as its JSON
 * string with every character outside ASCII escaped (`"c\u0430t"`, not `cаt` beside `cat`), and so
 * is one not in NFC, with a combining mark on an ASCII letter, or with a character that stands for
 * ASCII ({@link valuePassesForAnother}: `"cafe\u0301"` beside `café`); any other value as JSON.
 */
export function keyValueText(v: unknown, onlyStrings: boolean): KeyValueText {
  if (typeof v !== 'string') return { text: JSON.stringify(v) ?? String(v), json: true };
  if (mixesScripts(v) || wordPassesForAnother(v) || valuePassesForAnother(v)) return { text: asciiJsonString(v), json: true };
  return NOT_BARE.test(v) || (!onlyStrings && LIKE_OTHER_VALUE.test(v)) ? { text: JSON.stringify(v), json: true } : { text: v, json: false };
}

/**
 * A key value (or label) as a screen or a report shows it, every character visible
 * (core/display.ts): its JSON text with its escapes as they are (`escapeMessage`: `"c\u0430t"`
 * stays so), bare text with `escapeForTerminal`.
 */
export function shownKeyValue(v: KeyValueText): string {
  return v.json ? escapeMessage(v.text) : escapeForTerminal(v.text);
}

/**
 * A key's RFC 8785 JSON array text (an index line's `key`, §19.5), as a proof names the record:
 * the same JSON array, but each string value that could pass for another — mixing look-alike
 * scripts, a word of another script that reads as Latin, not in NFC, a combining mark on an ASCII
 * letter, a character that stands for ASCII (the rules of {@link keyValueText}) — written with
 * every character outside ASCII as `\uXXXX`: `["k\u04301"]`, not `["kа1"]` beside `["k1"]`. Still
 * JSON that reads back to the same key; `keyJson` itself when no value needs it. Text only: the
 * caller escapes for its medium (`escapeMessage`, which keeps its backslashes).
 */
export function keyArrayText(keyJson: string): string {
  const values = JSON.parse(keyJson) as unknown[];
  const passes = (v: unknown): v is string => typeof v === 'string' && (mixesScripts(v) || wordPassesForAnother(v) || valuePassesForAnother(v));
  if (!values.some(passes)) return keyJson;
  return `[${values.map((v) => (passes(v) ? asciiJsonString(v) : JSON.stringify(v))).join(',')}]`;
}

/**
 * A label as text (labels are text, §19.3): like a key value of a CSV set, bare unless it could not
 * be told apart bare — empty, holding a comma (lists join labels with `, `) or a double quote, or
 * beginning or ending with white space (`spam` beside `"spam "`) — then as its JSON string; one
 * that mixes look-alike scripts (`spаm` with a Cyrillic а), is not in NFC or has a mark on an ASCII
 * letter (`cafe` + U+0301) with its letters outside ASCII escaped.
 */
export function labelText(label: string): string {
  return keyValueText(label, true).text;
}

/**
 * A record key as one short line (see the module comment): `["1"]` → `"1"` beside `[1]` → `1`,
 * except in a CSV, TSV or `files` set, where every value is a string: `17`.
 * @param format the record set's format (`csv`, `jsonl` …); when not given, values may be of any type
 * @param escape how each value is written for the medium (default: as it is)
 */
export function recordKeyText(key: unknown, format?: string, escape: (v: KeyValueText) => string = (v) => v.text): string {
  const onlyStrings = format !== undefined && STRING_KEY_FORMATS.has(format);
  if (Array.isArray(key)) return key.map((k) => escape(keyValueText(k, onlyStrings))).join(', ');
  if (typeof key === 'string') return /^[0-9a-f]{64}$/.test(key) ? `features ${key.slice(0, 12)}` : escape({ text: key, json: false });
  return `row ${String(key)}`;
}
