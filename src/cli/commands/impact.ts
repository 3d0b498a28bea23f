/** `snap impact <ref>`: every snapshot derived from REF, and every model attested as trained on any of them. Nothing is verified. */
import { escapeForTerminal as shown } from '../../core/display.js';
import { openStore, storePath } from '../../io/store.js';
import { impact } from '../../provenance/lineage.js';
import { EXIT_OK } from '../exit-codes.js';
import { treeIndent } from '../format.js';
import { jsonOut, locate, type Args, type CliIo, type CommandSpec, commonFlags, withExamples } from '../common.js';

async function cmdImpact(a: Args, io: CliIo): Promise<number> {
  const storeRoot = storePath(a.store, io.env, io.cwd);
  const store = await openStore(storeRoot);
  const loc = await locate(String(a.ref), io, storeRoot);
  const r = await impact(loc, store);
  if (a.json) {
    jsonOut(io, { ok: true, ...r, verified: false });
    return EXIT_OK;
  }
  const lines = [`impact of ${shown(r.snapshot.ref)} ${shown(r.snapshot.snapshot)}`];
  lines.push(r.derived.length === 0 ? '  derived snapshots: none' : `  derived snapshots (${r.derived.length}):`);
  for (const d of r.derived) lines.push(`    ${treeIndent(d.depth - 1, true)}${shown(d.ref)}  ${shown(d.snapshot)}  (${d.via.relation === 'parent' ? 'next version of' : 'derived from'} ${shown(d.via.from)})`);
  lines.push(r.models.length === 0 ? '  attested models: none' : `  attested models trained on them (${r.models.length}) — retrain or re-check:`);
  for (const m of r.models) lines.push(`    ${shown(m.ref)}  ${shown(m.attestation)}  trained on ${m.trainedOn.map((t) => shown(t.ref)).join(', ')}  (${m.artifacts.map((x) => `"${shown(x.name)}"`).join(', ')})`);
  if (r.possiblyDerived.length + r.possiblyAffectedModels.length > 0) lines.push(`  possibly affected (${r.possiblyDerived.length + r.possiblyAffectedModels.length}): their lineage passes through a snapshot not in the store, so whether they derive from ${shown(r.snapshot.ref)} cannot be told here:`);
  for (const d of r.possiblyDerived) lines.push(`    ${shown(d.ref)} ${shown(d.snapshot)}  (came from ${d.missing.ref !== undefined ? `${shown(d.missing.ref)} ` : ''}${shown(d.missing.snapshot)}, not in the store)`);
  for (const m of r.possiblyAffectedModels) lines.push(`    model ${shown(m.ref)} ${shown(m.attestation)}  trained on ${m.trainedOn.map((t) => `${shown(t.ref)}${t.inStore ? '' : ' (not in the store)'}`).join(', ')}  (${m.artifacts.map((x) => `"${shown(x.name)}"`).join(', ')})`);
  for (const s of r.skipped) lines.push(`note: ${shown(s.ref)} left out: its statement cannot be used [${s.code}]`);
  for (const s of r.skippedAttestations) lines.push(`note: attestation ${shown(s.ref)} left out, so a model trained on these snapshots may be missing above: ${shown(s.reason)} [${s.code}]`);
  lines.push('(read from the store, not verified: run "snap verify-model" on each model for trust)');
  io.stdout.write(lines.join('\n') + '\n');
  return EXIT_OK;
}

/** `snap impact <ref>`. */
export const impactCommand: CommandSpec = {
  command: 'impact <ref>',
  describe: 'Every snapshot derived from REF and every model trained on any of them',
  builder: (y) =>
    withExamples(
      commonFlags(y, { store: true }).positional('ref', { type: 'string', describe: 'NAME@VERSION, a snapshot id or prefix, or a snapshot folder' }),
      [['$0 impact vendor-dump@2026-11', 'which datasets and models a poisoned source reached']],
    ),
  run: cmdImpact,
};
