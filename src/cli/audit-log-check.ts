/**
 * The audit log against its checkpoints, for the commands that believe what the log records of the
 * attestations made (`impact`, `verify-model`: docs/FORMAT.md §13, §18).
 */
import { isSnapError } from '../core/errors.js';
import type { LeafSink } from '../io/audit-log.js';
import { verifyCheckpoints, type CheckpointProblem, type PreparedCheckpointCheck } from '../trust/log-checkpoints.js';
import type { Args, CliIo } from './common.js';
import { beginCheckpointCheck, keptCheckpoints, keptOrigin } from './commands/log.js';
import { storeLookupNames } from './store-identity.js';

/** What impact and verify-model find of the audit log against its checkpoints (their `--json` `auditLog`). */
export interface LogCheckpointCheck {
  /** Complete lines of the log (the leaves of its RFC 9162 tree). */
  lines: number;
  checkpoints: {
    /** Checkpoints in the store. */
    count: number;
    /** The newest (largest) checkpoint of the store. */
    newest?: { size: number; origin: string };
    /** Lines signed by a checkpoint the log extends: the store's newest or the one this machine kept, the larger (0 when there are problems). */
    covered: number;
    /** As `snap log --verify` reports them (FORMAT.md §18), signatures aside. */
    problems: CheckpointProblem[];
  };
}

/** A check of the log against its checkpoints, begun before a pass over the log that it shares (see {@link beginLogCheck}). */
export interface PendingLogCheck {
  /** The leaves the check expects to need: give them to the pass over the log (provenance `attestRecords`); absent when the checkpoints could not be read. */
  leaves?: LeafSink;
  /** The check's result, as {@link logAgainstCheckpoints} gives it (and throwing what it throws). */
  finish(): Promise<LogCheckpointCheck>;
}

/**
 * {@link logAgainstCheckpoints}, begun before impact's or verify-model's pass over the audit log
 * so that the log is read once: the store's checkpoints are read now, and the trusted state
 * quietly, for the sizes whose roots are needed; `finish` then reads the trusted state as
 * {@link logAgainstCheckpoints} does (its notes and errors come where they came), and makes a pass
 * of its own only when the pass it was given did not end or did not gather a root it needs.
 * Nothing is thrown here: an error of the checkpoints folder is the result's `malformed` problem.
 */
export async function beginLogCheck(a: Args, io: CliIo, root: string): Promise<PendingLogCheck> {
  const begun = await beginCheckpointCheck(a, io, root, undefined);
  return { ...('prepared' in begun ? { leaves: begun.prepared.leaves } : {}), finish: () => logAgainstCheckpoints(a, io, root, begun) };
}

/**
 * The log against its checkpoints, as `log --verify` checks it without keys (trust/log-checkpoints
 * `verifyCheckpoints`: each store checkpoint's root is that of the log's first N lines, successive
 * ones joined, and the checkpoint this machine kept — in the trusted state of `--state-dir` — still
 * extended, with the log origin kept for this store pinned). The signatures are not checked here
 * (the audit key is not the data's): `log --verify --pubkey` does. A log rewritten after a
 * checkpoint to drop an attestation's line is a problem; the log is streamed (memory O(log lines)).
 * A checkpoints folder that cannot be read is one too (`malformed`), never an exit 3.
 * @param begun what {@link beginLogCheck} prepared (or the error it met reading the checkpoints), to finish
 * @throws SnapError `STATE_MALFORMED` (the trusted state does not parse, as for log --verify)
 */
export async function logAgainstCheckpoints(a: Args, io: CliIo, root: string, begun?: { prepared: PreparedCheckpointCheck } | { failure: unknown }): Promise<LogCheckpointCheck> {
  const state = await keptCheckpoints(a, io);
  const pinned = state ? keptOrigin(state.origins, await storeLookupNames(root, io)) : undefined;
  try {
    if (begun && 'failure' in begun) throw begun.failure;
    const opts = { pubkeys: [], external: [], ...(state ? { remembered: state.remembered } : {}), ...(pinned !== undefined ? { origin: pinned, originFrom: `the origin this machine kept for this store in ${state?.remembered.source}` } : {}) };
    const c = begun ? await begun.prepared.finish(opts) : await verifyCheckpoints(root, opts);
    const origin = pinned ?? c.newest?.origin;
    const kept = origin !== undefined ? (state?.remembered.byOrigin[origin]?.size ?? 0) : 0;
    const covered = c.problems.length > 0 ? 0 : Math.max(c.newest?.size ?? 0, kept);
    return { lines: c.lines, checkpoints: { count: c.checkpoints, ...(c.newest ? { newest: { size: c.newest.size, origin: c.newest.origin } } : {}), covered, problems: c.problems } };
  } catch (e) {
    if (!isSnapError(e) || (e.code !== 'IO_ERROR' && e.code !== 'CHECKPOINT_MALFORMED')) throw e;
    return { lines: 0, checkpoints: { count: 0, covered: 0, problems: [{ kind: 'malformed', source: root, message: e.message }] } };
  }
}
