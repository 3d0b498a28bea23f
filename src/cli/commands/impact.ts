/**
 * `snap impact <ref>`: every snapshot derived from REF, and every model attested as trained on any
 * of them. Nothing is verified unless `--pubkey` is given: then every snapshot and attestation of the
 * store is checked first, those that fail are left out of the graph and listed, and the exit code
 * is 1 if there is any (the answer may be incomplete). Every attestation the audit log records must
 * still be in the store (docs/FORMAT.md §13): one that is not is listed, its model with it when the
 * log says it was trained on what REF reached, and the exit code is 1 too — as it is when lines of
 * the log cannot be read or used, or when the store holds a name as another snapshot than the signed
 * records (derivations, attestations) name by it: replaced (`replacedSnapshots`).
 */
import { escapeForTerminal as shown, escapeMessage, quotedPath } from '../../core/display.js';
import { openStore, storePath } from '../../io/store.js';
import { impact, signatureTrust, type FromLog, type ImpactResult, type ImpactTrust, type MissingState } from '../../provenance/lineage.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { STATE_DIR_OPTION } from '../trust-args.js';
import { beginLogCheck } from '../audit-log-check.js';
import { plural, treeIndent } from '../format.js';
import { jsonOut, locate, trustedKeys, type Args, type CliIo, type CommandSpec, commonFlags, withExamples } from '../common.js';

async function cmdImpact(a: Args, io: CliIo): Promise<number> {
  const storeRoot = storePath(a.store, io.env, io.cwd);
  const store = await openStore(storeRoot);
  const loc = await locate(String(a.ref), io, storeRoot);
  const pubs = a.pubkey === undefined ? [] : (Array.isArray(a.pubkey) ? a.pubkey : [a.pubkey]).map(String);
  const keys = pubs.length > 0 ? await trustedKeys(pubs, io.cwd) : undefined;
  // Signatures only: a revoked or expired snapshot is still what its signers said it came from.
  const trust: ImpactTrust | undefined = keys && signatureTrust(keys);
  // The checkpoint check shares impact's pass over the audit log (read once).
  const logCheck = await beginLogCheck(a, io, store.root);
  const r0 = await impact(loc, store, trust, logCheck.leaves ? { logLeaves: logCheck.leaves } : {});
  const r = { ...r0, auditLog: { ...r0.auditLog, ...(await logCheck.finish()) } };
  const failed = (r.unverified?.length ?? 0) + (r.unverifiedModels?.length ?? 0);
  // What the audit log records and the store no longer holds, or what of the log cannot be checked: the answer cannot be vouched for either.
  const log = r.auditLog;
  // No log.jsonl at all (and no error reading one): a store the CLI made has one from its start (init
  // writes its first line), so it was removed, and attestations with it can be gone unseen — said in a
  // note, as a log without checkpoints is: a store made through the library (ops/seal.ts) keeps none.
  const noLog = !log.read && log.error === undefined;
  const unchecked = log.unreadableLines + log.refused.filter((x) => !x.attestationChecked).length + log.refusedUnlistedUnchecked + (log.error !== undefined ? 1 : 0);
  const missing = r.missingAttestations.length + log.unlisted;
  const cps = r.auditLog.checkpoints;
  // A name the store holds as another snapshot than signed records name: the answer is about another snapshot than theirs.
  const replaced = r.replacedSnapshots;
  const code = failed + missing + unchecked + cps.problems.length + replaced.length > 0 ? EXIT_INTEGRITY : EXIT_OK;
  if (a.json) {
    jsonOut(io, { ok: code === EXIT_OK, ...r, verified: trust !== undefined });
    return code;
  }
  const untrusted = new Set((r.unverified ?? []).map((u) => u.id));
  const replacedBy = new Map(replaced.map((x) => [x.snapshot, x.found]));
  const absent = (id: string) => (untrusted.has(id) ? 'its signatures fail' : replacedBy.has(id) ? `replaced in the store by ${shown(replacedBy.get(id) as string)}` : 'not in the store');
  const lines = [`impact of ${shown(r.snapshot.ref)} ${shown(r.snapshot.snapshot)}`];
  lines.push(r.derived.length === 0 ? '  derived snapshots: none' : `  derived snapshots (${r.derived.length}):`);
  for (const d of r.derived) lines.push(`    ${treeIndent(d.depth - 1, true)}${shown(d.ref)}  ${shown(d.snapshot)}  (${d.via.relation === 'parent' ? 'next version of' : 'derived from'} ${shown(d.via.from)})`);
  lines.push(r.models.length === 0 ? '  attested models: none' : `  attested models trained on them (${r.models.length}) — retrain or re-check:`);
  for (const m of r.models) lines.push(`    ${shown(m.ref)}  ${shown(m.attestation)}  trained on ${m.trainedOn.map((t) => shown(t.ref)).join(', ')}  (${m.artifacts.map((x) => quotedPath(x.name)).join(', ')})${goneNote(m.fromLog, r)}`);
  if (r.possiblyDerived.length + r.possiblyAffectedModels.length > 0) lines.push(`  possibly affected (${r.possiblyDerived.length + r.possiblyAffectedModels.length}): their lineage passes through a snapshot ${trust ? 'not in the store or not verified' : 'not in the store'}, so whether they derive from ${shown(r.snapshot.ref)} cannot be told here:`);
  for (const d of r.possiblyDerived) lines.push(`    ${shown(d.ref)} ${shown(d.snapshot)}  (came from ${d.missing.ref !== undefined ? `${shown(d.missing.ref)} ` : ''}${shown(d.missing.snapshot)}, ${absent(d.missing.snapshot)})`);
  for (const m of r.possiblyAffectedModels) lines.push(`    model ${shown(m.ref)} ${shown(m.attestation)}  trained on ${m.trainedOn.map((t) => `${shown(t.ref)}${t.inStore ? '' : ` (${absent(t.snapshot)})`}`).join(', ')}  (${m.artifacts.map((x) => quotedPath(x.name)).join(', ')})${goneNote(m.fromLog, r)}`);
  // Two stores may each seal a NAME@VERSION of their own under one key: a record may name another store's (seal --derived-from a snapshot folder elsewhere).
  if (replaced.length > 0) lines.push(`  snapshots replaced in the store (${replaced.length}): the store holds another snapshot under the name signed records give it: replaced (a copy from another store signed by the same keys?), or the records name another store's snapshot of that name (--derived-from a snapshot folder elsewhere); what derives from the one they name, or was trained on it, is listed as possibly affected:`);
  for (const x of replaced) lines.push(`    ${shown(x.ref)}: the store holds ${shown(x.found)}, but ${namedByText(x.namedBy)} ${x.namedBy.length === 1 ? 'names' : 'name'} ${shown(x.snapshot)} by that name`);
  if (missing > 0) lines.push(`  attestations the audit log records that the store no longer holds (${missing}) — the models they name are not vouched for here; retrain or re-check them:`);
  for (const m of r.missingAttestations) {
    const what = m.datasets ? `trained on ${m.datasets.map((d) => `${shown(d.ref)} ${shown(d.snapshot)}`).join(', ')}  (${(m.models ?? []).map((x) => quotedPath(x.name)).join(', ')})` : 'the log does not record what it was trained on (a line of an older snap, or its details refused)';
    lines.push(`    ${shown(m.ref)} ${shown(m.id)}  ${MISSING_TEXT[m.state]}${m.found !== undefined ? ` by ${shown(m.found)}` : ''} (audit log seq ${m.seq}, ${shown(m.time)})  ${what}`);
  }
  if (log.unlisted > 0) lines.push(`    … and ${log.unlisted} more, not listed (the first ${r.missingAttestations.length} are)`);
  if (failed > 0) lines.push(`  not verified (${failed}): their signatures fail under the given keys, so what they derive from or were trained on cannot be believed; the answer above may be incomplete:`);
  for (const u of r.unverified ?? []) lines.push(`    snapshot ${shown(u.ref)}${u.id ? ` ${shown(u.id)}` : ''}  ${shown(u.message)} [${u.code}]`);
  for (const u of r.unverifiedModels ?? []) lines.push(`    model ${shown(u.ref)}${u.id ? ` ${shown(u.id)}` : ''}  ${shown(u.message)} [${u.code}]`);
  for (const s of r.skipped) lines.push(`note: ${shown(s.ref)} left out: its statement cannot be used [${s.code}]`);
  for (const s of r.skippedAttestations) lines.push(`note: attestation ${shown(s.ref)} left out, so a model trained on these snapshots may be missing above: ${shown(s.reason)} [${s.code}]`);
  if (cps.problems.length > 0) {
    const unreadable = cps.problems.every((p) => p.kind === 'malformed');
    lines.push(unreadable
      ? `  the audit log cannot be checked against its checkpoints (${plural(cps.problems.length, 'problem')}): an attestation and its line may both be gone and its model missing above (snap log --verify):`
      : `  the audit log does not hold to its checkpoints (${plural(cps.problems.length, 'problem')}): lines were removed or rewritten after a signed checkpoint, so an attestation and its line may both be gone and its model missing above (snap log --verify):`);
    for (const p of cps.problems) lines.push(`    ${p.kind}: ${escapeMessage(p.message)}`);
  }
  for (const x of log.refused) lines.push(`note: audit log line ${x.line} (seq ${x.seq}) ${x.attestationChecked ? 'records an attestation whose training data and artifacts' : 'records an attestation that'} cannot be used: ${shown(x.reason)}${x.attestationChecked ? '' : ' (it is not checked)'}`);
  if (log.refusedUnlisted > 0) lines.push(`note: … and ${plural(log.refusedUnlisted, 'more attest line')} of the audit log that cannot be used`);
  if (log.unreadableLines > 0) lines.push(`note: ${plural(log.unreadableLines, 'line')} of the audit log cannot be read (malformed, or over 1 MiB): an attestation ${log.unreadableLines === 1 ? 'it records' : 'they record'} is not checked (snap log --verify)`);
  if (log.error !== undefined) lines.push(`note: the audit log cannot be read, so the attestations it records are not checked: ${escapeMessage(log.error)}`);
  if (noLog) lines.push('note: the store has no audit log (log.jsonl), which a store the snap command made holds from its start (init writes its first line): if this one had it, it was removed, and attestations removed with it, and the models they name, cannot be seen here (keep a checkpoint: snap log checkpoint --key KEY)');
  if (cps.problems.length === 0 && r.auditLog.lines > cps.covered) {
    const span = r.auditLog.lines === cps.covered + 1 ? `line ${r.auditLog.lines} of the audit log comes` : `lines ${cps.covered + 1}–${r.auditLog.lines} of the audit log come`;
    lines.push(cps.newest === undefined && cps.covered === 0
      ? 'note: the audit log has no checkpoint: an attestation deleted together with its line and log.head cannot be seen here (sign one after each attest: snap log checkpoint --key KEY)'
      : `note: ${span} after its newest checkpoint: an attestation line there, deleted with the attestation and log.head, cannot be seen here (snap log checkpoint --key KEY); the checkpoints' signatures are checked by snap log --verify --pubkey KEY.pub`);
  }
  lines.push(trust ? `(every snapshot and attestation of the store checked against ${pubs.length === 1 ? 'the given key' : `${pubs.length} given keys`}: signatures only, revocations and expiry aside)` : '(read from the store, not verified: give --pubkey to check the signatures of every snapshot and attestation, or run "snap verify-model" on each model)');
  io.stdout.write(lines.join('\n') + '\n');
  return code;
}

/** Records naming a replaced snapshot that the human output names one by one; the rest are counted. */
const MAX_NAMED_BY_SHOWN = 8;

/** `mid@v1, model m@1 and 3 more`: the records naming a replaced snapshot (ImpactResult `replacedSnapshots[].namedBy`). */
function namedByText(namedBy: ImpactResult['replacedSnapshots'][number]['namedBy']): string {
  const names = namedBy.slice(0, MAX_NAMED_BY_SHOWN).map((b) => `${b.kind === 'attestation' ? 'model ' : ''}${shown(b.ref)}`);
  if (namedBy.length > MAX_NAMED_BY_SHOWN) return `${names.join(', ')} and ${namedBy.length - MAX_NAMED_BY_SHOWN} more`;
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : (names[0] as string);
}

/** How the human output says why a model's attestation is missing (ImpactResult `missingAttestations[].state`). */
const MISSING_TEXT: Record<MissingState, string> = {
  gone: 'removed',
  replaced: 'replaced',
  unreadable: 'its folder cannot be read (see the note below)',
  unverified: 'does not verify (see below)',
};

/** The note after a model listed from the audit log because its attestation is missing. */
function goneNote(fromLog: FromLog | undefined, r: ImpactResult): string {
  if (!fromLog) return '';
  const found = r.missingAttestations.find((m) => m.seq === fromLog.seq)?.found;
  const what = { gone: 'is gone from the store', replaced: `was replaced in the store${found !== undefined ? ` by ${shown(found)}` : ''}`, unreadable: 'cannot be read in the store', unverified: 'does not verify' }[fromLog.state];
  return ` — its attestation ${what} (audit log seq ${fromLog.seq})`;
}

/** `snap impact <ref>`. */
export const impactCommand: CommandSpec = {
  command: 'impact <ref>',
  describe: 'Every snapshot derived from REF and every model trained on any of them',
  builder: (y) =>
    withExamples(
      commonFlags(y, { store: true })
        .positional('ref', { type: 'string', describe: 'NAME@VERSION, a snapshot id or prefix, or a snapshot folder' })
        .option('pubkey', { type: 'string', array: true, requiresArg: true, describe: 'check the signatures of every snapshot and attestation of the store against these keys (repeatable; the data and the model keys): those that fail are left out and listed, exit 1' })
        .option('state-dir', { ...STATE_DIR_OPTION, describe: "folder of the trusted state, whose kept audit-log checkpoint the log must extend (default: $SNAP_STATE_DIR, else $XDG_STATE_HOME/snap, else ~/.local/state/snap)" }),
      [
        ['$0 impact vendor-dump@2026-11', 'which datasets and models a poisoned source reached'],
        ['$0 impact vendor-dump@2026-11 --pubkey keys/data.pub --pubkey keys/ml.pub', 'the same, believing only what those keys signed (exit 1 if anything in the store fails)'],
      ],
    ),
  run: cmdImpact,
};
