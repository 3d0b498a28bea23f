/** `snap restore <ref> <dir>`: write a snapshot's files into a new or empty folder, each checked, then verify the folder. */
import { resolve } from 'node:path';
import { escapeForTerminal as shown, escapeMessage, escapePath } from '../../core/display.js';
import { storePath } from '../../io/store.js';
import { restore, type RestoreSource } from '../../ops/restore.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { formatBytes, plural, shortKeyid, styler, trustedOnce } from '../format.js';
import { withProgress } from '../progress.js';
import { isArchiveFile } from '../snapshot-ref.js';
import { recordVersionSeen, trustOptions, trustSetup } from '../trust-args.js';
import { trustDomain } from '../../trust/latest.js';
import { storeIdentities } from '../store-identity.js';
import { jsonOut, checkJobs, isInside, locate, commonFlags, mustExistIfPath, MAX_JOBS, type Args, type CliIo, type CommandSpec, audit, auditErrors, withExamples } from '../common.js';
import { MAX_DEFAULT_IO_JOBS } from '../../io/read-pool.js';

/** At most this many of a failed final verify's problems in the human report (--json lists all). */
const PROBLEMS_SHOWN = 20;

async function cmdRestore(a: Args, io: CliIo): Promise<number> {
  const store = storePath(a.store, io.env, io.cwd);
  const { trusted, threshold, rules, policy, stateDir, keepRevocations, state } = await trustSetup(a, io, store);
  const refText = String(a.ref);
  mustExistIfPath(refText, io, 'snapshot folder or archive');
  const source: RestoreSource = isArchiveFile(refText, io.cwd)
    ? { kind: 'archive', file: resolve(io.cwd, refText), ref: refText }
    : { kind: 'snapshot', snapshot: await locate(refText, io, store), store };
  const dir = resolve(io.cwd, String(a.dir));
  const r0 = await withProgress(a, io, 'restoring', (onProgress) => restore({ source, dir, trusted, threshold, rules, jobs: checkJobs(a.jobs), onProgress, allowSharedTarget: a['allow-shared-target'] === true })).finally(keepRevocations);
  // A snapshot restored from the store is recorded as verify records it (FORMAT.md §17): a machine
  // that only restores is then held to what it restored. Judged again under the state's lock: another
  // snapshot of the version recorded meanwhile by a concurrent run fails the restore (its folder
  // verifies against the snapshot trusted at the start, but which of the two is genuine is unknown).
  const st = r0.verify.statement;
  const replaced = r0.ok && st && source.kind === 'snapshot' && isInside(source.snapshot.dir, store)
    ? await recordVersionSeen(a, io, stateDir, trustDomain(trusted, threshold, policy), r0.verify.snapshot, st, await storeIdentities(store, io), state)
    : undefined;
  const r = replaced ? { ...r0, ok: false } : r0;
  const v = r.verify;
  const log = await audit(io, store, { command: 'restore', ref: r.ref, snapshot: r.snapshot, outcome: r.ok ? 'ok' : 'failed', details: { dir: r.dir } }, { quiet: !!a.quiet });
  if (a.json) {
    jsonOut(io, {
      log,
      ok: r.ok, ref: r.ref, snapshot: r.snapshot, dir: r.dir,
      signers: r.signers.map((x) => ({ keyid: x.keyid, trusted: x.trusted, ...(x.reason ? { reason: x.reason } : {}) })),
      files: r.files, symlinks: r.symlinks, bytes: r.bytes, removed: r.removed,
      verify: { ok: v.ok, counts: v.counts, problems: v.problems, ...(v.failure ? { failure: v.failure } : {}), manifest: v.manifest, seconds: Number(v.seconds.toFixed(3)) },
      ...(replaced ? { failure: replaced } : {}),
      seconds: Number(r.seconds.toFixed(3)),
    });
  } else {
    const s = styler(!!io.stdout.isTTY && !io.env.NO_COLOR);
    const what = `${plural(r.files, 'file')}${r.symlinks ? `, ${plural(r.symlinks, 'symbolic link')}` : ''} (${formatBytes(r.bytes)})`;
    const signers = trustedOnce(r.signers).map((x) => shortKeyid(x.keyid)).join(', ');
    io.stdout.write(
      replaced
        ? `${s.red(s.bold('FAIL'))}  restored ${shown(r.ref)} into ${shown(r.dir)}, and it verifies against the snapshot trusted at the start, but meanwhile this machine recorded another snapshot as this version: do not use it\n  ${escapeMessage(replaced.message)} [${replaced.code}]\n`
        : r.ok
        ? `${s.green(s.bold('OK'))}    restored ${shown(r.ref)} into ${shown(r.dir)}: ${what}, signed by ${signers}; the folder verifies\n`
        : `${s.red(s.bold('FAIL'))}  wrote ${shown(r.ref)} into ${shown(r.dir)}, but the folder did not verify (${plural(v.problems.length, 'problem')}: something changed it while restore worked in it), ${r.removed ? 'so what restore wrote was removed; nothing restored is left' : 'and it is no longer the folder restore worked in (moved away, something else in its place), so nothing was removed there: do not use it'}\n` +
            v.problems.slice(0, PROBLEMS_SHOWN).map((p) => `  ${p.kind}: ${escapePath(p.path)}\n`).join('') +
            (v.problems.length > PROBLEMS_SHOWN ? `  … and ${v.problems.length - PROBLEMS_SHOWN} more (--json lists all)\n` : '') +
            (v.failure ? `  ${escapeMessage(v.failure.message)}\n` : ''),
    );
  }
  return r.ok ? EXIT_OK : EXIT_INTEGRITY;
}

/** `snap restore <ref> <dir>`. */
export const restoreCommand: CommandSpec = {
  command: 'restore <ref> <dir>',
  describe: 'Write a snapshot into a new or empty folder, checked, then verified',
  builder: (y) =>
    withExamples(
      trustOptions(commonFlags(y, { store: true, quiet: 'no progress and no notes', jobs: `worker threads writing and checking the files (default: the number of cores, at most ${MAX_DEFAULT_IO_JOBS}), then hashing them in the final verify (default: the number of cores); 1 to ${MAX_JOBS}` }))
        .positional('ref', { type: 'string', describe: 'NAME@VERSION, snapshot id, snapshot folder, or an archive FILE.snap.tar' })
        .positional('dir', { type: 'string', describe: 'target folder: absent (made) or empty (the .snap-probe.* entries a killed restore left there are removed first)' })
        .option('allow-shared-target', { type: 'boolean', describe: 'restore even where another user can write in the target or a folder above it (they could redirect the writes or change the files after the check)' })
        .epilog(
          'Each file is checked against its digest as it is written, then the whole folder is verified against the snapshot. ' +
            'On any error, or when that final verify fails (something changed the folder meanwhile), what restore wrote is removed: ' +
            'a folder that did not verify is never left behind. Exit 0 restored and verified, 1 not trusted or not verified (nothing left), 3 bad target or input.\n', // a blank line before the exit codes (run.ts)
        ),
      [
        ['$0 restore spam@v1 data/ --pubkey keys/ci.pub', 'exit 0: data/ is exactly spam@v1'],
        ['$0 restore spam@v1.snap.tar data --pubkey ci.pub', 'straight from an archive, no store'],
      ],
    ),
  run: auditErrors('restore', (a) => a.ref, cmdRestore),
};
