/**
 * Streaming `manifest.jsonl` from disk: lines in runs, the SHA-256 of the raw bytes, and the
 * RFC 9162 Merkle root over the lines, in one pass and O(1) memory in the manifest's length.
 */
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { SnapError } from '../core/errors.js';
import { MerkleTreeBuilder } from '../core/merkle.js';
import { ManifestOrder, parseEntry, type ManifestEntry } from '../core/manifest.js';
import { toHex } from '../core/encoding.js';
import { ioError } from './errors.js';
import { leafHashOfLine, nodeHashNative } from './native-hash.js';

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
 * Read a manifest file as runs of raw lines (without `\n`), hashing as it goes.
 * The digest is complete once the generator is exhausted.
 * @throws SnapError `NOT_FOUND` | `IO_ERROR` | `MANIFEST_NO_TRAILING_NEWLINE`
 */
export async function* manifestLineRuns(path: string, digest: { sha256?: string; bytes: number }): AsyncGenerator<string[]> {
  const h = createHash('sha256');
  let rest: Buffer = Buffer.alloc(0);
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      h.update(chunk);
      digest.bytes += chunk.length;
      // Decode up to the last newline: 0x0A never occurs inside a multi-byte UTF-8 sequence.
      const nl = chunk.lastIndexOf(0x0a);
      if (nl < 0) {
        rest = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
        continue;
      }
      if (rest.length === 0) yield chunk.toString('utf8', 0, nl).split('\n');
      else {
        // The line cut by the previous chunk is joined alone (not the whole chunk: no copy of a MiB).
        const first = chunk.indexOf(0x0a);
        const lines = first === nl ? [] : chunk.toString('utf8', first + 1, nl).split('\n');
        lines.unshift(Buffer.concat([rest, chunk.subarray(0, first)]).toString('utf8'));
        yield lines;
      }
      rest = chunk.subarray(nl + 1);
    }
  } catch (e) {
    throw ioError(e, path, 'cannot read the manifest');
  }
  if (rest.length > 0) throw new SnapError('MANIFEST_NO_TRAILING_NEWLINE', `${path}: the last line does not end with a newline (truncated?)`, { path });
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
  const tree = new MerkleTreeBuilder({ nodeHash: nodeHashNative });
  let total = 0;
  for await (const run of manifestLineRuns(path, raw)) {
    const out: ManifestEntry[] = new Array(run.length);
    for (let i = 0; i < run.length; i++) {
      const line = run[i] as string;
      const e = parseManifestLine(line, order, path);
      if ('sha256' in e) total += e.size;
      tree.appendLeafHash(leafHashOfLine(line));
      out[i] = e;
    }
    yield out;
  }
  if (order.count === 0) throw new SnapError('MANIFEST_EMPTY', `${path} has no entries`);
  result.sha256 = raw.sha256 as string;
  result.merkleRoot = toHex(tree.root());
  result.lines = order.count;
  result.totalBytes = total;
}
