/** `snap verify <dir>`: The pre-training gate: exit 0 only if DIR is byte for byte what a trusted key signed. */
import { storeIdentities } from '../store-identity.js';
import { resolve } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { SnapError } from '../../core/errors.js';
import { escapeForTerminal as shown, escapeListedPath, escapeMessage, escapePath } from '../../core/display.js';
import { storePath, type SnapshotLocation } from '../../io/store.js';
import { verify, type VerifyReport, type Problem } from '../../ops/verify.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { formatBytes, plural, shortDigest, shortId, shortKeyid, styler, trustedOnce } from '../format.js';
import { withProgress } from '../progress.js';
import { jsonOut, checkJobs, isInside, locate, storeReadFrom, audit, auditErrors, commonFlags, signingKey, trustedKeys, type Args, type CliIo, type CommandSpec, withExamples } from '../common.js';
import { verifiesArchiveItself, cmdVerifyArchive, archiveAgainst } from './verify-archive.js';
import { TRUST_FLAGS, recordVersionSeen, trustOptions, trustSetup } from '../trust-args.js';
import { isLatestRef, recordedFor, resolveLatest, trustDomain, type LatestResult } from '../../trust/latest.js';
import { readState, type TrustedState } from '../../trust/state.js';
import { checkTrust } from '../../snapshot.js';
import { statementRef } from '../../core/statement.js';
import type { TrustedKey } from '../../core/envelope.js';
import type { TrustRules } from '../../trust/rules.js';
import { problemRecordLines } from '../records-print.js';
import { writeOutputFile } from '../../io/output-temp.js';
import { parseShardSpec, type ShardSpec } from '../../shards/assign.js';
import { buildShardReport, parseRunId, shardReportBytes } from '../../shards/report.js';
import { readShardReports } from '../../shards/read-report.js';
import { signShardReport } from '../../shards/signed-report.js';
import { MAX_SHARDS } from '../../shards/assign.js';
import type { PrivateKey } from '../../core/keys.js';
import { mergeShardReports, type MergeReport } from '../../shards/merge.js';
import { isS3Url, parseS3Url } from '../../s3/location.js';

/** One problem as a line of the report; every name, target and reason in it escaped for a terminal, a path that holds the marks of a record line quoted (`escapeListedPath`). */
function describeProblem(p: Problem): string {
  const e = p.expected as Record<string, unknown> | undefined;
  const x = p.actual as Record<string, unknown> | undefined;
  const sz = (o?: Record<string, unknown>) => (o && typeof o.size === 'number' ? formatBytes(o.size) : '');
  const dg = (o?: Record<string, unknown>) => (o && typeof o.sha256 === 'string' ? shortDigest(o.sha256) : o && typeof o.target === 'string' ? `→ ${escapeListedPath(o.target)}` : '');
  const path = escapeListedPath(p.path);
  switch (p.kind) {
    case 'modified':
      return `${path}  ${[sz(e), dg(e)].filter(Boolean).join(' ')} → now ${[sz(x), dg(x)].filter(Boolean).join(' ')}`;
    case 'missing':
      return `${path}  (${[sz(e), dg(e)].filter(Boolean).join(' ')})${p.movedTo ? `  moved to ${escapeListedPath(p.movedTo)}` : ''}`;
    case 'extra': {
      // What it is (size and digest, a link's target, or a FIFO's kind) and why it is refused, each when known.
      const what = [sz(x), dg(x)].filter(Boolean).join(' ') || (x && typeof x.type === 'string' && x.type !== p.reason ? escapeMessage(x.type) : '');
      return `${path}  (${[what, escapeMessage(p.reason ?? '')].filter(Boolean).join('; ')})${p.movedFrom ? `  same content as missing ${escapeListedPath(p.movedFrom)}: moved (a flipped label?)` : ''}`;
    }
    case 'type-changed':
      return `${path}  was ${e && 'target' in e ? 'a symlink' : 'a file'}, now ${x && 'target' in x ? 'a symlink' : x?.type === 'file' ? `a file${x.sha256 !== undefined ? ` (${[sz(x), dg(x)].join(' ')})` : ''}` : escapeMessage(String(x?.type ?? 'something else'))}`;
    default:
      return `${path}${p.reason ? `  (${escapeMessage(p.reason)})` : ''}`;
  }
}

/**
 * The NAME@VERSION a trusted snapshot is signed as (`signedAs` in `--json`), undefined when it was
 * not trusted: the ref given may not say it (an archive file of another name, an id, a folder,
 * NAME@latest), and the signed name is what was verified.
 */
export function signedAs(r: VerifyReport): string | undefined {
  return r.statement ? statementRef(r.statement) : undefined;
}

/** The ref as given, followed by the signed name when that differs (escaped for a terminal). */
export function refWithSignedName(r: VerifyReport): string {
  const signed = signedAs(r);
  return `${shown(r.ref)}${signed !== undefined && signed !== r.ref ? `, signed as ${shown(signed)}` : ''}`;
}

function printVerify(r: VerifyReport, dir: string, io: CliIo, color: boolean): void {
  const s = styler(color);
  const signers = trustedOnce(r.signers).map(signerName);
  const ref = refWithSignedName(r);
  const out: string[] = [];
  if (r.shard) {
    const g = r.shard;
    // The report's leaves are half-open [from, to); printed inclusively, as the paths beside them.
    const n = g.leaves.to - g.leaves.from;
    const leaves = n === 0 ? 'no leaf' : n === 1 ? `leaf ${g.leaves.from}` : `leaves ${g.leaves.from}–${g.leaves.to - 1}`;
    const paths = g.firstPath === undefined ? ' (none)' : n === 1 ? ` (${escapePath(g.firstPath)})` : ` (${escapePath(g.firstPath)} … ${escapePath(g.lastPath ?? '')})`;
    out.push(`shard ${g.index}/${g.count}: ${leaves} of the manifest${paths}; signature and Merkle root checked in full`);
  }
  if (r.ok) {
    out.push(`${s.green(s.bold('OK'))}    ${shown(dir)} matches ${ref} (${shortId(r.snapshot)}): ${plural(r.counts.matched, 'file')}, ${formatBytes(r.bytes)}, signed by ${signers.join(', ')}${r.policy ? `; policy ${shown(r.policy.name)} v${r.policy.version} satisfied` : ''}`);
  } else if (r.failure) {
    // No snapshot chosen (a NAME@latest rollback, a snapshot without statement.json): no id to name.
    out.push(`${s.red(s.bold('FAIL'))}  ${ref}${r.snapshot ? ` (${shortId(r.snapshot)})` : ''} cannot be trusted: ${escapeMessage(r.failure.message)}`);
    for (const g of r.signers) out.push(`  signature keyid ${shortKeyid(g.keyid) || '(none)'}${g.name ? ` (${shown(g.name)})` : ''}: ${g.trusted ? 'trusted' : escapeMessage(g.reason ?? 'untrusted')}`);
    out.push('  No data check is trusted. Do not train on this data.');
  } else {
    const parts = (['modified', 'missing', 'extra', 'type-changed', 'unreadable'] as const).filter((k) => r.counts[k] > 0).map((k) => `${r.counts[k]} ${k}`);
    out.push(`${s.red(s.bold('FAIL'))}  ${shown(dir)} differs from ${ref} (${shortId(r.snapshot)}): ${parts.join(', ')}; ${plural(r.counts.matched, 'file')} matched`);
    out.push(`  signed by ${signers.join(', ')} (trusted)`);
    for (const kind of ['modified', 'missing', 'extra', 'type-changed', 'unreadable'] as const) {
      const list = r.problems.filter((p) => p.kind === kind);
      if (list.length === 0) continue;
      out.push(`${s.bold(kind)} (${list.length}):`);
      for (const p of list.slice(0, 20)) out.push(`  ${describeProblem(p)}`, ...problemRecordLines(p));
      if (list.length > 20) out.push(`  … and ${list.length - 20} more (--json lists all)`);
    }
  }
  out.push(...revocationNotes(r.revocations));
  io.stdout.write(out.join('\n') + '\n');
}

/** A signer in `--json` output: SPEC §8's keyid and trusted, and why not, and its policy name and roles. */
export function signerJson(x: VerifyReport['signers'][number]): Record<string, unknown> {
  return { keyid: x.keyid, trusted: x.trusted, ...(x.reason ? { reason: x.reason } : {}), ...(x.name ? { name: x.name } : {}), ...(x.roles ? { roles: x.roles } : {}) };
}

/** How a signer is named in human output: its policy name and roles when known, else its short keyid. */
export function signerName(x: VerifyReport['signers'][number]): string {
  return x.name ? `${shown(x.name)}${x.roles && x.roles.length > 0 ? ` (${x.roles.map(shown).join(', ')})` : ''}` : shortKeyid(x.keyid);
}

/** One line per revocation found that does not count (signed by no key trusted to revoke). */
export function revocationNotes(reports: VerifyReport['revocations']): string[] {
  return (reports ?? [])
    .filter((x) => !x.counts)
    .map((x) => `  note: a revocation of this snapshot (${shown(x.revokedAt)}: ${shown(x.reason)}) signed by ${x.claimedKeyids.map((k) => `keyid ${shortKeyid(k) || '(none)'}`).join(', ')} does not count: no key trusted to revoke signed it (${shown(x.source)})`);
}

async function cmdVerify(a: Args, io: CliIo): Promise<number> {
  if (a.merge !== undefined) return cmdMerge(a, io);
  if (a.dir === undefined) throw new SnapError('USAGE', 'verify needs DIR (a dataset folder or a .snap.tar archive), or --merge REPORT…');
  if (a.report !== undefined && a.shard === undefined) throw new SnapError('USAGE', '--report FILE writes the report of one shard: give --shard K/N too');
  if (a.shard !== undefined) parseShardSpec(String(a.shard)); // a malformed K/N stops before anything is read
  if (a['report-pubkey'] !== undefined) throw new SnapError('USAGE', '--report-pubkey checks the signatures of shard reports: it goes with --merge REPORT…');
  for (const flag of ['report-key', 'run'] as const) {
    if (a[flag] !== undefined && a.report === undefined) throw new SnapError('USAGE', `--${flag} is for the shard report: give --shard K/N --report FILE too`);
  }
  if (a['passphrase-env'] !== undefined && a['report-key'] === undefined) throw new SnapError('USAGE', '--passphrase-env is the passphrase of --report-key KEY: give --report-key too');
  if (a.run !== undefined) parseRunId(String(a.run));
  if (isS3Url(String(a.dir))) {
    if (a.shard !== undefined) throw new SnapError('USAGE', '--shard is for a dataset folder; a dataset in S3 is verified whole');
    parseS3Url(String(a.dir)); // a malformed location fails before anything else
    if (a.against === undefined) throw new SnapError('USAGE', 'verify s3://BUCKET/PREFIX needs --against REF (a snapshot ref or a .snap.tar archive)');
    return cmdVerifyDir(a, io);
  }
  const given = resolve(io.cwd, String(a.dir));
  if (!existsSync(given)) throw new SnapError('NOT_FOUND', `${String(a.dir)} does not exist (verify checks a dataset folder or a .snap.tar archive)`, { path: given });
  if (verifiesArchiveItself(a, io)) {
    if (a.shard !== undefined) throw new SnapError('USAGE', '--shard splits the verify of a folder; an archive is verified on its own, whole');
    return cmdVerifyArchive(a, io); // snap verify FILE.snap.tar
  }
  if (a.against === undefined) throw new SnapError('USAGE', 'verify DIR needs --against REF (a snapshot ref or a .snap.tar archive)');
  return cmdVerifyDir(a, io);
}

async function cmdVerifyDir(a: Args, io: CliIo): Promise<number> {
  const store = storePath(a.store, io.env, io.cwd);
  const { trusted, threshold, rules, policy, stateDir, keepRevocations, state } = await trustSetup(a, io, store, new Date(), { versionSeen: false });
  // --against FILE.snap.tar: its snapshot files, in a temporary folder; trust is checked before its
  // manifest member is read.
  const held = await archiveAgainst(a, io, { trusted, threshold, rules });
  try {
    return await verifyDirAgainst(a, io, held?.location, { trusted, threshold, rules, policy, stateDir, keepRevocations, store, ...(state ? { state } : {}) });
  } finally {
    await held?.close();
  }
}

async function verifyDirAgainst(a: Args, io: CliIo, archived: SnapshotLocation | undefined, t: Awaited<ReturnType<typeof trustSetup>> & { store: string }): Promise<number> {
  const { trusted, threshold, rules, policy, stateDir, keepRevocations, store, state } = t;
  const domain = trustDomain(trusted, threshold, policy);
  const s3 = isS3Url(String(a.dir));
  const dir = s3 ? String(a.dir) : resolve(io.cwd, String(a.dir));
  const shard: ShardSpec | undefined = a.shard !== undefined ? parseShardSpec(String(a.shard)) : undefined;
  const run = a.run !== undefined ? parseRunId(String(a.run)) : undefined;
  // The worker's key is read before anything else: a bad key file fails before the data is read.
  const reportKey: PrivateKey | undefined = a['report-key'] !== undefined ? await signingKey(io, { ...a, key: a['report-key'] }) : undefined;
  if (!s3 && !existsSync(dir)) throw new SnapError('NOT_FOUND', `the dataset folder ${dir} does not exist`, { path: dir });
  if (!s3 && !statSync(dir).isDirectory()) throw new SnapError('NOT_A_FOLDER', `${dir} is not a folder`, { path: dir });
  let snapshot: SnapshotLocation;
  let r: VerifyReport;
  const against = String(a.against);
  const latest = !archived && isLatestRef(against) ? await chooseLatest(against, store, await storeIdentities(store, io), stateDir, domain, trusted, threshold, rules, state) : undefined;
  if (latest?.failure) {
    snapshot = { dir: '', ref: against };
    r = { ok: false, snapshot: '', ref: against, signers: [], counts: { matched: 0, modified: 0, missing: 0, extra: 0, 'type-changed': 0, unreadable: 0 }, problems: [], failure: latest.failure, files: 0, bytes: 0, seconds: 0 };
  } else {
    snapshot = archived ?? latest?.location ?? (await locate(against, io, store));
    const at = snapshot;
    if (s3) {
      // A dataset in S3: the S3 code (and the AWS SDK) loads only now.
      const { openS3Dataset, verifyS3 } = await import('../../s3/dataset.js');
      const dataset = openS3Dataset(dir, io.env);
      r = await withProgress(a, io, 'verifying', (onProgress) => verifyS3({ dataset, snapshot: at, trusted, threshold, rules, onProgress, store }));
    } else {
      const stores = storeReadFrom(store, [at.dir]);
      // The store's own files inside DIR are left out unread (io/store-layout.ts): a loader that
      // reads every .json or .jsonl under DIR reads its manifests and log too, and what a store
      // writer put in them is not what the signature covers. Said, not failed: it is where snap
      // puts its store by default when DIR is the working folder.
      if (!a.quiet && stores.some((x) => isInside(x, dir))) io.stderr.write(`note: the store ${shown(store)} lies inside ${shown(dir)}: its own files (objects, manifests, statements, log.jsonl) are left out of the comparison, and a data loader that lists ${shown(dir)} would read them; keep the store outside the training data (--store PATH)\n`);
      r = await withProgress(a, io, 'verifying', (onProgress) => verify({ dir, snapshot: at, trusted, threshold, rules, jobs: checkJobs(a.jobs), stores, onProgress, store, ...(shard ? { shard } : {}) }));
    }
  }
  await keepRevocations(); // a revocation seen here keeps counting here, even once the store has lost it
  // The store it was found in (not an archive, nor a snapshot folder elsewhere, given as --against): two stores may each hold a NAME@VERSION of their own.
  const storeIds = !archived && snapshot.dir !== '' && isInside(snapshot.dir, store) ? await storeIdentities(store, io) : [];
  // Remembered for the store it was found in; an archive or a snapshot folder elsewhere says nothing of any store.
  // The version this machine has trusted there as another snapshot (a replaced folder) is refused, and not remembered:
  // judged and remembered in one update under the state's lock (judged from an earlier read, another
  // snapshot of the version remembered by a concurrent verify in between was then replaced by this one).
  if (r.statement && storeIds.length > 0) {
    const replaced = await recordVersionSeen(a, io, stateDir, domain, r.snapshot, r.statement, storeIds, state);
    if (replaced) {
      const { statement: _untrusted, ...rest } = r;
      r = { ...rest, ok: false, failure: replaced };
    }
  }
  // Logged into the store named by --store/$SNAP_STORE when there is one (a read-only store: a note, not a failure).
  const ref = latest ? against : snapshot.name ? `${snapshot.name}@${snapshot.version}` : r.ref;
  const details = {
    dir,
    trusted: trusted.map((k) => k.keyid),
    signedBy: trustedOnce(r.signers).map((x) => x.keyid),
    ...(policy ? { policy: { name: policy.policy.name, version: policy.policy.version } } : {}),
    ...(r.failure ? { failure: r.failure.code } : {}),
    ...(shard ? { shard: `${shard.index}/${shard.count}` } : {}),
  };
  const log = await audit(io, store, { command: 'verify', ref, snapshot: r.snapshot, outcome: r.ok ? 'ok' : 'failed', details }, { quiet: !!a.quiet });
  if (shard && a.report !== undefined) {
    const out = resolve(io.cwd, String(a.report));
    // Refused (SHARD_REPORT_MALFORMED) before anything is written when a merge would refuse it.
    const bytes = shardReportBytes(buildShardReport(r, shard, run));
    // --report-key: the same bytes, as the payload of a signed envelope (docs/FORMAT.md §20.7).
    await writeOutputFile(out, reportKey ? signShardReport(bytes, reportKey) : bytes, { mode: 0o644, what: 'cannot write the shard report' });
  }
  if (a.json) {
    jsonOut(io, {
      ok: r.ok, snapshot: r.snapshot, ref: r.ref,
      ...(signedAs(r) !== undefined ? { signedAs: signedAs(r) } : {}),
      ...(latest?.location ? { resolved: `${latest.location.name}@${latest.location.version}` } : {}),
      signers: r.signers.map(signerJson),
      ...(r.failure ? { failure: r.failure } : {}),
      ...(r.revocations ? { revocations: r.revocations } : {}),
      ...(r.policy ? { policy: r.policy } : {}),
      counts: r.counts, problems: r.problems, manifest: r.manifest, files: r.files, bytes: r.bytes, seconds: Number(r.seconds.toFixed(3)), log,
      ...(r.shard ? { shard: r.shard } : {}),
    });
  } else printVerify(r, String(a.dir), io, !!io.stdout.isTTY && !io.env.NO_COLOR);
  return r.ok ? EXIT_OK : EXIT_INTEGRITY;
}

/** `snap verify --merge REPORT…`: one verdict from the shard reports (shards/merge.ts). */
async function cmdMerge(a: Args, io: CliIo): Promise<number> {
  const others = ['dir', 'shard', 'report', 'report-key', 'passphrase-env', ...TRUST_FLAGS].filter((k) => a[k] !== undefined);
  if (others.length > 0) throw new SnapError('USAGE', `--merge combines shard reports and checks nothing else: it takes no ${others.map((k) => (k === 'dir' ? 'DIR' : `--${k}`)).join(', ')}`);
  const files = (Array.isArray(a.merge) ? a.merge : [a.merge]).map(String);
  const run = a.run !== undefined ? parseRunId(String(a.run)) : undefined;
  // --against REF: the snapshot the workers were to verify; a report of another is left out.
  const against = a.against !== undefined ? String(a.against) : undefined;
  if (against !== undefined && against.length === 0) throw new SnapError('USAGE', '--against with --merge takes the REF the workers were given (or the snapshot id sha256:<64 hex>); got an empty value');
  const pubkeys = (a['report-pubkey'] as string[] | undefined) ?? [];
  if (pubkeys.length > MAX_SHARDS) throw new SnapError('USAGE', `--report-pubkey takes at most ${MAX_SHARDS} keys (one per worker); got ${pubkeys.length}`);
  const trusted = pubkeys.length > 0 ? await trustedKeys(pubkeys, io.cwd) : undefined;
  const m = mergeShardReports(await readShardReports(files, io.cwd, trusted ? { trusted } : {}), { ...(run !== undefined ? { run } : {}), ...(against !== undefined ? { against } : {}), signaturesChecked: trusted !== undefined });
  if (a.json) jsonOut(io, m);
  else printMerge(m, io, !!io.stdout.isTTY && !io.env.NO_COLOR);
  // The reports alone name their snapshot: a complete set of another snapshot's reports would pass.
  if (against === undefined && m.ok && !a.quiet) io.stderr.write(`note: which snapshot the workers were to verify was not checked: give --against ${shown(m.ref)} (their REF) so that the reports of another snapshot fail\n`);
  // Nor do they say when they were made: an earlier run's reports (signed, of a folder clean then) pass in place of this run's.
  if (run === undefined && m.ok && !a.quiet) io.stderr.write('note: which run the reports are of was not checked: give --run ID (the id the workers were given) so that the reports of an earlier run fail\n');
  return m.ok ? EXIT_OK : EXIT_INTEGRITY;
}

function printMerge(m: MergeReport, io: CliIo, color: boolean): void {
  const s = styler(color);
  const out: string[] = [];
  // No report used (all left out): the snapshot asked for, if any; the reports name none.
  const what = m.shards.length > 0 ? ` of ${shown(m.ref)} (${shortId(m.snapshot)})` : m.against !== undefined ? ` of ${shown(m.against)}` : '';
  const noneUsed = m.shards.length === 0 ? ' (none of them was used)' : '';
  const ofRun = m.run !== undefined ? ` in run ${shown(m.run)}` : '';
  if (m.ok) out.push(`${s.green(s.bold('OK'))}    all ${m.count} shards${what} passed${ofRun}: ${plural(m.counts.matched, 'file')}, ${formatBytes(m.bytes)}`);
  else {
    out.push(`${s.red(s.bold('FAIL'))}  the shard reports${what} do not add up to a pass${noneUsed}:`);
    for (const f of m.findings) out.push(`  ${f.kind}: ${escapeMessage(f.message)}`);
    for (const kind of ['modified', 'missing', 'extra', 'type-changed', 'unreadable'] as const) {
      const list = m.problems.filter((p) => p.kind === kind);
      if (list.length === 0) continue;
      out.push(`${s.bold(kind)} (${list.length}):`);
      // The label flips the merge named (a shard's record diffs are passed on in --json, not printed).
      for (const p of list.slice(0, 20)) out.push(`  ${describeProblem(p)}`, ...problemRecordLines({ kind: p.kind, ...(p.label ? { label: p.label } : {}), ...(p.actual ? { actual: p.actual } : {}) }));
      if (list.length > 20) out.push(`  … and ${list.length - 20} more (--json lists all)`);
    }
  }
  if (m.reportSignatures === 'checked') {
    const keys = [...new Set(m.shards.map((x) => x.signedBy).filter((k): k is string => k !== undefined))];
    if (keys.length > 0) out.push(`  each report signed by a --report-pubkey key (${keys.map(shortKeyid).join(', ')})`);
  } else if (m.shards.some((x) => x.signed)) out.push("  note: the reports' signatures were not checked (give --report-pubkey KEY to check them)");
  out.push('  (the merge trusts the workers that wrote the reports; it re-checks no data)');
  io.stdout.write(out.join('\n') + '\n');
}

/**
 * `--against NAME@latest`: the newest trusted snapshot of NAME, never older than the newest this
 * machine has seen in the same trust domain (trust/latest.ts) in this store (`storeIds`,
 * cli/store-identity.ts `storeIdentities`: `latestByStore` names a store as `logOrigins` does).
 */
async function chooseLatest(ref: string, store: string, storeIds: readonly string[], stateDir: string, domain: string, trusted: TrustedKey[], threshold: number, rules: TrustRules, read?: TrustedState): Promise<LatestResult> {
  const name = ref.slice(0, ref.indexOf('@'));
  // What was recorded from another store says nothing of this one (two stores may each seal NAME under one key);
  // a record without its store (an earlier snap's, which recorded every verify) is held to, as before.
  const seen = recordedFor(await readState(stateDir, read ? { reuse: read } : {}), domain, name, storeIds).held;
  return resolveLatest(name, store, (loc) => checkTrust(loc, trusted, threshold, rules), seen);
}

/** `snap verify <dir>`. */
export const verifyCommand: CommandSpec = {
  command: 'verify [dir]',
  describe: 'Pre-training gate: exit 0 only if DIR is exactly what was signed',
  builder: (y) =>
    withExamples(
      trustOptions(
        commonFlags(y, { store: true, quiet: 'no progress and no notes: only the verdict', jobs: true })
          .positional('dir', { type: 'string', describe: 'the dataset folder to check, s3://BUCKET/PREFIX (a dataset in S3), or an archive FILE.snap.tar to check on its own (none with --merge)' })
          .option('shard', { type: 'string', requiresArg: true, describe: 'check the signature and the whole manifest, then only share K of N of the files (K from 1; docs/FORMAT.md §20)' })
          .option('report', { type: 'string', requiresArg: true, describe: 'with --shard: write the shard report (JSON) to FILE, to be merged' })
          .option('report-key', { type: 'string', requiresArg: true, describe: "with --report: sign the shard report with this worker's private key (PKCS#8 PEM): written as a DSSE envelope (docs/FORMAT.md §20.7)" })
          .option('passphrase-env', { type: 'string', requiresArg: true, describe: 'with --report-key: environment variable holding its passphrase' })
          .option('run', { type: 'string', requiresArg: true, describe: "the id of this split verify, fresh per CI run and per folder verified (1 to 128 printable ASCII characters): written into the shard report; a merge given it uses only reports that carry it (others are 'stale')" })
          .option('merge', { type: 'string', array: true, requiresArg: true, describe: 'combine shard reports REPORT… into one verdict: exit 1 if a shard is missing, twice, for another snapshot, or failed' })
          .option('report-pubkey', { type: 'string', array: true, requiresArg: true, describe: "with --merge: a worker's public key (SPKI PEM; repeatable); every report must be signed by one of them, else exit 1" })
          .option('against', {
            type: 'string',
            requiresArg: true,
            describe: 'the snapshot DIR must match: NAME@VERSION, NAME@latest (the newest trusted one, never older than one this machine has seen), snapshot id (or 8+ hex prefix), snapshot folder, or FILE.snap.tar (required, unless DIR is an archive); with --merge: the REF the workers were given (or the snapshot id sha256:<64 hex>), and a report of another snapshot is not used',
          }),
      ),
      [
        ['$0 verify data --against spam@v1 --pubkey ci.pub', 'exit 0: train; exit 1: stop'],
        ['$0 verify spam@v1.snap.tar --pubkey keys/ci.pub', 'an archive alone, nothing extracted'],
        ['$0 verify s3://corpus/train/ --against t@v2 --pubkey ci.pub', 'a dataset in S3, every object hashed'],
        ['$0 verify data --against spam@v1 --policy p.json --root r.pub', 'who must sign is the policy\'s to say'],
        ['$0 verify data --against spam@v1 --pubkey ci.pub --shard 2/4 --report s2.json', 'worker 2 of 4: its share of the files'],
        ['$0 verify --merge s1.json s2.json s3.json s4.json', 'one verdict from the four workers\' reports'],
        ['$0 verify data --against spam@v1 --pubkey ci.pub --shard 2/4 --report s2.json --report-key worker.key --run "$RUN_ID"', 'the same, the report signed and of this run'],
        ['$0 verify --merge s*.json --report-pubkey worker.pub --run "$RUN_ID" --against spam@v1', 'only reports the worker key signed in this run, of spam@v1'],
      ],
    ),
  run: auditErrors('verify', (a) => a.against, cmdVerify),
};
