/** `snap export <ref> -o FILE.snap.tar`: write a store snapshot and its contents as one deterministic archive. */
import { resolve } from 'node:path';
import { SnapError } from '../../core/errors.js';
import { escapeForTerminal as shown } from '../../core/display.js';
import { archiveFileName, isArchivePath, suggestedArchiveName, ARCHIVE_SUFFIX } from '../../core/archive.js';
import { storePath } from '../../io/store.js';
import { readSnapshotUnverified } from '../../snapshot.js';
import { exportSnapshot } from '../../ops/archive.js';
import { EXIT_OK } from '../exit-codes.js';
import { formatBytes, plural } from '../format.js';
import { withProgress } from '../progress.js';
import { jsonOut, locate, checkJobs, commonFlags, MAX_JOBS, type Args, type CliIo, type CommandSpec, audit, auditErrors, withExamples } from '../common.js';
import { MAX_DEFAULT_IO_JOBS } from '../../io/read-pool.js';

async function cmdExport(a: Args, io: CliIo): Promise<number> {
  const store = storePath(a.store, io.env, io.cwd);
  if (a.out !== undefined && !isArchivePath(String(a.out))) {
    throw new SnapError('USAGE', `-o ${String(a.out)}: an archive's name ends in ${ARCHIVE_SUFFIX} (e.g. -o ${suggestedArchiveName(String(a.out), String(a.ref))})`);
  }
  const snapshot = await locate(String(a.ref), io, store);
  let outName = a.out as string | undefined;
  if (outName === undefined) {
    const p = (await readSnapshotUnverified(snapshot)).statement?.predicate;
    if (!p) throw new SnapError('SNAPSHOT_MALFORMED', `${snapshot.ref} has no valid statement`);
    outName = archiveFileName(p.dataset, p.version);
  }
  const out = resolve(io.cwd, outName);
  const r = await withProgress(a, io, 'exporting', (onProgress) => exportSnapshot({ snapshot, store, out, jobs: checkJobs(a.jobs), onProgress }));
  const log = await audit(io, store, { command: 'export', ref: r.ref, snapshot: r.snapshot, outcome: 'ok', details: { archive: r.file } }, { quiet: !!a.quiet });
  if (a.json) {
    jsonOut(io, {
      log,
      ok: true, ref: r.ref, snapshot: r.snapshot, archive: r.file, archiveBytes: r.archiveBytes, files: r.files, symlinks: r.symlinks,
      bytes: r.dataBytes, seconds: Number(r.seconds.toFixed(3)),
    });
  } else {
    io.stdout.write(
      [
        `exported ${shown(r.ref)}`,
        `  snapshot  ${shown(r.snapshot)}`,
        `  archive   ${shown(r.file)} (${formatBytes(r.archiveBytes)})`,
        `  contents  ${plural(r.files, 'file')}${r.symlinks ? `, ${plural(r.symlinks, 'symbolic link')}` : ''} (${formatBytes(r.dataBytes)})`,
        `  took      ${r.seconds.toFixed(2)} s`,
      ].join('\n') + '\n',
    );
  }
  return EXIT_OK;
}

/** `snap export <ref>`. */
export const exportCommand: CommandSpec = {
  command: 'export <ref>',
  describe: 'Write a snapshot as one reproducible archive NAME@VERSION.snap.tar',
  builder: (y) =>
    withExamples(
      commonFlags(y, { store: true, quiet: 'no progress and no notes', jobs: `worker threads reading and hashing the store's objects into the archive, 1 to ${MAX_JOBS} (default: the number of cores, at most ${MAX_DEFAULT_IO_JOBS})` })
        .positional('ref', { type: 'string', describe: 'snapshot ref: NAME@VERSION, snapshot id (or 8+ hex prefix), or snapshot folder' })
        .option('out', { alias: 'o', type: 'string', requiresArg: true, describe: 'archive to write, ending in .snap.tar (default: ./NAME@VERSION.snap.tar); never overwritten' }),
      [
        ['$0 export spam@v1 -o spam@v1.snap.tar', 'one file to push to artifact storage'],
      ],
    ),
  run: auditErrors('export', (a) => a.ref, cmdExport),
};
