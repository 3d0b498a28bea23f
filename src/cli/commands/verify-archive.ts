/**
 * The archive forms of `snap verify` (used by `verify.ts`): `snap verify FILE.snap.tar --pubkey …`
 * checks an archive on its own (signature, manifest, every data member, streamed, nothing extracted);
 * `snap verify DIR --against FILE.snap.tar` checks a folder against the snapshot inside an archive.
 */
import { resolve } from 'node:path';
import { SnapError } from '../../core/errors.js';
import { escapeForTerminal as shown, escapeMessage, escapePath } from '../../core/display.js';
// The archive code (tar-stream) is loaded only when an archive is verified: not on every `snap verify`.
const archiveModule = () => import('../../ops/archive.js');
import type { SnapshotLocation } from '../../io/store.js';
import type { TrustedKey } from '../../core/envelope.js';
import type { TrustRules } from '../../trust/rules.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { formatBytes, plural, shortDigest, shortId, shortKeyid, styler, trustedOnce } from '../format.js';
import { withProgress } from '../progress.js';
import { jsonOut, mustExistIfPath, type Args, type CliIo } from '../common.js';
import { isArchiveFile } from '../snapshot-ref.js';
import { trustSetup } from '../trust-args.js';
import { refWithSignedName, revocationNotes, signedAs, signerJson } from './verify.js';
import { storePath } from '../../io/store.js';

/** True when `snap verify` was given an archive and no `--against`: verify the archive itself. */
export function verifiesArchiveItself(a: Args, io: CliIo): boolean {
  return isArchiveFile(String(a.dir), io.cwd);
}

/**
 * When `--against` names an archive file, open its snapshot (statement, envelope, manifest) in a
 * private temporary folder for `verify()`; else undefined. The caller must `close()`.
 * @param trust the keys and rules verify will judge it by: checked first, so that the manifest
 *   member of an archive they did not sign is never read (archive.ts `openArchiveSnapshot`)
 */
export async function archiveAgainst(a: Args, io: CliIo, trust?: { trusted: readonly TrustedKey[]; threshold?: number; rules?: TrustRules }): Promise<{ location: SnapshotLocation; close: () => Promise<void> } | undefined> {
  const text = String(a.against);
  mustExistIfPath(text, io, 'snapshot folder or archive');
  if (!isArchiveFile(text, io.cwd)) return undefined;
  return (await archiveModule()).openArchiveSnapshot(resolve(io.cwd, text), text, trust);
}

/** `snap verify FILE.snap.tar --pubkey …`: the report has the shape of `verify --json` (SPEC §8). */
export async function cmdVerifyArchive(a: Args, io: CliIo): Promise<number> {
  if (a.against !== undefined) throw new SnapError('USAGE', `${String(a.dir)} is an archive: verify it on its own (no --against), or verify a folder --against it`);
  const { trusted, threshold, rules, keepRevocations } = await trustSetup(a, io, storePath(a.store, io.env, io.cwd));
  const text = String(a.dir);
  const { verifyArchive } = await archiveModule();
  const r = await withProgress(a, io, 'verifying', (onProgress) => verifyArchive({ file: resolve(io.cwd, text), ref: text, trusted, threshold, rules, onProgress }));
  await keepRevocations();
  if (a.json) {
    jsonOut(io, {
      ok: r.ok, snapshot: r.snapshot, ref: r.ref,
      ...(signedAs(r) !== undefined ? { signedAs: signedAs(r) } : {}),
      signers: r.signers.map(signerJson),
      ...(r.failure ? { failure: r.failure } : {}),
      ...(r.revocations ? { revocations: r.revocations } : {}),
      ...(r.policy ? { policy: r.policy } : {}),
      counts: r.counts, problems: r.problems, ...(r.manifest ? { manifest: r.manifest } : {}), files: r.files, bytes: r.bytes, seconds: Number(r.seconds.toFixed(3)),
    });
  } else {
    const s = styler(!!io.stdout.isTTY && !io.env.NO_COLOR);
    const out: string[] = [];
    if (r.ok) {
      const signers = trustedOnce(r.signers).map((x) => shortKeyid(x.keyid));
      out.push(`${s.green(s.bold('OK'))}    ${refWithSignedName(r)} (${shortId(r.snapshot)}): ${plural(r.files, 'entry', 'entries')}, ${formatBytes(r.bytes)}, every one matches; signed by ${signers.join(', ')}`);
    } else if (r.failure) {
      out.push(`${s.red(s.bold('FAIL'))}  ${shown(text)} (${shortId(r.snapshot)}) cannot be trusted: ${escapeMessage(r.failure.message)}`);
      for (const g of r.signers) out.push(`  signature keyid ${shortKeyid(g.keyid) || '(none)'}: ${g.trusted ? 'trusted' : escapeMessage(g.reason ?? 'untrusted')}`);
    } else {
      out.push(`${s.red(s.bold('FAIL'))}  ${refWithSignedName(r)} (${shortId(r.snapshot)}): ${r.counts.modified} of ${plural(r.files, 'entry', 'entries')} ${r.counts.modified === 1 ? 'does' : 'do'} not match ${r.counts.modified === 1 ? 'its' : 'their'} signed digest`);
      for (const p of r.problems.slice(0, 20)) {
        const e = p.expected as { sha256?: string } | undefined;
        const x = p.actual as { sha256?: string } | undefined;
        out.push(`  ${escapePath(p.path)}  ${shortDigest(e?.sha256 ?? '')} → ${shortDigest(x?.sha256 ?? '')}`);
      }
      if (r.problems.length > 20) out.push(`  … and ${r.problems.length - 20} more (--json lists all)`);
    }
    out.push(...revocationNotes(r.revocations));
    io.stdout.write(out.join('\n') + '\n');
  }
  return r.ok ? EXIT_OK : EXIT_INTEGRITY;
}
