/**
 * The dataset card of `check`'s two sides (docs/FORMAT.md §19.8): whether a root `README.md` added,
 * removed or changed between A and B opens a YAML front matter block on either side — Hugging Face's
 * `load_dataset` reads its `configs:` (which files are which split, `drop_labels`, …), so such a card
 * is data, not documentation. Reads at most {@link CARD_HEAD_BYTES} of a folder's file, and a
 * snapshot's object whole up to {@link CARD_MAX_BYTES}, hashed against its manifest digest.
 */
import { createHash } from 'node:crypto';
import { constants as FS, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { isSymlinkEntry, type ManifestEntry } from '../core/manifest.js';
import { objectsDirOf, type DiffInput } from '../ops/diff.js';
import { readSmallFile } from '../io/small-file.js';
import { SnapError } from '../core/errors.js';
import { CARD_HEAD_BYTES, opensFrontMatter } from '../records/check.js';

/** The largest card object of a snapshot side read (whole, to check its digest); a larger one counts as front matter (fail closed). */
export const CARD_MAX_BYTES = 1024 * 1024;

/** The bytes to judge, and whether they are the whole file; undefined when they cannot be had. */
async function cardHead(input: DiffInput, entry: ManifestEntry, store: string): Promise<{ head: Buffer; whole: boolean } | undefined> {
  if (isSymlinkEntry(entry)) return undefined; // a reader follows it: not judged, counted
  if (input.kind === 'folder') {
    let fh: fsp.FileHandle | undefined;
    try {
      fh = await fsp.open(join(input.path, entry.path), FS.O_RDONLY | FS.O_NOFOLLOW | FS.O_NONBLOCK);
      const buf = Buffer.alloc(CARD_HEAD_BYTES + 1);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      return { head: buf.subarray(0, Math.min(bytesRead, CARD_HEAD_BYTES)), whole: bytesRead <= CARD_HEAD_BYTES };
    } catch {
      return undefined;
    } finally {
      await fh?.close();
    }
  }
  if (input.kind !== 'snapshot' || entry.size > CARD_MAX_BYTES) return undefined;
  const dirs = [objectsDirOf(input.location), join(store, 'objects', 'sha256')].filter((d): d is string => d !== undefined);
  for (const d of dirs) {
    let bytes: Buffer;
    try {
      // At most one byte more than the signed size: a planted larger object is not read whole.
      const path = join(d, entry.sha256.slice(0, 2), entry.sha256.slice(2));
      bytes = await readSmallFile(path, entry.size + 1, 'cannot read the dataset card', () => new SnapError('OBJECT_CORRUPT', `${path} is not a regular file`));
    } catch {
      continue;
    }
    if (bytes.length !== entry.size || createHash('sha256').update(bytes).digest('hex') !== entry.sha256) return undefined;
    return { head: bytes.subarray(0, CARD_HEAD_BYTES), whole: bytes.length <= CARD_HEAD_BYTES };
  }
  return undefined;
}

/**
 * Whether the root dataset card changed as data: a side that holds it (A for a removal, B for an
 * addition, both for a change) opens a YAML front matter block ({@link opensFrontMatter}), or its
 * bytes cannot be judged — a link, a snapshot object not in the store or not its signed bytes, an
 * archive side, a card over {@link CARD_MAX_BYTES} (fail closed).
 * @param a A's entry of the card, if A holds it; `b` likewise
 * @param store the store folder whose objects may hold a snapshot side's card
 */
export async function cardIsData(ia: DiffInput, ib: DiffInput, a: ManifestEntry | undefined, b: ManifestEntry | undefined, store: string): Promise<boolean> {
  for (const [input, entry] of [[ia, a], [ib, b]] as const) {
    if (!entry) continue;
    const got = await cardHead(input, entry, store);
    if (!got || opensFrontMatter(got.head, got.whole)) return true;
  }
  return false;
}
