/**
 * The trusted state: what this machine has seen and trusted, kept between runs as TUF clients keep
 * their trusted metadata (theupdateframework specification, "Update the root role", 5.3.8 "Persist
 * root metadata"). It is what makes rollback visible: a policy older than one already seen, or a
 * store whose newest trusted snapshot of a dataset is older than one this machine has verified.
 *
 * One file, `trusted-state.json`, in the state folder: `--state-dir DIR`, else `$SNAP_STATE_DIR`,
 * else `$XDG_STATE_HOME/snap`, else `~/.local/state/snap`. Canonical JSON:
 * ```json
 * {"format":"snap-trusted-state/1",
 *  "latest":{"<trust domain>":{"<dataset>":{"createdAt":"…","seenAt":"…","snapshot":"sha256:…","version":"v8"}}},
 *  "latestByStore":{"<store>":{"<trust domain>":{"<dataset>":{"createdAt":"…","seenAt":"…","snapshot":"sha256:…","version":"v8","versions":[{"createdAt":"…","snapshot":"sha256:…","version":"v7"},…]}}}},
 *  "policies":{"<policy name>":{"root":{"keys":{"<keyid>":"<SPKI base64>"},"threshold":2,"validUntil"?:{"<keyid>":"…"}},"seenAt":"…","sha256":"<payload hex>","version":3}},
 *  "revocations":{"<snapshot id hex>":{"<hex SHA-256 of the envelope>":"<the revocation envelope, canonical JSON>"}},
 *  "checkpoints":{"<log origin>":{"root":"<base64>","seenAt":"…","size":42}}}
 * ```
 * `checkpoints` (present once one was kept) holds, per audit log origin, the largest checkpoint
 * this machine signed (`log checkpoint`) or verified signed (`log --verify --pubkey`): from then on
 * the log must extend it here, so a store that removes its newer checkpoints and rewrites the lines
 * after an older one is noticed on this machine (trust/log-checkpoints.ts).
 * `revocations` (present once one was seen) keeps every revocation that counted in a verify on this
 * machine, whole, so that a store which deletes it afterwards cannot make the revoked snapshot pass
 * again here: it is judged again with each verify's own keys, like the store's.
 * Updates take `trusted-state.lock` (O_EXCL), read, change and write the file atomically (mode
 * 0600). A file that cannot be parsed is an error (`STATE_MALFORMED`), never silently reset: that
 * would forget exactly what rollback protection needs.
 */
import { promises as fsp } from 'node:fs';
import { userInfo } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { SnapError, isSnapError } from '../core/errors.js';
import { canonicalJson } from '../core/canonical-json.js';
import { parseJsonStrict } from '../core/json-strict.js';
import { isValidTime } from '../core/statement.js';
import { isObject } from '../core/is-object.js';
import { acquireLockFile } from '../io/store.js';
import { writeOutputFile } from '../io/output-temp.js';
import { ioError } from '../io/errors.js';
import { readSmallFile } from '../io/small-file.js';
import { otherWriters } from '../core/other-writers.js';
import { sharedFolderOnTheWay, type SharedFolder } from '../io/shared-folders.js';

export const STATE_FILE = 'trusted-state.json';
export const STATE_LOCK_FILE = 'trusted-state.lock';
export const STATE_FORMAT = 'snap-trusted-state/1';
/** Largest state file read, in bytes. */
export const MAX_STATE_BYTES = 16 * 1024 * 1024;
/**
 * Most stores `latestByStore` keeps (trust/latest.ts `rememberLatest`): a CI job that verifies from a
 * fresh store folder each run must not grow the state towards {@link MAX_STATE_BYTES} (as
 * `logOrigins`, trust/log-checkpoints.ts `MAX_LOG_ORIGINS`).
 */
export const MAX_LATEST_STORES = 10_000;
/** Most versions of one dataset a store's record keeps (`LatestMemory.versions`). */
export const MAX_VERSIONS_KEPT = 256;
/**
 * Most versions `latestByStore` keeps in all, over every store, trust domain and NAME (about 150
 * bytes each as canonical JSON: 40,000 are about 6 MiB). {@link MAX_LATEST_STORES} stores of
 * {@link MAX_VERSIONS_KEPT} versions each would pass {@link MAX_STATE_BYTES}, and a state that
 * large is refused when read (`STATE_MALFORMED`): every command that reads it would stop. Past the
 * bound the records seen longest ago are dropped (trust/latest.ts `rememberLatest`).
 */
export const MAX_VERSIONS_TOTAL = 40_000;
/** How long an update waits for another process holding the state lock (ms). */
const LOCK_WAIT_MS = 10_000;

/** What is remembered of the newest version of a policy seen. */
export interface PolicyMemory {
  version: number;
  /** Hex SHA-256 of its payload bytes. */
  sha256: string;
  /**
   * Its root keys (keyid → SPKI DER base64) and threshold: they must sign the next version.
   * `validUntil` (keyid → RFC 3339 UTC) keeps the end of a remembered root key's period: from then
   * on it no longer counts towards the next version (absent in states written before this member).
   */
  root: { keys: Record<string, string>; threshold: number; validUntil?: Record<string, string> };
  seenAt: string;
}

/** The newest snapshot of a dataset this machine has trusted, within one trust domain (and, under `latestByStore`, one store). */
export interface LatestMemory {
  snapshot: string;
  version: string;
  createdAt: string;
  seenAt: string;
  /**
   * The store it was verified in, in a `latest` record written between 9a0cd14 and the
   * `latestByStore` member (read as that store's record, as `latestByStore` is); absent in a record
   * of `latest` an earlier snap wrote (held to in every store). Never written any more: a record of
   * a store goes to `latestByStore`.
   */
  store?: string;
  /**
   * Under `latestByStore`: every version of the dataset verified from that store (the newest's
   * too), oldest recorded first, each with the snapshot id it was verified as: another snapshot of
   * one of them there is refused as the newest's is. At most {@link MAX_VERSIONS_KEPT}, the
   * oldest recorded dropped beyond. Absent in a record written before it (then only the newest is held so).
   */
  versions?: VersionMemory[];
}

/** A version of a dataset verified from a store, as it was verified. */
export interface VersionMemory {
  version: string;
  snapshot: string;
  createdAt: string;
}

/** The largest checkpoint of an audit log (by origin) this machine signed or verified signed. */
export interface CheckpointMemory {
  /** Tree size: lines of the log it covers. */
  size: number;
  /** Standard base64 of its 32-byte RFC 9162 root. */
  root: string;
  seenAt: string;
}

/** The whole state. */
export interface TrustedState {
  format: typeof STATE_FORMAT;
  /** Policy name → memory. */
  policies: Record<string, PolicyMemory>;
  /**
   * Trust domain (a policy, or a set of keys) → dataset NAME → memory an earlier snap recorded (of
   * every verify, from any store or archive): held to in every store. No longer written: a
   * snapshot found in a store is recorded under `latestByStore`, one found elsewhere not at all.
   */
  latest: Record<string, Record<string, LatestMemory>>;
  /**
   * Store (cli/commands/verify.ts `latestStoreKey`: the store folder's absolute path as given, or
   * the S3 store's URL) → trust domain → dataset NAME → the newest snapshot of NAME verified from
   * that store: another snapshot of the same version there is refused (trust/latest.ts
   * `sameVersionOtherSnapshot`), and that store's `NAME@latest` is held to it. One record per
   * store, so that verifying another store's newer NAME does not forget this one's; at most
   * {@link MAX_LATEST_STORES} stores, the one whose newest record was seen longest ago dropped first.
   */
  latestByStore?: Record<string, Record<string, Record<string, LatestMemory>>>;
  /** Snapshot id hex → envelope SHA-256 hex → a revocation envelope that counted here (canonical JSON). */
  revocations?: Record<string, Record<string, string>>;
  /** Audit log origin → the largest checkpoint of it this machine signed or verified signed. */
  checkpoints?: Record<string, CheckpointMemory>;
  /**
   * Store (its folder's path as given and its real path, each a key — cli/commands/log.ts
   * `storeIdentities` — or its `s3://BUCKET/PREFIX/` URL as the S3 store resolves it) → the
   * origin of its audit log, as this machine signed a checkpoint of it or verified one signed:
   * `log --verify` then holds the store's log to it.
   */
  logOrigins?: Record<string, LogOriginMemory>;
}

/** The origin (log name) of a store's audit log, as this machine first signed or verified it signed. */
export interface LogOriginMemory {
  origin: string;
  seenAt: string;
}

/**
 * The state folder (see the module comment): `--state-dir`, else `$SNAP_STATE_DIR`, else
 * `$XDG_STATE_HOME/snap`, else `~/.local/state/snap` with `~` from `$HOME` when it is an absolute
 * path, else the user's home folder in the password database. A `HOME` that is set but empty or
 * relative is not taken (an empty one put the trusted state under the working folder, where each
 * folder a command ran in had a state of its own).
 * @param passwdHome the password database's home folder of this user (`os.userInfo().homedir`;
 *   a test gives another)
 * @throws SnapError `USAGE` when no home folder is known (set `SNAP_STATE_DIR` or `--state-dir`)
 */
export function stateDir(flag: string | undefined, env: NodeJS.ProcessEnv, cwd: string, passwdHome: () => string = () => userInfo().homedir): string {
  if (flag !== undefined) return resolve(cwd, flag);
  if (env.SNAP_STATE_DIR) return resolve(cwd, env.SNAP_STATE_DIR);
  if (env.XDG_STATE_HOME) return join(resolve(cwd, env.XDG_STATE_HOME), 'snap');
  return join(homeFolder(env, passwdHome), '.local', 'state', 'snap');
}

/**
 * `$HOME` when absolute, else the password database's home folder (`passwdHome`, which throws
 * when the user has no entry). @throws SnapError `USAGE` when neither is an absolute path
 */
function homeFolder(env: NodeJS.ProcessEnv, passwdHome: () => string): string {
  if (env.HOME && isAbsolute(env.HOME)) return env.HOME;
  let home = '';
  try {
    home = passwdHome();
  } catch {
    // no entry for this user: no home folder is known
  }
  if (home && isAbsolute(home)) return home;
  throw new SnapError('USAGE', `no home folder for the trusted state: HOME is ${env.HOME === undefined ? 'not set' : env.HOME === '' ? 'empty' : `not an absolute path (${JSON.stringify(env.HOME)})`} and the user has no home folder in the password database; give --state-dir DIR or set SNAP_STATE_DIR`, { variable: 'HOME' });
}

function emptyState(): TrustedState {
  return { format: STATE_FORMAT, policies: {}, latest: {} };
}

function malformed(path: string, why: string): SnapError {
  return new SnapError('STATE_MALFORMED', `${path} is not a valid trusted state (${why}); it is never reset silently: fix or remove it by hand (removing it forgets which policy versions and snapshots this machine has seen)`, { path });
}

/** Check the shape of a parsed state (members and types; unknown members refused). */
function validateState(v: unknown, path: string): TrustedState {
  const obj = isObject;
  if (!obj(v) || v.format !== STATE_FORMAT || !obj(v.policies) || !obj(v.latest) || Object.keys(v).some((k) => !['format', 'policies', 'latest', 'latestByStore', 'revocations', 'checkpoints', 'logOrigins'].includes(k)) || ('latestByStore' in v && !obj(v.latestByStore)) || ('revocations' in v && !obj(v.revocations)) || ('checkpoints' in v && !obj(v.checkpoints)) || ('logOrigins' in v && !obj(v.logOrigins))) {
    throw malformed(path, `not {"format":"${STATE_FORMAT}","policies":{…},"latest":{…},"latestByStore"?:{…},"revocations"?:{…},"checkpoints"?:{…},"logOrigins"?:{…}}`);
  }
  for (const [store, m] of Object.entries((v.logOrigins ?? {}) as Record<string, unknown>)) {
    if (!obj(m) || typeof m.origin !== 'string' || m.origin === '' || typeof m.seenAt !== 'string') throw malformed(path, `logOrigins.${store}`);
  }
  for (const [origin, m] of Object.entries((v.checkpoints ?? {}) as Record<string, unknown>)) {
    if (!obj(m) || !Number.isSafeInteger(m.size) || (m.size as number) < 0 || typeof m.root !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(m.root) || typeof m.seenAt !== 'string') throw malformed(path, `checkpoints.${origin}`);
  }
  for (const [id, byFile] of Object.entries((v.revocations ?? {}) as Record<string, unknown>)) {
    if (!/^[0-9a-f]{64}$/.test(id) || !obj(byFile)) throw malformed(path, `revocations.${id}`);
    for (const [digest, envelope] of Object.entries(byFile)) if (!/^[0-9a-f]{64}$/.test(digest) || typeof envelope !== 'string') throw malformed(path, `revocations.${id}.${digest}`);
  }
  for (const [name, m] of Object.entries(v.policies)) {
    if (!obj(m) || !Number.isSafeInteger(m.version) || typeof m.sha256 !== 'string' || typeof m.seenAt !== 'string' || !obj(m.root) || !obj(m.root.keys) || !Number.isSafeInteger(m.root.threshold)) throw malformed(path, `policies.${name}`);
    for (const spki of Object.values(m.root.keys)) if (typeof spki !== 'string') throw malformed(path, `policies.${name}.root.keys`);
    // As a policy's own rule (core/policy.ts): version from 1, threshold from 1 to its number of root keys.
    // A threshold of 0 would let any self-signed next version rotate in.
    const keyCount = Object.keys(m.root.keys).length;
    if ((m.version as number) < 1 || (m.root.threshold as number) < 1 || (m.root.threshold as number) > keyCount) throw malformed(path, `policies.${name}: version from 1, root.threshold from 1 to its ${keyCount} root keys`);
    if ('validUntil' in m.root && (!obj(m.root.validUntil) || Object.values(m.root.validUntil).some((t) => !isValidTime(t)))) throw malformed(path, `policies.${name}.root.validUntil`);
  }
  const latestOf = (byDomain: unknown, where: string): void => {
    if (!obj(byDomain)) throw malformed(path, where);
    for (const [domain, ds] of Object.entries(byDomain)) {
      if (!obj(ds)) throw malformed(path, `${where}.${domain}`);
      for (const [name, m] of Object.entries(ds)) {
        if (!obj(m) || typeof m.snapshot !== 'string' || typeof m.version !== 'string' || typeof m.createdAt !== 'string' || typeof m.seenAt !== 'string' || ('store' in m && typeof m.store !== 'string')) throw malformed(path, `${where}.${domain}.${name}`);
        if ('versions' in m && (!Array.isArray(m.versions) || m.versions.some((x: unknown) => !obj(x) || typeof x.version !== 'string' || typeof x.snapshot !== 'string' || typeof x.createdAt !== 'string'))) throw malformed(path, `${where}.${domain}.${name}.versions`);
      }
    }
  };
  latestOf(v.latest, 'latest');
  for (const [store, byDomain] of Object.entries((v.latestByStore ?? {}) as Record<string, unknown>)) latestOf(byDomain, `latestByStore.${store}`);
  return v as unknown as TrustedState;
}


function aboveReason(dir: string, above: SharedFolder): string {
  return `the folder ${above.path} above the state folder ${dir} is not safe from other users (${above.why}): they could move the state folder away, and this machine would forget without a word the policy versions, revocations and checkpoints it kept`;
}

/**
 * Why another user could write the trusted state — plant a remembered policy whose root keys are
 * theirs, forget a revocation or a newer version — or undefined when only this user (or root) can:
 * the state folder must be owned by this user or root and not writable by the group or others
 * unless sticky (as `/tmp`), and the state file, when there, owned by this user or root and
 * writable by no one else (the folders above it: {@link refuseSharedFolderAbove}). As OpenSSH's
 * StrictModes, for the same reason: a trust anchor another user can write is not one. Not checked
 * where the platform has no user ids (Windows).
 * @throws SnapError `IO_ERROR` when the folder cannot be looked at
 */
async function unsafeFolderOrFile(dir: string): Promise<string | undefined> {
  const uid = process.geteuid?.();
  if (uid === undefined) return undefined;
  const me = { uid, gid: process.getegid?.() ?? -1 };
  let d;
  try {
    d = await fsp.stat(dir);
  } catch (e) {
    throw ioError(e, dir, 'cannot read the trusted state');
  }
  if (!d.isDirectory()) return undefined; // reading the file in it fails, and says so
  const folder = otherWriters(d, me, { ownGroup: false, sticky: true });
  if (folder) return `the folder ${dir} is not this user's alone: ${folder}`;
  const path = join(dir, STATE_FILE);
  let f;
  try {
    f = await fsp.lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(e, path, 'cannot read the trusted state');
  }
  // A link's own mode bits mean nothing: only its owner is judged (reading it refuses it anyway).
  const file = otherWriters({ uid: f.uid, gid: f.gid, mode: f.isFile() ? f.mode : 0 }, me, { ownGroup: false, sticky: false });
  if (file) return `${path} is not this user's alone: ${file}`;
  return undefined;
}

/**
 * Refuse a state folder under a folder another user could change, there or not: such a user can
 * rename the state folder away, and snap would run with an empty state. The first such folder is
 * found by io/shared-folders.ts (the rule restore's target has: owned by another user but root, or
 * writable by every user or by a group not this process's own, and not sticky), on the path as
 * given (a link on the way is not followed: its own folder is judged) and on its real path;
 * folders not there yet (made by the first update) are passed by.
 * @throws SnapError `IO_ERROR` (`details.reason` "unsafe", `details.path` that folder)
 */
async function refuseSharedFolderAbove(dir: string): Promise<void> {
  if (process.geteuid?.() === undefined) return;
  const above = await sharedFolderOnTheWay(dir, 'cannot read the trusted state');
  if (above) {
    throw new SnapError('IO_ERROR', `the trusted state is not used: ${aboveReason(dir, above)}. Keep the state in a folder of your own (--state-dir DIR or SNAP_STATE_DIR, e.g. under your home folder), or make ${above.path} this user's or root's and writable by no other user, or sticky (chmod +t)`, { path: above.path, reason: 'unsafe' });
  }
}

/**
 * The bytes each state {@link readState} returned was read from (or {@link updateState} wrote from
 * it), or {@link ABSENT}. A state given back to {@link readState} (`reuse`) or {@link updateState}
 * (`read`) is taken again, unparsed, when the file holds exactly those bytes still: compared byte
 * for byte, not by inode and times (a state written twice in one tick of a coarse clock can take a
 * freed inode back with the same size and times). Parsing and checking 8 MB of state (10,000
 * stores) takes about 80 ms, reading and comparing it a few; a verify read it two to four times
 * (docs/PERFORMANCE.md, "Forty-second session"). The bytes are kept while the state is.
 */
const readAs = new WeakMap<TrustedState, Uint8Array | typeof ABSENT>();
/** The mark of a state read when there was no state file (an empty state). */
const ABSENT = 'absent';

/** Options of {@link readState}. */
export interface ReadStateOptions {
  /**
   * A state this process read from `dir` before (and changed since, if at all, only through
   * {@link updateState}): returned as it is, unparsed, when the state file still holds the bytes it
   * was read from (or written as). The folders are checked again, and the file read, either way.
   */
  reuse?: TrustedState;
}

/**
 * Read the trusted state; an absent file (or folder) is an empty state. A state another user could
 * have written, or moved away ({@link refuseSharedFolderAbove}, `unsafeFolderOrFile`), is not read: `IO_ERROR`, as for a state
 * this user cannot read (callers that can go on without it do so with a note; a policy's anchor
 * cannot) — also when the state folder is not there, if a folder above it is not safe.
 * @throws SnapError `STATE_MALFORMED` | `IO_ERROR`
 */
export async function readState(dir: string, opts: ReadStateOptions = {}): Promise<TrustedState> {
  const path = join(dir, STATE_FILE);
  /** What `opts.reuse` was read from (or written as): {@link readAs}. */
  const known = opts.reuse !== undefined ? readAs.get(opts.reuse) : undefined;
  /** No state file: an empty state (the one given, when it was read as empty too). */
  const absent = () => (known === ABSENT ? (opts.reuse as TrustedState) : stamped(emptyState(), ABSENT));
  await refuseSharedFolderAbove(dir);
  let unsafe: string | undefined;
  try {
    unsafe = await unsafeFolderOrFile(dir);
  } catch (e) {
    if (isSnapError(e, 'NOT_FOUND') && e.details?.errno === 'ENOENT') return absent();
    throw e;
  }
  if (unsafe !== undefined) {
    throw new SnapError('IO_ERROR', `the trusted state is not used: ${unsafe}, so another user could have written what it remembers (make the folder and file this user's, mode 0700 and 0600, or give another --state-dir)`, { path, reason: 'unsafe' });
  }
  let bytes: Buffer;
  try {
    // Bounded, never blocking, only a regular file: a FIFO planted in a shared state folder must
    // not hang every verify, nor a file that grows after a size check be read whole.
    // Not a regular file (a folder, a FIFO) is a state that cannot be read (IO_ERROR: the callers go
    // on with a note, as for one this user may not read), not one that does not parse.
    bytes = await readSmallFile(path, MAX_STATE_BYTES + 1, 'cannot read the trusted state', (shown) => new SnapError('IO_ERROR', `cannot read the trusted state: ${shown} is not a regular file`, { path }));
  } catch (e) {
    if (isSnapError(e, 'NOT_FOUND') && e.details?.errno === 'ENOENT') return absent();
    throw isSnapError(e) ? e : ioError(e, path, 'cannot read the trusted state');
  }
  if (bytes.length > MAX_STATE_BYTES) throw malformed(path, `larger than ${MAX_STATE_BYTES} bytes`);
  if (known !== undefined && known !== ABSENT && Buffer.compare(known, bytes) === 0) return opts.reuse as TrustedState;
  let v: unknown;
  try {
    v = parseJsonStrict(bytes.toString('utf8'), 'STATE_MALFORMED', STATE_FILE);
  } catch (e) {
    throw malformed(path, (e as Error).message);
  }
  return stamped(validateState(v, path), bytes);
}

/** `s`, marked as read from `mark` (its bytes, or {@link ABSENT}): {@link readAs}. */
function stamped(s: TrustedState, mark: Uint8Array | typeof ABSENT): TrustedState {
  readAs.set(s, mark);
  return s;
}

/**
 * Change the trusted state under its lock: read it, let `change` edit it (returning true when it
 * changed something), write it back atomically (mode 0600) when it did, through a hidden temporary
 * file beside it that a SIGKILL leaves and the next update removes (io/output-temp.ts).
 * @param opts.read a state this process read from `dir` before: edited in place, unparsed, when the
 *   file under the lock still holds the bytes it was read from ({@link ReadStateOptions.reuse});
 *   else the file is read and parsed as usual. Either way `change` is given the state the file holds.
 * @returns what `change` returned
 * @throws SnapError `STATE_MALFORMED` | `STORE_LOCKED` (the state lock is held for more than 10 s) | `IO_ERROR`
 */
export async function updateState(dir: string, change: (s: TrustedState) => boolean, opts: { read?: TrustedState } = {}): Promise<boolean> {
  await refuseSharedFolderAbove(dir); // before a state folder is made there
  try {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw ioError(e, dir, 'cannot make the trusted state folder');
  }
  const release = await acquireLockFile(join(dir, STATE_LOCK_FILE), `the trusted state ${dir}`, LOCK_WAIT_MS);
  try {
    const s = await readState(dir, opts.read !== undefined ? { reuse: opts.read } : {});
    // Changed below: it stands for the file again once written, or when nothing changed.
    const mark = readAs.get(s);
    readAs.delete(s);
    if (!change(s)) {
      if (mark !== undefined) readAs.set(s, mark);
      return false;
    }
    const bytes = Buffer.from(canonicalJson(s) + '\n', 'utf8');
    await writeOutputFile(join(dir, STATE_FILE), bytes, { mode: 0o600, what: 'cannot write the trusted state' });
    readAs.set(s, bytes);
    return true;
  } finally {
    await release().catch(() => {});
  }
}
