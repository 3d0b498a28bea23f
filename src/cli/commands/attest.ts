/** `snap attest MODEL_FILE… --data REF… --key KEY [--as MODEL@VERSION]`: sign which snapshots a model was trained on. */
import { resolve } from 'node:path';
import { SnapError, isSnapError } from '../../core/errors.js';
import { escapeForTerminal as shown, escapeMessage, quotedPath } from '../../core/display.js';
import type { TrainingRun } from '../../core/attestation.js';
import { openStore, storePath } from '../../io/store.js';
import { hashModelFiles, hashFile } from '../../provenance/artifacts.js';
import { defaultFolderRef } from '../../provenance/attest.js';
import { attestModel } from '../../provenance/attest.js';
import { attestLogDetails } from '../../provenance/attest-log.js';
import { storeRevocations } from '../../trust/revocations.js';
import { checkTrust } from '../../snapshot.js';
import { EXIT_OK } from '../exit-codes.js';
import { jsonOut, signingKey, locate, audit, auditErrors, trustedKeys, type Args, type CliIo, type CommandSpec, commonFlags, withExamples } from '../common.js';
import { STATE_DIR_OPTION, pubkeyTrustRules, stateDirNeedsPubkey } from '../trust-args.js';
import { basename } from 'node:path';

function list(v: unknown): string[] {
  return v === undefined ? [] : (Array.isArray(v) ? v : [v]).map(String);
}

function single(v: unknown, flag: string): string | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v) || typeof v !== 'string' || v === '') throw new SnapError('USAGE', `${flag} takes one non-empty value`);
  return v;
}

async function trainingRun(a: Args, io: CliIo): Promise<TrainingRun | undefined> {
  const command = single(a['train-command'], '--train-command');
  const gitCommit = single(a['train-commit'], '--train-commit');
  const hp = single(a.hyperparameters, '--hyperparameters');
  if (gitCommit !== undefined && !/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(gitCommit)) throw new SnapError('USAGE', '--train-commit must be a full git commit id (40 or 64 lowercase hex)');
  const t: TrainingRun = {};
  if (command !== undefined) t.command = command;
  if (gitCommit !== undefined) t.gitCommit = gitCommit;
  if (hp !== undefined) {
    const path = resolve(io.cwd, hp);
    t.hyperparameters = { name: basename(path), sha256: (await hashFile(path)).sha256 };
  }
  return Object.keys(t).length > 0 ? t : undefined;
}

async function cmdAttest(a: Args, io: CliIo): Promise<number> {
  stateDirNeedsPubkey(a);
  const storeRoot = storePath(a.store, io.env, io.cwd);
  const out = single(a.out, '--out');
  const as = single(a.as, '--as');
  const dataRefs = list(a.data);
  if (dataRefs.length === 0) throw new SnapError('USAGE', 'name the training data with --data REF');
  const key = await signingKey(io, a);
  const training = await trainingRun(a, io);
  const files = list(a.files);
  const { artifacts, fromFolder } = await hashModelFiles(files, io.cwd);
  // One model folder and no --as: the model is named after the folder, not after its first file.
  const folderAs = as === undefined && fromFolder && files.length === 1 ? defaultFolderRef(resolve(io.cwd, files[0] as string), artifacts) : undefined;
  // attest never makes a store (README: only init, seal and import do): none there is NOT_FOUND, exit 3.
  const store = await openStore(storeRoot);
  const data = [];
  for (const ref of dataRefs) data.push(await locate(ref, io, storeRoot));
  const outPath = out !== undefined ? resolve(io.cwd, out) : undefined;
  // With --pubkey, each training snapshot is checked as verify-model will judge it (signatures, the
  // statement being the signed payload, its signed name, revocations — the store's and those this
  // machine kept — and expiry) before the key vouches for it; one that fails stops the attestation.
  const pubs = list(a.pubkey);
  const keys = pubs.length > 0 ? await trustedKeys(pubs, io.cwd) : undefined;
  const judged = keys ? await pubkeyTrustRules(a, io, storeRoot, keys) : undefined;
  const check = keys && judged ? (loc: Parameters<typeof checkTrust>[0]) => checkTrust(loc, keys, 1, judged.rules) : undefined;
  let r: Awaited<ReturnType<typeof attestModel>>;
  try {
    r = await attestModel({ artifacts, data, key, store, ...(as !== undefined ? { as } : folderAs !== undefined ? { as: folderAs } : {}), ...(training ? { training } : {}), ...(outPath !== undefined ? { out: outPath } : {}), ...(check ? { check } : {}) });
  } catch (e) {
    // No --as: the name was made from the files, so "choose a new VERSION" names nothing the user gave.
    if (as === undefined && isSnapError(e, 'ATTESTATION_EXISTS') && typeof e.details?.ref === 'string') {
      throw new SnapError('ATTESTATION_EXISTS', `${e.message} (${e.details.ref} is the name made from the model files' name and digest: these files were attested before (snap verify-model FILE… shows by whom and on what data); give --as MODEL@VERSION to sign another attestation of them)`, e.details);
    }
    throw e;
  } finally {
    await judged?.keep();
  }
  // What names the model and its data once the attestation folder is gone (impact holds the store to it).
  const log = await audit(io, storeRoot, { command: 'attest', ref: r.ref, snapshot: r.id, outcome: 'ok', details: { ...attestLogDetails(r.statement, [r.keyid]) } }, { quiet: !!a.quiet });
  const subjects = r.statement.subject.map((s) => ({ name: s.name, sha256: s.digest.sha256 }));
  // A training snapshot with a revocation in the store: attested all the same (it is a fact), but
  // said now rather than first at verify-model, which judges the revocation against its keys.
  const notes: string[] = [];
  for (const d of r.statement.predicate.datasets) {
    const kept = (await storeRevocations(storeRoot, d.snapshot).catch(() => [])).length;
    if (kept > 0) notes.push(`${d.ref} (${d.snapshot}) has ${kept === 1 ? 'a revocation' : `${kept} revocations`} in the store, not judged here: verify-model refuses the model if one is signed by a key it trusts`);
  }
  if (a.json) {
    jsonOut(io, { ok: true, ref: r.ref, attestation: r.id, subjects, datasets: r.statement.predicate.datasets, dataVerified: keys !== undefined, ...(r.statement.predicate.training ? { training: r.statement.predicate.training } : {}), signer: r.keyid, createdAt: r.statement.predicate.createdAt, dir: r.dir, ...(outPath ? { out: outPath } : {}), ...(notes.length ? { notes } : {}), log });
  } else {
    if (!a.quiet) for (const n of notes) io.stderr.write(`note: ${escapeMessage(n)}\n`);
    if (!a.quiet && !keys) io.stderr.write(`note: the training snapshots' signatures were not checked (only that each is signed): give --pubkey KEY.pub to attest only data those keys trust\n`);
    io.stdout.write(
      [
        `attested ${shown(r.ref)}`,
        `  attestation  ${shown(r.id)}`,
        ...subjects.map((s) => `  artifact     ${quotedPath(s.name)} sha256 ${shown(s.sha256)}`),
        ...r.statement.predicate.datasets.map((d) => `  trained on   ${shown(d.ref)} ${shown(d.snapshot)}`),
        `  signed by    ${shown(r.keyid)}`,
        `  stored in    ${shown(r.dir)}`,
        ...(outPath ? [`  exported to  ${shown(outPath)}`] : []),
      ].join('\n') + '\n',
    );
  }
  return EXIT_OK;
}

/** `snap attest <files..>`. */
export const attestCommand: CommandSpec = {
  command: 'attest <files..>',
  describe: 'Sign which snapshots a model (its files) was trained on',
  builder: (y) =>
    withExamples(
      commonFlags(y, { store: true, quiet: 'no notes on stderr' })
        .positional('files', { type: 'string', array: true, describe: 'the model artifacts (weights, tokenizer, config): each file\'s SHA-256 is a subject of the attestation; a folder: every file in it' })
        .option('data', { type: 'string', array: true, requiresArg: true, demandOption: true, describe: 'ref of a training-data snapshot (required, repeatable)' })
        .option('key', { type: 'string', requiresArg: true, demandOption: true, describe: 'private key file (PKCS#8 PEM) to sign with (required)' })
        .option('passphrase-env', { type: 'string', requiresArg: true, describe: 'environment variable holding the key passphrase' })
        .option('as', { type: 'string', requiresArg: true, describe: "MODEL@VERSION of the attestation (default: the first file's name, lower-cased and without its extension, @ the first 12 hex digits of its digest; for a MODEL_DIR, the folder's name @ the first 12 hex digits of a digest of its files' names and digests)" })
        .option('train-command', { type: 'string', requiresArg: true, describe: 'the training command (signed)' })
        .option('train-commit', { type: 'string', requiresArg: true, describe: 'git commit of the training code (signed)' })
        .option('hyperparameters', { type: 'string', requiresArg: true, describe: 'hyper-parameters file; its SHA-256 is signed' })
        .option('out', { alias: 'o', type: 'string', requiresArg: true, describe: 'also export the signed attestation (DSSE envelope) to this new file' })
        .option('pubkey', { type: 'string', array: true, requiresArg: true, describe: "the data's trusted key(s): each --data snapshot must verify under them, not revoked or expired, or nothing is attested (exit 1); repeatable" })
        .option('state-dir', { ...STATE_DIR_OPTION, describe: 'with --pubkey: folder of the trusted state, whose kept revocations count (default: $SNAP_STATE_DIR, else $XDG_STATE_HOME/snap, else ~/.local/state/snap)' }),
      [['$0 attest model.safetensors --data spam@v1 --key keys/ml.key --pubkey keys/data.pub --as spam-clf@1.0', 'attest a model trained on spam@v1, checked against the data key first']],
    ),
  run: auditErrors('attest', (a) => a.as, cmdAttest),
};
