/** `snap seal DIR --as NAME@VERSION --key KEY --out FILE.snap.tar` (used by `seal.ts`): seal straight into an archive, no store. */
import { resolve } from 'node:path';
import { SnapError } from '../../core/errors.js';
import { escapeForTerminal as shown } from '../../core/display.js';
import { isArchivePath, suggestedArchiveName, ARCHIVE_SUFFIX } from '../../core/archive.js';
import { storePath } from '../../io/store.js';
import { sealToArchive } from '../../ops/archive-seal.js';
import type { PrivateKey } from '../../core/keys.js';
import { EXIT_OK } from '../exit-codes.js';
import { formatBytes } from '../format.js';
import { withProgress } from '../progress.js';
import { parseExpiry } from '../../core/durations.js';
import { sealedJson, sealedLines } from '../sealed.js';
import { provenanceFromArgs } from '../provenance-args.js';
import { readSnapshotUnverified } from '../../snapshot.js';
import { sealedRecordLines } from '../records-print.js';
import { recordRulesOf } from './seal.js';
import { jsonOut, checkJobs, signingKeys, locate, storeInside, type Args, type CliIo } from '../common.js';

/** Run `seal … --out FILE.snap.tar`. */
export async function cmdSealOut(a: Args, io: CliIo): Promise<number> {
  const outText = String(a.out);
  if (!isArchivePath(outText)) throw new SnapError('USAGE', `--out ${outText}: an archive's name ends in ${ARCHIVE_SUFFIX} (e.g. --out ${suggestedArchiveName(outText, String(a.as))})`);
  const expiresAt = a.expires === undefined ? undefined : parseExpiry(String(a.expires), new Date());
  const store = storePath(a.store, io.env, io.cwd);
  const [key, ...coSigners] = await signingKeys(io, a);
  const dir = resolve(io.cwd, String(a.dir));
  // No store is needed; a parent is recorded only when named, and looked up in the store then.
  let parent: string | undefined;
  if (typeof a.parent === 'string') {
    // Signed into the new statement: refused when the folder holds a snapshot signed as another name.
    parent = (await readSnapshotUnverified(await locate(a.parent, io, store))).snapshot;
  }
  const provenance = await provenanceFromArgs(a, io, store);
  const recordRules = recordRulesOf(a);
  const r = await withProgress(a, io, 'sealing', (onProgress) =>
    sealToArchive({
      provenance,
      dir,
      as: String(a.as),
      key: key as PrivateKey,
      coSigners,
      out: resolve(io.cwd, outText),
      parent,
      expiresAt,
      excludes: (a.exclude as string[]) ?? [],
      stores: storeInside(dir, store),
      ...(recordRules ? { recordRules } : {}),
      jobs: checkJobs(a.jobs),
      onProgress,
    }),
  );
  if (a.json) {
    jsonOut(io, { ...sealedJson(r), archive: r.archive.file, archiveBytes: r.archive.archiveBytes, seconds: Number(r.seconds.toFixed(3)), ...(r.records ? { records: r.records } : {}) });
  } else if (a.quiet) {
    io.stdout.write(`${r.snapshot}\n`);
  } else {
    io.stdout.write(
      [
        ...sealedLines(r),
        `  archive      ${shown(r.archive.file)} (${formatBytes(r.archive.archiveBytes)})`,
        ...(r.records ? sealedRecordLines(r.records) : []),
        `  took         ${r.seconds.toFixed(2)} s`,
      ].join('\n') + '\n',
    );
  }
  return EXIT_OK;
}
