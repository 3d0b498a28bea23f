/**
 * `--store s3://BUCKET/PREFIX` (or `$SNAP_STORE=s3://…`) for the commands that use a store: the
 * command runs on a working copy of the S3 store (`store/remote-session.ts`, FORMAT.md §23.5),
 * pushed back when it returns. The S3 modules and `@aws-sdk` are loaded by dynamic `import()`
 * here only, so that local commands start as fast as before.
 *
 * What the user sees is as for a local store: the working copy's path never shows (it is replaced
 * by the store's URL in everything printed), and stdout is held back until the push succeeded, so
 * a seal that lost its commit prints no "sealed" line.
 */
import { SnapError } from '../core/errors.js';
import { escapeForTerminal, escapeMessage } from '../core/display.js';
import { parseExpiry } from '../core/durations.js';
import { changedFileText, isS3Store, type ChangedFile, type Retention } from '../store/backend.js';
import type { TrustedKey } from '../core/envelope.js';
import type { ManifestNeed, ObjectNeed, SnapshotNeed } from '../store/remote-session.js';
import { archiveFileClaim } from '../core/archive.js';
import { isS3Url } from '../s3/location.js';
import { basename, resolve } from 'node:path';
import type { CosignatureMergeOptions } from '../store/cosignatures.js';
import type { CreateStore, LockKind, RetentionReport, S3Backend } from '../store/s3.js';
import { EXIT_INTEGRITY } from './exit-codes.js';
import { announceNewStore, trustedKeys, type Args, type CliIo } from './common.js';
import { escapeJsonForTerminal, jsonDocument } from './json-stdout.js';

/**
 * The ref arguments (as given, not checked) of a command that reads one or two snapshots of the
 * store — verify, drill, diff, report, check, show, prove, export, restore — or undefined for any
 * other command. What each reads of those snapshots is said by {@link objectNeedOf},
 * {@link manifestNeedOf} and {@link snapshotNeedOf}.
 */
function readerRefsOf(cmd: string, a: Args): unknown[] | undefined {
  switch (cmd) {
    case 'verify':
    case 'drill':
      return [a.against];
    case 'diff':
    case 'report':
      return [a.a, a.b];
    case 'check':
      return [a.b, a.against];
    case 'show':
    case 'prove':
    case 'export':
    case 'restore':
      return [a.ref];
    default:
      return undefined;
  }
}

/** The strings of `xs` (a ref argument not given is none). */
const givenRefs = (xs: readonly unknown[]): string[] => xs.filter((x): x is string => typeof x === 'string');

/**
 * Which objects a command reads from the store (the others need none): only those of the
 * snapshots its arguments name, never the whole store. fsck streams every object instead
 * (re-hashed, never copied).
 */
export function objectNeedOf(cmd: string, a: Args): ObjectNeed {
  if (cmd === 'fsck') return 'stream';
  const named = readerRefsOf(cmd, a);
  if (!named) return 'none';
  const refs = givenRefs(named);
  if (cmd === 'export' || cmd === 'restore') return { refs, objects: 'all' };
  if (cmd === 'prove' && a.record === undefined) return 'none';
  return { refs, objects: 'record-indexes' };
}
/**
 * Which snapshots a command reads from the store ({@link SnapshotNeed}): the readers of one or two
 * snapshots only those their refs name (a folder or an archive names none); seal every version of
 * its NAME, its --parent and its --derived-from snapshots; every other command, and `list`, every
 * snapshot. A ref of no snapshot the store holds, or one by id, reads them all (store/remote-session.ts
 * snapshotsWanted), so that errors name what the store holds instead.
 */
export function snapshotNeedOf(cmd: string, a: Args): SnapshotNeed {
  const named = readerRefsOf(cmd, a);
  // A ref not given (verify without --against …) is resolved by the command itself: every snapshot.
  if (named) return named.every((x) => typeof x === 'string') ? { refs: givenRefs(named) } : 'all';
  if (cmd !== 'seal') return 'all';
  // Every version of NAME (its newest is the default parent; NAME@VERSION must not be there yet),
  // --parent REF and each --derived-from REF.
  const at = String(a.as).indexOf('@');
  if (at <= 0) return 'all';
  return { refs: [...listOf(a.parent), ...listOf(a['derived-from'])], names: [String(a.as).slice(0, at)] };
}

/**
 * Whose manifests a command reads from the store ({@link ManifestNeed}): a manifest is the one
 * snapshot file of unbounded size, so one planted in a snapshot the command does not read must not
 * cost it. What each command reads (a store snapshot's manifest is read, or must be there, only
 * where named below; every other reader of a snapshot takes its statement and envelope):
 * - none: list, log, init; lineage and impact without --pubkey (statements only); revoke and attest without
 *   --pubkey (the named snapshots' statement and envelope); bom without --pubkey; import of a
 *   revocation (FILE.json);
 * - the named snapshots' (`NAME@latest`: every snapshot of NAME): verify, drill, diff, report,
 *   check, show, prove, export, restore, sign; bom REF --pubkey and attest --data REF --pubkey (the
 *   trust check wants the manifest there); import of `NAME@VERSION.snap.tar` (whether NAME@VERSION is already there: an archive so
 *   named holding another snapshot is refused before);
 * - seal: its parent's (the hints of its large files, and --incremental's digests): `--parent REF`,
 *   or the newest snapshot of NAME; none with --no-parent, or with --manifest-only (or a dataset in
 *   S3) and no --incremental;
 * - the snapshots the store's model attestations name (read first: `attested`): verify-model and
 *   bom --model --pubkey;
 * - every snapshot's: fsck (checks each); lineage --pubkey and impact --pubkey (the trust check
 *   of each snapshot they look at, any of the store's, wants its manifest there; without them every
 *   snapshot was reported damaged, its manifest missing); import of an archive named otherwise, and
 *   any command added later.
 */
export function manifestNeedOf(cmd: string, a: Args): ManifestNeed {
  const refs = (...xs: unknown[]): { refs: string[] } => ({ refs: givenRefs(xs) });
  const named = readerRefsOf(cmd, a);
  if (named) return refs(...named);
  switch (cmd) {
    case 'list':
    case 'log':
    case 'init':
    case 'revoke':
      return refs();
    case 'lineage':
    case 'impact':
      return listOf(a.pubkey).length === 0 ? refs() : 'all';
    case 'attest':
      // With --pubkey each --data snapshot gets the trust check, which wants its manifest there.
      return listOf(a.pubkey).length === 0 ? refs() : refs(...listOf(a.data));
    case 'verify-model':
      return { refs: [], attested: true };
    case 'sign':
      return refs(a.ref);
    case 'bom':
      if (listOf(a.pubkey).length === 0) return refs();
      return a.model !== undefined ? { refs: [], attested: true } : refs(a.ref);
    case 'import': {
      const file = resolve(String(a.file)); // as import resolves it: only its name is looked at
      if (file.endsWith('.json')) return refs();
      const claim = archiveFileClaim(basename(file));
      return claim ? refs(`${claim.name}@${claim.version}`) : 'all';
    }
    case 'seal':
      return sealManifestNeed(a);
    default:
      return 'all';
  }
}

/** A seal's manifests: its parent's, when it reads it (see {@link manifestNeedOf}). */
function sealManifestNeed(a: Args): ManifestNeed {
  if (a['no-parent']) return { refs: [] };
  const manifestOnly = !!a['manifest-only'] || isS3Url(String(a.dir));
  if (manifestOnly && !a.incremental) return { refs: [] };
  if (typeof a.parent === 'string') return { refs: [a.parent] };
  const at = String(a.as).indexOf('@');
  return at > 0 ? { refs: [], newestOf: String(a.as).slice(0, at) } : { refs: [] };
}

/** The values of a repeatable string flag (absent: none). */
const listOf = (v: unknown): string[] => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).map(String));

/**
 * How the session merges co-signature files (FORMAT.md §23.8): the keys the command was told to
 * trust — its `--pubkey` keys and every key of its `--policy` files (read, not yet established:
 * they only rank signatures, the command decides trust itself; for `sign`, the producers its
 * `--pubkey` expects) — and, for `sign`, room for one signature per `--key`. A key or policy file that cannot be read adds nothing here: the command
 * reports it when it reads it.
 * @returns `reserve` for sign, and `trusted` (deduplicated by keyid) when any key was read
 * @throws nothing
 */
export async function cosignatureOptionsOf(cmd: string, a: Args, io: CliIo): Promise<CosignatureMergeOptions> {
  const reserve = cmd === 'sign' ? { reserve: new Set(listOf(a.key)).size } : {};
  const keys: TrustedKey[] = [];
  for (const p of listOf(a.pubkey)) keys.push(...(await trustedKeys([p], io.cwd).catch(() => [])));
  const policies = listOf(a.policy);
  if (policies.length > 0) {
    const [{ readPolicyFile }, { policyKeys }, { resolve }] = await Promise.all([import('../trust/policy-trust.js'), import('../core/policy.js'), import('node:path')]);
    for (const f of policies) keys.push(...(await readPolicyFile(resolve(io.cwd, f)).then((d) => policyKeys(d.policy)).catch(() => [])));
  }
  const trusted = keys.filter((k, i) => keys.findIndex((o) => o.keyid === k.keyid) === i);
  return { ...reserve, ...(trusted.length > 0 ? { trusted } : {}) };
}

/**
 * Commands that make the store when there is none (as they do a local one): `init` at once; seal
 * and import before the first key they write (S3Backend.open `'when-written'`), so that one that
 * fails before it uploads anything (a missing key, folder or archive) leaves no store, as locally.
 */
const CREATING = new Map<string, CreateStore>([
  ['init', true],
  ['seal', 'when-written'],
  ['import', 'when-written'],
]);

/**
 * Commands that only read the store (and append their audit log line): they hold a shared lock
 * (FORMAT.md §23.4), so that any number of them run at once — a CI's shards each verifying against
 * the same bucket — and beside a command that only adds to the store ({@link APPEND_LOCK_COMMANDS}).
 * The others hold the exclusive lock: `fsck` (it removes and replaces, and takes a seal's staged
 * files for leftovers), `log`, `lineage`, `impact` and `verify-model`, which read the whole audit
 * log and must not see another command's append half done, and `bom`, which like the last three
 * reads the model attestations `attest` writes as two files.
 */
export const SHARED_LOCK_COMMANDS: ReadonlySet<string> = new Set(['verify', 'drill', 'diff', 'report', 'check', 'show', 'list', 'prove', 'export', 'restore']);

/**
 * Commands that only add to the store — objects (write-once), snapshots (none is seen before its
 * commit object: FORMAT.md §23.3), write-once files (co-signatures, revocations, attestations), log
 * lines under the log's lock: they hold an append lock (FORMAT.md §23.4), one at a time, with readers
 * beside them, so that a seal of hours does not make a CI's verify wait and fail. (`retain`, which
 * only extends Object Lock retention, takes its lock itself: cli/commands/retain.ts.)
 */
export const APPEND_LOCK_COMMANDS: ReadonlySet<string> = new Set(['seal', 'import', 'sign', 'revoke', 'attest', 'init', 'retain']);

/** The store lock `cmd` holds on an S3 store (FORMAT.md §23.4). */
export function lockKindFor(cmd: string): LockKind {
  return SHARED_LOCK_COMMANDS.has(cmd) ? 'shared' : APPEND_LOCK_COMMANDS.has(cmd) ? 'append' : 'exclusive';
}

/**
 * Commands that read no line of the audit log (they only append their own): their working copy
 * gets the log's last line and head, not every line (RemoteSessionOptions.logTail). The others —
 * `log`, `lineage`, `impact`, `verify-model` and `fsck`, which read the log (its chain,
 * checkpoints, attestation records, a seal's `details.objects`), and any command added later — get
 * it whole.
 */
export const LOG_TAIL_COMMANDS: ReadonlySet<string> = new Set([...SHARED_LOCK_COMMANDS, 'seal', 'import', 'sign', 'revoke', 'init', 'prune', 'attest', 'bom']);

/**
 * `$SNAP_S3_STAGE_BYTES`: how many bytes of new objects a seal into an S3 store stages on local
 * disk before uploading them (a positive integer; otherwise the default, 256 MiB).
 */
function stageBytesOf(io: CliIo): { stageBytes?: number } {
  const text = io.env.SNAP_S3_STAGE_BYTES;
  const n = text !== undefined && /^[1-9][0-9]{0,15}$/.test(text) ? Number(text) : NaN;
  return Number.isSafeInteger(n) ? { stageBytes: n } : {};
}

/** The store a command was given, if it is an S3 store. */
export function s3StoreOf(a: Args, io: CliIo): string | undefined {
  const text = a.store ?? io.env.SNAP_STORE;
  return isS3Store(text) ? text : undefined;
}

/**
 * The retention `seal --retain` asks for.
 * @throws SnapError `USAGE` for a bad duration or date, a bad mode, or a store that is not S3
 */
export function retentionOf(a: Args, io: CliIo, now = new Date()): Retention | undefined {
  if (a.retain === undefined) {
    if (a['retain-mode'] !== undefined) throw new SnapError('USAGE', '--retain-mode needs --retain');
    return undefined;
  }
  if (!s3StoreOf(a, io)) throw new SnapError('USAGE', '--retain needs an S3 store with Object Lock (--store s3://BUCKET/PREFIX); a local store cannot lock its files');
  const mode = String(a['retain-mode'] ?? 'compliance').toLowerCase();
  if (mode !== 'compliance' && mode !== 'governance') throw new SnapError('USAGE', `--retain-mode ${JSON.stringify(String(a['retain-mode']))}: give compliance or governance`);
  return { mode: mode === 'compliance' ? 'COMPLIANCE' : 'GOVERNANCE', until: new Date(parseExpiry(String(a.retain), now, '--retain')) };
}

/**
 * Run `handler` on a working copy of the S3 store `url`.
 * @returns the command's exit code; an error of the push is thrown (e.g. `SNAPSHOT_EXISTS` when
 *   another sealer committed the same NAME@VERSION first)
 */
export async function runOnS3Store(cmd: string, url: string, a: Args, io: CliIo, handler: (a: Args, io: CliIo) => Promise<number>): Promise<number> {
  const retain = retentionOf(a, io);
  const [{ openS3Backend }, { openRemoteSession }, { readS3Settings }] = await Promise.all([import('../store/open-s3.js'), import('../store/remote-session.js'), import('../s3/client.js')]);
  const remote = await openS3Backend(url, io.env);
  const endpoint = readS3Settings(io.env).endpoint;
  if (retain) await remote.checkObjectLock();
  const cosignatures = await cosignatureOptionsOf(cmd, a, io);
  const session = await openRemoteSession(remote, {
    cosignatures,
    create: CREATING.get(cmd) ?? false,
    lock: lockKindFor(cmd),
    logTail: LOG_TAIL_COMMANDS.has(cmd),
    objects: objectNeedOf(cmd, a),
    manifests: manifestNeedOf(cmd, a),
    snapshots: snapshotNeedOf(cmd, a),
    // seal asks "is this object in the store?" of the bucket, not of the empty working copy.
    presence: cmd === 'seal',
    ...stageBytesOf(io),
    ...(retain ? { retain } : {}),
    // Notes embed names read from the bucket (refs, object keys): escaped like every human line.
    note: (t) => io.stderr.write(`${io.program ?? 'snap'} ${cmd}: ${escapeMessage(t)}\n`),
  });
  // What the command prints names the bucket's location in place of the working copy's path, put
  // in as each output writes text: a prefix may hold `"`, `\`, C1 and bidirectional controls
  // (s3/location.ts refuses only C0 controls and DEL). Raw in an error's message (--json gives it
  // exact, stderr escapes it) and in a value put in the document; JSON-escaped in --json text;
  // escaped for a terminal in human lines. (The working copy's path is plain ASCII: it reads the
  // same in each.)
  const location = remote.location.replace(/\/$/, '');
  const inText = (s: string, as: string): string => s.split(session.root).join(as);
  const shown = (s: string): string => inText(s, location);
  const shownInJson = (s: string): string => inText(s, escapeJsonForTerminal(JSON.stringify(location).slice(1, -1)));
  const shownOnTerminal = (s: string): string => inText(s, escapeForTerminal(location));
  const held: string[] = [];
  const afterPush: (() => Promise<void>)[] = [];
  const out: CliIo = {
    ...io,
    afterPush: (fn) => void afterPush.push(fn),
    pushed: () => ({ objectsUploaded: session.stats.objectsUploaded, bytesUploaded: session.stats.bytesUploaded }),
    storeMade: () => remote.madeStore,
    env: { ...io.env, SNAP_STORE: session.root },
    givenStore: { store: typeof a.store === 'string' ? a.store : undefined, url: remote.location, ...(endpoint !== undefined ? { endpoint: new URL(endpoint).href } : {}) },
    ...(cmd === 'fsck' ? { storeObjects: { checkObjects: (p) => session.checkObjects(p), installObject: (h, p, n) => session.installObject(h, p, n), leftovers: () => session.leftovers(), clean: () => session.clean() } } : {}),
    stdout: wrapWrite(io.stdout, (s) => void held.push(a.json ? shownInJson(s) : shownOnTerminal(s))),
    stderr: wrapWrite(io.stderr, (s) => void io.stderr.write(shownOnTerminal(s))),
  };
  let code: number;
  let retention: RetentionFinding[] = [];
  let overwritten: OverwrittenFinding[] = [];
  let changed: ChangedStoreFiles = { listed: [], unlisted: 0 };
  try {
    code = await handler({ ...a, store: session.root }, out);
    if (cmd === 'show' || cmd === 'fsck') retention = await retentionFindings(cmd, a, session.root, session.remote);
    if (cmd === 'fsck') overwritten = await overwrittenFindings(session.root, session.remote);
    if (cmd === 'fsck') changed = changedStoreFilesOf(session.remote);
  } catch (e) {
    await session.finish(true).catch(() => {});
    // A seal that failed after its first upload leaves the store it made (FORMAT.md §23.1): said.
    announceNewStore(io, cmd !== 'init' && remote.madeStore, location);
    if (a.debug) io.stderr.write(`${io.program ?? 'snap'} ${cmd}: S3 transfer ${JSON.stringify(session.stats)}\n`);
    // What the command printed goes out, then the error; with --json the error's document is the
    // only one on stdout (the command's, already held, would make two).
    if (!a.json) for (const s of held) io.stdout.write(s);
    if (e instanceof SnapError) throw new SnapError(e.code, shown(e.message), e.details);
    throw e;
  }
  await session.finish(true);
  // Making a store is never silent: said as seal and import say it of a local one (init says it
  // itself). The working copy is always a store, so the command's own storeCreated is false.
  const announced = cmd !== 'init' && remote.madeStore;
  announceNewStore(io, announced, location);
  for (const fn of afterPush) await fn();
  // What went over the wire, for whoever measures it (tests count objects pulled, not time).
  if (a.debug) io.stderr.write(`${io.program ?? 'snap'} ${cmd}: S3 transfer ${JSON.stringify(session.stats)}\n`);
  const text = held.join('');
  const logFailed = session.stats.logPushFailed;
  const anyChanged = changed.listed.length > 0;
  if (retention.length === 0 && overwritten.length === 0 && !anyChanged && !(a.json && (logFailed !== undefined || announced))) io.stdout.write(text);
  else if (a.json) {
    let doc: Record<string, unknown> | undefined;
    try {
      doc = JSON.parse(text) as Record<string, unknown>;
    } catch {
      doc = undefined;
    }
    if (doc && typeof doc === 'object') {
      if (announced && 'storeCreated' in doc) doc.storeCreated = true;
      if (retention.length > 0) {
        const shorter = retention.some(hasShorter);
        if (cmd === 'show') doc.retention = retentionJson(retention[0] as RetentionFinding);
        else doc.retention = retention.map(retentionJson);
        if (cmd === 'fsck' && shorter) doc.ok = false;
      }
      if (overwritten.length > 0) {
        doc.overwritten = overwritten;
        doc.ok = false;
      }
      if (anyChanged) {
        doc.changedFiles = changed.listed;
        if (changed.unlisted > 0) doc.changedFilesUnlisted = changed.unlisted;
        doc.ok = false;
      }
      // The line was written to the working copy but not to the bucket: --json says what is true.
      if (logFailed !== undefined && doc.log !== null && typeof doc.log === 'object') doc.log = { written: false, reason: shown(logFailed) };
      io.stdout.write(jsonDocument(doc));
    } else io.stdout.write(text);
  } else {
    io.stdout.write(text);
    for (const r of retention) io.stdout.write(retentionLines(cmd, r));
    for (const o of overwritten) io.stdout.write(overwrittenLine(remote.location, o));
    for (const f of changed.listed) io.stdout.write(escapeMessage(`FAIL  ${remote.location}${f.path} was ${f.change} in the bucket after it was written once: every command reads its first version; someone with write access to the bucket changed it`) + '\n');
    if (changed.unlisted > 0) io.stdout.write(`FAIL  … and ${changed.unlisted} more store files written over or deleted in the bucket (the first ${MAX_CHANGED_FILES_LISTED} are listed)\n`);
  }
  // An object locked for less time than its snapshot is a broken promise of the store, and a
  // snapshot file, a revocation, a co-signature or an attestation written over is someone changing
  // what was written once: fsck fails.
  if (cmd === 'fsck' && code === 0 && (retention.some(hasShorter) || overwritten.length > 0 || anyChanged)) return EXIT_INTEGRITY;
  return code;
}

/**
 * A staged file of a snapshot whose current version in the bucket is not the one its commit object
 * pins (FORMAT.md §23.3): `current` is the version now there, `null` when a delete marker is.
 */
interface OverwrittenFinding extends ChangedFile {
  ref: string;
}

/** Most store files written over or deleted that fsck names (the rest are counted: planted keys written over cost no memory there). */
export const MAX_CHANGED_FILES_LISTED = 1000;

/** fsck's finding of the write-once store files written over or deleted (S3Backend.changedStoreFiles): the first {@link MAX_CHANGED_FILES_LISTED}, and how many more. */
interface ChangedStoreFiles {
  listed: { path: string; change: 'written over' | 'deleted' }[];
  unlisted: number;
}

/** The revocation, co-signature and attestation files of the bucket written over or deleted since written, as fsck reports them (no request: the listing found them). */
function changedStoreFilesOf(remote: S3Backend): ChangedStoreFiles {
  const all = remote.changedStoreFiles();
  return { listed: all.slice(0, MAX_CHANGED_FILES_LISTED), unlisted: Math.max(0, all.length - MAX_CHANGED_FILES_LISTED) };
}

/** Snapshots whose staged files fsck looks up at once (see {@link overwrittenFindings}). */
const OVERWRITE_CHECK_JOBS = 8;

/** fsck's finding of every snapshot, in NAME@VERSION order (see {@link S3Backend.overwrittenFiles}). */
async function overwrittenFindings(root: string, remote: S3Backend): Promise<OverwrittenFinding[]> {
  const [{ openStore, listSnapshots }, { mapLimit }] = await Promise.all([import('../io/store.js'), import('../store/s3.js')]);
  const refs = (await listSnapshots(await openStore(root))).map((s) => ({ name: s.name, version: s.version }));
  refs.sort((x, y) => (x.name === y.name ? (x.version < y.version ? -1 : x.version > y.version ? 1 : 0) : x.name < y.name ? -1 : 1));
  // Four HEADs a snapshot, OVERWRITE_CHECK_JOBS snapshots at once; results in NAME@VERSION order.
  const found = await mapLimit(refs, OVERWRITE_CHECK_JOBS, (r) =>
    remote.overwrittenFiles(r.name, r.version).catch((e: unknown) => {
      // A commit object that cannot be read is reported by fsck as a snapshot without its files.
      if (e instanceof SnapError && (e.code === 'SNAPSHOT_MALFORMED' || e.code === 'NOT_FOUND')) return [];
      throw e;
    }),
  );
  return found.flatMap((files, i) => files.map((f) => ({ ref: `${(refs[i] as { name: string }).name}@${(refs[i] as { version: string }).version}`, ...f })));
}

function overwrittenLine(location: string, o: OverwrittenFinding): string {
  return escapeMessage(`FAIL  ${changedFileText(location, o.ref, o)} and every command reads: someone with write access to the bucket changed it`) + '\n';
}

/** One snapshot's retention as show and fsck report it. */
interface RetentionFinding {
  ref: string;
  report: RetentionReport;
  shorter: string[];
}

/** Whether an object or a file of the snapshot is locked for less time than the snapshot. */
const hasShorter = (r: RetentionFinding): boolean => r.shorter.length > 0 || r.report.shorterFiles.length > 0;

function retentionJson(r: RetentionFinding): Record<string, unknown> {
  return {
    ref: r.ref,
    ...(r.report.retention ? { mode: r.report.retention.mode, until: r.report.retention.until.toISOString().replace(/\.000Z$/, 'Z') } : { mode: null, until: null }),
    objects: r.report.objects,
    shorterLocks: r.shorter,
    shorterFiles: r.report.shorterFiles,
  };
}

function retentionLines(cmd: string, r: RetentionFinding): string {
  const ret = r.report.retention;
  const until = ret ? `${ret.mode} until ${ret.until.toISOString().replace(/\.000Z$/, 'Z')}` : 'none (not under Object Lock)';
  const head = cmd === 'show' ? `  retention        ${until}\n` : `${hasShorter(r) ? 'FAIL' : 'OK  '}  retention of ${r.ref}: ${until}\n`;
  const more = r.shorter.length
    ? `  ${r.shorter.length} of ${r.report.objects} objects are locked for less time than the snapshot:\n${r.shorter.slice(0, 20).map((h) => `    ${h}\n`).join('')}${r.shorter.length > 20 ? `    … ${r.shorter.length - 20} more\n` : ''}`
    : '';
  const files = r.report.shorterFiles.length ? `  the snapshot's files locked for less time than the snapshot: ${r.report.shorterFiles.join(', ')}\n` : '';
  return head + more + files;
}

/** The retention of the snapshot `show` names, or of every snapshot for `fsck`. */
async function retentionFindings(cmd: string, a: Args, root: string, remote: S3Backend): Promise<RetentionFinding[]> {
  if (!(await remote.objectLockEnabled())) return []; // nothing is locked in such a bucket
  const [{ openStore, resolveRef, listSnapshots, snapshotDir }, { objectsOfSnapshotIn }] = await Promise.all([import('../io/store.js'), import('../store/remote-session.js')]);
  let refs: { name: string; version: string }[];
  if (cmd === 'show') {
    const text = String(a.ref);
    if (/\.snap\.tar$/.test(text) || text.includes('/')) return []; // an archive or a folder: not in the store
    const loc = await resolveRef(text, root).catch(() => undefined);
    if (!loc?.name || !loc.version) return [];
    refs = [{ name: loc.name, version: loc.version }];
  } else refs = (await listSnapshots(await openStore(root))).map((s) => ({ name: s.name, version: s.version }));
  // In NAME@VERSION order, whatever order the snapshots were pulled in (in parallel): output is deterministic.
  refs.sort((x, y) => (x.name === y.name ? (x.version < y.version ? -1 : x.version > y.version ? 1 : 0) : x.name < y.name ? -1 : 1));
  const store = await openStore(root);
  const out: RetentionFinding[] = [];
  for (const r of refs) {
    const report = await remote.retentionReport(r.name, r.version, await objectsOfSnapshotIn(snapshotDir(store, r.name, r.version)));
    out.push({ ref: `${r.name}@${r.version}`, report, shorter: report.shorter });
  }
  return out;
}

/** A stream whose writes go to `write` (as text), keeping `isTTY` and `columns` of `base`. */
function wrapWrite(base: CliIo['stdout'], write: (s: string) => void): CliIo['stdout'] {
  const w = Object.create(base) as CliIo['stdout'];
  (w as unknown as { write: (c: unknown, ...rest: unknown[]) => boolean }).write = (c: unknown, ...rest: unknown[]) => {
    write(typeof c === 'string' ? c : Buffer.from(c as Uint8Array).toString('utf8'));
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  };
  return w;
}
