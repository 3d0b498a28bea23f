/**
 * `verify-proof`: check an inclusion proof file (docs/FORMAT.md §11) with only public keys, and
 * optionally that a file on disk is the one the proven entry describes.
 */
import { promises as fsp, closeSync, constants, openSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { SnapError } from '../core/errors.js';
import type { TrustedKey } from '../core/envelope.js';
import { isSymlinkEntry, type ManifestEntry } from '../core/manifest.js';
import { MAX_PROOF_BYTES, parseProof, verifyProof, type ProofVerification } from '../core/proof.js';
import { ioError } from '../io/errors.js';
import { readAtMost } from '../io/small-file.js';
import { swapFileForTest } from '../io/test-swap.js';
import { whenInterrupted } from '../io/interrupt.js';

/** Options of {@link verifyProofFile}. */
export interface VerifyProofFileOptions {
  /** The proof file. */
  file: string;
  /** The public keys the verifier trusts. */
  trusted: readonly TrustedKey[];
  /** Minimum number of distinct trusted keys that must have signed (default 1). */
  threshold?: number;
  /** Require the proof to be of this snapshot: `NAME@VERSION` or `sha256:<64 hex>`. */
  expect?: string;
  /** A file on disk that must be what the proven entry describes (a file's bytes, or a link's text). */
  dataFile?: string;
}

/** The verdict on a proof file; `dataFile` is set when one was given and the proof itself checked out. */
export interface ProofFileVerification extends ProofVerification {
  dataFile?: { path: string; ok: boolean };
}

/**
 * Read a proof file (or a pipe): at most {@link MAX_PROOF_BYTES} bytes; a larger regular file is
 * refused unread, a longer stream after that many bytes.
 * @throws SnapError `NOT_FOUND` | `IO_ERROR` | `PROOF_MALFORMED` (too large)
 */
async function readProofFile(path: string): Promise<Uint8Array> {
  let fh;
  // A FIFO no one writes keeps open(2) waiting in a worker thread, and Node cannot exit while one
  // waits there: Ctrl-C and SIGTERM went unheard until SIGKILL. On a signal, this process opens the
  // FIFO for writing itself and closes it, which ends the wait (the proof then reads as empty, and
  // the command stops on the signal). The FIFO is opened blocking, as `cat` opens it: a reader that
  // opened it without blocking missed, now and then, the bytes of a writer that came and went first.
  const unblock = whenInterrupted(async () => endFifoWait(path));
  try {
    fh = await fsp.open(path, 'r');
  } catch (e) {
    throw ioError(e, path, 'cannot read the proof');
  } finally {
    unblock();
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new SnapError('IO_ERROR', `cannot read the proof: ${path} is a folder`, { path });
    // A pipe (snap prove … | snap verify-proof /dev/stdin) has no size: the read below is bounded too.
    if (st.size > MAX_PROOF_BYTES) throw new SnapError('PROOF_MALFORMED', `the proof is malformed: ${path} is larger than ${MAX_PROOF_BYTES} bytes`, { reason: 'too-large', path });
    const bytes = await readAtMost(fh, MAX_PROOF_BYTES + 1);
    if (bytes.length > MAX_PROOF_BYTES) throw new SnapError('PROOF_MALFORMED', `the proof is malformed: ${path} is larger than ${MAX_PROOF_BYTES} bytes`, { reason: 'too-large', path });
    return bytes;
  } catch (e) {
    throw ioError(e, path, 'cannot read the proof');
  } finally {
    await fh.close();
  }
}

/**
 * End a wait in open(2) for a writer of the FIFO at `path` by opening it for writing (without
 * blocking: only while a reader waits) and closing it at once; nothing is written. Only a FIFO: a
 * device opened for writing may act on its open or close.
 */
function endFifoWait(path: string): void {
  try {
    if (!statSync(path).isFIFO()) return;
    closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // no reader waits (ENXIO), or the path is gone: nothing to end
  }
}

/**
 * Why the file at `path` is not what `entry` describes, or undefined when it is: a regular file with
 * the entry's size and SHA-256, or a symbolic link (not followed) with the entry's target. The file
 * is opened without blocking and judged by fstat of that descriptor (a FIFO swapped in is not a
 * regular file; a size other than the entry's is a mismatch, unread), then read to at most one
 * byte past the entry's size.
 * @throws SnapError `NOT_FOUND` | `IO_ERROR` when it cannot be read
 */
async function dataFileMismatch(path: string, entry: ManifestEntry): Promise<string | undefined> {
  let st;
  try {
    st = await fsp.lstat(path);
  } catch (e) {
    throw ioError(e, path, 'cannot read the file to check');
  }
  const kind = st.isFile() ? 'a file' : st.isSymbolicLink() ? 'a symbolic link' : st.isDirectory() ? 'a folder' : 'not a regular file';
  if (isSymlinkEntry(entry)) {
    if (!st.isSymbolicLink()) return `${entry.path} is a symbolic link in the snapshot, but ${path} is ${kind}`;
    let target: string;
    try {
      target = await fsp.readlink(path);
    } catch (e) {
      throw ioError(e, path, 'cannot read the link to check');
    }
    return target === entry.target ? undefined : `${path} links to ${JSON.stringify(target)}, not to the signed target ${JSON.stringify(entry.target)}`;
  }
  if (!st.isFile()) return `${entry.path} is a file in the snapshot, but ${path} is ${kind}`;
  let fh;
  swapFileForTest('open', path);
  try {
    // O_NONBLOCK: a FIFO swapped in after the lstat above is never waited on (refused just below).
    fh = await fsp.open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    throw ioError(e, path, 'cannot read the file to check');
  }
  try {
    const opened = await fh.stat();
    swapFileForTest('fstat', path);
    if (!opened.isFile()) return `${entry.path} is a file in the snapshot, but ${path} is not a regular file`;
    // A file of another size is not the entry's: said unread (a sparse file of terabytes was hashed
    // to its end first). Read at most one byte past the signed size, however the file grows meanwhile.
    if (opened.size !== entry.size) return `${path} is ${opened.size} bytes, the signed entry ${entry.size}`;
    const h = createHash('sha256');
    let size = 0;
    for await (const chunk of fh.createReadStream({ highWaterMark: 1 << 20, autoClose: false, start: 0, end: entry.size }) as AsyncIterable<Buffer>) {
      h.update(chunk);
      size += chunk.length;
    }
    const sha256 = h.digest('hex');
    if (size > entry.size) return `${path} grew past the signed entry's ${entry.size} bytes while it was read`;
    if (size < entry.size) return `${path} is ${size} bytes, the signed entry ${entry.size}`;
    return sha256 === entry.sha256 ? undefined : `${path} has SHA-256 ${sha256}, the signed entry ${entry.sha256}`;
  } catch (e) {
    throw ioError(e, path, 'cannot read the file to check');
  } finally {
    await fh.close();
  }
}

/**
 * Check a proof file with only public keys (core `verifyProof`), then, when `dataFile` is given
 * and the proof checked out, that the file is the proven entry's (check `file`,
 * `INTEGRITY_FAILURE`). A failed check is a result; errors are for what cannot be read.
 * @throws SnapError `NOT_FOUND` | `IO_ERROR` (the proof or the data file) | `PROOF_MALFORMED` |
 *   `PROOF_UNSUPPORTED` | `USAGE` (threshold, expect; `dataFile` with a record proof)
 */
export async function verifyProofFile(opts: VerifyProofFileOptions): Promise<ProofFileVerification> {
  const proof = parseProof(await readProofFile(opts.file));
  if (proof.records && opts.dataFile !== undefined) {
    throw new SnapError('USAGE', `${opts.file} is a record proof (of a record of ${proof.records.set}); --file checks the file of a file proof`);
  }
  const v: ProofFileVerification = verifyProof(proof, opts.trusted, { threshold: opts.threshold ?? 1, ...(opts.expect !== undefined ? { expect: opts.expect } : {}) });
  if (!v.ok || opts.dataFile === undefined || !v.entry) return v;
  const why = await dataFileMismatch(opts.dataFile, v.entry);
  if (why === undefined) return { ...v, dataFile: { path: opts.dataFile, ok: true } };
  return { ...v, ok: false, dataFile: { path: opts.dataFile, ok: false }, failure: { code: 'INTEGRITY_FAILURE', check: 'file', message: why } };
}
