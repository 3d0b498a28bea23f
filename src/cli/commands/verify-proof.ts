/**
 * `snap verify-proof <proof>`: check an inclusion proof (docs/FORMAT.md §11) with only public keys:
 * exit 0 when it proves its entry is in a snapshot signed by the given keys, 1 when it does not.
 */
import { resolve } from 'node:path';
import { SnapError } from '../../core/errors.js';
import { isSymlinkEntry } from '../../core/manifest.js';
import { statementRef } from '../../core/statement.js';
import { recordSetName } from '../../core/records.js';
import { recordJson, recordKeyShown } from './prove.js';
import { labelShown } from '../records-print.js';
import { verifyProofFile, type ProofFileVerification } from '../../proofs/verify-proof.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { escapeForTerminal as shown, escapeMessage, escapePath } from '../../core/display.js';
import { formatBytes, formatCount, plural, shortDigest, shortId, shortKeyid, styler } from '../format.js';
import { jsonOut, trustedKeys, checkThreshold, noteThresholdAboveKeys, trustFlags, withExamples, type Args, type CliIo, type CommandSpec } from '../common.js';

/**
 * Whether the proven snapshot's signed `expiresAt` (docs/FORMAT.md §3) has passed at `now`; undefined
 * when it has none (or the statement is not verified). A proof still shows what the snapshot held
 * when it was signed, so an expiry does not fail it (§11.3): it is reported.
 */
function expiry(r: ProofFileVerification, now: Date): { expiresAt: string; expired: boolean } | undefined {
  const at = r.ok ? r.statement?.predicate.expiresAt : undefined;
  return at === undefined ? undefined : { expiresAt: at, expired: now.getTime() >= Date.parse(at) };
}

function printResult(r: ProofFileVerification, proofName: string, io: CliIo, now: Date): void {
  const s = styler(!!io.stdout.isTTY && !io.env.NO_COLOR);
  const out: string[] = [];
  const x = expiry(r, now);
  const expiryLine = x && `      the snapshot ${x.expired ? 'expired' : 'expires'} at ${x.expiresAt}${x.expired ? ': it was signed as holding this, but verify refuses it now (SNAPSHOT_EXPIRED)' : ''}`;
  const e = r.entry;
  const ref = r.statement ? `${statementRef(r.statement)} (${shortId(r.snapshot ?? '')})` : '';
  const rec = r.record?.entry;
  if (r.ok && r.record && rec) {
    const signers = r.signers.map((g) => shortKeyid(g.keyid));
    const set = recordSetName(r.record.set);
    out.push(`${s.green(s.bold('OK'))}    record ${recordKeyShown(r.record.set.identity, rec)} of ${escapePath(set)} is record ${formatCount(r.leafIndex + 1)} of ${plural(r.treeSize, 'record', 'records')} of ${ref}, signed by ${signers.join(', ')}`);
    out.push(`      row ${rec.row}${rec.label !== undefined ? `, label ${labelShown(rec.label)}` : ''}`);
    out.push(`      fingerprint ${rec.fingerprint} (SHA-256 of the record's canonical form, docs/FORMAT.md §19.3)`);
    if (expiryLine) out.push(expiryLine);
  } else if (r.ok && e) {
    const signers = r.signers.map((g) => shortKeyid(g.keyid));
    out.push(`${s.green(s.bold('OK'))}    ${escapePath(e.path)} is entry ${formatCount(r.leafIndex + 1)} of ${plural(r.treeSize, 'entry', 'entries')} of ${ref}, signed by ${signers.join(', ')}`);
    out.push(isSymlinkEntry(e) ? `      a symbolic link → ${escapePath(e.target)}` : `      ${formatBytes(e.size)}, sha256 ${e.sha256}`);
    if (r.dataFile) out.push(`      ${shown(r.dataFile.path)} is exactly this ${isSymlinkEntry(e) ? 'link' : 'file'}`);
    if (expiryLine) out.push(expiryLine);
  } else {
    const f = r.failure;
    out.push(`${s.red(s.bold('FAIL'))}  ${shown(proofName)} does not prove its ${r.record ? 'record' : 'entry'}${ref ? ` in ${ref}` : ''}: ${escapeMessage(f?.message ?? 'not verified')} [${f?.code ?? ''}, ${f?.check ?? ''}]`);
    for (const g of r.signers) out.push(`  signature keyid ${shown(shortKeyid(g.keyid)) || '(none)'}: ${g.trusted ? 'trusted' : (g.reason ?? 'untrusted')}`);
    if (e && f?.check === 'file') out.push(`  signed entry: ${shown(e.path)} ${isSymlinkEntry(e) ? `→ ${shown(e.target)}` : `${formatBytes(e.size)} ${shortDigest(e.sha256)}`}`);
  }
  io.stdout.write(out.join('\n') + '\n');
}

async function cmdVerifyProof(a: Args, io: CliIo): Promise<number> {
  // yargs gives "-" as an empty string too: either would resolve to the working folder.
  if (a.proof === '') throw new SnapError('USAGE', 'the proof was given as an empty value or "-" (an unset variable?): give the proof file; a proof on standard input is read with /dev/stdin (snap prove REF PATH | snap verify-proof /dev/stdin --pubkey KEY.pub)');
  const threshold = checkThreshold(a);
  const trusted = await trustedKeys(a.pubkey as string[], io.cwd);
  noteThresholdAboveKeys(threshold, trusted, a, io, 'proof');
  const file = resolve(io.cwd, String(a.proof));
  const dataFile = a.file !== undefined ? resolve(io.cwd, String(a.file)) : undefined;
  const r = await verifyProofFile({
    file, trusted, threshold,
    ...(a.expect !== undefined ? { expect: String(a.expect) } : {}),
    ...(dataFile !== undefined ? { dataFile } : {}),
  });
  const now = new Date();
  const x = expiry(r, now);
  if (a.json) {
    jsonOut(io, {
      ok: r.ok, proof: file,
      ...(r.snapshot ? { snapshot: r.snapshot } : {}),
      ...(r.statement ? { ref: statementRef(r.statement), merkleRoot: r.statement.predicate.merkleRoot } : {}),
      ...(r.entry ? { path: r.entry.path, entry: r.entry } : {}),
      ...(r.record ? { set: recordSetName(r.record.set), ...(r.record.entry ? { record: recordJson(r.record.entry) } : {}), index: r.record.set.index } : {}),
      leafIndex: r.leafIndex, treeSize: r.treeSize,
      signers: r.signers,
      ...(r.dataFile ? { file: r.dataFile } : {}),
      ...(x ? x : {}),
      ...(r.failure ? { failure: r.failure } : {}),
      ...(r.statement ? { statement: r.statement } : {}),
    });
  } else printResult(r, String(a.proof), io, now);
  return r.ok ? EXIT_OK : EXIT_INTEGRITY;
}

/** `snap verify-proof <proof>`. */
export const verifyProofCommand: CommandSpec = {
  command: 'verify-proof <proof>',
  describe: 'Check an inclusion proof (of a file, or of a record) with only the public key(s) (exit 1 if it fails)',
  builder: (y) =>
    withExamples(
      trustFlags(y.positional('proof', { type: 'string', describe: 'the proof file written by snap prove' }))
        .option('file', { type: 'string', requiresArg: true, describe: 'also check that this file on disk is the proven one (its bytes, or its link text)' })
        .option('expect', { type: 'string', requiresArg: true, describe: 'require the proof to be of this snapshot: NAME@VERSION or sha256:<64 hex>' }),
      [
        ['$0 verify-proof ham-0001.proof.json --pubkey ci.pub', 'exit 0: the entry is in a snapshot ci signed'],
        ['$0 verify-proof p.json --pubkey ci.pub --file ./0001.txt --expect spam@v1', 'and this file is that entry, of spam@v1'],
        ['$0 verify-proof bc-17.proof.json --pubkey ci.pub', 'a record proof: record 17, its label and fingerprint, signed by ci'],
      ],
    ),
  run: cmdVerifyProof,
};
