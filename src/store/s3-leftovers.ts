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
 * - a file under an Object Lock retention that has not ended (its group is kept, and said).
 *
 * Stale lock objects need no cleaning: taking the lock removes them (§23.4).
 */
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { isSnapError } from '../core/errors.js';
import type { CleanResult, Leftover } from '../io/leftovers.js';
import { LOCK_STALE_MS, s3Error, type S3Backend } from './s3.js';

/** Staged files of an uncommitted NAME@VERSION younger than this (ms) are left alone. */
export const STAGED_MIN_AGE_MS = LOCK_STALE_MS;

/** One group of staged files and its keys. */
interface StagedGroup {
  leftover: Leftover;
  keys: string[];
}

/**
 * Every staged folder no winning commit names (see the module comment).
 * @throws SnapError `IO_ERROR` (listing or reading a commit object failed)
 */
async function findStaged(remote: S3Backend, now: number): Promise<StagedGroup[]> {
  const base = `${remote.where.prefix}snapshots/`;
  const groups = new Map<string, { keys: string[]; bytes: number; newest: number }>();
  let token: string | undefined;
  do {
    const r = await remote.client.send(new ListObjectsV2Command({ Bucket: remote.where.bucket, Prefix: base, ...(token ? { ContinuationToken: token } : {}) })).catch((e: unknown) => {
      throw s3Error(e, `list ${base}`);
    });
    for (const o of r.Contents ?? []) {
      const m = /^([^/]+\/[^/]+)\/staged\/([0-9a-f]{32})\/[^/]+$/.exec((o.Key ?? '').slice(base.length));
      if (!m) continue;
      const g = `${m[1]}/staged/${m[2]}`;
      const x = groups.get(g) ?? { keys: [], bytes: 0, newest: 0 };
      x.keys.push(o.Key as string);
      x.bytes += o.Size ?? 0;
      x.newest = Math.max(x.newest, o.LastModified?.getTime() ?? now);
      groups.set(g, x);
    }
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  const winners = new Map<string, string | null | undefined>(); // NAME/VERSION → winning token, null: no commit, undefined: unreadable
  const out: StagedGroup[] = [];
  for (const [g, x] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const [name, version, , staged] = g.split('/') as [string, string, string, string];
    const nv = `${name}/${version}`;
    if (!winners.has(nv)) {
      winners.set(
        nv,
        await remote.readCommit(name, version).then(
          (c) => c.commit.staged,
          (e) => (isSnapError(e, 'NOT_FOUND') ? null : undefined),
        ),
      );
    }
    const winner = winners.get(nv);
    if (winner === undefined || winner === staged) continue;
    const age = now - x.newest;
    const removable = winner !== null || age >= STAGED_MIN_AGE_MS;
    const ref = `${name}@${version}`;
    const message =
      winner !== null
        ? `snapshots/${g}/: the files of a commit of ${ref} that lost (another commit is the snapshot); no reader reads them`
        : `snapshots/${g}/: the staged files of a seal of ${ref} that stopped before its commit${removable ? '' : ` (written ${Math.round(age / 1000)} s ago: kept until ${STAGED_MIN_AGE_MS / 60_000} minutes old, in case that seal is still committing)`}`;
    out.push({ leftover: { kind: 'staged', path: `snapshots/${g}/`, bytes: x.bytes, entries: x.keys.length, removable, message }, keys: x.keys });
  }
  return out;
}

/** The staged leftovers of an S3 store, as fsck reports leftovers (warnings, not failures). */
export async function findStagedLeftovers(remote: S3Backend, now = Date.now()): Promise<Leftover[]> {
  return (await findStaged(remote, now)).map((g) => g.leftover);
}

/**
 * Remove the removable staged leftovers (the caller holds the store's lock). In a versioned bucket
 * a removal is a delete marker: the versions stay until their retention ends.
 * @throws SnapError `IO_ERROR`
 */
export async function clearStagedLeftovers(remote: S3Backend, now = Date.now()): Promise<CleanResult> {
  const removed: Leftover[] = [];
  const kept: Leftover[] = [];
  const locking = await remote.objectLockEnabled();
  for (const g of await findStaged(remote, now)) {
    if (!g.leftover.removable) {
      kept.push(g.leftover);
      continue;
    }
    let lockedUntil: Date | undefined;
    if (locking) {
      for (const key of g.keys) {
        const r = await remote.retentionOf(key);
        if (r && r.until.getTime() > now && (!lockedUntil || r.until > lockedUntil)) lockedUntil = r.until;
      }
    }
    if (lockedUntil) {
      kept.push({ ...g.leftover, removable: false, message: `${g.leftover.message}; locked until ${lockedUntil.toISOString()}, so kept` });
      continue;
    }
    for (const key of g.keys) {
      await remote.client.send(new DeleteObjectCommand({ Bucket: remote.where.bucket, Key: key })).catch((e: unknown) => {
        throw s3Error(e, `remove ${key}`);
      });
    }
    removed.push(g.leftover);
  }
  return { removed, kept };
}
