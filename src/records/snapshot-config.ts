/**
 * A snapshot's own `snap.json` (its `check` thresholds), read from the store: the manifest entry
 * names its digest, the object holds its bytes, which are hashed and compared before use. The
 * caller reads the manifest to its end and judges it against the statement (SHA-256, Merkle root,
 * counts) before its entry is believed (`diff`'s own read, `DiffOptions.recordConfigsOf`; `drill`):
 * else whoever can write to the store could point `snap.json` at an object of their own with
 * thresholds that let anything through.
 */
import { createHash } from 'node:crypto';
import { constants as FS, existsSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { ioError } from '../io/errors.js';
import { CONFIG_FILE, MAX_CONFIG_BYTES, parseConfig, type RecordConfig } from './config.js';

/**
 * The configuration in the object that a judged manifest's `snap.json` entry names (for a caller that
 * read and judged the manifest itself, as `drill` does).
 * @returns undefined when the entry is larger than {@link MAX_CONFIG_BYTES}, or its object is in none
 *   of `objectDirs`, or is not a regular file of exactly the entry's bytes
 * @throws SnapError `RECORDS_CONFIG_INVALID` when the object is intact and malformed | `IO_ERROR`
 */
export async function configFromObject(entry: { sha256: string; size: number }, objectDirs: readonly string[]): Promise<RecordConfig | undefined> {
  const { sha256 } = entry;
  const path = objectDirs.map((d) => join(d, sha256.slice(0, 2), sha256.slice(2))).find((p) => existsSync(p));
  return path === undefined ? undefined : configFromFile(path, entry);
}

/**
 * The configuration in the file at `path` when it holds exactly the bytes a judged manifest's
 * `snap.json` entry names (a store object, or the `snap.json` of a folder that was just verified).
 * The file is opened without following a link and read to at most the entry's size and one byte
 * more, then hashed: whoever can write it can have replaced it with anything.
 * @returns undefined when the entry is larger than {@link MAX_CONFIG_BYTES}, or nothing is at
 *   `path`, or it is a link, not a regular file, or not exactly the entry's bytes
 * @throws SnapError `RECORDS_CONFIG_INVALID` when the file is intact and malformed | `IO_ERROR`
 */
export async function configFromFile(path: string, entry: { sha256: string; size: number }): Promise<RecordConfig | undefined> {
  const { sha256, size } = entry;
  if (size > MAX_CONFIG_BYTES) return undefined;
  const fh = await fsp.open(path, FS.O_RDONLY | FS.O_NOFOLLOW | FS.O_NONBLOCK).catch((e: unknown) => {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOENT') return undefined; // a link is not an intact copy; nothing there is none
    throw ioError(e, path, "cannot read the snapshot's record configuration");
  });
  if (!fh) return undefined;
  let bytes: Buffer;
  try {
    if (!(await fh.stat()).isFile()) return undefined; // not an intact copy (a FIFO would not even block: O_NONBLOCK)
    const buf = Buffer.alloc(size + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    bytes = buf.subarray(0, bytesRead);
  } catch (e) {
    throw ioError(e, path, "cannot read the snapshot's record configuration");
  } finally {
    await fh.close();
  }
  if (createHash('sha256').update(bytes).digest('hex') !== sha256) return undefined;
  return parseConfig(bytes, `${CONFIG_FILE} of the snapshot`);
}
