/**
 * `s3://BUCKET/PREFIX` locations: where a dataset (or a store) lives in S3-compatible object storage.
 *
 * Strict on purpose: the bucket must be a valid S3 bucket name (AWS "general purpose bucket naming
 * rules": 3-63 characters of a-z, 0-9, "." and "-", starting and ending with a letter or digit, no
 * "..", not an IPv4 address, none of the reserved prefixes and suffixes), and the prefix a "/"-separated
 * path with no empty, "." or ".." segment and no control character, at most
 * {@link MAX_S3_PREFIX_BYTES} bytes of UTF-8 (an S3 key is at most 1,024 bytes, and a manifest path
 * is appended to the prefix).
 */
import { SnapError } from '../core/errors.js';
import { utf8Length } from '../core/paths.js';

/** The URL scheme. */
export const S3_SCHEME = 's3://';
/** Longest prefix accepted, in UTF-8 bytes (S3 keys are at most 1,024 bytes; half is left for paths). */
export const MAX_S3_PREFIX_BYTES = 512;
/** Bucket names are 3 to 63 characters (AWS bucket naming rules). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
/** Reserved by AWS: names starting or ending with these are refused by S3. */
export const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
export const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/** A parsed `s3://BUCKET/PREFIX`. */
export interface S3Location {
  /** The bucket name. */
  bucket: string;
  /**
   * The key prefix: `''` (the whole bucket) or "/"-separated segments ending in `/`
   * (`s3://b/data/train` and `s3://b/data/train/` both give `data/train/`). An object's key is
   * `prefix + path`, so `data/train/` never matches keys under `data/training/`.
   */
  prefix: string;
}

/** True when `arg` names an S3 location (starts with `s3://`), well formed or not. */
export function isS3Url(arg: string): boolean {
  return typeof arg === 'string' && arg.startsWith(S3_SCHEME);
}

/**
 * Parse `s3://BUCKET` or `s3://BUCKET/PREFIX[/]`.
 * @returns the bucket and the prefix (`''` or ending in `/`)
 * @throws SnapError `S3_URL_MALFORMED` (exit 2) with `details.url`: not `s3://`, a bad bucket name,
 *   an empty, "." or ".." segment, a control character or lone surrogate, a query or fragment
 *   character (`?`, `#`), or a prefix longer than {@link MAX_S3_PREFIX_BYTES} bytes
 */
export function parseS3Url(url: string): S3Location {
  const fail = (why: string): never => {
    const shown = typeof url === 'string' && url.length > 200 ? `${url.slice(0, 200)}…` : url;
    throw new SnapError('S3_URL_MALFORMED', `invalid S3 location ${JSON.stringify(shown)}: ${why} (expected s3://BUCKET/PREFIX)`, { url: shown });
  };
  if (typeof url !== 'string' || !url.startsWith(S3_SCHEME)) fail('it does not start with s3://');
  if (url.length > S3_SCHEME.length + 64 + MAX_S3_PREFIX_BYTES) fail('too long');
  const rest = url.slice(S3_SCHEME.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  let prefix = slash < 0 ? '' : rest.slice(slash + 1);
  if (bucket === '') fail('no bucket name');
  if (!BUCKET_NAME.test(bucket)) fail(`bucket name ${JSON.stringify(bucket)} is not 3-63 characters of a-z, 0-9, "." and "-" starting and ending with a letter or digit`);
  if (bucket.includes('..') || bucket.includes('.-') || bucket.includes('-.')) fail(`bucket name ${JSON.stringify(bucket)} has ".." or a "." next to a "-"`);
  if (IPV4.test(bucket)) fail(`bucket name ${JSON.stringify(bucket)} looks like an IP address`);
  if (RESERVED_PREFIXES.some((p) => bucket.startsWith(p)) || RESERVED_SUFFIXES.some((s) => bucket.endsWith(s))) fail(`bucket name ${JSON.stringify(bucket)} uses a reserved prefix or suffix`);
  if (prefix.endsWith('/')) prefix = prefix.slice(0, -1);
  if (prefix === '') return { bucket, prefix: '' };
  for (let i = 0; i < prefix.length; i++) {
    const c = prefix.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) fail(`control character U+${c.toString(16).padStart(4, '0')} in the prefix`);
    if (c === 0x3f || c === 0x23) fail('"?" and "#" are not allowed in the prefix');
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = prefix.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
      else fail('lone surrogate in the prefix (not valid UTF-8)');
    }
  }
  if (utf8Length(prefix) > MAX_S3_PREFIX_BYTES) fail(`the prefix is longer than ${MAX_S3_PREFIX_BYTES} bytes`);
  for (const seg of prefix.split('/')) {
    if (seg === '') fail('empty segment in the prefix ("//")');
    if (seg === '.' || seg === '..') fail(`"${seg}" segment in the prefix`);
  }
  return { bucket, prefix: `${prefix}/` };
}

/** `s3://BUCKET/PREFIX` for a location (the inverse of {@link parseS3Url}). */
export function formatS3Url(loc: S3Location): string {
  return `${S3_SCHEME}${loc.bucket}/${loc.prefix}`;
}
