/**
 * The signed `snap.json` of a snapshot side of `check` or `diff` (docs/FORMAT.md §19.8): its record
 * rules choose which record files are compared, and its `check` member gives check's thresholds.
 */
import { join } from 'node:path';
import { SnapError } from '../core/errors.js';
import { MANIFEST_FILE, type SnapshotLocation } from '../io/store.js';
import type { Statement } from '../core/statement.js';
import { objectsDirOf, type DiffInput, type DiffOptions } from '../ops/diff.js';
import type { OpenedSnapshot } from './snapshot-ref.js';
import { readRecordConfig } from '../records/seal-records.js';
import { configFromObject, snapshotConfig } from '../records/snapshot-config.js';
import { readSnapshotUnverified } from '../snapshot.js';
import { CONFIG_FILE, MAX_CONFIG_BYTES, parseConfig, type RecordConfig } from '../records/config.js';

/**
 * What to do when a snapshot's signed `snap.json` is not in the store: a snapshot sealed
 * `--manifest-only` (without record sets) or from S3 before 2026-11-30 kept no copy of it
 * (docs/FORMAT.md §19.5), so the likely cause needs no attacker.
 */
const KEPT_NO_CONFIG_HINT = (command: string): string =>
  `; a snapshot sealed --manifest-only or from S3 before 2026-11-30 kept no copy of it: seal the dataset again${command === 'diff' ? ', or diff --no-records to compare files only' : ''}`;

/**
 * The configuration that goes with a side: a folder's snap.json, or a snapshot's own signed one (an
 * archive's from its data member). A snapshot whose manifest names a snap.json that cannot be read
 * as its signed bytes fails: its thresholds and record rules are part of what the snapshot signed,
 * and whoever can write the store could delete or replace the object to fall back to the looser
 * defaults, or to a record file passed over unnamed.
 * @param store the store folder whose objects may hold the snap.json
 * @param archive the archive a snapshot side was opened from, if any (its data member is read)
 * @param command the command named in the error (`check`, `diff`)
 * @throws SnapError `INTEGRITY_FAILURE` (the signed snap.json is not there, or altered) | `USAGE` (an
 *   S3 dataset side) | the codes of snapshotConfig
 */
export async function sideConfig(input: DiffInput, store: string, archive: string | undefined, command: string): Promise<RecordConfig | undefined> {
  if (input.kind === 'folder') return readRecordConfig(input.path);
  if (input.kind === 'dataset') throw new SnapError('USAGE', `${command} compares records, and a dataset in S3 (${input.name}) has no record indexes: ${command} a snapshot or a folder`);
  const dirs = [objectsDirOf(input.location), join(store, 'objects', 'sha256')].filter((d): d is string => d !== undefined);
  const statement = (await readSnapshotUnverified(input.location)).statement;
  if (!statement) return undefined;
  const { entry, config } = await snapshotConfig(join(input.location.dir, MANIFEST_FILE), dirs, statement.predicate);
  return configOfEntry(input.location, store, archive, command, statement.predicate, entry, { config });
}

/**
 * The configuration a judged manifest's `snap.json` entry names (`entry`; none: undefined), as
 * {@link sideConfig} finds it after its read of the manifest: from the store's objects (`looked`:
 * what the caller found there already, when it looked), else from the archive's data member.
 * @throws SnapError `INTEGRITY_FAILURE` (the signed snap.json is not there, or altered) | `RECORDS_CONFIG_INVALID` | `IO_ERROR`
 */
async function configOfEntry(location: SnapshotLocation, store: string, archive: string | undefined, command: string, predicate: Statement['predicate'], entry: { sha256: string; size: number } | undefined, looked?: { config?: RecordConfig }): Promise<RecordConfig | undefined> {
  if (!entry) return undefined;
  const dirs = [objectsDirOf(location), join(store, 'objects', 'sha256')].filter((d): d is string => d !== undefined);
  const config = looked ? looked.config : await configFromObject(entry, dirs);
  if (config) return config;
  if (archive !== undefined) {
    const { readArchiveDataFile } = await import('../ops/archive.js'); // tar-stream only when an archive is named
    const bytes = await readArchiveDataFile(archive, predicate, CONFIG_FILE, MAX_CONFIG_BYTES);
    if (bytes) return parseConfig(bytes, `${CONFIG_FILE} of the snapshot`);
  }
  throw new SnapError('INTEGRITY_FAILURE', `${location.ref}: its signed ${CONFIG_FILE} (object ${entry.sha256.slice(0, 12)}…, its thresholds and record rules) is not in the store, or not its signed bytes: ${command} cannot apply what the snapshot signed${KEPT_NO_CONFIG_HINT(command)}`, { ref: location.ref, sha256: entry.sha256 });
}

/**
 * The signed `snap.json` of each snapshot side of a record diff (`DiffOptions.recordConfigs`), for
 * `diff` and `report`: a folder side's own is read by the diff itself, a dataset in S3 has none.
 * @param held the snapshots opened from the command line (an archive's data member is read)
 * @throws SnapError the codes of {@link sideConfig} (`INTEGRITY_FAILURE` when a signed snap.json is not there)
 */
export async function snapshotRecordConfigs(a: DiffInput, b: DiffInput, store: string, held: readonly OpenedSnapshot[], command: string): Promise<NonNullable<DiffOptions['recordConfigs']>> {
  const configOf = async (i: DiffInput) => (i.kind === 'snapshot' ? sideConfig(i, store, held.find((h) => h.location === i.location)?.archive, command) : undefined);
  const configA = await configOf(a);
  const configB = await configOf(b);
  return { ...(configA ? { a: configA } : {}), ...(configB ? { b: configB } : {}) };
}

/**
 * For `diff`: the signed `snap.json` of each snapshot side of a record diff, as
 * {@link snapshotRecordConfigs} finds them, but from the `snap.json` entries the diff's own read of
 * each manifest found once it judged both against their statements (`DiffOptions.recordConfigsOf`):
 * no manifest is read and judged a second time for them.
 * @param held the snapshots opened from the command line (an archive's data member is read)
 * @returns what `DiffOptions.recordConfigsOf` is called with
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
