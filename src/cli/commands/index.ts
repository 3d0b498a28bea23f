/**
 * Every subcommand, in the order `--help` lists them. Each command's module (with its library
 * imports) is loaded only when that command runs, which keeps start-up fast in pipelines; the
 * name and description here must match the module's (a test checks it). Add a command by adding
 * a line here.
 */
import type { CommandSpec } from '../common.js';

/** A command as the top-level help knows it, and how to load its module. */
export interface CommandEntry {
  command: string;
  describe: string;
  load: () => Promise<CommandSpec>;
}

export const COMMANDS: CommandEntry[] = [
  { command: 'keygen <name>', describe: 'New Ed25519 key pair NAME.key (0600) + NAME.pub; never overwrites', load: async () => (await import('./keygen.js')).keygenCommand },
  { command: 'init', describe: 'Make a new, empty store (--store PATH, else $SNAP_STORE, else ./.snap)', load: async () => (await import('./init.js')).initCommand },
  { command: 'seal <dir>', describe: 'Hash, sign and store DIR as a new snapshot NAME@VERSION', load: async () => (await import('./seal.js')).sealCommand },
  { command: 'verify [dir]', describe: 'Pre-training gate: exit 0 only if DIR is exactly what was signed', load: async () => (await import('./verify.js')).verifyCommand },
  { command: 'sign <ref>', describe: 'Co-sign an existing snapshot (store, folder or .snap.tar): add a signature, payload unchanged', load: async () => (await import('./sign.js')).signCommand },
  { command: 'revoke <ref>', describe: 'Sign a revocation of a snapshot (never train on it again); kept in the store, --out for a file', load: async () => (await import('./revoke.js')).revokeCommand },
  { command: 'policy <action> <file>', describe: 'Make, change, sign and show a trust policy (keys, roles, rules; signed by root keys)', load: async () => (await import('./policy.js')).policyCommand },
  { command: 'diff <a> <b>', describe: 'What changed between two snapshots or folders (exit 1 if any)', load: async () => (await import('./diff.js')).diffCommand },
  { command: 'check <b>', describe: 'Review gate: exit 1 if B moved its records more than thresholds allow against A', load: async () => (await import('./check.js')).checkCommand },
  { command: 'drill <dir>', describe: 'Poisoning drill: plant known attacks in a private copy of DIR; exit 0 only if the gate catches all', load: async () => (await import('./drill.js')).drillCommand },
  {
    command: 'report [a] [b]',
    describe: 'Write an incident report of A → B (or of a drill) as one self-contained HTML page or Markdown',
    load: async () => (await import('./report.js')).reportCommand,
  },
  { command: 'list [name]', describe: 'List the snapshots in the store (all, or of one NAME)', load: async () => (await import('./list.js')).listCommand },
  { command: 'show <ref>', describe: 'Show one snapshot: statement, signers, counts', load: async () => (await import('./show.js')).showCommand },
  { command: 'fsck', describe: 'Check the store: re-hash objects, check snapshots (no keys)', load: async () => (await import('./fsck.js')).fsckCommand },
  { command: 'prune', describe: 'List, or with --yes remove, the objects no snapshot references (local store)', load: async () => (await import('./prune.js')).pruneCommand },
  { command: 'log [name]', describe: "Show the audit log (of one NAME), or check it with --verify", load: async () => (await import('./log.js')).logCommand },
  { command: 'retain <ref>', describe: 'Extend the Object Lock of a snapshot in an S3 store (never shortens)', load: async () => (await import('./retain.js')).retainCommand },
  { command: 'export <ref>', describe: 'Write a snapshot as one reproducible archive NAME@VERSION.snap.tar', load: async () => (await import('./export.js')).exportCommand },
  { command: 'import <file>', describe: 'Verify a .snap.tar completely, then add it to the store', load: async () => (await import('./import.js')).importCommand },
  { command: 'prove <ref> <path>', describe: 'Prove that one file, or one record, is in a signed snapshot, without revealing the rest', load: async () => (await import('./prove.js')).proveCommand },
  {
    command: 'verify-proof <proof>',
    describe: 'Check an inclusion proof (of a file, or of a record) with only the public key(s) (exit 1 if it fails)',
    load: async () => (await import('./verify-proof.js')).verifyProofCommand,
  },
  {
    command: 'restore <ref> <dir>',
    describe: 'Write a snapshot into a new or empty folder, checked, then verified',
    load: async () => (await import('./restore.js')).restoreCommand,
  },
  { command: 'attest <files..>', describe: 'Sign which snapshots a model (its files) was trained on', load: async () => (await import('./attest.js')).attestCommand },
  {
    command: 'verify-model <files..>',
    describe: 'Which signed snapshots a model was trained on; exit 1 unless all are trusted',
    load: async () => (await import('./verify-model.js')).verifyModelCommand,
  },
  { command: 'lineage <ref>', describe: 'Where a snapshot came from: its parents and derivations, with their sources', load: async () => (await import('./lineage.js')).lineageCommand },
  { command: 'impact <ref>', describe: 'Every snapshot derived from REF and every model trained on any of them', load: async () => (await import('./impact.js')).impactCommand },
  { command: 'bom [ref]', describe: 'Write a CycloneDX 1.6 ML-BOM of a snapshot or of a model attestation', load: async () => (await import('./bom.js')).bomCommand },
];

/** The command word of an entry (`seal` for `seal <dir>`). */
export function commandName(c: { command: string }): string {
  return c.command.split(' ')[0] as string;
}
