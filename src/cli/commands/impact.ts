/**
 * `snap impact <ref>`: every snapshot derived from REF, and every model attested as trained on any
 * of them. Nothing is verified unless `--pubkey` is given: then every snapshot and attestation of the
 * store is checked first, those that fail are left out of the graph and listed, and the exit code
 * is 1 if there is any (the answer may be incomplete).
 */
import { escapeForTerminal as shown, quotedPath } from '../../core/display.js';
import { openStore, storePath } from '../../io/store.js';
import { impact, signatureTrust, type ImpactTrust } from '../../provenance/lineage.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { treeIndent } from '../format.js';
import { jsonOut, locate, trustedKeys, type Args, type CliIo, type CommandSpec, commonFlags, withExamples } from '../common.js';

async function cmdImpact(a: Args, io: CliIo): Promise<number> {
  const storeRoot = storePath(a.store, io.env, io.cwd);
  const store = await openStore(storeRoot);
  const loc = await locate(String(a.ref), io, storeRoot);
  const pubs = a.pubkey === undefined ? [] : (Array.isArray(a.pubkey) ? a.pubkey : [a.pubkey]).map(String);
  const keys = pubs.length > 0 ? await trustedKeys(pubs, io.cwd) : undefined;
  // Signatures only: a revoked or expired snapshot is still what its signers said it came from.
  const trust: ImpactTrust | undefined = keys && signatureTrust(keys);
  const r = await impact(loc, store, trust);
  const failed = (r.unverified?.length ?? 0) + (r.unverifiedModels?.length ?? 0);
  const code = failed > 0 ? EXIT_INTEGRITY : EXIT_OK;
  if (a.json) {
    jsonOut(io, { ok: code === EXIT_OK, ...r, verified: trust !== undefined });
    return code;
  }
  const untrusted = new Set((r.unverified ?? []).map((u) => u.id));
  const absent = (id: string) => (untrusted.has(id) ? 'its signatures fail' : 'not in the store');
  const lines = [`impact of ${shown(r.snapshot.ref)} ${shown(r.snapshot.snapshot)}`];
  lines.push(r.derived.length === 0 ? '  derived snapshots: none' : `  derived snapshots (${r.derived.length}):`);
  for (const d of r.derived) lines.push(`    ${treeIndent(d.depth - 1, true)}${shown(d.ref)}  ${shown(d.snapshot)}  (${d.via.relation === 'parent' ? 'next version of' : 'derived from'} ${shown(d.via.from)})`);
  lines.push(r.models.length === 0 ? '  attested models: none' : `  attested models trained on them (${r.models.length}) — retrain or re-check:`);
  for (const m of r.models) lines.push(`    ${shown(m.ref)}  ${shown(m.attestation)}  trained on ${m.trainedOn.map((t) => shown(t.ref)).join(', ')}  (${m.artifacts.map((x) => quotedPath(x.name)).join(', ')})`);
  if (r.possiblyDerived.length + r.possiblyAffectedModels.length > 0) lines.push(`  possibly affected (${r.possiblyDerived.length + r.possiblyAffectedModels.length}): their lineage passes through a snapshot ${trust ? 'not in the store or not verified' : 'not in the store'}, so whether they derive from ${shown(r.snapshot.ref)} cannot be told here:`);
  for (const d of r.possiblyDerived) lines.push(`    ${shown(d.ref)} ${shown(d.snapshot)}  (came from ${d.missing.ref !== undefined ? `${shown(d.missing.ref)} ` : ''}${shown(d.missing.snapshot)}, ${absent(d.missing.snapshot)})`);
  for (const m of r.possiblyAffectedModels) lines.push(`    model ${shown(m.ref)} ${shown(m.attestation)}  trained on ${m.trainedOn.map((t) => `${shown(t.ref)}${t.inStore ? '' : ` (${absent(t.snapshot)})`}`).join(', ')}  (${m.artifacts.map((x) => quotedPath(x.name)).join(', ')})`);
  if (failed > 0) lines.push(`  not verified (${failed}): their signatures fail under the given keys, so what they derive from or were trained on cannot be believed; the answer above may be incomplete:`);
  for (const u of r.unverified ?? []) lines.push(`    snapshot ${shown(u.ref)}${u.id ? ` ${shown(u.id)}` : ''}  ${shown(u.message)} [${u.code}]`);
  for (const u of r.unverifiedModels ?? []) lines.push(`    model ${shown(u.ref)}${u.id ? ` ${shown(u.id)}` : ''}  ${shown(u.message)} [${u.code}]`);
  for (const s of r.skipped) lines.push(`note: ${shown(s.ref)} left out: its statement cannot be used [${s.code}]`);
  for (const s of r.skippedAttestations) lines.push(`note: attestation ${shown(s.ref)} left out, so a model trained on these snapshots may be missing above: ${shown(s.reason)} [${s.code}]`);
  lines.push(trust ? `(every snapshot and attestation of the store checked against ${pubs.length === 1 ? 'the given key' : `${pubs.length} given keys`}: signatures only, revocations and expiry aside)` : '(read from the store, not verified: give --pubkey to check the signatures of every snapshot and attestation, or run "snap verify-model" on each model)');
  io.stdout.write(lines.join('\n') + '\n');
  return code;
}

/** `snap impact <ref>`. */
export const impactCommand: CommandSpec = {
  command: 'impact <ref>',
  describe: 'Every snapshot derived from REF and every model trained on any of them',
  builder: (y) =>
    withExamples(
      commonFlags(y, { store: true })
        .positional('ref', { type: 'string', describe: 'NAME@VERSION, a snapshot id or prefix, or a snapshot folder' })
        .option('pubkey', { type: 'string', array: true, requiresArg: true, describe: 'check the signatures of every snapshot and attestation of the store against these keys (repeatable; the data and the model keys): those that fail are left out and listed, exit 1' }),
      [
        ['$0 impact vendor-dump@2026-11', 'which datasets and models a poisoned source reached'],
        ['$0 impact vendor-dump@2026-11 --pubkey keys/data.pub --pubkey keys/ml.pub', 'the same, believing only what those keys signed (exit 1 if anything in the store fails)'],
      ],
    ),
  run: cmdImpact,
};
