/**
 * Bounds on Thrift compact-protocol structures (Apache Thrift, "Thrift Compact protocol encoding",
 * doc/specs/thrift-compact-protocol.md), checked before hyparquet decodes them. Parquet's footer
 * and page headers are such structures, and hyparquet turns every value of one into a JavaScript
 * value: an empty struct or a list element is one byte on disk and about 200 bytes decoded, so a
 * 60 MB footer of empty structs took node past its heap (5 GB, 35 s, then an abort). This walks the
 * bytes without decoding anything, counting values, and refuses a structure with more than a
 * bound, a nesting deeper than {@link MAX_THRIFT_DEPTH}, or one that runs past its bytes.
 */
import { SnapError } from '../core/errors.js';

/** Deepest nesting of structs and lists (Parquet's own structures nest at most 5 deep). */
export const MAX_THRIFT_DEPTH = 64;

// Compact-protocol type ids.
const STOP = 0;
const TRUE = 1;
const FALSE = 2;
const BYTE = 3;
const I16 = 4;
const I32 = 5;
const I64 = 6;
const DOUBLE = 7;
const BINARY = 8;
const LIST = 9;
const STRUCT = 12;

/**
 * Walk one compact-protocol struct that starts at `offset`, counting its values (every field, list
 * element and struct, itself included), without decoding it.
 * @param bytes the bytes holding the struct (it may be followed by others)
 * @param maxValues most values allowed
 * @returns the offset just past the struct, and its number of values
 * @throws SnapError `RECORDS_LIMIT` (more than `maxValues` values, or nested deeper than
 *   {@link MAX_THRIFT_DEPTH}) | `RECORDS_MALFORMED` (runs past `bytes`, a list longer than the bytes
 *   left, a type id that Parquet does not use (set, map)); messages name no file: the caller adds it
 */
export function walkThriftStruct(bytes: Uint8Array, offset: number, maxValues: number): { end: number; values: number } {
  let at = offset;
  let values = 0;
  const malformed = (why: string) => new SnapError('RECORDS_MALFORMED', `a Thrift structure ${why} (truncated or corrupt?)`);
  const count = (n: number) => {
    values += n;
    if (values > maxValues) throw new SnapError('RECORDS_LIMIT', `a Thrift structure holds more than ${maxValues} values`);
  };
  const byte = (): number => {
    if (at >= bytes.length) throw malformed('runs past its end');
    return bytes[at++] as number;
  };
  const varint = (): number => {
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      const b = byte();
      if (shift < 53) result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      if (shift >= 63) throw malformed('has a variable-length integer of more than 10 bytes');
    }
  };
  const skip = (n: number) => {
    if (n > bytes.length - at) throw malformed('runs past its end');
    at += n;
  };
  // One value of a type; `inList` for booleans, which a list holds as one byte each.
  const value = (type: number, depth: number, inList: boolean): void => {
    count(1);
    switch (type) {
      case TRUE:
      case FALSE:
        if (inList) skip(1);
        return;
      case BYTE:
        skip(1);
        return;
      case I16:
      case I32:
      case I64:
        varint();
        return;
      case DOUBLE:
        skip(8);
        return;
      case BINARY:
        skip(varint());
        return;
      case LIST: {
        if (depth >= MAX_THRIFT_DEPTH) throw new SnapError('RECORDS_LIMIT', `a Thrift structure nests deeper than ${MAX_THRIFT_DEPTH}`);
        const h = byte();
        const n = h >> 4 === 15 ? varint() : h >> 4;
        // Every element takes at least one byte: a longer list than the bytes left is a lie.
        if (n > bytes.length - at) throw malformed(`declares a list of ${n} elements in ${bytes.length - at} bytes`);
        for (let i = 0; i < n; i++) value(h & 0x0f, depth + 1, true);
        return;
      }
      case STRUCT:
        if (depth >= MAX_THRIFT_DEPTH) throw new SnapError('RECORDS_LIMIT', `a Thrift structure nests deeper than ${MAX_THRIFT_DEPTH}`);
        struct(depth + 1);
        return;
      default:
        throw malformed(`has a value of type ${type}, which Parquet does not use`);
    }
  };
  const struct = (depth: number): void => {
    for (;;) {
      const h = byte();
      if ((h & 0x0f) === STOP) return;
      if (h >> 4 === 0) varint(); // a field id that is not a small step from the last one
      value(h & 0x0f, depth, false);
    }
  };
  count(1);
  struct(0);
  return { end: at, values };
}
