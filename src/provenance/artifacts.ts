/** Model artifacts (weights, tokenizer, config files): their names and SHA-256, streamed. */
import { createReadStream, promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, resolve } from 'node:path';
import { SnapError } from '../core/errors.js';
import { isArtifactName, MAX_MODEL_FILES, type ArtifactSubject } from '../core/attestation.js';
import { ioError } from '../io/errors.js';

/** A hashed artifact: the subject an attestation names, where it was read, and its size in bytes. */
export interface HashedArtifact extends ArtifactSubject {
  path: string;
  size: number;
}

/**
 * SHA-256 of a regular file, streamed (constant memory whatever its size).
 * @throws SnapError `NOT_FOUND` | `FILE_UNSUPPORTED_TYPE` (not a regular file) | `IO_ERROR`
 */
export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const st = await fsp.stat(path).catch((e) => {
    throw ioError(e, path, 'cannot read the file');
  });
  if (!st.isFile()) throw new SnapError('FILE_UNSUPPORTED_TYPE', `${path} is not a regular file`, { path });
  const h = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of createReadStream(path)) {
      h.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } catch (e) {
    throw ioError(e, path, 'cannot read the file');
  }
  return { sha256: h.digest('hex'), size };
}

/**
 * Hash model artifact files; each is named by its file name (the attestation's subject name).
 * @throws SnapError `USAGE` (none, more than {@link MAX_MODEL_FILES}, two with one name, a name
 *   that is not a valid artifact name) | codes of {@link hashFile}
 */
export async function hashArtifacts(paths: readonly string[], cwd: string): Promise<HashedArtifact[]> {
  if (paths.length === 0) throw new SnapError('USAGE', 'name at least one model file');
  if (paths.length > MAX_MODEL_FILES) throw new SnapError('USAGE', `at most ${MAX_MODEL_FILES} model files`);
  const out: HashedArtifact[] = [];
  const names = new Set<string>();
  for (const p of paths) {
    const path = resolve(cwd, p);
    const name = basename(path);
    if (!isArtifactName(name)) throw new SnapError('USAGE', `${JSON.stringify(name)} cannot name a model artifact (a file name of at most 255 bytes without control characters)`);
    if (names.has(name)) throw new SnapError('USAGE', `two model files are named ${name}; attest files with distinct names`);
    names.add(name);
    const { sha256, size } = await hashFile(path);
    out.push({ name, digest: { sha256 }, path, size });
  }
  return out;
}
