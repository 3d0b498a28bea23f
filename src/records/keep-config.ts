/**
 * The dataset's `snap.json`, kept by every seal as an object of the store (docs/FORMAT.md §19.8):
 * `diff`, `report` and `check` apply a snapshot's own thresholds and record rules, and refuse a
 * snapshot whose signed `snap.json` is not in the store (`INTEGRITY_FAILURE`). A seal that copies
 * the contents keeps it with every other file; one that keeps no contents — `--manifest-only`, or a
 * dataset in S3 — keeps it here, whether or not it indexed record sets.
 */
import { createHash } from 'node:crypto';
import { constants as FS, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { SnapError, isSnapError } from '../core/errors.js';
import { isSymlinkEntry } from '../core/manifest.js';
import { ioError } from '../io/errors.js';
import { manifestEntryRuns } from '../io/manifest-file.js';
import { CONFIG_FILE, MAX_CONFIG_BYTES } from './config.js';

/**
 * The bytes of a dataset folder's `snap.json`, opened as a regular file only (O_NOFOLLOW,
 * O_NONBLOCK: a symbolic link is refused, a FIFO is never waited on); at most
 * {@link MAX_CONFIG_BYTES} + 1 bytes are read (more is for the parser to refuse).
 * @returns undefined when the folder has no `snap.json`
 * @throws SnapError `RECORDS_CONFIG_INVALID` (a symbolic link, not a regular file) | `IO_ERROR`
 */
export async function readConfigBytes(dir: string): Promise<Uint8Array | undefined> {
  const path = join(dir, CONFIG_FILE);
  let fh;
  try {
    fh = await fsp.open(path, FS.O_RDONLY | FS.O_NOFOLLOW | FS.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined; // no config (or DIR is not a folder: the seal says so)
    if (code === 'ELOOP') throw new SnapError('RECORDS_CONFIG_INVALID', `${path} is a symbolic link; the record configuration must be a regular file`, { path });
    throw ioError(e, path, 'cannot read the record configuration');
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new SnapError('RECORDS_CONFIG_INVALID', `${path} is not a regular file`, { path });
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let got = 0;
    let n: number;
    while (got < buf.length && (n = (await fh.read(buf, got, buf.length - got, got)).bytesRead) > 0) got += n;
    return buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}

/** `FILE_CHANGED`: the `snap.json` read is not the one the manifest hashed. */
export function configChangedError(): SnapError {
  return new SnapError('FILE_CHANGED', `${CONFIG_FILE} changed while the dataset was sealed (its record rules were read from other bytes than were hashed); nothing was committed`, { path: CONFIG_FILE });
}

/**
 * The `snap.json` entry of a manifest just written (a regular file's digest and size in bytes), if it has one.
 * @throws SnapError `MANIFEST_*` | `IO_ERROR`
 */
export async function configEntryOf(manifestPath: string): Promise<{ sha256: string; size: number } | undefined> {
  for await (const run of manifestEntryRuns(manifestPath, {})) {
    for (const e of run) if (e.path === CONFIG_FILE && !isSymlinkEntry(e)) return { sha256: e.sha256, size: e.size };
  }
  return undefined;
}

/**
 * Read the dataset's `snap.json` again with `read`, check it is the bytes the manifest entry
 * `config` names (SHA-256), and write them to a new file in `tmpDir` (flushed), for the caller to
 * store as the object `config.sha256`.
 * @param read the `snap.json` now: {@link readConfigBytes} of a folder, or the object of a dataset in S3
 * @returns the file and its digest; undefined when the entry is larger than {@link MAX_CONFIG_BYTES}
 *   (no reader takes it)
 * @throws SnapError `FILE_CHANGED` (gone, another file type, or other bytes than were hashed) | `IO_ERROR`
 */
export async function keptConfigObject(config: { sha256: string; size: number }, tmpDir: string, read: () => Promise<Uint8Array | undefined>): Promise<{ path: string; sha256: string } | undefined> {
  if (config.size > MAX_CONFIG_BYTES) return undefined;
  let bytes: Uint8Array | undefined;
  try {
    bytes = await read();
  } catch (e) {
    if (isSnapError(e) && e.code === 'RECORDS_CONFIG_INVALID') throw configChangedError(); // a link or a FIFO now: it was a regular file when hashed
    throw e;
  }
  if (bytes === undefined || createHash('sha256').update(bytes).digest('hex') !== config.sha256) throw configChangedError();
  const path = join(tmpDir, 'config.json');
  const fh = await fsp.open(path, 'wx', 0o600);
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } catch (e) {
    throw ioError(e, path, 'cannot keep the dataset\'s snap.json');
  } finally {
    await fh.close();
  }
  return { path, sha256: config.sha256 };
}
