/** Model artifacts (weights, tokenizer, config files): their names and SHA-256, streamed. */
import { constants as FS, promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, join, resolve } from 'node:path';
import { SnapError } from '../core/errors.js';
import { isArtifactName, MAX_MODEL_FILES, type ArtifactSubject } from '../core/attestation.js';
import { ioError } from '../io/errors.js';
import { swapFileForTest } from '../io/test-swap.js';

/** A hashed artifact: the subject an attestation names, where it was read, and its size in bytes. */
export interface HashedArtifact extends ArtifactSubject {
  path: string;
  size: number;
}

/** Bytes read at a time while a model file is hashed. */
const HASH_CHUNK = 1 << 20;

/**
 * SHA-256 of a regular file, streamed (constant memory whatever its size). The file is opened once,
 * without blocking (a FIFO put in its place is refused, not waited on for ever), checked by fstat
 * of that descriptor to be a regular file, and read through it to exactly the size fstat gave: a
 * file that grows, shrinks or is changed while it is read (its size, mtime or ctime differ at the
 * end) is `FILE_CHANGED`, not hashed to an end someone else decides.
 * @param opts.noFollow refuse a symbolic link (O_NOFOLLOW): a model folder's files, which must be
 *   regular files themselves (a file named on the command line may be a link to one)
 * @throws SnapError `NOT_FOUND` | `FILE_UNSUPPORTED_TYPE` (not a regular file; with `noFollow`, a
 *   link) | `FILE_CHANGED` | `IO_ERROR`
 */
export async function hashFile(path: string, opts: { noFollow?: boolean } = {}): Promise<{ sha256: string; size: number }> {
  swapFileForTest('open', path);
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(path, FS.O_RDONLY | (FS.O_NONBLOCK ?? 0) | (opts.noFollow ? (FS.O_NOFOLLOW ?? 0) : 0));
  } catch (e) {
    if (opts.noFollow && (e as NodeJS.ErrnoException).code === 'ELOOP') throw new SnapError('FILE_UNSUPPORTED_TYPE', `${path} is a link, not a regular file: a model folder holds only its artifact files (no subfolder, no link)`, { path });
    throw ioError(e, path, 'cannot read the file');
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new SnapError('FILE_UNSUPPORTED_TYPE', `${path} is not a regular file`, { path });
    swapFileForTest('fstat', path);
    const changed = () => new SnapError('FILE_CHANGED', `${path} changed while it was hashed; hash the model again once nothing writes to it`, { path });
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(Math.min(HASH_CHUNK, st.size + 1));
    let pos = 0;
    while (pos < st.size) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, st.size - pos), pos);
      if (bytesRead === 0) throw changed(); // shorter than fstat said
      h.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    // Nothing past the size fstat gave, and the same size and times now: the bytes hashed are one state of the file.
    if ((await fh.read(buf, 0, 1, pos)).bytesRead !== 0) throw changed();
    const end = await fh.stat();
    if (end.size !== st.size || end.mtimeMs !== st.mtimeMs || end.ctimeMs !== st.ctimeMs) throw changed();
    return { sha256: h.digest('hex'), size: st.size };
  } catch (e) {
    throw ioError(e, path, 'cannot read the file');
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * The files of a model folder: every entry directly in it, sorted by name (UTF-16 code units), each
 * of which must be a regular file — a subfolder, a link or anything else is refused, since an
 * artifact is named by its file name (docs/FORMAT.md §13) and a link would let the folder name a
 * file kept elsewhere.
 * @throws SnapError `USAGE` (empty, more than {@link MAX_MODEL_FILES} entries) |
 *   `FILE_UNSUPPORTED_TYPE` (an entry that is not a regular file) | `IO_ERROR`
 */
async function folderFiles(dir: string): Promise<string[]> {
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch((e) => {
    throw ioError(e, dir, 'cannot read the model folder');
  });
  if (entries.length === 0) throw new SnapError('USAGE', `the model folder ${dir} is empty`, { path: dir });
  if (entries.length > MAX_MODEL_FILES) throw new SnapError('USAGE', `the model folder ${dir} holds more than ${MAX_MODEL_FILES} entries (at most ${MAX_MODEL_FILES} model files)`, { path: dir });
  const names = entries.map((e) => e.name).sort();
  for (const e of entries) {
    if (!e.isFile()) throw new SnapError('FILE_UNSUPPORTED_TYPE', `${join(dir, e.name)} is not a regular file: a model folder holds only its artifact files (no subfolder, no link)`, { path: join(dir, e.name) });
  }
  return names.map((n) => join(dir, n));
}

/** Model artifacts as {@link hashArtifacts} read them, and whether a whole folder was given. */
export interface ModelFiles {
  artifacts: HashedArtifact[];
  /** True when an argument was a folder: its files are the whole model (`verify-model` then requires an attestation of exactly them). */
  fromFolder: boolean;
}

/**
 * Hash model artifact files; each is named by its file name (the attestation's subject name). A
 * folder stands for every file directly in it (see {@link folderFiles}).
 * @throws SnapError `USAGE` (none, more than {@link MAX_MODEL_FILES}, two with one name, a name
 *   that is not a valid artifact name) | codes of {@link hashFile} and of {@link folderFiles}
 */
export async function hashArtifacts(paths: readonly string[], cwd: string): Promise<HashedArtifact[]> {
  return (await hashModelFiles(paths, cwd)).artifacts;
}

/**
 * {@link hashArtifacts}, saying too whether a folder was given.
 * @throws SnapError the codes of {@link hashArtifacts}
 */
export async function hashModelFiles(args: readonly string[], cwd: string): Promise<ModelFiles> {
  if (args.length === 0) throw new SnapError('USAGE', 'name at least one model file');
  const paths: string[] = [];
  // A folder's files are refused as links when read too (O_NOFOLLOW): one made a link after the listing is still a link.
  const inFolder = new Set<string>();
  let fromFolder = false;
  for (const arg of args) {
    const path = resolve(cwd, arg);
    const st = await fsp.stat(path).catch(() => undefined);
    if (st?.isDirectory()) {
      fromFolder = true;
      for (const f of await folderFiles(path)) {
        paths.push(f);
        inFolder.add(f);
      }
    } else paths.push(path);
  }
  if (paths.length > MAX_MODEL_FILES) throw new SnapError('USAGE', `at most ${MAX_MODEL_FILES} model files`);
  const out: HashedArtifact[] = [];
  const names = new Set<string>();
  for (const path of paths) {
    const name = basename(path);
    if (!isArtifactName(name)) throw new SnapError('USAGE', `${JSON.stringify(name)} cannot name a model artifact (a file name of at most 255 bytes without control characters)`);
    if (names.has(name)) throw new SnapError('USAGE', `two model files are named ${name}; attest files with distinct names`);
    names.add(name);
    const { sha256, size } = await hashFile(path, { noFollow: inFolder.has(path) });
    out.push({ name, digest: { sha256 }, path, size });
  }
  return { artifacts: out, fromFolder };
}
