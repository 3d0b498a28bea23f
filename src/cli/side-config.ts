/**
 * The signed `snap.json` of a snapshot side of `check`, `diff` or `report` (docs/FORMAT.md §19.8): its record
 * rules choose which record files are compared, and its `check` member gives check's thresholds.
 */
import { join } from 'node:path';
import { SnapError } from '../core/errors.js';
import type { SnapshotLocation } from '../io/store.js';
import type { Statement } from '../core/statement.js';
import { objectsDirOf, type DiffInput, type DiffOptions } from '../ops/diff.js';
import type { OpenedSnapshot } from './snapshot-ref.js';
import { readRecordConfig } from '../records/seal-records.js';
import { configFromObject } from '../records/snapshot-config.js';
import { CONFIG_FILE, MAX_CONFIG_BYTES, parseConfig, type RecordConfig } from '../records/config.js';

/**
 * What to do when a snapshot's signed `snap.json` is not in the store: a snapshot sealed
 * `--manifest-only` (without record sets) or from S3 before 2026-11-30 kept no copy of it
 * (docs/FORMAT.md §19.5), so the likely cause needs no attacker.
 */
const KEPT_NO_CONFIG_HINT = (command: string): string =>
  `; a snapshot sealed --manifest-only or from S3 before 2026-11-30 kept no copy of it: seal the dataset again${command === 'diff' ? ', or diff --no-records to compare files only' : ''}`;

/**
 * The configuration of a folder side of `check`: its own snap.json. A snapshot side's is its signed
 * one, found from the diff's own read of its manifest ({@link snapshotRecordConfigsOf}).
 * @param command the command named in the error (`check`)
 * @throws SnapError `USAGE` (an S3 dataset side: no record indexes) | the codes of readRecordConfig
 *   (`RECORDS_CONFIG_INVALID`, `IO_ERROR`)
 */
export async function sideConfig(input: Exclude<DiffInput, { kind: 'snapshot' }>, command: string): Promise<RecordConfig | undefined> {
  if (input.kind === 'folder') return readRecordConfig(input.path);
  throw new SnapError('USAGE', `${command} compares records, and a dataset in S3 (${input.name}) has no record indexes: ${command} a snapshot or a folder`);
}

/**
 * The configuration a judged manifest's `snap.json` entry names (`entry`; none: undefined), as
 * found after the diff's read of the manifest: from the store's objects, else from the archive's
 * data member.
 * @throws SnapError `INTEGRITY_FAILURE` (the signed snap.json is not there, or altered) | `RECORDS_CONFIG_INVALID` | `IO_ERROR`
 */
async function configOfEntry(location: SnapshotLocation, store: string, archive: string | undefined, command: string, predicate: Statement['predicate'], entry: { sha256: string; size: number } | undefined): Promise<RecordConfig | undefined> {
  if (!entry) return undefined;
  const dirs = [objectsDirOf(location), join(store, 'objects', 'sha256')].filter((d): d is string => d !== undefined);
  const config = await configFromObject(entry, dirs);
  if (config) return config;
  if (archive !== undefined) {
    const { readArchiveDataFile } = await import('../ops/archive.js'); // tar-stream only when an archive is named
    const bytes = await readArchiveDataFile(archive, predicate, CONFIG_FILE, MAX_CONFIG_BYTES);
    if (bytes) return parseConfig(bytes, `${CONFIG_FILE} of the snapshot`);
  }
  throw new SnapError('INTEGRITY_FAILURE', `${location.ref}: its signed ${CONFIG_FILE} (object ${entry.sha256.slice(0, 12)}…, its thresholds and record rules) is not in the store, or not its signed bytes: ${command} cannot apply what the snapshot signed${KEPT_NO_CONFIG_HINT(command)}`, { ref: location.ref, sha256: entry.sha256 });
}

/**
 * For `diff`, `report` and `check`: the signed `snap.json` of each snapshot side of a record diff,
 * from the `snap.json` entries the diff's own read of each manifest found once it judged both
 * against their statements (`DiffOptions.recordConfigsOf`): no manifest is read and judged a second
 * time for them. A folder side's own snap.json is read by the diff itself; a dataset in S3 has none.
 * A snapshot whose manifest names a snap.json that cannot be read as its signed bytes fails: its
 * thresholds and record rules are part of what the snapshot signed, and whoever can write the store
 * could delete or replace the object to fall back to the looser defaults, or to a record file passed
 * over unnamed.
 * @param store the store folder whose objects may hold the snap.json
 * @param held the snapshots opened from the command line (an archive's data member is read)
 * @param command the command named in the error (`check`, `diff`, `report`)
 * @returns what `DiffOptions.recordConfigsOf` is called with; it throws SnapError
 *   `INTEGRITY_FAILURE` (a signed snap.json is not there, or altered) | `RECORDS_CONFIG_INVALID` | `IO_ERROR`
 */
export function snapshotRecordConfigsOf(a: DiffInput, b: DiffInput, store: string, held: readonly OpenedSnapshot[], command: string): NonNullable<DiffOptions['recordConfigsOf']> {
  return async (found, predicates) => {
    const configOf = async (i: DiffInput, side: 'a' | 'b') => {
      const predicate = predicates[side];
      if (i.kind !== 'snapshot' || !predicate) return undefined; // no statement: no signed snap.json
      return configOfEntry(i.location, store, held.find((h) => h.location === i.location)?.archive, command, predicate, found[side]);
    };
    const configA = await configOf(a, 'a');
    const configB = await configOf(b, 'b');
    return { ...(configA ? { a: configA } : {}), ...(configB ? { b: configB } : {}) };
  };
}
