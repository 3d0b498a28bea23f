/** `snap seal <dir>`: Hash every file of DIR, build and sign its manifest, keep a deduplicated copy in the store. */
import { join, resolve } from 'node:path';
import { stateDir } from '../../trust/state.js';
import { STAT_CACHE_DIR } from '../../incremental/stat-cache.js';
import { storePath } from '../../io/store.js';
import { seal } from '../../ops/seal.js';
import type { PrivateKey } from '../../core/keys.js';
import { escapeForTerminal as shown } from '../../core/display.js';
import { EXIT_OK } from '../exit-codes.js';
import { formatBytes, mendedObjectsNote, plural } from '../format.js';
import { withProgress } from '../progress.js';
import { parseExpiry } from '../../core/durations.js';
import { sealedJson, sealedLines } from '../sealed.js';
import { jsonOut, checkJobs, signingKeys, audit, auditErrors, commonFlags, announceNewStore, parentRef, type Args, type CliIo, type CommandSpec, withExamples } from '../common.js';
import { provenanceFromArgs, provenanceOptions } from '../provenance-args.js';
import { parseRuleFlag } from '../../records/config.js';
import { sealedRecordLines } from '../records-print.js';
import { isS3Url, parseS3Url } from '../../s3/location.js';
import { SnapError } from '../../core/errors.js';
import type { DatasetScan } from '../../ops/seal.js';

/**
 * `seal s3://BUCKET/PREFIX`: the scan of a dataset in S3 (loads the AWS SDK, only then), and the
 * reader of its `snap.json` object (kept in the store), or undefined for a folder. The contents
 * stay in S3 (the snapshot keeps no copy, like --manifest-only).
 * @throws SnapError `S3_URL_MALFORMED` | `USAGE` (--out, --records or --incremental with an S3 dataset)
 */
async function s3Scan(a: Args, io: CliIo): Promise<{ scan: DatasetScan; readConfig: () => Promise<Uint8Array | undefined> } | undefined> {
  const url = String(a.dir);
  if (!isS3Url(url)) return undefined;
  parseS3Url(url); // a malformed location fails before the SDK loads
  for (const flag of ['out', 'records'] as const) if (a[flag] !== undefined) throw new SnapError('USAGE', `--${flag} is not supported for a dataset in S3 (${url})`);
  if (a.incremental) throw new SnapError('USAGE', `--incremental is not supported for a dataset in S3 (it compares local file identities: device, inode, ctime)`);
  const { openS3Dataset, readS3Config, scanS3Dataset } = await import('../../s3/dataset.js');
  const ds = openS3Dataset(url, io.env);
  const excludes = Array.isArray(a.exclude) ? a.exclude.map(String) : [];
  return { scan: (sink, onProgress) => scanS3Dataset(ds, sink, onProgress, { excludes }), readConfig: () => readS3Config(ds) };
}

/** Rules of `--records RULE…`, `[]` for `--no-records`, undefined for the dataset's own `snap.json`. */
export function recordRulesOf(a: Args) {
  if (a['no-records'] === true) return [];
  const list = (Array.isArray(a.records) ? a.records : a.records === undefined ? [] : [a.records]).map(String);
  return list.length > 0 ? list.map(parseRuleFlag) : undefined;
}

async function cmdSeal(a: Args, io: CliIo): Promise<number> {
  const s3 = await s3Scan(a, io);
  const scan = s3?.scan;
  // Straight into an archive, no store (its code, with tar-stream, loaded only then).
  if (a.out !== undefined) return (await import('./seal-out.js')).cmdSealOut(a, io);
  const expiresAt = a.expires === undefined ? undefined : parseExpiry(String(a.expires), new Date());
  const store = storePath(a.store, io.env, io.cwd);
  const [key, ...coSigners] = await signingKeys(io, a);
  const dir = scan ? String(a.dir) : resolve(io.cwd, String(a.dir));
  const manifestOnly = !!a['manifest-only'] || scan !== undefined;
  const recordRules = recordRulesOf(a);
  const provenance = await provenanceFromArgs(a, io, store);
  const r = await withProgress(a, io, 'sealing', (onProgress) =>
    seal({
      dir,
      as: String(a.as),
      key: key as PrivateKey,
      coSigners,
      store,
      parent: a['no-parent'] ? null : parentRef(a, io),
      excludes: (a.exclude as string[]) ?? [],
      manifestOnly,
      expiresAt,
      ...(s3 ? { scan: s3.scan, readConfig: s3.readConfig } : {}),
      ...(recordRules ? { recordRules } : {}),
      provenance,
      jobs: checkJobs(a.jobs),
      onProgress,
      ...(a.incremental ? { incremental: { statCacheDir: join(stateDir(undefined, io.env, io.cwd), STAT_CACHE_DIR) } } : {}),
    }),
  );
  announceNewStore(io, r.storeCreated, store);
  // details.objects: whether the store keeps the files' contents — what contents.json, unsigned, says; fsck holds it to this line.
  const log = await audit(io, store, { command: 'seal', ref: r.ref, snapshot: r.snapshot, outcome: 'ok', details: { objects: !manifestOnly, ...(r.mendedObjects.length > 0 ? { mendedObjects: r.mendedObjects.length } : {}) } }, { quiet: !!a.quiet });
  const mended = mendedObjectsNote(r.mendedObjects, ['was not the size of the file sealed under its digest', 'were not the size of the file sealed under their digest'], 'it');
  if (mended && !a.quiet) io.stderr.write(mended);
  if (a.json) {
    jsonOut(io, {
      ...sealedJson(r), newObjects: r.newObjects, newObjectBytes: r.newObjectBytes, mendedObjects: r.mendedObjects, // --manifest-only keeps record indexes, which may be mended too
      seconds: Number(r.seconds.toFixed(3)), store, storeCreated: r.storeCreated, manifestOnly, ...(r.records ? { records: r.records } : {}), ...(r.incremental ? { incremental: r.incremental } : {}),
      ...(r.recordSetsNotKept ? { recordSetsNotKept: r.recordSetsNotKept } : {}), ...(r.unsignedParent ? { unsignedParent: r.unsignedParent.ref } : {}), log,
    });
  } else if (a.quiet) {
    io.stdout.write(`${r.snapshot}\n`);
  } else {
    const lines = [
      ...sealedLines(r),
      scan ? `  contents     not kept (they stay in ${shown(dir)})` : a['manifest-only'] ? `  contents     not kept (--manifest-only)` : `  store        ${shown(store)}: ${plural(r.newObjects, 'new object')} (${formatBytes(r.newObjectBytes)})`,
      ...(r.records ? sealedRecordLines(r.records) : []),
      ...(r.incremental ? incrementalLines(r.incremental) : []),
      ...(r.unsignedParent ? [`  note         the parent ${shown(r.unsignedParent.ref)}${r.unsignedParent.byDefault ? ` (the newest snapshot of ${shown(r.ref.slice(0, r.ref.indexOf('@')))})` : ''} is signed by none of the keys this seal signs with (planted in the store by someone who can write it, or sealed with another key); its id is signed into this snapshot as its parent: if it is not the previous version, name the right one with --parent REF (or --no-parent)`] : []),
      ...(r.recordSetsNotKept ? [`  note         the parent ${shown(r.recordSetsNotKept.parent)} has a record index for ${r.recordSetsNotKept.sets.map((n) => shown(n)).join(', ')}; this snapshot has none (diff and check cannot compare those records): declare record rules in DIR/snap.json to keep them from version to version`] : []),
      `  took         ${r.seconds.toFixed(2)} s (${formatBytes(r.bytes / Math.max(r.seconds, 1e-3))}/s)`,
    ];
    io.stdout.write(lines.join('\n') + '\n');
  }
  return EXIT_OK;
}

/** The report lines of an incremental seal. */
function incrementalLines(x: NonNullable<Awaited<ReturnType<typeof seal>>['incremental']>): string[] {
  const why: Record<string, string> = {
    absent: 'no stat cache of the parent on this machine: every file was read; the next --incremental seal can skip unchanged files',
    'other-machine': "the parent's stat cache is of another machine, boot or folder: every file was read",
    malformed: "the parent's stat cache is damaged and was not used: every file was read",
    'unsigned-parent': "the parent is not signed by a key this seal signs with (forged in the store, or sealed with another key): none of its digests was taken, every file was read",
    unsafe: 'the stat cache is under a folder another user could change: it was neither read nor written, every file was read',
    used: `${plural(x.reused, 'file')} (${formatBytes(x.reusedBytes)}) unchanged since the parent was sealed here: digests taken from it, not read`,
  };
  return [`  incremental  ${x.parent ? why[x.cache] : 'no parent: every file was read'}`, ...(x.note ? [`  note         ${shown(x.note)}`] : [])];
}

/** `snap seal <dir>`. */
export const sealCommand: CommandSpec = {
  command: 'seal <dir>',
  describe: 'Hash, sign and store DIR as a new snapshot NAME@VERSION',
  builder: (y) =>
    withExamples(
      provenanceOptions(commonFlags(y, { store: true, quiet: 'print only the snapshot id: no report, no progress', jobs: true }))
        .positional('dir', { type: 'string', describe: 'the dataset folder, or s3://BUCKET/PREFIX (the objects under PREFIX; AWS_ENDPOINT_URL, AWS_PROFILE etc. as for the AWS CLI): every file under it is hashed and signed' })
        .option('as', { type: 'string', requiresArg: true, demandOption: true, describe: 'NAME@VERSION of the new snapshot, e.g. fraud-train@model-v3 (required)' })
        .option('key', { type: 'string', array: true, requiresArg: true, demandOption: true, describe: 'private key file (PKCS#8 PEM) to sign with (required; repeatable: each key signs)' })
        .option('passphrase-env', { type: 'string', requiresArg: true, describe: 'environment variable holding the key passphrase' })
        .option('parent', { type: 'string', requiresArg: true, describe: 'ref of the previous version (default: the newest snapshot of NAME)' })
        .option('no-parent', { type: 'boolean', describe: 'record no parent' })
        .conflicts('parent', 'no-parent')
        .option('exclude', { type: 'string', array: true, requiresArg: true, default: [], describe: 'gitignore-style pattern to leave out, letter case exact (repeatable; recorded in the statement)' })
        .option('manifest-only', { type: 'boolean', describe: 'record and sign only; keep no copy of the contents' })
        .option('expires', { type: 'string', requiresArg: true, describe: 'the snapshot expires after this: 90d, 12h, 2w, a date 2027-01-31 or 2027-01-31T12:00:00Z (recorded as expiresAt; verify refuses it from then on)' })
        .option('out', { type: 'string', requiresArg: true, describe: 'seal straight into this archive (FILE.snap.tar) instead of the store; it holds the contents' })
        .conflicts('out', 'manifest-only')
        .option('records', { type: 'string', array: true, requiresArg: true, describe: "record rule instead of DIR/snap.json's, e.g. 'train.csv key=id label=y', 'mail/*/* format=files label-segment=1' or 'sst.tsv format=tsv quoting=none label=label' (repeatable; docs/FORMAT.md §19)" })
        .option('no-records', { type: 'boolean', describe: 'index no records, whatever DIR/snap.json says' })
        .conflicts('records', 'no-records')
        .option('incremental', { type: 'boolean', describe: "take the parent's digest for each file unchanged (device, inode, size, mtime, ctime) since the parent was sealed on this machine, itself with --incremental (only such a seal writes the stat cache the next one reads; the first reads every file), instead of reading it (the stat cache is kept in the state folder, $SNAP_STATE_DIR, else $XDG_STATE_HOME/snap, else ~/.local/state/snap: under a folder another user could change, none is read or written and every file is read); signed as predicate.incremental (docs/FORMAT.md §22)" })
        .conflicts('incremental', 'out')
        .option('retain', { type: 'string', requiresArg: true, describe: 'S3 store with Object Lock only: lock every object and file of the snapshot until then (400d, 2w, a date 2027-01-31 or 2027-01-31T12:00:00Z); a shared object\'s lock is extended, never shortened' })
        .option('retain-mode', { type: 'string', requiresArg: true, choices: ['compliance', 'governance'], describe: 'with --retain: compliance (nobody can delete or shorten; default) or governance' })
        .conflicts('out', 'retain'),
      [
        ['$0 seal data/ --as spam@v1 --key keys/ci.key', 'seal data/ into ./.snap as spam@v1'],
        ["$0 seal data/ --as t@v1 --key ci.key --records 'train.csv key=id label=y'", 'with a record index of train.csv'],
        ['$0 seal data/ --as spam@v2 --key keys/ci.key --incremental', 'read only the files changed since spam@v1 was sealed here with --incremental'],
        ['$0 seal s3://corpus/train/ --as t@v2 --key ci.key', 'a dataset in S3 (its objects stay there)'],
        ['$0 seal data/ --as t@v2 --key ci.key --store s3://ml-data/snap --retain 400d', 'into an S3 store, under Object Lock for 400 days'],
      ],
    ),
  run: auditErrors('seal', (a) => a.as, cmdSeal),
};
