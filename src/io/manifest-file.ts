/**
 * Streaming `manifest.jsonl` from disk: lines in runs, the SHA-256 of the raw bytes, and the
 * RFC 9162 Merkle root over the lines, in one pass and O(1) memory in the manifest's length.
 */
import { promises as fsp, closeSync, createReadStream, fstatSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { SnapError } from '../core/errors.js';
import { ManifestOrder, parseEntry, type ManifestEntry } from '../core/manifest.js';
import { ioError } from './errors.js';
import { openRegularFile, openRegularFileSync } from './small-file.js';
import { writeAll } from './write-all.js';
import { LineMerkleTree } from './native-hash.js';
import type { Statement } from '../core/statement.js';

/** Bytes read from the manifest at a time. */
export const MANIFEST_CHUNK = 1 << 20;
/**
 * Longest manifest line read, in bytes: far above the longest valid one (a 4,096-byte path and a
 * 4,096-byte link target with every character escaped, about 33 KB), so that a manifest without
 * newlines cannot make a reader hold it whole (`MANIFEST_LINE_MALFORMED`).
 */
export const MAX_MANIFEST_LINE = 1 << 20;

/** What a full pass over a manifest file found. */
export interface ManifestDigest {
  /** hex SHA-256 of the file bytes */
  sha256: string;
  /** hex RFC 9162 root over the lines */
  merkleRoot: string;
  /** number of lines */
  lines: number;
  /** sum of `size` over file entries, in bytes */
  totalBytes: number;
}

/**
 * A manifest of at most this many bytes is read whole at once, synchronously, through no read
 * stream: a stream allocated a chunk of {@link MANIFEST_CHUNK} and made five round trips to the
 * thread pool for each file, which `fsck` of a store of thousands of small snapshots paid for every
 * one (docs/PERFORMANCE.md, "Forty-second session").
 */
export const SMALL_MANIFEST_BYTES = 64 * 1024;

/**
 * The chunks of the open regular file `fd` (closed here, at the end or on an error): a file of at
 * most {@link SMALL_MANIFEST_BYTES} read whole, synchronously; a larger one (or one that grew past
 * its size while read) through a read stream from where the synchronous read stopped.
 */
async function* chunksOf(fd: number): AsyncGenerator<Buffer> {
  let handed = false;
  try {
    const size = fstatSync(fd).size;
    let pos = 0;
    if (size <= SMALL_MANIFEST_BYTES) {
      const buf = Buffer.allocUnsafe(size + 1);
      for (let got = -1; got !== 0 && pos < buf.length; pos += got) got = readSync(fd, buf, pos, buf.length - pos, null);
      if (pos <= size) {
        if (pos > 0) yield buf.subarray(0, pos);
        return; // the end of the file: it did not grow while read
      }
      yield buf.subarray(0, pos);
    }
    handed = true;
    yield* createReadStream('', { fd, start: pos, highWaterMark: MANIFEST_CHUNK, autoClose: true }) as AsyncIterable<Buffer>;
  } finally {
    if (!handed) closeSync(fd);
  }
}

/**
 * Read a manifest file as runs of raw lines (without `\n`), hashing as it goes.
 * The digest is complete once the generator is exhausted. A line is held only up to
 * {@link MAX_MANIFEST_LINE} bytes: a file without newlines (a store object replaced by an attacker)
 * costs one chunk of memory and one pass, not the whole file.
 * @throws SnapError `NOT_FOUND` | `IO_ERROR` | `MANIFEST_NO_TRAILING_NEWLINE` |
 *   `MANIFEST_LINE_MALFORMED` (a line over {@link MAX_MANIFEST_LINE}, with `details.line`)
 */
export async function* manifestLineRuns(path: string, digest: { sha256?: string; bytes: number }): AsyncGenerator<string[]> {
  const h = createHash('sha256');
  // The start of a line cut by chunk ends, as the chunks' tails (joined once, when its newline comes).
  const rest: Buffer[] = [];
  let restLength = 0;
  let lines = 0;
  const tooLong = () => new SnapError('MANIFEST_LINE_MALFORMED', `${path} line ${lines + 1} is longer than ${MAX_MANIFEST_LINE} bytes`, { path, line: lines + 1 });
  // Non-blocking and only a regular file: a FIFO planted in the store must not hang the reader.
  const chunks = chunksOf(openRegularFileSync(path, 'cannot read the manifest'));
  try {
    for await (const chunk of chunks) {
      h.update(chunk);
      digest.bytes += chunk.length;
      // Decode up to the last newline: 0x0A never occurs inside a multi-byte UTF-8 sequence.
      // A line wholly inside a chunk is shorter than MAX_MANIFEST_LINE (a chunk is at most that long).
      const nl = chunk.lastIndexOf(0x0a);
      if (nl < 0) {
        rest.push(chunk);
        restLength += chunk.length;
        if (restLength > MAX_MANIFEST_LINE) throw tooLong();
        continue;
      }
      let run: string[];
      if (restLength === 0) run = chunk.toString('utf8', 0, nl).split('\n');
      else {
        // The line cut by the previous chunk is joined alone (not the whole chunk: no copy of a MiB).
        const first = chunk.indexOf(0x0a);
        if (restLength + first > MAX_MANIFEST_LINE) throw tooLong();
        run = first === nl ? [] : chunk.toString('utf8', first + 1, nl).split('\n');
        rest.push(chunk.subarray(0, first));
        run.unshift(Buffer.concat(rest).toString('utf8'));
      }
      rest.length = 0;
      rest.push(chunk.subarray(nl + 1));
      restLength = chunk.length - nl - 1;
      lines += run.length;
      yield run;
    }
  } catch (e) {
    if (e instanceof SnapError) throw e;
    throw ioError(e, path, 'cannot read the manifest');
  } finally {
    await chunks.return(undefined); // closes the file (or its stream) when the caller stopped early
  }
  if (restLength > 0) throw new SnapError('MANIFEST_NO_TRAILING_NEWLINE', `${path}: the last line does not end with a newline (truncated?)`, { path });
  digest.sha256 = h.digest('hex');
}

/**
 * The entries of a manifest that was already checked in full (order, root and digest, e.g. by
 * `checkManifestAgainst`), run by run: each line is parsed again (so a file changed since is still
 * refused line by line), without recomputing the Merkle tree.
 * @throws SnapError the codes of core `parseEntry` | `NOT_FOUND` | `IO_ERROR`
 */
export async function* checkedEntryRuns(path: string): AsyncGenerator<ManifestEntry[]> {
  const raw = { bytes: 0 } as { sha256?: string; bytes: number };
  for await (const run of manifestLineRuns(path, raw)) yield run.map((l) => parseEntry(l));
}

/**
 * Parse one line of the manifest file `path` strictly and check that it comes after the lines
 * `order` has seen; an error names the file and the line number (`details.line`).
 * @throws SnapError every code of core `parseEntry` and `ManifestOrder`
 */
export function parseManifestLine(line: string, order: ManifestOrder, path: string): ManifestEntry {
  try {
    const e = parseEntry(line);
    order.accept(e.path);
    return e;
  } catch (err) {
    if (err instanceof SnapError) throw new SnapError(err.code, `${path} line ${order.count + 1}: ${err.message}`, { ...err.details, line: order.count + 1 });
    throw err;
  }
}

/**
 * Parse a manifest file run by run: every line strictly (canonical form, order, no duplicates),
 * while computing its SHA-256 and Merkle root. `result` is filled in when the generator ends.
 * @throws SnapError every code of core `parseEntry` and `ManifestOrder`, with `details.line`;
 *   `MANIFEST_EMPTY`; `NOT_FOUND`; `IO_ERROR`
 */
export async function* manifestEntryRuns(path: string, result: Partial<ManifestDigest>): AsyncGenerator<ManifestEntry[]> {
  const raw = { bytes: 0 } as { sha256?: string; bytes: number };
  const order = new ManifestOrder();
  const tree = new LineMerkleTree();
  let total = 0;
  for await (const run of manifestLineRuns(path, raw)) {
    const out: ManifestEntry[] = new Array(run.length);
    for (let i = 0; i < run.length; i++) {
      const line = run[i] as string;
      const e = parseManifestLine(line, order, path);
      if ('sha256' in e) total += e.size;
      tree.append(line);
      out[i] = e;
    }
    yield out;
  }
  if (order.count === 0) throw new SnapError('MANIFEST_EMPTY', `${path} has no entries`);
  result.sha256 = raw.sha256 as string;
  result.merkleRoot = tree.rootHex();
  result.lines = order.count;
  result.totalBytes = total;
}

/**
 * The entries of a manifest read a second time, after a first pass was judged against its statement
 * (`judgeManifest`): parsed strictly as {@link manifestEntryRuns} does, and at the end its SHA-256
 * must still be `signedSha256`. A manifest swapped in the store between the two reads therefore
 * fails before the caller has used anything it yielded; callers act on the entries only once the
 * generator has ended. Without `signedSha256` (a temporary manifest of a folder, made by this
 * process) nothing is compared.
 * @param signedSha256 hex SHA-256 the statement signed for this manifest
 * @throws SnapError `INTEGRITY_FAILURE` (with `details.path`) when the bytes read differ from the
 *   signed ones | the codes of {@link manifestEntryRuns}
 */
export async function* rereadEntryRuns(path: string, signedSha256: string | undefined): AsyncGenerator<ManifestEntry[]> {
  const got: Partial<ManifestDigest> = {};
  try {
    yield* manifestEntryRuns(path, got);
  } catch (e) {
    if (signedSha256 === undefined || !(e instanceof SnapError) || !(e.code.startsWith('MANIFEST_') || e.code.startsWith('PATH_'))) throw e;
    // It parsed when it was judged: a line that does not parse now means other bytes.
    throw changedSinceJudged(path, e.message);
  }
  if (signedSha256 !== undefined && got.sha256 !== signedSha256) throw changedSinceJudged(path, 'its SHA-256 is no longer the signed manifestSha256');
}

function changedSinceJudged(path: string, why: string): SnapError {
  return new SnapError('INTEGRITY_FAILURE', `${path} changed after it was checked against its statement (${why}): it was altered while this command read it`, { path });
}

/**
 * The most bytes one manifest line can take (docs/FORMAT.md §1): a 4,096-byte path and a 4,096-byte
 * link target, every character escaped, are about 33 KB. A manifest longer than the signed
 * `fileCount` lines of this size cannot be the signed one, and is not read (an archive's member,
 * io/archive.ts; a store's manifest that does not parse, {@link judgeManifest}).
 */
export const MAX_MANIFEST_ENTRY_BYTES = 64 << 10;

/**
 * The hex SHA-256 of a file's bytes (a manifest's raw digest).
 * @param maxBytes when given, a longer file is not read: `{ size }` comes back instead of a digest
 * @throws SnapError `IO_ERROR`
 */
export async function rawSha256(path: string): Promise<string>;
export async function rawSha256(path: string, maxBytes: number): Promise<string | { size: number }>;
export async function rawSha256(path: string, maxBytes?: number): Promise<string | { size: number }> {
  const h = createHash('sha256');
  const fh = await openRegularFile(path, 'cannot read the manifest');
  try {
    const { size } = await fh.stat();
    if (maxBytes !== undefined && size > maxBytes) return { size };
    for await (const c of fh.createReadStream({ highWaterMark: MANIFEST_CHUNK, autoClose: false })) h.update(c as Buffer);
  } catch (e) {
    throw ioError(e, path, 'cannot read the manifest');
  } finally {
    await fh.close().catch(() => undefined);
  }
  return h.digest('hex');
}

/**
 * Judge a manifest read in full against the signed predicate: its raw SHA-256, Merkle root
 * (RFC 9162), line count and total bytes must all equal the statement's. A manifest that could not
 * be parsed (`manifestError`) is tampering unless its bytes are exactly the signed ones, in which
 * case the error itself is thrown (signed, yet malformed). Shared by verify of a folder and of a
 * dataset in S3 (src/s3/dataset.ts) and by diff.
 * @param digest what reading the manifest found (empty when `manifestError` is set)
 * @returns `ok`, and the `INTEGRITY_FAILURE` to report when not
 * @throws `manifestError` when the manifest is the signed one | `IO_ERROR` reading it again
 */
export async function judgeManifest(manifestPath: string, pred: Pick<Statement['predicate'], 'manifestSha256' | 'merkleRoot' | 'fileCount' | 'totalBytes'>, manifestError: SnapError | undefined, digest: Partial<ManifestDigest>): Promise<{ ok: boolean; failure?: { code: 'INTEGRITY_FAILURE'; message: string } }> {
  if (manifestError) {
    // Longer than the signed lines can be: not the signed manifest, and not hashed (a planted sparse
    // file of a terabyte would take hours).
    const maxBytes = pred.fileCount * MAX_MANIFEST_ENTRY_BYTES;
    const sha = await rawSha256(manifestPath, maxBytes);
    if (typeof sha !== 'string') {
      return { ok: false, failure: { code: 'INTEGRITY_FAILURE', message: `manifest.jsonl is ${sha.size} bytes, longer than its ${pred.fileCount} signed line${pred.fileCount === 1 ? '' : 's'} can be (${maxBytes} bytes): it was altered (${manifestError.message})` } };
    }
    if (sha === pred.manifestSha256) throw manifestError; // signed, yet malformed: not tampering
    return { ok: false, failure: { code: 'INTEGRITY_FAILURE', message: `manifest.jsonl does not match the signed manifestSha256 (it was altered): ${manifestError.message}` } };
  }
  const wrong: string[] = [];
  if (digest.sha256 !== pred.manifestSha256) wrong.push('manifestSha256');
  if (digest.merkleRoot !== pred.merkleRoot) wrong.push('Merkle root');
  if (digest.lines !== pred.fileCount) wrong.push('fileCount');
  if (digest.totalBytes !== pred.totalBytes) wrong.push('totalBytes');
  if (wrong.length === 0) return { ok: true };
  return { ok: false, failure: { code: 'INTEGRITY_FAILURE', message: `manifest.jsonl does not match the signed statement (${wrong.join(', ')} differ): it was altered` } };
}

/**
 * Copy a store snapshot's manifest to `to` (a new file, mode 0600) — a regular file only, never
 * blocking on a FIFO, and at most `maxBytes` bytes (a longer one cannot be the signed manifest).
 * `restore` and `export` judge and then use this private copy, so that a manifest swapped in the
 * store after it was judged never steers what they write.
 * @returns false (nothing more read, `to` removed) when it is longer than `maxBytes`
 * @throws SnapError `NOT_FOUND` | `IO_ERROR` | `DISK_FULL`
 */
export async function copyManifest(from: string, to: string, maxBytes: number): Promise<boolean> {
  const src = await openRegularFile(from, 'cannot read the manifest');
  try {
    const out = await fsp.open(to, 'wx', 0o600).catch((e) => {
      throw ioError(e, to, 'cannot copy the manifest');
    });
    let size = 0;
    try {
      for await (const c of src.createReadStream({ start: 0, autoClose: false, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
        size += c.length;
        if (size > maxBytes) break;
        await writeAll(out, c);
      }
    } catch (e) {
      throw ioError(e, to, 'cannot copy the manifest');
    } finally {
      await out.close();
    }
    if (size > maxBytes) {
      await fsp.rm(to, { force: true });
      return false;
    }
    return true;
  } finally {
    await src.close();
  }
}
