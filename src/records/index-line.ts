/**
 * Record index lines (docs/FORMAT.md §19.4): one RFC 8785 JSON object per record, each line ending
 * in `\n`, sorted by identity:
 * ```
 * {"features":"<64 hex>","fingerprint":"<64 hex>","key":[…],"label":"…","row":N}
 * ```
 * `key` is there for identities `key` and `path` only (for `features` the key is the feature hash,
 * for `position` the row); `label` only when the set has one. `row` is the record's 1-based number
 * in its file (files sets: in manifest order). Order: by key — the UTF-8 bytes of the key's RFC
 * 8785 text, the feature hash's hex, or the row number — then fingerprint, then row.
 *
 * Pure: lines in, entries out.
 */
import { SnapError } from '../core/errors.js';
import type { RecordIdentity } from '../core/records.js';
import { compareUtf8 } from '../core/paths.js';
import { jcs } from './canonical.js';

/** One index line, parsed. Digests are 64 lowercase hex. */
export interface IndexEntry {
  features: string;
  fingerprint: string;
  /** RFC 8785 text of the key's value array (identities `key` and `path`). */
  key?: string;
  label?: string;
  row: number;
}

/** The line of an entry, without `\n`; equal to its RFC 8785 serialization (a test checks this). */
export function serializeIndexLine(e: IndexEntry): string {
  let s = `{"features":"${e.features}","fingerprint":"${e.fingerprint}"`;
  if (e.key !== undefined) s += `,"key":${e.key}`;
  if (e.label !== undefined) s += `,"label":${JSON.stringify(e.label)}`;
  return s + `,"row":${e.row}}`;
}

const HEX64 = /^[0-9a-f]{64}$/;
const ROW = /^[1-9][0-9]{0,15}$/;
/** How every index line starts: its feature hash comes next (the conflict groups' read looks there, conflicts.ts). */
export const FEATURES_HEAD = '{"features":"';
const MID = '","fingerprint":"';
const KEY = '","key":';
const LABEL = ',"label":';
const ROW_MEMBER = ',"row":';

function bad(why: string): never {
  throw new SnapError('RECORDS_INDEX_MALFORMED', why);
}

/**
 * Parse one index line (without `\n`).
 * - strict (the default): exactly the members its identity and label call for, each in canonical
 *   form — 64 lowercase hex digests, a canonical key array, a canonical label string;
 * - not strict (the diff's hot path, on an index whose bytes are checked against a signed SHA-256
 *   or that snap just wrote): the same structure — members in place, row a whole number, label a
 *   JSON string, key an array — with the values taken as written.
 * @param identity the set's identity (decides whether `key` is present)
 * @param labelled whether the set has a label
 * @throws SnapError `RECORDS_INDEX_MALFORMED`
 */
export function parseIndexLine(line: string, identity: RecordIdentity, labelled: boolean, strict = true): IndexEntry {
  // Structure by position: canonical JSON escapes every '"' inside a string, so the member names
  // below (each starting with an unescaped '"') cannot occur inside a key or label string.
  if (!line.startsWith(FEATURES_HEAD) || !line.startsWith(MID, 77) || line.charCodeAt(158) !== 0x22 || line.charCodeAt(line.length - 1) !== 0x7d) bad('not an index line');
  const features = line.slice(13, 77);
  const fingerprint = line.slice(94, 158);
  if (strict && (!HEX64.test(features) || !HEX64.test(fingerprint))) bad('a digest is not 64 lowercase hex');
  const rowAt = line.lastIndexOf(ROW_MEMBER);
  if (rowAt < 159) bad('no row');
  const rowText = line.slice(rowAt + ROW_MEMBER.length, -1);
  if (!ROW.test(rowText)) bad('row must be a whole number from 1');
  const row = Number(rowText);
  if (!Number.isSafeInteger(row)) bad('row too large');
  const e: IndexEntry = { features, fingerprint, row };
  const hasKey = identity === 'key' || identity === 'path';
  let labelAt = -1;
  if (labelled) {
    labelAt = line.lastIndexOf(LABEL, rowAt);
    if (labelAt < 159) bad('no label');
    const text = line.slice(labelAt + LABEL.length, rowAt);
    let label: unknown;
    if (text.length >= 2 && text.charCodeAt(0) === 0x22 && text.indexOf('\\') < 0 && text.indexOf('"', 1) === text.length - 1) label = text.slice(1, -1);
    else {
      try {
        label = JSON.parse(text);
      } catch {
        bad('label is not a JSON string');
      }
      if (typeof label !== 'string' || JSON.stringify(label) !== text) bad('label is not a canonical JSON string');
    }
    if (strict && JSON.stringify(label) !== text) bad('label is not a canonical JSON string');
    e.label = label as string;
  }
  const end = labelled ? labelAt : rowAt;
  if (hasKey) {
    if (!line.startsWith(KEY, 158)) bad('no key');
    const text = line.slice(158 + KEY.length, end);
    if (strict) {
      let key: unknown;
      try {
        key = JSON.parse(text);
      } catch {
        bad('key is not JSON');
      }
      if (!Array.isArray(key) || key.length === 0 || key.some((k) => typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'boolean') || jcs(key) !== text) bad('key is not a canonical JSON array of strings, numbers or booleans');
    } else if (text.length < 3 || text.charCodeAt(0) !== 0x5b || text.charCodeAt(text.length - 1) !== 0x5d) bad('key is not a JSON array');
    e.key = text;
  } else if (end !== 159) bad('unexpected member');
  return e;
}

/**
 * Compare two entries in index order for the given identity: key, then fingerprint, then row.
 * @returns negative, zero or positive
 */
export function compareEntries(a: IndexEntry, b: IndexEntry, identity: RecordIdentity): number {
  const c = compareIdentity(a, b, identity);
  if (c !== 0) return c;
  if (a.fingerprint !== b.fingerprint) return a.fingerprint < b.fingerprint ? -1 : 1;
  return a.row - b.row;
}

/** Compare two entries by identity alone (records with equal identity are paired by a diff). */
export function compareIdentity(a: IndexEntry, b: IndexEntry, identity: RecordIdentity): number {
  switch (identity) {
    case 'features':
      return a.features === b.features ? 0 : a.features < b.features ? -1 : 1;
    case 'position':
      return a.row - b.row;
    default:
      return compareUtf8(a.key as string, b.key as string);
  }
}

/** The identity of an entry as text: its key, feature hash, or row number. */
export function identityText(e: IndexEntry, identity: RecordIdentity): string {
  return identity === 'features' ? e.features : identity === 'position' ? String(e.row) : (e.key as string);
}
