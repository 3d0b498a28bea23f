/**
 * Canonical JSON, RFC 8785 (JCS), through the `canonicalize` package.
 */
import canonicalize from 'canonicalize';
import { SnapError } from './errors.js';
import { utf8 } from './encoding.js';

/**
 * RFC 8785 serialization of a JSON value: object members sorted by UTF-16 code units, no
 * whitespace, ECMAScript number and string serialization.
 * @throws SnapError `INTERNAL` when the value has no JSON form (undefined, a function, NaN, …)
 */
export function canonicalJson(value: unknown): string {
  let out: string | undefined;
  try {
    out = canonicalize(value);
  } catch (e) {
    throw new SnapError('INTERNAL', `value cannot be canonicalized: ${(e as Error).message}`);
  }
  if (out === undefined) throw new SnapError('INTERNAL', 'value has no JSON form');
  return out;
}

/** UTF-8 bytes of {@link canonicalJson}. */
export function canonicalJsonBytes(value: unknown): Uint8Array {
  return utf8(canonicalJson(value));
}
