/**
 * The trust flags that `verify`, `restore` and `import` share besides `--pubkey`/`--threshold`:
 * `--policy FILE…` with `--root ROOT.pub…` (a signed trust policy, docs/FORMAT.md §16),
 * `--state-dir DIR` (the trusted state, trust/state.ts) and `--revocations FILE…` (with the store's
 * own revocations), turned into the {@link TrustRules} that `checkTrust` applies.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { SnapError, isSnapError } from '../core/errors.js';
import { escapeForTerminal, escapeMessage } from '../core/display.js';
import type { TrustedKey } from '../core/envelope.js';
import { usableKeys } from '../core/policy.js';
import type { TrustRules } from '../trust/rules.js';
import { readRevocationFile, rememberRevocations, revocationSource, type RememberedRevocations, type RevocationDoc } from '../trust/revocations.js';
import { establishPolicy, readPolicyFile, rememberPolicy, type VerifiedPolicy } from '../trust/policy-trust.js';
import { STATE_FILE, readState, stateDir, updateState, type TrustedState } from '../trust/state.js';
import { rememberLatest, replacedVersion, trustDomain, type RollbackFailure } from '../trust/latest.js';
import type { RuleFailure } from '../trust/rules.js';
import type { SnapshotLocation } from '../io/store.js';
import type { Statement } from '../core/statement.js';
import { storeIdentities } from './store-identity.js';
import { isInside, noteThresholdAboveKeys, trustedKeys, wholeNumberOption, MAX_THRESHOLD, type Args, type CliIo } from './common.js';

/** `--state-dir DIR`: the trusted state folder, as every command that reads the state takes it. */
export const STATE_DIR_OPTION = { type: 'string', requiresArg: true, describe: 'folder of the trusted state (default: $SNAP_STATE_DIR, else $XDG_STATE_HOME/snap, else ~/.local/state/snap)' } as const;

/**
 * `--state-dir` for the commands that judge trust with `--pubkey` keys only (`diff`, `check`,
 * `bom`, `attest`, `sign`): the kept revocations and recorded versions it names are read only with keys.
 * @throws SnapError `USAGE` when it is given without `--pubkey`
 */
export function stateDirNeedsPubkey(a: Args): void {
  if (a['state-dir'] !== undefined && a.pubkey === undefined) throw new SnapError('USAGE', '--state-dir names the trusted state whose records (kept revocations, versions verified) are judged with the --pubkey keys: give --pubkey too');
}

/** The flags {@link trustOptions} declares: what a command that checks no signature (`report --drill`, `verify --merge`) refuses. */
export const TRUST_FLAGS = ['pubkey', 'threshold', 'policy', 'root', 'policy-name', 'state-dir', 'revocations'] as const;

/** Declare the shared trust flags on a command; `keysOptional` (report) says --pubkey may be left out (the signers are then not checked). */
export function trustOptions(y: Argv, opts: { keysOptional?: boolean } = {}): Argv {
  const needed = opts.keysOptional ? 'optional: without it or --policy, the signers are not checked' : 'needed unless --policy is given';
  return y
    .option('pubkey', { type: 'string', array: true, requiresArg: true, describe: `trusted public key file (SPKI PEM); repeatable (${needed})` })
    // No yargs default: a --threshold given without --pubkey is told apart, and refused (trustSetup).
    .option('threshold', wholeNumberOption('threshold', 'how many distinct --pubkey keys must have signed (default: 1)', 1, MAX_THRESHOLD))
    .option('policy', { type: 'string', array: true, requiresArg: true, describe: 'signed trust policy (snap policy …); several: a chain of versions, oldest first' })
    .option('root', { type: 'string', array: true, requiresArg: true, describe: 'root public key of the policy (anchors its first use on this machine); repeatable' })
    .option('policy-name', { type: 'string', requiresArg: true, describe: 'require the policy to be the one of this name (its root keys may sign others)' })
    .option('state-dir', STATE_DIR_OPTION)
    .option('revocations', { type: 'string', array: true, requiresArg: true, describe: "revocation file (from snap revoke --out); repeatable. The store's own revocations are always read" });
}

/** True when `storeRoot` is a store (has store.json): its revocations apply. */
function isStore(storeRoot: string): boolean {
  return existsSync(join(storeRoot, 'store.json'));
}

/** What a command needs to check trust: the `--pubkey` keys, the threshold and the rules. */
export interface TrustSetup {
  trusted: TrustedKey[];
  threshold: number;
  rules: TrustRules;
  policy?: VerifiedPolicy;
  /** The trusted state folder. */
  stateDir: string;
  /** Keep in the trusted state every revocation that counted so far (call once the checks are done; a note on stderr if it cannot be written). */
  keepRevocations(): Promise<void>;
  /** The trusted state as read for these rules (absent: it could not be read): give it to `readState` (`reuse`) or {@link recordVersionSeen} to spare a read. */
  state?: TrustedState;
}

/**
 * Read the trust flags: `--pubkey` keys, `--threshold`, the policy (established against `--root`
 * and the trusted state, which then remembers it), and the revocations.
 * @param opts.remember false: leave the trusted state as it is (a drill writes nothing; default true)
 * @param opts.versionSeen false: leave out the rule {@link versionSeenRule} (verify judges it itself,
 *   under the state's lock, as it records the snapshot; default true)
 * @throws SnapError `USAGE` (neither --pubkey nor --policy; a bad --threshold) | the codes of
 *   reading keys, policies (`POLICY_*`), the state (`STATE_MALFORMED`) and revocation files
 */
export async function trustSetup(a: Args, io: CliIo, storeRoot: string, now = new Date(), opts: { remember?: boolean; versionSeen?: boolean } = {}): Promise<TrustSetup> {
  const threshold = (a.threshold as number | undefined) ?? 1;
  if (!Number.isSafeInteger(threshold) || threshold < 1) throw new SnapError('USAGE', `--threshold must be a whole number of at least 1, got ${String(a.threshold)}`);
  const pubkeys = (a.pubkey as string[] | undefined) ?? [];
  const policies = (a.policy as string[] | undefined) ?? [];
  if (pubkeys.length === 0 && policies.length === 0) throw new SnapError('USAGE', 'say whom to trust: --pubkey KEY.pub… , or --policy POLICY --root ROOT.pub…');
  // Beside a policy alone it was ignored: "--policy P --threshold 2" passed a snapshot the policy's rule passed, with one signature.
  if (a.threshold !== undefined && pubkeys.length === 0) throw new SnapError('USAGE', `--threshold counts the --pubkey keys, and none was given: how many signatures of which roles a snapshot needs is the policy's rule (snap policy rule … --require ROLE=N); give --pubkey KEY.pub… with --threshold, or leave it out`);
  if (policies.length === 0 && a.root !== undefined) throw new SnapError('USAGE', '--root anchors a --policy; give the policy too');
  if (policies.length === 0 && a['policy-name'] !== undefined) throw new SnapError('USAGE', '--policy-name names the --policy required; give the policy too');
  const trusted = await trustedKeys(pubkeys, io.cwd);
  noteThresholdAboveKeys(threshold, trusted, a, io, 'snapshot');
  const dir = stateDir(a['state-dir'] as string | undefined, io.env, io.cwd);
  let policy: VerifiedPolicy | undefined;
  /** The state the policy was established against (then changed, if at all, by its update below). */
  let policyState: TrustedState | undefined;
  if (policies.length > 0) {
    const docs = [];
    for (const f of policies) docs.push(await readPolicyFile(resolve(io.cwd, f)));
    const roots = await trustedKeys((a.root as string[] | undefined) ?? [], io.cwd);
    const name = a['policy-name'] !== undefined ? String(a['policy-name']) : undefined;
    policyState = await readState(dir);
    policy = establishPolicy(docs, roots, policyState, now, name !== undefined ? { name } : {});
    const v = policy;
    // Root keys sign every policy their holders make: without the name pinned, another policy they
    // signed (an old one, another team's) given in this one's place would be taken as well.
    if (name === undefined && !a.quiet) io.stderr.write(`note: policy ${escapeForTerminal(v.policy.name)} was taken because its root keys signed it; pin its name with --policy-name ${escapeForTerminal(v.policy.name)} (else any other policy those root keys signed would be taken in its place)\n`);
    if (opts.remember !== false) try {
      await updateState(dir, (s) => rememberPolicy(s, v, now), { read: policyState });
    } catch (e) {
      if (!a.quiet) io.stderr.write(`note: the trusted state ${escapeForTerminal(dir)} was not updated (${escapeMessage((e as Error).message)}): this machine will not remember policy ${escapeForTerminal(v.policy.name)} v${v.policy.version}\n`);
    }
  }
  const files = [];
  for (const f of (a.revocations as string[] | undefined) ?? []) files.push(await readRevocationFile(resolve(io.cwd, f)));
  const revokers = [...trusted, ...(policy ? usableKeys(policy.policy, now).filter((k) => !trusted.some((t) => t.keyid === k.keyid)) : [])];
  const remembered = await rememberedRevocations(dir, a, io, policyState);
  const versionSeen = opts.versionSeen === false ? undefined : await versionSeenRule(remembered.state, trustDomain(trusted, threshold, policy), storeRoot, io);
  const rules: TrustRules = { now, revocations: revocationSource(isStore(storeRoot) ? storeRoot : undefined, files, remembered, remembered.counted), revokers, ...(policy ? { policy } : {}), ...(versionSeen ? { versionSeen } : {}) };
  const keepRevocations = opts.remember === false ? async () => {} : remembered.keep;
  return { trusted, threshold, rules, ...(policy ? { policy } : {}), stateDir: dir, keepRevocations, ...(remembered.state ? { state: remembered.state } : {}) };
}

/**
 * The trust rules of a command that is given `--pubkey` keys only (`diff`, `check`, `bom`,
 * `attest`): the revocations of the store (when `storeRoot` is one) and those this machine's
 * trusted state kept (`--state-dir`, else the default folder; see {@link rememberedRevocations}),
 * judged with the command's keys, and `now` for `expiresAt` —
 * so a snapshot that verify refuses as revoked is not called trusted there either.
 * @returns the rules, and `keep()` to call once the checks are done (keeps the revocations that counted)
 * @throws SnapError `STATE_MALFORMED`
 */
export async function pubkeyTrustRules(a: Args, io: CliIo, storeRoot: string, trusted: readonly TrustedKey[], now = new Date()): Promise<{ rules: TrustRules; keep(): Promise<void> }> {
  const remembered = await rememberedRevocations(stateDir(a['state-dir'] as string | undefined, io.env, io.cwd), a, io);
  // The commands' --pubkey keys, one signature of them: verify's trust domain with the same keys and its default threshold.
  const versionSeen = await versionSeenRule(remembered.state, trustDomain(trusted, 1, undefined), storeRoot, io);
  return { rules: { now, revocations: revocationSource(isStore(storeRoot) ? storeRoot : undefined, [], remembered, remembered.counted), ...(versionSeen ? { versionSeen } : {}) }, keep: remembered.keep };
}

/**
 * {@link versionSeenRule} for a command that reads the trusted state for nothing else (`sign
 * --pubkey`): the state of `--state-dir` (else the default folder) judged with `trusted`, one
 * signature of them. A state this user cannot read is not fatal (a note, unless `--quiet`: what this
 * machine recorded is not applied); one that does not parse stops the run.
 * @throws SnapError `STATE_MALFORMED`
 */
export async function versionSeenOfKeys(a: Args, io: CliIo, storeRoot: string, trusted: readonly TrustedKey[]): ReturnType<typeof versionSeenRule> {
  const state = await readStateOrNote(stateDir(a['state-dir'] as string | undefined, io.env, io.cwd), a, io, 'the versions this machine has trusted are');
  return versionSeenRule(state, trustDomain(trusted, 1, undefined), storeRoot, io);
}

/**
 * The trusted state of `dir` for a run that only applies it: one this user cannot read (another
 * user's, 0600; not a file) is undefined, with a note (unless `--quiet`) that `unapplied` (what
 * it keeps) "not applied in this run"; one that does not parse stops the run.
 * @throws SnapError `STATE_MALFORMED`
 */
async function readStateOrNote(dir: string, a: Args, io: CliIo, unapplied: string, known?: TrustedState): Promise<TrustedState | undefined> {
  return readState(dir, known ? { reuse: known } : {}).catch((e: unknown) => {
    if (!isSnapError(e, 'IO_ERROR')) throw e;
    if (!a.quiet) io.stderr.write(`note: ${escapeMessage(e.message)}: ${unapplied} not applied in this run\n`);
    return undefined;
  });
}

/**
 * The rule `TrustRules.versionSeen` from the trusted state as read (FORMAT.md §17, "The same
 * version, another snapshot"): a snapshot found inside the store `storeRoot` whose NAME@VERSION this
 * machine trusted there, in trust domain `domain`, as another snapshot is refused with
 * `SNAPSHOT_ROLLBACK` — as verify refuses it, so that restore, import, drill, report, and attest,
 * diff, check, bom and sign with --pubkey do not take the other store's copy that verify refuses. A snapshot found elsewhere (an
 * archive's spool folder, a snapshot folder given by path) says nothing of any store, as in verify.
 * Only verify and restore record what they trusted ({@link recordVersionSeen}); the others only judge.
 * @returns the rule, or undefined when the state could not be read
 */
export async function versionSeenRule(state: TrustedState | undefined, domain: string, storeRoot: string, io: Pick<CliIo, 'givenStore'>): Promise<((loc: SnapshotLocation, snapshot: string, statement: Statement) => RuleFailure | undefined) | undefined> {
  if (!state) return undefined;
  const stores = await storeIdentities(storeRoot, io);
  return (loc, snapshot, statement) => (loc.dir !== '' && isInside(loc.dir, storeRoot) ? replacedVersion(state, domain, snapshot, statement, stores) : undefined);
}

/**
 * Judge and record a trusted snapshot found in the store (`stores`: the names it goes by,
 * cli/store-identity.ts `storeIdentities`) in one update under the trusted state's lock (FORMAT.md
 * §17): another snapshot of a NAME@VERSION this machine trusted there is refused and not recorded;
 * else the snapshot is recorded (`rememberLatest`) under each name of the store. Judged from an
 * earlier read, a record of another snapshot of the version made by a concurrent run in between
 * was replaced by this one. When the state cannot be updated (a read-only home, the lock held past
 * its wait), judged from a read of it, with a note (unless `--quiet`) that nothing was recorded.
 * For verify and restore.
 * @param snapshot the snapshot id; `statement` its trusted statement
 * @param read the state as read earlier in this run ({@link TrustSetup.state}), taken again unparsed when the file is unchanged
 * @returns the failure (`SNAPSHOT_ROLLBACK`) of a replaced version, else undefined
 */
export async function recordVersionSeen(a: Args, io: CliIo, dir: string, domain: string, snapshot: string, statement: Statement, stores: readonly string[], read?: TrustedState): Promise<RollbackFailure | undefined> {
  let replaced: RollbackFailure | undefined;
  let judged = false;
  const known = read !== undefined ? { read } : {};
  try {
    await updateState(
      dir,
      (s) => {
        judged = true;
        replaced = replacedVersion(s, domain, snapshot, statement, stores);
        // Under each name the store goes by (map, then some: each one is remembered, none skipped once another changed the state).
        return replaced === undefined && stores.map((at) => rememberLatest(s, domain, snapshot, statement, new Date(), at)).some(Boolean);
      },
      known,
    );
  } catch (e) {
    // Not updated (a read-only home, the lock held by another run): still judged from what can be read.
    if (!judged) replaced = replacedVersion(await readState(dir, read !== undefined ? { reuse: read } : {}).catch(() => undefined), domain, snapshot, statement, stores);
    if (!replaced && !a.quiet) io.stderr.write(`note: the trusted state ${escapeForTerminal(dir)} was not updated (${escapeMessage((e as Error).message)}): this machine will not remember ${escapeForTerminal(statement.predicate.dataset)}@${escapeForTerminal(statement.predicate.version)} as seen\n`);
  }
  return replaced;
}

/** The revocations this machine's trusted state kept, and how to keep those that count in a run. */
export interface MachineRevocations extends RememberedRevocations {
  /** The trusted state as read (absent: it could not be read), for the other rules it keeps ({@link versionSeenRule}). */
  state?: TrustedState;
  /** Give to `revocationSource`: told of each revocation that counted. */
  counted(doc: RevocationDoc): void;
  /** Keep in the trusted state every revocation that counted so far (a note on stderr, unless `--quiet`, if it cannot be written). */
  keep(): Promise<void>;
}

/**
 * The revocations this machine has seen, for `verify`, `restore`, `import`, `drill` (through
 * {@link trustSetup}) and `verify-model`: they count like the store's (a store that deletes one
 * cannot make the revoked snapshot pass here again); those that count in the run are kept by
 * `keep()`. A state this user cannot read (another user's, 0600; not a file) is not fatal, as it
 * is not for recording NAME@latest: a note says that what this machine saw is not applied. A state
 * that does not parse stops the run (STATE_MALFORMED): it is never taken for an empty one.
 * @param known the state as read earlier in this run (the policy's), taken again unparsed when the file is unchanged
 * @throws SnapError `STATE_MALFORMED`
 */
export async function rememberedRevocations(dir: string, a: Args, io: CliIo, known?: TrustedState): Promise<MachineRevocations> {
  const state = await readStateOrNote(dir, a, io, 'the revocations this machine has seen are', known);
  const seen: RevocationDoc[] = [];
  return {
    ...(state ? { state } : {}),
    bySnapshot: state?.revocations ?? {},
    source: join(dir, STATE_FILE),
    counted: (doc) => seen.push(doc),
    keep: async () => {
      if (seen.length === 0) return;
      try {
        await updateState(dir, (s) => rememberRevocations(s, seen), state ? { read: state } : {});
      } catch (e) {
        if (!a.quiet) io.stderr.write(`note: the trusted state ${escapeForTerminal(dir)} was not updated (${escapeMessage((e as Error).message)}): this machine will not remember the revocation it saw\n`);
      }
    },
  };
}
