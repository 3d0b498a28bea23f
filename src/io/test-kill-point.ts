/**
 * Test hook: a SIGKILL at a chosen moment of a command, where a kill after a random delay would
 * rarely land (between an upload and the commit object that names it, between an audit log line
 * and the head that follows it …).
 *
 * With `SNAP_TEST_KILL_AT=POINT` in the environment, the process sends itself SIGKILL the first
 * time it reaches {@link killPointForTest}`(POINT)`; with `SNAP_TEST_KILL_AT=POINT:N`, the N-th
 * time (N ≥ 1). Nothing is unwound, no handler runs: what is left is what a `kill -9` (or the OOM
 * killer, or a power cut of the machine but not of the server) at that moment leaves. Without the
 * variable, or at another point, nothing happens. The points (those of an S3 store's working copy,
 * src/store/remote-session.ts and src/store/s3.ts, a local seal's, src/ops/seal.ts, and prune's, src/ops/prune.ts) are listed in {@link KILL_POINTS}.
 */

/** The points a test can kill at, roughly in the order a command reaches them. */
export const KILL_POINTS = [
  /** The S3 store's write lock is taken; nothing is pulled yet. */
  's3-locked',
  /** The working copy is filled; the command has not run. */
  's3-pulled',
  /** `fsck --clean` removed a batch of staged keys (one DeleteObjects request; a large folder's other keys, and other folders', may still be there). */
  's3-leftover-key-removed',
  /** `fsck --repair-from` put one object back in the bucket. */
  's3-object-repaired',
  /** A seal's batch of new objects is uploaded (and dropped from the working copy). */
  's3-handed-over',
  /** The command ran on the working copy (and changed the trusted state, if it does); nothing is pushed. */
  's3-ran',
  /** The push uploaded every new object; no snapshot file is staged yet. */
  's3-objects-pushed',
  /** A snapshot's four files are staged under `staged/<token>/`; its commit object is not written. */
  's3-staged',
  /** A snapshot's commit object is written; the co-signatures, other files and log are not pushed. */
  's3-committed',
  /** A co-signature file is written (`sign`). */
  's3-cosigned',
  /** The other files (checkpoints, revocations …) are pushed; the audit log lines are not. */
  's3-files-pushed',
  /** The command's audit log lines are written; `log.head` is not moved yet. */
  's3-log-lines',
  /** Everything is pushed; the lock is still held, the working copy still there, nothing printed. */
  's3-pushed',
  /** A local seal's objects and record indexes are in `objects/`; its snapshot folder is not committed. */
  'seal-uncommitted',
  /** `prune --yes` removed one unreferenced object (the others may still be there). */
  'prune-removed',
] as const;

/** A point of {@link KILL_POINTS}. */
export type KillPoint = (typeof KILL_POINTS)[number];

/** How many times each point was reached in this process. */
const reached = new Map<KillPoint, number>();

/**
 * Count `point` as reached, and SIGKILL this process when `SNAP_TEST_KILL_AT` names it (and this
 * is the N-th time it is reached, for `POINT:N`). Tests only; a no-op otherwise.
 */
export function killPointForTest(point: KillPoint): void {
  const spec = process.env.SNAP_TEST_KILL_AT;
  if (!spec) return;
  const m = /^([a-z0-9-]+)(?::([1-9][0-9]{0,5}))?$/.exec(spec);
  if (!m || m[1] !== point) return;
  const n = (reached.get(point) ?? 0) + 1;
  reached.set(point, n);
  if (n === Number(m[2] ?? 1)) process.kill(process.pid, 'SIGKILL');
}
