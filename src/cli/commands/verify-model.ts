/** `snap verify-model MODEL_FILE… --pubkey PUB…`: which signed snapshots a model was trained on, and whether each is still trusted. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LOG_FILE } from '../../io/audit-log.js';
import { revocationSource } from '../../trust/revocations.js';
import { stateDir } from '../../trust/state.js';
import { SnapError } from '../../core/errors.js';
import { NAME_RE, NAME_RULE_TEXT, parseNameVersion } from '../../core/refs.js';
import { escapeForTerminal as shown, escapeMessage, quotedPath } from '../../core/display.js';
import { openStore, storePath } from '../../io/store.js';
import { hashModelFiles } from '../../provenance/artifacts.js';
import { verifyModel } from '../../provenance/verify-model.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { shortKeyid, trustedOnce } from '../format.js';
import { jsonOut, trustedKeys, audit, auditErrors, type Args, type CliIo, type CommandSpec, commonFlags, withExamples } from '../common.js';
import { STATE_DIR_OPTION, rememberedRevocations } from '../trust-args.js';
import { beginLogCheck } from '../audit-log-check.js';

async function cmdVerifyModel(a: Args, io: CliIo): Promise<number> {
  const storeRoot = storePath(a.store, io.env, io.cwd);
  const pubs = (Array.isArray(a.pubkey) ? a.pubkey : [a.pubkey]).filter((x) => x !== undefined).map(String);
  if (pubs.length === 0) throw new SnapError('USAGE', 'name the trusted keys with --pubkey PUB');
  const expect = a.expect !== undefined ? String(a.expect) : undefined;
  // MODEL@VERSION as every ref is parsed (REF_MALFORMED, exit 2); a bare MODEL as a NAME.
  if (expect !== undefined && expect.includes('@')) parseNameVersion(expect);
  else if (expect !== undefined && !NAME_RE.test(expect)) throw new SnapError('USAGE', `--expect ${JSON.stringify(expect)} is not MODEL or MODEL@VERSION (MODEL: ${NAME_RULE_TEXT})`);
  const trusted = await trustedKeys(pubs, io.cwd);
  const files = (Array.isArray(a.files) ? a.files : [a.files]).map(String);
  const { artifacts, fromFolder } = await hashModelFiles(files, io.cwd);
  const complete = a.complete === true || fromFolder;
  const store = await openStore(storeRoot);
  const attestationFile = a.attestation !== undefined ? resolve(io.cwd, String(a.attestation)) : undefined;
  // The store's revocations and those this machine has kept (trusted state): a store that deletes one cannot clear the model.
  // An unreadable state is a note, as for verify (trust-args.ts).
  const remembered = await rememberedRevocations(stateDir(a['state-dir'] as string | undefined, io.env, io.cwd), a, io);
  const revocations = revocationSource(store.root, [], remembered, remembered.counted);
  // With the store's attestations, the checkpoint check shares verifyModel's pass over the audit log (read once).
  const logCheck = attestationFile === undefined ? await beginLogCheck(a, io, store.root) : undefined;
  // Looked at before this run appends its own line (which would start a new log): a store the CLI made
  // holds log.jsonl from its start (init writes its first line), so none there means it was removed —
  // said in a note (a store made through the library keeps none).
  const noLog = logCheck !== undefined && !existsSync(join(store.root, LOG_FILE));
  const r0 = await verifyModel({ files: artifacts, trusted, store, revocations, ...(attestationFile ? { attestationFile } : {}), ...(expect !== undefined ? { expect } : {}), complete, ...(logCheck?.leaves ? { logLeaves: logCheck.leaves } : {}) });
  await remembered.keep();
  // With the store's attestations, what the audit log records of them counts (verifyModel's
  // missingAttestations): the log must then still extend its checkpoints, or an attestation of
  // these files may have been removed with its line.
  const auditLog = logCheck ? await logCheck.finish() : undefined;
  const cpProblems = auditLog?.checkpoints.problems ?? [];
  const r = r0.ok && cpProblems.length > 0
    ? { ...r0, ok: false, failure: { code: 'INTEGRITY_FAILURE', message: `the audit log no longer extends its checkpoints (${[...new Set(cpProblems.map((p) => p.kind))].join(', ')}): an attestation of these files may have been removed together with its log line (snap log --verify)` } }
    : r0;
  if (noLog && !a.quiet) io.stderr.write(`note: the store has no audit log (${LOG_FILE}), which a store the snap command made holds from its start (init writes its first line): if this one had it, it was removed, and an attestation of these files removed with it (one naming a revoked or untrusted snapshot, say) cannot be seen here\n`);
  const log = await audit(io, storeRoot, { command: 'verify-model', ...(r.attestations[0] ? { ref: r.attestations[0].ref, snapshot: r.attestations[0].id } : {}), outcome: r.ok ? 'ok' : 'failed', details: { models: r.files.map((f) => f.sha256), ...(r.failure ? { failure: r.failure.code } : {}) } }, { quiet: !!a.quiet });
  if (a.json) {
    jsonOut(io, { ...r, ...(auditLog ? { auditLog } : {}), log });
  } else {
    const lines = [r.ok ? 'model verified: every training snapshot is signed and trusted' : `MODEL NOT VERIFIED: ${escapeMessage(r.failure?.message ?? '')} [${r.failure?.code ?? ''}]`];
    for (const f of r.files) lines.push(`  file         ${quotedPath(f.name)} sha256 ${f.sha256}`);
    for (const att of r.attestations) {
      lines.push(`  attestation  ${shown(att.ref)} ${shown(att.id)} (${shown(att.createdAt)}, signed by ${trustedOnce(att.signers).map((s) => shortKeyid(s.keyid)).join(', ')})`);
      for (const d of att.datasets) lines.push(`    ${d.trusted ? 'trusted    ' : 'NOT TRUSTED'}  ${shown(d.ref)} ${shown(d.snapshot)}${d.failure ? `: ${escapeMessage(d.failure.message)} [${d.failure.code}]` : ''}`);
      if (att.notGiven.length > 0) lines.push(`    note         it also attests ${att.notGiven.map(quotedPath).join(', ')}, not checked here: give the model folder, or every file with --complete, to check the whole model`);
    }
    for (const x of r.rejected) lines.push(`  rejected     ${x.ref !== undefined ? shown(x.ref) : '(unreadable)'}${x.id ? ` ${shown(x.id)}` : ''}: ${escapeMessage(x.failure.message)} [${x.failure.code}]`);
    for (const m of r.missingAttestations ?? []) lines.push(`  missing      ${shown(m.ref)} ${shown(m.id)}  ${m.state === 'gone' ? 'removed' : m.state === 'replaced' ? `replaced by ${shown(m.found ?? '')}` : m.state === 'unverified' ? 'its trusted signature no longer verifies' : 'cannot be read'} (audit log seq ${m.seq}), trained on ${(m.datasets ?? []).map((d) => shown(d.ref)).join(', ')}`);
    for (const p of cpProblems) lines.push(`  audit log    ${p.kind}: ${escapeMessage(p.message)}`);
    for (const u of r.unreadable) lines.push(`note: attestation ${shown(u.ref)} left out, it cannot be read: ${escapeMessage(u.failure.message)} [${u.failure.code}]`);
    io.stdout.write(lines.join('\n') + '\n');
  }
  return r.ok ? EXIT_OK : EXIT_INTEGRITY;
}

/** `snap verify-model <files..>`. */
export const verifyModelCommand: CommandSpec = {
  command: 'verify-model <files..>',
  describe: 'Which signed snapshots a model was trained on; exit 1 unless all are trusted',
  builder: (y) =>
    withExamples(
      commonFlags(y, { store: true, quiet: 'no notes on stderr' })
        .positional('files', { type: 'string', array: true, describe: 'the model artifacts, hashed and looked up among the attestations; a folder: every file in it, as the whole model' })
        .option('pubkey', { type: 'string', array: true, requiresArg: true, demandOption: true, describe: 'trusted public key (required, repeatable): signs the attestation and the snapshots' })
        .option('state-dir', { ...STATE_DIR_OPTION, describe: 'folder of the trusted state, whose kept revocations count and whose kept audit-log checkpoint the log must extend (default: $SNAP_STATE_DIR, else $XDG_STATE_HOME/snap, else ~/.local/state/snap)' })
        .option('attestation', { type: 'string', requiresArg: true, describe: 'an exported attestation file to check instead of the store\'s attestations' })
        .option('complete', { type: 'boolean', describe: 'the files given are the whole model: only an attestation of exactly these files (names and digests) counts (implied when a folder is given)' })
        .option('expect', { type: 'string', requiresArg: true, describe: 'the model meant, MODEL@VERSION (or MODEL, any version): files attested only as another model fail (ATTESTATION_NOT_FOUND)' }),
      [
        ['$0 verify-model model.safetensors --pubkey keys/ml.pub --pubkey keys/data.pub', 'check a model before deploying it'],
        ['$0 verify-model model.safetensors --expect fraud-model@3 --pubkey keys/ml.pub --pubkey keys/data.pub', 'and that these files are fraud-model@3, not another attested model'],
        ['$0 verify-model ./fraud-model/ --pubkey keys/ml.pub --pubkey keys/data.pub', 'a model folder: every file in it, and exactly the files attested'],
      ],
    ),
  run: auditErrors('verify-model', () => undefined, cmdVerifyModel),
};
