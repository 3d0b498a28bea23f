/**
 * A snapshot's own `snap.json` (its `check` thresholds), read from the store: the manifest entry
 * names its digest (signed), the object holds its bytes, which are hashed and compared before use.
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { isSymlinkEntry } from '../core/manifest.js';
import { compareUtf8 } from '../core/paths.js';
import { manifestEntryRuns } from '../io/manifest-file.js';
import { CONFIG_FILE, MAX_CONFIG_BYTES, parseConfig, type RecordConfig } from './config.js';

/**
 * The configuration a snapshot was sealed with, when its `snap.json` object is in one of `objectDirs`.
 * @returns undefined when the snapshot has no `snap.json`, or its object is not there or not intact
 * @throws SnapError `RECORDS_CONFIG_INVALID` when it is there and malformed
 */
export async function snapshotConfig(manifestPath: string, objectDirs: readonly string[]): Promise<RecordConfig | undefined> {
  let digest: string | undefined;
  let size = 0;
  outer: for await (const run of manifestEntryRuns(manifestPath, {})) {
    for (const e of run) {
      if (e.path === CONFIG_FILE && !isSymlinkEntry(e)) {
        digest = e.sha256;
        size = e.size;
        break outer;
      }
      if (compareUtf8(e.path, CONFIG_FILE) > 0) break outer; // the manifest is sorted: it would have come
    }
  }
  if (digest === undefined || size > MAX_CONFIG_BYTES) return undefined;
  const path = objectDirs.map((d) => join(d, digest.slice(0, 2), digest.slice(2))).find((p) => existsSync(p));
  if (!path) return undefined;
  const bytes = await fsp.readFile(path);
  if (createHash('sha256').update(bytes).digest('hex') !== digest) return undefined;
  return parseConfig(bytes, `${CONFIG_FILE} of the snapshot`);
}
