/** `snap seal DIR --as NAME@VERSION --key KEY --out FILE.snap.tar` (used by `seal.ts`): seal straight into an archive, no store. */
import { resolve } from 'node:path';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { SnapError } from '../../core/errors.js';
import { escapeForTerminal as shown } from '../../core/display.js';
import { snapshotId } from '../../core/statement.js';
import { isArchivePath, ARCHIVE_SUFFIX } from '../../core/archive.js';
import { storePath, STATEMENT_FILE } from '../../io/store.js';
import { sealToArchive } from '../../archive-seal.js';
import { EXIT_OK } from '../exit-codes.js';
import { formatBytes } from '../format.js';
import { withProgress } from '../progress.js';
import { sealedJson, sealedLines } from '../sealed.js';
import { provenanceFromArgs } from '../provenance-args.js';
import { jsonOut, checkJobs, signingKey, locate, storeInside, type Args, type CliIo } from '../common.js';

/** Run `seal … --out FILE.snap.tar`. */
export async function cmdSealOut(a: Args, io: CliIo): Promise<number> {
  const outText = String(a.out);
  if (!isArchivePath(outText)) throw new SnapError('USAGE', `--out ${outText}: an archive's name ends in ${ARCHIVE_SUFFIX}`);
  const store = storePath(a.store, io.env, io.cwd);
  const key = await signingKey(io, a);
  const dir = resolve(io.cwd, String(a.dir));
  // No store is needed; a parent is recorded only when named, and looked up in the store then.
  let parent: string | undefined;
  if (typeof a.parent === 'string') {
    const loc = await locate(a.parent, io, store);
    parent = snapshotId(await fsp.readFile(join(loc.dir, STATEMENT_FILE)));
  }
  const provenance = await provenanceFromArgs(a, io, store);
  const r = await withProgress(a, io, 'sealing', (onProgress) =>
    sealToArchive({
      provenance,
      dir,
      as: String(a.as),
      key,
      out: resolve(io.cwd, outText),
      parent,
      excludes: (a.exclude as string[]) ?? [],
      skipDirs: storeInside(dir, store),
      jobs: checkJobs(a.jobs),
      onProgress,
    }),
  );
  if (a.json) {
    jsonOut(io, { ...sealedJson(r), archive: r.archive.file, archiveBytes: r.archive.archiveBytes, seconds: Number(r.seconds.toFixed(3)) });
  } else if (a.quiet) {
    io.stdout.write(`${r.snapshot}\n`);
  } else {
    io.stdout.write(
      [
        ...sealedLines(r),
        `  archive      ${shown(r.archive.file)} (${formatBytes(r.archive.archiveBytes)})`,
        `  took         ${r.seconds.toFixed(2)} s`,
      ].join('\n') + '\n',
    );
  }
  return EXIT_OK;
}
