/**
 * A dataset in S3, read the way seal and verify need it: the objects under a prefix listed page by
 * page in key order, and each object's bytes hashed (SHA-256) as they stream in, with several
 * ranged GETs in flight and bounded memory.
 *
 * Never trusted for the digest: the ETag (a multipart upload's ETag is the MD5 of the parts' MD5s,
 * plus "-N") and S3's own checksums (a multipart upload's SHA-256 checksum is a checksum of the
 * parts' checksums, and servers such as Ceph 16 accept a wrong one). snap computes SHA-256 over the
 * bytes it receives. The ETag is used only to notice an object that changes while it is read:
 * every ranged GET carries `If-Match: <ETag from the listing>`, and the ETag, VersionId and total
 * size of every response must agree with the listing.
 */
import { GetObjectCommand, ListObjectsV2Command, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { createHash, type Hash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { SnapError } from '../core/errors.js';
import { compareUtf8, validatePath } from '../core/paths.js';
import { checkInterrupted } from '../io/interrupt.js';
import type { S3Location } from './location.js';

/** Keys per ListObjectsV2 page (the S3 maximum). */
export const LIST_PAGE_KEYS = 1000;
/** Most objects a dataset in S3 may hold: a bound on a listing (a hostile or runaway bucket). */
export const MAX_DATASET_OBJECTS = 10_000_000;
/** Bytes per ranged GET. */
export const DEFAULT_PART_BYTES = 8 << 20;
/** Ranged GETs in flight; at most this many parts are held in memory (64 MiB with 8 MiB parts). */
export const DEFAULT_READ_CONCURRENCY = 8;

/** Abort listeners one GET in flight may hold on the reader's signal (the SDK's retry race, its HTTP handler, and room for one more layer). */
const ABORT_LISTENERS_PER_REQUEST = 3;
/** Listeners beyond those of the requests in flight: requests that settled but whose sockets have not closed yet. */
const ABORT_LISTENERS_SLACK = 16;

/** One object of a listing whose key is a valid manifest path under the prefix. */
export interface ListedObject {
  /** The full key. */
  key: string;
  /** The manifest path: the key without the prefix. */
  path: string;
  /** Bytes, from the listing. */
  size: number;
  /** The ETag from the listing (quoted, as S3 returns it). */
  etag: string;
}

/** A key that cannot be a manifest path (".." or empty segments, control characters, bad UTF-8...). */
export interface RefusedKey {
  /** The key as decoded (a key that is not UTF-8 is shown with U+FFFD), and its bytes in hex when not UTF-8. */
  key: string;
  keyHex?: string;
  /** The manifest path it would have had. */
  path: string;
  size: number;
  /** The `PATH_*` code that refused it. */
  code: string;
  reason: string;
}

/** Options of {@link listObjects}. */
export interface ListOptions {
  /** Called for each key that is not a valid manifest path (it is then left out of the pages). */
  onRefused: (k: RefusedKey) => void;
  /** Most objects (default {@link MAX_DATASET_OBJECTS}). */
  maxObjects?: number;
  /** Keys asked per page (default and most {@link LIST_PAGE_KEYS}; tests use fewer to page often). */
  pageKeys?: number;
  abortSignal?: AbortSignal;
}

/**
 * The objects under `loc.prefix`, page by page (at most {@link LIST_PAGE_KEYS} a page), in key
 * order, which is manifest order: S3 lists keys in UTF-8 binary order, and the order is checked,
 * not assumed. Keys are asked URL-encoded (`EncodingType=url`) so that control characters and
 * bytes that are not UTF-8 reach the check instead of an XML parser. A zero-byte key ending in "/"
 * is a folder marker (the S3 console's "Create folder") and is skipped.
 * An empty listing yields nothing (the caller judges it).
 * @throws SnapError `IO_ERROR` (the listing failed, came out of order or outside the prefix, or
 *   holds more than `maxObjects` objects: then with `details.limit`) | `NOT_FOUND` (no such bucket)
 */
export async function* listObjects(client: S3Client, loc: S3Location, opts: ListOptions): AsyncGenerator<ListedObject[]> {
  const max = opts.maxObjects ?? MAX_DATASET_OBJECTS;
  let token: string | undefined;
  let prevKey: string | undefined;
  let seen = 0;
  for (;;) {
    checkInterrupted();
    let page;
    try {
      page = await client.send(
        new ListObjectsV2Command({ Bucket: loc.bucket, Prefix: loc.prefix === '' ? undefined : loc.prefix, MaxKeys: Math.min(LIST_PAGE_KEYS, Math.max(1, opts.pageKeys ?? LIST_PAGE_KEYS)), EncodingType: 'url', ContinuationToken: token }),
        { abortSignal: opts.abortSignal },
      );
    } catch (e) {
      throw s3Error(e, `cannot list s3://${loc.bucket}/${loc.prefix}`);
    }
    const out: ListedObject[] = [];
    for (const o of page.Contents ?? []) {
      const decoded = decodeKey(o.Key ?? '');
      const size = Number(o.Size ?? 0);
      if (++seen > max) throw new SnapError('IO_ERROR', `s3://${loc.bucket}/${loc.prefix} holds more than ${max} objects, the most snap reads as one dataset`, { limit: max });
      if (prevKey !== undefined && compareUtf8(prevKey, decoded.key) >= 0) {
        throw new SnapError('IO_ERROR', `the listing of s3://${loc.bucket}/${loc.prefix} is not in key order (${JSON.stringify(decoded.key)} after ${JSON.stringify(prevKey)}): the server is not S3-compatible here`, { key: decoded.key });
      }
      prevKey = decoded.key;
      if (!decoded.key.startsWith(loc.prefix)) throw new SnapError('IO_ERROR', `the listing of s3://${loc.bucket}/${loc.prefix} returned ${JSON.stringify(decoded.key)}, outside the prefix`, { key: decoded.key });
      const path = decoded.key.slice(loc.prefix.length);
      if (size === 0 && (path === '' || path.endsWith('/'))) continue; // a folder marker
      if (!Number.isSafeInteger(size) || size < 0) throw new SnapError('IO_ERROR', `the listing gives ${JSON.stringify(decoded.key)} an impossible size ${String(o.Size)}`, { key: decoded.key });
      if (decoded.keyHex !== undefined) {
        opts.onRefused({ key: decoded.key, keyHex: decoded.keyHex, path, size, code: 'PATH_INVALID_UTF8', reason: 'the key is not valid UTF-8' });
        continue;
      }
      try {
        validatePath(path);
      } catch (e) {
        if (!(e instanceof SnapError)) throw e;
        opts.onRefused({ key: decoded.key, path, size, code: e.code, reason: e.message });
        continue;
      }
      out.push({ key: decoded.key, path, size, etag: o.ETag ?? '' });
    }
    if (out.length > 0) yield out;
    if (!page.IsTruncated) return;
    token = page.NextContinuationToken;
    if (!token) throw new SnapError('IO_ERROR', `the listing of s3://${loc.bucket}/${loc.prefix} is truncated but gives no continuation token`);
  }
}

/** Decode a URL-encoded key (EncodingType=url); bytes that are not UTF-8 give U+FFFD and the key's hex. */
export function decodeKey(raw: string): { key: string; keyHex?: string } {
  let bytes: Buffer;
  try {
    // S3 encodes with "+" for spaces in some implementations; a literal "+" is always %2B.
    bytes = Buffer.from(unescapeBytes(raw.replace(/\+/g, '%20')));
  } catch {
    return { key: raw, keyHex: Buffer.from(raw, 'utf8').toString('hex') };
  }
  const key = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return { key };
  } catch {
    return { key, keyHex: bytes.toString('hex') };
  }
}

/** Percent-decode into bytes (not into a string: the bytes may not be UTF-8). @throws Error on a malformed escape */
function unescapeBytes(s: string): Uint8Array {
  const out: number[] = [];
  const utf8 = Buffer.from(s, 'utf8');
  for (let i = 0; i < utf8.length; i++) {
    const c = utf8[i]!;
    if (c !== 0x25) {
      out.push(c);
      continue;
    }
    const hex = utf8.subarray(i + 1, i + 3).toString('latin1');
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new Error('malformed percent escape');
    out.push(parseInt(hex, 16));
    i += 2;
  }
  return Uint8Array.from(out);
}

/** What reading one object gave. */
export type ReadResult =
  | { ok: true; sha256: string; size: number }
  /** `changed`: the object changed (or vanished) while it was read; `unreadable`: the server refused it. */
  | { ok: false; kind: 'changed' | 'unreadable'; reason: string };

/** Options of {@link ObjectReader}. */
export interface ReaderOptions {
  /** Bytes per ranged GET (default {@link DEFAULT_PART_BYTES}). */
  partBytes?: number;
  /** Ranged GETs in flight (default {@link DEFAULT_READ_CONCURRENCY}). */
  concurrency?: number;
  /** Bytes received so far (progress). */
  onBytes?: (n: number) => void;
}

type PartResult = { ok: true; data: Uint8Array; etag?: string; versionId?: string; total?: number } | { ok: false; kind: 'changed' | 'unreadable'; reason: string } | { ok: false; kind: 'fatal'; error: unknown };

interface Part<T> {
  obj: ListedObject;
  tag: T;
  index: number;
  last: boolean;
  result: Promise<PartResult>;
}

/**
 * Hashes objects in the order they are added, with up to `concurrency` ranged GETs in flight
 * (objects and parts of one object alike); `onDone` is called once per object, in the order added.
 * Memory: at most `concurrency` parts of at most `partBytes` each.
 */
export class ObjectReader<T> {
  private readonly inflight: Part<T>[] = [];
  private readonly partBytes: number;
  private readonly concurrency: number;
  private readonly abort = new AbortController();
  private hash: Hash | undefined;
  private got = 0;
  private failed: { kind: 'changed' | 'unreadable'; reason: string } | undefined;
  private version: string | undefined;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly onDone: (obj: ListedObject, tag: T, r: ReadResult) => void | Promise<void>,
    private readonly opts: ReaderOptions = {},
  ) {
    this.partBytes = Math.max(1 << 16, opts.partBytes ?? DEFAULT_PART_BYTES);
    this.concurrency = Math.max(1, opts.concurrency ?? DEFAULT_READ_CONCURRENCY);
    // Every request in flight adds abort listeners to the one signal (the SDK's retry race and its
    // HTTP handler, each removed when the request settles, the handler's only when its socket
    // closes): with 8 in flight Node warned "MaxListenersExceededWarning … 11 abort listeners" on
    // stderr of a seal of many small objects. The count is bounded by the requests in flight.
    setMaxListeners(ABORT_LISTENERS_PER_REQUEST * this.concurrency + ABORT_LISTENERS_SLACK, this.abort.signal);
  }

  /** Queue an object (waits while `concurrency` parts are in flight). @throws SnapError `IO_ERROR` on a network or server failure */
  async add(obj: ListedObject, tag: T): Promise<void> {
    const parts = obj.size === 0 ? 1 : Math.ceil(obj.size / this.partBytes);
    for (let i = 0; i < parts; i++) {
      while (this.inflight.length >= this.concurrency) await this.consumeOne();
      checkInterrupted();
      this.inflight.push({ obj, tag, index: i, last: i === parts - 1, result: this.fetchPart(obj, i) });
    }
  }

  /** Wait for every queued object. @throws as {@link add} */
  async finish(): Promise<void> {
    while (this.inflight.length > 0) await this.consumeOne();
  }

  /** Stop: cancel the requests in flight (after an error elsewhere). */
  close(): void {
    this.abort.abort();
    this.inflight.length = 0;
  }

  private async fetchPart(obj: ListedObject, index: number): Promise<PartResult> {
    const start = index * this.partBytes;
    const end = Math.min(obj.size, start + this.partBytes) - 1;
    let res: GetObjectCommandOutput;
    try {
      res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: obj.key, ...(obj.size > 0 ? { Range: `bytes=${start}-${end}` } : {}), ...(obj.etag ? { IfMatch: obj.etag } : {}) }),
        { abortSignal: this.abort.signal },
      );
      const want = obj.size === 0 ? 0 : end - start + 1;
      // A server that ignores the Range header (or a hostile one) may send far more than asked: the
      // body is read at most one byte past the range, never whole into memory.
      const declared = res.ContentLength;
      if (declared !== undefined && declared !== want) {
        (res.Body as { destroy?: () => void } | undefined)?.destroy?.();
        return { ok: false, kind: 'changed', reason: `range ${start}-${end} returned ${declared} bytes, not ${want}` };
      }
      const data = res.Body ? await readAtMost(res.Body as AsyncIterable<Uint8Array>, want + 1) : new Uint8Array(0);
      const total = res.ContentRange ? Number(/\/(\d+)$/.exec(res.ContentRange)?.[1]) : obj.size === 0 ? Number(declared ?? data.length) : undefined;
      if (data.length !== want) return { ok: false, kind: 'changed', reason: data.length > want ? `range ${start}-${end} returned more than ${want} bytes` : `range ${start}-${end} returned ${data.length} bytes, not ${want}` };
      this.opts.onBytes?.(data.length);
      return { ok: true, data, ...(res.ETag ? { etag: res.ETag } : {}), ...(res.VersionId ? { versionId: res.VersionId } : {}), ...(total !== undefined && Number.isFinite(total) ? { total } : {}) };
    } catch (e) {
      const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
      const status = err.$metadata?.httpStatusCode;
      if (status === 412 || err.name === 'PreconditionFailed') return { ok: false, kind: 'changed', reason: 'its ETag changed while it was read (If-Match refused)' };
      if (status === 404 || err.name === 'NoSuchKey') return { ok: false, kind: 'changed', reason: 'it was deleted while it was read' };
      if (status === 416) return { ok: false, kind: 'changed', reason: 'it shrank while it was read (range not satisfiable)' };
      if (status === 403) return { ok: false, kind: 'unreadable', reason: 'access denied (403)' };
      return { ok: false, kind: 'fatal', error: e };
    }
  }

  private async consumeOne(): Promise<void> {
    const p = this.inflight.shift() as Part<T>;
    const r = await p.result;
    if (p.index === 0) {
      this.hash = createHash('sha256');
      this.got = 0;
      this.failed = undefined;
      this.version = undefined;
    }
    if (!r.ok) {
      if (r.kind === 'fatal') {
        this.close();
        throw s3Error(r.error, `cannot read s3://${this.bucket}/${p.obj.key}`);
      }
      this.failed ??= { kind: r.kind, reason: r.reason };
    } else if (!this.failed) {
      // The ETag, VersionId and total size of every part agree with the listing: else the object
      // changed between the listing and this part (a server that ignored If-Match).
      if (p.obj.etag && r.etag && r.etag !== p.obj.etag) this.failed = { kind: 'changed', reason: `its ETag changed while it was read (${r.etag}, listed ${p.obj.etag})` };
      else if (r.total !== undefined && r.total !== p.obj.size) this.failed = { kind: 'changed', reason: `its size changed while it was read (${r.total} bytes, listed ${p.obj.size})` };
      else if (p.index > 0 && r.versionId !== this.version) this.failed = { kind: 'changed', reason: 'its version changed while it was read' };
      else {
        this.version = r.versionId;
        this.hash!.update(r.data);
        this.got += r.data.length;
      }
    }
    if (p.last) {
      const done: ReadResult = this.failed ? { ok: false, ...this.failed } : this.got !== p.obj.size ? { ok: false, kind: 'changed', reason: `read ${this.got} bytes, listed ${p.obj.size}` } : { ok: true, sha256: this.hash!.digest('hex'), size: this.got };
      this.hash = undefined;
      await this.onDone(p.obj, p.tag, done);
    }
  }
}

/**
 * The first `limit` bytes of a response body (all of it when shorter); the rest is never read
 * (leaving the loop destroys the response).
 */
async function readAtMost(body: AsyncIterable<Uint8Array>, limit: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of body) {
    const part = chunk.length > limit - n ? chunk.subarray(0, limit - n) : chunk;
    parts.push(part);
    n += part.length;
    if (n >= limit) break;
  }
  return parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts);
}

/** A failure of an S3 request as a SnapError (`IO_ERROR`, exit 3), with the server's error name and status. */
export function s3Error(e: unknown, what: string): SnapError {
  if (e instanceof SnapError) return e;
  const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = err.$metadata?.httpStatusCode;
  const name = err.name ?? 'Error';
  if (name === 'NoSuchBucket' || (status === 404 && /bucket/i.test(err.message ?? ''))) return new SnapError('NOT_FOUND', `${what}: no such bucket`, { status }, { cause: e });
  return new SnapError('IO_ERROR', `${what}: ${name}${status ? ` (HTTP ${status})` : ''}: ${err.message ?? String(e)}`, { ...(status ? { status } : {}), error: name }, { cause: e });
}

/**
 * The first `limit` bytes of an S3 response body (all of it when shorter); the rest is not read
 * (leaving the loop destroys the response).
 */
export async function bodyPrefix(body: unknown, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body as AsyncIterable<Buffer>) {
    const part = c.length > limit - n ? c.subarray(0, limit - n) : c;
    chunks.push(Buffer.from(part));
    n += part.length;
    if (n >= limit) break; // leaving the loop destroys the response
  }
  return Buffer.concat(chunks);
}
