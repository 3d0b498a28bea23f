/**
 * What stopped and losing commits leave in an S3 store (docs/FORMAT.md §23.5): staged snapshot
 * files (`snapshots/NAME/VERSION/staged/<token>/…`) that no winning commit object names. No reader
 * reads them; fsck reports them as warnings and `fsck --clean` removes them, never touching:
 *
 * - objects (`objects/…`): content-addressed and shared, kept as a local store keeps them;
 * - the staged files a winning commit object names, nor any of NAME@VERSION when its commit object
 *   cannot be read;
 * - staged files of a NAME@VERSION without a commit object younger than {@link STAGED_MIN_AGE_MS}
 *   (a seal could still be about to commit them, were its lock taken over);
 * - a file under an Object Lock retention that has not ended (its group is kept, and said);
 * - the folders of the NAME/VERSIONs past the first {@link MAX_COMMIT_LOOKUPS} of one scan, whose
 *   commit objects are not looked up (counted in one entry, kept).
 *
 * Stale lock objects need no cleaning: taking the lock removes them (§23.4).
 */
import { DeleteObjectCommand, DeleteObjectsCommand, type DeleteObjectsCommandOutput } from '@aws-sdk/client-s3';
import { isSnapError, SnapError } from '../core/errors.js';
import type { CleanResult, Leftover } from '../io/leftovers.js';
import { LOCK_STALE_MS, s3Error, type S3Backend } from './s3.js';
import { killPointForTest } from '../io/test-kill-point.js';

/** Staged files of an uncommitted NAME@VERSION younger than this (ms) are left alone. */
export const STAGED_MIN_AGE_MS = LOCK_STALE_MS;

/**
 * Most keys one DeleteObjects request removes (the S3 API's limit), and most keys of one staged
 * folder a scan holds so that `fsck --clean` need not list the folder again to remove it (a larger
 * folder, which only a bucket writer makes, is listed again, a page at a time).
 */
export const MAX_KEYS_PER_DELETE = 1000;

/**
 * Most staged folders that no commit names that fsck lists one by one, and that one `fsck --clean`
 * names as removed or kept; the rest are counted, in one more entry (path `snapshots/…`). A store
 * has one such folder per seal stopped before its commit or commit that lost (a handful; 1,000 is
 * far more than a store in use leaves between two runs of `fsck --clean`), but a bucket writer can
 * plant any number of staged-looking keys (`NAME/VERSION/staged/<32 hex>/FILE`): memory stays
 * bounded by this, whatever their number, and no folder's keys are ever kept (`--clean` lists each
 * folder again to remove it).
 */
export const MAX_STAGED_LEFTOVERS_KEPT = 1000;

/**
 * Most NAME/VERSIONs whose commit object one scan looks up (a request or two each: a listing of the
 * key's versions, then a GET). A store in use has a staged folder left only under a few, but a
 * bucket writer can plant staged-looking keys under any number of names, each otherwise one more
 * look-up: the folders of the NAME/VERSIONs past this are not looked at, counted in one entry, kept
 * (never removed unread), and the next `fsck --clean` goes on once the first are removed.
 */
export const MAX_COMMIT_LOOKUPS = 1000;

/** Options of a scan: `maxLookups` (default {@link MAX_COMMIT_LOOKUPS}), for tests. */
export interface StagedScanOptions {
  maxLookups?: number;
}

/**
 * Each staged folder no winning commit names (see the module comment), in key order, handed to
 * `each` as it is found: `prefix` is the key prefix of its files (`…/staged/<token>/`), `keys` its
 * files' keys as listed, or undefined when it has more than {@link MAX_KEYS_PER_DELETE} (not held).
 * Only the folder being listed (at most that many keys) and the winning commit of its NAME/VERSION
 * are held: a listing sorts keys, so the keys of one folder, and the folders of one NAME/VERSION,
 * come one after the other. The commit objects of the first `maxLookups` NAME/VERSIONs with a
 * staged folder are looked up; the folders of the others are counted in `skipped`, not looked at.
 * @throws SnapError `IO_ERROR` (listing or reading a commit object failed)
 */
async function forEachStaged(remote: S3Backend, now: number, each: (leftover: Leftover, prefix: string, keys: string[] | undefined) => Promise<void>, skipped: Skipped, maxLookups: number): Promise<void> {
  const base = `${remote.where.prefix}snapshots/`;
  let winner: { nv: string; token: string | null | undefined | 'skipped' } | undefined; // null: no commit, undefined: unreadable
  let lookups = 0;
  type Folder = { g: string; keys: number; bytes: number; newest: number; held: string[] | undefined };
  let current: Folder | undefined;
  const close = async (x: Folder): Promise<void> => {
    const [name, version, , staged] = x.g.split('/') as [string, string, string, string];
    const nv = `${name}/${version}`;
    if (winner?.nv !== nv) {
      if (lookups >= maxLookups) {
        winner = { nv, token: 'skipped' };
        skipped.names++;
      } else {
        lookups++;
        const token = await remote.readCommit(name, version).then(
          (c) => c.commit.staged as string | null | undefined,
          (e: unknown) => (isSnapError(e, 'NOT_FOUND') ? null : undefined),
        );
        winner = { nv, token };
      }
    }
    if (winner.token === 'skipped') return skipped.add(x);
    if (winner.token === undefined || winner.token === staged) return;
    const age = now - x.newest;
    const removable = winner.token !== null || age >= STAGED_MIN_AGE_MS;
    const ref = `${name}@${version}`;
    const message =
      winner.token !== null
        ? `snapshots/${x.g}/: the files of a commit of ${ref} that lost (another commit is the snapshot); no reader reads them`
        : `snapshots/${x.g}/: the staged files of a seal of ${ref} that stopped before its commit${removable ? '' : ` (written ${Math.round(age / 1000)} s ago: kept until ${STAGED_MIN_AGE_MS / 60_000} minutes old, in case that seal is still committing)`}`;
    await each({ kind: 'staged', path: `snapshots/${x.g}/`, bytes: x.bytes, entries: x.keys, removable, message }, `${base}${x.g}/`, x.held);
  };
  for await (const o of remote.listEntries(base)) {
    const m = /^([^/]+\/[^/]+)\/staged\/([0-9a-f]{32})\/[^/]+$/.exec(o.key.slice(base.length));
    if (!m) continue;
    const g = `${m[1]}/staged/${m[2]}`;
    if (current?.g !== g) {
      if (current) await close(current);
      current = { g, keys: 0, bytes: 0, newest: 0, held: [] };
    }
    current.keys++;
    if (current.held && current.held.length < MAX_KEYS_PER_DELETE) current.held.push(o.key);
    else current.held = undefined;
    current.bytes += o.size;
    current.newest = Math.max(current.newest, o.modified ?? now);
  }
  if (current) await close(current);
}

/** Staged folders past the first {@link MAX_STAGED_LEFTOVERS_KEPT}, counted. */
class Rest {
  folders = 0;
  keys = 0;
  bytes = 0;
  add(l: Leftover): void {
    this.folders++;
    this.keys += l.entries ?? 0;
    this.bytes += l.bytes;
  }
  /** The one entry that counts them (none when there are none). */
  entry(what: string, removable: boolean): Leftover[] {
    if (this.folders === 0) return [];
    return [{ kind: 'staged', path: 'snapshots/…', bytes: this.bytes, entries: this.keys, removable, message: `snapshots/…: ${this.folders} more staged folder(s) that no commit names (${this.keys} keys, ${this.bytes} bytes) ${what}, not listed one by one (the first ${MAX_STAGED_LEFTOVERS_KEPT} are)` }];
  }
}

/** Staged folders of the NAME/VERSIONs past {@link MAX_COMMIT_LOOKUPS}, counted, not looked at. */
class Skipped {
  names = 0;
  folders = 0;
  keys = 0;
  bytes = 0;
  constructor(private readonly maxLookups: number) {}
  add(x: { keys: number; bytes: number }): void {
    this.folders++;
    this.keys += x.keys;
    this.bytes += x.bytes;
  }
  /** The one entry that counts them, kept (none when there are none). */
  entry(): Leftover[] {
    if (this.folders === 0) return [];
    return [{ kind: 'staged', path: 'snapshots/…', bytes: this.bytes, entries: this.keys, removable: false, message: `snapshots/…: ${this.folders} staged folder(s) of ${this.names} NAME@VERSION(s) (${this.keys} keys, ${this.bytes} bytes) not looked at: whether a commit object names them was looked up for the first ${this.maxLookups} NAME@VERSIONs only (MAX_COMMIT_LOOKUPS), so that keys planted under many names cost no more requests; kept — run snap fsck --clean again once the others are removed` }];
  }
}

/**
 * The staged leftovers of an S3 store, as fsck reports leftovers (warnings, not failures): the first
 * {@link MAX_STAGED_LEFTOVERS_KEPT} in key order, then one entry (`snapshots/…`) counting the rest,
 * then one counting the folders of the NAME/VERSIONs past {@link MAX_COMMIT_LOOKUPS}.
 * @throws SnapError `IO_ERROR`
 */
export async function findStagedLeftovers(remote: S3Backend, now = Date.now(), opts: StagedScanOptions = {}): Promise<Leftover[]> {
  const out: Leftover[] = [];
  const rest = new Rest();
  const skipped = new Skipped(opts.maxLookups ?? MAX_COMMIT_LOOKUPS);
  await forEachStaged(remote, now, async (l) => {
    if (out.length < MAX_STAGED_LEFTOVERS_KEPT) out.push(l);
    else rest.add(l);
  }, skipped, opts.maxLookups ?? MAX_COMMIT_LOOKUPS);
  return [...out, ...rest.entry('found', false), ...skipped.entry()];
}

/**
 * Remove the removable staged leftovers (the caller holds the store's lock), every one of them: their
 * keys go to DeleteObjects, up to {@link MAX_KEYS_PER_DELETE} a request, the keys of several folders
 * in one request (a folder of more keys than that is listed again, a page at a time; the others are
 * not). In a versioned bucket a removal is a delete marker (no version is named): the versions stay
 * until their retention ends. The SDK sends each request with a checksum of its body, which S3
 * requires of DeleteObjects in a bucket with Object Lock. A key the answer says was not removed
 * fails the run (`IO_ERROR`, naming it). `removed` and `kept` name the first
 * {@link MAX_STAGED_LEFTOVERS_KEPT} each, then one entry counting the rest; `kept` ends with one
 * entry counting the folders of the NAME/VERSIONs past {@link MAX_COMMIT_LOOKUPS}, not looked at.
 * @throws SnapError `IO_ERROR` (a listing or a request failed, or a key was not removed)
 */
export async function clearStagedLeftovers(remote: S3Backend, now = Date.now(), opts: StagedScanOptions = {}): Promise<CleanResult> {
  const removed: Leftover[] = [];
  const kept: Leftover[] = [];
  const moreRemoved = new Rest();
  const moreKept = new Rest();
  const keep = (l: Leftover): void => (kept.length < MAX_STAGED_LEFTOVERS_KEPT ? void kept.push(l) : moreKept.add(l));
  const skipped = new Skipped(opts.maxLookups ?? MAX_COMMIT_LOOKUPS);
  const locking = await remote.objectLockEnabled();
  // Keys waiting for the next request, and the folders whose last keys are among them (said
  // removed once that request has removed them).
  let batch: string[] = [];
  let done: Leftover[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length > 0) await removeKeys(remote, batch);
    batch = [];
    for (const l of done) {
      if (removed.length < MAX_STAGED_LEFTOVERS_KEPT) removed.push(l);
      else moreRemoved.add(l);
    }
    done = [];
  };
  const add = async (key: string): Promise<void> => {
    batch.push(key);
    if (batch.length >= MAX_KEYS_PER_DELETE) await flush();
  };
  /** The folder's own files (`…/staged/<token>/FILE`), as held or listed again: not a key nested deeper. */
  async function* filesOf(prefix: string, held: string[] | undefined): AsyncIterable<string> {
    if (held) return yield* held;
    for await (const o of remote.listEntries(prefix)) if (!o.key.slice(prefix.length).includes('/')) yield o.key;
  }
  await forEachStaged(remote, now, async (l, prefix, held) => {
    if (!l.removable) return keep(l);
    let lockedUntil: Date | undefined;
    if (locking) {
      for await (const key of filesOf(prefix, held)) {
        const r = await remote.retentionOf(key);
        if (r && r.until.getTime() > now && (!lockedUntil || r.until > lockedUntil)) lockedUntil = r.until;
      }
    }
    if (lockedUntil) return keep({ ...l, removable: false, message: `${l.message}; locked until ${lockedUntil.toISOString()}, so kept` });
    for await (const key of filesOf(prefix, held)) await add(key);
    done.push(l);
  }, skipped, opts.maxLookups ?? MAX_COMMIT_LOOKUPS);
  await flush();
  return { removed: [...removed, ...moreRemoved.entry('removed', true)], kept: [...kept, ...moreKept.entry('kept', false), ...skipped.entry()] };
}

/**
 * Remove `keys` (at most {@link MAX_KEYS_PER_DELETE}) with one DeleteObjects request, in quiet mode
 * (the answer lists only the keys not removed). A server without DeleteObjects (it answers 501
 * NotImplemented; a few S3-compatible ones) gets one DeleteObject a key instead.
 * @throws SnapError `IO_ERROR` when a request fails, or when the answer names a key not removed
 *   (the first named, with the server's code and message, and how many)
 */
async function removeKeys(remote: S3Backend, keys: string[]): Promise<void> {
  const what = `remove ${keys.length} staged key(s), the first ${keys[0]}`;
  let r: Pick<DeleteObjectsCommandOutput, 'Errors'>;
  try {
    r = await remote.client.send(new DeleteObjectsCommand({ Bucket: remote.where.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
  } catch (e) {
    if (!notImplemented(e)) throw s3Error(e, what);
    for (const key of keys) {
      await remote.client.send(new DeleteObjectCommand({ Bucket: remote.where.bucket, Key: key })).catch((e2: unknown) => {
        throw s3Error(e2, `remove ${key}`);
      });
    }
    r = {};
  }
  const errors = r.Errors ?? [];
  if (errors.length > 0) {
    const first = errors[0] as { Key?: string; Code?: string; Message?: string };
    throw new SnapError('IO_ERROR', `S3: cannot ${what}: ${errors.length} of them not removed, e.g. ${first.Key ?? '?'}: ${first.Code ?? 'Error'}: ${first.Message ?? ''}`, { notRemoved: errors.length, key: first.Key ?? null, s3Code: first.Code ?? null });
  }
  killPointForTest('s3-leftover-key-removed');
}

/** Whether a request failed because the server does not implement the operation (HTTP 501). */
function notImplemented(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return err?.$metadata?.httpStatusCode === 501 || err?.name === 'NotImplemented';
}
