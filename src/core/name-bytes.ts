/**
 * File names (and link targets) as the file system gives them: bytes, which need not be UTF-8.
 * Node decodes names as UTF-8 and replaces what is not with U+FFFD, which loses the bytes and
 * makes different names look alike. Here a name is decoded losslessly instead, as Python does
 * (PEP 383, "surrogateescape"): every well-formed UTF-8 sequence becomes its character, and every
 * other byte (always 0x80–0xFF) becomes the lone surrogate U+DC00 + byte (U+DC80–U+DCFF). Valid
 * UTF-8 never decodes to a lone surrogate, so the mapping is injective and {@link encodeNameBytes}
 * gives the bytes back.
 *
 * Such a string can never be a dataset path (the path rules refuse lone surrogates): it is only
 * used to report the name, to match it against `--exclude` patterns (each undecodable byte is one
 * character there, matched by `?` or `*`), and to reach the file on disk again.
 */

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 with each byte that is not UTF-8 replaced by U+FFFD, as Node reads a name ({@link lossyName}). */
const lossy = new TextDecoder('utf-8', { ignoreBOM: true });

/** The lone surrogate that stands for a byte that is not UTF-8 is U+DC00 + the byte. */
const RAW_BYTE_BASE = 0xdc00;

/** Length of the well-formed UTF-8 sequence at `i` (Unicode Table 3-7), or 0 when there is none. */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i] as number;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && (b[i + k] as number) >= lo && (b[i + k] as number) <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0; // not a surrogate
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/**
 * Decode a name's bytes without loss (PEP 383): UTF-8 where it is well formed, each other byte as
 * U+DC00 + byte.
 * @returns the name; for valid UTF-8, exactly what a strict UTF-8 decoder returns
 */
export function decodeNameBytes(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes);
  } catch {
    // fall through: some byte is not UTF-8
  }
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const n = sequenceLength(bytes, i);
    if (n === 0) {
      out += String.fromCharCode(RAW_BYTE_BASE + (bytes[i] as number));
      i++;
    } else {
      out += strict.decode(bytes.subarray(i, i + n));
      i += n;
    }
  }
  return out;
}

/** A lone surrogate U+DC80–U+DCFF: one not preceded by a high surrogate. */
const RAW_BYTE_RE = /(?:^|[^\ud800-\udbff])[\udc80-\udcff]/;

/** True when a string holds a byte that is not UTF-8 (a lone surrogate U+DC80–U+DCFF from {@link decodeNameBytes}). */
export function hasRawBytes(name: string): boolean {
  return RAW_BYTE_RE.test(name);
}

/**
 * The bytes of a name decoded by {@link decodeNameBytes}: UTF-8, except that a lone surrogate
 * U+DC80–U+DCFF becomes the byte it stands for (any other lone surrogate is written as U+FFFD, as
 * `TextEncoder` does).
 */
export function encodeNameBytes(name: string): Uint8Array {
  if (!hasRawBytes(name)) return new TextEncoder().encode(name);
  const parts: number[] = [];
  const enc = new TextEncoder();
  let from = 0;
  const flush = (to: number) => {
    if (to > from) for (const b of enc.encode(name.slice(from, to))) parts.push(b);
  };
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = name.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++; // a pair
      continue;
    }
    if (c >= 0xdc80 && c <= 0xdcff) {
      flush(i);
      parts.push(c - RAW_BYTE_BASE);
      from = i + 1;
    }
  }
  flush(name.length);
  return Uint8Array.from(parts);
}

/** The hex of a name's exact bytes when it holds bytes that are not UTF-8 (see {@link hasRawBytes}); else undefined. */
export function rawBytesHex(name: string): string | undefined {
  if (!hasRawBytes(name)) return undefined;
  let hex = '';
  for (const b of encodeNameBytes(name)) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/**
 * A name decoded by {@link decodeNameBytes} as Node reads a name that is not UTF-8: each byte that is
 * not UTF-8 U+FFFD (lossy), for canonical JSON (RFC 8785, an audit line's), which holds no lone
 * surrogate. A name that is UTF-8 is returned as it is.
 */
export function lossyName(name: string): string {
  return hasRawBytes(name) ? lossy.decode(encodeNameBytes(name)) : name;
}
